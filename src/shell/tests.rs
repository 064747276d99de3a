//! The shell's commands in-process: a session whose connection goes to a
//! [`MemoryServer`], lines run through [`execute_line`] as a script would
//! run them, and what the session, the server and the output say after.

use super::failure::{FailKind, Failure};
use super::input::ScriptInput;
use super::output::Captured;
use super::session::{Live, Session};
use super::watch::{self, Reach};
use super::{may_hold_secret, run_line};
use crate::smtp::Stage;
use crate::smtp::conn::memory::{MemoryServer, greeted};
use std::sync::{Arc, Mutex};

mod envelope;
mod forward;
mod html;
mod lmtp;
mod profiles;
mod sasl;

/// A session connected to `server` (greeting read; EHLO said when `ehlo`).
fn on(server: &MemoryServer, ehlo: bool) -> (Session, Captured) {
    let (mut s, out) = Session::for_tests();
    let mut conn = server.connection();
    greeted(&mut conn).expect("greeting");
    s.live = Some(Live { conn, mx: None });
    if ehlo {
        run(&mut s, "ehlo client.test").expect("EHLO");
    }
    out.take();
    (s, out)
}

/// Runs one line; continuation lines (body, data) come from `more`.
fn run_with(s: &mut Session, line: &str, more: &[&str]) -> Result<(), Failure> {
    let mut input = ScriptInput::from_lines("test", more.iter().map(|l| l.to_string()).collect());
    run_line(s, &mut input, line)
}

fn run(s: &mut Session, line: &str) -> Result<(), Failure> {
    run_with(s, line, &[])
}

fn stage(s: &Session) -> Option<Stage> {
    s.conversation().map(crate::smtp::Conversation::stage)
}

#[test]
fn after_a_message_is_accepted_the_next_one_starts_clean() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a.txt");
    std::fs::write(&file, "attached\n").expect("write");
    for line in [
        "from ann@example.org",
        "to bob@example.org",
        "cc carol@example.org",
        "bcc dan@example.org",
        "subject first",
        "body hello",
        "header X-Test yes",
        &format!("attach {}", file.display()),
        "send --keep-open",
    ] {
        run(&mut s, line).unwrap_or_else(|f| panic!("{line}: {}", f.message));
    }
    let d = &s.draft;
    assert_eq!(
        d.from.as_ref().map(ToString::to_string).as_deref(),
        Some("ann@example.org")
    );
    assert!(d.to.is_empty() && d.cc.is_empty() && d.bcc.is_empty());
    assert!(d.subject.is_none() && d.body.is_empty());
    assert!(d.headers.is_empty() && d.attachments.is_empty());
    assert!(!s.unsent);
    let text = out.take();
    assert!(
        text.contains("draft cleared but for the sender (ann@example.org)"),
        "{text}"
    );
    // The next message goes only where it is told to.
    run(&mut s, "to eve@example.org").expect("to");
    run(&mut s, "subject second").expect("subject");
    run(&mut s, "send").expect("second send");
    let rcpts: Vec<String> = server
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("RCPT"))
        .collect();
    assert_eq!(
        rcpts,
        [
            "RCPT TO:<bob@example.org>",
            "RCPT TO:<carol@example.org>",
            "RCPT TO:<dan@example.org>",
            "RCPT TO:<eve@example.org>",
        ]
    );
    assert!(s.live.is_none(), "send without --keep-open QUITs");
    // The message sent last stays available.
    run(&mut s, "show --last").expect("show --last");
    let text = out.take();
    assert!(text.contains("Subject: second"), "{text}");
    run(&mut s, "new --again").expect("new --again");
    assert_eq!(s.draft.to.len(), 1);
    assert_eq!(s.draft.subject.as_deref(), Some("second"));
    assert!(s.draft.stamp.is_none(), "a new Date and Message-ID");
}

