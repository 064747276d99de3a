//! What the user asked for ([`TlsOptions`]), where trust comes from
//! ([`Trust`]), the root stores behind it, and the ready client
//! configuration ([`TlsClient`]).

use super::client_cert::{self, ClientAuth, ClientCert};
use super::error::{TlsError, TlsErrorKind, printable};
use super::pin::Pin;
use super::verify::{Anchors, Outcome, Verifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// What the user asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust only the CA certificates in this PEM file (instead of the
    /// system's roots).
    pub cafile: Option<PathBuf>,
    /// Accept any certificate (still shown in `status`, never verified).
    pub insecure: bool,
    /// More CA certificates trusted besides the others, each under its own
    /// name (e.g. the built-in sandbox's own CA, which only vouches for
    /// loopback names). They are tried first; ignored with `insecure`.
    pub extra_roots: Vec<ExtraRoot>,
    /// The client certificate to present when the server asks (`--cert`,
    /// `--key`).
    pub client_cert: Option<ClientCert>,
    /// The name to verify the certificate against and to send as SNI
    /// (`--servername`), instead of the host connected to.
    pub servername: Option<String>,
    /// Send no SNI (`--no-sni`); the certificate is still verified against
    /// the host name or `servername`.
    pub no_sni: bool,
    /// The oldest TLS version allowed (`--tls-min`).
    pub min_version: Option<TlsVersion>,
    /// The newest TLS version allowed (`--tls-max`).
    pub max_version: Option<TlsVersion>,
    /// The server's public key must match one of these (`--pin`), whatever
    /// the trust anchors say.
    pub pins: Vec<Pin>,
}

/// A TLS version rustls speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    V1_2,
    /// TLS 1.3 (RFC 8446).
    V1_3,
}

impl TlsVersion {
    /// Reads `1.2` or `1.3` (also `TLSv1.3`, `tls1.2`).
    pub fn parse(text: &str) -> Option<TlsVersion> {
        let t = text.to_ascii_lowercase();
        let t = t
            .strip_prefix("tlsv")
            .or_else(|| t.strip_prefix("tls"))
            .unwrap_or(&t);
        match t {
            "1.2" => Some(TlsVersion::V1_2),
            "1.3" => Some(TlsVersion::V1_3),
            _ => None,
        }
    }
    /// `1.2` or `1.3`.
    pub fn number(self) -> &'static str {
        match self {
            TlsVersion::V1_2 => "1.2",
            TlsVersion::V1_3 => "1.3",
        }
    }
    fn rustls(self) -> &'static rustls::SupportedProtocolVersion {
        match self {
            TlsVersion::V1_2 => &rustls::version::TLS12,
            TlsVersion::V1_3 => &rustls::version::TLS13,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLS {}", self.number())
    }
}

impl TlsOptions {
    /// The versions allowed, oldest first; an error when `--tls-min` is
    /// newer than `--tls-max`.
    pub fn versions(&self) -> Result<Vec<TlsVersion>, TlsError> {
        let min = self.min_version.unwrap_or(TlsVersion::V1_2);
        let max = self.max_version.unwrap_or(TlsVersion::V1_3);
        if min > max {
            return Err(config_error(format!(
                "--tls-min {} is newer than --tls-max {}: no TLS version is left",
                min.number(),
                max.number()
            )));
        }
        Ok([TlsVersion::V1_2, TlsVersion::V1_3]
            .into_iter()
            .filter(|v| (min..=max).contains(v))
            .collect())
    }

    /// For error messages: the options that limit the versions, as typed
    /// (`--tls-max 1.2`), and the version they leave (`TLS 1.2`); `None`
    /// when both versions are allowed.
    pub fn version_limits(&self) -> Option<(String, String)> {
        let mut parts = Vec::new();
        if let Some(v) = self.min_version.filter(|v| *v != TlsVersion::V1_2) {
            parts.push(format!("--tls-min {}", v.number()));
        }
        if let Some(v) = self.max_version.filter(|v| *v != TlsVersion::V1_3) {
            parts.push(format!("--tls-max {}", v.number()));
        }
        let left: Vec<String> = self
            .versions()
            .ok()?
            .iter()
            .map(ToString::to_string)
            .collect();
        (!parts.is_empty()).then(|| (parts.join(" "), left.join(" and ")))
    }
}

/// A CA certificate trusted besides the main store, with the name `status`
/// gives it when it verified the server.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtraRoot {
    /// Says where the CA comes from, e.g. "the sandbox's own CA, trusted
    /// by this smtpsh process only".
    pub label: String,
    /// The CA certificate, DER.
    pub der: Vec<u8>,
}

impl fmt::Debug for ExtraRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtraRoot")
            .field("label", &self.label)
            .field("der", &format_args!("{} bytes", self.der.len()))
            .finish()
    }
}

