//! `permissions`: modes under a web root against a policy (files 644, directories 755),
//! world-writable and setuid entries, and what the web server user cannot read — the
//! `index.php` at 600 that turns a site into 500s.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::findings::{Finding, Findings};
use super::tree::{
    Excludes, ONE_FILE_SYSTEM, OneOrMany, max_details, mode_field, mode_text, refused_note,
    stopped_early, walk_options,
};
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::Cause;
use crate::fixes::ModeFix;
use crate::sanitize;
use crate::shell::{shell_quote, shell_quote_path};
use crate::span::SpanError;
use crate::sys::users::{self, Access, EXEC, READ};
use crate::walk::{self, Entry, Meta, WalkError};

pub static KIND: Kind = Kind {
    name: "permissions",
    summary: "file and directory modes under a web root, and what the web server can read",
    why: "A file the web server cannot read (an index.php at 600 after an upload or a deploy as \
          another user) or a directory it cannot enter answers 403 or 500; world-writable or \
          setuid files under a web root are how sites get defaced, and PHP-FPM and suEXEC refuse \
          to run scripts with loose modes.",
    looks_at: "Every file and directory under `path`, without following symlinks: bits beyond \
               `file_mode`/`dir_mode`, world-writable entries, setuid/setgid files; with \
               `readable_by`, files that user cannot read and directories it cannot enter, worked \
               out from owner, group, mode and the user's groups (ACLs are not read) — including \
               the directories above the root, where a home directory at 700 locks the server out.",
    fixes: "The exact `chmod` for each finding; `sitedoctor fix --apply` applies the mode changes \
            inside the root (never through a symlink, never looser than the policy, never a file \
            with several hard links, never below a root another user can redirect or in a system \
            directory). Directories above the root and ownership are shown to change by hand.",
    field_docs: &[
        FieldDoc {
            name: "path",
            ty: "path or list of paths",
            default: "—",
            doc: "The web root(s) to scan (required).",
        },
        FieldDoc {
            name: "missing_ok",
            ty: "bool",
            default: "false",
            doc: "Skip roots that do not exist instead of reporting an error (`skip` when none exists).",
        },
        FieldDoc {
            name: "file_mode",
            ty: "octal string",
            default: "\"644\"",
            doc: "The loosest mode a file may have.",
        },
        FieldDoc {
            name: "dir_mode",
            ty: "octal string",
            default: "\"755\"",
            doc: "The loosest mode a directory may have.",
        },
        FieldDoc {
            name: "readable_by",
            ty: "user or list of users",
            default: "none",
            doc: "The web server user (name or uid); with a list, the first that exists on the host.",
        },
        FieldDoc {
            name: "owner",
            ty: "user",
            default: "none",
            doc: "Expected owner of every entry (`warn` otherwise).",
        },
        FieldDoc {
            name: "group",
            ty: "group",
            default: "none",
            doc: "Expected group of every entry (`warn` otherwise).",
        },
        FieldDoc {
            name: "exclude",
            ty: "list of globs",
            default: "[]",
            doc: "Entries to leave out: `*.log` matches names, `/abs/path` and `rel/path/**` match paths.",
        },
        ONE_FILE_SYSTEM,
        FieldDoc {
            name: "max_details",
            ty: "integer",
            default: "50",
            doc: "Findings shown; the totals per kind are always complete.",
        },
    ],
    example: r#"[[check]]
id = "webroot-modes"
kind = "permissions"
path = "/var/www/html"
file_mode = "644"
dir_mode = "755"
readable_by = "www-data"
exclude = ["*.log", "wp-content/cache/**"]
max_details = 50
"#,
    fields: super::fields_of::<PermissionsSpec>,
    build: super::build::<PermissionsSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PermissionsSpec {
    path: OneOrMany,
    #[serde(default)]
    missing_ok: bool,
    file_mode: Option<Spanned<String>>,
    dir_mode: Option<Spanned<String>>,
    readable_by: Option<OneOrMany>,
    owner: Option<String>,
    group: Option<String>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    one_file_system: Option<bool>,
    max_details: Option<Spanned<i64>>,
}

impl Spec for PermissionsSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        Ok(Arc::new(Permissions {
            roots: self.path.paths(),
            missing_ok: self.missing_ok,
            file_mode: mode_field(&self.file_mode, 0o644)?,
            dir_mode: mode_field(&self.dir_mode, 0o755)?,
            readable_by: self.readable_by.map(|r| r.0),
            owner: self.owner,
            group: self.group,
            exclude: Excludes::parse(&self.exclude)?,
            one_file_system: self.one_file_system.unwrap_or(true),
            max_details: max_details(&self.max_details)?,
        }))
    }
}

