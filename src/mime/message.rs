//! Draft → message bytes, streamed.

use super::draft::{
    Attachment, Draft, Stamp, check_content_id, check_file, validate_content_type, validate_header,
};
use super::encode::{
    base64_encoded_len, base64_lines, encode_display_name, encode_unstructured_at, fold_header,
    folds_as_is, mime_parameter, parameter_header,
};
use super::tree::PartTree;
use crate::address::{Mailbox, ReversePath};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
    /// A Content-ID that is not `left@right` of dot-atom characters.
    BadContentId(String),
    /// An attachment name (`--name`) that cannot be used: empty, or
    /// containing `/`.
    BadFileName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Writing the output failed (socket or file).
    Write(io::Error),
    /// A message file is empty.
    EmptyMessage {
        /// Which file.
        path: PathBuf,
    },
    /// A message file's size differs from when it was read.
    MessageChanged {
        /// Which file.
        path: PathBuf,
        /// Size when read.
        expected: u64,
        /// Size now.
        actual: u64,
    },
    /// A message file has the same size but other line endings than when
    /// it was read.
    MessageContentChanged {
        /// Which file.
        path: PathBuf,
    },
    /// A message file's header block is too large to read addresses from.
    HeaderTooLarge {
        /// Which file.
        path: PathBuf,
        /// Its size (CRLF line endings).
        size: u64,
        /// The most read.
        limit: u64,
    },
    /// The envelope cannot be taken from a message file's headers.
    HeaderEnvelope(String),
}

impl fmt::Display for MimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MimeError::File { path, source } => {
                let hint = match source.kind() {
                    io::ErrorKind::NotFound => "check the path",
                    io::ErrorKind::PermissionDenied => "check its permissions",
                    _ => "check the file",
                };
                write!(f, "cannot read {}: {source} — {hint}", path.display())
            }
            MimeError::NotAFile { path, kind } => {
                if *kind == "a directory" {
                    write!(
                        f,
                        "{} is a directory, not a file — attach files one by one",
                        path.display()
                    )
                } else {
                    write!(
                        f,
                        "{} is {kind}, not a regular file — attach a regular file",
                        path.display()
                    )
                }
            }
            MimeError::FileChanged {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{} changed size since it was attached ({expected} → {actual} bytes); attach it again \
                 (detach it, then attach {})",
                path.display(),
                path.display()
            ),
            MimeError::BadHeaderName(reason) => write!(f, "invalid header name: {reason}"),
            MimeError::ControlCharacter { what } => {
                write!(
                    f,
                    "{what} contains a control character (such as a line break); remove it"
                )
            }
            MimeError::BadContentType(t) => {
                let lower = t.trim().to_ascii_lowercase();
                if lower.starts_with("multipart/") || lower.starts_with("message/") {
                    write!(
                        f,
                        "{t:?} cannot be an attachment type: attachments are sent base64, which \
                         MIME forbids for multipart/* and message/* (use application/octet-stream, \
                         or message/rfc822 files as application/octet-stream)"
                    )
                } else {
                    write!(
                        f,
                        "invalid content type {t:?}: give it as type/subtype, e.g. application/pdf"
                    )
                }
            }
            MimeError::BadContentId(id) => write!(
                f,
                "invalid Content-ID {id:?}: give it as left@right of letters, digits and \
                 !#$&'*+-/=?^_`{{|}}~. (such as logo@example.org)"
            ),
            MimeError::BadFileName { name, reason } => {
                write!(
                    f,
                    "invalid attachment name {name:?}: {reason} — give a plain file name"
                )
            }
            MimeError::Write(e) => write!(f, "cannot write the message: {e}"),
            MimeError::EmptyMessage { path } => {
                write!(
                    f,
                    "{} is empty: there is no message to send",
                    path.display()
                )
            }
            MimeError::MessageChanged {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{} changed size since it was read ({expected} → {actual} bytes)",
                path.display()
            ),
            MimeError::MessageContentChanged { path } => write!(
                f,
                "{} changed since it was read (same size, other line endings)",
                path.display()
            ),
            MimeError::HeaderTooLarge { path, size, limit } => write!(
                f,
                "the header block of {} is {size} bytes, more than the {limit} read for addresses",
                path.display()
            ),
            MimeError::HeaderEnvelope(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for MimeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MimeError::File { source, .. } => Some(source),
            MimeError::Write(e) => Some(e),
            _ => None,
        }
    }
}

/// One part of the message, for `show` and `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartSummary {
    /// The Content-Type value, e.g. `text/plain; charset=utf-8`.
    pub content_type: String,
    /// `7bit`, `quoted-printable` or `base64`.
    pub encoding: String,
    /// File name for attachments.
    pub name: Option<String>,
    /// The Content-ID (no brackets) of an inline part.
    pub content_id: Option<String>,
    /// Which of the draft's attachments this is (from 1, as `status`
    /// numbers them); `None` for the text, the HTML and multiparts.
    pub attachment: Option<usize>,
    /// A remark for `show`, e.g. that the text was derived from the HTML.
    pub note: Option<String>,
    /// Size of the content before encoding.
    pub raw_size: u64,
    /// Size of the encoded part body on the wire.
    pub encoded_size: u64,
}

/// A piece of the output: bytes in memory, or a file written as base64.
#[derive(Debug)]
pub(super) enum Segment {
    Bytes(Vec<u8>),
    File { path: PathBuf, size: u64 },
}

/// A composed message, ready to write. Holds the header block and small
/// text parts in memory; attachments stay on disk until written.
#[derive(Debug)]
pub struct Message {
    segments: Vec<Segment>,
    parts: Vec<PartSummary>,
    tree: PartTree,
}

/// Where [`Message::write_to_sink`] writes: a writer that may also take
/// base64 bodies as lines known to need no DATA transparency (the SMTP
/// content writer passes them on without scanning them).
pub trait ContentSink: Write {
    /// Writes lines of base64: each ended by CRLF, nothing but the base64
    /// alphabet before it (so no other CR or LF, and never a `.` first).
    /// The default is `write_all`.
    fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.write_all(lines)
    }
}

/// What a `send` transmits: a composed draft ([`Message`]) or an existing
/// message file ([`super::MessageFile`]). The transaction asks it for its
/// size and 8-bit needs before MAIL FROM, then streams it.
pub trait Content {
    /// Exact bytes [`Content::write_to_sink`] writes (CRLF line endings,
    /// before dot-stuffing): the `SIZE=` value and the BDAT chunk size.
    fn size(&self) -> u64;
    /// Whether some byte is above 127 (`BODY=8BITMIME`).
    fn has_8bit(&self) -> bool;
    /// Whether the top-level header has bytes above 127 (`SMTPUTF8`).
    fn has_utf8_header(&self) -> bool;
    /// Streams the content into `out`; returns the bytes written.
    fn write_to_sink(&self, out: &mut dyn ContentSink) -> Result<u64, MimeError>;
    /// Whether the content is sent as the user gave it (a file), not
    /// composed by smtpsh: 8-bit bytes a server did not announce support
    /// for are then the user's call (warned about, not refused).
    fn as_given(&self) -> bool {
        false
    }
}

