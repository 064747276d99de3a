//! The message itself: DATA (dot-stuffed lines up to `<CRLF>.<CRLF>`) and
//! BDAT chunks (RFC 3030), written to the store as they arrive — memory
//! stays flat at any size — and committed only when whole and valid.
//!
//! Strict where it matters: only `<CRLF>.<CRLF>` ends DATA. A bare CR or
//! LF anywhere, and every other end-of-data form (`<LF>.<LF>`,
//! `<CR>.<CR>`, `<LF>.<CRLF>`, `<CRLF>.<CR>`...: "SMTP smuggling"), is
//! read as content and the message is refused with a reply that says
//! which. Lines over 1000 octets and messages over the size limit are
//! refused too; what was written is discarded.

use super::lines::{Chunk, Conn, Line, Wait};
use super::maildir::Delivery;
use super::parse;
use super::scan::Scan;
use super::server::{Event, Stored};
use super::session::{MAX_TEXT_LINE, Next, Recipient, Reply, Session, Transaction, reply};
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// Why a message is refused (the first problem found wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    Smuggling,
    Bare,
    TooLong,
    TooBig,
    Store,
}

/// A message being received: where it goes and what was seen so far.
pub struct Intake {
    delivery: Option<Box<dyn Delivery>>,
    store_error: Option<String>,
    problem: Option<Problem>,
    size: u64,
    max: u64,
    scan: Scan,
    queue_id: String,
    /// BDAT only: the line being assembled across chunks (bounded).
    pending: Vec<u8>,
    deadline: Instant,
}

impl Intake {
    fn note(&mut self, p: Problem) {
        if self.problem.is_none() {
            self.problem = Some(p);
        }
        // Nothing more is worth writing.
        self.delivery = None;
    }

    /// One content line (dot-unstuffed, with its CRLF).
    fn content(&mut self, line: &[u8]) {
        self.size += line.len() as u64;
        if self.size > self.max {
            self.note(Problem::TooBig);
        }
        self.scan.line(line.strip_suffix(b"\r\n").unwrap_or(line));
        if let Some(Err(e)) = self.delivery.as_mut().map(|d| d.write_all(line)) {
            self.store_error = Some(e.to_string());
            self.note(Problem::Store);
        }
    }

    /// BDAT octets: split into lines to check them (bare CR/LF, length).
    fn binary(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.pending.push(b);
            if b == b'\n' {
                let line = std::mem::take(&mut self.pending);
                self.binary_line(&line);
            } else if self.pending.len() > MAX_TEXT_LINE {
                self.note(Problem::TooLong);
                self.pending.clear();
            }
        }
    }

    fn binary_line(&mut self, line: &[u8]) {
        if line.len() > MAX_TEXT_LINE {
            self.note(Problem::TooLong);
            return;
        }
        let body = &line[..line.len().saturating_sub(1)];
        match body.strip_suffix(b"\r") {
            Some(inner) if !inner.contains(&b'\r') => self.content(line),
            _ => self.note(Problem::Bare),
        }
    }

    /// The verdict once the end of the message was read.
    fn finish(mut self, s: &mut Session<'_>, txn: &Transaction) -> Reply {
        if !self.pending.is_empty() {
            // BDAT LAST whose last line lacks CRLF.
            self.note(Problem::Bare);
        }
        let max = self.max;
        match self.problem {
            Some(Problem::Smuggling) => reply(
                550,
                "5.5.2",
                "Message refused: it holds an end-of-data sequence other than <CRLF>.<CRLF> \
                 (<LF>.<LF>, <CR>.<CR>, <LF>.<CRLF>...: SMTP smuggling); only CRLF may end a line",
            ),
            Some(Problem::Bare) => reply(
                550,
                "5.5.2",
                "Bare CR or LF in the message (only CRLF may end a line, RFC 5321 section 2.3.8); \
                 message refused",
            ),
            Some(Problem::TooLong) => reply(
                554,
                "5.6.0",
                format!(
                    "A message line is longer than {MAX_TEXT_LINE} octets (RFC 5321 section 4.5.3.1.6); \
                     message refused"
                ),
            ),
            Some(Problem::TooBig) => reply(
                552,
                "5.3.4",
                format!("Message size exceeds the fixed maximum of {max} octets"),
            ),
            Some(Problem::Store) => {
                let why = self.store_error.take().unwrap_or_default();
                reply(451, "4.3.0", format!("Cannot store the message: {why}"))
            }
            None => self.commit(s, txn),
        }
    }

    fn commit(mut self, s: &mut Session<'_>, txn: &Transaction) -> Reply {
        let path: io::Result<Option<PathBuf>> = match self.delivery.take() {
            Some(d) => d.commit(),
            None => Err(io::Error::other(
                self.store_error.take().unwrap_or_default(),
            )),
        };
        let path = match path {
            Ok(p) => p,
            Err(e) => return reply(451, "4.3.0", format!("Cannot store the message: {e}")),
        };
        s.shared.delivered.fetch_add(1, Ordering::Relaxed);
        let (subject, parts) = self.scan.finish();
        s.shared.emit(&Event::Stored(Stored {
            queue_id: self.queue_id.clone(),
            peer: s.peer,
            helo: s.helo.clone().unwrap_or_default(),
            from: txn.from.clone(),
            recipients: txn.recipients.clone(),
            ret: txn.ret.clone(),
            envid: txn.envid.clone(),
            subject,
            size: self.size,
            parts,
            path,
            tls: s.tls,
            auth: s.auth.clone(),
        }));
        reply(250, "2.0.0", format!("OK: stored as {}", self.queue_id))
    }
}

