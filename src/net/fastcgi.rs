//! A minimal FastCGI client: one responder request to an app server on this host (a PHP-FPM
//! pool's `listen`), bounded in time and size — enough to read a pool's status page.
//! It connects only to a Unix socket or a loopback address, never elsewhere.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const VERSION: u8 = 1;
const BEGIN_REQUEST: u8 = 1;
const END_REQUEST: u8 = 3;
const PARAMS: u8 = 4;
const STDIN: u8 = 5;
const STDOUT: u8 = 6;
const STDERR: u8 = 7;
const RESPONDER: u16 = 1;
const REQUEST_ID: u16 = 1;
/// What is kept of the server's error stream: enough for its first lines.
const STDERR_CAP: usize = 4096;

/// Where an app server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Unix(PathBuf),
    Tcp(SocketAddr),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Unix(p) => write!(
                f,
                "unix:{}",
                crate::sanitize::terminal(&p.to_string_lossy())
            ),
            Target::Tcp(a) => write!(f, "{a}"),
        }
    }
}

/// Why a request could not be made or answered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0} is not an address on this host: only a Unix socket or a loopback address is asked"
    )]
    NotLocal(String),
    #[error("{0} is not an address a FastCGI server can listen on")]
    BadAddress(String),
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("{target} did not answer within {after}")]
    Timeout { target: String, after: String },
    #[error("{target} answered more than {cap} bytes: the answer was not read")]
    TooLarge { target: String, cap: usize },
    #[error("{target} does not speak FastCGI as expected: {reason}")]
    Protocol { target: String, reason: String },
    #[error("{target} answered {status}{detail}")]
    Status {
        target: String,
        status: String,
        detail: String,
    },
    #[error("reading from {target} failed: {reason}")]
    Io { target: String, reason: String },
}

impl Target {
    /// A PHP-FPM `listen` value: `/run/php/php8.2-fpm.sock`, `127.0.0.1:9000`, `[::1]:9000`,
    /// `localhost:9000`, or a port alone (all addresses, reached here on 127.0.0.1). An
    /// all-addresses host (`0.0.0.0`, `[::]`) is reached on loopback; any other address that
    /// is not loopback is refused. A relative socket path is refused (it depends on FPM's
    /// prefix, which is not known here).
    pub fn from_listen(listen: &str) -> Result<Target, Error> {
        let l = listen.trim();
        if l.starts_with('/') {
            return Ok(Target::Unix(PathBuf::from(l)));
        }
        if let Ok(port) = l.parse::<u16>() {
            return Ok(Target::Tcp(SocketAddr::new(
                Ipv4Addr::LOCALHOST.into(),
                port,
            )));
        }
        let bad = || Error::BadAddress(crate::sanitize::terminal(l));
        let (host, port) = l.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip = match bare.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() && ip.is_ipv4() => Ipv4Addr::LOCALHOST.into(),
            Ok(ip) if ip.is_unspecified() => Ipv6Addr::LOCALHOST.into(),
            Ok(ip) if ip.to_canonical().is_loopback() => ip,
            Ok(_) => return Err(Error::NotLocal(crate::sanitize::terminal(l))),
            Err(_) if bare.is_empty() || bare == "*" => Ipv4Addr::LOCALHOST.into(),
            Err(_) => super::loopback_addrs(bare)
                .and_then(|ips| ips.first().copied())
                .ok_or_else(|| Error::NotLocal(crate::sanitize::terminal(l)))?,
        };
        Ok(Target::Tcp(SocketAddr::new(ip, port)))
    }
}

/// An app server's answer: the CGI headers and the body after them, and what it wrote to
/// its error stream.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Response {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Send one responder request with `params` and an empty body to `target`, and read the
/// answer: at most `cap` bytes of it, all within `timeout` (connecting included). An answer
/// with a `Status:` other than 2xx is an error.
pub fn request(
    target: &Target,
    params: &[(&str, &str)],
    timeout: Duration,
    cap: usize,
) -> Result<Response, Error> {
    let deadline = Instant::now() + timeout;
    let conn = connect(target, timeout)?;
    let name = target.to_string();
    let mut conn = Deadlined { conn, deadline };
    conn.write_all(&encode_request(params))
        .map_err(|e| io_error(&name, e, timeout))?;
    let mut raw = Vec::new();
    let mut stderr = Vec::new();
    read_records(&mut conn, &mut raw, &mut stderr, cap)
        .map_err(|e| e.named(&name, timeout, cap))?;
    let mut r = split_headers(&raw).ok_or_else(|| Error::Protocol {
        target: name.clone(),
        reason: "its answer has no CGI headers".into(),
    })?;
    r.stderr = stderr;
    check_status(&r, &name)?;
    Ok(r)
}

