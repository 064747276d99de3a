//! OAUTHBEARER (RFC 7628) and the error challenges of OAuth mechanisms.
//!
//! The initial response is `n,a=USER,^Ahost=HOST^Aport=PORT^Aauth=Bearer
//! TOKEN^A^A` (host and port of the connection, when known). A server that
//! refuses the token answers with a `334` holding a JSON error
//! (`{"status":"invalid_token",...}`); the client answers with a single
//! `^A` (RFC 7628 §3.2.3) and the server then sends its final 5xx.

use super::{SaslError, Secret, encode_secret, raw_buffer, show_challenge};
use crate::text::{Style, escape_as};

/// The dummy response to an OAUTHBEARER error challenge: `^A`, base64.
pub const DUMMY_RESPONSE: &str = "AQ==";

/// RFC 5801 saslname for the GS2 header's `a=`: `=` as `=3D`, `,` as `=2C`.
fn saslname(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// OAUTHBEARER's client response (RFC 7628 §3.1), base64. `server` is the
/// host name and port the client connected to (sent as `host=`/`port=`).
pub fn oauthbearer(
    user: &str,
    token: &Secret,
    server: Option<(&str, u16)>,
) -> Result<Secret, SaslError> {
    let bad = ['\u{1}', '\0', '\r', '\n'];
    super::reject(user, "the user name", &bad)?;
    super::reject(token.expose(), "the token", &bad)?;
    let header = format!("n,a={},\x01", saslname(user));
    let place = match server {
        Some((host, port)) => {
            super::reject(host, "the host name", &bad)?;
            format!("host={host}\x01port={port}\x01")
        }
        None => String::new(),
    };
    let raw = raw_buffer(&[
        header.as_bytes(),
        place.as_bytes(),
        b"auth=Bearer ",
        token.expose().as_bytes(),
        b"\x01\x01",
    ]);
    encode_secret(&raw)
}

/// An OAuth error challenge (OAUTHBEARER, XOAUTH2) as lines for the
/// terminal: pretty JSON (keys sorted) when it is a JSON object, else the
/// text; control and bidirectional characters escaped.
pub fn error_lines(decoded: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<serde_json::Value>(decoded) {
        Ok(value @ serde_json::Value::Object(_)) => serde_json::to_string_pretty(&value)
            .unwrap_or_default()
            .lines()
            .map(|l| escape_as(l.as_bytes(), Style::Field))
            .collect(),
        _ => vec![show_challenge(decoded)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::sasl::{B64, decode_challenge};
    use base64::Engine as _;

    // RFC 7628 §4.1 (IMAP, port 143).
    const RFC_TOKEN: &str = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==";
    const RFC_INITIAL: &str = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB";
    // RFC 7628 §4.3's error challenge.
    const RFC_ERROR: &str = "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2V4YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=";

    #[test]
    fn rfc7628_initial_response() {
        let r = oauthbearer(
            "user@example.com",
            &Secret::new(RFC_TOKEN),
            Some(("server.example.com", 143)),
        )
        .unwrap();
        assert_eq!(r.expose(), RFC_INITIAL);
        let r = oauthbearer("a,b=c", &Secret::new("t"), None).unwrap();
        assert_eq!(
            B64.decode(r.expose()).unwrap(),
            b"n,a=a=2Cb=3Dc,\x01auth=Bearer t\x01\x01"
        );
        assert_eq!(
            oauthbearer("u", &Secret::new("t\x01x"), None).unwrap_err(),
            SaslError::BadCharacter { what: "the token" }
        );
        assert!(oauthbearer("u\r", &Secret::new("t"), None).is_err());
        assert!(oauthbearer("u", &Secret::new("t"), Some(("h\x01", 1))).is_err());
        assert_eq!(B64.decode(DUMMY_RESPONSE).unwrap(), b"\x01");
    }

    #[test]
    fn error_challenges_are_shown_as_pretty_json() {
        let decoded = decode_challenge(RFC_ERROR).unwrap();
        assert_eq!(
            error_lines(&decoded),
            vec![
                "{",
                "  \"openid-configuration\": \"https://example.com/.well-known/openid-configuration\",",
                "  \"scope\": \"example_scope\",",
                "  \"status\": \"invalid_token\"",
                "}"
            ]
        );
        assert_eq!(error_lines(b"not json\x1b"), vec!["not json\\x1b"]);
        assert_eq!(error_lines(b"42"), vec!["42"]);
        let lines = error_lines("{\"status\":\"a\u{202e}b\"}".as_bytes());
        assert!(lines.iter().all(|l| !l.contains('\u{202e}')), "{lines:?}");
    }
}