#[derive(Debug)]
struct Permissions {
    roots: Vec<PathBuf>,
    missing_ok: bool,
    file_mode: u32,
    dir_mode: u32,
    readable_by: Option<Vec<String>>,
    owner: Option<String>,
    group: Option<String>,
    exclude: Excludes,
    one_file_system: bool,
    max_details: usize,
}

type Sink<'s> = Option<&'s (dyn Fn(ModeFix<'_>) + Sync)>;

/// Everything a scan of all roots learned, beside the findings.
struct Scan {
    scanned: Vec<PathBuf>,
    missing: Vec<PathBuf>,
    entries: u64,
    complete: bool,
    notes: Vec<String>,
    /// Why `fix --apply` would change nothing below some root.
    refusals: Vec<String>,
    user: Option<Access>,
}

impl Permissions {
    fn resolve_user(&self) -> anyhow::Result<(Option<Access>, Option<String>)> {
        let Some(cands) = &self.readable_by else {
            return Ok((None, None));
        };
        match Access::first_existing(cands)? {
            Some(a) => Ok((Some(a), None)),
            None if cands.len() == 1 => {
                anyhow::bail!("readable_by: no user {:?} on this host", cands[0])
            }
            None => Ok((
                None,
                Some(format!(
                    "none of the users {} exists here, so readability was not checked",
                    cands.join(", ")
                )),
            )),
        }
    }

    fn scan(&self, ctx: &Ctx, findings: &Findings, sink: Sink<'_>) -> anyhow::Result<Scan> {
        let (user, note) = self.resolve_user()?;
        let owner = match &self.owner {
            Some(o) => Some(
                users::uid_of(o)?
                    .ok_or_else(|| anyhow::anyhow!("owner: no user {o:?} on this host"))?,
            ),
            None => None,
        };
        let group = match &self.group {
            Some(g) => Some(
                users::gid_of(g)?
                    .ok_or_else(|| anyhow::anyhow!("group: no group {g:?} on this host"))?,
            ),
            None => None,
        };
        let mut scan = Scan {
            scanned: vec![],
            missing: vec![],
            entries: 0,
            complete: true,
            notes: note.into_iter().collect(),
            refusals: vec![],
            user,
        };
        for configured in &self.roots {
            let root = match walk::Root::open(configured) {
                Ok(r) => r,
                Err(e) if e.errno == rustix::io::Errno::NOENT => {
                    scan.missing.push(configured.clone());
                    continue;
                }
                Err(e) => anyhow::bail!(e.describe()),
            };
            if !root.meta.is_dir() {
                anyhow::bail!("{} is not a directory", sanitize::path(configured));
            }
            if root.path != *configured {
                scan.notes.push(format!(
                    "{} is {}",
                    sanitize::path(configured),
                    sanitize::path(&root.path)
                ));
            }
            scan.refusals.extend(crate::fixes::refusal(&root));
            let blocked = match &scan.user {
                Some(u) => self.check_ancestors(&root.path, u, findings),
                None => false,
            };
            let visitor = PermVisitor {
                check: self,
                root: &root,
                user: scan.user.as_ref(),
                owner,
                group,
                findings,
                sink,
            };
            let opts = walk_options(ctx, self.one_file_system);
            let stats = walk::walk_root(&root, blocked, &visitor, &opts)
                .map_err(|e| anyhow::anyhow!(e.describe()))?;
            scan.entries += stats.entries;
            scan.complete &= stats.complete;
            scan.scanned.push(root.path);
        }
        Ok(scan)
    }

    /// Directories above the root that the user cannot enter: everything below is locked
    /// out. Reported with the fix, never applied (they are outside the root).
    fn check_ancestors(&self, root: &Path, user: &Access, findings: &Findings) -> bool {
        let mut blocked = false;
        for dir in root
            .ancestors()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            let Ok(m) = std::fs::metadata(dir) else {
                continue;
            };
            use std::os::unix::fs::MetadataExt;
            let perm = m.mode() & 0o7777;
            if user.allowed(perm, m.uid(), m.gid(), EXEC, true) {
                continue;
            }
            blocked = true;
            let who = if m.uid() == user.uid {
                "u"
            } else if user.groups.contains(&m.gid()) {
                "g"
            } else {
                "o"
            };
            let shown = sanitize::path(dir);
            findings.add(Finding {
                key: "above-root",
                label: "locked out above the root",
                status: Status::Fail,
                path: shown.clone(),
                what: format!(
                    "{} owned by {}, {} cannot enter it, so it cannot reach anything below (outside the root: change it by hand)",
                    mode_text(perm),
                    users::user_name(m.uid()),
                    user.name
                ),
                fix: Some(format!("chmod {who}+x {}", shell_quote_path(dir))),
                automatic: false,
            });
        }
        blocked
    }
}

struct PermVisitor<'a> {
    check: &'a Permissions,
    root: &'a walk::Root,
    user: Option<&'a Access>,
    owner: Option<u32>,
    group: Option<u32>,
    findings: &'a Findings,
    sink: Sink<'a>,
}

