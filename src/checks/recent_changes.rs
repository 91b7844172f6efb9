//! `recent_changes`: files modified within a window, newest first — "what changed since it
//! last worked" in one glance.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use toml::Spanned;

use super::tree::Excludes;
use super::tree::{max_details, walk_options};
use super::{Check, FieldDoc, Kind, Spec, worktree};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::sanitize;
use crate::span::SpanError;
use crate::units::{Dur, fmt_age, fmt_bytes};
use crate::walk::{self, Entry, WalkError};

pub static KIND: Kind = Kind {
    name: "recent_changes",
    summary: "files changed within a time window, newest first",
    why: "Most sudden 500s follow a change: a deploy, an upload, an edited config, a plugin \
          update. The newest files point at what changed since the site last worked.",
    looks_at: "Modification times of the files under `path` (symlinks not followed).",
    fixes: "Review the newest changes: revert the deploy or the edit that broke the site, or \
            compare them with the release (`git status`, `git diff`).",
    field_docs: &[
        FieldDoc {
            name: "path",
            ty: "path",
            default: "—",
            doc: "Where to look (required).",
        },
        FieldDoc {
            name: "window",
            ty: "duration",
            default: "\"24h\"",
            doc: "How far back a change counts.",
        },
        FieldDoc {
            name: "warn_if_changed",
            ty: "bool",
            default: "false",
            doc: "`warn` when anything changed (otherwise informational `pass`).",
        },
        FieldDoc {
            name: "exclude",
            ty: "list of globs",
            default: "[]",
            doc: "Entries to leave out (caches, logs), as for `permissions`.",
        },
        FieldDoc {
            name: "max_details",
            ty: "integer",
            default: "50",
            doc: "Changed files listed; the count is always complete.",
        },
    ],
    example: r#"[[check]]
id = "recent-changes"
kind = "recent_changes"
path = "/var/www/html"
window = "24h"
exclude = ["cache", "*.log"]
"#,
    fields: super::fields_of::<RecentSpec>,
    build: super::build::<RecentSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecentSpec {
    path: PathBuf,
    window: Option<Dur>,
    #[serde(default)]
    warn_if_changed: bool,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    max_details: Option<Spanned<i64>>,
}

impl Spec for RecentSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        Ok(Arc::new(Recent {
            path: self.path,
            window: self.window.map_or(Duration::from_secs(24 * 3600), |d| d.0),
            warn_if_changed: self.warn_if_changed,
            exclude: Excludes::parse(&self.exclude)?,
            max_details: max_details(&self.max_details)?,
        }))
    }
}

#[derive(Debug)]
struct Recent {
    path: PathBuf,
    window: Duration,
    warn_if_changed: bool,
    exclude: Excludes,
    max_details: usize,
}

struct RecentVisitor<'a> {
    check: &'a Recent,
    since: i64,
    count: AtomicU64,
    /// The newest changes: (mtime, path, size), at most max_details of them.
    newest: Mutex<BTreeSet<(i64, PathBuf, u64)>>,
    errors: Mutex<Vec<String>>,
}

impl walk::Visitor<()> for RecentVisitor<'_> {
    fn visit(&self, e: &Entry<'_>, _: ()) -> Option<()> {
        if e.depth > 0
            && !self.check.exclude.is_empty()
            && self.check.exclude.matches(&self.check.path, e.path, e.name)
        {
            return None;
        }
        if e.meta.is_file() && e.meta.mtime >= self.since {
            self.count.fetch_add(1, Ordering::Relaxed);
            let mut n = self.newest.lock().expect("lock");
            let key = (e.meta.mtime, e.path.to_path_buf(), e.meta.size);
            if n.len() < self.check.max_details {
                n.insert(key);
            } else if n.first().is_some_and(|f| *f < key) {
                n.pop_first();
                n.insert(key);
            }
        }
        e.meta.is_dir().then_some(())
    }

    fn error(&self, error: WalkError) {
        self.errors.lock().expect("lock").push(error.describe());
    }
}

/// `2026-11-29 19:02:11 UTC`.
fn stamp(mtime: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(mtime.max(0) as u64);
    humantime::format_rfc3339_seconds(t)
        .to_string()
        .replace('T', " ")
        .replace('Z', " UTC")
}

/// A changed file as a finding: `/srv/www/index.php modified 5m ago (2026-11-29 19:02:11
/// UTC), 1.2 KiB`, with the git commands that show and take back the change when it lies
/// in a checkout.
fn changed(
    path: &Path,
    mtime: i64,
    size: u64,
    now: i64,
    status: Status,
    git: Option<String>,
) -> Finding {
    let shown = sanitize::path(path);
    let text = format!(
        "{shown} modified {} ({}), {}",
        fmt_age(now - mtime),
        stamp(mtime),
        fmt_bytes(size)
    );
    let mut f = Finding::new(Subject::path(shown), Cause::Deploy, status, text);
    if let Some(git) = git {
        f = f.fix(git);
    }
    f.at(mtime)
}