impl Content for Message {
    fn size(&self) -> u64 {
        Message::size(self)
    }
    fn has_8bit(&self) -> bool {
        Message::has_8bit(self)
    }
    fn has_utf8_header(&self) -> bool {
        Message::has_utf8_header(self)
    }
    fn write_to_sink(&self, out: &mut dyn ContentSink) -> Result<u64, MimeError> {
        Message::write_to_sink(self, out)
    }
}

/// Any writer as a [`ContentSink`] that treats base64 like other bytes.
struct PlainSink<'a>(&'a mut dyn Write);

impl Write for PlainSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl ContentSink for PlainSink<'_> {}

/// Input bytes per chunk when streaming an attachment: a multiple of 57 so
/// every chunk gives whole base64 lines (57 KiB in → 78 KiB out).
const CHUNK: usize = 57 * 1024;

/// Preamble of a multipart message, for readers without MIME support.
pub(super) const PREAMBLE: &str = "This is a multi-part message in MIME format.";

/// Header names smtpsh generates and a user header replaces.
const GENERATED: [&str; 7] = [
    "Date",
    "From",
    "To",
    "Cc",
    "Subject",
    "Message-ID",
    "MIME-Version",
];

/// Headers whose value holds addresses.
const ADDRESS_HEADERS: [&str; 5] = ["from", "to", "cc", "reply-to", "sender"];

/// Structured headers written as given when they are plain ASCII.
const RAW_HEADERS: [&str; 6] = [
    "date",
    "message-id",
    "mime-version",
    "in-reply-to",
    "references",
    "resent-date",
];

/// Headers never taken from the user's list (see [`validate_header`]).
const SKIPPED: [&str; 3] = ["bcc", "content-type", "content-transfer-encoding"];

/// Builds the message plan: generated headers (Date, From, To, Cc, Subject,
/// Message-ID, MIME-Version; user headers replace same-named ones; never
/// Bcc), the text part (7bit when ASCII with lines ≤ 998, else
/// quoted-printable; charset=utf-8), and one base64 part per attachment
/// (multipart/mixed when there is at least one). Re-checks every attachment
/// (exists, regular file, same size as attached) and reads text/*
/// attachments once to choose their charset.
///
/// The From header comes from the draft's sender. With the null sender
/// `<>` (or no sender) and no `From` among the user headers, no From
/// header is written: there is no mailbox to put in it, and inventing one
/// would be worse; set one with a `From` header when sending bounces.
///
/// User headers named Bcc, Content-Type or Content-Transfer-Encoding are
/// ignored; other user headers are checked with [`validate_header`].
/// Address headers (From, To, Cc, Reply-To, Sender) given by the user are
/// parsed as mailbox lists and re-encoded when possible.
pub fn compose(draft: &Draft, stamp: &Stamp) -> Result<Message, MimeError> {
    let head = header_block(draft, stamp)?;
    let plan = super::tree::plan(draft, stamp, head)?;
    Ok(Message {
        segments: plan.segments,
        parts: plan.parts,
        tree: plan.tree,
    })
}

/// The top-level headers up to (not including) Content-Type.
fn header_block(draft: &Draft, stamp: &Stamp) -> Result<String, MimeError> {
    // User headers to write, in order, with lower-case names.
    let mut user: Vec<(&str, &str, String)> = Vec::new();
    for (name, value) in &draft.headers {
        let lower = name.to_ascii_lowercase();
        if SKIPPED.contains(&lower.as_str()) {
            continue;
        }
        validate_header(name, value)?;
        user.push((name, value, lower));
    }
    let user_has = |n: &str| user.iter().any(|(_, _, l)| l.eq_ignore_ascii_case(n));

    let mut out = String::new();
    for gen_name in GENERATED {
        if user_has(gen_name) {
            for (name, value, lower) in user
                .iter()
                .filter(|(_, _, l)| l.eq_ignore_ascii_case(gen_name))
            {
                out.push_str(&user_header(name, value, lower));
            }
            continue;
        }
        match gen_name {
            "Date" => out.push_str(&fold_header("Date", &one_line(&stamp.date))),
            "From" => {
                if let Some(ReversePath::Mailbox(m)) = &draft.from {
                    out.push_str(&fold_header("From", &mailbox_list(std::slice::from_ref(m))));
                }
            }
            "To" if !draft.to.is_empty() => {
                out.push_str(&fold_header("To", &mailbox_list(&draft.to)))
            }
            "Cc" if !draft.cc.is_empty() => {
                out.push_str(&fold_header("Cc", &mailbox_list(&draft.cc)))
            }
            "Subject" => {
                if let Some(s) = &draft.subject {
                    out.push_str(&fold_header(
                        "Subject",
                        &encode_unstructured_at(s, "Subject: ".len()),
                    ));
                }
            }
            "Message-ID" => out.push_str(&fold_header("Message-ID", &one_line(&stamp.message_id))),
            "MIME-Version" => out.push_str("MIME-Version: 1.0\r\n"),
            _ => {}
        }
    }
    for (name, value, lower) in &user {
        if !GENERATED.iter().any(|g| g.eq_ignore_ascii_case(lower)) {
            out.push_str(&user_header(name, value, lower));
        }
    }
    Ok(out)
}

/// Control characters replaced by spaces (stamp values are public fields).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Mailboxes as a header value: `Name <addr>` or `addr`, joined by `, `.
fn mailbox_list(list: &[Mailbox]) -> String {
    let items: Vec<String> = list
        .iter()
        .map(|m| match m.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => {
                format!("{} <{}>", encode_display_name(n), m.address.as_str())
            }
            _ => m.address.as_str().to_string(),
        })
        .collect();
    items.join(", ")
}

/// Splits an address list at commas outside quotes and angle brackets.
fn split_address_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    let mut start = 0;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                out.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&value[start..]);
    out
}

/// One user header, encoded and folded.
fn user_header(name: &str, value: &str, lower: &str) -> String {
    if ADDRESS_HEADERS.contains(&lower) {
        let parsed: Result<Vec<Mailbox>, _> = split_address_list(value)
            .into_iter()
            .map(|p| Mailbox::parse(p.trim()))
            .collect();
        if let Ok(list) = parsed
            && !list.is_empty()
        {
            return fold_header(name, &mailbox_list(&list));
        }
    }
    let plain = value.is_ascii() && folds_as_is(value);
    if plain && (RAW_HEADERS.contains(&lower) || ADDRESS_HEADERS.contains(&lower)) {
        return fold_header(name, value);
    }
    fold_header(name, &encode_unstructured_at(value, name.len() + 2))
}

