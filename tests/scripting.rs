//! Scripts as tests, end to end against the built-in sandbox: variables
//! (`--var`, `set var`, the environment, defaults, `$$`, captures), the
//! richer `expect` (enhanced codes, regular expressions, `tls`, `ext`,
//! `auth`), recordings that replay from another directory, and the
//! `--log` transcript.

mod support;

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;
use support::{assert_exit, run_with_timeout, smtpsh, stderr, stdout};

const RUN: Duration = Duration::from_secs(90);

/// `smtpsh [extra...] -f DIR/name` with the script `text`, in `cwd`.
fn run_in(cwd: &Path, name: &str, text: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let file = cwd.join(name);
    fs::write(&file, text).expect("write script");
    let mut cmd = smtpsh();
    cmd.current_dir(cwd).args(extra).arg("-f").arg(name);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_timeout(cmd, RUN)
}

fn both(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[test]
fn variables_come_from_the_command_line_the_script_and_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "\
set var SENDER ann@example.com
set var RCPT set-in-script@example.org
connect sandbox
from ${SENDER}
to ${RCPT}
to ${CC:-carol@example.org}
subject ${SUBJECT} costs $$5
body hello
send
expect 250
inbox 1
";
    let out = run_in(
        dir.path(),
        "vars.smtp",
        script,
        &["--var", "RCPT=bob@example.org"],
        &[("SUBJECT", "Quarterly"), ("RCPT", "from-env@example.org")],
    );
    assert_exit(&out, 0, "variables");
    let text = both(&out);
    // --var beats `set var`, which beats the environment.
    assert!(text.contains("RCPT TO:<bob@example.org>"), "{text}");
    assert!(
        !text.contains("set-in-script@") && !text.contains("from-env@"),
        "{text}"
    );
    assert!(text.contains("MAIL FROM:<ann@example.com>"), "{text}");
    assert!(text.contains("RCPT TO:<carol@example.org>"), "{text}");
    assert!(text.contains("Subject: Quarterly costs $5"), "{text}");
}

#[test]
fn an_undefined_variable_names_itself_the_file_and_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_in(
        dir.path(),
        "undefined.smtp",
        "# a comment\nfrom ann@example.com\nto ${RCPT}\nsubject never reached\n",
        &[],
        &[],
    );
    assert_exit(&out, 1, "undefined variable");
    let err = stderr(&out);
    assert!(
        err.contains("undefined.smtp:3: undefined variable ${RCPT}"),
        "{err}"
    );
    assert!(err.contains("--var RCPT=VALUE"), "{err}");
    assert!(
        !stdout(&out).contains("subject set"),
        "went on: {}",
        both(&out)
    );
}

#[test]
fn a_variable_can_never_carry_a_line_break() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_in(
        dir.path(),
        "inject.smtp",
        "subject ${EVIL}\n",
        &[],
        &[("EVIL", "hi\r\nRCPT TO:<x@evil.example>")],
    );
    assert_exit(&out, 1, "line break in a variable");
    assert!(
        stderr(&out).contains("inject.smtp:1: the variable EVIL (environment) holds a line break"),
        "{}",
        both(&out)
    );
    // And --var refuses one at once (exit status 2: the command line).
    let mut cmd = smtpsh();
    cmd.args(["--var", "X=a\nb", "-c", "noop"]);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 2, "--var with a line break");
}

#[test]
fn expect_on_the_reply_text_captures_and_fails_with_the_reply_in_full() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "\
connect sandbox
expect 250 /^(?<server>\\S+) greets/
expect ext PIPELINING SIZE chunking
from ann@example.com
expect 250 2.1.0
to bob@example.org
expect 2xx 2.1.5 /recipient ok/i
subject sent to ${server}
body hello
send
expect 250 2.0.0 /stored as (?<queue_id>[0-9A-F]+)/
set var queue_id
connect
noop
expect 250 /no such text (?<never>x)/
subject not reached
";
    let out = run_in(dir.path(), "capture.smtp", script, &[], &[]);
    assert_exit(&out, 5, "a capture that did not match");
    let text = both(&out);
    assert!(
        text.contains("=== expect 250 2.1.0: got 250 2.1.0"),
        "{text}"
    );
    assert!(
        text.contains("Subject: sent to localhost")
            || text.contains("subject set: sent to localhost"),
        "{text}"
    );
    let queue_line = text
        .lines()
        .find(|l| l.starts_with("queue_id="))
        .unwrap_or_else(|| panic!("no queue_id listed: {text}"));
    assert!(queue_line.ends_with("(captured by expect)"), "{queue_line}");
    let id = queue_line
        .trim_start_matches("queue_id=")
        .split_whitespace()
        .next()
        .unwrap_or_default();
    assert!(text.contains(&format!("stored as {id}")), "{text}");
    assert!(
        text.contains("capture.smtp:15: expected 250 /no such text (?<never>x)/, got 250"),
        "{text}"
    );
    assert!(text.contains("(the text does not match)"), "{text}");
    assert!(!text.contains("subject set: not reached"), "{text}");
}

