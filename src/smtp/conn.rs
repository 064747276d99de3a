//! A thin connection layer: a byte stream (TCP now, TLS later) plus the
//! reply parser, per-operation timeouts, interruption (Ctrl-C), and
//! transcript events. It never decides what a reply means: 4xx/5xx are
//! data for the caller, not errors.

use super::command::Command;
use super::dotstuff::DotStuffer;
use super::reply::{Reply, ReplyError, ReplyParser};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// A byte stream a [`Connection`] can run over.
pub trait Stream: Read + Write + Send {
    /// Sets the read timeout of the underlying socket (used in short slices
    /// so that interruption and deadlines are checked while waiting).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Sets the write timeout of the underlying socket.
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    /// Closes both directions at once.
    fn shutdown(&self) -> io::Result<()>;
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
    /// The message content was sent (after DATA's 354).
    DataSent {
        /// Bytes on the wire, terminator included.
        bytes: u64,
        /// Whether it travelled inside TLS.
        secure: bool,
    },
    /// Something the layer noticed, e.g. "the server ended a line with a bare LF".
    Notice(&'a str),
}

/// Settings for opening a connection.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// How long to wait for each connect, reply, or write to make progress.
    pub timeout: Duration,
    /// Set (by a Ctrl-C handler) to abandon whatever is being waited for.
    pub interrupt: Arc<AtomicBool>,
}

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
    /// The server closed the connection.
    Closed {
        /// What we were doing, e.g. "waiting for the reply to DATA".
        during: String,
    },
    /// The bytes received are not an SMTP reply.
    Protocol(ReplyError),
    /// The user pressed Ctrl-C.
    Interrupted,
    /// A send or receive failed for another reason.
    Io(io::Error),
    /// The connection is unusable after an earlier failure.
    Broken,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

impl std::error::Error for ConnError {}

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
        todo!()
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
        }
    }
    /// Sends one command line (reporting [`Event::Sent`]); does not wait.
    pub fn send(&mut self, command: &Command, observer: &mut dyn Observer) -> Result<(), ConnError> {
        todo!()
    }
    /// Waits for the next complete reply (reporting [`Event::Received`]).
    /// `waiting_for` names it in a timeout or close error.
    pub fn read_reply(&mut self, waiting_for: &str, observer: &mut dyn Observer) -> Result<Reply, ConnError> {
        todo!()
    }
    /// `send` then `read_reply`.
    pub fn command(&mut self, command: &Command, observer: &mut dyn Observer) -> Result<Reply, ConnError> {
        self.send(command, observer)?;
        let what = format!("the reply to {}", command.verb());
        self.read_reply(&what, observer)
    }
    /// A writer for the message content after a 354: CRLF-normalises,
    /// dot-stuffs, buffers in large blocks, honours timeout and interrupt.
    /// Call [`DataWriter::finish`] to send `<CRLF>.<CRLF>`; dropping it
    /// unfinished marks the connection broken (the server must never see a
    /// final dot after a partial message).
    pub fn data_writer(&mut self) -> DataWriter<'_> {
        todo!()
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
    /// Changes the timeout for later operations.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.options.timeout = timeout;
    }
    /// Closes the socket without QUIT.
    pub fn close(&mut self) {
        let _ = self.stream.shutdown();
        self.broken = true;
    }
}

/// Streams message content into an open DATA phase; see [`Connection::data_writer`].
pub struct DataWriter<'a> {
    stuffer: DotStuffer<SocketWriter<'a>>,
}

/// Buffered writer over the connection's stream that checks timeout and
/// interrupt while blocked; private plumbing of [`DataWriter`].
struct SocketWriter<'a> {
    conn: &'a mut Connection,
}

impl Write for SocketWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        todo!()
    }
    fn flush(&mut self) -> io::Result<()> {
        todo!()
    }
}

impl DataWriter<'_> {
    /// Content bytes accepted so far.
    pub fn bytes_in(&self) -> u64 {
        self.stuffer.bytes_in()
    }
    /// Sends the end-of-data mark and flushes; returns the bytes put on the
    /// wire for the content and terminator (reports [`Event::DataSent`]).
    pub fn finish(self, observer: &mut dyn Observer) -> Result<u64, ConnError> {
        todo!()
    }
}

impl Write for DataWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stuffer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stuffer.flush()
    }
}
