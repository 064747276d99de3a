//! An OAuth 2.0 token introspection endpoint (RFC 7662) on loopback, for
//! the Postfix instance's Dovecot (`passdb { driver = oauth2 }` with
//! `introspection_mode = post`): the one token [`OAUTH_TOKEN`] is active
//! for [`super::postfix::SASL_USER`]; every other token is inactive.
//!
//! It plays the OAuth provider only (Dovecot validates the token through
//! it, as it would through Google's or Keycloak's); the SMTP and SASL side
//! is the real Postfix and Dovecot. A thread in the test process, stopped
//! when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The one valid access token.
pub const OAUTH_TOKEN: &str = "smtpsh-test-token.R4nd0m-but-fixed";

/// The running endpoint.
pub struct Introspection {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Introspection {
    /// Listens on a free loopback port.
    pub fn start(user: &str) -> Introspection {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind introspection endpoint");
        let addr = listener.local_addr().expect("local addr");
        let stop = Arc::new(AtomicBool::new(false));
        let asked = Arc::new(AtomicUsize::new(0));
        let user = user.to_string();
        let thread = {
            let stop = stop.clone();
            let asked = asked.clone();
            thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(conn) = conn {
                        asked.fetch_add(1, Ordering::SeqCst);
                        let _ = answer(conn, &user);
                    }
                }
            })
        };
        Introspection {
            addr,
            stop,
            asked,
            thread: Some(thread),
        }
    }

    /// The URL Dovecot posts tokens to.
    pub fn url(&self) -> String {
        format!("http://{}/introspect", self.addr)
    }

    /// How many requests it answered.
    pub fn requests(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

/// Reads one HTTP request (headers, then Content-Length bytes of
/// `token=...` form body) and answers with the token's introspection.
fn answer(conn: TcpStream, user: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length.min(65536)];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body);
    let token = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(percent_decode)
        .unwrap_or_default();
    let json = if token == OAUTH_TOKEN {
        format!(r#"{{"active":true,"username":"{user}","scope":"mail"}}"#)
    } else {
        r#"{"active":false}"#.to_string()
    };
    let mut conn = conn;
    write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{json}",
        json.len()
    )?;
    conn.flush()
}

/// `application/x-www-form-urlencoded` value decoding (`+`, `%XX`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Drop for Introspection {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
