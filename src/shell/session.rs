//! The shell's state: the live connection (with its conversation inside),
//! the draft and the message sent last, the settings, the output, and
//! what a script run needs. Per-connection state lives only in [`Live`],
//! so it dies with the connection; the conversation itself (greeting,
//! extensions, TLS, AUTH, the transaction) lives only in the connection's
//! [`Conversation`].

use super::cmd::tls::TlsMode;
use super::failure::{Failure, closed_failure, conn_failure, not_connected};
use super::output::{Output, Tone};
use super::settings::Settings;
use crate::mime::Draft;
use crate::smtp::{Closed, Command, Connection, Conversation, Reply, Stage};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Where a connection goes: what `connect` was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host as typed (name or address).
    pub host: String,
    /// The port.
    pub port: u16,
    /// How TLS comes in.
    pub mode: TlsMode,
    /// The address family, the source address and the PROXY header
    /// (for this `connect` and a `connect` alone after it).
    pub net: crate::smtp::conn::NetOptions,
    /// The TLS controls (CA, client certificate, names, versions, pins).
    pub tls: super::cmd::tls_options::TlsControls,
    /// The profile it came from (`connect NAME`, `--profile NAME`).
    pub profile: Option<String>,
    /// Speak LMTP (RFC 2033): `--lmtp`.
    pub lmtp: bool,
    /// A UNIX-domain socket instead of HOST and PORT (`connect unix:/path`);
    /// `host` and `port` are then unused.
    pub socket: Option<std::path::PathBuf>,
}

impl Target {
    /// Where it goes, as the user reads it: `host:port` or `unix:/path`.
    pub fn label(&self) -> String {
        match &self.socket {
            Some(path) => format!("unix:{}", path.display()),
            None => format_peer(&self.host, self.port),
        }
    }
}

/// The mail server a `connect --mx` lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxFound {
    /// The domain looked up.
    pub domain: String,
    /// The MX host that answered.
    pub host: String,
}

/// A connection and what the shell knows about how it was made. Dropping
/// it forgets everything learned on the connection.
pub struct Live {
    /// The connection, with its conversation.
    pub conn: Connection,
    /// For a connection found with `connect --mx`.
    pub mx: Option<MxFound>,
}

impl Live {
    /// The conversation on this connection.
    pub fn conversation(&self) -> &Conversation {
        self.conn.conversation()
    }
}

/// The message accepted last, for `show --last` and `new --again`.
#[derive(Debug, Clone)]
pub enum LastSent {
    /// A draft sent with `send` (with its Date and Message-ID).
    Draft(Box<Draft>),
    /// A message typed by hand after DATA (its lines, up to a limit).
    Typed(String),
    /// An existing message sent with `send --message` or `data --file`.
    File {
        /// Its path as shown, or "standard input".
        label: String,
        /// Bytes sent (CRLF line endings, before dot-stuffing).
        size: u64,
    },
}

pub use super::cmd::script::Recording;

/// The whole state of one shell.
pub struct Session {
    /// The connection, if any (also when the server closed it: the prompt
    /// says so until the next `connect`).
    pub live: Option<Live>,
    /// What the last `connect` was given (for `connect` without arguments).
    pub last_target: Option<Target>,
    /// The message being composed.
    pub draft: Draft,
    /// The message accepted last.
    pub last_sent: Option<LastSent>,
    /// True when the draft changed since it was last sent successfully.
    pub unsent: bool,
    /// Whether the exit warning about an unsent draft was given.
    pub warned_unsent: bool,
    /// Settings.
    pub settings: Settings,
    /// Printer.
    pub out: Output,
    /// Set by Ctrl-C while a network operation runs.
    pub interrupt: Arc<AtomicBool>,
    /// `record FILE` target.
    pub record: Option<Recording>,
    /// `${NAME}` variables (`--var`, `set var`, `expect` captures).
    pub vars: super::vars::Vars,
    /// True once `exit` was accepted.
    pub exiting: bool,
    /// Nesting depth of `source`.
    pub source_depth: usize,
    /// The sandbox server started by `connect sandbox` / `--sandbox`; it
    /// runs until the process ends (dropping it stops the listener).
    pub sandbox: Option<crate::sandbox::Sandbox>,
    /// Where a script's failed sends are kept ([`crate::local::dead_letter_dir`]).
    pub dead_letters: Option<std::path::PathBuf>,
    /// The TLS client, once built: whether the sandbox's CA was among its
    /// anchors then, and the controls it was built for
    /// ([`super::cmd::tls::tls_client`]).
    pub tls_client: Option<(
        bool,
        super::cmd::tls_options::TlsControls,
        crate::smtp::tls::TlsClient,
    )>,
    /// The profiles of the config file, and where the netrc file is.
    pub profiles: super::profile::Profiles,
}

impl Session {
    /// A fresh session printing to `out`.
    pub fn new(settings: Settings, mut out: Output, interrupt: Arc<AtomicBool>) -> Session {
        out.interrupt = Some(interrupt.clone());
        Session {
            live: None,
            last_target: None,
            draft: Draft::default(),
            last_sent: None,
            unsent: false,
            warned_unsent: false,
            settings,
            out,
            interrupt,
            record: None,
            vars: super::vars::Vars::default(),
            exiting: false,
            source_depth: 0,
            sandbox: None,
            dead_letters: crate::local::dead_letter_dir(),
            tls_client: None,
            profiles: super::profile::Profiles::default(),
        }
    }

    /// The profile the current (or last) connection was made with.
    pub fn profile(&self) -> Option<&super::profile::Profile> {
        let name = self.last_target.as_ref()?.profile.as_deref()?;
        self.profiles.map.get(name)
    }

