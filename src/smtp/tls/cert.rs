//! What `status` shows about an encrypted connection ([`TlsInfo`]) and the
//! readable parts of the server's certificate ([`CertSummary`]), parsed
//! with `x509-parser`. The certificate comes from the network: whatever
//! does not parse gives `None`, and every string from it is shown through
//! the shared escape (control and bidirectional characters as `\xnn`).

use super::config::Trust;
use super::pin::Pin;
use crate::clock::readable_unix;
use crate::text::{Style, escape_as, shorten};
use std::net::{Ipv4Addr, Ipv6Addr};
use x509_parser::asn1_rs::{Oid, Tag};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::objects::{oid_registry, oid2abbrev};
use x509_parser::prelude::FromDer;
use x509_parser::x509::{AttributeTypeAndValue, X509Name};

/// Longest attribute value or name shown, in characters.
const MAX_TEXT: usize = 200;

/// What `status` shows about an encrypted connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLS 1.3` or `TLS 1.2`.
    pub version: String,
    /// The cipher suite, e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: String,
    /// The server's certificate, if it could be read.
    pub certificate: Option<CertSummary>,
    /// How many certificates the server sent.
    pub chain_length: usize,
    /// The certificates the server sent, its own first, as DER.
    pub chain: Vec<Vec<u8>>,
    /// The pin of the server's public key (`sha256:...`, for `--pin`).
    pub pin: Option<Pin>,
    /// The key matched a `--pin`.
    pub pinned: bool,
    /// The name the certificate was checked against (the host, or
    /// `--servername`).
    pub name: String,
    /// The name sent as SNI (`None`: none was sent: `--no-sni`, or an IP
    /// address).
    pub sni: Option<String>,
    /// The server asked for a client certificate.
    pub client_cert_requested: bool,
    /// A client certificate was configured (`--cert`), so sent if asked.
    pub client_cert_given: bool,
    /// The trust anchors that verified the certificate in this handshake
    /// ([`Trust::Insecure`] when nothing did).
    pub trust: Trust,
    /// Bytes the server sent after its 220 to STARTTLS, discarded unread.
    pub discarded: usize,
}

impl TlsInfo {
    /// Each certificate of the chain, summarized (`None`: not readable).
    pub fn chain_summaries(&self) -> Vec<Option<CertSummary>> {
        self.chain
            .iter()
            .map(|c| summarize_certificate(c))
            .collect()
    }

    /// Whether the certificate was verified: some trust anchors vouched for
    /// it (false with `--insecure`).
    pub fn verified(&self) -> bool {
        !matches!(self.trust, Trust::Insecure)
    }
}

/// The readable parts of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// The subject, e.g. `CN=mail.example.org, O=Example`.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// Start of validity, `YYYY-MM-DD HH:MM:SS UTC`.
    pub not_before: String,
    /// End of validity.
    pub not_after: String,
    /// End of validity, seconds since the Unix epoch.
    pub not_after_unix: i64,
    /// DNS names and IP addresses from subjectAltName.
    pub names: Vec<String>,
}

/// Reads subject, issuer, validity and names from a DER certificate;
/// `None` if it does not parse.
pub fn summarize_certificate(der: &[u8]) -> Option<CertSummary> {
    let (_rest, cert) = X509Certificate::from_der(der).ok()?;
    let validity = cert.validity();
    Some(CertSummary {
        subject: name(cert.subject()),
        issuer: name(cert.issuer()),
        not_before: readable_unix(validity.not_before.timestamp()),
        not_after: readable_unix(validity.not_after.timestamp()),
        not_after_unix: validity.not_after.timestamp(),
        names: alt_names(&cert),
    })
}

/// A Name as `CN=mail.example.org, O=Example` (attributes of one
/// multi-valued RDN joined with ` + `). Not `X509Name::to_string_with_registry`:
/// it gives up on the whole name when one value is not UTF-8 (Latin-1 in a
/// TeletexString, as in some older CA names) and writes non-string values
/// as bare hex; here each value is read leniently and escaped on its own.
fn name(name: &X509Name<'_>) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    format!(
                        "{}={}",
                        attribute_type(atv.attr_type()),
                        attribute_value(atv)
                    )
                })
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect();
    if rdns.is_empty() {
        "(empty)".to_string()
    } else {
        rdns.join(", ")
    }
}

/// The usual abbreviation of an attribute type (`CN`, `O`, `DC`, ...) or
/// its registered short name, both from `x509-parser`'s registry, else the
/// dotted OID.
fn attribute_type(oid: &Oid<'_>) -> String {
    oid2abbrev(oid, oid_registry()).map_or_else(|_| oid.to_id_string(), str::to_string)
}

