//! SMTP replies (RFC 5321 §4.2) and an incremental, bounded parser.
//!
//! The parser owns no socket: push bytes in, take complete replies out.

use std::fmt;

/// Default longest accepted reply line, without its line ending.
pub const DEFAULT_MAX_LINE: usize = 64 * 1024;
/// Default largest number of lines in one reply.
pub const DEFAULT_MAX_LINES: usize = 1000;

/// An RFC 3463 enhanced status code, e.g. `5.1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnhancedCode {
    /// 2, 4 or 5.
    pub class: u8,
    /// Subject (0-999).
    pub subject: u16,
    /// Detail (0-999).
    pub detail: u16,
}

impl fmt::Display for EnhancedCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// One complete server reply: its code and every line's text, kept apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit reply code (200-559).
    pub code: u16,
    /// The text of each line after `NNN-` / `NNN ` (may be empty). Bytes that
    /// are not UTF-8, and control characters, are shown escaped (`\xNN`).
    pub lines: Vec<String>,
    /// The enhanced status code at the start of the first line's text, if any.
    pub enhanced: Option<EnhancedCode>,
}

impl Reply {
    /// The first digit of the code: 2, 3, 4 or 5.
    pub fn class(&self) -> u8 {
        (self.code / 100) as u8
    }
    /// 2yz: the command succeeded.
    pub fn is_positive(&self) -> bool {
        self.class() == 2
    }
    /// 3yz: the server waits for more (354, 334).
    pub fn is_intermediate(&self) -> bool {
        self.class() == 3
    }
    /// 4yz or 5yz.
    pub fn is_error(&self) -> bool {
        self.class() >= 4
    }
    /// All lines' text joined with a space (for one-line messages).
    pub fn text(&self) -> String {
        self.lines.join(" ")
    }
    /// The reply as the server sent it, one string per line:
    /// `250-first`, `250 last` (a line with no text is just `250`).
    pub fn wire_lines(&self) -> Vec<String> {
        todo!()
    }
}

/// Why bytes from the server are not a valid reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// A line longer than the limit without a line ending.
    LineTooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// A reply with more lines than the limit.
    TooManyLines {
        /// The limit in lines.
        limit: usize,
    },
    /// A line that is not `NNN`, `NNN text` or `NNN-text` with a code
    /// 200-559 (third digit 0-9, second 0-5). Holds the line, escaped and
    /// shortened to at most 80 characters.
    Malformed(String),
    /// A multi-line reply whose lines carry different codes.
    MixedCodes {
        /// The code of the first line.
        first: u16,
        /// The differing code.
        other: u16,
    },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        todo!()
    }
}

impl std::error::Error for ReplyError {}

/// Incremental reply parser with bounded memory.
///
/// Complete lines are consumed as they arrive; only the unterminated tail is
/// buffered, and it may never exceed the line limit. Lines end with CRLF; a
/// bare LF is tolerated and remembered ([`ReplyParser::saw_bare_lf`]).
#[derive(Debug)]
pub struct ReplyParser {
    max_line: usize,
    max_lines: usize,
}

impl Default for ReplyParser {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplyParser {
    /// A parser with the default limits (64 KiB per line, 1000 lines).
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_MAX_LINE, DEFAULT_MAX_LINES)
    }
    /// A parser with explicit limits.
    pub fn with_limits(max_line: usize, max_lines: usize) -> Self {
        todo!()
    }
    /// Feeds bytes received from the server. Errors as soon as the input can
    /// no longer be a valid reply (too long, malformed); after an error the
    /// parser must not be used again (the connection is unusable).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ReplyError> {
        todo!()
    }
    /// Takes the next complete reply, if one has arrived (replies come out
    /// in the order received: pipelined replies stay matched to commands).
    pub fn next_reply(&mut self) -> Option<Reply> {
        todo!()
    }
    /// Bytes received that are not part of a reply returned so far
    /// (partial lines and complete-but-untaken replies).
    pub fn pending_bytes(&self) -> usize {
        todo!()
    }
    /// Forgets everything buffered (used at the STARTTLS upgrade).
    pub fn clear(&mut self) {
        todo!()
    }
    /// Whether any line so far ended with a bare LF instead of CRLF.
    pub fn saw_bare_lf(&self) -> bool {
        todo!()
    }
}
