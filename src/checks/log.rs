//! `log`: fresh fatal errors in the web server's and the app's error logs — "step one" after
//! a 500 — counted per distinct error, newest first, with the file and line they name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use toml::Spanned;

use super::log_finding::{Entry, Host};
use super::tree::OneOrMany;
use super::tree::max_details;
use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Finding, Subject};
use crate::logscan::backward::Backward;
use crate::logscan::classify::{Class, classify};
use crate::logscan::journal;
use crate::logscan::patterns::{self, Patterns, Severity};
use crate::logscan::timestamp;
use crate::sanitize;
use crate::span::SpanError;
use crate::units::{Dur, clip, fmt_age, fmt_bytes};

pub static KIND: Kind = Kind {
    name: "log",
    summary: "fresh fatal errors in error logs, counted per distinct error",
    why: "The error log says why a request failed: the PHP fatal error and its file and line, \
          the Python traceback, the upstream that timed out. It is the first place to look \
          after a 500.",
    looks_at: "Each file from its end back to the first line older than `window` (a 1 GB log \
               whose last hour is 1 MB costs about 1 MB), and the rotated `.1` file when the \
               window reaches into it. Timestamps of nginx, Apache 2.2/2.4, PHP and PHP-FPM, \
               syslog and ISO 8601 logs; lines without one (tracebacks) belong to the line \
               before; a log with no timestamp at all that changed within the window has only its \
               newest error block judged, as of its modification time. Units' journal \
               (`journal`) through `journalctl --output json --reverse`, back to the window's \
               start. Built-in patterns for PHP, Python, Node, Ruby, Java, Rust, nginx and \
               Apache; fatal errors fail, lesser errors warn.",
    fixes: "Open the source file at the line the newest fatal error names; for upstream errors, \
            the app server behind the web server is down or too slow.",
    field_docs: &[
        FieldDoc {
            name: "paths",
            ty: "list of files or globs",
            default: "—",
            doc: "Log files; `*` in the file name part (required unless `from_config`).",
        },
        FieldDoc {
            name: "from_config",
            ty: "list",
            default: "[]",
            doc: "Also read the error logs named in these servers' configurations: \"nginx\", \"apache\", \"php-fpm\"; and \"app-servers\": the app servers behind the web server's upstreams that run now (gunicorn, uWSGI, Node, Puma…), their error log files, else their unit's journal.",
        },
        FieldDoc {
            name: "journal",
            ty: "list of units",
            default: "[]",
            doc: "Also read these systemd units' journal (`journalctl --unit`; globs allowed), newest first, back to the window's start.",
        },
        FieldDoc {
            name: "journal_dir",
            ty: "path",
            default: "this host's journal",
            doc: "Read `journal` from the journal files in this directory (`journalctl -D`).",
        },
        FieldDoc {
            name: "window",
            ty: "duration",
            default: "\"1h\"",
            doc: "How recent an error must be to count.",
        },
        FieldDoc {
            name: "patterns",
            ty: "list of regexes",
            default: "the built-in sets",
            doc: "Replace the built-in sets: lines matching any of these fail.",
        },
        FieldDoc {
            name: "exclude_patterns",
            ty: "list of regexes",
            default: "[]",
            doc: "Lines matching any of these are ignored.",
        },
        FieldDoc {
            name: "missing_ok",
            ty: "bool",
            default: "false",
            doc: "Files that do not exist are not an error (`skip` when none exists).",
        },
        FieldDoc {
            name: "max_details",
            ty: "integer",
            default: "50",
            doc: "Distinct errors listed.",
        },
    ],
    example: r#"[[check]]
id = "php-errors"
kind = "log"
paths = ["/var/log/nginx/error.log", "/var/log/php*-fpm.log", "/var/www/app/storage/logs/*.log"]
window = "1h"
exclude_patterns = ["favicon\\.ico"]
"#,
    fields: super::fields_of::<LogSpec>,
    build: super::build::<LogSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSpec {
    paths: Option<OneOrMany>,
    #[serde(default)]
    from_config: Vec<Spanned<String>>,
    #[serde(default)]
    journal: Vec<Spanned<String>>,
    journal_dir: Option<Spanned<String>>,
    window: Option<Dur>,
    patterns: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    exclude_patterns: Vec<String>,
    #[serde(default)]
    missing_ok: bool,
    max_details: Option<Spanned<i64>>,
}

impl Spec for LogSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        for s in &self.from_config {
            if !crate::webstack::SERVERS.contains(&s.get_ref().as_str())
                && s.get_ref() != APP_SERVERS
            {
                return Err(SpanError::new(
                    s.span(),
                    format!(
                        "from_config: expected one of {}, {APP_SERVERS}",
                        crate::webstack::SERVERS.join(", ")
                    ),
                ));
            }
        }
        for u in &self.journal {
            if !is_unit_name(u.get_ref()) {
                return Err(SpanError::new(
                    u.span(),
                    "journal: expected systemd unit names, like \"gunicorn.service\" or \"php*-fpm.service\"",
                ));
            }
        }
        if let Some(d) = &self.journal_dir
            && (self.journal.is_empty() || !d.get_ref().starts_with('/'))
        {
            return Err(SpanError::new(
                d.span(),
                "journal_dir: expected an absolute directory, with `journal` naming the units to read there",
            ));
        }
        if self.paths.is_none() && self.from_config.is_empty() && self.journal.is_empty() {
            return Err(SpanError {
                span: None,
                message: "a log check needs `paths`, `from_config` or `journal`".into(),
            });
        }
        let span = self.patterns.as_ref().map(|p| p.span());
        let custom = self.patterns.map(|p| p.into_inner());
        let patterns =
            Patterns::new(custom.as_deref(), &self.exclude_patterns).map_err(|e| SpanError {
                span,
                message: format!("invalid regex in patterns or exclude_patterns: {e}"),
            })?;
        Ok(Arc::new(Log {
            paths: self.paths.map(|p| p.0).unwrap_or_default(),
            from_config: self
                .from_config
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            journal: self.journal.into_iter().map(Spanned::into_inner).collect(),
            journal_dir: self.journal_dir.map(|d| PathBuf::from(d.into_inner())),
            window: self.window.map_or(Duration::from_secs(3600), |d| d.0),
            patterns,
            missing_ok: self.missing_ok,
            max_details: max_details(&self.max_details)?,
        }))
    }
}

