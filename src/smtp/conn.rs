//! A thin connection layer: a byte stream (TCP now, TLS later) plus the
//! reply parser, per-operation timeouts, interruption (Ctrl-C), and
//! transcript events. It never decides what a reply means: 4xx/5xx are
//! data for the caller, not errors.

use super::command::Command;
use super::dotstuff::DotStuffer;
use super::reply::{Reply, ReplyError, ReplyParser};
use super::tls::{Phase, TlsClient, TlsError, TlsInfo, TlsStream};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// Longest single blocking wait: interruption is checked at least this often.
const SLICE: Duration = Duration::from_millis(100);
/// Size of the buffer for reading replies.
const READ_BUFFER: usize = 8 * 1024;
/// Message content is sent in blocks of up to this size.
const DATA_BUFFER: usize = 64 * 1024;
/// The notice given once per connection when a reply line ends in a bare LF.
const BARE_LF_NOTICE: &str =
    "the server ended a reply line with a bare LF instead of CRLF (accepted, but not RFC 5321)";

/// A byte stream a [`Connection`] can run over.
pub trait Stream: Read + Write + Send {
    /// Sets the read timeout of the underlying socket (used in short slices
    /// so that interruption and deadlines are checked while waiting).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sets the write timeout of the underlying socket.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Closes both directions at once.
    fn shutdown(&self) -> io::Result<()>;
    /// Says goodbye inside the protocol before the socket closes (TLS:
    /// close_notify). Best effort; nothing by default.
    fn close_notify(&mut self) {}
}

/// Stands in for a stream that was handed to the TLS layer.
struct Gone;

impl Read for Gone {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::NotConnected))
    }
}

impl Write for Gone {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::NotConnected))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for Gone {
    fn set_read_timeout(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn set_write_timeout(&self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }
    fn shutdown(&self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
    fn shutdown(&self) -> io::Result<()> {
        TcpStream::shutdown(self, std::net::Shutdown::Both)
    }
}

/// Something that shows the transcript (the shell's output; a recorder in tests).
pub trait Observer {
    /// Called for every line sent, reply received and note.
    fn event(&mut self, event: Event<'_>);
}

/// A transcript event.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A command line was sent (transcript form, secrets masked).
    Sent {
        /// The line, without CRLF.
        line: &'a str,
        /// Whether it travelled inside TLS.
        secure: bool,
    },
    /// A whole reply arrived.
    Received {
        /// The reply.
        reply: &'a Reply,
        /// Whether it travelled inside TLS.
        secure: bool,
    },
    /// The message content was sent (after DATA's 354, or as the chunk of
    /// a `BDAT n LAST`).
    DataSent {
        /// Bytes on the wire: for DATA the dot-stuffed content and the
        /// terminator; for BDAT the chunk (the command line not counted).
        bytes: u64,
        /// Whether it travelled inside TLS.
        secure: bool,
        /// Whether it was a BDAT chunk (RFC 3030) rather than DATA content.
        bdat: bool,
    },
    /// Something the layer noticed, e.g. "the server ended a line with a bare LF".
    Notice(&'a str),
}

/// Settings for opening a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long each wait may last without progress: `None` gives every
    /// phase its own default ([`TimeoutPhase::default_timeout`], RFC 5321
    /// §4.5.3.2); `Some(t)` (`set timeout`) uses `t` for every phase,
    /// connecting included.
    pub timeout: Option<Duration>,
    /// Set (by a Ctrl-C handler) to abandon whatever is being waited for.
    pub interrupt: Arc<AtomicBool>,
}

/// What the client is waiting for. Each phase has its own default timeout
/// (RFC 5321 §4.5.3.2); a timeout set by the user replaces them all.
///
/// A [`Connection`] picks the phase itself: the greeting until a command
/// was sent, then the reply to each command sent, in order (so pipelined
/// replies get their own command's timeout), the end of the message after
/// [`DataWriter::finish`], and the data block for message content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Name resolution and the TCP connect: 30 s (not an SMTP phase).
    Connect,
    /// The greeting (and an implicit-TLS handshake before it): 5 min.
    Greeting,
    /// The reply to MAIL: 5 min.
    Mail,
    /// The reply to RCPT: 5 min.
    Rcpt,
    /// The reply to DATA (the 354): 2 min.
    DataInit,
    /// Each write of message content to make progress: 3 min.
    DataBlock,
    /// The reply after the final dot (or to a BDAT chunk): 10 min.
    DataEnd,
    /// The reply to any other command (EHLO, NOOP, STARTTLS and its
    /// handshake, AUTH, QUIT, ...): 5 min.
    Command,
}

impl TimeoutPhase {
    /// The default timeout of this phase.
    pub fn default_timeout(self) -> Duration {
        let secs = match self {
            TimeoutPhase::Connect => 30,
            TimeoutPhase::Greeting
            | TimeoutPhase::Mail
            | TimeoutPhase::Rcpt
            | TimeoutPhase::Command => 5 * 60,
            TimeoutPhase::DataInit => 2 * 60,
            TimeoutPhase::DataBlock => 3 * 60,
            TimeoutPhase::DataEnd => 10 * 60,
        };
        Duration::from_secs(secs)
    }
    /// The phase of the reply to a command with this verb.
    pub fn for_verb(verb: &str) -> TimeoutPhase {
        match verb.to_ascii_uppercase().as_str() {
            "MAIL" => TimeoutPhase::Mail,
            "RCPT" => TimeoutPhase::Rcpt,
            "DATA" => TimeoutPhase::DataInit,
            "BDAT" => TimeoutPhase::DataEnd,
            _ => TimeoutPhase::Command,
        }
    }
    /// The timeout of this phase: `overall` if set, else the default.
    pub fn timeout(self, overall: Option<Duration>) -> Duration {
        overall
            .unwrap_or_else(|| self.default_timeout())
            .max(Duration::from_millis(1))
    }
}

/// A reply that keeps arriving byte by byte without ending is abandoned
/// after this many times the phase's timeout (bytes that trickle in count
/// as progress, but not forever).
pub const REPLY_TIME_FACTOR: u32 = 4;

/// What went wrong below the level of replies.
#[derive(Debug)]
pub enum ConnError {
    /// The host name did not resolve.
    Resolve {
        /// The name.
        host: String,
        /// Why.
        source: io::Error,
    },
    /// Every address refused or failed; holds the last attempt.
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// Why it failed.
        source: io::Error,
    },
    /// Nothing arrived (or could be sent) within the timeout.
    Timeout {
        /// What we waited for, e.g. "the greeting", "the reply to MAIL".
        waiting_for: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// A reply kept trickling in (progress, so no [`ConnError::Timeout`])
    /// but was not complete after [`REPLY_TIME_FACTOR`] times the timeout.
    TooSlow {
        /// What we waited for, e.g. "the reply to EHLO".
        waiting_for: String,
        /// How long the reply took before it was abandoned.
        after: Duration,
    },
    /// The server closed the connection.
    Closed {
        /// What we were doing, e.g. "waiting for the reply to DATA".
        during: String,
    },
    /// The bytes received are not an SMTP reply.
    Protocol(ReplyError),
    /// The user pressed Ctrl-C.
    Interrupted,
    /// The TLS handshake failed (certificate, plaintext answer, ...); the
    /// connection was closed and nothing more was sent.
    Tls(TlsError),
    /// A send or receive failed for another reason.
    Io(io::Error),
    /// The connection is unusable after an earlier failure.
    Broken,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::Resolve { host, source } => write!(
                f,
                "could not find the host \"{host}\" ({source}); check the host name and your network"
            ),
            ConnError::Connect { addr, source } => match source.kind() {
                io::ErrorKind::ConnectionRefused => write!(
                    f,
                    "connection refused by {addr} — is a server listening there? check host and port"
                ),
                io::ErrorKind::TimedOut => write!(
                    f,
                    "no answer from {addr} while connecting — is the host reachable and the port open? \
                     (a firewall may be dropping the connection; raise the wait with `set timeout SECONDS`)"
                ),
                _ => write!(
                    f,
                    "could not connect to {addr} ({source}); check host, port and network"
                ),
            },
            ConnError::Timeout { waiting_for, after } => write!(
                f,
                "no reply from the server within {} while waiting for {waiting_for} \
                 (raise it with `set timeout SECONDS`)",
                human_duration(*after)
            ),
            ConnError::TooSlow { waiting_for, after } => write!(
                f,
                "the server kept sending {waiting_for} a few bytes at a time and had not finished it \
                 after {}; the connection was closed (raise the wait with `set timeout SECONDS`)",
                human_duration(*after)
            ),
            ConnError::Closed { during } => {
                write!(f, "the server closed the connection while {during}")
            }
            ConnError::Protocol(e) => write!(f, "{e}; the connection was closed"),
            ConnError::Interrupted => {
                f.write_str("interrupted (Ctrl-C); the connection was closed")
            }
            ConnError::Tls(e) => write!(
                f,
                "TLS failed: {e}; nothing more was sent and the connection was closed"
            ),
            ConnError::Io(e) => write!(f, "network error: {e}; the connection was closed"),
            ConnError::Broken => {
                f.write_str("the connection is unusable after an earlier error; connect again")
            }
        }
    }
}

