//! The session model: the connection and where it stands, what the server
//! announced, the envelope of the current transaction, the draft, the last
//! reply, and the settings. Handlers in `exec` change it; the prompt,
//! `status` and completion read it.

use super::output::{ColorChoice, Output};
use crate::address::Address;
use crate::mime::Draft;
use crate::smtp::{Connection, Extensions, Reply};
use std::fs::File;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Where the SMTP conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// No connection.
    Disconnected,
    /// Greeted by the server; no EHLO/HELO accepted yet.
    Connected,
    /// EHLO or HELO accepted; no transaction.
    Ready,
    /// MAIL FROM accepted.
    Mail,
}

/// User settings (`set`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long to wait for the server to make progress: `None` (the
    /// default) gives each phase its RFC 5321 timeout
    /// ([`crate::smtp::conn::TimeoutPhase`]); `set timeout N` sets one
    /// value for every phase.
    pub timeout: Option<Duration>,
    /// Colour choice.
    pub color: ColorChoice,
    /// `--require-tls` / `set require-tls on`: never send MAIL, RCPT, DATA
    /// or AUTH in plaintext; a connect upgrades with STARTTLS or stops.
    pub require_tls: bool,
    /// `--cafile PATH`: trust only this CA (PEM) instead of the system's roots.
    pub cafile: Option<std::path::PathBuf>,
    /// `--insecure`: do not verify certificates (warned at every connect).
    pub insecure: bool,
    /// `set resolver ADDR`: the DNS server for `connect --mx` (default:
    /// the system's, from /etc/resolv.conf).
    pub resolver: Option<std::net::SocketAddr>,
    /// `set transfer`: how `send` transfers the content.
    pub transfer: Transfer,
}

/// How `send` transfers the message content (`set transfer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transfer {
    /// DATA: smtpsh's messages are 7-bit (text 7bit or quoted-printable,
    /// attachments base64), which is what DATA is for; BDAT would only be
    /// needed for binary content (BINARYMIME), which smtpsh never sends.
    #[default]
    Auto,
    /// Always DATA.
    Data,
    /// BDAT (RFC 3030 CHUNKING); refused before MAIL when the server does
    /// not offer CHUNKING.
    Bdat,
}

impl Transfer {
    /// Parses `auto`, `data` or `bdat`.
    pub fn parse(s: &str) -> Option<Transfer> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(Transfer::Auto),
            "data" => Some(Transfer::Data),
            "bdat" | "chunking" => Some(Transfer::Bdat),
            _ => None,
        }
    }
    /// The name as typed.
    pub fn name(self) -> &'static str {
        match self {
            Transfer::Auto => "auto",
            Transfer::Data => "data",
            Transfer::Bdat => "bdat",
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timeout: None,
            color: ColorChoice::Auto,
            require_tls: false,
            cafile: None,
            insecure: false,
            resolver: None,
            transfer: Transfer::Auto,
        }
    }
}

/// The envelope of the current transaction on the current connection.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The MAIL FROM path the server accepted (`<>` for the null sender).
    pub mail_from: Option<String>,
    /// Recipients the server accepted with 2xx (as sent, lower-cased for comparison).
    pub accepted: Vec<String>,
    /// Recipients the server refused, with the reply.
    pub rejected: Vec<(String, Reply)>,
}

impl Envelope {
    /// Whether `addr` was accepted already (case-insensitive).
    pub fn is_accepted(&self, addr: &Address) -> bool {
        self.accepted
            .iter()
            .any(|a| a.eq_ignore_ascii_case(addr.as_str()))
    }
    /// Records the server's answer to `RCPT TO:<path>`: accepted once, or
    /// rejected with the latest reply.
    pub fn record_rcpt(&mut self, path: &str, reply: &Reply) {
        self.rejected.retain(|(a, _)| !a.eq_ignore_ascii_case(path));
        if !reply.is_positive() {
            self.rejected.push((path.to_string(), reply.clone()));
        } else if !self.accepted.iter().any(|a| a.eq_ignore_ascii_case(path)) {
            self.accepted.push(path.to_string());
        }
    }
}

