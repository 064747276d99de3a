//! Encoders. All pure functions on bytes and strings.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Base64 line length (RFC 2045 §6.8).
pub const BASE64_LINE: usize = 76;
/// Input bytes per full base64 line.
pub const BASE64_LINE_INPUT: usize = 57;

/// Recommended header line length, CRLF excluded (RFC 5322 §2.1.1).
const SOFT_LIMIT: usize = 78;
/// Quoted-printable line length, soft-break `=` included (RFC 2045 §6.7).
const QP_LINE: usize = 76;
/// A run of non-whitespace longer than this cannot be guaranteed to fit a
/// 998-octet header line (header name up to 76 + `: `), so it is written
/// as encoded-words instead.
pub(crate) const LONG_WORD: usize = 998 - SOFT_LIMIT - 2;
/// Most UTF-8 bytes in one encoded-word: 45 bytes → 60 base64 characters
/// → `=?UTF-8?B?` + 60 + `?=` = 72 characters (≤ 75, RFC 2047 §2).
const EW_MAX_BYTES: usize = 45;
/// Fewest UTF-8 bytes in the first encoded-word of a value (≥ one char).
const EW_MIN_BYTES: usize = 12;
/// Overhead of `=?UTF-8?B?` + `?=`.
const EW_OVERHEAD: usize = 12;
/// Longest MIME parameter piece, so ` piece;` fits in 78 characters.
const PARAM_PIECE: usize = 76;

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Exact size of `n` bytes as base64 in 76-character lines, each ended by
/// CRLF (0 for 0).
pub fn base64_encoded_len(n: u64) -> u64 {
    let full = n / BASE64_LINE_INPUT as u64;
    let rest = n % BASE64_LINE_INPUT as u64;
    let last = if rest == 0 {
        0
    } else {
        rest.div_ceil(3) * 4 + 2
    };
    full * (BASE64_LINE as u64 + 2) + last
}

/// The base64 alphabet (RFC 4648 §4).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Every 12-bit value as its two base64 characters: three input bytes are
/// two lookups.
static PAIRS: [[u8; 2]; 4096] = {
    let mut t = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        t[i] = [ALPHABET[i >> 6], ALPHABET[i & 63]];
        i += 1;
    }
    t
};

/// One full line: 57 input bytes → 76 characters + CRLF.
#[inline]
fn encode_line(input: &[u8; BASE64_LINE_INPUT], out: &mut [u8; BASE64_LINE + 2]) {
    // Six input bytes (48 bits) → eight characters, nine times; then the
    // last three bytes.
    for k in 0..9 {
        let s = &input[k * 6..k * 6 + 6];
        let v = (u64::from(s[0]) << 40)
            | (u64::from(s[1]) << 32)
            | (u64::from(s[2]) << 24)
            | (u64::from(s[3]) << 16)
            | (u64::from(s[4]) << 8)
            | u64::from(s[5]);
        let a = PAIRS[((v >> 36) & 0xfff) as usize];
        let b = PAIRS[((v >> 24) & 0xfff) as usize];
        let c = PAIRS[((v >> 12) & 0xfff) as usize];
        let d = PAIRS[(v & 0xfff) as usize];
        out[k * 8..k * 8 + 8].copy_from_slice(&[a[0], a[1], b[0], b[1], c[0], c[1], d[0], d[1]]);
    }
    let v = (u32::from(input[54]) << 16) | (u32::from(input[55]) << 8) | u32::from(input[56]);
    let p = PAIRS[(v >> 12) as usize];
    let q = PAIRS[(v & 0xfff) as usize];
    out[72..].copy_from_slice(&[p[0], p[1], q[0], q[1], b'\r', b'\n']);
}

