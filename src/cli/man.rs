//! `smtpsh man`: the manual page, in roff, on standard output.
//!
//! The NAME, SYNOPSIS, DESCRIPTION and OPTIONS sections come from the
//! shell's [`Cli`] through clap_mangen; SUB-COMMANDS from the whole tree
//! ([`super::command`]: the `serve` and `test` parsers, the table's
//! `inbox`); SHELL COMMANDS from the command table; EXIT STATUS,
//! ENVIRONMENT and FILES from the constants and paths the code uses.

use super::Cli;
use crate::shell::{self, commands::COMMANDS, failure::FailKind};
use clap::{Arg, ArgAction, CommandFactory};
use clap_mangen::Man;
use clap_mangen::roff::{Inline, Roff, bold, italic, roman};
use std::ffi::OsString;

/// The DESCRIPTION section.
const DESCRIPTION: &str =
    "smtpsh talks to a mail server step by step: connect, EHLO, STARTTLS, AUTH, \
MAIL FROM, RCPT TO, DATA, each reply shown as it comes. It composes a MIME message with \
attachments and sends it, and replays sessions as scripts with checks (expect) for CI.

At a terminal it reads commands at a prompt that shows the state of the conversation, \
with history, Tab completion and hints (see SHELL COMMANDS); with -f, -c or standard \
input that is not a terminal it runs them as a script, which stops at its first failure.

--sandbox starts a built-in SMTP server that stores what it accepts, so nothing is \
delivered: inbox reads it back. smtpsh serve runs that server alone, as a mail catcher; \
smtpsh test runs a directory of scripts as tests (see SUB-COMMANDS).";

/// `smtpsh man` as a clap command (no arguments).
pub fn command() -> clap::Command {
    clap::Command::new("man")
        .bin_name("smtpsh man")
        .about("Print the manual page (roff) on standard output.")
        .after_help(
            "Read it: smtpsh man | man -l -\n\
             Install it: smtpsh man | sudo tee /usr/local/share/man/man1/smtpsh.1 >/dev/null",
        )
}

/// Runs `smtpsh man ARGS` (the words after `man`); returns the exit status.
pub fn main(args: &[OsString]) -> i32 {
    let argv = std::iter::once(OsString::from("smtpsh man")).chain(args.iter().cloned());
    if let Err(e) = command().try_get_matches_from(argv) {
        let _ = e.print();
        return e.exit_code();
    }
    super::print(&page())
}

/// One of clap_mangen's sections, rendered into a writer.
type Section = fn(&Man, &mut dyn std::io::Write) -> std::io::Result<()>;

/// The whole manual page.
pub fn page() -> Vec<u8> {
    let shell = Cli::command()
        .about("an interactive SMTP shell")
        .long_about(DESCRIPTION);
    let man = Man::new(shell).manual("User Commands");
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let sections: [Section; 5] = [
        Man::render_title,
        Man::render_name_section,
        Man::render_synopsis_section,
        Man::render_description_section,
        Man::render_options_section,
    ];
    for render in sections {
        let mut piece = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = render(&man, &mut piece);
        pieces.push(piece);
    }
    // Ragged right and no hyphenation: usages and option names are not
    // prose, and stretching or splitting them misleads.
    let mut layout = Roff::new();
    layout.control("ad", ["l"]);
    layout.control("nh", []);
    pieces.insert(1, render(&layout));
    let mut ours = Roff::new();
    // The synopsis of each sub-command, under the shell's.
    let mut tree = super::command();
    tree.build();
    for sub in tree.get_subcommands() {
        for form in usage(sub) {
            ours.control("br", []);
            ours.text(form);
        }
    }
    pieces.insert(4, render(&ours));
    pieces.push(render(&subcommands(&tree)));
    pieces.push(render(&shell_commands()));
    pieces.push(render(&facts()));
    ascii(&join(pieces))
}

/// The page with every character beyond ASCII (the table's `—`) written
/// as a groff escape, `\[u2014]`: troff reads its input as Latin-1 unless
/// a preprocessor (`man`'s preconv) converts it first.
fn ascii(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out.into_bytes()
}

/// Renders a part of the page.
fn render(roff: &Roff) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = roff.to_writer(&mut out);
    out
}

/// The pieces as one page: each rendering starts with the same preamble
/// (the apostrophe definition); only the first keeps it.
fn join(pieces: Vec<Vec<u8>>) -> Vec<u8> {
    let preamble = render(&Roff::new());
    let mut page = Vec::new();
    for (i, piece) in pieces.into_iter().enumerate() {
        match piece.strip_prefix(preamble.as_slice()) {
            Some(rest) if i > 0 => page.extend_from_slice(rest),
            _ => page.extend_from_slice(&piece),
        }
    }
    page
}

