//! Everything the shell prints, through writers (standard output and
//! error, or buffers in tests): the transcript in swaks' convention
//! (` -> ` client, `<-  ` server, ` ~> ` / `<~  ` inside TLS, `===` notes,
//! `***` errors), replies coloured by class, warnings and hints.
//!
//! On a terminal, lines are wrapped to its current width at word
//! boundaries with a hanging indent (see [`crate::text::wrap`]); the
//! transcript is not (it shows the wire: a long reply line is left for the
//! terminal to wrap, so copying it gives the line as the server sent it).
//! Long output of some commands goes through a pager ([`Output::page_start`]).
//!
//! Nothing is printed with `println!`: a closed standard output (`smtpsh
//! ... | head -1`) is noticed ([`Output::is_broken`]) and the shell stops
//! quietly with exit status [`super::EXIT_PIPE`], never a panic.

mod screen;

pub use screen::{Fit, Stream, pager_command, stderr_columns};

use crate::smtp::{Event, Observer, Reply};
use crate::text::wrap;
// Sizes are written by serve too; the helpers live with the other text ones.
pub use crate::text::{human_bytes, scaled, short_bytes};
use anstyle::{AnsiColor, Style};
use std::cell::{Cell, RefCell};
use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, Mutex};

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
    /// Whether output is coloured under this choice, here and now.
    pub fn resolve(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
        }
    }
}

/// A style for a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Bold.
    Bold,
    /// Dimmed (hints, decoded challenges).
    Dim,
    /// Green (2xx, success).
    Green,
    /// Cyan (3xx, hosts).
    Cyan,
    /// Yellow (4xx, warnings, the conversation's stage).
    Yellow,
    /// Red (5xx, errors).
    Red,
    /// Blue (`===`).
    Blue,
    /// Magenta (the authenticated user).
    Magenta,
    /// Bold green (known commands).
    BoldGreen,
    /// Bold red (`***` of an error).
    BoldRed,
    /// Bold yellow (`***` of a warning).
    BoldYellow,
}

impl Tone {
    fn style(self) -> Style {
        let fg = |c: AnsiColor| Style::new().fg_color(Some(c.into()));
        match self {
            Tone::Bold => Style::new().bold(),
            Tone::Dim => Style::new().dimmed(),
            Tone::Green => fg(AnsiColor::Green),
            Tone::Cyan => fg(AnsiColor::Cyan),
            Tone::Yellow => fg(AnsiColor::Yellow),
            Tone::Red => fg(AnsiColor::Red),
            Tone::Blue => fg(AnsiColor::Blue),
            Tone::Magenta => fg(AnsiColor::Magenta),
            Tone::BoldGreen => fg(AnsiColor::Green).bold(),
            Tone::BoldRed => fg(AnsiColor::Red).bold(),
            Tone::BoldYellow => fg(AnsiColor::Yellow).bold(),
        }
    }
}

/// `text` in `tone` when `on`, else as it is.
pub fn paint(on: bool, tone: Tone, text: &str) -> String {
    if !on || text.is_empty() {
        return text.to_string();
    }
    let style = tone.style();
    format!("{style}{text}{style:#}")
}

/// The tone of a reply's class.
pub fn class_tone(code: u16) -> Tone {
    match code / 100 {
        2 => Tone::Green,
        3 => Tone::Cyan,
        4 => Tone::Yellow,
        _ => Tone::Red,
    }
}

/// Which replies get a line saying what their enhanced status code means
/// (`set explain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Explain {
    /// Every reply with an enhanced status code.
    #[default]
    On,
    /// Only 4xx and 5xx replies.
    Errors,
    /// None.
    Off,
}

impl Explain {
    /// Parses `on`, `off` or `errors`.
    pub fn parse(s: &str) -> Option<Explain> {
        match s.to_ascii_lowercase().as_str() {
            "on" => Some(Explain::On),
            "errors" => Some(Explain::Errors),
            "off" => Some(Explain::Off),
            _ => None,
        }
    }
    /// The name as typed.
    pub fn name(self) -> &'static str {
        match self {
            Explain::On => "on",
            Explain::Errors => "errors",
            Explain::Off => "off",
        }
    }
}

/// A writer that can be moved to another thread.
type Sink = RefCell<Box<dyn Write + Send>>;