fn check_status(r: &Response, target: &str) -> Result<(), Error> {
    let Some((_, status)) = r
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("status"))
    else {
        return Ok(());
    };
    if status.trim_start().starts_with('2') {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&r.stderr);
    let said = said.lines().map(str::trim).find(|l| !l.is_empty());
    Err(Error::Status {
        target: target.to_string(),
        status: crate::sanitize::terminal(status.trim()),
        detail: said.map_or(String::new(), |l| {
            format!(" ({})", crate::sanitize::terminal(l))
        }),
    })
}

fn timed_out(target: &str, after: Duration) -> Error {
    Error::Timeout {
        target: target.to_string(),
        after: crate::units::fmt_duration(after),
    }
}

fn io_error(target: &str, e: std::io::Error, timeout: Duration) -> Error {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => timed_out(target, timeout),
        _ => Error::Io {
            target: target.to_string(),
            reason: crate::sys::io_reason(&e),
        },
    }
}

/// A connection to either kind of target.
enum Conn {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream),
}

/// A connection whose every read and write gives up at one deadline, so a server that
/// trickles its answer cannot stretch the request beyond it.
struct Deadlined {
    conn: Conn,
    deadline: Instant,
}

impl Deadlined {
    /// The time left, set on the socket; an error once it is spent.
    fn arm(&self) -> std::io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        match &self.conn {
            Conn::Unix(s) => s
                .set_read_timeout(Some(left))
                .and(s.set_write_timeout(Some(left))),
            Conn::Tcp(s) => s
                .set_read_timeout(Some(left))
                .and(s.set_write_timeout(Some(left))),
        }
    }
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        match &mut self.conn {
            Conn::Unix(s) => s.read(buf),
            Conn::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        match &mut self.conn {
            Conn::Unix(s) => s.write(buf),
            Conn::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn connect(target: &Target, timeout: Duration) -> Result<Conn, Error> {
    match target {
        Target::Tcp(a) => {
            if !a.ip().to_canonical().is_loopback() {
                return Err(Error::NotLocal(a.to_string()));
            }
            super::connect(&[*a], timeout)
                .map(Conn::Tcp)
                .map_err(|reason| Error::Connect {
                    target: target.to_string(),
                    reason,
                })
        }
        Target::Unix(p) => connect_unix(p, target, timeout).map(Conn::Unix),
    }
}

/// A Unix socket's connect blocks while the server's backlog is full and cannot be given a
/// timeout: it runs in a thread of its own, whose result is dropped if it comes too late.
fn connect_unix(
    path: &std::path::Path,
    target: &Target,
    timeout: Duration,
) -> Result<std::os::unix::net::UnixStream, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    let name = target.to_string();
    std::thread::Builder::new()
        .name("fastcgi-connect".into())
        .spawn(move || {
            let _ = tx.send(std::os::unix::net::UnixStream::connect(p));
        })
        .map_err(|e| Error::Connect {
            target: name.clone(),
            reason: format!("could not start a thread: {e}"),
        })?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(Error::Connect {
            target: name,
            reason: crate::sys::io_reason(&e),
        }),
        Err(_) => Err(timed_out(&name, timeout)),
    }
}

/// One record: header, content and padding to a multiple of 8.
pub fn record(kind: u8, content: &[u8]) -> Vec<u8> {
    debug_assert!(content.len() <= usize::from(u16::MAX));
    let len = content.len() as u16;
    let pad = (8 - content.len() % 8) % 8;
    let mut r = Vec::with_capacity(8 + content.len() + pad);
    r.extend_from_slice(&[VERSION, kind]);
    r.extend_from_slice(&REQUEST_ID.to_be_bytes());
    r.extend_from_slice(&len.to_be_bytes());
    r.extend_from_slice(&[pad as u8, 0]);
    r.extend_from_slice(content);
    r.resize(r.len() + pad, 0);
    r
}

