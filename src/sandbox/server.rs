//! The sandbox's listener: one thread per connection, each running a
//! `Session` (session.rs) over a `Conn` (lines.rs), plaintext then (after STARTTLS) TLS.
//!
//! A fault never outlives its connection: the connection count is kept
//! by a guard released however the thread ends, a panic (there should be
//! none: the parsing works on bytes and is fuzzed) is caught, reported as
//! one [`Event::Fault`] line — never a backtrace — and the server goes on.
//! [`Handle::shutdown`] stops accepting, lets clients between commands go
//! with `421 4.3.2`, and waits for the messages in flight.

use super::lines::{Conn, SLICE};
use super::maildir::Store;
use super::session::Session;
pub use super::session::{Next, Recipient};
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use super::receive::envelope_headers;
pub use super::session::{MAX_AUTH_LINE, MAX_COMMAND_LINE, MAX_TEXT_LINE};

/// The bounds every client is held to (docs/catcher.md lists them).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message in octets, announced as `SIZE` (`552 5.3.4`).
    pub max_size: u64,
    /// Most recipients per message (`452 4.5.3`).
    pub max_recipients: usize,
    /// Most simultaneous connections (`421 4.7.0` to the next one).
    pub max_connections: usize,
    /// Errors (5xx replies) after which the connection is closed (`421 4.7.0`).
    pub max_errors: usize,
    /// How long a whole command line (or a line of a message) may take to
    /// arrive — an idle client and a client trickling bytes alike (`421 4.4.2`).
    pub idle_timeout: Duration,
    /// How long a whole message (DATA, or all its BDAT chunks) may take.
    pub data_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_size: super::MAX_MESSAGE_SIZE,
            max_recipients: 100,
            max_connections: 32,
            max_errors: 20,
            idle_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(600),
        }
    }
}

/// The one AUTH account. AUTH is offered to a loopback client at once,
/// to any other only after STARTTLS (a password never crosses a network
/// in clear).
#[derive(Clone)]
pub struct Account {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user", &self.user)
            .field("password", &"***")
            .finish()
    }
}

/// How the server behaves.
#[derive(Clone)]
pub struct Config {
    /// Where to listen (`127.0.0.1:0`: a free loopback port).
    pub listen: SocketAddr,
    /// The name in the greeting, EHLO reply and `Received:` header.
    pub hostname: String,
    /// The bounds.
    pub limits: Limits,
    /// STARTTLS configuration; `None` = STARTTLS not offered.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The AUTH account; `None` = AUTH not offered.
    pub auth: Option<Account>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            hostname: "localhost".to_string(),
            limits: Limits::default(),
            tls: None,
            auth: Some(Account {
                user: super::DEMO_USER.to_string(),
                password: super::DEMO_PASSWORD.to_string(),
            }),
        }
    }
}

/// A message the server stored.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The id in the 250 reply and the `Received:` header.
    pub queue_id: String,
    /// The client.
    pub peer: SocketAddr,
    /// Its EHLO/HELO name.
    pub helo: String,
    /// The envelope sender (empty for `<>`).
    pub from: String,
    /// The envelope recipients with their DSN parameters.
    pub recipients: Vec<Recipient>,
    /// DSN `RET=`.
    pub ret: Option<String>,
    /// DSN `ENVID=`.
    pub envid: Option<String>,
    /// The decoded Subject.
    pub subject: Option<String>,
    /// Octets of content (trace headers not counted).
    pub size: u64,
    /// MIME leaf parts.
    pub parts: usize,
    /// The file, for a Maildir store.
    pub path: Option<PathBuf>,
    /// Whether it came over TLS.
    pub tls: bool,
    /// The authenticated user, if any.
    pub auth: Option<String>,
}

/// Something that happened, for whoever watches the server.
#[derive(Debug, Clone)]
pub enum Event {
    /// A message was stored.
    Stored(Stored),
    /// A command (or a connection) got a 4xx or 5xx reply.
    Refused {
        /// The client.
        peer: SocketAddr,
        /// The command's verb (empty for a connection refused at once or a
        /// line that was not a command).
        command: String,
        /// The reply, on one line.
        reply: String,
    },
    /// A connection ended on an internal error (a bug): it was closed, the
    /// server goes on.
    Fault {
        /// The client.
        peer: SocketAddr,
        /// What went wrong, on one line.
        what: String,
    },
}

/// Receives the events, from any connection's thread.
pub type Events = Arc<dyn Fn(&Event) + Send + Sync>;

/// What every connection thread shares.
pub struct Shared {
    pub(super) config: Config,
    pub(super) store: Arc<dyn Store>,
    pub(super) delivered: AtomicU64,
    active: AtomicUsize,
    pub(super) stop: AtomicBool,
    events: Option<Events>,
}

impl Shared {
    fn new(config: Config, store: Arc<dyn Store>, events: Option<Events>) -> Shared {
        Shared {
            config,
            store,
            delivered: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            events,
        }
    }

    /// Reports an event; with no watcher, only a fault is reported (one
    /// line on standard error).
    pub(super) fn emit(&self, e: &Event) {
        match (&self.events, e) {
            (Some(f), _) => f(e),
            (None, Event::Fault { peer, what }) => eprintln!(
                "smtpsh sandbox: the connection from {peer} was closed on an internal error \
                 ({what}); the server goes on"
            ),
            (None, _) => {}
        }
    }
}

