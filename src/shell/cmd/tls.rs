//! TLS in the shell: `starttls`, the TLS side of `connect` (implicit TLS,
//! `--starttls`, `--require-tls`), the guard that keeps MAIL, RCPT, DATA
//! and AUTH off a plaintext connection when TLS is required, and the
//! `status` lines about TLS.

use super::connect::quit_connection;
use super::tls_options::TlsControls;
use super::{ensure_greeted, greet, helo_name};
use crate::shell::args::Args;
use crate::shell::failure::{FailKind, Failure, conn_failure, judge};
use crate::shell::session::Session;
use crate::smtp::tls::{ExtraRoot, TlsClient, TlsErrorKind, TlsInfo};
use crate::smtp::{Command, ConnError, Ext, Extensions, Stage, Verb};

/// How `connect` brings TLS in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Port 465: implicit TLS; otherwise plaintext, upgraded with STARTTLS
    /// right away when `require-tls` is on.
    #[default]
    Auto,
    /// `--tls`: TLS from the first byte (RFC 8314).
    Implicit,
    /// `--starttls`: STARTTLS right after the greeting and EHLO; if that
    /// fails, QUIT and close.
    StartTls,
}

/// The mode for `--tls` / `--starttls` (both: a usage error).
pub fn mode_from_flags(tls: bool, starttls: bool) -> Result<TlsMode, Failure> {
    match (tls, starttls) {
        (true, true) => Err(Failure::local(
            "--tls and --starttls exclude each other",
        )
        .hint("--tls: TLS from the first byte (port 465); --starttls: plaintext, then STARTTLS (ports 25, 587)")),
        (true, false) => Ok(TlsMode::Implicit),
        (false, true) => Ok(TlsMode::StartTls),
        (false, false) => Ok(TlsMode::Auto),
    }
}

/// Whether this connection starts with TLS.
pub fn is_implicit(mode: TlsMode, port: u16) -> bool {
    mode == TlsMode::Implicit || (mode == TlsMode::Auto && port == 465)
}

/// The TLS client for `controls`, built once and kept: it is built again
/// when the controls change or the sandbox starts (its CA joins the anchors).
pub fn tls_client(s: &mut Session, controls: &TlsControls) -> Result<TlsClient, Failure> {
    let with_sandbox = s.sandbox.is_some();
    if let Some((sandbox, built_for, client)) = &s.tls_client
        && *sandbox == with_sandbox
        && built_for == controls
    {
        return Ok(client.clone());
    }
    // The in-process sandbox's CA is trusted by this process only; it is
    // name-constrained to loopback, so it vouches for nothing else.
    let extra_roots = s
        .sandbox
        .iter()
        .map(|sb| ExtraRoot {
            label: format!(
                "the sandbox's own CA ({}), trusted by this smtpsh process only",
                sb.ca_file().display()
            ),
            der: sb.ca_der().to_vec(),
        })
        .collect();
    let client = TlsClient::new(&controls.options(extra_roots)).map_err(|e| {
        let hint = if controls.cert.is_some() && e.to_string().contains("key") {
            "nothing was sent; --cert takes the certificate (PEM), --key its private key"
        } else {
            "nothing was sent; check the --cafile and --cert paths (PEM files)"
        };
        Failure::local(e.to_string()).hint(hint)
    })?;
    s.tls_client = Some((with_sandbox, controls.clone(), client.clone()));
    Ok(client)
}

/// The TLS client a connection to `port` in `mode` will need — for
/// implicit TLS, `--starttls` or `require-tls` — built before anything is
/// touched, so a bad `--cafile` or `--cert` fails first; `None` for plaintext.
pub fn client_for(
    s: &mut Session,
    mode: TlsMode,
    port: u16,
    controls: &TlsControls,
) -> Result<Option<TlsClient>, Failure> {
    if is_implicit(mode, port) || mode == TlsMode::StartTls || s.settings.require_tls {
        tls_client(s, controls).map(Some)
    } else {
        Ok(None)
    }
}

/// The TLS controls of the current connection: its target's (the last
/// `connect`'s), else the command line's.
pub fn current_controls(s: &Session) -> TlsControls {
    s.last_target
        .as_ref()
        .map_or_else(|| s.settings.tls.clone(), |t| t.tls.clone())
}

