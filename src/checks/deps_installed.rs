//! `deps_installed`: what an app's lockfiles lock is installed beside it — `node_modules`,
//! `vendor/`, the virtualenv, the bundle — so "the deploy forgot `npm ci`" is named before
//! the app dies with `Cannot find module`.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::tree::{OneOrMany, max_details};
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::sanitize;
use crate::span::SpanError;
use crate::stack::lockfiles::{self, Audit, Examined, Gap, Hints};
use crate::units::clip;

pub static KIND: Kind = Kind {
    name: "deps_installed",
    summary: "what the app's lockfiles lock is installed: node_modules, vendor/, venv, bundle",
    why: "A deploy that updates the lockfile but forgets `npm ci`, `composer install` or \
          `pip install -r` leaves the app asking for a module that is not there, or one at \
          the wrong version: it dies at start, or answers 500 on the pages that use it.",
    looks_at: "Each of `paths` that is an app (it holds a `package.json`, lockfile, \
               `composer.json`, `requirements*.txt`, `poetry.lock`, `Pipfile.lock` or \
               `Gemfile.lock`), else each of its immediate subdirectories that is (at most 64 \
               looked at). `package-lock.json` (v1–v3), `yarn.lock`, `pnpm-lock.yaml` or \
               `package.json` against `node_modules/NAME/package.json`; `composer.lock` \
               against `vendor/composer/installed.json` (Composer 1 and 2) and `vendor/NAME`; \
               `poetry.lock`, `Pipfile.lock` or `requirements*.txt` pins (not dev, test or \
               doc files) against the virtualenv's `*.dist-info/METADATA` — the virtualenv \
               from `venv`, a `venv`/`.venv` beside the app, or the one a process working in \
               the app runs from; `Gemfile.lock` against the bundle (`BUNDLE_PATH` from \
               `.bundle/config`, or `vendor/bundle`). Dev, optional and platform-bound \
               packages are not judged. Files are read only: no package manager runs, nothing \
               is imported.",
    fixes: "The install command of that app, run in its directory: `npm ci`, `composer install \
            --no-dev`, `VENV/bin/pip install -r requirements.txt`, `bundle install`.",
    field_docs: &[
        FieldDoc {
            name: "paths",
            ty: "list of paths",
            default: "(required)",
            doc: "App directories, or directories whose immediate subdirectories are apps (the web roots).",
        },
        FieldDoc {
            name: "venv",
            ty: "path",
            default: "found",
            doc: "The virtualenv the Python app server runs (the directory with `bin/python`).",
        },
        FieldDoc {
            name: "missing_ok",
            ty: "bool",
            default: "false",
            doc: "Leave out `paths` that do not exist instead of reporting an error.",
        },
        FieldDoc {
            name: "max_details",
            ty: "integer",
            default: "50",
            doc: "Findings shown; totals are always complete.",
        },
    ],
    example: r#"[[check]]
id = "dependencies-installed"
kind = "deps_installed"
paths = ["/srv/shop"]
venv = "/srv/shop/venv"
"#,
    fields: super::fields_of::<DepsSpec>,
    build: super::build::<DepsSpec>,
    hidden: false,
    default_timeout: None,
};

/// Names shown in a summary before `…`.
const NAMES_IN_SUMMARY: usize = 5;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepsSpec {
    paths: OneOrMany,
    venv: Option<PathBuf>,
    #[serde(default)]
    missing_ok: bool,
    max_details: Option<Spanned<i64>>,
}

impl Spec for DepsSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        Ok(Arc::new(DepsInstalled {
            paths: self.paths.paths(),
            venv: self.venv,
            missing_ok: self.missing_ok,
            max_details: max_details(&self.max_details)?,
        }))
    }
}

#[derive(Debug)]
struct DepsInstalled {
    paths: Vec<PathBuf>,
    venv: Option<PathBuf>,
    missing_ok: bool,
    max_details: usize,
}

