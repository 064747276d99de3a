//! SMTP AUTH (RFC 4954) client mechanisms, as pure functions: PLAIN
//! (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195),
//! SCRAM-SHA-256 (RFC 7677, in [`scram`]), OAUTHBEARER (RFC 7628, in
//! [`oauth`]) and XOAUTH2 (Google's "XOAUTH2 protocol").
//!
//! Nothing here does I/O. [`Client`] walks one exchange: it gives the
//! initial response (if the mechanism has one) and answers each decoded
//! `334` challenge with one base64 line. Secrets travel as [`Secret`],
//! whose `Debug` and `Display` print `****`, so a secret cannot end up in a
//! log line or error message by accident.

use crate::text::{Style, escape_as};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use std::fmt;
use zeroize::Zeroizing;

pub mod oauth;
pub(crate) mod scram;

/// Longest SASL response line we send (RFC 4954 §4: servers accept at least
/// 12288 octets per line).
pub const MAX_RESPONSE: usize = 12288;

/// A password, a token or a response made from one. It prints as `****`
/// and its whole buffer (spare capacity included) is overwritten when
/// dropped ([`zeroize`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret. A `String` is moved in as it is, so no copy is left
    /// behind; a `&str` is copied (the caller still owns the original).
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(Zeroizing::new(secret.into()))
    }
    /// The secret itself, for building a response. Never print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// A SASL mechanism smtpsh can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// RFC 4616: user and password in one base64 line (cleartext inside TLS).
    Plain,
    /// The old LOGIN mechanism: user, then password, each asked for by a 334.
    Login,
    /// RFC 2195: an HMAC-MD5 of a server challenge; the password itself is
    /// never sent.
    CramMd5,
    /// Google/Microsoft OAuth 2.0 bearer token.
    XOAuth2,
    /// RFC 7677 (RFC 5802): a salted challenge-response; the password is
    /// never sent, and the server proves it knows it too.
    ScramSha256,
    /// RFC 7628: an OAuth 2.0 bearer token, with the host and port.
    OAuthBearer,
}

/// Preference when the user names no mechanism: strongest first. XOAUTH2
/// and OAUTHBEARER are never picked automatically (they need a token, not
/// a password).
pub const PREFERENCE: &[Mechanism] = &[
    Mechanism::ScramSha256,
    Mechanism::CramMd5,
    Mechanism::Plain,
    Mechanism::Login,
];