/// The warning `--insecure` gives at every connect.
pub fn warn_insecure(s: &Session, controls: &TlsControls) {
    if controls.insecure && controls.pins.is_empty() {
        s.out.warn(
            "--insecure: TLS certificates are NOT checked — anyone on the network path could read \
             and change this session, passwords included",
        );
    }
}

/// A hint for a failed connect, where TLS explains it better.
pub fn connect_error_hint(e: &ConnError, implicit: bool, port: u16) -> Option<String> {
    match e {
        ConnError::Tls(t) => tls_hint(t.kind).map(str::to_string),
        ConnError::Timeout { waiting_for, .. } if waiting_for == "the greeting" && !implicit => {
            Some(format!(
                "servers on an implicit-TLS port (465) wait for a TLS handshake and never greet in \
                 plaintext: if port {port} is one, use `connect --tls HOST {port}`"
            ))
        }
        _ => None,
    }
}

fn tls_hint(kind: TlsErrorKind) -> Option<&'static str> {
    Some(match kind {
        TlsErrorKind::UnknownIssuer => {
            "if you trust this server's CA, give its certificate: smtpsh --cafile CA.pem (--insecure skips all checks: unsafe)"
        }
        TlsErrorKind::NameMismatch => {
            "connect using a name the certificate lists (`status` shows them after a successful handshake)"
        }
        TlsErrorKind::Expired | TlsErrorKind::NotValidYet => {
            "check this computer's date; otherwise the server's certificate must be renewed"
        }
        TlsErrorKind::Plaintext | TlsErrorKind::Closed => {
            "25 and 587 speak plaintext first (`connect --starttls`); 465 speaks TLS at once (`connect --tls`)"
        }
        TlsErrorKind::ClientCertRequired => {
            "e.g. `connect --cert client.pem --key client.key HOST PORT`, `starttls --cert client.pem`, or smtpsh --cert client.pem"
        }
        TlsErrorKind::ClientCertRefused => {
            "check that --cert names the certificate made for this server's client CA (openssl verify -CAfile CA.pem CERT.pem)"
        }
        TlsErrorKind::VersionRefused => {
            "without --tls-min/--tls-max smtpsh offers TLS 1.2 and 1.3 and the server picks"
        }
        TlsErrorKind::PinMismatch => {
            "`status` shows the pin of a server's key after a handshake; a pin is for one key, so it changes with the key"
        }
        _ => return None,
    })
}

/// After a 220 greeting: report implicit TLS, or upgrade with STARTTLS
/// when `--starttls` or `require-tls` asks for it.
pub fn after_greeting(s: &mut Session, mode: TlsMode, implicit: bool) -> Result<(), Failure> {
    if implicit {
        if let Some(info) = s.live.as_ref().and_then(|l| l.conn.tls_info()).cloned() {
            report_tls(s, &info);
        }
        return Ok(());
    }
    if mode == TlsMode::StartTls || s.settings.require_tls {
        let controls = current_controls(s);
        return upgrade(s, true, &controls);
    }
    Ok(())
}

/// A failure right after a handshake in which the server asked for a
/// client certificate (Postfix's `smtpd_tls_req_ccert` answers 421 then,
/// or closes): the explanation, naming `--cert`, joins the failure.
pub fn explain_client_cert(s: &Session, f: Failure) -> Failure {
    let Some(info) = s.live.as_ref().and_then(|l| l.conn.tls_info()) else {
        return f;
    };
    if !info.client_cert_requested {
        return f;
    }
    // The explanation replaces the usual hint (a 421's "connect again
    // later" would not help).
    match current_controls(s).cert {
        Some(cert) if info.client_cert_given => f.hint(format!(
            "the server asked for a client certificate in the TLS handshake and refused the one \
             given ({}): is it signed by a CA the server trusts for clients?",
            cert.display()
        )),
        _ => f.hint(
            "the server asked for a client certificate in the TLS handshake and none was given: \
             present one with --cert FILE (and --key FILE unless the key is in FILE)",
        ),
    }
}

/// `require-tls`: refuses `what` on a plaintext connection.
pub fn require_secure(s: &Session, what: &str) -> Result<(), Failure> {
    let Some(c) = s.conversation() else {
        return Ok(());
    };
    if !s.settings.require_tls || c.is_secure() {
        return Ok(());
    }
    Err(Failure::local(format!(
        "require-tls is on and this connection is not encrypted: {what} was not sent"
    ))
    .hint(if c.offers(Ext::StartTls) {
        "`starttls` encrypts it (the server offers STARTTLS)"
    } else {
        "connect with TLS (`connect --tls HOST 465` or `connect --starttls HOST 587`), or `set require-tls off`"
    }))
}

