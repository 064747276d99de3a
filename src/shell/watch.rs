//! Replies the server sends on its own while the user is at the prompt (an
//! idle 421, a shutdown notice, the connection closing): a watcher thread
//! waits on the socket while the line editor waits for a line, prints what
//! arrives above the prompt (rustyline's external printer), and wakes the
//! line editor so the prompt is drawn again to show the connection is
//! gone — with what the user had typed put back.
//!
//! The watcher borrows the connection only while the line is read (a
//! scoped thread), and everything it reads goes through the connection's
//! conversation, so the state it leaves is the one true state.
//!
//! Waking the editor: rustyline returns from `readline` when the process
//! gets SIGINT while it reads (its own handler, installed only while it
//! reads, turns the signal into "interrupted"); the watcher raises SIGINT
//! for that. Should the signal land just after `readline` returned, the
//! process-wide Ctrl-C flag it sets is cleared again before the next
//! command runs ([`around`] returns only after the watcher stopped).

use super::helper::Printer;
use super::output::{Fit, Output};
use super::session::closing_note;
use crate::smtp::{Closed, Connection};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

/// How often the watcher looks when the connection has no socket to wait
/// on (in-memory connections in tests).
const NO_FD_SLICE: Duration = Duration::from_millis(50);
/// How long one read may wait once the socket is readable (TLS records
/// that hold no data, say a session ticket, leave nothing to read).
const READ_WAIT: Duration = Duration::from_millis(50);

/// What the watcher saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// Replies that arrived.
    pub replies: usize,
    /// The conversation ended while the line was read.
    pub closed: bool,
    /// The watcher woke the line editor (the line read was given up).
    pub woke: bool,
    /// What is still to be shown: when the watcher wakes the line editor,
    /// the end of the conversation is printed after the editor let go of
    /// the screen, not above a prompt about to be redrawn.
    pub text: String,
}

/// How the watcher reaches the user.
pub struct Reach<'a> {
    /// Prints above the prompt; `None`: written to standard error.
    pub printer: Option<&'a mut Printer>,
    /// Colour the transcript.
    pub color: bool,
    /// `set explain`: what replies get a line on their code.
    pub explain: super::output::Explain,
    /// Wake the line editor when the conversation ends (only when it
    /// really waits at a terminal).
    pub wake: bool,
    /// The width lines are wrapped to: the session's.
    pub fit: Fit,
    /// After a close, say that the draft is kept and `connect` connects
    /// again (not in the walk-through, which says its own).
    pub say_connect: bool,
}

/// Runs `read` (the line editor waiting for a line) while a watcher waits
/// for the server on `conn`. Returns what `read` returned and what the
/// watcher saw. Without an open connection, just runs `read`.
pub fn around<R>(
    conn: Option<&mut Connection>,
    reach: Reach<'_>,
    read: impl FnOnce() -> R,
) -> (R, Seen) {
    let Some(conn) = conn.filter(|c| c.conversation().closed().is_none()) else {
        return (read(), Seen::default());
    };
    let Ok((stop_rx, mut stop_tx)) = UnixStream::pair() else {
        return (read(), Seen::default());
    };
    std::thread::scope(|scope| {
        let watcher = scope.spawn(move || watch(conn, &stop_rx, reach));
        let line = read();
        let _ = stop_tx.write_all(&[0]);
        let seen = watcher.join().unwrap_or_default();
        (line, seen)
    })
}

/// The watcher: waits until the socket or `stop` is readable; reads and
/// reports what the server sent, until `stop` or the end of the conversation.
fn watch(conn: &mut Connection, stop: &UnixStream, mut reach: Reach<'_>) -> Seen {
    let (mut out, captured) = Output::capture(reach.color);
    out.explain = reach.explain;
    out.set_fit(reach.fit);
    let mut seen = Seen::default();
    // A reply already received whole comes first; then the socket is
    // read only once it has something (a socket timeout is a few ms at
    // best, and the line editor must not wait for it).
    let mut wait = Duration::ZERO;
    loop {
        // An error has closed the conversation: it is said below.
        if let Ok(Some(_)) = conn.poll_unsolicited(wait, &mut out) {
            seen.replies += 1;
            if conn.conversation().closed().is_none() {
                out.warn("the server sent that reply on its own: it answers no command");
            }
        }
        let closed = conn.conversation().closed().is_some();
        match conn.conversation().closed() {
            Some(Closed::ByServer(_)) if reach.say_connect => closing_note(conn, &out),
            Some(Closed::ByServer(r)) => {
                out.warn(&format!("the server closed the connection ({})", r.code));
            }
            Some(other) if reach.say_connect => out.warn(&format!(
                "{other}; the draft is kept — `connect` to connect again"
            )),
            Some(other) => out.warn(&other.to_string()),
            None => {}
        }
        seen.closed |= closed;
        let text = captured.take();
        if closed && reach.wake {
            seen.text = text;
            seen.woke = nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT).is_ok();
            if !seen.woke {
                show(&mut reach, std::mem::take(&mut seen.text));
            }
            return seen;
        }
        if !text.is_empty() {
            show(&mut reach, text);
        }
        if closed {
            return seen;
        }
        if !wait_readable(conn, stop) {
            return seen;
        }
        wait = READ_WAIT;
    }
}

/// Waits until the socket has something (`true`) or `stop` does (`false`).
fn wait_readable(conn: &Connection, stop: &UnixStream) -> bool {
    let stop_fd = stop.as_fd();
    let Some(sock) = conn.poll_fd() else {
        let mut fds = [PollFd::new(stop_fd, PollFlags::POLLIN)];
        let slice = PollTimeout::try_from(NO_FD_SLICE).unwrap_or(PollTimeout::ZERO);
        return !matches!(poll(&mut fds, slice), Ok(n) if n > 0);
    };
    loop {
        let mut fds = [
            PollFd::new(stop_fd, PollFlags::POLLIN),
            PollFd::new(sock, PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {
                if fds[0].any().unwrap_or(true) {
                    return false;
                }
                if fds[1].any().unwrap_or(true) {
                    return true;
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}

/// Prints `text` above the prompt, or on standard error without a printer.
fn show(reach: &mut Reach<'_>, text: String) {
    match reach.printer.as_mut() {
        Some(p) => {
            let _ = p.print(text);
        }
        None => {
            let mut err = std::io::stderr();
            let _ = err.write_all(text.as_bytes());
            let _ = err.flush();
        }
    }
}
