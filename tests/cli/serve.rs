//! `sitedoctor serve`: the real server on a free loopback port, asked over real TCP.

mod browser;
mod prometheus;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::testenv::{TestEnv, json, selftest};

/// A running `sitedoctor serve`, killed when dropped; asked through [`Http`].
pub struct Served {
    child: Child,
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

#[test]
fn healthz_is_200_when_the_run_passes_and_503_when_a_check_fails() {
    let ok = TestEnv::new().config(&selftest("fine", "result = \"pass\""));
    let s = Served::start(&ok, &[]);
    let a = s.get("/healthz");
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(
        a.body.starts_with("all clear: 1 passed — 1 check(s) on "),
        "{}",
        a.body
    );
    assert_eq!(a.body.lines().count(), 1);

    let bad =
        TestEnv::new().config(&(selftest("fine", "") + &selftest("broken", "result = \"fail\"")));
    let s = Served::start(&bad, &[]);
    let a = s.get("/healthz");
    assert_eq!(a.status, 503);
    assert!(
        a.body
            .starts_with("problems found: 1 failed, 1 passed — 2 check(s) on "),
        "{}",
        a.body
    );
}

#[test]
fn healthz_lets_a_warning_pass_unless_told_otherwise() {
    let env = TestEnv::new().config(&selftest("cert", "result = \"warn\""));
    assert_eq!(Served::start(&env, &[]).get("/healthz").status, 200);
    assert_eq!(
        Served::start(&env, &["--fail-on", "warn"])
            .get("/healthz")
            .status,
        503
    );
    // Before the subcommand, as a global option, too.
    let mut cmd = env.command(&["--fail-on", "warn", "serve", "--listen", "127.0.0.1:0"]);
    cmd.env("SITEDOCTOR_SELFTEST", "1");
    assert_eq!(Served::spawn(cmd).get("/healthz").status, 503);
    // An error is never healthy.
    let env = TestEnv::new().config(&selftest("broken", "result = \"error\""));
    assert_eq!(Served::start(&env, &[]).get("/healthz").status, 503);
}

#[test]
fn metrics_and_report_are_the_formats_of_a_one_off_run() {
    let env = TestEnv::new().config(&(selftest("one", "") + &selftest("two", "result = \"fail\"")));
    let s = Served::start(&env, &[]);
    let m = s.get("/metrics");
    assert_eq!(m.status, 200);
    assert_eq!(
        m.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for line in [
        "sitedoctor_check_status{id=\"one\",kind=\"selftest\"} 0",
        "sitedoctor_check_status{id=\"two\",kind=\"selftest\"} 2",
        "# TYPE sitedoctor_last_run_timestamp_seconds gauge",
        "# TYPE sitedoctor_run_duration_seconds gauge",
        "# TYPE sitedoctor_serve_runs_total counter",
        "sitedoctor_serve_runs_total 1",
    ] {
        assert!(
            m.body.lines().any(|l| l == line),
            "no {line:?} in\n{}",
            m.body
        );
    }
    // The same families as --format prometheus, in the same order.
    let families = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    };
    let one_off = env.run(&["--format", "prometheus"]);
    let mut expected = families(&one_off.stdout);
    expected.push("sitedoctor_serve_runs_total".into());
    assert_eq!(families(&m.body), expected);

    let r = s.get("/report.json");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let served: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let local = json(&env.run(&["--format", "json"]));
    assert_eq!(served["schema"], 1);
    let shape = |v: &serde_json::Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(shape(&served), shape(&local));
    assert_eq!(served["summary"], local["summary"]);
    assert_eq!(served["checks"][1]["id"], "two");
    assert_eq!(served["checks"][1]["status"], "fail");
}

#[test]
fn unknown_paths_are_404_and_other_methods_405() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let s = Served::start(&env, &[]);
    assert_eq!(s.get("/nope").status, 404);
    assert_eq!(s.get("/healthz/extra").status, 404);
    let post = s.request("POST", "/healthz", &[("Content-Length", "0")]);
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let head = s.request("HEAD", "/healthz", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.body, "");
    // A query string does not change the path.
    assert_eq!(s.get("/healthz?verbose=1").status, 200);
}

#[test]
fn concurrent_requests_share_one_run() {
    let env = TestEnv::new().config(&counting("counted", "0.5", 0));
    let s = Arc::new(Served::start(&env, &[]));
    let paths = ["/healthz", "/metrics", "/report.json", "/"];
    let threads: Vec<_> = (0..32)
        .map(|i| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || s.get(paths[i % paths.len()]).status)
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    assert_eq!(
        runs(&env),
        1,
        "32 requests in one cache period ran the checks more than once"
    );
    // Within the cache period, later requests are answered from it.
    for _ in 0..5 {
        assert_eq!(s.get("/healthz").status, 200);
    }
    assert_eq!(runs(&env), 1);
}

