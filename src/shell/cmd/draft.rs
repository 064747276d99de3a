//! The draft: `subject`, `body` (and `body --html`), `attach` (and
//! `attach --inline`), `detach`, `header`, `new`, `show`, `save` — and
//! composing it into the message `send` transmits.

use super::{plural, read_text_lines};
use crate::local::expand_tilde;
use crate::mime::{self, Attachment, Draft, Message, Stamp, validate_header};
use crate::shell::args::{Args, unquote_rest};
use crate::shell::failure::Failure;
use crate::shell::input::Input;
use crate::shell::output::human_bytes;
use crate::shell::session::{LastSent, Session};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

/// `subject TEXT`.
pub fn subject(s: &mut Session, a: Args) -> Result<(), Failure> {
    validate_header("Subject", &a.rest).map_err(|e| Failure::local(e.to_string()))?;
    s.out.note(&format!("subject set: {}", a.rest));
    s.draft.subject = Some(a.rest);
    s.touch_draft();
    Ok(())
}

/// `body TEXT | body | body --file PATH | body --html [FILE]`.
pub fn body(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    if let Some(rest) = a.rest.strip_prefix("--html")
        && (rest.is_empty() || rest.starts_with(char::is_whitespace))
    {
        return html_body(s, input, rest.trim());
    }
    let text = if a.rest.is_empty() {
        read_typed(s, input, "body> ", "the body")?
    } else if let Some(path) = a.rest.strip_prefix("--file") {
        read_utf8_file(path.trim(), "body --file PATH")?
    } else {
        a.rest.clone()
    };
    check_text(&text)?;
    set_body(s, text);
    Ok(())
}

/// Makes `text` (already checked) the draft's body and says so.
pub fn set_body(s: &mut Session, text: String) {
    let lines = text.lines().count();
    s.draft.body = text;
    s.touch_draft();
    s.out.note(&format!(
        "body set ({}, {})",
        plural(lines, "line"),
        human_bytes(s.draft.body.len() as u64)
    ));
}

/// `body --html [FILE]`: the HTML version, from FILE or typed lines; empty
/// removes it.
fn html_body(s: &mut Session, input: &mut dyn Input, rest: &str) -> Result<(), Failure> {
    let rest = rest.strip_prefix("--file").map_or(rest, str::trim);
    let html = if rest.is_empty() {
        read_typed(s, input, "html> ", "the HTML")?
    } else if rest.starts_with('<') {
        return Err(
            Failure::local("`body --html` takes a FILE, not the HTML itself")
                .hint("type `body --html` alone, then the HTML lines, then a line with only `.`"),
        );
    } else {
        read_utf8_file(rest, "body --html FILE")?
    };
    check_text(&html)?;
    set_html(s, html);
    Ok(())
}

/// Sets (or, when `html` is blank, removes) the HTML version, and says
/// what the message becomes.
pub fn set_html(s: &mut Session, html: String) {
    if html.trim().is_empty() {
        let had = s.draft.html.take().is_some();
        s.touch_draft();
        s.out.note(if had {
            "HTML removed: the message is text only"
        } else {
            "no HTML given: the message stays text only"
        });
        return;
    }
    let lines = html.lines().count();
    let size = human_bytes(html.len() as u64);
    s.draft.html = Some(html);
    s.touch_draft();
    let text = if s.draft.body.trim().is_empty() {
        "a text version is derived from it"
    } else {
        "the text body comes first"
    };
    s.out.note(&format!(
        "HTML set ({}, {size}): multipart/alternative, {text}",
        plural(lines, "line")
    ));
    for w in super::mime_tree::reference_warnings(&s.draft) {
        s.out.warn(&w);
    }
}

/// Lines typed up to a lone `.`, joined with a final line break.
fn read_typed(
    s: &mut Session,
    input: &mut dyn Input,
    prompt: &str,
    what: &str,
) -> Result<String, Failure> {
    if input.interactive() {
        s.out
            .note("type the text; a line with only '.' ends it (Ctrl-C cancels)");
    }
    let lines = read_text_lines(s, input, prompt, what)?;
    let mut t = lines.join("\n");
    if !lines.is_empty() {
        t.push('\n');
    }
    Ok(t)
}

