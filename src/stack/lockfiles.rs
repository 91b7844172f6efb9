//! Dependencies a deploy forgot to install: an app directory's lockfiles (npm, Yarn, Composer,
//! pip/Poetry/Pipenv, Bundler) against what is installed beside it (`node_modules`, `vendor/`,
//! the virtualenv's `site-packages`, the bundle), read as files only — no package manager runs
//! and nothing is imported. Shared by the `deps_installed` check and the baseline snapshot.

mod bundler;
mod composer;
pub mod installed;
mod npm;
mod python;

pub use python::find_venv;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::shell::shell_quote_path;
use crate::sys::readcap::{self, ReadError};

/// Lockfiles are read whole up to this size (a big app's `package-lock.json` is a few MiB).
pub const LOCK_CAP: u64 = 32 * 1024 * 1024;
/// An installed package's own metadata (`package.json`, `METADATA`) is read up to this size.
const META_CAP: u64 = 256 * 1024;
/// At most this many locked packages are compared per lockfile.
pub const MAX_LOCKED: usize = 20_000;
/// At most this many subdirectories of a root are looked at for an app.
pub const MAX_SUBDIRS: usize = 64;

/// The files whose presence makes a directory an app with dependencies.
const MANIFESTS: &[&str] = &[
    "package.json",
    "package-lock.json",
    "yarn.lock",
    "composer.json",
    "composer.lock",
    "requirements.txt",
    "poetry.lock",
    "Pipfile.lock",
    "Gemfile.lock",
];

/// Which package manager installs what a lockfile locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Npm,
    Composer,
    Python,
    Bundler,
}

impl Ecosystem {
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Npm => "npm",
            Ecosystem::Composer => "composer",
            Ecosystem::Python => "python",
            Ecosystem::Bundler => "bundler",
        }
    }
}

/// One package as a lockfile (or manifest) pins it. `version` is `None` when only the name is
/// declared (a manifest without a lockfile, an unpinned requirement): then only its presence
/// is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub name: String,
    pub version: Option<String>,
}

impl Locked {
    fn new(name: impl Into<String>, version: Option<String>) -> Locked {
        Locked {
            name: name.into(),
            version,
        }
    }
}

/// A locked package that is not installed as locked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub name: String,
    pub locked: Option<String>,
    /// The version installed instead; `None` when it is not installed at all.
    pub installed: Option<String>,
}

/// A lockfile compared with what is installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub ecosystem: Ecosystem,
    pub app: PathBuf,
    /// The file the locked versions were read from.
    pub lockfile: PathBuf,
    /// Where they should be installed, as a person names it: `node_modules`, `vendor/`,
    /// `the virtualenv /srv/app/venv`, `the bundle vendor/bundle`.
    pub target: String,
    /// How many packages the lockfile locks (and were compared).
    pub locked: usize,
    pub gaps: Vec<Gap>,
    /// The command that installs what is locked, starting with `cd APP &&`.
    pub fix: String,
    /// Missing packages may have been left out on purpose (Bundler's `BUNDLE_WITHOUT`):
    /// they are then a warning, not a failure.
    pub missing_may_be_intended: Option<String>,
}

impl Audit {
    pub fn missing(&self) -> impl Iterator<Item = &Gap> {
        self.gaps.iter().filter(|g| g.installed.is_none())
    }
    pub fn mismatched(&self) -> impl Iterator<Item = &Gap> {
        self.gaps.iter().filter(|g| g.installed.is_some())
    }
    /// The lockfile's name, relative to the app (`package-lock.json`).
    pub fn lockfile_name(&self) -> String {
        self.lockfile
            .strip_prefix(&self.app)
            .unwrap_or(&self.lockfile)
            .display()
            .to_string()
    }
}

/// What became of one lockfile of an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Examined {
    Audited(Audit),
    /// It could not be compared, for a reason that is no fault of the app (no virtualenv
    /// found, gems installed system-wide, a front-end build's `package.json`).
    NotCompared {
        lockfile: PathBuf,
        why: String,
    },
    /// It could not be read or parsed.
    Unreadable {
        lockfile: PathBuf,
        why: String,
    },
}

