//! Encoders. All pure functions on bytes and strings.

/// Base64 line length (RFC 2045 §6.8).
pub const BASE64_LINE: usize = 76;
/// Input bytes per full base64 line.
pub const BASE64_LINE_INPUT: usize = 57;

/// Exact size of `n` bytes as base64 in 76-character lines, each ended by
/// CRLF (0 for 0).
pub fn base64_encoded_len(n: u64) -> u64 {
    todo!()
}

/// Appends `input` as base64 lines with CRLF to `out`. `input` should be a
/// multiple of 57 bytes except for the last chunk of a file, so lines stay
/// full across calls.
pub fn base64_lines(input: &[u8], out: &mut Vec<u8>) {
    todo!()
}

/// Quoted-printable (RFC 2045 §6.7) for text: line ends (any of CRLF, CR,
/// LF) become CRLF hard breaks; lines are soft-broken at 76 characters;
/// trailing whitespace before a break is encoded; a line starting with `.`
/// or `From ` is encoded so it survives transports that mangle them.
pub fn quoted_printable(text: &[u8]) -> Vec<u8> {
    todo!()
}

/// Text with every CRLF, bare CR and bare LF turned into CRLF.
pub fn normalize_newlines(text: &str) -> String {
    todo!()
}

/// An unstructured header value (Subject, user headers) as it appears after
/// `Name: `: ASCII text as is; text containing non-ASCII (or `=?` that would
/// be misread) as RFC 2047 `=?UTF-8?B?...?=` words of at most 75 characters,
/// never splitting a UTF-8 character, separated by folding whitespace.
pub fn encode_unstructured(value: &str) -> String {
    todo!()
}

/// A display name for an address header: a plain atom sequence as is,
/// specials quoted as a quoted-string, non-ASCII as RFC 2047 encoded-words
/// (never inside quotes).
pub fn encode_display_name(name: &str) -> String {
    todo!()
}

/// A MIME parameter `name=value`: a token as is, other ASCII as a
/// quoted-string, non-ASCII as RFC 2231 `name*=UTF-8''percent-encoded`,
/// split into `name*0*=`, `name*1*=`, ... sections when long.
/// Returns the pieces to join with `;` (each fits a folded line).
pub fn mime_parameter(name: &str, value: &str) -> Vec<String> {
    todo!()
}

/// Folds a header `Name: value` into lines of at most 78 characters where
/// whitespace allows (never more than 998), breaking only before a space or
/// tab, with CRLF + the whitespace as continuation. Returns the complete
/// header with a final CRLF.
pub fn fold_header(name: &str, value: &str) -> String {
    todo!()
}