impl Mechanism {
    /// Every supported mechanism.
    pub const ALL: &'static [Mechanism] = &[
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
        Mechanism::ScramSha256,
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
    ];
    /// Parses a mechanism name (case-insensitive).
    pub fn parse(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .iter()
            .copied()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
    /// The name as announced in EHLO and sent after AUTH.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::CramMd5 => "CRAM-MD5",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }
    /// The strongest supported mechanism among `offered` (names as
    /// announced, any case), by [`PREFERENCE`].
    pub fn strongest(offered: &[String]) -> Option<Mechanism> {
        PREFERENCE
            .iter()
            .copied()
            .find(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name())))
    }
    /// Whether the secret is asked for as a token rather than a password.
    pub fn uses_token(self) -> bool {
        matches!(self, Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a response could not be made. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaslError {
    /// A NUL in the user name, authorization id or password (PLAIN
    /// separates fields with NUL), or a CR/LF/NUL/^A where the mechanism
    /// cannot carry it.
    BadCharacter {
        /// "the user name", "the password", ...
        what: &'static str,
    },
    /// The server's challenge is not valid base64.
    BadChallenge,
    /// The server asked for more than the mechanism has to give.
    UnexpectedChallenge,
    /// The response would be longer than [`MAX_RESPONSE`].
    TooLong,
    /// SASLprep (RFC 4013) refuses the user name or password (a control
    /// character, an unassigned code point, mixed directions...).
    Prep {
        /// "the user name", "the password".
        what: &'static str,
    },
    /// The system's random generator failed (no SCRAM nonce).
    NoRandom,
    /// A SCRAM server message that does not follow RFC 5802.
    BadServerMessage {
        /// What is wrong with it.
        why: &'static str,
    },
    /// A SCRAM server asked for fewer PBKDF2 iterations than RFC 7677's 4096.
    TooFewIterations(u32),
    /// A SCRAM server asked for more PBKDF2 iterations than
    /// [`scram::MAX_ITERATIONS`].
    TooManyIterations(u32),
    /// The SCRAM server's signature (`v=`) is wrong: it does not know the
    /// password.
    ServerNotVerified,
    /// The SCRAM server said 235 without sending its signature.
    NoServerProof,
    /// The SCRAM server reported an error (`e=`), escaped for the terminal.
    ServerSays {
        /// The error's text.
        error: String,
    },
}

impl fmt::Display for SaslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SaslError::BadCharacter { what } => write!(
                f,
                "{what} contains a character this mechanism cannot carry (NUL, CR, LF or ^A)"
            ),
            SaslError::BadChallenge => {
                f.write_str("the server sent a challenge that is not valid base64")
            }
            SaslError::UnexpectedChallenge => f.write_str(
                "the server sent another challenge after the mechanism had nothing more to send",
            ),
            SaslError::TooLong => {
                write!(f, "the response would be longer than {MAX_RESPONSE} octets")
            }
            SaslError::Prep { what } => write!(
                f,
                "{what} holds characters SASLprep (RFC 4013) forbids (a control character, \
                 an unassigned code point or mixed text directions)"
            ),
            SaslError::NoRandom => {
                f.write_str("the system's random generator failed, so no SCRAM nonce could be made")
            }
            SaslError::BadServerMessage { why } => {
                write!(f, "the server's SCRAM message is malformed: {why}")
            }
            SaslError::TooFewIterations(n) => write!(
                f,
                "the server asks for only {n} PBKDF2 iterations; RFC 7677 wants at least {} \
                 (a lower count would make the proof we send cheap to crack)",
                scram::MIN_ITERATIONS
            ),
            SaslError::TooManyIterations(n) => write!(
                f,
                "the server asks for {n} PBKDF2 iterations; smtpsh stops at {} \
                 (more would keep it computing for minutes)",
                scram::MAX_ITERATIONS
            ),
            SaslError::ServerNotVerified => f.write_str(
                "the server's signature (v=) is wrong: it does not know the password \
                 (an impostor, or someone in between); do not trust this server",
            ),
            SaslError::NoServerProof => f.write_str(
                "the server accepted without proving it knows the password \
                 (no SCRAM server-final message with v=); do not trust this server",
            ),
            SaslError::ServerSays { error } => write!(f, "the server reports the error {error}"),
        }
    }
}

impl std::error::Error for SaslError {}

/// Base64 (RFC 4648, padded), as every SASL line is.
pub fn encode(data: &[u8]) -> String {
    B64.encode(data)
}

/// Strict base64 decoding of a `334` challenge: the standard alphabet,
/// canonical padding, no whitespace. An empty challenge is empty.
pub fn decode_challenge(text: &str) -> Result<Vec<u8>, SaslError> {
    let text = text.trim_end_matches(' ');
    if text.is_empty() || text == "=" {
        return Ok(Vec::new());
    }
    B64.decode(text).map_err(|_| SaslError::BadChallenge)
}

fn reject(s: &str, what: &'static str, bad: &[char]) -> Result<(), SaslError> {
    if s.contains(bad) {
        return Err(SaslError::BadCharacter { what });
    }
    Ok(())
}

/// `data` in base64 as a [`Secret`], written straight into a buffer of
/// the exact size (no intermediate copy, no reallocation leaving the
/// encoded secret in freed memory).
fn encode_secret(data: &[u8]) -> Result<Secret, SaslError> {
    let len = base64::encoded_len(data.len(), true).ok_or(SaslError::TooLong)?;
    let mut ascii = Zeroizing::new(vec![0u8; len]);
    let n = B64
        .encode_slice(data, &mut ascii[..])
        .map_err(|_| SaslError::TooLong)?;
    let mut text = Zeroizing::new(String::with_capacity(n));
    // Base64 is ASCII: one char per byte, within the capacity reserved.
    text.extend(ascii[..n].iter().map(|&b| char::from(b)));
    Ok(Secret(text))
}

