//! The config file (parsing, checks, permissions), the netrc format and
//! the password command, each on its own; `shell/tests/profiles.rs` uses
//! them through the commands.

use super::netrc;
use super::password::run_command;
use super::*;
use std::os::unix::fs::PermissionsExt;

/// A config file with `text` and `mode` in a fresh directory.
fn config(text: &str, mode: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write config");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    (dir, path)
}

/// The profiles of `text`, or the error's message and hint.
fn load(text: &str, mode: u32) -> Result<Profiles, (String, String)> {
    let (_dir, path) = config(text, mode);
    let p = Profiles::load(Some(&path));
    match p.error {
        Some(f) => Err((f.message, f.hint.unwrap_or_default())),
        None => Ok(p),
    }
}

const FULL: &str = r#"
# every key
[defaults]
ehlo = "laptop.example.org"
port = 587

[profile.work]
host = "smtp.example.org"
tls = "starttls"
cafile = "ca.pem"
user = "alice@example.org"
mechanism = "plain"
password_command = "pass show mail/work"

[profile.relay]
host = "relay.example.net:465"
tls = "implicit"
ehlo = "relay-client.example.net"
cert = "~/client.pem"
key = "client.key"
servername = "mx.example.net"
tls_min = "1.3"
pin = ["sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="]
"#;

#[test]
fn a_config_file_gives_named_profiles_with_the_defaults_applied() {
    let (dir, path) = config(FULL, 0o644);
    let p = Profiles::load(Some(&path));
    assert!(p.error.is_none(), "{:?}", p.error);
    assert_eq!(p.names(), vec!["relay", "work"]);
    let work = p.get("work").expect("work");
    assert_eq!(work.host, "smtp.example.org");
    assert_eq!(work.port, 587, "from [defaults]");
    assert_eq!(work.mode, TlsMode::StartTls);
    assert_eq!(
        work.tls.cafile.as_deref(),
        Some(dir.path().join("ca.pem").as_path())
    );
    assert_eq!(work.user.as_deref(), Some("alice@example.org"));
    assert_eq!(work.mechanism, Some(Mechanism::Plain));
    assert_eq!(
        work.password_command.as_deref(),
        Some("pass show mail/work")
    );
    assert_eq!(work.ehlo.as_deref(), Some("laptop.example.org"));
    let relay = p.get("relay").expect("relay");
    assert_eq!(
        (relay.host.as_str(), relay.port),
        ("relay.example.net", 465)
    );
    assert_eq!(relay.ehlo.as_deref(), Some("relay-client.example.net"));
    let home = etcetera::home_dir().expect("home");
    assert_eq!(relay.tls.cert, Some(home.join("client.pem")));
    assert_eq!(relay.tls.key, Some(dir.path().join("client.key")));
    assert_eq!(relay.tls.servername.as_deref(), Some("mx.example.net"));
    assert_eq!(relay.tls.tls_min.map(|v| v.number()), Some("1.3"));
    assert_eq!(relay.tls.pins.len(), 1);
    // The profile is the Target `connect` builds: its TLS controls over
    // the command line's.
    let base = TlsControls {
        cafile: Some("/cmdline/ca.pem".into()),
        insecure: true,
        ..TlsControls::default()
    };
    let t = work.target(&base);
    assert_eq!(
        (t.host.as_str(), t.port, t.mode, t.profile.as_deref()),
        ("smtp.example.org", 587, TlsMode::StartTls, Some("work"))
    );
    assert_eq!(t.tls.cafile, work.tls.cafile, "the profile's CA wins");
    assert!(t.tls.insecure, "kept from the command line");
    let t = relay.target(&base);
    assert_eq!(t.tls.cafile.as_deref(), Some(Path::new("/cmdline/ca.pem")));
    assert_eq!(t.tls.servername.as_deref(), Some("mx.example.net"));
    // `smtpsh --profile relay --servername x`: the command line wins.
    let cmdline = TlsControls {
        servername: Some("x.example".into()),
        ..TlsControls::default()
    };
    let t = layered(&relay.target(&cmdline).tls, &cmdline);
    assert_eq!(t.servername.as_deref(), Some("x.example"));
    assert_eq!(t.cert, relay.tls.cert);
}

