//! The MIME structure of a composed draft, and its serialisation into
//! [`Segment`]s.
//!
//! ```text
//! multipart/mixed                      only with attachments
//! ├─ multipart/alternative             only with an HTML version
//! │  ├─ text/plain                     the text (or derived from the HTML)
//! │  └─ multipart/related              only with inline parts
//! │     ├─ text/html
//! │     └─ inline parts (Content-ID)
//! └─ attachments...
//! ```
//!
//! A draft with text only (and attachments) gives the bytes it gave before
//! HTML existed. Inline parts of a draft without HTML (nothing can refer
//! to them) go with the attachments, `Content-Disposition: inline`.

use super::draft::{Attachment, Draft, Stamp};
use super::encode::{base64_encoded_len, normalize_newlines, parameter_header, quoted_printable};
use super::html::html_to_text;
use super::message::{
    MimeError, PREAMBLE, PartSummary, Segment, attachment_headers, pick_boundary,
};
use std::path::PathBuf;

/// A part of the composed message as `show` draws it: the part, and for a
/// multipart its parts. A multipart's sizes are those of its body (its
/// parts with their headers and the boundary lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartTree {
    /// This part.
    pub part: PartSummary,
    /// Its parts, for a multipart; empty otherwise.
    pub children: Vec<PartTree>,
}

/// The body of a leaf: bytes, or a file written as base64.
enum Body {
    Bytes(Vec<u8>),
    File { path: PathBuf, size: u64 },
}

/// A node of the structure.
enum Node {
    Leaf {
        /// Content-Type and the rest, each ending in CRLF; no blank line.
        headers: String,
        body: Body,
        summary: PartSummary,
    },
    Multi {
        /// `mixed`, `alternative`, `related`.
        subtype: &'static str,
        boundary: String,
        children: Vec<Node>,
    },
}

/// What [`compose`](super::compose) gets: the segments to write, the leaf
/// parts in order, and the tree.
pub(super) struct Plan {
    pub(super) segments: Vec<Segment>,
    pub(super) parts: Vec<PartSummary>,
    pub(super) tree: PartTree,
}

/// Builds the structure of `draft` under the top-level header block
/// `head` (up to, not including, Content-Type). Re-checks every attached
/// file.
pub(super) fn plan(draft: &Draft, stamp: &Stamp, head: String) -> Result<Plan, MimeError> {
    let root = build(draft, stamp)?;
    let mut e = Emitter::default();
    e.push(head.as_bytes());
    e.push(node_headers(&root, true).as_bytes());
    e.push(b"\r\n");
    let tree = e.body(root, true);
    let Emitter {
        mut segments,
        bytes,
        parts,
        ..
    } = e;
    if !bytes.is_empty() || segments.is_empty() {
        segments.push(Segment::Bytes(bytes));
    }
    Ok(Plan {
        segments,
        parts,
        tree,
    })
}

/// The tree of nodes for `draft`.
fn build(draft: &Draft, stamp: &Stamp) -> Result<Node, MimeError> {
    let html = draft.html.as_deref();
    let derived = html.is_some() && draft.body.trim().is_empty();
    let text_source = match html {
        Some(h) if derived => html_to_text(h),
        _ => draft.body.clone(),
    };
    let mut text = text_leaf(&text_source, "text/plain");
    if derived && let Node::Leaf { summary, .. } = &mut text {
        summary.note = Some("derived from the HTML".to_string());
    }
    let html_leaf = html.map(|h| text_leaf(h, "text/html"));
    // The boundaries must not occur in what is written as it is.
    let mut in_memory = leaf_bytes(&text).to_vec();
    if let Some(h) = &html_leaf {
        in_memory.extend_from_slice(leaf_bytes(h));
    }
    let mut taken: Vec<String> = Vec::new();

    let mut inline = Vec::new();
    let mut others = Vec::new();
    for (i, att) in draft.attachments.iter().enumerate() {
        let leaf = file_leaf(att, i + 1)?;
        if att.is_inline() && html.is_some() {
            inline.push(leaf);
        } else {
            others.push(leaf);
        }
    }

    let mut content = match html_leaf {
        None => text,
        Some(h) => {
            let html_node = if inline.is_empty() {
                h
            } else {
                let mut children = vec![h];
                children.append(&mut inline);
                Node::Multi {
                    subtype: "related",
                    boundary: String::new(),
                    children,
                }
            };
            Node::Multi {
                subtype: "alternative",
                boundary: String::new(),
                children: vec![text, html_node],
            }
        }
    };
    if others.is_empty() {
        name_boundaries(&mut content, stamp, &in_memory, &mut taken);
        return Ok(content);
    }
    let mut children = vec![content];
    children.append(&mut others);
    // The outer boundary is chosen first, as before HTML existed.
    let mut root = Node::Multi {
        subtype: "mixed",
        boundary: String::new(),
        children,
    };
    name_boundaries(&mut root, stamp, &in_memory, &mut taken);
    Ok(root)
}

/// Gives each multipart, outermost first, a boundary: the stamp's for the
/// first, `=_` + its subtype + the rest of the stamp's for the others; none
/// occurs in `in_memory`, and none is a prefix of another (RFC 2046
/// §5.1.2: a nested boundary must not start with an enclosing one).
fn name_boundaries(node: &mut Node, stamp: &Stamp, in_memory: &[u8], taken: &mut Vec<String>) {
    let Node::Multi {
        subtype,
        boundary,
        children,
    } = node
    else {
        return;
    };
    let base = if taken.is_empty() {
        stamp.boundary.clone()
    } else {
        format!("=_{subtype}_{}", stamp.boundary.trim_start_matches("=_"))
    };
    let chosen = pick_boundary(&base, in_memory, |c| {
        taken
            .iter()
            .any(|t| t.starts_with(c) || c.starts_with(t.as_str()))
    });
    taken.push(chosen.clone());
    *boundary = chosen;
    for c in children {
        name_boundaries(c, stamp, in_memory, taken);
    }
}

