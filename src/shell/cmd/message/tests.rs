//! `send --message` and `data --file` in-process, against a
//! [`MemoryServer`]: the bytes on the wire, the envelope, the draft after.

use super::*;
use crate::address::{Mailbox, ReversePath};
use crate::mime::normalize::normalize;
use crate::shell::execute_line;
use crate::shell::input::ScriptInput;
use crate::shell::output::Captured;
use crate::shell::session::{Live, Target};
use crate::smtp::conn::memory::{MemoryServer, greeted};
use crate::smtp::dotstuff::stuff;
use std::path::PathBuf;

/// A message with bare LFs, a bare CR, lines starting with `.` and no
/// final line ending.
const EML: &[u8] = b"From: Ann <ann@example.org>\nTo: bob@example.org\nCc: carol@example.net\n\
Subject: dots\n\n.one\n..two\r\n.\rlast";

fn on(server: &MemoryServer) -> (Session, Captured) {
    let (mut s, out) = Session::for_tests();
    let mut conn = server.connection();
    greeted(&mut conn).expect("greeting");
    s.live = Some(Live { conn, mx: None });
    run(&mut s, "ehlo client.test").expect("EHLO");
    out.take();
    (s, out)
}

fn run_with(s: &mut Session, line: &str, more: &[&str]) -> Result<(), Failure> {
    let mut input = ScriptInput::from_lines("test", more.iter().map(|l| l.to_string()).collect());
    execute_line(s, &mut input, line)
}

fn run(s: &mut Session, line: &str) -> Result<(), Failure> {
    run_with(s, line, &[])
}

/// The draft's envelope, set without talking to the server.
fn envelope(s: &mut Session, to: &[&str]) {
    s.draft.from = ReversePath::parse("ann@example.org").ok();
    s.draft.to = to.iter().filter_map(|a| Mailbox::parse(a).ok()).collect();
}

struct Eml {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Eml {
    fn line(&self, cmd: &str) -> String {
        format!("{cmd} {}", self.path.display())
    }
}

fn eml(bytes: &[u8]) -> Eml {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("message.eml");
    std::fs::write(&path, bytes).expect("write");
    Eml { dir, path }
}

fn size_param(mail: &str) -> u64 {
    mail.split_whitespace()
        .find_map(|w| w.strip_prefix("SIZE="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no SIZE= in {mail}"))
}

/// What the server stored for DATA, with the final `.` line it cut put
/// back: the dot-stuffed stream of `content`.
fn assert_data_is(server: &MemoryServer, content: &[u8]) {
    let mut wire = server.messages().pop().expect("a message");
    wire.extend_from_slice(b".\r\n");
    assert_eq!(
        String::from_utf8_lossy(&wire),
        String::from_utf8_lossy(&stuff(content))
    );
}

#[test]
fn send_message_uses_the_draft_envelope_and_sends_the_file_normalised() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server);
    envelope(&mut s, &["dan@example.org"]);
    s.draft.subject = Some("not sent".into());
    let f = eml(EML);
    run(&mut s, &f.line("send --keep-open --message")).expect("sent");
    let (normal, _) = normalize(EML);
    assert!(normal.starts_with(b"From: Ann <ann@example.org>\r\nTo: bob@example.org\r\n"));
    assert!(normal.ends_with(b"\r\n.one\r\n..two\r\n.\r\nlast\r\n"));
    // On the wire: dot-stuffed by the DATA writer.
    assert_data_is(&server, &normal);
    let msg = server.messages().remove(0);
    let stuffed: &[u8] = b"\r\n..one\r\n...two\r\n..\r\nlast";
    assert!(msg.windows(stuffed.len()).any(|w| w == stuffed));
    // SIZE is the normalised size, before dot-stuffing.
    let commands = server.commands();
    let mail = commands
        .iter()
        .find(|c| c.starts_with("MAIL"))
        .expect("MAIL");
    assert!(
        mail.starts_with("MAIL FROM:<ann@example.org> SIZE="),
        "{mail}"
    );
    assert_eq!(size_param(mail), normal.len() as u64);
    // The draft's recipients, not the file's headers.
    let rcpts: Vec<&String> = commands.iter().filter(|c| c.starts_with("RCPT")).collect();
    assert_eq!(rcpts, ["RCPT TO:<dan@example.org>"]);
    let text = out.take();
    assert!(
        text.contains("the draft's subject, body, headers and attachments are not sent"),
        "{text}"
    );
    assert!(
        text.contains("has no Date or Message-ID header; `--fix-headers` adds them"),
        "{text}"
    );
    assert!(text.contains("message accepted for 1 recipient"), "{text}");
    // The recipients are spent; the sender and the unsent subject stay.
    assert!(s.draft.to.is_empty());
    assert_eq!(s.draft.subject.as_deref(), Some("not sent"));
    assert!(s.draft.from.is_some());
    assert!(
        matches!(&s.last_sent, Some(LastSent::File { size, .. }) if *size == normal.len() as u64)
    );
    let e = run(&mut s, "new --again").expect_err("a file is no draft");
    assert!(e.message.contains("was the file"), "{}", e.message);
    run(&mut s, "show --last").expect("show --last");
    assert!(out.take().contains("smtpsh keeps no copy"));
}

#[test]
fn envelope_from_headers_reads_from_to_cc_and_bcc_and_leaves_the_draft() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server);
    envelope(&mut s, &["dan@example.org"]);
    let f = eml(
        b"From: Ann <ann@example.org>\nTo: bob@example.org, Carol <carol@example.net>\n\
Bcc: unknown@example.com\nSubject: s\n\nbody\n",
    );
    run(&mut s, &f.line("send --envelope-from-headers --message")).expect("sent");
    let commands = server.commands();
    let envelope: Vec<&str> = commands
        .iter()
        .filter(|c| c.starts_with("MAIL") || c.starts_with("RCPT"))
        .map(|c| c.split(" SIZE=").next().unwrap_or(c))
        .collect();
    assert_eq!(
        envelope,
        [
            "MAIL FROM:<ann@example.org>",
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<carol@example.net>",
            "RCPT TO:<unknown@example.com>"
        ]
    );
    let text = out.take();
    assert!(
        text.contains(
            "envelope from the headers: sender Ann <ann@example.org> (From), 3 recipients"
        ),
        "{text}"
    );
    assert!(text.contains("has a Bcc header"), "{text}");
    assert!(
        text.contains("1 recipient rejected: unknown@example.com (550)"),
        "{text}"
    );
    // The draft was not used: its recipient is still there.
    assert_eq!(s.draft.to.len(), 1);
}

