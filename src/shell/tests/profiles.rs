//! Profiles through the commands, against a real sandbox server on
//! loopback (STARTTLS with its own CA as the profile's `cafile`, AUTH with
//! its demo account): `connect NAME`, `status`, `ehlo`, `auth` with the
//! password from `password_command` or the netrc file, and the password
//! never in the output, the `--log` file or a `record` file.

use super::{run, stage};
use crate::sandbox::Sandbox;
use crate::shell::failure::FailKind;
use crate::shell::log::TranscriptLog;
use crate::shell::output::Captured;
use crate::shell::profile::Profiles;
use crate::shell::session::Session;
use crate::smtp::Stage;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A sandbox, a directory for files, and a session whose config file has
/// the profile `box` (STARTTLS, the sandbox's CA, the demo user, PLAIN,
/// `EHLO client.profile.test`) with `password` as its password source
/// lines.
struct Fixture {
    sandbox: Sandbox,
    dir: tempfile::TempDir,
    s: Session,
    out: Captured,
}

fn fixture(password: &str) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let sandbox = Sandbox::start_in(&dir.path().join("sandbox")).expect("sandbox");
    let (user, _) = sandbox.credentials();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profile.box]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"starttls\"\ncafile = \"{}\"\n\
             user = \"{user}\"\nmechanism = \"PLAIN\"\nehlo = \"client.profile.test\"\n{password}\n",
            sandbox.port(),
            sandbox.ca_file().display()
        ),
    )
    .expect("write config");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (mut s, out) = Session::for_tests();
    s.profiles = Profiles::load(Some(&config));
    assert!(s.profiles.error.is_none(), "{:?}", s.profiles.error);
    Fixture {
        sandbox,
        dir,
        s,
        out,
    }
}

fn secret_in(text: &str) -> bool {
    use base64::Engine as _;
    let plain = base64::engine::general_purpose::STANDARD.encode("\0demo\0sandbox-password");
    text.contains(crate::sandbox::DEMO_PASSWORD) || text.contains(&plain)
}

fn password_command_line() -> String {
    format!(
        "password_command = \"printf '%s\\\\n' {}\"",
        crate::sandbox::DEMO_PASSWORD
    )
}

