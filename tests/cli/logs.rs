//! The `log` check on fixtures in every supported format, timestamps made relative to now.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Duration, Local, Utc};

use crate::testenv::{Output, TestEnv, json};

/// Local time `mins` minutes ago, in a chrono format.
fn ago(mins: i64, fmt: &str) -> String {
    (Local::now() - Duration::minutes(mins))
        .format(fmt)
        .to_string()
}

fn utc_ago(mins: i64, fmt: &str) -> String {
    (Utc::now() - Duration::minutes(mins))
        .format(fmt)
        .to_string()
}

const NGINX: &str = "%Y/%m/%d %H:%M:%S";
const APACHE24: &str = "[%a %b %d %H:%M:%S%.6f %Y]";
const APACHE22: &str = "[%a %b %d %H:%M:%S %Y]";
const PHP_UTC: &str = "[%d-%b-%Y %H:%M:%S UTC]";
const FPM: &str = "[%d-%b-%Y %H:%M:%S]";
const SYSLOG: &str = "%b %e %H:%M:%S";
const ISO: &str = "%Y-%m-%d %H:%M:%S,%3f";

fn check(env: &TestEnv, paths: &[&Path], extra: &str) -> (serde_json::Value, Output) {
    let list: Vec<String> = paths
        .iter()
        .map(|p| format!("\"{}\"", p.display()))
        .collect();
    let cfg = format!(
        "[[check]]\nid = \"logs\"\nkind = \"log\"\npaths = [{}]\n{extra}\n",
        list.join(", ")
    );
    let f = env.file("c.toml", &cfg);
    let out = env.run(&["--format", "json", "--config", &f.display().to_string()]);
    (json(&out)["checks"][0].clone(), out)
}

fn summary(c: &serde_json::Value) -> &str {
    c["summary"].as_str().unwrap()
}

#[test]
fn nginx_upstream_errors_are_fatal_and_grouped() {
    let env = TestEnv::new();
    let mut log = String::new();
    log += &format!(
        "{} [error] 7#7: *1 upstream timed out (110: Connection timed out), client: 9.9.9.9, server: a\n",
        ago(120, NGINX)
    );
    for (m, client) in [(20, "1.2.3.4"), (10, "5.6.7.8"), (2, "9.8.7.6")] {
        log += &format!(
            "{} [error] 7#7: *{m}1 upstream timed out (110: Connection timed out) while reading response header from upstream, client: {client}, server: shop, request: \"GET /p/{m} HTTP/1.1\"\n",
            ago(m, NGINX)
        );
    }
    log += &format!(
        "{} [error] 7#7: *99 open() \"/var/www/favicon.ico\" failed (2: No such file or directory)\n",
        ago(1, NGINX)
    );
    let p = env.file("nginx/error.log", &log);
    let (c, out) = check(&env, &[&p], "");
    out.expect_code(2);
    assert!(
        summary(&c).starts_with("3 fatal error(s), 1 distinct, in the last 1 h in "),
        "{c}"
    );
    assert!(
        summary(&c).contains("newest: [error] 7#7: *21 upstream timed out"),
        "{c}"
    );
    let d = c["details"].to_string();
    assert!(d.contains("3× [fatal]") && d.contains("1× [error]"), "{d}");
    assert!(
        c["fix"]["text"].as_str().unwrap().contains("app server"),
        "{c}"
    );
    let (c, _) = check(&env, &[&p], "exclude_patterns = [\"upstream\"]");
    assert_eq!(c["status"], "warn", "only the lesser error is left: {c}");
}

#[test]
fn php_fatal_repeated_ten_thousand_times_is_one_line_with_its_source() {
    let env = TestEnv::new();
    let mut f = std::fs::File::create(env.path().join("php.log")).unwrap();
    for i in 0..10_000 {
        let mins = 50 - (i / 250) as i64;
        writeln!(f, "{} PHP Fatal error:  Uncaught Error: Call to undefined function foo() in /var/www/index.php:12\nStack trace:\n#0 /var/www/x.php({i}): bar()\n#1 {{main}}\n  thrown in /var/www/index.php on line 12", utc_ago(mins, PHP_UTC)).unwrap();
    }
    drop(f);
    let (c, out) = check(&env, &[&env.path().join("php.log")], "");
    out.expect_code(2);
    assert!(
        summary(&c).starts_with("10000 fatal error(s), 1 distinct"),
        "{c}"
    );
    assert_eq!(c["details"].as_array().unwrap().len(), 1, "{c}");
    assert!(
        c["details"][0]
            .as_str()
            .unwrap()
            .ends_with("→ /var/www/index.php:12"),
        "{c}"
    );
    assert_eq!(
        c["fix"]["text"],
        "open /var/www/index.php at line 12: that is where the newest fatal error points"
    );
}

