//! The draft being composed.

use super::encode::is_token_char;
use super::message::MimeError;
use crate::address::{Address, Mailbox, ReversePath};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// An attached file. The file is read only when the message is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Where the content is read from.
    pub path: PathBuf,
    /// The file name announced in Content-Disposition (no path).
    pub name: String,
    /// `type/subtype`, lower case (from `--type` or guessed from the name).
    pub content_type: String,
    /// Size in bytes when attached; the message is refused if it changes.
    pub size: u64,
    /// For an inline part (`attach --inline`): its Content-ID without the
    /// angle brackets (RFC 2392), which the HTML names as `cid:` + this.
    /// `None` for an ordinary attachment.
    pub content_id: Option<String>,
}

impl Attachment {
    /// Checks that `path` is a readable regular file (not a directory, FIFO,
    /// device, ...), and builds the attachment. `content_type` overrides the
    /// type guessed from the name (checked as `type/subtype` token syntax);
    /// `name` overrides the announced file name (no control characters, no
    /// `/`). Errors say which path and why.
    pub fn new(
        path: &Path,
        content_type: Option<&str>,
        name: Option<&str>,
    ) -> Result<Attachment, MimeError> {
        let size = check_file(path)?;
        let name = match name {
            Some(n) => validate_file_name(n)?.to_string(),
            None => default_name(path),
        };
        let content_type = match content_type {
            Some(t) => validate_content_type(t)?,
            None => {
                let guessed = mime_guess::from_path(&name)
                    .first_or_octet_stream()
                    .essence_str()
                    .to_ascii_lowercase();
                // `.eml` guesses message/rfc822, which may not be base64.
                validate_content_type(&guessed)
                    .unwrap_or_else(|_| "application/octet-stream".to_string())
            }
        };
        Ok(Attachment {
            path: path.to_path_buf(),
            name,
            content_type,
            size,
            content_id: None,
        })
    }

    /// Makes this an inline part with a new, unique Content-ID:
    /// `NAME.RANDOM@DOMAIN`, where NAME is the file name reduced to the
    /// characters a dot-atom and a `cid:` URL both allow unescaped
    /// (letters, digits, `-`, `_`, `.`), so the `cid:` reference is the
    /// Content-ID as it is.
    pub fn into_inline(mut self, domain: &str) -> Attachment {
        self.content_id = Some(content_id(&self.name, domain));
        self
    }

    /// Makes this an inline part with the Content-ID `id` (`--cid`), given
    /// with or without its angle brackets; it must be `left@right` of
    /// dot-atom characters (RFC 2392, RFC 5322 msg-id).
    pub fn with_content_id(mut self, id: &str) -> Result<Attachment, MimeError> {
        let id = id.trim();
        let id = id
            .strip_prefix('<')
            .and_then(|i| i.strip_suffix('>'))
            .unwrap_or(id);
        check_content_id(id)?;
        self.content_id = Some(id.to_string());
        Ok(self)
    }

    /// Whether this is an inline part (it has a Content-ID).
    pub fn is_inline(&self) -> bool {
        self.content_id.is_some()
    }
}

/// The longest Content-ID (without brackets) accepted, in octets.
const MAX_CONTENT_ID: usize = 200;

/// A Content-ID (without brackets) as RFC 2392 wants it, an addr-spec:
/// dot-atom characters but `%` (which a `cid:` URL would have to escape),
/// one `@`, each side not empty, at most 200 octets (so the header line
/// stays short).
pub(crate) fn check_content_id(id: &str) -> Result<(), MimeError> {
    let atom = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.ends_with('.')
            && !s.contains("..")
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&'*+-/=?^_`{|}~.".contains(c))
    };
    match id.split_once('@') {
        Some((l, d)) if id.len() <= MAX_CONTENT_ID && atom(l) && atom(d) => Ok(()),
        _ => Err(MimeError::BadContentId(id.to_string())),
    }
}

