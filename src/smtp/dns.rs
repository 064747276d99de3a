//! Finding a domain's mail servers: a tiny DNS stub resolver (RFC 1035) for
//! MX, A and AAAA. Messages are encoded and decoded by `hickory-proto`; the
//! sockets (UDP, TCP for truncated answers) are our own std code.
//!
//! # What it does
//!
//! - [`mx_targets`] implements RFC 5321 §5.1: the domain's MX records in
//!   preference order (equal preferences in random order, as §5.1
//!   recommends), each with its addresses; no MX records → the domain itself
//!   as the only host (its A/AAAA, the "implicit MX"); a null MX (RFC 7505: a
//!   lone MX whose exchange is `.`) → [`DnsError::NullMx`]; a domain that
//!   does not exist → [`DnsError::NxDomain`].
//! - [`lookup_mx`] returns just the sorted MX records (empty: the domain
//!   exists but has no MX).
//! - [`resolve_host`] returns a host's addresses, **IPv6 (AAAA) first, then
//!   IPv4 (A)**, each family in the order the server gave them; CNAME chains
//!   inside the answer are followed. An IP address literal (`192.0.2.1`,
//!   `::1`, `[::1]`) is returned as is, without a query.
//!
//! Queries go over UDP to one [`Resolver`] (by default the first usable
//! `nameserver` of /etc/resolv.conf, honouring its `options timeout:` and
//! `attempts:`), with a timeout per attempt and one retry; a truncated answer
//! (TC bit) is asked again over TCP. Query IDs come from the operating
//! system's random generator. Answers are checked against the query (ID, QR
//! bit, opcode, question; source address by `connect`), so a stray or
//! spoofed datagram is ignored. Only the header, the question and the
//! answer section are decoded; a malformed answer (cut short, compression
//! pointers that do not point backwards, names over 255 octets, record data
//! of the wrong length, ...) is a [`DnsError::Malformed`], never a panic.
//!
//! # Wiring it into the shell (`connect --mx DOMAIN`, `set resolver ADDR`)
//!
//! ```no_run
//! use smtpsh::smtp::dns::{self, Resolver};
//! # fn demo() -> Result<(), dns::DnsError> {
//! // `set resolver 127.0.0.1:5353` (port 53 if omitted; `[::1]:5353` for
//! // IPv6). `parse_addr`'s error is a one-line message for the user.
//! let addr = Resolver::parse_addr("127.0.0.1:5353").expect("checked by `set`");
//! let resolver = Resolver::new(addr);
//! // or, with nothing set: the system's resolver.
//! let resolver = Resolver::system()?;
//! // `connect --mx example.com`: try each host in order, each address in order.
//! for (host, addrs) in dns::mx_targets("example.com", &resolver)? {
//!     for ip in addrs {
//!         // connect to SocketAddr::new(ip, 25); verify TLS against `host`
//!         // (the MX name), not against the domain or the address.
//!         let _ = (&host, ip);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! - Set [`Resolver::interrupt`] to the shell's Ctrl-C flag: waits are cut
//!   into 100 ms slices and end with [`DnsError::Interrupted`].
//! - Every [`DnsError`] displays as one line a user can act on (it names the
//!   domain, the DNS server and what to check). All of them are "could not
//!   connect" failures for the script exit status.
//! - `status` can show the MX host name (the `String` of the pair) next to
//!   the address that answered.
//! - `Connection::open` takes a host name and resolves it with the system
//!   resolver; for `--mx` the shell needs to connect to a given `IpAddr`
//!   while keeping the MX host name for SNI, certificate checks and the
//!   transcript (e.g. an `open_addr(host, SocketAddr, ...)` beside `open`).
//!   Try the addresses of one host in order (IPv6 first), then the next
//!   host; RFC 5321 §5.1 says to move on after a connection failure or a
//!   4xx greeting.
//! - When a resolver is set, `connect HOST` can use [`resolve_host`] for the
//!   name too, so tests that set a loopback resolver never touch the
//!   system's DNS.
//!
//! # Layout
//!
//! This file: the lookups (RFC 5321 §5.1 order, null MX, CNAME chains).
//! `dns/client.rs`: [`Resolver`] and its sockets. `dns/wire.rs`: the query
//! and the checks on an answer, over `hickory-proto`. `dns/error.rs`:
//! [`DnsError`].

mod client;
mod error;
mod wire;

#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::{DNSClass, Name, RData};

pub use client::Resolver;
pub use error::DnsError;
use wire::Answer;

