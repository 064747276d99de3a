//! `connect`, `quit` and `exit`: opening a connection (TLS as asked),
//! judging the greeting, closing with QUIT, and leaving the shell.

use super::tls::{self, TlsMode};
use crate::shell::args::Args;
use crate::shell::failure::{FailKind, Failure, judge};
use crate::shell::input::Input;
use crate::shell::session::{Live, MxFound, Session, Target, format_peer};
use crate::smtp::conn::NetOptions;
use crate::smtp::{Command, ConnError, ConnectOptions, Connection, Reply};
use std::time::Duration;

/// `connect [HOST [PORT] | unix:PATH] [--tls|--starttls] [--lmtp] | connect --mx ... | connect sandbox`.
pub fn connect(s: &mut Session, a: Args) -> Result<(), Failure> {
    let lmtp = a.flag("--lmtp");
    if a.words.len() == 1 && a.words[0].eq_ignore_ascii_case("sandbox") {
        if lmtp {
            return Err(Failure::local("the sandbox speaks SMTP, not LMTP")
                .hint("`connect sandbox` without --lmtp"));
        }
        return super::inbox::connect_sandbox(s);
    }
    let mode = tls::mode_from_flags(a.flag("--tls"), a.flag("--starttls"))?;
    // A new target starts from the command line's TLS controls; `connect`
    // alone from the last target's.
    let fresh = s.settings.tls.with_args(&a)?;
    if a.flag("--mx") {
        if lmtp {
            return Err(Failure::local(
                "--lmtp does not go with --mx: the mail servers an MX lookup finds speak SMTP",
            )
            .hint("connect --lmtp HOST PORT, or connect --lmtp unix:/path/to/socket"));
        }
        let net = super::net::from_args(&a, NetOptions::default())?;
        return super::mx::connect_mx(s, &a.words, mode, net, fresh);
    }
    let Some(host) = a.words.first() else {
        return reconnect(s, mode, &a);
    };
    if let Some(mut target) = profile_target(s, &a.words)? {
        if mode != TlsMode::Auto {
            target.mode = mode;
        }
        target.net = super::net::from_args(&a, target.net)?;
        target.tls = target.tls.with_args(&a)?;
        target.lmtp |= lmtp;
        return open(s, target);
    }
    let target = parse_target(host, a.words.get(1).map(String::as_str), mode, lmtp)?;
    let net = super::net::from_args(&a, NetOptions::default())?;
    let maybe_profile = a.words.len() == 1 && s.profiles.error.is_some();
    open(
        s,
        Target {
            net,
            tls: fresh,
            ..target
        },
    )
    .map_err(|f| {
        if maybe_profile {
            f.also(format!(
                "if {} is a profile: the config file has an error (`connect @{}` says which)",
                a.words[0], a.words[0]
            ))
        } else {
            f
        }
    })
}

/// `connect NAME` and `connect @NAME`: the target of the profile one word
/// names. `@NAME` is always a profile; a bare word is one when a profile
/// has that name (it wins over a host spelt the same: `connect NAME 25`,
/// with a port, is always the host).
pub fn profile_target(s: &Session, words: &[String]) -> Result<Option<Target>, Failure> {
    match words {
        [word] => match word.strip_prefix('@') {
            Some(name) => s
                .profiles
                .get(name)
                .map(|p| Some(p.target(&s.settings.tls))),
            None => Ok(s
                .profiles
                .map
                .get(word.as_str())
                .map(|p| p.target(&s.settings.tls))),
        },
        [word, ..] if word.starts_with('@') => Err(Failure::local(format!(
            "{word} is a profile: it has its own port"
        ))
        .hint(format!("connect {word}"))),
        _ => Ok(None),
    }
}

/// The target of `connect WORD [PORT]` (and of `smtpsh WORD [PORT]`):
/// `unix:/path` is a UNIX-domain socket, anything else HOST [PORT]; no
/// network options, default TLS controls (the caller sets them).
pub fn parse_target(
    word: &str,
    port: Option<&str>,
    mode: TlsMode,
    lmtp: bool,
) -> Result<Target, Failure> {
    let target = |host, port, socket| Target {
        host,
        port,
        mode,
        net: NetOptions::default(),
        tls: Default::default(),
        profile: None,
        lmtp,
        socket,
    };
    let Some(path) = word.strip_prefix("unix:") else {
        let (host, port) = parse_host_port(word, port)?;
        return Ok(target(host, port, None));
    };
    if path.is_empty() || path.chars().any(char::is_control) {
        return Err(
            Failure::local("`unix:` needs the socket's path, without control characters")
                .hint("example: connect --lmtp unix:/var/run/dovecot/lmtp"),
        );
    }
    if let Some(p) = port {
        return Err(Failure::local(format!(
            "a UNIX socket has no port (got '{p}' after unix:{path})"
        ))
        .hint("connect unix:/path/to/socket [--lmtp]"));
    }
    if mode != TlsMode::Auto {
        return Err(unix_tls_refusal());
    }
    Ok(target(
        "localhost".to_string(),
        0,
        Some(std::path::PathBuf::from(path)),
    ))
}

