//! smtpsh against a real Postfix (a private instance per test, see
//! tests/support/postfix.rs): each test drives the real `smtpsh` binary with
//! a script and checks what Postfix delivered to its Maildir and logged.
//!
//! The harness self-tests at the top prove the instance itself (STARTTLS,
//! implicit TLS, submission, Dovecot SASL, the test CA) with Python's
//! smtplib, `openssl s_client` and a bare rustls handshake, without smtpsh.
#![cfg(feature = "interop")]

mod support;
use support::path_str;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};

use support::postfix::{
    Delivered, Postfix, PostfixOptions, REFUSED_RECIPIENT, REJECTED_DOMAIN, lf_to_crlf,
};
use support::*;

/// Exit codes of `smtpsh -f` (docs/scripting.md).
const EXIT_SERVER_REFUSAL: i32 = 4;

/// Run `smtpsh ARGS... -f SCRIPT` with extra environment variables.
fn run_smtpsh(args: &[&str], envs: &[(&str, &str)], script: &str) -> Output {
    let dir = tempfile::Builder::new()
        .prefix("smtpsh-script-")
        .tempdir()
        .expect("script temp dir");
    let file = dir.path().join("script.smtpsh");
    fs::write(&file, script).expect("write script");
    let mut cmd = smtpsh();
    cmd.args(args).arg("-f").arg(&file);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    run_with_timeout(cmd, SCRIPT_TIMEOUT)
}

