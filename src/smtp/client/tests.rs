//! The conversation in memory: commands and replies in, state out.

use super::*;
use crate::address::Address;
use crate::smtp::reply::ReplyParser;

fn reply(wire: &str) -> Reply {
    let mut p = ReplyParser::new();
    p.push(wire.as_bytes()).expect("valid reply");
    p.next_reply().expect("complete reply")
}

fn addr(a: &str) -> Address {
    Address::parse(a).expect("valid address")
}

/// Sends `cmd` and feeds `wire` as its reply.
fn exchange(c: &mut Conversation, cmd: &Command, wire: &str) -> Change {
    c.send(cmd).expect("may send");
    c.receive(&reply(wire)).change
}

/// MAIL FROM:<> and RCPT TO:<`to`>, both answered 250.
fn mail_to(c: &mut Conversation, to: &str) {
    exchange(
        c,
        &Command::mail_from(None, &[]).expect("mail"),
        "250 ok\r\n",
    );
    exchange(
        c,
        &Command::rcpt_to(&addr(to), &[]).expect("rcpt"),
        "250 ok\r\n",
    );
}

/// A conversation greeted with 220 and EHLO.
fn ready(ehlo_reply: &str) -> Conversation {
    let mut c = Conversation::new(false);
    assert_eq!(c.stage(), Stage::Greeting);
    assert_eq!(
        c.receive(&reply("220 mx.example ESMTP\r\n")).change,
        Change::Greeted
    );
    assert_eq!(c.stage(), Stage::Connected);
    let ehlo = Command::ehlo("client.example").expect("ehlo");
    assert_eq!(exchange(&mut c, &ehlo, ehlo_reply), Change::Hello);
    c
}

