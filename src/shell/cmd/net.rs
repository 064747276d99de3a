//! `connect`'s network options: the address family (`--ipv4`/`-4`,
//! `--ipv6`/`-6`), the source address (`--source`) and the HAProxy PROXY
//! header (`--proxy-header`, `--proxy-from`, `--proxy-to`), read into the
//! [`NetOptions`] a [`Target`](crate::shell::session::Target) keeps.

use crate::shell::args::Args;
use crate::shell::failure::Failure;
use crate::smtp::conn::{Family, NetOptions, ProxyHeader};
use crate::smtp::proxy::Version;
use std::net::{IpAddr, SocketAddr};

/// The network options of a `connect` line, over `base` (the last
/// connection's, for `connect` alone; the default otherwise): an option
/// given replaces what `base` had.
pub fn from_args(a: &Args, base: NetOptions) -> Result<NetOptions, Failure> {
    let mut net = base;
    match (a.flag("--ipv4"), a.flag("--ipv6")) {
        (true, true) => {
            return Err(
                Failure::local("--ipv4 (-4) and --ipv6 (-6) exclude each other")
                    .hint("give one of them: -4 tries only IPv4 addresses, -6 only IPv6"),
            );
        }
        (true, false) => net.family = Some(Family::V4),
        (false, true) => net.family = Some(Family::V6),
        (false, false) => {}
    }
    if let Some(source) = a.opt("--source") {
        net.source = Some(parse_source(source)?);
    }
    let version = a.opt("--proxy-header").map(parse_version).transpose()?;
    let from = a
        .opt("--proxy-from")
        .map(|v| parse_endpoint(v, "--proxy-from"))
        .transpose()?;
    let to = a
        .opt("--proxy-to")
        .map(|v| parse_endpoint(v, "--proxy-to"))
        .transpose()?;
    let addresses = match (from, to) {
        (Some(f), Some(t)) => {
            if f.is_ipv4() != t.is_ipv4() {
                return Err(Failure::local(format!(
                    "--proxy-from {f} and --proxy-to {t} are of different address families"
                ))
                .hint("a PROXY header names one family for both ends: give two IPv4 or two IPv6 addresses"));
            }
            Some((f, t))
        }
        (None, None) => None,
        _ => {
            return Err(Failure::local("--proxy-from and --proxy-to go together")
                .hint("example: --proxy-header v1 --proxy-from 192.0.2.10:4444 --proxy-to 192.0.2.1:25"));
        }
    };
    match (version, addresses) {
        (Some(version), addresses) => {
            net.proxy = Some(ProxyHeader { version, addresses });
        }
        (None, Some(addresses)) => match net.proxy.as_mut() {
            // `connect --proxy-from ...` alone: the last connection's header, new addresses.
            Some(p) => p.addresses = Some(addresses),
            None => {
                return Err(Failure::local("--proxy-from and --proxy-to need --proxy-header v1|v2")
                    .hint("example: connect HOST PORT --proxy-header v2 --proxy-from 192.0.2.10:4444 --proxy-to 192.0.2.1:25"));
            }
        },
        (None, None) => {}
    }
    Ok(net)
}

/// Whether the line gives any network option.
pub fn any(a: &Args) -> bool {
    [
        "--ipv4",
        "--ipv6",
        "--source",
        "--proxy-header",
        "--proxy-from",
        "--proxy-to",
    ]
    .iter()
    .any(|o| a.flag(o))
}

fn parse_version(v: &str) -> Result<Version, Failure> {
    Version::parse(v).ok_or_else(|| {
        Failure::local(format!("'{v}' is not a PROXY header version"))
            .hint("--proxy-header v1 (text) or --proxy-header v2 (binary)")
    })
}

/// `ADDR` or `ADDR:PORT` (`[IPv6]:PORT`, or a bare IPv6 address).
pub fn parse_source(v: &str) -> Result<SocketAddr, Failure> {
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 0));
    }
    let bare = v.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 0));
    }
    v.parse::<SocketAddr>().map_err(|_| {
        Failure::local(format!("'{v}' is not an IP address (or ADDR:PORT)"))
            .hint("--source takes this machine's address: --source 192.0.2.7, --source [2001:db8::7]:2525")
    })
}

