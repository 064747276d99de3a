//! The sandbox: a real, strict SMTP server that runs inside the smtpsh
//! process on a free loopback port, so a newcomer can try everything with
//! no mail server at hand (`smtpsh --sandbox`, `connect sandbox`).
//!
//! - [`server`]: the listener and the SMTP state machine (one thread per
//!   connection; STARTTLS, AUTH PLAIN/LOGIN, PIPELINING, SIZE, 8BITMIME,
//!   SMTPUTF8, ENHANCEDSTATUSCODES).
//! - [`cert`]: the certificate authority and server certificate made at start.
//! - [`maildir`]: accepted messages become files in a Maildir.
//! - [`inbox`]: reading that Maildir back: the list, one message as a tree
//!   of MIME parts with SHA-256 digests, attachments decoded.
//!
//! # Why our own server
//!
//! `mailin-embedded` (0.8, blocking I/O, rustls 0.23) was the maintained
//! crate that came closest. It was not used because the sandbox has to
//! control exactly what a strict server replies (503/501/500/552/554 with
//! enhanced codes, bare CR/LF refusal, line-length limits, discarding
//! plaintext pipelined after STARTTLS), needs its state machine testable on
//! in-memory streams, wants its certificate from memory rather than from
//! files, and should not bring a thread-pool crate and a second SMTP parser
//! into the tree. The server here is a few hundred lines on std threads.
//!
//! # Decisions
//!
//! - **Loopback only**: the listener binds `127.0.0.1` with port 0 (a free
//!   port each start, so two smtpsh processes never collide).
//! - **AUTH** (PLAIN, LOGIN) is announced before and after STARTTLS: the
//!   connection never leaves the machine, so the password cannot be seen on
//!   a network (smtpsh's client likewise allows plaintext AUTH only on
//!   loopback). Mail is accepted without AUTH too, as a submission server
//!   on loopback might; AUTH only shows up in the `Received:` header
//!   (`ESMTPA`/`ESMTPSA`). The demo account is fixed ([`DEMO_USER`],
//!   [`DEMO_PASSWORD`]) so scripts can use it; it guards nothing that is not
//!   open anyway.
//! - **Bare CR or LF** in a command or in message text is refused (strict,
//!   like Postfix's `smtpd_forbid_bare_newline`): a command ending in a bare
//!   LF gets `500 5.5.2`; a message containing one is read to its real end
//!   (`<CRLF>.<CRLF>`, the only end of data) and refused with `550 5.5.2`,
//!   so no ambiguous end-of-data ("SMTP smuggling") is ever accepted.
//! - **Limits**: command lines 512 octets, text lines 1000 octets, AUTH
//!   responses 12288 octets (all with CRLF); messages [`MAX_MESSAGE_SIZE`].

pub mod cert;
pub mod inbox;
pub mod maildir;
pub mod server;

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The demo account's user name.
pub const DEMO_USER: &str = "demo";
/// The demo account's password.
pub const DEMO_PASSWORD: &str = "sandbox-password";
/// The largest message the sandbox accepts (announced as `SIZE`), 50 MiB.
pub const MAX_MESSAGE_SIZE: u64 = 50 * 1024 * 1024;
/// The name of the CA certificate file in the sandbox directory.
pub const CA_FILE_NAME: &str = "ca.pem";

/// Why the sandbox could not start.
#[derive(Debug)]
pub enum SandboxError {
    /// The sandbox directory could not be found (no `$HOME`).
    NoDirectory,
    /// A file or directory could not be created.
    Io {
        /// What we were doing.
        what: String,
        /// Why it failed.
        source: io::Error,
    },
    /// The certificate or the TLS configuration could not be made.
    Tls(String),
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::NoDirectory => f.write_str(
                "cannot find a directory for the sandbox's mail: set SMTPSH_SANDBOX_DIR, \
                 XDG_DATA_HOME or HOME",
            ),
            SandboxError::Io { what, source } => write!(f, "{what}: {source}"),
            SandboxError::Tls(why) => write!(f, "cannot set up the sandbox's TLS: {why}"),
        }
    }
}

