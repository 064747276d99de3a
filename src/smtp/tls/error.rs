//! Handshake failures explained in one line: [`TlsError`], its
//! [`TlsErrorKind`], and [`classify`], which turns what rustls and the
//! socket report into that line.

use super::pin::PinMismatch;
use crate::clock::readable_unix;
use crate::text::{Style, escape_as, shorten};
use rustls::{AlertDescription, CertificateError};
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Whether TLS starts at once or after STARTTLS (for error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Implicit TLS (RFC 8314, port 465): TLS from the first byte.
    Implicit,
    /// After the server's 220 to STARTTLS (RFC 3207).
    StartTls,
}

/// What kind of TLS failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsErrorKind {
    /// The certificate chain does not lead to a trusted root.
    UnknownIssuer,
    /// The certificate's notAfter has passed.
    Expired,
    /// The certificate's notBefore is in the future.
    NotValidYet,
    /// The certificate is not for the host name (or address) connected to.
    NameMismatch,
    /// The certificate was revoked.
    Revoked,
    /// The server presents a CA certificate as its own.
    CaAsServerCertificate,
    /// Another certificate problem (bad signature, wrong purpose, ...).
    BadCertificate,
    /// The server answered with plaintext where TLS was expected.
    Plaintext,
    /// The server closed the connection during the handshake.
    Closed,
    /// The server refused the handshake with an alert.
    Refused,
    /// No TLS version or cipher suite in common, or a protocol violation.
    Incompatible,
    /// The server asked for a client certificate and got none (`--cert`).
    ClientCertRequired,
    /// The server refused the client certificate it was given.
    ClientCertRefused,
    /// The server refused the TLS versions `--tls-min`/`--tls-max` allow.
    VersionRefused,
    /// The server's public key matched no `--pin`.
    PinMismatch,
    /// Local setup: unreadable CA file or client certificate, a key that
    /// does not match its certificate, an unusable host name.
    Config,
    /// Anything else.
    Other,
}

/// A TLS failure, as one line that names the reason. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError {
    /// The kind.
    pub kind: TlsErrorKind,
    message: String,
}

