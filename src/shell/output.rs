//! Everything the shell prints: the transcript in swaks' convention
//! (` -> ` client, `<-  ` server, ` ~> ` / `<~  ` inside TLS, `===` notes,
//! `***` errors), replies coloured by class, and warnings.

use crate::smtp::{Event, Observer, Reply};
use colored::{ColoredString, Colorize};
use std::io::{self, Write};

/// How colour is chosen (`--color`, `set color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    /// Colour when standard output is a terminal and `NO_COLOR` is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Parses `auto`, `always` or `never`.
    pub fn parse(s: &str) -> Option<ColorChoice> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(ColorChoice::Auto),
            "always" | "on" => Some(ColorChoice::Always),
            "never" | "off" => Some(ColorChoice::Never),
            _ => None,
        }
    }
    /// The name as typed.
    pub fn name(self) -> &'static str {
        match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        }
    }
    /// Applies the choice to all later output.
    pub fn apply(self) {
        use std::io::IsTerminal;
        let on = match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
        };
        colored::control::set_override(on);
    }
}

/// Colours a reply line by the reply's class.
pub fn by_class(code: u16, text: &str) -> ColoredString {
    match code / 100 {
        2 => text.green(),
        3 => text.cyan(),
        4 => text.yellow(),
        _ => text.red(),
    }
}

/// The shell's printer. Transcript and notes go to standard output, errors
/// and warnings to standard error.
#[derive(Debug, Default)]
pub struct Output {
    /// Extra detail (`set verbose on`): notices from the connection layer.
    pub verbose: bool,
    /// During AUTH: show each 334 challenge decoded after it.
    pub sasl: bool,
}

impl Output {
    /// A line we sent.
    pub fn sent(&self, line: &str, secure: bool) {
        let arrow = if secure { " ~> " } else { " -> " };
        println!("{}{}", arrow.bold(), line.bold());
    }
    /// A reply, every line.
    pub fn reply(&self, reply: &Reply, secure: bool) {
        let arrow = if secure { "<~  " } else { "<-  " };
        let mut out = io::stdout().lock();
        for (i, line) in reply.wire_lines().iter().enumerate() {
            // AUTH challenges are base64: show what they say.
            let decoded = match reply.lines.get(i) {
                Some(text) if self.sasl && reply.code == 334 && !text.is_empty() => {
                    match crate::smtp::sasl::decode_challenge(text) {
                        Ok(bytes) => format!("   ({})", crate::smtp::sasl::show_challenge(&bytes)),
                        Err(_) => "   (not base64)".to_string(),
                    }
                }
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "{}{}{}",
                arrow.dimmed(),
                by_class(reply.code, line),
                decoded.dimmed()
            );
        }
    }
    /// A local note (`=== ...`).
    pub fn note(&self, text: &str) {
        println!("{} {}", "===".blue(), text);
    }
    /// A success note (`=== ...` in green).
    pub fn ok(&self, text: &str) {
        println!("{} {}", "===".green(), text.green());
    }
    /// A warning on standard error.
    pub fn warn(&self, text: &str) {
        let _ = io::stdout().flush();
        eprintln!("{} {}", "***".yellow().bold(), text.yellow());
    }
    /// An error on standard error (`*** ...`).
    pub fn error(&self, text: &str) {
        let _ = io::stdout().flush();
        eprintln!("{} {}", "***".red().bold(), text.red());
    }
    /// A hint after an error: what to do next.
    pub fn hint(&self, text: &str) {
        let _ = io::stdout().flush();
        for line in text.lines() {
            eprintln!("    {}", line.dimmed());
        }
    }
    /// Plain text on standard output.
    pub fn plain(&self, text: &str) {
        println!("{text}");
    }
}

impl Observer for Output {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Sent { line, secure } => self.sent(line, secure),
            Event::Received { reply, secure } => self.reply(reply, secure),
            Event::DataSent {
                bytes,
                secure,
                bdat,
            } => {
                let arrow = if secure { " ~> " } else { " -> " };
                let what = if bdat {
                    format!(
                        "[message content: {} as the BDAT chunk, no dot-stuffing]",
                        human_bytes(bytes)
                    )
                } else {
                    format!(
                        "[message content: {} on the wire, ended by <CRLF>.<CRLF>]",
                        human_bytes(bytes)
                    )
                };
                println!("{}{}", arrow.bold(), what.dimmed());
            }
            Event::Notice(text) => {
                if self.verbose {
                    self.note(text);
                }
            }
        }
    }
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
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if n == 1 {
        "1 byte".to_string()
    } else if n < 1024 {
        format!("{n} bytes")
    } else if f < KIB * KIB {
        format!("{:.1} KiB", f / KIB)
    } else if f < KIB * KIB * KIB {
        format!("{:.1} MiB", f / (KIB * KIB))
    } else {
        format!("{:.2} GiB", f / (KIB * KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_human() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1), "1 byte");
        assert_eq!(human_bytes(1023), "1023 bytes");
        assert_eq!(human_bytes(1536), "1.5 KiB (1536 bytes)");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB (3145728 bytes)");
    }

    #[test]
    fn color_choices_parse() {
        assert_eq!(ColorChoice::parse("NEVER"), Some(ColorChoice::Never));
        assert_eq!(ColorChoice::parse("always"), Some(ColorChoice::Always));
        assert_eq!(
            ColorChoice::parse("auto").map(ColorChoice::name),
            Some("auto")
        );
        assert_eq!(ColorChoice::parse("blue"), None);
    }
}
