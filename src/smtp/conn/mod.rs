//! The thin I/O layer around the [`Conversation`]: a byte stream (TCP or
//! TLS) plus the reply parser, per-phase timeouts, interruption (Ctrl-C)
//! and transcript events. Every command sent and every reply read passes
//! through the connection's [`Conversation`], which therefore always knows
//! where the conversation stands; the connection itself never decides what
//! a reply means: 4xx/5xx are data for the caller, not errors.
//!
//! - [`stream`]: the [`Stream`] trait (TCP, TLS, test doubles).
//! - [`open`]: resolving, connecting, implicit TLS, the greeting.
//! - [`net`]: the address family, the source address, the PROXY header.
//! - [`timeout`]: the RFC 5321 timeout of each phase; interruptible waits.
//! - [`writers`]: message content after DATA, or as a BDAT chunk.
//! - [`error`]: what can go wrong below the level of replies.

mod error;
mod event;
#[cfg(any(test, feature = "fuzzing"))]
pub mod memory;
mod net;
mod open;
mod stream;
pub(crate) mod timeout;
mod writers;

pub use error::{ConnError, SocketProblem};
pub use event::{Event, Observer};
pub use net::{Family, NetOptions, ProxyHeader};
pub use stream::Stream;
pub use timeout::{REPLY_TIME_FACTOR, TimeoutPhase};

/// How long a reply may be awaited before an [`Event::Waiting`] says so.
pub const WAITING_NOTICE: Duration = Duration::from_secs(1);
pub use writers::{BdatWriter, DataWriter};

use super::client::Conversation;
use super::command::Command;
use super::reply::{Reply, ReplyParser};
use super::tls::{Phase, TlsClient, TlsError, TlsInfo, TlsStream};
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use stream::Gone;
use timeout::{IoFailure, SLICE, WriteStep, classify};

/// Size of the buffer for reading replies.
const READ_BUFFER: usize = 8 * 1024;
/// Message content is sent in blocks of up to this size.
const DATA_BUFFER: usize = 64 * 1024;
/// The notice given once per connection when a reply line ends in a bare LF.
const BARE_LF_NOTICE: &str =
    "the server ended a reply line with a bare LF instead of CRLF (accepted, but not RFC 5321)";

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
    /// The address family, the source address and the PROXY header.
    pub net: NetOptions,
}

/// Where a connection goes: a TCP peer, or a UNIX-domain socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP: the server's address and ours.
    Tcp {
        /// The server's address.
        peer: SocketAddr,
        /// Ours.
        local: SocketAddr,
    },
    /// A UNIX-domain socket at this path (`connect unix:/path`).
    Unix(PathBuf),
}

/// An SMTP connection and its conversation.
pub struct Connection {
    stream: Box<dyn Stream>,
    parser: ReplyParser,
    endpoint: Endpoint,
    host: String,
    options: ConnectOptions,
    /// Everything true of the conversation.
    conversation: Conversation,
    /// What TLS negotiated, once encrypted.
    tls: Option<TlsInfo>,
    /// Whether the bare-LF notice was given already.
    bare_lf_noticed: bool,
    /// The socket read and write timeouts last set, so the hot loops make
    /// the `setsockopt` call only when the slice changes.
    applied: (Option<Duration>, Option<Duration>),
}

