//! Reading the sandbox's Maildir back: a summary line per message, one
//! message as a tree of MIME parts (parsed with `mail-parser`), the
//! decoded attachments with safe file names, whether an attachment equals
//! a file, and emptying the Maildir. [`json`] gives the same as JSON.
//!
//! Digests and saved files are of the content after undoing the
//! Content-Transfer-Encoding only (base64, quoted-printable), never after a
//! charset conversion, so they equal the bytes of the file that was
//! attached. Nothing here needs a running sandbox: it reads files.

mod clear;
pub mod json;

pub use clear::{Cleared, TMP_GRACE, clear};

use super::maildir::{Entry, Maildir};
use crate::text::{Style, escape_as};
use base64::Engine as _;
use mail_parser::{Address, Header, Message, MessageParser, MessagePart, MimeHeaders, PartType};
use sha2::{Digest, Sha256};
use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// How much of a file is read to list its headers.
const HEAD_LIMIT: u64 = 256 * 1024;

/// Why the inbox could not answer.
#[derive(Debug)]
pub enum InboxError {
    /// The Maildir holds no message.
    Empty {
        /// The Maildir.
        maildir: PathBuf,
    },
    /// There is no message number `n`.
    NoSuchMessage {
        /// The number asked for.
        n: usize,
        /// How many there are.
        count: usize,
    },
    /// The directory is not a Maildir (it has neither `new/` nor `cur/`).
    NotMaildir {
        /// The directory.
        maildir: PathBuf,
    },
    /// Reading failed.
    Io {
        /// What was read.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
}

impl fmt::Display for InboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InboxError::Empty { maildir } => {
                write!(f, "the sandbox inbox is empty ({})", maildir.display())
            }
            InboxError::NoSuchMessage { n, count } => write!(
                f,
                "there is no message {n} in the sandbox inbox (it holds {count}: 1 to {count})"
            ),
            InboxError::NotMaildir { maildir } => write!(
                f,
                "{} is not a Maildir (it has no new/ or cur/)",
                maildir.display()
            ),
            InboxError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for InboxError {}

/// One message in the list.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Its number, from 1, oldest first.
    pub number: usize,
    /// The file.
    pub entry: Entry,
    /// The From header (addresses), or the envelope sender.
    pub from: String,
    /// The To header (addresses), or the envelope recipients.
    pub to: String,
    /// The Subject, decoded.
    pub subject: String,
    /// The envelope the sandbox wrote above the message.
    pub envelope: Envelope,
}

/// The envelope of a stored message: the `Return-Path:` and
/// `X-Envelope-...:` headers the sandbox writes at the top of each message
/// (with its `Received:`), before the client's own headers. Only that
/// leading block counts, and only the first of each name in it, so a
/// client's own `X-Envelope-To:` further down is never taken for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Envelope {
    /// MAIL FROM (from `Return-Path: <...>`; empty for the null sender
    /// `<>`); `None` without a `Return-Path:`.
    pub sender: Option<String>,
    /// RCPT TO, in order (from `X-Envelope-To:`).
    pub recipients: Vec<String>,
    /// The parameters written after a recipient (DSN's `NOTIFY=...
    /// ORCPT=...`): (address, parameters as written), for those that have any.
    pub recipient_params: Vec<(String, String)>,
    /// Every envelope header as written (value unfolded), in order.
    pub headers: Vec<(String, String)>,
}

impl Envelope {
    /// The envelope headers other than `Return-Path:` and `X-Envelope-To:`
    /// (`X-Envelope-DSN:`, and any the sandbox may write later).
    pub fn extra(&self) -> impl Iterator<Item = &(String, String)> {
        self.headers.iter().filter(|(n, _)| {
            !n.eq_ignore_ascii_case("return-path") && !n.eq_ignore_ascii_case("x-envelope-to")
        })
    }
}

