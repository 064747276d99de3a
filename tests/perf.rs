//! What `send` does to go fast, checked for behaviour (nothing here is
//! timed; bench/run.sh measures): the exact SIZE (RFC 1870), PIPELINING
//! (RFC 2920) with each reply matched to its command, BDAT (RFC 3030),
//! SMTPUTF8 / BODY=8BITMIME, the streamed message byte-identical to
//! `save`, the progress bar only on a terminal, and the time line.
//!
//! The servers are the scripted fake (tests/support/fake.rs) and, where a
//! test must see how the bytes arrive (one read holding a whole pipelined
//! group, a BDAT chunk of exactly N bytes), a small raw server below.

#[path = "support/fake.rs"]
mod fake;
mod support;
use support::{path_str, stderr, stdout};

use fake::{FakeServer, Step, answer, expect, find, reply};
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::thread::{self, JoinHandle};
use std::time::Duration;
use support::{assert_exit, describe_output, quote, random_bytes, run_with_timeout, smtpsh};

const RUN: Duration = Duration::from_secs(90);

// ------------------------------------------------------------------ helpers

/// `smtpsh ARGS... -c CMD...`.
fn run_c(args: &[&str], commands: &[String]) -> Output {
    let mut cmd = smtpsh();
    cmd.args(args);
    for c in commands {
        cmd.arg("-c").arg(c);
    }
    run_with_timeout(cmd, RUN)
}

fn steps(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

/// A 220 greeting and an EHLO reply announcing `extensions`.
fn greet_with(extensions: &[&str]) -> Vec<Step> {
    let mut v = vec![
        reply("220 fake.test ESMTP ready"),
        expect("EHLO "),
        reply("250-fake.test hello"),
    ];
    for (i, e) in extensions.iter().enumerate() {
        let sep = if i + 1 == extensions.len() { ' ' } else { '-' };
        v.push(reply(&format!("250{sep}{e}")));
    }
    v
}

fn quit() -> Vec<Step> {
    answer("QUIT", "221 fake.test bye")
}

/// Undoes dot-stuffing and drops the final `.` line.
fn unstuff(wire: &[u8]) -> Vec<u8> {
    assert!(
        wire.ends_with(b"\r\n.\r\n") || wire == b".\r\n",
        "no final dot"
    );
    let body = &wire[..wire.len() - 3];
    let mut out = Vec::new();
    for line in body.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}

/// The `SIZE=` value on a MAIL FROM line.
fn size_param(mail: &str) -> u64 {
    mail.split_whitespace()
        .find_map(|w| w.strip_prefix("SIZE="))
        .unwrap_or_else(|| panic!("no SIZE= in {mail:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("bad SIZE= in {mail:?}"))
}

/// The indices in `lines` of the first line containing each needle, in
/// order; panics if one is missing or out of order.
fn assert_in_order(text: &str, needles: &[&str]) {
    let mut from = 0;
    for n in needles {
        match text[from..].find(n) {
            Some(i) => from += i + n.len(),
            None => panic!("{n:?} missing or out of order in:\n{text}"),
        }
    }
}

/// A draft with three attachments of awkward kinds: binary, text with
/// leading dots and bare CR/LF, a non-ASCII file name.
struct Files {
    _dir: tempfile::TempDir,
    bin: PathBuf,
    text: PathBuf,
    named: PathBuf,
    saved: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("data.bin");
    fs::write(&bin, random_bytes(300 * 1024 + 17, 11)).unwrap();
    let text = dir.path().join("notes.txt");
    fs::write(&text, ".leading dot\nbare cr\r.\r\n..two\r\nend").unwrap();
    let named = dir.path().join("résumé.pdf");
    fs::write(&named, random_bytes(57 * 3, 12)).unwrap();
    let saved = dir.path().join("saved.eml");
    Files {
        _dir: dir,
        bin,
        text,
        named,
        saved,
    }
}

/// The draft commands for [`files`], then `save`.
fn draft_commands(f: &Files) -> Vec<String> {
    vec![
        "from alice@example.com".into(),
        "to bob@example.com".into(),
        "subject Streamed".into(),
        "body '.a line with a dot'".into(),
        format!("attach {}", quote(&path_str(&f.bin))),
        format!("attach {}", quote(&path_str(&f.text))),
        format!("attach {}", quote(&path_str(&f.named))),
        format!("save {}", quote(&path_str(&f.saved))),
    ]
}

// ------------------------------------------------------------ a raw server

/// The server side of one connection, raw: how the bytes arrive matters.
struct Raw {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Raw {
    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("server write");
    }
    /// One `read` call (after what is already pending).
    fn read_once(&mut self) -> Vec<u8> {
        if !self.pending.is_empty() {
            return std::mem::take(&mut self.pending);
        }
        let mut buf = vec![0u8; 64 * 1024];
        let n = self.stream.read(&mut buf).expect("server read");
        buf.truncate(n);
        buf
    }
    fn fill(&mut self) -> bool {
        let mut buf = [0u8; 64 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.pending.extend_from_slice(&buf[..n]);
                true
            }
        }
    }
    /// One line, CRLF included.
    fn line(&mut self) -> String {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=i).collect();
                return String::from_utf8_lossy(&line).into_owned();
            }
            assert!(self.fill(), "client closed while a line was expected");
        }
    }
    /// Exactly `n` bytes.
    fn exact(&mut self, n: usize) -> Vec<u8> {
        while self.pending.len() < n {
            assert!(self.fill(), "client closed inside a chunk");
        }
        self.pending.drain(..n).collect()
    }
    /// Message content up to and including the lone `.` line.
    fn data(&mut self) -> Vec<u8> {
        let mut data = Vec::new();
        loop {
            let line = self.line();
            data.extend_from_slice(line.as_bytes());
            if line == ".\r\n" {
                return data;
            }
        }
    }
    /// The 220 greeting, EHLO and its reply with `extensions`.
    fn greet(&mut self, extensions: &[&str]) {
        self.send(b"220 raw.test ESMTP\r\n");
        let ehlo = self.line();
        assert!(ehlo.starts_with("EHLO "), "{ehlo:?}");
        let mut r = String::from("250-raw.test\r\n");
        for (i, e) in extensions.iter().enumerate() {
            let sep = if i + 1 == extensions.len() { ' ' } else { '-' };
            r.push_str(&format!("250{sep}{e}\r\n"));
        }
        self.send(r.as_bytes());
    }
}

