//! The report: what every output format renders. Its JSON form (schema 1) is a public
//! contract, documented in the README.

use serde::Serialize;

use crate::check::{Fix, Metric, Status};
use crate::finding::{Cause, Subject};

/// Bumped when a field changes meaning or disappears; adding fields keeps the number.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub tool: Tool,
    pub host: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: u64,
    pub summary: Counts,
    pub worst: Status,
    /// The likely causes of a 500, strongest first, linking findings across checks
    /// (additive to schema 1).
    pub diagnosis: Vec<Diagnosis>,
    /// In checklist order.
    pub checks: Vec<CheckResult>,
}

/// One likely cause of the 500.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    pub cause: Cause,
    pub subject: Option<Subject>,
    /// One sentence that names the subject and what is wrong with it.
    pub headline: String,
    /// The findings it rests on, first the symptom, then what explains it.
    pub evidence: Vec<Evidence>,
    /// The one thing to try first.
    pub fix: Option<String>,
    /// Whether findings of different checks were linked (false: one check's word alone).
    pub linked: bool,
    /// The rule that made it.
    pub rule: &'static str,
    /// What this link adds when a stronger diagnosis of the same subject absorbs it, as a
    /// clause of that one's headline ("the file changed 3 min ago").
    #[serde(skip)]
    pub also: Option<String>,
    /// How strongly the evidence points here; higher ranks first.
    #[serde(skip)]
    pub weight: u32,
}

/// What a diagnosis rests on: the check, the index of the finding in that check's
/// `findings` (`null` for a check that records none: then its summary is the evidence), and
/// the text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub check: String,
    pub finding: Option<usize>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counts {
    pub total: usize,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
}

impl Counts {
    /// The counts a person reads, worst first, leaving out the zeros: `["1 failed",
    /// "3 passed"]`.
    pub fn parts(&self) -> Vec<String> {
        [
            (Status::Fail, "failed"),
            (Status::Error, "errored"),
            (Status::Warn, "warned"),
            (Status::Pass, "passed"),
            (Status::Skip, "skipped"),
        ]
        .into_iter()
        .filter_map(|(status, word)| {
            let n = self.get(status);
            (n > 0).then(|| format!("{n} {word}"))
        })
        .collect()
    }

    pub fn of(checks: &[CheckResult]) -> Counts {
        let mut c = Counts {
            total: checks.len(),
            ..Counts::default()
        };
        for r in checks {
            *c.slot(r.status) += 1;
        }
        c
    }

    fn slot(&mut self, s: Status) -> &mut usize {
        match s {
            Status::Pass => &mut self.pass,
            Status::Warn => &mut self.warn,
            Status::Fail => &mut self.fail,
            Status::Error => &mut self.error,
            Status::Skip => &mut self.skip,
        }
    }

    pub fn get(&self, s: Status) -> usize {
        match s {
            Status::Pass => self.pass,
            Status::Warn => self.warn,
            Status::Fail => self.fail,
            Status::Error => self.error,
            Status::Skip => self.skip,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub kind: &'static str,
    pub title: Option<String>,
    pub tags: Vec<String>,
    pub status: Status,
    pub summary: String,
    pub details: Vec<String>,
    pub fix: Option<Fix>,
    pub metrics: Vec<Metric>,
    /// The evidence as data (additive to schema 1).
    pub findings: Vec<crate::finding::Finding>,
    pub duration_ms: u64,
}

impl Report {
    /// The report of a run; `diagnosis` is what the link rules made of `checks`.
    pub fn new(
        checks: Vec<CheckResult>,
        diagnosis: Vec<Diagnosis>,
        started: std::time::SystemTime,
        duration: std::time::Duration,
    ) -> Report {
        let worst = checks
            .iter()
            .map(|c| c.status)
            .fold(Status::Pass, Status::worse);
        Report {
            schema: SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            host: hostname(),
            started_at: humantime::format_rfc3339_seconds(started).to_string(),
            duration_ms: duration.as_millis() as u64,
            summary: Counts::of(&checks),
            worst,
            diagnosis,
            checks,
        }
    }
}

impl Report {
    /// Put a result before the checks' own (a warning about the run itself), counted like
    /// any other. The diagnosis is the caller's to make again, with the new result.
    pub fn prepend(
        &mut self,
        result: CheckResult,
        diagnosis: impl FnOnce(&[CheckResult]) -> Vec<Diagnosis>,
    ) {
        self.worst = self.worst.worse(result.status);
        self.checks.insert(0, result);
        self.summary = Counts::of(&self.checks);
        self.diagnosis = diagnosis(&self.checks);
    }
}

pub fn hostname() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy();
    if name.is_empty() {
        "unknown".into()
    } else {
        name.into_owned()
    }
}
