//! TLS and AUTH in the shell: the `starttls` and `auth` commands, the TLS
//! side of `connect` (implicit TLS, `--starttls`, `--require-tls`), the
//! guard that keeps MAIL, RCPT, DATA and AUTH off a plaintext connection
//! when TLS is required, `status` lines, and the password prompt.
//!
//! Secrets: a password or token comes from a prompt with echo off (only
//! when a person is at a terminal) or from an environment variable named
//! with `--password-env`; it is held as a [`Secret`] and never printed,
//! recorded or put in an error message. The transcript shows `AUTH PLAIN
//! ****` and `****` for every response line.

use super::exec::{
    self, Args, FailKind, Failure, command_error, conn_failure, default_helo_name, greet, judge,
    not_connected, quit_connection, record_line, roundtrip,
};
use super::input::{Input, Line};
use super::session::{Envelope, Session, Stage};
use crate::smtp::sasl::{self, Client, Mechanism, SaslError, Secret};
use crate::smtp::tls::{TlsClient, TlsErrorKind, TlsInfo, TlsOptions};
use crate::smtp::{Command, CommandError, ConnError, Connection, Extensions};
use std::io::IsTerminal;

/// The environment variable a recorded `auth` line names when the password
/// was typed at a prompt.
pub const RECORDED_PASSWORD_ENV: &str = "SMTP_PASSWORD";

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

/// The TLS client for the current settings.
pub fn tls_client(s: &Session) -> Result<TlsClient, Failure> {
    let options = TlsOptions {
        cafile: s.settings.cafile.clone(),
        insecure: s.settings.insecure,
        // The in-process sandbox's CA is trusted by this process only; it
        // is name-constrained to loopback, so it vouches for nothing else.
        extra_roots: s
            .sandbox
            .iter()
            .map(|sb| crate::smtp::tls::ExtraRoot {
                label: "the sandbox's own CA, trusted by this smtpsh process only".to_string(),
                der: sb.ca_der().to_vec(),
            })
            .collect(),
    };
    TlsClient::new(&options).map_err(|e| {
        Failure::local(e.to_string()).hint("nothing was sent; check the --cafile path (a PEM file)")
    })
}

/// The warning `--insecure` gives at every connect.
pub fn warn_insecure(s: &Session) {
    if s.settings.insecure {
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
        _ => return None,
    })
}

/// After a 220 greeting: report implicit TLS, or upgrade with STARTTLS
/// when `--starttls` or `require-tls` asks for it.
pub fn after_greeting(s: &mut Session, mode: TlsMode, implicit: bool) -> Result<(), Failure> {
    if implicit {
        if let Some(info) = s.conn.as_ref().and_then(Connection::tls_info).cloned() {
            report_tls(s, &info);
        }
        return Ok(());
    }
    if mode == TlsMode::StartTls || s.settings.require_tls {
        return upgrade(s, true);
    }
    Ok(())
}

/// `require-tls`: refuses `what` on a plaintext connection.
pub fn require_secure(s: &Session, what: &str) -> Result<(), Failure> {
    let plain = s.conn.as_ref().is_some_and(|c| !c.is_secure());
    if s.settings.require_tls && plain {
        let mut f = Failure {
            kind: FailKind::Local,
            message: format!(
                "require-tls is on and this connection is not encrypted: {what} was not sent"
            ),
            hint: None,
        };
        f = f.hint(
            if s.extensions.as_ref().is_some_and(|e| e.has("STARTTLS")) {
                "`starttls` encrypts it (the server offers STARTTLS)"
            } else {
                "connect with TLS (`connect --tls HOST 465` or `connect --starttls HOST 587`), or `set require-tls off`"
            },
        );
        return Err(f);
    }
    Ok(())
}