/// An attribute value as display text: strings as text (BMPString is
/// UTF-16), anything else as `#` and hex.
fn attribute_value(atv: &AttributeTypeAndValue<'_>) -> String {
    let bytes = atv.as_slice();
    let text = match atv.attr_value().tag() {
        Tag::BmpString => {
            // An odd byte at the end is no UTF-16 code unit.
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| match *c {
                    [high, low] => u16::from_be_bytes([high, low]),
                    _ => 0xFFFD,
                })
                .collect();
            String::from_utf16_lossy(&units)
        }
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::VisibleString
        | Tag::TeletexString
        | Tag::GeneralString
        | Tag::GraphicString => String::from_utf8_lossy(bytes).into_owned(),
        _ => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("#{hex}")
        }
    };
    shown(&text)
}

/// Text from the certificate as `status` shows it: through the shared
/// escape ([`Style::Field`]: control and bidirectional characters as
/// `\xnn`), at most [`MAX_TEXT`] characters.
fn shown(text: &str) -> String {
    shorten(escape_as(text.as_bytes(), Style::Field), MAX_TEXT, "…")
}

/// subjectAltName DNS names and IP addresses, in certificate order.
fn alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for ext in cert.extensions() {
        let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() else {
            continue;
        };
        for general in &san.general_names {
            match general {
                GeneralName::DNSName(dns) => out.push(shown(dns)),
                GeneralName::IPAddress(ip) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*ip) {
                        out.push(Ipv4Addr::from(v4).to_string());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*ip) {
                        out.push(Ipv6Addr::from(v6).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn certificate(params: CertificateParams) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn a_certificate_summarised() {
        let mut params = CertificateParams::new(vec![
            "mail.example.org".to_string(),
            "192.0.2.25".to_string(),
            "2001:db8::25".to_string(),
        ])
        .unwrap();
        params.subject_alt_names.push(SanType::Rfc822Name(
            "postmaster@example.org".try_into().unwrap(),
        ));
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "mail.example.org");
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Example");
        params.distinguished_name.push(DnType::CountryName, "DE");
        params.not_before = rcgen::date_time_ymd(2000, 2, 29);
        params.not_after = rcgen::date_time_ymd(2051, 1, 1);
        let der = certificate(params);
        let summary = summarize_certificate(&der).expect("parses");
        assert_eq!(summary.subject, "CN=mail.example.org, O=Example, C=DE");
        assert_eq!(summary.issuer, summary.subject);
        assert_eq!(summary.not_before, "2000-02-29 00:00:00 UTC");
        // After 2049: GeneralizedTime instead of UTCTime.
        assert_eq!(summary.not_after, "2051-01-01 00:00:00 UTC");
        assert_eq!(
            summary.names,
            vec!["mail.example.org", "192.0.2.25", "2001:db8::25"]
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "evil\x1b[2J\x07");
        params
            .distinguished_name
            .push(DnType::CustomDnType(vec![2, 5, 4, 12]), "Postmaster\ttitle");
        let summary = summarize_certificate(&certificate(params)).expect("parses");
        assert!(
            !summary.subject.chars().any(char::is_control),
            "{summary:?}"
        );
        assert!(
            summary.subject.starts_with("CN=evil\\x1b[2J\\x07, "),
            "{summary:?}"
        );
        assert!(
            summary.subject.ends_with("=Postmaster\\x09title"),
            "{summary:?}"
        );
        assert_eq!(summary.names, Vec::<String>::new());
    }

    #[test]
    fn bidi_overrides_in_names_are_escaped() {
        // rcgen writes DNS names as ASCII only; "~~~" is swapped for the
        // three bytes of U+202E afterwards (same length, so the DER stays
        // well-formed; the signature does not matter here).
        let mut params = CertificateParams::new(vec!["~~~example.com".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "\u{202e}moc.elpmaxe");
        let mut der = certificate(params);
        let at = der
            .windows(3)
            .position(|w| w == b"~~~")
            .expect("the placeholder");
        der.splice(at..at + 3, "\u{202e}".bytes());
        let summary = summarize_certificate(&der).expect("parses");
        assert_eq!(summary.subject, "CN=\\xe2\\x80\\xaemoc.elpmaxe");
        assert_eq!(summary.names, vec!["\\xe2\\x80\\xaeexample.com"]);
    }

    #[test]
    fn garbage_certificates_do_not_panic() {
        assert_eq!(summarize_certificate(&[]), None);
        assert_eq!(
            summarize_certificate(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            None
        );
        assert_eq!(summarize_certificate(&[0x30, 0x03, 0x30, 0x01, 0x02]), None);
        // Every truncation and many corruptions of a real certificate.
        let params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let der = certificate(params);
        for len in 0..der.len() {
            let _ = summarize_certificate(&der[..len]);
        }
        for i in 0..der.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bad = der.clone();
                bad[i] ^= flip;
                let _ = summarize_certificate(&bad);
            }
        }
    }
}
