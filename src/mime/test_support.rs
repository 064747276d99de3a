//! What the MIME tests (here and in the shell) share: a fixed stamp, and
//! the part tree mail-parser reads back.

use super::Stamp;
use mail_parser::{MimeHeaders, PartType};

/// A fixed Date, Message-ID and boundary, so output is reproducible.
pub fn stamp() -> Stamp {
    Stamp {
        date: "Thu, 26 Nov 2026 14:31:10 +0000".to_string(),
        message_id: "<1795703470.0123456789abcdef@example.com>".to_string(),
        boundary: "=_smtpsh_0123456789abcdef0123456789abcdef".to_string(),
    }
}

/// mail-parser's part tree from part `id` as `type(children...)`.
pub fn shape(msg: &mail_parser::Message<'_>, id: u32) -> String {
    let Some(part) = msg.parts.get(id as usize) else {
        return "?".to_string();
    };
    let t = part
        .content_type()
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
        .unwrap_or_default();
    match &part.body {
        PartType::Multipart(ids) => {
            let inner: Vec<String> = ids.iter().map(|&i| shape(msg, i)).collect();
            format!("{t}({})", inner.join(","))
        }
        _ => t,
    }
}
