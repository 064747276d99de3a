//! What each command does. Every handler takes the session, the input (for
//! continuation lines) and its parsed arguments, and returns `Ok` or a
//! [`Failure`] that says what happened and what to do next.

use super::commands::{self, ArgStyle, COMMANDS, Spec};
use super::input::{Input, Line, ScriptInput};
use super::output::{ColorChoice, human_bytes};
use super::progress::{self, Meter, Progress, Upload};
use super::secure::{self, TlsMode};
use super::session::{Envelope, Session, Transfer, format_peer};
use crate::address::{Address, Mailbox, ReversePath};
use crate::mime::{self, Attachment, Draft, Message, Stamp, draft::validate_header};
use crate::smtp::{Command, CommandError, ConnError, ConnectOptions, Connection, Reply};
use std::fs;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime};

/// A command handler.
pub type Handler = fn(&mut Session, &mut dyn Input, Args) -> Result<(), Failure>;

/// What kind of failure, which decides a script's exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// Bad input, a missing file, an unknown command (exit status 1).
    Local,
    /// The connection could not be made or was lost (exit status 3).
    Connection,
    /// The server answered 4xx/5xx to a command that needed success (exit status 4).
    Refused,
    /// An `expect` did not match (exit status 5).
    Expect,
    /// Ctrl-C (exit status 130).
    Interrupted,
}

impl FailKind {
    /// The process exit status for a script that stops on this failure.
    pub fn exit_code(self) -> i32 {
        match self {
            FailKind::Local => 1,
            FailKind::Connection => 3,
            FailKind::Refused => 4,
            FailKind::Expect => 5,
            FailKind::Interrupted => 130,
        }
    }
}

/// A failed command.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The kind.
    pub kind: FailKind,
    /// One line: what happened.
    pub message: String,
    /// What to do next, if there is something useful to say.
    pub hint: Option<String>,
}

impl Failure {
    /// A local failure.
    pub fn local(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailKind::Local,
            message: message.into(),
            hint: None,
        }
    }
    /// Adds a line after the hint (or as the hint, when there is none).
    pub fn also(mut self, line: impl Into<String>) -> Failure {
        let line = line.into();
        self.hint = Some(match self.hint.take() {
            Some(h) => format!("{h}\n{line}"),
            None => line,
        });
        self
    }
    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
    fn new(kind: FailKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            hint: None,
        }
    }
}

/// A command's arguments.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// The plain words (options and their values removed); for
    /// [`ArgStyle::Rest`] commands, empty.
    pub words: Vec<String>,
    /// Options given: (name, value) — value `None` for flags.
    pub opts: Vec<(String, Option<String>)>,
    /// Everything after the command name, trimmed; a single fully quoted
    /// string is unquoted.
    pub rest: String,
    /// The command name as typed.
    pub typed: String,
    /// Everything after the command name exactly as typed (for `raw`).
    pub verbatim: String,
}

impl Args {
    fn opt(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
    fn flag(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| n == name)
    }
}

/// Splits a command line into its spec and arguments, checking options and
/// the number of words. Errors carry the usage line.
pub fn parse_line(line: &str) -> Result<(&'static Spec, Args), Failure> {
    let line = line.trim();
    // Nothing typed may carry a line break or NUL into a command or header.
    if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') {
        return Err(Failure::local(format!(
            "the line contains a control character ({}); it was not run",
            match c {
                '\r' => "CR".to_string(),
                '\n' => "LF".to_string(),
                '\0' => "NUL".to_string(),
                other => format!("U+{:04X}", other as u32),
            }
        ))
        .hint("commands and headers cannot carry line breaks; use `body` for multi-line text"));
    }
    let (name, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    };
    let Some(spec) = commands::find(name) else {
        let mut f = Failure::local(format!("unknown command '{name}'"));
        let sugg = commands::suggest(name);
        f = if sugg.is_empty() {
            f.hint("type `help` for the list of commands, or `raw LINE` to send any SMTP line")
        } else {
            let list: Vec<String> = sugg.iter().map(|s| format!("`{s}`")).collect();
            f.hint(format!(
                "did you mean {}? (`help` lists every command)",
                list.join(" or ")
            ))
        };
        return Err(f);
    };
    let usage = || {
        Failure::local(format!("usage: {}", spec.usage)).hint(format!("see `help {}`", spec.name))
    };
    let mut args = Args {
        rest: unquote_rest(rest),
        verbatim: rest.to_string(),
        typed: name.to_string(),
        ..Args::default()
    };
    if spec.args == ArgStyle::Words {
        let Some(words) = shlex::split(rest) else {
            return Err(Failure::local("unbalanced quotes in the arguments")
                .hint("close the quote, or escape it with a backslash (\\\")"));
        };
        let mut it = words.into_iter();
        while let Some(w) = it.next() {
            if w.starts_with("--") && w.len() > 2 {
                let (key, inline) = match w.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (w.clone(), None),
                };
                let Some(opt) = spec
                    .options
                    .iter()
                    .find(|o| o.split(' ').next() == Some(key.as_str()))
                else {
                    return Err(Failure::local(format!(
                        "unknown option {key} for `{}`",
                        spec.name
                    ))
                    .hint(format!("usage: {}", spec.usage)));
                };
                let value = if opt.contains(' ') {
                    match inline.or_else(|| it.next()) {
                        Some(v) => Some(v),
                        None => {
                            return Err(Failure::local(format!("option {key} needs a value"))
                                .hint(format!("usage: {}", spec.usage)));
                        }
                    }
                } else {
                    None
                };
                args.opts.push((key, value));
            } else {
                args.words.push(w);
            }
        }
        let n = args.words.len();
        if n < spec.arity.0 || n > spec.arity.1 {
            return Err(usage());
        }
    } else if spec.arity.0 > 0 && args.rest.is_empty() {
        return Err(usage());
    }
    Ok((spec, args))
}

/// Free text after a command: as typed, unless it is one fully quoted
/// string, which is unquoted.
fn unquote_rest(rest: &str) -> String {
    let quoted = (rest.starts_with('"') && rest.ends_with('"'))
        || (rest.starts_with('\'') && rest.ends_with('\''));
    if quoted
        && rest.len() >= 2
        && let Some(mut words) = shlex::split(rest)
        && words.len() == 1
    {
        return words.remove(0);
    }
    rest.to_string()
}

// ---------------------------------------------------------------- helpers

pub(crate) fn not_connected() -> Failure {
    Failure::local("not connected")
        .hint("connect first: `connect HOST [PORT]` (e.g. connect 127.0.0.1 2525)")
}

pub(crate) fn command_error(e: CommandError) -> Failure {
    Failure::local(e.to_string())
}

/// Turns a connection error into a failure and forgets the connection.
pub(crate) fn conn_failure(s: &mut Session, e: ConnError) -> Failure {
    let interrupted = matches!(e, ConnError::Interrupted);
    s.drop_connection();
    let kind = if interrupted {
        FailKind::Interrupted
    } else {
        FailKind::Connection
    };
    Failure::new(kind, e.to_string())
        .hint("the connection is closed; the draft is kept — `connect` again, then `send`")
}

/// Sends one command and reads its reply, keeping the session in step.
pub(crate) fn roundtrip(s: &mut Session, cmd: &Command) -> Result<Reply, Failure> {
    let Some(conn) = s.conn.as_mut() else {
        return Err(not_connected());
    };
    match conn.command(cmd, &mut s.out) {
        Ok(reply) => {
            s.last_reply = Some(reply.clone());
            if reply.code == 421 {
                s.out.warn("the server is closing the connection (421)");
                s.drop_connection();
            }
            Ok(reply)
        }
        Err(e) => Err(conn_failure(s, e)),
    }
}

/// Ok for 2xx/3xx, else a Refused failure naming `what`, with a hint.
pub(crate) fn judge(reply: &Reply, what: &str) -> Result<(), Failure> {
    if !reply.is_error() {
        return Ok(());
    }
    let mut f = Failure::new(
        FailKind::Refused,
        format!("the server refused {what} ({})", reply.code),
    );
    if let Some(h) = reply_hint(reply.code) {
        f = f.hint(h);
    }
    Err(f)
}

/// A short explanation of common reply codes, for newcomers.
pub fn reply_hint(code: u16) -> Option<&'static str> {
    Some(match code {
        421 => "421: the server is closing the connection; `connect` again later",
        450..=452 => "4xx is temporary: the same command may work later",
        500 => "500: the server did not recognise the command (typo, or an extension it lacks)",
        501 => "501: syntax error in the arguments",
        502 => "502: the server does not implement this command",
        503 => {
            "503: bad sequence — the usual order is EHLO, MAIL FROM, RCPT TO, DATA (`rset` starts over)"
        }
        504 => "504: parameter not implemented",
        521 | 556 => "the host or domain does not accept mail at all",
        530 => "530: the server requires authentication (or STARTTLS) first",
        535 => "535: wrong user name or password",
        550 => {
            "550: mailbox unavailable or not allowed — check the address, or whether this server accepts mail for that domain"
        }
        551 | 553 => "the address is not accepted by this server; check its spelling",
        552 => "552: too large, or the mailbox is full",
        554 => "554: transaction failed (e.g. no valid recipients, or policy)",
        _ => return None,
    })
}

