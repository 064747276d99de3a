//! `send`: the draft as one message on the current connection (the
//! transaction itself is [`crate::shell::delivery`]), then QUIT. After
//! the message is accepted the next one starts clean; when a script's
//! send fails, the message is kept as a dead letter, and the note says
//! the command that sends it again. `send --message PATH` is in
//! [`super::message`].

use super::connect::quit_connection;
use super::draft::{compose_draft, write_message};
use super::plural;
use crate::address::{Address, Mailbox, ReversePath};
use crate::mime::{Content, Draft};
use crate::shell::args::Args;
use crate::shell::delivery::lmtp::PerRecipient;
use crate::shell::delivery::{Delivery, EnvelopeParams, Policy};
use crate::shell::failure::{Failure, judge};
use crate::shell::input::Input;
use crate::shell::output::human_bytes;
use crate::shell::progress::{self, Progress};
use crate::shell::session::{LastSent, Session};
use crate::smtp::Reply;
use std::path::Path;
use std::time::SystemTime;

/// `send [--keep-open] [--message PATH|- [--fix-headers] [--envelope-from-headers]]`.
pub fn send(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    if let Some(word) = a.opt("--message") {
        let word = word.to_string();
        return super::message::send_message(s, input, &a, &word);
    }
    if let Some(flag) = ["--fix-headers", "--envelope-from-headers"]
        .into_iter()
        .find(|f| a.flag(f))
    {
        return Err(Failure::local(format!(
            "{flag} goes with --message PATH: the draft has no file"
        ))
        .hint("send --message message.eml --fix-headers"));
    }
    // Nothing typed is lost: in a script, a message that failed to go out
    // (for any reason) is kept as a dead letter, said after the failure
    // itself; interactively the draft stays in the session and `save`
    // writes it.
    let mut partly = false;
    send_draft(s, a.flag("--keep-open"), &mut partly).map_err(|f| {
        if input.interactive() {
            return f;
        }
        match save_dead_letter(s, partly) {
            Some(Ok(note) | Err(note)) => f.also(note),
            None => f,
        }
    })
}

/// `send` itself; `partly` is set when an LMTP message reached some of
/// its recipients but not all (the draft then keeps the others).
fn send_draft(s: &mut Session, keep_open: bool, partly: &mut bool) -> Result<(), Failure> {
    // Everything local first: nothing goes on the wire for a bad draft.
    let Some(from) = s.draft.from.clone() else {
        return Err(Failure::local("the draft has no sender")
            .hint("set one: from alice@example.com (or `from <>` for the null sender)"));
    };
    adopt_accepted_recipients(s);
    let recipients = s.draft.recipients();
    if recipients.is_empty() {
        return Err(
            Failure::local("the draft has no recipients").hint("add one: to bob@example.com")
        );
    }
    let msg = compose_draft(&mut s.draft)?;
    // Sent anyway: a broken image is the user's to judge, and said here.
    for w in super::mime_tree::reference_warnings(&s.draft) {
        s.out.warn(&w);
    }
    if s.live.is_none() {
        let f = s.not_connected();
        return Err(if s.last_target.is_some() {
            f
        } else {
            f.hint("connect first (`connect HOST [PORT]`); the draft is kept")
        });
    }
    let params = EnvelopeParams::of(&s.draft);
    let sent = transmit(s, &msg, &from, &recipients, params, keep_open)?;
    match &sent.per_recipient {
        Some(per) if !per.all_delivered() && !per.delivered.is_empty() => {
            *partly = true;
            partly_sent(s, &per.delivered);
        }
        Some(per) if !per.all_delivered() => {}
        _ if sent.accepted => start_clean(s),
        _ => {}
    }
    // `expect` after `send` judges the reply to the message, not QUIT's
    // (in LMTP: the replies of the recipients it did not reach).
    s.out.judge_by_all(sent.judged);
    sent.outcome
}

/// What [`transmit`] did: the final reply and how it is judged.
pub struct Sent {
    /// The server accepted the message (in LMTP: for every recipient).
    pub accepted: bool,
    /// The replies `expect` judges: the reply to the end of the message;
    /// in LMTP, see [`PerRecipient::judged`].
    pub judged: Vec<Reply>,
    /// `Err` when the reply refused the message (in LMTP: when any
    /// recipient did not get it).
    pub outcome: Result<(), Failure>,
    /// LMTP: how each recipient fared.
    pub per_recipient: Option<PerRecipient>,
}