/// Starts a one-connection raw server running `script`; returns its port.
fn raw_server<T: Send + 'static>(
    script: impl FnOnce(&mut Raw) -> T + Send + 'static,
) -> (u16, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut raw = Raw {
            stream,
            pending: Vec::new(),
        };
        script(&mut raw)
    });
    (port, handle)
}

// ------------------------------------------------- SIZE and the bytes sent

#[test]
fn streamed_message_is_byte_identical_to_save_and_size_is_exact() {
    let f = files();
    let fake = FakeServer::start(steps(vec![
        greet_with(&["SIZE 50000000", "8BITMIME"]),
        answer("MAIL FROM:", "250 2.1.0 ok"),
        answer("RCPT TO:", "250 2.1.5 ok"),
        answer("DATA", "354 go ahead"),
        vec![Step::ReadData, reply("250 2.0.0 queued")],
        quit(),
    ]));
    let mut commands = draft_commands(&f);
    commands.push(format!("connect 127.0.0.1 {}", fake.port()));
    commands.push("send".into());
    let out = run_c(&[], &commands);
    let t = fake.finish();
    assert_exit(&out, 0, "send with three attachments");
    t.assert_script_done();
    let saved = fs::read(&f.saved).unwrap();
    let wire = &t.data[0];
    // The content on the wire, unstuffed, is exactly what `save` wrote.
    assert!(unstuff(wire) == saved, "send and save disagree");
    // RFC 1870: SIZE counts the message before dot-stuffing, CRLFs
    // included, without the final `.` line — the bytes of `save`.
    let mail = &t.commands[1];
    assert!(mail.starts_with("MAIL FROM:<alice@example.com>"), "{mail}");
    assert_eq!(size_param(mail), saved.len() as u64, "{mail}");
    assert!(
        !mail.contains("BODY=") && !mail.contains("SMTPUTF8"),
        "a 7-bit message needs neither: {mail}"
    );
    // The stuffing really happened (the body and the text file have dots).
    assert!(wire.len() > saved.len() + 3);
    assert!(find(wire, b"\r\n..a line with a dot\r\n").is_some());
    // The time line: bytes on the wire, seconds, rate.
    let text = stdout(&out);
    let line = text
        .lines()
        .find(|l| l.contains("on the wire in"))
        .unwrap_or_else(|| panic!("no time line:\n{text}"));
    assert!(
        line.starts_with("=== ") && line.contains(" KiB on the wire in ") && line.ends_with("/s)"),
        "{line}"
    );
    assert_in_order(
        &text,
        &["<-  250 2.0.0 queued", "message accepted", "on the wire in"],
    );
    // Not a terminal: no progress bar.
    assert!(!stderr(&out).contains("ETA"), "{}", describe_output(&out));
}