#[test]
fn envelope_from_headers_without_a_from_says_what_to_do() {
    let server = MemoryServer::default();
    let (mut s, _) = on(&server);
    let f = eml(b"To: bob@example.org\n\nbody\n");
    let e = run(&mut s, &f.line("send --envelope-from-headers --message")).expect_err("no From");
    assert!(e.message.contains("no From header"), "{}", e.message);
    assert!(e.hint.unwrap_or_default().contains("`from ADDRESS`"));
    assert!(!server.commands().iter().any(|c| c.starts_with("MAIL")));
}

#[test]
fn fix_headers_adds_exactly_date_and_message_id_when_missing() {
    let count = |msg: &[u8], name: &str| {
        String::from_utf8_lossy(msg)
            .lines()
            .filter(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
            })
            .count()
    };
    for (file, date, id) in [
        (&b"Subject: s\n\nbody\n"[..], 1, 1),
        (
            b"Date: Mon, 1 Jan 2024 00:00:00 +0000\nSubject: s\n\nbody\n",
            1,
            1,
        ),
        (
            b"Message-ID: <x@y>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nbody\n",
            1,
            1,
        ),
    ] {
        let server = MemoryServer::default();
        let (mut s, _) = on(&server);
        envelope(&mut s, &["bob@example.org"]);
        let f = eml(file);
        run(&mut s, &f.line("send --fix-headers --message")).expect("sent");
        let msg = server.messages().remove(0);
        assert_eq!(
            count(&msg, "Date"),
            date,
            "{}",
            String::from_utf8_lossy(&msg)
        );
        assert_eq!(
            count(&msg, "Message-ID"),
            id,
            "{}",
            String::from_utf8_lossy(&msg)
        );
        // Nothing else changed: the file's own lines follow, as they were.
        let (normal, _) = normalize(file);
        assert!(msg.ends_with(&normal), "{}", String::from_utf8_lossy(&msg));
        let added = msg.len() - normal.len();
        let mail = server
            .commands()
            .into_iter()
            .find(|c| c.starts_with("MAIL"))
            .expect("MAIL");
        assert_eq!(size_param(&mail), (normal.len() + added) as u64);
        if file.starts_with(b"Message-ID") {
            assert_eq!(added, 0);
        }
    }
}

