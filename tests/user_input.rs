//! Bad input from the user (issue 5): control characters in every field,
//! header names, addresses (SMTPUTF8 only where the server offers it),
//! files that cannot be attached or change before or during a send,
//! script errors with file name and line number, and the timeout setting.
//!
//! Everything is refused before anything reaches the server, with the
//! reason; the scripted fake server (tests/support/fake.rs) records what
//! did arrive.

#[path = "support/fake.rs"]
mod fake;
mod support;
use support::{path_str, stderr, stdout};

use fake::{FakeServer, Hook, Step, Transcript, answer, expect, greet_ehlo, reply};
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::{assert_exit, describe_output, quote, run_with_timeout, smtpsh};

/// A safety net only.
const RUN: Duration = Duration::from_secs(90);

fn steps(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

fn quit() -> Vec<Step> {
    answer("QUIT", "221 fake.test bye")
}

/// `smtpsh ARGS... -c CMD...`.
fn run_c(args: &[&str], commands: &[String]) -> Output {
    let mut cmd = smtpsh();
    cmd.args(args);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    run_with_timeout(cmd, RUN)
}

/// Writes `lines` (bytes: they may hold NUL or CR) to `dir/NAME` and runs
/// `smtpsh ARGS... -f` on it.
fn run_file(dir: &Path, name: &str, args: &[&str], lines: &[Vec<u8>]) -> Output {
    let file = dir.join(name);
    let mut text = Vec::new();
    for l in lines {
        text.extend_from_slice(l);
        text.push(b'\n');
    }
    fs::write(&file, text).expect("write the script");
    let mut cmd = smtpsh();
    cmd.args(args).arg("-f").arg(&file);
    run_with_timeout(cmd, RUN)
}

/// The error line for script line `n` (`*** .../LOC:n: ...`; a script
/// file is named by the path it was given as).
fn error_at(err: &str, loc: &str, n: usize) -> Option<String> {
    let at = format!("{loc}:{n}: ");
    err.lines()
        .find(|l| l.starts_with("*** ") && l.contains(&at))
        .map(str::to_string)
}

// ------------------------------------------------- control characters

/// Every field a user types, with `X` where the control character goes.
const FIELDS: &[&str] = &[
    "to a@b.orgXRCPT TO:<evil@x.org>",
    "cc a@b.orgXevil@x.org",
    "bcc a@b.orgXevil@x.org",
    "from a@b.orgXRCPT TO:<evil@x.org>",
    "header X-TestXBcc: evil@x.org",
    "header X-Test okXBcc: evil@x.org",
    "ehlo client.exampleXRCPT TO:<evil@x.org>",
    "helo client.exampleXRCPT TO:<evil@x.org>",
    "raw NOOPXRCPT TO:<evil@x.org>",
    "subject HelloXBcc: evil@x.org",
    "attach note.txtXevil",
    "attach note.txt --name a.txtXBcc: evil@x.org",
    "save out.emlXevil",
    "source setup.smtpXevil",
    "body --file note.txtXevil",
    "vrfy bobXRCPT TO:<evil@x.org>",
    "expn listXRCPT TO:<evil@x.org>",
    "body evilXtext",
    "connect 127.0.0.1Xevil",
];

/// Runs every field with `ch` in place of `X`, after connect + EHLO, and
/// checks each is refused with the character named and nothing reached
/// the server.
fn assert_every_field_refuses(ch: char, name: &str, via_file: bool) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("note.txt"), "text\n").unwrap();
    let fake = FakeServer::start(steps(vec![greet_ehlo(), quit()]));
    let mut all = vec![
        format!("connect 127.0.0.1 {}", fake.port()),
        "ehlo client.example".to_string(),
    ];
    let first = all.len() + 1;
    all.extend(FIELDS.iter().map(|f| f.replace('X', &ch.to_string())));
    all.push("status".into());
    let out = if via_file {
        let lines: Vec<Vec<u8>> = all.iter().map(|l| l.as_bytes().to_vec()).collect();
        run_file(dir.path(), "script.smtp", &["--keep-going"], &lines)
    } else {
        let mut cmd = smtpsh();
        cmd.current_dir(dir.path()).arg("--keep-going");
        for c in &all {
            cmd.arg("-c").arg(c);
        }
        run_with_timeout(cmd, RUN)
    };
    let t = fake.finish();
    assert_exit(&out, 1, &format!("{name} in every field"));
    let err = stderr(&out);
    let loc = if via_file { "script.smtp" } else { "-c" };
    for (i, field) in FIELDS.iter().enumerate() {
        let line = error_at(&err, loc, first + i)
            .unwrap_or_else(|| panic!("{field:?} with {name} was not refused\n{err}"));
        assert!(
            line.contains(&format!("control character ({name})")),
            "the reason names {name}: {line}"
        );
    }
    t.assert_script_done();
    assert!(
        !t.received_contains(b"evil"),
        "injected text reached the server:\n{}",
        t.received_text()
    );
    let text = stdout(&out);
    assert!(text.contains("subject:    -"), "{text}");
    assert!(!text.contains("attach 1:"), "{text}");
    assert!(!dir.path().join("out.eml").exists());
}

