//! A scripted fake SMTP server for fault injection: bad replies, dropped
//! connections, stalls. It runs in a thread of the test process, listens on
//! 127.0.0.1 port 0, accepts one connection and plays a list of [`Step`]s,
//! recording every byte the client sends.
//!
//! Happy paths belong to the interop tests against a real server; a fake
//! server only plays what a test needs to provoke one failure.
//!
//! ```ignore
//! let fake = FakeServer::start(vec![
//!     reply("220 fake ESMTP"),
//!     expect("EHLO"),
//!     reply("250 fake"),
//!     Step::Close,
//! ]);
//! // ... run smtpsh against fake.port() ...
//! let t = fake.finish();
//! t.assert_script_done();
//! assert!(t.saw_command("EHLO"));
//! ```
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Safety net: how long one read may block, and how long the server waits
/// for a connection. Tests never depend on these running out.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Safety net for [`FakeServer::finish`].
const FINISH_TIMEOUT: Duration = Duration::from_secs(60);

/// One thing the fake server does, in order.
#[derive(Debug, Clone)]
pub enum Step {
    /// Write these bytes as they are (no line ending added).
    Send(Vec<u8>),
    /// Read one line; it must start with this prefix (ASCII case-insensitive),
    /// else the mismatch is recorded and the connection closed.
    Expect(String),
    /// Read one line, whatever it is.
    ReadLine,
    /// Read message content up to and including the lone `.` line; the bytes
    /// exactly as received (dot-stuffing kept) go to [`Transcript::data`].
    ReadData,
    /// Wait.
    Sleep(Duration),
    /// Close the connection now; later steps are not played.
    Close,
    /// Answer nothing: read (and record) until the client closes.
    Hold,
    /// Write `chunk` again and again until `total` bytes are out, without
    /// holding them all in memory (e.g. a 10 MB reply line). If the client
    /// closes meanwhile, [`Transcript::client_gone`] is set and the script
    /// ends there (not an error: a client may hang up on a flood).
    SendRepeat {
        /// What to repeat.
        chunk: Vec<u8>,
        /// How many bytes in all (the last chunk is cut to fit).
        total: usize,
    },
    /// Write these bytes one at a time, waiting `interval` before each
    /// (a server that trickles). A client hang-up ends the script as for
    /// [`Step::SendRepeat`].
    Trickle {
        /// The bytes.
        bytes: Vec<u8>,
        /// The pause before each byte.
        interval: Duration,
    },
    /// Wait (reading nothing) until the test opens the gate.
    Wait(Gate),
    /// Run a piece of the test (e.g. change a file) at this point.
    Call(Hook),
}

/// A gate the fake server waits at ([`Step::Wait`]) until the test opens it.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }
    /// Lets the server go on.
    pub fn open(&self) {
        let (lock, cvar) = &*self.0;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }
    /// Waits until opened (or the safety net runs out).
    fn wait(&self) {
        let (lock, cvar) = &*self.0;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let _ = cvar.wait_timeout_while(guard, IO_TIMEOUT, |open| !*open);
    }
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// A piece of the test run by the server ([`Step::Call`]).
#[derive(Clone)]
pub struct Hook(pub Arc<dyn Fn() + Send + Sync>);

