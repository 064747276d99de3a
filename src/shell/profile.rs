//! Profiles: named servers in the config file
//! (`$XDG_CONFIG_HOME/smtpsh/config.toml`, `$SMTPSH_CONFIG`, `--config`),
//! used by `connect NAME` and `smtpsh --profile NAME`. The format, every
//! key and the password sources are in `docs/profiles.md`.
//!
//! A profile becomes a [`Target`] — the same value `connect HOST PORT
//! --starttls` builds — so connecting, `connect` alone and `status` go
//! one way whichever made it. What is not about the connection (the user,
//! the AUTH mechanism, where the password comes from, the EHLO name) is
//! looked up in the profile the connection's target names.
//!
//! - [`password`]: where `auth` finds a password (`password`,
//!   `password_command`, the netrc file).
//! - [`netrc`]: the netrc file's format.

pub mod netrc;
pub mod password;

use super::cmd::tls::TlsMode;
use super::cmd::tls_options::{self, TlsControls};
use super::failure::Failure;
use super::session::Target;
use crate::smtp::sasl::{Mechanism, Secret};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The largest config file read (a config is a few hundred bytes).
const MAX_CONFIG: u64 = 1 << 20;

/// `tls = "..."` in a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum TlsKey {
    /// Port 465: implicit TLS; otherwise plaintext (STARTTLS with `require-tls`).
    Auto,
    /// TLS from the first byte.
    Implicit,
    /// Plaintext, then STARTTLS at once.
    Starttls,
}

/// The keys of a `[profile.NAME]` table or of `[defaults]`, as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Keys {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsKey>,
    cafile: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    servername: Option<String>,
    tls_min: Option<String>,
    tls_max: Option<String>,
    pin: Option<Vec<String>>,
    user: Option<String>,
    mechanism: Option<String>,
    password_command: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    password: Option<Secret>,
    ehlo: Option<String>,
    lmtp: Option<bool>,
}

/// `password = "..."`, read straight into a [`Secret`].
fn secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    String::deserialize(d).map(|s| Some(Secret::new(s)))
}

impl Keys {
    /// These keys, each missing one taken from `defaults`.
    fn or(self, defaults: &Keys) -> Keys {
        // `host = "h:465"` names its port: the default port is not for it.
        let host_has_port = self.host.as_deref().is_some_and(|h| {
            h.matches(':').count() == 1 || (h.starts_with('[') && h.contains("]:"))
        });
        Keys {
            port: self
                .port
                .or(if host_has_port { None } else { defaults.port }),
            host: self.host.or_else(|| defaults.host.clone()),
            tls: self.tls.or(defaults.tls),
            cafile: self.cafile.or_else(|| defaults.cafile.clone()),
            cert: self.cert.or_else(|| defaults.cert.clone()),
            key: self.key.or_else(|| defaults.key.clone()),
            servername: self.servername.or_else(|| defaults.servername.clone()),
            tls_min: self.tls_min.or_else(|| defaults.tls_min.clone()),
            tls_max: self.tls_max.or_else(|| defaults.tls_max.clone()),
            pin: self.pin.or_else(|| defaults.pin.clone()),
            user: self.user.or_else(|| defaults.user.clone()),
            mechanism: self.mechanism.or_else(|| defaults.mechanism.clone()),
            password_command: self
                .password_command
                .or_else(|| defaults.password_command.clone()),
            password: self.password.or_else(|| defaults.password.clone()),
            ehlo: self.ehlo.or_else(|| defaults.ehlo.clone()),
            lmtp: self.lmtp.or(defaults.lmtp),
        }
    }
}

/// The config file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    defaults: Keys,
    #[serde(default)]
    profile: BTreeMap<String, Keys>,
}

/// One named server, checked and with `[defaults]` applied.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Its name (`[profile.NAME]`).
    pub name: String,
    /// The host (name or address).
    pub host: String,
    /// The port (default 25, as `connect`'s).
    pub port: u16,
    /// How TLS comes in.
    pub mode: TlsMode,
    /// Its TLS controls (`cafile`, `cert`, `key`, `servername`,
    /// `tls_min`, `tls_max`, `pin`): only what it sets.
    pub tls: TlsControls,
    /// The user `auth` logs in as.
    pub user: Option<String>,
    /// The mechanism `auth` uses.
    pub mechanism: Option<Mechanism>,
    /// A command whose output's first line is the password (`sh -c`),
    /// run only when `auth` needs a password.
    pub password_command: Option<String>,
    /// The password itself (allowed only in a file nobody else can read).
    pub password: Option<Secret>,
    /// The name `ehlo` (and every automatic EHLO) greets with.
    pub ehlo: Option<String>,
    /// Speak LMTP (`lmtp = true`): LHLO, one reply per recipient.
    pub lmtp: bool,
    /// `host = "unix:/path"`: the UNIX-domain socket to connect to.
    pub socket: Option<PathBuf>,
}

