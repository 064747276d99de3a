//! LMTP faults a real server does not produce on demand, played by the
//! scripted fake server (tests/support/fake.rs) against the real `smtpsh`
//! binary: fewer replies than recipients after the message, then a close;
//! a 421 among them; all of them pipelined in one write. The happy paths
//! are in tests/interop_lmtp.rs, against Dovecot.

#[path = "support/fake.rs"]
mod fake;
mod support;

use fake::{FakeServer, Step, answer, expect, reply};
use std::fs;
use std::process::Output;
use support::{assert_exit, describe_output, smtpsh, stderr, stdout};

/// An LMTP opening: greeting, LHLO (with PIPELINING when `pipelining`).
fn lhlo(pipelining: bool) -> Vec<Step> {
    let mut v = vec![
        reply("220 fake.test LMTP ready"),
        expect("LHLO "),
        reply("250-fake.test"),
    ];
    v.push(reply(if pipelining {
        "250 PIPELINING"
    } else {
        "250 ENHANCEDSTATUSCODES"
    }));
    v
}

/// MAIL and three RCPTs accepted, DATA answered 354, the message read.
fn three_recipients_and_the_message() -> Vec<Step> {
    let mut v = lhlo(false);
    v.extend(answer("MAIL FROM:", "250 2.1.0 ok"));
    for _ in 0..3 {
        v.extend(answer("RCPT TO:", "250 2.1.5 ok"));
    }
    v.extend(answer("DATA", "354 go ahead"));
    v.push(Step::ReadData);
    v
}

/// Runs `smtpsh -f SCRIPT`: the draft for b@, c@ and d@, `connect
/// --lmtp` to the fake server, `send`, then `after`.
fn run(fake: &FakeServer, after: &str) -> Output {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("s.smtpsh");
    let script = format!(
        "from a@example.org\n\
         to b@example.org c@example.org d@example.org\n\
         subject faults\n\
         body text\n\
         connect --lmtp 127.0.0.1 {}\n\
         send\n\
         {after}\n",
        fake.port()
    );
    fs::write(&file, script).expect("write");
    let mut cmd = smtpsh();
    cmd.arg("-f").arg(&file);
    support::run_with_timeout(cmd, support::SCRIPT_TIMEOUT)
}

fn text(out: &Output) -> (String, String) {
    (stdout(out), stderr(out))
}

#[test]
fn fewer_replies_than_recipients_then_a_close() {
    let mut steps = three_recipients_and_the_message();
    steps.push(reply("250 2.0.0 ok"));
    steps.push(Step::Close);
    let fake = FakeServer::start(steps);
    let out = run(&fake, "");
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 3, "a lost connection");
    let (so, se) = text(&out);
    // The one reply that came is b's, and says so.
    assert!(
        so.contains("<-  250 2.0.0 ok   (for <b@example.org>)"),
        "{so}"
    );
    assert!(
        se.contains("the message was sent after 1 of the recipients' replies: whether c@example.org, d@example.org got it is unknown"),
        "{}",
        describe_output(&out)
    );
    assert!(se.contains("delivered to 1 of 3 recipients"), "{se}");
    assert!(
        se.contains("unknown (no reply came): c@example.org, d@example.org"),
        "{se}"
    );
}

#[test]
fn a_421_among_the_replies_ends_them() {
    let mut steps = three_recipients_and_the_message();
    steps.push(reply("250 2.0.0 <b@example.org> delivered"));
    steps.push(reply("421 4.3.2 shutting down"));
    steps.push(Step::Hold);
    let fake = FakeServer::start(steps);
    let out = run(&fake, "");
    let t = fake.finish();
    assert_exit(&out, 4, "partial");
    let (so, se) = text(&out);
    // The server named b itself: no note added.
    assert!(
        so.contains("<-  250 2.0.0 <b@example.org> delivered\n"),
        "{so}"
    );
    assert!(
        so.contains("<-  421 4.3.2 shutting down   (for <c@example.org>)"),
        "{so}"
    );
    assert!(se.contains("delivered to 1 of 3 recipients"), "{se}");
    assert!(
        se.contains("not delivered: c@example.org (421 4.3.2 shutting down)"),
        "{se}"
    );
    assert!(
        se.contains("unknown (no reply came): d@example.org"),
        "{se}"
    );
    assert!(
        se.contains("whether d@example.org got it is unknown"),
        "{se}"
    );
    // No QUIT after a 421: the server closed.
    assert!(!t.saw_command("QUIT"), "{:?}", t.commands);
}

#[test]
fn pipelined_replies_each_go_to_their_recipient_and_quit_gets_its_own() {
    let mut steps = lhlo(true);
    steps.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:<b@"),
        expect("RCPT TO:<c@"),
        expect("RCPT TO:<d@"),
        expect("DATA"),
        // Every envelope reply in one write.
        Step::Send(b"250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n".to_vec()),
        Step::ReadData,
        // Both recipients' replies in one write, before QUIT is even sent.
        Step::Send(b"250 2.0.0 saved\r\n452 4.2.2 mailbox full\r\n".to_vec()),
    ]);
    steps.extend(answer("QUIT", "221 2.0.0 bye"));
    let fake = FakeServer::start(steps);
    let out = run(&fake, "expect 5xx 4xx");
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 0, "the expect accepts both refusals");
    let (so, se) = text(&out);
    assert!(
        so.contains("<-  250 2.0.0 saved   (for <b@example.org>)"),
        "{so}"
    );
    assert!(
        so.contains("<-  452 4.2.2 mailbox full   (for <d@example.org>)"),
        "{so}"
    );
    assert!(so.contains("<-  221 2.0.0 bye\n"), "{so}");
    assert!(se.contains("delivered to 1 of 3 recipients"), "{se}");
    assert!(
        se.contains("not delivered: c@example.org (550 5.1.1"),
        "{se}"
    );
    assert!(
        se.contains("not delivered: d@example.org (452 4.2.2"),
        "{se}"
    );
    assert!(
        so.contains("expect 5xx or 4xx: got 550 (2 replies, every one matching)"),
        "{so}"
    );
    // An `expect` that only one of the refusals matches fails.
    let mut steps = lhlo(true);
    steps.extend([
        expect("MAIL FROM:"),
        expect("RCPT TO:"),
        expect("RCPT TO:"),
        expect("RCPT TO:"),
        expect("DATA"),
        Step::Send(b"250 ok\r\n250 ok\r\n550 5.1.1 no such user\r\n250 ok\r\n354 go\r\n".to_vec()),
        Step::ReadData,
        Step::Send(b"250 2.0.0 saved\r\n452 4.2.2 mailbox full\r\n".to_vec()),
    ]);
    steps.extend(answer("QUIT", "221 2.0.0 bye"));
    let fake = FakeServer::start(steps);
    let out = run(&fake, "expect 550");
    fake.finish();
    assert_exit(&out, 5, "expect 550 does not match the 452");
    let (_, se) = text(&out);
    assert!(
        se.contains("expected 550, got 452 4.2.2 mailbox full"),
        "{se}"
    );
    assert!(
        se.contains("each refused recipient's reply must match"),
        "{se}"
    );
}
