//! smtpsh against a real Dovecot LMTP server (RFC 2033; a private instance
//! per test, see tests/support/dovecot.rs), over 127.0.0.1 TCP and over a
//! UNIX socket: one reply per recipient after the message, each shown
//! with its recipient; `send` reporting a partial delivery (exit status 4
//! in a script, unless an `expect` right after it accepts the refused
//! recipients' replies); what Dovecot stored in each Maildir, compared
//! with the bytes `save` wrote.
#![cfg(feature = "interop")]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use mail_parser::{MessageParser, MimeHeaders};
use support::dovecot::DovecotLmtp;
use support::*;

/// Exit status of a server refusal (docs/scripting.md).
const EXIT_SERVER_REFUSAL: i32 = 4;

/// Where a test connects: `connect --lmtp` over TCP or the socket.
fn connect_line(d: &DovecotLmtp, unix: bool) -> String {
    if unix {
        format!("connect --lmtp unix:{}", d.socket().display())
    } else {
        format!("connect --lmtp 127.0.0.1 {}", d.port)
    }
}

/// The draft the tests send: a text and a binary attachment, saved as
/// sent to `saved`; then the connect, `send`, and `after` (an `expect`).
fn partial_script(d: &DovecotLmtp, dir: &std::path::Path, unix: bool, after: &str) -> String {
    let bin = dir.join("data.bin");
    fs::write(&bin, random_bytes(200 * 1024 + 3, 5)).expect("write attachment");
    format!(
        "from Ann Example <ann@example.com>\n\
         to bob@lmtp.test nobody@lmtp.test carol@lmtp.test\n\
         subject LMTP per recipient\n\
         body Hello Bob and Carol.\n\
         attach {bin}\n\
         save {saved}\n\
         {connect}\n\
         send\n\
         {after}\n\
         status\n",
        bin = quote(&path_str(&bin)),
        saved = quote(&path_str(&dir.join("saved.eml"))),
        connect = connect_line(d, unix),
    )
}

/// The stored message is what was sent: Dovecot prepends its own header
/// lines (Return-Path, Delivered-To, Received) and stores LF line ends;
/// the rest is byte for byte the saved message. The attachment is checked
/// by SHA-256 as well.
fn assert_stored_as_sent(stored: &[u8], saved: &[u8], bin: &[u8]) {
    let sent = String::from_utf8_lossy(saved).replace("\r\n", "\n");
    let got = String::from_utf8_lossy(stored);
    assert!(
        got.ends_with(sent.as_str()),
        "the stored message does not end with the message sent\n--- stored ---\n{}",
        got.chars().take(1500).collect::<String>()
    );
    let prefix = &got[..got.len() - sent.len()];
    for line in prefix.lines() {
        assert!(
            ["Return-Path:", "Delivered-To:", "Received:", " ", "\t"]
                .iter()
                .any(|p| line.starts_with(p)),
            "unexpected line before the message: {line:?}"
        );
    }
    let msg = MessageParser::default().parse(stored).expect("parse");
    let att = msg
        .attachments()
        .find(|a| a.attachment_name() == Some("data.bin"))
        .expect("the attachment");
    assert_eq!(sha256_hex(att.contents()), sha256_hex(bin));
    assert_eq!(
        msg.body_text(0)
            .map(|b| b.trim_end().to_string())
            .as_deref(),
        Some("Hello Bob and Carol.")
    );
}

