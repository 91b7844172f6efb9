//! The environment the app gets, as the `env` checks read it (`from_file`, `process`): each
//! variable's name with the keyed hash of its value. The value itself is dropped here.

use std::collections::BTreeMap;

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
}

impl EnvSet {
    fn part(&self) -> String {
        part(&self.source)
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
