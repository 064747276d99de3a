//! The command table: the one place that names every command, its usage,
//! help text, options, completion, how its arguments are read, whether it
//! is recorded, and the code that runs it. Dispatch, `help`, Tab
//! completion, hints, did-you-mean and the documentation check all read
//! this table, so they cannot drift apart.

use super::args::Args;
use super::cmd::{
    auth, connect, draft, edit, envelope, inbox, info, protocol, script, send, tls, tls_chain,
    xclient,
};
use super::failure::Failure;
use super::input::Input;
use super::session::Session;

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
    /// `sandbox`, the profile names and the options (for `connect`).
    Connect,
    /// The XCLIENT or XFORWARD attribute names the server announced (for
    /// `xclient`, `xforward`: the command's name is the extension's).
    Attributes,
    /// The envelope options whose extension the server announced (for
    /// `from`, `to`, `cc`, `bcc`), and their values.
    Envelope,
    /// `smtp` and `code`, then SMTP verbs (for `help`).
    Help,
    /// First one of these words (`cert show|save`), then paths.
    Subcommands(&'static [&'static str]),
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

/// How a command line reaches a `record` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// As typed.
    Line,
    /// The handler writes it (`auth`: a typed password becomes
    /// `--password-env`).
    Itself,
    /// Never (`record` itself).
    Never,
}

/// The code that runs a command.
#[derive(Clone, Copy)]
pub enum Handler {
    /// Takes its arguments.
    Plain(fn(&mut Session, Args) -> Result<(), Failure>),
    /// Takes its arguments and reads more lines (message text, a user name).
    Reads(fn(&mut Session, &mut dyn Input, Args) -> Result<(), Failure>),
    /// Takes nothing.
    Bare(fn(&mut Session) -> Result<(), Failure>),
}

impl std::fmt::Debug for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handler::Plain(_) => "Plain",
            Handler::Reads(_) => "Reads",
            Handler::Bare(_) => "Bare",
        })
    }
}

/// One command of the shell.
#[derive(Debug)]
pub struct Spec {
    /// The name typed (lower case; matched case-insensitively).
    pub name: &'static str,
    /// Other names (SMTP verbs among them: `MAIL` is `from`).
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
    /// How the line is recorded.
    pub record: Record,
    /// It judges the reply of the command before it (`expect`): the last
    /// reply is not forgotten when it starts.
    pub judges_last_reply: bool,
    /// Stray words may be a secret (`auth PLAIN user PASSWORD`): a line
    /// that does not parse never reaches the history.
    pub secret_words: bool,
    /// Its plain words are file paths (`attach`, `save`, `source`; after
    /// its sub-command for `cert save FILE`): a recording writes them absolute.
    pub path_words: bool,
    /// The code that runs it.
    pub run: Handler,
}

const MANY: usize = usize::MAX;

/// The options of `to`, `cc` and `bcc`: RCPT TO parameters.
const RCPT_OPTIONS: &[&str] = &[
    "--notify WHEN",
    "--orcpt TYPE;ADDR",
    "--param NAME=VALUE",
    "--force",
];

/// A command with no options, no arguments, recorded as typed.
const fn cmd(name: &'static str, usage: &'static str, summary: &'static str, run: Handler) -> Spec {
    Spec {
        name,
        aliases: &[],
        usage,
        summary,
        help: "",
        options: &[],
        complete: Complete::Nothing,
        args: ArgStyle::Words,
        arity: (0, 0),
        record: Record::Line,
        judges_last_reply: false,
        secret_words: false,
        path_words: false,
        run,
    }
}

impl Spec {
    const fn aliases(mut self, aliases: &'static [&'static str]) -> Spec {
        self.aliases = aliases;
        self
    }
    const fn help(mut self, help: &'static str) -> Spec {
        self.help = help;
        self
    }
    const fn options(mut self, options: &'static [&'static str]) -> Spec {
        self.options = options;
        self
    }
    const fn complete(mut self, complete: Complete) -> Spec {
        self.complete = complete;
        self
    }
    /// Free text: the rest of the line, at least `min` characters' worth.
    const fn rest(mut self, min: usize) -> Spec {
        self.args = ArgStyle::Rest;
        self.arity = (min, MANY);
        self
    }
    const fn words(mut self, fewest: usize, most: usize) -> Spec {
        self.arity = (fewest, most);
        self
    }
    const fn record(mut self, record: Record) -> Spec {
        self.record = record;
        self
    }
    const fn judges_last_reply(mut self) -> Spec {
        self.judges_last_reply = true;
        self
    }
    const fn secret_words(mut self) -> Spec {
        self.secret_words = true;
        self
    }
    const fn path_words(mut self) -> Spec {
        self.path_words = true;
        self
    }
}

use Handler::{Bare, Plain, Reads};