/// Why TLS is not offered over a UNIX socket.
pub fn unix_tls_refusal() -> Failure {
    Failure::local(
        "TLS over a UNIX socket is not supported: a certificate is checked against a host name, \
         and a socket path has none",
    )
    .hint("a UNIX socket never leaves this machine; connect without --tls/--starttls, or use the server's TCP port for TLS")
}

/// `connect` alone: the last server again (its TLS mode, network options
/// and TLS controls, changed by those given; LMTP when it was, or when
/// `--lmtp` is given now).
fn reconnect(s: &mut Session, mode: TlsMode, a: &Args) -> Result<(), Failure> {
    let Some(mut target) = s.last_target.clone() else {
        return Err(Failure::local("usage: connect HOST [PORT]")
            .hint("example: connect 127.0.0.1 2525 (or `connect sandbox`, or `connect NAME` for a profile)"));
    };
    if mode != TlsMode::Auto {
        if target.socket.is_some() {
            return Err(unix_tls_refusal());
        }
        target.mode = mode;
    }
    target.net = super::net::from_args(a, target.net)?;
    target.tls = target.tls.with_args(a)?;
    target.lmtp |= a.flag("--lmtp");
    // The sandbox's own way (greeted at once), unless options ask for more.
    if target.net.is_plain()
        && a.opts.is_empty()
        && target.socket.is_none()
        && s.sandbox
            .as_ref()
            .is_some_and(|sb| target.host == "127.0.0.1" && target.port == sb.port())
    {
        return super::inbox::connect_sandbox(s);
    }
    open(s, target)
}

/// A port number as typed (1-65535).
pub fn parse_port(p: &str) -> Result<u16, Failure> {
    p.parse::<u16>().ok().filter(|&n| n > 0).ok_or_else(|| {
        Failure::local(format!("'{p}' is not a port number (1-65535)"))
            .hint("example: connect 127.0.0.1 2525")
    })
}

/// Splits `HOST`, `HOST PORT`, `HOST:PORT`, `[V6]:PORT`, `V6`, `V6 PORT`.
pub fn parse_host_port(host: &str, port: Option<&str>) -> Result<(String, u16), Failure> {
    if host.chars().any(char::is_control) || host.is_empty() {
        return Err(Failure::local(
            "the host name is empty or contains a control character",
        ));
    }
    let (h, p) = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, "")) => (h.to_string(), None),
            Some((h, tail)) => match tail.strip_prefix(':') {
                Some(p) => (h.to_string(), Some(parse_port(p)?)),
                None => {
                    return Err(Failure::local(format!(
                        "cannot read '{host}' as [IPv6]:PORT"
                    )));
                }
            },
            None => return Err(Failure::local(format!("unbalanced '[' in '{host}'"))),
        }
    } else if let Some((h, p)) = host
        .split_once(':')
        .filter(|_| host.matches(':').count() == 1)
    {
        (h.to_string(), Some(parse_port(p)?))
    } else {
        (host.to_string(), None)
    };
    let p = match (p, port) {
        (Some(_), Some(_)) => {
            return Err(
                Failure::local("the port is given twice").hint("usage: connect HOST [PORT]")
            );
        }
        (Some(p), None) => p,
        (None, Some(p)) => parse_port(p)?,
        (None, None) => 25,
    };
    Ok((h, p))
}

/// The options every connection is opened with.
pub fn connect_options(s: &Session) -> ConnectOptions {
    ConnectOptions {
        timeout: s.settings.timeout,
        interrupt: s.interrupt.clone(),
        net: Default::default(),
    }
}

