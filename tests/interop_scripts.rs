//! Scripts as tests against a real Postfix (a private instance, see
//! tests/support/postfix.rs): variables choose the server and the
//! recipient, `expect` checks enhanced codes and captures the queue id
//! Postfix gives (checked against the `Received` header it wrote), `expect
//! tls`, `ext` and `auth` judge a STARTTLS+AUTH session, and a recording
//! made with `--expect` replays against the same server.
#![cfg(feature = "interop")]

mod support;

use std::fs;
use std::process::Output;
use support::postfix::{Postfix, REFUSED_RECIPIENT, REJECTED_DOMAIN};
use support::*;

fn run_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)], script: &str) -> Output {
    fs::write(dir.join("t.smtp"), script).expect("write script");
    let mut cmd = smtpsh();
    cmd.current_dir(dir).args(args).arg("-f").arg("t.smtp");
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_timeout(cmd, SCRIPT_TIMEOUT)
}

#[test]
fn variables_enhanced_codes_and_the_captured_queue_id() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let script = format!(
        "connect 127.0.0.1 ${{PORT}}\n\
         expect 220 /ESMTP/\n\
         ehlo client.example\n\
         expect ext PIPELINING SIZE 8BITMIME\n\
         from ${{SENDER:-ann@example.com}}\n\
         expect 250 2.1.0\n\
         to someone@{REJECTED_DOMAIN}\n\
         expect 554 5.7.1 /relay access denied/i\n\
         to {REFUSED_RECIPIENT}\n\
         expect 5.1.x\n\
         to ${{RCPT}}\n\
         expect 2.1.5\n\
         subject for ${{RCPT}}\n\
         body hello\n\
         send\n\
         expect 250 2.0.0 /queued as (?<queue_id>[0-9A-Za-z]+)/\n\
         set var queue_id\n"
    );
    let port = pf.port_str();
    let out = run_in(
        dir.path(),
        &["--var", &format!("PORT={port}")],
        &[("RCPT", "bob@example.com")],
        &script,
    );
    assert_exit(&out, 0, &pf.describe());
    let t = printed(&out);
    let id = t
        .lines()
        .find_map(|l| l.strip_prefix("queue_id="))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no queue id captured:\n{t}"))
        .to_string();
    let msgs = pf.wait_for_messages_after(1, &out);
    assert_eq!(msgs[0].delivered_to, "bob@example.com");
    let received = msgs[0].received();
    assert!(
        received.contains(&format!(" id {id}")),
        "captured {id}, but Postfix wrote: {received}"
    );
    // The same script, the capture failing: exit 5, saying what came.
    let failing = script.replace("/queued as", "/stored as");
    let out = run_in(
        dir.path(),
        &["--var", &format!("PORT={port}")],
        &[("RCPT", "bob@example.com")],
        &failing,
    );
    assert_exit(&out, 5, &pf.describe());
    assert!(
        printed(&out).contains("(the text does not match)"),
        "{}",
        printed(&out)
    );
    assert!(
        printed(&out).contains("got 250 2.0.0 Ok: queued as"),
        "{}",
        printed(&out)
    );
}

#[test]
fn expect_tls_ext_and_auth_after_starttls_and_a_recording_replays() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let cafile = path_str(&pf.ca_pem_path());
    let script = format!(
        "record session.smtp --expect\n\
         connect 127.0.0.1 {port}\n\
         ehlo client.example\n\
         starttls\n\
         auth PLAIN {user} --password-env SMTP_PASS\n\
         from ann@example.com\n\
         to {REFUSED_RECIPIENT}\n\
         to bob@example.com\n\
         subject recorded\n\
         body hello\n\
         send\n\
         record stop\n",
        port = pf.smtp_port,
        user = pf.user(),
    );
    let env = [("SMTP_PASS", pf.password())];
    // Run as a person types it: a refusal does not end the session.
    let out = run_in(
        dir.path(),
        &["--keep-going", "--cafile", &cafile],
        &env,
        &script,
    );
    assert_exit(&out, 4, &pf.describe());
    let recorded = fs::read_to_string(dir.path().join("session.smtp")).expect("recording");
    assert!(recorded.contains("starttls\nexpect 250"), "{recorded}");
    assert!(recorded.contains("expect 235 2.7.0"), "{recorded}");
    assert!(
        recorded.contains(&format!("to {REFUSED_RECIPIENT}\nexpect 550 5.1.1")),
        "{recorded}"
    );
    assert!(!recorded.contains(pf.password()), "{recorded}");
    // The checks a person adds by hand, then the replay from elsewhere.
    let checked = format!(
        "{recorded}connect 127.0.0.1 {port}\nehlo x.example\nstarttls\nexpect tls\n\
         expect ext AUTH\nauth PLAIN {user} --password-env SMTP_PASS\nexpect auth {user}\n",
        port = pf.smtp_port,
        user = pf.user(),
    );
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let out = run_in(elsewhere.path(), &["--cafile", &cafile], &env, &checked);
    assert_exit(&out, 0, &format!("{recorded}\n{}", pf.describe()));
    assert!(printed(&out).contains(&format!("expect auth {}: authenticated", pf.user())));
    let msgs = pf.wait_for_messages_after(2, &out);
    assert_eq!(msgs.len(), 2, "the session's message and the replay's");
    assert!(msgs.iter().all(|m| m.delivered_to == "bob@example.com"));
}
