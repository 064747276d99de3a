//! The connection layer against scripted servers on 127.0.0.1.

use super::error::into_io;
use super::timeout::human_duration;
use super::*;
use crate::smtp::dotstuff::stuff;
use crate::smtp::reply::ReplyError;
use std::io::{BufRead, BufReader};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

/// Records the transcript as strings.
#[derive(Default)]
struct Log(Vec<String>);

impl Observer for Log {
    fn event(&mut self, event: Event<'_>) {
        self.0.push(match event {
            Event::Sent { line, secure } => format!("C{}: {line}", tls(secure)),
            Event::Received {
                reply,
                secure,
                recipient,
            } => {
                let lines = reply.wire_lines().join(" | ");
                match recipient {
                    Some(r) => format!("S{}: {lines} [for {r}]", tls(secure)),
                    None => format!("S{}: {lines}", tls(secure)),
                }
            }
            Event::DataSent {
                bytes,
                secure,
                bdat,
            } => format!(
                "{}{}: {bytes}",
                if bdat { "BDAT" } else { "DATA" },
                tls(secure)
            ),
            Event::Notice(text) => format!("NOTE: {text}"),
            Event::Waiting { what } => format!("WAITING: {what}"),
        });
    }
}

fn tls(secure: bool) -> &'static str {
    if secure { "+tls" } else { "" }
}

impl Log {
    fn notices(&self) -> usize {
        self.0.iter().filter(|l| l.starts_with("NOTE:")).count()
    }
}

fn opts(ms: u64) -> ConnectOptions {
    ConnectOptions {
        timeout: Some(Duration::from_millis(ms)),
        interrupt: Arc::new(AtomicBool::new(false)),
        net: Default::default(),
    }
}

/// The server side of a test: a buffered reader plus the raw stream.
struct Peer {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Peer {
    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("server write");
    }
    fn line(&mut self) -> String {
        let mut line = Vec::new();
        self.reader
            .read_until(b'\n', &mut line)
            .expect("server read");
        String::from_utf8_lossy(&line).into_owned()
    }
    /// Reads until the client closes (or 20 s pass), returning the bytes.
    fn until_eof(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        let _ = self.reader.read_to_end(&mut all);
        all
    }
}

/// Starts a one-connection fake server running `script`; returns its port.
fn server<T: Send + 'static>(
    script: impl FnOnce(Peer) -> T + Send + 'static,
) -> (u16, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let reader = BufReader::new(stream.try_clone().expect("clone"));
        script(Peer { reader, stream })
    });
    (port, handle)
}

fn open(port: u16, options: ConnectOptions, log: &mut Log) -> (Connection, Reply) {
    Connection::open("127.0.0.1", port, options, log).expect("connect")
}

#[test]
fn greeting_and_command_round_trip() {
    let (port, server) = server(|mut p| {
        p.send(b"220 fake.example ESMTP\r\n");
        let ehlo = p.line();
        p.send(b"250-fake.example\r\n250-SIZE 100\r\n250 8BITMIME\r\n");
        let quit = p.line();
        p.send(b"221 2.0.0 bye\r\n");
        (ehlo, quit)
    });
    let mut log = Log::default();
    let (mut conn, greeting) = open(port, opts(5000), &mut log);
    assert_eq!(greeting.code, 220);
    assert_eq!(conn.host(), "127.0.0.1");
    assert_eq!(conn.peer().map(|p| p.port()), Some(port));
    assert!(conn.local().is_some_and(|l| l.ip().is_loopback()));
    assert!(!conn.is_secure() && !conn.is_broken());
    let ehlo = Command::ehlo("client.example").expect("valid");
    let reply = conn.command(&ehlo, &mut log).expect("reply");
    assert_eq!(reply.lines, vec!["fake.example", "SIZE 100", "8BITMIME"]);
    let reply = conn.command(&Command::quit(), &mut log).expect("reply");
    assert_eq!(reply.code, 221);
    assert_eq!(
        reply.enhanced.map(|e| e.to_string()).as_deref(),
        Some("2.0.0")
    );
    let (got_ehlo, got_quit) = server.join().expect("server");
    assert_eq!(got_ehlo, "EHLO client.example\r\n");
    assert_eq!(got_quit, "QUIT\r\n");
    assert_eq!(
        log.0,
        vec![
            "S: 220 fake.example ESMTP",
            "C: EHLO client.example",
            "S: 250-fake.example | 250-SIZE 100 | 250 8BITMIME",
            "C: QUIT",
            "S: 221 2.0.0 bye",
        ]
    );
}

