//! The sandbox in the shell: `connect sandbox` / `smtpsh --sandbox` start
//! (or reuse) the in-process SMTP server and connect to it, and `inbox`
//! reads its Maildir — which works in any smtpsh process, sandbox running
//! or not, since the messages are files (`smtpsh inbox ...` runs it from
//! the command line). `request` reads its options, `check` is
//! `--check-attachment`, `wait` is `--wait` and `--clear`.

mod check;
mod request;
mod table;
mod wait;

use super::connect::open;
use super::tls::TlsMode;
use super::{greet, helo_name};
use crate::local::expand_tilde;
use crate::sandbox::{self, Sandbox, inbox as mailbox};
use crate::shell::args::Args;
use crate::shell::failure::{FailKind, Failure, judge};
use crate::shell::output::{Stream, human_bytes};
use crate::shell::session::{Session, Target};
use crate::smtp::Verb;
use request::{DEFAULT_TIMEOUT, Request};
use std::path::{Path, PathBuf};

/// What to try first, shown when the sandbox starts.
pub const TRY_LINE: &str = "try: from you@example.com / to friend@example.org / subject hi / body hello / attach FILE / send / inbox 1";

/// Starts the sandbox if this session has none yet (printing where it
/// listens, its Maildir and the demo account), then connects to it and
/// says EHLO.
pub fn connect_sandbox(s: &mut Session) -> Result<(), Failure> {
    sandbox_connection(s, true)
}

/// [`connect_sandbox`]; without `shell` (the guided walk-through, whose
/// first step is HELO) no EHLO is said and no commands are suggested.
pub fn sandbox_connection(s: &mut Session, shell: bool) -> Result<(), Failure> {
    let port = match &s.sandbox {
        Some(sb) => {
            s.out.note(&format!(
                "the sandbox is already running on {} (Maildir {})",
                sb.addr(),
                sb.maildir().display()
            ));
            sb.port()
        }
        None => {
            let sb = Sandbox::start().map_err(|e| {
                Failure::local(format!("cannot start the sandbox: {e}"))
                    .hint("set SMTPSH_SANDBOX_DIR to a writable directory for the sandbox's mail")
            })?;
            let (user, password) = sb.credentials();
            s.out.note(&format!(
                "sandbox listening on {} — a real SMTP server inside this smtpsh; it stores mail, never relays it",
                sb.addr()
            ));
            s.out.note(&format!(
                "Maildir: {} (`inbox` lists it)",
                sb.maildir().display()
            ));
            s.out.note(&format!(
                "demo account: user {user}, password {password} (AUTH PLAIN or LOGIN)"
            ));
            s.out.note(&format!(
                "STARTTLS certificate made at start, trusted by this smtpsh process only (CA: {})",
                sb.ca_file().display()
            ));
            if shell {
                s.out.note(TRY_LINE);
            }
            let port = sb.port();
            s.sandbox = Some(sb);
            port
        }
    };
    open(
        s,
        Target {
            host: "127.0.0.1".to_string(),
            port,
            mode: TlsMode::Auto,
            net: Default::default(),
            profile: None,
            tls: s.settings.tls.clone(),
            lmtp: false,
            socket: None,
        },
    )?;
    if !shell {
        return Ok(());
    }
    // Greet at once, so `from` can send MAIL FROM straight away and the
    // extensions (STARTTLS, AUTH, SIZE, ...) are on screen.
    let name = helo_name(s);
    let reply = greet(s, &name, Verb::Ehlo)?;
    judge(&reply, "EHLO")
}

/// The Maildir `inbox` reads: `--maildir DIR` (which must be a Maildir,
/// unless `--wait` may see it appear), else the running sandbox's, else
/// the default one.
fn maildir(s: &Session, r: &Request) -> Result<PathBuf, Failure> {
    if let Some(dir) = &r.maildir {
        if mailbox::is_maildir(dir) || (r.wait.is_some() && !dir.exists()) {
            return Ok(dir.clone());
        }
        let f = if dir.exists() {
            inbox_failure(mailbox::InboxError::NotMaildir {
                maildir: dir.clone(),
            })
        } else {
            Failure::local(format!("there is no directory {}", dir.display())).hint(NOT_MAILDIR)
        };
        let nested = dir.join("Maildir");
        return Err(if mailbox::is_maildir(&nested) {
            f.hint(format!("did you mean --maildir {}?", nested.display()))
        } else {
            f
        });
    }
    if let Some(sb) = &s.sandbox {
        return Ok(sb.maildir().to_path_buf());
    }
    sandbox::default_maildir().ok_or_else(|| {
        Failure::local("cannot find the sandbox's Maildir: neither SMTPSH_SANDBOX_DIR, XDG_DATA_HOME nor HOME is set")
            .hint("set SMTPSH_SANDBOX_DIR to the sandbox directory (it holds Maildir/)")
    })
}