fn messages(maildir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(maildir.join("new"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

#[test]
fn connect_name_uses_the_profile_and_auth_its_password_command() {
    let mut f = fixture(&password_command_line());
    let log = f.dir.path().join("transcript.log");
    f.s.out
        .set_log(Some(TranscriptLog::open(&log).expect("log")));
    let recording = f.dir.path().join("session.smtp");
    run(&mut f.s, &format!("record {}", recording.display())).expect("record");
    run(&mut f.s, "connect box").unwrap_or_else(|e| panic!("{}", e.message));
    let text = f.out.take();
    assert!(text.contains("(profile box)"), "{text}");
    // STARTTLS at once, trusting the profile's CA; EHLO with its name.
    assert!(text.contains("EHLO client.profile.test"), "{text}");
    assert!(f.s.conversation().is_some_and(|c| c.is_secure()), "{text}");
    run(&mut f.s, "status").expect("status");
    let text = f.out.take();
    assert!(text.contains("profile:      box (from "), "{text}");
    // `auth` alone: the profile's user and mechanism, the command's password.
    run(&mut f.s, "auth").unwrap_or_else(|e| panic!("{}", e.message));
    let text = f.out.take();
    assert!(
        text.contains("password: from the password_command of profile box"),
        "{text}"
    );
    assert!(text.contains("authenticated as demo (PLAIN)"), "{text}");
    for line in [
        "from ann@example.org",
        "to bob@example.org",
        "body hi",
        "send",
    ] {
        run(&mut f.s, line).unwrap_or_else(|e| panic!("{line}: {}", e.message));
    }
    run(&mut f.s, "record stop").expect("stop");
    let text = f.out.take();
    assert!(text.contains("message accepted"), "{text}");
    assert_eq!(messages(f.sandbox.maildir()).len(), 1);
    assert!(!secret_in(&text), "{text}");
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("AUTH PLAIN ****"), "{logged}");
    assert!(!secret_in(&logged), "{logged}");
    let recorded = std::fs::read_to_string(&recording).expect("recording");
    assert!(recorded.contains("connect box\n"), "{recorded}");
    assert!(
        recorded.contains("auth PLAIN demo\n"),
        "replays through the profile: {recorded}"
    );
    assert!(!recorded.contains("--password-env"), "{recorded}");
    assert!(!secret_in(&recorded), "{recorded}");
}

#[test]
fn connect_alone_reconnects_to_the_same_profile() {
    let mut f = fixture("");
    run(&mut f.s, "connect @box").unwrap_or_else(|e| panic!("{}", e.message));
    run(&mut f.s, "quit").expect("quit");
    f.out.take();
    run(&mut f.s, "connect").unwrap_or_else(|e| panic!("{}", e.message));
    let text = f.out.take();
    assert!(text.contains("(profile box)"), "{text}");
    assert!(f.s.conversation().is_some_and(|c| c.is_secure()), "{text}");
    run(&mut f.s, "status").expect("status");
    assert!(f.out.take().contains("profile:      box"));
    // `ehlo` alone greets with the profile's name again.
    run(&mut f.s, "ehlo").expect("ehlo");
    assert!(f.out.take().contains("EHLO client.profile.test"));
}

#[test]
fn connect_with_an_unknown_profile_lists_the_profiles() {
    let mut f = fixture("");
    let e = run(&mut f.s, "connect @nope").expect_err("no such profile");
    assert_eq!(e.message, "no profile named nope");
    assert!(e.hint.unwrap_or_default().ends_with("defines: box"));
    let e = run(&mut f.s, "connect @box 25").expect_err("a port");
    assert!(e.message.contains("has its own port"), "{}", e.message);
    assert!(f.s.live.is_none());
}

#[test]
fn a_failing_password_command_sends_no_auth() {
    let mut f = fixture("password_command = \"echo 'vault is sealed' >&2; exit 3\"");
    run(&mut f.s, "connect box").unwrap_or_else(|e| panic!("{}", e.message));
    f.out.take();
    let e = run(&mut f.s, "auth").expect_err("fails");
    assert_eq!(e.kind, FailKind::Local);
    assert!(
        e.message.starts_with(
            "the password_command of profile box failed (exit status 3): vault is sealed"
        ),
        "{}",
        e.message
    );
    let text = f.out.take();
    assert!(!text.contains("AUTH"), "{text}");
    assert_eq!(stage(&f.s), Some(Stage::Ready));
}

#[test]
fn the_netrc_file_gives_the_password_when_nothing_else_does() {
    let mut f = fixture("");
    let netrc = f.dir.path().join("netrc");
    std::fs::write(
        &netrc,
        format!(
            "machine 127.0.0.1 login demo password {}\n",
            crate::sandbox::DEMO_PASSWORD
        ),
    )
    .expect("netrc");
    std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    f.s.profiles.netrc = Some(netrc.clone());
    run(&mut f.s, "connect box").unwrap_or_else(|e| panic!("{}", e.message));
    f.out.take();
    // Readable by others: not used (warned), and a script has no prompt.
    let e = run(&mut f.s, "auth").expect_err("refused netrc");
    assert!(e.message.starts_with("no password"), "{}", e.message);
    let text = f.out.take();
    assert!(
        text.contains("holds passwords but others can read it (mode 644)"),
        "{text}"
    );
    assert!(text.contains("chmod 600"), "{text}");
    std::fs::set_permissions(&netrc, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    run(&mut f.s, "auth").unwrap_or_else(|e| panic!("{}", e.message));
    let text = f.out.take();
    assert!(
        text.contains("password: from ") && text.contains("(machine 127.0.0.1)"),
        "{text}"
    );
    assert!(text.contains("authenticated as demo"), "{text}");
    assert!(!secret_in(&text), "{text}");
}

#[test]
fn a_password_env_wins_over_the_profile() {
    let mut f = fixture("password_command = \"exit 1\"");
    run(&mut f.s, "connect box").unwrap_or_else(|e| panic!("{}", e.message));
    // --password-env names a variable that is not set: its own error,
    // never the command's.
    let e = run(&mut f.s, "auth --password-env SMTPSH_TEST_UNSET_VARIABLE_9").expect_err("unset");
    assert!(
        e.message
            .contains("SMTPSH_TEST_UNSET_VARIABLE_9 is not set"),
        "{}",
        e.message
    );
    // A user other than the profile's: the profile's password is not his.
    let e = run(&mut f.s, "auth PLAIN someone-else").expect_err("no password");
    assert!(e.message.starts_with("no password"), "{}", e.message);
}

#[test]
fn the_profiles_tls_keys_reach_the_connection_and_options_override_them() {
    let mut f = fixture("servername = \"localhost\"\ntls_min = \"1.3\"");
    run(&mut f.s, "connect box").unwrap_or_else(|e| panic!("{}", e.message));
    let text = f.out.take();
    assert!(text.contains("TLS 1.3"), "{text}");
    let tls = &f.s.last_target.as_ref().expect("target").tls;
    assert_eq!(tls.servername.as_deref(), Some("localhost"));
    assert_eq!(tls.cafile.as_deref(), Some(f.sandbox.ca_file()));
    // An option given to `connect` wins over the profile's key: a name
    // the certificate does not list fails the handshake.
    let e = run(&mut f.s, "connect box --servername wrong.example").expect_err("name mismatch");
    assert!(e.message.contains("wrong.example"), "{}", e.message);
    // A client certificate that cannot be read fails before anything is sent.
    let mut f = fixture("cert = \"/nonexistent/client.pem\"");
    let e = run(&mut f.s, "connect box").expect_err("no such file");
    assert!(
        e.message.contains("/nonexistent/client.pem"),
        "{}",
        e.message
    );
    assert!(f.s.live.is_none());
}
