//! Message files: the scan, the size, `--fix-headers`, a changed file.

use super::*;
use crate::mime::normalize::normalize;
use std::time::{Duration, UNIX_EPOCH};

fn stamp() -> Stamp {
    Stamp {
        date: "Thu, 26 Nov 2026 14:31:10 +0000".to_string(),
        message_id: "<1.2@example.com>".to_string(),
        boundary: "=_b".to_string(),
    }
}

fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("m.eml");
    std::fs::write(&path, bytes).expect("write");
    (dir, path)
}

fn written(m: &MessageFile) -> Vec<u8> {
    let mut out = Vec::new();
    let n = m.write_to(&mut out).expect("write");
    assert_eq!(n, out.len() as u64);
    out
}

const MESSAGE: &[u8] =
    b"From: a@example.org\nTo: b@example.org\nSubject: dots\n\n.one\n..two\r\nbare cr\rend";

#[test]
fn the_size_is_the_bytes_written() {
    let (_d, path) = file_with(MESSAGE);
    let m = MessageFile::open(&path).expect("open");
    let out = written(&m);
    assert_eq!(m.size(), out.len() as u64);
    assert_eq!(out, normalize(MESSAGE).0);
    assert_eq!(
        out,
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: dots\r\n\r\n.one\r\n..two\r\nbare cr\r\nend\r\n"
    );
    assert!(!m.has_8bit() && !m.has_utf8_header());
    assert_eq!(m.missing(), ["Date", "Message-ID"]);
    assert!(m.as_given());
}

#[test]
fn a_buffer_boundary_inside_a_crlf_changes_nothing() {
    // A CR exactly at the end of the first 64 KiB read.
    let mut bytes = b"Subject: big\r\n\r\n".to_vec();
    bytes.resize(BUFFER - 1, b'x');
    bytes.extend_from_slice(b"\r\nnext\n");
    let (_d, path) = file_with(&bytes);
    let m = MessageFile::open(&path).expect("open");
    assert_eq!(m.facts().bare_endings, 1);
    let out = written(&m);
    assert_eq!(m.size(), out.len() as u64);
    assert!(out.ends_with(b"x\r\nnext\r\n"));
}

#[test]
fn fix_headers_adds_only_what_is_missing() {
    let (_d, path) = file_with(MESSAGE);
    let mut m = MessageFile::open(&path).expect("open");
    assert_eq!(m.fix_headers(&stamp()), ["Date", "Message-ID"]);
    let out = written(&m);
    assert_eq!(m.size(), out.len() as u64);
    assert!(out.starts_with(
        b"Date: Thu, 26 Nov 2026 14:31:10 +0000\r\nMessage-ID: <1.2@example.com>\r\nFrom: a@example.org\r\n"
    ));
    // A file with a Date gets only a Message-ID; with both, nothing.
    let (_d, path) = file_with(b"date: x\nSubject: s\n\nbody\n");
    let mut m = MessageFile::open(&path).expect("open");
    assert_eq!(m.fix_headers(&stamp()), ["Message-ID"]);
    assert_eq!(
        written(&m),
        b"Message-ID: <1.2@example.com>\r\ndate: x\r\nSubject: s\r\n\r\nbody\r\n"
    );
    let (_d, path) = file_with(b"Date: x\nMessage-Id: <y@z>\n\nbody\n");
    let mut m = MessageFile::open(&path).expect("open");
    assert!(m.fix_headers(&stamp()).is_empty());
    assert_eq!(written(&m), b"Date: x\r\nMessage-Id: <y@z>\r\n\r\nbody\r\n");
    // A Stamp made now works too (the real helper).
    let mut m = MessageFile::open(&path).expect("open");
    let _ = m.fix_headers(&Stamp::new(
        UNIX_EPOCH + Duration::from_secs(1),
        "h.example",
    ));
}

#[test]
fn eight_bit_in_the_header_or_the_body() {
    let (_d, path) = file_with("Subject: Grüße\n\nbody\n".as_bytes());
    let m = MessageFile::open(&path).expect("open");
    assert!(m.has_8bit() && m.has_utf8_header());
    let (_d, path) = file_with("Subject: x\n\nGrüße\n".as_bytes());
    let m = MessageFile::open(&path).expect("open");
    assert!(m.has_8bit() && !m.has_utf8_header());
}

#[test]
fn empty_files_directories_and_missing_files_are_refused() {
    let (d, path) = file_with(b"");
    assert!(matches!(
        MessageFile::open(&path),
        Err(MimeError::EmptyMessage { .. })
    ));
    assert!(matches!(
        MessageFile::open(d.path()),
        Err(MimeError::NotAFile {
            kind: "a directory",
            ..
        })
    ));
    assert!(matches!(
        MessageFile::open(&d.path().join("nope.eml")),
        Err(MimeError::File { .. })
    ));
}

#[test]
fn a_file_changed_after_the_scan_is_refused_before_its_end() {
    let (_d, path) = file_with(b"Subject: s\n\nbody\n");
    let m = MessageFile::open(&path).expect("open");
    std::fs::write(&path, b"Subject: s\n\nbody, longer\n").expect("rewrite");
    let mut out = Vec::new();
    assert!(matches!(
        m.write_to(&mut out),
        Err(MimeError::MessageChanged { .. })
    ));
    // Same length, CRLF instead of LF: more bytes on the wire.
    std::fs::write(&path, b"Subject: s\r\n\r\nbody\n").expect("rewrite");
    let m = MessageFile::open(&path).expect("open");
    std::fs::write(&path, b"Subject: s\n\n\nbody\n\n").expect("rewrite");
    let mut out = Vec::new();
    let e = m.write_to(&mut out).expect_err("changed");
    assert!(matches!(e, MimeError::MessageContentChanged { .. }), "{e}");
    // The caller's writer is dropped: a DATA writer then closes the
    // connection without the final dot (tested in shell::delivery).
    assert_ne!(out.len() as u64, m.size());
}

#[test]
fn the_header_block_is_read_whole_and_bounded() {
    let (_d, path) = file_with(b"From: a@x.org\nTo: b@y.org\n\nbody body body\n");
    let m = MessageFile::open(&path).expect("open");
    let h = m.header_bytes(1024).expect("header");
    assert!(h.starts_with(b"From: a@x.org\nTo: b@y.org\n\n"), "{h:?}");
    assert!(h.len() < 40);
    assert!(matches!(
        m.header_bytes(10),
        Err(MimeError::HeaderTooLarge { .. })
    ));
}