/// The name to greet with: the host name when it is a full name, else our
/// address as a literal (servers often refuse `localhost`).
pub fn default_helo_name(s: &Session) -> String {
    let host = local_host_name();
    if host.contains('.') && !host.starts_with("localhost") {
        return host;
    }
    match s.conn.as_ref().map(Connection::local) {
        Some(std::net::SocketAddr::V4(a)) => format!("[{}]", a.ip()),
        Some(std::net::SocketAddr::V6(a)) => format!("[IPv6:{}]", a.ip()),
        None => "localhost.localdomain".to_string(),
    }
}

/// This machine's host name (for EHLO and Message-ID).
pub fn local_host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .unwrap_or_else(|| "localhost".to_string())
}

fn stamp_domain() -> String {
    let h = local_host_name();
    if h.contains('.') {
        h
    } else {
        format!("{h}.localdomain")
    }
}

/// Expands a leading `~/`.
fn expand_path(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    PathBuf::from(p)
}

/// Writes a line to the `record` file, if recording.
pub fn record_line(s: &mut Session, line: &str) {
    record_into(&mut s.record, &s.out, line);
}

/// [`record_line`] on the session's fields, for code that holds a borrow
/// of the connection (the message writer) at the same time.
fn record_into(record: &mut Option<(String, fs::File)>, out: &super::output::Output, line: &str) {
    if let Some((path, file)) = record.as_mut()
        && let Err(e) = writeln!(file, "{line}")
    {
        out.warn(&format!("recording to {path} stopped: {e}"));
        *record = None;
    }
}

/// Reads lines until a lone `.` (message text). `None` when cancelled.
fn read_text_lines(
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

// ---------------------------------------------------------------- connection

/// Splits `HOST`, `HOST PORT`, `HOST:PORT`, `[V6]:PORT`, `V6`, `V6 PORT`.
pub fn parse_host_port(host: &str, port: Option<&str>) -> Result<(String, u16), Failure> {
    let bad_port = |p: &str| {
        Failure::local(format!("'{p}' is not a port number (1-65535)"))
            .hint("example: connect 127.0.0.1 2525")
    };
    let parse_port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| bad_port(p))
    };
    if host.chars().any(char::is_control) || host.is_empty() {
        return Err(Failure::local(
            "the host name is empty or contains a control character",
        ));
    }
    let (h, p) = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, "")) => (h.to_string(), None),
            Some((h, tail)) => match tail.strip_prefix(':') {
                Some(p) => (h.to_string(), Some(parse_port(p)?)),
                None => {
                    return Err(Failure::local(format!(
                        "cannot read '{host}' as [IPv6]:PORT"
                    )));
                }
            },
            None => return Err(Failure::local(format!("unbalanced '[' in '{host}'"))),
        }
    } else if host.matches(':').count() == 1 {
        let (h, p) = host.split_once(':').unwrap_or((host, ""));
        (h.to_string(), Some(parse_port(p)?))
    } else {
        (host.to_string(), None)
    };
    let p = match (p, port) {
        (Some(_), Some(_)) => {
            return Err(
                Failure::local("the port is given twice").hint("usage: connect HOST [PORT]")
            );
        }
        (Some(p), None) => p,
        (None, Some(p)) => parse_port(p)?,
        (None, None) => 25,
    };
    Ok((h, p))
}

/// Opens a connection (closing any old one with QUIT).
pub fn open(s: &mut Session, host: &str, port: u16) -> Result<(), Failure> {
    open_with(s, host, port, TlsMode::Auto)
}

/// Opens a connection with TLS as `mode` says: implicit TLS (`--tls`, or
/// port 465 in `Auto`), or plaintext upgraded with STARTTLS right after
/// the greeting and EHLO (`--starttls`, or `require-tls` in `Auto`).
pub fn open_with(s: &mut Session, host: &str, port: u16, mode: TlsMode) -> Result<(), Failure> {
    let implicit = secure::is_implicit(mode, port);
    // A bad --cafile fails before anything is touched or sent.
    if implicit || mode == TlsMode::StartTls || s.settings.require_tls {
        secure::tls_client(s)?;
    }
    let tls = if implicit {
        Some(secure::tls_client(s)?)
    } else {
        None
    };
    if s.conn.is_some() {
        s.out.note("closing the current connection first");
        let _ = quit_connection(s);
    }
    s.out
        .note(&format!("connecting to {}", format_peer(host, port)));
    secure::warn_insecure(s);
    let options = ConnectOptions {
        timeout: s.settings.timeout,
        interrupt: s.interrupt.clone(),
    };
    let opened = match &tls {
        Some(client) => Connection::open_tls(host, port, options, client, &mut s.out),
        None => Connection::open(host, port, options, &mut s.out),
    };
    match opened {
        Ok((conn, greeting)) => install(s, conn, greeting, mode, implicit),
        Err(e) => Err(connect_failure(e, implicit, port)),
    }
}

/// Makes a fresh connection the session's, judges its greeting, and runs
/// what the TLS mode asks for next.
pub(crate) fn install(
    s: &mut Session,
    conn: Connection,
    greeting: Reply,
    mode: TlsMode,
    implicit: bool,
) -> Result<(), Failure> {
    {
        {
            s.conn = Some(conn);
            s.mx = None;
            s.last_reply = Some(greeting.clone());
            s.greeting = Some(greeting.clone());
            s.extensions = None;
            s.greeted = None;
            s.envelope = Envelope::default();
            if greeting.code != 220 {
                let f = judge(&greeting, "the connection").err().unwrap_or_else(|| {
                    Failure::new(
                        FailKind::Refused,
                        format!("unexpected greeting {}", greeting.code),
                    )
                });
                if greeting.code == 421 {
                    // 421: the server is closing the channel itself (RFC 5321 §3.8).
                    s.drop_connection();
                } else if greeting.is_error() {
                    // 554/521: QUIT is enough (RFC 7504 §3); don't wait long for its 221.
                    if let Some(c) = s.conn.as_mut() {
                        c.set_timeout(Some(Duration::from_secs(5)));
                    }
                    let _ = quit_connection(s);
                }
                return Err(f);
            }
            secure::after_greeting(s, mode, implicit)
        }
    }
}

/// A failed connect as a failure (the error's own text says what to check).
pub(crate) fn connect_failure(e: ConnError, implicit: bool, port: u16) -> Failure {
    let kind = if matches!(e, ConnError::Interrupted) {
        FailKind::Interrupted
    } else {
        FailKind::Connection
    };
    let hint = secure::connect_error_hint(&e, implicit, port);
    let f = Failure::new(kind, e.to_string());
    match hint {
        Some(h) => f.hint(h),
        None => f,
    }
}

/// QUIT and close; the 221 is shown.
pub(crate) fn quit_connection(s: &mut Session) -> Result<(), Failure> {
    let r = roundtrip(s, &Command::quit());
    s.drop_connection();
    r.map(|_| ())
}

pub(crate) fn connect(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    if a.words.len() == 1 && a.words[0].eq_ignore_ascii_case("sandbox") {
        return super::inbox::connect_sandbox(s);
    }
    let mode = secure::mode_from_flags(a.flag("--tls"), a.flag("--starttls"))?;
    if a.flag("--mx") {
        return super::mx::connect_mx(s, &a.words, mode);
    }
    let Some(target) = a.words.first() else {
        return Err(
            Failure::local("usage: connect HOST [PORT]").hint("example: connect 127.0.0.1 2525")
        );
    };
    let (host, port) = parse_host_port(target, a.words.get(1).map(String::as_str))?;
    open_with(s, &host, port, mode)
}

pub(crate) fn quit(s: &mut Session, _i: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    if s.conn.is_none() {
        return Err(
            Failure::local("not connected (nothing to quit)").hint("`exit` leaves the shell")
        );
    }
    quit_connection(s)
}

// ---------------------------------------------------------------- protocol

pub(crate) fn greet(s: &mut Session, name: &str, ehlo: bool) -> Result<Reply, Failure> {
    let cmd = if ehlo {
        Command::ehlo(name)
    } else {
        Command::helo(name)
    }
    .map_err(command_error)?;
    let reply = roundtrip(s, &cmd)?;
    note_greeting(s, name, ehlo, &reply);
    Ok(reply)
}

/// After an accepted EHLO/HELO: the new capabilities (none after HELO),
/// the name used, and a fresh transaction.
fn note_greeting(s: &mut Session, name: &str, ehlo: bool, reply: &Reply) {
    if reply.is_positive() && s.conn.is_some() {
        s.extensions = ehlo.then(|| crate::smtp::Extensions::from_ehlo(reply));
        s.greeted = Some((name.to_string(), ehlo));
        s.envelope = Envelope::default();
    }
}

/// `ehlo [DOMAIN]` and `helo [DOMAIN]`.
fn greeting_command(s: &mut Session, a: &Args, ehlo: bool) -> Result<(), Failure> {
    s.conn.as_ref().ok_or_else(not_connected)?;
    let name = a
        .words
        .first()
        .cloned()
        .unwrap_or_else(|| default_helo_name(s));
    let reply = greet(s, &name, ehlo)?;
    judge(&reply, if ehlo { "EHLO" } else { "HELO" })
}

pub(crate) fn ehlo(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    greeting_command(s, &a, true)
}

pub(crate) fn helo(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    greeting_command(s, &a, false)
}

fn simple(s: &mut Session, cmd: Command, what: &str) -> Result<Reply, Failure> {
    s.conn.as_ref().ok_or_else(not_connected)?;
    let reply = roundtrip(s, &cmd)?;
    judge(&reply, what)?;
    Ok(reply)
}

