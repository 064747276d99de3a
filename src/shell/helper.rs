//! The line editor: rustyline with a helper that completes, hints and
//! highlights from the command table, and a history file kept across runs.

use super::commands::{self, COMMANDS, Complete};
use super::exec::SETTINGS;
use super::history::{self, HistoryFile};
use super::input::{Input, Line};
use super::output::Output;
use crate::smtp::Extensions;
use colored::Colorize;
use rustyline::completion::{Completer, FilenameCompleter, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::{FileHistory, History};
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Context};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// Most commands kept in the history.
const MAX_HISTORY: usize = 5000;

/// SMTP verbs offered after `raw`.
const VERBS: &[&str] = &[
    "EHLO",
    "HELO",
    "MAIL FROM:<",
    "RCPT TO:<",
    "DATA",
    "RSET",
    "NOOP",
    "QUIT",
    "VRFY",
    "EXPN",
    "HELP",
    "STARTTLS",
    "AUTH",
    "BDAT",
];

/// The rustyline helper.
pub struct ShellHelper {
    files: FilenameCompleter,
    /// Extension keywords the server announced (refreshed before each prompt).
    extensions: Rc<RefCell<Vec<String>>>,
    /// AUTH mechanisms the server announced that smtpsh supports.
    mechanisms: Rc<RefCell<Vec<String>>>,
}

impl rustyline::Helper for ShellHelper {}
impl Validator for ShellHelper {}

/// Splits `line[..pos]` into (start of the current word, the word).
fn current_word(line: &str, pos: usize) -> (usize, &str) {
    let head = &line[..pos];
    let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
    (start, &head[start..])
}

fn pairs<I: IntoIterator<Item = String>>(items: I) -> Vec<Pair> {
    items
        .into_iter()
        .map(|s| Pair {
            display: s.clone(),
            replacement: s,
        })
        .collect()
}

impl ShellHelper {
    /// Candidates for `line` up to `pos` (also used by tests).
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<Pair>) {
        let (start, word) = current_word(line, pos);
        let head = line[..start].trim();
        if head.is_empty() {
            let names = commands::names_starting_with(word);
            let mut out: Vec<String> = names.into_iter().map(|n| format!("{n} ")).collect();
            if word.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                out = out.into_iter().map(|n| n.to_ascii_uppercase()).collect();
            }
            return (start, pairs(out));
        }
        let cmd = head.split_whitespace().next().unwrap_or("");
        let Some(spec) = commands::find(cmd) else {
            return (start, Vec::new());
        };
        if word.starts_with('-') {
            let opts = spec
                .options
                .iter()
                .filter_map(|o| o.split(' ').next())
                .filter(|o| o.starts_with(word))
                .map(|o| format!("{o} "));
            return (start, pairs(opts));
        }
        let nargs = head.split_whitespace().count() - 1;
        let prev = head.split_whitespace().last().unwrap_or("");
        match spec.complete {
            Complete::Paths => {
                if prev == "--type" || prev == "--name" {
                    return (start, Vec::new());
                }
                self.files
                    .complete_path(line, pos)
                    .unwrap_or((start, Vec::new()))
            }
            Complete::Commands if nargs == 0 => (
                start,
                pairs(
                    commands::names_starting_with(word)
                        .into_iter()
                        .map(String::from),
                ),
            ),
            Complete::Settings if nargs == 0 => (
                start,
                pairs(
                    SETTINGS
                        .iter()
                        .filter(|s| s.starts_with(word))
                        .map(|s| format!("{s} ")),
                ),
            ),
            Complete::Settings if nargs == 1 => {
                let values: &[&str] = match prev {
                    "color" => &["auto", "always", "never"],
                    "verbose" | "require-tls" => &["on", "off"],
                    "transfer" => &["auto", "data", "bdat"],
                    "timeout" => &["default", "30", "60", "300"],
                    "resolver" => &["system", "127.0.0.1:53"],
                    _ => &[],
                };
                (
                    start,
                    pairs(
                        values
                            .iter()
                            .filter(|v| v.starts_with(word))
                            .map(|v| v.to_string()),
                    ),
                )
            }
            Complete::Verbs if nargs == 0 => {
                let up = word.to_ascii_uppercase();
                let mut v: Vec<String> = VERBS
                    .iter()
                    .filter(|v| v.starts_with(&up))
                    .map(|v| v.to_string())
                    .collect();
                for ext in self.extensions.borrow().iter() {
                    if ext.starts_with(&up) && !v.contains(ext) {
                        v.push(ext.clone());
                    }
                }
                (start, pairs(v))
            }
            Complete::Verbs if prev.eq_ignore_ascii_case("MAIL") || prev.contains('>') => {
                // ESMTP parameters the server announced.
                let up = word.to_ascii_uppercase();
                let ext = self.extensions.borrow();
                let params: Vec<String> = [
                    ("SIZE", "SIZE="),
                    ("8BITMIME", "BODY=8BITMIME"),
                    ("SMTPUTF8", "SMTPUTF8"),
                    ("DSN", "RET="),
                ]
                .iter()
                .filter(|(k, p)| ext.iter().any(|e| e == k) && p.starts_with(&up))
                .map(|(_, p)| p.to_string())
                .collect();
                (start, pairs(params))
            }
            Complete::Mechanisms if nargs == 0 => {
                let up = word.to_ascii_uppercase();
                let found = self
                    .mechanisms
                    .borrow()
                    .iter()
                    .filter(|m| m.starts_with(&up))
                    .map(|m| format!("{m} "))
                    .collect::<Vec<_>>();
                (start, pairs(found))
            }
            _ => (start, Vec::new()),
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;
    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(self.candidates(line, pos))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
    /// After a complete command name, the rest of its usage line.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        if pos != line.len() {
            return None;
        }
        let word = line.trim_end();
        if word.contains(char::is_whitespace) || word.is_empty() {
            return None;
        }
        let spec = COMMANDS.iter().find(|c| c.name == word)?;
        let rest = spec.usage.strip_prefix(spec.name)?;
        if rest.is_empty() {
            return None;
        }
        Some(if line.ends_with(' ') {
            rest.trim_start().to_string()
        } else {
            rest.to_string()
        })
    }
}

