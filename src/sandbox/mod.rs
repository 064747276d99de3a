//! The sandbox: a real, strict SMTP server that runs inside the smtpsh
//! process on a free loopback port, so a newcomer can try everything with
//! no mail server at hand (`smtpsh --sandbox`, `connect sandbox`).
//!
//! - [`server`]: the listener (one thread per connection, a guard for the
//!   count, panics caught as one-line faults, graceful shutdown, events);
//!   the conversation itself is `session` (STARTTLS, PIPELINING, SIZE,
//!   8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES, CHUNKING, DSN), with `auth`
//!   (PLAIN/LOGIN), `receive` (DATA and BDAT, streamed into the store),
//!   `scan` (Subject and parts on the way), `lines` (reads with deadlines),
//!   `tls` (a TLS stream read one socket read at a time) and [`parse`]
//!   (client bytes, fuzzed as `sandbox_session`).
//! - [`cert`]: the certificate authority and server certificate made at
//!   start (or a certificate and key loaded from PEM files, for `serve`).
//! - [`instance`]: each running server's own directory, holding its CA
//!   certificate (`instances/<pid>-<port>/ca.pem`), removed when it stops.
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
//! - **Loopback only**: the shell's sandbox binds `127.0.0.1` with port 0
//!   (a free port each start, so two smtpsh processes never collide).
//!   `smtpsh serve` (src/serve.rs) runs the same server headless on a fixed
//!   port (1025), and on another address only when `--listen` says so.
//! - **One CA per instance**: every start makes its own CA and writes it to
//!   its own [`instance`] directory, so a second sandbox never changes the
//!   CA that clients of the first were told to trust.
//! - **AUTH** (PLAIN, LOGIN) is announced before and after STARTTLS to a
//!   client on loopback: the connection never leaves the machine, so the
//!   password cannot be seen on a network (smtpsh's client likewise allows
//!   plaintext AUTH only on loopback). A client from elsewhere (`serve
//!   --listen` on another address) gets AUTH only after STARTTLS. Mail is accepted without AUTH too, as a submission server
//!   on loopback might; AUTH only shows up in the `Received:` header
//!   (`ESMTPA`/`ESMTPSA`). The demo account is fixed ([`DEMO_USER`],
//!   [`DEMO_PASSWORD`]) so scripts can use it; it guards nothing that is not
//!   open anyway.
//! - **Bare CR or LF** in a command or in message text is refused (strict,
//!   like Postfix's `smtpd_forbid_bare_newline`): a command ending in a bare
//!   LF gets `500 5.5.2`; a message containing one is read to its real end
//!   (`<CRLF>.<CRLF>`, the only end of data) and refused with `550 5.5.2`,
//!   so no ambiguous end-of-data ("SMTP smuggling") is ever accepted; the
//!   other end-of-data forms get a reply that names them.
//! - **Limits**: command lines 512 octets, text lines 1000 octets, AUTH
//!   responses 12288 octets (all with CRLF); messages [`MAX_MESSAGE_SIZE`];
//!   the rest (recipients, errors, connections, time) in
//!   [`server::Limits`], listed with their replies in docs/catcher.md.
//! - **No fsync per message**: a catcher's mail is test mail; the rename
//!   from `tmp/` keeps each message whole or absent (docs/performance.md).

mod auth;
pub mod cert;
pub mod inbox;
pub mod instance;
mod lines;
pub mod maildir;
pub mod parse;
mod receive;
mod scan;
pub mod server;
mod session;
mod tls;

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
/// `~/.local/share/smtpsh/sandbox`): its `Maildir` subdirectory (each
/// running sandbox's CA certificate is in `instances/<pid>-<port>/ca.pem`).
pub fn default_maildir() -> Option<PathBuf> {
    crate::local::sandbox_dir().map(|d| d.join("Maildir"))
}

/// A running sandbox server. Dropping it stops accepting connections
/// (connections in progress finish on their own threads) and removes its
/// instance directory; the process exiting ends everything.
pub struct Sandbox {
    addr: SocketAddr,
    dir: PathBuf,
    maildir: PathBuf,
    ca: cert::Authority,
    // Stops the server before the CA file goes (fields drop in order).
    server: server::Handle,
    instance: instance::Instance,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("addr", &self.addr)
            .field("maildir", &self.maildir)
            .field("ca_file", &self.instance.ca_file())
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox storing into [`crate::local::sandbox_dir`].
    pub fn start() -> Result<Sandbox, SandboxError> {
        let dir = crate::local::sandbox_dir().ok_or(SandboxError::NoDirectory)?;
        Sandbox::start_in(&dir)
    }

