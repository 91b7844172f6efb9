//! The files under contrib/, each checked by the real engine that reads it: promtool for
//! the Prometheus configuration and alerting rules (with their unit tests), systemd-analyze
//! for the units, icinga2, Nagios and a real NRPE daemon for the check commands, and
//! ansible-playbook for the role.

mod ansible;
mod nagios;
mod prometheus;
mod systemd;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::testenv::{Output, run_command};

pub fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(path)
}

pub fn run(program: &Path, args: &[&str], dir: &Path) -> Output {
    let mut c = Command::new(program);
    c.args(args).current_dir(dir);
    run_command(c)
}

#[track_caller]
pub fn assert_ok(what: &str, out: &Output) {
    assert_eq!(
        out.code, 0,
        "{what} failed\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
}

/// Every contrib/ path the README names exists.
#[test]
fn readme_names_only_contrib_files_that_exist() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let paths = regex::Regex::new(r"contrib/[A-Za-z0-9_./-]*[A-Za-z0-9_]/?").unwrap();
    let mut seen = 0;
    // Reports the playbook writes are not shipped.
    for m in paths
        .find_iter(&readme)
        .filter(|m| !m.as_str().contains("/reports/"))
    {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(m.as_str());
        assert!(
            p.exists(),
            "the README names {}, which does not exist",
            m.as_str()
        );
        seen += 1;
    }
    assert!(seen >= 10, "{seen}");
}
