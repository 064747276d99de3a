//! Proves the interop test harness itself (tests/support, the aiosmtpd server
//! script) without smtpsh: messages are sent with Python's smtplib from the
//! same venv, and what the server stored is checked byte for byte.
#![cfg(feature = "interop")]

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use support::*;

/// Run `python -c CODE ARGS...` with the venv interpreter.
fn py(code: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(python());
    cmd.arg("-c").arg(code).args(args).stdin(Stdio::null());
    run_with_timeout(cmd, Duration::from_secs(60))
}

fn py_ok(code: &str, args: &[&str]) -> String {
    let out = py(code, args);
    assert!(
        out.status.success(),
        "python failed\n{}",
        describe_output(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SEND: &str = r#"
import smtplib, sys
port, path = int(sys.argv[1]), sys.argv[2]
rcpts = sys.argv[3].split(",")
data = open(path, "rb").read()
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("client.example")
refused = s.sendmail("sender@example.com", rcpts, data, mail_options=["SMTPUTF8"])
print("REFUSED", sorted(refused))
code, _ = s.noop()
print("NOOP", code)
code, _ = s.rset()
print("RSET", code)
s.quit()
"#;

#[test]
fn smtplib_message_is_stored_exactly() {
    let server = Aiosmtpd::start_with(&["--reject-rcpt", "nobody"]);
    let work = tempfile::tempdir().unwrap();
    // CRLF lines, a dot line, a long line, non-ASCII UTF-8 and no final
    // newline quirks: smtplib dot-stuffs, the server must undo it.
    let mut data = Vec::new();
    data.extend_from_slice("Subject: Grüße\r\nFrom: s@example.com\r\n\r\n".as_bytes());
    data.extend_from_slice(b".hidden\r\n..two\r\n.\r\n");
    data.extend_from_slice(&[b'x'; 990]);
    data.extend_from_slice("\r\nnaïve ✓\r\n".as_bytes());
    let path = work.path().join("msg.eml");
    fs::write(&path, &data).unwrap();

    let out = py_ok(
        SEND,
        &[
            &server.port_str(),
            path.to_str().unwrap(),
            "rcpt1@example.com,nobody@example.com,rcpt2@example.com",
        ],
    );
    assert!(out.contains("REFUSED ['nobody@example.com']"), "{out}");
    assert!(out.contains("NOOP 250"), "{out}");
    assert!(out.contains("RSET 250"), "{out}");

    let msgs = server.wait_for_messages(1);
    assert_eq!(msgs.len(), 1, "{}", server.describe());
    let m = &msgs[0];
    assert_eq!(m.id, "msg-0001");
    assert_eq!(m.mail_from, "sender@example.com");
    assert_eq!(m.rcpt_tos, ["rcpt1@example.com", "rcpt2@example.com"]);
    assert!(
        m.mail_options.iter().any(|o| o == "SMTPUTF8"),
        "{:?}",
        m.mail_options
    );
    assert!(!m.tls);
    assert_eq!(m.auth_login, None);
    assert_eq!(m.data, data, "stored DATA bytes differ");
    assert_eq!(sha256_hex(&m.data), sha256_hex(&data));

    // The event log: one connection, commands in order, a close at the end.
    server.wait_for_close(m.session);
    assert_eq!(server.sessions(), vec![m.session]);
    let cmds: Vec<String> = server
        .session_events(m.session)
        .iter()
        .filter(|e| e.kind == "command")
        .map(|e| e.verb.clone())
        .collect();
    assert_eq!(
        cmds,
        [
            "EHLO", "MAIL", "RCPT", "RCPT", "RCPT", "DATA", "NOOP", "RSET", "QUIT"
        ],
        "{}",
        server.describe()
    );
    let events = server.session_events(m.session);
    assert_eq!(events.first().unwrap().kind, "connect");
    assert_eq!(events.last().unwrap().kind, "close");
    let rcpt_nobody = events
        .iter()
        .position(|e| e.is_command("RCPT") && e.arg.contains("nobody"))
        .unwrap();
    assert!(
        events[rcpt_nobody + 1]
            .line
            .starts_with("550 5.1.1 <nobody@example.com>: Recipient address rejected"),
        "{:?}",
        events[rcpt_nobody + 1]
    );
    assert!(
        events
            .iter()
            .any(|e| e.kind == "message" && e.id == "msg-0001")
    );
    let mail = events.iter().find(|e| e.is_command("MAIL")).unwrap();
    assert!(
        mail.arg.starts_with("FROM:<sender@example.com>"),
        "{mail:?}"
    );
}

#[test]
fn separate_connections_get_separate_serials() {
    let server = Aiosmtpd::start();
    let code = r#"
import smtplib, sys
port = int(sys.argv[1])
for i in range(2):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.helo("h%d.example" % i)
    s.sendmail("a@example.com", ["b%d@example.com" % i], b"Subject: %d\r\n\r\nbody\r\n" % i)
    s.quit()
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.noop()
s.close()  # no QUIT: the server must still log the close
"#;
    py_ok(code, &[&server.port_str()]);
    let msgs = server.wait_for_messages(2);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].rcpt_tos, ["b0@example.com"]);
    assert_eq!(msgs[1].rcpt_tos, ["b1@example.com"]);
    assert_eq!(msgs[0].data, b"Subject: 0\r\n\r\nbody\r\n");
    assert_ne!(msgs[0].session, msgs[1].session);
    for s in [1, 2, 3] {
        server.wait_for_close(s);
    }
    assert_eq!(server.sessions(), vec![1, 2, 3]);
    let third: Vec<String> = server
        .session_events(3)
        .iter()
        .filter(|e| e.kind == "command")
        .map(|e| e.verb.clone())
        .collect();
    assert_eq!(third, ["NOOP"]);
    let first_cmds = server.commands();
    assert_eq!(first_cmds[0], (1, "HELO h0.example".to_string()));
}

#[test]
fn data_size_limit_is_enforced() {
    let server = Aiosmtpd::start_with(&["--data-size-limit", "1000"]);
    let code = r#"
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=30)
s.ehlo("x")
print("SIZE", s.esmtp_features.get("size"))
try:
    s.sendmail("a@example.com", ["b@example.com"], b"Subject: big\r\n\r\n" + b"y" * 500 + b"\r\n" + b"z" * 900 + b"\r\n")
except smtplib.SMTPException as e:
    print("ERR", type(e).__name__, e.smtp_code)
s.quit()
"#;
    let out = py_ok(code, &[&server.port_str()]);
    assert!(out.contains("SIZE 1000"), "{out}");
    assert!(out.contains("552"), "{out}");
    assert!(server.messages().is_empty());
}

