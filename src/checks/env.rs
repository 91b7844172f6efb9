//! `env`: required environment variables are present, without ever printing their values.
//! A deploy that lost `DATABASE_URL` or `APP_KEY` answers 500 on every page.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::sanitize;
use crate::shell::shell_quote;
use crate::span::SpanError;
use crate::stack::env_sources;
use crate::sys::readcap;

pub static KIND: Kind = Kind {
    name: "env",
    summary: "required environment variables are set (values never shown)",
    why: "After a deploy, a missing or empty variable — a database URL, an app key, an API \
          secret — makes the app fail at start-up or on every request with a 500.",
    looks_at: "The variables in `from_file` (a dotenv or systemd EnvironmentFile), or in the \
               environment the running `process` actually has (/proc/PID/environ, which needs \
               root or the app's user), or else in sitedoctor's own environment. Only presence \
               and emptiness are judged; values are never printed, not even in part.",
    fixes: "Add the variable where the app reads it (the dotenv file, the unit's Environment= or \
            EnvironmentFile=) and restart the app: a running process keeps the environment it \
            started with.",
    field_docs: &[
        FieldDoc {
            name: "vars",
            ty: "list of names",
            default: "—",
            doc: "Variables that must be present (required).",
        },
        FieldDoc {
            name: "from_file",
            ty: "path",
            default: "none",
            doc: "Read a dotenv / EnvironmentFile instead of the environment.",
        },
        FieldDoc {
            name: "process",
            ty: "string",
            default: "none",
            doc: "Read the environment of the running process with this name.",
        },
        FieldDoc {
            name: "allow_empty",
            ty: "bool",
            default: "false",
            doc: "Accept variables that are set but empty (otherwise `warn`).",
        },
    ],
    example: r#"[[check]]
id = "app-env"
kind = "env"
vars = ["DATABASE_URL", "APP_KEY"]
from_file = "/var/www/app/.env"
allow_empty = false
"#,
    fields: super::fields_of::<EnvSpec>,
    build: super::build::<EnvSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvSpec {
    vars: Spanned<Vec<Spanned<String>>>,
    from_file: Option<PathBuf>,
    process: Option<Spanned<String>>,
    #[serde(default)]
    allow_empty: bool,
}

impl Spec for EnvSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        if self.vars.get_ref().is_empty() {
            return Err(SpanError::new(
                self.vars.span(),
                "`vars` must name at least one variable",
            ));
        }
        for v in self.vars.get_ref() {
            let ok = v
                .get_ref()
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && v.get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(SpanError::new(
                    v.span(),
                    format!(
                        "{:?} is not a variable name (letters, digits and _)",
                        v.get_ref()
                    ),
                ));
            }
        }
        let source = match (self.from_file, self.process) {
            (Some(f), None) => Source::File(f),
            (None, Some(p)) => Source::Process(p.into_inner()),
            (None, None) => Source::Own,
            (Some(_), Some(p)) => {
                return Err(SpanError::new(
                    p.span(),
                    "give either `from_file` or `process`, not both",
                ));
            }
        };
        Ok(Arc::new(Env {
            vars: self
                .vars
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            source,
            allow_empty: self.allow_empty,
        }))
    }
}

/// Where an `env` check reads the variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A dotenv or systemd EnvironmentFile (`from_file`).
    File(PathBuf),
    /// The environment of the running process with this name (`process`).
    Process(String),
    /// sitedoctor's own environment.
    Own,
}

#[derive(Debug)]
struct Env {
    vars: Vec<String>,
    source: Source,
    allow_empty: bool,
}

/// Which variables are present, and whether each is non-empty. Values are dropped here.
type Presence = HashMap<String, bool>;

fn presence_of(pairs: impl Iterator<Item = (Vec<u8>, bool)>) -> Presence {
    pairs
        .map(|(k, nonempty)| (String::from_utf8_lossy(&k).into_owned(), nonempty))
        .collect()
}

/// Which variables a dotenv or systemd EnvironmentFile sets, read by the one dotenv
/// parser (`export KEY=value`, comments, quotes, values across lines); a later assignment
/// wins. Values are dropped here.
pub fn parse_env_file(text: &str) -> Presence {
    env_sources::parse_dotenv(text)
        .into_iter()
        .map(|(k, v)| (k, !v.is_empty()))
        .collect()
}

impl Env {
    fn read(&self) -> anyhow::Result<(Presence, String)> {
        match &self.source {
            Source::Own => Ok((
                presence_of(
                    std::env::vars_os().map(|(k, v)| (k.into_encoded_bytes(), !v.is_empty())),
                ),
                "sitedoctor's environment".into(),
            )),
            Source::File(path) => {
                // Capped, and a FIFO or device (`/dev/zero`) is refused without blocking.
                let text =
                    readcap::read_capped(path, readcap::DEFAULT_CAP).map_err(|e| match e {
                        readcap::ReadError::Io(io) => crate::sys::denied_or(path, &io),
                        other => anyhow::anyhow!("cannot read {}: {other}", sanitize::path(path)),
                    })?;
                Ok((
                    parse_env_file(&String::from_utf8_lossy(&text)),
                    sanitize::path(path),
                ))
            }
            Source::Process(name) => {
                let (label, env) = env_sources::process_environ(name)?;
                let pairs = env
                    .into_iter()
                    .map(|(k, v)| (k.into_bytes(), !v.secret().is_empty()));
                Ok((presence_of(pairs), label))
            }
        }
    }

    /// A variable missing or empty where it was looked for: a finding about its name (its
    /// value is never read past "empty or not").
    fn absent(&self, name: &str, status: Status, state: String) -> Finding {
        Finding::new(
            Subject::Var { name: name.into() },
            Cause::Deploy,
            status,
            format!("{name}: {state}"),
        )
        .fix(self.fix_for(&[name]))
    }