    /// A session printing into memory, for tests; what it printed is in
    /// the [`super::output::Captured`].
    #[cfg(test)]
    pub fn for_tests() -> (Session, super::output::Captured) {
        let (out, captured) = Output::capture(false);
        let mut s = Session::new(Settings::default(), out, Arc::new(AtomicBool::new(false)));
        s.dead_letters = None;
        (s, captured)
    }

    /// The conversation of the connection, open or closed.
    pub fn conversation(&self) -> Option<&Conversation> {
        self.live.as_ref().map(Live::conversation)
    }

    /// Not connected: the failure, with the way back when there was a
    /// connection before (`connect` alone reconnects).
    pub fn not_connected(&self) -> Failure {
        match &self.last_target {
            Some(t) => not_connected().hint(format!(
                "`connect` connects again to {}; the draft is kept",
                t.label()
            )),
            None => not_connected(),
        }
    }

    /// The open connection: fails when there is none or it is closed.
    pub fn open_live(&mut self) -> Result<&mut Live, Failure> {
        let failure = match &self.live {
            None => Some(self.not_connected()),
            Some(live) => live.conn.conversation().closed().map(closed_failure),
        };
        match (failure, self.live.as_mut()) {
            (None, Some(live)) => Ok(live),
            (f, _) => Err(f.unwrap_or_else(not_connected)),
        }
    }

    /// The open connection and the output, borrowed together (to talk to
    /// the server directly); fails as [`Session::open_live`] does.
    pub fn open_parts(&mut self) -> Result<(&mut Live, &mut Output), Failure> {
        self.open_live()?;
        match self.live.as_mut() {
            Some(live) => Ok((live, &mut self.out)),
            None => Err(not_connected()),
        }
    }

    /// Whether a connection is open (not closed by either side).
    pub fn is_open(&self) -> bool {
        self.conversation().is_some_and(|c| c.closed().is_none())
    }

    /// Sends one command and reads its reply: the one way the shell talks
    /// to the server one command at a time. A reply that closes the
    /// conversation (421) is said.
    pub fn exchange(&mut self, cmd: &Command) -> Result<Reply, Failure> {
        let (live, out) = self.open_parts()?;
        exchange_on(&mut live.conn, out, cmd)
    }

    /// Closes the connection without QUIT and forgets it.
    pub fn drop_live(&mut self) {
        if let Some(mut live) = self.live.take() {
            live.conn.close();
        }
    }

    /// Marks the draft as changed: it needs sending and gets a new
    /// Date/Message-ID when next shown, saved or sent.
    pub fn touch_draft(&mut self) {
        self.unsent = true;
        self.warned_unsent = false;
        self.draft.stamp = None;
    }

    /// The prompt: plain and coloured versions (same width).
    pub fn prompt(&self) -> (String, String) {
        let o = &self.out;
        let Some(live) = &self.live else {
            return (
                "smtpsh> ".to_string(),
                format!("{}> ", o.paint(Tone::Bold, "smtpsh")),
            );
        };
        let conn = &live.conn;
        let host = peer_label(conn);
        let c = conn.conversation();
        let stage = stage_text(c);
        let tls = if c.is_secure() { " tls" } else { "" };
        // Only printable characters reach the prompt (its width must be right).
        let user: String = c
            .user()
            .map(|u| {
                format!(
                    " {}",
                    u.chars().filter(|c| !c.is_control()).collect::<String>()
                )
            })
            .unwrap_or_default();
        let plain = format!("smtpsh {host}{tls}{user} [{stage}]> ");
        let styled = format!(
            "{} {}{}{} [{}]> ",
            o.paint(Tone::Bold, "smtpsh"),
            o.paint(Tone::Cyan, &host),
            o.paint(Tone::Green, tls),
            o.paint(Tone::Magenta, &user),
            o.paint(
                if c.closed().is_some() {
                    Tone::Red
                } else {
                    Tone::Yellow
                },
                &stage
            )
        );
        (plain, styled)
    }
}

/// Sends one command on `conn` and reads its reply; a reply that closes
/// the conversation (421) is said.
pub fn exchange_on(
    conn: &mut Connection,
    out: &mut Output,
    cmd: &Command,
) -> Result<Reply, Failure> {
    match conn.command(cmd, out) {
        Ok(reply) => {
            closing_note(conn, out);
            Ok(reply)
        }
        Err(e) => Err(conn_failure(e)),
    }
}

/// Says that the server closed the conversation with a 421, if it just did.
pub fn closing_note(conn: &Connection, out: &Output) {
    if let Some(Closed::ByServer(r)) = conn.conversation().closed() {
        out.warn(&format!(
            "the server closed the connection ({}); the draft is kept — `connect` to connect again",
            r.code
        ));
    }
}

/// The stage of a conversation in the prompt's words.
pub fn stage_text(c: &Conversation) -> String {
    match c.stage() {
        Stage::Greeting => "connecting".into(),
        Stage::Connected => "connected".into(),
        Stage::Ready => "ready".into(),
        Stage::Mail { recipients } => format!("mail, {recipients} rcpt"),
        Stage::Data => "data".into(),
        Stage::TlsHandshake => "tls handshake".into(),
        Stage::Closed => match c.closed() {
            Some(Closed::Lost(_) | Closed::Quit) => "closed".into(),
            _ => "closed by server".into(),
        },
    }
}

/// Where `conn` goes, as the prompt and `status` show it: `host:port`,
/// or `unix:/path` for a UNIX socket.
pub fn peer_label(conn: &Connection) -> String {
    match conn.peer() {
        Some(peer) => format_peer(conn.host(), peer.port()),
        None => conn.host().to_string(),
    }
}

/// `host:port`, with IPv6 literals in brackets.
pub fn format_peer(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
