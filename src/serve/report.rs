//! What `smtpsh serve` prints: one line per event on standard output,
//! flushed at once — text for people, or (`--json`) one JSON object per
//! line with an `"event"` field: `listening`, `stored`, `refused`, `fault`,
//! `stopping`, `stopped`.
//!
//! Whatever a client sent (addresses, the subject, its EHLO name, replies
//! quoting it) is untrusted: in text, control and bidirectional characters
//! are written `\xNN` ([`crate::text`]), so nothing can move the cursor,
//! recolour the terminal or start a line of its own; in JSON they are
//! `\uNNNN` escapes, so a line is still one line and the values are exact.

use crate::sandbox::server::{Event, Stored};
use crate::text::{self, Style, human_bytes};
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// The longest subject shown in a text line, in characters.
const SUBJECT_MAX: usize = 200;
/// The most recipients listed in a text line (JSON lists them all).
const RECIPIENTS_MAX: usize = 10;

/// What the start line says.
#[derive(Debug)]
pub struct Listening<'a> {
    /// The address bound (the real port when 0 was asked for); mail comes
    /// from the network when it is not a loopback address.
    pub addr: SocketAddr,
    /// Where messages go.
    pub maildir: &'a Path,
    /// This instance's CA file (when it made its own certificate).
    pub ca_file: Option<&'a Path>,
    /// The certificate file given with `--tls-cert`.
    pub tls_cert: Option<&'a Path>,
    /// The AUTH user.
    pub auth_user: &'a str,
    /// Whether that is the demo account (whose password is printed).
    pub auth_demo: bool,
    /// The variable the password came from (never the password).
    pub password_env: Option<&'a str>,
    /// The size limit.
    pub max_size: u64,
    /// The name in the greeting.
    pub hostname: &'a str,
}

/// Writes the event lines; shared by every connection's thread (a line is
/// written whole under a lock, so lines never mix).
pub struct Printer {
    json: bool,
    out: Mutex<Box<dyn Write + Send>>,
    /// Standard output is a terminal (where Ctrl-C echoes `^C`).
    terminal: bool,
}

impl Printer {
    /// Printing to standard output.
    pub fn stdout(json: bool) -> Printer {
        let p = Printer::new(json, Box::new(std::io::stdout()));
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            p.on_terminal()
        } else {
            p
        }
    }

    /// As if printing to a terminal (`^C` echoed before a SIGINT line).
    pub fn on_terminal(mut self) -> Printer {
        self.terminal = true;
        self
    }

    /// Printing to `out`.
    pub fn new(json: bool, out: Box<dyn Write + Send>) -> Printer {
        Printer {
            json,
            out: Mutex::new(out),
            terminal: false,
        }
    }

    /// One line, flushed. A closed output is ignored: the server goes on
    /// storing mail whether anyone reads its log or not.
    fn line(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = out
            .write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
    }

    /// `text` or the JSON of `json` (after `event` and the time), whichever
    /// this printer writes.
    fn emit<T: Serialize>(
        &self,
        event: &'static str,
        text: impl FnOnce() -> String,
        json: impl FnOnce() -> T,
    ) {
        if self.json {
            self.line(&json_line(&Envelope {
                event,
                time: now(),
                body: json(),
            }));
        } else {
            self.line(&format!("{} {}", now(), text()));
        }
    }

    /// The start line.
    pub fn listening(&self, l: &Listening<'_>) {
        let network = !l.addr.ip().is_loopback();
        self.emit(
            "listening",
            || listening_text(l, network),
            || ListeningJson {
                address: l.addr.to_string(),
                network,
                warning: network
                    .then_some("not a loopback address: this accepts mail from the network"),
                maildir: path_json(l.maildir),
                ca_file: l.ca_file.map(path_json),
                tls_cert: l.tls_cert.map(path_json),
                auth_user: l.auth_user,
                demo_account: l.auth_demo,
                password_env: l.password_env,
                max_size: l.max_size,
                hostname: l.hostname,
                pid: std::process::id(),
            },
        );
    }

    /// One server event.
    pub fn event(&self, e: &Event) {
        match e {
            Event::Stored(s) => self.emit("stored", || stored_text(s), || stored_json(s)),
            Event::Refused {
                peer,
                command,
                reply,
            } => self.emit(
                "refused",
                || {
                    let command = if command.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", field(command))
                    };
                    format!("refused {peer}{command}: {}", field(reply))
                },
                || RefusedJson {
                    peer: peer.to_string(),
                    command,
                    reply,
                },
            ),
            Event::Fault { peer, what } => self.emit(
                "fault",
                || {
                    format!(
                        "fault {peer}: {} (that connection was closed; the server goes on)",
                        field(what)
                    )
                },
                || FaultJson {
                    peer: peer.to_string(),
                    what,
                },
            ),
        }
    }

    /// The first signal arrived.
    pub fn stopping(&self, signal: &str, open: usize, grace: Duration) {
        if self.terminal && !self.json && signal == "SIGINT" {
            // The terminal echoed `^C`: the line starts on a line of its own.
            self.line("");
        }
        self.emit(
            "stopping",
            || {
                format!(
                    "stopping on {signal}: no new connections; {open} open, waiting up to {} s \
                     for messages in flight (a second Ctrl-C or SIGTERM stops at once)",
                    grace.as_secs()
                )
            },
            || StoppingJson {
                signal,
                open,
                grace_secs: grace.as_secs(),
            },
        );
    }

    /// The end: `stored` messages this run, `still_open` connections cut
    /// off (after the grace period, or at once on a second signal).
    pub fn stopped(&self, stored: u64, still_open: usize, at_once: Option<&str>) {
        self.emit(
            "stopped",
            || {
                let mut t = match at_once {
                    Some(signal) => format!("stopped at once on {signal}: "),
                    None => "stopped: ".to_string(),
                };
                let _ = write!(
                    t,
                    "{stored} message{} stored this run",
                    if stored == 1 { "" } else { "s" }
                );
                if still_open > 0 {
                    let _ = write!(
                        t,
                        "; {still_open} connection{} still open cut off (a message it was \
                         sending was not stored)",
                        if still_open == 1 { "" } else { "s" }
                    );
                }
                t
            },
            || StoppedJson {
                stored,
                still_open,
                at_once: at_once.is_some(),
                signal: at_once,
            },
        );
    }
}

