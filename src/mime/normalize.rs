//! Line endings of an existing message made CRLF, as a stream, and what is
//! seen on the way: the size after normalising, 8-bit bytes, NULs, long
//! lines, and the header block (where it ends, which fields it names,
//! whether it is ASCII).
//!
//! [`Normalizer`] takes the file in buffers of any size and writes each
//! buffer's output at once: every bare LF, bare CR and CRLF becomes CRLF (a
//! CR at the end of one buffer and an LF at the start of the next are one
//! line ending), and [`Normalizer::finish`] ends a last line that has no
//! line ending. The same code counts the size when the file is scanned and
//! writes the bytes when it is sent, so the size declared with `SIZE=` is
//! the number of bytes sent, by construction.
//!
//! Dot-stuffing is not done here: the DATA writer does it (and BDAT needs
//! none).

use std::io::{self, Write};

/// RFC 5322 §2.1.1: at most 998 octets in a line, CRLF excluded.
pub const MAX_LINE: u64 = 998;

/// Header fields smtpsh looks for in a message file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fields {
    /// `Date:`.
    pub date: bool,
    /// `Message-ID:`.
    pub message_id: bool,
    /// `From:`.
    pub from: bool,
    /// `To:`.
    pub to: bool,
    /// `Cc:`.
    pub cc: bool,
    /// `Bcc:`.
    pub bcc: bool,
}

impl Fields {
    /// Notes a field name (any case).
    fn see(&mut self, name: &[u8]) {
        let slot = match name.to_ascii_lowercase().as_slice() {
            b"date" => &mut self.date,
            b"message-id" => &mut self.message_id,
            b"from" => &mut self.from,
            b"to" => &mut self.to,
            b"cc" => &mut self.cc,
            b"bcc" => &mut self.bcc,
            _ => return,
        };
        *slot = true;
    }
}

/// What a pass over the message saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes out: the message with CRLF line endings.
    pub bytes_out: u64,
    /// Some byte is above 127.
    pub eight_bit: bool,
    /// Some byte of the header block is above 127.
    pub header_8bit: bool,
    /// Some byte is NUL.
    pub nul: bool,
    /// Lines longer than [`MAX_LINE`] octets.
    pub long_lines: u64,
    /// The longest line, in octets (CRLF excluded).
    pub longest_line: u64,
    /// Line endings that were a bare LF or a bare CR.
    pub bare_endings: u64,
    /// The last line had no line ending (one was added).
    pub unterminated: bool,
    /// Bytes of the header block, its own CRLFs included, without the
    /// empty line that ends it.
    pub header_len: u64,
    /// An empty line ended the header block (else the whole file is one).
    pub header_ended: bool,
    /// The first line is a header field (`Name:` with no space before the
    /// colon), as a message starts.
    pub starts_with_field: bool,
    /// The first line starts with `From ` (an mbox separator, not a header).
    pub mbox_from: bool,
    /// Fields found in the header block.
    pub fields: Fields,
}

/// The longest field name looked at; longer names are no field of [`Fields`].
const NAME_CAP: usize = 100;

/// The streaming normaliser; see the module docs.
#[derive(Debug)]
pub struct Normalizer {
    facts: Facts,
    /// The previous buffer ended with a CR (its CRLF was written): an LF
    /// first in the next buffer belongs to it.
    skip_lf: bool,
    /// Octets of the current line so far.
    line_len: u64,
    /// Lines ended so far.
    lines: u64,
    /// Still in the header block.
    in_header: bool,
    /// The start of the current header line (for its field name): up to
    /// [`NAME_CAP`] + 1 bytes.
    head: Vec<u8>,
    /// The output of one buffer (reused).
    out: Vec<u8>,
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer::new()
    }
}

impl Normalizer {
    /// A normaliser at the start of a message.
    pub fn new() -> Normalizer {
        Normalizer {
            facts: Facts::default(),
            skip_lf: false,
            line_len: 0,
            lines: 0,
            in_header: true,
            head: Vec::with_capacity(NAME_CAP + 1),
            out: Vec::new(),
        }
    }

    /// What was seen so far.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// Normalises `buf` and writes its output to `out` in one `write_all`
    /// (none when it is empty); the output buffer is kept for the next call,
    /// so memory stays at twice the largest buffer given.
    pub fn write(&mut self, buf: &[u8], out: &mut dyn Write) -> io::Result<()> {
        let mut bytes = std::mem::take(&mut self.out);
        bytes.clear();
        self.feed(buf, &mut bytes);
        let result = if bytes.is_empty() {
            Ok(())
        } else {
            out.write_all(&bytes)
        };
        self.out = bytes;
        result
    }

    /// Normalises `buf` without writing it: only the facts (a scan).
    pub fn count(&mut self, buf: &[u8]) {
        self.feed_counting(buf);
    }

