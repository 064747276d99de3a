//! `smtpsh test`, the binary as CI runs it: scripts that pass, fail, hang
//! and crash; the order of the report whatever `-j`; discovery and usage
//! errors; JUnit read back by an XML parser (roxmltree, not the writer's
//! library); TAP line by line; Ctrl-C; each script's own sandbox.
//!
//! Scripts talk to `connect sandbox` (the built-in server) or, to hang, to
//! a loopback listener here that accepts and never says a word. No test
//! measures time: the timeout is only there so a hang ends.

mod support;

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{describe_output, run_with_timeout};

/// A safety net only: every run here ends on its own well before.
const RUN: Duration = Duration::from_secs(120);

/// A script that passes: a message sent and found in the sandbox.
const PASS: &str = "connect sandbox\nfrom ann@example.com\nto bob@example.org\n\
                    subject hello\nbody hi\nsend\nexpect 250\ninbox --wait 1 --timeout 10\n";
/// A script whose `expect` fails on line 4: the sandbox accepts bob.
const FAIL: &str = "connect sandbox\nfrom ann@example.com\nto bob@example.org\nexpect 550\n";

/// `smtpsh test ARGS` in `dir`, with a private home and no colour.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.arg("test").args(args);
    private(&mut cmd, dir);
    cmd
}

/// Runs `cmd` in `dir` with a private home, no colour, no input.
fn private(cmd: &mut Command, dir: &Path) {
    let home = dir.join(".home");
    cmd.current_dir(dir)
        .env("HOME", &home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("SMTPSH_SANDBOX_DIR")
        .stdin(Stdio::null());
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_with_timeout(command(dir, args), RUN)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("make the script's directory");
    }
    fs::write(path, text).expect("write a script");
}

/// The result lines (`ok ...`, `FAIL ...`) without their times.
fn result_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            ["ok ", "FAIL ", "TIMEOUT ", "CRASH ", "STOPPED ", "SKIPPED "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .map(|l| l.split(" (").next().unwrap_or(l).to_string())
        .collect()
}

/// A loopback port that accepts connections and never answers; each
/// accepted connection is announced on the receiver.
fn silent_server() -> (u16, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
            let _ = tx.send(());
        }
    });
    (port, rx)
}

fn hang_script(port: u16) -> String {
    format!("connect 127.0.0.1 {port}\nexpect 220\n")
}

fn parse(xml: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"))
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, tag: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name(tag))
}

fn testcases<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect()
}

#[test]
fn pass_fail_and_hang_each_get_their_line_junit_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let (port, _accepted) = silent_server();
    write(d, "suite/1-pass.smtp", PASS);
    write(d, "suite/2-fail.smtp", FAIL);
    write(d, "suite/3-hang.smtp", &hang_script(port));
    let out = run(
        d,
        &[
            "--timeout",
            "2",
            "-j",
            "3",
            "--junit",
            "reports/smtp.xml",
            "suite",
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    assert_eq!(
        result_lines(&text),
        [
            "ok      suite/1-pass.smtp",
            "FAIL    suite/2-fail.smtp",
            "TIMEOUT suite/3-hang.smtp"
        ],
        "{text}"
    );
    assert!(
        text.contains(
            "        suite/2-fail.smtp:4 `expect 550`: expected 550, got 250 2.1.5 Recipient OK\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "        timed out after 2 s at suite/3-hang.smtp:1 `connect 127.0.0.1 {port}`\n"
        )),
        "{text}"
    );
    assert!(
        text.contains("3 scripts: 1 passed, 1 failed, 1 timed out in "),
        "{text}"
    );
    assert!(
        text.contains("transcripts: reports/smtp-transcripts\n"),
        "{text}"
    );
    assert!(
        text.contains("\n    reports/smtp-transcripts/02-2-fail.smtp.log\n"),
        "{text}"
    );

    // The transcripts beside the report, numbered in the run's order.
    let kept = d.join("reports/smtp-transcripts");
    let pass_log = fs::read_to_string(kept.join("01-1-pass.smtp.log")).expect("pass transcript");
    assert!(pass_log.contains("suite/1-pass.smtp:6> send"), "{pass_log}");
    let hang_log = fs::read_to_string(kept.join("03-3-hang.smtp.log")).expect("hang transcript");
    assert!(hang_log.contains("connecting to 127.0.0.1"), "{hang_log}");

    // JUnit, read back by another library.
    let xml = fs::read_to_string(d.join("reports/smtp.xml")).expect("the report");
    let doc = parse(&xml);
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let suite = child(suites, "testsuite").expect("a testsuite");
    for (attr, value) in [
        ("tests", "3"),
        ("failures", "1"),
        ("errors", "1"),
        ("skipped", "0"),
    ] {
        assert_eq!(suite.attribute(attr), Some(value), "{attr}\n{xml}");
        assert_eq!(suites.attribute(attr), Some(value), "{attr}\n{xml}");
    }
    let cases = testcases(&doc);
    let names: Vec<&str> = cases.iter().filter_map(|c| c.attribute("name")).collect();
    assert_eq!(
        names,
        [
            "suite/1-pass.smtp",
            "suite/2-fail.smtp",
            "suite/3-hang.smtp"
        ]
    );
    assert!(child(cases[0], "failure").is_none() && child(cases[0], "error").is_none());
    let failure = child(cases[1], "failure").expect("a failure");
    assert_eq!(
        failure.attribute("message"),
        Some("suite/2-fail.smtp:4 `expect 550`: expected 550, got 250 2.1.5 Recipient OK")
    );
    let transcript = child(cases[1], "system-out")
        .and_then(|n| n.text())
        .expect("the transcript");
    assert!(
        transcript.contains(" -> RCPT TO:<bob@example.org>")
            && transcript.contains("suite/2-fail.smtp:4> expect 550"),
        "{transcript}"
    );
    let error = child(cases[2], "error").expect("the timeout is an error");
    assert_eq!(error.attribute("type"), Some("timeout"));
}