#[test]
fn cr_is_refused_in_every_field() {
    assert_every_field_refuses('\r', "CR", true);
    assert_every_field_refuses('\r', "CR", false);
}

#[test]
fn lf_is_refused_in_every_field() {
    // A script file cannot hold a LF inside a line: `-c` can.
    assert_every_field_refuses('\n', "LF", false);
}

#[test]
fn nul_is_refused_in_every_field() {
    // A command-line argument cannot hold NUL: a script file can.
    assert_every_field_refuses('\0', "NUL", true);
}

// ------------------------------------------------- header names

#[test]
fn header_names_follow_rfc_5322() {
    let long = format!("header X-{} v", "a".repeat(80));
    let refused: Vec<(String, &str)> = vec![
        ("header X:Y value".into(), "':'"),
        ("header Héader value".into(), "only printable ASCII"),
        ("header X-Ünïcode value".into(), "only printable ASCII"),
        (long, "longer than 76"),
        ("header Bcc evil@x.org".into(), "hidden recipients"),
        ("header Content-Type text/html".into(), "set by smtpsh"),
    ];
    let mut commands: Vec<String> = refused.iter().map(|(c, _)| c.clone()).collect();
    commands.push("header X-Ok!#$%&'*+-.^_`|~(){}[]<>?/=@\"\\,;09 value".into());
    commands.push("status".into());
    let out = run_c(&["--keep-going"], &commands);
    assert_exit(&out, 1, "bad header names");
    let err = stderr(&out);
    for (i, (cmd, reason)) in refused.iter().enumerate() {
        let line = error_at(&err, "-c", i + 1).unwrap_or_else(|| panic!("{cmd}: {err}"));
        assert!(line.contains(reason), "{cmd}: {line}");
    }
    assert!(
        error_at(&err, "-c", refused.len() + 1).is_none(),
        "printable ASCII without ':' is a valid name: {err}"
    );
    let text = stdout(&out);
    assert_eq!(text.matches("  header:").count(), 1, "{text}");
    assert!(
        text.contains("header:     X-Ok!#$%&'*+-.^_`|~(){}[]<>?/=@\"\\,;09: value"),
        "{text}"
    );
}

// ------------------------------------------------- addresses

#[test]
fn addresses_are_checked_locally() {
    let long_local = format!("to {}@example.com", "a".repeat(65));
    let long_domain = format!("to a@{}.example.com", "b".repeat(64));
    let cases: Vec<(String, &str)> = vec![
        ("to alice".into(), "no '@'"),
        ("to alice@".into(), "bad domain"),
        ("to @example.com".into(), "bad local part"),
        ("to 'a b@example.com'".into(), "bad local part"),
        ("to a..b@example.com".into(), "two dots"),
        ("to a@example..com".into(), "empty label"),
        ("to <a@example.com".into(), "unbalanced"),
        ("to <>".into(), "only allowed as the sender"),
        (long_local, "longer than 64"),
        (long_domain, "longer than 63"),
        ("to a@[300.1.1.1]".into(), "not an IPv4 or IPv6"),
        ("from alice@@example.com".into(), "bad local part"),
    ];
    let fake = FakeServer::start(steps(vec![greet_ehlo(), quit()]));
    let mut commands = vec![
        format!("connect 127.0.0.1 {}", fake.port()),
        "ehlo client.example".into(),
    ];
    commands.extend(cases.iter().map(|(c, _)| c.clone()));
    // Valid ones, checked locally too (not connected any more is not needed).
    let out = run_c(&["--keep-going"], &commands);
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 1, "bad addresses");
    let err = stderr(&out);
    for (i, (cmd, reason)) in cases.iter().enumerate() {
        let line = error_at(&err, "-c", i + 3).unwrap_or_else(|| panic!("{cmd}: {err}"));
        assert!(
            line.contains("is not a valid address") && line.contains(reason),
            "{cmd}: {line}"
        );
    }
    assert!(!t.saw_command("MAIL") && !t.saw_command("RCPT"), "{t:?}");
}