impl Hook {
    pub fn new(f: impl Fn() + Send + Sync + 'static) -> Hook {
        Hook(Arc::new(f))
    }
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

/// `Send(line + CRLF)`.
pub fn reply(line: &str) -> Step {
    Step::Send(format!("{line}\r\n").into_bytes())
}

/// `Expect(prefix)`.
pub fn expect(prefix: &str) -> Step {
    Step::Expect(prefix.to_string())
}

/// The usual opening: a 220 greeting, then EHLO answered with a small
/// extension list.
pub fn greet_ehlo() -> Vec<Step> {
    vec![
        reply("220 fake.test ESMTP ready"),
        expect("EHLO "),
        reply("250-fake.test hello"),
        reply("250 8BITMIME"),
    ]
}

/// `Expect(prefix)` then `reply(line)`.
pub fn answer(prefix: &str, line: &str) -> Vec<Step> {
    vec![expect(prefix), reply(line)]
}

/// What happened on the fake server's side.
#[derive(Debug, Clone, Default)]
pub struct Transcript {
    /// Whether a client connected at all.
    pub connected: bool,
    /// Every byte the client sent, in order.
    pub received: Vec<u8>,
    /// The lines read by `Expect` / `ReadLine` (line ending removed).
    pub commands: Vec<String>,
    /// The content read by each `ReadData`, exactly as on the wire,
    /// including the final `.\r\n`.
    pub data: Vec<Vec<u8>>,
    /// Mismatches and surprises (unexpected line, early close).
    pub errors: Vec<String>,
    /// Whether every step was played.
    pub completed: bool,
    /// Whether the client closed the connection while a [`Step::SendRepeat`]
    /// or [`Step::Trickle`] was still sending.
    pub client_gone: bool,
}

impl Transcript {
    /// Everything received, split into lines at LF (line endings removed,
    /// lossy UTF-8).
    pub fn lines(&self) -> Vec<String> {
        self.received
            .split(|&b| b == b'\n')
            .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)).into_owned())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// Whether the client sent a line starting with `prefix` (ASCII
    /// case-insensitive) anywhere, commands or message.
    pub fn saw_line(&self, prefix: &str) -> bool {
        self.lines().iter().any(|l| starts_with_ci(l, prefix))
    }

    /// Whether a command read by the script starts with `prefix`.
    pub fn saw_command(&self, prefix: &str) -> bool {
        self.commands.iter().any(|l| starts_with_ci(l, prefix))
    }

    /// Whether `needle` occurs anywhere in what the client sent.
    pub fn received_contains(&self, needle: &[u8]) -> bool {
        find(&self.received, needle).is_some()
    }

    /// Whether `<CRLF>.<CRLF>` (the end of a message) ever arrived.
    pub fn saw_final_dot(&self) -> bool {
        self.received_contains(b"\r\n.\r\n")
    }

    /// Everything received, for assertion messages.
    pub fn received_text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }

    /// Panics unless every step was played without a mismatch.
    pub fn assert_script_done(&self) {
        assert!(
            self.errors.is_empty() && self.completed,
            "the fake server's script did not run as planned: errors {:?}, completed {}\n\
             --- client sent ---\n{}",
            self.errors,
            self.completed,
            self.received_text()
        );
    }
}

/// A running fake server. Call [`FakeServer::finish`] once the client is
/// done to get the [`Transcript`].
pub struct FakeServer {
    port: u16,
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<Transcript>>,
    done: mpsc::Receiver<()>,
}

impl FakeServer {
    /// Listens on 127.0.0.1 port 0 and plays `steps` on the first connection.
    pub fn start(steps: Vec<Step>) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
        let port = listener.local_addr().expect("fake server address").port();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Transcript::default()));
        let (tx, done) = mpsc::channel();
        {
            let stop = stop.clone();
            let shared = shared.clone();
            thread::spawn(move || {
                serve(&listener, &steps, &stop, &shared);
                let _ = tx.send(());
            });
        }
        FakeServer {
            port,
            stop,
            shared,
            done,
        }
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port as a string, for command lines.
    pub fn port_str(&self) -> String {
        self.port.to_string()
    }

    /// Stops waiting for a client (if none came) and waits for the session
    /// to end — it ends when the steps are played or the client closes.
    pub fn finish(self) -> Transcript {
        self.stop.store(true, Ordering::SeqCst);
        if self.done.recv_timeout(FINISH_TIMEOUT).is_err() {
            let t = lock(&self.shared).clone();
            panic!(
                "the fake server did not finish within {FINISH_TIMEOUT:?}; the client sent:\n{}",
                t.received_text()
            );
        }
        lock(&self.shared).clone()
    }
}