#[test]
fn a_refused_send_keeps_the_draft() {
    let server = MemoryServer::default().answer("END", "554 5.6.0 no thanks");
    let (mut s, _out) = on(&server, true);
    for line in ["from ann@example.org", "to bob@example.org", "subject kept"] {
        run(&mut s, line).expect(line);
    }
    let f = run(&mut s, "send").expect_err("refused");
    assert_eq!(f.kind, FailKind::Refused);
    assert_eq!(s.draft.to.len(), 1);
    assert_eq!(s.draft.subject.as_deref(), Some("kept"));
    assert!(s.unsent && s.last_sent.is_none());
    assert!(run(&mut s, "new --again").is_err(), "nothing was sent");
}

#[test]
fn expect_after_send_judges_the_reply_to_the_message() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, true);
    for line in ["from ann@example.org", "to bob@example.org", "send"] {
        run(&mut s, line).expect(line);
    }
    run(&mut s, "expect 250").expect("the message's 250, not QUIT's 221");
    assert!(run(&mut s, "expect 221").is_err());
}

#[test]
fn from_says_ehlo_first_when_the_server_was_not_greeted() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, false);
    assert_eq!(stage(&s), Some(Stage::Connected));
    assert!(s.prompt().0.ends_with("[connected]> "), "{:?}", s.prompt());
    run(&mut s, "from ann@example.org").expect("from");
    let commands = server.commands();
    assert!(commands[0].starts_with("EHLO "), "{commands:?}");
    assert_eq!(commands[1], "MAIL FROM:<ann@example.org>");
    assert!(out.take().contains("EHLO first"));
    assert_eq!(stage(&s), Some(Stage::Mail { recipients: 0 }));
    assert!(s.prompt().0.ends_with("[mail, 0 rcpt]> "));
}

#[test]
fn to_before_from_sends_nothing_and_says_why() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, true);
    let f = run(&mut s, "to bob@example.org").expect_err("no sender");
    assert_eq!(f.kind, FailKind::Local);
    assert!(f.message.contains("needs a sender"), "{}", f.message);
    assert_eq!(server.commands().len(), 1, "only EHLO went out");
    assert!(s.draft.to.is_empty(), "a refused command changes nothing");
    // With a sender in the draft, `to` opens the transaction itself.
    s.draft.from = crate::address::ReversePath::parse("ann@example.org").ok();
    run(&mut s, "to bob@example.org").expect("to");
    let commands = server.commands();
    assert_eq!(commands[1], "MAIL FROM:<ann@example.org>");
    assert_eq!(commands[2], "RCPT TO:<bob@example.org>");
    assert_eq!(stage(&s), Some(Stage::Mail { recipients: 1 }));
}

#[test]
fn the_classic_verbs_go_out_exactly_as_typed() {
    let server = MemoryServer::default().answer("RCPT", "503 5.5.1 need MAIL first");
    let (mut s, out) = on(&server, false);
    let f = run(&mut s, "RCPT TO:<bob@example.org>").expect_err("503");
    assert_eq!(f.kind, FailKind::Refused);
    assert_eq!(server.commands(), ["RCPT TO:<bob@example.org>"]);
    assert!(out.take().contains("<-  503"));
    run(&mut s, "MAIL FROM:<ann@example.org> BODY=8BITMIME").expect("the server takes it");
    assert_eq!(
        server.commands()[1],
        "MAIL FROM:<ann@example.org> BODY=8BITMIME",
        "no EHLO slipped in"
    );
}

#[test]
fn raw_lines_are_part_of_the_conversation() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    run(&mut s, "raw MAIL FROM:<ann@example.org>").expect("MAIL");
    run(&mut s, "raw RCPT TO:<bob@example.org>").expect("RCPT");
    assert_eq!(stage(&s), Some(Stage::Mail { recipients: 1 }));
    out.take();
    run(&mut s, "to bob@example.org").expect("to");
    assert!(out.take().contains("accepted bob@example.org already"));
    run(&mut s, "from ann@example.org").expect("same sender");
    run(&mut s, "send").expect("send");
    let commands = server.commands();
    assert_eq!(
        commands
            .iter()
            .filter(|c| c.contains("bob@example.org"))
            .count(),
        1,
        "one RCPT for bob: {commands:?}"
    );
    assert_eq!(commands.iter().filter(|c| c.starts_with("MAIL")).count(), 1);
}

