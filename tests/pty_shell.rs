//! The interactive shell driven through a pseudo-terminal, as a person uses
//! it: Tab completion of a command and a path, colour, Ctrl-C, Ctrl-D,
//! history across two runs, and a server closing the connection while the
//! user is at the prompt (a scripted fake server on 127.0.0.1).

#[path = "support/pty.rs"]
mod pty;
use pty::{PROMPT_START, type_line};

#[path = "support/fake.rs"]
mod fake;

use expectrl::{ControlCode, Eof, Expect, Session};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn shell(home: &Path, cwd: &Path, extra: &[&str]) -> expectrl::session::OsSession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.args(extra)
        .current_dir(cwd)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("SMTPSH_HISTORY", home.join("history"))
        .env("TERM", "xterm-256color")
        // `help` is taller than the terminal: shown by a pager that
        // needs no keys.
        .env("PAGER", "cat")
        .env_remove("NO_COLOR");
    let mut s = Session::spawn(cmd).expect("spawn smtpsh in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s.expect("Ctrl-D to leave").expect("banner");
    s.expect(PROMPT_START).expect("first prompt");
    s
}

fn exit_status(s: &expectrl::session::OsSession) -> String {
    format!("{:?}", s.get_process().wait().expect("wait"))
}

#[test]
fn tab_completes_a_command_and_a_path() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("quarterly-report-2026.csv"), b"a,b\n1,2\n").unwrap();
    let mut s = shell(home.path(), work.path(), &[]);
    // "subj<Tab>" completes to "subject ".
    let out = type_line(&mut s, "subj\tTab works");
    assert!(out.contains("subject set"), "{out}");
    // "attach quart<Tab>" completes the file name.
    let out = type_line(&mut s, "attach quart\t");
    assert!(
        out.contains("attached 1: quarterly-report-2026.csv (text/csv"),
        "{out}"
    );
    let out = type_line(&mut s, "status");
    assert!(out.contains("subject:    Tab works"), "{out}");
    type_line(&mut s, "new");
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
    assert!(exit_status(&s).ends_with(", 0)"), "{}", exit_status(&s));
}

#[test]
fn errors_are_coloured_and_suggest_a_command() {
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &[]);
    let out = type_line(&mut s, "sned");
    // Red error marker, then the did-you-mean hint.
    assert!(
        out.contains("\x1b[1m\x1b[31m***\x1b[0m \x1b[31munknown command 'sned'"),
        "{out:?}"
    );
    assert!(out.contains("did you mean `send`"), "{out}");
    let out = type_line(&mut s, "connect 127.0.0.1 1");
    assert!(out.contains("refused"), "{out}");
    assert!(out.contains("\x1b[1m\x1b[31m***"), "{out:?}");
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
}

#[test]
fn never_colour_when_asked() {
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &["--color", "never"]);
    let out = type_line(&mut s, "sned");
    assert!(out.contains("did you mean"), "{out}");
    assert!(
        !out.contains("\x1b[31m") && !out.contains("\x1b[1;31m"),
        "no colour expected: {out:?}"
    );
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
}

#[test]
fn ctrl_c_clears_the_line_and_ctrl_d_leaves_after_one_warning() {
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &[]);
    s.send("subject typed but abandoned").unwrap();
    s.send(ControlCode::EndOfText).unwrap();
    s.expect(PROMPT_START).unwrap();
    let out = type_line(&mut s, "status");
    assert!(
        out.contains("subject:    -"),
        "Ctrl-C must discard the line: {out}"
    );
    // An unsent draft: the first Ctrl-D warns, the second leaves.
    let out = type_line(&mut s, "to bob@example.com");
    assert!(out.contains("recipient bob@example.com added"), "{out}");
    s.send(ControlCode::EndOfTransmission).unwrap();
    let cap = s.expect(PROMPT_START).unwrap();
    assert!(String::from_utf8_lossy(cap.before()).contains("the draft was not sent"));
    assert!(
        s.get_process().is_alive().unwrap(),
        "one Ctrl-D with an unsent draft only warns"
    );
    s.send(ControlCode::EndOfTransmission).unwrap();
    s.expect(Eof).unwrap();
    assert!(exit_status(&s).ends_with(", 0)"), "{}", exit_status(&s));
}

