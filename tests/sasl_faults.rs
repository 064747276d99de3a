//! SCRAM-SHA-256 against scripted servers that misbehave in ways no real
//! server does (the happy path and a wrong password are in
//! tests/interop_sasl.rs, against Dovecot): an impostor whose signature is
//! wrong, one that says 235 without proving anything, a weak iteration
//! count, a nonce that is not ours, and a server-final `e=` error. Each
//! runs the real `smtpsh` binary on loopback (AUTH allowed with a warning).

mod tls_support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use tls_support::{Peer, fake_server};

const PASSWORD: &str = "s3cret-Pa55";

fn smtpsh(port: u16) -> Output {
    let home = tempfile::tempdir().expect("home");
    let mut child = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    child
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("NO_COLOR", "1")
        .env("SMTP_PASS", PASSWORD)
        .env_remove("SMTPSH_HISTORY")
        .current_dir(home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .args([
            "--no-history",
            "-c",
            &format!("connect 127.0.0.1 {port}"),
            "-c",
            "auth SCRAM-SHA-256 alice --password-env SMTP_PASS",
            "-c",
            "noop",
        ]);
    let child = child.spawn().expect("run smtpsh");
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

fn all(out: &Output) -> String {
    format!(
        "status {:?}\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn decode(line: &str) -> String {
    String::from_utf8_lossy(&B64.decode(line).unwrap_or_default()).into_owned()
}

/// Greets, answers EHLO with AUTH SCRAM-SHA-256, reads `AUTH SCRAM-SHA-256
/// <client-first>` and returns the client's nonce.
fn until_client_first(p: &mut Peer) -> Option<String> {
    p.send(b"220 fake.test ESMTP\r\n");
    loop {
        let line = p.line()?;
        if line.starts_with("EHLO") {
            p.send(b"250-fake.test\r\n250 AUTH PLAIN SCRAM-SHA-256\r\n");
        } else if let Some(first) = line.strip_prefix("AUTH SCRAM-SHA-256 ") {
            let first = decode(first);
            return first.split(",r=").nth(1).map(str::to_string);
        } else {
            p.send(b"500 what\r\n");
        }
    }
}

/// Answers what follows the exchange (the `*` cancel, NOOP, QUIT).
fn rest(p: &mut Peer) {
    while let Some(line) = p.line() {
        match line.as_str() {
            "*" => p.send(b"501 5.7.0 cancelled\r\n"),
            "NOOP" => p.send(b"250 ok\r\n"),
            "QUIT" => {
                p.send(b"221 bye\r\n");
                return;
            }
            _ => p.send(b"535 5.7.8 no\r\n"),
        }
    }
}

fn challenge(p: &mut Peer, text: &str) {
    p.send(format!("334 {}\r\n", B64.encode(text)).as_bytes());
}

/// The server-first message extending `nonce`, with `iterations`.
fn server_first(nonce: &str, iterations: u32) -> String {
    format!(
        "r={nonce}SERVERPART,s={},i={iterations}",
        B64.encode("salty")
    )
}

/// A server whose `v=` is not the signature for the password: smtpsh
/// cancels (`*`), says the server does not know the password, and the
/// script stops; the proof and the password are never shown.
#[test]
fn a_server_with_a_wrong_signature_is_refused() {
    let (port, server) = fake_server(|p| {
        let Some(nonce) = until_client_first(p) else {
            return;
        };
        challenge(p, &server_first(&nonce, 4096));
        let Some(_client_final) = p.line() else {
            return;
        };
        challenge(p, &format!("v={}", B64.encode([7u8; 32])));
        rest(p);
    });
    let out = smtpsh(port);
    let log = server.join().expect("server");
    let text = all(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("AUTH SCRAM-SHA-256 cancelled: the server's signature (v=) is wrong: it does not know the password"),
        "{text}"
    );
    assert!(!text.contains("authenticated as"), "{text}");
    assert!(log.iter().any(|l| l == "*"), "no cancel: {log:?}");
    assert!(
        !log.iter().any(|l| l == "NOOP"),
        "the script went on: {log:?}"
    );
    // The client-final went out; its proof is only ever shown masked.
    let client_final = log
        .iter()
        .map(|l| decode(l))
        .find(|l| l.starts_with("c=biws,r="))
        .expect("client-final sent");
    let proof = client_final.split(",p=").nth(1).expect("proof");
    assert!(!text.contains(proof), "the proof leaked\n{text}");
    assert!(text.contains(",p=****)"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
}

/// A server that answers the client-final message with 235 at once, never
/// sending its signature: smtpsh does not trust it and says so.
#[test]
fn a_server_that_accepts_without_proof_is_not_trusted() {
    let (port, server) = fake_server(|p| {
        let Some(nonce) = until_client_first(p) else {
            return;
        };
        challenge(p, &server_first(&nonce, 4096));
        if p.line().is_none() {
            return;
        }
        p.send(b"235 2.7.0 welcome, whoever you are\r\n");
        rest(p);
    });
    let out = smtpsh(port);
    server.join().expect("server");
    let text = all(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains(
            "AUTH SCRAM-SHA-256: the server accepted without proving it knows the password"
        ),
        "{text}"
    );
    assert!(text.contains("`quit`"), "{text}");
    assert!(!text.contains("=== authenticated as"), "{text}");
}

/// An iteration count below 4096 is refused before any proof is made: the
/// client-final message never goes out.
#[test]
fn a_weak_iteration_count_is_refused() {
    let (port, server) = fake_server(|p| {
        let Some(nonce) = until_client_first(p) else {
            return;
        };
        challenge(p, &server_first(&nonce, 1));
        rest(p);
    });
    let out = smtpsh(port);
    let log = server.join().expect("server");
    let text = all(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("the server asks for only 1 PBKDF2 iterations; RFC 7677 wants at least 4096"),
        "{text}"
    );
    assert!(
        !log.iter().any(|l| decode(l).starts_with("c=")),
        "a proof went out: {log:?}"
    );
    assert!(log.iter().any(|l| l == "*"), "{log:?}");
}

/// A server-first nonce that does not extend ours (a replayed message).
#[test]
fn a_nonce_that_is_not_ours_is_refused() {
    let (port, server) = fake_server(|p| {
        if until_client_first(p).is_none() {
            return;
        }
        challenge(p, &server_first("someone-elses-nonce", 4096));
        rest(p);
    });
    let out = smtpsh(port);
    let log = server.join().expect("server");
    let text = all(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains(
            "the server's SCRAM message is malformed: its nonce (r=) does not start with ours"
        ),
        "{text}"
    );
    assert!(!log.iter().any(|l| decode(l).starts_with("c=")), "{log:?}");
}

/// A server-final `e=` error is shown, answered with an empty line, and the
/// final 535 ends the exchange.
#[test]
fn a_server_final_error_is_shown_then_535() {
    let (port, server) = fake_server(|p| {
        let Some(nonce) = until_client_first(p) else {
            return;
        };
        challenge(p, &server_first(&nonce, 4096));
        if p.line().is_none() {
            return;
        }
        challenge(p, "e=invalid-proof");
        if p.line().as_deref() != Some("") {
            return;
        }
        p.send(b"535 5.7.8 Authentication failed\r\n");
        rest(p);
    });
    let out = smtpsh(port);
    server.join().expect("server");
    let text = all(&out);
    assert_eq!(out.status.code(), Some(4), "{text}");
    assert!(
        text.contains("=== the server reports the error invalid-proof"),
        "{text}"
    );
    assert!(text.contains("(empty: ends the failed exchange)"), "{text}");
    assert!(text.contains("535"), "{text}");
}
