//! `disk`: space and inodes per mount. A full disk makes uploads, sessions, caches and logs
//! fail, and the app answers 500.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::{Check, FieldDoc, Kind, Spec, check_order};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::sanitize;
use crate::span::SpanError;
use crate::sys::mounts;
use crate::units::{Level, fmt_bytes};

pub static KIND: Kind = Kind {
    name: "disk",
    summary: "free space and inodes on each mounted filesystem",
    why: "A full filesystem (or one out of inodes) makes every write fail: PHP sessions, uploads, \
          caches and even the error log itself. The app then answers 500, often with nothing logged.",
    looks_at: "statvfs() of each path: used space as `df` counts it (reserved blocks excluded) and \
               used inodes. Without `paths`, every real local mount — not proc/sys/dev pseudo \
               filesystems, read-only images or bind mounts of the same filesystem.",
    fixes: "Free space where this host has something to free: the systemd journal \
            (`journalctl --vacuum-size`), the package cache (`apt-get clean`), rotated logs; the \
            largest directories under the mount are listed when they can be found in time.",
    field_docs: &[
        FieldDoc {
            name: "paths",
            ty: "list of paths",
            default: "every real local mount",
            doc: "Mounts or any paths on them to check.",
        },
        FieldDoc {
            name: "warn",
            ty: "percent or size",
            default: "\"85%\"",
            doc: "Warn when used space exceeds this share, or when less than this size is free.",
        },
        FieldDoc {
            name: "fail",
            ty: "percent or size",
            default: "\"95%\"",
            doc: "Fail likewise.",
        },
        FieldDoc {
            name: "inodes_warn",
            ty: "percent",
            default: "\"85%\"",
            doc: "Warn when this share of inodes is used.",
        },
        FieldDoc {
            name: "inodes_fail",
            ty: "percent",
            default: "\"95%\"",
            doc: "Fail likewise.",
        },
    ],
    example: r#"[[check]]
id = "disk"
kind = "disk"
paths = ["/", "/var"]
warn = "85%"
fail = "2GiB"          # or: fail when less than 2 GiB is free
inodes_warn = "85%"
inodes_fail = "95%"
"#,
    fields: super::fields_of::<DiskSpec>,
    build: super::build::<DiskSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiskSpec {
    paths: Option<Vec<PathBuf>>,
    warn: Option<Spanned<Level>>,
    fail: Option<Spanned<Level>>,
    inodes_warn: Option<Spanned<Level>>,
    inodes_fail: Option<Spanned<Level>>,
}

impl Spec for DiskSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let warn = self.warn.or(Some(Spanned::new(0..0, Level::Percent(85.0))));
        let fail = self.fail.or(Some(Spanned::new(0..0, Level::Percent(95.0))));
        check_order(&warn, &fail, true, "used space")?;
        for l in [&self.inodes_warn, &self.inodes_fail].into_iter().flatten() {
            if !matches!(l.get_ref(), Level::Percent(_)) {
                return Err(SpanError::new(
                    l.span(),
                    "inode thresholds are percentages, like \"90%\"",
                ));
            }
        }
        let iw = self
            .inodes_warn
            .or(Some(Spanned::new(0..0, Level::Percent(85.0))));
        let ifl = self
            .inodes_fail
            .or(Some(Spanned::new(0..0, Level::Percent(95.0))));
        check_order(&iw, &ifl, true, "inodes")?;
        let unwrap =
            |l: Option<Spanned<Level>>| l.map(Spanned::into_inner).unwrap_or(Level::Percent(0.0));
        Ok(Arc::new(Disk {
            paths: self.paths,
            warn: unwrap(warn),
            fail: unwrap(fail),
            inodes_warn: unwrap(iw).as_percent_of(100),
            inodes_fail: unwrap(ifl).as_percent_of(100),
        }))
    }
}

#[derive(Debug)]
struct Disk {
    paths: Option<Vec<PathBuf>>,
    warn: Level,
    fail: Level,
    inodes_warn: f64,
    inodes_fail: f64,
}

/// What statvfs says about one filesystem.
struct Usage {
    total: u64,
    free: u64,
    used_pct: f64,
    inodes_pct: Option<f64>,
}

