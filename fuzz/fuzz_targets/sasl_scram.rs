//! Fuzz target: the SCRAM-SHA-256 client (`smtp::sasl::Client`, the state
//! machine `auth` drives) against arbitrary server-first and server-final
//! messages.
//!
//! Input: byte 0 holds flags, the rest is cut at the first 0xFF into the
//! server-first and the server-final message:
//! - 1: server-first is our nonce followed by piece 0 (`r=NONCE` + input),
//!   so the nonce check passes and the salt and count parsing is reached;
//! - 2: server-first is RFC 7677's (piece 0 ignored);
//! - 4: server-final is `v=` followed by piece 1;
//! - 8: server-final is RFC 7677's (piece 1 ignored);
//! - 16: no initial response (the exchange starts with an empty 334);
//! - 32: the password is piece 1, lossily decoded (SASLprep), not "pencil".
//!
//! Checked, besides "never panics": every response is base64 (or empty)
//! within `MAX_RESPONSE`; its transcript form has no control character and
//! never the proof (the attribute `p=` only as `p=****`); `finish()` succeeds only when the
//! server-final message carried the RFC's signature for the RFC's
//! server-first (the only one a server can know here), and does succeed for
//! the RFC's exchange.

#![no_main]

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use smtpsh::smtp::sasl::{Client, MAX_RESPONSE, Response, Secret};

const NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
const RFC_FIRST: &[u8] =
    b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
const RFC_FINAL: &[u8] = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

fn is_base64(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

fn check(r: &Response) {
    let line = r.line.expose();
    assert!(
        line.len() <= MAX_RESPONSE,
        "response of {} octets",
        line.len()
    );
    assert!(is_base64(line), "not base64: {line:?}");
    assert!(
        !r.shown.chars().any(char::is_control),
        "control character shown: {:?}",
        r.shown
    );
    // The proof, the value of the last attribute (`p=`: a nonce holds no
    // comma, though it may hold `p=`, RFC 5802 §7), never shows; its
    // place says `p=****`.
    let sent = base64::engine::general_purpose::STANDARD
        .decode(line)
        .ok()
        .and_then(|b| String::from_utf8(b).ok());
    if let Some((_, proof)) = sent.as_deref().and_then(|t| t.rsplit_once(",p=")) {
        assert!(!r.shown.contains(proof), "proof shown: {:?}", r.shown);
        assert!(r.shown.contains(",p=****"), "no p=****: {:?}", r.shown);
    }
    for note in &r.note {
        assert!(!note.chars().any(char::is_control), "note: {note:?}");
    }
}

/// The iteration count the message asks for, if it is one PBKDF2 would run
/// long for (kept out of the fuzzer's way: the bounds have unit tests).
fn slow_count(first: &[u8]) -> bool {
    first.windows(2).enumerate().any(|(i, w)| {
        if w != b"i=" {
            return false;
        }
        let digits: Vec<u8> = first[i + 2..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        let n = std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| d.parse::<u64>().ok());
        n.is_some_and(|n| n > 20_000 && n <= 10_000_000)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut pieces = rest.splitn(2, |&b| b == 0xff);
    let piece0 = pieces.next().unwrap_or_default();
    let piece1 = pieces.next().unwrap_or_default();
    let first: Vec<u8> = if flags & 2 != 0 {
        RFC_FIRST.to_vec()
    } else if flags & 1 != 0 {
        [b"r=", NONCE.as_bytes(), piece0].concat()
    } else {
        piece0.to_vec()
    };
    let last: Vec<u8> = if flags & 8 != 0 {
        RFC_FINAL.to_vec()
    } else if flags & 4 != 0 {
        [b"v=", piece1].concat()
    } else {
        piece1.to_vec()
    };
    if slow_count(&first) {
        return;
    }
    let password = if flags & 32 != 0 {
        String::from_utf8_lossy(piece1).into_owned()
    } else {
        "pencil".to_string()
    };
    let rfc_password = flags & 32 == 0;
    let mut client = Client::scram_with_nonce("user", NONCE, Secret::new(password));
    let mut final_ok = false;
    if flags & 16 != 0 {
        match client.respond(b"") {
            Ok(r) => check(&r),
            Err(e) => panic!("the empty 334 refused: {e}"),
        }
    } else {
        match client.initial() {
            Ok(Some(r)) => check(&r),
            other => panic!("no client-first message: {other:?}"),
        }
        client.initial_sent();
    }
    if let Ok(r) = client.respond(&first) {
        check(&r);
        assert!(client.finish().is_err(), "finished before server-final");
        if let Ok(r) = client.respond(&last) {
            check(&r);
            final_ok = last.starts_with(b"v=");
            // Nothing more after server-final.
            assert!(client.respond(b"").is_err());
        }
    }
    let finished = client.finish().is_ok();
    assert_eq!(finished, final_ok, "finish() and the v= check disagree");
    if finished {
        assert!(
            rfc_password && first == RFC_FIRST && last.starts_with(RFC_FINAL),
            "a server signature no server could know was accepted"
        );
    }
    if rfc_password && first == RFC_FIRST && last == RFC_FINAL {
        assert!(finished, "the RFC 7677 exchange failed");
    }
});