#[test]
fn apache_fpm_syslog_rfc5424_and_iso_formats() {
    let env = TestEnv::new();
    let files = [
        (
            "apache24.log",
            format!(
                "{} [php:error] [pid 12] [client 1.2.3.4:5] PHP Parse error:  syntax error, unexpected '}}' in /var/www/a.php on line 3\n",
                ago(5, APACHE24)
            ),
        ),
        (
            "apache22.log",
            format!(
                "{} [error] [client 1.2.3.4] PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted in /var/www/b.php on line 9\n",
                ago(5, APACHE22)
            ),
        ),
        (
            "fpm.log",
            format!(
                "{} WARNING: [pool www] server reached pm.max_children setting (5), consider raising it\n",
                ago(5, FPM)
            ),
        ),
        (
            "syslog",
            format!(
                "{} web1 node[42]: TypeError: Cannot read properties of undefined (reading 'id')\n    at handler (/srv/app/server.js:42:13)\n",
                ago(5, SYSLOG)
            ),
        ),
        (
            "rfc5424.log",
            format!(
                "<11>1 {} web1 app 42 - - thread 'main' panicked at src/main.rs:10:5:\n",
                utc_ago(5, "%Y-%m-%dT%H:%M:%S%.3fZ")
            ),
        ),
        (
            "app.log",
            format!(
                "{} ERROR app: Exception on /checkout [POST]\nTraceback (most recent call last):\n  File \"/srv/app/web.py\", line 10, in view\n  File \"/srv/app/cart.py\", line 77, in total\nKeyError: 'price'\n",
                ago(5, ISO)
            ),
        ),
        (
            "java.log",
            format!(
                "{} SEVERE: Servlet.service() threw exception\njava.lang.NullPointerException: x\n\tat com.acme.Cart.total(Cart.java:55)\n",
                utc_ago(5, "%Y-%m-%dT%H:%M:%SZ")
            ),
        ),
    ];
    for (name, text) in &files {
        let p = env.file(name, text);
        let (c, _) = check(&env, &[&p], "");
        let expect = if *name == "fpm.log" { "warn" } else { "fail" };
        assert_eq!(c["status"], expect, "{name}: {c}");
    }
    let at = |name: &str| {
        let (c, _) = check(&env, &[&env.path().join(name)], "");
        c["details"][0].as_str().unwrap().to_string()
    };
    assert!(at("apache24.log").ends_with("→ /var/www/a.php:3"));
    assert!(at("syslog").ends_with("→ /srv/app/server.js:42"));
    assert!(at("rfc5424.log").ends_with("→ src/main.rs:10"));
    let py = at("app.log");
    assert!(
        py.contains("KeyError: 'price'") && py.ends_with("→ /srv/app/cart.py:77"),
        "{py}"
    );
    assert!(at("java.log").ends_with("→ com/acme/Cart.java:55"));
}

#[test]
fn old_errors_do_not_count_and_only_the_window_is_read() {
    let env = TestEnv::new();
    let mut f = std::fs::File::create(env.path().join("big.log")).unwrap();
    let old = format!(
        "{} [error] 1#1: *1 upstream timed out (110: Connection timed out), client: 1.1.1.1\n",
        ago(300, NGINX)
    );
    for _ in 0..40_000 {
        f.write_all(old.as_bytes()).unwrap();
    }
    writeln!(f, "{} [notice] 1#1: signal process started", ago(3, NGINX)).unwrap();
    drop(f);
    let p = env.path().join("big.log");
    let (c, out) = check(&env, &[&p], "");
    out.expect_code(0);
    assert!(
        summary(&c).starts_with("no errors in the last 1 h in"),
        "{c}"
    );
    let read = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "bytes_read")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    let size = std::fs::metadata(&p).unwrap().len() as f64;
    assert!(read < size / 20.0, "read {read} of {size} bytes");
    let (c, _) = check(&env, &[&p], "window = \"6h\"");
    assert_eq!(c["status"], "fail");
}

#[test]
fn crlf_invalid_utf8_and_a_rotated_file() {
    let env = TestEnv::new();
    let mut bytes = format!("{} [error] 1#1: *1 connect() failed (111: Connection refused) while connecting to upstream\r\n", ago(5, NGINX)).into_bytes();
    bytes.extend_from_slice(b"garbage \xff\xfe line without time\r\n");
    std::fs::write(env.path().join("crlf.log"), bytes).unwrap();
    let (c, _) = check(&env, &[&env.path().join("crlf.log")], "");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(!c["details"].to_string().contains('\r'));
    // The current file starts inside the window, so the rotated one is read too.
    let cur = env.file(
        "rot/error.log",
        &format!("{} [notice] 1#1: reopening logs\n", ago(10, NGINX)),
    );
    env.file(
        "rot/error.log.1",
        &format!(
            "{} [crit] 1#1: *3 SSL_do_handshake() failed\n{} [notice] 1#1: x\n",
            ago(30, NGINX),
            ago(20, NGINX)
        ),
    );
    let (c, _) = check(&env, &[&cur], "");
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["details"][0].as_str().unwrap().contains("error.log.1"),
        "{c}"
    );
}

