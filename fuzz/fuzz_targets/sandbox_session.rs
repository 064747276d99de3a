//! Fuzz target: the sandbox server's whole session, from the client's bytes
//! to the stored messages (`smtpsh::sandbox::server::converse`: the real
//! session code over an in-memory connection; the client sends everything,
//! pipelined, then closes).
//!
//! The input (format in fuzz/README.md): byte 0 chooses the configuration
//! (STARTTLS offered, no AUTH account, a small SIZE limit, few recipients,
//! few errors); the rest is cut at 0xFF into pieces. A piece starting with a
//! byte 0x01-0x1F (not TAB, LF, CR) is an operation that writes realistic
//! client bytes: EHLO/HELO, MAIL with SIZE/BODY/SMTPUTF8/RET/ENVID/AUTH
//! parameters, RCPT with NOTIFY/ORCPT (repeated, to pass the recipient
//! limit), DATA with its content (line ends normalised or not, dot-stuffed
//! or not, long lines), BDAT chunks with or without LAST (a wrong size
//! sometimes), AUTH PLAIN/LOGIN with base64 answers and `*`, STARTTLS, RSET,
//! NOOP, VRFY, HELP, QUIT, whole transactions, over-long lines, bytes with
//! their top bit set, end-of-data smuggling forms, bare CR/LF. Any other
//! piece is sent as it is, so a plain SMTP transcript is a valid input.
//!
//! Checked, besides "never panics":
//! - the output is SMTP replies only: CRLF-terminated lines of printable
//!   ASCII, each `NNN-` or `NNN ` with a code 200-559, continuation lines
//!   with their reply's code, the 220 greeting first; nothing after a 221
//!   or a 421; the session ends `Quit` after 221, `StartTls` after the 220
//!   to STARTTLS (only with TLS configured), `Closed` otherwise; no more
//!   5xx replies than `max_errors`; STARTTLS and AUTH announced, 334 and 235
//!   sent only when configured; the output stays proportionate to the input;
//! - one `Refused` event per 4xx/5xx reply; one `Stored` event, one stored
//!   message and one `250 ... stored as ID` per message, with the same ids;
//! - every stored message ends in CRLF, has no bare CR or LF and no line
//!   over 1000 octets, starts with the trace headers of its event's envelope
//!   (`Return-Path`, `Received ... id ID`, `X-Envelope-To` with NOTIFY and
//!   ORCPT, `X-Envelope-DSN`), then exactly `size` octets of content, at
//!   most `max_size`; at most `max_recipients` recipients;
//! - the replies follow the input in lockstep, read the way SMTP is read:
//!   a reply per line, the message after `354` up to the first `.<CRLF>`
//!   following a CRLF (the only end of data: a server ending it at
//!   `<LF>.<LF>` or any other smuggling form answers message text), the
//!   BDAT chunk after its line, the AUTH answer after `334`; each reply
//!   answers a line that can take it (`354` DATA, `334` AUTH, `221` QUIT,
//!   `220` STARTTLS, `stored as` a message's end), and every command line
//!   that arrived whole is answered;
//! - when every line that could start a message is a DATA or BDAT line of
//!   an operation (and every BDAT line surely runs, with the size of its
//!   chunk), every stored message's
//!   content is one a correct server may store: the unstuffed content of
//!   one DATA, or the BDAT chunks since the last reset (RSET, EHLO, HELO,
//!   LAST) that surely ran.

#![no_main]

mod common;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use smtpsh::sandbox::cert::Authority;
use smtpsh::sandbox::maildir::MemoryStore;
use smtpsh::sandbox::server::{Config, Event, Events, Next, Stored, converse, envelope_headers};
use std::sync::{Arc, Mutex, OnceLock};

/// Most pieces used from one input.
const MAX_PIECES: usize = 64;
/// Longest text line a stored message may have, CRLF included.
const MAX_TEXT_LINE: usize = 1000;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A configuration with STARTTLS (the certificate is made once).
fn tls_config() -> Config {
    static TLS: OnceLock<Config> = OnceLock::new();
    TLS.get_or_init(|| {
        let ca = Authority::generate().expect("a CA");
        let tls = ca.server_config().expect("a TLS configuration");
        Config {
            tls: Some(Arc::new(tls)),
            ..Config::default()
        }
    })
    .clone()
}