impl DepsInstalled {
    /// The apps under the configured paths, and why a path gave none.
    fn apps(&self) -> (Vec<PathBuf>, Vec<String>) {
        let mut apps: Vec<PathBuf> = Vec::new();
        let mut problems = Vec::new();
        for p in &self.paths {
            if !p.is_dir() {
                if !self.missing_ok || p.exists() {
                    let what = if p.exists() {
                        "is not a directory"
                    } else {
                        "does not exist"
                    };
                    problems.push(format!("{} {what}", sanitize::path(p)));
                }
                continue;
            }
            for a in lockfiles::apps_in(p) {
                if !apps.contains(&a) {
                    apps.push(a);
                }
            }
        }
        (apps, problems)
    }
}

impl Check for DepsInstalled {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        if let Some(v) = self.venv.as_ref().filter(|v| !v.is_dir()) {
            anyhow::bail!(
                "the virtualenv {} does not exist: correct `venv`, or leave it out to find it",
                sanitize::path(v)
            );
        }
        let (apps, problems) = self.apps();
        if apps.is_empty() {
            if let Some(first) = problems.first() {
                anyhow::bail!("{first}: correct `paths`, or set missing_ok = true");
            }
            let shown: Vec<String> = self.paths.iter().map(|p| sanitize::path(p)).collect();
            return Ok(Outcome::skip(format!(
                "no app with dependencies in {} (nor one level down)",
                shown.join(", ")
            )));
        }
        let hints = Hints {
            venv: self.venv.clone(),
            proc: Some(crate::sys::procfs::proc_root()),
        };
        let mut found = Vec::new();
        let mut unexamined = 0;
        for app in &apps {
            if ctx.remaining().is_zero() {
                unexamined += 1;
                continue;
            }
            found.extend(lockfiles::examine(app, &hints));
        }
        let mut out = judge(&found, self.max_details);
        out.details.extend(problems.iter().cloned());
        if unexamined > 0 {
            out.details.push(format!(
                "{unexamined} apps not examined: the check ran out of time"
            ));
            out.status = out.status.worse(Status::Warn);
        }
        if !problems.is_empty() {
            out.status = out.status.worse(Status::Error);
        }
        Ok(out)
    }
}

/// The outcome of every examined lockfile: one finding per gap (up to `max`), the worst
/// audit's summary and fix.
fn judge(found: &[Examined], max: usize) -> Outcome {
    let mut out = Outcome::pass("");
    let mut shown = 0;
    let mut hidden = 0;
    let mut bad: Vec<(Status, String, String)> = Vec::new();
    let (mut locked, mut missing, mut other) = (0usize, 0usize, 0usize);
    let mut passed = Vec::new();
    let mut notes = Vec::new();
    for e in found {
        match e {
            Examined::Audited(a) => {
                locked += a.locked;
                missing += a.missing().count();
                other += a.mismatched().count();
                if a.gaps.is_empty() {
                    passed.push(a);
                    out.push_finding(pass_finding(a));
                    continue;
                }
                bad.push((audit_status(a), summary_of(a), a.fix.clone()));
                for g in &a.gaps {
                    if shown < max {
                        out.push_finding(gap_finding(a, g));
                        shown += 1;
                    } else {
                        hidden += 1;
                    }
                }
            }
            Examined::Unreadable { lockfile, why } => {
                let f = Finding::new(
                    Subject::path(sanitize::path(lockfile)),
                    Cause::Deploy,
                    Status::Warn,
                    format!("{} cannot be read: {why}", sanitize::path(lockfile)),
                )
                .fix("repair it (a merge conflict?) and run the install again");
                bad.push((Status::Warn, f.text.clone(), String::new()));
                out.push_finding(f);
            }
            Examined::NotCompared { lockfile, why } => {
                notes.push(format!("{}: not compared: {why}", sanitize::path(lockfile)));
            }
        }
    }
    if hidden > 0 {
        out.details
            .push(format!("… {hidden} more (max_details = {max})"));
    }
    out.details.extend(notes.iter().cloned());
    out.metrics.push(Metric::new("locked", locked as f64, ""));
    out.metrics
        .push(Metric::new("missing", missing as f64, "").thresholds(None, Some(1.0)));
    out.metrics
        .push(Metric::new("mismatched", other as f64, "").thresholds(Some(1.0), None));
    bad.sort_by_key(|(s, _, _)| std::cmp::Reverse(s.rank()));
    if let Some((status, summary, fix)) = bad.first() {
        let more = match bad.len() {
            1 => String::new(),
            n => format!(" (and {} more lockfiles with gaps)", n - 1),
        };
        out = out.status_summary(*status, format!("{summary}{more}"));
        if !fix.is_empty() {
            out = out.fix(fix.clone());
        }
        return out;
    }
    if passed.is_empty() {
        let first = notes.first().cloned().unwrap_or_default();
        return out.status_summary(Status::Skip, format!("nothing to compare: {first}"));
    }
    let apps: Vec<String> = passed
        .iter()
        .map(|a| {
            format!(
                "{} ({} {}, {} packages)",
                sanitize::path(&a.app),
                a.ecosystem.as_str(),
                a.lockfile_name(),
                a.locked
            )
        })
        .collect();
    out.status_summary(
        Status::Pass,
        format!(
            "what the lockfiles lock is installed: {}",
            clip(&apps.join(", "), 300)
        ),
    )
}

