//! The SMTP conversation as a state machine with no I/O (the pattern of
//! h11, quinn-proto and rustls): commands the client sends and replies
//! that arrive go in, and it holds everything that is true of the
//! conversation — the greeting, how the client greeted and what the
//! server announced, TLS and AUTH, the mail transaction (the sender, each
//! recipient accepted or refused with its reply, DATA or BDAT in
//! progress), which reply belongs to which command when several are
//! pipelined, and whether the server closed the conversation, with the
//! reply that closed it.
//!
//! LMTP (RFC 2033) is the same conversation with one difference that
//! matters here: after the message (DATA's final dot, or `BDAT ... LAST`)
//! the server gives one reply per accepted recipient, in RCPT order. The
//! conversation knows it speaks LMTP (told so with
//! [`Conversation::set_lmtp`], or because an LHLO was accepted), expects
//! that many replies ([`Pending::Delivery`]) and records each in the
//! [`Transaction`] ([`Transaction::deliveries`]); the transaction that
//! ended last stays readable ([`Conversation::last_message`]).
//!
//! It never decides policy (whether `to` before `from` is a mistake is the
//! shell's call); it refuses only what cannot be sent at all: anything
//! after the conversation closed, a command where message content is
//! due, anything between a 220 to STARTTLS and the TLS handshake.
//!
//! [`Connection`](super::Connection) feeds it every command and reply, so
//! no caller keeps a copy of any of this.

use super::command::{Command, Detail, Verb};
use super::extensions::{Ext, Extensions};
use super::reply::Reply;
use std::collections::VecDeque;
use std::fmt;

/// How the client greeted, once the server accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// [`Verb::Ehlo`], [`Verb::Helo`] or [`Verb::Lhlo`].
    pub verb: Verb,
    /// The name given.
    pub name: String,
}

/// A recipient the server refused, with its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// The address as sent.
    pub address: String,
    /// The server's reply.
    pub reply: Reply,
}

/// One recipient's own reply to the end of the message (LMTP, RFC 2033
/// §4.2): whether the message was delivered to that recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReply {
    /// The recipient, as sent in RCPT TO.
    pub address: String,
    /// The server's reply for it.
    pub reply: Reply,
}

/// The mail transaction: open from an accepted MAIL until the reply to the
/// end of the message, RSET, a new greeting, or the end of the connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transaction {
    /// The reverse path accepted (empty for `<>`; `None` when the MAIL
    /// line typed by hand had no readable path).
    sender: Option<String>,
    /// Recipients accepted, in order, each once.
    accepted: Vec<String>,
    /// Recipients refused, each with its latest reply.
    refused: Vec<Refused>,
    /// LMTP: each accepted recipient's reply after the message, in RCPT
    /// order, as they arrive.
    deliveries: Vec<DeliveryReply>,
}

impl Transaction {
    /// The reverse path the server accepted (empty for the null sender).
    pub fn sender(&self) -> Option<&str> {
        self.sender.as_deref()
    }
    /// The recipients the server accepted.
    pub fn accepted(&self) -> &[String] {
        &self.accepted
    }
    /// The recipients the server refused, with its replies.
    pub fn refused(&self) -> &[Refused] {
        &self.refused
    }
    /// LMTP: the replies after the message, one per accepted recipient in
    /// RCPT order (fewer when the connection ended before the rest came).
    pub fn deliveries(&self) -> &[DeliveryReply] {
        &self.deliveries
    }
    /// LMTP: the accepted recipients that got no reply after the message
    /// (the connection ended first): whether they got it is unknown.
    pub fn undelivered_unknown(&self) -> &[String] {
        self.accepted
            .get(self.deliveries.len()..)
            .unwrap_or_default()
    }
    /// Whether `address` was accepted in this transaction (compared
    /// without regard to ASCII case, as servers do in practice).
    pub fn is_accepted(&self, address: &str) -> bool {
        self.accepted
            .iter()
            .any(|a| a.eq_ignore_ascii_case(address))
    }
    /// Records the answer to `RCPT TO:<address>`: accepted once, or refused
    /// with the latest reply.
    fn record(&mut self, address: &str, reply: &Reply) {
        self.refused
            .retain(|r| !r.address.eq_ignore_ascii_case(address));
        if !reply.is_positive() {
            self.refused.push(Refused {
                address: address.to_string(),
                reply: reply.clone(),
            });
        } else if !self.is_accepted(address) {
            self.accepted.push(address.to_string());
        }
    }
}

