//! Public key pins ([`Pin`]): the SHA-256 of a certificate's
//! SubjectPublicKeyInfo, base64, as curl's `--pinnedpubkey sha256//...`
//! and HPKP compute it; written `sha256:BASE64`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::fmt;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// A SHA-256 public key pin.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pin(pub [u8; 32]);

impl Pin {
    /// Reads `sha256:BASE64` (also curl's `sha256//BASE64`); the reason
    /// when it is not one.
    pub fn parse(text: &str) -> Result<Pin, String> {
        let value = text
            .strip_prefix("sha256:")
            .or_else(|| text.strip_prefix("sha256//"))
            .or_else(|| text.strip_prefix("SHA256:"))
            .ok_or_else(|| {
                "a pin is written sha256:BASE64 (the SHA-256 of the server's public key, \
                 as `status` shows it)"
                    .to_string()
            })?;
        let bytes = STANDARD
            .decode(value.trim())
            .map_err(|_| "the part after sha256: is not base64".to_string())?;
        let digest = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            format!(
                "a SHA-256 pin is 32 bytes (44 base64 characters), this one is {} bytes",
                bytes.len()
            )
        })?;
        Ok(Pin(digest))
    }

    /// The pin of a SubjectPublicKeyInfo (DER).
    pub fn of_spki(spki: &[u8]) -> Pin {
        Pin(Sha256::digest(spki).into())
    }

    /// The pin of a certificate's public key; `None` if it does not parse.
    pub fn of_certificate(der: &[u8]) -> Option<Pin> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        Some(Pin::of_spki(cert.public_key().raw))
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", STANDARD.encode(self.0))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The server's key matched none of the pins (carried inside the rustls
/// error, read back by the classifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinMismatch {
    /// The pins given.
    pub expected: Vec<Pin>,
    /// The pin of the server's key (`None`: its certificate did not parse).
    pub actual: Option<Pin>,
}

impl fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the server's public key does not match the pin")
    }
}

impl std::error::Error for PinMismatch {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_and_print() {
        let pin = Pin::of_spki(b"key");
        let text = pin.to_string();
        assert!(
            text.starts_with("sha256:") && text.len() == 7 + 44,
            "{text}"
        );
        assert_eq!(Pin::parse(&text), Ok(pin));
        let curl = text.replace("sha256:", "sha256//");
        assert_eq!(Pin::parse(&curl), Ok(pin));
        assert!(
            Pin::parse("md5:abcd")
                .unwrap_err()
                .contains("sha256:BASE64")
        );
        assert!(Pin::parse("sha256:!!!").unwrap_err().contains("base64"));
        assert!(Pin::parse("sha256:AAAA").unwrap_err().contains("3 bytes"));
    }

    #[test]
    fn the_pin_is_that_of_the_subject_public_key_info() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        assert_eq!(
            Pin::of_certificate(cert.der()),
            Some(Pin::of_spki(
                &rcgen::PublicKeyData::subject_public_key_info(&key)
            ))
        );
        assert_eq!(Pin::of_certificate(b"junk"), None);
    }
}
