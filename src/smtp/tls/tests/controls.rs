//! The TLS controls over loopback handshakes: pins, `--servername` and
//! `--no-sni` (the server reports the SNI it received), TLS versions, and
//! client certificates (a rustls server that requires one).

use super::*;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use std::path::Path;

/// What the server saw of one connection.
#[derive(Debug)]
struct Seen {
    sni: Option<String>,
    client_certs: usize,
    version: Option<rustls::ProtocolVersion>,
}

/// A one-connection implicit-TLS server that greets, answers one command,
/// and reports what it saw (or its error).
fn observing_server(config: Arc<ServerConfig>) -> (u16, thread::JoinHandle<Result<Seen, String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = ServerConnection::new(config).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
                // The alert is out; wait for the client to close, so the
                // close is no reset that could overtake the alert.
                let _ = tls.sock.shutdown(std::net::Shutdown::Write);
                let _ = std::io::copy(&mut tls.sock, &mut std::io::sink());
                return Err(e.to_string());
            }
        }
        let seen = Seen {
            sni: tls.conn.server_name().map(str::to_string),
            client_certs: tls.conn.peer_certificates().map_or(0, <[_]>::len),
            version: tls.conn.protocol_version(),
        };
        tls.write_all(b"220 tls.example ESMTP\r\n")
            .map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(tls);
        let mut line = String::new();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        reader
            .get_mut()
            .write_all(b"250 ok\r\n")
            .map_err(|e| e.to_string())?;
        Ok(seen)
    });
    (port, handle)
}

fn client(options: TlsOptions) -> TlsClient {
    TlsClient::new(&options).expect("client")
}

fn with_cafile(pki: &Pki, dir: &Path, options: TlsOptions) -> TlsClient {
    let path = dir.join("ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    client(TlsOptions {
        cafile: Some(path),
        ..options
    })
}

/// Connects, sends NOOP, closes; what the server saw and the client learned.
fn session(host: &str, config: Arc<ServerConfig>, client: &TlsClient) -> (Seen, TlsInfo) {
    let (port, server) = observing_server(config);
    let (mut conn, mut log) = open_tls(host, port, client).expect("handshake");
    conn.command(&Command::noop(), &mut log).unwrap();
    let info = conn.tls_info().unwrap().clone();
    conn.close();
    (server.join().unwrap().expect("server"), info)
}

fn refusal(host: &str, config: Arc<ServerConfig>, client: &TlsClient) -> TlsError {
    let (port, server) = observing_server(config);
    let err = open_tls(host, port, client).err().expect("must fail");
    let _ = server.join();
    match err {
        ConnError::Tls(e) => {
            assert!(!e.to_string().contains('\n'), "{e}");
            e
        }
        other => panic!("{other:?}"),
    }
}

fn leaf_pin(pki: &Pki) -> Pin {
    Pin::of_certificate(&pki.chain[0]).expect("pin")
}

#[test]
fn a_matching_pin_is_accepted_whatever_the_ca() {
    let pki = pki_with(&["localhost"], false);
    // The system's roots do not know this CA: only the pin vouches.
    let c = client(TlsOptions {
        pins: vec![Pin::of_spki(b"another key"), leaf_pin(&pki)],
        ..TlsOptions::default()
    });
    let (_, info) = session("localhost", server_config(&pki), &c);
    assert!(info.pinned && info.verified(), "{info:?}");
    assert_eq!(info.trust, Trust::Pinned(leaf_pin(&pki)));
    assert_eq!(info.pin, Some(leaf_pin(&pki)));
    // With the CA trusted too, status names the CA, and the pin matched.
    let dir = tempfile::tempdir().unwrap();
    let c = with_cafile(
        &pki,
        dir.path(),
        TlsOptions {
            pins: vec![leaf_pin(&pki)],
            ..TlsOptions::default()
        },
    );
    let (_, info) = session("localhost", server_config(&pki), &c);
    assert!(info.pinned);
    assert_eq!(info.trust, Trust::CaFile(dir.path().join("ca.pem")));
}