/// The shell's printer. Transcript and notes go to one writer (standard
/// output), errors, warnings and hints to the other (standard error).
pub struct Output {
    out: Sink,
    err: Sink,
    color: bool,
    /// Extra detail (`set verbose on`): notices from the connection layer.
    pub verbose: bool,
    /// During AUTH: show each 334 challenge decoded after it.
    pub sasl: bool,
    /// `set explain`: a dimmed line under a reply saying what its
    /// enhanced status code means.
    pub explain: Explain,
    /// Say when a reply is slow to come (a person at a terminal).
    pub waiting_notes: bool,
    /// The last reply shown, for `expect`.
    last_reply: Option<Reply>,
    /// More replies an `expect` must accept with `last_reply` (LMTP: the
    /// replies of every recipient a message did not reach).
    more_replies: Vec<Reply>,
    /// Standard output was closed by its reader.
    broken: Cell<bool>,
    /// `--log FILE`: every line printed, uncoloured and timestamped.
    log: RefCell<Option<super::log::TranscriptLog>>,
    /// The width lines are wrapped to (and the height that calls for the
    /// pager).
    fit: Fit,
    /// `set pager`: long output goes through `$PAGER`.
    pub pager: bool,
    /// The command running was typed at the prompt (not read from a
    /// script): only then is the pager used.
    pub interactive: bool,
    /// Lines held for the pager ([`Output::page_start`]), with the
    /// writer each is for.
    page: RefCell<Option<Vec<(Stream, String)>>>,
    /// The flag Ctrl-C sets: cleared while the pager runs, so Ctrl-C in
    /// the pager (twice, even) never ends smtpsh.
    pub interrupt: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// Whether a line is wrapped to the width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrap {
    /// As it is (the transcript, message text).
    No,
    /// With its own hanging indent ([`wrap::hang`]).
    Auto,
}

impl Default for Output {
    fn default() -> Output {
        let mut out = Output::new(Box::new(io::stdout()), Box::new(io::stderr()), false);
        out.fit = Fit::Terminal;
        out
    }
}

impl Output {
    /// An output on these writers.
    pub fn new(out: Box<dyn Write + Send>, err: Box<dyn Write + Send>, color: bool) -> Output {
        Output {
            out: RefCell::new(out),
            err: RefCell::new(err),
            color,
            verbose: false,
            sasl: false,
            explain: Explain::On,
            waiting_notes: false,
            last_reply: None,
            more_replies: Vec::new(),
            broken: Cell::new(false),
            log: RefCell::new(None),
            fit: Fit::Off,
            pager: true,
            interactive: false,
            page: RefCell::new(None),
            interrupt: None,
        }
    }
    /// An output into memory (tests, the idle watcher): what it printed
    /// is in the returned [`Captured`].
    pub fn capture(color: bool) -> (Output, Captured) {
        let c = Captured::default();
        let out = Output::new(
            Box::new(SharedBuf(c.out.clone())),
            Box::new(SharedBuf(c.err.clone())),
            color,
        );
        (out, c)
    }
    /// Sets how lines are fitted (tests: [`Fit::Fixed`]).
    pub fn set_fit(&mut self, fit: Fit) {
        self.fit = fit;
    }
    /// How lines are fitted.
    pub fn fit(&self) -> Fit {
        self.fit
    }
    /// The columns lines on `stream` are wrapped to, if they are.
    pub fn columns(&self, stream: Stream) -> Option<usize> {
        self.fit.size(stream).map(|(w, _)| w)
    }
    /// Whether output is coloured.
    pub fn color(&self) -> bool {
        self.color
    }
    /// Turns colour on or off.
    pub fn set_color(&mut self, on: bool) {
        self.color = on;
    }
    /// `text` in `tone`, if colour is on.
    pub fn paint(&self, tone: Tone, text: &str) -> String {
        paint(self.color, tone, text)
    }
    /// Whether standard output was closed by its reader (`| head`).
    pub fn is_broken(&self) -> bool {
        self.broken.get()
    }
    /// The last reply shown since [`Output::forget_reply`].
    pub fn last_reply(&self) -> Option<&Reply> {
        self.last_reply.as_ref()
    }
    /// Makes `reply` the one `expect` judges (the reply that matters when
    /// a command ends with a formality: `send`'s QUIT after the message).
    pub fn judge_by(&mut self, reply: Reply) {
        self.last_reply = Some(reply);
        self.more_replies.clear();
    }
    /// Makes these replies the ones `expect` judges: each must match (LMTP:
    /// the replies of the recipients a message did not reach). Nothing
    /// changes when `replies` is empty.
    pub fn judge_by_all(&mut self, replies: Vec<Reply>) {
        let mut replies = replies.into_iter();
        if let Some(first) = replies.next() {
            self.last_reply = Some(first);
            self.more_replies = replies.collect();
        }
    }
    /// The replies after the last one that `expect` judges as well
    /// ([`Output::judge_by_all`]).
    pub fn more_replies(&self) -> &[Reply] {
        &self.more_replies
    }
    /// Forgets the last reply (a new command starts).
    pub fn forget_reply(&mut self) {
        self.last_reply = None;
        self.more_replies.clear();
    }

