//! Test PKI and a scripted fake SMTP server that can switch to TLS, for the
//! TLS and AUTH tests.
//!
//! The PKI is made with rcgen at test start: a CA (CA:TRUE, keyCertSign)
//! and a server certificate signed by it (CA:FALSE, EKU serverAuth, SAN
//! `localhost`, `127.0.0.1`, `::1`) — rustls refuses a lone self-signed CA
//! certificate as a server certificate. PEM files land in a temp dir, for
//! servers that read files (aiosmtpd) and for smtpsh's `--cafile`.
#![allow(dead_code)]

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A CA and a server certificate it signed, as PEM files and DER.
pub struct Pki {
    pub dir: tempfile::TempDir,
    /// The CA certificate (for `--cafile`).
    pub ca: PathBuf,
    /// The server certificate followed by the CA (a chain file).
    pub cert: PathBuf,
    /// The server's private key (PKCS#8).
    pub key: PathBuf,
    chain: Vec<CertificateDer<'static>>,
    key_der: Vec<u8>,
}

impl Pki {
    /// A fresh CA and a server certificate for localhost, 127.0.0.1 and ::1.
    pub fn new() -> Pki {
        Pki::for_names(&["localhost", "127.0.0.1", "::1"])
    }

    /// A fresh CA and a server certificate for `names`.
    pub fn for_names(names: &[&str]) -> Pki {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.distinguished_name = rcgen::DistinguishedName::new();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "smtpsh interop test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");

        let key = KeyPair::generate().expect("server key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("server params");
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.is_ca = IsCa::ExplicitNoCa;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let issuer = Issuer::new(ca_params, ca_key);
        let cert = params.signed_by(&key, &issuer).expect("server certificate");

        let dir = tempfile::Builder::new()
            .prefix("smtpsh-pki-")
            .tempdir()
            .expect("pki dir");
        let ca = dir.path().join("ca.pem");
        let cert_path = dir.path().join("server.pem");
        let key_path = dir.path().join("server.key");
        std::fs::write(&ca, ca_cert.pem()).expect("write CA");
        std::fs::write(&cert_path, format!("{}{}", cert.pem(), ca_cert.pem()))
            .expect("write chain");
        std::fs::write(&key_path, key.serialize_pem()).expect("write key");
        Pki {
            dir,
            ca,
            cert: cert_path,
            key: key_path,
            chain: vec![cert.der().clone(), ca_cert.der().clone()],
            key_der: key.serialize_der(),
        }
    }

    /// A rustls server configuration with this certificate.
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        Arc::new(
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(self.chain.clone(), key)
                .expect("server config"),
        )
    }

    pub fn ca_str(&self) -> String {
        self.ca.to_str().expect("UTF-8 path").to_string()
    }
}

/// The server side of one connection: plaintext first, TLS after `start_tls`.
pub struct Peer {
    tcp: Option<TcpStream>,
    tls: Option<StreamOwned<ServerConnection, TcpStream>>,
    /// Every line received, in order (without CRLF), and `[TLS]` when TLS began.
    pub log: Vec<String>,
}

impl Peer {
    fn stream(&mut self) -> &mut dyn ReadWrite {
        match (&mut self.tls, &mut self.tcp) {
            (Some(tls), _) => tls,
            (None, Some(tcp)) => tcp,
            (None, None) => panic!("no stream"),
        }
    }

    /// Sends bytes in one write.
    pub fn send(&mut self, bytes: &[u8]) {
        let s = self.stream();
        s.write_all(bytes).expect("server write");
        s.flush().expect("server flush");
    }

    /// Reads one line, byte by byte (so nothing after it is consumed);
    /// `None` at end of stream.
    pub fn line(&mut self) -> Option<String> {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            match self.stream().read(&mut byte) {
                Ok(0) | Err(_) => return None,
                Ok(_) => line.push(byte[0]),
            }
        }
        line.truncate(line.len() - 2);
        let text = String::from_utf8_lossy(&line).into_owned();
        self.log.push(text.clone());
        Some(text)
    }

    /// Runs the server side of the TLS handshake.
    pub fn start_tls(&mut self, config: Arc<ServerConfig>) {
        let tcp = self.tcp.take().expect("plaintext stream");
        let conn = ServerConnection::new(config).expect("server connection");
        let mut tls = StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            if tls.conn.complete_io(&mut tls.sock).is_err() {
                self.log.push("[TLS FAILED]".into());
                self.tls = Some(tls);
                return;
            }
        }
        self.log.push("[TLS]".into());
        self.tls = Some(tls);
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A one-connection scripted server on 127.0.0.1; `script` runs on its
/// thread and the join handle returns the peer's log.
pub fn fake_server(
    script: impl FnOnce(&mut Peer) + Send + 'static,
) -> (u16, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut peer = Peer {
            tcp: Some(tcp),
            tls: None,
            log: Vec::new(),
        };
        script(&mut peer);
        peer.log
    });
    (port, handle)
}
