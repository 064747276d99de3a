//! The `send` transaction in memory: a [`MemoryServer`] on the other end.

use super::*;
use crate::address::Mailbox;
use crate::mime::{Draft, Stamp, compose};
use crate::shell::output::Captured;
use crate::smtp::conn::memory::{MemoryServer, greeted};
use crate::smtp::{Stage, Verb};
use std::time::SystemTime;

fn draft(to: &[&str]) -> Draft {
    Draft {
        from: ReversePath::parse("ann@example.org").ok(),
        to: to.iter().filter_map(|a| Mailbox::parse(a).ok()).collect(),
        subject: Some("hello".into()),
        body: "one line\n.starts with a dot\n".into(),
        ..Draft::default()
    }
}

fn policy(transfer: Transfer, require_tls: bool) -> Policy {
    Policy {
        transfer,
        require_tls,
        interrupt: Arc::new(AtomicBool::new(false)),
    }
}

struct Run {
    result: Result<Delivered, Failure>,
    conn: Connection,
    text: String,
}

/// Greets (unless `greet` is false), then sends `d` with `policy`.
fn send(server: &MemoryServer, d: &Draft, policy: Policy, greet: bool) -> Run {
    let mut conn = server.connection();
    greeted(&mut conn).expect("greeting");
    let (mut out, captured): (Output, Captured) = Output::capture(false);
    if greet {
        let ehlo = Command::ehlo("client.test").expect("ehlo");
        conn.command(&ehlo, &mut out).expect("EHLO");
    }
    let stamp = Stamp::new(SystemTime::UNIX_EPOCH, "client.test");
    let msg = compose(d, &stamp).expect("compose");
    let from = d.from.clone().expect("sender");
    let mut progress = Progress::new(msg.size(), None, Instant::now());
    let result =
        Delivery::new(&mut conn, &mut out, policy).run(&msg, &from, &d.recipients(), &mut progress);
    Run {
        result,
        conn,
        text: captured.take(),
    }
}

/// Greets, then sends the usual draft to bob@example.org.
fn to_bob(server: &MemoryServer, transfer: Transfer, require_tls: bool) -> Run {
    send(
        server,
        &draft(&["bob@example.org"]),
        policy(transfer, require_tls),
        true,
    )
}

#[test]
fn pipelined_envelope_skips_a_refused_recipient_and_delivers() {
    let server = MemoryServer::default();
    let r = send(
        &server,
        &draft(&["bob@example.org", "unknown@example.org"]),
        policy(Transfer::Auto, false),
        true,
    );
    let done = r.result.expect("delivered");
    assert!(done.accepted());
    assert_eq!(done.recipients, 1);
    let commands = server.commands();
    assert!(
        commands[1].starts_with("MAIL FROM:<ann@example.org> SIZE="),
        "{commands:?}"
    );
    assert_eq!(commands[2], "RCPT TO:<bob@example.org>");
    assert_eq!(commands[3], "RCPT TO:<unknown@example.org>");
    assert_eq!(commands[4], "DATA");
    let msg = String::from_utf8(server.messages().remove(0)).expect("utf8");
    assert!(
        msg.contains("\r\n..starts with a dot\r\n"),
        "dot-stuffed: {msg}"
    );
    // Each pipelined command is shown just before its own reply.
    let rcpt = r
        .text
        .find(" -> RCPT TO:<unknown@example.org>")
        .expect("shown");
    let refused = r.text.find("<-  550 5.1.1").expect("reply shown");
    assert!(rcpt < refused);
    assert!(
        r.text
            .contains("1 recipient rejected: unknown@example.org (550)")
    );
    assert_eq!(r.conn.conversation().stage(), Stage::Ready);
}

