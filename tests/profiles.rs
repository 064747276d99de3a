//! Profiles and the init file through the real binary: `--profile NAME`
//! (against a sandbox server on loopback, with STARTTLS, its CA as the
//! profile's `cafile` and the password from `password_command`),
//! `--config`, `SMTPSH_CONFIG`, the usage errors (exit status 2) for an
//! unknown profile, a broken config file and a password in a file others
//! can read, and the init file: run at interactive start (a
//! pseudo-terminal), never for a script, skipped with `--no-init`.

#[path = "support/pty.rs"]
mod pty;
mod support;

use expectrl::{Eof, Expect};
use pty::{PROMPT_START, type_line};
use smtpsh::sandbox::{DEMO_PASSWORD, Sandbox};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use support::*;

/// A private config file holding `text`.
fn write_config(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let path = dir.join("config.toml");
    fs::write(&path, text).expect("write config");
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

/// The profile `box` for `sandbox`: STARTTLS, its CA, the demo account,
/// the password from a command, an EHLO name.
fn box_profile(sandbox: &Sandbox) -> String {
    format!(
        "[profile.box]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\ncafile = \"{}\"\n\
         user = \"demo\"\nmechanism = \"PLAIN\"\nehlo = \"profile-client.test\"\n\
         password_command = \"printf '%s\\\\n' {DEMO_PASSWORD}\"\n",
        sandbox.port(),
        sandbox.ca_file().display()
    )
}

fn run(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = smtpsh();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_timeout(cmd, SCRIPT_TIMEOUT)
}

#[test]
fn profile_at_start_connects_authenticates_and_sends() {
    let data = tempfile::tempdir().expect("dir");
    let sandbox = Sandbox::start_in(&data.path().join("sandbox")).expect("sandbox");
    let config = write_config(data.path(), &box_profile(&sandbox), 0o600);
    let log = data.path().join("t.log");
    let out = run(
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "--profile",
            "box",
            "--log",
            log.to_str().expect("utf-8"),
            "-c",
            "status",
            "-c",
            "auth",
            "-c",
            "from ann@example.org",
            "-c",
            "to bob@example.org",
            "-c",
            "body sent with a profile",
            "-c",
            "send",
        ],
        &[],
    );
    assert_exit(&out, 0, "profile session");
    let (o, e) = (stdout(&out), stderr(&out));
    assert!(o.contains("profile:      box (from "), "{o}");
    assert!(o.contains("EHLO profile-client.test"), "{o}");
    assert!(o.contains("authenticated as demo (PLAIN)"), "{o}{e}");
    assert_eq!(sandbox.delivered(), 1);
    let logged = fs::read_to_string(&log).expect("log");
    for text in [&o, &e, &logged] {
        assert!(!text.contains(DEMO_PASSWORD), "{text}");
    }
}

