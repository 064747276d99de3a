//! `connect --mx [DOMAIN] [PORT]`: find a domain's mail servers in DNS and
//! connect to the first that answers (RFC 5321 §5.1).

use super::connect::{close_current, connect_failure, connect_options, install, parse_port};
use super::tls::{self as secure, TlsMode};
use super::tls_options::TlsControls;
use crate::shell::failure::{FailKind, Failure};
use crate::shell::session::{MxFound, Session, Target};
use crate::smtp::Connection;
use crate::smtp::dns::{self, Resolver};
use std::net::SocketAddr;

/// The resolver the settings name, or the system's.
pub fn resolver(s: &Session) -> Result<Resolver, Failure> {
    let mut r = match s.settings.resolver {
        Some(addr) => Resolver::new(addr),
        None => Resolver::system().map_err(|e| {
            Failure::new(FailKind::Connection, e.to_string())
                .hint("name a DNS server: set resolver 127.0.0.1:53")
        })?,
    };
    r.interrupt = Some(s.interrupt.clone());
    Ok(r)
}

/// `connect --mx [DOMAIN] [PORT]`.
pub fn connect_mx(
    s: &mut Session,
    words: &[String],
    mode: TlsMode,
    net: crate::smtp::conn::NetOptions,
    controls: TlsControls,
) -> Result<(), Failure> {
    let (domain, port) = match words {
        [] => (None, None),
        [one] if one.parse::<u16>().is_ok() => (None, Some(one.as_str())),
        [d] => (Some(d.as_str()), None),
        [d, p, ..] => (Some(d.as_str()), Some(p.as_str())),
    };
    let domain = match domain {
        Some(d) => d.trim_start_matches('@').to_string(),
        None => s
            .draft
            .recipients()
            .first()
            .map(|a| a.domain().to_string())
            .ok_or_else(|| {
                Failure::local("connect --mx needs a domain, or a recipient in the draft")
                    .hint("example: connect --mx example.com (or `to bob@example.com` first)")
            })?,
    };
    if domain.is_empty() || domain.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Failure::local(format!("'{domain}' is not a domain name")));
    }
    let port = port.map_or(Ok(25), parse_port)?;
    let resolver = resolver(s)?;
    s.out.note(&format!(
        "looking up the mail servers of {domain} (DNS {})",
        resolver.server
    ));
    let targets = dns::mx_targets(&domain, &resolver).map_err(|e| {
        let kind = if matches!(e, dns::DnsError::Interrupted) {
            FailKind::Interrupted
        } else {
            FailKind::Connection
        };
        Failure::new(kind, e.to_string())
    })?;
    for (host, addrs) in &targets {
        let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        s.out.note(&format!(
            "  {host}: {}",
            if list.is_empty() {
                "no addresses".to_string()
            } else {
                list.join(", ")
            }
        ));
    }
    let implicit = secure::is_implicit(mode, port);
    let client = secure::client_for(s, mode, port, &controls)?;
    let tls = client.filter(|_| implicit);
    close_current(s);
    secure::warn_insecure(s, &controls);
    let mut last: Option<Failure> = None;
    for (host, addrs) in &targets {
        if addrs.is_empty() {
            continue;
        }
        let sockets: Vec<SocketAddr> = addrs.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
        s.out.note(&format!("connecting to {host} port {port}"));
        let mut options = connect_options(s);
        options.net = net.clone();
        match Connection::open_addrs(host, &sockets, options, tls.as_ref(), &mut s.out) {
            // RFC 5321 §5.1: a 4xx greeting means "try the next MX".
            Ok((mut conn, greeting)) if greeting.code / 100 == 4 && targets.len() > 1 => {
                s.out.warn(&format!(
                    "{host} answered {}; trying the next mail server",
                    greeting.code
                ));
                let _ = conn.command(&crate::smtp::Command::quit(), &mut s.out);
                conn.close();
                last = Some(Failure::new(
                    FailKind::Refused,
                    format!("{host} answered {} {}", greeting.code, greeting.text()),
                ));
            }
            Ok((conn, greeting)) => {
                let target = Target {
                    host: host.clone(),
                    port,
                    mode,
                    net,
                    tls: controls.clone(),
                    profile: None,
                    lmtp: false,
                    socket: None,
                };
                let mx = MxFound {
                    domain: domain.clone(),
                    host: host.clone(),
                };
                return install(s, conn, &greeting, target, Some(mx));
            }
            Err(e) => {
                if matches!(e, crate::smtp::ConnError::Interrupted) {
                    return Err(connect_failure(e, implicit, port));
                }
                s.out.warn(&format!("{host}: {e}"));
                last = Some(connect_failure(e, implicit, port));
            }
        }
    }
    Err(last
        .unwrap_or_else(|| {
            Failure::new(
                FailKind::Connection,
                format!("none of the mail servers of {domain} has an address"),
            )
        })
        .hint(format!("no mail server of {domain} could be reached")))
}
