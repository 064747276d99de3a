//! Facts about this machine and user that several layers need: the host
//! name (EHLO, Message-ID, Maildir names) and where smtpsh keeps its files.
//!
//! Files follow the XDG base directories (through `etcetera`: a variable
//! that is unset, empty or relative is ignored, and the home directory is
//! the fallback), each overridable by a variable of smtpsh's own:
//!
//! | what | override | default |
//! | --- | --- | --- |
//! | history | `$SMTPSH_HISTORY` (a file) | `$XDG_STATE_HOME/smtpsh/history` |
//! | dead letters | — | `$XDG_STATE_HOME/smtpsh/dead-letter/` |
//! | sandbox (Maildir, CA) | `$SMTPSH_SANDBOX_DIR` | `$XDG_DATA_HOME/smtpsh/sandbox/` |
//! | config file (profiles) | `$SMTPSH_CONFIG` (or `--config`) | `$XDG_CONFIG_HOME/smtpsh/config.toml` |
//! | init file | — (`--no-init` skips it) | `$XDG_CONFIG_HOME/smtpsh/init.smtp` |
//! | netrc (passwords) | `$NETRC` | `~/.netrc` |
//!
//! `$XDG_STATE_HOME` defaults to `~/.local/state`, `$XDG_DATA_HOME` to
//! `~/.local/share`, `$XDG_CONFIG_HOME` to `~/.config`.

use etcetera::BaseStrategy;
use etcetera::base_strategy::Xdg;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// 64 random bits from the operating system's generator (Message-IDs,
/// MIME boundaries, sandbox queue ids and Maildir names). Should it fail
/// (no `getrandom(2)` and no `/dev/urandom`), a process-wide counter mixed
/// with the clock and the pid: still unique, no longer unpredictable,
/// which is all those identifiers need.
pub fn random_u64() -> u64 {
    if let Ok(n) = getrandom::u64() {
        return n;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// This machine's host name, or `localhost` when it has none that is a
/// valid DNS name: only ASCII letters, digits, `-` and `.`. Read once per
/// process (EHLO, every Message-ID and Maildir delivery ask for it).
pub fn host_name() -> String {
    static HOST_NAME: OnceLock<String> = OnceLock::new();
    HOST_NAME.get_or_init(read_host_name).clone()
}

/// The host name from the kernel (or `/etc/hostname`), checked.
fn read_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 253
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .unwrap_or_else(|| "localhost".to_string())
}

/// This host's name as a fully qualified domain: the host name when it
/// has a dot, else `NAME.localdomain` (for Message-ID and Maildir names).
pub fn domain_name() -> String {
    let h = host_name();
    if h.contains('.') {
        h
    } else {
        format!("{h}.localdomain")
    }
}

/// A variable's value when it is set and not empty.
fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A base directory from `pick`, when it is absolute (a relative one
/// would depend on the directory smtpsh happens to run in).
fn base(pick: impl FnOnce(&Xdg) -> Option<PathBuf>) -> Option<PathBuf> {
    Xdg::new()
        .ok()
        .and_then(|x| pick(&x))
        .filter(|d| d.is_absolute())
        .map(|d| d.join("smtpsh"))
}

/// `$XDG_STATE_HOME/smtpsh` (history, dead letters).
fn state_dir() -> Option<PathBuf> {
    base(Xdg::state_dir)
}

/// `$XDG_CONFIG_HOME/smtpsh` (the config file, the init file).
fn config_dir() -> Option<PathBuf> {
    base(|x| Some(x.config_dir()))
}

/// The config file with the profiles: `$SMTPSH_CONFIG`, else
/// `config_dir()/config.toml`; and whether it was named (a named file
/// that is missing is an error, the default one is simply absent).
pub fn config_file() -> Option<(PathBuf, bool)> {
    match env_path("SMTPSH_CONFIG") {
        Some(p) => Some((p, true)),
        None => config_dir().map(|d| (d.join("config.toml"), false)),
    }
}

/// The init file run at interactive start: `config_dir()/init.smtp`.
pub fn init_file() -> Option<PathBuf> {
    config_dir().map(|d| d.join("init.smtp"))
}

/// The netrc file (`machine HOST login USER password PW`): `$NETRC`, else
/// `~/.netrc`.
pub fn netrc_file() -> Option<PathBuf> {
    env_path("NETRC").or_else(|| {
        etcetera::home_dir()
            .ok()
            .filter(|h| h.is_absolute())
            .map(|h| h.join(".netrc"))
    })
}

/// `$XDG_DATA_HOME/smtpsh` (the sandbox's mail).
fn data_dir() -> Option<PathBuf> {
    base(|x| Some(x.data_dir()))
}

/// The history file: `$SMTPSH_HISTORY`, else `state_dir()/history`.
pub fn history_file() -> Option<PathBuf> {
    env_path("SMTPSH_HISTORY").or_else(|| state_dir().map(|d| d.join("history")))
}

/// Where messages a script failed to send are kept: `state_dir()/dead-letter`.
pub fn dead_letter_dir() -> Option<PathBuf> {
    state_dir().map(|d| d.join("dead-letter"))
}

/// The sandbox's directory (its `Maildir/` and `ca.pem`):
/// `$SMTPSH_SANDBOX_DIR`, else `data_dir()/sandbox`.
pub fn sandbox_dir() -> Option<PathBuf> {
    env_path("SMTPSH_SANDBOX_DIR").or_else(|| data_dir().map(|d| d.join("sandbox")))
}

/// Creates `dir` and its missing parents, readable by this user only
/// (mode 0700): history, dead letters, the sandbox's Maildir.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A path as typed, with a leading `~/` standing for the home directory.
pub fn expand_tilde(typed: &str) -> PathBuf {
    if let Some(rest) = typed.strip_prefix("~/")
        && let Some(home) = std::env::home_dir().filter(|h| h.is_absolute())
    {
        return home.join(rest);
    }
    PathBuf::from(typed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_is_a_dns_name() {
        let h = host_name();
        assert!(!h.is_empty());
        assert!(
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        );
        assert!(domain_name().contains('.'));
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_u64(), random_u64());
    }

    #[test]
    fn tilde_expands_only_at_the_start() {
        assert_eq!(expand_tilde("a/~/b"), PathBuf::from("a/~/b"));
        assert_eq!(expand_tilde("/x"), PathBuf::from("/x"));
        if let Some(home) = std::env::home_dir().filter(|h| h.is_absolute()) {
            assert_eq!(expand_tilde("~/x.txt"), home.join("x.txt"));
        }
    }
}