    /// Starts (or, with `None`, stops) writing the transcript to a file;
    /// returns the one written to before.
    pub fn set_log(
        &mut self,
        log: Option<super::log::TranscriptLog>,
    ) -> Option<super::log::TranscriptLog> {
        std::mem::replace(self.log.get_mut(), log)
    }
    /// The transcript file's path, if one is written.
    pub fn log_path(&self) -> Option<std::path::PathBuf> {
        self.log.borrow().as_ref().map(|l| l.path().to_path_buf())
    }
    /// Writes `text` to the transcript file only (a command line the
    /// screen shows by other means, or not at all in a script).
    pub fn log_only(&self, text: &str) {
        let mut log = self.log.borrow_mut();
        let Some(file) = log.as_mut() else {
            return;
        };
        if let Err(e) = file.write(text) {
            let path = file.path().display().to_string();
            *log = None;
            drop(log);
            self.line_err(&self.marked(
                ("***", Tone::BoldYellow),
                &format!("the transcript {path} stopped: {e}"),
                Some(Tone::Yellow),
            ));
        }
    }

    /// `text`'s lines, each wrapped to the width of `stream` if it has one.
    fn fitted(&self, text: &str, how: Wrap, stream: Stream) -> Vec<String> {
        // The transcript never asks the terminal its size.
        let columns = match how {
            Wrap::Auto => self.columns(stream),
            Wrap::No => None,
        };
        match columns {
            Some(cols) => text.split('\n').flat_map(|l| wrap::wrap(l, cols)).collect(),
            None => text.split('\n').map(str::to_string).collect(),
        }
    }
    /// Writes a line to standard output, wrapped; a closed pipe is
    /// remembered and later output dropped.
    fn line_out(&self, text: &str) {
        self.line_out_as(text, Wrap::Auto);
    }
    /// Writes a line to standard output, wrapped or not.
    fn line_out_as(&self, text: &str, how: Wrap) {
        self.log_only(text);
        let lines = self.fitted(text, how, Stream::Out);
        if let Some(page) = self.page.borrow_mut().as_mut() {
            page.extend(lines.into_iter().map(|l| (Stream::Out, l)));
            return;
        }
        for line in lines {
            self.write_out(&line);
        }
    }
    fn write_out(&self, line: &str) {
        if self.broken.get() {
            return;
        }
        let mut out = self.out.borrow_mut();
        if let Err(e) = writeln!(out, "{line}") {
            self.write_failed(&e);
        }
    }
    /// Writes a line to standard error, wrapped (after flushing standard
    /// output, so the two stay in order on a terminal).
    fn line_err(&self, text: &str) {
        self.log_only(text);
        let lines = self.fitted(text, Wrap::Auto, Stream::Err);
        if let Some(page) = self.page.borrow_mut().as_mut() {
            page.extend(lines.into_iter().map(|l| (Stream::Err, l)));
            return;
        }
        for line in lines {
            self.write_err(&line);
        }
    }
    fn write_err(&self, line: &str) {
        let _ = self.flush();
        let _ = writeln!(self.err.borrow_mut(), "{line}");
    }

