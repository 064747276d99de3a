//! Fitting lines to the terminal's width: wrapping at word boundaries with
//! a hanging indent, packing `field  field  field` lines, and the
//! widths of columns that share a line. Colour escape codes count as no
//! width; wide characters count as two.

use textwrap::{Options, WordSeparator, WordSplitter};

/// Never wrap narrower than this (a terminal of a few columns gets lines
/// of this many, which it wraps itself).
pub const MIN_WIDTH: usize = 20;
/// Continuation lines keep at least this many columns for text: a hanging
/// indent deeper than that is made shallower.
const MIN_ROOM: usize = 24;

/// How many columns `text` takes on a terminal.
pub fn width(text: &str) -> usize {
    textwrap::core::display_width(text)
}

/// Where a wrapped line's continuation starts: under the text after the
/// first gap of two or more spaces (`status:   value`, `term   what it
/// does`), or two columns in from the line's own indent; after `=== `
/// and `*** ` marks, under the text. Never so deep that less than a
/// few words fit.
pub fn hang(line: &str, width: usize) -> usize {
    let plain = anstream::adapter::strip_str(line).to_string();
    let lead = plain.len() - plain.trim_start_matches(' ').len();
    let rest = &plain[lead..];
    let hang = if rest.starts_with("=== ") || rest.starts_with("*** ") {
        lead + 4
    } else {
        match aligned_column(rest) {
            Some(col) => lead + col,
            None => lead + 2,
        }
    };
    if hang + MIN_ROOM <= width {
        hang
    } else {
        (lead + 2).min(width.saturating_sub(MIN_ROOM))
    }
}

/// The column (in `rest`, which starts with a word) after the first gap
/// of two or more spaces, if the text before it looks like a term: no
/// sentence ends before the gap.
fn aligned_column(rest: &str) -> Option<usize> {
    let gap = rest.find("  ")?;
    let term = &rest[..gap];
    if term.is_empty() || term.ends_with(['.', '!', '?', ';']) {
        return None;
    }
    let after = rest[gap..].trim_start_matches(' ');
    if after.is_empty() {
        return None;
    }
    Some(width(&rest[..rest.len() - after.len()]))
}

/// `line` (one line, no line break) wrapped with its own hanging indent
/// ([`hang`]) to at most `width` columns.
pub fn wrap(line: &str, width: usize) -> Vec<String> {
    if self::width(line) <= width.max(MIN_WIDTH) {
        return vec![line.to_string()];
    }
    wrap_hanging(line, width, hang(line, width))
}

/// `line` wrapped at spaces to at most `width` columns (at least
/// [`MIN_WIDTH`]), continuation lines indented by `hang` spaces; a word
/// longer than a whole line is cut. Spaces inside a line are kept (so
/// aligned columns stay aligned); a line that fits comes back as it is.
pub fn wrap_hanging(line: &str, width: usize, hang: usize) -> Vec<String> {
    let width = width.max(MIN_WIDTH);
    if self::width(line) <= width {
        return vec![line.to_string()];
    }
    let indent = " ".repeat(hang.min(width - MIN_WIDTH / 2));
    let options = Options::new(width)
        .subsequent_indent(&indent)
        .word_separator(WordSeparator::AsciiSpace)
        .word_splitter(WordSplitter::NoHyphenation)
        .break_words(true);
    textwrap::wrap(line, options)
        .into_iter()
        .map(|l| l.into_owned())
        .collect()
}

/// Fields joined two spaces apart after `first`, as many on a line as
/// fit in `width`; the lines after start with `below`. A field too long
/// for a line of its own is wrapped at its spaces.
pub fn pack(first: &str, below: &str, fields: &[String], width: usize) -> Vec<String> {
    let width = width.max(MIN_WIDTH);
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for field in fields {
        let sep = if empty { "" } else { "  " };
        if self::width(&line) + sep.len() + self::width(field) <= width {
            line.push_str(sep);
            line.push_str(field);
            empty = false;
            continue;
        }
        if !empty {
            lines.push(std::mem::replace(&mut line, below.to_string()));
        }
        // The field starts a line: wrapped if even that is too narrow.
        let start = if lines.is_empty() { first } else { below };
        let mut pieces = wrap_hanging(&format!("{start}{field}"), width, self::width(below) + 2);
        line = pieces.pop().unwrap_or_default();
        lines.append(&mut pieces);
        empty = false;
    }
    lines.push(line);
    lines
}

