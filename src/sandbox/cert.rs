//! The sandbox's certificates, made fresh at every start and kept in memory:
//! a self-signed CA, name-constrained to loopback names so it can vouch for
//! nothing else, and a server certificate it signs (`CA:FALSE`, EKU
//! serverAuth, SAN `localhost`, `127.0.0.1`, `::1`). rustls refuses a CA
//! certificate used as the server's own, hence the two.
//!
//! The CA's private key never leaves memory and is dropped after signing.
//!
//! `smtpsh serve --tls-cert PEM --tls-key PEM` brings its own certificate
//! instead: [`load_server_config`].

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::Path;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The names the server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The CA (certificate only) and the server certificate with its key.
pub struct Authority {
    ca_der: Vec<u8>,
    ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

impl Authority {
    /// Makes a CA and a server certificate signed by it, valid from
    /// yesterday for a year.
    pub fn generate() -> Result<Authority, String> {
        let err = |e: rcgen::Error| e.to_string();
        let now = OffsetDateTime::now_utc();
        let day = |d: OffsetDateTime| d.replace_time(time::Time::MIDNIGHT);
        let (from, until) = match (
            now.checked_sub(Duration::days(1)),
            now.checked_add(Duration::days(365)),
        ) {
            (Some(from), Some(until)) => (day(from), day(until)),
            _ => return Err(format!("the clock ({now}) is out of range")),
        };

        let ca_key = KeyPair::generate().map_err(err)?;
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca.distinguished_name = DistinguishedName::new();
        ca.distinguished_name
            .push(DnType::CommonName, "smtpsh sandbox CA (this process only)");
        ca.distinguished_name
            .push(DnType::OrganizationName, "smtpsh sandbox");
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.name_constraints = Some(NameConstraints {
            permitted_subtrees: vec![
                GeneralSubtree::DnsName("localhost".to_string()),
                GeneralSubtree::IpAddress(CidrSubnet::V4([127, 0, 0, 0], [255, 0, 0, 0])),
                GeneralSubtree::IpAddress(CidrSubnet::V6(
                    std::net::Ipv6Addr::LOCALHOST.octets(),
                    [0xff; 16],
                )),
            ],
            excluded_subtrees: Vec::new(),
        });
        ca.not_before = from;
        ca.not_after = until;
        let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca, ca_key);

        let leaf_key = KeyPair::generate().map_err(err)?;
        let names: Vec<String> = SERVER_NAMES.iter().map(|s| s.to_string()).collect();
        let mut leaf = CertificateParams::new(names).map_err(err)?;
        leaf.distinguished_name = DistinguishedName::new();
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.use_authority_key_identifier_extension = true;
        leaf.not_before = from;
        leaf.not_after = until;
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;

        Ok(Authority {
            ca_der: ca_cert.der().to_vec(),
            ca_pem: ca_cert.pem(),
            leaf_der: leaf_cert.der().to_vec(),
            leaf_key_der: leaf_key.serialize_der(),
        })
    }

    /// The CA certificate, DER.
    pub fn ca_der(&self) -> &[u8] {
        &self.ca_der
    }
    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
    /// The server certificate, DER.
    pub fn server_der(&self) -> &[u8] {
        &self.leaf_der
    }

    /// A rustls server configuration (ring provider, TLS 1.2 and 1.3)
    /// presenting the server certificate and the CA.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, String> {
        let chain = vec![
            CertificateDer::from(self.leaf_der.clone()),
            CertificateDer::from(self.ca_der.clone()),
        ];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_der.clone()));
        server_config(chain, key).map_err(|e| e.to_string())
    }

    /// A rustls client configuration that trusts only this CA (for tests
    /// and for clients in this process).
    pub fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.ca_der.clone()))
            .map_err(|e| e.to_string())?;
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth())
    }
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3) for
/// `chain` (the server's certificate first) and its `key`.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
}

