//! `-v/--verbose` (the evidence of passing checks, each check's duration) and the human
//! report wrapped to `COLUMNS`.

use crate::testenv::{Output, TestEnv, run_command, selftest};

/// A tree with one file changed just now, and a `recent_changes` check over it that passes.
fn fresh_change() -> (TestEnv, String) {
    let env = TestEnv::new();
    let root = env.path().join("www");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("index.php"), "<?php").unwrap();
    let cfg = format!(
        "[[check]]\nid = \"changes\"\nkind = \"recent_changes\"\npath = \"{}\"\n",
        root.display()
    );
    let changed = format!("{}/index.php modified ", root.display());
    (env.config(&cfg), changed)
}

#[test]
fn a_passing_check_shows_its_evidence_only_with_verbose() {
    let (env, changed) = fresh_change();
    let out = env.run(&["--color", "never"]);
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("ok    changes 1 file(s) under "),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains(&changed), "{}", out.stdout);
    assert!(
        !out.stdout.contains(" ms)"),
        "no durations without -v: {}",
        out.stdout
    );

    let head = regex::Regex::new(
        r"^ok    changes 1 file\(s\) under .* changed in the last .* \((\d+ ms|\d+(\.\d+)? s)\)$",
    )
    .unwrap();
    for flag in ["-v", "--verbose"] {
        let out = env.run(&[flag, "--color", "never"]);
        out.expect_code(0);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert!(head.is_match(lines[0]), "{}", out.stdout);
        assert!(
            lines[1].starts_with(&format!("      {changed}")) && lines[1].ends_with(", 5 B"),
            "{}",
            out.stdout
        );
        assert_eq!(lines[2], "", "{}", out.stdout);
    }
}

#[test]
fn verbose_shows_every_problem_detail_and_each_duration() {
    let details: Vec<String> = (1..=15).map(|i| format!("\"line {i}\"")).collect();
    let env = TestEnv::new().config(
        &[
            selftest(
                "bad",
                &format!("result = \"fail\"\ndetails = [{}]", details.join(", ")),
            ),
            selftest("slowish", "sleep = \"50ms\""),
        ]
        .concat(),
    );
    let out = env.run(&["--color", "never"]);
    out.expect_code(2);
    assert!(
        out.stdout
            .contains("      line 12\n      … 3 more (see --format json, or -v)\n")
    );
    assert!(!out.stdout.contains("line 13"));

    let out = env.run(&["--color", "never", "--verbose"]);
    out.expect_code(2);
    assert!(
        out.stdout
            .contains("      line 13\n      line 14\n      line 15\n")
    );
    assert!(!out.stdout.contains("more (see"), "{}", out.stdout);
    // Milliseconds under a second, else seconds with two decimals.
    let took = |prefix: &str| -> f64 {
        let re = regex::Regex::new(&format!(
            r"(?m)^{prefix} \((\d+) ms\)$|^{prefix} \((\d+(?:\.\d+)?) s\)$"
        ))
        .unwrap();
        let c = re
            .captures(&out.stdout)
            .unwrap_or_else(|| panic!("no duration on {prefix:?}: {}", out.stdout));
        match (c.get(1), c.get(2)) {
            (Some(ms), _) => ms.as_str().parse::<f64>().unwrap() / 1000.0,
            (_, Some(s)) => s.as_str().parse().unwrap(),
            _ => unreachable!(),
        }
    };
    assert!(took("FAIL  bad: selftest") < 0.05);
    assert!(took("ok    slowish selftest") >= 0.05);
}

#[test]
fn columns_wraps_long_evidence_with_a_hanging_indent() {
    let long = "the upstream at 127.0.0.1:9000 refused the connection while reading the response header from the app server, twice in the last hour";
    let env = TestEnv::new().config(&selftest(
        "upstream",
        &format!(
            "result = \"fail\"\nsummary = \"short\"\ndetails = [\"{long}\", \"/srv/www/a/path/that/is/much/longer/than/sixty/columns/index.php\"]\nfix = \"systemctl restart php8.2-fpm    # the command stays on one line, whatever the width\""
        ),
    ));
    let out = with_columns(&env, &["--color", "always"], Some("60"));
    out.expect_code(2);
    let plain = strip_ansi(&out.stdout);
    for l in plain.lines() {
        let over = l.chars().count() > 60;
        // Only a word that cannot fit (the path), and the fix, which must paste whole.
        assert!(
            !over || l.trim().split(' ').count() == 1 || l.trim_start().starts_with("fix:"),
            "{l:?} is over 60 columns:\n{plain}"
        );
    }
    let words: Vec<&str> = long.split(' ').collect();
    let shown: Vec<&str> = plain
        .lines()
        .skip_while(|l| !l.starts_with("      the upstream"))
        .take_while(|l| !l.trim_start().starts_with("/srv"))
        .collect();
    assert!(shown.len() >= 3, "{plain}");
    assert!(
        shown[1..]
            .iter()
            .all(|l| l.starts_with("        ") && !l.starts_with("         "))
    );
    assert_eq!(
        shown.join(" ").split_whitespace().collect::<Vec<_>>(),
        words
    );
    assert!(plain.contains(
        "fix: systemctl restart php8.2-fpm    # the command stays on one line, whatever the width\n"
    ));

    // No COLUMNS and no terminal: nothing is wrapped.
    let out = with_columns(&env, &["--color", "never"], None);
    assert!(
        out.stdout.contains(&format!("      {long}\n")),
        "{}",
        out.stdout
    );
    // A report written to a file is not wrapped to anyone's terminal.
    let file = env.path().join("report.txt");
    with_columns(&env, &["--output", file.to_str().unwrap()], Some("60"));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains(&format!("      {long}\n")), "{written}");
}

fn strip_ansi(s: &str) -> String {
    regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(s, "")
        .into_owned()
}

/// `sitedoctor ARGS` with `COLUMNS` set (or not).
fn with_columns(env: &TestEnv, args: &[&str], columns: Option<&str>) -> Output {
    let mut c = env.command(args);
    if let Some(n) = columns {
        c.env("COLUMNS", n);
    }
    run_command(c)
}