/// `ADDR:PORT` or `[IPv6]:PORT`.
fn parse_endpoint(v: &str, option: &str) -> Result<SocketAddr, Failure> {
    v.parse::<SocketAddr>().map_err(|_| {
        Failure::local(format!("'{v}' is not ADDR:PORT (for {option})")).hint(format!(
            "example: {option} 192.0.2.10:4444, or {option} [2001:db8::10]:4444"
        ))
    })
}

/// How the options read back, for `status`: `IPv4 only, from 127.0.0.2,
/// PROXY v1 header (192.0.2.10:4444 -> 192.0.2.1:25)`; `None` when all
/// are defaults.
pub fn describe(net: &NetOptions) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(f) = net.family {
        parts.push(format!("{} only", f.name()));
    }
    if let Some(s) = net.source {
        parts.push(if s.port() == 0 {
            format!("from {}", s.ip())
        } else {
            format!("from {s}")
        });
    }
    if let Some(p) = net.proxy {
        parts.push(match p.addresses {
            Some((f, t)) => format!("PROXY {} header ({f} -> {t})", p.version),
            None => format!(
                "PROXY {} header (the connection's own addresses)",
                p.version
            ),
        });
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::args::parse_line;

    fn net(line: &str) -> Result<NetOptions, String> {
        let (_, a) = parse_line(line).map_err(|f| f.message)?;
        from_args(&a, NetOptions::default()).map_err(|f| f.message)
    }

    #[test]
    fn options_read() {
        let n = net("connect localhost 25 -4").unwrap();
        assert_eq!(n.family, Some(Family::V4));
        let n = net("connect localhost 25 --ipv6 --source ::1").unwrap();
        assert_eq!(n.family, Some(Family::V6));
        assert_eq!(n.source, Some("[::1]:0".parse().unwrap()));
        let n = net("connect h --source 127.0.0.2:2525").unwrap();
        assert_eq!(n.source, Some("127.0.0.2:2525".parse().unwrap()));
        let n =
            net("connect h --proxy-header v2 --proxy-from 192.0.2.10:4444 --proxy-to 192.0.2.1:25")
                .unwrap();
        let p = n.proxy.unwrap();
        assert_eq!(p.version, Version::V2);
        assert_eq!(
            p.addresses,
            Some((
                "192.0.2.10:4444".parse().unwrap(),
                "192.0.2.1:25".parse().unwrap()
            ))
        );
        assert_eq!(net("connect h").unwrap(), NetOptions::default());
    }

    #[test]
    fn bad_options_are_refused() {
        let e = |l: &str| net(l).unwrap_err();
        assert!(e("connect h -4 -6").contains("exclude each other"));
        assert!(e("connect h --source nowhere").contains("not an IP address"));
        assert!(e("connect h --proxy-header v3").contains("not a PROXY header version"));
        assert!(e("connect h --proxy-header v1 --proxy-from 1.2.3.4:5").contains("go together"));
        assert!(
            e("connect h --proxy-from 1.2.3.4:5 --proxy-to 1.2.3.4:6")
                .contains("need --proxy-header")
        );
        assert!(
            e("connect h --proxy-header v1 --proxy-from 1.2.3.4 --proxy-to 1.2.3.4:6")
                .contains("not ADDR:PORT")
        );
        assert!(
            e("connect h --proxy-header v2 --proxy-from 192.0.2.1:1 --proxy-to [::1]:25")
                .contains("different address families")
        );
    }

    #[test]
    fn reconnect_keeps_what_is_not_given() {
        let (_, a) =
            parse_line("connect --proxy-from 192.0.2.9:1 --proxy-to 192.0.2.1:25").unwrap();
        let base = NetOptions {
            family: Some(Family::V4),
            proxy: Some(ProxyHeader {
                version: Version::V1,
                addresses: None,
            }),
            ..NetOptions::default()
        };
        let n = from_args(&a, base).unwrap();
        assert_eq!(n.family, Some(Family::V4));
        let p = n.proxy.unwrap();
        assert_eq!(p.version, Version::V1);
        assert!(p.addresses.is_some());
        assert_eq!(
            describe(&n).unwrap(),
            "IPv4 only, PROXY v1 header (192.0.2.9:1 -> 192.0.2.1:25)"
        );
    }
}
