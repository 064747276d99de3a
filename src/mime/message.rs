//! Draft → message bytes, streamed.

use super::draft::{Draft, Stamp};
use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;

/// Why a message could not be built or written.
#[derive(Debug)]
pub enum MimeError {
    /// A file could not be opened or read.
    File {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A path is not a regular file.
    NotAFile {
        /// Which path.
        path: PathBuf,
        /// What it is instead: "a directory", "a FIFO", ...
        kind: &'static str,
    },
    /// A file's size differs from when it was attached.
    FileChanged {
        /// Which file.
        path: PathBuf,
        /// Size when attached.
        expected: u64,
        /// Size now.
        actual: u64,
    },
    /// A header name that RFC 5322 does not allow.
    BadHeaderName(String),
    /// A control character in `what`.
    ControlCharacter {
        /// What held it ("the header value", "the file name", ...).
        what: &'static str,
    },
    /// A content type that is not `type/subtype`.
    BadContentType(String),
    /// Writing the output failed (socket or file).
    Write(io::Error),
}

impl fmt::Display for MimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

impl std::error::Error for MimeError {}

/// One part of the message, for `show` and `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSummary {
    /// The Content-Type value, e.g. `text/plain; charset=utf-8`.
    pub content_type: String,
    /// `7bit`, `quoted-printable` or `base64`.
    pub encoding: String,
    /// File name for attachments.
    pub name: Option<String>,
    /// Size of the content before encoding.
    pub raw_size: u64,
    /// Size of the encoded part body on the wire.
    pub encoded_size: u64,
}

/// A composed message, ready to write. Holds the header block and small
/// text parts in memory; attachments stay on disk until written.
#[derive(Debug)]
pub struct Message {}

/// Builds the message plan: generated headers (Date, From, To, Cc, Subject,
/// Message-ID, MIME-Version; user headers replace same-named ones; never
/// Bcc), the text part (7bit when ASCII with lines ≤ 998, else
/// quoted-printable; charset=utf-8), and one base64 part per attachment
/// (multipart/mixed when there is at least one). Re-checks every attachment
/// (exists, regular file, same size as attached) and reads text/*
/// attachments once to choose their charset.
pub fn compose(draft: &Draft, stamp: &Stamp) -> Result<Message, MimeError> {
    todo!()
}

impl Message {
    /// Exact number of bytes [`Message::write_to`] will write, computed
    /// without reading the attachments.
    pub fn size(&self) -> u64 {
        todo!()
    }
    /// Streams the message (CRLF line ends, no dot-stuffing) into `out`,
    /// reading attachments in chunks. Fails with [`MimeError::FileChanged`]
    /// as soon as a file turns out shorter or longer than planned, before
    /// the rest is written. Returns the bytes written.
    pub fn write_to(&self, out: &mut dyn Write) -> Result<u64, MimeError> {
        todo!()
    }
    /// The message as text for `show`: headers and text parts in full, each
    /// attachment's base64 shortened to its first and last line with a
    /// `[... N lines, M bytes ...]` marker.
    pub fn preview(&self) -> Result<String, MimeError> {
        todo!()
    }
    /// The parts in order (text first).
    pub fn parts(&self) -> Vec<PartSummary> {
        todo!()
    }
}