/// Missing packages fail (unless they may be left out on purpose); other versions warn.
fn audit_status(a: &Audit) -> Status {
    match (a.missing().next(), &a.missing_may_be_intended) {
        (Some(_), None) => Status::Fail,
        _ => Status::Warn,
    }
}

fn gap_status(a: &Audit, g: &Gap) -> Status {
    if g.installed.is_none() && a.missing_may_be_intended.is_none() {
        Status::Fail
    } else {
        Status::Warn
    }
}

fn name(g: &Gap) -> String {
    clip(&sanitize::terminal(&g.name), 100)
}

fn version(v: &str) -> String {
    clip(&sanitize::terminal(v), 60)
}

/// `/srv/shop: node_modules lacks 2 of 143 locked packages (express, lodash): npm ci`.
fn summary_of(a: &Audit) -> String {
    let list = |gaps: Vec<&Gap>, with_versions: bool| {
        let mut names: Vec<String> = gaps
            .iter()
            .take(NAMES_IN_SUMMARY)
            .map(|g| match (with_versions, &g.installed, &g.locked) {
                (true, Some(have), Some(want)) => {
                    format!("{} {}, locked {}", name(g), version(have), version(want))
                }
                _ => name(g),
            })
            .collect();
        if gaps.len() > NAMES_IN_SUMMARY {
            names.push("…".into());
        }
        names.join(if with_versions { "; " } else { ", " })
    };
    let missing: Vec<&Gap> = a.missing().collect();
    let other: Vec<&Gap> = a.mismatched().collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "lacks {} of {} locked packages ({})",
            missing.len(),
            a.locked,
            list(missing, false)
        ));
    }
    if !other.is_empty() {
        parts.push(format!(
            "has {} of {} locked packages at another version ({})",
            other.len(),
            a.locked,
            list(other, true)
        ));
    }
    let command = a.fix.split(" && ").last().unwrap_or(&a.fix);
    format!(
        "{}: {} {}: {command}",
        sanitize::path(&a.app),
        a.target,
        parts.join(" and ")
    )
}