#[test]
fn over_the_size_limit_with_mail_typed_by_hand_stops_before_data() {
    let f = files();
    let fake = FakeServer::start(steps(vec![
        greet_with(&["SIZE 1000"]),
        answer("MAIL FROM:<alice@example.com>", "250 2.1.0 ok"),
        answer("RCPT TO:<bob@example.com>", "250 2.1.5 ok"),
        answer("RSET", "250 2.0.0 reset"),
        quit(),
    ]));
    let mut commands = vec![
        format!("connect 127.0.0.1 {}", fake.port()),
        "ehlo client.example".to_string(),
    ];
    commands.extend(draft_commands(&f));
    commands.push("send".into());
    commands.push("rset".into());
    commands.push("quit".into());
    let out = run_c(&["--keep-going"], &commands);
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 1, "a local refusal");
    assert!(!t.saw_command("DATA"), "{:?}", t.commands);
    let size = fs::metadata(&f.saved).unwrap().len();
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("(SIZE)"))
        .unwrap_or_else(|| panic!("{}", describe_output(&out)));
    assert!(
        line.contains(&format!("({size} bytes)")) && line.contains("at most 1000 bytes"),
        "both sizes named: {line}"
    );
    assert!(err.contains("DATA was not sent"), "{err}");
    assert!(err.contains("`rset`"), "{err}");
}

