//! SMTP replies (RFC 5321 §4.2) and an incremental, bounded parser.
//!
//! The parser owns no socket: push bytes in, take complete replies out.

use crate::text::{escape, excerpt};
use std::collections::VecDeque;
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
        if self.lines.is_empty() {
            return vec![self.code.to_string()];
        }
        let last = self.lines.len() - 1;
        self.lines
            .iter()
            .enumerate()
            .map(|(i, text)| {
                if i < last {
                    format!("{}-{}", self.code, text)
                } else if text.is_empty() {
                    self.code.to_string()
                } else {
                    format!("{} {}", self.code, text)
                }
            })
            .collect()
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
    /// A reply whose lines together exceed the size limit
    /// ([`MAX_REPLY_BYTES`] by default), line endings included.
    ReplyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::LineTooLong { limit } => write!(
                f,
                "the server sent a reply line longer than {limit} bytes"
            ),
            ReplyError::TooManyLines { limit } => {
                write!(f, "the server sent a reply with more than {limit} lines")
            }
            ReplyError::Malformed(line) if line.is_empty() => f.write_str(
                "the server sent an empty line where an SMTP reply (a three-digit code) was expected",
            ),
            ReplyError::Malformed(line) => write!(
                f,
                "the server sent a line that is not an SMTP reply (it must start with a code 200-559): \"{line}\""
            ),
            ReplyError::MixedCodes { first, other } => write!(
                f,
                "the server sent a multi-line reply whose lines carry different codes ({first}, then {other})"
            ),
            ReplyError::ReplyTooLarge { limit } => write!(
                f,
                "the server sent a reply larger than {limit} bytes"
            ),
        }
    }
}

impl std::error::Error for ReplyError {}

/// Default largest size of one reply (all its lines, line endings included).
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;

/// Longest [`ReplyError::Malformed`] excerpt, in characters.
const MALFORMED_EXCERPT: usize = 80;

/// Incremental reply parser with bounded memory.
///
/// Complete lines are consumed as they arrive; only the unterminated tail is
/// buffered, and it may never exceed the line limit. Lines end with CRLF; a
/// bare LF is tolerated and remembered ([`ReplyParser::saw_bare_lf`]).
#[derive(Debug)]
pub struct ReplyParser {
    max_line: usize,
    max_lines: usize,
    max_reply_bytes: usize,
    /// The unterminated tail of the input (at most `max_line` + 1 bytes: a
    /// CR may wait for its LF).
    tail: Vec<u8>,
    /// The reply being assembled: its code, line texts, enhanced code and
    /// raw size so far.
    current: Option<Partial>,
    /// Complete replies not yet taken, with their raw sizes.
    ready: VecDeque<(Reply, usize)>,
    /// Raw bytes of the replies in `ready`.
    ready_bytes: usize,
    bare_lf: bool,
    /// Set after the first error; every later `push` returns it again.
    failed: Option<ReplyError>,
}