#[test]
fn a_second_sender_in_an_open_transaction_is_refused_locally() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, true);
    run(&mut s, "from ann@example.org").expect("from");
    let f = run(&mut s, "from zed@example.org").expect_err("open transaction");
    assert!(
        f.message.contains("a mail transaction is open"),
        "{}",
        f.message
    );
    assert_eq!(
        s.draft.from.as_ref().map(ToString::to_string).as_deref(),
        Some("ann@example.org"),
        "the draft is unchanged"
    );
    run(&mut s, "rset").expect("rset");
    run(&mut s, "from zed@example.org").expect("after rset");
}

/// The watcher on `s`'s connection while the user thinks at the prompt
/// for 300 ms: what it saw and what it printed above the prompt.
fn watch_a_while(
    s: &mut Session,
    fit: super::output::Fit,
    say_connect: bool,
) -> (watch::Seen, String) {
    let printed = Arc::new(Mutex::new(String::new()));
    let mut printer: super::helper::Printer = Box::new(Collect(printed.clone()));
    let conn = s.live.as_mut().map(|l| &mut l.conn);
    let reach = Reach {
        printer: Some(&mut printer),
        color: false,
        explain: super::output::Explain::On,
        wake: false,
        fit,
        say_connect,
    };
    let ((), seen) = watch::around(conn, reach, || {
        std::thread::sleep(std::time::Duration::from_millis(300));
    });
    let shown = printed.lock().map(|p| p.clone()).unwrap_or_default();
    (seen, shown)
}

#[test]
fn a_reply_the_server_sends_on_its_own_closes_the_conversation() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, true);
    run(&mut s, "from ann@example.org").expect("from");
    server.push("421 4.4.2 idle too long\r\n");
    server.close();
    let (seen, shown) = watch_a_while(&mut s, super::output::Fit::Off, true);
    assert!(seen.closed && seen.replies == 1, "{seen:?}");
    assert!(shown.contains("<-  421 4.4.2 idle too long"), "{shown}");
    assert!(
        shown.contains("the server closed the connection (421)"),
        "{shown}"
    );
    assert!(
        s.prompt().0.ends_with("[closed by server]> "),
        "{:?}",
        s.prompt()
    );
    assert!(s.conversation().is_some_and(|c| c.transaction().is_none()));
    // The next command says so, without a reply of its own.
    let f = run(&mut s, "noop").expect_err("closed");
    assert_eq!(f.kind, FailKind::Connection);
    assert!(f.message.contains("421 4.4.2"), "{}", f.message);
    run(&mut s, "quit").expect("quit forgets it");
    assert!(s.live.is_none());
    assert_eq!(s.prompt().0, "smtpsh> ");
}

#[test]
fn what_the_watcher_shows_fits_the_width_and_the_walk_through_gets_no_connect_advice() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, true);
    server.push("421 4.4.2 mx.example.org closing the connection: idle for too long\r\n");
    server.close();
    let fit = super::output::Fit::Fixed { cols: 40, rows: 24 };
    let (seen, shown) = watch_a_while(&mut s, fit, false);
    assert!(seen.closed, "{seen:?}");
    let words = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("*** the server closed the connection (421)"),
        "{shown}"
    );
    assert!(!shown.contains("`connect`"), "{shown}");
    // The note under the reply is wrapped to 40 columns (the reply
    // itself, a transcript line, never is).
    for line in shown.lines().filter(|l| !l.starts_with("<-")) {
        assert!(line.chars().count() <= 40, "{line:?} in {shown}");
    }
}

