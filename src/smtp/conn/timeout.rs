//! Waiting: the RFC 5321 timeout of each phase, interruptible waits on
//! helper threads (name resolution, connect), and how an I/O error on an
//! open connection is classified.

use crate::smtp::client::Pending;
use crate::smtp::command::Verb;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest single blocking wait: interruption is checked at least this often.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// What the client is waiting for. Each phase has its own default timeout
/// (RFC 5321 §4.5.3.2); a timeout set by the user replaces them all.
///
/// A [`Connection`] picks the phase itself: the greeting until a command
/// was sent, then the reply to each command sent, in order (so pipelined
/// replies get their own command's timeout), the end of the message after
/// [`DataWriter::finish`], and the data block for message content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Name resolution and the TCP connect: 30 s (not an SMTP phase).
    Connect,
    /// The greeting (and an implicit-TLS handshake before it): 5 min.
    Greeting,
    /// The reply to MAIL: 5 min.
    Mail,
    /// The reply to RCPT: 5 min.
    Rcpt,
    /// The reply to DATA (the 354): 2 min.
    DataInit,
    /// Each write of message content to make progress: 3 min.
    DataBlock,
    /// The reply after the final dot (or to a BDAT chunk): 10 min.
    DataEnd,
    /// The reply to any other command (EHLO, NOOP, STARTTLS and its
    /// handshake, AUTH, QUIT, ...): 5 min.
    Command,
}

impl TimeoutPhase {
    /// The default timeout of this phase.
    pub fn default_timeout(self) -> Duration {
        let secs = match self {
            TimeoutPhase::Connect => 30,
            TimeoutPhase::Greeting
            | TimeoutPhase::Mail
            | TimeoutPhase::Rcpt
            | TimeoutPhase::Command => 5 * 60,
            TimeoutPhase::DataInit => 2 * 60,
            TimeoutPhase::DataBlock => 3 * 60,
            TimeoutPhase::DataEnd => 10 * 60,
        };
        Duration::from_secs(secs)
    }
    /// The phase of the reply to a command with this verb.
    pub fn for_verb(verb: Verb) -> TimeoutPhase {
        match verb {
            Verb::Mail => TimeoutPhase::Mail,
            Verb::Rcpt => TimeoutPhase::Rcpt,
            Verb::Data => TimeoutPhase::DataInit,
            Verb::Bdat => TimeoutPhase::DataEnd,
            _ => TimeoutPhase::Command,
        }
    }
    /// The phase of the next reply, from what it answers (nothing pending:
    /// a reply the server sends on its own, as for any command).
    pub fn for_pending(pending: Option<&Pending>) -> TimeoutPhase {
        match pending {
            Some(Pending::Greeting) => TimeoutPhase::Greeting,
            Some(Pending::Command { verb, .. }) => TimeoutPhase::for_verb(*verb),
            Some(Pending::EndOfData | Pending::Delivery { .. }) => TimeoutPhase::DataEnd,
            None => TimeoutPhase::Command,
        }
    }
    /// The timeout of this phase: `overall` if set, else the default.
    pub fn timeout(self, overall: Option<Duration>) -> Duration {
        overall
            .unwrap_or_else(|| self.default_timeout())
            .max(Duration::from_millis(1))
    }
}

/// A reply that keeps arriving byte by byte without ending is abandoned
/// after this many times the phase's timeout (bytes that trickle in count
/// as progress, but not forever).
pub const REPLY_TIME_FACTOR: u32 = 4;

/// `30 s`, `300 ms`, `1.5 s`, `5 min`.
pub(crate) fn human_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() >= 60 && d.as_secs().is_multiple_of(60) {
        format!("{} min", d.as_secs() / 60)
    } else if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{} s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// How an interruptible background wait ended.
pub(super) enum Wait<T> {
    Done(T),
    Interrupted,
    TimedOut,
    /// The helper thread could not be started.
    NoThread(io::Error),
}

/// Runs `f` on a helper thread and waits for it in slices, so that Ctrl-C
/// and `limit` are honoured even when `f` blocks (name resolution,
/// connect). An abandoned thread finishes on its own; its result is dropped.
pub(super) fn interruptible<T, F>(interrupt: &AtomicBool, limit: Duration, f: F) -> Wait<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("smtpsh-connect".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        return Wait::NoThread(e);
    }
    let deadline = Instant::now() + limit;
    loop {
        if interrupt.load(Ordering::SeqCst) {
            return Wait::Interrupted;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Wait::TimedOut;
        }
        match rx.recv_timeout(left.min(SLICE)) {
            Ok(value) => return Wait::Done(value),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return Wait::TimedOut,
        }
    }
}

/// What kind of failure an I/O error on an open connection is.
pub(super) enum IoFailure {
    /// The socket timeout slice ran out: check deadline and interrupt, retry.
    Slice,
    /// EINTR: retry.
    Retry,
    /// The peer went away.
    Closed,
    /// Anything else.
    Other,
}

/// Classifies an I/O error on an open connection.
pub(super) fn classify(e: &io::Error) -> IoFailure {
    use io::ErrorKind::*;
    match e.kind() {
        WouldBlock | TimedOut => IoFailure::Slice,
        Interrupted => IoFailure::Retry,
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof | NotConnected => {
            IoFailure::Closed
        }
        _ => IoFailure::Other,
    }
}

/// Whether `e` only means "nothing yet" (a timeout slice ran out, or a
/// signal interrupted the call): check deadline and interrupt, and retry.
/// For the other sockets that wait in [`SLICE`]s (DNS, the TLS handshake).
pub(crate) fn still_waiting(e: &io::Error) -> bool {
    matches!(classify(e), IoFailure::Slice | IoFailure::Retry)
}

/// What one step of a blocking write did.
pub(super) enum WriteStep {
    /// Everything is written (or flushed).
    Done,
    /// Some bytes went out: the deadline starts again.
    Progress,
    /// The peer accepted nothing: the connection is closed.
    Closed,
}
