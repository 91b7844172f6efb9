//! Every configuration error exits 78 before anything runs, naming file:line:column and
//! what was expected.

use crate::testenv::{Output, TestEnv, selftest};

fn bad(toml: &str) -> Output {
    let env = TestEnv::new();
    env.file("checks.toml", toml);
    let out = env.run(&["--config", "checks.toml"]);
    out.expect_code(78);
    assert!(out.stdout.is_empty(), "nothing may run: {}", out.stdout);
    out
}

fn assert_has(out: &Output, needles: &[&str]) {
    for n in needles {
        assert!(out.stderr.contains(n), "missing {n:?} in:\n{}", out.stderr);
    }
}

#[test]
fn toml_syntax() {
    let out = bad("[[check]]\nid = \"a\"\nkind = \"disk\nwarn = 1\n");
    assert_has(&out, &["checks.toml:3:", "TOML syntax error"]);
}

#[test]
fn unknown_kind_lists_valid_kinds() {
    let out = bad("[[check]]\nid = \"a\"\nkind = \"dsik\"\n");
    assert_has(
        &out,
        &[
            "checks.toml:3:8",
            "unknown check kind \"dsik\"",
            "did you mean `disk`",
            "memory, load, fds",
        ],
    );
}

#[test]
fn unknown_field_lists_valid_fields() {
    let out = bad("[[check]]\nid = \"a\"\nkind = \"disk\"\nwran = \"80%\"\n");
    assert_has(
        &out,
        &[
            "checks.toml:4:1",
            "unknown field `wran`",
            "did you mean `warn`",
            "valid fields: id, kind",
            "inodes_fail",
        ],
    );
}

#[test]
fn wrong_type() {
    let out = bad("[[check]]\nid = \"a\"\nkind = \"disk\"\nwarn = 85\n");
    assert_has(
        &out,
        &["checks.toml:4:8", "threshold 85 has no unit: write \"85%\""],
    );
    let out = bad("[[check]]\nid = \"a\"\nkind = \"load\"\nwarn = \"high\"\n");
    assert_has(&out, &["checks.toml:4:8", "expected f64"]);
}

#[test]
fn duplicate_id_across_files_names_both_places() {
    let env = TestEnv::new();
    env.file("d/a.toml", "[[check]]\nid = \"disk\"\nkind = \"disk\"\n");
    env.file(
        "d/b.toml",
        "\n[[check]]\nkind = \"memory\"\nid = \"disk\"\n",
    );
    let out = env.run(&["--config", "d"]);
    out.expect_code(78);
    assert!(
        out.stderr
            .contains("d/b.toml:4:6: duplicate check id \"disk\": already defined at d/a.toml:2:6"),
        "{}",
        out.stderr
    );
}

#[test]
fn malformed_threshold() {
    let out = bad("[[check]]\nid = \"a\"\nkind = \"memory\"\nfail = \"ninety%\"\n");
    assert_has(
        &out,
        &[
            "checks.toml:4:8",
            "invalid threshold \"ninety%\"",
            "\"90%\"",
            "\"500MiB\"",
        ],
    );
    let out = bad("[[check]]\nid = \"a\"\nkind = \"disk\"\nwarn = \"120%\"\n");
    assert_has(&out, &["checks.toml:4:8", "between 0% and 100%"]);
    let out = bad("[[check]]\nid = \"a\"\nkind = \"selftest\"\ntimeout = \"fast\"\n");
    assert_has(&out, &["checks.toml:4:11", "invalid duration \"fast\""]);
}

#[test]
fn warn_looser_than_fail() {
    let out = bad("[[check]]\nid = \"a\"\nkind = \"disk\"\nwarn = \"97%\"\nfail = \"95%\"\n");
    assert_has(
        &out,
        &[
            "checks.toml:4:8",
            "warn threshold 97% is looser than fail threshold 95%",
        ],
    );
    let out = bad("[[check]]\nid = \"a\"\nkind = \"memory\"\nwarn = \"2%\"\nfail = \"5%\"\n");
    assert_has(&out, &["checks.toml:4:8", "looser"]);
    let out = bad("[[check]]\nid = \"a\"\nkind = \"load\"\nwarn = 4.0\nfail = 2.0\n");
    assert_has(&out, &["checks.toml:4:8", "looser"]);
}

#[test]
fn missing_required_field_points_at_the_table() {
    let out = bad("[[check]]\nid = \"a\"\nkind = \"env\"\n");
    assert_has(&out, &["checks.toml:1:", "missing field `vars`"]);
    let out = bad("[[check]]\nkind = \"disk\"\n");
    assert_has(&out, &["checks.toml:1:", "missing field `id`"]);
}

