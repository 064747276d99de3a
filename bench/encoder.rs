//! Micro benchmark of smtpsh's content path without any network: the
//! base64 encoder (76-column CRLF lines) and the DATA dot-stuffer, in GB/s
//! on one core. bench/run.sh runs it; by hand:
//!
//! ```text
//! cargo run --release --example encoder [-- MiB]
//! ```
//!
//! Each line is the best of five passes over the same input (default
//! 256 MiB, random bytes): "in" is input bytes per second, "out" output
//! bytes per second. "whole message" reads a temporary file from the page
//! cache, encodes and stuffs it exactly as `send` does. The stuffer's
//! output goes to a sink that copies it once into a reused buffer (the
//! copy into the socket that `send` makes).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use smtpsh::address::{Mailbox, ReversePath};
use smtpsh::mime::encode::{BASE64_LINE_INPUT, base64_encoded_len, base64_lines};
use smtpsh::mime::{Attachment, ContentSink, Draft, Stamp, compose};
use smtpsh::smtp::DotStuffer;
use std::hint::black_box;
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

/// Input bytes per chunk, as the message writer reads them.
const CHUNK: usize = 57 * 1024;
/// Passes per measurement; the best one counts.
const PASSES: usize = 5;

/// A writer that copies into a reused buffer (as the socket writer copies
/// into the kernel) and counts.
#[derive(Default)]
struct Count(u64, Vec<u8>);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        self.1.clear();
        self.1.extend_from_slice(buf);
        black_box(&self.1);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The stuffer as the message writer's sink, with the clean-lines path.
struct Stuffed(DotStuffer<Count>);

impl Write for Stuffed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl ContentSink for Stuffed {
    fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        self.0.write_clean_lines(lines)
    }
}

fn random(n: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// Runs `f` [`PASSES`] times; the shortest time.
fn best(mut f: impl FnMut()) -> Duration {
    (0..PASSES)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn report(what: &str, bytes_in: u64, bytes_out: u64, t: Duration) {
    let s = t.as_secs_f64().max(1e-9);
    println!(
        "{what:<44} {:>6.2} GB/s in  {:>6.2} GB/s out",
        bytes_in as f64 / s / 1e9,
        bytes_out as f64 / s / 1e9
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: usize = match std::env::args().nth(1) {
        Some(a) => a.parse()?,
        None => 256,
    };
    let input = random(mib * 1024 * 1024);
    let n = input.len() as u64;
    let encoded_len = base64_encoded_len(n);
    println!("smtpsh encoder benchmark: {mib} MiB of random input, best of {PASSES}, one core");

    // smtpsh's encoder, chunk by chunk as the message writer calls it.
    let mut out = Vec::with_capacity(base64_encoded_len(CHUNK as u64) as usize);
    let t = best(|| {
        for chunk in input.chunks(CHUNK) {
            out.clear();
            base64_lines(chunk, &mut out);
            black_box(&out);
        }
    });
    report("base64, 76-col CRLF lines (smtpsh)", n, encoded_len, t);

    // The base64 crate, one encode_slice per line (smtpsh's former way).
    let t = best(|| {
        let mut line = [0u8; 76];
        for chunk in input.chunks(CHUNK) {
            out.clear();
            for l in chunk.chunks(BASE64_LINE_INPUT) {
                let k = STANDARD.encode_slice(l, &mut line).unwrap_or(0);
                out.extend_from_slice(&line[..k]);
                out.extend_from_slice(b"\r\n");
            }
            black_box(&out);
        }
    });
    report("base64, per line via the base64 crate", n, encoded_len, t);

    // The dot-stuffer over base64 lines: scanning vs. the clean-lines path.
    let mut encoded = Vec::with_capacity(encoded_len as usize);
    base64_lines(&input, &mut encoded);
    let e = encoded.len() as u64;
    let t = best(|| {
        let mut s = DotStuffer::new(Count::default());
        for piece in encoded.chunks(CHUNK / 57 * 78) {
            let _ = s.write_all(piece);
        }
        black_box(s.bytes_out());
    });
    report("dot-stuffer, scanning base64", e, e, t);
    let t = best(|| {
        let mut s = DotStuffer::new(Count::default());
        for piece in encoded.chunks(CHUNK / 57 * 78) {
            let _ = s.write_clean_lines(piece);
        }
        black_box(s.bytes_out());
    });
    report("dot-stuffer, clean base64 lines (smtpsh)", e, e, t);

    // Text with a dot at the start of every fourth line.
    let mut text = Vec::with_capacity(input.len());
    let mut i = 0u64;
    while text.len() < input.len() {
        text.extend_from_slice(if i.is_multiple_of(4) {
            b".a line that starts with a dot and goes on\r\n".as_slice()
        } else {
            b"an ordinary line of text, seventy-odd characters long, no dots\r\n"
        });
        i += 1;
    }
    let mut stuffed = 0;
    let t = best(|| {
        let mut s = DotStuffer::new(Count::default());
        for piece in text.chunks(64 * 1024) {
            let _ = s.write_all(piece);
        }
        stuffed = s.bytes_out();
    });
    report(
        "dot-stuffer, text with leading dots",
        text.len() as u64,
        stuffed,
        t,
    );

    // The whole message path: file → base64 → stuffer, as `send` does it.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("attachment.bin");
    std::fs::write(&path, &input)?;
    let draft = Draft {
        from: Some(ReversePath::parse("alice@example.com")?),
        to: vec![Mailbox::parse("bob@example.com")?],
        subject: Some("benchmark".into()),
        body: "see the attachment\n".into(),
        attachments: vec![Attachment::new(&path, None, None)?],
        ..Draft::default()
    };
    let msg = compose(&draft, &Stamp::new(SystemTime::now(), "bench.example"))?;
    let mut wire = 0;
    let t = best(|| {
        let mut sink = Stuffed(DotStuffer::new(Count::default()));
        if msg.write_to_sink(&mut sink).is_ok() {
            wire = sink.0.bytes_out();
        }
    });
    report("whole message: file, base64, stuffer", n, wire, t);
    Ok(())
}