fn config(flags: u8) -> Config {
    let mut c = if flags & 1 != 0 {
        tls_config()
    } else {
        Config::default()
    };
    if flags & 2 != 0 {
        c.auth = None;
    }
    if flags & 4 != 0 {
        c.limits.max_size = 200;
    }
    if flags & 8 != 0 {
        c.limits.max_recipients = 3;
    }
    if flags & 16 != 0 {
        c.limits.max_errors = 4;
    }
    c
}

/// Builds the client's bytes and what a correct server may store.
///
/// The model: a message can only start at a DATA or BDAT command line. If
/// every line that could be one (any line starting with those four letters,
/// wherever a line may start) is a DATA or BDAT line written by an
/// operation, the server stores only what those operations sent: the
/// unstuffed content of a DATA, or BDAT chunks since the last reset. A
/// reset (RSET, EHLO) counts only where it surely runs: at the start of a
/// line, with no AUTH line before it that this model did not write (an
/// AUTH challenge would take it as its answer).
#[derive(Default)]
struct Client {
    wire: Vec<u8>,
    /// Where the operations' DATA and BDAT command lines start.
    message_lines: Vec<usize>,
    /// Where the operations' AUTH command lines start.
    auth_lines: Vec<usize>,
    /// Where each BDAT chunk ends: the server reads the next line from
    /// there (if it read the chunk).
    chunk_ends: Vec<usize>,
    /// The end of the last chunk of a BDAT that surely ran.
    sure_chunk_end: Option<usize>,
    /// A BDAT size that is not its chunk's, or a BDAT line that may not run
    /// (glued to an unfinished line, or taken as an AUTH answer): the model
    /// no longer knows which chunks make a message.
    chunks_unknown: bool,
    /// A DATA whose end is not its own `.<CRLF>`.
    unframed: bool,
    candidates: Vec<Vec<u8>>,
    /// The BDAT chunks sent since the last reset.
    run: Vec<Vec<u8>>,
}

/// Whether `line` starts (case aside, after blanks) with `verb`.
fn starts_with_verb(line: &[u8], verb: &[u8]) -> bool {
    let l = line.trim_ascii_start();
    l.len() >= verb.len() && l[..verb.len()].eq_ignore_ascii_case(verb)
}

/// Every bare CR, bare LF or CRLF becomes CRLF; a last line gets one.
fn normalize(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
        i += 1;
    }
    if !out.is_empty() && !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A `.` starting a line doubled (lines end at LF).
fn stuff(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    out
}

/// What a server makes of DATA lines: one leading `.` dropped per line.
fn unstuff(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    out
}

/// Content a correct server may store: CRLF line ends only, lines of at
/// most 1000 octets, ending in CRLF (or empty).
fn storable(content: &[u8]) -> bool {
    common::bare_cr_or_lf(content).is_none()
        && (content.is_empty() || content.ends_with(b"\r\n"))
        && content
            .split_inclusive(|&b| b == b'\n')
            .all(|l| l.len() <= MAX_TEXT_LINE)
}

/// `arg`, or `default` when empty.
fn word<'a>(arg: &'a [u8], default: &'a [u8]) -> &'a [u8] {
    if arg.is_empty() { default } else { arg }
}

/// xtext of `bytes` (RFC 3461): `+XX` for `+`, `=`, and octets outside 33-126.
fn xtext(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        if (33..127).contains(&b) && b != b'+' && b != b'=' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("+{b:02X}"));
        }
    }
    s
}

