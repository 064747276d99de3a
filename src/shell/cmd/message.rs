//! Existing messages: `send --message PATH` and `data --file PATH` (`-`
//! for standard input). The file is read and sent by
//! [`crate::mime::MessageFile`]; here is the shell's part: which file
//! (standard input spooled to a private temporary file), what is worth
//! saying about it before it goes, where the envelope comes from, and
//! what happens to the draft afterwards.

use super::plural;
use super::send::{adopt_accepted_recipients, transmit};
use crate::local::expand_tilde;
use crate::mime::{Content, HeaderEnvelope, MessageFile, MimeError, Stamp};
use crate::shell::args::Args;
use crate::shell::delivery::{EnvelopeParams, final_reply};
use crate::shell::failure::{FailKind, Failure, conn_failure, judge};
use crate::shell::input::{self, Input};
use crate::shell::output::{Output, human_bytes};
use crate::shell::progress::{Meter, Progress};
use crate::shell::session::{LastSent, Session};
use crate::smtp::{Command, Connection};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// The most of a header block read for `--envelope-from-headers`.
const HEADER_LIMIT: u64 = 1024 * 1024;

/// A message file to send, and the temporary file it lives in when it
/// came from standard input (removed on drop).
pub struct Source {
    /// The scanned file.
    pub file: MessageFile,
    /// The spool of standard input, if that is where it came from.
    pub spool: Option<Spool>,
}

impl Source {
    /// How the message is named to the user: its path, or "standard input".
    pub fn label(&self) -> String {
        if self.spool.is_some() {
            "standard input".to_string()
        } else {
            self.file.path().display().to_string()
        }
    }
}

/// A private temporary file holding what standard input gave
/// (`tempfile`: mode 0600, a name no one can guess); removed when
/// dropped unless [`Spool::keep`] moved it away.
pub struct Spool {
    file: Option<tempfile::NamedTempFile>,
}

