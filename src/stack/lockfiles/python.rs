//! Python: `poetry.lock`, `Pipfile.lock` or `requirements*.txt` against the virtualenv the
//! app runs in: its `site-packages/*.dist-info/METADATA` (`Name:`, `Version:`), read as text
//! — nothing is imported or run. Names are compared as PEP 503 normalises them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::os::unix::ffi::OsStrExt;

use serde_json::Value;

use super::{Audit, Ecosystem, Examined, Hints, Locked, compare, in_app, not_compared, read};
use crate::shell::shell_quote_path;

/// At most this many requirements files are read per app.
const MAX_REQUIREMENT_FILES: usize = 5;
/// At most this many entries of `site-packages` are looked at.
const MAX_SITE_ENTRIES: usize = 20_000;
/// At most this many processes are looked at to find the app server's virtualenv.
const MAX_PIDS: usize = 8192;
/// Requirements files for development, not for the app running here.
const NOT_FOR_RUNNING: &[&str] = &["dev", "test", "doc", "lint", "ci", "local"];

/// The `requirements*.txt` files of `dir` that the running app needs, in name order.
pub fn requirement_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .flatten()
        .take(4096)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_ascii_lowercase();
            let stem = name
                .strip_prefix("requirements")?
                .strip_suffix(".txt")?
                .to_string();
            let dev = NOT_FOR_RUNNING.iter().any(|w| stem.contains(w));
            (!dev && e.path().is_file()).then(|| e.path())
        })
        .collect();
    files.sort();
    files.truncate(MAX_REQUIREMENT_FILES);
    files
}

pub fn examine(app: &Path, hints: &Hints) -> Vec<Examined> {
    type Parser = fn(&[u8]) -> Result<Vec<Locked>, String>;
    let sources: Vec<(PathBuf, Parser)> = if app.join("poetry.lock").is_file() {
        vec![(app.join("poetry.lock"), parse_poetry)]
    } else if app.join("Pipfile.lock").is_file() {
        vec![(app.join("Pipfile.lock"), parse_pipfile)]
    } else {
        requirement_files(app)
            .into_iter()
            .map(|p| (p, parse_requirements as Parser))
            .collect()
    };
    if sources.is_empty() {
        return Vec::new();
    }
    let Some(venv) = find_venv(app, hints) else {
        return sources
            .into_iter()
            .map(|(p, _)| {
                not_compared(
                    p,
                    "no virtualenv found (none in venv/ or .venv/ beside it, none run by a process working in it): set `venv` to compare with its packages",
                )
            })
            .collect();
    };
    let installed = installed_in(&venv);
    sources
        .into_iter()
        .map(|(lockfile, parse)| {
            let locked = match read(&lockfile).and_then(|t| parse(&t)) {
                Ok(l) => super::bounded(l),
                Err(why) => return super::unreadable(lockfile, why),
            };
            let have = |n: &str| installed.get(n).cloned();
            let gaps = compare(&locked, &have, same_version);
            Examined::Audited(Audit {
                ecosystem: Ecosystem::Python,
                app: app.to_path_buf(),
                fix: in_app(app, &fix_for(app, &lockfile, &venv)),
                lockfile,
                target: format!("the virtualenv {}", crate::sanitize::path(&venv)),
                locked: locked.len(),
                gaps,
                missing_may_be_intended: None,
            })
        })
        .collect()
}

fn fix_for(app: &Path, lockfile: &Path, venv: &Path) -> String {
    let name = lockfile.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match name {
        "poetry.lock" => "poetry install --only main".into(),
        "Pipfile.lock" => "pipenv sync".into(),
        _ => format!(
            "{} install -r {}",
            shell_quote_path(&venv.join("bin/pip")),
            shell_quote_path(lockfile.strip_prefix(app).unwrap_or(lockfile))
        ),
    }
}

/// PEP 503: lower case, every run of `-`, `_` and `.` one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// PEP 440, enough for pins: case, a leading `v` and trailing `.0` release parts do not count
/// (`==2.0` is satisfied by 2.0.0).
pub(super) fn same_version(a: &str, b: &str) -> bool {
    fn norm(v: &str) -> String {
        let v = v.trim().to_ascii_lowercase();
        let v = v.trim_start_matches('v');
        let split = v
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(v.len());
        let (release, rest) = v.split_at(split);
        let mut parts: Vec<&str> = release.split('.').collect();
        while parts.len() > 1
            && parts
                .last()
                .is_some_and(|p| p.trim_start_matches('0').is_empty())
        {
            parts.pop();
        }
        format!("{}{rest}", parts.join("."))
    }
    norm(a) == norm(b)
}