/// The server's EHLO reply: with or without SMTPUTF8.
fn ehlo_reply(smtputf8: bool) -> Vec<Step> {
    let mut v = vec![
        reply("220 fake.test ready"),
        expect("EHLO"),
        reply("250-fake.test"),
    ];
    if smtputf8 {
        v.push(reply("250-SMTPUTF8"));
    }
    v.push(reply("250 8BITMIME"));
    v
}

#[test]
fn utf8_addresses_are_refused_when_the_server_lacks_smtputf8() {
    let fake = FakeServer::start(steps(vec![ehlo_reply(false), quit()]));
    let out = run_c(
        &["--keep-going"],
        &[
            format!("connect 127.0.0.1 {}", fake.port()),
            "ehlo client.example".into(),
            "from zoë@exämple.de".into(),
            "to zoë@exämple.de".into(),
        ],
    );
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 1, "SMTPUTF8 not offered");
    let err = stderr(&out);
    for n in [3, 4] {
        let line = error_at(&err, "-c", n).unwrap_or_else(|| panic!("{err}"));
        assert!(
            line.contains("zoë@exämple.de") && line.contains("does not announce SMTPUTF8"),
            "{line}"
        );
    }
    assert!(!t.saw_command("MAIL") && !t.saw_command("RCPT"));
}

#[test]
fn utf8_addresses_are_refused_after_helo() {
    let fake = FakeServer::start(steps(vec![
        vec![
            reply("220 fake.test ready"),
            expect("HELO"),
            reply("250 fake.test"),
        ],
        quit(),
    ]));
    let out = run_c(
        &[],
        &[
            format!("connect 127.0.0.1 {}", fake.port()),
            "helo client.example".into(),
            "to zoë@exämple.de".into(),
        ],
    );
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 1, "HELO: no extensions");
    let line = error_at(&stderr(&out), "-c", 3).unwrap_or_else(|| panic!("{}", stderr(&out)));
    assert!(line.contains("SMTPUTF8"), "{line}");
}

#[test]
fn utf8_recipient_of_a_draft_is_never_sent_to_a_server_without_smtputf8() {
    // The recipient was added before connecting: `send` checks it, before
    // MAIL FROM.
    let fake = FakeServer::start(steps(vec![ehlo_reply(false), quit()]));
    let out = run_c(
        &["--keep-going"],
        &[
            "from alice@example.com".into(),
            "to zoë@exämple.de".into(),
            "body hello".into(),
            format!("connect 127.0.0.1 {}", fake.port()),
            "send".into(),
            "quit".into(),
        ],
    );
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 1, "non-ASCII recipient, no SMTPUTF8");
    let line = error_at(&stderr(&out), "-c", 5).unwrap_or_else(|| panic!("{}", stderr(&out)));
    assert!(line.contains("does not announce SMTPUTF8"), "{line}");
    assert!(
        !t.saw_command("MAIL") && !t.saw_command("RCPT"),
        "{:?}",
        t.commands
    );
    assert!(!t.received_contains("exämple".as_bytes()));
}

#[test]
fn utf8_addresses_go_out_with_smtputf8_when_offered() {
    let fake = FakeServer::start(steps(vec![
        ehlo_reply(true),
        answer("MAIL FROM:<alice@example.com> SMTPUTF8", "250 ok"),
        answer("RCPT TO:<zoë@exämple.de>", "250 ok"),
        answer("DATA", "354 go"),
        vec![Step::ReadData, reply("250 queued")],
        quit(),
    ]));
    let out = run_c(
        &[],
        &[
            "from alice@example.com".into(),
            "to zoë@exämple.de".into(),
            "body hello".into(),
            format!("connect 127.0.0.1 {}", fake.port()),
            "send".into(),
        ],
    );
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 0, "SMTPUTF8 offered");
}

// ------------------------------------------------- files

/// Runs `attach PATH` then `status`; returns the output.
fn attach(path: &str) -> Output {
    run_c(
        &["--keep-going"],
        &[format!("attach {}", quote(path)), "status".into()],
    )
}

