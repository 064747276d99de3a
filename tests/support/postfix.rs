//! A private Postfix instance for interop tests, started per test on free
//! loopback ports, with Dovecot SASL and a test CA; never the system instance.
//!
//! Layout of one instance (everything under one temporary directory in /tmp,
//! removed on drop):
//!
//! | path | what |
//! |---|---|
//! | `etc/` | `config_directory`: `main.cf`, `master.cf` (backdated one minute, so Postfix does not wait for them to settle) |
//! | `spool/` | `queue_directory`; Dovecot's auth socket is `spool/private/auth` |
//! | `data/` | `data_directory` (TLS session cache, master lock) |
//! | `maildir/` | the one catch-all Maildir every accepted recipient is delivered to |
//! | `tls/` | `ca.pem` (trust this: `--cafile`), `leaf.pem`/`leaf.key` (the server's) |
//! | `dovecot/` | auth-only Dovecot: config, `passwd` (`{PLAIN}`), log |
//! | `maillog` | Postfix's log (`maillog_file`) |
//!
//! Listeners, all on 127.0.0.1 (the plain port also on `[::1]` with
//! [`PostfixOptions::ipv6`]):
//!
//! - [`Postfix::smtp_port`]: plain SMTP, STARTTLS offered
//!   (`smtpd_tls_security_level=may`; `none` with
//!   [`PostfixOptions::starttls`] off). AUTH is offered only after STARTTLS.
//! - [`Postfix::smtps_port`]: implicit TLS (`smtpd_tls_wrappermode=yes`),
//!   AUTH offered, not required.
//! - [`Postfix::submission_port`]: STARTTLS required
//!   (`smtpd_tls_security_level=encrypt`) and AUTH required before RCPT.
//! - [`Postfix::extra_ports`]: one plain listener per
//!   [`PostfixOptions::listeners`] entry, with its `-o` settings.
//!
//! Mail: the domains in [`DOMAINS`] are virtual mailbox domains; every
//! address in them is accepted (catch-all) and delivered to `maildir/`,
//! except [`REFUSED_RECIPIENT`] (550 at RCPT). Any other domain, e.g.
//! [`REJECTED_DOMAIN`], is refused at RCPT with `554 5.7.1 ... Relay access
//! denied` for every client (mynetworks and authenticated ones included), so
//! no message is ever relayed or bounced; `default_transport` and
//! `relay_transport` are `error:` besides. Bare LF in DATA is refused
//! (`smtpd_forbid_bare_newline = yes`, loopback included). Stored messages
//! have LF line ends and gain `Return-Path`, `X-Original-To`, `Delivered-To`
//! and `Received` (which names the TLS cipher and the authenticated sender);
//! [`Delivered::original`] strips exactly those.
//!
//! SASL users (Dovecot passwd-file): [`Postfix::user`] (`alice@example.com`)
//! and the bare `alice`, both with [`Postfix::password`]; a failed AUTH
//! answers 535 at once (`auth_failure_delay = 0`). Mechanisms: PLAIN, LOGIN
//! and SCRAM-SHA-256 (Dovecot derives the SCRAM keys from the `{PLAIN}`
//! password, with 4096 iterations); with [`PostfixOptions::oauth`] also
//! OAUTHBEARER and XOAUTH2, whose tokens Dovecot checks with the
//! introspection endpoint of `support/introspect.rs` (only
//! [`super::introspect::OAUTH_TOKEN`] is valid, for [`SASL_USER`]).
//!
//! A missing Postfix or Dovecot, or not running as root, is a test failure,
//! never a skip: run `.ci/run`.
//!
//! Cleanup: drop runs `postfix -c DIR abort` (the SIGTERM to master that
//! `stop` sends, without `stop`'s one-second polling), stops Dovecot by its
//! PID and waits for both by PID. If the test process dies without unwinding, a watchdog
//! shell (which exits the moment it reads EOF on the pipe this process
//! holds) does the same and removes the directory.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use super::{describe_output, run_with_timeout};

/// The virtual mailbox domains: every address in them is delivered.
pub const DOMAINS: [&str; 3] = ["example.com", "example.org", "test"];
/// A domain the instance refuses at RCPT (`554 5.7.1 Relay access denied`);
/// any domain outside [`DOMAINS`] is refused the same way.
pub const REJECTED_DOMAIN: &str = "rejected.example.net";
/// The one address in [`DOMAINS`] refused at RCPT with
/// `550 5.1.1 <nobody@example.com>: Recipient address rejected: no such user`.
pub const REFUSED_RECIPIENT: &str = "nobody@example.com";
/// The SASL user (also accepted as the bare `alice`).
pub const SASL_USER: &str = "alice@example.com";
/// Its password.
pub const SASL_PASSWORD: &str = "Wonder-land 7!";

