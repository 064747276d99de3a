//! smtpsh against a real SMTP server (aiosmtpd, tests/servers/): each test
//! drives the real `smtpsh` binary with a script (`smtpsh -f FILE`) and checks
//! what the server stored and saw.
#![cfg(feature = "interop")]

mod support;
use support::path_str;

use std::fs;

use mail_parser::{MessageParser, MimeHeaders};

use support::*;

/// Exit codes of `smtpsh -f` (see README).
const EXIT_SERVER_REFUSAL: i32 = 4;

/// RFC 5322/5321 line checks on raw DATA bytes: CRLF everywhere, no bare CR
/// or LF, no line longer than 998 octets.
fn assert_wire_lines(data: &[u8]) {
    assert!(data.ends_with(b"\r\n"), "message does not end with CRLF");
    for (n, line) in raw_lines(data).iter().enumerate() {
        assert!(
            line.ends_with(b"\r\n"),
            "line {} does not end with CRLF: {:?}",
            n + 1,
            String::from_utf8_lossy(&line[..line.len().min(120)])
        );
        let body = &line[..line.len() - 2];
        assert!(
            !body.contains(&b'\r'),
            "line {} has a bare CR: {:?}",
            n + 1,
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
        assert!(
            body.len() <= 998,
            "line {} is {} octets long (max 998)",
            n + 1,
            body.len()
        );
    }
}

/// a) A full message with a binary, a non-ASCII-named UTF-8 text file and a
/// PNG, non-ASCII subject and display name, To/Cc/Bcc.
#[test]
fn full_message_with_attachments() {
    let server = Aiosmtpd::start();
    let work = tempfile::tempdir().unwrap();

    let bin = random_bytes(3 * 1024 * 1024, 7);
    let bin_path = work.path().join("data.bin");
    fs::write(&bin_path, &bin).unwrap();

    let text = "Résumé of a naïve café owner — ½ price crème brûlée.\nZoë says: ✓ 日本語\n";
    let text_name = "résumé naïve.txt";
    let text_path = work.path().join(text_name);
    fs::write(&text_path, text).unwrap();

    let png = tiny_png();
    let png_path = work.path().join("pixel.png");
    fs::write(&png_path, &png).unwrap();

    let subject = "Grüße — test ✓";
    let script = format!(
        "# full message\n\
         from \"Ann Example <ann@example.com>\"\n\
         to bob@example.com\n\
         cc carol@example.com\n\
         bcc dave@example.com\n\
         subject {subject}\n\
         body\n\
         Hello Bob,\n\
         \n\
         here are the files — all three of them.\n\
         .\n\
         attach {bin}\n\
         attach {txt}\n\
         attach {png}\n\
         connect 127.0.0.1 {port}\n\
         send\n",
        bin = quote(&path_str(&bin_path)),
        txt = quote(&path_str(&text_path)),
        png = quote(&path_str(&png_path)),
        port = server.port,
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &server.describe());

    let msgs = server.wait_for_messages_after(1, &out);
    assert_eq!(msgs.len(), 1, "{}", server.describe());
    check_full_message(&msgs[0], subject, &bin, text_name, text, &png);
}

/// The checks of `full_message_with_attachments` on what the server stored:
/// the envelope, the headers, the body, each attachment and the line rules.
fn check_full_message(
    m: &Stored,
    subject: &str,
    bin: &[u8],
    text_name: &str,
    text: &str,
    png: &[u8],
) {
    // Envelope: Bcc is a recipient, but never a header.
    assert_eq!(m.mail_from, "ann@example.com");
    let mut rcpts = m.rcpt_tos.clone();
    rcpts.sort();
    assert_eq!(
        rcpts,
        ["bob@example.com", "carol@example.com", "dave@example.com"]
    );
    assert!(
        !m.data.windows(5).any(|w| w == b"dave@"),
        "Bcc address leaked into the message"
    );

    assert_wire_lines(&m.data);

    support::check_full_message_content(&m.data, subject, bin, text_name, text, png);
    let msg = MessageParser::default()
        .parse(&m.data)
        .expect("mail-parser cannot parse the message");

    // base64 bodies wrap at 76 characters.
    let mut base64_parts = 0;
    for part in &msg.parts {
        let is_b64 = part
            .content_transfer_encoding()
            .is_some_and(|e| e.eq_ignore_ascii_case("base64"));
        if !is_b64 {
            continue;
        }
        base64_parts += 1;
        let raw = &m.data[part.raw_body_offset() as usize..part.raw_end_offset() as usize];
        for line in raw_lines(raw) {
            let len = line.strip_suffix(b"\r\n").unwrap_or(line).len();
            assert!(len <= 76, "base64 line of {len} characters");
        }
    }
    assert!(
        base64_parts >= 2,
        "expected base64 for the binary and the PNG"
    );
}

/// b) One message per connection: `send` ends with QUIT; `send --keep-open`
/// keeps the connection for more commands.
#[test]
fn send_quits_and_keep_open_carries_on() {
    let server = Aiosmtpd::start();
    let script = format!(
        "from a@example.com\n\
         to b@example.com\n\
         subject one\n\
         body first message\n\
         connect 127.0.0.1 {}\n\
         send\n",
        server.port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &server.describe());
    let msgs = server.wait_for_messages_after(1, &out);
    let s1 = msgs[0].session;
    server.wait_for_close(s1);
    let verbs: Vec<String> = server
        .session_events(s1)
        .iter()
        .filter(|e| e.kind == "command")
        .map(|e| e.verb.clone())
        .collect();
    let data_at = verbs.iter().position(|v| v == "DATA").expect("DATA");
    assert_eq!(
        verbs.last().map(String::as_str),
        Some("QUIT"),
        "{}",
        server.describe()
    );
    assert!(data_at < verbs.len() - 1);
    assert!(
        verbs.iter().any(|v| v == "EHLO" || v == "HELO"),
        "{verbs:?}"
    );

    // --keep-open: the same connection goes on with NOOP, then quit.
    let script = format!(
        "from a@example.com\n\
         to b@example.com\n\
         subject two\n\
         body second message\n\
         connect 127.0.0.1 {}\n\
         send --keep-open\n\
         noop\n\
         expect 250\n\
         quit\n",
        server.port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &server.describe());
    let msgs = server.wait_for_messages_after(2, &out);
    let s2 = msgs[1].session;
    assert_ne!(s1, s2);
    server.wait_for_close(s2);
    assert_eq!(
        server.sessions(),
        vec![s1, s2],
        "one connection per script expected\n{}",
        server.describe()
    );
    let verbs: Vec<String> = server
        .session_events(s2)
        .iter()
        .filter(|e| e.kind == "command")
        .map(|e| e.verb.clone())
        .collect();
    let data_at = verbs.iter().position(|v| v == "DATA").expect("DATA");
    let noop_at = verbs
        .iter()
        .position(|v| v == "NOOP")
        .unwrap_or_else(|| panic!("no NOOP on the kept-open connection\n{}", server.describe()));
    let quit_at = verbs.iter().position(|v| v == "QUIT").expect("QUIT");
    assert!(
        data_at < noop_at && noop_at < quit_at,
        "order DATA < NOOP < QUIT violated: {verbs:?}"
    );
    assert_eq!(
        verbs.iter().filter(|v| *v == "QUIT").count(),
        1,
        "{verbs:?}"
    );
}

/// c) The classic hand-typed session through `raw`; the shell dot-stuffs
/// the typed message lines and the server undoes it.
#[test]
fn raw_hand_typed_session() {
    let server = Aiosmtpd::start();
    let script = format!(
        "connect 127.0.0.1 {}\n\
         expect 220\n\
         raw HELO me.example\n\
         expect 250\n\
         raw MAIL FROM:<a@example.com>\n\
         expect 250\n\
         raw RCPT TO:<b@example.com>\n\
         expect 250\n\
         raw DATA\n\
         expect 354\n\
         Subject: typed by hand\n\
         From: a@example.com\n\
         \n\
         first line\n\
         .hidden\n\
         ..two\n\
         last line\n\
         .\n\
         expect 250\n\
         raw QUIT\n\
         expect 221\n",
        server.port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &server.describe());
    let msgs = server.wait_for_messages_after(1, &out);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.mail_from, "a@example.com");
    assert_eq!(m.rcpt_tos, ["b@example.com"]);
    assert_eq!(
        String::from_utf8_lossy(&m.data),
        "Subject: typed by hand\r\nFrom: a@example.com\r\n\r\nfirst line\r\n.hidden\r\n..two\r\nlast line\r\n"
    );
    server.wait_for_close(m.session);
    let cmds: Vec<String> = server
        .commands()
        .into_iter()
        .filter(|(s, _)| *s == m.session)
        .map(|(_, c)| c)
        .collect();
    assert_eq!(
        cmds,
        [
            "HELO me.example",
            "MAIL FROM:<a@example.com>",
            "RCPT TO:<b@example.com>",
            "DATA",
            "QUIT"
        ],
        "{}",
        server.describe()
    );
}