#[test]
fn host_forms_and_address_fallback() {
    // "localhost" may resolve to ::1 first; every address is tried.
    for host in ["localhost", "[127.0.0.1]", "127.0.0.1"] {
        let (port, server) = server(|mut p| p.send(b"220 hi\r\n"));
        let mut log = Log::default();
        let (conn, greeting) = Connection::open(host, port, opts(5000), &mut log).expect(host);
        assert_eq!(greeting.code, 220);
        assert_eq!(conn.host(), host);
        server.join().expect("server");
    }
    // IPv6, with and without brackets, where the host has it.
    if let Ok(listener) = TcpListener::bind("[::1]:0") {
        let port = listener.local_addr().expect("addr").port();
        let server = thread::spawn(move || {
            for _ in 0..2 {
                let (mut s, _) = listener.accept().expect("accept");
                s.write_all(b"220 v6\r\n").expect("write");
            }
        });
        for host in ["::1", "[::1]"] {
            let mut log = Log::default();
            let (conn, greeting) = Connection::open(host, port, opts(5000), &mut log).expect(host);
            assert_eq!(greeting.text(), "v6");
            assert!(conn.peer().is_some_and(|p| p.is_ipv6()));
        }
        server.join().expect("server");
    }
}

#[test]
fn refused_connection() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut log = Log::default();
    let err = Connection::open("127.0.0.1", port, opts(2000), &mut log)
        .err()
        .expect("nothing listens");
    assert!(matches!(err, ConnError::Connect { ref source, .. }
        if source.kind() == io::ErrorKind::ConnectionRefused));
    assert_eq!(
        err.to_string(),
        format!(
            "connection refused by 127.0.0.1:{port} — is a server listening there? check host and port"
        )
    );
}

#[test]
fn unresolvable_host() {
    let mut log = Log::default();
    for host in ["no-such-host.invalid", "", "[]"] {
        let err = Connection::open(host, 25, opts(3000), &mut log)
            .err()
            .expect("cannot resolve");
        assert!(matches!(err, ConnError::Resolve { .. }), "{host}: {err:?}");
        assert!(
            err.to_string().starts_with("could not find the host"),
            "{err}"
        );
    }
}

#[test]
fn server_closes_before_greeting() {
    let (port, server) = server(drop);
    let mut log = Log::default();
    let err = Connection::open("127.0.0.1", port, opts(5000), &mut log)
        .err()
        .expect("closed");
    server.join().expect("server");
    assert_eq!(
        err.to_string(),
        "the server closed the connection while waiting for the greeting"
    );
}

#[test]
fn server_closes_mid_reply() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        p.line();
        p.send(b"250-partial\r\n250-still going");
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    let err = conn
        .command(&Command::noop(), &mut log)
        .expect_err("closed");
    server.join().expect("server");
    match &err {
        ConnError::Closed { during } => assert_eq!(during, "waiting for the reply to NOOP"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "the server closed the connection while waiting for the reply to NOOP"
    );
    assert!(conn.is_broken());
    assert!(matches!(
        conn.command(&Command::quit(), &mut log),
        Err(ConnError::State(_))
    ));
    assert!(matches!(
        conn.read_reply("x", &mut log),
        Err(ConnError::State(_))
    ));
}

#[test]
fn silent_server_times_out_on_greeting() {
    let (port, server) = server(|mut p| p.until_eof());
    let mut log = Log::default();
    let err = Connection::open("127.0.0.1", port, opts(300), &mut log)
        .err()
        .expect("timeout");
    match &err {
        ConnError::Timeout { waiting_for, after } => {
            assert_eq!(waiting_for, "the greeting");
            assert_eq!(*after, Duration::from_millis(300));
        }
        other => panic!("{other:?}"),
    }
    // The client hung up: the server's read ends.
    assert!(server.join().expect("server").is_empty());
}

#[test]
fn stalled_reply_times_out_and_breaks_the_connection() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        p.until_eof()
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(300), &mut log);
    let mail = Command::mail_from(None, &[]).expect("valid");
    let err = conn.command(&mail, &mut log).expect_err("timeout");
    assert!(
        matches!(&err, ConnError::Timeout { waiting_for, .. } if waiting_for == "the reply to MAIL"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "no reply from the server within 300 ms while waiting for the reply to MAIL \
         (raise it with `set timeout SECONDS`)"
    );
    assert!(conn.is_broken());
    assert_eq!(
        conn.conversation()
            .closed()
            .map(ToString::to_string)
            .as_deref(),
        Some(
            "the connection was closed: no reply from the server within 300 ms \
             while waiting for the reply to MAIL"
        )
    );
    assert!(matches!(
        conn.send(&Command::rset(), &mut log),
        Err(ConnError::State(_))
    ));
    assert_eq!(server.join().expect("server"), b"MAIL FROM:<>\r\n");
}

#[test]
fn timeout_counts_from_the_last_progress() {
    // A reply dripping in one byte at a time, slower overall than the
    // timeout (but well within REPLY_TIME_FACTOR times it) and never
    // silent for long, is still received.
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        p.line();
        for &b in b"250 slow but steady\r\n" {
            p.send(&[b]);
            thread::sleep(Duration::from_millis(30));
        }
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(400), &mut log);
    let reply = conn.command(&Command::noop(), &mut log).expect("progress");
    assert_eq!(reply.text(), "slow but steady");
    server.join().expect("server");
}