impl std::error::Error for ConnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnError::Resolve { source, .. } | ConnError::Connect { source, .. } => Some(source),
            ConnError::Io(e) => Some(e),
            ConnError::Protocol(e) => Some(e),
            ConnError::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ConnError {
    /// Recovers the [`ConnError`] that a [`DataWriter`] write failed with
    /// (it travels inside the `io::Error`); any other error becomes
    /// [`ConnError::Io`].
    fn from(e: io::Error) -> ConnError {
        if e.get_ref().is_some_and(|inner| inner.is::<ConnError>()) {
            let kind = e.kind();
            match e.into_inner().map(|inner| inner.downcast::<ConnError>()) {
                Some(Ok(conn)) => *conn,
                Some(Err(other)) => ConnError::Io(io::Error::new(kind, other)),
                None => ConnError::Io(io::Error::from(kind)),
            }
        } else {
            ConnError::Io(e)
        }
    }
}

/// Wraps a [`ConnError`] for `io::Write` callers (see `From<io::Error>`).
fn into_io(e: ConnError) -> io::Error {
    let kind = match e {
        ConnError::Timeout { .. } => io::ErrorKind::TimedOut,
        ConnError::Closed { .. } => io::ErrorKind::BrokenPipe,
        // Never ErrorKind::Interrupted: `write_all` would retry it.
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// `30 s`, `300 ms`, `1.5 s`, `5 min`.
fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() >= 60 && d.as_secs().is_multiple_of(60) {
        format!("{} min", d.as_secs() / 60)
    } else if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// How an interruptible background wait ended.
enum Wait<T> {
    Done(T),
    Interrupted,
    TimedOut,
    /// The helper thread could not be started.
    NoThread(io::Error),
}

/// Runs `f` on a helper thread and waits for it in slices, so that Ctrl-C
/// and `limit` are honoured even when `f` blocks (name resolution,
/// connect). An abandoned thread finishes on its own; its result is dropped.
fn interruptible<T, F>(interrupt: &AtomicBool, limit: Duration, f: F) -> Wait<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("smtpsh-connect".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        return Wait::NoThread(e);
    }
    let deadline = Instant::now() + limit;
    loop {
        if interrupt.load(Ordering::SeqCst) {
            return Wait::Interrupted;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Wait::TimedOut;
        }
        match rx.recv_timeout(left.min(SLICE)) {
            Ok(value) => return Wait::Done(value),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Wait::TimedOut,
        }
    }
}

/// What kind of failure an I/O error on an open connection is.
enum IoFailure {
    /// The socket timeout slice ran out: check deadline and interrupt, retry.
    Slice,
    /// EINTR: retry.
    Retry,
    /// The peer went away.
    Closed,
    /// Anything else.
    Other,
}

fn classify(e: &io::Error) -> IoFailure {
    use io::ErrorKind::*;
    match e.kind() {
        WouldBlock | TimedOut => IoFailure::Slice,
        Interrupted => IoFailure::Retry,
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected => {
            IoFailure::Closed
        }
        _ => IoFailure::Other,
    }
}

/// What one step of a blocking write did.
enum WriteStep {
    /// Everything is written (or flushed).
    Done,
    /// Some bytes went out: the deadline starts again.
    Progress,
    /// The peer accepted nothing: the connection is closed.
    Closed,
}

/// A host name without IPv6 brackets (`[::1]` → `::1`).
fn bare_host(host: &str) -> String {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_string()
}

/// An open SMTP connection.
pub struct Connection {
    stream: Box<dyn Stream>,
    parser: ReplyParser,
    peer: SocketAddr,
    local: SocketAddr,
    host: String,
    options: ConnectOptions,
    broken: bool,
    secure: bool,
    /// What TLS negotiated, once encrypted.
    tls: Option<TlsInfo>,
    /// Whether the bare-LF notice was given already.
    bare_lf_noticed: bool,
    /// The socket read and write timeouts last set, so the hot loops make
    /// the `setsockopt` call only when the slice changes.
    applied: (Option<Duration>, Option<Duration>),
    /// The phases of the replies still expected, oldest first: one per
    /// command sent (and one for the end of the message), taken by
    /// [`Connection::read_reply`].
    expecting: std::collections::VecDeque<TimeoutPhase>,
    /// Whether anything was sent yet (before that, a reply is the greeting).
    sent_any: bool,
}

impl Connection {
    /// Resolves `host`, tries each address in turn until one accepts a TCP
    /// connection, then reads the greeting (which may be any code: the
    /// caller judges it). `host` may be a name, an IPv4 address or an IPv6
    /// address with or without brackets.
    pub fn open(
        host: &str,
        port: u16,
        options: ConnectOptions,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        Connection::open_with(host, port, options, None, observer)
    }
    /// Like [`Connection::open`], with implicit TLS (RFC 8314, port 465):
    /// the TLS handshake right after the TCP connect, then the greeting
    /// inside TLS. The certificate is checked against `host`.
    pub fn open_tls(
        host: &str,
        port: u16,
        options: ConnectOptions,
        tls: &TlsClient,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        Connection::open_with(host, port, options, Some(tls), observer)
    }
    fn open_with(
        host: &str,
        port: u16,
        options: ConnectOptions,
        tls: Option<&TlsClient>,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        let name = bare_host(host);
        let timeout = TimeoutPhase::Connect.timeout(options.timeout);
        let resolve_err = |source: io::Error| ConnError::Resolve {
            host: host.to_string(),
            source,
        };
        if name.is_empty() {
            return Err(resolve_err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the host name is empty",
            )));
        }
        // An address literal needs no resolver (nor a helper thread).
        if let Ok(ip) = name.parse::<std::net::IpAddr>() {
            let addrs = [SocketAddr::new(ip, port)];
            return Connection::open_resolved(host, &addrs, options, tls, observer);
        }
        let lookup = {
            let name = name.clone();
            move || (name.as_str(), port).to_socket_addrs().map(Vec::from_iter)
        };
        let addrs = match interruptible(&options.interrupt, timeout, lookup) {
            Wait::Done(Ok(addrs)) if !addrs.is_empty() => addrs,
            Wait::Done(Ok(_)) => {
                return Err(resolve_err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "the name has no addresses",
                )));
            }
            Wait::Done(Err(e)) | Wait::NoThread(e) => return Err(resolve_err(e)),
            Wait::Interrupted => return Err(ConnError::Interrupted),
            Wait::TimedOut => {
                return Err(resolve_err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no answer from the resolver within {}",
                        human_duration(timeout)
                    ),
                )));
            }
        };
        Connection::open_resolved(host, &addrs, options, tls, observer)
    }
    /// Connects to `addrs` in order (e.g. the addresses of an MX host found
    /// with [`super::dns`]) and reads the greeting; `host` is the name shown
    /// and, with `tls` (implicit TLS), the name the certificate is checked
    /// against.
    pub fn open_addrs(
        host: &str,
        addrs: &[SocketAddr],
        options: ConnectOptions,
        tls: Option<&TlsClient>,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        Connection::open_resolved(host, addrs, options, tls, observer)
    }
    fn open_resolved(
        host: &str,
        addrs: &[SocketAddr],
        options: ConnectOptions,
        tls: Option<&TlsClient>,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        let name = bare_host(host);
        let timeout = TimeoutPhase::Connect.timeout(options.timeout);
        let resolve_err = |source: io::Error| ConnError::Resolve {
            host: host.to_string(),
            source,
        };
        let mut last_error = None;
        let mut connected = None;
        for (i, &addr) in addrs.iter().enumerate() {
            let attempt = move || TcpStream::connect_timeout(&addr, timeout);
            // The thread gives up by itself after `timeout`; wait a bit longer
            // so its own result (refused, timed out) is what we report.
            let result = match interruptible(&options.interrupt, timeout + SLICE * 5, attempt) {
                Wait::Done(result) => result,
                Wait::Interrupted => return Err(ConnError::Interrupted),
                Wait::TimedOut => Err(io::Error::from(io::ErrorKind::TimedOut)),
                Wait::NoThread(e) => Err(e),
            };
            match result {
                Ok(stream) => {
                    connected = Some((stream, addr));
                    break;
                }
                Err(e) => {
                    if let Some(next) = addrs.get(i + 1) {
                        let note = format!("could not connect to {addr} ({e}); trying {next}");
                        observer.event(Event::Notice(&note));
                    }
                    last_error = Some((addr, e));
                }
            }
        }
        let (stream, peer) = match (connected, last_error) {
            (Some(c), _) => c,
            (None, Some((addr, source))) => return Err(ConnError::Connect { addr, source }),
            (None, None) => {
                return Err(resolve_err(io::Error::from(io::ErrorKind::NotFound)));
            }
        };
        // Commands are small and each waits for a reply: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().map_err(ConnError::Io)?;
        let mut conn = match tls {
            None => Connection::from_stream(Box::new(stream), peer, local, host, options),
            Some(client) => {
                let (stream, info) = TlsStream::handshake(
                    Box::new(stream),
                    client,
                    &name,
                    Phase::Implicit,
                    TimeoutPhase::Greeting.timeout(options.timeout),
                    &options.interrupt,
                )?;
                let mut conn =
                    Connection::from_stream(Box::new(stream), peer, local, host, options);
                conn.secure = true;
                conn.tls = Some(info);
                conn
            }
        };
        let greeting = conn.read_reply("the greeting", observer)?;
        Ok((conn, greeting))
    }
    /// Wraps an already connected stream (tests, TLS). Reads nothing.
    pub fn from_stream(
        stream: Box<dyn Stream>,
        peer: SocketAddr,
        local: SocketAddr,
        host: &str,
        options: ConnectOptions,
    ) -> Connection {
        Connection {
            stream,
            parser: ReplyParser::new(),
            peer,
            local,
            host: host.to_string(),
            options,
            broken: false,
            secure: false,
            tls: None,
            bare_lf_noticed: false,
            applied: (None, None),
            expecting: std::collections::VecDeque::new(),
            sent_any: false,
        }
    }
    /// Upgrades to TLS after the server answered STARTTLS with 220
    /// (RFC 3207): anything the server sent after that 220 is discarded
    /// unread (a [`Event::Notice`] says so, and [`TlsInfo::discarded`]
    /// counts it) — such bytes came before TLS and must never pass for a
    /// reply (CVE-2011-0411 class). Then the handshake, checked against
    /// the host name. On failure the connection is closed and broken.
    pub fn starttls(
        &mut self,
        tls: &TlsClient,
        observer: &mut dyn Observer,
    ) -> Result<TlsInfo, ConnError> {
        if self.broken {
            return Err(ConnError::Broken);
        }
        let discarded = self.parser.pending_bytes();
        self.parser.clear();
        // Replies expected before TLS can never come now.
        self.expecting.clear();
        if discarded > 0 {
            let note = format!(
                "discarded {discarded} byte{} the server sent after its 220 to STARTTLS, before TLS \
                 (never read as a reply: a sign of STARTTLS injection or a broken server)",
                if discarded == 1 { "" } else { "s" }
            );
            observer.event(Event::Notice(&note));
        }
        let name = bare_host(&self.host);
        let plain = std::mem::replace(&mut self.stream, Box::new(Gone));
        self.applied = (None, None);
        match TlsStream::handshake(
            plain,
            tls,
            &name,
            Phase::StartTls,
            TimeoutPhase::Command.timeout(self.options.timeout),
            &self.options.interrupt,
        ) {
            Ok((stream, mut info)) => {
                self.stream = Box::new(stream);
                self.secure = true;
                info.discarded = discarded;
                self.tls = Some(info.clone());
                Ok(info)
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }
    /// What TLS negotiated (`None` while plaintext).
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }
    /// Sends one command line (reporting [`Event::Sent`]); does not wait.
    pub fn send(
        &mut self,
        command: &Command,
        observer: &mut dyn Observer,
    ) -> Result<(), ConnError> {
        if self.broken {
            return Err(ConnError::Broken);
        }
        let verb = command.verb();
        let phase = TimeoutPhase::for_verb(verb);
        self.sent_any = true;
        self.write_all_checked(
            &command.wire(),
            phase,
            &format!("the server to accept the {verb} command"),
            &format!("sending {verb}"),
        )?;
        self.flush_checked(
            phase,
            &format!("the server to accept the {verb} command"),
            &format!("sending {verb}"),
        )?;
        self.expecting.push_back(phase);
        let line = command.to_string();
        observer.event(Event::Sent {
            line: &line,
            secure: self.secure,
        });
        Ok(())
    }
    /// Waits for the next complete reply (reporting [`Event::Received`]).
    /// `waiting_for` names it in a timeout or close error. The timeout is
    /// that of the reply's phase ([`TimeoutPhase`]): the greeting before
    /// anything was sent, else the phase of the oldest command whose reply
    /// has not been read. Each byte received restarts the wait, but one
    /// reply may take at most [`REPLY_TIME_FACTOR`] times the timeout.
    pub fn read_reply(
        &mut self,
        waiting_for: &str,
        observer: &mut dyn Observer,
    ) -> Result<Reply, ConnError> {
        if self.broken {
            return Err(ConnError::Broken);
        }
        let phase = self.expecting.pop_front().unwrap_or(if self.sent_any {
            TimeoutPhase::Command
        } else {
            TimeoutPhase::Greeting
        });
        if let Some(reply) = self.parser.next_reply() {
            return Ok(self.received(reply, observer));
        }
        let timeout = phase.timeout(self.options.timeout);
        let started = Instant::now();
        let limit = timeout.saturating_mul(REPLY_TIME_FACTOR);
        let mut deadline = started + timeout;
        let mut buf = [0u8; READ_BUFFER];
        loop {
            if self.options.interrupt.load(Ordering::SeqCst) {
                return Err(self.fail(ConnError::Interrupted));
            }
            let now = Instant::now();
            if now.saturating_duration_since(started) >= limit {
                return Err(self.fail(ConnError::TooSlow {
                    waiting_for: waiting_for.to_string(),
                    after: limit,
                }));
            }
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Err(self.fail(ConnError::Timeout {
                    waiting_for: waiting_for.to_string(),
                    after: timeout,
                }));
            }
            let to_limit = (started + limit).saturating_duration_since(now);
            let slice = left.min(to_limit).clamp(Duration::from_millis(1), SLICE);
            if let Err(e) = self.read_slice(slice) {
                return Err(self.fail(ConnError::Io(e)));
            }
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    return Err(self.fail(ConnError::Closed {
                        during: format!("waiting for {waiting_for}"),
                    }));
                }
                Ok(n) => {
                    deadline = Instant::now() + timeout;
                    if let Err(e) = self.parser.push(&buf[..n]) {
                        return Err(self.fail(ConnError::Protocol(e)));
                    }
                    if self.parser.saw_bare_lf() && !self.bare_lf_noticed {
                        self.bare_lf_noticed = true;
                        observer.event(Event::Notice(BARE_LF_NOTICE));
                    }
                    if let Some(reply) = self.parser.next_reply() {
                        return Ok(self.received(reply, observer));
                    }
                }
                Err(e) => match classify(&e) {
                    IoFailure::Slice | IoFailure::Retry => {}
                    IoFailure::Closed => {
                        return Err(self.fail(ConnError::Closed {
                            during: format!("waiting for {waiting_for}"),
                        }));
                    }
                    IoFailure::Other => return Err(self.fail(ConnError::Io(e))),
                },
            }
        }
    }

    /// Reports a reply and hands it on.
    fn received(&mut self, reply: Reply, observer: &mut dyn Observer) -> Reply {
        observer.event(Event::Received {
            reply: &reply,
            secure: self.secure,
        });
        reply
    }

    /// Marks the connection unusable, closes the socket, and returns `e`.
    fn fail(&mut self, e: ConnError) -> ConnError {
        self.broken = true;
        let _ = self.stream.shutdown();
        e
    }

    /// Sets the socket read timeout to `slice`, unless it already is.
    fn read_slice(&mut self, slice: Duration) -> io::Result<()> {
        if self.applied.0 != Some(slice) {
            self.stream.set_read_timeout(Some(slice))?;
            self.applied.0 = Some(slice);
        }
        Ok(())
    }

    /// Writes all of `data`, in slices so that the interrupt flag and the
    /// progress deadline are checked while the socket is blocked.
    fn write_all_checked(
        &mut self,
        mut data: &[u8],
        phase: TimeoutPhase,
        waiting_for: &str,
        during: &str,
    ) -> Result<(), ConnError> {
        self.drive_write(phase, waiting_for, during, |stream| {
            if data.is_empty() {
                return Ok(WriteStep::Done);
            }
            let n = stream.write(data)?;
            if n == 0 {
                return Ok(WriteStep::Closed);
            }
            data = &data[n..];
            Ok(WriteStep::Progress)
        })
    }

    /// Flushes the stream (TLS may hold a record back), retrying socket
    /// timeouts like [`Connection::write_all_checked`].
    fn flush_checked(
        &mut self,
        phase: TimeoutPhase,
        waiting_for: &str,
        during: &str,
    ) -> Result<(), ConnError> {
        self.drive_write(phase, waiting_for, during, |stream| {
            stream.flush().map(|()| WriteStep::Done)
        })
    }

    /// Runs `step` until it is done, with the socket write timeout set to
    /// short slices: between slices the interrupt flag and the deadline
    /// (restarted by every bit of progress) are checked.
    fn drive_write(
        &mut self,
        phase: TimeoutPhase,
        waiting_for: &str,
        during: &str,
        mut step: impl FnMut(&mut dyn Stream) -> io::Result<WriteStep>,
    ) -> Result<(), ConnError> {
        if self.broken {
            return Err(ConnError::Broken);
        }
        let timeout = phase.timeout(self.options.timeout);
        let mut deadline = Instant::now() + timeout;
        let closed = || ConnError::Closed {
            during: during.to_string(),
        };
        loop {
            if self.options.interrupt.load(Ordering::SeqCst) {
                return Err(self.fail(ConnError::Interrupted));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.fail(ConnError::Timeout {
                    waiting_for: waiting_for.to_string(),
                    after: timeout,
                }));
            }
            let slice = left.clamp(Duration::from_millis(1), SLICE);
            if self.applied.1 != Some(slice) {
                if let Err(e) = self.stream.set_write_timeout(Some(slice)) {
                    return Err(self.fail(ConnError::Io(e)));
                }
                self.applied.1 = Some(slice);
            }
            match step(self.stream.as_mut()) {
                Ok(WriteStep::Done) => return Ok(()),
                Ok(WriteStep::Progress) => deadline = Instant::now() + timeout,
                Ok(WriteStep::Closed) => return Err(self.fail(closed())),
                Err(e) => match classify(&e) {
                    IoFailure::Slice | IoFailure::Retry => {}
                    IoFailure::Closed => return Err(self.fail(closed())),
                    IoFailure::Other => return Err(self.fail(ConnError::Io(e))),
                },
            }
        }
    }
    /// `send` then `read_reply`.
    pub fn command(
        &mut self,
        command: &Command,
        observer: &mut dyn Observer,
    ) -> Result<Reply, ConnError> {
        self.send(command, observer)?;
        let what = format!("the reply to {}", command.verb());
        self.read_reply(&what, observer)
    }
    /// Sends several commands in one write (RFC 2920 pipelining) and
    /// reports nothing yet: read their replies in order with
    /// [`Connection::pipelined_reply`], which reports each command just
    /// before its reply, so the transcript pairs them as if they had been
    /// sent one at a time. Each reply gets its own command's timeout.
    pub fn send_batch(&mut self, commands: &[Command]) -> Result<(), ConnError> {
        if self.broken {
            return Err(ConnError::Broken);
        }
        let Some(first) = commands.first() else {
            return Ok(());
        };
        let mut wire = Vec::with_capacity(commands.len() * 48);
        for c in commands {
            wire.extend_from_slice(&c.wire());
        }
        let verbs: Vec<&str> = commands.iter().map(Command::verb).collect();
        let verbs = verbs.join(", ");
        let phase = TimeoutPhase::for_verb(first.verb());
        self.sent_any = true;
        self.write_all_checked(
            &wire,
            phase,
            &format!("the server to accept the commands {verbs}"),
            &format!("sending {verbs}"),
        )?;
        self.flush_checked(
            phase,
            &format!("the server to accept the commands {verbs}"),
            &format!("sending {verbs}"),
        )?;
        for c in commands {
            self.expecting.push_back(TimeoutPhase::for_verb(c.verb()));
        }
        Ok(())
    }
    /// For a command sent by [`Connection::send_batch`]: reports it
    /// ([`Event::Sent`]) and reads the next reply, which is its reply.
    /// Call it once per command, in the order they were sent.
    pub fn pipelined_reply(
        &mut self,
        command: &Command,
        observer: &mut dyn Observer,
    ) -> Result<Reply, ConnError> {
        if self.broken {
            return Err(ConnError::Broken);
        }
        let line = command.to_string();
        observer.event(Event::Sent {
            line: &line,
            secure: self.secure,
        });
        let what = format!("the reply to {}", command.verb());
        self.read_reply(&what, observer)
    }
    /// Starts one `BDAT <size> LAST` chunk (RFC 3030) and returns the
    /// writer for its content; the command is reported now and goes out
    /// in the same write as the first content bytes. Exactly `size` bytes
    /// must follow: a write past `size` fails and closes the connection
    /// (the extra bytes would be read as commands), and
    /// [`BdatWriter::finish`] fails on a short chunk. No dot-stuffing and
    /// no terminator: the chunk is sent as given. Dropping the writer
    /// unfinished closes the connection, so the server never sees a whole
    /// chunk.
    pub fn bdat_writer(
        &mut self,
        size: u64,
        observer: &mut dyn Observer,
    ) -> Result<BdatWriter<'_>, ConnError> {
        if self.broken {
            return Err(ConnError::Broken);
        }
        let command = Command::raw(&format!("BDAT {size} LAST"))
            .map_err(|e| ConnError::Io(io::Error::other(e.to_string())))?;
        let line = command.to_string();
        observer.event(Event::Sent {
            line: &line,
            secure: self.secure,
        });
        self.sent_any = true;
        let mut buf = Vec::with_capacity(DATA_BUFFER);
        buf.extend_from_slice(&command.wire());
        Ok(BdatWriter {
            socket: Some(SocketWriter {
                conn: self,
                buf,
                wire_bytes: 0,
            }),
            size,
            written: 0,
        })
    }
    /// A writer for the message content after a 354: CRLF-normalises,
    /// dot-stuffs, buffers in large blocks, honours timeout and interrupt.
    /// Call [`DataWriter::finish`] to send `<CRLF>.<CRLF>`; dropping it
    /// unfinished marks the connection broken (the server must never see a
    /// final dot after a partial message).
    pub fn data_writer(&mut self) -> DataWriter<'_> {
        DataWriter {
            stuffer: Some(DotStuffer::new(SocketWriter {
                conn: self,
                buf: Vec::with_capacity(DATA_BUFFER),
                wire_bytes: 0,
            })),
        }
    }
    /// The server's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }
    /// Our address.
    pub fn local(&self) -> SocketAddr {
        self.local
    }
    /// The host name as given to [`Connection::open`].
    pub fn host(&self) -> &str {
        &self.host
    }
    /// Whether traffic is encrypted.
    pub fn is_secure(&self) -> bool {
        self.secure
    }
    /// Whether an earlier failure left the connection unusable.
    pub fn is_broken(&self) -> bool {
        self.broken
    }
    /// Changes the timeout for later operations: `Some` for every phase,
    /// `None` for each phase's default ([`TimeoutPhase`]).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.options.timeout = timeout;
    }
    /// Closes the socket without QUIT (inside TLS, after a close_notify).
    pub fn close(&mut self) {
        if !self.broken {
            self.stream.close_notify();
        }
        let _ = self.stream.shutdown();
        self.broken = true;
    }
}

