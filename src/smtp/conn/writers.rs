//! Writers for message content: DATA (CRLF-normalised, dot-stuffed,
//! ended by `<CRLF>.<CRLF>`) and one BDAT chunk, in large blocks, with
//! timeouts and Ctrl-C honoured while the socket is blocked.

use super::error::into_io;
use super::timeout::TimeoutPhase;
use super::{ConnError, Connection, DATA_BUFFER, Event, Observer};
use crate::smtp::dotstuff::DotStuffer;
use std::io::{self, Write};

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
        if self.conn.is_broken() {
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

impl<'a> DataWriter<'a> {
    /// A writer on `conn`, whose conversation waits for content.
    pub(super) fn new(conn: &'a mut Connection) -> DataWriter<'a> {
        DataWriter {
            stuffer: Some(DotStuffer::new(SocketWriter {
                conn,
                buf: Vec::with_capacity(DATA_BUFFER),
                wire_bytes: 0,
            })),
        }
    }
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
            None => broken(),
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
        socket
            .conn
            .conversation
            .content_sent()
            .map_err(ConnError::State)?;
        observer.event(Event::DataSent {
            bytes,
            secure: socket.conn.is_secure(),
            bdat: false,
        });
        Ok(bytes)
    }
}

impl Write for DataWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stuffer.as_mut().map_or_else(broken, |s| s.write(buf))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.stuffer.as_mut().map_or_else(broken, DotStuffer::flush)
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
            socket
                .conn
                .abandon("the message content was cut off before its end");
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

impl<'a> BdatWriter<'a> {
    /// A writer on `conn` for a chunk of `size` bytes announced by the
    /// command line `wire` (sent with the first content bytes).
    pub(super) fn new(conn: &'a mut Connection, wire: Vec<u8>, size: u64) -> BdatWriter<'a> {
        let mut buf = Vec::with_capacity(DATA_BUFFER);
        buf.extend_from_slice(&wire);
        BdatWriter {
            socket: Some(SocketWriter {
                conn,
                buf,
                wire_bytes: 0,
            }),
            size,
            written: 0,
        }
    }
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
            socket
                .conn
                .abandon("the BDAT chunk was cut off before its end");
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
        observer.event(Event::DataSent {
            bytes: self.size,
            secure: socket.conn.is_secure(),
            bdat: true,
        });
        Ok(self.size)
    }
}

impl Write for BdatWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.socket.is_none() {
            return broken();
        }
        if self.written + buf.len() as u64 > self.size {
            self.abandon();
            return Err(into_io(ConnError::Io(io::Error::other(format!(
                "the message is longer than the {} bytes announced in BDAT",
                self.size
            )))));
        }
        let Some(socket) = self.socket.as_mut() else {
            return broken();
        };
        socket.write_all(buf)?;
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.socket
            .as_mut()
            .map_or_else(broken, SocketWriter::flush)
    }
}

impl Drop for BdatWriter<'_> {
    /// An unfinished chunk is never completed: the connection is closed.
    fn drop(&mut self) {
        self.abandon();
    }
}

/// The error of a writer used after it finished or failed.
fn broken<T>() -> io::Result<T> {
    Err(into_io(ConnError::Broken))
}
