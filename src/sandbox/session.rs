//! One SMTP conversation on the server side: the state (greeting, TLS,
//! AUTH, the transaction) and the answer to each command. The message
//! itself (DATA, BDAT) is read by [`super::receive`].
//!
//! Replies (with RFC 3463 enhanced codes once the client said EHLO):
//! - `500 5.5.2` unknown command, line too long, bare CR/LF in a command;
//!   `502 5.5.1` known but not implemented (EXPN, TURN, ETRN, ...);
//! - `501` bad syntax: a missing `<>` (`MAIL FROM:a@b`), a bad address
//!   (`5.1.7` sender, `5.1.3` recipient), bad parameters, arguments where
//!   none belong;
//! - `503 5.5.1` out of order: MAIL before EHLO/HELO, nested MAIL, RCPT
//!   before MAIL, DATA before MAIL or RCPT, DATA after BDAT, AUTH twice or
//!   inside a transaction, STARTTLS twice;
//! - `552 5.3.4` too large; `554 5.5.1` DATA when every recipient was
//!   refused; `555 5.5.4` unknown MAIL/RCPT parameters; `553 5.6.7` a
//!   non-ASCII address without `SMTPUTF8`; `452 4.5.3` too many recipients;
//! - `421` too many errors, a timeout, too many connections, shutting down.

use super::lines::{Conn, Line, Wait};
use super::parse::{self, Bad, Param};
use super::server::{Event, Limits, Shared};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

/// Longest command line, CRLF included (RFC 5321 section 4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;
/// Longest text line, CRLF included, not counting a stuffed dot (§4.5.3.1.6).
pub const MAX_TEXT_LINE: usize = 1000;
/// Longest AUTH response line, CRLF included (RFC 4954 §4: 12288 octets).
pub const MAX_AUTH_LINE: usize = 12288 + 2;
/// Commands that carry no mail (NOOP, RSET, VRFY, HELP, EHLO, HELO) a
/// client may send before each one more counts as an error (like Postfix's
/// `smtpd_junk_command_limit`).
pub const JUNK_LIMIT: usize = 100;

/// What ended a session (`Session::run`, [`super::server::converse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// QUIT was answered.
    Quit,
    /// The client went away, timed out, made too many errors, or the
    /// server is stopping.
    Closed,
    /// STARTTLS was answered 220: the TLS handshake comes next.
    StartTls,
}

/// One reply (its text may hold `\n` between lines).
pub struct Reply {
    pub(super) code: u16,
    pub(super) enhanced: &'static str,
    pub(super) text: String,
}

/// A reply with its enhanced code (shown only after EHLO).
pub fn reply(code: u16, enhanced: &'static str, text: impl Into<String>) -> Reply {
    Reply {
        code,
        enhanced,
        text: text.into(),
    }
}

impl From<Bad> for Reply {
    fn from(b: Bad) -> Reply {
        reply(b.code, b.enhanced, b.text)
    }
}

/// One recipient and its DSN parameters (RFC 3461).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address.
    pub address: String,
    /// `NOTIFY=` as sent (`SUCCESS,FAILURE`, `NEVER`, ...).
    pub notify: Option<String>,
    /// `ORCPT=` as sent (`rfc822;user@example.org`, xtext).
    pub orcpt: Option<String>,
}

/// The mail transaction under way.
#[derive(Debug, Default)]
pub struct Transaction {
    /// The reverse path (empty for `<>`).
    pub from: String,
    /// `SMTPUTF8` was given on MAIL.
    pub smtputf8: bool,
    /// DSN `RET=` (`FULL` or `HDRS`).
    pub ret: Option<String>,
    /// DSN `ENVID=` (xtext).
    pub envid: Option<String>,
    /// The accepted recipients.
    pub recipients: Vec<Recipient>,
    /// Whether any RCPT was tried (DATA's 503 versus 554).
    pub rcpt_attempted: bool,
    /// A BDAT chunk was taken: DATA is no longer allowed.
    pub chunking: bool,
}