/// The `status` lines about TLS.
pub fn tls_status(s: &Session) -> Vec<String> {
    let Some(live) = s.live.as_ref() else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    match live.conn.tls_info() {
        None => {
            let offer = if live.conversation().offers(Ext::StartTls) {
                " — `starttls` encrypts it"
            } else {
                ""
            };
            lines.push(format!("tls:          none (plaintext){offer}"));
        }
        Some(info) => lines.extend(super::tls_chain::status_lines(s, info)),
    }
    if let Some(user) = live.conversation().user() {
        lines.push(format!("auth:         authenticated as {user}"));
    }
    lines
}

fn report_tls(s: &Session, info: &TlsInfo) {
    let cert = info.certificate.as_ref().map_or_else(
        || "an unreadable certificate".to_string(),
        |c| {
            format!(
                "certificate {} (issuer {}, valid until {})",
                c.subject, c.issuer, c.not_after
            )
        },
    );
    s.out.ok(&format!(
        "TLS is on: {}, {}; {cert}",
        info.version, info.cipher
    ));
    if !info.verified() {
        s.out
            .warn("the certificate was NOT verified (--insecure): this session may be intercepted");
    }
}

/// Fails a TLS attempt: when TLS is required the connection is ended with
/// QUIT (nothing else goes out in plaintext); otherwise it stays usable.
fn no_tls(s: &mut Session, reason: String, required: bool, kind: FailKind) -> Failure {
    if required && s.is_open() {
        let _ = quit_connection(s);
        return Failure::new(
            FailKind::Connection,
            format!(
                "{reason}; TLS is required, so nothing was sent in plaintext but QUIT and the connection is closed"
            ),
        )
        .hint("use a port that offers TLS (`connect --starttls HOST 587`, or `connect --tls HOST 465`)");
    }
    Failure::new(kind, reason)
        .hint("the connection stays unencrypted; do not send passwords over it")
}

/// EHLO if needed, STARTTLS, the handshake (with `controls`), EHLO again;
/// prints what the server announces differently inside TLS. `required`:
/// any failure ends the connection (QUIT if still plaintext).
fn upgrade(s: &mut Session, required: bool, controls: &TlsControls) -> Result<(), Failure> {
    let required = required || s.settings.require_tls;
    if s.live.as_ref().is_some_and(|l| l.conn.peer().is_none()) {
        let f = super::connect::unix_tls_refusal();
        return Err(if required {
            no_tls(s, f.message, true, FailKind::Local)
        } else {
            f
        });
    }
    let client = tls_client(s, controls)?;
    let greeted_with_helo = s
        .conversation()
        .and_then(|c| c.hello())
        .is_some_and(|h| h.verb == Verb::Helo);
    if greeted_with_helo {
        // HELO announces nothing: greet again with EHLO to learn STARTTLS.
        let name = helo_name(s);
        greet(s, &name, Verb::Ehlo)?;
    } else if let Err(f) = ensure_greeted(s, "STARTTLS is offered in the EHLO reply")
        && !s.is_open()
    {
        return Err(f);
    }
    let old = s.conversation().and_then(|c| c.extensions()).cloned();
    if old.is_none() {
        let reason = "the server refused EHLO, so it cannot offer STARTTLS".to_string();
        return Err(no_tls(s, reason, required, FailKind::Refused));
    }
    if !s.conversation().is_some_and(|c| c.offers(Ext::StartTls)) {
        let reason = "the server does not offer STARTTLS (it is not in its EHLO reply)".to_string();
        return Err(no_tls(s, reason, required, FailKind::Local));
    }
    let name = s
        .conversation()
        .and_then(|c| c.hello())
        .map_or_else(|| helo_name(s), |h| h.name.clone());
    let reply = s.exchange(&Command::starttls())?;
    if !s.is_open() {
        return judge(&reply, "STARTTLS");
    }
    if reply.code != 220 {
        let reason = format!(
            "the server answered STARTTLS with {} {}",
            reply.code,
            reply.text()
        );
        return Err(no_tls(s, reason, required, FailKind::Refused));
    }
    let (live, out) = s.open_parts()?;
    let info = match live.conn.starttls(&client, out) {
        Ok(info) => info,
        Err(e) => {
            let kind = match &e {
                ConnError::Tls(t) => Some(t.kind),
                _ => None,
            };
            let f = conn_failure(e);
            return Err(match kind.and_then(tls_hint) {
                Some(h) => f.hint(h),
                None => f,
            });
        }
    };
    if info.discarded > 0 {
        s.out.warn(&format!(
            "the server sent {} byte{} after its 220 to STARTTLS, before TLS began; they were \
             discarded unread (a sign of STARTTLS injection or a broken server)",
            info.discarded,
            if info.discarded == 1 { "" } else { "s" }
        ));
    }
    report_tls(s, &info);
    // RFC 3207 §4.2: everything learned before TLS is forgotten; greet again.
    greet(s, &name, Verb::Ehlo)
        .and_then(|reply| judge(&reply, "EHLO after STARTTLS"))
        .map_err(|f| explain_client_cert(s, f))?;
    if let Some(new) = s.conversation().and_then(|c| c.extensions()) {
        s.out.note(&format!(
            "capabilities after TLS: {}",
            capability_changes(old.as_ref(), new)
        ));
    }
    Ok(())
}

