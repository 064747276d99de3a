//! `auth`: SASL authentication (SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN,
//! OAUTHBEARER, XOAUTH2) and the password prompt.
//!
//! Secrets: a password or token comes from a prompt with echo off (only
//! when a person is at a terminal) or from an environment variable named
//! with `--password-env`; it is held as a [`Secret`] and never printed,
//! recorded or put in an error message. The transcript shows `AUTH PLAIN
//! ****` and `****` for every response line; SCRAM's messages are shown
//! decoded, but for the proof (`c=biws,r=...,p=****`).

use super::tls::require_secure;
use super::{ensure_greeted, record_line};
use crate::shell::args::Args;
use crate::shell::failure::{FailKind, Failure, command_error, judge};
use crate::shell::input::{Input, Line};
use crate::shell::profile::password as profile_password;
use crate::shell::session::Session;
use crate::smtp::sasl::{self, Client, Mechanism, SaslError, Secret};
use crate::smtp::{Command, CommandError, Ext, Extensions, Stage};
use std::io::IsTerminal;
use zeroize::Zeroizing;

/// The environment variable a recorded `auth` line names when the password
/// was typed at a prompt.
pub const RECORDED_PASSWORD_ENV: &str = "SMTP_PASSWORD";

use crate::shell::args::quote_word as quote;

