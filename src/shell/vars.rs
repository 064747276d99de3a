//! Script variables: `${NAME}` in any command line, so one script serves
//! several environments.
//!
//! A name is looked up, in order, among the values an `expect` captured
//! (`expect 250 /queued as (?<queue_id>\S+)/`), the command line's `--var
//! NAME=VALUE`, the script's `set var NAME VALUE`, and the environment.
//! `${NAME:-default}` gives a default when NAME is unset or empty; `$$` is
//! a literal `$`; any other `$` is itself. An undefined name is an error,
//! never an empty string, and a value holding a line break (or any control
//! character but TAB) is refused where it is used, so no variable can
//! carry CR or LF into a command.

use std::collections::BTreeMap;

/// Where a variable's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Captured by an `expect` regular expression.
    Captured,
    /// `--var NAME=VALUE`.
    CommandLine,
    /// `set var NAME VALUE`.
    Script,
    /// The environment.
    Environment,
}

impl Source {
    /// In words, for `set var` and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Source::Captured => "captured by expect",
            Source::CommandLine => "--var",
            Source::Script => "set var",
            Source::Environment => "environment",
        }
    }
}

/// Why a line could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarError {
    /// `${NAME}` with NAME defined nowhere.
    Undefined(String),
    /// `${` without its `}`.
    Unterminated,
    /// `${...}` holding something that is not a name.
    BadName(String),
    /// The value of NAME holds a control character (a line break).
    Control(String, Source),
    /// The environment variable NAME is not valid UTF-8.
    NotUtf8(String),
}

impl std::fmt::Display for VarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VarError::Undefined(n) => write!(f, "undefined variable ${{{n}}}"),
            VarError::Unterminated => write!(f, "`${{` without its closing `}}`"),
            VarError::BadName(n) => write!(
                f,
                "'{n}' is not a variable name (letters, digits and _, not starting with a digit)"
            ),
            VarError::Control(n, src) => write!(
                f,
                "the variable {n} ({}) holds a line break or another control character; \
                 it cannot go into a command",
                src.name()
            ),
            VarError::NotUtf8(n) => write!(f, "the environment variable {n} is not valid UTF-8"),
        }
    }
}

impl From<VarError> for super::failure::Failure {
    /// A local failure with the hint, if there is one.
    fn from(e: VarError) -> Self {
        let f = super::failure::Failure::local(e.to_string());
        match e.hint() {
            Some(h) => f.hint(h),
            None => f,
        }
    }
}

impl VarError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            VarError::Undefined(n) => Some(format!(
                "define it: smtpsh --var {n}=VALUE, `set var {n} VALUE` in the script, or the \
                 environment variable {n}; ${{{n}:-DEFAULT}} gives a default"
            )),
            VarError::Unterminated | VarError::BadName(_) => {
                Some("write ${NAME} or ${NAME:-default}; $$ is a literal $".to_string())
            }
            _ => None,
        }
    }
}

/// Whether `name` is a variable name: ASCII letters, digits and `_`, not
/// starting with a digit.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `NAME=VALUE` (`--var`): a valid name, and a value with no
/// control character but TAB.
pub fn parse_assignment(s: &str) -> Result<(String, String), String> {
    let Some((name, value)) = s.split_once('=') else {
        return Err(format!("'{s}' is not NAME=VALUE"));
    };
    if !is_name(name) {
        return Err(format!(
            "'{name}' is not a variable name (letters, digits and _, not starting with a digit)"
        ));
    }
    if has_control(value) {
        return Err(format!(
            "the value of {name} holds a line break or another control character"
        ));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Whether `text` holds a control character other than TAB.
pub fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\t')
}

/// The variables of one session.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    captured: BTreeMap<String, String>,
    command_line: BTreeMap<String, String>,
    script: BTreeMap<String, String>,
    /// Tests replace the environment.
    #[cfg(test)]
    env: Option<BTreeMap<String, String>>,
}