/// Where trust comes from: for a [`TlsClient`], its main store; for a
/// finished handshake ([`TlsInfo::trust`](super::TlsInfo::trust)), the
/// trust anchors that actually verified the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The system's root certificates (how many).
    System(usize),
    /// The compiled-in Mozilla root set (the system has none).
    Mozilla,
    /// The CA certificates in a PEM file (`--cafile`).
    CaFile(PathBuf),
    /// An [`ExtraRoot`], by its label.
    Extra(String),
    /// No anchor verified the chain, but the server's key matched this
    /// pin (`--pin`).
    Pinned(Pin),
    /// Nothing is verified (`--insecure`).
    Insecure,
}

impl fmt::Display for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trust::System(n) => write!(f, "the system's {n} root certificates"),
            Trust::Mozilla => f.write_str("the compiled-in Mozilla root certificates"),
            Trust::CaFile(p) => write!(f, "the CA in {}", p.display()),
            Trust::Extra(label) => f.write_str(label),
            Trust::Pinned(pin) => write!(
                f,
                "the pinned public key only (--pin {pin}; the chain itself does not verify)"
            ),
            Trust::Insecure => f.write_str("nothing (--insecure: the certificate is not checked)"),
        }
    }
}

/// A ready client configuration. Cheap to clone; every handshake gets its
/// own rustls configuration so that it can tell which trust anchors
/// verified the server.
#[derive(Debug, Clone)]
pub struct TlsClient {
    provider: Arc<CryptoProvider>,
    anchors: Arc<Anchors>,
    client_key: Option<Arc<rustls::sign::CertifiedKey>>,
    /// What was asked for (client certificate, names, versions, pins).
    pub(super) options: Arc<TlsOptions>,
}

/// The ring provider, built explicitly (no process-wide default).
pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// The system's roots, or the Mozilla set when the system has none; loaded once.
fn default_roots() -> &'static (Arc<RootCertStore>, Trust) {
    static ROOTS: OnceLock<(Arc<RootCertStore>, Trust)> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (added, _unparsable) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            let mut store = RootCertStore::empty();
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            (Arc::new(store), Trust::Mozilla)
        } else {
            (Arc::new(store), Trust::System(added))
        }
    })
}

fn config_error(message: String) -> TlsError {
    TlsError::new(TlsErrorKind::Config, message)
}

