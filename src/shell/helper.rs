//! The line editor: rustyline with a helper that completes, hints and
//! highlights from the command table, and a history file kept across runs.

use super::commands::{self, COMMANDS, Complete};
use super::history::HistoryFile;
use super::input::{Input, Line};
use super::output::{Output, Tone, paint};
use super::settings::{self, SETTINGS};
use crate::smtp::forward::Forward;
use crate::smtp::{Ext, Extensions, Verb};
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
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// Most commands kept in the history.
const MAX_HISTORY: usize = 5000;

/// How an SMTP verb starts a line after `raw` (MAIL and RCPT with their
/// keyword).
fn verb_start(v: Verb) -> String {
    match v {
        Verb::Mail => "MAIL FROM:<".to_string(),
        Verb::Rcpt => "RCPT TO:<".to_string(),
        other => other.name().to_string(),
    }
}

/// What the editor is reading, which decides what Tab, hints and
/// highlighting do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A command line: commands highlighted, usage hinted, Tab completes.
    Command,
    /// Message text or an answer (`body>`, `data>`, a user name): plain,
    /// and Tab is a tab.
    Text,
    /// A file path: plain, and Tab completes paths.
    Path,
}

/// The editor's [`Mode`], shared by the helper and the Tab key's handler
/// (which rustyline wants `Send + Sync`).
#[derive(Debug, Clone, Default)]
struct SharedMode(Arc<AtomicU8>);

impl SharedMode {
    fn get(&self) -> Mode {
        match self.0.load(Ordering::Relaxed) {
            1 => Mode::Text,
            2 => Mode::Path,
            _ => Mode::Command,
        }
    }
    fn set(&self, mode: Mode) {
        let n = match mode {
            Mode::Command => 0,
            Mode::Text => 1,
            Mode::Path => 2,
        };
        self.0.store(n, Ordering::Relaxed);
    }
}

/// Where a bracketed paste stands: rustyline's own paste handling (one
/// insert of the whole text, run only after Enter) is replaced by the
/// pasted keys themselves, so each pasted line runs as it arrives, shown
/// after its prompt and kept in the history as if typed; a tab in it is a
/// tab. After a failure the rest of the paste is read and dropped.
#[derive(Debug, Clone, Default)]
struct PasteState(Arc<AtomicU8>);

const NOT_PASTING: u8 = 0;
const PASTING: u8 = 1;
const DROPPING: u8 = 2;

