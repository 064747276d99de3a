//! Composing HTML mail in-process: `body --html`, `attach --inline`, the
//! MIME tree and `cid:` warnings of `show`, numbering for `detach` and
//! `status`, `edit` refused in a script, and the message `send` delivers,
//! read back with mail-parser.

use super::{on, run, run_with};
use crate::mime::test_support::shape;
use crate::smtp::conn::memory::MemoryServer;
use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..5000u32).map(|i| (i * 13 % 256) as u8));
    b
}

#[test]
fn an_html_message_with_an_inline_image_is_sent_as_alternative_and_related() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, png()).expect("write");
    for line in [
        "from ann@example.org",
        "to bob@example.org",
        "subject with a logo",
        "body Hello in plain text.",
        &format!("attach --inline {}", logo.display()),
    ] {
        run(&mut s, line).unwrap_or_else(|f| panic!("{line}: {}", f.message));
    }
    let cid = s.draft.attachments[0]
        .content_id
        .clone()
        .expect("an inline part has a Content-ID");
    let said = out.take();
    assert!(
        said.contains(&format!(
            "attached inline 1: logo.png (image/png, 4.9 KiB (5008 bytes), base64) — reference it as <img src=\"cid:{cid}\">"
        )),
        "{said}"
    );
    assert!(said.contains("there is no HTML yet"), "{said}");
    let html_line = format!("<p>Hello <b>in HTML</b></p><img src=\"cid:{cid}\" alt=\"logo\">");
    run_with(&mut s, "body --html", &[&html_line, "."]).expect("body --html");
    let said = out.take();
    assert!(
        said.contains("HTML set (1 line") && said.contains("the text body comes first"),
        "{said}"
    );
    assert!(!said.contains("warning"), "{said}");

    run(&mut s, "show").expect("show");
    let shown = out.take();
    for needle in [
        "MIME structure:",
        "└─ multipart/alternative  (2 parts, ",
        "   ├─ text/plain; charset=utf-8  7bit  ",
        "   └─ multipart/related  (2 parts, ",
        "      ├─ text/html; charset=utf-8  7bit  ",
        &format!(
            "      └─ image/png  base64  4.9 KiB → 6.7 KiB  \"logo.png\"  cid:{cid}  (inline 1)"
        ),
        "total: 3 parts, ",
    ] {
        assert!(shown.contains(needle), "missing {needle:?}\n{shown}");
    }
    assert!(!shown.contains("not referenced"), "{shown}");

    run(&mut s, "status").expect("status");
    let status = out.take();
    assert!(
        status.contains("  inline 1:   logo.png (image/png, "),
        "{status}"
    );
    assert!(status.contains(&format!(" cid:{cid}")), "{status}");
    assert!(status.contains("  html:       "), "{status}");

    run(&mut s, "send").expect("send");
    let messages = server.messages();
    let raw = messages.last().expect("a message");
    let raw = String::from_utf8_lossy(raw).replace("\r\n..", "\r\n.");
    let msg = MessageParser::default()
        .parse(raw.as_bytes())
        .expect("mail-parser parses it");
    assert_eq!(
        shape(&msg, 0),
        "multipart/alternative(text/plain,multipart/related(text/html,image/png))"
    );
    assert!(
        msg.body_html(0)
            .expect("html")
            .contains(&format!("cid:{cid}"))
    );
    let image = msg
        .parts
        .iter()
        .find(|p| p.content_id() == Some(cid.as_str()))
        .expect("the image has the Content-ID the HTML names");
    assert_eq!(
        Sha256::digest(image.contents()).to_vec(),
        Sha256::digest(png()).to_vec()
    );
    // The next draft starts without the HTML.
    assert!(s.draft.html.is_none() && s.draft.attachments.is_empty());
    run(&mut s, "new --again").expect("new --again");
    assert!(s.draft.html.is_some() && s.draft.attachments[0].is_inline());
}

#[test]
fn show_warns_about_cid_references_both_ways() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let pic = dir.path().join("pic.gif");
    std::fs::write(&pic, b"GIF89a").expect("write");
    run(&mut s, &format!("attach --inline {}", pic.display())).expect("attach");
    let html = dir.path().join("page.html");
    std::fs::write(&html, "<img src='cid:missing@example.org'>\n").expect("write");
    run(&mut s, &format!("body --html {}", html.display())).expect("body --html FILE");
    let said = out.take();
    assert!(said.contains("a text version is derived from it"), "{said}");
    assert!(
        said.contains(
            "the HTML refers to cid:missing@example.org, but no inline part has that Content-ID \
             (`attach FILE --cid missing@example.org` adds one"
        ),
        "{said}"
    );
    assert!(
        said.contains("inline part 1 (pic.gif) is not referenced by the HTML"),
        "{said}"
    );
    run(&mut s, "show").expect("show");
    let shown = out.take();
    assert!(shown.contains("(derived from the HTML)"), "{shown}");
    assert!(
        shown.contains("cid:missing@example.org, but no inline part"),
        "{shown}"
    );
    // An empty `body --html` removes the HTML; the inline part then has
    // nothing to show it.
    run_with(&mut s, "body --html", &["."]).expect("remove");
    assert!(s.draft.html.is_none());
    let said = out.take();
    assert!(said.contains("HTML removed"), "{said}");
    run(&mut s, "show").expect("show");
    let shown = out.take();
    assert!(shown.contains("└─ multipart/mixed"), "{shown}");
    assert!(
        shown.contains("inline part 1 (pic.gif) has no HTML to show it"),
        "{shown}"
    );
}

