//! `sitedoctor completions SHELL`: each script checked by its real shell, and a TAB after
//! `--only`, `--skip` and `explain` offering what the configuration there defines.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::testenv::{Output, TestEnv, bin, program_or_skip as shell, run_command, selftest};

/// The scripts call `sitedoctor` through PATH, as a user's shell does: a directory holding
/// only it, ahead of the system's.
fn path_with_binary(env: &TestEnv) -> String {
    let dir = env.path().join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("sitedoctor");
    if !link.exists() {
        std::os::unix::fs::symlink(bin(), &link).unwrap();
    }
    format!("{}:/usr/bin:/bin", dir.display())
}

fn script(env: &TestEnv, shell: &str) -> PathBuf {
    let out = env.run(&["completions", shell]);
    out.expect_code(0);
    env.file(&format!("completion.{shell}"), &out.stdout)
}

/// `shell -c CODE` in the test's directory with the binary on PATH.
fn in_shell(env: &TestEnv, shell: &Path, code: &str) -> Output {
    let mut c = Command::new(shell);
    c.arg("-c").arg(code).current_dir(env.path());
    c.env("PATH", path_with_binary(env))
        .env("SITEDOCTOR_SELFTEST", "1");
    run_command(c)
}

fn lines(out: &Output) -> Vec<&str> {
    out.stdout.lines().collect()
}

fn configured() -> TestEnv {
    TestEnv::new().config(
        &(selftest("app-up", "tags = [\"web\"]") + &selftest("db-up", "tags = [\"db\", \"web\"]")),
    )
}