/// Untrusted text for a one-line field: control and bidirectional
/// characters (TAB too) as `\xNN`.
fn field(s: &str) -> String {
    text::escape_as(s.as_bytes(), Style::Field)
}

/// A path for a text line, escaped like untrusted text (a directory name
/// may hold anything).
fn path_text(p: &Path) -> String {
    text::escape_as(p.as_os_str().as_encoded_bytes(), Style::Field)
}

/// A path for JSON (not UTF-8: lossily).
fn path_json(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn now() -> String {
    crate::clock::rfc3339(std::time::SystemTime::now())
}

/// The start: the address on the first line (what a script waits for),
/// then one indented line per fact, so it reads at any width.
fn listening_text(l: &Listening<'_>, network: bool) -> String {
    let mut t = format!("listening on {}; Ctrl-C or SIGTERM stops", l.addr);
    if network {
        t.push_str("\n  WARNING: not a loopback address: this accepts mail from the network");
    }
    let _ = write!(t, "\n  Maildir: {}", path_text(l.maildir));
    match (l.ca_file, l.tls_cert) {
        (Some(ca), _) => {
            let _ = write!(
                t,
                "\n  STARTTLS: a CA made for this instance, {} (clients: --cafile)",
                path_text(ca)
            );
        }
        (None, Some(cert)) => {
            let _ = write!(t, "\n  STARTTLS: the certificate {}", path_text(cert));
        }
        (None, None) => t.push_str("\n  STARTTLS: not offered"),
    }
    if l.auth_demo {
        let _ = write!(
            t,
            "\n  AUTH PLAIN LOGIN: the demo account (user {}, password {})",
            crate::sandbox::DEMO_USER,
            crate::sandbox::DEMO_PASSWORD
        );
    } else {
        let _ = write!(t, "\n  AUTH PLAIN LOGIN: user {}", field(l.auth_user));
        if let Some(var) = l.password_env {
            let _ = write!(t, " (password from ${})", field(var));
        }
    }
    let _ = write!(t, "\n  max message size: {}", human_bytes(l.max_size));
    t
}

fn stored_text(s: &Stored) -> String {
    let mut t = format!(
        "stored {}: from <{}> to ",
        field(&s.queue_id),
        field(&s.from)
    );
    for (i, r) in s.recipients.iter().take(RECIPIENTS_MAX).enumerate() {
        if i > 0 {
            t.push_str(", ");
        }
        let _ = write!(t, "<{}>", field(&r.address));
        let params: Vec<String> = [("NOTIFY", &r.notify), ("ORCPT", &r.orcpt)]
            .into_iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", field(v))))
            .collect();
        if !params.is_empty() {
            let _ = write!(t, " ({})", params.join(" "));
        }
    }
    if s.recipients.len() > RECIPIENTS_MAX {
        let _ = write!(t, " and {} more", s.recipients.len() - RECIPIENTS_MAX);
    }
    match &s.subject {
        Some(subject) => {
            let _ = write!(
                t,
                ", subject \"{}\"",
                text::shorten(field(subject), SUBJECT_MAX, "...")
            );
        }
        None => t.push_str(", no subject"),
    }
    let _ = write!(
        t,
        ", {}, {} part{}",
        human_bytes(s.size),
        s.parts,
        if s.parts == 1 { "" } else { "s" }
    );
    if s.tls {
        t.push_str(", TLS");
    }
    if let Some(user) = &s.auth {
        let _ = write!(t, ", AUTH {}", field(user));
    }
    let _ = write!(t, ", client {}", s.peer);
    t
}

fn stored_json(s: &Stored) -> StoredJson<'_> {
    StoredJson {
        queue_id: &s.queue_id,
        peer: s.peer.to_string(),
        helo: &s.helo,
        from: &s.from,
        recipients: s
            .recipients
            .iter()
            .map(|r| RecipientJson {
                address: &r.address,
                notify: r.notify.as_deref(),
                orcpt: r.orcpt.as_deref(),
            })
            .collect(),
        ret: s.ret.as_deref(),
        envid: s.envid.as_deref(),
        subject: s.subject.as_deref(),
        size: s.size,
        parts: s.parts,
        path: s.path.as_deref().map(path_json),
        tls: s.tls,
        auth: s.auth.as_deref(),
    }
}

