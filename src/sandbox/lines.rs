//! The sandbox's side of the socket: bytes in as bounded lines (or exact
//! BDAT chunks), replies out, every wait bounded by a deadline.
//!
//! The socket itself is read in short slices ([`SLICE`]) so a wait can end
//! for three reasons, whatever the client does: the line is complete, the
//! deadline passed (an idle client, or one that trickles a byte at a time:
//! the deadline is for the whole line, not for each byte), or the server is
//! shutting down and the client is between commands. Memory per
//! connection is bounded by the longest line allowed plus one read buffer:
//! an over-long line is dropped as it arrives.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long one read of the socket waits before the deadline and the stop
/// flag are looked at again.
pub const SLICE: Duration = Duration::from_millis(250);

/// The size of one read.
const READ_SIZE: usize = 8192;

/// What a wait for input gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A line with its terminator (`\n`, normally preceded by `\r`).
    Text(Vec<u8>),
    /// Longer than allowed; it was read and dropped up to its `\n`.
    TooLong {
        /// Whether it ended in CRLF (else a bare LF).
        crlf: bool,
    },
    /// The client closed the connection (a partial line is dropped).
    Eof,
    /// The deadline passed before the line was complete.
    TimedOut,
    /// The server is stopping and the client had nothing under way.
    Stopping,
}

/// How reading an exact number of octets ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    /// All of them came.
    Whole,
    /// The client closed the connection first.
    Closed,
    /// The deadline passed first.
    TimedOut,
}

/// How long, and whether a server shutdown may end the wait.
#[derive(Clone, Copy)]
pub struct Wait<'a> {
    /// When the wait gives up.
    pub deadline: Instant,
    /// Set when the server stops; looked at only while no byte of the next
    /// line has arrived (a command under way is read to its end).
    pub stop: Option<&'a AtomicBool>,
}

/// A buffered duplex stream: lines in, replies out (flushed before every
/// wait for input, so pipelined replies go out in one write).
pub struct Conn<S> {
    inner: S,
    buf: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    /// Wraps a stream.
    pub fn new(inner: S) -> Conn<S> {
        Conn {
            inner,
            buf: Vec::with_capacity(READ_SIZE),
            pos: 0,
            out: Vec::new(),
        }
    }

    /// The stream (input read but not used is dropped).
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Drops input read but not yet used; returns how many octets.
    pub fn discard_pending(&mut self) -> usize {
        let n = self.buf.len() - self.pos;
        self.buf.clear();
        self.pos = 0;
        n
    }

    /// Queues reply text.
    pub fn send(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    /// Writes the queued replies.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.inner.write_all(&self.out)?;
            self.out.clear();
        }
        self.inner.flush()
    }

    /// Reads one line of at most `max` octets including its `\n`.
    pub fn read_line(&mut self, max: usize, wait: Wait<'_>) -> io::Result<Line> {
        let mut discarding = false;
        // The last octet dropped (whether a CR came right before the LF).
        let mut last_dropped = None;
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                let end = self.pos + i + 1;
                let line = &self.buf[self.pos..end];
                let before_lf = match line.len() {
                    1 => last_dropped,
                    n => line.get(n - 2).copied(),
                };
                let result = if discarding || line.len() > max {
                    Line::TooLong {
                        crlf: before_lf == Some(b'\r'),
                    }
                } else {
                    Line::Text(line.to_vec())
                };
                self.pos = end;
                return Ok(result);
            }
            if discarding || self.buf.len() - self.pos >= max {
                discarding = true;
                if self.buf.len() > self.pos {
                    last_dropped = self.buf.last().copied();
                }
                self.discard_pending();
            }
            self.compact();
            let idle = !discarding && self.buf.is_empty();
            match self.fill(wait, idle)? {
                Filled::Some => {}
                Filled::Eof => {
                    self.discard_pending();
                    return Ok(Line::Eof);
                }
                Filled::TimedOut => return Ok(Line::TimedOut),
                Filled::Stopping => return Ok(Line::Stopping),
            }
        }
    }

    /// Passes exactly `n` octets of input to `sink` in pieces (a BDAT
    /// chunk), unless the client closes the connection or the deadline
    /// passes first.
    pub fn read_exact_into(
        &mut self,
        mut n: u64,
        wait: Wait<'_>,
        sink: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> io::Result<Chunk> {
        let wait = Wait { stop: None, ..wait };
        while n > 0 {
            let have = self.buf.len() - self.pos;
            if have > 0 {
                let take = usize::try_from(n).map_or(have, |n| n.min(have));
                sink(&self.buf[self.pos..self.pos + take])?;
                self.pos += take;
                n -= take as u64;
                continue;
            }
            self.compact();
            match self.fill(wait, false)? {
                Filled::Some => {}
                Filled::Eof => return Ok(Chunk::Closed),
                Filled::TimedOut | Filled::Stopping => return Ok(Chunk::TimedOut),
            }
        }
        Ok(Chunk::Whole)
    }

    fn compact(&mut self) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
    }

    /// Flushes the replies, then reads once (waiting in slices).
    fn fill(&mut self, wait: Wait<'_>, idle: bool) -> io::Result<Filled> {
        self.flush()?;
        let mut chunk = [0u8; READ_SIZE];
        loop {
            // A trickling client never lets a read time out: the deadline
            // is looked at before every read, not only after a silent one.
            if Instant::now() >= wait.deadline {
                return Ok(Filled::TimedOut);
            }
            match self.inner.read(&mut chunk) {
                Ok(0) => return Ok(Filled::Eof),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(Filled::Some);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
            // Nothing came in this slice.
            if idle && wait.stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Ok(Filled::Stopping);
            }
        }
    }
}