/// Why the conversation is over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    /// The server closed it with this reply (421 to a command, on its own,
    /// or as its greeting).
    ByServer(Reply),
    /// The server closed the connection without a reply.
    Dropped,
    /// QUIT was sent and answered.
    Quit,
    /// The connection failed on our side (timeout, interruption, a reply
    /// that was not SMTP, a failed TLS handshake): the text says how.
    Lost(String),
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Closed::ByServer(r) => write!(
                f,
                "the server closed the connection ({} {})",
                r.code,
                r.text()
            ),
            Closed::Dropped => f.write_str("the server closed the connection"),
            Closed::Quit => f.write_str("the connection was closed with QUIT"),
            Closed::Lost(why) => write!(f, "the connection was closed: {why}"),
        }
    }
}

/// What a reply that arrives answers, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// The server's greeting.
    Greeting,
    /// A command.
    Command {
        /// Its verb.
        verb: Verb,
        /// What it said.
        detail: Detail,
    },
    /// The end of the message content (after DATA's `.`).
    EndOfData,
    /// LMTP: one accepted recipient's reply to the end of the message
    /// (after DATA's `.` or `BDAT ... LAST`), one per recipient in RCPT
    /// order (RFC 2033 §4.2).
    Delivery {
        /// The recipient it is for.
        recipient: String,
        /// Whether it is the last of them (the transaction ends with it).
        last: bool,
    },
}

/// Where the conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for the server's greeting.
    Greeting,
    /// Greeted by the server; the client has not greeted yet.
    Connected,
    /// EHLO/HELO/LHLO accepted; no mail transaction.
    Ready,
    /// MAIL accepted; so many recipients accepted so far.
    Mail {
        /// Recipients accepted.
        recipients: usize,
    },
    /// DATA was answered 354: the message content is due.
    Data,
    /// STARTTLS was answered 220: the TLS handshake is due.
    TlsHandshake,
    /// Over (see [`Conversation::closed`]).
    Closed,
}

/// What a reply changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing that the conversation tracks.
    Nothing,
    /// The server greeted (2xx greeting).
    Greeted,
    /// The greeting was not 2xx: the server will not serve this client.
    GreetingRefused,
    /// EHLO/HELO/LHLO was accepted; a new transaction may start.
    Hello,
    /// MAIL was accepted.
    SenderAccepted,
    /// RCPT was accepted for this address.
    RecipientAccepted(String),
    /// RCPT was refused for this address.
    RecipientRefused(String),
    /// DATA was answered 354: send the content.
    DataReady,
    /// The message was accepted (reply to the final dot or `BDAT LAST`).
    MessageAccepted,
    /// The message was refused; the transaction is over.
    MessageRefused,
    /// LMTP: the message was delivered to this recipient (its own reply
    /// after the message); with `last`, the transaction is over.
    Delivered {
        /// The recipient.
        recipient: String,
        /// Whether this was the last recipient's reply.
        last: bool,
    },
    /// LMTP: the message was not delivered to this recipient.
    NotDelivered {
        /// The recipient.
        recipient: String,
        /// Whether this was the last recipient's reply.
        last: bool,
    },
    /// RSET was accepted: no transaction.
    Reset,
    /// STARTTLS was answered 220: start the TLS handshake.
    TlsReady,
    /// XCLIENT was answered 220: a new greeting. The conversation starts
    /// again (the client greets again; extensions, AUTH and the
    /// transaction are forgotten; TLS stays), authenticated as the user
    /// of its `LOGIN=` if it had one.
    NewGreeting,
    /// AUTH asks for more (334).
    Challenge,
    /// AUTH succeeded for this user.
    Authenticated(String),
    /// The conversation is over (see [`Conversation::closed`]).
    Closed,
    /// A reply nothing was waiting for (not 421): a misbehaving server.
    Unexpected,
}

/// A reply and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What the reply answers (`None` when nothing was pending).
    pub to: Option<Pending>,
    /// What it changed.
    pub change: Change,
}

