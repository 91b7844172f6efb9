//! What a check returns: findings are data (an [`Outcome`]), only a broken check returns
//! an error. What a check is (the `Check` trait the kinds implement) lives with the kinds.

use std::time::{Duration, Instant};

use serde::Serialize;

/// The result of one check. Ordered by how bad it is via [`Status::rank`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// The check itself could not run.
    Error,
    /// Not applicable on this host.
    Skip,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Fail,
        Status::Error,
        Status::Warn,
        Status::Skip,
        Status::Pass,
    ];

    /// How bad a status is: fail > error > warn > skip > pass. An error outranks a
    /// warning because it means something could not be verified (exit code 3).
    pub fn rank(self) -> u8 {
        match self {
            Status::Pass => 0,
            Status::Skip => 1,
            Status::Warn => 2,
            Status::Error => 3,
            Status::Fail => 4,
        }
    }

    pub fn worse(self, other: Status) -> Status {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Skip => "skip",
        }
    }

    /// Pass and skip need no attention.
    pub fn is_ok(self) -> bool {
        matches!(self, Status::Pass | Status::Skip)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The command or edit that resolves a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    pub text: String,
    /// Whether `sitedoctor fix --apply` may apply it (mode changes only).
    pub automatic: bool,
}

/// A measured value, with the thresholds it was judged against.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub name: String,
    /// What the value is about when a check measures several things (`path` of a mount).
    pub labels: std::collections::BTreeMap<String, String>,
    pub value: f64,
    pub unit: String,
    pub warn: Option<f64>,
    pub fail: Option<f64>,
    /// Plugin performance data: the Nagios range text of the thresholds (`10:20`, `@5`),
    /// when they are ranges rather than plain limits, and the value's bounds.
    pub warn_range: Option<String>,
    pub fail_range: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Metric {
    pub fn new(name: impl Into<String>, value: f64, unit: &str) -> Metric {
        Metric {
            name: name.into(),
            labels: Default::default(),
            value,
            unit: unit.to_string(),
            warn: None,
            fail: None,
            warn_range: None,
            fail_range: None,
            min: None,
            max: None,
        }
    }

    pub fn label(mut self, key: &str, value: impl Into<String>) -> Metric {
        self.labels.insert(key.to_string(), value.into());
        self
    }

    pub fn thresholds(mut self, warn: Option<f64>, fail: Option<f64>) -> Metric {
        self.warn = warn;
        self.fail = fail;
        self
    }
}

/// What a check found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub summary: String,
    /// Evidence, one line each, already free of secrets.
    pub details: Vec<String>,
    pub fix: Option<Fix>,
    pub metrics: Vec<Metric>,
    /// The evidence as data, for the diagnosis and the JSON report. A check that records
    /// findings also shows each as a detail line (see [`Outcome::finding`]).
    pub findings: Vec<crate::finding::Finding>,
}

impl Outcome {
    pub fn new(status: Status, summary: impl Into<String>) -> Outcome {
        Outcome {
            status,
            summary: summary.into(),
            details: Vec::new(),
            fix: None,
            metrics: Vec::new(),
            findings: Vec::new(),
        }
    }

    pub fn pass(summary: impl Into<String>) -> Outcome {
        Outcome::new(Status::Pass, summary)
    }

    pub fn skip(summary: impl Into<String>) -> Outcome {
        Outcome::new(Status::Skip, summary)
    }

    pub fn error(summary: impl Into<String>) -> Outcome {
        Outcome::new(Status::Error, summary)
    }

    pub fn detail(mut self, line: impl Into<String>) -> Outcome {
        self.details.push(line.into());
        self
    }

    pub fn fix(mut self, text: impl Into<String>) -> Outcome {
        self.fix = Some(Fix {
            text: text.into(),
            automatic: false,
        });
        self
    }

    /// Set status and summary together (used when a check ends early).
    pub fn status_summary(mut self, status: Status, summary: impl Into<String>) -> Outcome {
        self.status = status;
        self.summary = summary.into();
        self
    }

    /// Record a finding, and show it as an evidence line.
    pub fn finding(mut self, finding: crate::finding::Finding) -> Outcome {
        self.push_finding(finding);
        self
    }

    pub fn push_finding(&mut self, finding: crate::finding::Finding) {
        self.details.push(finding.detail());
        self.findings.push(finding);
    }

    pub fn metric(mut self, metric: Metric) -> Outcome {
        self.metrics.push(metric);
        self
    }

    /// The same outcome with `mask` applied to every text it shows: summary, evidence,
    /// fix, metric labels and findings (how checks keep their secrets out of every output).
    pub fn masked(mut self, mask: impl Fn(&str) -> String) -> Outcome {
        self.summary = mask(&self.summary);
        self.details = self.details.iter().map(|d| mask(d)).collect();
        if let Some(f) = &mut self.fix {
            f.text = mask(&f.text);
        }
        for m in &mut self.metrics {
            m.labels = m.labels.iter().map(|(k, v)| (k.clone(), mask(v))).collect();
        }
        for f in &mut self.findings {
            f.mask(&mask);
        }
        self
    }
}

/// What a running check may know about its run.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The check's id, for fixes that name it (`sitedoctor fix --only ID`).
    pub id: String,
    /// The configured timeout (for `http`, of one try: a kind that retries has a budget of
    /// several).
    pub timeout: Duration,
    /// The moment the runner stops waiting for this check.
    pub deadline: Instant,
}

impl Ctx {
    pub fn new(id: &str, timeout: Duration, budget: Duration) -> Ctx {
        Ctx {
            id: id.to_string(),
            timeout,
            deadline: Instant::now() + budget,
        }
    }

    /// What a check may spend on one network operation and still report before its
    /// deadline: the time left, less a small margin.
    pub fn op_timeout(&self) -> Duration {
        let left = self.remaining();
        left.saturating_sub((left / 20).min(Duration::from_millis(200)))
            .max(Duration::from_millis(1))
    }

    /// Time left before the deadline, for checks that spend optional effort (a
    /// directory scan for a fix) and must stop in time.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}
