//! Fuzz target: the incremental SMTP reply parser.
//!
//! The input is what a (hostile) server sends. It is fed to
//! `smtpsh::smtp::ReplyParser` whole, cut at pseudo-random places (derived
//! from the input, so a crash reproduces from the file alone) and one byte at
//! a time, with the default limits and with small limits derived from the
//! input. Checked:
//! - no panic;
//! - memory stays bounded: after taking the complete replies, what the
//!   parser holds never exceeds one line plus one reply's size, and nothing
//!   after an error;
//! - every reply has a code 200-559 (second digit 0-5), 1..=max_lines lines,
//!   line texts without CR, LF or other control characters (TAB aside), an
//!   enhanced code only of the reply's class, and `wire_lines()` parses back
//!   to the same reply;
//! - however the input is cut, the same replies and the same error come out;
//! - after an error every later push fails the same way; `clear()` makes the
//!   parser usable again.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use smtpsh::smtp::reply::{DEFAULT_MAX_LINE, DEFAULT_MAX_LINES, MAX_REPLY_BYTES};
use smtpsh::smtp::{Reply, ReplyError, ReplyParser};

/// The replies and the first error, for one way of feeding the input.
#[derive(Debug, PartialEq)]
struct Outcome {
    replies: Vec<Reply>,
    error: Option<ReplyError>,
    bare_lf: bool,
}

struct Limits {
    max_line: usize,
    max_lines: usize,
}

impl Limits {
    fn parser(&self) -> ReplyParser {
        ReplyParser::with_limits(self.max_line, self.max_lines)
    }
    /// Most bytes a parser may hold once its complete replies are taken:
    /// an unterminated line (plus a CR waiting for its LF) and the lines of
    /// the reply being assembled.
    fn held_bound(&self) -> usize {
        let reply = MAX_REPLY_BYTES
            .max(self.max_line + 2)
            .min(self.max_lines * (self.max_line + 2));
        self.max_line + 1 + reply
    }
}

fn feed(pieces: &[&[u8]], limits: &Limits) -> Outcome {
    let mut parser = limits.parser();
    let mut replies = Vec::new();
    let mut error = None;
    for piece in pieces {
        let result = parser.push(piece);
        while let Some(reply) = parser.next_reply() {
            check_reply(&reply, limits);
            replies.push(reply);
        }
        match (&error, result) {
            (None, Ok(())) => {}
            (None, Err(e)) => error = Some(e),
            (Some(first), result) => assert_eq!(
                result.as_ref(),
                Err(first),
                "a failed parser must keep failing the same way"
            ),
        }
        if error.is_some() {
            assert_eq!(
                parser.pending_bytes(),
                0,
                "the buffers are released after an error"
            );
        }
        assert!(
            parser.pending_bytes() <= limits.held_bound(),
            "parser holds {} bytes (bound {})",
            parser.pending_bytes(),
            limits.held_bound()
        );
    }
    let bare_lf = parser.saw_bare_lf();
    // Whatever happened, clear() gives a working parser.
    parser.clear();
    assert_eq!(parser.pending_bytes(), 0);
    if limits.max_line >= 6 {
        assert_eq!(parser.push(b"250 ok\r\n"), Ok(()));
        let again = parser.next_reply().expect("a reply after clear()");
        assert_eq!(
            (again.code, again.lines.as_slice()),
            (250, &["ok".to_string()][..])
        );
        assert_eq!(parser.next_reply(), None);
    }
    Outcome {
        replies,
        error,
        bare_lf,
    }
}

fn check_reply(r: &Reply, limits: &Limits) {
    assert!(
        (200..=559).contains(&r.code),
        "code {} out of range",
        r.code
    );
    assert!(r.code / 10 % 10 <= 5, "second digit of {} over 5", r.code);
    assert!(
        !r.lines.is_empty() && r.lines.len() <= limits.max_lines,
        "{} lines (limit {})",
        r.lines.len(),
        limits.max_lines
    );
    for line in &r.lines {
        assert!(
            !line.contains(['\r', '\n']),
            "raw CR/LF in a reply line: {line:?}"
        );
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "unescaped control character in a reply line: {line:?}"
        );
    }
    if let Some(e) = r.enhanced {
        assert_eq!(
            u16::from(e.class),
            r.code / 100,
            "enhanced {e} on {}",
            r.code
        );
        assert!(e.subject <= 999 && e.detail <= 999);
    }
    // What the transcript shows parses back to the same reply.
    let mut wire = Vec::new();
    for line in r.wire_lines() {
        wire.extend_from_slice(line.as_bytes());
        wire.extend_from_slice(b"\r\n");
    }
    // (Escaping may have made lines longer than the limits: none here.)
    let mut p = ReplyParser::with_limits(1 << 30, usize::MAX);
    assert_eq!(p.push(&wire), Ok(()), "wire_lines of {r:?} do not parse");
    assert_eq!(p.next_reply().as_ref(), Some(r), "wire_lines round trip");
    assert_eq!(p.next_reply(), None);
}

fn run(data: &[u8], limits: &Limits, salt: u64) {
    let whole = feed(&[data], limits);
    let cut = feed(&common::chunks(data, salt), limits);
    same(&whole, &cut, "cutting the input changed the outcome");
    if data.len() <= 4096 {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        let bytewise = feed(&bytes, limits);
        same(
            &whole,
            &bytewise,
            "feeding byte by byte changed the outcome",
        );
    }
}

/// The same replies and error. Whether a bare LF was seen is compared only
/// when there was no error: after one, how far the parser got into the
/// failing data depends on where it was cut (and nothing more is read).
fn same(a: &Outcome, b: &Outcome, what: &str) {
    assert_eq!((&a.replies, &a.error), (&b.replies, &b.error), "{what}");
    if a.error.is_none() {
        assert_eq!(a.bare_lf, b.bare_lf, "{what} (saw_bare_lf)");
    }
}

fuzz_target!(|data: &[u8]| {
    run(
        data,
        &Limits {
            max_line: DEFAULT_MAX_LINE,
            max_lines: DEFAULT_MAX_LINES,
        },
        1,
    );
    // Small limits, so that fuzz-sized inputs reach them.
    let mut rng = common::Rng::from_bytes(data, 2);
    let small = Limits {
        max_line: rng.below(48),
        max_lines: 1 + rng.below(6),
    };
    run(data, &small, 3);
});
