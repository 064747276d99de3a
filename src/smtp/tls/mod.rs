//! TLS for SMTP with rustls (the `ring` provider): client configuration
//! (system roots, else the compiled-in Mozilla set; `--cafile`;
//! `--insecure`; named extra roots such as the sandbox's own CA), a
//! [`TlsStream`] that a [`Connection`](super::Connection) runs over, the
//! handshake with timeouts and Ctrl-C, a one-line explanation for every way
//! a handshake fails, and a summary of the server's certificate for
//! `status`, including the trust anchors that actually verified it.
//!
//! Server names: a host name is checked against the certificate's DNS
//! names and sent as SNI; an IP address is checked against its IP
//! addresses and no SNI is sent (RFC 6066 §3 forbids literal addresses).
//!
//! - `config`: [`TlsOptions`], [`TlsVersion`], [`ExtraRoot`], [`Trust`],
//!   [`TlsClient`], [`server_name`].
//! - `verify`: the certificate verifier that tries the extra roots, then
//!   the main trust store, and records which one vouched for the server.
//! - `stream`: [`TlsStream`] and the handshake.
//! - `error`: [`TlsError`], [`TlsErrorKind`], [`Phase`], [`classify`].
//! - `cert`: [`TlsInfo`], [`CertSummary`] (read with `x509-parser`).
//! - `client_cert`: [`ClientCert`], read from PEM and offered when asked.
//! - `pin`: [`Pin`], the SHA-256 of a public key (`--pin`).
//!
//! Names: `--servername` replaces the host as the name checked and sent
//! as SNI; `--no-sni` sends none. Versions: `--tls-min`/`--tls-max`.

mod cert;
mod client_cert;
mod config;
mod error;
mod pin;
mod stream;
mod verify;

#[cfg(test)]
mod tests;

pub use cert::{CertSummary, TlsInfo, summarize_certificate};
pub use client_cert::ClientCert;
pub use config::{ExtraRoot, TlsClient, TlsOptions, TlsVersion, Trust, server_name};
pub use error::{Context, Phase, TlsError, TlsErrorKind, classify, classify_in};
pub use pin::Pin;
pub use stream::TlsStream;