#[derive(Debug)]
struct Partial {
    code: u16,
    lines: Vec<String>,
    enhanced: Option<EnhancedCode>,
    raw_bytes: usize,
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
    /// A parser with explicit limits. A reply is also capped at
    /// [`MAX_REPLY_BYTES`] in total (or `max_line`, if that is larger).
    pub fn with_limits(max_line: usize, max_lines: usize) -> Self {
        ReplyParser {
            max_line,
            max_lines,
            max_reply_bytes: MAX_REPLY_BYTES.max(max_line.saturating_add(2)),
            tail: Vec::new(),
            current: None,
            ready: VecDeque::new(),
            ready_bytes: 0,
            bare_lf: false,
            failed: None,
        }
    }
    /// Feeds bytes received from the server. Errors as soon as the input can
    /// no longer be a valid reply (too long, malformed); after an error the
    /// parser must not be used again (the connection is unusable).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ReplyError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.push_inner(bytes) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.tail = Vec::new();
                self.current = None;
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    fn push_inner(&mut self, mut rest: &[u8]) -> Result<(), ReplyError> {
        while !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let (chunk, after) = (&rest[..i], &rest[i + 1..]);
                    rest = after;
                    if self.tail.is_empty() {
                        self.line(chunk)?;
                    } else {
                        let mut line = std::mem::take(&mut self.tail);
                        if line.len() + chunk.len() > self.max_line.saturating_add(1) {
                            return Err(ReplyError::LineTooLong {
                                limit: self.max_line,
                            });
                        }
                        line.extend_from_slice(chunk);
                        self.line(&line)?;
                        // Reuse the allocation for the next tail.
                        line.clear();
                        self.tail = line;
                    }
                }
                None => {
                    let len = self.tail.len() + rest.len();
                    // A line may be `max_line` long plus a CR awaiting its LF.
                    let over = len > self.max_line.saturating_add(1)
                        || (len == self.max_line.saturating_add(1) && rest.last() != Some(&b'\r'));
                    if over {
                        return Err(ReplyError::LineTooLong {
                            limit: self.max_line,
                        });
                    }
                    self.tail.extend_from_slice(rest);
                    rest = &[];
                }
            }
        }
        Ok(())
    }

    /// Handles one line, given without its LF (a CR before it is stripped here).
    fn line(&mut self, raw: &[u8]) -> Result<(), ReplyError> {
        let wire_len = raw.len() + 1;
        let line = match raw.strip_suffix(b"\r") {
            Some(l) => l,
            None => {
                self.bare_lf = true;
                raw
            }
        };
        if line.len() > self.max_line {
            return Err(ReplyError::LineTooLong {
                limit: self.max_line,
            });
        }
        let (code, last, text) = split_line(line)
            .ok_or_else(|| ReplyError::Malformed(excerpt(line, MALFORMED_EXCERPT)))?;
        let partial = match &mut self.current {
            Some(p) => {
                if p.code != code {
                    return Err(ReplyError::MixedCodes {
                        first: p.code,
                        other: code,
                    });
                }
                p
            }
            None => self.current.insert(Partial {
                code,
                lines: Vec::new(),
                enhanced: parse_enhanced(code, text),
                raw_bytes: 0,
            }),
        };
        if partial.lines.len() >= self.max_lines {
            return Err(ReplyError::TooManyLines {
                limit: self.max_lines,
            });
        }
        partial.raw_bytes += wire_len;
        if partial.raw_bytes > self.max_reply_bytes {
            return Err(ReplyError::ReplyTooLarge {
                limit: self.max_reply_bytes,
            });
        }
        partial.lines.push(escape(text));
        if last && let Some(p) = self.current.take() {
            self.ready_bytes += p.raw_bytes;
            self.ready.push_back((
                Reply {
                    code: p.code,
                    lines: p.lines,
                    enhanced: p.enhanced,
                },
                p.raw_bytes,
            ));
        }
        Ok(())
    }

    /// Takes the next complete reply, if one has arrived (replies come out
    /// in the order received: pipelined replies stay matched to commands).
    pub fn next_reply(&mut self) -> Option<Reply> {
        let (reply, raw) = self.ready.pop_front()?;
        self.ready_bytes -= raw;
        Some(reply)
    }
    /// Bytes received that are not part of a reply returned so far
    /// (partial lines and complete-but-untaken replies).
    pub fn pending_bytes(&self) -> usize {
        self.tail.len() + self.current.as_ref().map_or(0, |p| p.raw_bytes) + self.ready_bytes
    }
    /// Forgets everything buffered (used at the STARTTLS upgrade).
    pub fn clear(&mut self) {
        self.tail = Vec::new();
        self.current = None;
        self.ready.clear();
        self.ready_bytes = 0;
        self.failed = None;
    }
    /// Whether any line so far ended with a bare LF instead of CRLF.
    pub fn saw_bare_lf(&self) -> bool {
        self.bare_lf
    }
}

/// Splits `NNN`, `NNN text` or `NNN-text` into (code, is-last-line, text).
fn split_line(line: &[u8]) -> Option<(u16, bool, &[u8])> {
    let (digits, rest) = line.split_at_checked(3)?;
    let [a, b, c] = [digits[0], digits[1], digits[2]];
    if !(b'2'..=b'5').contains(&a) || !(b'0'..=b'5').contains(&b) || !c.is_ascii_digit() {
        return None;
    }
    let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    match rest.split_first() {
        None => Some((code, true, rest)),
        Some((b' ', text)) => Some((code, true, text)),
        Some((b'-', text)) => Some((code, false, text)),
        Some(_) => None,
    }
}

