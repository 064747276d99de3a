//! The command line of `smtpsh`: the shell's options ([`Cli`]) and the
//! whole command tree ([`command`]) — those options plus the sub-commands
//! `serve`, `inbox`, `test`, `completions` and `man` — from which the man
//! page ([`man`]) and the shell completion scripts ([`completions`]) are
//! generated, so they say what `--help` and the command table say.
//!
//! `main.rs` picks the sub-command by the first word before clap runs
//! (each has its own parser), so the tree here is for documentation: it is
//! built from the same definitions (`serve::Args`, `runner::Args`, the
//! command table's row for `inbox`), never kept apart.

pub mod completions;
pub mod man;
pub mod profiles;

use crate::shell::cmd::tls_options::{self, TlsControls};
use crate::shell::{self, Options, commands, output::ColorChoice};
use clap::{Arg, ArgAction, CommandFactory, Parser, ValueHint};
use std::path::PathBuf;

/// The help text after the options of `smtpsh --help`.
const AFTER_HELP: &str = "Exit status: 0 all succeeded, 1 local error (bad input, missing file), 2 usage, \
3 connection error, 4 server refused a command, 5 an `expect` failed, 130 interrupted, \
141 standard output closed (`| head`).\n\
History: $SMTPSH_HISTORY, else $XDG_STATE_HOME/smtpsh/history (~/.local/state/smtpsh/history).\n\
Profiles: $SMTPSH_CONFIG, else $XDG_CONFIG_HOME/smtpsh/config.toml; init file: $XDG_CONFIG_HOME/smtpsh/init.smtp; passwords also from $NETRC, else ~/.netrc.\n\
Also: `smtpsh test --help` (run scripts as tests, JUnit/TAP reports), `smtpsh serve --help` (the sandbox as a headless mail catcher), `smtpsh inbox --help` (read what it stored), \
`smtpsh man` (the manual page), `smtpsh completions bash|zsh|fish` (a completion script).\n\
Examples:\n  smtpsh 127.0.0.1 2525\n  smtpsh -f session.smtp 127.0.0.1 2525\n  smtpsh -c 'connect 127.0.0.1 2525' -c ehlo -c quit\n  smtpsh --starttls --require-tls smtp.example.org 587";

