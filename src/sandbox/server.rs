//! The sandbox's SMTP server: a listener on `127.0.0.1:0` and one thread
//! per connection running a strict RFC 5321 state machine.
//!
//! Replies (with RFC 3463 enhanced codes once the client said EHLO):
//! - `500 5.5.2` unknown command, line too long, bare CR/LF in a command;
//!   `502 5.5.1` known but not implemented (EXPN, BDAT, TURN, ETRN);
//! - `501` bad syntax: a missing `<>` (`MAIL FROM:a@b`), a bad address
//!   (`5.1.7` sender, `5.1.3` recipient), arguments where none belong;
//! - `503 5.5.1` out of order: MAIL before EHLO/HELO, nested MAIL, RCPT
//!   before MAIL, DATA before MAIL or RCPT, AUTH twice or inside a
//!   transaction, STARTTLS twice;
//! - `552 5.3.4` too large (a `SIZE=` above the limit at MAIL, or content
//!   above it after DATA); `554 5.5.1` DATA when every recipient was refused;
//!   `555 5.5.4` unknown MAIL/RCPT parameters; `553 5.6.7` a non-ASCII
//!   address without `SMTPUTF8`;
//! - `550 5.5.2` message with a bare CR or LF; `554 5.6.0` message line
//!   over 1000 octets; `451 4.3.0` the Maildir could not be written;
//! - `421` too many errors, idle timeout, too many connections.
//!
//! Input is read through one buffer per connection, so pipelined commands
//! are answered in order; replies are flushed whenever the server is about
//! to wait for more input. After STARTTLS any plaintext the client sent
//! behind the command is discarded (CVE-2011-0411) and so is every state
//! (greeting, transaction, AUTH): the client must say EHLO again.

use super::maildir::Store;
use base64::Engine as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Longest command line, CRLF included (RFC 5321 §4.5.3.1.4).
pub const MAX_COMMAND_LINE: usize = 512;
/// Longest text line, CRLF included, not counting a stuffed dot (§4.5.3.1.6).
pub const MAX_TEXT_LINE: usize = 1000;
/// Longest AUTH response line, CRLF included (RFC 4954 §4: 12288 octets).
pub const MAX_AUTH_LINE: usize = 12288 + 2;

/// How the server behaves.
#[derive(Clone)]
pub struct Config {
    /// The name in the greeting, EHLO reply and `Received:` header.
    pub hostname: String,
    /// Largest message in octets, announced as `SIZE`.
    pub max_size: u64,
    /// Most recipients per message.
    pub max_recipients: usize,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Errors (5xx replies) after which the connection is closed with 421.
    pub max_errors: usize,
    /// How long a connection may stay silent.
    pub idle_timeout: Duration,
    /// STARTTLS configuration; `None` = STARTTLS not offered.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The AUTH account: user name.
    pub user: String,
    /// The AUTH account: password.
    pub password: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hostname: "localhost".to_string(),
            max_size: super::MAX_MESSAGE_SIZE,
            max_recipients: 100,
            max_connections: 32,
            max_errors: 20,
            idle_timeout: Duration::from_secs(300),
            tls: None,
            user: super::DEMO_USER.to_string(),
            password: super::DEMO_PASSWORD.to_string(),
        }
    }
}

/// What every connection thread shares.
struct Shared {
    config: Config,
    store: Arc<dyn Store>,
    delivered: AtomicU64,
    active: AtomicUsize,
    stop: AtomicBool,
}

