//! Concurrency, timeouts, and one broken check never stopping the others.

use std::time::Duration;

use crate::testenv::{TestEnv, json, selftest};

#[test]
fn errors_and_panics_become_error_and_the_others_pass() {
    let toml = [
        selftest("before", "result = \"pass\""),
        selftest(
            "broken",
            "result = \"error\"\nsummary = \"could not open the thing\"",
        ),
        selftest(
            "crashing",
            "result = \"panic\"\nsummary = \"index out of bounds\"",
        ),
        selftest("after", "result = \"pass\""),
    ]
    .concat();
    let env = TestEnv::new().config(&toml);
    let out = env.run(&["--format", "json"]);
    out.expect_code(3);
    assert!(
        !out.stderr.contains("panicked"),
        "a check's panic must not reach the terminal: {}",
        out.stderr
    );
    let v = json(&out);
    let checks = v["checks"].as_array().unwrap();
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["before", "broken", "crashing", "after"],
        "checklist order"
    );
    let status: Vec<&str> = checks
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(status, ["pass", "error", "error", "pass"]);
    assert_eq!(checks[1]["summary"], "could not open the thing");
    assert!(
        checks[2]["summary"]
            .as_str()
            .unwrap()
            .contains("index out of bounds")
    );
    assert_eq!(v["summary"]["error"], 2);
    assert_eq!(v["worst"], "error");
}

#[test]
fn two_one_second_checks_take_about_one_second() {
    let toml = [
        selftest("a", "sleep = \"1s\""),
        selftest("b", "sleep = \"1s\""),
    ]
    .concat();
    let out = TestEnv::new().config(&toml).run(&[]);
    out.expect_code(0);
    assert!(out.elapsed >= Duration::from_secs(1), "{:?}", out.elapsed);
    assert!(
        out.elapsed < Duration::from_millis(1800),
        "checks ran one after another: {:?}",
        out.elapsed
    );
}

#[test]
fn jobs_bounds_concurrency() {
    let toml = [
        selftest("a", "sleep = \"400ms\""),
        selftest("b", "sleep = \"400ms\""),
    ]
    .concat();
    let out = TestEnv::new().config(&toml).run(&["--jobs", "1"]);
    out.expect_code(0);
    assert!(
        out.elapsed >= Duration::from_millis(800),
        "--jobs 1 must run them in turn: {:?}",
        out.elapsed
    );
}

#[test]
fn a_hung_check_times_out_as_error_and_the_run_ends() {
    let toml = [
        selftest("hung", "sleep = \"60s\"\ntimeout = \"300ms\""),
        selftest("fine", "result = \"pass\""),
    ]
    .concat();
    let out = TestEnv::new().config(&toml).run(&["--format", "json"]);
    out.expect_code(3);
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    let v = json(&out);
    assert_eq!(v["checks"][0]["status"], "error");
    assert!(
        v["checks"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("timed out after 300 ms"),
        "{}",
        v["checks"][0]
    );
    assert_eq!(v["checks"][1]["status"], "pass");
}

#[test]
fn default_timeout_comes_from_the_command_line() {
    let out = TestEnv::new()
        .config(&selftest("hung", "sleep = \"60s\""))
        .run(&["--timeout", "200ms", "--format", "json"]);
    out.expect_code(3);
    assert!(
        out.stdout.contains("timed out after 200 ms"),
        "{}",
        out.stdout
    );
}

#[test]
fn severity_caps_and_raises() {
    let toml = [
        selftest("capped", "result = \"fail\"\nseverity = \"warn\""),
        selftest("raised", "result = \"warn\"\nseverity = \"fail\""),
    ]
    .concat();
    let out = TestEnv::new()
        .config(&toml)
        .run(&["--format", "json", "--only", "capped"]);
    out.expect_code(1);
    let out = TestEnv::new()
        .config(&toml)
        .run(&["--format", "json", "--only", "raised"]);
    out.expect_code(2);
}

#[test]
fn only_skip_tags_and_disabled() {
    let toml = [
        selftest("a", "tags = [\"web\"]"),
        selftest("b", "tags = [\"db\"]\nresult = \"fail\""),
        selftest("c", "enabled = false\nresult = \"fail\""),
    ]
    .concat();
    let env = TestEnv::new().config(&toml);
    let out = env.run(&["--format", "json", "--only", "web"]);
    out.expect_code(0);
    assert_eq!(json(&out)["summary"]["total"], 1);
    let out = env.run(&["--format", "json", "--skip", "db"]);
    out.expect_code(0);
    assert_eq!(
        json(&out)["summary"]["total"],
        1,
        "disabled checks do not run"
    );
    env.run(&["--only", "a,b"]).expect_code(2);
}