/// Reads an RFC 3463 `class.subject.detail` at the start of `text`, followed
/// by a space or the end of the text; the class must match the reply code's.
fn parse_enhanced(code: u16, text: &[u8]) -> Option<EnhancedCode> {
    let word = text.split(|&b| b == b' ' || b == b'\t').next()?;
    let mut parts = word.split(|&b| b == b'.');
    let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let number = |p: &[u8], max_len: usize| -> Option<u16> {
        if p.is_empty() || p.len() > max_len || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        p.iter()
            .try_fold(0u16, |n, &d| Some(n * 10 + u16::from(d - b'0')))
    };
    let class = u8::try_from(number(class, 1)?).ok()?;
    if !matches!(class, 2 | 4 | 5) || u16::from(class) != code / 100 {
        return None;
    }
    Some(EnhancedCode {
        class,
        subject: number(subject, 3)?,
        detail: number(detail, 3)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Reply>, ReplyError> {
        let mut p = ReplyParser::new();
        p.push(input)?;
        Ok(std::iter::from_fn(|| p.next_reply()).collect())
    }

    fn one(input: &[u8]) -> Reply {
        let mut replies = parse_all(input).expect("valid reply");
        assert_eq!(replies.len(), 1, "{replies:?}");
        replies.remove(0)
    }

    fn err(input: &[u8]) -> ReplyError {
        parse_all(input).expect_err("should be refused")
    }

    #[test]
    fn single_line() {
        let r = one(b"220 mail.example.com ESMTP ready\r\n");
        assert_eq!(r.code, 220);
        assert_eq!(r.lines, vec!["mail.example.com ESMTP ready"]);
        assert_eq!(r.enhanced, None);
        assert!(r.is_positive() && !r.is_error() && !r.is_intermediate());
        assert_eq!(r.class(), 2);
    }

    #[test]
    fn multi_line() {
        let r = one(b"250-mail.example.com\r\n250-SIZE 1000\r\n250-\r\n250 8BITMIME\r\n");
        assert_eq!(r.code, 250);
        assert_eq!(
            r.lines,
            vec!["mail.example.com", "SIZE 1000", "", "8BITMIME"]
        );
        assert_eq!(r.text(), "mail.example.com SIZE 1000  8BITMIME");
    }

    #[test]
    fn code_alone_is_a_valid_last_line() {
        let r = one(b"250\r\n");
        assert_eq!((r.code, r.lines.clone()), (250, vec![String::new()]));
        let r = one(b"250-a\r\n250\r\n");
        assert_eq!(r.lines, vec!["a", ""]);
        let r = one(b"354 \r\n");
        assert_eq!(r.lines, vec![""]);
        assert!(r.is_intermediate());
    }

    #[test]
    fn wire_lines_round_trip() {
        let r = one(b"250-first\r\n250-\r\n250 last\r\n");
        assert_eq!(r.wire_lines(), vec!["250-first", "250-", "250 last"]);
        assert_eq!(one(b"250\r\n").wire_lines(), vec!["250"]);
        assert_eq!(one(b"221 bye\r\n").wire_lines(), vec!["221 bye"]);
        let r = one(b"250-x\r\n250\r\n");
        assert_eq!(r.wire_lines(), vec!["250-x", "250"]);
        let empty = Reply {
            code: 250,
            lines: vec![],
            enhanced: None,
        };
        assert_eq!(empty.wire_lines(), vec!["250"]);
    }

    #[test]
    fn enhanced_codes() {
        let r = one(b"550 5.1.1 <bob@example.com>: user unknown\r\n");
        assert_eq!(
            r.enhanced,
            Some(EnhancedCode {
                class: 5,
                subject: 1,
                detail: 1
            })
        );
        assert_eq!(r.enhanced.map(|e| e.to_string()).as_deref(), Some("5.1.1"));
        // The text keeps the code.
        assert_eq!(r.lines[0], "5.1.1 <bob@example.com>: user unknown");
        let r = one(b"250-2.0.0 first\r\n250 2.1.5 second\r\n");
        assert_eq!(r.enhanced.map(|e| e.to_string()).as_deref(), Some("2.0.0"));
        let r = one(b"452 4.123.456\r\n");
        assert_eq!(r.enhanced.map(|e| (e.subject, e.detail)), Some((123, 456)));
        // Class must match the reply's first digit.
        assert_eq!(one(b"550 2.1.1 odd\r\n").enhanced, None);
        // Not an enhanced code.
        for text in [
            &b"550 5.1 x\r\n"[..],
            b"550 5.1.1.1 x\r\n",
            b"550 5.1.1x y\r\n",
            b"550 5.1000.1 x\r\n",
            b"550 a.b.c\r\n",
            b"550 5..1\r\n",
            b"550\r\n",
            b"354 3.0.0 go\r\n",
        ] {
            assert_eq!(
                one(text).enhanced,
                None,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        // Only the first line counts.
        assert_eq!(one(b"550-hello\r\n550 5.1.1 x\r\n").enhanced, None);
    }

    #[test]
    fn malformed_lines() {
        for (input, shown) in [
            (&b"abc hello\r\n"[..], "abc hello"),
            (b"99 x\r\n", "99 x"),
            (b"650 x\r\n", "650 x"),
            (b"150 x\r\n", "150 x"),
            (b"260 x\r\n", "260 x"),
            (b"25\r\n", "25"),
            (b"2500 x\r\n", "2500 x"),
            (b"250x\r\n", "250x"),
            (b"250\tx\r\n", "250\tx"),
            (b" 250 x\r\n", " 250 x"),
            (b"\r\n", ""),
            (b"\n", ""),
        ] {
            assert_eq!(
                err(input),
                ReplyError::Malformed(shown.to_string()),
                "{input:?}"
            );
        }
        // In the middle of a multi-line reply as well.
        assert_eq!(
            err(b"250-ok\r\nhello\r\n"),
            ReplyError::Malformed("hello".into())
        );
    }

    #[test]
    fn malformed_excerpt_is_escaped_and_short() {
        let mut line = b"HTTP/1.1 400 Bad Request \x1b[31m\xff".to_vec();
        line.extend(std::iter::repeat_n(b'z', 500));
        line.extend_from_slice(b"\r\n");
        let ReplyError::Malformed(shown) = err(&line) else {
            panic!("expected Malformed");
        };
        assert!(shown.chars().count() <= 80, "{shown}");
        assert!(
            shown.starts_with("HTTP/1.1 400 Bad Request \\x1B[31m\\xFFzz"),
            "{shown}"
        );
        assert!(shown.ends_with("..."));
        assert!(!shown.chars().any(|c| c.is_control()));
    }

    #[test]
    fn mixed_codes() {
        assert_eq!(
            err(b"250-a\r\n251 b\r\n"),
            ReplyError::MixedCodes {
                first: 250,
                other: 251
            }
        );
    }

    #[test]
    fn too_many_lines() {
        let mut p = ReplyParser::with_limits(100, 3);
        assert!(p.push(b"250-a\r\n250-b\r\n250 c\r\n").is_ok());
        assert_eq!(p.next_reply().map(|r| r.lines.len()), Some(3));
        assert_eq!(
            p.push(b"250-a\r\n250-b\r\n250-c\r\n"),
            Ok(()),
            "three lines are fine so far"
        );
        assert_eq!(
            p.push(b"250 d\r\n"),
            Err(ReplyError::TooManyLines { limit: 3 })
        );
    }

    #[test]
    fn ten_megabytes_of_continuation_lines() {
        let mut p = ReplyParser::new();
        let chunk = b"250-x\r\n".repeat(8192 / 7);
        let mut sent = 0usize;
        let mut result = Ok(());
        while sent < 10 * 1024 * 1024 {
            result = p.push(&chunk);
            sent += chunk.len();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(ReplyError::TooManyLines {
                limit: DEFAULT_MAX_LINES
            })
        );
        assert!(sent < 64 * 1024, "error came late: after {sent} bytes");
        // The parser stays failed.
        assert!(p.push(b"250 ok\r\n").is_err());
        assert_eq!(p.next_reply(), None);
    }

    #[test]
    fn reply_size_is_capped() {
        let mut p = ReplyParser::with_limits(64 * 1024, 1_000_000);
        let line = format!("250-{}\r\n", "y".repeat(60_000));
        let mut result = Ok(());
        let mut sent = 0;
        for _ in 0..100 {
            result = p.push(line.as_bytes());
            sent += line.len();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(
            result,
            Err(ReplyError::ReplyTooLarge {
                limit: MAX_REPLY_BYTES
            })
        );
        assert!(sent <= MAX_REPLY_BYTES + line.len());
    }

    #[test]
    fn ten_megabyte_line_without_crlf_fails_early() {
        let mut p = ReplyParser::new();
        let piece = [b'9'; 8192];
        let mut pushed = 0usize;
        let mut failed = None;
        while pushed < 10 * 1024 * 1024 {
            // "250 " then endless text.
            let r = if pushed == 0 {
                p.push(b"250 ")
            } else {
                p.push(&piece)
            };
            pushed += if pushed == 0 { 4 } else { piece.len() };
            assert!(p.pending_bytes() <= DEFAULT_MAX_LINE + 1);
            if let Err(e) = r {
                failed = Some(e);
                break;
            }
        }
        assert_eq!(
            failed,
            Some(ReplyError::LineTooLong {
                limit: DEFAULT_MAX_LINE
            })
        );
        assert!(pushed <= DEFAULT_MAX_LINE + 8192 + 4, "late: {pushed}");
        assert_eq!(p.pending_bytes(), 0, "the buffer is released on error");
    }

    #[test]
    fn line_length_limit_is_exact() {
        let limit = 10;
        // Exactly `limit` bytes before CRLF: fine, even fed byte by byte.
        let ok = b"250 678901\r\n";
        let mut p = ReplyParser::with_limits(limit, 10);
        for b in ok {
            assert_eq!(p.push(&[*b]), Ok(()));
        }
        assert_eq!(p.next_reply().map(|r| r.lines), Some(vec!["678901".into()]));
        // One more byte: refused, as soon as it arrives without a line end.
        let mut p = ReplyParser::with_limits(limit, 10);
        assert_eq!(
            p.push(b"250 6789012"),
            Err(ReplyError::LineTooLong { limit })
        );
        // Also when the whole line arrives at once.
        let mut p = ReplyParser::with_limits(limit, 10);
        assert_eq!(
            p.push(b"250 6789012\r\n"),
            Err(ReplyError::LineTooLong { limit })
        );
        // And when a tail is completed by a later push.
        let mut p = ReplyParser::with_limits(limit, 10);
        assert_eq!(p.push(b"250 67"), Ok(()));
        assert_eq!(p.push(b"89012\r\n"), Err(ReplyError::LineTooLong { limit }));
    }

    #[test]
    fn pipelined_replies_in_one_push() {
        let replies = parse_all(
            b"250 2.1.0 sender ok\r\n250 2.1.5 rcpt ok\r\n550 5.1.1 nope\r\n354 go ahead\r\n",
        )
        .expect("valid");
        let codes: Vec<u16> = replies.iter().map(|r| r.code).collect();
        assert_eq!(codes, vec![250, 250, 550, 354]);
        assert_eq!(replies[1].lines, vec!["2.1.5 rcpt ok"]);
    }

    #[test]
    fn split_anywhere_gives_the_same_replies() {
        let input: &[u8] = b"250-one\r\n250 two\r\n354 go\n221 2.0.0 bye\r\n";
        let whole = parse_all(input).expect("valid");
        for cut in 0..=input.len() {
            let mut p = ReplyParser::new();
            p.push(&input[..cut]).expect("valid");
            p.push(&input[cut..]).expect("valid");
            let got: Vec<Reply> = std::iter::from_fn(|| p.next_reply()).collect();
            assert_eq!(got, whole, "cut at {cut}");
        }
        let mut p = ReplyParser::new();
        for b in input {
            p.push(&[*b]).expect("valid");
        }
        let got: Vec<Reply> = std::iter::from_fn(|| p.next_reply()).collect();
        assert_eq!(got, whole);
    }

    #[test]
    fn pending_bytes_counts_partial_and_untaken() {
        let mut p = ReplyParser::new();
        assert_eq!(p.pending_bytes(), 0);
        p.push(b"250-a\r\n").expect("valid");
        assert_eq!(p.pending_bytes(), 7);
        p.push(b"250 b\r\n220 x").expect("valid");
        assert_eq!(p.pending_bytes(), 14 + 5);
        assert!(p.next_reply().is_some());
        assert_eq!(p.pending_bytes(), 5);
        assert!(p.next_reply().is_none());
        p.clear();
        assert_eq!(p.pending_bytes(), 0);
        p.push(b" y\r\n")
            .expect_err("rest of the old line is not a reply");
    }

    #[test]
    fn clear_forgets_buffered_replies() {
        let mut p = ReplyParser::new();
        p.push(b"220 ready\r\n250 injected\r\n").expect("valid");
        assert_eq!(p.next_reply().map(|r| r.code), Some(220));
        p.clear();
        assert_eq!(p.next_reply(), None);
        p.push(b"250 fresh\r\n").expect("valid");
        assert_eq!(p.next_reply().map(|r| r.text()), Some("fresh".into()));
    }

    #[test]
    fn bare_lf_is_tolerated_and_recorded() {
        let mut p = ReplyParser::new();
        p.push(b"250 ok\r\n").expect("valid");
        assert!(!p.saw_bare_lf());
        p.push(b"250-a\n250 b\n").expect("valid");
        assert!(p.saw_bare_lf());
        assert_eq!(p.next_reply().map(|r| r.code), Some(250));
        assert_eq!(
            p.next_reply().map(|r| r.lines),
            Some(vec!["a".into(), "b".into()])
        );
    }

    #[test]
    fn bare_cr_does_not_end_a_line() {
        let r = one(b"250 a\rb\r\n");
        assert_eq!(r.lines, vec!["a\\x0Db"]);
        let mut p = ReplyParser::new();
        p.push(b"250 a\r250 b\r").expect("valid so far");
        assert_eq!(p.next_reply(), None);
    }

    #[test]
    fn text_is_escaped() {
        let r = one(
            b"250 caf\xc3\xa9 \xff\xfe nul\x00 esc\x1b del\x7f tab\tok \xc2\x85 \xe2\x80\xae\r\n",
        );
        assert_eq!(
            r.lines[0],
            "caf\u{e9} \\xFF\\xFE nul\\x00 esc\\x1B del\\x7F tab\tok \\xC2\\x85 \\xE2\\x80\\xAE"
        );
        // Truncated UTF-8 at the end of the line.
        assert_eq!(one(b"250 \xe2\x82\r\n").lines[0], "\\xE2\\x82");
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            ReplyError::LineTooLong { limit: 65536 }.to_string(),
            "the server sent a reply line longer than 65536 bytes"
        );
        assert_eq!(
            ReplyError::TooManyLines { limit: 1000 }.to_string(),
            "the server sent a reply with more than 1000 lines"
        );
        assert!(
            ReplyError::Malformed("abc hello".into())
                .to_string()
                .contains("\"abc hello\"")
        );
        assert!(
            ReplyError::Malformed(String::new())
                .to_string()
                .contains("empty line")
        );
        assert!(
            ReplyError::MixedCodes {
                first: 250,
                other: 251
            }
            .to_string()
            .contains("250, then 251")
        );
        assert!(
            ReplyError::ReplyTooLarge { limit: 1 << 20 }
                .to_string()
                .contains("larger than 1048576 bytes")
        );
    }

    #[test]
    fn every_code_in_range_parses() {
        for a in 2..=5u16 {
            for b in 0..=5u16 {
                for c in 0..=9u16 {
                    let code = a * 100 + b * 10 + c;
                    let r = one(format!("{code} x\r\n").as_bytes());
                    assert_eq!(r.code, code);
                }
            }
        }
        for bad in ["160 x", "600 x", "560 x", "590 x", "200x", "2a0 x"] {
            assert!(parse_all(format!("{bad}\r\n").as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A tiny deterministic generator: the parser must only ever return
        // Ok or Err, whatever arrives.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"0123456789- \r\n25\xff\x00abc.";
        for _ in 0..2000 {
            let mut p = ReplyParser::with_limits(16, 4);
            for _ in 0..8 {
                let mut buf = Vec::new();
                for _ in 0..(seed % 13) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    buf.push(alphabet[(seed % alphabet.len() as u64) as usize]);
                }
                let _ = p.push(&buf);
                assert!(p.pending_bytes() <= 16 * 4 + 17 + 4 * 4);
                while let Some(r) = p.next_reply() {
                    assert!((200..=559).contains(&r.code));
                }
            }
        }
    }
}