#[test]
fn interrupt_from_another_thread() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        p.until_eof()
    });
    let mut log = Log::default();
    let options = opts(30_000);
    let flag = options.interrupt.clone();
    let (mut conn, _) = open(port, options, &mut log);
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(150));
        flag.store(true, Ordering::SeqCst);
    });
    let err = conn
        .command(&Command::noop(), &mut log)
        .expect_err("interrupted");
    setter.join().expect("setter");
    assert!(matches!(err, ConnError::Interrupted), "{err:?}");
    assert_eq!(
        err.to_string(),
        "interrupted (Ctrl-C); the connection was closed"
    );
    assert!(conn.is_broken());
    // The conversation keeps the cause alone: what closing means is its own.
    assert_eq!(
        conn.conversation()
            .closed()
            .map(ToString::to_string)
            .as_deref(),
        Some("the connection was closed: interrupted (Ctrl-C)")
    );
    server.join().expect("server");
}

#[test]
fn interrupt_before_connecting() {
    let options = opts(30_000);
    options.interrupt.store(true, Ordering::SeqCst);
    let mut log = Log::default();
    // 192.0.2.1 (TEST-NET-1) never answers; the flag is already set.
    let err = Connection::open("192.0.2.1", 25, options, &mut log)
        .err()
        .expect("interrupted");
    assert!(matches!(err, ConnError::Interrupted), "{err:?}");
}

#[test]
fn garbage_is_a_protocol_error() {
    let (port, server) = server(|mut p| {
        p.send(b"abc hello\r\n");
        p.until_eof()
    });
    let mut log = Log::default();
    let err = Connection::open("127.0.0.1", port, opts(5000), &mut log)
        .err()
        .expect("malformed");
    assert!(
        matches!(&err, ConnError::Protocol(ReplyError::Malformed(l)) if l == "abc hello"),
        "{err:?}"
    );
    assert!(err.to_string().ends_with("; the connection was closed"));
    server.join().expect("server");
}

#[test]
fn bare_lf_is_noticed_once() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\n");
        p.line();
        p.send(b"250-a\n250 b\n");
        p.line();
        p.send(b"250 ok\r\n");
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    assert_eq!(
        conn.command(&Command::noop(), &mut log).expect("ok").code,
        250
    );
    assert_eq!(
        conn.command(&Command::noop(), &mut log).expect("ok").code,
        250
    );
    assert_eq!(log.notices(), 1, "{:?}", log.0);
    assert_eq!(log.0[0], format!("NOTE: {BARE_LF_NOTICE}"));
    server.join().expect("server");
}

#[test]
fn pipelined_replies_in_one_segment() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        let lines = [p.line(), p.line(), p.line()];
        p.send(b"250 2.1.0 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n");
        lines
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    let from = Address::parse("a@example.com").expect("valid");
    let to1 = Address::parse("nobody@example.com").expect("valid");
    let to2 = Address::parse("b@example.com").expect("valid");
    for c in [
        Command::mail_from(Some(&from), &[]).expect("valid"),
        Command::rcpt_to(&to1, &[]).expect("valid"),
        Command::rcpt_to(&to2, &[]).expect("valid"),
    ] {
        conn.send(&c, &mut log).expect("send");
    }
    let codes: Vec<u16> = (0..3)
        .map(|_| {
            conn.read_reply("a pipelined reply", &mut log)
                .expect("reply")
                .code
        })
        .collect();
    assert_eq!(codes, vec![250, 550, 250]);
    let lines = server.join().expect("server");
    assert_eq!(lines[0], "MAIL FROM:<a@example.com>\r\n");
    assert_eq!(lines[2], "RCPT TO:<b@example.com>\r\n");
}

use crate::address::Address;

/// Test content: every awkward case, big enough to need many blocks.
fn awkward_content(size: usize) -> Vec<u8> {
    let pieces: [&[u8]; 7] = [
        b".starts with a dot\n",
        b"normal line\r\n",
        b"..\r\n",
        b"bare cr\r.\r",
        b"\n.\n",
        b"\xff\x00 binary-ish \x7f",
        b"\r\n.\r\nQUIT\r\n",
    ];
    let mut out = Vec::with_capacity(size + 32);
    let mut i = 0usize;
    while out.len() < size {
        out.extend_from_slice(pieces[i % pieces.len()]);
        out.extend(std::iter::repeat_n(b'x', i % 97));
        i += 1;
    }
    out.extend_from_slice(b"no final newline.");
    out
}

/// Reads the DATA stream up to and including the terminator.
fn read_data(p: &mut Peer) -> Vec<u8> {
    let mut data = Vec::new();
    while !data.ends_with(b"\r\n.\r\n") {
        let mut chunk = Vec::new();
        let n = p.reader.read_until(b'\n', &mut chunk).expect("read data");
        assert!(n > 0, "client closed before the terminator");
        data.extend_from_slice(&chunk);
    }
    data
}