/// `+AUTH PLAIN LOGIN, -STARTTLS`, or `unchanged`.
pub fn capability_changes(old: Option<&Extensions>, new: &Extensions) -> String {
    let form = |e: &crate::smtp::Extension| {
        let mut s = e.keyword.to_ascii_uppercase();
        for p in &e.params {
            s.push(' ');
            s.push_str(p);
        }
        s
    };
    let empty = Extensions::default();
    let old = old.unwrap_or(&empty);
    let mut changes = Vec::new();
    for e in &new.list {
        match old.keyword(&e.keyword) {
            None => changes.push(format!("+{}", form(e))),
            Some(o) if o.params != e.params => changes.push(format!("~{}", form(e))),
            Some(_) => {}
        }
    }
    for e in &old.list {
        if new.keyword(&e.keyword).is_none() {
            changes.push(format!("-{}", e.keyword.to_ascii_uppercase()));
        }
    }
    if changes.is_empty() {
        "unchanged".to_string()
    } else {
        changes.join(", ")
    }
}

/// `starttls [TLS OPTIONS]`: the options apply to this handshake and stay
/// with the target (for `connect` alone).
pub fn starttls(s: &mut Session, a: Args) -> Result<(), Failure> {
    let controls = current_controls(s).with_args(&a)?;
    let c = s.open_live()?.conversation();
    if c.is_secure() {
        return Err(Failure::local("this connection is already encrypted")
            .hint("`status` shows the TLS version and the certificate"));
    }
    if matches!(c.stage(), Stage::Mail { .. }) {
        return Err(
            Failure::local("STARTTLS is not allowed during a mail transaction")
                .hint("`rset` first, then `starttls`"),
        );
    }
    if let Some(target) = s.last_target.as_mut() {
        target.tls = controls.clone();
    }
    upgrade(s, false, &controls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(lines: &[&str]) -> Extensions {
        Extensions::from_lines(lines)
    }

    #[test]
    fn capability_diff() {
        let before = ext(&["mx.example", "PIPELINING", "STARTTLS", "SIZE 100"]);
        let after = ext(&["mx.example", "PIPELINING", "AUTH PLAIN LOGIN", "SIZE 200"]);
        assert_eq!(
            capability_changes(Some(&before), &after),
            "+AUTH PLAIN LOGIN, ~SIZE 200, -STARTTLS"
        );
        assert_eq!(capability_changes(Some(&after), &after), "unchanged");
        assert_eq!(
            capability_changes(None, &ext(&["x", "8BITMIME"])),
            "+8BITMIME"
        );
    }

    #[test]
    fn modes() {
        assert_eq!(mode_from_flags(false, false).unwrap(), TlsMode::Auto);
        assert_eq!(mode_from_flags(true, false).unwrap(), TlsMode::Implicit);
        assert_eq!(mode_from_flags(false, true).unwrap(), TlsMode::StartTls);
        assert!(mode_from_flags(true, true).is_err());
        assert!(is_implicit(TlsMode::Auto, 465));
        assert!(!is_implicit(TlsMode::Auto, 587));
        assert!(!is_implicit(TlsMode::StartTls, 465));
        assert!(is_implicit(TlsMode::Implicit, 2525));
    }
}