/// The whole state of one shell.
pub struct Session {
    /// The open connection, if any.
    pub conn: Option<Connection>,
    /// For a connection found with `connect --mx`: (domain, MX host that answered).
    pub mx: Option<(String, String)>,
    /// The greeting reply of the current connection.
    pub greeting: Option<Reply>,
    /// Extensions from the latest EHLO on this connection (`None` before EHLO or after HELO).
    pub extensions: Option<Extensions>,
    /// The name we greeted with and whether it was EHLO (`true`) or HELO.
    pub greeted: Option<(String, bool)>,
    /// The current transaction.
    pub envelope: Envelope,
    /// The message being composed.
    pub draft: Draft,
    /// True when the draft changed since it was last sent successfully.
    pub unsent: bool,
    /// Whether the exit warning about an unsent draft was given.
    pub warned_unsent: bool,
    /// The last server reply to the last command (cleared at each command).
    pub last_reply: Option<Reply>,
    /// Settings.
    pub settings: Settings,
    /// Printer.
    pub out: Output,
    /// Set by Ctrl-C while a network operation runs.
    pub interrupt: Arc<AtomicBool>,
    /// `record FILE` target.
    pub record: Option<(String, File)>,
    /// True once `exit` was accepted.
    pub exiting: bool,
    /// Nesting depth of `source`.
    pub source_depth: usize,
    /// The user AUTH succeeded for on this connection.
    pub auth: Option<String>,
    /// The sandbox server started by `connect sandbox` / `--sandbox`; it
    /// runs until the process ends (dropping it stops the listener).
    pub sandbox: Option<crate::sandbox::Sandbox>,
}

impl Session {
    /// A fresh session.
    pub fn new(settings: Settings, interrupt: Arc<AtomicBool>) -> Session {
        Session {
            conn: None,
            mx: None,
            greeting: None,
            extensions: None,
            greeted: None,
            envelope: Envelope::default(),
            draft: Draft::default(),
            unsent: false,
            warned_unsent: false,
            last_reply: None,
            settings,
            out: Output::default(),
            interrupt,
            record: None,
            exiting: false,
            source_depth: 0,
            auth: None,
            sandbox: None,
        }
    }

    /// Where the conversation stands.
    pub fn stage(&self) -> Stage {
        match (&self.conn, &self.greeted, &self.envelope.mail_from) {
            (None, _, _) => Stage::Disconnected,
            (Some(_), None, _) => Stage::Connected,
            (Some(_), Some(_), None) => Stage::Ready,
            (Some(_), Some(_), Some(_)) => Stage::Mail,
        }
    }

    /// Forgets the connection and everything learned on it (the draft stays).
    pub fn drop_connection(&mut self) {
        if let Some(mut c) = self.conn.take() {
            c.close();
        }
        self.greeting = None;
        self.mx = None;
        self.extensions = None;
        self.greeted = None;
        self.envelope = Envelope::default();
        self.auth = None;
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
        use colored::Colorize;
        let Some(conn) = &self.conn else {
            return ("smtpsh> ".to_string(), format!("{}> ", "smtpsh".bold()));
        };
        let host = format_peer(conn.host(), conn.peer().port());
        let stage = match self.stage() {
            Stage::Disconnected => String::new(),
            Stage::Connected => "greeted".to_string(),
            Stage::Ready => "ready".to_string(),
            Stage::Mail => {
                let n = self.envelope.accepted.len();
                format!("mail, {n} rcpt")
            }
        };
        let tls = if conn.is_secure() { " tls" } else { "" };
        // Only printable characters reach the prompt (its width must be right).
        let user: String = self
            .auth
            .as_deref()
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
            "smtpsh".bold(),
            host.cyan(),
            tls.green(),
            user.magenta(),
            stage.yellow()
        );
        (plain, styled)
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
