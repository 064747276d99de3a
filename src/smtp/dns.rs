//! Finding a domain's mail servers: a tiny DNS stub resolver (RFC 1035) for
//! MX, A and AAAA, std only.
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
//! (TC bit) is asked again over TCP. Answers are checked against the query
//! (ID, question, source address by `connect`), so a stray or spoofed
//! datagram is ignored. Parsing is bounded: compression pointers must point
//! backwards and at most [`MAX_POINTERS`] are followed per name, names stay
//! within 255 octets, every length is checked against the packet; malformed
//! input is an error, never a panic.
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

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The DNS port.
pub const DNS_PORT: u16 = 53;
/// Default wait for an answer, per attempt.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default number of UDP attempts (the first try and one retry).
pub const DEFAULT_ATTEMPTS: u32 = 2;
/// Most compression pointers followed while reading one name.
pub const MAX_POINTERS: usize = 64;
/// Longest name on the wire (RFC 1035 §2.3.4), length octets included.
const MAX_NAME_WIRE: usize = 255;
/// Longest label.
const MAX_LABEL: usize = 63;
/// Largest UDP answer accepted (we send no EDNS, so servers keep to 512;
/// some send more anyway).
const UDP_BUFFER: usize = 4096;
/// Most CNAME links followed inside one answer.
const MAX_CNAME_CHAIN: usize = 16;
/// Longest single blocking wait: interruption is checked this often.
const SLICE: Duration = Duration::from_millis(100);

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_MX: u16 = 15;
const TYPE_AAAA: u16 = 28;
const CLASS_IN: u16 = 1;

/// The record types this resolver asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    A,
    Aaaa,
    Mx,
}

impl RecordType {
    fn code(self) -> u16 {
        match self {
            RecordType::A => TYPE_A,
            RecordType::Aaaa => TYPE_AAAA,
            RecordType::Mx => TYPE_MX,
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

/// Why a lookup failed. `Display` gives one line a user can act on.
#[derive(Debug)]
pub enum DnsError {
    /// No DNS server to ask (nothing usable in /etc/resolv.conf, or a bad
    /// resolver address).
    NoResolver { reason: String },
    /// The name cannot be asked for.
    BadName { name: String, reason: String },
    /// The name does not exist (NXDOMAIN).
    NxDomain { name: String, server: SocketAddr },
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx { domain: String },
    /// The host exists but has no A or AAAA record.
    NoAddress { name: String },
    /// No MX records and no A/AAAA to fall back to.
    NoMailServer { domain: String },
    /// There are MX records, but none of their hosts has an address; each
    /// host with why.
    NoUsableMx {
        domain: String,
        hosts: Vec<(String, DnsError)>,
    },
    /// The server answered with an error code (SERVFAIL, REFUSED, ...).
    ServerFailure {
        name: String,
        rtype: RecordType,
        server: SocketAddr,
        rcode: u8,
    },
    /// No answer within the timeout, after every attempt.
    Timeout {
        name: String,
        rtype: RecordType,
        server: SocketAddr,
        waited: Duration,
        attempts: u32,
    },
    /// A socket error talking to the server.
    Io {
        server: SocketAddr,
        source: io::Error,
    },
    /// The answer could not be parsed.
    Malformed {
        name: String,
        server: SocketAddr,
        reason: String,
    },
    /// Ctrl-C.
    Interrupted,
}

fn rcode_text(rcode: u8) -> &'static str {
    match rcode {
        1 => "FORMERR, it did not understand the query",
        2 => "SERVFAIL, it could not get an answer (the domain's DNS may be broken)",
        4 => "NOTIMP, it does not support this query",
        5 => "REFUSED, it does not answer queries from here (is it a recursive resolver?)",
        _ => "an error code",
    }
}

fn secs(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::NoResolver { reason } => write!(
                f,
                "no DNS server to ask: {reason}; set a resolver address (e.g. 127.0.0.1:53)"
            ),
            DnsError::BadName { name, reason } => {
                write!(f, "cannot look up {name:?}: {reason}")
            }
            DnsError::NxDomain { name, server } => write!(
                f,
                "{name}: no such domain (the DNS server {server} says it does not exist); check the spelling"
            ),
            DnsError::NullMx { domain } => write!(
                f,
                "{domain} does not accept mail: it publishes a null MX record (RFC 7505)"
            ),
            DnsError::NoAddress { name } => {
                write!(f, "{name} has no address (no AAAA or A record)")
            }
            DnsError::NoMailServer { domain } => write!(
                f,
                "{domain} cannot receive mail: it has no MX record and no address (AAAA or A) to fall back to"
            ),
            DnsError::NoUsableMx { domain, hosts } => {
                write!(f, "none of the mail servers of {domain} can be reached: ")?;
                for (i, (host, why)) in hosts.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    match why {
                        DnsError::NxDomain { .. } => write!(f, "{host} does not exist")?,
                        DnsError::NoAddress { .. } => write!(f, "{host} has no address")?,
                        other => write!(f, "{host}: {other}")?,
                    }
                }
                Ok(())
            }
            DnsError::ServerFailure {
                name,
                rtype,
                server,
                rcode,
            } => write!(
                f,
                "the DNS server {server} could not answer for {name} {rtype}: {} (code {rcode})",
                rcode_text(*rcode)
            ),
            DnsError::Timeout {
                name,
                rtype,
                server,
                waited,
                attempts,
            } => write!(
                f,
                "no answer from the DNS server {server} for {name} {rtype} within {} ({attempts} {}); \
                 check the resolver address and the network",
                secs(*waited),
                if *attempts == 1 { "try" } else { "tries" }
            ),
            DnsError::Io { server, source } => {
                if source.kind() == io::ErrorKind::ConnectionRefused {
                    write!(
                        f,
                        "the DNS server {server} refused the connection (nothing listens there?); \
                         check the resolver address"
                    )
                } else {
                    write!(f, "cannot talk to the DNS server {server}: {source}")
                }
            }
            DnsError::Malformed {
                name,
                server,
                reason,
            } => write!(
                f,
                "the DNS server {server} sent a malformed answer for {name}: {reason}"
            ),
            DnsError::Interrupted => f.write_str("DNS lookup interrupted"),
        }
    }
}

impl std::error::Error for DnsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DnsError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// The resolver
// ---------------------------------------------------------------------------

/// Where and how to ask.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// The DNS server (a recursive resolver).
    pub server: SocketAddr,
    /// Wait for an answer, per attempt (and for each TCP step).
    pub timeout: Duration,
    /// UDP attempts (at least 1; the default 2 is one retry).
    pub attempts: u32,
    /// Set (by a Ctrl-C handler) to abandon the lookup.
    pub interrupt: Option<Arc<AtomicBool>>,
}

impl Resolver {
    /// A resolver at `server`, with the default timeout and one retry.
    pub fn new(server: SocketAddr) -> Resolver {
        Resolver {
            server,
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            interrupt: None,
        }
    }

    /// The first usable `nameserver` of /etc/resolv.conf, with its
    /// `options timeout:N attempts:N`.
    pub fn system() -> Result<Resolver, DnsError> {
        let text =
            std::fs::read_to_string("/etc/resolv.conf").map_err(|e| DnsError::NoResolver {
                reason: format!("cannot read /etc/resolv.conf: {e}"),
            })?;
        Resolver::from_resolv_conf(&text).ok_or_else(|| DnsError::NoResolver {
            reason: "/etc/resolv.conf has no usable nameserver line".to_string(),
        })
    }