/// A multipart boundary made from `base`: only its bchars (RFC 2046
/// §5.1.1), at most 60, after a leading `=_` (which base64 and
/// quoted-printable never produce); `=_smtpsh` when nothing is left. If
/// that occurs in `text` or `clashes` (with a boundary already taken),
/// `=_1.`, `=_2.`, ... replaces the leading `=_` until it does neither,
/// so the choice is deterministic.
///
/// This always ends: a candidate `=_N.REST` clashes with a boundary `t`
/// taken before only if one starts with the other, which for all N at
/// once would need `t` to be a bare `=_`, which is never made; and
/// `text` holds finitely many candidates.
pub(super) fn pick_boundary(base: &str, text: &[u8], clashes: impl Fn(&str) -> bool) -> String {
    let safe: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "'()+_,-./:=?".contains(*c))
        .take(60)
        .collect();
    let rest = safe.strip_prefix("=_").unwrap_or(&safe);
    let rest = if rest.is_empty() { "smtpsh" } else { rest };
    let b = format!("=_{rest}");
    let b = &b[..b.len().min(60)];
    let mut candidate = b.to_string();
    let mut n = 0u64;
    while contains(text, candidate.as_bytes()) || clashes(&candidate) {
        n += 1;
        let head = format!("=_{n}.");
        // At most 70 characters (RFC 2046); the rest is ASCII.
        let keep = rest.len().min(MAX_BOUNDARY - head.len());
        candidate = format!("{head}{}", &rest[..keep]);
    }
    candidate
}

/// The longest boundary RFC 2046 §5.1.1 allows.
const MAX_BOUNDARY: usize = 70;

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    // memmem, not a window per byte: the fuzzer found a draft whose
    // boundary search took over a minute that way.
    memchr::memmem::find(haystack, needle).is_some()
}

/// How the bytes of a text attachment are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Ascii,
    Utf8,
    Unknown,
}

impl Charset {
    fn name(self) -> &'static str {
        match self {
            Charset::Ascii => "us-ascii",
            Charset::Utf8 => "utf-8",
            Charset::Unknown => "unknown-8bit",
        }
    }
}

/// Re-checks an attachment and builds its part headers (with the final
/// CRLF of each header, without the blank line). Returns the Content-Type
/// for the summary (type and charset) and the headers.
pub(super) fn attachment_headers(att: &Attachment) -> Result<(String, String), MimeError> {
    let size = check_file(&att.path)?;
    if size != att.size {
        return Err(changed(&att.path, att.size, size));
    }
    let ctype = validate_content_type(&att.content_type)?;
    let mut params = Vec::new();
    let mut summary = ctype.clone();
    if ctype.starts_with("text/") {
        let charset = classify(&att.path, att.size)?.name();
        params.push(format!("charset={charset}"));
        summary = format!("{ctype}; charset={charset}");
    }
    params.extend(mime_parameter("name", &att.name));
    let mut h = parameter_header("Content-Type", &ctype, &params);
    let disposition = if att.is_inline() {
        "inline"
    } else {
        "attachment"
    };
    h.push_str(&parameter_header(
        "Content-Disposition",
        disposition,
        &mime_parameter("filename", &att.name),
    ));
    if let Some(id) = &att.content_id {
        check_content_id(id)?;
        h.push_str(&format!("Content-ID: <{id}>\r\n"));
    }
    h.push_str("Content-Transfer-Encoding: base64\r\n");
    Ok((summary, h))
}

fn changed(path: &Path, expected: u64, actual: u64) -> MimeError {
    MimeError::FileChanged {
        path: path.to_path_buf(),
        expected,
        actual,
    }
}

fn open(path: &Path) -> Result<File, MimeError> {
    super::draft::open_regular(path)
}

/// Reads until `buf` is full or the file ends; returns the count.
fn read_full(f: &mut File, path: &Path, buf: &mut [u8]) -> Result<usize, MimeError> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(MimeError::File {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(n)
}

/// Reads a file once in chunks: ASCII, UTF-8 or neither. UTF-8 sequences
/// split across chunks are carried over. Checks the size read.
fn classify(path: &Path, expected: u64) -> Result<Charset, MimeError> {
    let mut f = open(path)?;
    let mut buf = vec![0u8; 64 * 1024 + 4];
    let mut carry = 0usize;
    let mut ascii = true;
    let mut total = 0u64;
    loop {
        let n = read_full(&mut f, path, &mut buf[carry..])?;
        total += n as u64;
        if n == 0 {
            break;
        }
        let data = &buf[..carry + n];
        ascii &= data.is_ascii();
        match std::str::from_utf8(data) {
            Ok(_) => carry = 0,
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                let len = data.len() - valid;
                buf.copy_within(valid..valid + len, 0);
                carry = len;
            }
            Err(_) => return Ok(Charset::Unknown),
        }
    }
    if total != expected {
        return Err(changed(path, expected, total));
    }
    Ok(if carry > 0 {
        Charset::Unknown
    } else if ascii {
        Charset::Ascii
    } else {
        Charset::Utf8
    })
}

/// Fails with FileChanged unless the open file has no byte left.
fn expect_eof(f: &mut File, path: &Path, expected: u64) -> Result<(), MimeError> {
    let mut probe = [0u8; 1];
    if read_full(f, path, &mut probe)? > 0 {
        let now = f.metadata().map(|m| m.len()).unwrap_or(0);
        return Err(changed(path, expected, now.max(expected + 1)));
    }
    Ok(())
}

