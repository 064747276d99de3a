//! The structures a draft with HTML and inline parts gives, read back with
//! mail-parser; sizes equal the bytes written.

use super::super::{Attachment, Draft, Message, MimeError, compose};
use crate::address::{Mailbox, ReversePath};
use crate::mime::test_support::{shape, stamp};
use mail_parser::{MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};
use std::path::Path;

fn draft() -> Draft {
    Draft {
        from: ReversePath::parse("ann@example.com").ok(),
        to: Mailbox::parse("bob@example.com").into_iter().collect(),
        subject: Some("html".into()),
        ..Draft::default()
    }
}

fn file(dir: &Path, name: &str, content: &[u8], inline: bool) -> Attachment {
    let p = dir.join(name);
    std::fs::write(&p, content).expect("write");
    let a = Attachment::new(&p, None, None).expect("attach");
    if inline {
        a.into_inline("host.example")
    } else {
        a
    }
}

/// The multipart boundaries of a message, outermost first; checks that
/// none is a prefix of another (RFC 2046 §5.1.2).
fn boundaries(text: &str) -> Vec<&str> {
    let found: Vec<&str> = text
        .match_indices("boundary=\"")
        .filter_map(|(i, m)| text[i + m.len()..].split('"').next())
        .collect();
    for a in &found {
        for b in &found {
            assert!(a == b || !a.starts_with(b), "{a} starts with {b}");
        }
    }
    found
}

/// Writes `m`; checks its size, CRLF line ends and line lengths.
fn render(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    let n = m.write_to(&mut out).expect("write");
    assert_eq!(n, out.len() as u64);
    assert_eq!(m.size(), n);
    for line in out.split_inclusive(|&b| b == b'\n') {
        assert!(
            line.ends_with(b"\r\n"),
            "{:?}",
            String::from_utf8_lossy(line)
        );
        assert!(line.len() <= 1000);
        assert!(!line[..line.len() - 2].contains(&b'\r'));
    }
    out
}

fn sha(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..3000u32).map(|i| (i * 7 % 251) as u8));
    b
}

#[test]
fn html_inline_and_attachment_nest_mixed_alternative_related() {
    let dir = tempfile::tempdir().expect("tempdir");
    let logo = file(dir.path(), "logo.png", &png(), true);
    let cid = logo.content_id.clone().expect("cid");
    let mut d = draft();
    d.body = "Hello in text\n".into();
    d.html = Some(format!(
        "<p>Hello <b>in HTML</b> ✓</p><img src=\"cid:{cid}\">\n"
    ));
    d.attachments = vec![logo, file(dir.path(), "report.pdf", b"%PDF-1.4 x", false)];
    let m = compose(&d, &stamp()).expect("compose");
    let bytes = render(&m);
    let msg = MessageParser::default().parse(&bytes).expect("parses");
    assert_eq!(
        shape(&msg, 0),
        "multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/pdf)"
    );
    let html = msg.body_html(0).expect("html");
    assert!(html.contains(&format!("cid:{cid}")), "{html}");
    assert!(html.contains("in HTML</b> ✓"), "{html}");
    assert_eq!(msg.body_text(0).as_deref(), Some("Hello in text\r\n"));
    let image = msg
        .parts
        .iter()
        .find(|p| p.content_id() == Some(cid.as_str()))
        .expect("a part with the Content-ID");
    assert_eq!(sha(image.contents()), sha(&png()));
    assert_eq!(
        image.content_disposition().map(|c| c.ctype()),
        Some("inline")
    );
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("multipart/related;"));
    assert!(text.contains("type=\"text/html\""));
    // Three boundaries, none a prefix of another.
    assert_eq!(boundaries(&text).len(), 3, "{text}");
    // The tree and the parts say the same.
    let t = m.tree();
    assert_eq!(t.part.content_type, "multipart/mixed");
    assert_eq!(
        t.children[0].children[1].children[1].part.content_id,
        Some(cid)
    );
    assert_eq!(t.children[1].part.attachment, Some(2));
    let kinds: Vec<String> = m.parts().iter().map(|p| p.content_type.clone()).collect();
    assert_eq!(
        kinds,
        [
            "text/plain; charset=utf-8",
            "text/html; charset=utf-8",
            "image/png",
            "application/pdf"
        ]
    );
    assert_eq!(m.parts()[1].encoding, "quoted-printable");
    assert_eq!(t.part.encoded_size, bytes.len() as u64 - header_len(&bytes));
}

