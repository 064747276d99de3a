//! The checks of an HTML message with an inline image, read back by
//! mail-parser: its structure, the Content-ID the HTML refers to, and the
//! image's SHA-256.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

/// A part's `type/subtype`, lower case.
fn mime_type(msg: &Message<'_>, id: u32) -> String {
    msg.parts
        .get(id as usize)
        .and_then(|p| p.content_type())
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")).to_ascii_lowercase())
        .unwrap_or_default()
}

/// The ids of a multipart's parts (empty for any other part).
fn children(msg: &Message<'_>, id: u32) -> Vec<u32> {
    match msg.parts.get(id as usize).map(|p| &p.body) {
        Some(PartType::Multipart(ids)) => ids.clone(),
        _ => Vec::new(),
    }
}

/// Checks `data`: a multipart/alternative (the message itself, or the
/// first part of a multipart/mixed whose other parts are `attachments`
/// many) holding text/plain (containing `text`) and a multipart/related
/// of text/html (containing `html` and `cid:CID`) and one image part with
/// `Content-ID: <CID>`, `Content-Disposition: inline`, whose decoded bytes
/// have `image`'s SHA-256. Returns the decoded HTML.
pub fn check_html_with_inline_image(
    data: &[u8],
    cid: &str,
    text: &str,
    html: &str,
    image: &[u8],
    attachments: usize,
) -> String {
    use sha2::{Digest, Sha256};
    let msg = MessageParser::default()
        .parse(data)
        .expect("mail-parser cannot parse the message");
    let alternative = if attachments == 0 {
        0
    } else {
        assert_eq!(mime_type(&msg, 0), "multipart/mixed");
        let parts = children(&msg, 0);
        assert_eq!(parts.len(), 1 + attachments, "the parts of multipart/mixed");
        parts[0]
    };
    assert_eq!(mime_type(&msg, alternative), "multipart/alternative");
    let alt = children(&msg, alternative);
    assert_eq!(alt.len(), 2, "multipart/alternative has text and HTML");
    assert_eq!(
        mime_type(&msg, alt[0]),
        "text/plain",
        "the text comes first"
    );
    assert_eq!(mime_type(&msg, alt[1]), "multipart/related");
    let related = children(&msg, alt[1]);
    assert_eq!(
        related.len(),
        2,
        "multipart/related: the HTML and the image"
    );
    assert_eq!(mime_type(&msg, related[0]), "text/html");
    assert!(mime_type(&msg, related[1]).starts_with("image/"));

    let text_part = &msg.parts[alt[0] as usize];
    // Line ends compared as LF: the text is written with CRLF.
    let got_text = text_part
        .text_contents()
        .expect("text/plain is text")
        .replace("\r\n", "\n");
    assert!(got_text.contains(text), "{got_text:?} lacks {text:?}");
    let html_part = &msg.parts[related[0] as usize];
    let got_html = html_part
        .text_contents()
        .expect("text/html is text")
        .replace("\r\n", "\n");
    assert!(got_html.contains(html), "{got_html:?} lacks {html:?}");
    assert!(
        got_html.contains(&format!("cid:{cid}")),
        "the HTML does not refer to cid:{cid}: {got_html}"
    );

    let image_part = &msg.parts[related[1] as usize];
    assert_eq!(image_part.content_id(), Some(cid), "the image's Content-ID");
    assert_eq!(
        image_part.content_disposition().map(|d| d.ctype()),
        Some("inline")
    );
    assert_eq!(
        Sha256::digest(image_part.contents()).to_vec(),
        Sha256::digest(image).to_vec(),
        "the image's SHA-256"
    );
    got_html
}
