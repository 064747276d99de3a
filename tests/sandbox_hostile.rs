//! The sandbox server against hostile clients (issue 11): the session in
//! memory (`sandbox::server::converse`) and the listener over loopback TCP
//! (`sandbox::server::Handle`).
//!
//! - every command verb with non-UTF-8 bytes and multi-byte characters at
//!   every byte offset: a 5xx (or 2xx where that is right), never a panic,
//!   and the session still delivers a message afterwards;
//! - 100 bad connections in a row, then a good delivery; more connections
//!   than allowed get `421 4.7.0`, and the server serves again once they
//!   close;
//! - SMTP smuggling: no end-of-data form but `<CRLF>.<CRLF>` ends a
//!   message, and a transaction hidden inside one never runs;
//! - the limits (command and text line length, recipients, errors, idle and
//!   trickling clients, the message deadline) with their reply codes;
//! - BDAT stored byte-exact, DSN parameters kept with the envelope;
//! - a store that panics: the connection closes, one `Event::Fault` line,
//!   the server goes on.
//!
//! Every failure message carries the server transcript. Network: 127.0.0.1
//! only; every wait is bounded (idle timeouts of 1 s where a timeout is the
//! point).

use smtpsh::sandbox::maildir::{Delivery, MemoryStore, Store};
use smtpsh::sandbox::server::{Config, Event, Events, Handle, Limits, Next, converse};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ helpers

/// Shows bytes as one escaped line per protocol line, prefixed (`C: `, `S: `),
/// long lines shortened.
fn show_lines(prefix: &str, bytes: &[u8]) -> String {
    let mut out = String::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let s = line.escape_ascii().to_string();
        let s = if s.len() > 200 {
            format!("{}...({} octets)", &s[..200], line.len())
        } else {
            s
        };
        out.push_str(prefix);
        out.push_str(&s);
        out.push('\n');
    }
    if out.len() > 20_000 {
        let mut cut = 20_000;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("\n...(transcript shortened)\n");
    }
    out
}

/// Collects the server's events.
fn collector() -> (Events, Arc<Mutex<Vec<Event>>>) {
    let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = seen.clone();
    let events: Events = Arc::new(move |e: &Event| {
        sink.lock().expect("events lock").push(e.clone());
    });
    (events, seen)
}

/// One reply: its code, and its lines without the `NNN-`/`NNN ` prefix.
#[derive(Debug, Clone)]
struct Reply {
    code: u16,
    lines: Vec<String>,
}

impl Reply {
    /// The first line's text (after the code).
    fn text(&self) -> &str {
        self.lines.first().map_or("", String::as_str)
    }
    /// `code` and the enhanced code (or first word): `250 2.1.0`.
    fn status(&self) -> String {
        let word = self.text().split(' ').next().unwrap_or("");
        format!("{} {word}", self.code)
    }
}

/// Splits server output into replies; `Err` says what is not a reply line.
fn parse_replies(out: &[u8]) -> Result<Vec<Reply>, String> {
    let mut replies = Vec::new();
    let mut open: Option<Reply> = None;
    let mut rest = out;
    while !rest.is_empty() {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Err(format!(
                "output does not end in CRLF: {}",
                rest.escape_ascii()
            ));
        };
        let line = &rest[..end];
        rest = &rest[end + 2..];
        // Printable ASCII is checked apart (`replies_are_printable_ascii`);
        // here a reply line must be text without control characters.
        let Ok(line) = std::str::from_utf8(line) else {
            return Err(format!("reply line not UTF-8: {}", line.escape_ascii()));
        };
        if line.chars().any(char::is_control) {
            return Err(format!("control character in a reply line: {line:?}"));
        }
        let line = line.to_string();
        let code = line
            .get(..3)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| (200..600).contains(c))
            .ok_or_else(|| format!("no reply code: {line:?}"))?;
        let sep = line.as_bytes().get(3).copied();
        if !matches!(sep, Some(b' ' | b'-') | None) {
            return Err(format!("bad separator: {line:?}"));
        }
        let text = line.get(4..).unwrap_or("").to_string();
        let reply = open.get_or_insert_with(|| Reply {
            code,
            lines: Vec::new(),
        });
        if reply.code != code {
            return Err(format!(
                "continuation with another code: {line:?} after {}",
                reply.code
            ));
        }
        reply.lines.push(text);
        if sep != Some(b'-') {
            replies.extend(open.take());
        }
    }
    if open.is_some() {
        return Err("the output ends inside a multi-line reply".into());
    }
    Ok(replies)
}

/// A whole in-memory session: what the client sent and what came back.
struct Session {
    input: Vec<u8>,
    out: Vec<u8>,
    next: Next,
    replies: Vec<Reply>,
    stored: Vec<Vec<u8>>,
    events: Vec<Event>,
}

impl Session {
    fn transcript(&self) -> String {
        format!(
            "--- client sent:\n{}--- server wrote (session ended: {:?}):\n{}--- stored: {} message(s)\n{}",
            show_lines("C: ", &self.input),
            self.next,
            show_lines("S: ", &self.out),
            self.stored.len(),
            self.stored
                .iter()
                .map(|m| show_lines("M: ", m))
                .collect::<Vec<_>>()
                .join("M: ----\n"),
        )
    }

    /// Panics with `why` and the transcript.
    #[track_caller]
    fn fail(&self, why: impl std::fmt::Display) -> ! {
        panic!("{why}\n{}", self.transcript())
    }

    #[track_caller]
    fn check(&self, ok: bool, why: impl std::fmt::Display) {
        if !ok {
            self.fail(why);
        }
    }

    /// The reply statuses (`250 2.1.0`), greeting included.
    fn statuses(&self) -> Vec<String> {
        self.replies.iter().map(Reply::status).collect()
    }

    /// Asserts the reply statuses, in order.
    #[track_caller]
    fn expect_statuses(&self, want: &[&str]) {
        let got = self.statuses();
        if got != want {
            self.fail(format!("reply statuses\n  want {want:?}\n  got  {got:?}"));
        }
    }

    fn faults(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Fault { what, .. } => Some(what.clone()),
                _ => None,
            })
            .collect()
    }

    fn stored_events(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Stored(_)))
            .count()
    }
}

/// Runs `input` through one server session in memory.
fn session(config: Config, input: &[u8]) -> Session {
    let store = Arc::new(MemoryStore::default());
    let (events, seen) = collector();
    let (out, next) = converse(config, store.clone(), Some(events), input);
    let replies = parse_replies(&out);
    let events = seen.lock().expect("events lock").clone();
    let mut s = Session {
        input: input.to_vec(),
        out,
        next,
        replies: Vec::new(),
        stored: store.messages(),
        events,
    };
    match replies {
        Ok(r) => s.replies = r,
        Err(why) => s.fail(format!("the server's output is not SMTP replies: {why}")),
    }
    s.check(
        s.replies.first().is_some_and(|r| r.code == 220),
        "no 220 greeting",
    );
    s.check(s.faults().is_empty(), "an Event::Fault in memory");
    s.check(
        s.stored_events() == s.stored.len(),
        format!(
            "{} Stored events for {} stored messages",
            s.stored_events(),
            s.stored.len()
        ),
    );
    for m in &s.stored {
        if let Some(i) = bare_cr_or_lf(m) {
            s.fail(format!("a stored message has a bare CR or LF at {i}"));
        }
    }
    s
}

fn session_str(config: Config, input: &str) -> Session {
    session(config, input.as_bytes())
}

fn config_with(f: impl FnOnce(&mut Limits)) -> Config {
    let mut c = Config::default();
    f(&mut c.limits);
    c
}