/// Bytes up to and including the blank line that ends the header.
fn header_len(bytes: &[u8]) -> u64 {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |i| i as u64 + 4)
}

#[test]
fn html_alone_is_alternative_with_a_derived_text() {
    let mut d = draft();
    d.html = Some("<h1>Title</h1><p>One &amp; two<br>three</p><script>x()</script>".into());
    let m = compose(&d, &stamp()).expect("compose");
    let bytes = render(&m);
    let msg = MessageParser::default().parse(&bytes).expect("parses");
    assert_eq!(
        shape(&msg, 0),
        "multipart/alternative(text/plain,text/html)"
    );
    assert_eq!(
        msg.body_text(0).as_deref(),
        Some("Title\r\n\r\nOne & two\r\nthree\r\n")
    );
    assert_eq!(m.parts()[0].note.as_deref(), Some("derived from the HTML"));
    assert_eq!(m.parts()[1].encoding, "7bit");
    assert!(
        String::from_utf8_lossy(&bytes)
            .contains("Content-Transfer-Encoding: 7bit\r\n\r\nThis is a multi-part")
    );
}

#[test]
fn inline_parts_without_html_go_with_the_attachments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = draft();
    d.body = "text\n".into();
    d.attachments = vec![file(dir.path(), "logo.png", &png(), true)];
    let m = compose(&d, &stamp()).expect("compose");
    let bytes = render(&m);
    let msg = MessageParser::default().parse(&bytes).expect("parses");
    assert_eq!(shape(&msg, 0), "multipart/mixed(text/plain,image/png)");
    assert!(msg.parts[2].content_id().is_some());
}

#[test]
fn html_with_inline_and_no_attachment_has_no_mixed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = draft();
    d.html = Some("<img src=cid:x>".into());
    d.attachments = vec![
        file(dir.path(), "a.png", &png(), true),
        file(dir.path(), "b.png", b"", true),
    ];
    let m = compose(&d, &stamp()).expect("compose");
    let bytes = render(&m);
    let msg = MessageParser::default().parse(&bytes).expect("parses");
    assert_eq!(
        shape(&msg, 0),
        "multipart/alternative(text/plain,multipart/related(text/html,image/png,image/png))"
    );
}

#[test]
fn a_long_host_name_still_makes_a_valid_content_id() {
    // Found by fuzzing: a 190-octet host name made a Content-ID over the
    // 200 octets `compose` accepts, so the draft could not be sent.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("logo.png");
    std::fs::write(&path, b"x").expect("write");
    let labels = format!("mail.{}.example.org", "x".repeat(170));
    let one_label = "y".repeat(240);
    for (host, right) in [
        (labels.as_str(), "example.org"),
        (one_label.as_str(), "localhost.localdomain"),
    ] {
        let a = Attachment::new(&path, None, None)
            .expect("attach")
            .into_inline(host);
        let id = a.content_id.clone().expect("cid");
        assert!(id.len() <= 200, "{id}");
        assert!(id.ends_with(&format!("@{right}")), "{id}");
        let mut d = draft();
        d.html = Some(format!("<img src=\"cid:{id}\">"));
        d.attachments = vec![a];
        compose(&d, &stamp()).expect("compose takes the Content-ID it made");
    }
}

#[test]
fn content_ids_are_unique_and_safe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = file(dir.path(), "my logo (1).png", b"x", true);
    let b = file(dir.path(), "my logo (1).png", b"x", true);
    let (ia, ib) = (
        a.content_id.clone().expect("a"),
        b.content_id.clone().expect("b"),
    );
    assert_ne!(ia, ib);
    assert!(ia.starts_with("mylogo1.png."), "{ia}");
    assert!(ia.ends_with("@host.example"), "{ia}");
    let odd = file(dir.path(), "ü..", b"x", true);
    assert!(odd.content_id.expect("cid").starts_with("part."));
    // A Content-ID set by hand must still be an addr-spec: no injection.
    let mut d = draft();
    d.html = Some("<p>x</p>".into());
    let mut bad = a;
    bad.content_id = Some("x>\r\nBcc: y@z".into());
    d.attachments = vec![bad];
    assert!(matches!(
        compose(&d, &stamp()),
        Err(MimeError::BadContentId(_))
    ));
}