/// The transaction for `msg` on the open connection: the message, the
/// verdict and the time line, then QUIT unless `keep_open`. The caller
/// updates the draft, then hands `reply` to `expect`.
pub fn transmit(
    s: &mut Session,
    msg: &dyn Content,
    from: &ReversePath,
    recipients: &[Address],
    params: EnvelopeParams,
    keep_open: bool,
) -> Result<Sent, Failure> {
    // Greeted here, so a profile's EHLO name is the one used.
    super::ensure_greeted(s, "send needs a greeting")?;
    let policy = Policy {
        transfer: s.settings.transfer,
        require_tls: s.settings.require_tls,
        interrupt: s.interrupt.clone(),
    };
    let (live, out) = s.open_parts()?;
    let mut progress = Progress::on_stderr(msg.size());
    let done = Delivery::new(&mut live.conn, out, policy)
        .with_params(params)
        .run(msg, from, recipients, &mut progress)?;
    let per_recipient = s.conversation().and_then(PerRecipient::of);
    let (accepted, judged, outcome) = match &per_recipient {
        Some(per) => {
            per.report(&s.out);
            (per.all_delivered(), per.judged(&done.reply), per.verdict())
        }
        None => {
            if done.accepted() {
                s.out.ok(&format!(
                    "message accepted for {} ({} sent)",
                    plural(done.recipients, "recipient"),
                    human_bytes(done.bytes)
                ));
            }
            (
                done.accepted(),
                vec![done.reply.clone()],
                judge(&done.reply, "the message"),
            )
        }
    };
    s.out.note(&progress::time_line(done.bytes, done.elapsed));
    if !keep_open && s.is_open() {
        let _ = quit_connection(s);
    }
    Ok(Sent {
        accepted,
        judged,
        outcome,
        per_recipient,
    })
}

/// After an LMTP message reached some recipients but not all: it is the
/// message sent last, and the recipients it reached leave the draft,
/// which keeps the rest (and its text), so `send` again tries only those
/// it did not reach.
fn partly_sent(s: &mut Session, delivered: &[String]) {
    s.last_sent = Some(LastSent::Draft(Box::new(s.draft.clone())));
    let d = &mut s.draft;
    for list in [&mut d.to, &mut d.cc, &mut d.bcc] {
        list.retain(|m| {
            !delivered
                .iter()
                .any(|a| a.eq_ignore_ascii_case(m.address.as_str()))
        });
    }
    let left: Vec<String> = d.recipients().iter().map(ToString::to_string).collect();
    // A new Date and Message-ID when it goes again.
    s.touch_draft();
    s.out.note(&format!(
        "the draft keeps only the {} the message did not reach ({}); `send` tries {} again \
         (`show --last` shows the message as sent)",
        plural(left.len(), "recipient"),
        left.join(", "),
        if left.len() == 1 { "it" } else { "them" }
    ));
}

/// Recipients the server accepted in the open transaction that the draft
/// does not list (sent with `raw RCPT TO:<x>`): the message goes to them
/// as well, so they join the draft as Bcc — in the envelope, not in the
/// header — and a note says so. The draft then tells who the message
/// went to (`status`, `show --last`, `new --again`).
pub(super) fn adopt_accepted_recipients(s: &mut Session) {
    let listed = s.draft.recipients();
    let extra: Vec<Mailbox> = s
        .conversation()
        .and_then(|c| c.transaction())
        .map(|t| t.accepted())
        .unwrap_or_default()
        .iter()
        .filter(|a| !listed.iter().any(|l| l.as_str().eq_ignore_ascii_case(a)))
        .filter_map(|a| Mailbox::parse(a).ok())
        .collect();
    if extra.is_empty() {
        return;
    }
    let names: Vec<String> = extra.iter().map(|m| m.address.to_string()).collect();
    s.out.note(&format!(
        "the server accepted {} with RCPT TO already: the message goes there too, \
         as Bcc (in the envelope, not in the header)",
        names.join(", ")
    ));
    s.draft.bcc.extend(extra);
    s.touch_draft();
}

/// After a message was accepted: it is kept as the last one sent, and the
/// draft keeps only its sender, so the next message cannot go to the old
/// recipients by mistake.
fn start_clean(s: &mut Session) {
    let sender = s.draft.from.clone();
    let mail_params = s.draft.mail_params.clone();
    let sent = std::mem::replace(
        &mut s.draft,
        Draft {
            from: sender,
            mail_params,
            ..Draft::default()
        },
    );
    s.last_sent = Some(LastSent::Draft(Box::new(sent)));
    s.unsent = false;
    let sender = s.draft.from.as_ref().map_or_else(
        || "-".to_string(),
        |f| match s.draft.mail_params.list.as_slice() {
            [] => f.to_string(),
            params => format!("{f} with {}", params.join(" ")),
        },
    );
    s.out.note(&format!(
        "draft cleared but for the sender ({sender}); `show --last` shows the message sent, \
         `new --again` restores it"
    ));
}

