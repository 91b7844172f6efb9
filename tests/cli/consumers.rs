//! Every output format read by its most common real consumer: TAP by Perl's `prove` and
//! `TAP::Parser`, JUnit by `junitparser` and `xmllint`, Prometheus text by `promtool`,
//! Nagios output by `Monitoring::Plugin`. One run checks every result (pass, warn, fail,
//! error, skip) with the strings that break formats: quotes, colons, `#`, `|`, newlines,
//! control characters, markup and a file name that is not UTF-8.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::peer::{perl_with, program, python_with};
use crate::testenv::{Output, TestEnv, run_command, selftest};

/// The checklist of awkward results, and a world-writable file whose name is not UTF-8 for
/// a real check to report.
fn awkward() -> TestEnv {
    let toml = [
        selftest("ok-one", r##"summary = "all good: \"quoted\" # not a comment""##),
        selftest(
            "warn-one",
            r##"result = "warn"
summary = "a warning with 'single' and \"double\" quotes"
details = ["line: with colon", "a : spaced colon", "- leading dash", "# hash", "multi\nline", "tab\there", "{braces} [brackets] & *star !bang %pct @at `tick`"]
fix = "run this:\n  chmod o-w '/var/www/a b'\n# then reload""##,
        ),
        selftest(
            "fail-two",
            r#"result = "fail"
summary = "failed | pipe = equals 'n' \\backslash"
details = ["yes: no", "null", "~", "true", "..."]
fix = "do: \"this\"""#,
        ),
        selftest(
            "err",
            r#"result = "error"
summary = "broke: \"badly\"\nsecond line""#,
        ),
        selftest(
            "skip-me",
            r##"result = "skip"
summary = "skipped # because: reasons""##,
        ),
        selftest(
            "ctl",
            r#"result = "fail"
summary = "bell\u0007 esc\u001b[31m nul\u0000 del\u007f cr\r end]]> <tag> &amp;"
details = ["\u0001\u0002 c1\u0085 bom\ufeff rtl\u202e x"]
fix = "echo ']]>' \u001b""#,
        ),
        "[[check]]\nid = \"ww\"\nkind = \"world_writable\"\npaths = [\"www\"]\n".into(),
    ]
    .concat();
    let env = TestEnv::new().config(&toml);
    let www = env.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let name = OsStr::from_bytes(b"bad\xff name: \"q\" #x");
    let file = www.join(name);
    std::fs::write(&file, "x").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
    env
}

/// The temporary directory's path, which differs from run to run, masked.
fn mask(env: &TestEnv, s: &str) -> String {
    s.replace(&env.path().display().to_string(), "[DIR]")
}

/// A JSON document a consumer printed, pretty, for a snapshot.
fn parsed(env: &TestEnv, out: &Output) -> serde_json::Value {
    assert!(
        out.code == 0,
        "the consumer failed ({})\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    let text = mask(env, &out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/fixtures/consumers")
        .join(name)
}

/// `sitedoctor --format FORMAT` written to a file, with its exit code.
fn report(env: &TestEnv, format: &str) -> (PathBuf, i32) {
    let out = env.run(&["--format", format]);
    let path = env.path().join(format!("report.{format}"));
    std::fs::write(&path, &out.stdout).unwrap();
    (path, out.code)
}

#[test]
fn tap_reads_in_tap_parser_and_prove() {
    let Some(perl) = perl_with("TAP::Parser") else {
        return;
    };
    let Some(prove) = program("prove") else {
        return;
    };
    let env = awkward();
    // A test file `prove` runs through sh: the test is sitedoctor itself.
    let t = env.file(
        "sitedoctor.t",
        &format!("exec '{}' --format tap\n", crate::testenv::bin().display()),
    );

    let mut c = Command::new(&perl);
    c.arg(script("tap.pl")).args(["/bin/sh", "sitedoctor.t"]);
    c.current_dir(env.path()).env("SITEDOCTOR_SELFTEST", "1");
    let tap = parsed(&env, &run_command(c));
    assert_eq!(tap["parse_errors"], serde_json::json!([]), "{tap:#}");
    assert_eq!(tap["version"], 13);
    assert_eq!(tap["tests_run"], 7);
    insta::assert_json_snapshot!("tap_parser", tap);

    // A full YAML parser reads the diagnostics as TAP::Parser does.
    if let Some(python) = python_with("yaml") {
        let (file, _) = report(&env, "tap");
        let mut c = Command::new(python);
        c.arg(script("tap_yaml.py")).arg(file);
        let full = parsed(&env, &run_command(c));
        let tap_read: Vec<_> = tap["tests"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|t| t.get("yaml").cloned())
            .collect();
        assert_eq!(full, serde_json::Value::from(tap_read));
    }

    let mut c = Command::new(prove);
    c.args(["--exec", "/bin/sh"]).arg(&t);
    c.current_dir(env.path()).env("SITEDOCTOR_SELFTEST", "1");
    let out = run_command(c);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(!out.stdout.contains("Parse errors"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Failed tests:  3-4, 6-7"),
        "{}",
        out.stdout
    );
}

#[test]
fn junit_reads_in_junitparser_and_xmllint() {
    let Some(python) = python_with("junitparser") else {
        return;
    };
    let Some(xmllint) = program("xmllint") else {
        return;
    };
    let env = awkward();
    let (xml, code) = report(&env, "junit");
    assert_eq!(code, 2);

    let out = run_command({
        let mut c = Command::new(xmllint);
        c.arg("--noout").arg(&xml);
        c
    });
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "xmllint");

    let out = run_command({
        let mut c = Command::new(python);
        c.arg(script("junit.py")).arg(&xml);
        c
    });
    let mut junit = parsed(&env, &out);
    for case in junit["suites"][0]["cases"].as_array_mut().unwrap() {
        case["time"] = "[T]".into();
    }
    junit["suites"][0]["name"] = "[NAME]".into();
    insta::assert_json_snapshot!("junitparser", junit);
}

#[test]
fn prometheus_text_passes_promtool_check_metrics() {
    let Some(promtool) = program("promtool") else {
        return;
    };
    let env = awkward();
    let (prom, code) = report(&env, "prometheus");
    assert_eq!(code, 2);
    let text = std::fs::read_to_string(&prom).unwrap();
    for status in ["0", "1", "2", "3", "-1"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("sitedoctor_check_status{")
                    && l.ends_with(&format!("}} {status}"))),
            "no check with status {status}:\n{text}"
        );
    }
    let out = run_command({
        let mut c = Command::new(promtool);
        c.args(["check", "metrics"])
            .stdin(Stdio::from(std::fs::File::open(&prom).unwrap()));
        c
    });
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", ""),
        "promtool check metrics complained about:\n{text}"
    );
}

#[test]
fn nagios_output_reads_in_monitoring_plugin() {
    let Some(perl) = perl_with("Monitoring::Plugin::Performance") else {
        return;
    };
    let env = awkward();
    let (nagios, code) = report(&env, "nagios");
    assert_eq!(code, 2);
    let out = run_command({
        let mut c = Command::new(perl);
        c.arg(script("nagios.pl"))
            .stdin(Stdio::from(std::fs::File::open(&nagios).unwrap()));
        c
    });
    let plugin = parsed(&env, &out);
    // The status word is the one the exit code means, and no performance datum was dropped.
    assert_eq!(plugin["code"], code);
    assert_eq!(
        plugin["fields"],
        plugin["perfdata"].as_array().unwrap().len(),
        "{plugin:#}"
    );
    insta::assert_json_snapshot!("monitoring_plugin", plugin);
}