impl TlsError {
    pub(super) fn new(kind: TlsErrorKind, message: impl Into<String>) -> TlsError {
        TlsError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TlsError {}

/// Bytes from the network as text for a message: the first line, escaped
/// by the shared [`escape_as`] ([`Style::Field`]), at most `max`
/// characters (ending in `…` when cut).
pub(super) fn printable(bytes: &[u8], max: usize) -> String {
    let line = bytes
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    shorten(escape_as(line, Style::Field), max, "…")
}

/// An error's own text, escaped ([`Style::Field`]) in case it carries
/// something the server sent.
fn shown(error: &impl fmt::Display) -> String {
    escape_as(error.to_string().as_bytes(), Style::Field)
}

/// Whether `start` could begin a TLS record (content type 20-24, version 3.x).
fn looks_like_tls(start: &[u8]) -> bool {
    match start {
        [] => true,
        [t] => (20..=24).contains(t),
        [t, v, ..] => (20..=24).contains(t) && *v == 3,
    }
}

/// What a failure is judged against: besides the phase and the name
/// checked, what the handshake learned and what the user limited.
#[derive(Debug, Clone)]
pub struct Context {
    /// Implicit TLS or STARTTLS.
    pub phase: Phase,
    /// The name the certificate was checked against.
    pub host: String,
    /// The server asked for a client certificate.
    pub certificate_requested: bool,
    /// The client certificate given (`--cert`), if any.
    pub client_cert: Option<PathBuf>,
    /// `--tls-min`/`--tls-max` as typed and the version they leave, when
    /// they leave one.
    pub version_limits: Option<(String, String)>,
}

impl Context {
    /// A context with nothing learned or limited.
    pub fn new(phase: Phase, host: &str) -> Context {
        Context {
            phase,
            host: host.to_string(),
            certificate_requested: false,
            client_cert: None,
            version_limits: None,
        }
    }
}

/// Turns a failed handshake into one clear line. `start` holds the first
/// bytes the server sent during the handshake; `host` the name checked.
pub fn classify(error: &io::Error, start: &[u8], phase: Phase, host: &str) -> TlsError {
    classify_in(error, start, &Context::new(phase, host))
}

/// The line for a client certificate the server wanted and did not get,
/// or got and refused; `None` when the alert says something else.
fn client_certificate_error(alert: &AlertDescription, cx: &Context) -> Option<TlsError> {
    use AlertDescription as A;
    let about_certificate = matches!(
        alert,
        A::CertificateRequired
            | A::BadCertificate
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::DecryptError
    );
    let refused = *alert == A::CertificateRequired
        || (cx.certificate_requested && (about_certificate || *alert == A::HandshakeFailure));
    if !refused {
        return None;
    }
    let why = match alert {
        A::UnknownCA => " — it does not trust the CA that signed it",
        A::CertificateExpired => " — it has expired",
        A::CertificateRevoked => " — it has been revoked",
        A::UnsupportedCertificate => {
            " — its type or key usage does not suit a TLS client (extended key usage clientAuth?)"
        }
        _ => "",
    };
    Some(client_certificate_line(
        cx,
        &format!("alert: {}", alert_name(alert)),
        why,
    ))
}

/// "The server requires a client certificate and none was given" or
/// "refused the client certificate FILE"; `what` says how it showed it
/// (`alert: unknown ca`), `why` what the alert means.
fn client_certificate_line(cx: &Context, what: &str, why: &str) -> TlsError {
    match &cx.client_cert {
        None => TlsError::new(
            TlsErrorKind::ClientCertRequired,
            format!(
                "the server requires a client certificate and none was given ({what}): \
                 present one with --cert FILE (and --key FILE unless the key is in FILE)"
            ),
        ),
        Some(path) => TlsError::new(
            TlsErrorKind::ClientCertRefused,
            format!(
                "the server refused the client certificate {} ({what}){why}; ask its \
                 administrator which CA it trusts for clients",
                path.display()
            ),
        ),
    }
}

/// The server closed the connection (no alert) right after asking for a
/// client certificate: the certificate is the likely reason.
pub(super) fn closed_after_certificate_request(cx: &Context) -> TlsError {
    client_certificate_line(cx, "it asked for one, then closed the connection", "")
}

/// The line for versions the server would not speak, when the user
/// limited them; `None` when nothing was limited or the error is another.
fn version_error(tls: &rustls::Error, cx: &Context) -> Option<TlsError> {
    let (limits, left) = cx.version_limits.as_ref()?;
    let what = match tls {
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::ProtocolVersion
            | AlertDescription::HandshakeFailure
            | AlertDescription::InsufficientSecurity),
        ) => format!("alert: {}", alert_name(alert)),
        rustls::Error::PeerIncompatible(why) => format!("{why:?}"),
        rustls::Error::PeerMisbehaved(why) => format!("{why:?}"),
        _ => return None,
    };
    Some(TlsError::new(
        TlsErrorKind::VersionRefused,
        format!(
            "the server refused {left}, the only version {limits} allows ({what}) — drop {limits} \
             to let smtpsh offer TLS 1.2 and 1.3"
        ),
    ))
}

/// The line for a key that matched no pin: both pins, to copy.
fn pin_error(mismatch: &PinMismatch) -> TlsError {
    let expected: Vec<String> = mismatch.expected.iter().map(ToString::to_string).collect();
    let message = match &mismatch.actual {
        Some(actual) => format!(
            "the server's public key does not match --pin: expected {}, the server's key is \
             {actual} — if its key changed on purpose, use --pin {actual}",
            expected.join(" or ")
        ),
        None => format!(
            "the server's certificate could not be read, so its key cannot match --pin {}",
            expected.join(" or ")
        ),
    };
    TlsError::new(TlsErrorKind::PinMismatch, message)
}