    /// Starts a sandbox storing into `dir` (`dir/Maildir`; its CA in
    /// `dir/instances/<pid>-<port>/ca.pem`): makes the certificates,
    /// creates the Maildir, binds `127.0.0.1:0`.
    pub fn start_in(dir: &Path) -> Result<Sandbox, SandboxError> {
        let maildir_path = dir.join("Maildir");
        let maildir = maildir::Maildir::create(&maildir_path).map_err(|e| SandboxError::Io {
            what: format!("cannot create the Maildir {}", maildir_path.display()),
            source: e,
        })?;
        let ca = cert::Authority::generate().map_err(SandboxError::Tls)?;
        let tls = ca.server_config().map_err(SandboxError::Tls)?;
        let config = server::Config {
            tls: Some(Arc::new(tls)),
            ..server::Config::default()
        };
        let server = server::Handle::start(config, Arc::new(maildir), None).map_err(|e| {
            SandboxError::Io {
                what: "cannot listen on 127.0.0.1".to_string(),
                source: e,
            }
        })?;
        let instance = create_instance(dir, server.addr().port(), &ca)?;
        Ok(Sandbox {
            addr: server.addr(),
            dir: dir.to_path_buf(),
            maildir: maildir_path,
            ca,
            server,
            instance,
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
    /// The file holding [`Sandbox::ca_pem`] (for `--cafile`): this
    /// sandbox's own, `instances/<pid>-<port>/ca.pem` in the sandbox
    /// directory, removed when it stops.
    pub fn ca_file(&self) -> &Path {
        self.instance.ca_file()
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

/// Writes `ca`'s certificate into a new instance directory of the sandbox
/// directory `dir` for the server on `port`.
pub fn create_instance(
    dir: &Path,
    port: u16,
    ca: &cert::Authority,
) -> Result<instance::Instance, SandboxError> {
    instance::Instance::create(dir, port, ca.ca_pem()).map_err(|e| SandboxError::Io {
        what: format!(
            "cannot write the CA certificate under {}",
            dir.join(instance::INSTANCES_DIR).display()
        ),
        source: e,
    })
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

    /// Two sandboxes in one directory: each file is its own CA, the second
    /// start left the first's alone, and a client trusting a file verifies
    /// that sandbox and not the other.
    #[test]
    fn two_sandboxes_in_one_directory_each_keep_their_own_ca_file() {
        use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
        use std::io::{BufRead, BufReader, Write};

        let dir = tempfile::tempdir().expect("temp dir");
        let a = Sandbox::start_in(dir.path()).expect("start a");
        let b = Sandbox::start_in(dir.path()).expect("start b");
        assert_ne!(a.ca_file(), b.ca_file());
        let pem_a = std::fs::read_to_string(a.ca_file()).expect("a's ca file");
        let pem_b = std::fs::read_to_string(b.ca_file()).expect("b's ca file");
        assert_eq!(pem_a, a.ca_pem());
        assert_eq!(pem_b, b.ca_pem());
        assert_ne!(pem_a, pem_b);
        for sb in [&a, &b] {
            assert!(
                sb.ca_file()
                    .starts_with(dir.path().join(instance::INSTANCES_DIR)),
                "{}",
                sb.ca_file().display()
            );
        }

        // STARTTLS to `to`, trusting only the CA in `file`.
        let starttls = |to: &Sandbox, file: &Path| -> Result<(), String> {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(file).map_err(|e| e.to_string())? {
                roots
                    .add(c.map_err(|e| e.to_string())?)
                    .map_err(|e| e.to_string())?;
            }
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
            let sock = std::net::TcpStream::connect(to.addr()).map_err(|e| e.to_string())?;
            sock.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .map_err(|e| e.to_string())?;
            let mut r = BufReader::new(sock.try_clone().map_err(|e| e.to_string())?);
            let mut w = sock;
            let reply = |r: &mut BufReader<std::net::TcpStream>| -> String {
                let mut all = String::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return all;
                    }
                    all.push_str(&line);
                    if line.as_bytes().get(3) != Some(&b'-') {
                        return all;
                    }
                }
            };
            reply(&mut r);
            w.write_all(b"EHLO test\r\n").map_err(|e| e.to_string())?;
            reply(&mut r);
            w.write_all(b"STARTTLS\r\n").map_err(|e| e.to_string())?;
            let ready = reply(&mut r);
            if !ready.starts_with("220") {
                return Err(format!("STARTTLS: {ready}"));
            }
            let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
            let conn =
                rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
            let mut tls = rustls::StreamOwned::new(conn, w);
            tls.write_all(b"NOOP\r\n").map_err(|e| e.to_string())?;
            let mut line = String::new();
            BufReader::new(tls)
                .read_line(&mut line)
                .map_err(|e| e.to_string())?;
            if line.starts_with("250") {
                Ok(())
            } else {
                Err(format!("NOOP: {line}"))
            }
        };
        starttls(&a, a.ca_file()).expect("a verifies with its own file");
        starttls(&b, b.ca_file()).expect("b verifies with its own file");
        assert!(
            starttls(&a, b.ca_file()).is_err(),
            "b's CA must not verify a"
        );

        // Each stop removes its own directory only.
        let a_dir = a.ca_file().parent().expect("dir").to_path_buf();
        drop(a);
        assert!(!a_dir.exists());
        assert_eq!(std::fs::read_to_string(b.ca_file()).expect("b"), pem_b);
    }
}