/// After a failed `send` in a script: writes the draft as a message into
/// the dead-letter directory (directory 0700, file 0600), named with the
/// UTC date and the Message-ID's unique part. Returns what to tell the
/// user: `Ok` with the path, `Err` with why none was written, `None` for
/// an empty draft. The draft itself is unchanged. `partly`: an LMTP
/// message reached some recipients, and the draft holds the others.
pub fn save_dead_letter(s: &mut Session, partly: bool) -> Option<Result<String, String>> {
    let not_sent = if partly {
        let left: Vec<String> = s
            .draft
            .recipients()
            .iter()
            .map(ToString::to_string)
            .collect();
        format!("the message did not reach {}", left.join(", "))
    } else {
        "the message was not sent".to_string()
    };
    if s.draft.is_empty() {
        return None;
    }
    let Some(dir) = s.dead_letters.clone() else {
        return Some(Err(format!(
            "{not_sent}, and no dead letter was written: neither XDG_STATE_HOME nor HOME is set"
        )));
    };
    if let Err(e) = crate::local::create_private_dir(&dir) {
        return Some(Err(format!(
            "{not_sent}, and no dead letter was written: cannot create {}: {e}",
            dir.display()
        )));
    }
    if let Err(f) = compose_draft(&mut s.draft) {
        return Some(Err(format!(
            "{not_sent}, and no dead letter was written: {}",
            f.message
        )));
    }
    let unique: String = s
        .draft
        .stamp
        .as_ref()
        .map(|st| st.message_id.trim_start_matches('<'))
        .and_then(|id| id.split('@').next())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
        .collect();
    let base = format!("{}-{unique}", crate::clock::compact(SystemTime::now()));
    let mut path = dir.join(format!("{base}.eml"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("{base}-{n}.eml"));
    }
    Some(match write_message(&mut s.draft, &path, true) {
        Ok(_) => {
            let mut note = format!(
                "{not_sent}; it was saved as a dead letter: {}",
                path.display()
            );
            if !s.draft.bcc.is_empty() {
                let bcc: Vec<String> = s.draft.bcc.iter().map(|m| m.address.to_string()).collect();
                note.push_str(&format!(
                    "\nBcc recipients are never written into a message; they were: {}",
                    bcc.join(", ")
                ));
            }
            note.push('\n');
            note.push_str(&resend_note(s, &path, false));
            Ok(note)
        }
        Err(f) => Err(format!(
            "{not_sent}, and no dead letter was written: {}",
            f.message
        )),
    })
}

/// The line after a dead letter's: the command that sends it again, with
/// the draft's envelope (or `--envelope-from-headers`), to the server of
/// the last `connect`.
pub fn resend_note(s: &Session, path: &Path, from_headers: bool) -> String {
    format!(
        "to send it again: {}",
        resend_command(s, path, from_headers)
    )
}

/// `smtpsh -c 'connect HOST PORT' -c 'from A' -c 'to B' ... -c 'send --message PATH'`,
/// quoted for a POSIX shell: the options the session runs with
/// (require-tls, the CA file, `--insecure`), the last connect target
/// (`connect sandbox` for the sandbox, which lives in its own process),
/// the draft's sender and recipients, and the file. Without a connect
/// target, `HOST` stands in for it.
pub fn resend_command(s: &Session, path: &Path, from_headers: bool) -> String {
    let q = crate::shell::args::quote_word;
    let mut words = vec!["smtpsh".to_string()];
    if s.settings.require_tls {
        words.push("--require-tls".to_string());
    }
    words.extend(s.settings.tls.words().iter().map(|w| q(w)));
    let mut lines = vec![connect_line(s)];
    if !from_headers {
        let d = &s.draft;
        match &d.from {
            Some(ReversePath::Null) => lines.push("from <>".to_string()),
            Some(ReversePath::Mailbox(m)) => lines.push(format!("from {}", m.address)),
            None => {}
        }
        for (verb, list) in [("to", &d.to), ("cc", &d.cc), ("bcc", &d.bcc)] {
            if !list.is_empty() {
                let addrs: Vec<String> = list.iter().map(|m| q(m.address.as_str())).collect();
                lines.push(format!("{verb} {}", addrs.join(" ")));
            }
        }
    }
    let mut send = format!("send --message {}", q(&path.display().to_string()));
    if from_headers {
        send.push_str(" --envelope-from-headers");
    }
    lines.push(send);
    for line in lines {
        words.push("-c".to_string());
        words.push(q(&line));
    }
    words.join(" ")
}

/// The `connect` line for the last target.
pub(crate) fn connect_line(s: &Session) -> String {
    use super::tls::TlsMode;
    let Some(t) = &s.last_target else {
        return "connect HOST".to_string();
    };
    let sandbox = s
        .sandbox
        .as_ref()
        .is_some_and(|sb| sb.port() == t.port && t.host == "127.0.0.1" && t.socket.is_none());
    if sandbox && !t.lmtp {
        return "connect sandbox".to_string();
    }
    let mode = match t.mode {
        TlsMode::Auto => "",
        TlsMode::Implicit => "--tls ",
        TlsMode::StartTls => "--starttls ",
    };
    let lmtp = if t.lmtp { "--lmtp " } else { "" };
    let q = crate::shell::args::quote_word;
    let mut line = match &t.socket {
        Some(path) => format!("connect {lmtp}{}", q(&format!("unix:{}", path.display()))),
        None => format!("connect {mode}{lmtp}{} {}", q(&t.host), t.port),
    };
    if t.tls != s.settings.tls {
        for word in t.tls.words() {
            line.push(' ');
            line.push_str(&q(&word));
        }
    }
    line
}
