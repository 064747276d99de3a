//! `smtpsh serve`'s command line and its lines, in memory (the running
//! server is tested through the binary in tests/serve.rs).

use super::report::{Listening, Printer, json_line};
use super::*;
use crate::sandbox::server::{Event, Recipient, Stored};
use std::path::Path;
use std::sync::Mutex;

fn parse(args: &[&str]) -> Result<Args, clap::Error> {
    Args::try_parse_from(std::iter::once("smtpsh serve").chain(args.iter().copied()))
}

#[test]
fn defaults_are_loopback_1025_the_demo_account_and_50_mib() {
    let a = parse(&[]).expect("no arguments");
    assert_eq!(a.listen, None);
    assert_eq!(DEFAULT_LISTEN.to_string(), "127.0.0.1:1025");
    assert_eq!(a.max_size, 50 * 1024 * 1024);
    assert_eq!(a.hostname, "localhost");
    assert!(!a.json);
    let auth = account(&a, |_| panic!("no variable is read")).expect("demo account");
    assert!(auth.demo);
    assert_eq!(auth.account.user, "demo");
}

#[test]
fn listen_takes_numeric_addresses_and_localhost() {
    for (typed, want) in [
        ("127.0.0.1:2525", "127.0.0.1:2525"),
        ("[::1]:25", "[::1]:25"),
        ("0.0.0.0:0", "0.0.0.0:0"),
        ("localhost:1025", "127.0.0.1:1025"),
    ] {
        let a = parse(&["--listen", typed]).expect(typed);
        assert_eq!(a.listen.map(|l| l.to_string()).as_deref(), Some(want));
    }
    for bad in ["1025", "example.org:25", "127.0.0.1", "127.0.0.1:70000"] {
        let e = parse(&["--listen", bad]).expect_err(bad);
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("ADDR:PORT"), "{e}");
    }
}

#[test]
fn usage_errors_exit_2_and_help_0() {
    assert_eq!(parse(&["--help"]).expect_err("help").exit_code(), 0);
    for args in [
        &["--auth-user", "app"][..],
        &["--password-env", "X"],
        &["--tls-cert", "c.pem"],
        &["--tls-key", "k.pem"],
        &["--max-size", "0"],
        &["--max-size", "lots"],
        &["--hostname", "bad name"],
        &["--hostname", "x\r\n250 y"],
        &["--no-such-option"],
        &["extra"],
    ] {
        let e = parse(args).expect_err(&format!("{args:?}"));
        assert_eq!(e.exit_code(), 2, "{args:?}: {e}");
    }
}

#[test]
fn the_password_comes_from_the_variable_and_must_be_set() {
    use std::env::VarError;
    let a = parse(&["--auth-user", "app", "--password-env", "SMTP_PW"]).expect("parse");
    let e = account(&a, |_| Err(VarError::NotPresent)).expect_err("unset");
    assert!(e.message.contains("SMTP_PW is not set"), "{}", e.message);
    let e = account(&a, |_| Ok(String::new())).expect_err("empty");
    assert!(e.message.contains("SMTP_PW is empty"), "{}", e.message);
    let auth = account(&a, |var| {
        assert_eq!(var, "SMTP_PW");
        Ok("s3cret".into())
    })
    .expect("set");
    assert!(!auth.demo);
    assert_eq!(auth.account.user, "app");
    assert_eq!(auth.account.password, "s3cret");
}

#[test]
fn a_port_in_use_names_the_port_and_another_to_try() {
    let e = bind_error(DEFAULT_LISTEN, &io::Error::from(io::ErrorKind::AddrInUse));
    assert!(e.message.contains("port 1025"), "{}", e.message);
    assert!(e.message.contains("already in use"), "{}", e.message);
    assert!(
        e.hint
            .as_deref()
            .unwrap_or("")
            .contains("--listen 127.0.0.1:2525"),
        "{:?}",
        e.hint
    );
}

/// A printer writing into memory.
fn printer(json: bool) -> (Printer, Arc<Mutex<Vec<u8>>>) {
    #[derive(Clone)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("sink").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buf = Arc::new(Mutex::new(Vec::new()));
    (Printer::new(json, Box::new(Sink(buf.clone()))), buf)
}

fn hostile_stored() -> Stored {
    Stored {
        queue_id: "ABC123".into(),
        peer: "127.0.0.1:40000".parse().expect("peer"),
        helo: "client\u{1b}[2J".into(),
        from: "a\u{1b}]0;pwned\u{7}@example.com".into(),
        recipients: vec![Recipient {
            address: "b@example.org".into(),
            notify: Some("SUCCESS,FAILURE".into()),
            orcpt: Some("rfc822;b@example.org".into()),
        }],
        ret: Some("HDRS".into()),
        envid: None,
        subject: Some("line\r\nfake line\u{1b}[31m red \u{9b}31m \u{202e}desrever\u{7f}".into()),
        size: 1234,
        parts: 2,
        path: Some("/tmp/Maildir/new/1.eml".into()),
        tls: true,
        auth: Some("demo".into()),
    }
}

fn no_terminal_controls(s: &str) {
    for c in s.chars() {
        assert!(
            c == '\n' || !(c.is_control() || ('\u{2028}'..='\u{202e}').contains(&c)),
            "control {c:?} in {s:?}"
        );
    }
}