/// The `status` lines about TLS.
pub fn tls_status(s: &Session) -> Vec<String> {
    let Some(conn) = &s.conn else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    match conn.tls_info() {
        None => {
            let offer = if s.extensions.as_ref().is_some_and(|e| e.has("STARTTLS")) {
                " — `starttls` encrypts it"
            } else {
                ""
            };
            lines.push(format!("tls:          none (plaintext){offer}"));
        }
        Some(info) => {
            lines.push(format!("tls:          {}, {}", info.version, info.cipher));
            match &info.certificate {
                Some(cert) => {
                    lines.push(format!("certificate:  {}", cert.subject));
                    lines.push(format!("  issuer:     {}", cert.issuer));
                    lines.push(format!(
                        "  valid:      {} to {}",
                        cert.not_before, cert.not_after
                    ));
                    if !cert.names.is_empty() {
                        lines.push(format!("  names:      {}", cert.names.join(", ")));
                    }
                }
                None => lines.push(format!(
                    "certificate:  {} received, not readable",
                    info.chain_length
                )),
            }
            lines.push(if info.verified {
                format!("  verified:   yes, against {}", info.trust)
            } else {
                "  verified:   NO (--insecure)".to_string()
            });
        }
    }
    if let Some(user) = &s.auth {
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
    if !info.verified {
        s.out
            .warn("the certificate was NOT verified (--insecure): this session may be intercepted");
    }
}

/// Fails a TLS attempt: when TLS is required the connection is ended with
/// QUIT (nothing else goes out in plaintext); otherwise it stays usable.
fn no_tls(s: &mut Session, reason: String, required: bool, kind: FailKind) -> Failure {
    if required && s.conn.is_some() {
        let _ = quit_connection(s);
        return Failure {
            kind: FailKind::Connection,
            message: format!(
                "{reason}; TLS is required, so nothing was sent in plaintext but QUIT and the connection is closed"
            ),
            hint: Some(
                "use a port that offers TLS (`connect --starttls HOST 587`, or `connect --tls HOST 465`)".into(),
            ),
        };
    }
    Failure {
        kind,
        message: reason,
        hint: Some("the connection stays unencrypted; do not send passwords over it".into()),
    }
}

/// EHLO if needed, STARTTLS, the handshake, EHLO again; prints what the
/// server announces differently inside TLS. `required`: any failure ends
/// the connection (QUIT if still plaintext).
fn upgrade(s: &mut Session, required: bool) -> Result<(), Failure> {
    let required = required || s.settings.require_tls;
    let client = tls_client(s)?;
    if s.extensions.is_none() {
        let name = default_helo_name(s);
        let reply = greet(s, &name, true)?;
        if !reply.is_positive() {
            let reason = format!(
                "the server refused EHLO ({}), so it cannot offer STARTTLS",
                reply.code
            );
            return Err(no_tls(s, reason, required, FailKind::Refused));
        }
    }
    if !s.extensions.as_ref().is_some_and(|e| e.has("STARTTLS")) {
        let reason = "the server does not offer STARTTLS (it is not in its EHLO reply)".to_string();
        return Err(no_tls(s, reason, required, FailKind::Local));
    }
    let reply = roundtrip(s, &Command::starttls())?;
    if s.conn.is_none() {
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
    // RFC 3207 §4.2: forget everything learned before TLS.
    let old = s.extensions.take();
    let name = s
        .greeted
        .take()
        .map_or_else(|| default_helo_name(s), |(name, _)| name);
    s.envelope = Envelope::default();
    s.auth = None;
    let Some(conn) = s.conn.as_mut() else {
        return Err(not_connected());
    };
    let info = match conn.starttls(&client, &mut s.out) {
        Ok(info) => info,
        Err(e) => {
            let kind = match &e {
                ConnError::Tls(t) => Some(t.kind),
                _ => None,
            };
            let mut f = conn_failure(s, e);
            if let Some(h) = kind.and_then(tls_hint) {
                f = f.hint(h);
            }
            return Err(f);
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
    let reply = greet(s, &name, true)?;
    judge(&reply, "EHLO after STARTTLS")?;
    if let Some(new) = &s.extensions {
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
        match old.get(&e.keyword) {
            None => changes.push(format!("+{}", form(e))),
            Some(o) if o.params != e.params => changes.push(format!("~{}", form(e))),
            Some(_) => {}
        }
    }
    for e in &old.list {
        if !new.has(&e.keyword) {
            changes.push(format!("-{}", e.keyword.to_ascii_uppercase()));
        }
    }
    if changes.is_empty() {
        "unchanged".to_string()
    } else {
        changes.join(", ")
    }
}

/// `starttls`.
pub(crate) fn starttls(s: &mut Session, _i: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    let Some(conn) = &s.conn else {
        return Err(not_connected());
    };
    if conn.is_secure() {
        return Err(Failure::local("this connection is already encrypted")
            .hint("`status` shows the TLS version and the certificate"));
    }
    if s.stage() == Stage::Mail {
        return Err(
            Failure::local("STARTTLS is not allowed during a mail transaction")
                .hint("`rset` first, then `starttls`"),
        );
    }
    upgrade(s, false)
}

// ---------------------------------------------------------------- auth

fn opt<'a>(a: &'a Args, name: &str) -> Option<&'a str> {
    a.opts
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.as_deref())
}

fn flag(a: &Args, name: &str) -> bool {
    a.opts.iter().any(|(n, _)| n == name)
}

/// Quotes a word for a script line when needed.
fn quote(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| word.to_string(), |q| q.into_owned())
}