/// `from_config` value for the app servers behind the web server (gunicorn, uWSGI, Node,
/// Puma…): their error log files, else their unit's journal.
const APP_SERVERS: &str = "app-servers";

/// The app servers behind this host's web servers, found once per run.
fn app_servers() -> &'static [crate::stack::app_servers::AppServer] {
    static FOUND: std::sync::OnceLock<Vec<crate::stack::app_servers::AppServer>> =
        std::sync::OnceLock::new();
    FOUND.get_or_init(|| {
        crate::stack::app_servers::behind_web_servers(&crate::sys::procfs::proc_root(), 16)
    })
}

struct Log {
    paths: Vec<String>,
    from_config: Vec<String>,
    journal: Vec<String>,
    journal_dir: Option<PathBuf>,
    window: Duration,
    patterns: Patterns,
    missing_ok: bool,
    max_details: usize,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("paths", &self.paths).finish()
    }
}

/// One distinct error.
struct Group {
    severity: Severity,
    count: u64,
    newest: i64,
    /// The newest occurrence, verbatim (clipped).
    line: String,
    file: String,
    location: Option<(String, u32)>,
    /// What the entry says is wrong, read from its first occurrence.
    class: Class,
    /// Read from this unit's journal, not from a file.
    unit: Option<String>,
    /// From a log without timestamps: its time is the file's modification time.
    undated: bool,
}

/// Where an entry was read, as findings show it.
struct Source {
    shown: String,
    unit: Option<String>,
    undated: bool,
}

/// The previous entry's message and its normalised form, in buffers reused for a whole
/// source: one bug repeated is counted without normalising it again.
#[derive(Default)]
struct Seen {
    key: String,
    prev: String,
}

/// A systemd unit name or glob, nothing journalctl could take for an option.
fn is_unit_name(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 256
        && !u.starts_with('-')
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:@\\*?[]".contains(c))
}

/// What one file read taught.
#[derive(Default)]
struct FileScan {
    bytes: u64,
    /// The oldest line read was still inside the window: older files may hold more.
    reached_start: bool,
    undated: bool,
    /// Reading stopped at the time limit (older entries were not read).
    timed_out: bool,
}