fn usage(path: &Path) -> anyhow::Result<Usage> {
    let s = rustix::fs::statvfs(path)
        .map_err(|e| crate::sys::denied_or(path, &std::io::Error::from(e)))?;
    let frsize = s.f_frsize;
    let blocks = s.f_blocks;
    let bfree = s.f_bfree;
    let bavail = s.f_bavail;
    let used = blocks.saturating_sub(bfree);
    // Like df: the share of what non-root users can have, reserved blocks excluded.
    let usable = used + bavail;
    let used_pct = if usable == 0 {
        0.0
    } else {
        used as f64 * 100.0 / usable as f64
    };
    let files = s.f_files;
    let inodes_pct =
        (files > 0).then(|| files.saturating_sub(s.f_ffree) as f64 * 100.0 / files as f64);
    Ok(Usage {
        total: usable * frsize,
        free: bavail * frsize,
        used_pct,
        inodes_pct,
    })
}

impl Disk {
    fn judge_space(&self, u: &Usage) -> Status {
        // A size threshold means "less than this left".
        let over = |l: Level| match l {
            Level::Percent(p) => u.used_pct >= p,
            Level::Bytes(b) => u.free < b,
        };
        if over(self.fail) {
            Status::Fail
        } else if over(self.warn) {
            Status::Warn
        } else {
            Status::Pass
        }
    }

    fn judge_inodes(&self, pct: Option<f64>) -> Status {
        match pct {
            Some(p) if p >= self.inodes_fail => Status::Fail,
            Some(p) if p >= self.inodes_warn => Status::Warn,
            _ => Status::Pass,
        }
    }
}

impl Check for Disk {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let all_mounts = mounts::read();
        let targets: Vec<PathBuf> = match &self.paths {
            Some(p) => p.clone(),
            None => {
                let real =
                    mounts::real_local(all_mounts.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?);
                if real.is_empty() {
                    return Ok(Outcome::skip("no local writable filesystems found"));
                }
                real.into_iter().map(|m| m.point).collect()
            }
        };

        let mut worst = Status::Pass;
        let mut headline: Option<(Status, f64, String)> = None;
        let mut out = Outcome::pass("");
        let mut errors = Vec::new();
        let mut troubled: Vec<(PathBuf, Usage)> = Vec::new();
        for path in &targets {
            let shown = sanitize::path(path);
            let u = match usage(path) {
                Ok(u) => u,
                Err(e) => {
                    errors.push(format!("{e:#}"));
                    continue;
                }
            };
            let space = self.judge_space(&u);
            let inodes = self.judge_inodes(u.inodes_pct);
            let status = space.worse(inodes);
            worst = worst.worse(status);
            let inode_text = u
                .inodes_pct
                .map_or("inodes n/a".to_string(), |p| format!("inodes {p:.0}% used"));
            let line = format!(
                "{shown}: {:.0}% used, {} free of {}; {inode_text}",
                u.used_pct,
                fmt_bytes(u.free),
                fmt_bytes(u.total)
            );
            if status.is_ok() {
                out.details.push(line);
            } else {
                let point = mount_point(all_mounts.as_deref().unwrap_or_default(), path);
                let inodes_worse = inodes.rank() > space.rank();
                out.push_finding(full_mount(&point, &shown, line, status, inodes_worse));
            }
            out.metrics.push(
                Metric::new("used_percent", round1(u.used_pct), "%")
                    .label("path", &shown)
                    .thresholds(
                        Some(used_pct_threshold(self.warn, u.total)),
                        Some(used_pct_threshold(self.fail, u.total)),
                    ),
            );
            out.metrics
                .push(Metric::new("free_bytes", u.free as f64, "B").label("path", &shown));
            if let Some(p) = u.inodes_pct {
                out.metrics.push(
                    Metric::new("inodes_used_percent", round1(p), "%")
                        .label("path", &shown)
                        .thresholds(Some(self.inodes_warn), Some(self.inodes_fail)),
                );
            }
            // The summary names the worst path; on equal status the fuller one.
            let score = if inodes.rank() > space.rank() {
                u.inodes_pct.unwrap_or(0.0)
            } else {
                u.used_pct
            };
            let what = if inodes.rank() > space.rank() {
                format!(
                    "{shown} has {:.0}% of its inodes used",
                    u.inodes_pct.unwrap_or(0.0)
                )
            } else {
                format!(
                    "{shown} is {:.0}% full ({} free)",
                    u.used_pct,
                    fmt_bytes(u.free)
                )
            };
            if headline
                .as_ref()
                .is_none_or(|(s, sc, _)| status.rank() > s.rank() || (status == *s && score > *sc))
            {
                headline = Some((status, score, what));
            }
            if !status.is_ok() {
                troubled.push((path.clone(), u));
            }
        }

