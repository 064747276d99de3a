//! Hostile and broken servers (issue 5). Each case is played by the scripted
//! fake server (tests/support/fake.rs) against the real `smtpsh` binary,
//! which reads a script on standard input with `--keep-going`. For every
//! case the test checks what a user relies on:
//!
//! - one clear error line, at the script line that failed, naming what the
//!   server did;
//! - the shell stays usable: the commands after the failure run (`status`
//!   shows the draft, a last `subject` is accepted);
//! - the draft is kept;
//! - the script exits non-zero (3: connection, 4: refused);
//! - memory stays bounded: the peak resident set size of the smtpsh process
//!   (`VmHWM` in /proc/PID/status, read after the failure while the process
//!   waits for more script lines) stays under [`MEMORY_BOUND`].
//!
//! Also here: per-phase timeouts (`set timeout 1` keeps them short), dead
//! letters written by failed sends, and Ctrl-C during a long send (through
//! a pseudo-terminal).

#[path = "support/fake.rs"]
mod fake;
mod support;

use fake::{FakeServer, Gate, Step, Transcript, answer, expect, greet_ehlo, reply};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::{describe_output, quote, smtpsh};

/// A safety net only: every run here ends on its own well before this.
const RUN: Duration = Duration::from_secs(90);
/// The most memory smtpsh may use, whatever the server sends.
const MEMORY_BOUND_KIB: u64 = 64 * 1024;
/// Ten megabytes: the size of the floods.
const TEN_MB: usize = 10 * 1024 * 1024;
/// The last script line: once its note is printed, everything before it ran.
const LAST: &str = "subject end of script";
const LAST_NOTE: &str = "subject set: end of script";

// ------------------------------------------------------------------ helpers

/// One smtpsh run: its output and peak memory.
struct Run {
    out: Output,
    /// The script lines, in order (line 1 first).
    lines: Vec<String>,
    /// Peak resident set size in KiB, read once the script's last line ran
    /// (`None` if the process ended before).
    peak_kib: Option<u64>,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    fn describe(&self) -> String {
        describe_output(&self.out)
    }
    /// The script line number (from 1) of the first line starting with `cmd`.
    fn line_of(&self, cmd: &str) -> usize {
        self.lines
            .iter()
            .position(|l| l.starts_with(cmd))
            .unwrap_or_else(|| panic!("no script line {cmd:?}"))
            + 1
    }
    /// Error lines that carry a script location (`*** -:N: ...`).
    fn located_errors(&self) -> Vec<String> {
        self.stderr()
            .lines()
            .filter(|l| l.starts_with("*** -:"))
            .map(str::to_string)
            .collect()
    }
    /// Panics unless exactly one located error was printed, at the line of
    /// `cmd`, containing every phrase; returns that line.
    fn one_error_at(&self, cmd: &str, phrases: &[&str]) -> String {
        let errors = self.located_errors();
        let at = format!("*** -:{}: ", self.line_of(cmd));
        assert_eq!(
            errors.len(),
            1,
            "expected one error line, at {at:?}\n{}",
            self.describe()
        );
        let line = errors[0].clone();
        eprintln!("{line}");
        assert!(line.starts_with(&at), "{line}\n{}", self.describe());
        for p in phrases {
            assert!(line.contains(p), "{p:?} missing from: {line}");
        }
        line
    }
    fn assert_exit(&self, code: i32) {
        assert_eq!(
            self.out.status.code(),
            Some(code),
            "exit status\n{}",
            self.describe()
        );
    }
    /// The shell ran on to the end, the draft is intact, memory was bounded.
    fn assert_survived(&self) {
        let text = self.stdout();
        assert!(
            text.contains(LAST_NOTE),
            "the script did not run to its end\n{}",
            self.describe()
        );
        assert!(
            text.contains("subject:    Hostile") && text.contains("to:         bob@example.com"),
            "`status` after the failure must show the draft\n{}",
            self.describe()
        );
        self.assert_bounded();
    }
    fn assert_bounded(&self) {
        let peak = self
            .peak_kib
            .unwrap_or_else(|| panic!("no memory reading\n{}", self.describe()));
        eprintln!("smtpsh peak memory: {peak} KiB");
        assert!(
            peak < MEMORY_BOUND_KIB,
            "smtpsh peaked at {peak} KiB (bound {MEMORY_BOUND_KIB} KiB)"
        );
    }
    /// The path printed in "saved as a dead letter: PATH".
    fn dead_letter(&self) -> Option<PathBuf> {
        let err = self.stderr();
        let line = err
            .lines()
            .find(|l| l.contains("saved as a dead letter: "))?;
        let (_, path) = line.split_once("saved as a dead letter: ")?;
        Some(PathBuf::from(path.trim()))
    }
}

