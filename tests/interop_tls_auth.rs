//! smtpsh against aiosmtpd with STARTTLS, implicit TLS and AUTH: the
//! server uses a test CA and a certificate signed by it, made with rcgen at
//! test start; smtpsh trusts the CA with `--cafile`. Each test drives the
//! real binary with a script and checks what the server stored and saw.
#![cfg(feature = "interop")]

mod support;
use support::{stderr, stdout};
mod tls_support;

use mail_parser::{MessageParser, MimeHeaders};
use std::fs;
use std::path::Path;
use std::process::Output;
use support::*;
use tls_support::Pki;

const USER: &str = "alice";
/// Unusual enough that finding it anywhere in the output is a leak.
const PASSWORD: &str = "pw-9Zq!interop-only-4c1e";
const PASSWORD_ENV: &str = "SMTPSH_INTEROP_PASSWORD";

fn path_str(p: &Path) -> String {
    p.to_str().expect("UTF-8 path").to_string()
}

/// aiosmtpd with the test certificate (STARTTLS, required) and one account.
fn tls_server(pki: &Pki, extra: &[&str]) -> Aiosmtpd {
    let cert = path_str(&pki.cert);
    let key = path_str(&pki.key);
    let auth = format!("{USER}:{PASSWORD}");
    let mut args = vec![
        "--tls-cert",
        cert.as_str(),
        "--tls-key",
        key.as_str(),
        "--auth",
        auth.as_str(),
    ];
    args.extend_from_slice(extra);
    Aiosmtpd::start_with(&args)
}

/// Runs `script` with `smtpsh ARGS -f FILE`, the password in the environment.
fn run(args: &[&str], script: &str, password: &str) -> Output {
    let dir = tempfile::tempdir().expect("script dir");
    let file = dir.path().join("script.smtpsh");
    fs::write(&file, script).expect("write script");
    let mut cmd = smtpsh();
    cmd.args(args)
        .arg("-f")
        .arg(&file)
        .env(PASSWORD_ENV, password);
    run_with_timeout(cmd, SCRIPT_TIMEOUT)
}

/// The password (and its PLAIN encoding) appears nowhere in `texts`.
fn assert_no_secret(texts: &[&str]) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let forms = [
        PASSWORD.to_string(),
        b64.encode(PASSWORD),
        b64.encode(format!("\0{USER}\0{PASSWORD}")),
    ];
    for text in texts {
        for form in &forms {
            assert!(!text.contains(form.as_str()), "secret leaked:\n{text}");
        }
    }
}