/// Where the Python packages of an app are installed, when the caller knows.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// The virtualenv the app server runs (its root, with `bin/python`).
    pub venv: Option<PathBuf>,
    /// The proc filesystem to find the app server's process in (`None`: do not look).
    pub proc: Option<PathBuf>,
}

/// Whether `dir` holds a manifest or lockfile of any ecosystem.
pub fn is_app(dir: &Path) -> bool {
    MANIFESTS.iter().any(|m| dir.join(m).is_file()) || !python::requirement_files(dir).is_empty()
}

/// The apps of a root: the root itself when it is one, else its immediate subdirectories that
/// are (at most [`MAX_SUBDIRS`] looked at, in name order).
pub fn apps_in(root: &Path) -> Vec<PathBuf> {
    if is_app(root) {
        return vec![root.to_path_buf()];
    }
    let Ok(rd) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut subdirs: Vec<PathBuf> = rd
        .flatten()
        .take(MAX_SUBDIRS * 16)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    subdirs.truncate(MAX_SUBDIRS);
    subdirs.into_iter().filter(|d| is_app(d)).collect()
}

/// Every lockfile of `app` compared with what is installed.
pub fn examine(app: &Path, hints: &Hints) -> Vec<Examined> {
    let mut out = Vec::new();
    out.extend(npm::examine(app));
    out.extend(composer::examine(app));
    out.extend(python::examine(app, hints));
    out.extend(bundler::examine(app));
    out
}

/// Compare locked packages with the installed ones (`name` → version, names already in the
/// form `key` gives) under `same` (versions equal for this ecosystem).
fn compare(
    locked: &[Locked],
    installed: &dyn Fn(&str) -> Option<String>,
    same: fn(&str, &str) -> bool,
) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for l in locked {
        match (installed(&l.name), &l.version) {
            (None, _) => gaps.push(Gap {
                name: l.name.clone(),
                locked: l.version.clone(),
                installed: None,
            }),
            (Some(have), Some(want)) if !same(want, &have) => gaps.push(Gap {
                name: l.name.clone(),
                locked: Some(want.clone()),
                installed: Some(have),
            }),
            _ => {}
        }
    }
    gaps
}

/// Read a lockfile or manifest, capped.
fn read(path: &Path) -> Result<Vec<u8>, String> {
    readcap::read_capped(path, LOCK_CAP).map_err(|e| reason(&e))
}

/// An installed package's metadata file, capped; `None` when absent or unreadable.
fn read_meta(path: &Path) -> Option<Vec<u8>> {
    readcap::read_capped(path, META_CAP).ok()
}

fn reason(e: &ReadError) -> String {
    if e.is_permission_denied() {
        "permission denied (run as root, or as the app's user)".to_string()
    } else {
        e.to_string()
    }
}

/// `cd APP && COMMAND`, the app quoted for a shell.
fn in_app(app: &Path, command: &str) -> String {
    format!("cd {} && {command}", shell_quote_path(app))
}

fn unreadable(lockfile: PathBuf, why: impl Into<String>) -> Examined {
    Examined::Unreadable {
        lockfile,
        why: why.into(),
    }
}

fn not_compared(lockfile: PathBuf, why: impl Into<String>) -> Examined {
    Examined::NotCompared {
        lockfile,
        why: why.into(),
    }
}

