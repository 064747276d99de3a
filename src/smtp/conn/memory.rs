//! An SMTP server played in memory, for tests of what runs on a
//! [`Connection`]: the conversation, the shell's handlers, the `send`
//! transaction (and the `command_line` fuzz target, with the `fuzzing`
//! feature). No socket and no thread: the client's writes are answered at
//! once, by default rules a test can override line by line.

use super::{ConnectOptions, Connection, Stream};
use crate::smtp::reply::Reply;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What the server expects next from the client.
#[derive(Debug)]
enum Mode {
    /// Command lines.
    Commands,
    /// Message content after 354, up to `<CRLF>.<CRLF>`.
    Data(Vec<u8>),
    /// So many bytes of a BDAT chunk.
    Chunk { left: u64, last: bool },
}

#[derive(Debug)]
struct State {
    to_client: VecDeque<u8>,
    line: Vec<u8>,
    mode: Mode,
    ehlo: Vec<String>,
    rules: Vec<(String, String)>,
    log: Vec<String>,
    messages: Vec<Vec<u8>>,
    chunk: Vec<u8>,
    closed: bool,
    client_gone: bool,
    /// LMTP: the end of a message is answered once per accepted recipient.
    lmtp: bool,
    /// Recipients accepted in the transaction (for LMTP's replies).
    rcpts: usize,
}

/// The server; clones share it (one for the connection, one for the test).
#[derive(Debug, Clone)]
pub struct MemoryServer {
    state: Arc<Mutex<State>>,
}

impl Default for MemoryServer {
    fn default() -> MemoryServer {
        MemoryServer::new(&["PIPELINING", "SIZE 1000000", "8BITMIME", "CHUNKING"])
    }
}

