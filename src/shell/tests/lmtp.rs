//! LMTP in the shell, in-process: the greetings on an LMTP connection,
//! and what a message some recipients did not get does to the draft and
//! to `expect`.

use super::{on, run, run_with};
use crate::shell::failure::FailKind;
use crate::smtp::Verb;
use crate::smtp::conn::memory::MemoryServer;

/// A session on an LMTP connection to `server` (greeting read, no LHLO yet).
fn lmtp_on(
    server: &MemoryServer,
) -> (
    crate::shell::session::Session,
    crate::shell::output::Captured,
) {
    let (mut s, out) = on(server, false);
    if let Some(live) = s.live.as_mut() {
        live.conn.set_lmtp();
    }
    (s, out)
}

#[test]
fn on_lmtp_ehlo_sends_lhlo_and_helo_is_refused_locally() {
    let server = MemoryServer::default();
    let (mut s, out) = lmtp_on(&server);
    run(&mut s, "ehlo client.test").expect("ehlo");
    let text = out.take();
    assert!(
        text.contains("this connection speaks LMTP: LHLO instead of EHLO"),
        "{text}"
    );
    assert_eq!(server.commands(), ["LHLO client.test"]);
    let f = run(&mut s, "helo client.test").expect_err("no HELO in LMTP");
    assert_eq!(f.kind, FailKind::Local);
    assert!(f.message.contains("LMTP has no HELO"), "{}", f.message);
    assert!(f.hint.is_some_and(|h| h.contains("lhlo")));
    assert_eq!(server.commands(), ["LHLO client.test"], "nothing sent");
    // The automatic greeting is LHLO too, and no HELO follows a refusal.
    let server = MemoryServer::default()
        .lmtp()
        .answer("LHLO", "500 5.5.1 no");
    let (mut s, _) = lmtp_on(&server);
    run(&mut s, "from ann@example.org").expect_err("LHLO refused");
    let sent = server.commands();
    assert!(sent.len() == 1 && sent[0].starts_with("LHLO "), "{sent:?}");
}

#[test]
fn an_accepted_lhlo_makes_the_connection_lmtp() {
    let server = MemoryServer::default();
    let (mut s, _) = on(&server, false);
    assert!(!s.conversation().is_some_and(|c| c.is_lmtp()));
    run(&mut s, "lhlo client.test").expect("lhlo");
    let c = s.conversation().expect("connected");
    assert!(c.is_lmtp());
    assert_eq!(c.hello().map(|h| h.verb), Some(Verb::Lhlo));
    // From then on `ehlo` is LHLO as well.
    run(&mut s, "ehlo").expect("ehlo");
    assert!(server.commands()[1].starts_with("LHLO "));
}

#[test]
fn a_partial_delivery_keeps_the_recipients_it_did_not_reach() {
    // Two replies after the final dot: bob's 250, carol's 452.
    let server = MemoryServer::default().lmtp().answer(
        "END",
        "250 2.0.0 <bob@example.org> saved\n452 4.2.2 mailbox full",
    );
    let (mut s, out) = lmtp_on(&server);
    for line in [
        "from ann@example.org",
        "to bob@example.org carol@example.org",
        "subject hello",
        "body text",
    ] {
        run(&mut s, line).expect(line);
    }
    let f = run(&mut s, "send --keep-open").expect_err("partial");
    assert_eq!(f.kind, FailKind::Refused);
    assert!(
        f.message
            .contains("partial delivery: the message was delivered to 1 of 2 recipients"),
        "{}",
        f.message
    );
    let text = out.take();
    assert!(
        text.contains("<-  452 4.2.2 mailbox full   (for <carol@example.org>)"),
        "{text}"
    );
    assert!(
        text.contains("not delivered: carol@example.org (452 4.2.2 mailbox full)"),
        "{text}"
    );
    // The draft keeps carol (and the text), needs sending, and the message
    // as sent is `show --last`'s.
    let to: Vec<String> = s.draft.to.iter().map(|m| m.address.to_string()).collect();
    assert_eq!(to, ["carol@example.org"]);
    assert_eq!(s.draft.subject.as_deref(), Some("hello"));
    assert!(s.unsent && s.last_sent.is_some());
    // `expect` judges carol's reply.
    assert_eq!(s.out.last_reply().map(|r| r.code), Some(452));
    run(&mut s, "expect 452 4.2.2").expect("the refusal is judged");
    // `send` again goes to carol only.
    let server_log_before = server.commands().len();
    let _ = run(&mut s, "send --keep-open");
    let rcpts: Vec<String> = server.commands()[server_log_before..]
        .iter()
        .filter(|c| c.starts_with("RCPT"))
        .cloned()
        .collect();
    assert_eq!(rcpts, ["RCPT TO:<carol@example.org>"]);
}

