//! `auth` with the newer mechanisms in-process, against the memory
//! server: OAUTHBEARER carries the connection's host and port and answers
//! the server's JSON error with `^A`; with no mechanism named, SCRAM-SHA-256
//! is chosen when announced.

use super::{on, run};
use crate::smtp::conn::memory::MemoryServer;
use crate::smtp::sasl;

/// Every test process has PATH: its value stands in for the token (no test
/// sets an environment variable; other tests run at the same time).
const TOKEN_VAR: &str = "PATH";

#[test]
fn oauthbearer_sends_host_and_port_and_answers_the_json_error() {
    let error = sasl::encode(br#"{"status":"invalid_token","scope":"mail"}"#);
    let server = MemoryServer::new(&["AUTH PLAIN OAUTHBEARER"])
        .answer("AUTH OAUTHBEARER", &format!("334 {error}"))
        .answer("AQ==", "535 5.7.8 token refused");
    let (mut s, out) = on(&server, true);
    let token = std::env::var(TOKEN_VAR).expect("PATH is set");
    let f = run(
        &mut s,
        &format!("auth OAUTHBEARER alice@example.org --password-env {TOKEN_VAR}"),
    )
    .expect_err("535");
    assert!(f.message.contains("535"), "{}", f.message);
    assert!(
        f.hint
            .as_deref()
            .is_some_and(|h| h.contains("the token was refused")),
        "{:?}",
        f.hint
    );
    let commands = server.commands();
    let initial = commands
        .iter()
        .find_map(|c| c.strip_prefix("AUTH OAUTHBEARER "))
        .expect("an initial response");
    let decoded = String::from_utf8(sasl::decode_challenge(initial).expect("base64")).unwrap();
    assert_eq!(
        decoded,
        format!(
            "n,a=alice@example.org,\x01host=memory.test\x01port=25\x01auth=Bearer {token}\x01\x01"
        )
    );
    assert!(commands.iter().any(|c| c == "AQ=="), "{commands:?}");
    let said = out.take();
    assert!(said.contains("AUTH OAUTHBEARER ****"), "{said}");
    assert!(said.contains("=== the server's error:"), "{said}");
    assert!(said.contains("  \"status\": \"invalid_token\""), "{said}");
    assert!(!said.contains(&token), "the token leaked:\n{said}");
    assert!(
        !said.contains(initial),
        "the initial response leaked:\n{said}"
    );
}

#[test]
fn scram_is_the_default_when_announced() {
    let server = MemoryServer::new(&["AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256"])
        .answer("AUTH SCRAM-SHA-256", "535 5.7.8 no");
    let (mut s, out) = on(&server, true);
    run(&mut s, &format!("auth alice --password-env {TOKEN_VAR}")).expect_err("535");
    let commands = server.commands();
    let first = commands
        .iter()
        .find_map(|c| c.strip_prefix("AUTH SCRAM-SHA-256 "))
        .expect("AUTH SCRAM-SHA-256 with the client-first message");
    let decoded = String::from_utf8(sasl::decode_challenge(first).expect("base64")).unwrap();
    assert!(decoded.starts_with("n,,n=alice,r="), "{decoded}");
    let said = out.take();
    assert!(said.contains(&format!("({decoded})")), "{said}");
}