enum Filled {
    Some,
    Eof,
    TimedOut,
    Stopping,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Input given out a few bytes per read, then "would block" forever.
    struct Trickle {
        input: Vec<u8>,
        per_read: usize,
    }
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.input.is_empty() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = self.per_read.min(self.input.len()).min(buf.len());
            buf[..n].copy_from_slice(&self.input[..n]);
            self.input.drain(..n);
            Ok(n)
        }
    }
    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn soon() -> Wait<'static> {
        Wait {
            deadline: Instant::now() + Duration::from_millis(50),
            stop: None,
        }
    }

    #[test]
    fn lines_split_too_long_dropped_and_partial_line_times_out() {
        let mut c = Conn::new(Trickle {
            input: b"NOOP\r\nxxxxxxxxxx\r\nQUIT\r\nyyyyyyyyyyy\nNO".to_vec(),
            per_read: 3,
        });
        assert_eq!(
            c.read_line(8, soon()).expect("1"),
            Line::Text(b"NOOP\r\n".to_vec())
        );
        assert_eq!(
            c.read_line(8, soon()).expect("2"),
            Line::TooLong { crlf: true }
        );
        assert_eq!(
            c.read_line(8, soon()).expect("3"),
            Line::Text(b"QUIT\r\n".to_vec())
        );
        assert_eq!(
            c.read_line(8, soon()).expect("4"),
            Line::TooLong { crlf: false }
        );
        assert_eq!(c.read_line(8, soon()).expect("5"), Line::TimedOut);
    }

    #[test]
    fn stop_ends_only_an_idle_wait() {
        let stop = AtomicBool::new(true);
        let wait = Wait {
            deadline: Instant::now() + Duration::from_secs(5),
            stop: Some(&stop),
        };
        let mut idle = Conn::new(Trickle {
            input: Vec::new(),
            per_read: 1,
        });
        assert_eq!(idle.read_line(100, wait).expect("idle"), Line::Stopping);
        let mut busy = Conn::new(Trickle {
            input: b"NOOP\r\n".to_vec(),
            per_read: 1,
        });
        assert_eq!(
            busy.read_line(100, wait).expect("busy"),
            Line::Text(b"NOOP\r\n".to_vec())
        );
    }

    #[test]
    fn exact_chunks_come_from_the_buffer_then_the_stream() {
        let mut c = Conn::new(Trickle {
            input: b"BDAT 5\r\nhelloNOOP\r\n".to_vec(),
            per_read: 10,
        });
        assert_eq!(
            c.read_line(100, soon()).expect("cmd"),
            Line::Text(b"BDAT 5\r\n".to_vec())
        );
        let mut got = Vec::new();
        let chunk = c
            .read_exact_into(5, soon(), &mut |b| {
                got.extend_from_slice(b);
                Ok(())
            })
            .expect("chunk");
        assert_eq!(chunk, Chunk::Whole);
        assert_eq!(got, b"hello");
        assert_eq!(
            c.read_line(100, soon()).expect("next"),
            Line::Text(b"NOOP\r\n".to_vec())
        );
        assert_eq!(
            c.read_exact_into(3, soon(), &mut |_| Ok(())).expect("end"),
            Chunk::TimedOut
        );
    }
}