    fn fix_for(&self, names: &[&str]) -> String {
        let assignments: Vec<String> = names.iter().map(|n| format!("{n}=…")).collect();
        match &self.source {
            Source::File(p) => format!(
                "add {} to {}, then restart the app so it reads {}",
                assignments.join(" and "),
                shell_quote(&sanitize::path(p)),
                if names.len() == 1 { "it" } else { "them" }
            ),
            Source::Process(name) => format!(
                "systemctl edit {}    # add under [Service]: Environment={} (or to its EnvironmentFile)\n\
                 systemctl restart {}    # a running process keeps the environment it started with",
                shell_quote(name),
                assignments.join(" "),
                shell_quote(name)
            ),
            Source::Own => format!(
                "export {}    # in the environment sitedoctor runs in",
                assignments.join(" ")
            ),
        }
    }
}

impl Check for Env {
    fn env_source(&self) -> Option<&Source> {
        Some(&self.source)
    }

    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let (present, from) = self.read()?;
        let missing: Vec<&str> = self
            .vars
            .iter()
            .filter(|v| !present.contains_key(*v))
            .map(String::as_str)
            .collect();
        let empty: Vec<&str> = self
            .vars
            .iter()
            .filter(|v| present.get(*v) == Some(&false) && !self.allow_empty)
            .map(String::as_str)
            .collect();
        let mut out = Outcome::pass("")
            .metric(Metric::new("missing", missing.len() as f64, "").thresholds(None, Some(1.0)))
            .metric(Metric::new("empty", empty.len() as f64, ""));
        for v in &self.vars {
            match present.get(v) {
                None => {
                    out.push_finding(self.absent(v, Status::Fail, format!("missing from {from}")))
                }
                Some(false) if !self.allow_empty => {
                    out.push_finding(self.absent(v, Status::Warn, format!("empty in {from}")))
                }
                Some(false) => out.details.push(format!("{v}: set (empty, allowed)")),
                Some(true) => out.details.push(format!("{v}: set")),
            }
        }
        out.details.push(format!("read from {from}"));
        if !missing.is_empty() {
            let mut names = missing.clone();
            names.extend(&empty);
            let mut summary = format!("missing from {from}: {}", missing.join(", "));
            if !empty.is_empty() {
                summary.push_str(&format!("; empty: {}", empty.join(", ")));
            }
            return Ok(out
                .status_summary(Status::Fail, summary)
                .fix(self.fix_for(&names)));
        }
        if !empty.is_empty() {
            return Ok(out
                .status_summary(
                    Status::Warn,
                    format!("set but empty in {from}: {}", empty.join(", ")),
                )
                .fix(self.fix_for(&empty)));
        }
        Ok(out.status_summary(
            Status::Pass,
            format!("all {} variable(s) set in {from}", self.vars.len()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn missing_and_empty_variables_are_findings_about_their_names() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join(".env");
        std::fs::write(&file, "DB_HOST=db.internal\nDB_PASS=\n").unwrap();
        let env = Env {
            vars: vec!["DB_HOST".into(), "DB_PASS".into(), "API_KEY".into()],
            source: Source::File(file.clone()),
            allow_empty: false,
        };
        let ctx = Ctx::new("env", Duration::from_secs(1), Duration::from_secs(1));
        let out = env.run(&ctx).unwrap();
        assert_eq!(out.status, Status::Fail);
        let shown = sanitize::path(&file);
        let var = |n: &str| Subject::Var { name: n.into() };
        let f = &out.findings;
        assert_eq!(f.len(), 2, "{f:#?}");
        assert_eq!(f[0].subject, var("DB_PASS"));
        assert_eq!((f[0].cause, f[0].status), (Cause::Deploy, Status::Warn));
        assert_eq!(f[0].text, format!("DB_PASS: empty in {shown}"));
        assert_eq!(f[1].subject, var("API_KEY"));
        assert_eq!(f[1].status, Status::Fail);
        assert_eq!(f[1].text, format!("API_KEY: missing from {shown}"));
        assert_eq!(
            f[1].fix.as_ref().unwrap().text,
            format!("add API_KEY=… to {shown}, then restart the app so it reads it")
        );
        // In the order configured, and never a value.
        assert_eq!(out.details[0], "DB_HOST: set");
        assert_eq!(out.details[1], f[0].detail());
        assert_eq!(out.details[2], f[1].detail());
        assert!(!format!("{out:?}").contains("db.internal"));
    }

    #[test]
    fn dotenv_presence() {
        let p = parse_env_file(
            "# comment\nexport A=1\nB=\nC=\"\"\nD='x'\nE=\"multi\nline\"\nF = spaced\nG=#notvalue\n\
             export\tTAB=1\n  export   SPACES=1\nexport H=\"a \\\" b\nI=not a var\"\nexport=1\n",
        );
        assert_eq!(p.get("A"), Some(&true));
        assert_eq!(p.get("B"), Some(&false));
        assert_eq!(p.get("C"), Some(&false));
        assert_eq!(p.get("D"), Some(&true));
        assert_eq!(p.get("E"), Some(&true));
        assert_eq!(p.get("F"), Some(&true));
        assert_eq!(p.get("G"), Some(&false));
        assert!(!p.contains_key("line\""));
        // `export` followed by a tab or several blanks, and an escaped quote that does not end
        // the value (the line after it belongs to H).
        assert_eq!(p.get("TAB"), Some(&true));
        assert_eq!(p.get("SPACES"), Some(&true));
        assert_eq!(p.get("H"), Some(&true));
        assert!(!p.contains_key("I"), "{p:?}");
        // As in a shell, `export=1` sets a variable named export.
        assert_eq!(p.get("export"), Some(&true));
    }
}