/// An interactive SMTP shell: talk to a mail server step by step, compose a
/// MIME message with attachments, send it, and replay sessions as scripts.
#[derive(Parser, Debug)]
#[command(name = "smtpsh", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// Connect to HOST at start (also HOST:PORT, [IPv6]:PORT, or unix:PATH for a
    /// UNIX-domain socket).
    #[arg(value_hint = ValueHint::Hostname)]
    pub host: Option<String>,
    /// The port for HOST (default 25).
    pub port: Option<String>,
    /// Run the commands in FILE (`-` for standard input), then exit.
    #[arg(help_heading = "Scripts", short = 'f', long = "file", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,
    /// Run CMD (repeatable, in order), then exit.
    #[arg(
        help_heading = "Scripts",
        short = 'c',
        long = "command",
        value_name = "CMD"
    )]
    pub command: Vec<String>,
    /// In a script, go on after a failure; exit with the first failure's status.
    #[arg(help_heading = "Scripts", long)]
    pub keep_going: bool,
    /// Colour: auto (only on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
    /// Do not read or write the history file.
    #[arg(long)]
    pub no_history: bool,
    /// Walk through HELO, MAIL FROM, RCPT TO, the message, attachments and QUIT
    /// step by step, on HOST or, without one, on the built-in sandbox (exit
    /// status 0 once the message is sent, 1 when left before, 130 on Ctrl-C).
    #[arg(long)]
    pub guided: bool,
    /// Start the built-in sandbox SMTP server (127.0.0.1, a free port; mail
    /// stored in $SMTPSH_SANDBOX_DIR/Maildir, else $XDG_DATA_HOME/smtpsh/sandbox/Maildir)
    /// and connect to it (with --guided: the guided exercise on it, the default).
    #[arg(help_heading = "Connection", long, conflicts_with = "host")]
    pub sandbox: bool,
    /// Connect to HOST with implicit TLS (TLS from the first byte; port 465 implies it).
    #[arg(help_heading = "Connection", long, conflicts_with = "starttls")]
    pub tls: bool,
    /// Connect to HOST in plaintext, then upgrade with STARTTLS right after EHLO (ports 25, 587).
    #[arg(help_heading = "Connection", long)]
    pub starttls: bool,
    /// Connect to HOST over IPv4 only (its IPv4 addresses; also `connect -4`).
    #[arg(
        help_heading = "Connection",
        short = '4',
        long,
        conflicts_with = "ipv6",
        requires = "host"
    )]
    pub ipv4: bool,
    /// Connect to HOST over IPv6 only (its IPv6 addresses; also `connect -6`).
    #[arg(help_heading = "Connection", short = '6', long, requires = "host")]
    pub ipv6: bool,
    /// Connect to HOST from this local address (ADDR or ADDR:PORT; also
    /// `connect --source`).
    #[arg(
        help_heading = "Connection",
        long,
        value_name = "ADDR",
        requires = "host"
    )]
    pub source: Option<String>,
    /// Speak LMTP (RFC 2033) to HOST: LHLO instead of EHLO, and one reply per
    /// recipient after the message (e.g. Dovecot's lmtp, port 24 or unix:PATH).
    #[arg(help_heading = "Connection", long, conflicts_with = "sandbox")]
    pub lmtp: bool,
    /// Never send MAIL, RCPT, DATA or AUTH without TLS: connections upgrade with
    /// STARTTLS or stop (also `set require-tls on`).
    #[arg(help_heading = "Connection", long)]
    pub require_tls: bool,
    /// Trust the CA certificate(s) in this PEM file instead of the system's roots.
    #[arg(help_heading = "TLS", long, value_name = "PATH", value_hint = ValueHint::FilePath)]
    pub cafile: Option<PathBuf>,
    /// Do not verify TLS certificates (unsafe; warned at every connect).
    #[arg(help_heading = "TLS", long)]
    pub insecure: bool,
    /// Present this client certificate (PEM, its chain after it; also the
    /// key unless --key) when the server asks for one.
    #[arg(help_heading = "TLS", long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub cert: Option<PathBuf>,
    /// The private key of --cert (PEM, unencrypted).
    #[arg(help_heading = "TLS", long, value_name = "FILE", value_hint = ValueHint::FilePath, requires = "cert")]
    pub key: Option<PathBuf>,
    /// Check the server's certificate against NAME and send it as SNI,
    /// instead of the host connected to.
    #[arg(help_heading = "TLS", long, value_name = "NAME", value_hint = ValueHint::Hostname)]
    pub servername: Option<String>,
    /// Send no SNI (the certificate is still checked against the host or --servername).
    #[arg(help_heading = "TLS", long)]
    pub no_sni: bool,
    /// The oldest TLS version to use.
    #[arg(help_heading = "TLS", long, value_name = "VERSION", value_parser = ["1.2", "1.3"])]
    pub tls_min: Option<String>,
    /// The newest TLS version to use.
    #[arg(help_heading = "TLS", long, value_name = "VERSION", value_parser = ["1.2", "1.3"])]
    pub tls_max: Option<String>,
    /// Accept the server only if the SHA-256 of its public key is this
    /// (`status` shows it; repeatable: any may match), whatever the CA.
    #[arg(help_heading = "TLS", long = "pin", value_name = "sha256:BASE64")]
    pub pins: Vec<String>,
    /// Define the variable NAME for `${NAME}` in commands (repeatable;
    /// before `set var` in the script and the environment).
    #[arg(help_heading = "Scripts", long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Write the whole transcript, without colour and with a timestamp per
    /// line, to FILE (also `set log FILE`).
    #[arg(help_heading = "Scripts", long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub log: Option<PathBuf>,
    /// Connect at start with the profile NAME of the config file (its host,
    /// port, TLS, CA, user, password source, EHLO name; docs/profiles.md).
    #[arg(help_heading = "Connection", long, value_name = "NAME", conflicts_with_all = ["host", "sandbox"])]
    pub profile: Option<String>,
    /// Read the profiles from FILE (also $SMTPSH_CONFIG; default
    /// $XDG_CONFIG_HOME/smtpsh/config.toml).
    #[arg(help_heading = "Connection", long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,
    /// Do not run the init file ($XDG_CONFIG_HOME/smtpsh/init.smtp) that an
    /// interactive shell runs at start (scripts never run it).
    #[arg(help_heading = "Connection", long)]
    pub no_init: bool,
}

/// `--var NAME=VALUE`.
fn parse_var(s: &str) -> Result<(String, String), String> {
    shell::vars::parse_assignment(s)
}

impl Cli {
    /// The TLS options as the controls every connect starts from.
    fn tls_controls(&self) -> Result<TlsControls, String> {
        let version = |option: &str, v: &Option<String>| {
            v.as_deref()
                .map(|v| tls_options::parse_version(option, v))
                .transpose()
                .map_err(|f| f.message)
        };
        let controls = TlsControls {
            cafile: self.cafile.clone(),
            insecure: self.insecure,
            cert: self.cert.clone(),
            key: self.key.clone(),
            servername: self.servername.clone(),
            no_sni: self.no_sni,
            tls_min: version("--tls-min", &self.tls_min)?,
            tls_max: version("--tls-max", &self.tls_max)?,
            pins: self
                .pins
                .iter()
                .map(|p| tls_options::parse_pin(p).map_err(|f| f.message))
                .collect::<Result<_, _>>()?,
        };
        controls.check().map_err(|f| f.message)?;
        Ok(controls)
    }

