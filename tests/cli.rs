//! The `smtpsh` binary as scripts and users run it: exit statuses and error
//! messages, where commands come from (`-c`, `-f`, standard input), what
//! survives a failure, what reaches the wire when things go wrong, `record`,
//! `--guided` and colour.
//!
//! No outside server: failures are provoked by a scripted fake server
//! (tests/support/fake.rs) or by a closed loopback port. Delivery through a
//! real server is the interop tests' job.

#[path = "support/fake.rs"]
mod fake;
mod support;
use support::{path_str, stderr, stdout};

use fake::{FakeServer, Step, answer, expect, find, greet_ehlo, reply};
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::{assert_exit, describe_output, quote, run_with_timeout, smtpsh};

/// A safety net only: every run here ends on its own in well under this.
const RUN: Duration = Duration::from_secs(90);

// ------------------------------------------------------------------ helpers

/// A port on 127.0.0.1 where nothing listens: bound, then released.
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("address").port();
    drop(l);
    port
}

/// `smtpsh ARGS... -c CMD...`.
fn run_c(args: &[&str], commands: &[&str]) -> Output {
    let mut cmd = smtpsh();
    cmd.args(args);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    run_with_timeout(cmd, RUN)
}

/// Writes `text` (bytes, so scripts may hold NUL or bare CR) to
/// `dir/script.smtp` and runs `smtpsh ARGS... -f that-file`.
fn run_file(dir: &Path, args: &[&str], text: &[u8]) -> Output {
    let file = dir.join("script.smtp");
    fs::write(&file, text).expect("write the script");
    let mut cmd = smtpsh();
    cmd.args(args).arg("-f").arg(&file);
    run_with_timeout(cmd, RUN)
}

/// Runs `cmd` with `input` on a real pipe as standard input.
fn run_piped(mut cmd: Command, input: &[u8]) -> Output {
    let (reader, mut writer) = std::io::pipe().expect("pipe");
    cmd.stdin(reader);
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        // The reader may exit early; a broken pipe is fine.
        let _ = writer.write_all(&input);
    });
    let out = run_with_timeout(cmd, RUN);
    let _ = feeder.join();
    out
}

fn connect_cmd(port: u16) -> String {
    format!("connect 127.0.0.1 {port}")
}

/// The line of `text` that contains `needle`, for "one clear line" checks.
fn line_with<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().find(|l| l.contains(needle))
}

fn steps(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

fn quit() -> Vec<Step> {
    answer("QUIT", "221 fake.test bye")
}

/// The server side of a successful delivery after EHLO: MAIL, one RCPT per
/// entry of `rcpts` (prefix, reply), DATA, the message, 250.
fn deliver(rcpts: &[(&str, &str)]) -> Vec<Step> {
    let mut v = answer("MAIL FROM:", "250 2.1.0 sender ok");
    for (prefix, line) in rcpts {
        v.extend(answer(prefix, line));
    }
    v.extend(answer("DATA", "354 end with <CRLF>.<CRLF>"));
    v.push(Step::ReadData);
    v.push(reply("250 2.0.0 queued as FAKE1"));
    v
}

/// Panics unless `data` uses CRLF only (no bare CR, no bare LF).
fn assert_crlf_only(data: &[u8]) {
    for (i, &b) in data.iter().enumerate() {
        match b {
            b'\r' => assert_eq!(
                data.get(i + 1),
                Some(&b'\n'),
                "bare CR at byte {i}: {:?}",
                String::from_utf8_lossy(data)
            ),
            b'\n' => assert!(
                i > 0 && data[i - 1] == b'\r',
                "bare LF at byte {i}: {:?}",
                String::from_utf8_lossy(data)
            ),
            _ => {}
        }
    }
}

/// Panics unless the only `<CRLF>.<CRLF>` in `data` is its end.
fn assert_one_final_dot(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    assert!(data.ends_with(b"\r\n.\r\n"), "no final dot: {text:?}");
    assert_eq!(
        find(data, b"\r\n.\r\n"),
        Some(data.len() - 5),
        "<CRLF>.<CRLF> before the end: {text:?}"
    );
}

// ------------------------------------------------------------ exit statuses

#[test]
fn exit_0_when_every_command_succeeds() {
    let out = run_c(
        &[],
        &[
            "from alice@example.com",
            "to bob@example.com",
            "subject fine",
            "body all good",
            "status",
        ],
    );
    assert_exit(&out, 0, "a script of valid commands");
    assert!(
        stdout(&out).contains("subject:    fine"),
        "{}",
        describe_output(&out)
    );
    assert!(!stderr(&out).contains("***"), "{}", describe_output(&out));
}

#[test]
fn unknown_command_in_a_script_names_file_line_and_suggests() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_file(
        dir.path(),
        &[],
        b"# a comment\nsubject typo ahead\n\nsned\nsubject never reached\nstatus\n",
    );
    assert_exit(&out, 1, "unknown command");
    let err = stderr(&out);
    let line = line_with(&err, "unknown command 'sned'").unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("script.smtp:4:"),
        "FILE:LINE expected: {line}"
    );
    assert!(err.contains("did you mean `send`"), "{err}");
    // The script stopped there.
    assert!(
        !stdout(&out).contains("never reached"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn bad_quoting_is_a_local_error() {
    let out = run_c(&[], &["to 'bob@example.com"]);
    assert_exit(&out, 1, "unbalanced quote");
    let err = stderr(&out);
    assert!(
        line_with(&err, "-c:1:").is_some_and(|l| l.contains("quote")),
        "{err}"
    );
}

#[test]
fn malformed_address_is_refused_with_the_reason() {
    let out = run_c(&[], &["to nobody", "status"]);
    assert_exit(&out, 1, "bad address");
    let err = stderr(&out);
    let line =
        line_with(&err, "'nobody' is not a valid address").unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains('@'),
        "the reason (no @) should be given: {line}"
    );
    assert!(
        !stdout(&out).contains("to:"),
        "the script must stop at the bad address"
    );
}

#[test]
fn missing_attachment_is_a_local_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-report.pdf");
    let out = run_c(&[], &[&format!("attach {}", quote(&path_str(&missing)))]);
    assert_exit(&out, 1, "missing attachment");
    let err = stderr(&out);
    assert!(err.contains("no-such-report.pdf"), "{err}");
}