/// Opens a connection to `target` (closing any old one with QUIT), with
/// TLS as its mode says: implicit TLS (`--tls`, or port 465 in `Auto`),
/// or plaintext upgraded with STARTTLS right after the greeting and EHLO
/// (`--starttls`, or `require-tls` in `Auto`).
pub fn open(s: &mut Session, target: Target) -> Result<(), Failure> {
    if let Some(path) = target.socket.clone() {
        return open_unix(s, &path, target);
    }
    let implicit = tls::is_implicit(target.mode, target.port);
    let client = tls::client_for(s, target.mode, target.port, &target.tls)?;
    if client.is_none() && (target.tls.cert.is_some() || target.tls.cafile.is_some()) {
        // A later `starttls` uses them: an unreadable file fails now.
        tls::tls_client(s, &target.tls)?;
    }
    close_current(s);
    s.out.note(&format!(
        "connecting to {}{}{}",
        format_peer(&target.host, target.port),
        target
            .profile
            .as_deref()
            .map(|p| format!(" (profile {p})"))
            .unwrap_or_default(),
        if target.lmtp { " (LMTP)" } else { "" }
    ));
    tls::warn_insecure(s, &target.tls);
    let mut options = connect_options(s);
    options.net = target.net.clone();
    let opened = match client.as_ref().filter(|_| implicit) {
        Some(client) => {
            Connection::open_tls(&target.host, target.port, options, client, &mut s.out)
        }
        None => Connection::open(&target.host, target.port, options, &mut s.out),
    };
    match opened {
        Ok((mut conn, greeting)) => {
            if target.lmtp {
                conn.set_lmtp();
            }
            let hint = (target.net.proxy.is_none() && awaits_proxy_header(&greeting))
                .then(|| proxy_suggestion(&target));
            install(s, conn, &greeting, target, None).map_err(|f| match hint {
                Some(h) => f.also(h),
                None => f,
            })
        }
        Err(e) => Err(proxy_hint(
            connect_failure(e, implicit, target.port),
            &target,
        )),
    }
}

/// [`open`] for a UNIX-domain socket (no TLS: see [`unix_tls_refusal`];
/// none of the network options, which are about TCP and IP).
fn open_unix(s: &mut Session, path: &std::path::Path, target: Target) -> Result<(), Failure> {
    if !target.net.is_plain() {
        return Err(Failure::local(
            "-4, -6, --source and --proxy-header are about TCP/IP: they do not apply to a UNIX socket",
        )
        .hint("connect unix:/path/to/socket [--lmtp]"));
    }
    close_current(s);
    s.out.note(&format!(
        "connecting to {}{}",
        target.label(),
        if target.lmtp { " (LMTP)" } else { "" }
    ));
    match Connection::open_unix(path, connect_options(s), &mut s.out) {
        Ok((mut conn, greeting)) => {
            if target.lmtp {
                conn.set_lmtp();
            }
            install(s, conn, &greeting, target, None)
        }
        Err(e) => Err(connect_failure(e, false, 0)),
    }
}

/// A server that closes the connection before greeting, or never greets,
/// may be waiting for a PROXY header (it sits behind a load balancer, e.g.
/// Postfix with `smtpd_upstream_proxy_protocol = haproxy`): say so when
/// none was sent.
fn proxy_hint(f: Failure, target: &Target) -> Failure {
    let before_greeting = f.message.contains("waiting for the greeting")
        || f.message.contains("while waiting for the greeting");
    if !before_greeting || target.net.proxy.is_some() || f.hint.is_some() {
        return f;
    }
    f.hint(proxy_suggestion(target))
}

/// Whether a greeting looks like that of a server that waited for a PROXY
/// header and got none: Postfix with `smtpd_upstream_proxy_protocol`
/// greets `421 4.3.0 HOST Server local error` (or a text naming the
/// proxy). A busy or greylisting server's 421 says something else, and
/// gets no PROXY hint.
fn awaits_proxy_header(greeting: &Reply) -> bool {
    let text = greeting.text().to_ascii_lowercase();
    greeting.code == 421 && (text.contains("local error") || text.contains("proxy"))
}

/// Try a PROXY header (see [`proxy_hint`]).
fn proxy_suggestion(target: &Target) -> String {
    format!(
        "a server behind a load balancer may wait for a PROXY header first: try \
         `connect {} --proxy-header v1` (or v2)",
        format_peer(&target.host, target.port)
    )
}

/// Closes the current connection, if any, with QUIT when it is open.
pub fn close_current(s: &mut Session) {
    if s.is_open() {
        s.out.note("closing the current connection first");
        let _ = quit_connection(s);
    }
    s.drop_live();
}

/// Makes a fresh connection the session's, judges its greeting, and runs
/// what the TLS mode asks for next.
pub fn install(
    s: &mut Session,
    conn: Connection,
    greeting: &Reply,
    target: Target,
    mx: Option<MxFound>,
) -> Result<(), Failure> {
    let implicit = tls::is_implicit(target.mode, target.port);
    let mode = target.mode;
    s.last_target = Some(target);
    s.live = Some(Live { conn, mx });
    if greeting.code != 220 {
        let f = judge(greeting, "the connection").err().unwrap_or_else(|| {
            Failure::new(
                FailKind::Refused,
                format!("unexpected greeting {}", greeting.code),
            )
        });
        let f = tls::explain_client_cert(s, f);
        if greeting.is_error() && s.is_open() {
            // 554/521: QUIT is enough (RFC 7504 §3); don't wait long for its 221.
            if let Some(live) = s.live.as_mut() {
                live.conn.set_timeout(Some(Duration::from_secs(5)));
            }
            let _ = quit_connection(s);
        }
        // A 421 closed the conversation already: the prompt says so.
        return Err(f);
    }
    tls::after_greeting(s, mode, implicit)
}