/// A name-value pair's length: one byte below 128, else four with the high bit set.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 128 {
        out.push(len as u8);
    } else {
        out.extend_from_slice(&((len as u32) | 0x8000_0000).to_be_bytes());
    }
}

/// The whole request: BEGIN_REQUEST (responder, close the connection after), the params in
/// records of at most 65535 bytes, an empty PARAMS and an empty STDIN.
pub fn encode_request(params: &[(&str, &str)]) -> Vec<u8> {
    let mut begin = RESPONDER.to_be_bytes().to_vec();
    begin.extend_from_slice(&[0; 6]);
    let mut out = record(BEGIN_REQUEST, &begin);
    let mut stream = Vec::new();
    for (k, v) in params {
        push_len(&mut stream, k.len());
        push_len(&mut stream, v.len());
        stream.extend_from_slice(k.as_bytes());
        stream.extend_from_slice(v.as_bytes());
    }
    for chunk in stream.chunks(usize::from(u16::MAX)) {
        out.extend(record(PARAMS, chunk));
    }
    out.extend(record(PARAMS, &[]));
    out.extend(record(STDIN, &[]));
    out
}

/// What went wrong reading records, before it is given the target's name.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    TooLarge,
    Protocol(String),
}

impl ReadError {
    fn named(self, target: &str, timeout: Duration, cap: usize) -> Error {
        match self {
            ReadError::Io(e) => io_error(target, e, timeout),
            ReadError::TooLarge => Error::TooLarge {
                target: target.to_string(),
                cap,
            },
            ReadError::Protocol(reason) => Error::Protocol {
                target: target.to_string(),
                reason,
            },
        }
    }
}

/// Read records until END_REQUEST: STDOUT into `out` (at most `cap` bytes), STDERR into
/// `err` (its first bytes), others skipped. A server that closes before END_REQUEST is an
/// error.
pub fn read_records(
    r: &mut impl Read,
    out: &mut Vec<u8>,
    err: &mut Vec<u8>,
    cap: usize,
) -> Result<(), ReadError> {
    let mut content = vec![0u8; usize::from(u16::MAX) + 255];
    loop {
        let mut h = [0u8; 8];
        read_full(r, &mut h)?;
        if h[0] != VERSION {
            return Err(ReadError::Protocol(format!(
                "a record of version {} (expected 1)",
                h[0]
            )));
        }
        let id = u16::from_be_bytes([h[2], h[3]]);
        let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
        let body = &mut content[..len + usize::from(h[6])];
        read_full(r, body)?;
        let data = &body[..len];
        if id != REQUEST_ID {
            continue;
        }
        match h[1] {
            STDOUT => {
                if out.len() + data.len() > cap {
                    return Err(ReadError::TooLarge);
                }
                out.extend_from_slice(data);
            }
            STDERR => {
                let room = STDERR_CAP.saturating_sub(err.len()).min(data.len());
                err.extend_from_slice(&data[..room]);
            }
            END_REQUEST => return Ok(()),
            _ => {}
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<(), ReadError> {
    match r.read_exact(buf) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(ReadError::Protocol(
            "it closed the connection before the end of its answer".into(),
        )),
        Err(e) => Err(ReadError::Io(e)),
    }
}

/// The CGI headers (up to the first empty line) and the body after them; `None` when there
/// is no empty line.
pub fn split_headers(raw: &[u8]) -> Option<Response> {
    let (head, body) = [&b"\r\n\r\n"[..], b"\n\n"]
        .iter()
        .filter_map(|sep| {
            memchr::memmem::find(raw, sep).map(|at| (at, &raw[..at], &raw[at + sep.len()..]))
        })
        .min_by_key(|(at, _, _)| *at)
        .map(|(_, h, b)| (h, b))?;
    let headers = String::from_utf8_lossy(head)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Response {
        headers,
        body: body.to_vec(),
        stderr: Vec::new(),
    })
}

#[cfg(test)]
#[path = "fastcgi_tests.rs"]
mod tests;