/// Peak resident set size of a live process, in KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn collect(mut r: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(Vec::new()));
    let b = buf.clone();
    let handle = thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match r.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => b
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend_from_slice(&chunk[..n]),
            }
        }
    });
    (buf, handle)
}

fn snapshot(buf: &Arc<Mutex<Vec<u8>>>) -> Vec<u8> {
    buf.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs `smtpsh --keep-going -f -` with `lines` (and [`LAST`]) on standard
/// input. Standard input stays open until the last line has run, so that
/// the process is still alive to have its peak memory read.
fn run_lines(lines: Vec<String>, extra_args: &[&str]) -> Run {
    let mut lines = lines;
    lines.push(LAST.to_string());
    let mut cmd = smtpsh();
    cmd.args(extra_args)
        .args(["--keep-going", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run smtpsh");
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("stdin");
    let (out_buf, out_thread) = collect(child.stdout.take().expect("stdout"));
    let (err_buf, err_thread) = collect(child.stderr.take().expect("stderr"));
    let mut text = lines.join("\n");
    text.push('\n');
    // The script is small: it fits in the pipe.
    stdin.write_all(text.as_bytes()).expect("write the script");
    let deadline = Instant::now() + RUN;
    let mut peak_kib = None;
    loop {
        if String::from_utf8_lossy(&snapshot(&out_buf)).contains(LAST_NOTE) {
            peak_kib = vm_hwm(pid);
            break;
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "smtpsh did not finish within {RUN:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&snapshot(&out_buf)),
                String::from_utf8_lossy(&snapshot(&err_buf))
            );
        }
        thread::sleep(Duration::from_millis(5));
    }
    drop(stdin);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("smtpsh did not exit after its script ended");
        }
        thread::sleep(Duration::from_millis(5));
    };
    let _ = out_thread.join();
    let _ = err_thread.join();
    Run {
        out: Output {
            status,
            stdout: snapshot(&out_buf),
            stderr: snapshot(&err_buf),
        },
        lines,
        peak_kib,
    }
}