#[test]
fn expect_tls_ext_and_auth_judge_the_conversation() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "\
connect sandbox
expect ext STARTTLS AUTH
starttls
expect tls
auth PLAIN demo --password-env SANDBOX_PASSWORD
expect auth demo
expect auth
expect ext NO-SUCH-EXTENSION
";
    let out = run_in(
        dir.path(),
        "conv.smtp",
        script,
        &[],
        &[("SANDBOX_PASSWORD", "sandbox-password")],
    );
    assert_exit(&out, 5, "an extension that is not there");
    let text = both(&out);
    assert!(
        text.contains("=== expect tls: the connection is encrypted"),
        "{text}"
    );
    assert!(
        text.contains("=== expect auth demo: authenticated as demo"),
        "{text}"
    );
    assert!(
        text.contains(
            "conv.smtp:8: expected the server to announce NO-SUCH-EXTENSION, but it did not"
        ),
        "{text}"
    );
    assert!(text.contains("it announced: PIPELINING"), "{text}");
    // Before TLS and AUTH, they fail.
    let out = run_in(
        dir.path(),
        "plain.smtp",
        "connect sandbox\nexpect tls\n",
        &[],
        &[],
    );
    assert_exit(&out, 5, "expect tls in plaintext");
    assert!(both(&out).contains("but it is plaintext"), "{}", both(&out));
    let out = run_in(
        dir.path(),
        "noauth.smtp",
        "connect sandbox\nexpect auth\n",
        &[],
        &[],
    );
    assert_exit(&out, 5, "expect auth unauthenticated");
    // A bad expect line is a local error, not a failed expectation.
    let out = run_in(dir.path(), "bad.smtp", "expect 25\n", &[], &[]);
    assert_exit(&out, 1, "bad expect");
    assert!(
        stderr(&out).contains("'25' is not a reply code"),
        "{}",
        both(&out)
    );
}

#[test]
fn a_failed_expect_is_not_excused_by_the_next_expect() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_in(
        dir.path(),
        "two.smtp",
        "connect sandbox\nexpect 220\nexpect 250\nsubject not reached\n",
        &[],
        &[],
    );
    assert_exit(&out, 5, "first expect fails");
    assert!(
        stderr(&out).contains("stopped at two.smtp:2"),
        "{}",
        both(&out)
    );
}

#[test]
fn a_recording_replays_from_another_directory_and_asserts_the_replies() {
    let rec_dir = tempfile::tempdir().expect("temp dir");
    let other = tempfile::tempdir().expect("temp dir");
    fs::write(rec_dir.path().join("report.csv"), "a,b\n1,2\n").expect("write");
    let session = "\
record session.smtp --expect
connect sandbox
from ann@example.com
to bob@example.org
subject recorded
body
line one
.
attach report.csv
attach missing-file.bin
sned
send
record stop
";
    let out = run_in(rec_dir.path(), "make.smtp", session, &["--keep-going"], &[]);
    // The typo and the missing file failed (exit 1); everything else ran.
    assert_exit(&out, 1, "recording session");
    let rec_path = rec_dir.path().join("session.smtp");
    let recorded = fs::read_to_string(&rec_path).expect("recording");
    let abs = rec_dir.path().join("report.csv");
    assert!(
        recorded.contains(&format!("attach {}", abs.display())),
        "{recorded}"
    );
    assert!(
        recorded.contains("# failed, so not replayed:"),
        "{recorded}"
    );
    let missing = rec_dir.path().join("missing-file.bin");
    assert!(
        recorded.contains(&format!("# attach {}", missing.display())),
        "{recorded}"
    );
    assert!(recorded.contains("# sned"), "{recorded}");
    assert!(
        recorded.contains("from ann@example.com\nexpect 250 2.1.0\n"),
        "{recorded}"
    );
    assert!(recorded.contains("body\nline one\n.\n"), "{recorded}");
    assert!(recorded.contains("send\nexpect 250 2.0.0\n"), "{recorded}");
    assert!(!recorded.contains("record stop"), "{recorded}");
    // Replayed from elsewhere, it passes.
    let mut cmd = smtpsh();
    cmd.current_dir(other.path()).arg("-f").arg(&rec_path);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 0, &recorded);
    // An existing file is not overwritten unless asked.
    let out = run_in(
        rec_dir.path(),
        "again.smtp",
        "record session.smtp\n",
        &[],
        &[],
    );
    assert_exit(&out, 1, "record over an existing file");
    assert!(stderr(&out).contains("already exists"), "{}", both(&out));
    assert!(stderr(&out).contains("--append"), "{}", both(&out));
    assert_eq!(
        fs::read_to_string(&rec_path).expect("still there"),
        recorded
    );
    let out = run_in(
        rec_dir.path(),
        "append.smtp",
        "record session.smtp --append\nsubject appended\nrecord stop\n",
        &[],
        &[],
    );
    assert_exit(&out, 0, "record --append");
    let appended = fs::read_to_string(&rec_path).expect("appended");
    assert!(appended.starts_with(&recorded), "{appended}");
    assert!(appended.ends_with("subject appended\n"), "{appended}");
    let out = run_in(
        rec_dir.path(),
        "force.smtp",
        "record session.smtp --force\nsubject replaced\nrecord stop\n",
        &[],
        &[],
    );
    assert_exit(&out, 0, "record --force");
    let replaced = fs::read_to_string(&rec_path).expect("replaced");
    assert!(
        !replaced.contains("recorded\n") && replaced.ends_with("subject replaced\n"),
        "{replaced}"
    );
}

