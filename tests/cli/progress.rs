//! The progress line on stderr: under a pseudo-terminal (util-linux `script`) a slow run
//! shows which checks are still running, erased before the report; off a terminal, under
//! `--quiet`, in a machine format, or in a quick run, nothing.

use std::process::Command;

use crate::testenv::{TestEnv, bin, run_command, selftest};

/// Back to the start of the line, erase it: what ends every progress line.
const ERASE: &str = "\r\x1b[2K";

/// A check that takes a second, and one that takes none.
fn slow_run() -> TestEnv {
    TestEnv::new().config(&[selftest("slow", "sleep = \"1s\""), selftest("fast", "")].concat())
}

/// Whether `script` is here: CI must have it (`.ci/run` installs bsdutils); elsewhere a
/// test without it says so and passes.
fn have_script() -> bool {
    let found = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "util-linux `script` is missing (install bsdutils)"
        );
        eprintln!("skipped: util-linux `script` is missing (install bsdutils)");
    }
    found
}

/// `sitedoctor ARGS` in `env`'s directory with stdout and stderr on a pseudo-terminal:
/// everything the terminal was sent, in order.
fn under_pty(env: &TestEnv, args: &[&str]) -> String {
    let line: Vec<String> = std::iter::once(bin().display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect();
    let mut c = Command::new("script");
    c.args(["-qec", &line.join(" "), "/dev/null"])
        .current_dir(env.path())
        .env("SITEDOCTOR_SELFTEST", "1")
        .env("TERM", "xterm")
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR");
    let out = run_command(c);
    assert!(
        out.code < 64,
        "{} under script: {}\n{}",
        line.join(" "),
        out.stdout,
        out.stderr
    );
    out.stdout
}

#[test]
fn a_slow_run_shows_what_still_runs_then_erases_it_before_the_report() {
    if !have_script() {
        return;
    }
    let tty = under_pty(&slow_run(), &["--color", "never"]);
    let shown = regex::Regex::new(r"\r\x1b\[2Kstill running: slow (\d\.\d)s").unwrap();
    let times: Vec<f64> = shown
        .captures_iter(&tty)
        .map(|c| c[1].parse().unwrap())
        .collect();
    assert!(!times.is_empty(), "no progress line: {tty:?}");
    // Not before the run has taken 300 ms (the check itself started a little after the
    // run did); counting up while it runs.
    assert!(times[0] >= 0.2, "{tty:?}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{tty:?}");
    // The last thing before the report erases the line, and the report starts clean.
    let last = tty.rfind(ERASE).unwrap();
    assert!(last > tty.rfind("still running").unwrap());
    assert!(
        tty[last + ERASE.len()..].starts_with("ok    slow selftest\r\nok    fast selftest\r\n"),
        "{tty:?}"
    );
    assert!(!tty.contains("fast 0."), "fast ended long before: {tty:?}");
}

#[test]
fn progress_is_only_for_a_person_waiting_at_a_terminal() {
    if !have_script() {
        return;
    }
    let env = slow_run();
    std::thread::scope(|s| {
        let shown = s.spawn(|| under_pty(&env, &[]));
        let quiet = s.spawn(|| under_pty(&env, &["--quiet", "--color", "never"]));
        let json = s.spawn(|| under_pty(&env, &["--format", "json"]));
        let tap = s.spawn(|| under_pty(&env, &["--format", "tap"]));
        let quick = s.spawn(|| {
            under_pty(
                &TestEnv::new().config(&selftest("fast", "")),
                &["--color", "never"],
            )
        });
        let piped = s.spawn(|| env.run(&["--color", "never"]));

        let shown = shown.join().unwrap();
        assert!(shown.contains("still running: slow"), "{shown:?}");
        for (what, tty) in [
            ("--quiet", quiet.join().unwrap()),
            ("--format json", json.join().unwrap()),
            ("--format tap", tap.join().unwrap()),
            ("a run under 300 ms", quick.join().unwrap()),
        ] {
            assert!(!tty.contains("still running"), "{what}: {tty:?}");
            assert!(!tty.contains('\x1b'), "{what}: {tty:?}");
        }
        let piped = piped.join().unwrap();
        piped.expect_code(0);
        assert_eq!(piped.stderr, "", "a pipe is no terminal");
        assert!(piped.stdout.starts_with("ok    slow"), "{}", piped.stdout);
    });
}
