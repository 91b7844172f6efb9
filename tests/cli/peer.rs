//! The real programs the output formats and contrib files are tested against. `.ci/run`
//! installs them; in CI (`CI=true`) a missing one fails the test, elsewhere the test skips
//! with the reason printed.

use std::path::PathBuf;
use std::process::Command;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `None` (and a printed reason) when `what` is missing outside CI; a failure in CI.
fn missing<T>(what: &str) -> Option<T> {
    assert!(
        !in_ci(),
        "{what} is not installed: .ci/run installs it, and CI must not skip its test"
    );
    eprintln!("skipped: {what} is not installed (.ci/run installs it)");
    None
}

/// The path of program `name` in the system's directories.
pub fn program(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        .iter()
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.exists())
        .or_else(|| missing(name))
}

/// `interpreter` if running it with `args` succeeds (a module loads), else missing `what`.
fn able(interpreter: &str, args: &[&str], what: &str) -> Option<PathBuf> {
    let path = program(interpreter)?;
    let ok = Command::new(&path)
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    if ok { Some(path) } else { missing(what) }
}

/// Perl with `module` loadable.
pub fn perl_with(module: &str) -> Option<PathBuf> {
    able(
        "perl",
        &[&format!("-M{module}"), "-e1"],
        &format!("Perl's {module}"),
    )
}

/// Debian's Python (never a pyenv or venv one) with `module` importable.
pub fn python_with(module: &str) -> Option<PathBuf> {
    able(
        "python3",
        &["-c", &format!("import {module}")],
        &format!("Python's {module}"),
    )
}
