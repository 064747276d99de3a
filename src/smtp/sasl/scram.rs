//! SCRAM-SHA-256 (RFC 7677, on RFC 5802), client side, without channel
//! binding: the GS2 header is always `n,,` ("the client does not support
//! channel binding"). SCRAM-SHA-256-PLUS is not offered: binding to the TLS
//! channel needs the `tls-exporter` (RFC 9266) or `tls-server-end-point`
//! value from the TLS layer, which the SASL exchange here (sans-IO, given
//! only the server's challenges) does not see; and smtpsh already verifies
//! the server's certificate.
//!
//! The exchange:
//!
//! 1. client-first `n,,n=USER,r=CNONCE` (the AUTH line's initial response);
//! 2. server-first `r=CNONCE SNONCE,s=SALT,i=ITERATIONS`: checked (our nonce
//!    extended, a salt, 4096 to 10 000 000 iterations, no mandatory
//!    extension), then answered with client-final `c=biws,r=NONCE,p=PROOF`;
//! 3. server-final `v=SIGNATURE` (or `e=ERROR`): the signature is verified,
//!    so a server that does not know the password is caught even when it
//!    says 235.
//!
//! The iteration count is the server's to choose, and the proof we send is
//! only as hard to brute-force as that count makes it: a server (or anyone
//! in between, without TLS) asking for `i=1` would get a proof that gives
//! up the password cheaply. So a count below RFC 7677's 4096 is refused, not
//! warned about. Above [`MAX_ITERATIONS`] it is refused too, so a hostile
//! server cannot make us compute for minutes.

use super::{B64, SaslError, Secret, encode, encode_secret, raw_buffer, show_challenge};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// The fewest PBKDF2 iterations accepted (RFC 7677 §4: "at least 4096").
pub const MIN_ITERATIONS: u32 = 4096;
/// The most PBKDF2 iterations accepted (a few seconds of work).
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// Random bytes in our nonce (32 base64 characters).
const NONCE_BYTES: usize = 24;
/// The GS2 header: no channel binding, no authorization identity.
const GS2_HEADER: &str = "n,,";
/// `c=` of the client-final message: base64 of [`GS2_HEADER`].
const CHANNEL_BINDING: &str = "biws";

type HmacSha256 = Hmac<Sha256>;

/// Where the exchange is.
enum Step {
    /// The client-first message is made; waiting for server-first.
    First,
    /// The client-final message went out; waiting for server-final, which
    /// must carry this signature.
    Final {
        server_signature: Zeroizing<[u8; 32]>,
    },
    /// The server proved it knows the password.
    Verified,
    /// The server reported an error (`e=`), or the exchange failed.
    Failed,
}

/// One SCRAM-SHA-256 exchange.
pub(crate) struct Scram {
    /// `n=USER,r=CNONCE`, part of the AuthMessage.
    client_first_bare: String,
    /// Our nonce.
    nonce: String,
    step: Step,
}

impl fmt::Debug for Scram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            Step::First => "first",
            Step::Final { .. } => "final",
            Step::Verified => "verified",
            Step::Failed => "failed",
        };
        f.debug_struct("Scram")
            .field("client_first_bare", &self.client_first_bare)
            .field("step", &step)
            .finish()
    }
}

/// What the server-final message said, when it is well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Final {
    /// `v=`: the signature matched.
    Verified,
    /// `e=`: the server's error (escaped for the terminal).
    Error(String),
}

/// SASLprep (RFC 4013) for a stored string, or an error naming `what`.
/// The result is wiped when dropped; for an ASCII string the crate copies
/// nothing else, while a non-ASCII one passes through its normalisation
/// buffers, which are not wiped.
fn saslprep(s: &str, what: &'static str) -> Result<Zeroizing<String>, SaslError> {
    match stringprep::saslprep(s) {
        Ok(prepared) => Ok(Zeroizing::new(prepared.into_owned())),
        Err(_) => Err(SaslError::Prep { what }),
    }
}