/// The running listener; dropping it stops accepting connections.
pub struct Handle {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Handle {
    /// Binds `127.0.0.1:0` and accepts connections on a background thread.
    pub fn start(config: Config, store: Arc<dyn Store>) -> io::Result<Handle> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            store,
            delivered: AtomicU64::new(0),
            active: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let accept_shared = shared.clone();
        std::thread::Builder::new()
            .name("sandbox-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))?;
        Ok(Handle { addr, shared })
    }
    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// Messages stored so far.
    pub fn delivered(&self) -> u64 {
        self.shared.delivered.load(Ordering::Relaxed)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept() so the thread sees the flag and ends.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = stream else {
            // E.g. out of file descriptors: do not spin.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let peer = match stream.peer_addr() {
            Ok(p) if p.ip().is_loopback() => p,
            _ => continue,
        };
        if shared.active.load(Ordering::SeqCst) >= shared.config.max_connections {
            let _ = stream.write_all(b"421 4.7.0 Too many connections, try again later\r\n");
            continue;
        }
        shared.active.fetch_add(1, Ordering::SeqCst);
        let conn_shared = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("sandbox-conn".into())
            .spawn(move || {
                let _ = serve_tcp(stream, peer, &conn_shared);
                conn_shared.active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            shared.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// One TCP connection: plaintext, then (after STARTTLS) TLS.
fn serve_tcp(stream: TcpStream, peer: SocketAddr, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(shared.config.idle_timeout))?;
    stream.set_write_timeout(Some(shared.config.idle_timeout))?;
    let _ = stream.set_nodelay(true);
    let mut session = Session::new(shared, peer);
    let mut conn = Conn::new(stream);
    session.greet(&mut conn)?;
    if session.run(&mut conn)? != Next::StartTls {
        return Ok(());
    }
    let Some(tls_config) = shared.config.tls.clone() else {
        return Ok(());
    };
    // Whatever the client sent behind STARTTLS was discarded by `run`.
    let (tcp, _) = conn.into_inner();
    let server = rustls::ServerConnection::new(tls_config).map_err(io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(server, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    session.start_tls();
    let mut conn = Conn::new(tls);
    session.run(&mut conn)?;
    let (mut tls, _) = conn.into_inner();
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Ok(())
}

// ---------------------------------------------------------------- line I/O

/// A line read from the client.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A line with its terminator (`\n`, normally preceded by `\r`).
    Text(Vec<u8>),
    /// Longer than allowed; it was read and dropped up to its `\n`.
    TooLong,
    /// The client closed the connection (a partial line is dropped).
    Eof,
}

/// A buffered duplex stream: lines in, replies out (flushed before every
/// wait for input, so pipelined replies go out in one write).
struct Conn<S> {
    inner: S,
    buf: Vec<u8>,
    pos: usize,
    out: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    fn new(inner: S) -> Conn<S> {
        Conn {
            inner,
            buf: Vec::with_capacity(8192),
            pos: 0,
            out: Vec::new(),
        }
    }

    /// The stream and any input read but not yet used.
    fn into_inner(self) -> (S, Vec<u8>) {
        let rest = self.buf[self.pos..].to_vec();
        (self.inner, rest)
    }

    /// Drops input read but not yet used.
    fn discard_pending(&mut self) -> usize {
        let n = self.buf.len() - self.pos;
        self.buf.clear();
        self.pos = 0;
        n
    }

    fn send(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.inner.write_all(&self.out)?;
            self.out.clear();
        }
        self.inner.flush()
    }

    /// Reads one line of at most `max` octets including its `\n`.
    fn read_line(&mut self, max: usize) -> io::Result<Line> {
        let mut discarding = false;
        loop {
            if let Some(i) = self.buf[self.pos..].iter().position(|&b| b == b'\n') {
                let end = self.pos + i + 1;
                let line = self.buf[self.pos..end].to_vec();
                self.pos = end;
                return Ok(if discarding || line.len() > max {
                    Line::TooLong
                } else {
                    Line::Text(line)
                });
            }
            if discarding || self.buf.len() - self.pos >= max {
                discarding = true;
                self.discard_pending();
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            self.flush()?;
            let mut chunk = [0u8; 8192];
            let n = loop {
                match self.inner.read(&mut chunk) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            if n == 0 {
                self.discard_pending();
                return Ok(Line::Eof);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

// ---------------------------------------------------------------- the session

/// What ended [`Session::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    /// QUIT was answered.
    Quit,
    /// The client went away, timed out or made too many errors.
    Closed,
    /// STARTTLS was answered 220: the TLS handshake comes next.
    StartTls,
}

/// The state of one SMTP conversation.
struct Session<'a> {
    shared: &'a Shared,
    peer: SocketAddr,
    /// The EHLO/HELO name, once greeted.
    helo: Option<String>,
    /// Whether the greeting was EHLO (enhanced status codes in replies).
    esmtp: bool,
    tls: bool,
    auth: Option<String>,
    /// The transaction: the reverse path (empty for `<>`).
    mail_from: Option<String>,
    smtputf8: bool,
    recipients: Vec<String>,
    rcpt_attempted: bool,
    errors: usize,
}

/// One reply line (or lines) to send.
struct Reply {
    code: u16,
    enhanced: &'static str,
    text: String,
}

fn reply(code: u16, enhanced: &'static str, text: impl Into<String>) -> Reply {
    Reply {
        code,
        enhanced,
        text: text.into(),
    }
}

impl<'a> Session<'a> {
    fn new(shared: &'a Shared, peer: SocketAddr) -> Session<'a> {
        Session {
            shared,
            peer,
            helo: None,
            esmtp: false,
            tls: false,
            auth: None,
            mail_from: None,
            smtputf8: false,
            recipients: Vec::new(),
            rcpt_attempted: false,
            errors: 0,
        }
    }

    fn config(&self) -> &Config {
        &self.shared.config
    }

    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.smtputf8 = false;
        self.recipients.clear();
        self.rcpt_attempted = false;
    }

    /// After the TLS handshake: forget everything from before (RFC 3207 §4.2).
    fn start_tls(&mut self) {
        self.reset_transaction();
        self.helo = None;
        self.esmtp = false;
        self.auth = None;
        self.tls = true;
    }

    fn greet<S: Read + Write>(&mut self, conn: &mut Conn<S>) -> io::Result<()> {
        let host = self.config().hostname.clone();
        conn.send(&format!(
            "220 {host} ESMTP smtpsh sandbox ready (messages are stored locally, never relayed)\r\n"
        ));
        conn.flush()
    }

    /// Queues a reply, with the enhanced code when EHLO was said.
    fn send<S: Read + Write>(&mut self, conn: &mut Conn<S>, r: Reply) {
        if r.code >= 500 {
            self.errors += 1;
        }
        let lines: Vec<&str> = r.text.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            if self.esmtp && !r.enhanced.is_empty() {
                conn.send(&format!("{}{sep}{} {line}\r\n", r.code, r.enhanced));
            } else {
                conn.send(&format!("{}{sep}{line}\r\n", r.code));
            }
        }
    }

    /// Answers commands until QUIT, STARTTLS, the end of the connection or
    /// too many errors.
    fn run<S: Read + Write>(&mut self, conn: &mut Conn<S>) -> io::Result<Next> {
        loop {
            let next = match self.step(conn) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    conn.send("421 4.4.2 Idle for too long, closing the connection\r\n");
                    let _ = conn.flush();
                    return Ok(Next::Closed);
                }
                Err(e) => return Err(e),
            };
            if let Some(next) = next {
                conn.flush()?;
                return Ok(next);
            }
            if self.errors >= self.config().max_errors {
                conn.send("421 4.7.0 Too many errors, closing the connection\r\n");
                conn.flush()?;
                return Ok(Next::Closed);
            }
        }
    }

    /// Reads and answers one command; `Some` ends the loop.
    fn step<S: Read + Write>(&mut self, conn: &mut Conn<S>) -> io::Result<Option<Next>> {
        let raw = match conn.read_line(MAX_COMMAND_LINE)? {
            Line::Eof => return Ok(Some(Next::Closed)),
            Line::TooLong => {
                let r = reply(
                    500,
                    "5.5.2",
                    "Line too long (the limit is 512 octets with CRLF)",
                );
                self.send(conn, r);
                return Ok(None);
            }
            Line::Text(l) => l,
        };
        let line = match command_text(&raw) {
            Ok(l) => l,
            Err(r) => {
                self.send(conn, r);
                return Ok(None);
            }
        };
        let (verb, arg) = match line.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a),
            None => (line.to_ascii_uppercase(), ""),
        };
        let r = match verb.as_str() {
            "EHLO" | "HELO" => self.hello(&verb, arg),
            "MAIL" => self.mail(arg),
            "RCPT" => self.rcpt(arg),
            "DATA" => return self.data(conn, arg).map(|()| None),
            "RSET" if !arg.is_empty() => reply(501, "5.5.4", "RSET takes no arguments"),
            "RSET" => {
                self.reset_transaction();
                reply(250, "2.0.0", "OK")
            }
            "NOOP" => reply(250, "2.0.0", "OK"),
            "QUIT" if !arg.is_empty() => reply(501, "5.5.4", "QUIT takes no arguments"),
            "QUIT" => {
                let r = reply(
                    221,
                    "2.0.0",
                    format!("{} closing connection", self.config().hostname),
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
            "EXPN" | "BDAT" | "TURN" | "ETRN" | "ATRN" | "SEND" | "SOML" | "SAML" => {
                reply(502, "5.5.1", format!("{verb} is not implemented"))
            }
            "HELP" => reply(
                214,
                "2.0.0",
                "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET NOOP VRFY HELP QUIT",
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
            "AUTH" => return self.auth(conn, arg).map(|()| None),
            _ => reply(500, "5.5.2", "Command not recognized"),
        };
        self.send(conn, r);
        Ok(None)
    }

    fn hello(&mut self, verb: &str, arg: &str) -> Reply {
        let name = arg.trim_end();
        if name.is_empty() {
            return reply(
                501,
                "5.5.4",
                format!("{verb} needs a domain name or address literal"),
            );
        }
        if name.contains(' ')
            || !name
                .chars()
                .all(|c| c.is_ascii_graphic() || (!c.is_ascii() && !c.is_control()))
        {
            return reply(501, "5.5.4", format!("{verb}: bad domain name '{name}'"));
        }
        self.reset_transaction();
        self.helo = Some(name.to_string());
        let host = self.config().hostname.clone();
        let greeting = format!("{host} greets {name}");
        if verb == "HELO" {
            self.esmtp = false;
            return reply(250, "", greeting);
        }
        self.esmtp = true;
        let mut lines = vec![
            greeting,
            "PIPELINING".to_string(),
            format!("SIZE {}", self.config().max_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if !self.tls && self.config().tls.is_some() {
            lines.push("STARTTLS".to_string());
        }
        lines.push("AUTH PLAIN LOGIN".to_string());
        lines.push("HELP".to_string());
        reply(250, "", lines.join("\n"))
    }

    fn mail(&mut self, arg: &str) -> Reply {
        if self.helo.is_none() {
            return reply(503, "5.5.1", "Send EHLO or HELO first");
        }
        if self.mail_from.is_some() {
            return reply(503, "5.5.1", "Nested MAIL command (RSET first)");
        }
        let (path, params) = match parse_path_arg(arg, "FROM:") {
            Ok(p) => p,
            Err(why) => return reply(501, "5.5.4", format!("Syntax: MAIL FROM:<address> — {why}")),
        };
        let mut smtputf8 = false;
        let mut seen: Vec<String> = Vec::new();
        for p in params.split(' ').filter(|p| !p.is_empty()) {
            let (key, value) = match p.split_once('=') {
                Some((k, v)) => (k.to_ascii_uppercase(), Some(v)),
                None => (p.to_ascii_uppercase(), None),
            };
            if seen.contains(&key) {
                return reply(501, "5.5.4", format!("Parameter {key} given twice"));
            }
            seen.push(key.clone());
            match (key.as_str(), value) {
                ("SIZE", Some(v)) => {
                    let Some(n) = v
                        .parse::<u64>()
                        .ok()
                        .filter(|_| v.len() <= 20 && v.bytes().all(|b| b.is_ascii_digit()))
                    else {
                        return reply(501, "5.5.4", format!("Bad SIZE value '{v}'"));
                    };
                    if n > self.config().max_size {
                        return reply(
                            552,
                            "5.3.4",
                            format!(
                                "Message size {n} exceeds the fixed maximum of {} octets",
                                self.config().max_size
                            ),
                        );
                    }
                }
                ("BODY", Some(v)) if v.eq_ignore_ascii_case("7BIT") => {}
                ("BODY", Some(v)) if v.eq_ignore_ascii_case("8BITMIME") => {}
                ("BODY", Some(v)) => {
                    return reply(501, "5.5.4", format!("Unsupported BODY type '{v}'"));
                }
                ("SMTPUTF8", None) => smtputf8 = true,
                ("AUTH", Some(_)) => {}
                ("SIZE" | "BODY" | "AUTH", None) | ("SMTPUTF8", Some(_)) => {
                    return reply(501, "5.5.4", format!("Bad syntax in parameter {p}"));
                }
                _ => {
                    return reply(555, "5.5.4", format!("MAIL parameter {key} not recognised"));
                }
            }
        }
        let from = if path.is_empty() {
            String::new()
        } else {
            match check_address(&path) {
                Ok(a) => a,
                Err(why) => return reply(501, "5.1.7", format!("Bad sender address: {why}")),
            }
        };
        if !from.is_ascii() && !smtputf8 {
            return reply(
                553,
                "5.6.7",
                "A non-ASCII sender needs the SMTPUTF8 parameter",
            );
        }
        self.mail_from = Some(from);
        self.smtputf8 = smtputf8;
        reply(250, "2.1.0", "Sender OK")
    }

    fn rcpt(&mut self, arg: &str) -> Reply {
        if self.mail_from.is_none() {
            return reply(503, "5.5.1", "Need MAIL before RCPT");
        }
        self.rcpt_attempted = true;
        let (path, params) = match parse_path_arg(arg, "TO:") {
            Ok(p) => p,
            Err(why) => return reply(501, "5.5.4", format!("Syntax: RCPT TO:<address> — {why}")),
        };
        if let Some(p) = params.split(' ').find(|p| !p.is_empty()) {
            let key = p.split('=').next().unwrap_or(p).to_ascii_uppercase();
            return reply(555, "5.5.4", format!("RCPT parameter {key} not recognised"));
        }
        if path.is_empty() {
            return reply(501, "5.1.3", "The null address <> is not a recipient");
        }
        let to = if path.eq_ignore_ascii_case("postmaster") {
            "postmaster".to_string()
        } else {
            match check_address(&path) {
                Ok(a) => a,
                Err(why) => return reply(501, "5.1.3", format!("Bad recipient address: {why}")),
            }
        };
        if !to.is_ascii() && !self.smtputf8 {
            return reply(553, "5.6.7", "A non-ASCII recipient needs SMTPUTF8 on MAIL");
        }
        if self.recipients.len() >= self.config().max_recipients {
            return reply(452, "4.5.3", "Too many recipients");
        }
        if !self.recipients.iter().any(|r| r.eq_ignore_ascii_case(&to)) {
            self.recipients.push(to);
        }
        reply(250, "2.1.5", "Recipient OK")
    }

    fn starttls(&mut self, arg: &str) -> Result<(), Reply> {
        if !arg.is_empty() {
            return Err(reply(501, "5.5.4", "STARTTLS takes no arguments"));
        }
        if self.tls {
            return Err(reply(503, "5.5.1", "TLS is already active"));
        }
        if self.helo.is_none() {
            return Err(reply(503, "5.5.1", "Send EHLO first"));
        }
        if self.config().tls.is_none() {
            return Err(reply(454, "4.7.0", "TLS not available"));
        }
        Ok(())
    }

    /// AUTH PLAIN / LOGIN (RFC 4954, 4616; LOGIN per the Murchison draft).
    fn auth<S: Read + Write>(&mut self, conn: &mut Conn<S>, arg: &str) -> io::Result<()> {
        let r = self.auth_exchange(conn, arg)?;
        self.send(conn, r);
        Ok(())
    }

    fn auth_exchange<S: Read + Write>(
        &mut self,
        conn: &mut Conn<S>,
        arg: &str,
    ) -> io::Result<Reply> {
        if self.helo.is_none() || !self.esmtp {
            return Ok(reply(503, "5.5.1", "Send EHLO first"));
        }
        if self.auth.is_some() {
            return Ok(reply(503, "5.5.1", "Already authenticated"));
        }
        if self.mail_from.is_some() {
            return Ok(reply(
                503,
                "5.5.1",
                "AUTH is not allowed during a mail transaction",
            ));
        }
        let mut words = arg.split(' ');
        let mech = words.next().unwrap_or("").to_ascii_uppercase();
        let initial = words.next();
        if words.next().is_some() || mech.is_empty() {
            return Ok(reply(
                501,
                "5.5.4",
                "Syntax: AUTH MECHANISM [INITIAL-RESPONSE]",
            ));
        }
        let (user, password) = match mech.as_str() {
            "PLAIN" => {
                let data = match self.first_response(conn, initial, "")? {
                    Ok(d) => d,
                    Err(r) => return Ok(r),
                };
                let fields: Vec<&[u8]> = data.split(|&b| b == 0).collect();
                let [authzid, authcid, passwd] = fields.as_slice() else {
                    return Ok(reply(
                        501,
                        "5.5.2",
                        "PLAIN needs authzid NUL authcid NUL password",
                    ));
                };
                if !authzid.is_empty() && authzid != authcid {
                    return Ok(reply(535, "5.7.8", "Authentication credentials invalid"));
                }
                (authcid.to_vec(), passwd.to_vec())
            }
            "LOGIN" => {
                let user = match self.first_response(conn, initial, "Username:")? {
                    Ok(u) => u,
                    Err(r) => return Ok(r),
                };
                let password = match self.challenge(conn, "Password:")? {
                    Ok(p) => p,
                    Err(r) => return Ok(r),
                };
                (user, password)
            }
            _ => {
                return Ok(reply(
                    504,
                    "5.5.4",
                    format!("Unrecognised authentication mechanism {mech}"),
                ));
            }
        };
        let ok = user == self.config().user.as_bytes()
            && constant_time_eq(&password, self.config().password.as_bytes());
        if ok {
            self.auth = Some(self.config().user.clone());
            Ok(reply(235, "2.7.0", "Authentication successful"))
        } else {
            Ok(reply(535, "5.7.8", "Authentication credentials invalid"))
        }
    }

    /// The first response of an exchange: the initial response given with
    /// AUTH, else the answer to a `334 prompt`.
    fn first_response<S: Read + Write>(
        &mut self,
        conn: &mut Conn<S>,
        initial: Option<&str>,
        prompt: &str,
    ) -> io::Result<Result<Vec<u8>, Reply>> {
        match initial {
            Some(i) => Ok(decode_response(i)),
            None => self.challenge(conn, prompt),
        }
    }

    /// Sends `334 base64(prompt)` and reads the client's response line.
    fn challenge<S: Read + Write>(
        &mut self,
        conn: &mut Conn<S>,
        prompt: &str,
    ) -> io::Result<Result<Vec<u8>, Reply>> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(prompt);
        conn.send(&format!("334 {encoded}\r\n"));
        Ok(match conn.read_line(MAX_AUTH_LINE)? {
            Line::Eof => Err(reply(501, "5.7.0", "Connection closed during AUTH")),
            Line::TooLong => Err(reply(
                500,
                "5.5.6",
                "Authentication exchange line is too long",
            )),
            Line::Text(raw) => match command_text(&raw) {
                Ok(line) => decode_response(&line),
                Err(r) => Err(r),
            },
        })
    }

    fn data<S: Read + Write>(&mut self, conn: &mut Conn<S>, arg: &str) -> io::Result<()> {
        let refuse = if !arg.is_empty() {
            Some(reply(501, "5.5.4", "DATA takes no arguments"))
        } else if self.mail_from.is_none() {
            Some(reply(503, "5.5.1", "Need MAIL and RCPT before DATA"))
        } else if !self.rcpt_attempted {
            Some(reply(503, "5.5.1", "Need RCPT before DATA"))
        } else if self.recipients.is_empty() {
            Some(reply(554, "5.5.1", "No valid recipients"))
        } else {
            None
        };
        if let Some(r) = refuse {
            self.send(conn, r);
            return Ok(());
        }
        conn.send("354 End data with <CR><LF>.<CR><LF>\r\n");
        let max = self.config().max_size;
        let mut content: Vec<u8> = Vec::new();
        let mut size: u64 = 0;
        let (mut too_big, mut too_long, mut bare) = (false, false, false);
        // Whether the previous line ended in CRLF: only `<CRLF>.<CRLF>`
        // ends the data (`<LF>.<CRLF>` is content, against SMTP smuggling).
        let mut after_crlf = true;
        loop {
            let mut line = match conn.read_line(MAX_TEXT_LINE + 1)? {
                Line::Eof => return Ok(()),
                Line::TooLong => {
                    too_long = true;
                    continue;
                }
                Line::Text(l) => l,
            };
            if line == b".\r\n" && after_crlf {
                break;
            }
            if line.len() > MAX_TEXT_LINE && line.first() != Some(&b'.') {
                too_long = true;
                after_crlf = true;
                continue;
            }
            let body = &line[..line.len() - 1];
            let crlf = body.last() == Some(&b'\r');
            let inner = if crlf { &body[..body.len() - 1] } else { body };
            after_crlf = crlf;
            if !crlf || inner.contains(&b'\r') {
                bare = true;
                continue;
            }
            if line.first() == Some(&b'.') {
                line.remove(0);
            }
            size += line.len() as u64;
            if size > max {
                too_big = true;
            }
            if !(too_big || too_long || bare) {
                content.extend_from_slice(&line);
            }
        }
        let from = self.mail_from.clone().unwrap_or_default();
        let recipients = std::mem::take(&mut self.recipients);
        let smtputf8 = self.smtputf8;
        self.reset_transaction();
        let r = if bare {
            reply(
                550,
                "5.5.2",
                "Bare CR or LF in the message (only CRLF may end a line, RFC 5321 §2.3.8); message refused",
            )
        } else if too_long {
            reply(
                554,
                "5.6.0",
                "A message line is longer than 1000 octets (RFC 5321 §4.5.3.1.6); message refused",
            )
        } else if too_big {
            reply(
                552,
                "5.3.4",
                format!("Message size exceeds the fixed maximum of {max} octets"),
            )
        } else {
            let id = queue_id();
            let mut stored = self.trace_headers(&from, &recipients, smtputf8, &id);
            stored.extend_from_slice(&content);
            match self.shared.store.store(&stored) {
                Ok(_) => {
                    self.shared.delivered.fetch_add(1, Ordering::Relaxed);
                    reply(250, "2.0.0", format!("OK: stored as {id}"))
                }
                Err(e) => reply(451, "4.3.0", format!("Cannot store the message: {e}")),
            }
        };
        self.send(conn, r);
        Ok(())
    }

    /// `Return-Path:`, `Received:` and `X-Envelope-To:` for a stored message.
    fn trace_headers(
        &self,
        from: &str,
        recipients: &[String],
        smtputf8: bool,
        id: &str,
    ) -> Vec<u8> {
        let helo = self.helo.as_deref().unwrap_or("unknown");
        let mut with = String::from(if smtputf8 {
            "UTF8SMTP"
        } else if self.esmtp {
            "ESMTP"
        } else {
            "SMTP"
        });
        if self.tls {
            with.push('S');
        }
        if self.auth.is_some() {
            with.push('A');
        }
        let for_clause = match recipients {
            [one] => format!("\r\n\tfor <{one}>"),
            _ => String::new(),
        };
        let mut h = format!(
            "Return-Path: <{from}>\r\nReceived: from {helo} (localhost [{}])\r\n\tby {} (smtpsh sandbox) with {with} id {id}{for_clause};\r\n\t{}\r\n",
            self.peer.ip(),
            self.config().hostname,
            crate::clock::rfc5322(std::time::SystemTime::now()),
        );
        h.push_str("X-Envelope-To: ");
        let list: Vec<String> = recipients.iter().map(|r| format!("<{r}>")).collect();
        h.push_str(&list.join(",\r\n "));
        h.push_str("\r\n");
        h.into_bytes()
    }
}

/// A unique short id for the reply and the `Received:` header: 64 random
/// bits as 16 upper-case hex digits.
fn queue_id() -> String {
    format!("{:016X}", crate::local::random_u64())
}

/// The text of a command line: it must end in CRLF and hold no other CR,
/// LF or NUL, and be UTF-8.
fn command_text(raw: &[u8]) -> Result<String, Reply> {
    let Some(body) = raw.strip_suffix(b"\r\n") else {
        return Err(reply(
            500,
            "5.5.2",
            "Bare LF: a command line must end with CRLF (RFC 5321 §2.3.8)",
        ));
    };
    if body.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(reply(500, "5.5.2", "Bare CR or NUL in the command line"));
    }
    match std::str::from_utf8(body) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => Err(reply(500, "5.5.2", "The command line is not valid UTF-8")),
    }
}

/// Decodes one base64 AUTH response; `*` cancels, `=` is empty.
fn decode_response(line: &str) -> Result<Vec<u8>, Reply> {
    let line = line.trim_end();
    if line == "*" {
        return Err(reply(501, "5.7.0", "Authentication cancelled"));
    }
    if line == "=" {
        return Ok(Vec::new());
    }
    base64::engine::general_purpose::STANDARD
        .decode(line)
        .map_err(|_| reply(501, "5.5.2", "Cannot decode the base64 response"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits `FROM:<path> params` (or `TO:`): returns the path without the
/// brackets (source route removed) and the parameter text.
fn parse_path_arg<'a>(arg: &'a str, keyword: &str) -> Result<(String, &'a str), String> {
    let k = keyword.len();
    if arg.len() < k || !arg[..k].eq_ignore_ascii_case(keyword) {
        return Err(format!("expected {keyword}<address>"));
    }
    let rest = &arg[k..];
    if rest.starts_with(' ') {
        return Err(format!(
            "no space is allowed after '{keyword}' (RFC 5321 §4.1.2)"
        ));
    }
    let Some(inner) = rest.strip_prefix('<') else {
        return Err("the address must be in angle brackets, e.g. <alice@example.com>".into());
    };
    let mut quoted = false;
    let mut escaped = false;
    let mut end = None;
    for (i, c) in inner.char_indices() {
        match (quoted, escaped, c) {
            (_, true, _) => escaped = false,
            (true, false, '\\') => escaped = true,
            (_, false, '"') => quoted = !quoted,
            (false, false, '>') => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(end) = end else {
        return Err("missing '>'".into());
    };
    let path = &inner[..end];
    let params = &inner[end + 1..];
    if !params.is_empty() && !params.starts_with(' ') {
        return Err("text after '>' must be parameters separated by a space".into());
    }
    // A source route (`@a,@b:user@c`) must be accepted and ignored (§4.1.1.3 / C.1).
    let path = if path.starts_with('@') {
        match path.split_once(':') {
            Some((_, p)) => p,
            None => return Err("bad source route".into()),
        }
    } else {
        path
    };
    Ok((path.to_string(), params))
}

/// Validates a mailbox (`local@domain`) with the shell's own rules.
fn check_address(path: &str) -> Result<String, String> {
    if path.contains('<') || path.contains('>') {
        return Err("unexpected angle bracket".into());
    }
    crate::address::Address::parse(path)
        .map(|a| a.as_str().to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Collects stored messages in memory.
    #[derive(Default)]
    struct Memory(Mutex<Vec<Vec<u8>>>);
    impl Store for Memory {
        fn store(&self, message: &[u8]) -> io::Result<String> {
            let mut v = self.0.lock().map_err(|_| io::Error::other("poisoned"))?;
            v.push(message.to_vec());
            Ok(format!("m{}", v.len()))
        }
    }

    /// An in-memory client: scripted input, collected output.
    struct Duplex {
        input: io::Cursor<Vec<u8>>,
        output: Vec<u8>,
        writes: usize,
    }
    impl Read for Duplex {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.input.read(buf)
        }
    }
    impl Write for Duplex {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.output.extend_from_slice(buf);
            self.writes += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn shared_with(config: Config) -> (Shared, Arc<Memory>) {
        let mem = Arc::new(Memory::default());
        (
            Shared {
                config,
                store: mem.clone(),
                delivered: AtomicU64::new(0),
                active: AtomicUsize::new(0),
                stop: AtomicBool::new(false),
            },
            mem,
        )
    }

    /// Runs `input` through a session; returns the reply codes in order
    /// (first line of each reply; the greeting included), what ended it,
    /// the raw output and the stored messages.
    fn converse_with(config: Config, input: &[u8]) -> (Vec<String>, Next, String, Vec<Vec<u8>>) {
        let (shared, mem) = shared_with(config);
        let peer: SocketAddr = ([127, 0, 0, 1], 40000).into();
        let mut session = Session::new(&shared, peer);
        let mut conn = Conn::new(Duplex {
            input: io::Cursor::new(input.to_vec()),
            output: Vec::new(),
            writes: 0,
        });
        session.greet(&mut conn).expect("greet");
        let next = session.run(&mut conn).expect("run");
        let (d, _) = conn.into_inner();
        let out = String::from_utf8_lossy(&d.output).into_owned();
        let codes = out
            .split("\r\n")
            .filter(|l| l.len() >= 4 && &l[3..4] == " ")
            .map(|l| l.split(' ').take(2).collect::<Vec<_>>().join(" "))
            .collect();
        let stored = mem.0.lock().map(|v| v.clone()).unwrap_or_default();
        (codes, next, out, stored)
    }

    fn converse(input: &str) -> (Vec<String>, Next, String, Vec<Vec<u8>>) {
        converse_with(Config::default(), input.as_bytes())
    }

    fn codes(input: &str) -> Vec<String> {
        converse(input).0
    }

    #[test]
    fn a_whole_transaction_is_stored_with_trace_headers() {
        let (codes, next, out, stored) = converse(
            "EHLO client.example\r\nMAIL FROM:<a@example.org> SIZE=20 BODY=8BITMIME\r\n\
             RCPT TO:<b@example.org>\r\nDATA\r\nSubject: x\r\n\r\n..dot\r\nline\r\n.\r\nQUIT\r\n",
        );
        assert_eq!(
            codes,
            [
                "220 localhost",
                "250 HELP",
                "250 2.1.0",
                "250 2.1.5",
                "354 End",
                "250 2.0.0",
                "221 2.0.0"
            ]
        );
        assert_eq!(next, Next::Quit);
        for ext in [
            "PIPELINING",
            "SIZE 52428800",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "AUTH PLAIN LOGIN",
        ] {
            assert!(
                out.contains(&format!("250-{ext}\r\n")),
                "{ext} missing in {out}"
            );
        }
        assert!(!out.contains("STARTTLS"), "no TLS configured");
        assert_eq!(stored.len(), 1);
        let msg = String::from_utf8_lossy(&stored[0]);
        assert!(msg.starts_with("Return-Path: <a@example.org>\r\nReceived: from client.example (localhost [127.0.0.1])\r\n"));
        assert!(msg.contains("with ESMTP id "));
        assert!(msg.contains("\tfor <b@example.org>;"));
        assert!(msg.contains("X-Envelope-To: <b@example.org>\r\n"));
        assert!(
            msg.ends_with("\r\nSubject: x\r\n\r\n.dot\r\nline\r\n"),
            "{msg}"
        );
    }

    #[test]
    fn commands_out_of_order_get_503() {
        assert_eq!(codes("MAIL FROM:<a@b.org>\r\n")[1], "503 Send");
        let c = codes(
            "EHLO x\r\nRCPT TO:<x@y.org>\r\nDATA\r\nMAIL FROM:<a@b.org>\r\nDATA\r\nMAIL FROM:<a@b.org>\r\n",
        );
        assert_eq!(
            c[2..],
            [
                "503 5.5.1",
                "503 5.5.1",
                "250 2.1.0",
                "503 5.5.1",
                "503 5.5.1"
            ]
        );
        // Before EHLO there are no enhanced codes.
        assert_eq!(
            codes("DATA\r\nRCPT TO:<x@y.org>\r\n")[1..],
            ["503 Need", "503 Need"]
        );
        let c = codes(
            "EHLO x\r\nAUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==\r\nAUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==\r\n",
        );
        assert_eq!(c[2..], ["235 2.7.0", "503 5.5.1"]);
        let c = codes("HELO x\r\nAUTH PLAIN AGRlbW8Ac2FuZGJveC1wYXNzd29yZA==\r\n");
        assert_eq!(c[2], "503 Send");
        let c = codes("EHLO x\r\nMAIL FROM:<a@b.org>\r\nAUTH LOGIN\r\n");
        assert_eq!(c[3], "503 5.5.1");
        assert_eq!(codes("STARTTLS\r\n")[1], "503 Send");
    }

    #[test]
    fn syntax_errors_get_501_and_unknown_commands_500() {
        let c = codes(
            "EHLO x\r\nMAIL FROM:a@b\r\nMAIL FROM: <a@b.org>\r\nMAIL FROM:<a@@b>\r\nMAIL FROM:<a@b.org\r\n\
             FOO\r\nMAIL TO:<a@b.org>\r\nEHLO\r\nRSET x\r\nMAIL FROM:<> SIZE=abc\r\n",
        );
        assert_eq!(
            c[2..],
            [
                "501 5.5.4",
                "501 5.5.4",
                "501 5.1.7",
                "501 5.5.4",
                "500 5.5.2",
                "501 5.5.4",
                "501 5.5.4",
                "501 5.5.4",
                "501 5.5.4"
            ]
        );
        let c = codes(
            "EHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<>\r\nRCPT TO:<bad>\r\nRCPT TO:<a@b.org> NOTIFY=NEVER\r\nDATA\r\n",
        );
        assert_eq!(
            c[2..],
            [
                "250 2.1.0",
                "501 5.1.3",
                "501 5.1.3",
                "555 5.5.4",
                "554 5.5.1"
            ]
        );
        let c = codes("EHLO x\r\nMAIL FROM:<a@b.org> FOO=1\r\nEXPN list\r\nVRFY x\r\n");
        assert_eq!(c[2..], ["555 5.5.4", "502 5.5.1", "252 2.5.0"]);
    }

    #[test]
    fn postmaster_source_routes_and_smtputf8() {
        let c = codes(
            "EHLO x\r\nMAIL FROM:<@relay.example:a@b.org>\r\nRCPT TO:<Postmaster>\r\nRCPT TO:<zoë@example.org>\r\n\
             RSET\r\nMAIL FROM:<zoë@example.org>\r\nMAIL FROM:<zoë@example.org> SMTPUTF8\r\nRCPT TO:<zoë@example.org>\r\n",
        );
        assert_eq!(
            c[2..],
            [
                "250 2.1.0",
                "250 2.1.5",
                "553 5.6.7",
                "250 2.0.0",
                "553 5.6.7",
                "250 2.1.0",
                "250 2.1.5"
            ]
        );
    }

    #[test]
    fn size_limits_at_mail_and_after_data() {
        let config = Config {
            max_size: 10,
            ..Config::default()
        };
        let (c, _, _, stored) = converse_with(
            config,
            b"EHLO x\r\nMAIL FROM:<a@b.org> SIZE=11\r\nMAIL FROM:<a@b.org> SIZE=10\r\nRCPT TO:<c@d.org>\r\nDATA\r\n0123456789\r\n.\r\nNOOP\r\n",
        );
        assert_eq!(
            c[2..],
            [
                "552 5.3.4",
                "250 2.1.0",
                "250 2.1.5",
                "354 End",
                "552 5.3.4",
                "250 2.0.0"
            ]
        );
        assert!(stored.is_empty());
    }

    #[test]
    fn end_of_data_only_at_crlf_dot_crlf_and_bare_newlines_are_refused() {
        let head = "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n";
        // `\n.\n` and `\n.\r\n` are not the end: the real end comes later.
        let (c, _, _, stored) = converse(&format!("{head}a\n.\nb\n.\r\nc\r\n.\r\nNOOP\r\n"));
        assert_eq!(c[4..], ["354 End", "550 5.5.2", "250 2.0.0"]);
        assert!(stored.is_empty());
        let (c, _, _, stored) = converse(&format!("{head}a\rb\r\n.\r\n"));
        assert_eq!(c[5], "550 5.5.2");
        assert!(stored.is_empty());
        // `<LF>.<CRLF>` is content; only the `<CRLF>.<CRLF>` after it ends.
        let (c, _, _, stored) = converse(&format!("{head}x\r\n.\n.\r\n.\r\n"));
        assert_eq!(c[5], "550 5.5.2");
        assert!(stored.is_empty());
        // Input ending inside DATA stores nothing.
        let (c, next, _, stored) = converse(&format!("{head}partial\r\n"));
        assert_eq!(c.len(), 5);
        assert_eq!(next, Next::Closed);
        assert!(stored.is_empty());
    }

    #[test]
    fn line_length_limits() {
        let long_cmd = format!("NOOP {}\r\nNOOP\r\n", "x".repeat(600));
        assert_eq!(codes(&long_cmd)[1..], ["500 Line", "250 OK"]);
        let ok_cmd = format!("NOOP {}\r\n", "x".repeat(505));
        assert_eq!(codes(&ok_cmd)[1], "250 OK");
        let head = "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\n";
        let (c, _, _, stored) = converse(&format!("{head}{}\r\n.\r\n", "y".repeat(1001)));
        assert_eq!(c[5], "554 5.6.0");
        assert!(stored.is_empty());
        // 998 octets + CRLF is fine, and so is a stuffed dot on top of that.
        let (c, _, _, stored) = converse(&format!(
            "{head}{}\r\n.{}\r\n.\r\n",
            "y".repeat(998),
            ".".repeat(998)
        ));
        assert_eq!(c[5], "250 2.0.0");
        assert!(
            stored[0]
                .ends_with(format!("{}\r\n{}\r\n", "y".repeat(998), ".".repeat(998)).as_bytes())
        );
        let c = codes("NOOP\n");
        assert_eq!(c[1], "500 Bare");
    }

    #[test]
    fn auth_plain_and_login_with_challenges_and_cancel() {
        let b64 = |s: &[u8]| base64::engine::general_purpose::STANDARD.encode(s);
        let plain = b64(b"\0demo\0sandbox-password");
        let bad = b64(b"\0demo\0wrong");
        let input = format!(
            "EHLO x\r\nAUTH PLAIN {bad}\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN\r\n{}\r\n*\r\nAUTH CRAM-MD5\r\nAUTH PLAIN !!!\r\n\
             AUTH LOGIN {}\r\n{}\r\nAUTH PLAIN\r\n{plain}\r\n",
            b64(b"demo"),
            b64(b"demo"),
            b64(b"wrong"),
        );
        let (c, _, out, _) = converse(&input);
        assert_eq!(
            c[2..],
            [
                "535 5.7.8",
                "334 ",
                "501 5.7.0",
                "334 VXNlcm5hbWU6",
                "334 UGFzc3dvcmQ6",
                "501 5.7.0",
                "504 5.5.4",
                "501 5.5.2",
                "334 UGFzc3dvcmQ6",
                "535 5.7.8",
                "334 ",
                "235 2.7.0"
            ]
        );
        assert!(out.contains("334 \r\n"));
        let login = format!(
            "EHLO x\r\nAUTH LOGIN\r\n{}\r\n{}\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nDATA\r\nx\r\n.\r\n",
            b64(b"demo"),
            b64(b"sandbox-password")
        );
        let (c, _, _, stored) = converse(&login);
        assert_eq!(c[4], "235 2.7.0");
        assert!(String::from_utf8_lossy(&stored[0]).contains("with ESMTPA id"));
        let authz = b64(b"other\0demo\0sandbox-password");
        assert_eq!(
            codes(&format!("EHLO x\r\nAUTH PLAIN {authz}\r\n"))[2],
            "535 5.7.8"
        );
        assert_eq!(codes("EHLO x\r\nAUTH PLAIN =\r\n")[2], "501 5.5.2");
    }

    #[test]
    fn pipelined_commands_are_answered_in_order_in_one_write() {
        let (c, _, out, stored) = converse(
            "EHLO x\r\nMAIL FROM:<a@b.org>\r\nRCPT TO:<c@d.org>\r\nRCPT TO:<e@f.org>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n",
        );
        assert_eq!(
            c[2..],
            [
                "250 2.1.0",
                "250 2.1.5",
                "250 2.1.5",
                "354 End",
                "250 2.0.0",
                "221 2.0.0"
            ]
        );
        assert!(out.ends_with("221 2.0.0 localhost closing connection\r\n"));
        assert!(
            String::from_utf8_lossy(&stored[0])
                .contains("X-Envelope-To: <c@d.org>,\r\n <e@f.org>\r\n")
        );
        // Greeting, then every reply of the pipelined group in one write.
        let (shared, _) = shared_with(Config::default());
        let mut session = Session::new(&shared, ([127, 0, 0, 1], 1).into());
        let mut conn = Conn::new(Duplex {
            input: io::Cursor::new(b"EHLO x\r\nNOOP\r\nNOOP\r\nQUIT\r\n".to_vec()),
            output: Vec::new(),
            writes: 0,
        });
        session.greet(&mut conn).expect("greet");
        session.run(&mut conn).expect("run");
        assert_eq!(conn.into_inner().0.writes, 2);
    }

    #[test]
    fn starttls_discards_pipelined_plaintext() {
        let tls = Arc::new(
            super::super::cert::Authority::generate()
                .and_then(|a| a.server_config())
                .expect("tls"),
        );
        let config = Config {
            tls: Some(tls),
            ..Config::default()
        };
        let (shared, _) = shared_with(config);
        let peer: SocketAddr = ([127, 0, 0, 1], 40000).into();
        let mut session = Session::new(&shared, peer);
        let mut conn = Conn::new(Duplex {
            input: io::Cursor::new(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<evil@x.org>\r\n".to_vec()),
            output: Vec::new(),
            writes: 0,
        });
        session.greet(&mut conn).expect("greet");
        assert_eq!(session.run(&mut conn).expect("run"), Next::StartTls);
        let (d, rest) = conn.into_inner();
        assert!(rest.is_empty(), "injected plaintext must be dropped");
        let out = String::from_utf8_lossy(&d.output).into_owned();
        assert!(out.contains("250-STARTTLS\r\n"));
        assert!(out.ends_with("220 2.0.0 Ready to start TLS\r\n"));
        session.start_tls();
        assert!(session.helo.is_none() && session.tls);
        assert_eq!(session.starttls("").err().map(|r| r.code), Some(503));
        assert!(!session.hello("EHLO", "x").text.contains("STARTTLS"));
    }

    #[test]
    fn too_many_errors_close_the_connection() {
        let (c, next, _, _) = converse(&"FOO\r\n".repeat(30));
        assert_eq!(next, Next::Closed);
        assert_eq!(c.last().map(String::as_str), Some("421 4.7.0"));
        assert_eq!(c.len(), 1 + 20 + 1);
    }

    #[test]
    fn path_parsing() {
        assert_eq!(
            parse_path_arg("FROM:<a@b.org> SIZE=1", "FROM:"),
            Ok(("a@b.org".into(), " SIZE=1"))
        );
        assert_eq!(parse_path_arg("from:<>", "FROM:"), Ok((String::new(), "")));
        assert_eq!(
            parse_path_arg("TO:<\"a>b\"@c.org>", "TO:"),
            Ok(("\"a>b\"@c.org".into(), ""))
        );
        assert!(parse_path_arg("FROM:<a@b.org>x", "FROM:").is_err());
        assert!(parse_path_arg("FROM", "FROM:").is_err());
    }
}
