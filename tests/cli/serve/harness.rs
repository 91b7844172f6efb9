//! The harness: a `sitedoctor serve` on a free loopback port, a minimal HTTP client, and the
//! checks that count their runs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::testenv::TestEnv;

pub struct Served {
    pub child: Child,
    http: Http,
    /// Its stderr after the first line, as it comes.
    log: Arc<Mutex<String>>,
}

impl std::ops::Deref for Served {
    type Target = Http;
    fn deref(&self) -> &Http {
        &self.http
    }
}

/// A minimal HTTP/1.1 client: one request per connection, the answer read to its end.
pub struct Http {
    pub addr: String,
}

/// An answer: status, headers (names lower-cased) and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Served {
    /// `sitedoctor serve --listen 127.0.0.1:0 ARGS` in `env`: the address is the one the
    /// server says it bound.
    pub fn start(env: &TestEnv, args: &[&str]) -> Served {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Served::spawn(env.command(&all))
    }

    pub fn spawn(mut cmd: Command) -> Served {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut first = String::new();
        err.read_line(&mut first).unwrap();
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| {
                let mut rest = String::new();
                let _ = err.read_to_string(&mut rest);
                panic!("the server did not say where it listens: {first}{rest}")
            })
            .to_string();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        Served {
            child,
            http: Http { addr },
            log,
        }
    }

    /// A client for another server.
    pub fn at(addr: &str) -> Http {
        Http {
            addr: addr.to_string(),
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Send SIGTERM; the exit code and how long the server took to exit.
    pub fn terminate(mut self) -> (Option<i32>, Duration) {
        let t = Instant::now();
        self.signal(nix::sys::signal::Signal::SIGTERM);
        let deadline = t + Duration::from_secs(10);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return (s.code(), t.elapsed());
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Http {
    pub fn get(&self, path: &str) -> Answer {
        self.try_request("GET", path, &[])
            .unwrap_or_else(|e| panic!("GET {path} from {}: {e}", self.addr))
    }

    /// `None` while nothing answers (a server still starting).
    pub fn try_get(&self, path: &str) -> Option<Answer> {
        self.try_request("GET", path, &[]).ok()
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.try_request(method, path, headers)
            .unwrap_or_else(|e| panic!("{method} {path} from {}: {e}", self.addr))
    }

    /// One request on a connection of its own (`Connection: close`), answer read whole.
    fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> std::io::Result<Answer> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes())?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let bad = || std::io::Error::other(format!("not an HTTP answer: {text:?}"));
        let (head, body) = text.split_once("\r\n\r\n").ok_or_else(bad)?;
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse().ok())
            .ok_or_else(bad)?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Ok(Answer {
            status,
            headers,
            body: body.to_string(),
        })
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `cond` until it holds, or fail after `secs` seconds saying `what`.
pub fn until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The path of an installed program; outside CI a missing one skips the test (None), in CI
/// (`CI=true`, where .ci/run installs it) it fails.
pub fn program(path: &str) -> Option<PathBuf> {
    let p = PathBuf::from(path);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "{path} is missing: .ci/run installs it"
    );
    eprintln!("skipped: {path} is not installed (.ci/run installs it)");
    None
}

/// A `command` check that appends a line to `runs.txt` in `env` each time it runs, after
/// `sleep` (so concurrent requests overlap a run), then exits with `exit`.
pub fn counting(id: &str, sleep: &str, exit: u8) -> String {
    format!(
        "[[check]]\nid = \"{id}\"\nkind = \"command\"\nshell = true\ncommand = \"echo run >> runs.txt; sleep {sleep}; exit {exit}\"\n"
    )
}

pub fn runs(env: &TestEnv) -> usize {
    std::fs::read_to_string(env.path().join("runs.txt")).map_or(0, |s| s.lines().count())
}