/// The first bare CR or LF.
fn bare_cr_or_lf(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find(|&i| match bytes[i] {
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        b'\n' => i == 0 || bytes[i - 1] != b'\r',
        _ => false,
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// What follows the trace headers the server adds (`Return-Path:` to
/// `X-Envelope-To:`/`X-Envelope-DSN:`): the message as the client sent it.
fn content_of(message: &[u8]) -> Option<&[u8]> {
    let at = message
        .windows(16)
        .position(|w| w == b"\r\nX-Envelope-To:")?;
    let mut rest = &message[at + 2..];
    // X-Envelope-To and its continuation lines, then X-Envelope-DSN.
    loop {
        let end = rest.windows(2).position(|w| w == b"\r\n")? + 2;
        rest = &rest[end..];
        if !(rest.starts_with(b" ") || rest.starts_with(b"X-Envelope-DSN:")) {
            return Some(rest);
        }
    }
}

const OK_TAIL: &str = "MAIL FROM:<s@example.org>\r\nRCPT TO:<r@example.org>\r\n\
                       DATA\r\nSubject: ok\r\n\r\nafter\r\n.\r\nQUIT\r\n";

/// The session ended with a message stored by [`OK_TAIL`] and 221.
#[track_caller]
fn expect_ok_tail(s: &Session, why: &str) {
    let stored_reply = s
        .replies
        .iter()
        .any(|r| r.code == 250 && r.text().contains("stored as"));
    s.check(
        stored_reply,
        format!("{why}: the valid transaction afterwards got no 250 'stored as'"),
    );
    s.check(
        s.stored
            .last()
            .is_some_and(|m| m.ends_with(b"\r\nSubject: ok\r\n\r\nafter\r\n")),
        format!("{why}: the valid transaction afterwards was not stored"),
    );
    s.check(
        s.replies.last().is_some_and(|r| r.code == 221) && s.next == Next::Quit,
        format!("{why}: QUIT at the end not answered 221"),
    );
}

// ------------------------------------------ hostile bytes in every command

/// Bytes put into command lines: invalid UTF-8, truncated and whole
/// multi-byte characters, a stray continuation byte, NUL.
const HOSTILE: &[&[u8]] = &[
    b"\xff",
    b"\xc3",
    "é".as_bytes(),
    b"\xe2\x82",
    "€".as_bytes(),
    "😀".as_bytes(),
    b"\x80",
    b"\xf0\x9f\x98",
    b"\0",
];

struct Base {
    /// Sent before the line (after EHLO), so the line's own parsing is
    /// reached (RCPT needs MAIL, DATA and BDAT need a transaction).
    before: &'static str,
    line: &'static str,
}

const BASES: &[Base] = &[
    Base {
        before: "",
        line: "EHLO client.example",
    },
    Base {
        before: "",
        line: "HELO client.example",
    },
    Base {
        before: "",
        line: "MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME",
    },
    Base {
        before: "",
        line: "MAIL FROM:<a@example.org> SMTPUTF8 RET=HDRS ENVID=x",
    },
    Base {
        before: "MAIL FROM:<a@example.org> SMTPUTF8\r\n",
        line: "RCPT TO:<b@example.org> NOTIFY=SUCCESS ORCPT=rfc822;b@example.org",
    },
    Base {
        before: "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n",
        line: "DATA",
    },
    Base {
        before: "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n",
        line: "BDAT 3 LAST",
    },
    Base {
        before: "",
        line: "AUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==",
    },
    Base {
        before: "",
        line: "AUTH LOGIN ZGVtbw==",
    },
    Base {
        before: "",
        line: "STARTTLS",
    },
    Base {
        before: "",
        line: "VRFY postmaster",
    },
    Base {
        before: "",
        line: "RSET",
    },
    Base {
        before: "",
        line: "NOOP",
    },
    Base {
        before: "",
        line: "QUIT",
    },
    Base {
        before: "",
        line: "HELP",
    },
    Base {
        before: "",
        line: "EXPN staff",
    },
    Base {
        before: "",
        line: "XYZZY plugh",
    },
];

/// Whether a 2xx reply to `line` with `bytes` put in is right: a name or
/// text the command ignores or may take in UTF-8.
fn may_succeed(verb: &str, bytes: &[u8], line: &[u8]) -> bool {
    let utf8_text = std::str::from_utf8(line).is_ok_and(|l| !l.contains('\0'));
    match verb {
        "EHLO" | "HELO" => utf8_text,
        // Their argument does not matter (VRFY's 252 promises nothing).
        "VRFY" | "NOOP" | "HELP" => true,
        // A UTF-8 address with SMTPUTF8 on MAIL (given before RCPT).
        "MAIL" => utf8_text && !bytes.is_ascii() && contains(line, b"SMTPUTF8"),
        "RCPT" => utf8_text && !bytes.is_ascii(),
        _ => false,
    }
}

#[test]
fn hostile_bytes_at_every_offset_of_every_command_get_a_reply_and_the_session_goes_on() {
    let mut runs = 0;
    for base in BASES {
        let line = base.line.as_bytes();
        let verb = base.line.split(' ').next().unwrap_or("");
        for bytes in HOSTILE {
            for at in 0..=line.len() {
                // Inserted at `at`, and in place of the byte at `at`.
                for replace in [false, true] {
                    if replace && at == line.len() {
                        continue;
                    }
                    let mut hostile = line[..at].to_vec();
                    hostile.extend_from_slice(bytes);
                    hostile.extend_from_slice(&line[at + usize::from(replace)..]);
                    let mut input = b"EHLO client.example\r\n".to_vec();
                    input.extend_from_slice(base.before.as_bytes());
                    input.extend_from_slice(&hostile);
                    input.extend_from_slice(b"\r\nRSET\r\n");
                    input.extend_from_slice(OK_TAIL.as_bytes());
                    let s = session(Config::default(), &input);
                    runs += 1;
                    let before = 2 + base.before.matches("\r\n").count();
                    let Some(r) = s.replies.get(before) else {
                        s.fail(format!(
                            "no reply to the hostile line {}",
                            hostile.escape_ascii()
                        ));
                    };
                    let what = format!(
                        "{verb} with {} at offset {at} ({}): {}",
                        bytes.escape_ascii(),
                        if replace { "replacing" } else { "inserted" },
                        hostile.escape_ascii()
                    );
                    if verb == "BDAT" && r.code == 501 {
                        // The chunk's size is unknown: the server cannot
                        // skip it and must close.
                        s.check(
                            s.replies.len() == before + 1 && s.next == Next::Closed,
                            format!("{what}: a BDAT it cannot read must end the session"),
                        );
                        s.check(s.stored.is_empty(), format!("{what}: stored something"));
                        continue;
                    }
                    let fine = r.code >= 500
                        || (200..300).contains(&r.code) && may_succeed(verb, bytes, &hostile);
                    s.check(fine, format!("{what}: got {}", r.status()));
                    expect_ok_tail(&s, &what);
                }
            }
        }
    }
    assert!(runs > 1000, "only {runs} runs");
}

#[test]
fn the_issue_s_panic_line_and_friends_get_501_and_leave_the_session_usable() {
    for line in [
        "MAIL FROMé<a@b>",
        "MAIL FROM:<é>",
        "MAIL FROM:é",
        "MAIL FRé",
        "MAIL é",
        "MAIL",
        "MAIL FROM:<a@b.org>é",
        "MAIL FROM:<a@b.org> SIZE=é",
        "MAIL FROM:<a@b.org> éSIZE=1",
        "MAIL FROM:<\"é\\",
    ] {
        let input = format!("EHLO x\r\n{line}\r\n{OK_TAIL}");
        let s = session_str(Config::default(), &input);
        s.check(
            s.replies
                .get(2)
                .is_some_and(|r| r.code == 501 || r.code == 553),
            format!("{line}: not refused with 501/553"),
        );
        expect_ok_tail(&s, line);
    }
    let mail = "MAIL FROM:<a@b.org>\r\n";
    for (before, line, code) in [
        (mail, &b"RCPT TO:\xff"[..], 501),
        (mail, b"RCPT TO:<\xc3>", 501),
        ("", b"AUTH PLAIN \xc3", 501),
        ("", b"AUTH LOGIN \xff", 501),
        ("", b"EHLO \xe2\x82", 501),
        ("", b"HELO \xff\xfe", 501),
        ("", b"VRFY \xff", 252),
        ("", b"\xc3\xa9HLO x", 500),
        ("", b"NOOP \xff", 250),
        (mail, b"DATA \xff", 501),
        ("", b"STARTTLS \xc3\xa9", 501),
        ("", b"RSET \xe2\x82", 501),
        ("", b"QUIT \xff", 501),
    ] {
        let mut input = format!("EHLO x\r\n{before}").into_bytes();
        input.extend_from_slice(line);
        input.extend_from_slice(b"\r\nRSET\r\n");
        input.extend_from_slice(OK_TAIL.as_bytes());
        let s = session(Config::default(), &input);
        let at = 2 + usize::from(!before.is_empty());
        s.check(
            s.replies.get(at).is_some_and(|r| r.code == code),
            format!("{}: want {code}", line.escape_ascii()),
        );
        expect_ok_tail(&s, &line.escape_ascii().to_string());
    }
}

/// Reply text is printable ASCII (RFC 5321 §4.2: `textstring` is HT and
/// 32-126), whatever the client sent and whatever the reply says.
#[test]
fn replies_are_printable_ascii() {
    let mut bad = Vec::new();
    for input in [
        &b"EHLO x\r\nMAIL FROM:a@b.org\r\nMAIL FROM: <a@b.org>\r\nMAIL FROM:<a@b.org\r\n"[..],
        b"EHLO x\r\nMAIL FROM:<a@b.org>x\r\nMAIL FROM:<@r>\r\nMAIL FROMx\r\nMAIL FROM:<a@b.org> \xc3\xa9=1\r\n",
        b"EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:c@d.org\r\nRCPT TO: <c@d.org>\r\nRCPT TO:<c@d.org> X=\xff\r\n",
        b"EHLO \xc3\xa9\xff\r\nHELO \xe2\x82\xac\r\nAUTH \xc3\xa9\r\nVRFY \xff\r\nXYZ\r\n",
        b"EHLO x\r\nMAIL FROM:<\xc3\xa9@b.org>\r\nMAIL FROM:<a@b.org> SIZE=\xc3\xa9 BODY=x\r\n",
        // The address parser's complaint quotes the client's label (here
        // with U+202E RIGHT-TO-LEFT OVERRIDE, found by the fuzz target).
        b"EHLO x\r\nMAIL FROM:<a@mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\xe2\x80\xae.org>\r\n",
        b"EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<b@mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\xc3\xa9.org>\r\n",
    ] {
        let s = session(Config::default(), input);
        for line in s.out.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
                bad.push(line.escape_ascii().to_string());
            }
        }
    }
    assert!(
        bad.is_empty(),
        "reply lines with octets other than printable ASCII:\n{}",
        bad.join("\n")
    );
}

#[test]
fn bare_cr_lf_and_nul_in_command_lines_get_500() {
    for line in [
        &b"NOOP\n"[..],
        b"NO\rOP\r\n",
        b"NOOP\r\r\n",
        b"NOOP\0\r\n",
        b"MAIL FROM:<a@b.org>\n",
        b"\n",
        b"\r\n",
        b" NOOP\r\n",
    ] {
        let mut input = b"EHLO x\r\n".to_vec();
        input.extend_from_slice(line);
        input.extend_from_slice(OK_TAIL.as_bytes());
        let s = session(Config::default(), &input);
        s.check(
            s.replies.get(2).is_some_and(|r| r.status() == "500 5.5.2"),
            format!("{}: want 500 5.5.2", line.escape_ascii()),
        );
        expect_ok_tail(&s, &line.escape_ascii().to_string());
    }
}

// -------------------------------------------------------- SMTP smuggling

const SMUGGLED_TXN: &str = "MAIL FROM:<evil@attacker.example>\r\n\
                            RCPT TO:<victim@example.org>\r\nDATA\r\n\
                            Subject: smuggled\r\n\r\nsmuggled\r\n";

/// A message with `end` (a would-be end of data) and a whole transaction
/// after it, then the real `<CRLF>.<CRLF>` and QUIT.
fn smuggling_session(prefix: &[u8], end: &[u8]) -> Session {
    let mut input = b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n\
                      DATA\r\nSubject: carrier\r\n\r\n"
        .to_vec();
    input.extend_from_slice(prefix);
    input.extend_from_slice(end);
    input.extend_from_slice(SMUGGLED_TXN.as_bytes());
    input.extend_from_slice(b".\r\nQUIT\r\n");
    session(Config::default(), &input)
}

#[track_caller]
fn expect_smuggling_refused(s: &Session, what: &str, code: &str) {
    s.expect_statuses(&[
        "220 localhost",
        "250 localhost",
        "250 2.1.0",
        "250 2.1.5",
        "354 End",
        code,
        "221 2.0.0",
    ]);
    s.check(s.stored.is_empty(), format!("{what}: a message was stored"));
    for e in &s.events {
        if let Event::Refused { command, .. } = e {
            s.check(
                command == "DATA",
                format!("{what}: a refusal for {command:?}: the smuggled commands ran"),
            );
        }
        s.check(
            !matches!(e, Event::Stored(_)),
            format!("{what}: a Stored event"),
        );
    }
}

#[test]
fn smuggled_end_of_data_forms_never_end_the_message() {
    for end in [
        &b"\n.\n"[..],
        b"\r.\r",
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r\n.\r",
        b"\r.\r\n",
        b"\r\n.\rX\r\n",
        b"\r\n.\r\r\n",
        b"\n.\r",
        b"\r\n\n.\n",
        b"\r\n..\n",
        b"\r.\n",
    ] {
        let what = format!("hello{}", end.escape_ascii());
        let s = smuggling_session(b"hello", end);
        expect_smuggling_refused(&s, &what, "550 5.5.2");
    }
}

/// An over-long line ended by a bare LF, then `.<CRLF>`: `<LF>.<CRLF>` is
/// not the end of the message either, however long the line before it.
#[test]
fn a_bare_lf_after_an_over_long_line_then_dot_crlf_does_not_end_the_message() {
    let long = vec![b'x'; 1200];
    let s = smuggling_session(&long, b"\n.\r\n");
    // 554 5.6.0 (line too long) or 550 5.5.2 (smuggling): either refuses
    // the one message; what matters is that it ends at the real end.
    let code = s.replies.get(5).map(Reply::status).unwrap_or_default();
    s.check(
        code == "554 5.6.0" || code == "550 5.5.2",
        format!("want the message refused, got {code}"),
    );
    expect_smuggling_refused(&s, "x*1200 <LF>.<CRLF>", &code);
}

#[test]
fn smuggling_over_bdat_is_just_content() {
    // In BDAT, `.` lines are content (no dot-stuffing, RFC 3030): a chunk
    // holding `<CRLF>.<CRLF>` and commands is stored as it is.
    let chunk = "Subject: b\r\n\r\nx\r\n.\r\nMAIL FROM:<evil@attacker.example>\r\n";
    let input = format!(
        "EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nBDAT {} LAST\r\n{chunk}QUIT\r\n",
        chunk.len()
    );
    let s = session_str(Config::default(), &input);
    s.expect_statuses(&[
        "220 localhost",
        "250 localhost",
        "250 2.1.0",
        "250 2.1.5",
        "250 2.0.0",
        "221 2.0.0",
    ]);
    s.check(
        s.stored.len() == 1 && content_of(&s.stored[0]) == Some(chunk.as_bytes()),
        "the chunk not stored byte-exact",
    );
}

// ------------------------------------------------------------------ limits

#[test]
fn command_lines_over_512_octets_get_500_5_5_2() {
    // 512 octets with CRLF is allowed (the address is then refused or
    // accepted on its merits); 513 is too long.
    for (len, too_long) in [(512, false), (513, true), (600, true), (100_000, true)] {
        let head = "VRFY ";
        let line = format!("{head}{}\r\n", "v".repeat(len - head.len() - 2));
        assert_eq!(line.len(), len);
        let input = format!("EHLO x\r\n{line}{OK_TAIL}");
        let s = session_str(Config::default(), &input);
        let r = s.replies.get(2).map(Reply::status).unwrap_or_default();
        if too_long {
            s.check(r == "500 5.5.2", format!("{len} octets: want 500 5.5.2"));
            s.check(
                s.replies[2].text().contains("too long"),
                "the reply does not say the line is too long",
            );
        } else {
            s.check(r.starts_with("252"), format!("{len} octets: want 252"));
        }
        expect_ok_tail(&s, &format!("a {len}-octet command line"));
    }
}

fn one_message(content: &[u8], data: bool) -> Vec<u8> {
    let mut input = b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n".to_vec();
    if data {
        input.extend_from_slice(b"DATA\r\n");
        input.extend_from_slice(content);
        input.extend_from_slice(b".\r\n");
    } else {
        input.extend_from_slice(format!("BDAT {} LAST\r\n", content.len()).as_bytes());
        input.extend_from_slice(content);
    }
    input.extend_from_slice(b"QUIT\r\n");
    input
}

#[test]
fn text_lines_over_1000_octets_get_554_5_6_0_in_data_and_bdat() {
    for data in [true, false] {
        let how = if data { "DATA" } else { "BDAT" };
        for (len, too_long) in [(1000, false), (1001, true), (1002, true), (70_000, true)] {
            let mut content = b"Subject: long\r\n\r\n".to_vec();
            content.extend(std::iter::repeat_n(b'y', len - 2));
            content.extend_from_slice(b"\r\nend\r\n");
            let s = session(Config::default(), &one_message(&content, data));
            let r = s.replies.get(4 + usize::from(data)).map(Reply::status);
            if too_long {
                s.check(
                    r.as_deref() == Some("554 5.6.0"),
                    format!("{how}, a {len}-octet line: want 554 5.6.0"),
                );
                s.check(
                    s.stored.is_empty(),
                    format!("{how}: stored a {len}-octet line"),
                );
            } else {
                s.check(
                    r.as_deref() == Some("250 2.0.0") && s.stored.len() == 1,
                    format!("{how}, a {len}-octet line: want it stored"),
                );
            }
            s.check(
                s.replies.last().is_some_and(|r| r.code == 221),
                format!("{how}: the session did not go on to QUIT"),
            );
        }
    }
    // A dot-stuffed line may have 1001 octets: the stuffed dot does not count.
    let mut content = b"Subject: dot\r\n\r\n..".to_vec();
    content.extend(std::iter::repeat_n(b'z', 997));
    content.extend_from_slice(b"\r\n");
    let s = session(Config::default(), &one_message(&content, true));
    s.check(
        s.replies.get(5).is_some_and(|r| r.status() == "250 2.0.0"),
        "a stuffed line of 1000 octets (1001 on the wire) refused",
    );
}

#[test]
fn the_101st_recipient_gets_452_4_5_3_and_100_are_delivered() {
    let mut input = String::from("EHLO x\r\nMAIL FROM:<a@example.org>\r\n");
    for i in 0..101 {
        input.push_str(&format!("RCPT TO:<r{i}@example.org>\r\n"));
    }
    input.push_str("DATA\r\nSubject: many\r\n\r\nhi\r\n.\r\nQUIT\r\n");
    let s = session_str(Config::default(), &input);
    let rcpt: Vec<String> = s.statuses()[3..104].to_vec();
    s.check(
        rcpt[..100].iter().all(|c| c == "250 2.1.5"),
        "the first 100 recipients were not all accepted",
    );
    s.check(rcpt[100] == "452 4.5.3", "the 101st: want 452 4.5.3");
    s.check(
        s.statuses()[104..] == ["354 End", "250 2.0.0", "221 2.0.0"],
        "the message for 100 recipients was not stored",
    );
    let m = String::from_utf8_lossy(&s.stored[0]).into_owned();
    s.check(
        m.contains("<r99@example.org>") && !m.contains("<r100@example.org>"),
        "X-Envelope-To does not list exactly the 100 accepted",
    );
    // A smaller limit holds the same way.
    let small = config_with(|l| l.max_recipients = 2);
    let s = session_str(
        small,
        "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nRCPT TO:<e@d.org>\r\nRCPT TO:<f@d.org>\r\n",
    );
    s.check(
        s.statuses()[3..] == ["250 2.1.5", "250 2.1.5", "452 4.5.3"],
        "max_recipients 2",
    );
}

#[test]
fn twenty_errors_close_the_connection_with_421_4_7_0() {
    let input = "EHLO x\r\n".to_string() + &"XYZZY\r\n".repeat(25) + "NOOP\r\n";
    let s = session_str(Config::default(), &input);
    let statuses = s.statuses();
    s.check(
        statuses[2..22].iter().all(|c| c == "500 5.5.2"),
        "20 commands not recognised",
    );
    s.check(
        statuses[22..] == ["421 4.7.0"] && s.next == Next::Closed,
        "want exactly 20 errors, then 421 4.7.0 and the end",
    );
    // Errors of every kind count, and the limit can be set.
    let few = config_with(|l| l.max_errors = 3);
    let s = session(
        few,
        b"EHLO x\r\nMAIL FROM:\xff\r\nRCPT TO:<a@b.org>\r\nNOOP\r\n\xc3\xa9\r\nNOOP\r\n",
    );
    s.expect_statuses(&[
        "220 localhost",
        "250 localhost",
        "501 5.5.4",
        "503 5.5.1",
        "250 2.0.0",
        "500 5.5.2",
        "421 4.7.0",
    ]);
}

#[test]
fn messages_over_max_size_get_552_5_3_4() {
    let small = || config_with(|l| l.max_size = 100);
    let s = session_str(
        small(),
        "EHLO x\r\nMAIL FROM:<a@b.org> SIZE=101\r\nMAIL FROM:<a@b.org> SIZE=100\r\nQUIT\r\n",
    );
    s.check(
        s.replies[1].lines.iter().any(|l| l == "SIZE 100"),
        "EHLO does not announce SIZE 100",
    );
    s.expect_statuses(&[
        "220 localhost",
        "250 localhost",
        "552 5.3.4",
        "250 2.1.0",
        "221 2.0.0",
    ]);
    for data in [true, false] {
        let mut content = b"Subject: big\r\n\r\n".to_vec();
        content.extend_from_slice(&b"0123456789\r\n".repeat(10));
        let s = session(small(), &one_message(&content, data));
        let r = s.replies.get(4 + usize::from(data)).map(Reply::status);
        s.check(
            r.as_deref() == Some("552 5.3.4") && s.stored.is_empty(),
            "a 137-octet message with max_size 100 not refused with 552 5.3.4",
        );
    }
}

// ------------------------------------------------------ BDAT and DSN

#[test]
fn bdat_chunks_are_stored_byte_exact() {
    // Chunks cut inside a CRLF, a `.` line (content in BDAT), an empty
    // chunk, and a last empty BDAT 0 LAST.
    let chunks: [&[u8]; 4] = [
        b"Subject: chunks\r\n\r\nfirst line\r",
        b"\n.\r\n..two dots stay\r\n",
        b"",
        b"8bit \xc3\xa9t\xc3\xa9\r\n",
    ];
    let mut input =
        b"EHLO x\r\nMAIL FROM:<a@example.org> BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\n"
            .to_vec();
    let mut want = Vec::new();
    for c in chunks {
        input.extend_from_slice(format!("BDAT {}\r\n", c.len()).as_bytes());
        input.extend_from_slice(c);
        want.extend_from_slice(c);
    }
    input.extend_from_slice(b"BDAT 0 LAST\r\nQUIT\r\n");
    let s = session(Config::default(), &input);
    s.expect_statuses(&[
        "220 localhost",
        "250 localhost",
        "250 2.1.0",
        "250 2.1.5",
        "250 2.0.0",
        "250 2.0.0",
        "250 2.0.0",
        "250 2.0.0",
        "250 2.0.0",
        "221 2.0.0",
    ]);
    s.check(
        s.replies[8].text().contains("stored as"),
        "BDAT 0 LAST did not store",
    );
    s.check(
        s.stored.len() == 1 && content_of(&s.stored[0]) == Some(&want[..]),
        "the chunks are not stored byte-exact",
    );
    s.check(
        s.replies[1].lines.iter().any(|l| l == "CHUNKING"),
        "CHUNKING not announced",
    );

    // One chunk with LAST, right after RCPT (pipelined), then a second
    // transaction on the same connection.
    let body = b"Subject: one\r\n\r\nbody\r\n";
    let mut input = b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\n".to_vec();
    input.extend_from_slice(format!("BDAT {} LAST\r\n", body.len()).as_bytes());
    input.extend_from_slice(body);
    input.extend_from_slice(OK_TAIL.as_bytes());
    let s = session(Config::default(), &input);
    s.check(
        s.stored.len() == 2 && content_of(&s.stored[0]) == Some(&body[..]),
        "BDAT LAST then DATA: want two messages, the first byte-exact",
    );
    expect_ok_tail(&s, "BDAT LAST, then a DATA transaction");
}

#[test]
fn bdat_out_of_order_gets_503_and_its_chunk_is_skipped() {
    // BDAT before MAIL, before RCPT: 503, the chunk is read and dropped
    // (the NOOP inside it is not run).
    let s = session_str(
        Config::default(),
        "EHLO x\r\nBDAT 6 LAST\r\nNOOP\r\nMAIL FROM:<a@b.org>\r\nBDAT 6\r\nNOOP\r\nRSET\r\nQUIT\r\n",
    );
    s.expect_statuses(&[
        "220 localhost",
        "250 localhost",
        "503 5.5.1",
        "250 2.1.0",
        "503 5.5.1",
        "250 2.0.0",
        "221 2.0.0",
    ]);
    // DATA after BDAT in one transaction: 503; the transaction goes on.
    let s = session_str(
        Config::default(),
        "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nBDAT 3\r\nA\r\nDATA\r\nBDAT 6 LAST\r\nB: c\r\nQUIT\r\n",
    );
    s.expect_statuses(&[
        "220 localhost",
        "250 localhost",
        "250 2.1.0",
        "250 2.1.5",
        "250 2.0.0",
        "503 5.5.1",
        "250 2.0.0",
        "221 2.0.0",
    ]);
    s.check(
        s.stored.len() == 1 && content_of(&s.stored[0]) == Some(&b"A\r\nB: c\r\n"[..]),
        "the two chunks around the refused DATA are not the message",
    );
    // A bare LF in a chunk: 550 5.5.2, nothing stored.
    let s = session(
        Config::default(),
        &one_message(b"Subject: x\n\nbare\n", false),
    );
    s.check(
        s.replies.get(4).is_some_and(|r| r.status() == "550 5.5.2") && s.stored.is_empty(),
        "a chunk with bare LF: want 550 5.5.2",
    );
    // BDAT with a size that is not a number cannot be skipped: 501, closed.
    let s = session_str(
        Config::default(),
        "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nBDAT x\r\nNOOP\r\n",
    );
    s.check(
        s.statuses()[4..] == ["501 5.5.4"] && s.next == Next::Closed,
        "BDAT x: want 501 and the end",
    );
}

/// EHLO (or HELO) in the middle of a BDAT transaction resets it (RFC 5321
/// §4.1.4): the chunks taken before must not turn up in the next message,
/// nor its envelope in the next message's trace headers.
#[test]
fn ehlo_in_the_middle_of_bdat_chunks_discards_them() {
    for hello in ["EHLO again", "HELO again"] {
        let input = format!(
            "EHLO x\r\nMAIL FROM:<old@example.org>\r\nRCPT TO:<old-rcpt@example.org>\r\n\
             BDAT 5\r\nOLD\r\n{hello}\r\nMAIL FROM:<new@example.org>\r\nRCPT TO:<new-rcpt@example.org>\r\n\
             BDAT 5 LAST\r\nNEW\r\nQUIT\r\n"
        );
        let s = session_str(Config::default(), &input);
        s.check(s.stored.len() == 1, format!("{hello}: want one message"));
        let m = &s.stored[0];
        s.check(
            content_of(m) == Some(&b"NEW\r\n"[..]),
            format!("{hello}: the message holds chunks of the transaction it reset"),
        );
        s.check(
            contains(m, b"X-Envelope-To: <new-rcpt@example.org>\r\n")
                && contains(m, b"Return-Path: <new@example.org>\r\n"),
            format!("{hello}: the trace headers name another transaction's envelope"),
        );
    }
}

/// RFC 3030: the message follows MAIL and RCPT. A RCPT between BDAT chunks
/// (found by the `sandbox_session` fuzz target) must not make the stored
/// message's envelope (written with the first chunk) differ from the one
/// reported: it is refused, or it is in both.
#[test]
fn rcpt_between_bdat_chunks_does_not_split_the_envelope() {
    let s = session_str(
        Config::default(),
        "EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nBDAT 3\r\nA\r\n\
         RCPT TO:<late@example.org>\r\nBDAT 3 LAST\r\nB\r\nQUIT\r\n",
    );
    let late = s.replies.get(5).map(Reply::status).unwrap_or_default();
    s.check(s.stored.len() == 1, "want the message stored");
    let st = s.events.iter().find_map(|e| match e {
        Event::Stored(st) => Some(st.clone()),
        _ => None,
    });
    let Some(st) = st else {
        s.fail("no Stored event");
    };
    let reported: Vec<&str> = st.recipients.iter().map(|r| r.address.as_str()).collect();
    let listed = if contains(&s.stored[0], b"<late@example.org>") {
        vec!["b@example.org", "late@example.org"]
    } else {
        vec!["b@example.org"]
    };
    s.check(
        reported == listed,
        format!(
            "RCPT between chunks got {late}; the Stored event reports {reported:?}, the \
             message's X-Envelope-To lists {listed:?}"
        ),
    );
    s.check(
        late.starts_with('5') || listed.len() == 2,
        format!("the late RCPT got {late} but is not in the message's envelope"),
    );
}

#[test]
fn dsn_parameters_are_kept_with_the_envelope() {
    let input = "EHLO x\r\nMAIL FROM:<a@example.org> RET=HDRS ENVID=x\r\n\
                 RCPT TO:<b@c.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@c.org\r\n\
                 RCPT TO:<d@c.org>\r\nDATA\r\nSubject: dsn\r\n\r\nhi\r\n.\r\nQUIT\r\n";
    let s = session_str(Config::default(), input);
    s.expect_statuses(&[
        "220 localhost",
        "250 localhost",
        "250 2.1.0",
        "250 2.1.5",
        "250 2.1.5",
        "354 End",
        "250 2.0.0",
        "221 2.0.0",
    ]);
    s.check(
        s.replies[1].lines.iter().any(|l| l == "DSN"),
        "DSN not announced",
    );
    let m = &s.stored[0];
    s.check(
        contains(
            m,
            b"X-Envelope-To: <b@c.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@c.org,\r\n <d@c.org>\r\n",
        ),
        "X-Envelope-To does not carry NOTIFY and ORCPT",
    );
    s.check(
        contains(m, b"X-Envelope-DSN: RET=HDRS ENVID=x\r\n"),
        "X-Envelope-DSN missing",
    );
    let stored = s.events.iter().find_map(|e| match e {
        Event::Stored(st) => Some(st.clone()),
        _ => None,
    });
    let Some(st) = stored else {
        s.fail("no Stored event");
    };
    s.check(
        st.ret.as_deref() == Some("HDRS") && st.envid.as_deref() == Some("x"),
        format!("the Stored event's RET/ENVID: {:?} {:?}", st.ret, st.envid),
    );
    s.check(
        st.recipients.len() == 2
            && st.recipients[0].notify.as_deref() == Some("SUCCESS,FAILURE")
            && st.recipients[0].orcpt.as_deref() == Some("rfc822;b@c.org")
            && st.recipients[1].notify.is_none(),
        format!("the Stored event's recipients: {:?}", st.recipients),
    );

    for bad in [
        "MAIL FROM:<a@b.org> RET=XYZ",
        "MAIL FROM:<a@b.org> RET",
        "MAIL FROM:<a@b.org> ENVID=a=b",
        "MAIL FROM:<a@b.org> ENVID=a+2",
        "MAIL FROM:<a@b.org> RET=FULL RET=HDRS",
    ] {
        let s = session_str(Config::default(), &format!("EHLO x\r\n{bad}\r\n{OK_TAIL}"));
        s.check(
            s.replies.get(2).is_some_and(|r| r.code == 501),
            format!("{bad}: want 501"),
        );
        expect_ok_tail(&s, bad);
    }
    for bad in [
        "RCPT TO:<b@c.org> NOTIFY=SOMETIMES",
        "RCPT TO:<b@c.org> NOTIFY=NEVER,SUCCESS",
        "RCPT TO:<b@c.org> NOTIFY=SUCCESS,SUCCESS",
        "RCPT TO:<b@c.org> NOTIFY",
        "RCPT TO:<b@c.org> ORCPT=nosemicolon",
        "RCPT TO:<b@c.org> ORCPT=rfc822;",
        "RCPT TO:<b@c.org> ORCPT=;b@c.org",
        "RCPT TO:<b@c.org> ORCPT=rfc822;a=b",
    ] {
        let s = session_str(
            Config::default(),
            &format!("EHLO x\r\nMAIL FROM:<a@b.org>\r\n{bad}\r\nRSET\r\n{OK_TAIL}"),
        );
        s.check(
            s.replies.get(3).is_some_and(|r| r.code == 501),
            format!("{bad}: want 501"),
        );
        expect_ok_tail(&s, bad);
    }
}

#[test]
fn auth_exchanges_with_hostile_responses_end_cleanly() {
    for (exchange, want) in [
        (&b"AUTH PLAIN\r\n*\r\n"[..], "501 5.7.0"),
        (b"AUTH PLAIN\r\n\xff\xfe\r\n", "501 5.5.2"),
        (b"AUTH PLAIN\r\nAGRlbW8A\xc3\r\n", "501 5.5.2"),
        (b"AUTH PLAIN\r\n=\r\n", "501 5.5.2"),
        (b"AUTH PLAIN\r\nAA==\n", "500 5.5.2"),
        (b"AUTH PLAIN AGRlbW8Ad3Jvbmc=\r\n", "535 5.7.8"),
        (b"AUTH LOGIN\r\nZGVtbw==\r\n*\r\n", "501 5.7.0"),
        (b"AUTH LOGIN \xe2\x82\r\n", "501 5.5.2"),
        (b"AUTH \xc3\xa9\r\n", "504 5.5.4"),
        (b"AUTH\r\n", "501 5.5.4"),
        (b"AUTH PLAIN a b\r\n", "501 5.5.4"),
    ] {
        let mut input = b"EHLO x\r\n".to_vec();
        input.extend_from_slice(exchange);
        input.extend_from_slice(OK_TAIL.as_bytes());
        let s = session(Config::default(), &input);
        let final_reply = s.replies.iter().skip(2).find(|r| r.code != 334);
        s.check(
            final_reply.is_some_and(|r| r.status() == want),
            format!("{}: want {want}", exchange.escape_ascii()),
        );
        expect_ok_tail(&s, &exchange.escape_ascii().to_string());
    }
    // Without an account, AUTH is not offered.
    let no_auth = Config {
        auth: None,
        ..Config::default()
    };
    let s = session_str(
        no_auth,
        "EHLO x\r\nAUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==\r\n",
    );
    s.check(
        !s.replies[1].lines.iter().any(|l| l.starts_with("AUTH")),
        "AUTH announced without an account",
    );
    s.check(
        s.replies[2].code == 502,
        "AUTH without an account: want 502",
    );
}

// ------------------------------------------------------------ over TCP

/// A loopback SMTP client that keeps a transcript.
struct Client {
    stream: TcpStream,
    pending: Vec<u8>,
    log: String,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .expect("write timeout");
        Client {
            stream,
            pending: Vec::new(),
            log: String::new(),
        }
    }

    #[track_caller]
    fn fail(&self, why: impl std::fmt::Display) -> ! {
        panic!("{why}\n--- transcript:\n{}", self.log)
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.log.push_str(&show_lines("C: ", bytes));
        self.stream.write_all(bytes)
    }

    #[track_caller]
    fn say(&mut self, bytes: &[u8]) {
        if let Err(e) = self.send(bytes) {
            self.fail(format!("write: {e}"));
        }
    }

    /// One whole reply (all its lines) or why none came (`eof`, an error).
    fn reply(&mut self) -> Result<Reply, String> {
        let mut text = Vec::new();
        loop {
            while let Some(i) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.pending.drain(..i + 2).collect();
                self.log.push_str(&show_lines("S: ", &line));
                text.extend_from_slice(&line);
                if line.get(3) != Some(&b'-') {
                    let mut replies = parse_replies(&text)?;
                    return replies.pop().ok_or_else(|| "empty reply".to_string());
                }
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    self.log.push_str("S: <closed>\n");
                    return Err("eof".into());
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) => {
                    self.log.push_str(&format!("S: <{e}>\n"));
                    return Err(e.to_string());
                }
            }
        }
    }

    /// The next reply's status must start with `want`.
    #[track_caller]
    fn expect(&mut self, want: &str) -> Reply {
        match self.reply() {
            Ok(r) if r.status().starts_with(want) || r.code.to_string() == want => r,
            Ok(r) => self.fail(format!("want {want}, got {}", r.status())),
            Err(e) => self.fail(format!("want {want}, got {e}")),
        }
    }

    /// The server closes the connection (EOF or reset) within the read
    /// timeout, sending nothing more.
    #[track_caller]
    fn expect_closed(&mut self) {
        match self.reply() {
            Err(e) if !e.contains("timed out") && !e.contains("Resource temporarily") => {}
            Err(e) => self.fail(format!("want the connection closed, got {e}")),
            Ok(r) => self.fail(format!("want the connection closed, got {}", r.status())),
        }
    }

    /// EHLO, one message with `subject`, QUIT.
    #[track_caller]
    fn deliver(&mut self, subject: &str) {
        self.expect("220");
        self.say(b"EHLO good.example\r\n");
        self.expect("250");
        self.say(b"MAIL FROM:<good@example.org>\r\nRCPT TO:<rcpt@example.org>\r\nDATA\r\n");
        self.expect("250 2.1.0");
        self.expect("250 2.1.5");
        self.expect("354");
        self.say(format!("Subject: {subject}\r\n\r\nhello\r\n.\r\n").as_bytes());
        let r = self.expect("250 2.0.0");
        if !r.text().contains("stored as") {
            self.fail("the 250 does not say 'stored as'");
        }
        self.say(b"QUIT\r\n");
        self.expect("221");
    }
}

