//! From a typed line to a command and its arguments: the command table
//! entry, the words (shell-style quoting) or the rest of the line as
//! typed, the options, and the checks every command shares (no control
//! character anywhere, the options the table names, the number of words).

use super::commands::{self, ArgStyle, Spec};
use super::failure::Failure;

/// A command's arguments.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// The plain words (options and their values removed); for
    /// [`ArgStyle::Rest`] commands, empty.
    pub words: Vec<String>,
    /// Options given: (name, value) — value `None` for flags.
    pub opts: Vec<(String, Option<String>)>,
    /// Everything after the command name, trimmed; a single fully quoted
    /// string is unquoted.
    pub rest: String,
    /// The command name as typed (`MAIL` for the classic form of `from`).
    pub typed: String,
    /// Everything after the command name exactly as typed (for `raw`).
    pub verbatim: String,
}

impl Args {
    /// The value of option `name` (`--type`), if given.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }
    /// Whether flag `name` (`--keep-open`) was given.
    pub fn flag(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| n == name)
    }
    /// Whether the command was typed as the SMTP verb itself (`MAIL
    /// FROM:<a>`, `RCPT TO:<b>`): then it goes out exactly as typed, so a
    /// learner sees what the server says to it.
    pub fn classic(&self) -> bool {
        let t = self.typed.to_ascii_uppercase();
        (t == "MAIL" && self.verbatim.to_ascii_uppercase().starts_with("FROM:"))
            || (t == "RCPT" && self.verbatim.to_ascii_uppercase().starts_with("TO:"))
    }
}

/// Refuses a line holding a control character other than TAB: nothing
/// typed may carry a line break or NUL into a command or header.
pub fn check_controls(line: &str) -> Result<(), Failure> {
    let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') else {
        return Ok(());
    };
    let name = match c {
        '\r' => "CR".to_string(),
        '\n' => "LF".to_string(),
        '\0' => "NUL".to_string(),
        other => format!("U+{:04X}", other as u32),
    };
    Err(Failure::local(format!(
        "the line contains a control character ({name}); it was not run"
    ))
    .hint("commands and headers cannot carry line breaks; use `body` for multi-line text"))
}

/// Splits a command line into its spec and arguments, checking options and
/// the number of words. Errors carry the usage line.
pub fn parse_line(line: &str) -> Result<(&'static Spec, Args), Failure> {
    let line = line.trim();
    check_controls(line)?;
    let (name, rest) = match line.find(char::is_whitespace) {
        Some(i) => (&line[..i], line[i..].trim()),
        None => (line, ""),
    };
    let spec = commands::find(name).ok_or_else(|| unknown_command(name))?;
    let usage = || {
        Failure::local(format!("usage: {}", spec.usage)).hint(format!("see `help {}`", spec.name))
    };
    let mut args = Args {
        rest: unquote_rest(rest),
        verbatim: rest.to_string(),
        typed: name.to_string(),
        ..Args::default()
    };
    if spec.args == ArgStyle::Words {
        let Some(words) = shlex::split(rest) else {
            return Err(Failure::local("unbalanced quotes in the arguments")
                .hint("close the quote, or escape it with a backslash (\\\")"));
        };
        split_options(spec, words, &mut args)?;
        let n = args.words.len();
        if n < spec.arity.0 || n > spec.arity.1 {
            return Err(usage());
        }
    } else if spec.arity.0 > 0 && args.rest.is_empty() {
        return Err(usage());
    }
    Ok((spec, args))
}

/// `unknown command 'x'`, with the closest names.
fn unknown_command(name: &str) -> Failure {
    let f = Failure::local(format!("unknown command '{name}'"));
    let sugg = commands::suggest(name);
    if sugg.is_empty() {
        return f.hint("type `help` for the list of commands, or `raw LINE` to send any SMTP line");
    }
    let list: Vec<String> = sugg.iter().map(|s| format!("`{s}`")).collect();
    f.hint(format!(
        "did you mean {}? (`help` lists every command)",
        list.join(" or ")
    ))
}

/// Short options and the long ones they stand for (as on the command line).
pub const SHORT: &[(&str, &str)] = &[("-4", "--ipv4"), ("-6", "--ipv6")];

