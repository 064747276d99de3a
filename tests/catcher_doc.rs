//! docs/catcher.md's complete example is a script a CI job runs: start
//! `smtpsh serve` in the background, send a message with an attachment,
//! check it with `smtpsh inbox`, stop serve with SIGTERM. This test takes
//! that script out of the page (the ```sh block after the marker comment)
//! and runs it as written against the binary built here, in a temporary
//! directory, on a free port (the script reads `PORT`), and wants exit 0.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The comment that comes just before the example in docs/catcher.md.
const MARKER: &str = "<!-- the complete example: tests/catcher_doc.rs runs it -->";

/// How long the script may take (it normally needs well under a second).
const LIMIT: Duration = Duration::from_secs(120);

/// The body of the first ```sh block after the marker.
fn example(doc: &str) -> Option<String> {
    let after = &doc[doc.find(MARKER)? + MARKER.len()..];
    let mut lines = after.lines().skip_while(|l| l.trim().is_empty());
    if lines.next()?.trim_end() != "```sh" {
        return None;
    }
    let mut script = String::new();
    for line in lines {
        if line.trim_end() == "```" {
            return Some(script);
        }
        script.push_str(line);
        script.push('\n');
    }
    None
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

#[test]
fn the_example_finds_the_script_after_the_marker() {
    let doc = format!("text\n{MARKER}\n\n```sh\necho hi\n```\n\n```sh\nno\n```\n");
    assert_eq!(example(&doc).as_deref(), Some("echo hi\n"));
    assert_eq!(example("no marker\n```sh\nx\n```\n"), None);
    assert_eq!(example(&format!("{MARKER}\n```sh\nunclosed\n")), None);
}

#[test]
fn catcher_md_complete_example_runs_and_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/catcher.md")).expect("docs/catcher.md");
    let script = example(&doc).unwrap_or_else(|| {
        panic!("docs/catcher.md has no ```sh block right after the line {MARKER}")
    });

    let dir = tempfile::tempdir().expect("temporary directory");
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    std::fs::write(dir.path().join("mail-test.sh"), &script).expect("write the script");
    let bin = Path::new(env!("CARGO_BIN_EXE_smtpsh"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("the binary's directory").display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut child = Command::new("sh")
        .arg("mail-test.sh")
        .current_dir(dir.path())
        .env("PATH", path)
        .env("PORT", free_port().to_string())
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("SMTPSH_SANDBOX_DIR", dir.path().join("sandbox"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a script that hangs is killed with
        // the serve it started.
        .process_group(0)
        .spawn()
        .expect("run sh");

    // Read both pipes on threads so a chatty script never blocks.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });

    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sh") {
            break Some(status);
        }
        if start.elapsed() > LIMIT {
            let group = i32::try_from(child.id()).expect("pid");
            // SAFETY: kill(2) with the negated id of the process group
            // made above for this script; no memory is involved.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // serve may still hold the pipes if the script left it running.
    let group = i32::try_from(child.id()).expect("pid");
    // SAFETY: as above; the group is empty when all went well.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let (out, err) = (
        out.join().unwrap_or_default(),
        err.join().unwrap_or_default(),
    );
    let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();

    let Some(status) = status else {
        panic!(
            "the example did not finish within {LIMIT:?}\n--- stdout\n{out}\n--- stderr\n{err}\n--- serve.log\n{log}"
        );
    };
    assert!(
        status.success(),
        "the example failed ({status})\n--- stdout\n{out}\n--- stderr\n{err}\n--- serve.log\n{log}"
    );
    // It did what the page says: one message stored, serve stopped cleanly.
    assert!(log.contains("\"event\":\"stored\""), "serve.log:\n{log}");
    assert!(log.contains("\"event\":\"stopped\""), "serve.log:\n{log}");
    assert!(out.contains("equals report.pdf"), "stdout:\n{out}");
}