/// Writes the `auth` line to the `record` file: never a secret. A password
/// typed at the prompt becomes `--password-env SMTP_PASSWORD`, with a comment.
fn record_auth(s: &mut Session, a: &Args, resolved: Option<(Mechanism, &str)>) {
    if s.record.is_none() {
        return;
    }
    let typed = format!("{} {}", a.typed, a.rest).trim_end().to_string();
    if opt(a, "--password-env").is_some() {
        record_line(s, &typed);
        return;
    }
    record_line(
        s,
        &format!(
            "# the password was typed at a prompt and is not recorded: set {RECORDED_PASSWORD_ENV} before replaying"
        ),
    );
    let line = match resolved {
        Some((mechanism, user)) => format!(
            "auth {mechanism} {} --password-env {RECORDED_PASSWORD_ENV}{}",
            quote(user),
            if flag(a, "--allow-plaintext-auth") {
                " --allow-plaintext-auth"
            } else {
                ""
            }
        ),
        None => format!("{typed} --password-env {RECORDED_PASSWORD_ENV}"),
    };
    record_line(s, &line);
}

/// `auth [MECHANISM] [USER] [--password-env VAR] [--allow-plaintext-auth]`.
pub(crate) fn auth(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let mut recorded = false;
    let result = auth_steps(s, input, &a, &mut recorded);
    if !recorded {
        record_auth(s, &a, None);
    }
    result
}

