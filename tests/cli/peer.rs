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

/// Perl with `module` loadable.
pub fn perl_with(module: &str) -> Option<PathBuf> {
    let perl = program("perl")?;
    let ok = Command::new(&perl)
        .args([&format!("-M{module}"), "-e1"])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(perl)
    } else {
        missing(&format!("Perl's {module}"))
    }
}

/// Debian's Python (never a pyenv or venv one) with `module` importable.
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = program("python3")?;
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Some(python)
    } else {
        missing(&format!("Python's {module}"))
    }
}