/// A Content-ID (no brackets) for a part named `name`: see
/// [`Attachment::into_inline`].
fn content_id(name: &str, domain: &str) -> String {
    let mut local = String::new();
    for c in name.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else if c == '.' && !local.is_empty() && !local.ends_with('.') {
            '.'
        } else {
            continue;
        };
        if local.len() < 40 {
            local.push(c);
        }
    }
    let local = local.trim_end_matches('.');
    let local = if local.is_empty() { "part" } else { local };
    let local = format!("{local}.{:016x}", crate::local::random_u64());
    // `check_content_id` takes at most 200 octets: a longer domain (a host
    // or sender domain may have up to 253) keeps its last labels that fit.
    let room = MAX_CONTENT_ID - local.len() - 1;
    let domain = sanitize_domain(domain);
    let mut right = domain.as_str();
    while right.len() > room {
        match right.split_once('.') {
            Some((_, rest)) => right = rest,
            None => {
                right = "localhost.localdomain";
                break;
            }
        }
    }
    format!("{local}@{right}")
}

/// Checks that `path` is a regular file that can be opened for reading;
/// returns its size.
pub(crate) fn check_file(path: &Path) -> Result<u64, MimeError> {
    let file = open_regular(path)?;
    let meta = file.metadata().map_err(|source| MimeError::File {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(meta.len())
}

/// Opens `path` for reading, refusing anything but a regular file. The
/// open never blocks: a FIFO (even one swapped in after `attach`) is
/// opened non-blocking and refused by the check on the open file itself,
/// so there is no window between checking and opening.
pub(crate) fn open_regular(path: &Path) -> Result<std::fs::File, MimeError> {
    use std::os::unix::fs::OpenOptionsExt;
    let file_error = |source| MimeError::File {
        path: path.to_path_buf(),
        source,
    };
    let not_a_file = |meta: &std::fs::Metadata| MimeError::NotAFile {
        path: path.to_path_buf(),
        kind: file_kind(&meta.file_type()),
    };
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        // A socket cannot be opened at all: name what it is.
        Err(e) => {
            return Err(match std::fs::metadata(path) {
                Ok(meta) if !meta.is_file() => not_a_file(&meta),
                _ => file_error(e),
            });
        }
    };
    let meta = file.metadata().map_err(file_error)?;
    if !meta.is_file() {
        return Err(not_a_file(&meta));
    }
    Ok(file)
}

/// What a non-regular file is, for error messages.
fn file_kind(ft: &std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_char_device() {
            return "a character device";
        }
    }
    "not a regular file"
}

/// The announced name from the path: its last component (lossy UTF-8),
/// control characters replaced by `_`; `attachment` if there is none.
fn default_name(path: &Path) -> String {
    let name: String = path
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .map(|c| if c.is_control() { '_' } else { c })
                .collect()
        })
        .unwrap_or_default();
    if name.is_empty() {
        "attachment".to_string()
    } else {
        name
    }
}

/// A `--name`: not empty, no control characters, no `/`.
fn validate_file_name(name: &str) -> Result<&str, MimeError> {
    if name.chars().any(char::is_control) {
        return Err(MimeError::ControlCharacter {
            what: "the file name",
        });
    }
    if name.trim().is_empty() {
        return Err(MimeError::BadFileName {
            name: name.to_string(),
            reason: "it is empty",
        });
    }
    if name.contains('/') {
        return Err(MimeError::BadFileName {
            name: name.to_string(),
            reason: "a file name cannot contain '/'",
        });
    }
    Ok(name)
}

/// A `--type`: `type/subtype` of RFC 2045 token characters; lower-cased.
pub(crate) fn validate_content_type(t: &str) -> Result<String, MimeError> {
    let trimmed = t.trim();
    let ok = match trimmed.split_once('/') {
        Some((ty, sub)) => {
            !ty.is_empty()
                && !sub.is_empty()
                && ty.chars().all(is_token_char)
                && sub.chars().all(is_token_char)
                && trimmed.len() <= 127
        }
        None => false,
    };
    let lower = trimmed.to_ascii_lowercase();
    // An attachment is sent base64; RFC 2045 §6.4 forbids any encoding but
    // 7bit/8bit/binary for multipart/* and message/* types.
    if ok && !lower.starts_with("multipart/") && !lower.starts_with("message/") {
        Ok(lower)
    } else {
        Err(MimeError::BadContentType(t.to_string()))
    }
}