/// A sub-command's usage lines, from clap: `smtpsh serve [OPTIONS]` (an
/// overridden usage, `inbox`'s, may have several forms, one a line).
fn usage(sub: &clap::Command) -> Vec<Vec<Inline>> {
    let text = sub.clone().render_usage().to_string();
    let text = text.strip_prefix("Usage: ").unwrap_or(&text);
    let name = sub.get_bin_name().unwrap_or(sub.get_name());
    text.lines()
        .map(str::trim)
        .filter(|form| !form.is_empty())
        .map(|form| match form.strip_prefix(name) {
            Some(rest) => vec![bold(name), roman(rest)],
            None => vec![roman(form)],
        })
        .collect()
}

/// SUB-COMMANDS: each one's usage, description, options and notes.
fn subcommands(tree: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SUB-COMMANDS"]);
    roff.text([roman(
        "A first word naming a sub-command runs it instead of the shell; \
         each has its own options.",
    )]);
    for sub in tree.get_subcommands() {
        let name = sub.get_bin_name().unwrap_or(sub.get_name());
        roff.control("SS", [name]);
        for (i, form) in usage(sub).into_iter().enumerate() {
            if i > 0 {
                roff.control("br", []);
            }
            roff.text(form);
        }
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            roff.control("PP", []);
            lines(&mut roff, &about.to_string());
        }
        // Options the help text explains (`inbox`'s table row) are not
        // listed again without one.
        let explained = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && a.get_help().is_some());
        for arg in explained {
            option(&mut roff, arg);
        }
        if let Some(after) = sub.get_after_help() {
            roff.control("PP", []);
            lines(&mut roff, &after.to_string());
        }
    }
    roff
}

/// Help text written for the terminal, as man-page paragraphs (see
/// [`blocks`]): a row becomes a tagged paragraph, and each other line
/// starts a line of its own.
fn lines(roff: &mut Roff, text: &str) {
    let mut after_row = false;
    for (i, block) in blocks(text).into_iter().enumerate() {
        match block {
            Block::Row { term, text } => {
                roff.control("TP", []);
                roff.text([bold(term)]);
                roff.text([roman(text)]);
                after_row = true;
            }
            Block::Line(line) => {
                if after_row {
                    roff.control("PP", []);
                } else if i > 0 {
                    roff.control("br", []);
                }
                roff.text([roman(line)]);
                after_row = false;
            }
        }
    }
}

/// A piece of help text, as [`blocks`] reads it.
#[derive(Debug, PartialEq, Eq)]
enum Block {
    /// `TERM  text` (two or more spaces after a short TERM), with the
    /// lines indented under it: `inbox N --raw   prints the stored bytes`.
    Row { term: String, text: String },
    /// A line, with those that continue its sentence.
    Line(String),
}

/// Reads help text laid out for a terminal of 100 columns: rows of a
/// table, lines indented under a row (its text goes on), lines broken
/// mid-sentence (joined: the page fills them to its own width), and
/// lines of their own (an indented list under `Examples:` among them).
/// `Example:` lines are never rows.
fn blocks(text: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut prev = "";
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let indented = raw.starts_with(' ');
        let broken_off = goes_on(prev, line);
        prev = line;
        match out.last_mut() {
            Some(Block::Row { text, .. }) if indented => {
                text.push(' ');
                text.push_str(line);
                continue;
            }
            Some(Block::Line(text)) if broken_off => {
                text.push(' ');
                text.push_str(line);
                continue;
            }
            _ => {}
        }
        match row(line) {
            Some((term, text)) => out.push(Block::Row {
                term: term.to_string(),
                text: text.to_string(),
            }),
            None => out.push(Block::Line(line.to_string())),
        }
    }
    out
}

/// `TERM  text`, TERM at most 40 characters and not an example.
fn row(line: &str) -> Option<(&str, &str)> {
    if line.starts_with("Example") {
        return None;
    }
    let (term, text) = line.split_once("  ")?;
    let text = text.trim_start();
    (term.len() <= 40 && !text.is_empty()).then_some((term, text))
}

/// Whether `next` continues the sentence the line `prev` broke off: it was
/// wrapped (it is long: a short line is an item of its own, `expect tls:
/// the connection is encrypted`) and ends in a letter, digit or comma (not
/// `.`, `:` or `)`); `next` is not an example.
fn goes_on(prev: &str, next: &str) -> bool {
    let wrapped = prev.chars().count() >= WRAPPED
        && prev
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == ',');
    wrapped && !next.starts_with("Example")
}

/// A line of help text at least this long was wrapped by its author.
const WRAPPED: usize = 70;

