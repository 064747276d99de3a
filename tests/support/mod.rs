//! Shared helpers for smtpsh's integration tests: a real SMTP server
//! (aiosmtpd, started per test on a free loopback port), a way to run the
//! `smtpsh` binary with a script, and small deterministic test data.
//!
//! Each test binary uses a subset, hence the `dead_code` allowances.
//!
//! A missing aiosmtpd venv is a failing test, never a skip: run `.ci/run`
//! (or `python3 -m venv .venv-test && .venv-test/bin/pip install aiosmtpd`).
#![allow(dead_code)]

use serde_json::Value;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// A private Postfix instance (with Dovecot SASL and a test CA).
pub mod postfix;

/// A private Dovecot LMTP server (TCP and a UNIX socket).
pub mod dovecot;
/// The OAuth token introspection endpoint the Postfix instance's Dovecot asks.
pub mod introspect;

/// Reading an HTML message with an inline image back.
pub mod html;

/// How long the server may take to print `READY`.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `wait_for_messages` / `wait_for_event` poll.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one `smtpsh` run may take before it is killed.
pub const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The aiosmtpd server script.
pub fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/aiosmtpd_server.py")
}

/// The Python interpreter that has aiosmtpd: `$SMTPSH_TEST_PYTHON`, else the
/// project's `.venv-test`. Panics (test failure) if it is not there.
pub fn python() -> PathBuf {
    let path = match std::env::var_os("SMTPSH_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin/python3"),
    };
    if !path.exists() {
        panic!(
            "aiosmtpd test venv not found at {}; run .ci/run (or: python3 -m venv .venv-test \
             && .venv-test/bin/pip install aiosmtpd)",
            path.display()
        );
    }
    path
}

// ---------------------------------------------------------------------------
// aiosmtpd
// ---------------------------------------------------------------------------

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Stored {
    /// `msg-NNNN`.
    pub id: String,
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// MAIL FROM parameters as aiosmtpd saw them (upper-cased), e.g. `SIZE=123`.
    pub mail_options: Vec<String>,
    /// Connection serial (see [`Event::session`]).
    pub session: u64,
    /// Whether the connection was TLS when DATA completed.
    pub tls: bool,
    /// The AUTH login, if the session authenticated.
    pub auth_login: Option<String>,
    /// The exact DATA bytes (CRLF kept, dot-stuffing undone, no final `.`).
    pub data: Vec<u8>,
}

/// One line of the server's `events.jsonl`.
#[derive(Debug, Clone)]
pub struct Event {
    /// Connection serial, from 1, in accept order.
    pub session: u64,
    /// `connect`, `command`, `reply`, `tls`, `message` or `close`.
    pub kind: String,
    /// For `command`: the upper-case verb (`EHLO`, `MAIL`, ...).
    pub verb: String,
    /// For `command`: the argument (empty if none).
    pub arg: String,
    /// For `reply`: the reply line, e.g. `250 OK`.
    pub line: String,
    /// For `message`: `msg-NNNN`.
    pub id: String,
    /// The whole parsed record.
    pub raw: Value,
}

impl Event {
    pub fn is_command(&self, verb: &str) -> bool {
        self.kind == "command" && self.verb.eq_ignore_ascii_case(verb)
    }
}

/// A running aiosmtpd server; killed on drop.
pub struct Aiosmtpd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
    /// Held open: the server exits when it reads EOF here, so it cannot
    /// outlive a test process that died without running `Drop`.
    _stdin: Option<ChildStdin>,
}

impl Aiosmtpd {
    pub fn start() -> Aiosmtpd {
        Aiosmtpd::start_with(&[])
    }

