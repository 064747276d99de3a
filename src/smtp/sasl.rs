//! SMTP AUTH (RFC 4954) client mechanisms, as pure functions: PLAIN
//! (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195) and
//! XOAUTH2 (Google's "XOAUTH2 protocol").
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
}

/// Preference when the user names no mechanism: strongest first. XOAUTH2
/// is never picked automatically (it needs a token, not a password).
pub const PREFERENCE: &[Mechanism] = &[Mechanism::CramMd5, Mechanism::Plain, Mechanism::Login];

impl Mechanism {
    /// Every supported mechanism.
    pub const ALL: &'static [Mechanism] = &[
        Mechanism::Plain,
        Mechanism::Login,
        Mechanism::CramMd5,
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
        self == Mechanism::XOAuth2
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
    /// acknowledgement). Print it only as `****`.
    pub line: Secret,
    /// What the transcript may show instead of the line.
    pub shown: &'static str,
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
}

impl Client {
    /// Starts an exchange.
    pub fn new(mechanism: Mechanism, user: &str, secret: Secret) -> Client {
        Client {
            mechanism,
            user: user.to_string(),
            secret,
            step: 0,
            sent_initial: false,
        }
    }
    /// The mechanism.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }
    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }
    /// The initial response for `AUTH MECH RESPONSE` (PLAIN, XOAUTH2), or
    /// `None` for mechanisms that wait for a challenge (LOGIN, CRAM-MD5).
    /// Call [`Client::initial_sent`] if it was sent on the AUTH line.
    pub fn initial(&self) -> Result<Option<Secret>, SaslError> {
        match self.mechanism {
            Mechanism::Plain => plain("", &self.user, &self.secret).map(Some),
            Mechanism::XOAuth2 => xoauth2(&self.user, &self.secret).map(Some),
            Mechanism::Login | Mechanism::CramMd5 => Ok(None),
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
            // XOAUTH2 failure: 334 base64(JSON error); answer with an empty
            // line and the server sends the final 535.
            (Mechanism::XOAuth2, _) => {
                return Ok(Response {
                    line: Secret::new(""),
                    shown: "",
                });
            }
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
        Ok(Response {
            line,
            shown: "****",
        })
    }
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
    }
}