#[test]
fn bad_id_and_layout() {
    let out = bad("[[check]]\nid = \"Disk Root\"\nkind = \"disk\"\n");
    assert_has(&out, &["checks.toml:2:6", "kebab-case"]);
    let out = bad("[check]\nid = \"a\"\nkind = \"disk\"\n");
    assert_has(&out, &["[[check]]"]);
    let out = bad("title = \"x\"\n");
    assert_has(&out, &["checks.toml:1:1", "unknown top-level key `title`"]);
}

#[test]
fn missing_config_path_is_clear() {
    let env = TestEnv::new();
    let out = env.run(&["--config", "nope.toml"]);
    out.expect_code(78);
    assert!(
        out.stderr
            .contains("nope.toml: cannot read configuration: No such file or directory"),
        "{}",
        out.stderr
    );
    std::fs::create_dir(env.path().join("empty")).unwrap();
    let out = env.run(&["--config", "empty"]);
    out.expect_code(78);
    assert!(out.stderr.contains("holds no *.toml"), "{}", out.stderr);
}

#[test]
fn not_utf8_config() {
    let env = TestEnv::new();
    std::fs::write(env.path().join("x.toml"), b"[[check]]\nid = \"\xff\"\n").unwrap();
    let out = env.run(&["--config", "x.toml"]);
    out.expect_code(78);
    assert!(out.stderr.contains("not UTF-8"), "{}", out.stderr);
}

#[test]
fn a_file_that_defines_no_check_runs_nothing() {
    for text in ["", "# every check commented out\n# [[check]]\n"] {
        let out = bad(text);
        assert_has(
            &out,
            &["checks.toml: no checks to run: this file defines no [[check]]"],
        );
    }
    // One empty file among several still stops the run: it may have been emptied by accident.
    let env = TestEnv::new();
    env.file("d/a.toml", &selftest("a", ""));
    env.file("d/b.toml", "");
    let out = env.run(&["--config", "d"]);
    out.expect_code(78);
    assert!(
        out.stderr.contains("d/b.toml: no checks to run"),
        "{}",
        out.stderr
    );
}

#[test]
fn selections_that_leave_nothing_are_errors_naming_the_option() {
    let env = TestEnv::new().config(
        &(selftest("a", "tags = [\"web\"]")
            + &selftest("b", "tags = [\"web\"]\nenabled = false")
            + &selftest("c", "enabled = false")),
    );
    let out = env.run(&["--skip", "a"]);
    out.expect_code(64);
    assert!(
        out.stderr
            .contains("no checks to run: --skip a leaves out every enabled check"),
        "{}",
        out.stderr
    );
    let out = env.run(&["--only", "c"]);
    out.expect_code(64);
    assert!(
        out.stderr
            .contains("no checks to run: --only c selects only checks with `enabled = false`"),
        "{}",
        out.stderr
    );
    let out = env.run(&["--only", "web", "--skip", "a"]);
    out.expect_code(64);
    assert!(
        out.stderr
            .contains("--skip a leaves out every enabled check of those --only web selects"),
        "{}",
        out.stderr
    );
    env.run(&["--only", "web"]).expect_code(0);
}

