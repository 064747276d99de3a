//! The commands, grouped by concern, and the few helpers they share.
//!
//! - [`connect`]: `connect`, `quit`, `exit`; opening and closing connections.
//! - [`tls`]: `starttls`, TLS on connect, `require-tls`, TLS in `status`;
//!   [`tls_options`]: the TLS controls (`--cert`, `--pin`, ...) of a target;
//!   [`tls_chain`]: the server's chain in `status`, `cert show`, `cert save`.
//! - [`auth`]: `auth` and the password prompt.
//! - [`protocol`]: `ehlo`, `helo`, `rset`, `noop`, `vrfy`, `expn`, `raw`, `data`.
//! - [`envelope`]: `from`, `to`, `cc`, `bcc`.
//! - [`draft`]: `subject`, `body`, `attach`, `detach`, `header`, `new`, `show`, `save`;
//!   [`edit`]: `edit`, the text in the user's editor; [`mime_tree`]: the
//!   MIME tree and `cid:` checks `show` prints.
//! - [`send`]: `send` (the transaction itself is [`super::delivery`]);
//!   [`message`]: `send --message` and `data --file`, existing messages.
//! - [`script`]: `expect`, `source`, `record`.
//! - [`info`]: `help`, `status`, `history`, `set`, `clear`.
//! - [`inbox`], [`mx`]: the sandbox's inbox; `connect --mx`.

pub mod auth;
pub mod connect;
pub mod draft;
pub mod edit;
pub mod envelope;
pub mod inbox;
pub mod info;
pub mod message;
pub mod mime_tree;
pub mod mx;
pub mod net;
pub mod protocol;
pub mod script;
pub mod send;
pub mod tls;
pub mod tls_chain;
pub mod tls_options;
pub mod xclient;

use super::failure::{FailKind, Failure, command_error, judge};
use super::input::{Input, Line};
use super::output::Output;
use super::session::{Recording, Session, exchange_on};
use crate::smtp::{Command, Connection, Reply, Stage, Verb};

/// The name to greet with: the host name when it is a full name, else our
/// address as a literal (servers often refuse `localhost`).
pub fn default_helo_name(conn: Option<&Connection>) -> String {
    let host = crate::local::host_name();
    if host.contains('.') && !host.starts_with("localhost") {
        return host;
    }
    match conn.and_then(Connection::local) {
        Some(std::net::SocketAddr::V4(a)) => format!("[{}]", a.ip()),
        Some(std::net::SocketAddr::V6(a)) => format!("[IPv6:{}]", a.ip()),
        None => "localhost.localdomain".to_string(),
    }
}

/// The default greeting name for the session's connection: its
/// profile's `ehlo`, else [`default_helo_name`].
pub fn helo_name(s: &Session) -> String {
    match s.profile().and_then(|p| p.ehlo.clone()) {
        Some(name) => name,
        None => default_helo_name(s.live.as_ref().map(|l| &l.conn)),
    }
}

/// Sends EHLO, HELO or LHLO `name` and reads the reply (the conversation
/// takes note of an accepted greeting). In LMTP, EHLO is LHLO.
pub fn greet(s: &mut Session, name: &str, verb: Verb) -> Result<Reply, Failure> {
    let lmtp = s.conversation().is_some_and(|c| c.is_lmtp());
    let cmd = hello_command(verb, lmtp, name)?;
    s.exchange(&cmd)
}

/// The greeting command for `verb`; in LMTP (RFC 2033 §4.1), EHLO is LHLO.
fn hello_command(verb: Verb, lmtp: bool, name: &str) -> Result<Command, Failure> {
    match verb {
        Verb::Helo => Command::helo(name),
        Verb::Lhlo => Command::lhlo(name),
        _ if lmtp => Command::lhlo(name),
        _ => Command::ehlo(name),
    }
    .map_err(command_error)
}

/// Greets the server if the conversation is not greeted yet: EHLO, and
/// HELO when EHLO is refused (in LMTP: LHLO, and nothing else).
/// `why` says in a note why it happens now.
pub fn ensure_greeted(s: &mut Session, why: &str) -> Result<(), Failure> {
    let name = helo_name(s);
    let (live, out) = s.open_parts()?;
    greet_as(&mut live.conn, out, &name, why)
}

/// [`ensure_greeted`] on a connection, with the default name.
pub fn greet_on(conn: &mut Connection, out: &mut Output, why: &str) -> Result<(), Failure> {
    let name = default_helo_name(Some(conn));
    greet_as(conn, out, &name, why)
}

/// [`ensure_greeted`] on a connection, greeting as `name`.
fn greet_as(conn: &mut Connection, out: &mut Output, name: &str, why: &str) -> Result<(), Failure> {
    if conn.conversation().stage() != Stage::Connected {
        return Ok(());
    }
    let lmtp = conn.conversation().is_lmtp();
    let word = if lmtp { "LHLO" } else { "EHLO" };
    out.note(&format!(
        "the server was not greeted yet: {word} first ({why})"
    ));
    let ehlo = hello_command(Verb::Ehlo, lmtp, name)?;
    let reply = exchange_on(conn, out, &ehlo)?;
    if reply.is_positive() || conn.conversation().closed().is_some() || lmtp {
        // LMTP has no HELO (RFC 2033 §4.1).
        return judge(&reply, word);
    }
    out.note("EHLO refused; trying HELO");
    let helo = Command::helo(name).map_err(command_error)?;
    let reply = exchange_on(conn, out, &helo)?;
    judge(&reply, "HELO")
}

/// Writes a line to the `record` file, if recording.
pub fn record_line(s: &mut Session, line: &str) {
    record_to(&mut s.record, &s.out, line);
}

/// [`record_line`] on the session's fields, for code that holds a borrow
/// of the connection (the message writer) at the same time. A line read
/// while a command runs is held and written with the command when it ends
/// ([`script::record::finish`]).
pub fn record_to(record: &mut Option<Recording>, out: &Output, line: &str) {
    if let Some(rec) = record.as_mut()
        && let Err(e) = rec.line(line)
    {
        out.warn(&format!("recording to {} stopped: {e}", rec.path.display()));
        *record = None;
    }
}

/// Reads lines until a lone `.` (message text), recording each.
pub fn read_text_lines(
    s: &mut Session,
    input: &mut dyn Input,
    prompt: &str,
    what: &str,
) -> Result<Vec<String>, Failure> {
    let mut lines = Vec::new();
    loop {
        match input.continuation(prompt) {
            Line::Text(l) => {
                record_line(s, &l);
                if l == "." {
                    return Ok(lines);
                }
                lines.push(l);
            }
            Line::Eof if !input.interactive() => {
                return Err(Failure::local(format!(
                    "the input ended inside {what} (a line with only '.' must end it)"
                )));
            }
            Line::Eof | Line::Interrupted => {
                return Err(Failure::new(
                    FailKind::Interrupted,
                    format!("{what} cancelled"),
                ));
            }
        }
    }
}

/// `n thing` / `n things`.
pub fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}