fn stdout_and_stderr(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The copies delivered for each recipient, sorted by recipient.
fn by_recipient(msgs: &[Delivered]) -> Vec<&Delivered> {
    let mut v: Vec<&Delivered> = msgs.iter().collect();
    v.sort_by(|a, b| a.delivered_to.cmp(&b.delivered_to));
    v
}

// ---------------------------------------------------------------------------
// Harness self-tests (no smtpsh)
// ---------------------------------------------------------------------------

/// Run `python3 -c CODE ARGS...` (only the standard library is used).
fn py_ok(code: &str, args: &[&str]) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(code).args(args).stdin(Stdio::null());
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "python3 failed\n{}",
        describe_output(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SMTPLIB_SESSION: &str = r#"
import smtplib, ssl, sys
plain, smtps, sub = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
cafile, user, password = sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=cafile)

def words(ehlo):
    return sorted(l.split()[0].decode() for l in ehlo[1].split(b"\n")[1:])

# Plain port: STARTTLS offered, AUTH only after it.
s = smtplib.SMTP("127.0.0.1", plain, timeout=30)
print("PLAIN-EHLO", words(s.ehlo("client.example")))
s.starttls(context=ctx)
print("TLS-EHLO", words(s.ehlo("client.example")), s.esmtp_features.get("auth", ""))
try:
    s.login(user, "not the password")
except smtplib.SMTPAuthenticationError as e:
    print("WRONG", e.smtp_code)
s.login(user, password)
print("LOGIN ok")
refused = s.sendmail("ann@example.com", ["bob@example.com", "nobody@example.com"],
                     b"Subject: via starttls\r\n\r\nhello\r\n")
print("REFUSED", {k: v[0] for k, v in refused.items()})
try:
    s.sendmail("ann@example.com", ["x@rejected.example.net"], b"Subject: no\r\n\r\nno\r\n")
except smtplib.SMTPRecipientsRefused as e:
    print("REJECTED", {k: v[0] for k, v in e.recipients.items()})
s.quit()

# Implicit TLS.
s = smtplib.SMTP_SSL("127.0.0.1", smtps, context=ctx, timeout=30)
s.ehlo("client.example")
s.login("alice", password)
s.sendmail("ann@example.com", ["carol@example.org"], b"Subject: via smtps\r\n\r\nhello\r\n")
print("SMTPS ok")
s.quit()

# Submission: TLS first, then AUTH, then mail.
s = smtplib.SMTP("127.0.0.1", sub, timeout=30)
s.ehlo("client.example")
print("SUB-MAIL-PLAIN", s.mail("ann@example.com")[0])
s.rset()
s.starttls(context=ctx)
s.ehlo("client.example")
s.mail("ann@example.com")
print("SUB-RCPT-NOAUTH", s.rcpt("dave@test")[0])
s.rset()
s.login(user, password)
s.sendmail("ann@example.com", ["dave@test"], b"Subject: via submission\r\n\r\nhello\r\n")
print("SUB ok")
s.quit()
"#;

#[test]
fn postfix_harness_accepts_python_smtplib_with_starttls_and_auth() {
    let pf = Postfix::start();
    eprintln!("postfix started in {:?}", pf.start_time);
    let out = py_ok(
        SMTPLIB_SESSION,
        &[
            &pf.smtp_port.to_string(),
            &pf.smtps_port.to_string(),
            &pf.submission_port.to_string(),
            &path_str(&pf.ca_pem_path()),
            pf.user(),
            pf.password(),
        ],
    );
    let ctx = format!("{out}\n{}", pf.describe());
    let plain_ehlo = out
        .lines()
        .find(|l| l.starts_with("PLAIN-EHLO"))
        .unwrap_or("");
    assert!(plain_ehlo.contains("'STARTTLS'"), "{ctx}");
    assert!(!plain_ehlo.contains("'AUTH'"), "AUTH before TLS: {ctx}");
    assert!(
        out.contains("TLS-EHLO") && out.contains("PLAIN LOGIN"),
        "{ctx}"
    );
    assert!(out.contains("WRONG 535"), "{ctx}");
    assert!(out.contains("LOGIN ok"), "{ctx}");
    assert!(
        out.contains(&format!("REFUSED {{'{REFUSED_RECIPIENT}': 550}}")),
        "{ctx}"
    );
    assert!(
        out.contains("REJECTED {'x@rejected.example.net': 554}"),
        "{ctx}"
    );
    assert!(out.contains("SMTPS ok"), "{ctx}");
    assert!(out.contains("SUB-MAIL-PLAIN 530"), "{ctx}");
    assert!(out.contains("SUB-RCPT-NOAUTH 554"), "{ctx}");
    assert!(out.contains("SUB ok"), "{ctx}");

    let msgs = pf.wait_for_messages(3);
    assert_eq!(msgs.len(), 3, "{}", pf.describe());
    let msgs = by_recipient(&msgs);
    let rcpts: Vec<&str> = msgs.iter().map(|m| m.delivered_to.as_str()).collect();
    assert_eq!(rcpts, ["bob@example.com", "carol@example.org", "dave@test"]);
    for m in &msgs {
        assert_eq!(m.return_path, "ann@example.com");
        let received = m.received();
        assert!(received.contains("using TLSv1."), "{received}");
        assert!(
            received.contains("(Authenticated sender: alice"),
            "{received}"
        );
        assert!(
            m.original().starts_with(b"Subject: via "),
            "{:?}",
            String::from_utf8_lossy(m.original())
        );
        assert!(m.original().ends_with(b"\n\nhello\n"));
        assert!(!m.data.contains(&b'\r'), "Maildir files use LF line ends");
    }
}

#[test]
fn postfix_tls_ports_verify_with_openssl_s_client() {
    let pf = Postfix::start();
    let run = |args: &[&str]| -> String {
        let mut cmd = Command::new("openssl");
        cmd.arg("s_client")
            .args(args)
            .arg("-CAfile")
            .arg(pf.ca_pem_path())
            // -ign_eof: send QUIT as a command (a line starting with Q would
            // make s_client quit at once) and read until the server closes.
            .args([
                "-verify_return_error",
                "-verify_hostname",
                "localhost",
                "-ign_eof",
            ])
            .stdin(Stdio::piped());
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run openssl s_client");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"QUIT\r\n");
        }
        let out = child.wait_with_output().expect("openssl s_client output");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("Verify return code: 0 (ok)") && text.contains("221 2.0.0 Bye"),
            "openssl s_client {args:?}:\n{text}\n{}",
            pf.describe()
        );
        text
    };
    run(&[
        "-starttls",
        "smtp",
        "-connect",
        &format!("127.0.0.1:{}", pf.smtp_port),
    ]);
    let implicit = run(&["-connect", &format!("127.0.0.1:{}", pf.smtps_port)]);
    assert!(
        implicit.contains("220 postfix.smtpsh.test ESMTP"),
        "{implicit}"
    );
    run(&[
        "-starttls",
        "smtp",
        "-connect",
        &format!("127.0.0.1:{}", pf.submission_port),
    ]);
}