/// d) Rejected recipients: partial delivery, no DATA without recipients
/// (exit 4), and `expect 5xx` accepting a refusal.
#[test]
fn rejected_recipient_partial_delivery() {
    let server = Aiosmtpd::start_with(&["--reject-rcpt", "nobody"]);
    let script = format!(
        "from a@example.com\n\
         to ok@example.com nobody@example.com\n\
         subject partial\n\
         body only ok@ gets this\n\
         connect 127.0.0.1 {}\n\
         send\n",
        server.port
    );
    let out = run_script(&script);
    let msgs = server.wait_for_messages_after(1, &out);
    assert_eq!(
        msgs.len(),
        1,
        "{}\n{}",
        describe_output(&out),
        server.describe()
    );
    assert_eq!(msgs[0].rcpt_tos, ["ok@example.com"]);
    let refused = server
        .events()
        .into_iter()
        .any(|e| e.kind == "reply" && e.line.starts_with("550 5.1.1 <nobody@example.com>"));
    assert!(refused, "{}", server.describe());
}

#[test]
fn rejected_only_recipient_sends_no_data() {
    let server = Aiosmtpd::start_with(&["--reject-rcpt", "nobody"]);
    let script = format!(
        "from a@example.com\n\
         to nobody@example.com\n\
         subject nobody\n\
         body nobody gets this\n\
         connect 127.0.0.1 {}\n\
         send\n",
        server.port
    );
    let out = run_script(&script);
    assert_exit(&out, EXIT_SERVER_REFUSAL, &server.describe());
    let events = server.events();
    assert!(
        events.iter().any(|e| e.is_command("RCPT")),
        "RCPT never sent\n{}",
        server.describe()
    );
    assert!(
        !events.iter().any(|e| e.is_command("DATA")),
        "DATA sent without any accepted recipient\n{}",
        server.describe()
    );
    assert!(server.messages().is_empty());
}