impl Log {
    fn scan_file(
        &self,
        path: &Path,
        cutoff: i64,
        now: i64,
        groups: &mut HashMap<String, Group>,
        deadline: std::time::Instant,
    ) -> anyhow::Result<FileScan> {
        // A FIFO or device at a log's path is refused at once: waiting on it would hold the
        // check to its timeout and hide the fatal errors of every other file.
        let file = crate::sys::readcap::open_regular(path).map_err(|e| match e {
            crate::sys::readcap::ReadError::Io(io) => crate::sys::denied_or(path, &io),
            other => anyhow::anyhow!("cannot read {}: {other}", sanitize::path(path)),
        })?;
        let mut scan = FileScan::default();
        let mtime = file
            .metadata()?
            .modified()
            .ok()
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or(now, |d| d.as_secs() as i64);
        if mtime < cutoff {
            return Ok(scan); // not written to within the window
        }
        let src = Source {
            shown: sanitize::path(path),
            unit: None,
            undated: false,
        };
        let mut lines = Backward::new(file)?.until(deadline);
        let mut pending: Vec<String> = Vec::new();
        let mut seen = Seen::default();
        let mut dated = false;
        let mut reached_start = true;
        let mut i = 0u64;
        while let Some(line) = lines.next() {
            i += 1;
            if i.is_multiple_of(4096) && std::time::Instant::now() >= deadline {
                reached_start = false;
                scan.timed_out = true;
                break;
            }
            // Valid UTF-8 (nearly every line) is taken as it is, without a copy.
            let line = String::from_utf8(line?)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            // A container's JSON-file log (docker, podman): each line wraps one line the app
            // wrote, with the time the engine received it.
            let (line, wrapped_at) = match crate::logscan::container::unwrap(&line) {
                Some((text, at)) => (text, at),
                None => (line, None),
            };
            let Some(ts) = timestamp::parse(&line, now).or_else(|| {
                // A traceback's first line carries no time of its own; the engine's is its.
                wrapped_at.filter(|_| line.starts_with("Traceback (most recent call last)"))
            }) else {
                if !dated && lines.bytes_read > 1 << 20 {
                    // No timestamp in the last MiB: this log cannot be dated line by line.
                    pending.push(line);
                    break;
                }
                if (pending.len() < 200 || !dated) && !line.trim().is_empty() {
                    pending.push(line);
                }
                continue;
            };
            dated = true;
            if ts < cutoff {
                reached_start = false;
                break;
            }
            pending.reverse();
            self.judge(&line, &pending, ts, &src, groups, &mut seen);
            pending.clear();
        }
        if !dated && !pending.is_empty() {
            // A log without timestamps changed within the window (its mtime says so): only
            // its newest error block is judged, as of that time.
            scan.undated = true;
            reached_start = false;
            let src = Source {
                undated: true,
                ..src
            };
            if let Some(block) = self.newest_block(&pending) {
                self.judge(&block[0], &block[1..], mtime, &src, groups, &mut seen);
            }
        }
        scan.bytes = lines.bytes_read;
        scan.timed_out |= lines.timed_out;
        scan.reached_start = reached_start && !scan.undated && !lines.timed_out;
        Ok(scan)
    }

    /// Count one entry — its first line and the lines that continue it, oldest first — in
    /// its group, or start one.
    fn judge(
        &self,
        line: &str,
        pending: &[String],
        ts: i64,
        src: &Source,
        groups: &mut HashMap<String, Group>,
        seen: &mut Seen,
    ) {
        let Some(sev) = self.patterns.classify(line, pending) else {
            return;
        };
        // A stack is told by the line that names its exception, not its first line.
        let msg = patterns::message(line, pending);
        let text = patterns::strip_timestamp(&msg);
        // One bug repeated: the same text but for its numbers as the entry before (older
        // lines come next) is the same group, without normalising again.
        if !seen.key.is_empty() && patterns::same_but_numbers(text, &seen.prev) {
            if let Some(g) = groups.get_mut(seen.key.as_str()) {
                g.count += 1;
            }
            return;
        }
        seen.prev.clear();
        seen.prev.push_str(text);
        patterns::normalise_to(text, &mut seen.key);
        if let Some(g) = groups.get_mut(seen.key.as_str()) {
            g.count += 1;
            return;
        }
        let all: Vec<&str> = std::iter::once(line)
            .chain(pending.iter().map(String::as_str))
            .collect();
        groups.insert(
            seen.key.clone(),
            Group {
                severity: sev,
                count: 1,
                newest: ts,
                line: clip(&msg, 300),
                file: src.shown.clone(),
                location: patterns::location(&all),
                class: classify(line, &all[1..]),
                unit: src.unit.clone(),
                undated: src.undated,
            },
        );
    }