#[test]
fn multi_line_body_ends_at_a_lone_dot() {
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &[]);
    let out = type_line(&mut s, "body");
    assert!(out.contains("a line with only '.' ends it"), "{out}");
    type_line(&mut s, "first line");
    type_line(&mut s, ".second, not the end");
    let out = type_line(&mut s, ".");
    assert!(out.contains("body set (2 lines"), "{out}");
    type_line(&mut s, "new");
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
}

#[test]
fn history_survives_a_restart_and_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &[]);
    let out = type_line(&mut s, "help rset");
    assert!(out.contains("Sends RSET"), "{out}");
    type_line(&mut s, "body");
    type_line(&mut s, "a message line, not a command");
    type_line(&mut s, ".");
    type_line(&mut s, "new");
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();

    let hist = home.path().join("history");
    let text = std::fs::read_to_string(&hist).expect("history file written");
    assert!(text.contains("help rset"), "{text}");
    assert!(
        !text.contains("a message line"),
        "message text must not enter the history: {text}"
    );
    let mode = std::fs::metadata(&hist).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "history must be private");

    let mut s = shell(home.path(), home.path(), &[]);
    let out = type_line(&mut s, "history");
    assert!(out.contains("help rset"), "{out}");
    // Up five times: history, exit, new, body, help rset.
    let out = type_line(&mut s, "\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A");
    assert!(out.contains("Sends RSET"), "{out}");
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
}

#[test]
fn no_history_flag_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &["--no-history"]);
    type_line(&mut s, "help");
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
    assert!(!home.path().join("history").exists());
}

#[test]
fn a_421_at_the_prompt_shows_at_once_and_the_prompt_says_the_connection_is_gone() {
    use fake::{FakeServer, Step, expect, reply};
    let fake = FakeServer::start(vec![
        reply("220 fake.test ESMTP"),
        expect("EHLO"),
        reply("250 fake.test"),
        Step::Sleep(Duration::from_millis(1500)),
        reply("421 4.4.2 fake.test idle too long"),
        Step::Close,
    ]);
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &["--color", "never"]);
    type_line(&mut s, &format!("connect 127.0.0.1 {}", fake.port()));
    let out = type_line(&mut s, "ehlo client.example");
    assert!(out.contains("<-  250 fake.test"), "{out}");
    // The user is typing when the server gives up on them.
    s.send("from ann@exa").unwrap();
    let cap = s
        .expect("[closed by server]")
        .expect("the prompt is redrawn without Enter");
    let shown = String::from_utf8_lossy(cap.before()).into_owned();
    assert!(
        shown.contains("<-  421 4.4.2 fake.test idle too long"),
        "{shown}"
    );
    assert!(
        shown.contains("the server closed the connection (421)"),
        "{shown}"
    );
    // What was typed is still there: finish the line.
    let out = type_line(&mut s, "mple.org");
    assert!(out.contains("sender set to ann@example.org"), "{out}");
    let out = type_line(&mut s, "status");
    assert!(
        out.contains("closed:       the server closed the connection (421"),
        "{out}"
    );
    // The draft holds only a sender, nothing worth a warning: `exit` leaves.
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
    fake.finish();
}

#[test]
fn lines_typed_ahead_all_run_in_order() {
    // Several lines at once (a fast typist, or a paste into a terminal
    // without bracketed paste): none is lost, the body's lines included.
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &["--no-history"]);
    s.send("subject ahead\rbody\rline one\rline two\r.\rto bob@example.org\r")
        .unwrap();
    s.expect("recipient bob@example.org added")
        .expect("the last line ran");
    s.expect(PROMPT_START).expect("its prompt");
    let out = type_line(&mut s, "status");
    assert!(out.contains("subject:    ahead"), "{out}");
    assert!(out.contains("body:       18 bytes"), "{out}");
    assert!(out.contains("to:         bob@example.org"), "{out}");
    s.send_line("new").unwrap();
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
}