pub(crate) fn rset(s: &mut Session, _i: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    simple(s, Command::rset(), "RSET")?;
    s.envelope = Envelope::default();
    Ok(())
}

pub(crate) fn noop(s: &mut Session, _i: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    simple(s, Command::noop(), "NOOP").map(|_| ())
}

pub(crate) fn vrfy(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let cmd = Command::vrfy(&a.rest).map_err(command_error)?;
    simple(s, cmd, "VRFY").map(|_| ())
}

pub(crate) fn expn(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let cmd = Command::expn(&a.rest).map_err(command_error)?;
    simple(s, cmd, "EXPN").map(|_| ())
}

pub(crate) fn raw(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    // `raw` sends the line exactly as typed: no unquoting.
    let cmd = Command::raw(&a.verbatim).map_err(command_error)?;
    s.conn.as_ref().ok_or_else(not_connected)?;
    let verb = cmd.verb().to_string();
    if verb == "STARTTLS" {
        return Err(Failure::local(
            "`raw STARTTLS` cannot work: after 220 the server expects a TLS handshake",
        )
        .hint("use `starttls`: it does the handshake and greets again"));
    }
    if verb == "AUTH" {
        return Err(Failure::local(
            "`raw AUTH` would put credentials in the transcript and the history",
        )
        .hint("use `auth [MECHANISM] [USER]`: it asks for the password and masks it"));
    }
    if matches!(verb.as_str(), "MAIL" | "RCPT" | "DATA" | "BDAT") {
        secure::require_secure(s, &verb)?;
    }
    let reply = roundtrip(s, &cmd)?;
    if s.conn.is_none() {
        return judge(&reply, &verb);
    }
    match verb.as_str() {
        "EHLO" | "HELO" => {
            let name = a.verbatim.split_whitespace().nth(1).unwrap_or("");
            note_greeting(s, name, verb == "EHLO", &reply);
        }
        "MAIL" if reply.is_positive() => {
            s.envelope = Envelope {
                mail_from: Some(path_of(&a.verbatim)),
                ..Envelope::default()
            };
        }
        "RCPT" => s.envelope.record_rcpt(&path_of(&a.verbatim), &reply),
        "RSET" if reply.is_positive() => s.envelope = Envelope::default(),
        "QUIT" => s.drop_connection(),
        "DATA" if reply.code == 354 => return data_entry(s, input),
        _ => {}
    }
    judge(&reply, &verb)
}

/// The `<...>` of a raw MAIL/RCPT line, for the envelope display.
fn path_of(line: &str) -> String {
    match (line.find('<'), line.find('>')) {
        (Some(a), Some(b)) if a < b => line[a + 1..b].to_string(),
        _ => line
            .split_once(':')
            .map_or(line, |(_, r)| r.trim())
            .to_string(),
    }
}

pub(crate) fn data(s: &mut Session, input: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    s.conn.as_ref().ok_or_else(not_connected)?;
    secure::require_secure(s, "DATA")?;
    let reply = roundtrip(s, &Command::data())?;
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
        s.out.note("type the message: headers, an empty line, the text; a line with only '.' ends it (Ctrl-C cancels)");
    }
    let Some(conn) = s.conn.as_mut() else {
        return Err(not_connected());
    };
    let mut writer = conn.data_writer();
    let mut failed: Option<Failure> = None;
    let mut first = true;
    loop {
        match input.continuation("data> ") {
            // In a script, `expect 354` may follow `raw DATA` / `data`
            // directly: it checks the 354 and is not message text.
            Line::Text(l) if first && !input.interactive() && is_expect_line(&l) => {
                let patterns: Vec<&str> = l.split_whitespace().skip(1).collect();
                if let Err(f) = judge_expect(&patterns, s.last_reply.as_ref(), &s.out) {
                    failed = Some(f);
                    break;
                }
                first = false;
            }
            Line::Text(l) => {
                first = false;
                record_into(&mut s.record, &s.out, &l);
                if l == "." {
                    break;
                }
                if let Err(e) = writer
                    .write_all(l.as_bytes())
                    .and_then(|_| writer.write_all(b"\r\n"))
                {
                    failed = Some(Failure::new(
                        FailKind::Connection,
                        format!("sending the message failed: {e}"),
                    ));
                    break;
                }
            }
            Line::Eof | Line::Interrupted => {
                failed = Some(Failure::new(
                    FailKind::Interrupted,
                    "message entry cancelled: the connection was closed without the final dot, so the server discards it",
                ));
                break;
            }
        }
    }
    if let Some(f) = failed {
        drop(writer);
        s.drop_connection();
        return Err(f.hint("`connect` again to start over"));
    }
    if let Err(e) = writer.finish(&mut s.out) {
        return Err(conn_failure(s, e));
    }
    let reply = final_reply(s)?;
    let d = &s.draft;
    let envelope_only = d.subject.is_none()
        && d.body.is_empty()
        && d.headers.is_empty()
        && d.attachments.is_empty();
    if reply.is_positive() && envelope_only {
        // The hand-typed message was the message: nothing left unsent.
        s.unsent = false;
    }
    judge(&reply, "the message")
}

/// The reply after the end of the message (`.` or `BDAT ... LAST`): the
/// transaction is over either way. A lost connection here means nobody
/// knows whether the message was delivered, and the error says so.
fn final_reply(s: &mut Session) -> Result<Reply, Failure> {
    let Some(conn) = s.conn.as_mut() else {
        return Err(not_connected());
    };
    match conn.read_reply("the reply to the end of the message", &mut s.out) {
        Ok(reply) => {
            s.last_reply = Some(reply.clone());
            s.envelope = Envelope::default();
            if reply.code == 421 {
                s.out.warn("the server is closing the connection (421)");
                s.drop_connection();
            }
            Ok(reply)
        }
        Err(e) => {
            let f = conn_failure(s, e);
            Err(Failure {
                message: format!(
                    "{} — the message was sent but no reply came: whether it was delivered is unknown",
                    f.message
                ),
                ..f
            })
        }
    }
}

// ---------------------------------------------------------------- envelope

/// Strips a classic `FROM:` / `TO:` prefix (`MAIL FROM:<a>` typed by hand).
fn strip_verb_prefix<'a>(text: &'a str, prefix: &str) -> &'a str {
    let t = text.trim_start();
    match t.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => t[prefix.len()..].trim_start(),
        _ => t,
    }
}

fn address_failure(input: &str, e: impl std::fmt::Display) -> Failure {
    Failure::local(format!("'{input}' is not a valid address: {e}")).hint(
        "examples: alice@example.com  <alice@example.com>  \"Alice Example <alice@example.com>\"",
    )
}

/// Refuses a non-ASCII address (RFC 6531) unless the server announced
/// SMTPUTF8: after EHLO without it, or after HELO (no extensions at all).
/// Before any greeting there is nothing to judge yet.
fn check_utf8_address(s: &Session, addr: &Address) -> Result<(), Failure> {
    if !addr.needs_smtputf8() || s.conn.is_none() {
        return Ok(());
    }
    let offered = match (&s.extensions, &s.greeted) {
        (Some(ext), _) => ext.has("SMTPUTF8"),
        (None, Some(_)) => false,
        (None, None) => return Ok(()),
    };
    if !offered {
        return Err(Failure::local(format!(
            "{addr} has non-ASCII characters, but the server does not announce SMTPUTF8 \
             (RFC 6531), so it cannot take this address; the address was not sent"
        ))
        .hint("use an ASCII address for this server, or a server that offers SMTPUTF8"));
    }
    Ok(())
}

/// MAIL FROM with the parameters the message needs: SMTPUTF8 (RFC 6531)
/// when the sender or a recipient of the draft is non-ASCII and the server
/// offers it; a non-ASCII sender is refused when it does not.
fn mail_command(s: &Session, path: &ReversePath, extra: &[String]) -> Result<Command, Failure> {
    if let Some(addr) = path.address() {
        check_utf8_address(s, addr)?;
    }
    let utf8 = path.address().is_some_and(Address::needs_smtputf8)
        || s.draft.recipients().iter().any(Address::needs_smtputf8);
    let mut params: Vec<String> = extra.to_vec();
    if let Some(ext) = &s.extensions
        && utf8
        && ext.has("SMTPUTF8")
        && !params.iter().any(|p| p.eq_ignore_ascii_case("SMTPUTF8"))
    {
        params.push("SMTPUTF8".into());
    }
    Command::mail_from(path.address(), &params).map_err(command_error)
}

pub(crate) fn from(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let text = strip_verb_prefix(&a.rest, "FROM:");
    // Classic form `MAIL FROM:<a@b> SIZE=10`: parameters after the `>`.
    let (addr_text, params): (&str, Vec<String>) = match text.find('>') {
        Some(i) if text.trim_start().starts_with('<') => (
            &text[..=i],
            text[i + 1..].split_whitespace().map(String::from).collect(),
        ),
        _ => (text, Vec::new()),
    };
    let path = ReversePath::parse(addr_text).map_err(|e| address_failure(addr_text, e))?;
    if let Some(addr) = path.address() {
        check_utf8_address(s, addr)?;
    }
    s.draft.from = Some(path.clone());
    s.touch_draft();
    if s.conn.is_none() {
        s.out.note(&format!(
            "sender set to {path} (MAIL FROM is sent by `send`, or at once when connected)"
        ));
        return Ok(());
    }
    secure::require_secure(s, "MAIL FROM")?;
    let cmd = mail_command(s, &path, &params)?;
    let reply = roundtrip(s, &cmd)?;
    if reply.is_positive() && s.conn.is_some() {
        s.envelope = Envelope {
            mail_from: Some(path.address().map_or_else(String::new, |a| a.to_string())),
            ..Envelope::default()
        };
    }
    judge(&reply, "the sender (MAIL FROM)").map_err(|f| sequence_hint(s, &reply, f))
}

