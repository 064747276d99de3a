//! Fuzz target: DATA transparency (`smtpsh::smtp::dotstuff`).
//!
//! The input is message content. `DotStuffer` is fed it cut at pseudo-random
//! places (derived from the input) and one byte at a time; checked:
//! - the output equals `stuff()` on the whole input, and an independent
//!   model of RFC 5321 §4.5.2 (every CR, LF or CRLF → CRLF, a `.` starting a
//!   line doubled, `CRLF` added when missing, then `.CRLF`);
//! - no bare CR or LF anywhere; `CRLF.CRLF` only as the very end, and the
//!   stream does not start with `.CRLF` unless it is the empty message;
//! - `bytes_in` / `bytes_out` count what went in and out.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use smtpsh::smtp::DotStuffer;
use smtpsh::smtp::dotstuff::stuff;
use std::io::Write;

/// The DATA stream for `content`, written out plainly.
fn model(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() * 2 + 5);
    let mut at_line_start = true;
    let mut i = 0;
    while i < content.len() {
        let b = content[i];
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        at_line_start = false;
        match b {
            b'\r' => {
                out.extend_from_slice(b"\r\n");
                if content.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                at_line_start = true;
            }
            b'\n' => {
                out.extend_from_slice(b"\r\n");
                at_line_start = true;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    if !at_line_start {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

fn stream(pieces: &[&[u8]]) -> Vec<u8> {
    let mut stuffer = DotStuffer::new(Vec::new());
    let mut total = 0u64;
    for piece in pieces {
        let n = stuffer.write(piece).expect("writing to a Vec");
        assert_eq!(
            n,
            piece.len(),
            "DotStuffer::write accepts all of its buffer"
        );
        total += piece.len() as u64;
        assert_eq!(stuffer.bytes_in(), total);
        assert_eq!(stuffer.bytes_out(), stuffer.get_ref().len() as u64);
    }
    stuffer.finish().expect("writing to a Vec")
}

fn check_stream(out: &[u8]) {
    if let Some(i) = common::bare_cr_or_lf(out) {
        panic!("bare CR/LF at {i} in {}", common::show(out));
    }
    assert!(
        out.ends_with(b".\r\n"),
        "no terminator: {}",
        common::show(out)
    );
    let end = common::find(out, b"\r\n.\r\n");
    assert!(
        end.is_none_or(|i| i + 5 == out.len()),
        "early <CRLF>.<CRLF> at {:?} in {}",
        end,
        common::show(out)
    );
    assert!(
        out == b".\r\n" || !out.starts_with(b".\r\n"),
        "the data starts with a lone dot line: {}",
        common::show(out)
    );
}

fuzz_target!(|data: &[u8]| {
    let whole = stuff(data);
    check_stream(&whole);
    let expected = model(data);
    assert!(
        whole == expected,
        "stuff() differs from the model:\n  in:   {}\n  got:  {}\n  want: {}",
        common::show(data),
        common::show(&whole),
        common::show(&expected)
    );
    let cut = stream(&common::chunks(data, 1));
    assert!(
        cut == whole,
        "cut input gives {} instead of {}",
        common::show(&cut),
        common::show(&whole)
    );
    if data.len() <= 4096 {
        let bytes: Vec<&[u8]> = data.chunks(1).collect();
        assert!(stream(&bytes) == whole, "byte-by-byte differs");
    }
});
