//! Text helpers every layer uses.

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
}