#[test]
fn text_lines_escape_what_clients_sent() {
    let (p, buf) = printer(false);
    p.event(&Event::Stored(hostile_stored()));
    p.event(&Event::Refused {
        peer: "127.0.0.1:40000".parse().expect("peer"),
        command: "RCPT".into(),
        reply: "550 5.1.1 <x\u{1b}[1m> no".into(),
    });
    let out = String::from_utf8(buf.lock().expect("buf").clone()).expect("utf-8");
    no_terminal_controls(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let stored = lines[0];
    for part in [
        " stored ABC123: from <a\\x1b]0;pwned\\x07@example.com> to <b@example.org> \
         (NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.org)",
        "subject \"line\\x0d\\x0afake line\\x1b[31m red \\xc2\\x9b31m \\xe2\\x80\\xaedesrever\\x7f\"",
        "1.2 KiB (1234 bytes), 2 parts, TLS, AUTH demo, client 127.0.0.1:40000",
    ] {
        assert!(stored.contains(part), "{part}\nin {stored}");
    }
    assert!(lines[1].ends_with(" refused 127.0.0.1:40000 RCPT: 550 5.1.1 <x\\x1b[1m> no"));
}

#[test]
fn json_lines_are_one_line_exact_and_terminal_safe() {
    let (p, buf) = printer(true);
    let s = hostile_stored();
    p.event(&Event::Stored(s.clone()));
    p.stopped(1, 0, None);
    let out = String::from_utf8(buf.lock().expect("buf").clone()).expect("utf-8");
    no_terminal_controls(&out);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).expect("json");
    assert_eq!(v["event"], "stored");
    assert_eq!(
        v["subject"].as_str(),
        s.subject.as_deref(),
        "exact after parsing"
    );
    assert_eq!(v["from"].as_str(), Some(s.from.as_str()));
    assert_eq!(v["helo"].as_str(), Some(s.helo.as_str()));
    assert_eq!(v["recipients"][0]["notify"], "SUCCESS,FAILURE");
    assert_eq!(v["recipients"][0]["orcpt"], "rfc822;b@example.org");
    assert_eq!(v["ret"], "HDRS");
    assert!(v["envid"].is_null());
    assert_eq!(v["size"], 1234);
    assert_eq!(v["parts"], 2);
    assert_eq!(v["path"], "/tmp/Maildir/new/1.eml");
    assert_eq!(v["tls"], true);
    assert_eq!(v["auth"], "demo");
    let v: serde_json::Value = serde_json::from_str(lines[1]).expect("json");
    assert_eq!(v["event"], "stopped");
    assert_eq!(v["stored"], 1);
    assert_eq!(v["at_once"], false);
    assert_eq!(json_line(&"\u{2028}\u{85}"), "\"\\u2028\\u0085\"");
}

#[test]
fn the_start_line_warns_off_loopback_and_never_shows_a_given_password() {
    let (p, buf) = printer(false);
    let maildir = Path::new("/tmp/Maildir");
    let l = Listening {
        addr: "0.0.0.0:2525".parse().expect("addr"),
        maildir,
        ca_file: None,
        tls_cert: Some(Path::new("/etc/cert.pem")),
        auth_user: "app",
        auth_demo: false,
        password_env: Some("SMTP_PASSWORD"),
        max_size: 1024,
        hostname: "mail.test",
    };
    p.listening(&l);
    p.listening(&Listening {
        addr: DEFAULT_LISTEN,
        ca_file: Some(Path::new("/s/instances/1-1025/ca.pem")),
        tls_cert: None,
        auth_user: "demo",
        auth_demo: true,
        password_env: None,
        ..l
    });
    let out = String::from_utf8(buf.lock().expect("buf").clone()).expect("utf-8");
    let (first, second) = out.split_at(out.find("Z listening on 127.0.0.1").expect("second start"));
    for expected in [
        "listening on 0.0.0.0:2525; Ctrl-C or SIGTERM stops\n",
        "\n  WARNING: not a loopback address: this accepts mail from the network\n",
        "\n  STARTTLS: the certificate /etc/cert.pem\n",
        "\n  AUTH PLAIN LOGIN: user app (password from $SMTP_PASSWORD)\n",
    ] {
        assert!(first.contains(expected), "{expected:?} in {first}");
    }
    for expected in [
        "listening on 127.0.0.1:1025; Ctrl-C or SIGTERM stops\n",
        "\n  Maildir: /tmp/Maildir\n",
        "a CA made for this instance, /s/instances/1-1025/ca.pem",
        "the demo account (user demo, password sandbox-password)",
    ] {
        assert!(second.contains(expected), "{expected:?} in {second}");
    }
    assert!(!second.contains("WARNING"), "{second}");
}

#[test]
fn on_a_terminal_the_sigint_line_starts_after_the_echoed_ctrl_c() {
    let (p, buf) = printer(false);
    let p = p.on_terminal();
    p.stopping("SIGINT", 0, Duration::from_secs(30));
    p.stopping("SIGTERM", 0, Duration::from_secs(30));
    let out = String::from_utf8(buf.lock().expect("buf").clone()).expect("utf-8");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "", "a line of its own after ^C");
    assert!(lines[1].contains("stopping on SIGINT"), "{out}");
    assert!(lines[2].contains("stopping on SIGTERM"), "{out}");
    let (p, buf) = printer(false);
    p.stopping("SIGINT", 0, Duration::from_secs(30));
    let out = String::from_utf8(buf.lock().expect("buf").clone()).expect("utf-8");
    assert!(!out.starts_with('\n'), "not on a pipe: {out:?}");
}
