//! [`Resolver`]: where and how to ask, and the sockets that ask. UDP first,
//! with a timeout per attempt; a truncated answer (TC bit) is asked again
//! over TCP. Every wait is cut into [`SLICE`]s so that the interrupt flag
//! (Ctrl-C) is seen within 100 ms. The message format is `wire`'s.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::rr::Name;

use super::wire::{self, Answer, Rejected};
use super::{DEFAULT_ATTEMPTS, DEFAULT_TIMEOUT, DNS_PORT, DnsError, RecordType, normalize_name};
use crate::smtp::conn::timeout::{SLICE, still_waiting};

/// Largest UDP answer accepted (we send no EDNS, so servers keep to 512;
/// some send more anyway).
const UDP_BUFFER: usize = 4096;

/// One question on its way: what a reply must match.
struct Asked {
    /// The query ID.
    id: u16,
    /// The name as normalised (for error messages).
    name: String,
    /// The same name on the wire.
    qname: Name,
    rtype: RecordType,
}

impl Asked {
    fn check(&self, reply: &[u8]) -> Result<Answer, Rejected> {
        wire::parse_answer(reply, self.id, &self.qname, self.rtype)
    }
}

/// A query ID from the operating system's random generator.
fn random_id() -> Result<u16, getrandom::Error> {
    let mut id = [0u8; 2];
    getrandom::fill(&mut id)?;
    Ok(u16::from_ne_bytes(id))
}

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

    /// Ask for `name`/`rtype`; the decoded answer, checked against the
    /// query, with its rcode handled (NXDOMAIN and other error codes are
    /// errors).
    pub(super) fn query(&self, name: &str, rtype: RecordType) -> Result<Answer, DnsError> {
        let name = normalize_name(name)?;
        let qname = wire::query_name(&name)?;
        let id = random_id().map_err(|e| {
            self.io_err(io::Error::other(format!(
                "the system's random generator failed: {e}"
            )))
        })?;
        let asked = Asked {
            id,
            name,
            qname,
            rtype,
        };
        let query = wire::build_query(id, &asked.qname, rtype)?;
        let msg = self.exchange_udp(&query, &asked)?;
        let msg = if msg.truncated {
            self.exchange_tcp(&query, &asked)?
        } else {
            msg
        };
        match msg.rcode {
            0 => Ok(msg),
            3 => Err(DnsError::NxDomain {
                name: asked.name,
                server: self.server,
            }),
            rcode => Err(DnsError::ServerFailure {
                name: asked.name,
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

    fn exchange_udp(&self, query: &[u8], asked: &Asked) -> Result<Answer, DnsError> {
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
                    Ok(n) => match asked.check(buf.get(..n).unwrap_or_default()) {
                        Ok(msg) => return Ok(msg),
                        // Not an answer to this query: keep waiting.
                        Err(Rejected::Mismatch(_)) => {}
                        Err(Rejected::Malformed(reason)) => malformed = Some(reason),
                    },
                    Err(e) if still_waiting(&e) => {}
                    Err(e) => return Err(self.io_err(e)),
                }
            }
        }
        if let Some(reason) = malformed {
            return Err(DnsError::Malformed {
                name: asked.name.clone(),
                server: self.server,
                reason,
            });
        }
        Err(DnsError::Timeout {
            name: asked.name.clone(),
            rtype: asked.rtype,
            server: self.server,
            waited: timeout.saturating_mul(attempts),
            attempts,
        })
    }

    fn exchange_tcp(&self, query: &[u8], asked: &Asked) -> Result<Answer, DnsError> {
        let timeout = self.timeout.max(Duration::from_millis(1));
        let timed_out = || DnsError::Timeout {
            name: asked.name.clone(),
            rtype: asked.rtype,
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
            name: asked.name.clone(),
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
        match asked.check(&body) {
            Ok(msg) => Ok(msg),
            Err(Rejected::Mismatch(reason) | Rejected::Malformed(reason)) => {
                Err(DnsError::Malformed {
                    name: asked.name.clone(),
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
            match stream.read(buf.get_mut(got..).unwrap_or_default()) {
                Ok(0) => {
                    return Err(Some(self.io_err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the TCP connection before the whole answer",
                    ))));
                }
                Ok(n) => got += n,
                Err(e) if still_waiting(&e) => {}
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