#[test]
fn an_unknown_key_is_an_error_naming_it_the_file_and_the_line() {
    let (message, hint) = load(
        "[profile.work]\nhost = \"a.example\"\nhots = \"typo\"\n",
        0o600,
    )
    .expect_err("unknown key");
    assert!(message.contains("config.toml:3:1"), "{message}");
    assert!(message.contains("unknown field `hots`"), "{message}");
    assert!(hint.contains("password_command"), "{hint}");
    let (message, _) = load("[profiles.work]\nhost = \"a\"\n", 0o600).expect_err("table");
    assert!(
        message.contains("config.toml:1:") && message.contains("profiles"),
        "{message}"
    );
}

#[test]
fn a_syntax_error_says_file_line_and_column() {
    let (message, _) = load("[profile.work]\nhost = smtp.example.org\n", 0o600).expect_err("bad");
    assert!(message.contains("config.toml:2:8"), "{message}");
    let (message, _) =
        load("[profile.work]\nport = \"587\"\nhost = \"h\"\n", 0o600).expect_err("type");
    assert!(message.contains("config.toml:2:"), "{message}");
    let (message, _) =
        load("[profile.w]\nhost = \"h\"\ntls = \"maybe\"\n", 0o600).expect_err("tls");
    assert!(
        message.contains("config.toml:3:") && message.contains("starttls"),
        "{message}"
    );
}

#[test]
fn a_profile_is_checked_when_the_file_is_read() {
    let cases = [
        ("[profile.w]\nport = 25\n", "no host"),
        (
            "[profile.w]\nhost = \"h\"\nmechanism = \"GSSAPI\"\n",
            "not one smtpsh supports",
        ),
        ("[profile.sandbox]\nhost = \"h\"\n", "built-in server"),
        (
            "[profile.\"my server\"]\nhost = \"h\"\n",
            "a profile name is",
        ),
        (
            "[profile.w]\nhost = \"h\"\nehlo = \"two words\"\n",
            "ehlo is empty or holds a space",
        ),
        ("[profile.w]\nhost = \"h\\r\\n\"\n", "control character"),
        (
            "[profile.w]\nhost = \"h:1\"\nport = 2\n",
            "the port is given twice",
        ),
        (
            "[profile.w]\nhost = \"h\"\ntls_min = \"1.1\"\n",
            "tls_min 1.1: smtpsh speaks TLS 1.2 and 1.3 only",
        ),
        (
            "[profile.w]\nhost = \"h\"\nkey = \"k.pem\"\n",
            "key needs cert",
        ),
        (
            "[profile.w]\nhost = \"h\"\ntls_min = \"1.3\"\ntls_max = \"1.2\"\n",
            "tls_min 1.3 is newer than tls_max 1.2",
        ),
        (
            "[profile.w]\nhost = \"h\"\npin = [\"md5:x\"]\n",
            "pin md5:x",
        ),
        (
            "[profile.w]\nhost = \"unix:/run/lmtp\"\nport = 24\n",
            "a UNIX socket has no port",
        ),
        (
            "[profile.w]\nhost = \"unix:/run/lmtp\"\ntls = \"starttls\"\n",
            "TLS over a UNIX socket is not supported",
        ),
    ];
    for (text, want) in cases {
        let (message, _) = load(text, 0o600).expect_err(text);
        assert!(message.contains(want), "{text}: {message}");
        assert!(message.contains("[profile."), "{text}: {message}");
    }
}

#[test]
fn a_password_in_a_file_others_can_read_is_refused() {
    let text = "[profile.w]\nhost = \"h\"\npassword = \"hunter2-never-shown\"\n";
    for mode in [0o644, 0o640, 0o604] {
        let (message, hint) = load(text, mode).expect_err("readable by others");
        assert!(message.contains("holds a password"), "{message}");
        assert!(message.contains(&format!("mode {mode:03o}")), "{message}");
        assert!(
            hint.starts_with("make it private: chmod 600 ") && hint.contains("config.toml"),
            "{hint}"
        );
        assert!(!message.contains("hunter2") && !hint.contains("hunter2"));
    }
    let p = load(text, 0o600).expect("private");
    let w = p.get("w").expect("w");
    assert_eq!(
        w.password.as_ref().map(Secret::expose),
        Some("hunter2-never-shown")
    );
    // Without a password, the mode does not matter.
    load("[profile.w]\nhost = \"h\"\n", 0o644).expect("no password");
}