#[test]
fn the_report_is_in_the_scripts_order_whatever_the_number_of_jobs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // Names that sort differently as strings and as paths, and a slow one first.
    write(
        d,
        "t/a.smtp",
        &(PASS.to_string() + "inbox --wait 1 --timeout 10\n"),
    );
    write(d, "t/a/b.smtp", FAIL);
    write(d, "t/b.smtp", PASS);
    write(d, "t/c-typo.smtp", "connect sandbox\nsned\n");
    write(d, "t/d.smtp", PASS);
    write(d, "extra.txt", PASS);
    // Path order: t/a/ before t/a.smtp; files given after directories.
    let expected = [
        "FAIL    t/a/b.smtp",
        "ok      t/a.smtp",
        "ok      t/b.smtp",
        "FAIL    t/c-typo.smtp",
        "ok      t/d.smtp",
        "ok      extra.txt",
    ];
    for jobs in ["1", "4"] {
        let out = run(d, &["-j", jobs, "t", "extra.txt"]);
        assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
        let text = stdout(&out);
        assert_eq!(result_lines(&text), expected, "-j {jobs}:\n{text}");
        assert!(
            text.contains(
                "t/c-typo.smtp:2 `sned`: unknown command 'sned'\n            did you mean `send`?"
            ),
            "{text}"
        );
        // Without kept transcripts, a failure shows the end of its own.
        assert!(text.contains("        | "), "{text}");
    }
}

#[test]
fn every_script_passing_exits_0_and_scripts_have_sandboxes_of_their_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    for name in ["a", "b", "c", "d"] {
        write(d, &format!("s/{name}.smtp"), PASS);
    }
    let out = run(d, &["-j", "4", "--transcripts", "logs", "s"]);
    assert_eq!(out.status.code(), Some(0), "{}", describe_output(&out));
    assert!(stdout(&out).contains("4 scripts: 4 passed, 0 failed in "));
    // Each transcript names its own Maildir.
    let mut maildirs = Vec::new();
    for entry in fs::read_dir(d.join("logs")).expect("transcripts") {
        let log = fs::read_to_string(entry.expect("entry").path()).expect("read");
        let line = log
            .lines()
            .find(|l| l.contains("=== Maildir: "))
            .unwrap_or_else(|| panic!("no Maildir line in\n{log}"))
            .to_string();
        maildirs.push(line.split("=== Maildir: ").nth(1).unwrap_or("").to_string());
    }
    maildirs.sort();
    maildirs.dedup();
    assert_eq!(maildirs.len(), 4, "{maildirs:?}");
    // And none of it is left behind in the temporary directory's place.
    for m in &maildirs {
        let path = PathBuf::from(m.split(' ').next().unwrap_or(""));
        assert!(!path.exists(), "{} is left behind", path.display());
    }
}