    fn write_failed(&self, e: &io::Error) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.broken.set(true);
        }
    }
    /// Flushes standard output.
    pub fn flush(&self) -> io::Result<()> {
        if self.broken.get() {
            return Ok(());
        }
        let r = self.out.borrow_mut().flush();
        if let Err(e) = &r {
            self.write_failed(e);
        }
        r
    }
    /// Bytes as they are on standard output (`inbox N --raw`).
    pub fn bytes(&self, data: &[u8]) -> io::Result<()> {
        if self.broken.get() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let r = self.out.borrow_mut().write_all(data);
        if let Err(e) = &r {
            self.write_failed(e);
        }
        r
    }

    /// A line we sent.
    pub fn sent(&self, line: &str, secure: bool) {
        let arrow = if secure { " ~> " } else { " -> " };
        self.line_out_as(
            &format!(
                "{}{}",
                self.paint(Tone::Bold, arrow),
                self.paint(Tone::Bold, line)
            ),
            Wrap::No,
        );
    }
    /// A reply, every line.
    pub fn reply(&self, reply: &Reply, secure: bool) {
        self.reply_for(reply, secure, None);
    }
    /// [`Output::reply`] for a reply after the message in LMTP, which is
    /// `recipient`'s own: named after the first line unless the server's
    /// text names it already.
    pub fn reply_for(&self, reply: &Reply, secure: bool, recipient: Option<&str>) {
        let arrow = if secure { "<~  " } else { "<-  " };
        let named = recipient.filter(|r| {
            let text = reply.lines.join(" ").to_ascii_lowercase();
            !text.contains(&r.to_ascii_lowercase())
        });
        for (i, line) in reply.wire_lines().iter().enumerate() {
            // AUTH challenges are base64: show what they say.
            let decoded = match reply.lines.get(i) {
                Some(text) if self.sasl && reply.code == 334 && !text.is_empty() => {
                    match crate::smtp::sasl::decode_challenge(text) {
                        Ok(bytes) => format!("   ({})", crate::smtp::sasl::show_challenge(&bytes)),
                        Err(_) => "   (not base64)".to_string(),
                    }
                }
                _ => match named {
                    Some(r) if i == 0 => {
                        format!("   (for <{}>)", crate::text::escape(r.as_bytes()))
                    }
                    _ => String::new(),
                },
            };
            self.line_out_as(
                &format!(
                    "{}{}{}",
                    self.paint(Tone::Dim, arrow),
                    self.paint(class_tone(reply.code), line),
                    self.paint(Tone::Dim, &decoded)
                ),
                Wrap::No,
            );
        }
        if let Some(line) = self.explanation(reply) {
            self.line_out(&line);
        }
    }
    /// The dimmed line under `reply` that says what its enhanced status
    /// code means (RFC 3463 and the IANA registry), per `set explain`.
    /// It starts with spaces, like no command or reply line, so a
    /// transcript reader never takes it for one.
    pub fn explanation(&self, reply: &Reply) -> Option<String> {
        let code = reply.enhanced?;
        let shown = match self.explain {
            Explain::On => true,
            Explain::Errors => reply.is_error(),
            Explain::Off => false,
        };
        shown.then(|| {
            format!(
                "    {}",
                self.paint(Tone::Dim, &crate::smtp::codes::one_line(code))
            )
        })
    }
    /// `mark text`, each in its tone (`None`: as it is).
    fn marked(&self, mark: (&str, Tone), text: &str, tone: Option<Tone>) -> String {
        let text = tone.map_or_else(|| text.to_string(), |t| self.paint(t, text));
        format!("{} {text}", self.paint(mark.1, mark.0))
    }
    /// A local note (`=== ...`).
    pub fn note(&self, text: &str) {
        self.line_out(&self.marked(("===", Tone::Blue), text, None));
    }
    /// A success note (`=== ...` in green).
    pub fn ok(&self, text: &str) {
        self.line_out(&self.marked(("===", Tone::Green), text, Some(Tone::Green)));
    }
    /// A warning on standard error.
    pub fn warn(&self, text: &str) {
        self.line_err(&self.marked(("***", Tone::BoldYellow), text, Some(Tone::Yellow)));
    }
    /// An error on standard error (`*** ...`).
    pub fn error(&self, text: &str) {
        self.line_err(&self.marked(("***", Tone::BoldRed), text, Some(Tone::Red)));
    }
    /// A hint after an error: what to do next.
    pub fn hint(&self, text: &str) {
        for line in text.lines() {
            self.line_err(&format!("    {}", self.paint(Tone::Dim, line)));
        }
    }
    /// Plain text on standard output, wrapped to the terminal's width.
    pub fn plain(&self, text: &str) {
        self.line_out(text);
    }
    /// Text on standard output as it is, never wrapped (a message's lines:
    /// a wrapped header would look folded).
    pub fn verbatim(&self, text: &str) {
        self.line_out_as(text, Wrap::No);
    }
}

impl Observer for Output {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Sent { line, secure } => self.sent(line, secure),
            Event::Received {
                reply,
                secure,
                recipient,
            } => {
                self.reply_for(reply, secure, recipient);
                self.last_reply = Some(reply.clone());
                self.more_replies.clear();
            }
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
                self.line_out_as(
                    &format!(
                        "{}{}",
                        self.paint(Tone::Bold, arrow),
                        self.paint(Tone::Dim, &what)
                    ),
                    Wrap::No,
                );
            }
            Event::Notice(text) => {
                if self.verbose {
                    self.note(text);
                }
            }
            Event::Waiting { what } => {
                // A person wonders whether anything is happening; a script's
                // transcript needs no such line.
                if self.waiting_notes {
                    let line = format!("... waiting for {what} (Ctrl-C stops waiting)");
                    self.line_out(&self.paint(Tone::Dim, &line));
                }
            }
        }
    }
}

/// What an [`Output::capture`] printed.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
}