impl Highlighter for ShellHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let word = &trimmed[..end];
        if word.is_empty() || word.starts_with('#') {
            return Cow::Borrowed(line);
        }
        let colored = if commands::find(word).is_some() {
            word.green().bold()
        } else if commands::names_starting_with(word).is_empty() {
            word.red()
        } else {
            return Cow::Borrowed(line);
        };
        Cow::Owned(format!("{}{}{}", &line[..lead], colored, &trimmed[end..]))
    }
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        Cow::Owned(hint.dimmed().to_string())
    }
    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        kind != CmdKind::MoveCursor
    }
}

/// The line editor as an [`Input`].
pub struct Editor {
    ed: rustyline::Editor<ShellHelper, FileHistory>,
    extensions: Rc<RefCell<Vec<String>>>,
    mechanisms: Rc<RefCell<Vec<String>>>,
    history: Option<HistoryFile>,
    warning: Option<String>,
}

impl Editor {
    /// Starts the editor and loads the history (unless `no_history`).
    pub fn new(no_history: bool) -> rustyline::Result<Editor> {
        let config = Config::builder()
            .history_ignore_space(true)
            .completion_type(CompletionType::List)
            .max_history_size(MAX_HISTORY)?
            .auto_add_history(false)
            .build();
        let mut ed = rustyline::Editor::<ShellHelper, FileHistory>::with_config(config)?;
        let extensions = Rc::new(RefCell::new(Vec::new()));
        let mechanisms = Rc::new(RefCell::new(Vec::new()));
        ed.set_helper(Some(ShellHelper {
            files: FilenameCompleter::new(),
            extensions: extensions.clone(),
            mechanisms: mechanisms.clone(),
        }));
        let mut warning = None;
        let mut history = None;
        if let Some(path) = history::default_path().filter(|_| !no_history) {
            match HistoryFile::open(&path, MAX_HISTORY).and_then(|h| h.load().map(|l| (h, l))) {
                Ok((h, lines)) => {
                    for l in lines {
                        let _ = ed.add_history_entry(l);
                    }
                    history = Some(h);
                }
                Err(e) => {
                    warning = Some(format!(
                        "history disabled: cannot use {}: {e}",
                        path.display()
                    ));
                }
            }
        }
        Ok(Editor {
            ed,
            extensions,
            mechanisms,
            history,
            warning,
        })
    }
    /// A problem with the history file, to show once.
    pub fn history_warning(&self) -> Option<String> {
        self.warning.clone()
    }
    /// Refreshes what completion knows about the server.
    pub fn set_extensions(&mut self, ext: Option<&Extensions>) {
        *self.extensions.borrow_mut() = ext
            .map(|e| {
                e.list
                    .iter()
                    .map(|x| x.keyword.to_ascii_uppercase())
                    .collect()
            })
            .unwrap_or_default();
        *self.mechanisms.borrow_mut() = super::secure::completable_mechanisms(ext);
    }
    /// Adds a command line to the history (not message text), in memory
    /// and at once in the file, so nothing typed is lost.
    pub fn add_history(&mut self, line: &str, out: &Output) {
        if line.trim().is_empty() {
            return;
        }
        let _ = self.ed.add_history_entry(line);
        if let Some(h) = &self.history
            && let Err(e) = h.append(line)
        {
            out.warn(&format!(
                "could not write the history {}: {e}",
                h.path().display()
            ));
            self.history = None;
        }
    }
    fn read(&mut self, prompt: &(String, String)) -> Line {
        let p: (&str, &str) = (&prompt.0, &prompt.1);
        match self.ed.readline(&p) {
            Ok(l) => Line::Text(l),
            Err(ReadlineError::Interrupted) => Line::Interrupted,
            Err(_) => Line::Eof,
        }
    }
}