/// Fixed per-message values: Date, Message-ID and the multipart boundary.
/// Kept with the draft from the first `show`/`save`/`send` until the draft
/// changes or is sent, so `save` writes the very bytes `send` transmits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// RFC 5322 date-time, e.g. `Thu, 26 Nov 2026 14:31:10 +0000`.
    pub date: String,
    /// `<unique@domain>`.
    pub message_id: String,
    /// A multipart boundary (1-70 bchars) made so it cannot occur in
    /// base64 or quoted-printable output (it contains `=_`).
    pub boundary: String,
}

impl Stamp {
    /// A fresh stamp: `now` as the date, a unique Message-ID on `domain`
    /// (the local host name), a random boundary. A time before the epoch
    /// counts as the epoch.
    pub fn new(now: SystemTime, domain: &str) -> Stamp {
        let now = now.max(UNIX_EPOCH);
        let secs = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let id = format!("{secs}.{:016x}", crate::local::random_u64());
        Stamp {
            date: crate::clock::rfc5322(now),
            message_id: format!("<{id}@{}>", sanitize_domain(domain)),
            boundary: format!(
                "=_smtpsh_{:016x}{:016x}",
                crate::local::random_u64(),
                crate::local::random_u64()
            ),
        }
    }
}

/// The host name as a dot-atom for the Message-ID: labels of letters,
/// digits, `-` and `_` (other characters dropped, empty labels removed),
/// `localhost.localdomain` when nothing is left.
fn sanitize_domain(domain: &str) -> String {
    let labels: Vec<String> = domain
        .split('.')
        .map(|l| {
            l.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>()
        })
        .filter(|l| !l.is_empty())
        .collect();
    let d = labels.join(".");
    if d.is_empty() || d.len() > 253 {
        "localhost.localdomain".to_string()
    } else {
        d
    }
}

/// ESMTP parameters the user gave for MAIL FROM or one RCPT TO (`from
/// --ret hdrs`, `to --notify success`), in wire form (`RET=HDRS`), each
/// already checked; `send` adds them to what it sends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// `KEYWORD` or `KEYWORD=VALUE`, in the order given.
    pub list: Vec<String>,
    /// Given with `--force`: sent even when the server did not announce
    /// the extension a parameter needs.
    pub forced: bool,
}

impl Params {
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The message being composed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Draft {
    /// Envelope sender and (unless a `From` header was set) the From header.
    pub from: Option<ReversePath>,
    /// To recipients (envelope and header).
    pub to: Vec<Mailbox>,
    /// Cc recipients (envelope and header).
    pub cc: Vec<Mailbox>,
    /// Bcc recipients (envelope only; never in a header).
    pub bcc: Vec<Mailbox>,
    /// MAIL FROM parameters given with the sender (`from ... --ret hdrs`).
    pub mail_params: Params,
    /// RCPT TO parameters given with a recipient (`to ... --notify
    /// success`), by address; a recipient without any is not listed.
    pub rcpt_params: Vec<(Address, Params)>,
    /// The subject (unencoded; may be non-ASCII).
    pub subject: Option<String>,
    /// The text body (any line endings; normalised to CRLF when written).
    pub body: String,
    /// The HTML version (`body --html`), if any: the message is then
    /// multipart/alternative, the text first (derived from the HTML when
    /// `body` is empty).
    pub html: Option<String>,
    /// Extra headers in order: (name, unencoded value). A header named
    /// From, To, Cc, Subject, Date or Message-ID replaces the generated one.
    pub headers: Vec<(String, String)>,
    /// Attachments in order.
    pub attachments: Vec<Attachment>,
    /// Date/Message-ID/boundary, once fixed.
    pub stamp: Option<Stamp>,
}

impl Draft {
    /// True when nothing has been entered.
    pub fn is_empty(&self) -> bool {
        self.from.is_none()
            && self.to.is_empty()
            && self.cc.is_empty()
            && self.bcc.is_empty()
            && self.subject.is_none()
            && self.body.is_empty()
            && self.html.is_none()
            && self.headers.is_empty()
            && self.attachments.is_empty()
    }
    /// Envelope recipients: To, then Cc, then Bcc, each address once.
    /// Addresses count as the same when they differ only in the case of
    /// the domain.
    pub fn recipients(&self) -> Vec<Address> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for m in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            let a = m.address.as_str();
            let key = match a.rsplit_once('@') {
                Some((local, domain)) => format!("{local}@{}", domain.to_lowercase()),
                None => a.to_string(),
            };
            if seen.insert(key) {
                out.push(m.address.clone());
            }
        }
        out
    }
    /// The RCPT TO parameters given for `addr` (none if it has none).
    pub fn rcpt_params_for(&self, addr: &Address) -> Option<&Params> {
        self.rcpt_params
            .iter()
            .find(|(a, _)| a.as_str().eq_ignore_ascii_case(addr.as_str()))
            .map(|(_, p)| p)
    }
    /// Sets (or, with empty `params`, removes) the RCPT TO parameters of `addr`.
    pub fn set_rcpt_params(&mut self, addr: &Address, params: Params) {
        self.rcpt_params
            .retain(|(a, _)| !a.as_str().eq_ignore_ascii_case(addr.as_str()));
        if !params.is_empty() {
            self.rcpt_params.push((addr.clone(), params));
        }
    }
}