impl Client {
    /// Every place the server may start reading a line, in `wire` so far.
    fn line_starts(&self) -> Vec<usize> {
        let mut starts: Vec<usize> = std::iter::once(0)
            .chain(
                self.wire
                    .iter()
                    .enumerate()
                    .filter(|&(_, &b)| b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .chain(self.chunk_ends.iter().copied())
            .filter(|&s| s < self.wire.len())
            .collect();
        starts.sort_unstable();
        starts.dedup();
        starts
    }

    fn line_at(&self, start: usize) -> &[u8] {
        let rest = &self.wire[start..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |i| i + 1);
        &rest[..end]
    }

    /// Whether the next byte written starts a line for sure (not glued to
    /// an unfinished one).
    fn at_line_start(&self) -> bool {
        self.wire.is_empty()
            || self.wire.ends_with(b"\n")
            || self.sure_chunk_end == Some(self.wire.len())
    }

    /// Whether a command written now surely runs as one: at a line start,
    /// with no AUTH line the model did not write before it.
    fn surely_runs(&self) -> bool {
        self.at_line_start()
            && !self.line_starts().into_iter().any(|s| {
                starts_with_verb(self.line_at(s), b"AUTH") && !self.auth_lines.contains(&s)
            })
    }

    /// Whether the stored contents must be among `candidates`.
    fn clean(&self) -> bool {
        !self.chunks_unknown
            && !self.unframed
            && self.line_starts().into_iter().all(|s| {
                let l = self.line_at(s);
                !(starts_with_verb(l, b"DATA") || starts_with_verb(l, b"BDAT"))
                    || self.message_lines.contains(&s)
            })
    }

    fn line(&mut self, parts: &[&[u8]]) {
        for p in parts {
            self.wire.extend_from_slice(p);
        }
        self.wire.extend_from_slice(b"\r\n");
    }

    /// A line sent where a command or an AUTH answer may be read.
    fn answer(&mut self, line: &[u8]) {
        self.line(&[line]);
    }

    /// An AUTH command line.
    fn auth_line(&mut self, parts: &[&[u8]]) {
        self.auth_lines.push(self.wire.len());
        self.line(parts);
    }

    /// RSET or EHLO/HELO with a name the server takes: the BDAT chunks so
    /// far no longer count, if the command surely runs.
    fn reset(&mut self, parts: &[&[u8]], takes: bool) {
        let runs = takes && self.surely_runs();
        self.line(parts);
        if runs {
            self.run.clear();
        }
    }

    fn candidate(&mut self, content: Vec<u8>) {
        if storable(&content) && !self.candidates.contains(&content) {
            self.candidates.push(content);
        }
    }

    /// DATA, the content, and (unless told not to) `.<CRLF>`.
    fn data(&mut self, sel: u8, arg: &[u8]) {
        let mut content = Vec::new();
        if sel & 4 != 0 {
            content.extend_from_slice(b"Subject: fuzz\r\n\r\n");
        }
        content.extend_from_slice(arg);
        let mut content = if sel & 1 != 0 {
            normalize(&content)
        } else {
            content
        };
        if sel & 16 != 0 {
            // A line of 998 to 1005 octets with its CRLF.
            let len = 998 + usize::from(sel >> 5);
            content.extend(std::iter::repeat_n(b'L', len - 2));
            content.extend_from_slice(b"\r\n");
        }
        let wire = if sel & 2 != 0 {
            stuff(&content)
        } else {
            content
        };
        self.message_lines.push(self.wire.len());
        self.line(&[b"DATA"]);
        let start = self.wire.len();
        self.wire.extend_from_slice(&wire);
        let terminated = sel & 8 == 0;
        if terminated {
            self.wire.extend_from_slice(b".\r\n");
        }
        // The real end of data is the first `.<CRLF>` at the start of a
        // line that follows a CRLF. If it is inside the content, what
        // follows is read as commands; if there is none here, the
        // operations after this one become content.
        let mut framed = b"\r\n".to_vec();
        framed.extend_from_slice(&self.wire[start..]);
        match common::find(&framed, b"\r\n.\r\n") {
            Some(end) => self.candidate(unstuff(&framed[2..end + 2])),
            None => self.unframed = true,
        }
    }

    fn bdat(&mut self, sel: u8, arg: &[u8]) {
        let last = sel & 1 != 0;
        let size = match sel & 6 {
            2 => arg.len() + 1,
            4 => arg.len().saturating_sub(1),
            _ => arg.len(),
        };
        let runs = self.surely_runs();
        if size != arg.len() || !runs {
            self.chunks_unknown = true;
        }
        let size = size.to_string();
        self.message_lines.push(self.wire.len());
        self.line(&[b"BDAT ", size.as_bytes(), if last { b" LAST" } else { b"" }]);
        self.wire.extend_from_slice(arg);
        self.chunk_ends.push(self.wire.len());
        if runs {
            self.sure_chunk_end = Some(self.wire.len());
        }
        self.run.push(arg.to_vec());
        if last {
            for i in 0..self.run.len() {
                let content = self.run[i..].concat();
                self.candidate(content);
            }
            if runs {
                self.run.clear();
            }
        }
    }

    fn auth_plain(&mut self, sel: u8, arg: &[u8]) {
        let right = B64.encode(b"\0demo\0sandbox-password");
        let wrong = B64.encode(b"demo\0demo\0nope");
        match sel % 6 {
            0 => self.auth_line(&[b"AUTH PLAIN ", right.as_bytes()]),
            1 => self.auth_line(&[b"AUTH PLAIN ", wrong.as_bytes()]),
            2 => {
                self.auth_line(&[b"AUTH PLAIN"]);
                self.answer(B64.encode(arg).as_bytes());
            }
            3 => {
                self.auth_line(&[b"AUTH PLAIN"]);
                self.answer(b"*");
            }
            4 => self.auth_line(&[b"auth plain ="]),
            _ => {
                // Whatever the argument is, as the initial response.
                let a = word(arg, b"AGRlbW8A");
                let a = a.to_vec();
                self.auth_line(&[b"AUTH PLAIN ", &a]);
            }
        }
    }

    fn auth_login(&mut self, sel: u8, arg: &[u8]) {
        let user = B64.encode(b"demo");
        let password = B64.encode(b"sandbox-password");
        match sel % 5 {
            0 => {
                self.auth_line(&[b"AUTH LOGIN"]);
                self.answer(user.as_bytes());
                self.answer(password.as_bytes());
            }
            1 => {
                self.auth_line(&[b"AUTH LOGIN ", user.as_bytes()]);
                self.answer(password.as_bytes());
            }
            2 => {
                self.auth_line(&[b"AUTH LOGIN"]);
                self.answer(b"*");
                self.answer(b"NOOP");
            }
            3 => {
                self.auth_line(&[b"AUTH LOGIN"]);
                self.answer(user.as_bytes());
                self.answer(b"*");
            }
            _ => {
                self.auth_line(&[b"AUTH LOGIN"]);
                self.answer(B64.encode(arg).as_bytes());
                self.answer(arg);
            }
        }
    }

    fn mail(&mut self, sel: u8, arg: &[u8]) {
        let path = if sel & 128 != 0 {
            &b""[..]
        } else {
            word(arg, b"a@example.org")
        };
        let mut line = b"MAIL FROM:<".to_vec();
        line.extend_from_slice(path);
        line.push(b'>');
        let params: [(u8, &[u8]); 7] = [
            (1, b" SIZE=150"),
            (2, b" BODY=8BITMIME"),
            (4, b" SMTPUTF8"),
            (8, b" RET=HDRS"),
            (16, b" ENVID=QQ+2Bx"),
            (32, b" AUTH=<>"),
            (64, b" BODY=BINARYMIME X-UNKNOWN=1"),
        ];
        for (bit, p) in params {
            if sel & bit != 0 {
                line.extend_from_slice(p);
            }
        }
        self.line(&[&line]);
    }

    fn rcpt(&mut self, sel: u8, arg: &[u8]) {
        let path = word(arg, b"b@example.org").to_vec();
        let count = 1 + usize::from(sel >> 4) * 8;
        for i in 0..count {
            let mut line = b"RCPT TO:<".to_vec();
            if i > 0 {
                line.extend_from_slice(format!("r{i}.").as_bytes());
            }
            line.extend_from_slice(&path);
            line.push(b'>');
            if sel & 1 != 0 {
                line.extend_from_slice(b" NOTIFY=SUCCESS,FAILURE");
            }
            if sel & 2 != 0 {
                line.extend_from_slice(b" NOTIFY=NEVER");
            }
            if sel & 4 != 0 {
                line.extend_from_slice(b" ORCPT=rfc822;");
                line.extend_from_slice(xtext(&path).as_bytes());
            }
            if sel & 8 != 0 {
                line.extend_from_slice(b" NOTIFY=DELAY,DELAY ORCPT=x");
            }
            self.line(&[&line]);
        }
    }

    /// One piece of the input.
    fn piece(&mut self, p: &[u8]) {
        let (op, sel, arg) = match p {
            [op @ 0x01..=0x1f, rest @ ..] if !matches!(op, b'\t' | b'\n' | b'\r') => (
                *op,
                rest.first().copied().unwrap_or(0),
                rest.get(1..).unwrap_or_default(),
            ),
            _ => {
                self.wire.extend_from_slice(p);
                return;
            }
        };
        match op {
            0x01 | 0x02 => {
                let name = word(arg, b"client.example").to_vec();
                let verb: &[u8] = if op == 0x01 { b"EHLO " } else { b"HELO " };
                // A name the server must accept resets the transaction;
                // another may be refused (and reset nothing).
                let takes = name.iter().all(u8::is_ascii_graphic);
                self.reset(&[verb, &name], takes);
            }
            0x03 => self.mail(sel, arg),
            0x04 => self.rcpt(sel, arg),
            0x05 => self.data(sel, arg),
            0x06 => self.bdat(sel, arg),
            0x07 => self.auth_plain(sel, arg),
            0x08 => self.auth_login(sel, arg),
            0x0b => self.line(&[b"STARTTLS"]),
            0x0c => {
                self.reset(&[b"RSET"], true);
            }
            0x0e => self.line(&[b"NOOP"]),
            0x0f => {
                let a = word(arg, b"postmaster").to_vec();
                self.line(&[b"VRFY ", &a]);
            }
            0x10 => {
                let a = word(arg, b"").to_vec();
                self.line(&[if a.is_empty() { b"HELP" } else { b"HELP " }, &a]);
            }
            0x11 => self.line(&[b"QUIT"]),
            0x12 => {
                // An over-long line: around 512 or 1000 octets, or far more.
                const LENGTHS: [usize; 9] = [510, 511, 512, 513, 1000, 1001, 1002, 4096, 20_000];
                let len = LENGTHS[usize::from(sel) % LENGTHS.len()];
                let fill = if arg.is_empty() { &b"x"[..] } else { arg };
                let mut line = b"NOOP ".to_vec();
                while line.len() < len - 2 {
                    line.push(fill[line.len() % fill.len()]);
                }
                line.truncate(len - 2);
                self.line(&[&line]);
            }
            0x13 => {
                // Bytes with their top bit flipped (0x80-0xFF, 0xFF included).
                self.wire.extend(arg.iter().map(|b| b ^ 0x80));
            }
            0x14 => {
                const FORMS: [&[u8]; 10] = [
                    b"\n.\n",
                    b"\r.\r",
                    b"\n.\r\n",
                    b"\r\n.\n",
                    b"\r\n.\r",
                    b"\r.\r\n",
                    b"\n.\r",
                    b".\n",
                    b".\r",
                    b"\r\n.\r\n",
                ];
                self.wire
                    .extend_from_slice(FORMS[usize::from(sel) % FORMS.len()]);
                self.wire.extend_from_slice(arg);
            }
            0x15 => {
                // A whole transaction, pipelined.
                self.mail(sel & 0x7f, b"");
                self.rcpt(sel & 0x0f, b"");
                self.data(0x07, arg);
            }
            0x16 => {
                // A line with a bare LF or CR end.
                self.wire.extend_from_slice(arg);
                self.wire
                    .extend_from_slice(if sel & 1 == 0 { b"\n" } else { b"\r" });
            }
            _ => {
                self.wire.extend_from_slice(p);
            }
        }
    }
}

// ------------------------------------------------------------------ checks

struct Reply {
    code: u16,
    lines: Vec<String>,
}

/// The output as replies; panics unless it is exactly that.
fn replies(out: &[u8]) -> Vec<Reply> {
    let mut all: Vec<Reply> = Vec::new();
    let mut open: Option<Reply> = None;
    let mut rest = out;
    while !rest.is_empty() {
        let end = common::find(rest, b"\r\n")
            .unwrap_or_else(|| panic!("output not ending in CRLF: {}", common::show(rest)));
        let line = &rest[..end];
        rest = &rest[end + 2..];
        assert!(
            line.iter().all(|&b| (0x20..0x7f).contains(&b)),
            "a reply line that is not printable ASCII: {}",
            common::show(line)
        );
        let text = String::from_utf8_lossy(line).into_owned();
        let code = text
            .get(..3)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|c| c.parse::<u16>().ok())
            .filter(|c| (200..560).contains(c))
            .unwrap_or_else(|| panic!("a reply line without a code: {text:?}"));
        let sep = text.as_bytes().get(3).copied();
        assert!(
            matches!(sep, Some(b' ' | b'-')),
            "a reply line without ' ' or '-' after its code: {text:?}"
        );
        let r = open.get_or_insert_with(|| Reply {
            code,
            lines: Vec::new(),
        });
        assert_eq!(
            r.code, code,
            "a continuation line with another code: {text:?}"
        );
        r.lines.push(text[4..].to_string());
        if sep == Some(b' ') {
            all.extend(open.take());
        }
    }
    assert!(open.is_none(), "the output ends inside a multi-line reply");
    all
}

/// `<user@example.org>` and its DSN parameters, as the trace shows them.
/// Checks a stored message against its event; returns its content (after
/// the trace headers).
fn check_message<'m>(m: &'m [u8], st: &Stored, config: &Config) -> &'m [u8] {
    if let Some(i) = common::bare_cr_or_lf(m) {
        panic!(
            "bare CR or LF at {i} in a stored message: {}",
            common::show(m)
        );
    }
    assert!(m.ends_with(b"\r\n"), "a stored message not ending in CRLF");
    for line in m.split_inclusive(|&b| b == b'\n') {
        assert!(
            line.len() <= MAX_TEXT_LINE,
            "a stored line of {} octets (the limit is {MAX_TEXT_LINE} with CRLF): {}",
            line.len(),
            common::show(line)
        );
    }
    let return_path = format!("Return-Path: <{}>\r\nReceived: from ", st.from);
    assert!(
        m.starts_with(return_path.as_bytes()),
        "the trace does not start with the event's sender {:?}: {}",
        st.from,
        common::show(m)
    );
    let id = format!(" id {}", st.queue_id);
    assert!(
        common::find(m, id.as_bytes()).is_some(),
        "the Received header lacks the queue id {}",
        st.queue_id
    );
    assert!(
        !st.recipients.is_empty() && st.recipients.len() <= config.limits.max_recipients,
        "{} recipients (limit {})",
        st.recipients.len(),
        config.limits.max_recipients
    );
    // The server's own formatter: what is checked is that the stored trace
    // and the event agree, not how an envelope is spelled.
    let trace_end = format!(
        "\r\n{}",
        envelope_headers(&st.recipients, st.ret.as_deref(), st.envid.as_deref())
    );
    let at = common::find(m, trace_end.as_bytes()).unwrap_or_else(|| {
        panic!(
            "the trace headers do not show the event's envelope {}: {}",
            common::show(trace_end.as_bytes()),
            common::show(m)
        )
    });
    let content = &m[at + trace_end.len()..];
    assert_eq!(
        content.len() as u64,
        st.size,
        "the event's size is not the content's: {}",
        common::show(content)
    );
    assert!(
        st.size <= config.limits.max_size,
        "stored {} octets, over max_size {}",
        st.size,
        config.limits.max_size
    );
    assert!(!st.tls, "TLS in memory");
    assert!(
        st.auth.is_none() || config.auth.is_some(),
        "authenticated without an account"
    );
    content
}

