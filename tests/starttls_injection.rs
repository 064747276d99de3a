//! STARTTLS against scripted fake servers (no external server needed): the
//! CVE-2011-0411-class response injection, `--require-tls` when STARTTLS
//! is missing or refused, and AUTH over TLS with every secret masked.

mod tls_support;

use base64::Engine as _;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tls_support::{Peer, Pki, fake_server};

/// Runs smtpsh with a private home, no colour, no history, stdin null.
fn smtpsh(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = tempfile::tempdir().expect("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("NO_COLOR", "1")
        .env_remove("SMTPSH_HISTORY")
        .current_dir(home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .arg("--no-history")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("run smtpsh");
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.expect("smtpsh output"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("smtpsh did not finish within 60 s");
        }
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn describe(out: &Output) -> String {
    let (o, e) = text(out);
    format!(
        "status {:?}\n--- stdout ---\n{o}\n--- stderr ---\n{e}",
        out.status.code()
    )
}

/// Greets, answers EHLO with `ehlo` lines, and returns at STARTTLS (or
/// at the end of the input).
fn plaintext_phase(p: &mut Peer, ehlo: &[u8]) -> Option<String> {
    p.send(b"220 fake.test ESMTP\r\n");
    loop {
        let line = p.line()?;
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => p.send(ehlo),
            "QUIT" => {
                p.send(b"221 2.0.0 bye\r\n");
                return None;
            }
            "STARTTLS" => return Some(line),
            _ => p.send(b"530 5.7.0 Must issue a STARTTLS command first\r\n"),
        }
    }
}

/// After TLS: EHLO, NOOP, AUTH PLAIN (checks `expected_plain`), QUIT.
fn tls_phase(p: &mut Peer, expected_plain: Option<String>) {
    while let Some(line) = p.line() {
        let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => p.send(
                b"250-fake.test after TLS\r\n250-AUTH PLAIN LOGIN CRAM-MD5\r\n250 SIZE 1000\r\n",
            ),
            "NOOP" => p.send(b"250 2.0.0 noop inside TLS\r\n"),
            "AUTH" => {
                let ok = expected_plain
                    .as_deref()
                    .is_some_and(|want| line == format!("AUTH PLAIN {want}"));
                if ok {
                    p.send(b"235 2.7.0 Authentication successful\r\n");
                } else {
                    p.send(b"535 5.7.8 Authentication credentials invalid\r\n");
                }
            }
            "QUIT" => {
                p.send(b"221 2.0.0 bye\r\n");
                return;
            }
            _ => p.send(b"502 5.5.2 not here\r\n"),
        }
    }
}

#[test]
fn injected_reply_after_starttls_is_discarded() {
    let pki = Pki::new();
    let config = pki.server_config();
    let (port, server) = fake_server(move |p| {
        if plaintext_phase(p, b"250-fake.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n").is_none() {
            return;
        }
        // The 220 and a forged reply in ONE write: a client that keeps its
        // read buffer would take "250 injected" as the reply to the EHLO
        // it sends inside TLS.
        p.send(b"220 2.0.0 Ready to start TLS\r\n250 injected\r\n");
        p.start_tls(config);
        tls_phase(p, None);
    });
    let out = smtpsh(
        &[
            "--cafile",
            &pki.ca_str(),
            "-c",
            &format!("connect 127.0.0.1 {port}"),
            "-c",
            "ehlo client.test",
            "-c",
            "starttls",
            "-c",
            "noop",
            "-c",
            "status",
            "-c",
            "quit",
        ],
        &[],
    );
    let log = server.join().expect("server");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    // Never shown as a reply, never used as one.
    assert!(!stdout.contains("250 injected"), "{}", describe(&out));
    assert!(
        stderr.contains("sent 14 bytes after its 220 to STARTTLS")
            && stderr.contains("discarded unread"),
        "{}",
        describe(&out)
    );
    // The post-TLS EHLO reply is the one shown, inside TLS.
    assert!(
        stdout.contains("<~  250-fake.test after TLS"),
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains(" ~> EHLO client.test"),
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains(
            "capabilities after TLS: +AUTH PLAIN LOGIN CRAM-MD5, +SIZE 1000, -PIPELINING, -STARTTLS"
        ),
        "{}",
        describe(&out)
    );
    // Replies stay matched to commands: NOOP gets the NOOP reply.
    assert!(
        stdout.contains("<~  250 2.0.0 noop inside TLS"),
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains("tls:          TLS 1."),
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains("  [1] server: CN=localhost"),
        "{}",
        describe(&out)
    );
    assert!(
        stdout.contains("verified:     yes, for 127.0.0.1, against the CA in"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        log,
        vec![
            "EHLO client.test",
            "STARTTLS",
            "[TLS]",
            "EHLO client.test",
            "NOOP",
            "QUIT"
        ],
        "{}",
        describe(&out)
    );
}

#[test]
fn starttls_option_upgrades_at_once_and_auth_is_masked() {
    let pki = Pki::new();
    let config = pki.server_config();
    let password = "Tr0ub4dor&3-unique-7f3a";
    let plain = base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{password}"));
    let (port, server) = fake_server(move |p| {
        if plaintext_phase(p, b"250-fake.test\r\n250 STARTTLS\r\n").is_none() {
            return;
        }
        p.send(b"220 2.0.0 go ahead\r\n");
        p.start_tls(config);
        tls_phase(p, Some(plain));
    });
    let record = tempfile::NamedTempFile::new().expect("record file");
    let record_path = record.path().to_str().expect("utf-8").to_string();
    let out = smtpsh(
        &[
            "--starttls",
            "--cafile",
            &pki.ca_str(),
            "localhost",
            &port.to_string(),
            "-c",
            &format!("record {record_path} --force"),
            "-c",
            "auth PLAIN alice --password-env SMTPSH_TEST_SECRET",
            "-c",
            "status",
            "-c",
            "quit",
        ],
        &[("SMTPSH_TEST_SECRET", password)],
    );
    let log = server.join().expect("server");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
    assert!(stdout.contains(" ~> AUTH PLAIN ****"), "{}", describe(&out));
    assert!(stdout.contains("<~  235 2.7.0"), "{}", describe(&out));
    assert!(
        stdout.contains("authenticated as alice"),
        "{}",
        describe(&out)
    );
    let recorded = std::fs::read_to_string(record.path()).expect("record");
    assert!(
        recorded.contains("auth PLAIN alice --password-env SMTPSH_TEST_SECRET"),
        "{recorded}"
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{password}"));
    for haystack in [&stdout, &stderr, &recorded] {
        assert!(!haystack.contains(password), "password leaked:\n{haystack}");
        assert!(
            !haystack.contains(&b64),
            "encoded password leaked:\n{haystack}"
        );
    }
    let verbs: Vec<&str> = log
        .iter()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    assert_eq!(
        verbs,
        ["EHLO", "STARTTLS", "[TLS]", "EHLO", "AUTH", "QUIT"],
        "{log:?}"
    );
}

#[test]
fn wrong_password_is_535_and_exit_4() {
    let pki = Pki::new();
    let config = pki.server_config();
    let (port, server) = fake_server(move |p| {
        if plaintext_phase(p, b"250-fake.test\r\n250 STARTTLS\r\n").is_none() {
            return;
        }
        p.send(b"220 2.0.0 go ahead\r\n");
        p.start_tls(config);
        tls_phase(p, Some("never-matches".into()));
    });
    let out = smtpsh(
        &[
            "--starttls",
            "--cafile",
            &pki.ca_str(),
            "127.0.0.1",
            &port.to_string(),
            "-c",
            "auth PLAIN alice --password-env SMTPSH_TEST_SECRET",
        ],
        &[("SMTPSH_TEST_SECRET", "wrong-password-xyz")],
    );
    server.join().expect("server");
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{}", describe(&out));
    assert!(stdout.contains("<~  535 5.7.8"), "{}", describe(&out));
    assert!(stderr.contains("535"), "{}", describe(&out));
    assert!(!stdout.contains("wrong-password-xyz") && !stderr.contains("wrong-password-xyz"));
}

#[test]
fn require_tls_stops_when_starttls_is_missing() {
    let (port, server) = fake_server(|p| {
        plaintext_phase(p, b"250-fake.test\r\n250 PIPELINING\r\n");
    });
    let out = smtpsh(
        &[
            "--require-tls",
            "-c",
            &format!("connect 127.0.0.1 {port}"),
            "-c",
            "from a@example.com",
            "-c",
            "to b@example.com",
            "-c",
            "send",
        ],
        &[],
    );
    let log = server.join().expect("server");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr.contains("does not offer STARTTLS"),
        "{}",
        describe(&out)
    );
    assert!(
        stderr.contains("nothing was sent in plaintext but QUIT"),
        "{}",
        describe(&out)
    );
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].starts_with("EHLO "), "{log:?}");
    assert_eq!(log[1], "QUIT");
}