/// The envelope block at the top of `msg` (see [`Envelope`]).
pub fn envelope_of(msg: &Message<'_>) -> Envelope {
    let mut env = Envelope::default();
    let mut seen: Vec<String> = Vec::new();
    for h in msg.headers() {
        let name = h.name.as_str();
        let lower = name.to_ascii_lowercase();
        let is_envelope = lower == "return-path" || lower.starts_with("x-envelope-");
        if !is_envelope && lower != "received" {
            break;
        }
        if !is_envelope || seen.contains(&lower) {
            continue;
        }
        let value = written_value(msg, h);
        match lower.as_str() {
            "return-path" => env.sender = Some(strip_angle(&value).to_string()),
            "x-envelope-to" => {
                for (address, params) in recipient_items(&value) {
                    if !params.is_empty() {
                        env.recipient_params.push((address.clone(), params));
                    }
                    env.recipients.push(address);
                }
            }
            _ => {}
        }
        env.headers.push((name.to_string(), value));
        seen.push(lower);
    }
    env
}

/// The value of header `h` of `msg` as written, unfolded.
fn written_value(msg: &Message<'_>, h: &Header<'_>) -> String {
    msg.raw_message()
        .get(h.offset_start as usize..h.offset_end as usize)
        .map(|v| unfold(&String::from_utf8_lossy(v)))
        .unwrap_or_default()
}

/// `<a@b>` → `a@b` (trimmed); anything else as it is.
fn strip_angle(v: &str) -> &str {
    let v = v.trim();
    v.strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .unwrap_or(v)
}

/// The items of an `X-Envelope-To:` value, `<a@b> NOTIFY=SUCCESS,FAILURE,
/// <c@d>`: (address, parameters). An item starts with `<`; a comma ends
/// one only when the next starts after it (or nothing follows), so the
/// commas in `NOTIFY=` and inside quotes or brackets never split. A list
/// without any `<` is split at every comma.
fn recipient_items(v: &str) -> Vec<(String, String)> {
    let bracketed = v.contains('<');
    let mut items = Vec::new();
    let (mut start, mut quoted, mut depth) = (0usize, false, 0usize);
    for (i, c) in v.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                let next = v.get(i + 1..).unwrap_or("").trim_start();
                if !bracketed || next.is_empty() || next.starts_with('<') {
                    items.push(v.get(start..i).unwrap_or(""));
                    start = i + 1;
                }
            }
            _ => {}
        }
    }
    items.push(v.get(start..).unwrap_or(""));
    items
        .into_iter()
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(split_item)
        .collect()
}

/// `<a@b> PARAMS` → (`a@b`, `PARAMS`); an item without `<` is all address.
fn split_item(item: &str) -> (String, String) {
    let Some(inner) = item.strip_prefix('<') else {
        return (item.to_string(), String::new());
    };
    let mut quoted = false;
    for (i, c) in inner.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '>' if !quoted => {
                let address = inner.get(..i).unwrap_or(inner);
                let params = inner.get(i + 1..).unwrap_or("").trim();
                return (address.to_string(), params.to_string());
            }
            _ => {}
        }
    }
    (inner.to_string(), String::new())
}

/// From, To and Subject as the list gives them: the From header's
/// addresses (else the envelope sender), the To header's (else the
/// envelope recipients), the decoded Subject — as written (`--json` gives
/// them exactly; the table makes them printable when it shows them).
fn from_to_subject(m: &Message<'_>, envelope: &Envelope) -> (String, String, String) {
    (
        m.from()
            .map(short_addresses)
            .or_else(|| envelope.sender.clone())
            .unwrap_or_default(),
        m.to()
            .map(short_addresses)
            .unwrap_or_else(|| envelope.recipients.join(", ")),
        m.subject().unwrap_or("").to_string(),
    )
}

/// Whether `dir` is a Maildir: it has `new/` or `cur/`.
pub fn is_maildir(dir: &Path) -> bool {
    dir.join("new").is_dir() || dir.join("cur").is_dir()
}

/// The messages of `maildir`, numbered from 1, oldest first.
pub fn list(maildir: &Path) -> Result<Vec<Summary>, InboxError> {
    let io_err = |source| InboxError::Io {
        path: maildir.to_path_buf(),
        source,
    };
    let entries = Maildir::open(maildir).list().map_err(io_err)?;
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let mut head = Vec::new();
        let read =
            fs::File::open(&entry.path).and_then(|f| f.take(HEAD_LIMIT).read_to_end(&mut head));
        if let Err(source) = read {
            return Err(InboxError::Io {
                path: entry.path,
                source,
            });
        }
        let end = find(&head, b"\r\n\r\n").map_or(head.len(), |i| i + 4);
        head.truncate(end);
        let ((from, to, subject), envelope) =
            match MessageParser::default().parse_headers(&head[..]) {
                Some(m) => {
                    let envelope = envelope_of(&m);
                    (from_to_subject(&m, &envelope), envelope)
                }
                None => Default::default(),
            };
        out.push(Summary {
            number: i + 1,
            entry,
            from,
            to,
            subject,
            envelope,
        });
    }
    Ok(out)
}

