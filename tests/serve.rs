//! `smtpsh serve` as a program: started on a free loopback port with a
//! private Maildir and sandbox directory, spoken to over TCP (a tiny client
//! here, or smtpsh itself), stopped with SIGTERM. Every wait is bounded.

mod support;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{assert_exit, describe_output, path_str, run_with_timeout, smtpsh};

/// How long any one step may take.
const STEP: Duration = Duration::from_secs(15);

/// A running `smtpsh serve`; killed on drop if still running.
struct Serve {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: std::thread::JoinHandle<String>,
    /// `SMTPSH_SANDBOX_DIR` (and HOME), private to this run.
    home: tempfile::TempDir,
    maildir: PathBuf,
}

impl Serve {
    /// Starts `smtpsh serve --maildir <temp> ARGS` with a private sandbox
    /// directory and HOME.
    fn start(args: &[&str]) -> Serve {
        Serve::start_with(args, &[])
    }

    fn start_with(args: &[&str], env: &[(&str, &str)]) -> Serve {
        let home = tempfile::tempdir().expect("temp home");
        let maildir = home.path().join("mail");
        let mut cmd = serve_command(home.path());
        cmd.arg("--maildir").arg(&maildir).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn smtpsh serve");
        let out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Serve {
            child,
            lines,
            seen: Vec::new(),
            stderr,
            home,
            maildir,
        }
    }

    /// The next line of standard output.
    fn next_line(&mut self) -> String {
        match self.lines.recv_timeout(STEP) {
            Ok(line) => {
                self.seen.push(line.clone());
                line
            }
            Err(e) => panic!(
                "no line from serve ({e}); so far:\n{}",
                self.seen.join("\n")
            ),
        }
    }

