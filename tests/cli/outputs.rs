//! The human and JSON reports (snapshotted, varying fields masked), --quiet, colour,
//! sanitizing, --output and a closed pipe.

use std::os::unix::fs::PermissionsExt;

use crate::testenv::{TestEnv, selftest};

fn mixed() -> TestEnv {
    let toml = [
        selftest("web-ok", "title = \"The site answers\"\nresult = \"pass\"\nsummary = \"answers 200 OK\""),
        selftest("disk-var", "result = \"fail\"\nsummary = \"/var is 97% full (1.2 GiB free)\"\ndetails = [\"/var: 97% used\", \"inodes 12% used\"]\nfix = \"apt-get clean\\njournalctl --vacuum-size=200M\""),
        selftest("php-fpm", "result = \"skip\"\nsummary = \"PHP-FPM is not installed\""),
        selftest("swap", "result = \"warn\"\nsummary = \"swap 85% used\""),
        selftest("db", "result = \"error\"\nsummary = \"cannot read /proc/1/environ: permission denied\""),
    ]
    .concat();
    TestEnv::new().config(&toml)
}

fn mask(s: &str) -> String {
    let host = sitedoctor::report::hostname();
    let mut out = s.replace(&host, "[HOST]");
    let re = regex::Regex::new(r"in \d+(\.\d+)? (ms|s)\b").unwrap();
    out = re.replace_all(&out, "in [DURATION]").into_owned();
    let re = regex::Regex::new(r#""(duration_ms)": \d+"#).unwrap();
    out = re.replace_all(&out, "\"$1\": \"[MS]\"").into_owned();
    let re = regex::Regex::new(r#""started_at": "[^"]+""#).unwrap();
    out = re
        .replace_all(&out, "\"started_at\": \"[TIME]\"")
        .into_owned();
    // JUnit times and timestamps, Prometheus durations and run time.
    let re = regex::Regex::new(r#"(time|timestamp)="[^"]*""#).unwrap();
    out = re.replace_all(&out, "$1=\"[T]\"").into_owned();
    let re = regex::Regex::new(r"(_seconds(\{[^}]*\})?) [0-9.e+-]+").unwrap();
    re.replace_all(&out, "$1 [T]").into_owned()
}

#[test]
fn human_report() {
    let out = mixed().run(&["--color", "never"]);
    out.expect_code(2);
    insta::assert_snapshot!("human", mask(&out.stdout));
}

#[test]
fn human_report_problems_come_first() {
    let out = mixed().run(&[]);
    let pos = |s: &str| {
        out.stdout
            .find(s)
            .unwrap_or_else(|| panic!("{s} missing: {}", out.stdout))
    };
    assert!(pos("FAIL  disk-var") < pos("ERROR db"));
    assert!(pos("ERROR db") < pos("WARN  swap"));
    assert!(pos("WARN  swap") < pos("ok    web-ok"));
    assert!(
        out.stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("problems found: 1 failed, 1 errored, 1 warned, 1 passed, 1 skipped")
    );
}

#[test]
fn json_report() {
    let out = mixed().run(&["--format", "json"]);
    out.expect_code(2);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["schema"], 1);
    insta::assert_snapshot!("json", mask(&out.stdout));
}

#[test]
fn quiet_is_silent_when_all_is_well_and_lists_only_problems_otherwise() {
    let env = TestEnv::new().config(&selftest("fine", "result = \"pass\""));
    let out = env.run(&["--quiet"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "");
    assert_eq!(out.stderr, "");
    let out = mixed().run(&["--quiet"]);
    out.expect_code(2);
    assert!(out.stdout.contains("disk-var") && out.stdout.contains("swap"));
    assert!(
        !out.stdout.contains("web-ok") && !out.stdout.contains("php-fpm"),
        "{}",
        out.stdout
    );
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let env = mixed();
    assert!(
        !env.run(&[]).stdout.contains('\x1b'),
        "not a terminal: no colour"
    );
    assert!(env.run(&["--color", "always"]).stdout.contains("\x1b["));
    let env = env.env("NO_COLOR", "1");
    assert!(!env.run(&["--color", "auto"]).stdout.contains('\x1b'));
}

#[test]
fn untrusted_text_cannot_drive_the_terminal() {
    let env = TestEnv::new().config(&selftest(
        "evil",
        "result = \"fail\"\nsummary = \"name\\u001b[2Jwith\\rcontrol\"\ndetails = [\"line\\nbreak\\u0007\"]",
    ));
    let out = env.run(&["--color", "never"]);
    out.expect_code(2);
    assert!(
        !out.stdout.contains('\x1b') && !out.stdout.contains('\r') && !out.stdout.contains('\x07'),
        "{:?}",
        out.stdout
    );
    assert!(
        out.stdout.contains("name\\x1b[2Jwith\\rcontrol"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("line\\nbreak\\x07"), "{}", out.stdout);
}

#[test]
fn output_file_is_written_whole() {
    let env = mixed();
    let out = env.run(&["--format", "json", "--output", "reports/../report.json"]);
    // The parent `reports` does not exist: a clear error, exit 74, nothing half-written.
    assert_eq!(out.code, 74, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot write reports/../report.json: No such file or directory"),
        "{}",
        out.stderr
    );
    let out = env.run(&["--format", "json", "--output", "report.json"]);
    out.expect_code(2);
    assert_eq!(out.stdout, "");
    let text = std::fs::read_to_string(env.path().join("report.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["summary"]["total"], 5);
    let leftovers: Vec<_> = std::fs::read_dir(env.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".sitedoctor-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn closed_pipe_exits_quietly() {
    // Far more than a pipe buffer, so the writer meets the closed pipe.
    let details: Vec<String> = (0..4000)
        .map(|i| format!("\"evidence line {i} {}\"", "x".repeat(40)))
        .collect();
    let env = TestEnv::new().config(&selftest(
        "big",
        &format!("result = \"fail\"\ndetails = [{}]", details.join(",")),
    ));
    let script = format!(
        "{} --format json | head -c 100 >/dev/null",
        crate::testenv::bin().display()
    );
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(script)
        .current_dir(env.path())
        .env("SITEDOCTOR_SELFTEST", "1");
    let out = crate::testenv::run_command(c);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "", "no message on a closed pipe");
}

#[test]
fn every_machine_format() {
    for format in ["prometheus", "junit", "github", "tap", "nagios"] {
        let out = mixed().run(&["--format", format]);
        out.expect_code(2);
        insta::assert_snapshot!(format!("format_{format}"), mask(&out.stdout));
    }
}

#[test]
fn prometheus_textfile_is_well_formed_and_written_atomically() {
    let env = mixed();
    env.run(&["--quiet", "--format", "prometheus", "--output", "sd.prom"])
        .expect_code(2);
    let text = std::fs::read_to_string(env.path().join("sd.prom")).unwrap();
    let sample =
        regex::Regex::new(r#"^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$"#).unwrap();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(sample.is_match(line), "not a sample line: {line:?}");
    }
    assert!(
        text.contains("sitedoctor_check_status{id=\"disk-var\",kind=\"selftest\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("sitedoctor_checks{status=\"fail\"} 1"),
        "{text}"
    );
}

#[test]
fn junit_counts_and_escapes() {
    let env = TestEnv::new().config(
        &(selftest(
            "x",
            "result = \"fail\"\nsummary = \"a < b & \\\"c\\\" \\u0001\"",
        ) + &selftest("y", "result = \"skip\"")),
    );
    let out = env.run(&["--format", "junit"]);
    out.expect_code(2);
    assert!(
        out.stdout
            .contains("tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"1\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("message=\"a &lt; b &amp; &quot;c&quot; \\x01\""),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains('\u{1}'));
}

/// Which raw characters in `text` could drive a terminal or reorder what it shows.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            let c0 = (c as u32) < 0x20 && c != '\n' && c != '\t';
            // Every format, JSON too (`jq -r` prints what it holds to a terminal).
            let other = c == '\u{7f}'
                || ('\u{80}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            c0 || other
        })
        .collect()
}

#[test]
fn no_format_lets_control_characters_through() {
    let evil = r#"result = "fail"
title = "t\u001b[31mred\u202e"
summary = "sum \u001b[31mred\u0007bell\rcr \u001b]8;;http://evil.example/\u0007link\u001b]8;;\u001b\\ \u202etxt.exe \u009b1m"
details = ["detail \u001b[2J\u0007\r\u202e \u001b]8;;http://x/\u001b\\x\u001b]8;;\u001b\\", "two\nlines"]
fix = "run \u001b[31mthis\u0007\nthen \u202ethat\r""#;
    let env = TestEnv::new();
    // A plugin's performance data labels are untrusted too: they become metric names.
    let plugin = env.file(
        "plugins/check_evil",
        "#!/bin/sh\nprintf 'EVIL CRITICAL - \\033[31mred | '\\''lab\\033[31mel\\342\\200\\256'\\''=1;2;3\\n'\nexit 2\n",
    );
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = env.path().join("plugins");
    let env = env.config(&format!(
        "{}[[check]]\nid = \"plug\"\nkind = \"plugin\"\nplugin = \"check_evil\"\nplugin_dir = \"{}\"\n",
        selftest("evil", evil),
        dir.display()
    ));
    for format in sitedoctor::render::names() {
        let out = env.run(&["--format", format, "--color", "never"]);
        out.expect_code(2);
        let raw = raw_controls(&out.stdout);
        assert!(
            raw.is_empty(),
            "{format} printed {raw:?} raw:\n{}",
            out.stdout
        );
        if format == "json" {
            continue;
        }
        if format != "prometheus" {
            assert!(
                out.stdout.contains("x1b[31mred") && out.stdout.contains("u{202e}txt.exe"),
                "{format} shows the escapes: {}",
                out.stdout
            );
        }
        if ["nagios", "prometheus"].contains(&format) {
            assert!(
                out.stdout.contains("x1b[31mel"),
                "{format} shows the metric: {}",
                out.stdout
            );
        }
    }
}

#[test]
fn list_prints_titles_and_tags_made_safe() {
    let env = TestEnv::new().config(&selftest(
        "evil",
        "title = \"The \\u202eshop\"\ntags = [\"a\\u001b]8;;http://x/\\u0007b\"]",
    ));
    let out = env.run(&["list"]);
    out.expect_code(0);
    let raw = raw_controls(&out.stdout);
    assert!(raw.is_empty(), "printed {raw:?} raw:\n{}", out.stdout);
    assert!(
        out.stdout
            .contains("— The \\u{202e}shop  [tags: a\\x1b]8;;http://x/\\x07b]"),
        "{}",
        out.stdout
    );
}

#[test]
fn nagios_perfdata_says_lower_is_worse_with_a_range() {
    let env = TestEnv::new();
    env.file(
        "proc/meminfo",
        "MemTotal: 1000000 kB\nMemAvailable: 300000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
    );
    let root = env.path().join("proc").display().to_string();
    let env = env
        .env("SITEDOCTOR_PROC", &root)
        .config("[[check]]\nid = \"mem\"\nkind = \"memory\"\nwarn = \"40%\"\nfail = \"20%\"\n");
    let out = env.run(&["--format", "nagios"]);
    out.expect_code(1);
    let first = out.stdout.lines().next().unwrap();
    let perf = first.split_once(" | ").map(|(_, p)| p).unwrap_or("");
    assert_eq!(
        perf,
        "'mem_available_percent'=30%;40:;20: 'mem_available_bytes'=307200000B;; 'mem_total_bytes'=1024000000B;;",
        "{}",
        out.stdout
    );
}