/// For a 503, says which step is missing.
fn sequence_hint(s: &Session, reply: &Reply, f: Failure) -> Failure {
    if reply.code != 503 || s.conn.is_none() {
        return f;
    }
    if s.greeted.is_none() {
        f.hint("greet the server first: `ehlo` (then `from`, `to`, `send`)")
    } else if s.envelope.mail_from.is_none() {
        f.hint("set the sender first: `from ADDRESS` (MAIL FROM comes before RCPT TO)")
    } else {
        f
    }
}

#[derive(Clone, Copy)]
enum Field {
    To,
    Cc,
    Bcc,
}

fn add_recipients(s: &mut Session, a: Args, field: Field) -> Result<(), Failure> {
    let mut boxes = Vec::new();
    for w in &a.words {
        let text = strip_verb_prefix(w, "TO:");
        if text.is_empty() {
            continue;
        }
        let m = Mailbox::parse(text).map_err(|e| address_failure(text, e))?;
        check_utf8_address(s, &m.address)?;
        boxes.push(m);
    }
    if boxes.is_empty() {
        return Err(Failure::local("no address given").hint("example: to bob@example.com"));
    }
    let list = match field {
        Field::To => &mut s.draft.to,
        Field::Cc => &mut s.draft.cc,
        Field::Bcc => &mut s.draft.bcc,
    };
    for m in &boxes {
        if !list.iter().any(|x| x.address == m.address) {
            list.push(m.clone());
        }
    }
    s.touch_draft();
    if s.conn.is_none() {
        let names: Vec<String> = boxes.iter().map(|m| m.address.to_string()).collect();
        s.out.note(&format!(
            "recipient{} {} added (RCPT TO is sent by `send`, or at once when connected)",
            if names.len() == 1 { "" } else { "s" },
            names.join(", ")
        ));
        return Ok(());
    }
    secure::require_secure(s, "RCPT TO")?;
    let mut refused: Option<Failure> = None;
    for m in &boxes {
        let reply = rcpt(s, &m.address)?;
        if let Err(f) = judge(&reply, &format!("the recipient {}", m.address)) {
            refused = Some(sequence_hint(s, &reply, f));
        }
        if s.conn.is_none() {
            // A 421 closed the connection: the other addresses cannot be sent.
            break;
        }
    }
    refused.map_or(Ok(()), Err)
}

/// RCPT TO for one address, recording the outcome in the envelope.
fn rcpt(s: &mut Session, addr: &Address) -> Result<Reply, Failure> {
    check_utf8_address(s, addr)?;
    let cmd = Command::rcpt_to(addr, &[]).map_err(command_error)?;
    let reply = roundtrip(s, &cmd)?;
    s.envelope.record_rcpt(addr.as_str(), &reply);
    Ok(reply)
}

pub(crate) fn to(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    add_recipients(s, a, Field::To)
}

pub(crate) fn cc(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    add_recipients(s, a, Field::Cc)
}

pub(crate) fn bcc(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    add_recipients(s, a, Field::Bcc)
}

// ---------------------------------------------------------------- draft

pub(crate) fn subject(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    validate_header("Subject", &a.rest).map_err(|e| Failure::local(e.to_string()))?;
    s.out.note(&format!("subject set: {}", a.rest));
    s.draft.subject = Some(a.rest);
    s.touch_draft();
    Ok(())
}

pub(crate) fn body(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let text = if a.rest.is_empty() {
        if input.interactive() {
            s.out
                .note("type the text; a line with only '.' ends it (Ctrl-C cancels)");
        }
        let lines = read_text_lines(s, input, "body> ", "the body")?;
        let mut t = lines.join("\n");
        if !lines.is_empty() {
            t.push('\n');
        }
        t
    } else if let Some(path) = a.rest.strip_prefix("--file") {
        let path = unquote_rest(path.trim());
        if path.is_empty() {
            return Err(Failure::local("usage: body --file PATH"));
        }
        let p = expand_path(&path);
        let bytes = fs::read(&p).map_err(|e| {
            Failure::local(format!("cannot read {}: {e}", p.display()))
                .hint("check the path (Tab completes it)")
        })?;
        String::from_utf8(bytes).map_err(|_| {
            Failure::local(format!("{} is not UTF-8 text", p.display()))
                .hint("attach it instead: attach PATH")
        })?
    } else {
        a.rest.clone()
    };
    if text.contains('\0') {
        return Err(Failure::local(
            "the text contains a NUL byte, which mail cannot carry",
        ));
    }
    let lines = text.lines().count();
    s.draft.body = text;
    s.touch_draft();
    s.out.note(&format!(
        "body set ({} line{}, {})",
        lines,
        if lines == 1 { "" } else { "s" },
        human_bytes(s.draft.body.len() as u64)
    ));
    Ok(())
}

pub(crate) fn attach(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let ctype = a.opt("--type");
    let name = a.opt("--name");
    if name.is_some() && a.words.len() > 1 {
        return Err(Failure::local(
            "--name applies to one file; attach the files one by one",
        ));
    }
    let mut new = Vec::new();
    for w in &a.words {
        let att = Attachment::new(&expand_path(w), ctype, name).map_err(|e| {
            Failure::local(e.to_string()).hint("nothing was attached (Tab completes paths)")
        })?;
        new.push(att);
    }
    for att in new {
        s.draft.attachments.push(att);
        if let Some(att) = s.draft.attachments.last() {
            let n = s.draft.attachments.len();
            s.out.note(&format!(
                "attached {n}: {} ({}, {}, base64)",
                att.name,
                att.content_type,
                human_bytes(att.size)
            ));
        }
    }
    s.touch_draft();
    Ok(())
}

pub(crate) fn detach(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let n = s.draft.attachments.len();
    let idx = a.words[0]
        .parse::<usize>()
        .ok()
        .filter(|&i| i >= 1 && i <= n)
        .ok_or_else(|| {
            Failure::local(if n == 0 {
                "there are no attachments".to_string()
            } else {
                format!("'{}' is not an attachment number (1-{n})", a.words[0])
            })
            .hint("`status` lists the attachments with their numbers")
        })?;
    let att = s.draft.attachments.remove(idx - 1);
    s.touch_draft();
    s.out
        .note(&format!("removed attachment {idx}: {}", att.name));
    Ok(())
}

pub(crate) fn header(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
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
            "removed {removed} header{} named {name}",
            if removed == 1 { "" } else { "s" }
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

pub(crate) fn new_draft(s: &mut Session, _i: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    s.draft = Draft::default();
    s.unsent = false;
    s.out.note("the draft is empty");
    Ok(())
}

/// Composes the draft, fixing its Date/Message-ID/boundary on first use.
fn compose(s: &mut Session) -> Result<Message, Failure> {
    if s.draft.stamp.is_none() {
        s.draft.stamp = Some(Stamp::new(SystemTime::now(), &stamp_domain()));
    }
    let stamp = s
        .draft
        .stamp
        .clone()
        .ok_or_else(|| Failure::local("internal: no stamp"))?;
    mime::compose(&s.draft, &stamp).map_err(|e| {
        Failure::local(e.to_string()).hint("the draft is unchanged; fix the file and try again")
    })
}

pub(crate) fn show(s: &mut Session, _i: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    let msg = compose(s)?;
    let text = msg.preview().map_err(|e| Failure::local(e.to_string()))?;
    s.out.plain(&text);
    s.out.plain("");
    for (i, p) in msg.parts().iter().enumerate() {
        let label = if i == 0 {
            "text".to_string()
        } else {
            format!("attachment {i}")
        };
        s.out.note(&format!(
            "part {}: {label}: {}{}, {}, {} → {} encoded",
            i + 1,
            p.content_type,
            p.name
                .as_ref()
                .map(|n| format!(" \"{n}\""))
                .unwrap_or_default(),
            p.encoding,
            human_bytes(p.raw_size),
            human_bytes(p.encoded_size)
        ));
    }
    let size = msg.size();
    s.out.note(&format!(
        "total: {} parts, {}",
        msg.parts().len(),
        human_bytes(size)
    ));
    size_check(s, size, false)?;
    Ok(())
}

/// Checks the size against the server's SIZE limit.
fn size_check(s: &Session, size: u64, refuse: bool) -> Result<(), Failure> {
    let limit = s
        .extensions
        .as_ref()
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

pub(crate) fn save(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let path = expand_path(&a.words[0]);
    let n = write_message(s, &path, false)?;
    s.out
        .note(&format!("wrote {} to {}", human_bytes(n), path.display()));
    Ok(())
}

/// Composes the draft (the very bytes `send` transmits, before
/// dot-stuffing) and writes it to `path` through a temporary file renamed
/// into place, so `path` is never left half-written. `private`: mode 0600.
/// Returns the bytes written.
pub(crate) fn write_message(s: &mut Session, path: &Path, private: bool) -> Result<u64, Failure> {
    use std::os::unix::fs::OpenOptionsExt;
    let msg = compose(s)?;
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
        let mut w = std::io::BufWriter::with_capacity(256 * 1024, file);
        let n = msg.write_to(&mut w).map_err(|e| fail(e.to_string()))?;
        w.flush().map_err(|e| fail(e.to_string()))?;
        return Ok(n);
    }
    // A regular file: write a new file beside it, then rename it over the
    // target, so the target is never half written.
    let name = path
        .file_name()
        .map_or_else(|| "message".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.smtpsh-{}.tmp", std::process::id()));
    let result = (|| -> Result<u64, String> {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if private { 0o600 } else { 0o666 })
            .open(&tmp)
            .map_err(|e| e.to_string())?;
        let mut w = std::io::BufWriter::with_capacity(256 * 1024, file);
        let n = msg.write_to(&mut w).map_err(|e| e.to_string())?;
        w.flush().map_err(|e| e.to_string())?;
        fs::rename(&tmp, path).map_err(|e| e.to_string())?;
        Ok(n)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        fail(e)
    })
}

/// Where failed sends of a script are kept:
/// `$XDG_STATE_HOME/smtpsh/dead-letter`, else
/// `~/.local/state/smtpsh/dead-letter`.
pub fn dead_letter_dir() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|p| !p.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(state.join("smtpsh").join("dead-letter"))
}