/// connect, ehlo, starttls, auth, from, to, attach three files, send — for
/// PLAIN and LOGIN; the stored message is checked byte for byte, and the
/// password appears nowhere in the output or the recorded script.
#[test]
fn whole_session_with_starttls_and_auth() {
    let pki = Pki::new();
    let work = tempfile::tempdir().unwrap();
    let bin = random_bytes(700 * 1024 + 13, 41);
    let text = "Grüße aus dem Test — ✓\nzweite Zeile\n";
    let png = tiny_png();
    fs::write(work.path().join("data.bin"), &bin).unwrap();
    fs::write(work.path().join("notes.txt"), text).unwrap();
    fs::write(work.path().join("pixel.png"), &png).unwrap();
    for mechanism in ["PLAIN", "LOGIN"] {
        let server = tls_server(&pki, &["--require-starttls", "--auth-required"]);
        let record = work.path().join(format!("recorded-{mechanism}.smtpsh"));
        let script = format!(
            "record {record}\n\
             connect localhost {port}\n\
             ehlo client.example\n\
             starttls\n\
             auth {mechanism} {USER} --password-env {PASSWORD_ENV}\n\
             from ann@example.com\n\
             to bob@example.com\n\
             subject TLS and AUTH {mechanism}\n\
             body Three files, sent over TLS after AUTH {mechanism}.\n\
             attach {bin} {txt} {png}\n\
             status\n\
             send\n",
            record = quote(&path_str(&record)),
            port = server.port,
            bin = quote(&path_str(&work.path().join("data.bin"))),
            txt = quote(&path_str(&work.path().join("notes.txt"))),
            png = quote(&path_str(&work.path().join("pixel.png"))),
        );
        let out = run(&["--cafile", &pki.ca_str()], &script, PASSWORD);
        assert_exit(&out, 0, &server.describe());
        let so = stdout(&out);
        assert!(so.contains("<~  250-AUTH"), "{}", describe_output(&out));
        assert!(
            so.contains(&format!(" ~> AUTH {mechanism}")),
            "{}",
            describe_output(&out)
        );
        assert!(so.contains("<~  235"), "{}", describe_output(&out));
        assert!(
            so.contains("capabilities after TLS: +AUTH"),
            "{}",
            describe_output(&out)
        );
        assert!(so.contains("-STARTTLS"), "{}", describe_output(&out));
        if mechanism == "PLAIN" {
            assert!(
                so.contains(" ~> AUTH PLAIN ****"),
                "{}",
                describe_output(&out)
            );
        } else {
            // aiosmtpd's LOGIN challenges, decoded.
            assert!(so.contains("(User Name\\x00)"), "{}", describe_output(&out));
            assert!(so.contains(" ~> ****"), "{}", describe_output(&out));
        }
        assert!(
            so.contains("verified:     yes, for localhost, against the CA in"),
            "{so}"
        );

        let msgs = server.wait_for_messages_after(1, &out);
        assert_eq!(msgs.len(), 1, "{}", server.describe());
        let m = &msgs[0];
        assert!(m.tls, "the message did not travel inside TLS");
        assert_eq!(m.auth_login.as_deref(), Some(USER));
        assert_eq!(m.mail_from, "ann@example.com");
        assert_eq!(m.rcpt_tos, ["bob@example.com"]);
        let parsed = MessageParser::default().parse(&m.data).expect("parse");
        let atts: Vec<_> = parsed.attachments().collect();
        assert_eq!(atts.len(), 3);
        let sha = |name: &str| {
            atts.iter()
                .find(|a| a.attachment_name() == Some(name))
                .map(|a| sha256_hex(a.contents()))
                .unwrap_or_else(|| panic!("no attachment {name}"))
        };
        assert_eq!(sha("data.bin"), sha256_hex(&bin));
        assert_eq!(sha("notes.txt"), sha256_hex(text.as_bytes()));
        assert_eq!(sha("pixel.png"), sha256_hex(&png));

        // No AUTH, MAIL, RCPT or DATA before TLS.
        let events = server.events();
        let tls_at = events
            .iter()
            .position(|e| e.kind == "tls")
            .expect("a TLS event");
        for e in &events[..tls_at] {
            assert!(
                !["AUTH", "MAIL", "RCPT", "DATA"]
                    .iter()
                    .any(|v| e.is_command(v)),
                "{} before TLS",
                e.verb
            );
        }

        let recorded = fs::read_to_string(&record).expect("recorded script");
        assert!(
            recorded.contains(&format!(
                "auth {mechanism} {USER} --password-env {PASSWORD_ENV}"
            )),
            "{recorded}"
        );
        assert_no_secret(&[&so, &stderr(&out), &recorded]);
    }
}

/// A wrong password: 535 shown, the shell goes on (NOOP works, the draft is
/// kept), and the script's exit status is 4.
#[test]
fn wrong_password_is_535_and_the_shell_goes_on() {
    let pki = Pki::new();
    let server = tls_server(&pki, &["--require-starttls"]);
    let script = format!(
        "from ann@example.com\n\
         subject kept\n\
         connect localhost {}\n\
         starttls\n\
         auth PLAIN {USER} --password-env {PASSWORD_ENV}\n\
         noop\n\
         expect 250\n\
         status\n",
        server.port
    );
    let out = run(
        &["--cafile", &pki.ca_str(), "--keep-going"],
        &script,
        "not-the-password",
    );
    assert_exit(&out, 4, &server.describe());
    let so = stdout(&out);
    assert!(so.contains("<~  535"), "{}", describe_output(&out));
    assert!(so.contains("<~  250"), "{}", describe_output(&out));
    assert!(
        so.contains("expect 250: got 250"),
        "{}",
        describe_output(&out)
    );
    assert!(so.contains("subject:    kept"), "{}", describe_output(&out));
    assert!(stderr(&out).contains("535"), "{}", describe_output(&out));
    assert!(!so.contains("not-the-password") && !stderr(&out).contains("not-the-password"));
    assert!(server.messages().is_empty());
}

