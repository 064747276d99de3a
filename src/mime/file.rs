//! An existing message in a file (`send --message`, `data --file`, a dead
//! letter): sent as it is, but for its line endings, which become CRLF.
//!
//! [`MessageFile::open`] reads the file once, in fixed buffers, to learn
//! what sending it needs to know first: the exact size after normalising
//! (for `SIZE=` and a BDAT chunk), whether it has 8-bit bytes (for
//! `BODY=8BITMIME`), whether its header block does (for `SMTPUTF8`), and
//! which of Date, Message-ID, From, To, Cc and Bcc it has. Writing reads it
//! again through the same [`Normalizer`], so memory stays flat at any size
//! and the bytes written are the bytes counted; a file that changed in
//! between (another length, or other line endings) is refused before the
//! end of the message, which the server then discards.
//!
//! The headers are untouched, unless [`MessageFile::fix_headers`] adds a
//! missing Date and Message-ID (first in the header block).

use super::message::{Content, ContentSink, MimeError};
use super::normalize::{Facts, Normalizer};
use super::{Stamp, draft::open_regular};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Bytes read at a time.
const BUFFER: usize = 64 * 1024;

/// A message file, scanned and ready to send; see the module docs.
#[derive(Debug, Clone)]
pub struct MessageFile {
    path: PathBuf,
    facts: Facts,
    /// Header lines written before the file's own (`--fix-headers`).
    added: Vec<u8>,
    /// The names of those headers.
    added_names: Vec<&'static str>,
}

impl MessageFile {
    /// Opens and scans `path`: a regular, non-empty file.
    pub fn open(path: &Path) -> Result<MessageFile, MimeError> {
        let mut file = open_regular(path)?;
        let mut scan = Normalizer::new();
        let mut buf = vec![0u8; BUFFER];
        loop {
            let n = read_some(&mut file, path, &mut buf)?;
            if n == 0 {
                break;
            }
            scan.count(&buf[..n]);
        }
        let facts = scan.finish_count();
        if facts.bytes_in == 0 {
            return Err(MimeError::EmptyMessage {
                path: path.to_path_buf(),
            });
        }
        Ok(MessageFile {
            path: path.to_path_buf(),
            facts,
            added: Vec::new(),
            added_names: Vec::new(),
        })
    }

    /// The path it is read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the scan found.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The headers a message should have (RFC 5322 §3.6: Date; Message-ID
    /// is a SHOULD) that the file lacks, before any were added.
    pub fn missing(&self) -> Vec<&'static str> {
        let f = &self.facts.fields;
        [("Date", f.date), ("Message-ID", f.message_id)]
            .into_iter()
            .filter(|(_, has)| !has)
            .map(|(name, _)| name)
            .collect()
    }

    /// Adds the missing Date and Message-ID from `stamp`, first in the
    /// header block; the size counts them. Returns their names (none when
    /// the file has both).
    pub fn fix_headers(&mut self, stamp: &Stamp) -> Vec<&'static str> {
        self.added.clear();
        self.added_names = self.missing();
        for name in &self.added_names {
            let value = if *name == "Date" {
                &stamp.date
            } else {
                &stamp.message_id
            };
            // Stamp values are public fields: no line break gets through.
            let value: String = value
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            self.added
                .extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        self.added_names.clone()
    }

    /// The headers [`MessageFile::fix_headers`] added.
    pub fn added(&self) -> &[&'static str] {
        &self.added_names
    }

    /// The raw bytes from the start of the file that hold its whole header
    /// block (and its empty line), for reading addresses from it. Fails
    /// when the header block is over `limit` bytes.
    pub fn header_bytes(&self, limit: u64) -> Result<Vec<u8>, MimeError> {
        let len = self.facts.header_len;
        if len > limit {
            return Err(MimeError::HeaderTooLarge {
                path: self.path.clone(),
                size: len,
                limit,
            });
        }
        // Normalising only adds bytes: the raw block is no longer than
        // the normalised one, and its empty line fits in two more.
        let want = (len + 2).min(self.facts.bytes_in);
        let file = open_regular(&self.path)?;
        let mut bytes = Vec::new();
        file.take(want)
            .read_to_end(&mut bytes)
            .map_err(|source| MimeError::File {
                path: self.path.clone(),
                source,
            })?;
        Ok(bytes)
    }

    /// Streams the message into `out`: the added headers, then the file
    /// with CRLF line endings (no dot-stuffing). Fails with
    /// [`MimeError::MessageChanged`] when the file is no longer what was
    /// scanned, before the last of it is written. Returns the bytes written.
    pub fn write_to(&self, out: &mut dyn Write) -> Result<u64, MimeError> {
        let changed = |actual| MimeError::MessageChanged {
            path: self.path.clone(),
            expected: self.facts.bytes_in,
            actual,
        };
        let mut file = open_regular(&self.path)?;
        let now = file
            .metadata()
            .map_err(|source| MimeError::File {
                path: self.path.clone(),
                source,
            })?
            .len();
        if now != self.facts.bytes_in {
            return Err(changed(now));
        }
        out.write_all(&self.added).map_err(MimeError::Write)?;
        let mut normalizer = Normalizer::new();
        let mut buf = vec![0u8; BUFFER];
        let mut remaining = self.facts.bytes_in;
        while remaining > 0 {
            let want = remaining.min(BUFFER as u64) as usize;
            let got = read_full(&mut file, &self.path, &mut buf[..want])?;
            if got < want {
                return Err(changed(self.facts.bytes_in - remaining + got as u64));
            }
            remaining -= got as u64;
            normalizer
                .write(&buf[..got], out)
                .map_err(MimeError::Write)?;
        }
        if read_some(&mut file, &self.path, &mut buf[..1])? > 0 {
            let now = file.metadata().map_or(0, |m| m.len());
            return Err(changed(now.max(self.facts.bytes_in + 1)));
        }
        // Same length, other content: caught before the end is written
        // (the caller's writer is then dropped unfinished).
        let mut end = Vec::with_capacity(2);
        let facts = normalizer.finish(&mut end).map_err(MimeError::Write)?;
        if facts.bytes_out != self.facts.bytes_out {
            return Err(MimeError::MessageContentChanged {
                path: self.path.clone(),
            });
        }
        out.write_all(&end).map_err(MimeError::Write)?;
        out.flush().map_err(MimeError::Write)?;
        Ok(self.added.len() as u64 + facts.bytes_out)
    }
}

impl Content for MessageFile {
    fn size(&self) -> u64 {
        self.added.len() as u64 + self.facts.bytes_out
    }
    fn has_8bit(&self) -> bool {
        self.facts.eight_bit
    }
    fn has_utf8_header(&self) -> bool {
        self.facts.header_8bit
    }
    fn write_to_sink(&self, out: &mut dyn ContentSink) -> Result<u64, MimeError> {
        self.write_to(out)
    }
    fn as_given(&self) -> bool {
        true
    }
}

/// One `read`, retried when interrupted.
fn read_some(f: &mut File, path: &Path, buf: &mut [u8]) -> Result<usize, MimeError> {
    loop {
        match f.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(MimeError::File {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// Reads until `buf` is full or the file ends; returns the count.
fn read_full(f: &mut File, path: &Path, buf: &mut [u8]) -> Result<usize, MimeError> {
    let mut n = 0;
    while n < buf.len() {
        match read_some(f, path, &mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