#[test]
fn wrong_paths_and_options_are_usage_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    fs::create_dir(d.join("empty")).expect("mkdir");
    write(d, "ok.smtp", PASS);
    for (args, says) in [
        (
            vec!["ok.smtp", "tpyo.smtp"],
            "tpyo.smtp: no such file or directory",
        ),
        (vec!["empty"], "empty: no *.smtp scripts in this directory"),
        (vec![], "<PATH>"),
        (vec!["--jobs", "0", "ok.smtp"], "--jobs"),
        (vec!["--timeout", "soon", "ok.smtp"], "--timeout"),
        (vec!["--var", "NOEQUALS", "ok.smtp"], "NAME=VALUE"),
        (vec!["--bogus", "ok.smtp"], "--bogus"),
    ] {
        let out = run(d, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}\n{}",
            describe_output(&out)
        );
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: nothing ran");
    }
    let help = run(d, &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = stdout(&help);
    assert!(
        help.contains("--junit <FILE>") && help.contains("Examples:"),
        "{help}"
    );
}

#[test]
fn tap_is_printed_line_by_line_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "t/1 pass.smtp", PASS);
    write(d, "t/2#fail.smtp", FAIL);
    let out = run(d, &["--tap", "--transcripts", "logs", "-j", "2", "t"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    let expected_start = [
        "TAP version 14",
        "1..2",
        "ok 1 - t/1 pass.smtp",
        "not ok 2 - t/2\\#fail.smtp",
        "  ---",
        "  message: \"t/2#fail.smtp:4 `expect 550`: expected 550, got 250 2.1.5 Recipient OK\"",
        "  severity: failure",
        "  kind: \"check failed\"",
        "  at: \"t/2#fail.smtp:4\"",
        "  exit_status: 5",
    ];
    assert_eq!(&lines[..expected_start.len()], expected_start, "{text}");
    let rest = &lines[expected_start.len()..];
    assert!(rest[0].starts_with("  duration_ms: "), "{text}");
    assert_eq!(rest[1], "  transcript: \"logs/02-2#fail.smtp.log\"");
    assert_eq!(rest[2], "  ...");
    assert!(
        rest[3].starts_with("# 2 scripts: 1 passed, 1 failed in "),
        "{text}"
    );
    assert_eq!(rest.len(), 4, "{text}");
}

#[test]
fn fail_fast_starts_nothing_after_a_failure() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    write(d, "t/1.smtp", FAIL);
    write(d, "t/2.smtp", PASS);
    let out = run(d, &["-j", "1", "--fail-fast", "t"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    let text = stdout(&out);
    assert_eq!(
        result_lines(&text),
        ["FAIL    t/1.smtp", "SKIPPED t/2.smtp"],
        "{text}"
    );
    assert!(
        text.contains("2 scripts: 0 passed, 1 failed, 1 not run in "),
        "{text}"
    );
}

#[test]
fn vars_reach_every_script() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let script = "connect sandbox\nfrom ${SENDER}\nto ${RCPT}\nexpect 250\n";
    write(d, "v/a.smtp", script);
    write(d, "v/b.smtp", script);
    let out = run(
        d,
        &[
            "--var",
            "SENDER=ann@example.com",
            "--var",
            "RCPT=carol@example.org",
            "--transcripts",
            "logs",
            "v",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", describe_output(&out));
    for log in ["logs/01-a.smtp.log", "logs/02-b.smtp.log"] {
        let text = fs::read_to_string(d.join(log)).expect("transcript");
        assert!(
            text.contains(" -> RCPT TO:<carol@example.org>")
                && text.contains(" -> MAIL FROM:<ann@example.com>"),
            "{log}:\n{text}"
        );
    }
}

/// The pids of `parent`'s children, from /proc.
fn children_of(parent: u32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces; read after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            pids.push(pid);
        }
    }
    pids
}

/// Starts `smtpsh test` on a script that hangs on a silent server and
/// waits until that script is connected.
fn start_hanging_run(d: &Path, args: &[&str]) -> std::process::Child {
    let (port, accepted) = silent_server();
    write(d, "hang.smtp", &hang_script(port));
    write(d, "pass.smtp", PASS);
    let mut cmd = command(d, args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("start smtpsh test");
    accepted
        .recv_timeout(Duration::from_secs(60))
        .expect("the script connects to the silent server");
    // Kept alive: the listener thread holds the connection.
    std::mem::forget(accepted);
    child
}

fn wait(child: std::process::Child) -> Output {
    // Output is read to its end; the run ends on its own (the timeout is
    // far, so it is the test's signal that ends it).
    child.wait_with_output().expect("wait for smtpsh test")
}

#[test]
fn a_script_killed_by_a_signal_is_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let run = start_hanging_run(d, &["--junit", "r.xml", "hang.smtp", "pass.smtp"]);
    for pid in children_of(run.id()) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let out = wait(run);
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    let text = stdout(&out);
    assert_eq!(result_lines(&text)[0], "CRASH   hang.smtp", "{text}");
    assert!(
        text.contains("        killed by signal SIGKILL\n"),
        "{text}"
    );
    let xml = fs::read_to_string(d.join("r.xml")).expect("report");
    let doc = parse(&xml);
    let error = child(testcases(&doc)[0], "error").expect("a crash is an error");
    assert_eq!(error.attribute("type"), Some("crash"));
}

#[test]
fn sigint_stops_the_run_kills_the_scripts_and_exits_130() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let run = start_hanging_run(
        d,
        &["-j", "1", "--junit", "r.xml", "hang.smtp", "pass.smtp"],
    );
    let pid = i32::try_from(run.id()).expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("signal the runner");
    let out = wait(run);
    assert_eq!(out.status.code(), Some(130), "{}", describe_output(&out));
    let text = stdout(&out);
    assert_eq!(
        result_lines(&text),
        ["STOPPED hang.smtp", "SKIPPED pass.smtp"],
        "{text}"
    );
    assert!(text.contains("(interrupted)"), "{text}");
    // The report is written all the same.
    let xml = fs::read_to_string(d.join("r.xml")).expect("report");
    let doc = parse(&xml);
    assert_eq!(doc.root_element().attribute("skipped"), Some("1"));
}