impl Vars {
    /// Variables from `--var`, in order (a later one wins).
    pub fn with_command_line(vars: &[(String, String)]) -> Vars {
        Vars {
            command_line: vars.iter().cloned().collect(),
            ..Vars::default()
        }
    }

    /// `set var NAME VALUE`; it also replaces what an `expect` captured
    /// under NAME.
    pub fn set(&mut self, name: &str, value: &str) {
        self.captured.remove(name);
        self.script.insert(name.to_string(), value.to_string());
    }

    /// What an `expect` captured: `Some` sets NAME, `None` (the group did
    /// not take part in the match) forgets an earlier capture, so a stale
    /// value is never used.
    pub fn capture(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => {
                self.captured.insert(name.to_string(), v.to_string());
            }
            None => {
                self.captured.remove(name);
            }
        }
    }

    /// NAME's value and where it came from.
    pub fn get(&self, name: &str) -> Result<Option<(String, Source)>, VarError> {
        let layers = [
            (&self.captured, Source::Captured),
            (&self.command_line, Source::CommandLine),
            (&self.script, Source::Script),
        ];
        for (map, source) in layers {
            if let Some(v) = map.get(name) {
                return Ok(Some((v.clone(), source)));
            }
        }
        self.env(name)
            .map(|v| v.map(|value| (value, Source::Environment)))
    }

    #[cfg(not(test))]
    fn env(&self, name: &str) -> Result<Option<String>, VarError> {
        match std::env::var(name) {
            Ok(v) => Ok(Some(v)),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(VarError::NotUtf8(name.to_string())),
        }
    }

    #[cfg(test)]
    fn env(&self, name: &str) -> Result<Option<String>, VarError> {
        Ok(self.env.as_ref().and_then(|e| e.get(name).cloned()))
    }

    /// The variables smtpsh itself holds (not the environment), with
    /// where each came from, by name.
    pub fn list(&self) -> Vec<(String, String, Source)> {
        let mut all: BTreeMap<&String, (&String, Source)> = BTreeMap::new();
        for (map, source) in [
            (&self.script, Source::Script),
            (&self.command_line, Source::CommandLine),
            (&self.captured, Source::Captured),
        ] {
            for (k, v) in map {
                all.insert(k, (v, source));
            }
        }
        all.into_iter()
            .map(|(k, (v, s))| (k.clone(), v.clone(), s))
            .collect()
    }

    /// `line` with every `${NAME}`, `${NAME:-default}` and `$$` replaced.
    pub fn expand(&self, line: &str) -> Result<String, VarError> {
        if !line.contains('$') {
            return Ok(line.to_string());
        }
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(tail) = after.strip_prefix('$') {
                out.push('$');
                rest = tail;
            } else if let Some(inner) = after.strip_prefix('{') {
                let end = closing_brace(inner).ok_or(VarError::Unterminated)?;
                out.push_str(&self.reference(&inner[..end])?);
                rest = &inner[end + 1..];
            } else {
                out.push('$');
                rest = after;
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The value of what is between `${` and `}`: `NAME` or `NAME:-default`.
    fn reference(&self, inside: &str) -> Result<String, VarError> {
        let (name, default) = match inside.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inside, None),
        };
        if !is_name(name) {
            return Err(VarError::BadName(name.to_string()));
        }
        let value = self.get(name)?;
        let (value, source) = match (value, default) {
            (Some((v, _)), Some(d)) if v.is_empty() => (self.expand(d)?, Source::Script),
            (Some(found), _) => found,
            (None, Some(d)) => (self.expand(d)?, Source::Script),
            (None, None) => return Err(VarError::Undefined(name.to_string())),
        };
        if has_control(&value) {
            return Err(VarError::Control(name.to_string(), source));
        }
        Ok(value)
    }
}