/// The hint for a `--maildir` that is not a Maildir.
const NOT_MAILDIR: &str =
    "--maildir takes the Maildir itself: the directory holding new/, cur/ and tmp/";

fn inbox_failure(e: mailbox::InboxError) -> Failure {
    let hint = match &e {
        mailbox::InboxError::Empty { .. } => {
            "`connect sandbox` (or `smtpsh --sandbox`), then compose and `send` a message"
        }
        mailbox::InboxError::NoSuchMessage { .. } => {
            "`inbox` lists the messages with their numbers"
        }
        mailbox::InboxError::NotMaildir { .. } => NOT_MAILDIR,
        mailbox::InboxError::Io { .. } => {
            "check the directory's permissions, or point SMTPSH_SANDBOX_DIR elsewhere"
        }
    };
    Failure::local(e.to_string()).hint(hint)
}

/// `inbox [N] [--maildir DIR] [--json] [--raw] [--save-attachments DIR]
/// [--check-attachment FILE] | inbox --clear | inbox --wait N [--timeout S]`.
pub fn inbox(s: &mut Session, a: Args) -> Result<(), Failure> {
    let r = Request::read(&a)?;
    let dir = maildir(s, &r)?;
    if r.clear {
        return wait::clear(s, &dir);
    }
    if let Some(want) = r.wait {
        wait::wait(s, &dir, want, r.timeout.unwrap_or(DEFAULT_TIMEOUT), r.json)?;
    }
    let Some(n) = r.number else {
        return list(s, &dir, r.json);
    };
    let (entry, bytes) = mailbox::load(&dir, n).map_err(inbox_failure)?;
    if r.json {
        let Some(m) = mailbox::json::message(n, &entry, &bytes) else {
            return Err(unparsable(n, &entry.path));
        };
        return print_json(s, &m);
    }
    let (raw, save) = (r.raw, r.save.as_deref());
    if raw {
        let written = s
            .out
            .bytes(&bytes)
            .and_then(|()| {
                if bytes.ends_with(b"\n") {
                    Ok(())
                } else {
                    s.out.bytes(b"\n")
                }
            })
            .and_then(|()| s.out.flush());
        printed(s, written, "the message")?;
        if save.is_none() {
            return Ok(());
        }
    }
    let Some(detail) = mailbox::inspect(&bytes) else {
        return Err(unparsable(n, &entry.path));
    };
    if let Some(target) = save {
        save_attachments(s, n, &detail, target)?;
    }
    if !r.checks.is_empty() {
        return check::attachments(s, n, &detail, &r.checks);
    }
    if raw || save.is_some() {
        return Ok(());
    }
    s.out.plain(&format!(
        "message {n}: received {}, {}",
        received(entry.received),
        human_bytes(entry.size)
    ));
    s.out.plain(&format!("  file: {}", entry.path.display()));
    let envelope = detail.envelope.headers.iter().map(|(n, v)| (n.as_str(), v));
    let headers = detail.headers.iter().map(|(n, v)| (*n, v));
    for (name, value) in envelope.chain(headers) {
        s.out
            .plain(&format!("  {name}: {}", mailbox::printable(value)));
    }
    s.out.plain("  parts:");
    let columns = s.out.columns(Stream::Out);
    for line in mailbox::render_tree(&detail.root, r.full) {
        // Wrapped by field, the tree drawn on down the lines it takes.
        let (branch, below) = (format!("  {}", line.branch), format!("  {}", line.below));
        match columns {
            Some(cols) => {
                for l in crate::text::wrap::pack(&branch, &below, &line.fields, cols) {
                    s.out.plain(&l);
                }
            }
            None => s.out.plain(&format!("  {}", line.joined())),
        }
    }
    if !r.full
        && detail
            .root
            .walk()
            .iter()
            .any(|p| !p.is_container() || !p.content.is_empty())
    {
        s.out.note(&format!(
            "SHA-256 digests show their first {} hex digits; `inbox {n} --full` shows them whole",
            mailbox::SHORT_DIGEST
        ));
    }
    let attachments = detail.root.attachments().len();
    if attachments > 0 {
        s.out.note(&format!(
            "{}; `inbox {n} --save-attachments DIR` writes {} out",
            super::plural(attachments, "attachment"),
            if attachments == 1 { "it" } else { "them" }
        ));
    }
    Ok(())
}