/// Message `n` (from 1): its entry and stored bytes.
pub fn load(maildir: &Path, n: usize) -> Result<(Entry, Vec<u8>), InboxError> {
    let entries = Maildir::open(maildir)
        .list()
        .map_err(|source| InboxError::Io {
            path: maildir.to_path_buf(),
            source,
        })?;
    if entries.is_empty() {
        return Err(InboxError::Empty {
            maildir: maildir.to_path_buf(),
        });
    }
    let count = entries.len();
    let Some(entry) = n.checked_sub(1).and_then(|i| entries.into_iter().nth(i)) else {
        return Err(InboxError::NoSuchMessage { n, count });
    };
    let bytes = fs::read(&entry.path).map_err(|source| InboxError::Io {
        path: entry.path.clone(),
        source,
    })?;
    Ok((entry, bytes))
}

/// One MIME part and what it holds.
#[derive(Debug, Clone)]
pub struct Part {
    /// `type/subtype` alone, lower case.
    pub mime_type: String,
    /// The Content-Type's `charset`, as written.
    pub charset: Option<String>,
    /// The Content-Disposition's type (`inline`, `attachment`), lower case.
    pub disposition: Option<String>,
    /// The Content-Transfer-Encoding (`7bit` when absent).
    pub encoding: String,
    /// The file name (Content-Disposition `filename`, else Content-Type `name`).
    pub filename: Option<String>,
    /// Disposition `attachment`, or a part with a file name.
    pub attachment: bool,
    /// The content after undoing the transfer encoding (empty for multiparts).
    pub content: Vec<u8>,
    /// The transfer encoding could not be undone; `content` is as stored.
    pub undecodable: bool,
    /// Sub-parts (multipart/*, message/rfc822).
    pub children: Vec<Part>,
}

impl Part {
    /// Lower-case hex SHA-256 of [`Part::content`].
    pub fn sha256(&self) -> String {
        hex(&Sha256::digest(&self.content))
    }
    /// `type/subtype`, plus `; charset=...` when given.
    pub fn content_type(&self) -> String {
        match &self.charset {
            Some(cs) => format!("{}; charset={cs}", self.mime_type),
            None => self.mime_type.clone(),
        }
    }
    /// Whether this part holds other parts rather than content.
    pub fn is_container(&self) -> bool {
        !self.children.is_empty() || self.mime_type.starts_with("multipart/")
    }
    /// Whether this part is an attachment: not a container, and marked
    /// `attachment` or with a file name.
    pub fn is_attachment(&self) -> bool {
        self.attachment && !self.is_container()
    }
    /// Every part, depth first.
    pub fn walk(&self) -> Vec<&Part> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }
    /// Every part, depth first, with its path: the root is `1`, the
    /// children of part `P` are `P.1`, `P.2`, ... (a message/rfc822 part's
    /// one child is the message inside it).
    pub fn numbered(&self) -> Vec<(String, &Part)> {
        let mut out = Vec::new();
        self.number_into("1".to_string(), &mut out);
        out
    }
    fn number_into<'a>(&'a self, path: String, out: &mut Vec<(String, &'a Part)>) {
        out.push((path.clone(), self));
        for (i, c) in self.children.iter().enumerate() {
            c.number_into(format!("{path}.{}", i + 1), out);
        }
    }
    /// The attachments, with their paths: every part that is not a
    /// container and is marked `attachment` or has a file name.
    pub fn attachments(&self) -> Vec<(String, &Part)> {
        self.numbered()
            .into_iter()
            .filter(|(_, p)| p.is_attachment())
            .collect()
    }
}