    /// The next JSON event line, parsed.
    fn next_event(&mut self) -> Value {
        let line = self.next_line();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    /// Waits for the JSON event named `name` (skipping others).
    fn event(&mut self, name: &str) -> Value {
        let until = Instant::now() + STEP;
        while Instant::now() < until {
            let v = self.next_event();
            if v["event"] == name {
                return v;
            }
        }
        panic!("no {name} event; so far:\n{}", self.seen.join("\n"));
    }

    /// The address from the `listening` event (JSON mode).
    fn listening(&mut self) -> (SocketAddr, Value) {
        let v = self.event("listening");
        let addr = v["address"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {v}"));
        (addr, v)
    }

    fn signal(&self, sig: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        kill(pid, sig).expect("send the signal");
    }

    /// Waits for the process to end; its status, standard error and every
    /// line of standard output. (The temporary directories stay until
    /// `self` is dropped.)
    fn wait(&mut self) -> (ExitStatus, String, Vec<String>) {
        let until = Instant::now() + STEP;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() >= until {
                let _ = self.child.kill();
                panic!(
                    "serve did not exit within {STEP:?}; output:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The rest of standard output.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new))
            .join()
            .unwrap_or_default();
        (status, stderr, std::mem::take(&mut self.seen))
    }

    /// Files in the Maildir's `sub` directory.
    fn files(&self, sub: &str) -> Vec<PathBuf> {
        list(&self.maildir.join(sub))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `smtpsh serve` with HOME, XDG_DATA_HOME and SMTPSH_SANDBOX_DIR in `home`.
fn serve_command(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("SMTPSH_SANDBOX_DIR", home.join("sandbox"))
        .env("NO_COLOR", "1")
        .current_dir(home)
        .arg("serve");
    cmd
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// A tiny SMTP client: lines out, replies in.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    fn connect(addr: SocketAddr) -> Client {
        let to = SocketAddr::new([127, 0, 0, 1].into(), addr.port());
        let w = TcpStream::connect_timeout(&to, STEP).expect("connect");
        w.set_read_timeout(Some(STEP)).expect("timeout");
        let r = BufReader::new(w.try_clone().expect("clone"));
        let mut c = Client { r, w };
        let greeting = c.reply();
        assert!(greeting.starts_with("220"), "{greeting}");
        c
    }

    /// One reply, all its lines.
    fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = self.r.read_line(&mut line).expect("read a reply");
            assert!(n > 0, "connection closed; got so far: {all:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("write");
        self.w.flush().expect("flush");
    }

    /// Sends `line` + CRLF, returns the reply.
    fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    /// Expects a reply starting with `code` to `line`.
    fn ok(&mut self, line: &str, code: &str) -> String {
        let reply = self.command(line);
        assert!(reply.starts_with(code), "{line} -> {reply}");
        reply
    }

    /// EHLO, MAIL, RCPT, DATA: ready for the content.
    fn start_message(&mut self, rcpt: &str) {
        self.ok("EHLO client.test", "250");
        self.ok("MAIL FROM:<ann@example.com>", "250");
        self.ok(rcpt, "250");
        self.ok("DATA", "354");
    }
}

/// A message of about `kib` KiB with `subject`, CRLF, no final dot.
fn message(subject: &str, kib: usize) -> Vec<u8> {
    let mut m = format!(
        "From: Ann <ann@example.com>\r\nTo: bob@example.org\r\nSubject: {subject}\r\n\
         Message-ID: <serve-test@example.com>\r\n\r\n"
    )
    .into_bytes();
    for i in 0..kib * 16 {
        m.extend_from_slice(format!("line {i:06} {}\r\n", "x".repeat(50)).as_bytes());
    }
    m
}

#[test]
fn a_message_delivered_over_tcp_becomes_a_stored_event_and_a_file() {
    let mut serve = Serve::start(&["--listen", "127.0.0.1:0", "--json"]);
    let (addr, listening) = serve.listening();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{listening}");
    assert_eq!(listening["network"], false);
    assert!(listening.get("warning").is_none(), "{listening}");
    assert_eq!(listening["demo_account"], true);
    assert_eq!(listening["auth_user"], "demo");
    assert_eq!(listening["max_size"], 50 * 1024 * 1024);
    // Its own CA, in its own instance directory of the sandbox directory.
    let ca_file = PathBuf::from(listening["ca_file"].as_str().expect("ca_file"));
    let instances = serve.home.path().join("sandbox/instances");
    assert!(ca_file.starts_with(&instances), "{}", ca_file.display());
    let pem = fs::read_to_string(&ca_file).expect("read the CA file");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

    let mut c = Client::connect(addr);
    c.start_message(
        "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org",
    );
    let content = message("Quarterly report", 4);
    c.send(&content);
    let reply = c.command(".");
    assert!(reply.starts_with("250"), "{reply}");
    c.ok("QUIT", "221");

    let stored = serve.event("stored");
    let id = stored["queue_id"].as_str().expect("queue_id");
    assert!(!id.is_empty() && reply.contains(id), "{reply} / {stored}");
    assert_eq!(stored["from"], "ann@example.com");
    assert_eq!(stored["helo"], "client.test");
    assert_eq!(stored["recipients"][0]["address"], "bob@example.org");
    assert_eq!(stored["recipients"][0]["notify"], "SUCCESS,FAILURE");
    assert_eq!(stored["recipients"][0]["orcpt"], "rfc822;bob@example.org");
    assert_eq!(stored["subject"], "Quarterly report");
    assert_eq!(stored["size"], content.len() as u64, "{stored}");
    assert_eq!(stored["parts"], 1);
    assert_eq!(stored["tls"], false);
    assert!(stored["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    let path = PathBuf::from(stored["path"].as_str().expect("path"));
    assert_eq!(path.parent(), Some(serve.maildir.join("new").as_path()));
    let file = fs::read(&path).expect("the stored file");
    assert!(
        file.ends_with(&content),
        "the file ends with the content as sent"
    );
    assert_eq!(serve.files("new"), vec![path]);

    serve.signal(Signal::SIGTERM);
    let stopping = serve.event("stopping");
    assert_eq!(stopping["signal"], "SIGTERM");
    let stopped = serve.event("stopped");
    assert_eq!(stopped["stored"], 1);
    assert_eq!(stopped["at_once"], false);
    let (status, stderr, _) = serve.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!ca_file.exists(), "a clean stop removes its CA directory");
    assert!(list(&instances).is_empty(), "{:?}", list(&instances));
}

#[test]
fn sigterm_while_a_message_is_in_flight_stores_it_whole_or_not_at_all() {
    let mut serve = Serve::start(&["--listen", "127.0.0.1:0", "--json"]);
    let (addr, _) = serve.listening();
    let mut c = Client::connect(addr);
    c.start_message("RCPT TO:<bob@example.org>");
    let content = message("in flight", 64);
    let (first, rest) = content.split_at(content.len() / 2);
    c.send(first);

    serve.signal(Signal::SIGTERM);
    serve.event("stopping");
    // Give the server time to see the stop while the message is half read.
    std::thread::sleep(Duration::from_millis(300));
    c.send(rest);
    c.send(b".\r\n");
    let reply = c.reply();

    let (status, stderr, lines) = serve.wait();
    assert_eq!(status.code(), Some(0), "{stderr}\n{}", lines.join("\n"));
    let (new, tmp) = (serve.files("new"), serve.files("tmp"));
    assert!(tmp.is_empty(), "tmp/ must be empty: {tmp:?}");
    if reply.starts_with("250") {
        assert_eq!(
            new.len(),
            1,
            "{reply}: exactly one message stored\n{}",
            lines.join("\n")
        );
        let file = fs::read(&new[0]).expect("read");
        assert!(file.ends_with(&content), "stored whole");
        assert!(lines.iter().any(|l| l.contains("\"event\":\"stored\"")));
    } else {
        assert!(
            reply.starts_with('4') || reply.starts_with('5'),
            "250 or a refusal: {reply}"
        );
        assert!(new.is_empty(), "refused ({reply}) but stored: {new:?}");
    }
}

#[test]
fn a_second_signal_stops_at_once_and_stores_nothing_half() {
    let mut serve = Serve::start(&["--listen", "127.0.0.1:0", "--json"]);
    let (addr, listening) = serve.listening();
    let ca_file = PathBuf::from(listening["ca_file"].as_str().expect("ca_file"));
    let mut c = Client::connect(addr);
    c.start_message("RCPT TO:<bob@example.org>");
    let content = message("never finished", 16);
    c.send(&content[..content.len() / 2]);
    serve.signal(Signal::SIGTERM);
    serve.event("stopping");
    serve.signal(Signal::SIGINT);
    let stopped = serve.event("stopped");
    assert_eq!(stopped["at_once"], true, "{stopped}");
    assert_eq!(stopped["signal"], "SIGINT");
    assert_eq!(stopped["stored"], 0);
    assert_eq!(stopped["still_open"], 1);
    let (status, stderr, _) = serve.wait();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(serve.files("new").is_empty(), "nothing half-stored in new/");
    assert!(!ca_file.exists(), "the CA directory goes even then");
    drop(c);
}

#[test]
fn sigterm_with_an_idle_client_says_421_and_exits_0() {
    let mut serve = Serve::start(&["--listen", "127.0.0.1:0", "--json"]);
    let (addr, _) = serve.listening();
    let mut c = Client::connect(addr);
    c.ok("EHLO idle.test", "250");
    serve.signal(Signal::SIGTERM);
    let reply = c.reply();
    assert!(reply.starts_with("421 4.3.2"), "{reply}");
    let stopping = serve.event("stopping");
    assert_eq!(stopping["signal"], "SIGTERM");
    let (status, stderr, lines) = serve.wait();
    assert_eq!(status.code(), Some(0), "{stderr}\n{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l.contains("\"event\":\"stopped\"")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn listening_beyond_loopback_warns_on_the_start_line() {
    let mut serve = Serve::start(&["--listen", "0.0.0.0:0"]);
    let start = serve.next_line();
    let warning = serve.next_line();
    assert!(start.contains("listening on 0.0.0.0:"), "{start}");
    assert!(
        warning.contains("  WARNING: not a loopback address: this accepts mail from the network"),
        "{warning}"
    );
    let port: u16 = start
        .split("listening on 0.0.0.0:")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {start}"));
    let mut c = Client::connect(SocketAddr::from(([127, 0, 0, 1], port)));
    c.ok("QUIT", "221");
    serve.signal(Signal::SIGINT);
    let (status, stderr, lines) = serve.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        lines.iter().any(|l| l.contains("stopping on SIGINT")),
        "{lines:?}"
    );
}

#[test]
fn text_mode_writes_one_line_per_event_and_escapes_a_hostile_subject() {
    let mut serve = Serve::start(&["--listen", "127.0.0.1:0"]);
    let start = serve.next_line();
    // The start: the address, then one indented line per fact.
    let facts: Vec<String> = (0..4).map(|_| serve.next_line()).collect();
    assert!(start.contains(" listening on 127.0.0.1:"), "{start}");
    assert!(facts.iter().all(|f| f.starts_with("  ")), "{facts:#?}");
    assert!(!facts.iter().any(|f| f.contains("WARNING")), "{facts:#?}");
    assert!(
        facts[2].contains("the demo account (user demo, password sandbox-password)"),
        "{facts:#?}"
    );
    let port: u16 = start
        .split("listening on 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {start}"));
    let mut c = Client::connect(SocketAddr::from(([127, 0, 0, 1], port)));
    c.start_message("RCPT TO:<bob@example.org>");
    // A raw ESC sequence and an encoded word that decodes to CR LF and ESC.
    let subject = "pwn \x1b]0;title\x07 \x1b[2J =?utf-8?q?a=0D=0Ainjected=1B[31m_red?=";
    c.send(&message(subject, 1));
    let reply = c.command(".");
    assert!(reply.starts_with("250"), "{reply}");
    // A refusal, echoing what the client sent.
    let refused = c.command("RCPT TO:<x\x1b[1m@example.org>");
    assert!(refused.starts_with('5'), "{refused}");
    c.ok("QUIT", "221");
    let stored = serve.next_line();
    let refusal = serve.next_line();
    serve.signal(Signal::SIGTERM);
    let (status, stderr, lines) = serve.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    // Nine lines: the start (five), stored, refused, stopping, stopped — no
    // more (an injected line break would add one).
    assert_eq!(lines.len(), 9, "{lines:#?}");
    for line in &lines {
        assert!(
            !line.chars().any(|c| c.is_control()),
            "a control character reached the output: {line:?}"
        );
    }
    assert!(stored.contains(" stored "), "{stored}");
    assert!(
        stored.contains("from <ann@example.com> to <bob@example.org>"),
        "{stored}"
    );
    assert!(
        stored.contains("pwn \\x1b]0;title\\x07 \\x1b[2J"),
        "{stored}"
    );
    assert!(
        stored.contains("\\x0d\\x0ainjected\\x1b[31m red"),
        "{stored}"
    );
    assert!(refusal.contains(" refused 127.0.0.1:"), "{refusal}");
    assert!(refusal.contains("RCPT"), "{refusal}");
    assert!(
        lines[8].contains("stopped: 1 message stored this run"),
        "{lines:#?}"
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, as PEM files
/// in `dir`: (ca, cert chain, key).
fn make_certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("CA");
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("leaf params")
        .signed_by(&key, &issuer)
        .expect("leaf");
    let (ca_file, cert_file, key_file) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    fs::write(&ca_file, ca_cert.pem()).expect("write ca");
    fs::write(&cert_file, leaf.pem() + &ca_cert.pem()).expect("write cert");
    fs::write(&key_file, key.serialize_pem()).expect("write key");
    (ca_file, cert_file, key_file)
}

#[test]
fn a_given_certificate_serves_starttls_to_smtpsh_with_cafile() {
    let certs = tempfile::tempdir().expect("temp dir");
    let (ca, cert, key) = make_certificate(certs.path());
    let (cert_s, key_s) = (path_str(&cert), path_str(&key));
    let mut serve = Serve::start(&[
        "--listen",
        "127.0.0.1:0",
        "--json",
        "--tls-cert",
        &cert_s,
        "--tls-key",
        &key_s,
        "--hostname",
        "catcher.test",
    ]);
    let (addr, listening) = serve.listening();
    assert!(listening["ca_file"].is_null(), "{listening}");
    assert_eq!(listening["tls_cert"], cert_s.as_str());
    assert_eq!(listening["hostname"], "catcher.test");

    let mut cmd = smtpsh();
    cmd.arg("--cafile").arg(&ca).args([
        "-c",
        &format!("connect 127.0.0.1 {}", addr.port()),
        "-c",
        "starttls",
        "-c",
        "from ann@example.com",
        "-c",
        "to bob@example.org",
        "-c",
        "subject over tls",
        "-c",
        "body hello",
        "-c",
        "send",
    ]);
    let out = run_with_timeout(cmd, STEP);
    assert_exit(&out, 0, "STARTTLS against serve with a given certificate");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("catcher.test"), "{}", describe_output(&out));
    let stored = serve.event("stored");
    assert_eq!(stored["tls"], true, "{stored}");
    assert_eq!(stored["subject"], "over tls");

    serve.signal(Signal::SIGTERM);
    let home = serve.home.path().to_path_buf();
    let (status, stderr, _) = serve.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        !home.join("sandbox/instances").exists()
            || list(&home.join("sandbox/instances")).is_empty(),
        "no CA of its own with --tls-cert"
    );
}

/// Runs `smtpsh serve ARGS` expecting it to exit at once; (status, stderr).
fn serve_fails(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let home = tempfile::tempdir().expect("temp home");
    let mut cmd = serve_command(home.path());
    cmd.arg("--maildir")
        .arg(home.path().join("mail"))
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_with_timeout(cmd, STEP);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_certificate_files_stop_it_with_a_clear_error() {
    let certs = tempfile::tempdir().expect("temp dir");
    let (_, cert, key) = make_certificate(certs.path());
    let other = certs.path().join("other");
    fs::create_dir(&other).expect("mkdir");
    let (_, _, other_key) = make_certificate(&other);
    let listen = ["--listen", "127.0.0.1:0"];

    let (code, err) = serve_fails(
        &[
            &listen[..],
            &[
                "--tls-cert",
                &path_str(&cert),
                "--tls-key",
                &path_str(&other_key),
            ],
        ]
        .concat(),
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("does not belong to the certificate"), "{err}");

    let missing = certs.path().join("missing.pem");
    let (code, err) = serve_fails(
        &[
            &listen[..],
            &[
                "--tls-cert",
                &path_str(&missing),
                "--tls-key",
                &path_str(&key),
            ],
        ]
        .concat(),
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("cannot read the certificate file") && err.contains("missing.pem"),
        "{err}"
    );

    let (code, err) = serve_fails(
        &[
            &listen[..],
            &[
                "--tls-cert",
                &path_str(&cert),
                "--tls-key",
                &path_str(&cert),
            ],
        ]
        .concat(),
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("no PEM private key"), "{err}");

    // --tls-cert alone is a usage error.
    let (code, err) = serve_fails(&["--tls-cert", &path_str(&cert)], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--tls-key"), "{err}");
}

#[test]
fn a_port_in_use_is_named_with_another_to_try() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let (code, err) = serve_fails(&["--listen", &format!("127.0.0.1:{port}")], &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!("port {port} on 127.0.0.1 is already in use")),
        "{err}"
    );
    assert!(err.contains("--listen 127.0.0.1:2525"), "{err}");
    drop(taken);
}

#[test]
fn auth_user_takes_its_password_from_the_environment_and_never_prints_it() {
    let secret = "correct-horse-battery";
    let (code, err) = serve_fails(
        &[
            "--listen",
            "127.0.0.1:0",
            "--auth-user",
            "app",
            "--password-env",
            "SERVE_TEST_PW",
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("SERVE_TEST_PW is not set"), "{err}");
    let (code, err) = serve_fails(&["--auth-user", "app"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--password-env"), "{err}");

    let mut serve = Serve::start_with(
        &[
            "--listen",
            "127.0.0.1:0",
            "--json",
            "--auth-user",
            "app",
            "--password-env",
            "SERVE_TEST_PW",
        ],
        &[("SERVE_TEST_PW", secret)],
    );
    let (addr, listening) = serve.listening();
    assert_eq!(listening["auth_user"], "app");
    assert_eq!(listening["demo_account"], false);
    assert_eq!(listening["password_env"], "SERVE_TEST_PW");
    let mut c = Client::connect(addr);
    c.ok("EHLO client.test", "250");
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    c.ok(
        &format!("AUTH PLAIN {}", b64.encode("\0demo\0sandbox-password")),
        "535",
    );
    c.ok(
        &format!("AUTH PLAIN {}", b64.encode(format!("\0app\0{secret}"))),
        "235",
    );
    c.ok("QUIT", "221");
    serve.signal(Signal::SIGTERM);
    let (status, stderr, lines) = serve.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let all = lines.join("\n") + &stderr;
    assert!(!all.contains(secret), "the password was printed: {all}");
}

#[test]
fn help_exits_0_and_a_bad_listen_address_is_a_usage_error() {
    let home = tempfile::tempdir().expect("temp home");
    let mut help = serve_command(home.path());
    help.arg("--help");
    let out = run_with_timeout(help, STEP);
    assert_exit(&out, 0, "serve --help");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--listen <ADDR:PORT>"), "{text}");

    let (code, err) = serve_fails(&["--listen", "example.org:25"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("ADDR:PORT"), "{err}");
}
