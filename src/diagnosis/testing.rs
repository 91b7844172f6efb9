//! Builders for the rules' tests: check results holding given findings.

use crate::check::Status;
use crate::finding::{Cause, Finding, Subject};
use crate::report::CheckResult;

pub fn result(id: &str, kind: &'static str, status: Status, findings: Vec<Finding>) -> CheckResult {
    CheckResult {
        id: id.into(),
        kind,
        title: None,
        tags: vec![],
        status,
        summary: format!("{id} summary"),
        details: findings.iter().map(Finding::detail).collect(),
        fix: None,
        metrics: vec![],
        findings,
        duration_ms: 0,
    }
}

pub fn path(p: &str, line: Option<u32>) -> Subject {
    Subject::Path {
        path: p.into(),
        line,
    }
}

pub fn finding(subject: Subject, cause: Cause, status: Status, text: &str) -> Finding {
    Finding::new(subject, cause, status, text)
}
