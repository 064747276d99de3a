//! smtpsh's SCRAM-SHA-256 and OAUTHBEARER against a real Postfix with
//! Dovecot SASL (tests/support/postfix.rs): Dovecot offers SCRAM-SHA-256
//! (keys derived from the `{PLAIN}` password) and, with
//! `PostfixOptions::oauth`, OAUTHBEARER and XOAUTH2, checking tokens with
//! an introspection endpoint (tests/support/introspect.rs). Each test runs
//! the real `smtpsh` binary with a script, with `--log` and `record`, and
//! checks that no secret reaches any of them.
#![cfg(feature = "interop")]

mod support;
use support::path_str;

use std::fs;
use std::path::Path;
use std::process::Output;

use support::introspect::OAUTH_TOKEN;
use support::postfix::{Postfix, PostfixOptions};
use support::*;

/// Exit status of a script stopped by a server refusal (docs/scripting.md).
const EXIT_SERVER_REFUSAL: i32 = 4;

/// Runs `smtpsh --cafile CA --log LOG -f SCRIPT` with `SMTP_PASS=secret`;
/// returns the output and the log's text.
fn run(pf: &Postfix, dir: &Path, secret: &str, script: &str) -> (Output, String) {
    let file = dir.join("script.smtpsh");
    fs::write(&file, script).expect("write script");
    let log = dir.join("session.log");
    let mut cmd = smtpsh();
    cmd.arg("--cafile")
        .arg(pf.ca_pem_path())
        .arg("--log")
        .arg(&log)
        .arg("-f")
        .arg(&file)
        .env("SMTP_PASS", secret);
    let out = run_with_timeout(cmd, SCRIPT_TIMEOUT);
    let log = fs::read_to_string(&log).unwrap_or_default();
    (out, log)
}

/// The secret appears nowhere: not in the output, the log or the recording.
fn assert_no_secret(secret: &str, places: &[(&str, &str)]) {
    for (name, content) in places {
        assert!(
            !content.contains(secret),
            "the secret leaked into {name}:\n{content}"
        );
    }
}

/// `auth SCRAM-SHA-256 USER --password-env VAR` on the submission port:
/// 235, the server's signature verified, the message delivered with the
/// authenticated sender; the transcript shows the SCRAM messages but the
/// proof, and no password anywhere.
#[test]
fn scram_sha_256_logs_in_verifies_the_server_and_sends() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("recorded.smtpsh");
    let script = format!(
        "record {rec}\n\
         connect --starttls 127.0.0.1 {port}\n\
         auth SCRAM-SHA-256 {user} --password-env SMTP_PASS\n\
         expect 235\n\
         from ann@example.com\n\
         to bob@example.com\n\
         subject after SCRAM\n\
         body SCRAM-SHA-256 worked\n\
         send\n\
         expect 250\n\
         record stop\n",
        rec = quote(&path_str(&recorded)),
        port = pf.submission_port,
        user = pf.user(),
    );
    let (out, log) = run(&pf, dir.path(), pf.password(), &script);
    assert_exit(&out, 0, &pf.describe());
    let all = printed(&out);
    let recording = fs::read_to_string(&recorded).unwrap_or_default();
    assert_no_secret(
        pf.password(),
        &[
            ("the output", &all),
            ("--log", &log),
            ("record", &recording),
        ],
    );
    assert!(
        all.contains(" ~> AUTH SCRAM-SHA-256 biws")
            && all.contains(&format!("(n,,n={},r=", pf.user())),
        "{all}"
    );
    // The server-first message, decoded: salt and iteration count.
    assert!(all.contains(",s=") && all.contains(",i=4096)"), "{all}");
    // The client-final message: nonce shown, proof masked.
    assert!(all.contains(" ~> ****   (c=biws,r="), "{all}");
    assert!(all.contains(",p=****)"), "{all}");
    assert!(
        all.contains("the server's signature is right: it knows the password"),
        "{all}"
    );
    assert!(
        all.contains(" ~>    (empty: nothing more to send)"),
        "{all}"
    );
    assert!(
        all.contains(&format!("authenticated as {} (SCRAM-SHA-256)", pf.user())),
        "{all}"
    );
    assert!(log.contains("p=****") && log.contains("235"), "{log}");
    assert!(
        recording.contains(&format!(
            "auth SCRAM-SHA-256 {} --password-env SMTP_PASS",
            pf.user()
        )),
        "{recording}"
    );
    let msgs = pf.wait_for_messages_after(1, &out);
    assert_eq!(msgs[0].delivered_to, "bob@example.com");
    let received = msgs[0].received();
    assert!(
        received.contains(&format!("(Authenticated sender: {})", pf.user())),
        "{received}"
    );
}

