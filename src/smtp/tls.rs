//! TLS for SMTP with rustls (the `ring` provider): client configuration
//! (system roots, else the compiled-in Mozilla set; `--cafile`;
//! `--insecure`), a [`TlsStream`] that a [`Connection`](super::Connection)
//! runs over, the handshake with timeouts and Ctrl-C, a one-line
//! explanation for every way a handshake fails, and a summary of the
//! server's certificate for `status`.
//!
//! Server names: a host name is checked against the certificate's DNS
//! names and sent as SNI; an IP address is checked against its IP
//! addresses and no SNI is sent (RFC 6066 §3 forbids literal addresses).

use super::conn::{ConnError, Stream};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    AlertDescription, CertificateError, ClientConfig, ClientConnection, DigitallySignedStruct,
    ProtocolVersion, RootCertStore, SignatureScheme,
};
use std::fmt;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Longest single blocking wait during the handshake.
const SLICE: Duration = Duration::from_millis(100);
/// How many of the server's first bytes are kept to explain a failure.
const KEEP_START: usize = 80;

/// What the user asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Trust only the CA certificates in this PEM file (instead of the
    /// system's roots).
    pub cafile: Option<PathBuf>,
    /// Accept any certificate (still shown in `status`, never verified).
    pub insecure: bool,
    /// More CA certificates (DER) trusted in addition to the others: the
    /// built-in sandbox's own CA, which only vouches for loopback names.
    pub extra_roots: Vec<Vec<u8>>,
}

/// Where trust comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The system's root certificates (how many).
    System(usize),
    /// The compiled-in Mozilla root set (the system has none).
    Mozilla,
    /// The CA certificates in a PEM file.
    CaFile(PathBuf),
    /// Nothing is verified (`--insecure`).
    Insecure,
}

impl fmt::Display for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trust::System(n) => write!(f, "the system's {n} root certificates"),
            Trust::Mozilla => f.write_str("the compiled-in Mozilla root certificates"),
            Trust::CaFile(p) => write!(f, "the CA in {}", p.display()),
            Trust::Insecure => f.write_str("nothing (--insecure: the certificate is not checked)"),
        }
    }
}

/// Whether TLS starts at once or after STARTTLS (for error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Implicit TLS (RFC 8314, port 465): TLS from the first byte.
    Implicit,
    /// After the server's 220 to STARTTLS (RFC 3207).
    StartTls,
}

/// A ready client configuration.
#[derive(Debug, Clone)]
pub struct TlsClient {
    config: Arc<ClientConfig>,
    trust: Trust,
}

/// The ring provider, built explicitly (no process-wide default).
fn provider() -> Arc<CryptoProvider> {
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

/// Reads the CA certificates of a PEM file.
/// Adds DER certificates to `store`, skipping any that do not parse.
fn add_extra_roots(store: &mut RootCertStore, roots: &[Vec<u8>]) {
    for der in roots {
        let _ = store.add(CertificateDer::from(der.clone()));
    }
}

fn load_cafile(path: &Path) -> Result<RootCertStore, TlsError> {
    let config = |msg: String| TlsError::new(TlsErrorKind::Config, msg);
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| config(format!("cannot read the CA file {}: {e}", path.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config(format!("cannot read the CA file {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(config(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    let mut store = RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        store.add(cert).map_err(|e| {
            config(format!(
                "certificate {} in {} cannot be used as a trusted CA: {e}",
                i + 1,
                path.display()
            ))
        })?;
    }
    Ok(store)
}

impl TlsClient {
    /// Builds the configuration: TLS 1.2 and 1.3 only, ring provider.
    pub fn new(options: &TlsOptions) -> Result<TlsClient, TlsError> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::new(TlsErrorKind::Config, format!("TLS setup failed: {e}")))?;
        let (config, trust) = if options.insecure {
            let config = builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                .with_no_client_auth();
            (config, Trust::Insecure)
        } else if let Some(path) = &options.cafile {
            let mut store = load_cafile(path)?;
            add_extra_roots(&mut store, &options.extra_roots);
            let config = builder.with_root_certificates(store).with_no_client_auth();
            (config, Trust::CaFile(path.clone()))
        } else {
            let (store, trust) = default_roots();
            let store = if options.extra_roots.is_empty() {
                store.clone()
            } else {
                let mut own = RootCertStore::clone(store);
                add_extra_roots(&mut own, &options.extra_roots);
                Arc::new(own)
            };
            let config = builder.with_root_certificates(store).with_no_client_auth();
            (config, trust.clone())
        };
        Ok(TlsClient {
            config: Arc::new(config),
            trust,
        })
    }
    /// Where trust comes from.
    pub fn trust(&self) -> &Trust {
        &self.trust
    }
    /// Whether certificates are verified (not `--insecure`).
    pub fn verifies(&self) -> bool {
        self.trust != Trust::Insecure
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
        TlsError::new(
            TlsErrorKind::Config,
            format!(
                "\"{}\" is not a host name a certificate can be checked against",
                printable(name.as_bytes(), 60)
            ),
        )
    })
}