#[test]
fn the_watcher_notices_a_silent_close_and_leaves_an_idle_connection_alone() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, true);
    let conn = s.live.as_mut().map(|l| &mut l.conn);
    let reach = Reach {
        printer: None,
        color: false,
        explain: super::output::Explain::On,
        wake: false,
        fit: super::output::Fit::Off,
        say_connect: true,
    };
    let ((), seen) = watch::around(conn, reach, || {});
    assert_eq!(seen, watch::Seen::default());
    assert_eq!(stage(&s), Some(Stage::Ready));
    server.close();
    let mut printer: super::helper::Printer = Box::new(Collect(Arc::default()));
    let reach = Reach {
        printer: Some(&mut printer),
        color: false,
        explain: super::output::Explain::On,
        wake: false,
        fit: super::output::Fit::Off,
        say_connect: true,
    };
    let conn = s.live.as_mut().map(|l| &mut l.conn);
    let ((), seen) = watch::around(conn, reach, || {
        std::thread::sleep(std::time::Duration::from_millis(200));
    });
    assert!(seen.closed);
    assert!(s.prompt().0.ends_with("[closed by server]> "));
}

#[test]
fn data_typed_by_hand_is_the_message_and_its_recipients_leave_the_draft() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, true);
    run(&mut s, "from ann@example.org").expect("from");
    run(&mut s, "to bob@example.org").expect("to");
    run_with(&mut s, "data", &["Subject: typed", "", "hello", "."]).expect("data");
    assert_eq!(server.messages().len(), 1);
    assert!(s.draft.to.is_empty(), "bob got the typed message");
    assert!(!s.unsent);
    assert!(
        matches!(&s.last_sent, Some(super::session::LastSent::Typed(t)) if t.contains("hello"))
    );
}

#[test]
fn status_shows_the_conversation() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    run(&mut s, "from ann@example.org").expect("from");
    run(&mut s, "to unknown@example.org").expect_err("550");
    out.take();
    run(&mut s, "status").expect("status");
    let text = out.take();
    for want in [
        "[mail, 0 rcpt]",
        "greeted:      EHLO client.test",
        "extensions:   PIPELINING, SIZE 1000000, 8BITMIME, CHUNKING",
        "envelope:     MAIL FROM <ann@example.org> accepted",
        "rejected:   unknown@example.org (550 5.1.1 no such user)",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
}

/// An external printer that keeps what it was given.
struct Collect(Arc<Mutex<String>>);

impl rustyline::ExternalPrinter for Collect {
    fn print(&mut self, msg: String) -> rustyline::Result<()> {
        if let Ok(mut p) = self.0.lock() {
            p.push_str(&msg);
        }
        Ok(())
    }
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
fn the_tls_client_is_built_once_and_a_bad_cafile_is_never_kept() {
    let (mut s, _) = Session::for_tests();
    let mut controls = super::cmd::tls_options::TlsControls {
        cafile: Some("/nonexistent/ca.pem".into()),
        ..Default::default()
    };
    for _ in 0..2 {
        let f = super::cmd::tls::tls_client(&mut s, &controls).expect_err("no such file");
        assert!(f.message.contains("/nonexistent/ca.pem"), "{}", f.message);
        assert!(s.tls_client.is_none());
    }
    controls.cafile = None;
    super::cmd::tls::tls_client(&mut s, &controls).expect("the system's roots");
    // Kept, keyed by whether the sandbox's CA was among the anchors and
    // by the controls.
    assert!(matches!(&s.tls_client, Some((false, c, _)) if *c == controls));
    super::cmd::tls::tls_client(&mut s, &controls).expect("kept");
    assert!(matches!(&s.tls_client, Some((false, c, _)) if *c == controls));
    controls.no_sni = true;
    super::cmd::tls::tls_client(&mut s, &controls).expect("built again");
    assert!(matches!(&s.tls_client, Some((false, c, _)) if c.no_sni));
}

#[test]
fn a_recipient_accepted_with_raw_counts_for_send_and_is_kept_as_bcc() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    run(&mut s, "from ann@example.org").expect("from");
    run(&mut s, "raw RCPT TO:<carol@example.org>").expect("raw RCPT");
    assert_eq!(stage(&s), Some(Stage::Mail { recipients: 1 }));
    run(&mut s, "subject raw").expect("subject");
    // The draft lists nobody, but the transaction has carol: send goes on.
    run(&mut s, "send").expect("send");
    let text = out.take();
    assert!(
        text.contains("carol@example.org with RCPT TO already") && text.contains("as Bcc"),
        "{text}"
    );
    assert!(text.contains("message accepted for 1 recipient"), "{text}");
    let rcpts = server
        .commands()
        .iter()
        .filter(|c| c.starts_with("RCPT"))
        .count();
    assert_eq!(rcpts, 1, "carol's RCPT is not sent again");
    let msg = String::from_utf8(server.messages().remove(0)).expect("utf8");
    assert!(
        !msg.contains("carol@"),
        "Bcc stays out of the header: {msg}"
    );
    // The message sent, brought back, still goes to carol.
    run(&mut s, "new --again").expect("new --again");
    assert_eq!(s.draft.recipients().len(), 1);
    assert_eq!(s.draft.bcc[0].address.as_str(), "carol@example.org");
}

