//! The web servers' and PHP-FPM's configuration in use: each file (the main one, what it
//! includes, PHP-FPM's `php.ini` and `conf.d/*.ini`) with a keyed hash of its content, and
//! each server's own configuration test with its verdict.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Host, HostState, Notes, change, run};
use crate::baseline::change::{Area, Change, How};
use crate::baseline::key::{Digest, Key};
use crate::checks::configtest;
use crate::sys::readcap;
use crate::webstack::Server;

/// One configuration file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigFile {
    /// `nginx`, `apache`, `php-fpm`.
    pub server: String,
    pub path: String,
    pub hash: Option<Digest>,
}

/// One configuration test and what it said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigTest {
    pub server: String,
    /// `nginx -t`, `apache2ctl -t`, `php-fpm8.2 -t`.
    pub command: String,
    pub passed: bool,
    /// The line that says why (or that it is fine).
    pub verdict: String,
}

/// Every file the servers read, and their tests (run at once).
pub fn collect(
    key: &Key,
    servers: &[Server],
    host: &Host,
) -> ((Vec<ConfigFile>, Vec<ConfigTest>), Notes) {
    let mut notes = Notes::default();
    let (files, tests) = std::thread::scope(|s| {
        let running: Vec<_> = servers.iter().map(|sv| s.spawn(|| test(sv))).collect();
        let files = files(key, servers, host, &mut notes);
        let tests: Vec<Result<ConfigTest, (String, String)>> = running
            .into_iter()
            .map(|h| h.join().expect("a config test panicked"))
            .collect();
        (files, tests)
    });
    let mut done = Vec::new();
    for t in tests {
        match t {
            Ok(t) => done.push(t),
            Err((part, why)) => notes.cannot(part, why),
        }
    }
    ((files, done), notes)
}

/// The files of every server, each once, in the order the servers read them.
fn files(key: &Key, servers: &[Server], host: &Host, notes: &mut Notes) -> Vec<ConfigFile> {
    let mut out: Vec<ConfigFile> = Vec::new();
    for s in servers {
        for p in files_of(s) {
            let path = host.shown(&p);
            if out.iter().any(|f| f.path == path) {
                continue;
            }
            match readcap::read_capped(&p, readcap::DEFAULT_CAP) {
                Ok(bytes) => out.push(ConfigFile {
                    server: s.name.to_string(),
                    path,
                    hash: Some(key.hash(&bytes)),
                }),
                Err(e) if e.is_not_found() => {}
                Err(e) if e.is_permission_denied() => notes.cannot(
                    format!("config {path}"),
                    format!("run as root to read {path}"),
                ),
                Err(e) => {
                    notes.cannot(format!("config {path}"), format!("cannot read {path}: {e}"))
                }
            }
        }
    }
    out
}

/// What a server reads: its configuration files, Apache's `envvars`, PHP-FPM's `php.ini`
/// and `conf.d/*.ini`.
fn files_of(s: &Server) -> Vec<PathBuf> {
    let mut out = s.config_files.clone();
    if out.is_empty() {
        out.push(s.config.clone());
    }
    let dir = s.config.parent().unwrap_or(Path::new("/"));
    match s.name {
        "apache" => out.push(dir.join("envvars")),
        "php-fpm" => {
            out.push(dir.join("php.ini"));
            out.extend(crate::sys::expand_glob(&dir.join("conf.d/*.ini")));
        }
        _ => {}
    }
    out
}

/// The server's own configuration test; `Err((part, why))` when it could not say.
fn test(s: &Server) -> Result<ConfigTest, (String, String)> {
    let argv = configtest::default_argv(s);
    let command = run::shown(&argv);
    let part = format!("configtest {command}");
    // The same run as the `configtest` check's, when this command runs both.
    let f = configtest::once::run(&argv, run::TIMEOUT)
        .and_then(|f| run::finished(&f).map(|()| f))
        .map_err(|e| (part.clone(), format!("cannot run `{command}`: {e}")))?;
    let text = format!("{}\n{}", f.stderr.text(), f.stdout.text());
    let said = crate::sanitize::terminal(&configtest::verdict_line(&text).unwrap_or_default());
    let passed = f.code == Some(0);
    if !passed && text.contains("Permission denied") && !nix::unistd::geteuid().is_root() {
        return Err((
            part,
            format!("run as root: `{command}` needs to read what only root may ({said})"),
        ));
    }
    Ok(ConfigTest {
        server: s.name.to_string(),
        command,
        passed,
        verdict: said,
    })
}

/// Files changed, now read or no longer read; a test that passed and fails now.
pub fn compare(
    old: &HostState,
    new: &HostState,
    skip: &dyn Fn(&str) -> bool,
    out: &mut Vec<Change>,
) {
    for o in &old.configs {
        if skip(&format!("config {}", o.path)) {
            continue;
        }
        match new.configs.iter().find(|n| n.path == o.path) {
            None => out.push(change(
                Area::Config,
                How::Removed,
                &o.path,
                format!("{} no longer reads it", o.server),
                None,
            )),
            Some(n) if n.hash != o.hash => out.push(change(
                Area::Config,
                How::Changed,
                &o.path,
                format!("{} configuration changed", o.server),
                None,
            )),
            Some(_) => {}
        }
    }
    for n in &new.configs {
        if !skip(&format!("config {}", n.path)) && !old.configs.iter().any(|o| o.path == n.path) {
            out.push(change(
                Area::Config,
                How::Added,
                &n.path,
                format!("{} reads it now", n.server),
                None,
            ));
        }
    }
    for o in old.config_tests.iter().filter(|t| t.passed) {
        if skip(&format!("configtest {}", o.command)) {
            continue;
        }
        if let Some(n) = new
            .config_tests
            .iter()
            .find(|n| n.command == o.command && !n.passed)
        {
            out.push(change(
                Area::ConfigTest,
                How::Changed,
                &o.command,
                format!("passed at the snapshot, fails now: {}", n.verdict),
                Some(crate::checks::config_error::locate(&n.verdict).map_or_else(
                    || {
                        format!(
                            "fix the file and line it names, then run `{}` again before reloading",
                            o.command
                        )
                    },
                    |at| configtest::edit_fix(&at, &o.command),
                )),
            ));
        }
    }
}