#[test]
fn expect_5xx_accepts_a_refused_recipient() {
    let server = Aiosmtpd::start_with(&["--reject-rcpt", "nobody"]);
    let script = format!(
        "connect 127.0.0.1 {}\n\
         ehlo client.example\n\
         expect 250\n\
         from a@example.com\n\
         expect 2xx\n\
         to nobody@example.com\n\
         expect 5xx\n\
         to ok@example.com\n\
         expect 250\n\
         subject after a refusal\n\
         body the script went on\n\
         send\n",
        server.port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &server.describe());
    let msgs = server.wait_for_messages_after(1, &out);
    assert_eq!(msgs[0].rcpt_tos, ["ok@example.com"]);
    let msg = MessageParser::default().parse(&msgs[0].data).unwrap();
    assert_eq!(msg.subject(), Some("after a refusal"));
}

/// e) `save` writes exactly the bytes that `send` then transmits.
#[test]
fn saved_eml_equals_sent_bytes() {
    let server = Aiosmtpd::start();
    let work = tempfile::tempdir().unwrap();
    let att = work.path().join("notes.txt");
    fs::write(&att, "some notes\nwith ünïcödé\n").unwrap();
    let png_path = work.path().join("img.png");
    fs::write(&png_path, tiny_png()).unwrap();
    let saved = work.path().join("saved message.eml");
    let script = format!(
        "from \"Zoë Q <zoe@example.com>\"\n\
         to bob@example.com\n\
         subject saved and sent ✓\n\
         body\n\
         line one\n\
         .\n\
         attach {att} {png}\n\
         save {saved}\n\
         connect 127.0.0.1 {port}\n\
         send\n",
        att = quote(&path_str(&att)),
        png = quote(&path_str(&png_path)),
        saved = quote(&path_str(&saved)),
        port = server.port,
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &server.describe());
    let msgs = server.wait_for_messages_after(1, &out);
    let saved_bytes = fs::read(&saved).expect("saved .eml");
    assert!(
        saved_bytes == msgs[0].data,
        "saved .eml ({} bytes, sha256 {}) differs from the sent DATA ({} bytes, sha256 {})",
        saved_bytes.len(),
        sha256_hex(&saved_bytes),
        msgs[0].data.len(),
        sha256_hex(&msgs[0].data)
    );
    let msg = MessageParser::default().parse(&saved_bytes).unwrap();
    let from = msg.from().and_then(|a| a.first()).unwrap();
    assert_eq!(from.name(), Some("Zoë Q"));
    assert_eq!(msg.attachments().count(), 2);
}