/// Keep the first `MAX_LOCKED` packages, each name once (its first entry).
fn bounded(locked: Vec<Locked>) -> Vec<Locked> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for l in locked {
        if out.len() >= MAX_LOCKED {
            break;
        }
        if seen.insert(l.name.clone(), ()).is_none() {
            out.push(l);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Building app directories for the tests of each ecosystem.
    use std::path::Path;

    pub fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn only_audit(found: Vec<super::Examined>) -> super::Audit {
        assert_eq!(found.len(), 1, "{found:#?}");
        match found.into_iter().next().unwrap() {
            super::Examined::Audited(a) => a,
            other => panic!("not audited: {other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::write;
    use super::*;

    #[test]
    fn a_root_is_an_app_or_holds_apps_one_level_down() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "html/index.html", "hi");
        write(t.path(), "shop/composer.lock", "{}");
        write(t.path(), "api/requirements-prod.txt", "flask==3.0.0\n");
        write(t.path(), "deep/a/package.json", "{}");
        let apps = apps_in(t.path());
        assert_eq!(apps, [t.path().join("api"), t.path().join("shop")]);
        assert_eq!(apps_in(&t.path().join("shop")), [t.path().join("shop")]);
        assert!(apps_in(&t.path().join("nowhere")).is_empty());
    }

    #[test]
    fn a_gap_is_a_missing_package_or_another_version() {
        let locked = vec![
            Locked::new("a", Some("1.0.0".into())),
            Locked::new("b", Some("2.0.0".into())),
            Locked::new("c", None),
            Locked::new("d", None),
        ];
        let have = |n: &str| match n {
            "a" => Some("1.0.0".to_string()),
            "b" => Some("1.9.0".to_string()),
            "c" => Some("5".to_string()),
            _ => None,
        };
        let gaps = compare(&locked, &have, |a, b| a == b);
        assert_eq!(
            gaps,
            [
                Gap {
                    name: "b".into(),
                    locked: Some("2.0.0".into()),
                    installed: Some("1.9.0".into())
                },
                Gap {
                    name: "d".into(),
                    locked: None,
                    installed: None
                }
            ]
        );
    }

    #[test]
    fn the_fix_runs_in_the_app_quoted() {
        assert_eq!(
            in_app(Path::new("/srv/my app"), "npm ci"),
            "cd '/srv/my app' && npm ci"
        );
    }

    /// Every parser of untrusted text, fed the same input: none may panic.
    fn parse_all(b: &[u8]) -> usize {
        let mut n = 0;
        n += npm::parse_package_lock(b, b).map_or(0, |l| l.len());
        n += npm::parse_yarn_lock(b, b).map_or(0, |l| l.len());
        n += composer::parse_lock(b).map_or(0, |l| l.len());
        n += composer::parse_manifest(b).map_or(0, |l| l.len());
        n += composer::parse_installed(b).map_or(0, |l| l.len());
        n += python::parse_requirements(b).map_or(0, |l| l.len());
        n += python::parse_poetry(b).map_or(0, |l| l.len());
        n += python::parse_pipfile(b).map_or(0, |l| l.len());
        n += python::parse_metadata(b).map_or(0, |(a, v)| a.len() + v.len());
        n += bundler::parse_lock(b).map_or(0, |l| l.len());
        n += bundler::parse_config(b).len();
        let t = String::from_utf8_lossy(b);
        n += npm::display_name(&t).len() + python::normalise(&t).len();
        n += bundler::split_gem_dir(&t).map_or(0, |(a, v)| a.len() + v.len());
        n += usize::from(python::same_version(&t, "1.0"));
        n
    }

    #[test]
    fn parsers_never_panic_on_random_or_near_valid_input() {
        use proptest::prelude::*;
        let fragment = prop_oneof![
            Just("{\"packages\": {\"node_modules/a\": {\"version\": \"1\"}}}".to_string()),
            Just("{\"dependencies\": {\"a\": {\"version\": \"1\", \"dependencies\": {".to_string()),
            Just("\"a@^1\", a@~1:\n  version \"1.0.0\"\n".to_string()),
            Just("GEM\n  specs:\n    rack (3.0.8)\n".to_string()),
            Just("    x (".to_string()),
            Just("[[package]]\nname = \"a\"\nversion = \"1\"\ngroups = [\"main\"]\n".to_string()),
            Just("Name: a\nVersion: 1\n\n".to_string()),
            Just("requests[x]==1.0 ; sys_platform == 'x' \\\n".to_string()),
            Just("BUNDLE_PATH: \"é\"\n".to_string()),
            Just("é\u{202e}\0\\".to_string()),
            "[ -~]{0,40}".prop_map(|s| s),
            prop::collection::vec(any::<u8>(), 0..64)
                .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ];
        let text = prop::collection::vec(fragment, 0..24).prop_map(|f| f.concat());
        let config = proptest::test_runner::Config {
            cases: 256,
            failure_persistence: None,
            ..Default::default()
        };
        proptest::proptest!(config, |(text in text, raw in prop::collection::vec(any::<u8>(), 0..512))| {
            let began = std::time::Instant::now();
            parse_all(text.as_bytes());
            parse_all(&raw);
            prop_assert!(began.elapsed() < std::time::Duration::from_secs(2));
        });
    }
}
