//! Opening a connection: name resolution and TCP connect on helper
//! threads (so Ctrl-C and the connect timeout are honoured), implicit TLS,
//! and the greeting; or a UNIX-domain socket ([`Connection::open_unix`]).

use super::timeout::{SLICE, TimeoutPhase, Wait, human_duration, interruptible};
use super::{ConnError, ConnectOptions, Connection, Endpoint, Event, Observer, SocketProblem, net};
use crate::smtp::reply::Reply;
use crate::smtp::tls::{Phase, TlsClient, TlsStream};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// A host name without IPv6 brackets (`[::1]` → `::1`).
pub(super) fn bare_host(host: &str) -> String {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_string()
}

impl Connection {
    /// Resolves `host`, tries each address in turn until one accepts a TCP
    /// connection, then reads the greeting (which may be any code: the
    /// caller judges it). `host` may be a name, an IPv4 address or an IPv6
    /// address with or without brackets.
    pub fn open(
        host: &str,
        port: u16,
        options: ConnectOptions,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        Connection::open_with(host, port, options, None, observer)
    }
    /// Like [`Connection::open`], with implicit TLS (RFC 8314, port 465):
    /// the TLS handshake right after the TCP connect, then the greeting
    /// inside TLS. The certificate is checked against `host`.
    pub fn open_tls(
        host: &str,
        port: u16,
        options: ConnectOptions,
        tls: &TlsClient,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        Connection::open_with(host, port, options, Some(tls), observer)
    }
    fn open_with(
        host: &str,
        port: u16,
        options: ConnectOptions,
        tls: Option<&TlsClient>,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        let addrs = resolve(host, port, &options)?;
        Connection::open_addrs(host, &addrs, options, tls, observer)
    }
    /// Connects to `addrs` in order (e.g. the addresses of an MX host found
    /// with [`crate::smtp::dns`]) and reads the greeting; `host` is the name
    /// shown and, with `tls` (implicit TLS), the name the certificate is
    /// checked against.
    pub fn open_addrs(
        host: &str,
        addrs: &[SocketAddr],
        options: ConnectOptions,
        tls: Option<&TlsClient>,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        let name = bare_host(host);
        let timeout = TimeoutPhase::Connect.timeout(options.timeout);
        let addrs = options.net.choose(host, addrs.to_vec())?;
        let mut last_error = None;
        let mut connected = None;
        for (i, &addr) in addrs.iter().enumerate() {
            let net = options.net.clone();
            let attempt = move || net.connect(addr, timeout);
            // The thread gives up by itself after `timeout`; wait a bit longer
            // so its own result (refused, timed out) is what we report.
            let result = match interruptible(&options.interrupt, timeout + SLICE * 5, attempt) {
                Wait::Done(result) => result,
                Wait::Interrupted => return Err(ConnError::Interrupted),
                Wait::TimedOut => Err(io::Error::from(io::ErrorKind::TimedOut)),
                Wait::NoThread(e) => Err(e),
            };
            let result = match result.map_err(net::bind_failure) {
                Ok(stream) => Ok(stream),
                // The source address is not ours: no other address will do better.
                Err(Ok(bind)) => return Err(bind),
                Err(Err(e)) => Err(e),
            };
            match result {
                Ok(stream) => {
                    connected = Some((stream, addr));
                    break;
                }
                Err(e) => {
                    if let Some(next) = addrs.get(i + 1) {
                        let note = format!("could not connect to {addr} ({e}); trying {next}");
                        observer.event(Event::Notice(&note));
                    }
                    last_error = Some((addr, e));
                }
            }
        }
        let (stream, peer) = match (connected, last_error) {
            (Some(c), _) => c,
            (None, Some((addr, source))) => return Err(ConnError::Connect { addr, source }),
            (None, None) => {
                return Err(resolve_error(host, io::ErrorKind::NotFound.into()));
            }
        };
        // Commands are small and each waits for a reply: no Nagle delay.
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().map_err(ConnError::Io)?;
        let mut stream = stream;
        // The PROXY header comes before anything else, TLS included.
        if let Some(shown) = options.net.send_proxy(&mut stream, local, peer, timeout)? {
            observer.event(Event::Sent {
                line: &shown,
                secure: false,
            });
        }
        let mut conn = match tls {
            None => Connection::from_stream(Box::new(stream), peer, local, host, options),
            Some(client) => {
                let (stream, info) = TlsStream::handshake(
                    Box::new(stream),
                    client,
                    &name,
                    Phase::Implicit,
                    TimeoutPhase::Greeting.timeout(options.timeout),
                    &options.interrupt,
                )?;
                let mut conn =
                    Connection::from_stream(Box::new(stream), peer, local, host, options);
                conn.conversation = crate::smtp::client::Conversation::new(true);
                conn.tls = Some(info);
                conn
            }
        };
        let greeting = conn.read_reply("the greeting", observer)?;
        Ok((conn, greeting))
    }
}