#[test]
fn greeting_then_ehlo_learns_the_extensions() {
    let c = ready("250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
    assert_eq!(c.stage(), Stage::Ready);
    assert_eq!(
        c.hello(),
        Some(&Hello {
            verb: Verb::Ehlo,
            name: "client.example".into()
        })
    );
    assert!(c.offers(Ext::Pipelining));
    assert!(!c.offers(Ext::StartTls));
    assert_eq!(c.greeting().map(|g| g.code), Some(220));
}

#[test]
fn helo_has_no_extensions_and_a_refused_ehlo_changes_nothing() {
    let mut c = Conversation::new(false);
    c.receive(&reply("220 x\r\n"));
    let ehlo = Command::ehlo("client.example").expect("ehlo");
    assert_eq!(exchange(&mut c, &ehlo, "502 no\r\n"), Change::Nothing);
    assert_eq!(c.stage(), Stage::Connected);
    let helo = Command::helo("client.example").expect("helo");
    assert_eq!(exchange(&mut c, &helo, "250 hi\r\n"), Change::Hello);
    assert_eq!(c.stage(), Stage::Ready);
    assert!(c.extensions().is_none());
    assert_eq!(c.hello().map(|h| h.verb), Some(Verb::Helo));
}

#[test]
fn a_refused_greeting_is_recorded() {
    let mut c = Conversation::new(false);
    assert_eq!(
        c.receive(&reply("554 go away\r\n")).change,
        Change::GreetingRefused
    );
    assert_eq!(c.greeting().map(|g| g.code), Some(554));
    assert_eq!(c.stage(), Stage::Connected);
}

#[test]
fn transaction_records_each_recipient_once() {
    let mut c = ready("250 mx.example\r\n");
    let mail = Command::mail_from(Some(&addr("a@example.org")), &[]).expect("mail");
    assert_eq!(
        exchange(&mut c, &mail, "250 ok\r\n"),
        Change::SenderAccepted
    );
    assert_eq!(c.stage(), Stage::Mail { recipients: 0 });
    let bob = Command::rcpt_to(&addr("bob@example.org"), &[]).expect("rcpt");
    assert_eq!(
        exchange(&mut c, &bob, "250 ok\r\n"),
        Change::RecipientAccepted("bob@example.org".into())
    );
    // Accepted again: still one.
    exchange(&mut c, &bob, "250 ok\r\n");
    let eve = Command::rcpt_to(&addr("eve@example.org"), &[]).expect("rcpt");
    assert_eq!(
        exchange(&mut c, &eve, "550 5.1.1 no such user\r\n"),
        Change::RecipientRefused("eve@example.org".into())
    );
    let t = c.transaction().expect("open");
    assert_eq!(t.sender(), Some("a@example.org"));
    assert_eq!(t.accepted(), ["bob@example.org"]);
    assert!(t.is_accepted("BOB@example.org"));
    assert_eq!(t.refused().len(), 1);
    assert_eq!(t.refused()[0].reply.code, 550);
    assert_eq!(c.stage(), Stage::Mail { recipients: 1 });
}

#[test]
fn lines_typed_by_hand_count_like_built_commands() {
    let mut c = ready("250 mx.example\r\n");
    let mail = Command::raw("mail from:<a@example.org> BODY=8BITMIME").expect("raw");
    exchange(&mut c, &mail, "250 ok\r\n");
    let rcpt = Command::raw("RCPT TO:<x@example.org>").expect("raw");
    exchange(&mut c, &rcpt, "250 ok\r\n");
    assert!(
        c.transaction()
            .is_some_and(|t| t.is_accepted("x@example.org"))
    );
    let rset = Command::raw("rset").expect("raw");
    assert_eq!(exchange(&mut c, &rset, "250 ok\r\n"), Change::Reset);
    assert!(c.transaction().is_none());
    let helo = Command::raw("HELO other.example").expect("raw");
    exchange(&mut c, &helo, "250 ok\r\n");
    assert_eq!(c.hello().map(|h| h.name.as_str()), Some("other.example"));
}

#[test]
fn a_rcpt_outside_a_transaction_changes_no_envelope() {
    let mut c = ready("250 mx.example\r\n");
    let rcpt = Command::raw("RCPT TO:<x@example.org>").expect("raw");
    assert_eq!(
        exchange(&mut c, &rcpt, "503 5.5.1 need MAIL\r\n"),
        Change::RecipientRefused("x@example.org".into())
    );
    assert!(c.transaction().is_none());
    assert_eq!(c.stage(), Stage::Ready);
}

#[test]
fn data_then_content_then_the_final_reply_ends_the_transaction() {
    let mut c = ready("250 mx.example\r\n");
    mail_to(&mut c, "b@example.org");
    assert_eq!(c.transaction().and_then(Transaction::sender), Some(""));
    assert_eq!(
        c.content_sent(),
        Err(Refusal::NoContentExpected),
        "no content before 354"
    );
    assert_eq!(
        exchange(&mut c, &Command::data(), "354 go ahead\r\n"),
        Change::DataReady
    );
    assert_eq!(c.stage(), Stage::Data);
    assert_eq!(c.check(), Err(Refusal::ContentDue));
    c.content_sent().expect("content");
    assert_eq!(c.next_pending(), Some(&Pending::EndOfData));
    assert_eq!(
        c.receive(&reply("250 queued as X\r\n")).change,
        Change::MessageAccepted
    );
    assert_eq!(c.stage(), Stage::Ready);
    assert!(c.transaction().is_none());
}

#[test]
fn a_refused_data_keeps_the_transaction_and_a_refused_message_ends_it() {
    let mut c = ready("250 mx.example\r\n");
    exchange(
        &mut c,
        &Command::mail_from(None, &[]).expect("mail"),
        "250 ok\r\n",
    );
    assert_eq!(
        exchange(&mut c, &Command::data(), "554 no valid recipients\r\n"),
        Change::Nothing
    );
    assert_eq!(c.stage(), Stage::Mail { recipients: 0 });
    exchange(&mut c, &Command::data(), "354 go\r\n");
    c.content_sent().expect("content");
    assert_eq!(
        c.receive(&reply("552 too big\r\n")).change,
        Change::MessageRefused
    );
    assert!(c.transaction().is_none());
}

#[test]
fn bdat_last_ends_the_transaction() {
    let mut c = ready("250-mx.example\r\n250 CHUNKING\r\n");
    exchange(
        &mut c,
        &Command::mail_from(None, &[]).expect("mail"),
        "250 ok\r\n",
    );
    assert_eq!(
        exchange(&mut c, &Command::bdat(10, false), "250 more\r\n"),
        Change::Nothing
    );
    assert!(c.transaction().is_some());
    assert_eq!(
        exchange(&mut c, &Command::bdat(10, true), "250 done\r\n"),
        Change::MessageAccepted
    );
    assert!(c.transaction().is_none());
}

#[test]
fn pipelined_replies_answer_their_commands_in_order() {
    let mut c = ready("250-mx.example\r\n250 PIPELINING\r\n");
    let group = [
        Command::mail_from(Some(&addr("a@example.org")), &[]).expect("mail"),
        Command::rcpt_to(&addr("b@example.org"), &[]).expect("rcpt"),
        Command::rcpt_to(&addr("c@example.org"), &[]).expect("rcpt"),
        Command::data(),
    ];
    for cmd in &group {
        c.send(cmd).expect("send");
    }
    assert_eq!(c.pending_count(), 4);
    let changes: Vec<Change> = ["250 ok\r\n", "550 no\r\n", "250 ok\r\n", "354 go\r\n"]
        .iter()
        .map(|w| c.receive(&reply(w)).change)
        .collect();
    assert_eq!(
        changes,
        vec![
            Change::SenderAccepted,
            Change::RecipientRefused("b@example.org".into()),
            Change::RecipientAccepted("c@example.org".into()),
            Change::DataReady,
        ]
    );
    assert_eq!(c.stage(), Stage::Data);
}

#[test]
fn a_421_closes_the_conversation_whenever_it_comes() {
    let mut c = ready("250 mx.example\r\n");
    exchange(
        &mut c,
        &Command::mail_from(None, &[]).expect("mail"),
        "250 ok\r\n",
    );
    let answer = c.receive(&reply("421 4.4.2 idle timeout\r\n"));
    assert_eq!(answer.to, None);
    assert_eq!(answer.change, Change::Closed);
    assert_eq!(c.stage(), Stage::Closed);
    assert!(c.transaction().is_none(), "the envelope dies with it");
    assert!(matches!(c.closed(), Some(Closed::ByServer(r)) if r.code == 421));
    assert!(matches!(
        c.send(&Command::noop()),
        Err(Refusal::Closed(Closed::ByServer(_)))
    ));
    // As the reply to a command, too.
    let mut c = ready("250 mx.example\r\n");
    assert_eq!(
        exchange(&mut c, &Command::noop(), "421 shutting down\r\n"),
        Change::Closed
    );
    assert_eq!(c.stage(), Stage::Closed);
}

#[test]
fn other_unsolicited_replies_change_nothing() {
    let mut c = ready("250 mx.example\r\n");
    let answer = c.receive(&reply("250 surprise\r\n"));
    assert_eq!(answer.change, Change::Unexpected);
    assert_eq!(c.stage(), Stage::Ready);
}

#[test]
fn quit_and_loss_close_it() {
    let mut c = ready("250 mx.example\r\n");
    assert_eq!(
        exchange(&mut c, &Command::quit(), "221 bye\r\n"),
        Change::Closed
    );
    assert_eq!(c.closed(), Some(&Closed::Quit));
    let mut c = ready("250 mx.example\r\n");
    c.lost(None);
    assert_eq!(c.closed(), Some(&Closed::Dropped));
    c.lost(Some("later".into()));
    assert_eq!(c.closed(), Some(&Closed::Dropped), "the first reason stays");
    assert!(c.hello().is_none());
}

#[test]
fn starttls_waits_for_the_handshake_then_forgets_everything() {
    let mut c = ready("250-mx.example\r\n250 STARTTLS\r\n");
    exchange(
        &mut c,
        &Command::mail_from(None, &[]).expect("mail"),
        "250 ok\r\n",
    );
    exchange(&mut c, &Command::rset(), "250 ok\r\n");
    assert_eq!(
        exchange(&mut c, &Command::starttls(), "220 go ahead\r\n"),
        Change::TlsReady
    );
    assert_eq!(c.stage(), Stage::TlsHandshake);
    assert_eq!(c.check(), Err(Refusal::TlsDue));
    c.tls_established();
    assert!(c.is_secure());
    assert_eq!(c.stage(), Stage::Connected);
    assert!(c.hello().is_none() && c.extensions().is_none());
}

#[test]
fn auth_records_the_user_only_on_success() {
    let mut c = ready("250-mx.example\r\n250 AUTH PLAIN LOGIN\r\n");
    let auth = Command::auth("LOGIN", None).expect("auth").for_user("ann");
    assert_eq!(
        exchange(&mut c, &auth, "334 VXNlcm5hbWU6\r\n"),
        Change::Challenge
    );
    let r = Command::sasl_response("YW5u", "****").expect("response");
    assert_eq!(
        exchange(&mut c, &r, "334 UGFzc3dvcmQ6\r\n"),
        Change::Challenge
    );
    assert_eq!(
        exchange(&mut c, &r, "235 2.7.0 ok\r\n"),
        Change::Authenticated("ann".into())
    );
    assert_eq!(c.user(), Some("ann"));
    let mut c = ready("250-mx.example\r\n250 AUTH PLAIN\r\n");
    let auth = Command::auth("PLAIN", Some("AGFubgB4"))
        .expect("auth")
        .for_user("ann");
    assert_eq!(exchange(&mut c, &auth, "535 5.7.8 no\r\n"), Change::Nothing);
    assert_eq!(c.user(), None);
}

#[test]
fn a_new_greeting_resets_the_transaction() {
    let mut c = ready("250 mx.example\r\n");
    exchange(
        &mut c,
        &Command::mail_from(None, &[]).expect("mail"),
        "250 ok\r\n",
    );
    let ehlo = Command::ehlo("again.example").expect("ehlo");
    exchange(&mut c, &ehlo, "250 mx.example\r\n");
    assert!(c.transaction().is_none());
    assert_eq!(c.stage(), Stage::Ready);
}

/// A conversation greeted, with XCLIENT announced, in a transaction-free state.
fn xclient_ready() -> Conversation {
    ready("250-mx.example\r\n250-XCLIENT NAME ADDR\r\n250 AUTH PLAIN\r\n")
}

#[test]
fn a_220_to_xclient_is_a_new_greeting() {
    let mut c = xclient_ready();
    let auth = Command::auth("PLAIN", Some("AGFubgB4"))
        .expect("auth")
        .for_user("ann");
    exchange(&mut c, &auth, "235 2.7.0 ok\r\n");
    let x = crate::smtp::forward::command(
        crate::smtp::forward::Forward::Xclient,
        &[("ADDR".into(), "192.0.2.20".into())],
    )
    .expect("xclient");
    assert_eq!(
        exchange(&mut c, &x, "220 mx.example ESMTP again\r\n"),
        Change::NewGreeting
    );
    // As after a new connection: greet again; nothing announced, no AUTH.
    assert_eq!(c.stage(), Stage::Connected);
    assert!(c.hello().is_none() && c.extensions().is_none());
    assert_eq!(c.user(), None);
    assert_eq!(
        c.greeting().map(|g| g.text()),
        Some("mx.example ESMTP again".into())
    );
    let ehlo = Command::ehlo("client.example").expect("ehlo");
    assert_eq!(exchange(&mut c, &ehlo, "250 mx.example\r\n"), Change::Hello);
    assert_eq!(c.stage(), Stage::Ready);
}

#[test]
fn xclient_login_makes_the_new_session_authenticated_as_that_user() {
    let mut c = xclient_ready();
    let x = crate::smtp::forward::command(
        crate::smtp::forward::Forward::Xclient,
        &[("LOGIN".into(), "ann+admin".into())],
    )
    .expect("xclient");
    assert_eq!(x.to_string(), "XCLIENT LOGIN=ann+2Badmin");
    assert_eq!(
        exchange(&mut c, &x, "220 mx.example ESMTP\r\n"),
        Change::NewGreeting
    );
    assert_eq!(c.user(), Some("ann+admin"));
    // Greeting again keeps it; so does a refused XCLIENT.
    let ehlo = Command::ehlo("client.example").expect("ehlo");
    exchange(
        &mut c,
        &ehlo,
        "250-mx.example\r\n250 XCLIENT NAME ADDR LOGIN\r\n",
    );
    assert_eq!(c.user(), Some("ann+admin"));
    let refused = Command::raw("XCLIENT LOGIN=bob").expect("raw");
    exchange(&mut c, &refused, "550 5.7.0 no\r\n");
    assert_eq!(c.user(), Some("ann+admin"));
    // A later XCLIENT without LOGIN, or saying it is unknown, leaves no
    // one authenticated (as Postfix resets its SASL state).
    for line in [
        "xclient NAME=a.example",
        "XCLIENT login=[UNAVAILABLE]",
        "XCLIENT LOGIN=[TEMPUNAVAIL]",
    ] {
        let raw = Command::raw("XCLIENT LOGIN=bob").expect("raw");
        exchange(&mut c, &raw, "220 again\r\n");
        assert_eq!(c.user(), Some("bob"));
        let raw = Command::raw(line).expect("raw");
        exchange(&mut c, &raw, "220 again\r\n");
        assert_eq!(c.user(), None, "{line}");
    }
    // The last LOGIN wins; a bad xtext names no one.
    let raw = Command::raw("XCLIENT LOGIN=a LOGIN=b").expect("raw");
    exchange(&mut c, &raw, "220 again\r\n");
    assert_eq!(c.user(), Some("b"));
    let raw = Command::raw("XCLIENT LOGIN=a+zz").expect("raw");
    exchange(&mut c, &raw, "220 again\r\n");
    assert_eq!(c.user(), None);
}

#[test]
fn a_raw_xclient_counts_the_same_and_tls_stays() {
    let mut c = Conversation::new(true);
    c.receive(&reply("220 mx.example\r\n"));
    let raw = Command::raw("xclient NAME=client.example").expect("raw");
    assert_eq!(raw.verb(), Verb::Xclient);
    assert_eq!(
        exchange(&mut c, &raw, "220 mx.example\r\n"),
        Change::NewGreeting
    );
    assert!(c.is_secure());
    assert_eq!(c.stage(), Stage::Connected);
}

#[test]
fn a_refused_xclient_and_xforward_change_nothing() {
    let mut c = xclient_ready();
    let raw = Command::raw("XCLIENT ADDR=192.0.2.20").expect("raw");
    assert_eq!(
        exchange(&mut c, &raw, "550 5.7.0 insufficient authorization\r\n"),
        Change::Nothing
    );
    assert_eq!(c.stage(), Stage::Ready);
    assert!(c.extensions().is_some());
    // XFORWARD's 250 restarts nothing.
    let xf = Command::raw("XFORWARD NAME=relay.example").expect("raw");
    assert_eq!(xf.verb(), Verb::Xforward);
    assert_eq!(exchange(&mut c, &xf, "250 2.0.0 Ok\r\n"), Change::Nothing);
    assert_eq!(c.stage(), Stage::Ready);
    // A 220 to anything else is no greeting.
    assert_eq!(
        exchange(&mut c, &Command::noop(), "220 odd\r\n"),
        Change::Nothing
    );
    assert!(c.hello().is_some());
}

#[test]
fn replies_pipelined_after_xclient_stay_due() {
    let mut c = xclient_ready();
    let x = Command::raw("XCLIENT NAME=a.example").expect("raw");
    let ehlo = Command::ehlo("client.example").expect("ehlo");
    c.send(&x).expect("send");
    c.send(&ehlo).expect("send");
    assert_eq!(
        c.receive(&reply("220 again\r\n")).change,
        Change::NewGreeting
    );
    assert_eq!(c.pending_count(), 1);
    assert_eq!(
        c.receive(&reply("250 mx.example\r\n")).change,
        Change::Hello
    );
}

/// An LMTP conversation greeted with LHLO (which makes it LMTP by itself),
/// with MAIL accepted and these recipients sent: `Some(code)` is the reply.
fn lmtp_with(lhlo_reply: &str, rcpts: &[(&str, &str)]) -> Conversation {
    let mut c = Conversation::new(false);
    c.receive(&reply("220 lmtp.example LMTP\r\n"));
    assert!(!c.is_lmtp());
    let lhlo = Command::lhlo("client.example").expect("lhlo");
    assert_eq!(exchange(&mut c, &lhlo, lhlo_reply), Change::Hello);
    assert!(c.is_lmtp(), "an accepted LHLO makes it LMTP");
    exchange(
        &mut c,
        &Command::mail_from(Some(&addr("a@example.org")), &[]).expect("mail"),
        "250 ok\r\n",
    );
    for (rcpt, wire) in rcpts {
        exchange(
            &mut c,
            &Command::rcpt_to(&addr(rcpt), &[]).expect("rcpt"),
            wire,
        );
    }
    c
}

#[test]
fn lmtp_gives_one_reply_per_accepted_recipient_after_the_message() {
    let mut c = lmtp_with(
        "250-lmtp.example\r\n250 PIPELINING\r\n",
        &[
            ("bob@example.org", "250 ok\r\n"),
            ("nobody@example.org", "550 5.1.1 no such user\r\n"),
            ("carol@example.org", "250 ok\r\n"),
        ],
    );
    exchange(&mut c, &Command::data(), "354 go\r\n");
    c.content_sent().expect("content");
    assert_eq!(c.pending_count(), 2, "one reply per accepted recipient");
    assert_eq!(
        c.next_pending(),
        Some(&Pending::Delivery {
            recipient: "bob@example.org".into(),
            last: false
        })
    );
    assert_eq!(
        c.receive(&reply("250 2.0.0 <bob@example.org> Saved\r\n"))
            .change,
        Change::Delivered {
            recipient: "bob@example.org".into(),
            last: false
        }
    );
    // Still in the transaction until the last recipient's reply.
    assert_eq!(c.stage(), Stage::Mail { recipients: 2 });
    assert_eq!(c.transaction().map(|t| t.deliveries().len()), Some(1));
    assert_eq!(
        c.receive(&reply("452 4.2.2 <carol@example.org> Quota exceeded\r\n"))
            .change,
        Change::NotDelivered {
            recipient: "carol@example.org".into(),
            last: true
        }
    );
    assert_eq!(c.stage(), Stage::Ready);
    assert_eq!(c.pending_count(), 0);
    let done = c.last_message().expect("the ended transaction");
    let got: Vec<(&str, u16)> = done
        .deliveries()
        .iter()
        .map(|d| (d.address.as_str(), d.reply.code))
        .collect();
    assert_eq!(got, [("bob@example.org", 250), ("carol@example.org", 452)]);
    assert_eq!(done.refused()[0].address, "nobody@example.org");
    assert!(done.undelivered_unknown().is_empty());
    // QUIT's reply is QUIT's, not a recipient's.
    assert_eq!(
        exchange(&mut c, &Command::quit(), "221 bye\r\n"),
        Change::Closed
    );
}

#[test]
fn lmtp_set_by_the_caller_and_raw_lhlo_count_too() {
    let mut c = Conversation::new(false);
    c.set_lmtp();
    c.receive(&reply("220 x\r\n"));
    exchange(
        &mut c,
        &Command::raw("LHLO me.example").expect("raw"),
        "250 x\r\n",
    );
    assert_eq!(c.hello().map(|h| h.verb), Some(Verb::Lhlo));
    assert!(c.is_lmtp());
    exchange(
        &mut c,
        &Command::mail_from(None, &[]).expect("mail"),
        "250 ok\r\n",
    );
    exchange(
        &mut c,
        &Command::raw("RCPT TO:<b@example.org>").expect("raw"),
        "250 ok\r\n",
    );
    exchange(&mut c, &Command::raw("DATA").expect("raw"), "354 go\r\n");
    c.content_sent().expect("content");
    assert_eq!(c.pending_count(), 1);
    assert!(matches!(
        c.receive(&reply("250 ok\r\n")).change,
        Change::Delivered { last: true, .. }
    ));
    // A new transaction forgets the last one.
    exchange(
        &mut c,
        &Command::mail_from(None, &[]).expect("mail"),
        "250 ok\r\n",
    );
    assert!(c.last_message().is_none());
    // SMTP (EHLO) is one reply, even if LHLO was never sent.
    let mut s = ready("250 mx.example\r\n");
    assert!(!s.is_lmtp());
    mail_to(&mut s, "b@example.org");
    exchange(
        &mut s,
        &Command::rcpt_to(&addr("c@example.org"), &[]).expect("rcpt"),
        "250 ok\r\n",
    );
    exchange(&mut s, &Command::data(), "354 go\r\n");
    s.content_sent().expect("content");
    assert_eq!(s.next_pending(), Some(&Pending::EndOfData));
    assert_eq!(s.pending_count(), 1);
    s.receive(&reply("250 ok\r\n"));
    assert_eq!(
        s.last_message().map(|t| t.accepted().len()),
        Some(2),
        "the ended transaction is kept in SMTP too"
    );
}

#[test]
fn lmtp_bdat_last_gets_one_reply_per_recipient_and_a_chunk_one() {
    let mut c = lmtp_with(
        "250-lmtp.example\r\n250 CHUNKING\r\n",
        &[
            ("bob@example.org", "250 ok\r\n"),
            ("carol@example.org", "250 ok\r\n"),
        ],
    );
    assert_eq!(
        exchange(&mut c, &Command::bdat(10, false), "250 more\r\n"),
        Change::Nothing
    );
    c.send(&Command::bdat(5, true)).expect("bdat");
    assert_eq!(c.pending_count(), 2);
    assert!(matches!(
        c.receive(&reply("550 5.2.0 no\r\n")).change,
        Change::NotDelivered { last: false, .. }
    ));
    assert!(matches!(
        c.receive(&reply("250 ok\r\n")).change,
        Change::Delivered { last: true, .. }
    ));
    assert!(c.transaction().is_none());
    assert_eq!(c.last_message().map(|t| t.deliveries().len()), Some(2));
}

#[test]
fn lmtp_a_421_or_a_close_among_the_replies_keeps_what_came() {
    let rcpts = [
        ("bob@example.org", "250 ok\r\n"),
        ("carol@example.org", "250 ok\r\n"),
        ("dave@example.org", "250 ok\r\n"),
    ];
    let mut c = lmtp_with("250 lmtp.example\r\n", &rcpts);
    exchange(&mut c, &Command::data(), "354 go\r\n");
    c.content_sent().expect("content");
    c.receive(&reply("250 ok\r\n"));
    assert_eq!(
        c.receive(&reply("421 4.3.2 shutting down\r\n")).change,
        Change::Closed
    );
    assert_eq!(c.stage(), Stage::Closed);
    let done = c.last_message().expect("kept");
    let codes: Vec<u16> = done.deliveries().iter().map(|d| d.reply.code).collect();
    assert_eq!(codes, [250, 421]);
    assert_eq!(done.undelivered_unknown(), ["dave@example.org"]);

    // The connection drops after the first reply: two unknown.
    let mut c = lmtp_with("250 lmtp.example\r\n", &rcpts);
    exchange(&mut c, &Command::data(), "354 go\r\n");
    c.content_sent().expect("content");
    c.receive(&reply("250 ok\r\n"));
    c.lost(None);
    let done = c.last_message().expect("kept");
    assert_eq!(done.deliveries().len(), 1);
    assert_eq!(
        done.undelivered_unknown(),
        ["carol@example.org", "dave@example.org"]
    );
    // The last reply that was due, a 421: nothing unknown.
    let mut c = lmtp_with("250 lmtp.example\r\n", &rcpts[..1]);
    exchange(&mut c, &Command::data(), "354 go\r\n");
    c.content_sent().expect("content");
    c.receive(&reply("421 bye\r\n"));
    let done = c.last_message().expect("kept");
    assert_eq!(done.deliveries().len(), 1);
    assert!(done.undelivered_unknown().is_empty());
}

#[test]
fn lmtp_pipelined_envelope_then_the_replies() {
    let mut c = lmtp_with("250-lmtp.example\r\n250 PIPELINING\r\n", &[]);
    for cmd in [
        Command::rcpt_to(&addr("b@example.org"), &[]).expect("rcpt"),
        Command::rcpt_to(&addr("c@example.org"), &[]).expect("rcpt"),
        Command::data(),
    ] {
        c.send(&cmd).expect("send");
    }
    for w in ["250 ok\r\n", "250 ok\r\n", "354 go\r\n"] {
        c.receive(&reply(w));
    }
    c.content_sent().expect("content");
    let changes: Vec<Change> = ["250 b\r\n", "250 c\r\n"]
        .iter()
        .map(|w| c.receive(&reply(w)).change)
        .collect();
    assert_eq!(
        changes,
        [
            Change::Delivered {
                recipient: "b@example.org".into(),
                last: false
            },
            Change::Delivered {
                recipient: "c@example.org".into(),
                last: true
            }
        ]
    );
}
