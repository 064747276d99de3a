//! The `send` transaction as a type of its own: on one connection, it
//! completes what the conversation lacks (a greeting, MAIL FROM, RCPT TO
//! for each recipient not yet accepted), then DATA and the message, or
//! one BDAT chunk, and reads the final reply. Everything local is checked
//! before a byte goes out: the server's SIZE limit, `require-tls`, BDAT
//! support, SMTPUTF8.
//!
//! It works on any [`Connection`] (a socket, or memory in tests), prints
//! through any [`Output`], and does not know the shell's session: what it
//! needs comes in a [`Policy`].

use super::cmd::envelope::{check_params, check_utf8_address, mail_command_for};
use super::cmd::greet_on;
use super::failure::{FailKind, Failure, conn_failure, judge, reply_hint};
use super::output::Output;
use super::progress::{Meter, Progress, Upload};
use super::session::exchange_on;
use super::settings::Transfer;
use crate::address::{Address, ReversePath};
use crate::mime::{self, Content, Draft, Params};
use crate::smtp::params::For;
use crate::smtp::{Command, ConnError, Connection, Conversation, Ext, Pending, Reply};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What the settings say about sending.
#[derive(Debug, Clone)]
pub struct Policy {
    /// DATA or BDAT.
    pub transfer: Transfer,
    /// Never send the envelope or the message in plaintext.
    pub require_tls: bool,
    /// Set by Ctrl-C.
    pub interrupt: Arc<AtomicBool>,
}

/// The ESMTP parameters the user gave for the envelope (`from --ret`,
/// `to --notify`, ...), sent with what `send` adds itself.
#[derive(Debug, Clone, Default)]
pub struct EnvelopeParams {
    /// For MAIL FROM.
    pub mail: Params,
    /// For each RCPT TO that has any.
    pub rcpt: Vec<(Address, Params)>,
}

impl EnvelopeParams {
    /// Those the draft carries.
    pub fn of(draft: &Draft) -> EnvelopeParams {
        EnvelopeParams {
            mail: draft.mail_params.clone(),
            rcpt: draft.rcpt_params.clone(),
        }
    }
    /// The RCPT TO parameters of `addr`.
    fn rcpt_for(&self, addr: &Address) -> Option<&Params> {
        self.rcpt
            .iter()
            .find(|(a, _)| a.as_str().eq_ignore_ascii_case(addr.as_str()))
            .map(|(_, p)| p)
    }
}

/// A message sent to the end: the server's final reply says whether it
/// was accepted.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// The reply to the end of the message.
    pub reply: Reply,
    /// Recipients the server accepted for it.
    pub recipients: usize,
    /// Bytes put on the wire for the content.
    pub bytes: u64,
    /// How long the content and its reply took.
    pub elapsed: Duration,
}

impl Delivered {
    /// Whether the server accepted the message.
    pub fn accepted(&self) -> bool {
        self.reply.is_positive()
    }
}

/// One `send` on one connection.
pub struct Delivery<'a> {
    conn: &'a mut Connection,
    out: &'a mut Output,
    policy: Policy,
    params: EnvelopeParams,
}

/// One command of the envelope, and what it is for.
enum Piped {
    Mail,
    Rcpt(Address),
    Data,
}

impl Piped {
    /// What the server refused, in a failure's words.
    fn what(&self) -> String {
        match self {
            Piped::Mail => "the sender (MAIL FROM)".to_string(),
            Piped::Rcpt(addr) => format!("the recipient {addr}"),
            Piped::Data => "DATA".to_string(),
        }
    }
}

