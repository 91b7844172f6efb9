//! The host's state beside the file tree: the app's environment (names and keyed hashes of
//! values), the web servers' and PHP-FPM's configuration files and their config tests, the
//! FPM's PHP version and extensions, the web stack's packages, the listening ports and the
//! apps' lockfiles against what is installed. [`collect`] records it; [`compare`] says what
//! changed, as [`Change`]s. No secret value is ever kept: only names and keyed hashes.

mod configs;
mod deps;
mod env;
mod fingerprint;
mod listening;
mod packages;
mod php;
mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::change::Change;
use super::key::Key;
use crate::checks::env::Source;
use crate::config::CheckSpec;

pub use configs::{ConfigFile, ConfigTest};
pub use deps::Lockfile;
pub use env::{EnvSet, Origin};
pub use listening::Listener;
pub use php::PhpFpm;

/// Everything recorded about the host. Every field has a default, so a record written by an
/// older or newer sitedoctor still loads (a part it did not have reads as empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostState {
    /// The variables each configured environment source gives the app.
    #[serde(default)]
    pub env: Vec<EnvSet>,
    /// The web servers' and PHP-FPM's configuration files in use.
    #[serde(default)]
    pub configs: Vec<ConfigFile>,
    /// Each installed server's own configuration test and its verdict.
    #[serde(default)]
    pub config_tests: Vec<ConfigTest>,
    /// Each PHP-FPM binary's version and loaded extensions.
    #[serde(default)]
    pub php: Vec<PhpFpm>,
    /// Installed Debian packages of the web stack: name → version.
    #[serde(default)]
    pub packages: BTreeMap<String, String>,
    /// The fingerprint of the package database `packages` was read from, taken before it was
    /// read: while it is the same, `packages` is reused rather than read again. Absent in
    /// older records, and when they were not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packages_db: Option<super::key::Digest>,
    /// Listening TCP addresses.
    #[serde(default)]
    pub listening: Vec<Listener>,
    /// The apps' lockfiles and what is installed for them.
    #[serde(default)]
    pub lockfiles: Vec<Lockfile>,
    /// Parts that could not be read when this was recorded (`packages`, `env /srv/app/.env`):
    /// nothing is said about them, rather than "all removed".
    #[serde(default)]
    pub unread: BTreeSet<String>,
}

/// What [`collect`] found.
pub struct Collected {
    pub state: HostState,
    /// Parts that could not be read, one sentence each ("run as root to read …").
    pub unread: Vec<String>,
}

/// Where the host is read: `/` and `/proc` on a real host, fixture trees in tests.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub sysroot: PathBuf,
    pub proc: PathBuf,
}

impl Host {
    fn this() -> Host {
        Host {
            sysroot: crate::webstack::sysroot(),
            proc: crate::sys::procfs::proc_root(),
        }
    }

    /// A path as the host names it: without the fixture root in tests.
    pub fn shown(&self, p: &Path) -> String {
        let rel = p
            .strip_prefix(&self.sysroot)
            .map_or_else(|_| p.to_path_buf(), |r| Path::new("/").join(r));
        crate::sanitize::path(&rel)
    }
}

/// What one part found, and what it could not read.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// Sentences for a person.
    pub sentences: Vec<String>,
    /// The parts' names, for [`HostState::unread`].
    pub parts: BTreeSet<String>,
}

impl Notes {
    /// `part` could not be read, for the reason `sentence`.
    pub fn cannot(&mut self, part: impl Into<String>, sentence: impl Into<String>) {
        self.parts.insert(part.into());
        self.sentences.push(sentence.into());
    }
    fn absorb(&mut self, other: Notes) {
        self.sentences.extend(other.sentences);
        self.parts.extend(other.parts);
    }
}

/// Records the host's state. `specs`: the configuration's checks (their `env` sources);
/// `roots`: the directories the tree snapshot covers (the apps and lockfiles in them).
pub fn collect(key: &Key, specs: &[CheckSpec], roots: &[PathBuf]) -> Collected {
    collect_timed(key, &sources_of(specs), roots, &Host::this()).0
}

/// Reads again what `old` recorded, to compare: the environment from the sources it was
/// read from then (a source it could not read then is not compared, so it is not read
/// now), everything else as [`collect`] does. No configuration is needed, so `diff` and the
/// `baseline` kind read the same.
pub fn collect_again(key: &Key, old: &HostState, roots: &[PathBuf]) -> Collected {
    collect_again_under(key, old, roots, &Host::this())
}

pub(crate) fn collect_again_under(
    key: &Key,
    old: &HostState,
    roots: &[PathBuf],
    host: &Host,
) -> Collected {
    let sources: Vec<Source> = old.env.iter().filter_map(EnvSet::again).collect();
    let mut c = collect_reusing(key, &sources, roots, host, Some(old)).0;
    for e in old.env.iter().filter(|e| e.again().is_none()) {
        c.state.unread.insert(format!("env {}", e.source));
        c.unread.push(format!(
            "cannot read {} again: the snapshot does not record where it is (take a new snapshot)",
            e.source
        ));
    }
    c
}

