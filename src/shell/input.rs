//! Where command lines come from: the line editor on a terminal, or a
//! script (a file, standard input, or the `-c` commands) read directly with
//! no editor and no prompt.

use std::collections::VecDeque;
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a script is read from standard input: from then on standard
/// input belongs to the script, and nothing else may read it
/// (`send --message -`).
static SCRIPT_ON_STDIN: AtomicBool = AtomicBool::new(false);

/// Whether a script of this process is read from standard input.
pub fn script_reads_stdin() -> bool {
    SCRIPT_ON_STDIN.load(Ordering::SeqCst)
}

/// The result of asking for a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line (without its line ending).
    Text(String),
    /// End of input (Ctrl-D, end of file).
    Eof,
    /// Ctrl-C at the prompt.
    Interrupted,
}

/// A source of lines.
pub trait Input {
    /// Reads the next command line.
    fn command(&mut self, prompt: &(String, String)) -> Line;
    /// Reads a continuation line (message text after `body` or DATA).
    fn continuation(&mut self, prompt: &str) -> Line;
    /// Reads a file path (Tab completes paths); a script's next line.
    fn path(&mut self, prompt: &str) -> Line {
        self.continuation(prompt)
    }
    /// Whether a person is typing (prompts, warnings that wait for a second try).
    fn interactive(&self) -> bool;
    /// Whether the next command line (skipping blank lines and comments) is
    /// an `expect` that judges the last reply (not `expect tls`, `ext`,
    /// `auth`), without consuming it. Always false when interactive.
    fn next_is_expect(&mut self) -> bool {
        false
    }
    /// `name:line` of the line read last, for error messages in scripts.
    fn location(&self) -> Option<String> {
        None
    }
    /// The command history, oldest first.
    fn history(&self) -> Vec<String> {
        Vec::new()
    }
    /// The line editor, when a person types at one: reading through it
    /// lets the watcher show what the server says meanwhile
    /// ([`super::read_watched`]).
    fn editor(&mut self) -> Option<&mut super::helper::Editor> {
        None
    }
}

/// A script: a file, standard input, or the `-c` commands.
pub struct ScriptInput {
    name: String,
    reader: Option<Box<dyn BufRead>>,
    ahead: VecDeque<String>,
    line_no: usize,
}

impl ScriptInput {
    /// Lines from a reader; `name` is used in error locations.
    pub fn from_reader(name: &str, reader: Box<dyn BufRead>) -> ScriptInput {
        ScriptInput {
            name: name.to_string(),
            reader: Some(reader),
            ahead: VecDeque::new(),
            line_no: 0,
        }
    }
    /// Lines from standard input (`-f -`, a piped script); other readers
    /// of standard input then refuse ([`script_reads_stdin`]).
    pub fn from_stdin(name: &str) -> ScriptInput {
        SCRIPT_ON_STDIN.store(true, Ordering::SeqCst);
        ScriptInput::from_reader(name, Box::new(std::io::BufReader::new(std::io::stdin())))
    }
    /// Lines given in advance (`-c`).
    pub fn from_lines(name: &str, lines: Vec<String>) -> ScriptInput {
        ScriptInput {
            name: name.to_string(),
            reader: None,
            ahead: lines.into(),
            line_no: 0,
        }
    }

    fn fill(&mut self) -> bool {
        let Some(reader) = self.reader.as_mut() else {
            return false;
        };
        let mut buf = Vec::new();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => {
                self.reader = None;
                false
            }
            Ok(_) => {
                if buf.ends_with(b"\n") {
                    buf.pop();
                }
                if buf.ends_with(b"\r") {
                    buf.pop();
                }
                self.ahead
                    .push_back(String::from_utf8_lossy(&buf).into_owned());
                true
            }
        }
    }

    fn next_line(&mut self) -> Line {
        if self.ahead.is_empty() && !self.fill() {
            return Line::Eof;
        }
        match self.ahead.pop_front() {
            Some(l) => {
                self.line_no += 1;
                Line::Text(l)
            }
            None => Line::Eof,
        }
    }
}

impl Input for ScriptInput {
    fn command(&mut self, _prompt: &(String, String)) -> Line {
        self.next_line()
    }
    fn continuation(&mut self, _prompt: &str) -> Line {
        self.next_line()
    }
    fn interactive(&self) -> bool {
        false
    }
    fn next_is_expect(&mut self) -> bool {
        let mut i = 0;
        loop {
            if i >= self.ahead.len() && !self.fill() {
                return false;
            }
            let Some(line) = self.ahead.get(i) else {
                return false;
            };
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                i += 1;
                continue;
            }
            return super::cmd::script::is_reply_expect(t);
        }
    }
    fn location(&self) -> Option<String> {
        Some(format!("{}:{}", self.name, self.line_no))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_lines_and_lookahead() {
        let text = "connect x\r\n\n# note\n  expect 220\nbody\n";
        let mut s = ScriptInput::from_reader("t.smtp", Box::new(text.as_bytes()));
        let p = (String::new(), String::new());
        assert_eq!(s.command(&p), Line::Text("connect x".into()));
        assert_eq!(s.location().as_deref(), Some("t.smtp:1"));
        assert!(s.next_is_expect());
        assert_eq!(s.command(&p), Line::Text(String::new()));
        assert_eq!(s.command(&p), Line::Text("# note".into()));
        assert_eq!(s.command(&p), Line::Text("  expect 220".into()));
        assert!(!s.next_is_expect());
        assert_eq!(s.continuation(""), Line::Text("body".into()));
        assert_eq!(s.location().as_deref(), Some("t.smtp:5"));
        assert_eq!(s.command(&p), Line::Eof);
    }

    #[test]
    fn command_list_input() {
        let mut s = ScriptInput::from_lines("-c", vec!["noop".into(), "expect 250".into()]);
        assert!(!s.interactive());
        let p = (String::new(), String::new());
        assert_eq!(s.command(&p), Line::Text("noop".into()));
        assert!(s.next_is_expect());
        assert_eq!(s.command(&p), Line::Text("expect 250".into()));
        assert_eq!(s.command(&p), Line::Eof);
    }
}