/// Streams message content into an open DATA phase; see [`Connection::data_writer`].
///
/// A failed `write` returns an `io::Error` that carries the [`ConnError`];
/// get it back with `ConnError::from(io_error)`. After a failure the
/// connection is broken and the writer should be dropped.
pub struct DataWriter<'a> {
    /// `None` once finished (so that `Drop` knows).
    stuffer: Option<DotStuffer<SocketWriter<'a>>>,
}

/// Buffered writer over the connection's stream that checks timeout and
/// interrupt while blocked; private plumbing of [`DataWriter`].
struct SocketWriter<'a> {
    conn: &'a mut Connection,
    /// Bytes waiting to go out (at most [`DATA_BUFFER`]).
    buf: Vec<u8>,
    /// Bytes accepted for the wire so far (buffered or sent).
    wire_bytes: u64,
}

impl SocketWriter<'_> {
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.conn
            .write_all_checked(
                data,
                TimeoutPhase::DataBlock,
                "the server to accept more message data",
                "sending the message data",
            )
            .map_err(into_io)
    }
    fn flush_buffer(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut self.buf);
        let result = self.send(&data);
        self.buf = data;
        self.buf.clear();
        result
    }
}

impl Write for SocketWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.conn.broken {
            return Err(into_io(ConnError::Broken));
        }
        if self.buf.len() + data.len() > DATA_BUFFER {
            self.flush_buffer()?;
        }
        if data.len() >= DATA_BUFFER {
            self.send(data)?;
        } else {
            self.buf.extend_from_slice(data);
        }
        self.wire_bytes += data.len() as u64;
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.flush_buffer()?;
        self.conn
            .flush_checked(
                TimeoutPhase::DataBlock,
                "the server to accept more message data",
                "sending the message data",
            )
            .map_err(into_io)
    }
}