/// Reads the CA certificates of a PEM file.
fn load_cafile(path: &Path) -> Result<RootCertStore, TlsError> {
    let unreadable = |e: rustls::pki_types::pem::Error| {
        config_error(format!("cannot read the CA file {}: {e}", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(unreadable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    if certs.is_empty() {
        return Err(config_error(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    let mut store = RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        store.add(cert).map_err(|e| {
            config_error(format!(
                "certificate {} in {} cannot be used as a trusted CA: {e}",
                i + 1,
                path.display()
            ))
        })?;
    }
    Ok(store)
}

/// A webpki verifier (no revocation checks, as `with_root_certificates`)
/// trusting only `roots`.
fn webpki(
    roots: Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|e| config_error(format!("TLS setup failed: {e}")))
}

/// One verifier per extra root, so that each can be named.
fn extra_verifiers(
    roots: &[ExtraRoot],
    provider: &Arc<CryptoProvider>,
) -> Result<Vec<(Trust, Arc<WebPkiServerVerifier>)>, TlsError> {
    roots
        .iter()
        .map(|root| {
            let mut store = RootCertStore::empty();
            store
                .add(CertificateDer::from(root.der.clone()))
                .map_err(|e| {
                    config_error(format!(
                        "{} cannot be used as a trusted CA: {e}",
                        printable(root.label.as_bytes(), 80)
                    ))
                })?;
            Ok((
                Trust::Extra(root.label.clone()),
                webpki(Arc::new(store), provider)?,
            ))
        })
        .collect()
}

impl TlsClient {
    /// Checks the options and loads the trust anchors: the extra roots
    /// (tried first), then `--cafile` or the system's roots (else the
    /// Mozilla set); with `insecure`, none.
    pub fn new(options: &TlsOptions) -> Result<TlsClient, TlsError> {
        let provider = provider();
        let anchors = if options.insecure {
            Anchors::Insecure
        } else {
            let (store, trust) = match &options.cafile {
                Some(path) => (Arc::new(load_cafile(path)?), Trust::CaFile(path.clone())),
                None => default_roots().clone(),
            };
            Anchors::Verify {
                extra: extra_verifiers(&options.extra_roots, &provider)?,
                main: (trust, webpki(store, &provider)?),
            }
        };
        options.versions()?;
        if let Some(name) = &options.servername {
            server_name(name)?;
        }
        let client_key = match &options.client_cert {
            Some(files) => Some(client_cert::load(files, &provider)?),
            None => None,
        };
        let client = TlsClient {
            provider,
            anchors: Arc::new(anchors),
            client_key,
            options: Arc::new(TlsOptions {
                extra_roots: Vec::new(),
                ..options.clone()
            }),
        };
        // Fails here, not at the first handshake, if the setup is unusable.
        client.config(&Outcome::default())?;
        Ok(client)
    }

    /// The main trust store (extra roots aside).
    pub(super) fn trust(&self) -> &Trust {
        self.anchors.main_trust()
    }

    /// Whether certificates are verified (not `--insecure`).
    #[cfg(test)]
    pub(super) fn verifies(&self) -> bool {
        !matches!(*self.anchors, Anchors::Insecure)
    }

    /// A rustls configuration (TLS 1.2 and 1.3 unless limited, ring)
    /// whose verifier writes to `outcome` which trust anchors verified the
    /// server, and whose client certificate resolver notes a request.
    fn config(&self, outcome: &Outcome) -> Result<Arc<ClientConfig>, TlsError> {
        let verifier = Verifier::new(
            self.anchors.clone(),
            self.provider.clone(),
            self.options.pins.clone(),
            outcome.clone(),
        );
        let versions: Vec<_> = self
            .options
            .versions()?
            .into_iter()
            .map(TlsVersion::rustls)
            .collect();
        let resolver = ClientAuth {
            key: self.client_key.clone(),
            outcome: outcome.clone(),
        };
        let mut config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| config_error(format!("TLS setup failed: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_cert_resolver(Arc::new(resolver));
        config.enable_sni = !self.options.no_sni;
        // Every handshake checks the certificate in full (a resumed session
        // would skip the verifier, and with it the record of who vouched).
        config.resumption = Resumption::disabled();
        Ok(Arc::new(config))
    }

    /// The name the certificate is checked against for a connection to
    /// `host`: `--servername`, else the host.
    pub fn name_for<'a>(&'a self, host: &'a str) -> &'a str {
        self.options.servername.as_deref().unwrap_or(host)
    }

    /// Whether a client certificate is configured.
    pub fn has_client_cert(&self) -> bool {
        self.client_key.is_some()
    }

    /// A client connection to `name`, and where its verifier will record
    /// the trust anchors that vouched for the server.
    pub(super) fn connection(
        &self,
        name: ServerName<'static>,
    ) -> Result<(ClientConnection, Outcome), TlsError> {
        let outcome = Outcome::default();
        let conn = ClientConnection::new(self.config(&outcome)?, name)
            .map_err(|e| config_error(e.to_string()))?;
        Ok((conn, outcome))
    }
}

/// The name to verify the certificate against (and to send as SNI):
/// brackets and a trailing dot removed; IP addresses stay addresses.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let name = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let name = name.strip_suffix('.').unwrap_or(name);
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(name.to_string()).map_err(|_| {
        config_error(format!(
            "\"{}\" is not a host name a certificate can be checked against",
            printable(name.as_bytes(), 60)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names() {
        assert!(matches!(server_name("::1"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(server_name("[::1]"), Ok(ServerName::IpAddress(_))));
        assert!(matches!(
            server_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("mail.example.org."),
            Ok(ServerName::DnsName(_))
        ));
        assert!(server_name("bad name").is_err());
    }

    #[test]
    fn trust_is_named_for_status() {
        assert_eq!(
            Trust::Extra("the sandbox's own CA".into()).to_string(),
            "the sandbox's own CA"
        );
        assert_eq!(
            Trust::CaFile(PathBuf::from("/tmp/ca.pem")).to_string(),
            "the CA in /tmp/ca.pem"
        );
        assert_eq!(
            Trust::System(145).to_string(),
            "the system's 145 root certificates"
        );
        assert!(Trust::Insecure.to_string().contains("--insecure"));
    }

    #[test]
    fn an_unusable_extra_root_is_a_setup_error() {
        let e = TlsClient::new(&TlsOptions {
            extra_roots: vec![ExtraRoot {
                label: "a broken CA".into(),
                der: vec![0x30, 0x03, 0x02, 0x01, 0x00],
            }],
            ..TlsOptions::default()
        })
        .unwrap_err();
        assert_eq!(e.kind, TlsErrorKind::Config);
        assert!(e.to_string().contains("a broken CA"), "{e}");
        // Not consulted at all with --insecure.
        let client = TlsClient::new(&TlsOptions {
            insecure: true,
            extra_roots: vec![ExtraRoot {
                label: "a broken CA".into(),
                der: Vec::new(),
            }],
            ..TlsOptions::default()
        })
        .unwrap();
        assert!(!client.verifies());
        assert_eq!(client.trust(), &Trust::Insecure);
    }
}