/// A buffer for the raw (unencoded) response, wiped when dropped, its
/// capacity reserved up front so that filling it never reallocates.
fn raw_buffer(parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut raw = Zeroizing::new(Vec::with_capacity(len));
    parts.iter().for_each(|p| raw.extend_from_slice(p));
    raw
}

/// PLAIN (RFC 4616 §2): base64(`authzid NUL authcid NUL passwd`), UTF-8.
/// `authzid` is usually empty (act as yourself).
pub fn plain(authzid: &str, user: &str, password: &Secret) -> Result<Secret, SaslError> {
    reject(authzid, "the authorization identity", &['\0'])?;
    reject(user, "the user name", &['\0'])?;
    reject(password.expose(), "the password", &['\0'])?;
    let raw = raw_buffer(&[
        authzid.as_bytes(),
        b"\0",
        user.as_bytes(),
        b"\0",
        password.expose().as_bytes(),
    ]);
    encode_secret(&raw)
}

/// HMAC-MD5 (RFC 2104) of `message` under `key`, by the `hmac` crate. The
/// keyed MD5 states are wiped when the MAC is dropped; the result is
/// returned in a buffer that wipes itself too.
fn hmac_md5(key: &[u8], message: &[u8]) -> Zeroizing<[u8; 16]> {
    // HMAC takes keys of any length (RFC 2104 §2: a longer one is hashed
    // first); the `hmac` crate's `new_from_slice` never fails for it.
    let mut mac =
        <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    Zeroizing::new(mac.finalize().into_bytes().into())
}

/// CRAM-MD5 (RFC 2195 §2): base64(`user SP hex(HMAC-MD5(password, challenge))`),
/// hex in lower case. `challenge` is the decoded 334 text.
pub fn cram_md5(user: &str, password: &Secret, challenge: &[u8]) -> Result<Secret, SaslError> {
    reject(user, "the user name", &['\0', '\r', '\n'])?;
    let mac = hmac_md5(password.expose().as_bytes(), challenge);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut hex = Zeroizing::new([0u8; 32]);
    for (pair, b) in hex.chunks_exact_mut(2).zip(mac.iter()) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0x0f)];
    }
    let raw = raw_buffer(&[user.as_bytes(), b" ", &hex[..]]);
    encode_secret(&raw)
}

/// XOAUTH2: base64(`user=` USER `^Aauth=Bearer ` TOKEN `^A^A`).
pub fn xoauth2(user: &str, token: &Secret) -> Result<Secret, SaslError> {
    let bad = ['\u{1}', '\0', '\r', '\n'];
    reject(user, "the user name", &bad)?;
    reject(token.expose(), "the token", &bad)?;
    let raw = raw_buffer(&[
        b"user=",
        user.as_bytes(),
        b"\x01auth=Bearer ",
        token.expose().as_bytes(),
        b"\x01\x01",
    ]);
    encode_secret(&raw)
}

/// One response line of the exchange.
#[derive(Debug)]
pub struct Response {
    /// The base64 line to send (may be empty: the XOAUTH2 error
    /// acknowledgement). Print it only as [`Response::shown`].
    pub line: Secret,
    /// What the transcript shows instead of the line: `****`, or the
    /// parts that hold no secret (SCRAM's `c=biws,r=...,p=****`).
    pub shown: String,
    /// Lines to show the user before the response goes out: the server's
    /// OAuth error as pretty JSON, the SCRAM verdict on the server.
    pub note: Vec<String>,
}

impl Response {
    fn masked(line: Secret) -> Response {
        Response {
            line,
            shown: "****".to_string(),
            note: Vec::new(),
        }
    }
}

/// One AUTH exchange for one mechanism, user and secret.
#[derive(Debug)]
pub struct Client {
    mechanism: Mechanism,
    user: String,
    secret: Secret,
    /// How many challenges have been answered.
    step: usize,
    /// Whether the initial response went out with the AUTH command.
    sent_initial: bool,
    /// The connection's host and port (OAUTHBEARER's `host=`, `port=`).
    server: Option<(String, u16)>,
    /// SCRAM's state (its nonce is made when the exchange starts).
    scram: Option<Result<scram::Scram, SaslError>>,
}