#[test]
fn set_with_a_name_alone_shows_the_value_and_the_choices() {
    let (mut s, out) = Session::for_tests();
    run(&mut s, "set timeout").expect("not an error");
    let text = out.take();
    assert!(text.contains("timeout  default"), "{text}");
    assert!(text.contains("values: SECONDS|default"), "{text}");
}

#[test]
fn not_connected_after_a_connection_names_the_way_back() {
    let (mut s, _) = Session::for_tests();
    let f = run(&mut s, "noop").expect_err("not connected");
    assert!(f.hint.is_some_and(|h| h.contains("connect HOST")));
    s.last_target = Some(super::session::Target {
        host: "127.0.0.1".into(),
        port: 2525,
        mode: super::cmd::tls::TlsMode::Auto,
        net: Default::default(),
        profile: None,
        tls: Default::default(),
        lmtp: false,
        socket: None,
    });
    for line in ["noop", "send"] {
        run(&mut s, "from ann@example.org").expect("from");
        run(&mut s, "to bob@example.org").expect("to");
        let f = run(&mut s, line).expect_err("not connected");
        assert!(
            f.hint
                .as_deref()
                .is_some_and(|h| h.contains("`connect` connects again to 127.0.0.1:2525")),
            "{line}: {:?}",
            f.hint
        );
    }
}

#[test]
fn cancelled_message_entry_leaves_the_connection_closed_not_forgotten() {
    let server = MemoryServer::default();
    let (mut s, _) = on(&server, true);
    run(&mut s, "from ann@example.org").expect("from");
    run(&mut s, "to bob@example.org").expect("to");
    // The input ends inside the message: nothing is delivered.
    let f = run_with(&mut s, "data", &["Subject: x", "partial"]).expect_err("cut off");
    assert_eq!(f.kind, FailKind::Interrupted);
    assert!(server.messages().is_empty());
    assert_eq!(stage(&s), Some(Stage::Closed));
    let (plain, _) = s.prompt();
    assert!(plain.contains("[closed]"), "{plain}");
}

#[test]
fn a_recording_keeps_refusals_with_their_expect_and_failures_as_comments() {
    let server = MemoryServer::default().answer("RCPT TO:<NOBODY", "550 5.1.1 no such user");
    let (mut s, _out) = on(&server, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("r.smtp");
    run(&mut s, &format!("record {}", file.display())).expect("record");
    run(&mut s, "from ann@example.org").expect("from");
    assert!(run(&mut s, "to nobody@example.org").is_err());
    run(&mut s, "expect 550 5.1.1").expect("the refusal was wanted");
    assert!(run(&mut s, "detach 7").is_err());
    assert!(run(&mut s, "auth PLAIN alice hunter2").is_err());
    run_with(&mut s, "body", &["hello", "."]).expect("body");
    run(&mut s, "record stop").expect("stop");
    let text = std::fs::read_to_string(&file).expect("recording");
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        lines,
        vec![
            "from ann@example.org",
            "to nobody@example.org",
            "expect 550 5.1.1",
            "expect 550 5.1.1",
            "# failed, so not replayed: there are no attachments",
            "# detach 7",
            "# a line that may hold a secret was not recorded",
            "body",
            "hello",
            ".",
        ],
        "{text}"
    );
    assert!(!text.contains("hunter2"));
    // A second recording to the same file is refused; a directory too.
    let err = run(&mut s, &format!("record {}", file.display())).unwrap_err();
    assert!(err.message.contains("already exists"), "{}", err.message);
    let err = run(&mut s, &format!("record {} --force", dir.path().display())).unwrap_err();
    assert!(err.message.contains("is a directory"), "{}", err.message);
}