/// [`classify`] with what the handshake learned and the user limited.
pub fn classify_in(error: &io::Error, start: &[u8], cx: &Context) -> TlsError {
    use TlsErrorKind as K;
    let (phase, host) = (cx.phase, cx.host.as_str());
    let plaintext = !start.is_empty() && !looks_like_tls(start);
    if plaintext {
        let first = printable(start, 60);
        return TlsError::new(
            K::Plaintext,
            match phase {
                Phase::Implicit => format!(
                    "the server answered in plaintext (\"{first}\") instead of TLS: this port speaks \
                     plain SMTP, not implicit TLS (what OpenSSL calls \"wrong version number\") — \
                     use `connect --starttls HOST PORT` (ports 25 and 587), or port 465 for implicit TLS"
                ),
                Phase::StartTls => format!(
                    "after accepting STARTTLS the server sent plaintext (\"{first}\") instead of a TLS handshake"
                ),
            },
        );
    }
    let closed = match phase {
        Phase::Implicit => {
            "the server closed the connection during the TLS handshake — does this port use implicit TLS? \
             (ports 25 and 587 use `--starttls`, port 465 uses `--tls`)"
        }
        Phase::StartTls => {
            "the server closed the connection during the TLS handshake after STARTTLS"
        }
    };
    let Some(tls) = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        return match error.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
                if cx.certificate_requested =>
            {
                closed_after_certificate_request(cx)
            }
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => TlsError::new(K::Closed, closed),
            _ => TlsError::new(
                K::Other,
                format!("the TLS handshake failed: {}", shown(error)),
            ),
        };
    };
    if let rustls::Error::AlertReceived(alert) = tls
        && let Some(e) = client_certificate_error(alert, cx)
    {
        return e;
    }
    if let Some(e) = version_error(tls, cx) {
        return e;
    }
    if let rustls::Error::InvalidCertificate(CertificateError::Other(other)) = tls
        && let Some(mismatch) = other.0.downcast_ref::<PinMismatch>()
    {
        return pin_error(mismatch);
    }
    match tls {
        rustls::Error::InvalidCertificate(cert) => certificate_error(cert, host),
        rustls::Error::AlertReceived(alert) => {
            let why = match alert {
                AlertDescription::ProtocolVersion => {
                    " — it seems to offer only TLS versions older than 1.2, which smtpsh does not use"
                }
                AlertDescription::HandshakeFailure | AlertDescription::InsufficientSecurity => {
                    " — no TLS version or cipher suite in common"
                }
                AlertDescription::UnrecognisedName => {
                    " — it does not know the host name sent in SNI; connect with the name it expects (or give it with --servername NAME)"
                }
                _ => "",
            };
            TlsError::new(
                K::Refused,
                format!(
                    "the server refused the TLS handshake (alert: {}){why}",
                    alert_name(alert)
                ),
            )
        }
        rustls::Error::PeerIncompatible(why) => TlsError::new(
            K::Incompatible,
            format!("the server's TLS is incompatible with smtpsh (TLS 1.2 and 1.3 only): {why:?}"),
        ),
        rustls::Error::InvalidMessage(why) => TlsError::new(
            K::Incompatible,
            format!("the server sent a malformed TLS message ({why:?})"),
        ),
        other => TlsError::new(
            K::Other,
            format!("the TLS handshake failed: {}", shown(other)),
        ),
    }
}

