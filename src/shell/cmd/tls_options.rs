//! The TLS controls of a connection ([`TlsControls`]): the CA file,
//! `--insecure`, the client certificate, the name checked and sent as
//! SNI, the TLS versions and the key pins. The command line gives the
//! defaults ([`crate::shell::settings::Settings::tls`]); `connect` and
//! `starttls` options change them for one target, which keeps them (so
//! `connect` alone reconnects with them).

use crate::shell::args::Args;
use crate::shell::failure::Failure;
use crate::smtp::tls::{ClientCert, ExtraRoot, Pin, TlsOptions, TlsVersion};
use std::path::PathBuf;

/// What the user asked of TLS for a connection. A plain struct: the
/// command line, `connect`'s options and profiles all fill it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsControls {
    /// `--cafile FILE`: trust only the CA certificates in this PEM file.
    pub cafile: Option<PathBuf>,
    /// `--insecure`: do not verify the certificate (warned at every connect).
    pub insecure: bool,
    /// `--cert FILE`: the client certificate (PEM; its chain may follow,
    /// and the key too when `key` is `None`).
    pub cert: Option<PathBuf>,
    /// `--key FILE`: the client certificate's private key (PEM).
    pub key: Option<PathBuf>,
    /// `--servername NAME`: the name checked in the certificate and sent
    /// as SNI, instead of the host.
    pub servername: Option<String>,
    /// `--no-sni`: send no SNI.
    pub no_sni: bool,
    /// `--tls-min 1.2|1.3`.
    pub tls_min: Option<TlsVersion>,
    /// `--tls-max 1.2|1.3`.
    pub tls_max: Option<TlsVersion>,
    /// `--pin sha256:BASE64` (any of them must match the server's key).
    pub pins: Vec<Pin>,
}

/// Reads `--tls-min`/`--tls-max` values.
pub fn parse_version(option: &str, value: &str) -> Result<TlsVersion, Failure> {
    TlsVersion::parse(value).ok_or_else(|| {
        Failure::local(format!(
            "{option} {value}: smtpsh speaks TLS 1.2 and 1.3 only (rustls has nothing older, \
             and there is nothing newer)"
        ))
        .hint(format!("{option} 1.2 or {option} 1.3"))
    })
}

/// Reads a `--pin` value.
pub fn parse_pin(value: &str) -> Result<Pin, Failure> {
    Pin::parse(value).map_err(|why| {
        Failure::local(format!("--pin {value}: {why}"))
            .hint("`status` shows the server key's pin after a TLS handshake")
    })
}

impl TlsControls {
    /// These controls changed by the options in `a` (those it does not
    /// give stay as they are; several `--pin` replace the pins together).
    pub fn with_args(&self, a: &Args) -> Result<TlsControls, Failure> {
        let mut c = self.clone();
        let path = |name: &str| a.opt(name).map(crate::local::expand_tilde);
        if let Some(p) = path("--cafile") {
            c.cafile = Some(p);
        }
        c.insecure |= a.flag("--insecure");
        if let Some(p) = path("--cert") {
            c.cert = Some(p);
            // A new certificate without --key: its key is in its file.
            c.key = None;
        }
        if let Some(p) = path("--key") {
            c.key = Some(p);
        }
        if let Some(name) = a.opt("--servername") {
            c.servername = Some(name.to_string());
        }
        c.no_sni |= a.flag("--no-sni");
        if let Some(v) = a.opt("--tls-min") {
            c.tls_min = Some(parse_version("--tls-min", v)?);
        }
        if let Some(v) = a.opt("--tls-max") {
            c.tls_max = Some(parse_version("--tls-max", v)?);
        }
        let pins: Vec<&str> = a
            .opts
            .iter()
            .filter(|(n, _)| n == "--pin")
            .filter_map(|(_, v)| v.as_deref())
            .collect();
        if !pins.is_empty() {
            c.pins = pins.into_iter().map(parse_pin).collect::<Result<_, _>>()?;
        }
        c.check()?;
        Ok(c)
    }