#[test]
fn a_stale_cache_runs_again_on_the_next_request() {
    let env = TestEnv::new().config(&counting("counted", "0", 0));
    let s = Served::start(&env, &["--cache", "0s"]);
    for n in 1..=3 {
        assert_eq!(s.get("/healthz").status, 200);
        assert_eq!(runs(&env), n);
    }
    assert!(
        s.get("/metrics")
            .body
            .contains("\nsitedoctor_serve_runs_total 4\n")
    );
}

#[test]
fn with_an_interval_runs_happen_in_the_background_and_requests_never_wait() {
    let env = TestEnv::new().config(&counting("counted", "0.4", 0));
    let s = Served::start(&env, &["--interval", "100ms"]);
    // Runs start without any request.
    until(20, "three background runs", || runs(&env) >= 3);
    // The first run is over: from now on a request is answered from the last result, even
    // while a run (0.4s) is under way.
    for _ in 0..10 {
        let t = Instant::now();
        assert_eq!(s.get("/healthz").status, 200);
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "a request waited {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn sighup_rereads_the_configuration_and_keeps_it_when_the_new_one_is_bad() {
    let env = TestEnv::new().config(&selftest("before", ""));
    let s = Served::start(&env, &[]);
    assert!(s.get("/report.json").body.contains("\"before\""));

    env.file("sitedoctor.toml", &selftest("after", "result = \"fail\""));
    s.signal(nix::sys::signal::Signal::SIGHUP);
    // The next request after the reload runs the new checks, however fresh the cache was.
    until(10, "the new configuration", || {
        s.get("/report.json").body.contains("\"after\"")
    });
    assert_eq!(s.get("/healthz").status, 503);
    assert!(
        s.log()
            .contains("SIGHUP: reloaded the configuration: 1 check(s)"),
        "{}",
        s.log()
    );

    env.file(
        "sitedoctor.toml",
        "[[check]]\nid = \"typo\"\nkind = \"no-such-kind\"\n",
    );
    s.signal(nix::sys::signal::Signal::SIGHUP);
    until(10, "the reload to be refused", || {
        s.log().contains("keeping the configuration in use")
    });
    assert!(s.log().contains("no-such-kind"), "{}", s.log());
    let r = s.get("/report.json");
    assert!(r.body.contains("\"after\"") && !r.body.contains("typo"));
}

#[test]
fn sigterm_stops_the_server_with_0_within_a_second() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let s = Served::start(&env, &[]);
    assert_eq!(s.get("/healthz").status, 200);
    // A client in the middle of its request does not hold the stop up.
    let mut slow = TcpStream::connect(&s.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (code, took) = s.terminate();
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn sigint_stops_it_as_an_interruption() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let mut s = Served::start(&env, &[]);
    s.signal(nix::sys::signal::Signal::SIGINT);
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
}

#[test]
fn a_slow_client_stalls_neither_other_clients_nor_runs() {
    let env = TestEnv::new().config(&counting("counted", "0", 0));
    let s = Served::start(&env, &["--cache", "0s"]);
    // Half a request each, never finished.
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut c = TcpStream::connect(&s.addr).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            c
        })
        .collect();
    for n in 1..=5 {
        let t = Instant::now();
        assert_eq!(s.get("/healthz").status, 200);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "a request took {:?}",
            t.elapsed()
        );
        assert_eq!(runs(&env), n);
    }
    // And the server hangs up on the slow one once its time to send the headers is up.
    let c = &mut slow[0];
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 512];
    let closed = match c.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 408"),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "the slow connection was not closed");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "closed only after {:?}",
        t.elapsed()
    );
}

#[test]
fn oversized_headers_are_refused() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let s = Served::start(&env, &[]);
    let big = "x".repeat(20 * 1024);
    let a = s.request("GET", "/healthz", &[("X-Big", &big)]);
    assert_eq!(a.status, 431);
    assert_eq!(s.get("/healthz").status, 200);
}