    /// Ends the message: a CRLF after a last line without one (written to
    /// `out`). Returns the facts.
    pub fn finish(mut self, out: &mut dyn Write) -> io::Result<Facts> {
        if self.close() {
            out.write_all(b"\r\n")?;
        }
        Ok(self.facts)
    }

    /// [`Normalizer::finish`] for a scan.
    pub fn finish_count(mut self) -> Facts {
        self.close();
        self.facts
    }

    /// Ends the message: a CR that ended the last buffer was a bare one,
    /// and an unterminated last line gets its CRLF. True when a CRLF must
    /// be written.
    fn close(&mut self) -> bool {
        if std::mem::take(&mut self.skip_lf) {
            self.facts.bare_endings += 1;
        }
        if self.line_len > 0 {
            self.facts.unterminated = true;
            self.end_line(false);
            return true;
        }
        false
    }

    fn feed(&mut self, buf: &[u8], out: &mut Vec<u8>) {
        self.walk(buf, |piece| out.extend_from_slice(piece));
    }

    fn feed_counting(&mut self, buf: &[u8]) {
        self.walk(buf, |_| {});
    }

    /// The one loop both passes run: `emit` gets the output in pieces.
    fn walk(&mut self, buf: &[u8], mut emit: impl FnMut(&[u8])) {
        if buf.is_empty() {
            return;
        }
        self.facts.bytes_in += buf.len() as u64;
        let mut p = 0;
        if std::mem::take(&mut self.skip_lf) {
            // The CR that ended the last buffer was written as CRLF already.
            if buf[0] == b'\n' {
                p = 1;
            } else {
                self.facts.bare_endings += 1;
            }
        }
        while p < buf.len() {
            let rest = &buf[p..];
            let Some(k) = memchr::memchr2(b'\r', b'\n', rest) else {
                self.content(rest);
                emit(rest);
                break;
            };
            let text = &rest[..k];
            self.content(text);
            emit(text);
            emit(b"\r\n");
            let bare = match (rest[k], rest.get(k + 1)) {
                (b'\r', Some(b'\n')) => {
                    p += k + 2;
                    false
                }
                (b'\r', None) => {
                    // Its LF may start the next buffer: decided there.
                    p += k + 1;
                    self.skip_lf = true;
                    false
                }
                _ => {
                    p += k + 1;
                    true
                }
            };
            self.end_line(bare);
        }
    }

    /// Octets of a line (no CR or LF among them).
    fn content(&mut self, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        if self.in_header && self.head.len() <= NAME_CAP {
            let room = NAME_CAP + 1 - self.head.len();
            self.head.extend_from_slice(&text[..text.len().min(room)]);
        }
        self.line_len += text.len() as u64;
        self.facts.bytes_out += text.len() as u64;
        if !text.is_ascii() {
            self.facts.eight_bit = true;
            if self.in_header {
                self.facts.header_8bit = true;
            }
        }
        if !self.facts.nul && memchr::memchr(0, text).is_some() {
            self.facts.nul = true;
        }
    }

    /// A line ending (written as CRLF); `bare` when it was LF or CR alone.
    fn end_line(&mut self, bare: bool) {
        if bare {
            self.facts.bare_endings += 1;
        }
        if self.in_header {
            if self.line_len == 0 {
                self.in_header = false;
                self.facts.header_ended = true;
            } else {
                let name = field_name(&self.head);
                if let Some(name) = name {
                    self.facts.fields.see(name);
                }
                if self.lines == 0 {
                    self.facts.starts_with_field = name.is_some();
                    self.facts.mbox_from = self.head.starts_with(b"From ");
                }
                self.facts.header_len += self.line_len + 2;
            }
            self.head.clear();
        }
        if self.line_len > MAX_LINE {
            self.facts.long_lines += 1;
        }
        self.facts.longest_line = self.facts.longest_line.max(self.line_len);
        self.facts.bytes_out += 2;
        self.line_len = 0;
        self.lines += 1;
    }
}

/// RFC 5322 §3.6.8 field-name characters: printable ASCII but `:`.
fn is_name_char(b: u8) -> bool {
    (33..=126).contains(&b) && b != b':'
}

/// The field name at the start of a header line, if the line is a field.
fn field_name(head: &[u8]) -> Option<&[u8]> {
    let colon = head.iter().position(|&b| b == b':')?;
    let name = &head[..colon];
    (!name.is_empty() && name.iter().all(|&b| is_name_char(b))).then_some(name)
}

/// The whole output for `content` in one call (tests and small messages).
pub fn normalize(content: &[u8]) -> (Vec<u8>, Facts) {
    let mut n = Normalizer::new();
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = n.write(content, &mut out);
    let facts = n.finish(&mut out).unwrap_or_default();
    (out, facts)
}

#[cfg(test)]
mod tests;
