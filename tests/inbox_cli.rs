//! `smtpsh inbox ...` from the command line, as a CI job runs it against a
//! Maildir some other process fills: `--json` read by a JSON parser,
//! `--check-attachment` passing and failing (exit status 5, also inside a
//! script, which it stops), `--clear`, and `--wait` timing out or seeing a
//! message arrive.
//!
//! The Maildirs are built here by writing message files (tmp/, then a
//! rename into new/, as a delivery does); no server runs.

mod support;

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{assert_exit, describe_output, run_with_timeout, stderr, stdout};

/// A safety net only: every run here ends on its own well before.
const RUN: Duration = Duration::from_secs(60);

/// The attachment's bytes: every byte value, then some text.
fn attachment() -> Vec<u8> {
    let mut v: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    v.extend_from_slice("grüße\r\n".as_bytes());
    v
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A message as the sandbox stores it: trace headers, then a multipart
/// message with a quoted-printable text part and a base64 attachment.
fn multipart() -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(attachment());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "Return-Path: <app@example.com>\r\n\
         Received: from app (localhost [127.0.0.1])\r\n\tby localhost (smtpsh sandbox) with ESMTP id 1;\r\n\tThu, 1 Jan 2026 00:00:00 +0000\r\n\
         X-Envelope-To: <ann@example.org>,\r\n <bob@example.org>\r\n\
         From: App <app@example.com>\r\nTo: Ann <ann@example.org>, bob@example.org\r\n\
         Subject: =?UTF-8?Q?Your_r=C3=A9port?=\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\n\
         Message-ID: <m1@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n\
         --BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\nHere it is =E2=9C=93\r\n\
         --BOUNDARY\r\nContent-Type: application/octet-stream; name=\"report.bin\"\r\n\
         Content-Disposition: attachment; filename=\"report.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--BOUNDARY--\r\n",
        lines.join("\r\n")
    )
    .into_bytes()
}

const PLAIN: &[u8] = b"Return-Path: <>\r\nX-Envelope-To: <c@example.org>\r\n\
Subject: second\r\n\r\nno attachment\r\n";

/// An empty Maildir (`new/`, `cur/`, `tmp/`) under `root`.
fn maildir(root: &Path) -> PathBuf {
    let dir = root.join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        fs::create_dir_all(dir.join(sub)).expect("create the Maildir");
    }
    dir
}

/// Stores `message` as a delivery does: written into tmp/, renamed into new/.
fn deliver(maildir: &Path, message: &[u8]) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let name = format!(
        "{secs:010}.M{:06}P{}Q{}.test,S={}",
        N.fetch_add(1, Ordering::Relaxed),
        std::process::id(),
        N.load(Ordering::Relaxed),
        message.len()
    );
    let tmp = maildir.join("tmp").join(&name);
    fs::write(&tmp, message).expect("write the message");
    fs::rename(&tmp, maildir.join("new").join(&name)).expect("deliver the message");
}

/// A private home and sandbox directory, so nothing reads or writes the
/// user's own.
struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::Builder::new()
                .prefix("smtpsh-inbox-")
                .tempdir()
                .expect("temp dir"),
        }
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn command(&self) -> Command {
        let home = self.path().join("home");
        fs::create_dir_all(&home).expect("home");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_smtpsh"));
        cmd.env("HOME", &home)
            .env("SMTPSH_SANDBOX_DIR", self.path().join("sandbox"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("NO_COLOR", "1")
            .env_remove("SMTPSH_HISTORY")
            .current_dir(self.path())
            .stdin(std::process::Stdio::null());
        cmd
    }
    /// `smtpsh inbox ARGS...`.
    fn inbox<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        let mut cmd = self.command();
        cmd.arg("inbox").args(args);
        run_with_timeout(cmd, RUN)
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "standard output is not JSON ({e}):\n{}",
            describe_output(out)
        )
    })
}

/// A Maildir holding the multipart message, then the plain one.
fn two_messages(env: &Env) -> (PathBuf, String) {
    let md = maildir(env.path());
    deliver(&md, &multipart());
    deliver(&md, PLAIN);
    let s = md.to_str().expect("UTF-8 temp path").to_string();
    (md, s)
}