impl DataWriter<'_> {
    /// Content bytes accepted so far.
    pub fn bytes_in(&self) -> u64 {
        self.stuffer.as_ref().map_or(0, DotStuffer::bytes_in)
    }
    /// Writes lines that need no dot-stuffing (base64), without scanning
    /// them; see [`DotStuffer::write_clean_lines`] for the promise they
    /// keep. Errors as for `write`.
    pub fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        match self.stuffer.as_mut() {
            Some(stuffer) => stuffer.write_clean_lines(lines),
            None => Err(into_io(ConnError::Broken)),
        }
    }
    /// Sends the end-of-data mark and flushes; returns the bytes put on the
    /// wire for the content and terminator (reports [`Event::DataSent`]).
    pub fn finish(mut self, observer: &mut dyn Observer) -> Result<u64, ConnError> {
        let Some(stuffer) = self.stuffer.take() else {
            return Err(ConnError::Broken);
        };
        // On failure the connection has already been marked broken and shut.
        let mut socket = stuffer.finish().map_err(ConnError::from)?;
        socket.flush().map_err(ConnError::from)?;
        let bytes = socket.wire_bytes;
        socket.conn.expecting.push_back(TimeoutPhase::DataEnd);
        observer.event(Event::DataSent {
            bytes,
            secure: socket.conn.secure,
            bdat: false,
        });
        Ok(bytes)
    }
}