#[test]
fn a_boundary_in_the_html_is_avoided() {
    let mut d = draft();
    d.body = "t\n".into();
    d.html = Some("--=_alternative_smtpsh_0123456789abcdef0123456789abcdef\n--=_smtpsh_0123456789abcdef0123456789abcdef\n".into());
    let m = compose(&d, &stamp()).expect("compose");
    let bytes = render(&m);
    let msg = MessageParser::default().parse(&bytes).expect("parses");
    assert_eq!(
        shape(&msg, 0),
        "multipart/alternative(text/plain,text/html)"
    );
    assert_eq!(
        msg.body_html(0).as_deref().map(|h| h.lines().count()),
        Some(2)
    );
}

#[test]
fn any_stamp_boundary_gives_three_distinct_boundaries() {
    // Found by fuzzing: a stamp boundary with no safe character left the
    // outer boundary a bare `=_`, a prefix of every other, and the search
    // for the nested ones never ended.
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "µ!".repeat(300) + "x";
    for given in [
        "",
        "µµµµ",
        "=_",
        "1",
        "=_related_",
        "=_alternative_alternative_alternative_alternative_alternative_",
        long.as_str(),
    ] {
        let mut s = stamp();
        s.boundary = given.to_string();
        let mut d = draft();
        // The text holds what the first choices would be.
        d.body = "--=_smtpsh\n--=_1.smtpsh\n--=_alternative_\n".into();
        d.html = Some("<p>x</p>".into());
        d.attachments = vec![
            file(dir.path(), "i.png", &png(), true),
            file(dir.path(), "a.bin", b"abc", false),
        ];
        let m = compose(&d, &s).expect(given);
        let bytes = render(&m);
        let text = String::from_utf8_lossy(&bytes);
        let boundaries = boundaries(&text);
        assert_eq!(boundaries.len(), 3, "{given:?}: {boundaries:?}");
        for a in &boundaries {
            assert!(a.len() <= 70 && a.starts_with("=_"), "{a}");
            assert!(!d.body.contains(a), "{a} is in the text");
        }
        let msg = MessageParser::default().parse(&bytes).expect("parses");
        assert_eq!(
            shape(&msg, 0),
            "multipart/mixed(multipart/alternative(text/plain,multipart/related(text/html,image/png)),application/octet-stream)",
            "{given:?}"
        );
    }
}

#[test]
fn sizes_match_and_every_part_comes_back_for_many_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let htmls = [
        None,
        Some("<p>ascii</p>".to_string()),
        Some("<p>ünïcödé ✓</p>\r\n<br>".to_string()),
        Some(format!("<p>{}</p>", "x".repeat(3000))),
        Some("=_smtpsh_0123456789abcdef0123456789abcdef\n.\n..\n".to_string()),
    ];
    let bodies = ["", "text\n", "no final newline", "ü\r\nbare\rcr"];
    for html in &htmls {
        for body in bodies {
            for inline in 0..3usize {
                for attached in 0..2usize {
                    let mut d = draft();
                    d.body = body.to_string();
                    d.html = html.clone();
                    for i in 0..inline {
                        d.attachments.push(file(
                            dir.path(),
                            &format!("i{i}.png"),
                            &png()[..i * 700],
                            true,
                        ));
                    }
                    for i in 0..attached {
                        d.attachments.push(file(
                            dir.path(),
                            &format!("a{i}.bin"),
                            &png()[..100],
                            false,
                        ));
                    }
                    let case = format!("{html:?} {body:?} {inline} {attached}");
                    let m = compose(&d, &stamp()).expect("compose");
                    let bytes = render(&m);
                    let msg = MessageParser::default().parse(&bytes).expect(&case);
                    let leaves = msg
                        .parts
                        .iter()
                        .filter(|p| !matches!(p.body, PartType::Multipart(_)))
                        .count();
                    let want = 1 + usize::from(html.is_some()) + inline + attached;
                    assert_eq!(leaves, want, "{case}");
                    assert_eq!(m.parts().len(), want, "{case}");
                    assert_eq!(
                        m.tree().part.encoded_size,
                        bytes.len() as u64 - header_len(&bytes),
                        "{case}"
                    );
                    if let Some(h) = html {
                        let got = msg.body_html(0).expect(&case).replace("\r\n", "\n");
                        assert_eq!(
                            got.trim_end(),
                            h.replace("\r\n", "\n").replace('\r', "\n").trim_end(),
                            "{case}"
                        );
                    }
                }
            }
        }
    }
}
