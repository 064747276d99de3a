//! The built-in sandbox end to end: `smtpsh --sandbox` scripts that send
//! attachments and read them back with `inbox`; the server's reply codes for
//! commands out of order, bad syntax, unknown commands and sizes; STARTTLS
//! and AUTH driven by a rustls client and by Python's smtplib; two smtpsh
//! processes with their own sandboxes at once.
//!
//! Every run stores into its own temporary `SMTPSH_SANDBOX_DIR`.

mod support;
use support::stdout;

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, ServerName};
use smtpsh::sandbox::{DEMO_PASSWORD, DEMO_USER, Sandbox};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;
use support::{assert_exit, describe_output, random_bytes, run_with_timeout, sha256_hex, smtpsh};

/// A safety net: each run here ends on its own in seconds.
const RUN: Duration = Duration::from_secs(90);

/// `smtpsh --sandbox -f SCRIPT` with SMTPSH_SANDBOX_DIR=`dir`, run in `cwd`.
fn run_sandbox_script(dir: &Path, cwd: &Path, script: &str) -> Output {
    let file = cwd.join("script.smtpsh");
    fs::write(&file, script).expect("write script");
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", dir)
        .current_dir(cwd)
        .arg("--sandbox")
        .arg("-f")
        .arg(&file);
    run_with_timeout(cmd, RUN)
}

/// The line of `text` containing `needle`.
fn line_with<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().find(|l| l.contains(needle))
}

/// The port in `=== sandbox listening on 127.0.0.1:PORT ...`.
fn sandbox_port(out: &str) -> Option<u16> {
    let line = line_with(out, "sandbox listening on 127.0.0.1:")?;
    let rest = line.split("127.0.0.1:").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

struct Files {
    binary: Vec<u8>,
    text: Vec<u8>,
}

fn write_attachments(dir: &Path) -> Files {
    let binary = random_bytes(70_001, 7);
    let text = "Grüße aus Zürich — ünïcödé ✓\nline two\r\nno final newline"
        .as_bytes()
        .to_vec();
    fs::write(dir.join("random.bin"), &binary).expect("write");
    fs::write(dir.join("grüße.txt"), &text).expect("write");
    fs::write(dir.join("empty.dat"), b"").expect("write");
    Files { binary, text }
}

#[test]
fn sandbox_script_sends_attachments_and_inbox_shows_their_sha256() {
    let data = tempfile::tempdir().expect("temp dir");
    let work = tempfile::tempdir().expect("temp dir");
    let files = write_attachments(work.path());
    let out = run_sandbox_script(
        data.path(),
        work.path(),
        "from you@example.com\nto friend@example.org\nsubject hi\nbody hello\n\
         attach random.bin grüße.txt empty.dat\nsend\ninbox\ninbox 1 --full\n\
         inbox 1 --save-attachments saved\ninbox 1 --save-attachments saved\n",
    );
    assert_exit(&out, 0, "sandbox script");
    let text = stdout(&out);
    let port = sandbox_port(&text).expect("the banner names the port");
    assert!(port > 0);
    let maildir = data.path().join("Maildir");
    for needle in [
        &format!("Maildir: {}", maildir.display()),
        "demo account: user demo, password sandbox-password",
        "trusted by this smtpsh process only",
        "try: from you@example.com / to friend@example.org / subject hi / body hello / attach FILE / send / inbox 1",
        "250-STARTTLS",
        "250-AUTH PLAIN LOGIN",
    ] {
        assert!(
            text.contains(needle),
            "missing {needle:?}\n{}",
            describe_output(&out)
        );
    }
    // The list.
    let row = line_with(&text, "  1  ").expect("inbox lists message 1");
    for col in ["you@example.com", "friend@example.org", "hi"] {
        assert!(row.contains(col), "{row}");
    }
    // The tree (`--full`): each attachment's digest equals its file's.
    for (name, bytes) in [
        ("random.bin", &files.binary[..]),
        ("grüße.txt", &files.text[..]),
        ("empty.dat", &b""[..]),
    ] {
        let line = line_with(&text, &format!("\"{name}\""))
            .unwrap_or_else(|| panic!("no part for {name}\n{text}"));
        assert!(line.contains(&format!("{} byte", bytes.len())), "{line}");
        assert!(
            line.contains(&format!("sha256 {}", sha256_hex(bytes))),
            "{name}: {line}"
        );
        assert!(line.contains("base64"), "{line}");
    }
    for header in [
        "From: you@example.com",
        "To: friend@example.org",
        "Subject: hi",
        "Message-ID: <",
        "Return-Path: <you@example.com>",
    ] {
        assert!(text.contains(header), "missing {header}\n{text}");
    }
    // Saved attachments are byte-identical; a second save does not overwrite.
    let saved = work.path().join("saved");
    assert_eq!(
        fs::read(saved.join("random.bin")).expect("saved"),
        files.binary
    );
    assert_eq!(
        fs::read(saved.join("grüße.txt")).expect("saved"),
        files.text
    );
    assert_eq!(fs::read(saved.join("empty.dat")).expect("saved"), b"");
    assert_eq!(
        fs::read(saved.join("random-1.bin")).expect("second save"),
        files.binary
    );
    assert!(saved.join("empty-1.dat").exists());

    // The Maildir outlives the process: a plain smtpsh (no sandbox) reads it.
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", data.path()).args([
        "-c",
        "inbox",
        "-c",
        "inbox 1 --full",
        "-c",
        "inbox 1 --raw",
    ]);
    let later = run_with_timeout(cmd, RUN);
    assert_exit(&later, 0, "inbox from another process");
    let later_text = stdout(&later);
    assert!(
        later_text.contains(&sha256_hex(&files.binary)),
        "{later_text}"
    );
    assert!(!later_text.contains("sandbox listening"), "{later_text}");
    // --raw prints the stored bytes, CRLF and all.
    let stored = fs::read_dir(maildir.join("new"))
        .expect("new/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .next()
        .expect("one stored file");
    let stored = fs::read(stored).expect("read stored");
    assert!(stored.starts_with(b"Return-Path: <you@example.com>\r\nReceived: from "));
    assert!(
        later
            .stdout
            .windows(stored.len())
            .any(|w| w == stored.as_slice()),
        "--raw must print the stored bytes exactly"
    );
}