impl Write for DataWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.stuffer.as_mut() {
            Some(stuffer) => stuffer.write(buf),
            None => Err(into_io(ConnError::Broken)),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.stuffer.as_mut() {
            Some(stuffer) => stuffer.flush(),
            None => Err(into_io(ConnError::Broken)),
        }
    }
}

impl Drop for DataWriter<'_> {
    /// Unfinished content must never be followed by a final dot: buffered
    /// bytes are discarded, the connection is marked broken and its socket
    /// shut down, so the server sees the data end without `<CRLF>.<CRLF>`.
    fn drop(&mut self) {
        if let Some(mut stuffer) = self.stuffer.take() {
            let socket = stuffer.get_mut();
            socket.buf.clear();
            socket.conn.broken = true;
            let _ = socket.conn.stream.shutdown();
        }
    }
}

/// Streams the content of one BDAT chunk; see [`Connection::bdat_writer`].
pub struct BdatWriter<'a> {
    /// `None` once finished or failed (so that `Drop` knows).
    socket: Option<SocketWriter<'a>>,
    /// The chunk size announced in the command.
    size: u64,
    /// Content bytes accepted so far.
    written: u64,
}

impl BdatWriter<'_> {
    /// Content bytes accepted so far.
    pub fn bytes_in(&self) -> u64 {
        self.written
    }
    /// The same as `write_all`: BDAT content needs no dot-stuffing.
    pub fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.write_all(lines)
    }
    /// Closes the connection without completing the chunk.
    fn abandon(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            socket.buf.clear();
            socket.conn.broken = true;
            let _ = socket.conn.stream.shutdown();
        }
    }
    /// Flushes the chunk, which must be complete; returns its size
    /// (reports [`Event::DataSent`]). The caller then reads the reply.
    pub fn finish(mut self, observer: &mut dyn Observer) -> Result<u64, ConnError> {
        if self.written != self.size {
            let (written, size) = (self.written, self.size);
            self.abandon();
            return Err(ConnError::Io(io::Error::other(format!(
                "the message was {written} bytes, not the {size} announced in BDAT"
            ))));
        }
        let Some(mut socket) = self.socket.take() else {
            return Err(ConnError::Broken);
        };
        socket.flush().map_err(ConnError::from)?;
        socket.conn.expecting.push_back(TimeoutPhase::DataEnd);
        observer.event(Event::DataSent {
            bytes: self.size,
            secure: socket.conn.secure,
            bdat: true,
        });
        Ok(self.size)
    }
}

impl Write for BdatWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.socket.is_none() {
            return Err(into_io(ConnError::Broken));
        }
        if self.written + buf.len() as u64 > self.size {
            self.abandon();
            return Err(into_io(ConnError::Io(io::Error::other(format!(
                "the message is longer than the {} bytes announced in BDAT",
                self.size
            )))));
        }
        let Some(socket) = self.socket.as_mut() else {
            return Err(into_io(ConnError::Broken));
        };
        socket.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.socket.as_mut() {
            Some(socket) => socket.flush(),
            None => Err(into_io(ConnError::Broken)),
        }
    }
}