#[test]
fn source_of_a_missing_file_names_it() {
    let out = run_c(&[], &["source /nonexistent-dir/setup.smtp"]);
    assert_exit(&out, 1, "source of a missing file");
    let err = stderr(&out);
    assert!(
        line_with(&err, "/nonexistent-dir/setup.smtp").is_some_and(|l| l.contains("-c:1")),
        "{err}"
    );
}

#[test]
fn wrong_arguments_print_the_usage_line() {
    for (command, usage) in [
        ("detach", "usage: detach N"),
        ("connect", "usage: connect HOST [PORT]"),
        ("noop now", "usage: noop"),
        ("save a b", "usage: save PATH"),
        ("send --keep-opne", "usage: send [--keep-open]"),
    ] {
        let out = run_c(&[], &[command]);
        assert_exit(&out, 1, command);
        assert!(
            stderr(&out).contains(usage),
            "{command}: {}",
            describe_output(&out)
        );
    }
}

#[test]
fn unknown_smtpsh_option_is_a_usage_error() {
    let out = run_c(&["--bogus"], &[]);
    assert_exit(&out, 2, "--bogus");
    assert!(
        stderr(&out).contains("--bogus"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn file_and_command_together_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.smtp");
    fs::write(&file, "status\n").unwrap();
    let mut cmd = smtpsh();
    cmd.arg("-f").arg(&file).arg("-c").arg("status");
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 2, "-f with -c");
    assert!(
        stderr(&out).contains("-f and -c"),
        "{}",
        describe_output(&out)
    );
    assert!(!stdout(&out).contains("draft:"), "nothing may run");
}

#[test]
fn connection_refused_exits_3_in_one_line() {
    let port = closed_port();
    let out = run_c(&[], &[&connect_cmd(port), "status"]);
    assert_exit(&out, 3, "connection refused");
    let err = stderr(&out);
    let line = line_with(&err, "-c:1:").unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("refused") && line.contains(&format!("127.0.0.1:{port}")),
        "{line}"
    );
}

#[test]
fn connection_refused_at_start_exits_3() {
    let port = closed_port();
    let mut cmd = smtpsh();
    cmd.args(["-c", "status", "127.0.0.1", &port.to_string()]);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 3, "HOST PORT that refuses");
    assert!(
        stderr(&out).contains("refused"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn server_closing_at_greeting_exits_3() {
    let fake = FakeServer::start(vec![Step::Close]);
    let out = run_c(&[], &[&connect_cmd(fake.port()), "status"]);
    let t = fake.finish();
    assert!(t.connected);
    assert_exit(&out, 3, "closed at greeting");
    let err = stderr(&out);
    let line = line_with(&err, "-c:1:").unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("closed"), "{line}");
    assert!(line.contains("greeting"), "say what was awaited: {line}");
}

#[test]
fn bytes_that_are_not_smtp_exit_3() {
    let fake = FakeServer::start(vec![reply("abc hello"), Step::Hold]);
    let out = run_c(&[], &[&connect_cmd(fake.port()), "status"]);
    fake.finish();
    assert_exit(&out, 3, "not an SMTP reply");
    let err = stderr(&out);
    let line = line_with(&err, "-c:1:").unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("abc hello") || line.contains("SMTP"),
        "{line}"
    );
    assert!(line.contains("closed"), "{line}");
}

#[test]
fn stalled_server_times_out_and_exits_3() {
    // Accepts the connection, never says a word.
    let fake = FakeServer::start(vec![Step::Hold]);
    let out = run_c(&[], &["set timeout 1", &connect_cmd(fake.port()), "status"]);
    fake.finish();
    assert_exit(&out, 3, "stalled server");
    let err = stderr(&out);
    let line = line_with(&err, "-c:2:").unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("no reply") && line.contains("1 s") && line.contains("greeting"),
        "{line}"
    );
}

#[test]
fn rcpt_550_for_the_only_recipient_exits_4_without_data() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:<alice@example.com>", "250 ok"),
        answer("RCPT TO:<nobody@example.com>", "550 5.1.1 no such user"),
        quit(),
    ]));
    let out = run_c(
        &[],
        &[
            "from alice@example.com",
            "to nobody@example.com",
            "subject doomed",
            &connect_cmd(fake.port()),
            "send",
        ],
    );
    let t = fake.finish();
    assert_exit(&out, 4, "the only recipient refused");
    t.assert_script_done();
    assert!(!t.saw_command("DATA"), "no DATA without a recipient");
    let err = stderr(&out);
    let line = line_with(&err, "-c:5:").unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.contains("nobody@example.com") && line.contains("550"),
        "{line}"
    );
}

#[test]
fn greeting_554_exits_4() {
    let fake = FakeServer::start(steps(vec![
        vec![reply("554 fake.test no service for you")],
        quit(),
    ]));
    let out = run_c(&[], &[&connect_cmd(fake.port()), "status"]);
    let t = fake.finish();
    assert_exit(&out, 4, "554 greeting");
    let err = stderr(&out);
    assert!(
        line_with(&err, "-c:1:").is_some_and(|l| l.contains("554")),
        "{err}"
    );
    assert!(
        !t.saw_command("EHLO"),
        "nothing but QUIT after a 554 greeting"
    );
}

#[test]
fn failed_expect_exits_5() {
    let fake = FakeServer::start(steps(vec![vec![reply("220 fake.test ready")], quit()]));
    let out = run_c(
        &[],
        &[
            &connect_cmd(fake.port()),
            "expect 5xx",
            "subject not reached",
        ],
    );
    fake.finish();
    assert_exit(&out, 5, "expect 5xx after a 220");
    let err = stderr(&out);
    let line = line_with(&err, "-c:2:").unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("5xx") && line.contains("220"), "{line}");
    assert!(!stdout(&out).contains("not reached"));
}