impl PermVisitor<'_> {
    /// The worst way a mode exceeds the policy: (key, label, status, noun, reason).
    #[allow(clippy::type_complexity)]
    fn classify(
        &self,
        m: &Meta,
        policy: u32,
    ) -> Option<(
        &'static str,
        &'static str,
        Status,
        &'static str,
        &'static str,
    )> {
        let perm = m.perm();
        let extra = perm & !policy;
        if extra == 0 {
            return None;
        }
        let noun = if m.is_dir() { "directory" } else { "file" };
        Some(if extra & 0o002 != 0 {
            (
                "world-writable",
                "world-writable",
                Status::Fail,
                noun,
                "world-writable",
            )
        } else if m.is_file() && extra & 0o6000 != 0 {
            (
                "setid",
                "setuid/setgid",
                Status::Fail,
                noun,
                "setuid/setgid",
            )
        } else {
            (
                "loose",
                "looser than the policy",
                Status::Warn,
                noun,
                "looser than the policy",
            )
        })
    }
}

impl walk::Visitor<bool> for PermVisitor<'_> {
    fn visit(&self, e: &Entry<'_>, blocked: bool) -> Option<bool> {
        let c = self.check;
        if e.depth > 0
            && !c.exclude.is_empty()
            && c.exclude.matches(&self.root.path, e.path, e.name)
        {
            return None;
        }
        let m = e.meta;
        let is_dir = m.is_dir();
        if !is_dir && !m.is_file() {
            return None; // symlinks are never followed; sockets and fifos have no policy
        }
        let perm = m.perm();
        let policy = if is_dir { c.dir_mode } else { c.file_mode };
        let mode_problem = self.classify(&m, policy);
        let need = if is_dir { EXEC } else { READ };
        let locked_out = !blocked
            && self
                .user
                .is_some_and(|u| !u.allowed(perm, m.uid, m.gid, need, is_dir));

        let mut to = perm & policy;
        if locked_out {
            to |= policy & if is_dir { 0o555 } else { 0o444 };
        }
        let mode_fix_works = self
            .user
            .is_none_or(|u| !locked_out || u.allowed(to, m.uid, m.gid, need, is_dir));
        let fix = (to != perm && mode_fix_works).then(|| ModeFix {
            at: e.at,
            name: e.at_name,
            path: e.path,
            meta: m,
            to,
            ceiling: policy,
            reason: mode_problem.map_or("unreadable by the web server", |p| p.4),
            root: self.root,
        });
        // Several hard links: the mode is shared with names that may lie anywhere.
        let by_hand = fix.as_ref().and_then(ModeFix::by_hand);

        if mode_problem.is_some() || locked_out || self.owner.is_some() || self.group.is_some() {
            let shown = sanitize::path(e.path);
            let chmod = fix.as_ref().map(|f| match &by_hand {
                Some(why) => format!("{} (by hand: {why})", f.command()),
                None => f.command(),
            });
            if let Some((key, label, status, noun, _)) = mode_problem {
                self.findings.add(Finding {
                    key,
                    label,
                    status,
                    path: shown.clone(),
                    what: format!("{} {noun}, policy {:o}", mode_text(perm), policy),
                    fix: chmod.clone(),
                    automatic: by_hand.is_none(),
                });
            }
            if locked_out && let Some(u) = self.user {
                let verb = if is_dir { "enter" } else { "read" };
                let manual = (!mode_fix_works).then(|| {
                    let bit = if is_dir { "x" } else { "r" };
                    format!(
                        "chgrp {} {q} && chmod g+{bit} {q}",
                        shell_quote(&users::group_name(*u.groups.first().unwrap_or(&0))),
                        q = shell_quote_path(e.path)
                    )
                });
                self.findings.add(Finding {
                    key: "unreadable",
                    label: "unreadable by the web server",
                    status: Status::Fail,
                    path: shown.clone(),
                    what: format!(
                        "{} cannot {verb} it ({}, owner {})",
                        u.name,
                        mode_text(perm),
                        users::user_name(m.uid)
                    ),
                    automatic: manual.is_none() && by_hand.is_none(),
                    fix: manual.or(chmod),
                });
            }
            let wrong_owner = self.owner.is_some_and(|o| o != m.uid);
            let wrong_group = self.group.is_some_and(|g| g != m.gid);
            if wrong_owner || wrong_group {
                let target = match (&c.owner, &c.group) {
                    (Some(o), Some(g)) => format!("{o}:{g}"),
                    (Some(o), None) => o.clone(),
                    (None, Some(g)) => format!(":{g}"),
                    (None, None) => unreachable!(),
                };
                self.findings.add(Finding {
                    key: "owner",
                    label: "with another owner or group",
                    status: Status::Warn,
                    path: shown.clone(),
                    what: format!(
                        "owned by {}:{}",
                        users::user_name(m.uid),
                        users::group_name(m.gid)
                    ),
                    fix: Some(format!(
                        "chown {} {}",
                        shell_quote(&target),
                        shell_quote_path(e.path)
                    )),
                    automatic: false,
                });
            }
        }
        if let (Some(sink), Some(f)) = (self.sink, fix) {
            sink(f);
        }
        is_dir.then_some(blocked || (locked_out && is_dir))
    }

    fn error(&self, error: WalkError) {
        self.findings.unchecked(&error);
    }
}