/// RFC 5802 §5.1 saslname: `=` as `=3D`, `,` as `=2C`.
fn saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// A fresh printable nonce from the system's generator.
pub(crate) fn random_nonce() -> Result<String, SaslError> {
    let mut bytes = [0u8; NONCE_BYTES];
    getrandom::fill(&mut bytes).map_err(|_| SaslError::NoRandom)?;
    Ok(encode(&bytes))
}

fn hmac(key: &[u8], message: &[u8]) -> Zeroizing<[u8; 32]> {
    // HMAC takes keys of any length (RFC 2104 §2).
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// Equal without an early exit (the signature compare).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A malformed server message.
fn bad(why: &'static str) -> SaslError {
    SaslError::BadServerMessage { why }
}

/// The server-first message's parts.
struct ServerFirst<'a> {
    nonce: &'a str,
    salt: Vec<u8>,
    iterations: u32,
}

/// Parses server-first (RFC 5802 §7): `[m=...,]r=...,s=...,i=...[,ext]`,
/// attributes in that order.
fn parse_server_first<'a>(text: &'a str, our_nonce: &str) -> Result<ServerFirst<'a>, SaslError> {
    let mut parts = text.split(',');
    let mut next = parts.next().unwrap_or_default();
    if next.starts_with("m=") {
        return Err(bad(
            "it demands a mandatory extension (m=) that smtpsh does not know",
        ));
    }
    if let Some(e) = next.strip_prefix("e=") {
        // Not in the grammar, but some servers fail early this way.
        return Err(SaslError::ServerSays {
            error: show_challenge(e.as_bytes()),
        });
    }
    let nonce = next
        .strip_prefix("r=")
        .ok_or(bad("the first attribute is not the nonce (r=)"))?;
    if !nonce.starts_with(our_nonce) {
        return Err(bad("its nonce (r=) does not start with ours"));
    }
    if nonce.len() == our_nonce.len() {
        return Err(bad("its nonce (r=) adds no part of the server's own"));
    }
    // printable = %x21-2B / %x2D-7E (commas are already split off).
    if !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(bad(
            "its nonce (r=) holds characters that are not printable",
        ));
    }
    next = parts.next().unwrap_or_default();
    let salt = next
        .strip_prefix("s=")
        .ok_or(bad("the second attribute is not the salt (s=)"))?;
    let salt = B64
        .decode(salt)
        .map_err(|_| bad("its salt (s=) is not valid base64"))?;
    if salt.is_empty() {
        return Err(bad("its salt (s=) is empty"));
    }
    next = parts.next().unwrap_or_default();
    let count = next
        .strip_prefix("i=")
        .ok_or(bad("the third attribute is not the iteration count (i=)"))?;
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) || count.starts_with('0') {
        return Err(bad("its iteration count (i=) is not a positive number"));
    }
    let iterations = match count.parse::<u32>() {
        Ok(n) if n > MAX_ITERATIONS => return Err(SaslError::TooManyIterations(n)),
        Ok(n) if n < MIN_ITERATIONS => return Err(SaslError::TooFewIterations(n)),
        Ok(n) => n,
        Err(_) => return Err(SaslError::TooManyIterations(u32::MAX)),
    };
    // Extensions may follow; each is `letter=value`.
    for ext in parts {
        let b = ext.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_alphabetic() || b[1] != b'=' {
            return Err(bad("it has an attribute that is not `letter=value`"));
        }
    }
    Ok(ServerFirst {
        nonce,
        salt,
        iterations,
    })
}

impl Scram {
    /// Starts an exchange for `user` with a fresh random nonce.
    pub(crate) fn new(user: &str) -> Result<Scram, SaslError> {
        Scram::with_nonce(user, &random_nonce()?)
    }

    /// Starts an exchange with a given nonce (tests use the RFC's).
    pub(crate) fn with_nonce(user: &str, nonce: &str) -> Result<Scram, SaslError> {
        if user.contains(['\0', '\r', '\n']) {
            return Err(SaslError::BadCharacter {
                what: "the user name",
            });
        }
        let user = saslprep(user, "the user name")?;
        Ok(Scram {
            client_first_bare: format!("n={},r={nonce}", saslname(&user)),
            nonce: nonce.to_string(),
            step: Step::First,
        })
    }