/// A parsed message: the headers people look at, and the part tree.
#[derive(Debug, Clone)]
pub struct Detail {
    /// (name, value) for From, To, Cc, Subject, Date, Message-ID — those present.
    pub headers: Vec<(&'static str, String)>,
    /// The envelope, as stored by the sandbox.
    pub envelope: Envelope,
    /// The root part.
    pub root: Part,
}

/// Parses stored message bytes. `None` if mail-parser finds no message.
pub fn inspect(raw: &[u8]) -> Option<Detail> {
    let msg = MessageParser::default().parse(raw)?;
    let mut headers = Vec::new();
    let mut add = |name: &'static str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            headers.push((name, v));
        }
    };
    add("From", msg.from().map(full_addresses));
    add("To", msg.to().map(full_addresses));
    add("Cc", msg.cc().map(full_addresses));
    add("Subject", msg.subject().map(str::to_string));
    add("Date", msg.header_raw("Date").map(|d| d.trim().to_string()));
    add("Message-ID", msg.message_id().map(|id| format!("<{id}>")));
    let envelope = envelope_of(&msg);
    let root = part_tree(&msg, 0, 0)?;
    Some(Detail {
        headers,
        envelope,
        root,
    })
}

/// The tree below part `id` of `msg`.
fn part_tree(msg: &Message<'_>, id: u32, depth: usize) -> Option<Part> {
    let part = msg.parts.get(id as usize)?;
    let raw = msg.raw_message();
    let (mime_type, charset) = part.content_type().map_or_else(
        || ("text/plain".to_string(), None),
        |ct| {
            let t = match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            }
            .to_ascii_lowercase();
            (t, ct.attribute("charset").map(str::to_string))
        },
    );
    let disposition = part
        .content_disposition()
        .map(|cd| cd.ctype().to_ascii_lowercase());
    let encoding = part
        .content_transfer_encoding()
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let filename = part.attachment_name().map(str::to_string);
    let disposition_attachment = disposition.as_deref() == Some("attachment");
    let mut children = Vec::new();
    let (content, undecodable) = match &part.body {
        PartType::Multipart(ids) => {
            if depth < 32 {
                for &sub in ids {
                    if let Some(p) = part_tree(msg, sub, depth + 1) {
                        children.push(p);
                    }
                }
            }
            (Vec::new(), false)
        }
        PartType::Message(inner) => {
            if depth < 32
                && let Some(p) = part_tree(inner, 0, depth + 1)
            {
                children.push(p);
            }
            decode(raw, part, &encoding)
        }
        _ => decode(raw, part, &encoding),
    };
    Some(Part {
        attachment: disposition_attachment || (filename.is_some() && !part.is_multipart()),
        mime_type,
        charset,
        disposition,
        encoding,
        filename,
        content,
        undecodable,
        children,
    })
}

/// Undoes the transfer encoding of `part`'s body in `raw`.
fn decode(raw: &[u8], part: &MessagePart<'_>, encoding: &str) -> (Vec<u8>, bool) {
    let body = raw
        .get(part.offset_body as usize..part.offset_end as usize)
        .unwrap_or_default();
    match encoding {
        "base64" => {
            let clean: Vec<u8> = body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let engine = base64::engine::GeneralPurpose::new(
                &base64::alphabet::STANDARD,
                base64::engine::GeneralPurposeConfig::new()
                    .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                    .with_decode_allow_trailing_bits(true),
            );
            match engine.decode(&clean) {
                Ok(v) => (v, false),
                Err(_) => (body.to_vec(), true),
            }
        }
        "quoted-printable" => {
            match mail_parser::decoders::quoted_printable::quoted_printable_decode(body) {
                Some(v) => (v, false),
                None => (body.to_vec(), true),
            }
        }
        _ => (body.to_vec(), false),
    }
}

/// How many hex digits of a SHA-256 the tree shows unless asked for all.
pub const SHORT_DIGEST: usize = 12;

/// One line of the MIME tree: the drawing before the part, the drawing
/// that lines continuing it start with (when it is wrapped), and what is
/// said of the part (`type`, `encoding`, `size`, `"name"`, `sha256 HEX`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLine {
    /// `   ├─ `.
    pub branch: String,
    /// `   │  │  `: the tree carried on under the part.
    pub below: String,
    /// The fields, shown two spaces apart.
    pub fields: Vec<String>,
}

impl TreeLine {
    /// The line whole, unwrapped.
    pub fn joined(&self) -> String {
        format!("{}{}", self.branch, self.fields.join("  "))
    }
}