    /// Refuses what cannot go together.
    pub fn check(&self) -> Result<(), Failure> {
        if self.key.is_some() && self.cert.is_none() {
            return Err(
                Failure::local("--key needs --cert (the certificate it belongs to)")
                    .hint("--cert client.pem --key client.key"),
            );
        }
        if let (Some(min), Some(max)) = (self.tls_min, self.tls_max)
            && min > max
        {
            return Err(Failure::local(format!(
                "--tls-min {} is newer than --tls-max {}: no TLS version is left",
                min.number(),
                max.number()
            )));
        }
        if let Some(name) = &self.servername
            && (name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()))
        {
            return Err(
                Failure::local("--servername needs a host name, without spaces")
                    .hint("example: --servername mail.example.org"),
            );
        }
        Ok(())
    }

    /// The options for the TLS layer, with the extra trusted roots.
    pub fn options(&self, extra_roots: Vec<ExtraRoot>) -> TlsOptions {
        TlsOptions {
            cafile: self.cafile.clone(),
            insecure: self.insecure,
            extra_roots,
            client_cert: self.cert.as_ref().map(|cert| ClientCert {
                cert: cert.clone(),
                key: self.key.clone(),
            }),
            servername: self.servername.clone(),
            no_sni: self.no_sni,
            min_version: self.tls_min,
            max_version: self.tls_max,
            pins: self.pins.clone(),
        }
    }

    /// The options as command-line words (`--cert /abs/client.pem ...`),
    /// paths as given.
    pub fn words(&self) -> Vec<String> {
        let mut w = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            w.push(name.to_string());
            w.extend(value);
        };
        if let Some(p) = &self.cafile {
            push("--cafile", Some(p.display().to_string()));
        }
        if self.insecure {
            push("--insecure", None);
        }
        if let Some(p) = &self.cert {
            push("--cert", Some(p.display().to_string()));
        }
        if let Some(p) = &self.key {
            push("--key", Some(p.display().to_string()));
        }
        if let Some(n) = &self.servername {
            push("--servername", Some(n.clone()));
        }
        if self.no_sni {
            push("--no-sni", None);
        }
        if let Some(v) = self.tls_min {
            push("--tls-min", Some(v.number().to_string()));
        }
        if let Some(v) = self.tls_max {
            push("--tls-max", Some(v.number().to_string()));
        }
        for pin in &self.pins {
            push("--pin", Some(pin.to_string()));
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::args::parse_line;

    fn controls(line: &str) -> Result<TlsControls, Failure> {
        let (_, args) = parse_line(line)?;
        TlsControls::default().with_args(&args)
    }

    #[test]
    fn connect_options_fill_the_controls() {
        let pin = Pin::of_spki(b"k");
        let c = controls(&format!(
            "connect host 25 --cert c.pem --key k.pem --servername mx.example.org --no-sni \
             --tls-min 1.3 --pin {pin} --pin {pin} --cafile ca.pem --insecure"
        ))
        .unwrap();
        assert_eq!(c.cert, Some(PathBuf::from("c.pem")));
        assert_eq!(c.key, Some(PathBuf::from("k.pem")));
        assert_eq!(c.servername.as_deref(), Some("mx.example.org"));
        assert!(c.no_sni && c.insecure);
        assert_eq!(c.tls_min, Some(TlsVersion::V1_3));
        assert_eq!(c.pins, vec![pin, pin]);
        assert_eq!(c.cafile, Some(PathBuf::from("ca.pem")));
        // Back to words and in again: the same.
        let line = format!(
            "connect host {}",
            shlex::try_join(c.words().iter().map(String::as_str)).unwrap()
        );
        assert_eq!(controls(&line).unwrap(), c);
    }

    #[test]
    fn bad_values_are_refused_with_a_hint() {
        let e = controls("connect h --tls-min 1.1").unwrap_err();
        assert!(e.message.contains("1.2 and 1.3"), "{}", e.message);
        let e = controls("connect h --pin md5:x").unwrap_err();
        assert!(e.message.contains("sha256:BASE64"), "{}", e.message);
        let e = controls("connect h --key k.pem").unwrap_err();
        assert!(e.message.contains("--key needs --cert"), "{}", e.message);
        let e = controls("connect h --tls-min 1.3 --tls-max 1.2").unwrap_err();
        assert!(
            e.message.contains("no TLS version is left"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_new_certificate_forgets_the_old_key() {
        let base = controls("connect h --cert a.pem --key a.key").unwrap();
        let (_, args) = parse_line("connect --cert b.pem").unwrap();
        let c = base.with_args(&args).unwrap();
        assert_eq!(c.cert, Some(PathBuf::from("b.pem")));
        assert_eq!(c.key, None);
    }
}