/// The state of one SMTP conversation.
pub struct Session<'a> {
    pub(super) shared: &'a Shared,
    pub(super) peer: SocketAddr,
    /// The EHLO/HELO name, once greeted.
    pub(super) helo: Option<String>,
    /// Whether the greeting was EHLO (enhanced status codes in replies).
    pub(super) esmtp: bool,
    pub(super) tls: bool,
    pub(super) auth: Option<String>,
    pub(super) txn: Option<Transaction>,
    /// The verb being answered (for events).
    pub(super) verb: String,
    /// The message being received in BDAT chunks.
    pub(super) chunks: Option<super::receive::Intake>,
    /// The reply just queued ends the connection (a 421).
    pub(super) closing: bool,
    errors: usize,
    junk: usize,
}

impl<'a> Session<'a> {
    /// A new conversation with `peer`.
    pub fn new(shared: &'a Shared, peer: SocketAddr) -> Session<'a> {
        Session {
            shared,
            peer,
            helo: None,
            esmtp: false,
            tls: false,
            auth: None,
            txn: None,
            verb: String::new(),
            chunks: None,
            closing: false,
            errors: 0,
            junk: 0,
        }
    }

    pub(super) fn limits(&self) -> &Limits {
        &self.shared.config.limits
    }

    fn hostname(&self) -> &str {
        &self.shared.config.hostname
    }

    /// After the TLS handshake: forget everything from before (RFC 3207 §4.2).
    pub fn start_tls(&mut self) {
        self.txn = None;
        self.chunks = None;
        self.helo = None;
        self.esmtp = false;
        self.auth = None;
        self.tls = true;
    }

    /// Sends the 220 greeting.
    pub fn greet<S: Read + Write>(&mut self, conn: &mut Conn<S>) -> io::Result<()> {
        conn.send(&format!(
            "220 {} ESMTP smtpsh sandbox ready (messages are stored locally, never relayed)\r\n",
            self.hostname()
        ));
        conn.flush()
    }

    /// Queues a reply, with the enhanced code when EHLO was said; counts
    /// errors and reports refusals.
    pub(super) fn send<S: Read + Write>(&mut self, conn: &mut Conn<S>, r: Reply) {
        if r.code >= 500 {
            self.errors += 1;
        }
        let enhanced = if self.esmtp { r.enhanced } else { "" };
        // Replies are printable ASCII whatever a client sent (an address
        // label echoed in an error may hold anything).
        let text = ascii(&r.text);
        if r.code >= 400 {
            let code = format!("{} {enhanced}", r.code);
            self.shared.emit(&Event::Refused {
                peer: self.peer,
                command: self.verb.clone(),
                reply: format!("{} {}", code.trim_end(), text.replace('\n', " ")),
            });
        }
        let lines: Vec<&str> = text.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            if !enhanced.is_empty() {
                conn.send(&format!("{}{sep}{enhanced} {line}\r\n", r.code));
            } else {
                conn.send(&format!("{}{sep}{line}\r\n", r.code));
            }
        }
    }

    /// Sends a closing 421 and reports it.
    pub(super) fn close_with<S: Read + Write>(&mut self, conn: &mut Conn<S>, r: Reply) -> Next {
        self.send(conn, r);
        let _ = conn.flush();
        Next::Closed
    }