/// The DNS port.
pub const DNS_PORT: u16 = 53;
/// Default wait for an answer, per attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default number of UDP attempts (the first try and one retry).
pub const DEFAULT_ATTEMPTS: u32 = 2;
/// Longest label.
const MAX_LABEL: usize = 63;
/// Most CNAME links followed inside one answer.
const MAX_CNAME_CHAIN: usize = 16;

/// The record types this resolver asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// An IPv4 address.
    A,
    /// An IPv6 address.
    Aaaa,
    /// A mail exchanger.
    Mx,
}

impl RecordType {
    /// The same type in `hickory-proto`'s terms.
    fn wire(self) -> hickory_proto::rr::RecordType {
        match self {
            RecordType::A => hickory_proto::rr::RecordType::A,
            RecordType::Aaaa => hickory_proto::rr::RecordType::AAAA,
            RecordType::Mx => hickory_proto::rr::RecordType::MX,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Mx => "MX",
        })
    }
}

/// One MX record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    /// Lower is preferred.
    pub preference: u16,
    /// The mail server's host name, without the trailing dot; `.` for the
    /// root (a null MX).
    pub exchange: String,
}

// ---------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------

/// The MX records of `domain`, by preference (equal preferences shuffled).
/// `Ok(empty)`: the domain exists but has no MX records (fall back to its
/// A/AAAA, RFC 5321 §5.1). A null MX (RFC 7505) is [`DnsError::NullMx`];
/// a non-existent domain [`DnsError::NxDomain`].
pub fn lookup_mx(domain: &str, resolver: &Resolver) -> Result<Vec<Mx>, DnsError> {
    let msg = resolver.query(domain, RecordType::Mx)?;
    let mut mxs = mx_records(&msg);
    null_mx_check(&wire::name_text(&msg.qname), &mut mxs)?;
    sort_mx(&mut mxs);
    Ok(mxs)
}

