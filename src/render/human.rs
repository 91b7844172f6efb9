//! The human report: problems first, each with its evidence and fix; then the passing checks
//! in one compact block; then a closing line with the counts and the duration.

use std::fmt::Write;

use owo_colors::OwoColorize;

use super::{Format, RenderOptions};
use crate::check::Status;
use crate::report::{CheckResult, Report};
use crate::sanitize::terminal;
use crate::units::fmt_duration;

pub static FORMAT: Format = Format {
    name: "human",
    about: "for people: problems first with their fixes, then what passed",
    render,
};

/// How many evidence lines a problem shows before "… N more".
const MAX_DETAILS: usize = 12;

struct Paint(bool);

impl Paint {
    fn status(&self, s: Status) -> String {
        let label = match s {
            Status::Fail => "FAIL ",
            Status::Error => "ERROR",
            Status::Warn => "WARN ",
            Status::Pass => "ok   ",
            Status::Skip => "skip ",
        };
        if !self.0 {
            return label.to_string();
        }
        match s {
            Status::Fail => label.red().bold().to_string(),
            Status::Error => label.magenta().bold().to_string(),
            Status::Warn => label.yellow().bold().to_string(),
            Status::Pass => label.green().to_string(),
            Status::Skip => label.dimmed().to_string(),
        }
    }

    fn bold(&self, s: &str) -> String {
        if self.0 {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }

    fn dim(&self, s: &str) -> String {
        if self.0 {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }

    fn fix(&self, s: &str) -> String {
        if self.0 {
            s.cyan().to_string()
        } else {
            s.to_string()
        }
    }
}

fn name_of(c: &CheckResult) -> String {
    match &c.title {
        Some(t) => format!("{} ({})", c.id, terminal(t)),
        None => c.id.clone(),
    }
}

/// How many causes the human report shows: the first screen must hold them and their fixes.
const MAX_CAUSES: usize = 3;

/// The opening block: the likely causes, each with its evidence and the fix to try first.
fn diagnosis(out: &mut String, report: &Report, p: &Paint) {
    let list = &report.diagnosis;
    if list.is_empty() {
        return;
    }
    let head = if list.iter().any(|d| d.linked) {
        "Diagnosis: the likely cause, from evidence that links across checks"
    } else {
        "Diagnosis: no finding links to another; the problems, most likely cause of a 500 first"
    };
    let _ = writeln!(out, "{}", p.bold(head));
    for (i, d) in list.iter().take(MAX_CAUSES).enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, terminal(&d.headline));
        if d.linked {
            let chain: Vec<String> = d
                .evidence
                .iter()
                .map(|e| {
                    format!(
                        "{} ({})",
                        terminal(&crate::units::clip(&e.text, 80)),
                        e.check
                    )
                })
                .collect();
            let _ = writeln!(out, "     {} {}", p.dim("evidence:"), chain.join(" ↔ "));
        }
        if let Some(fix) = &d.fix {
            for (j, line) in fix.lines().take(4).enumerate() {
                let lead = if j == 0 { "fix:" } else { "    " };
                let _ = writeln!(out, "     {} {}", p.bold(lead), p.fix(&terminal(line)));
            }
        }
    }
    out.push('\n');
}

fn render(report: &Report, opts: &RenderOptions) -> String {
    let p = Paint(opts.color);
    let mut out = String::new();
    let mut problems: Vec<&CheckResult> =
        report.checks.iter().filter(|c| !c.status.is_ok()).collect();
    if opts.quiet && problems.is_empty() {
        return out;
    }
    // Worst first; checklist order within a status.
    problems.sort_by_key(|c| std::cmp::Reverse(c.status.rank()));
    diagnosis(&mut out, report, &p);

    for c in &problems {
        let _ = writeln!(
            out,
            "{} {}: {}",
            p.status(c.status),
            p.bold(&name_of(c)),
            terminal(&c.summary)
        );
        for d in c.details.iter().take(MAX_DETAILS) {
            let _ = writeln!(out, "      {}", terminal(d));
        }
        if c.details.len() > MAX_DETAILS {
            let _ = writeln!(
                out,
                "      {}",
                p.dim(&format!(
                    "… {} more (see --format json)",
                    c.details.len() - MAX_DETAILS
                ))
            );
        }
        if let Some(fix) = &c.fix {
            for (i, line) in fix.text.lines().enumerate() {
                let lead = if i == 0 { "fix:" } else { "    " };
                let _ = writeln!(out, "      {} {}", p.bold(lead), p.fix(&terminal(line)));
            }
        }
        out.push('\n');
    }

    if !opts.quiet {
        let fine: Vec<&CheckResult> = report.checks.iter().filter(|c| c.status.is_ok()).collect();
        let width = fine
            .iter()
            .map(|c| name_of(c).chars().count())
            .max()
            .unwrap_or(0);
        for c in &fine {
            let name = name_of(c);
            let pad = width.saturating_sub(name.chars().count());
            let _ = writeln!(
                out,
                "{} {}{} {}",
                p.status(c.status),
                name,
                " ".repeat(pad),
                p.dim(&terminal(&c.summary))
            );
        }
        if !fine.is_empty() {
            out.push('\n');
        }
    }

    let s = &report.summary;
    let mut parts = Vec::new();
    for (status, word) in [
        (Status::Fail, "failed"),
        (Status::Error, "errored"),
        (Status::Warn, "warned"),
        (Status::Pass, "passed"),
        (Status::Skip, "skipped"),
    ] {
        let n = s.get(status);
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    if parts.is_empty() {
        parts.push("no checks ran".into());
    }
    let verdict = if problems.is_empty() {
        "all clear"
    } else {
        "problems found"
    };
    let _ = writeln!(
        out,
        "{}: {} — {} check(s) on {} in {}",
        p.bold(verdict),
        parts.join(", "),
        s.total,
        terminal(&report.host),
        fmt_duration(std::time::Duration::from_millis(report.duration_ms))
    );
    out
}