/// Appends `input` as base64 lines with CRLF to `out`. `input` should be a
/// multiple of 57 bytes except for the last chunk of a file, so lines stay
/// full across calls.
///
/// Full lines go through a table of character pairs, straight into `out`
/// (about 2.5 GB/s of input on one core; `examples/encoder` measures it);
/// a short last line uses the `base64` crate.
pub fn base64_lines(input: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + base64_encoded_len(input.len() as u64) as usize, 0);
    let full = input.len() / BASE64_LINE_INPUT;
    let (dst, tail) = out[start..].split_at_mut(full * (BASE64_LINE + 2));
    let mut lines = input.chunks_exact(BASE64_LINE_INPUT);
    for (line, o) in (&mut lines).zip(dst.chunks_exact_mut(BASE64_LINE + 2)) {
        if let (Ok(line), Ok(o)) = (line.try_into(), o.try_into()) {
            encode_line(line, o);
        }
    }
    let rest = lines.remainder();
    if !rest.is_empty() {
        // A short line: at most 76 characters, then CRLF; `tail` holds exactly that.
        let n = STANDARD.encode_slice(rest, &mut tail[..]).unwrap_or(0);
        if let Some(crlf) = tail.get_mut(n..n + 2) {
            crlf.copy_from_slice(b"\r\n");
        }
    }
}

/// Quoted-printable (RFC 2045 §6.7) for text: line ends (any of CRLF, CR,
/// LF) become CRLF hard breaks; lines are soft-broken at 76 characters;
/// trailing whitespace before a break is encoded; a line starting with `.`
/// or `From ` is encoded so it survives transports that mangle them.
pub fn quoted_printable(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8 + 8);
    let lines = split_lines(text);
    let count = lines.len();
    for (i, (line, has_break)) in lines.into_iter().enumerate() {
        qp_line(line, &mut out);
        if has_break {
            out.extend_from_slice(b"\r\n");
        }
        debug_assert!(has_break || i + 1 == count);
    }
    out
}

/// Splits on CRLF, bare CR and bare LF. Each line comes with whether a line
/// end followed it. A text ending in a line end has no empty last line.
fn split_lines(text: &[u8]) -> Vec<(&[u8], bool)> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\r' => {
                lines.push((&text[start..i], true));
                if text.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            b'\n' => {
                lines.push((&text[start..i], true));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < text.len() {
        lines.push((&text[start..], false));
    }
    lines
}

/// Encodes one line (no line end in it) with soft breaks.
fn qp_line(line: &[u8], out: &mut Vec<u8>) {
    let mut col = 0usize;
    for (i, &b) in line.iter().enumerate() {
        let last = i + 1 == line.len();
        let at_start = col == 0;
        let encode = match b {
            b'=' => true,
            b' ' | b'\t' => last,
            b'.' => at_start,
            b'F' => at_start && line[i..].starts_with(b"From "),
            33..=126 => false,
            _ => true,
        };
        let width = if encode { 3 } else { 1 };
        // The last token may use the full 76; others leave room for `=`.
        let limit = if last { QP_LINE } else { QP_LINE - 1 };
        if col + width > limit {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        // After a soft break the token starts a line: re-check `.`/`From `.
        let encode =
            encode || (col == 0 && (b == b'.' || (b == b'F' && line[i..].starts_with(b"From "))));
        if encode {
            out.push(b'=');
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
            col += 3;
        } else {
            out.push(b);
            col += 1;
        }
    }
}

/// Text with every CRLF, bare CR and bare LF turned into CRLF.
pub fn normalize_newlines(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 32);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits `s` into alternating whitespace and word tokens:
/// (is_space, start offset, text).
/// Whether `value` folds into lines of at most 998 octets as it is: no
/// word, and no whitespace run with the word after it, longer than
/// [`LONG_WORD`].
pub(crate) fn folds_as_is(value: &str) -> bool {
    let toks = tokens(value.trim_matches(is_wsp));
    toks.iter().enumerate().all(|(i, &(sp, _, t))| {
        let next = if sp {
            toks.get(i + 1).map_or(0, |x| x.2.len())
        } else {
            0
        };
        t.len() + next <= LONG_WORD
    })
}

fn tokens(s: &str) -> Vec<(bool, usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut cur: Option<bool> = None;
    for (i, c) in s.char_indices() {
        let sp = is_wsp(c);
        match cur {
            Some(k) if k == sp => {}
            Some(k) => {
                out.push((k, start, &s[start..i]));
                start = i;
                cur = Some(sp);
            }
            None => cur = Some(sp),
        }
    }
    if let Some(k) = cur {
        out.push((k, start, &s[start..]));
    }
    out
}

/// `text` as RFC 2047 B encoded-words separated by single spaces. The first
/// word holds at most `first_bytes` bytes of UTF-8, the others at most 45;
/// no UTF-8 character is split.
fn encoded_words(text: &str, first_bytes: usize) -> String {
    let mut out = String::new();
    let mut budget = first_bytes.clamp(EW_MIN_BYTES, EW_MAX_BYTES);
    let mut start = 0;
    let mut end = 0;
    let flush = |out: &mut String, piece: &str| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("=?UTF-8?B?");
        out.push_str(&STANDARD.encode(piece.as_bytes()));
        out.push_str("?=");
    };
    for (i, c) in text.char_indices() {
        let next = i + c.len_utf8();
        if next - start > budget && end > start {
            flush(&mut out, &text[start..end]);
            start = end;
            budget = EW_MAX_BYTES;
        }
        end = next;
    }
    if end > start || out.is_empty() {
        flush(&mut out, &text[start..end]);
    }
    out
}

