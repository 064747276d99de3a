//! `xclient`, `xforward` and `connect`'s network options in-process:
//! against a [`MemoryServer`] (what goes out, what is refused without a
//! byte sent, the new greeting after XCLIENT) and a loopback listener that
//! reads the PROXY header's exact bytes.

use super::{on, run, stage};
use crate::smtp::Stage;
use crate::smtp::conn::memory::MemoryServer;
use crate::smtp::proxy::V2_SIGNATURE;
use std::io::{Read, Write};
use std::net::TcpListener;

const XCLIENT: &str = "XCLIENT NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT";

fn xclient_server() -> MemoryServer {
    MemoryServer::new(&["PIPELINING", XCLIENT, "XFORWARD NAME ADDR PROTO HELO"])
        .answer("XCLIENT", "220 memory.test ESMTP as another client")
        .answer("XFORWARD", "250 2.0.0 Ok")
}

#[test]
fn xclient_is_a_new_greeting_then_ehlo_again() {
    let server = xclient_server();
    let (mut s, out) = on(&server, true);
    run(&mut s, "xclient ADDR=192.0.2.20 NAME=client.example").expect("xclient");
    assert_eq!(
        server.commands().last().map(String::as_str),
        Some("XCLIENT ADDR=192.0.2.20 NAME=client.example")
    );
    let text = out.take();
    assert!(
        text.contains(
            "new greeting: the server now sees you as client.example [192.0.2.20]; EHLO again"
        ),
        "{text}"
    );
    // The conversation restarted: not greeted, nothing announced.
    assert_eq!(stage(&s), Some(Stage::Connected));
    assert!(s.conversation().and_then(|c| c.extensions()).is_none());
    // `from` greets again by itself.
    run(&mut s, "from ann@example.org").expect("from");
    let cmds = server.commands();
    assert!(cmds[cmds.len() - 2].starts_with("EHLO "), "{cmds:?}");
    assert_eq!(stage(&s), Some(Stage::Mail { recipients: 0 }));
}

#[test]
fn xclient_login_counts_as_authenticated_for_the_prompt_status_expect_and_auth() {
    let server = xclient_server();
    let (mut s, out) = on(&server, true);
    run(&mut s, "xclient ADDR=192.0.2.20 LOGIN=alice").expect("xclient");
    let text = out.take();
    assert!(
        text.contains("the server now sees you as [192.0.2.20], authenticated as alice (LOGIN)"),
        "{text}"
    );
    assert!(s.prompt().0.contains(" alice"), "{:?}", s.prompt());
    run(&mut s, "expect auth alice").expect("expect auth alice");
    run(&mut s, "status").expect("status");
    assert!(out.take().contains("auth:         authenticated as alice"));
    // The server would refuse a second AUTH; so does the shell, before sending.
    let f = run(&mut s, "auth PLAIN bob").expect_err("already authenticated");
    assert!(
        f.message.contains("already authenticated as alice"),
        "{}",
        f.message
    );
    // XCLIENT without LOGIN: no one.
    run(&mut s, "xclient NAME=b.example").expect("xclient");
    assert!(run(&mut s, "expect auth").is_err());
}

#[test]
fn raw_xclient_goes_out_unannounced_and_its_220_is_a_new_greeting() {
    let server = MemoryServer::default().answer("XCLIENT", "220 memory.test again");
    let (mut s, out) = on(&server, true);
    // Typed, it is refused: the server did not announce XCLIENT.
    let f = run(&mut s, "xclient ADDR=192.0.2.20").expect_err("not announced");
    assert!(
        f.message.contains("did not announce XCLIENT"),
        "{}",
        f.message
    );
    assert!(
        f.hint.as_deref().unwrap_or("").contains("raw XCLIENT"),
        "{f:?}"
    );
    assert!(!server.commands().iter().any(|c| c.starts_with("XCLIENT")));
    // With raw it goes out, and the 220 restarts the conversation.
    run(&mut s, "raw XCLIENT ADDR=192.0.2.20").expect("raw");
    assert_eq!(
        server.commands().last().map(String::as_str),
        Some("XCLIENT ADDR=192.0.2.20")
    );
    assert_eq!(stage(&s), Some(Stage::Connected));
    let text = out.take();
    assert!(
        text.contains("new greeting: the server now sees you as [192.0.2.20]"),
        "{text}"
    );
}