#[test]
fn the_list_and_one_message_as_json() {
    let env = Env::new();
    let (_, md) = two_messages(&env);

    let out = env.inbox(&["--maildir", &md, "--json"]);
    assert_exit(&out, 0, "inbox --json");
    assert!(out.stderr.is_empty(), "{}", describe_output(&out));
    let list = json(&out);
    let items = list.as_array().expect("an array");
    assert_eq!(items.len(), 2);
    let first = &items[0];
    assert_eq!(first["number"], 1);
    assert_eq!(first["subject"], "Your réport");
    assert_eq!(first["from"], "app@example.com");
    assert_eq!(first["envelope"]["sender"], "app@example.com");
    assert_eq!(
        first["envelope"]["recipients"],
        serde_json::json!(["ann@example.org", "bob@example.org"])
    );
    assert_eq!(first["size"], multipart().len());
    assert!(first["received"]["unix"].as_u64().is_some_and(|t| t > 0));
    assert!(
        first["received"]["rfc3339"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.contains('T'))
    );
    assert!(first["file"].as_str().is_some_and(|f| f.contains("/new/")));
    assert_eq!(items[1]["envelope"]["sender"], "");
    assert_eq!(items[1]["subject"], "second");

    let out = env.inbox(&["1", "--maildir", &md, "--json"]);
    assert_exit(&out, 0, "inbox 1 --json");
    let m = json(&out);
    assert_eq!(m["number"], 1);
    assert_eq!(m["envelope"]["sender"], "app@example.com");
    let header = |name: &str| {
        m["headers"]
            .as_array()
            .and_then(|h| h.iter().find(|h| h["name"] == name))
            .map(|h| h["value"].clone())
    };
    assert_eq!(header("Subject"), Some(Value::from("Your réport")));
    assert_eq!(
        header("Return-Path"),
        Some(Value::from("<app@example.com>"))
    );
    assert_eq!(
        header("To"),
        Some(Value::from("Ann <ann@example.org>, bob@example.org"))
    );
    let parts = m["parts"].as_array().expect("parts");
    let paths: Vec<&str> = parts.iter().filter_map(|p| p["path"].as_str()).collect();
    assert_eq!(paths, ["1", "1.1", "1.2"]);
    assert_eq!(parts[0]["content_type"], "multipart/mixed");
    assert_eq!(parts[0]["sha256"], Value::Null);
    assert_eq!(parts[1]["content_type"], "text/plain");
    assert_eq!(parts[1]["charset"], "utf-8");
    assert_eq!(parts[1]["transfer_encoding"], "quoted-printable");
    // The CRLF before the boundary belongs to the boundary.
    assert_eq!(parts[1]["sha256"], sha256("Here it is ✓".as_bytes()));
    let att = &parts[2];
    assert_eq!(att["filename"], "report.bin");
    assert_eq!(att["disposition"], "attachment");
    assert_eq!(att["transfer_encoding"], "base64");
    assert_eq!(att["attachment"], true);
    assert_eq!(att["size"], attachment().len());
    assert_eq!(att["sha256"], sha256(&attachment()));

    // No such message: a local error, nothing on standard output.
    let out = env.inbox(&["9", "--maildir", &md, "--json"]);
    assert_exit(&out, 1, "inbox 9 --json");
    assert!(out.stdout.is_empty(), "{}", describe_output(&out));
}

#[test]
fn check_attachment_passes_on_equal_bytes_and_fails_with_status_5() {
    let env = Env::new();
    let (_, md) = two_messages(&env);
    let good = env.path().join("report.bin");
    fs::write(&good, attachment()).expect("write");
    let mut changed = attachment();
    changed[100] ^= 1;
    let bad = env.path().join("changed.bin");
    fs::write(&bad, &changed).expect("write");

    let out = env.inbox(&[
        OsStr::new("1"),
        OsStr::new("--maildir"),
        OsStr::new(&md),
        OsStr::new("--check-attachment"),
        good.as_os_str(),
    ]);
    assert_exit(&out, 0, "the equal file");
    let text = stdout(&out);
    assert!(text.contains("part 1.2 \"report.bin\""), "{text}");
    assert!(text.contains(&sha256(&attachment())), "{text}");

    let out = env.inbox(&[
        OsStr::new("1"),
        OsStr::new("--maildir"),
        OsStr::new(&md),
        OsStr::new("--check-attachment"),
        bad.as_os_str(),
    ]);
    assert_exit(&out, 5, "a file that differs in one bit");
    let err = stderr(&out);
    assert!(err.contains("changed.bin"), "{err}");
    assert!(err.contains(&sha256(&changed)), "{err}");
    assert!(
        err.contains("report.bin"),
        "names what the message has: {err}"
    );

    // Message 2 has no attachment at all.
    let out = env.inbox(&[
        OsStr::new("2"),
        OsStr::new("--maildir"),
        OsStr::new(&md),
        OsStr::new("--check-attachment"),
        good.as_os_str(),
    ]);
    assert_exit(&out, 5, "a message without attachments");
    assert!(stderr(&out).contains("no attachments"), "{}", stderr(&out));

    // A missing FILE is a local error, not a failed check.
    let out = env.inbox(&["1", "--maildir", &md, "--check-attachment", "missing.bin"]);
    assert_exit(&out, 1, "a missing file");
}

