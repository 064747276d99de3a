//! The DNS stub resolver (src/smtp/dns.rs) against a real DNS server:
//! dnsmasq, started per test on a free loopback port with test records
//! (`--mx-host`, `--host-record`, `--cname`), no upstream servers, and
//! authoritative for `.test` (so unknown names there are NXDOMAIN).
//!
//! A missing dnsmasq is a failing test, never a skip: run `.ci/run`
//! (or `apt-get install dnsmasq-base`).
#![cfg(feature = "interop")]

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use smtpsh::smtp::dns::{self, DnsError, Resolver};

/// How long dnsmasq may take to answer its first query.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

fn dnsmasq_bin() -> PathBuf {
    [
        "/usr/sbin/dnsmasq",
        "/usr/local/sbin/dnsmasq",
        "/sbin/dnsmasq",
    ]
    .iter()
    .map(PathBuf::from)
    .chain(
        std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .map(|d| d.join("dnsmasq"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    )
    .find(|p| p.is_file())
    .unwrap_or_else(|| {
        panic!(
            "dnsmasq not found: run .ci/run (or: apt-get install -y --no-install-recommends \
                 dnsmasq-base)"
        )
    })
}

/// A port free for UDP and TCP on 127.0.0.1 (and on ::1 if `v6`).
fn free_port(v6: bool) -> u16 {
    for _ in 0..100 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind udp");
        let port = udp.local_addr().expect("local_addr").port();
        if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            continue;
        }
        if v6
            && (UdpSocket::bind((Ipv6Addr::LOCALHOST, port)).is_err()
                || TcpListener::bind((Ipv6Addr::LOCALHOST, port)).is_err())
        {
            continue;
        }
        return port;
    }
    panic!("no free loopback port");
}

/// A running dnsmasq. It runs under a small shell that kills it when its
/// stdin (held here) closes: on drop, or when the test process dies.
struct Dnsmasq {
    port: u16,
    dir: tempfile::TempDir,
    shell: Child,
    stdin: Option<ChildStdin>,
}

impl Dnsmasq {
    /// dnsmasq with the given record options (`--mx-host=...` etc.).
    fn start(records: &[&str]) -> Dnsmasq {
        Dnsmasq::start_on(records, false)
    }

    fn start_on(records: &[&str], v6: bool) -> Dnsmasq {
        let bin = dnsmasq_bin();
        let dir = tempfile::Builder::new()
            .prefix("dnsmasq-")
            .tempdir()
            .expect("temp dir");
        let port = free_port(v6);
        let log = fs::File::create(dir.path().join("dnsmasq.log")).expect("log file");
        let log_err = log.try_clone().expect("clone log");
        let listen = if v6 { "127.0.0.1,::1" } else { "127.0.0.1" };
        let mut args: Vec<String> = vec![
            "-k".into(),
            "--conf-file=/dev/null".into(),
            format!("--port={port}"),
            format!("--listen-address={listen}"),
            "--bind-interfaces".into(),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--no-poll".into(),
            "--pid-file=".into(),
            "--local=/test/".into(),
            "--log-queries".into(),
            "--log-facility=-".into(),
            // The readiness probe's name.
            "--host-record=ready.test,127.0.0.1".into(),
        ];
        args.extend(records.iter().map(|r| r.to_string()));
        // The shell starts dnsmasq and a watcher that reads the pipe; at EOF
        // the watcher kills dnsmasq (by its PID) and the shell returns.
        let script = r#"exec 3<&0
"$0" "$@" </dev/null &
p=$!
{ while read -r _; do :; done; kill "$p" 2>/dev/null; } <&3 &
exec 3<&-
wait "$p"
"#;
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(&bin)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stdin = shell.stdin.take();
        let mut d = Dnsmasq {
            port,
            dir,
            shell,
            stdin,
        };
        d.wait_ready();
        d
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut r = self.resolver();
        r.timeout = Duration::from_millis(100);
        r.attempts = 1;
        loop {
            if dns::resolve_host("ready.test", &r).is_ok() {
                return;
            }
            let exited = self.shell.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "dnsmasq did not answer on 127.0.0.1:{} ({})\n{}",
                    self.port,
                    match exited {
                        Some(s) => format!("it exited: {s}"),
                        None => "timed out".into(),
                    },
                    self.log()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn resolver(&self) -> Resolver {
        let mut r = Resolver::new(self.addr());
        r.timeout = Duration::from_secs(2);
        r
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dnsmasq.log")).unwrap_or_default()
    }

    /// The queries dnsmasq logged, e.g. `query[MX] example.test`.
    fn queries(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("query[").map(|(_, q)| format!("query[{q}")))
            .filter_map(|q| q.split(" from ").next().map(str::to_string))
            .filter(|q| !q.ends_with(" ready.test"))
            .collect()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.flush();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match self.shell.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = self.shell.kill();
                    let _ = self.shell.wait();
                    return;
                }
                Ok(None) => thread::sleep(Duration::from_millis(5)),
            }
        }
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(s: &str) -> IpAddr {
    IpAddr::V6(s.parse().expect("IPv6 literal"))
}