impl Drop for BdatWriter<'_> {
    /// An unfinished chunk is never completed: the connection is closed.
    fn drop(&mut self) {
        self.abandon();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::dotstuff::stuff;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::thread::{self, JoinHandle};

    /// Records the transcript as strings.
    #[derive(Default)]
    struct Log(Vec<String>);

    impl Observer for Log {
        fn event(&mut self, event: Event<'_>) {
            self.0.push(match event {
                Event::Sent { line, secure } => format!("C{}: {line}", tls(secure)),
                Event::Received { reply, secure } => {
                    format!("S{}: {}", tls(secure), reply.wire_lines().join(" | "))
                }
                Event::DataSent {
                    bytes,
                    secure,
                    bdat,
                } => format!(
                    "{}{}: {bytes}",
                    if bdat { "BDAT" } else { "DATA" },
                    tls(secure)
                ),
                Event::Notice(text) => format!("NOTE: {text}"),
            });
        }
    }

    fn tls(secure: bool) -> &'static str {
        if secure { "+tls" } else { "" }
    }

    impl Log {
        fn notices(&self) -> usize {
            self.0.iter().filter(|l| l.starts_with("NOTE:")).count()
        }
    }

    fn opts(ms: u64) -> ConnectOptions {
        ConnectOptions {
            timeout: Some(Duration::from_millis(ms)),
            interrupt: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The server side of a test: a buffered reader plus the raw stream.
    struct Peer {
        reader: BufReader<TcpStream>,
        stream: TcpStream,
    }

    impl Peer {
        fn send(&mut self, bytes: &[u8]) {
            self.stream.write_all(bytes).expect("server write");
        }
        fn line(&mut self) -> String {
            let mut line = Vec::new();
            self.reader
                .read_until(b'\n', &mut line)
                .expect("server read");
            String::from_utf8_lossy(&line).into_owned()
        }
        /// Reads until the client closes (or 20 s pass), returning the bytes.
        fn until_eof(&mut self) -> Vec<u8> {
            let mut all = Vec::new();
            let _ = self.reader.read_to_end(&mut all);
            all
        }
    }

    /// Starts a one-connection fake server running `script`; returns its port.
    fn server<T: Send + 'static>(
        script: impl FnOnce(Peer) -> T + Send + 'static,
    ) -> (u16, JoinHandle<T>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handle = thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            stream
                .set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            let reader = BufReader::new(stream.try_clone().expect("clone"));
            script(Peer { reader, stream })
        });
        (port, handle)
    }

    fn open(port: u16, options: ConnectOptions, log: &mut Log) -> (Connection, Reply) {
        Connection::open("127.0.0.1", port, options, log).expect("connect")
    }

    #[test]
    fn greeting_and_command_round_trip() {
        let (port, server) = server(|mut p| {
            p.send(b"220 fake.example ESMTP\r\n");
            let ehlo = p.line();
            p.send(b"250-fake.example\r\n250-SIZE 100\r\n250 8BITMIME\r\n");
            let quit = p.line();
            p.send(b"221 2.0.0 bye\r\n");
            (ehlo, quit)
        });
        let mut log = Log::default();
        let (mut conn, greeting) = open(port, opts(5000), &mut log);
        assert_eq!(greeting.code, 220);
        assert_eq!(conn.host(), "127.0.0.1");
        assert_eq!(conn.peer().port(), port);
        assert!(conn.local().ip().is_loopback());
        assert!(!conn.is_secure() && !conn.is_broken());
        let ehlo = Command::ehlo("client.example").expect("valid");
        let reply = conn.command(&ehlo, &mut log).expect("reply");
        assert_eq!(reply.lines, vec!["fake.example", "SIZE 100", "8BITMIME"]);
        let reply = conn.command(&Command::quit(), &mut log).expect("reply");
        assert_eq!(reply.code, 221);
        assert_eq!(
            reply.enhanced.map(|e| e.to_string()).as_deref(),
            Some("2.0.0")
        );
        let (got_ehlo, got_quit) = server.join().expect("server");
        assert_eq!(got_ehlo, "EHLO client.example\r\n");
        assert_eq!(got_quit, "QUIT\r\n");
        assert_eq!(
            log.0,
            vec![
                "S: 220 fake.example ESMTP",
                "C: EHLO client.example",
                "S: 250-fake.example | 250-SIZE 100 | 250 8BITMIME",
                "C: QUIT",
                "S: 221 2.0.0 bye",
            ]
        );
    }

    #[test]
    fn host_forms_and_address_fallback() {
        // "localhost" may resolve to ::1 first; every address is tried.
        for host in ["localhost", "[127.0.0.1]", "127.0.0.1"] {
            let (port, server) = server(|mut p| p.send(b"220 hi\r\n"));
            let mut log = Log::default();
            let (conn, greeting) = Connection::open(host, port, opts(5000), &mut log).expect(host);
            assert_eq!(greeting.code, 220);
            assert_eq!(conn.host(), host);
            server.join().expect("server");
        }
        // IPv6, with and without brackets, where the host has it.
        if let Ok(listener) = TcpListener::bind("[::1]:0") {
            let port = listener.local_addr().expect("addr").port();
            let server = thread::spawn(move || {
                for _ in 0..2 {
                    let (mut s, _) = listener.accept().expect("accept");
                    s.write_all(b"220 v6\r\n").expect("write");
                }
            });
            for host in ["::1", "[::1]"] {
                let mut log = Log::default();
                let (conn, greeting) =
                    Connection::open(host, port, opts(5000), &mut log).expect(host);
                assert_eq!(greeting.text(), "v6");
                assert!(conn.peer().is_ipv6());
            }
            server.join().expect("server");
        }
    }

    #[test]
    fn refused_connection() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let mut log = Log::default();
        let err = Connection::open("127.0.0.1", port, opts(2000), &mut log)
            .err()
            .expect("nothing listens");
        assert!(matches!(err, ConnError::Connect { ref source, .. }
            if source.kind() == io::ErrorKind::ConnectionRefused));
        assert_eq!(
            err.to_string(),
            format!(
                "connection refused by 127.0.0.1:{port} — is a server listening there? check host and port"
            )
        );
    }

    #[test]
    fn unresolvable_host() {
        let mut log = Log::default();
        for host in ["no-such-host.invalid", "", "[]"] {
            let err = Connection::open(host, 25, opts(3000), &mut log)
                .err()
                .expect("cannot resolve");
            assert!(matches!(err, ConnError::Resolve { .. }), "{host}: {err:?}");
            assert!(
                err.to_string().starts_with("could not find the host"),
                "{err}"
            );
        }
    }

    #[test]
    fn server_closes_before_greeting() {
        let (port, server) = server(drop);
        let mut log = Log::default();
        let err = Connection::open("127.0.0.1", port, opts(5000), &mut log)
            .err()
            .expect("closed");
        server.join().expect("server");
        assert_eq!(
            err.to_string(),
            "the server closed the connection while waiting for the greeting"
        );
    }

    #[test]
    fn server_closes_mid_reply() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            p.line();
            p.send(b"250-partial\r\n250-still going");
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        let err = conn
            .command(&Command::noop(), &mut log)
            .expect_err("closed");
        server.join().expect("server");
        match &err {
            ConnError::Closed { during } => assert_eq!(during, "waiting for the reply to NOOP"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "the server closed the connection while waiting for the reply to NOOP"
        );
        assert!(conn.is_broken());
        assert!(matches!(
            conn.command(&Command::quit(), &mut log),
            Err(ConnError::Broken)
        ));
        assert!(matches!(
            conn.read_reply("x", &mut log),
            Err(ConnError::Broken)
        ));
    }

    #[test]
    fn silent_server_times_out_on_greeting() {
        let (port, server) = server(|mut p| p.until_eof());
        let mut log = Log::default();
        let err = Connection::open("127.0.0.1", port, opts(300), &mut log)
            .err()
            .expect("timeout");
        match &err {
            ConnError::Timeout { waiting_for, after } => {
                assert_eq!(waiting_for, "the greeting");
                assert_eq!(*after, Duration::from_millis(300));
            }
            other => panic!("{other:?}"),
        }
        // The client hung up: the server's read ends.
        assert!(server.join().expect("server").is_empty());
    }

    #[test]
    fn stalled_reply_times_out_and_breaks_the_connection() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            p.until_eof()
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(300), &mut log);
        let mail = Command::mail_from(None, &[]).expect("valid");
        let err = conn.command(&mail, &mut log).expect_err("timeout");
        assert!(
            matches!(&err, ConnError::Timeout { waiting_for, .. } if waiting_for == "the reply to MAIL"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "no reply from the server within 300 ms while waiting for the reply to MAIL \
             (raise it with `set timeout SECONDS`)"
        );
        assert!(conn.is_broken());
        assert!(matches!(
            conn.send(&Command::rset(), &mut log),
            Err(ConnError::Broken)
        ));
        assert_eq!(server.join().expect("server"), b"MAIL FROM:<>\r\n");
    }

    #[test]
    fn timeout_counts_from_the_last_progress() {
        // A reply dripping in one byte at a time, slower overall than the
        // timeout (but well within REPLY_TIME_FACTOR times it) and never
        // silent for long, is still received.
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            p.line();
            for &b in b"250 slow but steady\r\n" {
                p.send(&[b]);
                thread::sleep(Duration::from_millis(30));
            }
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(400), &mut log);
        let reply = conn.command(&Command::noop(), &mut log).expect("progress");
        assert_eq!(reply.text(), "slow but steady");
        server.join().expect("server");
    }

    #[test]
    fn interrupt_from_another_thread() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            p.until_eof()
        });
        let mut log = Log::default();
        let options = opts(30_000);
        let flag = options.interrupt.clone();
        let (mut conn, _) = open(port, options, &mut log);
        let setter = thread::spawn(move || {
            thread::sleep(Duration::from_millis(150));
            flag.store(true, Ordering::SeqCst);
        });
        let err = conn
            .command(&Command::noop(), &mut log)
            .expect_err("interrupted");
        setter.join().expect("setter");
        assert!(matches!(err, ConnError::Interrupted), "{err:?}");
        assert_eq!(
            err.to_string(),
            "interrupted (Ctrl-C); the connection was closed"
        );
        assert!(conn.is_broken());
        server.join().expect("server");
    }

    #[test]
    fn interrupt_before_connecting() {
        let options = opts(30_000);
        options.interrupt.store(true, Ordering::SeqCst);
        let mut log = Log::default();
        // 192.0.2.1 (TEST-NET-1) never answers; the flag is already set.
        let err = Connection::open("192.0.2.1", 25, options, &mut log)
            .err()
            .expect("interrupted");
        assert!(matches!(err, ConnError::Interrupted), "{err:?}");
    }

    #[test]
    fn garbage_is_a_protocol_error() {
        let (port, server) = server(|mut p| {
            p.send(b"abc hello\r\n");
            p.until_eof()
        });
        let mut log = Log::default();
        let err = Connection::open("127.0.0.1", port, opts(5000), &mut log)
            .err()
            .expect("malformed");
        assert!(
            matches!(&err, ConnError::Protocol(ReplyError::Malformed(l)) if l == "abc hello"),
            "{err:?}"
        );
        assert!(err.to_string().ends_with("; the connection was closed"));
        server.join().expect("server");
    }

    #[test]
    fn bare_lf_is_noticed_once() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\n");
            p.line();
            p.send(b"250-a\n250 b\n");
            p.line();
            p.send(b"250 ok\r\n");
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        assert_eq!(
            conn.command(&Command::noop(), &mut log).expect("ok").code,
            250
        );
        assert_eq!(
            conn.command(&Command::noop(), &mut log).expect("ok").code,
            250
        );
        assert_eq!(log.notices(), 1, "{:?}", log.0);
        assert_eq!(log.0[0], format!("NOTE: {BARE_LF_NOTICE}"));
        server.join().expect("server");
    }

    #[test]
    fn pipelined_replies_in_one_segment() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            let lines = [p.line(), p.line(), p.line()];
            p.send(b"250 2.1.0 ok\r\n550 5.1.1 no such user\r\n250 2.1.5 ok\r\n");
            lines
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        let from = Address::parse("a@example.com").expect("valid");
        let to1 = Address::parse("nobody@example.com").expect("valid");
        let to2 = Address::parse("b@example.com").expect("valid");
        for c in [
            Command::mail_from(Some(&from), &[]).expect("valid"),
            Command::rcpt_to(&to1, &[]).expect("valid"),
            Command::rcpt_to(&to2, &[]).expect("valid"),
        ] {
            conn.send(&c, &mut log).expect("send");
        }
        let codes: Vec<u16> = (0..3)
            .map(|_| {
                conn.read_reply("a pipelined reply", &mut log)
                    .expect("reply")
                    .code
            })
            .collect();
        assert_eq!(codes, vec![250, 550, 250]);
        let lines = server.join().expect("server");
        assert_eq!(lines[0], "MAIL FROM:<a@example.com>\r\n");
        assert_eq!(lines[2], "RCPT TO:<b@example.com>\r\n");
    }

    use crate::address::Address;

    /// Test content: every awkward case, big enough to need many blocks.
    fn awkward_content(size: usize) -> Vec<u8> {
        let pieces: [&[u8]; 7] = [
            b".starts with a dot\n",
            b"normal line\r\n",
            b"..\r\n",
            b"bare cr\r.\r",
            b"\n.\n",
            b"\xff\x00 binary-ish \x7f",
            b"\r\n.\r\nQUIT\r\n",
        ];
        let mut out = Vec::with_capacity(size + 32);
        let mut i = 0usize;
        while out.len() < size {
            out.extend_from_slice(pieces[i % pieces.len()]);
            out.extend(std::iter::repeat_n(b'x', i % 97));
            i += 1;
        }
        out.extend_from_slice(b"no final newline.");
        out
    }

    /// Reads the DATA stream up to and including the terminator.
    fn read_data(p: &mut Peer) -> Vec<u8> {
        let mut data = Vec::new();
        while !data.ends_with(b"\r\n.\r\n") {
            let mut chunk = Vec::new();
            let n = p.reader.read_until(b'\n', &mut chunk).expect("read data");
            assert!(n > 0, "client closed before the terminator");
            data.extend_from_slice(&chunk);
        }
        data
    }

    #[test]
    fn data_is_streamed_byte_exact() {
        let content = awkward_content(3 * 1024 * 1024 + 17);
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            assert_eq!(p.line(), "DATA\r\n");
            p.send(b"354 go ahead\r\n");
            let data = read_data(&mut p);
            p.send(b"250 2.0.0 queued\r\n");
            data
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(10_000), &mut log);
        let reply = conn.command(&Command::data(), &mut log).expect("354");
        assert_eq!(reply.code, 354);
        let mut writer = conn.data_writer();
        // Odd piece sizes: small ones, and ones larger than the block size.
        let mut rest = &content[..];
        let sizes = [1usize, 7, 1000, 70_001, 3, 65_536, 200_000];
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].min(rest.len());
            writer.write_all(&rest[..n]).expect("write");
            rest = &rest[n..];
            i += 1;
        }
        assert_eq!(writer.bytes_in(), content.len() as u64);
        let sent = writer.finish(&mut log).expect("finish");
        let reply = conn
            .read_reply("the reply to the end of data", &mut log)
            .expect("250");
        assert_eq!(reply.code, 250);
        let expected = stuff(&content);
        let received = server.join().expect("server");
        assert_eq!(sent, expected.len() as u64);
        assert_eq!(received.len(), expected.len());
        assert!(
            received == expected,
            "bytes on the wire differ from stuff(content)"
        );
        assert!(log.0.contains(&format!("DATA: {sent}")), "{:?}", log.0);
        assert!(!conn.is_broken());
    }

    #[test]
    fn empty_data_is_just_the_dot() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n354 go\r\n");
            let data = read_data_or_dot(&mut p);
            p.send(b"250 ok\r\n");
            data
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        assert_eq!(conn.read_reply("354", &mut log).expect("354").code, 354);
        let sent = conn.data_writer().finish(&mut log).expect("finish");
        assert_eq!(sent, 3);
        assert_eq!(conn.read_reply("250", &mut log).expect("250").code, 250);
        assert_eq!(server.join().expect("server"), b".\r\n");
    }

    fn read_data_or_dot(p: &mut Peer) -> Vec<u8> {
        let first = p.line();
        if first == ".\r\n" {
            return first.into_bytes();
        }
        let mut data = first.into_bytes();
        data.extend(read_data(p));
        data
    }

    #[test]
    fn dropped_data_writer_never_sends_the_dot() {
        let content = awkward_content(300 * 1024);
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n354 go\r\n");
            p.until_eof()
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        conn.read_reply("354", &mut log).expect("354");
        {
            let mut writer = conn.data_writer();
            writer.write_all(&content).expect("write");
            // Dropped without finish (say, the file read failed).
        }
        assert!(conn.is_broken());
        assert!(matches!(
            conn.send(&Command::noop(), &mut log),
            Err(ConnError::Broken)
        ));
        let received = server.join().expect("server");
        let full = stuff(&content);
        assert!(
            !received.is_empty(),
            "large content should be partly on the wire"
        );
        assert!(received.len() < full.len());
        assert!(
            full.starts_with(&received),
            "only a prefix of the content was sent"
        );
        assert!(!received.windows(5).any(|w| w == b"\r\n.\r\n"));
        assert!(!log.0.iter().any(|l| l.starts_with("DATA")));
    }

    #[test]
    fn stalled_data_times_out() {
        let (done, wait) = mpsc::channel::<()>();
        let (port, server) = server(move |mut p| {
            p.send(b"220 hi\r\n354 go\r\n");
            // Never read until the client gave up: its writes must block.
            let _ = wait.recv_timeout(Duration::from_secs(60));
            p.until_eof().len()
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(300), &mut log);
        conn.read_reply("354", &mut log).expect("354");
        let block = vec![b'a'; 1 << 20];
        let mut writer = conn.data_writer();
        let mut err = None;
        for _ in 0..512 {
            if let Err(e) = writer.write_all(&block) {
                err = Some(e);
                break;
            }
        }
        let err = ConnError::from(err.expect("the writes must eventually time out"));
        assert!(
            matches!(&err, ConnError::Timeout { waiting_for, .. }
                if waiting_for == "the server to accept more message data"),
            "{err:?}"
        );
        // Later writes and finish fail at once.
        assert!(writer.write_all(b"more").is_err());
        assert!(matches!(writer.finish(&mut log), Err(ConnError::Broken)));
        assert!(conn.is_broken());
        drop(done);
        server.join().expect("server");
    }

    #[test]
    fn interrupt_while_sending_data() {
        let (done, wait) = mpsc::channel::<()>();
        let (port, server) = server(move |mut p| {
            p.send(b"220 hi\r\n354 go\r\n");
            let _ = wait.recv_timeout(Duration::from_secs(60));
            p.until_eof().len()
        });
        let mut log = Log::default();
        let options = opts(60_000);
        let flag = options.interrupt.clone();
        let (mut conn, _) = open(port, options, &mut log);
        conn.read_reply("354", &mut log).expect("354");
        let setter = thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            flag.store(true, Ordering::SeqCst);
        });
        let block = vec![b'a'; 1 << 20];
        let mut writer = conn.data_writer();
        let mut err = None;
        for _ in 0..2048 {
            if let Err(e) = writer.write_all(&block) {
                err = Some(e);
                break;
            }
        }
        setter.join().expect("setter");
        drop(writer);
        let err = ConnError::from(err.expect("interrupted"));
        assert!(matches!(err, ConnError::Interrupted), "{err:?}");
        assert!(conn.is_broken());
        drop(done);
        server.join().expect("server");
    }

    #[test]
    fn close_and_set_timeout() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            p.until_eof()
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        conn.set_timeout(Some(Duration::from_millis(200)));
        assert!(matches!(
            conn.read_reply("nothing", &mut log),
            Err(ConnError::Timeout { after, .. }) if after == Duration::from_millis(200)
        ));
        conn.close();
        assert!(conn.is_broken());
        assert!(server.join().expect("server").is_empty());
    }

    #[test]
    fn io_error_round_trip_keeps_the_conn_error() {
        let e = into_io(ConnError::Timeout {
            waiting_for: "x".into(),
            after: Duration::from_secs(1),
        });
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(matches!(ConnError::from(e), ConnError::Timeout { .. }));
        assert!(matches!(
            ConnError::from(into_io(ConnError::Interrupted)),
            ConnError::Interrupted
        ));
        assert_ne!(
            into_io(ConnError::Interrupted).kind(),
            io::ErrorKind::Interrupted
        );
        assert!(matches!(
            ConnError::from(io::Error::other("disk on fire")),
            ConnError::Io(_)
        ));
    }

    #[test]
    fn error_messages() {
        let addr: SocketAddr = "127.0.0.1:2525".parse().expect("addr");
        let refused = ConnError::Connect {
            addr,
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(
            refused.to_string(),
            "connection refused by 127.0.0.1:2525 — is a server listening there? check host and port"
        );
        let timed_out = ConnError::Connect {
            addr: "[::1]:25".parse().expect("addr"),
            source: io::Error::from(io::ErrorKind::TimedOut),
        };
        assert!(
            timed_out
                .to_string()
                .starts_with("no answer from [::1]:25 while connecting")
        );
        assert_eq!(
            ConnError::Timeout {
                waiting_for: "the reply to MAIL".into(),
                after: Duration::from_secs(30)
            }
            .to_string(),
            "no reply from the server within 30 s while waiting for the reply to MAIL \
             (raise it with `set timeout SECONDS`)"
        );
        assert_eq!(
            ConnError::Closed {
                during: "waiting for the greeting".into()
            }
            .to_string(),
            "the server closed the connection while waiting for the greeting"
        );
        assert_eq!(
            ConnError::Interrupted.to_string(),
            "interrupted (Ctrl-C); the connection was closed"
        );
        assert_eq!(
            ConnError::Protocol(ReplyError::LineTooLong { limit: 65536 }).to_string(),
            "the server sent a reply line longer than 65536 bytes; the connection was closed"
        );
        assert!(ConnError::Broken.to_string().contains("connect again"));
        assert!(
            ConnError::Io(io::Error::other("boom"))
                .to_string()
                .contains("boom")
        );
        for e in [refused, timed_out, ConnError::Broken] {
            assert!(!e.to_string().contains('\n'));
        }
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(human_duration(Duration::from_millis(300)), "300 ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_duration(Duration::ZERO), "0 ms");
        assert_eq!(human_duration(Duration::from_secs(300)), "5 min");
        assert_eq!(human_duration(Duration::from_secs(90)), "90 s");
    }

    #[test]
    fn phase_defaults_follow_rfc_5321() {
        use TimeoutPhase::*;
        let min = |m: u64| Duration::from_secs(m * 60);
        for (phase, want) in [
            (Greeting, min(5)),
            (Mail, min(5)),
            (Rcpt, min(5)),
            (DataInit, min(2)),
            (DataBlock, min(3)),
            (DataEnd, min(10)),
            (Command, min(5)),
            (Connect, Duration::from_secs(30)),
        ] {
            assert_eq!(phase.default_timeout(), want, "{phase:?}");
            assert_eq!(phase.timeout(None), want, "{phase:?}");
            // `set timeout` replaces every default.
            assert_eq!(
                phase.timeout(Some(Duration::from_secs(7))),
                Duration::from_secs(7)
            );
        }
        assert_eq!(TimeoutPhase::for_verb("MAIL"), Mail);
        assert_eq!(TimeoutPhase::for_verb("rcpt"), Rcpt);
        assert_eq!(TimeoutPhase::for_verb("DATA"), DataInit);
        assert_eq!(TimeoutPhase::for_verb("BDAT"), DataEnd);
        for verb in [
            "EHLO", "HELO", "NOOP", "RSET", "QUIT", "STARTTLS", "AUTH", "XYZ", "",
        ] {
            assert_eq!(TimeoutPhase::for_verb(verb), Command, "{verb}");
        }
    }

    #[test]
    fn each_reply_gets_the_phase_of_its_command() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            let lines = [p.line(), p.line(), p.line()];
            p.send(b"250 ok\r\n250 ok\r\n354 go\r\n");
            let data = read_data_or_dot(&mut p);
            p.send(b"250 queued\r\n");
            (lines, data)
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        assert!(conn.expecting.is_empty() && conn.sent_any.eq(&false));
        let from = Address::parse("a@example.com").expect("valid");
        conn.send(
            &Command::mail_from(Some(&from), &[]).expect("valid"),
            &mut log,
        )
        .expect("send");
        conn.send(&Command::rcpt_to(&from, &[]).expect("valid"), &mut log)
            .expect("send");
        conn.send(&Command::data(), &mut log).expect("send");
        use TimeoutPhase::{DataEnd, DataInit, Mail, Rcpt};
        assert_eq!(
            Vec::from(conn.expecting.clone()),
            vec![Mail, Rcpt, DataInit]
        );
        conn.read_reply("MAIL", &mut log).expect("250");
        assert_eq!(Vec::from(conn.expecting.clone()), vec![Rcpt, DataInit]);
        conn.read_reply("RCPT", &mut log).expect("250");
        assert_eq!(conn.read_reply("DATA", &mut log).expect("354").code, 354);
        assert!(conn.expecting.is_empty());
        conn.data_writer().finish(&mut log).expect("dot");
        assert_eq!(Vec::from(conn.expecting.clone()), vec![DataEnd]);
        assert_eq!(conn.read_reply("end", &mut log).expect("250").code, 250);
        let (lines, data) = server.join().expect("server");
        assert_eq!(lines[2], "DATA\r\n");
        assert_eq!(data, b".\r\n");
    }

    #[test]
    fn a_reply_that_trickles_forever_is_abandoned() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            p.line();
            p.send(b"250 ");
            // One byte every 10 ms: always progress, never an end.
            for _ in 0..60_000 {
                if p.stream.write_all(b"x").is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(300), &mut log);
        let err = conn
            .command(&Command::noop(), &mut log)
            .expect_err("abandoned");
        match &err {
            ConnError::TooSlow { waiting_for, after } => {
                assert_eq!(waiting_for, "the reply to NOOP");
                assert_eq!(*after, Duration::from_millis(300) * REPLY_TIME_FACTOR);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            err.to_string().starts_with(
                "the server kept sending the reply to NOOP a few bytes at a time and had not finished it after 1.2 s"
            ),
            "{err}"
        );
        assert!(conn.is_broken());
        server.join().expect("server");
    }

    #[test]
    fn a_batch_is_one_write_and_each_reply_follows_its_command() {
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            // One read holds the whole group.
            let group = String::from_utf8_lossy(p.reader.fill_buf().expect("read")).into_owned();
            let n = group.len();
            p.reader.consume(n);
            p.send(b"250 2.1.0 ok\r\n550 5.1.1 no\r\n250 2.1.5 ok\r\n354 go\r\n");
            group
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        let from = Address::parse("a@example.com").expect("valid");
        let commands = [
            Command::mail_from(Some(&from), &[]).expect("valid"),
            Command::rcpt_to(&Address::parse("x@example.com").expect("valid"), &[]).expect("valid"),
            Command::rcpt_to(&Address::parse("y@example.com").expect("valid"), &[]).expect("valid"),
            Command::data(),
        ];
        conn.send_batch(&commands).expect("batch");
        assert_eq!(
            log.0.len(),
            1,
            "nothing reported before the replies: {:?}",
            log.0
        );
        let codes: Vec<u16> = commands
            .iter()
            .map(|c| conn.pipelined_reply(c, &mut log).expect("reply").code)
            .collect();
        assert_eq!(codes, [250, 550, 250, 354]);
        assert_eq!(
            log.0[1..],
            [
                "C: MAIL FROM:<a@example.com>",
                "S: 250 2.1.0 ok",
                "C: RCPT TO:<x@example.com>",
                "S: 550 5.1.1 no",
                "C: RCPT TO:<y@example.com>",
                "S: 250 2.1.5 ok",
                "C: DATA",
                "S: 354 go",
            ]
        );
        assert_eq!(
            server.join().expect("server"),
            "MAIL FROM:<a@example.com>\r\nRCPT TO:<x@example.com>\r\nRCPT TO:<y@example.com>\r\nDATA\r\n"
        );
    }

    /// Reads `BDAT n LAST` and then exactly n bytes.
    fn read_chunk(p: &mut Peer) -> (String, Vec<u8>) {
        let line = p.line();
        let n: usize = line
            .strip_prefix("BDAT ")
            .and_then(|r| r.strip_suffix(" LAST\r\n"))
            .and_then(|n| n.parse().ok())
            .expect("BDAT n LAST");
        let mut chunk = vec![0u8; n];
        p.reader.read_exact(&mut chunk).expect("chunk");
        (line, chunk)
    }

    #[test]
    fn bdat_sends_exactly_the_announced_chunk_unstuffed() {
        let content = awkward_content(200 * 1024);
        let expected = content.clone();
        let (port, server) = server(|mut p| {
            p.send(b"220 hi\r\n");
            let (line, chunk) = read_chunk(&mut p);
            p.send(b"250 2.0.0 queued\r\n");
            let after = p.until_eof();
            (line, chunk, after)
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        let mut w = conn
            .bdat_writer(content.len() as u64, &mut log)
            .expect("bdat");
        let (a, b) = content.split_at(1000);
        w.write_all(a).expect("write");
        w.write_clean_lines(b).expect("write");
        assert_eq!(w.bytes_in(), content.len() as u64);
        assert_eq!(w.finish(&mut log).expect("finish"), content.len() as u64);
        let reply = conn
            .read_reply("the reply to BDAT", &mut log)
            .expect("reply");
        assert_eq!(reply.code, 250);
        conn.close();
        let (line, chunk, after) = server.join().expect("server");
        assert_eq!(line, format!("BDAT {} LAST\r\n", expected.len()));
        assert!(chunk == expected, "the chunk is the content, unchanged");
        assert!(after.is_empty(), "nothing after the chunk");
        assert!(
            log.0.contains(&format!("BDAT: {}", expected.len())),
            "{:?}",
            log.0
        );
        assert!(log.0.contains(&format!("C: BDAT {} LAST", expected.len())));
    }

    #[test]
    fn bdat_never_sends_more_or_less_than_announced() {
        // Too much: the write fails, nothing of it leaves, the connection closes.
        let (port, peer) = server(|mut p| {
            p.send(b"220 hi\r\n");
            p.until_eof()
        });
        let mut log = Log::default();
        let (mut conn, _) = open(port, opts(5000), &mut log);
        {
            let mut w = conn.bdat_writer(10, &mut log).expect("bdat");
            w.write_all(b"0123456789").expect("exactly 10");
            assert!(w.write_all(b"X").is_err());
            assert!(matches!(w.finish(&mut log), Err(ConnError::Broken)));
        }
        assert!(conn.is_broken());
        let got = peer.join().expect("server");
        assert!(!got.contains(&b'X'), "{:?}", String::from_utf8_lossy(&got));

        // Too little: finish fails and the connection closes unfinished.
        let (port, peer) = server(|mut p| {
            p.send(b"220 hi\r\n");
            p.until_eof()
        });
        let (mut conn, _) = open(port, opts(5000), &mut log);
        let mut w = conn.bdat_writer(10, &mut log).expect("bdat");
        w.write_all(b"01234").expect("write");
        let err = w.finish(&mut log).expect_err("short chunk");
        assert!(err.to_string().contains("not the 10 announced"), "{err}");
        assert!(conn.is_broken());
        let got = peer.join().expect("server");
        assert!(got.len() < "BDAT 10 LAST\r\n".len() + 10);
    }
}
