//! The environment the app gets, as the `env` checks read it (`from_file`, `process`): each
//! variable's name with the keyed hash of its value. The value itself is dropped here. Each
//! source's origin is recorded too, so a comparison reads the same sources again without the
//! configuration that named them (the `baseline` kind runs without the other checks' specs).

use std::collections::BTreeMap;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Notes, change};
use crate::baseline::change::{Area, Change, How};
use crate::baseline::key::{Digest, Key};
use crate::checks::env::Source;
use crate::shell::shell_quote;
use crate::stack::env_sources::{self, Value};

/// The variables one source gives the app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvSet {
    /// `/srv/app/.env`, or `process gunicorn`.
    pub source: String,
    /// Name → keyed hash of its value.
    pub vars: BTreeMap<String, Digest>,
    /// The file is not there (a deploy that lost its `.env`): every variable is gone.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gone: bool,
    /// Where it was read, to read it again. Empty in a record of an older sitedoctor.
    #[serde(skip_serializing_if = "Origin::is_empty")]
    pub origin: Origin,
}

/// A source as it was configured: a file's path as bytes (a path need not be UTF-8, and
/// `source` is escaped for a terminal), or a process name. Fields, not an enum, so a record
/// of a newer sitedoctor with another kind of source still loads (that source is not read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Origin {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

impl Origin {
    fn of(source: &Source) -> Origin {
        match source {
            Source::File(p) => Origin {
                file: Some(p.as_os_str().as_bytes().to_vec()),
                process: None,
            },
            Source::Process(name) => Origin {
                file: None,
                process: Some(name.clone()),
            },
            Source::Own => Origin::default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.file.is_none() && self.process.is_none()
    }
}

impl EnvSet {
    fn part(&self) -> String {
        part(&self.source)
    }

    /// The source to read again. A record without its origin (an older sitedoctor) is read
    /// again from its label when the label is an absolute path or a process, unescaped;
    /// anything else (a source of a newer sitedoctor's kind) is not guessed at.
    pub fn again(&self) -> Option<Source> {
        match (&self.origin.file, &self.origin.process) {
            (Some(f), _) => Some(Source::File(PathBuf::from(std::ffi::OsString::from_vec(
                f.clone(),
            )))),
            (None, Some(p)) => Some(Source::Process(p.clone())),
            (None, None) => match self.source.strip_prefix("process ") {
                Some(p) => Some(Source::Process(p.to_string())),
                None => {
                    let p = PathBuf::from(&self.source);
                    (p.is_absolute() && crate::sanitize::path(&p) == self.source)
                        .then_some(Source::File(p))
                }
            },
        }
    }
}

fn part(source: &str) -> String {
    format!("env {source}")
}

fn label(source: &Source) -> Option<String> {
    match source {
        Source::File(p) => Some(crate::sanitize::path(p)),
        Source::Process(name) => Some(format!("process {name}")),
        Source::Own => None,
    }
}

/// The variables of every `from_file` and `process` source (sitedoctor's own environment is
/// not the app's), each source once.
pub fn collect(key: &Key, sources: &[Source]) -> (Vec<EnvSet>, Notes) {
    let mut out: Vec<EnvSet> = Vec::new();
    let mut notes = Notes::default();
    for s in sources {
        let Some(name) = label(s) else { continue };
        if out.iter().any(|e| e.source == name) || notes.parts.contains(&part(&name)) {
            continue;
        }
        let vars: Result<Vec<(String, Value)>, String> = match s {
            Source::File(p) => match env_sources::read_dotenv(p) {
                Err(e) if e.is_not_found() => {
                    out.push(EnvSet {
                        source: name,
                        gone: true,
                        origin: Origin::of(s),
                        ..EnvSet::default()
                    });
                    continue;
                }
                other => other,
            }
            .map(|src| src.vars)
            .map_err(|e| {
                if e.is_permission_denied() {
                    format!("run as root (or the app's user) to read {name}")
                } else {
                    format!("cannot read {name}: {e}")
                }
            }),
            // "cannot read /proc/812/environ: permission denied (run as root, …)", or no
            // such process running.
            Source::Process(program) => env_sources::process_environ(program)
                .map(|(_, vars)| vars)
                .map_err(|e| format!("{e:#}")),
            Source::Own => continue,
        };
        match vars {
            Ok(vars) => out.push(EnvSet {
                vars: vars
                    .iter()
                    .map(|(k, v)| (k.clone(), key.hash_value(k, v.secret().as_bytes())))
                    .collect(),
                source: name,
                gone: false,
                origin: Origin::of(s),
            }),
            Err(why) => notes.cannot(part(&name), why),
        }
    }
    (out, notes)
}

/// Variables added, removed, or whose value changed, per source.
pub fn compare(old: &[EnvSet], new: &[EnvSet], skip: &dyn Fn(&str) -> bool, out: &mut Vec<Change>) {
    for o in old {
        // A source no check names any more is not compared: nothing was read from it.
        let Some(n) = new.iter().find(|n| n.source == o.source) else {
            continue;
        };
        if skip(&o.part()) {
            continue;
        }
        for (name, hash) in &o.vars {
            match n.vars.get(name) {
                None if n.gone => out.push(change(
                    Area::Env,
                    How::Removed,
                    name,
                    format!("no longer set: {} is gone", o.source),
                    Some(restore(&o.source, name)),
                )),
                None => out.push(change(
                    Area::Env,
                    How::Removed,
                    name,
                    format!("no longer set in {}", o.source),
                    Some(restore(&o.source, name)),
                )),
                Some(h) if h != hash => out.push(change(
                    Area::Env,
                    How::Changed,
                    name,
                    format!("value changed in {}", o.source),
                    None,
                )),
                Some(_) => {}
            }
        }
    }
    for n in new {
        if skip(&n.part()) {
            continue;
        }
        let Some(o) = old.iter().find(|o| o.source == n.source) else {
            continue;
        };
        for name in n.vars.keys() {
            if !o.vars.contains_key(name) {
                out.push(change(
                    Area::Env,
                    How::Added,
                    name,
                    format!("newly set in {}", n.source),
                    None,
                ));
            }
        }
    }
}

/// Where a person puts a lost variable back.
fn restore(source: &str, name: &str) -> String {
    match source.strip_prefix("process ") {
        Some(p) => format!(
            "set {name}=… where {p} gets its environment (its unit's Environment= or EnvironmentFile=), then restart it: systemctl restart {}",
            shell_quote(p)
        ),
        None => format!(
            "add {name}=… to {}, then restart the app so it reads it",
            shell_quote(source)
        ),
    }
}
