//! The `snapshot` and `diff` subcommands: what [`crate::app`] calls with the parsed
//! arguments and the selected checks.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use super::compare;
use super::host;
use super::key::{self, Key};
use super::store::{self, Header, ScopeRecord};
use super::tree::{self, ScanOptions, Scope};
use crate::check::Status;
use crate::cli::{Cli, DiffArgs, SnapshotArgs};
use crate::config::CheckSpec;
use crate::exit::Exit;
use crate::render;
use crate::report::{CheckResult, Report};
use crate::sanitize;

/// An early end: the exit code and the message.
pub type Failure = (Exit, String);

fn config(msg: impl Into<String>) -> Failure {
    (Exit::Config, msg.into())
}

fn io(what: &str, path: &Path, e: &std::io::Error) -> Failure {
    (
        Exit::IoError,
        format!(
            "cannot write {what} {}: {}",
            sanitize::path(path),
            crate::sys::io_reason(e)
        ),
    )
}

fn say(cli: &Cli, text: &str) -> Result<(), Failure> {
    crate::app::write_out(text, cli.output.as_deref())
        .map_err(|crate::app::Failure(code, msg)| (code, msg))
}

/// The web roots of the selected checks: the roots of `permissions`, `world_writable` (with
/// `paths`) and `recent_changes` checks, each once, those that exist.
fn scopes_of(specs: &[CheckSpec]) -> (Vec<Scope>, Vec<ScopeRecord>) {
    let mut scopes: Vec<Scope> = Vec::new();
    let mut records = Vec::new();
    for spec in specs {
        let Some(s) = spec.check.tree_scope() else {
            continue;
        };
        for root in s.roots {
            let Ok(r) = crate::walk::Root::open(&root) else {
                continue;
            };
            if !r.meta.is_dir() || scopes.iter().any(|x| x.root == r.path) {
                continue;
            }
            use std::os::unix::ffi::OsStrExt;
            records.push(ScopeRecord {
                root: r.path.as_os_str().as_bytes().to_vec(),
                shown: sanitize::path(&r.path),
                exclude: s.exclude.patterns().to_vec(),
                one_file_system: s.one_file_system,
            });
            scopes.push(Scope {
                root: r.path,
                exclude: crate::checks::Excludes::from_patterns(s.exclude.patterns())
                    .expect("patterns that parsed once parse again"),
                one_file_system: s.one_file_system,
            });
        }
    }
    (scopes, records)
}

fn dir_of(arg: &Option<PathBuf>) -> PathBuf {
    arg.clone().unwrap_or_else(store::default_dir)
}

/// `sitedoctor snapshot`.
pub fn snapshot(cli: &Cli, args: &SnapshotArgs, specs: &[CheckSpec]) -> Result<Exit, Failure> {
    let dir = dir_of(&args.baseline);
    if args.list {
        return list(cli, &dir);
    }
    if let Some(keep) = args.prune {
        let (listed, _) = store::list(&dir).map_err(|e| config(e.0))?;
        let removed = store::prune(&listed, keep).map_err(|m| (Exit::IoError, m))?;
        if !cli.quiet {
            let text = if removed.is_empty() {
                format!("nothing to prune: {} snapshots kept\n", listed.len())
            } else {
                format!(
                    "removed {}; kept the newest {}\n",
                    removed.join(", "),
                    listed.len() - removed.len()
                )
            };
            say(cli, &text)?;
        }
        return Ok(Exit::Ok);
    }
    let (scopes, scope_records) = scopes_of(specs);
    if scopes.is_empty() {
        return Err(config(
            "nothing to record: no web root exists among the roots of the configuration's \
             permissions, world_writable (with `paths`) and recent_changes checks",
        ));
    }
    // The checks' configuration tests are the host state's: each runs once.
    let _once = crate::checks::configtest::once::Scope::open();
    // The checks first: a snapshot is a state that works.
    let checks: Vec<CheckSpec> = specs
        .iter()
        .filter(|s| s.kind.name != "baseline")
        .cloned()
        .collect();
    let report = crate::runner::run(
        &checks,
        crate::runner::RunOptions {
            timeout: cli.timeout,
            jobs: cli.jobs as usize,
        },
    );
    let failing: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .map(|c| c.id.as_str())
        .collect();
    if !failing.is_empty() && !args.force {
        return Err((
            Exit::Fail,
            format!(
                "not recording a snapshot: {} failing ({}); a snapshot must be a state that \
                 works. Run `sitedoctor` to see why, or record anyway with --force",
                if failing.len() == 1 {
                    "1 check is"
                } else {
                    "checks are"
                },
                failing.join(", ")
            ),
        ));
    }
    key::ensure_private_dir(&dir).map_err(|e| io("the baseline directory", &dir, &e))?;
    let key = Key::load_or_create(&dir).map_err(|e| {
        config(format!(
            "cannot use the snapshot key in {}: {e}",
            sanitize::path(&dir)
        ))
    })?;
    let roots: Vec<PathBuf> = scopes.iter().map(|s| s.root.clone()).collect();
    let collected = host::collect(&key, specs, &roots);
    let scanned = tree::scan(
        &scopes,
        &ScanOptions {
            key: &key,
            verify: true,
            keep_content: args.keep_content,
            threads: crate::walk::default_threads(),
        },
    );
    let now = chrono::Utc::now();
    let mut header = Header {
        version: store::VERSION,
        name: store::new_name(now),
        created: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        created_ms: now.timestamp_millis(),
        hostname: crate::report::hostname(),
        forced: !failing.is_empty(),
        keep_content: args.keep_content,
        worst: report.worst.to_string(),
        scopes: scope_records,
        entries: scanned.records.len() as u64,
        host: collected.state,
        // Written into the file's header (the extras' length and hash) by `store::write`.
        extras: None,
    };
    let path = store::write(&dir, &mut header, &scanned.records)
        .map_err(|e| io("the snapshot in", &dir, &e))?;
    let unread: Vec<String> = scanned
        .unread
        .iter()
        .chain(&collected.unread)
        .cloned()
        .collect();
    for u in &unread {
        eprintln!("sitedoctor: not in the snapshot: {u}");
    }
    if !cli.quiet {
        let shown: Vec<String> = scopes.iter().map(|s| sanitize::path(&s.root)).collect();
        say(
            cli,
            &format!(
                "recorded snapshot {}: {} entries under {} ({} files hashed) in {}\n",
                header.name,
                header.entries,
                shown.join(", "),
                scanned.hashed,
                sanitize::path(&path)
            ),
        )?;
    }
    Ok(Exit::Ok)
}