#[test]
fn expect_without_any_reply_fails_with_5() {
    let out = run_c(&[], &["subject local only", "expect 250"]);
    assert_exit(&out, 5, "nothing was asked of a server");
}

#[test]
fn refusal_judged_by_expect_lets_the_script_go_on() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:<alice@example.com>", "250 ok"),
        answer("RCPT TO:<nobody@example.com>", "550 5.1.1 no such user"),
        answer("NOOP", "250 still here"),
        quit(),
    ]));
    let out = run_c(
        &[],
        &[
            &connect_cmd(fake.port()),
            "ehlo client.example",
            "from alice@example.com",
            "to nobody@example.com",
            "expect 5xx",
            "noop",
            "expect 250",
        ],
    );
    let t = fake.finish();
    assert_exit(&out, 0, "a refusal that `expect 5xx` wanted");
    t.assert_script_done();
    assert!(t.saw_command("NOOP"), "the script went on after the 550");
}

#[test]
fn keep_going_runs_everything_and_returns_the_first_failure() {
    let port = closed_port();
    let out = run_c(
        &["--keep-going"],
        &[
            &connect_cmd(port),
            "to nobody",
            "subject after two failures",
            "expect 250",
            "status",
        ],
    );
    // The first failure (connection, 3) decides, not the later 1 and 5.
    assert_exit(&out, 3, "--keep-going");
    let err = stderr(&out);
    assert!(line_with(&err, "-c:2:").is_some(), "{err}");
    assert!(line_with(&err, "-c:4:").is_some(), "{err}");
    assert!(
        stdout(&out).contains("subject:    after two failures"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn without_keep_going_a_script_stops_at_the_first_failure() {
    let port = closed_port();
    let out = run_c(&[], &[&connect_cmd(port), "subject after", "status"]);
    assert_exit(&out, 3, "stop at first failure");
    assert!(
        !stdout(&out).contains("subject:"),
        "{}",
        describe_output(&out)
    );
    assert!(
        stderr(&out).contains("stopped at -c:1"),
        "{}",
        describe_output(&out)
    );
}

// ------------------------------------------------------ where commands come from

#[test]
fn dash_c_commands_run_in_order() {
    let out = run_c(
        &[],
        &["subject first", "status", "subject second", "status"],
    );
    assert_exit(&out, 0, "-c list");
    let text = stdout(&out);
    let a = text
        .find("subject:    first")
        .unwrap_or_else(|| panic!("{text}"));
    let b = text
        .find("subject:    second")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(a < b, "commands ran out of order:\n{text}");
}

#[test]
fn semicolon_is_not_a_separator() {
    let out = run_c(&[], &["subject one; status"]);
    // One command: the subject is the whole text.
    assert_exit(&out, 0, "subject with a semicolon");
    assert!(
        stdout(&out).contains("subject set: one; status"),
        "{}",
        describe_output(&out)
    );
    assert!(!stdout(&out).contains("draft:"), "`status` must not run");

    let out = run_c(&[], &["noop; quit"]);
    assert_exit(&out, 1, "`noop; quit` is one (unknown) command");
    assert!(
        stderr(&out).contains("unknown command 'noop;'"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn piped_stdin_is_a_script_without_prompt() {
    let out = run_piped(smtpsh(), b"subject from a pipe\nstatus\nsned\nstatus\n");
    assert_exit(&out, 1, "script on stdin");
    let text = stdout(&out);
    assert!(text.contains("subject:    from a pipe"), "{text}");
    assert!(!text.contains("smtpsh>"), "no prompt in a script: {text}");
    // Scripts stop at the first failure, with a location.
    assert_eq!(text.matches("draft:").count(), 1, "{text}");
    assert!(
        stderr(&out).contains("<stdin>:3:"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn dash_f_dash_reads_stdin() {
    let mut cmd = smtpsh();
    cmd.args(["-f", "-"]);
    let out = run_piped(cmd, b"# piped\nsubject via -f -\nstatus\n");
    assert_exit(&out, 0, "-f -");
    let text = stdout(&out);
    assert!(text.contains("subject:    via -f -"), "{text}");
    assert!(!text.contains("smtpsh>"), "{text}");
}

#[test]
fn missing_script_file_is_a_local_error() {
    let mut cmd = smtpsh();
    cmd.args(["-f", "/nonexistent-dir/run.smtp"]);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 1, "-f of a missing file");
    assert!(
        stderr(&out).contains("/nonexistent-dir/run.smtp"),
        "{}",
        describe_output(&out)
    );
}

// ------------------------------------------------------ the draft survives

#[test]
fn draft_survives_a_connection_error() {
    // Connected, then the server vanishes in the middle of the transaction.
    let fake = FakeServer::start(steps(vec![greet_ehlo(), vec![expect("MAIL"), Step::Close]]));
    let out = run_c(
        &["--keep-going"],
        &[
            "to bob@example.com",
            "subject Survivor",
            "body kept across failures",
            &connect_cmd(fake.port()),
            "ehlo client.example",
            "from alice@example.com",
            "status",
            &connect_cmd(closed_port()),
            "status",
            "show",
        ],
    );
    fake.finish();
    assert_exit(&out, 3, "connection lost");
    let text = stdout(&out);
    assert_eq!(
        text.matches("subject:    Survivor").count(),
        2,
        "status after each failure shows the draft:\n{text}"
    );
    assert_eq!(
        text.matches("to:         bob@example.com").count(),
        2,
        "{text}"
    );
    // The first status shows the connection the server closed; after the
    // failed connect there is none.
    assert_eq!(text.matches("[closed by server]").count(), 1, "{text}");
    assert_eq!(text.matches("connection:   none").count(), 1, "{text}");
    assert!(text.contains("from:       alice@example.com"), "{text}");
    assert!(
        text.contains("Subject: Survivor"),
        "`show` shows the message: {text}"
    );
    assert!(text.contains("kept across failures"), "{text}");
}

#[test]
fn save_after_a_failed_send_writes_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("kept.eml");
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        answer("DATA", "554 5.3.0 no thanks"),
        quit(),
    ]));
    let out = run_c(
        &["--keep-going"],
        &[
            "from alice@example.com",
            "to bob@example.com",
            "subject Not delivered",
            "body keep me",
            &connect_cmd(fake.port()),
            "send",
            &format!("save {}", quote(&path_str(&eml))),
        ],
    );
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 4, "DATA refused");
    let saved =
        fs::read_to_string(&eml).unwrap_or_else(|e| panic!("{e}\n{}", describe_output(&out)));
    assert!(saved.contains("Subject: Not delivered\r\n"), "{saved}");
    assert!(saved.contains("To: bob@example.com\r\n"), "{saved}");
    assert!(saved.contains("keep me\r\n"), "{saved}");
}

// ------------------------------------------------------ send's local checks

#[test]
fn send_without_sender_or_recipients_sends_nothing() {
    for (draft, complaint) in [
        (vec!["to bob@example.com"], "no sender"),
        (vec!["from alice@example.com"], "no recipients"),
    ] {
        let fake = FakeServer::start(steps(vec![vec![reply("220 fake.test ready")], quit()]));
        let mut commands: Vec<String> = draft.iter().map(|s| s.to_string()).collect();
        commands.push(connect_cmd(fake.port()));
        commands.push("send".into());
        commands.push("subject not reached".into());
        let refs: Vec<&str> = commands.iter().map(String::as_str).collect();
        let out = run_c(&[], &refs);
        let t = fake.finish();
        assert_exit(&out, 1, complaint);
        let err = stderr(&out);
        assert!(
            line_with(&err, "-c:3:").is_some_and(|l| l.contains(complaint)),
            "{complaint}: {err}"
        );
        assert!(
            !t.saw_command("MAIL") && !t.saw_command("EHLO"),
            "{:?}",
            t.commands
        );
        t.assert_script_done();
    }
}

#[test]
fn send_when_not_connected_is_a_local_error() {
    let out = run_c(
        &[],
        &[
            "from alice@example.com",
            "to bob@example.com",
            "send",
            "status",
        ],
    );
    assert_exit(&out, 1, "send without a connection");
    let err = stderr(&out);
    assert!(
        line_with(&err, "-c:3:").is_some_and(|l| l.contains("not connected")),
        "{err}"
    );
    assert!(err.contains("connect"), "say what to do next: {err}");
}

// ------------------------------------------------------ CR/LF/NUL injection

/// Runs `commands` (after connect + EHLO) against a fake server that accepts
/// nothing but the final QUIT; every command must fail locally.
fn assert_refused_before_the_wire(commands: &[&str], via_file: bool) {
    let fake = FakeServer::start(steps(vec![greet_ehlo(), quit()]));
    let mut all = vec![connect_cmd(fake.port()), "ehlo client.example".to_string()];
    all.extend(commands.iter().map(|c| c.to_string()));
    let out = if via_file {
        let dir = tempfile::tempdir().unwrap();
        let mut text = Vec::new();
        for c in &all {
            text.extend_from_slice(c.as_bytes());
            text.push(b'\n');
        }
        run_file(dir.path(), &["--keep-going"], &text)
    } else {
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run_c(&["--keep-going"], &refs)
    };
    let t = fake.finish();
    assert_exit(&out, 1, &format!("injections {commands:?}"));
    let err = stderr(&out);
    let loc = if via_file { "script.smtp" } else { "-c" };
    for (i, c) in commands.iter().enumerate() {
        assert!(
            err.contains(&format!("{loc}:{}:", i + 3)),
            "{c:?} was not refused:\n{}",
            describe_output(&out)
        );
    }
    assert!(
        !t.received_contains(b"evil"),
        "injected text reached the server:\n{}",
        t.received_text()
    );
    t.assert_script_done();
}

#[test]
fn cr_lf_in_protocol_arguments_is_refused() {
    assert_refused_before_the_wire(
        &[
            "to \"a@b.org\r\nRCPT TO:<evil@x.org>\"",
            "to \"a@b.org\nRCPT TO:<evil@x.org>\"",
            "to \"a@b.org\rRCPT TO:<evil@x.org>\"",
            "from a@b.org\r\nRCPT TO:<evil@x.org>",
            "from <a@b.org>\rRCPT TO:<evil@x.org>",
            "raw NOOP\r\nRCPT TO:<evil@x.org>",
            "raw NOOP\nRCPT TO:<evil@x.org>",
            "raw NOOP\rRCPT TO:<evil@x.org>",
            "ehlo \"client.example\r\nRCPT TO:<evil@x.org>\"",
            "helo \"client.example\nRCPT TO:<evil@x.org>\"",
            "vrfy bob\r\nRCPT TO:<evil@x.org>",
        ],
        false,
    );
}

#[test]
fn nul_and_bare_cr_in_script_lines_are_refused() {
    assert_refused_before_the_wire(
        &[
            "to a@b.org\0RCPT TO:<evil@x.org>",
            "to \"a@b.org\rRCPT TO:<evil@x.org>\"",
            "from a@b.org\0evil@x.org",
            "raw NOOP\0RCPT TO:<evil@x.org>",
            "raw NOOP\rRCPT TO:<evil@x.org>",
            "ehlo client.example\0evil",
            "expn list\rRCPT TO:<evil@x.org>",
        ],
        true,
    );
}

/// Message fields with CR/LF/NUL are refused; the message then sent has
/// none of the injected text.
fn assert_message_fields_refused(injections: &[&str], via_file: bool) {
    let dir = tempfile::tempdir().unwrap();
    let att = dir.path().join("note.txt");
    fs::write(&att, "attachment text\n").unwrap();
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        deliver(&[("RCPT TO:<bob@example.com>", "250 ok")]),
        quit(),
    ]));
    let mut all = vec![connect_cmd(fake.port()), "ehlo client.example".to_string()];
    let first = all.len() + 1;
    all.extend(
        injections
            .iter()
            .map(|c| c.replace("ATT", &quote(&path_str(&att)))),
    );
    all.extend([
        "from alice@example.com".to_string(),
        "to bob@example.com".to_string(),
        "subject Clean subject".to_string(),
        "body clean body".to_string(),
        "send".to_string(),
    ]);
    let out = if via_file {
        let mut text = Vec::new();
        for c in &all {
            text.extend_from_slice(c.as_bytes());
            text.push(b'\n');
        }
        run_file(dir.path(), &["--keep-going"], &text)
    } else {
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        run_c(&["--keep-going"], &refs)
    };
    let t = fake.finish();
    assert_exit(&out, 1, &format!("injections {injections:?}"));
    let err = stderr(&out);
    let loc = if via_file { "script.smtp" } else { "-c" };
    for (i, c) in injections.iter().enumerate() {
        assert!(
            err.contains(&format!("{loc}:{}:", first + i)),
            "{c:?} was not refused:\n{}",
            describe_output(&out)
        );
    }
    t.assert_script_done();
    let data = String::from_utf8_lossy(&t.data[0]).into_owned();
    assert!(data.contains("Subject: Clean subject\r\n"), "{data}");
    assert!(
        !t.received_contains(b"evil") && !t.received_contains(b"Bcc"),
        "injected text reached the server:\n{}",
        t.received_text()
    );
    assert!(
        !data.contains("attachment text") && !data.contains("Content-Disposition"),
        "no attachment was added: {data}"
    );
}