        if !errors.is_empty() {
            for e in &errors {
                out.details.push(e.clone());
            }
            if headline.is_none() {
                out.status = Status::Error;
                out.summary = errors[0].clone();
                return Ok(out);
            }
            worst = worst.worse(Status::Error);
        }
        out.status = worst;
        let (_, _, what) = headline.expect("at least one path was measured");
        out.summary = match worst {
            Status::Pass => format!(
                "{} filesystem(s) have room; fullest: {what}",
                targets.len() - errors.len()
            ),
            Status::Error => format!("{what}; {} path(s) could not be checked", errors.len()),
            _ => what,
        };
        if !troubled.is_empty() {
            out.fix = Some(crate::check::Fix {
                text: free_space_advice(&troubled, all_mounts.as_deref().unwrap_or_default(), ctx),
                automatic: false,
            });
        }
        Ok(out)
    }
}

/// A threshold as the used-space percentage it means on a filesystem of `total` bytes.
fn used_pct_threshold(level: Level, total: u64) -> f64 {
    match level {
        Level::Percent(p) => p,
        Level::Bytes(b) => round1(100.0 - (b as f64 * 100.0 / total.max(1) as f64).min(100.0)),
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Concrete ways to free space on the troubled filesystems, from what exists on this host.
fn free_space_advice(
    troubled: &[(PathBuf, Usage)],
    mounts_all: &[mounts::Mount],
    ctx: &Ctx,
) -> String {
    let mut lines = Vec::new();
    let on_troubled = |p: &Path| -> bool {
        let Some(m) = mounts::mount_of(mounts_all, p) else {
            return false;
        };
        troubled
            .iter()
            .any(|(t, _)| mounts::mount_of(mounts_all, t).is_some_and(|tm| tm.point == m.point))
    };
    let size_of = |p: &Path, budget: Duration| dir_size(p, Instant::now() + budget).0;
    if Path::new("/var/log/journal").is_dir() && on_troubled(Path::new("/var/log/journal")) {
        let sz = size_of(Path::new("/var/log/journal"), Duration::from_millis(300));
        if sz > 1 << 20 {
            lines.push(format!(
                "journalctl --vacuum-size=200M    # the systemd journal holds {}",
                fmt_bytes(sz)
            ));
        }
    }
    for (dir, cmd) in [
        ("/var/cache/apt/archives", "apt-get clean"),
        ("/var/cache/dnf", "dnf clean all"),
        ("/var/cache/yum", "yum clean all"),
    ] {
        if Path::new(dir).is_dir() && on_troubled(Path::new(dir)) {
            let sz = size_of(Path::new(dir), Duration::from_millis(300));
            if sz > 1 << 20 {
                lines.push(format!(
                    "{cmd}    # the package cache holds {}",
                    fmt_bytes(sz)
                ));
            }
        }
    }
    if Path::new("/var/log").is_dir() && on_troubled(Path::new("/var/log")) {
        let rotated = rotated_logs(
            Path::new("/var/log"),
            Instant::now() + Duration::from_millis(300),
        );
        if rotated > 0 {
            lines.push(format!(
                "find /var/log -type f \\( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \\) -delete    # rotated logs hold {}",
                fmt_bytes(rotated)
            ));
        }
    }
    // Spend at most half of what is left on finding the largest directories. Each
    // filesystem is looked into from its own mount point: `du -x /` stops at the mounts
    // below `/`, so it can never show what fills them.
    let mut points: Vec<PathBuf> = Vec::new();
    for (path, _) in troubled {
        let point = mount_point(mounts_all, path);
        if !points.contains(&point) {
            points.push(point);
        }
    }
    let budget = ctx.remaining() / 2;
    for point in &points {
        let deadline = Instant::now() + budget / points.len() as u32;
        let (largest, complete) = largest_dirs(point, deadline);
        if largest.is_empty() {
            lines.push(format!(
                "{}    # find what fills it, then remove or move it",
                du_command(point, false)
            ));
            continue;
        }
        let note = if complete {
            ""
        } else {
            " (scan stopped early; sizes are at least)"
        };
        lines.push(format!(
            "largest directories under {}{note}:",
            sanitize::path(point)
        ));
        for (dir, size) in largest {
            lines.push(format!(
                "  {:>10}  {}",
                fmt_bytes(size),
                sanitize::path(&dir)
            ));
        }
        lines.push(format!("see more: {}", du_command(point, false)));
    }
    lines.join("\n")
}

/// The mount point of the filesystem that holds `path` (the path itself when the mount
/// table cannot say: the path was given as a mount).
fn mount_point(mounts_all: &[mounts::Mount], path: &Path) -> PathBuf {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    mounts::mount_of(mounts_all, &real).map_or(real, |m| m.point.clone())
}

/// The command that shows what fills a filesystem, run on its mount point so that it
/// looks inside that filesystem and only there.
fn du_command(point: &Path, inodes: bool) -> String {
    let q = crate::shell::shell_quote_path(point);
    if inodes {
        format!("du --inodes -x --max-depth=2 {q} | sort -n | tail -20")
    } else {
        format!("du -xh --max-depth=2 {q} | sort -h | tail -20")
    }
}

/// The finding of a filesystem over a threshold: about its mount, with the command that
/// looks inside it. `line` is what the report shows for the measured path.
fn full_mount(point: &Path, shown: &str, line: String, status: Status, inodes: bool) -> Finding {
    let mount = sanitize::path(point);
    let text = if mount == shown {
        line
    } else {
        format!("{line} (the filesystem mounted at {mount})")
    };
    Finding::new(Subject::Mount { mount }, Cause::Resources, status, text)
        .fix(du_command(point, inodes))
}

/// Total size of regular files below `dir` (one filesystem), and whether the walk finished.
fn dir_size(dir: &Path, deadline: Instant) -> (u64, bool) {
    let mut total = 0u64;
    for (i, entry) in walkdir::WalkDir::new(dir)
        .same_file_system(true)
        .into_iter()
        .enumerate()
    {
        if i % 256 == 0 && Instant::now() >= deadline {
            return (total, false);
        }
        if let Ok(e) = entry
            && let Ok(m) = e.metadata()
            && m.is_file()
        {
            total += std::os::unix::fs::MetadataExt::blocks(&m) * 512;
        }
    }
    (total, true)
}

fn rotated_logs(dir: &Path, deadline: Instant) -> u64 {
    let mut total = 0;
    for (i, entry) in walkdir::WalkDir::new(dir)
        .same_file_system(true)
        .into_iter()
        .enumerate()
    {
        if i % 256 == 0 && Instant::now() >= deadline {
            break;
        }
        let Ok(e) = entry else { continue };
        let name = e.file_name().to_string_lossy();
        let rotated = name.ends_with(".gz")
            || name.ends_with(".old")
            || name
                .rsplit('.')
                .next()
                .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
        if rotated
            && let Ok(m) = e.metadata()
            && m.is_file()
        {
            total += m.len();
        }
    }
    total
}

/// The five largest directories one and two levels below `root`, by the size of what they
/// hold, within the time budget. Each top-level directory gets a fair share of the time
/// left, so an early stop still covers all of them.
fn largest_dirs(root: &Path, deadline: Instant) -> (Vec<(PathBuf, u64)>, bool) {
    use std::collections::HashMap;
    use std::os::unix::fs::MetadataExt;
    let Ok(root_dev) = root.metadata().map(|m| m.dev()) else {
        return (Vec::new(), false);
    };
    let mut children: Vec<PathBuf> = match std::fs::read_dir(root) {
        Ok(rd) => rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|e| e.metadata().is_ok_and(|m| m.dev() == root_dev))
            .map(|e| e.path())
            .collect(),
        Err(_) => return (Vec::new(), false),
    };
    children.sort();
    let mut sizes: HashMap<PathBuf, u64> = HashMap::new();
    let mut complete = true;
    let n = children.len();
    for (k, child) in children.iter().enumerate() {
        let share = deadline.saturating_duration_since(Instant::now()) / (n - k) as u32;
        let child_deadline = Instant::now() + share;
        let walk = walkdir::WalkDir::new(child)
            .same_file_system(true)
            .into_iter();
        for (i, entry) in walk.enumerate() {
            if i % 256 == 255 && Instant::now() >= child_deadline {
                complete = false;
                break;
            }
            let Ok(e) = entry else { continue };
            let Ok(m) = e.metadata() else { continue };
            if !m.is_file() {
                continue;
            }
            let bytes = m.blocks() * 512;
            *sizes.entry(child.clone()).or_default() += bytes;
            let Ok(rel) = e.path().strip_prefix(child) else {
                continue;
            };
            let mut comps = rel.components();
            if let Some(second) = comps.next()
                && comps.next().is_some()
            {
                *sizes.entry(child.join(second)).or_default() += bytes;
            }
        }
    }
    let mut v: Vec<(PathBuf, u64)> = sizes.into_iter().filter(|(_, s)| *s > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(5);
    (v, complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_dirs_ranks_by_content() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("big/inner")).unwrap();
        std::fs::create_dir_all(t.path().join("small")).unwrap();
        std::fs::write(t.path().join("big/inner/f"), vec![1u8; 200_000]).unwrap();
        std::fs::write(t.path().join("small/f"), vec![1u8; 10_000]).unwrap();
        let (v, complete) = largest_dirs(t.path(), Instant::now() + Duration::from_secs(5));
        assert!(complete);
        assert_eq!(v[0].0, t.path().join("big"));
        assert!(v.iter().any(|(p, _)| p == &t.path().join("big/inner")));
        assert!(v.iter().any(|(p, _)| p == &t.path().join("small")));
    }

    #[test]
    fn a_full_mount_is_looked_into_from_its_own_mount_point() {
        let t = tempfile::tempdir().unwrap();
        let cache = t.path().join("www/cache");
        std::fs::create_dir_all(cache.join("sessions")).unwrap();
        let all = mounts::parse_mountinfo(&format!(
            "27 1 254:0 / / rw - ext4 /dev/vda rw\n41 27 0:51 / {} rw - tmpfs tmpfs rw\n",
            cache.display()
        ));
        // A path on the mount is measured; the finding is about the mount that holds it.
        let point = mount_point(&all, &cache.join("sessions"));
        assert_eq!(point, cache);
        let shown = sanitize::path(&cache.join("sessions"));
        let f = full_mount(&point, &shown, "x: 100% used".into(), Status::Fail, false);
        let mount = sanitize::path(&cache);
        assert_eq!(
            f.subject,
            Subject::Mount {
                mount: mount.clone()
            }
        );
        assert_eq!((f.cause, f.status), (Cause::Resources, Status::Fail));
        assert_eq!(
            f.text,
            format!("x: 100% used (the filesystem mounted at {mount})")
        );
        assert_eq!(
            f.fix.unwrap().text,
            format!("du -xh --max-depth=2 {mount} | sort -h | tail -20")
        );
        // Out of inodes: count files, not bytes.
        let f = full_mount(&point, &mount, "y".into(), Status::Warn, true);
        assert_eq!(f.text, "y");
        assert_eq!(
            f.fix.unwrap().text,
            format!("du --inodes -x --max-depth=2 {mount} | sort -n | tail -20")
        );
        assert_eq!(
            du_command(Path::new("/var/my data"), false),
            "du -xh --max-depth=2 '/var/my data' | sort -h | tail -20"
        );
    }

    #[test]
    fn size_thresholds_mean_free_space() {
        let d = Disk {
            paths: None,
            warn: Level::Bytes(10 << 30),
            fail: Level::Bytes(1 << 30),
            inodes_warn: 85.0,
            inodes_fail: 95.0,
        };
        let u = |free: u64| Usage {
            total: 100 << 30,
            free,
            used_pct: 50.0,
            inodes_pct: None,
        };
        assert_eq!(d.judge_space(&u(20 << 30)), Status::Pass);
        assert_eq!(d.judge_space(&u(5 << 30)), Status::Warn);
        assert_eq!(d.judge_space(&u(1 << 20)), Status::Fail);
    }
}
