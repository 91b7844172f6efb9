//! `world_writable`: files anyone can change, and world-writable directories without the
//! sticky bit, in the places a web server reads from.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::findings::{Finding, Findings};
use super::tree::{Excludes, ONE_FILE_SYSTEM, OneOrMany, mode_text};
use super::tree::{max_details, refused_note, stopped_early, walk_options};
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::Cause;
use crate::fixes::ModeFix;
use crate::sanitize;
use crate::span::SpanError;
use crate::walk::{self, Entry, WalkError};

/// Scanned when no `paths` are given, those that exist.
const DEFAULT_PATHS: &[&str] = &["/var/www", "/srv", "/etc", "/usr/local"];

pub static KIND: Kind = Kind {
    name: "world_writable",
    summary: "world-writable files, and world-writable directories without the sticky bit",
    why: "Anyone on the host — any other site, any compromised process — can change a \
          world-writable file: a script, a config, an .htaccess. It is how sites get defaced, \
          and a changed config is a classic sudden 500.",
    looks_at: "Every entry under `paths` (default: those of /var/www, /srv, /etc and /usr/local \
               that exist), without following symlinks: files with o+w, and directories with o+w \
               but no sticky bit (with it, as on /tmp, people can only remove their own files).",
    fixes: "`chmod o-w` on each; `sitedoctor fix --apply` applies them inside the scanned paths.",
    field_docs: &[
        FieldDoc {
            name: "paths",
            ty: "list of paths",
            default: "those of /var/www, /srv, /etc, /usr/local that exist",
            doc: "Where to look.",
        },
        FieldDoc {
            name: "missing_ok",
            ty: "bool",
            default: "false",
            doc: "Leave out `paths` that do not exist instead of reporting an error.",
        },
        FieldDoc {
            name: "exclude",
            ty: "list of globs",
            default: "[]",
            doc: "Entries to leave out, as for `permissions`.",
        },
        ONE_FILE_SYSTEM,
        FieldDoc {
            name: "max_details",
            ty: "integer",
            default: "50",
            doc: "Findings shown; totals are always complete.",
        },
    ],
    example: r#"[[check]]
id = "world-writable"
kind = "world_writable"
paths = ["/var/www", "/etc"]
exclude = ["/var/www/html/tmp"]
"#,
    fields: super::fields_of::<WorldWritableSpec>,
    build: super::build::<WorldWritableSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorldWritableSpec {
    paths: Option<OneOrMany>,
    #[serde(default)]
    missing_ok: bool,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    one_file_system: Option<bool>,
    max_details: Option<Spanned<i64>>,
}

impl Spec for WorldWritableSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        Ok(Arc::new(WorldWritable {
            paths: self.paths.map(|p| p.paths()),
            missing_ok: self.missing_ok,
            exclude: Excludes::parse(&self.exclude)?,
            one_file_system: self.one_file_system.unwrap_or(true),
            max_details: max_details(&self.max_details)?,
        }))
    }
}

#[derive(Debug)]
struct WorldWritable {
    paths: Option<Vec<PathBuf>>,
    missing_ok: bool,
    exclude: Excludes,
    one_file_system: bool,
    max_details: usize,
}

struct WwVisitor<'a> {
    root: &'a walk::Root,
    exclude: &'a Excludes,
    findings: &'a Findings,
    sink: Option<&'a (dyn Fn(ModeFix<'_>) + Sync)>,
}

impl walk::Visitor<()> for WwVisitor<'_> {
    fn visit(&self, e: &Entry<'_>, _: ()) -> Option<()> {
        if e.depth > 0
            && !self.exclude.is_empty()
            && self.exclude.matches(&self.root.path, e.path, e.name)
        {
            return None;
        }
        let m = e.meta;
        let perm = m.perm();
        let writable = perm & 0o002 != 0;
        let (bad, noun) = if m.is_dir() {
            (
                writable && perm & 0o1000 == 0,
                "directory without the sticky bit",
            )
        } else {
            (writable && m.is_file(), "file")
        };
        if bad {
            let fix = ModeFix {
                at: e.at,
                name: e.at_name,
                path: e.path,
                meta: m,
                to: perm & !0o002,
                // Anything but o+w: merged with another check's fix, that one decides the rest.
                ceiling: 0o7777 & !0o002,
                reason: "world-writable",
                root: self.root,
            };
            let by_hand = fix.by_hand();
            self.findings.add(Finding {
                key: "world-writable",
                label: "world-writable",
                status: Status::Fail,
                path: sanitize::path(e.path),
                what: format!("{} {noun}", mode_text(perm)),
                fix: Some(match &by_hand {
                    Some(why) => format!("{} (by hand: {why})", fix.command()),
                    None => fix.command(),
                }),
                automatic: by_hand.is_none(),
            });
            if let Some(sink) = self.sink {
                sink(fix);
            }
        }
        m.is_dir().then_some(())
    }

    fn error(&self, error: WalkError) {
        self.findings.unchecked(&error);
    }
}