impl<'a> Delivery<'a> {
    /// A delivery on `conn`, printing to `out`.
    pub fn new(conn: &'a mut Connection, out: &'a mut Output, policy: Policy) -> Delivery<'a> {
        Delivery {
            conn,
            out,
            policy,
            params: EnvelopeParams::default(),
        }
    }

    /// The same delivery, sending the user's envelope parameters too.
    pub fn with_params(mut self, params: EnvelopeParams) -> Delivery<'a> {
        self.params = params;
        self
    }

    fn conversation(&self) -> &Conversation {
        self.conn.conversation()
    }

    fn exchange(&mut self, cmd: &Command) -> Result<Reply, Failure> {
        exchange_on(self.conn, self.out, cmd)
    }

    /// Sends `msg` (a composed draft or a message file) from `from` to
    /// `recipients`. `Ok` when the whole
    /// message went out and the server answered it (accepted or not: see
    /// [`Delivered::accepted`]); `Err` when it stopped before, and then
    /// nothing was delivered unless the failure says the outcome is unknown.
    pub fn run(
        &mut self,
        msg: &dyn Content,
        from: &ReversePath,
        recipients: &[Address],
        progress: &mut Progress,
    ) -> Result<Delivered, Failure> {
        greet_on(self.conn, self.out, "send needs a greeting")?;
        // The exact size (RFC 1870): the bytes `save` writes, which are the
        // content before dot-stuffing, without the final `.` line.
        let size = msg.size();
        self.size_check(size, msg.as_given())?;
        self.require_secure()?;
        let bdat = self.use_bdat()?;
        self.check_user_params(recipients)?;
        let params = self.mail_params(msg, size, from, recipients)?;
        // The envelope: MAIL FROM unless this transaction has it, RCPT TO for
        // each recipient not yet accepted, and DATA — in one write when the
        // server offers PIPELINING (RFC 2920), else one at a time.
        let group = self.envelope(from, &params, recipients, !bdat)?;
        let data_reply = if group.len() >= 2 && self.conversation().offers(Ext::Pipelining) {
            self.pipelined_envelope(&group)?
        } else {
            self.stepwise_envelope(&group)?;
            None
        };
        let accepted = self.check_recipients(data_reply.as_ref())?;
        if !bdat {
            let reply = match data_reply {
                Some(r) => r,
                None => self.exchange(&Command::data())?,
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
        let bytes = self.upload(msg, size, bdat, progress)?;
        let reply = final_reply(self.conn, self.out)?;
        Ok(Delivered {
            reply,
            recipients: accepted,
            bytes,
            elapsed: started.elapsed(),
        })
    }

    /// Refuses a message over the server's SIZE limit before anything of
    /// it is sent: before MAIL FROM, or — when MAIL FROM was typed by hand
    /// and the transaction is open — before RCPT TO and DATA.
    fn size_check(&self, size: u64, file: bool) -> Result<(), Failure> {
        let c = self.conversation();
        let Some(limit) = c
            .extensions()
            .and_then(|e| e.size_limit())
            .filter(|&l| l > 0 && size > l)
        else {
            return Ok(());
        };
        let f = Failure::local(format!(
            "the message is {} but the server accepts at most {} (SIZE)",
            super::output::human_bytes(size),
            super::output::human_bytes(limit)
        ));
        let fix = if file {
            "use another server"
        } else {
            "remove attachments (`detach N`) or use another server"
        };
        Err(if c.transaction().is_some() {
            f.hint(format!(
                "DATA was not sent; the transaction you opened with MAIL FROM is still open \
                 (`rset` ends it); {fix}"
            ))
        } else {
            f.hint(format!("nothing was sent; {fix}"))
        })
    }

    fn require_secure(&self) -> Result<(), Failure> {
        let c = self.conversation();
        if !self.policy.require_tls || c.is_secure() {
            return Ok(());
        }
        Err(Failure::local(
            "require-tls is on and this connection is not encrypted: the message (MAIL FROM, RCPT TO, DATA) was not sent",
        )
        .hint(if c.offers(Ext::StartTls) {
            "`starttls` encrypts it (the server offers STARTTLS)"
        } else {
            "connect with TLS (`connect --tls HOST 465` or `connect --starttls HOST 587`), or `set require-tls off`"
        }))
    }

    /// Refuses, before anything is sent, a parameter the user gave that
    /// the server did not announce the extension of (unless forced).
    fn check_user_params(&self, recipients: &[Address]) -> Result<(), Failure> {
        let c = self.conversation();
        let p = &self.params;
        if c.transaction().is_none() {
            check_params(
                self.out,
                c,
                &p.mail,
                For::Mail,
                "nothing was sent; the draft is kept",
            )?;
        }
        for addr in recipients {
            if c.transaction()
                .is_some_and(|t| t.is_accepted(addr.as_str()))
            {
                continue;
            }
            if let Some(r) = p.rcpt_for(addr) {
                check_params(
                    self.out,
                    c,
                    r,
                    For::Rcpt,
                    "nothing was sent; the draft is kept",
                )?;
            }
        }
        Ok(())
    }

    /// Whether to use BDAT: `set transfer bdat` needs the server's
    /// CHUNKING; `auto` and `data` use DATA (smtpsh's messages are 7-bit).
    fn use_bdat(&self) -> Result<bool, Failure> {
        match self.policy.transfer {
            Transfer::Auto | Transfer::Data => Ok(false),
            Transfer::Bdat if self.conversation().offers(Ext::Chunking) => Ok(true),
            Transfer::Bdat => Err(Failure::local(
                "`set transfer bdat` is on, but the server does not offer CHUNKING (BDAT); nothing was sent",
            )
            .hint("`set transfer auto` sends the message with DATA")),
        }
    }

    /// The MAIL FROM parameters the message needs, among those the server
    /// offers: `SIZE=` (RFC 1870), `SMTPUTF8` (RFC 6531) when an address
    /// or the header is UTF-8, `BODY=8BITMIME` (RFC 6152) when any byte is
    /// 8-bit. After HELO: none.
    ///
    /// A UTF-8 address without SMTPUTF8 cannot be sent at all: refused. A
    /// composed message's UTF-8 header (it holds such an address) is
    /// refused the same way. A file's 8-bit header or body that the server
    /// did not announce support for is sent as it is, with a warning: the
    /// file is sent as the user gave it, and most servers take 8-bit data
    /// anyway; what this one does is what the user came to see.
    fn mail_params(
        &self,
        msg: &dyn Content,
        size: u64,
        from: &ReversePath,
        recipients: &[Address],
    ) -> Result<Vec<String>, Failure> {
        let c = self.conversation();
        let mut params = Vec::new();
        if c.offers(Ext::Size) {
            params.push(format!("SIZE={size}"));
        }
        params = self.with_user_params(params);
        let utf8_address = from
            .address()
            .into_iter()
            .chain(recipients.iter())
            .find(|a| a.needs_smtputf8());
        let utf8_header = msg.has_utf8_header();
        if utf8_address.is_some() || utf8_header {
            if c.offers(Ext::SmtpUtf8) {
                if !params.iter().any(|p| keyword(p) == "SMTPUTF8") {
                    params.push("SMTPUTF8".to_string());
                }
            } else if c.extensions().is_some() && (utf8_address.is_some() || !msg.as_given()) {
                let what = utf8_address.map_or_else(
                    || "the header has UTF-8".to_string(),
                    |a| format!("{a} has non-ASCII characters"),
                );
                return Err(Failure::local(format!(
                    "{what}, but the server does not announce SMTPUTF8; nothing was sent"
                ))
                .hint("use ASCII addresses for this server"));
            } else if msg.as_given() {
                self.out.warn(
                    "the message's header has 8-bit bytes, but the server does not announce \
                     SMTPUTF8 (RFC 6532): it is sent as it is; the server may refuse or alter it",
                );
            }
        }
        if msg.has_8bit() {
            if c.offers(Ext::EightBitMime) {
                if !params.iter().any(|p| keyword(p) == "BODY") {
                    params.push("BODY=8BITMIME".to_string());
                }
            } else if msg.as_given() && !utf8_header {
                self.out.warn(
                    "the message has 8-bit bytes, but the server does not announce 8BITMIME \
                     (RFC 6152): it is sent as it is; the server may refuse or alter it",
                );
            }
        }
        Ok(params)
    }

    /// `auto` (what smtpsh adds: SIZE=...) with the user's MAIL FROM
    /// parameters after it; one the user gave replaces smtpsh's own.
    fn with_user_params(&self, auto: Vec<String>) -> Vec<String> {
        let user = &self.params.mail.list;
        let mut out: Vec<String> = auto
            .into_iter()
            .filter(|a| !user.iter().any(|u| keyword(u) == keyword(a)))
            .collect();
        out.extend(user.iter().cloned());
        out
    }

    /// The commands the transaction still lacks: MAIL FROM (unless it is
    /// open), RCPT TO for each recipient not yet accepted, and — with
    /// `with_data` — DATA. Every address is checked before any is sent.
    fn envelope(
        &self,
        from: &ReversePath,
        params: &[String],
        recipients: &[Address],
        with_data: bool,
    ) -> Result<Vec<(Piped, Command)>, Failure> {
        let c = self.conversation();
        let mut group = Vec::new();
        if c.transaction().is_none() {
            group.push((
                Piped::Mail,
                mail_command_for(Some(c), from, recipients, params)?,
            ));
        }
        for addr in recipients {
            if c.transaction()
                .is_some_and(|t| t.is_accepted(addr.as_str()))
            {
                continue;
            }
            check_utf8_address(Some(c), addr)?;
            let params = self
                .params
                .rcpt_for(addr)
                .map(|p| p.list.clone())
                .unwrap_or_default();
            let cmd = Command::rcpt_to(addr, &params).map_err(super::failure::command_error)?;
            group.push((Piped::Rcpt(addr.clone()), cmd));
        }
        if with_data {
            group.push((Piped::Data, Command::data()));
        }
        Ok(group)
    }

    /// The envelope one command at a time, but for DATA, which the caller
    /// sends once it knows a recipient was accepted. Stops at a refused
    /// MAIL FROM and when the server closes the connection.
    fn stepwise_envelope(&mut self, group: &[(Piped, Command)]) -> Result<(), Failure> {
        for (step, cmd) in group {
            if matches!(step, Piped::Data) {
                break;
            }
            let reply = self.exchange(cmd)?;
            if let Some(closed) = self.conversation().closed() {
                // A 421: the server closed the connection; that reply is the cause.
                judge(&reply, &step.what())?;
                return Err(super::failure::closed_failure(closed));
            }
            if matches!(step, Piped::Mail) {
                judge(&reply, &step.what())?;
            }
        }
        Ok(())
    }

    /// The envelope in one write (RFC 2920); then each reply in order,
    /// printed after its own command. Every reply is read even when MAIL
    /// FROM was refused, so the connection stays in step; DATA's reply is
    /// returned for the caller to judge.
    ///
    /// When DATA was answered 354 although MAIL FROM was refused (RFC 2920
    /// §3.1 warns that a server may), the connection is closed without a
    /// byte of content: a server in that state is not trusted with even an
    /// empty message (see docs/commands.md, `send`).
    fn pipelined_envelope(&mut self, group: &[(Piped, Command)]) -> Result<Option<Reply>, Failure> {
        let commands: Vec<Command> = group.iter().map(|(_, c)| c.clone()).collect();
        self.conn.send_batch(&commands).map_err(conn_failure)?;
        let mut mail_refused = None;
        let mut data_reply = None;
        for (step, cmd) in group {
            let reply = self
                .conn
                .pipelined_reply(cmd, self.out)
                .map_err(conn_failure)?;
            if let Some(closed) = self.conversation().closed() {
                super::session::closing_note(self.conn, self.out);
                judge(&reply, &step.what())?;
                return Err(super::failure::closed_failure(closed));
            }
            match step {
                Piped::Mail if !reply.is_positive() => {
                    mail_refused = judge(&reply, &step.what()).err();
                }
                Piped::Data => data_reply = Some(reply),
                _ => {}
            }
        }
        if let Some(f) = mail_refused {
            if data_reply.as_ref().is_some_and(|r| r.code == 354) {
                self.out.warn(
                    "the server answered DATA with 354 although it refused MAIL FROM; \
                     the connection was closed without sending the message",
                );
                self.conn.close();
            }
            return Err(f);
        }
        Ok(data_reply)
    }

    /// How many recipients accepted; with none, the failure (and with a
    /// pipelined DATA answered 354 anyway, the connection is closed
    /// without any content, so nothing can be delivered).
    fn check_recipients(&mut self, data_reply: Option<&Reply>) -> Result<usize, Failure> {
        let Some(t) = self.conversation().transaction() else {
            return Err(Failure::new(
                FailKind::Refused,
                "the server has no open mail transaction; nothing was sent",
            ));
        };
        let accepted = t.accepted().len();
        let rejected: Vec<String> = t
            .refused()
            .iter()
            .map(|r| format!("{} ({})", r.address, r.reply.code))
            .collect();
        let last_code = t.refused().last().map(|r| r.reply.code);
        if accepted > 0 {
            if !rejected.is_empty() {
                self.out.warn(&format!(
                    "{} rejected: {}; sending to the {accepted} accepted",
                    super::cmd::plural(rejected.len(), "recipient"),
                    rejected.join(", ")
                ));
            }
            return Ok(accepted);
        }
        let data = match data_reply {
            None => "DATA was not sent".to_string(),
            Some(r) if r.code == 354 => {
                self.conn.close();
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
        if let Some(h) = last_code.and_then(reply_hint) {
            f = f.hint(format!("no recipient was accepted — {h}"));
        }
        Err(f)
    }

    /// Streams the message after DATA's 354 (dot-stuffed, then `.`) or as
    /// one `BDAT <size> LAST` chunk, counting into `progress`. Returns the
    /// bytes put on the wire. On failure the connection is closed before
    /// the end of the content, so the server discards what it got.
    fn upload(
        &mut self,
        msg: &dyn Content,
        size: u64,
        bdat: bool,
        progress: &mut Progress,
    ) -> Result<u64, Failure> {
        let result = stream_content(self.conn, self.out, msg, size, bdat, progress);
        // The bar goes before anything else is printed.
        progress.clear();
        let e = match result {
            Ok(n) => return Ok(n),
            Err(UploadError::Conn(e)) => return Err(conn_failure(e)),
            Err(UploadError::Write(e)) => e,
        };
        self.conn.close();
        let (kind, what) = if self.policy.interrupt.load(Ordering::SeqCst) {
            (FailKind::Interrupted, "interrupted (Ctrl-C)".to_string())
        } else if matches!(e, mime::MimeError::Write(_)) {
            (FailKind::Connection, e.to_string())
        } else {
            (FailKind::Local, e.to_string())
        };
        let end = if bdat {
            "before the BDAT chunk was complete"
        } else {
            "before the final dot"
        };
        let kept = if msg.as_given() {
            "send the file again"
        } else {
            "the draft is kept"
        };
        Err(Failure::new(kind, format!("sending stopped: {what}")).hint(format!(
            "the connection was closed {end}, so the server did not accept a partial message; {kept}"
        )))
    }
}

/// The keyword of `KEYWORD=VALUE`, upper case.
fn keyword(param: &str) -> String {
    param
        .split_once('=')
        .map_or(param, |(k, _)| k)
        .to_ascii_uppercase()
}

/// The reply after the end of the message (`.` or `BDAT ... LAST`): the
/// transaction is over either way. In LMTP one reply per accepted
/// recipient comes, all read here (each shown with its recipient); the
/// last is returned, and [`lmtp::PerRecipient`] reads them all from the
/// conversation. A lost connection here means nobody knows whether the
/// message was delivered (to the recipients still without a reply), and
/// the error says so.
pub fn final_reply(conn: &mut Connection, out: &mut Output) -> Result<Reply, Failure> {
    let mut came = 0;
    loop {
        let what = match conn.conversation().next_pending() {
            Some(Pending::Delivery { recipient, .. }) => {
                format!("the reply for {recipient} to the end of the message")
            }
            _ => "the reply to the end of the message".to_string(),
        };
        match conn.read_reply(&what, out) {
            Ok(reply) => {
                came += 1;
                if matches!(
                    conn.conversation().next_pending(),
                    Some(Pending::Delivery { .. })
                ) {
                    continue;
                }
                super::session::closing_note(conn, out);
                return Ok(reply);
            }
            Err(e) => {
                let f = conn_failure(e);
                let unknown = match conn.conversation().last_message() {
                    Some(t) if came > 0 => {
                        let unknown = t.undelivered_unknown().join(", ");
                        format!(
                            "after {came} of the recipients' replies: whether {unknown} got it is unknown"
                        )
                    }
                    _ => "but no reply came: whether it was delivered is unknown".to_string(),
                };
                let message = format!("{} — the message was sent {unknown}", f.message);
                if let Some(per) = lmtp::PerRecipient::of(conn.conversation()).filter(|_| came > 0)
                {
                    per.report(out);
                }
                return Err(Failure { message, ..f });
            }
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
    out: &mut Output,
    msg: &dyn Content,
    size: u64,
    bdat: bool,
    progress: &mut Progress,
) -> Result<u64, UploadError> {
    let mut upload = if bdat {
        Upload::Bdat(conn.bdat_writer(size, out).map_err(UploadError::Conn)?)
    } else {
        Upload::Data(conn.data_writer().map_err(UploadError::Conn)?)
    };
    msg.write_to_sink(&mut Meter::new(&mut upload, progress))
        .map_err(UploadError::Write)?;
    progress.clear();
    upload.finish(out).map_err(UploadError::Conn)
}

pub mod lmtp;
#[cfg(test)]
mod tests;