#[test]
fn refused_by_all_keeps_the_draft_whole_and_all_delivered_clears_it() {
    let server = MemoryServer::default()
        .lmtp()
        .answer("END", "550 5.2.0 no\n551 5.2.1 no");
    let (mut s, _) = lmtp_on(&server);
    for line in [
        "from ann@example.org",
        "to bob@example.org carol@example.org",
        "body text",
    ] {
        run(&mut s, line).expect(line);
    }
    let f = run(&mut s, "send --keep-open").expect_err("refused");
    assert!(
        f.message.contains("delivered to none of the 2 recipients"),
        "{}",
        f.message
    );
    assert_eq!(s.draft.to.len(), 2);
    // Each refusal must match the `expect`.
    assert!(run(&mut s, "expect 550").is_err());
    assert!(run(&mut s, "expect 55x 5.2.x").is_ok());

    let server = MemoryServer::default()
        .lmtp()
        .answer("END", "250 ok\n250 ok");
    let (mut s, out) = lmtp_on(&server);
    for line in [
        "from ann@example.org",
        "to bob@example.org carol@example.org",
        "body text",
        "send --keep-open",
    ] {
        run(&mut s, line).expect(line);
    }
    assert!(s.draft.to.is_empty() && !s.unsent);
    assert!(out.take().contains("delivered to all 2 recipients"));
}

#[test]
fn data_typed_by_hand_reads_every_recipients_reply() {
    let server = MemoryServer::default()
        .lmtp()
        .answer("END", "250 2.0.0 ok\n550 5.1.1 gone");
    let (mut s, out) = lmtp_on(&server);
    run(&mut s, "from ann@example.org").expect("from");
    run(&mut s, "to bob@example.org carol@example.org").expect("to");
    let f = run_with(&mut s, "data", &["Subject: x", "", "hi", "."]).expect_err("partial");
    assert_eq!(f.kind, FailKind::Refused);
    // Only bob got it: he leaves the draft, carol stays.
    let to: Vec<String> = s.draft.to.iter().map(|m| m.address.to_string()).collect();
    assert_eq!(to, ["carol@example.org"]);
    // QUIT's reply is QUIT's own.
    run(&mut s, "quit").expect("quit");
    let text = out.take();
    assert!(
        text.contains("<-  550 5.1.1 gone   (for <carol@example.org>)"),
        "{text}"
    );
    assert!(text.contains("<-  221"), "{text}");
}

#[test]
fn connect_targets_for_sockets_and_lmtp() {
    use crate::shell::cmd::connect::parse_target;
    use crate::shell::cmd::tls::TlsMode;
    let t = parse_target("unix:/run/lmtp", None, TlsMode::Auto, true).expect("socket");
    assert_eq!(t.socket.as_deref(), Some(std::path::Path::new("/run/lmtp")));
    assert!(t.lmtp);
    assert_eq!(t.label(), "unix:/run/lmtp");
    let t = parse_target("127.0.0.1", Some("24"), TlsMode::Auto, true).expect("tcp");
    assert!(t.lmtp && t.socket.is_none() && t.port == 24);
    let f = parse_target("unix:/run/lmtp", Some("24"), TlsMode::Auto, false).expect_err("port");
    assert!(
        f.message.contains("a UNIX socket has no port"),
        "{}",
        f.message
    );
    let f = parse_target("unix:/run/lmtp", None, TlsMode::StartTls, false).expect_err("tls");
    assert!(
        f.message
            .contains("TLS over a UNIX socket is not supported")
    );
    assert!(f.message.contains("host name"));
    assert!(parse_target("unix:", None, TlsMode::Auto, false).is_err());
    let (mut s, _) = crate::shell::session::Session::for_tests();
    for (line, want) in [
        (
            "connect --lmtp --mx example.org",
            "--lmtp does not go with --mx",
        ),
        ("connect --lmtp sandbox", "the sandbox speaks SMTP"),
    ] {
        let f = run(&mut s, line).expect_err(line);
        assert!(f.message.contains(want), "{line}: {}", f.message);
    }
    // The command that sends a dead letter again keeps the socket and LMTP.
    s.last_target = Some(parse_target("unix:/run/my lmtp", None, TlsMode::Auto, true).expect("t"));
    assert_eq!(
        crate::shell::cmd::send::connect_line(&s),
        "connect --lmtp 'unix:/run/my lmtp'"
    );
    s.last_target = Some(parse_target("127.0.0.1", Some("24"), TlsMode::Auto, true).expect("t"));
    assert_eq!(
        crate::shell::cmd::send::connect_line(&s),
        "connect --lmtp 127.0.0.1 24"
    );
}

#[test]
fn bdat_last_gets_one_reply_per_recipient() {
    let server = MemoryServer::default()
        .lmtp()
        .answer("END", "250 2.0.0 ok\n452 4.2.2 full");
    let (mut s, out) = lmtp_on(&server);
    for line in [
        "set transfer bdat",
        "from ann@example.org",
        "to bob@example.org carol@example.org",
        "body text",
    ] {
        run(&mut s, line).expect(line);
    }
    let f = run(&mut s, "send --keep-open").expect_err("partial");
    assert_eq!(f.kind, FailKind::Refused);
    assert!(server.commands().iter().any(|c| c.starts_with("BDAT ")));
    let text = out.take();
    assert!(
        text.contains("<-  250 2.0.0 ok   (for <bob@example.org>)"),
        "{text}"
    );
    assert!(
        text.contains("<-  452 4.2.2 full   (for <carol@example.org>)"),
        "{text}"
    );
    // The conversation is ready for the next command, nothing left pending.
    let c = s.conversation().expect("open");
    assert_eq!(c.pending_count(), 0);
    run(&mut s, "noop").expect("noop gets its own reply");
}
