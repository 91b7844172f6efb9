//! `sitedoctor man`: the page renders with the real man and groff without a warning, and
//! holds the sections a reader looks for.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::testenv::{TestEnv, program_or_skip};

/// Run `program args` with `input` on stdin; None (skip) when the program is missing outside
/// CI, a failure in CI.
fn pipe(
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
    input: &str,
) -> Option<(i32, String, String)> {
    let mut child = Command::new(program_or_skip(program)?)
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

fn page() -> String {
    let out = TestEnv::new().run(&["man"]);
    out.expect_code(0);
    assert_eq!(out.stderr, "");
    out.stdout
}

#[test]
fn man_renders_the_page_without_warnings() {
    let page = page();
    let Some((code, text, warnings)) = pipe(
        "man",
        &["--warnings", "-l", "-"],
        &[("MANWIDTH", "80"), ("MANPAGER", "cat"), ("PAGER", "cat")],
        &page,
    ) else {
        return;
    };
    assert_eq!(code, 0, "{warnings}");
    assert_eq!(warnings, "", "man warned");
    for heading in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "OPTIONS",
        "COMMANDS",
        "EXAMPLES",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
    ] {
        assert!(text.lines().any(|l| l == heading), "no {heading}:\n{text}");
    }
    for line in [
        "       78     Configuration error: nothing ran.",
        "       /etc/sitedoctor/checks.d/*.toml",
        "       SITEDOCTOR_SYSTEM_CONFIG_DIR",
        "       sitedoctor completions SHELL",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?}:\n{text}");
    }
    assert!(
        text.lines().all(|l| l.chars().count() <= 80),
        "wider than 80:\n{text}"
    );
}

#[test]
fn groff_reads_the_page_without_warnings_even_without_preconv() {
    let Some((code, _, warnings)) = pipe("groff", &["-man", "-ww", "-z"], &[], &page()) else {
        return;
    };
    assert_eq!(code, 0, "{warnings}");
    assert_eq!(warnings, "", "groff warned");
}

#[test]
fn man_writes_to_output_and_refuses_the_run_options() {
    let env = TestEnv::new();
    env.run(&["man", "-o", "sitedoctor.1"]).expect_code(0);
    let written = std::fs::read_to_string(env.path().join("sitedoctor.1")).unwrap();
    assert!(
        written.starts_with(".ie \\n(.g .ds Aq") || written.contains(".TH sitedoctor 1"),
        "{written}"
    );
    let out = env.run(&["man", "--skip", "disk", "--timeout", "1s"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains(
            "--skip does not apply to `man`: it prints generated text, and takes only --output"
        ),
        "{}",
        out.stderr
    );
}