fn joined(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| sanitize::path(p))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Check for Permissions {
    fn tree_scope(&self) -> Option<super::TreeScope<'_>> {
        Some(super::TreeScope {
            roots: self.roots.clone(),
            exclude: &self.exclude,
            one_file_system: self.one_file_system,
        })
    }

    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let findings = Findings::recording(self.max_details, Cause::Permissions);
        let scan = self.scan(ctx, &findings, None)?;
        if scan.scanned.is_empty() {
            let missing = joined(&scan.missing);
            if self.missing_ok {
                return Ok(Outcome::skip(format!(
                    "no web root here: none of {missing} exists"
                )));
            }
            anyhow::bail!("cannot read {missing}: No such file or directory");
        }
        let where_ = format!("under {}", joined(&scan.scanned));
        let readable = scan
            .user
            .as_ref()
            .map_or(String::new(), |u| format!(", and {} can read them", u.name));
        let clean = format!(
            "{} entries {where_} are within {:o}/{:o}{readable}",
            scan.entries, self.file_mode, self.dir_mode
        );
        let mut out = findings.into_outcome(&ctx.id, clean, &where_);
        out.metrics
            .insert(0, Metric::new("entries", scan.entries as f64, ""));
        for n in &scan.notes {
            out.details.push(n.clone());
        }
        if out.fix.is_some() {
            out.details
                .extend(scan.refusals.iter().map(|r| refused_note(r)));
        }
        if !scan.missing.is_empty() && !self.missing_ok {
            out.status = out.status.worse(Status::Error);
            out.details
                .push(format!("{} does not exist", joined(&scan.missing)));
        }
        if !scan.complete {
            out.status = out.status.worse(Status::Warn);
            out.details.push(stopped_early(scan.entries));
        }
        Ok(out)
    }

    fn mode_fixes(&self, ctx: &Ctx, sink: &(dyn Fn(ModeFix<'_>) + Sync)) -> anyhow::Result<bool> {
        let scan = self.scan(ctx, &Findings::new(0), Some(sink))?;
        if !scan.complete {
            anyhow::bail!(stopped_early(scan.entries));
        }
        Ok(true)
    }
}
