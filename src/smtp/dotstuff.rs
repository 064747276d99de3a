//! DATA transparency (RFC 5321 §4.5.2, §2.3.8, §4.1.1.4).
//!
//! [`DotStuffer`] is a streaming `Write` adapter that turns any message bytes
//! into a safe DATA stream: every bare CR, bare LF or CRLF becomes CRLF, a
//! line starting with `.` gets one more `.`, and [`DotStuffer::finish`] ends
//! the data with exactly one `<CRLF>.<CRLF>` (adding the CRLF when the
//! content did not end with one). So no smuggling sequence (`<LF>.<LF>`,
//! `<CR>.<CR>`, ...) can ever reach the wire. State carries across `write`
//! calls, so a CR at the end of one buffer and an LF at the start of the next
//! are one line ending.

use std::io::{self, Write};

/// Streaming CRLF-normaliser and dot-stuffer; see the module docs.
#[derive(Debug)]
pub struct DotStuffer<W: Write> {
    inner: W,
    /// The next content byte starts a line (true at the start and after
    /// every line ending).
    at_line_start: bool,
    /// The previous write ended with a CR (already sent as CRLF): an LF at
    /// the start of the next write belongs to it and is dropped.
    skip_lf: bool,
    bytes_in: u64,
    bytes_out: u64,
}

impl<W: Write> DotStuffer<W> {
    /// Wraps `inner`. Output is written through in large pieces (the adapter
    /// does not flush per line); wrap a `BufWriter` or pass a buffer-backed
    /// writer if `inner` is a socket.
    pub fn new(inner: W) -> Self {
        DotStuffer {
            inner,
            at_line_start: true,
            skip_lf: false,
            bytes_in: 0,
            bytes_out: 0,
        }
    }
    /// Content bytes accepted so far (before stuffing).
    pub fn bytes_in(&self) -> u64 {
        self.bytes_in
    }
    /// Bytes written to `inner` so far (after stuffing).
    pub fn bytes_out(&self) -> u64 {
        self.bytes_out
    }
    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
    /// The wrapped writer, mutably (writing to it directly would corrupt the
    /// DATA stream; meant for error handling).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }
    /// Ends the data: CRLF if the content did not end with a line ending,
    /// then `.` CRLF. Returns the inner writer (not flushed). Empty content
    /// gives just `.` CRLF.
    pub fn finish(mut self) -> io::Result<W> {
        if self.bytes_in > 0 && !self.at_line_start {
            self.emit(b"\r\n.\r\n")?;
        } else {
            self.emit(b".\r\n")?;
        }
        Ok(self.inner)
    }

    /// Writes `lines` that are already safe for DATA, without scanning
    /// them: the fast path for base64 bodies, which are most of the bytes
    /// of a large message.
    ///
    /// "Safe" means: the content is whole lines, each ended by CRLF, with
    /// no other CR or LF in it, and no line starting with `.` — true of
    /// base64 in CRLF-ended lines by construction (its alphabet is
    /// `A-Z a-z 0-9 + / =`). Only the cheap parts of that are checked
    /// here (current position at a line start, first byte not `.`, last
    /// two bytes CRLF); when they do not hold, the bytes take the normal
    /// scanning path instead, so the output is right either way as long
    /// as the middle of `lines` keeps the promise. Debug builds check all
    /// of it.
    pub fn write_clean_lines(&mut self, lines: &[u8]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let fast =
            self.at_line_start && lines[0] != b'.' && lines[0] != b'\n' && lines.ends_with(b"\r\n");
        if !fast {
            return self.write_all(lines);
        }
        debug_assert!(
            clean_lines(lines),
            "write_clean_lines given bytes that need stuffing"
        );
        self.bytes_in += lines.len() as u64;
        // A pending LF-after-CR cannot apply: the first byte is not an LF
        // (it is not a line ending at all in clean lines).
        self.skip_lf = false;
        self.emit(lines)?;
        self.at_line_start = true;
        Ok(())
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !bytes.is_empty() {
            self.inner.write_all(bytes)?;
            self.bytes_out += bytes.len() as u64;
        }
        Ok(())
    }
}