#[test]
fn without_pipelining_commands_go_one_by_one_and_helo_servers_get_no_parameters() {
    let server = MemoryServer::new(&[]).answer("EHLO", "502 5.5.1 no EHLO here");
    let r = send(
        &server,
        &draft(&["bob@example.org"]),
        policy(Transfer::Auto, false),
        false,
    );
    r.result.expect("delivered");
    let commands = server.commands();
    assert_eq!(
        commands[0],
        "EHLO [127.0.0.1]".replace("[127.0.0.1]", &commands[0][5..])
    );
    assert!(commands[1].starts_with("HELO "), "{commands:?}");
    assert_eq!(commands[2], "MAIL FROM:<ann@example.org>");
    assert!(
        r.text.contains("EHLO first (send needs a greeting)"),
        "{}",
        r.text
    );
    assert!(r.text.contains("EHLO refused; trying HELO"));
    assert_eq!(
        r.conn.conversation().hello().map(|h| h.verb),
        Some(Verb::Helo)
    );
}

#[test]
fn a_message_over_the_size_limit_is_refused_before_mail() {
    let server = MemoryServer::new(&["SIZE 100"]);
    let r = to_bob(&server, Transfer::Auto, false);
    let f = r.result.expect_err("too big");
    assert!(
        f.message.contains("accepts at most 100 bytes (SIZE)"),
        "{}",
        f.message
    );
    assert_eq!(server.commands().len(), 1, "only EHLO went out");
}

#[test]
fn require_tls_keeps_the_envelope_off_a_plaintext_connection() {
    let server = MemoryServer::default();
    let r = to_bob(&server, Transfer::Auto, true);
    let f = r.result.expect_err("plaintext");
    assert!(f.message.contains("require-tls is on"), "{}", f.message);
    assert_eq!(server.commands().len(), 1);
}

#[test]
fn bdat_sends_one_chunk_and_needs_chunking() {
    let server = MemoryServer::default();
    let r = to_bob(&server, Transfer::Bdat, false);
    let done = r.result.expect("delivered");
    let commands = server.commands();
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("BDAT ") && c.ends_with(" LAST"))
    );
    assert!(!commands.iter().any(|c| c == "DATA"));
    assert_eq!(done.bytes, server.messages()[0].len() as u64);
    let plain = MemoryServer::new(&["PIPELINING"]);
    let r = to_bob(&plain, Transfer::Bdat, false);
    let f = r.result.expect_err("no CHUNKING");
    assert!(f.message.contains("does not offer CHUNKING"));
    assert_eq!(plain.commands().len(), 1);
}

#[test]
fn no_accepted_recipient_sends_no_content() {
    // Stepwise: DATA is not sent at all.
    let server = MemoryServer::new(&[]);
    let r = send(
        &server,
        &draft(&["unknown@example.org"]),
        policy(Transfer::Auto, false),
        true,
    );
    let f = r.result.expect_err("nobody");
    assert!(
        f.message.contains("no recipient was accepted"),
        "{}",
        f.message
    );
    assert!(!server.commands().contains(&"DATA".to_string()));
    // Pipelined, with a server that says 354 anyway: closed without content.
    let server = MemoryServer::default();
    let r = send(
        &server,
        &draft(&["unknown@example.org"]),
        policy(Transfer::Auto, false),
        true,
    );
    let f = r.result.expect_err("nobody");
    assert!(f.message.contains("354 anyway"), "{}", f.message);
    assert!(server.messages().is_empty());
    assert!(server.client_gone());
    assert_eq!(r.conn.conversation().stage(), Stage::Closed);
}

#[test]
fn a_recipient_the_server_accepted_already_is_not_sent_again() {
    let server = MemoryServer::default();
    let mut conn = server.connection();
    greeted(&mut conn).expect("greeting");
    let (mut out, _c) = Output::capture(false);
    for line in [
        "EHLO client.test",
        "MAIL FROM:<ann@example.org>",
        "RCPT TO:<bob@example.org>",
    ] {
        conn.command(&Command::raw(line).expect("raw"), &mut out)
            .expect("sent");
    }
    let d = draft(&["bob@example.org", "carol@example.org"]);
    let stamp = Stamp::new(SystemTime::UNIX_EPOCH, "client.test");
    let msg = compose(&d, &stamp).expect("compose");
    let from = d.from.clone().expect("sender");
    let mut progress = Progress::new(msg.size(), None, Instant::now());
    let done = Delivery::new(&mut conn, &mut out, policy(Transfer::Auto, false))
        .run(&msg, &from, &d.recipients(), &mut progress)
        .expect("delivered");
    assert_eq!(done.recipients, 2);
    let rcpts: Vec<String> = server
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("RCPT"))
        .collect();
    assert_eq!(
        rcpts,
        ["RCPT TO:<bob@example.org>", "RCPT TO:<carol@example.org>"]
    );
    assert_eq!(
        server
            .commands()
            .iter()
            .filter(|c| c.starts_with("MAIL"))
            .count(),
        1,
        "the open transaction is used"
    );
}

