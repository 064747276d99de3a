//! `smtpsh serve`: the sandbox SMTP server without the shell — a headless
//! mail catcher on a fixed port (127.0.0.1:1025 unless `--listen` says
//! otherwise), one line (or JSON object) per event on standard output,
//! running until Ctrl-C or SIGTERM.
//!
//! On the first signal it stops accepting, lets clients between commands
//! go (`421 4.3.2`), finishes the messages in flight (each is stored whole
//! or refused, never half: the Maildir writes to `tmp/` and renames) for up
//! to [`GRACE`], then exits 0. A second signal ends it at once (exit 130).
//!
//! Without `--tls-cert`, it makes a CA and a server certificate for this
//! instance only and writes the CA to its own directory
//! (`<sandbox dir>/instances/<pid>-<port>/ca.pem`, printed on the start
//! line, removed at a clean stop) — never another instance's.

mod report;
#[cfg(test)]
mod tests;

use crate::sandbox::{self, cert, instance, maildir, server};
use clap::Parser;
use report::{Listening, Printer};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// How long a stop waits for the messages in flight.
pub const GRACE: Duration = Duration::from_secs(30);
/// The default listening address: loopback, the mail catchers' port.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1025);

/// Exit status: stopped by a signal, every message in flight finished.
const EXIT_OK: i32 = 0;
/// Exit status: could not start (port in use, unreadable certificate, ...).
const EXIT_START: i32 = 1;
/// Exit status: a second signal ended it at once.
const EXIT_INTERRUPTED: i32 = 130;

/// The sandbox SMTP server, headless: a mail catcher for tests and CI. It
/// stores every message it accepts in a Maildir (never relays) and prints
/// one line per event: listening, stored, refused, fault, stopping, stopped.
#[derive(Parser, Debug)]
#[command(
    name = "smtpsh serve",
    version,
    after_help = "Runs until Ctrl-C or SIGTERM, then finishes the messages in flight (up to 30 s) \
and exits 0; a second signal stops at once (130).\n\
Exit status: 0 stopped by a signal, 1 could not start (port in use, unreadable certificate, \
password variable unset), 2 usage, 130 stopped at once.\n\
Read what it stored: smtpsh inbox [--maildir DIR] (also --json).\n\
Examples:\n  smtpsh serve\n  smtpsh serve --listen 127.0.0.1:2525 --maildir ./mail --json\n  \
smtpsh serve --tls-cert cert.pem --tls-key key.pem --auth-user app --password-env SMTP_PASSWORD"
)]
pub struct Args {
    /// Where to listen. Default 127.0.0.1:1025; port 0 picks a free port
    /// (printed on the start line). Anything but a loopback address accepts
    /// mail from the network.
    #[arg(long, value_name = "ADDR:PORT", value_parser = parse_listen)]
    pub listen: Option<SocketAddr>,
    /// The Maildir to store into (created if missing). Default: the
    /// interactive sandbox's, $SMTPSH_SANDBOX_DIR/Maildir, else
    /// $XDG_DATA_HOME/smtpsh/sandbox/Maildir.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub maildir: Option<PathBuf>,
    /// The server's certificate chain for STARTTLS (PEM, the server's own
    /// first). Default: a CA and certificate made for this instance, the CA
    /// written to a file named on the start line (for clients' --cafile).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1, unencrypted).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The AUTH user (with --password-env). Default: the demo account,
    /// user demo, password sandbox-password.
    #[arg(long, value_name = "USER", requires = "password_env")]
    pub auth_user: Option<String>,
    /// The environment variable holding the AUTH password of --auth-user
    /// (never printed).
    #[arg(long, value_name = "VAR", requires = "auth_user")]
    pub password_env: Option<String>,
    /// The largest message accepted, in bytes (announced as SIZE; larger
    /// ones get 552 5.3.4).
    #[arg(long, value_name = "BYTES", default_value_t = sandbox::MAX_MESSAGE_SIZE,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_size: u64,
    /// One JSON object per line instead of text (an "event" field says which).
    #[arg(long)]
    pub json: bool,
    /// The server's name in the greeting, the EHLO reply and Received: headers.
    #[arg(long, value_name = "NAME", default_value = "localhost", value_parser = parse_hostname)]
    pub hostname: String,
}