impl Check for Recent {
    fn tree_scope(&self) -> Option<super::TreeScope<'_>> {
        Some(super::TreeScope {
            roots: vec![self.path.clone()],
            exclude: &self.exclude,
            one_file_system: true,
        })
    }

    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let v = RecentVisitor {
            check: self,
            since: now - self.window.as_secs() as i64,
            count: AtomicU64::new(0),
            newest: Mutex::new(BTreeSet::new()),
            errors: Mutex::new(Vec::new()),
        };
        let opts = walk_options(ctx, true);
        let stats =
            walk::walk(&self.path, (), &v, &opts).map_err(|e| anyhow::anyhow!(e.describe()))?;
        let count = v.count.load(Ordering::Relaxed);
        let window = crate::units::fmt_duration(self.window);
        let shown = sanitize::path(&self.path);
        let mut out = Outcome::pass(match count {
            0 => format!("no files under {shown} changed in the last {window}"),
            n => format!("{n} file(s) under {shown} changed in the last {window}"),
        })
        .metric(
            Metric::new("changed_files", count as f64, "")
                .thresholds(self.warn_if_changed.then_some(1.0), None),
        )
        .metric(Metric::new("entries", stats.entries as f64, ""));
        // A change is a problem on its own only where changes are not expected.
        let status = if self.warn_if_changed {
            Status::Warn
        } else {
            Status::Pass
        };
        let mut trees = worktree::Finder::new(&self.path);
        let mut lookups = 0;
        for (mtime, path, size) in v.newest.into_inner().expect("lock").into_iter().rev() {
            let tree = trees.find(&path);
            let git = tree.as_ref().and_then(|t| t.fix(&path));
            let mut f = changed(&path, mtime, size, now, status, git);
            // The newest few: the commit that last touched each, read as the work tree's
            // owner where nobody else can change the tree (else only the commands are
            // shown), within what is left of the time.
            if let Some(t) = &tree
                && lookups < worktree::MAX_LOOKUPS
                && ctx.remaining() > std::time::Duration::from_millis(300)
            {
                lookups += 1;
                let budget = (ctx.remaining() / 4).min(std::time::Duration::from_secs(2));
                if let Some(commit) = t.last_commit(&path, budget) {
                    f.text = format!("{}; last commit {commit}", f.text);
                }
            }
            out.push_finding(f);
        }
        if count as usize > self.max_details {
            out.details.push(format!(
                "… {} older changes not shown (max_details = {})",
                count as usize - self.max_details,
                self.max_details
            ));
        }
        let errors = v.errors.into_inner().expect("lock");
        if !errors.is_empty() {
            out.status = Status::Warn;
            out.details
                .extend(errors.iter().take(self.max_details.max(1)).cloned());
        }
        if !stats.complete {
            out.status = Status::Warn;
            out.details.push(format!(
                "the scan stopped at the time limit after {} entries: raise `timeout`",
                stats.entries
            ));
        }
        if self.warn_if_changed && count > 0 {
            out.status = Status::Warn;
            out = out.fix(format!(
                "review the newest changes above; if they broke the site, revert them (redeploy the last release, or `git -C {} status` / `git diff`)",
                crate::shell::shell_quote_path(&self.path)
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_as_a_sentence_about_its_file() {
        let f = changed(Path::new("/srv/a.php"), 0, 1536, 90, Status::Pass, None);
        assert_eq!(f.subject, Subject::path("/srv/a.php"));
        assert_eq!(
            (f.cause, f.status, f.at),
            (Cause::Deploy, Status::Pass, Some(0))
        );
        assert_eq!(
            f.text,
            "/srv/a.php modified 1 min 30 s ago (1970-01-01 00:00:00 UTC), 1.5 KiB"
        );
        assert_eq!(f.fix, None);
        let f = changed(
            Path::new("/srv/a.php"),
            100,
            0,
            50,
            Status::Warn,
            Some("git …\ngit …".into()),
        );
        assert!(
            f.text
                .contains("modified in the future (1970-01-01 00:01:40 UTC)"),
            "{}",
            f.text
        );
        // Two commands: the evidence line stays the sentence alone.
        assert_eq!(f.detail(), f.text);
        assert_eq!(f.status, Status::Warn);
        let long_ago = changed(Path::new("/a"), 0, 0, 7_300, Status::Pass, None);
        assert!(
            long_ago.text.contains("modified 2 h 1 min ago"),
            "{}",
            long_ago.text
        );
    }
}