#[test]
fn commands_out_of_order_bad_syntax_and_sizes_get_the_right_codes() {
    let data = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::start_in(data.path()).expect("start sandbox");
    let script = "raw MAIL FROM:<a@b.org>\nexpect 503\n\
                  raw EHLO client.example\nexpect 250\n\
                  raw RCPT TO:<x@y.org>\nexpect 503\n\
                  raw DATA\nexpect 503\n\
                  raw FOO\nexpect 500\n\
                  raw MAIL FROM:a@b\nexpect 501\n\
                  raw MAIL FROM:<not an address>\nexpect 501\n\
                  raw MAIL FROM:<a@b.org> SIZE=52428801\nexpect 552\n\
                  raw MAIL FROM:<a@b.org> SIZE=1000\nexpect 250\n\
                  raw MAIL FROM:<a@b.org>\nexpect 503\n\
                  raw DATA\nexpect 503\n\
                  raw RCPT TO:<>\nexpect 501\n\
                  raw DATA\nexpect 554\n\
                  raw RSET\nexpect 250\n\
                  raw VRFY someone\nexpect 252\n\
                  raw EXPN staff\nexpect 502\n\
                  quit\n";
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("codes.smtpsh");
    fs::write(&file, script).expect("write script");
    let mut cmd = smtpsh();
    cmd.arg("-f")
        .arg(&file)
        .arg("127.0.0.1")
        .arg(sandbox.port().to_string());
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 0, "every expect matches");
    let text = stdout(&out);
    for line in [
        "<-  503 Send EHLO or HELO first",
        "<-  503 5.5.1 Need MAIL before RCPT",
        "<-  500 5.5.2 Command not recognized",
        "<-  552 5.3.4 ",
        "<-  554 5.5.1 No valid recipients",
    ] {
        assert!(
            text.contains(line),
            "missing {line:?}\n{}",
            describe_output(&out)
        );
    }
    assert_eq!(sandbox.delivered(), 0);
}