    /// Parse resolv.conf text: the first `nameserver` that is an IPv4 or
    /// (unscoped) IPv6 address, port 53; `options timeout:N attempts:N`.
    pub fn from_resolv_conf(text: &str) -> Option<Resolver> {
        let mut server = None;
        let mut timeout = None;
        let mut attempts = None;
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") if server.is_none() => {
                    if let Some(ip) = words.next().and_then(|w| IpAddr::from_str(w).ok()) {
                        server = Some(SocketAddr::new(ip, DNS_PORT));
                    }
                }
                Some("options") => {
                    for opt in words {
                        if let Some(n) = opt.strip_prefix("timeout:").and_then(|n| n.parse().ok()) {
                            timeout = Some(Duration::from_secs(u64::clamp(n, 1, 30)));
                        } else if let Some(n) =
                            opt.strip_prefix("attempts:").and_then(|n| n.parse().ok())
                        {
                            attempts = Some(u32::clamp(n, 1, 5));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut r = Resolver::new(server?);
        if let Some(t) = timeout {
            r.timeout = t;
        }
        if let Some(a) = attempts {
            r.attempts = a;
        }
        Some(r)
    }

    /// A resolver address as a user types it: `127.0.0.1`, `127.0.0.1:5353`,
    /// `::1`, `[::1]`, `[::1]:5353` (port 53 when none is given).
    pub fn parse_addr(text: &str) -> Result<SocketAddr, String> {
        let text = text.trim();
        if let Ok(sa) = SocketAddr::from_str(text) {
            return Ok(sa);
        }
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        IpAddr::from_str(bare)
            .map(|ip| SocketAddr::new(ip, DNS_PORT))
            .map_err(|_| {
                format!(
                    "{text:?} is not a resolver address (an IP address with an optional port: \
                     127.0.0.1, 127.0.0.1:5353, [::1]:5353)"
                )
            })
    }

    fn interrupted(&self) -> bool {
        self.interrupt
            .as_ref()
            .is_some_and(|i| i.load(Ordering::SeqCst))
    }

    /// Ask for `name`/`rtype`; the parsed, checked answer.
    fn query(&self, name: &str, rtype: RecordType) -> Result<Message, DnsError> {
        let qname = normalize_name(name)?;
        let id = random_u16();
        let query = build_query(id, &qname, rtype)?;
        let msg = self.exchange_udp(&query, id, &qname, rtype)?;
        let msg = if msg.truncated {
            self.exchange_tcp(&query, id, &qname, rtype)?
        } else {
            msg
        };
        match msg.rcode {
            0 => Ok(msg),
            3 => Err(DnsError::NxDomain {
                name: qname,
                server: self.server,
            }),
            rcode => Err(DnsError::ServerFailure {
                name: qname,
                rtype,
                server: self.server,
                rcode,
            }),
        }
    }

    fn io_err(&self, source: io::Error) -> DnsError {
        DnsError::Io {
            server: self.server,
            source,
        }
    }

    fn exchange_udp(
        &self,
        query: &[u8],
        id: u16,
        qname: &str,
        rtype: RecordType,
    ) -> Result<Message, DnsError> {
        let bind: SocketAddr = if self.server.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let sock = UdpSocket::bind(bind).map_err(|e| self.io_err(e))?;
        // Only datagrams from the server reach us.
        sock.connect(self.server).map_err(|e| self.io_err(e))?;
        let mut buf = vec![0u8; UDP_BUFFER];
        let attempts = self.attempts.max(1);
        let timeout = self.timeout.max(Duration::from_millis(1));
        let mut malformed = None;
        for _ in 0..attempts {
            sock.send(query).map_err(|e| self.io_err(e))?;
            let deadline = Instant::now() + timeout;
            loop {
                if self.interrupted() {
                    return Err(DnsError::Interrupted);
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                sock.set_read_timeout(Some(left.min(SLICE)))
                    .map_err(|e| self.io_err(e))?;
                match sock.recv(&mut buf) {
                    Ok(n) => match parse_message(&buf[..n], id, qname, rtype) {
                        Ok(msg) => return Ok(msg),
                        // Not an answer to this query: keep waiting.
                        Err(ParseError::Mismatch(_)) => {}
                        Err(ParseError::Malformed(reason)) => malformed = Some(reason),
                    },
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::TimedOut
                                | io::ErrorKind::Interrupted
                        ) => {}
                    Err(e) => return Err(self.io_err(e)),
                }
            }
        }
        if let Some(reason) = malformed {
            return Err(DnsError::Malformed {
                name: qname.to_string(),
                server: self.server,
                reason,
            });
        }
        Err(DnsError::Timeout {
            name: qname.to_string(),
            rtype,
            server: self.server,
            waited: timeout * attempts,
            attempts,
        })
    }

    fn exchange_tcp(
        &self,
        query: &[u8],
        id: u16,
        qname: &str,
        rtype: RecordType,
    ) -> Result<Message, DnsError> {
        let timeout = self.timeout.max(Duration::from_millis(1));
        let timed_out = || DnsError::Timeout {
            name: qname.to_string(),
            rtype,
            server: self.server,
            waited: timeout,
            attempts: 1,
        };
        if self.interrupted() {
            return Err(DnsError::Interrupted);
        }
        let mut stream = TcpStream::connect_timeout(&self.server, timeout).map_err(|e| {
            if e.kind() == io::ErrorKind::TimedOut {
                timed_out()
            } else {
                self.io_err(e)
            }
        })?;
        let deadline = Instant::now() + timeout;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| self.io_err(e))?;
        let len = u16::try_from(query.len()).map_err(|_| DnsError::BadName {
            name: qname.to_string(),
            reason: "query too long".to_string(),
        })?;
        let mut framed = Vec::with_capacity(query.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(query);
        stream.write_all(&framed).map_err(|e| self.io_err(e))?;
        let mut len_buf = [0u8; 2];
        self.read_full(&mut stream, &mut len_buf, deadline)
            .map_err(|e| e.unwrap_or_else(timed_out))?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(len_buf))];
        self.read_full(&mut stream, &mut body, deadline)
            .map_err(|e| e.unwrap_or_else(timed_out))?;
        match parse_message(&body, id, qname, rtype) {
            Ok(msg) => Ok(msg),
            Err(ParseError::Mismatch(reason) | ParseError::Malformed(reason)) => {
                Err(DnsError::Malformed {
                    name: qname.to_string(),
                    server: self.server,
                    reason,
                })
            }
        }
    }

    /// Fill `buf` before `deadline`; `Err(None)` on timeout.
    fn read_full(
        &self,
        stream: &mut TcpStream,
        buf: &mut [u8],
        deadline: Instant,
    ) -> Result<(), Option<DnsError>> {
        let mut got = 0;
        while got < buf.len() {
            if self.interrupted() {
                return Err(Some(DnsError::Interrupted));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(None);
            }
            stream
                .set_read_timeout(Some(left.min(SLICE)))
                .map_err(|e| Some(self.io_err(e)))?;
            match stream.read(&mut buf[got..]) {
                Ok(0) => {
                    return Err(Some(self.io_err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the TCP connection before the whole answer",
                    ))));
                }
                Ok(n) => got += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(Some(self.io_err(e))),
            }
        }
        Ok(())
    }
}

impl From<SocketAddr> for Resolver {
    fn from(server: SocketAddr) -> Resolver {
        Resolver::new(server)
    }
}

impl fmt::Display for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.server)
    }
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
    null_mx_check(&msg.qname, &mut mxs)?;
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