#[test]
fn the_token_guards_the_page_and_the_report_but_not_health_or_metrics() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new().config(&selftest("one", ""));
    let token = "6f1d0c3e9a2b4d5f8e7c6b5a4d3c2b1a";
    let file = env.file("token", &format!("{token}\n"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let s = Served::start(&env, &["--token-file", "token"]);
    for path in ["/", "/report.json"] {
        let a = s.get(path);
        assert_eq!(a.status, 401, "{path}");
        assert_eq!(
            a.header("www-authenticate"),
            Some("Bearer realm=\"sitedoctor\"")
        );
        assert!(!a.body.contains(token));
        let wrong = s.request(
            "GET",
            path,
            &[("Authorization", "Bearer 6f1d0c3e9a2b4d5f8e7c6b5a4d3c2b1b")],
        );
        assert_eq!(wrong.status, 401, "{path}");
        let right = s.request(
            "GET",
            path,
            &[("Authorization", &format!("Bearer {token}"))],
        );
        assert_eq!(right.status, 200, "{path}");
    }
    assert_eq!(s.get("/healthz").status, 200);
    assert_eq!(s.get("/metrics").status, 200);
    assert!(!s.log().contains(token));
}

#[test]
fn beyond_loopback_a_token_file_is_required_and_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new().config(&selftest("one", ""));
    let out = env.run(&["serve", "--listen", "0.0.0.0:9947"]);
    out.expect_code(64);
    assert!(
        out.stderr
            .contains("--listen 0.0.0.0:9947 is reachable from other hosts: give --token-file"),
        "{}",
        out.stderr
    );

    let file = env.file("token", "6f1d0c3e9a2b4d5f8e7c6b5a4d3c2b1a\n");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["serve", "--listen", "[::]:9947", "--token-file", "token"]);
    out.expect_code(64);
    assert!(
        out.stderr
            .contains("--token-file token is readable by other users: chmod o-rwx token"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("6f1d0c3e"));

    env.file("short", "abc\n");
    std::fs::set_permissions(
        env.path().join("short"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = env.run(&["serve", "--token-file", "short"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("at least 16 characters"),
        "{}",
        out.stderr
    );

    let out = env.run(&["serve", "--listen", "localhost"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("expected an address and port"),
        "{}",
        out.stderr
    );
}

#[test]
fn the_configuration_and_selection_are_checked_before_listening() {
    let env = TestEnv::new().config("[[check]]\nid = \"x\"\nkind = \"no-such-kind\"\n");
    env.run(&["serve", "--listen", "127.0.0.1:0"])
        .expect_code(78);
    let env = TestEnv::new().config(&selftest("one", ""));
    let out = env.run(&["serve", "--listen", "127.0.0.1:0", "--only", "nothing"]);
    out.expect_code(64);
    assert!(
        out.stderr
            .contains("no check has the id or tag \"nothing\""),
        "{}",
        out.stderr
    );
}

#[test]
fn only_skip_and_timeout_apply_to_every_run() {
    let env = TestEnv::new().config(
        &(selftest("kept", "")
            + &selftest("left-out", "result = \"fail\"")
            + &selftest("slow", "sleep = \"5s\"")),
    );
    let s = Served::start(&env, &["--skip", "left-out", "--timeout", "200ms"]);
    let r: serde_json::Value = serde_json::from_str(&s.get("/report.json").body).unwrap();
    let ids: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["kept", "slow"]);
    assert_eq!(r["checks"][1]["status"], "error");
    assert!(
        r["checks"][1]["summary"]
            .as_str()
            .unwrap()
            .contains("timed out after 200ms")
    );
}

#[test]
fn the_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let env = TestEnv::new().config(&selftest("one", ""));
    let out = env.run(&["serve", "--listen", &addr]);
    out.expect_code(74);
    assert!(
        out.stderr
            .contains(&format!("cannot listen on {addr}: Address already in use")),
        "{}",
        out.stderr
    );
}

#[test]
fn sigterm_lets_an_answer_under_way_finish() {
    let env = TestEnv::new().config(&counting("counted", "0.3", 0));
    let s = Served::start(&env, &[]);
    let http = Served::at(&s.addr);
    let waiting = std::thread::spawn(move || http.get("/healthz").status);
    // The request is in, waiting for the run it started.
    until(10, "the run to start", || runs(&env) == 1);
    let (code, took) = s.terminate();
    assert_eq!(waiting.join().unwrap(), 200);
    assert_eq!(code, Some(0));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[test]
fn connections_beyond_the_cap_are_closed_at_once() {
    let env = TestEnv::new().config(&selftest("one", ""));
    let s = Served::start(&env, &[]);
    // The cap (256) taken by clients that never finish their request.
    let slow: Vec<TcpStream> = (0..256)
        .map(|_| {
            let mut c = TcpStream::connect(&s.addr).unwrap();
            c.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
            c
        })
        .collect();
    // One more is hung up on, not queued behind them.
    until(10, "a connection beyond the cap to be closed", || {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let _ = c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buf = [0u8; 64];
        matches!(c.read(&mut buf), Ok(0))
            || matches!(c.read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset)
    });
    // Once they go, the server answers again.
    drop(slow);
    until(10, "the server to answer again", || {
        s.try_get("/healthz").is_some_and(|a| a.status == 200)
    });
}
