//! [`DnsError`]: why a lookup failed, as one line a user can act on.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use super::RecordType;
use crate::smtp::conn::timeout::human_duration;

/// Why a lookup failed. `Display` gives one line a user can act on.
#[derive(Debug)]
pub enum DnsError {
    /// No DNS server to ask (nothing usable in /etc/resolv.conf, or a bad
    /// resolver address).
    NoResolver {
        /// What is missing or wrong.
        reason: String,
    },
    /// The name cannot be asked for.
    BadName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The name does not exist (NXDOMAIN).
    NxDomain {
        /// The name asked for.
        name: String,
        /// The DNS server that said so.
        server: SocketAddr,
    },
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx {
        /// The domain.
        domain: String,
    },
    /// The host exists but has no A or AAAA record.
    NoAddress {
        /// The host name.
        name: String,
    },
    /// No MX records and no A/AAAA to fall back to.
    NoMailServer {
        /// The domain.
        domain: String,
    },
    /// There are MX records, but none of their hosts has an address; each
    /// host with why.
    NoUsableMx {
        /// The domain.
        domain: String,
        /// Each MX host, in preference order, with why it has no address.
        hosts: Vec<(String, DnsError)>,
    },
    /// The server answered with an error code (SERVFAIL, REFUSED, ...).
    ServerFailure {
        /// The name asked for.
        name: String,
        /// The record type asked for.
        rtype: RecordType,
        /// The DNS server.
        server: SocketAddr,
        /// The response code (RFC 1035 §4.1.1: 1 FORMERR, 2 SERVFAIL, 4
        /// NOTIMP, 5 REFUSED, ...).
        rcode: u8,
    },
    /// No answer within the timeout, after every attempt.
    Timeout {
        /// The name asked for.
        name: String,
        /// The record type asked for.
        rtype: RecordType,
        /// The DNS server.
        server: SocketAddr,
        /// How long we waited in all.
        waited: Duration,
        /// How many times we asked.
        attempts: u32,
    },
    /// A socket error talking to the server.
    Io {
        /// The DNS server.
        server: SocketAddr,
        /// The socket error.
        source: io::Error,
    },
    /// The answer could not be parsed.
    Malformed {
        /// The name asked for.
        name: String,
        /// The DNS server.
        server: SocketAddr,
        /// What is wrong with the answer.
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
                human_duration(*waited),
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
