//! `command` and `plugin`: exit codes, output capture, hangs and floods.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::testenv::{Output, TestEnv, json};

fn first(env: &TestEnv) -> (serde_json::Value, Output) {
    let out = env.run(&["--format", "json"]);
    (json(&out)["checks"][0].clone(), out)
}

fn cmd(extra: &str) -> TestEnv {
    TestEnv::new().config(&format!(
        "[[check]]\nid = \"c\"\nkind = \"command\"\n{extra}\n"
    ))
}

#[test]
fn command_passes_and_fails_on_its_exit_code_and_output() {
    let (c, out) = first(&cmd(
        "command = [\"sh\", \"-c\", \"echo 'nginx: configuration file /etc/nginx/nginx.conf test is successful' >&2\"]\nexpect_output = \"test is successful\"",
    ));
    out.expect_code(0);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .ends_with("test is successful"),
        "{c}"
    );
    let (c, out) = first(&cmd(
        "command = \"echo 'nginx: [emerg] unknown directive \\\"sever\\\" in /etc/nginx/sites-enabled/x:3' >&2; exit 1\"\nshell = true",
    ));
    out.expect_code(2);
    assert_eq!(
        c["summary"],
        "`sh -c 'echo '\\''nginx: [emerg] unknown directive \"sever\" in /etc/nginx/sites-enabled/x:3'\\'' >&2; exit 1'` exited with 1: nginx: [emerg] unknown directive \"sever\" in /etc/nginx/sites-enabled/x:3"
    );
    let (c, _) = first(&cmd(
        "command = [\"sh\", \"-c\", \"exit 3\"]\nexpect_exit = [0, 3]",
    ));
    assert_eq!(c["status"], "pass");
    let (c, _) = first(&cmd("command = [\"true\"]\nexpect_output = \"never\""));
    assert_eq!(c["status"], "fail");
}

#[test]
fn a_hanging_command_is_killed_with_its_children() {
    let env = cmd("command = [\"sh\", \"-c\", \"sleep 60 & sleep 60\"]\ntimeout = \"500ms\"");
    let (c, out) = first(&env);
    out.expect_code(3);
    // Far below the 60 s the sleeps would take; generous for a machine busy with the rest
    // of the suite (it once took over 5 s to start and reap four processes there).
    assert!(out.elapsed < Duration::from_secs(20), "{:?}", out.elapsed);
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("did not finish within"),
        "{c}"
    );
}

#[test]
fn a_flood_of_output_is_capped() {
    let (c, out) = first(&cmd(
        "command = [\"sh\", \"-c\", \"head -c 20000000 /dev/zero | tr '\\\\0' 'x'; exit 1\"]",
    ));
    out.expect_code(2);
    assert!(
        c["details"]
            .to_string()
            .contains("more bytes of output not kept"),
        "{}",
        &c["details"].to_string()[..200.min(c["details"].to_string().len())]
    );
    assert!(
        out.stdout.len() < 200_000,
        "the report stays small: {}",
        out.stdout.len()
    );
}

#[test]
fn missing_programs() {
    let (c, out) = first(&cmd("command = [\"no-such-tool-xyz\", \"-t\"]"));
    out.expect_code(3);
    assert_eq!(
        c["summary"],
        "no-such-tool-xyz: not found (is it installed, and on PATH?)"
    );
    let (c, out) = first(&cmd(
        "command = [\"no-such-tool-xyz\"]\nskip_if_missing = true",
    ));
    out.expect_code(0);
    assert_eq!(c["status"], "skip");
}

fn plugin_env(script: &str, extra: &str) -> TestEnv {
    let env = TestEnv::new();
    let p = env.file("plugins/check_thing", &format!("#!/bin/sh\n{script}\n"));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = env.path().join("plugins");
    env.config(&format!("[[check]]\nid = \"p\"\nkind = \"plugin\"\nplugin = \"check_thing\"\nplugin_dir = \"{}\"\n{extra}\n", dir.display()))
}

#[test]
fn plugin_status_summary_evidence_and_perfdata() {
    let env = plugin_env(
        "echo 'THING WARNING - queue at 85% | queue=85%;80;90;0;100'\necho 'oldest job: 12 min'\necho \"| 'wait time'=3.5s;@1:2;~:10\"\nexit 1",
        "args = [\"-w\", \"80\"]",
    );
    let (c, out) = first(&env);
    out.expect_code(1);
    assert_eq!(c["summary"], "THING WARNING - queue at 85%");
    assert_eq!(c["details"][0], "oldest job: 12 min");
    let m = c["metrics"].as_array().unwrap();
    assert_eq!(m.len(), 2, "{c}");
    assert_eq!(
        (
            m[0]["name"].as_str(),
            m[0]["value"].as_f64(),
            m[0]["unit"].as_str()
        ),
        (Some("queue"), Some(85.0), Some("%"))
    );
    assert_eq!(
        (
            m[0]["warn"].as_f64(),
            m[0]["fail"].as_f64(),
            m[0]["min"].as_f64(),
            m[0]["max"].as_f64()
        ),
        (Some(80.0), Some(90.0), Some(0.0), Some(100.0))
    );
    assert_eq!(
        (
            m[1]["name"].as_str(),
            m[1]["warn_range"].as_str(),
            m[1]["fail_range"].as_str()
        ),
        (Some("wait time"), Some("@1:2"), Some("~:10"))
    );
}