/// A throwaway CA and a leaf certificate for 127.0.0.1/localhost, via openssl.
fn make_cert(dir: &Path) -> (String, String, String) {
    let sh = r#"set -e
cd "$1"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=smtpsh-test-ca 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=localhost 2>/dev/null
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n' > ext.cnf
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile ext.cnf 2>/dev/null
"#;
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(sh).arg("bash").arg(dir);
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "openssl failed\n{}",
        describe_output(&out)
    );
    let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
    (p("ca.pem"), p("leaf.pem"), p("leaf.key"))
}

#[test]
fn starttls_and_auth_options_work() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_cert(certs.path());
    let server = Aiosmtpd::start_with(&[
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--require-starttls",
        "--auth",
        "user:secret",
    ]);
    let code = r#"
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("x")
print("PLAIN-FEATURES", sorted(s.esmtp_features))
print("MAIL-BEFORE-TLS", s.mail("a@example.com")[0])
ctx = ssl.create_default_context(cafile=ca)
s.starttls(context=ctx)
s.ehlo("x")
print("TLS-FEATURES", sorted(s.esmtp_features))
try:
    s.login("user", "wrong")
except smtplib.SMTPAuthenticationError as e:
    print("BAD-LOGIN", e.smtp_code)
s.login("user", "secret")
s.sendmail("a@example.com", ["b@example.com"], b"Subject: tls\r\n\r\nsecret body\r\n")
s.quit()
"#;
    let out = py_ok(code, &[&server.port_str(), &ca]);
    assert!(out.contains("'starttls'"), "{out}");
    assert!(
        !out.split("TLS-FEATURES").next().unwrap().contains("'auth'"),
        "{out}"
    );
    assert!(
        out.split("TLS-FEATURES").nth(1).unwrap().contains("'auth'"),
        "{out}"
    );
    assert!(out.contains("MAIL-BEFORE-TLS 530"), "{out}");
    assert!(out.contains("BAD-LOGIN 535"), "{out}");
    let msgs = server.wait_for_messages(1);
    assert!(msgs[0].tls);
    assert_eq!(msgs[0].auth_login.as_deref(), Some("user"));
    assert_eq!(msgs[0].data, b"Subject: tls\r\n\r\nsecret body\r\n");
    let events = server.session_events(msgs[0].session);
    assert!(
        events.iter().any(|e| e.kind == "tls"),
        "{}",
        server.describe()
    );
    // Credentials never reach the log.
    let log = fs::read_to_string(server.dir.path().join("events.jsonl")).unwrap();
    assert!(!log.contains("secret\""), "{log}");
    assert!(!log.contains("dXNlcgBzZWNyZXQ"), "{log}");

    // Implicit TLS (SMTPS).
    let smtps = Aiosmtpd::start_with(&["--tls-cert", &cert, "--tls-key", &key, "--implicit-tls"]);
    let code = r#"
import smtplib, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
s = smtplib.SMTP_SSL("127.0.0.1", port, timeout=30, context=ssl.create_default_context(cafile=ca))
s.sendmail("a@example.com", ["b@example.com"], b"Subject: smtps\r\n\r\nx\r\n")
s.quit()
"#;
    py_ok(code, &[&smtps.port_str(), &ca]);
    let msgs = smtps.wait_for_messages(1);
    assert!(msgs[0].tls);
}