/// A server configuration from PEM files: `cert_file` holds the server's
/// certificate, then any intermediates; `key_file` its private key (PKCS#8,
/// PKCS#1 or SEC1). The errors name the file and say what is wrong.
pub fn load_server_config(
    cert_file: &Path,
    key_file: &Path,
) -> Result<rustls::ServerConfig, String> {
    let pem_error = |file: &Path, what: &str, e: pem::Error| match e {
        pem::Error::Io(e) => format!("cannot read the {what} file {}: {e}", file.display()),
        pem::Error::NoItemsFound => format!(
            "no PEM {what} in {} (expected a -----BEGIN {}----- block)",
            file.display(),
            if what == "certificate" {
                "CERTIFICATE"
            } else {
                "PRIVATE KEY, unencrypted"
            }
        ),
        e => {
            let why = match e {
                pem::Error::MissingSectionEnd { .. } => "a block has no -----END line".to_string(),
                pem::Error::IllegalSectionStart { .. } => "a -----BEGIN line is malformed".into(),
                pem::Error::Base64Decode(_) => "a block is not valid base64".into(),
                e => e.to_string(),
            };
            format!("{} is not a valid PEM {what} file: {why}", file.display())
        }
    };
    let chain = CertificateDer::pem_file_iter(cert_file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(cert_file, "certificate", e))?;
    if chain.is_empty() {
        return Err(pem_error(
            cert_file,
            "certificate",
            pem::Error::NoItemsFound,
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| pem_error(key_file, "private key", e))?;
    server_config(chain, key).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "the key in {} does not belong to the certificate in {} (the first certificate \
             must be the server's own)",
            key_file.display(),
            cert_file.display()
        ),
        e => format!(
            "cannot use the certificate {} with the key {}: {e}",
            cert_file.display(),
            key_file.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::ServerName;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    /// A TLS handshake over a real socket, checking the names `name`.
    fn handshake(
        a: &Authority,
        client: Arc<rustls::ClientConfig>,
        name: &str,
    ) -> Result<(), String> {
        let server_cfg = Arc::new(a.server_config()?);
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let t = std::thread::spawn(move || -> Result<(), String> {
            let (sock, _) = listener.accept().map_err(|e| e.to_string())?;
            let conn = rustls::ServerConnection::new(server_cfg).map_err(|e| e.to_string())?;
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut b = [0u8; 5];
            tls.read_exact(&mut b).map_err(|e| e.to_string())?;
            tls.write_all(&b).map_err(|e| e.to_string())?;
            tls.flush().map_err(|e| e.to_string())
        });
        let sock = TcpStream::connect(addr).map_err(|e| e.to_string())?;
        let server_name = ServerName::try_from(name.to_string()).map_err(|e| e.to_string())?;
        let conn = rustls::ClientConnection::new(client, server_name).map_err(|e| e.to_string())?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let r = tls
            .write_all(b"hello")
            .and_then(|()| {
                let mut b = [0u8; 5];
                tls.read_exact(&mut b).map(|()| b)
            })
            .map_err(|e| e.to_string());
        drop(tls);
        let _ = t.join();
        let b = r?;
        if &b == b"hello" {
            Ok(())
        } else {
            Err("echo mismatch".into())
        }
    }

    #[test]
    fn client_trusting_the_ca_connects_by_every_loopback_name() {
        let a = Authority::generate().expect("generate");
        let client = Arc::new(a.client_config().expect("client config"));
        for name in SERVER_NAMES {
            handshake(&a, client.clone(), name).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn other_names_and_other_cas_are_refused() {
        let a = Authority::generate().expect("generate");
        let b = Authority::generate().expect("generate");
        let client = Arc::new(a.client_config().expect("client config"));
        assert!(handshake(&a, client.clone(), "example.org").is_err());
        let other = Arc::new(b.client_config().expect("client config"));
        assert!(handshake(&a, other, "localhost").is_err());
        assert_ne!(a.ca_der(), b.ca_der());
        assert_ne!(a.server_der(), a.ca_der());
    }

    /// `a`'s server certificate and key as PEM files in `dir`.
    fn write_pem(dir: &Path, a: &Authority) -> (std::path::PathBuf, std::path::PathBuf) {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        let pem_of = |label: &str, der: &[u8]| {
            use base64::Engine as _;
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            let mut out = format!("-----BEGIN {label}-----\n");
            for chunk in b64.as_bytes().chunks(64) {
                out.push_str(&String::from_utf8_lossy(chunk));
                out.push('\n');
            }
            out.push_str(&format!("-----END {label}-----\n"));
            out
        };
        let chain = pem_of("CERTIFICATE", &a.leaf_der) + &pem_of("CERTIFICATE", &a.ca_der);
        std::fs::write(&cert, chain).expect("cert");
        std::fs::write(&key, pem_of("PRIVATE KEY", &a.leaf_key_der)).expect("key");
        (cert, key)
    }

    #[test]
    fn a_certificate_and_key_from_pem_files_serve_tls() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = Authority::generate().expect("generate");
        let (cert, key) = write_pem(dir.path(), &a);
        let config = Arc::new(load_server_config(&cert, &key).expect("load"));
        // The same handshake as with the generated configuration.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let t = std::thread::spawn(move || {
            let (sock, _) = listener.accept().expect("accept");
            let conn = rustls::ServerConnection::new(config).expect("server");
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut b = [0u8; 2];
            tls.read_exact(&mut b).expect("read");
        });
        let sock = TcpStream::connect(addr).expect("connect");
        let name = ServerName::try_from("localhost").expect("name");
        let conn =
            rustls::ClientConnection::new(Arc::new(a.client_config().expect("client")), name)
                .expect("client");
        let mut tls = rustls::StreamOwned::new(conn, sock);
        tls.write_all(b"ok").expect("handshake and write");
        tls.flush().expect("flush");
        t.join().expect("server thread");
    }

    #[test]
    fn bad_certificate_and_key_files_say_what_is_wrong() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = Authority::generate().expect("generate");
        let b = Authority::generate().expect("generate");
        let (cert, key) = write_pem(dir.path(), &a);
        let other = dir.path().join("other");
        std::fs::create_dir(&other).expect("mkdir");
        let (_, other_key) = write_pem(&other, &b);
        let missing = dir.path().join("missing.pem");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a pem file\n").expect("garbage");

        let e = load_server_config(&missing, &key).expect_err("missing cert");
        assert!(
            e.contains("cannot read the certificate file") && e.contains("missing.pem"),
            "{e}"
        );
        let e = load_server_config(&cert, &missing).expect_err("missing key");
        assert!(e.contains("cannot read the private key file"), "{e}");
        let e = load_server_config(&garbage, &key).expect_err("no cert");
        assert!(
            e.contains("no PEM certificate in") && e.contains("garbage.pem"),
            "{e}"
        );
        let e = load_server_config(&cert, &garbage).expect_err("no key");
        assert!(e.contains("no PEM private key in"), "{e}");
        // The certificate file where the key should be, and vice versa.
        let e = load_server_config(&cert, &cert).expect_err("cert as key");
        assert!(e.contains("no PEM private key in"), "{e}");
        let e = load_server_config(&key, &key).expect_err("key as cert");
        assert!(e.contains("no PEM certificate in"), "{e}");
        let e = load_server_config(&cert, &other_key).expect_err("mismatch");
        assert!(e.contains("does not belong to the certificate"), "{e}");
    }
}