impl<'a> Session<'a> {
    /// Starts receiving a message for `txn`: the trace headers first.
    fn intake(&self, txn: &Transaction) -> Intake {
        let queue_id = format!("{:016X}", crate::local::random_u64());
        let trace = self.trace_headers(txn, &queue_id);
        let mut store_error = None;
        let delivery = match self.shared.store.begin() {
            Ok(mut d) => match d.write_all(&trace) {
                Ok(()) => Some(d),
                Err(e) => {
                    store_error = Some(e.to_string());
                    None
                }
            },
            Err(e) => {
                store_error = Some(e.to_string());
                None
            }
        };
        Intake {
            problem: store_error.as_ref().map(|_| Problem::Store),
            delivery,
            store_error,
            size: 0,
            max: self.limits().max_size,
            scan: Scan::default(),
            queue_id,
            pending: Vec::new(),
            deadline: Instant::now() + self.limits().data_timeout,
        }
    }

    /// The wait for the next piece of a message: the idle timeout, and at
    /// most until the message's own deadline.
    fn data_wait(&self, deadline: Instant) -> Wait<'a> {
        Wait {
            deadline: deadline.min(Instant::now() + self.limits().idle_timeout),
            stop: None,
        }
    }

    fn data_timeout<S: Read + Write>(&mut self, conn: &mut Conn<S>) -> Option<Next> {
        self.txn = None;
        let secs = self.limits().data_timeout.as_secs();
        let r = reply(
            421,
            "4.4.2",
            format!(
                "Timeout: the message did not arrive in time (at most {secs} s, and a line at \
                 least every {} s); discarded, closing the connection",
                self.limits().idle_timeout.as_secs()
            ),
        );
        Some(self.close_with(conn, r))
    }

    /// DATA: the 354, the lines up to `<CRLF>.<CRLF>`, the verdict.
    pub(super) fn data<S: Read + Write>(
        &mut self,
        conn: &mut Conn<S>,
        arg: &[u8],
    ) -> io::Result<Option<Next>> {
        let refuse = match &self.txn {
            _ if !arg.is_empty() => Some(reply(501, "5.5.4", "DATA takes no arguments")),
            None => Some(reply(503, "5.5.1", "Need MAIL and RCPT before DATA")),
            Some(t) if t.chunking => Some(reply(
                503,
                "5.5.1",
                "DATA cannot follow BDAT in one transaction (RFC 3030)",
            )),
            Some(t) if !t.rcpt_attempted => Some(reply(503, "5.5.1", "Need RCPT before DATA")),
            Some(t) if t.recipients.is_empty() => Some(reply(554, "5.5.1", "No valid recipients")),
            Some(_) => None,
        };
        if let Some(r) = refuse {
            self.send(conn, r);
            return Ok(None);
        }
        let txn = self.txn.take().unwrap_or_default();
        let mut intake = self.intake(&txn);
        conn.send("354 End data with <CR><LF>.<CR><LF>\r\n");
        // Whether the previous line ended in CRLF: only `<CRLF>.<CRLF>`
        // ends the data.
        let mut after_crlf = true;
        loop {
            let line = match conn.read_line(MAX_TEXT_LINE + 1, self.data_wait(intake.deadline))? {
                Line::Eof => return Ok(Some(Next::Closed)),
                Line::TimedOut | Line::Stopping => return Ok(self.data_timeout(conn)),
                Line::TooLong { crlf } => {
                    intake.note(Problem::TooLong);
                    if !crlf {
                        intake.note(Problem::Bare);
                    }
                    after_crlf = crlf;
                    continue;
                }
                Line::Text(l) => l,
            };
            if line == b".\r\n" {
                if after_crlf {
                    break;
                }
                // `<LF>.<CRLF>`: content, and a line that did end in CRLF.
                intake.note(Problem::Smuggling);
                after_crlf = true;
                continue;
            }
            if is_smuggling(&line) {
                intake.note(Problem::Smuggling);
            }
            let body = &line[..line.len() - 1];
            let crlf = body.last() == Some(&b'\r');
            let inner = if crlf { &body[..body.len() - 1] } else { body };
            after_crlf = crlf;
            if !crlf || inner.contains(&b'\r') {
                intake.note(Problem::Bare);
                continue;
            }
            let unstuffed = line.strip_prefix(b".").unwrap_or(&line);
            if unstuffed.len() > MAX_TEXT_LINE {
                intake.note(Problem::TooLong);
                continue;
            }
            intake.content(unstuffed);
        }
        let r = intake.finish(self, &txn);
        self.send(conn, r);
        Ok(None)
    }

    /// `BDAT SIZE [LAST]`: exactly SIZE octets follow the command.
    pub(super) fn bdat<S: Read + Write>(
        &mut self,
        conn: &mut Conn<S>,
        arg: &[u8],
    ) -> io::Result<Option<Next>> {
        let Some((size, last)) = parse::bdat(arg) else {
            // The chunk's length is unknown: there is no way to skip it.
            self.txn = None;
            self.chunks = None;
            let r = reply(
                501,
                "5.5.4",
                "Syntax: BDAT SIZE [LAST]; closing, as the chunk cannot be skipped",
            );
            return Ok(Some(self.close_with(conn, r)));
        };
        let refuse = match &self.txn {
            None => Some(reply(503, "5.5.1", "Need MAIL and RCPT before BDAT")),
            Some(t) if !t.rcpt_attempted => Some(reply(503, "5.5.1", "Need RCPT before BDAT")),
            Some(t) if t.recipients.is_empty() => Some(reply(554, "5.5.1", "No valid recipients")),
            Some(_) => None,
        };
        if let Some(r) = refuse {
            // The chunk's octets follow anyway: read them to stay in step.
            let deadline = Instant::now() + self.limits().data_timeout;
            match conn.read_exact_into(size, self.data_wait(deadline), &mut |_| Ok(()))? {
                Chunk::Whole => {}
                Chunk::Closed => return Ok(Some(Next::Closed)),
                Chunk::TimedOut => return Ok(self.data_timeout(conn)),
            }
            self.send(conn, r);
            return Ok(None);
        }
        // The message under way, or a new one for the transaction (there
        // is one: `refuse` said so).
        let started = self.chunks.take();
        let Some(mut intake) = started.or_else(|| self.txn.as_ref().map(|t| self.intake(t))) else {
            return Ok(None);
        };
        if let Some(t) = self.txn.as_mut() {
            t.chunking = true;
        }
        let wait = self.data_wait(intake.deadline);
        let chunk = conn.read_exact_into(size, wait, &mut |bytes| {
            intake.binary(bytes);
            Ok(())
        })?;
        match chunk {
            Chunk::Whole => {}
            // A client that left gets no reply; its message is dropped.
            Chunk::Closed => return Ok(Some(Next::Closed)),
            Chunk::TimedOut => return Ok(self.data_timeout(conn)),
        }
        if intake.problem.is_some() && !last {
            // Refuse now: the rest of the transaction is void.
            let txn = self.txn.take().unwrap_or_default();
            let r = intake.finish(self, &txn);
            self.send(conn, r);
            return Ok(None);
        }
        if !last {
            self.chunks = Some(intake);
            self.send(conn, reply(250, "2.0.0", format!("{size} octets received")));
            return Ok(None);
        }
        let txn = self.txn.take().unwrap_or_default();
        let r = intake.finish(self, &txn);
        self.send(conn, r);
        Ok(None)
    }

    /// `Return-Path:`, `Received:`, `X-Envelope-To:` (and, with DSN
    /// parameters, `X-Envelope-DSN:`) for a stored message.
    fn trace_headers(&self, txn: &Transaction, id: &str) -> Vec<u8> {
        let helo = self.helo.as_deref().unwrap_or("unknown");
        let mut with = String::from(if txn.smtputf8 {
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
        let for_clause = match txn.recipients.as_slice() {
            [one] => format!("\r\n\tfor <{}>", one.address),
            _ => String::new(),
        };
        let mut h = format!(
            "Return-Path: <{}>\r\nReceived: from {helo} ({} [{}])\r\n\tby {} (smtpsh sandbox) with {with} id {id}{for_clause};\r\n\t{}\r\n",
            txn.from,
            if self.peer.ip().is_loopback() {
                "localhost"
            } else {
                "unknown"
            },
            self.peer.ip(),
            self.shared.config.hostname,
            crate::clock::rfc5322(std::time::SystemTime::now()),
        );
        h.push_str(&envelope_headers(
            &txn.recipients,
            txn.ret.as_deref(),
            txn.envid.as_deref(),
        ));
        h.into_bytes()
    }
}

/// The envelope as the stored message's last trace headers:
/// `X-Envelope-To:` (each recipient with its DSN parameters) and, when
/// `RET=` or `ENVID=` was given, `X-Envelope-DSN:`.
pub fn envelope_headers(
    recipients: &[Recipient],
    ret: Option<&str>,
    envid: Option<&str>,
) -> String {
    let list: Vec<String> = recipients.iter().map(envelope_recipient).collect();
    let mut h = format!("X-Envelope-To: {}\r\n", list.join(",\r\n "));
    let dsn: Vec<String> = [("RET", ret), ("ENVID", envid)]
        .into_iter()
        .filter_map(|(k, v)| Some(format!("{k}={}", v?)))
        .collect();
    if !dsn.is_empty() {
        h.push_str(&format!("X-Envelope-DSN: {}\r\n", dsn.join(" ")));
    }
    h
}

/// `<user@example.org>`, followed by its DSN parameters when it has any.
fn envelope_recipient(r: &Recipient) -> String {
    let mut s = format!("<{}>", r.address);
    if let Some(n) = &r.notify {
        s.push_str(&format!(" NOTIFY={n}"));
    }
    if let Some(o) = &r.orcpt {
        s.push_str(&format!(" ORCPT={o}"));
    }
    s
}

/// Whether a DATA line (with its `\n`) holds an end-of-data form other
/// than `<CRLF>.<CRLF>`: `.<LF>`, `.<CR>x`, `<CR>.<CR>`, `<CR>.<LF>`.
fn is_smuggling(line: &[u8]) -> bool {
    line == b".\n"
        || (line.starts_with(b".\r") && line != b".\r\n")
        || line.windows(3).any(|w| w == b"\r.\r" || w == b"\r.\n")
}