/// Sorts `words` into plain words and the options `spec` names.
fn split_options(spec: &Spec, words: Vec<String>, args: &mut Args) -> Result<(), Failure> {
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        // `-4` and `-6` are short for `--ipv4` and `--ipv6` where those exist.
        let w = match SHORT.iter().find(|(short, _)| *short == w) {
            Some((_, long)) if spec.options.contains(long) => long.to_string(),
            _ => w,
        };
        if !(w.starts_with("--") && w.len() > 2) {
            args.words.push(w);
            continue;
        }
        let (key, inline) = match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (w.clone(), None),
        };
        let Some(opt) = spec
            .options
            .iter()
            .find(|o| o.split(' ').next() == Some(key.as_str()))
        else {
            return Err(
                Failure::local(format!("unknown option {key} for `{}`", spec.name))
                    .hint(format!("usage: {}", spec.usage)),
            );
        };
        let value = if opt.contains(' ') {
            match inline.or_else(|| it.next()) {
                Some(v) => Some(v),
                None => {
                    return Err(Failure::local(format!("option {key} needs a value"))
                        .hint(format!("usage: {}", spec.usage)));
                }
            }
        } else {
            None
        };
        args.opts.push((key, value));
    }
    Ok(())
}

/// For a command whose argument is free text (`from "Alice <a@x>" --ret
/// hdrs`): the options typed among the text, read like any command's
/// (the table names them), and the text without them (a single fully
/// quoted string unquoted). A word is an option only outside quotes and
/// angle brackets, so a display name such as `"--x" <a@x>` stays text.
pub fn rest_options(spec: &Spec, text: &str) -> Result<(String, Args), Failure> {
    let tokens = raw_tokens(text);
    let takes_value = |word: &str| {
        let key = word.split_once('=').map_or(word, |(k, _)| k);
        !word.contains('=')
            && spec
                .options
                .iter()
                .any(|o| o.split_once(' ').is_some_and(|(name, _)| name == key))
    };
    let unquote = |t: &str| {
        shlex::split(t)
            .filter(|w| w.len() == 1)
            .and_then(|mut w| w.pop())
            .unwrap_or_else(|| t.to_string())
    };
    let mut kept: Vec<&str> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let mut it = tokens.into_iter();
    while let Some(t) = it.next() {
        if t.starts_with("--") && t.len() > 2 {
            options.push(unquote(t));
            if takes_value(t)
                && let Some(v) = it.next()
            {
                options.push(unquote(v));
            }
        } else {
            kept.push(t);
        }
    }
    let mut args = Args::default();
    split_options(spec, options, &mut args)?;
    Ok((unquote_rest(&kept.join(" ")), args))
}

/// `text` cut at spaces outside `"..."` (with backslash escapes), `<...>`
/// and a word that starts with `'`; each piece as typed.
fn raw_tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    let mut close: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(end) = close {
            if escaped {
                escaped = false;
            } else if c == '\\' && end == '"' {
                escaped = true;
            } else if c == end {
                close = None;
            }
            continue;
        }
        if c.is_whitespace() {
            if let Some(st) = start.take() {
                tokens.push(&text[st..i]);
            }
            continue;
        }
        let first = start.is_none();
        start.get_or_insert(i);
        close = match c {
            '"' => Some('"'),
            '<' => Some('>'),
            '\'' if first => Some('\''),
            _ => None,
        };
    }
    if let Some(st) = start {
        tokens.push(&text[st..]);
    }
    tokens
}

/// Free text after a command: as typed, unless it is one fully quoted
/// string, which is unquoted.
pub fn unquote_rest(rest: &str) -> String {
    let quoted = (rest.starts_with('"') && rest.ends_with('"'))
        || (rest.starts_with('\'') && rest.ends_with('\''));
    if quoted
        && rest.len() >= 2
        && let Some(mut words) = shlex::split(rest)
        && words.len() == 1
    {
        return words.remove(0);
    }
    rest.to_string()
}

/// `word` as one word of a command line, quoted when it needs it (the
/// inverse of how [`parse_line`] splits words); a word holding NUL, which
/// no quoting can carry, is returned as it is.
pub fn quote_word(word: &str) -> String {
    shlex::try_quote(word).map_or_else(|_| word.to_string(), |q| q.into_owned())
}