impl<W: Write> Write for DotStuffer<W> {
    /// Accepts the whole of `buf` (or fails): runs of bytes that need no
    /// change are passed to `inner` in one piece; only a bare CR or LF, or a
    /// `.` at the start of a line, splits a run.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len();
        if n == 0 {
            return Ok(0);
        }
        self.bytes_in += n as u64;
        let mut p = 0; // scan position
        if std::mem::take(&mut self.skip_lf) && buf[0] == b'\n' {
            p = 1;
        }
        let mut run = p; // start of bytes not yet passed on
        loop {
            if self.at_line_start && p < n {
                if buf[p] == b'.' {
                    self.emit(&buf[run..p])?;
                    self.emit(b".")?;
                    run = p; // the original dot starts the next run
                }
                self.at_line_start = false;
            }
            let Some(k) = memchr::memchr2(b'\r', b'\n', &buf[p..]) else {
                break;
            };
            let j = p + k;
            if buf[j] == b'\n' {
                // Bare LF: put a CR before it.
                self.emit(&buf[run..j])?;
                self.emit(b"\r")?;
                run = j;
                p = j + 1;
            } else if j + 1 < n && buf[j + 1] == b'\n' {
                // CRLF: passes unchanged.
                p = j + 2;
            } else {
                // Bare CR, or a CR at the end of this buffer whose LF may come
                // next: send CRLF now, drop a following LF later.
                self.emit(&buf[run..=j])?;
                self.emit(b"\n")?;
                run = j + 1;
                p = j + 1;
                self.skip_lf = j + 1 == n;
            }
            self.at_line_start = true;
        }
        self.emit(&buf[run..])?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Whether `lines` keeps the promise of [`DotStuffer::write_clean_lines`]:
/// whole CRLF-ended lines, no other CR or LF, no line starting with `.`.
pub fn clean_lines(lines: &[u8]) -> bool {
    if !lines.is_empty() && !lines.ends_with(b"\r\n") {
        return false;
    }
    let mut rest = lines;
    while !rest.is_empty() {
        let Some(end) = rest.iter().position(|&b| b == b'\r' || b == b'\n') else {
            return false;
        };
        if rest[0] == b'.' || rest[end] != b'\r' || rest.get(end + 1) != Some(&b'\n') {
            return false;
        }
        rest = &rest[end + 2..];
    }
    true
}

/// The whole DATA stream for `content` in one call, terminator included
/// (for tests and small messages).
pub fn stuff(content: &[u8]) -> Vec<u8> {
    let mut stuffer = DotStuffer::new(Vec::with_capacity(content.len() + content.len() / 32 + 8));
    // Writing into a Vec cannot fail.
    match stuffer.write_all(content).and_then(|()| stuffer.finish()) {
        Ok(out) => out,
        Err(_) => unreachable!("writing to a Vec<u8> does not fail"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that records every write call, to check the pieces are big.
    #[derive(Default)]
    struct Recorder {
        data: Vec<u8>,
        calls: usize,
    }

    impl Write for Recorder {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            self.data.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Feeds `content` in the given pieces and returns the output.
    fn stuff_pieces(pieces: &[&[u8]]) -> Vec<u8> {
        let mut s = DotStuffer::new(Vec::new());
        for piece in pieces {
            assert_eq!(s.write(piece).expect("vec write"), piece.len());
        }
        let total: usize = pieces.iter().map(|p| p.len()).sum();
        assert_eq!(s.bytes_in(), total as u64);
        let out_before = s.bytes_out();
        let out = s.finish().expect("vec write");
        assert!(out.len() as u64 >= out_before);
        out
    }

    fn check(content: &[u8], expected: &[u8]) {
        assert_eq!(
            String::from_utf8_lossy(&stuff(content)),
            String::from_utf8_lossy(expected),
            "content {:?}",
            String::from_utf8_lossy(content)
        );
    }

    #[test]
    fn known_cases() {
        check(b"", b".\r\n");
        check(b".", b"..\r\n.\r\n");
        check(b"..x", b"...x\r\n.\r\n");
        check(b"\n.\n", b"\r\n..\r\n.\r\n");
        check(b"\r.\r", b"\r\n..\r\n.\r\n");
        check(b"\r\n.\r\n", b"\r\n..\r\n.\r\n");
        check(b"hello", b"hello\r\n.\r\n");
        check(b"hello\r\n", b"hello\r\n.\r\n");
        check(b"hello\n", b"hello\r\n.\r\n");
        check(b"hello\r", b"hello\r\n.\r\n");
        check(b"a\r\r\nb", b"a\r\n\r\nb\r\n.\r\n");
        check(b"a\n\rb", b"a\r\n\r\nb\r\n.\r\n");
        check(b"a.b\r\n.b\r\nc.\r\n", b"a.b\r\n..b\r\nc.\r\n.\r\n");
        check(b"\r\n", b"\r\n.\r\n");
        check(b"\n", b"\r\n.\r\n");
        check(b"\r", b"\r\n.\r\n");
        check(b"\n\n", b"\r\n\r\n.\r\n");
        check(b"x\n.", b"x\r\n..\r\n.\r\n");
        check(b" .x", b" .x\r\n.\r\n");
        // SMTP smuggling sequences are neutralised.
        check(
            b"a\n.\nMAIL FROM:<x>\r\n",
            b"a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n",
        );
        check(b"a\r\n.\rb", b"a\r\n..\r\nb\r\n.\r\n");
        check(b"a\n.\r\nb", b"a\r\n..\r\nb\r\n.\r\n");
        check(b"a\r.\r\nb", b"a\r\n..\r\nb\r\n.\r\n");
    }

    #[test]
    fn counters() {
        let mut s = DotStuffer::new(Vec::new());
        s.write_all(b".a\nb").expect("vec");
        assert_eq!(s.bytes_in(), 4);
        assert_eq!(s.bytes_out(), 6); // "..a\r\nb"
        assert_eq!(s.get_ref().as_slice(), b"..a\r\nb");
        let out = s.finish().expect("vec");
        assert_eq!(out, b"..a\r\nb\r\n.\r\n");
    }

    #[test]
    fn cr_and_lf_split_across_writes_are_one_line_ending() {
        assert_eq!(stuff_pieces(&[b"a\r", b"\nb"]), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuff_pieces(&[b"a\r", b"", b"\nb"]), b"a\r\nb\r\n.\r\n");
        assert_eq!(stuff_pieces(&[b"a\r", b"\r", b"\n"]), b"a\r\n\r\n.\r\n");
        assert_eq!(stuff_pieces(&[b"a\r", b"\n", b"\n"]), b"a\r\n\r\n.\r\n");
        assert_eq!(stuff_pieces(&[b"a\r", b"\n.", b"x"]), b"a\r\n..x\r\n.\r\n");
        assert_eq!(stuff_pieces(&[b"a\r", b"\n", b"."]), b"a\r\n..\r\n.\r\n");
        assert_eq!(stuff_pieces(&[b"a\r", b".\r"]), b"a\r\n..\r\n.\r\n");
        assert_eq!(stuff_pieces(&[b"a\n", b"."]), b"a\r\n..\r\n.\r\n");
        assert_eq!(stuff_pieces(&[b"a\r\n", b""]), b"a\r\n.\r\n");
    }

    /// Inputs built from the characters that matter, all of length ≤ 6.
    fn all_small_inputs() -> Vec<Vec<u8>> {
        let alphabet = [b'.', b'\r', b'\n', b'a'];
        let mut all = vec![Vec::new()];
        let mut frontier = vec![Vec::new()];
        for _ in 0..6 {
            let mut next = Vec::new();
            for prefix in &frontier {
                for &c in &alphabet {
                    let mut v: Vec<u8> = prefix.clone();
                    v.push(c);
                    next.push(v);
                }
            }
            all.extend(next.iter().cloned());
            frontier = next;
        }
        all
    }

    /// Output of an obviously correct line-by-line reference implementation.
    fn reference(content: &[u8]) -> Vec<u8> {
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut line = Vec::new();
        let mut i = 0;
        let mut ended = false;
        while i < content.len() {
            match content[i] {
                b'\r' => {
                    lines.push(std::mem::take(&mut line));
                    if content.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    ended = true;
                }
                b'\n' => {
                    lines.push(std::mem::take(&mut line));
                    ended = true;
                }
                b => {
                    line.push(b);
                    ended = false;
                }
            }
            i += 1;
        }
        if !content.is_empty() && !ended {
            lines.push(line);
        }
        let mut out = Vec::new();
        for l in lines {
            if l.first() == Some(&b'.') {
                out.push(b'.');
            }
            out.extend_from_slice(&l);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    /// No bare CR or LF anywhere, and `CRLF.CRLF` (or a leading `.CRLF`) only
    /// as the terminator.
    fn assert_safe(out: &[u8], content: &[u8]) {
        let ctx = || String::from_utf8_lossy(content).into_owned();
        assert!(out.ends_with(b".\r\n"), "{}", ctx());
        for (i, &b) in out.iter().enumerate() {
            if b == b'\r' {
                assert_eq!(
                    out.get(i + 1),
                    Some(&b'\n'),
                    "bare CR in output for {:?}",
                    ctx()
                );
            }
            if b == b'\n' {
                assert!(
                    i > 0 && out[i - 1] == b'\r',
                    "bare LF in output for {:?}",
                    ctx()
                );
            }
        }
        let terminators = out.windows(5).filter(|w| w == b"\r\n.\r\n").count();
        let at_end = out.ends_with(b"\r\n.\r\n");
        assert_eq!(terminators, usize::from(at_end), "{:?}", ctx());
        if !at_end {
            assert_eq!(out, b".\r\n", "{:?}", ctx());
        }
        if out.starts_with(b".\r\n") {
            assert_eq!(out, b".\r\n", "{:?}", ctx());
        }
        // Every line starting with a dot (other than the terminator) was stuffed.
        let body = &out[..out.len() - 3];
        for line in body.split(|&b| b == b'\n') {
            if line.first() == Some(&b'.') {
                assert!(line.starts_with(b".."), "{:?}", ctx());
            }
        }
    }

    #[test]
    fn exhaustive_small_inputs_match_reference_and_are_safe() {
        for content in all_small_inputs() {
            let out = stuff(&content);
            assert_eq!(
                out,
                reference(&content),
                "{:?}",
                String::from_utf8_lossy(&content)
            );
            assert_safe(&out, &content);
        }
    }

    #[test]
    fn every_split_point_gives_the_same_output() {
        for content in all_small_inputs().into_iter().filter(|c| c.len() >= 2) {
            let whole = stuff(&content);
            for cut in 0..=content.len() {
                let got = stuff_pieces(&[&content[..cut], &content[cut..]]);
                assert_eq!(
                    got,
                    whole,
                    "{:?} cut {cut}",
                    String::from_utf8_lossy(&content)
                );
            }
            let bytes: Vec<&[u8]> = content.chunks(1).collect();
            assert_eq!(stuff_pieces(&bytes), whole);
        }
    }

    #[test]
    fn realistic_message_split_everywhere() {
        let content: &[u8] = b"From: a@example.com\nSubject: dots\r\n\r\n.\n..\r.x\r\n\
            line.\n.\r\n\r\n.\rend";
        let whole = stuff(content);
        assert_eq!(whole, reference(content));
        assert_safe(&whole, content);
        for a in 0..=content.len() {
            for b in a..=content.len() {
                let got = stuff_pieces(&[&content[..a], &content[a..b], &content[b..]]);
                assert_eq!(got, whole, "cuts {a} {b}");
            }
        }
        let bytes: Vec<&[u8]> = content.chunks(1).collect();
        assert_eq!(stuff_pieces(&bytes), whole);
    }

    #[test]
    fn pseudo_random_content_is_safe() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"..\r\n\r\nab \x00\xff";
        for _ in 0..300 {
            let len = (next() % 200) as usize;
            let content: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let whole = stuff(&content);
            assert_eq!(whole, reference(&content));
            assert_safe(&whole, &content);
            // Random chunking.
            let mut pieces = Vec::new();
            let mut rest = &content[..];
            while !rest.is_empty() {
                let k = ((next() % 7) as usize).min(rest.len());
                let (a, b) = rest.split_at(k);
                pieces.push(a);
                rest = b;
            }
            assert_eq!(stuff_pieces(&pieces), whole);
        }
    }

    #[test]
    fn writes_go_out_in_big_pieces() {
        // 1 MiB of ordinary CRLF lines: passed through in one write call.
        let line = b"The quick brown fox jumps over the lazy dog. 0123456789\r\n";
        let content: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 18_000)
            .collect();
        let mut s = DotStuffer::new(Recorder::default());
        s.write_all(&content).expect("recorder");
        assert_eq!(s.get_ref().calls, 1);
        let r = s.finish().expect("recorder");
        assert_eq!(r.data, stuff(&content));
        assert_eq!(&r.data[..content.len()], &content[..]);

        // LF-only content needs one extra write per line, never per byte.
        let lf: Vec<u8> = content.iter().copied().filter(|&b| b != b'\r').collect();
        let mut s = DotStuffer::new(Recorder::default());
        s.write_all(&lf).expect("recorder");
        assert!(s.get_ref().calls <= 2 * 18_000 + 1, "{}", s.get_ref().calls);
        let r = s.finish().expect("recorder");
        assert_eq!(r.data, stuff(&content));
    }

    #[test]
    fn big_content_round_trip() {
        // 8 MiB with dots and mixed line endings: correct and reasonably fast.
        let mut content = Vec::with_capacity(8 << 20);
        let mut i = 0u32;
        while content.len() < 8 << 20 {
            content.extend_from_slice(match i % 4 {
                0 => b".leading dot\n".as_slice(),
                1 => b"plain line\r\n",
                2 => b"old mac\r",
                _ => b"..two dots\r\n",
            });
            i += 1;
        }
        let out = stuff(&content);
        assert_safe(&out, b"big");
        let mut chunked = DotStuffer::new(Vec::new());
        for piece in content.chunks(8191) {
            chunked.write_all(piece).expect("vec");
        }
        assert_eq!(chunked.finish().expect("vec"), out);
    }

    #[test]
    fn write_errors_are_reported() {
        struct Failing;
        impl Write for Failing {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut s = DotStuffer::new(Failing);
        assert!(s.write(b"x").is_err());
        assert!(s.finish().is_err());
    }

    /// Writes `pieces` alternating plain writes (even) and clean-line
    /// writes (odd), returning the stream.
    fn mixed(pieces: &[&[u8]]) -> Vec<u8> {
        let mut s = DotStuffer::new(Vec::new());
        for (i, piece) in pieces.iter().enumerate() {
            if i % 2 == 0 {
                s.write_all(piece).expect("vec");
            } else {
                s.write_clean_lines(piece).expect("vec");
            }
        }
        let total: usize = pieces.iter().map(|p| p.len()).sum();
        assert_eq!(s.bytes_in(), total as u64);
        s.finish().expect("vec")
    }

    #[test]
    fn clean_lines_take_the_fast_path_with_the_same_result() {
        let base64: &[u8] = b"QUJD\r\nREVG\r\n";
        let cases: [&[&[u8]]; 6] = [
            &[b"head\r\n", base64, b"tail"],
            // Not at a line start: falls back to scanning.
            &[b"head", base64, b"\r\n.tail\r\n"],
            // A CR at the end of the plain write: its LF never comes.
            &[b"head\r", base64, b""],
            // Contract broken at the cheap checks: scanned instead.
            &[b"", b".dot\r\n", b""],
            &[b"", b"no line end", b""],
            &[b"x\n", b"\nlf first\r\n", b".y"],
        ];
        for pieces in cases {
            let joined: Vec<u8> = pieces.concat();
            assert_eq!(
                String::from_utf8_lossy(&mixed(pieces)),
                String::from_utf8_lossy(&stuff(&joined)),
                "{pieces:?}"
            );
        }
    }

    #[test]
    fn clean_lines_are_recognised() {
        assert!(clean_lines(b""));
        assert!(clean_lines(b"abc\r\n\r\nd=\r\n"));
        assert!(!clean_lines(b".abc\r\n"));
        assert!(!clean_lines(b"abc\r\n.d\r\n"));
        assert!(!clean_lines(b"abc\ndef\r\n"));
        assert!(!clean_lines(b"abc\rdef\r\n"));
        assert!(!clean_lines(b"abc"));
    }

    #[test]
    fn clean_lines_pass_through_in_one_write() {
        let mut s = DotStuffer::new(Recorder::default());
        s.write_all(b"head\r\n").expect("write");
        let body = b"QUJD\r\n".repeat(10_000);
        s.write_clean_lines(&body).expect("write");
        let rec = s.finish().expect("finish");
        assert_eq!(rec.calls, 3, "head, body, terminator");
        assert_eq!(rec.data.len(), 6 + body.len() + 3);
    }
}
