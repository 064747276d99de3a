//! The terminal's size, asked each time a line is printed (so a resized
//! window is followed), and the pager long output goes through.

use super::Output;
use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How wide (and tall) the output is, for wrapping and paging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Never wrapped nor paged (a pipe, a file, memory).
    Off,
    /// This many columns and rows (tests).
    Fixed {
        /// Columns.
        cols: usize,
        /// Rows.
        rows: usize,
    },
    /// The size of the terminal standard output (or, for standard error,
    /// standard error) is, asked each time; none when it is no terminal.
    Terminal,
}

/// Which writer a size is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

impl Fit {
    /// Columns and rows of `stream`, if it is to be fitted.
    pub fn size(self, stream: Stream) -> Option<(usize, usize)> {
        match self {
            Fit::Off => None,
            Fit::Fixed { cols, rows } => Some((cols, rows)),
            Fit::Terminal => {
                let size = match stream {
                    Stream::Out => terminal_size::terminal_size_of(io::stdout()),
                    Stream::Err => terminal_size::terminal_size_of(io::stderr()),
                };
                size.map(|(w, h)| (usize::from(w.0), usize::from(h.0)))
                    .filter(|&(w, _)| w > 0)
            }
        }
    }
}

/// The columns of standard error if it is a terminal (the progress bar).
pub fn stderr_columns() -> Option<usize> {
    Fit::Terminal.size(Stream::Err).map(|(w, _)| w)
}

impl Output {
    /// Holds the lines printed from now on (warnings and errors too, so
    /// the order stays), to go through the pager at [`Output::page_end`]
    /// if they are taller than the screen. Only for
    /// a command typed at the prompt with standard output a terminal, and
    /// `set pager on`; otherwise lines are printed as they come.
    pub fn page_start(&self) {
        if self.interactive && self.pager && self.fit.size(Stream::Out).is_some() {
            *self.page.borrow_mut() = Some(Vec::new());
        }
    }
    /// Prints the lines held since [`Output::page_start`]: through the
    /// pager when there are more than the screen has rows (one is kept
    /// for the prompt), else as usual; a pager that cannot start is
    /// warned about once per command and the lines are printed.
    pub fn page_end(&self) {
        let Some(lines) = self.page.borrow_mut().take() else {
            return;
        };
        let rows = self.fit.size(Stream::Out).map_or(usize::MAX, |(_, h)| h);
        if lines.len() >= rows && !self.broken.get() {
            let _ = self.flush();
            let mut text = String::new();
            for (_, line) in &lines {
                text.push_str(line);
                text.push('\n');
            }
            match page(&text, self.interrupt.as_deref()) {
                Ok(()) => return,
                Err(e) => self.warn(&format!(
                    "cannot start the pager `{}`: {e}; `set pager off` stops trying",
                    pager_command().join(" ")
                )),
            }
        }
        for (stream, line) in &lines {
            match stream {
                Stream::Out => self.write_out(line),
                Stream::Err => self.write_err(line),
            }
        }
    }
}

/// The pager's command line: `$PAGER` split like a shell would (quotes
/// respected), `less -R` when it is unset, empty or unreadable.
pub fn pager_command() -> Vec<String> {
    let from_env = std::env::var("PAGER")
        .ok()
        .and_then(|p| shlex::split(&p))
        .filter(|words| !words.is_empty());
    from_env.unwrap_or_else(|| vec!["less".into(), "-R".into()])
}

/// Shows `text` through the pager and waits for it to end. An error means
/// the pager could not be started (nothing was shown); a pager quit before
/// the end of the text is no error. The text is written from a thread of
/// its own (a pager reads only as far as it shows); meanwhile `interrupt`,
/// the flag Ctrl-C sets, is kept clear: Ctrl-C belongs to the pager then,
/// and a second one must not end smtpsh (see `ctrl_c_flag`).
pub fn page(text: &str, interrupt: Option<&AtomicBool>) -> io::Result<()> {
    let words = pager_command();
    let (program, args) = words
        .split_first()
        .ok_or_else(|| io::Error::other("no pager command"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()?;
    let writer = child.stdin.take().map(|mut stdin| {
        let text = text.to_string();
        // A pager left early closes the pipe: that ends the writing.
        std::thread::spawn(move || {
            let _ = stdin.write_all(text.as_bytes());
        })
    });
    loop {
        if let Some(flag) = interrupt {
            flag.store(false, Ordering::SeqCst);
        }
        match child.try_wait() {
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Ok(Some(_)) | Err(_) => break,
        }
    }
    if let Some(flag) = interrupt {
        flag.store(false, Ordering::SeqCst);
    }
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_only_for_a_typed_command_and_in_order() {
        let (mut o, c) = Output::capture(false);
        o.set_fit(Fit::Fixed { cols: 80, rows: 24 });
        // Not typed at the prompt (a script): printed as it comes.
        o.page_start();
        o.plain("one");
        assert_eq!(c.stdout(), "one\n");
        o.page_end();
        // Typed, shorter than the screen: held, then printed in order,
        // a warning in its place.
        o.interactive = true;
        o.page_start();
        o.plain("two");
        o.warn("careful");
        assert_eq!(c.stdout(), "one\n", "held");
        assert_eq!(c.stderr(), "");
        o.page_end();
        assert_eq!(c.stdout(), "one\ntwo\n");
        assert_eq!(c.stderr(), "*** careful\n");
        // `set pager off`: nothing held.
        o.pager = false;
        o.page_start();
        o.plain("three");
        assert!(c.stdout().ends_with("three\n"));
        o.page_end();
        // A pipe: nothing held either.
        let (mut o, c) = Output::capture(false);
        o.interactive = true;
        o.page_start();
        o.plain("four");
        assert_eq!(c.stdout(), "four\n");
        o.page_end();
    }
}