fn all_output(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

fn partial_delivery(unix: bool) {
    let d = DovecotLmtp::start();
    let dir = tempfile::tempdir().expect("temp dir");
    // Without an `expect`: a partial delivery fails the script.
    let out = run_script(&partial_script(&d, dir.path(), unix, ""));
    assert_exit(&out, EXIT_SERVER_REFUSAL, &d.describe());
    let (so, se) = (stdout(&out), stderr(&out));
    // Each recipient's reply after the message, in RCPT order; QUIT gets its own.
    assert!(so.contains(" -> LHLO "), "{so}");
    assert!(so.contains("<-  250 2.0.0 <bob@lmtp.test> "), "{so}");
    assert!(so.contains("<-  250 2.0.0 <carol@lmtp.test> "), "{so}");
    let bob = so.find("<bob@lmtp.test> ").expect("bob's reply");
    let carol = so.find("<carol@lmtp.test> ").expect("carol's reply");
    let quit = so.find("<-  221").expect("QUIT's reply");
    assert!(bob < carol && carol < quit, "{so}");
    assert!(se.contains("delivered to 2 of 3 recipients"), "{se}");
    assert!(
        se.contains("not delivered: nobody@lmtp.test (550 5.1.1 <nobody@lmtp.test>"),
        "{se}"
    );
    assert!(
        se.contains("partial delivery: the message was delivered to 2 of 3 recipients"),
        "{se}"
    );
    assert!(se.contains("stopped at"), "{se}");
    let saved = fs::read(dir.path().join("saved.eml")).expect("saved message");
    let bin = fs::read(dir.path().join("data.bin")).expect("attachment");
    for user in ["bob", "carol"] {
        let stored = d.messages(user);
        assert_eq!(stored.len(), 1, "{user}: {}", d.describe());
        assert_stored_as_sent(&stored[0], &saved, &bin);
    }
    // With the `expect` the refusal is wanted: the script goes on (`status`
    // runs: the draft keeps the one recipient it did not reach) and ends well.
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_script(&partial_script(&d, dir.path(), unix, "expect 550 5.1.1"));
    assert_exit(&out, 0, &d.describe());
    let all = all_output(&out);
    assert!(all.contains("expect 550 5.1.1: got 550 5.1.1"), "{all}");
    assert!(
        all.contains(
            "the draft keeps only the 1 recipient the message did not reach (nobody@lmtp.test)"
        ),
        "{all}"
    );
    // An `expect` the refusal does not match fails (exit 5).
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run_script(&partial_script(&d, dir.path(), unix, "expect 250"));
    assert_exit(&out, 5, &d.describe());
    assert!(
        stderr(&out).contains("expected 250, got 550 5.1.1"),
        "{}",
        describe_output(&out)
    );
    for user in ["bob", "carol"] {
        assert_eq!(d.messages(user).len(), 3, "{user}");
    }
}

#[test]
fn partial_delivery_over_tcp() {
    partial_delivery(false);
}

#[test]
fn partial_delivery_over_a_unix_socket() {
    partial_delivery(true);
}

#[test]
fn a_delivery_that_fails_after_the_message_is_that_recipients_reply() {
    // dave is accepted at RCPT; his Maildir cannot be made, so his reply
    // after the message is a 451 while bob's is a 250.
    let d = DovecotLmtp::start();
    let script = |after: &str, transfer: &str| {
        format!(
            "set transfer {transfer}\n\
             {}\n\
             from ann@example.com\n\
             to bob@lmtp.test\n\
             to dave@lmtp.test\n\
             subject two\n\
             body text\n\
             send\n\
             {after}\n",
            connect_line(&d, true)
        )
    };
    for transfer in ["data", "bdat"] {
        let out = run_script(&script("", transfer));
        assert_exit(&out, EXIT_SERVER_REFUSAL, &d.describe());
        let (so, se) = (stdout(&out), stderr(&out));
        if transfer == "bdat" {
            assert!(so.contains(" -> BDAT "), "{so}");
        }
        assert!(so.contains("<-  451 4.2.0 <dave@lmtp.test>"), "{so}");
        assert!(
            se.contains("not delivered: dave@lmtp.test (451 4.2.0"),
            "{se}"
        );
        assert!(se.contains("delivered to 1 of 2 recipients"), "{se}");
        let out = run_script(&script("expect 4xx 4.2.0", transfer));
        assert_exit(&out, 0, &d.describe());
    }
    assert_eq!(d.messages("bob").len(), 4);
}

#[test]
fn all_delivered_is_a_success_and_clears_the_draft() {
    let d = DovecotLmtp::start();
    let script = format!(
        "{}\n\
         from ann@example.com\n\
         to bob@lmtp.test carol@lmtp.test\n\
         subject both\n\
         body text\n\
         send\n\
         expect 250\n\
         status\n",
        connect_line(&d, false)
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &d.describe());
    let all = all_output(&out);
    assert!(
        all.contains("delivered to all 2 recipients (LMTP: one reply each)"),
        "{all}"
    );
    assert!(all.contains("draft cleared but for the sender"), "{all}");
    assert!(all.contains("LMTP"), "status says LMTP: {all}");
    assert_eq!(d.messages("bob").len(), 1);
    assert_eq!(d.messages("carol").len(), 1);
}

#[test]
fn data_typed_and_raw_lhlo_show_every_recipients_reply() {
    let d = DovecotLmtp::start();
    // No --lmtp: `raw LHLO` makes it LMTP; the replies after `.` are the
    // recipients', and QUIT's 221 is QUIT's.
    let script = format!(
        "connect unix:{}\n\
         raw LHLO client.example\n\
         raw MAIL FROM:<ann@example.com>\n\
         raw RCPT TO:<bob@lmtp.test>\n\
         raw RCPT TO:<carol@lmtp.test>\n\
         raw DATA\n\
         Subject: typed\n\
         \n\
         typed by hand\n\
         .\n\
         expect 250\n\
         quit\n\
         expect 221\n",
        d.socket().display()
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &d.describe());
    let so = stdout(&out);
    assert!(so.contains("<-  250 2.0.0 <bob@lmtp.test>"), "{so}");
    assert!(so.contains("<-  250 2.0.0 <carol@lmtp.test>"), "{so}");
    assert!(so.contains("delivered to all 2 recipients"), "{so}");
    assert!(so.contains("expect 221: got 221"), "{so}");
    // `data` typed by hand, with --lmtp on the command line.
    let script = "lhlo client.example\n\
         from ann@example.com\n\
         to bob@lmtp.test\n\
         data\n\
         Subject: typed again\n\
         \n\
         again\n\
         .\n\
         helo x\n";
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("s.smtpsh");
    fs::write(&file, script).expect("write");
    let mut cmd = smtpsh();
    cmd.arg("--lmtp")
        .arg("-f")
        .arg(&file)
        .arg(format!("unix:{}", d.socket().display()));
    let out = run_with_timeout(cmd, SCRIPT_TIMEOUT);
    // `helo` is refused locally (LMTP has no HELO): exit 1.
    assert_exit(&out, 1, &d.describe());
    let all = all_output(&out);
    assert!(
        all.contains("delivered to the recipient (LMTP: one reply each)"),
        "{all}"
    );
    assert!(all.contains("LMTP has no HELO"), "{all}");
    assert!(!all.contains(" -> HELO"), "{all}");
    for user in ["bob", "carol"] {
        let msgs = d.messages(user);
        let text = String::from_utf8_lossy(msgs.last().expect("a message")).to_string();
        assert!(text.contains("typed"), "{text}");
    }
    assert_eq!(d.messages("bob").len(), 2);
}

#[test]
fn the_prompt_and_connect_alone_keep_the_socket_and_lmtp() {
    let d = DovecotLmtp::start();
    let script = format!(
        "connect --lmtp unix:{}\n\
         ehlo\n\
         quit\n\
         connect\n\
         status\n",
        d.socket().display()
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &d.describe());
    let all = all_output(&out);
    assert!(
        all.contains("this connection speaks LMTP: LHLO instead of EHLO"),
        "{all}"
    );
    assert_eq!(all.matches(" (LMTP)").count(), 2, "{all}");
    assert!(
        all.contains(&format!(
            "connection:   unix:{} (a UNIX-domain socket), plaintext, LMTP",
            d.socket().display()
        )),
        "{all}"
    );
}

#[test]
fn tls_over_a_unix_socket_is_refused_clearly() {
    let d = DovecotLmtp::start();
    let out = run_script(&format!(
        "connect --lmtp --starttls unix:{}\n",
        d.socket().display()
    ));
    assert_exit(&out, 1, "");
    assert!(
        stderr(&out).contains("TLS over a UNIX socket is not supported"),
        "{}",
        describe_output(&out)
    );
    assert!(stderr(&out).contains("host name"), "{}", stderr(&out));
    let out = run_script(&format!(
        "connect --lmtp unix:{}\nstarttls\n",
        d.socket().display()
    ));
    assert_exit(&out, 1, "");
    assert!(stderr(&out).contains("TLS over a UNIX socket is not supported"));
    // require-tls: nothing but QUIT goes out in plaintext, then it stops.
    let out = run_script(&format!(
        "set require-tls on\nconnect --lmtp unix:{}\n",
        d.socket().display()
    ));
    assert_exit(&out, 3, "");
    let all = all_output(&out);
    assert!(
        all.contains("TLS over a UNIX socket is not supported"),
        "{all}"
    );
    assert!(all.contains("TLS is required"), "{all}");
    assert!(
        all.contains(" -> QUIT") && !all.contains(" -> LHLO"),
        "{all}"
    );
}

#[test]
fn unix_socket_errors_name_the_problem_with_a_hint() {
    let dir = tempfile::tempdir().expect("dir");
    let run = |path: &str| run_script(&format!("connect unix:{path}\n"));
    let missing = path_str(&dir.path().join("missing.sock"));
    let out = run(&missing);
    assert_exit(&out, 3, "");
    let se = stderr(&out);
    assert!(se.contains(&format!("no socket at {missing}")), "{se}");
    assert!(se.contains("is the server running?"), "{se}");
    let file = dir.path().join("file");
    fs::write(&file, "x").expect("write");
    let out = run(&path_str(&file));
    assert_exit(&out, 3, "");
    assert!(
        stderr(&out).contains("is not a socket (a regular file)"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("type 's'"));
    // Permission denied: a socket only root may use, tried as nobody.
    let sock = dir.path().join("private.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    fs::set_permissions(&sock, fs::Permissions::from_mode(0o600)).expect("chmod");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_smtpsh"))
        .args(["--no-history", "-c"])
        .arg(format!("connect unix:{}", sock.display()))
        .env("HOME", "/nonexistent")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    let out = run_with_timeout(cmd, SCRIPT_TIMEOUT);
    assert_exit(&out, 3, "");
    let se = stderr(&out);
    assert!(se.contains("permission denied for the socket"), "{se}");
    assert!(se.contains("mode"), "{se}");
}
