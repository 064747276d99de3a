//! DATA transparency (RFC 5321 §4.5.2, §2.3.8, §4.1.1.4).
//!
//! [`DotStuffer`] is a streaming `Write` adapter that turns any message bytes
//! into a safe DATA stream: every bare CR, bare LF or CRLF becomes CRLF, a
//! line starting with `.` gets one more `.`, and [`DotStuffer::finish`] ends
//! the data with exactly one `<CRLF>.<CRLF>` (adding the CRLF when the
//! content did not end with one). So no smuggling sequence (`<LF>.<LF>`,
//! `<CR>.<CR>`, ...) can ever reach the wire. State carries across `write`
//! calls, so a CR at the end of one buffer and an LF at the start of the next
//! are one line ending.

use std::io::{self, Write};

/// Streaming CRLF-normaliser and dot-stuffer; see the module docs.
#[derive(Debug)]
pub struct DotStuffer<W: Write> {
    inner: W,
}

impl<W: Write> DotStuffer<W> {
    /// Wraps `inner`. Output is written through in large pieces (the adapter
    /// does not flush per line); wrap a `BufWriter` or pass a buffer-backed
    /// writer if `inner` is a socket.
    pub fn new(inner: W) -> Self {
        todo!()
    }
    /// Content bytes accepted so far (before stuffing).
    pub fn bytes_in(&self) -> u64 {
        todo!()
    }
    /// Bytes written to `inner` so far (after stuffing).
    pub fn bytes_out(&self) -> u64 {
        todo!()
    }
    /// Ends the data: CRLF if the content did not end with a line ending,
    /// then `.` CRLF. Returns the inner writer (not flushed).
    pub fn finish(self) -> io::Result<W> {
        todo!()
    }
}

impl<W: Write> Write for DotStuffer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        todo!()
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The whole DATA stream for `content` in one call, terminator included
/// (for tests and small messages).
pub fn stuff(content: &[u8]) -> Vec<u8> {
    todo!()
}