/// A draft, a connection to `port`, then `middle`, then `status`.
fn hostile_script(port: u16, middle: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = [
        "set timeout 10",
        "from alice@example.com",
        "to bob@example.com",
        "subject Hostile",
        "body keep me",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    lines.push(format!("connect 127.0.0.1 {port}"));
    lines.extend(middle.iter().map(|s| s.to_string()));
    lines.push("status".to_string());
    lines
}

/// Plays `steps` against `hostile_script(middle)`.
fn play(steps: Vec<Step>, middle: &[&str]) -> (Run, Transcript) {
    play_with(steps, middle, &[])
}

fn play_with(steps: Vec<Step>, middle: &[&str], extra_args: &[&str]) -> (Run, Transcript) {
    let fake = FakeServer::start(steps);
    let run = run_lines(hostile_script(fake.port(), middle), extra_args);
    let t = fake.finish();
    (run, t)
}

fn steps(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

fn quit() -> Vec<Step> {
    answer("QUIT", "221 fake.test bye")
}

/// MAIL, RCPT and DATA accepted; the message read.
fn up_to_the_final_dot() -> Vec<Step> {
    let mut v = greet_ehlo();
    v.extend(answer("MAIL FROM:", "250 2.1.0 ok"));
    v.extend(answer("RCPT TO:", "250 2.1.5 ok"));
    v.extend(answer("DATA", "354 go ahead"));
    v.push(Step::ReadData);
    v
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

fn path_str(p: &Path) -> String {
    p.to_str().expect("UTF-8 path").to_string()
}

// ------------------------------------------------- floods: bounded memory

#[test]
fn ten_megabyte_reply_line_without_crlf() {
    let (run, t) = play(
        steps(vec![
            vec![reply("220 fake.test ready"), expect("EHLO")],
            vec![Step::SendRepeat {
                chunk: b"250 ".iter().chain(&[b'x'; 8188]).copied().collect(),
                total: TEN_MB,
            }],
        ]),
        &["ehlo client.example"],
    );
    run.assert_exit(3);
    run.one_error_at(
        "ehlo",
        &[
            "reply line longer than 65536 bytes",
            "connection was closed",
        ],
    );
    run.assert_survived();
    assert!(
        run.stdout().contains("plaintext [closed]")
            && run.stdout().contains("longer than 65536 bytes"),
        "status says the connection was closed and why: {}",
        run.describe()
    );
    assert!(t.client_gone, "smtpsh hung up instead of reading 10 MB");
}

#[test]
fn ten_megabytes_of_continuation_lines() {
    let (run, t) = play(
        steps(vec![
            vec![reply("220 fake.test ready"), expect("EHLO")],
            vec![Step::SendRepeat {
                chunk: b"250-PIPELINING\r\n".repeat(512),
                total: TEN_MB,
            }],
        ]),
        &["ehlo client.example"],
    );
    run.assert_exit(3);
    run.one_error_at("ehlo", &["more than 1000 lines", "connection was closed"]);
    run.assert_survived();
    assert!(t.client_gone, "smtpsh hung up instead of reading 10 MB");
}

#[test]
fn ten_megabyte_greeting_line() {
    let (run, t) = play(
        vec![Step::SendRepeat {
            chunk: b"220-".iter().chain(&[b'y'; 65_532]).copied().collect(),
            total: TEN_MB,
        }],
        &[],
    );
    run.assert_exit(3);
    run.one_error_at("connect", &["reply line longer than 65536 bytes"]);
    run.assert_survived();
    assert!(t.client_gone);
}

// ------------------------------------------------- malformed replies

#[test]
fn multi_line_reply_with_different_codes() {
    let (run, _) = play(
        steps(vec![
            vec![reply("220 fake.test ready"), expect("EHLO")],
            vec![reply("250-fake.test"), reply("251 SIZE 1000"), Step::Hold],
        ]),
        &["ehlo client.example"],
    );
    run.assert_exit(3);
    run.one_error_at("ehlo", &["different codes (250, then 251)"]);
    run.assert_survived();
}

#[test]
fn replies_that_are_not_smtp() {
    for (bytes, shown) in [
        (&b"abc hello\r\n"[..], "\"abc hello\""),
        (b"99 x\r\n", "\"99 x\""),
        (b"650 x\r\n", "\"650 x\""),
        (b"\r\n", "an empty line"),
        (
            b"\xff\xfe\x80 binary \x1b[31m\r\n",
            "\"\\xFF\\xFE\\x80 binary \\x1B[31m\"",
        ),
    ] {
        // As the greeting, and as the reply to EHLO.
        for at_greeting in [true, false] {
            let mut s = Vec::new();
            if !at_greeting {
                s.extend([reply("220 fake.test ready"), expect("EHLO")]);
            }
            s.extend([Step::Send(bytes.to_vec()), Step::Hold]);
            let middle: &[&str] = if at_greeting {
                &[]
            } else {
                &["ehlo client.example"]
            };
            let (run, _) = play(s, middle);
            run.assert_exit(3);
            let failing = if at_greeting { "connect" } else { "ehlo" };
            let line = run.one_error_at(failing, &[shown, "connection was closed"]);
            assert!(
                !line.chars().any(|c| c.is_control()),
                "control characters are shown escaped: {line:?}"
            );
            run.assert_survived();
        }
    }
}

#[test]
fn non_utf8_and_control_bytes_in_a_valid_reply_are_shown_escaped() {
    let (run, _) = play(
        steps(vec![
            vec![reply("220 fake.test ready"), expect("EHLO")],
            vec![Step::Send(
                b"250-caf\xe9 \x1b[2J\x07 \xe2\x80\xae evil\r\n250 8BITMIME\r\n".to_vec(),
            )],
            quit(),
        ]),
        &["ehlo client.example", "quit"],
    );
    run.assert_exit(0);
    let text = run.stdout();
    assert!(
        text.contains("<-  250-caf\\xE9 \\x1B[2J\\x07 \\xE2\\x80\\xAE evil"),
        "{}",
        run.describe()
    );
    assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    assert!(run.located_errors().is_empty(), "{}", run.describe());
    run.assert_bounded();
}

#[test]
fn bare_lf_is_tolerated_and_said_in_verbose_mode() {
    for verbose in [true, false] {
        let fake = FakeServer::start(vec![
            Step::Send(b"220 fake.test ready\n".to_vec()),
            expect("EHLO"),
            Step::Send(b"250-fake.test\n250 8BITMIME\n".to_vec()),
            expect("NOOP"),
            Step::Send(b"250 ok\n".to_vec()),
            expect("QUIT"),
            Step::Send(b"221 bye\n".to_vec()),
        ]);
        let mut lines = hostile_script(fake.port(), &["ehlo client.example", "noop", "quit"]);
        if verbose {
            lines.insert(0, "set verbose on".into());
        }
        let run = run_lines(lines, &[]);
        fake.finish().assert_script_done();
        run.assert_exit(0);
        let text = run.stdout();
        assert!(text.contains("<-  250 8BITMIME"), "{}", run.describe());
        let notices = text.matches("bare LF").count();
        assert_eq!(notices, usize::from(verbose), "{}", run.describe());
        run.assert_bounded();
    }
}

#[test]
fn bare_220_greeting_is_accepted() {
    let (run, t) = play(
        steps(vec![
            vec![reply("220"), expect("EHLO"), reply("250 fake.test")],
            quit(),
        ]),
        &["ehlo client.example", "quit"],
    );
    t.assert_script_done();
    run.assert_exit(0);
    assert!(run.stdout().contains("<-  220\n"), "{}", run.describe());
    assert!(run.located_errors().is_empty(), "{}", run.describe());
    run.assert_survived();
}

// ------------------------------------------------- the connection closes

#[test]
fn connection_closed_at_the_greeting() {
    let (run, t) = play(vec![Step::Close], &[]);
    assert!(t.connected);
    run.assert_exit(3);
    run.one_error_at(
        "connect",
        &[
            "the server closed the connection",
            "waiting for the greeting",
        ],
    );
    run.assert_survived();
}

#[test]
fn connection_closed_mid_reply() {
    let (run, _) = play(
        steps(vec![
            vec![reply("220 fake.test ready"), expect("EHLO")],
            vec![
                Step::Send(b"250-fake.test\r\n250-SIZ".to_vec()),
                Step::Close,
            ],
        ]),
        &["ehlo client.example"],
    );
    run.assert_exit(3);
    run.one_error_at(
        "ehlo",
        &["the server closed the connection", "the reply to EHLO"],
    );
    run.assert_survived();
    assert!(
        run.stdout().contains("[closed by server]"),
        "{}",
        run.describe()
    );
}

#[test]
fn connection_closed_during_data() {
    let dir = tempfile::tempdir().unwrap();
    // Larger than the socket buffers can swallow.
    let big = dir.path().join("big.bin");
    fs::write(&big, support::random_bytes(16 * 1024 * 1024, 11)).unwrap();
    let attach = format!("attach {}", quote(&path_str(&big)));
    let (run, t) = play(
        steps(vec![
            greet_ehlo(),
            answer("MAIL FROM:", "250 ok"),
            answer("RCPT TO:", "250 ok"),
            answer("DATA", "354 go ahead"),
            vec![Step::Sleep(Duration::from_millis(100)), Step::Close],
        ]),
        &[&attach, "send"],
    );
    run.assert_exit(3);
    run.one_error_at("send", &["sending stopped", "closed"]);
    assert!(!t.saw_final_dot());
    assert!(
        run.stderr().contains("before the final dot"),
        "{}",
        run.describe()
    );
    run.assert_survived();
    assert!(run.stdout().contains("attach 1:   big.bin"));
}

#[test]
fn connection_closed_after_the_final_dot_means_delivery_unknown() {
    let (run, t) = play(
        steps(vec![up_to_the_final_dot(), vec![Step::Close]]),
        &["send"],
    );
    t.assert_script_done();
    run.assert_exit(3);
    run.one_error_at("send", &["closed", "delivered is unknown"]);
    run.assert_survived();
    assert!(run.stdout().contains("draft:        not sent yet"));
}

// ------------------------------------------------- refusals

#[test]
fn reply_421_at_the_greeting() {
    let (run, _) = play(
        // The server says 421 and closes, as RFC 5321 §3.8 has it.
        vec![
            reply("421 4.3.2 fake.test too busy, try later"),
            Step::Close,
        ],
        &[],
    );
    run.assert_exit(4);
    run.one_error_at("connect", &["refused the connection (421)"]);
    run.assert_survived();
    assert!(
        run.stdout()
            .contains("closed:       the server closed the connection (421 4.3.2"),
        "{}",
        run.describe()
    );
}

#[test]
fn reply_421_mid_session() {
    let (run, t) = play(
        steps(vec![
            greet_ehlo(),
            vec![
                expect("MAIL FROM:"),
                reply("421 4.4.2 fake.test idle too long, closing"),
                Step::Close,
            ],
        ]),
        &["send"],
    );
    t.assert_script_done();
    run.assert_exit(4);
    run.one_error_at("send", &["refused the sender (MAIL FROM) (421)"]);
    assert!(
        run.stderr()
            .contains("the server closed the connection (421)")
    );
    run.assert_survived();
    assert!(
        run.stdout().contains("[closed by server]"),
        "{}",
        run.describe()
    );
}

#[test]
fn reply_451_after_the_final_dot() {
    let (run, t) = play(
        steps(vec![
            up_to_the_final_dot(),
            vec![reply("451 4.3.0 fake.test local error, try again")],
            quit(),
        ]),
        &["send"],
    );
    t.assert_script_done();
    run.assert_exit(4);
    run.one_error_at("send", &["refused the message (451)"]);
    run.assert_survived();
    assert!(run.stdout().contains("draft:        not sent yet"));
    // The dead letter is the very message the server refused.
    let path = run
        .dead_letter()
        .unwrap_or_else(|| panic!("{}", run.describe()));
    assert_eq!(fs::read(&path).expect("dead letter"), unstuff(&t.data[0]));
}

#[test]
fn reply_552_for_the_size() {
    let (run, t) = play(
        steps(vec![
            up_to_the_final_dot(),
            vec![reply("552 5.3.4 message size exceeds fixed limit")],
            quit(),
        ]),
        &["send"],
    );
    t.assert_script_done();
    run.assert_exit(4);
    run.one_error_at("send", &["refused the message (552)"]);
    assert!(run.stderr().contains("too large"), "{}", run.describe());
    run.assert_survived();
}

#[test]
fn reply_521_at_the_greeting() {
    // RFC 7504: this host does not accept mail.
    let (run, _) = play(
        steps(vec![
            vec![reply("521 5.3.2 fake.test does not accept mail")],
            quit(),
        ]),
        &[],
    );
    run.assert_exit(4);
    run.one_error_at("connect", &["refused the connection (521)"]);
    assert!(run.stderr().contains("does not accept mail"));
    run.assert_survived();
}

#[test]
fn reply_530_must_issue_starttls_first() {
    let (run, t) = play(
        steps(vec![
            greet_ehlo(),
            answer(
                "MAIL FROM:",
                "530 5.7.0 Must issue a STARTTLS command first",
            ),
            quit(),
        ]),
        &["send", "quit"],
    );
    t.assert_script_done();
    run.assert_exit(4);
    run.one_error_at("send", &["refused the sender (MAIL FROM) (530)"]);
    assert!(run.stderr().contains("STARTTLS"), "{}", run.describe());
    run.assert_survived();
}

// ------------------------------------------------- pipelined replies

#[test]
fn replies_in_one_segment_are_matched_to_commands_in_order() {
    // Three replies in one segment: each command gets the next one, in
    // order, never a reply meant for another.
    let (run, t) = play(
        steps(vec![
            greet_ehlo(),
            vec![
                expect("NOOP first"),
                Step::Send(b"250 2.0.0 one\r\n250 2.0.0 two\r\n550 5.0.0 three\r\n".to_vec()),
                expect("NOOP second"),
                expect("NOOP third"),
            ],
            quit(),
        ]),
        &[
            "ehlo client.example",
            "raw NOOP first",
            "expect 250",
            "raw NOOP second",
            "expect 250",
            "raw NOOP third",
            "expect 550",
            "quit",
        ],
    );
    t.assert_script_done();
    run.assert_exit(0);
    let text = run.stdout();
    let order: Vec<usize> = [
        "-> NOOP first",
        "<-  250 2.0.0 one",
        "-> NOOP second",
        "<-  250 2.0.0 two",
        "-> NOOP third",
        "<-  550 5.0.0 three",
    ]
    .iter()
    .map(|l| {
        text.find(l)
            .unwrap_or_else(|| panic!("{l:?} missing:\n{text}"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
}

// ------------------------------------------------- timeouts per phase

#[test]
fn stall_before_the_greeting_times_out() {
    let fake = FakeServer::start(vec![Step::Hold]);
    let mut lines = hostile_script(fake.port(), &[]);
    lines[0] = "set timeout 1".into();
    let run = run_lines(lines, &[]);
    fake.finish();
    run.assert_exit(3);
    run.one_error_at(
        "connect",
        &[
            "no reply from the server within 1 s",
            "waiting for the greeting",
        ],
    );
    run.assert_survived();
}

#[test]
fn a_reply_trickling_in_one_byte_a_second_times_out() {
    let fake = FakeServer::start(steps(vec![
        vec![reply("220 fake.test ready"), expect("EHLO")],
        vec![
            Step::Send(b"250-fake.test\r\n250 ".to_vec()),
            Step::Trickle {
                bytes: b"8BITMIME, one byte a second\r\n".to_vec(),
                interval: Duration::from_secs(1),
            },
        ],
    ]));
    let mut lines = hostile_script(fake.port(), &["ehlo client.example"]);
    lines[0] = "set timeout 1".into();
    let run = run_lines(lines, &[]);
    let t = fake.finish();
    run.assert_exit(3);
    // Either no byte came within the second, or the reply kept trickling
    // past four seconds: both name the phase.
    let line = run.one_error_at("ehlo", &["the reply to EHLO", "`set timeout SECONDS`"]);
    assert!(
        line.contains("within 1 s") || line.contains("after 4 s"),
        "{line}"
    );
    assert!(t.client_gone, "smtpsh hung up on the trickle");
    run.assert_survived();
}

#[test]
fn stall_after_data_times_out() {
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        vec![expect("DATA"), Step::Hold],
    ]));
    let mut lines = hostile_script(fake.port(), &["send"]);
    lines[0] = "set timeout 1".into();
    let run = run_lines(lines, &[]);
    let t = fake.finish();
    assert!(!t.saw_final_dot());
    run.assert_exit(3);
    run.one_error_at("send", &["within 1 s", "waiting for the reply to DATA"]);
    run.assert_survived();
}

#[test]
fn stall_after_the_final_dot_times_out_and_says_delivery_is_unknown() {
    let fake = FakeServer::start(steps(vec![up_to_the_final_dot(), vec![Step::Hold]]));
    let mut lines = hostile_script(fake.port(), &["send"]);
    lines[0] = "set timeout 1".into();
    let run = run_lines(lines, &[]);
    fake.finish();
    run.assert_exit(3);
    run.one_error_at(
        "send",
        &[
            "within 1 s",
            "waiting for the reply to the end of the message",
            "unknown",
        ],
    );
    run.assert_survived();
}

#[test]
fn a_server_that_stops_reading_message_data_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    fs::write(&big, support::random_bytes(24 * 1024 * 1024, 5)).unwrap();
    let gate = Gate::new();
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        answer("DATA", "354 go ahead"),
        vec![Step::Wait(gate.clone()), Step::Hold],
    ]));
    let attach = format!("attach {}", quote(&path_str(&big)));
    let mut lines = hostile_script(fake.port(), &[&attach, "send"]);
    lines[0] = "set timeout 1".into();
    let run = run_lines(lines, &[]);
    gate.open();
    let t = fake.finish();
    assert!(!t.saw_final_dot(), "the message must not be ended");
    run.assert_exit(3);
    run.one_error_at(
        "send",
        &["within 1 s", "the server to accept more message data"],
    );
    run.assert_survived();
}