/// Strips a classic `FROM:` / `TO:` prefix (`MAIL FROM:<a>` typed by hand).
pub fn strip_verb_prefix<'a>(text: &'a str, prefix: &str) -> &'a str {
    let t = text.trim_start();
    match t.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => t[prefix.len()..].trim_start(),
        _ => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_lines_checks_usage_and_options() {
        let (spec, a) = parse_line("attach a.bin 'my file.txt' --type text/plain").unwrap();
        assert_eq!(spec.name, "attach");
        assert_eq!(a.words, vec!["a.bin", "my file.txt"]);
        assert_eq!(a.opt("--type"), Some("text/plain"));
        let (_, a) = parse_line("send --keep-open").unwrap();
        assert!(a.flag("--keep-open"));
        let err = |l: &str| parse_line(l).unwrap_err();
        assert!(err("send --keep-opne").message.contains("unknown option"));
        assert!(err("attach").message.starts_with("usage: attach"));
        assert!(err("attach --type").message.contains("needs a value"));
        assert!(err("sned").hint.unwrap_or_default().contains("`send`"));
        assert!(err("to 'unbalanced").message.contains("quotes"));
        assert!(err("noop\u{0}").message.contains("NUL"));
        assert!(err("noop\rx").message.contains("CR"));
        let (_, a) = parse_line("subject it's a \"test\"").unwrap();
        assert_eq!(a.rest, "it's a \"test\"");
        let (_, a) = parse_line("subject \"  spaced  \"").unwrap();
        assert_eq!(a.rest, "  spaced  ");
        let (spec, a) = parse_line("MAIL FROM:<a@b.org>").unwrap();
        assert_eq!((spec.name, a.rest.as_str()), ("from", "FROM:<a@b.org>"));
        assert!(a.classic());
        let (_, a) = parse_line("from a@b.org").unwrap();
        assert!(!a.classic());
        let (_, a) = parse_line("rcpt to:<x@y.org>").unwrap();
        assert!(a.classic());
    }

    #[test]
    fn options_among_free_text() {
        let spec = commands::find("from").unwrap();
        let (text, a) = rest_options(spec, "\"Alice <a@x.org>\" --ret hdrs").unwrap();
        assert_eq!(text, "Alice <a@x.org>");
        assert_eq!(a.opt("--ret"), Some("hdrs"));
        let (text, a) =
            rest_options(spec, "--envid 'my id' Alice Example <a@x.org> --requiretls").unwrap();
        assert_eq!(text, "Alice Example <a@x.org>");
        assert_eq!(a.opt("--envid"), Some("my id"));
        assert!(a.flag("--requiretls"));
        let (text, a) = rest_options(
            spec,
            "\"--not an option\" <a@x.org> --param MT-PRIORITY=3 --param=HOLDFOR=60",
        )
        .unwrap();
        assert_eq!(text, "\"--not an option\" <a@x.org>");
        let params: Vec<_> = a.opts.iter().filter_map(|(_, v)| v.clone()).collect();
        assert_eq!(params, vec!["MT-PRIORITY=3", "HOLDFOR=60"]);
        let (text, a) = rest_options(spec, "O'Brien <o@x.org> --force").unwrap();
        assert_eq!(text, "O'Brien <o@x.org>");
        assert!(a.flag("--force"));
        let (text, _) = rest_options(spec, "a@x.org").unwrap();
        assert_eq!(text, "a@x.org");
        assert!(rest_options(spec, "a@x.org --frob").is_err());
        assert!(
            rest_options(spec, "a@x.org --ret")
                .unwrap_err()
                .message
                .contains("needs a value")
        );
    }

    #[test]
    fn classic_prefixes_are_stripped() {
        assert_eq!(strip_verb_prefix("FROM:<a@b.org>", "FROM:"), "<a@b.org>");
        assert_eq!(strip_verb_prefix("from: <a@b.org>", "FROM:"), "<a@b.org>");
        assert_eq!(strip_verb_prefix("a@b.org", "FROM:"), "a@b.org");
        assert_eq!(strip_verb_prefix("é", "FROM:"), "é");
    }
}