#[test]
fn a_configuration_with_every_check_disabled_is_a_configuration_error() {
    let env = TestEnv::new()
        .config(&(selftest("a", "enabled = false") + &selftest("b", "enabled = false")));
    let out = env.run(&[]);
    out.expect_code(78);
    assert!(
        out.stderr
            .contains("no checks to run: every check has `enabled = false`"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
}

/// The system directory, pointed at a temporary one (tests never touch /etc/sitedoctor).
fn with_system_dir(env: TestEnv) -> TestEnv {
    let dir = env.path().join("system");
    std::fs::create_dir_all(&dir).unwrap();
    let dir = dir.display().to_string();
    env.env("SITEDOCTOR_SYSTEM_CONFIG_DIR", &dir)
}

#[test]
fn a_system_directory_without_toml_files_means_the_built_in_checklist() {
    let env = with_system_dir(TestEnv::new());
    env.file("system/README", "checks go here\n");
    let out = env.run(&["list"]);
    out.expect_code(0);
    assert!(out.stdout.contains("Checks in <built-in"), "{}", out.stdout);

    env.file("system/site.toml", &selftest("from-system", ""));
    let out = env.run(&["list"]);
    out.expect_code(0);
    assert!(out.stdout.contains("from-system"), "{}", out.stdout);
    assert!(!out.stdout.contains("<built-in"), "{}", out.stdout);

    env.file("system/empty.toml", "");
    let out = env.run(&[]);
    out.expect_code(78);
    assert!(
        out.stderr.contains("empty.toml: no checks to run"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_threshold_without_a_unit_is_refused_naming_the_units() {
    for (kind, field, value, at) in [
        ("disk", "warn", "\"80\"", "checks.toml:4:8"),
        ("disk", "warn", "80", "checks.toml:4:8"),
        ("disk", "fail", "95.5", "checks.toml:4:8"),
        ("disk", "inodes_warn", "\"80\"", "checks.toml:4:15"),
        ("memory", "fail", "\"5\"", "checks.toml:4:8"),
        ("memory", "swap_warn", "80", "checks.toml:4:13"),
        ("fds", "warn", "80", "checks.toml:4:8"),
    ] {
        let out = bad(&format!(
            "[[check]]\nid = \"a\"\nkind = \"{kind}\"\n{field} = {value}\n"
        ));
        let number = value.trim_matches('"');
        assert_has(
            &out,
            &[
                at,
                &format!("threshold {number} has no unit: write \"{number}%\""),
                "KiB",
                "GB",
            ],
        );
    }
    // Load thresholds are plain numbers (per core), as they always were.
    let env =
        TestEnv::new().config("[[check]]\nid = \"l\"\nkind = \"load\"\nwarn = 80\nfail = 90\n");
    env.run(&["list"]).expect_code(0);
}

#[test]
fn overlong_durations_are_errors_not_panics_or_wrap_arounds() {
    let out = bad(&selftest("a", "timeout = \"300000000000y\""));
    assert_has(
        &out,
        &[
            "checks.toml:4:11",
            "duration \"300000000000y\" is too long: at most 10 years",
        ],
    );
    let out = bad(
        "[[check]]\nid = \"l\"\nkind = \"log\"\npaths = [\"/nonexistent.log\"]\nwindow = \"18446744073709551615s\"\n",
    );
    assert_has(&out, &["checks.toml:5:10", "is too long"]);
    let out = bad(
        "[[check]]\nid = \"r\"\nkind = \"recent_changes\"\npath = \"/nonexistent\"\nwindow = \"11y\"\n",
    );
    assert_has(&out, &["checks.toml:5:10", "is too long"]);
    let env = TestEnv::new().config(&selftest("a", ""));
    let out = env.run(&["--timeout", "9223372036854775807s"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("is too long: at most 10 years"),
        "{}",
        out.stderr
    );
    // The longest accepted timeout still runs: adding it to the clock cannot overflow.
    env.run(&["--timeout", "10y"]).expect_code(0);
}

#[test]
fn a_device_or_fifo_given_as_configuration_is_refused_at_once() {
    let env = TestEnv::new();
    let out = env.run(&["--config", "/dev/zero"]);
    out.expect_code(78);
    assert!(
        out.stderr.contains(
            "/dev/zero: cannot read configuration: not a regular file (it is a character device)"
        ),
        "{}",
        out.stderr
    );
    let fifo = env.path().join("fifo.toml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = env.run(&["--config", "fifo.toml"]);
    out.expect_code(78);
    assert!(out.stderr.contains("(it is a FIFO)"), "{}", out.stderr);
    // A directory of configuration that holds a FIFO named like a check file.
    env.file("d/a.toml", &selftest("a", ""));
    std::fs::rename(&fifo, env.path().join("d/b.toml")).unwrap();
    let out = env.run(&["--config", "d"]);
    out.expect_code(78);
    assert!(
        out.stderr.contains("d/b.toml: cannot read configuration"),
        "{}",
        out.stderr
    );
}

#[test]
fn env_from_file_on_a_device_or_fifo_is_a_prompt_error() {
    let env = TestEnv::new();
    let fifo = env.path().join("fifo.env");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A zero device of our own (char 1:5), never the machine's /dev nodes.
    let zero = env.path().join("zero.env");
    assert!(
        std::process::Command::new("mknod")
            .arg(&zero)
            .args(["c", "1", "5"])
            .status()
            .unwrap()
            .success()
    );
    for (path, what) in [
        (fifo.display().to_string(), "a FIFO"),
        (zero.display().to_string(), "a character device"),
        ("/dev/zero".to_string(), "a character device"),
    ] {
        let env = TestEnv::new().config(&format!(
            "[[check]]\nid = \"e\"\nkind = \"env\"\nfrom_file = \"{path}\"\nvars = [\"A\"]\n"
        ));
        let out = env.run(&["--format", "json"]);
        out.expect_code(3);
        let v = crate::testenv::json(&out);
        assert_eq!(
            v["checks"][0]["summary"],
            format!("cannot read {path}: not a regular file (it is {what}); refusing to read it")
        );
    }
}
