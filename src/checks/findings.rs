//! Findings of tree-scanning checks, collected from many threads with bounded memory: a
//! count per kind of finding, and only the first N (by path, so the report is the same
//! whatever order the walk took) kept to show — and, for a collector made with
//! [`Findings::recording`], recorded as typed findings the diagnosis can link.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::check::{Fix, Metric, Outcome, Status};
use crate::finding::{self, Cause, Subject};

/// How many automatic fix commands are listed one by one before the fix becomes a single
/// `sitedoctor fix --apply` command.
const LIST_FIXES_UP_TO: usize = 5;

pub struct Findings {
    max: usize,
    /// The cause every finding shown is recorded under; `None`: shown as text only.
    cause: Option<Cause>,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    buckets: BTreeMap<&'static str, Bucket>,
    automatic: u64,
    first_automatic: BTreeMap<String, String>,
    manual: BTreeMap<String, String>,
    manual_count: u64,
}

pub struct Bucket {
    pub label: String,
    pub status: Status,
    pub count: u64,
    /// path -> what is shown, the smallest paths only.
    pub shown: BTreeMap<String, Shown>,
}

/// One entry a report shows: a typed finding (its detail is the line), or only a line
/// (a part of the tree the scan could not read says nothing about the site).
pub enum Shown {
    Finding(finding::Finding),
    Line(String),
}

/// One finding: which kind, where, what, and how it is fixed.
pub struct Finding<'a> {
    pub key: &'static str,
    pub label: &'a str,
    pub status: Status,
    pub path: String,
    pub what: String,
    pub fix: Option<String>,
    pub automatic: bool,
}