#[test]
fn a_421_in_the_envelope_stops_there() {
    let server = MemoryServer::new(&[]).answer("RCPT TO:<BOB@", "421 4.3.2 shutting down");
    let r = send(
        &server,
        &draft(&["bob@example.org", "carol@example.org"]),
        policy(Transfer::Auto, false),
        true,
    );
    let f = r.result.expect_err("closed");
    assert_eq!(f.kind, FailKind::Refused);
    assert!(!server.commands().iter().any(|c| c.contains("carol")));
    assert_eq!(r.conn.conversation().stage(), Stage::Closed);
    assert!(
        r.text.contains("the server closed the connection (421)"),
        "{}",
        r.text
    );
}

#[test]
fn a_refused_sender_in_a_pipeline_with_354_closes_without_content() {
    let server = MemoryServer::default().answer("MAIL", "550 5.7.1 not you");
    let r = to_bob(&server, Transfer::Auto, false);
    let f = r.result.expect_err("refused");
    assert!(f.message.contains("refused the sender"), "{}", f.message);
    assert!(server.messages().is_empty());
    assert!(r.text.contains("although it refused MAIL FROM"));
}

#[test]
fn a_refused_message_is_a_delivered_result_that_was_not_accepted() {
    let server = MemoryServer::default().answer("END", "554 5.6.0 content rejected");
    let r = to_bob(&server, Transfer::Auto, false);
    let done = r.result.expect("sent to the end");
    assert!(!done.accepted());
    assert_eq!(done.reply.code, 554);
    assert!(r.conn.conversation().transaction().is_none());
}

#[test]
fn every_recipient_is_checked_before_mail_goes_out() {
    // After HELO there is no SMTPUTF8: the non-ASCII recipient is refused
    // locally before MAIL FROM, so no transaction is left half open.
    let server = MemoryServer::new(&[]).answer("EHLO", "502 5.5.1 no EHLO here");
    let r = send(
        &server,
        &draft(&["bob@example.org", "jörg@example.org"]),
        policy(Transfer::Auto, false),
        false,
    );
    let f = r.result.expect_err("not ASCII");
    assert!(
        f.message.contains("does not announce SMTPUTF8"),
        "{}",
        f.message
    );
    let commands = server.commands();
    assert!(
        !commands.iter().any(|c| c.starts_with("MAIL")),
        "{commands:?}"
    );
    assert_eq!(r.conn.conversation().stage(), Stage::Ready);
}

#[test]
fn a_message_file_changed_after_its_scan_never_gets_its_final_dot() {
    use crate::mime::MessageFile;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("m.eml");
    std::fs::write(&path, b"Subject: s\r\n\r\nbody\n").expect("write");
    let file = MessageFile::open(&path).expect("scan");
    // Same length, other line endings: more bytes than SIZE said.
    std::fs::write(&path, b"Subject: s\n\n\nbody\n\n").expect("rewrite");
    let server = MemoryServer::default();
    let mut conn = server.connection();
    greeted(&mut conn).expect("greeting");
    let (mut out, captured): (Output, Captured) = Output::capture(false);
    let from = ReversePath::parse("ann@example.org").expect("from");
    let to = [Address::parse("bob@example.org").expect("to")];
    let mut progress = Progress::new(file.size(), None, Instant::now());
    let f = Delivery::new(&mut conn, &mut out, policy(Transfer::Auto, false))
        .run(&file, &from, &to, &mut progress)
        .expect_err("changed");
    assert!(
        f.message.contains("changed since it was read"),
        "{}",
        f.message
    );
    assert!(f.hint.unwrap_or_default().contains("send the file again"));
    assert!(server.messages().is_empty(), "no final dot, no message");
    assert_eq!(conn.conversation().stage(), Stage::Closed);
    let _ = captured.take();
}