fn auth_steps(
    s: &mut Session,
    input: &mut dyn Input,
    a: &Args,
    recorded: &mut bool,
) -> Result<(), Failure> {
    if s.conn.is_none() {
        return Err(not_connected());
    }
    require_secure(s, "AUTH")?;
    if let Some(user) = &s.auth {
        return Err(Failure::local(format!(
            "already authenticated as {user} on this connection (AUTH works once per session)"
        ))
        .hint("`connect` again to log in as someone else"));
    }
    if s.stage() == Stage::Mail {
        return Err(
            Failure::local("AUTH is not allowed during a mail transaction")
                .hint("`rset` first, then `auth`"),
        );
    }
    if s.greeted.is_none() {
        let name = default_helo_name(s);
        let reply = greet(s, &name, true)?;
        judge(&reply, "EHLO")?;
    }
    let secure = s.conn.as_ref().is_some_and(Connection::is_secure);
    let offered = match &s.extensions {
        Some(e) => e.auth_mechanisms(),
        None => {
            return Err(Failure::local(
                "the server was greeted with HELO, which announces no AUTH",
            )
            .hint("greet with `ehlo` first"));
        }
    };
    let starttls_offered = s.extensions.as_ref().is_some_and(|e| e.has("STARTTLS"));
    if offered.is_empty() {
        let f = Failure::local("the server does not offer AUTH (no AUTH in its EHLO reply)");
        return Err(if !secure && starttls_offered {
            f.hint("many servers offer AUTH only inside TLS: `starttls` first")
        } else {
            f
        });
    }
    // `auth [MECHANISM] [USER]`: one word is a mechanism if it names one.
    let (mechanism_word, user_word) = match a.words.as_slice() {
        [] => (None, None),
        [one] => {
            let is_mechanism = Mechanism::parse(one).is_some()
                || offered.iter().any(|m| m.eq_ignore_ascii_case(one));
            if is_mechanism {
                (Some(one.as_str()), None)
            } else {
                (None, Some(one.as_str()))
            }
        }
        [m, u, ..] => (Some(m.as_str()), Some(u.as_str())),
    };
    let supported: Vec<&str> = Mechanism::ALL.iter().map(|m| m.name()).collect();
    let mechanism = match mechanism_word {
        Some(word) => {
            let Some(m) = Mechanism::parse(word) else {
                return Err(Failure::local(format!(
                    "smtpsh does not support the mechanism {}",
                    word.to_ascii_uppercase()
                ))
                .hint(format!("supported: {}", supported.join(", "))));
            };
            if !offered.iter().any(|o| o.eq_ignore_ascii_case(m.name())) {
                return Err(Failure::local(format!(
                    "the server does not offer {m} (it offers: {})",
                    offered.join(" ")
                ))
                .hint(if !secure && starttls_offered {
                    "servers often offer more mechanisms inside TLS: `starttls` first".to_string()
                } else {
                    "pick one it offers (Tab completes them)".to_string()
                }));
            }
            m
        }
        None => Mechanism::strongest(&offered).ok_or_else(|| {
            Failure::local(format!(
                "none of the server's mechanisms ({}) is one smtpsh supports ({})",
                offered.join(" "),
                supported.join(", ")
            ))
        })?,
    };
    // No credentials in plaintext, except to this machine.
    let loopback = s.conn.as_ref().is_some_and(|c| c.peer().ip().is_loopback());
    if let Some(warning) = plaintext_auth_check(
        secure,
        loopback,
        flag(a, "--allow-plaintext-auth"),
        starttls_offered,
    )? {
        s.out.warn(warning);
    }
    let user = match user_word {
        Some(u) => u.to_string(),
        None if input.interactive() => match input.continuation("user: ") {
            Line::Text(u) if !u.trim().is_empty() => u.trim().to_string(),
            _ => return Err(Failure::local("no user name given; AUTH was not sent")),
        },
        None => {
            return Err(Failure::local("no user name given").hint(format!(
                "in a script: auth {mechanism} USER --password-env VAR"
            )));
        }
    };
    record_auth(s, a, Some((mechanism, &user)));
    *recorded = true;
    let what = if mechanism.uses_token() {
        "token"
    } else {
        "password"
    };
    let secret = match opt(a, "--password-env") {
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Secret::new(v),
            Ok(_) => {
                return Err(Failure::local(format!(
                    "the environment variable {var} is empty; AUTH was not sent"
                )));
            }
            Err(std::env::VarError::NotPresent) => {
                return Err(Failure::local(format!(
                    "the environment variable {var} is not set; AUTH was not sent"
                ))
                .hint(format!("export {var}=... before starting smtpsh")));
            }
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Failure::local(format!(
                    "the environment variable {var} is not valid UTF-8; AUTH was not sent"
                )));
            }
        },
        None if input.interactive() && std::io::stdin().is_terminal() => {
            match read_secret(&format!("{what} for {user} (not shown): ")) {
                Ok(Some(secret)) => secret,
                Ok(None) => return Err(Failure::local("cancelled; AUTH was not sent")),
                Err(e) => return Err(Failure::local(format!("cannot read the {what}: {e}"))),
            }
        }
        None => {
            return Err(Failure::local(format!(
                "no {what}: smtpsh asks for one only at a terminal, and a script must never contain it"
            ))
            .hint(format!(
                "put it in an environment variable: auth {mechanism} {} --password-env SMTP_PASSWORD",
                quote(&user)
            )));
        }
    };
    let mut client = Client::new(mechanism, &user, secret);
    s.out.sasl = true;
    let result = exchange(s, &mut client);
    s.out.sasl = false;
    result
}

