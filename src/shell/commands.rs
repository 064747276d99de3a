//! The command table: the one place that names every command, its usage,
//! help text, options and completion. Dispatch, `help`, Tab completion,
//! hints and did-you-mean all read this table, so they cannot drift apart.

use super::exec;
use super::exec::Handler;

/// What Tab completes for a command's arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Complete {
    /// Nothing specific.
    Nothing,
    /// File system paths.
    Paths,
    /// Command names (for `help`).
    Commands,
    /// Setting names, then their values (for `set`).
    Settings,
    /// SMTP verbs and the extensions the server announced (for `raw`).
    Verbs,
    /// The AUTH mechanisms the server announced (for `auth`).
    Mechanisms,
}

/// How the text after the command name is handed to the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgStyle {
    /// Shell-style words (quotes group, backslash escapes).
    Words,
    /// The rest of the line as typed (a single fully quoted string is
    /// unquoted); for free text like a subject or a raw SMTP line.
    Rest,
}

/// One command of the shell.
#[derive(Debug)]
pub struct Spec {
    /// The name typed (lower case; matched case-insensitively).
    pub name: &'static str,
    /// Other names.
    pub aliases: &'static [&'static str],
    /// The usage line, e.g. `attach PATH... [--type TYPE/SUBTYPE] [--name NAME]`.
    pub usage: &'static str,
    /// One line for the `help` overview.
    pub summary: &'static str,
    /// Longer help for `help COMMAND`: what it does and what it sends.
    pub help: &'static str,
    /// Options: a flag (`--keep-open`) or an option and its value's name
    /// (`--type TYPE/SUBTYPE`).
    pub options: &'static [&'static str],
    /// What Tab completes for arguments.
    pub complete: Complete,
    /// How arguments are split.
    pub args: ArgStyle,
    /// Fewest and most plain (non-option) words; checked before the handler runs.
    pub arity: (usize, usize),
    /// The code that runs it.
    pub run: Handler,
}

const MANY: usize = usize::MAX;