/// A wrong password with SCRAM-SHA-256: 535, a clear message, status 4,
/// nothing sent; the wrong password appears nowhere.
#[test]
fn scram_sha_256_wrong_password_is_535() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().unwrap();
    let wrong = "Not-the-password 42";
    let script = format!(
        "connect --starttls 127.0.0.1 {port}\n\
         auth SCRAM-SHA-256 {user} --password-env SMTP_PASS\n\
         from ann@example.com\n\
         to bob@example.com\n\
         body never sent\n\
         send\n",
        port = pf.submission_port,
        user = pf.user(),
    );
    let (out, log) = run(&pf, dir.path(), wrong, &script);
    assert_exit(&out, EXIT_SERVER_REFUSAL, &pf.describe());
    let all = printed(&out);
    assert_no_secret(wrong, &[("the output", &all), ("--log", &log)]);
    assert!(all.contains("<~  535"), "{all}");
    assert!(all.contains("535: wrong user name or password"), "{all}");
    assert!(
        all.contains(&format!(
            "the server refused AUTH SCRAM-SHA-256 as {}",
            pf.user()
        )),
        "{all}"
    );
    assert!(!all.contains("authenticated as"), "{all}");
    let d = pf.wait_for_disconnects(1);
    assert!(
        !d[0].contains(" mail="),
        "MAIL sent after a failed AUTH: {d:?}"
    );
}

/// `auth USER` with no mechanism named picks SCRAM-SHA-256 when the server
/// offers it (Dovecot here offers PLAIN, LOGIN and SCRAM-SHA-256).
#[test]
fn default_mechanism_is_scram_when_offered() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "connect --starttls 127.0.0.1 {port}\n\
         expect ext AUTH\n\
         auth {user} --password-env SMTP_PASS\n\
         expect auth {user}\n",
        port = pf.submission_port,
        user = pf.user(),
    );
    let (out, log) = run(&pf, dir.path(), pf.password(), &script);
    assert_exit(&out, 0, &pf.describe());
    let all = printed(&out);
    assert_no_secret(pf.password(), &[("the output", &all), ("--log", &log)]);
    assert!(all.contains("SCRAM-SHA-256"), "{all}");
    assert!(all.contains(" ~> AUTH SCRAM-SHA-256 biws"), "{all}");
    assert!(
        all.contains(&format!("authenticated as {} (SCRAM-SHA-256)", pf.user())),
        "{all}"
    );
}

/// OAUTHBEARER with a valid token: Dovecot asks the introspection endpoint,
/// 235, and a message goes out; the token appears nowhere.
#[test]
fn oauthbearer_with_a_valid_token_logs_in_and_sends() {
    let pf = Postfix::start_with(PostfixOptions {
        oauth: true,
        ..PostfixOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("recorded.smtpsh");
    let script = format!(
        "record {rec}\n\
         connect --starttls 127.0.0.1 {port}\n\
         auth OAUTHBEARER {user} --password-env SMTP_PASS\n\
         expect 235\n\
         from ann@example.com\n\
         to bob@example.com\n\
         subject after OAUTHBEARER\n\
         body a token, not a password\n\
         send\n\
         expect 250\n\
         record stop\n",
        rec = quote(&path_str(&recorded)),
        port = pf.submission_port,
        user = pf.user(),
    );
    let (out, log) = run(&pf, dir.path(), OAUTH_TOKEN, &script);
    assert_exit(&out, 0, &pf.describe());
    let all = printed(&out);
    let recording = fs::read_to_string(&recorded).unwrap_or_default();
    assert_no_secret(
        OAUTH_TOKEN,
        &[
            ("the output", &all),
            ("--log", &log),
            ("record", &recording),
        ],
    );
    assert!(all.contains(" ~> AUTH OAUTHBEARER ****"), "{all}");
    assert!(
        all.contains(&format!("authenticated as {} (OAUTHBEARER)", pf.user())),
        "{all}"
    );
    assert!(
        pf.introspection.as_ref().is_some_and(|i| i.requests() >= 1),
        "Dovecot never asked the introspection endpoint\n{}",
        pf.describe()
    );
    let msgs = pf.wait_for_messages_after(1, &out);
    assert!(
        msgs[0]
            .received()
            .contains(&format!("(Authenticated sender: {})", pf.user())),
        "{}",
        msgs[0].received()
    );
}

/// OAUTHBEARER with a token the provider says is inactive: Dovecot sends
/// the JSON error challenge, shown indented; smtpsh answers `^A` (`AQ==`)
/// and the server ends with 535; the hint speaks of a token, and the
/// script stops there (status 4).
#[test]
fn oauthbearer_with_a_bad_token_shows_the_json_error_and_535() {
    let pf = Postfix::start_with(PostfixOptions {
        oauth: true,
        ..PostfixOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let bad = "expired-token.abc123";
    let script = format!(
        "connect --starttls 127.0.0.1 {port}\n\
         auth OAUTHBEARER {user} --password-env SMTP_PASS\n\
         noop\n",
        port = pf.submission_port,
        user = pf.user(),
    );
    let (out, log) = run(&pf, dir.path(), bad, &script);
    assert_exit(&out, EXIT_SERVER_REFUSAL, &pf.describe());
    let all = printed(&out);
    assert_no_secret(bad, &[("the output", &all), ("--log", &log)]);
    assert!(all.contains("<~  334 "), "{all}");
    assert!(all.contains("=== the server's error:"), "{all}");
    assert!(all.contains("\"status\": \"invalid_token\""), "{all}");
    assert!(
        all.contains(" ~> AQ==   (\\x01: ends the failed exchange)"),
        "{all}"
    );
    assert!(all.contains("<~  535"), "{all}");
    assert!(all.contains("535: the token was refused"), "{all}");
}