/// A UTF-8 file's text; `usage` when no path is given.
fn read_utf8_file(path: &str, usage: &str) -> Result<String, Failure> {
    let path = unquote_rest(path);
    if path.is_empty() {
        return Err(Failure::local(format!("usage: {usage}")));
    }
    let p = expand_tilde(&path);
    let bytes = fs::read(&p).map_err(|e| {
        Failure::local(format!("cannot read {}: {e}", p.display()))
            .hint("check the path (Tab completes it)")
    })?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::local(format!("{} is not UTF-8 text", p.display()))
            .hint("attach it instead: attach PATH")
    })
}

/// Refuses text mail cannot carry.
pub fn check_text(text: &str) -> Result<(), Failure> {
    if text.contains('\0') {
        return Err(Failure::local(
            "the text contains a NUL byte, which mail cannot carry",
        ));
    }
    Ok(())
}

/// `attach PATH... [--type TYPE/SUBTYPE] [--name NAME] [--inline] [--cid ID]`.
pub fn attach(s: &mut Session, a: Args) -> Result<(), Failure> {
    let ctype = a.opt("--type");
    let name = a.opt("--name");
    let cid = a.opt("--cid");
    let inline = a.flag("--inline") || cid.is_some();
    let domain = crate::local::domain_name();
    if (name.is_some() || cid.is_some()) && a.words.len() > 1 {
        return Err(Failure::local(
            "--name and --cid apply to one file; attach the files one by one",
        ));
    }
    let mut new = Vec::new();
    for w in &a.words {
        let att = Attachment::new(&expand_tilde(w), ctype, name).map_err(|e| {
            Failure::local(e.to_string()).hint("nothing was attached (Tab completes paths)")
        })?;
        let att = match cid {
            Some(id) => att
                .with_content_id(id)
                .map_err(|e| Failure::local(e.to_string()).hint("nothing was attached"))?,
            None if inline => att.into_inline(&domain),
            None => att,
        };
        if let Some(id) = &att.content_id
            && let Some(n) = s.draft.attachments.iter().position(|o| {
                o.content_id
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(id))
            })
        {
            return Err(Failure::local(format!(
                "inline part {} already has the Content-ID {id}",
                n + 1
            ))
            .hint("give another --cid; nothing was attached"));
        }
        new.push(att);
    }
    for att in new {
        let (kind, cid) = match &att.content_id {
            Some(id) => (
                "inline ",
                format!(" — reference it as <img src=\"cid:{id}\">"),
            ),
            None => ("", String::new()),
        };
        s.out.note(&format!(
            "attached {kind}{}: {} ({}, {}, base64){cid}",
            s.draft.attachments.len() + 1,
            att.name,
            att.content_type,
            human_bytes(att.size)
        ));
        s.draft.attachments.push(att);
    }
    s.touch_draft();
    if inline && s.draft.html.is_some() {
        for w in super::mime_tree::reference_warnings(&s.draft) {
            s.out.warn(&w);
        }
    }
    if inline && s.draft.html.is_none() {
        s.out.note(
            "there is no HTML yet: `body --html` adds it; until then inline parts go \
             with the attachments",
        );
    }
    Ok(())
}

/// `detach N`.
pub fn detach(s: &mut Session, a: Args) -> Result<(), Failure> {
    let n = s.draft.attachments.len();
    let word = a.words.first().map_or("", String::as_str);
    let idx = word
        .parse::<usize>()
        .ok()
        .filter(|&i| i >= 1 && i <= n)
        .ok_or_else(|| {
            Failure::local(if n == 0 {
                "there are no attachments".to_string()
            } else {
                format!("'{word}' is not an attachment number (1-{n})")
            })
            .hint("`status` lists the attachments with their numbers")
        })?;
    let att = s.draft.attachments.remove(idx - 1);
    s.touch_draft();
    let kind = if att.is_inline() {
        "inline part"
    } else {
        "attachment"
    };
    s.out.note(&format!("removed {kind} {idx}: {}", att.name));
    if idx <= s.draft.attachments.len() {
        s.out
            .note("the parts after it are numbered one less now (`status` lists them)");
    }
    for w in super::mime_tree::reference_warnings(&s.draft) {
        s.out.warn(&w);
    }
    Ok(())
}

