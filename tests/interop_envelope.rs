//! Envelope parameters against a real Postfix (tests/support/postfix.rs,
//! which offers DSN and stores every recipient in one Maildir): a success
//! notice asked for with `to --notify success --orcpt` and `from --ret hdrs
//! --envid` comes back to the sender, and REQUIRETLS, which Postfix does
//! not announce, is refused locally — and by Postfix itself with `--force`.
#![cfg(feature = "interop")]

mod support;

use support::postfix::{Delivered, Postfix};
use support::*;

/// The message in `msgs` whose content type is `multipart/report`.
fn report(msgs: &[Delivered]) -> Option<&Delivered> {
    msgs.iter().find(|m| {
        String::from_utf8_lossy(&m.data)
            .to_ascii_lowercase()
            .contains("content-type: multipart/report")
    })
}

#[test]
fn postfix_sends_the_success_notice_the_envelope_asked_for() {
    let pf = Postfix::start();
    let script = format!(
        "connect 127.0.0.1 {port}\n\
         from alice@example.org --ret hdrs --envid QQ314159\n\
         to bob@example.org --notify success --orcpt rfc822;bob@example.org\n\
         subject asking for a notice\n\
         body BODY-MARKER-7d1f: the notice returns headers only\n\
         send\n",
        port = pf.port_str()
    );
    let out = run_script(&script);
    let shown = printed(&out);
    assert!(out.status.success(), "{shown}\n{}", pf.describe());
    // The exact lines sent (SIZE first: `send` adds it), and Postfix took them.
    assert!(
        shown.contains(" RET=HDRS ENVID=QQ314159\n"),
        "MAIL FROM with RET and ENVID: {shown}"
    );
    assert!(
        shown.contains(
            " -> RCPT TO:<bob@example.org> NOTIFY=SUCCESS ORCPT=rfc822;bob@example.org\n"
        ),
        "{shown}"
    );
    // Replies with enhanced codes are explained under them.
    assert!(
        shown.contains("\n    2.1.5 Destination address valid (success, RFC 3463)"),
        "{shown}"
    );
    // The message, then the notice to the sender, land in the one Maildir.
    let msgs = pf.wait_for_messages_after(2, &out);
    let dsn = report(&msgs).unwrap_or_else(|| panic!("no notice among {msgs:#?}"));
    assert_eq!(dsn.delivered_to, "alice@example.org");
    assert_eq!(dsn.return_path, "", "a notice has the null sender");
    let body = String::from_utf8_lossy(&dsn.data).into_owned();
    assert!(body.contains("report-type=delivery-status"), "{body}");
    assert!(body.contains("Original-Envelope-Id: QQ314159"), "{body}");
    assert!(
        body.contains("Action: delivered") || body.contains("Action: relayed"),
        "{body}"
    );
    assert!(
        body.contains("Original-Recipient: rfc822;bob@example.org"),
        "{body}"
    );
    // RET=HDRS: the headers come back, the body does not.
    assert!(
        body.to_ascii_lowercase()
            .contains("content-type: text/rfc822-headers"),
        "{body}"
    );
    assert!(body.contains("Subject: asking for a notice"), "{body}");
    assert!(!body.contains("BODY-MARKER-7d1f"), "{body}");
    assert!(
        !body
            .to_ascii_lowercase()
            .contains("content-type: message/rfc822")
    );
}

#[test]
fn requiretls_is_refused_locally_and_by_postfix_when_forced() {
    let pf = Postfix::start();
    // Postfix does not announce REQUIRETLS: refused before MAIL FROM.
    let out = run_script(&format!(
        "connect 127.0.0.1 {}\nfrom alice@example.org --requiretls\n",
        pf.port_str()
    ));
    let shown = printed(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(
            "REQUIRETLS needs the REQUIRETLS extension (RFC 8689), and the server did not \
             announce it: MAIL FROM was not sent"
        ),
        "{shown}"
    );
    assert!(shown.contains("--force"), "{shown}");
    assert!(!shown.contains("-> MAIL FROM"), "{shown}");
    // --force: sent, and Postfix says what it thinks of it.
    let out = run_script(&format!(
        "connect 127.0.0.1 {}\n\
         from alice@example.org --requiretls --force\n\
         expect 555 501\n\
         from alice@example.org\n\
         expect 250\n",
        pf.port_str()
    ));
    let shown = printed(&out);
    assert!(out.status.success(), "{shown}\n{}", pf.describe());
    assert!(
        shown.contains(" -> MAIL FROM:<alice@example.org> REQUIRETLS\n"),
        "{shown}"
    );
    assert!(shown.contains("sent anyway (--force)"), "{shown}");
    let refusal = shown
        .lines()
        .find(|l| l.starts_with("<-  555") || l.starts_with("<-  501"))
        .unwrap_or_else(|| panic!("Postfix's refusal: {shown}"));
    assert!(refusal.contains("5.5.4"), "{refusal}");
    // Its enhanced code explained.
    assert!(
        shown.contains("    5.5.4 Invalid command arguments (permanent failure, RFC 3463)"),
        "{shown}"
    );
}

#[test]
fn a_parameter_postfix_did_not_announce_is_refused_before_it_is_sent() {
    let pf = Postfix::start();
    let out = run_script(&format!(
        "connect 127.0.0.1 {}\nfrom alice@example.org --param MT-PRIORITY=3\n",
        pf.port_str()
    ));
    let shown = printed(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("MT-PRIORITY needs the MT-PRIORITY extension (RFC 6710)"),
        "{shown}"
    );
    assert!(!shown.contains("-> MAIL FROM"), "{shown}");
}