/// UTF-8 bytes for an encoded-word that starts at column `col` so that it
/// ends by column 78.
fn first_word_budget(col: usize) -> usize {
    let chars = SOFT_LIMIT.saturating_sub(col + EW_OVERHEAD);
    chars / 4 * 3
}

/// Whether a word of an unstructured value must be written encoded.
fn word_needs_encoding(word: &str) -> bool {
    !word.is_ascii()
        || word.contains("=?")
        || word.len() > LONG_WORD
        || word.chars().any(|c| c.is_control())
}

/// An unstructured header value (Subject, user headers) as it appears after
/// `Name: `: ASCII text as is; text containing non-ASCII (or `=?` that would
/// be misread) as RFC 2047 `=?UTF-8?B?...?=` words of at most 75 characters,
/// never splitting a UTF-8 character, separated by folding whitespace.
/// Words too long for a 998-octet line are encoded too (encoded-words can
/// be folded), and so are control characters. Leading and trailing
/// whitespace is dropped (it is not significant in a header).
pub fn encode_unstructured(value: &str) -> String {
    encode_unstructured_at(value, "Subject: ".len())
}

/// [`encode_unstructured`] for a value that starts at column `col` (the
/// length of `Name: `), so the first encoded-word fits in 78 characters.
pub(crate) fn encode_unstructured_at(value: &str, col: usize) -> String {
    let value = value.trim_matches(is_wsp);
    let toks = tokens(value);
    // Mark words to encode; a very long whitespace run forces its
    // neighbours into the encoded run so it is written inside an
    // encoded-word rather than as one huge line.
    let mut enc: Vec<bool> = toks
        .iter()
        .map(|&(sp, _, t)| !sp && word_needs_encoding(t))
        .collect();
    for i in 0..toks.len() {
        let (sp, _, t) = toks[i];
        // After a fold, a whitespace run and the word after it start a line
        // together: if they cannot fit, they go inside an encoded-word.
        let next = toks.get(i + 1).map_or(0, |x| x.2.len());
        if sp && t.len() + next > LONG_WORD {
            enc[i - 1] = true;
            enc[i + 1] = true;
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i < toks.len() {
        let (sp, _, t) = toks[i];
        if sp || !enc[i] {
            out.push_str(t);
            i += 1;
            continue;
        }
        // An encoded run: from this word to the last following word that is
        // also encoded, whitespace in between included in the encoded text.
        let start = i;
        let mut end = i;
        let mut j = i + 1;
        while j + 1 < toks.len() && enc[j + 1] {
            end = j + 1;
            j += 2;
        }
        let first = toks[start].1;
        let last = toks[end].1 + toks[end].2.len();
        let text = &value[first..last];
        let budget = if out.is_empty() {
            first_word_budget(col)
        } else {
            EW_MAX_BYTES
        };
        out.push_str(&encoded_words(text, budget));
        i = end + 1;
    }
    out
}

/// RFC 5322 atext.
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
}

/// A display name for an address header: a plain atom sequence as is,
/// specials quoted as a quoted-string, non-ASCII as RFC 2047 encoded-words
/// (never inside quotes). Control characters become spaces.
pub fn encode_display_name(name: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let needs_words = !name.is_ascii() || name.contains("=?") || !folds_as_is(&name);
    if needs_words {
        return encoded_words(&name, EW_MAX_BYTES);
    }
    let atoms = !name.is_empty()
        && name
            .split(' ')
            .all(|w| !w.is_empty() && w.chars().all(is_atext));
    if atoms {
        return name;
    }
    quote(&name)
}

/// RFC 2045 token character (printable ASCII except tspecials and space).
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_graphic() && !"()<>@,;:\\\"/[]?=".contains(c)
}