#[test]
fn globs_missing_files_and_bad_config() {
    let env = TestEnv::new();
    env.file(
        "logs/a-error.log",
        &format!("{} [emerg] 1#1: x\n", ago(1, NGINX)),
    );
    env.file("logs/b-error.log", "");
    let glob = env.path().join("logs/*-error.log");
    let (c, out) = check(&env, &[&glob], "");
    out.expect_code(2);
    assert!(summary(&c).contains("in 2 files"), "{c}");
    let missing = PathBuf::from("/no/such/error.log");
    let (c, out) = check(&env, &[&missing], "");
    out.expect_code(3);
    assert!(summary(&c).contains("No such file or directory"), "{c}");
    let (c, out) = check(&env, &[&missing], "missing_ok = true");
    out.expect_code(0);
    assert_eq!(c["status"], "skip");
    let bad = env.file(
        "bad.toml",
        "[[check]]\nid = \"l\"\nkind = \"log\"\npaths = [\"/x\"]\npatterns = [\"(\"]\n",
    );
    let out = env.run(&["--config", &bad.display().to_string()]);
    out.expect_code(78);
    assert!(
        out.stderr.contains("bad.toml:5:12: invalid regex"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_multibyte_character_where_a_timestamp_digit_belongs_hides_no_fatal() {
    let env = TestEnv::new();
    let fatal = format!(
        "{} PHP Fatal error:  Uncaught Error: boom in /var/www/a.php:3",
        ago(5, "[%d-%b-%Y %H:%M:%S]")
    );
    // ISO, nginx and syslog shapes with a two-byte character where a digit belongs.
    let bad = [
        "2024-01-02T03:04:0\u{e9} garbage",
        "2024/0\u{e9}/02 03:04:05 [error] garbage",
        "[2024-01-02 03:04:0\u{e9}] garbage",
        "Jan \u{e9}2 03:04:05 h p: garbage",
    ];
    let log = format!("{fatal}\n{}\n", bad.join("\n"));
    let p = env.file("app.log", &log);
    let (c, out) = check(&env, &[&p], "");
    out.expect_code(2);
    assert_eq!(c["status"], "fail", "{c}");
    assert!(summary(&c).starts_with("1 fatal error(s)"), "{c}");
}

fn bytes_read(c: &serde_json::Value) -> f64 {
    c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "bytes_read")
        .unwrap()["value"]
        .as_f64()
        .unwrap()
}

#[test]
fn a_log_without_newlines_is_read_whole_within_its_timeout() {
    let env = TestEnv::new();
    let p = env.path().join("one-line.log");
    // 48 MiB, no newline: every block used to be copied again with all the ones after it.
    let mut f = std::fs::File::create(&p).unwrap();
    let chunk = "PHP Fatal error: x ".repeat(1 << 12);
    while f.metadata().unwrap().len() < 48 << 20 {
        f.write_all(chunk.as_bytes()).unwrap();
    }
    drop(f);
    let size = std::fs::metadata(&p).unwrap().len() as f64;
    let (c, out) = check(&env, &[&p], "timeout = \"10s\"");
    assert!(out.elapsed < std::time::Duration::from_secs(10), "{c}");
    assert_eq!(bytes_read(&c), size, "{c}");
    assert_eq!(
        c["status"], "fail",
        "the one (undated) line is an error: {c}"
    );
    assert!(
        c["details"]
            .to_string()
            .contains("no timestamps recognised"),
        "{c}"
    );
}

#[test]
fn a_gigabyte_without_newlines_finishes_within_the_timeout() {
    let env = TestEnv::new();
    let p = env.path().join("sparse.log");
    // Sparse: costs no disk, reads as NUL bytes.
    std::fs::File::create(&p).unwrap().set_len(1 << 30).unwrap();
    let (c, out) = check(&env, &[&p], "timeout = \"10s\"");
    assert!(out.elapsed < std::time::Duration::from_secs(10), "{c}");
    assert_eq!(c["status"], "pass", "{c}");
    assert_eq!(bytes_read(&c), (1u64 << 30) as f64, "{c}");
}

#[test]
fn reading_stops_at_the_deadline_even_inside_one_line() {
    let env = TestEnv::new();
    let p = env.path().join("huge.log");
    // 1 TiB sparse: far more than can be read in the timeout.
    std::fs::File::create(&p).unwrap().set_len(1 << 40).unwrap();
    let (c, out) = check(&env, &[&p], "timeout = \"1s\"");
    assert!(out.elapsed < std::time::Duration::from_secs(3), "{c}");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(
        c["details"]
            .to_string()
            .contains("reading stopped at the time limit"),
        "{c}"
    );
}

#[test]
fn a_fifo_at_a_log_path_hides_no_fatal_and_costs_no_timeout() {
    let env = TestEnv::new();
    let a = env.file(
        "logs/a.log",
        &format!(
            "{} PHP Fatal error:  Uncaught Error: boom in /srv/a.php:3\n",
            utc_ago(1, PHP_UTC)
        ),
    );
    let fifo = env.path().join("logs/laravel.log");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let (c, out) = check(&env, &[&a, &fifo], "timeout = \"5s\"");
    out.expect_code(2);
    assert!(
        out.elapsed < std::time::Duration::from_secs(4),
        "{:?}",
        out.elapsed
    );
    assert!(summary(&c).contains("boom"), "{c:#}");
    assert!(
        c["details"]
            .to_string()
            .contains("not a regular file (it is a FIFO)"),
        "{c:#}"
    );
}

/// A small log without timestamps (a process's stderr) that changed within the window: its
/// newest error block is judged as of the file's mtime, older errors in it are not.
#[test]
fn a_small_undated_log_changed_in_the_window_judges_its_newest_error_block() {
    let env = TestEnv::new();
    let log = "Traceback (most recent call last):\n  File \"/srv/old/app.py\", line 3, in <module>\nImportError: cannot import name 'old'\nstarting again\nTraceback (most recent call last):\n  File \"/srv/app/app.py\", line 9, in index\n    return 1/0\nZeroDivisionError: division by zero\n";
    let p = env.file("stderr.log", log);
    let (c, out) = check(&env, &[&p], "");
    out.expect_code(2);
    assert_eq!(c["status"], "fail", "{c}");
    let findings = c["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "only the newest block: {c}");
    let f = &findings[0];
    assert_eq!(f["subject"]["path"], "/srv/app/app.py", "{c}");
    assert_eq!(f["subject"]["line"], 9, "{c}");
    let text = f["text"].as_str().unwrap();
    assert!(text.contains("ZeroDivisionError"), "{c}");
    assert!(
        text.ends_with("(the log has no timestamps: this is as of its modification time)"),
        "{c}"
    );
    assert!(!c.to_string().contains("ImportError"), "{c}");
}

#[test]
fn an_undated_log_not_changed_in_the_window_is_not_judged() {
    let env = TestEnv::new();
    let p = env.file("stderr.log", "ZeroDivisionError: division by zero\n");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&p)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let (c, out) = check(&env, &[&p], "");
    out.expect_code(0);
    assert_eq!(c["status"], "pass", "{c}");
}

#[test]
fn a_containers_json_file_log_is_read_like_the_apps_own() {
    let env = TestEnv::new();
    let t = Utc::now() - Duration::minutes(2);
    let engine = t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string();
    let gunicorn = t.format("[%Y-%m-%d %H:%M:%S +0000]").to_string();
    let wrap = |line: &str| {
        serde_json::json!({"log": format!("{line}\n"), "stream": "stderr", "time": engine})
            .to_string()
    };
    let lines = [
        format!("{gunicorn} [1] [ERROR] Error handling request /cart"),
        "Traceback (most recent call last):".into(),
        "  File \"/usr/lib/python3/dist-packages/gunicorn/workers/sync.py\", line 135, in handle"
            .into(),
        "    self.handle_request(listener, req, client, addr)".into(),
        "  File \"/app/shop.py\", line 3, in cart".into(),
        "    return render_cart()".into(),
        "NameError: name 'render_cart' is not defined".into(),
    ];
    let text: Vec<String> = lines.iter().map(|l| wrap(l)).collect();
    let p = env.file("containers/abc/abc-json.log", &(text.join("\n") + "\n"));
    let (c, out) = check(&env, &[&p], "");
    out.expect_code(2);
    assert!(
        summary(&c).contains("NameError: name 'render_cart' is not defined"),
        "{c:#}"
    );
    assert_eq!(
        c["findings"][0]["subject"],
        serde_json::json!({"type": "path", "path": "/app/shop.py", "line": 3}),
        "{c:#}"
    );
    assert!(
        !c.to_string().contains("\\\"stream\\\""),
        "the JSON wrapper shows: {c:#}"
    );
}