fn unparsable(n: usize, path: &Path) -> Failure {
    Failure::local(format!(
        "message {n} ({}) cannot be parsed as a mail message",
        path.display()
    ))
    .hint(format!("`inbox {n} --raw` prints its bytes as stored"))
}

/// `value` as pretty JSON on standard output, and nothing else.
fn print_json<T: serde::Serialize>(s: &Session, value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::local(format!("cannot write the JSON: {e}")))?;
    let written = s
        .out
        .bytes(text.as_bytes())
        .and_then(|()| s.out.bytes(b"\n"))
        .and_then(|()| s.out.flush());
    printed(s, written, "the JSON")
}

/// The result of printing `what` on standard output: a closed standard
/// output (`| head`) is no failure, the shell ends quietly.
fn printed(s: &Session, written: std::io::Result<()>, what: &str) -> Result<(), Failure> {
    match written {
        Err(e) if !s.out.is_broken() => Err(Failure::local(format!("cannot print {what}: {e}"))),
        _ => Ok(()),
    }
}

fn list(s: &mut Session, dir: &Path, json: bool) -> Result<(), Failure> {
    let items = mailbox::list(dir).map_err(inbox_failure)?;
    if json {
        let items: Vec<mailbox::json::ListItem> =
            items.iter().map(mailbox::json::ListItem::from).collect();
        return print_json(s, &items);
    }
    if items.is_empty() {
        s.out
            .note(&format!("the sandbox inbox is empty ({})", dir.display()));
        s.out
            .note("`connect sandbox` (or `smtpsh --sandbox`), then compose and `send` a message");
        return Ok(());
    }
    for line in table::lines(&items, s.out.columns(Stream::Out)) {
        s.out.plain(&line);
    }
    s.out.note(&format!(
        "{} in {}; `inbox N` shows one",
        super::plural(items.len(), "message"),
        dir.display()
    ));
    Ok(())
}

fn save_attachments(
    s: &mut Session,
    n: usize,
    detail: &mailbox::Detail,
    target: &str,
) -> Result<(), Failure> {
    let dir = expand_tilde(target);
    let saved = mailbox::save_attachments(&detail.root, &dir).map_err(|e| Failure {
        kind: FailKind::Local,
        message: format!("cannot save the attachments into {}: {e}", dir.display()),
        hint: Some("choose a writable directory".into()),
    })?;
    if saved.is_empty() {
        s.out.note(&format!("message {n} has no attachments"));
        return Ok(());
    }
    for f in &saved {
        let renamed = match &f.original {
            Some(o) if f.path.file_name().is_none_or(|p| p.to_string_lossy() != *o) => {
                format!(" (named \"{}\" in the message)", mailbox::printable(o))
            }
            _ => String::new(),
        };
        s.out.ok(&format!(
            "saved {}{renamed}: {}, sha256 {}",
            f.path.display(),
            human_bytes(f.size as u64),
            f.sha256
        ));
    }
    Ok(())
}

/// When a message arrived (seconds since the epoch), as
/// `2026-12-06 17:39:35 UTC`.
fn received(secs: u64) -> String {
    crate::clock::readable_unix(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_well() {
        assert_eq!(received(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn a_maildir_option_that_is_not_one_says_what_to_give() {
        use crate::shell::output::Output;
        use crate::shell::settings::Settings;
        use std::sync::Arc;
        use std::sync::atomic::AtomicBool;
        let dir = tempfile::tempdir().expect("temp dir");
        crate::sandbox::maildir::Maildir::create(&dir.path().join("Maildir")).expect("create");
        let (out, _) = Output::capture(false);
        let s = Session::new(Settings::default(), out, Arc::new(AtomicBool::new(false)));
        let ask = |d: &Path, wait: bool| {
            let line = format!(
                "inbox --maildir {}{}",
                d.display(),
                if wait { " --wait 1" } else { "" }
            );
            let (_, a) = crate::shell::args::parse_line(&line).expect("parse");
            maildir(&s, &Request::read(&a).expect("read"))
        };
        let f = ask(dir.path(), false).expect_err("not a Maildir");
        assert!(f.message.contains("is not a Maildir"), "{}", f.message);
        assert!(
            f.hint
                .unwrap_or_default()
                .contains("did you mean --maildir")
        );
        let missing = dir.path().join("none");
        let f = ask(&missing, false).expect_err("missing");
        assert!(f.message.contains("there is no directory"), "{}", f.message);
        assert_eq!(f.hint.as_deref(), Some(NOT_MAILDIR));
        assert_eq!(ask(&missing, true).expect("may appear"), missing);
        let md = dir.path().join("Maildir");
        assert_eq!(ask(&md, false).expect("a Maildir"), md);
    }
}
