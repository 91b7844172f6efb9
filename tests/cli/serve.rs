//! `sitedoctor serve`: the real server on a free loopback port, asked over real TCP.

mod auth;
mod browser;
mod harness;
mod limits;
mod prometheus;
mod signals;

use std::sync::Arc;
use std::time::{Duration, Instant};

use harness::{Served, counting, runs, until};

use crate::testenv::{TestEnv, json, selftest};

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

/// The one-off report's options mean nothing to a server: refused before it listens.
#[test]
fn the_report_options_are_refused() {
    let env = TestEnv::new().config(&selftest("one", ""));
    for option in [
        &["--format", "json"][..],
        &["--output", "r.json"],
        &["--quiet"],
    ] {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(option);
        let out = env.run(&args);
        out.expect_code(64);
        assert!(
            out.stderr
                .contains(&format!("{} does not apply to `serve`", option[0]))
                && out.stderr.contains("it answers every format at once"),
            "{option:?}: {}",
            out.stderr
        );
    }
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
            .contains("timed out after 200 ms")
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