/// The certificate chain is one rustls (what smtpsh uses) accepts: a leaf
/// signed by the test CA, valid for localhost and 127.0.0.1.
#[test]
fn postfix_certificate_passes_rustls_verification() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    let pf = Postfix::start();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pf.ca_pem_path()).expect("read ca.pem") {
        roots.add(cert.expect("parse ca.pem")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    for name in ["localhost", "127.0.0.1"] {
        let server_name = ServerName::try_from(name.to_string()).expect("server name");
        let conn = rustls::ClientConnection::new(config.clone(), server_name).expect("client");
        let tcp = TcpStream::connect(("127.0.0.1", pf.smtps_port)).expect("connect smtps");
        tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut greeting = String::new();
        BufReader::new(&mut tls)
            .read_line(&mut greeting)
            .unwrap_or_else(|e| panic!("TLS to {name}: {e}\n{}", pf.describe()));
        assert!(greeting.starts_with("220 "), "{greeting:?}");
        tls.write_all(b"QUIT\r\n").unwrap();
        tls.flush().unwrap();
    }

    // Without the CA, rustls refuses the chain (unknown issuer).
    let empty = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth(),
    );
    let conn = rustls::ClientConnection::new(empty, ServerName::try_from("localhost").unwrap())
        .expect("client");
    let tcp = TcpStream::connect(("127.0.0.1", pf.smtps_port)).expect("connect smtps");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let mut line = String::new();
    let err = BufReader::new(&mut tls)
        .read_line(&mut line)
        .expect_err("an unknown CA must fail the handshake");
    assert!(
        err.to_string().contains("UnknownIssuer"),
        "unexpected error: {err}"
    );
}

#[test]
fn drop_stops_postfix_and_dovecot() {
    let t0 = Instant::now();
    let pf = Postfix::start();
    let started = t0.elapsed();
    let master = pf.master_pid().expect("master.pid");
    let dovecot = pf.dovecot_pid().expect("dovecot pid");
    let dir = pf.dir.path().to_path_buf();
    let port = pf.smtp_port;
    // A connection makes master fork an smtpd: it must go too.
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut greeting = String::new();
    BufReader::new(&mut s).read_line(&mut greeting).unwrap();
    assert!(greeting.starts_with("220 "), "{greeting:?}");
    let t1 = Instant::now();
    drop(pf);
    let stopped = t1.elapsed();
    eprintln!("postfix + dovecot: start {started:?}, stop {stopped:?}");
    let alive = |pid: u32| {
        fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, r)| r.trim_start().chars().next())
            })
            .is_some_and(|st| st != 'Z' && st != 'X')
    };
    assert!(!alive(master), "master {master} still running");
    assert!(!alive(dovecot), "dovecot {dovecot} still running");
    assert!(!dir.exists(), "{} not removed", dir.display());
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} still accepts"
    );
    // Nothing of this instance is left: no process mentions its directory.
    let leftovers: Vec<String> = fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|e| fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&*dir.to_string_lossy()))
        .collect();
    assert!(leftovers.is_empty(), "left running: {leftovers:?}");
}