/// The verb of a line the server can take as a command (CRLF-terminated,
/// at most 512 octets, no other CR, LF or NUL, a verb of 1-16 letters).
fn verb_of(line: &[u8]) -> Option<String> {
    let body = line.strip_suffix(b"\r\n")?;
    if line.len() > 512 || body.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
        return None;
    }
    let verb = body.split(|&b| b == b' ').next()?;
    (!verb.is_empty() && verb.len() <= 16 && verb.iter().all(u8::is_ascii_alphabetic))
        .then(|| String::from_utf8_lossy(verb).to_ascii_uppercase())
}

/// At most 200 octets of `wire` from `pos`, shown.
fn rest_of(wire: &[u8], pos: usize) -> String {
    let rest = wire.get(pos..).unwrap_or_default();
    common::show(&rest[..rest.len().min(200)])
}

/// The size of a `BDAT SIZE [LAST]` line.
fn bdat_size(line: &[u8]) -> Option<usize> {
    let body = line.strip_suffix(b"\r\n")?;
    let mut words = body.split(|&b| b == b' ').skip(1);
    let size = words.next()?;
    if size.is_empty() || !size.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(size).ok()?.parse().ok()
}

/// Walks the input along the replies, the way SMTP is read: a line (to
/// its LF) per reply; after `354`, message lines up to the first `.<CRLF>`
/// that follows a CRLF — the only end of data — and then the verdict; after
/// `334`, a line for the AUTH exchange; after a BDAT line, its chunk.
/// Checks that each reply answers a line that can take it (`354` DATA,
/// `334` AUTH, `221` QUIT, `220` STARTTLS, `stored as` the end of a
/// message), that no reply answers nothing, and that no command line that
/// arrived whole went unanswered. A server ending DATA at any other
/// sequence (SMTP smuggling) answers lines that are message text.
fn check_lockstep(wire: &[u8], rs: &[Reply], next: Next) {
    let line_at = |pos: usize| -> Option<&[u8]> {
        let rest = wire.get(pos..)?;
        let n = rest.iter().position(|&b| b == b'\n')?;
        Some(&rest[..=n])
    };
    let stored = |r: &Reply| r.code == 250 && r.lines[0].contains("stored as ");
    let mut pos = 0;
    let mut in_auth = false;
    let mut i = 1;
    while i < rs.len() {
        let r = &rs[i];
        let last = i + 1 == rs.len();
        if r.code == 421 {
            assert!(last, "a 421 that is not the last reply");
            return;
        }
        let Some(line) = line_at(pos) else {
            // Only an AUTH challenge left unanswered gets a reply at the end
            // (and a 421 if that was one error too many).
            let closing = last || (i + 2 == rs.len() && rs[i + 1].code == 421);
            assert!(
                in_auth && r.code == 501 && closing,
                "reply {i} ({} {}) answers no line: the input left is {}",
                r.code,
                r.lines[0],
                rest_of(wire, pos)
            );
            return;
        };
        pos += line.len();
        if in_auth {
            in_auth = r.code == 334;
            assert!(
                !matches!(r.code, 354 | 221 | 220) && !stored(r),
                "{} {} answers an AUTH response {}",
                r.code,
                r.lines[0],
                common::show(line)
            );
            i += 1;
            continue;
        }
        let verb = verb_of(line).unwrap_or_default();
        let want_verb = match r.code {
            334 | 235 => Some("AUTH"),
            221 => Some("QUIT"),
            220 => Some("STARTTLS"),
            354 => Some("DATA"),
            _ if stored(r) => Some("BDAT"),
            _ => None,
        };
        if let Some(v) = want_verb {
            assert_eq!(
                verb,
                v,
                "{} {} answers the line {}",
                r.code,
                r.lines[0],
                common::show(line)
            );
        }
        match r.code {
            334 => in_auth = true,
            221 => assert!(last && next == Next::Quit, "replies after 221"),
            220 => assert!(last && next == Next::StartTls, "replies after STARTTLS"),
            354 => {
                let mut after_crlf = true;
                loop {
                    let Some(l) = line_at(pos) else {
                        assert!(last, "replies while the message never ended");
                        return;
                    };
                    pos += l.len();
                    if after_crlf && l == b".\r\n" {
                        break;
                    }
                    after_crlf = l.ends_with(b"\r\n");
                }
                i += 1;
                let verdict = rs.get(i).unwrap_or_else(|| {
                    panic!("no reply to the end of a message at {}", rest_of(wire, pos))
                });
                assert!(
                    stored(verdict) || verdict.code >= 400,
                    "{} {} answers the end of a message",
                    verdict.code,
                    verdict.lines[0]
                );
                if verdict.code == 421 {
                    assert!(i + 1 == rs.len(), "replies after a 421");
                    return;
                }
            }
            501 if verb == "BDAT" => {
                // A chunk it cannot size: the server closes.
                assert!(last && next == Next::Closed, "replies after BDAT's 501");
                return;
            }
            _ if verb == "BDAT" && r.code != 500 => {
                let size = bdat_size(line)
                    .unwrap_or_else(|| panic!("{} to a BDAT without a size", r.code));
                assert!(
                    pos + size <= wire.len(),
                    "BDAT answered before its chunk arrived"
                );
                pos += size;
            }
            _ => {}
        }
        i += 1;
    }
    if next == Next::Closed
        && rs.last().is_some_and(|r| r.code != 421)
        && let Some(l) = line_at(pos)
    {
        // A BDAT whose chunk runs past the end of the input: the client
        // left inside it, and gets no reply.
        let cut_chunk = verb_of(l).is_some_and(|v| v == "BDAT")
            && bdat_size(l).is_some_and(|size| pos + l.len() + size > wire.len());
        if cut_chunk {
            return;
        }
        panic!(
            "a line got no reply: {} (input left: {})",
            common::show(l),
            rest_of(wire, pos)
        );
    }
}