#[test]
fn mx_hosts_in_preference_order_ipv6_first() {
    let d = Dnsmasq::start(&[
        "--mx-host=example.test,mx2.example.test,20",
        "--mx-host=example.test,mx1.example.test,10",
        "--mx-host=example.test,mx3.example.test,20",
        "--host-record=mx1.example.test,127.0.0.11,::1",
        "--host-record=mx2.example.test,127.0.0.12",
        "--host-record=mx3.example.test,127.0.0.13,fd00::13",
    ]);
    let r = d.resolver();

    let mxs = dns::lookup_mx("example.test", &r).unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let prefs: Vec<u16> = mxs.iter().map(|m| m.preference).collect();
    assert_eq!(prefs, [10, 20, 20]);
    assert_eq!(mxs[0].exchange, "mx1.example.test");

    let targets = dns::mx_targets("example.test", &r).unwrap();
    assert_eq!(targets.len(), 3, "{targets:?}");
    assert_eq!(
        targets[0],
        (
            "mx1.example.test".to_string(),
            vec![v6("::1"), v4(127, 0, 0, 11)]
        )
    );
    let mut rest = targets[1..].to_vec();
    rest.sort();
    assert_eq!(
        rest,
        [
            ("mx2.example.test".to_string(), vec![v4(127, 0, 0, 12)]),
            (
                "mx3.example.test".to_string(),
                vec![v6("fd00::13"), v4(127, 0, 0, 13)]
            ),
        ]
    );
    // One MX query, then AAAA and A for each host.
    let q = d.queries();
    assert_eq!(q.iter().filter(|q| q.starts_with("query[MX]")).count(), 2);
    assert!(
        q.contains(&"query[AAAA] mx2.example.test".to_string()),
        "{q:?}"
    );
}

#[test]
fn equal_preferences_are_tried_in_random_order() {
    let d = Dnsmasq::start(&[
        "--mx-host=eq.test,a.eq.test,10",
        "--mx-host=eq.test,b.eq.test,10",
        "--mx-host=eq.test,c.eq.test,10",
    ]);
    let r = d.resolver();
    let mut firsts = std::collections::BTreeSet::new();
    for _ in 0..30 {
        let mxs = dns::lookup_mx("eq.test", &r).unwrap();
        assert_eq!(mxs.len(), 3);
        firsts.insert(mxs[0].exchange.clone());
    }
    assert!(firsts.len() > 1, "always the same first MX: {firsts:?}");
}

#[test]
fn no_mx_falls_back_to_the_domains_own_addresses() {
    let d = Dnsmasq::start(&["--host-record=bare.test,127.0.0.13,::1"]);
    let r = d.resolver();
    assert_eq!(dns::lookup_mx("bare.test", &r).unwrap(), []);
    assert_eq!(
        dns::mx_targets("bare.test", &r).unwrap(),
        [("bare.test".to_string(), vec![v6("::1"), v4(127, 0, 0, 13)])]
    );
}