/// Writes a file as base64 lines, one write per chunk. Nothing of a chunk
/// is written once the file is found shorter or longer than `size`.
fn stream_file(path: &Path, size: u64, out: &mut dyn ContentSink) -> Result<u64, MimeError> {
    let mut f = open(path)?;
    let now = f
        .metadata()
        .map_err(|source| MimeError::File {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if now != size {
        return Err(changed(path, size, now));
    }
    if size == 0 {
        expect_eof(&mut f, path, size)?;
        return Ok(0);
    }
    let mut input = vec![0u8; CHUNK];
    let mut encoded = Vec::with_capacity(base64_encoded_len(CHUNK as u64) as usize);
    let mut remaining = size;
    let mut written = 0u64;
    while remaining > 0 {
        let want = remaining.min(CHUNK as u64) as usize;
        let got = read_full(&mut f, path, &mut input[..want])?;
        if got < want {
            return Err(changed(path, size, size - remaining + got as u64));
        }
        remaining -= got as u64;
        if remaining == 0 {
            expect_eof(&mut f, path, size)?;
        }
        encoded.clear();
        base64_lines(&input[..got], &mut encoded);
        out.write_clean_lines(&encoded).map_err(MimeError::Write)?;
        written += encoded.len() as u64;
    }
    Ok(written)
}

/// The preview of one attachment body: its first base64 line, a marker,
/// its last line (all lines when there are at most 3), each ending in `\n`.
fn preview_file(path: &Path, size: u64) -> Result<String, MimeError> {
    let mut f = open(path)?;
    let now = f
        .metadata()
        .map_err(|source| MimeError::File {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    if now != size {
        return Err(changed(path, size, now));
    }
    let line_in = super::encode::BASE64_LINE_INPUT as u64;
    let lines = size.div_ceil(line_in);
    let mut encoded = Vec::new();
    let read_at = |f: &mut File, offset: u64, len: usize| -> Result<Vec<u8>, MimeError> {
        f.seek(SeekFrom::Start(offset))
            .map_err(|source| MimeError::File {
                path: path.to_path_buf(),
                source,
            })?;
        let mut buf = vec![0u8; len];
        let got = read_full(f, path, &mut buf)?;
        if got < len {
            return Err(changed(path, size, offset + got as u64));
        }
        Ok(buf)
    };
    if lines <= 3 {
        base64_lines(&read_at(&mut f, 0, size as usize)?, &mut encoded);
    } else {
        base64_lines(&read_at(&mut f, 0, line_in as usize)?, &mut encoded);
        encoded.extend_from_slice(
            format!(
                "[... {} more lines, {size} bytes before encoding ...]\r\n",
                lines - 2
            )
            .as_bytes(),
        );
        let last = (lines - 1) * line_in;
        base64_lines(
            &read_at(&mut f, last, (size - last) as usize)?,
            &mut encoded,
        );
    }
    Ok(String::from_utf8_lossy(&encoded).replace("\r\n", "\n"))
}

impl Message {
    /// Exact number of bytes [`Message::write_to`] will write, computed
    /// without reading the attachments.
    pub fn size(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Bytes(b) => b.len() as u64,
                Segment::File { size, .. } => base64_encoded_len(*size),
            })
            .sum()
    }
    /// Whether the message has bytes above 127 (then it is 8-bit data:
    /// `BODY=8BITMIME` when the server offers it). Attachments are base64,
    /// and text 7bit or quoted-printable, so in practice only a header
    /// with a UTF-8 address makes a message 8-bit.
    pub fn has_8bit(&self) -> bool {
        self.segments.iter().any(|s| match s {
            Segment::Bytes(b) => !b.is_ascii(),
            Segment::File { .. } => false,
        })
    }
    /// Whether the top-level header has raw UTF-8 (an address with a
    /// non-ASCII local part has no other form): the message then needs
    /// SMTPUTF8 (RFC 6531, RFC 6532).
    pub fn has_utf8_header(&self) -> bool {
        match self.segments.first() {
            Some(Segment::Bytes(b)) => {
                let end = b
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(b.len(), |i| i + 2);
                !b[..end].is_ascii()
            }
            _ => false,
        }
    }
    /// Streams the message (CRLF line ends, no dot-stuffing) into `out`,
    /// reading attachments in chunks. Fails with [`MimeError::FileChanged`]
    /// as soon as a file turns out shorter or longer than planned, before
    /// the rest is written. Returns the bytes written.
    ///
    /// Each attachment is read [`CHUNK`] bytes at a time and written as
    /// one `write_all` of base64 lines, from buffers reused for the whole
    /// file.
    pub fn write_to(&self, out: &mut dyn Write) -> Result<u64, MimeError> {
        self.write_to_sink(&mut PlainSink(out))
    }
    /// [`Message::write_to`] into a [`ContentSink`]: the same bytes, with
    /// each attachment's base64 handed over through
    /// [`ContentSink::write_clean_lines`].
    pub fn write_to_sink(&self, out: &mut dyn ContentSink) -> Result<u64, MimeError> {
        let mut written = 0u64;
        for seg in &self.segments {
            match seg {
                Segment::Bytes(b) => {
                    out.write_all(b).map_err(MimeError::Write)?;
                    written += b.len() as u64;
                }
                Segment::File { path, size } => written += stream_file(path, *size, out)?,
            }
        }
        out.flush().map_err(MimeError::Write)?;
        Ok(written)
    }
    /// The message as text for `show`: headers and text parts in full, each
    /// attachment's base64 shortened to its first and last line with a
    /// `[... N lines, M bytes ...]` marker.
    ///
    /// Lines end with `\n` (not CRLF); the closing boundary is shown; the
    /// caller adds the summary from [`Message::parts`]. Reads the first and last few bytes
    /// of each attachment.
    pub fn preview(&self) -> Result<String, MimeError> {
        let mut out = String::new();
        for seg in &self.segments {
            match seg {
                Segment::Bytes(b) => {
                    out.push_str(&String::from_utf8_lossy(b).replace("\r\n", "\n"))
                }
                Segment::File { path, size } => out.push_str(&preview_file(path, *size)?),
            }
        }
        Ok(out)
    }
    /// The parts that are not multiparts, in the order they are written
    /// (the text first, then the HTML, inline parts, attachments).
    pub fn parts(&self) -> Vec<PartSummary> {
        self.parts.clone()
    }
    /// The MIME structure: the top-level part and the parts inside it.
    pub fn tree(&self) -> &PartTree {
        &self.tree
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime::encode::normalize_newlines;
    use crate::mime::test_support::stamp;
    use mail_parser::{HeaderForm, MessageParser, MimeHeaders};
    use sha2::{Digest, Sha256};
    use std::path::Path;

    fn mb(s: &str) -> Mailbox {
        Mailbox::parse(s).expect("mailbox")
    }

    fn draft() -> Draft {
        Draft {
            from: Some(ReversePath::parse("Zoë Q. <zoe@example.com>").expect("from")),
            to: vec![
                mb("Alice Example <alice@example.com>"),
                mb("bob@example.org"),
            ],
            cc: vec![mb("\"Doe, John\" <john@example.net>")],
            bcc: vec![mb("secret@example.com")],
            subject: Some("naïve résumé — Grüße aus Köln".to_string()),
            body: "Hello,\nthis is the body.\n".to_string(),
            ..Draft::default()
        }
    }

    /// Found by fuzzing: a whitespace run and a long word that each fit
    /// but together make a folded line over 998 octets.
    #[test]
    fn whitespace_run_before_a_long_word_still_folds_under_998() {
        let tricky = format!("a{}{}", " ".repeat(500), "b".repeat(600));
        let mut d = draft();
        d.subject = Some(tricky.clone());
        d.headers.push(("X-Tricky".into(), tricky.clone()));
        d.headers.push(("In-Reply-To".into(), tricky.clone()));
        d.to = vec![Mailbox {
            name: Some(tricky.clone()),
            address: mb("x@example.com").address,
        }];
        let m = compose(&d, &stamp()).expect("compose");
        let bytes = render(&m);
        for line in bytes.split(|&b| b == b'\n') {
            assert!(line.len() <= 999, "a line of {} octets", line.len());
        }
        let parsed = MessageParser::default().parse(&bytes).expect("parses");
        assert_eq!(parsed.subject(), Some(tricky.as_str()));
    }

    /// Writes the message, checks size() and the wire rules, returns bytes.
    fn render(m: &Message) -> Vec<u8> {
        let mut out = Vec::new();
        let n = m.write_to(&mut out).expect("write");
        assert_eq!(n, out.len() as u64);
        assert_eq!(m.size(), n);
        check_wire(&out);
        out
    }

    /// CRLF only, every line ≤ 998, header lines ≤ 78, base64 lines ≤ 76.
    fn check_wire(out: &[u8]) {
        for (i, &c) in out.iter().enumerate() {
            if c == b'\r' {
                assert_eq!(out.get(i + 1), Some(&b'\n'), "bare CR at {i}");
            }
            if c == b'\n' {
                assert!(i > 0 && out[i - 1] == b'\r', "bare LF at {i}");
            }
        }
        assert!(out.ends_with(b"\r\n"));
        let text = String::from_utf8_lossy(out);
        let mut in_header = true;
        let mut base64 = false;
        for line in text.split_terminator("\r\n") {
            assert!(line.len() <= 998, "line of {} octets", line.len());
            if in_header {
                assert!(line.len() <= 78, "header line too long: {line}");
                assert!(
                    line.is_empty() || !line.trim().is_empty(),
                    "whitespace-only header line"
                );
            }
            if line.is_empty() {
                in_header = false;
            } else if line.starts_with("--=_") {
                in_header = true;
                base64 = false;
            } else if line.eq_ignore_ascii_case("Content-Transfer-Encoding: base64") {
                base64 = true;
            } else if base64 && !in_header {
                assert!(line.len() <= 76, "base64 line: {line}");
            }
        }
    }

    fn parse(bytes: &[u8]) -> mail_parser::Message<'_> {
        MessageParser::default()
            .parse(bytes)
            .expect("mail-parser parses it")
    }

    /// A header decoded as unstructured text (RFC 2047 words decoded).
    fn text_header(p: &mail_parser::Message<'_>, name: &str) -> Option<String> {
        let name = name.to_string();
        p.header_as(name, HeaderForm::Text)
            .first()
            .and_then(|v| v.as_text())
            .map(str::to_string)
    }

    fn header_names(bytes: &[u8]) -> Vec<String> {
        let text = String::from_utf8_lossy(bytes);
        let head = text
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_string();
        head.split("\r\n")
            .filter(|l| !l.starts_with([' ', '\t']))
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.to_string()))
            .collect()
    }

    fn sha(b: &[u8]) -> Vec<u8> {
        Sha256::digest(b).to_vec()
    }

    fn file(dir: &Path, name: &str, content: &[u8]) -> Attachment {
        let p = dir.join(name);
        std::fs::write(&p, content).expect("write");
        Attachment::new(&p, None, None).expect("attach")
    }

    fn pseudo_random(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn single_part_headers() {
        let mut d = draft();
        d.headers
            .push(("X-Mood".to_string(), "très bien".to_string()));
        let m = compose(&d, &stamp()).expect("compose");
        let out = render(&m);
        assert_eq!(
            header_names(&out),
            [
                "Date",
                "From",
                "To",
                "Cc",
                "Subject",
                "Message-ID",
                "MIME-Version",
                "X-Mood",
                "Content-Type",
                "Content-Transfer-Encoding"
            ]
        );
        assert!(out.is_ascii(), "headers and body are encoded to ASCII");
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("MIME-Version: 1.0\r\n"));
        assert!(text.contains(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        ));
        assert!(!text.to_lowercase().contains("bcc"));
        assert!(!text.contains("secret@example.com"));
        assert!(text.ends_with("this is the body.\r\n"));

        let p = parse(&out);
        assert_eq!(p.subject(), Some("naïve résumé — Grüße aus Köln"));
        let from = p.from().and_then(|a| a.first()).expect("from");
        assert_eq!(from.name(), Some("Zoë Q."));
        assert_eq!(from.address(), Some("zoe@example.com"));
        let to: Vec<_> = p
            .to()
            .expect("to")
            .iter()
            .map(|a| (a.name(), a.address()))
            .collect();
        assert_eq!(
            to,
            [
                (Some("Alice Example"), Some("alice@example.com")),
                (None, Some("bob@example.org"))
            ]
        );
        let cc = p.cc().and_then(|a| a.first()).expect("cc");
        assert_eq!(cc.name(), Some("Doe, John"));
        assert_eq!(cc.address(), Some("john@example.net"));
        assert!(p.bcc().is_none());
        assert_eq!(
            p.message_id(),
            Some("1795703470.0123456789abcdef@example.com")
        );
        assert_eq!(
            p.header_raw("X-Mood").map(str::trim),
            Some("=?UTF-8?B?dHLDqHM=?= bien")
        );
        assert_eq!(text_header(&p, "X-Mood").as_deref(), Some("très bien"));
        assert_eq!(
            p.body_text(0).as_deref(),
            Some("Hello,\r\nthis is the body.\r\n")
        );
        assert!(p.date().is_some());

        let parts = m.parts();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].content_type, "text/plain; charset=utf-8");
        assert_eq!(parts[0].encoding, "7bit");
        assert_eq!(
            parts[0].raw_size,
            "Hello,\r\nthis is the body.\r\n".len() as u64
        );
    }

    #[test]
    fn user_headers_replace_generated() {
        let mut d = draft();
        d.headers = vec![
            ("subject".to_string(), "Overridden".to_string()),
            ("X-First".to_string(), "1".to_string()),
            (
                "TO".to_string(),
                "\"Smith, Ann\" <ann@example.com>, Bø <bo@example.com>".to_string(),
            ),
            ("Message-ID".to_string(), "<custom@example.com>".to_string()),
            ("Bcc".to_string(), "leak@example.com".to_string()),
            ("Content-Type".to_string(), "text/html".to_string()),
        ];
        let out = render(&compose(&d, &stamp()).expect("compose"));
        let names = header_names(&out);
        assert_eq!(
            names,
            [
                "Date",
                "From",
                "TO",
                "Cc",
                "subject",
                "Message-ID",
                "MIME-Version",
                "X-First",
                "Content-Type",
                "Content-Transfer-Encoding"
            ]
        );
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("leak@example.com"));
        assert!(!text.contains("text/html"));
        let p = parse(&out);
        assert_eq!(p.subject(), Some("Overridden"));
        assert_eq!(p.message_id(), Some("custom@example.com"));
        let to: Vec<_> = p
            .to()
            .expect("to")
            .iter()
            .map(|a| (a.name(), a.address()))
            .collect();
        assert_eq!(
            to,
            [
                (Some("Smith, Ann"), Some("ann@example.com")),
                (Some("Bø"), Some("bo@example.com"))
            ]
        );
    }

    #[test]
    fn injection_in_user_header_refused() {
        let mut d = draft();
        d.headers
            .push(("X-A".to_string(), "a\r\nBcc: x@example.com".to_string()));
        assert!(matches!(
            compose(&d, &stamp()),
            Err(MimeError::ControlCharacter { .. })
        ));
        assert!(validate_header("X-A", "a\r\nBcc: x").is_err());
        // Stamp fields are public: a CR/LF in them cannot start a header.
        let mut s = stamp();
        s.date = "Thu, 26 Nov 2026 14:31:10 +0000\r\nBcc: x@example.com".to_string();
        let out = render(&compose(&draft(), &s).expect("compose"));
        assert!(
            !header_names(&out)
                .iter()
                .any(|n| n.eq_ignore_ascii_case("bcc"))
        );
    }

    #[test]
    fn null_sender_has_no_from_unless_given() {
        let mut d = draft();
        d.from = Some(ReversePath::Null);
        let out = render(&compose(&d, &stamp()).expect("compose"));
        assert!(!header_names(&out).contains(&"From".to_string()));
        d.headers.push((
            "From".to_string(),
            "Mail Delivery System <MAILER-DAEMON@example.com>".to_string(),
        ));
        let out = render(&compose(&d, &stamp()).expect("compose"));
        assert_eq!(header_names(&out)[1], "From");
        let p = parse(&out);
        assert_eq!(
            p.from().and_then(|a| a.first()).and_then(|a| a.address()),
            Some("MAILER-DAEMON@example.com")
        );
    }

    #[test]
    fn long_lines_and_non_ascii_use_quoted_printable() {
        let mut d = draft();
        let long = "x".repeat(1500);
        d.body = format!("short\n{long}\n.leading dot\nFrom me\ntrailing   \n");
        let m = compose(&d, &stamp()).expect("compose");
        let out = render(&m);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("Content-Transfer-Encoding: quoted-printable"));
        for line in text
            .split("\r\n\r\n")
            .nth(1)
            .expect("body")
            .split_terminator("\r\n")
        {
            assert!(line.len() <= 76, "{line}");
        }
        let p = parse(&out);
        assert_eq!(
            p.body_text(0).as_deref(),
            Some(normalize_newlines(&d.body).as_str())
        );
        assert_eq!(m.parts()[0].encoding, "quoted-printable");

        d.body = "Grüße\n".to_string();
        let out = render(&compose(&d, &stamp()).expect("compose"));
        assert!(out.is_ascii());
        assert_eq!(parse(&out).body_text(0).as_deref(), Some("Grüße\r\n"));

        // A line of exactly 998 stays 7bit.
        d.body = "y".repeat(998);
        let out = render(&compose(&d, &stamp()).expect("compose"));
        assert!(String::from_utf8_lossy(&out).contains("Content-Transfer-Encoding: 7bit"));
    }

    #[test]
    fn bare_cr_lf_normalized() {
        let mut d = draft();
        d.body = "one\rtwo\nthree\r\nfour\n\rfive".to_string();
        let out = render(&compose(&d, &stamp()).expect("compose"));
        assert!(out.ends_with(b"five\r\n"));
        assert_eq!(
            parse(&out).body_text(0).as_deref(),
            Some("one\r\ntwo\r\nthree\r\nfour\r\n\r\nfive\r\n")
        );
        d.body = String::new();
        let out = render(&compose(&d, &stamp()).expect("compose"));
        assert!(out.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn many_recipients_fold() {
        let mut d = draft();
        d.to = (0..40)
            .map(|i| mb(&format!("Person Number {i} <person{i}@example.com>")))
            .collect();
        d.subject = Some("A fairly long subject line that will certainly need folding ".repeat(5));
        d.headers.push(("X-Token".to_string(), "t".repeat(2000)));
        d.headers
            .push(("X-Japanese".to_string(), "日本語".repeat(60)));
        let out = render(&compose(&d, &stamp()).expect("compose"));
        let p = parse(&out);
        assert_eq!(p.to().expect("to").iter().count(), 40);
        assert_eq!(
            p.subject().map(str::trim),
            d.subject.as_deref().map(str::trim)
        );
        assert_eq!(text_header(&p, "X-Token"), Some("t".repeat(2000)));
        assert_eq!(text_header(&p, "X-Japanese"), Some("日本語".repeat(60)));
    }

    #[test]
    fn attachments_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let binary = pseudo_random(100_003, 7);
        let utf8 = "naïve résumé\nligne 2\n".repeat(50).into_bytes();
        let latin1 = b"caf\xe9 cr\xe8me\n".to_vec();
        let ascii = b"plain ascii\n".to_vec();
        let jp_name = format!(
            "{}.txt",
            "日本語のファイル名"
                .repeat(23)
                .chars()
                .take(200)
                .collect::<String>()
        );
        assert_eq!(jp_name.chars().count(), 204);
        let atts = vec![
            file(dir.path(), "data.bin", &binary),
            file(dir.path(), "naïve résumé.txt", &utf8),
            file(dir.path(), "latin1.txt", &latin1),
            file(dir.path(), "notes.txt", &ascii),
            file(dir.path(), "empty.pdf", b""),
            // Too long for a file system: given as --name.
            Attachment::new(
                &file(dir.path(), "jp.txt", &utf8).path,
                None,
                Some(&jp_name),
            )
            .expect("attach"),
            file(dir.path(), "with \"quotes\" and spaces.bin", &binary[..10]),
        ];
        let contents: Vec<&[u8]> = vec![&binary, &utf8, &latin1, &ascii, b"", &utf8, &binary[..10]];
        let mut d = draft();
        d.attachments = atts.clone();
        let m = compose(&d, &stamp()).expect("compose");
        let out = render(&m);
        let text = String::from_utf8_lossy(&out);
        assert!(out.is_ascii());
        assert!(text.contains("Content-Type: multipart/mixed;"));
        assert!(text.contains(&format!("\r\n\r\n{PREAMBLE}\r\n--{}\r\n", stamp().boundary)));
        assert!(text.ends_with(&format!("\r\n--{}--\r\n", stamp().boundary)));
        assert!(text.contains(
            "Content-Type: text/plain; charset=utf-8;\r\n name*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.txt\r\n"
        ));
        assert!(text.contains("filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.txt"));
        assert!(text.contains("filename*0*=UTF-8''%E6%97%A5"));
        assert!(text.contains("Content-Type: text/plain; charset=unknown-8bit; name=latin1.txt"));
        assert!(text.contains("Content-Type: text/plain; charset=us-ascii; name=notes.txt"));
        assert!(text.contains("Content-Disposition: attachment; filename=empty.pdf"));
        assert!(text.contains("filename=\"with \\\"quotes\\\" and spaces.bin\""));
        // The boundary occurs only as delimiters.
        let delimiters = text.matches(&format!("--{}", stamp().boundary)).count();
        assert_eq!(delimiters, atts.len() + 2);
        assert_eq!(text.matches(&stamp().boundary).count(), delimiters + 1);

        let p = parse(&out);
        assert_eq!(
            p.body_text(0).as_deref(),
            Some("Hello,\r\nthis is the body.\r\n")
        );
        let parsed: Vec<_> = p.attachments().collect();
        assert_eq!(parsed.len(), atts.len());
        for ((part, att), want) in parsed.iter().zip(&atts).zip(&contents) {
            assert_eq!(part.attachment_name(), Some(att.name.as_str()));
            if att.name == "latin1.txt" {
                // mail-parser converts text; check the raw base64 instead.
                continue;
            }
            assert_eq!(sha(part.contents()), sha(want), "{}", att.name);
        }
        // Raw decode of every base64 part.
        let decoded = decode_parts(&text, &stamp().boundary);
        assert_eq!(decoded.len(), atts.len());
        for (got, want) in decoded.iter().zip(&contents) {
            assert_eq!(sha(got), sha(want));
        }

        let parts = m.parts();
        assert_eq!(parts.len(), atts.len() + 1);
        assert_eq!(parts[1].content_type, "application/octet-stream");
        assert_eq!(parts[2].content_type, "text/plain; charset=utf-8");
        assert_eq!(parts[3].content_type, "text/plain; charset=unknown-8bit");
        assert_eq!(parts[4].content_type, "text/plain; charset=us-ascii");
        assert_eq!(parts[5].content_type, "application/pdf");
        assert_eq!(parts[1].raw_size, binary.len() as u64);
        assert_eq!(
            parts[1].encoded_size,
            base64_encoded_len(binary.len() as u64)
        );
        assert_eq!(parts[5].encoded_size, 0);
        assert_eq!(parts[6].name.as_deref(), Some(jp_name.as_str()));
    }

    /// The decoded bodies of the base64 parts, split by hand.
    fn decode_parts(text: &str, boundary: &str) -> Vec<Vec<u8>> {
        use base64::Engine as _;
        let delim = format!("\r\n--{boundary}");
        text.split(&delim)
            .filter(|p| p.contains("Content-Transfer-Encoding: base64"))
            .map(|p| {
                let body = p.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
                let joined: String = body.split("\r\n").collect();
                base64::engine::general_purpose::STANDARD
                    .decode(joined)
                    .expect("base64")
            })
            .collect()
    }

    #[test]
    fn utf8_split_across_chunks_is_utf8() {
        let dir = tempfile::tempdir().expect("tempdir");
        // 'é' (2 bytes) and '日' (3 bytes) straddling the 64 KiB read size.
        for pad in [65_535usize, 65_534, 65_533] {
            let mut content = vec![b'a'; pad];
            content.extend("é日€".repeat(10).as_bytes());
            let att = file(dir.path(), "t.txt", &content);
            let mut d = draft();
            d.attachments = vec![att];
            let m = compose(&d, &stamp()).expect("compose");
            assert_eq!(
                m.parts()[1].content_type,
                "text/plain; charset=utf-8",
                "pad {pad}"
            );
        }
        // Truncated sequence at the end: not UTF-8.
        let att = file(dir.path(), "u.txt", b"abc\xe6\x97");
        let mut d = draft();
        d.attachments = vec![att];
        assert_eq!(
            compose(&d, &stamp()).expect("compose").parts()[1].content_type,
            "text/plain; charset=unknown-8bit"
        );
    }

    #[test]
    fn boundary_collision_avoided() {
        let s = stamp();
        let dir = tempfile::tempdir().expect("tempdir");
        let mut d = draft();
        let rest = s.boundary.trim_start_matches("=_");
        d.body = format!("look: --{}\n--=_1.{rest}\n", s.boundary);
        d.attachments = vec![file(dir.path(), "a.bin", b"abc")];
        let m = compose(&d, &s).expect("compose");
        let out = render(&m);
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("7bit"));
        let chosen = format!("=_2.{rest}");
        assert!(text.contains(&format!("boundary=\"{chosen}\"")));
        let p = parse(&out);
        assert_eq!(
            p.body_text(0).as_deref(),
            Some(normalize_newlines(&d.body).as_str())
        );
        assert_eq!(
            p.attachments().next().map(|a| a.contents().to_vec()),
            Some(b"abc".to_vec())
        );
        // Deterministic for the same draft and stamp.
        assert_eq!(render(&compose(&d, &s).expect("compose")), out);
    }

    #[test]
    fn deterministic_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut d = draft();
        d.attachments = vec![file(dir.path(), "r.bin", &pseudo_random(5000, 3))];
        let a = render(&compose(&d, &stamp()).expect("compose"));
        let b = render(&compose(&d, &stamp()).expect("compose"));
        assert_eq!(a, b);
        let m = compose(&d, &stamp()).expect("compose");
        assert_eq!(render(&m), render(&m));
    }

    #[test]
    fn file_changes_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let content = pseudo_random(200_000, 11);
        let att = file(dir.path(), "grow.bin", &content);
        let mut d = draft();
        d.attachments = vec![att.clone()];
        let m = compose(&d, &stamp()).expect("compose");

        // Grows after compose.
        let mut bigger = content.clone();
        bigger.extend_from_slice(b"more");
        std::fs::write(&att.path, &bigger).expect("write");
        let mut out = Vec::new();
        match m.write_to(&mut out) {
            Err(MimeError::FileChanged {
                expected, actual, ..
            }) => {
                assert_eq!(expected, 200_000);
                assert_eq!(actual, 200_004);
            }
            other => panic!("{other:?}"),
        }
        assert!(!String::from_utf8_lossy(&out).contains(&format!("--{}--", stamp().boundary)));

        // Shrinks after compose.
        std::fs::write(&att.path, &content[..1000]).expect("write");
        let mut out = Vec::new();
        let e = m.write_to(&mut out).expect_err("shrunk");
        assert!(
            matches!(
                e,
                MimeError::FileChanged {
                    expected: 200_000,
                    actual: 1000,
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(!String::from_utf8_lossy(&out).contains(&format!("--{}--", stamp().boundary)));
        let msg = e.to_string();
        assert!(
            msg.contains("grow.bin changed size since it was attached (200000 → 1000 bytes)"),
            "{msg}"
        );
        assert!(m.preview().is_err());

        // Changed before compose.
        assert!(matches!(
            compose(&d, &stamp()),
            Err(MimeError::FileChanged { .. })
        ));
        // Replaced by a directory, then removed.
        std::fs::remove_file(&att.path).expect("rm");
        assert!(matches!(compose(&d, &stamp()), Err(MimeError::File { .. })));
        std::fs::create_dir(&att.path).expect("mkdir");
        assert!(matches!(
            compose(&d, &stamp()),
            Err(MimeError::NotAFile {
                kind: "a directory",
                ..
            })
        ));
    }

    /// Records every write's size.
    struct Recorder {
        total: u64,
        largest: usize,
        writes: usize,
        hash: Sha256,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.total += buf.len() as u64;
            self.largest = self.largest.max(buf.len());
            self.writes += 1;
            self.hash.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn large_attachment_streams_in_chunks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let content = pseudo_random(5 * 1024 * 1024, 5);
        let mut d = draft();
        d.attachments = vec![file(dir.path(), "big.bin", &content)];
        let m = compose(&d, &stamp()).expect("compose");
        let mut rec = Recorder {
            total: 0,
            largest: 0,
            writes: 0,
            hash: Sha256::new(),
        };
        let n = m.write_to(&mut rec).expect("write");
        assert_eq!(n, rec.total);
        assert_eq!(n, m.size());
        assert_eq!(rec.largest, CHUNK / 57 * 78, "one write per 57 KiB chunk");
        assert!(rec.largest <= 90 * 1024);
        assert!(rec.writes >= (5 * 1024 * 1024) / CHUNK);
        // Same bytes as written to memory, and they decode to the input.
        let mut out = Vec::new();
        m.write_to(&mut out).expect("write");
        assert_eq!(rec.hash.finalize().to_vec(), sha(&out));
        let p = parse(&out);
        let part = p.attachments().next().expect("attachment");
        assert_eq!(sha(part.contents()), sha(&content));
    }

    /// Fails after `limit` bytes.
    struct Failing {
        limit: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.limit {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "gone"));
            }
            self.limit -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_errors_reported() {
        let m = compose(&draft(), &stamp()).expect("compose");
        let e = m.write_to(&mut Failing { limit: 10 }).expect_err("fails");
        assert!(matches!(e, MimeError::Write(_)));
        assert!(
            e.to_string().starts_with("cannot write the message: "),
            "{e}"
        );
    }

    #[test]
    fn preview_shortens_attachments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = pseudo_random(3 * 1024 * 1024, 9);
        let mut d = draft();
        d.attachments = vec![
            file(dir.path(), "big.bin", &big),
            file(dir.path(), "small.txt", b"tiny\n"),
        ];
        let m = compose(&d, &stamp()).expect("compose");
        let pv = m.preview().expect("preview");
        assert!(!pv.contains('\r'));
        assert!(pv.starts_with("Date: Thu, 26 Nov 2026 14:31:10 +0000\n"));
        assert!(pv.contains("\nHello,\nthis is the body.\n"));
        let lines = big.len().div_ceil(57);
        let marker = format!(
            "[... {} more lines, 3145728 bytes before encoding ...]",
            lines - 2
        );
        assert_eq!(
            marker,
            "[... 55187 more lines, 3145728 bytes before encoding ...]"
        );
        assert!(pv.contains(&marker), "{pv}");
        // First and last base64 lines of the big file, as written.
        let out = render(&m);
        let text = String::from_utf8_lossy(&out).replace("\r\n", "\n");
        let body = text
            .split("Content-Transfer-Encoding: base64\n\n")
            .nth(1)
            .expect("part");
        let all: Vec<&str> = body.split('\n').take(lines).collect();
        assert!(pv.contains(&format!(
            "base64\n\n{}\n{marker}\n{}\n\n--",
            all[0],
            all[lines - 1]
        )));
        // The small file in full, then the closing boundary.
        let closing = format!("\n\ndGlueQo=\n\n--{}--\n", stamp().boundary);
        assert!(pv.ends_with(&closing), "{pv}");

        // Without attachments: the whole message.
        let m = compose(&draft(), &stamp()).expect("compose");
        let whole = String::from_utf8_lossy(&render(&m)).replace("\r\n", "\n");
        assert_eq!(m.preview().expect("preview"), whole);
    }

    #[test]
    fn error_messages() {
        let e = MimeError::FileChanged {
            path: PathBuf::from("report.pdf"),
            expected: 1200,
            actual: 1300,
        };
        assert_eq!(
            e.to_string(),
            "report.pdf changed size since it was attached (1200 → 1300 bytes); attach it again (detach it, then \
             attach report.pdf)"
        );
        let e = MimeError::File {
            path: PathBuf::from("/tmp/x.pdf"),
            source: io::Error::from_raw_os_error(2),
        };
        assert_eq!(
            e.to_string(),
            "cannot read /tmp/x.pdf: No such file or directory (os error 2) — check the path"
        );
        let e = MimeError::NotAFile {
            path: PathBuf::from("/tmp"),
            kind: "a directory",
        };
        assert_eq!(
            e.to_string(),
            "/tmp is a directory, not a file — attach files one by one"
        );
        let e = MimeError::NotAFile {
            path: PathBuf::from("/dev/null"),
            kind: "a character device",
        };
        assert!(
            e.to_string()
                .contains("is a character device, not a regular file")
        );
        assert!(
            MimeError::BadContentType("x".into())
                .to_string()
                .contains("type/subtype")
        );
        assert!(
            MimeError::ControlCharacter {
                what: "the header value"
            }
            .to_string()
            .starts_with("the header value")
        );
    }

    #[test]
    fn sizes_match_for_many_shapes() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in [
            0usize,
            1,
            2,
            3,
            56,
            57,
            58,
            171,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK,
        ] {
            let mut d = draft();
            d.body = "é".repeat(n % 300);
            d.attachments = vec![file(
                dir.path(),
                &format!("f{n}.bin"),
                &pseudo_random(n, n as u64),
            )];
            let m = compose(&d, &stamp()).expect("compose");
            let out = render(&m);
            let decoded = decode_parts(&String::from_utf8_lossy(&out), &stamp().boundary);
            assert_eq!(decoded[0], pseudo_random(n, n as u64), "n={n}");
            m.preview().expect("preview");
        }
    }
}
