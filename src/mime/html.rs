//! What smtpsh reads out of an HTML body: a plain-text version of it (for
//! the text/plain half of multipart/alternative when no text was given),
//! and the `cid:` references it makes to inline parts.
//!
//! A small tag stripper rather than an HTML parser crate: the text is a
//! fallback for readers without HTML, so line breaks at block elements, no
//! script or style, and the common entities decoded are what matters; a
//! full parser (html5ever) would be a large dependency for that. It never
//! fails and never panics, whatever the input (it is fuzzed with the rest
//! of the writer's inputs through the tests below and the shell's).

/// Elements whose start and end make a line break.
const BLOCKS: [&str; 21] = [
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "tr",
    "table",
    "blockquote",
    "pre",
    "hr",
    "section",
    "article",
    "header",
    "footer",
    "title",
    "dd",
];

/// Elements whose content is dropped.
const HIDDEN: [&str; 4] = ["script", "style", "head", "template"];

/// A plain-text version of `html`: tags removed, `<script>`, `<style>` and
/// `<head>` with their content dropped, comments dropped, a line break at
/// `<br>` and around block elements (`<p>`, `<div>`, headings, ...), `- `
/// before each `<li>`, a link's target after its text (`text <URL>`)
/// when it is an address the text does not already show, an image's `alt`
/// text in brackets, the common entities decoded, runs of blanks made one
/// space outside `<pre>`, at most one empty line in a row. Control
/// characters other than line breaks and tabs are dropped. The result is
/// empty or ends with a line break.
pub fn html_to_text(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut w = TextWriter::default();
    let mut i = 0;
    let mut link: Option<(String, usize)> = None;
    while i < html.len() {
        let rest = &html[i..];
        if !rest.starts_with('<') {
            let end = rest.find('<').map_or(html.len(), |n| i + n);
            w.text(&decode_entities(&html[i..end]));
            i = end;
            continue;
        }
        if lower[i..].starts_with("<!--") {
            i = lower[i..].find("-->").map_or(html.len(), |n| i + n + 3);
            continue;
        }
        let Some(tag) = Tag::parse(&html[i..]) else {
            // A `<` that starts no tag is text.
            w.text("<");
            i += 1;
            continue;
        };
        i += tag.len;
        let name = tag.name.as_str();
        if !tag.closing && HIDDEN.contains(&name) {
            let close = format!("</{name}");
            i = match lower[i..].find(&close) {
                Some(n) => {
                    let from = i + n;
                    lower[from..].find('>').map_or(html.len(), |m| from + m + 1)
                }
                None => html.len(),
            };
            continue;
        }
        match name {
            "br" => w.line_break(),
            "pre" => {
                w.block();
                w.pre = !tag.closing;
            }
            "li" if !tag.closing => {
                w.line_break_once();
                w.text_raw("- ");
            }
            "li" => w.line_break_once(),
            "a" if !tag.closing => {
                link = tag.attr("href").map(|h| (h, w.out.len()));
            }
            "a" => {
                if let Some((href, start)) = link.take() {
                    let shown = w.out.get(start..).unwrap_or_default();
                    let target = href.strip_prefix("mailto:").unwrap_or(&href);
                    let worth = (href.contains("://") || href.starts_with("mailto:"))
                        && !shown.contains(target);
                    if worth {
                        w.text(&format!(" <{target}>"));
                    }
                }
            }
            "img" => {
                if let Some(alt) = tag.attr("alt").filter(|a| !a.trim().is_empty()) {
                    w.text(&format!("[{}]", alt.trim()));
                }
            }
            n if BLOCKS.contains(&n) => w.block(),
            _ => {}
        }
    }
    w.finish()
}

/// The `cid:` references in `html`, in order, each once: the text after
/// `cid:` (any case) up to a quote, blank, `>`, `<` or `)`, with `%XX`
/// escapes decoded (RFC 2392 §2).
pub fn cid_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut out: Vec<String> = Vec::new();
    let mut from = 0;
    while let Some(n) = lower[from..].find("cid:") {
        let start = from + n + 4;
        let end = html[start..]
            .find(|c: char| c.is_whitespace() || "\"'<>)".contains(c))
            .map_or(html.len(), |m| start + m);
        let id = percent_decode(&decode_entities(&html[start..end]));
        if !id.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&id)) {
            out.push(id);
        }
        from = end.max(start);
    }
    out
}

/// `%XX` escapes decoded; a `%` not followed by two hex digits stays.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One tag: `<name attrs>` or `</name>`.
struct Tag {
    name: String,
    closing: bool,
    /// The attribute text (after the name, before `>`).
    attrs: String,
    /// Bytes from `<` to `>` included.
    len: usize,
}