/// Every command, in the order `help` lists them.
pub static COMMANDS: &[Spec] = &[
    Spec {
        name: "connect",
        aliases: &["open"],
        usage: "connect HOST [PORT] [--tls|--starttls] | connect --mx [DOMAIN] [PORT] | connect sandbox",
        summary: "open a connection and show the server's greeting",
        help: "Connects to HOST on PORT (default 25) and shows the 220 greeting.\n\
               HOST may be a name, an IPv4 address, an IPv6 address (`::1`), or HOST:PORT / [IPv6]:PORT.\n\
               --tls       implicit TLS: TLS from the first byte (RFC 8314); port 465 implies it\n\
               --starttls  plaintext greeting, then EHLO and STARTTLS at once (ports 25 and 587);\n\
               \u{20}           if STARTTLS is missing or fails, QUIT and close\n\
               --mx [DOMAIN]  find DOMAIN's mail servers in DNS (MX records by preference, else the\n\
               \u{20}           domain's own A/AAAA; RFC 5321 §5.1) and try each in turn; without DOMAIN,\n\
               \u{20}           the domain of the draft's first recipient. `set resolver ADDR` picks the DNS server.\n\
               With `set require-tls on` (or --require-tls) every connect upgrades or stops.\n\
               `connect sandbox` starts smtpsh's own SMTP server on a free loopback port (or reuses\n\
               the one already running in this shell) and connects to it; `inbox` shows what it received.\n\
               Already connected: the old connection is closed with QUIT first.\n\
               Example: connect 127.0.0.1 2525   connect --starttls smtp.example.org 587",
        options: &["--tls", "--starttls", "--mx"],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 2),
        run: exec::connect,
    },
    Spec {
        name: "ehlo",
        aliases: &[],
        usage: "ehlo [DOMAIN]",
        summary: "greet the server with EHLO and learn its extensions",
        help: "Sends EHLO DOMAIN (default: this host's name, or its address literal such as [127.0.0.1]).\n\
               The extensions in the reply are kept; `status` lists them and Tab offers them.\n\
               Example: ehlo client.example.org",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 1),
        run: exec::ehlo,
    },
    Spec {
        name: "helo",
        aliases: &[],
        usage: "helo [DOMAIN]",
        summary: "greet the server with plain HELO (no extensions)",
        help: "Sends HELO DOMAIN, the pre-ESMTP greeting. The server announces no extensions.\n\
               Example: helo client.example.org",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 1),
        run: exec::helo,
    },
    Spec {
        name: "starttls",
        aliases: &[],
        usage: "starttls",
        summary: "encrypt the connection (STARTTLS, then EHLO again)",
        help: "Sends STARTTLS (EHLO first if needed); after 220 runs the TLS handshake, checking the\n\
               certificate against the system's roots (or --cafile) and the host name, then greets\n\
               again with EHLO and shows what the server announces differently (e.g. +AUTH PLAIN LOGIN).\n\
               Bytes the server sent after its 220 are discarded, never read as a reply.\n\
               A failed handshake closes the connection: nothing more is sent.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: super::secure::starttls,
    },
    Spec {
        name: "auth",
        aliases: &[],
        usage: "auth [MECHANISM] [USER] [--password-env VAR] [--allow-plaintext-auth]",
        summary: "log in (AUTH PLAIN, LOGIN, CRAM-MD5, XOAUTH2)",
        help: "Authenticates as USER with MECHANISM (default: the strongest the server offers,\n\
               CRAM-MD5, then PLAIN, then LOGIN; XOAUTH2 only when named). The password (or OAuth\n\
               token) is typed with echo off; in scripts it comes from --password-env VAR, never\n\
               from the script. The transcript shows AUTH PLAIN ****, and challenges decoded.\n\
               Refused without TLS unless --allow-plaintext-auth (a server on this machine is allowed).\n\
               Example: auth PLAIN alice@example.org --password-env SMTP_PASSWORD",
        options: &["--password-env VAR", "--allow-plaintext-auth"],
        complete: Complete::Mechanisms,
        args: ArgStyle::Words,
        arity: (0, 2),
        run: super::secure::auth,
    },
    Spec {
        name: "from",
        aliases: &["mail"],
        usage: "from ADDRESS",
        summary: "set the sender (sends MAIL FROM when connected)",
        help: "Sets the envelope sender and the From header (unless `header From ...` set it).\n\
               Connected, it sends MAIL FROM:<ADDRESS> at once; otherwise `send` will.\n\
               ADDRESS: alice@example.com, <alice@example.com>, \"Alice Example <alice@example.com>\", or <> (null sender).\n\
               The classic form works too: MAIL FROM:<alice@example.com>\n\
               Example: from \"Alice <alice@example.com>\"",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Rest,
        arity: (1, MANY),
        run: exec::from,
    },
    Spec {
        name: "to",
        aliases: &["rcpt"],
        usage: "to ADDRESS...",
        summary: "add To recipients (sends RCPT TO when connected)",
        help: "Adds recipients to the envelope and the To header.\n\
               Connected, it sends RCPT TO:<ADDRESS> for each at once; otherwise `send` will.\n\
               The classic form works too: RCPT TO:<bob@example.com>\n\
               Example: to bob@example.com \"Carol <carol@example.com>\"",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (1, MANY),
        run: exec::to,
    },
    Spec {
        name: "cc",
        aliases: &[],
        usage: "cc ADDRESS...",
        summary: "add Cc recipients (sends RCPT TO when connected)",
        help: "Adds recipients to the envelope and the Cc header; like `to` otherwise.\n\
               Example: cc carol@example.com",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (1, MANY),
        run: exec::cc,
    },
    Spec {
        name: "bcc",
        aliases: &[],
        usage: "bcc ADDRESS...",
        summary: "add hidden recipients (envelope only, never in a header)",
        help: "Adds recipients to the envelope only: no header ever names them.\n\
               Connected, it sends RCPT TO at once; otherwise `send` will.\n\
               Example: bcc audit@example.com",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (1, MANY),
        run: exec::bcc,
    },
    Spec {
        name: "subject",
        aliases: &[],
        usage: "subject TEXT",
        summary: "set the Subject header",
        help: "Sets the subject: the rest of the line (non-ASCII is encoded per RFC 2047).\n\
               Example: subject Quarterly report ✓",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Rest,
        arity: (1, MANY),
        run: exec::subject,
    },
    Spec {
        name: "body",
        aliases: &[],
        usage: "body TEXT | body | body --file PATH",
        summary: "set the message text",
        help: "body TEXT       the text is the rest of the line\n\
               body            then type lines; a line with only `.` ends the text\n\
               body --file PATH  read the text from a UTF-8 file\n\
               Line endings become CRLF; non-ASCII or long lines are sent quoted-printable.",
        options: &["--file PATH"],
        complete: Complete::Paths,
        args: ArgStyle::Rest,
        arity: (0, MANY),
        run: exec::body,
    },
    Spec {
        name: "attach",
        aliases: &[],
        usage: "attach PATH... [--type TYPE/SUBTYPE] [--name NAME]",
        summary: "attach files (base64, streamed from disk at send)",
        help: "Attaches files. The type is guessed from the name unless --type is given;\n\
               --name changes the file name the recipient sees (one PATH only).\n\
               The file is read when the message is sent, in chunks: any size works.\n\
               Example: attach report.pdf photo.png",
        options: &["--type TYPE/SUBTYPE", "--name NAME"],
        complete: Complete::Paths,
        args: ArgStyle::Words,
        arity: (1, MANY),
        run: exec::attach,
    },
    Spec {
        name: "detach",
        aliases: &[],
        usage: "detach N",
        summary: "remove attachment number N (see `show`)",
        help: "Removes attachment N (numbered from 1 as `status` and `show` list them).",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (1, 1),
        run: exec::detach,
    },
    Spec {
        name: "header",
        aliases: &[],
        usage: "header NAME [VALUE]",
        summary: "add a header (no VALUE: remove headers named NAME)",
        help: "Adds the header NAME: VALUE. A From, To, Cc, Subject, Date or Message-ID header\n\
               replaces the generated one. Without VALUE, removes the headers you added named NAME.\n\
               Example: header Reply-To help@example.com",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Rest,
        arity: (1, MANY),
        run: exec::header,
    },
    Spec {
        name: "new",
        aliases: &[],
        usage: "new",
        summary: "start an empty draft",
        help: "Forgets the draft: sender, recipients, subject, body, headers, attachments.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::new_draft,
    },
    Spec {
        name: "show",
        aliases: &["preview"],
        usage: "show",
        summary: "preview the message as it will be sent",
        help: "Prints the assembled message (attachment bodies shortened) and a summary of its parts and size.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::show,
    },
    Spec {
        name: "save",
        aliases: &[],
        usage: "save PATH",
        summary: "write the message to an .eml file",
        help: "Writes exactly the bytes `send` transmits (before dot-stuffing) to PATH.\n\
               Example: save /tmp/message.eml",
        options: &[],
        complete: Complete::Paths,
        args: ArgStyle::Words,
        arity: (1, 1),
        run: exec::save,
    },
    Spec {
        name: "send",
        aliases: &[],
        usage: "send [--keep-open]",
        summary: "deliver the draft: DATA, the message, `.`, then QUIT",
        help: "Completes what the transaction lacks (EHLO, or HELO if EHLO is refused; MAIL FROM;\n\
               RCPT TO for each recipient not yet accepted), then DATA, the message, `.`, and QUIT:\n\
               one message per connection. --keep-open skips the QUIT.\n\
               Rejected recipients are reported and skipped; with none accepted, DATA is not sent.\n\
               With PIPELINING, MAIL, the RCPTs and DATA go out in one write. SIZE= is given when\n\
               the server offers SIZE, and a message over its limit is refused before MAIL/DATA.\n\
               `set transfer bdat` sends the content as one BDAT chunk (CHUNKING) instead of DATA.\n\
               A progress bar shows on a terminal for uploads over a second; a line with the\n\
               bytes on the wire, time and rate follows the reply.\n\
               The draft is kept: `connect` + `send` sends it again; `new` empties it.",
        options: &["--keep-open"],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::send,
    },
    Spec {
        name: "data",
        aliases: &[],
        usage: "data",
        summary: "send DATA, then type the message; a lone `.` ends it",
        help: "The classic hand-typed message: sends DATA; after 354 each line you type is\n\
               message content (dot-stuffed for you) until a line with only `.`.\n\
               The draft is not used; see `send` for that.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::data,
    },
    Spec {
        name: "rset",
        aliases: &[],
        usage: "rset",
        summary: "abort the mail transaction (RSET)",
        help: "Sends RSET: the server forgets MAIL and RCPT; the draft stays.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::rset,
    },
    Spec {
        name: "noop",
        aliases: &[],
        usage: "noop",
        summary: "send NOOP (is the server still there?)",
        help: "Sends NOOP; a 250 reply shows the connection is alive.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::noop,
    },
    Spec {
        name: "vrfy",
        aliases: &[],
        usage: "vrfy ARG",
        summary: "ask the server to verify a user or mailbox (VRFY)",
        help: "Sends VRFY ARG. Many servers answer 252 (cannot verify) on purpose.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Rest,
        arity: (1, MANY),
        run: exec::vrfy,
    },
    Spec {
        name: "expn",
        aliases: &[],
        usage: "expn ARG",
        summary: "ask the server to expand a mailing list (EXPN)",
        help: "Sends EXPN ARG. Most servers refuse it (502).",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Rest,
        arity: (1, MANY),
        run: exec::expn,
    },
    Spec {
        name: "raw",
        aliases: &[],
        usage: "raw LINE",
        summary: "send one line exactly as typed and show the reply",
        help: "Sends LINE as typed (CR, LF and NUL are refused) and shows the reply.\n\
               After `raw DATA` is answered 354, type the message; a lone `.` ends it.\n\
               Example: raw MAIL FROM:<a@example.com> BODY=8BITMIME",
        options: &[],
        complete: Complete::Verbs,
        args: ArgStyle::Rest,
        arity: (1, MANY),
        run: exec::raw,
    },
    Spec {
        name: "quit",
        aliases: &[],
        usage: "quit",
        summary: "send QUIT and close the connection (the shell stays)",
        help: "Sends QUIT, shows the 221, and closes the connection. Use `exit` to leave the shell.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::quit,
    },
    Spec {
        name: "status",
        aliases: &[],
        usage: "status",
        summary: "show connection, capabilities, envelope and draft",
        help: "Shows the connection, the server's name and extensions, the envelope\n\
               (accepted and rejected recipients) and the draft.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::status,
    },
    Spec {
        name: "inbox",
        aliases: &[],
        usage: "inbox [N] [--raw] [--save-attachments DIR]",
        summary: "list the sandbox's messages, or show message N as a MIME tree",
        help: "inbox       lists the messages the sandbox stored (number, time, from, to, subject, size)\n\
               inbox N     shows message N: headers, then its MIME parts as a tree — type, encoding,\n\
               size, file name, SHA-256 of the decoded content (compare with `sha256sum FILE`)\n\
               inbox N --raw                    prints the stored bytes\n\
               inbox N --save-attachments DIR   writes the decoded attachments into DIR (never overwrites)\n\
               The messages are files in the sandbox's Maildir ($SMTPSH_SANDBOX_DIR/Maildir, else\n\
               $XDG_DATA_HOME/smtpsh/sandbox/Maildir), so `inbox` works without a running sandbox.\n\
               Example: inbox 1 --save-attachments /tmp/received",
        options: &["--raw", "--save-attachments DIR"],
        complete: Complete::Paths,
        args: ArgStyle::Words,
        arity: (0, 1),
        run: super::inbox::inbox,
    },
    Spec {
        name: "expect",
        aliases: &[],
        usage: "expect CODE...",
        summary: "fail unless the last reply matches (250, 2xx, 55x)",
        help: "Checks the last server reply: passes if its code matches any CODE (digits or x).\n\
               In a script a failed expect stops the script (exit status 5).\n\
               A command directly followed by `expect` is judged by the expect, not by its reply.\n\
               Example: to nobody@example.com  then  expect 5xx",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (1, MANY),
        run: exec::expect,
    },
    Spec {
        name: "source",
        aliases: &[],
        usage: "source FILE",
        summary: "run the commands in FILE",
        help: "Runs FILE as a script (see docs/scripting.md); it stops at the first failure.",
        options: &[],
        complete: Complete::Paths,
        args: ArgStyle::Words,
        arity: (1, 1),
        run: exec::source,
    },
    Spec {
        name: "record",
        aliases: &[],
        usage: "record FILE | record stop",
        summary: "write the commands you type from now on to FILE",
        help: "Records each command (and message lines) typed from now on to FILE as a script\n\
               that `smtpsh -f FILE` replays. Secrets are never written. `record stop` ends it.",
        options: &[],
        complete: Complete::Paths,
        args: ArgStyle::Words,
        arity: (1, 1),
        run: exec::record,
    },
    Spec {
        name: "set",
        aliases: &[],
        usage: "set [NAME [VALUE]]",
        summary: "show or change a setting (timeout, color, verbose, require-tls, transfer, resolver)",
        help: "set                  list the settings\n\
               set timeout SECONDS  wait this long for the server, in every phase\n\
               set timeout default  wait per phase as RFC 5321 says (the default):\n\
               greeting, MAIL, RCPT 5 min; DATA 2 min; each data block 3 min;\n\
               end of message 10 min; other commands 5 min; connecting 30 s\n\
               set color auto|always|never\n\
               set verbose on|off   show protocol notices (e.g. bare LF from the server)\n\
               set require-tls on|off  never send MAIL, RCPT, DATA or AUTH without TLS\n\
               set transfer auto|data|bdat  how `send` sends the content: DATA (auto,\n\
               the default) or one BDAT chunk (CHUNKING, RFC 3030)\n\
               set resolver ADDR|system  the DNS server `connect --mx` asks (e.g. 127.0.0.1:5353)",
        options: &[],
        complete: Complete::Settings,
        args: ArgStyle::Words,
        arity: (0, 2),
        run: exec::set,
    },
    Spec {
        name: "history",
        aliases: &[],
        usage: "history",
        summary: "list the commands typed before (Ctrl-R searches them)",
        help: "Lists the history, oldest first. It is kept across runs (see `smtpsh --help`).",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::history,
    },
    Spec {
        name: "help",
        aliases: &["?"],
        usage: "help [COMMAND]",
        summary: "list commands, or explain one",
        help: "Without an argument, lists every command; with one, shows its usage and help.",
        options: &[],
        complete: Complete::Commands,
        args: ArgStyle::Words,
        arity: (0, 1),
        run: exec::help,
    },
    Spec {
        name: "clear",
        aliases: &[],
        usage: "clear",
        summary: "clear the screen (Ctrl-L does it too)",
        help: "Clears the terminal screen; the session is unchanged.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::clear,
    },
    Spec {
        name: "exit",
        aliases: &[],
        usage: "exit",
        summary: "leave the shell (QUIT first if connected)",
        help: "Leaves smtpsh, sending QUIT first if connected. Ctrl-D does the same.\n\
               With an unsent draft it warns once; `exit` again leaves.",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        run: exec::exit,
    },
];