#[test]
fn data_is_streamed_byte_exact() {
    let content = awkward_content(3 * 1024 * 1024 + 17);
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        assert_eq!(p.line(), "DATA\r\n");
        p.send(b"354 go ahead\r\n");
        let data = read_data(&mut p);
        p.send(b"250 2.0.0 queued\r\n");
        data
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(10_000), &mut log);
    let reply = conn.command(&Command::data(), &mut log).expect("354");
    assert_eq!(reply.code, 354);
    let mut writer = conn.data_writer().expect("content is due");
    // Odd piece sizes: small ones, and ones larger than the block size.
    let mut rest = &content[..];
    let sizes = [1usize, 7, 1000, 70_001, 3, 65_536, 200_000];
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        writer.write_all(&rest[..n]).expect("write");
        rest = &rest[n..];
        i += 1;
    }
    assert_eq!(writer.bytes_in(), content.len() as u64);
    let sent = writer.finish(&mut log).expect("finish");
    let reply = conn
        .read_reply("the reply to the end of data", &mut log)
        .expect("250");
    assert_eq!(reply.code, 250);
    let expected = stuff(&content);
    let received = server.join().expect("server");
    assert_eq!(sent, expected.len() as u64);
    assert_eq!(received.len(), expected.len());
    assert!(
        received == expected,
        "bytes on the wire differ from stuff(content)"
    );
    assert!(log.0.contains(&format!("DATA: {sent}")), "{:?}", log.0);
    assert!(!conn.is_broken());
}

#[test]
fn empty_data_is_just_the_dot() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n354 go\r\n");
        assert_eq!(p.line(), "DATA\r\n");
        let data = read_data_or_dot(&mut p);
        p.send(b"250 ok\r\n");
        data
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    assert_eq!(
        conn.command(&Command::data(), &mut log).expect("354").code,
        354
    );
    let sent = conn
        .data_writer()
        .expect("content is due")
        .finish(&mut log)
        .expect("finish");
    assert_eq!(sent, 3);
    assert_eq!(conn.read_reply("250", &mut log).expect("250").code, 250);
    assert_eq!(server.join().expect("server"), b".\r\n");
}

fn read_data_or_dot(p: &mut Peer) -> Vec<u8> {
    let first = p.line();
    if first == ".\r\n" {
        return first.into_bytes();
    }
    let mut data = first.into_bytes();
    data.extend(read_data(p));
    data
}

#[test]
fn dropped_data_writer_never_sends_the_dot() {
    let content = awkward_content(300 * 1024);
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n354 go\r\n");
        assert_eq!(p.line(), "DATA\r\n");
        p.until_eof()
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    conn.command(&Command::data(), &mut log).expect("354");
    {
        let mut writer = conn.data_writer().expect("content is due");
        writer.write_all(&content).expect("write");
        // Dropped without finish (say, the file read failed).
    }
    assert!(conn.is_broken());
    assert!(matches!(
        conn.send(&Command::noop(), &mut log),
        Err(ConnError::State(_))
    ));
    assert_eq!(conn.conversation().stage(), crate::smtp::Stage::Closed);
    let received = server.join().expect("server");
    let full = stuff(&content);
    assert!(
        !received.is_empty(),
        "large content should be partly on the wire"
    );
    assert!(received.len() < full.len());
    assert!(
        full.starts_with(&received),
        "only a prefix of the content was sent"
    );
    assert!(!received.windows(5).any(|w| w == b"\r\n.\r\n"));
    assert!(!log.0.iter().any(|l| l.starts_with("DATA")));
}