fn assert_not_attached(out: &Output, path: &str, reason: &str) {
    assert_exit(out, 1, reason);
    let line =
        error_at(&stderr(out), "-c", 1).unwrap_or_else(|| panic!("{}", describe_output(out)));
    assert!(
        line.contains(path) && line.contains(reason),
        "{reason}: {line}"
    );
    assert!(
        !stdout(out).contains("attach 1:"),
        "{}",
        describe_output(out)
    );
}

#[test]
fn a_missing_file_is_not_attached() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_str(&dir.path().join("no-such-file.pdf"));
    assert_not_attached(&attach(&p), &p, "No such file or directory");
}

#[test]
fn a_path_through_a_file_is_not_attached() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("plain.txt"), "x").unwrap();
    let p = path_str(&dir.path().join("plain.txt/inner.txt"));
    assert_not_attached(&attach(&p), &p, "Not a directory");
}

#[test]
fn a_directory_is_not_attached() {
    let dir = tempfile::tempdir().unwrap();
    let p = path_str(dir.path());
    assert_not_attached(&attach(&p), &p, "is a directory, not a file");
}

#[test]
fn a_fifo_is_refused_at_attach_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    // Nobody writes to the FIFO: opening it to read would block forever.
    // The run's own timeout is the safety net; it must end at once.
    let p = path_str(&fifo);
    assert_not_attached(&attach(&p), &p, "is a FIFO, not a regular file");
}

#[test]
fn an_unreadable_file_is_not_attached() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let secret = dir.path().join("secret.txt");
    fs::write(&secret, "private").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
    let p = path_str(&secret);
    let mut cmd = smtpsh();
    cmd.arg("--keep-going")
        .arg("-c")
        .arg(format!("attach {}", quote(&p)))
        .arg("-c")
        .arg("status");
    if fs::read(&secret).is_ok() {
        // Running as root, where mode 000 does not stop reading: run smtpsh
        // as `nobody` instead, from a directory it may enter.
        cmd.uid(65534)
            .gid(65534)
            .current_dir("/")
            .env("HOME", "/nonexistent");
    }
    let out = run_with_timeout(cmd, RUN);
    assert_not_attached(&out, &p, "Permission denied");
    assert!(
        stderr(&out).contains("check its permissions"),
        "{}",
        describe_output(&out)
    );
}

/// A draft with an attachment, a connection; `hook` runs on the server
/// side at the point the steps say.
fn send_with_attachment(server: Vec<Step>, att: &Path) -> (Output, Transcript) {
    let fake = FakeServer::start(server);
    let out = run_c(
        &["--keep-going"],
        &[
            "from alice@example.com".into(),
            "to bob@example.com".into(),
            "subject With a file".into(),
            format!("attach {}", quote(&path_str(att))),
            format!("connect 127.0.0.1 {}", fake.port()),
            "send".into(),
            "status".into(),
        ],
    );
    (out, fake.finish())
}

#[test]
fn a_file_that_changes_size_after_attach_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let att = dir.path().join("growing.log");
    fs::write(&att, "line 1\n").unwrap();
    let grow = {
        let att = att.clone();
        Hook::new(move || {
            let _ = fs::write(&att, "line 1\nline 2\n");
        })
    };
    // The file grows while smtpsh connects (after `attach`, before `send`).
    let (out, t) = send_with_attachment(
        steps(vec![
            vec![Step::Call(grow), reply("220 fake.test ready")],
            quit(),
        ]),
        &att,
    );
    t.assert_script_done();
    assert_exit(&out, 1, "file changed");
    let line =
        error_at(&stderr(&out), "-c", 6).unwrap_or_else(|| panic!("{}", describe_output(&out)));
    assert!(
        line.contains("growing.log changed size since it was attached (7 → 14 bytes)"),
        "{line}"
    );
    assert!(
        !t.saw_command("EHLO") && !t.saw_command("MAIL"),
        "{:?}",
        t.commands
    );
    assert!(stdout(&out).contains("attach 1:   growing.log"));
}

