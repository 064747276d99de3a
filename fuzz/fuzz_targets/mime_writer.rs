//! Fuzz target: the MIME writer (`smtpsh::mime::compose` → `Message`).
//!
//! A `Draft` is built from the input, split into sections at 0xFF bytes
//! (0xFF never occurs in UTF-8, so sections are easy to write by hand;
//! strings are decoded lossily):
//!
//! 0. the subject (an empty section: no subject);
//! 1. the body; a line `<<HTML>>` in it starts the HTML version
//!    (`body --html`): the text is what comes before, the HTML what comes
//!    after;
//! 2. mailboxes, one a line: `F:` sender, `T:` To, `C:` Cc, `B:` Bcc, then
//!    what the user would type (`Name <addr>`, `"Quoted" <addr>`, `addr`,
//!    `<>`); parsed with `Mailbox`/`ReversePath::parse`, refused ones skipped;
//! 3. headers, one a line, `Name: value` (only those `validate_header`
//!    accepts are kept); a line starting with a space sets the stamp:
//!    ` date=SECONDS` (since 1970), ` host=NAME` (for the Message-ID),
//!    ` boundary=...`;
//! 4. (and 5., 6.) up to three attachments: a first line
//!    `NAME<TAB>TYPE<TAB>FLAGS`, then the content (every byte after that
//!    first LF). NAME becomes the file's name on disk (made usable: no `/`,
//!    no NUL), or, with flag `n`, the `--name` of a file named `attN`; TYPE
//!    is the `--type` (empty: guessed from the name); flag `x` flips the top
//!    bit of every content byte (to reach 0xFF and other high bytes); flag
//!    `i` makes it an inline part (`attach --inline`, a Content-ID).
//!    Attachments that `Attachment::new` refuses are skipped.
//!
//! Checked, on the output of `Message::write_to`:
//! - its length is `Message::size()` (and what `write_to` returned);
//! - no bare CR or LF, no line over 998 octets (checked last);
//! - `mail_parser::MessageParser::default().parse` reads it;
//! - with HTML: the HTML comes back as given (line ends made CRLF), and
//!   the inline parts come first among the attachments (they are in the
//!   multipart/related with the HTML), each with its Content-ID;
//! - every attachment is there, in order, and its content decodes to the
//!   exact input bytes (the base64 body itself, and mail-parser's decoded
//!   part: exactly for binary parts, and for text parts whose bytes are
//!   UTF-8; mail-parser can only give text lossily otherwise);
//! - the subject (or the user's own `Subject` header) decodes back to what
//!   was given, less the leading and trailing blanks that are not part of a
//!   header's value;
//! - and, beyond that: attachment names, the To display names and
//!   addresses, and the body text come back as given.

#![no_main]

mod common;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use mail_parser::{MessageParser, MimeHeaders, PartType};
use smtpsh::address::{Mailbox, ReversePath};
use smtpsh::mime::{Attachment, Draft, Stamp, compose, validate_header};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

/// Longest line allowed by RFC 5322 §2.1.1, CRLF excluded.
const MAX_LINE: usize = 998;

/// `SMTPSH_FUZZ_DUMP=1`: print each composed message (to read a crash).
fn dump() -> bool {
    static DUMP: OnceLock<bool> = OnceLock::new();
    *DUMP.get_or_init(|| std::env::var_os("SMTPSH_FUZZ_DUMP").is_some_and(|v| v == "1"))
}

/// A directory of our own for the attachment files (in /dev/shm when there
/// is one: no disk I/O per run).
fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("smtpsh-fuzz-mime-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the fuzz work directory");
        dir
    })
}

/// Removes the attachment files of one run, even when a check panics.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A name that can be a file's name: no `/` or NUL, at most 200 bytes,
/// not `.` or `..`; `fallback` when nothing is left.
fn disk_name(name: &str, fallback: &str) -> String {
    let mut s: String = name.chars().filter(|&c| c != '/' && c != '\0').collect();
    while s.len() > 200 {
        s.pop();
    }
    if s.is_empty() || s == "." || s == ".." {
        fallback.to_string()
    } else {
        s
    }
}