#[test]
fn require_tls_stops_when_starttls_is_refused() {
    let (port, server) = fake_server(|p| {
        if plaintext_phase(p, b"250-fake.test\r\n250 STARTTLS\r\n").is_some() {
            p.send(b"454 4.7.0 TLS not available due to local problem\r\n");
            plaintext_phase_after(p);
        }
    });
    let out = smtpsh(
        &[
            "--require-tls",
            "-c",
            &format!("connect 127.0.0.1 {port}"),
            "-c",
            "from a@example.com",
        ],
        &[],
    );
    let log = server.join().expect("server");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(
        stderr.contains("answered STARTTLS with 454"),
        "{}",
        describe(&out)
    );
    assert_eq!(
        log[1..],
        ["STARTTLS".to_string(), "QUIT".to_string()],
        "{log:?}"
    );
}

/// Answers QUIT after a refused STARTTLS.
fn plaintext_phase_after(p: &mut Peer) {
    while let Some(line) = p.line() {
        if line.eq_ignore_ascii_case("QUIT") {
            p.send(b"221 bye\r\n");
            return;
        }
        p.send(b"530 5.7.0 Must issue a STARTTLS command first\r\n");
    }
}

#[test]
fn untrusted_certificate_is_refused_and_nothing_follows() {
    let pki = Pki::new();
    let config = pki.server_config();
    let (port, server) = fake_server(move |p| {
        if plaintext_phase(p, b"250-fake.test\r\n250 STARTTLS\r\n").is_none() {
            return;
        }
        p.send(b"220 2.0.0 go ahead\r\n");
        p.start_tls(config);
        // Whatever arrives afterwards would be logged.
        let _ = p.line();
    });
    // No --cafile: the test CA is not among the system's roots.
    let out = smtpsh(
        &[
            "-c",
            &format!("connect --starttls localhost {port}"),
            "-c",
            "from a@example.com",
        ],
        &[],
    );
    let log = server.join().expect("server");
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{}", describe(&out));
    assert!(stderr.contains("unknown issuer"), "{}", describe(&out));
    assert!(stderr.contains("--cafile"), "{}", describe(&out));
    assert_eq!(
        log[1..],
        ["STARTTLS".to_string(), "[TLS FAILED]".to_string()],
        "{log:?}"
    );
}