/// Writes the `auth` line to the `record` file: never a secret. A password
/// typed at the prompt becomes `--password-env SMTP_PASSWORD`, with a comment.
fn record_auth(s: &mut Session, a: &Args, resolved: Option<(Mechanism, &str)>) {
    if s.record.is_none() {
        return;
    }
    let typed = format!("{} {}", a.typed, a.rest).trim_end().to_string();
    if a.opt("--password-env").is_some() {
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
            if a.flag("--allow-plaintext-auth") {
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
pub fn auth(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
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
    s.open_live()?;
    require_secure(s, "AUTH")?;
    let c = s.open_live()?.conversation();
    if let Some(user) = c.user() {
        return Err(Failure::local(format!(
            "already authenticated as {user} on this connection (AUTH works once per session)"
        ))
        .hint("`connect` again to log in as someone else"));
    }
    if matches!(c.stage(), Stage::Mail { .. }) {
        return Err(
            Failure::local("AUTH is not allowed during a mail transaction")
                .hint("`rset` first, then `auth`"),
        );
    }
    ensure_greeted(s, "AUTH is offered in the EHLO reply")?;
    let live = s.open_live()?;
    // A UNIX socket never leaves the machine: as safe as loopback.
    let loopback = live.conn.peer().is_none_or(|p| p.ip().is_loopback());
    let c = live.conversation();
    let secure = c.is_secure();
    let starttls_offered = c.offers(Ext::StartTls);
    let offered = match c.extensions() {
        Some(e) => e.auth_mechanisms(),
        None => {
            return Err(Failure::local(
                "the server was greeted with HELO, which announces no AUTH",
            )
            .hint("greet with `ehlo` first"));
        }
    };
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
    // Not given: the profile's (docs/profiles.md).
    let mechanism_word =
        mechanism_word.or_else(|| s.profile().and_then(|p| p.mechanism).map(Mechanism::name));
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
    if let Some(warning) = plaintext_auth_check(
        secure,
        loopback,
        a.flag("--allow-plaintext-auth"),
        starttls_offered,
    )? {
        s.out.warn(warning);
    }
    let user = match user_word
        .map(str::to_string)
        .or_else(|| profile_password::user(s))
    {
        Some(u) => u,
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
    let what = if mechanism.uses_token() {
        "token"
    } else {
        "password"
    };
    // The profile's password, its password_command, the netrc file.
    let stored = match a.opt("--password-env") {
        Some(_) => None,
        None => profile_password::stored(s, &user)?,
    };
    if stored.is_some() {
        // Replayed, it finds the password where it was found now.
        let allow = if a.flag("--allow-plaintext-auth") {
            " --allow-plaintext-auth"
        } else {
            ""
        };
        record_line(s, &format!("auth {mechanism} {}{allow}", quote(&user)));
    } else {
        record_auth(s, a, Some((mechanism, &user)));
    }
    *recorded = true;
    let secret = match (stored, a.opt("--password-env")) {
        (Some(secret), _) => secret,
        (None, Some(var)) => match std::env::var(var) {
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
        (None, None) if input.interactive() && std::io::stdin().is_terminal() => {
            match read_secret(&format!("{what} for {user} (not shown): ")) {
                Ok(Some(secret)) => secret,
                Ok(None) => return Err(Failure::local("cancelled; AUTH was not sent")),
                Err(e) => return Err(Failure::local(format!("cannot read the {what}: {e}"))),
            }
        }
        (None, None) => {
            return Err(Failure::local(format!(
                "no {what}: smtpsh asks for one only at a terminal, and a script must never contain it"
            ))
            .hint(format!(
                "put it in an environment variable: auth {mechanism} {} --password-env SMTP_PASSWORD",
                quote(&user)
            ))
            .also("or in a profile's password_command, or in ~/.netrc (docs/profiles.md)"));
        }
    };
    // OAUTHBEARER names the server's host and port; a UNIX socket has
    // neither, and both are optional (RFC 7628 §3.1).
    let place = {
        let conn = &s.open_live()?.conn;
        conn.peer().map(|p| (conn.host().to_string(), p.port()))
    };
    let mut client = Client::new(mechanism, &user, secret);
    if let Some((host, port)) = place {
        client = client.server(&host, port);
    }
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
        Some(initial) => match Command::auth(mechanism.name(), Some(initial.line.expose())) {
            Ok(c) => {
                client.initial_sent();
                let c = if initial.shown == "****" {
                    c
                } else {
                    c.shown_as(&format!("AUTH {mechanism} {}", initial.shown))
                        .map_err(command_error)?
                };
                c.for_user(client.user())
            }
            // Too long for one line: wait for the empty 334 (RFC 4954 §4).
            Err(CommandError::TooLong { .. }) => Command::auth(mechanism.name(), None)
                .map_err(command_error)?
                .for_user(client.user()),
            Err(e) => return Err(command_error(e)),
        },
        None => Command::auth(mechanism.name(), None)
            .map_err(command_error)?
            .for_user(client.user()),
    };
    let mut reply = s.exchange(&command)?;
    let mut rounds = 0;
    while reply.code == 334 && s.is_open() {
        rounds += 1;
        let text = reply.lines.first().map_or("", String::as_str);
        let response = if rounds > 8 {
            Err(SaslError::UnexpectedChallenge)
        } else {
            sasl::decode_challenge(text).and_then(|challenge| client.respond(&challenge))
        };
        match response {
            Ok(r) => {
                for note in &r.note {
                    s.out.note(note);
                }
                let line =
                    Command::sasl_response(r.line.expose(), &r.shown).map_err(command_error)?;
                reply = s.exchange(&line)?;
            }
            Err(e) => {
                // `*` cancels the exchange (RFC 4954 §4); the server answers 501.
                let cancel = Command::sasl_response("*", "*").map_err(command_error)?;
                let _ = s.exchange(&cancel);
                return Err(Failure::new(
                    FailKind::Refused,
                    format!("AUTH {mechanism} cancelled: {e}"),
                ));
            }
        }
    }
    if reply.is_positive() {
        if let Err(e) = client.finish() {
            return Err(
                Failure::new(FailKind::Refused, format!("AUTH {mechanism}: {e}"))
                    .hint("`quit`, then check which server this is (the connection stays open)"),
            );
        }
        s.out
            .ok(&format!("authenticated as {} ({mechanism})", client.user()));
        return Ok(());
    }
    let what = format!("AUTH {mechanism} as {}", client.user());
    judge(&reply, &what).map_err(|f| {
        if mechanism.uses_token() && reply.code == 535 {
            f.hint("535: the token was refused (expired, revoked, or for another user or scope): get a fresh one")
        } else {
            f
        }
    })?;
    Err(Failure::new(
        FailKind::Refused,
        format!("{what} ended with {} instead of 235", reply.code),
    ))
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
    // Room for any password typed by hand, so it is never copied by a
    // reallocation; wiped when dropped, whatever happens.
    let mut bytes: Zeroizing<Vec<u8>> = Zeroizing::new(Vec::with_capacity(4096));
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
                0x15 => zeroize::Zeroize::zeroize(&mut *bytes),
                c if c < 0x20 => {}
                c if bytes.len() < bytes.capacity() => bytes.push(c),
                _ => {}
            },
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => break Err(e.to_string()),
        }
    };
    let _ = writeln!(err);
    match outcome {
        Ok(true) => {}
        Ok(false) | Err(_) => return outcome.map(|_| None),
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Some(Secret::new(text))),
        Err(_) => Err("it is not valid UTF-8".to_string()),
    }
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

    fn ext(lines: &[&str]) -> Extensions {
        Extensions::from_lines(lines)
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
    fn completion_offers_only_announced_supported_mechanisms() {
        let e = ext(&["x", "AUTH GSSAPI PLAIN CRAM-MD5", "AUTH=LOGIN"]);
        assert_eq!(
            completable_mechanisms(Some(&e)),
            vec!["PLAIN", "CRAM-MD5", "LOGIN"]
        );
        let e = ext(&[
            "x",
            "AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 OAUTHBEARER SCRAM-SHA-1",
        ]);
        assert_eq!(
            completable_mechanisms(Some(&e)),
            vec!["SCRAM-SHA-256", "OAUTHBEARER"]
        );
        assert!(completable_mechanisms(None).is_empty());
    }
}