/// Waits (at most `within`) until the server has no open connection.
fn wait_idle(h: &Handle, within: Duration) -> bool {
    let until = Instant::now() + within;
    while h.active() > 0 {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn start(config: Config) -> (Handle, Arc<MemoryStore>, Arc<Mutex<Vec<Event>>>) {
    let store = Arc::new(MemoryStore::default());
    let (events, seen) = collector();
    let h = Handle::start(config, store.clone(), Some(events)).expect("start the server");
    assert!(h.addr().ip().is_loopback(), "listens on {}", h.addr());
    (h, store, seen)
}

fn events_text(seen: &Mutex<Vec<Event>>) -> String {
    seen.lock()
        .expect("events lock")
        .iter()
        .map(|e| format!("{e:?}\n"))
        .collect()
}

#[test]
fn a_hundred_bad_connections_then_a_good_delivery() {
    let (h, store, seen) = start(Config::default());
    let addr = h.addr();
    for i in 0..100 {
        let mut c = Client::connect(addr);
        // Writes may fail once the server has closed: that is fine here.
        let _ = match i % 10 {
            // The issue's line, and friends, answered; then dropped.
            0 => c.send(b"EHLO x\r\nMAIL FROM\xc3\xa9<a@b>\r\nMAIL FROM:<\xc3\xa9>\r\nRCPT TO:\xff\r\n"),
            // Only garbage, no line end.
            1 => c.send(&[0xff, 0x00, 0xc3, 0x80, 0xfe, b'\r', 0xe2, 0x82]),
            // Dropped in the middle of a command line.
            2 => c.send("MAIL FROMé<a@b".as_bytes()),
            // Connects and goes.
            3 => Ok(()),
            // Dropped in the middle of a message.
            4 => c.send(
                b"EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\nSubject: half\r\n\r\nhal",
            ),
            // Dropped in the middle of a BDAT chunk.
            5 => c.send(b"EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nBDAT 100000 LAST\r\nabc"),
            // Dropped at an AUTH challenge.
            6 => c.send(b"EHLO x\r\nAUTH LOGIN\r\n"),
            // An over-long line, then gone.
            7 => c.send(&vec![b'A'; 20_000]),
            // Binary noise with line ends, more than the error limit.
            8 => c.send(&b"\x00\xff\xfe\r\n\xc3\r\n".repeat(30)),
            // Smuggling attempt, then gone.
            _ => c.send(
                b"EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\nx\n.\nMAIL FROM:<e@f.org>\r\n",
            ),
        };
        if i % 2 == 0 {
            // Read what comes (the greeting and replies) before dropping.
            let _ = c.stream.set_read_timeout(Some(Duration::from_millis(50)));
            let _ = c.reply();
        }
        drop(c);
    }
    assert!(
        wait_idle(&h, Duration::from_secs(10)),
        "{} connections still open 10 s after 100 bad clients went away\nevents:\n{}",
        h.active(),
        events_text(&seen)
    );
    let mut good = Client::connect(addr);
    good.deliver("after the storm");
    assert!(
        wait_idle(&h, Duration::from_secs(10)),
        "the good connection is still counted"
    );
    let messages = store.messages();
    assert_eq!(
        messages.len(),
        1,
        "want only the good message stored; events:\n{}",
        events_text(&seen)
    );
    assert!(contains(&messages[0], b"Subject: after the storm\r\n"));
    assert_eq!(h.delivered(), 1);
    let events = seen.lock().expect("events lock");
    let faults: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Fault { .. }))
        .collect();
    assert!(faults.is_empty(), "faults: {faults:?}");
}

