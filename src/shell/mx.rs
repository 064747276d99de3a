//! `connect --mx [DOMAIN] [PORT]`: find a domain's mail servers in DNS and
//! connect to the first that answers (RFC 5321 §5.1), and `set resolver`.

use super::exec::{self, FailKind, Failure, connect_failure, install};
use super::secure::{self, TlsMode};
use super::session::Session;
use crate::smtp::dns::{self, Resolver};
use crate::smtp::{ConnectOptions, Connection};
use std::net::SocketAddr;

/// The resolver the settings name, or the system's.
pub fn resolver(s: &Session) -> Result<Resolver, Failure> {
    let mut r = match s.settings.resolver {
        Some(addr) => Resolver::new(addr),
        None => Resolver::system().map_err(|e| {
            Failure {
                kind: FailKind::Connection,
                message: e.to_string(),
                hint: None,
            }
            .hint("name a DNS server: set resolver 127.0.0.1:53")
        })?,
    };
    r.interrupt = Some(s.interrupt.clone());
    Ok(r)
}

/// `set resolver ADDR` (`system` goes back to /etc/resolv.conf).
pub fn set_resolver(s: &mut Session, value: &str) -> Result<(), Failure> {
    if value.eq_ignore_ascii_case("system") {
        s.settings.resolver = None;
        s.out.note("DNS: the system's resolver (/etc/resolv.conf)");
        return Ok(());
    }
    let addr = Resolver::parse_addr(value).map_err(|e| {
        Failure::local(e).hint(
            "examples: set resolver 127.0.0.1:5353, set resolver [::1]:53, set resolver system",
        )
    })?;
    s.settings.resolver = Some(addr);
    s.out.note(&format!("DNS: {addr}"));
    Ok(())
}

/// `connect --mx [DOMAIN] [PORT]`.
pub fn connect_mx(s: &mut Session, words: &[String], mode: TlsMode) -> Result<(), Failure> {
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
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| Failure::local(format!("'{p}' is not a port number (1-65535)")))?,
        None => 25,
    };
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
        Failure {
            kind,
            message: e.to_string(),
            hint: None,
        }
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
    let tls = if implicit {
        Some(secure::tls_client(s)?)
    } else {
        None
    };
    if mode == TlsMode::StartTls || s.settings.require_tls {
        secure::tls_client(s)?;
    }
    if s.conn.is_some() {
        s.out.note("closing the current connection first");
        let _ = exec::quit_connection(s);
    }
    secure::warn_insecure(s);
    let mut last: Option<Failure> = None;
    for (host, addrs) in &targets {
        if addrs.is_empty() {
            continue;
        }
        let sockets: Vec<SocketAddr> = addrs.iter().map(|ip| SocketAddr::new(*ip, port)).collect();
        s.out.note(&format!("connecting to {host} port {port}"));
        let options = ConnectOptions {
            timeout: s.settings.timeout,
            interrupt: s.interrupt.clone(),
        };
        match Connection::open_addrs(host, &sockets, options, tls.as_ref(), &mut s.out) {
            // RFC 5321 §5.1: a 4xx greeting means "try the next MX".
            Ok((mut conn, greeting)) if greeting.code / 100 == 4 && targets.len() > 1 => {
                s.out.warn(&format!(
                    "{host} answered {}; trying the next mail server",
                    greeting.code
                ));
                let _ = conn.command(&crate::smtp::Command::quit(), &mut s.out);
                conn.close();
                last = Some(Failure {
                    kind: FailKind::Refused,
                    message: format!("{host} answered {} {}", greeting.code, greeting.text()),
                    hint: None,
                });
            }
            Ok((conn, greeting)) => {
                let r = install(s, conn, greeting, mode, implicit);
                if s.conn.is_some() {
                    s.mx = Some((domain.clone(), host.clone()));
                }
                return r;
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
        .unwrap_or_else(|| Failure {
            kind: FailKind::Connection,
            message: format!("none of the mail servers of {domain} has an address"),
            hint: None,
        })
        .hint(format!("no mail server of {domain} could be reached")))
}