/// Why a command cannot be sent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The conversation is over.
    Closed(Closed),
    /// DATA was answered 354: the message content must come first.
    ContentDue,
    /// STARTTLS was answered 220: the TLS handshake must come first.
    TlsDue,
    /// The end of the content was announced without a 354 to DATA.
    NoContentExpected,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Closed(c) => write!(f, "{c}; connect again"),
            Refusal::ContentDue => {
                f.write_str("the server is waiting for the message content (DATA was answered 354)")
            }
            Refusal::TlsDue => f.write_str(
                "the server is waiting for the TLS handshake (STARTTLS was answered 220)",
            ),
            Refusal::NoContentExpected => {
                f.write_str("no message content is expected: DATA was not answered 354")
            }
        }
    }
}

impl std::error::Error for Refusal {}

/// One SMTP conversation, from the greeting to the end of the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    greeting: Option<Reply>,
    hello: Option<Hello>,
    /// The EHLO/LHLO reply's extensions (`None` before it and after HELO).
    extensions: Option<Extensions>,
    secure: bool,
    user: Option<String>,
    /// The user of an AUTH exchange in progress.
    authenticating: Option<String>,
    transaction: Option<Transaction>,
    /// DATA was answered 354 and the content is not finished.
    content_due: bool,
    /// STARTTLS was answered 220 and the handshake has not happened.
    tls_due: bool,
    pending: VecDeque<Pending>,
    closed: Option<Closed>,
    /// The session speaks LMTP (RFC 2033): set by the caller, or by an
    /// accepted LHLO; it stays for the connection.
    lmtp: bool,
    /// The transaction the last message ended (with its LMTP deliveries).
    ended: Option<Transaction>,
}

impl Conversation {
    /// A conversation on a new connection, waiting for the greeting;
    /// `secure` when TLS started before it (implicit TLS, port 465).
    pub fn new(secure: bool) -> Conversation {
        Conversation {
            greeting: None,
            hello: None,
            extensions: None,
            secure,
            user: None,
            authenticating: None,
            transaction: None,
            content_due: false,
            tls_due: false,
            pending: VecDeque::from([Pending::Greeting]),
            closed: None,
            lmtp: false,
            ended: None,
        }
    }

    /// The session speaks LMTP (RFC 2033; `connect --lmtp`): after the
    /// message, one reply per accepted recipient is due.
    pub fn set_lmtp(&mut self) {
        self.lmtp = true;
    }

    // ------------------------------------------------------------ input

    /// Whether a command may be sent now.
    pub fn check(&self) -> Result<(), Refusal> {
        if let Some(c) = &self.closed {
            return Err(Refusal::Closed(c.clone()));
        }
        if self.content_due {
            return Err(Refusal::ContentDue);
        }
        if self.tls_due {
            return Err(Refusal::TlsDue);
        }
        Ok(())
    }

    /// Records that `command` is being sent: its reply is due after those
    /// already pending. Refused as [`Conversation::check`] says.
    pub fn send(&mut self, command: &Command) -> Result<(), Refusal> {
        self.check()?;
        if let Detail::Auth(user) = command.detail() {
            self.authenticating = Some(user.clone().unwrap_or_default());
        }
        if let Detail::Bdat { last: true } = command.detail()
            && self.expect_deliveries()
        {
            return Ok(());
        }
        self.pending.push_back(Pending::Command {
            verb: command.verb(),
            detail: command.detail().clone(),
        });
        Ok(())
    }

    /// Records that the message content after DATA's 354 was sent, ended
    /// by `<CRLF>.<CRLF>`: its reply is due.
    pub fn content_sent(&mut self) -> Result<(), Refusal> {
        if let Some(c) = &self.closed {
            return Err(Refusal::Closed(c.clone()));
        }
        if !self.content_due {
            return Err(Refusal::NoContentExpected);
        }
        self.content_due = false;
        if !self.expect_deliveries() {
            self.pending.push_back(Pending::EndOfData);
        }
        Ok(())
    }

    /// In LMTP with recipients accepted: the replies to the end of the
    /// message are one per recipient, in RCPT order. Returns whether they
    /// were queued (else the one reply of SMTP is due).
    fn expect_deliveries(&mut self) -> bool {
        let Some(t) = self.transaction.as_ref().filter(|_| self.lmtp) else {
            return false;
        };
        let n = t.accepted.len();
        for (i, recipient) in t.accepted.iter().enumerate() {
            self.pending.push_back(Pending::Delivery {
                recipient: recipient.clone(),
                last: i + 1 == n,
            });
        }
        n > 0
    }