#[test]
fn cr_lf_in_message_fields_is_refused() {
    assert_message_fields_refused(
        &[
            "subject Hello\r\nBcc: evil@x.org",
            "subject Hello\nBcc: evil@x.org",
            "subject Hello\rBcc: evil@x.org",
            "header X-Test ok\r\nBcc: evil@x.org",
            "header X-Test ok\nBcc: evil@x.org",
            "header X-Test \"ok\r\nBcc: evil@x.org\"",
            "attach ATT --name \"a.txt\r\nBcc: evil@x.org\"",
            "attach ATT --name \"a.txt\nBcc: evil@x.org\"",
        ],
        false,
    );
}

#[test]
fn nul_in_message_fields_is_refused() {
    assert_message_fields_refused(
        &[
            "subject Hello\0Bcc: evil@x.org",
            "subject Hello\rBcc: evil@x.org",
            "header X-Test ok\0Bcc: evil@x.org",
            "header X-Test ok\rBcc: evil@x.org",
            "attach ATT --name \"a.txt\0evil\"",
            "attach ATT --name \"a.txt\rBcc: evil@x.org\"",
            "body evil\0text",
        ],
        true,
    );
}

// ------------------------------------------------------ bytes on the wire

#[test]
fn raw_data_lines_are_dot_stuffed_and_end_with_one_final_dot() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        deliver(&[("RCPT TO:<bob@example.com>", "250 ok")]),
        answer("NOOP", "250 ok"),
        quit(),
    ]));
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{}\nehlo client.example\nraw MAIL FROM:<alice@example.com>\nraw RCPT TO:<bob@example.com>\n\
         raw DATA\nSubject: typed by hand\n\n.x\n..y\nplain\n . not the end\n.\nexpect 250\nnoop\nquit\n",
        connect_cmd(fake.port())
    );
    let out = run_file(dir.path(), &[], script.as_bytes());
    let t = fake.finish();
    assert_exit(&out, 0, "raw DATA flow");
    t.assert_script_done();
    assert_eq!(
        String::from_utf8_lossy(&t.data[0]),
        "Subject: typed by hand\r\n\r\n..x\r\n...y\r\nplain\r\n . not the end\r\n.\r\n"
    );
}