/// The running listener; dropping it stops the server.
pub struct Handle {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Handle {
    /// Binds `config.listen` and accepts connections on a background
    /// thread; `events` hears what happens.
    pub fn start(
        config: Config,
        store: Arc<dyn Store>,
        events: Option<Events>,
    ) -> io::Result<Handle> {
        install_panic_hook();
        let listener = TcpListener::bind(config.listen)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config, store, events));
        let accept_shared = shared.clone();
        std::thread::Builder::new()
            .name("sandbox-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(Handle { addr, shared })
    }
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Messages stored so far.
    pub fn delivered(&self) -> u64 {
        self.shared.delivered.load(Ordering::Relaxed)
    }
    /// Connections open now.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::SeqCst)
    }

    /// Stops accepting; clients waiting between commands get `421 4.3.2`
    /// and are closed, messages under way are read to their end and
    /// answered. Waits at most `grace` for every connection to end;
    /// returns how many were still open then.
    pub fn shutdown(&self, grace: Duration) -> usize {
        self.stop();
        let until = Instant::now() + grace;
        while self.active() > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.active()
    }

    fn stop(&self) {
        if self.shared.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the accept() so the thread sees the flag and ends.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Counts a connection while it lives, however its thread ends.
struct ActiveGuard(Arc<Shared>);

impl ActiveGuard {
    fn new(shared: &Arc<Shared>) -> ActiveGuard {
        shared.active.fetch_add(1, Ordering::SeqCst);
        ActiveGuard(shared.clone())
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let loopback_only = shared.config.listen.ip().is_loopback();
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = stream else {
            // E.g. out of file descriptors: do not spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let peer = match stream.peer_addr() {
            Ok(p) if p.ip().is_loopback() || !loopback_only => p,
            _ => continue,
        };
        if shared.active.load(Ordering::SeqCst) >= shared.config.limits.max_connections {
            let text = "421 4.7.0 Too many connections, try again later";
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = stream.write_all(format!("{text}\r\n").as_bytes());
            shared.emit(&Event::Refused {
                peer,
                command: String::new(),
                reply: text.to_string(),
            });
            continue;
        }
        let guard = ActiveGuard::new(&shared);
        let _ = std::thread::Builder::new()
            .name("sandbox-conn".into())
            .spawn(move || {
                let shared = guard.0.clone();
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    serve_tcp(stream, peer, &shared)
                }));
                if run.is_err() {
                    let what = LAST_PANIC
                        .with(|p| p.borrow_mut().take())
                        .unwrap_or_else(|| "a panic".to_string());
                    shared.emit(&Event::Fault { peer, what });
                }
                drop(guard);
            });
        // If the thread could not start, the closure and its guard were
        // dropped: the count is right either way.
    }
}

/// One TCP connection: plaintext, then (after STARTTLS) TLS.
fn serve_tcp(stream: TcpStream, peer: SocketAddr, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(SLICE))?;
    stream.set_write_timeout(Some(shared.config.limits.idle_timeout))?;
    let _ = stream.set_nodelay(true);
    let mut session = Session::new(shared, peer);
    let mut conn = Conn::new(stream);
    session.greet(&mut conn)?;
    if session.run(&mut conn)? != Next::StartTls {
        return Ok(());
    }
    let Some(tls_config) = shared.config.tls.clone() else {
        return Ok(());
    };
    // Whatever the client sent behind STARTTLS was discarded by `run`.
    let tcp = conn.into_inner();
    let deadline = Instant::now() + shared.config.limits.idle_timeout;
    let tls = super::tls::TlsStream::accept(tls_config, tcp, deadline)?;
    session.start_tls();
    let mut conn = Conn::new(tls);
    session.run(&mut conn)?;
    conn.into_inner().close();
    Ok(())
}

thread_local! {
    /// The last panic on this thread, as one line (set by the hook).
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics on the sandbox's threads are kept as one line for the
/// [`Event::Fault`] instead of printed with a backtrace into the shell;
/// other threads keep the hook they had.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let ours = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with("sandbox-"));
            if !ours {
                return previous(info);
            }
            let what = info.payload_as_str().unwrap_or("a panic");
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let line = format!("{what}{at}").replace(['\r', '\n'], " ");
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(line));
        }));
    });
}

/// An in-memory client: the input it sends, the output it got.
struct Duplex<'a> {
    input: &'a [u8],
    output: Vec<u8>,
}

impl Read for Duplex<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.input.read(buf)
    }
}

impl Write for Duplex<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs one whole session over an in-memory connection: `input` is all
/// the client sends (then it closes); returns everything the server
/// wrote and what ended the session. STARTTLS ends it (no TLS in memory).
/// For tests and the `sandbox_session` fuzz target: the real session code.
pub fn converse(
    config: Config,
    store: Arc<dyn Store>,
    events: Option<Events>,
    input: &[u8],
) -> (Vec<u8>, Next) {
    let shared = Shared::new(config, store, events);
    let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
    let mut session = Session::new(&shared, peer);
    let mut conn = Conn::new(Duplex {
        input,
        output: Vec::new(),
    });
    let next = session
        .greet(&mut conn)
        .and_then(|()| session.run(&mut conn))
        .unwrap_or(Next::Closed);
    let _ = conn.flush();
    (conn.into_inner().output, next)
}

#[cfg(test)]
mod tests;