impl WorldWritable {
    /// The paths to scan, resolved and open; missing ones are left out when that is allowed.
    fn roots(&self) -> anyhow::Result<Vec<walk::Root>> {
        let (paths, missing_ok) = match &self.paths {
            Some(p) => (p.clone(), self.missing_ok),
            None => (DEFAULT_PATHS.iter().map(PathBuf::from).collect(), true),
        };
        let mut roots = Vec::new();
        for p in &paths {
            match walk::Root::open(p) {
                Ok(r) => roots.push(r),
                Err(e) if missing_ok && e.errno == rustix::io::Errno::NOENT => {}
                Err(e) => anyhow::bail!(e.describe()),
            }
        }
        Ok(roots)
    }

    /// Scan every root; returns the roots scanned (resolved), entries seen and whether it
    /// finished.
    fn scan(
        &self,
        ctx: &Ctx,
        findings: &Findings,
        sink: Option<&(dyn Fn(ModeFix<'_>) + Sync)>,
    ) -> anyhow::Result<Scan> {
        let roots = self.roots()?;
        let mut scan = Scan {
            roots: Vec::new(),
            notes: Vec::new(),
            refusals: Vec::new(),
            entries: 0,
            complete: true,
        };
        for root in &roots {
            let v = WwVisitor {
                root,
                exclude: &self.exclude,
                findings,
                sink,
            };
            let opts = walk_options(ctx, self.one_file_system);
            let stats =
                walk::walk_root(root, (), &v, &opts).map_err(|e| anyhow::anyhow!(e.describe()))?;
            scan.entries += stats.entries;
            scan.complete &= stats.complete;
            scan.refusals.extend(crate::fixes::refusal(root));
            if root.path != root.configured {
                scan.notes.push(format!(
                    "{} is {}",
                    sanitize::path(&root.configured),
                    sanitize::path(&root.path)
                ));
            }
        }
        scan.roots = roots.into_iter().map(|r| r.path).collect();
        Ok(scan)
    }
}

/// What a scan of all paths learned, beside the findings.
struct Scan {
    roots: Vec<PathBuf>,
    notes: Vec<String>,
    /// Why `fix --apply` would change nothing below some path.
    refusals: Vec<String>,
    entries: u64,
    complete: bool,
}

impl Check for WorldWritable {
    /// Only the paths the configuration names: the default ones (/etc, /usr/local) are the
    /// system's, not a site's.
    fn tree_scope(&self) -> Option<super::TreeScope<'_>> {
        Some(super::TreeScope {
            roots: self.paths.clone()?,
            exclude: &self.exclude,
            one_file_system: self.one_file_system,
        })
    }

    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let findings = Findings::recording(self.max_details, Cause::Permissions);
        let scan = self.scan(ctx, &findings, None)?;
        let (roots, entries) = (&scan.roots, scan.entries);
        if roots.is_empty() {
            let looked: Vec<String> = match &self.paths {
                Some(p) => p.iter().map(|p| sanitize::path(p)).collect(),
                None => DEFAULT_PATHS.iter().map(|p| p.to_string()).collect(),
            };
            return Ok(Outcome::skip(format!(
                "none of {} exists here",
                looked.join(", ")
            )));
        }
        let shown: Vec<String> = roots.iter().map(|p| sanitize::path(p)).collect();
        let where_ = format!("under {}", shown.join(", "));
        let mut out = findings.into_outcome(
            &ctx.id,
            format!("no world-writable entries among {entries} {where_}"),
            &where_,
        );
        out.metrics
            .insert(0, Metric::new("entries", entries as f64, ""));
        out.details.extend(scan.notes);
        if out.fix.is_some() {
            out.details
                .extend(scan.refusals.iter().map(|r| refused_note(r)));
        }
        if !scan.complete {
            out.status = out.status.worse(Status::Warn);
            out.details.push(stopped_early(entries));
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