    /// Takes the next reply: applies it to what it answers.
    pub fn receive(&mut self, reply: &Reply) -> Answer {
        let Some(to) = self.pending.pop_front() else {
            // Nothing was asked: RFC 5321 §3.8 allows only a 421 here.
            if reply.code == 421 {
                self.close(Closed::ByServer(reply.clone()));
                return Answer {
                    to: None,
                    change: Change::Closed,
                };
            }
            return Answer {
                to: None,
                change: Change::Unexpected,
            };
        };
        let change = if reply.code == 421 {
            if let Pending::Delivery { recipient, .. } = &to {
                // That recipient's delivery failed (for now); the rest get no reply.
                self.record_delivery(recipient, reply);
                self.ended = self.transaction.take();
            }
            self.close(Closed::ByServer(reply.clone()));
            Change::Closed
        } else {
            self.apply(&to, reply)
        };
        Answer {
            to: Some(to),
            change,
        }
    }

    /// The TLS handshake after STARTTLS succeeded: everything learned
    /// before it is forgotten (RFC 3207 §4.2): the client greets again.
    pub fn tls_established(&mut self) {
        self.forget();
        self.secure = true;
    }

    /// The connection is gone: closed by the server without a reply
    /// (`None`) or failed on our side (`Some(why)`). Keeps an earlier reason.
    pub fn lost(&mut self, why: Option<String>) {
        self.close(why.map_or(Closed::Dropped, Closed::Lost));
    }

    fn close(&mut self, why: Closed) {
        if self.closed.is_none() {
            self.closed = Some(why);
        }
        // Closed while recipients' replies were due (LMTP): what came is
        // kept; the rest are unknown.
        if self.transaction.is_some()
            && self
                .pending
                .iter()
                .any(|p| matches!(p, Pending::Delivery { .. }))
        {
            self.ended = self.transaction.take();
        }
        self.forget();
    }

    /// Forgets everything learned on the way (the greeting stays): after
    /// TLS begins (RFC 3207 §4.2) and when the conversation ends.
    fn forget(&mut self) {
        self.hello = None;
        self.extensions = None;
        self.user = None;
        self.authenticating = None;
        self.transaction = None;
        self.content_due = false;
        self.tls_due = false;
        self.pending.clear();
    }

    /// The server greeted anew (a 220 to XCLIENT, Postfix's
    /// XCLIENT_README): the state is that of a new connection whose
    /// greeting is `greeting`, except that TLS, which is the connection's,
    /// stays. Replies still due for commands sent after it stay due.
    fn restart(&mut self, greeting: &Reply) {
        self.greeting = Some(greeting.clone());
        self.hello = None;
        self.extensions = None;
        self.user = None;
        self.authenticating = None;
        self.transaction = None;
    }

    /// What `reply` changes, as the answer to `to` (not a 421).
    fn apply(&mut self, to: &Pending, reply: &Reply) -> Change {
        let ok = reply.is_positive();
        match to {
            Pending::Greeting => {
                self.greeting = Some(reply.clone());
                if ok {
                    Change::Greeted
                } else {
                    Change::GreetingRefused
                }
            }
            Pending::EndOfData => self.end_of_message(ok),
            Pending::Delivery { recipient, last } => {
                self.record_delivery(recipient, reply);
                if *last {
                    self.ended = self.transaction.take();
                }
                let (recipient, last) = (recipient.clone(), *last);
                if ok {
                    Change::Delivered { recipient, last }
                } else {
                    Change::NotDelivered { recipient, last }
                }
            }
            Pending::Command { verb, detail } => self.answer(*verb, detail, reply),
        }
    }

    /// LMTP: `recipient`'s reply after the message, into the transaction.
    fn record_delivery(&mut self, recipient: &str, reply: &Reply) {
        if let Some(t) = self.transaction.as_mut() {
            t.deliveries.push(DeliveryReply {
                address: recipient.to_string(),
                reply: reply.clone(),
            });
        }
    }