#[test]
fn a_file_that_changes_during_the_send_aborts_it_before_the_final_dot() {
    for truncate in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let att = dir.path().join("data.bin");
        let size = 3 * 1024 * 1024;
        fs::write(&att, support::random_bytes(size, 9)).unwrap();
        let change = {
            let att = att.clone();
            Hook::new(move || {
                let f = fs::OpenOptions::new().write(true).open(&att).expect("open");
                let new = if truncate { size / 2 } else { size + 1 };
                f.set_len(new as u64).expect("resize");
            })
        };
        // The file changes after the 354 is decided, before it is sent:
        // smtpsh is already committed to sending the message.
        let (out, t) = send_with_attachment(
            steps(vec![
                greet_ehlo(),
                answer("MAIL FROM:", "250 ok"),
                answer("RCPT TO:", "250 ok"),
                vec![
                    expect("DATA"),
                    Step::Call(change),
                    reply("354 go ahead"),
                    Step::Hold,
                ],
            ]),
            &att,
        );
        assert!(t.completed, "smtpsh closed the connection");
        assert!(
            !t.saw_final_dot(),
            "the server must never get a truncated message"
        );
        assert_exit(&out, 1, "file changed during send");
        let err = stderr(&out);
        let line = error_at(&err, "-c", 6).unwrap_or_else(|| panic!("{}", describe_output(&out)));
        assert!(
            line.contains("sending stopped") && line.contains("data.bin changed size"),
            "{line}"
        );
        assert!(err.contains("before the final dot"), "{err}");
        let text = stdout(&out);
        assert!(text.contains("plaintext [closed]"), "{text}");
        assert!(text.contains("subject:    With a file"), "{text}");
    }
}

// ------------------------------------------------- script errors

#[test]
fn script_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner.smtp");
    fs::write(&inner, "# setup\nsubject from inner\nbogus-command\n").unwrap();
    let lines: Vec<Vec<u8>> = [
        "# outer".to_string(),
        "sned".into(),
        "to 'unbalanced@example.com".into(),
        "source /nonexistent-dir/missing.smtp".into(),
        format!("source {}", quote(&path_str(&inner))),
        "status".into(),
    ]
    .iter()
    .map(|l| l.as_bytes().to_vec())
    .collect();
    let out = run_file(dir.path(), "outer.smtp", &["--keep-going"], &lines);
    assert_exit(&out, 1, "script errors");
    let err = stderr(&out);
    let at = |n| error_at(&err, "outer.smtp", n).unwrap_or_else(|| panic!("line {n}: {err}"));
    assert!(at(2).contains("unknown command 'sned'"), "{err}");
    assert!(err.contains("did you mean `send`"), "{err}");
    assert!(at(3).contains("unbalanced quotes"), "{err}");
    assert!(
        at(4).contains("cannot open /nonexistent-dir/missing.smtp"),
        "{err}"
    );
    // An error inside a sourced file names that file and its line.
    let inner_err = error_at(&err, &path_str(&inner), 3).unwrap_or_else(|| panic!("{err}"));
    assert!(
        inner_err.contains("unknown command 'bogus-command'"),
        "{err}"
    );
    // ... and the `source` line says where the sourced script stopped.
    assert!(
        at(5).contains(&format!(
            "the sourced script stopped at {}:3",
            path_str(&inner)
        )),
        "{err}"
    );
    assert!(
        stdout(&out).contains("subject:    from inner"),
        "{}",
        describe_output(&out)
    );
}

// ------------------------------------------------- the timeout setting

#[test]
fn timeout_defaults_per_phase_and_one_value_for_all() {
    let out = run_c(
        &["--keep-going"],
        &[
            "set".into(),
            "set timeout 45".into(),
            "set".into(),
            "set timeout default".into(),
            "set timeout 0".into(),
            "set timeout soon".into(),
        ],
    );
    assert_exit(&out, 1, "bad values");
    let text = stdout(&out);
    let shown: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("timeout  "))
        .collect();
    assert_eq!(shown.len(), 2, "{text}");
    assert!(
        shown[0].contains("default")
            && shown[0].contains("greeting 300 s")
            && shown[0].contains("MAIL 300 s")
            && shown[0].contains("RCPT 300 s")
            && shown[0].contains("DATA 120 s")
            && shown[0].contains("data block 180 s")
            && shown[0].contains("end of message 600 s")
            && shown[0].contains("connecting 30 s"),
        "{}",
        shown[0]
    );
    assert!(shown[1].contains("45 s for every phase"), "{}", shown[1]);
    assert!(text.contains("=== timeout: default"), "{text}");
    let err = stderr(&out);
    assert!(
        error_at(&err, "-c", 5).is_some_and(|l| l.contains("'0' is not a number of seconds")),
        "{err}"
    );
    assert!(error_at(&err, "-c", 6).is_some(), "{err}");
}