/// `ADDR:PORT` (`127.0.0.1:1025`, `[::1]:1025`, `0.0.0.0:1025`), or
/// `localhost:PORT`.
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some(port) = s.strip_prefix("localhost:")
        && let Ok(port) = port.parse::<u16>()
    {
        return Ok(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port));
    }
    Err(
        "expected ADDR:PORT with a numeric address, e.g. 127.0.0.1:1025, [::1]:1025 or \
         0.0.0.0:1025 (the network)"
            .to_string(),
    )
}

/// A host name for the greeting: letters, digits, `-` and `.`, at most 253.
fn parse_hostname(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !s.starts_with(['.', '-']);
    if ok {
        Ok(s.to_string())
    } else {
        Err("expected a host name: letters, digits, '-' and '.', e.g. mail.test".to_string())
    }
}

/// Runs `smtpsh serve ARGS` (the words after `serve`); returns the exit
/// status.
pub fn main(args: &[OsString]) -> i32 {
    let argv = std::iter::once(OsString::from("smtpsh serve")).chain(args.iter().cloned());
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            // Help and version go to standard output (0), errors to
            // standard error (2), as clap decides.
            let _ = e.print();
            return e.exit_code();
        }
    };
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("smtpsh serve: {}", e.message);
            if let Some(hint) = e.hint {
                eprintln!("hint: {hint}");
            }
            EXIT_START
        }
    }
}

/// Why serve could not start.
#[derive(Debug)]
pub struct StartError {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl StartError {
    fn new(message: impl Into<String>) -> StartError {
        StartError {
            message: message.into(),
            hint: None,
        }
    }
    fn hint(mut self, hint: impl Into<String>) -> StartError {
        self.hint = Some(hint.into());
        self
    }
}

/// Starts the server, prints events until a signal, stops it.
fn run(args: &Args) -> Result<i32, StartError> {
    let listen = args.listen.unwrap_or(DEFAULT_LISTEN);
    let auth = account(args, |var| std::env::var(var))?;
    let maildir_path = match &args.maildir {
        Some(dir) => dir.clone(),
        None => sandbox::default_maildir().ok_or_else(no_sandbox_dir)?,
    };
    let store = maildir::Maildir::create(&maildir_path).map_err(|e| {
        StartError::new(format!(
            "cannot create the Maildir {}: {e}",
            maildir_path.display()
        ))
        .hint("give a writable directory with --maildir DIR")
    })?;
    // With --tls-cert, those files; else a CA made for this instance, whose
    // directory lives in the sandbox directory whatever the Maildir (so
    // `--maildir` in a project never gets our CA files).
    let (own_ca, tls_config) = match (&args.tls_cert, &args.tls_key) {
        (Some(cert_file), Some(key_file)) => {
            let config = cert::load_server_config(cert_file, key_file).map_err(|e| {
                StartError::new(e)
                    .hint("--tls-cert takes the certificate chain, --tls-key its private key (PEM)")
            })?;
            (None, config)
        }
        _ => {
            let ca = cert::Authority::generate()
                .map_err(|e| StartError::new(format!("cannot make a certificate: {e}")))?;
            let config = ca
                .server_config()
                .map_err(|e| StartError::new(format!("cannot set up TLS: {e}")))?;
            let dir = crate::local::sandbox_dir().ok_or_else(no_sandbox_dir)?;
            (Some((ca, dir)), config)
        }
    };

    // Signals first: one arriving while we start must stop us, not kill us.
    let mut signals = Signals::new([SIGINT, SIGTERM])
        .map_err(|e| StartError::new(format!("cannot handle signals: {e}")))?;

    let printer = Arc::new(Printer::stdout(args.json));
    let events: server::Events = {
        let printer = printer.clone();
        Arc::new(move |e: &server::Event| printer.event(e))
    };
    let config = server::Config {
        listen,
        hostname: args.hostname.clone(),
        limits: server::Limits {
            max_size: args.max_size,
            ..server::Limits::default()
        },
        tls: Some(Arc::new(tls_config)),
        auth: Some(auth.account.clone()),
    };
    let handle = server::Handle::start(config, Arc::new(store), Some(events))
        .map_err(|e| bind_error(listen, &e))?;
    let addr = handle.addr();
    let instance = own_ca
        .map(|(ca, dir)| sandbox::create_instance(&dir, addr.port(), &ca))
        .transpose()
        .map_err(|e| StartError::new(e.to_string()))?;

    printer.listening(&Listening {
        addr,
        maildir: &maildir_path,
        ca_file: instance.as_ref().map(|i| i.ca_file()),
        tls_cert: args.tls_cert.as_deref(),
        auth_user: &auth.account.user,
        auth_demo: auth.demo,
        password_env: args.password_env.as_deref(),
        max_size: args.max_size,
        hostname: &args.hostname,
    });

    let first = signals.forever().next().unwrap_or(SIGTERM);
    printer.stopping(signal_name(first), handle.active(), GRACE);

    // A second signal stops at once (the CA directory goes all the same).
    let handle = Arc::new(handle);
    let close_signals = signals.handle();
    {
        let printer = printer.clone();
        let handle = handle.clone();
        let instance_dir = instance.as_ref().map(|i| i.dir().to_path_buf());
        let waiter = std::thread::Builder::new()
            .name("serve-signals".into())
            .spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    printer.stopped(handle.delivered(), handle.active(), Some(signal_name(sig)));
                    if let Some(dir) = &instance_dir {
                        instance::remove_instance_dir(dir);
                    }
                    std::process::exit(EXIT_INTERRUPTED);
                }
            });
        if waiter.is_err() {
            // No thread for a second signal: it then does nothing more
            // than the first; the grace period still bounds the stop.
            close_signals.close();
        }
    }
    let still_open = handle.shutdown(GRACE);
    close_signals.close();
    printer.stopped(handle.delivered(), still_open, None);
    drop(instance);
    Ok(EXIT_OK)
}