#[test]
fn attachments_and_inline_parts_share_one_numbering() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, false);
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["a.txt", "b.png", "c.pdf"] {
        std::fs::write(dir.path().join(name), b"x").expect("write");
    }
    let p = |n: &str| dir.path().join(n).display().to_string();
    run(&mut s, &format!("attach {}", p("a.txt"))).expect("attach");
    run(&mut s, &format!("attach --inline {}", p("b.png"))).expect("attach");
    run(&mut s, &format!("attach {}", p("c.pdf"))).expect("attach");
    let e = run(&mut s, "body --html <p>x</p>").expect_err("a FILE, not text");
    assert!(e.message.contains("takes a FILE"), "{}", e.message);
    std::fs::write(dir.path().join("x.html"), "<img src=\"cid:nothing@x\">").expect("write");
    run(&mut s, &format!("body --html --file {}", p("x.html"))).expect("--html --file");
    out.take();
    run(&mut s, "show").expect("show");
    let shown = out.take();
    assert!(shown.contains("\"a.txt\"  (attachment 1)"), "{shown}");
    assert!(shown.contains("(inline 2)"), "{shown}");
    assert!(shown.contains("\"c.pdf\"  (attachment 3)"), "{shown}");
    assert!(shown.contains("└─ multipart/mixed  (3 parts, "), "{shown}");
    run(&mut s, "detach 2").expect("detach");
    let said = out.take();
    assert!(said.contains("removed inline part 2: b.png"), "{said}");
    assert!(said.contains("numbered one less"), "{said}");
    run(&mut s, "detach 2").expect("detach");
    assert!(out.take().contains("removed attachment 2: c.pdf"));
    let e = run(&mut s, "detach 2").expect_err("only one left");
    assert!(e.message.contains("(1-1)"), "{}", e.message);
}

#[test]
fn edit_is_refused_in_a_script_and_changes_nothing() {
    let server = MemoryServer::default();
    let (mut s, _out) = on(&server, false);
    run(&mut s, "body keep me").expect("body");
    for line in ["edit", "edit --html"] {
        let e = run(&mut s, line).expect_err("no terminal");
        assert!(e.message.contains("needs a terminal"), "{}", e.message);
        assert!(
            e.hint.as_deref().is_some_and(|h| h.contains("body")),
            "{:?}",
            e.hint
        );
    }
    assert_eq!(s.draft.body, "keep me");
    assert!(s.draft.html.is_none());
}

#[test]
fn cid_chooses_the_content_id_once() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let pic = dir.path().join("pic.png");
    std::fs::write(&pic, png()).expect("write");
    let p = pic.display().to_string();
    run(&mut s, &format!("attach {p} --cid <logo@example.org>")).expect("--cid");
    assert!(s.draft.attachments[0].is_inline());
    assert!(
        out.take()
            .contains("reference it as <img src=\"cid:logo@example.org\">")
    );
    let e = run(&mut s, &format!("attach --cid LOGO@example.org {p}")).expect_err("taken");
    assert!(
        e.message.contains("inline part 1 already has"),
        "{}",
        e.message
    );
    for bad in ["logo", "a b@c", "x@", "50%@x", "a..b@c"] {
        let e = run(&mut s, &format!("attach {p} --cid '{bad}'")).expect_err(bad);
        assert!(e.message.contains("invalid Content-ID"), "{}", e.message);
    }
    let e = run(&mut s, &format!("attach {p} {p} --cid x@y")).expect_err("two files");
    assert!(e.message.contains("one file"), "{}", e.message);
    assert_eq!(s.draft.attachments.len(), 1);
}

#[test]
fn a_cid_the_html_does_not_use_is_said_at_attach_and_again_at_send() {
    let server = MemoryServer::default();
    let (mut s, out) = on(&server, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, png()).expect("write");
    for line in ["from ann@example.org", "to bob@example.org", "body plain"] {
        run(&mut s, line).unwrap_or_else(|f| panic!("{line}: {}", f.message));
    }
    run_with(
        &mut s,
        "body --html",
        &["<p>Hi <img src=\"cid:logo\"></p>", "."],
    )
    .expect("html");
    let said = out.take();
    assert!(said.contains("the HTML refers to cid:logo"), "{said}");
    // The user gives the part another Content-ID than the HTML uses.
    run(
        &mut s,
        &format!("attach {} --inline --cid logo@x", logo.display()),
    )
    .expect("attach");
    let said = out.take();
    assert!(
        said.contains("the HTML refers to cid:logo, but no inline part"),
        "{said}"
    );
    // `--cid logo` would be refused (not left@right): the hint says how.
    assert!(
        said.contains(
            "write it as left@right in the HTML, cid:logo@example.org, then `attach FILE --cid logo@example.org`"
        ),
        "{said}"
    );
    assert!(
        said.contains(
            "inline part 1 (logo.png) is not referenced by the HTML: use <img src=\"cid:logo@x\">"
        ),
        "{said}"
    );
    // `send` says it once more, then sends: the user may mean it.
    run(&mut s, "send").expect("send");
    let said = out.take();
    assert!(
        said.contains("the HTML refers to cid:logo, but no inline part"),
        "{said}"
    );
    assert!(said.contains("message accepted"), "{said}");
}
