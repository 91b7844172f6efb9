//! `--format nagios`: one Nagios plugin result for the whole checklist — the first line a
//! status and the problems, the long text one line per problem, performance data after `|`.

use std::fmt::Write;

use super::{Format, RenderOptions};
use crate::check::Status;
use crate::nagios;
use crate::report::Report;
use crate::sanitize::terminal;

pub static FORMAT: Format = Format {
    name: "nagios",
    about: "a Nagios/Icinga plugin result (the exit code is already Nagios-compatible)",
    render,
};

/// A performance-data label: quoted, with `'` doubled; `=` is not allowed.
fn label(s: &str) -> String {
    format!("'{}'", terminal(s).replace('\'', "''").replace('=', "_"))
}

/// Text on the plugin's output lines: control characters made visible as on a terminal,
/// and no `|`, which would start the performance data.
fn one_line(s: &str) -> String {
    terminal(s).replace('|', " ")
}

fn render(report: &Report, _opts: &RenderOptions) -> String {
    let word = match report.worst {
        Status::Pass | Status::Skip => "OK",
        Status::Warn => "WARNING",
        Status::Fail => "CRITICAL",
        Status::Error => "UNKNOWN",
    };
    let problems: Vec<_> = report.checks.iter().filter(|c| !c.status.is_ok()).collect();
    let s = &report.summary;
    let headline = match (problems.first(), report.diagnosis.first()) {
        (None, _) => format!("{} checks passed", s.pass),
        // The status line a pager shows: the likely cause first.
        (Some(_), Some(d)) => format!(
            "{} of {} checks need attention; {}",
            problems.len(),
            s.total,
            one_line(&d.headline)
        ),
        (Some(first), None) => format!(
            "{} of {} checks need attention; {}: {}",
            problems.len(),
            s.total,
            first.id,
            one_line(&first.summary)
        ),
    };
    let mut perf = Vec::new();
    for c in &report.checks {
        for m in &c.metrics {
            let uom = match m.unit.as_str() {
                "%" | "s" | "ms" | "us" | "B" | "KB" | "MB" | "GB" | "TB" | "c" => m.unit.as_str(),
                _ => "",
            };
            let mut name = format!("{}_{}", c.id, m.name);
            for v in m.labels.values() {
                name.push('_');
                name.push_str(v);
            }
            let lower = nagios::lower_is_worse(m.warn, m.fail);
            let field = |range: &Option<String>, limit: Option<f64>| {
                range
                    .clone()
                    .or(limit.map(|v| nagios::threshold_field(v, lower)))
                    .unwrap_or_default()
            };
            let w = field(&m.warn_range, m.warn);
            let f = field(&m.fail_range, m.fail);
            perf.push(format!("{}={}{uom};{w};{f}", label(&name), m.value));
        }
    }
    let mut out = format!("SITEDOCTOR {word} - {}", one_line(&headline));
    if !perf.is_empty() {
        let _ = write!(out, " | {}", perf.join(" "));
    }
    out.push('\n');
    for c in problems {
        let _ = writeln!(
            out,
            "{} {}: {}",
            c.status.as_str().to_uppercase(),
            c.id,
            one_line(&c.summary)
        );
    }
    out
}