impl Input for Editor {
    fn command(&mut self, prompt: &(String, String)) -> Line {
        self.read(prompt)
    }
    fn continuation(&mut self, prompt: &str) -> Line {
        let styled = prompt.dimmed().to_string();
        self.read(&(prompt.to_string(), styled))
    }
    fn interactive(&self) -> bool {
        true
    }
    fn history(&self) -> Vec<String> {
        let h = self.ed.history();
        (0..h.len())
            .filter_map(|i| {
                h.get(i, rustyline::history::SearchDirection::Forward)
                    .ok()
                    .flatten()
            })
            .map(|r| r.entry.into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ShellHelper {
        ShellHelper {
            files: FilenameCompleter::new(),
            extensions: Rc::new(RefCell::new(vec![
                "SIZE".into(),
                "8BITMIME".into(),
                "XCLIENT".into(),
            ])),
            mechanisms: Rc::new(RefCell::new(vec![
                "PLAIN".into(),
                "LOGIN".into(),
                "CRAM-MD5".into(),
            ])),
        }
    }

    #[test]
    fn completes_only_the_announced_auth_mechanisms() {
        assert_eq!(words("auth "), vec!["PLAIN ", "LOGIN ", "CRAM-MD5 "]);
        assert_eq!(words("auth c"), vec!["CRAM-MD5 "]);
        assert!(words("auth x").is_empty());
        assert!(words("auth PLAIN al").is_empty());
        assert_eq!(words("auth PLAIN alice --pa"), vec!["--password-env "]);
        assert_eq!(words("set require-tls o"), vec!["on", "off"]);
        assert_eq!(words("connect --st"), vec!["--starttls "]);
    }

    fn words(line: &str) -> Vec<String> {
        helper()
            .candidates(line, line.len())
            .1
            .into_iter()
            .map(|p| p.replacement)
            .collect()
    }

    #[test]
    fn completes_commands_options_settings_and_verbs() {
        assert_eq!(words("sub"), vec!["subject "]);
        assert!(words("s").contains(&"send ".to_string()));
        assert_eq!(words("EH"), vec!["EHLO "]);
        assert_eq!(words("send --k"), vec!["--keep-open "]);
        assert_eq!(words("attach x --t"), vec!["--type "]);
        assert_eq!(words("set co"), vec!["color "]);
        assert_eq!(words("set color n"), vec!["never"]);
        assert_eq!(words("help con"), vec!["connect"]);
        assert_eq!(words("raw XC"), vec!["XCLIENT"]);
        assert_eq!(words("raw MAIL FROM:<a@b.org> BO"), vec!["BODY=8BITMIME"]);
        assert!(words("frob x").is_empty());
    }

    #[test]
    fn completes_paths_for_attach() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report-2026.pdf"), b"x").unwrap();
        let line = format!("attach {}/rep", dir.path().display());
        let got = words(&line);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].ends_with("report-2026.pdf"), "{got:?}");
    }

    #[test]
    fn hints_show_usage_after_a_command() {
        let h = helper();
        let hist = rustyline::history::DefaultHistory::new();
        let ctx = Context::new(&hist);
        assert_eq!(
            h.hint("attach", 6, &ctx).as_deref(),
            Some(" PATH... [--type TYPE/SUBTYPE] [--name NAME]")
        );
        assert_eq!(
            h.hint("attach ", 7, &ctx).as_deref(),
            Some("PATH... [--type TYPE/SUBTYPE] [--name NAME]")
        );
        assert_eq!(h.hint("send x", 6, &ctx), None);
        assert_eq!(h.hint("status", 6, &ctx), None);
    }

    #[test]
    fn highlights_known_and_unknown_commands() {
        colored::control::set_override(true);
        let h = helper();
        assert!(h.highlight("send", 4).contains("\x1b["));
        assert!(h.highlight("zzz now", 3).contains("\x1b[31m"));
        assert_eq!(h.highlight("# comment", 0), "# comment");
        colored::control::unset_override();
    }
}
