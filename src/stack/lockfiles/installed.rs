//! What is installed for each lockfile of an app, in a form whose change shows that an
//! install ran (the file the package manager rewrites each time, or the set of installed
//! packages): the baseline compares it with the lockfile's own change, to tell "the lockfile
//! changed but `vendor/` did not follow".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Ecosystem, Hints, bundler, python};

/// The lockfiles the snapshot records, beside `requirements*.txt`.
const LOCKFILES: &[&str] = &[
    "composer.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Pipfile.lock",
    "Gemfile.lock",
];

/// At most this many top-level entries of `node_modules` are read when it has no install
/// record of its own.
const MAX_MODULES: usize = 4096;

/// What is installed for a lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Installed {
    /// The record the package manager rewrites on every install
    /// (`vendor/composer/installed.json`, `node_modules/.package-lock.json`).
    Record(PathBuf),
    /// The packages found installed: name → version (a virtualenv, a bundle, a
    /// `node_modules` without a record).
    Packages(BTreeMap<String, String>),
    /// Nothing is installed where it should be (no `vendor/`, no `node_modules`).
    Nothing,
    /// Where it would be installed is not known here (no virtualenv found, gems installed
    /// system-wide).
    Unknown,
}

/// Every lockfile present in `app`, in a fixed order (the `requirements*.txt` the running
/// app needs last).
pub fn present(app: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = LOCKFILES
        .iter()
        .map(|n| app.join(n))
        .filter(|p| p.is_file())
        .collect();
    out.extend(python::requirement_files(app));
    out
}

/// Which package manager installs what `lockfile` locks.
pub fn ecosystem_of(lockfile: &Path) -> Option<Ecosystem> {
    let name = lockfile.file_name()?.to_str()?;
    Some(match name {
        "composer.lock" => Ecosystem::Composer,
        "package-lock.json" | "npm-shrinkwrap.json" | "yarn.lock" | "pnpm-lock.yaml" => {
            Ecosystem::Npm
        }
        "Gemfile.lock" => Ecosystem::Bundler,
        _ if name == "poetry.lock"
            || name == "Pipfile.lock"
            || name.starts_with("requirements") =>
        {
            Ecosystem::Python
        }
        _ => return None,
    })
}

/// Where what `lockfile` locks is installed, as a person names it (`vendor/`).
pub fn target_of(ecosystem: Ecosystem) -> &'static str {
    match ecosystem {
        Ecosystem::Composer => "vendor/",
        Ecosystem::Npm => "node_modules",
        Ecosystem::Python => "the virtualenv",
        Ecosystem::Bundler => "the bundle",
    }
}

/// What is installed in `app` for `lockfile`.
pub fn installed(app: &Path, lockfile: &Path, hints: &Hints) -> Installed {
    match ecosystem_of(lockfile) {
        Some(Ecosystem::Composer) => record(app, "vendor", &["vendor/composer/installed.json"]),
        Some(Ecosystem::Npm) => match record(
            app,
            "node_modules",
            &[
                "node_modules/.package-lock.json",
                "node_modules/.yarn-integrity",
                "node_modules/.yarn-state.yml",
                "node_modules/.modules.yaml",
            ],
        ) {
            Installed::Unknown => Installed::Packages(top_level_modules(&app.join("node_modules"))),
            other => other,
        },
        Some(Ecosystem::Python) => match python::find_venv(app, hints) {
            Some(venv) => Installed::Packages(python::installed_in(&venv)),
            None => Installed::Unknown,
        },
        Some(Ecosystem::Bundler) => match bundler::installed_gems(app) {
            Some(gems) => Installed::Packages(gems),
            None => Installed::Unknown,
        },
        None => Installed::Unknown,
    }
}

/// The first record file present; `Nothing` when `dir` itself is absent; `Unknown` when it
/// is there without any record.
fn record(app: &Path, dir: &str, records: &[&str]) -> Installed {
    if !app.join(dir).is_dir() {
        return Installed::Nothing;
    }
    records
        .iter()
        .map(|r| app.join(r))
        .find(|p| p.is_file())
        .map_or(Installed::Unknown, Installed::Record)
}

/// `node_modules`' packages (scoped ones too) and their versions, from their `package.json`.
fn top_level_modules(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs: Vec<(String, PathBuf)> = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten().take(MAX_MODULES) {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if name.starts_with('@') {
            let Ok(scoped) = std::fs::read_dir(e.path()) else {
                continue;
            };
            for s in scoped.flatten().take(MAX_MODULES) {
                dirs.push((
                    format!("{name}/{}", s.file_name().to_string_lossy()),
                    s.path(),
                ));
            }
        } else {
            dirs.push((name, e.path()));
        }
    }
    for (name, path) in dirs.into_iter().take(MAX_MODULES) {
        let version = super::read_meta(&path.join("package.json"))
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
            .and_then(|v| v.get("version")?.as_str().map(str::to_string))
            .unwrap_or_default();
        out.insert(name, version);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixture::write;
    use super::*;

    #[test]
    fn every_lockfile_and_what_is_installed_for_it() {
        let t = tempfile::tempdir().unwrap();
        let app = t.path();
        write(app, "composer.lock", "{}");
        write(app, "package-lock.json", "{}");
        write(app, "requirements.txt", "flask==3.0.0\n");
        write(app, "requirements-dev.txt", "pytest\n");
        assert_eq!(
            present(app),
            [
                app.join("composer.lock"),
                app.join("package-lock.json"),
                app.join("requirements.txt")
            ]
        );
        let hints = Hints::default();
        let lock = |n: &str| installed(app, &app.join(n), &hints);
        assert_eq!(lock("composer.lock"), Installed::Nothing);
        assert_eq!(lock("requirements.txt"), Installed::Unknown);
        super::super::python::tests::venv(&app.join("venv"), &[("Flask", "3.0.0")]);
        assert_eq!(
            lock("requirements.txt"),
            Installed::Packages([("flask".to_string(), "3.0.0".to_string())].into())
        );
        write(app, "vendor/composer/installed.json", "{}");
        assert_eq!(
            lock("composer.lock"),
            Installed::Record(app.join("vendor/composer/installed.json"))
        );
        write(
            app,
            "node_modules/a/package.json",
            r#"{"version": "1.2.3"}"#,
        );
        write(
            app,
            "node_modules/@s/b/package.json",
            r#"{"version": "2.0.0"}"#,
        );
        let Installed::Packages(p) = lock("package-lock.json") else {
            panic!("{:?}", lock("package-lock.json"))
        };
        assert_eq!(p.get("a").map(String::as_str), Some("1.2.3"));
        assert_eq!(p.get("@s/b").map(String::as_str), Some("2.0.0"));
        write(app, "node_modules/.package-lock.json", "{}");
        assert_eq!(
            lock("package-lock.json"),
            Installed::Record(app.join("node_modules/.package-lock.json"))
        );
        assert_eq!(
            ecosystem_of(&app.join("requirements-prod.txt")),
            Some(Ecosystem::Python)
        );
        assert_eq!(ecosystem_of(&app.join("notes.txt")), None);
    }
}
