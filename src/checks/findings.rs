//! Findings of tree-scanning checks, collected from many threads with bounded memory: a
//! count per kind of finding, and only the first N (by path, so the report is the same
//! whatever order the walk took) kept to show.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::check::{Fix, Metric, Outcome, Status};

/// How many automatic fix commands are listed one by one before the fix becomes a single
/// `sitedoctor fix --apply` command.
const LIST_FIXES_UP_TO: usize = 5;

pub struct Findings {
    max: usize,
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
    /// path -> evidence line, the smallest paths only.
    pub shown: BTreeMap<String, String>,
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
            inner: Mutex::new(Inner::default()),
        }
    }

    pub fn add(&self, f: Finding<'_>) {
        let mut g = self.inner.lock().expect("findings lock");
        let max = self.max;
        let line = match &f.fix {
            Some(fix) => format!("{}: {} → {fix}", f.path, f.what),
            None => format!("{}: {}", f.path, f.what),
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
        keep_smallest(&mut b.shown, f.path, line, max);
    }

    /// Part of the tree could not be read: a finding of its own, and the scan goes on.
    pub fn unchecked(&self, error: &crate::walk::WalkError) {
        self.add(Finding {
            key: "unchecked",
            label: "not checked (unreadable)",
            status: Status::Warn,
            path: crate::sanitize::path(&error.path),
            what: error.describe(),
            fix: None,
            automatic: false,
        });
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
            for line in b.shown.values().take(budget) {
                out.details.push(line.clone());
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

fn keep_smallest(map: &mut BTreeMap<String, String>, key: String, value: String, cap: usize) {
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
    fn clean_is_pass() {
        let o = Findings::new(5).into_outcome("p", "all good".into(), "x");
        assert_eq!((o.status, o.summary.as_str()), (Status::Pass, "all good"));
    }
}