/// The MX records of an answer (owner: the question or a CNAME of it).
fn mx_records(msg: &Message) -> Vec<Mx> {
    let owners = owner_chain(msg);
    msg.answers
        .iter()
        .filter(|r| owners.iter().any(|o| o.eq_ignore_ascii_case(&r.name)))
        .filter_map(|r| match &r.data {
            RData::Mx {
                preference,
                exchange,
            } => Some(Mx {
                preference: *preference,
                exchange: exchange.clone(),
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
    // within each preference.
    for i in (1..mxs.len()).rev() {
        let j = (random_u64() % (i as u64 + 1)) as usize;
        mxs.swap(i, j);
    }
    mxs.sort_by_key(|m| m.preference);
}

/// The addresses of one family in an answer, following CNAMEs in it.
fn address_records(msg: &Message, rtype: RecordType) -> Vec<IpAddr> {
    let owners = owner_chain(msg);
    msg.answers
        .iter()
        .filter(|r| owners.iter().any(|o| o.eq_ignore_ascii_case(&r.name)))
        .filter_map(|r| match (&r.data, rtype) {
            (RData::A(ip), RecordType::A) => Some(IpAddr::V4(*ip)),
            (RData::Aaaa(ip), RecordType::Aaaa) => Some(IpAddr::V6(*ip)),
            _ => None,
        })
        .collect()
}

/// The question name and the CNAME chain from it inside the answer.
fn owner_chain(msg: &Message) -> Vec<String> {
    let mut chain = vec![msg.qname.clone()];
    while chain.len() <= MAX_CNAME_CHAIN {
        let Some(last) = chain.last() else { break };
        let next = msg.answers.iter().find_map(|r| match &r.data {
            RData::Cname(target) if r.name.eq_ignore_ascii_case(last) => Some(target.clone()),
            _ => None,
        });
        match next {
            Some(t) if !chain.iter().any(|c| c.eq_ignore_ascii_case(&t)) => chain.push(t),
            _ => break,
        }
    }
    chain
}

// ---------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------

fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    h.finish()
}

fn random_u16() -> u16 {
    (random_u64() & 0xFFFF) as u16
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

/// A query (RFC 1035 §4.1): recursion desired, one question, class IN.
fn build_query(id: u16, name: &str, rtype: RecordType) -> Result<Vec<u8>, DnsError> {
    let name = normalize_name(name)?;
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    q.extend_from_slice(&[0; 6]); // ANCOUNT, NSCOUNT, ARCOUNT
    for label in name.split('.') {
        // normalize_name bounds every label to 63 octets.
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&rtype.code().to_be_bytes());
    q.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(q)
}

/// A parsed answer.
#[derive(Debug, Clone)]
struct Message {
    /// The question name (normalised).
    qname: String,
    truncated: bool,
    rcode: u8,
    answers: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq)]
struct Record {
    name: String,
    data: RData,
}

#[derive(Debug, Clone, PartialEq)]
enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx { preference: u16, exchange: String },
    Cname(String),
    Other(u16),
}

#[derive(Debug, Clone, PartialEq)]
enum ParseError {
    /// Well-formed, but not the answer to our query (ID, question).
    Mismatch(String),
    /// Broken.
    Malformed(String),
}

fn malformed<T>(reason: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError::Malformed(reason.into()))
}

/// A cursor over a message with bounds-checked reads.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, ParseError> {
        let b = *self
            .msg
            .get(self.pos)
            .ok_or_else(|| ParseError::Malformed("the answer is cut short".into()))?;
        self.pos += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }

    fn u32(&mut self) -> Result<u32, ParseError> {
        Ok(u32::from_be_bytes([
            self.u8()?,
            self.u8()?,
            self.u8()?,
            self.u8()?,
        ]))
    }

    fn name(&mut self) -> Result<String, ParseError> {
        let (name, next) = read_name(self.msg, self.pos)?;
        self.pos = next;
        Ok(name)
    }
}

/// Read a possibly compressed name starting at `start`: the name (labels
/// joined by `.`, no trailing dot; `.` for the root; bytes outside
/// printable ASCII, `.` and `\` escaped as `\DDD`) and the position after
/// it in the original place.
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), ParseError> {
    let mut pos = start;
    let mut after = None;
    let mut pointers = 0;
    let mut wire_len = 0usize;
    let mut name = String::new();
    loop {
        let Some(&len) = msg.get(pos) else {
            return malformed("a name runs past the end of the answer");
        };
        match len & 0xC0 {
            0x00 if len == 0 => {
                wire_len += 1;
                if wire_len > MAX_NAME_WIRE {
                    return malformed("a name is longer than 255 octets");
                }
                return Ok((
                    if name.is_empty() { ".".into() } else { name },
                    after.unwrap_or(pos + 1),
                ));
            }
            0x00 => {
                let len = usize::from(len);
                let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                    return malformed("a label runs past the end of the answer");
                };
                wire_len += 1 + len;
                if wire_len > MAX_NAME_WIRE {
                    return malformed("a name is longer than 255 octets");
                }
                if !name.is_empty() {
                    name.push('.');
                }
                for &b in label {
                    if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                        name.push(char::from(b));
                    } else {
                        name.push_str(&format!("\\{b:03}"));
                    }
                }
                pos += 1 + len;
            }
            0xC0 => {
                let Some(&low) = msg.get(pos + 1) else {
                    return malformed("a compression pointer is cut short");
                };
                let target = (usize::from(len & 0x3F) << 8) | usize::from(low);
                if target >= pos {
                    return malformed("a compression pointer points forward (or at itself)");
                }
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return malformed("too many compression pointers (a loop?)");
                }
                after.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return malformed("a name uses an unknown label type"),
        }
    }
}

/// Parse an answer to query `id` for `qname`/`rtype`.
fn parse_message(
    msg: &[u8],
    id: u16,
    qname: &str,
    rtype: RecordType,
) -> Result<Message, ParseError> {
    if msg.len() < 12 {
        return malformed("the answer is shorter than a DNS header");
    }
    let mut r = Reader { msg, pos: 0 };
    let got_id = r.u16()?;
    let flags = r.u16()?;
    let qdcount = r.u16()?;
    let ancount = r.u16()?;
    let _nscount = r.u16()?;
    let _arcount = r.u16()?;
    if got_id != id {
        return Err(ParseError::Mismatch(format!(
            "answer ID {got_id} is not query ID {id}"
        )));
    }
    if flags & 0x8000 == 0 {
        return Err(ParseError::Mismatch("a query, not an answer".into()));
    }
    if (flags >> 11) & 0xF != 0 {
        return malformed("the answer has an unexpected opcode");
    }
    let truncated = flags & 0x0200 != 0;
    let rcode = (flags & 0x000F) as u8;
    let qname = qname.strip_suffix('.').unwrap_or(qname).to_string();
    match qdcount {
        // Allowed only for error answers (some servers drop the question).
        0 if rcode != 0 => {}
        1 => {
            let name = r.name()?;
            let qtype = r.u16()?;
            let qclass = r.u16()?;
            if !name.eq_ignore_ascii_case(&qname) || qtype != rtype.code() || qclass != CLASS_IN {
                return Err(ParseError::Mismatch(format!(
                    "the answer is for {name} type {qtype}, not {qname} {rtype}"
                )));
            }
        }
        n => return malformed(format!("the answer has {n} questions")),
    }
    let mut answers = Vec::new();
    if !truncated || rcode != 0 {
        for _ in 0..ancount {
            if let Some(rec) = read_record(&mut r)? {
                answers.push(rec);
            }
        }
    } else {
        // A truncated answer is asked again over TCP; keep what parses.
        for _ in 0..ancount {
            match read_record(&mut r) {
                Ok(Some(rec)) => answers.push(rec),
                Ok(None) => {}
                Err(_) => break,
            }
        }
    }
    Ok(Message {
        qname,
        truncated,
        rcode,
        answers,
    })
}

