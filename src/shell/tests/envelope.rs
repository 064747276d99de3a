//! Envelope parameters (`from --ret`, `to --notify`, `--param`,
//! `--force`, the classic verbs with parameters) and the lines that
//! explain reply codes, in-process against the memory server.

use super::{on, run, run_with};
use crate::shell::session::Live;
use crate::smtp::conn::memory::{MemoryServer, greeted};

/// A server that offers DSN (and pipelining, SIZE).
fn dsn_server() -> MemoryServer {
    MemoryServer::new(&["PIPELINING", "SIZE 1000000", "DSN", "ENHANCEDSTATUSCODES"])
}

/// The MAIL and RCPT lines the server received.
fn envelope(server: &MemoryServer) -> Vec<String> {
    server
        .commands()
        .into_iter()
        .filter(|c| c.starts_with("MAIL") || c.starts_with("RCPT"))
        .collect()
}

#[test]
fn from_and_to_send_the_dsn_parameters_given_as_options() {
    let server = dsn_server();
    let (mut s, out) = on(&server, true);
    run(
        &mut s,
        "from \"Alice Example <alice@example.org>\" --ret hdrs --envid 'QQ 314+159'",
    )
    .expect("from");
    run(
        &mut s,
        "to bob@example.org --notify success,failure --orcpt rfc822;bob@example.org",
    )
    .expect("to");
    run(&mut s, "cc carol@example.org --notify never").expect("cc");
    assert_eq!(
        envelope(&server),
        vec![
            "MAIL FROM:<alice@example.org> RET=HDRS ENVID=QQ+20314+2B159",
            "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org",
            "RCPT TO:<carol@example.org> NOTIFY=NEVER",
        ]
    );
    // The display name survived the options.
    assert_eq!(
        s.draft.from.as_ref().map(ToString::to_string).as_deref(),
        Some("Alice Example <alice@example.org>")
    );
    // `status` shows them with the sender and each recipient.
    out.take();
    run(&mut s, "status").expect("status");
    let text = out.take();
    assert!(
        text.contains(
            "from:       Alice Example <alice@example.org> (RET=HDRS ENVID=QQ+20314+2B159)"
        ),
        "{text}"
    );
    assert!(
        text.contains("bob@example.org (NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org)"),
        "{text}"
    );
    assert!(text.contains("carol@example.org (NOTIFY=NEVER)"), "{text}");
}