/// After a failed `send` in a script: writes the draft as a message into
/// the dead-letter directory (directory 0700, file 0600), named with the
/// UTC date and the Message-ID's unique part. Returns what to tell the
/// user: `Ok` with the path, `Err` with why none was written, `None` for
/// an empty draft. The draft itself is unchanged.
pub fn save_dead_letter(s: &mut Session) -> Option<Result<String, String>> {
    use std::os::unix::fs::DirBuilderExt;
    if s.draft.is_empty() {
        return None;
    }
    let Some(dir) = dead_letter_dir() else {
        return Some(Err(
            "the message was not sent, and no dead letter was written: \
                         neither XDG_STATE_HOME nor HOME is set"
                .to_string(),
        ));
    };
    if let Err(e) = fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
    {
        return Some(Err(format!(
            "the message was not sent, and no dead letter was written: cannot create {}: {e}",
            dir.display()
        )));
    }
    if s.draft.stamp.is_none() {
        s.draft.stamp = Some(Stamp::new(SystemTime::now(), &stamp_domain()));
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
    Some(match write_message(s, &path, true) {
        Ok(_) => {
            let mut note = format!(
                "the message was not sent; it was saved as a dead letter: {}",
                path.display()
            );
            if !s.draft.bcc.is_empty() {
                let bcc: Vec<String> = s.draft.bcc.iter().map(|m| m.address.to_string()).collect();
                note.push_str(&format!(
                    "\nBcc recipients are never written into a message; they were: {}",
                    bcc.join(", ")
                ));
            }
            Ok(note)
        }
        Err(f) => Err(format!(
            "the message was not sent, and no dead letter was written: {}",
            f.message
        )),
    })
}

// ---------------------------------------------------------------- send

pub(crate) fn send(s: &mut Session, input: &mut dyn Input, a: Args) -> Result<(), Failure> {
    // Nothing typed is lost: in a script, a message that failed to go out
    // (for any reason) is kept as a dead letter, said after the failure
    // itself; interactively the draft stays in the session and `save`
    // writes it.
    send_draft(s, a.flag("--keep-open")).map_err(|f| {
        if input.interactive() {
            return f;
        }
        match save_dead_letter(s) {
            Some(Ok(note) | Err(note)) => f.also(note),
            None => f,
        }
    })
}

/// `send` itself.
fn send_draft(s: &mut Session, keep_open: bool) -> Result<(), Failure> {
    // Everything local first: nothing goes on the wire for a bad draft.
    let Some(from) = s.draft.from.clone() else {
        return Err(Failure::local("the draft has no sender")
            .hint("set one: from alice@example.com (or `from <>` for the null sender)"));
    };
    let recipients = s.draft.recipients();
    if recipients.is_empty() {
        return Err(
            Failure::local("the draft has no recipients").hint("add one: to bob@example.com")
        );
    }
    let msg = compose(s)?;
    if s.conn.is_none() {
        return Err(
            not_connected().hint("connect first (`connect HOST [PORT]`); the draft is kept")
        );
    }
    // Greeting.
    if s.greeted.is_none() {
        let name = default_helo_name(s);
        let reply = greet(s, &name, true)?;
        if !reply.is_positive() {
            if s.conn.is_none() {
                return judge(&reply, "EHLO");
            }
            s.out.note("EHLO refused; trying HELO");
            let reply = greet(s, &name, false)?;
            judge(&reply, "HELO")?;
        }
    }
    // The exact size (RFC 1870): the bytes `save` writes, which are the
    // content before dot-stuffing, without the final `.` line.
    let size = msg.size();
    send_size_check(s, size)?;
    secure::require_secure(s, "the message (MAIL FROM, RCPT TO, DATA)")?;
    let bdat = use_bdat(s)?;
    let params = mail_params(s, &msg, size, &from, &recipients)?;

    // The envelope: MAIL FROM unless this transaction has it, RCPT TO for
    // each recipient not yet accepted, and DATA — in one write when the
    // server offers PIPELINING (RFC 2920), else one at a time.
    let mail_needed = s.envelope.mail_from.is_none();
    let rcpts_needed = recipients
        .iter()
        .filter(|a| !s.envelope.is_accepted(a))
        .count();
    let group = usize::from(mail_needed) + rcpts_needed + usize::from(!bdat);
    let pipelining = group >= 2 && s.extensions.as_ref().is_some_and(|e| e.has("PIPELINING"));
    let data_reply = if pipelining {
        pipelined_envelope(s, &from, &params, &recipients, !bdat)?
    } else {
        stepwise_envelope(s, &from, &params, &recipients)?;
        None
    };
    let accepted = s.envelope.accepted.len();
    let rejected: Vec<String> = s
        .envelope
        .rejected
        .iter()
        .map(|(a, r)| format!("{a} ({})", r.code))
        .collect();
    if accepted == 0 {
        return Err(no_recipient_failure(s, &rejected, data_reply.as_ref()));
    }
    if !rejected.is_empty() {
        s.out.warn(&format!(
            "{} recipient{} rejected: {}; sending to the {accepted} accepted",
            rejected.len(),
            if rejected.len() == 1 {
                " was"
            } else {
                "s were"
            },
            rejected.join(", ")
        ));
    }
    // DATA, unless pipelined already (BDAT needs none).
    if !bdat {
        let reply = match data_reply {
            Some(r) => r,
            None => roundtrip(s, &Command::data())?,
        };
        if reply.code != 354 {
            judge(&reply, "DATA")?;
            return Err(Failure::new(
                FailKind::Refused,
                format!(
                    "the server answered DATA with {}, not 354; nothing was sent",
                    reply.code
                ),
            ));
        }
    }
    let started = Instant::now();
    let total = upload(s, &msg, size, bdat)?;
    let final_reply = final_reply(s)?;
    let elapsed = started.elapsed();
    let outcome = judge(&final_reply, "the message");
    if outcome.is_ok() {
        s.out.ok(&format!(
            "message accepted for {accepted} recipient{} ({} sent)",
            if accepted == 1 { "" } else { "s" },
            human_bytes(total)
        ));
        s.unsent = false;
        s.draft.stamp = None;
    }
    s.out.note(&progress::time_line(total, elapsed));
    if !keep_open && s.conn.is_some() {
        let _ = quit_connection(s);
    }
    s.last_reply = Some(final_reply);
    outcome
}

/// Refuses a message over the server's SIZE limit before anything of it
/// is sent: before MAIL FROM, or — when MAIL FROM was typed by hand and
/// the transaction is open — before RCPT TO and DATA.
fn send_size_check(s: &Session, size: u64) -> Result<(), Failure> {
    let open = s.envelope.mail_from.is_some();
    size_check(s, size, true).map_err(|f| {
        if open {
            f.hint(
                "DATA was not sent; the transaction you opened with MAIL FROM is still open \
                 (`rset` ends it); remove attachments (`detach N`) or use another server",
            )
        } else {
            f
        }
    })
}

/// Whether `send` uses BDAT: `set transfer bdat` needs the server's
/// CHUNKING; `auto` and `data` use DATA (smtpsh's messages are 7-bit).
fn use_bdat(s: &Session) -> Result<bool, Failure> {
    match s.settings.transfer {
        Transfer::Auto | Transfer::Data => Ok(false),
        Transfer::Bdat if s.extensions.as_ref().is_some_and(|e| e.has("CHUNKING")) => Ok(true),
        Transfer::Bdat => Err(Failure::local(
            "`set transfer bdat` is on, but the server does not offer CHUNKING (BDAT); nothing was sent",
        )
        .hint("`set transfer auto` sends the message with DATA")),
    }
}

/// The MAIL FROM parameters the message needs, among those the server
/// offers: `SIZE=` (RFC 1870), `SMTPUTF8` (RFC 6531) when an address or
/// the header is UTF-8, `BODY=8BITMIME` (RFC 6152) when any byte is 8-bit.
fn mail_params(
    s: &Session,
    msg: &Message,
    size: u64,
    from: &ReversePath,
    recipients: &[Address],
) -> Result<Vec<String>, Failure> {
    let Some(ext) = s.extensions.as_ref() else {
        // HELO: no extensions, no parameters.
        return Ok(Vec::new());
    };
    let mut params = Vec::new();
    if ext.has("SIZE") {
        params.push(format!("SIZE={size}"));
    }
    let utf8_address = from
        .address()
        .into_iter()
        .chain(recipients.iter())
        .find(|a| a.needs_smtputf8());
    if utf8_address.is_some() || msg.has_utf8_header() {
        if !ext.has("SMTPUTF8") {
            let what = utf8_address.map_or_else(
                || "the header has UTF-8".to_string(),
                |a| format!("{a} has non-ASCII characters"),
            );
            return Err(Failure::local(format!(
                "{what}, but the server does not announce SMTPUTF8; nothing was sent"
            ))
            .hint("use ASCII addresses for this server"));
        }
        params.push("SMTPUTF8".to_string());
    }
    if msg.has_8bit() && ext.has("8BITMIME") {
        params.push("BODY=8BITMIME".to_string());
    }
    Ok(params)
}

/// MAIL FROM (unless the transaction has it) and RCPT TO for each
/// recipient not yet accepted, one command at a time. Stops at a refused
/// MAIL FROM and at a 421.
fn stepwise_envelope(
    s: &mut Session,
    from: &ReversePath,
    params: &[String],
    recipients: &[Address],
) -> Result<(), Failure> {
    if s.envelope.mail_from.is_none() {
        let cmd = mail_command(s, from, params)?;
        let reply = roundtrip(s, &cmd)?;
        judge(&reply, "the sender (MAIL FROM)")?;
        s.envelope.mail_from = Some(from.address().map_or_else(String::new, |a| a.to_string()));
    }
    for addr in recipients {
        if !s.envelope.is_accepted(addr) {
            let reply = rcpt(s, addr)?;
            if s.conn.is_none() {
                // A 421: the server closed the connection; that reply is the cause.
                judge(&reply, &format!("the recipient {addr}"))?;
                return Err(not_connected());
            }
        }
    }
    Ok(())
}

/// One command of a pipelined group.
enum Piped {
    Mail,
    Rcpt(Address),
    Data,
}

/// MAIL FROM (unless the transaction has it), the RCPT TOs and, with
/// `with_data`, DATA, in one write (RFC 2920); then each reply in order,
/// printed after its own command. Every reply is read even when MAIL FROM
/// was refused, so the connection stays in step; DATA's reply is returned
/// for the caller to judge.
///
/// When DATA was answered 354 although MAIL FROM or every recipient was
/// refused (RFC 2920 §3.1 warns that a server may), the connection is
/// closed without a byte of content: a server in that state is not
/// trusted with even an empty message (see docs/commands.md, `send`).
fn pipelined_envelope(
    s: &mut Session,
    from: &ReversePath,
    params: &[String],
    recipients: &[Address],
    with_data: bool,
) -> Result<Option<Reply>, Failure> {
    let mut group: Vec<(Piped, Command)> = Vec::new();
    if s.envelope.mail_from.is_none() {
        group.push((Piped::Mail, mail_command(s, from, params)?));
    }
    for addr in recipients {
        if !s.envelope.is_accepted(addr) {
            check_utf8_address(s, addr)?;
            let cmd = Command::rcpt_to(addr, &[]).map_err(command_error)?;
            group.push((Piped::Rcpt(addr.clone()), cmd));
        }
    }
    if with_data {
        group.push((Piped::Data, Command::data()));
    }
    let commands: Vec<Command> = group.iter().map(|(_, c)| c.clone()).collect();
    let Some(conn) = s.conn.as_mut() else {
        return Err(not_connected());
    };
    if let Err(e) = conn.send_batch(&commands) {
        return Err(conn_failure(s, e));
    }
    let mut mail_refused = None;
    let mut data_reply = None;
    for (step, cmd) in &group {
        let Some(conn) = s.conn.as_mut() else {
            return Err(not_connected());
        };
        let reply = match conn.pipelined_reply(cmd, &mut s.out) {
            Ok(r) => r,
            Err(e) => return Err(conn_failure(s, e)),
        };
        s.last_reply = Some(reply.clone());
        let what = match step {
            Piped::Mail => "the sender (MAIL FROM)".to_string(),
            Piped::Rcpt(addr) => format!("the recipient {addr}"),
            Piped::Data => "DATA".to_string(),
        };
        if reply.code == 421 {
            s.out.warn("the server is closing the connection (421)");
            s.drop_connection();
            judge(&reply, &what)?;
            return Err(not_connected());
        }
        match step {
            Piped::Mail if reply.is_positive() => {
                s.envelope.mail_from =
                    Some(from.address().map_or_else(String::new, |a| a.to_string()));
            }
            Piped::Mail => mail_refused = judge(&reply, &what).err(),
            Piped::Rcpt(addr) => s.envelope.record_rcpt(addr.as_str(), &reply),
            Piped::Data => data_reply = Some(reply),
        }
    }
    if let Some(f) = mail_refused {
        if data_reply.as_ref().is_some_and(|r| r.code == 354) {
            s.out.warn(
                "the server answered DATA with 354 although it refused MAIL FROM; \
                 the connection was closed without sending the message",
            );
            s.drop_connection();
        }
        return Err(f);
    }
    Ok(data_reply)
}

/// The failure when no recipient was accepted. With DATA pipelined, a
/// 354 anyway means the server waits for content: the connection is closed
/// without any, so nothing can be delivered.
fn no_recipient_failure(
    s: &mut Session,
    rejected: &[String],
    data_reply: Option<&Reply>,
) -> Failure {
    let code = s.last_reply.as_ref().map_or(0, |r| r.code);
    let data = match data_reply {
        None => "DATA was not sent".to_string(),
        Some(r) if r.code == 354 => {
            s.drop_connection();
            "the server answered the pipelined DATA with 354 anyway, so the connection was closed \
             without sending the message"
                .to_string()
        }
        Some(r) => format!("the message was not sent (DATA: {})", r.code),
    };
    let mut f = Failure::new(
        FailKind::Refused,
        format!(
            "no recipient was accepted ({}); {data}",
            rejected.join(", ")
        ),
    )
    .hint("fix the recipients (`new` starts over, `rset` resets the server's transaction)");
    let rcpt_code = s.envelope.rejected.last().map_or(code, |(_, r)| r.code);
    if let Some(h) = reply_hint(rcpt_code) {
        f = f.hint(format!("no recipient was accepted — {h}"));
    }
    f
}

/// Streams the message after DATA's 354 (dot-stuffed, then `.`) or as one
/// `BDAT <size> LAST` chunk, with a progress bar on a terminal. Returns
/// the bytes put on the wire. On failure the connection is closed before
/// the end of the content, so the server discards what it got.
fn upload(s: &mut Session, msg: &Message, size: u64, bdat: bool) -> Result<u64, Failure> {
    let mut progress = Progress::on_stderr(size);
    let Some(conn) = s.conn.as_mut() else {
        return Err(not_connected());
    };
    let result = stream_content(conn, &mut s.out, msg, size, bdat, &mut progress);
    // The bar goes before anything else is printed.
    progress.clear();
    match result {
        Ok(n) => Ok(n),
        Err(UploadError::Conn(e)) => Err(conn_failure(s, e)),
        Err(UploadError::Write(e)) => {
            s.drop_connection();
            let interrupted = s.interrupt.load(Ordering::SeqCst);
            let (kind, what) = if interrupted {
                (FailKind::Interrupted, "interrupted (Ctrl-C)".to_string())
            } else {
                let kind = if matches!(e, mime::MimeError::Write(_)) {
                    FailKind::Connection
                } else {
                    FailKind::Local
                };
                (kind, e.to_string())
            };
            let end = if bdat {
                "before the BDAT chunk was complete"
            } else {
                "before the final dot"
            };
            Err(Failure::new(kind, format!("sending stopped: {what}")).hint(format!(
                "the connection was closed {end}, so the server did not accept a partial message; the draft is kept"
            )))
        }
    }
}

/// Why [`stream_content`] stopped.
enum UploadError {
    /// Starting or ending the content failed on the connection.
    Conn(ConnError),
    /// Writing the message failed (a file, or the connection underneath).
    Write(mime::MimeError),
}

/// The content itself: the writer for DATA or BDAT, the message through a
/// [`Meter`], then the end of the content. A failed write drops the
/// writer unfinished, which closes the connection.
fn stream_content(
    conn: &mut Connection,
    out: &mut super::output::Output,
    msg: &Message,
    size: u64,
    bdat: bool,
    progress: &mut Progress,
) -> Result<u64, UploadError> {
    let mut upload = if bdat {
        Upload::Bdat(conn.bdat_writer(size, out).map_err(UploadError::Conn)?)
    } else {
        Upload::Data(conn.data_writer())
    };
    msg.write_to_sink(&mut Meter::new(&mut upload, progress))
        .map_err(UploadError::Write)?;
    progress.clear();
    upload.finish(out).map_err(UploadError::Conn)
}

// ---------------------------------------------------------------- scripting

/// Whether `line` is an `expect` command with valid code patterns.
fn is_expect_line(line: &str) -> bool {
    let mut words = line.split_whitespace();
    words
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("expect"))
        && words.clone().count() > 0
        && words.all(|p| {
            p.len() == 3
                && p.chars()
                    .all(|c| c.is_ascii_digit() || c.eq_ignore_ascii_case(&'x'))
        })
}

