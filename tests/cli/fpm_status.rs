//! `workers` against a real PHP-FPM with its status page enabled: a worker waiting on a hung
//! API is named by the request it serves, and a script that runs long without a connection
//! is reported on its own — query secrets masked.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sitedoctor::net::fastcgi::{self, Target};

use crate::testenv::{TestEnv, json};

/// A PHP-FPM master in its own process group, stopped with its workers when dropped.
struct Fpm {
    child: Child,
    log: PathBuf,
}

impl Drop for Fpm {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, killpg};
        let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = killpg(group, Signal::SIGTERM);
        let _ = self.child.wait();
        let _ = killpg(group, Signal::SIGKILL);
    }
}

fn fpm_binary() -> Option<PathBuf> {
    let p = PathBuf::from("/usr/sbin/php-fpm8.2");
    p.is_file().then_some(p)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Start `bin` with the pool file `conf` and wait until it accepts on `addr`.
fn start_fpm(bin: &Path, conf: &Path, prefix: &Path, addr: SocketAddr) -> Fpm {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(bin);
    c.arg("-F")
        .arg("-y")
        .arg(conf)
        .arg("-p")
        .arg(prefix)
        .process_group(0);
    if nix::unistd::Uid::effective().is_root() {
        c.arg("-R");
    }
    let mut fpm = Fpm {
        child: c.spawn().unwrap(),
        log: prefix.join("fpm.log"),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        let exited = fpm.child.try_wait().unwrap();
        if exited.is_some() || Instant::now() > deadline {
            panic!(
                "php-fpm did not start ({exited:?}): {}",
                std::fs::read_to_string(&fpm.log).unwrap_or_default()
            );
        }
        std::thread::yield_now();
    }
    fpm
}

/// An API that accepts, tells `arrived` once a request came, and never answers.
fn hung_api(arrived: mpsc::Sender<()>) -> u16 {
    let api = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = api.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut conn, _) = api.accept().unwrap();
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).unwrap();
        arrived.send(()).unwrap();
        while conn.read(&mut buf).is_ok_and(|n| n > 0) {}
    });
    port
}

/// Ask FPM for `script` with `query` in a thread of its own (its answer never comes while
/// the test looks).
fn request_in_background(fpm: SocketAddr, script: &Path, query: &str) {
    let file = script.display().to_string();
    let name = format!("/{}", script.file_name().unwrap().to_string_lossy());
    let query = query.to_string();
    std::thread::spawn(move || {
        let uri = format!("{name}?{query}");
        let params = [
            ("REQUEST_METHOD", "GET"),
            ("SCRIPT_FILENAME", file.as_str()),
            ("SCRIPT_NAME", name.as_str()),
            ("REQUEST_URI", uri.as_str()),
            ("QUERY_STRING", query.as_str()),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
        ];
        let _ = fastcgi::request(
            &Target::Tcp(fpm),
            &params,
            Duration::from_secs(120),
            1 << 20,
        );
    });
}

