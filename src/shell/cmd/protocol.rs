//! The protocol verbs as typed: `ehlo`, `helo`, `rset`, `noop`, `vrfy`,
//! `expn`, `raw`, and `data` with the hand-typed message after its 354
//! (or a file: `data --file PATH`, see [`super::message`]).
//! Every line goes through the conversation, so what `raw` does counts
//! like the command it spells (an accepted `raw RCPT TO:<x>` is a
//! recipient of the transaction).

use super::message::{file_send_failure, open_source};
use super::script::{is_reply_expect, judge_expect_line};
use super::tls::require_secure;
use super::{greet, helo_name, record_to};
use crate::mime::Content;
use crate::shell::args::{Args, parse_line};
use crate::shell::delivery::final_reply;
use crate::shell::delivery::lmtp::PerRecipient;
use crate::shell::failure::{FailKind, Failure, command_error, conn_failure, judge, not_connected};
use crate::shell::input::{Input, Line};
use crate::shell::session::{LastSent, Session};
use crate::smtp::{Command, Reply, Verb};
use std::io::Write;

/// The longest hand-typed message kept for `show --last`.
const MAX_KEPT_TYPED: usize = 1024 * 1024;

/// `ehlo [DOMAIN]`, `helo [DOMAIN]` and `lhlo [DOMAIN]`.
fn greeting_command(s: &mut Session, a: &Args, verb: Verb) -> Result<(), Failure> {
    s.open_live()?;
    let lmtp = s.conversation().is_some_and(|c| c.is_lmtp());
    let verb = match verb {
        Verb::Helo if lmtp => {
            return Err(Failure::local(
                "LMTP has no HELO (RFC 2033 §4.1): this connection speaks LMTP",
            )
            .hint("`lhlo` greets an LMTP server (`ehlo` sends LHLO too)"));
        }
        Verb::Ehlo if lmtp => {
            s.out
                .note("this connection speaks LMTP: LHLO instead of EHLO (RFC 2033 §4.1)");
            Verb::Lhlo
        }
        v => v,
    };
    let name = a.words.first().cloned().unwrap_or_else(|| helo_name(s));
    let reply = greet(s, &name, verb)?;
    judge(&reply, verb.name())
}

/// `ehlo [DOMAIN]` (LHLO on an LMTP connection).
pub fn ehlo(s: &mut Session, a: Args) -> Result<(), Failure> {
    greeting_command(s, &a, Verb::Ehlo)
}

/// `helo [DOMAIN]` (refused on an LMTP connection).
pub fn helo(s: &mut Session, a: Args) -> Result<(), Failure> {
    greeting_command(s, &a, Verb::Helo)
}

/// `lhlo [DOMAIN]`: the LMTP greeting (RFC 2033); once accepted, the
/// connection speaks LMTP.
pub fn lhlo(s: &mut Session, a: Args) -> Result<(), Failure> {
    greeting_command(s, &a, Verb::Lhlo)
}

/// Sends `cmd`; fails unless the reply is 2xx/3xx.
fn simple(s: &mut Session, cmd: &Command) -> Result<Reply, Failure> {
    let reply = s.exchange(cmd)?;
    judge(&reply, cmd.word())?;
    Ok(reply)
}

/// `rset`.
pub fn rset(s: &mut Session) -> Result<(), Failure> {
    simple(s, &Command::rset()).map(|_| ())
}

/// `noop`.
pub fn noop(s: &mut Session) -> Result<(), Failure> {
    simple(s, &Command::noop()).map(|_| ())
}

/// `vrfy ARG`.
pub fn vrfy(s: &mut Session, a: Args) -> Result<(), Failure> {
    let cmd = Command::vrfy(&a.rest).map_err(command_error)?;
    simple(s, &cmd).map(|_| ())
}

/// `expn ARG`.
pub fn expn(s: &mut Session, a: Args) -> Result<(), Failure> {
    let cmd = Command::expn(&a.rest).map_err(command_error)?;
    simple(s, &cmd).map(|_| ())
}