/// A marker that can leave a package out on this machine (another platform, an extra):
/// such entries are not judged.
fn platform_marker(marker: &str) -> bool {
    ["platform", "os_name", "implementation", "extra"]
        .iter()
        .any(|w| marker.contains(w))
}

/// `requirements.txt`: `name[extras]==version` pins (and bare names, judged by presence);
/// options, includes, editable and URL requirements and platform markers are left out.
pub fn parse_requirements(text: &[u8]) -> Result<Vec<Locked>, String> {
    let text = String::from_utf8_lossy(text)
        .replace("\\\r\n", " ")
        .replace("\\\n", " ");
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(" #").next().unwrap_or("").trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('-') {
            continue;
        }
        let (req, marker) = line.split_once(';').unwrap_or((line, ""));
        if platform_marker(marker) || req.contains("://") || req.contains(" @ ") {
            continue;
        }
        let end = req
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(req.len());
        let (name, rest) = req.split_at(end);
        if name.is_empty() || name.starts_with('.') {
            continue;
        }
        let rest = match rest.trim_start().strip_prefix('[') {
            Some(r) => r.split_once(']').map_or("", |(_, after)| after),
            None => rest,
        };
        let version = rest
            .trim()
            .strip_prefix("==")
            .map(|v| {
                v.trim_start_matches('=')
                    .trim()
                    .split([' ', ','])
                    .next()
                    .unwrap_or("")
            })
            .filter(|v| !v.is_empty() && !v.contains('*'));
        out.push(Locked::new(normalise(name), version.map(str::to_string)));
    }
    Ok(out)
}

/// `poetry.lock`: every `[[package]]` of the main group (`category = "main"` in old locks,
/// `groups = ["main", ...]` in new ones) that is not optional or platform-bound.
pub fn parse_poetry(text: &[u8]) -> Result<Vec<Locked>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8 text".to_string())?;
    let v: toml::Table =
        toml::from_str(text).map_err(|e| format!("not valid TOML: {}", e.message()))?;
    let packages = v
        .get("package")
        .and_then(toml::Value::as_array)
        .ok_or("no [[package]] tables: not a poetry.lock")?;
    Ok(packages
        .iter()
        .filter_map(|p| {
            let main = match (p.get("category"), p.get("groups")) {
                (_, Some(toml::Value::Array(g))) => g.iter().any(|g| g.as_str() == Some("main")),
                (Some(c), _) => c.as_str() == Some("main"),
                _ => true,
            };
            let optional = p.get("optional").and_then(toml::Value::as_bool) == Some(true);
            let marked = p
                .get("markers")
                .is_some_and(|m| platform_marker(&m.to_string()));
            if !main || optional || marked {
                return None;
            }
            let name = normalise(p.get("name")?.as_str()?);
            let version = p
                .get("version")
                .and_then(toml::Value::as_str)
                .map(str::to_string);
            Some(Locked::new(name, version))
        })
        .collect())
}

/// `Pipfile.lock`: the `default` section (not `develop`), `"version": "==1.2.3"`.
pub fn parse_pipfile(text: &[u8]) -> Result<Vec<Locked>, String> {
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let default = v
        .get("default")
        .and_then(Value::as_object)
        .ok_or("no `default` section: not a Pipfile.lock")?;
    Ok(default
        .iter()
        .filter(|(_, p)| {
            !p.get("markers")
                .and_then(Value::as_str)
                .is_some_and(platform_marker)
        })
        .map(|(name, p)| {
            let version = p
                .get("version")
                .and_then(Value::as_str)
                .and_then(|v| v.strip_prefix("=="))
                .map(str::to_string);
            Locked::new(normalise(name), version)
        })
        .collect())
}

/// The virtualenv of `app`: the one given, one beside it, or the one a process working in it
/// runs from.
pub fn find_venv(app: &Path, hints: &Hints) -> Option<PathBuf> {
    if let Some(v) = &hints.venv {
        return Some(v.clone());
    }
    for name in ["venv", ".venv", "env", "virtualenv"] {
        if is_venv(&app.join(name)) {
            return Some(app.join(name));
        }
    }
    venv_of_process(app, hints.proc.as_deref()?)
}

fn is_venv(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file() && dir.join("bin").is_dir()
}