// ------------------------------------------------- dead letters

#[test]
fn a_failed_send_in_a_script_is_kept_as_a_dead_letter() {
    use std::os::unix::fs::PermissionsExt;
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        answer("DATA", "554 5.7.1 no thanks"),
        quit(),
    ]));
    let mut lines = hostile_script(fake.port(), &["bcc hidden@example.com", "send"]);
    // The draft is made before connecting: move `bcc` before `connect`.
    let bcc = lines.remove(6);
    lines.insert(5, bcc);
    let run = run_lines(lines, &[]);
    fake.finish().assert_script_done();
    run.assert_exit(4);
    run.one_error_at("send", &["refused DATA (554)"]);
    run.assert_survived();
    let path = run
        .dead_letter()
        .unwrap_or_else(|| panic!("{}", run.describe()));
    let dir = path.parent().expect("dead-letter directory");
    assert!(
        dir.ends_with(".local/state/smtpsh/dead-letter"),
        "under $XDG_STATE_HOME/smtpsh/dead-letter: {}",
        path.display()
    );
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(name.ends_with(".eml"), "{name}");
    assert!(
        name.len() > 17 && name.as_bytes()[8] == b'T' && name.as_bytes()[15] == b'Z',
        "named by date: {name}"
    );
    let meta = fs::metadata(&path).expect("dead letter");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "private");
    assert_eq!(
        fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("Subject: Hostile\r\n"), "{text}");
    assert!(text.contains("To: bob@example.com\r\n"), "{text}");
    assert!(text.contains("keep me\r\n"), "{text}");
    assert!(
        !text.contains("hidden@"),
        "Bcc never in the message: {text}"
    );
    assert!(
        run.stderr().contains("hidden@example.com"),
        "the Bcc recipients are named: {}",
        run.describe()
    );
    let id = text
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: <"))
        .and_then(|l| l.split('@').next())
        .expect("Message-ID");
    assert!(name.contains(id), "{name} names {id}");
}