impl PasteState {
    fn get(&self) -> u8 {
        self.0.load(Ordering::Relaxed)
    }
    fn set(&self, state: u8) {
        self.0.store(state, Ordering::Relaxed);
    }
    /// A command failed: drop what is left of the paste it came from.
    fn drop_rest(&self) -> bool {
        self.0
            .compare_exchange(PASTING, DROPPING, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }
    /// Binds the keys: the paste markers, Tab, and every other key (which
    /// goes its usual way unless a paste is being dropped).
    fn bind(&self, ed: &mut rustyline::Editor<ShellHelper, FileHistory>, mode: &SharedMode) {
        use rustyline::{Event, EventHandler, KeyCode, KeyEvent, Modifiers};
        let key = |code| Event::from(KeyEvent(code, Modifiers::NONE));
        for (event, role) in [
            (key(KeyCode::BracketedPasteStart), KeyRole::PasteStart),
            (key(KeyCode::BracketedPasteEnd), KeyRole::PasteEnd),
            (key(KeyCode::Tab), KeyRole::Tab),
            (Event::Any, KeyRole::Other),
        ] {
            let handler = Key(self.clone(), mode.clone(), role);
            ed.bind_sequence(event, EventHandler::Conditional(Box::new(handler)));
        }
    }
}

/// Which key a [`Key`] handler is bound to.
#[derive(Debug, Clone, Copy)]
enum KeyRole {
    PasteStart,
    PasteEnd,
    Tab,
    /// Every key without a binding of its own.
    Other,
}

/// The editor's bound keys: the paste markers, Tab, and every other key,
/// per [`PasteState`] and [`Mode`]. `None` lets rustyline do its usual.
struct Key(PasteState, SharedMode, KeyRole);

impl rustyline::ConditionalEventHandler for Key {
    fn handle(
        &self,
        _evt: &rustyline::Event,
        _n: rustyline::RepeatCount,
        _positive: bool,
        _ctx: &rustyline::EventContext,
    ) -> Option<rustyline::Cmd> {
        use rustyline::Cmd;
        let tab = || Cmd::Insert(1, "\t".to_string());
        match (self.2, self.0.get()) {
            (KeyRole::PasteStart, DROPPING) => Some(Cmd::Noop),
            (KeyRole::PasteStart, _) => {
                self.0.set(PASTING);
                Some(Cmd::Noop)
            }
            (KeyRole::PasteEnd, _) => {
                self.0.set(NOT_PASTING);
                Some(Cmd::Noop)
            }
            (_, DROPPING) => Some(Cmd::Noop),
            (KeyRole::Tab, PASTING) => Some(tab()),
            (KeyRole::Tab, _) => (self.1.get() == Mode::Text).then(tab),
            (KeyRole::Other, _) => None,
        }
    }
}

/// XCLIENT and XFORWARD attribute names announced, each list with its keyword.
type Attributes = Vec<(String, Vec<String>)>;

/// The rustyline helper.
pub struct ShellHelper {
    files: FilenameCompleter,
    /// Extension keywords the server announced, refreshed before each
    /// prompt; `None` before an EHLO reply (nothing is known).
    extensions: Rc<RefCell<Option<Vec<String>>>>,
    /// AUTH mechanisms the server announced that smtpsh supports.
    mechanisms: Rc<RefCell<Vec<String>>>,
    /// The XCLIENT and XFORWARD attribute names the server announced,
    /// each with its keyword.
    attributes: Rc<RefCell<Attributes>>,
    /// The profile names of the config file (for `connect`).
    profiles: Rc<RefCell<Vec<String>>>,
    /// The line as it stands while it is edited (to give it back when the
    /// prompt is redrawn for a reply the server sent on its own).
    editing: Rc<RefCell<String>>,
    /// Whether to colour.
    color: bool,
    /// What is being read.
    mode: SharedMode,
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
                .filter(|o| spec.complete != Complete::Envelope || self.offered(o))
                .map(|o| format!("{o} "));
            return (start, pairs(opts));
        }
        let nargs = head.split_whitespace().count() - 1;
        let prev = head.split_whitespace().last().unwrap_or("");
        match spec.complete {
            Complete::Envelope => (start, pairs(self.envelope_values(spec.name, prev, word))),
            Complete::Help if nargs == 0 => (
                start,
                pairs(
                    ["smtp ", "code "]
                        .into_iter()
                        .map(String::from)
                        .chain(
                            commands::names_starting_with(word)
                                .into_iter()
                                .map(String::from),
                        )
                        .filter(|w| w.starts_with(word)),
                ),
            ),
            Complete::Help if nargs == 1 && prev == "smtp" => {
                let up = word.to_ascii_uppercase();
                (
                    start,
                    pairs(
                        crate::smtp::verbs::VERBS
                            .iter()
                            .map(|v| v.name)
                            .filter(|n| n.starts_with(&up))
                            .map(String::from),
                    ),
                )
            }
            Complete::Paths => {
                if prev == "--type" || prev == "--name" || prev == "--cid" {
                    return (start, Vec::new());
                }
                // A command that takes no path but as an option's value
                // (`send --message PATH`) completes paths only there.
                let after_path_option = spec.options.iter().any(|o| {
                    o.split_once(' ').is_some_and(|(name, value)| {
                        name == prev && ["PATH", "FILE", "DIR"].contains(&value)
                    })
                });
                if spec.arity.1 == 0 && !after_path_option {
                    return (start, Vec::new());
                }
                self.files
                    .complete_path(line, pos)
                    .unwrap_or((start, Vec::new()))
            }
            Complete::Subcommands(subs) if nargs == 0 => (
                start,
                pairs(
                    subs.iter()
                        .filter(|w| w.starts_with(word))
                        .map(|w| format!("{w} ")),
                ),
            ),
            Complete::Subcommands(_) => self
                .files
                .complete_path(line, pos)
                .unwrap_or((start, Vec::new())),
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
                        .map(|s| s.name)
                        .chain(["var"])
                        .filter(|s| s.starts_with(word))
                        .map(|s| format!("{s} ")),
                ),
            ),
            Complete::Settings if nargs == 1 && prev == "log" => self
                .files
                .complete_path(line, pos)
                .unwrap_or((start, Vec::new())),
            Complete::Settings if nargs == 1 => {
                let values = settings::find(prev).map_or(&[][..], |s| s.suggestions);
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
            Complete::Connect if nargs == 0 => (
                start,
                pairs(
                    ["sandbox", "unix:"]
                        .into_iter()
                        .map(String::from)
                        .chain(self.profiles.borrow().iter().cloned())
                        .chain(self.profiles.borrow().iter().map(|p| format!("@{p}")))
                        .filter(|w| {
                            w.starts_with(word) && (w.starts_with('@') == word.starts_with('@'))
                        }),
                ),
            ),
            Complete::Verbs if nargs == 0 => {
                // The verbs, then the extensions the server announced that
                // are verbs of their own (XCLIENT, ETRN...), not those that
                // only add parameters (SIZE, PIPELINING...).
                let up = word.to_ascii_uppercase();
                let mut v: Vec<String> = Verb::ALL
                    .iter()
                    .filter(|&&verb| super::cmd::protocol::raw_refusal(verb).is_none())
                    .map(|&verb| verb_start(verb))
                    .filter(|v| v.starts_with(&up))
                    .collect();
                for ext in self.extensions.borrow().iter().flatten() {
                    let known = Ext::ALL.iter().any(|e| e.keyword() == ext);
                    if !known && ext.starts_with(&up) && !v.contains(ext) {
                        v.push(ext.clone());
                    }
                }
                (start, pairs(v))
            }
            Complete::Verbs if prev.eq_ignore_ascii_case("MAIL") || prev.contains('>') => {
                // ESMTP parameters the server announced.
                let up = word.to_ascii_uppercase();
                let ext = self.extensions.borrow();
                let params: Vec<String> = Ext::ALL
                    .iter()
                    .filter(|e| ext.iter().flatten().any(|k| k == e.keyword()))
                    .filter_map(|e| e.mail_parameter())
                    .filter(|p| p.starts_with(&up))
                    .map(str::to_string)
                    .collect();
                (start, pairs(params))
            }
            Complete::Attributes => {
                // The names the server announced for this command, each
                // once on the line, as `NAME=`.
                let keyword = spec.name.to_ascii_uppercase();
                let typed: Vec<String> = head
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|w| w.split_once('='))
                    .map(|(n, _)| n.to_ascii_uppercase())
                    .collect();
                let up = word.to_ascii_uppercase();
                let names: Vec<String> = self
                    .attributes
                    .borrow()
                    .iter()
                    .filter(|(k, _)| *k == keyword)
                    .flat_map(|(_, names)| names.iter())
                    .filter(|n| n.starts_with(&up) && !typed.contains(n))
                    .map(|n| format!("{n}="))
                    .collect();
                (start, pairs(names))
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

impl ShellHelper {
    /// Whether Tab offers an envelope option (`--ret`...): when the server
    /// announced what it needs, or nothing is known yet (not greeted: the
    /// draft keeps it and `send` checks it).
    fn offered(&self, option: &str) -> bool {
        let Some(announced) = &*self.extensions.borrow() else {
            return true;
        };
        crate::smtp::params::option_extension(option)
            .is_none_or(|ext| announced.iter().any(|e| e == ext))
    }
    /// The values Tab offers after an envelope option: `--ret full|hdrs`,
    /// the `--notify` conditions, `rfc822;` for `--orcpt`, and for
    /// `--param` the keywords (of this command) whose extension the server
    /// announced.
    fn envelope_values(&self, command: &str, prev: &str, word: &str) -> Vec<String> {
        use crate::smtp::params::{For, Given, KNOWN};
        let values: Vec<String> = match prev {
            "--ret" => vec!["full".into(), "hdrs".into()],
            "--notify" => [
                "never",
                "success",
                "failure",
                "delay",
                "success,failure",
                "success,failure,delay",
            ]
            .map(String::from)
            .to_vec(),
            "--orcpt" => vec!["rfc822;".into()],
            "--param" => {
                let on = if command == "from" {
                    For::Mail
                } else {
                    For::Rcpt
                };
                let ext = self.extensions.borrow();
                KNOWN
                    .iter()
                    .filter(|k| k.on == on)
                    // Not those `send` adds, nor those with an option of their own.
                    .filter(|k| k.given == Given::Param)
                    .filter(|k| ext.iter().flatten().any(|e| e == k.extension))
                    .map(|k| format!("{}=", k.keyword))
                    .collect()
            }
            _ => Vec::new(),
        };
        let low = word.to_ascii_lowercase();
        values
            .into_iter()
            .filter(|v| v.to_ascii_lowercase().starts_with(&low))
            .collect()
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
        match self.mode.get() {
            Mode::Command => Ok(self.candidates(line, pos)),
            Mode::Path => Ok(self
                .files
                .complete_path(line, pos)
                .unwrap_or((pos, Vec::new()))),
            Mode::Text => Ok((pos, Vec::new())),
        }
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
    /// After a complete command name, the rest of its usage line.
    fn hint(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> Option<String> {
        // Called on every edit: the line as it stands now.
        line.clone_into(&mut self.editing.borrow_mut());
        if pos != line.len() || self.mode.get() != Mode::Command {
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
        if self.mode.get() != Mode::Command {
            // Typed text is text: never coloured as if it were a command.
            return Cow::Borrowed(line);
        }
        let trimmed = line.trim_start();
        let lead = line.len() - trimmed.len();
        let end = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        let word = &trimmed[..end];
        if word.is_empty() || word.starts_with('#') {
            return Cow::Borrowed(line);
        }
        let colored = if commands::find(word).is_some() {
            paint(self.color, Tone::BoldGreen, word)
        } else if commands::names_starting_with(word).is_empty() {
            paint(self.color, Tone::Red, word)
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
        Cow::Owned(paint(self.color, Tone::Dim, hint))
    }
    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        kind != CmdKind::MoveCursor && self.mode.get() == Mode::Command
    }
}

/// A printer that writes above the prompt while the user edits a line.
pub type Printer = Box<dyn rustyline::ExternalPrinter + Send>;

/// The line editor as an [`Input`].
pub struct Editor {
    ed: rustyline::Editor<ShellHelper, FileHistory>,
    extensions: Rc<RefCell<Option<Vec<String>>>>,
    mechanisms: Rc<RefCell<Vec<String>>>,
    attributes: Rc<RefCell<Attributes>>,
    profiles: Rc<RefCell<Vec<String>>>,
    editing: Rc<RefCell<String>>,
    history: Option<HistoryFile>,
    warning: Option<String>,
    printer: Option<Printer>,
    color: bool,
    mode: SharedMode,
    /// Where a bracketed paste stands.
    paste: PasteState,
}

impl Editor {
    /// Starts the editor and loads the history (unless `no_history`);
    /// `color`: highlight typed commands and the prompt.
    pub fn new(no_history: bool, color: bool) -> rustyline::Result<Editor> {
        let config = Config::builder()
            .history_ignore_space(true)
            .completion_type(CompletionType::List)
            .max_history_size(MAX_HISTORY)?
            .auto_add_history(false)
            .color_mode(if color {
                rustyline::ColorMode::Forced
            } else {
                rustyline::ColorMode::Disabled
            })
            .build();
        let mut ed = rustyline::Editor::<ShellHelper, FileHistory>::with_config(config)?;
        let extensions = Rc::new(RefCell::new(None));
        let mechanisms = Rc::new(RefCell::new(Vec::new()));
        let attributes = Rc::new(RefCell::new(Vec::new()));
        let profiles = Rc::new(RefCell::new(Vec::new()));
        let editing = Rc::new(RefCell::new(String::new()));
        let mode = SharedMode::default();
        ed.set_helper(Some(ShellHelper {
            files: FilenameCompleter::new(),
            extensions: extensions.clone(),
            mechanisms: mechanisms.clone(),
            attributes: attributes.clone(),
            profiles: profiles.clone(),
            editing: editing.clone(),
            color,
            mode: mode.clone(),
        }));
        let paste = PasteState::default();
        paste.bind(&mut ed, &mode);
        let printer = ed
            .create_external_printer()
            .ok()
            .map(|p| Box::new(p) as Printer);
        let mut warning = None;
        let mut history = None;
        if let Some(path) = crate::local::history_file().filter(|_| !no_history) {
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
            attributes,
            profiles,
            editing,
            history,
            warning,
            printer,
            color,
            mode,
            paste,
        })
    }
    /// A problem with the history file, to show once.
    pub fn history_warning(&self) -> Option<String> {
        self.warning.clone()
    }
    /// The profile names `connect` completes.
    pub fn set_profiles(&mut self, names: Vec<String>) {
        *self.profiles.borrow_mut() = names;
    }
    /// Refreshes what completion knows about the server.
    pub fn set_extensions(&mut self, ext: Option<&Extensions>) {
        *self.extensions.borrow_mut() = ext.map(|e| {
            e.list
                .iter()
                .map(|x| x.keyword.to_ascii_uppercase())
                .collect()
        });
        *self.mechanisms.borrow_mut() = super::cmd::auth::completable_mechanisms(ext);
        *self.attributes.borrow_mut() = [Forward::Xclient, Forward::Xforward]
            .iter()
            .filter_map(|k| Some((k.keyword().to_string(), k.announced(ext?)?)))
            .collect();
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
    /// The printer for text above the prompt (taken for the time a line is
    /// read; give it back with [`Editor::give_printer`]).
    pub fn take_printer(&mut self) -> Option<Printer> {
        self.printer.take()
    }
    /// Gives back the printer taken with [`Editor::take_printer`].
    pub fn give_printer(&mut self, printer: Option<Printer>) {
        self.printer = printer;
    }
    /// Reads a command line that starts as `initial` (text typed before
    /// the prompt had to be redrawn).
    pub fn command_from(&mut self, prompt: &(String, String), initial: &str) -> Line {
        self.read(Mode::Command, prompt, initial)
    }

    /// Reads a line in `mode`.
    fn read(&mut self, mode: Mode, prompt: &(String, String), initial: &str) -> Line {
        self.editing.borrow_mut().clear();
        self.mode.set(mode);
        let p: (&str, &str) = (&prompt.0, &prompt.1);
        let read = if initial.is_empty() {
            self.ed.readline(&p)
        } else {
            self.ed.readline_with_initial(&p, (initial, ""))
        };
        self.mode.set(Mode::Command);
        match read {
            Ok(l) => Line::Text(l),
            Err(ReadlineError::Interrupted) => Line::Interrupted,
            Err(_) => Line::Eof,
        }
    }

    /// After a command failed: when it came from a paste still being
    /// read, the rest of that paste is dropped (read but not run, like a
    /// script stopping at its first failure). Whether there was a rest.
    pub fn drop_pasted(&mut self) -> bool {
        self.paste.drop_rest()
    }

    /// What was typed at the prompt when the line was given up (the
    /// prompt redrawn for a reply the server sent on its own): that text
    /// is put back, and the old prompt line erased from the screen.
    pub fn abandoned_line(&mut self, prompt: &(String, String)) -> String {
        let text = self.editing.borrow().clone();
        let cols = self
            .ed
            .dimensions()
            .map_or(80, |(cols, _)| usize::from(cols).max(1));
        let width = unicode_width::UnicodeWidthStr::width(prompt.0.as_str())
            + unicode_width::UnicodeWidthStr::width(text.as_str());
        let rows = width / cols + 1;
        let mut err = std::io::stderr();
        let _ = std::io::Write::write_all(&mut err, format!("\x1b[{rows}A\r\x1b[J").as_bytes());
        let _ = std::io::Write::flush(&mut err);
        text
    }
}

impl Input for Editor {
    fn command(&mut self, prompt: &(String, String)) -> Line {
        self.command_from(prompt, "")
    }
    fn continuation(&mut self, prompt: &str) -> Line {
        let styled = paint(self.color, Tone::Dim, prompt);
        self.read(Mode::Text, &(prompt.to_string(), styled), "")
    }
    fn path(&mut self, prompt: &str) -> Line {
        let styled = paint(self.color, Tone::Dim, prompt);
        self.read(Mode::Path, &(prompt.to_string(), styled), "")
    }
    fn interactive(&self) -> bool {
        true
    }
    fn editor(&mut self) -> Option<&mut Editor> {
        Some(self)
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
            mode: SharedMode::default(),
            files: FilenameCompleter::new(),
            extensions: Rc::new(RefCell::new(Some(vec![
                "SIZE".into(),
                "8BITMIME".into(),
                "XCLIENT".into(),
            ]))),
            mechanisms: Rc::new(RefCell::new(vec![
                "PLAIN".into(),
                "LOGIN".into(),
                "CRAM-MD5".into(),
            ])),
            attributes: Rc::new(RefCell::new(vec![(
                "XCLIENT".into(),
                vec!["NAME".into(), "ADDR".into(), "PORT".into()],
            )])),
            profiles: Rc::new(RefCell::new(vec!["work".into(), "home".into()])),
            editing: Rc::new(RefCell::new(String::new())),
            color: true,
        }
    }

    #[test]
    fn completes_the_announced_xclient_attributes() {
        assert_eq!(words("xclient "), vec!["NAME=", "ADDR=", "PORT="]);
        assert_eq!(words("xclient a"), vec!["ADDR="]);
        assert_eq!(words("xclient ADDR=192.0.2.1 "), vec!["NAME=", "PORT="]);
        // XFORWARD was not announced: nothing to offer.
        assert!(words("xforward ").is_empty());
        assert_eq!(
            words("connect --prox"),
            vec!["--proxy-header ", "--proxy-from ", "--proxy-to "]
        );
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
        assert_eq!(words("set va"), vec!["var "]);
        assert_eq!(words("connect s"), vec!["sandbox"]);
        // The profiles of the config file too (`@NAME` when `@` is typed).
        assert_eq!(words("connect "), vec!["sandbox", "unix:", "work", "home"]);
        assert_eq!(words("connect w"), vec!["work"]);
        assert_eq!(words("connect @h"), vec!["@home"]);
        assert_eq!(words("connect u"), vec!["unix:"]);
        assert_eq!(words("connect --l"), vec!["--lmtp "]);
        assert!(!words("raw ").iter().any(|w| w.starts_with("PIPELINING")));
        assert!(!words("raw P").iter().any(|w| w.starts_with("PIPELINING")));
        assert_eq!(words("set lo"), vec!["log "]);
        assert_eq!(words("record x --ex"), vec!["--expect "]);
        assert_eq!(words("cert "), vec!["show ", "save "]);
        assert_eq!(words("cert sa"), vec!["save "]);
        assert_eq!(words("cert save x --f"), vec!["--force "]);
        assert_eq!(words("help con"), vec!["connect"]);
        assert_eq!(words("raw XC"), vec!["XCLIENT"]);
        // Not the verbs `raw` refuses (they need their own command).
        assert_eq!(words("raw S"), Vec::<String>::new());
        assert!(
            words("raw ")
                .iter()
                .all(|w| !w.starts_with("AUTH") && !w.starts_with("BDAT"))
        );
        assert_eq!(words("raw RS"), vec!["RSET"]);
        assert_eq!(words("raw MAIL FROM:<a@b.org> BO"), vec!["BODY=8BITMIME"]);
        assert!(words("frob x").is_empty());
    }

    #[test]
    fn completes_envelope_options_the_server_announced() {
        // The test server announces SIZE, 8BITMIME, XCLIENT: no DSN, no REQUIRETLS.
        assert_eq!(words("from a@b.org --"), vec!["--param ", "--force "]);
        assert_eq!(words("to b@c.org --"), vec!["--param ", "--force "]);
        let h = helper();
        h.extensions
            .borrow_mut()
            .iter_mut()
            .for_each(|e| e.extend(["DSN".into(), "MT-PRIORITY".into()]));
        let with = |line: &str| -> Vec<String> {
            h.candidates(line, line.len())
                .1
                .into_iter()
                .map(|p| p.replacement)
                .collect()
        };
        assert_eq!(
            with("from a@b.org --"),
            vec!["--ret ", "--envid ", "--param ", "--force "]
        );
        assert_eq!(with("from a@b.org --re"), vec!["--ret "]);
        assert_eq!(with("from a@b.org --ret "), vec!["full", "hdrs"]);
        assert_eq!(with("from a@b.org --param "), vec!["MT-PRIORITY="]);
        assert_eq!(
            with("bcc b@c.org --"),
            vec!["--notify ", "--orcpt ", "--param ", "--force "]
        );
        assert_eq!(
            with("to b@c.org --notify su"),
            vec!["success", "success,failure", "success,failure,delay"]
        );
        assert_eq!(with("cc b@c.org --orcpt "), vec!["rfc822;"]);
        h.extensions
            .borrow_mut()
            .iter_mut()
            .for_each(|e| e.push("REQUIRETLS".into()));
        assert!(with("from a --").contains(&"--requiretls ".to_string()));
        // Not greeted yet: everything (the draft keeps it; `send` checks it).
        *h.extensions.borrow_mut() = None;
        assert_eq!(with("from a --").len(), 5);
    }

    #[test]
    fn completes_help_topics_verbs() {
        assert_eq!(words("help sm"), vec!["smtp "]);
        assert_eq!(words("help smtp ST"), vec!["STARTTLS"]);
        assert!(words("help smtp ").contains(&"XCLIENT".to_string()));
        assert!(words("help code ").is_empty());
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
            Some(" PATH... [--type TYPE/SUBTYPE] [--name NAME] [--inline] [--cid ID]")
        );
        assert_eq!(
            h.hint("attach ", 7, &ctx).as_deref(),
            Some("PATH... [--type TYPE/SUBTYPE] [--name NAME] [--inline] [--cid ID]")
        );
        assert_eq!(h.hint("send x", 6, &ctx), None);
        assert_eq!(h.hint("status", 6, &ctx), None);
    }

    #[test]
    fn highlights_known_and_unknown_commands() {
        let h = helper();
        assert!(h.highlight("send", 4).contains("\x1b["));
        assert!(h.highlight("zzz now", 3).contains("\x1b[31m"));
        assert_eq!(h.highlight("# comment", 0), "# comment");
    }
}