#[test]
fn the_log_holds_the_transcript_without_colour_or_secrets() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("t.log");
    let script = "\
connect sandbox
auth PLAIN demo --password-env SANDBOX_PASSWORD
from ann@example.com
to bob@example.org
body hello
send
";
    let out = run_in(
        dir.path(),
        "log.smtp",
        script,
        &[
            "--color",
            "always",
            "--log",
            log.to_str().expect("utf-8 path"),
        ],
        &[("SANDBOX_PASSWORD", "sandbox-password")],
    );
    assert_exit(&out, 0, "logged script");
    let text = fs::read_to_string(&log).expect("log");
    assert!(!text.contains('\x1b'), "colour in the log: {text:?}");
    use base64::Engine as _;
    let secret = base64::engine::general_purpose::STANDARD.encode(b"\0demo\0sandbox-password");
    assert!(!text.contains(&secret), "the AUTH PLAIN secret: {text}");
    assert!(text.contains(" -> AUTH PLAIN ****"), "{text}");
    assert!(
        text.contains("log.smtp:2> auth PLAIN demo --password-env SANDBOX_PASSWORD"),
        "{text}"
    );
    assert!(text.contains(" -> [message content:"), "{text}");
    for line in text.lines() {
        let stamp = line.split(' ').next().unwrap_or_default();
        assert!(
            stamp.len() == 24 && stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "line without a timestamp: {line:?}"
        );
    }
    // Errors are in it too (standard error's lines).
    let out = run_in(
        dir.path(),
        "err.smtp",
        "sned\n",
        &["--log", log.to_str().expect("utf-8")],
        &[],
    );
    assert_exit(&out, 1, "error logged");
    let text = fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("*** err.smtp:1: unknown command 'sned'"),
        "{text}"
    );
    // A log that cannot be written stops smtpsh before it starts.
    let out = run_in(
        dir.path(),
        "x.smtp",
        "noop\n",
        &["--log", "/nonexistent/dir/t.log"],
        &[],
    );
    assert_exit(&out, 1, "unwritable log");
    assert!(
        stderr(&out).contains("cannot write the transcript"),
        "{}",
        both(&out)
    );
}

#[test]
fn expect_after_data_judges_the_354_with_the_full_syntax() {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "\
connect sandbox
MAIL FROM:<ann@example.com>
RCPT TO:<bob@example.org>
data
expect 354 /end data with (?<ending>\\S+)/i
Subject: typed by hand

ending was ${ending}
.
expect 250 2.0.0
inbox 1 --raw
";
    let out = run_in(dir.path(), "data.smtp", script, &[], &[]);
    assert_exit(&out, 0, "expect after data");
    let text = both(&out);
    assert!(
        text.contains(
            "=== expect 354 /end data with (?<ending>\\S+)/i: got 354; ending=<CR><LF>.<CR><LF>"
        ),
        "{text}"
    );
    // Message text is sent as written: no variables in it.
    assert!(text.contains("ending was ${ending}"), "{text}");
}