    /// The wait for the next command: the idle timeout for the whole line,
    /// and a shutdown may end it.
    pub(super) fn command_wait(&self) -> Wait<'a> {
        Wait {
            deadline: Instant::now() + self.limits().idle_timeout,
            stop: Some(&self.shared.stop),
        }
    }

    /// Answers commands until QUIT, STARTTLS, the end of the connection,
    /// a timeout, too many errors or a shutdown.
    pub fn run<S: Read + Write>(&mut self, conn: &mut Conn<S>) -> io::Result<Next> {
        loop {
            if let Some(next) = self.step(conn)? {
                conn.flush()?;
                return Ok(next);
            }
            if self.closing {
                conn.flush()?;
                return Ok(Next::Closed);
            }
            if self.errors >= self.limits().max_errors {
                let r = reply(421, "4.7.0", "Too many errors, closing the connection");
                return Ok(self.close_with(conn, r));
            }
        }
    }

    /// Reads and answers one command; `Some` ends the loop.
    fn step<S: Read + Write>(&mut self, conn: &mut Conn<S>) -> io::Result<Option<Next>> {
        self.verb.clear();
        let raw = match conn.read_line(MAX_COMMAND_LINE, self.command_wait())? {
            Line::Eof => return Ok(Some(Next::Closed)),
            Line::TimedOut => {
                let secs = self.limits().idle_timeout.as_secs();
                let r = reply(
                    421,
                    "4.4.2",
                    format!("Timeout: no complete command in {secs} s, closing the connection"),
                );
                return Ok(Some(self.close_with(conn, r)));
            }
            Line::Stopping => {
                let r = reply(421, "4.3.2", "The server is shutting down, try again later");
                return Ok(Some(self.close_with(conn, r)));
            }
            Line::TooLong { .. } => {
                let r = reply(
                    500,
                    "5.5.2",
                    format!("Line too long (the limit is {MAX_COMMAND_LINE} octets with CRLF)"),
                );
                self.send(conn, r);
                return Ok(None);
            }
            Line::Text(l) => l,
        };
        let line = match parse::command_line(&raw) {
            Ok(l) => l,
            Err(b) => {
                self.send(conn, b.into());
                return Ok(None);
            }
        };
        let (verb, arg) = (line.verb, line.arg);
        self.verb.clone_from(&verb);
        if matches!(
            verb.as_str(),
            "NOOP" | "RSET" | "VRFY" | "HELP" | "EHLO" | "HELO"
        ) {
            self.junk += 1;
            if self.junk > JUNK_LIMIT {
                self.errors += 1;
            }
        }
        let r = match verb.as_str() {
            "EHLO" | "HELO" => self.hello(&verb, arg),
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg),
            "DATA" => return self.data(conn, arg),
            "BDAT" => return self.bdat(conn, arg),
            "RSET" if !arg.is_empty() => reply(501, "5.5.4", "RSET takes no arguments"),
            "RSET" => {
                self.txn = None;
                self.chunks = None;
                reply(250, "2.0.0", "OK")
            }
            "NOOP" => reply(250, "2.0.0", "OK"),
            "QUIT" if !arg.is_empty() => reply(501, "5.5.4", "QUIT takes no arguments"),
            "QUIT" => {
                let r = reply(
                    221,
                    "2.0.0",
                    format!("{} closing connection", self.hostname()),
                );
                self.send(conn, r);
                return Ok(Some(Next::Quit));
            }
            "VRFY" if arg.is_empty() => reply(501, "5.5.4", "VRFY needs an argument"),
            "VRFY" => reply(
                252,
                "2.5.0",
                "Cannot VRFY user, but will accept the message and store it",
            ),
            "EXPN" | "TURN" | "ETRN" | "ATRN" | "SEND" | "SOML" | "SAML" => {
                reply(502, "5.5.1", format!("{verb} is not implemented"))
            }
            "HELP" => reply(
                214,
                "2.0.0",
                "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP VRFY HELP QUIT",
            ),
            "STARTTLS" => match self.starttls(arg) {
                Ok(()) => {
                    // Plaintext pipelined behind STARTTLS must not be
                    // executed inside TLS (CVE-2011-0411): drop it.
                    conn.discard_pending();
                    let r = reply(220, "2.0.0", "Ready to start TLS");
                    self.send(conn, r);
                    return Ok(Some(Next::StartTls));
                }
                Err(r) => r,
            },
            "AUTH" => {
                let r = self.auth(conn, arg)?;
                self.send(conn, r);
                return Ok(None);
            }
            _ => reply(500, "5.5.2", "Command not recognized"),
        };
        self.send(conn, r);
        Ok(None)
    }

    fn hello(&mut self, verb: &str, arg: &[u8]) -> Reply {
        let name = arg.trim_ascii_end();
        if name.is_empty() {
            return reply(
                501,
                "5.5.4",
                format!("{verb} needs a domain name or address literal"),
            );
        }
        let printable = std::str::from_utf8(name).ok().filter(|n| {
            n.chars()
                .all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control()))
        });
        let Some(name) = printable else {
            return reply(
                501,
                "5.5.4",
                format!("{verb}: bad domain name '{}'", parse::echo(name)),
            );
        };
        self.txn = None;
        self.chunks = None;
        self.helo = Some(name.to_string());
        let greeting = format!(
            "{} greets {}",
            self.hostname(),
            parse::echo(name.as_bytes())
        );
        if verb == "HELO" {
            self.esmtp = false;
            return reply(250, "", greeting);
        }
        self.esmtp = true;
        let mut lines = vec![
            greeting,
            "PIPELINING".to_string(),
            format!("SIZE {}", self.limits().max_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "CHUNKING".to_string(),
            "DSN".to_string(),
        ];
        if !self.tls && self.shared.config.tls.is_some() {
            lines.push("STARTTLS".to_string());
        }
        if self.auth_allowed() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        lines.push("HELP".to_string());
        reply(250, "", lines.join("\n"))
    }

    fn mail(&mut self, arg: &[u8]) -> Reply {
        if self.helo.is_none() {
            return reply(503, "5.5.1", "Send EHLO or HELO first");
        }
        if self.txn.is_some() {
            return reply(503, "5.5.1", "Nested MAIL command (RSET first)");
        }
        let (path, params) = match parse::path_arg(arg, "FROM:") {
            Ok(p) => p,
            Err(why) => return reply(501, "5.5.4", format!("Syntax: MAIL FROM:<address>: {why}")),
        };
        let params = match parse::params(params) {
            Ok(p) => p,
            Err(why) => return reply(501, "5.5.4", format!("Syntax: {why}")),
        };
        let mut txn = Transaction::default();
        for Param { key, value } in &params {
            if let Err(r) = self.mail_param(&mut txn, key, value.as_deref()) {
                return r;
            }
        }
        if !path.is_empty() {
            match parse::address(path) {
                Ok(a) => txn.from = a,
                Err(why) => return reply(501, "5.1.7", format!("Bad sender address: {why}")),
            }
        }
        if !txn.from.is_ascii() && !txn.smtputf8 {
            return reply(
                553,
                "5.6.7",
                "A non-ASCII sender needs the SMTPUTF8 parameter",
            );
        }
        self.txn = Some(txn);
        reply(250, "2.1.0", "Sender OK")
    }

    fn mail_param(
        &self,
        txn: &mut Transaction,
        key: &str,
        value: Option<&str>,
    ) -> Result<(), Reply> {
        let syntax = || reply(501, "5.5.4", format!("Bad syntax in parameter {key}"));
        match (key, value) {
            ("SIZE", Some(v)) => {
                let n = v
                    .parse::<u64>()
                    .ok()
                    .filter(|_| v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| reply(501, "5.5.4", format!("Bad SIZE value '{v}'")))?;
                let max = self.limits().max_size;
                if n > max {
                    return Err(reply(
                        552,
                        "5.3.4",
                        format!("Message size {n} exceeds the fixed maximum of {max} octets"),
                    ));
                }
            }
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => {}
            ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => {}
            ("BODY", Some(v)) => {
                return Err(reply(501, "5.5.4", format!("Unsupported BODY type '{v}'")));
            }
            ("SMTPUTF8", None) => txn.smtputf8 = true,
            ("AUTH", Some(_)) => {}
            ("RET", Some(v))
                if v.eq_ignore_ascii_case("FULL") || v.eq_ignore_ascii_case("HDRS") =>
            {
                txn.ret = Some(v.to_ascii_uppercase());
            }
            ("RET", Some(v)) => {
                return Err(reply(
                    501,
                    "5.5.4",
                    format!("RET must be FULL or HDRS, not '{v}'"),
                ));
            }
            ("ENVID", Some(v)) if v.len() <= 100 && parse::is_xtext(v) => {
                txn.envid = Some(v.to_string());
            }
            ("ENVID", Some(_)) => {
                return Err(reply(
                    501,
                    "5.5.4",
                    "ENVID must be xtext of at most 100 characters",
                ));
            }
            ("SIZE" | "BODY" | "AUTH" | "RET" | "ENVID", None) | ("SMTPUTF8", Some(_)) => {
                return Err(syntax());
            }
            _ => {
                return Err(reply(
                    555,
                    "5.5.4",
                    format!("MAIL parameter {key} not recognised"),
                ));
            }
        }
        Ok(())
    }

    fn rcpt(&mut self, arg: &[u8]) -> Reply {
        let max_recipients = self.limits().max_recipients;
        let Some(txn) = self.txn.as_mut() else {
            return reply(503, "5.5.1", "Need MAIL before RCPT");
        };
        if txn.chunking {
            return reply(
                503,
                "5.5.1",
                "RCPT cannot follow BDAT: the message is already under way (RFC 3030)",
            );
        }
        txn.rcpt_attempted = true;
        let (path, params) = match parse::path_arg(arg, "TO:") {
            Ok(p) => p,
            Err(why) => return reply(501, "5.5.4", format!("Syntax: RCPT TO:<address>: {why}")),
        };
        let params = match parse::params(params) {
            Ok(p) => p,
            Err(why) => return reply(501, "5.5.4", format!("Syntax: {why}")),
        };
        let mut rcpt = Recipient {
            address: String::new(),
            notify: None,
            orcpt: None,
        };
        for Param { key, value } in params {
            match (key.as_str(), value) {
                ("NOTIFY", Some(v)) if notify_ok(&v) => rcpt.notify = Some(v.to_ascii_uppercase()),
                ("NOTIFY", _) => {
                    return reply(
                        501,
                        "5.5.4",
                        "NOTIFY must be NEVER, or SUCCESS, FAILURE and DELAY separated by commas",
                    );
                }
                ("ORCPT", Some(v)) if orcpt_ok(&v) => rcpt.orcpt = Some(v),
                ("ORCPT", _) => {
                    return reply(
                        501,
                        "5.5.4",
                        "ORCPT must be addr-type;xtext (e.g. rfc822;a@b.org)",
                    );
                }
                _ => return reply(555, "5.5.4", format!("RCPT parameter {key} not recognised")),
            }
        }
        if path.is_empty() {
            return reply(501, "5.1.3", "The null address <> is not a recipient");
        }
        rcpt.address = if path.eq_ignore_ascii_case(b"postmaster") {
            "postmaster".to_string()
        } else {
            match parse::address(path) {
                Ok(a) => a,
                Err(why) => return reply(501, "5.1.3", format!("Bad recipient address: {why}")),
            }
        };
        if !rcpt.address.is_ascii() && !txn.smtputf8 {
            return reply(553, "5.6.7", "A non-ASCII recipient needs SMTPUTF8 on MAIL");
        }
        if txn.recipients.len() >= max_recipients {
            return reply(
                452,
                "4.5.3",
                format!("Too many recipients (at most {max_recipients} per message)"),
            );
        }
        if !txn
            .recipients
            .iter()
            .any(|r| r.address.eq_ignore_ascii_case(&rcpt.address))
        {
            txn.recipients.push(rcpt);
        }
        reply(250, "2.1.5", "Recipient OK")
    }

    /// Whether AUTH may be used now: an account is set, and the client is
    /// on loopback or TLS is on.
    pub(super) fn auth_allowed(&self) -> bool {
        self.shared.config.auth.is_some() && (self.tls || self.peer.ip().is_loopback())
    }

    fn starttls(&mut self, arg: &[u8]) -> Result<(), Reply> {
        if !arg.is_empty() {
            return Err(reply(501, "5.5.4", "STARTTLS takes no arguments"));
        }
        if self.tls {
            return Err(reply(503, "5.5.1", "TLS is already active"));
        }
        if self.helo.is_none() {
            return Err(reply(503, "5.5.1", "Send EHLO first"));
        }
        if self.shared.config.tls.is_none() {
            return Err(reply(454, "4.7.0", "TLS not available"));
        }
        Ok(())
    }
}

/// `text` with every character but printable ASCII, space and the `\n`
/// between reply lines written as `\u{XXXX}`.
fn ascii(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\n' || c == ' ' || c.is_ascii_graphic() {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
        }
    }
    out
}

/// `NEVER`, or a comma list of `SUCCESS`, `FAILURE`, `DELAY` (RFC 3461 §4.1).
fn notify_ok(v: &str) -> bool {
    let words: Vec<String> = v.split(',').map(str::to_ascii_uppercase).collect();
    if words.len() == 1 && words[0] == "NEVER" {
        return true;
    }
    !words.is_empty()
        && words.iter().enumerate().all(|(i, w)| {
            matches!(w.as_str(), "SUCCESS" | "FAILURE" | "DELAY") && !words[..i].contains(w)
        })
}

/// `addr-type;xtext` (RFC 3461 §4.2), at most 500 characters.
fn orcpt_ok(v: &str) -> bool {
    v.len() <= 500
        && v.split_once(';').is_some_and(|(kind, addr)| {
            !kind.is_empty()
                && kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !addr.is_empty()
                && parse::is_xtext(addr)
        })
}