fn lock(m: &Mutex<Transcript>) -> std::sync::MutexGuard<'_, Transcript> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn starts_with_ci(line: &str, prefix: &str) -> bool {
    line.as_bytes()
        .get(..prefix.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn accept(listener: &TcpListener, stop: &AtomicBool) -> Option<TcpStream> {
    let deadline = Instant::now() + IO_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((stream, _)) => return Some(stream),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if stop.load(Ordering::SeqCst) || Instant::now() >= deadline {
                    return None;
                }
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
}

/// Reads from the client, recording every byte.
struct Conn<'a> {
    stream: TcpStream,
    pending: Vec<u8>,
    shared: &'a Mutex<Transcript>,
}

impl Conn<'_> {
    /// Reads more bytes; false at EOF or error.
    fn fill(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        match self.stream.read(&mut buf) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                lock(self.shared).received.extend_from_slice(&buf[..n]);
                self.pending.extend_from_slice(&buf[..n]);
                true
            }
        }
    }

    /// One line including its LF; `None` if the client closed first.
    fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.pending.iter().position(|&b| b == b'\n') {
                return Some(self.pending.drain(..=i).collect());
            }
            if !self.fill() {
                return None;
            }
        }
    }
}

fn trim_eol(line: &[u8]) -> String {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    String::from_utf8_lossy(l).into_owned()
}

fn serve(listener: &TcpListener, steps: &[Step], stop: &AtomicBool, shared: &Mutex<Transcript>) {
    let Some(stream) = accept(listener, stop) else {
        // No client: a test that expects none still gets a transcript.
        lock(shared).completed = steps.is_empty();
        return;
    };
    lock(shared).connected = true;
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let mut c = Conn {
        stream,
        pending: Vec::new(),
        shared,
    };
    let error = |msg: String| lock(shared).errors.push(msg);
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Send(bytes) => {
                if let Err(e) = c.stream.write_all(bytes).and_then(|_| c.stream.flush()) {
                    error(format!("step {i}: cannot send {:?}: {e}", trim_eol(bytes)));
                    return;
                }
            }
            Step::Expect(prefix) => {
                let Some(line) = c.line() else {
                    error(format!(
                        "step {i}: the client closed the connection; expected {prefix:?}"
                    ));
                    return;
                };
                let text = trim_eol(&line);
                lock(shared).commands.push(text.clone());
                if !starts_with_ci(&text, prefix) {
                    error(format!("step {i}: expected {prefix:?}, got {text:?}"));
                    return;
                }
            }
            Step::ReadLine => {
                let Some(line) = c.line() else {
                    error(format!(
                        "step {i}: the client closed the connection; expected a line"
                    ));
                    return;
                };
                lock(shared).commands.push(trim_eol(&line));
            }
            Step::ReadData => {
                let mut data = Vec::new();
                loop {
                    let Some(line) = c.line() else {
                        error(format!(
                            "step {i}: the client closed the connection inside the message \
                             ({} bytes read, no lone '.')",
                            data.len()
                        ));
                        lock(shared).data.push(data);
                        return;
                    };
                    data.extend_from_slice(&line);
                    if line == b".\r\n" {
                        break;
                    }
                }
                lock(shared).data.push(data);
            }
            Step::Sleep(d) => thread::sleep(*d),
            Step::Close => {
                let _ = c.stream.shutdown(Shutdown::Both);
                lock(shared).completed = true;
                return;
            }
            Step::Hold => while c.fill() {},
            Step::SendRepeat { chunk, total } => {
                let mut left = *total;
                while left > 0 && !chunk.is_empty() {
                    let n = left.min(chunk.len());
                    if c.stream.write_all(&chunk[..n]).is_err() {
                        lock(shared).client_gone = true;
                        return;
                    }
                    left -= n;
                }
            }
            Step::Trickle { bytes, interval } => {
                for b in bytes {
                    thread::sleep(*interval);
                    if c.stream.write_all(std::slice::from_ref(b)).is_err() {
                        lock(shared).client_gone = true;
                        return;
                    }
                }
            }
            Step::Wait(gate) => gate.wait(),
            Step::Call(hook) => (hook.0)(),
        }
    }
    lock(shared).completed = true;
    // Dropping the stream closes the connection.
}
