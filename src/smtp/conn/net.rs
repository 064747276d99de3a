//! How a TCP connection is made beyond host and port: the address family
//! (`-4`/`-6`), the local address it comes from (`--source`, bound with
//! socket2 before connecting: std's `TcpStream` cannot), and the HAProxy
//! PROXY header sent before anything else (`--proxy-header`).

use super::ConnError;
use crate::smtp::proxy::{self, Version};
use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// An IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 (`-4`, `--ipv4`).
    V4,
    /// IPv6 (`-6`, `--ipv6`).
    V6,
}

impl Family {
    /// The family of `addr`.
    pub fn of(addr: SocketAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
    /// `IPv4` or `IPv6`.
    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
    /// The option that asks for it (`--ipv4`, `--ipv6`).
    pub fn option(self) -> &'static str {
        match self {
            Family::V4 => "--ipv4",
            Family::V6 => "--ipv6",
        }
    }
}

/// The PROXY header to send first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyHeader {
    /// Version 1 (text) or 2 (binary).
    pub version: Version,
    /// The client and server addresses it names (`--proxy-from`,
    /// `--proxy-to`); `None`: those of the TCP connection itself.
    pub addresses: Option<(SocketAddr, SocketAddr)>,
}

/// How to make the TCP connection: nothing set is a plain connect to every
/// address of the host in turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetOptions {
    /// Only addresses of this family are tried.
    pub family: Option<Family>,
    /// The local address (and port, 0: any) bound before connecting.
    pub source: Option<SocketAddr>,
    /// The PROXY header sent before the greeting is read (and before
    /// implicit TLS).
    pub proxy: Option<ProxyHeader>,
}

impl NetOptions {
    /// Whether anything differs from a plain connect.
    pub fn is_plain(&self) -> bool {
        *self == NetOptions::default()
    }

    /// The addresses of `host` worth trying: those of the family asked
    /// for, and of the source address's family. Fails (nothing tried) when
    /// none is left, saying why.
    pub(super) fn choose(
        &self,
        host: &str,
        addrs: Vec<SocketAddr>,
    ) -> Result<Vec<SocketAddr>, ConnError> {
        if let (Some(family), Some(source)) = (self.family, self.source)
            && Family::of(source) != family
        {
            return Err(ConnError::Route(format!(
                "the source address {} is {}, but {} asks for {} addresses only",
                source.ip(),
                Family::of(source).name(),
                family.option(),
                family.name()
            )));
        }
        let wanted = self.family.or(self.source.map(Family::of));
        let Some(wanted) = wanted else {
            return Ok(addrs);
        };
        let (kept, other): (Vec<SocketAddr>, Vec<SocketAddr>) =
            addrs.into_iter().partition(|a| Family::of(*a) == wanted);
        if !kept.is_empty() {
            return Ok(kept);
        }
        let found: Vec<String> = other.iter().map(|a| a.ip().to_string()).collect();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let what = if literal.parse::<std::net::IpAddr>().is_ok() {
            format!("{literal} is an {} address", Family::of(other[0]).name())
        } else {
            format!(
                "{host} has no {} address (only {})",
                wanted.name(),
                found.join(", ")
            )
        };
        Err(ConnError::Route(match (self.family, self.source) {
            (Some(family), _) => {
                format!("{what}, and {} asks for {}", family.option(), family.name())
            }
            (None, Some(source)) => format!(
                "{what}, and the source address {} is {}: a connection cannot mix the two",
                source.ip(),
                wanted.name()
            ),
            (None, None) => what,
        }))
    }

    /// A TCP connection to `addr` within `timeout`, from the source
    /// address when one is set.
    pub(super) fn connect(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let Some(source) = self.source else {
            return TcpStream::connect_timeout(&addr, timeout);
        };
        let socket = socket2::Socket::new(
            socket2::Domain::for_address(addr),
            socket2::Type::STREAM,
            Some(socket2::Protocol::TCP),
        )?;
        socket
            .bind(&source.into())
            .map_err(|e| io::Error::new(e.kind(), BindError { source, error: e }))?;
        socket.connect_timeout(&addr.into(), timeout)?;
        Ok(socket.into())
    }