#[test]
fn no_secret_in_debug_output() {
    let p = load(
        "[profile.w]\nhost = \"h\"\npassword = \"hunter2-never-shown\"\n",
        0o600,
    )
    .expect("private");
    let shown = format!("{p:?} {:?}", p.get("w").expect("w"));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("****"), "{shown}");
    let entries = netrc::parse("machine h login u password hunter2-net").expect("netrc");
    let shown = format!("{entries:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn a_missing_file_is_an_error_only_when_named() {
    let dir = tempfile::tempdir().expect("dir");
    let p = Profiles::load(Some(&dir.path().join("nope.toml")));
    let f = p.error.expect("named and missing");
    assert!(
        f.message.contains("cannot read the config file") && f.message.contains("nope.toml"),
        "{}",
        f.message
    );
    // `connect NAME` then says why there is no profile.
    let e = p_get_error(
        &Profiles {
            error: Some(f),
            ..Profiles::default()
        },
        "work",
    );
    assert!(e.contains("cannot read the config file"), "{e}");
    assert!(
        e.contains("no profile (work or another) can be used until the config file is fixed"),
        "{e}"
    );
}

fn p_get_error(p: &Profiles, name: &str) -> String {
    let f = p.get(name).map(|_| ()).expect_err("no such profile");
    format!("{} {}", f.message, f.hint.unwrap_or_default())
}

#[test]
fn an_unknown_profile_lists_those_there_are() {
    let p = load(FULL, 0o600).expect("config");
    let f = p.get("home").map(|_| ()).expect_err("no home");
    assert_eq!(f.message, "no profile named home");
    assert!(f.hint.unwrap_or_default().ends_with("defines: relay, work"));
    let none = Profiles::default().get("x").map(|_| ()).expect_err("none");
    assert!(none.hint.unwrap_or_default().contains("[profile.NAME]"));
}

// --- netrc -----------------------------------------------------------------

const NETRC: &str = "\
# work
machine smtp.example.org login alice password \"pw with space\"
machine smtp.example.org
    login bob
    password bob\\pw   account ignored
macdef init
cd /pub
get file

machine other.example login carol password c#not-a-comment
default login anonymous password guest
";

#[test]
fn netrc_entries_with_quotes_comments_and_macros() {
    let e = netrc::parse(NETRC).expect("parse");
    assert_eq!(e.len(), 4);
    let pw = |entry: &netrc::Entry| entry.password.as_ref().map(|p| p.expose().to_string());
    assert_eq!(e[0].login.as_deref(), Some("alice"));
    assert_eq!(pw(&e[0]).as_deref(), Some("pw with space"));
    assert_eq!(
        pw(&e[1]).as_deref(),
        Some("bob\\pw"),
        "unquoted: a backslash is itself"
    );
    assert_eq!(pw(&e[2]).as_deref(), Some("c#not-a-comment"));
    assert_eq!(e[3].machine, None);
}

#[test]
fn netrc_matching_by_host_and_user() {
    let e = netrc::parse(NETRC).expect("parse");
    let login =
        |host: &str, user: Option<&str>| netrc::find(&e, host, user).and_then(|x| x.login.clone());
    assert_eq!(
        login("smtp.example.org", Some("bob")).as_deref(),
        Some("bob")
    );
    assert_eq!(
        login("SMTP.Example.ORG", None).as_deref(),
        Some("alice"),
        "first for the host"
    );
    assert_eq!(
        login("smtp.example.org", Some("zed")).as_deref(),
        None,
        "no login fits, default neither"
    );
    assert_eq!(login("unknown.example", None).as_deref(), Some("anonymous"));
    assert_eq!(
        login("unknown.example", Some("anonymous")).as_deref(),
        Some("anonymous")
    );
    let no_default = netrc::parse("machine a login x password y").expect("parse");
    assert!(netrc::find(&no_default, "b", None).is_none());
}

#[test]
fn netrc_errors_name_the_line_and_never_the_words() {
    let cases = [
        ("login alice password x", 1, "before any `machine`"),
        ("machine a\nlogin", 2, "`login` has no value"),
        ("machine a login u\npasword secret-typo", 2, "no keyword"),
        ("machine a password \"open", 1, "not closed"),
        (
            "machine a password \"two\nlines\"",
            1,
            "past the end of its line",
        ),
        (
            "machine a password \"two\\\nlines\"",
            1,
            "past the end of its line",
        ),
    ];
    for (text, line, want) in cases {
        let e = netrc::parse(text).expect_err(text);
        assert_eq!(e.line, line, "{text}: {e}");
        assert!(e.message.contains(want), "{text}: {e}");
        assert!(!e.to_string().contains("secret"), "{e}");
    }
}