/// One option as a tagged paragraph: `-f, --file FILE`, its help, its
/// values and default.
fn option(roff: &mut Roff, arg: &Arg) {
    let mut tag = Vec::new();
    if let Some(short) = arg.get_short() {
        tag.push(bold(format!("-{short}")));
    }
    if let Some(long) = arg.get_long() {
        if !tag.is_empty() {
            tag.push(roman(", "));
        }
        tag.push(bold(format!("--{long}")));
    }
    let takes_value = arg.get_action().takes_values();
    if takes_value {
        let names = arg
            .get_value_names()
            .map(|v| v.join(" "))
            .unwrap_or_else(|| arg.get_id().to_string());
        if !tag.is_empty() {
            tag.push(roman(" "));
        }
        tag.push(italic(names));
        if arg.is_positional() && matches!(arg.get_action(), ArgAction::Append) {
            tag.push(roman("..."));
        }
    }
    roff.control("TP", []);
    roff.text(tag);
    let mut body = Vec::new();
    if let Some(help) = arg.get_long_help().or(arg.get_help()) {
        body.push(help.to_string());
    }
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if takes_value && !values.is_empty() {
        body.push(format!("[possible values: {}]", values.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_value && !defaults.is_empty() {
        body.push(format!("[default: {}]", defaults.join(", ")));
    }
    if !body.is_empty() {
        roff.text([roman(body.join(" "))]);
    }
}

/// SHELL COMMANDS: every row of the command table, usage and summary.
fn shell_commands() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SHELL COMMANDS"]);
    roff.text([roman(
        "Typed at the prompt, given with -c, or read from a script (-f, or standard \
         input that is not a terminal). Tab completes them; `help COMMAND` in the shell \
         says more.",
    )]);
    for spec in COMMANDS {
        roff.control("TP", []);
        roff.text([bold(spec.usage)]);
        let mut text = spec.summary.to_string();
        if !spec.aliases.is_empty() {
            text.push_str(&format!(" (also: {})", spec.aliases.join(", ")));
        }
        roff.text([roman(text)]);
    }
    roff
}

/// EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO.
fn facts() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["EXIT STATUS"]);
    let statuses = [
        (shell::EXIT_OK, "every command succeeded"),
        (
            FailKind::Local.exit_code(),
            "a local error: bad input, an unknown command, a missing file",
        ),
        (
            shell::EXIT_USAGE,
            "wrong use of the command line (an unknown option, -f with -c)",
        ),
        (
            FailKind::Connection.exit_code(),
            "a connection error: refused, timed out, TLS failed, closed by the server",
        ),
        (
            FailKind::Refused.exit_code(),
            "the server refused a command (a 4xx or 5xx reply)",
        ),
        (FailKind::Expect.exit_code(), "an `expect` failed"),
        (
            FailKind::Interrupted.exit_code(),
            "interrupted (Ctrl-C, SIGTERM)",
        ),
        (
            shell::EXIT_PIPE,
            "standard output was closed by its reader (`| head`): smtpsh stopped quietly",
        ),
    ];
    for (code, meaning) in statuses {
        roff.control("TP", []);
        roff.text([bold(code.to_string())]);
        roff.text([roman(meaning)]);
    }
    roff.control("PP", []);
    roff.text([roman(
        "In a script, the first failure stops it with its status (with --keep-going, \
         the script goes on and exits with the first failure's status). \
         smtpsh serve and smtpsh test have their own (see SUB-COMMANDS).",
    )]);
    roff.control("SH", ["ENVIRONMENT"]);
    let environment = [
        (
            "SMTPSH_HISTORY",
            "The history file (default $XDG_STATE_HOME/smtpsh/history).",
        ),
        (
            "SMTPSH_CONFIG",
            "The config file with the profiles (default \
             $XDG_CONFIG_HOME/smtpsh/config.toml; --config FILE wins).",
        ),
        (
            "NETRC",
            "The netrc file auth reads a password from when nothing else gives one \
             (default ~/.netrc).",
        ),
        (
            "SMTPSH_SANDBOX_DIR",
            "The sandbox's directory: its Maildir (the mail --sandbox, smtpsh serve and \
             inbox store and read) and each running instance's CA certificate \
             (default $XDG_DATA_HOME/smtpsh/sandbox).",
        ),
        (
            "NO_COLOR",
            "When set and not empty, --color auto prints no colour.",
        ),
        (
            "XDG_STATE_HOME",
            "The base of the history and the dead letters (default ~/.local/state).",
        ),
        (
            "XDG_DATA_HOME",
            "The base of the sandbox's directory (default ~/.local/share).",
        ),
        (
            "XDG_CONFIG_HOME",
            "The base of the config file and the init file (default ~/.config).",
        ),
        (
            "NAME",
            "Any variable: ${NAME} in a command is its value, unless --var or set var \
             define NAME. auth --password-env VAR and smtpsh serve --password-env VAR read \
             a password from VAR.",
        ),
    ];
    for (name, meaning) in environment {
        roff.control("TP", []);
        roff.text([bold(name)]);
        roff.text([roman(meaning)]);
    }
    roff.control("SH", ["FILES"]);
    let files = [
        (
            "$XDG_STATE_HOME/smtpsh/history",
            "The commands typed (mode 0600; message text and lines that may hold a \
             password never enter it; not read or written with --no-history).",
        ),
        (
            "$XDG_CONFIG_HOME/smtpsh/config.toml",
            "The profiles: [profile.NAME] tables of host, port, tls, cafile, cert, key, servername, tls_min, tls_max, pin, user, \
             mechanism, password_command, password, ehlo (connect NAME, --profile NAME). \
             Refused when it holds a password and others can read it.",
        ),
        (
            "$XDG_CONFIG_HOME/smtpsh/init.smtp",
            "Commands run at interactive start (never for scripts; --no-init skips it).",
        ),
        (
            "~/.netrc",
            "machine HOST login USER password PW: a password for auth (not used when \
             others can read it).",
        ),
        (
            "$XDG_STATE_HOME/smtpsh/dead-letter/",
            "A message a script failed to send, kept as YYYYMMDDTHHMMSSZ-UNIQUE.eml \
             (mode 0600); smtpsh prints its path and the command that sends it again.",
        ),
        (
            "$XDG_DATA_HOME/smtpsh/sandbox/Maildir/",
            "The mail the sandbox stored (read it with inbox).",
        ),
        (
            "$XDG_DATA_HOME/smtpsh/sandbox/instances/PID-PORT/ca.pem",
            "A running sandbox's CA certificate, removed when it stops.",
        ),
    ];
    for (path, meaning) in files {
        roff.control("TP", []);
        roff.text([italic(path)]);
        roff.text([roman(meaning)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "smtpsh --help, smtpsh COMMAND --help, and in the shell help COMMAND. \
         The documentation in the source: docs/commands.md, docs/scripting.md, \
         docs/tls-and-auth.md, docs/catcher.md, docs/errors.md.",
    )]);
    roff
}

