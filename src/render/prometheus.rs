//! `--format prometheus`: a node_exporter textfile (write it with `--output`, atomically).

use std::fmt::Write;

use super::{Format, RenderOptions};
use crate::check::Status;
use crate::report::Report;

pub static FORMAT: Format = Format {
    name: "prometheus",
    about: "node_exporter textfile metrics: status and measurements of every check",
    render,
};

/// The numbers `sitedoctor_check_status` uses: the exit-code scale, skip as -1.
fn code(s: Status) -> i32 {
    match s {
        Status::Pass => 0,
        Status::Warn => 1,
        Status::Fail => 2,
        Status::Error => 3,
        Status::Skip => -1,
    }
}

/// A label value, escaped as the text format requires, its control characters first made
/// visible as on a terminal (the format itself would carry them raw).
fn esc(v: &str) -> String {
    crate::sanitize::terminal(v)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A label name: letters, digits and underscores, not starting with a digit.
fn label_name(k: &str) -> String {
    let mut s: String = k
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) || s.is_empty() {
        s.insert(0, '_');
    }
    s
}

fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "NaN".into()
    }
}

/// A metric family's HELP and TYPE lines (every family here is a gauge).
fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

fn render(report: &Report, _opts: &RenderOptions) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "sitedoctor_check_status",
        "Worst result of the check: 0 pass, 1 warn, 2 fail, 3 error, -1 skip.",
    );
    for c in &report.checks {
        let _ = writeln!(
            out,
            "sitedoctor_check_status{{id=\"{}\",kind=\"{}\"}} {}",
            esc(&c.id),
            c.kind,
            code(c.status)
        );
    }
    family(
        &mut out,
        "sitedoctor_check_duration_seconds",
        "How long the check took.",
    );
    for c in &report.checks {
        let _ = writeln!(
            out,
            "sitedoctor_check_duration_seconds{{id=\"{}\"}} {}",
            esc(&c.id),
            c.duration_ms as f64 / 1000.0
        );
    }
    family(
        &mut out,
        "sitedoctor_check_metric",
        "A measurement of a check (name and unit as labels).",
    );
    for c in &report.checks {
        for m in &c.metrics {
            let mut labels = format!(
                "id=\"{}\",name=\"{}\",unit=\"{}\"",
                esc(&c.id),
                esc(&m.name),
                esc(&m.unit)
            );
            for (k, v) in &m.labels {
                let _ = write!(labels, ",{}=\"{}\"", label_name(k), esc(v));
            }
            let _ = writeln!(out, "sitedoctor_check_metric{{{labels}}} {}", num(m.value));
        }
    }
    family(
        &mut out,
        "sitedoctor_checks",
        "Checks per result in the last run.",
    );
    for s in Status::ALL {
        let _ = writeln!(
            out,
            "sitedoctor_checks{{status=\"{s}\"}} {}",
            report.summary.get(s)
        );
    }
    family(
        &mut out,
        "sitedoctor_diagnosis_info",
        "The likely causes of a 500, strongest first (rank 1), with what they are about.",
    );
    for (i, d) in report.diagnosis.iter().enumerate() {
        // What it is about; for a check that records no findings, the check itself.
        let subject = d.subject.as_ref().map_or_else(
            || {
                d.evidence
                    .first()
                    .map_or(String::new(), |e| e.check.clone())
            },
            |s| s.label(),
        );
        let _ = writeln!(
            out,
            "sitedoctor_diagnosis_info{{rank=\"{}\",cause=\"{}\",subject=\"{}\",rule=\"{}\",linked=\"{}\"}} 1",
            i + 1,
            d.cause.as_str(),
            esc(&subject),
            d.rule,
            d.linked
        );
    }
    family(
        &mut out,
        "sitedoctor_run_duration_seconds",
        "How long the whole run took.",
    );
    let _ = writeln!(
        out,
        "sitedoctor_run_duration_seconds {}",
        report.duration_ms as f64 / 1000.0
    );
    family(
        &mut out,
        "sitedoctor_last_run_timestamp_seconds",
        "When the run started (Unix time).",
    );
    let started = humantime::parse_rfc3339(&report.started_at)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let _ = writeln!(out, "sitedoctor_last_run_timestamp_seconds {started}");
    out
}