// --- password_command ------------------------------------------------------

#[test]
fn password_command_gives_its_first_line() {
    let s = run_command(
        "printf 'first line\\r\\nsecond\\n'",
        "the test command",
        &[],
    )
    .expect("runs");
    assert_eq!(s.expose(), "first line");
    let s = run_command(
        "printf %s \"$SMTPSH_USER@$SMTPSH_HOST\"",
        "cmd",
        &[("SMTPSH_USER", "alice"), ("SMTPSH_HOST", "h.example")],
    )
    .expect("runs");
    assert_eq!(
        s.expose(),
        "alice@h.example",
        "the environment tells it what is asked"
    );
}

#[test]
fn password_command_failure_says_status_and_stderr() {
    let f = run_command(
        "echo 'gpg: decryption failed: No secret key' >&2; echo partial; exit 2",
        "the password_command of profile work",
        &[],
    )
    .expect_err("fails");
    assert!(
        f.message
            .starts_with("the password_command of profile work failed (exit status 2)"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("gpg: decryption failed: No secret key"),
        "{}",
        f.message
    );
    assert!(
        !f.message.contains("partial"),
        "stdout is never shown: {}",
        f.message
    );
    let f = run_command("kill -TERM $$", "cmd", &[]).expect_err("killed");
    assert!(f.message.contains("killed by signal 15"), "{}", f.message);
}

#[test]
fn password_command_with_empty_output_is_an_error() {
    for command in ["true", "printf '\\n'", "echo 'oops' >&2"] {
        let f = run_command(command, "cmd", &[]).expect_err(command);
        assert!(
            f.message.contains("cmd printed no password (exit status 0"),
            "{command}: {}",
            f.message
        );
    }
    let f = run_command("echo 'no entry' >&2", "cmd", &[]).expect_err("empty");
    assert!(f.message.contains(": no entry"), "{}", f.message);
}

#[test]
fn an_lmtp_profile_over_a_socket_makes_the_target_connect_would() {
    let p = load(
        "[defaults]\nlmtp = true\n\n[profile.dovecot]\nhost = \"unix:/run/dovecot/lmtp\"\n\n\
         [profile.tcp]\nhost = \"127.0.0.1:24\"\n\n[profile.smtp]\nhost = \"h\"\nlmtp = false\n",
        0o644,
    )
    .expect("loads");
    let want = crate::shell::cmd::connect::parse_target(
        "unix:/run/dovecot/lmtp",
        None,
        TlsMode::Auto,
        true,
    )
    .expect("connect's target");
    let got = p
        .get("dovecot")
        .expect("dovecot")
        .target(&TlsControls::default());
    assert_eq!(got.socket, want.socket);
    assert_eq!(got.socket.as_deref(), Some(Path::new("/run/dovecot/lmtp")));
    assert!(got.lmtp);
    assert_eq!(got.profile.as_deref(), Some("dovecot"));
    let tcp = p.get("tcp").expect("tcp").target(&TlsControls::default());
    assert!(tcp.lmtp && tcp.socket.is_none() && tcp.port == 24);
    assert!(
        !p.get("smtp")
            .expect("smtp")
            .target(&TlsControls::default())
            .lmtp
    );
    let (message, _) =
        load("[profile.w]\nhost = \"h\"\nlmtp = \"yes\"\n", 0o600).expect_err("lmtp is a boolean");
    assert!(
        message.contains(":3:") && message.contains("expected a boolean"),
        "{message}"
    );
}

#[test]
fn the_example_in_docs_profiles_md_is_a_valid_config() {
    let doc = include_str!("../../../docs/profiles.md");
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let len = doc[start..].find("```").expect("its end");
    let p = load(&doc[start..start + len], 0o644).expect("the documented config loads");
    assert_eq!(p.names(), vec!["dovecot", "lab", "work"]);
    let dovecot = p
        .get("dovecot")
        .expect("dovecot")
        .target(&TlsControls::default());
    assert!(dovecot.lmtp && dovecot.socket.is_some());
}