    /// The newest error among lines read newest first, with the lines around it that belong
    /// to it (indented frames, back to a traceback's start): oldest first, at most 200.
    fn newest_block(&self, lines: &[String]) -> Option<Vec<String>> {
        let at = lines
            .iter()
            .position(|l| self.patterns.classify(l, &[]).is_some())?;
        let indented = |l: &str| l.starts_with([' ', '\t']);
        let mut newest = at;
        while newest > 0 && at - newest < 100 && indented(&lines[newest - 1]) {
            newest -= 1;
        }
        let mut oldest = at;
        while let Some(older) = lines.get(oldest + 1) {
            let traceback = older.starts_with("Traceback");
            if oldest - at >= 100 || !(traceback || indented(older) || indented(&lines[oldest])) {
                break;
            }
            oldest += 1;
            if traceback {
                break;
            }
        }
        Some(lines[newest..=oldest].iter().rev().cloned().collect())
    }

    /// Read the units' journal back to `cutoff`, counting its errors like a file's.
    fn scan_journal(
        &self,
        units: &[String],
        cutoff: i64,
        now: i64,
        groups: &mut HashMap<String, Group>,
        deadline: std::time::Instant,
    ) -> Result<journal::Read, journal::Error> {
        let mut blocks = journal::Blocks::new(now);
        let mut closed = Vec::new();
        let mut seen = Seen::default();
        let mut take = |closed: &mut Vec<journal::Block>, seen: &mut Seen| {
            for b in closed.drain(..) {
                self.judge_block(&b, units, groups, seen);
            }
        };
        let read = journal::read(
            &journal::Query {
                units,
                dir: self.journal_dir.as_deref(),
                since: cutoff,
                timeout: deadline.saturating_duration_since(std::time::Instant::now()),
            },
            &mut |line| {
                blocks.push(line, &mut closed);
                take(&mut closed, &mut seen);
                true
            },
        );
        blocks.finish(&mut closed);
        take(&mut closed, &mut seen);
        read
    }

    /// A journal block is judged from its first line that is an error by itself (the lines
    /// before it, like Node's `node:internal/…` banner, are context), or from a traceback's
    /// first line.
    fn judge_block(
        &self,
        b: &journal::Block,
        units: &[String],
        groups: &mut HashMap<String, Group>,
        seen: &mut Seen,
    ) {
        // A traceback written to stderr is one block from its first line.
        let traceback = b.lines.first().is_some_and(|l| l.starts_with("Traceback"));
        let Some(head) = b
            .lines
            .iter()
            .position(|l| traceback || self.patterns.classify(l, &[]).is_some())
        else {
            return;
        };
        let unit = if b.unit.is_empty() {
            units.join(", ")
        } else {
            b.unit.clone()
        };
        let src = Source {
            shown: format!("the journal of {}", sanitize::terminal(&unit)),
            unit: Some(unit),
            undated: false,
        };
        self.judge(
            &b.lines[head],
            &b.lines[head + 1..],
            b.time,
            &src,
            groups,
            seen,
        );
    }

    /// The journals to read: the configured units, and with `from_config = ["app-servers"]`
    /// the units of the app servers behind the web server that write no log file.
    fn units(&self) -> Vec<String> {
        let mut units = self.journal.clone();
        if self.from_config.iter().any(|s| s == APP_SERVERS) {
            for a in app_servers() {
                if let Some(u) = a.journal()
                    && !units.iter().any(|x| x == u)
                {
                    units.push(u.to_string());
                }
            }
        }
        units
    }