#[test]
fn junit_stays_well_formed_whatever_the_transcript_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    // Control characters, `]]>`, markup and a non-character in a command
    // line: the transcript logs the line (minus what its writer strips:
    // terminal escapes and some controls; a form feed stays).
    let script = "connect sandbox\nsubject nul-free \x01\x08\x0b\x0c\x1b[31m ]]> <x a=\"&amp;\"> \u{fffe}\nexpect 554\n";
    write(d, "hostile.smtp", script);
    let out = run(d, &["--junit", "r.xml", "hostile.smtp"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe_output(&out));
    let xml = fs::read_to_string(d.join("r.xml")).expect("report");
    let doc = parse(&xml);
    let case = testcases(&doc)[0];
    let transcript = child(case, "system-out")
        .and_then(|n| n.text())
        .expect("a transcript");
    assert!(
        transcript.contains(
            "hostile.smtp:2> subject nul-free \\x0C ]]> <x a=\"&amp;\"> \\xEF\\xBF\\xBE\n"
        ),
        "{transcript}"
    );
    assert!(!transcript.contains(['\x01', '\x0c', '\u{fffe}']));
    assert!(child(case, "error").is_some() || child(case, "failure").is_some());
}

// ------------------------------------------------------------ the docs

/// docs/scripting.md's "Testing a mail server in CI": every file and
/// command of its example, run as written.
mod doc_example {
    use super::*;

    /// The comment before each piece of the example.
    const MARK: &str = "<!-- runner example: ";