#[test]
fn connections_over_the_limit_get_421_4_7_0_until_others_close() {
    let config = config_with(|l| l.max_connections = 3);
    let (h, store, seen) = start(config);
    let addr = h.addr();
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut c = Client::connect(addr);
        c.expect("220");
        open.push(c);
    }
    assert_eq!(h.active(), 3);
    for _ in 0..2 {
        let mut extra = Client::connect(addr);
        extra.expect("421 4.7.0");
        extra.expect_closed();
    }
    let refused = seen
        .lock()
        .expect("events lock")
        .iter()
        .filter(|e| matches!(e, Event::Refused { reply, .. } if reply.starts_with("421 4.7.0")))
        .count();
    assert_eq!(refused, 2, "Refused events for the extra connections");
    // The three still work.
    for c in &mut open {
        c.say(b"NOOP\r\n");
        c.expect("250");
    }
    // One closes: one more is served.
    let mut first = open.remove(0);
    first.say(b"QUIT\r\n");
    first.expect("221");
    first.expect_closed();
    drop(first);
    assert!(
        wait_idle_below(&h, 3, Duration::from_secs(5)),
        "a closed connection still counted"
    );
    let mut next = Client::connect(addr);
    next.deliver("a slot was free");
    drop(next);
    drop(open);
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
    let mut last = Client::connect(addr);
    last.deliver("all free");
    assert_eq!(store.messages().len(), 2);
}

