//! "What changed since it worked": choose a snapshot, walk the same roots again, compare,
//! and say it as one check's outcome — shared by `sitedoctor diff` and the `baseline` kind.

use std::path::{Path, PathBuf};

use super::change::{Area, Change, How};
use super::diff::TreeChange;
use super::key::{self, Key};
use super::store::{self, Header, Listed, StoreError};
use super::tree::{ScanOptions, Scope};
use crate::check::{Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::units::fmt_age;

/// A snapshot read back: what it says of itself, and how it was compared.
pub struct Loaded {
    pub header: Header,
    /// Only the web roots were compared ([`Reading::files_only`]).
    pub files_only: bool,
}

/// Where the snapshots are and which one: `place` is the baseline directory, or one
/// snapshot file. `Ok(None)`: there is no snapshot yet.
pub fn choose(place: &Path, since: Option<&str>) -> Result<Option<Listed>, StoreError> {
    if place.is_file() {
        let (header, bytes) = store::read_header(place)?;
        return Ok(Some(Listed {
            path: place.to_path_buf(),
            header,
            bytes,
        }));
    }
    let (listed, bad) = store::list(place)?;
    if since.is_none() {
        // The newest is meant: a damaged file that may be newer than every good one is named,
        // never skipped (names are times, so they order the files).
        let newest_good = listed.iter().map(|l| l.path.as_path()).max();
        if let Some((_, why)) = bad
            .iter()
            .rev()
            .find(|(p, _)| newest_good.is_none_or(|g| p.as_path() > g))
        {
            return Err(StoreError(why.clone()));
        }
        if listed.is_empty() {
            return Ok(None);
        }
    }
    store::choose(&listed, since)
        .map(|l| Some(l.clone()))
        .map_err(StoreError)
}

/// The key beside a snapshot.
pub fn key_of(path: &Path) -> Result<Key, StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    Key::load(&dir.join(key::FILE)).map_err(|e| {
        StoreError(format!(
            "cannot use the snapshot key {}: {e} (without it no hash can be compared)",
            crate::sanitize::path(&dir.join(key::FILE))
        ))
    })
}

/// The roots a snapshot covered, to walk again the same way.
pub fn scopes(header: &Header) -> Result<Vec<Scope>, StoreError> {
    use std::os::unix::ffi::OsStrExt;
    header
        .scopes
        .iter()
        .map(|s| {
            Ok(Scope {
                root: PathBuf::from(std::ffi::OsStr::from_bytes(&s.root)),
                exclude: crate::checks::Excludes::from_patterns(&s.exclude)
                    .map_err(|e| StoreError(format!("the snapshot's exclude patterns: {e}")))?,
                one_file_system: s.one_file_system,
            })
        })
        .collect()
}

/// Read a chosen snapshot (its checksum verified) and walk its roots again against it: the
/// snapshot, the tree's changes, and what could not be compared.
fn tree_changes(
    listed: &Listed,
    key: &Key,
    scopes: &[Scope],
    how: Reading,
) -> Result<(Loaded, Vec<TreeChange>, Vec<String>), StoreError> {
    let (header, stored) = store::open(&listed.path)?;
    let opts = ScanOptions {
        key,
        verify: how.verify,
        keep_content: false,
        threads: crate::walk::default_threads(),
    };
    // The header the walk goes by is the one `choose` read: the same file, unless it was
    // replaced since.
    let same = |a: &Header| (a.name.clone(), a.created_ms, a.entries);
    if same(&header) != same(&listed.header) {
        return Err(StoreError(format!(
            "snapshot {} was replaced while it was being read; run the comparison again",
            crate::sanitize::path(&listed.path)
        )));
    }
    let walked = super::against::walk(&stored, scopes, &opts).map_err(|why| {
        StoreError(format!(
            "snapshot {} {why}",
            crate::sanitize::path(&listed.path)
        ))
    })?;
    let loaded = Loaded {
        header,
        files_only: how.files_only,
    };
    Ok((loaded, walked.changes, walked.unread))
}

/// Everything that changed since the chosen snapshot — its tree walked again, and the host's
/// state read again (the environment from the sources the snapshot recorded) while the tree
/// is walked — ranked, with what could not be compared. What `diff` and the `baseline` kind
/// both say.
pub fn changes(
    listed: &Listed,
    how: Reading,
) -> Result<(Loaded, Vec<TreeChange>, Vec<String>), StoreError> {
    // The key and the scopes once, for the tree and the host alike.
    let key = key_of(&listed.path)?;
    let scopes = scopes(&listed.header)?;
    let roots: Vec<PathBuf> = scopes.iter().map(|s| s.root.clone()).collect();
    let old = &listed.header.host;
    let (tree, now) = std::thread::scope(|s| {
        // With --files-only nothing of the host is read.
        let host =
            (!how.files_only).then(|| s.spawn(|| super::host::collect_again(&key, old, &roots)));
        let tree = tree_changes(listed, &key, &scopes, how);
        // collect_again survives a part that panics; a panic here is not one to hide.
        let now = host.map(|h| h.join().expect("collecting the host state panicked"));
        (tree, now)
    });
    let (loaded, mut changes, mut unread) = tree?;
    if let Some(now) = now {
        changes.extend(wrap(super::host::compare(&loaded.header.host, &now.state)));
        unread.extend(now.unread);
    }
    rank(&mut changes);
    Ok((loaded, changes, unread))
}