/// `v` as one line of JSON that is also safe on a terminal: serde_json
/// escapes C0 controls; DEL, C1 controls, bidirectional controls and the
/// Unicode line separators become `\uNNNN` too (they can only be inside
/// strings, where that escape means the same character).
pub fn json_line<T: Serialize>(v: &T) -> String {
    let json = serde_json::to_string(v)
        .unwrap_or_else(|e| format!("{{\"event\":\"fault\",\"what\":\"JSON: {e}\"}}"));
    if !json.chars().any(unsafe_in_json) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 32);
    for c in json.chars() {
        if unsafe_in_json(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// A character serde_json leaves as it is that a terminal (or a reader
/// splitting lines) could act on. All are in the Basic Multilingual Plane.
fn unsafe_in_json(c: char) -> bool {
    c.is_control() || text::is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Every JSON line: which event and when, then that event's own fields.
#[derive(Serialize)]
struct Envelope<T> {
    event: &'static str,
    time: String,
    #[serde(flatten)]
    body: T,
}

#[derive(Serialize)]
struct ListeningJson<'a> {
    address: String,
    network: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    warning: Option<&'static str>,
    maildir: String,
    ca_file: Option<String>,
    tls_cert: Option<String>,
    auth_user: &'a str,
    demo_account: bool,
    password_env: Option<&'a str>,
    max_size: u64,
    hostname: &'a str,
    pid: u32,
}

#[derive(Serialize)]
struct RecipientJson<'a> {
    address: &'a str,
    notify: Option<&'a str>,
    orcpt: Option<&'a str>,
}

#[derive(Serialize)]
struct StoredJson<'a> {
    queue_id: &'a str,
    peer: String,
    helo: &'a str,
    from: &'a str,
    recipients: Vec<RecipientJson<'a>>,
    ret: Option<&'a str>,
    envid: Option<&'a str>,
    subject: Option<&'a str>,
    size: u64,
    parts: usize,
    path: Option<String>,
    tls: bool,
    auth: Option<&'a str>,
}

#[derive(Serialize)]
struct RefusedJson<'a> {
    peer: String,
    command: &'a str,
    reply: &'a str,
}

#[derive(Serialize)]
struct FaultJson<'a> {
    peer: String,
    what: &'a str,
}

#[derive(Serialize)]
struct StoppingJson<'a> {
    signal: &'a str,
    open: usize,
    grace_secs: u64,
}

#[derive(Serialize)]
struct StoppedJson<'a> {
    stored: u64,
    still_open: usize,
    at_once: bool,
    signal: Option<&'a str>,
}