#[test]
fn a_successful_send_leaves_no_dead_letter() {
    let (run, t) = play(
        steps(vec![
            up_to_the_final_dot(),
            vec![reply("250 2.0.0 queued")],
            quit(),
        ]),
        &["send --keep-open", "quit"],
    );
    run.assert_exit(0);
    assert!(t.data.len() == 1);
    assert!(run.dead_letter().is_none(), "{}", run.describe());
    assert!(!run.stderr().contains("dead letter"), "{}", run.describe());
}

// ------------------------------------------------- Ctrl-C during a send

#[test]
fn ctrl_c_during_a_long_send_stops_without_the_final_dot() {
    use expectrl::{ControlCode, Eof, Expect, Session};
    const PROMPT: &str = "\x1b[?2004h";
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.bin");
    fs::write(&big, support::random_bytes(24 * 1024 * 1024, 3)).unwrap();
    let gate = Gate::new();
    // The server reads nothing of the message until the test lets it: the
    // send blocks on a full socket.
    let fake = FakeServer::start(steps(vec![
        greet_ehlo(),
        answer("MAIL FROM:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        answer("DATA", "354 go ahead"),
        vec![Step::Wait(gate.clone()), Step::Hold],
    ]));
    let home = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.arg("--no-history")
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1");
    let mut s = Session::spawn(cmd).expect("spawn smtpsh in a pty");
    // Wide enough that no line of `status` is wrapped.
    s.get_process_mut()
        .set_window_size(200, 50)
        .expect("window size");
    // A safety net only.
    s.set_expect_timeout(Some(Duration::from_secs(60)));
    s.expect(PROMPT).expect("first prompt");
    for line in [
        "from alice@example.com".to_string(),
        "to bob@example.com".to_string(),
        "subject Interrupted".to_string(),
        format!("attach {}", quote(&path_str(&big))),
        format!("connect 127.0.0.1 {}", fake.port()),
    ] {
        s.send_line(&line).unwrap();
        s.expect(PROMPT)
            .unwrap_or_else(|e| panic!("no prompt after {line:?}: {e}"));
    }
    s.send_line("send").unwrap();
    s.expect("354 go ahead").expect("the send reached DATA");
    thread::sleep(Duration::from_millis(300));
    s.send(ControlCode::EndOfText).unwrap();
    let cap = s.expect(PROMPT).expect("back at the prompt after Ctrl-C");
    let shown = String::from_utf8_lossy(cap.before()).into_owned();
    assert!(
        shown.contains("sending stopped: interrupted (Ctrl-C)"),
        "{shown}"
    );
    assert!(shown.contains("before the final dot"), "{shown}");
    s.send_line("status").unwrap();
    let cap = s.expect(PROMPT).expect("status");
    let status = String::from_utf8_lossy(cap.before()).into_owned();
    assert!(status.contains("plaintext [closed]"), "{status}");
    assert!(status.contains("interrupted (Ctrl-C)"), "{status}");
    assert!(status.contains("subject:    Interrupted"), "{status}");
    assert!(status.contains("draft:        not sent yet"), "{status}");
    assert!(status.contains("attach 1:   big.bin"), "{status}");
    // Interactive: no dead letter, the draft is in the session.
    assert!(!home.path().join("state/smtpsh/dead-letter").exists());
    gate.open();
    let t = fake.finish();
    assert!(t.completed, "the server saw the connection close");
    assert!(
        !t.saw_final_dot(),
        "the server must never see the final dot"
    );
    s.send_line("exit").unwrap();
    s.expect(PROMPT).expect("the unsent-draft warning");
    s.send_line("exit").unwrap();
    s.expect(Eof).unwrap();
}