#[test]
fn body_with_bare_cr_lf_and_dots_is_normalised_on_the_wire() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.txt");
    fs::write(
        &body,
        "first\rsecond\nthird\n.\nfourth\r.\rfifth\r\n..sixth\n.\n",
    )
    .unwrap();
    let eml = dir.path().join("saved.eml");
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        deliver(&[("RCPT TO:<bob@example.com>", "250 ok")]),
        quit(),
    ]));
    let out = run_c(
        &[],
        &[
            "from alice@example.com",
            "to bob@example.com",
            "subject dots",
            &format!("body --file {}", quote(&path_str(&body))),
            &format!("save {}", quote(&path_str(&eml))),
            &connect_cmd(fake.port()),
            "send",
        ],
    );
    let t = fake.finish();
    assert_exit(&out, 0, "send a body with bare CR/LF and dots");
    t.assert_script_done();
    let wire = &t.data[0];
    assert_crlf_only(wire);
    assert_one_final_dot(wire);
    let text = String::from_utf8_lossy(wire);
    assert!(
        text.contains("\r\n\r\nfirst\r\nsecond\r\nthird\r\n..\r\nfourth\r\n..\r\nfifth\r\n...sixth\r\n..\r\n.\r\n"),
        "{text:?}"
    );
    // `save` wrote the same message before dot-stuffing (Date/Message-ID
    // are fixed once composed, so the bytes match exactly).
    let saved = fs::read(&eml).unwrap();
    assert_eq!(unstuff(wire), saved, "save and send disagree");
}

/// Undoes dot-stuffing and drops the final `.` line.
fn unstuff(wire: &[u8]) -> Vec<u8> {
    let body = &wire[..wire.len() - 3];
    let mut out = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}

// ------------------------------------------------------ connection lost