impl MemoryServer {
    /// A server that greets with 220 and announces `extensions` after EHLO.
    pub fn new(extensions: &[&str]) -> MemoryServer {
        let state = State {
            to_client: VecDeque::from(b"220 memory.test ESMTP\r\n".to_vec()),
            line: Vec::new(),
            mode: Mode::Commands,
            ehlo: extensions.iter().map(|e| e.to_string()).collect(),
            rules: Vec::new(),
            log: Vec::new(),
            messages: Vec::new(),
            chunk: Vec::new(),
            closed: false,
            client_gone: false,
            lmtp: false,
            rcpts: 0,
        };
        MemoryServer {
            state: Arc::new(Mutex::new(state)),
        }
    }
    /// Speaks LMTP (RFC 2033): the end of a message (the final dot, `BDAT
    /// ... LAST`) is answered once per recipient accepted since MAIL: the
    /// `END` rule's lines in turn (its last line for the rest), or `250`.
    pub fn lmtp(self) -> MemoryServer {
        self.lock().lmtp = true;
        self
    }
    /// Answers every command line starting with `prefix` (ASCII case
    /// ignored) with `reply` (one or more lines, CRLF added); rules made
    /// first win. The prefix `END` stands for the end of message content
    /// (the final dot). A 421 reply closes the connection after it.
    pub fn answer(self, prefix: &str, reply: &str) -> MemoryServer {
        self.lock()
            .rules
            .push((prefix.to_ascii_uppercase(), reply.to_string()));
        self
    }
    /// A connection to this server (the greeting is waiting to be read).
    pub fn connection(&self) -> Connection {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 25));
        let options = ConnectOptions {
            timeout: Some(Duration::from_secs(2)),
            interrupt: Arc::new(AtomicBool::new(false)),
            net: Default::default(),
        };
        Connection::from_stream(Box::new(self.clone()), addr, addr, "memory.test", options)
    }
    /// Bytes the server sends now, asked or not (an idle 421, say).
    pub fn push(&self, bytes: &str) {
        self.lock().to_client.extend(bytes.as_bytes());
    }
    /// The server closes its side (after what it has still to send).
    pub fn close(&self) {
        self.lock().closed = true;
    }
    /// Every command line received, in order, and `[N bytes]` for each
    /// message's content.
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }
    /// The command lines received, without message content entries.
    pub fn commands(&self) -> Vec<String> {
        self.log()
            .into_iter()
            .filter(|l| !l.starts_with('['))
            .collect()
    }
    /// The messages accepted, as received (dot-stuffed, without the final
    /// `.` line).
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.lock().messages.clone()
    }
    /// Whether the client closed its side.
    pub fn client_gone(&self) -> bool {
        self.lock().client_gone
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl State {
    fn reply(&mut self, text: &str) {
        for line in text.split('\n') {
            self.to_client
                .extend(line.trim_end_matches('\r').as_bytes());
            self.to_client.extend(b"\r\n");
        }
        if text.starts_with("421") {
            self.closed = true;
        }
    }
    /// The reply to the end of a message (`default` unless a rule for
    /// `END` says otherwise); in LMTP one per accepted recipient.
    fn end_of_message(&mut self, default: &str) {
        let rule = self
            .rules
            .iter()
            .find(|(p, _)| p == "END")
            .map(|(_, r)| r.clone());
        let rcpts = std::mem::take(&mut self.rcpts);
        if !self.lmtp {
            return self.reply(rule.as_deref().unwrap_or(default));
        }
        let lines: Vec<String> = rule
            .as_deref()
            .unwrap_or("250 2.0.0 delivered")
            .split('\n')
            .map(String::from)
            .collect();
        for i in 0..rcpts {
            let line = lines.get(i).or(lines.last()).cloned().unwrap_or_default();
            self.reply(&line);
            if self.closed {
                return;
            }
        }
    }
    /// The answer to one command line.
    fn command(&mut self, line: &str) {
        self.log.push(line.to_string());
        let upper = line.to_ascii_uppercase();
        let verb = upper.split(' ').next().unwrap_or("");
        match verb {
            "MAIL" | "RSET" | "EHLO" | "LHLO" | "HELO" => self.rcpts = 0,
            _ => {}
        }
        if let Some((_, reply)) = self.rules.iter().find(|(p, _)| upper.starts_with(p)) {
            let reply = reply.clone();
            if verb == "RCPT" && reply.starts_with('2') {
                self.rcpts += 1;
            }
            if upper.starts_with("DATA") && reply.starts_with("354") {
                self.mode = Mode::Data(Vec::new());
            }
            return self.reply(&reply);
        }
        match verb {
            "EHLO" | "LHLO" => {
                let lines: Vec<String> = std::iter::once("memory.test".to_string())
                    .chain(self.ehlo.iter().cloned())
                    .collect();
                let last = lines.len() - 1;
                let text: Vec<String> = lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                    .collect();
                self.reply(&text.join("\n"));
            }
            "HELO" | "NOOP" | "RSET" => self.reply("250 2.0.0 ok"),
            "MAIL" => self.reply("250 2.1.0 sender ok"),
            "RCPT" if upper.contains("UNKNOWN") => self.reply("550 5.1.1 no such user"),
            "RCPT" => {
                self.rcpts += 1;
                self.reply("250 2.1.5 recipient ok");
            }
            "DATA" => {
                self.mode = Mode::Data(Vec::new());
                self.reply("354 end with <CRLF>.<CRLF>");
            }
            "BDAT" => {
                let mut words = upper.split(' ').skip(1);
                let left = words.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let last = words.next() == Some("LAST");
                self.mode = Mode::Chunk { left, last };
                if left == 0 {
                    self.chunk_done();
                }
            }
            "QUIT" => {
                self.reply("221 2.0.0 bye");
                self.closed = true;
            }
            _ => self.reply("500 5.5.2 unknown command"),
        }
    }
    fn chunk_done(&mut self) {
        let Mode::Chunk { last, .. } = self.mode else {
            return;
        };
        self.mode = Mode::Commands;
        let chunk = std::mem::take(&mut self.chunk);
        self.log.push(format!("[{} bytes]", chunk.len()));
        self.messages.push(chunk);
        if last && self.lmtp {
            self.end_of_message("250 2.0.0 queued as MEMBDAT");
        } else if last {
            self.reply("250 2.0.0 queued as MEMBDAT");
        } else {
            self.reply("250 2.0.0 chunk ok");
        }
    }
    /// Takes what the client wrote.
    fn input(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match &mut self.mode {
                Mode::Chunk { left, .. } => {
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(bytes.len());
                    self.chunk.extend_from_slice(&bytes[..n]);
                    *left -= n as u64;
                    bytes = &bytes[n..];
                    if *left == 0 {
                        self.chunk_done();
                    }
                }
                Mode::Data(content) => {
                    content.push(bytes[0]);
                    bytes = &bytes[1..];
                    if content.ends_with(b"\r\n.\r\n") || content.as_slice() == b".\r\n" {
                        let mut message = std::mem::take(content);
                        message.truncate(message.len().saturating_sub(3));
                        self.mode = Mode::Commands;
                        self.log.push(format!("[{} bytes]", message.len()));
                        self.messages.push(message);
                        self.end_of_message("250 2.0.0 queued as MEM1");
                    }
                }
                Mode::Commands => {
                    self.line.push(bytes[0]);
                    bytes = &bytes[1..];
                    if self.line.ends_with(b"\r\n") {
                        let line =
                            String::from_utf8_lossy(&self.line[..self.line.len() - 2]).into_owned();
                        self.line.clear();
                        self.command(&line);
                    }
                }
            }
        }
    }
}

