//! The HAProxy PROXY protocol header (version 1, text; version 2,
//! binary), as a load balancer puts it before the first byte of a TCP
//! connection to tell the server who the real client is
//! (<https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt>).
//!
//! Pure functions: the bytes of a header for a source and a destination,
//! and the line the transcript shows for it. Only the `PROXY` command over
//! TCP is made (no `LOCAL`, no UNIX sockets, no TLVs): what a client
//! simulating a balancer needs.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The twelve bytes every version 2 header starts with (§2.2).
pub const V2_SIGNATURE: [u8; 12] = [
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
];

/// Which version of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Version 1: one text line, `PROXY TCP4 SRC DST SPORT DPORT\r\n`.
    V1,
    /// Version 2: binary, the signature then the addresses.
    V2,
}

impl Version {
    /// `v1` or `v2` as typed (case-insensitive; `1` and `2` too).
    pub fn parse(word: &str) -> Option<Version> {
        match word.to_ascii_lowercase().as_str() {
            "v1" | "1" => Some(Version::V1),
            "v2" | "2" => Some(Version::V2),
            _ => None,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::V1 => "v1",
            Version::V2 => "v2",
        })
    }
}

/// A source and a destination of different address families: a header
/// names one family for both (§2.1, §2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixedFamilies {
    /// The client's address.
    pub source: SocketAddr,
    /// The server's address.
    pub destination: SocketAddr,
}

impl fmt::Display for MixedFamilies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a PROXY header names one address family for both ends, but {} is {} and {} is {}",
            self.source,
            family_name(self.source.ip()),
            self.destination,
            family_name(self.destination.ip())
        )
    }
}

impl std::error::Error for MixedFamilies {}

fn family_name(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// The header telling the server that the client `source` connected to
/// `destination` over TCP. Refused when the two are of different families.
pub fn header(
    version: Version,
    source: SocketAddr,
    destination: SocketAddr,
) -> Result<Vec<u8>, MixedFamilies> {
    let mixed = MixedFamilies {
        source,
        destination,
    };
    match version {
        Version::V1 => v1_line(source, destination)
            .map(String::into_bytes)
            .ok_or(mixed),
        Version::V2 => v2(source, destination).ok_or(mixed),
    }
}

/// `PROXY TCP4 SRC DST SPORT DPORT\r\n` (§2.1).
fn v1_line(source: SocketAddr, destination: SocketAddr) -> Option<String> {
    let protocol = match (source.ip(), destination.ip()) {
        (IpAddr::V4(_), IpAddr::V4(_)) => "TCP4",
        (IpAddr::V6(_), IpAddr::V6(_)) => "TCP6",
        _ => return None,
    };
    Some(format!(
        "PROXY {protocol} {} {} {} {}\r\n",
        source.ip(),
        destination.ip(),
        source.port(),
        destination.port()
    ))
}

/// The signature, version 2 and `PROXY`, TCP over IPv4 or IPv6, the
/// length, the addresses and the ports (§2.2).
fn v2(source: SocketAddr, destination: SocketAddr) -> Option<Vec<u8>> {
    let (family, addresses): (u8, Vec<u8>) = match (source.ip(), destination.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => (0x11, [s.octets(), d.octets()].concat()),
        (IpAddr::V6(s), IpAddr::V6(d)) => (0x21, [s.octets(), d.octets()].concat()),
        _ => return None,
    };
    let length = u16::try_from(addresses.len() + 4).ok()?;
    let mut out = Vec::with_capacity(16 + usize::from(length));
    out.extend_from_slice(&V2_SIGNATURE);
    // High nibble: version 2; low nibble: the PROXY command.
    out.push(0x21);
    out.push(family);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&addresses);
    out.extend_from_slice(&source.port().to_be_bytes());
    out.extend_from_slice(&destination.port().to_be_bytes());
    Some(out)
}