#[test]
fn postfix_instances_run_in_parallel() {
    let a = Postfix::start();
    let b = Postfix::start();
    let ports_a = [a.smtp_port, a.smtps_port, a.submission_port];
    let ports_b = [b.smtp_port, b.smtps_port, b.submission_port];
    assert!(
        ports_a.iter().all(|p| !ports_b.contains(p)),
        "{ports_a:?} {ports_b:?}"
    );
    for pf in [&a, &b] {
        let mut s = TcpStream::connect(("127.0.0.1", pf.smtp_port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut greeting = String::new();
        BufReader::new(&mut s).read_line(&mut greeting).unwrap();
        assert!(
            greeting.starts_with("220 postfix.smtpsh.test"),
            "{greeting:?}"
        );
    }
}

#[test]
fn lf_to_crlf_helper() {
    assert_eq!(lf_to_crlf(b"a\nb\r\nc"), b"a\r\nb\r\nc");
    assert_eq!(lf_to_crlf(b"\n\n"), b"\r\n\r\n");
}

// ---------------------------------------------------------------------------
// smtpsh against Postfix, plaintext (mynetworks may send to the test domains)
// ---------------------------------------------------------------------------

/// a) The full message of interop_aiosmtpd's `full_message_with_attachments`
/// (a 3 MiB binary, a UTF-8 text file with a non-ASCII name, a PNG) through
/// Postfix: one copy per recipient, each exactly what smtpsh saved (CRLF
/// turned to LF), with every attachment's SHA-256 intact.
#[test]
fn full_message_with_attachments() {
    let pf = Postfix::start();
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
    let saved = work.path().join("sent.eml");

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
         save {saved}\n\
         connect 127.0.0.1 {port}\n\
         send\n",
        bin = quote(&path_str(&bin_path)),
        txt = quote(&path_str(&text_path)),
        png = quote(&path_str(&png_path)),
        saved = quote(&path_str(&saved)),
        port = pf.smtp_port,
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());

    let msgs = pf.wait_for_messages_after(3, &out);
    assert_eq!(msgs.len(), 3, "{}", pf.describe());
    let msgs = by_recipient(&msgs);
    let rcpts: Vec<&str> = msgs.iter().map(|m| m.delivered_to.as_str()).collect();
    assert_eq!(
        rcpts,
        ["bob@example.com", "carol@example.com", "dave@example.com"]
    );
    let saved_bytes = fs::read(&saved).expect("saved .eml");
    for m in msgs {
        assert_eq!(m.return_path, "ann@example.com");
        // Byte for byte what smtpsh sent, line ends aside.
        let original = m.original_crlf();
        assert!(
            original == saved_bytes,
            "stored message for {} ({} bytes, sha256 {}) differs from what smtpsh saved \
             ({} bytes, sha256 {})\n{}",
            m.delivered_to,
            original.len(),
            sha256_hex(&original),
            saved_bytes.len(),
            sha256_hex(&saved_bytes),
            String::from_utf8_lossy(&m.data[..m.data.len().min(3000)])
        );
        // Bcc is a recipient, never a header.
        assert!(
            !m.original().windows(5).any(|w| w == b"dave@"),
            "Bcc address leaked into the message"
        );
        support::check_full_message_content(m.original(), subject, &bin, text_name, text, &png);
    }

    // One connection, ended with QUIT.
    let d = pf.wait_for_disconnects(1);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].contains(" quit=1"), "{d:?}");
    assert!(d[0].contains(" rcpt=3 "), "{d:?}");
}