impl Connection {
    /// Connects to the UNIX-domain socket at `path` and reads the greeting
    /// (any code: the caller judges it). What is wrong with the path is
    /// told apart ([`SocketProblem`]): nothing there, not a socket,
    /// permission denied, no server listening. No TLS: a certificate is
    /// checked against a host name, which a socket path is not.
    pub fn open_unix(
        path: &Path,
        options: ConnectOptions,
        observer: &mut dyn Observer,
    ) -> Result<(Connection, Reply), ConnError> {
        let socket_error = |problem, source| ConnError::Socket {
            path: path.to_path_buf(),
            problem,
            source,
        };
        match std::fs::metadata(path) {
            Err(e) => return Err(socket_error(problem_of(&e), e)),
            Ok(m) if !m.file_type().is_socket() => {
                let what = if m.is_dir() {
                    "a directory"
                } else if m.is_file() {
                    "a regular file"
                } else {
                    "not a socket"
                };
                return Err(socket_error(
                    SocketProblem::NotASocket,
                    io::Error::new(io::ErrorKind::InvalidInput, what),
                ));
            }
            Ok(_) => {}
        }
        let timeout = TimeoutPhase::Connect.timeout(options.timeout);
        let target = path.to_path_buf();
        let attempt = move || UnixStream::connect(&target);
        let stream = match interruptible(&options.interrupt, timeout + SLICE * 5, attempt) {
            Wait::Done(Ok(stream)) => stream,
            Wait::Done(Err(e)) | Wait::NoThread(e) => {
                return Err(socket_error(problem_of(&e), e));
            }
            Wait::Interrupted => return Err(ConnError::Interrupted),
            Wait::TimedOut => {
                let e = io::Error::from(io::ErrorKind::TimedOut);
                return Err(socket_error(SocketProblem::Other, e));
            }
        };
        let shown = format!("unix:{}", path.display());
        let mut conn = Connection::on(
            Box::new(stream),
            Endpoint::Unix(path.to_path_buf()),
            &shown,
            options,
        );
        let greeting = conn.read_reply("the greeting", observer)?;
        Ok((conn, greeting))
    }
}

/// What an error connecting to a socket path says about the path.
pub(super) fn problem_of(e: &io::Error) -> SocketProblem {
    match e.kind() {
        io::ErrorKind::NotFound => SocketProblem::Missing,
        io::ErrorKind::PermissionDenied => SocketProblem::PermissionDenied,
        io::ErrorKind::ConnectionRefused => SocketProblem::NoListener,
        io::ErrorKind::NotADirectory => SocketProblem::Missing,
        _ => SocketProblem::Other,
    }
}

/// A name resolution failure for `host`.
fn resolve_error(host: &str, source: io::Error) -> ConnError {
    ConnError::Resolve {
        host: host.to_string(),
        source,
    }
}

/// The addresses of `host` (an address literal needs no resolver, nor a
/// helper thread); the lookup runs on a helper thread so that Ctrl-C and
/// the connect timeout are honoured.
fn resolve(host: &str, port: u16, options: &ConnectOptions) -> Result<Vec<SocketAddr>, ConnError> {
    let name = bare_host(host);
    if name.is_empty() {
        return Err(resolve_error(
            host,
            io::Error::new(io::ErrorKind::InvalidInput, "the host name is empty"),
        ));
    }
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let timeout = TimeoutPhase::Connect.timeout(options.timeout);
    let lookup = move || (name.as_str(), port).to_socket_addrs().map(Vec::from_iter);
    match interruptible(&options.interrupt, timeout, lookup) {
        Wait::Done(Ok(addrs)) if !addrs.is_empty() => Ok(addrs),
        Wait::Done(Ok(_)) => Err(resolve_error(
            host,
            io::Error::new(io::ErrorKind::NotFound, "the name has no addresses"),
        )),
        Wait::Done(Err(e)) | Wait::NoThread(e) => Err(resolve_error(host, e)),
        Wait::Interrupted => Err(ConnError::Interrupted),
        Wait::TimedOut => Err(resolve_error(
            host,
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no answer from the resolver within {}",
                    human_duration(timeout)
                ),
            ),
        )),
    }
}