/// The index of the `}` that closes a `${` whose inside starts `text`
/// (nested `${...}` in a default count).
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::with_command_line(&[
            ("HOST".into(), "mx.example.org".into()),
            ("RCPT".into(), "first@example.org".into()),
            ("RCPT".into(), "bob@example.org".into()),
        ]);
        v.env = Some(
            [
                ("HOME".to_string(), "/home/ann".to_string()),
                ("HOST".to_string(), "from-env".to_string()),
                ("NL".to_string(), "a\nb".to_string()),
                ("EMPTY".to_string(), String::new()),
            ]
            .into_iter()
            .collect(),
        );
        v
    }

    #[test]
    fn expansion_and_precedence() {
        let mut v = vars();
        assert_eq!(v.expand("to ${RCPT}").unwrap(), "to bob@example.org");
        assert_eq!(
            v.expand("connect ${HOST} 25").unwrap(),
            "connect mx.example.org 25"
        );
        assert_eq!(v.expand("${HOME}/a.bin").unwrap(), "/home/ann/a.bin");
        assert_eq!(
            v.expand("costs $$5 and $5 and $").unwrap(),
            "costs $5 and $5 and $"
        );
        assert_eq!(v.expand("no variables").unwrap(), "no variables");
        assert_eq!(v.expand("${PORT:-2525}").unwrap(), "2525");
        assert_eq!(v.expand("${EMPTY:-x}").unwrap(), "x");
        assert_eq!(v.expand("[${EMPTY}]").unwrap(), "[]");
        assert_eq!(v.expand("${A:-${HOST}}").unwrap(), "mx.example.org");
        assert_eq!(v.expand("ü${RCPT}é").unwrap(), "übob@example.orgé");
        // `set var` is below --var, above the environment.
        v.set("HOST", "script");
        v.set("HOME", "/script");
        assert_eq!(
            v.expand("${HOST} ${HOME}").unwrap(),
            "mx.example.org /script"
        );
        // A capture wins, until `set var` names it again.
        v.capture("HOST", Some("captured"));
        assert_eq!(v.expand("${HOST}").unwrap(), "captured");
        v.capture("HOST", None);
        assert_eq!(v.expand("${HOST}").unwrap(), "mx.example.org");
        v.capture("id", Some("Q1"));
        v.set("id", "mine");
        assert_eq!(v.expand("${id}").unwrap(), "mine");
        let names: Vec<String> = v.list().into_iter().map(|(n, _, _)| n).collect();
        assert_eq!(names, vec!["HOME", "HOST", "RCPT", "id"]);
    }

    #[test]
    fn errors_name_the_variable() {
        let v = vars();
        assert_eq!(
            v.expand("to ${NOPE}"),
            Err(VarError::Undefined("NOPE".into()))
        );
        assert_eq!(v.expand("to ${RCPT"), Err(VarError::Unterminated));
        assert_eq!(v.expand("${1X}"), Err(VarError::BadName("1X".into())));
        assert_eq!(v.expand("${}"), Err(VarError::BadName(String::new())));
        assert_eq!(
            v.expand("subject ${NL}"),
            Err(VarError::Control("NL".into(), Source::Environment))
        );
        assert!(v.expand("${NOPE:-a\rb}").is_err());
        let e = VarError::Undefined("RCPT".into());
        assert!(e.to_string().contains("${RCPT}"));
        assert!(e.hint().unwrap_or_default().contains("--var RCPT=VALUE"));
    }

    #[test]
    fn assignments() {
        assert_eq!(
            parse_assignment("RCPT=bob@example.org"),
            Ok(("RCPT".into(), "bob@example.org".into()))
        );
        assert_eq!(parse_assignment("X=a=b"), Ok(("X".into(), "a=b".into())));
        assert_eq!(parse_assignment("X="), Ok(("X".into(), String::new())));
        assert!(parse_assignment("X").is_err());
        assert!(parse_assignment("1X=a").is_err());
        assert!(parse_assignment("X=a\nb").is_err());
        assert!(is_name("_a1") && !is_name("a-b") && !is_name("é"));
    }
}