/// Whether credentials may go over this connection: always inside TLS; in
/// plaintext only with `--allow-plaintext-auth` or to a loopback address
/// (the server is on this machine), with a warning.
fn plaintext_auth_check(
    secure: bool,
    loopback: bool,
    allowed: bool,
    starttls_offered: bool,
) -> Result<Option<&'static str>, Failure> {
    if secure {
        return Ok(None);
    }
    if loopback {
        return Ok(Some(
            "sending credentials without TLS (allowed: the server is on this machine)",
        ));
    }
    if allowed {
        return Ok(Some(
            "sending credentials without TLS (--allow-plaintext-auth): anyone on the path can read them",
        ));
    }
    Err(
        Failure::local("refusing to send credentials over an unencrypted connection").hint(
            if starttls_offered {
                "`starttls` first (the server offers it); --allow-plaintext-auth overrides this (unsafe)"
            } else {
                "connect with TLS (`connect --tls HOST 465`); --allow-plaintext-auth overrides this (unsafe)"
            },
        ),
    )
}

/// Sends AUTH and answers every 334 until the final reply.
fn exchange(s: &mut Session, client: &mut Client) -> Result<(), Failure> {
    let mechanism = client.mechanism();
    let sasl_failure =
        |e: SaslError| Failure::local(format!("AUTH {mechanism}: {e}; AUTH was not sent"));
    let command = match client.initial().map_err(sasl_failure)? {
        Some(initial) => match Command::auth(mechanism.name(), Some(initial.expose())) {
            Ok(c) => {
                client.initial_sent();
                c
            }
            // Too long for one line: wait for the empty 334 (RFC 4954 §4).
            Err(CommandError::TooLong { .. }) => {
                Command::auth(mechanism.name(), None).map_err(command_error)?
            }
            Err(e) => return Err(command_error(e)),
        },
        None => Command::auth(mechanism.name(), None).map_err(command_error)?,
    };
    let mut reply = roundtrip(s, &command)?;
    let mut rounds = 0;
    while reply.code == 334 && s.conn.is_some() {
        rounds += 1;
        let text = reply.lines.first().map_or("", String::as_str);
        let response = if rounds > 8 {
            Err(SaslError::UnexpectedChallenge)
        } else {
            sasl::decode_challenge(text).and_then(|challenge| client.respond(&challenge))
        };
        match response {
            Ok(r) => {
                let line =
                    Command::sasl_response(r.line.expose(), r.shown).map_err(command_error)?;
                reply = roundtrip(s, &line)?;
            }
            Err(e) => {
                // `*` cancels the exchange (RFC 4954 §4); the server answers 501.
                let cancel = Command::sasl_response("*", "*").map_err(command_error)?;
                let _ = roundtrip(s, &cancel);
                return Err(Failure {
                    kind: FailKind::Refused,
                    message: format!("AUTH {mechanism} cancelled: {e}"),
                    hint: None,
                });
            }
        }
    }
    if reply.is_positive() {
        s.auth = Some(client.user().to_string());
        s.out
            .ok(&format!("authenticated as {} ({mechanism})", client.user()));
        return Ok(());
    }
    let what = format!("AUTH {mechanism} as {}", client.user());
    judge(&reply, &what)?;
    Err(Failure {
        kind: FailKind::Refused,
        message: format!("{what} ended with {} instead of 235", reply.code),
        hint: None,
    })
}