    /// Start with extra arguments, e.g. `&["--reject-rcpt", "nobody"]`.
    pub fn start_with(args: &[&str]) -> Aiosmtpd {
        let python = python();
        let dir = tempfile::Builder::new()
            .prefix("aiosmtpd-")
            .tempdir()
            .expect("create server temp dir");
        let stderr_path = dir.path().join("server.stderr");
        let stderr = fs::File::create(&stderr_path).expect("create server stderr file");
        let mut cmd = Command::new(&python);
        cmd.arg("-u")
            .arg(server_script())
            .arg("--dir")
            .arg(dir.path())
            .args(["--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // Its own process group: a ^C at the terminal reaches the test
            // runner, which then stops the server itself.
            .process_group(0);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("server stdout");

        let (tx, rx) = mpsc::channel::<String>();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(line.trim_end().to_string()).is_err() {
                            // Nobody listens any more; keep draining.
                        }
                    }
                }
            }
        });

        let deadline = Instant::now() + READY_TIMEOUT;
        let mut seen = Vec::new();
        let port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(p) = line.strip_prefix("READY ") {
                        break p.trim().parse::<u16>().unwrap_or_else(|_| {
                            panic!("bad READY line from aiosmtpd server: {line:?}")
                        });
                    }
                    seen.push(line);
                }
                Err(err) => {
                    let _ = child.kill();
                    let status = child.wait();
                    let stderr = fs::read_to_string(&stderr_path).unwrap_or_default();
                    panic!(
                        "aiosmtpd server did not become ready ({}): status {status:?}\n\
                         stdout: {seen:?}\nstderr:\n{stderr}",
                        match err {
                            mpsc::RecvTimeoutError::Timeout => "timed out",
                            mpsc::RecvTimeoutError::Disconnected => "it exited",
                        }
                    );
                }
            }
        };
        Aiosmtpd {
            port,
            dir,
            child,
            _stdin: stdin,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port_str(&self) -> String {
        self.port.to_string()
    }

    /// What the server wrote on stderr so far (for failure messages).
    pub fn stderr(&self) -> String {
        fs::read_to_string(self.dir.path().join("server.stderr")).unwrap_or_default()
    }

    /// Every stored message, in arrival order.
    pub fn messages(&self) -> Vec<Stored> {
        let mut names: Vec<String> = fs::read_dir(self.dir.path())
            .expect("read server dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("msg-") && n.ends_with(".json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|name| {
                let id = name.trim_end_matches(".json").to_string();
                let meta_path = self.dir.path().join(name);
                let meta_text = fs::read_to_string(&meta_path)
                    .unwrap_or_else(|e| panic!("read {}: {e}", meta_path.display()));
                let meta: Value = serde_json::from_str(&meta_text)
                    .unwrap_or_else(|e| panic!("parse {}: {e}", meta_path.display()));
                let data_path = self.dir.path().join(format!("{id}.eml"));
                let data = fs::read(&data_path)
                    .unwrap_or_else(|e| panic!("read {}: {e}", data_path.display()));
                Stored {
                    mail_from: json_str(&meta, "mail_from"),
                    rcpt_tos: json_str_list(&meta, "rcpt_tos"),
                    mail_options: json_str_list(&meta, "mail_options"),
                    session: meta.get("session").and_then(Value::as_u64).unwrap_or(0),
                    tls: meta.get("tls").and_then(Value::as_bool).unwrap_or(false),
                    auth_login: meta
                        .get("auth_login")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    id,
                    data,
                }
            })
            .collect()
    }

    /// Poll until at least `n` messages are stored (up to ~10 s); panics
    /// with the event log if they do not come.
    pub fn wait_for_messages(&self, n: usize) -> Vec<Stored> {
        self.wait_for_messages_ctx(n, "")
    }

    /// Like [`Aiosmtpd::wait_for_messages`], after a smtpsh run: a failure
    /// also shows what smtpsh printed.
    pub fn wait_for_messages_after(&self, n: usize, out: &Output) -> Vec<Stored> {
        self.wait_for_messages_ctx(n, &format!("--- smtpsh ---\n{}", describe_output(out)))
    }

    fn wait_for_messages_ctx(&self, n: usize, context: &str) -> Vec<Stored> {
        poll_until(
            WAIT_TIMEOUT,
            || self.messages(),
            |msgs| msgs.len() >= n,
            |msgs| {
                format!(
                    "expected {n} stored message(s), have {}\n{}{context}",
                    msgs.len(),
                    self.describe()
                )
            },
        )
    }

    /// Every event so far. A last line still being written is skipped.
    pub fn events(&self) -> Vec<Event> {
        let path = self.dir.path().join("events.jsonl");
        let text = match fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(_) => return Vec::new(),
        };
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n') && !l.trim().is_empty())
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|j| Event {
                session: j.get("session").and_then(Value::as_u64).unwrap_or(0),
                kind: json_str(&j, "event"),
                verb: json_str(&j, "verb"),
                arg: json_str(&j, "arg"),
                line: json_str(&j, "line"),
                id: json_str(&j, "id"),
                raw: j,
            })
            .collect()
    }

    /// Events of one connection.
    pub fn session_events(&self, session: u64) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.session == session)
            .collect()
    }

    /// Connection serials seen so far, in order.
    pub fn sessions(&self) -> Vec<u64> {
        let mut s: Vec<u64> = self
            .events()
            .iter()
            .filter(|e| e.kind == "connect")
            .map(|e| e.session)
            .collect();
        s.dedup();
        s
    }

    /// The commands the server saw, as `(session, "VERB arg")`.
    pub fn commands(&self) -> Vec<(u64, String)> {
        self.events()
            .into_iter()
            .filter(|e| e.kind == "command")
            .map(|e| {
                let text = if e.arg.is_empty() {
                    e.verb.clone()
                } else {
                    format!("{} {}", e.verb, e.arg)
                };
                (e.session, text)
            })
            .collect()
    }

    /// Poll (up to ~10 s) until some event satisfies `pred`; returns it.
    pub fn wait_for_event(&self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        poll_until(
            WAIT_TIMEOUT,
            || self.events().into_iter().find(|e| pred(e)),
            Option::is_some,
            |_| format!("timed out waiting for {what}\n{}", self.describe()),
        )
        .expect("poll_until returns only a ready value")
    }

    /// Wait until connection `session` is closed (its `close` event).
    pub fn wait_for_close(&self, session: u64) {
        self.wait_for_event(&format!("close of session {session}"), |e| {
            e.session == session && e.kind == "close"
        });
    }

    /// A readable dump of the event log and server stderr, for panics.
    pub fn describe(&self) -> String {
        let mut out = String::from("--- aiosmtpd events ---\n");
        for e in self.events() {
            match e.kind.as_str() {
                "command" => out.push_str(&format!("[{}] C: {} {}\n", e.session, e.verb, e.arg)),
                "reply" => out.push_str(&format!("[{}] S: {}\n", e.session, e.line)),
                other => out.push_str(&format!("[{}] {other} {}\n", e.session, e.id)),
            }
        }
        let stderr = self.stderr();
        if !stderr.trim().is_empty() {
            out.push_str("--- aiosmtpd stderr ---\n");
            out.push_str(&stderr);
        }
        out
    }
}