    /// A piece: `file PATH`, `run`, or `output`, and the block after it.
    fn pieces(doc: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut lines = doc.lines();
        while let Some(line) = lines.next() {
            let Some(what) = line.strip_prefix(MARK).and_then(|l| l.strip_suffix(" -->")) else {
                continue;
            };
            let mut block = String::new();
            let mut inside = false;
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    if inside {
                        break;
                    }
                    inside = true;
                    continue;
                }
                if inside {
                    block.push_str(l);
                    block.push('\n');
                }
            }
            out.push((what.to_string(), block));
        }
        out
    }

    /// Times and the number of jobs (this machine's CPUs) made equal.
    fn normalised(text: &str) -> String {
        text.lines()
            .map(|l| {
                let mut l = l.to_string();
                if l.starts_with("running ")
                    && let Some((head, tail)) = l.split_once(", ")
                {
                    let tail = tail.split_once(" (").map_or("", |(_, t)| t);
                    l = format!("{head}, N at a time ({tail}");
                }
                // `(0.05 s)` and `in 0.05 s`.
                let mut words: Vec<String> = l.split(' ').map(str::to_string).collect();
                for w in words.iter_mut() {
                    let bare = w.trim_start_matches('(');
                    if bare.contains('.') && bare.parse::<f64>().is_ok() {
                        *w = if w.starts_with('(') {
                            "(T".into()
                        } else {
                            "T".into()
                        };
                    }
                }
                words.join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_pieces_are_found() {
        let doc = format!(
            "x\n{MARK}file a.smtp -->\n\n```\nnoop\n```\n{MARK}run -->\n```sh\nsmtpsh test a.smtp\n```\n"
        );
        assert_eq!(
            pieces(&doc),
            [
                ("file a.smtp".to_string(), "noop\n".to_string()),
                ("run".to_string(), "smtpsh test a.smtp\n".to_string())
            ]
        );
        assert_eq!(
            normalised(
                "running 2 scripts, one at a time (timeout 300 s each)\nok a (0.05 s)\n2 in 1.20 s"
            ),
            "running 2 scripts, N at a time (timeout 300 s each)\nok a (T s)\n2 in T s"
        );
    }

    #[test]
    fn scripting_md_ci_example_runs_against_the_sandbox() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let doc = fs::read_to_string(root.join("docs/scripting.md")).expect("docs/scripting.md");
        let section = doc
            .split("## Testing a mail server in CI")
            .nth(1)
            .expect("docs/scripting.md has a section \"Testing a mail server in CI\"");
        let pieces = pieces(section);
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        let bin_dir = Path::new(env!("CARGO_BIN_EXE_smtpsh"))
            .parent()
            .expect("the binary's directory")
            .to_path_buf();
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let (mut scripts, mut runs, mut ci) = (0, 0, 0);
        let mut last: Option<Output> = None;
        for (what, block) in &pieces {
            if let Some(file) = what.strip_prefix("file ") {
                write(d, file, block);
                if file.starts_with("smtp-tests/") && file.ends_with(".smtp") {
                    scripts += 1;
                }
            } else if let Some(status) = what.strip_prefix("run") {
                // `run`, or `run, exit status N`.
                let want = match status.strip_prefix(", exit status ") {
                    Some(n) => n.parse::<i32>().expect("a number"),
                    None => 0,
                };
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(block).env("PATH", &path);
                private(&mut sh, d);
                let out = run_with_timeout(sh, RUN);
                assert_eq!(
                    out.status.code(),
                    Some(want),
                    "the example `{}` did not exit with {want}:\n{}",
                    block.trim(),
                    describe_output(&out)
                );
                last = Some(out);
                runs += 1;
            } else if what == "output" {
                let out = last.as_ref().expect("an output block follows a run block");
                assert_eq!(
                    normalised(&stdout(out)).trim_end(),
                    normalised(block).trim_end(),
                    "the example's output in docs/scripting.md is not what smtpsh prints"
                );
            } else if let Some(kind) = what.strip_prefix("ci ") {
                // A CI job: it runs the very command the example ran.
                let run_block = pieces
                    .iter()
                    .find(|(w, _)| w == "run")
                    .map(|(_, b)| b.trim().to_string())
                    .expect("a run block");
                assert!(
                    block.contains(&run_block),
                    "the {kind} job does not run `{run_block}`:\n{block}"
                );
                ci += 1;
            } else {
                panic!("unknown example piece {what:?}");
            }
        }
        assert!(scripts >= 2 && runs >= 2 && ci >= 2, "{pieces:?}");
        // The report the CI jobs upload exists and parses.
        let xml = fs::read_to_string(d.join("reports/smtp.xml")).expect("reports/smtp.xml");
        let doc = parse(&xml);
        assert_eq!(doc.root_element().attribute("failures"), Some("0"));
        assert_eq!(
            testcases(&doc).len(),
            scripts,
            "one testcase per script of the example"
        );
    }
}
