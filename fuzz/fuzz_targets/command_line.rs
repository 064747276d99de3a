//! Fuzz target: what the user types, up to the bytes of an SMTP command.
//!
//! The input (UTF-8) is one command line. It goes through
//! `smtpsh::shell::exec::parse_line`, and the arguments of the commands
//! that send something are turned into `smtpsh::smtp::Command`s the way the
//! handlers do it (the handlers' glue is private, so it is mirrored here).
//! The whole line, and its words, are also given directly to
//! `Address`/`Mailbox`/`ReversePath::parse` and to `Command::{raw, ehlo,
//! helo, vrfy, expn, mail_from, rcpt_to}`. Checked:
//! - no panic;
//! - every accepted command's wire form is one line: it ends in CRLF and
//!   holds no CR, LF, NUL or other control character (TAB aside) before it,
//!   is at most 512 octets, and its verb is upper case;
//! - every accepted address holds no control character, has an `@`, is at
//!   most 254 octets, and parses again to itself; display names hold no
//!   control character;
//! - a header that `validate_header` accepts has no control character in its
//!   name and none but TAB in its value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpsh::address::{Address, Mailbox, ReversePath};
use smtpsh::mime::validate_header;
use smtpsh::shell::exec::parse_line;
use smtpsh::smtp::Command;
use smtpsh::smtp::command::MAX_COMMAND_LINE;

fn check_command(cmd: &Command) {
    let wire = cmd.wire();
    assert!(wire.ends_with(b"\r\n"), "no CRLF: {wire:?}");
    assert!(
        wire.len() <= MAX_COMMAND_LINE,
        "{} octets: {wire:?}",
        wire.len()
    );
    let line = std::str::from_utf8(&wire[..wire.len() - 2]).expect("commands are UTF-8");
    assert!(!line.is_empty(), "empty command line");
    assert!(
        !line.contains(['\r', '\n', '\0']),
        "CR/LF/NUL inside a command: {line:?}"
    );
    assert!(
        !line.chars().any(|c| c.is_control() && c != '\t'),
        "control character inside a command: {line:?}"
    );
    let shown = cmd.to_string();
    assert!(
        !shown.chars().any(|c| c.is_control() && c != '\t'),
        "control character in the transcript form: {shown:?}"
    );
    let verb = cmd.verb();
    assert!(!verb.is_empty(), "no verb: {line:?}");
    assert_eq!(verb, verb.to_uppercase(), "verb not upper case");
}

fn check_address(a: &Address) {
    let s = a.as_str();
    assert!(!s.chars().any(char::is_control), "control character: {s:?}");
    assert!(s.contains('@'), "no @: {s:?}");
    assert!(s.len() <= 254, "{} octets: {s:?}", s.len());
    assert_eq!(
        Address::parse(s).as_ref(),
        Ok(a),
        "an accepted address does not parse to itself"
    );
    assert_eq!(a.domain(), s.rsplit_once('@').map_or("", |(_, d)| d));
}

fn check_mailbox(m: &Mailbox) {
    check_address(&m.address);
    if let Some(name) = &m.name {
        assert!(!name.is_empty(), "empty display name kept");
        assert!(
            !name.chars().any(char::is_control),
            "control character in a display name: {name:?}"
        );
    }
}

/// `Command::mail_from` / `rcpt_to` for an address text and parameters.
fn envelope_commands(addr_text: &str, params: &[String]) {
    if let Ok(path) = ReversePath::parse(addr_text) {
        if let ReversePath::Mailbox(m) = &path {
            check_mailbox(m);
        } else {
            assert_eq!(addr_text.trim(), "<>");
        }
        if let Ok(cmd) = Command::mail_from(path.address(), params) {
            check_command(&cmd);
            assert_eq!(cmd.verb(), "MAIL");
        }
    }
    if let Ok(m) = Mailbox::parse(addr_text) {
        check_mailbox(&m);
        if let Ok(cmd) = Command::rcpt_to(&m.address, params) {
            check_command(&cmd);
            assert_eq!(cmd.verb(), "RCPT");
        }
    }
    if let Ok(a) = Address::parse(addr_text) {
        check_address(&a);
    }
}

/// The handlers' `strip_verb_prefix`: `FROM:` / `TO:` typed before an address.
fn strip_verb_prefix<'a>(text: &'a str, prefix: &str) -> &'a str {
    let t = text.trim_start();
    match t.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => t[prefix.len()..].trim_start(),
        _ => t,
    }
}

fn check_header(name: &str, value: &str) {
    if validate_header(name, value).is_ok() {
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic() && c != ':'),
            "accepted header name {name:?}"
        );
        assert!(
            !value.chars().any(|c| c.is_control() && c != '\t'),
            "accepted header value {value:?}"
        );
    }
}

/// What the shell would send for a parsed line.
fn shell_line(line: &str) {
    let Ok((spec, args)) = parse_line(line) else {
        return;
    };
    match spec.name {
        "raw" => {
            if let Ok(cmd) = Command::raw(&args.rest) {
                check_command(&cmd);
            }
        }
        "vrfy" => {
            if let Ok(cmd) = Command::vrfy(&args.rest) {
                check_command(&cmd);
            }
        }
        "expn" => {
            if let Ok(cmd) = Command::expn(&args.rest) {
                check_command(&cmd);
            }
        }
        "ehlo" | "helo" => {
            if let Some(name) = args.words.first() {
                for cmd in [Command::ehlo(name), Command::helo(name)]
                    .into_iter()
                    .flatten()
                {
                    check_command(&cmd);
                }
            }
        }
        "from" => {
            let text = strip_verb_prefix(&args.rest, "FROM:");
            let (addr_text, params): (&str, Vec<String>) = match text.find('>') {
                Some(i) if text.trim_start().starts_with('<') => (
                    &text[..=i],
                    text[i + 1..].split_whitespace().map(String::from).collect(),
                ),
                _ => (text, Vec::new()),
            };
            envelope_commands(addr_text, &params);
        }
        "to" | "cc" | "bcc" => {
            for w in &args.words {
                let text = strip_verb_prefix(w, "TO:");
                envelope_commands(text, &[]);
            }
        }
        "subject" => check_header("Subject", &args.rest),
        "header" => {
            if let Some(i) = args.rest.find(char::is_whitespace) {
                check_header(args.rest[..i].trim_end_matches(':'), args.rest[i..].trim());
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    shell_line(line);

    // The constructors on their own, with the raw text.
    for cmd in [
        Command::raw(line),
        Command::ehlo(line),
        Command::helo(line),
        Command::vrfy(line),
        Command::expn(line),
    ]
    .into_iter()
    .flatten()
    {
        check_command(&cmd);
    }
    if let Ok(cmd) = Command::masked(line, "AUTH ****") {
        check_command(&cmd);
        assert_eq!(cmd.to_string(), "AUTH ****");
    }
    // First word: an address; the other words: ESMTP parameters.
    let mut words = line.split(' ');
    let first = words.next().unwrap_or_default();
    let params: Vec<String> = words.map(String::from).collect();
    envelope_commands(first, &params);
    envelope_commands(line, &[]);
    if let Ok(cmd) = Command::mail_from(None, &params) {
        check_command(&cmd);
    }
    if let Some((name, value)) = line.split_once(':') {
        check_header(name, value);
    }
});