/// What the transcript shows for a header: version 1 as the line sent
/// (without CRLF); version 2, which is binary, as a summary such as
/// `PROXY v2 (binary, 28 bytes): TCP4 192.0.2.10:4444 -> 127.0.0.1:25`.
pub fn describe(version: Version, source: SocketAddr, destination: SocketAddr) -> String {
    match version {
        Version::V1 => v1_line(source, destination)
            .map(|l| l.trim_end().to_string())
            .unwrap_or_default(),
        Version::V2 => {
            let (protocol, size) = if source.is_ipv4() {
                ("TCP4", 28)
            } else {
                ("TCP6", 52)
            };
            format!("PROXY v2 (binary, {size} bytes): {protocol} {source} -> {destination}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1_is_the_specs_text_line() {
        // The example of §2.1.
        let h = header(
            Version::V1,
            addr("192.168.0.1:56324"),
            addr("192.168.0.11:443"),
        )
        .unwrap();
        assert_eq!(h, b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
        // The longest line of §2.1 is 107 bytes with CRLF, for `UNKNOWN`;
        // `TCP6` is three shorter.
        let max = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535";
        let h = header(Version::V1, addr(max), addr(max)).unwrap();
        assert_eq!(h.len(), 107 - 3);
        assert!(h.starts_with(b"PROXY TCP6 ffff:ffff:"));
        assert!(h.ends_with(b" 65535 65535\r\n"));
        let h = header(Version::V1, addr("[2001:db8::1]:4444"), addr("[::1]:25")).unwrap();
        assert_eq!(h, b"PROXY TCP6 2001:db8::1 ::1 4444 25\r\n");
    }

    #[test]
    fn v2_ipv4_bytes() {
        let h = header(Version::V2, addr("192.0.2.10:4444"), addr("127.0.0.1:25")).unwrap();
        let mut want = V2_SIGNATURE.to_vec();
        want.extend_from_slice(&[0x21, 0x11, 0x00, 0x0C]);
        want.extend_from_slice(&[192, 0, 2, 10, 127, 0, 0, 1]);
        want.extend_from_slice(&[0x11, 0x5C, 0x00, 0x19]);
        assert_eq!(h, want);
        assert_eq!(h.len(), 28);
        // The signature of §2.2, spelled as the spec does.
        assert_eq!(&h[..12], b"\r\n\r\n\0\r\nQUIT\n");
    }

    #[test]
    fn v2_ipv6_bytes() {
        let h = header(Version::V2, addr("[2001:db8::10]:65535"), addr("[::1]:587")).unwrap();
        assert_eq!(h.len(), 16 + 36);
        assert_eq!(&h[12..16], &[0x21, 0x21, 0x00, 0x24]);
        let mut src = [0u8; 16];
        src[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        src[15] = 0x10;
        assert_eq!(&h[16..32], &src);
        let mut dst = [0u8; 16];
        dst[15] = 1;
        assert_eq!(&h[32..48], &dst);
        assert_eq!(&h[48..52], &[0xFF, 0xFF, 0x02, 0x4B]);
    }

    #[test]
    fn mixed_families_are_refused() {
        for v in [Version::V1, Version::V2] {
            let e = header(v, addr("192.0.2.10:1"), addr("[::1]:25")).unwrap_err();
            assert!(e.to_string().contains("192.0.2.10:1 is IPv4"), "{e}");
            assert!(e.to_string().contains("[::1]:25 is IPv6"), "{e}");
        }
    }

    #[test]
    fn transcript_forms() {
        let (s, d) = (addr("192.0.2.10:4444"), addr("127.0.0.1:25"));
        assert_eq!(
            describe(Version::V1, s, d),
            "PROXY TCP4 192.0.2.10 127.0.0.1 4444 25"
        );
        assert_eq!(
            describe(Version::V2, s, d),
            "PROXY v2 (binary, 28 bytes): TCP4 192.0.2.10:4444 -> 127.0.0.1:25"
        );
        let six = describe(Version::V2, addr("[::2]:1"), addr("[::1]:2"));
        assert!(six.starts_with("PROXY v2 (binary, 52 bytes): TCP6 [::2]:1"));
        assert_eq!(Version::parse("V2"), Some(Version::V2));
        assert_eq!(Version::parse("1"), Some(Version::V1));
        assert_eq!(Version::parse("v3"), None);
    }
}