struct Input {
    draft: Draft,
    contents: Vec<Vec<u8>>,
    /// The Subject header's value as given (before encoding).
    subject: Option<String>,
    /// The draft's attachments in the order they are written.
    order: Vec<usize>,
}

fn build(data: &[u8], cleanup: &mut Cleanup) -> Input {
    let mut sections = data.split(|&b| b == 0xFF);
    let mut text = || String::from_utf8_lossy(sections.next().unwrap_or_default()).into_owned();
    let mut draft = Draft::default();

    // The `subject` command refuses control characters (TAB aside), and
    // whatever else `validate_header` refuses.
    let subject = text();
    if !subject.is_empty() {
        let s: String = subject
            .chars()
            .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
            .collect();
        if validate_header("Subject", &s).is_ok() {
            draft.subject = Some(s);
        }
    }
    let body = text();
    match body.split_once("<<HTML>>") {
        Some((text, html)) => {
            draft.body = text.strip_suffix('\n').unwrap_or(text).to_string();
            draft.html = Some(html.strip_prefix('\n').unwrap_or(html).to_string());
        }
        None => draft.body = body,
    }
    // The shell refuses NUL in a body (`body`, `body --html`, `edit`).
    draft.body = draft.body.replace('\0', " ");
    draft.html = draft.html.map(|h| h.replace('\0', " "));
    // A blank HTML version is none (`body --html` removes it).
    draft.html = draft.html.filter(|h| !h.trim().is_empty());

    for line in text().lines() {
        let (kind, rest) = match line.get(..2) {
            Some(k) if k.ends_with(':') && k.is_char_boundary(1) => (k.as_bytes()[0], &line[2..]),
            _ => (b'T', line),
        };
        match kind.to_ascii_uppercase() {
            b'F' => draft.from = ReversePath::parse(rest).ok(),
            b'C' => draft.cc.extend(Mailbox::parse(rest)),
            b'B' => draft.bcc.extend(Mailbox::parse(rest)),
            _ => draft.to.extend(Mailbox::parse(rest)),
        }
    }

    // The stamp as `Stamp::new` makes it (the shell never makes another),
    // at a time and on a host name from the input; its random parts
    // replaced, so that a crash reproduces. The boundary may be anything:
    // `compose` keeps only its safe characters.
    let mut secs = 1_764_167_470u64;
    let mut domain = "fuzz.example".to_string();
    let mut boundary = "=_smtpsh_0123456789abcdef0123456789abcdef".to_string();
    for line in text().lines() {
        if let Some(set) = line.strip_prefix(' ') {
            match set.split_once('=') {
                Some(("date", v)) => secs = v.trim().parse().unwrap_or(secs) % (1 << 40),
                Some(("host", v)) => domain = v.to_string(),
                Some(("boundary", v)) => boundary = v.to_string(),
                _ => {}
            }
            continue;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        if validate_header(name, value).is_ok() {
            draft.headers.push((name.to_string(), value.to_string()));
        }
    }
    let mut stamp = Stamp::new(UNIX_EPOCH + Duration::from_secs(secs), &domain);
    let host = stamp.message_id.rsplit_once('@').map_or("", |(_, h)| h);
    let host = host.trim_end_matches('>');
    stamp.message_id = format!("<{secs}.0123456789abcdef@{host}>");
    stamp.boundary = boundary;
    draft.stamp = Some(stamp);

    let mut contents = Vec::new();
    for (i, section) in sections.take(3).enumerate() {
        let (spec, content) = match section.iter().position(|&b| b == b'\n') {
            Some(nl) => (&section[..nl], &section[nl + 1..]),
            None => (section, &[][..]),
        };
        let spec = String::from_utf8_lossy(spec);
        let mut fields = spec.split('\t');
        let name = fields.next().unwrap_or_default();
        let ctype = fields.next().unwrap_or_default();
        let flags = fields.next().unwrap_or_default();
        let content: Vec<u8> = if flags.contains('x') {
            content.iter().map(|b| b ^ 0x80).collect()
        } else {
            content.to_vec()
        };
        let fallback = format!("att{i}");
        let (file, given_name) = if flags.contains('n') {
            (fallback.clone(), Some(name))
        } else {
            (disk_name(name, &fallback), None)
        };
        let dir = work_dir().join(i.to_string());
        std::fs::create_dir_all(&dir).expect("create an attachment directory");
        let path = dir.join(&file);
        if std::fs::write(&path, &content).is_err() {
            continue; // e.g. a name the file system refuses
        }
        cleanup.0.push(path.clone());
        let ctype = (!ctype.is_empty()).then_some(ctype);
        if let Ok(att) = Attachment::new(&path, ctype, given_name) {
            assert_eq!(att.size, content.len() as u64);
            let mut att = if flags.contains('i') {
                att.into_inline(&domain)
            } else {
                att
            };
            // Its random part made fixed, so that a crash reproduces.
            att.content_id = att.content_id.map(|id| match id.rsplit_once('@') {
                Some((left, right)) => {
                    let name = left.rsplit_once('.').map_or(left, |(n, _)| n);
                    format!("{name}.{i:016x}@{right}")
                }
                None => id,
            });
            draft.attachments.push(att);
            contents.push(content);
        }
    }

    // What the Subject header should decode to: the last user `Subject`
    // header (it replaces the generated one; mail-parser reads the last),
    // else the draft's subject.
    let subject = draft
        .headers
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case("subject"))
        .map(|(_, v)| v.clone())
        .or_else(|| draft.subject.clone());
    // With HTML, the inline parts are written first (in the related part),
    // then the attachments; each in the draft's order.
    let mut order: Vec<usize> = (0..draft.attachments.len()).collect();
    if draft.html.is_some() {
        order.sort_by_key(|&i| !draft.attachments[i].is_inline());
    }
    let contents = order.iter().map(|&i| contents[i].clone()).collect();
    Input {
        draft,
        contents,
        subject,
        order,
    }
}