#[cfg(test)]
mod tests {
    use super::{Block, blocks};

    fn row(term: &str, text: &str) -> Block {
        Block::Row {
            term: term.into(),
            text: text.into(),
        }
    }

    fn line(text: &str) -> Block {
        Block::Line(text.into())
    }

    #[test]
    fn rows_indented_lines_broken_sentences_and_examples() {
        let help = "cert show        prints the chain as PEM, its own\n\
                    \u{20}                certificate first\n\
                    cert save FILE   writes that PEM to FILE\n\
                    --json         the list as JSON\n\
                    The messages are files in the sandbox's Maildir ($SMTPSH_SANDBOX_DIR/Maildir, else\n\
                    $XDG_DATA_HOME/smtpsh): `inbox` needs no sandbox.\n\
                    A failed --wait stops a script (exit status 5).\n\
                    Example: to nobody@example.com  then  expect 550 5.1.1\n\
                    Example: help smtp rcpt   help code 4.7.0\n\
                    Examples:\n  smtpsh serve\n  smtpsh serve --json";
        assert_eq!(
            blocks(help),
            [
                row(
                    "cert show",
                    "prints the chain as PEM, its own certificate first"
                ),
                row("cert save FILE", "writes that PEM to FILE"),
                row("--json", "the list as JSON"),
                line(
                    "The messages are files in the sandbox's Maildir ($SMTPSH_SANDBOX_DIR/Maildir, \
                     else $XDG_DATA_HOME/smtpsh): `inbox` needs no sandbox."
                ),
                line("A failed --wait stops a script (exit status 5)."),
                line("Example: to nobody@example.com  then  expect 550 5.1.1"),
                line("Example: help smtp rcpt   help code 4.7.0"),
                line("Examples:"),
                line("smtpsh serve"),
                line("smtpsh serve --json"),
            ]
        );
    }

    #[test]
    fn a_line_ending_a_clause_stays_a_line() {
        let help = "expect 250 /queued as (?<id>\\S+)/: the text matches the regular expression\n\
                    (/.../i ignores case); each named group becomes a variable.\n\
                    expect tls: the connection is encrypted\n\
                    expect ext NAME...: the server announced these extensions (e.g. PIPELINING SIZE)\n\
                    expect auth [USER]: authenticated (as USER)";
        assert_eq!(
            blocks(help),
            [
                line(
                    "expect 250 /queued as (?<id>\\S+)/: the text matches the regular expression \
                     (/.../i ignores case); each named group becomes a variable."
                ),
                line("expect tls: the connection is encrypted"),
                line(
                    "expect ext NAME...: the server announced these extensions (e.g. PIPELINING SIZE)"
                ),
                line("expect auth [USER]: authenticated (as USER)"),
            ]
        );
    }
}