/// `--insecure`: accepts every certificate, but still checks that the
/// server holds the key of the certificate it presents (so `status` shows
/// a real certificate).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

// ---------------------------------------------------------------- errors

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
    /// Local setup: unreadable CA file, unusable host name.
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
    fn new(kind: TlsErrorKind, message: impl Into<String>) -> TlsError {
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

/// Bytes as text for a message: the first line, control characters and
/// non-UTF-8 escaped, at most `max` characters.
fn printable(bytes: &[u8], max: usize) -> String {
    let line = bytes
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let text = String::from_utf8_lossy(line);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i >= max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `start` could begin a TLS record (content type 20-24, version 3.x).
fn looks_like_tls(start: &[u8]) -> bool {
    match start {
        [] => true,
        [t] => (20..=24).contains(t),
        [t, v, ..] => (20..=24).contains(t) && *v == 3,
    }
}

/// Turns a failed handshake into one clear line. `start` holds the first
/// bytes the server sent during the handshake; `host` the name checked.
pub fn classify(error: &io::Error, start: &[u8], phase: Phase, host: &str) -> TlsError {
    use TlsErrorKind as K;
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
            | io::ErrorKind::BrokenPipe => TlsError::new(K::Closed, closed),
            _ => TlsError::new(K::Other, format!("the TLS handshake failed: {error}")),
        };
    };
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
                    " — it does not know the host name sent in SNI; connect with the name it expects"
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
        other => TlsError::new(K::Other, format!("the TLS handshake failed: {other}")),
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
             Trust that CA with --cafile PATH",
        ),
        CertificateError::ExpiredContext { not_after, .. } => TlsError::new(
            K::Expired,
            format!(
                "the server's certificate has expired (valid until {}); its owner must renew it",
                format_unix(not_after.as_secs())
            ),
        ),
        CertificateError::Expired => {
            TlsError::new(K::Expired, "the server's certificate has expired")
        }
        CertificateError::NotValidYetContext { not_before, .. } => TlsError::new(
            K::NotValidYet,
            format!(
                "the server's certificate is not valid yet (valid from {}); check this computer's clock",
                format_unix(not_before.as_secs())
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
                    "the server's certificate does not match the name \"{}\" (name mismatch): it is for {list} — connect using one of those names",
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
            format!("the server's certificate was rejected: {other}"),
        ),
    }
}

/// Seconds since 1970 as `2026-05-01 12:00:00 UTC`.
pub fn format_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------- stream