/// What a comparison reads again.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reading {
    /// Read and hash every file, not only those whose stat changed.
    pub verify: bool,
    /// Only the web roots: no program is run and nothing of the host is read.
    pub files_only: bool,
}

/// Changes of the host's state, as tree changes without old lines.
pub fn wrap(changes: Vec<Change>) -> Vec<TreeChange> {
    changes
        .into_iter()
        .map(|change| TreeChange {
            change,
            was: vec![],
        })
        .collect()
}

/// Most suspicious first (see [`super::change::rank`]).
pub fn rank(changes: &mut [TreeChange]) {
    changes.sort_by(|a, b| a.change.sort_key().cmp(&b.change.sort_key()));
}

/// What was compared, as one check's outcome: `pass` when nothing changed, `warn` with a
/// finding per change otherwise, `error` when only part could be compared.
pub fn outcome(
    loaded: &Loaded,
    changes: &[TreeChange],
    unread: &[String],
    max_details: usize,
) -> Outcome {
    let header = &loaded.header;
    let now = crate::finding::now_secs();
    let since = format!(
        "{}since snapshot {} ({})",
        if loaded.files_only {
            "in the files "
        } else {
            ""
        },
        header.name,
        fmt_age(now - header.created_secs())
    );
    let mut o = if changes.is_empty() {
        Outcome::pass(format!("nothing changed {since}"))
    } else {
        Outcome::new(
            Status::Warn,
            format!(
                "{} changed {since}: {}",
                plural(changes.len(), "thing"),
                tally(changes)
            ),
        )
    };
    let mut fixes = Vec::new();
    for c in changes.iter().take(max_details) {
        o.push_finding(finding(&c.change, header.created_secs()));
        for (n, text) in &c.was {
            o.details.push(format!("    line {n} was: {text}"));
        }
        if let Some(f) = &c.change.fix {
            fixes.push(f.clone());
        }
    }
    if changes.len() > max_details {
        o.details.push(format!(
            "… and {} more (`sitedoctor diff` lists them all)",
            changes.len() - max_details
        ));
    }
    if !fixes.is_empty() {
        o = o.fix(fixes.join("\n"));
    }
    if !unread.is_empty() {
        o.status = Status::Error;
        o.summary = format!(
            "{}; only part could be compared ({})",
            o.summary,
            plural(unread.len(), "part")
        );
        o.details.extend(unread.iter().cloned());
    }
    if header.forced {
        // In the summary: it is shown even when nothing changed.
        o.summary = format!(
            "{} (recorded with --force while checks failed: not a known-good state)",
            o.summary
        );
    }
    o.metric(Metric::new(
        "baseline_changes",
        changes.len() as f64,
        "count",
    ))
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `2 code files, 1 mode or owner`.
fn tally(changes: &[TreeChange]) -> String {
    let mut counts: Vec<(Area, usize)> = Vec::new();
    for c in changes {
        match counts.iter_mut().find(|(a, _)| *a == c.change.area) {
            Some((_, n)) => *n += 1,
            None => counts.push((c.change.area, 1)),
        }
    }
    counts.sort();
    counts
        .iter()
        .map(|(a, n)| {
            let what = match a {
                Area::ConfigTest => "config test",
                Area::Code => "code file",
                Area::Access => "mode or owner",
                Area::Env => "environment variable",
                Area::Dependencies => "dependency",
                Area::Config => "configuration file",
                Area::Platform => "package or extension",
                Area::Listener => "listener",
                Area::File => "other file",
            };
            if *n == 1 || *a == Area::Access {
                format!("{n} {what}")
            } else {
                format!("{n} {what}s")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One change as a typed finding. `at` is the snapshot's time: the change happened since.
pub fn finding(c: &Change, snapshot_at: i64) -> Finding {
    let subject = match c.area {
        Area::Env => Subject::Var {
            name: c.subject.clone(),
        },
        Area::Listener => Subject::Address {
            address: c.subject.clone(),
        },
        // The file and line the failing test names, so a `configtest` check's finding and
        // the file's own change link to it.
        Area::ConfigTest => {
            crate::checks::config_error::locate(&c.detail).unwrap_or(Subject::Directive {
                directive: c.subject.clone(),
                path: None,
                line: None,
            })
        }
        Area::Platform => Subject::Directive {
            directive: c.subject.clone(),
            path: None,
            line: None,
        },
        _ => Subject::path(c.subject.clone()),
    };
    let cause = match c.area {
        Area::Access => Cause::Permissions,
        Area::Config | Area::ConfigTest => Cause::Config,
        Area::Listener => Cause::Dependency,
        _ => Cause::Deploy,
    };
    let how = match c.how {
        How::Added => "added",
        How::Removed => "removed",
        How::Changed => "changed",
    };
    let text = if c.detail.starts_with(how) {
        format!("{}: {}", c.subject, c.detail)
    } else {
        format!("{} {how}: {}", c.subject, c.detail)
    };
    // A change is a warning; a config test that passed then and fails now is a failure
    // (the next reload or restart takes the site down), though the check only warns: it
    // says what changed, the `configtest` kind judges.
    let status = if c.area == Area::ConfigTest {
        Status::Fail
    } else {
        Status::Warn
    };
    let mut f = Finding::new(subject, cause, status, text).at(snapshot_at);
    if let Some(fix) = &c.fix {
        f = f.fix(fix.clone());
    }
    f
}