/// RFC 2231 / 5987 attribute-char: kept as is in an extended value.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s.as_bytes() {
        if is_attr_char(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    out
}

/// `s` as an RFC 5322 quoted-string (RFC 2045 parameter values too).
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// A MIME parameter `name=value`: a token as is, other ASCII as a
/// quoted-string, non-ASCII as RFC 2231 `name*=UTF-8''percent-encoded`,
/// split into `name*0*=`, `name*1*=`, ... sections when long.
/// Returns the pieces to join with `;` (each fits a folded line).
pub fn mime_parameter(name: &str, value: &str) -> Vec<String> {
    // `=?` would be read as an RFC 2047 encoded-word by many mail readers
    // (which RFC 2047 §5 forbids in parameters, but they do it anyway):
    // such a name goes RFC 2231-encoded so it arrives as typed.
    let plain = value.is_ascii() && !value.chars().any(|c| c.is_control()) && !value.contains("=?");
    if plain {
        let single = if !value.is_empty() && value.chars().all(is_token_char) {
            format!("{name}={value}")
        } else {
            format!("{name}={}", quote(value))
        };
        if single.len() <= PARAM_PIECE {
            return vec![single];
        }
        // Long ASCII: RFC 2231 continuations of quoted-strings.
        let mut pieces = Vec::new();
        let mut cur = String::new();
        for c in value.chars() {
            let prefix = format!("{name}*{}=\"", pieces.len());
            let add = if c == '"' || c == '\\' { 2 } else { 1 };
            if !cur.is_empty() && prefix.len() + cur.len() + add + 1 > PARAM_PIECE {
                pieces.push(format!("{prefix}{cur}\""));
                cur.clear();
            }
            if c == '"' || c == '\\' {
                cur.push('\\');
            }
            cur.push(c);
        }
        pieces.push(format!("{name}*{}=\"{cur}\"", pieces.len()));
        return pieces;
    }
    let single = format!("{name}*=UTF-8''{}", percent_encode(value));
    if single.len() <= PARAM_PIECE {
        return vec![single];
    }
    // Sections `name*N*=`, the first with the charset; never split a
    // character (some readers decode each section on its own).
    let mut pieces = Vec::new();
    let mut cur = String::new();
    for c in value.chars() {
        let mut buf = [0u8; 4];
        let enc = percent_encode(c.encode_utf8(&mut buf));
        let prefix = if pieces.is_empty() {
            format!("{name}*0*=UTF-8''")
        } else {
            format!("{name}*{}*=", pieces.len())
        };
        if !cur.is_empty() && prefix.len() + cur.len() + enc.len() > PARAM_PIECE {
            pieces.push(format!("{prefix}{cur}"));
            cur.clear();
        }
        cur.push_str(&enc);
    }
    let prefix = if pieces.is_empty() {
        format!("{name}*0*=UTF-8''")
    } else {
        format!("{name}*{}*=", pieces.len())
    };
    pieces.push(format!("{prefix}{cur}"));
    pieces
}