impl Drop for Aiosmtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// smtpsh
// ---------------------------------------------------------------------------

/// A fresh private directory for HOME/XDG_* of one smtpsh run. Lives under
/// cargo's per-target temp dir (`target/tmp`), so nothing touches the real
/// home directory.
pub fn private_home() -> PathBuf {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(base).expect("create CARGO_TARGET_TMPDIR");
    tempfile::Builder::new()
        .prefix("smtpsh-home-")
        .tempdir_in(base)
        .expect("create private home")
        .keep()
}

/// A `Command` for the smtpsh binary with a private HOME/XDG_STATE_HOME/
/// XDG_DATA_HOME/XDG_CONFIG_HOME, `NO_COLOR=1`, `--no-history`, run in that
/// home directory, with stdin null.
pub fn smtpsh() -> Command {
    let home = private_home();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.env("HOME", &home)
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("SMTPSH_HISTORY")
        .current_dir(&home)
        .stdin(Stdio::null())
        .arg("--no-history");
    cmd
}

/// Write `text` to a temp file and run `smtpsh -f FILE` (stdin null),
/// killing it after [`SCRIPT_TIMEOUT`].
pub fn run_script(text: &str) -> Output {
    let dir = tempfile::Builder::new()
        .prefix("smtpsh-script-")
        .tempdir()
        .expect("script temp dir");
    let file = dir.path().join("script.smtpsh");
    fs::write(&file, text).expect("write script");
    let mut cmd = smtpsh();
    cmd.arg("-f").arg(&file);
    run_with_timeout(cmd, SCRIPT_TIMEOUT)
}

/// Run a command to completion, collecting stdout/stderr, killing it (and
/// panicking with what it printed) after `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let out_reader = drain(child.stdout.take().expect("stdout"));
    let err_reader = drain(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let stdout = out_reader.join().unwrap_or_default();
            let stderr = err_reader.join().unwrap_or_default();
            panic!(
                "{cmd:?} did not finish within {timeout:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            );
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    }
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Exit status, stdout and stderr, for assertion messages.
pub fn describe_output(out: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Panics unless `out` exited with `code`, showing output and `context`.
pub fn assert_exit(out: &Output, code: i32, context: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit code {code}\n{}\n{context}",
        describe_output(out)
    );
}

/// `bytes` (text) with every line ending — CRLF, bare LF, bare CR — made
/// CRLF and a final one added when missing: what smtpsh sends of a
/// message file, worked out independently of smtpsh.
pub fn crlf_lines(bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let mut out = text.replace('\n', "\r\n");
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// Quote a string for a smtpsh script line (shell-style single quotes).
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r#"'"'"'"#))
    }
}

// ---------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `n` deterministic pseudo-random bytes (xorshift64*), different per seed.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    if state == 0 {
        state = 0x2545_F491_4F6C_DD1D;
    }
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let v = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// CRC-32 (IEEE, as used by PNG and gzip).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Adler-32 (zlib's checksum).
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// A zlib stream of `data` using stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    let mut crc_input = Vec::with_capacity(4 + body.len());
    crc_input.extend_from_slice(kind);
    crc_input.extend_from_slice(body);
    out.extend_from_slice(&crc_input);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

/// A valid 16x16 RGB PNG (a colour gradient), built by hand.
pub fn tiny_png() -> Vec<u8> {
    const W: u32 = 16;
    const H: u32 = 16;
    let mut raw = Vec::with_capacity((H * (1 + W * 3)) as usize);
    for y in 0..H {
        raw.push(0); // filter: none
        for x in 0..W {
            raw.extend_from_slice(&[(x * 16) as u8, (y * 16) as u8, 0x80]);
        }
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&W.to_be_bytes());
    ihdr.extend_from_slice(&H.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, no filter, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// Split raw message bytes into lines at LF; each line keeps its ending.
pub fn raw_lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|&b| b == b'\n').collect()
}

