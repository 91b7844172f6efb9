//! Shell completion: `sitedoctor completions SHELL` prints a script that asks this binary
//! for candidates at each TAB, so `--only`, `--skip` and `explain` offer the ids and tags of
//! the configuration in effect there, and the kind names, never a stale list.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{CompleteEnv, Shells};

use crate::cli::Cli;

/// Set by the generated scripts when they call back for candidates. Not clap's default
/// `COMPLETE`: a variable that generic must not turn a cron run into a completion request.
const VAR: &str = "_SITEDOCTOR_COMPLETE";
/// The scripts call `sitedoctor` through `PATH`, as the user does.
const BIN: &str = "sitedoctor";
const SHELLS: &Shells<'static> = &Shells::builtins();

/// The shells `completions` writes a script for.
pub fn shell_names() -> impl Iterator<Item = &'static str> {
    SHELLS.names()
}

/// Answer a completion request and exit, when this run is one; otherwise return at once.
pub fn respond_if_asked() {
    let env = CompleteEnv::with_factory(Cli::command)
        .var(VAR)
        .bin(BIN)
        .completer(BIN);
    let cwd = std::env::current_dir().ok();
    match env.try_complete(std::env::args_os(), cwd.as_deref()) {
        Ok(false) => {}
        Ok(true) => std::process::exit(0),
        // Like every usage error, 64: never clap's 2, which reads as "a check failed".
        Err(e) => {
            let _ = e.print();
            std::process::exit(crate::exit::Exit::Usage.code().into());
        }
    }
}

/// The registration script for `shell` (one of [`shell_names`]).
pub fn script(shell: &str) -> String {
    let completer = SHELLS
        .completer(shell)
        .expect("clap only accepts the shells listed");
    let mut buf = Vec::new();
    completer
        .write_registration(VAR, BIN, BIN, BIN, &mut buf)
        .expect("writing to a Vec cannot fail");
    let text = String::from_utf8(buf).expect("the scripts are UTF-8");
    if shell == "zsh" {
        return zsh_autoload(&text);
    }
    text
}

/// clap's zsh script registers its function with `compdef` when sourced; autoloaded from
/// `fpath` as `_sitedoctor` (the packaged file) it must also answer the TAB that loaded it,
/// or the first TAB of every shell would offer nothing.
fn zsh_autoload(text: &str) -> String {
    let register = format!("compdef _clap_dynamic_completer_{BIN} {BIN}");
    let both = format!(
        "if [[ \"${{funcstack[1]}}\" == _{BIN} ]]; then\n    \
         {register}\n    _clap_dynamic_completer_{BIN} \"$@\"\nelse\n    {register}\nfi"
    );
    text.replacen(&register, &both, 1)
}

/// Candidates for `--only` and `--skip`: the configured ids, then the tags.
pub fn ids_and_tags() -> Vec<CompletionCandidate> {
    let specs = configured();
    let mut out: Vec<CompletionCandidate> = specs
        .iter()
        .map(|s| {
            let help = s.title.clone().unwrap_or_else(|| s.kind.name.to_string());
            CompletionCandidate::new(&s.id).help(Some(help.into()))
        })
        .collect();
    let mut tags: Vec<&str> = specs
        .iter()
        .flat_map(|s| s.tags.iter().map(String::as_str))
        .collect();
    tags.sort_unstable();
    tags.dedup();
    for tag in tags {
        let n = specs.iter().filter(|s| s.matches(tag)).count();
        let help = format!("tag of {n} check{}", if n == 1 { "" } else { "s" });
        out.push(CompletionCandidate::new(tag).help(Some(help.into())));
    }
    out
}

/// Candidates for `explain`: the kinds, the diagnosis, then the configured ids.
pub fn explain_targets() -> Vec<CompletionCandidate> {
    let mut out: Vec<CompletionCandidate> = crate::checks::visible()
        .map(|k| CompletionCandidate::new(k.name).help(Some(k.summary.into())))
        .collect();
    out.push(
        CompletionCandidate::new("diagnosis")
            .help(Some("how findings are linked into causes".into())),
    );
    for spec in configured() {
        let help = format!("configured check of kind {}", spec.kind.name);
        out.push(CompletionCandidate::new(&spec.id).help(Some(help.into())));
    }
    out
}

/// The checks of the configuration the completed command would read: its `--config`
/// (when already typed), else the usual default. Nothing on any error: a TAB never prints
/// an error into the command line.
fn configured() -> Vec<crate::config::CheckSpec> {
    let given = typed_configs(std::env::args_os());
    crate::config::source::resolve(&given)
        .and_then(|r| crate::config::load(&r.sources))
        .unwrap_or_default()
}

/// The `--config`/`-c` values among the words being completed: those after the `--` the
/// scripts put between the completer and the command line.
fn typed_configs(args: impl IntoIterator<Item = OsString>) -> Vec<PathBuf> {
    let words: Vec<OsString> = args.into_iter().skip_while(|a| a != "--").skip(1).collect();
    let mut out = Vec::new();
    let mut it = words.iter().map(|w| w.to_string_lossy());
    while let Some(w) = it.next() {
        if w == "--" {
            break;
        }
        if w == "--config" || w == "-c" {
            if let Some(v) = it.next() {
                out.push(PathBuf::from(v.as_ref()));
            }
        } else if let Some(v) = w.strip_prefix("--config=") {
            out.push(PathBuf::from(v));
        } else if let Some(v) = w.strip_prefix("-c").filter(|v| !v.is_empty()) {
            out.push(PathBuf::from(v));
        }
    }
    // The word under the cursor is never a finished path.
    out.retain(|p| p.exists());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn typed_configs_reads_every_spelling_after_the_separator() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a.toml");
        std::fs::write(&p, "").unwrap();
        let s = p.to_str().unwrap();
        let eq = format!("--config={s}");
        let short = format!("-c{s}");
        let got = typed_configs(args(&[
            "sitedoctor",
            "--",
            "sitedoctor",
            "--config",
            s,
            "-c",
            s,
            &eq,
            &short,
            "--only",
            "",
        ]));
        assert_eq!(got, vec![p.clone(), p.clone(), p.clone(), p]);
    }

    #[test]
    fn typed_configs_ignores_the_completers_own_words_and_missing_files() {
        let got = typed_configs(args(&[
            "sitedoctor",
            "-c",
            "/etc",
            "--",
            "sitedoctor",
            "-c",
            "/nonexistent",
        ]));
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn the_zsh_script_answers_the_tab_that_autoloads_it() {
        let s = script("zsh");
        assert!(s.starts_with("#compdef sitedoctor"), "{s}");
        assert!(
            s.contains("_clap_dynamic_completer_sitedoctor \"$@\""),
            "{s}"
        );
    }

    #[test]
    fn every_shell_has_a_script() {
        for shell in shell_names() {
            assert!(script(shell).contains(VAR), "{shell}");
        }
    }
}
