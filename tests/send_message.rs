//! Sending an existing message with the real binary: `send --message` and
//! `data --file` into the built-in sandbox (the stored bytes are the file
//! with CRLF line endings, after the sandbox's trace headers), standard
//! input piped in or refused, and a 1 GiB message file streamed to a sink
//! server on 127.0.0.1 while smtpsh's peak memory stays flat.

mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use support::{
    assert_exit, crlf_lines, describe_output, quote, run_with_timeout, smtpsh, stderr, stdout,
};

/// A safety net: each run here ends on its own well before it.
const RUN: Duration = Duration::from_secs(300);

/// A message with bare LFs, a bare CR, CRLFs, lines starting with `.` (one
/// is a lone `.`, which must not end the DATA), and no final line ending.
const EML: &[u8] = b"From: Ann <ann@example.org>\nTo: bob@example.org\nSubject: dots\n\
Date: Mon, 01 Jan 2024 00:00:00 +0000\nMessage-ID: <dots@example.org>\n\n.one\n..two\r\n.\n\
bare cr\rlast line";

/// The messages in a Maildir's `new/`, oldest first (by name: the names
/// start with the arrival time).
fn stored(maildir: &Path) -> Vec<Vec<u8>> {
    let mut names: Vec<PathBuf> = fs::read_dir(maildir.join("new"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names.iter().map(|p| fs::read(p).expect("read")).collect()
}

/// The stored message without the trace headers the sandbox put first.
fn after_trace(message: &[u8]) -> &[u8] {
    let at = message
        .windows(6)
        .position(|w| w == b"\r\nFrom")
        .expect("the file's first header");
    &message[at + 2..]
}

fn sandbox_run(dir: &Path, args: &[&str], commands: &[String]) -> Output {
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", dir)
        .arg("--sandbox")
        .args(args);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    run_with_timeout(cmd, RUN)
}

#[test]
fn send_message_and_data_file_store_the_file_with_crlf_line_endings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let eml = dir.path().join("dots.eml");
    fs::write(&eml, EML).expect("write");
    let path = quote(&eml.display().to_string());
    let out = sandbox_run(
        &dir.path().join("sandbox"),
        &[],
        &[
            "from ann@example.org".into(),
            "to bob@example.org".into(),
            format!("send --message {path}"),
            "expect 250".into(),
            // A transaction typed by hand, then the file after DATA.
            "connect sandbox".into(),
            "MAIL FROM:<ann@example.org>".into(),
            "RCPT TO:<carol@example.org>".into(),
            format!("data --file {path}"),
            "expect 250".into(),
            "inbox 2 --raw".into(),
        ],
    );
    assert_exit(&out, 0, "send --message, then data --file");
    let messages = stored(&dir.path().join("sandbox/Maildir"));
    assert_eq!(messages.len(), 2, "{}", describe_output(&out));
    let want = crlf_lines(EML);
    for m in &messages {
        assert!(
            after_trace(m) == want.as_slice(),
            "{}",
            String::from_utf8_lossy(m)
        );
    }
    let text = stdout(&out);
    assert!(
        text.contains("but for its line endings, made CRLF"),
        "{text}"
    );
    assert!(!text.contains("has no Date"), "{text}");
    // `inbox 2 --raw` shows the lone `.` line, which did not end the DATA.
    assert!(
        text.replace("\r\n", "\n")
            .contains("\n.\nbare cr\nlast line\n"),
        "{text}"
    );
}

#[test]
fn standard_input_is_the_message_when_piped_and_refused_when_it_is_the_script() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = dir.path().join("sandbox");
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", &sandbox)
        .env("TMPDIR", dir.path())
        .args([
            "--sandbox",
            "-c",
            "from ann@example.org",
            "-c",
            "to bob@example.org",
        ])
        .args(["-c", "send --message -"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run smtpsh");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(EML).expect("write the message");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_exit(&out, 0, "send --message -");
    let messages = stored(&sandbox.join("Maildir"));
    assert_eq!(messages.len(), 1);
    assert!(after_trace(&messages[0]) == crlf_lines(EML).as_slice());
    assert!(
        stdout(&out).contains("message standard input:"),
        "{}",
        stdout(&out)
    );
    // The private spool is gone.
    let left: Vec<_> = fs::read_dir(dir.path())
        .expect("read")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("smtpsh-stdin-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // The script itself on standard input: `-` cannot also be the message.
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", &sandbox)
        .args(["--sandbox", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run smtpsh");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(b"from ann@example.org\nto bob@example.org\nsend --message -\n")
        .expect("write the script");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_exit(&out, 1, "refused");
    assert!(
        stderr(&out).contains("standard input is the script itself"),
        "{}",
        describe_output(&out)
    );
    assert_eq!(
        stored(&sandbox.join("Maildir")).len(),
        1,
        "nothing more sent"
    );
}

/// Peak resident set size of a live process, in KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// What the sink server saw.
struct Sunk {
    mail: String,
    wire_bytes: u64,
    peak_kib: Option<u64>,
}

/// A one-connection SMTP server on 127.0.0.1 that takes a message by DATA
/// and throws its bytes away; before answering the final dot it reads the
/// client's peak memory (the client has sent everything by then).
fn sink(pid: Arc<AtomicU32>) -> (u16, thread::JoinHandle<Sunk>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let handle = thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(RUN)).expect("timeout");
        let line = |s: &mut std::net::TcpStream| {
            let mut l = Vec::new();
            let mut b = [0u8; 1];
            while !l.ends_with(b"\r\n") {
                if s.read(&mut b).expect("read") == 0 {
                    break;
                }
                l.push(b[0]);
            }
            String::from_utf8_lossy(&l).into_owned()
        };
        s.write_all(b"220 sink.test ESMTP\r\n").expect("write");
        let mut mail = String::new();
        loop {
            let cmd = line(&mut s);
            let verb = cmd.get(..4).unwrap_or_default().to_ascii_uppercase();
            match verb.as_str() {
                "EHLO" => s.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SIZE\r\n"),
                "MAIL" => {
                    mail = cmd.trim_end().to_string();
                    s.write_all(b"250 ok\r\n")
                }
                "RCPT" => s.write_all(b"250 ok\r\n"),
                "DATA" => break,
                _ => s.write_all(b"500 no\r\n"),
            }
            .expect("write");
        }
        s.write_all(b"354 go\r\n").expect("write");
        let mut buf = vec![0u8; 1024 * 1024];
        let mut tail: Vec<u8> = Vec::new();
        let mut wire_bytes = 0u64;
        loop {
            let n = s.read(&mut buf).expect("read data");
            assert!(n > 0, "the client closed inside the data");
            wire_bytes += n as u64;
            tail.extend_from_slice(&buf[n.saturating_sub(5)..n]);
            let keep = tail.len().saturating_sub(5);
            tail.drain(..keep);
            if tail.ends_with(b"\r\n.\r\n") {
                break;
            }
        }
        let peak_kib = vm_hwm(pid.load(Ordering::SeqCst));
        s.write_all(b"250 sunk\r\n").expect("write");
        let quit = line(&mut s);
        assert!(quit.starts_with("QUIT"), "{quit:?}");
        let _ = s.write_all(b"221 bye\r\n");
        Sunk {
            mail,
            wire_bytes,
            peak_kib,
        }
    });
    (port, handle)
}

#[test]
fn a_1_gib_message_file_streams_in_flat_memory() {
    const GIB: u64 = 1024 * 1024 * 1024;
    const BLOCKS: u64 = 1024;
    // One MiB: 4096 lines of 256 bytes, each ended by a bare LF; every
    // 64th starts with a dot.
    let mut block = Vec::with_capacity(1024 * 1024);
    for i in 0..4096 {
        let first = if i % 64 == 0 { b'.' } else { b'x' };
        block.push(first);
        block.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, 254));
        block.push(b'\n');
    }
    let head = b"From: a@example.org\nTo: b@example.org\nSubject: 1 GiB\n\n";
    let dir = tempfile::Builder::new()
        .prefix("smtpsh-1gib-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("temp dir");
    let path = dir.path().join("big.eml");
    {
        let mut f = std::io::BufWriter::new(fs::File::create(&path).expect("create"));
        f.write_all(head).expect("write");
        for _ in 0..BLOCKS {
            f.write_all(&block).expect("write");
        }
        f.flush().expect("flush");
    }
    let file_len = fs::metadata(&path).expect("size").len();
    assert_eq!(file_len, head.len() as u64 + GIB);
    // Every LF becomes CRLF; the DATA writer adds a dot to 64 lines a
    // block, then `.` CRLF.
    let lines = 4 + 4096 * BLOCKS;
    let size = file_len + lines;
    let wire = size + 64 * BLOCKS + 3;

    let pid = Arc::new(AtomicU32::new(0));
    let (port, server) = sink(pid.clone());
    let mut cmd = smtpsh();
    // The envelope before `connect`, so that `send` says MAIL FROM (with SIZE).
    cmd.args(["-c", "from a@example.org", "-c", "to b@example.org"])
        .args(["-c", &format!("connect 127.0.0.1 {port}")])
        .args([
            "-c",
            &format!("send --message {}", quote(&path.display().to_string())),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run smtpsh");
    pid.store(child.id(), Ordering::SeqCst);
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_thread = thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_thread = thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > RUN {
            let _ = child.kill();
            panic!("smtpsh did not finish within {RUN:?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let text = out_thread.join().unwrap_or_default();
    let err = err_thread.join().unwrap_or_default();
    assert!(status.success(), "{text}\n{err}");
    let sunk = server.join().expect("sink");
    assert!(
        sunk.mail.contains(&format!(" SIZE={size}")),
        "SIZE is the size with CRLF line endings: {}",
        sunk.mail
    );
    assert_eq!(sunk.wire_bytes, wire, "the bytes on the wire");
    let peak = sunk.peak_kib.expect("a memory reading");
    eprintln!("smtpsh peak memory sending 1 GiB: {peak} KiB");
    assert!(
        peak < 64 * 1024,
        "smtpsh peaked at {peak} KiB for a 1 GiB message (bound 64 MiB)"
    );
    assert!(text.contains("message accepted for 1 recipient"), "{text}");
}