fn wait_idle_below(h: &Handle, n: usize, within: Duration) -> bool {
    let until = Instant::now() + within;
    while h.active() >= n {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn short_timeouts() -> Config {
    config_with(|l| {
        l.idle_timeout = Duration::from_secs(1);
        l.data_timeout = Duration::from_secs(2);
    })
}

/// Reads the reply the server sends on its own (a 421) and checks when.
#[track_caller]
fn expect_421_within(c: &mut Client, since: Instant, want: &str, min: Duration, max: Duration) {
    let r = match c.reply() {
        Ok(r) if r.status().starts_with(want) => r,
        Ok(r) => c.fail(format!("want {want}, got {}", r.status())),
        Err(e) => c.fail(format!(
            "want {want} within {max:?}, got no reply in {:?} ({e}): the server let the \
             client hold the connection",
            since.elapsed()
        )),
    };
    let took = since.elapsed();
    if took < min || took > max {
        c.fail(format!(
            "{} after {took:?}: want it between {min:?} and {max:?}",
            r.status()
        ));
    }
    c.expect_closed();
}

#[test]
fn an_idle_client_gets_421_4_4_2() {
    let (h, _store, _seen) = start(short_timeouts());
    let mut c = Client::connect(h.addr());
    c.expect("220");
    let t = Instant::now();
    // Before EHLO, replies carry no enhanced code (RFC 2034).
    expect_421_within(
        &mut c,
        t,
        "421",
        Duration::from_millis(900),
        Duration::from_secs(4),
    );
    // Idle halfway through a command line, after EHLO.
    let mut c = Client::connect(h.addr());
    c.expect("220");
    c.say(b"EHLO x\r\n");
    c.expect("250");
    let t = Instant::now();
    c.say(b"MAIL FROM:<a@b");
    expect_421_within(
        &mut c,
        t,
        "421 4.4.2",
        Duration::from_millis(900),
        Duration::from_secs(4),
    );
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
}

/// A client that answers an AUTH challenge never is an idle client too:
/// `421 4.4.2` after the idle timeout, not a 501 and another wait.
#[test]
fn an_idle_client_at_an_auth_challenge_gets_421_4_4_2() {
    let (h, _store, _seen) = start(short_timeouts());
    let mut c = Client::connect(h.addr());
    c.expect("220");
    c.say(b"EHLO x\r\nAUTH LOGIN\r\n");
    c.expect("250");
    c.expect("334");
    let t = Instant::now();
    expect_421_within(
        &mut c,
        t,
        "421 4.4.2",
        Duration::from_millis(900),
        Duration::from_secs(2),
    );
    drop(c);
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
}

/// Writes `bytes` one at a time every `every` on its own thread, until done
/// or the server closes.
fn trickle(stream: &TcpStream, bytes: Vec<u8>, every: Duration) -> std::thread::JoinHandle<usize> {
    let mut w = stream.try_clone().expect("clone the stream");
    std::thread::spawn(move || {
        let mut sent = 0;
        for b in bytes {
            std::thread::sleep(every);
            if w.write_all(&[b]).is_err() {
                break;
            }
            sent += 1;
        }
        sent
    })
}

#[test]
fn a_client_trickling_a_byte_every_200_ms_is_closed_with_421_4_4_2() {
    let (h, _store, _seen) = start(short_timeouts());
    let mut c = Client::connect(h.addr());
    c.expect("220");
    c.say(b"EHLO x\r\n");
    c.expect("250");
    let line = b"VRFY a-rather-long-name-sent-one-byte-at-a-time@example.org\r\n".to_vec();
    let t = Instant::now();
    let writer = trickle(&c.stream, line.clone(), Duration::from_millis(200));
    expect_421_within(
        &mut c,
        t,
        "421 4.4.2",
        Duration::from_millis(900),
        Duration::from_secs(4),
    );
    let sent = writer.join().expect("writer thread");
    assert!(
        sent < line.len(),
        "the whole line ({sent} octets) got through by trickling"
    );
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
}

#[test]
fn a_client_sending_a_message_line_by_line_too_slowly_is_closed_with_421_4_4_2() {
    let (h, store, _seen) = start(short_timeouts());
    // In a message: each line arrives in time (one every 200 ms), but the
    // message as a whole takes longer than data_timeout (2 s).
    let mut c = Client::connect(h.addr());
    c.expect("220");
    c.say(b"EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n");
    for want in ["250", "250 2.1.0", "250 2.1.5", "354"] {
        c.expect(want);
    }
    let t = Instant::now();
    let lines = b"one line every 200 ms\r\n".repeat(40);
    let writer = std::thread::spawn({
        let mut w = c.stream.try_clone().expect("clone");
        move || {
            for line in lines.chunks(23) {
                std::thread::sleep(Duration::from_millis(200));
                if w.write_all(line).is_err() {
                    break;
                }
            }
        }
    });
    expect_421_within(
        &mut c,
        t,
        "421 4.4.2",
        Duration::from_millis(1900),
        Duration::from_secs(5),
    );
    writer.join().expect("writer thread");
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
    assert!(store.messages().is_empty(), "the slow message was stored");
}

// ---------------------------------------------------- a store that panics

/// Panics on the first message, then stores in memory.
struct PanicsOnce {
    panicked: AtomicBool,
    inner: MemoryStore,
}

impl Store for PanicsOnce {
    fn begin(&self) -> io::Result<Box<dyn Delivery>> {
        if !self.panicked.swap(true, Ordering::SeqCst) {
            panic!("the test store panics on purpose\nwith a second line");
        }
        self.inner.begin()
    }
}

#[test]
fn a_panic_in_a_connection_closes_it_reports_one_line_and_the_server_goes_on() {
    let store = Arc::new(PanicsOnce {
        panicked: AtomicBool::new(false),
        inner: MemoryStore::default(),
    });
    let (events, seen) = collector();
    let h = Handle::start(Config::default(), store.clone(), Some(events)).expect("start");
    let mut c = Client::connect(h.addr());
    c.expect("220");
    // One command at a time: the replies are not lost with the connection.
    for (command, want) in [
        (&b"EHLO x\r\n"[..], "250"),
        (b"MAIL FROM:<a@b.org>\r\n", "250 2.1.0"),
        (b"RCPT TO:<c@d.org>\r\n", "250 2.1.5"),
    ] {
        c.say(command);
        c.expect(want);
    }
    c.say(b"DATA\r\n");
    // The store panics when the message starts: no 354, the connection closes.
    c.expect_closed();
    assert!(
        wait_idle(&h, Duration::from_secs(5)),
        "the panicked connection is still counted"
    );
    let faults: Vec<String> = seen
        .lock()
        .expect("events lock")
        .iter()
        .filter_map(|e| match e {
            Event::Fault { what, .. } => Some(what.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(faults.len(), 1, "want one Fault event, got {faults:?}");
    assert!(
        faults[0].contains("panics on purpose") && !faults[0].contains(['\n', '\r']),
        "the Fault is not the panic on one line: {:?}",
        faults[0]
    );
    let mut next = Client::connect(h.addr());
    next.deliver("after the panic");
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
    assert_eq!(store.inner.messages().len(), 1);
    assert_eq!(h.delivered(), 1);
}

// ------------------------------------------------------ hostile STARTTLS

/// A configuration offering STARTTLS (one certificate for the whole test
/// run), short timeouts, and a client configuration trusting it.
fn tls_configs() -> (Config, Arc<rustls::ClientConfig>) {
    static CONFIGS: std::sync::OnceLock<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>)> =
        std::sync::OnceLock::new();
    let (server, client) = CONFIGS.get_or_init(|| {
        let ca = smtpsh::sandbox::cert::Authority::generate().expect("a CA");
        (
            Arc::new(ca.server_config().expect("server TLS")),
            Arc::new(ca.client_config().expect("client TLS")),
        )
    });
    let mut config = short_timeouts();
    config.tls = Some(server.clone());
    (config, client.clone())
}

/// Connects, EHLO, STARTTLS answered 220.
fn after_starttls(addr: SocketAddr) -> Client {
    let mut c = Client::connect(addr);
    c.expect("220");
    c.say(b"EHLO x\r\n");
    let ehlo = c.expect("250");
    if !ehlo.lines.iter().any(|l| l == "STARTTLS") {
        c.fail("STARTTLS not offered");
    }
    c.say(b"STARTTLS\r\n");
    c.expect("220 2.0.0");
    c
}

/// The server closes the connection between `min` and `max` after `since`.
#[track_caller]
fn expect_closed_within(c: &mut Client, since: Instant, min: Duration, max: Duration) {
    // A TLS alert may come first: read until the end.
    let mut buf = [0u8; 4096];
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => c.log.push_str(&format!("S: <{n} octets>\n")),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                c.fail(format!(
                    "still open after {:?} (want it closed within {max:?})",
                    since.elapsed()
                ))
            }
            Err(_) => break, // reset
        }
    }
    let took = since.elapsed();
    if took < min || took > max {
        c.fail(format!(
            "closed after {took:?}: want it between {min:?} and {max:?}"
        ));
    }
}

#[test]
fn after_starttls_silence_or_garbage_closes_the_connection_and_tls_still_works() {
    let (config, client_config) = tls_configs();
    let (h, store, seen) = start(config);
    // Silence where the handshake should be: closed after the idle timeout.
    let mut c = after_starttls(h.addr());
    let t = Instant::now();
    expect_closed_within(
        &mut c,
        t,
        Duration::from_millis(900),
        Duration::from_secs(4),
    );
    // Plaintext instead of a ClientHello, and a record cut short.
    for bytes in [
        &b"MAIL FROM:<a@b.org>\r\n"[..],
        b"\x16\x03\x01\x00\x05\x01\x00",
        b"\x16\x03\x01\x00\x01\xff",
        b"\x15\x03\x03\x00\x02\x02\x28",
    ] {
        let mut c = after_starttls(h.addr());
        let t = Instant::now();
        c.say(bytes);
        if bytes.len() == 7 && bytes[4] == 5 {
            // Cut short: the server waits for the rest, up to the idle timeout.
            expect_closed_within(&mut c, t, Duration::ZERO, Duration::from_secs(4));
        } else {
            expect_closed_within(&mut c, t, Duration::ZERO, Duration::from_secs(2));
        }
    }
    assert!(
        wait_idle(&h, Duration::from_secs(5)),
        "connections left after bad handshakes"
    );

    // A real TLS client still gets its message through.
    let c = after_starttls(h.addr());
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(client_config, name).expect("client");
    let mut tls = rustls::StreamOwned::new(conn, c.stream);
    let mut transcript = String::new();
    let mut exchange = |tls: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
                        send: &[u8],
                        replies: usize|
     -> Vec<String> {
        transcript.push_str(&show_lines("C: ", send));
        tls.write_all(send).expect("write over TLS");
        let mut got = Vec::new();
        let mut pending = Vec::new();
        while got.len() < replies {
            let mut buf = [0u8; 4096];
            let n = tls.read(&mut buf).unwrap_or_else(|e| {
                panic!("read over TLS: {e}\n{transcript}");
            });
            assert!(n > 0, "closed over TLS\n{transcript}");
            pending.extend_from_slice(&buf[..n]);
            while let Some(i) = pending.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = pending.drain(..i + 2).collect();
                transcript.push_str(&show_lines("S: ", &line));
                if line.get(3) != Some(&b'-') {
                    got.push(String::from_utf8_lossy(&line[..line.len() - 2]).into_owned());
                }
            }
        }
        got
    };
    let r = exchange(&mut tls, b"EHLO tls.example\r\n", 1);
    assert!(r[0].starts_with("250 "), "{r:?}");
    let r = exchange(
        &mut tls,
        b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n",
        3,
    );
    assert!(r[2].starts_with("354 "), "{r:?}");
    let r = exchange(
        &mut tls,
        b"Subject: over TLS\r\n\r\nsecret\r\n.\r\nQUIT\r\n",
        2,
    );
    assert!(
        r[0].starts_with("250 2.0.0") && r[1].starts_with("221 "),
        "{r:?}"
    );
    drop(tls);
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
    let messages = store.messages();
    assert_eq!(messages.len(), 1, "events:\n{}", events_text(&seen));
    assert!(contains(&messages[0], b" with ESMTPS id "));
    assert!(messages[0].ends_with(b"\r\nSubject: over TLS\r\n\r\nsecret\r\n"));
    let events = seen.lock().expect("events lock");
    assert!(
        !events.iter().any(|e| matches!(e, Event::Fault { .. })),
        "faults: {events:?}"
    );
}

