//! The server's certificate chain: what `status` shows about an
//! encrypted connection (version, cipher, SNI, each certificate, the days
//! left, the key's pin, the client certificate) and `cert show`/`cert
//! save FILE`.

use crate::shell::args::Args;
use crate::shell::failure::Failure;
use crate::shell::output::Tone;
use crate::shell::session::Session;
use crate::smtp::tls::{CertSummary, TlsInfo};
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Days left before a certificate expires below which `status` warns.
pub const EXPIRY_WARNING_DAYS: i64 = 14;

/// Whole days from now until `not_after` (negative once past).
pub fn days_left(not_after_unix: i64, now: SystemTime) -> i64 {
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    };
    (not_after_unix.saturating_sub(now)).div_euclid(86_400)
}

/// "expires in 3 days" (yellow under [`EXPIRY_WARNING_DAYS`]), or
/// "EXPIRED 2 days ago" (red).
fn expiry(s: &Session, not_after_unix: i64) -> String {
    let days = days_left(not_after_unix, SystemTime::now());
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    if days < 0 {
        let ago = -days;
        return s
            .out
            .paint(Tone::Red, &format!("EXPIRED {ago} day{} ago", plural(ago)));
    }
    let text = format!("expires in {days} day{}", plural(days));
    if days < EXPIRY_WARNING_DAYS {
        s.out
            .paint(Tone::Yellow, &format!("{text} — renew it soon"))
    } else {
        text
    }
}

/// The lines of one certificate, indented under its heading.
fn certificate_lines(lines: &mut Vec<String>, heading: String, cert: &CertSummary) {
    lines.push(format!("{heading}{}", cert.subject));
    lines.push(format!("    issuer:   {}", cert.issuer));
    lines.push(format!(
        "    valid:    {} to {}",
        cert.not_before, cert.not_after
    ));
    if !cert.names.is_empty() {
        lines.push(format!("    names:    {}", cert.names.join(", ")));
    }
}

/// The `status` lines of an encrypted connection.
pub fn status_lines(s: &Session, info: &TlsInfo) -> Vec<String> {
    let mut lines = vec![format!("tls:          {}, {}", info.version, info.cipher)];
    lines.push(match &info.sni {
        Some(name) => format!("sni:          {name}"),
        None if info.name.parse::<std::net::IpAddr>().is_ok() => {
            "sni:          none (an IP address is never sent as SNI)".to_string()
        }
        None => "sni:          none (--no-sni)".to_string(),
    });
    let summaries = info.chain_summaries();
    lines.push(format!(
        "chain:        {} certificate{} sent by the server",
        summaries.len(),
        if summaries.len() == 1 { "" } else { "s" }
    ));
    for (i, summary) in summaries.iter().enumerate() {
        let heading = format!(
            "  [{}] {} ",
            i + 1,
            if i == 0 { "server:" } else { "CA:    " }
        );
        match summary {
            Some(cert) => certificate_lines(&mut lines, heading, cert),
            None => lines.push(format!("{heading}(not readable)")),
        }
    }
    if let Some(Some(leaf)) = summaries.first() {
        lines.push(format!(
            "expiry:       {} ({})",
            expiry(s, leaf.not_after_unix),
            leaf.not_after
        ));
    }
    if let Some(pin) = &info.pin {
        let pinned = if info.pinned { " (matches --pin)" } else { "" };
        lines.push(format!("key pin:      {pin}{pinned}"));
    }
    lines.push(if info.verified() {
        format!(
            "verified:     yes, for {}, against {}",
            info.name, info.trust
        )
    } else {
        "verified:     NO (--insecure)".to_string()
    });
    if info.client_cert_requested {
        lines.push(if info.client_cert_given {
            "client cert:  asked for by the server; sent (--cert)".to_string()
        } else {
            "client cert:  asked for by the server; none sent (--cert gives one)".to_string()
        });
    }
    lines
}

/// The chain of the encrypted connection, or why there is none.
fn chain(s: &Session) -> Result<&TlsInfo, Failure> {
    let Some(live) = s.live.as_ref() else {
        return Err(s.not_connected());
    };
    live.conn.tls_info().ok_or_else(|| {
        Failure::local("this connection is not encrypted: there is no certificate chain")
            .hint("`starttls` (or `connect --tls HOST 465`) first")
    })
}

/// The chain as PEM, the server's certificate first.
pub fn chain_pem(info: &TlsInfo) -> String {
    info.chain
        .iter()
        .map(|der| {
            let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der);
            for line in b64.as_bytes().chunks(64) {
                pem.push_str(&String::from_utf8_lossy(line));
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
            pem
        })
        .collect()
}

/// `cert show | cert save FILE [--force]`.
pub fn cert(s: &mut Session, a: Args) -> Result<(), Failure> {
    let usage = || {
        Failure::local("usage: cert show | cert save FILE [--force]")
            .hint("`cert save server-chain.pem` writes the chain the server sent as PEM")
    };
    match a.words.first().map(|w| w.to_ascii_lowercase()).as_deref() {
        Some("show") if a.words.len() == 1 => {
            let pem = chain_pem(chain(s)?);
            for line in pem.lines() {
                s.out.verbatim(line);
            }
            Ok(())
        }
        Some("save") if a.words.len() == 2 => {
            let path = &crate::local::expand_tilde(&a.words[1]);
            let info = chain(s)?;
            let pem = chain_pem(info);
            let count = info.chain.len();
            save(path, &pem, a.flag("--force"))?;
            s.out.ok(&format!(
                "wrote the {} certificate{} the server sent ({} bytes of PEM, its own first) to {}",
                count,
                if count == 1 { "" } else { "s" },
                pem.len(),
                path.display()
            ));
            Ok(())
        }
        _ => Err(usage()),
    }
}

/// Writes `pem` to `path`: a new file, or any with `force`.
fn save(path: &Path, pem: &str, force: bool) -> Result<(), Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::local(format!("{} exists; nothing was written", path.display()))
                .hint("`cert save FILE --force` replaces it")
        } else {
            Failure::local(format!("cannot write {}: {e}", path.display()))
        }
    })?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| Failure::local(format!("cannot write {}: {e}", path.display())))
}

/// The certificates of a PEM text, as DER.
#[cfg(test)]
fn pem_certificates(pem: &str) -> Vec<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .filter_map(Result::ok)
        .map(|c| c.to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn days_left_counts_whole_days() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(days_left(1_000_000 + 86_400 * 3 + 5, now), 3);
        assert_eq!(days_left(1_000_000 + 86_399, now), 0);
        assert_eq!(days_left(1_000_000 - 1, now), -1);
    }

    #[test]
    fn the_chain_as_pem_reads_back_the_same() {
        let der = |name: &str| {
            let key = rcgen::KeyPair::generate().unwrap();
            rcgen::CertificateParams::new(vec![name.to_string()])
                .unwrap()
                .self_signed(&key)
                .unwrap()
                .der()
                .to_vec()
        };
        let chain = vec![der("a.example"), der("b.example")];
        let info = TlsInfo {
            version: "TLS 1.3".into(),
            cipher: "x".into(),
            certificate: None,
            chain_length: 2,
            chain: chain.clone(),
            pin: None,
            pinned: false,
            name: "a.example".into(),
            sni: Some("a.example".into()),
            client_cert_requested: false,
            client_cert_given: false,
            trust: crate::smtp::tls::Trust::Insecure,
            discarded: 0,
        };
        let pem = chain_pem(&info);
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(pem_certificates(&pem), chain);
    }
}
