//! [`TlsStream`]: a rustls client connection over any [`Stream`], and the
//! handshake with timeouts and Ctrl-C.

use super::cert::{TlsInfo, summarize_certificate};
use super::config::{TlsClient, server_name};
use super::error::{Context, Phase, TlsErrorKind, classify_in, closed_after_certificate_request};
use super::pin::Pin;
use super::verify::Outcome;
use crate::smtp::conn::timeout::{SLICE, still_waiting};
use crate::smtp::conn::{ConnError, Stream};
use rustls::{ClientConnection, ProtocolVersion};
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How many of the server's first bytes are kept to explain a failure.
const KEEP_START: usize = 80;

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
            // `n` is at most `buf.len()` unless the stream misbehaves; then
            // nothing is kept.
            self.start
                .extend_from_slice(buf.get(..keep).unwrap_or_default());
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
    /// What an alert after the handshake is judged against (TLS 1.3
    /// servers refuse a client certificate after the client finished).
    context: Context,
    /// Whether any data came after the handshake (a close before it,
    /// after a certificate request, is about the client certificate).
    received: bool,
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
        let checked = client.name_for(host).to_string();
        let name = server_name(&checked).map_err(ConnError::Tls)?;
        let (conn, outcome) = client.connection(name).map_err(ConnError::Tls)?;
        let options = &client.options;
        let mut tls = TlsStream {
            conn,
            sock: Recorder {
                inner,
                start: Vec::new(),
            },
            context: Context {
                phase,
                host: checked,
                certificate_requested: false,
                client_cert: options.client_cert.as_ref().map(|c| c.cert.clone()),
                version_limits: options.version_limits(),
            },
            received: false,
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
                Err(e) if still_waiting(&e) => {}
                Err(e) => {
                    let _ = tls.sock.inner.shutdown();
                    tls.context.certificate_requested = outcome.certificate_requested();
                    return Err(ConnError::Tls(classify_in(
                        &e,
                        &tls.sock.start,
                        &tls.context,
                    )));
                }
            }
        }
        tls.context.certificate_requested = outcome.certificate_requested();
        let info = tls.info(client, &outcome);
        Ok((tls, info))
    }

    /// What was negotiated, and which trust anchors verified the server.
    fn info(&self, client: &TlsClient, outcome: &Outcome) -> TlsInfo {
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
        // Every full handshake runs the verifier (resumption is off); the
        // main store stands in should one ever complete without it.
        let trust = outcome.get().unwrap_or(client.trust()).clone();
        let name = self.context.host.clone();
        // rustls sends a DNS name as SNI unless told not to; never an address.
        let sni = match server_name(&name) {
            Ok(rustls::pki_types::ServerName::DnsName(_)) if !client.options.no_sni => {
                Some(name.trim_end_matches('.').to_string())
            }
            _ => None,
        };
        TlsInfo {
            version,
            cipher,
            certificate: chain.first().and_then(|c| summarize_certificate(c)),
            chain_length: chain.len(),
            chain: chain.iter().map(|c| c.to_vec()).collect(),
            pin: chain.first().and_then(|c| Pin::of_certificate(c)),
            pinned: outcome.pinned(),
            name,
            sni,
            client_cert_requested: outcome.certificate_requested(),
            client_cert_given: client.has_client_cert(),
            trust,
            discarded: 0,
        }
    }

    /// An error of rustls after the handshake as an I/O error: a refused
    /// client certificate carries its explanation ([`super::TlsError`]).
    fn after_handshake(&self, e: rustls::Error) -> io::Error {
        let wrapped = io::Error::new(io::ErrorKind::InvalidData, e);
        let judged = classify_in(&wrapped, &[], &self.context);
        match judged.kind {
            TlsErrorKind::ClientCertRequired | TlsErrorKind::ClientCertRefused => {
                io::Error::new(io::ErrorKind::InvalidData, judged)
            }
            _ => wrapped,
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
        let result = self.read_records(buf);
        let closed = match &result {
            Ok(n) => *n == 0 && !buf.is_empty(),
            Err(e) => matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
            ),
        };
        if closed && !self.received && self.context.certificate_requested {
            let judged = closed_after_certificate_request(&self.context);
            return Err(io::Error::new(io::ErrorKind::InvalidData, judged));
        }
        if matches!(result, Ok(n) if n > 0) {
            self.received = true;
        }
        result
    }
}

impl TlsStream {
    /// Reads decrypted bytes, reading and processing records as needed.
    fn read_records(&mut self, buf: &mut [u8]) -> io::Result<usize> {
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
                return Err(self.after_handshake(e));
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
            Err(e) if still_waiting(&e) => Ok(n),
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
    fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.sock.inner.poll_fd()
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