#[test]
fn a_pin_mismatch_is_refused_even_for_a_trusted_chain_and_shows_both_pins() {
    let pki = pki_with(&["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let wrong = Pin::of_spki(b"not the server's key");
    let c = with_cafile(
        &pki,
        dir.path(),
        TlsOptions {
            pins: vec![wrong],
            ..TlsOptions::default()
        },
    );
    let e = refusal("localhost", server_config(&pki), &c);
    assert_eq!(e.kind, TlsErrorKind::PinMismatch, "{e}");
    let text = e.to_string();
    assert!(text.contains(&format!("expected {wrong}")), "{e}");
    assert!(text.contains(&format!("--pin {}", leaf_pin(&pki))), "{e}");
}

#[test]
fn servername_is_verified_and_sent_as_sni() {
    let pki = pki_with(&["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    // By address, the certificate (for localhost only) would not match.
    let plain = with_cafile(&pki, dir.path(), TlsOptions::default());
    let e = refusal("127.0.0.1", server_config(&pki), &plain);
    assert_eq!(e.kind, TlsErrorKind::NameMismatch, "{e}");
    assert!(e.to_string().contains("--servername"), "{e}");
    let named = with_cafile(
        &pki,
        dir.path(),
        TlsOptions {
            servername: Some("localhost".into()),
            ..TlsOptions::default()
        },
    );
    let (seen, info) = session("127.0.0.1", server_config(&pki), &named);
    assert_eq!(seen.sni.as_deref(), Some("localhost"));
    assert_eq!(info.sni.as_deref(), Some("localhost"));
    assert_eq!(info.name, "localhost");
    // A name it does not hold is a mismatch under that name.
    let wrong = with_cafile(
        &pki,
        dir.path(),
        TlsOptions {
            servername: Some("mail.example.org".into()),
            ..TlsOptions::default()
        },
    );
    let e = refusal("127.0.0.1", server_config(&pki), &wrong);
    assert!(e.to_string().contains("\"mail.example.org\""), "{e}");
}

#[test]
fn no_sni_sends_none_but_still_verifies_the_name() {
    let pki = pki_with(&["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let c = with_cafile(
        &pki,
        dir.path(),
        TlsOptions {
            no_sni: true,
            ..TlsOptions::default()
        },
    );
    let (seen, info) = session("localhost", server_config(&pki), &c);
    assert_eq!(seen.sni, None);
    assert_eq!(info.sni, None);
    assert!(info.verified());
    // Without --no-sni the same host sends it.
    let c = with_cafile(&pki, dir.path(), TlsOptions::default());
    let (seen, _) = session("localhost", server_config(&pki), &c);
    assert_eq!(seen.sni.as_deref(), Some("localhost"));
    // --no-sni with a name the certificate lacks is still a mismatch.
    let other = pki_with(&["mail.example.test"], false);
    let c = with_cafile(
        &other,
        dir.path(),
        TlsOptions {
            no_sni: true,
            ..TlsOptions::default()
        },
    );
    let e = refusal("localhost", server_config(&other), &c);
    assert_eq!(e.kind, TlsErrorKind::NameMismatch, "{e}");
}

fn server_with_versions(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(pki.chain.clone(), pki.key.clone_key())
            .unwrap(),
    )
}

#[test]
fn tls_versions_are_limited_and_a_refusal_names_the_option() {
    let pki = pki_with(&["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let only = |min, max| {
        with_cafile(
            &pki,
            dir.path(),
            TlsOptions {
                min_version: min,
                max_version: max,
                ..TlsOptions::default()
            },
        )
    };
    let v12 = only(None, Some(TlsVersion::V1_2));
    let (seen, info) = session("localhost", server_config(&pki), &v12);
    assert_eq!(seen.version, Some(rustls::ProtocolVersion::TLSv1_2));
    assert_eq!(info.version, "TLS 1.2");
    let v13 = only(Some(TlsVersion::V1_3), None);
    let (_, info) = session("localhost", server_config(&pki), &v13);
    assert_eq!(info.version, "TLS 1.3");

    let e = refusal(
        "localhost",
        server_with_versions(&pki, &[&rustls::version::TLS13]),
        &v12,
    );
    assert_eq!(e.kind, TlsErrorKind::VersionRefused, "{e}");
    assert!(e.to_string().contains("--tls-max 1.2"), "{e}");
    let e = refusal(
        "localhost",
        server_with_versions(&pki, &[&rustls::version::TLS12]),
        &v13,
    );
    assert_eq!(e.kind, TlsErrorKind::VersionRefused, "{e}");
    assert!(
        e.to_string()
            .contains("refused TLS 1.3, the only version --tls-min 1.3 allows"),
        "{e}"
    );
    // Nothing left between them: refused before any connection.
    let e = TlsClient::new(&TlsOptions {
        min_version: Some(TlsVersion::V1_3),
        max_version: Some(TlsVersion::V1_2),
        ..TlsOptions::default()
    })
    .unwrap_err();
    assert_eq!(e.kind, TlsErrorKind::Config);
}

/// A client CA and a client certificate it signed, as PEM files.
struct ClientPki {
    ca_der: Vec<u8>,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    both: std::path::PathBuf,
}

fn client_pki(dir: &Path, name: &str) -> ClientPki {
    let (ca_params, ca_key, ca_cert) = ca(&format!("{name} client CA"));
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params
        .signed_by(&key, &Issuer::new(ca_params, ca_key))
        .unwrap();
    let paths = ClientPki {
        ca_der: ca_cert.der().to_vec(),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}.key")),
        both: dir.join(format!("{name}-both.pem")),
    };
    std::fs::write(&paths.cert, format!("{}{}", cert.pem(), ca_cert.pem())).unwrap();
    std::fs::write(&paths.key, key.serialize_pem()).unwrap();
    std::fs::write(
        &paths.both,
        format!("{}{}", cert.pem(), key.serialize_pem()),
    )
    .unwrap();
    paths
}

/// A server that requires a client certificate from `client_ca`.
fn requiring_server(pki: &Pki, client_ca: &[u8], tls13: bool) -> Arc<ServerConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(client_ca.to_vec())).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    let version = if tls13 {
        &rustls::version::TLS13
    } else {
        &rustls::version::TLS12
    };
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[version])
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(pki.chain.clone(), pki.key.clone_key())
            .unwrap(),
    )
}