#[test]
fn bdat_sends_the_normalised_file_as_one_chunk_of_its_size() {
    let server = MemoryServer::default();
    let (mut s, _) = on(&server);
    run(&mut s, "set transfer bdat").expect("set");
    envelope(&mut s, &["bob@example.org"]);
    let f = eml(EML);
    run(&mut s, &f.line("send --message")).expect("sent");
    let (normal, _) = normalize(EML);
    assert!(
        server
            .commands()
            .contains(&format!("BDAT {} LAST", normal.len())),
        "{:?}",
        server.commands()
    );
    assert_eq!(server.messages(), vec![normal]);
}

#[test]
fn all_recipients_refused_keeps_the_draft_and_sends_nothing() {
    let server = MemoryServer::default();
    let (mut s, _) = on(&server);
    envelope(&mut s, &["unknown@example.org"]);
    let f = eml(EML);
    let e = run(&mut s, &f.line("send --message")).expect_err("refused");
    assert_eq!(e.kind, FailKind::Refused);
    assert!(server.messages().is_empty());
    assert_eq!(s.draft.to.len(), 1, "the draft is kept");
    assert!(s.last_sent.is_none());
}

#[test]
fn missing_files_directories_and_empty_files_are_clear_local_errors() {
    let server = MemoryServer::default();
    let (mut s, _) = on(&server);
    envelope(&mut s, &["bob@example.org"]);
    let f = eml(b"");
    let cases = [
        (f.dir.path().join("nope.eml"), "cannot read", "No such file"),
        (
            f.dir.path().to_path_buf(),
            "is a directory, not a message file",
            "",
        ),
        (f.path.clone(), "is empty: there is no message to send", ""),
    ];
    for (path, says, also) in cases {
        let e = run(&mut s, &format!("send --message {}", path.display())).expect_err("refused");
        assert_eq!(e.kind, FailKind::Local);
        assert!(
            e.message.contains(says) && e.message.contains(also),
            "{}",
            e.message
        );
        assert!(e.hint.is_some(), "{}", e.message);
    }
    assert!(!server.commands().iter().any(|c| c.starts_with("MAIL")));
    let e = run(&mut s, "send --fix-headers").expect_err("no file");
    assert!(
        e.message.contains("goes with --message PATH"),
        "{}",
        e.message
    );
}

#[test]
fn standard_input_is_refused_when_a_terminal_or_the_script() {
    let f = stdin_refusal(true, false).expect("a terminal");
    assert!(
        f.message.contains("standard input is a terminal"),
        "{}",
        f.message
    );
    let f = stdin_refusal(false, true).expect("the script");
    assert!(f.message.contains("is the script itself"), "{}", f.message);
    assert!(stdin_refusal(false, false).is_none());
}

#[test]
fn eight_bit_files_get_body_8bitmime_or_a_warning() {
    let text = "Subject: Grüße\n\nÄpfel\n".as_bytes();
    // With 8BITMIME and SMTPUTF8: both parameters.
    let server = MemoryServer::new(&["SIZE 1000000", "8BITMIME", "SMTPUTF8"]);
    let (mut s, _) = on(&server);
    envelope(&mut s, &["bob@example.org"]);
    let f = eml(text);
    run(&mut s, &f.line("send --message")).expect("sent");
    let mail = server
        .commands()
        .into_iter()
        .find(|c| c.starts_with("MAIL"))
        .expect("MAIL");
    assert!(
        mail.contains(" SMTPUTF8") && mail.contains(" BODY=8BITMIME"),
        "{mail}"
    );
    // Without them: sent as it is, with a warning (the user's call).
    let server = MemoryServer::new(&["SIZE 1000000"]);
    let (mut s, out) = on(&server);
    envelope(&mut s, &["bob@example.org"]);
    run(&mut s, &f.line("send --message")).expect("sent");
    assert_eq!(server.messages().len(), 1);
    assert!(
        out.take()
            .contains("does not announce SMTPUTF8 (RFC 6532): it is sent as it is")
    );
    let body_only = eml("Subject: x\n\nÄpfel\n".as_bytes());
    let server = MemoryServer::new(&["SIZE 1000000"]);
    let (mut s, out) = on(&server);
    envelope(&mut s, &["bob@example.org"]);
    run(&mut s, &body_only.line("send --message")).expect("sent");
    assert!(
        out.take()
            .contains("does not announce 8BITMIME (RFC 6152): it is sent as it is")
    );
}