fn check(flags: u8, client: &Client, config: &Config) {
    let store = Arc::new(MemoryStore::default());
    let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = seen.clone();
    let events: Events = Arc::new(move |e: &Event| {
        if let Ok(mut v) = sink.lock() {
            v.push(e.clone());
        }
    });
    let (out, next) = converse(config.clone(), store.clone(), Some(events), &client.wire);
    let events = seen.lock().map(|v| v.clone()).unwrap_or_default();
    let messages = store.messages();
    let clean = client.clean();
    if std::env::var_os("SMTPSH_FUZZ_DUMP").is_some() {
        eprintln!(
            "--- flags {flags:#04x}, clean {}, ended {next:?}\n--- client:\n{}\n--- server:\n{}",
            client.clean(),
            String::from_utf8_lossy(&client.wire),
            String::from_utf8_lossy(&out)
        );
    }

    let rs = replies(&out);
    assert!(rs.first().is_some_and(|r| r.code == 220), "no 220 greeting");
    assert!(
        out.len() <= 4096 + 64 * client.wire.len(),
        "{} octets of replies to {} octets",
        out.len(),
        client.wire.len()
    );
    for (i, r) in rs.iter().enumerate() {
        let last = i + 1 == rs.len();
        if r.code == 221 || r.code == 421 {
            assert!(last, "replies after a {}", r.code);
        }
        if r.code == 334 || r.code == 235 {
            assert!(config.auth.is_some(), "{} without an AUTH account", r.code);
        }
        if r.code == 250 && r.lines.len() > 1 {
            let tls = r.lines.iter().any(|l| l == "STARTTLS");
            let auth = r.lines.iter().any(|l| l.starts_with("AUTH "));
            assert!(!tls || config.tls.is_some(), "STARTTLS offered without TLS");
            assert_eq!(auth, config.auth.is_some(), "AUTH offered: {auth}");
        }
    }
    let Some(final_reply) = rs.last() else {
        unreachable!("the greeting was seen")
    };
    match next {
        Next::Quit => assert_eq!(final_reply.code, 221, "Quit without 221"),
        Next::StartTls => {
            assert!(
                config.tls.is_some(),
                "STARTTLS taken without TLS configured"
            );
            assert!(
                final_reply.code == 220 && rs.len() > 1,
                "StartTls without a 220 to STARTTLS"
            );
        }
        Next::Closed => assert_ne!(final_reply.code, 221, "221 but the session was not QUIT"),
    }
    check_lockstep(&client.wire, &rs, next);
    let errors = rs.iter().filter(|r| r.code >= 500).count();
    assert!(
        errors <= config.limits.max_errors,
        "{errors} 5xx replies, max_errors {}",
        config.limits.max_errors
    );

    // Events against replies.
    let refusals = rs.iter().filter(|r| r.code >= 400).count();
    let refused_events = events
        .iter()
        .filter(|e| matches!(e, Event::Refused { .. }))
        .count();
    assert_eq!(
        refusals, refused_events,
        "4xx/5xx replies versus Refused events"
    );
    for e in &events {
        match e {
            Event::Refused { reply, command, .. } => {
                assert!(
                    !reply.contains(['\r', '\n']) && !command.contains(['\r', '\n']),
                    "an event on more than one line: {e:?}"
                );
            }
            Event::Fault { what, .. } => panic!("a Fault event: {what}"),
            Event::Stored(_) => {}
        }
    }
    let stored: Vec<&Stored> = events
        .iter()
        .filter_map(|e| match e {
            Event::Stored(s) => Some(s),
            _ => None,
        })
        .collect();
    let stored_replies: Vec<&str> = rs
        .iter()
        .filter(|r| r.code == 250)
        .filter_map(|r| r.lines[0].split("stored as ").nth(1))
        .collect();
    assert_eq!(
        stored.len(),
        messages.len(),
        "Stored events versus messages"
    );
    assert_eq!(
        stored_replies.len(),
        messages.len(),
        "'stored as' replies versus messages"
    );
    for ((m, st), id) in messages.iter().zip(&stored).zip(&stored_replies) {
        assert_eq!(st.queue_id, *id, "the reply's queue id is not the event's");
        let content = check_message(m, st, config);
        if clean {
            assert!(
                client.candidates.iter().any(|c| c == content),
                "stored content the client never sent as one message: {}\ncandidates: {}",
                common::show(content),
                client
                    .candidates
                    .iter()
                    .map(|c| common::show(c))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let config = config(flags);
    let mut client = Client::default();
    for p in rest.split(|&b| b == 0xff).take(MAX_PIECES) {
        client.piece(p);
    }
    check(flags, &client, &config);
});