#[test]
fn server_that_dies_fails_with_its_stderr() {
    let result = std::panic::catch_unwind(|| Aiosmtpd::start_with(&["--no-such-option"]));
    let err = result.err().expect("start_with must panic");
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(msg.contains("did not become ready"), "{msg}");
    assert!(msg.contains("unrecognized arguments"), "{msg}");
}

#[test]
fn drop_stops_the_server() {
    let server = Aiosmtpd::start();
    let port = server.port;
    let pid = server.pid();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    drop(server);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "server process {pid} still exists after drop"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn servers_run_in_parallel_on_distinct_ports() {
    let a = Aiosmtpd::start();
    let b = Aiosmtpd::start();
    assert_ne!(a.port, b.port);
    assert_ne!(a.dir.path(), b.dir.path());
}

#[test]
fn test_data_helpers() {
    // SHA-256 against known vectors and against Python's hashlib.
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let data = random_bytes(3 * 1024 * 1024 + 7, 42);
    assert_eq!(data.len(), 3 * 1024 * 1024 + 7);
    assert_eq!(data, random_bytes(3 * 1024 * 1024 + 7, 42));
    assert_ne!(data[..64], random_bytes(64, 43)[..]);
    assert_eq!(random_bytes(10, 42), data[..10]);
    // Roughly uniform: every byte value shows up.
    let mut seen = [false; 256];
    data.iter().for_each(|&b| seen[b as usize] = true);
    assert!(seen.iter().all(|&s| s));

    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("data.bin");
    fs::write(&bin, &data).unwrap();
    let png = dir.path().join("tiny.png");
    fs::write(&png, tiny_png()).unwrap();
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);

    // Python checks the PNG structure (signature, chunk CRCs, zlib stream)
    // and the SHA-256 of the random data.
    let code = r#"
import hashlib, struct, sys, zlib
data = open(sys.argv[1], "rb").read()
print("SHA", hashlib.sha256(data).hexdigest())
png = open(sys.argv[2], "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n"
pos, idat, kinds = 8, b"", []
while pos < len(png):
    (n,) = struct.unpack(">I", png[pos:pos+4])
    kind, body = png[pos+4:pos+8], png[pos+8:pos+8+n]
    (crc,) = struct.unpack(">I", png[pos+8+n:pos+12+n])
    assert zlib.crc32(kind + body) == crc, kind
    kinds.append(kind.decode())
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    if kind == b"IDAT":
        idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
assert len(raw) == h * (1 + w * 3), len(raw)
print("PNG", w, h, depth, ctype, ",".join(kinds))
"#;
    let out = py_ok(code, &[bin.to_str().unwrap(), png.to_str().unwrap()]);
    assert!(out.contains(&format!("SHA {}", sha256_hex(&data))), "{out}");
    assert!(out.contains("PNG 16 16 8 2 IHDR,IDAT,IEND"), "{out}");

    // mail-parser recognises it as an image when attached, and zlib of a
    // 100 KiB input needs several stored blocks.
    let big = random_bytes(100_000, 1);
    let z = zlib_stored(&big);
    let zpath = dir.path().join("z.bin");
    fs::write(&zpath, &z).unwrap();
    let out = py_ok(
        "import sys, zlib, hashlib; print(hashlib.sha256(zlib.decompress(open(sys.argv[1],'rb').read())).hexdigest())",
        &[zpath.to_str().unwrap()],
    );
    assert_eq!(out.trim(), sha256_hex(&big));
}

#[test]
fn json_fields() {
    let j: serde_json::Value = serde_json::from_str(
        r#"{"a": "x\"y\\z\n\u00e9\ud83d\ude00", "b": ["p", 1, "q", null], "n": 7}"#,
    )
    .unwrap();
    assert_eq!(json_str(&j, "a"), "x\"y\\z\né😀");
    assert_eq!(json_str(&j, "n"), "");
    assert_eq!(json_str(&j, "missing"), "");
    assert_eq!(json_str_list(&j, "b"), ["p", "q"]);
    assert!(json_str_list(&j, "a").is_empty());
    // A line the server is still writing does not parse.
    assert!(serde_json::from_str::<serde_json::Value>("{\"a\": ").is_err());
}

#[test]
fn script_quoting_helper() {
    assert_eq!(quote("bob@example.com"), "bob@example.com");
    assert_eq!(quote("/tmp/résumé naïve.txt"), "'/tmp/résumé naïve.txt'");
    assert_eq!(quote("it's"), r#"'it'"'"'s'"#);
    assert_eq!(quote(""), "''");
}

#[test]
fn run_with_timeout_collects_output_and_kills() {
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg("echo out; echo err >&2; exit 3");
    let out = run_with_timeout(cmd, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");

    let r = std::panic::catch_unwind(|| {
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        run_with_timeout(cmd, Duration::from_millis(300))
    });
    assert!(r.is_err());
}