/// Reads a secret from the terminal with echo off. `Ok(None)`: cancelled
/// (Ctrl-C, or Ctrl-D on an empty line). The terminal is restored on every path.
fn read_secret(prompt: &str) -> Result<Option<Secret>, String> {
    use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices};
    use std::io::Write;
    use std::os::fd::AsFd;

    struct Restore(termios::Termios);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.0);
        }
    }

    let stdin = std::io::stdin();
    let saved = termios::tcgetattr(stdin.as_fd()).map_err(|e| format!("not a terminal ({e})"))?;
    let mut quiet = saved.clone();
    quiet
        .local_flags
        .remove(LocalFlags::ECHO | LocalFlags::ICANON | LocalFlags::ISIG | LocalFlags::IEXTEN);
    quiet.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    quiet.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    let _restore = Restore(saved);
    termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &quiet)
        .map_err(|e| format!("cannot turn off echo ({e})"))?;
    let mut err = std::io::stderr();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let mut bytes: Vec<u8> = Vec::new();
    // Ok(true): entered; Ok(false): cancelled.
    let outcome: Result<bool, String> = loop {
        let mut b = [0u8; 1];
        match nix::unistd::read(stdin.as_fd(), &mut b) {
            Ok(0) => break Ok(!bytes.is_empty()),
            Ok(_) => match b[0] {
                b'\r' | b'\n' => break Ok(true),
                // Ctrl-C cancels; Ctrl-D cancels on an empty line.
                3 => break Ok(false),
                4 if bytes.is_empty() => break Ok(false),
                // Backspace: remove the last character (all its UTF-8 bytes).
                0x7f | 0x08 => {
                    while let Some(last) = bytes.pop() {
                        if last & 0xc0 != 0x80 {
                            break;
                        }
                    }
                }
                // Ctrl-U: start over.
                0x15 => {
                    bytes.iter_mut().for_each(|b| *b = 0);
                    bytes.clear();
                }
                c if c < 0x20 => {}
                c => bytes.push(c),
            },
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => break Err(e.to_string()),
        }
    };
    let _ = writeln!(err);
    match outcome {
        Ok(true) => {}
        Ok(false) | Err(_) => {
            bytes.iter_mut().for_each(|b| *b = 0);
            return outcome.map(|_| None);
        }
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Some(Secret::new(text))),
        Err(e) => {
            let mut bytes = e.into_bytes();
            bytes.iter_mut().for_each(|b| *b = 0);
            Err("it is not valid UTF-8".to_string())
        }
    }
}

/// Whether a typed line is an `auth` command that does not parse (say,
/// `auth PLAIN alice hunter2`): its extra words may be a password, so it is
/// kept out of the history.
pub fn may_hold_secret(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    first.eq_ignore_ascii_case("auth") && exec::parse_line(line).is_err()
}

/// Mechanisms to offer after `auth ` (Tab): those the server announced
/// that smtpsh supports.
pub fn completable_mechanisms(ext: Option<&Extensions>) -> Vec<String> {
    ext.map(Extensions::auth_mechanisms)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| Mechanism::parse(m).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::ReplyParser;

    fn ext(lines: &[&str]) -> Extensions {
        let mut wire = String::new();
        for (i, l) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            wire.push_str(&format!("250{sep}{l}\r\n"));
        }
        let mut p = ReplyParser::new();
        p.push(wire.as_bytes()).unwrap();
        Extensions::from_ehlo(&p.next_reply().unwrap())
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
    fn credentials_stay_off_plaintext_connections() {
        assert_eq!(
            plaintext_auth_check(true, false, false, false).unwrap(),
            None
        );
        let e = plaintext_auth_check(false, false, false, true).unwrap_err();
        assert!(e.message.contains("refusing"), "{}", e.message);
        assert!(e.hint.unwrap_or_default().contains("`starttls` first"));
        let e = plaintext_auth_check(false, false, false, false).unwrap_err();
        assert!(e.hint.unwrap_or_default().contains("--tls"));
        assert!(
            plaintext_auth_check(false, false, true, false)
                .unwrap()
                .is_some_and(|w| w.contains("--allow-plaintext-auth"))
        );
        assert!(
            plaintext_auth_check(false, true, false, false)
                .unwrap()
                .is_some_and(|w| w.contains("on this machine"))
        );
    }

    #[test]
    fn stray_words_after_auth_stay_out_of_the_history() {
        assert!(may_hold_secret("auth PLAIN alice hunter2"));
        assert!(may_hold_secret("AUTH PLAIN alice 'hunter 2' x"));
        assert!(!may_hold_secret("auth PLAIN alice"));
        assert!(!may_hold_secret("auth PLAIN alice --password-env P"));
        assert!(!may_hold_secret("to a b c d"));
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

    #[test]
    fn completion_offers_only_announced_supported_mechanisms() {
        let e = ext(&["x", "AUTH GSSAPI PLAIN CRAM-MD5", "AUTH=LOGIN"]);
        assert_eq!(
            completable_mechanisms(Some(&e)),
            vec!["PLAIN", "CRAM-MD5", "LOGIN"]
        );
        assert!(completable_mechanisms(None).is_empty());
    }
}