#[test]
fn stalled_data_times_out() {
    let (done, wait) = mpsc::channel::<()>();
    let (port, server) = server(move |mut p| {
        p.send(b"220 hi\r\n354 go\r\n");
        assert_eq!(p.line(), "DATA\r\n");
        // Never read until the client gave up: its writes must block.
        let _ = wait.recv_timeout(Duration::from_secs(60));
        p.until_eof().len()
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(300), &mut log);
    conn.command(&Command::data(), &mut log).expect("354");
    let block = vec![b'a'; 1 << 20];
    let mut writer = conn.data_writer().expect("content is due");
    let mut err = None;
    for _ in 0..512 {
        if let Err(e) = writer.write_all(&block) {
            err = Some(e);
            break;
        }
    }
    let err = ConnError::from(err.expect("the writes must eventually time out"));
    assert!(
        matches!(&err, ConnError::Timeout { waiting_for, .. }
            if waiting_for == "the server to accept more message data"),
        "{err:?}"
    );
    // Later writes and finish fail at once.
    assert!(writer.write_all(b"more").is_err());
    assert!(matches!(writer.finish(&mut log), Err(ConnError::Broken)));
    assert!(conn.is_broken());
    drop(done);
    server.join().expect("server");
}

#[test]
fn interrupt_while_sending_data() {
    let (done, wait) = mpsc::channel::<()>();
    let (port, server) = server(move |mut p| {
        p.send(b"220 hi\r\n354 go\r\n");
        assert_eq!(p.line(), "DATA\r\n");
        let _ = wait.recv_timeout(Duration::from_secs(60));
        p.until_eof().len()
    });
    let mut log = Log::default();
    let options = opts(60_000);
    let flag = options.interrupt.clone();
    let (mut conn, _) = open(port, options, &mut log);
    conn.command(&Command::data(), &mut log).expect("354");
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(300));
        flag.store(true, Ordering::SeqCst);
    });
    let block = vec![b'a'; 1 << 20];
    let mut writer = conn.data_writer().expect("content is due");
    let mut err = None;
    for _ in 0..2048 {
        if let Err(e) = writer.write_all(&block) {
            err = Some(e);
            break;
        }
    }
    setter.join().expect("setter");
    drop(writer);
    let err = ConnError::from(err.expect("interrupted"));
    assert!(matches!(err, ConnError::Interrupted), "{err:?}");
    assert!(conn.is_broken());
    drop(done);
    server.join().expect("server");
}

#[test]
fn close_and_set_timeout() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        p.until_eof()
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    conn.set_timeout(Some(Duration::from_millis(200)));
    assert!(matches!(
        conn.read_reply("nothing", &mut log),
        Err(ConnError::Timeout { after, .. }) if after == Duration::from_millis(200)
    ));
    conn.close();
    assert!(conn.is_broken());
    assert!(server.join().expect("server").is_empty());
}

#[test]
fn io_error_round_trip_keeps_the_conn_error() {
    let e = into_io(ConnError::Timeout {
        waiting_for: "x".into(),
        after: Duration::from_secs(1),
    });
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert!(matches!(ConnError::from(e), ConnError::Timeout { .. }));
    assert!(matches!(
        ConnError::from(into_io(ConnError::Interrupted)),
        ConnError::Interrupted
    ));
    assert_ne!(
        into_io(ConnError::Interrupted).kind(),
        io::ErrorKind::Interrupted
    );
    assert!(matches!(
        ConnError::from(io::Error::other("disk on fire")),
        ConnError::Io(_)
    ));
}

#[test]
fn error_messages() {
    let addr: SocketAddr = "127.0.0.1:2525".parse().expect("addr");
    let refused = ConnError::Connect {
        addr,
        source: io::Error::from(io::ErrorKind::ConnectionRefused),
    };
    assert_eq!(
        refused.to_string(),
        "connection refused by 127.0.0.1:2525 — is a server listening there? check host and port"
    );
    let timed_out = ConnError::Connect {
        addr: "[::1]:25".parse().expect("addr"),
        source: io::Error::from(io::ErrorKind::TimedOut),
    };
    assert!(
        timed_out
            .to_string()
            .starts_with("no answer from [::1]:25 while connecting")
    );
    assert_eq!(
        ConnError::Timeout {
            waiting_for: "the reply to MAIL".into(),
            after: Duration::from_secs(30)
        }
        .to_string(),
        "no reply from the server within 30 s while waiting for the reply to MAIL \
         (raise it with `set timeout SECONDS`)"
    );
    assert_eq!(
        ConnError::Closed {
            during: "waiting for the greeting".into()
        }
        .to_string(),
        "the server closed the connection while waiting for the greeting"
    );
    assert_eq!(
        ConnError::Interrupted.to_string(),
        "interrupted (Ctrl-C); the connection was closed"
    );
    assert_eq!(
        ConnError::Protocol(ReplyError::LineTooLong { limit: 65536 }).to_string(),
        "the server sent a reply line longer than 65536 bytes; the connection was closed"
    );
    assert!(ConnError::Broken.to_string().contains("connect again"));
    assert!(
        ConnError::Io(io::Error::other("boom"))
            .to_string()
            .contains("boom")
    );
    for e in [refused, timed_out, ConnError::Broken] {
        assert!(!e.to_string().contains('\n'));
    }
}

#[test]
fn durations_read_well() {
    assert_eq!(human_duration(Duration::from_secs(30)), "30 s");
    assert_eq!(human_duration(Duration::from_millis(300)), "300 ms");
    assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
    assert_eq!(human_duration(Duration::ZERO), "0 ms");
    assert_eq!(human_duration(Duration::from_secs(300)), "5 min");
    assert_eq!(human_duration(Duration::from_secs(90)), "90 s");
}