#[test]
fn null_mx_means_no_mail() {
    // dnsmasq serves a null MX for `--mx-host=DOMAIN,.,0`: preference 0,
    // exchange the root.
    let d = Dnsmasq::start(&[
        "--mx-host=nullmx.test,.,0",
        "--host-record=nullmx.test,127.0.0.14",
    ]);
    let r = d.resolver();
    let e = dns::mx_targets("nullmx.test", &r).unwrap_err();
    assert!(matches!(e, DnsError::NullMx { .. }), "{e:?}\n{}", d.log());
    assert_eq!(
        e.to_string(),
        "nullmx.test does not accept mail: it publishes a null MX record (RFC 7505)"
    );
    // The A record is not used as a fallback.
    assert!(!d.queries().iter().any(|q| q.starts_with("query[A]")));
}

#[test]
fn nonexistent_domain_and_mx_host_without_address() {
    let d = Dnsmasq::start(&[
        "--mx-host=broken.test,gone.broken.test,10",
        "--mx-host=half.test,gone.half.test,10",
        "--mx-host=half.test,ok.half.test,20",
        "--host-record=ok.half.test,127.0.0.15",
    ]);
    let r = d.resolver();
    let e = dns::mx_targets("nowhere.test", &r).unwrap_err();
    assert!(matches!(e, DnsError::NxDomain { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with("nowhere.test: no such domain"),
        "{e}"
    );
    // No MX host has an address.
    let e = dns::mx_targets("broken.test", &r).unwrap_err();
    assert_eq!(
        e.to_string(),
        "none of the mail servers of broken.test can be reached: gone.broken.test does not exist"
    );
    // The preferred MX has no address: the next one is used.
    assert_eq!(
        dns::mx_targets("half.test", &r).unwrap(),
        [("ok.half.test".to_string(), vec![v4(127, 0, 0, 15)])]
    );
}

#[test]
fn ipv6_only_host_and_cname() {
    let d = Dnsmasq::start(&[
        "--host-record=v6only.test,::1",
        "--mx-host=six.test,v6only.test,10",
        "--host-record=real.test,127.0.0.16,fd00::16",
        "--cname=alias.test,real.test",
    ]);
    let r = d.resolver();
    assert_eq!(dns::resolve_host("v6only.test", &r).unwrap(), [v6("::1")]);
    assert_eq!(
        dns::mx_targets("six.test", &r).unwrap(),
        [("v6only.test".to_string(), vec![v6("::1")])]
    );
    assert_eq!(
        dns::resolve_host("alias.test", &r).unwrap(),
        [v6("fd00::16"), v4(127, 0, 0, 16)]
    );
}

#[test]
fn big_answer_is_fetched_over_tcp() {
    // 30 MX records with long names do not fit in 512 octets: dnsmasq sets
    // TC over UDP and the resolver asks again over TCP.
    let records: Vec<String> = (0..30)
        .map(|i| {
            format!(
                "--mx-host=big.test,mail-exchanger-number-{i:02}.a-rather-long-label-for-testing.big.test,{}",
                10 + i
            )
        })
        .collect();
    let refs: Vec<&str> = records.iter().map(String::as_str).collect();
    let d = Dnsmasq::start(&refs);
    let mxs = dns::lookup_mx("big.test", &d.resolver()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mxs.len(), 30);
    for (i, mx) in mxs.iter().enumerate() {
        assert_eq!(usize::from(mx.preference), 10 + i);
        assert_eq!(
            mx.exchange,
            format!("mail-exchanger-number-{i:02}.a-rather-long-label-for-testing.big.test")
        );
    }
    // dnsmasq logs TCP queries like UDP ones: the MX query came twice.
    let mx_queries = d
        .queries()
        .iter()
        .filter(|q| q.as_str() == "query[MX] big.test")
        .count();
    assert_eq!(mx_queries, 2, "{}", d.log());
}

#[test]
fn resolver_reached_over_ipv6() {
    let d = Dnsmasq::start_on(&["--host-record=h.test,127.0.0.17,::1"], true);
    let mut r = Resolver::new(SocketAddr::from((Ipv6Addr::LOCALHOST, d.port)));
    r.timeout = Duration::from_secs(2);
    assert_eq!(
        dns::resolve_host("h.test", &r).unwrap(),
        [v6("::1"), v4(127, 0, 0, 17)]
    );
    assert_eq!(
        Resolver::parse_addr(&format!("[::1]:{}", d.port)).unwrap(),
        r.server
    );
}

#[test]
fn refusing_server_and_dead_resolver_give_clear_errors() {
    let d = Dnsmasq::start(&[]);
    // Outside .test dnsmasq has no upstream: REFUSED.
    let e = dns::mx_targets("example.com", &d.resolver()).unwrap_err();
    assert!(
        matches!(e, DnsError::ServerFailure { rcode: 5, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("REFUSED"), "{e}");

    // Nothing listens on the port any more.
    let addr = d.addr();
    drop(d);
    let mut r = Resolver::new(addr);
    r.timeout = Duration::from_millis(200);
    let e = dns::mx_targets("example.test", &r).unwrap_err();
    assert!(
        matches!(e, DnsError::Io { .. } | DnsError::Timeout { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains(&addr.to_string()), "{e}");
}

// ---------------------------------------------------------------------------
// The shell: `connect --mx` and `set resolver`, against dnsmasq + aiosmtpd.
// ---------------------------------------------------------------------------

#[path = "support/mod.rs"]
mod support;

#[test]
fn connect_mx_tries_mail_servers_in_preference_order_and_status_names_the_one_that_answered() {
    let server = support::Aiosmtpd::start();
    // mx1 (preference 10) has an address where nothing listens; mx2 (20) is
    // the real server; the shell must move on from mx1 to mx2.
    let d = Dnsmasq::start(&[
        "--mx-host=shop.test,mx2.shop.test,20",
        "--mx-host=shop.test,mx1.shop.test,10",
        "--host-record=mx1.shop.test,127.0.0.2",
        "--host-record=mx2.shop.test,127.0.0.1",
    ]);
    let script = format!(
        "set resolver {}\nto buyer@shop.test\nconnect --mx {}\nexpect 220\nstatus\nehlo\nfrom a@example.com\nsubject via MX\nbody hello\nsend\nexpect 250\n",
        d.addr(),
        server.port
    );
    let out = support::run_script(&script);
    support::assert_exit(&out, 0, "connect --mx");
    let text = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("mx1.shop.test: 127.0.0.2"), "{text}");
    assert!(
        errors.contains("mx1.shop.test"),
        "the failed first MX is reported: {errors}"
    );
    assert!(
        text.contains("found by MX:  mx2.shop.test, a mail server of shop.test"),
        "{text}"
    );
    let stored = server.wait_for_messages(1);
    assert_eq!(stored[0].rcpt_tos, ["buyer@shop.test"]);
    // The MX query went to our resolver, not the system's.
    assert!(
        d.queries().iter().any(|q| q == "query[MX] shop.test"),
        "{:?}",
        d.queries()
    );
}

#[test]
fn connect_mx_falls_back_to_the_domain_address_and_refuses_a_null_mx() {
    let server = support::Aiosmtpd::start();
    let d = Dnsmasq::start(&[
        "--host-record=plain.test,127.0.0.1",
        "--mx-host=nomail.test,.,0",
    ]);
    let ok = support::run_script(&format!(
        "set resolver {}\nconnect --mx plain.test {}\nexpect 220\nquit\n",
        d.addr(),
        server.port
    ));
    support::assert_exit(&ok, 0, "no MX: the domain's own address");
    let nomail = support::run_script(&format!(
        "set resolver {}\nconnect --mx nomail.test {}\n",
        d.addr(),
        server.port
    ));
    support::assert_exit(&nomail, 3, "null MX");
    let err = String::from_utf8_lossy(&nomail.stderr);
    assert!(err.contains("nomail.test"), "{err}");
    assert!(
        err.to_lowercase().contains("null mx") || err.contains("does not accept mail"),
        "{err}"
    );
    let bad = support::run_script("set resolver not-an-address\n");
    support::assert_exit(&bad, 1, "bad resolver address");
    let none = support::run_script("connect --mx\n");
    support::assert_exit(&none, 1, "no domain and no recipient");
    assert!(String::from_utf8_lossy(&none.stderr).contains("needs a domain"));
}