fn check_lines(out: &[u8]) {
    if let Some(i) = common::bare_cr_or_lf(out) {
        panic!(
            "bare CR/LF at offset {i}: ...{}...",
            common::show(&out[i.saturating_sub(80)..(i + 80).min(out.len())])
        );
    }
    let mut start = 0;
    while start < out.len() {
        let end = common::find(&out[start..], b"\r\n").map_or(out.len(), |i| start + i);
        assert!(
            end - start <= MAX_LINE,
            "a line of {} octets at offset {start}: {}",
            end - start,
            common::show(&out[start..end])
        );
        start = end + 2;
    }
}

fuzz_target!(|data: &[u8]| {
    let mut cleanup = Cleanup(Vec::new());
    let input = build(data, &mut cleanup);
    let draft = &input.draft;
    let stamp = draft.stamp.as_ref().expect("stamp set");
    let message = match compose(draft, stamp) {
        Ok(m) => m,
        Err(e) => panic!("compose refused a draft the shell accepts: {e}"),
    };
    let mut out = Vec::new();
    let written = message.write_to(&mut out).expect("write to a Vec");
    assert_eq!(written, out.len() as u64, "write_to returned {written}");
    assert_eq!(
        message.size(),
        out.len() as u64,
        "size() is not the length written"
    );

    if dump() {
        eprintln!(
            "---- message ({} bytes) ----\n{}\n---- end ----",
            out.len(),
            String::from_utf8_lossy(&out)
        );
    }
    let Some(parsed) = MessageParser::default().parse(&out) else {
        panic!(
            "mail-parser cannot read:\n{}",
            String::from_utf8_lossy(&out)
        );
    };

    // mail-parser 0.11.9 reads on into the next header after a `Date`
    // whose value is not a date (e.g. `x+2c`): with a user Date header, the
    // headers after it are not compared through mail-parser.
    let user_date = draft
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("date") || n.eq_ignore_ascii_case("resent-date"));

    // Attachments: all there, in order, byte for byte.
    let parts: Vec<_> = parsed.attachments().collect();
    assert_eq!(
        parts.len(),
        input.contents.len(),
        "attachments found: {} of {}\n{}",
        parts.len(),
        input.contents.len(),
        String::from_utf8_lossy(&out)
    );
    for (i, (part, want)) in parts.iter().zip(&input.contents).enumerate() {
        // The base64 on the wire.
        let raw = &out[part.raw_body_offset() as usize..part.raw_end_offset() as usize];
        let b64: Vec<u8> = raw
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .unwrap_or_else(|e| panic!("attachment {i}: bad base64 ({e}): {}", common::show(raw)));
        assert!(
            &decoded == want,
            "attachment {i}: the base64 decodes to {} instead of {}",
            common::show(&decoded),
            common::show(want)
        );
        // mail-parser's own decoding.
        match &part.body {
            PartType::Text(t) | PartType::Html(t) => {
                if let Ok(want_text) = std::str::from_utf8(want) {
                    assert_eq!(
                        t.as_ref(),
                        want_text,
                        "attachment {i} ({:?}) as text",
                        draft.attachments[input.order[i]].content_type
                    );
                }
            }
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                assert!(b.as_ref() == want, "attachment {i} decodes to other bytes");
            }
            PartType::Message(m) => {
                assert!(
                    m.raw_message() == want,
                    "attachment {i} (message) decodes to other bytes"
                );
            }
            PartType::Multipart(_) => panic!(
                "attachment {i} ({:?}) read as a multipart",
                draft.attachments[input.order[i]].content_type
            ),
        }
        // An inline part's Content-ID.
        let att = &draft.attachments[input.order[i]];
        assert_eq!(
            part.content_id(),
            att.content_id.as_deref(),
            "attachment {i}: Content-ID"
        );
    }

    // The HTML, its line ends made CRLF, with a final one.
    if let Some(html) = &draft.html {
        let want = crlf_text(html);
        let got = parsed.body_html(0).unwrap_or_default();
        assert!(
            got == want,
            "HTML {want:?} came back as {got:?}\n{}",
            String::from_utf8_lossy(&out)
        );
    }

    // The subject, read two ways.
    if let Some(given) = &input.subject {
        let want = given.trim_matches([' ', '\t']);
        // Strictly (RFC 5322 unfolding removes only the CRLF; RFC 2047
        // drops only the blanks between two encoded-words).
        let strict = strict_subject(&out);
        assert!(
            strict.as_deref() == Some(want),
            "subject {want:?} is written as {strict:?}\n{}",
            String::from_utf8_lossy(&out)
        );
        // By mail-parser, which also turns each fold, and each run of
        // blanks next to an encoded-word, into one space.
        if !user_date {
            let got = parsed.subject().unwrap_or_default();
            assert!(
                squeeze(got) == squeeze(want),
                "subject {want:?} came back as {got:?}\n{}",
                String::from_utf8_lossy(&out)
            );
        }
    } else {
        assert_eq!(parsed.subject(), None, "a Subject appeared");
    }

    // Attachment names (RFC 2231 parameters). mail-parser also decodes
    // RFC 2047 words inside quoted parameters, which the RFCs do not (but
    // many readers do), so a name holding `=?` is not compared.
    let in_order = input.order.iter().map(|&i| &draft.attachments[i]);
    for (i, (part, att)) in parts.iter().zip(in_order).enumerate() {
        if !att.name.contains("=?") {
            assert!(
                part.attachment_name() == Some(att.name.as_str()),
                "attachment {i}: name {:?} came back as {:?}\n{}",
                att.name,
                part.attachment_name(),
                String::from_utf8_lossy(&out)
            );
        }
    }

    // The To recipients with their display names (unless a user `To`
    // header replaced them), blanks squeezed as above. mail-parser reads a
    // bare quoted local part (`"a, b"@example.com`, a valid addr-spec) as a
    // display name: lists holding one are not compared.
    if !draft.to.is_empty()
        && !draft
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("to"))
        && !user_date
        && !draft.to.iter().any(|m| m.address.as_str().starts_with('"'))
    {
        let want: Vec<(Option<String>, &str)> = draft
            .to
            .iter()
            .map(|m| {
                let name = m
                    .name
                    .as_deref()
                    .map(|n| squeeze(n.trim_matches([' ', '\t'])));
                (name.filter(|n| !n.is_empty()), m.address.as_str())
            })
            .collect();
        let got: Vec<(Option<String>, &str)> = parsed
            .to()
            .map(|list| {
                list.iter()
                    .map(|a| (a.name().map(squeeze), a.address().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            want == got,
            "To {want:?} came back as {got:?}\n{}",
            String::from_utf8_lossy(&out)
        );
    }

    // The body: its line ends made CRLF, with a final one; with HTML and
    // no text, the text derived from the HTML.
    let body = match &draft.html {
        Some(html) if draft.body.trim().is_empty() => {
            crlf_text(&smtpsh::mime::html::html_to_text(html))
        }
        _ => crlf_text(&draft.body),
    };
    let got = parsed.body_text(0).unwrap_or_default();
    assert!(
        got == body,
        "body {body:?} came back as {got:?}\n{}",
        String::from_utf8_lossy(&out)
    );

    // Last, so that a long line does not hide the other checks' findings.
    check_lines(&out);
});

/// `text` with CRLF line ends and a final one (unless empty).
fn crlf_text(text: &str) -> String {
    let mut t = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .replace('\n', "\r\n");
    if !t.is_empty() && !t.ends_with("\r\n") {
        t.push_str("\r\n");
    }
    t
}

/// Runs of blanks as one space.
fn squeeze(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for c in s.chars() {
        if c == ' ' || c == '\t' {
            if !blank {
                out.push(' ');
            }
            blank = true;
        } else {
            out.push(c);
            blank = false;
        }
    }
    out
}

/// The last Subject header of the top-level header block, unfolded (CRLF
/// removed, nothing else) and its `=?UTF-8?B?...?=` words decoded; blanks
/// between two encoded-words dropped (RFC 2047 §6.2). `None` if there is
/// none, or an encoded-word does not decode.
fn strict_subject(message: &[u8]) -> Option<String> {
    let head_end = common::find(message, b"\r\n\r\n").map_or(message.len(), |i| i + 2);
    let head = std::str::from_utf8(&message[..head_end]).ok()?;
    // Whole headers: a line and its continuation lines.
    let mut headers: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            headers.last_mut()?.push_str(line);
        } else if !line.is_empty() {
            headers.push(line.to_string());
        }
    }
    let value = headers.iter().rev().find_map(|h| {
        let (name, value) = h.split_once(':')?;
        name.eq_ignore_ascii_case("subject").then_some(value)
    })?;
    let value = value.trim_matches([' ', '\t']);
    // Split into blank runs and words; decode.
    let mut out: Vec<u8> = Vec::new();
    let mut pending_blank = String::new();
    let mut last_was_encoded = false;
    let mut rest = value;
    while !rest.is_empty() {
        let n = rest.find([' ', '\t']).unwrap_or(rest.len());
        if n == 0 {
            let m = rest.find(|c| c != ' ' && c != '\t').unwrap_or(rest.len());
            pending_blank.push_str(&rest[..m]);
            rest = &rest[m..];
            continue;
        }
        let word = &rest[..n];
        rest = &rest[n..];
        let encoded = word
            .strip_prefix("=?UTF-8?B?")
            .and_then(|w| w.strip_suffix("?="));
        match encoded {
            Some(b64) => {
                if !last_was_encoded {
                    out.extend_from_slice(pending_blank.as_bytes());
                }
                out.extend(base64::engine::general_purpose::STANDARD.decode(b64).ok()?);
                last_was_encoded = true;
            }
            None => {
                out.extend_from_slice(pending_blank.as_bytes());
                out.extend_from_slice(word.as_bytes());
                last_was_encoded = false;
            }
        }
        pending_blank.clear();
    }
    String::from_utf8(out).ok()
}