/// Does `code` match the pattern `250`, `2xx`, `55x`?
pub fn code_matches(pattern: &str, code: u16) -> bool {
    let p = pattern.as_bytes();
    let c = format!("{code:03}");
    p.len() == 3
        && p.iter()
            .zip(c.as_bytes())
            .all(|(p, c)| p.eq_ignore_ascii_case(&b'x') || p == c)
}

pub(crate) fn expect(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    for p in &a.words {
        let ok = p.len() == 3
            && p.chars()
                .all(|c| c.is_ascii_digit() || c.eq_ignore_ascii_case(&'x'));
        if !ok {
            return Err(Failure::local(format!("'{p}' is not a reply code pattern"))
                .hint("examples: expect 250, expect 2xx, expect 55x 45x"));
        }
    }
    judge_expect(&a.words, s.last_reply.as_ref(), &s.out)
}

/// Whether the last reply matches one of `patterns` (already checked);
/// says so on success, fails with what arrived otherwise.
fn judge_expect<P: AsRef<str>>(
    patterns: &[P],
    last: Option<&Reply>,
    out: &super::output::Output,
) -> Result<(), Failure> {
    let want = patterns
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" or ");
    let Some(reply) = last else {
        return Err(Failure::new(
            FailKind::Expect,
            format!("expected {want}, but the previous command got no reply from the server"),
        ));
    };
    if patterns
        .iter()
        .any(|p| code_matches(p.as_ref(), reply.code))
    {
        out.ok(&format!("expect {want}: got {}", reply.code));
        Ok(())
    } else {
        Err(Failure::new(
            FailKind::Expect,
            format!("expected {want}, got {} {}", reply.code, reply.text()),
        ))
    }
}