/// Checks a user header: the name is 1-76 printable ASCII characters
/// without `:` (RFC 5322 §2.2), the value has no CR, LF, NUL or other
/// control characters except TAB.
///
/// Also refused: `Bcc` (use the Bcc recipients, which never go into a
/// header) and `Content-Type` / `Content-Transfer-Encoding` (smtpsh writes
/// them from the body and attachments).
pub fn validate_header(name: &str, value: &str) -> Result<(), MimeError> {
    let bad = |reason: String| Err(MimeError::BadHeaderName(reason));
    if name.is_empty() {
        return bad("the name is empty".to_string());
    }
    if let Some(c) = name.chars().find(|c| !matches!(c, '!'..='~') || *c == ':') {
        let what = match c {
            ':' => "':'".to_string(),
            ' ' => "a space".to_string(),
            '\t' => "a tab".to_string(),
            c if c.is_control() => format!("the control character U+{:04X}", u32::from(c)),
            c => format!("'{c}' (only printable ASCII is allowed)"),
        };
        return bad(format!("{name:?} contains {what}"));
    }
    if name.len() > 76 {
        return bad(format!("{name:?} is longer than 76 characters"));
    }
    if name.eq_ignore_ascii_case("bcc") {
        return bad(
            "Bcc is never written into the message; add Bcc recipients instead".to_string(),
        );
    }
    if name.eq_ignore_ascii_case("content-type")
        || name.eq_ignore_ascii_case("content-transfer-encoding")
    {
        return bad(format!(
            "{name} is set by smtpsh from the body and the attachments"
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(MimeError::ControlCharacter {
            what: "the header value",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn container_types_cannot_be_base64_attachments() {
        let dir = tempfile::tempdir().unwrap();
        let eml = dir.path().join("forward.eml");
        std::fs::write(&eml, b"Subject: x\r\n\r\nbody\r\n").unwrap();
        let a = Attachment::new(&eml, None, None).unwrap();
        assert_eq!(a.content_type, "application/octet-stream");
        for t in ["message/rfc822", "Multipart/Mixed"] {
            let e = Attachment::new(&eml, Some(t), None).unwrap_err();
            assert!(
                e.to_string().contains("cannot be an attachment type"),
                "{e}"
            );
        }
    }

    #[test]
    fn sockets_and_fifos_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        match Attachment::new(&sock, None, None) {
            Err(MimeError::NotAFile { kind, .. }) => assert_eq!(kind, "a socket"),
            other => panic!("{other:?}"),
        }
        let fifo = dir.path().join("f.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // No writer exists: a blocking open would hang here forever.
        match open_regular(&fifo) {
            Err(MimeError::NotAFile { kind, .. }) => assert_eq!(kind, "a FIFO"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn dates() {
        for (t, want) in [
            (0, "Thu, 01 Jan 1970 00:00:00 +0000"),
            (1795703470, "Thu, 26 Nov 2026 14:31:10 +0000"),
            (1709211661, "Thu, 29 Feb 2024 13:01:01 +0000"),
            (951782400, "Tue, 29 Feb 2000 00:00:00 +0000"),
            (4102444800, "Fri, 01 Jan 2100 00:00:00 +0000"),
            (1234567890, "Fri, 13 Feb 2009 23:31:30 +0000"),
        ] {
            assert_eq!(Stamp::new(at(t), "example.com").date, want);
        }
        // Before the epoch: clamped, still valid syntax.
        assert_eq!(
            Stamp::new(UNIX_EPOCH - Duration::from_secs(5), "x").date,
            "Thu, 01 Jan 1970 00:00:00 +0000"
        );
    }

    #[test]
    fn message_ids_and_boundaries() {
        let a = Stamp::new(at(1795703470), "mail.example.com");
        let b = Stamp::new(at(1795703470), "mail.example.com");
        assert_ne!(a.message_id, b.message_id);
        assert_ne!(a.boundary, b.boundary);
        assert!(a.message_id.starts_with("<1795703470."));
        assert!(a.message_id.ends_with("@mail.example.com>"));
        assert!(a.boundary.starts_with("=_smtpsh_"));
        assert_eq!(a.boundary.len(), "=_smtpsh_".len() + 32);
        assert!(
            a.boundary["=_smtpsh_".len()..]
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
        assert!(
            Stamp::new(at(1), "")
                .message_id
                .ends_with("@localhost.localdomain>")
        );
        assert!(
            Stamp::new(at(1), "[1.2.3.4]")
                .message_id
                .ends_with("@1.2.3.4>")
        );
        assert!(
            Stamp::new(at(1), "bad host\r\n.x")
                .message_id
                .ends_with("@badhost.x>")
        );
        assert!(
            Stamp::new(at(1), "...")
                .message_id
                .ends_with("@localhost.localdomain>")
        );
    }

    #[test]
    fn attachment_guesses_and_overrides() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("Report.PDF");
        std::fs::write(&p, b"%PDF-1.4").expect("write");
        let a = Attachment::new(&p, None, None).expect("attach");
        assert_eq!(a.name, "Report.PDF");
        assert_eq!(a.content_type, "application/pdf");
        assert_eq!(a.size, 8);
        let a = Attachment::new(&p, Some("Text/Plain"), Some("naïve résumé.txt")).expect("attach");
        assert_eq!(a.content_type, "text/plain");
        assert_eq!(a.name, "naïve résumé.txt");
        let q = dir.path().join("data.unknownext");
        std::fs::write(&q, b"").expect("write");
        assert_eq!(
            Attachment::new(&q, None, None)
                .expect("attach")
                .content_type,
            "application/octet-stream"
        );
        // The guess follows the announced name.
        assert_eq!(
            Attachment::new(&q, None, Some("x.png"))
                .expect("attach")
                .content_type,
            "image/png"
        );
    }

    #[test]
    fn attachment_refusals() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f.txt");
        std::fs::write(&p, b"x").expect("write");
        for bad in [
            "text",
            "text/",
            "/plain",
            "text/plain; charset=x",
            "te xt/plain",
            "a/b/c",
            "",
        ] {
            assert!(
                matches!(
                    Attachment::new(&p, Some(bad), None),
                    Err(MimeError::BadContentType(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Attachment::new(&p, None, Some("a\nb")),
            Err(MimeError::ControlCharacter {
                what: "the file name"
            })
        ));
        assert!(matches!(
            Attachment::new(&p, None, Some("../x")),
            Err(MimeError::BadFileName { .. })
        ));
        assert!(matches!(
            Attachment::new(&p, None, Some("")),
            Err(MimeError::BadFileName { .. })
        ));

        let missing = dir.path().join("missing.pdf");
        let e = Attachment::new(&missing, None, None).expect_err("missing");
        match &e {
            MimeError::File { path, source } => {
                assert_eq!(path, &missing);
                assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
            }
            other => panic!("{other:?}"),
        }
        let msg = e.to_string();
        assert!(
            msg.contains("missing.pdf") && msg.contains("check the path"),
            "{msg}"
        );

        let e = Attachment::new(dir.path(), None, None).expect_err("dir");
        assert!(matches!(
            e,
            MimeError::NotAFile {
                kind: "a directory",
                ..
            }
        ));
        assert!(
            e.to_string()
                .contains("is a directory, not a file — attach files one by one"),
            "{e}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn special_files_refused() {
        let e = Attachment::new(Path::new("/dev/null"), None, None).expect_err("device");
        assert!(
            matches!(
                e,
                MimeError::NotAFile {
                    kind: "a character device",
                    ..
                }
            ),
            "{e:?}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if made {
            let e = Attachment::new(&fifo, None, None).expect_err("fifo");
            assert!(
                matches!(e, MimeError::NotAFile { kind: "a FIFO", .. }),
                "{e:?}"
            );
        }
        let sock = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        let e = Attachment::new(&sock, None, None).expect_err("socket");
        assert!(
            matches!(
                e,
                MimeError::NotAFile {
                    kind: "a socket",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_file_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("secret.txt");
        std::fs::write(&p, b"x").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        if std::fs::File::open(&p).is_ok() {
            return; // running as root: permissions are not enforced
        }
        let e = Attachment::new(&p, None, None).expect_err("unreadable");
        assert!(matches!(e, MimeError::File { .. }));
        assert!(e.to_string().contains("permissions"), "{e}");
    }

    #[test]
    fn default_name_sanitized() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a\tb.txt");
        std::fs::write(&p, b"x").expect("write");
        assert_eq!(
            Attachment::new(&p, None, None).expect("attach").name,
            "a_b.txt"
        );
    }

    #[test]
    fn recipients_in_order_once() {
        let mb = |s: &str| Mailbox::parse(s).expect("mailbox");
        let d = Draft {
            to: vec![mb("a@example.com"), mb("B <b@example.com>")],
            cc: vec![mb("a@EXAMPLE.com"), mb("c@example.com")],
            bcc: vec![mb("b@example.com"), mb("d@example.com")],
            ..Draft::default()
        };
        let r: Vec<String> = d
            .recipients()
            .iter()
            .map(|a| a.as_str().to_string())
            .collect();
        assert_eq!(
            r,
            [
                "a@example.com",
                "b@example.com",
                "c@example.com",
                "d@example.com"
            ]
        );
        assert!(!d.is_empty());
        assert!(Draft::default().recipients().is_empty());
    }

    #[test]
    fn header_validation() {
        assert!(validate_header("X-Priority", "1 (Highest)").is_ok());
        assert!(validate_header("X-Tab", "a\tb").is_ok());
        assert!(validate_header("Subject", "Grüße").is_ok());
        assert!(matches!(
            validate_header("X-A", "a\r\nBcc: x"),
            Err(MimeError::ControlCharacter {
                what: "the header value"
            })
        ));
        assert!(matches!(
            validate_header("X-A", "a\0"),
            Err(MimeError::ControlCharacter { .. })
        ));
        assert!(matches!(
            validate_header("X-A", "a\u{7f}"),
            Err(MimeError::ControlCharacter { .. })
        ));
        for bad in ["", "X A", "X:A", "Grüße", "X\nA", &"X".repeat(77)] {
            let e = validate_header(bad, "v").expect_err(bad);
            assert!(matches!(e, MimeError::BadHeaderName(_)), "{bad}");
            assert!(e.to_string().starts_with("invalid header name: "), "{e}");
        }
        assert!(validate_header(&"X".repeat(76), "v").is_ok());
        assert!(validate_header("X-A", "v").is_ok());
        for reserved in ["bcc", "Content-Type", "content-transfer-encoding"] {
            assert!(matches!(
                validate_header(reserved, "v"),
                Err(MimeError::BadHeaderName(_))
            ));
        }
        let e = validate_header("X A", "v").expect_err("space");
        assert!(e.to_string().contains("a space"), "{e}");
    }
}