/// Every command, in the order `help` lists them. (Not formatted by
/// rustfmt: one row a command reads better as a table.)
#[rustfmt::skip]
pub static COMMANDS: &[Spec] = &[
    cmd("connect", "connect [HOST [PORT] | unix:PATH] [--tls|--starttls] [--lmtp] [-4|-6] [--source ADDR] [--proxy-header v1|v2 [--proxy-from ADDR:PORT --proxy-to ADDR:PORT]] [TLS OPTIONS] | connect NAME | connect @NAME | connect --mx [DOMAIN] [PORT] | connect sandbox", "open a connection and show the server's greeting", Plain(connect::connect))
        .aliases(&["open"]).options(&["--tls", "--starttls", "--mx", "--lmtp", "--ipv4", "--ipv6", "--source ADDR", "--proxy-header VERSION", "--proxy-from ADDR:PORT", "--proxy-to ADDR:PORT", "--cafile FILE", "--insecure", "--cert FILE", "--key FILE", "--servername NAME", "--no-sni", "--tls-min VERSION", "--tls-max VERSION", "--pin sha256:BASE64"]).complete(Complete::Connect).words(0, 2)
        .help("Connects to HOST on PORT (default 25) and shows the 220 greeting.\n\
               HOST may be a name, an IPv4 address, an IPv6 address (`::1`), or HOST:PORT / [IPv6]:PORT.\n\
               Without HOST, connects again to the server of the last connection (same port, TLS, LMTP\n\
               and options). Already connected: the old connection is closed with QUIT first.\n\
               WHERE\n\
               unix:PATH   a UNIX-domain socket instead of HOST PORT (SMTP, or LMTP with --lmtp);\n\
               \u{20}           no TLS over it (a certificate needs a host name)\n\
               --mx [DOMAIN]  find DOMAIN's mail servers in DNS (MX records by preference, else the\n\
               \u{20}           domain's own A/AAAA; RFC 5321 §5.1) and try each in turn; without DOMAIN,\n\
               \u{20}           the domain of the draft's first recipient. `set resolver ADDR` picks the DNS server.\n\
               sandbox     smtpsh's own SMTP server on a free loopback port (started, or the one already\n\
               \u{20}           running in this shell); `inbox` shows what it received\n\
               NAME | @NAME  a profile of the config file (host, port, TLS and its options; `auth` and\n\
               \u{20}           `ehlo` then take its user, mechanism, password source and EHLO name;\n\
               \u{20}           docs/profiles.md); a profile wins over a host spelt the same, @NAME is\n\
               \u{20}           always the profile and NAME PORT always the host; options given override its own\n\
               PROTOCOL\n\
               --tls       implicit TLS: TLS from the first byte (RFC 8314); port 465 implies it\n\
               --starttls  plaintext greeting, then EHLO and STARTTLS at once (ports 25 and 587);\n\
               \u{20}           if STARTTLS is missing or fails, QUIT and close; with `set require-tls on`\n\
               \u{20}           (or --require-tls) every connect upgrades or stops\n\
               --lmtp      speak LMTP (RFC 2033): LHLO instead of EHLO, and after the message one\n\
               \u{20}           reply per accepted recipient, each shown with its recipient\n\
               TLS OPTIONS (also `starttls` options and smtpsh options; kept for `connect` alone)\n\
               --cafile FILE      trust the CA certificates in FILE instead of the system's roots\n\
               --insecure         do not verify the certificate (unsafe; warned)\n\
               --cert FILE        present this client certificate (PEM, chain after it) if asked\n\
               --key FILE         its private key (PEM; default: in the --cert file)\n\
               --servername NAME  check the certificate against NAME and send NAME as SNI\n\
               --no-sni           send no SNI (still check against the host or --servername)\n\
               --tls-min 1.2|1.3, --tls-max 1.2|1.3  limit the TLS versions offered\n\
               --pin sha256:BASE64  the server's public key must have this SHA-256 (repeatable;\n\
               \u{20}                  any matches), whatever the CA; `status` shows a server's pin\n\
               NETWORK OPTIONS\n\
               --ipv4, -4 / --ipv6, -6  try only the host's IPv4 (IPv6) addresses\n\
               --source ADDR  connect from this local address (or ADDR:PORT): a multi-homed host,\n\
               \u{20}           or testing a server's allow-list or SPF from one of your addresses\n\
               --proxy-header v1|v2  send an HAProxy PROXY header first (v1 text, v2 binary), as a load\n\
               \u{20}           balancer does, naming the connection's own addresses, or those of\n\
               \u{20}           `--proxy-from ADDR:PORT --proxy-to ADDR:PORT` (a client to simulate)\n\
               Example: connect 127.0.0.1 2525   connect --starttls smtp.example.org 587   connect work\n\
               Example: connect --tls 192.0.2.25 465 --servername mail.example.org --cert me.pem\n\
               Example: connect --lmtp unix:/var/run/dovecot/lmtp   connect --lmtp 127.0.0.1 24"),
    cmd("ehlo", "ehlo [DOMAIN]", "greet the server with EHLO and learn its extensions", Plain(protocol::ehlo))
        .words(0, 1)
        .help("Sends EHLO DOMAIN (default: the profile's `ehlo`, else this host's name, or its address\n\
               literal such as [127.0.0.1]).\n\
               The extensions in the reply are kept; `status` lists them and Tab offers them.\n\
               `from`, `auth`, `starttls` and `send` say EHLO by themselves when it is missing.\n\
               On an LMTP connection (`connect --lmtp`) it sends LHLO instead, with a note.\n\
               Example: ehlo client.example.org"),
    cmd("lhlo", "lhlo [DOMAIN]", "greet an LMTP server with LHLO (RFC 2033)", Plain(protocol::lhlo))
        .words(0, 1)
        .help("Sends LHLO DOMAIN, the LMTP greeting (RFC 2033): like EHLO, the reply lists the\n\
               server's extensions. Once LHLO is accepted the connection speaks LMTP: after the\n\
               message, one reply per accepted recipient. `connect --lmtp` greets with LHLO by itself.\n\
               Example: connect --lmtp unix:/var/run/dovecot/lmtp, then lhlo client.example.org"),
    cmd("helo", "helo [DOMAIN]", "greet the server with plain HELO (no extensions)", Plain(protocol::helo))
        .words(0, 1)
        .help("Sends HELO DOMAIN, the pre-ESMTP greeting. The server announces no extensions.\n\
               LMTP has no HELO: on an LMTP connection it is refused (use `lhlo`).\n\
               Example: helo client.example.org"),
    cmd("starttls", "starttls [TLS OPTIONS]", "encrypt the connection (STARTTLS, then EHLO again)", Plain(tls::starttls))
        .options(&["--cafile FILE", "--insecure", "--cert FILE", "--key FILE", "--servername NAME", "--no-sni", "--tls-min VERSION", "--tls-max VERSION", "--pin sha256:BASE64"])
        .help("Sends STARTTLS (EHLO first if needed); after 220 runs the TLS handshake, checking the\n\
               certificate against the system's roots (or --cafile) and the host name, then greets\n\
               again with EHLO and shows what the server announces differently (e.g. +AUTH PLAIN LOGIN).\n\
               Bytes the server sent after its 220 are discarded, never read as a reply.\n\
               A failed handshake closes the connection: nothing more is sent.\n\
               TLS OPTIONS are those of `connect` (--cert, --key, --servername, --no-sni, --tls-min,\n\
               --tls-max, --pin, --cafile, --insecure): for this handshake, kept for `connect` alone.\n\
               Example: starttls --cert client.pem --key client.key"),
    cmd("auth", "auth [MECHANISM] [USER] [--password-env VAR] [--allow-plaintext-auth]", "log in (AUTH SCRAM-SHA-256, CRAM-MD5, PLAIN, LOGIN, OAUTHBEARER, XOAUTH2)", Reads(auth::auth))
        .options(&["--password-env VAR", "--allow-plaintext-auth"]).complete(Complete::Mechanisms).words(0, 2).record(Record::Itself).secret_words()
        .help("Authenticates as USER with MECHANISM (default: the strongest the server offers,\n\
               SCRAM-SHA-256, then CRAM-MD5, PLAIN, LOGIN; OAUTHBEARER and XOAUTH2 only when named).\n\
               SCRAM-SHA-256 also checks that the server knows the password (refused if not).\n\
               The password (or OAuth token) is typed with echo off; in scripts it comes from\n\
               --password-env VAR, never from the script. The transcript shows AUTH PLAIN ****,\n\
               challenges decoded, and SCRAM's messages decoded but the proof (p=****).\n\
               Refused without TLS unless --allow-plaintext-auth (a server on this machine is allowed).\n\
               Without --password-env the password comes from the profile (`password_command`), else\n\
               ~/.netrc, else the prompt; the profile also gives USER and MECHANISM (docs/profiles.md).\n\
               Example: auth PLAIN alice@example.org --password-env SMTP_PASSWORD"),
    cmd("from", "from ADDRESS [--ret full|hdrs] [--envid ID] [--requiretls] [--param NAME=VALUE]... [--force]", "set the sender (sends MAIL FROM when connected)", Plain(envelope::from))
        .aliases(&["mail"]).rest(1).options(&["--ret FULL|HDRS", "--envid ID", "--requiretls", "--param NAME=VALUE", "--force"]).complete(Complete::Envelope)
        .help("Sets the envelope sender and the From header (unless `header From ...` set it).\n\
               Connected, it sends MAIL FROM:<ADDRESS> at once (EHLO first if the server was not\n\
               greeted yet); otherwise `send` will.\n\
               ADDRESS: alice@example.com, <alice@example.com>, \"Alice Example <alice@example.com>\", or <> (null sender).\n\
               MAIL FROM parameters (kept with the sender; `send` sends them too):\n\
               --ret full|hdrs  in a delivery notice, the whole message or only its headers (DSN, RFC 3461)\n\
               --envid ID       an identifier returned in every notice (DSN; sent xtext-encoded)\n\
               --requiretls     the message must travel over TLS all the way (RFC 8689; needs TLS)\n\
               --param NAME=VALUE  any other, e.g. MT-PRIORITY=3 (RFC 6710), HOLDFOR=60 (RFC 4865); repeatable\n\
               Each is refused before it is sent when the server did not announce its extension\n\
               (DSN, REQUIRETLS, MT-PRIORITY...); --force sends it anyway. An unknown NAME is sent with a warning.\n\
               The classic form MAIL FROM:<alice@example.com> RET=HDRS is sent exactly as typed.\n\
               Example: from \"Alice <alice@example.com>\" --ret hdrs --envid QQ314159"),
    cmd("to", "to ADDRESS... [--notify never|success,failure,delay] [--orcpt TYPE;ADDR] [--param NAME=VALUE]... [--force]", "add To recipients (sends RCPT TO when connected)", Plain(envelope::to))
        .aliases(&["rcpt"]).words(1, MANY).options(RCPT_OPTIONS).complete(Complete::Envelope)
        .help("Adds recipients to the envelope and the To header.\n\
               Connected, it sends RCPT TO:<ADDRESS> for each at once (MAIL FROM first from the\n\
               draft's sender; without one it says so, sends and adds nothing); otherwise `send` will.\n\
               A recipient the server accepted already is not sent again.\n\
               RCPT TO parameters (kept with each recipient; `send` sends them too):\n\
               --notify never|success,failure,delay  when to send a delivery notice (DSN, RFC 3461)\n\
               --orcpt TYPE;ADDR  the original recipient kept in notices, e.g. rfc822;bob@example.com (one ADDRESS)\n\
               --param NAME=VALUE  any other; repeatable\n\
               Each is refused before it is sent when the server did not announce DSN; --force sends it anyway.\n\
               The classic form RCPT TO:<bob@example.com> NOTIFY=SUCCESS is sent exactly as typed.\n\
               Example: to bob@example.com --notify success,failure --orcpt rfc822;bob@example.com"),
    cmd("cc", "cc ADDRESS... [--notify never|success,failure,delay] [--orcpt TYPE;ADDR] [--param NAME=VALUE]... [--force]", "add Cc recipients (sends RCPT TO when connected)", Plain(envelope::cc))
        .words(1, MANY).options(RCPT_OPTIONS).complete(Complete::Envelope)
        .help("Adds recipients to the envelope and the Cc header; like `to` otherwise (also its options).\n\
               Example: cc carol@example.com"),
    cmd("bcc", "bcc ADDRESS... [--notify never|success,failure,delay] [--orcpt TYPE;ADDR] [--param NAME=VALUE]... [--force]", "add hidden recipients (envelope only, never in a header)", Plain(envelope::bcc))
        .words(1, MANY).options(RCPT_OPTIONS).complete(Complete::Envelope)
        .help("Adds recipients to the envelope only: no header ever names them.\n\
               Connected, it sends RCPT TO at once; otherwise `send` will. The options are `to`'s.\n\
               Example: bcc audit@example.com"),
    cmd("subject", "subject TEXT", "set the Subject header", Plain(draft::subject))
        .rest(1)
        .help("Sets the subject: the rest of the line (non-ASCII is encoded per RFC 2047).\n\
               Example: subject Quarterly report ✓"),
    cmd("body", "body TEXT | body | body --file PATH | body --html [FILE]", "set the message text (--html: its HTML version)", Reads(draft::body))
        .options(&["--file PATH", "--html FILE"]).complete(Complete::Paths).rest(0)
        .help("body TEXT       the text is the rest of the line\n\
               body            then type lines; a line with only `.` ends the text\n\
               body --file PATH  read the text from a UTF-8 file\n\
               body --html FILE  the HTML version from a UTF-8 file; `body --html` alone: type it,\n\
               \u{20}                ending with `.` (nothing typed removes it). The message becomes\n\
               \u{20}                multipart/alternative, the text first; with no text, one is derived\n\
               \u{20}                from the HTML. `attach --inline` adds images it shows with cid:\n\
               Line endings become CRLF; non-ASCII or long lines are sent quoted-printable.\n\
               `edit` (or `edit --html`) changes the text in your editor."),
    cmd("attach", "attach PATH... [--type TYPE/SUBTYPE] [--name NAME] [--inline] [--cid ID]", "attach files (base64, streamed from disk at send; --inline: for the HTML)", Plain(draft::attach))
        .options(&["--type TYPE/SUBTYPE", "--name NAME", "--inline", "--cid ID"]).complete(Complete::Paths).words(1, MANY).path_words()
        .help("Attaches files. The type is guessed from the name unless --type is given;\n\
               --name changes the file name the recipient sees (one PATH only).\n\
               --inline makes an inline part for the HTML (`body --html`), with a Content-ID:\n\
               \u{20}        the HTML shows it as <img src=\"cid:ID\">, ID as printed (and in `status`).\n\
               --cid ID  chooses that Content-ID (one PATH only; implies --inline), e.g. logo@example.org,\n\
               \u{20}        so a script's HTML can name it.\n\
               The file is read when the message is sent, in chunks: any size works.\n\
               Example: attach report.pdf photo.png   attach --inline logo.png"),
    cmd("detach", "detach N", "remove attachment number N (`status` lists them)", Plain(draft::detach))
        .words(1, 1)
        .help("Removes attachment or inline part N (one numbering for both, from 1, in the order\n\
               they were attached, as `status` and `show` list them); those after it move up one."),
    cmd("edit", "edit [--html]", "edit the text (--html: the HTML) in $VISUAL or $EDITOR", Reads(edit::edit))
        .options(&["--html"]).record(Record::Itself)
        .help("Opens the text body (with --html, the HTML version) in $VISUAL, else $EDITOR, else vi,\n\
               in a private temporary file, and reads it back when the editor exits (UTF-8 only).\n\
               An editor that exits with a failure leaves the draft as it was.\n\
               Scripts have no terminal: there `edit` is refused; use `body` or `body --html`.\n\
               A recording writes the result as `body` (or `body --html`) and its lines."),
    cmd("header", "header NAME [VALUE]", "add a header (no VALUE: remove headers named NAME)", Plain(draft::header))
        .rest(1)
        .help("Adds the header NAME: VALUE. A From, To, Cc, Subject, Date or Message-ID header\n\
               replaces the generated one. Without VALUE, removes the headers you added named NAME.\n\
               Example: header Reply-To help@example.com"),
    cmd("new", "new [--again]", "start an empty draft (--again: the message sent last)", Plain(draft::new_draft))
        .options(&["--again"])
        .help("new          forgets the draft: sender, recipients, subject, body, headers, attachments\n\
               new --again  makes the message accepted last the draft again (to send it elsewhere);\n\
               \u{20}            it gets a new Date and Message-ID when sent"),
    cmd("show", "show [--last]", "preview the message as it will be sent (--last: as it was sent)", Plain(draft::show))
        .aliases(&["preview"]).options(&["--last"])
        .help("Prints the assembled message (attachment bodies shortened), its MIME tree (each part's\n\
               type, encoding, size, name, cid:) and its size. Warns about a cid: in the HTML that no\n\
               inline part has, and an inline part the HTML does not show.\n\
               --last shows the message accepted last, as it was sent (its Date and Message-ID)."),
    cmd("save", "save PATH", "write the message to an .eml file", Plain(draft::save))
        .complete(Complete::Paths).words(1, 1).path_words()
        .help("Writes exactly the bytes `send` transmits (before dot-stuffing) to PATH.\n\
               Example: save /tmp/message.eml"),
    cmd("send", "send [--keep-open] [--message PATH [--fix-headers] [--envelope-from-headers]]", "deliver the draft (or a message file): DATA, the message, `.`, then QUIT", Reads(send::send))
        .options(&["--keep-open", "--message PATH", "--fix-headers", "--envelope-from-headers"]).complete(Complete::Paths)
        .help("Completes what the transaction lacks (EHLO, or HELO if EHLO is refused; MAIL FROM;\n\
               RCPT TO for each recipient not yet accepted), then DATA, the message, `.`, and QUIT:\n\
               one message per connection. --keep-open skips the QUIT.\n\
               Rejected recipients are reported and skipped; with none accepted, DATA is not sent.\n\
               With PIPELINING, MAIL, the RCPTs and DATA go out in one write. SIZE= is given when\n\
               the server offers SIZE, and a message over its limit is refused before MAIL/DATA.\n\
               `set transfer bdat` sends the content as one BDAT chunk (CHUNKING) instead of DATA.\n\
               A progress bar shows on a terminal for uploads over a second; a line with the\n\
               bytes on the wire, time and rate follows the reply.\n\
               Once the message is accepted the next one starts clean: recipients, subject, body,\n\
               headers and attachments are cleared, the sender kept. `show --last` shows what was\n\
               sent, `new --again` brings it back. A refused or failed send keeps the draft.\n\
               --message PATH  sends that file as the message instead of the draft (`-`: standard\n\
               \u{20}           input, piped in): its bytes as they are, line endings made CRLF, any size;\n\
               \u{20}           the envelope is the draft's `from` and `to`/`cc`/`bcc`, whose recipients\n\
               \u{20}           are then spent. A dead letter is sent again this way.\n\
               --fix-headers  adds Date and Message-ID when the file lacks them (nothing else changes)\n\
               --envelope-from-headers  the sender from the file's From, the recipients from\n\
               \u{20}           its To, Cc and Bcc; the draft is not used\n\
               Example: send --message ~/mail/bounce.eml --envelope-from-headers"),
    cmd("data", "data [--file PATH [--fix-headers]]", "send DATA, then type the message (a lone `.` ends it) or send a file", Reads(protocol::data))
        .options(&["--file PATH", "--fix-headers"]).complete(Complete::Paths)
        .help("The classic hand-typed message: sends DATA; after 354 each line you type is\n\
               message content (dot-stuffed for you) until a line with only `.`.\n\
               --file PATH  after the 354, sends that file instead (`-`: standard input): as it is,\n\
               \u{20}           line endings made CRLF, dot-stuffed, then the final `.`; in the\n\
               \u{20}           transaction you typed (`from`/`to`, `MAIL FROM:<a>`, `RCPT TO:<b>`)\n\
               --fix-headers  adds Date and Message-ID when the file lacks them\n\
               After `raw DATA`, a first line `data --file PATH` sends the file the same way.\n\
               The draft is not used; see `send` for that.\n\
               Example: data --file message.eml"),
    cmd("rset", "rset", "abort the mail transaction (RSET)", Bare(protocol::rset))
        .help("Sends RSET: the server forgets MAIL and RCPT; the draft stays."),
    cmd("noop", "noop", "send NOOP (is the server still there?)", Bare(protocol::noop))
        .help("Sends NOOP; a 250 reply shows the connection is alive."),
    cmd("vrfy", "vrfy ARG", "ask the server to verify a user or mailbox (VRFY)", Plain(protocol::vrfy))
        .rest(1)
        .help("Sends VRFY ARG. Many servers answer 252 (cannot verify) on purpose."),
    cmd("expn", "expn ARG", "ask the server to expand a mailing list (EXPN)", Plain(protocol::expn))
        .rest(1)
        .help("Sends EXPN ARG. Most servers refuse it (502)."),
    cmd("raw", "raw LINE", "send one line exactly as typed and show the reply", Reads(protocol::raw))
        .complete(Complete::Verbs).rest(1)
        .help("Sends LINE as typed (CR, LF and NUL are refused) and shows the reply.\n\
               It is part of the conversation: an accepted `raw RCPT TO:<x>` counts for `send`.\n\
               After `raw DATA` is answered 354, type the message; a lone `.` ends it (or `data --file PATH`).\n\
               Example: raw MAIL FROM:<a@example.com> BODY=8BITMIME"),
    cmd("xclient", "xclient NAME=VALUE...", "tell the server who the client is (Postfix XCLIENT); a new greeting follows", Plain(xclient::xclient))
        .complete(Complete::Attributes).words(1, MANY)
        .help("Sends XCLIENT NAME=VALUE... (Postfix's XCLIENT_README): the server then treats this\n\
               connection as coming from that client, for access rules and the Received header.\n\
               Attributes: NAME ADDR PORT PROTO HELO LOGIN DESTADDR DESTPORT, as far as the server\n\
               announced them (`250-XCLIENT NAME ADDR ...`); Tab offers those. Values are sent as xtext\n\
               (RFC 3461); [UNAVAILABLE] and [TEMPUNAVAIL] say a value is unknown; an IPv6 ADDR gets\n\
               Postfix's IPV6: prefix. Refused here when the server did not announce XCLIENT (Postfix\n\
               offers it to smtpd_authorized_xclient_hosts) or a transaction is open; `raw XCLIENT ...`\n\
               always goes out.\n\
               The server answers 220: a NEW GREETING. The conversation starts again: EHLO again,\n\
               extensions and AUTH are forgotten (TLS stays); LOGIN=USER makes the session USER's, as if\n\
               authenticated (expect auth USER). The same holds after `raw XCLIENT`.\n\
               Example: xclient ADDR=192.0.2.20 NAME=client.example"),
    cmd("xforward", "xforward NAME=VALUE...", "tell the server who the original client was, for its logs (Postfix XFORWARD)", Plain(xclient::xforward))
        .complete(Complete::Attributes).words(1, MANY)
        .help("Sends XFORWARD NAME=VALUE... (Postfix's XFORWARD_README), as a content filter does\n\
               when it hands mail back: the server logs (and may use) the original client's identity\n\
               for the next message. Attributes: NAME ADDR PORT PROTO HELO IDENT SOURCE, as far as\n\
               the server announced them; Tab offers those. Values are sent as xtext. Only before MAIL;\n\
               the reply is 250 and nothing restarts. Refused here when the server did not announce\n\
               XFORWARD (Postfix: smtpd_authorized_xforward_hosts); `raw XFORWARD ...` goes out anyway.\n\
               Example: xforward NAME=mx.example.net ADDR=203.0.113.5 PROTO=ESMTP"),
    cmd("quit", "quit", "send QUIT and close the connection (the shell stays)", Bare(connect::quit))
        .help("Sends QUIT, shows the 221, and closes the connection. Use `exit` to leave the shell."),
    cmd("hangup", "hangup", "close the connection without QUIT, as a client that crashes would", Bare(connect::hangup))
        .help("Closes the connection at once, without QUIT (inside TLS, after TLS's own close_notify):\n\
               what a server sees when a client crashes, loses its network or gives up. Use it to test\n\
               how the server handles and logs that at any stage (Postfix: \"lost connection after RCPT\").\n\
               The draft stays; `connect` alone connects again.\n\
               Example: to bob@example.com  then  hangup"),
    cmd("status", "status", "show connection, capabilities, envelope and draft", Bare(info::status))
        .help("Shows the connection, the server's name and extensions, TLS (and what the\n\
               certificate was verified against), the envelope (accepted and rejected recipients)\n\
               and the draft."),
    cmd("cert", "cert show | cert save FILE [--force]", "show or save the certificate chain the server sent (PEM)", Plain(tls_chain::cert))
        .options(&["--force"]).complete(Complete::Subcommands(&["show", "save"])).words(1, 2).path_words()
        .help("cert show        prints the chain the server sent in the TLS handshake as PEM, its own\n\
               \u{20}                certificate first (`status` shows each one's subject, issuer, dates, names)\n\
               cert save FILE   writes that PEM to FILE; an existing FILE is refused unless --force\n\
               Example: cert save /tmp/server-chain.pem, then openssl x509 -in /tmp/server-chain.pem -text"),
    cmd("inbox", "inbox [N] [--maildir DIR] [--json] [--full] [--raw] [--save-attachments DIR] [--check-attachment FILE] | inbox --clear | inbox --wait N [--timeout S]", "list the sandbox's messages, show one as a MIME tree, check an attachment, wait, clear", Plain(inbox::inbox))
        .options(&["--maildir DIR", "--json", "--full", "--raw", "--save-attachments DIR", "--check-attachment FILE", "--clear", "--wait N", "--timeout S"]).complete(Complete::Paths).words(0, 1)
        .help("inbox        lists the messages the sandbox stored (number, time, from, to, subject, size)\n\
               inbox N      shows message N: headers, then its MIME parts as a tree — type, encoding,\n\
               \u{20}            size, file name, SHA-256 of the decoded content (its first 12 hex digits)\n\
               inbox N --full                   the same with each SHA-256 whole (compare with `sha256sum FILE`)\n\
               inbox N --raw                    prints the stored bytes\n\
               inbox N --save-attachments DIR   writes the decoded attachments into DIR (never overwrites)\n\
               inbox N --check-attachment FILE  fails unless an attachment's decoded bytes equal FILE's\n\
               inbox --wait N [--timeout S]     waits (30 s by default) for N messages, then lists them\n\
               inbox --clear                    removes every message (and tmp/ files over a minute old)\n\
               --json         the list, or message N in full, as JSON: envelope, headers, parts, SHA-256\n\
               --maildir DIR  reads DIR instead (the Maildir `smtpsh serve` stores into, say)\n\
               A failed --check-attachment or --wait stops a script like a failed `expect` (exit status 5).\n\
               The messages are files in the sandbox's Maildir ($SMTPSH_SANDBOX_DIR/Maildir, else\n\
               $XDG_DATA_HOME/smtpsh/sandbox/Maildir): `inbox` needs no running sandbox, and\n\
               `smtpsh inbox ...` runs it from the command line.\n\
               Example: inbox 1 --save-attachments /tmp/received\n\
               Example: inbox --wait 1 --timeout 10, then inbox 1 --check-attachment report.pdf\n\
               Example: smtpsh inbox --maildir /tmp/mail 1 --json"),
    cmd("expect", "expect CODE... [X.Y.Z...] [/REGEX/] | expect tls | expect ext NAME... | expect auth [USER]", "fail unless the last reply (or the connection) is as expected", Plain(script::expect))
        .rest(1).judges_last_reply()
        .help("Checks the last server reply; in a script a failed expect stops it (exit status 5).\n\
               expect 250, expect 2xx, expect 55x 45x: the code matches any of them (digits or x)\n\
               expect 5.7.1, expect 5.1.x: the enhanced status code (RFC 3463) matches\n\
               expect 250 /queued as (?<queue_id>\\S+)/: the text matches the regular expression\n\
               (/.../i ignores case); each named group becomes a variable, ${queue_id}, for the lines after.\n\
               Codes, enhanced codes and the expression combine: all must match.\n\
               expect tls: the connection is encrypted\n\
               expect ext NAME...: the server announced these extensions (e.g. PIPELINING SIZE)\n\
               expect auth [USER]: authenticated (as USER)\n\
               A command directly followed by a reply expect is judged by it, not by its own reply.\n\
               Example: to nobody@example.com  then  expect 550 5.1.1"),
    cmd("source", "source FILE", "run the commands in FILE", Plain(script::source))
        .complete(Complete::Paths).words(1, 1).path_words()
        .help("Runs FILE as a script (see docs/scripting.md); it stops at the first failure."),
    cmd("record", "record FILE [--append|--force] [--expect] | record stop", "write the commands you type from now on to FILE", Plain(script::record))
        .options(&["--append", "--force", "--expect"]).complete(Complete::Paths).words(1, 1).record(Record::Never)
        .help("Records each command (and message lines) typed from now on to FILE as a script\n\
               that `smtpsh -f FILE` replays from any directory: relative paths are written\n\
               absolute; a command that failed without a reply is written as a comment; one the\n\
               server refused is followed by the `expect` its reply satisfies, so the replay goes on.\n\
               An existing FILE is refused unless --append (add to it) or --force (replace it).\n\
               --expect  after every command that got a reply, write the `expect` it satisfies\n\
               \u{20}         (code and enhanced code, e.g. expect 250 2.1.5): the replay asserts them.\n\
               Secrets are never written. `record stop` ends it."),
    cmd("set", "set [NAME [VALUE]] | set var [NAME [VALUE]]", "show or change a setting (timeout, color, verbose, require-tls, transfer, resolver, log) or a variable", Plain(info::set))
        .complete(Complete::Settings).words(0, MANY)
        .help("`set` lists the settings and their values; `set NAME VALUE` changes one:"),
    cmd("history", "history", "list the commands typed before (Ctrl-R searches them)", Reads(info::history))
        .help("Lists the history, oldest first. It is kept across runs (see `smtpsh --help`)."),
    cmd("help", "help [COMMAND] | help smtp [VERB] | help code [CODE]", "list commands, or explain one, an SMTP verb or a reply code", Plain(info::help))
        .aliases(&["?"]).complete(Complete::Help).words(0, 2)
        .help("Without an argument, lists every command; with one, shows its usage and help.\n\
               help smtp        lists the SMTP verbs; help smtp VERB explains one (EHLO, MAIL, RCPT,\n\
               \u{20}                DATA, BDAT, STARTTLS, AUTH, LHLO, XCLIENT, ETRN...): syntax, parameters, RFC\n\
               help code CODE   explains a reply code (550), an enhanced status code (5.7.26, RFC 3463\n\
               \u{20}                and the IANA registry) or a class and subject (5.7); help code lists the parts\n\
               Example: help smtp rcpt   help code 4.7.0"),
    cmd("clear", "clear", "clear the screen (Ctrl-L does it too)", Bare(info::clear))
        .help("Clears the terminal screen; the session is unchanged."),
    cmd("exit", "exit", "leave the shell (QUIT first if connected)", Reads(connect::exit))
        .help("Leaves smtpsh, sending QUIT first if connected. Ctrl-D does the same.\n\
               With an unsent draft it warns once; `exit` again leaves."),
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

/// The closest command names to a mistyped `word` (edit distance ≤ 2, a
/// swap of neighbours counting as one, or a shared prefix of 3), best first.
pub fn suggest(word: &str) -> Vec<&'static str> {
    let w = word.to_ascii_lowercase();
    // The first three characters (not bytes: `w` may be any text).
    let head: String = w.chars().take(3).collect();
    let mut scored: Vec<(usize, &'static str)> = COMMANDS
        .iter()
        .flat_map(|c| {
            std::iter::once(c.name)
                .chain(c.aliases.iter().copied())
                .map(move |n| (n, c.name))
        })
        .filter_map(|(candidate, name)| {
            let d = strsim::osa_distance(&w, candidate);
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
            assert!(!c.summary.is_empty() && !c.help.is_empty(), "{}", c.name);
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
    }

    #[test]
    fn completion_prefixes() {
        assert_eq!(names_starting_with("su"), vec!["subject"]);
        assert!(names_starting_with("s").contains(&"send"));
        assert!(names_starting_with("").len() == COMMANDS.len());
    }

    #[test]
    fn table_fields_that_replace_special_cases() {
        let flagged = |f: fn(&Spec) -> bool| -> Vec<&str> {
            COMMANDS.iter().filter(|c| f(c)).map(|c| c.name).collect()
        };
        assert_eq!(flagged(|c| c.judges_last_reply), vec!["expect"]);
        assert_eq!(flagged(|c| c.secret_words), vec!["auth"]);
        assert_eq!(
            flagged(|c| c.record == Record::Itself),
            vec!["auth", "edit"]
        );
        assert_eq!(flagged(|c| c.record == Record::Never), vec!["record"]);
        assert_eq!(
            flagged(|c| c.path_words),
            vec!["attach", "save", "cert", "source"]
        );
    }
}