/// Why `raw` does not send a line with `verb`: what follows it is more
/// than a line (a TLS handshake, a chunk) or a secret. Tab completion
/// leaves these verbs out.
pub fn raw_refusal(verb: Verb) -> Option<Failure> {
    Some(match verb {
        Verb::StartTls => Failure::local(
            "`raw STARTTLS` cannot work: after 220 the server expects a TLS handshake",
        )
        .hint("use `starttls`: it does the handshake and greets again"),
        Verb::Auth => {
            Failure::local("`raw AUTH` would put credentials in the transcript and the history")
                .hint("use `auth [MECHANISM] [USER]`: it asks for the password and masks it")
        }
        Verb::Bdat => Failure::local(
            "`raw BDAT` cannot carry the chunk: its bytes must follow the command line at once",
        )
        .hint("`set transfer bdat`, then `send`, sends the draft as a BDAT chunk"),
        _ => return None,
    })
}

/// `raw LINE`: the line exactly as typed (no unquoting).
pub fn raw(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let cmd = Command::raw(&a.verbatim).map_err(command_error)?;
    s.open_live()?;
    let word = cmd.word().to_string();
    if let Some(f) = raw_refusal(cmd.verb()) {
        return Err(f);
    }
    if matches!(cmd.verb(), Verb::Mail | Verb::Rcpt | Verb::Data) {
        require_secure(s, &word)?;
    }
    let reply = s.exchange(&cmd)?;
    super::xclient::after_reply(s, &cmd, &reply);
    match cmd.verb() {
        Verb::Quit => s.drop_live(),
        Verb::Data if reply.code == 354 => return data_entry(s, input),
        _ => {}
    }
    judge(&reply, &word)
}

/// `data [--file PATH [--fix-headers]]`: DATA, then the message typed by
/// hand, or the file.
pub fn data(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    if let Some(word) = a.opt("--file") {
        return super::message::data_file(s, word, a.flag("--fix-headers"));
    }
    if a.flag("--fix-headers") {
        return Err(Failure::local("--fix-headers goes with --file PATH")
            .hint("data --file message.eml --fix-headers"));
    }
    s.open_live()?;
    require_secure(s, "DATA")?;
    let reply = s.exchange(&Command::data())?;
    if reply.code == 354 {
        return data_entry(s, input);
    }
    judge(&reply, "DATA")?;
    Err(Failure::new(
        FailKind::Refused,
        format!(
            "the server answered DATA with {} instead of 354; no message was sent",
            reply.code
        ),
    ))
}

/// After a 354: the typed lines are the message until a lone `.`.
fn data_entry(s: &mut Session, input: &mut dyn Input) -> Result<(), Failure> {
    if input.interactive() {
        s.out.note("type the message: headers, an empty line, the text; a line with only '.' ends it (Ctrl-C cancels); or `data --file PATH` sends a file");
    }
    let accepted_before: Vec<String> = s
        .conversation()
        .and_then(|c| c.transaction())
        .map(|t| t.accepted().to_vec())
        .unwrap_or_default();
    let typed = match type_message(s, input) {
        Ok(typed) => typed,
        Err(f) => {
            // Closed without the final dot (the writer saw to it); the
            // prompt and `status` keep saying how it ended.
            if let Some(live) = s.live.as_mut() {
                live.conn.close();
            }
            return Err(f.hint("`connect` again to start over"));
        }
    };
    let (live, out) = s.open_parts()?;
    let reply = final_reply(&mut live.conn, out)?;
    let last = match typed {
        Entered::Typed(text) => text.map(LastSent::Typed),
        Entered::File { label, size } => Some(LastSent::File { label, size }),
    };
    message_ended(s, &reply, &accepted_before, last)
}

/// After the reply to the end of a message typed by hand (or a file after
/// DATA): in SMTP the one reply says it all; in LMTP each recipient's
/// reply is shown in a summary, the recipients the message reached leave
/// the draft, and `expect` judges the replies of those it did not reach
/// (a partial delivery is a refusal, see [`PerRecipient`]).
pub(super) fn message_ended(
    s: &mut Session,
    reply: &Reply,
    accepted_before: &[String],
    last: Option<LastSent>,
) -> Result<(), Failure> {
    let Some(per) = s.conversation().and_then(PerRecipient::of) else {
        if reply.is_positive() {
            message_accepted(s, accepted_before, last);
        }
        return judge(reply, "the message");
    };
    per.report(&s.out);
    if !per.delivered.is_empty() {
        message_accepted(s, &per.delivered, last);
    }
    s.out.judge_by_all(per.judged(reply));
    per.verdict()
}