#[test]
fn over_the_size_limit_stops_before_mail() {
    let f = files();
    let fake = FakeServer::start(steps(vec![greet_with(&["SIZE 1000"]), quit()]));
    let mut commands = draft_commands(&f);
    commands.push(format!("connect 127.0.0.1 {}", fake.port()));
    commands.push("send".into());
    let out = run_c(&[], &commands);
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 1, "refused locally");
    assert!(!t.saw_command("MAIL"), "{:?}", t.commands);
    assert!(
        stderr(&out).contains("nothing was sent"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------- PIPELINING

#[test]
fn pipelined_group_goes_out_in_one_write_and_replies_pair_in_order() {
    let (port, server) = raw_server(|r| {
        r.greet(&["PIPELINING", "SIZE 50000000"]);
        // One read holds the whole group: MAIL, every RCPT, DATA last.
        let group = r.read_once();
        // All four replies in one segment.
        r.send(b"250 2.1.0 sender ok\r\n250 2.1.5 good ok\r\n550 5.1.1 gone\r\n354 go ahead\r\n");
        let data = r.data();
        r.send(b"250 2.0.0 queued\r\n");
        let quit = r.line();
        r.send(b"221 bye\r\n");
        (String::from_utf8_lossy(&group).into_owned(), data, quit)
    });
    let out = run_c(
        &[],
        &[
            "from alice@example.com".into(),
            "to good@example.com gone@example.com".into(),
            "body pipelined".into(),
            format!("connect 127.0.0.1 {port}"),
            "send".into(),
        ],
    );
    let (group, data, quit) = server.join().expect("server");
    assert_exit(&out, 0, "one of two recipients accepted");
    let mail_line = group.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        group,
        format!(
            "{mail_line}\r\nRCPT TO:<good@example.com>\r\nRCPT TO:<gone@example.com>\r\nDATA\r\n"
        ),
        "the whole group in one read"
    );
    assert!(mail_line.starts_with("MAIL FROM:<alice@example.com> SIZE="));
    assert_eq!(size_param(&mail_line), unstuff(&data).len() as u64);
    assert_eq!(quit, "QUIT\r\n");
    // The transcript shows each command followed by its own reply.
    let text = stdout(&out);
    assert_in_order(
        &text,
        &[
            " -> MAIL FROM:<alice@example.com>",
            "<-  250 2.1.0 sender ok",
            " -> RCPT TO:<good@example.com>",
            "<-  250 2.1.5 good ok",
            " -> RCPT TO:<gone@example.com>",
            "<-  550 5.1.1 gone",
            " -> DATA",
            "<-  354 go ahead",
            " -> [message content:",
            "<-  250 2.0.0 queued",
        ],
    );
    let warn = stderr(&out);
    assert!(
        warn.contains("rejected: gone@example.com (550)"),
        "{}",
        describe_output(&out)
    );
}

/// The fake server reads the whole group before answering, so a client
/// that waited for each reply would stall (and time out after 10 s).
fn pipelined_fake(replies: &str, after: Vec<Step>) -> FakeServer {
    FakeServer::start(steps(vec![
        greet_with(&["PIPELINING", "8BITMIME"]),
        vec![
            expect("MAIL FROM:<alice@example.com>"),
            expect("RCPT TO:<gone@example.com>"),
            expect("RCPT TO:<away@example.com>"),
            expect("DATA"),
            Step::Send(replies.as_bytes().to_vec()),
        ],
        after,
    ]))
}

fn pipelined_send(fake: &FakeServer) -> Output {
    run_c(
        &[],
        &[
            "set timeout 10".into(),
            "from alice@example.com".into(),
            "to gone@example.com away@example.com".into(),
            "body never sent".into(),
            format!("connect 127.0.0.1 {}", fake.port()),
            "send".into(),
        ],
    )
}

#[test]
fn pipelined_no_recipient_accepted_and_data_refused_sends_nothing() {
    let fake = pipelined_fake(
        "250 ok\r\n550 5.1.1 gone\r\n550 5.1.1 away\r\n554 5.5.1 no valid recipients\r\n",
        quit(),
    );
    let out = pipelined_send(&fake);
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 4, "refused by the server");
    let err = stderr(&out);
    assert!(
        err.contains("no recipient was accepted (gone@example.com (550), away@example.com (550))"),
        "{err}"
    );
    assert!(err.contains("DATA: 554"), "{err}");
    assert!(!t.received_contains(b"never sent"), "{}", t.received_text());
}

#[test]
fn pipelined_354_without_any_recipient_closes_without_content() {
    // RFC 2920 §3.1: a server may answer the pipelined DATA with 354 even
    // though it refused every recipient. smtpsh sends nothing and closes.
    let fake = pipelined_fake(
        "250 ok\r\n550 5.1.1 gone\r\n550 5.1.1 away\r\n354 go ahead anyway\r\n",
        vec![Step::Hold],
    );
    let out = pipelined_send(&fake);
    let t = fake.finish();
    assert_exit(&out, 4, "refused by the server");
    assert!(
        t.received.ends_with(b"DATA\r\n"),
        "nothing after DATA: {:?}",
        t.received_text()
    );
    let err = stderr(&out);
    assert!(
        err.contains("connection was closed without sending"),
        "{err}"
    );
}