impl Connection {
    /// Wraps an already connected stream (tests, TLS); the conversation
    /// waits for the greeting, which is not read yet.
    pub fn from_stream(
        stream: Box<dyn Stream>,
        peer: SocketAddr,
        local: SocketAddr,
        host: &str,
        options: ConnectOptions,
    ) -> Connection {
        Connection::on(stream, Endpoint::Tcp { peer, local }, host, options)
    }
    /// Wraps a connected stream to `endpoint`; `host` is the name shown
    /// (and, for TCP, the name a certificate is checked against).
    fn on(
        stream: Box<dyn Stream>,
        endpoint: Endpoint,
        host: &str,
        options: ConnectOptions,
    ) -> Connection {
        Connection {
            stream,
            parser: ReplyParser::new(),
            endpoint,
            host: host.to_string(),
            options,
            conversation: Conversation::new(false),
            tls: None,
            bare_lf_noticed: false,
            applied: (None, None),
        }
    }
    /// Upgrades to TLS after the server answered STARTTLS with 220
    /// (RFC 3207): anything the server sent after that 220 is discarded
    /// unread (a [`Event::Notice`] says so, and [`TlsInfo::discarded`]
    /// counts it) — such bytes came before TLS and must never pass for a
    /// reply (CVE-2011-0411 class). Then the handshake, checked against
    /// the host name; the conversation forgets what it learned before TLS.
    /// On failure the connection is closed and broken.
    pub fn starttls(
        &mut self,
        tls: &TlsClient,
        observer: &mut dyn Observer,
    ) -> Result<TlsInfo, ConnError> {
        if self.is_broken() {
            return Err(ConnError::Broken);
        }
        let discarded = self.parser.pending_bytes();
        self.parser.clear();
        if discarded > 0 {
            let note = format!(
                "discarded {discarded} byte{} the server sent after its 220 to STARTTLS, before TLS \
                 (never read as a reply: a sign of STARTTLS injection or a broken server)",
                if discarded == 1 { "" } else { "s" }
            );
            observer.event(Event::Notice(&note));
        }
        let name = open::bare_host(&self.host);
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
                self.conversation.tls_established();
                info.discarded = discarded;
                self.tls = Some(info.clone());
                Ok(info)
            }
            Err(e) => Err(self.fail(e)),
        }
    }
    /// What TLS negotiated (`None` while plaintext).
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }
    /// The conversation: where it stands, what the server announced, the
    /// transaction.
    pub fn conversation(&self) -> &Conversation {
        &self.conversation
    }
    /// Sends one command line (reporting [`Event::Sent`]); does not wait.
    /// Refused without a byte sent when the conversation cannot take a
    /// command now ([`ConnError::State`]).
    pub fn send(
        &mut self,
        command: &Command,
        observer: &mut dyn Observer,
    ) -> Result<(), ConnError> {
        self.usable()?;
        self.conversation.send(command).map_err(ConnError::State)?;
        let word = command.word();
        let mut wire = command.wire();
        let put = self.put_commands(
            &wire,
            TimeoutPhase::for_verb(command.verb()),
            &format!("the {word} command"),
            word,
        );
        // An AUTH line holds a secret: no copy of it outlives the write.
        zeroize::Zeroize::zeroize(&mut wire);
        put?;
        let line = command.to_string();
        observer.event(Event::Sent {
            line: &line,
            secure: self.is_secure(),
        });
        Ok(())
    }
    /// `send` then `read_reply`.
    pub fn command(
        &mut self,
        command: &Command,
        observer: &mut dyn Observer,
    ) -> Result<Reply, ConnError> {
        self.send(command, observer)?;
        let what = format!("the reply to {}", command.word());
        self.read_reply(&what, observer)
    }
    /// Sends several commands in one write (RFC 2920 pipelining) and
    /// reports nothing yet: read their replies in order with
    /// [`Connection::pipelined_reply`], which reports each command just
    /// before its reply, so the transcript pairs them as if they had been
    /// sent one at a time. Each reply gets its own command's timeout.
    pub fn send_batch(&mut self, commands: &[Command]) -> Result<(), ConnError> {
        self.usable()?;
        let Some(first) = commands.first() else {
            return Ok(());
        };
        let mut wire = Vec::with_capacity(commands.len() * 48);
        for c in commands {
            // Refused for the first or for none: sending changes nothing
            // that `Conversation::check` looks at.
            self.conversation.send(c).map_err(ConnError::State)?;
            wire.extend_from_slice(&c.wire());
        }
        let verbs: Vec<&str> = commands.iter().map(Command::word).collect();
        let verbs = verbs.join(", ");
        self.put_commands(
            &wire,
            TimeoutPhase::for_verb(first.verb()),
            &format!("the commands {verbs}"),
            &verbs,
        )
    }
    /// Writes and flushes command lines; `what` and `words` name them in
    /// a timeout ("the server to accept the MAIL command") or a close
    /// ("sending MAIL").
    fn put_commands(
        &mut self,
        wire: &[u8],
        phase: TimeoutPhase,
        what: &str,
        words: &str,
    ) -> Result<(), ConnError> {
        let waiting_for = format!("the server to accept {what}");
        let during = format!("sending {words}");
        self.write_all_checked(wire, phase, &waiting_for, &during)?;
        self.flush_checked(phase, &waiting_for, &during)
    }
    /// For a command sent by [`Connection::send_batch`]: reports it
    /// ([`Event::Sent`]) and reads the next reply, which is its reply.
    /// Call it once per command, in the order they were sent.
    pub fn pipelined_reply(
        &mut self,
        command: &Command,
        observer: &mut dyn Observer,
    ) -> Result<Reply, ConnError> {
        self.usable()?;
        let line = command.to_string();
        observer.event(Event::Sent {
            line: &line,
            secure: self.is_secure(),
        });
        let what = format!("the reply to {}", command.word());
        self.read_reply(&what, observer)
    }
    /// Waits for the next complete reply (reporting [`Event::Received`])
    /// and hands it to the conversation. `waiting_for` names it in a
    /// timeout or close error. The timeout is that of the reply's phase
    /// ([`TimeoutPhase`]): what the oldest pending command is. Each byte
    /// received restarts the wait, but one reply may take at most
    /// [`REPLY_TIME_FACTOR`] times the timeout.
    pub fn read_reply(
        &mut self,
        waiting_for: &str,
        observer: &mut dyn Observer,
    ) -> Result<Reply, ConnError> {
        self.usable()?;
        let phase = TimeoutPhase::for_pending(self.conversation.next_pending());
        if let Some(reply) = self.parser.next_reply() {
            return Ok(self.received(reply, observer));
        }
        let timeout = phase.timeout(self.options.timeout);
        let started = Instant::now();
        let limit = timeout.saturating_mul(REPLY_TIME_FACTOR);
        let mut deadline = started + timeout;
        let mut said_waiting = false;
        loop {
            if self.options.interrupt.load(Ordering::SeqCst) {
                return Err(self.fail(ConnError::Interrupted));
            }
            let now = Instant::now();
            if !said_waiting && now.saturating_duration_since(started) >= WAITING_NOTICE {
                said_waiting = true;
                observer.event(Event::Waiting { what: waiting_for });
            }
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
            if self.fill(slice, waiting_for, observer)? {
                deadline = Instant::now() + timeout;
                if let Some(reply) = self.parser.next_reply() {
                    return Ok(self.received(reply, observer));
                }
            }
        }
    }
    /// Reads what arrives within `wait` while nothing is pending, for
    /// replies the server sends on its own (an idle 421, a shutdown
    /// notice). `Ok(None)` when no whole reply came; a reply, when one
    /// did (the conversation has taken it: a 421 closes it); an error when
    /// the server closed the connection. With a zero `wait`, only a reply
    /// already received whole is taken: nothing is read.
    pub fn poll_unsolicited(
        &mut self,
        wait: Duration,
        observer: &mut dyn Observer,
    ) -> Result<Option<Reply>, ConnError> {
        self.usable()?;
        if let Some(reply) = self.parser.next_reply() {
            return Ok(Some(self.received(reply, observer)));
        }
        if wait.is_zero() {
            return Ok(None);
        }
        let wait = wait.min(SLICE);
        if self.fill(wait, "a reply", observer)? {
            return Ok(self.parser.next_reply().map(|r| self.received(r, observer)));
        }
        Ok(None)
    }
    /// One read of at most `slice`: `Ok(true)` when bytes arrived (pushed
    /// to the parser), `Ok(false)` when the slice passed.
    fn fill(
        &mut self,
        slice: Duration,
        waiting_for: &str,
        observer: &mut dyn Observer,
    ) -> Result<bool, ConnError> {
        let mut buf = [0u8; READ_BUFFER];
        if let Err(e) = self.read_slice(slice) {
            return Err(self.fail(ConnError::Io(e)));
        }
        match io::Read::read(&mut self.stream, &mut buf) {
            Ok(0) => Err(self.fail(ConnError::Closed {
                during: format!("waiting for {waiting_for}"),
            })),
            Ok(n) => {
                if let Err(e) = self.parser.push(&buf[..n]) {
                    return Err(self.fail(ConnError::Protocol(e)));
                }
                if self.parser.saw_bare_lf() && !self.bare_lf_noticed {
                    self.bare_lf_noticed = true;
                    observer.event(Event::Notice(BARE_LF_NOTICE));
                }
                Ok(true)
            }
            Err(e) => match classify(&e) {
                IoFailure::Slice | IoFailure::Retry => Ok(false),
                IoFailure::Closed => Err(self.fail(ConnError::Closed {
                    during: format!("waiting for {waiting_for}"),
                })),
                IoFailure::Other => Err(self.fail(io_or_tls(e))),
            },
        }
    }
    /// Reports a reply, gives it to the conversation, hands it on.
    fn received(&mut self, reply: Reply, observer: &mut dyn Observer) -> Reply {
        let recipient = match self.conversation.next_pending() {
            Some(super::client::Pending::Delivery { recipient, .. }) => Some(recipient.clone()),
            _ => None,
        };
        observer.event(Event::Received {
            reply: &reply,
            secure: self.is_secure(),
            recipient: recipient.as_deref(),
        });
        self.conversation.receive(&reply);
        if self.conversation.closed().is_some() {
            // A 421 or the reply to QUIT (the conversation was open before
            // it, or it would not have been read): the server closes its side now.
            self.stream.close_notify();
            self.shut();
        }
        reply
    }
    /// Fails unless the connection can still be used.
    fn usable(&self) -> Result<(), ConnError> {
        match self.conversation.closed() {
            Some(closed) => Err(ConnError::State(super::client::Refusal::Closed(
                closed.clone(),
            ))),
            None => Ok(()),
        }
    }
    /// Marks the connection unusable, closes the socket, tells the
    /// conversation, and returns `e`.
    fn fail(&mut self, e: ConnError) -> ConnError {
        let why = match &e {
            ConnError::Closed { .. } => None,
            other => Some(other.cause().to_string()),
        };
        self.conversation.lost(why);
        self.shut();
        e
    }
    /// Closes the connection in the middle of message content, so the
    /// server never sees a complete message.
    fn abandon(&mut self, why: &str) {
        self.conversation.lost(Some(why.to_string()));
        self.shut();
    }
    /// Shuts the socket (the conversation is closed already).
    fn shut(&mut self) {
        let _ = self.stream.shutdown();
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
        if self.is_broken() {
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
    /// Starts one `BDAT <size> LAST` chunk (RFC 3030) and returns the
    /// writer for its content; the command is reported now and goes out
    /// in the same write as the first content bytes. Exactly `size` bytes
    /// must follow: a write past `size` fails and closes the connection
    /// (the extra bytes would be read as commands), and
    /// [`BdatWriter::finish`] fails on a short chunk. No dot-stuffing and
    /// no terminator: the chunk is sent as given. Dropping the writer
    /// unfinished closes the connection, so the server never sees a whole
    /// chunk. The reply to the BDAT command is the reply to the message.
    pub fn bdat_writer(
        &mut self,
        size: u64,
        observer: &mut dyn Observer,
    ) -> Result<BdatWriter<'_>, ConnError> {
        self.usable()?;
        let command = Command::bdat(size, true);
        self.conversation.send(&command).map_err(ConnError::State)?;
        let line = command.to_string();
        observer.event(Event::Sent {
            line: &line,
            secure: self.is_secure(),
        });
        Ok(BdatWriter::new(self, command.wire(), size))
    }
    /// A writer for the message content after DATA was answered 354:
    /// CRLF-normalises, dot-stuffs, buffers in large blocks, honours
    /// timeout and interrupt. Call [`DataWriter::finish`] to send
    /// `<CRLF>.<CRLF>`; dropping it unfinished marks the connection broken
    /// (the server must never see a final dot after a partial message).
    /// Refused unless the conversation waits for content.
    pub fn data_writer(&mut self) -> Result<DataWriter<'_>, ConnError> {
        self.usable()?;
        if self.conversation.stage() != super::client::Stage::Data {
            return Err(ConnError::State(super::client::Refusal::NoContentExpected));
        }
        Ok(DataWriter::new(self))
    }
    /// The server's address (`None` over a UNIX socket).
    pub fn peer(&self) -> Option<SocketAddr> {
        match &self.endpoint {
            Endpoint::Tcp { peer, .. } => Some(*peer),
            Endpoint::Unix(_) => None,
        }
    }
    /// Our address (`None` over a UNIX socket).
    pub fn local(&self) -> Option<SocketAddr> {
        match &self.endpoint {
            Endpoint::Tcp { local, .. } => Some(*local),
            Endpoint::Unix(_) => None,
        }
    }
    /// Where the connection goes.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
    /// Speak LMTP (RFC 2033): after the message, one reply per accepted
    /// recipient (see [`Conversation::set_lmtp`]).
    pub fn set_lmtp(&mut self) {
        self.conversation.set_lmtp();
    }
    /// The host name as given to [`Connection::open`].
    pub fn host(&self) -> &str {
        &self.host
    }
    /// Whether traffic is encrypted.
    pub fn is_secure(&self) -> bool {
        self.conversation.is_secure()
    }
    /// Whether the connection can no longer be used (an earlier failure,
    /// or the conversation is over): the socket is shut exactly when the
    /// conversation closes.
    pub fn is_broken(&self) -> bool {
        self.conversation.closed().is_some()
    }
    /// The stream's file descriptor, for waiting on it with `poll(2)`
    /// (`None` for streams without one, such as test doubles).
    pub fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.stream.poll_fd()
    }
    /// Changes the timeout for later operations: `Some` for every phase,
    /// `None` for each phase's default ([`TimeoutPhase`]).
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.options.timeout = timeout;
    }
    /// Closes the socket without QUIT (inside TLS, after a close_notify);
    /// the conversation is over.
    pub fn close(&mut self) {
        if !self.is_broken() {
            self.stream.close_notify();
        }
        self.conversation
            .lost(Some("smtpsh closed the connection".to_string()));
        self.shut();
    }
}

#[cfg(test)]
mod tests;

/// A read error as a [`ConnError`]: one that carries a TLS explanation
/// (a client certificate refused after the handshake) as [`ConnError::Tls`].
fn io_or_tls(e: io::Error) -> ConnError {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<TlsError>())
    {
        Some(tls) => ConnError::Tls(tls.clone()),
        None => ConnError::Io(e),
    }
}