impl Spool {
    /// Copies standard input into a new file in the temporary directory,
    /// in fixed buffers; Ctrl-C stops it.
    fn from_stdin(interrupt: &AtomicBool) -> Result<Spool, Failure> {
        let fail = |e: std::io::Error| {
            Failure::local(format!(
                "cannot keep standard input in {}: {e}",
                std::env::temp_dir().display()
            ))
            .hint("set TMPDIR to a writable directory")
        };
        let mut file = tempfile::Builder::new()
            .prefix("smtpsh-stdin-")
            .suffix(".eml")
            .tempfile()
            .map_err(fail)?;
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            if interrupt.load(Ordering::SeqCst) {
                return Err(Failure::new(
                    FailKind::Interrupted,
                    "reading the message from standard input was interrupted (Ctrl-C); nothing was sent",
                ));
            }
            let n = match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Failure::local(format!("cannot read standard input: {e}")));
                }
            };
            file.write_all(&buf[..n]).map_err(fail)?;
        }
        file.flush().map_err(fail)?;
        Ok(Spool { file: Some(file) })
    }

    /// The file.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(tempfile::NamedTempFile::path)
    }

    /// Moves the file to `to` (a rename, else a copy): it is then not
    /// removed. Returns the error text when neither worked.
    pub fn keep(&mut self, to: &Path) -> Result<(), String> {
        let Some(file) = self.file.take() else {
            return Err("the spool is gone".to_string());
        };
        match file.persist(to) {
            Ok(_) => Ok(()),
            // Another file system: copy; the spool goes when dropped.
            Err(e) => std::fs::copy(e.file.path(), to)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

/// Why standard input cannot be the message here, if it cannot: a person
/// types there, or the script itself is read from it.
pub fn stdin_refusal(stdin_is_terminal: bool, script_on_stdin: bool) -> Option<Failure> {
    if script_on_stdin {
        return Some(
            Failure::local(
                "standard input is the script itself here, so it cannot also be the message",
            )
            .hint(
                "give the message as a file (`--message PATH`), or the script with -f FILE or -c",
            ),
        );
    }
    if stdin_is_terminal {
        return Some(
            Failure::local("standard input is a terminal: `-` reads a message piped in")
                .hint("pipe the message in (`smtpsh -c ... < message.eml`), or give its path"),
        );
    }
    None
}

/// Opens the message named by `word` (`-`: standard input), scanned; with
/// `fix`, a missing Date and Message-ID are added. Says what is worth
/// knowing about it before it goes.
pub fn open_source(
    out: &Output,
    interrupt: &AtomicBool,
    word: &str,
    fix: bool,
) -> Result<Source, Failure> {
    let spool = if word == "-" {
        if let Some(f) = stdin_refusal(std::io::stdin().is_terminal(), input::script_reads_stdin())
        {
            return Err(f);
        }
        Some(Spool::from_stdin(interrupt)?)
    } else {
        None
    };
    let path = match spool.as_ref().and_then(Spool::path) {
        Some(p) => p.to_path_buf(),
        None => expand_tilde(word),
    };
    let mut file = MessageFile::open(&path).map_err(|e| match (&spool, e) {
        (Some(_), MimeError::EmptyMessage { .. }) => {
            Failure::local("standard input is empty: there is no message to send")
        }
        (_, e) => file_failure(e),
    })?;
    let source_label = if spool.is_some() {
        "standard input".to_string()
    } else {
        path.display().to_string()
    };
    if fix {
        let stamp = Stamp::new(SystemTime::now(), &crate::local::domain_name());
        let added = file.fix_headers(&stamp);
        if !added.is_empty() {
            let lines: Vec<String> = added
                .iter()
                .map(|name| {
                    let value = if *name == "Date" {
                        &stamp.date
                    } else {
                        &stamp.message_id
                    };
                    format!("{name}: {value}")
                })
                .collect();
            out.note(&format!("--fix-headers added {}", lines.join(", ")));
        }
    }
    describe(out, &file, &source_label, fix);
    Ok(Source { file, spool })
}

/// The notes and warnings about a message file before it is sent.
fn describe(out: &Output, file: &MessageFile, label: &str, fixed: bool) {
    let f = file.facts();
    let size = file.size();
    out.note(&format!(
        "message {label}: {}, sent as it is{}",
        human_bytes(size),
        if f.bare_endings > 0 || f.unterminated {
            " but for its line endings, made CRLF"
        } else {
            ""
        }
    ));
    if f.mbox_from {
        out.warn(&format!(
            "{label} starts with a `From ` line: an mbox separator, not a header; it is sent as it is \
             (remove that line to send the message alone)"
        ));
    } else if !f.starts_with_field {
        out.warn(&format!(
            "{label} does not start with a header (Name: value): is it a message? It is sent as it is"
        ));
    }
    if !fixed {
        let missing = file.missing();
        if !missing.is_empty() {
            out.note(&format!(
                "{label} has no {} header; `--fix-headers` adds {} (the server may add {} itself)",
                missing.join(" or "),
                if missing.len() == 1 { "it" } else { "them" },
                if missing.len() == 1 { "it" } else { "them" },
            ));
        }
    }
    if f.fields.bcc {
        out.warn(&format!(
            "{label} has a Bcc header: headers are sent as they are, so every recipient sees it"
        ));
    }
    if f.nul {
        out.warn(&format!(
            "{label} contains NUL bytes, which RFC 5322 does not allow in a message; sent as it is"
        ));
    }
    if f.long_lines > 0 {
        out.warn(&format!(
            "{label} has {} longer than RFC 5322's 998 octets (the longest: {}); sent as it is, \
             though some servers refuse or break such lines",
            plural(f.long_lines as usize, "line"),
            f.longest_line
        ));
    }
}

/// A message file's error as the shell says it.
pub fn file_failure(e: MimeError) -> Failure {
    match e {
        MimeError::NotAFile { path, kind } => {
            Failure::local(format!("{} is {kind}, not a message file", path.display()))
                .hint("give the path of one message file, e.g. message.eml (Tab completes paths)")
        }
        MimeError::EmptyMessage { .. } => Failure::local(e.to_string())
            .hint("a message file holds headers, an empty line, then the text"),
        MimeError::HeaderEnvelope(_) | MimeError::HeaderTooLarge { .. } => {
            Failure::local(e.to_string()).hint(
                "give the envelope yourself: `from ADDRESS` and `to ADDRESS`, without \
                 --envelope-from-headers",
            )
        }
        e @ MimeError::File { .. } => {
            Failure::local(e.to_string()).hint("Tab completes paths; `-` reads standard input")
        }
        e => Failure::local(e.to_string()),
    }
}

/// `send --message PATH [--fix-headers] [--envelope-from-headers] [--keep-open]`.
pub fn send_message(
    s: &mut Session,
    input: &mut dyn Input,
    a: &Args,
    word: &str,
) -> Result<(), Failure> {
    let from_headers = a.flag("--envelope-from-headers");
    // A wrong path is the first thing to say, before what the draft lacks.
    if word == "-" {
        if let Some(f) = stdin_refusal(std::io::stdin().is_terminal(), input::script_reads_stdin())
        {
            return Err(f);
        }
    } else {
        crate::mime::draft::check_file(&expand_tilde(word)).map_err(file_failure)?;
    }
    if from_headers && let Some(t) = s.conversation().and_then(|c| c.transaction()) {
        return Err(Failure::local(format!(
            "a mail transaction is open already ({} accepted); --envelope-from-headers needs a new one",
            plural(t.accepted().len(), "recipient")
        ))
        .hint("`rset` ends it (or send without --envelope-from-headers)"));
    }
    if !from_headers && s.draft.from.is_none() {
        return Err(
            Failure::local("the draft has no sender for the envelope").hint(
                "set one: from alice@example.com — or take it from the file's headers with \
             --envelope-from-headers",
            ),
        );
    }
    let mut source = open_source(&s.out, &s.interrupt, word, a.flag("--fix-headers"))?;
    let result = send_source(s, &source, from_headers, a.flag("--keep-open"));
    if let Err(f) = result {
        // Standard input cannot be read twice: in a script, keep it.
        if !input.interactive() && source.spool.is_some() {
            return Err(match keep_spool(s, &mut source, from_headers) {
                Ok(note) | Err(note) => f.also(note),
            });
        }
        return Err(f);
    }
    Ok(())
}

/// The envelope, the transaction, and what becomes of the draft.
fn send_source(
    s: &mut Session,
    source: &Source,
    from_headers: bool,
    keep_open: bool,
) -> Result<(), Failure> {
    let label = source.label();
    let (from, recipients) = if from_headers {
        let header = source
            .file
            .header_bytes(HEADER_LIMIT)
            .map_err(file_failure)?;
        let env = HeaderEnvelope::parse(&header).map_err(file_failure)?;
        let recipients = env.recipients();
        s.out.note(&format!(
            "envelope from the headers: sender {} ({}), {} (To, Cc, Bcc)",
            env.from,
            if env.from_sender_header {
                "Sender"
            } else {
                "From"
            },
            plural(recipients.len(), "recipient")
        ));
        (env.from, recipients)
    } else {
        let Some(from) = s.draft.from.clone() else {
            return Err(Failure::local("the draft has no sender"));
        };
        adopt_accepted_recipients(s);
        let recipients = s.draft.recipients();
        if recipients.is_empty() {
            return Err(Failure::local("the draft has no recipients").hint(
                "add one: to bob@example.com — or take them from the file's headers with \
                 --envelope-from-headers",
            ));
        }
        if has_content(s) {
            s.out.note(&format!(
                "the draft's subject, body, headers and attachments are not sent: {label} is the \
                 message (they stay in the draft)"
            ));
        }
        (from, recipients)
    };
    if s.live.is_none() {
        return Err(s.not_connected());
    }
    let params = if from_headers {
        EnvelopeParams::default()
    } else {
        EnvelopeParams::of(&s.draft)
    };
    let sent = transmit(s, &source.file, &from, &recipients, params, keep_open)?;
    match &sent.per_recipient {
        Some(per) if !per.all_delivered() && !per.delivered.is_empty() => {
            let last = LastSent::File {
                label: label.clone(),
                size: source.file.size(),
            };
            let reached = if from_headers {
                &[][..]
            } else {
                &per.delivered[..]
            };
            super::protocol::message_accepted(s, reached, Some(last));
        }
        _ if sent.accepted => file_sent(s, &label, source.file.size(), !from_headers),
        _ => {}
    }
    s.out.judge_by_all(sent.judged);
    sent.outcome
}

/// Whether the draft holds more than an envelope.
fn has_content(s: &Session) -> bool {
    let d = &s.draft;
    d.subject.is_some() || !d.body.is_empty() || !d.headers.is_empty() || !d.attachments.is_empty()
}

/// After a message file was accepted: it is the message sent last; with
/// the draft's envelope, its recipients are spent (the sender is kept),
/// and a draft that was nothing but that envelope has nothing left unsent.
pub fn file_sent(s: &mut Session, label: &str, size: u64, draft_envelope: bool) {
    s.last_sent = Some(LastSent::File {
        label: label.to_string(),
        size,
    });
    if !draft_envelope {
        return;
    }
    let content = has_content(s);
    let d = &mut s.draft;
    d.to.clear();
    d.cc.clear();
    d.bcc.clear();
    d.rcpt_params.clear();
    if !content {
        s.unsent = false;
    }
    s.out.note(
        "the draft's recipients were used for that message and are cleared (the sender is kept)",
    );
}

/// `data --file PATH [--fix-headers]`: DATA by hand, then the file after
/// the 354 (dot-stuffed, then the final dot), in the transaction typed so
/// far (`from`/`to`, `MAIL FROM:<a>`/`RCPT TO:<b>`, `raw ...`).
pub fn data_file(s: &mut Session, word: &str, fix: bool) -> Result<(), Failure> {
    s.open_live()?;
    super::tls::require_secure(s, "DATA")?;
    let source = open_source(&s.out, &s.interrupt, word, fix)?;
    let size = source.file.size();
    if source.file.has_8bit() {
        s.out.note(
            "the message has 8-bit bytes: RFC 6152 wants BODY=8BITMIME on MAIL FROM for them \
             (`send --message` adds it when the server offers 8BITMIME)",
        );
    }
    super::draft::size_check(s, size, false)?;
    let accepted_before: Vec<String> = s
        .conversation()
        .and_then(|c| c.transaction())
        .map(|t| t.accepted().to_vec())
        .unwrap_or_default();
    let reply = s.exchange(&Command::data())?;
    if reply.code != 354 {
        judge(&reply, "DATA")?;
        return Err(Failure::new(
            FailKind::Refused,
            format!(
                "the server answered DATA with {} instead of 354; the file was not sent",
                reply.code
            ),
        ));
    }
    let (live, out) = s.open_parts()?;
    let mut progress = Progress::on_stderr(size);
    let result = stream_after_354(&mut live.conn, out, &source.file, &mut progress);
    progress.clear();
    if let Err(e) = result {
        return Err(match e {
            Stop::File(e) => file_send_failure(e, &s.interrupt),
            Stop::Conn(e) => conn_failure(e),
        });
    }
    let reply = final_reply(&mut live.conn, out)?;
    let last = LastSent::File {
        label: source.label(),
        size,
    };
    super::protocol::message_ended(s, &reply, &accepted_before, Some(last))
}

/// Why streaming after the 354 stopped.
enum Stop {
    File(MimeError),
    Conn(crate::smtp::ConnError),
}

/// The file through a DATA writer, then the final dot. A failure drops
/// the writer unfinished, which closes the connection without the dot.
fn stream_after_354(
    conn: &mut Connection,
    out: &mut Output,
    file: &MessageFile,
    progress: &mut Progress,
) -> Result<u64, Stop> {
    let mut writer = conn.data_writer().map_err(Stop::Conn)?;
    file.write_to_sink(&mut Meter::new(&mut writer, progress))
        .map_err(Stop::File)?;
    progress.clear();
    writer.finish(out).map_err(Stop::Conn)
}

/// A message file that stopped on its way after the 354: the connection
/// was closed without the final dot.
pub fn file_send_failure(e: MimeError, interrupt: &AtomicBool) -> Failure {
    let (kind, what) = if interrupt.load(Ordering::SeqCst) {
        (FailKind::Interrupted, "interrupted (Ctrl-C)".to_string())
    } else if matches!(e, MimeError::Write(_)) {
        (FailKind::Connection, e.to_string())
    } else {
        (FailKind::Local, e.to_string())
    };
    Failure::new(kind, format!("sending stopped: {what}")).hint(
        "the connection was closed before the final dot, so the server did not accept a partial \
         message; `connect` again to start over",
    )
}

/// Moves the spool of standard input into the dead-letter directory after
/// a failed send in a script; the note says where and how to send it again.
fn keep_spool(s: &Session, source: &mut Source, from_headers: bool) -> Result<String, String> {
    let why = |e: String| {
        format!("the message from standard input was not sent, and it was not kept: {e}")
    };
    let Some(dir) = s.dead_letters.clone() else {
        return Err(why("neither XDG_STATE_HOME nor HOME is set".to_string()));
    };
    crate::local::create_private_dir(&dir).map_err(|e| why(e.to_string()))?;
    let name = format!(
        "{}-stdin-{:08x}.eml",
        crate::clock::compact(SystemTime::now()),
        crate::local::random_u64() as u32
    );
    let path = dir.join(name);
    let spool = source
        .spool
        .as_mut()
        .ok_or_else(|| why("no spool".to_string()))?;
    spool.keep(&path).map_err(why)?;
    Ok(format!(
        "the message from standard input was not sent; it was saved as a dead letter: {}\n{}",
        path.display(),
        super::send::resend_note(s, &path, from_headers)
    ))
}

#[cfg(test)]
mod tests;
