//! The session over in-memory connections: every reply code, the
//! stored bytes, pipelining, STARTTLS, limits, BDAT, DSN, hostile bytes.

use super::*;
use crate::sandbox::maildir::MemoryStore;
use crate::sandbox::session::Session;
use base64::Engine as _;

fn memory() -> Arc<MemoryStore> {
    Arc::new(MemoryStore::default())
}

/// Counts the writes, to see pipelined replies go out together.
struct Counting {
    input: io::Cursor<Vec<u8>>,
    output: Vec<u8>,
    writes: usize,
}
impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}
impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        self.writes += 1;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn shared_with(config: Config) -> Shared {
    Shared::new(config, memory(), None)
}

/// The status of each reply (its first line's code and enhanced code, or
/// first word), the greeting included.
fn codes_of(out: &str) -> Vec<String> {
    out.split("\r\n")
        .filter(|l| l.len() >= 4 && &l[3..4] == " ")
        .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Runs `input` through a session; returns the reply codes in order,
/// what ended it, the raw output and the stored messages.
fn converse_with(config: Config, input: &[u8]) -> (Vec<String>, Next, String, Vec<Vec<u8>>) {
    let mem = memory();
    let (out, next) = converse(config, mem.clone(), None, input);
    let out = String::from_utf8_lossy(&out).into_owned();
    (codes_of(&out), next, out, mem.messages())
}

fn converse_str(input: &str) -> (Vec<String>, Next, String, Vec<Vec<u8>>) {
    converse_with(Config::default(), input.as_bytes())
}

fn codes(input: &str) -> Vec<String> {
    converse_str(input).0
}

#[test]
fn a_whole_transaction_is_stored_with_trace_headers() {
    let (codes, next, out, stored) = converse_str(
        "EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=20 BODY=8BITMIME\r\n\
         RCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n",
    );
    assert_eq!(
        codes,
        [
            "220 localhost",
            "250 HELP",
            "250 2.1.0",
            "250 2.1.5",
            "354 End",
            "250 2.0.0",
            "221 2.0.0"
        ]
    );
    assert_eq!(next, Next::Quit);
    for ext in [
        "PIPELINING",
        "SIZE 52428800",
        "8BITMIME",
        "SMTPUTF8",
        "ENHANCEDSTATUSCODES",
        "AUTH PLAIN LOGIN",
    ] {
        assert!(
            out.contains(&format!("250-{ext}\r\n")),
            "{ext} missing in {out}"
        );
    }
    assert!(!out.contains("STARTTLS"), "no TLS configured");
    assert_eq!(stored.len(), 1);
    let msg = String::from_utf8_lossy(&stored[0]);
    assert!(msg.starts_with(
        "Return-Path: <a@example.org>\r\nReceived: from client.example (localhost [127.0.0.1])\r\n"
    ));
    assert!(msg.contains("with ESMTP id "));
    assert!(msg.contains("\tfor <b@example.org>;"));
    assert!(msg.contains("X-Envelope-To: <b@example.org>\r\n"));
    assert!(
        msg.ends_with("\r\nSubject: x\r\n\r\n.dot\r\nline\r\n"),
        "{msg}"
    );
}

#[test]
fn commands_out_of_order_get_503() {
    assert_eq!(codes("MAIL FROM:<a@b.org>\r\n")[1], "503 Send");
    let c = codes(
        "EHLO x\r\nRCPT TO:<x@y.org>\r\nDATA\r\nMAIL FROM:<a@b.org>\r\nDATA\r\nMAIL FROM:<a@b.org>\r\n",
    );
    assert_eq!(
        c[2..],
        [
            "503 5.5.1",
            "503 5.5.1",
            "250 2.1.0",
            "503 5.5.1",
            "503 5.5.1"
        ]
    );
    // Before EHLO there are no enhanced codes.
    assert_eq!(
        codes("DATA\r\nRCPT TO:<x@y.org>\r\n")[1..],
        ["503 Need", "503 Need"]
    );
    let c = codes(
        "EHLO x\r\nAUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==\r\nAUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==\r\n",
    );
    assert_eq!(c[2..], ["235 2.7.0", "503 5.5.1"]);
    let c = codes("HELO x\r\nAUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==\r\n");
    assert_eq!(c[2], "503 Send");
    let c = codes("EHLO x\r\nMAIL FROM:<a@b.org>\r\nAUTH LOGIN\r\n");
    assert_eq!(c[3], "503 5.5.1");
    assert_eq!(codes("STARTTLS\r\n")[1], "503 Send");
}

#[test]
fn syntax_errors_get_501_and_unknown_commands_500() {
    let c = codes(
        "EHLO x\r\nMAIL FROM:a@b\r\nMAIL FROM: <a@b.org>\r\nMAIL FROM:<a@@b>\r\nMAIL FROM:<a@b.org\r\n\
         FOO\r\nMAIL TO:<a@b.org>\r\nEHLO\r\nRSET x\r\nMAIL FROM:<> SIZE=abc\r\n",
    );
    assert_eq!(
        c[2..],
        [
            "501 5.5.4",
            "501 5.5.4",
            "501 5.1.7",
            "501 5.5.4",
            "500 5.5.2",
            "501 5.5.4",
            "501 5.5.4",
            "501 5.5.4",
            "501 5.5.4"
        ]
    );
    let c = codes(
        "EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<>\r\nRCPT TO:<bad>\r\nRCPT TO:<a@b.org> XFOO=1\r\nDATA\r\n",
    );
    assert_eq!(
        c[2..],
        [
            "250 2.1.0",
            "501 5.1.3",
            "501 5.1.3",
            "555 5.5.4",
            "554 5.5.1"
        ]
    );
    let c = codes("EHLO x\r\nMAIL FROM:<a@b.org> FOO=1\r\nEXPN list\r\nVRFY x\r\n");
    assert_eq!(c[2..], ["555 5.5.4", "502 5.5.1", "252 2.5.0"]);
}

#[test]
fn postmaster_source_routes_and_smtputf8() {
    let c = codes(
        "EHLO x\r\nMAIL FROM:<@relay.example:a@b.org>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<zoë@example.org>\r\n\
         RSET\r\nMAIL FROM:<zoë@example.org>\r\nMAIL FROM:<zoë@example.org> SMTPUTF8\r\nRCPT TO:<zoë@example.org>\r\n",
    );
    assert_eq!(
        c[2..],
        [
            "250 2.1.0",
            "250 2.1.5",
            "553 5.6.7",
            "250 2.0.0",
            "553 5.6.7",
            "250 2.1.0",
            "250 2.1.5"
        ]
    );
}

#[test]
fn size_limits_at_mail_and_after_data() {
    let config = Config {
        limits: Limits {
            max_size: 10,
            ..Limits::default()
        },
        ..Config::default()
    };
    let (c, _, _, stored) = converse_with(
        config,
        b"EHLO x\r\nMAIL FROM:<a@b.org> SIZE=11\r\nMAIL FROM:<a@b.org> SIZE=10\r\nRCPT TO:<c@d.org>\r\nDATA\r\n0123456789\r\n.\r\nNOOP\r\n",
    );
    assert_eq!(
        c[2..],
        [
            "552 5.3.4",
            "250 2.1.0",
            "250 2.1.5",
            "354 End",
            "552 5.3.4",
            "250 2.0.0"
        ]
    );
    assert!(stored.is_empty());
}

#[test]
fn end_of_data_only_at_crlf_dot_crlf_and_bare_newlines_are_refused() {
    let head = "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n";
    // `\n.\n` and `\n.\r\n` are not the end: the real end comes later.
    let (c, _, _, stored) = converse_str(&format!("{head}a\n.\nb\n.\r\nc\r\n.\r\nNOOP\r\n"));
    assert_eq!(c[4..], ["354 End", "550 5.5.2", "250 2.0.0"]);
    assert!(stored.is_empty());
    let (c, _, _, stored) = converse_str(&format!("{head}a\rb\r\n.\r\n"));
    assert_eq!(c[5], "550 5.5.2");
    assert!(stored.is_empty());
    // `<LF>.<CRLF>` is content; only the `<CRLF>.<CRLF>` after it ends.
    let (c, _, _, stored) = converse_str(&format!("{head}x\r\n.\n.\r\n.\r\n"));
    assert_eq!(c[5], "550 5.5.2");
    assert!(stored.is_empty());
    // Input ending inside DATA stores nothing.
    let (c, next, _, stored) = converse_str(&format!("{head}partial\r\n"));
    assert_eq!(c.len(), 5);
    assert_eq!(next, Next::Closed);
    assert!(stored.is_empty());
}

#[test]
fn line_length_limits() {
    let long_cmd = format!("NOOP {}\r\nNOOP\r\n", "x".repeat(600));
    assert_eq!(codes(&long_cmd)[1..], ["500 Line", "250 OK"]);
    let ok_cmd = format!("NOOP {}\r\n", "x".repeat(505));
    assert_eq!(codes(&ok_cmd)[1], "250 OK");
    let head = "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n";
    let (c, _, _, stored) = converse_str(&format!("{head}{}\r\n.\r\n", "y".repeat(1001)));
    assert_eq!(c[5], "554 5.6.0");
    assert!(stored.is_empty());
    // 998 octets + CRLF is fine, and so is a stuffed dot on top of that.
    let (c, _, _, stored) = converse_str(&format!(
        "{head}{}\r\n.{}\r\n.\r\n",
        "y".repeat(998),
        ".".repeat(998)
    ));
    assert_eq!(c[5], "250 2.0.0");
    assert!(
        stored[0].ends_with(format!("{}\r\n{}\r\n", "y".repeat(998), ".".repeat(998)).as_bytes())
    );
    let c = codes("NOOP\n");
    assert_eq!(c[1], "500 Bare");
}

#[test]
fn auth_plain_and_login_with_challenges_and_cancel() {
    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    let plain = b64(b"\0demo\0sandbox-password");
    let bad = b64(b"\0demo\0wrong");
    let input = format!(
        "EHLO x\r\nAUTH PLAIN {bad}\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN\r\n{}\r\n*\r\nAUTH CRAM-MD5\r\nAUTH PLAIN !!!\r\n\
         AUTH LOGIN {}\r\n{}\r\nAUTH PLAIN\r\n{plain}\r\n",
        b64(b"demo"),
        b64(b"demo"),
        b64(b"wrong"),
    );
    let (c, _, out, _) = converse_str(&input);
    assert_eq!(
        c[2..],
        [
            "535 5.7.8",
            "334 ",
            "501 5.7.0",
            "334 VXNlcm5hbWU6",
            "334 UGFzc3dvcmQ6",
            "501 5.7.0",
            "504 5.5.4",
            "501 5.5.2",
            "334 UGFzc3dvcmQ6",
            "535 5.7.8",
            "334 ",
            "235 2.7.0"
        ]
    );
    assert!(out.contains("334 \r\n"));
    let login = format!(
        "EHLO x\r\nAUTH LOGIN\r\n{}\r\n{}\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\nx\r\n.\r\n",
        b64(b"demo"),
        b64(b"sandbox-password")
    );
    let (c, _, _, stored) = converse_str(&login);
    assert_eq!(c[4], "235 2.7.0");
    assert!(String::from_utf8_lossy(&stored[0]).contains("with ESMTPA id"));
    let authz = b64(b"other\0demo\0sandbox-password");
    assert_eq!(
        codes(&format!("EHLO x\r\nAUTH PLAIN {authz}\r\n"))[2],
        "535 5.7.8"
    );
    assert_eq!(codes("EHLO x\r\nAUTH PLAIN =\r\n")[2], "501 5.5.2");
}

#[test]
fn pipelined_commands_are_answered_in_order_in_one_write() {
    let (c, _, out, stored) = converse_str(
        "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nRCPT TO:<e@f.org>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
    );
    assert_eq!(
        c[2..],
        [
            "250 2.1.0",
            "250 2.1.5",
            "250 2.1.5",
            "354 End",
            "250 2.0.0",
            "221 2.0.0"
        ]
    );
    assert!(out.ends_with("221 2.0.0 localhost closing connection\r\n"));
    assert!(
        String::from_utf8_lossy(&stored[0]).contains("X-Envelope-To: <c@d.org>,\r\n <e@f.org>\r\n")
    );
    // Greeting, then every reply of the pipelined group in one write.
    let shared = shared_with(Config::default());
    let mut session = Session::new(&shared, ([127, 0, 0, 1], 1).into());
    let mut conn = Conn::new(Counting {
        input: io::Cursor::new(b"EHLO x\r\nNOOP\r\nNOOP\r\nQUIT\r\n".to_vec()),
        output: Vec::new(),
        writes: 0,
    });
    session.greet(&mut conn).expect("greet");
    session.run(&mut conn).expect("run");
    assert_eq!(conn.into_inner().writes, 2);
}

#[test]
fn starttls_discards_pipelined_plaintext() {
    let tls = Arc::new(
        super::super::cert::Authority::generate()
            .and_then(|a| a.server_config())
            .expect("tls"),
    );
    let config = Config {
        tls: Some(tls),
        ..Config::default()
    };
    let shared = shared_with(config);
    let peer: SocketAddr = ([127, 0, 0, 1], 40000).into();
    let mut session = Session::new(&shared, peer);
    let mut conn = Conn::new(Counting {
        input: io::Cursor::new(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<evil@x.org>\r\n".to_vec()),
        output: Vec::new(),
        writes: 0,
    });
    session.greet(&mut conn).expect("greet");
    assert_eq!(session.run(&mut conn).expect("run"), Next::StartTls);
    assert!(
        conn.discard_pending() == 0,
        "injected plaintext must be dropped"
    );
    let out = String::from_utf8_lossy(&conn.into_inner().output).into_owned();
    assert!(out.contains("250-STARTTLS\r\n"));
    assert!(out.ends_with("220 2.0.0 Ready to start TLS\r\n"));
    session.start_tls();
    assert!(session.helo.is_none() && session.tls);
}

#[test]
fn too_many_errors_close_the_connection() {
    let (c, next, _, _) = converse_str(&"FOO\r\n".repeat(30));
    assert_eq!(next, Next::Closed);
    assert_eq!(
        c.last().map(String::as_str),
        Some("421 Too"),
        "no enhanced codes before EHLO"
    );
    assert_eq!(c.len(), 1 + 20 + 1);
}

#[test]
fn multi_byte_and_non_utf8_input_never_panics_and_the_session_goes_on() {
    // The issue's panic: a byte slice inside 'é' in `MAIL FROMé<a@b>`.
    let (c, _, _, stored) = converse_with(
        Config::default(),
        "EHLO x\r\nMAIL FROMé<a@b.org>\r\nMAIL FROM:<é@b.org>\r\nMAIL \u{20ac}\r\nRCPT TO\u{e9}\r\n\
         EHLO \u{e9}\u{e9}\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\nhi\r\n.\r\n"
            .as_bytes(),
    );
    assert_eq!(
        c[2..],
        [
            "501 5.5.4",
            "553 5.6.7",
            "501 5.5.4",
            "503 5.5.1",
            "250 HELP",
            "250 2.1.0",
            "250 2.1.5",
            "354 End",
            "250 2.0.0"
        ]
    );
    assert_eq!(stored.len(), 1);
    let (c, _, out, _) = converse_with(
        Config::default(),
        b"EHLO \xff\xfe\r\nMAIL FROM:<\xc3@b.org>\r\nHELO x\r\nVRFY \xe2\x82\r\n\xc3\xa9\r\n",
    );
    assert_eq!(
        c[1..],
        [
            "501 EHLO:",
            "503 Send",
            "250 localhost",
            "252 Cannot",
            "500 Command"
        ]
    );
    assert!(out.contains("bad domain name '\\xFF\\xFE'"), "{out}");
    assert!(out.is_ascii(), "replies stay ASCII: {out}");
}

#[test]
fn smuggling_forms_are_content_and_refused_with_a_reason() {
    let head = "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n";
    let injected = "MAIL FROM:<evil@x.org>\r\nRCPT TO:<victim@y.org>\r\nDATA\r\nevil\r\n";
    for form in ["\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", "\r.\n"] {
        let (c, _, out, stored) =
            converse_str(&format!("{head}hello{form}{injected}.\r\nNOOP\r\n"));
        assert_eq!(
            c[4..],
            ["354 End", "550 5.5.2", "250 2.0.0"],
            "{form:?}: {out}"
        );
        assert!(stored.is_empty(), "{form:?}");
        assert!(
            out.contains("SMTP smuggling") || out.contains("Bare CR or LF"),
            "{out}"
        );
    }
}

#[test]
fn bdat_chunks_are_stored_byte_exact_and_misuse_is_refused() {
    let (c, _, out, stored) = converse_str(
        "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nBDAT 12\r\nSubject: s\r\nBDAT 9 LAST\r\n\r\n.body\r\nQUIT\r\n",
    );
    assert!(out.contains("250-CHUNKING\r\n"), "{out}");
    assert_eq!(c[4..], ["250 2.0.0", "250 2.0.0", "221 2.0.0"], "{out}");
    assert!(out.contains("12 octets received"));
    assert_eq!(stored.len(), 1);
    let msg = String::from_utf8_lossy(&stored[0]).into_owned();
    assert!(
        msg.ends_with("\r\nSubject: s\r\n\r\n.body\r\n"),
        "no unstuffing in BDAT: {msg}"
    );
    // BDAT before MAIL: the octets are read (to stay in step), then 503.
    let (c, _, _, stored) = converse_str("EHLO x\r\nBDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
    assert_eq!(c[2..], ["503 5.5.1", "250 2.0.0"]);
    assert!(stored.is_empty());
    // DATA after BDAT in one transaction; a bad BDAT closes.
    let (c, next, _, _) = converse_str(
        "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nBDAT 2\r\nhiDATA\r\nBDAT x\r\nNOOP\r\n",
    );
    assert_eq!(c[4..], ["250 2.0.0", "503 5.5.1", "501 5.5.4"]);
    assert_eq!(next, Next::Closed);
    // Bare LF inside a chunk refuses the message at that chunk.
    let (c, _, _, stored) = converse_str(
        "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nBDAT 3\r\na\nbBDAT 3 LAST\r\nc\r\n",
    );
    assert_eq!(c[4..], ["550 5.5.2", "503 5.5.1"]);
    assert!(stored.is_empty());
}

#[test]
fn dsn_parameters_are_accepted_checked_and_stored() {
    let (c, _, out, stored) = converse_str(
        "EHLO x\r\nMAIL FROM:<a@b.org> RET=HDRS ENVID=QQ+2B1\r\nRCPT TO:<c@d.org> NOTIFY=success,FAILURE ORCPT=rfc822;c@d.org\r\n\
         RCPT TO:<e@d.org> NOTIFY=NEVER,SUCCESS\r\nRCPT TO:<e@d.org> ORCPT=bad\r\nRCPT TO:<f@d.org>\r\nDATA\r\nx\r\n.\r\n",
    );
    assert!(out.contains("250-DSN\r\n"));
    assert_eq!(
        c[2..],
        [
            "250 2.1.0",
            "250 2.1.5",
            "501 5.5.4",
            "501 5.5.4",
            "250 2.1.5",
            "354 End",
            "250 2.0.0"
        ]
    );
    let msg = String::from_utf8_lossy(&stored[0]).into_owned();
    assert!(
        msg.contains(
            "X-Envelope-To: <c@d.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.org,\r\n <f@d.org>\r\n"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("X-Envelope-DSN: RET=HDRS ENVID=QQ+2B1\r\n"),
        "{msg}"
    );
    for bad in ["RET=ALL", "ENVID=a=b", "RET"] {
        let c = codes(&format!("EHLO x\r\nMAIL FROM:<a@b.org> {bad}\r\n"));
        assert_eq!(c[2], "501 5.5.4", "{bad}");
    }
}

#[test]
fn junk_commands_beyond_the_limit_count_as_errors() {
    let (c, next, _, _) = converse_str(&format!("EHLO x\r\n{}", "NOOP\r\n".repeat(130)));
    assert_eq!(next, Next::Closed);
    assert_eq!(c.last().map(String::as_str), Some("421 4.7.0"));
    // Greeting + EHLO + 99 NOOPs within the limit + 20 over it + 421.
    assert_eq!(
        c.len(),
        2 + (super::super::session::JUNK_LIMIT - 1) + 20 + 1
    );
}

#[test]
fn events_report_stored_messages_and_refusals() {
    let seen: Arc<std::sync::Mutex<Vec<Event>>> = Arc::default();
    let sink = seen.clone();
    let events: Events = Arc::new(move |e: &Event| {
        if let Ok(mut v) = sink.lock() {
            v.push(e.clone());
        }
    });
    let (_, _) = converse(
        Config::default(),
        memory(),
        Some(events),
        b"EHLO x\r\nRCPT TO:<c@d.org>\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n\
          Subject: =?UTF-8?Q?caf=C3=A9?=\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n\
          --B\r\n\r\ntext\r\n--B\r\nContent-Disposition: attachment\r\n\r\nQUJD\r\n--B--\r\n.\r\n",
    );
    let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(seen.len(), 2, "{seen:?}");
    match &seen[0] {
        Event::Refused { command, reply, .. } => {
            assert_eq!(command, "RCPT");
            assert!(reply.starts_with("503 5.5.1 Need MAIL"), "{reply}");
        }
        other => panic!("{other:?}"),
    }
    match &seen[1] {
        Event::Stored(s) => {
            assert_eq!(s.subject.as_deref(), Some("café"));
            assert_eq!(s.parts, 2);
            assert_eq!(s.from, "a@b.org");
            assert_eq!(s.recipients[0].address, "c@d.org");
            assert_eq!(s.helo, "x");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn auth_from_the_network_needs_tls_first() {
    let shared = shared_with(Config::default());
    let mut session = Session::new(&shared, ([192, 0, 2, 7], 40000).into());
    let mut conn = Conn::new(Counting {
        input: io::Cursor::new(
            b"EHLO x\r\nAUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==\r\nQUIT\r\n".to_vec(),
        ),
        output: Vec::new(),
        writes: 0,
    });
    session.greet(&mut conn).expect("greet");
    session.run(&mut conn).expect("run");
    let out = String::from_utf8_lossy(&conn.into_inner().output).into_owned();
    assert!(!out.contains("AUTH PLAIN"), "not offered in clear: {out}");
    assert_eq!(codes_of(&out)[2], "538 5.7.11", "{out}");
    let account = format!("{:?}", Config::default().auth);
    assert!(
        !account.contains(crate::sandbox::DEMO_PASSWORD),
        "{account}"
    );
}

#[test]
fn a_client_leaving_inside_a_bdat_chunk_gets_no_timeout_reply() {
    let (c, next, out, stored) =
        converse_str("EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nBDAT 10 LAST\r\nabc");
    assert_eq!(next, Next::Closed);
    assert_eq!(c.last().map(String::as_str), Some("250 2.1.5"), "{out}");
    assert!(!out.contains("421"), "{out}");
    assert!(stored.is_empty());
}