#[test]
fn a_failed_check_in_a_script_stops_it_with_status_5() {
    let env = Env::new();
    let (dir, md) = two_messages(&env);
    let bad = env.path().join("other.bin");
    fs::write(&bad, b"not the attachment").expect("write");
    let script = env.path().join("check.smtp");
    fs::write(
        &script,
        format!(
            "inbox --maildir '{md}'\ninbox 1 --maildir '{md}' --check-attachment '{}'\ninbox --clear --maildir '{md}'\n",
            bad.display()
        ),
    )
    .expect("write the script");
    let mut cmd = env.command();
    cmd.arg("--no-history").arg("-f").arg(&script);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 5, "the script stops at the failed check");
    assert!(stderr(&out).contains("stopped at"), "{}", stderr(&out));
    // The `inbox --clear` after it never ran.
    assert_eq!(
        fs::read_dir(dir.join("new")).expect("new/").count(),
        2,
        "{}",
        describe_output(&out)
    );
}

#[test]
fn clear_empties_the_maildir() {
    let env = Env::new();
    let (dir, md) = two_messages(&env);
    let out = env.inbox(&["--clear", "--maildir", &md]);
    assert_exit(&out, 0, "inbox --clear");
    assert!(
        stdout(&out).contains("removed 2 messages"),
        "{}",
        stdout(&out)
    );
    assert!(dir.join("new").is_dir() && dir.join("tmp").is_dir());
    let out = env.inbox(&["--maildir", &md, "--json"]);
    assert_exit(&out, 0, "the list after --clear");
    assert_eq!(json(&out), serde_json::json!([]));
    // A wrong combination says so and touches nothing.
    deliver(&dir, PLAIN);
    let out = env.inbox(&["1", "--clear", "--maildir", &md]);
    assert_exit(&out, 1, "inbox 1 --clear");
    assert!(stderr(&out).contains("--clear"), "{}", stderr(&out));
    assert_eq!(fs::read_dir(dir.join("new")).expect("new/").count(), 1);
}

#[test]
fn wait_times_out_with_status_5_or_sees_a_message_arrive() {
    let env = Env::new();
    let dir = maildir(env.path());
    let md = dir.to_str().expect("UTF-8").to_string();

    let start = Instant::now();
    let out = env.inbox(&["--wait", "1", "--timeout", "1", "--maildir", &md]);
    let took = start.elapsed();
    assert_exit(&out, 5, "nothing arrives");
    assert!(
        stderr(&out).contains("waited 1 s for 1 message, the inbox has 0"),
        "{}",
        stderr(&out)
    );
    assert!(took >= Duration::from_millis(900), "{took:?}");

    let later = {
        let dir = dir.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            deliver(&dir, &multipart());
        })
    };
    let out = env.inbox(&["--wait", "1", "--timeout", "20", "--maildir", &md, "--json"]);
    later.join().expect("the delivering thread");
    assert_exit(&out, 0, "a message arrives after 300 ms");
    let list = json(&out);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["subject"], "Your réport");
}

#[test]
fn help_bad_words_and_the_default_maildir() {
    let env = Env::new();
    let out = env.inbox(&["--help"]);
    assert_exit(&out, 0, "inbox --help");
    assert!(
        stdout(&out).starts_with("inbox [N] [--maildir DIR]"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("--check-attachment FILE"));

    let out = env.inbox(&["--check-attachment", "x"]);
    assert_exit(&out, 1, "no message number");
    assert!(stderr(&out).contains("need a message number"));

    let out = env.inbox(&["--frobnicate"]);
    assert_exit(&out, 1, "an unknown option");

    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let out = env.inbox(&[OsStr::from_bytes(b"--maildir"), OsStr::from_bytes(b"\xff")]);
        assert_exit(&out, 2, "non-UTF-8 argument");
        assert!(stderr(&out).contains("not valid UTF-8"), "{}", stderr(&out));
    }

    // No --maildir: the sandbox's, under SMTPSH_SANDBOX_DIR (empty here).
    let out = env.inbox(&["--json"]);
    assert_exit(&out, 0, "the default, empty inbox");
    assert_eq!(json(&out), serde_json::json!([]));
    let sandbox = maildir(&env.path().join("sandbox"));
    deliver(&sandbox, PLAIN);
    let out = env.inbox::<&str>(&[]);
    assert_exit(&out, 0, "the default inbox");
    assert!(stdout(&out).contains("second"), "{}", stdout(&out));
}