#[test]
fn variables_expand_before_a_line_is_parsed() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, true);
    run(&mut s, "set var WHO bob@example.org").expect("set var");
    run(&mut s, "from ann@example.org").expect("from");
    run(&mut s, "to ${WHO}").expect("to");
    assert!(
        server
            .commands()
            .contains(&"RCPT TO:<bob@example.org>".to_string())
    );
    let err = run(&mut s, "to ${NOBODY_SET_THIS_12345}").unwrap_err();
    assert_eq!(err.message, "undefined variable ${NOBODY_SET_THIS_12345}");
    let err = run(&mut s, "set var 9x y").unwrap_err();
    assert!(
        err.message.contains("not a variable name"),
        "{}",
        err.message
    );
    // A comment is not expanded.
    run(&mut s, "# ${UNDEFINED} in a comment").expect("comment");
}

#[test]
fn the_unsent_draft_warning_comes_before_every_exit_that_would_lose_work() {
    let (mut s, out) = Session::for_tests();
    let leave = crate::shell::cmd::connect::leave;
    // A subject alone is no work lost.
    run(&mut s, "subject just this").expect("subject");
    leave(&mut s, true).expect("leave");
    assert!(s.exiting, "{}", out.take());
    let (mut s, out) = Session::for_tests();
    run(&mut s, "to bob@example.org").expect("to");
    leave(&mut s, true).expect("leave");
    assert!(!s.exiting && out.take().contains("the draft was not sent"));
    // Another command, then exit: it warns again.
    run(&mut s, "subject changed my mind").expect("subject");
    leave(&mut s, true).expect("leave");
    assert!(!s.exiting && out.take().contains("the draft was not sent"));
    // Right after the warning, exit leaves.
    leave(&mut s, true).expect("leave");
    assert!(s.exiting);
}

#[test]
fn cert_needs_an_encrypted_connection_and_says_how_to_use_it() {
    let (mut s, _) = Session::for_tests();
    let f = run(&mut s, "cert show").expect_err("not connected");
    assert!(f.message.contains("not connected"), "{}", f.message);
    let server = MemoryServer::default();
    let (mut s, _) = on(&server, true);
    let f = run(&mut s, "cert save /tmp/never-written.pem").expect_err("plaintext");
    assert!(f.message.contains("not encrypted"), "{}", f.message);
    assert!(f.hint.is_some_and(|h| h.contains("starttls")));
    assert!(!std::path::Path::new("/tmp/never-written.pem").exists());
    let f = run(&mut s, "cert frobnicate").expect_err("usage");
    assert!(
        f.message.contains("cert show | cert save FILE"),
        "{}",
        f.message
    );
}

#[test]
fn bad_tls_options_fail_before_anything_is_sent() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    let f = run(&mut s, "starttls --tls-min 1.1").expect_err("no such version");
    assert!(f.message.contains("TLS 1.2 and 1.3 only"), "{}", f.message);
    let f = run(&mut s, "starttls --pin sha256:AAAA").expect_err("short pin");
    assert!(f.message.contains("32 bytes"), "{}", f.message);
    assert!(!out.take().contains("STARTTLS"), "nothing was sent");
    // A client certificate that cannot be read: refused before connecting.
    let (mut s, out) = Session::for_tests();
    let f = run(
        &mut s,
        "connect --tls 127.0.0.1 1 --cert /nonexistent/client.pem",
    )
    .expect_err("unreadable");
    assert!(
        f.message.contains("/nonexistent/client.pem"),
        "{}",
        f.message
    );
    assert!(f.hint.is_some_and(|h| h.contains("nothing was sent")));
    assert!(!out.take().contains("connecting to"));
}
