//! When no rule links a problem: each problem finding, and each failing check without
//! findings, on its own, ranked by how likely its cause is to turn requests into 500s.

use super::{Diagnosis, Found, cause_weight};
use crate::check::Status;
use crate::finding::Cause;
use crate::report::CheckResult;

/// The cause a check kind's failures belong to, for checks that record no findings.
pub fn cause_of_kind(kind: &str) -> Cause {
    match kind {
        "log" => Cause::Code,
        "configtest" | "htaccess" | "config" => Cause::Config,
        "permissions" | "world_writable" => Cause::Permissions,
        "disk" | "memory" | "load" | "fds" => Cause::Resources,
        "env" | "recent_changes" => Cause::Deploy,
        _ => Cause::Dependency,
    }
}

fn status_weight(s: Status) -> u32 {
    match s {
        Status::Fail => 20,
        Status::Error => 5,
        Status::Warn => 0,
        Status::Pass | Status::Skip => 0,
    }
}

pub fn unlinked(
    checks: &[CheckResult],
    found: &[Found<'_>],
    linked: &[Diagnosis],
) -> Vec<Diagnosis> {
    let used = |f: &Found<'_>| {
        linked.iter().any(|d| {
            d.evidence
                .iter()
                .any(|e| e.check == f.check.id && e.finding == Some(f.index))
        })
    };
    // One cause per check: a check with fourteen loose modes is one problem, not fourteen.
    let mut out: Vec<Diagnosis> = Vec::new();
    for c in checks.iter().filter(|c| !c.status.is_ok()) {
        let own: Vec<&Found<'_>> = found
            .iter()
            .filter(|f| std::ptr::eq(f.check, c) && f.is_problem() && !used(f))
            .collect();
        // The first of the worst: a check lists its findings most telling first (the
        // baseline ranks its changes by how likely each is to break the site).
        let Some(top) = own.iter().rev().max_by_key(|f| f.finding.status.rank()) else {
            continue;
        };
        let one = own.len() == 1;
        out.push(Diagnosis {
            cause: top.finding.cause,
            subject: one.then(|| top.finding.subject.clone()),
            headline: if one {
                format!("{}: {}", c.id, top.finding.text)
            } else {
                format!("{}: {}", c.id, c.summary)
            },
            evidence: own.iter().map(|f| f.evidence()).collect(),
            fix: if one {
                top.fix().or_else(|| c.fix.as_ref().map(|x| x.text.clone()))
            } else {
                c.fix.as_ref().map(|x| x.text.clone()).or_else(|| top.fix())
            },
            linked: false,
            rule: "unlinked",
            weight: cause_weight(top.finding.cause) + status_weight(top.finding.status),
            also: None,
        });
    }
    for c in checks
        .iter()
        .filter(|c| !c.status.is_ok() && c.findings.is_empty())
    {
        let cause = cause_of_kind(c.kind);
        out.push(Diagnosis {
            cause,
            subject: None,
            headline: format!("{}: {}", c.id, c.summary),
            evidence: vec![super::Evidence {
                check: c.id.clone(),
                finding: None,
                text: c.summary.clone(),
            }],
            fix: c.fix.as_ref().map(|f| f.text.clone()),
            linked: false,
            rule: "unlinked",
            weight: cause_weight(cause) + status_weight(c.status),
            also: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::check::Status;

    #[test]
    fn no_link_invents_no_cause_and_ranks_failures_first() {
        let checks = vec![
            result("load", "load", Status::Warn, vec![]),
            result("disk", "disk", Status::Fail, vec![]),
            result("ok", "memory", Status::Pass, vec![]),
        ];
        let d = crate::diagnosis::diagnose(&checks);
        assert_eq!(d.len(), 2, "{d:#?}");
        assert!(d.iter().all(|d| !d.linked));
        assert_eq!(d[0].headline, "disk: disk summary");
        assert_eq!(d[1].headline, "load: load summary");
    }
}