/// How long `postfix start`, `stop` and Dovecot's start may take.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `wait_for_messages` / `wait_for_log` poll.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long drop waits for each daemon to go.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Knobs for [`Postfix::start_with`]; `Default` is what [`Postfix::start`]
/// uses.
#[derive(Debug, Clone)]
pub struct PostfixOptions {
    /// Offer STARTTLS on the plain port (default `true`). `false` sets
    /// `smtpd_tls_security_level=none` there (for `--require-tls` tests);
    /// the other two ports keep TLS.
    pub starttls: bool,
    /// `message_size_limit` in bytes (default 300 MiB).
    pub message_size_limit: u64,
    /// Also listen on `[::1]` with the plain port's number (default `false`).
    pub ipv6: bool,
    /// Extra `main.cf` settings, written last (so they win).
    pub main_cf: Vec<(String, String)>,
    /// Extra plain SMTP listeners on 127.0.0.1, each with its own `-o`
    /// settings (e.g. `smtpd_upstream_proxy_protocol=haproxy`), after the
    /// plain port's; their ports are [`Postfix::extra_ports`], in order.
    pub listeners: Vec<Vec<(String, String)>>,
    /// Also offer OAUTHBEARER and XOAUTH2 (default `false`): Dovecot's
    /// oauth2 passdb, against an introspection endpoint in this process.
    pub oauth: bool,
}

impl Default for PostfixOptions {
    fn default() -> Self {
        PostfixOptions {
            starttls: true,
            message_size_limit: 300 * 1024 * 1024,
            ipv6: false,
            main_cf: Vec::new(),
            listeners: Vec::new(),
            oauth: false,
        }
    }
}

/// One message file from the Maildir.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub path: PathBuf,
    /// The envelope sender, from `Return-Path` (without `<>`; empty for `<>`).
    pub return_path: String,
    /// The envelope recipient this copy was delivered for (`Delivered-To`).
    pub delivered_to: String,
    /// The file as stored: LF line ends, Postfix's headers on top.
    pub data: Vec<u8>,
}

impl Delivered {
    /// The message as the client sent it (with LF line ends): `data` without
    /// the `Return-Path`, `X-Original-To` and `Delivered-To` lines virtual(8)
    /// put on top and the one `Received` header smtpd(8) added.
    pub fn original(&self) -> &[u8] {
        let mut rest: &[u8] = &self.data;
        for name in ["Return-Path:", "X-Original-To:", "Delivered-To:"] {
            if starts_with_ignore_case(rest, name) {
                rest = after_header(rest);
            }
        }
        if starts_with_ignore_case(rest, "Received:") {
            rest = after_header(rest);
        }
        rest
    }

    /// [`Delivered::original`] with CRLF line ends: what went over the
    /// wire in DATA (before dot-stuffing).
    pub fn original_crlf(&self) -> Vec<u8> {
        lf_to_crlf(self.original())
    }

    /// The `Received` header Postfix added, unfolded.
    pub fn received(&self) -> String {
        let mut rest: &[u8] = &self.data;
        while !rest.is_empty() && !rest.starts_with(b"\n") {
            let next = after_header(rest);
            let header = &rest[..rest.len() - next.len()];
            if starts_with_ignore_case(header, "Received:") {
                return String::from_utf8_lossy(header)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
            }
            rest = next;
        }
        String::new()
    }
}