fn cert_options(cert: &Path, key: Option<&Path>) -> TlsOptions {
    TlsOptions {
        client_cert: Some(ClientCert {
            cert: cert.to_path_buf(),
            key: key.map(Path::to_path_buf),
        }),
        ..TlsOptions::default()
    }
}

#[test]
fn a_client_certificate_is_presented_when_asked() {
    let pki = pki_with(&["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let me = client_pki(dir.path(), "alice");
    for tls13 in [true, false] {
        // Separate key file, and the key in the certificate file.
        for (cert, key) in [(&me.cert, Some(me.key.as_path())), (&me.both, None)] {
            let c = with_cafile(&pki, dir.path(), cert_options(cert, key));
            let (seen, info) = session("localhost", requiring_server(&pki, &me.ca_der, tls13), &c);
            assert!(seen.client_certs >= 1, "{seen:?}");
            assert!(info.client_cert_requested && info.client_cert_given);
        }
    }
    // A server that does not ask gets nothing, and status says nothing.
    let c = with_cafile(&pki, dir.path(), cert_options(&me.cert, Some(&me.key)));
    let (seen, info) = session("localhost", server_config(&pki), &c);
    assert_eq!(seen.client_certs, 0);
    assert!(!info.client_cert_requested);
}

#[test]
fn no_client_certificate_for_a_server_that_requires_one_names_cert() {
    let pki = pki_with(&["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let me = client_pki(dir.path(), "alice");
    let c = with_cafile(&pki, dir.path(), TlsOptions::default());
    // TLS 1.3: the refusal comes after the client finished, at the first
    // read; TLS 1.2: during the handshake.
    for tls13 in [true, false] {
        let e = refusal("localhost", requiring_server(&pki, &me.ca_der, tls13), &c);
        assert_eq!(e.kind, TlsErrorKind::ClientCertRequired, "{e}");
        assert!(e.to_string().contains("--cert"), "{e}");
    }
}

#[test]
fn a_client_certificate_from_an_untrusted_ca_is_refused_clearly() {
    let pki = pki_with(&["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let trusted = client_pki(dir.path(), "alice");
    let stranger = client_pki(dir.path(), "mallory");
    let c = with_cafile(
        &pki,
        dir.path(),
        cert_options(&stranger.cert, Some(&stranger.key)),
    );
    for tls13 in [true, false] {
        let e = refusal(
            "localhost",
            requiring_server(&pki, &trusted.ca_der, tls13),
            &c,
        );
        assert_eq!(e.kind, TlsErrorKind::ClientCertRefused, "{e}");
        let text = e.to_string();
        assert!(text.contains("mallory.pem"), "{e}");
        assert!(text.contains("does not trust the CA"), "{e}");
    }
}

#[test]
fn client_certificate_files_that_cannot_be_used() {
    let dir = tempfile::tempdir().unwrap();
    let alice = client_pki(dir.path(), "alice");
    let bob = client_pki(dir.path(), "bob");
    let setup = |options: TlsOptions| {
        let e = TlsClient::new(&options).expect_err("refused");
        assert_eq!(e.kind, TlsErrorKind::Config, "{e}");
        e.to_string()
    };
    // A key that belongs to another certificate.
    let e = setup(cert_options(&alice.cert, Some(&bob.key)));
    assert!(e.contains("does not belong to the certificate"), "{e}");
    // No key in the certificate file, and no --key.
    let e = setup(cert_options(&alice.cert, None));
    assert!(e.contains("--key"), "{e}");
    // Missing and garbled files.
    let e = setup(cert_options(&dir.path().join("nope.pem"), None));
    assert!(e.contains("cannot read the client certificate"), "{e}");
    let garbled = dir.path().join("garbled.pem");
    std::fs::write(
        &garbled,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = setup(cert_options(&garbled, Some(&alice.key)));
    assert!(e.contains("garbled.pem") && e.contains("base64"), "{e}");
    let cut = dir.path().join("cut.pem");
    let text = std::fs::read_to_string(&alice.cert).unwrap();
    std::fs::write(&cut, &text[..text.len() / 3]).unwrap();
    let e = setup(cert_options(&cut, Some(&alice.key)));
    assert!(e.contains("END"), "{e}");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "nothing here\n").unwrap();
    let e = setup(cert_options(&empty, Some(&alice.key)));
    assert!(e.contains("holds no certificate"), "{e}");
    // The key file holds no key.
    let e = setup(cert_options(&alice.cert, Some(&alice.cert)));
    assert!(e.contains("holds no private key"), "{e}");
    // An encrypted key is named as such.
    let encrypted = dir.path().join("enc.key");
    std::fs::write(
        &encrypted,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .unwrap();
    let e = setup(cert_options(&alice.cert, Some(&encrypted)));
    assert!(e.contains("encrypted"), "{e}");
}