/// `header NAME [VALUE]`.
pub fn header(s: &mut Session, a: Args) -> Result<(), Failure> {
    let (name, value) = match a.rest.find(char::is_whitespace) {
        Some(i) => (
            a.rest[..i].trim_end_matches(':').to_string(),
            unquote_rest(a.rest[i..].trim()),
        ),
        None => (a.rest.trim_end_matches(':').to_string(), String::new()),
    };
    if value.is_empty() {
        let before = s.draft.headers.len();
        s.draft
            .headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        let removed = before - s.draft.headers.len();
        s.touch_draft();
        s.out.note(&format!(
            "removed {} named {name}",
            plural(removed, "header")
        ));
        return Ok(());
    }
    if name.eq_ignore_ascii_case("Bcc") {
        return Err(
            Failure::local("a Bcc header would reveal hidden recipients")
                .hint("use `bcc ADDRESS` instead"),
        );
    }
    validate_header(&name, &value).map_err(|e| Failure::local(e.to_string()))?;
    s.out.note(&format!("header added: {name}: {value}"));
    s.draft.headers.push((name, value));
    s.touch_draft();
    Ok(())
}

/// `new [--again]`.
pub fn new_draft(s: &mut Session, a: Args) -> Result<(), Failure> {
    if !a.flag("--again") {
        s.draft = Draft::default();
        s.unsent = false;
        s.out.note("the draft is empty");
        return Ok(());
    }
    let draft = match &s.last_sent {
        Some(LastSent::Draft(d)) => d.as_ref().clone(),
        Some(LastSent::Typed(_)) => {
            return Err(Failure::local(
                "the message sent last was typed by hand after DATA, not composed as a draft",
            )
            .hint("`show --last` shows it"));
        }
        Some(LastSent::File { label, .. }) => {
            return Err(Failure::local(format!(
                "the message sent last was the file {label}, not a draft"
            ))
            .hint("`send --message PATH` sends a file again"));
        }
        None => {
            return Err(Failure::local("no message was sent in this session yet")
                .hint("`new --again` brings back a message `send` delivered"));
        }
    };
    s.draft = draft;
    s.touch_draft();
    s.out.note(&format!(
        "the message sent last is the draft again ({}, {}); it gets a new Date and Message-ID",
        plural(s.draft.recipients().len(), "recipient"),
        plural(s.draft.attachments.len(), "attachment")
    ));
    Ok(())
}

/// Composes `draft`, fixing its Date/Message-ID/boundary on first use.
pub fn compose_draft(draft: &mut Draft) -> Result<Message, Failure> {
    let stamp = draft
        .stamp
        .get_or_insert_with(|| Stamp::new(SystemTime::now(), &crate::local::domain_name()))
        .clone();
    mime::compose(draft, &stamp).map_err(|e| {
        Failure::local(e.to_string()).hint("the draft is unchanged; fix the file and try again")
    })
}

/// `show [--last]`, through the pager when taller than the screen.
pub fn show(s: &mut Session, a: Args) -> Result<(), Failure> {
    s.out.page_start();
    let shown = show_paged(s, a);
    s.out.page_end();
    shown
}

fn show_paged(s: &mut Session, a: Args) -> Result<(), Failure> {
    if a.flag("--last") {
        return show_last(s);
    }
    let msg = compose_draft(&mut s.draft)?;
    preview(s, &msg, &s.draft)?;
    size_check(s, msg.size(), false)
}

/// `show --last`.
fn show_last(s: &mut Session) -> Result<(), Failure> {
    match s.last_sent.clone() {
        None => Err(Failure::local("no message was sent in this session yet")),
        Some(LastSent::Typed(text)) => {
            s.out
                .note("the message typed by hand after DATA, as typed:");
            s.out.plain(text.trim_end_matches('\n'));
            Ok(())
        }
        Some(LastSent::File { label, size }) => {
            s.out.note(&format!(
                "the message sent last was the file {label}, sent as it is ({}); \
                 smtpsh keeps no copy of it",
                human_bytes(size)
            ));
            Ok(())
        }
        Some(LastSent::Draft(mut d)) => {
            s.out.note("the message sent last, as it was sent:");
            let msg = compose_draft(&mut d)?;
            preview(s, &msg, &d)
        }
    }
}