    fn files(&self) -> (Vec<PathBuf>, Vec<String>) {
        let mut files = Vec::new();
        let mut missing = Vec::new();
        for p in &self.paths {
            let found = crate::sys::expand_glob(Path::new(p));
            if found.is_empty() || (found.len() == 1 && !found[0].exists()) {
                missing.push(p.clone());
            } else {
                files.extend(found);
            }
        }
        for server in &self.from_config {
            if server == APP_SERVERS {
                files.extend(
                    app_servers()
                        .iter()
                        .flat_map(|a| a.error_logs.iter())
                        .filter(|p| p.is_file())
                        .cloned(),
                );
            } else {
                files.extend(crate::webstack::error_logs(server));
            }
        }
        files.sort();
        files.dedup();
        (files, missing)
    }
}

impl Check for Log {
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let cutoff = now - self.window.as_secs() as i64;
        let (files, missing) = self.files();
        let units = self.units();
        let window = crate::units::fmt_duration(self.window);
        if files.is_empty() && units.is_empty() {
            if self.missing_ok || (self.paths.is_empty() && !self.from_config.is_empty()) {
                return Ok(Outcome::skip(match missing.is_empty() {
                    true => format!("no error logs found for {}", self.from_config.join(", ")),
                    false => format!("no log files here ({} not found)", missing.join(", ")),
                }));
            }
            anyhow::bail!(
                "cannot read {}: No such file or directory",
                missing.join(", ")
            );
        }
        let deadline = ctx.deadline - ctx.remaining() / 10;
        let mut groups: HashMap<String, Group> = HashMap::new();
        let mut out = Outcome::pass("");
        let mut bytes = 0;
        let mut errors = Vec::new();
        let mut timed_out = false;
        for f in &files {
            let mut current = f.clone();
            // Follow into the rotated file while the window reaches past the current one.
            for _ in 0..2 {
                match self.scan_file(&current, cutoff, now, &mut groups, deadline) {
                    Ok(scan) => {
                        bytes += scan.bytes;
                        if scan.undated {
                            out.details.push(format!(
                                "{}: no timestamps recognised; it changed within the window, so only its newest error block was judged, as of its modification time",
                                sanitize::path(&current)
                            ));
                        }
                        if scan.timed_out {
                            timed_out = true;
                            out.details.push(format!(
                                "{}: reading stopped at the time limit after {}; older entries were not read (raise `timeout`)",
                                sanitize::path(&current),
                                fmt_bytes(scan.bytes)
                            ));
                        }
                        let mut rotated = current.clone().into_os_string();
                        rotated.push(".1");
                        let rotated = PathBuf::from(rotated);
                        if scan.reached_start
                            && scan.bytes > 0
                            && rotated.is_file()
                            && !current.to_string_lossy().ends_with(".1")
                        {
                            current = rotated;
                            continue;
                        }
                    }
                    Err(e) => errors.push(format!("{e:#}")),
                }
                break;
            }
        }
        if !units.is_empty() {
            let shown_units = sanitize::terminal(&units.join(", "));
            match self.scan_journal(&units, cutoff, now, &mut groups, deadline) {
                Ok(read) => {
                    bytes += read.bytes;
                    if read.timed_out {
                        timed_out = true;
                        out.details.push(format!(
                            "the journal of {shown_units}: reading stopped at the time limit after {} entries; older entries were not read (raise `timeout`)",
                            read.entries
                        ));
                    }
                }
                Err(journal::Error::NotInstalled) if files.is_empty() => {
                    return Ok(Outcome::skip(format!(
                        "journalctl is not installed here, so the journal of {shown_units} cannot be read"
                    )));
                }
                Err(journal::Error::NotInstalled) => out.details.push(format!(
                    "journalctl is not installed here: the journal of {shown_units} was not read"
                )),
                Err(journal::Error::Denied) => errors.push(format!(
                    "cannot read the journal of {shown_units}: run as root or in group systemd-journal/adm"
                )),
                Err(journal::Error::Failed(why)) => {
                    errors.push(format!("cannot read the journal of {shown_units}: {why}"));
                }
            }
        }
        let mut list: Vec<Group> = groups.into_values().collect();
        list.sort_by(|a, b| a.severity.cmp(&b.severity).then(b.newest.cmp(&a.newest)));
        let fatal: u64 = list
            .iter()
            .filter(|g| g.severity == Severity::Fatal)
            .map(|g| g.count)
            .sum();
        let lesser: u64 = list
            .iter()
            .filter(|g| g.severity == Severity::Error)
            .map(|g| g.count)
            .sum();
        out.metrics
            .push(Metric::new("fatal_errors", fatal as f64, "").thresholds(None, Some(1.0)));
        out.metrics
            .push(Metric::new("errors", lesser as f64, "").thresholds(Some(1.0), None));
        out.metrics
            .push(Metric::new("bytes_read", bytes as f64, "B"));
        for g in list.iter().take(self.max_details) {
            let kind = if g.severity == Severity::Fatal {
                "fatal"
            } else {
                "error"
            };
            let at = g
                .location
                .as_ref()
                .map_or(String::new(), |(f, l)| format!(" → {f}:{l}"));
            out.details.push(format!(
                "{}× [{kind}] {} ({}, newest {}){at}",
                g.count,
                g.line,
                g.file,
                fmt_age(now - g.newest)
            ));
            out.findings.push(finding_of(g));
        }
        if list.len() > self.max_details {
            out.details.push(format!(
                "… {} more distinct errors not shown (max_details = {})",
                list.len() - self.max_details,
                self.max_details
            ));
        }
        for e in &errors {
            out.details.push(e.clone());
        }
        let mut names: Vec<String> = files.iter().map(|f| sanitize::path(f)).collect();
        if !units.is_empty() {
            names.push(format!(
                "the journal of {}",
                sanitize::terminal(&units.join(", "))
            ));
        }
        let scope = if names.len() == 1 {
            names[0].clone()
        } else {
            let what = if units.is_empty() { "files" } else { "sources" };
            format!("{} {what}", names.len())
        };
        let Some(top) = list.first() else {
            out.summary = format!(
                "no errors in the last {window} in {scope} (read {})",
                fmt_bytes(bytes)
            );
            if !errors.is_empty() {
                out.status = Status::Error;
                out.summary = errors[0].clone();
            } else if timed_out {
                out.status = Status::Warn;
            }
            return Ok(out);
        };
        let distinct = list.iter().filter(|g| g.severity == top.severity).count();
        let (status, what) = match top.severity {
            Severity::Fatal => (
                Status::Fail,
                format!("{fatal} fatal error(s), {distinct} distinct"),
            ),
            Severity::Error => (
                Status::Warn,
                format!("{lesser} error(s), {distinct} distinct"),
            ),
        };
        out.status = if errors.is_empty() && !timed_out {
            status
        } else {
            status.worse(Status::Warn)
        };
        out.summary = format!(
            "{what}, in the last {window} in {scope}; newest: {}",
            clip(patterns::strip_timestamp(&top.line), 200)
        );
        // The fix the newest error's own words call for (its class), not "read the log".
        out.fix = out
            .findings
            .first()
            .cloned()
            .unwrap_or_else(|| finding_of(top))
            .fix;
        Ok(out)
    }
}