#[test]
fn connection_lost_while_sending_the_message() {
    let dir = tempfile::tempdir().unwrap();
    // Large enough that the socket buffers cannot swallow it.
    let big = dir.path().join("big.bin");
    fs::write(&big, support::random_bytes(16 * 1024 * 1024, 7)).unwrap();
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        answer("DATA", "354 go ahead"),
        vec![Step::Sleep(Duration::from_millis(100)), Step::Close],
    ]));
    let out = run_c(
        &["--keep-going"],
        &[
            "from alice@example.com",
            "to bob@example.com",
            "subject Big one",
            &format!("attach {}", quote(&path_str(&big))),
            &connect_cmd(fake.port()),
            "send",
            "status",
        ],
    );
    fake.finish();
    assert_exit(&out, 3, "connection lost during DATA");
    let err = stderr(&out);
    let line = line_with(&err, "-c:6:").unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("sending stopped"), "{line}");
    assert!(
        !err.contains("unknown"),
        "the final dot never went out, so it is known: {err}"
    );
    let text = stdout(&out);
    assert!(text.contains("[closed by server]"), "{text}");
    assert!(text.contains("subject:    Big one"), "{text}");
    assert!(text.contains("attach 1:   big.bin"), "{text}");
}

#[test]
fn connection_lost_after_the_final_dot_means_delivery_unknown() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        answer("DATA", "354 go ahead"),
        vec![Step::ReadData, Step::Close],
    ]));
    let out = run_c(
        &["--keep-going"],
        &[
            "from alice@example.com",
            "to bob@example.com",
            "subject Limbo",
            "body did it arrive?",
            &connect_cmd(fake.port()),
            "send",
            "status",
        ],
    );
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 3, "no reply after the final dot");
    let err = stderr(&out);
    let line = line_with(&err, "-c:6:").unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("unknown"), "{line}");
    assert!(line.contains("closed"), "{line}");
    let text = stdout(&out);
    assert!(text.contains("subject:    Limbo"), "{text}");
    assert!(text.contains("to:         bob@example.com"), "{text}");
    assert!(text.contains("draft:        not sent yet"), "{text}");
}

// ------------------------------------------------------ recipients and QUIT

#[test]
fn send_goes_on_after_a_rejected_recipient_and_quits() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        deliver(&[
            ("RCPT TO:<good@example.com>", "250 ok"),
            ("RCPT TO:<gone@example.com>", "550 5.1.1 gone"),
        ]),
        quit(),
    ]));
    let out = run_c(
        &[],
        &[
            "from alice@example.com",
            "to good@example.com gone@example.com",
            "subject partly",
            "body hi",
            &connect_cmd(fake.port()),
            "send",
            "status",
        ],
    );
    let t = fake.finish();
    assert_exit(&out, 0, "one of two recipients accepted");
    t.assert_script_done();
    let err = stderr(&out);
    let warn = line_with(&err, "rejected").unwrap_or_else(|| panic!("{err}"));
    assert!(
        warn.contains("gone@example.com") && !warn.contains("good@"),
        "{warn}"
    );
    assert!(t.saw_command("QUIT"), "one message per connection");
    assert!(
        stdout(&out).contains("connection:   none"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn send_keep_open_does_not_quit() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        deliver(&[("RCPT TO:<bob@example.com>", "250 ok")]),
        answer("NOOP", "250 still open"),
        quit(),
    ]));
    let out = run_c(
        &[],
        &[
            "from alice@example.com",
            "to bob@example.com",
            "body hi",
            &connect_cmd(fake.port()),
            "send --keep-open",
            "expect 250",
            "noop",
            "expect 250",
        ],
    );
    let t = fake.finish();
    assert_exit(&out, 0, "send --keep-open");
    // The fake expects NOOP right after the message: a QUIT there fails it.
    t.assert_script_done();
    assert_eq!(t.commands.last().map(String::as_str), Some("QUIT"));
}

// ------------------------------------------------------ record

#[test]
fn record_writes_a_replayable_script() {
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("session.smtp");
    let orig = dir.path().join("orig.eml");
    let again = dir.path().join("again.eml");
    // Record, save the draft as it is when recording stops, then change it.
    let script = format!(
        "record {rec}\n\
         from \"Alice Example <alice@example.com>\"\n\
         to bob@example.com\n\
         subject Recorded ✓ subject\n\
         header X-Test yes\n\
         body\n\
         Line one\n\
         .leading dot\n\
         \n\
         Last line\n\
         .\n\
         record stop\n\
         save {orig}\n\
         subject changed after recording\n",
        rec = quote(&path_str(&rec)),
        orig = quote(&path_str(&orig)),
    );
    let out = run_file(dir.path(), &[], script.as_bytes());
    assert_exit(&out, 0, "recording");

    let recorded = fs::read_to_string(&rec).expect("the record file");
    for line in recorded.lines() {
        assert!(
            !line.trim_start().starts_with("record"),
            "the record command itself was recorded: {recorded}"
        );
    }
    assert!(!recorded.contains("changed after recording"), "{recorded}");
    assert!(!recorded.contains("save "), "{recorded}");
    assert!(recorded.contains("\n.leading dot\n"), "{recorded}");

    // Replay it with -f (no server needed), then save what it built.
    let replay = dir.path().join("replay.smtp");
    fs::write(
        &replay,
        format!("{recorded}save {}\n", quote(&path_str(&again))),
    )
    .unwrap();
    let mut cmd = smtpsh();
    cmd.arg("-f").arg(&replay);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 0, "replay");

    let a = fs::read(&orig).unwrap();
    let b = fs::read(&again).unwrap();
    let strip = |m: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(m)
            .split("\r\n")
            .filter(|l| !l.starts_with("Date:") && !l.starts_with("Message-ID:"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(strip(&a), strip(&b), "replay built a different message");
    let pa = mail_parser::MessageParser::default().parse(&a).unwrap();
    let pb = mail_parser::MessageParser::default().parse(&b).unwrap();
    assert_eq!(pa.subject(), Some("Recorded ✓ subject"));
    assert_eq!(pa.subject(), pb.subject());
    assert_eq!(
        pb.body_text(0).as_deref(),
        Some("Line one\r\n.leading dot\r\n\r\nLast line\r\n")
    );
    assert_eq!(pa.body_text(0), pb.body_text(0));
}

// ------------------------------------------------------ guided

#[test]
fn guided_mode_walks_through_a_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let att = dir.path().join("notes.txt");
    fs::write(&att, "guided attachment\n").unwrap();
    let fake = FakeServer::start(steps(vec![
        vec![reply("220 fake.test ready")],
        answer("HELO client.example.org", "250 fake.test"),
        answer("MAIL FROM:<alice@example.com>", "250 ok"),
        answer("RCPT TO:<bob@example.com>", "250 ok"),
        answer("DATA", "354 go ahead"),
        vec![Step::ReadData, reply("250 queued")],
        quit(),
    ]));
    let mut cmd = smtpsh();
    cmd.args(["--guided", "127.0.0.1", &fake.port_str()]);
    let answers = format!(
        "client.example.org\nalice@example.com\nbob@example.com\n\nGuided hello\n\
         first line\n.dotted line\n.\n{}\n\n",
        path_str(&att)
    );
    let out = run_piped(cmd, answers.as_bytes());
    let t = fake.finish();
    assert_exit(&out, 0, "guided");
    t.assert_script_done();
    let verbs: Vec<String> = t
        .commands
        .iter()
        .map(|c| c.split([' ', ':']).next().unwrap_or("").to_string())
        .collect();
    assert_eq!(verbs, ["HELO", "MAIL", "RCPT", "DATA", "QUIT"]);
    let data = String::from_utf8_lossy(&t.data[0]).into_owned();
    assert!(data.contains("Subject: Guided hello\r\n"), "{data}");
    assert!(data.contains("first line\r\n..dotted line\r\n"), "{data}");
    assert!(
        data.contains("filename=notes.txt") || data.contains("filename=\"notes.txt\""),
        "{data}"
    );
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode("guided attachment\n");
    assert!(data.contains(&encoded), "{data}");
    // Every server reply was shown.
    let shown = stdout(&out);
    for r in [
        "220 fake.test ready",
        "354 go ahead",
        "250 queued",
        "221 fake.test bye",
    ] {
        assert!(shown.contains(r), "{r} not shown:\n{shown}");
    }
}

