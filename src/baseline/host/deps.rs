//! The apps' lockfiles under the snapshot's roots: each with a keyed hash, a keyed hash of
//! what is installed for it (the package manager's own record, or the installed set), and
//! whether the two agree — so `diff` can say "composer.lock changed but vendor/ did not
//! follow".

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Host, Notes, change};
use crate::baseline::change::{Area, Change, How};
use crate::baseline::key::{Digest, Key};
use crate::stack::lockfiles::installed::{self, Installed};
use crate::stack::lockfiles::{self, Examined, Hints};
use crate::sys::readcap;

/// One lockfile of an app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lockfile {
    /// `/srv/shop/composer.lock`.
    pub path: String,
    /// `composer.lock`.
    pub name: String,
    pub hash: Option<Digest>,
    /// Where it is installed, as a person names it (`vendor/`, `the virtualenv …`).
    pub target: String,
    /// What is installed for it; `None` when that is not known here.
    pub installed: Option<Digest>,
    /// Whether every locked package is installed as locked; `None` when not compared.
    pub agrees: Option<bool>,
    /// Locked packages missing, or at another version, when compared.
    pub missing: usize,
    pub other_versions: usize,
    /// The command that installs what it locks (`cd /srv/shop && composer install --no-dev`).
    pub install: String,
}

impl Lockfile {
    fn part(&self) -> String {
        part(&self.path)
    }
    /// The install command without the `cd APP &&` in front.
    fn install_here(&self) -> &str {
        self.install
            .split_once(" && ")
            .map_or(self.install.as_str(), |(_, c)| c)
    }
    fn disagreement(&self) -> String {
        match (self.missing, self.other_versions) {
            (0, 0) => String::new(),
            (m, 0) => format!("{m} locked package(s) not installed"),
            (0, o) => format!("{o} installed at another version"),
            (m, o) => format!("{m} locked package(s) not installed, {o} at another version"),
        }
    }
}

fn part(path: &str) -> String {
    format!("lockfile {path}")
}

/// Every lockfile of every app in `roots`: the root itself, its subdirectories, or the app
/// a web root is the `public/` of (Laravel, Symfony: the lockfiles are one level up).
pub fn collect(key: &Key, roots: &[PathBuf], host: &Host) -> (Vec<Lockfile>, Notes) {
    let mut notes = Notes::default();
    let mut apps: Vec<PathBuf> = Vec::new();
    for r in roots {
        let found = lockfiles::apps_in(r);
        if found.is_empty() {
            apps.extend(
                r.parent()
                    .filter(|p| lockfiles::is_app(p))
                    .map(Path::to_path_buf),
            );
        }
        apps.extend(found);
    }
    apps.sort();
    apps.dedup();
    let base = Hints {
        venv: None,
        proc: Some(host.proc.clone()),
    };
    let mut out = Vec::new();
    for app in &apps {
        let present = installed::present(app);
        // A Python app's venv is found once (it may take a scan of /proc for the app
        // server), for the audit and the installed set alike.
        let python = present
            .iter()
            .any(|lf| installed::ecosystem_of(lf) == Some(lockfiles::Ecosystem::Python));
        let hints = Hints {
            venv: python.then(|| lockfiles::find_venv(app, &base)).flatten(),
            ..base.clone()
        };
        let examined = lockfiles::examine(app, &hints);
        for lf in present {
            match one(key, app, &lf, &examined, &hints) {
                Ok(l) => out.push(l),
                Err(why) => notes.cannot(part(&crate::sanitize::path(&lf)), why),
            }
        }
    }
    (out, notes)
}

fn one(
    key: &Key,
    app: &Path,
    lf: &Path,
    examined: &[Examined],
    hints: &Hints,
) -> Result<Lockfile, String> {
    let path = crate::sanitize::path(lf);
    let bytes = readcap::read_capped(lf, lockfiles::LOCK_CAP).map_err(|e| {
        if e.is_permission_denied() {
            format!("run as root (or the app's user) to read {path}")
        } else {
            format!("cannot read {path}: {e}")
        }
    })?;
    let eco = installed::ecosystem_of(lf);
    let mut l = Lockfile {
        name: lf
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path,
        hash: Some(key.hash(&bytes)),
        target: eco
            .map(installed::target_of)
            .unwrap_or_default()
            .to_string(),
        installed: installed_hash(key, &installed::installed(app, lf, hints)),
        install: eco.map_or_else(String::new, |e| default_install(app, e)),
        ..Lockfile::default()
    };
    let audit = examined.iter().find_map(|e| match e {
        Examined::Audited(a) if a.lockfile == lf => Some(a),
        _ => None,
    });
    if let Some(a) = audit {
        l.agrees = Some(a.gaps.is_empty());
        l.missing = a.missing().count();
        l.other_versions = a.mismatched().count();
        l.install = a.fix.clone();
        l.target = a.target.clone();
    }
    Ok(l)
}

/// A keyed hash of what is installed, each form in its own domain.
fn installed_hash(key: &Key, i: &Installed) -> Option<Digest> {
    let mut h = key.hasher();
    match i {
        Installed::Record(p) => {
            h.update(b"record\0");
            h.update(&readcap::read_capped(p, lockfiles::LOCK_CAP).ok()?);
        }
        Installed::Packages(set) => {
            h.update(b"packages\0");
            for (name, version) in set {
                h.update(name.as_bytes());
                h.update(b"\t");
                h.update(version.as_bytes());
                h.update(b"\n");
            }
        }
        Installed::Nothing => {
            h.update(b"nothing\0");
        }
        Installed::Unknown => return None,
    }
    Some(Digest::of(&h))
}

fn default_install(app: &Path, eco: lockfiles::Ecosystem) -> String {
    use lockfiles::Ecosystem::*;
    let cmd = match eco {
        Composer => "composer install --no-dev",
        Npm => "npm ci",
        Python => "pip install -r requirements.txt",
        Bundler => "bundle install",
    };
    format!("cd {} && {cmd}", crate::shell::shell_quote_path(app))
}

/// A lockfile that changed while what is installed did not follow, or that what is
/// installed no longer matches.
pub fn compare(
    old: &[Lockfile],
    new: &[Lockfile],
    skip: &dyn Fn(&str) -> bool,
    out: &mut Vec<Change>,
) {
    for n in new {
        if skip(&n.part()) {
            continue;
        }
        let Some(o) = old.iter().find(|o| o.path == n.path) else {
            if n.agrees == Some(false) {
                out.push(change(
                    Area::Dependencies,
                    How::Added,
                    &n.path,
                    format!(
                        "{} is new and {} does not match it: {} (run: {})",
                        n.name,
                        n.target,
                        n.disagreement(),
                        n.install_here()
                    ),
                    Some(n.install.clone()),
                ));
            }
            continue;
        };
        let lock_changed = o.hash != n.hash;
        let stayed = o.installed.is_some() && o.installed == n.installed;
        let detail = if lock_changed && stayed {
            format!(
                "{} changed but {} did not follow (run: {})",
                n.name,
                n.target,
                n.install_here()
            )
        } else if n.agrees == Some(false) && (lock_changed || o.agrees == Some(true)) {
            format!(
                "{} no longer matches {}: {} (run: {})",
                n.target,
                n.name,
                n.disagreement(),
                n.install_here()
            )
        } else {
            continue;
        };
        out.push(change(
            Area::Dependencies,
            How::Changed,
            &n.path,
            detail,
            Some(n.install.clone()),
        ));
    }
}
