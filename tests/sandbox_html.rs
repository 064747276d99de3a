//! An HTML message with an inline image, composed by the real binary in a
//! script (`body --html FILE`, `attach --cid`), sent to the built-in
//! sandbox, and read back from its Maildir by mail-parser: the structure,
//! the Content-ID the HTML refers to, the image's SHA-256. `show` and
//! `inbox` draw the tree on the way.

mod support;

use std::fs;
use std::path::Path;
use std::time::Duration;
use support::html::check_html_with_inline_image;
use support::{assert_exit, run_with_timeout, sha256_hex, smtpsh, stdout, tiny_png};

/// A safety net: the run ends on its own in seconds.
const RUN: Duration = Duration::from_secs(90);

const HTML: &str = "<!DOCTYPE html>\n<html><head><style>p { color: #333 }</style></head>\n\
<body><h1>Quarterly news</h1>\n<p>Hello Bob &amp; team, here is the logo:</p>\n\
<p><img src=\"cid:logo@smtpsh.test\" alt=\"our logo\"></p>\n\
<p>Grüße — see <a href=\"https://example.org/news\">the news</a>.</p></body></html>\n";

fn stored_message(maildir: &Path) -> Vec<u8> {
    let file = fs::read_dir(maildir.join("new"))
        .expect("Maildir/new")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .next()
        .expect("one stored message");
    fs::read(file).expect("read the stored message")
}

#[test]
fn an_html_message_with_an_inline_image_reaches_the_sandbox_whole() {
    let data = tempfile::tempdir().expect("temp dir");
    let work = tempfile::tempdir().expect("temp dir");
    let png = tiny_png();
    fs::write(work.path().join("logo.png"), &png).expect("write");
    fs::write(work.path().join("mail.html"), HTML).expect("write");
    let script = work.path().join("html.smtpsh");
    fs::write(
        &script,
        "from you@example.com\nto bob@example.org\nsubject HTML with a logo\n\
         attach logo.png --cid logo@smtpsh.test\nbody --html mail.html\nshow\nsend\ninbox 1\n",
    )
    .expect("write script");
    let mut cmd = smtpsh();
    cmd.env("SMTPSH_SANDBOX_DIR", data.path())
        .current_dir(work.path())
        .arg("--sandbox")
        .arg("-f")
        .arg(&script);
    let out = run_with_timeout(cmd, RUN);
    assert_exit(&out, 0, "the HTML script");
    let text = stdout(&out);
    for needle in [
        "attached inline 1: logo.png (image/png, ",
        "reference it as <img src=\"cid:logo@smtpsh.test\">",
        "a text version is derived from it",
        "└─ multipart/alternative  (2 parts, ",
        "   ├─ text/plain; charset=utf-8  quoted-printable  ",
        "(derived from the HTML)",
        "   └─ multipart/related  (2 parts, ",
        "      ├─ text/html; charset=utf-8  quoted-printable  ",
        "      └─ image/png  base64  ",
        "\"logo.png\"  cid:logo@smtpsh.test  (inline 1)",
    ] {
        assert!(text.contains(needle), "missing {needle:?}\n{text}");
    }
    assert!(!text.contains("not referenced"), "{text}");
    // The sandbox's own tree of what it stored: the image's digest (its
    // first 12 hex digits, as `inbox N` shows it).
    let png_line = text
        .lines()
        .find(|l| l.contains("image/png") && l.contains("sha256"))
        .unwrap_or_else(|| panic!("inbox shows no image part\n{text}"));
    assert!(png_line.contains(&sha256_hex(&png)[..12]), "{png_line}");

    let stored = stored_message(&data.path().join("Maildir"));
    let html = check_html_with_inline_image(
        &stored,
        "logo@smtpsh.test",
        "Quarterly news\n\nHello Bob & team, here is the logo:\n\n[our logo]\n\n\
         Grüße — see the news <https://example.org/news>.",
        "<img src=\"cid:logo@smtpsh.test\" alt=\"our logo\">",
        &png,
        0,
    );
    assert!(html.contains("Grüße — see"), "{html}");
}