#[test]
fn a_parameter_whose_extension_was_not_announced_is_refused_unless_forced() {
    // The default memory server announces no DSN.
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    let f = run(&mut s, "from alice@example.org --ret hdrs").unwrap_err();
    assert!(
        f.message
            .contains("RET needs the DSN extension (RFC 3461), and the server did not announce it"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("MAIL FROM was not sent"),
        "{}",
        f.message
    );
    assert!(f.hint.as_deref().unwrap_or("").contains("--force"), "{f:?}");
    assert!(envelope(&server).is_empty());
    assert!(s.draft.from.is_none(), "nothing changed");
    // --force: sent, with a warning.
    run(&mut s, "from alice@example.org --ret hdrs --force").expect("forced");
    assert_eq!(
        envelope(&server),
        vec!["MAIL FROM:<alice@example.org> RET=HDRS"]
    );
    assert!(
        out.stderr().contains("sent anyway (--force)"),
        "{}",
        out.stderr()
    );
    // A recipient's NOTIFY likewise.
    let f = run(&mut s, "to bob@example.org --notify success").unwrap_err();
    assert!(
        f.message.contains("NOTIFY needs the DSN extension"),
        "{}",
        f.message
    );
    assert!(s.draft.to.is_empty());
    assert_eq!(envelope(&server).len(), 1);
    run(&mut s, "to bob@example.org --notify success --force").expect("forced");
    assert_eq!(
        envelope(&server)[1],
        "RCPT TO:<bob@example.org> NOTIFY=SUCCESS"
    );
}

#[test]
fn requiretls_needs_the_extension_and_tls() {
    let server = MemoryServer::new(&["REQUIRETLS", "MT-PRIORITY MIXER"]);
    let (mut s, _out) = on(&server, true);
    let f = run(&mut s, "from alice@example.org --requiretls").unwrap_err();
    assert!(
        f.message.contains("only for a TLS connection"),
        "{}",
        f.message
    );
    assert!(envelope(&server).is_empty());
    // Without the extension at all, that is said first.
    let plain = MemoryServer::default();
    let (mut s2, _o) = on(&plain, true);
    let f = run(&mut s2, "from alice@example.org --requiretls").unwrap_err();
    assert!(
        f.message
            .contains("REQUIRETLS needs the REQUIRETLS extension (RFC 8689)"),
        "{}",
        f.message
    );
    // MT-PRIORITY by --param, announced: sent.
    run(&mut s, "from alice@example.org --param MT-PRIORITY=3").expect("mt-priority");
    assert_eq!(
        envelope(&server),
        vec!["MAIL FROM:<alice@example.org> MT-PRIORITY=3"]
    );
}

#[test]
fn param_is_checked_and_an_unknown_one_is_sent_with_a_warning() {
    let server = dsn_server();
    let (mut s, out) = on(&server, true);
    for (line, says) in [
        (
            "from a@example.org --param 'A B=1'",
            "not a parameter keyword",
        ),
        ("from a@example.org --param X=a=b", "holds '='"),
        ("from a@example.org --param =x", "not a parameter keyword"),
        ("from a@example.org --param X=", "has no value"),
        ("from a@example.org --param MT-PRIORITY=12", "MT-PRIORITY"),
        (
            "from a@example.org --param NOTIFY=NEVER",
            "RCPT TO parameter",
        ),
        ("from a@example.org --ret all", "full or hdrs"),
        (
            "from a@example.org --ret hdrs --param RET=FULL",
            "given twice",
        ),
        ("to b@example.org --notify never,success", "NEVER cannot go"),
        ("to b@example.org --orcpt bob", "TYPE;ADDRESS"),
        (
            "to b@example.org c@example.org --orcpt rfc822;b@example.org",
            "one address",
        ),
    ] {
        let f = run(&mut s, line).expect_err(line);
        let text = format!("{} {}", f.message, f.hint.unwrap_or_default());
        assert!(text.contains(says), "{line}: {text}");
    }
    assert!(envelope(&server).is_empty());
    run(&mut s, "from a@example.org --param X-TRACE=abc").expect("unknown is sent");
    assert_eq!(
        envelope(&server),
        vec!["MAIL FROM:<a@example.org> X-TRACE=abc"]
    );
    assert!(
        out.stderr()
            .contains("X-TRACE is not a parameter smtpsh knows"),
        "{}",
        out.stderr()
    );
    // Nothing typed reaches the wire with a line break.
    let f = run(&mut s, "to b@example.org --param X=a\r\nDATA").unwrap_err();
    assert!(f.message.contains("control character"), "{}", f.message);
}

#[test]
fn send_sends_the_parameters_the_draft_carries() {
    let server = dsn_server();
    let (mut s, out) = super::super::session::Session::for_tests();
    // Not connected: kept in the draft.
    for line in [
        "from alice@example.org --ret full --envid ID1",
        "to bob@example.org --notify success --orcpt rfc822;bob@example.org",
        "bcc dan@example.org",
        "subject dsn",
        "body hello",
    ] {
        run(&mut s, line).unwrap_or_else(|f| panic!("{line}: {}", f.message));
    }
    assert!(
        out.take()
            .contains("sender set to alice@example.org (RET=FULL ENVID=ID1)"),
        "the note names them"
    );
    run(&mut s, "show").expect("show");
    assert!(
        out.take().contains(
            "envelope parameters: MAIL FROM RET=FULL ENVID=ID1; \
             RCPT TO:<bob@example.org> NOTIFY=SUCCESS ORCPT=rfc822;bob@example.org"
        ),
        "show lists them"
    );
    let mut conn = server.connection();
    greeted(&mut conn).expect("greeting");
    s.live = Some(Live { conn, mx: None });
    run(&mut s, "send --keep-open").expect("send");
    let env = envelope(&server);
    assert_eq!(env.len(), 3, "{env:?}");
    assert!(
        env[0].starts_with("MAIL FROM:<alice@example.org> SIZE=")
            && env[0].ends_with(" RET=FULL ENVID=ID1"),
        "{env:?}"
    );
    assert_eq!(
        env[1],
        "RCPT TO:<bob@example.org> NOTIFY=SUCCESS ORCPT=rfc822;bob@example.org"
    );
    assert_eq!(env[2], "RCPT TO:<dan@example.org>");
    // The sender keeps its parameters for the next message; recipients go.
    assert_eq!(s.draft.mail_params.list, vec!["RET=FULL", "ENVID=ID1"]);
    assert!(s.draft.rcpt_params.is_empty());
}

#[test]
fn send_refuses_the_draft_s_parameters_a_server_did_not_announce() {
    let server = MemoryServer::default();
    let (mut s, _out) = super::super::session::Session::for_tests();
    for line in [
        "from alice@example.org --envid X",
        "to bob@example.org",
        "body hi",
    ] {
        run(&mut s, line).expect(line);
    }
    let mut conn = server.connection();
    greeted(&mut conn).expect("greeting");
    s.live = Some(Live { conn, mx: None });
    let f = run(&mut s, "send").unwrap_err();
    assert!(
        f.message.contains("ENVID needs the DSN extension"),
        "{}",
        f.message
    );
    assert!(f.message.contains("nothing was sent"), "{}", f.message);
    assert!(envelope(&server).is_empty());
}

#[test]
fn classic_verbs_with_parameters_are_sent_as_typed() {
    let server = dsn_server();
    let (mut s, out) = on(&server, true);
    run(&mut s, "MAIL FROM:<a@example.org> RET=HDRS ENVID=x").expect("MAIL");
    run(
        &mut s,
        "RCPT TO:<b@example.org> NOTIFY=SUCCESS ORCPT=rfc822;b@example.org",
    )
    .expect("RCPT with parameters is no invalid address");
    assert_eq!(
        envelope(&server),
        vec![
            "MAIL FROM:<a@example.org> RET=HDRS ENVID=x",
            "RCPT TO:<b@example.org> NOTIFY=SUCCESS ORCPT=rfc822;b@example.org",
        ]
    );
    assert_eq!(s.draft.mail_params.list, vec!["RET=HDRS", "ENVID=x"]);
    assert_eq!(
        s.draft
            .rcpt_params_for(&crate::address::Address::parse("b@example.org").unwrap())
            .map(|p| p.list.clone()),
        Some(vec![
            "NOTIFY=SUCCESS".to_string(),
            "ORCPT=rfc822;b@example.org".to_string()
        ])
    );
    // Not announced: still sent as typed, with a warning.
    let plain = MemoryServer::default();
    let (mut s2, out2) = on(&plain, true);
    run(&mut s2, "MAIL FROM:<a@example.org>").expect("MAIL");
    run(&mut s2, "RCPT TO:<b@example.org> NOTIFY=NEVER").expect("RCPT");
    assert_eq!(envelope(&plain)[1], "RCPT TO:<b@example.org> NOTIFY=NEVER");
    assert!(
        out2.stderr().contains("sent as typed (the classic form)"),
        "{}",
        out2.stderr()
    );
    // `to` with a parameter as a word says how to give it.
    let f = run(&mut s, "to c@example.org NOTIFY=SUCCESS").unwrap_err();
    assert!(f.hint.unwrap_or_default().contains("--notify"));
    let _ = out.take();
}

#[test]
fn a_recording_replays_the_options() {
    let server = dsn_server();
    let (mut s, _out) = on(&server, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rec.smtp");
    run(&mut s, &format!("record {}", file.display())).expect("record");
    run(&mut s, "from a@example.org --ret hdrs --envid E1").expect("from");
    run(&mut s, "to b@example.org --notify delay").expect("to");
    run(&mut s, "record stop").expect("stop");
    let text = std::fs::read_to_string(&file).expect("recording");
    assert!(
        text.contains("from a@example.org --ret hdrs --envid E1\n"),
        "{text}"
    );
    assert!(text.contains("to b@example.org --notify delay\n"), "{text}");
    // Replayed on a new connection, the same lines go out.
    let again = dsn_server();
    let (mut s2, _o) = on(&again, true);
    run(&mut s2, &format!("source {}", file.display())).expect("replay");
    assert_eq!(envelope(&again), envelope(&server));
}

#[test]
fn a_reply_with_an_enhanced_code_is_explained_on_a_dimmed_line() {
    let server = MemoryServer::default()
        .answer(
            "RCPT TO:<SPF",
            "550 5.7.26 Multiple authentication checks failed",
        )
        .answer("RCPT TO:<GREY", "450 4.7.0 try later");
    let (mut s, out) = on(&server, true);
    run(&mut s, "from a@example.org").expect("from");
    let _ = run(&mut s, "to spf@example.org");
    let text = out.take();
    assert!(
        text.contains(
            "<-  550 5.7.26 Multiple authentication checks failed\n    5.7.26 Multiple \
             authentication checks failed (permanent failure, RFC 7372)"
        ),
        "{text}"
    );
    let _ = run(&mut s, "to grey@example.org");
    assert!(out.take().contains("often greylisting"), "explains 4.7.0");
    // Dimmed when coloured.
    s.out.set_color(true);
    let _ = run(&mut s, "to spf@example.org");
    assert!(out.take().contains("\x1b[2m5.7.26 Multiple"), "dim");
    s.out.set_color(false);
    // `set explain errors`: not under a 250.
    run(&mut s, "set explain errors").expect("set");
    run(&mut s, "noop").expect("noop");
    assert!(!out.take().contains("2.0.0 success"));
    // `set explain off` hides it.
    run(&mut s, "set explain off").expect("set");
    let _ = run(&mut s, "to spf@example.org");
    let text = out.take();
    assert!(text.contains("<-  550 5.7.26"), "{text}");
    assert!(!text.contains("RFC 7372"), "{text}");
    assert!(run(&mut s, "set explain loud").is_err());
    // `expect` judges the reply, not the explanation.
    run(&mut s, "set explain on").expect("set");
    let _ = run(&mut s, "to spf@example.org");
    run_with(&mut s, "expect 550 5.7.26 /Multiple/", &[]).expect("expect");
}

#[test]
fn help_explains_smtp_verbs_and_codes() {
    let (mut s, out) = super::super::session::Session::for_tests();
    run(&mut s, "help smtp rcpt").expect("help smtp");
    let text = out.take();
    assert!(
        text.contains("RCPT TO:<forward-path> [SP rcpt-parameters]  (RFC 5321 §4.1.1.3)"),
        "{text}"
    );
    assert!(
        text.contains("NOTIFY=NEVER|SUCCESS,FAILURE,DELAY"),
        "{text}"
    );
    assert!(text.contains("`to` sends it"), "{text}");
    run(&mut s, "help smtp").expect("list");
    let text = out.take();
    assert!(
        text.contains("XCLIENT") && text.contains("STARTTLS"),
        "{text}"
    );
    run(&mut s, "help code 5.7.1").expect("help code");
    let text = out.take();
    assert!(
        text.contains(
            "5.7.1 Delivery not authorized, message refused (permanent failure, RFC 3463)"
        ),
        "{text}"
    );
    run(&mut s, "help code 550").expect("basic");
    assert!(out.take().contains("550: Mailbox unavailable"));
    run(&mut s, "help code 5.7").expect("subject");
    assert!(
        out.take()
            .contains("X.7.26 Multiple authentication checks failed (RFC 7372)")
    );
    run(&mut s, "help code").expect("overview");
    assert!(out.take().contains("X.7.X  security or policy"));
    let f = run(&mut s, "help code 6.1.1").unwrap_err();
    assert!(f.message.contains("not a reply code"), "{}", f.message);
    let f = run(&mut s, "help smtp FROB").unwrap_err();
    assert!(f.hint.unwrap_or_default().contains("EHLO"));
    assert!(run(&mut s, "help to from").is_err());
}

#[test]
fn a_recipient_typed_again_without_options_goes_without_its_old_parameters() {
    let server = dsn_server();
    let (mut s, _out) = on(&server, true);
    run(&mut s, "from ann@example.org").expect("from");
    run(&mut s, "to bob@example.org --notify success").expect("to");
    run(&mut s, "rset").expect("rset");
    run(&mut s, "to bob@example.org").expect("to again");
    let rcpts: Vec<String> = envelope(&server)
        .into_iter()
        .filter(|c| c.starts_with("RCPT"))
        .collect();
    assert_eq!(
        rcpts,
        [
            "RCPT TO:<bob@example.org> NOTIFY=SUCCESS",
            "RCPT TO:<bob@example.org>"
        ]
    );
    let bob = crate::address::Address::parse("bob@example.org").expect("address");
    assert!(s.draft.rcpt_params_for(&bob).is_none());
}