impl Profile {
    /// The connection this profile makes: what `connect` would be given,
    /// its TLS controls over `base` (the command line's).
    pub fn target(&self, base: &TlsControls) -> Target {
        Target {
            host: self.host.clone(),
            port: self.port,
            mode: self.mode,
            net: Default::default(),
            tls: layered(base, &self.tls),
            profile: Some(self.name.clone()),
            lmtp: self.lmtp,
            socket: self.socket.clone(),
        }
    }
}

/// The TLS controls of `upper` where it sets them, else those of `lower`
/// (`insecure` and `no_sni` when either asks for them).
pub fn layered(lower: &TlsControls, upper: &TlsControls) -> TlsControls {
    let mut c = lower.clone();
    if upper.cafile.is_some() {
        c.cafile = upper.cafile.clone();
    }
    if upper.cert.is_some() {
        // A certificate brings its own key (or none: in its file).
        c.cert = upper.cert.clone();
        c.key = upper.key.clone();
    }
    if upper.servername.is_some() {
        c.servername = upper.servername.clone();
    }
    c.tls_min = upper.tls_min.or(c.tls_min);
    c.tls_max = upper.tls_max.or(c.tls_max);
    if !upper.pins.is_empty() {
        c.pins = upper.pins.clone();
    }
    c.insecure |= upper.insecure;
    c.no_sni |= upper.no_sni;
    c
}

/// The profiles of the config file, where it is, and why it could not be
/// read if it could not.
#[derive(Debug, Default)]
pub struct Profiles {
    /// The config file, when there is one (or one was named).
    pub path: Option<PathBuf>,
    /// The profiles by name.
    pub map: BTreeMap<String, Profile>,
    /// Why the file could not be used: said at start, and by every use
    /// of a profile.
    pub error: Option<Failure>,
    /// The netrc file (`$NETRC`, `~/.netrc`), read when `auth` needs a
    /// password and nothing else gives one.
    pub netrc: Option<PathBuf>,
}

impl Profiles {
    /// Reads the config file: `file` (`--config`), else `$SMTPSH_CONFIG`,
    /// else `$XDG_CONFIG_HOME/smtpsh/config.toml`. A default file that
    /// does not exist gives no profiles and no error.
    pub fn load(file: Option<&Path>) -> Profiles {
        let netrc = crate::local::netrc_file();
        let (path, named) = match file {
            Some(f) => (f.to_path_buf(), true),
            None => match crate::local::config_file() {
                Some(found) => found,
                None => {
                    return Profiles {
                        netrc,
                        ..Profiles::default()
                    };
                }
            },
        };
        if !named && !path.exists() {
            return Profiles {
                netrc,
                ..Profiles::default()
            };
        }
        let (map, error) = match read(&path) {
            Ok(map) => (map, None),
            Err(f) => (BTreeMap::new(), Some(f)),
        };
        Profiles {
            path: Some(path),
            map,
            error,
            netrc,
        }
    }

    /// The profile `name`, or why there is none (the config file's error,
    /// or the names there are).
    pub fn get(&self, name: &str) -> Result<&Profile, Failure> {
        if let Some(p) = self.map.get(name) {
            return Ok(p);
        }
        if let Some(e) = &self.error {
            return Err(e.clone().also(format!(
                "no profile ({name} or another) can be used until the config file is fixed"
            )));
        }
        let f = Failure::local(format!("no profile named {name}"));
        Err(match (&self.path, self.map.is_empty()) {
            (None, _) => f.hint(format!(
                "profiles are [profile.NAME] tables in {} (see docs/profiles.md)",
                crate::local::config_file()
                    .map_or("$XDG_CONFIG_HOME/smtpsh/config.toml".into(), |(p, _)| p
                        .display()
                        .to_string())
            )),
            (Some(p), true) => f.hint(format!("{} defines no profile", p.display())),
            (Some(p), false) => f.hint(format!(
                "{} defines: {}",
                p.display(),
                self.names().join(", ")
            )),
        })
    }

    /// The profile names, sorted (for Tab and hints).
    pub fn names(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }
}