/// The plain stream under TLS, keeping the first bytes read (to explain a
/// handshake that meets plaintext).
struct Recorder {
    inner: Box<dyn Stream>,
    start: Vec<u8>,
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.start.len() < KEEP_START {
            let keep = (KEEP_START - self.start.len()).min(n);
            self.start.extend_from_slice(&buf[..keep]);
        }
        Ok(n)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A TLS client stream over any [`Stream`]. `write` accepts bytes only
/// after earlier ones are on the wire, so a timeout never strands data;
/// `flush` pushes out the rest (either may report a socket timeout, which
/// the connection retries).
pub struct TlsStream {
    conn: ClientConnection,
    sock: Recorder,
}

fn is_slice(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

impl TlsStream {
    /// Runs the handshake over `inner` (nothing else must have been read
    /// from it that belongs to TLS). Honours `timeout` (per step of
    /// progress) and `interrupt`. On failure the stream is dropped (closed).
    pub fn handshake(
        inner: Box<dyn Stream>,
        client: &TlsClient,
        host: &str,
        phase: Phase,
        timeout: Duration,
        interrupt: &AtomicBool,
    ) -> Result<(TlsStream, TlsInfo), ConnError> {
        let name = server_name(host).map_err(ConnError::Tls)?;
        let conn = ClientConnection::new(client.config.clone(), name)
            .map_err(|e| ConnError::Tls(TlsError::new(TlsErrorKind::Config, e.to_string())))?;
        let mut tls = TlsStream {
            conn,
            sock: Recorder {
                inner,
                start: Vec::new(),
            },
        };
        let timeout = timeout.max(Duration::from_millis(1));
        let mut deadline = Instant::now() + timeout;
        while tls.conn.is_handshaking() {
            if interrupt.load(Ordering::SeqCst) {
                let _ = tls.sock.inner.shutdown();
                return Err(ConnError::Interrupted);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let _ = tls.sock.inner.shutdown();
                return Err(ConnError::Timeout {
                    waiting_for: "the TLS handshake".into(),
                    after: timeout,
                });
            }
            let slice = left.clamp(Duration::from_millis(1), SLICE);
            let timeouts = tls
                .sock
                .inner
                .set_read_timeout(Some(slice))
                .and_then(|()| tls.sock.inner.set_write_timeout(Some(slice)));
            if let Err(e) = timeouts {
                return Err(ConnError::Io(e));
            }
            match tls.conn.complete_io(&mut tls.sock) {
                Ok((read, written)) => {
                    if read + written > 0 {
                        deadline = Instant::now() + timeout;
                    }
                }
                Err(e) if is_slice(&e) => {}
                Err(e) => {
                    let _ = tls.sock.inner.shutdown();
                    return Err(ConnError::Tls(classify(&e, &tls.sock.start, phase, host)));
                }
            }
        }
        let info = tls.info(client);
        Ok((tls, info))
    }

    /// What was negotiated.
    fn info(&self, client: &TlsClient) -> TlsInfo {
        let version = match self.conn.protocol_version() {
            Some(ProtocolVersion::TLSv1_3) => "TLS 1.3".to_string(),
            Some(ProtocolVersion::TLSv1_2) => "TLS 1.2".to_string(),
            Some(other) => format!("{other:?}"),
            None => "unknown".to_string(),
        };
        let cipher = self
            .conn
            .negotiated_cipher_suite()
            .map_or_else(|| "unknown".to_string(), |s| format!("{:?}", s.suite()));
        let chain = self.conn.peer_certificates().unwrap_or_default();
        TlsInfo {
            version,
            cipher,
            certificate: chain.first().and_then(|c| summarize_certificate(c)),
            chain_length: chain.len(),
            verified: client.verifies(),
            trust: client.trust().to_string(),
            discarded: 0,
        }
    }

    /// Writes out every TLS record waiting to go.
    fn push_out(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.sock)? == 0 {
                return Err(io::Error::from(io::ErrorKind::WriteZero));
            }
        }
        Ok(())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // Anything still queued (a command, a key update) goes first.
            self.push_out()?;
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            self.conn.read_tls(&mut self.sock)?;
            if let Err(e) = self.conn.process_new_packets() {
                // Send the alert that explains it, if we can.
                let _ = self.conn.write_tls(&mut self.sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Earlier records first: until they are out, accept nothing new.
        self.push_out()?;
        let n = self.conn.writer().write(buf)?;
        match self.push_out() {
            Ok(()) => Ok(n),
            // Accepted; the rest goes out with the next write, read or flush.
            Err(e) if is_slice(&e) => Ok(n),
            Err(e) => Err(e),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.push_out()?;
        self.sock.flush()
    }
}

impl Stream for TlsStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.inner.set_read_timeout(timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.sock.inner.set_write_timeout(timeout)
    }
    fn shutdown(&self) -> io::Result<()> {
        self.sock.inner.shutdown()
    }
    fn close_notify(&mut self) {
        // RFC 8314 §3.4: close_notify before closing TCP (best effort, briefly).
        self.conn.send_close_notify();
        let _ = self
            .sock
            .inner
            .set_write_timeout(Some(Duration::from_millis(500)));
        let _ = self.push_out();
    }
}

// ---------------------------------------------------------------- info

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
    /// Whether the certificate was verified (false with `--insecure`).
    pub verified: bool,
    /// Where trust came from, for `status`.
    pub trust: String,
    /// Bytes the server sent after its 220 to STARTTLS, discarded unread.
    pub discarded: usize,
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
    /// DNS names and IP addresses from subjectAltName.
    pub names: Vec<String>,
}

/// One DER element: (tag, contents, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// An attribute value (DirectoryString and friends) as display text.
fn der_string(tag: u8, value: &[u8]) -> String {
    let text = match tag {
        // BMPString: UTF-16 big-endian.
        0x1e => {
            let units: Vec<u16> = value
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        _ => String::from_utf8_lossy(value).into_owned(),
    };
    printable(text.as_bytes(), 200)
}

fn oid_name(oid: &[u8]) -> String {
    match oid {
        [0x55, 0x04, 0x03] => "CN".into(),
        [0x55, 0x04, 0x06] => "C".into(),
        [0x55, 0x04, 0x07] => "L".into(),
        [0x55, 0x04, 0x08] => "ST".into(),
        [0x55, 0x04, 0x0a] => "O".into(),
        [0x55, 0x04, 0x0b] => "OU".into(),
        [0x55, 0x04, 0x05] => "serialNumber".into(),
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "emailAddress".into(),
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC".into(),
        other => {
            let hex: String = other.iter().map(|b| format!("{b:02x}")).collect();
            format!("OID:{hex}")
        }
    }
}

/// A Name as `CN=..., O=...`.
fn der_name(mut name: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !name.is_empty() {
        let (_, mut set, rest) = der(name)?;
        name = rest;
        while !set.is_empty() {
            let (_, atv, rest) = der(set)?;
            set = rest;
            let (_, oid, atv_rest) = der(atv)?;
            let (tag, value, _) = der(atv_rest)?;
            parts.push(format!("{}={}", oid_name(oid), der_string(tag, value)));
        }
    }
    Some(if parts.is_empty() {
        "(empty)".to_string()
    } else {
        parts.join(", ")
    })
}

/// UTCTime / GeneralizedTime as `YYYY-MM-DD HH:MM:SS UTC`.
fn der_time(tag: u8, value: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(value).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (year, rest) = match tag {
        0x17 if digits.len() >= 10 => {
            let yy: u32 = digits[..2].parse().ok()?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, &digits[2..])
        }
        0x18 if digits.len() >= 12 => (digits[..4].parse().ok()?, &digits[4..]),
        _ => return None,
    };
    let field = |i: usize| rest.get(i..i + 2).unwrap_or("00");
    Some(format!(
        "{year:04}-{}-{} {}:{}:{} UTC",
        field(0),
        field(2),
        field(4),
        field(6),
        field(8)
    ))
}

/// subjectAltName DNS names and IP addresses.
fn der_san(mut names: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    while let Some((tag, value, rest)) = der(names) {
        names = rest;
        match (tag, value.len()) {
            (0x82, _) => out.push(printable(value, 200)),
            (0x87, 4) => out
                .push(std::net::Ipv4Addr::new(value[0], value[1], value[2], value[3]).to_string()),
            (0x87, 16) => {
                let mut octets = [0u8; 16];
                octets.copy_from_slice(value);
                out.push(std::net::Ipv6Addr::from(octets).to_string());
            }
            _ => {}
        }
    }
    out
}

/// Reads subject, issuer, validity and names from a DER certificate.
pub fn summarize_certificate(cert: &[u8]) -> Option<CertSummary> {
    let (_, certificate, _) = der(cert)?;
    let (_, mut tbs, _) = der(certificate)?;
    let (tag, _, rest) = der(tbs)?;
    if tag == 0xa0 {
        tbs = rest; // explicit version
    }
    let (_, _serial, rest) = der(tbs)?;
    let (_, _algorithm, rest) = der(rest)?;
    let (_, issuer, rest) = der(rest)?;
    let (_, validity, rest) = der(rest)?;
    let (_, subject, mut rest) = der(rest)?;
    let (t1, v1, after) = der(validity)?;
    let (t2, v2, _) = der(after)?;
    let mut names = Vec::new();
    // subjectPublicKeyInfo, then optional [1] [2] unique ids, [3] extensions.
    while let Some((tag, value, next)) = der(rest) {
        rest = next;
        if tag != 0xa3 {
            continue;
        }
        let Some((_, mut exts, _)) = der(value) else {
            break;
        };
        while let Some((_, ext, next)) = der(exts) {
            exts = next;
            let Some((_, oid, mut fields)) = der(ext) else {
                continue;
            };
            if oid != [0x55, 0x1d, 0x11] {
                continue;
            }
            while let Some((tag, value, next)) = der(fields) {
                fields = next;
                if tag == 0x04
                    && let Some((_, seq, _)) = der(value)
                {
                    names = der_san(seq);
                }
            }
        }
    }
    Some(CertSummary {
        subject: der_name(subject)?,
        issuer: der_name(issuer)?,
        not_before: der_time(t1, v1)?,
        not_after: der_time(t2, v2)?,
        names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::command::Command;
    use crate::smtp::conn::{ConnectOptions, Connection, Event, Observer};
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ServerConfig, ServerConnection};
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::thread;

    struct Pki {
        ca_pem: String,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    }

    fn ca() -> (CertificateParams, KeyPair, String) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, "smtpsh test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        (params, key, cert.pem())
    }

    fn pki_with(names: &[&str], expired: bool) -> Pki {
        let (ca_params, ca_key, ca_pem) = ca();
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Test Ö");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let issuer = Issuer::new(ca_params, ca_key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        Pki {
            ca_pem,
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }

    fn server_config(pki: &Pki) -> Arc<ServerConfig> {
        Arc::new(
            ServerConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(pki.chain.clone(), pki.key.clone_key())
                .unwrap(),
        )
    }

    fn cafile(pki: &Pki) -> (tempfile::TempDir, TlsClient) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, &pki.ca_pem).unwrap();
        let client = TlsClient::new(&TlsOptions {
            cafile: Some(path),
            insecure: false,
            ..TlsOptions::default()
        })
        .unwrap();
        (dir, client)
    }

    /// A server that greets inside TLS, answers one command, and returns
    /// whatever line it received (or the handshake error).
    fn implicit_server(
        config: Arc<ServerConfig>,
    ) -> (u16, thread::JoinHandle<Result<String, String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = thread::spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let conn = ServerConnection::new(config).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            tls.write_all(b"220 tls.example ESMTP\r\n")
                .map_err(|e| e.to_string())?;
            let mut reader = BufReader::new(tls);
            let mut line = String::new();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            reader
                .get_mut()
                .write_all(b"250 ok\r\n")
                .map_err(|e| e.to_string())?;
            Ok(line)
        });
        (port, handle)
    }

    fn opts() -> ConnectOptions {
        ConnectOptions {
            timeout: Some(Duration::from_secs(10)),
            interrupt: Arc::new(AtomicBool::new(false)),
        }
    }

    #[derive(Default)]
    struct Log(Vec<String>);

    impl Observer for Log {
        fn event(&mut self, event: Event<'_>) {
            self.0.push(match event {
                Event::Sent { line, secure } => {
                    format!("C{}: {line}", if secure { "~" } else { "" })
                }
                Event::Received { reply, secure } => format!(
                    "S{}: {}",
                    if secure { "~" } else { "" },
                    reply.wire_lines().join(" | ")
                ),
                Event::DataSent { bytes, .. } => format!("DATA {bytes}"),
                Event::Notice(n) => format!("NOTE: {n}"),
            });
        }
    }

    fn open_tls(host: &str, port: u16, client: &TlsClient) -> Result<(Connection, Log), ConnError> {
        let mut log = Log::default();
        let (conn, greeting) = Connection::open_tls(host, port, opts(), client, &mut log)?;
        assert_eq!(greeting.code, 220);
        Ok((conn, log))
    }

    #[test]
    fn implicit_tls_with_a_private_ca() {
        let pki = pki_with(&["localhost", "127.0.0.1", "::1"], false);
        let (_dir, client) = cafile(&pki);
        for host in ["localhost", "127.0.0.1"] {
            let (port, server) = implicit_server(server_config(&pki));
            let (mut conn, mut log) = open_tls(host, port, &client).expect(host);
            assert!(conn.is_secure());
            let reply = conn.command(&Command::noop(), &mut log).unwrap();
            assert_eq!(reply.code, 250);
            assert_eq!(
                log.0,
                vec!["S~: 220 tls.example ESMTP", "C~: NOOP", "S~: 250 ok"]
            );
            let info = conn.tls_info().expect("tls info").clone();
            assert!(info.version.starts_with("TLS 1."), "{info:?}");
            assert!(info.cipher.starts_with("TLS"), "{info:?}");
            assert!(info.verified);
            let cert = info.certificate.expect("certificate");
            assert_eq!(cert.subject, "CN=localhost, O=Test Ö");
            assert_eq!(cert.issuer, "CN=smtpsh test CA");
            assert_eq!(cert.names, vec!["localhost", "127.0.0.1", "::1"]);
            assert!(cert.not_before.starts_with("1975-01-01"), "{cert:?}");
            assert!(cert.not_after.starts_with("4096-01-01"), "{cert:?}");
            conn.close();
            assert_eq!(server.join().unwrap().unwrap(), "NOOP\r\n");
        }
    }

    fn failure(host: &str, pki: &Pki, client: &TlsClient) -> TlsError {
        let (port, server) = implicit_server(server_config(pki));
        let err = open_tls(host, port, client).err().expect("must fail");
        let _ = server.join();
        match err {
            ConnError::Tls(e) => {
                assert!(!e.to_string().contains('\n'));
                e
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_issuer_expired_and_name_mismatch() {
        let pki = pki_with(&["localhost", "127.0.0.1"], false);
        let system = TlsClient::new(&TlsOptions::default()).unwrap();
        let e = failure("localhost", &pki, &system);
        assert_eq!(e.kind, TlsErrorKind::UnknownIssuer, "{e}");
        assert!(e.to_string().contains("unknown issuer"), "{e}");
        assert!(e.to_string().contains("--cafile"), "{e}");

        let expired = pki_with(&["localhost"], true);
        let (_d1, client) = cafile(&expired);
        let e = failure("localhost", &expired, &client);
        assert_eq!(e.kind, TlsErrorKind::Expired, "{e}");
        assert!(e.to_string().contains("expired"), "{e}");
        assert!(e.to_string().contains("2021-01-01 00:00:00 UTC"), "{e}");

        let other = pki_with(&["mail.example.test"], false);
        let (_d2, client) = cafile(&other);
        let e = failure("localhost", &other, &client);
        assert_eq!(e.kind, TlsErrorKind::NameMismatch, "{e}");
        assert!(e.to_string().contains("\"localhost\""), "{e}");
        assert!(e.to_string().contains("mail.example.test"), "{e}");
        // An IP address is checked against the IP SANs.
        let e = failure("127.0.0.1", &other, &client);
        assert_eq!(e.kind, TlsErrorKind::NameMismatch, "{e}");
    }

    #[test]
    fn insecure_accepts_but_says_so() {
        let pki = pki_with(&["mail.example.test"], true);
        let client = TlsClient::new(&TlsOptions {
            cafile: None,
            insecure: true,
            ..TlsOptions::default()
        })
        .unwrap();
        assert!(!client.verifies());
        let (port, server) = implicit_server(server_config(&pki));
        let (mut conn, mut log) = open_tls("127.0.0.1", port, &client).expect("insecure");
        conn.command(&Command::noop(), &mut log).unwrap();
        let info = conn.tls_info().unwrap();
        assert!(!info.verified);
        assert!(info.trust.contains("--insecure"));
        assert_eq!(
            info.certificate.as_ref().map(|c| c.subject.as_str()),
            Some("CN=mail.example.test, O=Test Ö")
        );
        conn.close();
        server.join().unwrap().unwrap();
    }

    #[test]
    fn ca_certificate_as_server_certificate() {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        let pki = Pki {
            ca_pem: cert.pem(),
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        };
        let (_d, client) = cafile(&pki);
        let e = failure("localhost", &pki, &client);
        assert_eq!(e.kind, TlsErrorKind::CaAsServerCertificate, "{e}");
    }

    #[test]
    fn plaintext_server_on_a_tls_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"220 plain.example ESMTP Postfix\r\n").unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
        });
        let client = TlsClient::new(&TlsOptions::default()).unwrap();
        let err = open_tls("localhost", port, &client).err().expect("fails");
        server.join().unwrap();
        let ConnError::Tls(e) = err else {
            panic!("{err:?}")
        };
        assert_eq!(e.kind, TlsErrorKind::Plaintext, "{e}");
        assert!(
            e.to_string().contains("220 plain.example ESMTP Postfix"),
            "{e}"
        );
        assert!(e.to_string().contains("--starttls"), "{e}");
        assert!(e.to_string().contains("wrong version number"), "{e}");
    }

    #[test]
    fn server_closing_during_the_handshake() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 8];
            let _ = s.read(&mut buf);
        });
        let client = TlsClient::new(&TlsOptions::default()).unwrap();
        let err = open_tls("localhost", port, &client).err().expect("fails");
        server.join().unwrap();
        let ConnError::Tls(e) = err else {
            panic!("{err:?}")
        };
        assert_eq!(e.kind, TlsErrorKind::Closed, "{e}");
    }

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
    fn starttls_discards_injected_bytes() {
        let pki = pki_with(&["localhost", "127.0.0.1"], false);
        let (_d, client) = cafile(&pki);
        let config = server_config(&pki);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = thread::spawn(move || {
            let (mut tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            tcp.write_all(b"220 fake ESMTP\r\n").unwrap();
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while !line.ends_with(b"\r\n") {
                tcp.read_exact(&mut byte).unwrap();
                line.push(byte[0]);
            }
            assert_eq!(line, b"STARTTLS\r\n");
            // The 220 and an injected reply in one segment.
            tcp.write_all(b"220 ready\r\n250 injected\r\n").unwrap();
            let conn = ServerConnection::new(config).unwrap();
            let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
            let mut ehlo = String::new();
            tls.read_line(&mut ehlo).unwrap();
            tls.get_mut()
                .write_all(b"250-fake after tls\r\n250 AUTH PLAIN\r\n")
                .unwrap();
            ehlo
        });
        let mut log = Log::default();
        let (mut conn, _) = Connection::open("127.0.0.1", port, opts(), &mut log).unwrap();
        let reply = conn.command(&Command::starttls(), &mut log).unwrap();
        assert_eq!(reply.code, 220);
        let info = conn.starttls(&client, &mut log).expect("handshake");
        assert_eq!(info.discarded, b"250 injected\r\n".len());
        assert!(conn.is_secure());
        let ehlo = conn
            .command(&Command::ehlo("client.example").unwrap(), &mut log)
            .unwrap();
        assert_eq!(ehlo.lines, vec!["fake after tls", "AUTH PLAIN"]);
        assert_eq!(server.join().unwrap(), "EHLO client.example\r\n");
        assert!(
            !log.0
                .iter()
                .any(|l| l.contains("injected") && l.starts_with('S'))
        );
        assert!(
            log.0
                .iter()
                .any(|l| l.starts_with("NOTE:") && l.contains("discarded")),
            "{:?}",
            log.0
        );
    }

    #[test]
    fn cafile_errors_are_clear() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let e = TlsClient::new(&TlsOptions {
            cafile: Some(missing),
            insecure: false,
            ..TlsOptions::default()
        })
        .unwrap_err();
        assert_eq!(e.kind, TlsErrorKind::Config);
        assert!(e.to_string().contains("cannot read the CA file"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = TlsClient::new(&TlsOptions {
            cafile: Some(empty),
            insecure: false,
            ..TlsOptions::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
    }

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
    fn unix_times() {
        assert_eq!(format_unix(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_unix(1_609_459_200), "2021-01-01 00:00:00 UTC");
        assert_eq!(format_unix(951_782_400 + 3723), "2000-02-29 01:02:03 UTC");
    }

    #[test]
    fn garbage_certificates_do_not_panic() {
        assert_eq!(summarize_certificate(&[]), None);
        assert_eq!(
            summarize_certificate(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            None
        );
        assert_eq!(summarize_certificate(&[0x30, 0x03, 0x30, 0x01, 0x02]), None);
    }
}
