//! The examples a person copies run as printed: every example of `sitedoctor --help` and every
//! `sitedoctor` line of the README's `sh` blocks runs in a temporary root (no configuration
//! but the one the example names) without a usage or configuration error or a panic; the ones
//! that change something (`--apply`, `init`, `--output`) and the README's transcripts and
//! crontab lines are parsed, not run.

use std::path::Path;

use crate::testenv::{TestEnv, run_command};

/// An example: the words after `sitedoctor`, and where it was found.
#[derive(Debug)]
struct Example {
    words: Vec<String>,
    from: &'static str,
    /// Only parsed: a transcript or a crontab line, not a command to copy here.
    parse_only: bool,
}

/// `  sitedoctor ARGS    what it does` under "Examples:" in `--help`.
fn help_examples() -> Vec<Example> {
    let out = TestEnv::new().run(&["--help"]);
    out.expect_code(0);
    let after = out
        .stdout
        .split("\nExamples:\n")
        .nth(1)
        .expect("--help has examples");
    after
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| {
            let command = l.trim_start().split("  ").next().unwrap();
            Example {
                words: words_after_sitedoctor(command).expect(l),
                from: "--help",
                parse_only: false,
            }
        })
        .collect()
}

/// The words after `sitedoctor` on a command line (after `sudo` or a path to the binary),
/// without a trailing `# comment`.
fn words_after_sitedoctor(line: &str) -> Option<Vec<String>> {
    let line = line.split(" #").next().unwrap();
    let mut words = line.split_whitespace();
    words.find(|w| *w == "sitedoctor" || w.ends_with("/sitedoctor"))?;
    // The command ends where the shell takes over: a pipe, a list or a redirection.
    let ours = words.take_while(|w| {
        !["|", "||", "&&", ";"].contains(w) && !w.starts_with('>') && !w.starts_with("2>")
    });
    Some(ours.map(|w| w.trim_end_matches(')').to_string()).collect())
}

/// Every `sitedoctor` command in the README's fenced blocks: `sh` ones are run, `console`
/// transcripts and `cron` lines parsed.
fn readme_examples() -> Vec<Example> {
    let readme = include_str!("../../README.md");
    let mut lang: Option<&str> = None;
    let mut found = Vec::new();
    for line in readme.lines() {
        if let Some(fence) = line.strip_prefix("```") {
            lang = match lang {
                None => Some(fence.trim()),
                Some(_) => None,
            };
            continue;
        }
        let (run, text) = match lang {
            Some("sh" | "bash" | "shell") => (true, line),
            Some("console") => match line.strip_prefix("$ ") {
                Some(cmd) => (false, cmd),
                None => continue,
            },
            Some("cron" | "crontab") => (false, line),
            _ => continue,
        };
        if text.trim_start().starts_with('#') {
            continue;
        }
        if let Some(words) = words_after_sitedoctor(text) {
            found.push(Example {
                words,
                from: "README.md",
                parse_only: !run,
            });
        }
    }
    found
}

/// Whether running it would change something, or never end (`serve`): those are parsed only.
fn changes_things(words: &[String]) -> bool {
    words
        .iter()
        .any(|w| ["--apply", "init", "--output", "-o", "serve", "snapshot"].contains(&w.as_str()))
}

#[test]
fn every_example_parses_and_the_read_only_ones_run() {
    let mut examples = help_examples();
    assert!(examples.len() >= 9, "{examples:?}");
    examples.extend(readme_examples());
    assert!(
        examples
            .iter()
            .any(|e| e.from == "README.md" && !e.parse_only),
        "no runnable README example found: {examples:?}"
    );
    for e in &examples {
        let argv = std::iter::once("sitedoctor").chain(e.words.iter().map(String::as_str));
        if let Err(err) = sitedoctor::cli::applies::parse_from(argv) {
            panic!(
                "{} example `sitedoctor {}` does not parse:\n{err}",
                e.from,
                e.words.join(" ")
            );
        }
    }
    let system = tempfile::tempdir().unwrap();
    let env = TestEnv::new().env("SITEDOCTOR_SELFTEST", "0").env(
        "SITEDOCTOR_SYSTEM_CONFIG_DIR",
        &system.path().display().to_string(),
    );
    // The examples name the sample configuration the project ships.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    env.file(
        "checks/deploy.toml",
        &std::fs::read_to_string(manifest.join("checks/deploy.toml")).unwrap(),
    );
    // `diff` compares with a snapshot: take one first, in the test's own state directory.
    let state = env.path().join("state");
    let env = env.env("SITEDOCTOR_STATE_DIR", &state.display().to_string());
    env.run(&["snapshot", "--force"]).expect_code(0);
    let runnable: Vec<&Example> = examples
        .iter()
        .filter(|e| !e.parse_only && !changes_things(&e.words))
        .collect();
    assert!(
        runnable
            .iter()
            .any(|e| e.words == ["fix", "--only", "files"]),
        "{runnable:?}"
    );
    std::thread::scope(|s| {
        let runs: Vec<_> = runnable
            .iter()
            .map(|e| {
                let args: Vec<&str> = e.words.iter().map(String::as_str).collect();
                let cmd = env.command(&args);
                (e, s.spawn(move || run_command(cmd)))
            })
            .collect();
        for (e, run) in runs {
            let out = run.join().unwrap();
            let shown = format!("{} example `sitedoctor {}`", e.from, e.words.join(" "));
            assert!(
                [0, 1, 2, 3].contains(&out.code) && !out.stderr.contains("panicked"),
                "{shown} exits {}\n--- stdout\n{}\n--- stderr\n{}",
                out.code,
                out.stdout,
                out.stderr
            );
        }
    });
}