    /// The client-first message, `n,,n=USER,r=NONCE` (not secret).
    pub(crate) fn client_first(&self) -> String {
        format!("{GS2_HEADER}{}", self.client_first_bare)
    }

    /// Whether the server's signature was verified.
    pub(crate) fn verified(&self) -> bool {
        matches!(self.step, Step::Verified)
    }

    /// Whether the server-first message was answered already.
    pub(crate) fn answered_first(&self) -> bool {
        !matches!(self.step, Step::First)
    }

    /// Answers server-first: the base64 client-final message (secret: it
    /// holds the proof) and its transcript form, `c=biws,r=NONCE,p=****`.
    pub(crate) fn server_first(
        &mut self,
        message: &[u8],
        password: &Secret,
    ) -> Result<(Secret, String), SaslError> {
        if !matches!(self.step, Step::First) {
            return Err(SaslError::UnexpectedChallenge);
        }
        self.step = Step::Failed;
        let text = std::str::from_utf8(message).map_err(|_| bad("it is not UTF-8"))?;
        let first = parse_server_first(text, &self.nonce)?;
        let password = saslprep(password.expose(), "the password")?;
        let mut salted = Zeroizing::new([0u8; 32]);
        pbkdf2::pbkdf2_hmac::<Sha256>(
            password.as_bytes(),
            &first.salt,
            first.iterations,
            &mut salted[..],
        );
        let client_key = hmac(&salted[..], b"Client Key");
        let stored_key = Zeroizing::new(<[u8; 32]>::from(Sha256::digest(&client_key[..])));
        let without_proof = format!("c={CHANNEL_BINDING},r={}", first.nonce);
        let auth_message = format!("{},{text},{without_proof}", self.client_first_bare);
        let client_signature = hmac(&stored_key[..], auth_message.as_bytes());
        let mut proof = Zeroizing::new([0u8; 32]);
        for (p, (k, s)) in proof
            .iter_mut()
            .zip(client_key.iter().zip(client_signature.iter()))
        {
            *p = k ^ s;
        }
        let server_key = hmac(&salted[..], b"Server Key");
        let server_signature = hmac(&server_key[..], auth_message.as_bytes());
        let proof_b64 = Zeroizing::new(encode(&proof[..]));
        let raw = raw_buffer(&[without_proof.as_bytes(), b",p=", proof_b64.as_bytes()]);
        let line = encode_secret(&raw)?;
        self.step = Step::Final { server_signature };
        Ok((line, format!("{without_proof},p=****")))
    }