#[test]
fn phase_defaults_follow_rfc_5321() {
    use TimeoutPhase::*;
    let min = |m: u64| Duration::from_secs(m * 60);
    for (phase, want) in [
        (Greeting, min(5)),
        (Mail, min(5)),
        (Rcpt, min(5)),
        (DataInit, min(2)),
        (DataBlock, min(3)),
        (DataEnd, min(10)),
        (Command, min(5)),
        (Connect, Duration::from_secs(30)),
    ] {
        assert_eq!(phase.default_timeout(), want, "{phase:?}");
        assert_eq!(phase.timeout(None), want, "{phase:?}");
        // `set timeout` replaces every default.
        assert_eq!(
            phase.timeout(Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }
    use crate::smtp::Verb;
    assert_eq!(TimeoutPhase::for_verb(Verb::Mail), Mail);
    assert_eq!(TimeoutPhase::for_verb(Verb::Rcpt), Rcpt);
    assert_eq!(TimeoutPhase::for_verb(Verb::Data), DataInit);
    assert_eq!(TimeoutPhase::for_verb(Verb::Bdat), DataEnd);
    for verb in [
        Verb::Ehlo,
        Verb::Helo,
        Verb::Noop,
        Verb::Rset,
        Verb::Quit,
        Verb::StartTls,
        Verb::Auth,
        Verb::Other,
    ] {
        assert_eq!(TimeoutPhase::for_verb(verb), Command, "{verb:?}");
    }
    assert_eq!(TimeoutPhase::for_pending(None), Command);
}

#[test]
fn each_reply_gets_the_phase_of_its_command() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        let lines = [p.line(), p.line(), p.line()];
        p.send(b"250 ok\r\n250 ok\r\n354 go\r\n");
        let data = read_data_or_dot(&mut p);
        p.send(b"250 queued\r\n");
        (lines, data)
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    let phases = |c: &Connection| TimeoutPhase::for_pending(c.conversation().next_pending());
    assert_eq!(conn.conversation().pending_count(), 0);
    let from = Address::parse("a@example.com").expect("valid");
    conn.send(
        &Command::mail_from(Some(&from), &[]).expect("valid"),
        &mut log,
    )
    .expect("send");
    conn.send(&Command::rcpt_to(&from, &[]).expect("valid"), &mut log)
        .expect("send");
    conn.send(&Command::data(), &mut log).expect("send");
    use TimeoutPhase::{Command as Other, DataEnd, DataInit, Mail, Rcpt};
    assert_eq!(conn.conversation().pending_count(), 3);
    assert_eq!(phases(&conn), Mail);
    conn.read_reply("MAIL", &mut log).expect("250");
    assert_eq!(phases(&conn), Rcpt);
    conn.read_reply("RCPT", &mut log).expect("250");
    assert_eq!(phases(&conn), DataInit);
    assert_eq!(conn.read_reply("DATA", &mut log).expect("354").code, 354);
    assert_eq!(phases(&conn), Other);
    conn.data_writer()
        .expect("content is due")
        .finish(&mut log)
        .expect("dot");
    assert_eq!(phases(&conn), DataEnd);
    assert_eq!(conn.read_reply("end", &mut log).expect("250").code, 250);
    let (lines, data) = server.join().expect("server");
    assert_eq!(lines[2], "DATA\r\n");
    assert_eq!(data, b".\r\n");
}

#[test]
fn a_reply_that_trickles_forever_is_abandoned() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        p.line();
        p.send(b"250 ");
        // One byte every 10 ms: always progress, never an end.
        for _ in 0..60_000 {
            if p.stream.write_all(b"x").is_err() {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(300), &mut log);
    let err = conn
        .command(&Command::noop(), &mut log)
        .expect_err("abandoned");
    match &err {
        ConnError::TooSlow { waiting_for, after } => {
            assert_eq!(waiting_for, "the reply to NOOP");
            assert_eq!(*after, Duration::from_millis(300) * REPLY_TIME_FACTOR);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().starts_with(
            "the server kept sending the reply to NOOP a few bytes at a time and had not finished it after 1.2 s"
        ),
        "{err}"
    );
    assert!(conn.is_broken());
    server.join().expect("server");
}

#[test]
fn a_batch_is_one_write_and_each_reply_follows_its_command() {
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        // One read holds the whole group.
        let group = String::from_utf8_lossy(p.reader.fill_buf().expect("read")).into_owned();
        let n = group.len();
        p.reader.consume(n);
        p.send(b"250 2.1.0 ok\r\n550 5.1.1 no\r\n250 2.1.5 ok\r\n354 go\r\n");
        group
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    let from = Address::parse("a@example.com").expect("valid");
    let commands = [
        Command::mail_from(Some(&from), &[]).expect("valid"),
        Command::rcpt_to(&Address::parse("x@example.com").expect("valid"), &[]).expect("valid"),
        Command::rcpt_to(&Address::parse("y@example.com").expect("valid"), &[]).expect("valid"),
        Command::data(),
    ];
    conn.send_batch(&commands).expect("batch");
    assert_eq!(
        log.0.len(),
        1,
        "nothing reported before the replies: {:?}",
        log.0
    );
    let codes: Vec<u16> = commands
        .iter()
        .map(|c| conn.pipelined_reply(c, &mut log).expect("reply").code)
        .collect();
    assert_eq!(codes, [250, 550, 250, 354]);
    assert_eq!(
        log.0[1..],
        [
            "C: MAIL FROM:<a@example.com>",
            "S: 250 2.1.0 ok",
            "C: RCPT TO:<x@example.com>",
            "S: 550 5.1.1 no",
            "C: RCPT TO:<y@example.com>",
            "S: 250 2.1.5 ok",
            "C: DATA",
            "S: 354 go",
        ]
    );
    assert_eq!(
        server.join().expect("server"),
        "MAIL FROM:<a@example.com>\r\nRCPT TO:<x@example.com>\r\nRCPT TO:<y@example.com>\r\nDATA\r\n"
    );
}

/// Reads `BDAT n LAST` and then exactly n bytes.
fn read_chunk(p: &mut Peer) -> (String, Vec<u8>) {
    let line = p.line();
    let n: usize = line
        .strip_prefix("BDAT ")
        .and_then(|r| r.strip_suffix(" LAST\r\n"))
        .and_then(|n| n.parse().ok())
        .expect("BDAT n LAST");
    let mut chunk = vec![0u8; n];
    p.reader.read_exact(&mut chunk).expect("chunk");
    (line, chunk)
}

#[test]
fn bdat_sends_exactly_the_announced_chunk_unstuffed() {
    let content = awkward_content(200 * 1024);
    let expected = content.clone();
    let (port, server) = server(|mut p| {
        p.send(b"220 hi\r\n");
        let (line, chunk) = read_chunk(&mut p);
        p.send(b"250 2.0.0 queued\r\n");
        let after = p.until_eof();
        (line, chunk, after)
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    let mut w = conn
        .bdat_writer(content.len() as u64, &mut log)
        .expect("bdat");
    let (a, b) = content.split_at(1000);
    w.write_all(a).expect("write");
    w.write_clean_lines(b).expect("write");
    assert_eq!(w.bytes_in(), content.len() as u64);
    assert_eq!(w.finish(&mut log).expect("finish"), content.len() as u64);
    let reply = conn
        .read_reply("the reply to BDAT", &mut log)
        .expect("reply");
    assert_eq!(reply.code, 250);
    conn.close();
    let (line, chunk, after) = server.join().expect("server");
    assert_eq!(line, format!("BDAT {} LAST\r\n", expected.len()));
    assert!(chunk == expected, "the chunk is the content, unchanged");
    assert!(after.is_empty(), "nothing after the chunk");
    assert!(
        log.0.contains(&format!("BDAT: {}", expected.len())),
        "{:?}",
        log.0
    );
    assert!(log.0.contains(&format!("C: BDAT {} LAST", expected.len())));
}

#[test]
fn bdat_never_sends_more_or_less_than_announced() {
    // Too much: the write fails, nothing of it leaves, the connection closes.
    let (port, peer) = server(|mut p| {
        p.send(b"220 hi\r\n");
        p.until_eof()
    });
    let mut log = Log::default();
    let (mut conn, _) = open(port, opts(5000), &mut log);
    {
        let mut w = conn.bdat_writer(10, &mut log).expect("bdat");
        w.write_all(b"0123456789").expect("exactly 10");
        assert!(w.write_all(b"X").is_err());
        assert!(matches!(w.finish(&mut log), Err(ConnError::Broken)));
    }
    assert!(conn.is_broken());
    let got = peer.join().expect("server");
    assert!(!got.contains(&b'X'), "{:?}", String::from_utf8_lossy(&got));

    // Too little: finish fails and the connection closes unfinished.
    let (port, peer) = server(|mut p| {
        p.send(b"220 hi\r\n");
        p.until_eof()
    });
    let (mut conn, _) = open(port, opts(5000), &mut log);
    let mut w = conn.bdat_writer(10, &mut log).expect("bdat");
    w.write_all(b"01234").expect("write");
    let err = w.finish(&mut log).expect_err("short chunk");
    assert!(err.to_string().contains("not the 10 announced"), "{err}");
    assert!(conn.is_broken());
    let got = peer.join().expect("server");
    assert!(got.len() < "BDAT 10 LAST\r\n".len() + 10);
}

/// A directory of its own for UNIX sockets (removed when dropped).
fn socket_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn a_unix_socket_carries_an_lmtp_conversation() {
    use std::os::unix::net::UnixListener;
    let dir = socket_dir();
    let path = dir.path().join("lmtp");
    let listener = UnixListener::bind(&path).expect("bind");
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut w = stream;
        let mut line = String::new();
        let mut read = |reader: &mut BufReader<_>| {
            line.clear();
            reader.read_line(&mut line).expect("read");
            line.clone()
        };
        w.write_all(b"220 lmtp.test LMTP ready\r\n").expect("w");
        assert_eq!(read(&mut reader), "LHLO client.example\r\n");
        w.write_all(b"250 lmtp.test\r\n").expect("w");
        read(&mut reader);
        w.write_all(b"250 ok\r\n").expect("w");
        read(&mut reader);
        w.write_all(b"250 ok\r\n").expect("w");
        read(&mut reader);
        w.write_all(b"250 ok\r\n").expect("w");
        read(&mut reader);
        w.write_all(b"354 go\r\n").expect("w");
        while read(&mut reader) != ".\r\n" {}
        // One reply per recipient, in one write.
        w.write_all(b"250 2.0.0 <b@example.org> Saved\r\n452 4.2.2 quota\r\n")
            .expect("w");
        read(&mut reader)
    });
    let mut log = Log::default();
    let (mut conn, greeting) = Connection::open_unix(&path, opts(5000), &mut log).expect("open");
    assert_eq!(greeting.code, 220);
    assert_eq!(conn.peer(), None);
    assert_eq!(conn.endpoint(), &Endpoint::Unix(path.clone()));
    assert_eq!(conn.host(), format!("unix:{}", path.display()));
    let b = crate::address::Address::parse("b@example.org").expect("addr");
    let c = crate::address::Address::parse("c@example.org").expect("addr");
    for cmd in [
        Command::lhlo("client.example").expect("lhlo"),
        Command::mail_from(None, &[]).expect("mail"),
        Command::rcpt_to(&b, &[]).expect("rcpt"),
        Command::rcpt_to(&c, &[]).expect("rcpt"),
        Command::data(),
    ] {
        conn.command(&cmd, &mut log).expect("reply");
    }
    assert!(conn.conversation().is_lmtp());
    let mut w = conn.data_writer().expect("writer");
    w.write_all(b"Subject: x\r\n\r\nhi\r\n").expect("write");
    w.finish(&mut log).expect("finish");
    let first = conn.read_reply("first", &mut log).expect("first");
    let second = conn.read_reply("second", &mut log).expect("second");
    assert_eq!((first.code, second.code), (250, 452));
    conn.command(&Command::quit(), &mut log).ok();
    assert_eq!(server.join().expect("server"), "QUIT\r\n");
    let tail: Vec<&String> = log.0.iter().rev().take(4).collect();
    assert!(
        tail.iter()
            .any(|l| l.as_str() == "S: 452 4.2.2 quota [for c@example.org]"),
        "{:?}",
        log.0
    );
    assert!(
        log.0
            .iter()
            .any(|l| l == "S: 250 2.0.0 <b@example.org> Saved [for b@example.org]")
    );
}

#[test]
fn unix_socket_errors_say_what_is_wrong_with_the_path() {
    use std::os::unix::net::UnixListener;
    let dir = socket_dir();
    let problem =
        |path: &std::path::Path| match Connection::open_unix(path, opts(2000), &mut Log::default())
        {
            Err(e @ ConnError::Socket { .. }) => {
                let ConnError::Socket { problem, .. } = &e else {
                    unreachable!()
                };
                (*problem, e.to_string(), e.socket_hint().unwrap_or_default())
            }
            Err(e) => panic!("not a socket error: {e}"),
            Ok(_) => panic!("connected to {}", path.display()),
        };
    // Nothing there.
    let (p, msg, hint) = problem(&dir.path().join("missing"));
    assert_eq!(p, SocketProblem::Missing);
    assert!(
        msg.contains("no socket at") && msg.contains("missing"),
        "{msg}"
    );
    assert!(hint.contains("is the server running"), "{hint}");
    // A regular file, and a directory.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").expect("write");
    let (p, msg, hint) = problem(&file);
    assert_eq!(p, SocketProblem::NotASocket);
    assert!(msg.contains("is not a socket (a regular file)"), "{msg}");
    assert!(hint.contains("type 's'"), "{hint}");
    let (p, msg, _) = problem(dir.path());
    assert_eq!(p, SocketProblem::NotASocket);
    assert!(msg.contains("a directory"), "{msg}");
    // A stale socket: the file stays, nobody listens.
    let stale = dir.path().join("stale");
    drop(UnixListener::bind(&stale).expect("bind"));
    let (p, msg, hint) = problem(&stale);
    assert_eq!(p, SocketProblem::NoListener);
    assert!(msg.contains("no server is listening"), "{msg}");
    assert!(hint.contains("stale"), "{hint}");
    // Permission denied: what the system says is told as such (root may
    // use any socket, so the error itself is made here).
    let denied = ConnError::Socket {
        path: stale.clone(),
        problem: super::open::problem_of(&std::io::Error::from(
            std::io::ErrorKind::PermissionDenied,
        )),
        source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    };
    assert!(
        denied
            .to_string()
            .contains("permission denied for the socket")
    );
    assert!(denied.socket_hint().is_some_and(|h| h.contains("mode")));
}