#[test]
fn smtpsh_starttls_and_auth_against_the_sandbox_with_its_ca_file() {
    // A sandbox of another process (this one), trusted only through the
    // CA file it names: its own, in its instance directory.
    let data = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::start_in(data.path()).expect("start sandbox");
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("tls.smtpsh");
    fs::write(
        &file,
        format!(
            "connect 127.0.0.1 {}\nstarttls\nauth PLAIN demo --password-env SANDBOX_PW\n\
             from a@example.com\nto b@example.org\nsubject over tls\nbody x\nsend\n",
            sandbox.port()
        ),
    )
    .expect("write script");
    let mut cmd = smtpsh();
    cmd.env("SANDBOX_PW", DEMO_PASSWORD)
        .arg("--cafile")
        .arg(sandbox.ca_file())
        .arg("-f")
        .arg(&file);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 0, "STARTTLS, AUTH and send through smtpsh");
    let text = stdout(&out);
    assert!(text.contains("235 2.7.0"), "{text}");
    // The banner prints the demo account; the AUTH line must not carry it.
    let secret = base64::engine::general_purpose::STANDARD.encode(b"\0demo\0sandbox-password");
    assert!(!text.contains(&secret), "{text}");
    assert!(text.contains("AUTH PLAIN ****"), "{text}");
    let list = smtpsh::sandbox::inbox::list(&data.path().join("Maildir")).expect("list");
    assert_eq!(list.len(), 1);
    let stored = fs::read(&list[0].entry.path).expect("read");
    assert!(
        String::from_utf8_lossy(&stored).contains("with ESMTPSA id"),
        "delivered inside TLS, authenticated"
    );
}

#[test]
fn the_sandbox_certificate_is_trusted_by_its_own_process_without_cafile() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", data.path())
        .arg("--sandbox")
        .args(["-c", "starttls", "-c", "noop", "-c", "expect 250"])
        .args(["-c", "status"]);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(
        &out,
        0,
        "STARTTLS to the in-process sandbox without --cafile",
    );
    let text = stdout(&out);
    assert!(text.contains("TLS is on"), "{text}");
    assert!(
        text.contains(" ~> NOOP"),
        "NOOP must travel inside TLS: {text}"
    );
    // `status` names what verified the certificate: the sandbox's own CA,
    // not the system's roots.
    assert!(
        text.contains("verified:     yes, for 127.0.0.1, against the sandbox's own CA"),
        "{text}"
    );
    assert!(!text.contains("root certificates"), "{text}");
    // The chain the sandbox sends: its certificate, then the CA's.
    assert!(text.contains("  [1] server: CN=localhost"), "{text}");
    assert!(
        text.contains("  [2] CA:     CN=smtpsh sandbox CA (this process only)"),
        "{text}"
    );
    // ... and where that CA is, as the banner said.
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("verified:") && l.contains("ca.pem)")),
        "{text}"
    );

    // Another process does not trust that CA: a second smtpsh connecting to
    // this sandbox's port by address is refused (unknown issuer), as any
    // client would be without --cafile.
    let (mut child, rx) = spawn_waiting(data.path());
    let port = wait_for_port(&rx);
    let mut other = smtpsh();
    other.args([
        "-c",
        &format!("connect 127.0.0.1 {port}"),
        "-c",
        "ehlo",
        "-c",
        "starttls",
    ]);
    let refused = run_with_timeout(other, RUN);
    let _ = child.kill();
    let _ = child.wait();
    assert_exit(&refused, 3, "another process must not trust the sandbox CA");
    let err = String::from_utf8_lossy(&refused.stderr).to_lowercase();
    assert!(err.contains("issuer"), "{err}");
}

/// Reads one SMTP reply (all its lines) from `r`.
fn read_reply(r: &mut impl BufRead) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).expect("read reply");
        assert!(n > 0, "connection closed; got so far: {all}");
        all.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            return all;
        }
    }
}

fn say(w: &mut impl Write, line: &str) {
    w.write_all(format!("{line}\r\n").as_bytes())
        .expect("write");
    w.flush().expect("flush");
}

