//! smtpsh's network options and forwarding commands against a real
//! Postfix (a private instance per test, see tests/support/postfix.rs):
//! the HAProxy PROXY header (v1, v2, before implicit TLS, and its absence),
//! XCLIENT (a new greeting; not announced; `raw`), XFORWARD, `-4`/`-6` and
//! `--source`. What Postfix saw is read from the `Received` header of the
//! message it stored, or from its log.
#![cfg(feature = "interop")]

mod support;

use std::net::ToSocketAddrs;
use std::process::Output;

use support::postfix::{Postfix, PostfixOptions};
use support::*;

/// Exit statuses (docs/scripting.md).
const EXIT_LOCAL: i32 = 1;
const EXIT_CONNECTION: i32 = 3;
const EXIT_REFUSED: i32 = 4;

fn kv(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// Runs `smtpsh ARGS... -f SCRIPT`.
fn run_args(args: &[&str], script: &str) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("script.smtpsh");
    std::fs::write(&file, script).expect("write script");
    let mut cmd = smtpsh();
    cmd.args(args).arg("-f").arg(&file);
    run_with_timeout(cmd, SCRIPT_TIMEOUT)
}

fn both(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// A message with `subject`, sent on the connection the script opened.
fn send_lines(subject: &str) -> String {
    format!(
        "from ann@example.com\n\
         to bob@example.com\n\
         subject {subject}\n\
         body hello\n\
         send\n"
    )
}

/// The `Received` header of the stored message with `subject`.
fn received_of(pf: &Postfix, n: usize, subject: &str, out: &Output) -> String {
    let msgs = pf.wait_for_messages_after(n, out);
    let m = msgs
        .iter()
        .find(|m| String::from_utf8_lossy(&m.data).contains(&format!("Subject: {subject}")))
        .unwrap_or_else(|| panic!("no message {subject:?}\n{}", describe_output(out)));
    m.received()
}

/// A Postfix whose first extra listener expects a PROXY header (and gives
/// up on one within a second), the second the same with implicit TLS.
fn proxied_postfix() -> Postfix {
    Postfix::start_with(PostfixOptions {
        // The simulated clients have no PTR record: do not look them up.
        main_cf: vec![kv("smtpd_peername_lookup", "no")],
        listeners: vec![
            vec![
                kv("smtpd_upstream_proxy_protocol", "haproxy"),
                kv("smtpd_upstream_proxy_timeout", "1s"),
            ],
            vec![
                kv("smtpd_upstream_proxy_protocol", "haproxy"),
                kv("smtpd_tls_wrappermode", "yes"),
                kv("smtpd_tls_security_level", "encrypt"),
            ],
        ],
        ..PostfixOptions::default()
    })
}

#[test]
fn proxy_headers_v1_and_v2_make_postfix_see_the_simulated_client() {
    let pf = proxied_postfix();
    let port = pf.extra_ports[0];
    for (n, version) in [(1, "v1"), (2, "v2")] {
        let script = format!(
            "connect 127.0.0.1 {port} --proxy-header {version} --proxy-from 192.0.2.10:4444 --proxy-to 127.0.0.1:{port}\n\
             expect 220\n{}",
            send_lines(&format!("proxied {version}"))
        );
        let out = run_script(&script);
        assert_exit(&out, 0, &pf.describe());
        let text = stdout(&out);
        let shown = match version {
            "v1" => format!("-> PROXY TCP4 192.0.2.10 127.0.0.1 4444 {port}"),
            _ => {
                format!("-> PROXY v2 (binary, 28 bytes): TCP4 192.0.2.10:4444 -> 127.0.0.1:{port}")
            }
        };
        assert!(text.contains(&shown), "{text}");
        let received = received_of(&pf, n, &format!("proxied {version}"), &out);
        assert!(received.contains("[192.0.2.10]"), "{received}");
    }
    // Postfix logged the client the header named, not 127.0.0.1.
    pf.wait_for_log("the proxied client", |l| {
        l.contains("connect from unknown[192.0.2.10]")
    });
}

#[test]
fn a_proxy_header_with_the_real_addresses_goes_before_implicit_tls() {
    let pf = proxied_postfix();
    let cafile = path_str(&pf.ca_pem_path());
    let script = format!(
        "connect --tls localhost {} --proxy-header v1\nexpect tls\nstatus\n{}",
        pf.extra_ports[1],
        send_lines("proxied and encrypted")
    );
    let out = run_args(&["--cafile", &cafile], &script);
    assert_exit(&out, 0, &pf.describe());
    let text = stdout(&out);
    assert!(
        text.contains("-> PROXY TCP4 127.0.0.1 127.0.0.1 "),
        "{text}"
    );
    assert!(
        text.contains("network:      PROXY v1 header (the connection's own addresses)"),
        "{text}"
    );
    let received = received_of(&pf, 1, "proxied and encrypted", &out);
    assert!(received.contains("[127.0.0.1]"), "{received}");
    assert!(received.contains("with ESMTPS"), "{received}");
}

#[test]
fn without_the_proxy_header_postfix_drops_the_connection_and_the_hint_says_why() {
    let pf = proxied_postfix();
    // Postfix waits a second for the header, then greets with 421.
    let out = run_script(&format!("connect 127.0.0.1 {}\n", pf.extra_ports[0]));
    assert_exit(&out, EXIT_REFUSED, &pf.describe());
    let text = stderr(&out);
    assert!(
        text.contains("the server refused the connection (421)"),
        "{text}"
    );
    assert!(
        text.contains("may wait for a PROXY header first: try `connect 127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("--proxy-header v1"), "{text}");
    pf.wait_for_log("the missing header", |l| {
        l.contains("haproxy read: timeout")
    });
}

/// Postfix trusting 127.0.0.1 with XCLIENT and XFORWARD on its plain port;
/// the first extra listener trusts nobody.
fn forwarding_postfix() -> Postfix {
    Postfix::start_with(PostfixOptions {
        main_cf: vec![
            kv("smtpd_authorized_xclient_hosts", "127.0.0.1"),
            kv("smtpd_authorized_xforward_hosts", "127.0.0.1"),
        ],
        listeners: vec![vec![
            kv("smtpd_authorized_xclient_hosts", ""),
            kv("smtpd_authorized_xforward_hosts", ""),
        ]],
        ..PostfixOptions::default()
    })
}

#[test]
fn xclient_makes_a_new_greeting_and_the_message_carries_its_identity() {
    let pf = forwarding_postfix();
    let script = format!(
        "connect 127.0.0.1 {}\n\
         ehlo client.test\n\
         expect ext XCLIENT\n\
         xclient ADDR=192.0.2.20 NAME=client.example\n\
         expect 220\n\
         status\n\
         ehlo client.example\n\
         {}",
        pf.smtp_port,
        send_lines("after xclient")
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    let text = stdout(&out);
    assert!(
        text.contains(
            "new greeting: the server now sees you as client.example [192.0.2.20]; EHLO again"
        ),
        "{text}"
    );
    // After the 220 the conversation was back at its start.
    assert!(text.contains("greeted:      not yet"), "{text}");
    let received = received_of(&pf, 1, "after xclient", &out);
    assert!(
        received.contains("from client.example (client.example [192.0.2.20])"),
        "{received}"
    );
}

#[test]
fn xclient_login_is_an_authenticated_session_for_postfix_and_for_us() {
    let pf = Postfix::start_with(PostfixOptions {
        main_cf: vec![
            kv("smtpd_authorized_xclient_hosts", "127.0.0.1"),
            kv("smtpd_sasl_authenticated_header", "yes"),
        ],
        ..PostfixOptions::default()
    });
    let script = format!(
        "connect 127.0.0.1 {}\n\
         ehlo client.test\n\
         expect ext XCLIENT\n\
         xclient ADDR=192.0.2.22 NAME=webmail.example LOGIN=alice\n\
         expect 220\n\
         expect auth alice\n\
         ehlo client.example\n\
         {}",
        pf.smtp_port,
        send_lines("after xclient login")
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    let text = stdout(&out);
    assert!(text.contains("authenticated as alice (LOGIN)"), "{text}");
    // Postfix took the session as alice's: its Received header says so.
    let received = received_of(&pf, 1, "after xclient login", &out);
    assert!(
        received.contains("(Authenticated sender: alice)"),
        "{received}"
    );
}

#[test]
fn raw_xclient_goes_out_and_its_220_is_a_new_greeting() {
    let pf = forwarding_postfix();
    let script = format!(
        "connect 127.0.0.1 {}\n\
         ehlo client.test\n\
         raw XCLIENT ADDR=192.0.2.21 NAME=raw.example\n\
         expect 220\n\
         status\n\
         {}",
        pf.smtp_port,
        send_lines("after raw xclient")
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    let text = stdout(&out);
    assert!(text.contains("greeted:      not yet"), "{text}");
    assert!(
        text.contains("new greeting: the server now sees you as raw.example [192.0.2.21]"),
        "{text}"
    );
    // `send` greeted again by itself (EHLO after the new greeting).
    assert!(
        text.contains("the server was not greeted yet: EHLO first"),
        "{text}"
    );
    let received = received_of(&pf, 1, "after raw xclient", &out);
    assert!(received.contains("raw.example [192.0.2.21]"), "{received}");
}

#[test]
fn xclient_not_announced_is_refused_here_but_raw_goes_out() {
    let pf = forwarding_postfix();
    let port = pf.extra_ports[0];
    let out = run_script(&format!(
        "connect 127.0.0.1 {port}\nehlo client.test\nxclient ADDR=192.0.2.20\n"
    ));
    assert_exit(&out, EXIT_LOCAL, &pf.describe());
    let text = stderr(&out);
    assert!(text.contains("did not announce XCLIENT"), "{text}");
    assert!(text.contains("smtpd_authorized_xclient_hosts"), "{text}");
    // `raw` sends it anyway; Postfix refuses it, and nothing restarts.
    let out = run_script(&format!(
        "connect 127.0.0.1 {port}\nehlo client.test\nraw XCLIENT ADDR=192.0.2.20\nexpect 550\nstatus\n"
    ));
    assert_exit(&out, 0, &pf.describe());
    let text = stdout(&out);
    assert!(text.contains("insufficient authorization"), "{text}");
    assert!(text.contains("greeted:      EHLO client.test"), "{text}");
    assert!(!text.contains("new greeting"), "{text}");
}

#[test]
fn xclient_refuses_unannounced_attributes_and_line_breaks_before_sending() {
    let pf = forwarding_postfix();
    let connect = format!("connect 127.0.0.1 {}", pf.smtp_port);
    let run_c = |line: &str| {
        let mut cmd = smtpsh();
        cmd.args(["-c", &connect, "-c", "ehlo client.test", "-c", line]);
        run_with_timeout(cmd, SCRIPT_TIMEOUT)
    };
    let out = run_c("xclient IDENT=abc");
    assert_exit(&out, EXIT_LOCAL, &pf.describe());
    assert!(
        stderr(&out)
            .contains("does not accept the XCLIENT attribute IDENT: it announced NAME ADDR"),
        "{}",
        both(&out)
    );
    let out = run_c("xclient \"NAME=a\r\nRSET\"");
    assert_exit(&out, EXIT_LOCAL, &pf.describe());
    assert!(stderr(&out).contains("control character"), "{}", both(&out));
    pf.wait_for_disconnects(2);
    assert!(!pf.log().contains("xclient="), "{}", pf.log());
}

#[test]
fn xforward_is_accepted_before_mail_and_logged() {
    let pf = forwarding_postfix();
    let script = format!(
        "connect 127.0.0.1 {}\n\
         ehlo client.test\n\
         expect ext XFORWARD\n\
         xforward NAME=mx.example.net ADDR=203.0.113.5 PROTO=ESMTP HELO=mx.example.net\n\
         expect 250\n\
         {}",
        pf.smtp_port,
        send_lines("after xforward")
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    assert!(!stdout(&out).contains("new greeting"), "{}", both(&out));
    pf.wait_for_messages_after(1, &out);
    pf.wait_for_log("the forwarded client", |l| {
        l.contains("orig_client=mx.example.net[203.0.113.5]")
    });
    // Not announced on the other listener: refused here.
    let out = run_script(&format!(
        "connect 127.0.0.1 {}\nehlo client.test\nxforward NAME=mx.example.net\n",
        pf.extra_ports[0]
    ));
    assert_exit(&out, EXIT_LOCAL, &pf.describe());
    assert!(
        stderr(&out).contains("did not announce XFORWARD"),
        "{}",
        both(&out)
    );
}

#[test]
fn ipv4_and_ipv6_choose_the_address_postfix_sees() {
    let pf = Postfix::start_with(PostfixOptions {
        ipv6: true,
        ..PostfixOptions::default()
    });
    let port = pf.port_str();
    // On the command line: -4 and a name.
    let out = run_args(
        &["-4", "localhost", &port],
        &format!("status\n{}", send_lines("over ipv4")),
    );
    assert_exit(&out, 0, &pf.describe());
    assert!(
        stdout(&out).contains("network:      IPv4 only"),
        "{}",
        both(&out)
    );
    let received = received_of(&pf, 1, "over ipv4", &out);
    assert!(received.contains("[127.0.0.1]"), "{received}");
    // In the shell: -6 and an address.
    let out = run_script(&format!(
        "connect ::1 {port} -6\n{}",
        send_lines("over ipv6")
    ));
    assert_exit(&out, 0, &pf.describe());
    let received = received_of(&pf, 2, "over ipv6", &out);
    assert!(received.contains("[IPv6:::1]"), "{received}");
    // -6 and the name: what it can do depends on whether this machine's
    // resolver gives localhost an IPv6 address.
    let has_v6 = ("localhost", 25)
        .to_socket_addrs()
        .map(|mut a| a.any(|a| a.is_ipv6()))
        .unwrap_or(false);
    let out = run_script(&format!(
        "connect localhost {port} -6\n{}",
        send_lines("localhost -6")
    ));
    if has_v6 {
        assert_exit(&out, 0, &pf.describe());
        let received = received_of(&pf, 3, "localhost -6", &out);
        assert!(received.contains("[IPv6:::1]"), "{received}");
    } else {
        assert_exit(&out, EXIT_CONNECTION, &pf.describe());
        assert!(
            stderr(&out).contains(
                "localhost has no IPv6 address (only 127.0.0.1), and --ipv6 asks for IPv6"
            ),
            "{}",
            both(&out)
        );
    }
    // An address literal of the other family.
    let out = run_script(&format!("connect 127.0.0.1 {port} --ipv6\n"));
    assert_exit(&out, EXIT_CONNECTION, &pf.describe());
    assert!(
        stderr(&out).contains("127.0.0.1 is an IPv4 address, and --ipv6 asks for IPv6"),
        "{}",
        both(&out)
    );
}

#[test]
fn source_address_is_what_postfix_sees_and_errors_are_clear() {
    let pf = Postfix::start_with(PostfixOptions {
        ipv6: true,
        ..PostfixOptions::default()
    });
    let port = pf.port_str();
    let out = run_script(&format!(
        "connect 127.0.0.1 {port} --source 127.0.0.2\nstatus\n{}",
        send_lines("from 127.0.0.2")
    ));
    assert_exit(&out, 0, &pf.describe());
    let text = stdout(&out);
    assert!(text.contains("from 127.0.0.2:"), "{text}");
    assert!(text.contains("network:      from 127.0.0.2"), "{text}");
    let received = received_of(&pf, 1, "from 127.0.0.2", &out);
    assert!(received.contains("[127.0.0.2]"), "{received}");
    // The command line form.
    let out = run_args(
        &["--source", "127.0.0.3", "127.0.0.1", &port],
        &send_lines("from 127.0.0.3"),
    );
    assert_exit(&out, 0, &pf.describe());
    let received = received_of(&pf, 2, "from 127.0.0.3", &out);
    assert!(received.contains("[127.0.0.3]"), "{received}");
    // Not an address of this machine (TEST-NET-1): EADDRNOTAVAIL.
    let out = run_script(&format!("connect 127.0.0.1 {port} --source 192.0.2.1\n"));
    assert_exit(&out, EXIT_CONNECTION, &pf.describe());
    assert!(
        stderr(&out).contains(
            "cannot use 192.0.2.1 as the source address: it is not an address of this machine"
        ),
        "{}",
        both(&out)
    );
    // A source of the other family than the destination.
    let out = run_script(&format!("connect ::1 {port} --source 127.0.0.2\n"));
    assert_exit(&out, EXIT_CONNECTION, &pf.describe());
    assert!(
        stderr(&out).contains("::1 is an IPv6 address, and the source address 127.0.0.2 is IPv4"),
        "{}",
        both(&out)
    );
    // Only the two good connections reached Postfix.
    assert_eq!(pf.wait_for_disconnects(2).len(), 2);
}

#[test]
fn hangup_drops_the_connection_without_quit_and_postfix_logs_it() {
    let pf = forwarding_postfix();
    let script = format!(
        "connect 127.0.0.1 {port}\n\
         ehlo client.test\n\
         from ann@example.com\n\
         to bob@example.com\n\
         hangup\n\
         status\n\
         connect\n\
         ehlo client.test\n\
         quit\n",
        port = pf.smtp_port
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &pf.describe());
    let text = stdout(&out);
    assert!(
        text.contains("hung up without QUIT (the conversation was at: mail, 1 rcpt)"),
        "{text}"
    );
    // The draft kept its envelope; the shell connected again.
    assert!(text.contains("bob@example.com"), "{text}");
    assert_eq!(text.matches("-> QUIT").count(), 1, "{text}");
    // Postfix saw a client vanish after RCPT, not a QUIT.
    pf.wait_for_log("the hang-up", |l| l.contains("lost connection after RCPT"));
}