impl Tag {
    /// The tag at the start of `s` (which starts with `<`), or `None` when
    /// no letter (or `/` and a letter, or `!`/`?`) follows the `<`. A tag
    /// with no `>` runs to the end. Quotes in attributes are respected.
    fn parse(s: &str) -> Option<Tag> {
        let after = s.get(1..)?;
        let (closing, body) = match after.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, after),
        };
        let first = body.chars().next()?;
        if !(first.is_ascii_alphabetic() || (!closing && (first == '!' || first == '?'))) {
            return None;
        }
        let mut quote: Option<char> = None;
        let mut end = s.len();
        for (i, c) in s.char_indices().skip(1) {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c == '>' => {
                    end = i + 1;
                    break;
                }
                None => {}
            }
        }
        let inner = s.get(1..end).unwrap_or_default();
        let inner = inner.strip_suffix('>').unwrap_or(inner);
        let inner = inner.strip_prefix('/').unwrap_or(inner);
        let name_len = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
            .unwrap_or(inner.len());
        Some(Tag {
            name: inner[..name_len].to_ascii_lowercase(),
            closing,
            attrs: inner[name_len..].to_string(),
            len: end,
        })
    }

    /// The value of attribute `name` (entities decoded), if present.
    fn attr(&self, name: &str) -> Option<String> {
        let s = self.attrs.as_str();
        let mut i = 0;
        while i < s.len() {
            let rest = &s[i..];
            let skip = rest
                .find(|c: char| !(c.is_whitespace() || c == '/'))
                .unwrap_or(rest.len());
            i += skip;
            let rest = &s[i..];
            if rest.is_empty() {
                break;
            }
            let key_len = rest
                .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
                .unwrap_or(rest.len())
                .max(rest.chars().next().map_or(1, char::len_utf8));
            let key = &rest[..key_len];
            i += key_len;
            let rest = &s[i..];
            let trimmed = rest.trim_start();
            let mut value = String::new();
            if let Some(v) = trimmed.strip_prefix('=') {
                let v = v.trim_start();
                let consumed_before = rest.len() - v.len();
                let (val, used) = match v.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let body = &v[1..];
                        match body.find(q) {
                            Some(e) => (&body[..e], e + 2),
                            None => (body, v.len()),
                        }
                    }
                    _ => {
                        let e = v.find(char::is_whitespace).unwrap_or(v.len());
                        (&v[..e], e)
                    }
                };
                value = decode_entities(val);
                i += consumed_before + used;
            }
            if key.eq_ignore_ascii_case(name) {
                return Some(value);
            }
        }
        None
    }
}

/// Builds the text: blanks collapsed, line breaks counted.
#[derive(Default)]
struct TextWriter {
    out: String,
    /// Inside `<pre>`: blanks kept as they are.
    pre: bool,
    /// A blank was seen and not written yet.
    space: bool,
}