impl Read for MemoryServer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.lock();
        if s.to_client.is_empty() {
            if s.closed {
                return Ok(0);
            }
            drop(s);
            // Nothing yet: as a socket whose read timeout ran out.
            std::thread::sleep(Duration::from_millis(1));
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(s.to_client.len());
        for (i, b) in s.to_client.drain(..n).enumerate() {
            buf[i] = b;
        }
        Ok(n)
    }
}

impl Write for MemoryServer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut s = self.lock();
        if s.closed && s.to_client.is_empty() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        s.input(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream for MemoryServer {
    fn shutdown(&self) -> io::Result<()> {
        self.lock().client_gone = true;
        Ok(())
    }
}

/// Reads the greeting of a connection to a [`MemoryServer`].
pub fn greeted(conn: &mut Connection) -> Result<Reply, super::ConnError> {
    struct Quiet;
    impl super::Observer for Quiet {
        fn event(&mut self, _event: super::Event<'_>) {}
    }
    conn.read_reply("the greeting", &mut Quiet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::client::Stage;
    use crate::smtp::{Command, Event, Observer};

    struct Log(Vec<String>);
    impl Observer for Log {
        fn event(&mut self, event: Event<'_>) {
            if let Event::Received { reply, .. } = event {
                self.0.push(reply.code.to_string());
            }
        }
    }

    #[test]
    fn the_memory_server_speaks_smtp() {
        let server = MemoryServer::default().answer("RCPT TO:<B@", "450 4.2.0 try later");
        let mut conn = server.connection();
        assert_eq!(greeted(&mut conn).unwrap().code, 220);
        let mut log = Log(Vec::new());
        let ehlo = Command::ehlo("client.test").unwrap();
        let reply = conn.command(&ehlo, &mut log).unwrap();
        assert_eq!(reply.lines[0], "memory.test");
        assert_eq!(reply.lines.len(), 5);
        conn.command(&Command::raw("MAIL FROM:<a@x.test>").unwrap(), &mut log)
            .unwrap();
        conn.command(&Command::raw("RCPT TO:<b@x.test>").unwrap(), &mut log)
            .unwrap();
        conn.command(&Command::raw("RCPT TO:<c@x.test>").unwrap(), &mut log)
            .unwrap();
        conn.command(&Command::data(), &mut log).unwrap();
        let mut w = conn.data_writer().unwrap();
        w.write_all(b"Subject: x\r\n\r\n.dot\r\n").unwrap();
        w.finish(&mut log).unwrap();
        conn.read_reply("end", &mut log).unwrap();
        assert_eq!(log.0, ["250", "250", "450", "250", "354", "250"]);
        assert_eq!(server.messages(), [b"Subject: x\r\n\r\n..dot\r\n".to_vec()]);
        assert_eq!(conn.conversation().stage(), Stage::Ready);
        conn.command(&Command::quit(), &mut log).unwrap();
        assert_eq!(conn.conversation().stage(), Stage::Closed);
        assert!(server.client_gone());
    }
}