pub(crate) fn source(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    if s.source_depth >= 16 {
        return Err(Failure::local(
            "`source` nested more than 16 deep (does a file source itself?)",
        ));
    }
    let path = expand_path(&a.words[0]);
    let file = fs::File::open(&path).map_err(|e| {
        Failure::local(format!("cannot open {}: {e}", path.display()))
            .hint("check the path (Tab completes it)")
    })?;
    let mut script =
        ScriptInput::from_reader(&path.display().to_string(), Box::new(BufReader::new(file)));
    s.source_depth += 1;
    let r = super::run_script(s, &mut script, false);
    s.source_depth -= 1;
    // The error was shown at its own file and line: here, say where the
    // sourced script stopped (same kind, so the same exit status).
    r.map_err(|f| Failure {
        message: format!(
            "the sourced script stopped at {} ({})",
            script
                .location()
                .unwrap_or_else(|| path.display().to_string()),
            f.message
        ),
        hint: None,
        ..f
    })
}

pub(crate) fn record(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let target = &a.words[0];
    if target == "stop" {
        return match s.record.take() {
            Some((path, _)) => {
                s.out.note(&format!(
                    "recording stopped; replay it with: smtpsh -f {path}"
                ));
                Ok(())
            }
            None => Err(Failure::local("not recording").hint("start with: record FILE")),
        };
    }
    let path = expand_path(target);
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Failure::local(format!("cannot write {}: {e}", path.display())))?;
    let _ = writeln!(
        file,
        "# recorded by smtpsh; replay with: smtpsh -f {}",
        path.display()
    );
    s.record = Some((path.display().to_string(), file));
    s.out.note(&format!(
        "recording commands to {} (`record stop` ends it)",
        path.display()
    ));
    Ok(())
}

pub(crate) fn set(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    let show = |s: &Session| {
        s.out
            .plain(&format!("timeout  {}", timeout_text(s.settings.timeout)));
        s.out
            .plain(&format!("color    {}", s.settings.color.name()));
        s.out.plain(&format!(
            "verbose  {}",
            if s.out.verbose { "on" } else { "off" }
        ));
        s.out.plain(&format!(
            "require-tls  {}",
            if s.settings.require_tls { "on" } else { "off" }
        ));
        s.out.plain(&format!(
            "resolver {}",
            s.settings
                .resolver
                .map_or("system (/etc/resolv.conf)".to_string(), |a| a.to_string())
        ));
        s.out
            .plain(&format!("transfer {}", s.settings.transfer.name()));
    };
    match (a.words.first().map(String::as_str), a.words.get(1)) {
        (None, _) => {
            show(s);
            Ok(())
        }
        (Some(name), None) => Err(Failure::local(format!("set {name} needs a value"))
            .hint("usage: set NAME VALUE (`set` lists them)")),
        (Some("resolver"), Some(v)) => super::mx::set_resolver(s, v),
        (Some("timeout"), Some(v)) => {
            s.settings.timeout = if v.eq_ignore_ascii_case("default") {
                None
            } else {
                let secs = v
                    .parse::<u64>()
                    .ok()
                    .filter(|&n| (1..=86400).contains(&n))
                    .ok_or_else(|| {
                        Failure::local(format!(
                            "'{v}' is not a number of seconds (1-86400) or `default`"
                        ))
                        .hint("example: set timeout 60")
                    })?;
                Some(Duration::from_secs(secs))
            };
            if let Some(c) = s.conn.as_mut() {
                c.set_timeout(s.settings.timeout);
            }
            s.out
                .note(&format!("timeout: {}", timeout_text(s.settings.timeout)));
            Ok(())
        }
        (Some("color" | "colour"), Some(v)) => {
            let c = ColorChoice::parse(v)
                .ok_or_else(|| Failure::local(format!("'{v}' is not auto, always or never")))?;
            s.settings.color = c;
            c.apply();
            Ok(())
        }
        (Some("verbose"), Some(v)) => {
            s.out.verbose = match v.as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => return Err(Failure::local(format!("'{v}' is not on or off"))),
            };
            Ok(())
        }
        (Some("require-tls"), Some(v)) => {
            s.settings.require_tls = match v.as_str() {
                "on" | "true" | "1" => true,
                "off" | "false" | "0" => false,
                _ => return Err(Failure::local(format!("'{v}' is not on or off"))),
            };
            s.out.note(if s.settings.require_tls {
                "require-tls is on: MAIL, RCPT, DATA and AUTH are never sent without TLS"
            } else {
                "require-tls is off"
            });
            Ok(())
        }
        (Some("transfer"), Some(v)) => {
            let t = Transfer::parse(v).ok_or_else(|| {
                Failure::local(format!("'{v}' is not auto, data or bdat"))
                    .hint("example: set transfer bdat")
            })?;
            s.settings.transfer = t;
            s.out.note(match t {
                Transfer::Auto => "transfer: auto (DATA: smtpsh's messages are 7-bit)",
                Transfer::Data => "transfer: DATA",
                Transfer::Bdat => {
                    "transfer: BDAT (CHUNKING, RFC 3030); `send` stops before MAIL if the server does not offer it"
                }
            });
            Ok(())
        }
        (Some(name), Some(_)) => Err(Failure::local(format!("unknown setting '{name}'"))
            .hint("settings: timeout, color, verbose, require-tls, resolver, transfer")),
    }
}

/// The timeout setting in words: one value, or the per-phase defaults.
fn timeout_text(timeout: Option<Duration>) -> String {
    use crate::smtp::conn::TimeoutPhase as P;
    let secs = |p: P| p.default_timeout().as_secs();
    match timeout {
        Some(t) => format!(
            "{} s for every phase (`set timeout default` restores the defaults)",
            t.as_secs()
        ),
        None => format!(
            "default (RFC 5321 §4.5.3.2): greeting {} s, MAIL {} s, RCPT {} s, DATA {} s, \
             each data block {} s, end of message {} s, other commands {} s; connecting {} s",
            secs(P::Greeting),
            secs(P::Mail),
            secs(P::Rcpt),
            secs(P::DataInit),
            secs(P::DataBlock),
            secs(P::DataEnd),
            secs(P::Command),
            secs(P::Connect),
        ),
    }
}

/// Setting names, for completion.
pub const SETTINGS: &[&str] = &[
    "timeout",
    "color",
    "verbose",
    "require-tls",
    "resolver",
    "transfer",
];

pub(crate) fn history(s: &mut Session, input: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    let h = input.history();
    if h.is_empty() {
        s.out
            .note("the history is empty (it is kept only for interactive sessions)");
    }
    for (i, line) in h.iter().enumerate() {
        s.out.plain(&format!("{:5}  {line}", i + 1));
    }
    Ok(())
}