#[test]
fn smtpsh_config_names_the_file_and_connect_name_uses_it() {
    let data = tempfile::tempdir().expect("dir");
    let sandbox = Sandbox::start_in(&data.path().join("sandbox")).expect("sandbox");
    let config = write_config(data.path(), &box_profile(&sandbox), 0o644);
    let out = run(
        &["-c", "connect box", "-c", "status"],
        &[("SMTPSH_CONFIG", &config)],
    );
    assert_exit(&out, 0, "SMTPSH_CONFIG");
    assert!(
        stdout(&out).contains("profile:      box"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_unknown_profile_is_a_usage_error() {
    let data = tempfile::tempdir().expect("dir");
    let config = write_config(data.path(), "[profile.work]\nhost = \"127.0.0.1\"\n", 0o600);
    let out = run(
        &[
            "--config",
            config.to_str().expect("utf-8"),
            "--profile",
            "home",
            "-c",
            "status",
        ],
        &[],
    );
    assert_exit(&out, 2, "unknown profile");
    let e = stderr(&out);
    assert!(e.contains("no profile named home"), "{e}");
    assert!(e.contains("defines: work"), "{e}");
    assert!(!stdout(&out).contains("connection:"), "nothing ran");
}

#[test]
fn a_broken_config_is_a_usage_error_for_profile_and_a_warning_otherwise() {
    let data = tempfile::tempdir().expect("dir");
    let config = write_config(
        data.path(),
        "[profile.work]\nhost = \"h\"\nprot = 25\n",
        0o600,
    );
    let path = config.to_str().expect("utf-8");
    let out = run(&["--config", path, "--profile", "work"], &[]);
    assert_exit(&out, 2, "broken config");
    let e = stderr(&out);
    assert!(e.contains(&format!("{path}:3:1")), "{e}");
    assert!(e.contains("unknown field `prot`"), "{e}");
    // Without --profile the shell runs, and says why there are no profiles.
    let out = run(&["--config", path, "-c", "subject still runs"], &[]);
    assert_exit(&out, 0, "a warning only");
    assert!(
        stderr(&out).contains("(no profiles until it is fixed)"),
        "{}",
        stderr(&out)
    );
    // `connect @work` says why; `connect work` tries the host, and says
    // what may be wrong.
    let out = run(&["--config", path, "-c", "connect @work"], &[]);
    assert_exit(&out, 1, "@work");
    assert!(
        stderr(&out).contains("unknown field `prot`"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("no profile (work or another) can be used"),
        "{}",
        stderr(&out)
    );
    // (A name that never resolves: RFC 6761.)
    let out = run(&["--config", path, "-c", "connect work.invalid"], &[]);
    assert_exit(&out, 3, "work.invalid as a host");
    assert!(
        stderr(&out).contains("if work.invalid is a profile: the config file has an error"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_password_in_a_config_others_can_read_is_refused() {
    let data = tempfile::tempdir().expect("dir");
    let config = write_config(
        data.path(),
        "[profile.work]\nhost = \"h\"\npassword = \"hunter2-in-config\"\n",
        0o644,
    );
    let path = config.to_str().expect("utf-8");
    let out = run(&["--config", path, "--profile", "work"], &[]);
    assert_exit(&out, 2, "world-readable password");
    let e = stderr(&out);
    assert!(e.contains(&format!("{path} holds a password")), "{e}");
    assert!(e.contains("mode 644"), "{e}");
    assert!(e.contains(&format!("chmod 600 {path}")), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
}

/// A home whose config directory has `init.smtp` with `text`.
fn home_with_init(text: &str) -> tempfile::TempDir {
    let home = tempfile::tempdir().expect("home");
    let dir = home.path().join(".config/smtpsh");
    fs::create_dir_all(&dir).expect("config dir");
    fs::write(dir.join("init.smtp"), text).expect("init file");
    home
}

fn pty_shell(home: &Path, extra: &[&str]) -> expectrl::session::OsSession {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.args(extra)
        .arg("--no-history")
        .current_dir(home)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1")
        .env_remove("SMTPSH_CONFIG");
    let mut s = expectrl::session::Session::spawn(cmd).expect("spawn smtpsh in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s
}

#[test]
fn the_init_file_runs_at_interactive_start_and_stops_at_a_failure() {
    let home = home_with_init("subject set by init\nbogus-command\nsubject never set\n");
    let mut s = pty_shell(home.path(), &[]);
    let start = s.expect(PROMPT_START).expect("first prompt");
    let shown = String::from_utf8_lossy(start.before()).into_owned();
    assert!(shown.contains("init.smtp:2:"), "{shown}");
    assert!(shown.contains("the rest of the init file"), "{shown}");
    let out = type_line(&mut s, "status");
    assert!(out.contains("subject:    set by init"), "{out}");
    s.send_line("exit").expect("exit");
    s.expect(Eof).expect("end");
}

#[test]
fn no_init_skips_the_init_file() {
    let home = home_with_init("subject set by init\n");
    let mut s = pty_shell(home.path(), &["--no-init"]);
    s.expect(PROMPT_START).expect("first prompt");
    let out = type_line(&mut s, "status");
    assert!(!out.contains("set by init"), "{out}");
    s.send_line("exit").expect("exit");
    s.expect(Eof).expect("end");
}

#[test]
fn a_script_never_runs_the_init_file() {
    // An init file that leaves a mark when it runs.
    let marks = tempfile::tempdir().expect("dir");
    let mark = marks.path().join("init-ran.smtp");
    let home = home_with_init(&format!("record {}\n", mark.display()));
    let mut cmd = smtpsh();
    cmd.env("XDG_CONFIG_HOME", home.path().join(".config"))
        .args(["-c", "status"]);
    let out = run_with_timeout(cmd, SCRIPT_TIMEOUT);
    assert_exit(&out, 0, "-c");
    assert!(!mark.exists(), "-c ran the init file");
    // Nor does `smtpsh test` (each script runs in a child with -f).
    fs::write(marks.path().join("ok.smtp"), "subject x\n").expect("script");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.arg("test")
        .arg(marks.path().join("ok.smtp"))
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null());
    let out = run_with_timeout(cmd, SCRIPT_TIMEOUT);
    assert_exit(&out, 0, "smtpsh test");
    assert!(!mark.exists(), "smtpsh test ran the init file");
    // At a terminal it runs (the same file).
    let mut s = pty_shell(home.path(), &[]);
    s.expect(PROMPT_START).expect("first prompt");
    s.send_line("exit").expect("exit");
    s.expect(Eof).expect("end");
    assert!(
        mark.exists(),
        "the interactive shell did not run the init file"
    );
}

#[test]
fn at_the_terminal_auth_with_a_profile_keeps_the_password_out_of_the_history() {
    let data = tempfile::tempdir().expect("dir");
    let sandbox = Sandbox::start_in(&data.path().join("sandbox")).expect("sandbox");
    let config = write_config(data.path(), &box_profile(&sandbox), 0o600);
    let history = data.path().join("history");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_smtpsh"));
    cmd.current_dir(data.path())
        .env("HOME", data.path())
        .env("XDG_CONFIG_HOME", data.path().join(".config"))
        .env("XDG_STATE_HOME", data.path().join("state"))
        .env("SMTPSH_CONFIG", &config)
        .env("SMTPSH_HISTORY", &history)
        .env("TERM", "xterm-256color")
        .env("NO_COLOR", "1");
    let mut s = expectrl::session::Session::spawn(cmd).expect("spawn smtpsh in a pty");
    s.set_expect_timeout(Some(Duration::from_secs(20)));
    s.expect(PROMPT_START).expect("first prompt");
    // Tab offers the profile.
    let out = type_line(&mut s, "connect b\t");
    assert!(out.contains("(profile box)"), "{out}");
    let out = type_line(&mut s, "auth");
    assert!(out.contains("authenticated as demo (PLAIN)"), "{out}");
    assert!(!out.contains(DEMO_PASSWORD), "{out}");
    s.send_line("exit").expect("exit");
    s.expect(Eof).expect("end");
    let text = fs::read_to_string(&history).expect("history");
    assert!(
        text.contains("connect box") && text.contains("auth"),
        "{text}"
    );
    assert!(!text.contains(DEMO_PASSWORD), "{text}");
}
