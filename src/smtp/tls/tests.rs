//! Handshakes over loopback sockets (127.0.0.1) with throwaway CAs and
//! server certificates made by `rcgen`.

use super::config::provider;
use super::*;
use crate::smtp::command::Command;
use crate::smtp::conn::{ConnError, ConnectOptions, Connection, Event, Observer};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::Duration;

struct Pki {
    ca_pem: String,
    ca_der: Vec<u8>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn ca(name: &str) -> (CertificateParams, KeyPair, rcgen::Certificate) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    (params, key, cert)
}

fn pki_with(names: &[&str], expired: bool) -> Pki {
    pki_under("smtpsh test CA", names, expired)
}

/// A CA called `ca_name` and a server certificate for `names` it signed.
fn pki_under(ca_name: &str, names: &[&str], expired: bool) -> Pki {
    let (ca_params, ca_key, ca_cert) = ca(ca_name);
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
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
        ca_pem: ca_cert.pem(),
        ca_der: ca_cert.der().to_vec(),
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
fn implicit_server(config: Arc<ServerConfig>) -> (u16, thread::JoinHandle<Result<String, String>>) {
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
        net: Default::default(),
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
            Event::Received { reply, secure, .. } => format!(
                "S{}: {}",
                if secure { "~" } else { "" },
                reply.wire_lines().join(" | ")
            ),
            Event::DataSent { bytes, .. } => format!("DATA {bytes}"),
            Event::Notice(n) => format!("NOTE: {n}"),
            Event::Waiting { what } => format!("WAITING: {what}"),
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
        assert!(info.verified());
        assert_eq!(info.trust, Trust::CaFile(_dir.path().join("ca.pem")));
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
    assert!(!info.verified());
    assert_eq!(info.trust, Trust::Insecure);
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
        ca_der: cert.der().to_vec(),
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

// ------------------------------------------------- which trust anchors vouched

fn extra(label: &str, pki: &Pki) -> ExtraRoot {
    ExtraRoot {
        label: label.to_string(),
        der: pki.ca_der.clone(),
    }
}

/// The trust recorded by a successful handshake with `pki`'s server.
fn trusted_by(host: &str, pki: &Pki, client: &TlsClient) -> Trust {
    let (port, server) = implicit_server(server_config(pki));
    let (mut conn, mut log) = open_tls(host, port, client).expect("handshake");
    conn.command(&Command::noop(), &mut log).unwrap();
    let info = conn.tls_info().expect("tls info").clone();
    conn.close();
    server.join().unwrap().unwrap();
    assert_eq!(info.verified(), info.trust != Trust::Insecure);
    info.trust
}

#[test]
fn an_extra_root_that_verified_the_server_is_named() {
    let sandbox = pki_under("sandbox CA", &["localhost", "127.0.0.1"], false);
    let label = "the sandbox's own CA, trusted by this smtpsh process only";
    // Besides the system's roots (or the Mozilla set).
    let client = TlsClient::new(&TlsOptions {
        extra_roots: vec![extra(label, &sandbox)],
        ..TlsOptions::default()
    })
    .unwrap();
    assert!(matches!(client.trust(), Trust::System(_) | Trust::Mozilla));
    let trust = trusted_by("127.0.0.1", &sandbox, &client);
    assert_eq!(trust, Trust::Extra(label.to_string()));
    assert_eq!(trust.to_string(), label);
}

#[test]
fn each_handshake_names_its_own_trust_anchors() {
    let file = pki_under("file CA", &["localhost"], false);
    let one = pki_under("extra CA one", &["localhost"], false);
    let two = pki_under("extra CA two", &["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &file.ca_pem).unwrap();
    let client = TlsClient::new(&TlsOptions {
        cafile: Some(path.clone()),
        insecure: false,
        extra_roots: vec![extra("extra one", &one), extra("extra two", &two)],
        ..TlsOptions::default()
    })
    .unwrap();
    assert_eq!(client.trust(), &Trust::CaFile(path.clone()));
    // One client, several handshakes: each records its own verdict.
    assert_eq!(
        trusted_by("localhost", &two, &client),
        Trust::Extra("extra two".into())
    );
    assert_eq!(
        trusted_by("localhost", &file, &client),
        Trust::CaFile(path.clone())
    );
    assert_eq!(
        trusted_by("localhost", &one, &client),
        Trust::Extra("extra one".into())
    );
    assert_eq!(
        trusted_by("localhost", &file, &client.clone()),
        Trust::CaFile(path)
    );
}

#[test]
fn insecure_ignores_the_extra_roots_and_says_so() {
    let sandbox = pki_under("sandbox CA", &["localhost"], false);
    let client = TlsClient::new(&TlsOptions {
        insecure: true,
        extra_roots: vec![extra("the sandbox's own CA", &sandbox)],
        ..TlsOptions::default()
    })
    .unwrap();
    assert_eq!(trusted_by("localhost", &sandbox, &client), Trust::Insecure);
}

#[test]
fn signed_by_neither_the_extra_roots_nor_the_ca_file() {
    let file = pki_under("file CA", &["localhost"], false);
    let sandbox = pki_under("sandbox CA", &["localhost"], false);
    let stranger = pki_under("stranger CA", &["localhost"], false);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, &file.ca_pem).unwrap();
    let with_file = TlsClient::new(&TlsOptions {
        cafile: Some(path),
        insecure: false,
        extra_roots: vec![extra("the sandbox's own CA", &sandbox)],
        ..TlsOptions::default()
    })
    .unwrap();
    let with_system = TlsClient::new(&TlsOptions {
        extra_roots: vec![extra("the sandbox's own CA", &sandbox)],
        ..TlsOptions::default()
    })
    .unwrap();
    for client in [&with_file, &with_system] {
        let e = failure("localhost", &stranger, client);
        assert_eq!(e.kind, TlsErrorKind::UnknownIssuer, "{e}");
        assert!(e.to_string().contains("unknown issuer"), "{e}");
        assert!(e.to_string().contains("--cafile"), "{e}");
    }
}

#[test]
fn a_name_mismatch_under_an_extra_root_is_explained_as_such() {
    let sandbox = pki_under("sandbox CA", &["localhost"], false);
    let client = TlsClient::new(&TlsOptions {
        extra_roots: vec![extra("the sandbox's own CA", &sandbox)],
        ..TlsOptions::default()
    })
    .unwrap();
    let e = failure("127.0.0.1", &sandbox, &client);
    assert_eq!(e.kind, TlsErrorKind::NameMismatch, "{e}");
    assert!(e.to_string().contains("localhost"), "{e}");
}

#[test]
fn an_expired_certificate_under_an_extra_root() {
    let sandbox = pki_under("sandbox CA", &["localhost"], true);
    let client = TlsClient::new(&TlsOptions {
        extra_roots: vec![extra("the sandbox's own CA", &sandbox)],
        ..TlsOptions::default()
    })
    .unwrap();
    let e = failure("localhost", &sandbox, &client);
    assert_eq!(e.kind, TlsErrorKind::Expired, "{e}");
}

mod controls;