/// Press TAB in bash after `words` (the last being the word under the cursor).
fn bash_tab(env: &TestEnv, words: &[&str]) -> Vec<String> {
    let bash = shell("bash").unwrap();
    let script = script(env, "bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let code = format!(
        "source '{}' || exit 9\n\
         COMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_TYPE=9\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\n\
         COMP_POINT=${{#COMP_LINE}}\n\
         _clap_complete_sitedoctor sitedoctor \"${{COMP_WORDS[COMP_CWORD]}}\" \
         \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let out = in_shell(env, &bash, &code);
    out.expect_code(0);
    // printf prints one empty line for an empty COMPREPLY.
    lines(&out)
        .iter()
        .filter(|l| !l.is_empty())
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn the_bash_script_parses() {
    let env = TestEnv::new();
    let Some(bash) = shell("bash") else { return };
    let script = script(&env, "bash");
    let out = run_command({
        let mut c = Command::new(bash);
        c.arg("-n").arg(&script);
        c
    });
    out.expect_code(0);
    assert_eq!(out.stderr, "");
}

#[test]
fn bash_tab_after_only_offers_the_configured_ids_and_tags() {
    let env = configured();
    assert_eq!(
        bash_tab(&env, &["sitedoctor", "--only", ""]),
        ["app-up", "db-up", "db", "web"]
    );
    assert_eq!(
        bash_tab(&env, &["sitedoctor", "--skip", "d"]),
        ["db-up", "db"]
    );
    // After a comma, the next value of the list.
    assert_eq!(
        bash_tab(&env, &["sitedoctor", "--only", "web,a"]),
        ["web,app-up"]
    );
}

#[test]
fn bash_tab_reads_the_config_already_typed() {
    let env = configured();
    env.file("other.toml", &selftest("elsewhere", ""));
    assert_eq!(
        bash_tab(
            &env,
            &["sitedoctor", "--config", "other.toml", "fix", "--only", ""]
        ),
        ["elsewhere"]
    );
}

#[test]
fn bash_tab_after_explain_offers_kinds_and_ids() {
    let env = configured();
    let got = bash_tab(&env, &["sitedoctor", "explain", ""]);
    for want in ["disk", "memory", "http", "diagnosis", "app-up", "db-up"] {
        assert!(got.iter().any(|g| g == want), "{want} not in {got:?}");
    }
    assert_eq!(bash_tab(&env, &["sitedoctor", "explain", "dis"]), ["disk"]);
}

#[test]
fn bash_tab_completes_subcommands_and_shells() {
    let env = TestEnv::new();
    let got = bash_tab(&env, &["sitedoctor", "comp"]);
    assert_eq!(got, ["completions"]);
    let got = bash_tab(&env, &["sitedoctor", "completions", ""]);
    assert_eq!(got[..5], ["bash", "elvish", "fish", "powershell", "zsh"]);
    assert_eq!(
        bash_tab(&env, &["sitedoctor", "completions", "f"]),
        ["fish"]
    );
}

#[test]
fn a_broken_configuration_completes_nothing_and_prints_nothing() {
    let env = TestEnv::new().config("[[check]]\nid = \"x\"\nkind = \"no-such-kind\"\n");
    assert_eq!(bash_tab(&env, &["sitedoctor", "--only", ""]), [""; 0]);
}

#[test]
fn fish_tab_after_only_offers_ids_with_their_titles() {
    let env = TestEnv::new().config(&selftest("app-up", "title = \"The app answers\""));
    let Some(fish) = shell("fish") else { return };
    let script = script(&env, "fish");
    let out = in_shell(
        &env,
        &fish,
        &format!(
            "source '{}'; complete -C 'sitedoctor --only '",
            script.display()
        ),
    );
    out.expect_code(0);
    assert_eq!(lines(&out), ["app-up\tThe app answers"], "{}", out.stderr);
}

/// zsh's completion system needs a terminal; its two entry points the script uses
/// (`compdef`, `_describe`) are stood in for, the rest is the real zsh running the script.
#[test]
fn zsh_tab_after_only_offers_the_ids_sourced_or_autoloaded() {
    let env = configured();
    let Some(zsh) = shell("zsh") else { return };
    let fpath = env.path().join("fpath");
    std::fs::create_dir_all(&fpath).unwrap();
    std::fs::copy(script(&env, "zsh"), fpath.join("_sitedoctor")).unwrap();
    let stubs = "compdef() { :; }\n\
                 _describe() { local name=${@[-1]}; print -l -- ${(P)name}; }\n\
                 words=(sitedoctor --only '')\nCURRENT=3\n";
    let autoloaded = in_shell(
        &env,
        &zsh,
        &format!(
            "{stubs}fpath=('{}' $fpath)\nautoload -Uz _sitedoctor\n_sitedoctor",
            fpath.display()
        ),
    );
    autoloaded.expect_code(0);
    let want = [
        "app-up:selftest",
        "db-up:selftest",
        "db:tag of 1 check",
        "web:tag of 2 checks",
    ];
    assert_eq!(lines(&autoloaded), want);
    let sourced = in_shell(
        &env,
        &zsh,
        &format!(
            "{stubs}source '{}'\n_clap_dynamic_completer_sitedoctor",
            fpath.join("_sitedoctor").display()
        ),
    );
    sourced.expect_code(0);
    assert_eq!(lines(&sourced), want);
}

#[test]
fn every_shell_gets_a_script_naming_the_binary() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = env.run(&["completions", shell]);
        out.expect_code(0);
        assert!(out.stdout.contains("sitedoctor"), "{shell}: {}", out.stdout);
    }
    let out = env.run(&["completions", "tcsh"]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("possible values: bash"),
        "{}",
        out.stderr
    );
}

#[test]
fn completions_takes_output_and_refuses_the_run_options() {
    let env = TestEnv::new();
    env.run(&["completions", "bash", "--output", "sd.bash"])
        .expect_code(0);
    let written = std::fs::read_to_string(env.path().join("sd.bash")).unwrap();
    assert!(written.contains("_clap_complete_sitedoctor"), "{written}");
    for args in [
        &["completions", "bash", "--only", "x"][..],
        &["--format", "json", "completions", "bash"],
        &["completions", "bash", "-q"],
        &["completions", "bash", "--config", "sitedoctor.toml"],
    ] {
        let out = env.run(args);
        out.expect_code(64);
        assert!(
            out.stderr
                .contains("does not apply to `completions`: it prints generated text"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

/// A variable that only the scripts set: a stray `COMPLETE=bash` in cron's environment does
/// not turn a run into a completion request.
#[test]
fn the_generic_complete_variable_is_not_ours() {
    let env = TestEnv::new().config(&selftest("app-up", ""));
    let out = env.env("COMPLETE", "bash").run(&["list"]);
    out.expect_code(0);
    assert!(out.stdout.contains("app-up"), "{}", out.stdout);
}

#[test]
fn a_completion_request_for_an_unknown_shell_is_a_usage_error() {
    let out = TestEnv::new().env("_SITEDOCTOR_COMPLETE", "tcsh").run(&[]);
    out.expect_code(64);
    assert!(
        out.stderr.contains("unknown shell `tcsh`"),
        "{}",
        out.stderr
    );
}
