//! A netrc file (`~/.netrc`, `$NETRC`): `machine HOST login USER password
//! PW` entries and a `default` one, read for a password when nothing else
//! gives one (see `docs/profiles.md`).
//!
//! The format as ftp(1), curl and Python's `netrc` read it: tokens
//! separated by spaces, tabs and line breaks; a token may be double-quoted
//! (`"with space"`, `\"` and `\\` inside); `#` at the start of a token
//! comments out the rest of its line; `macdef NAME` defines a macro that
//! runs to the next empty line and is skipped; `account` is read and
//! ignored. Anything else is an error naming the line. The parser works on
//! text and indexes nothing by hand; `fuzz/fuzz_targets/netrc.rs` runs it
//! on arbitrary input.
//!
//! Not a crate: those on crates.io are young, pull in a parser framework
//! and a TOML writer, and none keeps the passwords in memory that is wiped;
//! here each password is a [`Secret`].

use crate::smtp::sasl::Secret;

/// One `machine` (or the `default`) entry.
#[derive(Debug)]
pub struct Entry {
    /// The host name, or `None` for `default`.
    pub machine: Option<String>,
    /// `login`, if given.
    pub login: Option<String>,
    /// `password`, if given.
    pub password: Option<Secret>,
}

/// What was wrong with the file, and on which line (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetrcError {
    /// The line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for NetrcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The tokens of `text`, each with its line, comments and quotes done.
struct Tokens<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        Tokens {
            chars: text.chars().peekable(),
            line: 1,
        }
    }

    /// The next token and its line, `Ok(None)` at the end.
    fn next_token(&mut self) -> Result<Option<(String, usize)>, NetrcError> {
        loop {
            match self.chars.peek() {
                None => return Ok(None),
                Some('\n') => {
                    self.line += 1;
                    self.chars.next();
                }
                Some(c) if c.is_whitespace() => {
                    self.chars.next();
                }
                Some('#') => {
                    while self.chars.peek().is_some_and(|&c| c != '\n') {
                        self.chars.next();
                    }
                }
                Some(_) => break,
            }
        }
        let line = self.line;
        let mut token = String::new();
        if self.chars.peek() == Some(&'"') {
            self.chars.next();
            loop {
                match self.chars.next() {
                    None => {
                        return Err(NetrcError {
                            line,
                            message: "a quoted token is not closed (a `\"` is missing)".into(),
                        });
                    }
                    Some('"') => break,
                    Some('\\') => match self.chars.next() {
                        // A token never holds a line break, escaped or not
                        // (found by fuzzing: it could not be written back).
                        Some('\n') => {
                            return Err(NetrcError {
                                line,
                                message: "a quoted token runs past the end of its line".into(),
                            });
                        }
                        Some(c) => token.push(c),
                        None => {
                            return Err(NetrcError {
                                line,
                                message: "the file ends after a `\\`".into(),
                            });
                        }
                    },
                    Some('\n') => {
                        return Err(NetrcError {
                            line,
                            message: "a quoted token runs past the end of its line".into(),
                        });
                    }
                    Some(c) => token.push(c),
                }
            }
        } else {
            while let Some(&c) = self.chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                token.push(c);
                self.chars.next();
            }
        }
        Ok(Some((token, line)))
    }

    /// Skips a macro's body: everything up to the next empty line.
    fn skip_macro(&mut self) {
        let mut previous_newline = false;
        // The rest of the `macdef NAME` line first.
        for c in self.chars.by_ref() {
            if c == '\n' {
                self.line += 1;
                if previous_newline {
                    return;
                }
                previous_newline = true;
            } else {
                previous_newline = false;
            }
        }
    }
}

/// Reads netrc text into its entries, in order.
pub fn parse(text: &str) -> Result<Vec<Entry>, NetrcError> {
    let mut tokens = Tokens::new(text);
    let mut entries: Vec<Entry> = Vec::new();
    while let Some((word, line)) = tokens.next_token()? {
        let value = |tokens: &mut Tokens, what: &str| -> Result<String, NetrcError> {
            match tokens.next_token()? {
                Some((v, _)) => Ok(v),
                None => Err(NetrcError {
                    line,
                    message: format!("`{what}` has no value"),
                }),
            }
        };
        match word.as_str() {
            "machine" => {
                let host = value(&mut tokens, "machine")?;
                entries.push(Entry {
                    machine: Some(host),
                    login: None,
                    password: None,
                });
            }
            "default" => entries.push(Entry {
                machine: None,
                login: None,
                password: None,
            }),
            "login" | "password" | "account" => {
                let v = value(&mut tokens, &word)?;
                let Some(entry) = entries.last_mut() else {
                    return Err(NetrcError {
                        line,
                        message: format!("`{word}` comes before any `machine` or `default`"),
                    });
                };
                match word.as_str() {
                    "login" => entry.login = Some(v),
                    "password" => entry.password = Some(Secret::new(v)),
                    _ => {}
                }
            }
            "macdef" => {
                value(&mut tokens, "macdef")?;
                tokens.skip_macro();
            }
            // The word itself is not shown: it may be a password whose
            // keyword is misspelt.
            _ => {
                return Err(NetrcError {
                    line,
                    message: "a word that is no keyword where one is due (expected machine, \
                              default, login, password, account or macdef)"
                        .into(),
                });
            }
        }
    }
    Ok(entries)
}

/// The entry for `host` (case-insensitive) and `user`: the first `machine`
/// entry for the host whose login is `user` (or, with no user asked for,
/// the first for the host); else the `default` entry on the same terms.
/// An entry without a login matches any user.
pub fn find<'a>(entries: &'a [Entry], host: &str, user: Option<&str>) -> Option<&'a Entry> {
    let login_fits = |e: &&Entry| match (user, e.login.as_deref()) {
        (Some(u), Some(l)) => u == l,
        _ => true,
    };
    entries
        .iter()
        .filter(|e| {
            e.machine
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(host))
        })
        .find(login_fits)
        .or_else(|| {
            entries
                .iter()
                .filter(|e| e.machine.is_none())
                .find(login_fits)
        })
}