/// A client that sends its TLS handshake one byte every 200 ms cannot
/// hold the connection longer than the idle timeout either.
#[test]
fn a_client_trickling_its_tls_handshake_is_closed() {
    let (config, _) = tls_configs();
    let (h, _store, _seen) = start(config);
    let mut c = after_starttls(h.addr());
    // A handshake record announcing 16 KiB, then its bytes, slowly.
    let mut bytes = b"\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03".to_vec();
    bytes.extend(std::iter::repeat_n(0x41, 100));
    let t = Instant::now();
    let writer = trickle(&c.stream, bytes, Duration::from_millis(200));
    expect_closed_within(
        &mut c,
        t,
        Duration::from_millis(900),
        Duration::from_secs(4),
    );
    drop(c);
    let _ = writer.join();
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
}

/// A client that pipelines more bad commands than the error limit gets
/// every reply up to the 421 over TCP, even though it sent more than the
/// server read (closing with unread input must not reset the replies away).
#[test]
fn over_tcp_the_421_after_too_many_errors_arrives_whole() {
    let (h, _store, _seen) = start(Config::default());
    for extra in [5, 2000] {
        let mut c = Client::connect(h.addr());
        c.expect("220");
        c.say(&b"XYZZY\r\n".repeat(20 + extra));
        // Let the server answer and close before reading anything.
        std::thread::sleep(Duration::from_millis(300));
        for i in 0..20 {
            match c.reply() {
                Ok(r) if r.status() == "500 Command" => {}
                Ok(r) => c.fail(format!("reply {i}: want 500, got {}", r.status())),
                Err(e) => c.fail(format!("reply {i}: want 500, got {e}")),
            }
        }
        c.expect("421");
        c.expect_closed();
    }
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
}

