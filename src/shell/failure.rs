//! How a command fails: its kind (which decides a script's exit status),
//! one line saying what happened, and a hint saying what to do next.
//! Also the one place that turns a server's refusal or a lost connection
//! into such a failure.

use crate::smtp::{Closed, CommandError, ConnError, Reply};

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
    /// A failure of `kind`.
    pub fn new(kind: FailKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            hint: None,
        }
    }
    /// A local failure.
    pub fn local(message: impl Into<String>) -> Failure {
        Failure::new(FailKind::Local, message)
    }
    /// Sets the hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
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
}

/// Not connected at all.
pub fn not_connected() -> Failure {
    Failure::local("not connected").hint(
        "connect first: `connect HOST [PORT]` (e.g. connect 127.0.0.1 2525), or `connect sandbox`",
    )
}

/// The connection is over: how, and what to do.
pub fn closed_failure(closed: &Closed) -> Failure {
    Failure::new(FailKind::Connection, closed.to_string())
        .hint("`connect` connects again to the same server; the draft is kept")
}

/// A command that could not be built (a bad argument).
pub fn command_error(e: CommandError) -> Failure {
    Failure::local(e.to_string())
}

/// A connection error as a failure. The conversation has already taken
/// note (it is closed unless the error was a refusal to send).
pub fn conn_failure(e: ConnError) -> Failure {
    let kind = match &e {
        ConnError::Interrupted => FailKind::Interrupted,
        _ => FailKind::Connection,
    };
    let hint = match &e {
        ConnError::State(crate::smtp::client::Refusal::Closed(_)) => {
            "`connect` connects again to the same server; the draft is kept"
        }
        // Nothing was sent and the connection is still open.
        ConnError::State(_) => return Failure::new(kind, e.to_string()),
        // The others say themselves that the connection was closed.
        ConnError::Timeout { .. } => {
            "the connection is closed; the draft is kept — `connect` again, then `send`"
        }
        _ => "the draft is kept — `connect` again, then `send`",
    };
    Failure::new(kind, e.to_string()).hint(hint)
}

/// Ok for 2xx/3xx, else a Refused failure naming `what`, with a hint.
pub fn judge(reply: &Reply, what: &str) -> Result<(), Failure> {
    if !reply.is_error() {
        return Ok(());
    }
    let f = Failure::new(
        FailKind::Refused,
        format!("the server refused {what} ({})", reply.code),
    );
    Err(match reply_hint(reply.code) {
        Some(h) => f.hint(h),
        None => f,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::ReplyParser;

    fn reply(wire: &str) -> Reply {
        let mut p = ReplyParser::new();
        p.push(wire.as_bytes()).expect("valid");
        p.next_reply().expect("complete")
    }

    #[test]
    fn every_common_error_code_has_a_hint() {
        for code in [421, 450, 500, 501, 502, 503, 530, 550, 552, 554] {
            assert!(reply_hint(code).is_some(), "{code}");
        }
        assert!(reply_hint(250).is_none());
    }

    #[test]
    fn a_refusal_to_send_does_not_claim_the_connection_closed() {
        use crate::smtp::client::Refusal;
        let f = conn_failure(ConnError::State(Refusal::ContentDue));
        assert!(f.message.contains("waiting for the message content"));
        assert_eq!(f.hint, None);
        let f = conn_failure(ConnError::Interrupted);
        assert!(f.hint.is_some_and(|h| h.contains("`connect` again")));
    }

    #[test]
    fn judging_replies() {
        assert!(judge(&reply("250 ok\r\n"), "x").is_ok());
        assert!(judge(&reply("354 go\r\n"), "x").is_ok());
        let f = judge(&reply("550 no\r\n"), "the recipient b@x").unwrap_err();
        assert_eq!(f.kind, FailKind::Refused);
        assert_eq!(f.message, "the server refused the recipient b@x (550)");
        assert!(f.hint.is_some());
        let f = Failure::local("a").hint("b").also("c");
        assert_eq!(f.hint.as_deref(), Some("b\nc"));
        assert_eq!(FailKind::Expect.exit_code(), 5);
    }
}