/// The environment sources of the enabled checks.
fn sources_of(specs: &[CheckSpec]) -> Vec<Source> {
    specs
        .iter()
        .filter(|s| s.enabled)
        .filter_map(|s| s.check.env_source().cloned())
        .collect()
}

/// [`collect`] under `host`, with how long each part took (the parts run at once).
pub(crate) fn collect_timed(
    key: &Key,
    sources: &[Source],
    roots: &[PathBuf],
    host: &Host,
) -> (Collected, Vec<(&'static str, Duration)>) {
    collect_reusing(key, sources, roots, host, None)
}

/// [`collect_timed`], reusing what `old` recorded of the packages and each FPM's PHP where
/// what they were read from has the same fingerprint now. The configuration tests always
/// run: their verdict depends on more than any file fingerprinted here.
fn collect_reusing(
    key: &Key,
    sources: &[Source],
    roots: &[PathBuf],
    host: &Host,
    old: Option<&HostState>,
) -> (Collected, Vec<(&'static str, Duration)>) {
    let servers = if host.sysroot == Path::new("/") {
        crate::webstack::installed().to_vec()
    } else {
        crate::webstack::detect(&host.sysroot)
    };
    type Took = (&'static str, Duration);
    type Part<T> = (T, Notes);
    fn timed<T>(name: &'static str, f: impl FnOnce() -> Part<T>) -> (Part<T>, Took) {
        let began = Instant::now();
        let out = f();
        (out, (name, began.elapsed()))
    }
    /// The part's value; a part that panicked is said, and left empty, not the end of the
    /// others.
    fn take<T: Default>(
        notes: &mut Notes,
        took: &mut Vec<Took>,
        (name, parts): (&str, &[&str]),
        h: std::thread::ScopedJoinHandle<'_, (Part<T>, Took)>,
    ) -> T {
        match h.join() {
            Ok(((value, n), t)) => {
                notes.absorb(n);
                took.push(t);
                value
            }
            Err(_) => {
                notes
                    .sentences
                    .push(format!("reading the {name} failed (a bug in sitedoctor)"));
                notes.parts.extend(parts.iter().map(|p| p.to_string()));
                T::default()
            }
        }
    }
    let mut state = HostState::default();
    let mut notes = Notes::default();
    let mut took = Vec::new();
    // Before anything is read: a change while it is read must not be taken as seen.
    let db = fingerprint::package_db(key, host);
    let old_php = old.map_or(&[][..], |o| &o.php[..]);
    std::thread::scope(|s| {
        let env = s.spawn(|| timed("env", || env::collect(key, sources)));
        let configs = s.spawn(|| timed("configs", || configs::collect(key, &servers, host)));
        let php = s.spawn(|| {
            timed("php", || {
                php::collect(key, &servers, host, db.as_ref(), old_php)
            })
        });
        let packages = s.spawn(|| timed("packages", || packages::collect(host, db, old)));
        let listening = s.spawn(|| timed("listening", || listening::collect(host)));
        let deps = s.spawn(|| timed("lockfiles", || deps::collect(key, roots, host)));
        let (n, t) = (&mut notes, &mut took);
        state.env = take(n, t, ("environment", &["env"]), env);
        (state.configs, state.config_tests) =
            take(n, t, ("configuration", &["config", "configtest"]), configs);
        state.php = take(n, t, ("PHP versions", &["php"]), php);
        (state.packages, state.packages_db) = take(n, t, ("packages", &["packages"]), packages);
        state.listening = take(n, t, ("listening ports", &["listening"]), listening);
        state.lockfiles = take(n, t, ("lockfiles", &["lockfile"]), deps);
    });
    state.unread = notes.parts;
    (
        Collected {
            state,
            unread: notes.sentences,
        },
        took,
    )
}

/// What changed from `old` to `new`, in no particular order (`change::rank` orders them).
/// A part either side could not read is not compared: one named alone (`env /srv/app/.env`),
/// or all of its kind (`env`).
pub fn compare(old: &HostState, new: &HostState) -> Vec<Change> {
    let skip = |part: &str| {
        let kind = part.split(' ').next().unwrap_or(part);
        [part, kind]
            .iter()
            .any(|p| old.unread.contains(*p) || new.unread.contains(*p))
    };
    let mut out = Vec::new();
    env::compare(&old.env, &new.env, &skip, &mut out);
    configs::compare(old, new, &skip, &mut out);
    php::compare(&old.php, &new.php, &skip, &mut out);
    packages::compare(&old.packages, &new.packages, &skip, &mut out);
    listening::compare(&old.listening, &new.listening, &skip, &mut out);
    deps::compare(&old.lockfiles, &new.lockfiles, &skip, &mut out);
    out
}

/// A change of the host: no line ranges (those are for a file's content).
pub(crate) fn change(
    area: super::change::Area,
    how: super::change::How,
    subject: impl Into<String>,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Change {
    Change {
        area,
        how,
        subject: subject.into(),
        detail: detail.into(),
        fix,
        lines: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