// ---------------------------------------------------------------------------
// The server's JSON files, read with serde_json.
// ---------------------------------------------------------------------------

/// A string member of a JSON object; empty when absent or not a string.
pub fn json_str(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The strings of an array member of a JSON object (other items skipped);
/// empty when absent or not an array.
pub fn json_str_list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A run's standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A run's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Standard output, then standard error, as one text.
pub fn printed(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// A temporary path as a `&str` for a script line (temp paths are UTF-8).
pub fn path_str(p: &Path) -> String {
    p.to_str().expect("UTF-8 temp path").to_string()
}

/// The header, body and attachment checks of the interop tests' "full
/// message" (From/To/Cc/Subject, no Bcc, the text, the three attachments by
/// name, type and SHA-256) on a stored message, CRLF or LF line ends.
#[cfg(feature = "interop")]
pub fn check_full_message_content(
    data: &[u8],
    subject: &str,
    bin: &[u8],
    text_name: &str,
    text: &str,
    png: &[u8],
) {
    use mail_parser::{MessageParser, MimeHeaders};
    let msg = MessageParser::default()
        .parse(data)
        .expect("mail-parser cannot parse the message");

    let from = msg.from().and_then(|a| a.first()).expect("From header");
    assert_eq!(from.address(), Some("ann@example.com"));
    assert_eq!(from.name(), Some("Ann Example"));
    let to: Vec<_> = msg.to().expect("To header").iter().collect();
    assert_eq!(to.len(), 1);
    assert_eq!(to[0].address(), Some("bob@example.com"));
    let cc: Vec<_> = msg.cc().expect("Cc header").iter().collect();
    assert_eq!(cc.len(), 1);
    assert_eq!(cc[0].address(), Some("carol@example.com"));
    assert!(msg.bcc().is_none(), "Bcc header present");
    assert!(msg.header_raw("Bcc").is_none(), "Bcc header present");
    assert_eq!(msg.subject(), Some(subject));
    assert!(msg.date().is_some(), "Date header missing or invalid");
    assert!(
        msg.message_id().is_some_and(|id| id.contains('@')),
        "Message-ID missing: {:?}",
        msg.message_id()
    );
    assert!(
        msg.header_raw("MIME-Version").is_some(),
        "MIME-Version missing"
    );

    let body = msg.body_text(0).expect("text body");
    let body = body.replace("\r\n", "\n");
    assert_eq!(
        body.trim_end(),
        "Hello Bob,\n\nhere are the files — all three of them."
    );

    let atts: Vec<_> = msg.attachments().collect();
    assert_eq!(atts.len(), 3, "attachments: {}", atts.len());
    let find = |name: &str| {
        atts.iter()
            .find(|a| a.attachment_name() == Some(name))
            .unwrap_or_else(|| {
                panic!(
                    "no attachment named {name:?}; names: {:?}",
                    atts.iter().map(|a| a.attachment_name()).collect::<Vec<_>>()
                )
            })
    };

    let a_bin = find("data.bin");
    let ct = a_bin.content_type().expect("data.bin Content-Type");
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("application", Some("octet-stream"))
    );
    assert_eq!(sha256_hex(a_bin.contents()), sha256_hex(bin));

    let a_txt = find(text_name);
    let ct = a_txt.content_type().expect("text Content-Type");
    assert_eq!((ct.ctype(), ct.subtype()), ("text", Some("plain")));
    assert!(
        ct.attribute("charset")
            .is_some_and(|c| c.eq_ignore_ascii_case("utf-8")),
        "charset: {:?}",
        ct.attribute("charset")
    );
    assert_eq!(sha256_hex(a_txt.contents()), sha256_hex(text.as_bytes()));

    let a_png = find("pixel.png");
    let ct = a_png.content_type().expect("png Content-Type");
    assert_eq!((ct.ctype(), ct.subtype()), ("image", Some("png")));
    assert_eq!(sha256_hex(a_png.contents()), sha256_hex(png));
}

/// Calls `get` every 10 ms until `ready` accepts its value, for up to
/// `within`; then panics with `explain` of the last value.
pub fn poll_until<T>(
    within: Duration,
    mut get: impl FnMut() -> T,
    ready: impl Fn(&T) -> bool,
    explain: impl FnOnce(&T) -> String,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let value = get();
        if ready(&value) {
            return value;
        }
        if Instant::now() >= deadline {
            panic!("{}", explain(&value));
        }
        thread::sleep(Duration::from_millis(10));
    }
}