impl Findings {
    pub fn new(max: usize) -> Findings {
        Findings {
            max,
            cause: None,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// A collector that also records each finding it shows as a typed finding about its
    /// path, under `cause`.
    pub fn recording(max: usize, cause: Cause) -> Findings {
        Findings {
            cause: Some(cause),
            ..Findings::new(max)
        }
    }

    pub fn add(&self, f: Finding<'_>) {
        self.add_entry(f, true, None);
    }

    /// Add a finding about a subject more precise than its path (a directive on a line).
    pub fn add_about(&self, f: Finding<'_>, subject: Subject) {
        self.add_entry(f, true, Some(subject));
    }

    /// Add a finding; `evidence`: whether it says something about the site (and so is
    /// recorded when this collector records).
    fn add_entry(&self, f: Finding<'_>, evidence: bool, subject: Option<Subject>) {
        let mut g = self.inner.lock().expect("findings lock");
        let max = self.max;
        let shown = match self.cause.filter(|_| evidence) {
            Some(cause) => Shown::Finding({
                let mut t = typed(&f, cause);
                if let Some(s) = subject {
                    t.subject = s;
                }
                t
            }),
            None => Shown::Line(match &f.fix {
                Some(fix) => format!("{}: {} → {fix}", f.path, f.what),
                None => format!("{}: {}", f.path, f.what),
            }),
        };
        if let Some(fix) = &f.fix {
            let (map, cap) = if f.automatic {
                g.automatic += 1;
                (&mut g.first_automatic, LIST_FIXES_UP_TO)
            } else {
                g.manual_count += 1;
                (&mut g.manual, LIST_FIXES_UP_TO)
            };
            keep_smallest(map, f.path.clone(), fix.clone(), cap);
        }
        let b = g.buckets.entry(f.key).or_insert_with(|| Bucket {
            label: f.label.to_string(),
            status: f.status,
            count: 0,
            shown: BTreeMap::new(),
        });
        b.count += 1;
        keep_smallest(&mut b.shown, f.path, shown, max);
    }

    /// Part of the tree could not be read: a finding of its own, and the scan goes on.
    pub fn unchecked(&self, error: &crate::walk::WalkError) {
        self.add_entry(
            Finding {
                key: "unchecked",
                label: "not checked (unreadable)",
                status: Status::Warn,
                path: crate::sanitize::path(&error.path),
                what: error.describe(),
                fix: None,
                automatic: false,
            },
            false,
            None,
        );
    }

    /// Turn the findings into an outcome: worst status, a summary naming the counts per
    /// kind, the first findings as evidence (worst kinds first), and one fix.
    pub fn into_outcome(self, id: &str, clean_summary: String, scope: &str) -> Outcome {
        let inner = self.inner.into_inner().expect("findings lock");
        let mut buckets: Vec<Bucket> = inner.buckets.into_values().collect();
        buckets.sort_by(|a, b| {
            b.status
                .rank()
                .cmp(&a.status.rank())
                .then(a.label.cmp(&b.label))
        });
        let mut out = Outcome::pass(clean_summary);
        for b in &buckets {
            out.metrics
                .push(Metric::new("findings", b.count as f64, "").label("kind", &b.label));
        }
        if buckets.is_empty() {
            return out;
        }
        out.status = buckets
            .iter()
            .map(|b| b.status)
            .fold(Status::Pass, Status::worse);
        let parts: Vec<String> = buckets
            .iter()
            .map(|b| format!("{} {}", b.count, b.label))
            .collect();
        out.summary = format!("{} {scope}", parts.join(", "));
        let mut budget = self.max;
        for b in &buckets {
            for shown in b.shown.values().take(budget) {
                match shown {
                    Shown::Finding(f) => out.push_finding(f.clone()),
                    Shown::Line(line) => out.details.push(line.clone()),
                }
            }
            let shown = b.shown.len().min(budget);
            budget -= shown;
            if (shown as u64) < b.count {
                out.details.push(format!(
                    "… {} more {} not shown (max_details = {})",
                    b.count - shown as u64,
                    b.label,
                    self.max
                ));
            }
        }
        let mut fix = Vec::new();
        if inner.automatic as usize <= LIST_FIXES_UP_TO {
            fix.extend(inner.first_automatic.into_values());
        } else {
            fix.push(format!(
                "sitedoctor fix --apply --only {id}    # applies all {} mode changes; see them first with `sitedoctor fix --only {id}`",
                inner.automatic
            ));
        }
        fix.extend(inner.manual.into_values());
        if inner.manual_count as usize > LIST_FIXES_UP_TO {
            fix.push(format!(
                "… and {} more changes by hand, listed above",
                inner.manual_count as usize - LIST_FIXES_UP_TO
            ));
        }
        if !fix.is_empty() {
            out.fix = Some(Fix {
                text: fix.join("\n"),
                automatic: inner.automatic > 0 && inner.manual_count == 0,
            });
        }
        out
    }
}

/// The typed finding of a tree finding: about its path, with its text and its `chmod`.
/// Its detail is the line a report has always shown: `PATH: WHAT → FIX`.
fn typed(f: &Finding<'_>, cause: Cause) -> finding::Finding {
    let mut t = finding::Finding::new(
        Subject::path(f.path.clone()),
        cause,
        f.status,
        format!("{}: {}", f.path, f.what),
    );
    t.fix = f.fix.as_ref().map(|text| Fix {
        text: text.clone(),
        automatic: f.automatic,
    });
    t
}

fn keep_smallest<V>(map: &mut BTreeMap<String, V>, key: String, value: V, cap: usize) {
    if cap == 0 {
        return;
    }
    if map.len() >= cap {
        match map.last_key_value() {
            Some((last, _)) if *last > key => {
                map.pop_last();
            }
            _ => return,
        }
    }
    map.insert(key, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(path: &str, key: &'static str, status: Status) -> Finding<'static> {
        Finding {
            key,
            label: key,
            status,
            path: path.into(),
            what: "x".into(),
            fix: Some(format!("chmod 644 {path}")),
            automatic: true,
        }
    }

    #[test]
    fn keeps_the_first_paths_whatever_the_order() {
        let a = Findings::new(2);
        for p in ["/d", "/b", "/c", "/a"] {
            a.add(f(p, "loose", Status::Warn));
        }
        let o = a.into_outcome("perm", "clean".into(), "under /");
        assert_eq!(o.status, Status::Warn);
        assert_eq!(o.summary, "4 loose under /");
        assert_eq!(
            o.details,
            [
                "/a: x → chmod 644 /a",
                "/b: x → chmod 644 /b",
                "… 2 more loose not shown (max_details = 2)"
            ]
        );
        assert_eq!(o.fix.as_ref().unwrap().text.lines().count(), 4);
    }

    #[test]
    fn many_fixes_become_one_command_and_worst_comes_first() {
        let a = Findings::new(50);
        for i in 0..10 {
            a.add(f(&format!("/w{i}"), "loose", Status::Warn));
        }
        a.add(f("/z", "world-writable", Status::Fail));
        let o = a.into_outcome("perm", "clean".into(), "under /");
        assert_eq!(o.status, Status::Fail);
        assert!(o.summary.starts_with("1 world-writable, 10 loose"));
        assert!(o.details[0].starts_with("/z"));
        let fix = o.fix.unwrap();
        assert!(
            fix.text
                .starts_with("sitedoctor fix --apply --only perm    # applies all 11")
        );
        assert!(fix.automatic);
    }

    #[test]
    fn a_recording_collector_records_what_it_shows() {
        let a = Findings::recording(10, Cause::Permissions);
        for p in ["/c", "/a", "/b"] {
            a.add(f(p, "loose", Status::Warn));
        }
        let mut by_hand = f("/z", "unreadable", Status::Fail);
        by_hand.automatic = false;
        a.add(by_hand);
        a.unchecked(&crate::walk::WalkError {
            path: "/u".into(),
            errno: rustix::io::Errno::ACCESS,
        });
        let o = a.into_outcome("perm", "clean".into(), "under /");
        // The lines a report shows are the findings' details, as they always read.
        assert_eq!(o.details[0], "/z: x → chmod 644 /z");
        assert_eq!(o.details[1], "/a: x → chmod 644 /a");
        assert_eq!(o.findings.len(), 4, "{:#?}", o.findings);
        let z = &o.findings[0];
        assert_eq!(z.subject, Subject::path("/z"));
        assert_eq!((z.cause, z.status), (Cause::Permissions, Status::Fail));
        assert_eq!(z.text, "/z: x");
        assert_eq!(
            z.fix,
            Some(Fix {
                text: "chmod 644 /z".into(),
                automatic: false
            })
        );
        assert!(o.findings[1].fix.as_ref().unwrap().automatic);
        // An unreadable part of the tree is shown, but is no evidence about the site.
        assert!(
            o.details
                .iter()
                .any(|d| d.starts_with("/u: cannot read /u"))
        );
        assert!(o.findings.iter().all(|f| f.subject != Subject::path("/u")));
    }

    #[test]
    fn a_plain_collector_records_nothing() {
        let a = Findings::new(5);
        a.add(f("/a", "loose", Status::Warn));
        let o = a.into_outcome("perm", "clean".into(), "under /");
        assert_eq!(o.details, ["/a: x → chmod 644 /a"]);
        assert!(o.findings.is_empty());
    }

    #[test]
    fn clean_is_pass() {
        let o = Findings::new(5).into_outcome("p", "all good".into(), "x");
        assert_eq!((o.status, o.summary.as_str()), (Status::Pass, "all good"));
    }
}