#[test]
fn cram_md5_and_login_over_tls() {
    for (mechanism, steps) in [
        (
            "CRAM-MD5",
            // challenge, expected response
            vec![(
                "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+",
                "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw",
            )],
        ),
        (
            "LOGIN",
            vec![
                ("VXNlcm5hbWU6", "dGlt"),
                ("UGFzc3dvcmQ6", "dGFuc3RhYWZ0YW5zdGFhZg=="),
            ],
        ),
    ] {
        let pki = Pki::new();
        let config = pki.server_config();
        let steps_owned: Vec<(String, String)> = steps
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        let mech = mechanism.to_string();
        let (port, server) = fake_server(move |p| {
            if plaintext_phase(p, b"250-fake.test\r\n250 STARTTLS\r\n").is_none() {
                return;
            }
            p.send(b"220 go\r\n");
            p.start_tls(config);
            while let Some(line) = p.line() {
                if line.starts_with("EHLO") {
                    p.send(b"250-fake\r\n250 AUTH LOGIN CRAM-MD5\r\n");
                } else if line == format!("AUTH {mech}") {
                    let mut ok = true;
                    for (challenge, want) in &steps_owned {
                        p.send(format!("334 {challenge}\r\n").as_bytes());
                        ok &= p.line().as_deref() == Some(want.as_str());
                    }
                    p.send(if ok { b"235 ok\r\n" } else { b"535 no\r\n" });
                } else if line == "QUIT" {
                    p.send(b"221 bye\r\n");
                    return;
                } else {
                    p.send(b"500 what\r\n");
                }
            }
        });
        let out = smtpsh(
            &[
                "--starttls",
                "--cafile",
                &pki.ca_str(),
                "127.0.0.1",
                &port.to_string(),
                "-c",
                &format!("auth {mechanism} tim --password-env SMTPSH_TEST_SECRET"),
                "-c",
                "quit",
            ],
            &[("SMTPSH_TEST_SECRET", "tanstaaftanstaaf")],
        );
        server.join().expect("server");
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{mechanism}: {}",
            describe(&out)
        );
        assert!(stdout.contains("<~  235"), "{}", describe(&out));
        // Challenges are shown decoded, responses masked.
        match mechanism {
            "CRAM-MD5" => assert!(
                stdout.contains("   (<1896.697170952@postoffice.reston.mci.net>)"),
                "{}",
                describe(&out)
            ),
            _ => {
                assert!(
                    stdout.contains("<~  334 VXNlcm5hbWU6   (Username:)"),
                    "{}",
                    describe(&out)
                );
                assert!(
                    stdout.contains("<~  334 UGFzc3dvcmQ6   (Password:)"),
                    "{}",
                    describe(&out)
                );
            }
        }
        assert!(stdout.contains(" ~> ****"), "{}", describe(&out));
        for (_, response) in steps {
            assert!(!stdout.contains(response) && !stderr.contains(response));
        }
        assert!(!stdout.contains("tanstaaf") && !stderr.contains("tanstaaf"));
    }
}