fn gap_finding(a: &Audit, g: &Gap) -> Finding {
    let lock = a.lockfile_name();
    let text = match (&g.installed, &g.locked) {
        (None, Some(want)) => format!(
            "{} {} is locked in {lock} but not installed in {}",
            name(g),
            version(want),
            a.target
        ),
        (None, None) => format!(
            "{} is declared in {lock} but not installed in {}",
            name(g),
            a.target
        ),
        (Some(have), want) => format!(
            "{} is locked at {} in {lock} but {} has {}",
            name(g),
            version(want.as_deref().unwrap_or("?")),
            a.target,
            version(have)
        ),
    };
    let text = match (&a.missing_may_be_intended, g.installed.is_none()) {
        (Some(why), true) => format!("{text} ({why})"),
        _ => text,
    };
    Finding::new(
        Subject::path(sanitize::path(&a.lockfile)),
        Cause::Deploy,
        gap_status(a, g),
        text,
    )
    .fix(a.fix.clone())
}

fn pass_finding(a: &Audit) -> Finding {
    Finding::new(
        Subject::path(sanitize::path(&a.lockfile)),
        Cause::Deploy,
        Status::Pass,
        format!(
            "all {} packages {} locks are installed in {}",
            a.locked,
            a.lockfile_name(),
            a.target
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::lockfiles::Ecosystem;
    use std::path::Path;

    fn audit(gaps: Vec<Gap>) -> Audit {
        Audit {
            ecosystem: Ecosystem::Npm,
            app: "/srv/shop".into(),
            lockfile: "/srv/shop/package-lock.json".into(),
            target: "node_modules".into(),
            locked: 143,
            gaps,
            fix: "cd /srv/shop && npm ci".into(),
            missing_may_be_intended: None,
        }
    }

    fn gap(n: &str, locked: &str, installed: Option<&str>) -> Gap {
        Gap {
            name: n.into(),
            locked: Some(locked.into()),
            installed: installed.map(str::to_string),
        }
    }

    #[test]
    fn missing_fails_and_names_them_with_the_command() {
        let a = audit(vec![
            gap("express", "4.18.2", None),
            gap("lodash", "4.17.21", None),
        ]);
        let out = judge(&[Examined::Audited(a)], 50);
        assert_eq!(out.status, Status::Fail);
        assert_eq!(
            out.summary,
            "/srv/shop: node_modules lacks 2 of 143 locked packages (express, lodash): npm ci"
        );
        assert_eq!(out.fix.unwrap().text, "cd /srv/shop && npm ci");
        assert_eq!(
            out.details[0],
            "express 4.18.2 is locked in package-lock.json but not installed in node_modules → cd /srv/shop && npm ci"
        );
        assert_eq!(
            out.findings[0].subject.file(),
            Some("/srv/shop/package-lock.json")
        );
    }

    #[test]
    fn another_version_warns_and_max_details_bounds_findings() {
        let a = audit(vec![
            gap("lodash", "4.17.21", Some("4.17.20")),
            gap("ms", "2.1.3", Some("2.1.2")),
        ]);
        let out = judge(&[Examined::Audited(a)], 1);
        assert_eq!(out.status, Status::Warn);
        assert_eq!(
            out.summary,
            "/srv/shop: node_modules has 2 of 143 locked packages at another version (lodash 4.17.20, locked 4.17.21; ms 2.1.2, locked 2.1.3): npm ci"
        );
        assert_eq!(out.findings.len(), 1);
        assert!(
            out.details
                .contains(&"… 1 more (max_details = 1)".to_string())
        );
    }

    #[test]
    fn healthy_passes_and_only_notes_skip() {
        let out = judge(&[Examined::Audited(audit(vec![]))], 50);
        assert_eq!(out.status, Status::Pass);
        assert_eq!(
            out.summary,
            "what the lockfiles lock is installed: /srv/shop (npm package-lock.json, 143 packages)"
        );
        let note = Examined::NotCompared {
            lockfile: Path::new("/srv/api/requirements.txt").into(),
            why: "no virtualenv found".into(),
        };
        let out = judge(&[note], 50);
        assert_eq!(out.status, Status::Skip);
        assert_eq!(
            out.summary,
            "nothing to compare: /srv/api/requirements.txt: not compared: no virtualenv found"
        );
    }
}
