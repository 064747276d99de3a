//! Fuzz target: what the user types, up to the bytes that reach a server.
//!
//! The input (UTF-8) is a few lines: a session the way a script runs it.
//! They go through `smtpsh::shell::run_line` — the shell's own command
//! code, `${NAME}` variables and handlers included, not a copy — in a
//! session connected to an SMTP
//! server played in memory (`smtpsh::smtp::conn::memory`, the `fuzzing`
//! feature). Lines after `body` or `data` are message text, as in a script.
//! The server announces DSN and MT-PRIORITY, so the envelope options
//! (`from --ret/--envid/--param`, `to --notify/--orcpt`, `--force`) and the
//! classic `RCPT TO:<b> NOTIFY=...` reach it.
//! Commands that would reach beyond memory (`connect`, `attach`, `save`,
//! `source`, `record`, `inbox`, `auth`, `body --file`, `set timeout` and
//! `set resolver`, ...) are not run. Checked:
//! - no panic, whatever the lines;
//! - every line the server received is one command line: no CR, LF, NUL or
//!   other control character (TAB aside) inside it, at most 510 octets
//!   before its CRLF;
//! - every message the server received has CRLF line ends only;
//! - the conversation agrees with the server: a closed conversation sends
//!   nothing more.
//! An input whose first line starts with `#lmtp` runs on an LMTP connection
//! (RFC 2033: `connect --lmtp`), the memory server answering the end of a
//! message once per accepted recipient with the replies the rest of that
//! line lists (`#lmtp 250 ok|452 4.2.2 full`); then also:
//! - after a message, never more replies than recipients; on an open
//!   connection every accepted recipient has its reply and nothing stays
//!   pending.
//! The whole input, and its words, also go directly to
//! `Address`/`Mailbox`/`ReversePath::parse` and to `Command::{raw, ehlo,
//! helo, vrfy, expn, mail_from, rcpt_to}`:
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
use smtpsh::shell::input::{Input, Line, ScriptInput};
use smtpsh::shell::output::Output;
use smtpsh::shell::session::{Live, Session};
use smtpsh::shell::settings::Settings;
use smtpsh::shell::vars::Vars;
use smtpsh::shell::{commands, run_line};
use smtpsh::smtp::Command;
use smtpsh::smtp::command::MAX_COMMAND_LINE;
use smtpsh::smtp::conn::memory::{MemoryServer, greeted};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Most lines run per input (scripts are short; so are fuzz inputs).
const MAX_LINES: usize = 24;

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
    let verb = cmd.word();
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
            assert_eq!(cmd.verb(), smtpsh::smtp::Verb::Mail);
        }
    }
    if let Ok(m) = Mailbox::parse(addr_text) {
        check_mailbox(&m);
        if let Ok(cmd) = Command::rcpt_to(&m.address, params) {
            check_command(&cmd);
            assert_eq!(cmd.verb(), smtpsh::smtp::Verb::Rcpt);
        }
    }
    if let Ok(a) = Address::parse(addr_text) {
        check_address(&a);
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

/// Whether `line` stays in memory when run: no sockets, no files, no
/// prompts, no waits longer than the memory server's.
fn stays_in_memory(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or("");
    let Some(spec) = commands::find(first) else {
        // Unknown commands only fail; let them.
        return true;
    };
    match spec.name {
        "ehlo" | "helo" | "from" | "to" | "cc" | "bcc" | "subject" | "header" | "detach"
        | "new" | "show" | "status" | "expect" | "rset" | "noop" | "vrfy" | "expn" | "raw"
        | "data" | "send" | "help" | "quit" => true,
        "body" => !line.contains("--file"),
        "set" => matches!(
            words.next().map(str::to_ascii_lowercase).as_deref(),
            None | Some(
                "color" | "colour" | "verbose" | "transfer" | "require-tls" | "var" | "explain"
            )
        ),
        _ => false,
    }
}

/// Runs the lines of `text` through the shell against a memory server;
/// checks what reached the server.
fn shell_session(text: &str) {
    // The extensions the envelope options need, so that `from --ret`,
    // `to --notify`, `--param MT-PRIORITY=` reach the server too.
    let server = MemoryServer::new(&[
        "PIPELINING",
        "SIZE 1000000",
        "8BITMIME",
        "CHUNKING",
        "DSN",
        "MT-PRIORITY",
        "ENHANCEDSTATUSCODES",
    ]);
    let lmtp = text.lines().next().and_then(|l| l.strip_prefix("#lmtp"));
    let server = match lmtp {
        Some(replies) => {
            let server = server.lmtp();
            let replies = replies.trim().replace('|', "\n");
            if replies.is_empty() || replies.chars().any(|c| c.is_control() && c != '\n') {
                server
            } else {
                server.answer("END", &replies)
            }
        }
        None => server,
    };
    let mut conn = server.connection();
    if greeted(&mut conn).is_err() {
        return;
    }
    if lmtp.is_some() {
        conn.set_lmtp();
    }
    let (out, _printed) = Output::capture(false);
    let mut s = Session::new(Settings::default(), out, Arc::new(AtomicBool::new(false)));
    s.dead_letters = None;
    s.live = Some(Live { conn, mx: None });
    s.vars = Vars::with_command_line(&[
        (
            "CRLF".to_string(),
            "x\r\nRCPT TO:<evil-7f3a@example.org>".to_string(),
        ),
        ("NUL".to_string(), "a\0b".to_string()),
        ("OK".to_string(), "bob@example.org".to_string()),
    ]);
    let lines: Vec<String> = text.lines().take(MAX_LINES).map(String::from).collect();
    let mut input = ScriptInput::from_lines("fuzz", lines);
    let prompt = (String::new(), String::new());
    while let Line::Text(line) = input.command(&prompt) {
        // What runs is the line with its variables: judge that.
        let expanded = s.vars.expand(line.trim()).unwrap_or_default();
        if stays_in_memory(&expanded) {
            let _ = run_line(&mut s, &mut input, &line);
        }
        if let Some(c) = s.conversation()
            && let Some(t) = c.last_message()
        {
            assert!(
                t.deliveries().len() <= t.accepted().len(),
                "more replies than recipients"
            );
            if c.is_lmtp() && c.closed().is_none() {
                // The memory server answers every recipient: none unknown.
                assert!(
                    t.undelivered_unknown().is_empty(),
                    "a recipient without a reply on an open LMTP connection"
                );
                assert_eq!(c.pending_count(), 0, "replies still due");
            }
        }
        let sent = server.commands().len();
        if s.conversation().is_some_and(|c| c.closed().is_some()) {
            // A closed conversation sends nothing more: check on the next line.
            let _ = run_line(&mut s, &mut input, "noop");
            assert_eq!(server.commands().len(), sent, "a command after the end");
        }
    }
    for line in server.commands() {
        // A value's line break never splits a command in two.
        assert!(
            !line.contains("evil-7f3a@") || text.contains("evil-7f3a@"),
            "a variable's line break reached the server: {line:?}"
        );
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "a control character inside a command line: {line:?}"
        );
        assert!(
            line.len() <= MAX_COMMAND_LINE - 2,
            "{} octets: {line:?}",
            line.len()
        );
    }
    for message in server.messages() {
        for (i, &b) in message.iter().enumerate() {
            let cr_ok = b != b'\r' || message.get(i + 1) == Some(&b'\n');
            let lf_ok = b != b'\n' || (i > 0 && message[i - 1] == b'\r');
            assert!(cr_ok && lf_ok, "a bare CR or LF in a message at {i}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    shell_session(line);

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