/// Finds a command by name or alias, case-insensitively.
pub fn find(name: &str) -> Option<&'static Spec> {
    COMMANDS.iter().find(|c| {
        c.name.eq_ignore_ascii_case(name) || c.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Names (not aliases) starting with `prefix`, for completion.
pub fn names_starting_with(prefix: &str) -> Vec<&'static str> {
    let p = prefix.to_ascii_lowercase();
    COMMANDS
        .iter()
        .map(|c| c.name)
        .filter(|n| n.starts_with(&p))
        .collect()
}

/// The closest command names to a mistyped `word` (edit distance ≤ 2, or
/// a shared prefix of 3), best first.
pub fn suggest(word: &str) -> Vec<&'static str> {
    let w = word.to_ascii_lowercase();
    let mut scored: Vec<(usize, &'static str)> = COMMANDS
        .iter()
        .flat_map(|c| {
            std::iter::once(c.name)
                .chain(c.aliases.iter().copied())
                .map(move |n| (n, c.name))
        })
        .filter_map(|(candidate, name)| {
            let d = edit_distance(&w, candidate);
            // The first three characters (not bytes: `w` may be any text).
            let head: String = w.chars().take(3).collect();
            let prefix = head.chars().count() == 3 && candidate.starts_with(&head);
            (d <= 2 || prefix).then_some((d, name))
        })
        .collect();
    scored.sort();
    // Only the closest: `sned` suggests `send`, not everything two edits away.
    let best = scored.first().map_or(0, |(d, _)| *d);
    let mut out: Vec<&'static str> = Vec::new();
    for (_, name) in scored.into_iter().filter(|(d, _)| *d == best) {
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out.truncate(3);
    out
}

/// Edit distance on chars where swapping two neighbours counts as one
/// edit (optimal string alignment), so `sned` is one step from `send`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in COMMANDS {
            for n in std::iter::once(c.name).chain(c.aliases.iter().copied()) {
                assert!(seen.insert(n), "duplicate command name {n}");
            }
            assert!(
                c.usage.starts_with(c.name),
                "usage of {} must start with its name",
                c.name
            );
            assert!(!c.summary.is_empty() && !c.help.is_empty());
            assert!(c.arity.0 <= c.arity.1);
        }
    }

    #[test]
    fn lookup_is_case_insensitive_and_knows_smtp_verbs() {
        assert_eq!(find("EHLO").map(|c| c.name), Some("ehlo"));
        assert_eq!(find("MAIL").map(|c| c.name), Some("from"));
        assert_eq!(find("rcpt").map(|c| c.name), Some("to"));
        assert_eq!(find("DATA").map(|c| c.name), Some("data"));
        assert!(find("frobnicate").is_none());
    }

    #[test]
    fn suggestions_for_typos() {
        assert_eq!(suggest("conect").first(), Some(&"connect"));
        assert_eq!(suggest("atach").first(), Some(&"attach"));
        assert_eq!(suggest("sned").first(), Some(&"send"));
        assert!(suggest("zzzzzzzz").is_empty());
        // Multi-byte input never splits a character (found by fuzzing).
        assert!(suggest("ˤü").len() <= 3);
        assert!(suggest("sü€nd").len() <= 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn completion_prefixes() {
        assert_eq!(names_starting_with("su"), vec!["subject"]);
        assert!(names_starting_with("s").contains(&"send"));
        assert!(names_starting_with("").len() == COMMANDS.len());
    }
}