/// The virtualenv a process whose working directory is `app` runs: its executable, or a
/// script on its command line (`/srv/app/venv/bin/gunicorn`), under a `pyvenv.cfg`.
fn venv_of_process(app: &Path, proc: &Path) -> Option<PathBuf> {
    let app = std::fs::canonicalize(app).ok()?;
    for pid in crate::sys::procfs::pids(proc, MAX_PIDS) {
        let dir = proc.join(pid.to_string());
        let cwd = std::fs::read_link(dir.join("cwd")).ok();
        if cwd.as_deref() != Some(app.as_path()) {
            continue;
        }
        let mut candidates: Vec<PathBuf> =
            std::fs::read_link(dir.join("exe")).into_iter().collect();
        if let Ok(cmdline) = crate::sys::readcap::read_capped(&dir.join("cmdline"), 64 * 1024) {
            candidates.extend(
                cmdline
                    .split(|b| *b == 0)
                    .filter(|w| w.first() == Some(&b'/'))
                    .map(|w| PathBuf::from(std::ffi::OsStr::from_bytes(w))),
            );
        }
        let found = candidates.iter().find_map(|c| {
            c.ancestors()
                .skip(1)
                .take(3)
                .find(|a| is_venv(a))
                .map(Path::to_path_buf)
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The `site-packages` directories of a virtualenv (`lib/python3.*/`, `lib64/…`).
fn site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(rd) = std::fs::read_dir(venv.join(lib)) else {
            continue;
        };
        let mut dirs: Vec<PathBuf> = rd
            .flatten()
            .take(64)
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with("python"))
            })
            .map(|e| e.path().join("site-packages"))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for d in dirs {
            let same = out
                .iter()
                .any(|o: &PathBuf| std::fs::canonicalize(o).ok() == std::fs::canonicalize(&d).ok());
            if !same {
                out.push(d);
            }
        }
    }
    out
}

/// Installed distributions of a virtualenv: normalised name → version, from each
/// `*.dist-info/METADATA` (or `*.egg-info/PKG-INFO`).
pub fn installed_in(venv: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for sp in site_packages(venv) {
        let Ok(rd) = std::fs::read_dir(&sp) else {
            continue;
        };
        for e in rd.flatten().take(MAX_SITE_ENTRIES) {
            let name = e.file_name();
            let Some(name) = name.to_str() else { continue };
            let meta = if name.ends_with(".dist-info") {
                e.path().join("METADATA")
            } else if name.ends_with(".egg-info") {
                e.path().join("PKG-INFO")
            } else {
                continue;
            };
            if let Some((n, v)) = super::read_meta(&meta).and_then(|t| parse_metadata(&t)) {
                out.entry(normalise(&n)).or_insert(v);
            }
        }
    }
    out
}

