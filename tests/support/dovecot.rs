//! A private Dovecot LMTP server (RFC 2033) for the LMTP interop tests:
//! `dovecot -F -c CONF` in its own process group, with its own temporary
//! directory (`base_dir`, state, log), users in a passwd-file with
//! Maildirs, listening on a free 127.0.0.1 port and on a UNIX socket.
//! Stopped by PID (SIGTERM, then SIGKILL) when dropped.
//!
//! Users (any domain: `auth_username_format = %Ln`):
//! - `bob`, `carol`: deliverable, each to `mail/USER/Maildir`;
//! - `dave`: known, so RCPT is accepted, but his mail directory is a
//!   regular file, so the delivery after DATA fails (`451 4.2.0`): a real
//!   per-recipient failure after the message;
//! - anyone else: refused at RCPT (`550 5.1.1 ... User doesn't exist`).
//!
//! Mail is stored as uid/gid 65534 (nobody): Dovecot will not deliver as
//! root.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{PermissionsExt, chown};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// How long Dovecot may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The uid and gid mail is stored as.
const MAIL_ID: u32 = 65534;

/// A running Dovecot LMTP server.
pub struct DovecotLmtp {
    dir: tempfile::TempDir,
    child: Option<Child>,
    /// The TCP port on 127.0.0.1.
    pub port: u16,
}

/// The `dovecot` binary and the lmtp service it runs (dovecot-core and
/// dovecot-lmtpd); a missing one fails the test.
fn dovecot_bin() -> PathBuf {
    let lmtp = Path::new("/usr/lib/dovecot/lmtp");
    assert!(
        lmtp.is_file(),
        "{} not found: the LMTP interop tests need the Debian package dovecot-lmtpd; \
         run .ci/run (or: apt-get install -y --no-install-recommends dovecot-lmtpd)",
        lmtp.display()
    );
    ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("dovecot not found: apt-get install -y dovecot-core dovecot-lmtpd (or .ci/run)")
}

fn free_port() -> u16 {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Runs `bin` in the foreground on the config `conf`, in a process group
/// of its own, its output into the file `output`.
pub fn spawn(bin: &Path, conf: &Path, output: &Path) -> Child {
    let out = fs::File::create(output).expect("create dovecot's output file");
    let err = out.try_clone().expect("clone file");
    Command::new(bin)
        .arg("-F")
        .arg("-c")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
}

impl DovecotLmtp {
    /// Starts a server and waits until both listeners accept.
    pub fn start() -> DovecotLmtp {
        let bin = dovecot_bin();
        let dir = tempfile::Builder::new()
            .prefix("smtpsh-lmtp-")
            .tempdir()
            .expect("temp dir");
        let root = dir.path().to_path_buf();
        // The lmtp process runs as nobody: it must reach the Maildirs.
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).expect("chmod root");
        for sub in ["run", "state", "mail"] {
            fs::create_dir(root.join(sub)).expect("mkdir");
        }
        for user in ["bob", "carol"] {
            let home = root.join("mail").join(user);
            fs::create_dir(&home).expect("mkdir home");
            chown(&home, Some(MAIL_ID), Some(MAIL_ID)).expect("chown home");
        }
        // dave's home is a file: his Maildir cannot be made.
        fs::write(root.join("mail/dave"), "not a directory\n").expect("write dave");
        let mut passwd = String::new();
        for user in ["bob", "carol", "dave"] {
            passwd.push_str(&format!(
                "{user}:{{PLAIN}}x:{MAIL_ID}:{MAIL_ID}::{}::\n",
                root.join("mail").join(user).display()
            ));
        }
        fs::write(root.join("passwd"), passwd).expect("write passwd");
        let port = free_port();
        let r = root.display();
        let conf = format!(
            "# smtpsh LMTP test instance (tests/support/dovecot.rs): loopback and a socket only.\n\
             protocols = lmtp\n\
             base_dir = {r}/run\n\
             state_dir = {r}/state\n\
             log_path = {r}/dovecot.log\n\
             ssl = no\n\
             default_internal_user = dovecot\n\
             default_login_user = dovenull\n\
             postmaster_address = postmaster@lmtp.test\n\
             hostname = lmtp.test\n\
             auth_username_format = %Ln\n\
             mail_location = maildir:~/Maildir\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {r}/passwd\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = {r}/passwd\n}}\n\
             service lmtp {{\n\
             \x20 inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
             \x20 unix_listener {r}/lmtp.sock {{\n    mode = 0666\n  }}\n\
             }}\n"
        );
        let conf_path = root.join("dovecot.conf");
        fs::write(&conf_path, conf).expect("write dovecot.conf");
        let child = spawn(&bin, &conf_path, &root.join("stdout"));
        let mut d = DovecotLmtp {
            dir,
            child: Some(child),
            port,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok();
            if tcp && self.socket().exists() {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "Dovecot LMTP did not start ({:?})\n{}",
                    exited,
                    self.describe()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// The UNIX socket it listens on.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("lmtp.sock")
    }

    /// The messages in `user`'s Maildir (`new/`), oldest first.
    pub fn messages(&self, user: &str) -> Vec<Vec<u8>> {
        let new = self.dir.path().join("mail").join(user).join("Maildir/new");
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = fs::read_dir(&new)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| {
                        let t = e
                            .metadata()
                            .and_then(|m| m.modified())
                            .unwrap_or(std::time::UNIX_EPOCH);
                        (t, e.path())
                    })
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .into_iter()
            .map(|(_, p)| fs::read(&p).expect("read message"))
            .collect()
    }

    /// Its log and output, for failure messages.
    pub fn describe(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!(
            "--- dovecot.log ---\n{}\n--- stdout ---\n{}",
            read("dovecot.log"),
            read("stdout")
        )
    }
}

impl Drop for DovecotLmtp {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