/// Reads and checks the config file at `path`.
fn read(path: &Path) -> Result<BTreeMap<String, Profile>, Failure> {
    use std::io::Read;
    let shown = path.display();
    let mut text = String::new();
    let file = std::fs::File::open(path)
        .map_err(|e| Failure::local(format!("cannot read the config file {shown}: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| Failure::local(format!("cannot read the config file {shown}: {e}")))?;
    file.take(MAX_CONFIG + 1)
        .read_to_string(&mut text)
        .map_err(|e| Failure::local(format!("cannot read the config file {shown}: {e}")))?;
    if text.len() as u64 > MAX_CONFIG {
        return Err(Failure::local(format!(
            "the config file {shown} is over {} bytes",
            MAX_CONFIG
        )));
    }
    let parsed: ConfigFile = toml::from_str(&text).map_err(|e| syntax_error(path, &text, &e))?;
    let holds_password =
        parsed.defaults.password.is_some() || parsed.profile.values().any(|k| k.password.is_some());
    if holds_password {
        private_check(path, &meta, "holds a password (`password = ...`)")?;
    }
    let base = path.parent().unwrap_or(Path::new("."));
    let mut map = BTreeMap::new();
    for (name, keys) in parsed.profile {
        let profile = check(path, base, &name, keys.or(&parsed.defaults))?;
        map.insert(name, profile);
    }
    Ok(map)
}

/// A file that holds a secret must be readable by its owner only.
pub fn private_check(path: &Path, meta: &std::fs::Metadata, why: &str) -> Result<(), Failure> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o044 == 0 {
        return Ok(());
    }
    Err(Failure::local(format!(
        "{} {why} but others can read it (mode {mode:03o}): refused",
        path.display()
    ))
    .hint(format!(
        "make it private: chmod 600 {}",
        super::args::quote_word(&path.display().to_string())
    )))
}

/// A TOML error as `FILE:LINE:COL: message`.
fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> Failure {
    let place = match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("{}:{line}:{col}", path.display())
        }
        None => path.display().to_string(),
    };
    // An unknown key: serde's list of the expected keys would say the
    // hint's again (an unknown value keeps its list of values).
    let message = e.message().trim_end().replace('\n', " ");
    let message = match message.split_once(", expected one of") {
        Some((field, _)) if field.starts_with("unknown field") => field,
        _ => &message,
    };
    Failure::local(format!("{place}: {message}"))
    .hint("the keys of a profile: host, port, tls, cafile, cert, key, servername, tls_min, tls_max, pin, user, mechanism, password_command, password, ehlo, lmtp (docs/profiles.md)")
}

/// A profile's keys checked and made into a [`Profile`].
fn check(path: &Path, base: &Path, name: &str, keys: Keys) -> Result<Profile, Failure> {
    let wrong =
        |what: String| Failure::local(format!("{}: [profile.{name}]: {what}", path.display()));
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return Err(wrong(
            "a profile name is letters, digits, `-`, `_` and `.`".into(),
        ));
    }
    if name.eq_ignore_ascii_case("sandbox") {
        return Err(wrong(
            "`sandbox` is the built-in server's name; choose another".into(),
        ));
    }
    let Some(host) = keys.host else {
        return Err(wrong("no host (host = \"smtp.example.org\")".into()));
    };
    let mode = match keys.tls {
        None | Some(TlsKey::Auto) => TlsMode::Auto,
        Some(TlsKey::Implicit) => TlsMode::Implicit,
        Some(TlsKey::Starttls) => TlsMode::StartTls,
    };
    let lmtp = keys.lmtp.unwrap_or(false);
    // `unix:/path` (a socket) or HOST[:PORT], read as `connect` reads them.
    let port = keys.port.map(|p| p.to_string());
    let target = super::cmd::connect::parse_target(&host, port.as_deref(), mode, lmtp)
        .map_err(|f| wrong(format!("host: {}", f.message)))?;
    let (host, port, socket) = (target.host, target.port, target.socket);
    let mechanism = match keys.mechanism {
        Some(m) => Some(Mechanism::parse(&m).ok_or_else(|| {
            let known: Vec<&str> = Mechanism::ALL.iter().map(|m| m.name()).collect();
            wrong(format!(
                "mechanism {m:?} is not one smtpsh supports ({})",
                known.join(", ")
            ))
        })?),
        None => None,
    };
    for (key, value) in [("user", &keys.user), ("ehlo", &keys.ehlo)] {
        if value
            .as_deref()
            .is_some_and(|v| v.is_empty() || v.chars().any(|c| c.is_control() || c == ' '))
        {
            return Err(wrong(format!(
                "{key} is empty or holds a space or a control character"
            )));
        }
    }
    let version = |key: &str, v: Option<String>| {
        v.map(|v| tls_options::parse_version(key, &v))
            .transpose()
            .map_err(|f| wrong(f.message))
    };
    let tls = TlsControls {
        cafile: keys.cafile.map(|p| expand_path(base, &p)),
        cert: keys.cert.map(|p| expand_path(base, &p)),
        key: keys.key.map(|p| expand_path(base, &p)),
        servername: keys.servername,
        tls_min: version("tls_min", keys.tls_min)?,
        tls_max: version("tls_max", keys.tls_max)?,
        pins: keys
            .pin
            .unwrap_or_default()
            .iter()
            .map(|p| tls_options::parse_pin(p))
            .collect::<Result<_, _>>()
            .map_err(|f| wrong(f.message.replacen("--pin", "pin", 1)))?,
        ..TlsControls::default()
    };
    tls.check().map_err(|f| {
        wrong(
            f.message
                .replace("--key", "key")
                .replace("--cert", "cert")
                .replace("--tls-", "tls_")
                .replace("--servername", "servername"),
        )
    })?;
    Ok(Profile {
        name: name.to_string(),
        host,
        port,
        mode,
        tls,
        user: keys.user,
        mechanism,
        password_command: keys.password_command,
        password: keys.password,
        ehlo: keys.ehlo,
        lmtp,
        socket,
    })
}

/// A path from the config file: `~/` is the home directory, and a
/// relative path is relative to the config file's directory.
fn expand_path(base: &Path, p: &Path) -> PathBuf {
    if let Ok(rest) = p.strip_prefix("~")
        && let Ok(home) = etcetera::home_dir()
    {
        return home.join(rest);
    }
    base.join(p)
}

#[cfg(test)]
mod tests;