/// The finding for one distinct error: its class decides the fix.
fn finding_of(g: &Group) -> Finding {
    // What this host runs is read only for errors whose fix needs it: reading every web
    // server's configuration costs more than reading the last hour of a log.
    let host = if matches!(
        g.class,
        Class::Other | Class::Upstream { upstream: None, .. }
    ) {
        Host::none()
    } else {
        Host::cached()
    };
    let text = patterns::strip_timestamp(&g.line);
    let mut f = super::log_finding::finding(
        &Entry {
            class: &g.class,
            text,
            count: g.count,
            fatal: g.severity == Severity::Fatal,
            log: &g.file,
            location: g.location.as_ref(),
            newest: g.newest,
        },
        host,
    );
    if let Some(unit) = &g.unit {
        // A journal is no file: the unit is the subject, and journalctl reads it in context.
        if f.subject == Subject::path(g.file.as_str()) {
            f.subject = Subject::Unit { unit: unit.clone() };
        }
        if let Some(fix) = f.fix.as_mut().filter(|x| x.text.starts_with("tail -n 50 ")) {
            fix.text = format!(
                "journalctl --unit {} -n 50 --no-pager    # read the newest errors in context",
                crate::shell::shell_quote(unit)
            );
        }
    }
    if g.undated {
        f.text
            .push_str(" (the log has no timestamps: this is as of its modification time)");
    }
    f
}
