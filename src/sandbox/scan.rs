//! What a message holds, seen line by line as it streams into the store:
//! its Subject and how many MIME leaf parts it has — for the event a
//! stored message makes (`smtpsh serve` prints them) — in bounded memory
//! (the top header block up to 64 KiB, one header up to 8 KiB, boundaries
//! twenty deep).

use mail_parser::MessageParser;

const HEAD_LIMIT: usize = 64 * 1024;
const HEADER_LIMIT: usize = 8 * 1024;
const MAX_DEPTH: usize = 20;

/// The scanner's state.
#[derive(Debug)]
pub struct Scan {
    in_headers: bool,
    top: bool,
    /// The top-level header block, raw (for decoding the Subject).
    head: Vec<u8>,
    /// The header being read, unfolded.
    header: Vec<u8>,
    /// The current part's boundary, when it is a multipart.
    boundary: Option<Vec<u8>>,
    /// Open multipart boundaries, outermost first.
    open: Vec<Vec<u8>>,
    parts: usize,
}

impl Default for Scan {
    fn default() -> Scan {
        Scan {
            in_headers: true,
            top: true,
            head: Vec::new(),
            header: Vec::new(),
            boundary: None,
            open: Vec::new(),
            parts: 0,
        }
    }
}

impl Scan {
    /// One line of content, without its CRLF.
    pub fn line(&mut self, line: &[u8]) {
        if self.in_headers {
            self.header_line(line);
        } else {
            self.body_line(line);
        }
    }

    fn header_line(&mut self, line: &[u8]) {
        if self.top && self.head.len() + line.len() + 2 <= HEAD_LIMIT {
            self.head.extend_from_slice(line);
            self.head.extend_from_slice(b"\r\n");
        }
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            if self.header.len() + line.len() <= HEADER_LIMIT {
                self.header.extend_from_slice(line);
            }
            return;
        }
        self.end_header();
        if line.is_empty() {
            self.end_headers();
        } else {
            self.header
                .extend_from_slice(&line[..line.len().min(HEADER_LIMIT)]);
        }
    }

    fn end_header(&mut self) {
        let header = std::mem::take(&mut self.header);
        let Some(colon) = header.iter().position(|&b| b == b':') else {
            return;
        };
        if !header[..colon]
            .trim_ascii()
            .eq_ignore_ascii_case(b"content-type")
        {
            return;
        }
        let value = header[colon + 1..].to_ascii_lowercase();
        let raw = &header[colon + 1..];
        if value.trim_ascii_start().starts_with(b"multipart/") {
            self.boundary = boundary_of(&value, raw);
        }
    }

    fn end_headers(&mut self) {
        self.in_headers = false;
        self.top = false;
        match self.boundary.take() {
            Some(b) if self.open.len() < MAX_DEPTH => self.open.push(b),
            _ => self.parts += 1,
        }
    }

    fn body_line(&mut self, line: &[u8]) {
        let Some(rest) = line.strip_prefix(b"--") else {
            return;
        };
        for i in (0..self.open.len()).rev() {
            let Some(after) = rest.strip_prefix(self.open[i].as_slice()) else {
                continue;
            };
            if after.starts_with(b"--") {
                self.open.truncate(i);
            } else if after.trim_ascii().is_empty() {
                self.open.truncate(i + 1);
                self.in_headers = true;
            } else {
                continue;
            }
            return;
        }
    }

    /// The decoded Subject (if any) and the number of leaf parts.
    pub fn finish(mut self) -> (Option<String>, usize) {
        if self.in_headers {
            self.end_header();
            if self.top {
                self.parts += 1;
            }
        }
        if self.head.is_empty() || !self.head.ends_with(b"\r\n\r\n") {
            self.head.extend_from_slice(b"\r\n");
        }
        let subject = MessageParser::default()
            .parse_headers(&self.head[..])
            .and_then(|m| m.subject().map(str::to_string));
        (subject, self.parts)
    }
}

/// The `boundary=` parameter of a Content-Type value (`lower` is `raw`
/// lower-cased, to find the name; the value keeps its case).
fn boundary_of(lower: &[u8], raw: &[u8]) -> Option<Vec<u8>> {
    let at = lower.windows(9).position(|w| w == b"boundary=")? + 9;
    let value = raw.get(at..)?;
    let b = if let Some(quoted) = value.strip_prefix(b"\"") {
        let end = quoted.iter().position(|&c| c == b'"')?;
        &quoted[..end]
    } else {
        let end = value
            .iter()
            .position(|&c| c == b';' || c.is_ascii_whitespace())
            .unwrap_or(value.len());
        &value[..end]
    };
    (!b.is_empty() && b.len() <= 70).then(|| b.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> (Option<String>, usize) {
        let mut s = Scan::default();
        for line in text.split("\r\n") {
            s.line(line.as_bytes());
        }
        s.finish()
    }

    #[test]
    fn plain_nested_and_headers_only() {
        assert_eq!(scan("Subject: hi\r\n\r\nbody"), (Some("hi".to_string()), 1));
        assert_eq!(scan("Subject: only"), (Some("only".to_string()), 1));
        assert_eq!(scan("X: y\r\n\r\n"), (None, 1));
        let nested = "Subject: =?UTF-8?B?w6l0w6k=?=\r\nContent-Type: multipart/mixed;\r\n boundary=\"OUT\"\r\n\r\n\
            preamble\r\n--OUT\r\nContent-Type: multipart/alternative; boundary=IN\r\n\r\n\
            --IN\r\nContent-Type: text/plain\r\n\r\ntext\r\n--IN\r\nContent-Type: text/html\r\n\r\n<p>\r\n--IN--\r\n\
            --OUT\r\nContent-Type: application/pdf\r\n\r\nJVBERi0=\r\n--OUT--\r\nepilogue\r\n--OUT\r\n";
        assert_eq!(scan(nested), (Some("été".to_string()), 3));
    }

    #[test]
    fn hostile_structures_stay_bounded() {
        let mut deep = String::new();
        for i in 0..50 {
            deep.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
            ));
        }
        let (_, parts) = scan(&deep);
        assert_eq!(
            parts, 1,
            "depth is capped: the 21st multipart counts as a leaf"
        );
        assert_eq!(boundary_of(b"boundary=\"", b"boundary=\""), None);
        assert_eq!(boundary_of(b"boundary=", b"boundary="), None);
    }
}
