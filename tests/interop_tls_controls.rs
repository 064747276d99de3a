//! smtpsh's TLS controls against a real Postfix (a private instance per
//! test, tests/support/postfix.rs): client certificates on a listener with
//! `smtpd_tls_req_ccert=yes` (extra listeners, `PostfixOptions::listeners`; the client CA made here with rcgen), TLS
//! versions on a listener limited with `smtpd_tls_protocols`,
//! `--servername`/`--no-sni`, `--pin` (the expected pin computed with the
//! openssl CLI, as curl documents for `--pinnedpubkey`), the chain in
//! `status` and `cert save`.
#![cfg(feature = "interop")]

mod support;
use support::path_str;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use support::postfix::{Postfix, PostfixOptions};
use support::*;

/// Runs `smtpsh ARGS... -f SCRIPT`.
fn run_smtpsh(args: &[&str], script: &str) -> Output {
    let dir = tempfile::tempdir().expect("script dir");
    let file = dir.path().join("script.smtpsh");
    fs::write(&file, script).expect("write script");
    let mut cmd = smtpsh();
    cmd.args(args).arg("-f").arg(&file);
    run_with_timeout(cmd, SCRIPT_TIMEOUT)
}

fn all_output(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

/// A client CA and a client certificate it signed, as PEM files in a
/// directory Postfix can read.
struct ClientPki {
    _dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn client_pki(ca_name: &str, client_name: &str) -> ClientPki {
    let dir = tempfile::Builder::new()
        .prefix("smtpsh-clientpki-")
        .tempdir_in("/tmp")
        .expect("pki dir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.distinguished_name = rcgen::DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
    let key = KeyPair::generate().expect("client key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, client_name);
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let cert = params
        .signed_by(&key, &Issuer::new(ca_params, ca_key))
        .expect("client cert");
    let paths = ClientPki {
        ca: dir.path().join("client-ca.pem"),
        cert: dir.path().join("client.pem"),
        key: dir.path().join("client.key"),
        _dir: dir,
    };
    fs::write(&paths.ca, ca_cert.pem()).expect("write CA");
    fs::write(&paths.cert, cert.pem()).expect("write cert");
    fs::write(&paths.key, key.serialize_pem()).expect("write key");
    fs::set_permissions(&paths.ca, fs::Permissions::from_mode(0o644)).expect("chmod");
    paths
}

/// `-o` settings for [`PostfixOptions::listeners`] from `NAME=VALUE` lines.
fn settings(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').expect("NAME=VALUE");
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Postfix with one extra listener that requires a client certificate
/// signed by `client_ca` (STARTTLS required).
fn postfix_requiring_client_certs(client_ca: &Path) -> Postfix {
    Postfix::start_with(PostfixOptions {
        listeners: vec![
            settings(&[
                "smtpd_tls_security_level=encrypt".to_string(),
                "smtpd_tls_ask_ccert=yes".to_string(),
                "smtpd_tls_req_ccert=yes".to_string(),
                format!("smtpd_tls_CAfile={}", path_str(client_ca)),
            ]),
            // The same with implicit TLS.
            settings(&[
                "smtpd_tls_wrappermode=yes".to_string(),
                "smtpd_tls_security_level=encrypt".to_string(),
                "smtpd_tls_ask_ccert=yes".to_string(),
                "smtpd_tls_req_ccert=yes".to_string(),
                format!("smtpd_tls_CAfile={}", path_str(client_ca)),
            ]),
        ],
        ..PostfixOptions::default()
    })
}

const MESSAGE: &str = "from alice@example.com\n\
                       to bob@example.com\n\
                       subject client certificate\n\
                       body hello\n\
                       send\n";

#[test]
fn a_client_certificate_is_presented_and_postfix_records_it() {
    let client = client_pki("smtpsh client CA", "smtpsh-client-alice");
    let pf = postfix_requiring_client_certs(&client.ca);
    let port = pf.extra_ports[0].to_string();
    let ca = path_str(&pf.ca_pem_path());
    // The certificate on `connect`; `connect` alone keeps it for the second.
    let script = format!(
        "connect --starttls 127.0.0.1 {port} --cert {} --key {}\n\
         status\n\
         {MESSAGE}\
         connect\n\
         {MESSAGE}",
        path_str(&client.cert),
        path_str(&client.key)
    );
    let out = run_smtpsh(&["--cafile", &ca], &script);
    assert!(
        out.status.success(),
        "{}\n{}",
        all_output(&out),
        pf.describe()
    );
    let text = stdout(&out);
    assert!(
        text.contains("client cert:  asked for by the server; sent (--cert)"),
        "{text}"
    );
    let msgs = pf.wait_for_messages_after(2, &out);
    for m in &msgs {
        let received = m.received();
        assert!(
            received.contains("Client CN \"smtpsh-client-alice\"")
                && received.contains("Issuer \"smtpsh client CA\"")
                && received.contains("verified OK"),
            "{received}"
        );
    }
    assert!(pf.log().contains("Trusted TLS connection established"));
}

#[test]
fn the_client_certificate_from_the_command_line_and_on_starttls() {
    let client = client_pki("smtpsh client CA", "smtpsh-client-bob");
    let pf = postfix_requiring_client_certs(&client.ca);
    let port = pf.extra_ports[0].to_string();
    let ca = path_str(&pf.ca_pem_path());
    // The key in the certificate file: no --key.
    let both = client._dir.path().join("both.pem");
    fs::write(
        &both,
        format!(
            "{}{}",
            fs::read_to_string(&client.cert).unwrap(),
            fs::read_to_string(&client.key).unwrap()
        ),
    )
    .unwrap();
    let out = run_smtpsh(
        &[
            "--cafile",
            &ca,
            "--cert",
            &path_str(&both),
            "--starttls",
            "127.0.0.1",
            &port,
        ],
        MESSAGE,
    );
    assert!(out.status.success(), "{}", all_output(&out));
    let script = format!(
        "connect 127.0.0.1 {port}\nehlo\nstarttls --cert {} --key {}\n{MESSAGE}",
        path_str(&client.cert),
        path_str(&client.key)
    );
    let out2 = run_smtpsh(&["--cafile", &ca], &script);
    assert!(out2.status.success(), "{}", all_output(&out2));
    for m in pf.wait_for_messages_after(2, &out2) {
        assert!(
            m.received().contains("Client CN \"smtpsh-client-bob\""),
            "{}",
            m.received()
        );
    }
}

#[test]
fn no_client_certificate_is_explained_naming_cert() {
    let client = client_pki("smtpsh client CA", "unused");
    let pf = postfix_requiring_client_certs(&client.ca);
    let port = pf.extra_ports[0].to_string();
    let out = run_smtpsh(
        &["--cafile", &path_str(&pf.ca_pem_path())],
        &format!("connect --starttls 127.0.0.1 {port}\n{MESSAGE}"),
    );
    assert!(!out.status.success(), "{}", all_output(&out));
    let err = stderr(&out);
    assert!(
        err.contains("asked for a client certificate in the TLS handshake and none was given: present one with --cert FILE"),
        "{err}"
    );
    // Postfix's own words are shown too; its 421's usual hint is not.
    assert!(
        err.contains("No client certificate presented")
            || stdout(&out).contains("No client certificate presented"),
        "{err}"
    );
    assert!(!err.contains("`connect` again later"), "{err}");
    // Implicit TLS: the 421 comes instead of the greeting.
    let out = run_smtpsh(
        &["--cafile", &path_str(&pf.ca_pem_path())],
        &format!("connect --tls 127.0.0.1 {}\n", pf.extra_ports[1]),
    );
    assert!(!out.status.success(), "{}", all_output(&out));
    let err = stderr(&out);
    assert!(
        err.contains("none was given: present one with --cert FILE"),
        "{err}"
    );
    assert!(pf.messages().is_empty());
}

#[test]
fn a_client_certificate_from_an_untrusted_ca_is_refused_clearly() {
    let trusted = client_pki("smtpsh client CA", "unused");
    let stranger = client_pki("some other CA", "smtpsh-client-mallory");
    let pf = postfix_requiring_client_certs(&trusted.ca);
    let port = pf.extra_ports[0].to_string();
    let out = run_smtpsh(
        &["--cafile", &path_str(&pf.ca_pem_path())],
        &format!(
            "connect --starttls 127.0.0.1 {port} --cert {} --key {}\n{MESSAGE}",
            path_str(&stranger.cert),
            path_str(&stranger.key)
        ),
    );
    assert!(!out.status.success(), "{}", all_output(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "refused the one given ({}): is it signed by a CA the server trusts",
            path_str(&stranger.cert)
        )),
        "{err}"
    );
    assert!(pf.messages().is_empty());
}

#[test]
fn tls_versions_chosen_and_refused() {
    let pf = Postfix::start_with(PostfixOptions {
        listeners: vec![settings(&[
            "smtpd_tls_security_level=encrypt".to_string(),
            "smtpd_tls_protocols=>=TLSv1.3".to_string(),
            "smtpd_tls_mandatory_protocols=>=TLSv1.3".to_string(),
        ])],
        ..PostfixOptions::default()
    });
    let ca = path_str(&pf.ca_pem_path());
    let only13 = pf.extra_ports[0].to_string();
    let out = run_smtpsh(
        &["--cafile", &ca],
        &format!("connect --starttls 127.0.0.1 {only13} --tls-max 1.2\n"),
    );
    assert!(!out.status.success(), "{}", all_output(&out));
    let err = stderr(&out);
    assert!(err.contains("--tls-max 1.2"), "{err}");
    assert!(
        err.contains("refused TLS 1.2, the only version --tls-max 1.2 allows"),
        "{err}"
    );
    // --tls-min 1.3 on the ordinary port: status says TLS 1.3; --tls-max
    // 1.2 there: TLS 1.2.
    let plain = pf.smtp_port.to_string();
    for (option, version) in [("--tls-min", "1.3"), ("--tls-max", "1.2")] {
        let out = run_smtpsh(
            &["--cafile", &ca, option, version],
            &format!("connect --starttls 127.0.0.1 {plain}\nstatus\nexpect tls\n"),
        );
        assert!(out.status.success(), "{}", all_output(&out));
        assert!(
            stdout(&out).contains(&format!("tls:          TLS {version}, ")),
            "{}",
            stdout(&out)
        );
    }
}

#[test]
fn servername_and_no_sni() {
    let pf = Postfix::start();
    let ca = path_str(&pf.ca_pem_path());
    let port = pf.smtps_port.to_string();
    let out = run_smtpsh(
        &["--cafile", &ca],
        &format!(
            "connect --tls 127.0.0.1 {port} --servername localhost\nstatus\nquit\n\
             connect\nstatus\nquit\n\
             connect --tls localhost {port} --no-sni\nstatus\n"
        ),
    );
    assert!(out.status.success(), "{}", all_output(&out));
    let text = stdout(&out);
    let statuses: Vec<&str> = text.split("sni:").skip(1).collect();
    assert_eq!(statuses.len(), 3, "{text}");
    // --servername: sent and checked; kept by `connect` alone.
    for s in &statuses[..2] {
        assert!(s.starts_with("          localhost\n"), "{s}");
        assert!(s.contains("verified:     yes, for localhost"), "{s}");
    }
    assert!(
        statuses[2].starts_with("          none (--no-sni)"),
        "{}",
        statuses[2]
    );
    assert!(statuses[2].contains("verified:     yes, for localhost"));
    // A name the certificate does not hold is refused under that name.
    let out = run_smtpsh(
        &["--cafile", &ca, "--servername", "mx.example.org"],
        &format!("connect --tls 127.0.0.1 {port}\n"),
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("does not match the name \"mx.example.org\""),
        "{}",
        stderr(&out)
    );
}

/// The pin of a certificate file's key, computed with openssl as curl's
/// documentation for `--pinnedpubkey` does.
fn openssl_pin(cert: &Path) -> String {
    let script = format!(
        "openssl x509 -in '{}' -pubkey -noout | openssl pkey -pubin -outform der | \
         openssl dgst -sha256 -binary | openssl enc -base64",
        path_str(cert)
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("sha256:{}", String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn a_pin_is_accepted_without_the_ca_and_a_wrong_one_refused_with_both_pins() {
    let pf = Postfix::start();
    let pin = openssl_pin(&pf.cert_pem_path());
    let port = pf.smtps_port.to_string();
    // No --cafile: the chain does not verify; the pin alone vouches.
    let out = run_smtpsh(
        &["--pin", &pin],
        &format!("connect --tls 127.0.0.1 {port}\nstatus\nexpect tls\n"),
    );
    assert!(out.status.success(), "{}", all_output(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("key pin:      {pin} (matches --pin)")),
        "{text}"
    );
    assert!(text.contains("the pinned public key only"), "{text}");
    // With the CA trusted, a wrong pin is still refused: both pins shown.
    let wrong = "sha256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let out = run_smtpsh(
        &["--cafile", &path_str(&pf.ca_pem_path())],
        &format!("connect --tls 127.0.0.1 {port} --pin {wrong}\n"),
    );
    assert!(!out.status.success(), "{}", all_output(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("expected {wrong}")), "{err}");
    assert!(err.contains(&format!("--pin {pin}")), "{err}");
    // `status` shows the pin of a verified server, for copying.
    let out = run_smtpsh(
        &["--cafile", &path_str(&pf.ca_pem_path())],
        &format!("connect --tls 127.0.0.1 {port}\nstatus\n"),
    );
    assert!(
        stdout(&out).contains(&format!("key pin:      {pin}\n")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn status_shows_the_chain_and_cert_save_writes_it() {
    let pf = Postfix::start();
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("chain.pem");
    let out = run_smtpsh(
        &["--cafile", &path_str(&pf.ca_pem_path())],
        &format!(
            "connect --starttls 127.0.0.1 {}\nstatus\ncert save {}\n",
            pf.smtp_port,
            path_str(&saved)
        ),
    );
    assert!(out.status.success(), "{}", all_output(&out));
    let text = stdout(&out);
    assert!(
        text.contains("chain:        1 certificate sent by the server"),
        "{text}"
    );
    assert!(text.contains("  [1] server: CN=localhost"), "{text}");
    assert!(text.contains("    issuer:   CN=smtpsh test CA"), "{text}");
    assert!(
        text.contains("    names:    localhost, 127.0.0.1, ::1"),
        "{text}"
    );
    // The test certificates live two days: the expiry is warned.
    assert!(text.contains("expiry:       expires in "), "{text}");
    assert!(text.contains("renew it soon"), "{text}");
    assert!(text.contains("sni:          none (an IP address"), "{text}");
    assert!(
        text.contains("wrote the 1 certificate the server sent"),
        "{text}"
    );
    let read = |p: &Path| -> Vec<Vec<u8>> {
        CertificateDer::pem_file_iter(p)
            .expect("PEM")
            .map(|c| c.expect("certificate").to_vec())
            .collect()
    };
    assert_eq!(read(&saved), read(&pf.cert_pem_path()));
    // Never over an existing file, unless --force.
    let again = |force: &str| {
        run_smtpsh(
            &["--cafile", &path_str(&pf.ca_pem_path())],
            &format!(
                "connect --starttls 127.0.0.1 {}\ncert save {} {force}\n",
                pf.smtp_port,
                path_str(&saved)
            ),
        )
    };
    let out = again("");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("exists; nothing was written"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--force"));
    let out = again("--force");
    assert!(out.status.success(), "{}", all_output(&out));
    assert_eq!(read(&saved), read(&pf.cert_pem_path()));
}