/// Without --cafile the test CA is unknown: refused with the reason, and
/// nothing after STARTTLS reaches the server.
#[test]
fn untrusted_certificate_is_refused_with_a_reason() {
    let pki = Pki::new();
    let server = tls_server(&pki, &[]);
    let script = format!(
        "connect localhost {}\n\
         ehlo client.example\n\
         starttls\n\
         from ann@example.com\n\
         to bob@example.com\n\
         send\n",
        server.port
    );
    let out = run(&[], &script, PASSWORD);
    assert_exit(&out, 3, &server.describe());
    let se = stderr(&out);
    assert!(se.contains("unknown issuer"), "{}", describe_output(&out));
    assert!(se.contains("--cafile"), "{}", describe_output(&out));
    let session = *server.sessions().first().expect("a session");
    server.wait_for_close(session);
    let verbs: Vec<String> = server
        .commands()
        .into_iter()
        .map(|(_, c)| c.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(verbs, ["EHLO", "STARTTLS"], "{}", server.describe());
    assert!(server.messages().is_empty());

    // The same with --cafile: accepted.
    let out = run(
        &["--cafile", &pki.ca_str()],
        &script.replace("send\n", "quit\n"),
        PASSWORD,
    );
    assert_exit(&out, 0, &server.describe());
    assert!(
        stdout(&out).contains("TLS is on: TLS 1."),
        "{}",
        describe_output(&out)
    );
}

/// --require-tls against a server without STARTTLS: stops before MAIL; the
/// server sees EHLO and QUIT only.
#[test]
fn require_tls_stops_before_mail() {
    let server = Aiosmtpd::start();
    let script = format!(
        "connect 127.0.0.1 {}\n\
         from ann@example.com\n\
         to bob@example.com\n\
         body never sent\n\
         send\n",
        server.port
    );
    let out = run(&["--require-tls"], &script, PASSWORD);
    assert_exit(&out, 3, &server.describe());
    assert!(
        stderr(&out).contains("does not offer STARTTLS"),
        "{}",
        describe_output(&out)
    );
    let session = *server.sessions().first().expect("a session");
    server.wait_for_close(session);
    let verbs: Vec<String> = server
        .commands()
        .into_iter()
        .map(|(_, c)| c.split(' ').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(verbs, ["EHLO", "QUIT"], "{}", server.describe());
}

/// Implicit TLS on its own port (`connect --tls`), then AUTH and a message.
#[test]
fn implicit_tls_on_its_own_port() {
    let pki = Pki::new();
    // aiosmtpd does not count implicit TLS as TLS for `auth_require_tls`,
    // so the server may offer AUTH regardless; smtpsh sees TLS either way.
    let server = tls_server(&pki, &["--implicit-tls", "--auth-require-tls", "no"]);
    let script = format!(
        "connect --tls localhost {}\n\
         ehlo client.example\n\
         auth {USER} --password-env {PASSWORD_ENV}\n\
         from ann@example.com\n\
         to bob@example.com\n\
         subject implicit\n\
         body over implicit TLS\n\
         send\n",
        server.port
    );
    let out = run(&["--cafile", &pki.ca_str()], &script, PASSWORD);
    assert_exit(&out, 0, &server.describe());
    let so = stdout(&out);
    assert!(so.contains("<~  220"), "{}", describe_output(&out));
    assert!(
        so.contains(" ~> AUTH PLAIN ****"),
        "{}",
        describe_output(&out)
    );
    let msgs = server.wait_for_messages_after(1, &out);
    assert!(msgs[0].tls);
    assert_eq!(msgs[0].auth_login.as_deref(), Some(USER));
    assert_no_secret(&[&so, &stderr(&out)]);

    // The implicit-TLS port with plain `connect`: no greeting ever comes.
    let out = run(
        &[],
        &format!("set timeout 2\nconnect localhost {}\n", server.port),
        PASSWORD,
    );
    assert_exit(&out, 3, &server.describe());
    assert!(
        stderr(&out).contains("connect --tls"),
        "{}",
        describe_output(&out)
    );
}