    /// Checks server-final: `v=` must be the signature only a server that
    /// knows the password can compute; `e=` is the server's error.
    pub(crate) fn server_final(&mut self, message: &[u8]) -> Result<Final, SaslError> {
        if !matches!(self.step, Step::Final { .. }) {
            return Err(SaslError::UnexpectedChallenge);
        }
        let Step::Final { server_signature } = std::mem::replace(&mut self.step, Step::Failed)
        else {
            return Err(SaslError::UnexpectedChallenge);
        };
        let text = std::str::from_utf8(message).map_err(|_| bad("it is not UTF-8"))?;
        let first = text.split(',').next().unwrap_or_default();
        if let Some(error) = first.strip_prefix("e=") {
            return Ok(Final::Error(show_challenge(error.as_bytes())));
        }
        let v = first
            .strip_prefix("v=")
            .ok_or(bad("the final message has neither v= nor e="))?;
        let v = B64
            .decode(v)
            .map_err(|_| bad("its server signature (v=) is not valid base64"))?;
        if !same(&v, &server_signature[..]) {
            return Err(SaslError::ServerNotVerified);
        }
        self.step = Step::Verified;
        Ok(Final::Verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &Secret) -> String {
        String::from_utf8(B64.decode(s.expose()).unwrap()).unwrap()
    }

    // RFC 7677 §3.
    const RFC_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const RFC_SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const RFC_CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const RFC_SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    #[test]
    fn rfc7677_exchange() {
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        assert_eq!(s.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert!(!s.answered_first());
        let (line, shown) = s
            .server_first(RFC_SERVER_FIRST.as_bytes(), &Secret::new("pencil"))
            .unwrap();
        assert_eq!(text(&line), RFC_CLIENT_FINAL);
        assert_eq!(
            shown,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=****"
        );
        assert!(!s.verified());
        assert_eq!(
            s.server_final(RFC_SERVER_FINAL.as_bytes()).unwrap(),
            Final::Verified
        );
        assert!(s.verified());
        // Nothing more is expected, and a stray message does not undo the
        // verdict.
        assert_eq!(
            s.server_final(RFC_SERVER_FINAL.as_bytes()).unwrap_err(),
            SaslError::UnexpectedChallenge
        );
        assert!(s.verified());
        assert!(!format!("{s:?}").contains("6rri"));
    }

    #[test]
    fn a_wrong_server_signature_is_refused() {
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        s.server_first(RFC_SERVER_FIRST.as_bytes(), &Secret::new("pencil"))
            .unwrap();
        // The signature for another password.
        let e = s
            .server_final(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            .unwrap_err();
        assert_eq!(e, SaslError::ServerNotVerified);
        assert!(e.to_string().contains("does not know the password"), "{e}");
        assert!(!s.verified());
        // A server that knew "pencil" cannot pass with a client that used
        // another password.
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        s.server_first(RFC_SERVER_FIRST.as_bytes(), &Secret::new("pencil2"))
            .unwrap();
        assert_eq!(
            s.server_final(RFC_SERVER_FINAL.as_bytes()).unwrap_err(),
            SaslError::ServerNotVerified
        );
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        s.server_first(RFC_SERVER_FIRST.as_bytes(), &Secret::new("pencil"))
            .unwrap();
        assert!(matches!(
            s.server_final(b"v=not base64!").unwrap_err(),
            SaslError::BadServerMessage { .. }
        ));
    }

    #[test]
    fn server_errors_are_reported() {
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        s.server_first(RFC_SERVER_FIRST.as_bytes(), &Secret::new("pencil"))
            .unwrap();
        assert_eq!(
            s.server_final(b"e=invalid-proof").unwrap(),
            Final::Error("invalid-proof".into())
        );
        assert!(!s.verified());
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        assert_eq!(
            s.server_first(b"e=unknown-user", &Secret::new("x"))
                .unwrap_err(),
            SaslError::ServerSays {
                error: "unknown-user".into()
            }
        );
    }

    fn first_error(msg: &str) -> SaslError {
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        s.server_first(msg.as_bytes(), &Secret::new("pencil"))
            .unwrap_err()
    }

    #[test]
    fn malformed_server_first_messages_are_refused() {
        let why = |msg: &str| match first_error(msg) {
            SaslError::BadServerMessage { why } => why,
            other => panic!("{msg}: {other:?}"),
        };
        assert!(why("r=someoneElse123,s=QSXCR+Q6sek8bf92,i=4096").contains("ours"));
        assert!(why("r=rOprNGfwEbeRWgbNEkqO,s=QSXCR+Q6sek8bf92,i=4096").contains("adds no"));
        assert!(
            why("m=x,r=rOprNGfwEbeRWgbNEkqOab,s=QSXCR+Q6sek8bf92,i=4096").contains("mandatory")
        );
        assert!(why("s=QSXCR+Q6sek8bf92,r=rOprNGfwEbeRWgbNEkqOab,i=4096").contains("nonce"));
        assert!(why("r=rOprNGfwEbeRWgbNEkqOab,s=!!,i=4096").contains("base64"));
        assert!(why("r=rOprNGfwEbeRWgbNEkqOab,s=,i=4096").contains("empty"));
        assert!(why("r=rOprNGfwEbeRWgbNEkqOab,s=QSXCR+Q6sek8bf92").contains("iteration"));
        assert!(why("r=rOprNGfwEbeRWgbNEkqOab,s=QSXCR+Q6sek8bf92,i=-1").contains("positive"));
        assert!(why("r=rOprNGfwEbeRWgbNEkqOab,s=QSXCR+Q6sek8bf92,i=04096").contains("positive"));
        assert!(why("r=rOprNGfwEbeRWgbNEkqOab,s=QSXCR+Q6sek8bf92,i=4096,junk").contains("letter"));
        assert!(
            why("r=rOprNGfwEbeRWgbNEkqO\u{7f}x,s=QSXCR+Q6sek8bf92,i=4096").contains("printable")
        );
        assert!(why("").contains("nonce"));
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        assert!(matches!(
            s.server_first(&[0xff, 0xfe], &Secret::new("pencil")),
            Err(SaslError::BadServerMessage { .. })
        ));
        // A refused message ends the exchange: no second try.
        assert_eq!(
            s.server_first(RFC_SERVER_FIRST.as_bytes(), &Secret::new("pencil"))
                .unwrap_err(),
            SaslError::UnexpectedChallenge
        );
        // Extensions after i= are allowed.
        let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
        let msg = format!("{RFC_SERVER_FIRST},x=extra");
        assert!(
            s.server_first(msg.as_bytes(), &Secret::new("pencil"))
                .is_ok()
        );
    }

    #[test]
    fn iteration_counts_are_bounded() {
        let msg = |i: &str| format!("r=rOprNGfwEbeRWgbNEkqOab,s=QSXCR+Q6sek8bf92,i={i}");
        assert_eq!(first_error(&msg("4095")), SaslError::TooFewIterations(4095));
        assert_eq!(first_error(&msg("1")), SaslError::TooFewIterations(1));
        assert_eq!(
            first_error(&msg("10000001")),
            SaslError::TooManyIterations(10_000_001)
        );
        assert_eq!(
            first_error(&msg("99999999999999999999")),
            SaslError::TooManyIterations(u32::MAX)
        );
        let e = SaslError::TooFewIterations(1).to_string();
        assert!(e.contains("4096") && e.contains("RFC 7677"), "{e}");
    }

    #[test]
    fn user_names_are_escaped_and_prepared() {
        let s = Scram::with_nonce("a=b,c", "N").unwrap();
        assert_eq!(s.client_first(), "n,,n=a=3Db=2Cc,r=N");
        // SASLprep maps non-ASCII spaces to a space and soft hyphens to nothing.
        let s = Scram::with_nonce("zo\u{e9}\u{a0}x\u{ad}", "N").unwrap();
        assert_eq!(s.client_first(), "n,,n=zo\u{e9} x,r=N");
        assert_eq!(
            Scram::with_nonce("a\rb", "N").unwrap_err(),
            SaslError::BadCharacter {
                what: "the user name"
            }
        );
        assert_eq!(
            Scram::with_nonce("a\u{7}b", "N").unwrap_err(),
            SaslError::Prep {
                what: "the user name"
            }
        );
    }

    #[test]
    fn passwords_are_saslprepped() {
        // RFC 4013 §3: U+00AA normalizes to "a", so "\u{aa}" and "a" give the same proof.
        let run = |pw: &str| {
            let mut s = Scram::with_nonce("user", RFC_NONCE).unwrap();
            s.server_first(RFC_SERVER_FIRST.as_bytes(), &Secret::new(pw))
                .map(|(line, _)| text(&line))
        };
        assert_eq!(run("I\u{ad}X").unwrap(), run("IX").unwrap());
        assert_eq!(run("\u{aa}").unwrap(), run("a").unwrap());
        assert_ne!(run("pencil").unwrap(), run("Pencil").unwrap());
        assert_eq!(
            run("a\u{7}b").unwrap_err(),
            SaslError::Prep {
                what: "the password"
            }
        );
    }

    #[test]
    fn nonces_are_random_and_printable() {
        let a = random_nonce().unwrap();
        let b = random_nonce().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| (0x21..=0x7e).contains(&c) && c != b','));
        let s = Scram::new("user").unwrap();
        assert!(s.client_first().starts_with("n,,n=user,r="));
    }
}