/// The tree as lines: `└─ type  encoding  size  "name"  sha256 HEX`, the
/// digests shortened to [`SHORT_DIGEST`] hex digits unless `full_digests`.
pub fn render_tree(root: &Part, full_digests: bool) -> Vec<TreeLine> {
    let mut out = Vec::new();
    render(root, "", true, full_digests, &mut out);
    out
}

fn render(p: &Part, prefix: &str, last: bool, full: bool, out: &mut Vec<TreeLine>) {
    let branch = if last { "└─ " } else { "├─ " };
    let mut fields = vec![p.content_type()];
    if p.is_container() && p.content.is_empty() {
        fields.push(format!(
            "({} part{})",
            p.children.len(),
            plural(p.children.len())
        ));
    } else {
        fields.push(p.encoding.clone());
        fields.push(format!(
            "{} byte{}",
            p.content.len(),
            plural(p.content.len())
        ));
        if let Some(name) = &p.filename {
            fields.push(format!("\"{}\"", printable(name)));
        }
        if p.attachment {
            fields.push("attachment".into());
        }
        let digest = p.sha256();
        let shown = if full {
            &digest[..]
        } else {
            digest.get(..SHORT_DIGEST).unwrap_or(&digest)
        };
        fields.push(format!("sha256 {shown}"));
        if p.undecodable {
            fields.push(format!("(bad {} — digest of the stored text)", p.encoding));
        }
    }
    let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
    let down = if p.children.is_empty() { " " } else { "│" };
    out.push(TreeLine {
        branch: format!("{prefix}{branch}"),
        below: format!("{child_prefix}{down}  "),
        fields,
    });
    let child_prefix = format!("{prefix}{}", if last { "   " } else { "│  " });
    for (i, c) in p.children.iter().enumerate() {
        render(c, &child_prefix, i + 1 == p.children.len(), full, out);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A file written by [`save_attachments`].
#[derive(Debug, Clone)]
pub struct Saved {
    /// Where it was written.
    pub path: PathBuf,
    /// The name in the message, if any.
    pub original: Option<String>,
    /// Bytes written.
    pub size: usize,
    /// SHA-256 of the bytes.
    pub sha256: String,
}

/// Writes every attachment of `root` into `dir` (created if missing) under
/// a safe name, never overwriting: `name.ext`, then `name-1.ext`, ...
pub fn save_attachments(root: &Part, dir: &Path) -> io::Result<Vec<Saved>> {
    fs::create_dir_all(dir)?;
    let mut saved = Vec::new();
    for (i, (_, p)) in root.attachments().into_iter().enumerate() {
        let fallback = format!("attachment-{}.bin", i + 1);
        let name = safe_file_name(p.filename.as_deref().unwrap_or(""), &fallback);
        let (mut file, path) = create_unique(dir, &name)?;
        file.write_all(&p.content)?;
        file.sync_all()?;
        saved.push(Saved {
            path,
            original: p.filename.clone(),
            size: p.content.len(),
            sha256: p.sha256(),
        });
    }
    Ok(saved)
}

/// The size and SHA-256 (lower-case hex) of the file at `path`, read in
/// chunks (any size, little memory).
pub fn file_digest(path: &Path) -> io::Result<(u64, String)> {
    let mut file = fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex(&hasher.finalize())))
}

/// The first attachment of `root` (see [`Part::attachments`]) whose
/// decoded content has this size and SHA-256, with its path.
pub fn matching_attachment<'a>(
    root: &'a Part,
    size: u64,
    sha256: &str,
) -> Option<(String, &'a Part)> {
    root.attachments()
        .into_iter()
        .find(|(_, p)| p.content.len() as u64 == size && p.sha256().eq_ignore_ascii_case(sha256))
}

/// Creates `dir/name` exclusively (never following or replacing an existing
/// file), adding `-1`, `-2`, ... before the extension when it exists.
fn create_unique(dir: &Path, name: &str) -> io::Result<(fs::File, PathBuf)> {
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    for n in 0..10_000 {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            format!("{stem}-{n}{ext}")
        };
        let path = dir.join(&candidate);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("too many files named like {name}"),
    ))
}