/// Prints the message (attachment bodies shortened), its MIME tree, and
/// what is wrong with its `cid:` references.
fn preview(s: &Session, msg: &Message, draft: &Draft) -> Result<(), Failure> {
    let text = msg.preview().map_err(|e| Failure::local(e.to_string()))?;
    envelope_params_note(s, draft);
    // The message's lines as they are: wrapped, a header would look folded.
    s.out.verbatim(&text);
    s.out.plain("");
    s.out.note("MIME structure:");
    for line in super::mime_tree::render(msg.tree()) {
        s.out.plain(&line);
    }
    s.out.note(&format!(
        "total: {}, {}",
        plural(msg.parts().len(), "part"),
        human_bytes(msg.size())
    ));
    for w in super::mime_tree::reference_warnings(draft) {
        s.out.warn(&w);
    }
    Ok(())
}

/// What the envelope carries besides the addresses (`from --ret`, `to
/// --notify`), which no header shows.
fn envelope_params_note(s: &Session, draft: &Draft) {
    let mut parts = Vec::new();
    if !draft.mail_params.is_empty() {
        parts.push(format!("MAIL FROM {}", draft.mail_params.list.join(" ")));
    }
    for (addr, p) in &draft.rcpt_params {
        parts.push(format!("RCPT TO:<{addr}> {}", p.list.join(" ")));
    }
    if !parts.is_empty() {
        s.out
            .note(&format!("envelope parameters: {}", parts.join("; ")));
    }
}

/// Checks the size against the server's SIZE limit: a warning, or with
/// `refuse` a failure.
pub fn size_check(s: &Session, size: u64, refuse: bool) -> Result<(), Failure> {
    let limit = s
        .conversation()
        .and_then(|c| c.extensions())
        .and_then(|e| e.size_limit())
        .filter(|&l| l > 0);
    if let Some(limit) = limit
        && size > limit
    {
        let msg = format!(
            "the message is {} but the server accepts at most {} (SIZE)",
            human_bytes(size),
            human_bytes(limit)
        );
        if refuse {
            return Err(Failure::local(msg)
                .hint("nothing was sent; remove attachments (`detach N`) or use another server"));
        }
        s.out.warn(&msg);
    }
    Ok(())
}

/// `save PATH`.
pub fn save(s: &mut Session, a: Args) -> Result<(), Failure> {
    let path = expand_tilde(a.words.first().map_or("", String::as_str));
    let n = write_message(&mut s.draft, &path, false)?;
    s.out
        .note(&format!("wrote {} to {}", human_bytes(n), path.display()));
    Ok(())
}

/// Composes `draft` (the very bytes `send` transmits, before
/// dot-stuffing) and writes it to `path` through a temporary file renamed
/// into place, so `path` is never left half-written. `private`: mode 0600.
/// Returns the bytes written.
pub fn write_message(draft: &mut Draft, path: &Path, private: bool) -> Result<u64, Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let msg = compose_draft(draft)?;
    let fail = |e: String| {
        Failure::local(format!("cannot write {}: {e}", path.display()))
            .hint("check the directory exists and is writable")
    };
    // A device or FIFO (`save /dev/stdout`) is written to as it is: renaming
    // a file over it would replace it.
    if fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let file = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(|e| fail(e.to_string()))?;
        return write_through(&msg, file).map_err(fail);
    }
    let name = path
        .file_name()
        .map_or_else(|| "message".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.smtpsh-{}.tmp", std::process::id()));
    let result = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o666 })
        .open(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|file| write_through(&msg, file))
        .and_then(|n| {
            fs::rename(&tmp, path)
                .map(|()| n)
                .map_err(|e| e.to_string())
        });
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        fail(e)
    })
}

/// Writes the message into `file` through a large buffer.
fn write_through(msg: &Message, file: fs::File) -> Result<u64, String> {
    let mut w = std::io::BufWriter::with_capacity(256 * 1024, file);
    let n = msg.write_to(&mut w).map_err(|e| e.to_string())?;
    w.flush().map_err(|e| e.to_string())?;
    Ok(n)
}
