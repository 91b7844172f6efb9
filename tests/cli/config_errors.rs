//! Every configuration error exits 78 before anything runs, naming file:line:column and
//! what was expected.

use crate::testenv::{Output, TestEnv};

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
        &[
            "checks.toml:4:8",
            "invalid type: integer `85`, expected a string",
        ],
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