    /// The shell's options, or why they do not go together (a usage error).
    pub fn into_options(self) -> Result<Options, String> {
        if self.file.is_some() && !self.command.is_empty() {
            return Err("-f and -c cannot be used together".to_string());
        }
        let tls_controls = self.tls_controls()?;
        Ok(Options {
            host: self.host,
            port: self.port,
            file: self.file,
            commands: self.command,
            keep_going: self.keep_going,
            color: ColorChoice::parse(&self.color).unwrap_or(ColorChoice::Auto),
            no_history: self.no_history,
            guided: self.guided,
            sandbox: self.sandbox,
            tls: self.tls,
            starttls: self.starttls,
            ipv4: self.ipv4,
            ipv6: self.ipv6,
            source: self.source,
            lmtp: self.lmtp,
            require_tls: self.require_tls,
            tls_controls,
            vars: self.vars,
            log: self.log,
            profile: self.profile,
            config: self.config,
            no_init: self.no_init,
        })
    }
}

/// The sub-commands, in the order the man page and completions list them.
pub const SUBCOMMANDS: [&str; 6] = ["serve", "inbox", "test", "profiles", "completions", "man"];

/// The whole command line: the shell's options and every sub-command, as
/// one `clap::Command` named `smtpsh`.
pub fn command() -> clap::Command {
    Cli::command()
        .disable_help_subcommand(true)
        .subcommand(
            crate::serve::Args::command()
                .name("serve")
                .bin_name("smtpsh serve"),
        )
        .subcommand(inbox_command())
        .subcommand(
            crate::runner::Args::command()
                .name("test")
                .bin_name("smtpsh test"),
        )
        .subcommand(profiles::command())
        .subcommand(completions::command())
        .subcommand(man::command())
        .mut_subcommands(free_text)
        .mut_args(free_text_arg)
}

/// [`free_text_arg`] for every argument of `cmd`.
fn free_text(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(free_text_arg)
}

/// A value that is no path and has no list of values (`-c CMD`, `--var
/// NAME=VALUE`, `--listen ADDR:PORT`) completes as nothing rather than as
/// a file name, clap_complete's default.
fn free_text_arg(arg: Arg) -> Arg {
    let free = arg.get_action().takes_values()
        && arg.get_value_hint() == ValueHint::Unknown
        && arg.get_possible_values().is_empty();
    if free {
        arg.value_hint(ValueHint::Other)
    } else {
        arg
    }
}

/// `smtpsh inbox`, from the command table's row for `inbox`: its summary,
/// its options (`--maildir DIR`: an option taking DIR; `--json`: a flag)
/// and the message number.
fn inbox_command() -> clap::Command {
    let mut cmd = clap::Command::new("inbox")
        .bin_name("smtpsh inbox")
        .disable_version_flag(true);
    let Some(spec) = commands::find("inbox") else {
        return cmd;
    };
    cmd = cmd
        .about(format!("The shell's inbox command: {}.", spec.summary))
        .long_about(spec.help)
        // One line per form: `inbox [N] ... | inbox --clear | ...`.
        .override_usage(
            spec.usage
                .split(" | ")
                .map(|form| format!("smtpsh {form}"))
                .collect::<Vec<_>>()
                .join("\n       "),
        )
        .arg(
            Arg::new("N")
                .value_name("N")
                .help("The message to show (from 1, as the list numbers them)."),
        );
    for option in spec.options {
        cmd = cmd.arg(table_option(option));
    }
    cmd
}

/// One option of the command table (`--json`, `--maildir DIR`) as a
/// clap argument; DIR, FILE and PATH values complete as paths.
fn table_option(option: &'static str) -> Arg {
    let mut words = option.split_whitespace();
    let flag = words.next().unwrap_or(option);
    let long = flag.trim_start_matches('-');
    let arg = Arg::new(long).long(long);
    match words.next() {
        None => arg.action(ArgAction::SetTrue),
        Some(value) => {
            let hint = match value {
                "DIR" => ValueHint::DirPath,
                "FILE" | "PATH" => ValueHint::FilePath,
                _ => ValueHint::Other,
            };
            arg.value_name(value).value_hint(hint)
        }
    }
}

/// Writes `bytes` to standard output: 0, or 141 when its reader closed it
/// (`| head`), or 1 with a message for any other failure.
fn print(bytes: &[u8]) -> i32 {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => shell::EXIT_OK,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => shell::EXIT_PIPE,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "smtpsh: cannot write to standard output: {e}"
            );
            shell::EXIT_LOCAL
        }
    }
}

#[cfg(test)]
mod tests;