    /// Sends the PROXY header, if one is asked for, on a fresh connection
    /// from `local` to `peer`; returns what the transcript shows for it.
    pub(super) fn send_proxy(
        &self,
        stream: &mut TcpStream,
        local: SocketAddr,
        peer: SocketAddr,
        timeout: Duration,
    ) -> Result<Option<String>, ConnError> {
        let Some(p) = self.proxy else {
            return Ok(None);
        };
        let (from, to) = p.addresses.unwrap_or((local, peer));
        let bytes = proxy::header(p.version, from, to).map_err(ConnError::Proxy)?;
        stream
            .set_write_timeout(Some(timeout))
            .and_then(|()| stream.write_all(&bytes))
            .and_then(|()| stream.flush())
            .map_err(ConnError::Io)?;
        Ok(Some(proxy::describe(p.version, from, to)))
    }
}

/// Binding the source address failed: carried inside the `io::Error` of
/// a connect attempt, so the caller can tell it from a refused connection.
#[derive(Debug)]
pub struct BindError {
    /// The address that could not be bound.
    pub source: SocketAddr,
    /// Why.
    pub error: io::Error,
}

impl std::fmt::Display for BindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot bind {}: {}", self.source, self.error)
    }
}

impl std::error::Error for BindError {}

/// The bind failure inside a connect error, as its own [`ConnError`].
pub(super) fn bind_failure(e: io::Error) -> Result<ConnError, io::Error> {
    if !e.get_ref().is_some_and(|inner| inner.is::<BindError>()) {
        return Err(e);
    }
    match e.into_inner().map(|inner| inner.downcast::<BindError>()) {
        Some(Ok(b)) => Ok(ConnError::Bind {
            addr: b.source,
            source: b.error,
        }),
        Some(Err(other)) => Err(io::Error::other(other)),
        None => Err(io::Error::other("bind failed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn both() -> Vec<SocketAddr> {
        vec![a("[::1]:25"), a("127.0.0.1:25")]
    }

    #[test]
    fn family_keeps_its_addresses() {
        let four = NetOptions {
            family: Some(Family::V4),
            ..NetOptions::default()
        };
        assert_eq!(
            four.choose("localhost", both()).unwrap(),
            vec![a("127.0.0.1:25")]
        );
        let six = NetOptions {
            family: Some(Family::V6),
            ..NetOptions::default()
        };
        assert_eq!(
            six.choose("localhost", both()).unwrap(),
            vec![a("[::1]:25")]
        );
        assert_eq!(NetOptions::default().choose("x", both()).unwrap(), both());
    }

    #[test]
    fn no_address_of_the_family_is_an_error_naming_the_option() {
        let six = NetOptions {
            family: Some(Family::V6),
            ..NetOptions::default()
        };
        let e = six
            .choose("mail.example", vec![a("192.0.2.1:25")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mail.example has no IPv6 address (only 192.0.2.1)"),
            "{e}"
        );
        assert!(e.contains("--ipv6"), "{e}");
        let e = six
            .choose("127.0.0.1", vec![a("127.0.0.1:25")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("127.0.0.1 is an IPv4 address"), "{e}");
    }

    #[test]
    fn the_source_chooses_the_family_too() {
        let src = NetOptions {
            source: Some(a("127.0.0.2:0")),
            ..NetOptions::default()
        };
        assert_eq!(
            src.choose("localhost", both()).unwrap(),
            vec![a("127.0.0.1:25")]
        );
        let e = src
            .choose("::1", vec![a("[::1]:25")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("::1 is an IPv6 address"), "{e}");
        assert!(e.contains("source address 127.0.0.2 is IPv4"), "{e}");
        let clash = NetOptions {
            source: Some(a("127.0.0.2:0")),
            family: Some(Family::V6),
            ..NetOptions::default()
        };
        let e = clash.choose("localhost", both()).unwrap_err().to_string();
        assert!(e.contains("127.0.0.2 is IPv4, but --ipv6"), "{e}");
    }

    #[test]
    fn a_source_not_on_this_machine_is_a_bind_error() {
        let src = NetOptions {
            // TEST-NET-1: never an address of this machine.
            source: Some(a("192.0.2.1:0")),
            ..NetOptions::default()
        };
        let e = src
            .connect(a("127.0.0.1:9"), Duration::from_secs(1))
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrNotAvailable);
        let conn = bind_failure(e).expect("a bind failure");
        let text = conn.to_string();
        assert!(text.contains("192.0.2.1"), "{text}");
        assert!(text.contains("not an address of this machine"), "{text}");
    }
}