/// A file name safe to create in a directory: the last component of
/// `name` (no `/` or `\`), without control characters, leading dots or
/// surrounding spaces, at most 200 bytes (keeping the extension);
/// `fallback` when nothing usable is left.
pub fn safe_file_name(name: &str, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    if trimmed.is_empty() {
        return fallback.to_string();
    }
    const MAX: usize = 200;
    if trimmed.len() <= MAX {
        return trimmed.to_string();
    }
    let ext = trimmed
        .rfind('.')
        .map(|i| &trimmed[i..])
        .filter(|e| e.len() <= 16)
        .unwrap_or("");
    let mut cut = MAX - ext.len();
    while !trimmed.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &trimmed[..cut])
}

/// Header text for display: control and bidirectional characters become
/// U+FFFD (the shared escape's [`Style::Replace`]).
pub fn printable(s: &str) -> String {
    escape_as(s.as_bytes(), Style::Replace)
}

fn full_addresses(a: &Address<'_>) -> String {
    printable(&addresses_text(a))
}

/// `Name <addr>, addr, ...` as the header says, decoded.
fn addresses_text(a: &Address<'_>) -> String {
    let list: Vec<String> = a
        .iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(n), Some(ad)) => format!("{n} <{ad}>"),
            (None, Some(ad)) => ad.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    list.join(", ")
}

fn short_addresses(a: &Address<'_>) -> String {
    let list: Vec<&str> = a
        .iter()
        .filter_map(|addr| addr.address().or(addr.name()))
        .collect();
    list.join(", ")
}

