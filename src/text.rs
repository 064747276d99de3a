//! Text helpers every layer uses: shortening, showing untrusted text
//! (server replies, certificate names, mail headers) safely on a terminal,
//! sizes in bytes for people, and fitting lines to a width ([`wrap`]).

pub mod wrap;

use std::fmt::Write as _;

/// How [`escape_as`] shows a character that must not reach the terminal
/// as it is: a control character, or a bidirectional control (U+200E,
/// U+200F, U+202A-U+202E, U+2066-U+2069) that could reorder what is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `\xNN` for each byte of its UTF-8 (and for each byte that is not
    /// UTF-8), hex in upper case; TAB is kept (server replies).
    Text,
    /// Like [`Style::Text`] with hex in lower case, and TAB escaped too:
    /// one-line fields such as certificate names, TLS and SASL messages.
    Field,
    /// U+FFFD in its place (and in place of bytes that are not UTF-8),
    /// TAB included: header values in mailbox listings.
    Replace,
}

/// Untrusted bytes as text that is safe to show: invalid UTF-8, control
/// characters (except TAB) and bidirectional controls become `\xNN`
/// ([`Style::Text`]).
pub fn escape(bytes: &[u8]) -> String {
    escape_as(bytes, Style::Text)
}

/// Like [`escape`], shortened to at most `max` characters (ending in `...`
/// when cut).
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    shorten(escape(bytes), max, "...")
}

/// Untrusted bytes as text that is safe to show, written in `style`.
pub fn escape_as(bytes: &[u8], style: Style) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            let keep = if ch == '\t' {
                style == Style::Text
            } else {
                !ch.is_control() && !is_bidi_control(ch)
            };
            if keep {
                out.push(ch);
            } else if style == Style::Replace {
                out.push(char::REPLACEMENT_CHARACTER);
            } else {
                let mut buf = [0u8; 4];
                for &b in ch.encode_utf8(&mut buf).as_bytes() {
                    push_hex(&mut out, b, style);
                }
            }
        }
        for &b in chunk.invalid() {
            if style == Style::Replace {
                out.push(char::REPLACEMENT_CHARACTER);
            } else {
                push_hex(&mut out, b, style);
            }
        }
    }
    out
}

/// Whether `ch` changes the direction of the text around it (also kept
/// off the terminal in `serve --json` lines).
pub fn is_bidi_control(ch: char) -> bool {
    matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `\xNN` for `b` (`\xnn` outside [`Style::Text`]).
fn push_hex(out: &mut String, b: u8, style: Style) {
    // Writing to a String cannot fail.
    let _ = if style == Style::Text {
        write!(out, "\\x{b:02X}")
    } else {
        write!(out, "\\x{b:02x}")
    };
}

/// `text` cut to at most `max` characters, ending in `marker` when cut
/// (the marker counts towards `max`).
pub fn shorten(text: String, max: usize, marker: &str) -> String {
    if text.chars().count() <= max {
        return text;
    }
    let keep = max.saturating_sub(marker.chars().count());
    let mut short: String = text.chars().take(keep).collect();
    short.push_str(marker);
    short
}

/// `1234` → `1.2 KiB (1234 bytes)`; `3145728` → `3.0 MiB (3145728 bytes)`.
pub fn human_bytes(n: u64) -> String {
    if n < 1024 {
        short_bytes(n)
    } else {
        format!("{} ({n} bytes)", short_bytes(n))
    }
}

/// `412 bytes`, `1.5 KiB`, `136.8 MiB`, `1.25 GiB`.
pub fn short_bytes(n: u64) -> String {
    match n {
        1 => "1 byte".to_string(),
        0..1024 => format!("{n} bytes"),
        _ => scaled(n as f64, "B"),
    }
}

/// `x` bytes in the largest binary unit that keeps it at 1 or more:
/// `512 B` (with `bytes` as the unit name for plain bytes), `1.5 KiB`,
/// `3.0 MiB`, `1.25 GiB`.
pub fn scaled(x: f64, bytes: &str) -> String {
    const K: f64 = 1024.0;
    if x < K {
        format!("{} {bytes}", x.round() as u64)
    } else if x < K * K {
        format!("{:.1} KiB", x / K)
    } else if x < K * K * K {
        format!("{:.1} MiB", x / (K * K))
    } else {
        format!("{:.2} GiB", x / (K * K * K))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortening_counts_characters_not_bytes() {
        assert_eq!(shorten("short".into(), 10, "…"), "short");
        assert_eq!(shorten("abcdefghijkl".into(), 5, "…"), "abcd…");
        assert_eq!(shorten("abcdefghijkl".into(), 8, "..."), "abcde...");
        assert_eq!(shorten("ééééé".into(), 3, "…"), "éé…");
        assert_eq!(shorten("abc".into(), 0, "…"), "…");
    }

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1), "1 byte");
        assert_eq!(human_bytes(1023), "1023 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB (3145728 bytes)");
    }

    #[test]
    fn escaping_in_each_style() {
        let hostile = b"caf\xc3\xa9 \xff nul\x00 esc\x1b tab\tok \xc2\x85 \xe2\x80\xae";
        assert_eq!(
            escape(hostile),
            "caf\u{e9} \\xFF nul\\x00 esc\\x1B tab\tok \\xC2\\x85 \\xE2\\x80\\xAE"
        );
        assert_eq!(
            escape_as(hostile, Style::Field),
            "caf\u{e9} \\xff nul\\x00 esc\\x1b tab\\x09ok \\xc2\\x85 \\xe2\\x80\\xae"
        );
        assert_eq!(
            escape_as(hostile, Style::Replace),
            "caf\u{e9} \u{fffd} nul\u{fffd} esc\u{fffd} tab\u{fffd}ok \u{fffd} \u{fffd}"
        );
        for bidi in [
            '\u{200e}', '\u{200f}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
        ] {
            let text = format!("a{bidi}b");
            for style in [Style::Text, Style::Field, Style::Replace] {
                assert!(
                    !escape_as(text.as_bytes(), style).contains(bidi),
                    "{bidi:?}"
                );
            }
        }
        assert_eq!(excerpt(b"abc\x1bdefghij", 10), "abc\\x1B...");
        assert_eq!(excerpt(b"abc", 8), "abc");
    }
}