fn starts_with_ignore_case(data: &[u8], prefix: &str) -> bool {
    data.len() >= prefix.len() && data[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// The bytes after the header field that starts `data` (with its
/// continuation lines).
fn after_header(data: &[u8]) -> &[u8] {
    let mut i = 0;
    loop {
        match data[i..].iter().position(|&b| b == b'\n') {
            None => return &data[data.len()..],
            Some(nl) => {
                i += nl + 1;
                if !matches!(data.get(i), Some(b' ' | b'\t')) {
                    return &data[i..];
                }
            }
        }
    }
}

/// LF line ends to CRLF (a CRLF already there stays one).
pub fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 40);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// A running private Postfix (+ Dovecot); stopped on drop.
pub struct Postfix {
    /// Plain SMTP with STARTTLS (unless [`PostfixOptions::starttls`] is off).
    pub smtp_port: u16,
    /// Implicit TLS (SMTPS, RFC 8314).
    pub smtps_port: u16,
    /// Submission: STARTTLS and AUTH required.
    pub submission_port: u16,
    /// Whether the plain port also listens on `[::1]`.
    pub ipv6: bool,
    /// The ports of [`PostfixOptions::listeners`], in order.
    pub extra_ports: Vec<u16>,
    pub dir: tempfile::TempDir,
    postfix_bin: PathBuf,
    dovecot: Option<Child>,
    watchdog: Option<Child>,
    /// Held open: the watchdog cleans up when it reads EOF here.
    watchdog_stdin: Option<ChildStdin>,
    master_running: bool,
    /// How long `start` took.
    pub start_time: Duration,
    /// The OAuth token endpoint, with [`PostfixOptions::oauth`].
    pub introspection: Option<super::introspect::Introspection>,
}

/// A program from PATH or the usual sbin directories; panics (test
/// failure) with the fix if it is not installed.
fn program(name: &str, package: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found: the Postfix interop tests need the Debian packages \
                 postfix, dovecot-core and openssl; run .ci/run (or: apt-get install -y \
                 --no-install-recommends {package})"
            )
        })
}

/// `(uid, gid)` of a user, from /etc/passwd.
fn user_ids(name: &str) -> (u32, u32) {
    let passwd = fs::read_to_string("/etc/passwd").expect("read /etc/passwd");
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == name)
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .unwrap_or_else(|| {
            panic!("no user {name:?} in /etc/passwd: is Postfix/Dovecot installed? run .ci/run")
        })
}

/// gid of a group, from /etc/group.
fn group_id(name: &str) -> u32 {
    let group = fs::read_to_string("/etc/group").expect("read /etc/group");
    group
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[0] == name)
        .and_then(|f| f[2].parse().ok())
        .unwrap_or_else(|| panic!("no group {name:?} in /etc/group: run .ci/run"))
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Make a directory with owner and mode.
fn mkdir(path: &Path, uid: u32, gid: u32, mode: u32) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    chown(path, Some(uid), Some(gid)).unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// Write a file with a modification time one minute ago: Postfix waits
/// for a `main.cf` younger than ~2 s to settle before it starts.
fn write_backdated(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let file = fs::File::options()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("backdate {}: {e}", path.display()));
}

/// A port that was free on 127.0.0.1 (and on ::1 if `v6`) a moment ago,
/// distinct from `taken`.
fn free_port(v6: bool, taken: &[u16]) -> u16 {
    for _ in 0..100 {
        let l4 = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind 127.0.0.1:0");
        let port = l4.local_addr().expect("local_addr").port();
        if taken.contains(&port) {
            continue;
        }
        if v6 && TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).is_err() {
            continue;
        }
        return port;
    }
    panic!("no free loopback port found");
}

/// The state of a process from /proc (`None`: gone; `Some('Z')`: zombie).
fn proc_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
}

fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match proc_state(pid) {
            None | Some('Z' | 'X') => return true,
            Some(_) if Instant::now() >= deadline => return false,
            Some(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Make the test CA and the server certificate with the openssl CLI.
fn make_certs(tls: &Path) {
    let script = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout ca.key -out ca.pem -days 2 -subj '/CN=smtpsh test CA' \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout leaf.key -out leaf.csr -subj /CN=localhost
printf '%s\n' basicConstraints=critical,CA:FALSE keyUsage=critical,digitalSignature \
  extendedKeyUsage=serverAuth subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 > leaf.ext
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out leaf.pem -days 2 -extfile leaf.ext
chmod 600 ca.key leaf.key
"#;
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(script)
        .current_dir(tls)
        .stdin(Stdio::null());
    let out = run_with_timeout(cmd, START_TIMEOUT);
    assert!(
        out.status.success(),
        "making the test certificates with openssl failed (is openssl installed? run .ci/run)\n{}",
        describe_output(&out)
    );
}

impl Postfix {
    pub fn start() -> Postfix {
        Postfix::start_with(PostfixOptions::default())
    }

    pub fn start_with(opts: PostfixOptions) -> Postfix {
        let began = Instant::now();
        let postfix_bin = program("postfix", "postfix");
        let dovecot_bin = program("dovecot", "dovecot-core");
        program("openssl", "openssl");
        assert!(
            is_root(),
            "the Postfix interop tests must run as root (Postfix's master starts as root)"
        );
        let (postfix_uid, postfix_gid) = user_ids("postfix");
        let postdrop_gid = group_id("postdrop");
        user_ids("dovecot");
        user_ids("dovenull");
        let (nobody_uid, nobody_gid) = user_ids("nobody");

        // In /tmp, not $TMPDIR: the path must be short (unix socket names)
        // and traversable by the postfix and nobody users.
        let dir = tempfile::Builder::new()
            .prefix("smtpsh-postfix-")
            .tempdir_in("/tmp")
            .expect("create Postfix temp dir");
        let root = dir.path().to_path_buf();
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).expect("chmod temp dir");

        let mut pf = Postfix {
            smtp_port: 0,
            smtps_port: 0,
            submission_port: 0,
            ipv6: opts.ipv6,
            extra_ports: Vec::new(),
            dir,
            postfix_bin,
            dovecot: None,
            watchdog: None,
            watchdog_stdin: None,
            master_running: false,
            start_time: Duration::ZERO,
            introspection: None,
        };

        // The queue as post-install would make it; with `quick-start` in it,
        // `postfix start` skips its ~1.3 s integrity check.
        let spool = root.join("spool");
        mkdir(&spool, 0, 0, 0o755);
        for sub in [
            "active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
            "private", "saved", "trace",
        ] {
            mkdir(&spool.join(sub), postfix_uid, 0, 0o700);
        }
        mkdir(&spool.join("maildrop"), postfix_uid, postdrop_gid, 0o730);
        mkdir(&spool.join("public"), postfix_uid, postdrop_gid, 0o710);
        mkdir(&spool.join("pid"), 0, 0, 0o755);
        mkdir(&root.join("data"), postfix_uid, postfix_gid, 0o700);
        mkdir(&root.join("etc"), 0, 0, 0o755);
        for sub in ["maildir", "maildir/new", "maildir/cur", "maildir/tmp"] {
            mkdir(&root.join(sub), nobody_uid, nobody_gid, 0o700);
        }
        mkdir(&root.join("tls"), 0, 0, 0o755);
        mkdir(&root.join("dovecot"), 0, 0, 0o755);
        mkdir(&root.join("dovecot/run"), 0, 0, 0o755);
        mkdir(&root.join("dovecot/state"), 0, 0, 0o750);

        pf.start_watchdog();
        make_certs(&root.join("tls"));
        pf.start_dovecot(&dovecot_bin, opts.oauth);
        write_backdated(&root.join("etc/main.cf"), &main_cf(&root, &opts));

        let mut last_failure = String::new();
        for _attempt in 0..5 {
            pf.smtp_port = free_port(opts.ipv6, &[]);
            pf.smtps_port = free_port(false, &[pf.smtp_port]);
            pf.submission_port = free_port(false, &[pf.smtp_port, pf.smtps_port]);
            pf.extra_ports.clear();
            for _ in &opts.listeners {
                let mut taken = vec![pf.smtp_port, pf.smtps_port, pf.submission_port];
                taken.extend(&pf.extra_ports);
                pf.extra_ports.push(free_port(false, &taken));
            }
            write_backdated(&root.join("etc/master.cf"), &pf.master_cf(&opts));
            fs::write(spool.join("quick-start"), "").expect("write quick-start");
            let out = pf.postfix(&["start"]);
            if out.status.success() {
                pf.master_running = true;
                last_failure.clear();
                break;
            }
            last_failure = format!("{}\n{}", describe_output(&out), pf.describe());
            // Another process took one of the ports between our probe and
            // master's bind: try other ports; anything else is fatal.
            if !pf.log().contains("Address already in use") {
                break;
            }
        }
        if !last_failure.is_empty() {
            panic!("postfix start failed\n{last_failure}");
        }
        pf.wait_for_auth_socket();
        pf.start_time = began.elapsed();
        pf
    }

    fn start_dovecot(&mut self, dovecot_bin: &Path, oauth: bool) {
        let root = self.dir.path().to_path_buf();
        let passwd =
            format!("{SASL_USER}:{{PLAIN}}{SASL_PASSWORD}\nalice:{{PLAIN}}{SASL_PASSWORD}\n");
        fs::write(root.join("dovecot/passwd"), passwd).expect("write dovecot passwd");
        let (_, dovecot_gid) = user_ids("dovecot");
        let passwd_path = root.join("dovecot/passwd");
        chown(&passwd_path, Some(0), Some(dovecot_gid)).expect("chown passwd");
        fs::set_permissions(&passwd_path, fs::Permissions::from_mode(0o640)).expect("chmod passwd");
        // OAUTHBEARER/XOAUTH2: the oauth2 passdb, for those mechanisms only
        // (the passwd-file one serves the others).
        let (oauth_mechanisms, oauth_passdb) = if oauth {
            let endpoint = super::introspect::Introspection::start(SASL_USER);
            let conf_path = root.join("dovecot/oauth2.conf.ext");
            fs::write(
                &conf_path,
                format!(
                    "introspection_mode = post\n\
                     introspection_url = {}\n\
                     force_introspection = yes\n\
                     username_attribute = username\n\
                     active_attribute = active\n\
                     active_value = true\n",
                    endpoint.url()
                ),
            )
            .expect("write oauth2.conf.ext");
            self.introspection = Some(endpoint);
            (
                " oauthbearer xoauth2",
                format!(
                    "passdb {{\n\
                     \x20 driver = oauth2\n\
                     \x20 mechanisms = oauthbearer xoauth2\n\
                     \x20 args = {}\n\
                     }}\n",
                    conf_path.display()
                ),
            )
        } else {
            ("", String::new())
        };
        let conf = format!(
            "# Auth-only Dovecot: SASL for the Postfix test instance.\n\
             protocols =\n\
             base_dir = {root}/dovecot/run\n\
             state_dir = {root}/dovecot/state\n\
             log_path = {root}/dovecot/dovecot.log\n\
             ssl = no\n\
             disable_plaintext_auth = no\n\
             auth_mechanisms = plain login scram-sha-256{oauth_mechanisms}\n\
             auth_failure_delay = 0\n\
             default_internal_user = dovecot\n\
             default_login_user = dovenull\n\
             passdb {{\n\
             \x20 driver = passwd-file\n\
             \x20 mechanisms = plain login scram-sha-256\n\
             \x20 args = scheme=PLAIN username_format=%u {root}/dovecot/passwd\n\
             }}\n\
             {oauth_passdb}\
             userdb {{\n\
             \x20 driver = static\n\
             \x20 args = uid=nobody gid=nogroup home=/nonexistent\n\
             }}\n\
             service auth {{\n\
             \x20 unix_listener {root}/spool/private/auth {{\n\
             \x20   mode = 0660\n\
             \x20   user = postfix\n\
             \x20   group = postfix\n\
             \x20 }}\n\
             }}\n",
            root = root.display()
        );
        let conf_path = root.join("dovecot/dovecot.conf");
        fs::write(&conf_path, conf).expect("write dovecot.conf");
        let child = super::dovecot::spawn(dovecot_bin, &conf_path, &root.join("dovecot/stdout"));
        if let Some(w) = self.watchdog_stdin.as_mut() {
            let _ = writeln!(w, "dovecot={}", child.id());
        }
        self.dovecot = Some(child);
    }

    fn wait_for_auth_socket(&mut self) {
        let socket = self.dir.path().join("spool/private/auth");
        let deadline = Instant::now() + START_TIMEOUT;
        while !socket.exists() {
            let exited = self
                .dovecot
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "Dovecot did not create its auth socket ({})\n{}",
                    match exited {
                        Some(status) => format!("it exited: {status}"),
                        None => "timed out".to_string(),
                    },
                    self.describe()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// A shell that waits for EOF on its stdin (this process dying closes
    /// it), then stops Dovecot (whose PID it is told as `dovecot=PID`) and
    /// Postfix and removes the directory. Started first, so a test process
    /// that dies half-way through `start` leaks nothing either.
    fn start_watchdog(&mut self) {
        let script = r#"dovecot=
while read -r line; do
    case $line in dovecot=*) dovecot=${line#dovecot=} ;; esac
done
[ -n "$dovecot" ] && kill -TERM "$dovecot" 2>/dev/null
[ -f "$1/etc/main.cf" ] && "$2" -c "$1/etc" stop >/dev/null 2>&1
sleep 1
case $1 in /tmp/smtpsh-postfix-*) rm -rf -- "$1" ;; esac
"#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("smtpsh-postfix-watchdog")
            .arg(self.dir.path())
            .arg(&self.postfix_bin)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start the watchdog shell");
        self.watchdog_stdin = child.stdin.take();
        self.watchdog = Some(child);
    }

    fn master_cf(&self, opts: &PostfixOptions) -> String {
        let plain_tls = if opts.starttls { "may" } else { "none" };
        let mut cf = String::from(
            "# smtpsh test instance: loopback listeners only, nothing chrooted.\n\
             # service type  private unpriv  chroot  wakeup  maxproc command + args\n",
        );
        let mut plain_addrs = vec![format!("127.0.0.1:{}", self.smtp_port)];
        if opts.ipv6 {
            plain_addrs.push(format!("[::1]:{}", self.smtp_port));
        }
        for addr in plain_addrs {
            let _ = writeln!(
                cf,
                "{addr} inet n - n - - smtpd\n  -o smtpd_tls_security_level={plain_tls}"
            );
        }
        for (port, settings) in self.extra_ports.iter().zip(&opts.listeners) {
            let _ = write!(
                cf,
                "127.0.0.1:{port} inet n - n - - smtpd\n  -o smtpd_tls_security_level={plain_tls}"
            );
            for (k, v) in settings {
                let _ = write!(cf, "\n  -o {k}={v}");
            }
            cf.push('\n');
        }
        let _ = writeln!(
            cf,
            "127.0.0.1:{} inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n  \
             -o smtpd_tls_security_level=encrypt",
            self.smtps_port
        );
        let _ = writeln!(
            cf,
            "127.0.0.1:{} inet n - n - - smtpd\n  -o smtpd_tls_security_level=encrypt\n  \
             -o smtpd_sasl_auth_enable=yes\n  \
             -o smtpd_client_restrictions=permit_sasl_authenticated,reject",
            self.submission_port
        );
        cf.push_str(
            "pickup    unix  n       -       n       60      1       pickup\n\
             cleanup   unix  n       -       n       -       0       cleanup\n\
             qmgr      unix  n       -       n       300     1       qmgr\n\
             tlsmgr    unix  -       -       n       1000?   1       tlsmgr\n\
             rewrite   unix  -       -       n       -       -       trivial-rewrite\n\
             bounce    unix  -       -       n       -       0       bounce\n\
             defer     unix  -       -       n       -       0       bounce\n\
             trace     unix  -       -       n       -       0       bounce\n\
             verify    unix  -       -       n       -       1       verify\n\
             flush     unix  n       -       n       1000?   0       flush\n\
             proxymap  unix  -       -       n       -       -       proxymap\n\
             proxywrite unix -       -       n       -       1       proxymap\n\
             smtp      unix  -       -       n       -       -       smtp\n\
             relay     unix  -       -       n       -       -       smtp\n\
             showq     unix  n       -       n       -       -       showq\n\
             error     unix  -       -       n       -       -       error\n\
             retry     unix  -       -       n       -       -       error\n\
             discard   unix  -       -       n       -       -       discard\n\
             anvil     unix  -       -       n       -       1       anvil\n\
             scache    unix  -       -       n       -       1       scache\n\
             postlog   unix-dgram n  -       n       -       1       postlogd\n\
             virtual   unix  -       n       n       -       -       virtual\n",
        );
        cf
    }

    /// Run `postfix -c ETC ARGS...`.
    fn postfix(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(&self.postfix_bin);
        cmd.arg("-c")
            .arg(self.config_dir())
            .args(args)
            .env_remove("MAIL_CONFIG")
            .env_remove("MAIL_DEBUG")
            .env_remove("MAIL_VERBOSE")
            .stdin(Stdio::null());
        run_with_timeout(cmd, START_TIMEOUT)
    }

    /// `config_directory` (for `postfix -c`, `postconf -c`).
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    /// The test CA's certificate (PEM): pass it to smtpsh as `--cafile`.
    pub fn ca_pem_path(&self) -> PathBuf {
        self.dir.path().join("tls/ca.pem")
    }

    /// The server's certificate (PEM), signed by the test CA.
    pub fn cert_pem_path(&self) -> PathBuf {
        self.dir.path().join("tls/leaf.pem")
    }

    /// The SASL user name ([`SASL_USER`]).
    pub fn user(&self) -> &'static str {
        SASL_USER
    }

    /// The SASL password ([`SASL_PASSWORD`]).
    pub fn password(&self) -> &'static str {
        SASL_PASSWORD
    }

    pub fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir")
    }

    /// `smtp_port` as a string.
    pub fn port_str(&self) -> String {
        self.smtp_port.to_string()
    }

    /// The master daemon's PID, while it runs.
    pub fn master_pid(&self) -> Option<u32> {
        fs::read_to_string(self.dir.path().join("spool/pid/master.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Dovecot's PID.
    pub fn dovecot_pid(&self) -> Option<u32> {
        self.dovecot.as_ref().map(Child::id)
    }

    /// Every delivered message file, oldest first.
    pub fn messages(&self) -> Vec<Delivered> {
        let new = self.maildir().join("new");
        let mut files: Vec<(SystemTime, PathBuf)> = fs::read_dir(&new)
            .unwrap_or_else(|e| panic!("read {}: {e}", new.display()))
            .filter_map(|e| e.ok())
            .map(|e| {
                let mtime = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH);
                (mtime, e.path())
            })
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|(_, path)| {
                let data =
                    fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
                let header = |name: &str| -> String {
                    let mut rest: &[u8] = &data;
                    while !rest.is_empty() && !rest.starts_with(b"\n") {
                        let next = after_header(rest);
                        let field = &rest[..rest.len() - next.len()];
                        if starts_with_ignore_case(field, name) {
                            let value = String::from_utf8_lossy(&field[name.len()..]);
                            return value.trim().to_string();
                        }
                        rest = next;
                    }
                    String::new()
                };
                let return_path = header("Return-Path:")
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string();
                let delivered_to = header("Delivered-To:");
                Delivered {
                    path,
                    return_path,
                    delivered_to,
                    data,
                }
            })
            .collect()
    }

    /// Poll until at least `n` messages are delivered (up to ~10 s); panics
    /// with the log if they do not come.
    pub fn wait_for_messages(&self, n: usize) -> Vec<Delivered> {
        self.wait_for_messages_ctx(n, "")
    }

    /// Like [`Postfix::wait_for_messages`], after a smtpsh run: a failure
    /// also shows what smtpsh printed.
    pub fn wait_for_messages_after(&self, n: usize, out: &Output) -> Vec<Delivered> {
        self.wait_for_messages_ctx(n, &format!("--- smtpsh ---\n{}", describe_output(out)))
    }

    fn wait_for_messages_ctx(&self, n: usize, context: &str) -> Vec<Delivered> {
        super::poll_until(
            WAIT_TIMEOUT,
            || self.messages(),
            |msgs| msgs.len() >= n,
            |msgs| {
                format!(
                    "expected {n} delivered message(s), have {}\n{}{context}",
                    msgs.len(),
                    self.describe()
                )
            },
        )
    }

    /// Postfix's log so far (`maillog_file`).
    pub fn log(&self) -> String {
        fs::read(self.dir.path().join("maillog"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Dovecot's log so far.
    pub fn dovecot_log(&self) -> String {
        let mut s = String::new();
        for name in ["dovecot/stdout", "dovecot/dovecot.log"] {
            if let Ok(b) = fs::read(self.dir.path().join(name)) {
                s.push_str(&String::from_utf8_lossy(&b));
            }
        }
        s
    }

    /// Poll (up to ~10 s) until a log line satisfies `pred`; returns it.
    pub fn wait_for_log(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        super::poll_until(
            WAIT_TIMEOUT,
            || self.log().lines().find(|l| pred(l)).map(str::to_string),
            Option::is_some,
            |_| {
                format!(
                    "timed out waiting for {what} in the Postfix log\n{}",
                    self.describe()
                )
            },
        )
        .expect("poll_until returns only a ready value")
    }

    /// smtpd's `disconnect from ...` lines so far: one per finished
    /// connection, with its command counts (`ehlo=1 mail=1 ... quit=1
    /// commands=5`).
    pub fn disconnects(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("/smtpd[") && l.contains(": disconnect from "))
            .map(str::to_string)
            .collect()
    }

    /// Poll until `n` connections have finished; returns their
    /// `disconnect` lines.
    pub fn wait_for_disconnects(&self, n: usize) -> Vec<String> {
        self.wait_for_disconnects_ctx(n, "")
    }

    /// Like [`Postfix::wait_for_disconnects`], after a smtpsh run: a failure
    /// also shows what smtpsh printed.
    pub fn wait_for_disconnects_after(&self, n: usize, out: &Output) -> Vec<String> {
        self.wait_for_disconnects_ctx(n, &format!("--- smtpsh ---\n{}", describe_output(out)))
    }

    fn wait_for_disconnects_ctx(&self, n: usize, context: &str) -> Vec<String> {
        super::poll_until(
            WAIT_TIMEOUT,
            || self.disconnects(),
            |d| d.len() >= n,
            |d| {
                format!(
                    "expected {n} finished connection(s), have {}\n{}{context}",
                    d.len(),
                    self.describe()
                )
            },
        )
    }

    /// Ports, the Postfix log and Dovecot's log, for panics.
    pub fn describe(&self) -> String {
        format!(
            "--- postfix {} (smtp {}, smtps {}, submission {}) ---\n{}\n--- dovecot ---\n{}",
            self.dir.path().display(),
            self.smtp_port,
            self.smtps_port,
            self.submission_port,
            self.log(),
            self.dovecot_log()
        )
    }

    /// Stop everything now (drop does the same); idempotent.
    pub fn stop(&mut self) {
        // The watchdog first, so it cannot race us (it is ours: kill by PID).
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        self.watchdog_stdin = None;
        // Dovecot's master sleeps one second on its way out (to let its log
        // process finish): signal it first so that overlaps Postfix's stop.
        if let Some(d) = &self.dovecot {
            signal(d.id(), "TERM");
        }
        if self.master_running {
            self.master_running = false;
            let master = self.master_pid();
            // `abort` sends master the same SIGTERM as `stop`, without
            // stop's polling in one-second steps; we wait for it by PID.
            let _ = self.postfix(&["abort"]);
            if let Some(pid) = master
                && !wait_gone(pid, STOP_TIMEOUT)
            {
                signal(pid, "KILL");
                wait_gone(pid, STOP_TIMEOUT);
            }
        }
        if let Some(mut d) = self.dovecot.take() {
            let deadline = Instant::now() + STOP_TIMEOUT;
            loop {
                match d.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = d.kill();
                        let _ = d.wait();
                        break;
                    }
                    Ok(None) => thread::sleep(Duration::from_millis(5)),
                }
            }
        }
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
    }
}