/// A header whose value is `first` followed by MIME parameters, one
/// `; piece` at a time, a piece going to a continuation line when it would
/// pass 78 characters. Returns the header with a final CRLF.
pub(crate) fn parameter_header(name: &str, first: &str, params: &[String]) -> String {
    let mut out = String::new();
    let mut line = format!("{name}: {first}");
    for p in params {
        if line.len() + 2 + p.len() + 1 > SOFT_LIMIT {
            line.push(';');
            out.push_str(&line);
            out.push_str("\r\n");
            line = format!(" {p}");
        } else {
            line.push_str("; ");
            line.push_str(p);
        }
    }
    out.push_str(&line);
    out.push_str("\r\n");
    out
}

/// Folds a header `Name: value` into lines of at most 78 characters where
/// whitespace allows (never more than 998 when the value comes from the
/// encoders of this module), breaking only before a space or tab, with
/// CRLF + the whitespace as continuation. Returns the complete header with
/// a final CRLF. Any CR or LF in `value` is turned into a space, so the
/// result is always exactly one header.
pub fn fold_header(name: &str, value: &str) -> String {
    let value: String = value
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    let value = value.trim_matches(is_wsp);
    let mut out = String::with_capacity(name.len() + value.len() + 8);
    let mut line = format!("{name}:");
    if value.is_empty() {
        out.push_str(&line);
        out.push_str("\r\n");
        return out;
    }
    // The first value word is always on the header's first line.
    let mut has_word = false;
    let mut pending_space = " ".to_string();
    for (sp, _, t) in tokens(value) {
        if sp {
            pending_space = t.to_string();
            continue;
        }
        let seg_len = pending_space.len() + t.len();
        if has_word && line.len() + seg_len > SOFT_LIMIT {
            out.push_str(&line);
            out.push_str("\r\n");
            line.clear();
        }
        line.push_str(&pending_space);
        line.push_str(t);
        has_word = true;
    }
    out.push_str(&line);
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_encoded_word_markers_use_rfc_2231() {
        let p = mime_parameter("filename", "=?UTF-8?B?ZXZpbA==?=.txt");
        assert_eq!(
            p,
            vec!["filename*=UTF-8''%3D%3FUTF-8%3FB%3FZXZpbA%3D%3D%3F%3D.txt".to_string()]
        );
    }

    fn b64_decode(s: &str) -> Vec<u8> {
        STANDARD.decode(s).expect("valid base64")
    }

    /// Decodes a sequence of `=?UTF-8?B?..?=` words separated by spaces.
    fn decode_words(s: &str) -> String {
        let mut bytes = Vec::new();
        for w in s.split([' ', '\t', '\r', '\n']).filter(|w| !w.is_empty()) {
            assert!(w.len() <= 75, "encoded-word too long: {w}");
            let inner = w
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .expect("an encoded-word");
            let piece = b64_decode(inner);
            assert!(
                std::str::from_utf8(&piece).is_ok(),
                "a word splits a UTF-8 character"
            );
            bytes.extend(piece);
        }
        String::from_utf8(bytes).expect("utf-8")
    }

    #[test]
    fn base64_len_matches_output() {
        for n in [
            0usize,
            1,
            2,
            3,
            56,
            57,
            58,
            113,
            114,
            115,
            1000,
            57 * 1024 + 5,
        ] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 % 256) as u8).collect();
            let mut out = Vec::new();
            base64_lines(&data, &mut out);
            assert_eq!(out.len() as u64, base64_encoded_len(n as u64), "n={n}");
            let text = String::from_utf8(out).expect("ascii");
            for line in text.split_terminator("\r\n") {
                assert!(line.len() <= BASE64_LINE);
            }
            let joined: String = text.split("\r\n").collect();
            assert_eq!(b64_decode(&joined), data);
        }
    }

    #[test]
    fn base64_table_agrees_with_the_base64_crate() {
        // Every byte value in every position of a line, lengths around the
        // line size, appended after existing bytes.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut data: Vec<u8> = (0..=255u8).collect();
        while data.len() < 57 * 40 + 11 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            data.push(state as u8);
        }
        for n in (0..=230).chain([57 * 40, 57 * 40 + 11]) {
            let input = &data[..n];
            let mut out = b"prefix".to_vec();
            base64_lines(input, &mut out);
            let mut expected = b"prefix".to_vec();
            for line in input.chunks(BASE64_LINE_INPUT) {
                expected.extend_from_slice(STANDARD.encode(line).as_bytes());
                expected.extend_from_slice(b"\r\n");
            }
            assert_eq!(out, expected, "n={n}");
            assert!(crate::smtp::dotstuff::clean_lines(&out[6..]), "n={n}");
        }
    }

    #[test]
    fn base64_chunks_concatenate() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let mut whole = Vec::new();
        base64_lines(&data, &mut whole);
        let mut parts = Vec::new();
        for c in data.chunks(57 * 3) {
            base64_lines(c, &mut parts);
        }
        assert_eq!(whole, parts);
    }

    fn qp_decode(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            if s[i] == b'=' {
                if s[i + 1..].starts_with(b"\r\n") {
                    i += 3;
                    continue;
                }
                let h = std::str::from_utf8(&s[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(h, 16).expect("hex"));
                i += 3;
            } else {
                out.push(s[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn qp_round_trip_and_limits() {
        let long = "é".repeat(200) + &"x".repeat(300) + " \t";
        let input = format!("Hello = world  \r\n.dot\nFrom here\rlast {long}\n\n");
        let out = quoted_printable(input.as_bytes());
        let expected = normalize_newlines(&input);
        assert_eq!(qp_decode(&out), expected.as_bytes());
        let text = std::str::from_utf8(&out).expect("ascii");
        assert!(text.is_ascii());
        for line in text.split_terminator("\r\n") {
            assert!(line.len() <= 76, "{line}");
            assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
            assert!(!line.starts_with('.'), "{line}");
            assert!(!line.starts_with("From "), "{line}");
        }
        assert!(text.contains("=2Edot"));
        assert!(text.contains("=46rom here"));
        assert!(text.contains("=3D"));
        assert!(text.ends_with("\r\n\r\n"));
        // No bare CR or LF.
        let b = text.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c == b'\r' {
                assert_eq!(b.get(i + 1), Some(&b'\n'));
            }
            if c == b'\n' {
                assert_eq!(b[i - 1], b'\r');
            }
        }
    }

    #[test]
    fn qp_exact_line_boundaries() {
        for n in 70..160 {
            let line = "a".repeat(n);
            let out = quoted_printable(line.as_bytes());
            let text = std::str::from_utf8(&out).expect("ascii");
            for l in text.split("\r\n") {
                assert!(l.len() <= 76);
            }
            assert_eq!(qp_decode(&out), line.as_bytes());
        }
        assert_eq!(quoted_printable(b"a "), b"a=20");
        assert_eq!(quoted_printable(b""), b"");
    }

    #[test]
    fn newlines_normalized() {
        assert_eq!(
            normalize_newlines("a\rb\nc\r\nd\n\re"),
            "a\r\nb\r\nc\r\nd\r\n\r\ne"
        );
        assert_eq!(normalize_newlines("\r\r\n"), "\r\n\r\n");
    }

    #[test]
    fn unstructured_ascii_kept() {
        assert_eq!(encode_unstructured("Hello world"), "Hello world");
        assert_eq!(encode_unstructured("  padded  "), "padded");
    }

    #[test]
    fn unstructured_non_ascii() {
        let v = encode_unstructured("Grüße aus Köln");
        assert!(v.is_ascii());
        assert!(v.contains(" aus "));
        let long = "日本語のテキスト".repeat(20);
        let v = encode_unstructured(&long);
        assert_eq!(decode_words(&v), long);
        // Adjacent encoded words with the whitespace inside.
        let v = encode_unstructured("Zoë Über");
        assert_eq!(decode_words(&v), "Zoë Über");
        // `=?` in ASCII text is encoded so it is not misread.
        let v = encode_unstructured("a =?x?= b");
        assert!(v.starts_with("a =?UTF-8?B?"));
    }

    #[test]
    fn unstructured_long_word_encoded() {
        let word = "x".repeat(2000);
        let v = encode_unstructured(&word);
        assert_eq!(decode_words(&v), word);
        let h = fold_header("X-Long", &v);
        for l in h.split_terminator("\r\n") {
            assert!(l.len() <= 78, "{l}");
        }
    }

    #[test]
    fn display_names() {
        assert_eq!(encode_display_name("Alice Example"), "Alice Example");
        assert_eq!(encode_display_name("J. Smith"), "\"J. Smith\"");
        assert_eq!(
            encode_display_name("Doe, \"J\" \\x"),
            "\"Doe, \\\"J\\\" \\\\x\""
        );
        let v = encode_display_name("Zoë, Q.");
        assert!(v.starts_with("=?UTF-8?B?"));
        assert_eq!(decode_words(&v), "Zoë, Q.");
    }

    #[test]
    fn parameters() {
        assert_eq!(mime_parameter("filename", "a.txt"), vec!["filename=a.txt"]);
        assert_eq!(
            mime_parameter("filename", "a b.txt"),
            vec!["filename=\"a b.txt\""]
        );
        assert_eq!(
            mime_parameter("filename", "naïve.txt"),
            vec!["filename*=UTF-8''na%C3%AFve.txt"]
        );
        let long = "日".repeat(100);
        let pieces = mime_parameter("filename", &long);
        assert!(pieces.len() > 1);
        assert!(pieces[0].starts_with("filename*0*=UTF-8''%E6%97%A5"));
        assert!(pieces[1].starts_with("filename*1*=%E6"));
        for p in &pieces {
            assert!(p.len() <= PARAM_PIECE);
        }
        let ascii = "a\"b".repeat(40);
        let pieces = mime_parameter("name", &ascii);
        assert!(pieces.len() > 1);
        assert!(pieces[0].starts_with("name*0=\""));
        for p in &pieces {
            assert!(p.len() <= PARAM_PIECE);
            assert!(!p.ends_with("\\\""), "escape split: {p}");
        }
        let h = parameter_header("Content-Disposition", "attachment", &pieces);
        for l in h.split_terminator("\r\n") {
            assert!(l.len() <= 78);
        }
    }

    #[test]
    fn folding() {
        let v = "word ".repeat(60);
        let h = fold_header("Subject", &v);
        assert!(h.starts_with("Subject: word"));
        assert!(h.ends_with("word\r\n"));
        for l in h.split_terminator("\r\n") {
            assert!(l.len() <= 78);
            assert!(!l.trim().is_empty());
        }
        let unfolded = h.trim_end_matches("\r\n").replace("\r\n", "");
        assert_eq!(unfolded, format!("Subject: {}", v.trim_end()));
        assert_eq!(fold_header("Subject", ""), "Subject:\r\n");
        assert_eq!(fold_header("X", "a\r\nBcc: b"), "X: a  Bcc: b\r\n");
    }
}
