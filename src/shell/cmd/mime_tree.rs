//! What `show` says about the message's structure: the MIME tree of the
//! composed draft, and the `cid:` references of its HTML that do not match
//! its inline parts (both ways).

use crate::mime::html::cid_references;
use crate::mime::{Draft, PartTree};
use crate::text::short_bytes;

/// The tree as lines, one a part:
/// `└─ image/png  base64  3.0 KiB → 4.1 KiB  "logo.png"  cid:ID  (inline 2)`;
/// a multipart as `├─ multipart/related  (2 parts, 5.3 KiB)`.
pub fn render(root: &PartTree) -> Vec<String> {
    let mut out = Vec::new();
    draw(root, "", true, &mut out);
    out
}

fn draw(t: &PartTree, prefix: &str, last: bool, out: &mut Vec<String>) {
    let branch = if last { "└─ " } else { "├─ " };
    let p = &t.part;
    let mut line = format!("{prefix}{branch}{}", p.content_type);
    if t.children.is_empty() {
        line.push_str(&format!("  {}  {}", p.encoding, short_bytes(p.raw_size)));
        if p.encoded_size != p.raw_size {
            line.push_str(&format!(" → {}", short_bytes(p.encoded_size)));
        }
        if let Some(name) = &p.name {
            line.push_str(&format!("  \"{name}\""));
        }
        if let Some(id) = &p.content_id {
            line.push_str(&format!("  cid:{id}"));
        }
        match (p.attachment, &p.content_id) {
            (Some(n), Some(_)) => line.push_str(&format!("  (inline {n})")),
            (Some(n), None) => line.push_str(&format!("  (attachment {n})")),
            _ => {}
        }
        if let Some(note) = &p.note {
            line.push_str(&format!("  ({note})"));
        }
    } else {
        line.push_str(&format!(
            "  ({} parts, {})",
            t.children.len(),
            short_bytes(p.encoded_size)
        ));
    }
    out.push(line);
    let inner = format!("{prefix}{}", if last { "   " } else { "│  " });
    for (i, c) in t.children.iter().enumerate() {
        draw(c, &inner, i + 1 == t.children.len(), out);
    }
}

/// Warnings about the draft's `cid:` references: one for each reference
/// in the HTML that no inline part has, one for each inline part the HTML
/// does not reference (or, without HTML, that nothing can reference).
pub fn reference_warnings(d: &Draft) -> Vec<String> {
    let inline: Vec<(usize, &str, &str)> = d
        .attachments
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            a.content_id
                .as_deref()
                .map(|id| (i + 1, a.name.as_str(), id))
        })
        .collect();
    let Some(html) = &d.html else {
        return inline
            .iter()
            .map(|(n, name, _)| {
                format!(
                    "inline part {n} ({name}) has no HTML to show it: it is sent as an \
                     attachment until `body --html` adds the HTML"
                )
            })
            .collect();
    };
    let refs = cid_references(html);
    let mut out = Vec::new();
    for r in &refs {
        if !inline.iter().any(|(_, _, id)| id.eq_ignore_ascii_case(r)) {
            let fix = if crate::mime::draft::check_content_id(r).is_ok() {
                format!("`attach FILE --cid {r}` adds one")
            } else {
                // `--cid` takes only left@right (RFC 2392).
                format!(
                    "write it as left@right in the HTML, cid:{r}@example.org, then `attach FILE --cid {r}@example.org`"
                )
            };
            out.push(format!(
                "the HTML refers to cid:{r}, but no inline part has that Content-ID \
                 ({fix}; `status` lists their cid:)"
            ));
        }
    }
    for (n, name, id) in &inline {
        if !refs.iter().any(|r| r.eq_ignore_ascii_case(id)) {
            out.push(format!(
                "inline part {n} ({name}) is not referenced by the HTML: \
                 use <img src=\"cid:{id}\">"
            ));
        }
    }
    out
}