fn alert_name(alert: &AlertDescription) -> String {
    // `HandshakeFailure` → `handshake failure`.
    let name = format!("{alert:?}");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The line for a certificate the verifier rejected.
fn certificate_error(error: &CertificateError, host: &str) -> TlsError {
    use TlsErrorKind as K;
    match error {
        CertificateError::UnknownIssuer => TlsError::new(
            K::UnknownIssuer,
            "the server's certificate is not trusted (unknown issuer): it is not signed by a \
             certificate authority smtpsh trusts — a private CA or a self-signed certificate? \
             Trust that CA with --cafile PATH, or pin the server's key with --pin",
        ),
        CertificateError::ExpiredContext { not_after, .. } => TlsError::new(
            K::Expired,
            format!(
                "the server's certificate has expired (valid until {}); its owner must renew it",
                readable_unix(not_after.as_secs())
            ),
        ),
        CertificateError::Expired => {
            TlsError::new(K::Expired, "the server's certificate has expired")
        }
        CertificateError::NotValidYetContext { not_before, .. } => TlsError::new(
            K::NotValidYet,
            format!(
                "the server's certificate is not valid yet (valid from {}); check this computer's clock",
                readable_unix(not_before.as_secs())
            ),
        ),
        CertificateError::NotValidYet => TlsError::new(
            K::NotValidYet,
            "the server's certificate is not valid yet; check this computer's clock",
        ),
        CertificateError::NotValidForNameContext { presented, .. } => {
            let names: Vec<String> = presented
                .iter()
                .take(8)
                .map(|n| printable(n.as_bytes(), 80))
                .collect();
            let list = if names.is_empty() {
                "no names".to_string()
            } else {
                names.join(", ")
            };
            TlsError::new(
                K::NameMismatch,
                format!(
                    "the server's certificate does not match the name \"{}\" (name mismatch): it is for {list} — connect using one of those names (or --servername NAME)",
                    printable(host.as_bytes(), 80)
                ),
            )
        }
        CertificateError::NotValidForName => TlsError::new(
            K::NameMismatch,
            format!(
                "the server's certificate does not match the name \"{}\" (name mismatch)",
                printable(host.as_bytes(), 80)
            ),
        ),
        CertificateError::Revoked => {
            TlsError::new(K::Revoked, "the server's certificate has been revoked")
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            TlsError::new(
                K::BadCertificate,
                "the server's certificate is not meant for a TLS server (extended key usage)",
            )
        }
        CertificateError::Other(other) if other.to_string().contains("CaUsedAsEndEntity") => {
            TlsError::new(
                K::CaAsServerCertificate,
                "the server presents a CA certificate (CA:TRUE) as its own certificate; it needs a \
                 server certificate signed by that CA",
            )
        }
        other => TlsError::new(
            K::BadCertificate,
            format!("the server's certificate was rejected: {}", shown(other)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_of_constructed_errors() {
        let wrap = |e: rustls::Error| io::Error::new(io::ErrorKind::InvalidData, e);
        let c = |e: rustls::Error| classify(&wrap(e), &[], Phase::StartTls, "mx.example.org");
        assert_eq!(
            c(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            ))
            .kind,
            TlsErrorKind::UnknownIssuer
        );
        assert_eq!(
            c(rustls::Error::InvalidCertificate(CertificateError::Expired)).kind,
            TlsErrorKind::Expired
        );
        assert_eq!(
            c(rustls::Error::InvalidCertificate(CertificateError::Revoked)).kind,
            TlsErrorKind::Revoked
        );
        let e = c(rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName,
        ));
        assert_eq!(e.kind, TlsErrorKind::NameMismatch);
        assert!(e.to_string().contains("mx.example.org"));
        let e = c(rustls::Error::AlertReceived(
            AlertDescription::ProtocolVersion,
        ));
        assert_eq!(e.kind, TlsErrorKind::Refused);
        assert!(e.to_string().contains("alert: protocol version"), "{e}");
        assert!(e.to_string().contains("older than 1.2"), "{e}");
        let e = classify(
            &io::Error::from(io::ErrorKind::UnexpectedEof),
            &[],
            Phase::Implicit,
            "x",
        );
        assert_eq!(e.kind, TlsErrorKind::Closed);
        let e = classify(
            &wrap(rustls::Error::General("x".into())),
            b"250 injected\r\n",
            Phase::StartTls,
            "x",
        );
        assert_eq!(e.kind, TlsErrorKind::Plaintext);
        assert!(e.to_string().contains("\"250 injected\""), "{e}");
        let e = classify(
            &wrap(rustls::Error::General("x".into())),
            b"\x1b[2J\r\n",
            Phase::Implicit,
            "x",
        );
        assert!(e.to_string().contains("\\x1b[2J"), "{e}");
        assert!(!e.to_string().contains('\x1b'));
        assert!(looks_like_tls(&[0x16, 0x03, 0x03]));
        assert!(!looks_like_tls(b"220 "));
    }

    #[test]
    fn bidi_overrides_from_the_server_are_escaped() {
        // A name in the certificate that would show as "moc.elpmaxe".
        let presented = vec!["\u{202e}example.com".to_string()];
        let e = classify(
            &io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
                    expected: rustls::pki_types::ServerName::try_from("mx.example.org")
                        .expect("a valid name")
                        .to_owned(),
                    presented,
                }),
            ),
            &[],
            Phase::StartTls,
            "mx.example.org",
        );
        assert_eq!(e.kind, TlsErrorKind::NameMismatch);
        assert!(!e.to_string().contains('\u{202e}'), "{e}");
        assert!(e.to_string().contains("\\xe2\\x80\\xaeexample.com"), "{e}");
        // Plaintext where TLS was expected.
        let e = classify(
            &io::Error::new(
                io::ErrorKind::InvalidData,
                rustls::Error::General("x".into()),
            ),
            "220 \u{202e}evil\r\n".as_bytes(),
            Phase::Implicit,
            "x",
        );
        assert_eq!(e.kind, TlsErrorKind::Plaintext);
        assert!(!e.to_string().contains('\u{202e}'), "{e}");
        assert!(e.to_string().contains("220 \\xe2\\x80\\xaeevil"), "{e}");
    }
}