#[test]
fn xclient_refuses_unannounced_attributes_and_open_transactions() {
    let server = MemoryServer::new(&["XCLIENT NAME ADDR"]);
    let (mut s, _out) = on(&server, true);
    let f = run(&mut s, "xclient LOGIN=alice").expect_err("not announced");
    assert!(
        f.message
            .contains("does not accept the XCLIENT attribute LOGIN: it announced NAME ADDR"),
        "{}",
        f.message
    );
    let f = run(&mut s, "xclient ADDR").expect_err("no value");
    assert!(f.message.contains("not NAME=VALUE"), "{}", f.message);
    run(&mut s, "from ann@example.org").expect("from");
    let f = run(&mut s, "xclient ADDR=192.0.2.20").expect_err("in a transaction");
    assert!(f.message.contains("goes before MAIL"), "{}", f.message);
    assert!(f.hint.as_deref().unwrap_or("").contains("rset"), "{f:?}");
    assert!(!server.commands().iter().any(|c| c.starts_with("XCLIENT")));
}

#[test]
fn xclient_values_are_xtext_and_never_carry_line_breaks() {
    let server = xclient_server();
    let (mut s, _out) = on(&server, true);
    let f = run(&mut s, "xclient NAME=a\r\nRSET").expect_err("CR LF");
    assert!(f.message.contains("control character"), "{}", f.message);
    let f = run(&mut s, "xclient \"HELO=a\u{7}b\"").expect_err("BEL");
    assert!(f.message.contains("control character"), "{}", f.message);
    assert!(!server.commands().iter().any(|c| c.starts_with("XCLIENT")));
    run(
        &mut s,
        "xclient \"HELO=my host+1\" ADDR=2001:db8::20 NAME=[UNAVAILABLE]",
    )
    .expect("xclient");
    assert_eq!(
        server.commands().last().map(String::as_str),
        Some("XCLIENT HELO=my+20host+2B1 ADDR=IPV6:2001:db8::20 NAME=[UNAVAILABLE]")
    );
}

#[test]
fn xforward_is_sent_when_announced_and_restarts_nothing() {
    let server = xclient_server();
    let (mut s, out) = on(&server, true);
    run(
        &mut s,
        "xforward NAME=mx.example.net ADDR=203.0.113.5 PROTO=ESMTP",
    )
    .expect("xforward");
    assert_eq!(
        server.commands().last().map(String::as_str),
        Some("XFORWARD NAME=mx.example.net ADDR=203.0.113.5 PROTO=ESMTP")
    );
    assert_eq!(stage(&s), Some(Stage::Ready));
    assert!(!out.take().contains("new greeting"));
    let f = run(&mut s, "xforward IDENT=x").expect_err("IDENT not announced");
    assert!(
        f.message.contains("XFORWARD attribute IDENT"),
        "{}",
        f.message
    );
    run(&mut s, "from ann@example.org").expect("from");
    let f = run(&mut s, "xforward NAME=x.example").expect_err("after MAIL");
    assert!(
        f.message.contains("XFORWARD goes before MAIL"),
        "{}",
        f.message
    );
    let server = MemoryServer::default();
    let (mut s, _) = on(&server, true);
    let f = run(&mut s, "xforward NAME=x.example").expect_err("not announced");
    assert!(
        f.message.contains("did not announce XFORWARD"),
        "{}",
        f.message
    );
    assert!(
        f.hint
            .as_deref()
            .unwrap_or("")
            .contains("smtpd_authorized_xforward_hosts")
    );
}

#[test]
fn network_option_errors_are_local() {
    let (mut s, _) = crate::shell::session::Session::for_tests();
    let err =
        |s: &mut crate::shell::session::Session, line: &str| run(s, line).expect_err(line).message;
    assert!(err(&mut s, "connect 127.0.0.1 2525 -4 -6").contains("exclude each other"));
    let e = err(&mut s, "connect 127.0.0.1 2525 -6");
    assert!(
        e.contains("127.0.0.1 is an IPv4 address, and --ipv6 asks for IPv6"),
        "{e}"
    );
    let e = err(&mut s, "connect ::1 2525 --ipv4");
    assert!(
        e.contains("::1 is an IPv6 address, and --ipv4 asks for IPv4"),
        "{e}"
    );
    let e = err(&mut s, "connect ::1 2525 --source 127.0.0.1");
    assert!(e.contains("the source address 127.0.0.1 is IPv4"), "{e}");
    // TEST-NET-1 is no address of this machine (EADDRNOTAVAIL).
    let e = err(&mut s, "connect 127.0.0.1 9 --source 192.0.2.1");
    assert!(
        e.contains(
            "cannot use 192.0.2.1 as the source address: it is not an address of this machine"
        ),
        "{e}"
    );
    let e = err(
        &mut s,
        "connect 127.0.0.1 9 --proxy-header v1 --proxy-from 192.0.2.10:1 --proxy-to [::1]:25",
    );
    assert!(e.contains("different address families"), "{e}");
    assert!(s.live.is_none());
}