/// After the handshake too: a TLS record sent a byte every 200 ms cannot
/// hold the connection past the idle timeout (the record is never whole,
/// so no plaintext line ever arrives).
#[test]
fn a_client_trickling_a_tls_record_after_the_handshake_is_closed() {
    let (config, client_config) = tls_configs();
    let (h, _store, _seen) = start(config);
    let c = after_starttls(h.addr());
    let mut log = c.log;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(client_config, name).expect("client");
    let mut tls = rustls::StreamOwned::new(conn, c.stream);
    tls.write_all(b"EHLO tls.example\r\n")
        .expect("EHLO over TLS");
    let mut got = Vec::new();
    // Up to the EHLO reply's last line (`250 HELP`).
    while !got.windows(5).any(|w| w == b"250 H") {
        let mut buf = [0u8; 4096];
        let n = tls.read(&mut buf).expect("the EHLO reply over TLS");
        assert!(n > 0, "closed before the EHLO reply\n{log}");
        got.extend_from_slice(&buf[..n]);
    }
    log.push_str(&show_lines("S: ", &got));
    // One record of about 10 KB, encrypted here, sent slowly by hand.
    let rustls::StreamOwned {
        conn: mut client,
        sock: tcp,
    } = tls;
    let mut line = b"NOOP ".to_vec();
    line.extend(std::iter::repeat_n(b'x', 10_000));
    line.extend_from_slice(b"\r\n");
    client.writer().write_all(&line).expect("plaintext");
    let mut record = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut record).expect("encrypt");
    }
    let mut c = Client {
        stream: tcp,
        pending: Vec::new(),
        log,
    };
    c.log.push_str(&format!(
        "C: <a TLS record of {} octets, a byte every 200 ms>\n",
        record.len()
    ));
    let t = Instant::now();
    let writer = trickle(&c.stream, record, Duration::from_millis(200));
    expect_closed_within(
        &mut c,
        t,
        Duration::from_millis(900),
        Duration::from_secs(4),
    );
    drop(c);
    let _ = writer.join();
    assert!(wait_idle(&h, Duration::from_secs(5)), "connections left");
}
