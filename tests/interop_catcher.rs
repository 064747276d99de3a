//! The sandbox server under load from a real client: Postfix's
//! `smtp-source` (20 parallel sessions) against the server as `smtpsh
//! serve` runs it (a Maildir store), on loopback. Behaviour, not speed
//! (bench/catcher.sh measures speed): every message is stored whole, none
//! is lost, nothing is left in `tmp/`, and the connection count returns to
//! zero.
#![cfg(feature = "interop")]

use smtpsh::sandbox::maildir::Maildir;
use smtpsh::sandbox::server::{Config, Handle};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SMTP_SOURCE: &str = "/usr/sbin/smtp-source";

fn load(sessions: u32, messages: u32, length: u32) {
    let dir = tempfile::tempdir().expect("temp dir");
    let maildir = Maildir::create(&dir.path().join("Maildir")).expect("maildir");
    let server = Handle::start(Config::default(), Arc::new(maildir.clone()), None).expect("start");
    assert!(
        std::path::Path::new(SMTP_SOURCE).exists(),
        "{SMTP_SOURCE} is missing: install the postfix package (.ci/run does)"
    );
    let out = Command::new("timeout")
        .args(["120", SMTP_SOURCE, "-s"])
        .arg(sessions.to_string())
        .arg("-m")
        .arg(messages.to_string())
        .arg("-l")
        .arg(length.to_string())
        .args(["-M", "client.example", "-f", "load@client.example"])
        .args(["-t", "sink@example.org", "-S", "load test"])
        .arg(server.addr().to_string())
        .output()
        .expect("run smtp-source");
    assert!(
        out.status.success(),
        "smtp-source failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = maildir.list().expect("list");
    assert_eq!(
        stored.len() as u32,
        messages,
        "every message stored, none lost"
    );
    assert_eq!(server.delivered(), u64::from(messages));
    for entry in stored.iter().step_by(97) {
        let bytes = std::fs::read(&entry.path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with("Return-Path: <load@client.example>\r\n"),
            "{text:.200}"
        );
        assert!(text.contains("\r\nSubject: load test\r\n"));
        assert!(bytes.len() as u32 >= length, "{} < {length}", bytes.len());
    }
    let tmp = std::fs::read_dir(dir.path().join("Maildir/tmp"))
        .expect("tmp")
        .count();
    assert_eq!(tmp, 0, "nothing left half-written in tmp/");
    let until = Instant::now() + Duration::from_secs(10);
    while server.active() > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.active(), 0, "every connection released");
}

#[test]
fn twenty_sessions_store_two_thousand_small_messages() {
    load(20, 2000, 2048);
}

#[test]
fn twenty_sessions_store_forty_one_mib_messages() {
    load(20, 40, 1024 * 1024);
}
