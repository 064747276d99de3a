//! `smtpsh --guided` driven through a pseudo-terminal as a learner uses it:
//! no server given, so the built-in sandbox (its mail in a temporary
//! directory); both answer forms, `help`, `back`, Tab completing a path at
//! the attachment step, the script shown at the end, and leaving with
//! Ctrl-D or Ctrl-C (QUIT said, exit status 1 or 130).

#[path = "support/fake.rs"]
mod fake;
#[path = "support/pty.rs"]
mod pty;
use pty::PROMPT_START;

use expectrl::{ControlCode, Eof, Expect, Session};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// `smtpsh --guided` in `cwd`, everything it keeps under `home`; returns
/// at its first question.
fn guided(home: &Path, cwd: &Path) -> expectrl::session::OsSession {
    let mut s = spawn_guided(home, cwd, &[]);
    s.expect("no server given: using the built-in sandbox")
        .expect("the sandbox is offered");
    s.expect(PROMPT_START).expect("first question");
    s
}

/// `smtpsh --guided ARGS` in a pseudo-terminal, just started.
fn spawn_guided(home: &Path, cwd: &Path, args: &[&str]) -> expectrl::session::OsSession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.args(["--guided", "--color", "never"])
        .args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("SMTPSH_HISTORY", home.join("history"))
        .env("SMTPSH_SANDBOX_DIR", home.join("sandbox"))
        .env("TERM", "xterm-256color");
    let mut s = Session::spawn(cmd).expect("spawn smtpsh in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s
}

/// Types `keys` + Enter, waits for the next question, returns what was
/// shown in between.
fn answer(s: &mut expectrl::session::OsSession, keys: &str) -> String {
    s.send(keys).unwrap();
    s.send("\r").unwrap();
    let cap = s
        .expect(PROMPT_START)
        .unwrap_or_else(|e| panic!("no question after {keys:?}: {e}"));
    String::from_utf8_lossy(cap.before()).into_owned()
}

/// Waits for the end; everything shown until then and the exit status.
fn ending(s: &mut expectrl::session::OsSession) -> (String, String) {
    let cap = s.expect(Eof).expect("smtpsh ends");
    let shown = String::from_utf8_lossy(cap.as_bytes()).into_owned();
    let status = format!("{:?}", s.get_process().wait().expect("wait"));
    (shown, status)
}

#[test]
fn the_classic_exercise_end_to_end_with_both_forms_back_and_tab() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("notes.txt"), b"attached by a learner\n").unwrap();
    let mut s = guided(home.path(), work.path());
    let out = answer(&mut s, "help");
    assert!(
        out.contains("`HELO student.example`, or just the name"),
        "{out}"
    );
    let out = answer(&mut s, "HELO student.example");
    assert!(out.contains("-> HELO student.example"), "{out}");
    assert!(out.contains("250: OK, the server knows your name"), "{out}");
    let out = answer(&mut s, "MAIL FROM:<alice@example.com>");
    assert!(out.contains("-> MAIL FROM:<alice@example.com>"), "{out}");
    let out = answer(&mut s, "back");
    assert!(out.contains("-> RSET"), "{out}");
    let out = answer(&mut s, "alice@example.org");
    assert!(out.contains("-> MAIL FROM:<alice@example.org>"), "{out}");
    let out = answer(&mut s, "RCPT TO:<bob@example.com>");
    assert!(out.contains("-> RCPT TO:<bob@example.com>"), "{out}");
    answer(&mut s, "");
    answer(&mut s, "Subject: Guided hello");
    answer(&mut s, "first line");
    let out = answer(&mut s, ".");
    assert!(out.contains("body set (1 line"), "{out}");
    // Tab completes the file name, not a command name.
    let out = answer(&mut s, "not\t");
    assert!(out.contains("attached 1: notes.txt"), "{out}");
    s.send("\r").unwrap();
    let (shown, status) = ending(&mut s);
    assert!(shown.contains("-> DATA"), "{shown}");
    assert!(shown.contains("done: the message was accepted"), "{shown}");
    let script = "connect sandbox\r\nhelo student.example\r\nfrom alice@example.org\r\n\
                  to bob@example.com\r\nsubject Guided hello\r\nbody\r\nfirst line\r\n.\r\n\
                  attach notes.txt\r\nsend\r\n";
    assert!(shown.contains(script), "{shown}");
    assert!(status.ends_with(", 0)"), "{status}");
    let new = home.path().join("sandbox/Maildir/new");
    let stored: Vec<_> = std::fs::read_dir(&new).unwrap().flatten().collect();
    assert_eq!(stored.len(), 1);
    let message = std::fs::read_to_string(stored[0].path()).unwrap();
    assert!(message.contains("Subject: Guided hello"), "{message}");
    assert!(message.contains("notes.txt"), "{message}");
}

#[test]
fn ctrl_d_says_quit_and_leaves_with_status_1() {
    let home = tempfile::tempdir().unwrap();
    let mut s = guided(home.path(), home.path());
    answer(&mut s, "student.example");
    s.send(ControlCode::EndOfTransmission).unwrap();
    let (shown, status) = ending(&mut s);
    assert!(shown.contains("-> QUIT"), "{shown}");
    assert!(shown.contains("221: the server says goodbye"), "{shown}");
    assert!(shown.contains("the message was not sent"), "{shown}");
    assert!(status.ends_with(", 1)"), "{status}");
}

#[test]
fn ctrl_c_says_quit_and_leaves_with_status_130() {
    let home = tempfile::tempdir().unwrap();
    let mut s = guided(home.path(), home.path());
    s.send("half an ans").unwrap();
    s.send(ControlCode::EndOfText).unwrap();
    let (shown, status) = ending(&mut s);
    assert!(shown.contains("-> QUIT"), "{shown}");
    assert!(status.ends_with(", 130)"), "{status}");
}

#[test]
fn a_421_while_the_learner_thinks_shows_at_once_and_ends_the_walk() {
    use fake::{FakeServer, Step, expect, reply};
    let fake = FakeServer::start(vec![
        reply("220 fake.test ESMTP"),
        expect("HELO"),
        reply("250 fake.test"),
        Step::Sleep(Duration::from_millis(1500)),
        reply("421 4.4.2 fake.test idle too long"),
        Step::Close,
    ]);
    let home = tempfile::tempdir().unwrap();
    let port = fake.port_str();
    let mut s = spawn_guided(home.path(), home.path(), &["127.0.0.1", &port]);
    s.expect(PROMPT_START).expect("first question");
    let shown = answer(&mut s, "student.example");
    assert!(shown.contains("<-  250 fake.test"), "{shown}");
    // Half an address typed when the server gives up: no Enter needed.
    s.send("ann@exa").unwrap();
    let (shown, status) = ending(&mut s);
    assert!(
        shown.contains("<-  421 4.4.2 fake.test idle too long"),
        "{shown}"
    );
    assert!(
        shown.contains("421: the server is closing the connection"),
        "{shown}"
    );
    assert!(shown.contains("the message was not sent"), "{shown}");
    assert!(!shown.contains("-> MAIL"), "nothing more is sent: {shown}");
    assert!(status.ends_with(", 3)"), "{status}");
    fake.finish().assert_script_done();
}