/// A one-connection server on loopback: reads `want` bytes, hands them
/// back, then greets (so the client's connect completes).
fn header_catcher(want: usize) -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        let mut buf = vec![0u8; want];
        sock.read_exact(&mut buf).expect("header");
        let _ = sock.write_all(b"220 catcher ESMTP\r\n");
        let mut rest = Vec::new();
        let _ = sock.read_to_end(&mut rest);
        buf
    });
    (port, handle)
}

#[test]
fn the_proxy_header_is_the_first_bytes_on_the_wire() {
    let line = "PROXY TCP4 192.0.2.10 192.0.2.1 4444 25\r\n";
    let (port, got) = header_catcher(line.len());
    let (mut s, out) = crate::shell::session::Session::for_tests();
    run(
        &mut s,
        &format!("connect 127.0.0.1 {port} --proxy-header v1 --proxy-from 192.0.2.10:4444 --proxy-to 192.0.2.1:25"),
    )
    .expect("connect");
    s.drop_live();
    assert_eq!(got.join().expect("thread"), line.as_bytes());
    let text = out.take();
    assert!(
        text.contains("-> PROXY TCP4 192.0.2.10 192.0.2.1 4444 25"),
        "{text}"
    );

    // v2 with the connection's own addresses: 28 bytes, then the greeting.
    let (port, got) = header_catcher(28);
    run(
        &mut s,
        &format!("connect 127.0.0.1 {port} --proxy-header v2"),
    )
    .expect("connect");
    let local = s.live.as_ref().and_then(|l| l.conn.local()).expect("live");
    run(&mut s, "status").expect("status");
    s.drop_live();
    let h = got.join().expect("thread");
    assert_eq!(&h[..12], &V2_SIGNATURE);
    assert_eq!(&h[12..16], &[0x21, 0x11, 0x00, 0x0C]);
    assert_eq!(&h[16..20], &[127, 0, 0, 1]);
    assert_eq!(&h[24..26], &local.port().to_be_bytes());
    assert_eq!(&h[26..28], &port.to_be_bytes());
    let text = out.take();
    assert!(
        text.contains(&format!(
            "PROXY v2 (binary, 28 bytes): TCP4 {local} -> 127.0.0.1:{port}"
        )),
        "{text}"
    );
    assert!(
        text.contains("network:      PROXY v2 header (the connection's own addresses)"),
        "{text}"
    );
}

#[test]
fn a_close_before_the_greeting_suggests_a_proxy_header() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let t = std::thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        drop(sock);
    });
    let (mut s, _) = crate::shell::session::Session::for_tests();
    let f = run(&mut s, &format!("connect 127.0.0.1 {port}")).expect_err("closed");
    t.join().expect("thread");
    assert!(
        f.message.contains("waiting for the greeting"),
        "{}",
        f.message
    );
    assert!(
        f.hint
            .as_deref()
            .unwrap_or("")
            .contains("--proxy-header v1"),
        "{f:?}"
    );
}

/// A server on loopback that greets with `greeting` and closes.
fn greets_and_closes(greeting: &'static str) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let t = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().expect("accept");
        let _ = sock.write_all(greeting.as_bytes());
    });
    (port, t)
}

#[test]
fn only_a_421_like_postfix_waiting_for_the_header_suggests_one() {
    for (greeting, suggests) in [
        ("421 4.3.0 mx.example Server local error\r\n", true),
        (
            "421 4.7.0 mx.example Too many connections, try later\r\n",
            false,
        ),
    ] {
        let (port, t) = greets_and_closes(greeting);
        let (mut s, _) = crate::shell::session::Session::for_tests();
        let f = run(&mut s, &format!("connect 127.0.0.1 {port}")).expect_err("421");
        t.join().expect("thread");
        let said = format!("{} {:?}", f.message, f.hint);
        assert!(said.contains("(421)"), "{said}");
        assert_eq!(
            said.contains("--proxy-header"),
            suggests,
            "{greeting}: {said}"
        );
    }
}

#[test]
fn hangup_closes_without_quit_and_keeps_the_draft() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    run(&mut s, "from ann@example.org").expect("from");
    run(&mut s, "to bob@example.org").expect("to");
    out.take();
    run(&mut s, "hangup").expect("hangup");
    let said = out.take();
    assert!(
        said.contains("hung up without QUIT (the conversation was at: mail, 1 rcpt)"),
        "{said}"
    );
    assert!(
        !server.commands().iter().any(|c| c == "QUIT"),
        "{:?}",
        server.commands()
    );
    assert!(s.live.is_none());
    assert_eq!(s.prompt().0, "smtpsh> ");
    assert_eq!(s.draft.recipients().len(), 1);
    let f = run(&mut s, "hangup").expect_err("nothing to hang up");
    assert!(f.message.contains("not connected"), "{}", f.message);
}