fn unfold(v: &str) -> String {
    v.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const SAMPLE: &[u8] = b"Return-Path: <a@b.org>\r\nX-Envelope-To: <x@y.org>,\r\n <z@y.org>\r\n\
From: Al <a@b.org>\r\nTo: x@y.org\r\nCc: z@y.org\r\nSubject: =?UTF-8?Q?h=C3=A9?=\r\n\
Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <id1@b.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\n\
Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
hello=\r\n w=C3=B6rld\r\n--XX\r\n\
Content-Type: text/plain; charset=unknown-8bit; name=l.txt\r\n\
Content-Disposition: attachment; filename=\"../../l.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n6ek=\r\n--XX\r\n\
Content-Type: text/plain; name=e.txt\r\nContent-Disposition: attachment; filename=e.txt\r\n\
Content-Transfer-Encoding: base64\r\n\r\n\r\n--XX\r\n\
Content-Type: application/octet-stream\r\nContent-Disposition: attachment\r\n\
Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n/w==\r\n--XX--\r\nepilogue\r\n";

    #[test]
    fn tree_has_headers_parts_and_transfer_decoded_digests() {
        let d = inspect(SAMPLE).expect("parse");
        let h: Vec<String> = d.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        assert_eq!(
            h,
            [
                "From: Al <a@b.org>",
                "To: x@y.org",
                "Cc: z@y.org",
                "Subject: hé",
                "Date: Thu, 1 Jan 2026 00:00:00 +0000",
                "Message-ID: <id1@b.org>"
            ]
        );
        assert_eq!(
            d.envelope.headers[1],
            (
                "X-Envelope-To".to_string(),
                "<x@y.org>, <z@y.org>".to_string()
            )
        );
        let parts = d.root.walk();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[0].content_type(), "multipart/mixed");
        assert_eq!(parts[1].content, "hello wörld".as_bytes());
        assert!(!parts[1].attachment);
        // Latin-1 bytes survive: no charset conversion.
        assert_eq!(parts[2].content, [0xe9, 0xe9]);
        assert_eq!(parts[2].filename.as_deref(), Some("../../l.txt"));
        assert!(parts[3].content.is_empty() && parts[3].attachment);
        assert_eq!(
            parts[3].sha256(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(parts[4].content, [0, 1, 2, 0xff]);
        let lines: Vec<String> = render_tree(&d.root, true)
            .iter()
            .map(TreeLine::joined)
            .collect();
        assert_eq!(lines[0], "└─ multipart/mixed  (4 parts)");
        assert!(
            lines[1].starts_with(
                "   ├─ text/plain; charset=utf-8  quoted-printable  12 bytes  sha256 "
            )
        );
        assert!(
            lines[4].starts_with(
                "   └─ application/octet-stream  base64  4 bytes  attachment  sha256 "
            )
        );
        assert!(lines[3].ends_with(&parts[3].sha256()), "{}", lines[3]);
        let short = render_tree(&d.root, false);
        assert_eq!(
            short[3].fields.last().map(String::as_str),
            Some("sha256 e3b0c44298fc")
        );
        assert_eq!(
            (short[0].below.as_str(), short[4].below.as_str()),
            ("   │  ", "         ")
        );
    }

    #[test]
    fn single_part_and_bad_base64() {
        let d = inspect(b"Subject: s\r\n\r\nbody\r\n").expect("parse");
        assert_eq!(d.root.content, b"body\r\n");
        assert_eq!(d.root.encoding, "7bit");
        let d =
            inspect(b"Content-Transfer-Encoding: base64\r\n\r\n!!notbase64\r\n").expect("parse");
        assert!(d.root.undecodable);
    }

    #[test]
    fn attachments_are_saved_safely_without_overwriting() {
        let d = inspect(SAMPLE).expect("parse");
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let saved = save_attachments(&d.root, &out).expect("save");
        let names: Vec<String> = saved
            .iter()
            .map(|s| {
                s.path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(names, ["l.txt", "e.txt", "attachment-3.bin"]);
        assert_eq!(fs::read(out.join("l.txt")).expect("read"), [0xe9, 0xe9]);
        let again = save_attachments(&d.root, &out).expect("save again");
        assert_eq!(again[0].path, out.join("l-1.txt"));
        assert_eq!(
            fs::read(out.join("attachment-3.bin")).expect("read"),
            [0, 1, 2, 0xff]
        );
    }

    #[test]
    fn file_names_are_sanitised() {
        assert_eq!(safe_file_name("../../etc/passwd", "f"), "passwd");
        assert_eq!(safe_file_name("..", "f"), "f");
        assert_eq!(safe_file_name("C:\\x\\report.pdf", "f"), "report.pdf");
        assert_eq!(safe_file_name("a\u{0}b\r\n.txt", "f"), "ab.txt");
        assert_eq!(safe_file_name(" .hidden ", "f"), "hidden");
        assert_eq!(safe_file_name("", "f"), "f");
        let long = format!("{}.pdf", "é".repeat(300));
        let s = safe_file_name(&long, "f");
        assert!(s.len() <= 200 && s.ends_with(".pdf"));
    }

    #[test]
    fn the_list_keeps_header_text_exact_and_display_makes_it_printable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let md = Maildir::create(dir.path()).expect("create");
        md.deliver(b"Return-Path: <q@r.org>\r\nX-Envelope-To: <t@u.org>\r\nFrom: =?utf-8?q?Ann=1B[31m?=\r\n\r\nx\r\n")
            .expect("deliver");
        let l = list(dir.path()).expect("list");
        assert_eq!(l[0].from, "Ann\u{1b}[31m", "exact, for --json");
        assert_eq!(l[0].to, "t@u.org");
        assert_eq!(printable(&l[0].from), "Ann\u{fffd}[31m", "for the screen");
    }

    #[test]
    fn list_and_load_number_from_one() {
        let dir = tempfile::tempdir().expect("temp dir");
        let md = Maildir::create(dir.path()).expect("create");
        assert!(matches!(load(dir.path(), 1), Err(InboxError::Empty { .. })));
        md.deliver(SAMPLE).expect("deliver");
        md.deliver(
            b"Return-Path: <q@r.org>\r\nX-Envelope-To: <t@u.org>\r\nSubject: second\r\n\r\nx\r\n",
        )
        .expect("deliver");
        let l = list(dir.path()).expect("list");
        assert_eq!(l.len(), 2);
        assert_eq!(
            (l[0].number, l[0].from.as_str(), l[0].to.as_str()),
            (1, "a@b.org", "x@y.org")
        );
        assert_eq!(l[0].subject, "hé");
        assert_eq!(
            (l[1].from.as_str(), l[1].to.as_str()),
            ("q@r.org", "t@u.org")
        );
        assert!(matches!(
            load(dir.path(), 3),
            Err(InboxError::NoSuchMessage { n: 3, count: 2 })
        ));
        assert!(matches!(
            load(dir.path(), 0),
            Err(InboxError::NoSuchMessage { .. })
        ));
        assert_eq!(load(dir.path(), 1).expect("load").1, SAMPLE);
    }
}