#[test]
fn plugin_exit_codes() {
    for (code, status, exit) in [
        (0, "pass", 0),
        (2, "fail", 2),
        (3, "error", 3),
        (7, "error", 3),
    ] {
        let (c, out) = first(&plugin_env(
            &format!("echo 'X - said {code}'\nexit {code}"),
            "",
        ));
        out.expect_code(exit);
        assert_eq!(c["status"], status, "{c}");
    }
    let (c, _) = first(&plugin_env("exit 7", ""));
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("exited with 7, which is not a plugin status"),
        "{c}"
    );
    let (c, out) = first(&plugin_env("sleep 60", "timeout = \"300ms\""));
    out.expect_code(3);
    assert!(
        c["summary"].as_str().unwrap().contains("did not finish"),
        "{c}"
    );
    let (c, out) = first(&TestEnv::new().config("[[check]]\nid = \"p\"\nkind = \"plugin\"\nplugin = \"check_nothing_here\"\nplugin_dir = \"/nonexistent\"\n"));
    out.expect_code(3);
    assert!(c["summary"].as_str().unwrap().contains("not found"), "{c}");
}

/// Live (not zombie) processes whose command line holds `marker`.
fn running_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(marker))
        .count()
}

/// Wait, at most 10 seconds, until `done()` holds; whether it did.
fn wait_for(done: impl Fn() -> bool) -> bool {
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        if std::time::Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// A `sleep` duration no other process uses: 600 seconds and a fraction made of our pid.
fn marker(n: u32) -> String {
    format!("600.{}{n}", std::process::id())
}

#[test]
fn an_interrupt_kills_every_child_group_before_exit_130() {
    use nix::sys::signal::{Signal, kill};
    for (n, signal) in [
        (1, Signal::SIGTERM),
        (2, Signal::SIGINT),
        (4, Signal::SIGHUP),
    ] {
        let m = marker(n);
        let env = cmd(&format!(
            "command = [\"sh\", \"-c\", \"sleep {m} & sleep {m}\"]\ntimeout = \"60s\""
        ));
        let mut c = env.command(&["--format", "json"]);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = c.spawn().unwrap();
        // The shell and both sleeps.
        assert!(wait_for(|| running_with(&m) >= 2), "the command never ran");
        kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(130), "{signal}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "sitedoctor: interrupted\n"
        );
        assert!(
            wait_for(|| running_with(&m) == 0),
            "{signal}: a child outlived sitedoctor"
        );
    }
}

#[test]
fn a_background_process_holding_the_pipe_is_killed_when_the_command_ends() {
    let m = marker(3);
    let (c, out) = first(&cmd(&format!(
        "command = [\"sh\", \"-c\", \"sleep {m} & echo hi\"]\nexpect_output = \"hi\"\ntimeout = \"60s\""
    )));
    out.expect_code(0);
    assert_eq!(c["status"], "pass", "{c}");
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
    assert!(
        wait_for(|| running_with(&m) == 0),
        "the background sleep outlived the run"
    );
}

#[test]
fn a_timeout_names_the_configured_limit() {
    let (c, out) = first(&cmd("command = [\"sleep\", \"60\"]\ntimeout = \"500ms\""));
    out.expect_code(3);
    assert_eq!(
        c["summary"],
        "`sleep 60` did not finish within 500 ms: killed, with everything it started"
    );
    let (c, out) = first(&plugin_env("sleep 60", "timeout = \"1s\""));
    out.expect_code(3);
    assert_eq!(
        c["summary"],
        "check_thing did not finish within 1 s: killed, with everything it started"
    );
}

#[test]
fn a_program_in_the_current_directory_is_never_run_for_an_empty_path_entry() {
    use std::os::unix::fs::PermissionsExt;
    let env = crate::testenv::TestEnv::new();
    let marker = env.path().join("ran");
    // What an attacker leaves where the admin happens to run sitedoctor from.
    for name in ["apache2ctl", "apachectl", "nginx"] {
        let p = env.file(name, &format!("#!/bin/sh\ntouch {}\n", marker.display()));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for path in [":/usr/bin", ""] {
        let mut c = env.command(&["--only", "apache-config,nginx-config", "--format", "json"]);
        c.env_clear()
            .env("PATH", path)
            .env("SITEDOCTOR_SELFTEST", "0");
        let _ = crate::testenv::run_command(c);
        assert!(
            !marker.exists(),
            "PATH={path:?} ran ./apache2ctl or ./nginx"
        );
    }
}