/// A session typed by hand — with a typo, a missing file and a refused
/// command among the good ones — recorded with `--expect`, replays with
/// `smtpsh -f` from another directory against the same server and exits 0.
#[test]
fn a_recording_made_by_hand_replays_from_another_directory() {
    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("notes.txt"), b"attached by hand\n").unwrap();
    let sandbox = smtpsh::sandbox::Sandbox::start_in(&home.path().join("server")).unwrap();
    let mut s = shell(home.path(), work.path(), &["--color", "never"]);
    for line in [
        "record session.smtp --expect".to_string(),
        format!("connect 127.0.0.1 {}", sandbox.port()),
        "from ann@example.com".to_string(),
        "to bob@example.org".to_string(),
        "subject typed by hand".to_string(),
        "attach notes.txt".to_string(),
        "attach missing.txt".to_string(),
        "sned".to_string(),
        "rcpt to:<no space@example.org>".to_string(),
        "send".to_string(),
        "record stop".to_string(),
    ] {
        type_line(&mut s, &line);
    }
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
    let recording = work.path().join("session.smtp");
    let text = std::fs::read_to_string(&recording).unwrap();
    assert!(
        text.contains(&format!(
            "attach {}",
            work.path().join("notes.txt").display()
        )),
        "{text}"
    );
    assert!(
        text.contains("# sned") && text.contains("\nsend\nexpect 250 2.0.0\n"),
        "{text}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"))
        .args(["--no-history", "-f"])
        .arg(&recording)
        .current_dir(elsewhere.path())
        .env("HOME", home.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = std::fs::read_dir(sandbox.maildir().join("new"))
        .unwrap()
        .count();
    assert_eq!(stored, 2, "the session's message and the replay's");
}

/// Message text is text: no command colours in it, a tab is a tab.
#[test]
fn message_lines_are_plain_and_take_a_literal_tab() {
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(home.path(), home.path(), &["--no-history"]);
    s.send("body\r").unwrap();
    s.expect("body> ").expect("the body prompt");
    // "From" is a command's alias, "Hello," is no command: typed at the
    // command prompt they would be green and red.
    s.send("From the desk\tof Ann, Hello,\r").unwrap();
    let cap = s.expect("body> ").expect("the next body prompt");
    let typed = String::from_utf8_lossy(cap.before()).into_owned();
    assert!(
        !typed.contains("\x1b[32m") && !typed.contains("\x1b[31m"),
        "coloured message text: {typed:?}"
    );
    s.send(".\r").unwrap();
    s.expect("body set").unwrap();
    s.expect(PROMPT_START).unwrap();
    let out = type_line(&mut s, "show");
    assert!(out.contains("From the desk\tof Ann, Hello,"), "{out:?}");
    s.send_line("new").unwrap();
    s.expect(PROMPT_START).unwrap();
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
}

/// A bracketed paste of three lines at the prompt runs three commands,
/// each shown after its prompt; a failing one stops the rest.
#[test]
fn a_pasted_block_runs_line_by_line_and_stops_at_a_failure() {
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(
        home.path(),
        home.path(),
        &["--no-history", "--color", "never"],
    );
    // No Enter: a pasted line break runs the line, as typed.
    s.send("\x1b[200~subject one\rsubject two\rsubject three\r\x1b[201~")
        .unwrap();
    s.expect("subject set: three").expect("the third line ran");
    s.expect(PROMPT_START).unwrap();
    let out = type_line(&mut s, "status");
    assert!(out.contains("subject:    three"), "{out}");
    s.send("\x1b[200~subject four\rsubjekt five\rsubject six\r\x1b[201~")
        .unwrap();
    s.expect("what was pasted after it is not run")
        .expect("the rest dropped");
    s.expect(PROMPT_START).unwrap();
    let out = type_line(&mut s, "status");
    assert!(out.contains("subject:    four"), "{out}");
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
}

/// A server that says nothing: after a second a line says what smtpsh
/// waits for; Ctrl-C stops it and its message starts a line of its own.
#[test]
fn a_silent_server_is_waited_for_aloud_and_ctrl_c_starts_a_new_line() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let keep = std::thread::spawn(move || listener.accept().map(|(c, _)| c));
    let home = tempfile::tempdir().unwrap();
    let mut s = shell(
        home.path(),
        home.path(),
        &["--no-history", "--color", "never"],
    );
    s.send_line(format!("connect 127.0.0.1 {port}")).unwrap();
    s.expect("... waiting for the greeting (Ctrl-C stops waiting)")
        .expect("the waiting line");
    s.send(ControlCode::EndOfText).unwrap();
    let cap = s.expect("interrupted").unwrap();
    let before = String::from_utf8_lossy(cap.before()).into_owned();
    assert!(
        before.ends_with("\n*** ") || before.ends_with("\r\n*** "),
        "{before:?}"
    );
    s.expect(PROMPT_START).unwrap();
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
    drop(keep);
}
