//! The normaliser: line endings, buffer boundaries, what it sees.

use super::*;

/// Output and facts of `content` fed in pieces of `size` bytes.
fn in_pieces(content: &[u8], size: usize) -> (Vec<u8>, Facts) {
    let mut n = Normalizer::new();
    let mut out = Vec::new();
    for piece in content.chunks(size.max(1)) {
        n.write(piece, &mut out).expect("vec write");
    }
    let facts = n.finish(&mut out).expect("vec write");
    (out, facts)
}

/// Checks `content` gives `expected` whatever the buffer size, and that a
/// scan (count only) finds the same facts and the exact size.
fn check(content: &[u8], expected: &[u8]) -> Facts {
    let (whole, facts) = normalize(content);
    assert_eq!(
        String::from_utf8_lossy(&whole),
        String::from_utf8_lossy(expected),
        "content {:?}",
        String::from_utf8_lossy(content)
    );
    assert_eq!(facts.bytes_out, expected.len() as u64, "size counted");
    assert_eq!(facts.bytes_in, content.len() as u64);
    for size in 1..=content.len().clamp(1, 9) {
        let (out, f) = in_pieces(content, size);
        assert_eq!(out, whole, "pieces of {size}");
        assert_eq!(f, facts, "facts in pieces of {size}");
        let mut scan = Normalizer::new();
        for piece in content.chunks(size) {
            scan.count(piece);
        }
        assert_eq!(scan.finish_count(), facts, "scan in pieces of {size}");
    }
    facts
}

#[test]
fn line_endings_become_crlf() {
    check(b"", b"");
    check(b"a\r\n", b"a\r\n");
    let f = check(b"a\nb\n", b"a\r\nb\r\n");
    assert_eq!(f.bare_endings, 2);
    let f = check(b"a\rb\r", b"a\r\nb\r\n");
    assert_eq!(f.bare_endings, 2);
    let f = check(b"a\r\r\nb\n\rc", b"a\r\n\r\nb\r\n\r\nc\r\n");
    assert_eq!(f.bare_endings, 3);
    assert!(f.unterminated);
    let f = check(b"x\r\ny\r\n", b"x\r\ny\r\n");
    assert_eq!(f.bare_endings, 0);
    assert!(!f.unterminated);
    check(b"\n", b"\r\n");
    check(b"\r", b"\r\n");
    check(b"\r\n\r\n", b"\r\n\r\n");
}

#[test]
fn a_crlf_split_across_buffers_is_one_line_ending() {
    let (out, f) = in_pieces(b"ab\r\ncd\r\n", 3);
    assert_eq!(out, b"ab\r\ncd\r\n");
    assert_eq!(f.bare_endings, 0);
    // A CR last in a buffer and another CR first in the next: two endings.
    let mut n = Normalizer::new();
    let mut out = Vec::new();
    n.write(b"a\r", &mut out).unwrap();
    n.write(b"\rb", &mut out).unwrap();
    let f = n.finish(&mut out).unwrap();
    assert_eq!(out, b"a\r\n\r\nb\r\n");
    assert_eq!(f.bare_endings, 2);
    // A CR last in the last buffer is a bare one.
    let mut n = Normalizer::new();
    let mut out = Vec::new();
    n.write(b"a\r", &mut out).unwrap();
    let f = n.finish(&mut out).unwrap();
    assert_eq!((out.as_slice(), f.bare_endings), (&b"a\r\n"[..], 1));
    assert!(!f.unterminated);
}

#[test]
fn the_last_line_gets_its_line_ending_and_an_empty_file_stays_empty() {
    let f = check(
        b"Subject: x\r\n\r\nno newline",
        b"Subject: x\r\n\r\nno newline\r\n",
    );
    assert!(f.unterminated);
    let f = check(b"", b"");
    assert_eq!(f, Facts::default());
}

#[test]
fn lines_starting_with_a_dot_pass_unchanged() {
    // Dot-stuffing belongs to the DATA writer, not here.
    check(b".\n..x\n.", b".\r\n..x\r\n.\r\n");
}

#[test]
fn the_header_block_and_its_fields() {
    let f = check(
        b"From: a@x\nTO: b@y\nsubject: s\n folded\nMessage-Id: <1@x>\n\nDate: not a header\n",
        b"From: a@x\r\nTO: b@y\r\nsubject: s\r\n folded\r\nMessage-Id: <1@x>\r\n\r\nDate: not a header\r\n",
    );
    assert!(f.header_ended && f.starts_with_field && !f.mbox_from);
    assert_eq!(
        f.fields,
        Fields {
            from: true,
            to: true,
            message_id: true,
            ..Fields::default()
        }
    );
    assert_eq!(
        f.header_len,
        "From: a@x\r\nTO: b@y\r\nsubject: s\r\n folded\r\nMessage-Id: <1@x>\r\n".len() as u64
    );
    // No empty line: all of it is the header block.
    let f = check(b"Date: d\nCc: c", b"Date: d\r\nCc: c\r\n");
    assert!(!f.header_ended);
    assert!(f.fields.date && f.fields.cc && !f.fields.bcc);
    // An mbox separator line is no header.
    let f = check(
        b"From a@x Mon Jan  1 00:00:00 2024\nBcc: z\n\n",
        b"From a@x Mon Jan  1 00:00:00 2024\r\nBcc: z\r\n\r\n",
    );
    assert!(f.mbox_from && !f.starts_with_field && f.fields.bcc);
    // A file that starts with its body.
    let f = check(b"\nbody", b"\r\nbody\r\n");
    assert!(f.header_ended && !f.starts_with_field && f.header_len == 0);
}

#[test]
fn eight_bit_nul_and_long_lines_are_seen() {
    let f = check(
        "Subject: é\n\nx".as_bytes(),
        "Subject: é\r\n\r\nx\r\n".as_bytes(),
    );
    assert!(f.eight_bit && f.header_8bit);
    let f = check(
        "S: x\n\nbody é\0".as_bytes(),
        "S: x\r\n\r\nbody é\0\r\n".as_bytes(),
    );
    assert!(f.eight_bit && !f.header_8bit && f.nul);
    let long = format!("S: x\n\n{}\n{}\n", "a".repeat(998), "b".repeat(1200));
    let (_, f) = normalize(long.as_bytes());
    assert_eq!((f.long_lines, f.longest_line), (1, 1200));
    let (_, f) = in_pieces(long.as_bytes(), 7);
    assert_eq!((f.long_lines, f.longest_line), (1, 1200));
}

#[test]
fn any_bytes_are_safe_and_the_size_is_exact() {
    // A deterministic spread of awkward inputs: every piece size, the
    // counted size equals the bytes written, and only CRLF pairs remain.
    let mut seed = 0x2545_f491_u32;
    for len in 0..300usize {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                [b'\r', b'\n', b'.', b'a', 0, 0xff][(seed % 6) as usize]
            })
            .collect();
        let (out, f) = normalize(&bytes);
        assert_eq!(f.bytes_out, out.len() as u64);
        for (i, &b) in out.iter().enumerate() {
            if b == b'\r' {
                assert_eq!(out.get(i + 1), Some(&b'\n'), "{bytes:?}");
            }
            if b == b'\n' {
                assert!(i > 0 && out[i - 1] == b'\r', "{bytes:?}");
            }
        }
        assert!(out.is_empty() || out.ends_with(b"\r\n"));
        let (pieces, _) = in_pieces(&bytes, 1 + len % 5);
        assert_eq!(pieces, out);
    }
}
