//! The options of `inbox`: read, and their combination checked, before
//! anything is touched.

use crate::local::expand_tilde;
use crate::shell::args::Args;
use crate::shell::failure::Failure;
use std::path::PathBuf;
use std::time::Duration;

/// How long `--wait` waits without `--timeout`, in seconds.
pub(super) const DEFAULT_TIMEOUT: f64 = 30.0;

/// What `inbox` was asked, its options read and their combination checked.
#[derive(Debug, Default)]
pub(super) struct Request {
    /// `--maildir DIR`.
    pub(super) maildir: Option<PathBuf>,
    /// The message number.
    pub(super) number: Option<usize>,
    /// `--json`.
    pub(super) json: bool,
    /// `--raw`.
    pub(super) raw: bool,
    /// `--full`: whole SHA-256 digests in the tree.
    pub(super) full: bool,
    /// `--save-attachments DIR`.
    pub(super) save: Option<String>,
    /// Every `--check-attachment FILE`.
    pub(super) checks: Vec<String>,
    /// `--clear`.
    pub(super) clear: bool,
    /// `--wait N`.
    pub(super) wait: Option<usize>,
    /// `--timeout S`, in seconds.
    pub(super) timeout: Option<f64>,
}

/// A wrong combination of options: what is wrong, and an example.
fn misuse(what: &str, example: &str) -> Failure {
    let usage = crate::shell::commands::find("inbox").map_or("", |c| c.usage);
    Failure::local(what.to_string()).hint(format!("usage: {usage}\ne.g. {example}"))
}

impl Request {
    /// Reads and checks the options of `a`.
    pub(super) fn read(a: &Args) -> Result<Request, Failure> {
        let once = |name: &str| -> Result<Option<String>, Failure> {
            let mut values = a.opts.iter().filter(|(n, _)| n == name);
            let first = values.next().and_then(|(_, v)| v.clone());
            if values.next().is_some() {
                return Err(misuse(
                    &format!("{name} is given more than once"),
                    "inbox 1 --maildir /tmp/mail --save-attachments /tmp/saved",
                ));
            }
            Ok(first)
        };
        let mut r = Request {
            maildir: once("--maildir")?.map(|d| expand_tilde(&d)),
            json: a.flag("--json"),
            raw: a.flag("--raw"),
            full: a.flag("--full"),
            save: once("--save-attachments")?,
            checks: a
                .opts
                .iter()
                .filter(|(n, _)| n == "--check-attachment")
                .filter_map(|(_, v)| v.clone())
                .collect(),
            clear: a.flag("--clear"),
            ..Request::default()
        };
        if let Some(w) = once("--wait")? {
            r.wait = Some(w.parse::<usize>().map_err(|_| {
                misuse(
                    &format!("--wait takes a number of messages, not '{w}'"),
                    "inbox --wait 1 --timeout 10",
                )
            })?);
        }
        if let Some(t) = once("--timeout")? {
            let secs = t
                .strip_suffix('s')
                .unwrap_or(&t)
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0 && Duration::try_from_secs_f64(*x).is_ok());
            r.timeout = Some(secs.ok_or_else(|| {
                misuse(
                    &format!("--timeout takes seconds (more than 0), not '{t}'"),
                    "inbox --wait 1 --timeout 2.5",
                )
            })?);
        }
        if let Some(word) = a.words.first() {
            r.number = Some(
                word.parse::<usize>()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        Failure::local(format!("'{word}' is not a message number"))
                            .hint("messages are numbered from 1; `inbox` lists them")
                    })?,
            );
        }
        r.check()?;
        Ok(r)
    }

    /// Refuses the combinations that mean nothing.
    fn check(&self) -> Result<(), Failure> {
        let per_message = self.raw || self.save.is_some() || !self.checks.is_empty();
        if self.clear && (self.number.is_some() || per_message || self.json || self.wait.is_some())
        {
            return Err(misuse(
                "--clear empties the whole inbox: it takes no message number and no option but --maildir",
                "inbox --clear --maildir /tmp/mail",
            ));
        }
        if self.timeout.is_some() && self.wait.is_none() {
            return Err(misuse(
                "--timeout goes with --wait",
                "inbox --wait 1 --timeout 10",
            ));
        }
        if self.wait.is_some() && (self.number.is_some() || per_message) {
            return Err(misuse(
                "--wait N waits for N messages, then lists them: it takes no message number",
                "inbox --wait 1 --timeout 10, then inbox 1 --check-attachment report.pdf",
            ));
        }
        if self.full && self.number.is_none() {
            return Err(misuse(
                "--full shows message N's digests whole: it needs a message number",
                "inbox 1 --full",
            ));
        }
        if self.number.is_none() && per_message {
            return Err(misuse(
                "--raw, --save-attachments and --check-attachment need a message number",
                "inbox 1 --check-attachment report.pdf",
            ));
        }
        if self.json && per_message {
            return Err(misuse(
                "--json prints only JSON: it goes without --raw, --save-attachments and --check-attachment",
                "inbox 1 --json",
            ));
        }
        if self.raw && !self.checks.is_empty() {
            return Err(misuse(
                "--check-attachment goes without --raw",
                "inbox 1 --check-attachment report.pdf",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::args::parse_line;

    fn read(line: &str) -> Result<Request, Failure> {
        let (_, a) = parse_line(line)?;
        Request::read(&a)
    }

    #[test]
    fn options_are_read() {
        let r = read("inbox 2 --maildir /m --check-attachment a --check-attachment b").expect("ok");
        assert_eq!(r.number, Some(2));
        assert_eq!(r.maildir, Some(PathBuf::from("/m")));
        assert_eq!(r.checks, ["a", "b"]);
        let r = read("inbox --wait 3 --timeout 1.5s --json").expect("ok");
        assert_eq!((r.wait, r.timeout, r.json), (Some(3), Some(1.5), true));
        let r = read("inbox 1 --raw --save-attachments d").expect("ok");
        assert!(r.raw && r.save.as_deref() == Some("d"));
        assert!(read("inbox 1 --check-attachment f --save-attachments d").is_ok());
        assert!(read("inbox --clear --maildir /m").expect("ok").clear);
    }

    #[test]
    fn combinations_that_mean_nothing_are_refused_with_an_example() {
        for (line, says) in [
            ("inbox 1 --clear", "--clear empties the whole inbox"),
            ("inbox --clear --json", "--clear empties the whole inbox"),
            ("inbox --check-attachment f", "need a message number"),
            ("inbox --raw", "need a message number"),
            ("inbox --timeout 3", "--timeout goes with --wait"),
            ("inbox 1 --wait 1", "takes no message number"),
            ("inbox 1 --json --raw", "--json prints only JSON"),
            (
                "inbox 1 --json --check-attachment f",
                "--json prints only JSON",
            ),
            ("inbox 1 --raw --check-attachment f", "goes without --raw"),
            ("inbox --wait many", "--wait takes a number"),
            ("inbox --wait 1 --timeout 0", "--timeout takes seconds"),
            ("inbox --wait 1 --timeout nan", "--timeout takes seconds"),
            ("inbox --wait 1 --timeout 1e300", "--timeout takes seconds"),
            ("inbox --maildir a --maildir b", "given more than once"),
            ("inbox 0", "not a message number"),
            ("inbox --full", "needs a message number"),
        ] {
            let f = read(line).expect_err(line);
            assert!(f.message.contains(says), "{line}: {}", f.message);
            assert!(f.hint.is_some(), "{line}");
        }
    }
}