/// `--guided --sandbox` (what `--guided` alone does): the exercise on the
/// built-in server, HELO the first command said, the script at the end.
#[test]
fn guided_mode_on_the_sandbox_starts_with_helo_and_ends_with_the_script() {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", data.path())
        .args(["--guided", "--sandbox"]);
    let answers =
        "HELO student.example\nMAIL FROM:<a@example.com>\nb@example.com\n\nHi\nhello\n.\n\n";
    let out = run_piped(cmd, answers.as_bytes());
    assert_exit(&out, 0, "guided --sandbox");
    let shown = stdout(&out);
    let first = shown.find(" -> ").map(|i| &shown[i..]);
    assert!(
        first.is_some_and(|f| f.starts_with(" -> HELO student.example")),
        "{shown}"
    );
    assert!(
        shown.contains("connect sandbox\nhelo student.example\nfrom a@example.com\n"),
        "{shown}"
    );
    let stored = fs::read_dir(data.path().join("Maildir/new"))
        .unwrap()
        .count();
    assert_eq!(stored, 1);
}

// ------------------------------------------------------ colour

/// A session with a reply of every class.
fn colour_run(args: &[&str], no_color: bool) -> Output {
    let fake = FakeServer::start(steps(vec![
        vec![reply("220 fake.test ready")],
        answer("NOOP", "250 green ok"),
        answer("RCPT TO:", "550 red refusal"),
        answer("HELP", "354 cyan go ahead"),
        answer("VRFY", "451 yellow try later"),
        quit(),
    ]));
    let mut cmd = smtpsh();
    if !no_color {
        cmd.env_remove("NO_COLOR");
    }
    cmd.args(args);
    for c in [
        connect_cmd(fake.port()).as_str(),
        "raw NOOP",
        "raw RCPT TO:<x@example.com>",
        "expect 5xx",
        "raw HELP",
        "vrfy bob",
        "expect 4xx",
        "quit",
    ] {
        cmd.arg("-c").arg(c);
    }
    let out = run_with_timeout(cmd, RUN);
    fake.finish().assert_script_done();
    assert_exit(&out, 0, "colour session");
    out
}

#[test]
fn color_always_colours_replies_by_class() {
    let out = colour_run(&["--color", "always"], false);
    let text = stdout(&out);
    for (code, colour) in [
        ("220", "32"),
        ("250", "32"),
        ("550", "31"),
        ("354", "36"),
        ("451", "33"),
        ("221", "32"),
    ] {
        assert!(
            text.contains(&format!("\x1b[{colour}m{code} ")),
            "{code} should be shown in colour {colour}: {text:?}"
        );
    }
}

#[test]
fn color_never_and_no_color_have_no_escape_codes() {
    for (args, no_color) in [(&["--color", "never"][..], false), (&[][..], true)] {
        let out = colour_run(args, no_color);
        assert!(
            stdout(&out).contains("550 red refusal"),
            "{}",
            describe_output(&out)
        );
        assert!(
            !out.stdout.contains(&0x1b) && !out.stderr.contains(&0x1b),
            "{args:?} NO_COLOR={no_color}: escape codes in {:?}",
            describe_output(&out)
        );
    }
}

