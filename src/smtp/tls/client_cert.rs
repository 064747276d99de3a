//! The client certificate (`--cert FILE [--key FILE]`): read from PEM
//! files, checked against its key before anything is sent, and offered
//! only when the server asks for one; the resolver notes that it asked.

use super::error::{TlsError, TlsErrorKind};
use super::verify::Outcome;
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::{InconsistentKeys, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the client certificate and its key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// The certificate (PEM), its chain after it if the server needs
    /// the intermediates.
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1, unencrypted); `None`:
    /// it is in the certificate file.
    pub key: Option<PathBuf>,
}

impl ClientCert {
    /// The file the key is read from.
    pub fn key_path(&self) -> &Path {
        self.key.as_deref().unwrap_or(&self.cert)
    }
}

fn config_error(message: String) -> TlsError {
    TlsError::new(TlsErrorKind::Config, message)
}

/// A PEM parsing error in words.
fn pem_problem(e: &pem::Error) -> String {
    match e {
        pem::Error::MissingSectionEnd { .. } => {
            "a PEM section has no -----END ...----- line (the file is cut short?)".to_string()
        }
        pem::Error::IllegalSectionStart { .. } => "a -----BEGIN line is malformed".to_string(),
        pem::Error::Base64Decode(_) => "the base64 inside a PEM section is damaged".to_string(),
        pem::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

/// The bytes of `path`, or an error naming `what` it should hold.
fn read(path: &Path, what: &str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path)
        .map_err(|e| config_error(format!("cannot read the {what} {}: {e}", path.display())))
}

/// Reads the certificate chain and the key, and checks that they belong
/// together.
pub(super) fn load(
    files: &ClientCert,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, TlsError> {
    let cert_pem = read(&files.cert, "client certificate (--cert)")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            config_error(format!(
                "{} is not a usable PEM file: {}",
                files.cert.display(),
                pem_problem(&e)
            ))
        })?;
    if chain.is_empty() {
        return Err(config_error(format!(
            "{} holds no certificate (-----BEGIN CERTIFICATE-----): --cert takes the client \
             certificate in PEM, its chain after it",
            files.cert.display()
        )));
    }
    if let Some(i) = chain
        .iter()
        .position(|c| super::cert::summarize_certificate(c).is_none())
    {
        return Err(config_error(format!(
            "certificate {} in {} is not a readable X.509 certificate",
            i + 1,
            files.cert.display()
        )));
    }
    let key_path = files.key_path();
    let key_pem = if files.key.is_some() {
        read(key_path, "private key (--key)")?
    } else {
        cert_pem
    };
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| match e {
        pem::Error::NoItemsFound if contains(&key_pem, b"ENCRYPTED PRIVATE KEY") => {
            config_error(format!(
                "the private key in {} is encrypted; smtpsh needs it unencrypted (e.g. \
                 `openssl pkey -in {0} -out plain.key`, kept private)",
                key_path.display()
            ))
        }
        pem::Error::NoItemsFound if files.key.is_none() => config_error(format!(
            "{} holds no private key: name the key file with --key FILE (or append the key \
             to the certificate file)",
            key_path.display()
        )),
        pem::Error::NoItemsFound => config_error(format!(
            "{} holds no private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC \
             PRIVATE KEY)",
            key_path.display()
        )),
        other => config_error(format!(
            "{} is not a usable PEM file: {}",
            key_path.display(),
            pem_problem(&other)
        )),
    })?;
    CertifiedKey::from_der(chain, key, provider)
        .map(Arc::new)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) => {
                config_error(format!(
                    "the private key in {} does not belong to the certificate in {} (their \
                     public keys differ): give the key made with that certificate",
                    key_path.display(),
                    files.cert.display()
                ))
            }
            other => config_error(format!(
                "cannot use the private key in {}: {other}",
                key_path.display()
            )),
        })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Offers the client certificate (if any) when the server asks, and
/// notes in the handshake's [`Outcome`] that it asked.
#[derive(Debug)]
pub(super) struct ClientAuth {
    /// The certificate and key, if `--cert` was given.
    pub(super) key: Option<Arc<CertifiedKey>>,
    /// Where the request is noted.
    pub(super) outcome: Outcome,
}

impl ResolvesClientCert for ClientAuth {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.outcome.note_certificate_request();
        self.key.clone()
    }

    fn has_certs(&self) -> bool {
        self.key.is_some()
    }
}