impl Client {
    /// Starts an exchange.
    pub fn new(mechanism: Mechanism, user: &str, secret: Secret) -> Client {
        let scram = (mechanism == Mechanism::ScramSha256).then(|| scram::Scram::new(user));
        Client {
            mechanism,
            user: user.to_string(),
            secret,
            step: 0,
            sent_initial: false,
            server: None,
            scram,
        }
    }
    /// A SCRAM exchange with a given client nonce (the RFC's test vectors).
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn scram_with_nonce(user: &str, nonce: &str, password: Secret) -> Client {
        let mut c = Client::new(Mechanism::Plain, user, password);
        c.mechanism = Mechanism::ScramSha256;
        c.scram = Some(scram::Scram::with_nonce(user, nonce));
        c
    }
    /// Names the server connected to: OAUTHBEARER sends its host name and
    /// port (RFC 7628 §3.1).
    pub fn server(mut self, host: &str, port: u16) -> Client {
        self.server = Some((host.to_string(), port));
        self
    }
    /// The mechanism.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }
    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }
    /// The initial response for `AUTH MECH RESPONSE` (PLAIN, XOAUTH2,
    /// OAUTHBEARER, SCRAM's client-first message), or `None` for
    /// mechanisms that wait for a challenge (LOGIN, CRAM-MD5). Call
    /// [`Client::initial_sent`] if it was sent on the AUTH line.
    pub fn initial(&self) -> Result<Option<Response>, SaslError> {
        let masked = |r: Result<Secret, SaslError>| r.map(|line| Some(Response::masked(line)));
        match self.mechanism {
            Mechanism::Plain => masked(plain("", &self.user, &self.secret)),
            Mechanism::XOAuth2 => masked(xoauth2(&self.user, &self.secret)),
            Mechanism::OAuthBearer => masked(self.oauthbearer()),
            Mechanism::ScramSha256 => self.scram_first().map(Some),
            Mechanism::Login | Mechanism::CramMd5 => Ok(None),
        }
    }
    fn oauthbearer(&self) -> Result<Secret, SaslError> {
        let server = self.server.as_ref().map(|(h, p)| (h.as_str(), *p));
        oauth::oauthbearer(&self.user, &self.secret, server)
    }
    /// SCRAM's client-first message: not secret, so shown in full.
    fn scram_first(&self) -> Result<Response, SaslError> {
        let scram = match &self.scram {
            Some(Ok(scram)) => scram,
            Some(Err(e)) => return Err(e.clone()),
            None => return Err(SaslError::UnexpectedChallenge),
        };
        let first = scram.client_first();
        let line = encode(first.as_bytes());
        let shown = format!("{line}   ({})", show_challenge(first.as_bytes()));
        Ok(Response {
            line: Secret::new(line),
            shown,
            note: Vec::new(),
        })
    }
    /// Checks the exchange after the server's 235: SCRAM requires that the
    /// server proved it knows the password ([`SaslError::NoServerProof`]).
    pub fn finish(&self) -> Result<(), SaslError> {
        match &self.scram {
            Some(Ok(scram)) if !scram.verified() => Err(SaslError::NoServerProof),
            _ => Ok(()),
        }
    }
    /// Records that the initial response travelled with the AUTH line.
    pub fn initial_sent(&mut self) {
        self.sent_initial = true;
    }
    /// Answers one decoded challenge.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Response, SaslError> {
        let step = self.step;
        self.step += 1;
        let line = match (self.mechanism, step) {
            // PLAIN without an initial response: the server sends an empty 334.
            (Mechanism::Plain, 0) if !self.sent_initial => plain("", &self.user, &self.secret)?,
            (Mechanism::XOAuth2, 0) if !self.sent_initial => xoauth2(&self.user, &self.secret)?,
            (Mechanism::OAuthBearer, 0) if !self.sent_initial => self.oauthbearer()?,
            // XOAUTH2 failure: 334 base64(JSON error); answer with an empty
            // line and the server sends the final 535.
            (Mechanism::XOAuth2, _) => {
                return Ok(Response {
                    line: Secret::new(""),
                    shown: EMPTY_ENDS_FAILURE.to_string(),
                    note: oauth_error_note(challenge),
                });
            }
            // OAUTHBEARER failure: the same, answered with ^A (RFC 7628 §3.2.3).
            (Mechanism::OAuthBearer, s) if s == usize::from(!self.sent_initial) => {
                return Ok(Response {
                    line: Secret::new(oauth::DUMMY_RESPONSE),
                    shown: format!(
                        "{}   (\\x01: ends the failed exchange)",
                        oauth::DUMMY_RESPONSE
                    ),
                    note: oauth_error_note(challenge),
                });
            }
            (Mechanism::ScramSha256, _) => return self.scram_respond(challenge),
            (Mechanism::Login, 0 | 1) => {
                let asked = String::from_utf8_lossy(challenge).to_ascii_lowercase();
                let password = if asked.contains("pass") {
                    true
                } else if asked.contains("user") {
                    false
                } else {
                    step == 1
                };
                if password {
                    encode_secret(self.secret.expose().as_bytes())?
                } else {
                    reject(&self.user, "the user name", &['\0', '\r', '\n'])?;
                    Secret::new(encode(self.user.as_bytes()))
                }
            }
            (Mechanism::CramMd5, 0) => cram_md5(&self.user, &self.secret, challenge)?,
            _ => return Err(SaslError::UnexpectedChallenge),
        };
        if line.expose().len() > MAX_RESPONSE {
            return Err(SaslError::TooLong);
        }
        Ok(Response::masked(line))
    }
    /// SCRAM: the client-first message (after an empty 334), the
    /// client-final message (after server-first), or the empty line that
    /// acknowledges a verified server-final.
    fn scram_respond(&mut self, challenge: &[u8]) -> Result<Response, SaslError> {
        if !self.sent_initial && self.step == 1 {
            // No initial response went out: the server asks with an empty 334.
            if !challenge.is_empty() {
                return Err(SaslError::UnexpectedChallenge);
            }
            self.sent_initial = true;
            return self.scram_first();
        }
        let scram = match self.scram.as_mut() {
            Some(Ok(scram)) => scram,
            Some(Err(e)) => return Err(e.clone()),
            None => return Err(SaslError::UnexpectedChallenge),
        };
        if !scram.answered_first() {
            let (line, shown) = scram.server_first(challenge, &self.secret)?;
            return Ok(Response {
                line,
                shown: format!("****   ({shown})"),
                note: Vec::new(),
            });
        }
        let (note, shown) = match scram.server_final(challenge)? {
            scram::Final::Verified => (
                "the server's signature is right: it knows the password (SCRAM verified)"
                    .to_string(),
                "   (empty: nothing more to send)",
            ),
            scram::Final::Error(error) => (
                format!("the server reports the error {error}"),
                EMPTY_ENDS_FAILURE,
            ),
        };
        Ok(Response {
            line: Secret::new(""),
            shown: shown.to_string(),
            note: vec![note],
        })
    }
}