/// One resource record; `None` for a class other than IN.
fn read_record(r: &mut Reader<'_>) -> Result<Option<Record>, ParseError> {
    let name = r.name()?;
    let rtype = r.u16()?;
    let class = r.u16()?;
    let _ttl = r.u32()?;
    let rdlen = usize::from(r.u16()?);
    let start = r.pos;
    let end = start + rdlen;
    if end > r.msg.len() {
        return malformed("a record's data runs past the end of the answer");
    }
    let rdata = &r.msg[start..end];
    let data = match rtype {
        TYPE_A => match <[u8; 4]>::try_from(rdata) {
            Ok(b) => RData::A(Ipv4Addr::from(b)),
            Err(_) => return malformed(format!("an A record of {rdlen} octets")),
        },
        TYPE_AAAA => match <[u8; 16]>::try_from(rdata) {
            Ok(b) => RData::Aaaa(Ipv6Addr::from(b)),
            Err(_) => return malformed(format!("an AAAA record of {rdlen} octets")),
        },
        TYPE_MX => {
            if rdlen < 3 {
                return malformed(format!("an MX record of {rdlen} octets"));
            }
            let preference = u16::from_be_bytes([rdata[0], rdata[1]]);
            let (exchange, next) = read_name(r.msg, start + 2)?;
            if next != end {
                return malformed("an MX record's name does not fill its data");
            }
            RData::Mx {
                preference,
                exchange,
            }
        }
        TYPE_CNAME => {
            let (target, next) = read_name(r.msg, start)?;
            if next != end {
                return malformed("a CNAME record's name does not fill its data");
            }
            RData::Cname(target)
        }
        other => RData::Other(other),
    };
    r.pos = end;
    if class != CLASS_IN {
        return Ok(None);
    }
    Ok(Some(Record { name, data }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::atomic::AtomicUsize;
    use std::thread;

    // -- building answers by hand ------------------------------------------

    /// A name in wire form (uncompressed).
    fn wire_name(name: &str) -> Vec<u8> {
        let mut v = Vec::new();
        for label in name.split('.').filter(|l| !l.is_empty()) {
            v.push(label.len() as u8);
            v.extend_from_slice(label.as_bytes());
        }
        v.push(0);
        v
    }

    /// Header + question (the question name at offset 12).
    fn header(id: u16, flags: u16, an: u16, name: &str, qtype: u16) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&id.to_be_bytes());
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m.extend_from_slice(&an.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(&wire_name(name));
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m
    }

    /// A record whose owner is a pointer to offset 12 (the question name).
    fn rr(m: &mut Vec<u8>, owner: &[u8], rtype: u16, rdata: &[u8]) {
        m.extend_from_slice(owner);
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&300u32.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(rdata);
    }

    const PTR_Q: [u8; 2] = [0xC0, 12];

    fn mx_rdata(pref: u16, name_wire: &[u8]) -> Vec<u8> {
        let mut v = pref.to_be_bytes().to_vec();
        v.extend_from_slice(name_wire);
        v
    }

    /// An MX answer for example.com: mx2 (20), mx1 (10, compressed against
    /// the question), mx0 (10).
    fn sample_mx_answer(id: u16) -> Vec<u8> {
        let mut m = header(id, 0x8180, 3, "example.com", TYPE_MX);
        // "mx2.example.com" with "example.com" compressed (offset 12).
        let mut n = vec![3, b'm', b'x', b'2'];
        n.extend_from_slice(&PTR_Q);
        rr(&mut m, &PTR_Q, TYPE_MX, &mx_rdata(20, &n));
        let mut n = vec![3, b'm', b'x', b'1'];
        n.extend_from_slice(&PTR_Q);
        rr(&mut m, &PTR_Q, TYPE_MX, &mx_rdata(10, &n));
        rr(
            &mut m,
            &PTR_Q,
            TYPE_MX,
            &mx_rdata(10, &wire_name("mx0.example.net")),
        );
        m
    }

    // -- queries -------------------------------------------------------------

    #[test]
    fn query_bytes() {
        let q = build_query(0xBEEF, "Example.COM.", RecordType::Mx).unwrap();
        let mut want = vec![0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x07Example\x03COM\x00\x00\x0f\x00\x01");
        assert_eq!(q, want);
        let q = build_query(1, "a.b", RecordType::Aaaa).unwrap();
        assert_eq!(&q[q.len() - 4..], &[0, 28, 0, 1]);
        let q = build_query(1, "a.b", RecordType::A).unwrap();
        assert_eq!(&q[q.len() - 4..], &[0, 1, 0, 1]);
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "exämple.com",
            "has space.com",
            "back\\slash.com",
            &"x".repeat(64),
            &format!("{}.com", ["abcdefghij"; 25].join(".")),
        ] {
            let e = build_query(1, bad, RecordType::A).expect_err(bad);
            assert!(matches!(e, DnsError::BadName { .. }), "{bad}: {e:?}");
            assert!(e.to_string().starts_with("cannot look up"), "{e}");
        }
        assert!(build_query(1, &"x".repeat(63), RecordType::A).is_ok());
        assert!(build_query(1, "_dmarc.example.com", RecordType::A).is_ok());
        let e = normalize_name("münchen.de").unwrap_err().to_string();
        assert!(e.contains("xn--"), "{e}");
    }

    // -- parsing -------------------------------------------------------------

    #[test]
    fn mx_answer_with_compression() {
        let m = parse_message(&sample_mx_answer(7), 7, "example.com", RecordType::Mx).unwrap();
        assert_eq!(m.rcode, 0);
        assert!(!m.truncated);
        let mut mxs = mx_records(&m);
        assert_eq!(mxs.len(), 3);
        assert!(mxs.contains(&Mx {
            preference: 20,
            exchange: "mx2.example.com".into()
        }));
        null_mx_check("example.com", &mut mxs).unwrap();
        sort_mx(&mut mxs);
        let prefs: Vec<u16> = mxs.iter().map(|m| m.preference).collect();
        assert_eq!(prefs, [10, 10, 20]);
        assert_eq!(mxs[2].exchange, "mx2.example.com");
        let mut first: Vec<&str> = mxs[..2].iter().map(|m| m.exchange.as_str()).collect();
        first.sort();
        assert_eq!(first, ["mx0.example.net", "mx1.example.com"]);
    }

    #[test]
    fn equal_preferences_are_shuffled() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let mut mxs: Vec<Mx> = (0..4)
                .map(|i| Mx {
                    preference: 5,
                    exchange: format!("mx{i}"),
                })
                .collect();
            mxs.push(Mx {
                preference: 1,
                exchange: "first".into(),
            });
            sort_mx(&mut mxs);
            assert_eq!(mxs[0].exchange, "first");
            seen.insert(mxs[1].exchange.clone());
        }
        assert!(seen.len() > 1, "never shuffled: {seen:?}");
    }

    #[test]
    fn question_name_case_and_trailing_dot() {
        let m = parse_message(&sample_mx_answer(7), 7, "EXAMPLE.com.", RecordType::Mx).unwrap();
        assert_eq!(mx_records(&m).len(), 3);
    }

    #[test]
    fn null_mx_is_an_error() {
        let mut m = header(9, 0x8180, 1, "nomail.example", TYPE_MX);
        rr(&mut m, &PTR_Q, TYPE_MX, &[0, 0, 0]);
        let msg = parse_message(&m, 9, "nomail.example", RecordType::Mx).unwrap();
        let mut mxs = mx_records(&msg);
        assert_eq!(
            mxs,
            [Mx {
                preference: 0,
                exchange: ".".into()
            }]
        );
        let e = null_mx_check(&msg.qname, &mut mxs).unwrap_err();
        assert!(matches!(e, DnsError::NullMx { .. }));
        assert_eq!(
            e.to_string(),
            "nomail.example does not accept mail: it publishes a null MX record (RFC 7505)"
        );
        // Mixed with a real MX (forbidden by RFC 7505): the "." is dropped.
        let mut mxs = vec![
            Mx {
                preference: 0,
                exchange: ".".into(),
            },
            Mx {
                preference: 10,
                exchange: "mx.example".into(),
            },
        ];
        null_mx_check("x", &mut mxs).unwrap();
        assert_eq!(mxs.len(), 1);
    }

    #[test]
    fn nxdomain_nodata_and_errors() {
        // NXDOMAIN with the question.
        let m = header(3, 0x8183, 0, "nope.example", TYPE_MX);
        let msg = parse_message(&m, 3, "nope.example", RecordType::Mx).unwrap();
        assert_eq!(msg.rcode, 3);
        // SERVFAIL without a question section.
        let mut m = 3u16.to_be_bytes().to_vec();
        m.extend_from_slice(&[0x81, 0x82, 0, 0, 0, 0, 0, 0, 0, 0]);
        let msg = parse_message(&m, 3, "x.example", RecordType::Mx).unwrap();
        assert_eq!(msg.rcode, 2);
        // NODATA: NOERROR and no answers (an SOA in authority is ignored).
        let m = header(3, 0x8180, 0, "a.example", TYPE_MX);
        let msg = parse_message(&m, 3, "a.example", RecordType::Mx).unwrap();
        assert!(mx_records(&msg).is_empty());
    }

    #[test]
    fn addresses_and_cname_chain() {
        let mut m = header(5, 0x8180, 4, "www.example.com", TYPE_AAAA);
        // www -> alias.example.net -> host.example.net (AAAA), plus a
        // record for an unrelated owner that must be ignored.
        let alias_at = m.len() + 12; // owner(2) type class ttl rdlen(10)
        rr(&mut m, &PTR_Q, TYPE_CNAME, &wire_name("alias.example.net"));
        let mut host = vec![4, b'h', b'o', b's', b't'];
        host.extend_from_slice(&[0xC0, (alias_at + 6) as u8]); // "example.net" inside alias
        let host_at = m.len() + 2 + 10;
        rr(&mut m, &[0xC0, alias_at as u8], TYPE_CNAME, &host);
        rr(
            &mut m,
            &[0xC0, host_at as u8],
            TYPE_AAAA,
            &Ipv6Addr::LOCALHOST.octets(),
        );
        rr(
            &mut m,
            &wire_name("evil.example"),
            TYPE_AAAA,
            &[0xFE, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
        );
        let msg = parse_message(&m, 5, "www.example.com", RecordType::Aaaa).unwrap();
        assert_eq!(
            owner_chain(&msg),
            ["www.example.com", "alias.example.net", "host.example.net"]
        );
        assert_eq!(
            address_records(&msg, RecordType::Aaaa),
            [IpAddr::V6(Ipv6Addr::LOCALHOST)]
        );
        assert!(address_records(&msg, RecordType::A).is_empty());

        let mut m = header(6, 0x8180, 2, "h.example", TYPE_A);
        rr(&mut m, &PTR_Q, TYPE_A, &[192, 0, 2, 1]);
        rr(&mut m, &PTR_Q, TYPE_A, &[192, 0, 2, 2]);
        let msg = parse_message(&m, 6, "h.example", RecordType::A).unwrap();
        assert_eq!(
            address_records(&msg, RecordType::A),
            [IpAddr::from([192, 0, 2, 1]), IpAddr::from([192, 0, 2, 2])]
        );
    }

    #[test]
    fn cname_loop_is_bounded() {
        let mut m = header(5, 0x8180, 2, "a.example", TYPE_A);
        rr(&mut m, &PTR_Q, TYPE_CNAME, &wire_name("b.example"));
        rr(
            &mut m,
            &wire_name("b.example"),
            TYPE_CNAME,
            &wire_name("a.example"),
        );
        let msg = parse_message(&m, 5, "a.example", RecordType::A).unwrap();
        assert_eq!(owner_chain(&msg), ["a.example", "b.example"]);
        assert!(address_records(&msg, RecordType::A).is_empty());
    }

    #[test]
    fn mismatched_answers_are_told_apart() {
        let a = sample_mx_answer(7);
        assert!(matches!(
            parse_message(&a, 8, "example.com", RecordType::Mx),
            Err(ParseError::Mismatch(_))
        ));
        assert!(matches!(
            parse_message(&a, 7, "example.org", RecordType::Mx),
            Err(ParseError::Mismatch(_))
        ));
        assert!(matches!(
            parse_message(&a, 7, "example.com", RecordType::A),
            Err(ParseError::Mismatch(_))
        ));
        // A query (QR = 0) is not an answer.
        let mut q = a.clone();
        q[2] &= 0x7F;
        assert!(matches!(
            parse_message(&q, 7, "example.com", RecordType::Mx),
            Err(ParseError::Mismatch(_))
        ));
    }

    #[test]
    fn truncated_flag() {
        let mut a = sample_mx_answer(7);
        a[2] |= 0x02;
        // Cut in the middle of the answers: still parses (what fits).
        let cut = &a[..a.len() - 5];
        let msg = parse_message(cut, 7, "example.com", RecordType::Mx).unwrap();
        assert!(msg.truncated);
        assert_eq!(msg.answers.len(), 2);
    }

    #[test]
    fn pointer_loops_and_forward_pointers_are_errors() {
        // A pointer to itself.
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        let at = m.len();
        rr(&mut m, &[0xC0, at as u8], TYPE_A, &[1, 2, 3, 4]);
        assert!(matches!(
            parse_message(&m, 1, "a.example", RecordType::A),
            Err(ParseError::Malformed(_))
        ));
        // A forward pointer.
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        let at = m.len();
        rr(&mut m, &[0xC0, (at + 20) as u8], TYPE_A, &[1, 2, 3, 4]);
        assert!(parse_message(&m, 1, "a.example", RecordType::A).is_err());
        // A label followed by a pointer back to the label: a loop that only
        // moves backwards, caught by the name length and pointer bounds.
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        let at = m.len();
        m.extend_from_slice(&[1, b'x', 0xC0, at as u8]);
        m.extend_from_slice(&TYPE_A.to_be_bytes());
        m.extend_from_slice(&CLASS_IN.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        let e = parse_message(&m, 1, "a.example", RecordType::A).unwrap_err();
        assert!(matches!(e, ParseError::Malformed(_)), "{e:?}");
        // Pointer chains of zero-length progress: pointer -> pointer -> ...
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        let base = m.len();
        // 100 pointers, each to the previous one; the first to the question.
        m.extend_from_slice(&PTR_Q);
        for i in 1..100 {
            let prev = base + 2 * (i - 1);
            m.extend_from_slice(&[0xC0 | (prev >> 8) as u8, prev as u8]);
        }
        let last = base + 2 * 99;
        let mut rec = vec![0xC0 | (last >> 8) as u8, last as u8];
        rec.extend_from_slice(&TYPE_A.to_be_bytes());
        rec.extend_from_slice(&CLASS_IN.to_be_bytes());
        rec.extend_from_slice(&[0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        m.extend_from_slice(&rec);
        // The chain sits where an answer would start: skip it by reading
        // the name at `last` directly.
        let e = read_name(&m, last).unwrap_err();
        assert_eq!(
            e,
            ParseError::Malformed("too many compression pointers (a loop?)".into())
        );
        assert!(read_name(&m, base + 2 * 10).is_ok());
    }

    #[test]
    fn long_names_and_bad_labels() {
        // 4 x 63-octet labels = 256 octets on the wire: too long.
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        for _ in 0..4 {
            m.push(63);
            m.extend_from_slice(&[b'a'; 63]);
        }
        m.push(0);
        assert!(matches!(
            parse_message(&m, 1, "a.example", RecordType::A),
            Err(ParseError::Malformed(_))
        ));
        // Extended label types 0x40 and 0x80.
        for t in [0x40u8, 0x80] {
            let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
            m.push(t | 1);
            m.extend_from_slice(&[b'x', 0]);
            assert!(parse_message(&m, 1, "a.example", RecordType::A).is_err());
        }
        // Odd bytes in a label are escaped, never raw.
        let name = [3, b'a', 0x1B, b'.', 0];
        let (n, next) = read_name(&name, 0).unwrap();
        assert_eq!(n, "a\\027\\046");
        assert_eq!(next, 5);
    }

    #[test]
    fn bad_rdata_lengths() {
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        rr(&mut m, &PTR_Q, TYPE_A, &[1, 2, 3, 4, 5]);
        assert!(parse_message(&m, 1, "a.example", RecordType::A).is_err());
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_AAAA);
        rr(&mut m, &PTR_Q, TYPE_AAAA, &[1, 2, 3, 4]);
        assert!(parse_message(&m, 1, "a.example", RecordType::Aaaa).is_err());
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_MX);
        rr(&mut m, &PTR_Q, TYPE_MX, &[0, 1]);
        assert!(parse_message(&m, 1, "a.example", RecordType::Mx).is_err());
        // MX whose name is longer than its rdlength says.
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_MX);
        let mut rd = mx_rdata(1, &wire_name("mx.a.example"));
        rd.truncate(5);
        rr(&mut m, &PTR_Q, TYPE_MX, &rd);
        m.extend_from_slice(&[0; 20]);
        assert!(parse_message(&m, 1, "a.example", RecordType::Mx).is_err());
        // rdlength past the end.
        let mut m = header(1, 0x8180, 1, "a.example", TYPE_A);
        rr(&mut m, &PTR_Q, TYPE_A, &[1, 2, 3, 4]);
        let n = m.len();
        m[n - 5] = 200;
        assert!(parse_message(&m, 1, "a.example", RecordType::A).is_err());
        // More answers announced than present.
        let mut m = header(1, 0x8180, 2, "a.example", TYPE_A);
        rr(&mut m, &PTR_Q, TYPE_A, &[1, 2, 3, 4]);
        assert!(parse_message(&m, 1, "a.example", RecordType::A).is_err());
        // Two questions.
        let mut m = header(1, 0x8180, 0, "a.example", TYPE_A);
        m[5] = 2;
        assert!(parse_message(&m, 1, "a.example", RecordType::A).is_err());
        // Other classes and types are skipped, not errors.
        let mut m = header(1, 0x8180, 2, "a.example", TYPE_A);
        rr(&mut m, &PTR_Q, 16, b"\x05hello");
        m.extend_from_slice(&PTR_Q);
        m.extend_from_slice(&TYPE_A.to_be_bytes());
        m.extend_from_slice(&3u16.to_be_bytes()); // CHAOS
        m.extend_from_slice(&[0, 0, 0, 0, 0, 4, 9, 9, 9, 9]);
        let msg = parse_message(&m, 1, "a.example", RecordType::A).unwrap();
        assert_eq!(msg.answers.len(), 1);
        assert!(address_records(&msg, RecordType::A).is_empty());
    }

    #[test]
    fn every_prefix_and_mutation_is_handled_without_panic() {
        let good = sample_mx_answer(42);
        for n in 0..good.len() {
            // A cut answer never parses into the full record set.
            if let Ok(m) = parse_message(&good[..n], 42, "example.com", RecordType::Mx) {
                assert!(m.answers.len() < 3, "prefix {n} parsed fully");
            }
        }
        // Deterministic pseudo-random mutations (xorshift).
        let mut s: u64 = 0x1234_5678_9ABC_DEF1;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        for _ in 0..20_000 {
            let mut m = good.clone();
            for _ in 0..(1 + next() % 4) {
                let i = (next() as usize) % m.len();
                m[i] = next() as u8;
            }
            if next() % 5 == 0 {
                let cut = (next() as usize) % m.len();
                m.truncate(cut);
            }
            let _ = parse_message(&m, 42, "example.com", RecordType::Mx);
        }
        for _ in 0..5_000 {
            let len = (next() % 600) as usize;
            let m: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = parse_message(&m, (next() & 0xFFFF) as u16, "example.com", RecordType::Mx);
            for start in 0..m.len().min(32) {
                let _ = read_name(&m, start);
            }
        }
    }

    // -- resolv.conf and addresses -----------------------------------------

    #[test]
    fn resolv_conf() {
        let r = Resolver::from_resolv_conf(
            "# comment\nsearch example.com\nnameserver fe80::1%eth0\n\
             nameserver 10.0.0.53 # first usable\nnameserver 10.0.0.54\n\
             options ndots:2 timeout:1 attempts:3\n",
        )
        .unwrap();
        assert_eq!(r.server, "10.0.0.53:53".parse().unwrap());
        assert_eq!(r.timeout, Duration::from_secs(1));
        assert_eq!(r.attempts, 3);
        let r = Resolver::from_resolv_conf("nameserver ::1\n").unwrap();
        assert_eq!(r.server, "[::1]:53".parse().unwrap());
        assert_eq!(r.attempts, DEFAULT_ATTEMPTS);
        assert_eq!(r.timeout, DEFAULT_TIMEOUT);
        assert!(Resolver::from_resolv_conf("search x\n; nameserver 1.2.3.4\n").is_none());
        assert!(Resolver::from_resolv_conf("").is_none());
    }

    #[test]
    fn resolver_addresses() {
        let p = |s| Resolver::parse_addr(s);
        assert_eq!(p("127.0.0.1"), Ok("127.0.0.1:53".parse().unwrap()));
        assert_eq!(p("127.0.0.1:5353"), Ok("127.0.0.1:5353".parse().unwrap()));
        assert_eq!(p("::1"), Ok("[::1]:53".parse().unwrap()));
        assert_eq!(p("[::1]"), Ok("[::1]:53".parse().unwrap()));
        assert_eq!(p(" [::1]:5353 "), Ok("[::1]:5353".parse().unwrap()));
        let e = p("dns.example").unwrap_err();
        assert!(e.contains("not a resolver address"), "{e}");
        assert!(p("127.0.0.1:99999").is_err());
    }

    #[test]
    fn ip_literals_skip_dns() {
        // No server listens on port 9 of 192.0.2.1 (TEST-NET): never asked.
        let r = Resolver::new("192.0.2.1:9".parse().unwrap());
        assert_eq!(
            resolve_host("::1", &r).unwrap(),
            [IpAddr::V6(Ipv6Addr::LOCALHOST)]
        );
        assert_eq!(
            resolve_host("[::1]", &r).unwrap(),
            [IpAddr::V6(Ipv6Addr::LOCALHOST)]
        );
        assert_eq!(
            resolve_host("127.0.0.1", &r).unwrap(),
            [IpAddr::V4(Ipv4Addr::LOCALHOST)]
        );
    }

    #[test]
    fn error_messages_are_actionable() {
        let server: SocketAddr = "127.0.0.1:5353".parse().unwrap();
        let cases = [
            (
                DnsError::NxDomain {
                    name: "exmaple.com".into(),
                    server,
                },
                "exmaple.com: no such domain (the DNS server 127.0.0.1:5353 says it does not exist); check the spelling",
            ),
            (
                DnsError::Timeout {
                    name: "example.com".into(),
                    rtype: RecordType::Mx,
                    server,
                    waited: Duration::from_secs(6),
                    attempts: 2,
                },
                "no answer from the DNS server 127.0.0.1:5353 for example.com MX within 6 s (2 tries); check the resolver address and the network",
            ),
            (
                DnsError::NoMailServer {
                    domain: "example.com".into(),
                },
                "example.com cannot receive mail: it has no MX record and no address (AAAA or A) to fall back to",
            ),
            (
                DnsError::NoUsableMx {
                    domain: "example.com".into(),
                    hosts: vec![
                        (
                            "mx1.example.com".into(),
                            DnsError::NxDomain {
                                name: "mx1.example.com".into(),
                                server,
                            },
                        ),
                        (
                            "mx2.example.com".into(),
                            DnsError::NoAddress {
                                name: "mx2.example.com".into(),
                            },
                        ),
                    ],
                },
                "none of the mail servers of example.com can be reached: mx1.example.com does not exist; mx2.example.com has no address",
            ),
            (
                DnsError::ServerFailure {
                    name: "example.com".into(),
                    rtype: RecordType::A,
                    server,
                    rcode: 5,
                },
                "the DNS server 127.0.0.1:5353 could not answer for example.com A: REFUSED, it does not answer queries from here (is it a recursive resolver?) (code 5)",
            ),
            (
                DnsError::Io {
                    server,
                    source: io::Error::from(io::ErrorKind::ConnectionRefused),
                },
                "the DNS server 127.0.0.1:5353 refused the connection (nothing listens there?); check the resolver address",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(e.to_string(), want);
        }
    }

    // -- a fake DNS server on loopback --------------------------------------

    type Answer = Box<dyn Fn(&[u8], bool) -> Option<Vec<u8>> + Send + Sync>;

    /// A UDP + TCP server on one loopback port; `answer(query, over_tcp)`
    /// gives the reply (None: stay silent). Counts the queries it saw.
    struct FakeServer {
        addr: SocketAddr,
        udp_queries: Arc<AtomicUsize>,
        tcp_queries: Arc<AtomicUsize>,
        stop: Arc<AtomicBool>,
    }

    impl FakeServer {
        fn start(answer: Answer) -> FakeServer {
            let (udp, tcp) = loop {
                let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
                let port = udp.local_addr().unwrap().port();
                if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
                    break (udp, tcp);
                }
            };
            let addr = udp.local_addr().unwrap();
            let answer = Arc::new(answer);
            let stop = Arc::new(AtomicBool::new(false));
            let udp_queries = Arc::new(AtomicUsize::new(0));
            let tcp_queries = Arc::new(AtomicUsize::new(0));
            {
                let (answer, stop, count) = (answer.clone(), stop.clone(), udp_queries.clone());
                udp.set_read_timeout(Some(Duration::from_millis(20)))
                    .unwrap();
                thread::spawn(move || {
                    let mut buf = [0u8; 1500];
                    while !stop.load(Ordering::SeqCst) {
                        if let Ok((n, peer)) = udp.recv_from(&mut buf) {
                            count.fetch_add(1, Ordering::SeqCst);
                            if let Some(reply) = answer(&buf[..n], false) {
                                let _ = udp.send_to(&reply, peer);
                            }
                        }
                    }
                });
            }
            {
                let (answer, stop, count) = (answer, stop.clone(), tcp_queries.clone());
                tcp.set_nonblocking(true).unwrap();
                thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let Ok((mut s, _)) = tcp.accept() else {
                            thread::sleep(Duration::from_millis(10));
                            continue;
                        };
                        s.set_nonblocking(false).unwrap();
                        let mut len = [0u8; 2];
                        if s.read_exact(&mut len).is_err() {
                            continue;
                        }
                        let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                        if s.read_exact(&mut q).is_err() {
                            continue;
                        }
                        count.fetch_add(1, Ordering::SeqCst);
                        if let Some(reply) = answer(&q, true) {
                            let mut framed = (reply.len() as u16).to_be_bytes().to_vec();
                            framed.extend_from_slice(&reply);
                            let _ = s.write_all(&framed);
                        }
                    }
                });
            }
            FakeServer {
                addr,
                udp_queries,
                tcp_queries,
                stop,
            }
        }

        fn resolver(&self) -> Resolver {
            let mut r = Resolver::new(self.addr);
            r.timeout = Duration::from_millis(300);
            r
        }
    }

    impl Drop for FakeServer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    /// (id, qname, qtype) of a query.
    fn question(q: &[u8]) -> (u16, String, u16) {
        let id = u16::from_be_bytes([q[0], q[1]]);
        let (name, next) = read_name(q, 12).unwrap();
        (id, name, u16::from_be_bytes([q[next], q[next + 1]]))
    }

    /// An answer echoing the query's question, with `records` (owner: the
    /// question name) and flags.
    fn reply(q: &[u8], flags: u16, records: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let (id, name, qtype) = question(q);
        let mut m = header(id, flags, records.len() as u16, &name, qtype);
        for (t, rd) in records {
            rr(&mut m, &PTR_Q, *t, rd);
        }
        m
    }

    /// A small zone: example.test MX mx1 (10), mx2 (20), mx-gone (5);
    /// mx1 AAAA ::1 and A 127.0.0.1; mx2 A 127.0.0.2; mx-gone NXDOMAIN;
    /// bare.test (no MX) A 127.0.0.3; nomail.test null MX; empty.test
    /// nothing at all.
    fn zone(q: &[u8], _tcp: bool) -> Option<Vec<u8>> {
        let (_, name, qtype) = question(q);
        let name = name.to_ascii_lowercase();
        let ok = 0x8180;
        let rec = match (name.as_str(), qtype) {
            ("example.test", TYPE_MX) => vec![
                (TYPE_MX, mx_rdata(20, &wire_name("mx2.example.test"))),
                (TYPE_MX, mx_rdata(10, &wire_name("mx1.example.test"))),
                (TYPE_MX, mx_rdata(5, &wire_name("mx-gone.example.test"))),
            ],
            ("mx1.example.test", TYPE_AAAA) => {
                vec![(TYPE_AAAA, Ipv6Addr::LOCALHOST.octets().to_vec())]
            }
            ("mx1.example.test", TYPE_A) => vec![(TYPE_A, vec![127, 0, 0, 1])],
            ("mx2.example.test", TYPE_A) => vec![(TYPE_A, vec![127, 0, 0, 2])],
            ("bare.test", TYPE_A) => vec![(TYPE_A, vec![127, 0, 0, 3])],
            ("nomail.test", TYPE_MX) => vec![(TYPE_MX, vec![0, 0, 0])],
            ("mx-gone.example.test" | "nowhere.test", _) => {
                return Some(reply(q, 0x8183, &[]));
            }
            _ => vec![],
        };
        Some(reply(q, ok, &rec))
    }

    #[test]
    fn mx_targets_in_rfc5321_order() {
        let srv = FakeServer::start(Box::new(zone));
        let r = srv.resolver();
        let t = mx_targets("Example.Test.", &r).unwrap();
        assert_eq!(
            t,
            [
                (
                    "mx1.example.test".to_string(),
                    vec![
                        IpAddr::V6(Ipv6Addr::LOCALHOST),
                        IpAddr::V4(Ipv4Addr::LOCALHOST)
                    ]
                ),
                (
                    "mx2.example.test".to_string(),
                    vec![IpAddr::from([127, 0, 0, 2])]
                ),
            ]
        );
        assert_eq!(
            lookup_mx("example.test", &r)
                .unwrap()
                .iter()
                .map(|m| m.preference)
                .collect::<Vec<_>>(),
            [5, 10, 20]
        );
        // No MX: the domain itself.
        assert_eq!(
            mx_targets("bare.test", &r).unwrap(),
            [("bare.test".to_string(), vec![IpAddr::from([127, 0, 0, 3])])]
        );
        assert!(matches!(
            mx_targets("nomail.test", &r),
            Err(DnsError::NullMx { .. })
        ));
        assert!(matches!(
            mx_targets("nowhere.test", &r),
            Err(DnsError::NxDomain { .. })
        ));
        assert!(matches!(
            mx_targets("empty.test", &r),
            Err(DnsError::NoMailServer { .. })
        ));
        assert!(matches!(
            resolve_host("empty.test", &r),
            Err(DnsError::NoAddress { .. })
        ));
        assert_eq!(srv.tcp_queries.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn no_usable_mx_lists_each_host() {
        let srv = FakeServer::start(Box::new(|q, _| {
            let (_, name, qtype) = question(q);
            match (name.as_str(), qtype) {
                ("d.test", TYPE_MX) => Some(reply(
                    q,
                    0x8180,
                    &[
                        (TYPE_MX, mx_rdata(1, &wire_name("gone.d.test"))),
                        (TYPE_MX, mx_rdata(2, &wire_name("noaddr.d.test"))),
                    ],
                )),
                ("gone.d.test", _) => Some(reply(q, 0x8183, &[])),
                _ => Some(reply(q, 0x8180, &[])),
            }
        }));
        let e = mx_targets("d.test", &srv.resolver()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "none of the mail servers of d.test can be reached: gone.d.test does not exist; \
             noaddr.d.test has no address"
        );
    }

    #[test]
    fn a_host_listed_twice_is_tried_once() {
        let srv = FakeServer::start(Box::new(|q, _| {
            let (_, name, qtype) = question(q);
            match (name.as_str(), qtype) {
                ("dup.test", TYPE_MX) => Some(reply(
                    q,
                    0x8180,
                    &[
                        (TYPE_MX, mx_rdata(30, &wire_name("b.dup.test"))),
                        (TYPE_MX, mx_rdata(10, &wire_name("a.dup.test"))),
                        (TYPE_MX, mx_rdata(20, &wire_name("b.dup.test"))),
                        (TYPE_MX, mx_rdata(40, &wire_name("A.dup.test"))),
                    ],
                )),
                (_, TYPE_A) => Some(reply(q, 0x8180, &[(TYPE_A, vec![127, 0, 0, 1])])),
                _ => Some(reply(q, 0x8180, &[])),
            }
        }));
        let t = mx_targets("dup.test", &srv.resolver()).unwrap();
        let hosts: Vec<&str> = t.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(hosts, ["a.dup.test", "b.dup.test"]);
        // One MX query, then AAAA + A for each of the two hosts.
        assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 5);
    }

    #[test]
    fn truncated_udp_is_retried_over_tcp() {
        let srv = FakeServer::start(Box::new(|q, tcp| {
            let recs: Vec<(u16, Vec<u8>)> =
                (0..40u8).map(|i| (TYPE_A, vec![127, 0, 1, i])).collect();
            if tcp {
                Some(reply(q, 0x8180, &recs))
            } else {
                Some(reply(q, 0x8380, &recs[..3]))
            }
        }));
        let r = srv.resolver();
        let msg = r.query("big.test", RecordType::A).unwrap();
        assert_eq!(address_records(&msg, RecordType::A).len(), 40);
        assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 1);
        assert_eq!(srv.tcp_queries.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn one_retry_after_a_timeout() {
        let seen = Arc::new(AtomicUsize::new(0));
        let s2 = seen.clone();
        let srv = FakeServer::start(Box::new(move |q, _| {
            // Silent the first time.
            if s2.fetch_add(1, Ordering::SeqCst) == 0 {
                None
            } else {
                Some(reply(q, 0x8180, &[(TYPE_A, vec![127, 0, 0, 9])]))
            }
        }));
        let r = srv.resolver();
        assert_eq!(
            resolve_host("slow.test", &r).unwrap(),
            [IpAddr::from([127, 0, 0, 9])]
        );
        // AAAA: lost once, then answered; A: answered at once.
        assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn silence_is_a_timeout_after_two_tries() {
        let srv = FakeServer::start(Box::new(|_, _| None));
        let mut r = srv.resolver();
        r.timeout = Duration::from_millis(150);
        let t0 = Instant::now();
        let e = lookup_mx("quiet.test", &r).unwrap_err();
        let took = t0.elapsed();
        assert!(matches!(e, DnsError::Timeout { attempts: 2, .. }), "{e:?}");
        assert!(took >= Duration::from_millis(300), "{took:?}");
        assert!(took < Duration::from_secs(3), "{took:?}");
        assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 2);
        assert!(e.to_string().contains("within 300 ms (2 tries)"), "{e}");
    }

    #[test]
    fn spoofed_and_stray_answers_are_ignored() {
        // Before the real answer: one with another ID, garbage, and one for
        // another question with the right ID. All are skipped.
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = sock.local_addr().unwrap();
        let handle = thread::spawn(move || {
            let mut buf = [0u8; 512];
            let (n, peer) = sock.recv_from(&mut buf).unwrap();
            let q = buf[..n].to_vec();
            let mut wrong = reply(&q, 0x8180, &[(TYPE_A, vec![6, 6, 6, 6])]);
            wrong[0] ^= 0xFF;
            sock.send_to(&wrong, peer).unwrap();
            sock.send_to(b"\x00garbage", peer).unwrap();
            let other_q = build_query(question(&q).0, "other.test", RecordType::A).unwrap();
            sock.send_to(
                &reply(&other_q, 0x8180, &[(TYPE_A, vec![6, 6, 6, 7])]),
                peer,
            )
            .unwrap();
            sock.send_to(&reply(&q, 0x8180, &[(TYPE_A, vec![127, 0, 0, 5])]), peer)
                .unwrap();
        });
        let mut r = Resolver::new(addr);
        r.timeout = Duration::from_secs(2);
        let msg = r.query("spoof.test", RecordType::A).unwrap();
        assert_eq!(
            address_records(&msg, RecordType::A),
            [IpAddr::from([127, 0, 0, 5])]
        );
        handle.join().unwrap();
    }

    #[test]
    fn interrupt_ends_the_wait() {
        let srv = FakeServer::start(Box::new(|_, _| None));
        let mut r = srv.resolver();
        r.timeout = Duration::from_secs(30);
        let flag = Arc::new(AtomicBool::new(false));
        r.interrupt = Some(flag.clone());
        let setter = thread::spawn(move || {
            thread::sleep(Duration::from_millis(200));
            flag.store(true, Ordering::SeqCst);
        });
        let t0 = Instant::now();
        let e = lookup_mx("x.test", &r).unwrap_err();
        assert!(matches!(e, DnsError::Interrupted), "{e:?}");
        assert!(t0.elapsed() < Duration::from_secs(5));
        setter.join().unwrap();
    }

    #[test]
    fn server_errors_and_refused_port() {
        let srv = FakeServer::start(Box::new(|q, _| Some(reply(q, 0x8185, &[]))));
        let e = lookup_mx("x.test", &srv.resolver()).unwrap_err();
        assert!(
            matches!(e, DnsError::ServerFailure { rcode: 5, .. }),
            "{e:?}"
        );
        // Nothing listens: ICMP port unreachable shows as a refusal (or, if
        // the ICMP is lost, a timeout).
        let free = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        let mut r = Resolver::new(addr);
        r.timeout = Duration::from_millis(200);
        let e = lookup_mx("x.test", &r).unwrap_err();
        assert!(
            matches!(e, DnsError::Io { .. } | DnsError::Timeout { .. }),
            "{e:?}"
        );
    }

    #[test]
    fn malformed_answer_is_reported_after_the_wait() {
        let srv = FakeServer::start(Box::new(|q, _| {
            let mut m = reply(q, 0x8180, &[(TYPE_A, vec![1, 2, 3, 4])]);
            m.truncate(m.len() - 2);
            Some(m)
        }));
        let mut r = srv.resolver();
        r.timeout = Duration::from_millis(100);
        let e = resolve_host("bad.test", &r).unwrap_err();
        assert!(matches!(e, DnsError::Malformed { .. }), "{e:?}");
        assert!(
            e.to_string().contains("malformed answer for bad.test"),
            "{e}"
        );
    }

    #[test]
    fn one_query_per_address_family() {
        let srv = FakeServer::start(Box::new(zone));
        let r = srv.resolver();
        resolve_host("mx1.example.test", &r).unwrap();
        assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 2);
        // NXDOMAIN for both families.
        let e = resolve_host("nowhere.test", &r).unwrap_err();
        assert!(matches!(e, DnsError::NxDomain { .. }), "{e:?}");
        assert_eq!(srv.udp_queries.load(Ordering::SeqCst), 4);
    }
}