pub(crate) fn help(s: &mut Session, _i: &mut dyn Input, a: Args) -> Result<(), Failure> {
    use colored::Colorize;
    if let Some(name) = a.words.first() {
        let spec = commands::find(name).ok_or_else(|| {
            let sugg = commands::suggest(name);
            let f = Failure::local(format!("no command named '{name}'"));
            match sugg.first() {
                Some(x) => f.hint(format!("did you mean `help {x}`?")),
                None => f.hint("`help` lists every command"),
            }
        })?;
        s.out.plain(&format!("{}", spec.usage.bold()));
        if !spec.aliases.is_empty() {
            s.out
                .plain(&format!("  (also: {})", spec.aliases.join(", ")));
        }
        s.out.plain(&format!("  {}", spec.summary));
        for l in spec.help.lines() {
            s.out.plain(&format!("  {}", l.trim_start()));
        }
        return Ok(());
    }
    s.out
        .plain("Commands (help COMMAND for details; Tab completes):");
    const WIDTH: usize = 44;
    for c in COMMANDS {
        if c.usage.chars().count() > WIDTH {
            // A long usage line gets its own line; the summary goes below it.
            s.out.plain(&format!("  {}", c.usage.bold()));
            s.out.plain(&format!("  {:WIDTH$} {}", "", c.summary));
        } else {
            s.out
                .plain(&format!("  {:<WIDTH$} {}", c.usage.bold(), c.summary));
        }
    }
    s.out.plain(
        "\nA session: connect HOST PORT, ehlo, from ADDR, to ADDR, subject TEXT, body, attach FILE, send.\n\
         No server at hand? `connect sandbox` starts one inside smtpsh.",
    );
    Ok(())
}

pub(crate) fn clear(_s: &mut Session, _i: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        print!("\x1b[H\x1b[2J");
        let _ = std::io::stdout().flush();
    }
    Ok(())
}

pub(crate) fn exit(s: &mut Session, input: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    leave(s, input.interactive())
}

/// Leaves the shell: warns once about an unsent draft (interactive), QUITs
/// if connected. Sets `exiting` when leaving.
pub fn leave(s: &mut Session, interactive: bool) -> Result<(), Failure> {
    if s.unsent && !s.draft.is_empty() && !s.warned_unsent {
        s.warned_unsent = true;
        let what = format!(
            "the draft was not sent ({} recipient{}, {} attachment{})",
            s.draft.recipients().len(),
            if s.draft.recipients().len() == 1 {
                ""
            } else {
                "s"
            },
            s.draft.attachments.len(),
            if s.draft.attachments.len() == 1 {
                ""
            } else {
                "s"
            }
        );
        if interactive {
            s.out.warn(&format!(
                "{what}; `exit` again (or Ctrl-D) leaves anyway, `save PATH` keeps it"
            ));
            return Ok(());
        }
        s.out.warn(&what);
    }
    if s.conn.is_some() {
        let _ = quit_connection(s);
    }
    s.exiting = true;
    Ok(())
}

pub(crate) fn status(s: &mut Session, _i: &mut dyn Input, _a: Args) -> Result<(), Failure> {
    let o = &s.out;
    match &s.conn {
        None => o.plain("connection:   none"),
        Some(c) => {
            o.plain(&format!(
                "connection:   {} ({}) from {}{}",
                format_peer(c.host(), c.peer().port()),
                c.peer().ip(),
                c.local(),
                if c.is_secure() {
                    ", TLS"
                } else {
                    ", plaintext"
                }
            ));
            if let Some((domain, host)) = &s.mx {
                o.plain(&format!("found by MX:  {host}, a mail server of {domain}"));
            }
            if let Some(g) = &s.greeting {
                o.plain(&format!("greeting:     {} {}", g.code, g.text()));
            }
            match &s.greeted {
                Some((name, true)) => o.plain(&format!("greeted:      EHLO {name}")),
                Some((name, false)) => {
                    o.plain(&format!("greeted:      HELO {name} (no extensions)"))
                }
                None => o.plain("greeted:      not yet (`ehlo`)"),
            }
            for line in secure::tls_status(s) {
                o.plain(&line);
            }
        }
    }
    if let Some(ext) = &s.extensions {
        o.plain(&format!("server name:  {}", ext.domain));
        let list: Vec<String> = ext
            .list
            .iter()
            .map(|e| {
                if e.params.is_empty() {
                    e.keyword.clone()
                } else {
                    format!("{} {}", e.keyword, e.params.join(" "))
                }
            })
            .collect();
        o.plain(&format!(
            "extensions:   {}",
            if list.is_empty() {
                "none".to_string()
            } else {
                list.join(", ")
            }
        ));
    }
    if s.conn.is_some() {
        let env = &s.envelope;
        o.plain(&format!(
            "envelope:     MAIL FROM {}",
            env.mail_from
                .as_ref()
                .map_or("not sent".to_string(), |m| format!("<{m}> accepted"))
        ));
        o.plain(&format!(
            "  accepted:   {}",
            if env.accepted.is_empty() {
                "none".to_string()
            } else {
                env.accepted.join(", ")
            }
        ));
        if !env.rejected.is_empty() {
            let r: Vec<String> = env
                .rejected
                .iter()
                .map(|(a, r)| format!("{a} ({} {})", r.code, r.text()))
                .collect();
            o.plain(&format!("  rejected:   {}", r.join("; ")));
        }
    }
    let d = &s.draft;
    let list = |v: &[Mailbox]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    o.plain(&format!(
        "draft:        {}",
        if s.unsent {
            "not sent yet"
        } else if d.is_empty() {
            "empty"
        } else {
            "sent"
        }
    ));
    o.plain(&format!(
        "  from:       {}",
        d.from.as_ref().map_or("-".to_string(), ToString::to_string)
    ));
    o.plain(&format!("  to:         {}", list(&d.to)));
    o.plain(&format!("  cc:         {}", list(&d.cc)));
    o.plain(&format!("  bcc:        {}", list(&d.bcc)));
    o.plain(&format!(
        "  subject:    {}",
        d.subject.as_deref().unwrap_or("-")
    ));
    o.plain(&format!(
        "  body:       {}",
        human_bytes(d.body.len() as u64)
    ));
    for (n, v) in &d.headers {
        o.plain(&format!("  header:     {n}: {v}"));
    }
    for (i, a) in d.attachments.iter().enumerate() {
        o.plain(&format!(
            "  attach {}:   {} ({}, {}) {}",
            i + 1,
            a.name,
            a.content_type,
            human_bytes(a.size),
            a.path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_patterns() {
        assert!(code_matches("250", 250));
        assert!(code_matches("2xx", 250));
        assert!(code_matches("2XX", 221));
        assert!(code_matches("5x0", 550));
        assert!(!code_matches("2xx", 550));
        assert!(!code_matches("25", 250));
        assert!(!code_matches("2500", 250));
    }

    #[test]
    fn host_and_port_forms() {
        let ok = |h: &str, p: Option<&str>| parse_host_port(h, p).map_err(|f| f.message);
        assert_eq!(
            ok("127.0.0.1", Some("2525")),
            Ok(("127.0.0.1".into(), 2525))
        );
        assert_eq!(
            ok("mx.example.org", None),
            Ok(("mx.example.org".into(), 25))
        );
        assert_eq!(ok("localhost:587", None), Ok(("localhost".into(), 587)));
        assert_eq!(ok("::1", Some("2525")), Ok(("::1".into(), 2525)));
        assert_eq!(ok("[::1]:2525", None), Ok(("::1".into(), 2525)));
        assert_eq!(ok("[::1]", None), Ok(("::1".into(), 25)));
        assert!(ok("host", Some("99999")).is_err());
        assert!(ok("host", Some("x")).is_err());
        assert!(ok("host:1", Some("2")).is_err());
        assert!(ok("ho\r\nst", None).is_err());
    }

    #[test]
    fn parsing_lines_checks_usage_and_options() {
        let (spec, a) = parse_line("attach a.bin 'my file.txt' --type text/plain").unwrap();
        assert_eq!(spec.name, "attach");
        assert_eq!(a.words, vec!["a.bin", "my file.txt"]);
        assert_eq!(a.opt("--type"), Some("text/plain"));
        let (_, a) = parse_line("send --keep-open").unwrap();
        assert!(a.flag("--keep-open"));
        assert!(
            parse_line("send --keep-opne")
                .unwrap_err()
                .message
                .contains("unknown option")
        );
        assert!(
            parse_line("attach")
                .unwrap_err()
                .message
                .starts_with("usage: attach")
        );
        assert!(
            parse_line("attach --type")
                .unwrap_err()
                .message
                .contains("needs a value")
        );
        let f = parse_line("sned").unwrap_err();
        assert!(f.hint.unwrap_or_default().contains("`send`"));
        assert!(
            parse_line("to 'unbalanced")
                .unwrap_err()
                .message
                .contains("quotes")
        );
        let (_, a) = parse_line("subject it's a \"test\"").unwrap();
        assert_eq!(a.rest, "it's a \"test\"");
        let (_, a) = parse_line("subject \"  spaced  \"").unwrap();
        assert_eq!(a.rest, "  spaced  ");
        let (spec, a) = parse_line("MAIL FROM:<a@b.org>").unwrap();
        assert_eq!((spec.name, a.rest.as_str()), ("from", "FROM:<a@b.org>"));
    }

    #[test]
    fn classic_prefixes_are_stripped() {
        assert_eq!(strip_verb_prefix("FROM:<a@b.org>", "FROM:"), "<a@b.org>");
        assert_eq!(strip_verb_prefix("from: <a@b.org>", "FROM:"), "<a@b.org>");
        assert_eq!(strip_verb_prefix("a@b.org", "FROM:"), "a@b.org");
        assert_eq!(path_of("MAIL FROM:<a@b.org> SIZE=1"), "a@b.org");
    }

    #[test]
    fn every_common_error_code_has_a_hint() {
        for code in [421, 450, 500, 501, 502, 503, 530, 550, 552, 554] {
            assert!(reply_hint(code).is_some(), "{code}");
        }
        assert!(reply_hint(250).is_none());
    }
}