#[test]
fn loopback_plaintext_auth_is_allowed_but_scripts_never_prompt() {
    // A loopback server is the documented exception to "no AUTH without
    // TLS" (warned); a script without --password-env still gets no prompt.
    let (port, server) = fake_server(|p| {
        p.send(b"220 fake.test ESMTP\r\n");
        while let Some(line) = p.line() {
            if line.starts_with("EHLO") {
                p.send(b"250-fake.test\r\n250 AUTH PLAIN\r\n");
            } else if line.starts_with("AUTH PLAIN ") {
                p.send(b"235 ok\r\n");
            } else if line == "QUIT" {
                p.send(b"221 bye\r\n");
                return;
            } else {
                p.send(b"500 what\r\n");
            }
        }
    });
    let out = smtpsh(
        &[
            "-c",
            &format!("connect 127.0.0.1 {port}"),
            "-c",
            "auth alice",
        ],
        &[],
    );
    let log = server.join().expect("server");
    let (_, stderr) = text(&out);
    // Loopback: allowed with a warning; but a script never prompts.
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr.contains("sending credentials without TLS (allowed: the server is on this machine)"),
        "{}",
        describe(&out)
    );
    assert!(stderr.contains("--password-env"), "{}", describe(&out));
    assert!(!log.iter().any(|l| l.starts_with("AUTH")), "{log:?}");
}