#[test]
fn starttls_and_auth_with_a_rustls_client() {
    let data = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::start_in(data.path()).expect("start sandbox");
    let mut tcp = TcpStream::connect(sandbox.addr()).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut plain = BufReader::new(tcp.try_clone().expect("clone"));
    assert!(read_reply(&mut plain).starts_with("220 "));
    say(&mut tcp, "EHLO client.example");
    let ehlo = read_reply(&mut plain);
    assert!(ehlo.contains("250-STARTTLS\r\n"), "{ehlo}");
    // STARTTLS with a command pipelined behind it (CVE-2011-0411): the
    // server must drop it rather than run it inside TLS.
    tcp.write_all(b"STARTTLS\r\nMAIL FROM:<injected@evil.example>\r\n")
        .expect("write");
    let r = read_reply(&mut plain);
    assert!(r.starts_with("220 2.0.0"), "{r}");
    assert!(plain.buffer().is_empty(), "nothing may follow the 220");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(sandbox.ca_der().to_vec()))
        .expect("add the sandbox CA");
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("client");
    let tls = rustls::StreamOwned::new(conn, tcp);
    let mut tls = BufReader::new(tls);

    // The server forgot everything: MAIL before a new EHLO is out of order,
    // and the injected MAIL was not executed (else this would be "nested").
    say(tls.get_mut(), "MAIL FROM:<a@b.org>");
    let r = read_reply(&mut tls);
    assert!(r.starts_with("503 "), "{r}");
    say(tls.get_mut(), "EHLO client.example");
    let ehlo = read_reply(&mut tls);
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(ehlo.contains("250-AUTH PLAIN LOGIN\r\n"), "{ehlo}");

    let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
    say(
        tls.get_mut(),
        &format!("AUTH PLAIN {}", b64(b"\0demo\0wrong")),
    );
    let r = read_reply(&mut tls);
    assert!(r.starts_with("535 5.7.8"), "{r}");
    say(tls.get_mut(), "AUTH LOGIN");
    assert_eq!(read_reply(&mut tls), "334 VXNlcm5hbWU6\r\n");
    say(tls.get_mut(), "*");
    assert!(read_reply(&mut tls).starts_with("501 5.7.0"));
    say(tls.get_mut(), "AUTH LOGIN");
    assert_eq!(read_reply(&mut tls), "334 VXNlcm5hbWU6\r\n");
    say(tls.get_mut(), &b64(DEMO_USER.as_bytes()));
    assert_eq!(read_reply(&mut tls), "334 UGFzc3dvcmQ6\r\n");
    say(tls.get_mut(), &b64(DEMO_PASSWORD.as_bytes()));
    let r = read_reply(&mut tls);
    assert!(r.starts_with("235 2.7.0"), "{r}");
    say(tls.get_mut(), "AUTH LOGIN");
    assert!(read_reply(&mut tls).starts_with("503 5.5.1"));

    // Pipelined transaction inside TLS.
    say(
        tls.get_mut(),
        "MAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA",
    );
    assert!(read_reply(&mut tls).starts_with("250 2.1.0"));
    assert!(read_reply(&mut tls).starts_with("250 2.1.5"));
    assert!(read_reply(&mut tls).starts_with("354 "));
    say(tls.get_mut(), "Subject: over TLS\r\n\r\n..stuffed\r\n.");
    let r = read_reply(&mut tls);
    assert!(r.starts_with("250 2.0.0"), "{r}");
    say(tls.get_mut(), "QUIT");
    assert!(read_reply(&mut tls).starts_with("221 2.0.0"));
    let mut rest = Vec::new();
    let _ = tls.read_to_end(&mut rest);

    let list = smtpsh::sandbox::inbox::list(sandbox.maildir()).expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].subject, "over TLS");
    let stored = fs::read(&list[0].entry.path).expect("read");
    let stored = String::from_utf8_lossy(&stored);
    assert!(stored.contains("with ESMTPSA id"), "{stored}");
    assert!(stored.ends_with("\r\n\r\n.stuffed\r\n"), "{stored}");
    assert!(!stored.contains("injected"));
}