/// `Name:` and `Version:` from the header of a core-metadata file (it ends at the first
/// blank line).
pub fn parse_metadata(text: &[u8]) -> Option<(String, String)> {
    let text = String::from_utf8_lossy(text);
    let (mut name, mut version) = (None, None);
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Name:") {
            name.get_or_insert_with(|| n.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Version:") {
            version.get_or_insert_with(|| v.trim().to_string());
        }
    }
    Some((name.filter(|n| !n.is_empty())?, version?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::fixture::{only_audit, write};
    use super::*;

    /// A virtualenv made by hand: `pyvenv.cfg`, `bin/`, and one dist-info per package.
    pub fn venv(dir: &Path, packages: &[(&str, &str)]) {
        write(dir, "pyvenv.cfg", "home = /usr/bin\nversion = 3.11.2\n");
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        for (name, version) in packages {
            let folder = format!(
                "lib/python3.11/site-packages/{}-{version}.dist-info/METADATA",
                name.replace('-', "_")
            );
            write(
                dir,
                &folder,
                &format!(
                    "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: x\n\nName: not-this\n"
                ),
            );
        }
    }

    #[test]
    fn names_are_normalised_and_versions_compared_as_pep_440() {
        assert_eq!(normalise("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(normalise("zope.interface"), "zope-interface");
        assert_eq!(normalise("a--_b"), "a-b");
        assert!(same_version("2.0", "2.0.0"));
        assert!(same_version("1.0RC1", "1.0rc1"));
        assert!(!same_version("2.0.1", "2.0"));
        assert!(!same_version("10", "1"));
    }

    #[test]
    fn requirements_pins_extras_markers_and_options() {
        let text = b"# prod\n-r base.txt\n--index-url https://pypi.org/simple\nFlask==3.0.0\nrequests[security] == 2.31.0 ; python_version >= \"3.8\"\npywin32==306; sys_platform == 'win32'\ngunicorn>=21\n-e git+https://x/y.git#egg=y\nhashed==1.0 \\\n    --hash=sha256:abc\nwild==1.*\n";
        assert_eq!(
            parse_requirements(text).unwrap(),
            [
                Locked::new("flask", Some("3.0.0".into())),
                Locked::new("requests", Some("2.31.0".into())),
                Locked::new("gunicorn", None),
                Locked::new("hashed", Some("1.0".into())),
                Locked::new("wild", None),
            ]
        );
    }

    #[test]
    fn poetry_old_and_new_groups_and_pipfile_default() {
        let lock = br#"
[[package]]
name = "Flask"
version = "3.0.0"
description = ""
optional = false
python-versions = ">=3.8"
groups = ["main"]

[[package]]
name = "pytest"
version = "7.4.0"
groups = ["dev"]

[[package]]
name = "colorama"
version = "0.4.6"
groups = ["main"]
markers = "sys_platform == \"win32\""

[[package]]
name = "click"
version = "8.1.7"
category = "main"

[metadata]
lock-version = "2.1"
"#;
        assert_eq!(
            parse_poetry(lock).unwrap(),
            [
                Locked::new("flask", Some("3.0.0".into())),
                Locked::new("click", Some("8.1.7".into()))
            ]
        );
        let pipfile = br#"{"_meta": {"hash": {"sha256": "x"}}, "default": {"flask": {"hashes": [], "version": "==3.0.0", "markers": "python_version >= '3.8'"}}, "develop": {"pytest": {"version": "==7.4.0"}}}"#;
        assert_eq!(
            parse_pipfile(pipfile).unwrap(),
            [Locked::new("flask", Some("3.0.0".into()))]
        );
    }

    #[test]
    fn a_venv_beside_the_app_is_compared_by_metadata() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "requirements.txt",
            "Flask==3.0.0\nitsdangerous==2.1.2\nredis==5.0.1\n",
        );
        write(t.path(), "requirements-dev.txt", "pytest==7.4.0\n");
        venv(
            &t.path().join(".venv"),
            &[("Flask", "3.0.0"), ("itsdangerous", "2.1.1")],
        );
        let a = only_audit(examine(t.path(), &Hints::default()));
        assert_eq!(a.locked, 3);
        assert_eq!(
            a.missing().map(|g| g.name.as_str()).collect::<Vec<_>>(),
            ["redis"]
        );
        assert_eq!(
            a.mismatched()
                .map(|g| g.installed.as_deref().unwrap())
                .collect::<Vec<_>>(),
            ["2.1.1"]
        );
        assert_eq!(
            a.fix,
            format!(
                "cd {0} && {0}/.venv/bin/pip install -r requirements.txt",
                t.path().display()
            )
        );
    }

    #[test]
    fn without_a_venv_nothing_is_judged() {
        let t = tempfile::tempdir().unwrap();
        write(t.path(), "requirements.txt", "Flask==3.0.0\n");
        assert!(matches!(
            examine(t.path(), &Hints::default()).as_slice(),
            [Examined::NotCompared { .. }]
        ));
    }

    #[test]
    fn the_venv_of_the_process_working_in_the_app() {
        let t = tempfile::tempdir().unwrap();
        let app = t.path().join("app");
        write(&app, "requirements.txt", "Flask==3.0.0\n");
        venv(&t.path().join("envs/shop"), &[("Flask", "3.0.0")]);
        let proc = t.path().join("proc");
        std::fs::create_dir_all(proc.join("77")).unwrap();
        std::os::unix::fs::symlink(&app, proc.join("77/cwd")).unwrap();
        let gunicorn = t.path().join("envs/shop/bin/gunicorn");
        let cmdline = format!("/usr/bin/python3\0{}\0app:app\0", gunicorn.display());
        std::fs::write(proc.join("77/cmdline"), cmdline).unwrap();
        let hints = Hints {
            venv: None,
            proc: Some(proc),
        };
        assert_eq!(find_venv(&app, &hints), Some(t.path().join("envs/shop")));
        let a = only_audit(examine(&app, &hints));
        assert!(a.gaps.is_empty(), "{:?}", a.gaps);
    }

    #[test]
    fn metadata_header_only() {
        assert_eq!(
            parse_metadata(b"Metadata-Version: 2.1\nName: a\nVersion: 1\n\nVersion: 2\n"),
            Some(("a".into(), "1".into()))
        );
        assert_eq!(parse_metadata(b"Name: a\n\nVersion: 1\n"), None);
    }
}