/// At a terminal the password is typed with echo off; it reaches neither
/// the screen, the history file nor the recorded script (which names
/// SMTP_PASSWORD instead).
#[test]
fn typed_password_is_not_echoed_recorded_or_remembered() {
    use expectrl::{Eof, Expect, Session};
    let password = "typed-Secret-93kq";
    let want = base64::engine::general_purpose::STANDARD.encode(format!("\0alice\0{password}"));
    let (port, server) = fake_server(move |p| {
        p.send(b"220 fake.test ESMTP\r\n");
        while let Some(line) = p.line() {
            if line.starts_with("EHLO") {
                p.send(b"250-fake.test\r\n250 AUTH PLAIN LOGIN\r\n");
            } else if line == format!("AUTH PLAIN {want}") {
                p.send(b"235 2.7.0 ok\r\n");
            } else if line == "QUIT" {
                p.send(b"221 bye\r\n");
                return;
            } else {
                p.send(b"535 5.7.8 no\r\n");
            }
        }
    });
    let home = tempfile::tempdir().unwrap();
    let record = home.path().join("session.smtpsh");
    let history = home.path().join("history");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.current_dir(home.path())
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("SMTPSH_HISTORY", &history)
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1");
    let mut s = Session::spawn(cmd).expect("spawn smtpsh in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    let prompt = "\x1b[?2004h";
    let mut screen = String::new();
    fn step(s: &mut expectrl::session::OsSession, screen: &mut String, keys: &str, until: &str) {
        s.send(keys).unwrap();
        let cap = s
            .expect(until)
            .unwrap_or_else(|e| panic!("{until:?} after {keys:?}: {e}\n{screen}"));
        screen.push_str(&String::from_utf8_lossy(cap.before()));
        screen.push_str(&String::from_utf8_lossy(
            cap.matches().next().unwrap_or_default(),
        ));
    }
    step(&mut s, &mut screen, "", prompt);
    step(
        &mut s,
        &mut screen,
        &format!("record {}\r", record.display()),
        prompt,
    );
    step(
        &mut s,
        &mut screen,
        &format!("connect 127.0.0.1 {port}\r"),
        prompt,
    );
    // Ctrl-C at the password prompt cancels; nothing is sent.
    step(&mut s, &mut screen, "auth PLAIN alice\r", "(not shown): ");
    step(&mut s, &mut screen, "abc\x03", prompt);
    assert!(screen.contains("cancelled; AUTH was not sent"), "{screen}");
    step(&mut s, &mut screen, "auth PLAIN alice\r", "(not shown): ");
    step(&mut s, &mut screen, &format!("x\x7f{password}\r"), prompt);
    step(&mut s, &mut screen, "quit\r", prompt);
    s.send("exit\r").unwrap();
    let rest = s.expect(Eof).expect("exit");
    screen.push_str(&String::from_utf8_lossy(rest.before()));
    server.join().expect("server");
    assert!(screen.contains("authenticated as alice"), "{screen}");
    assert!(screen.contains(" -> AUTH PLAIN ****"), "{screen}");
    assert!(!screen.contains(password), "echoed:\n{screen}");
    let recorded = std::fs::read_to_string(&record).expect("record file");
    assert!(
        recorded.contains("auth PLAIN alice --password-env SMTP_PASSWORD"),
        "{recorded}"
    );
    assert!(
        recorded.contains("# the password was typed at a prompt"),
        "{recorded}"
    );
    let remembered = std::fs::read_to_string(&history).unwrap_or_default();
    assert!(remembered.contains("auth PLAIN alice"), "{remembered}");
    for text in [&recorded, &remembered] {
        assert!(!text.contains(password), "leaked:\n{text}");
    }
}
