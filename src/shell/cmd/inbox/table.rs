//! The `inbox` list as a table fitted to the terminal's width: from, to
//! and subject share what the number, time and size leave; when even
//! their narrowest does not fit, the time loses its year and seconds,
//! then the `to` column goes. Without a width (a pipe, a file) the table
//! is the full one, 119 columns.

use crate::sandbox::inbox::{self as mailbox, Summary};
use crate::text::wrap::share;

/// The widest the columns from, to and subject get.
const FROM: usize = 24;
const TO: usize = 24;
const SUBJECT: usize = 30;
/// The narrowest they get with the full time (below, the time is
/// shortened first), then with the short time (below, `to` goes).
const WIDE_MIN: [usize; 3] = [16, 16, 20];
const NARROW_MIN: [usize; 3] = [12, 12, 14];
/// `2026-12-06 17:39:35` or `12-06 17:39`.
const LONG_TIME: usize = 19;
const SHORT_TIME: usize = 11;
/// `#` and the size.
const NUMBER: usize = 3;
const SIZE: usize = 9;
/// Two spaces between columns.
const GAP: usize = 2;

/// How the table is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    short_time: bool,
    from: usize,
    /// `None`: no `to` column.
    to: Option<usize>,
    subject: usize,
}

/// The layout that fits `width` columns (`None`: no limit).
fn layout(width: Option<usize>) -> Layout {
    let width = width.unwrap_or(usize::MAX);
    let [wf, wt, ws] = WIDE_MIN;
    let [nf, nt, ns] = NARROW_MIN;
    let choices: [(bool, &[(usize, usize)]); 3] = [
        (false, &[(wf, FROM), (wt, TO), (ws, SUBJECT)]),
        (true, &[(nf, FROM), (nt, TO), (ns, SUBJECT)]),
        (true, &[(nf, FROM), (ns, SUBJECT)]),
    ];
    for (short_time, limits) in choices {
        let time = if short_time { SHORT_TIME } else { LONG_TIME };
        let fixed = NUMBER + time + SIZE + GAP * (limits.len() + 2);
        if let Some(w) = share(width.saturating_sub(fixed), limits) {
            return match w[..] {
                [from, to, subject] => Layout {
                    short_time,
                    from,
                    to: Some(to),
                    subject,
                },
                [from, subject] => Layout {
                    short_time,
                    from,
                    to: None,
                    subject,
                },
                _ => break,
            };
        }
    }
    // Narrower than any: the narrowest (the terminal wraps it).
    Layout {
        short_time: true,
        from: nf,
        to: None,
        subject: ns,
    }
}

/// The table's lines: the heading, then a row per message.
pub(super) fn lines(items: &[Summary], width: Option<usize>) -> Vec<String> {
    let l = layout(width);
    let row = |n: &str, when: &str, from: &str, to: &str, subject: &str, size: &str| {
        let time = if l.short_time { SHORT_TIME } else { LONG_TIME };
        let mut line = format!(
            "{n:>NUMBER$}  {}  {}  ",
            pad(when, time),
            pad(&clip(from, l.from), l.from)
        );
        if let Some(w) = l.to {
            line.push_str(&pad(&clip(to, w), w));
            line.push_str("  ");
        }
        line.push_str(&pad(&clip(subject, l.subject), l.subject));
        line.push_str(&format!("  {size:>SIZE$}"));
        line
    };
    let mut out = vec![row(
        "#",
        if l.short_time {
            "received"
        } else {
            "received (UTC)"
        },
        "from",
        "to",
        "subject",
        "size",
    )];
    for m in items {
        let when = crate::clock::readable_unix(m.entry.received);
        let when = when.strip_suffix(" UTC").unwrap_or(&when);
        // `2026-12-06 17:39:35` → `12-06 17:39`.
        let when = match when.get(5..16) {
            Some(short) if l.short_time => short,
            _ => when,
        };
        out.push(row(
            &m.number.to_string(),
            when,
            &m.from,
            &m.to,
            &m.subject,
            &crate::shell::output::scaled(m.entry.size as f64, "B"),
        ));
    }
    out
}

/// `text` padded with spaces to `width` columns.
fn pad(text: &str, width: usize) -> String {
    let have = crate::text::wrap::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(have)))
}

/// At most `width` columns, `…` marking a cut; control characters replaced.
pub(super) fn clip(text: &str, width: usize) -> String {
    let text = mailbox::printable(text);
    if crate::text::wrap::width(&text) <= width {
        return text;
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_narrows_column_by_column() {
        let full = layout(None);
        assert_eq!(
            full,
            Layout {
                short_time: false,
                from: 24,
                to: Some(24),
                subject: 30
            }
        );
        assert_eq!(layout(Some(119)), full);
        let eighty = layout(Some(80));
        assert!(eighty.short_time && eighty.to.is_some(), "{eighty:?}");
        let sixty = layout(Some(60));
        assert_eq!(sixty.to, None, "{sixty:?}");
        assert!(layout(Some(100)).to.is_some());
    }

    #[test]
    fn clipping_counts_columns() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("abcdefghijkl", 5), "abcd…");
        assert_eq!(clip("a\u{7}b", 5), "a\u{fffd}b");
        assert_eq!(clip("主題主題主題", 5), "主題…");
        assert_eq!(pad("主題", 6), "主題  ");
    }
}