#[test]
fn a_waiting_php_worker_is_named_by_its_request_and_a_slow_script_by_its_path() {
    let Some(bin) = fpm_binary() else {
        eprintln!("skipped: php-fpm8.2 is not installed (.ci/run installs it)");
        return;
    };
    let (tx, api_got_request) = mpsc::channel();
    let api_port = hung_api(tx);
    let env = TestEnv::new();
    let d = env.path().display().to_string();
    let port = free_port();
    let pool = format!("sdtest{port}");
    let user = if nix::unistd::Uid::effective().is_root() {
        "user = root\ngroup = root\n"
    } else {
        ""
    };
    let conf = env.file(
        "root/etc/php/8.2/fpm/pool.d/test.conf",
        &format!(
            "[global]\npid = {d}/fpm.pid\nerror_log = {d}/fpm.log\n\n[{pool}]\n{user}\
             listen = 127.0.0.1:{port}\npm = static\npm.max_children = 3\n\
             pm.status_path = /status\n"
        ),
    );
    let slow = env.file(
        "slow.php",
        &format!(
            "<?php\n$s = fsockopen('127.0.0.1', {api_port}, $errno, $errstr, 5);\n\
             fwrite($s, \"GET /pay HTTP/1.0\\r\\n\\r\\n\");\nstream_set_timeout($s, 300);\n\
             echo fread($s, 1);\n"
        ),
    );
    let busy = env.file("busy.php", "<?php\nsleep(300);\n");
    let fpm_addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _fpm = start_fpm(&bin, &conf, env.path(), fpm_addr);
    request_in_background(fpm_addr, &slow, "page=2&api_key=hunter2hunter2");
    request_in_background(fpm_addr, &busy, "q=1");
    api_got_request
        .recv_timeout(Duration::from_secs(30))
        .expect("slow.php called the API");

    let env = env
        .env("SITEDOCTOR_SYSROOT", &format!("{d}/root"))
        .config("[[check]]\nid = \"workers\"\nkind = \"workers\"\nwarn = \"1ms\"\nfail = \"1h\"\n");
    let api = format!("127.0.0.1:{api_port}");
    let busy_path = busy.display().to_string();
    let mut last = serde_json::Value::Null;
    let mut found = None;
    // The kernel counts the wait in clock ticks, and busy.php may not have started yet.
    for _ in 0..100 {
        let out = env.run(&["--format", "json"]);
        assert!(!out.stdout.contains("hunter2"), "{}", out.stdout);
        last = json(&out)["checks"][0].clone();
        let fs = last["findings"].as_array().cloned().unwrap_or_default();
        let wait = fs.iter().find(|f| f["subject"]["address"] == api.as_str());
        let long = fs
            .iter()
            .find(|f| f["subject"]["path"] == busy_path.as_str());
        if let (Some(w), Some(l)) = (wait, long) {
            found = Some((w.clone(), l.clone()));
            break;
        }
    }
    let (wait, long) = found.unwrap_or_else(|| panic!("both are reported: {last:#}"));
    assert_eq!(last["status"], "warn", "{last:#}");
    let pid_of = |text: &str| -> u32 {
        let (_, rest) = text.split_once(", pid ").unwrap();
        rest.split(')').next().unwrap().parse().unwrap()
    };
    let text = wait["text"].as_str().unwrap();
    let prefix = format!("GET /slow.php?page=2&api_key=*** (pool {pool}, pid ");
    assert!(
        text.starts_with(&prefix)
            && text.contains(") has waited ")
            && text.ends_with(&format!(" on {api}")),
        "{text}"
    );
    let fpm_worker = format!("php-fpm: pool {pool}");
    let cmdline = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(cmdline(pid_of(text)).starts_with(&fpm_worker));
    assert_eq!(wait["cause"], "timeout");
    let text = long["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("GET /busy.php?q=1 (pool {pool}, pid "))
            && text.contains(") has run "),
        "{text}"
    );
    assert!(cmdline(pid_of(text)).starts_with(&fpm_worker));
    assert_eq!(long["cause"], "timeout");
    assert_eq!(
        long["fix"]["text"],
        format!(
            "{busy_path} runs long without waiting on a connection: find where it spends its \
             time (set `request_slowlog_timeout` and `slowlog` in pool {pool} to log its stack), \
             and bound it with `request_terminate_timeout`"
        ),
        "{long:#}"
    );

    // Where the status page cannot be read, the worker is named as before, the fix points at
    // the page, and the details say why it was not read.
    let closed = free_port();
    let env = env.env("SITEDOCTOR_SYSROOT", &format!("{d}/closed"));
    env.file(
        "closed/etc/php/8.2/fpm/pool.d/test.conf",
        &format!("[{pool}]\nlisten = 127.0.0.1:{closed}\npm.status_path = /status\n"),
    );
    let check = json(&env.run(&["--format", "json"]))["checks"][0].clone();
    let wait = check["findings"]
        .as_array()
        .and_then(|fs| fs.iter().find(|f| f["subject"]["address"] == api.as_str()))
        .unwrap_or_else(|| panic!("the wait is reported: {check:#}"));
    let text = wait["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("php-fpm pool {pool} (pid ")),
        "{text}"
    );
    assert!(
        wait["fix"]["text"].as_str().unwrap().ends_with(
            "; the pool's status page (/status?full) shows the request each worker serves"
        ),
        "{wait:#}"
    );
    let why = format!(
        "the status page of pool {pool} (/status) could not be read: cannot connect to \
         127.0.0.1:{closed}: connection to 127.0.0.1:{closed} refused (nothing listens on that port)"
    );
    assert!(
        check["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == why.as_str()),
        "{check:#}"
    );
}