/// A failed connect as a failure (the error's own text says what to check).
pub fn connect_failure(e: ConnError, implicit: bool, port: u16) -> Failure {
    let kind = if matches!(e, ConnError::Interrupted) {
        FailKind::Interrupted
    } else {
        FailKind::Connection
    };
    let hint = e
        .socket_hint()
        .map(str::to_string)
        .or_else(|| tls::connect_error_hint(&e, implicit, port));
    let f = Failure::new(kind, e.to_string());
    match hint {
        Some(h) => f.hint(h),
        None => f,
    }
}

/// QUIT and close; the 221 is shown. The connection is forgotten either way.
pub fn quit_connection(s: &mut Session) -> Result<(), Failure> {
    let r = s.exchange(&Command::quit());
    s.drop_live();
    r.map(|_| ())
}

/// `quit`.
pub fn quit(s: &mut Session) -> Result<(), Failure> {
    let Some(live) = &s.live else {
        return Err(
            Failure::local("not connected (nothing to quit)").hint("`exit` leaves the shell")
        );
    };
    if let Some(closed) = live.conversation().closed() {
        s.out.note(&format!("{closed}; nothing to quit"));
        s.drop_live();
        return Ok(());
    }
    quit_connection(s)
}

/// `hangup`: closes the connection without QUIT, as a client that
/// crashed or lost its network would (inside TLS, after a close_notify),
/// so the server's handling of that can be tested.
pub fn hangup(s: &mut Session) -> Result<(), Failure> {
    let Some(live) = &s.live else {
        return Err(Failure::local("not connected (nothing to hang up)")
            .hint("`connect HOST [PORT]` first"));
    };
    if let Some(closed) = live.conversation().closed() {
        s.out.note(&format!("{closed}; nothing to hang up"));
        s.drop_live();
        return Ok(());
    }
    let stage = super::super::session::stage_text(live.conversation());
    s.drop_live();
    s.out.note(&format!(
        "hung up without QUIT (the conversation was at: {stage}); the server sees the \
         connection drop, as from a client that crashed (Postfix logs \"lost connection \
         after ...\"). The draft is kept; `connect` connects again"
    ));
    Ok(())
}

/// `exit`.
pub fn exit(s: &mut Session, input: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    leave(s, input.interactive())
}

/// Whether losing `draft` would lose work: it has recipients,
/// attachments, a body or an HTML version (a subject alone is not worth a
/// warning).
fn worth_keeping(draft: &crate::mime::Draft) -> bool {
    !draft.recipients().is_empty()
        || !draft.attachments.is_empty()
        || !draft.body.is_empty()
        || draft.html.is_some()
}

/// Leaves the shell: warns once about an unsent draft (interactive), QUITs
/// if connected. Sets `exiting` when leaving.
pub fn leave(s: &mut Session, interactive: bool) -> Result<(), Failure> {
    if s.unsent && worth_keeping(&s.draft) && !s.warned_unsent {
        s.warned_unsent = true;
        let what = format!(
            "the draft was not sent ({}, {})",
            super::plural(s.draft.recipients().len(), "recipient"),
            super::plural(s.draft.attachments.len(), "attachment"),
        );
        if interactive {
            s.out.warn(&format!(
                "{what}; `exit` again (or Ctrl-D) leaves anyway, `save PATH` keeps it"
            ));
            return Ok(());
        }
        s.out.warn(&what);
    }
    if s.is_open() {
        let _ = quit_connection(s);
    }
    s.drop_live();
    s.exiting = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_forms() {
        let ok = |h: &str, p: Option<&str>| parse_host_port(h, p).map_err(|f| f.message);
        assert_eq!(
            ok("127.0.0.1", Some("2525")),
            Ok(("127.0.0.1".into(), 2525))
        );
        assert_eq!(
            ok("mx.example.org", None),
            Ok(("mx.example.org".into(), 25))
        );
        assert_eq!(ok("localhost:587", None), Ok(("localhost".into(), 587)));
        assert_eq!(ok("::1", Some("2525")), Ok(("::1".into(), 2525)));
        assert_eq!(ok("[::1]:2525", None), Ok(("::1".into(), 2525)));
        assert_eq!(ok("[::1]", None), Ok(("::1".into(), 25)));
        assert!(ok("host", Some("99999")).is_err());
        assert!(ok("host", Some("x")).is_err());
        assert!(ok("host:1", Some("2")).is_err());
        assert!(ok("ho\r\nst", None).is_err());
        assert!(ok("[::1", None).is_err());
    }
}