fn main_cf(root: &Path, opts: &PostfixOptions) -> String {
    let root = root.display();
    let mut cf = format!(
        "# smtpsh test instance (tests/support/postfix.rs): loopback only, mail never leaves.\n\
         compatibility_level = 3.6\n\
         queue_directory = {root}/spool\n\
         data_directory = {root}/data\n\
         maillog_file = {root}/maillog\n\
         maillog_file_prefixes = {root}\n\
         mail_owner = postfix\n\
         setgid_group = postdrop\n\
         myhostname = postfix.smtpsh.test\n\
         mydomain = smtpsh.test\n\
         myorigin = $myhostname\n\
         mydestination =\n\
         smtpd_banner = $myhostname ESMTP Postfix (smtpsh test instance)\n\
         inet_interfaces = loopback-only\n\
         inet_protocols = all\n\
         mynetworks = 127.0.0.0/8 [::1]/128\n\
         alias_maps =\n\
         alias_database =\n\
         local_recipient_maps =\n\
         biff = no\n\
         # Keep messages as the client sent them: no header rewriting, no added\n\
         # From/Date/Message-ID for loopback clients.\n\
         local_header_rewrite_clients =\n\
         \n\
         # Nothing leaves: no relaying, no remote delivery.\n\
         default_transport = error:mail leaves nowhere from the smtpsh test instance\n\
         relay_transport = error:mail leaves nowhere from the smtpsh test instance\n\
         relay_domains =\n\
         smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination\n\
         # Everyone (mynetworks and authenticated clients too) may send only to\n\
         # the virtual domains, so no message is ever relayed or bounced.\n\
         smtpd_recipient_restrictions =\n\
         \x20 check_recipient_access inline:{{ {{{refused} = 550 5.1.1 <{refused}>: Recipient address rejected: no such user}} }},\n\
         \x20 reject_unauth_destination\n\
         \n\
         # Every address in these domains goes to one Maildir.\n\
         virtual_mailbox_domains = {domains}\n\
         virtual_mailbox_base = {root}\n\
         virtual_mailbox_maps = static:maildir/\n\
         virtual_uid_maps = static:{uid}\n\
         virtual_gid_maps = static:{gid}\n\
         virtual_minimum_uid = 1\n\
         message_size_limit = {size}\n\
         mailbox_size_limit = 0\n\
         virtual_mailbox_limit = 0\n\
         \n\
         # SMTP smuggling: refuse bare LF in DATA, from loopback too.\n\
         smtpd_forbid_bare_newline = yes\n\
         smtpd_forbid_bare_newline_exclusions =\n\
         \n\
         # TLS (the test CA signed leaf.pem) and Dovecot SASL, AUTH only after TLS.\n\
         smtpd_tls_security_level = may\n\
         smtpd_tls_chain_files = {root}/tls/leaf.key, {root}/tls/leaf.pem\n\
         smtpd_tls_loglevel = 1\n\
         smtpd_tls_received_header = yes\n\
         smtpd_sasl_auth_enable = yes\n\
         smtpd_sasl_type = dovecot\n\
         smtpd_sasl_path = private/auth\n\
         smtpd_tls_auth_only = yes\n\
         smtpd_sasl_authenticated_header = yes\n",
        refused = REFUSED_RECIPIENT,
        domains = DOMAINS.join(" "),
        uid = user_ids("nobody").0,
        gid = user_ids("nobody").1,
        size = opts.message_size_limit,
    );
    for (k, v) in &opts.main_cf {
        let _ = writeln!(cf, "{k} = {v}");
    }
    cf
}
