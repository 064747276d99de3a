//! Profiles against a real Postfix (with Dovecot SASL): a profile with
//! STARTTLS, the test CA as its `cafile`, the SASL user and the password
//! from `password_command` connects to the submission port, authenticates
//! and sends a message that arrives; the same with the password from a
//! netrc file and `--profile`. The password is in no output, `--log` file
//! or `record` file.
#![cfg(feature = "interop")]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use support::postfix::Postfix;
use support::*;

/// The profile `mail` for `pf`'s submission port; `extra`: more keys.
fn config(dir: &Path, pf: &Postfix, extra: &str) -> String {
    let path = dir.join("config.toml");
    fs::write(
        &path,
        format!(
            "[defaults]\nehlo = \"profile-client.example\"\n\n\
             [profile.mail]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\n\
             cafile = \"{}\"\nuser = \"{}\"\n{extra}\n",
            pf.submission_port,
            pf.ca_pem_path().display(),
            pf.user()
        ),
    )
    .expect("write config");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod");
    path_str(&path)
}

fn run(args: &[&str], env: &[(&str, String)], script: &str, dir: &Path) -> Output {
    let file = dir.join("script.smtp");
    fs::write(&file, script).expect("script");
    let mut cmd = smtpsh();
    cmd.args(args).arg("-f").arg(&file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_with_timeout(cmd, SCRIPT_TIMEOUT)
}

fn assert_no_password(pf: &Postfix, texts: &[&str]) {
    use base64::Engine as _;
    let plain = base64::engine::general_purpose::STANDARD.encode(format!(
        "\0{}\0{}",
        pf.user(),
        pf.password()
    ));
    for text in texts {
        assert!(!text.contains(pf.password()), "the password leaked: {text}");
        assert!(!text.contains(&plain), "the PLAIN response leaked: {text}");
    }
}

#[test]
fn a_profile_with_password_command_authenticates_on_submission_and_delivers() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().expect("dir");
    let config = config(
        dir.path(),
        &pf,
        &format!(
            "mechanism = \"PLAIN\"\npassword_command = \"printf '%s\\\\n' '{}'\"",
            pf.password()
        ),
    );
    let log = dir.path().join("t.log");
    let recording = dir.path().join("rec.smtp");
    let script = format!(
        "record {}\n\
         connect mail\n\
         status\n\
         auth\n\
         expect 235\n\
         from ann@example.com\n\
         to bob@example.com\n\
         subject sent with a profile\n\
         body from the profile test\n\
         send\n\
         expect 250\n\
         record stop\n",
        path_str(&recording)
    );
    let out = run(
        &["--config", &config, "--log", &path_str(&log)],
        &[],
        &script,
        dir.path(),
    );
    assert_exit(&out, 0, &pf.describe());
    let o = stdout(&out);
    assert!(o.contains("profile:      mail"), "{o}");
    assert!(o.contains("EHLO profile-client.example"), "{o}");
    assert!(
        o.contains(&format!("authenticated as {} (PLAIN)", pf.user())),
        "{o}"
    );
    let msgs = pf.wait_for_messages_after(1, &out);
    assert_eq!(msgs[0].delivered_to, "bob@example.com");
    assert!(
        msgs[0].received().contains("profile-client.example"),
        "the profile's EHLO name: {}",
        msgs[0].received()
    );
    let logged = fs::read_to_string(&log).expect("log");
    let recorded = fs::read_to_string(&recording).expect("recording");
    assert!(
        recorded.contains(&format!("auth PLAIN {}\n", pf.user())),
        "{recorded}"
    );
    assert_no_password(&pf, &[&o, &stderr(&out), &logged, &recorded]);
}

#[test]
fn profile_at_start_takes_the_password_from_netrc() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().expect("dir");
    let config = config(dir.path(), &pf, "");
    let netrc = dir.path().join("netrc");
    fs::write(
        &netrc,
        format!(
            "# the submission server\nmachine 127.0.0.1\n  login {}\n  password \"{}\"\n",
            pf.user(),
            pf.password()
        ),
    )
    .expect("netrc");
    fs::set_permissions(&netrc, fs::Permissions::from_mode(0o600)).expect("chmod");
    let script = "auth\nexpect 235\nfrom ann@example.com\nto bob@example.com\n\
                  subject netrc\nbody password from netrc\nsend\nexpect 250\n";
    let out = run(
        &["--config", &config, "--profile", "mail"],
        &[("NETRC", path_str(&netrc))],
        script,
        dir.path(),
    );
    assert_exit(&out, 0, &pf.describe());
    let o = stdout(&out);
    assert!(o.contains("(machine 127.0.0.1)"), "{o}");
    // The strongest mechanism Postfix offers that smtpsh supports.
    assert!(
        o.contains(&format!("authenticated as {}", pf.user())),
        "{o}"
    );
    let msgs = pf.wait_for_messages_after(1, &out);
    assert_eq!(msgs[0].delivered_to, "bob@example.com");
    assert_no_password(&pf, &[&o, &stderr(&out)]);
}