/// `snapshot --list`: in the chosen format's spirit (JSON for `--format json`, text else).
fn list(cli: &Cli, dir: &Path) -> Result<Exit, Failure> {
    let (listed, bad) = store::list(dir).map_err(|e| config(e.0))?;
    let now = crate::finding::now_secs();
    let text = if cli.format == "json" {
        let items: Vec<serde_json::Value> = listed
            .iter()
            .map(|l| {
                serde_json::json!({
                    "name": l.header.name,
                    "created": l.header.created,
                    "entries": l.header.entries,
                    "forced": l.header.forced,
                    "keep_content": l.header.keep_content,
                    "bytes": l.bytes,
                    "path": sanitize::path(&l.path),
                })
            })
            .collect();
        format!(
            "{}\n",
            serde_json::to_string_pretty(&items).expect("json serialises")
        )
    } else if listed.is_empty() {
        format!("no snapshots in {}\n", sanitize::path(dir))
    } else {
        let mut t = String::new();
        for l in &listed {
            t.push_str(&format!(
                "{}  {} ({})  {} entries  {}{}\n",
                l.header.name,
                l.header.created,
                crate::units::fmt_age(now - l.header.created_secs()),
                l.header.entries,
                crate::units::fmt_bytes(l.bytes),
                if l.header.forced { "  forced" } else { "" }
            ));
        }
        t
    };
    for (_, why) in &bad {
        eprintln!("sitedoctor: {why}");
    }
    say(cli, &text)?;
    Ok(Exit::Ok)
}

/// `sitedoctor diff`: the comparison as a report with one `baseline` check, in any format.
/// The snapshot names what to compare (its roots, its environment sources): the selected
/// checks are not needed, so `diff` says what the `baseline` kind says.
pub fn diff(cli: &Cli, args: &DiffArgs, _specs: &[CheckSpec]) -> Result<Exit, Failure> {
    let started = SystemTime::now();
    let clock = Instant::now();
    let place = dir_of(&args.baseline);
    let chosen = compare::choose(&place, args.since.as_deref())
        .map_err(|e| config(e.0))?
        .ok_or_else(|| {
            config(format!(
                "no snapshot in {}: record one with `sitedoctor snapshot` after a deploy that works",
                sanitize::path(&place)
            ))
        })?;
    let (loaded, changes, unread) = compare::changes(
        &chosen,
        compare::Reading {
            verify: args.verify,
            files_only: args.files_only,
        },
    )
    .map_err(|e| config(e.0))?;
    let outcome = compare::outcome(&loaded, &changes, &unread, usize::MAX);
    let result = CheckResult {
        id: "baseline".into(),
        kind: "baseline",
        title: Some(format!("changes since snapshot {}", loaded.header.name)),
        tags: vec![],
        status: outcome.status,
        summary: outcome.summary,
        details: outcome.details,
        fix: outcome.fix,
        metrics: outcome.metrics,
        findings: outcome.findings,
        duration_ms: clock.elapsed().as_millis() as u64,
    };
    let checks = vec![result];
    let diagnosis = crate::diagnosis::diagnose(&checks);
    let report = Report::new(checks, diagnosis, started, clock.elapsed());
    let format = render::find(&cli.format).expect("clap only accepts registered formats");
    let ropts = crate::app::render_options(cli, format);
    say(cli, &(format.render)(&report, &ropts))?;
    Ok(Exit::from_worst(report.worst, cli.fail_on))
}