impl std::error::Error for SandboxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SandboxError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The Maildir of the sandbox's directory, [`crate::local::sandbox_dir`]
/// (`$SMTPSH_SANDBOX_DIR`, else `$XDG_DATA_HOME/smtpsh/sandbox`, else
/// `~/.local/share/smtpsh/sandbox`): its `Maildir` subdirectory (the CA
/// certificate is its `ca.pem`).
pub fn default_maildir() -> Option<PathBuf> {
    crate::local::sandbox_dir().map(|d| d.join("Maildir"))
}

/// A running sandbox server. Dropping it stops accepting connections
/// (connections in progress finish on their own threads); the process
/// exiting ends everything.
pub struct Sandbox {
    addr: SocketAddr,
    dir: PathBuf,
    maildir: PathBuf,
    ca: cert::Authority,
    ca_file: PathBuf,
    server: server::Handle,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("maildir", &self.maildir)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox storing into [`crate::local::sandbox_dir`].
    pub fn start() -> Result<Sandbox, SandboxError> {
        let dir = crate::local::sandbox_dir().ok_or(SandboxError::NoDirectory)?;
        Sandbox::start_in(&dir)
    }

    /// Starts a sandbox storing into `dir` (`dir/Maildir`, `dir/ca.pem`):
    /// makes the certificates, creates the Maildir, binds `127.0.0.1:0`.
    pub fn start_in(dir: &Path) -> Result<Sandbox, SandboxError> {
        let maildir_path = dir.join("Maildir");
        let maildir = maildir::Maildir::create(&maildir_path).map_err(|e| SandboxError::Io {
            what: format!("cannot create the Maildir {}", maildir_path.display()),
            source: e,
        })?;
        let ca = cert::Authority::generate().map_err(SandboxError::Tls)?;
        let tls = ca.server_config().map_err(SandboxError::Tls)?;
        let ca_file = dir.join(CA_FILE_NAME);
        write_atomically(&ca_file, ca.ca_pem().as_bytes()).map_err(|e| SandboxError::Io {
            what: format!("cannot write the CA certificate {}", ca_file.display()),
            source: e,
        })?;
        let config = server::Config {
            tls: Some(Arc::new(tls)),
            ..server::Config::default()
        };
        let server =
            server::Handle::start(config, Arc::new(maildir)).map_err(|e| SandboxError::Io {
                what: "cannot listen on 127.0.0.1".to_string(),
                source: e,
            })?;
        Ok(Sandbox {
            addr: server.addr(),
            dir: dir.to_path_buf(),
            maildir: maildir_path,
            ca,
            ca_file,
            server,
        })
    }

    /// Where it listens (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
    /// The sandbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// The Maildir that receives the messages.
    pub fn maildir(&self) -> &Path {
        &self.maildir
    }
    /// The CA certificate (DER) that signed the server's certificate: trust
    /// it for this sandbox only.
    pub fn ca_der(&self) -> &[u8] {
        self.ca.ca_der()
    }
    /// The CA certificate as PEM.
    pub fn ca_pem(&self) -> &str {
        self.ca.ca_pem()
    }
    /// The file holding [`Sandbox::ca_pem`] (for `--cafile`); it is
    /// rewritten by every sandbox start in the same directory.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }
    /// The demo account: (user, password).
    pub fn credentials(&self) -> (&'static str, &'static str) {
        (DEMO_USER, DEMO_PASSWORD)
    }
    /// How many messages this sandbox has stored since it started.
    pub fn delivered(&self) -> u64 {
        self.server.delivered()
    }
}

/// Writes `data` to `path` through a temporary file and a rename, so a
/// reader never sees half a file.
fn write_atomically(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map_or_else(|| "file".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_starts_writes_its_ca_and_uses_distinct_ports() {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = Sandbox::start_in(dir.path()).expect("start a");
        let b = Sandbox::start_in(dir.path()).expect("start b");
        assert!(a.addr().ip().is_loopback());
        assert_ne!(a.port(), b.port());
        assert!(a.maildir().join("new").is_dir());
        let pem = std::fs::read_to_string(b.ca_file()).expect("ca file");
        assert_eq!(pem, b.ca_pem());
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!a.ca_der().is_empty());
    }
}