/// The transcript form of the empty line that answers a server's error
/// (XOAUTH2's JSON, SCRAM's `e=`).
const EMPTY_ENDS_FAILURE: &str = "   (empty: ends the failed exchange)";

/// An OAuth error challenge as lines to show (none when it is empty).
fn oauth_error_note(challenge: &[u8]) -> Vec<String> {
    if challenge.is_empty() {
        return Vec::new();
    }
    let mut lines = vec!["the server's error:".to_string()];
    lines.extend(oauth::error_lines(challenge));
    lines
}

/// A decoded challenge as the transcript shows it: the text when it is
/// UTF-8, else a byte count. Control and bidirectional characters never
/// reach the terminal: they are shown through the shared escape
/// ([`Style::Field`], `\\xnn`).
pub fn show_challenge(decoded: &[u8]) -> String {
    if std::str::from_utf8(decoded).is_ok() {
        escape_as(decoded, Style::Field)
    } else {
        format!("{} bytes, not text", decoded.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::new(s)
    }

    #[test]
    fn secret_never_prints() {
        let s = secret("hunter2");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(format!("{s:?}"), "****");
        let c = Client::new(Mechanism::Plain, "alice", s.clone());
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn responses_fill_exact_buffers() {
        // A buffer filled to its reserved capacity never reallocated, so no
        // freed copy of the secret is left behind.
        for r in [
            plain("az", "user", &secret("pässword")).unwrap(),
            xoauth2("u@example.com", &secret("token")).unwrap(),
            cram_md5("tim", &secret("tanstaaftanstaaf"), b"<1.2@x>").unwrap(),
            encode_secret(b"").unwrap(),
            encode_secret(&[0xff; 1000]).unwrap(),
        ] {
            assert_eq!(r.0.capacity(), r.0.len(), "{}", r.expose());
        }
        let raw = raw_buffer(&[b"ab", b"\0", b"cde"]);
        assert_eq!(&raw[..], b"ab\0cde");
        assert_eq!(raw.capacity(), raw.len());
        assert!(secret("").is_empty());
        assert!(!secret("x").is_empty());
    }

    #[test]
    fn plain_rfc4616_examples() {
        // RFC 4616 §4: "<NUL>tim<NUL>tanstaaftanstaaf".
        assert_eq!(
            plain("", "tim", &secret("tanstaaftanstaaf"))
                .unwrap()
                .expose(),
            "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"
        );
        // RFC 4616 §4: authzid "Ursel", authcid "Kurt", password "xipj3plmq".
        assert_eq!(
            plain("Ursel", "Kurt", &secret("xipj3plmq"))
                .unwrap()
                .expose(),
            encode(b"Ursel\0Kurt\0xipj3plmq")
        );
        assert_eq!(
            encode(b"Ursel\0Kurt\0xipj3plmq"),
            "VXJzZWwAS3VydAB4aXBqM3BsbXE="
        );
        // UTF-8 passes through.
        assert_eq!(
            B64.decode(plain("", "zoë", &secret("pä$$")).unwrap().expose())
                .unwrap(),
            "\0zoë\0pä$$".as_bytes()
        );
        assert_eq!(
            plain("", "a\0b", &secret("x")).unwrap_err(),
            SaslError::BadCharacter {
                what: "the user name"
            }
        );
        assert!(plain("", "a", &secret("x\0y")).is_err());
    }

    #[test]
    fn hmac_md5_rfc2104_vectors() {
        let hex = |b: Zeroizing<[u8; 16]>| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        assert_eq!(
            hex(hmac_md5(&[0x0b; 16], b"Hi There")),
            "9294727a3638bb1c13f48ef8158bfc9d"
        );
        assert_eq!(
            hex(hmac_md5(b"Jefe", b"what do ya want for nothing?")),
            "750c783e6ab0b503eaa86e310a5db738"
        );
        // RFC 2202 case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex(hmac_md5(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"
        );
    }

    #[test]
    fn cram_md5_rfc2195_example() {
        let challenge =
            decode_challenge("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+").unwrap();
        assert_eq!(challenge, b"<1896.697170952@postoffice.reston.mci.net>");
        let response = cram_md5("tim", &secret("tanstaaftanstaaf"), &challenge).unwrap();
        assert_eq!(
            response.expose(),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        );
        let mut c = Client::new(Mechanism::CramMd5, "tim", secret("tanstaaftanstaaf"));
        assert!(c.initial().unwrap().is_none());
        let r = c.respond(&challenge).unwrap();
        assert_eq!(
            r.line.expose(),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        );
        assert_eq!(r.shown, "****");
        assert_eq!(
            c.respond(b"again").unwrap_err(),
            SaslError::UnexpectedChallenge
        );
    }

    #[test]
    fn xoauth2_google_example() {
        // From Google's "XOAUTH2 protocol" page.
        let r = xoauth2(
            "someuser@example.com",
            &secret("ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"),
        )
        .unwrap();
        assert_eq!(
            r.expose(),
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ=="
        );
        let mut c = Client::new(Mechanism::XOAuth2, "u@example.com", secret("tok"));
        assert!(c.initial().unwrap().is_some());
        c.initial_sent();
        // The error challenge is answered with an empty line.
        let r = c
            .respond(br#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#)
            .unwrap();
        assert_eq!(r.line.expose(), "");
        assert!(xoauth2("a\u{1}b", &secret("t")).is_err());
        assert!(xoauth2("a", &secret("t\r\n")).is_err());
    }

    #[test]
    fn login_answers_by_prompt_or_order() {
        let mut c = Client::new(Mechanism::Login, "alice", secret("s3cret"));
        assert!(c.initial().unwrap().is_none());
        let user = c
            .respond(&decode_challenge("VXNlcm5hbWU6").unwrap())
            .unwrap();
        assert_eq!(user.line.expose(), encode(b"alice"));
        let pass = c
            .respond(&decode_challenge("UGFzc3dvcmQ6").unwrap())
            .unwrap();
        assert_eq!(pass.line.expose(), encode(b"s3cret"));
        assert_eq!(
            c.respond(b"more?").unwrap_err(),
            SaslError::UnexpectedChallenge
        );
        // Unlabelled challenges: user first, then password.
        let mut c = Client::new(Mechanism::Login, "bob", secret("pw"));
        assert_eq!(c.respond(b"").unwrap().line.expose(), encode(b"bob"));
        assert_eq!(c.respond(b"").unwrap().line.expose(), encode(b"pw"));
    }

    #[test]
    fn plain_without_initial_response_answers_the_empty_challenge() {
        let mut c = Client::new(Mechanism::Plain, "tim", secret("tanstaaftanstaaf"));
        let r = c.respond(b"").unwrap();
        assert_eq!(r.line.expose(), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
        let mut c = Client::new(Mechanism::Plain, "tim", secret("x"));
        c.initial_sent();
        assert_eq!(c.respond(b"").unwrap_err(), SaslError::UnexpectedChallenge);
    }

    #[test]
    fn challenges_are_strict_base64() {
        assert_eq!(decode_challenge("VXNlcm5hbWU6").unwrap(), b"Username:");
        assert_eq!(decode_challenge("").unwrap(), b"");
        assert_eq!(decode_challenge("=").unwrap(), b"");
        assert_eq!(
            decode_challenge("VXNlcm5hbWU"),
            Err(SaslError::BadChallenge)
        );
        assert_eq!(decode_challenge("VXNl cm5h"), Err(SaslError::BadChallenge));
        assert_eq!(decode_challenge("!!!!"), Err(SaslError::BadChallenge));
        assert_eq!(show_challenge(b"Username:"), "Username:");
        assert_eq!(show_challenge(b"a\x1b[31mb"), "a\\x1b[31mb");
        assert_eq!(show_challenge(b"User Name\0"), "User Name\\x00");
        assert_eq!(show_challenge(&[0xff, 0xfe]), "2 bytes, not text");
    }

    #[test]
    fn mechanism_names_and_preference() {
        assert_eq!(Mechanism::parse("cram-md5"), Some(Mechanism::CramMd5));
        assert_eq!(Mechanism::parse("xoauth2"), Some(Mechanism::XOAuth2));
        assert_eq!(Mechanism::parse("GSSAPI"), None);
        let offered = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            Mechanism::strongest(&offered(&["LOGIN", "PLAIN", "CRAM-MD5"])),
            Some(Mechanism::CramMd5)
        );
        assert_eq!(
            Mechanism::strongest(&offered(&["LOGIN", "plain"])),
            Some(Mechanism::Plain)
        );
        assert_eq!(
            Mechanism::strongest(&offered(&["XOAUTH2", "LOGIN"])),
            Some(Mechanism::Login)
        );
        assert_eq!(Mechanism::strongest(&offered(&["XOAUTH2", "GSSAPI"])), None);
        assert_eq!(
            Mechanism::strongest(&offered(&["PLAIN", "CRAM-MD5", "scram-sha-256", "LOGIN"])),
            Some(Mechanism::ScramSha256)
        );
        assert_eq!(
            Mechanism::strongest(&offered(&["OAUTHBEARER", "XOAUTH2", "PLAIN"])),
            Some(Mechanism::Plain)
        );
        assert_eq!(Mechanism::strongest(&offered(&["OAUTHBEARER"])), None);
        assert_eq!(
            Mechanism::parse("Scram-Sha-256"),
            Some(Mechanism::ScramSha256)
        );
        assert_eq!(
            Mechanism::parse("oauthbearer"),
            Some(Mechanism::OAuthBearer)
        );
        assert!(Mechanism::OAuthBearer.uses_token() && !Mechanism::ScramSha256.uses_token());
    }

    /// RFC 7677 §3, through the client the shell drives.
    #[test]
    fn scram_client_walks_the_rfc7677_exchange() {
        let mut c = Client::scram_with_nonce("user", "rOprNGfwEbeRWgbNEkqO", secret("pencil"));
        let first = c.initial().unwrap().unwrap();
        assert_eq!(
            first.line.expose(),
            "biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8="
        );
        assert_eq!(
            first.shown,
            "biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8=   (n,,n=user,r=rOprNGfwEbeRWgbNEkqO)"
        );
        c.initial_sent();
        let r = c
            .respond(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            B64.decode(r.line.expose()).unwrap(),
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            r.shown,
            "****   (c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=****)"
        );
        assert!(!r.shown.contains("dHzb"));
        assert_eq!(c.finish(), Err(SaslError::NoServerProof));
        let r = c
            .respond(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert_eq!(r.line.expose(), "");
        assert!(r.note[0].contains("knows the password"), "{:?}", r.note);
        assert_eq!(c.finish(), Ok(()));
        assert_eq!(c.respond(b"").unwrap_err(), SaslError::UnexpectedChallenge);
    }

    #[test]
    fn scram_client_without_initial_response_and_server_errors() {
        let mut c = Client::scram_with_nonce("user", "rOprNGfwEbeRWgbNEkqO", secret("pencil"));
        // The AUTH line went without the client-first message: the empty 334 asks for it.
        let r = c.respond(b"").unwrap();
        assert_eq!(
            r.line.expose(),
            "biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8="
        );
        c.respond(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        let r = c.respond(b"e=invalid-proof").unwrap();
        assert_eq!(r.line.expose(), "");
        assert_eq!(r.note, vec!["the server reports the error invalid-proof"]);
        assert_eq!(c.finish(), Err(SaslError::NoServerProof));
        // A wrong signature is an error the shell cancels on.
        let mut c = Client::scram_with_nonce("user", "rOprNGfwEbeRWgbNEkqO", secret("pencil"));
        c.initial_sent();
        c.respond(b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap();
        assert_eq!(
            c.respond(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap_err(),
            SaslError::ServerNotVerified
        );
        // A fresh client makes a random nonce.
        let c = Client::new(Mechanism::ScramSha256, "u", secret("p"));
        let first = c.initial().unwrap().unwrap();
        assert!(first.shown.contains("(n,,n=u,r="), "{}", first.shown);
        assert!(!format!("{c:?}").contains("\"p\""));
    }

    #[test]
    fn oauthbearer_client_sends_host_and_port_and_acknowledges_errors() {
        let mut c = Client::new(Mechanism::OAuthBearer, "user@example.com", secret("tok"))
            .server("mail.example.com", 587);
        let first = c.initial().unwrap().unwrap();
        assert_eq!(first.shown, "****");
        assert_eq!(
            B64.decode(first.line.expose()).unwrap(),
            b"n,a=user@example.com,\x01host=mail.example.com\x01port=587\x01auth=Bearer tok\x01\x01"
        );
        c.initial_sent();
        let r = c
            .respond(br#"{"status":"invalid_token","scope":"mail"}"#)
            .unwrap();
        assert_eq!(r.line.expose(), "AQ==");
        assert_eq!(r.shown, "AQ==   (\\x01: ends the failed exchange)");
        assert_eq!(r.note[0], "the server's error:");
        assert!(
            r.note
                .iter()
                .any(|l| l.contains("\"status\": \"invalid_token\""))
        );
        assert_eq!(c.respond(b"").unwrap_err(), SaslError::UnexpectedChallenge);
        assert_eq!(c.finish(), Ok(()));
        // Without the initial response: the empty 334 first.
        let mut c = Client::new(Mechanism::OAuthBearer, "u", secret("tok"));
        let r = c.respond(b"").unwrap();
        assert_eq!(
            B64.decode(r.line.expose()).unwrap(),
            b"n,a=u,\x01auth=Bearer tok\x01\x01"
        );
        assert_eq!(c.respond(b"{}").unwrap().line.expose(), "AQ==");
        // XOAUTH2's error challenge is shown too.
        let mut c = Client::new(Mechanism::XOAuth2, "u", secret("tok"));
        c.initial_sent();
        let r = c.respond(br#"{"status":"401"}"#).unwrap();
        assert!(r.note.iter().any(|l| l.contains("\"401\"")), "{:?}", r.note);
    }
}
