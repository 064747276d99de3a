//! The server certificate verifier: the extra roots first (each its own
//! webpki verifier, so each can be named), then the main store (the
//! system's roots, the Mozilla set or `--cafile`); the one that verified
//! the chain is recorded for this handshake. With `--insecure` every
//! certificate is accepted, but the handshake signatures are still
//! checked, so the server holds the key of the certificate `status` shows.
//!
//! With pins (`--pin`), the server's public key must match one of them
//! first, whatever the anchors say: a match is accepted even when the
//! chain does not verify (a self-signed certificate), a mismatch is refused
//! even when it does.

use super::config::Trust;
use super::pin::{Pin, PinMismatch};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// The trust anchor sets of a client, in the order they are tried.
#[derive(Debug)]
pub(super) enum Anchors {
    /// `--insecure`: nothing is verified.
    Insecure,
    /// Verify against `extra`, one after the other, then `main`.
    Verify {
        /// The named extra roots.
        extra: Vec<(Trust, Arc<WebPkiServerVerifier>)>,
        /// `--cafile`, else the system's roots, else the Mozilla set.
        main: (Trust, Arc<WebPkiServerVerifier>),
    },
}

impl Anchors {
    /// The main trust source.
    pub(super) fn main_trust(&self) -> &Trust {
        match self {
            Anchors::Insecure => &Trust::Insecure,
            Anchors::Verify { main, .. } => &main.0,
        }
    }
}

/// What one handshake learned on the way (set by the verifier and the
/// client certificate resolver, read after the handshake or its failure).
#[derive(Debug, Clone, Default)]
pub(super) struct Outcome(Arc<Record>);

#[derive(Debug, Default)]
struct Record {
    trust: OnceLock<Trust>,
    certificate_requested: AtomicBool,
    pinned: AtomicBool,
}

impl Outcome {
    fn set(&self, trust: &Trust) {
        // One verification per handshake: a second one would find it set.
        let _ = self.0.trust.set(trust.clone());
    }
    /// The trust anchors that verified the certificate, once they have.
    pub(super) fn get(&self) -> Option<&Trust> {
        self.0.trust.get()
    }
    /// Notes that the server asked for a client certificate.
    pub(super) fn note_certificate_request(&self) {
        self.0.certificate_requested.store(true, Ordering::SeqCst);
    }
    /// Whether the server asked for a client certificate.
    pub(super) fn certificate_requested(&self) -> bool {
        self.0.certificate_requested.load(Ordering::SeqCst)
    }
    /// Whether the server's key matched a pin.
    pub(super) fn pinned(&self) -> bool {
        self.0.pinned.load(Ordering::SeqCst)
    }
}

/// The verifier of one handshake.
#[derive(Debug)]
pub(super) struct Verifier {
    anchors: Arc<Anchors>,
    provider: Arc<CryptoProvider>,
    pins: Vec<Pin>,
    outcome: Outcome,
}

impl Verifier {
    /// A verifier over `anchors` that records its verdict in `outcome`.
    pub(super) fn new(
        anchors: Arc<Anchors>,
        provider: Arc<CryptoProvider>,
        pins: Vec<Pin>,
        outcome: Outcome,
    ) -> Verifier {
        Verifier {
            anchors,
            provider,
            pins,
            outcome,
        }
    }
    /// The signature algorithms of the provider.
    fn algorithms(&self) -> &rustls::crypto::WebPkiSupportedAlgorithms {
        &self.provider.signature_verification_algorithms
    }
}

/// The signature of a handshake message (short: it fills trait signatures).
type Dss = DigitallySignedStruct;
/// Whether a handshake signature checked out.
type Checked = Result<HandshakeSignatureValid, rustls::Error>;

fn is_unknown_issuer(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)
    )
}

fn is_name_mismatch(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

impl Verifier {
    /// The chain against the anchors (extra roots first, then the main
    /// store); records which anchors vouched.
    fn verify_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (extra, main) = match &*self.anchors {
            Anchors::Insecure => {
                self.outcome.set(&Trust::Insecure);
                return Ok(ServerCertVerified::assertion());
            }
            Anchors::Verify { extra, main } => (extra, main),
        };
        let verify = |verifier: &WebPkiServerVerifier| {
            verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        };
        // A name mismatch under an extra root: the chain does lead to that
        // root, but the name is wrong, which says more than the main
        // store's "unknown issuer".
        let mut extra_error = None;
        for (trust, verifier) in extra {
            match verify(verifier) {
                Ok(verified) => {
                    self.outcome.set(trust);
                    return Ok(verified);
                }
                Err(e) if extra_error.is_none() && is_name_mismatch(&e) => extra_error = Some(e),
                Err(_) => {}
            }
        }
        let (trust, verifier) = main;
        match verify(verifier) {
            Ok(verified) => {
                self.outcome.set(trust);
                Ok(verified)
            }
            Err(e) if is_unknown_issuer(&e) => Err(extra_error.unwrap_or(e)),
            Err(e) => Err(e),
        }
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pins.is_empty() {
            return self.verify_chain(end_entity, intermediates, server_name, ocsp_response, now);
        }
        let actual = Pin::of_certificate(end_entity);
        let Some(pin) = actual.filter(|a| self.pins.contains(a)) else {
            let mismatch = PinMismatch {
                expected: self.pins.clone(),
                actual,
            };
            return Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(mismatch)),
            )));
        };
        self.outcome.0.pinned.store(true, Ordering::SeqCst);
        if matches!(*self.anchors, Anchors::Insecure) {
            self.outcome.set(&Trust::Pinned(pin));
            return Ok(ServerCertVerified::assertion());
        }
        // The pin decides; the anchors are asked only to say in `status`
        // whether the chain verifies too.
        match self.verify_chain(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(verified) => Ok(verified),
            Err(_) => {
                self.outcome.set(&Trust::Pinned(pin));
                Ok(ServerCertVerified::assertion())
            }
        }
    }

    // Signatures are checked with the provider's algorithms whichever
    // trust anchors verified the chain (as rustls' own verifier does).
    fn verify_tls12_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &Dss) -> Checked {
        rustls::crypto::verify_tls12_signature(m, c, d, self.algorithms())
    }

    fn verify_tls13_signature(&self, m: &[u8], c: &CertificateDer<'_>, d: &Dss) -> Checked {
        rustls::crypto::verify_tls13_signature(m, c, d, self.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms().supported_schemes()
    }
}