/// The addresses of `name`: AAAA records first, then A records (each family
/// in the server's order). An IP address literal is returned as is.
/// [`DnsError::NoAddress`] if there are none.
pub fn resolve_host(name: &str, resolver: &Resolver) -> Result<Vec<IpAddr>, DnsError> {
    let bare = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name);
    if let Ok(ip) = IpAddr::from_str(bare) {
        return Ok(vec![ip]);
    }
    let mut addrs = Vec::new();
    let mut nxdomain = None;
    let mut first_error = None;
    // Both families are asked even after an NXDOMAIN: some servers (dnsmasq
    // with `--address`) answer NXDOMAIN for the family they do not have.
    for rtype in [RecordType::Aaaa, RecordType::A] {
        match resolver.query(name, rtype) {
            Ok(msg) => addrs.extend(address_records(&msg, rtype)),
            Err(DnsError::Interrupted) => return Err(DnsError::Interrupted),
            Err(e @ DnsError::NxDomain { .. }) => {
                nxdomain.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if !addrs.is_empty() {
        return Ok(addrs);
    }
    match (nxdomain, first_error) {
        (Some(e), _) | (None, Some(e)) => Err(e),
        (None, None) => Err(DnsError::NoAddress {
            name: normalize_name(name)?,
        }),
    }
}

/// Where to deliver mail for `domain` (RFC 5321 §5.1): `(host, addresses)`
/// in the order to try them. MX hosts by preference (equal preferences
/// shuffled), each with [`resolve_host`]'s addresses (IPv6 first); hosts
/// without an address are left out. No MX records: the domain itself with
/// its own addresses. Errors: [`DnsError::NxDomain`], [`DnsError::NullMx`],
/// [`DnsError::NoMailServer`] (no MX and no address),
/// [`DnsError::NoUsableMx`] (no MX host has an address), and resolver
/// failures.
pub fn mx_targets(
    domain: &str,
    resolver: &Resolver,
) -> Result<Vec<(String, Vec<IpAddr>)>, DnsError> {
    let domain_norm = normalize_name(domain)?;
    let mxs = lookup_mx(&domain_norm, resolver)?;
    if mxs.is_empty() {
        return match resolve_host(&domain_norm, resolver) {
            Ok(addrs) => Ok(vec![(domain_norm, addrs)]),
            Err(DnsError::NoAddress { .. }) => Err(DnsError::NoMailServer {
                domain: domain_norm,
            }),
            Err(e) => Err(e),
        };
    }
    let mut targets: Vec<(String, Vec<IpAddr>)> = Vec::new();
    let mut failed = Vec::new();
    for mx in mxs {
        // A host listed twice is tried once, at its best preference.
        if targets
            .iter()
            .map(|(h, _)| h)
            .chain(failed.iter().map(|(h, _)| h))
            .any(|h| h.eq_ignore_ascii_case(&mx.exchange))
        {
            continue;
        }
        match resolve_host(&mx.exchange, resolver) {
            Ok(addrs) => targets.push((mx.exchange, addrs)),
            Err(DnsError::Interrupted) => return Err(DnsError::Interrupted),
            Err(e) => failed.push((mx.exchange, e)),
        }
    }
    if targets.is_empty() {
        return Err(DnsError::NoUsableMx {
            domain: domain_norm,
            hosts: failed,
        });
    }
    Ok(targets)
}

/// The records of an answer whose owner is the question name or a CNAME of
/// it (class IN only; records for other owners are ignored).
fn owned_records(msg: &Answer) -> impl Iterator<Item = &RData> {
    let owners = owner_chain(msg);
    msg.answers
        .iter()
        .filter(move |r| r.dns_class == DNSClass::IN && owners.contains(&r.name))
        .map(|r| &r.data)
}

/// The MX records of an answer (owner: the question or a CNAME of it).
fn mx_records(msg: &Answer) -> Vec<Mx> {
    owned_records(msg)
        .filter_map(|data| match data {
            RData::MX(mx) => Some(Mx {
                preference: mx.preference,
                exchange: wire::name_text(&mx.exchange),
            }),
            _ => None,
        })
        .collect()
}

/// RFC 7505: a null MX alone means "no mail"; mixed with real MX records
/// (which RFC 7505 forbids) the `.` entries are dropped as unusable.
fn null_mx_check(domain: &str, mxs: &mut Vec<Mx>) -> Result<(), DnsError> {
    if !mxs.is_empty() && mxs.iter().all(|m| m.exchange == ".") {
        return Err(DnsError::NullMx {
            domain: domain.to_string(),
        });
    }
    mxs.retain(|m| m.exchange != ".");
    Ok(())
}

/// By preference; equal preferences in random order (RFC 5321 §5.1).
fn sort_mx(mxs: &mut [Mx]) {
    // Fisher-Yates first, then a stable sort keeps the shuffled order
    // within each preference. Load spreading needs no cryptographic
    // strength (query IDs do, and keep the OS generator alone).
    for i in (1..mxs.len()).rev() {
        let j = (crate::local::random_u64() % (i as u64 + 1)) as usize;
        mxs.swap(i, j);
    }
    mxs.sort_by_key(|m| m.preference);
}

/// The addresses of one family in an answer, following CNAMEs in it.
fn address_records(msg: &Answer, rtype: RecordType) -> Vec<IpAddr> {
    owned_records(msg)
        .filter_map(|data| match (data, rtype) {
            (RData::A(a), RecordType::A) => Some(IpAddr::V4(a.0)),
            (RData::AAAA(a), RecordType::Aaaa) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

/// The question name and the CNAME chain from it inside the answer (at most
/// [`MAX_CNAME_CHAIN`] links; a name already in the chain ends it). Names
/// compare as DNS names do: ASCII case-insensitively, label by label.
fn owner_chain(msg: &Answer) -> Vec<Name> {
    let mut chain = vec![msg.qname.clone()];
    while chain.len() <= MAX_CNAME_CHAIN {
        let Some(last) = chain.last() else { break };
        let next = msg.answers.iter().find_map(|r| match &r.data {
            RData::CNAME(target) if r.dns_class == DNSClass::IN && r.name == *last => {
                Some(target.0.clone())
            }
            _ => None,
        });
        match next {
            Some(t) if !chain.contains(&t) => chain.push(t),
            _ => break,
        }
    }
    chain
}

/// A name as queried and compared: ASCII, no trailing dot, each label
/// 1..=63 octets, at most 253 characters.
fn normalize_name(name: &str) -> Result<String, DnsError> {
    let bad = |reason: &str| DnsError::BadName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(bad("the name is empty"));
    }
    if !trimmed.is_ascii() {
        return Err(bad(
            "it is not ASCII; use the IDNA form (xn--...) of an internationalised domain",
        ));
    }
    if trimmed.len() > 253 {
        return Err(bad("it is longer than 253 characters"));
    }
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(bad("it has an empty label (two dots in a row)"));
        }
        if label.len() > MAX_LABEL {
            return Err(bad("a label is longer than 63 characters"));
        }
        if label
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\')
        {
            return Err(bad("it contains spaces, backslashes or control characters"));
        }
    }
    Ok(trimmed.to_string())
}