#[test]
fn no_color_is_honoured_on_a_terminal() {
    use expectrl::{Eof, Expect};
    let run = |no_color: bool| -> String {
        let fake = FakeServer::start(steps(vec![
            vec![reply("220 fake.test ready")],
            answer("NOOP", "250 fine"),
            quit(),
        ]));
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
        cmd.env("HOME", home.path())
            .env("TERM", "xterm-256color")
            .args(["--no-history", "-c"])
            .arg(connect_cmd(fake.port()))
            .args(["-c", "noop", "-c", "quit"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        let mut s = expectrl::Session::spawn(cmd).expect("spawn in a pty");
        s.set_expect_timeout(Some(RUN));
        let cap = s.expect(Eof).expect("smtpsh ends");
        let text = String::from_utf8_lossy(cap.as_bytes()).into_owned();
        fake.finish().assert_script_done();
        text
    };
    let coloured = run(false);
    assert!(
        coloured.contains("\x1b[32m250 fine"),
        "auto on a terminal colours: {coloured:?}"
    );
    let plain = run(true);
    assert!(plain.contains("250 fine"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "NO_COLOR must win: {plain:?}");
}

// ------------------------------------------------------ 421

#[test]
fn reply_421_drops_the_connection() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        vec![
            expect("NOOP"),
            reply("421 4.3.2 fake.test shutting down"),
            Step::Close,
        ],
    ]));
    let out = run_c(
        &["--keep-going"],
        &[
            &connect_cmd(fake.port()),
            "ehlo client.example",
            "noop",
            "status",
            "noop",
        ],
    );
    fake.finish().assert_script_done();
    // The server answered (421 is a reply, not a lost connection): exit 4.
    assert_exit(&out, 4, "421 to NOOP");
    let err = stderr(&out);
    assert!(
        line_with(&err, "-c:3:").is_some_and(|l| l.contains("421")),
        "{err}"
    );
    assert!(err.contains("closing the connection"), "{err}");
    // The prompt and `status` say the server closed it, with its reply.
    assert!(
        stdout(&out).contains("[closed by server]")
            && stdout(&out).contains("closed:       the server closed the connection (421"),
        "{}",
        describe_output(&out)
    );
    assert!(
        line_with(&err, "-c:5:").is_some_and(|l| l.contains("the server closed the connection")),
        "{err}"
    );
}

#[test]
fn reply_421_to_a_recipient_during_send_is_a_server_refusal() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        vec![
            expect("RCPT TO:<first@example.com>"),
            reply("421 4.3.2 fake.test shutting down"),
            Step::Close,
        ],
    ]));
    let out = run_c(
        &["--keep-going"],
        &[
            "from alice@example.com",
            "to first@example.com second@example.com",
            &connect_cmd(fake.port()),
            "send",
            "status",
        ],
    );
    fake.finish().assert_script_done();
    assert_exit(&out, 4, "421 during send");
    let err = stderr(&out);
    let line = line_with(&err, "-c:4:").unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("421"), "the 421 is the cause: {line}");
    assert!(
        stdout(&out).contains("[closed by server]"),
        "{}",
        describe_output(&out)
    );
}

#[test]
fn reply_421_to_the_first_of_two_recipients_stops_there() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        vec![
            expect("RCPT TO:<first@example.com>"),
            reply("421 4.3.2 fake.test shutting down"),
            Step::Close,
        ],
    ]));
    let out = run_c(
        &[],
        &[
            &connect_cmd(fake.port()),
            "ehlo client.example",
            "from alice@example.com",
            "to first@example.com second@example.com",
        ],
    );
    fake.finish().assert_script_done();
    assert_exit(&out, 4, "421 to RCPT");
    let err = stderr(&out);
    let line = line_with(&err, "-c:4:").unwrap_or_else(|| panic!("{err}"));
    assert!(line.contains("421"), "the 421 is the cause: {line}");
    assert!(!err.contains("not connected"), "{err}");
}

#[test]
fn save_to_a_device_writes_through_it_and_leaves_it_a_device() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("pipe.eml");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(&fifo).expect("read the fifo"))
    };
    let out = run_c(
        &[],
        &[
            "from a@example.com",
            "to b@example.org",
            "subject through a pipe",
            "body x",
            &format!("save {}", fifo.display()),
        ],
    );
    support::assert_exit(&out, 0, "save into a FIFO");
    let got = reader.join().expect("reader");
    assert!(
        String::from_utf8_lossy(&got).contains("Subject: through a pipe\r\n"),
        "the message went through the FIFO"
    );
    let kind = fs::symlink_metadata(&fifo)
        .expect("still there")
        .file_type();
    assert!(
        kind.is_fifo(),
        "save must not replace a FIFO or device with a file"
    );
    // Nothing else was left in the directory (no temporary file).
    assert_eq!(fs::read_dir(dir.path()).expect("list").count(), 1);
}

#[test]
fn help_lists_every_command_with_long_usages_on_their_own_line() {
    let out = run_c(&["--color", "never"], &["help"]);
    support::assert_exit(&out, 0, "help");
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    for spec in smtpsh::shell::commands::COMMANDS {
        let i = lines
            .iter()
            .position(|l| l.trim_start().starts_with(spec.usage))
            .unwrap_or_else(|| panic!("`help` does not list `{}`:\n{text}", spec.usage));
        let summary_here = lines[i].ends_with(spec.summary);
        let summary_below = lines
            .get(i + 1)
            .is_some_and(|l| l.trim() == spec.summary && l.starts_with("   "));
        assert!(
            summary_here || summary_below,
            "summary of `{}` misplaced:\n{text}",
            spec.name
        );
        // Summaries line up in one column, whether beside or below the usage.
        let column = if summary_here {
            lines[i].rfind(spec.summary)
        } else {
            lines[i + 1].find(spec.summary)
        };
        assert_eq!(
            column,
            Some(47),
            "`{}` summary not aligned:\n{text}",
            spec.name
        );
    }
    assert!(text.contains("connect sandbox"), "{text}");
}

#[test]
fn a_closed_standard_output_ends_smtpsh_quietly_with_status_141() {
    // `smtpsh -c help | head -1`: the reader goes away after one line.
    let (reader, writer) = std::io::pipe().expect("pipe");
    let mut cmd = smtpsh();
    for _ in 0..50 {
        cmd.arg("-c").arg("help");
    }
    cmd.stdout(writer)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().expect("spawn smtpsh");
    // Close the reading end once the first bytes came (and the writer's
    // copy in this process, so the pipe really has no reader left).
    drop(cmd);
    let mut first = [0u8; 16];
    let mut reader = reader;
    std::io::Read::read(&mut reader, &mut first).expect("first bytes");
    drop(reader);
    let out = child.wait_with_output().expect("smtpsh ends");
    assert_eq!(out.status.code(), Some(141), "{}", describe_output(&out));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "quietly: {err}");
}