#[test]
fn data_file_in_a_transaction_typed_by_hand() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server);
    s.draft.to = vec![Mailbox::parse("b@example.org").expect("mailbox")];
    run(&mut s, "MAIL FROM:<a@example.org>").expect("MAIL");
    run(&mut s, "RCPT TO:<b@example.org>").expect("RCPT");
    let f = eml(EML);
    run(&mut s, &f.line("data --file")).expect("sent");
    assert_data_is(&server, &normalize(EML).0);
    assert!(matches!(&s.last_sent, Some(LastSent::File { .. })));
    assert!(
        s.draft.to.is_empty(),
        "the recipient it went to left the draft"
    );
    assert!(out.take().contains("<-  250 2.0.0 queued"));
    // After `raw DATA`, a first line `data --file PATH` (after `expect 354`).
    run(&mut s, "raw MAIL FROM:<a@example.org>").expect("MAIL");
    run(&mut s, "raw RCPT TO:<c@example.org>").expect("RCPT");
    run_with(&mut s, "raw DATA", &["expect 354", &f.line("data --file")]).expect("sent");
    assert_eq!(server.messages().len(), 2);
    assert_data_is(&server, &normalize(EML).0);
    // A missing file in a script: the message entry stops, nothing is sent.
    run(&mut s, "raw MAIL FROM:<a@example.org>").expect("MAIL");
    run(&mut s, "raw RCPT TO:<c@example.org>").expect("RCPT");
    let e = run_with(&mut s, "raw DATA", &["data --file /nonexistent/x.eml"]).expect_err("missing");
    assert!(e.message.contains("/nonexistent/x.eml"), "{}", e.message);
    assert_eq!(server.messages().len(), 2);
}

#[test]
fn a_dead_letter_sent_with_send_message_arrives_as_save_writes_it() {
    let state = tempfile::tempdir().expect("temp dir");
    let server = MemoryServer::default().answer("DATA", "554 5.3.0 not today");
    let (mut s, out) = on(&server);
    s.dead_letters = Some(state.path().join("dead-letter"));
    s.last_target = Some(Target {
        host: "127.0.0.1".into(),
        port: 2525,
        mode: crate::shell::cmd::tls::TlsMode::Auto,
        net: Default::default(),
        profile: None,
        tls: Default::default(),
        lmtp: false,
        socket: None,
    });
    for line in [
        "from Ann <ann@example.org>",
        "to bob@example.org \"o'brien@example.org\"",
        "bcc audit@example.org",
        "subject Dead letter",
        "body .a line with a dot",
    ] {
        run(&mut s, line).unwrap_or_else(|f| panic!("{line}: {}", f.message));
    }
    let e = run(&mut s, "send").expect_err("DATA refused");
    let hint = e.hint.clone().unwrap_or_default();
    let dead = hint
        .lines()
        .find_map(|l| l.split("saved as a dead letter: ").nth(1))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no dead letter: {hint}"));
    let command = hint
        .lines()
        .find_map(|l| l.strip_prefix("to send it again: "))
        .unwrap_or_else(|| panic!("no command: {hint}"));
    // The command, as a shell splits it: each -c line is a command smtpsh runs.
    let words = shlex::split(command).expect("shell words");
    assert_eq!(words.len(), 11, "{words:?}");
    assert_eq!(
        words[..5],
        [
            "smtpsh",
            "-c",
            "connect 127.0.0.1 2525",
            "-c",
            "from ann@example.org"
        ]
    );
    assert_eq!(words[8], "bcc audit@example.org");
    assert_eq!(words[10], format!("send --message {}", dead.display()));
    for line in words.iter().skip(2).step_by(2) {
        crate::shell::args::parse_line(line).unwrap_or_else(|f| panic!("{line}: {}", f.message));
    }
    let (_, to) = crate::shell::args::parse_line(&words[6]).expect("to");
    assert_eq!(to.words, ["bob@example.org", "o'brien@example.org"]);
    let saved = state.path().join("saved.eml");
    run(&mut s, &format!("save {}", saved.display())).expect("save");
    let saved = std::fs::read(&saved).expect("read");
    assert_eq!(std::fs::read(&dead).expect("read"), saved);
    out.take();
    // Sent again with `send --message`: the same bytes arrive.
    let again = MemoryServer::default();
    let (mut s, out) = on(&again);
    envelope(&mut s, &["bob@example.org"]);
    run(&mut s, &format!("send --message {}", dead.display())).expect("sent");
    assert_data_is(&again, &saved);
    let text = out.take();
    assert!(!text.contains("has no Date"), "{text}");
    assert!(!text.contains("line endings, made CRLF"), "{text}");
}