/// b) SMTP smuggling / transparency: a body with `.` and `..` lines, `\n.\n`,
/// `\r.\r` and `\r\n.\r\n` sequences (each followed by SMTP commands that
/// would start a second message if a server took them for the end of DATA)
/// and a last line without a newline arrives as one message with exactly
/// that text, bare CR and LF turned into line breaks. Postfix here refuses
/// bare LF in DATA, so a client that let one through would fail.
#[test]
fn smuggling_sequences_stay_in_the_body() {
    let pf = Postfix::start();
    let work = tempfile::tempdir().unwrap();
    let smuggle = |eod: &str| {
        format!(
            "{eod}MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n\
             Subject: smuggled{eod}"
        )
    };
    let mut body = String::new();
    body.push_str("first line\r\n.\r\n..\r\n...\r\n.leading dot\r\n");
    body.push_str("lf-dot");
    body.push_str(&smuggle("\n.\n"));
    body.push_str("cr-dot");
    body.push_str(&smuggle("\r.\r"));
    body.push_str("crlf-dot");
    body.push_str(&smuggle("\r\n.\r\n"));
    body.push_str("mixed\r\n.\n");
    body.push_str("cr-lf-dot\r.\n");
    body.push_str("bare\rcr and bare\nlf\n");
    body.push_str("last line without newline");
    let body_path = work.path().join("body.txt");
    fs::write(&body_path, &body).unwrap();

    let script = format!(
        "from ann@example.com\n\
         to bob@example.com\n\
         subject transparency\n\
         body --file {}\n\
         connect 127.0.0.1 {}\n\
         send\n",
        quote(&path_str(&body_path)),
        pf.smtp_port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    let msgs = pf.wait_for_messages_after(1, &out);
    let d = pf.wait_for_disconnects(1);
    // Give a smuggled second message time to show up, then check none did.
    std::thread::sleep(Duration::from_millis(300));
    let msgs_now = pf.messages();
    assert_eq!(msgs_now.len(), 1, "{}", pf.describe());
    assert_eq!(msgs[0].delivered_to, "bob@example.com");
    assert!(
        d[0].contains(" mail=1 ") && d[0].contains(" rcpt=1 "),
        "one MAIL and one RCPT expected: {d:?}"
    );
    assert!(
        !pf.log().contains("victim@example.org"),
        "{}",
        pf.describe()
    );

    let msg = MessageParser::default()
        .parse(msgs[0].original())
        .expect("parse");
    assert_eq!(msg.subject(), Some("transparency"));
    let expected = body.replace("\r\n", "\n").replace('\r', "\n");
    let got = msg.body_text(0).expect("text body").replace("\r\n", "\n");
    assert_eq!(
        got.strip_suffix('\n').unwrap_or(&got),
        expected,
        "\n{}",
        String::from_utf8_lossy(&msgs[0].data)
    );
}

/// c) One message per connection: the Postfix log shows each `send` as its
/// own connection that ended with QUIT (not "lost connection").
#[test]
fn one_message_per_connection_ends_with_quit() {
    let pf = Postfix::start();
    for n in 1..=2 {
        let script = format!(
            "from ann@example.com\n\
             to bob@example.com\n\
             subject message {n}\n\
             body number {n}\n\
             connect 127.0.0.1 {}\n\
             send\n",
            pf.smtp_port
        );
        let out = run_script(&script);
        assert_exit(&out, 0, &pf.describe());
        pf.wait_for_messages_after(n, &out);
        let d = pf.wait_for_disconnects_after(n, &out);
        let last = &d[n - 1];
        assert!(
            last.contains(" quit=1 "),
            "no QUIT: {last}\n{}",
            pf.describe()
        );
        assert!(last.contains(" mail=1 "), "{last}");
        assert!(
            last.contains(" data=1 ") || last.contains(" bdat="),
            "{last}"
        );
    }
    assert_eq!(pf.disconnects().len(), 2, "{}", pf.describe());
    assert!(
        !pf.log().contains("lost connection"),
        "a connection was dropped without QUIT\n{}",
        pf.describe()
    );
    let subjects: Vec<String> = pf
        .messages()
        .iter()
        .map(|m| {
            MessageParser::default()
                .parse(m.original())
                .and_then(|p| p.subject().map(str::to_string))
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(subjects, ["message 1", "message 2"]);
}

/// d) A recipient in a domain Postfix does not serve is refused with 5xx:
/// `expect 5xx` accepts the refusal and the script goes on; without it the
/// script stops with exit status 4 and no message is sent.
#[test]
fn rejected_recipient_domain_gives_5xx() {
    let pf = Postfix::start();
    let rejected = format!("someone@{REJECTED_DOMAIN}");
    let script = format!(
        "connect 127.0.0.1 {}\n\
         ehlo client.example\n\
         expect 250\n\
         from ann@example.com\n\
         expect 2xx\n\
         to {rejected}\n\
         expect 5xx\n\
         to bob@example.com\n\
         expect 250\n\
         subject after a refusal\n\
         body the script went on\n\
         send\n",
        pf.smtp_port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    assert!(
        stdout_and_stderr(&out).contains("554"),
        "{}",
        describe_output(&out)
    );
    let msgs = pf.wait_for_messages_after(1, &out);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].delivered_to, "bob@example.com");
    let msg = MessageParser::default().parse(msgs[0].original()).unwrap();
    assert_eq!(msg.subject(), Some("after a refusal"));
    assert!(
        pf.log().contains(&format!(
            "reject: RCPT from localhost[127.0.0.1]: 554 5.7.1 <{rejected}>"
        )),
        "{}",
        pf.describe()
    );

    // The only recipient refused: exit 4, no message. Postfix offers
    // PIPELINING, so DATA went out with MAIL and RCPT (RFC 2920) and was
    // refused (`data=0/1`); nothing of the message followed.
    let script = format!(
        "from ann@example.com\n\
         to {rejected}\n\
         subject nobody gets this\n\
         body nobody gets this\n\
         connect 127.0.0.1 {}\n\
         send\n",
        pf.smtp_port
    );
    let out = run_script(&script);
    assert_exit(&out, EXIT_SERVER_REFUSAL, &pf.describe());
    let d = pf.wait_for_disconnects_after(2, &out);
    assert!(
        d[1].contains(" data=0/1 "),
        "the pipelined DATA refused: {d:?}"
    );
    assert!(!d[1].contains(" bdat="), "BDAT sent: {d:?}");
    assert_eq!(pf.messages().len(), 1);
}

/// IPv6: `connect ::1 PORT` reaches a Postfix listening on [::1].
#[test]
fn connect_over_ipv6_loopback() {
    let pf = Postfix::start_with(PostfixOptions {
        ipv6: true,
        ..PostfixOptions::default()
    });
    let script = format!(
        "from ann@example.com\n\
         to bob@example.com\n\
         subject over ipv6\n\
         body hello\n\
         connect ::1 {}\n\
         send\n",
        pf.smtp_port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    let msgs = pf.wait_for_messages_after(1, &out);
    assert!(
        msgs[0].received().contains("[IPv6:::1]"),
        "{}",
        msgs[0].received()
    );
}

/// IPv6: the bracketed `connect [::1]:PORT` form.
#[test]
fn connect_over_ipv6_bracketed_host_port() {
    let pf = Postfix::start_with(PostfixOptions {
        ipv6: true,
        ..PostfixOptions::default()
    });
    let script = format!(
        "from ann@example.com\n\
         to bob@example.com\n\
         subject over ipv6\n\
         body hello\n\
         connect [::1]:{}\n\
         send\n",
        pf.smtp_port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    let msgs = pf.wait_for_messages_after(1, &out);
    assert!(
        msgs[0].received().contains("[IPv6:::1]"),
        "{}",
        msgs[0].received()
    );
}

// ---------------------------------------------------------------------------
// smtpsh TLS and AUTH against Postfix (`starttls`, `auth`, `connect --tls`,
// `--cafile`, `--require-tls`)
// ---------------------------------------------------------------------------

/// Three attachments for the TLS sessions, and their script lines.
struct Files {
    _dir: tempfile::TempDir,
    bin: Vec<u8>,
    text: &'static str,
    text_name: &'static str,
    png: Vec<u8>,
    attach_lines: String,
}

fn three_files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let bin = random_bytes(1024 * 1024 + 17, 11);
    fs::write(dir.path().join("data.bin"), &bin).unwrap();
    let text = "Grüße aus Köln — ✓\n";
    let text_name = "grüße.txt";
    fs::write(dir.path().join(text_name), text).unwrap();
    let png = tiny_png();
    fs::write(dir.path().join("pixel.png"), &png).unwrap();
    let attach_lines = ["data.bin", text_name, "pixel.png"]
        .iter()
        .map(|n| format!("attach {}\n", quote(&path_str(&dir.path().join(n)))))
        .collect();
    Files {
        _dir: dir,
        bin,
        text,
        text_name,
        png,
        attach_lines,
    }
}

fn check_attachments(data: &[u8], f: &Files) {
    let msg = MessageParser::default().parse(data).expect("parse");
    let atts: Vec<_> = msg.attachments().collect();
    assert_eq!(atts.len(), 3);
    let sha = |name: &str| {
        atts.iter()
            .find(|a| a.attachment_name() == Some(name))
            .map(|a| sha256_hex(a.contents()))
            .unwrap_or_else(|| panic!("no attachment {name:?}"))
    };
    assert_eq!(sha("data.bin"), sha256_hex(&f.bin));
    assert_eq!(sha(f.text_name), sha256_hex(f.text.as_bytes()));
    assert_eq!(sha("pixel.png"), sha256_hex(&f.png));
}

/// The whole session: connect, ehlo, starttls, auth, from, to, attach three
/// files, send; the stored message is checked byte for byte and shows TLS
/// and the authenticated sender. The password never appears in the output.
#[test]
fn starttls_auth_session_delivers_the_message() {
    let pf = Postfix::start();
    let files = three_files();
    let saved = files._dir.path().join("sent.eml");
    let script = format!(
        "connect 127.0.0.1 {port}\n\
         ehlo client.example\n\
         starttls\n\
         auth PLAIN {user} --password-env SMTP_PASS\n\
         expect 235\n\
         from ann@example.com\n\
         to bob@example.com\n\
         subject over STARTTLS with AUTH\n\
         body three files attached\n\
         {attach}\
         save {saved}\n\
         send\n\
         expect 250\n",
        port = pf.smtp_port,
        user = pf.user(),
        attach = files.attach_lines,
        saved = quote(&path_str(&saved)),
    );
    let cafile = path_str(&pf.ca_pem_path());
    let out = run_smtpsh(
        &["--cafile", &cafile],
        &[("SMTP_PASS", pf.password())],
        &script,
    );
    assert_exit(&out, 0, &pf.describe());
    assert!(
        !stdout_and_stderr(&out).contains(pf.password()),
        "the password leaked into the output\n{}",
        describe_output(&out)
    );
    let msgs = pf.wait_for_messages_after(1, &out);
    let m = &msgs[0];
    assert_eq!(m.delivered_to, "bob@example.com");
    assert_eq!(m.return_path, "ann@example.com");
    let received = m.received();
    assert!(received.contains("using TLSv1."), "{received}");
    assert!(
        received.contains(&format!("(Authenticated sender: {})", pf.user())),
        "{received}"
    );
    assert!(received.contains("with ESMTPSA"), "{received}");
    assert_eq!(m.original_crlf(), fs::read(&saved).expect("saved .eml"));
    check_attachments(m.original(), &files);
    let d = pf.wait_for_disconnects(1);
    assert!(
        d[0].contains(" starttls=1 ") && d[0].contains(" auth=1 ") && d[0].contains(" quit=1"),
        "{d:?}"
    );
}

/// Submission port (STARTTLS and AUTH required) through the command line
/// connect form.
#[test]
fn submission_port_with_starttls_and_auth() {
    let pf = Postfix::start();
    let script = format!(
        "connect --starttls 127.0.0.1 {}\n\
         auth PLAIN {} --password-env SMTP_PASS\n\
         from ann@example.com\n\
         to carol@example.org\n\
         subject submission\n\
         body via 587-style port\n\
         send\n",
        pf.submission_port,
        pf.user()
    );
    let cafile = path_str(&pf.ca_pem_path());
    let out = run_smtpsh(
        &["--cafile", &cafile],
        &[("SMTP_PASS", pf.password())],
        &script,
    );
    assert_exit(&out, 0, &pf.describe());
    let msgs = pf.wait_for_messages_after(1, &out);
    assert_eq!(msgs[0].delivered_to, "carol@example.org");
    assert!(msgs[0].received().contains("Authenticated sender"));
}

/// Wrong password: 535 shown, the script stops with status 4, nothing sent;
/// with `expect 535` the shell goes on (NOOP answered).
#[test]
fn wrong_password_gives_535_and_exit_4() {
    let pf = Postfix::start();
    let cafile = path_str(&pf.ca_pem_path());
    let wrong = "definitely-Wrong-99";
    let script = format!(
        "connect 127.0.0.1 {}\n\
         ehlo client.example\n\
         starttls\n\
         auth PLAIN {} --password-env SMTP_PASS\n\
         from ann@example.com\n\
         to bob@example.com\n\
         body never sent\n\
         send\n",
        pf.smtp_port,
        pf.user()
    );
    let out = run_smtpsh(&["--cafile", &cafile], &[("SMTP_PASS", wrong)], &script);
    assert_exit(&out, EXIT_SERVER_REFUSAL, &pf.describe());
    let text = stdout_and_stderr(&out);
    assert!(text.contains("535"), "{}", describe_output(&out));
    assert!(!text.contains(wrong), "the password leaked\n{text}");
    let d = pf.wait_for_disconnects(1);
    assert!(
        !d[0].contains(" mail="),
        "MAIL sent after a failed AUTH: {d:?}"
    );

    let script = format!(
        "connect 127.0.0.1 {}\n\
         ehlo client.example\n\
         starttls\n\
         auth PLAIN {} --password-env SMTP_PASS\n\
         expect 535\n\
         noop\n\
         expect 250\n",
        pf.smtp_port,
        pf.user()
    );
    let out = run_smtpsh(&["--cafile", &cafile], &[("SMTP_PASS", wrong)], &script);
    assert_exit(&out, 0, &pf.describe());
    assert!(pf.messages().is_empty());
}

/// A certificate from an unknown CA (no `--cafile`) is refused: a non-zero
/// exit, nothing after STARTTLS reaches the server, nothing delivered.
#[test]
fn untrusted_certificate_is_refused_and_nothing_sent() {
    let pf = Postfix::start();
    let script = format!(
        "from ann@example.com\n\
         to bob@example.com\n\
         subject must not arrive\n\
         body secret\n\
         connect 127.0.0.1 {}\n\
         ehlo client.example\n\
         starttls\n\
         send\n",
        pf.smtp_port
    );
    let out = run_smtpsh(&[], &[], &script);
    assert_ne!(out.status.code(), Some(0), "{}", describe_output(&out));
    let text = stdout_and_stderr(&out).to_lowercase();
    assert!(
        text.contains("certificate") && text.contains("unknown issuer"),
        "no certificate error naming the reason\n{}",
        describe_output(&out)
    );
    let d = pf.wait_for_disconnects_after(1, &out);
    assert!(!d[0].contains(" mail="), "MAIL sent: {d:?}");
    assert!(!d[0].contains(" auth="), "AUTH sent: {d:?}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(pf.messages().is_empty());

    // Implicit TLS: the same refusal before anything is sent.
    let script = format!(
        "connect --tls 127.0.0.1 {}\n\
         from ann@example.com\n\
         to bob@example.com\n\
         body secret\n\
         send\n",
        pf.smtps_port
    );
    let out = run_smtpsh(&[], &[], &script);
    assert_ne!(out.status.code(), Some(0), "{}", describe_output(&out));
    let d = pf.wait_for_disconnects_after(2, &out);
    assert!(!d[1].contains(" mail="), "MAIL sent: {d:?}");
    assert!(pf.messages().is_empty());
}

/// `--require-tls` against a server without STARTTLS: stops before MAIL.
#[test]
fn require_tls_without_starttls_stops_before_mail() {
    let pf = Postfix::start_with(PostfixOptions {
        starttls: false,
        ..PostfixOptions::default()
    });
    let script = format!(
        "from ann@example.com\n\
         to bob@example.com\n\
         subject must not arrive\n\
         body secret\n\
         connect 127.0.0.1 {}\n\
         send\n",
        pf.smtp_port
    );
    let cafile = path_str(&pf.ca_pem_path());
    let out = run_smtpsh(&["--require-tls", "--cafile", &cafile], &[], &script);
    assert_ne!(out.status.code(), Some(0), "{}", describe_output(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("STARTTLS"),
        "the error should say STARTTLS is missing\n{}",
        describe_output(&out)
    );
    let d = pf.wait_for_disconnects_after(1, &out);
    for verb in ["mail", "rcpt", "data", "bdat", "auth"] {
        assert!(!d[0].contains(&format!(" {verb}=")), "{verb} sent: {d:?}");
    }
    assert!(pf.messages().is_empty());
}

/// Implicit TLS on its own port (`connect --tls`), with AUTH.
#[test]
fn implicit_tls_on_its_port() {
    let pf = Postfix::start();
    let files = three_files();
    let script = format!(
        "connect --tls 127.0.0.1 {}\n\
         ehlo client.example\n\
         auth PLAIN {} --password-env SMTP_PASS\n\
         from ann@example.com\n\
         to dave@test\n\
         subject implicit TLS\n\
         body over port 465 style TLS\n\
         {}\
         send\n",
        pf.smtps_port,
        pf.user(),
        files.attach_lines
    );
    let cafile = path_str(&pf.ca_pem_path());
    let out = run_smtpsh(
        &["--cafile", &cafile],
        &[("SMTP_PASS", pf.password())],
        &script,
    );
    assert_exit(&out, 0, &pf.describe());
    let msgs = pf.wait_for_messages_after(1, &out);
    assert_eq!(msgs[0].delivered_to, "dave@test");
    let received = msgs[0].received();
    assert!(received.contains("using TLSv1."), "{received}");
    assert!(received.contains("Authenticated sender"), "{received}");
    check_attachments(msgs[0].original(), &files);
}