    fn answer(&mut self, verb: Verb, detail: &Detail, reply: &Reply) -> Change {
        let ok = reply.is_positive();
        match (verb, detail) {
            (Verb::Ehlo | Verb::Helo | Verb::Lhlo, Detail::Hello(name)) if ok => {
                self.hello = Some(Hello {
                    verb,
                    name: name.clone(),
                });
                self.extensions = (verb != Verb::Helo).then(|| Extensions::from_ehlo(reply));
                if verb == Verb::Lhlo {
                    self.lmtp = true;
                }
                // A greeting resets the transaction (RFC 5321 §4.1.4).
                self.transaction = None;
                Change::Hello
            }
            (Verb::Mail, Detail::Path(path)) if ok => {
                self.ended = None;
                self.transaction = Some(Transaction {
                    sender: path.clone(),
                    ..Transaction::default()
                });
                Change::SenderAccepted
            }
            (Verb::Rcpt, Detail::Path(path)) => {
                let address = path.clone().unwrap_or_default();
                if let Some(t) = self.transaction.as_mut() {
                    t.record(&address, reply);
                }
                if ok {
                    Change::RecipientAccepted(address)
                } else {
                    Change::RecipientRefused(address)
                }
            }
            (Verb::Data, _) if reply.code == 354 => {
                self.content_due = true;
                Change::DataReady
            }
            (Verb::Bdat, Detail::Bdat { last }) if *last || !ok => self.end_of_message(ok),
            (Verb::Rset, _) if ok => {
                self.transaction = None;
                Change::Reset
            }
            (Verb::Quit, _) => {
                self.close(Closed::Quit);
                Change::Closed
            }
            (Verb::StartTls, _) if reply.code == 220 => {
                self.tls_due = true;
                Change::TlsReady
            }
            (Verb::Auth | Verb::AuthResponse, _) => self.auth_step(reply),
            (Verb::Xclient, detail) if reply.code == 220 => {
                self.restart(reply);
                if let Detail::Xclient { login } = detail {
                    self.user = login.clone();
                }
                Change::NewGreeting
            }
            _ => Change::Nothing,
        }
    }

    /// The reply to the end of a message: the transaction is over.
    fn end_of_message(&mut self, ok: bool) -> Change {
        self.ended = self.transaction.take();
        if ok {
            Change::MessageAccepted
        } else {
            Change::MessageRefused
        }
    }

    fn auth_step(&mut self, reply: &Reply) -> Change {
        if reply.code == 334 {
            return Change::Challenge;
        }
        let user = self.authenticating.take().unwrap_or_default();
        if reply.is_positive() {
            self.user = Some(user.clone());
            Change::Authenticated(user)
        } else {
            Change::Nothing
        }
    }

    // ------------------------------------------------------------ state

    /// Where the conversation stands.
    pub fn stage(&self) -> Stage {
        if self.closed.is_some() {
            Stage::Closed
        } else if self.tls_due {
            Stage::TlsHandshake
        } else if self.content_due {
            Stage::Data
        } else if let Some(t) = &self.transaction {
            Stage::Mail {
                recipients: t.accepted.len(),
            }
        } else if self.hello.is_some() {
            Stage::Ready
        } else if self.greeting.is_some() {
            Stage::Connected
        } else {
            Stage::Greeting
        }
    }
    /// The server's greeting, once it arrived (after XCLIENT, the 220 that
    /// answered it: the newest greeting).
    pub fn greeting(&self) -> Option<&Reply> {
        self.greeting.as_ref()
    }
    /// How the client greeted, once accepted (forgotten after STARTTLS).
    pub fn hello(&self) -> Option<&Hello> {
        self.hello.as_ref()
    }
    /// What the server announced in its EHLO/LHLO reply (`None` before it
    /// and after HELO).
    pub fn extensions(&self) -> Option<&Extensions> {
        self.extensions.as_ref()
    }
    /// Whether the server announced `ext`.
    pub fn offers(&self, ext: Ext) -> bool {
        self.extensions.as_ref().is_some_and(|e| e.has(ext))
    }
    /// Whether the conversation runs inside TLS.
    pub fn is_secure(&self) -> bool {
        self.secure
    }
    /// The user AUTH succeeded for.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }
    /// The open mail transaction.
    pub fn transaction(&self) -> Option<&Transaction> {
        self.transaction.as_ref()
    }
    /// Whether the session speaks LMTP (set, or an LHLO was accepted).
    pub fn is_lmtp(&self) -> bool {
        self.lmtp
    }
    /// The transaction the last message ended (the reply to its end came,
    /// or, in LMTP, the connection ended while recipients' replies were
    /// due): its recipients and, in LMTP, each one's reply
    /// ([`Transaction::deliveries`]). Forgotten when MAIL is accepted again.
    pub fn last_message(&self) -> Option<&Transaction> {
        self.ended.as_ref()
    }
    /// Why the conversation is over, once it is.
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }
    /// What the next reply will answer.
    pub fn next_pending(&self) -> Option<&Pending> {
        self.pending.front()
    }
    /// How many replies are due.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests;
