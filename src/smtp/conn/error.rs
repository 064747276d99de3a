//! What can go wrong below the level of replies.

use super::timeout::human_duration;
use crate::smtp::client::Refusal;
use crate::smtp::proxy::MixedFamilies;
use crate::smtp::reply::ReplyError;
use crate::smtp::tls::TlsError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// What went wrong below the level of replies.
#[derive(Debug)]
pub enum ConnError {
    /// The host name did not resolve.
    Resolve {
        /// The name.
        host: String,
        /// Why.
        source: io::Error,
    },
    /// Every address refused or failed; holds the last attempt.
    Connect {
        /// The address tried last.
        addr: SocketAddr,
        /// Why it failed.
        source: io::Error,
    },
    /// Connecting to a UNIX-domain socket failed.
    Socket {
        /// The socket's path.
        path: PathBuf,
        /// What is wrong with it.
        problem: SocketProblem,
        /// The error underneath.
        source: io::Error,
    },
    /// Nothing arrived (or could be sent) within the timeout.
    Timeout {
        /// What we waited for, e.g. "the greeting", "the reply to MAIL".
        waiting_for: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// A reply kept trickling in (progress, so no [`ConnError::Timeout`])
    /// but was not complete after [`REPLY_TIME_FACTOR`] times the timeout.
    TooSlow {
        /// What we waited for, e.g. "the reply to EHLO".
        waiting_for: String,
        /// How long the reply took before it was abandoned.
        after: Duration,
    },
    /// The server closed the connection.
    Closed {
        /// What we were doing, e.g. "waiting for the reply to DATA".
        during: String,
    },
    /// The bytes received are not an SMTP reply.
    Protocol(ReplyError),
    /// The user pressed Ctrl-C.
    Interrupted,
    /// The TLS handshake failed (certificate, plaintext answer, ...); the
    /// connection was closed and nothing more was sent.
    Tls(TlsError),
    /// A send or receive failed for another reason.
    Io(io::Error),
    /// The connection is unusable after an earlier failure.
    Broken,
    /// The conversation cannot take this now (it is over, or message
    /// content or a TLS handshake is due); nothing was sent.
    State(Refusal),
    /// No address of the host fits the family asked for (`--ipv4`,
    /// `--ipv6`) or the source address's: the text says which; nothing
    /// was tried.
    Route(String),
    /// The source address (`--source`) could not be bound: not an address
    /// of this machine (EADDRNOTAVAIL), or in use.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The PROXY header cannot be made (its two addresses differ in
    /// family); nothing was sent.
    Proxy(MixedFamilies),
}

/// What is wrong with a UNIX-domain socket path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketProblem {
    /// Nothing is at the path.
    Missing,
    /// Something is at the path, but not a socket (a file, a directory).
    NotASocket,
    /// The socket, or a directory on the way to it, may not be used by us.
    PermissionDenied,
    /// A socket with no server behind it (a stale one).
    NoListener,
    /// Anything else.
    Other,
}

impl ConnError {
    /// What to do about a failed UNIX-socket connect, if it is one.
    pub fn socket_hint(&self) -> Option<&'static str> {
        let ConnError::Socket { problem, .. } = self else {
            return None;
        };
        Some(match problem {
            SocketProblem::Missing => {
                "check the path (is the server running? its configuration names the socket, \
                 e.g. unix_listener in Dovecot); a TCP server is `connect HOST PORT`"
            }
            SocketProblem::NotASocket => {
                "the path must be the server's listening socket (ls -l shows it with type 's')"
            }
            SocketProblem::PermissionDenied => {
                "the socket's mode or group (or a directory's above it) keeps this user out: \
                 run as a user that may use it, or change the listener's mode/user/group"
            }
            SocketProblem::NoListener => {
                "the socket file is there but no server accepts on it (a stale socket): \
                 start or restart the server"
            }
            SocketProblem::Other => "check the path and the server",
        })
    }
    /// What went wrong, without what it did to the connection or what to
    /// do about it: the reason a closed conversation gives
    /// ([`Closed::Lost`](crate::smtp::Closed::Lost)).
    pub fn cause(&self) -> impl fmt::Display + '_ {
        Cause(self)
    }

    /// What follows the cause in the full message: what happened to the
    /// connection, and what to do.
    fn consequence(&self) -> &'static str {
        match self {
            ConnError::Timeout { .. } => " (raise it with `set timeout SECONDS`)",
            ConnError::TooSlow { .. } => {
                "; the connection was closed (raise the wait with `set timeout SECONDS`)"
            }
            ConnError::Protocol(_) | ConnError::Interrupted | ConnError::Io(_) => {
                "; the connection was closed"
            }
            ConnError::Tls(_) => "; nothing more was sent and the connection was closed",
            _ => "",
        }
    }
}