/// Widths for columns that share `room` columns: each gets at least its
/// minimum and at most its maximum, the rest shared in proportion to
/// (maximum - minimum). `None` when the minimums do not fit.
pub fn share(room: usize, limits: &[(usize, usize)]) -> Option<Vec<usize>> {
    let least: usize = limits.iter().map(|l| l.0).sum();
    let spare = room.checked_sub(least)?;
    let wanted: usize = limits.iter().map(|l| l.1.saturating_sub(l.0)).sum();
    if wanted <= spare {
        return Some(limits.iter().map(|l| l.1.max(l.0)).collect());
    }
    let mut widths: Vec<usize> = limits
        .iter()
        .map(|&(min, max)| min + max.saturating_sub(min) * spare / wanted.max(1))
        .collect();
    // What the rounding down left goes to the first columns.
    let mut left = room.saturating_sub(widths.iter().sum());
    for (w, &(_, max)) in widths.iter_mut().zip(limits) {
        if left == 0 {
            break;
        }
        if *w < max {
            *w += 1;
            left -= 1;
        }
    }
    Some(widths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widest(lines: &[String]) -> usize {
        lines.iter().map(|l| width(l)).max().unwrap_or(0)
    }

    #[test]
    fn a_line_that_fits_is_left_alone() {
        assert_eq!(wrap("  short   line", 60), ["  short   line"]);
    }

    #[test]
    fn wrapping_breaks_at_spaces_with_a_hanging_indent() {
        let line =
            "  Checks the last server reply; in a script a failed expect stops it (exit status 5).";
        let lines = wrap(line, 40);
        assert_eq!(
            lines,
            [
                "  Checks the last server reply; in a",
                "    script a failed expect stops it",
                "    (exit status 5).",
            ]
        );
    }

    #[test]
    fn an_aligned_line_hangs_under_its_second_column() {
        let line = "extensions:   PIPELINING, SIZE 10240000, 8BITMIME, SMTPUTF8, CHUNKING, STARTTLS, AUTH PLAIN LOGIN";
        let lines = wrap(line, 60);
        assert!(widest(&lines) <= 60, "{lines:#?}");
        assert!(lines.len() > 1);
        for l in &lines[1..] {
            assert!(l.starts_with("              ") && !l.starts_with("               "));
        }
        // Too deep for the width: two in from the line's indent instead.
        assert_eq!(
            hang("  inbox N --raw                    prints the bytes", 60),
            35
        );
        assert_eq!(
            hang("  inbox N --raw                    prints the bytes", 50),
            4
        );
        // A sentence before two spaces is no term.
        assert_eq!(hang("  It ends.  Then more", 80), 4);
        assert_eq!(hang("=== a note", 80), 4);
        assert_eq!(hang("    a hint", 80), 6);
    }

    #[test]
    fn colour_counts_as_no_width() {
        let bold = "\x1b[1mconnect\x1b[0m";
        assert_eq!(width(bold), 7);
        let line =
            format!("  {bold} HOST PORT   open a connection to the server and read its greeting");
        let lines = wrap(&line, 50);
        assert!(widest(&lines) <= 50, "{lines:#?}");
        assert!(lines[0].starts_with("  \x1b[1mconnect\x1b[0m"));
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut() {
        let line = format!("  file: /tmp/{}", "x".repeat(100));
        let lines = wrap(&line, 40);
        assert!(widest(&lines) <= 40, "{lines:#?}");
        assert_eq!(lines.concat().matches('x').count(), 100);
    }

    #[test]
    fn wide_characters_count_twice() {
        let line = "主題 ".repeat(30);
        let lines = wrap_hanging(&line, 30, 2);
        assert!(widest(&lines) <= 30, "{lines:#?}");
    }

    #[test]
    fn narrow_or_odd_widths_never_panic() {
        for w in [0, 1, 5, 19, 20, 21] {
            for line in ["", " ", "a", "   x  y", "\x1b[1m\x1b[0m", "éé  éé éé"] {
                let _ = wrap(line, w);
                let _ = pack(line, "  ", &[line.to_string(), "abc".into()], w);
            }
        }
    }

    #[test]
    fn fields_are_packed_then_continued_under_the_tree() {
        let fields: Vec<String> = [
            "text/plain; charset=utf-8",
            "quoted-printable",
            "12 bytes",
            "\"notes for the meeting.txt\"",
            "attachment",
            "sha256 0123456789ab",
        ]
        .map(String::from)
        .to_vec();
        let lines = pack("   ├─ ", "   │      ", &fields, 60);
        assert_eq!(
            lines,
            [
                "   ├─ text/plain; charset=utf-8  quoted-printable  12 bytes",
                "   │      \"notes for the meeting.txt\"  attachment",
                "   │      sha256 0123456789ab",
            ]
        );
        let one = pack("└─ ", "   ", &fields[..3], 200);
        assert_eq!(
            one,
            ["└─ text/plain; charset=utf-8  quoted-printable  12 bytes"]
        );
        let long = vec!["word ".repeat(30)];
        let lines = pack("└─ ", "     ", &long, 40);
        assert!(widest(&lines) <= 40, "{lines:#?}");
    }

    #[test]
    fn columns_share_the_room() {
        let limits = [(10, 24), (10, 24), (12, 30)];
        assert_eq!(share(200, &limits), Some(vec![24, 24, 30]));
        assert_eq!(share(32, &limits), Some(vec![10, 10, 12]));
        assert_eq!(share(31, &limits), None);
        let w = share(50, &limits).expect("fits");
        assert_eq!(w.iter().sum::<usize>(), 50, "{w:?}");
        assert!(w.iter().zip(&limits).all(|(w, l)| (l.0..=l.1).contains(w)));
    }
}