#[test]
fn pipelined_mail_refused_reads_every_reply_then_stops() {
    let fake = pipelined_fake(
        "550 5.7.1 sender refused\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need RCPT\r\n",
        quit(),
    );
    let out = pipelined_send(&fake);
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 4, "sender refused");
    let err = stderr(&out);
    assert!(
        err.contains("the server refused the sender (MAIL FROM) (550)"),
        "{err}"
    );
    // Every reply was read and shown after its command.
    assert_in_order(
        &stdout(&out),
        &[
            " -> MAIL FROM:",
            "<-  550 5.7.1",
            " -> RCPT TO:<gone@",
            "<-  503",
            " -> RCPT TO:<away@",
            "<-  503",
            " -> DATA",
            "<-  503 5.5.1 need RCPT",
        ],
    );
}

#[test]
fn pipelined_421_stops_at_once() {
    let fake = pipelined_fake("250 ok\r\n421 4.3.2 shutting down\r\n", vec![Step::Close]);
    let out = pipelined_send(&fake);
    fake.finish();
    assert_exit(&out, 4, "421");
    let err = stderr(&out);
    assert!(err.contains("closed the connection (421)"), "{err}");
    assert!(
        err.contains("the recipient gone@example.com (421)"),
        "{err}"
    );
}

#[test]
fn a_small_message_and_its_final_dot_go_out_in_one_write() {
    // No Nagle or delayed-ACK stall: the content is not flushed before the
    // end-of-data mark, so the server gets both in one segment.
    let (port, server) = raw_server(|r| {
        r.greet(&["8BITMIME"]);
        for _ in 0..3 {
            let l = r.line();
            r.send(if l.starts_with("DATA") {
                b"354 go\r\n".as_slice()
            } else {
                b"250 ok\r\n"
            });
        }
        let first = r.read_once();
        r.send(b"250 2.0.0 queued\r\n");
        let _ = r.line();
        r.send(b"221 bye\r\n");
        first
    });
    let out = run_c(
        &[],
        &[
            "from alice@example.com".into(),
            "to bob@example.com".into(),
            "subject tiny".into(),
            "body hello".into(),
            format!("connect 127.0.0.1 {port}"),
            "send".into(),
        ],
    );
    let first = server.join().expect("server");
    assert_exit(&out, 0, "tiny message");
    let text = String::from_utf8_lossy(&first);
    assert!(
        text.contains("Subject: tiny\r\n") && text.ends_with("\r\nhello\r\n.\r\n"),
        "the first read after 354 holds the whole message and the dot: {text:?}"
    );
}

// ---------------------------------------------------------------- BDAT