impl Captured {
    /// Standard output so far.
    pub fn stdout(&self) -> String {
        Captured::text(&self.out)
    }
    /// Standard error so far.
    pub fn stderr(&self) -> String {
        Captured::text(&self.err)
    }
    /// Takes standard output and standard error so far (in that order),
    /// leaving both empty.
    pub fn take(&self) -> String {
        let mut text = Captured::drain(&self.out);
        text.push_str(&Captured::drain(&self.err));
        text
    }
    fn text(buf: &Mutex<Vec<u8>>) -> String {
        buf.lock()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }
    fn drain(buf: &Mutex<Vec<u8>>) -> String {
        buf.lock()
            .map(|mut b| String::from_utf8_lossy(&std::mem::take(&mut *b)).into_owned())
            .unwrap_or_default()
    }
}

/// A writer into shared memory.
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("output buffer poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_choices_parse() {
        assert_eq!(ColorChoice::parse("NEVER"), Some(ColorChoice::Never));
        assert_eq!(ColorChoice::parse("always"), Some(ColorChoice::Always));
        assert_eq!(
            ColorChoice::parse("auto").map(ColorChoice::name),
            Some("auto")
        );
        assert_eq!(ColorChoice::parse("blue"), None);
        assert!(ColorChoice::Always.resolve());
        assert!(!ColorChoice::Never.resolve());
    }

    #[test]
    fn replies_are_coloured_by_class_only_when_asked() {
        let (mut o, c) = Output::capture(true);
        let mut p = crate::smtp::ReplyParser::new();
        p.push(b"550 5.1.1 no\r\n").unwrap();
        let r = p.next_reply().unwrap();
        o.event(Event::Received {
            reply: &r,
            secure: false,
            recipient: None,
        });
        assert!(
            c.stdout().contains("\x1b[31m550 5.1.1 no"),
            "{:?}",
            c.stdout()
        );
        assert_eq!(o.last_reply().map(|r| r.code), Some(550));
        o.forget_reply();
        assert!(o.last_reply().is_none());
        let (o, c) = Output::capture(false);
        o.error("bad");
        o.hint("do this");
        assert_eq!(c.stderr(), "*** bad\n    do this\n");
        assert!(c.stdout().is_empty());
    }

    fn widest(text: &str) -> usize {
        text.lines().map(wrap::width).max().unwrap_or(0)
    }

    #[test]
    fn on_a_terminal_lines_wrap_but_the_transcript_does_not() {
        let (mut o, c) = Output::capture(false);
        o.set_fit(Fit::Fixed { cols: 40, rows: 24 });
        let long = "a line of words that is much longer than forty columns, so it wraps";
        o.plain(&format!("extensions:   {long}"));
        o.note(long);
        let out = c.stdout();
        assert!(widest(&out) <= 40, "{out}");
        assert!(
            out.contains("\n              much") || out.contains("\n              "),
            "{out}"
        );
        assert!(out.contains("\n    "), "a note hangs under its text: {out}");
        o.error(long);
        assert!(widest(&c.stderr()) <= 40, "{}", c.stderr());
        // The transcript and message text: as they are.
        c.take();
        o.sent(&format!("RCPT TO:<{}@example.org>", "x".repeat(50)), false);
        let mut p = crate::smtp::ReplyParser::new();
        p.push(format!("550 5.1.1 {long}\r\n").as_bytes()).unwrap();
        let r = p.next_reply().unwrap();
        o.explain = Explain::Off;
        o.reply(&r, false);
        o.verbatim(&format!("Subject: {long}"));
        assert_eq!(c.stdout().lines().count(), 3, "{}", c.stdout());
        // The explanation under a reply is text: it wraps, hanging.
        c.take();
        o.explain = Explain::On;
        o.reply(&r, false);
        let out = c.stdout();
        assert!(out.lines().count() > 2, "{out}");
        assert!(
            out.lines().skip(1).all(|l| l.chars().count() <= 40),
            "{out}"
        );
        assert!(
            out.contains("\n    5.1.1 Bad destination mailbox\n      address"),
            "{out}"
        );
        // Without a width (a pipe, a file): never wrapped.
        let (o, c) = Output::capture(false);
        o.plain(&format!("extensions:   {long} {long}"));
        assert_eq!(c.stdout().lines().count(), 1);
    }

    /// A reader that went away.
    struct Closed;
    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_closed_pipe_is_noticed_not_a_panic() {
        let o = Output::new(Box::new(Closed), Box::new(io::sink()), false);
        assert!(!o.is_broken());
        o.plain("first");
        assert!(o.is_broken());
        o.note("later lines are dropped");
        assert!(o.bytes(b"x").is_err());
    }
}
