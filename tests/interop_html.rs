//! An HTML message with an inline image and an attachment, composed by the
//! real binary in a script (`body`, `body --html` typed up to a lone `.`,
//! `attach --cid`, `attach`), sent to aiosmtpd and read back by
//! mail-parser: the structure, the Content-ID the HTML refers to, the
//! image's SHA-256; the SIZE= given and the `save`d file equal the bytes
//! the server received.
#![cfg(feature = "interop")]

mod support;

use std::fs;
use support::html::check_html_with_inline_image;
use support::*;

#[test]
fn html_with_an_inline_image_and_an_attachment_through_aiosmtpd() {
    let server = Aiosmtpd::start();
    let work = tempfile::tempdir().unwrap();
    let png = tiny_png();
    let png_path = work.path().join("logo.png");
    fs::write(&png_path, &png).unwrap();
    let report = random_bytes(200_000, 13);
    let report_path = work.path().join("report.bin");
    fs::write(&report_path, &report).unwrap();
    let saved = work.path().join("html.eml");
    let script = format!(
        "from ann@example.com\n\
         to bob@example.com\n\
         subject HTML through aiosmtpd ✓\n\
         body\n\
         Hello Bob, the plain version.\n\
         .\n\
         attach {png} --cid logo.1@example.com\n\
         body --html\n\
         <html><body>\n\
         <p>Hello <b>Bob</b>, the HTML version ✓</p>\n\
         <p><img src=\"cid:logo.1@example.com\" alt=\"logo\"></p>\n\
         .starts with a dot, a line for the dot-stuffer\n\
         </body></html>\n\
         .\n\
         attach {report}\n\
         show\n\
         save {saved}\n\
         connect 127.0.0.1 {port}\n\
         send\n",
        png = quote(&path_str(&png_path)),
        report = quote(&path_str(&report_path)),
        saved = quote(&path_str(&saved)),
        port = server.port,
    );
    let out = run_script(&script);
    assert_exit(&out, 0, &server.describe());
    let shown = stdout(&out);
    assert!(shown.contains("└─ multipart/mixed  (2 parts, "), "{shown}");
    assert!(!shown.contains("not referenced"), "{shown}");

    let msgs = server.wait_for_messages_after(1, &out);
    assert_eq!(msgs.len(), 1, "{}", server.describe());
    let m = &msgs[0];
    let html = check_html_with_inline_image(
        &m.data,
        "logo.1@example.com",
        "Hello Bob, the plain version.",
        "<p>Hello <b>Bob</b>, the HTML version ✓</p>",
        &png,
        1,
    );
    assert!(
        html.contains("\n.starts with a dot, a line for the dot-stuffer\n"),
        "{html}"
    );
    let msg = mail_parser::MessageParser::default()
        .parse(&m.data)
        .unwrap();
    let attachment = msg
        .attachment(1)
        .expect("the report is the second attachment");
    use mail_parser::MimeHeaders;
    assert_eq!(attachment.attachment_name(), Some("report.bin"));
    assert_eq!(sha256_hex(attachment.contents()), sha256_hex(&report));

    assert!(
        m.mail_options.contains(&format!("SIZE={}", m.data.len())),
        "SIZE= must be the exact size: {:?} for {} bytes",
        m.mail_options,
        m.data.len()
    );
    assert!(
        fs::read(&saved).unwrap() == m.data,
        "the saved .eml differs from the bytes sent"
    );
}