/// What was entered after the 354.
enum Entered {
    /// Lines typed (kept when small).
    Typed(Option<String>),
    /// A file, named by `data --file PATH` as the first line.
    File {
        /// Its path as shown, or "standard input".
        label: String,
        /// Bytes sent.
        size: u64,
    },
}

/// `data --file PATH [--fix-headers]` as a line: the path and the flag.
fn data_file_line(line: &str) -> Option<(String, bool)> {
    let (spec, a) = parse_line(line).ok()?;
    if spec.name != "data" {
        return None;
    }
    Some((a.opt("--file")?.to_string(), a.flag("--fix-headers")))
}

/// Reads the message lines and streams them; the final dot ends it.
/// Returns the text typed (kept for `show --last` when small). A first
/// line `data --file PATH` sends that file instead (after `raw DATA`,
/// whose 354 has come already).
fn type_message(s: &mut Session, input: &mut dyn Input) -> Result<Entered, Failure> {
    let Some(live) = s.live.as_mut() else {
        return Err(not_connected());
    };
    let mut writer = live.conn.data_writer().map_err(conn_failure)?;
    let mut kept = Some(String::new());
    let mut first = true;
    // No message line yet (an `expect` first is none).
    let mut empty = true;
    loop {
        let line = match input.continuation("data> ") {
            Line::Text(l) => l,
            Line::Eof | Line::Interrupted => {
                return Err(Failure::new(
                    FailKind::Interrupted,
                    "message entry cancelled: the connection was closed without the final dot, so the server discards it",
                ));
            }
        };
        // In a script, `expect 354` may follow `raw DATA` / `data`
        // directly: it checks the 354 and is not message text.
        if first && !input.interactive() && is_reply_expect(&line) {
            judge_expect_line(&s.out, &mut s.vars, &line)?;
            first = false;
            continue;
        }
        if empty && let Some((word, fix)) = data_file_line(&line) {
            let source = match open_source(&s.out, &s.interrupt, &word, fix) {
                Ok(source) => source,
                Err(f) if input.interactive() => {
                    s.out.error(&f.message);
                    if let Some(h) = &f.hint {
                        s.out.hint(h);
                    }
                    s.out
                        .note("still in the message: type it, or `data --file PATH` again");
                    continue;
                }
                Err(f) => return Err(f),
            };
            record_to(&mut s.record, &s.out, &line);
            source
                .file
                .write_to(&mut writer)
                .map_err(|e| file_send_failure(e, &s.interrupt))?;
            writer.finish(&mut s.out).map_err(conn_failure)?;
            return Ok(Entered::File {
                label: source.label(),
                size: source.file.size(),
            });
        }
        first = false;
        empty = false;
        record_to(&mut s.record, &s.out, &line);
        if line == "." {
            break;
        }
        kept = kept
            .filter(|k| k.len() + line.len() < MAX_KEPT_TYPED)
            .map(|mut k| {
                k.push_str(&line);
                k.push('\n');
                k
            });
        writer
            .write_all(line.as_bytes())
            .and_then(|_| writer.write_all(b"\r\n"))
            .map_err(|e| {
                Failure::new(
                    FailKind::Connection,
                    format!("sending the message failed: {e}"),
                )
            })?;
    }
    writer.finish(&mut s.out).map_err(conn_failure)?;
    Ok(Entered::Typed(kept))
}

/// After a message typed by hand (or a file after DATA) was accepted: it
/// went to the recipients of the transaction, so they leave the draft (a
/// later `send` must not mail them again unasked); when the draft held
/// nothing but the envelope, that message was the message and nothing is
/// left unsent.
pub(super) fn message_accepted(s: &mut Session, accepted: &[String], last: Option<LastSent>) {
    let d = &mut s.draft;
    let before = d.recipients().len();
    for list in [&mut d.to, &mut d.cc, &mut d.bcc] {
        list.retain(|m| {
            !accepted
                .iter()
                .any(|a| a.eq_ignore_ascii_case(m.address.as_str()))
        });
    }
    let removed = before - d.recipients().len();
    let envelope_only = d.subject.is_none()
        && d.body.is_empty()
        && d.headers.is_empty()
        && d.attachments.is_empty();
    if envelope_only {
        s.unsent = false;
    }
    if let Some(last) = last {
        s.last_sent = Some(last);
    }
    if removed > 0 {
        s.out.note(&format!(
            "the draft no longer lists the {} that message went to (`show --last` shows it)",
            super::plural(removed, "recipient")
        ));
    }
}