/// The cause of a [`ConnError`] alone (see [`ConnError::cause`]).
struct Cause<'a>(&'a ConnError);

impl fmt::Display for Cause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ConnError::Resolve { host, source } => write!(
                f,
                "could not find the host \"{host}\" ({source}); check the host name and your network"
            ),
            ConnError::Connect { addr, source } => match source.kind() {
                io::ErrorKind::ConnectionRefused => write!(
                    f,
                    "connection refused by {addr} — is a server listening there? check host and port"
                ),
                io::ErrorKind::TimedOut => write!(
                    f,
                    "no answer from {addr} while connecting — is the host reachable and the port open? \
                     (a firewall may be dropping the connection; raise the wait with `set timeout SECONDS`)"
                ),
                _ => write!(
                    f,
                    "could not connect to {addr} ({source}); check host, port and network"
                ),
            },
            ConnError::Socket {
                path,
                problem,
                source,
            } => {
                let p = crate::text::escape(path.as_os_str().as_encoded_bytes());
                match problem {
                    SocketProblem::Missing => write!(f, "no socket at {p}: nothing is there"),
                    SocketProblem::NotASocket => write!(f, "{p} is not a socket ({source})"),
                    SocketProblem::PermissionDenied => {
                        write!(f, "permission denied for the socket {p}")
                    }
                    SocketProblem::NoListener => write!(
                        f,
                        "connection refused by the socket {p}: no server is listening on it"
                    ),
                    SocketProblem::Other => {
                        write!(f, "could not connect to the socket {p} ({source})")
                    }
                }
            }
            ConnError::Timeout { waiting_for, after } => write!(
                f,
                "no reply from the server within {} while waiting for {waiting_for}",
                human_duration(*after)
            ),
            ConnError::TooSlow { waiting_for, after } => write!(
                f,
                "the server kept sending {waiting_for} a few bytes at a time and had not finished it \
                 after {}",
                human_duration(*after)
            ),
            ConnError::Closed { during } => {
                write!(f, "the server closed the connection while {during}")
            }
            ConnError::Protocol(e) => write!(f, "{e}"),
            ConnError::Interrupted => f.write_str("interrupted (Ctrl-C)"),
            ConnError::Tls(e) => write!(f, "TLS failed: {e}"),
            ConnError::Io(e) => write!(f, "network error: {e}"),
            ConnError::Broken => {
                f.write_str("the connection is unusable after an earlier error; connect again")
            }
            ConnError::State(r) => write!(f, "{r}"),
            ConnError::Route(why) => write!(f, "cannot connect: {why}"),
            ConnError::Bind { addr, source } => match source.kind() {
                io::ErrorKind::AddrNotAvailable => write!(
                    f,
                    "cannot use {} as the source address: it is not an address of this machine \
                     (`ip address` lists them)",
                    addr.ip()
                ),
                _ => write!(f, "cannot use {addr} as the source address ({source})"),
            },
            ConnError::Proxy(m) => write!(f, "{m}; give --proxy-from and --proxy-to of one family"),
        }
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.cause(), self.consequence())
    }
}

impl std::error::Error for ConnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnError::Resolve { source, .. }
            | ConnError::Connect { source, .. }
            | ConnError::Bind { source, .. }
            | ConnError::Socket { source, .. } => Some(source),
            ConnError::Io(e) => Some(e),
            ConnError::Protocol(e) => Some(e),
            ConnError::Tls(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ConnError {
    /// Recovers the [`ConnError`] that a [`DataWriter`] write failed with
    /// (it travels inside the `io::Error`); any other error becomes
    /// [`ConnError::Io`].
    fn from(e: io::Error) -> ConnError {
        if e.get_ref().is_some_and(|inner| inner.is::<ConnError>()) {
            let kind = e.kind();
            match e.into_inner().map(|inner| inner.downcast::<ConnError>()) {
                Some(Ok(conn)) => *conn,
                Some(Err(other)) => ConnError::Io(io::Error::new(kind, other)),
                None => ConnError::Io(io::Error::from(kind)),
            }
        } else {
            ConnError::Io(e)
        }
    }
}

/// Wraps a [`ConnError`] for `io::Write` callers (see `From<io::Error>`).
pub(super) fn into_io(e: ConnError) -> io::Error {
    let kind = match e {
        ConnError::Timeout { .. } => io::ErrorKind::TimedOut,
        ConnError::Closed { .. } => io::ErrorKind::BrokenPipe,
        // Never ErrorKind::Interrupted: `write_all` would retry it.
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}