#[test]
fn bdat_sends_one_exact_chunk_after_the_pipelined_envelope() {
    let f = files();
    let (port, server) = raw_server(|r| {
        r.greet(&["PIPELINING", "SIZE 50000000", "CHUNKING"]);
        // With BDAT the group is MAIL and RCPT only.
        let group = String::from_utf8_lossy(&r.read_once()).into_owned();
        r.send(b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n");
        let bdat = r.line();
        let n: usize = bdat
            .strip_prefix("BDAT ")
            .and_then(|rest| rest.strip_suffix(" LAST\r\n"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not BDAT n LAST: {bdat:?}"));
        let chunk = r.exact(n);
        r.send(b"250 2.0.0 queued\r\n");
        let quit = r.line();
        r.send(b"221 bye\r\n");
        (group, chunk, quit)
    });
    let mut commands = vec!["set transfer bdat".to_string()];
    commands.extend(draft_commands(&f));
    commands.push(format!("connect 127.0.0.1 {port}"));
    commands.push("send".into());
    let out = run_c(&[], &commands);
    let (group, chunk, quit) = server.join().expect("server");
    assert_exit(&out, 0, "BDAT");
    let saved = fs::read(&f.saved).unwrap();
    // No dot-stuffing, no terminator: the chunk is the message.
    assert!(chunk == saved, "the chunk differs from `save`");
    let mail = group.lines().next().unwrap_or_default();
    assert_eq!(size_param(mail), saved.len() as u64);
    assert_eq!(
        group,
        format!("{mail}\r\nRCPT TO:<bob@example.com>\r\n"),
        "MAIL and RCPT in one write, no DATA"
    );
    assert_eq!(quit, "QUIT\r\n", "nothing between the chunk and QUIT");
    let text = stdout(&out);
    assert_in_order(
        &text,
        &[
            &format!(" -> BDAT {} LAST", saved.len()),
            "as the BDAT chunk",
            "<-  250 2.0.0 queued",
            "message accepted",
        ],
    );
    assert!(!text.contains(" -> DATA"), "{text}");
}

#[test]
fn bdat_without_chunking_is_refused_before_mail() {
    let fake = FakeServer::start(steps(vec![greet_with(&["PIPELINING", "SIZE"]), quit()]));
    let out = run_c(
        &[],
        &[
            "set transfer bdat".into(),
            "from alice@example.com".into(),
            "to bob@example.com".into(),
            "body hi".into(),
            format!("connect 127.0.0.1 {}", fake.port()),
            "send".into(),
        ],
    );
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 1, "a local refusal");
    assert!(!t.saw_command("MAIL"), "{:?}", t.commands);
    assert!(
        stderr(&out).contains("does not offer CHUNKING"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn set_transfer_is_listed_and_checked() {
    let out = run_c(
        &["--keep-going"],
        &[
            "set transfer bdat".into(),
            "set".into(),
            "set transfer fast".into(),
        ],
    );
    assert_exit(&out, 1, "a bad value");
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.starts_with("transfer ") && l.trim_end().ends_with(" bdat")),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("'fast' is not auto, data or bdat"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------- SMTPUTF8, 8BITMIME

#[test]
fn utf8_recipient_gets_smtputf8_and_body_8bitmime() {
    let fake = FakeServer::start(steps(vec![
        greet_with(&["8BITMIME", "SMTPUTF8", "SIZE"]),
        answer("MAIL FROM:", "250 ok"),
        answer("RCPT TO:", "250 ok"),
        answer("DATA", "354 go"),
        vec![Step::ReadData, reply("250 queued")],
        quit(),
    ]));
    let out = run_c(
        &[],
        &[
            "from alice@example.com".into(),
            "to jörg@example.com".into(),
            "body hallo".into(),
            format!("connect 127.0.0.1 {}", fake.port()),
            "send".into(),
        ],
    );
    let t = fake.finish();
    assert_exit(&out, 0, "UTF-8 recipient");
    t.assert_script_done();
    let mail = &t.commands[1];
    let words: Vec<&str> = mail.split_whitespace().collect();
    assert!(words.contains(&"SMTPUTF8"), "{mail}");
    assert!(words.contains(&"BODY=8BITMIME"), "{mail}");
    assert_eq!(size_param(mail), unstuff(&t.data[0]).len() as u64);
}

#[test]
fn utf8_recipient_without_smtputf8_is_refused_before_mail() {
    let fake = FakeServer::start(steps(vec![greet_with(&["8BITMIME", "SIZE"]), quit()]));
    let out = run_c(
        &[],
        &[
            "from alice@example.com".into(),
            "to jörg@example.com".into(),
            "body hallo".into(),
            format!("connect 127.0.0.1 {}", fake.port()),
            "send".into(),
        ],
    );
    let t = fake.finish();
    t.assert_script_done();
    assert_exit(&out, 1, "refused locally");
    assert!(!t.saw_command("MAIL"), "{:?}", t.commands);
    assert!(stderr(&out).contains("SMTPUTF8"), "{}", stderr(&out));
}

// ---------------------------------------------------------- progress bar

/// A server that lets the upload stall for 1.5 s (so it takes more than a
/// second), then takes it all.
fn slow_server() -> (u16, JoinHandle<usize>) {
    raw_server(|r| {
        r.greet(&["8BITMIME"]);
        for _ in 0..3 {
            let l = r.line();
            r.send(if l.starts_with("DATA") {
                b"354 go\r\n".as_slice()
            } else {
                b"250 ok\r\n"
            });
        }
        thread::sleep(Duration::from_millis(1500));
        let n = r.data().len();
        r.send(b"250 2.0.0 queued\r\n");
        let _ = r.line();
        r.send(b"221 bye\r\n");
        n
    })
}

fn slow_script(dir: &Path, port: u16) -> PathBuf {
    let big = dir.join("big.bin");
    fs::write(&big, random_bytes(24 * 1024 * 1024, 3)).unwrap();
    let script = dir.join("slow.smtp");
    fs::write(
        &script,
        format!(
            "set timeout 20\nfrom alice@example.com\nto bob@example.com\nattach {}\nconnect 127.0.0.1 {port}\nsend\n",
            quote(&path_str(&big))
        ),
    )
    .unwrap();
    script
}

#[test]
fn a_slow_upload_shows_a_progress_bar_on_a_terminal_and_erases_it() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = slow_server();
    let script = slow_script(dir.path(), port);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.arg("--no-history")
        .arg("-f")
        .arg(&script)
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm-256color");
    let text = shown_until_exit(cmd);
    let received = server.join().expect("server");
    assert!(received > 24 * 1024 * 1024, "{received}");
    let bar = text
        .find("/s  ETA ")
        .unwrap_or_else(|| panic!("no progress bar on the terminal:\n{text:?}"));
    assert!(text[..bar].contains(" / 32."), "total shown: {text:?}");
    // Erased (carriage return, erase line) before the content line and
    // the server's reply are printed.
    let erase = text[bar..]
        .find("\r\x1b[K")
        .map(|i| i + bar)
        .unwrap_or_else(|| panic!("the bar is never erased: {text:?}"));
    let content = text
        .find("[message content:")
        .unwrap_or_else(|| panic!("{text:?}"));
    assert!(erase < content, "{text:?}");
    assert!(
        !text[erase..].contains("ETA"),
        "no bar after it is erased: {text:?}"
    );
}

/// Everything the terminal shows while `cmd` runs in a pty, until it
/// exits (reading the pty then fails with EIO, or gives 0).
fn shown_until_exit(cmd: std::process::Command) -> String {
    use std::io::Read;
    let mut s = expectrl::Session::spawn(cmd).expect("spawn smtpsh in a pty");
    let mut shown = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => shown.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&shown).into_owned()
}

#[test]
fn at_60_columns_the_bar_fits_so_no_frame_leaves_a_fragment() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = slow_server();
    let script = slow_script(dir.path(), port);
    // The terminal is 60 columns wide before smtpsh starts.
    let mut cmd = std::process::Command::new("sh");
    cmd.args([
        "-c",
        "stty cols 60 rows 24 && exec \"$0\" --no-history -f \"$1\"",
    ])
    .arg(env!("CARGO_BIN_EXE_smtpsh"))
    .arg(&script)
    .env("HOME", dir.path())
    .env("NO_COLOR", "1")
    .env("TERM", "xterm-256color");
    let text = shown_until_exit(cmd);
    server.join().expect("server");
    // Each frame is `\r`, the bar, erase to the end of the line: one that
    // is narrower than the terminal never wraps, so the next `\r` goes
    // back to its start and nothing of it stays behind.
    let frames: Vec<&str> = text
        .split('\r')
        .filter_map(|f| f.strip_suffix("\x1b[K"))
        .filter(|f| f.contains('%'))
        .collect();
    assert!(!frames.is_empty(), "no progress bar: {text:?}");
    for f in &frames {
        assert!(
            f.chars().count() < 60,
            "a frame wider than 60 columns: {f:?}"
        );
    }
    assert!(
        frames
            .iter()
            .any(|f| f.contains(" / 32.") && f.contains("ETA")),
        "{frames:?}"
    );
    // Erased before the content line, and never drawn after.
    let content = text.find("[message content:").expect("content line");
    assert!(!text[content..].contains("ETA"), "{text:?}");
}

#[test]
fn a_slow_upload_shows_no_bar_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (port, server) = slow_server();
    let script = slow_script(dir.path(), port);
    let mut cmd = smtpsh();
    cmd.arg("-f").arg(&script);
    let out = run_with_timeout(cmd, RUN);
    server.join().expect("server");
    assert_exit(&out, 0, "slow upload");
    assert!(!stderr(&out).contains("ETA"), "{}", describe_output(&out));
    assert!(!stderr(&out).contains('\x1b'), "{}", describe_output(&out));
}