/// The encoded body of a leaf held in memory (empty for a file).
fn leaf_bytes(node: &Node) -> &[u8] {
    match node {
        Node::Leaf {
            body: Body::Bytes(b),
            ..
        } => b,
        _ => &[],
    }
}

/// A text part of type `mime` (`text/plain`, `text/html`), charset
/// utf-8: line endings made CRLF, a final one added; 7bit when ASCII
/// without NUL and lines of at most 998 octets, else quoted-printable.
fn text_leaf(source: &str, mime: &str) -> Node {
    let mut body = normalize_newlines(source);
    if !body.is_empty() && !body.ends_with("\r\n") {
        body.push_str("\r\n");
    }
    let seven_bit =
        body.is_ascii() && !body.contains('\0') && body.split("\r\n").all(|l| l.len() <= 998);
    let (encoding, bytes) = if seven_bit {
        ("7bit", body.clone().into_bytes())
    } else {
        ("quoted-printable", quoted_printable(body.as_bytes()))
    };
    let content_type = format!("{mime}; charset=utf-8");
    Node::Leaf {
        headers: format!(
            "Content-Type: {content_type}\r\nContent-Transfer-Encoding: {encoding}\r\n"
        ),
        summary: PartSummary {
            content_type,
            encoding: encoding.to_string(),
            name: None,
            content_id: None,
            attachment: None,
            note: None,
            raw_size: body.len() as u64,
            encoded_size: bytes.len() as u64,
        },
        body: Body::Bytes(bytes),
    }
}

/// Attachment number `number` (from 1, as `status` lists them) as a leaf.
fn file_leaf(att: &Attachment, number: usize) -> Result<Node, MimeError> {
    let (content_type, headers) = attachment_headers(att)?;
    Ok(Node::Leaf {
        headers,
        summary: PartSummary {
            content_type,
            encoding: "base64".to_string(),
            name: Some(att.name.clone()),
            content_id: att.content_id.clone(),
            attachment: Some(number),
            note: None,
            raw_size: att.size,
            encoded_size: base64_encoded_len(att.size),
        },
        body: Body::File {
            path: att.path.clone(),
            size: att.size,
        },
    })
}

/// A node's own headers (each ending in CRLF, no blank line). The
/// top-level multipart says `Content-Transfer-Encoding: 7bit`, as it
/// always has; a nested one leaves it to the default.
fn node_headers(node: &Node, top: bool) -> String {
    match node {
        Node::Leaf { headers, .. } => headers.clone(),
        Node::Multi {
            subtype, boundary, ..
        } => {
            let mut params = vec![format!("boundary=\"{boundary}\"")];
            if *subtype == "related" {
                // RFC 2387 §3.1: the type of the root part.
                params.push("type=\"text/html\"".to_string());
            }
            let mut h = parameter_header("Content-Type", &format!("multipart/{subtype}"), &params);
            if top {
                h.push_str("Content-Transfer-Encoding: 7bit\r\n");
            }
            h
        }
    }
}

/// Collects segments, counting what they will write.
#[derive(Default)]
struct Emitter {
    segments: Vec<Segment>,
    bytes: Vec<u8>,
    /// Bytes planned so far.
    offset: u64,
    parts: Vec<PartSummary>,
}

impl Emitter {
    fn push(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
        self.offset += b.len() as u64;
    }
    fn file(&mut self, path: PathBuf, size: u64) {
        self.segments
            .push(Segment::Bytes(std::mem::take(&mut self.bytes)));
        self.segments.push(Segment::File { path, size });
        self.offset += base64_encoded_len(size);
    }
    /// Writes `node`'s body (its headers are written already).
    fn body(&mut self, node: Node, top: bool) -> PartTree {
        match node {
            Node::Leaf { body, summary, .. } => {
                match body {
                    Body::Bytes(b) => self.push(&b),
                    Body::File { path, size } => self.file(path, size),
                }
                self.parts.push(summary.clone());
                PartTree {
                    part: summary,
                    children: Vec::new(),
                }
            }
            Node::Multi {
                subtype,
                boundary,
                children,
            } => {
                let start = self.offset;
                if top {
                    self.push(PREAMBLE.as_bytes());
                }
                let mut trees = Vec::new();
                for (i, child) in children.into_iter().enumerate() {
                    let delimiter = if i == 0 && !top {
                        format!("--{boundary}\r\n")
                    } else {
                        format!("\r\n--{boundary}\r\n")
                    };
                    self.push(delimiter.as_bytes());
                    self.push(node_headers(&child, false).as_bytes());
                    self.push(b"\r\n");
                    trees.push(self.body(child, false));
                }
                self.push(format!("\r\n--{boundary}--").as_bytes());
                if top {
                    self.push(b"\r\n");
                }
                let size = self.offset - start;
                PartTree {
                    part: PartSummary {
                        content_type: format!("multipart/{subtype}"),
                        encoding: "7bit".to_string(),
                        name: None,
                        content_id: None,
                        attachment: None,
                        note: None,
                        raw_size: size,
                        encoded_size: size,
                    },
                    children: trees,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
