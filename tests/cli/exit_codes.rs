//! Every exit code in the contract: 0, 1, 2, 3, 64, 78, 130.

use std::time::{Duration, Instant};

use crate::testenv::{TestEnv, selftest};

fn with(results: &[&str]) -> TestEnv {
    let toml: String = results
        .iter()
        .enumerate()
        .map(|(i, r)| selftest(&format!("c{i}"), &format!("result = \"{r}\"")))
        .collect();
    TestEnv::new().config(&toml)
}

#[test]
fn all_pass_or_skip_is_0() {
    with(&["pass", "skip"]).run(&[]).expect_code(0);
}

#[test]
fn worst_warn_is_1() {
    with(&["pass", "warn"]).run(&[]).expect_code(1);
}

#[test]
fn any_fail_is_2_even_with_errors() {
    with(&["warn", "fail", "error"]).run(&[]).expect_code(2);
}

#[test]
fn error_without_fail_is_3() {
    with(&["warn", "error", "pass"]).run(&[]).expect_code(3);
}

#[test]
fn fail_on_fail_lets_warnings_exit_0() {
    let env = with(&["pass", "warn"]);
    env.run(&["--fail-on", "fail"]).expect_code(0);
    with(&["warn", "fail"])
        .run(&["--fail-on", "fail"])
        .expect_code(2);
}

#[test]
fn usage_errors_are_64_not_2() {
    let env = with(&["pass"]);
    let out = env.run(&["--no-such-flag"]);
    out.expect_code(64);
    assert!(out.stderr.contains("--no-such-flag"), "{}", out.stderr);
    env.run(&["--format", "yaml"]).expect_code(64);
    env.run(&["--timeout", "soon"]).expect_code(64);
    env.run(&["--jobs", "0"]).expect_code(64);
    env.run(&["frobnicate"]).expect_code(64);
}

#[test]
fn unknown_only_or_skip_is_a_usage_error() {
    let out = with(&["pass"]).run(&["--only", "nope"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("\"nope\"") && out.stderr.contains("c0"),
        "{}",
        out.stderr
    );
    with(&["pass"]).run(&["--skip", "nope"]).expect_code(64);
}

#[test]
fn help_and_version_exit_0() {
    let env = with(&["pass"]);
    let out = env.run(&["--help"]);
    out.expect_code(0);
    assert!(out.stdout.contains("Exit codes"), "{}", out.stdout);
    let out = env.run(&["--version"]);
    out.expect_code(0);
    assert!(out.stdout.starts_with("sitedoctor "));
}

#[test]
fn configuration_error_is_78_and_nothing_runs() {
    let env = TestEnv::new().config(
        &(selftest("ok", "result = \"pass\"") + "[[check]]\nid = \"x\"\nkind = \"nope\"\n"),
    );
    let out = env.run(&[]);
    out.expect_code(78);
    assert!(out.stdout.is_empty(), "nothing may run: {}", out.stdout);
}

/// SIGINT while a check runs ends the run with 130.
#[test]
fn interrupt_is_130() {
    let env = TestEnv::new().config(&selftest("slow", "sleep = \"30s\"\ntimeout = \"60s\""));
    let child = env
        .command(&[])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Wait until the check's thread exists: the handler is installed before any check starts.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let started = std::fs::read_dir(format!("/proc/{pid}/task"))
            .map(|tasks| {
                tasks.flatten().any(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "check:slow")
                })
            })
            .unwrap_or(false);
        if started {
            break;
        }
        assert!(Instant::now() < deadline, "the check never started");
        std::thread::yield_now();
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
}