impl TextWriter {
    /// Text from the document: control characters dropped, blanks
    /// collapsed (outside `<pre>`).
    fn text(&mut self, s: &str) {
        for c in s.chars() {
            if self.pre {
                if c == '\r' {
                    continue;
                }
                if c == '\n' || c == '\t' || !c.is_control() {
                    self.out.push(c);
                }
                continue;
            }
            if c.is_whitespace() {
                self.space = true;
                continue;
            }
            if c.is_control() {
                continue;
            }
            if self.space && !self.out.is_empty() && !self.out.ends_with(['\n', ' ']) {
                self.out.push(' ');
            }
            self.space = false;
            self.out.push(c);
        }
    }
    /// Text of our own (`- `), written as it is.
    fn text_raw(&mut self, s: &str) {
        self.space = false;
        self.out.push_str(s);
    }
    /// `<br>`: always a new line.
    fn line_break(&mut self) {
        self.space = false;
        self.out.push('\n');
    }
    /// A new line unless at the start of one.
    fn line_break_once(&mut self) {
        self.space = false;
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }
    /// A block element's edge: an empty line before what follows.
    fn block(&mut self) {
        self.line_break_once();
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }
    /// Blanks at line ends removed, at most one empty line in a row, none
    /// at the start or end; a final line break.
    fn finish(self) -> String {
        let mut out = String::with_capacity(self.out.len());
        let mut empty_run = 0;
        for line in self.out.lines() {
            let line = line.trim_end();
            if line.is_empty() {
                empty_run += 1;
                continue;
            }
            if !out.is_empty() {
                out.push_str(if empty_run > 0 { "\n\n" } else { "\n" });
            }
            empty_run = 0;
            out.push_str(line);
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out
    }
}

/// Named entities decoded besides the numeric ones.
const ENTITIES: [(&str, char); 24] = [
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", '\u{a0}'),
    ("shy", '\u{ad}'),
    ("copy", '©'),
    ("reg", '®'),
    ("trade", '™'),
    ("euro", '€'),
    ("pound", '£'),
    ("yen", '¥'),
    ("cent", '¢'),
    ("sect", '§'),
    ("deg", '°'),
    ("middot", '·'),
    ("bull", '•'),
    ("hellip", '…'),
    ("ndash", '–'),
    ("mdash", '—'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("laquo", '«'),
];

/// More named entities (split only to keep each table short).
const MORE_ENTITIES: [(&str, char); 5] = [
    ("raquo", '»'),
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("times", '×'),
    ("para", '¶'),
];

/// `&name;`, `&#NNN;` and `&#xHH;` decoded; anything else left as it is.
/// A numeric reference to NUL, a surrogate or beyond U+10FFFF becomes
/// U+FFFD.
pub fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(n) = rest.find('&') {
        out.push_str(&rest[..n]);
        rest = &rest[n..];
        let semi = rest
            .get(1..)
            .and_then(|r| r.find(';'))
            .filter(|&k| k > 0 && k <= 10);
        let decoded = semi.and_then(|k| entity(&rest[1..1 + k]).map(|c| (c, k + 2)));
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &rest[used..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character an entity name (between `&` and `;`) stands for.
fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return Some(match char::from_u32(code) {
            Some('\0') | None => '\u{fffd}',
            Some(c) => c,
        });
    }
    ENTITIES
        .iter()
        .chain(&MORE_ENTITIES)
        .find(|(n, _)| *n == name)
        .map(|&(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_stripped_and_blocks_become_lines() {
        let html = "<!DOCTYPE html><html><head><title>T</title><style>p{color:red}</style></head>\
                    <body><h1>Hello&nbsp;there</h1><p>One   line\n with <b>bold</b>&amp;more.</p>\
                    <p>Two<br>lines</p><ul><li>a</li><li>b &lt;c&gt;</li></ul>\
                    <script>alert('<p>no</p>')</script><!-- <p>hidden</p> --><div>end</div></body></html>";
        assert_eq!(
            html_to_text(html),
            "Hello there\n\nOne line with bold&more.\n\nTwo\nlines\n\n- a\n- b <c>\n\nend\n"
        );
    }

    #[test]
    fn links_images_pre_and_entities() {
        let html = "<p>See <a href=\"https://example.org/x\">the site</a> or \
                    <a href='https://example.org/y'>https://example.org/y</a>, \
                    <a href=\"mailto:a@example.org\">mail</a>, <a href=\"#top\">top</a>.</p>\
                    <img src=\"cid:logo.png.1@h\" alt=\"Logo\"><img src=x>\
                    <pre>  a\n    b</pre>&#65;&#x42;&#0;&bogus; &amp &";
        assert_eq!(
            html_to_text(html),
            "See the site <https://example.org/x> or https://example.org/y, mail <a@example.org>, top.\n\n\
             [Logo]\n\n  a\n    b\n\nAB\u{fffd}&bogus; &amp &\n"
        );
    }

    #[test]
    fn nothing_breaks_it() {
        for html in [
            "",
            "<",
            "</",
            "<<>>",
            "<p",
            "<a href=\"x",
            "<script>never closed",
            "<!-- never closed",
            "a < b and c > d",
            "é<ü>ß</",
            "<img alt='é'>",
            "&#xFFFFFFFF;&#55296;&#;&#x;&;",
            "<a href=é>é</a>",
            "<a hréf='x' href=\"https://e.org\">e</a>",
            "\0\u{1}<p>\u{7}x</p>",
        ] {
            let t = html_to_text(html);
            assert!(t.is_empty() || t.ends_with('\n'), "{html:?} → {t:?}");
            assert!(
                !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{t:?}"
            );
            let _ = cid_references(html);
        }
        assert_eq!(html_to_text("a < b"), "a < b\n");
        assert_eq!(html_to_text("<p>   </p>"), "");
    }

    #[test]
    fn cid_references_found_once_each() {
        let html = "<img src=\"cid:logo.png.1@h\"><img src='CID:logo.png.1@h'>\
                    <div style=\"background:url(cid:bg%2Egif@h)\">cid:</div> cid:x&amp;y@h";
        assert_eq!(cid_references(html), ["logo.png.1@h", "bg.gif@h", "x&y@h"]);
        assert!(cid_references("no references").is_empty());
    }
}