/// The AUTH account and whether it is the demo one.
struct Auth {
    account: server::Account,
    demo: bool,
}

impl std::fmt::Debug for Auth {
    // Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("user", &self.account.user)
            .field("demo", &self.demo)
            .finish_non_exhaustive()
    }
}

/// `--auth-user` with the password from `--password-env` (looked up with
/// `env`), else the demo account.
fn account(
    args: &Args,
    env: impl Fn(&str) -> Result<String, std::env::VarError>,
) -> Result<Auth, StartError> {
    let (Some(user), Some(var)) = (&args.auth_user, &args.password_env) else {
        return Ok(Auth {
            account: server::Account {
                user: sandbox::DEMO_USER.to_string(),
                password: sandbox::DEMO_PASSWORD.to_string(),
            },
            demo: true,
        });
    };
    if user.is_empty() || user.chars().any(|c| c.is_control()) {
        return Err(StartError::new(
            "--auth-user must be a non-empty name without control characters",
        ));
    }
    let password = match env(var) {
        Ok(p) if !p.is_empty() => p,
        Ok(_) => {
            return Err(
                StartError::new(format!("the environment variable {var} is empty"))
                    .hint(format!("set {var} to the AUTH password for {user}")),
            );
        }
        Err(std::env::VarError::NotPresent) => {
            return Err(
                StartError::new(format!("the environment variable {var} is not set")).hint(
                    format!("set {var} to the AUTH password for {user} (e.g. export {var}=...)"),
                ),
            );
        }
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(StartError::new(format!(
                "the environment variable {var} is not valid UTF-8"
            )));
        }
    };
    Ok(Auth {
        account: server::Account {
            user: user.clone(),
            password,
        },
        demo: false,
    })
}

fn no_sandbox_dir() -> StartError {
    StartError::new(
        "cannot find the sandbox directory: neither SMTPSH_SANDBOX_DIR, XDG_DATA_HOME nor HOME \
         is set",
    )
    .hint("set SMTPSH_SANDBOX_DIR to a writable directory (the Maildir and the CA go there)")
}

/// What a failed bind means, with what to do.
fn bind_error(listen: SocketAddr, e: &io::Error) -> StartError {
    let other_port = SocketAddr::new(listen.ip(), 2525);
    match e.kind() {
        io::ErrorKind::AddrInUse => StartError::new(format!(
            "port {} on {} is already in use (another smtpsh serve or mail catcher?)",
            listen.port(),
            listen.ip()
        ))
        .hint(format!(
            "choose another port: --listen {other_port} (port 0 picks a free one)"
        )),
        io::ErrorKind::PermissionDenied => {
            StartError::new(format!("not allowed to listen on {listen}: {e}")).hint(format!(
                "ports below 1024 need privileges; try --listen {other_port}"
            ))
        }
        io::ErrorKind::AddrNotAvailable => StartError::new(format!(
            "cannot listen on {listen}: {} is not an address of this machine",
            listen.ip()
        ))
        .hint("use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"),
        _ => StartError::new(format!("cannot listen on {listen}: {e}")),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}