#[test]
fn starttls_and_auth_with_python_smtplib_and_the_ca_file() {
    let data = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::start_in(data.path()).expect("start sandbox");
    let script = r#"
import smtplib, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
with smtplib.SMTP("127.0.0.1", port, timeout=20) as s:
    s.ehlo("py.example")
    assert s.has_extn("starttls"), s.esmtp_features
    s.starttls(context=ctx)
    s.ehlo("py.example")
    assert not s.has_extn("starttls")
    try:
        s.login("demo", "wrong")
        raise SystemExit("wrong password accepted")
    except smtplib.SMTPAuthenticationError as e:
        assert e.smtp_code == 535, e
    s.login("demo", "sandbox-password")
    s.sendmail("py@example.org", ["rcpt@example.org"], b"Subject: from python\r\n\r\nhello\r\n")
print("PYTHON-OK")
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(sandbox.port().to_string())
        .arg(sandbox.ca_file())
        .output()
        .expect("python3 must be installed (it is part of the test tooling)");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("PYTHON-OK"),
        "{}",
        describe_output(&out)
    );
    let list = smtpsh::sandbox::inbox::list(sandbox.maildir()).expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].subject, "from python");
}

/// Spawns `smtpsh --sandbox -f -` with stdin kept open; its stdout lines
/// arrive on the returned channel.
fn spawn_waiting(dir: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", dir)
        .args(["--sandbox", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn smtpsh");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits for the `sandbox listening` line; returns the port.
fn wait_for_port(rx: &mpsc::Receiver<String>) -> u16 {
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the sandbox banner in time");
        if let Some(p) = sandbox_port(&line) {
            return p;
        }
    }
}

#[test]
fn two_smtpsh_processes_with_sandboxes_at_once_do_not_collide() {
    let data = tempfile::tempdir().expect("temp dir");
    let (mut a, rx_a) = spawn_waiting(data.path());
    let (mut b, rx_b) = spawn_waiting(data.path());
    // Both are listening at the same time, on different ports.
    let (port_a, port_b) = (wait_for_port(&rx_a), wait_for_port(&rx_b));
    assert_ne!(port_a, port_b);
    for (child, who) in [(&mut a, "a"), (&mut b, "b")] {
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(
            stdin,
            "from {who}@example.com\nto friend@example.org\nsubject from {who}\nbody hello\nsend"
        )
        .expect("write script");
    }
    for child in [&mut a, &mut b] {
        let status = child.wait().expect("wait");
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        assert!(status.success(), "{status:?}: {err}");
    }
    let list = smtpsh::sandbox::inbox::list(&data.path().join("Maildir")).expect("list");
    let mut subjects: Vec<&str> = list.iter().map(|m| m.subject.as_str()).collect();
    subjects.sort();
    assert_eq!(subjects, ["from a", "from b"]);
}

#[test]
fn connect_sandbox_reuses_the_running_server_and_inbox_errors_say_what_to_do() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", data.path()).args([
        "-c",
        "inbox",
        "-c",
        "connect sandbox",
        "-c",
        "connect sandbox",
        "-c",
        "quit",
        "-c",
        "inbox 1",
    ]);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 1, "inbox 1 of an empty inbox fails");
    let text = stdout(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("the sandbox inbox is empty"), "{text}");
    assert_eq!(text.matches("sandbox listening on").count(), 1, "{text}");
    assert!(
        text.contains("the sandbox is already running on 127.0.0.1:"),
        "{text}"
    );
    assert!(err.contains("the sandbox inbox is empty"), "{err}");
    assert!(err.contains("connect sandbox"), "{err}");

    // One message, then ask for number 5 and a bad number.
    let work = tempfile::tempdir().expect("temp dir");
    let out = run_sandbox_script(
        data.path(),
        work.path(),
        "from a@example.com\nto b@example.org\nbody x\nsend\ninbox 5\n",
    );
    assert_exit(&out, 1, "no message 5");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("there is no message 5"), "{err}");
    assert!(err.contains("`inbox` lists the messages"), "{err}");
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", data.path())
        .args(["-c", "inbox x"]);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 1, "bad number");
    assert!(String::from_utf8_lossy(&out.stderr).contains("'x' is not a message number"));

    // An unreadable Maildir (a file where the directory should be).
    let broken = tempfile::tempdir().expect("temp dir");
    fs::write(broken.path().join("Maildir"), b"not a directory").expect("write");
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", broken.path())
        .args(["-c", "inbox"]);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 1, "unreadable Maildir");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read"), "{err}");
    assert!(err.contains("SMTPSH_SANDBOX_DIR"), "{err}");
}
