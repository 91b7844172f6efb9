//! The human report: problems first, each with its evidence and fix; then the passing checks
//! in one compact block (with `--verbose`, their evidence too, and every check's duration);
//! then a closing line with the counts and the duration. Given a width, long lines wrap
//! with a hanging indent — all but the fixes, which must stay one command a line to paste.

use owo_colors::OwoColorize;

use super::wrap::wrap;
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

/// The report's text, each line wrapped to the width when there is one.
struct Out {
    text: String,
    width: Option<usize>,
}

impl Out {
    /// One line; its continuations start `hang` columns in.
    fn line(&mut self, line: &str, hang: usize) {
        match self.width {
            Some(max) => {
                for l in wrap(line, max, hang) {
                    self.raw(&l);
                }
            }
            None => self.raw(line),
        }
    }

    /// One line as it is (a fix: a command cut in two would not paste).
    fn raw(&mut self, line: &str) {
        self.text.push_str(line);
        self.text.push('\n');
    }

    fn blank(&mut self) {
        self.text.push('\n');
    }
}

/// Evidence lines under a check: all of them with `--verbose`, else the first few.
fn details(out: &mut Out, c: &CheckResult, verbose: bool, p: &Paint) {
    let shown = if verbose { usize::MAX } else { MAX_DETAILS };
    for d in c.details.iter().take(shown) {
        out.line(&format!("      {}", terminal(d)), 8);
    }
    if c.details.len() > shown {
        out.line(
            &format!(
                "      {}",
                p.dim(&format!(
                    "… {} more (see --format json, or -v)",
                    c.details.len() - shown
                ))
            ),
            8,
        );
    }
}

/// `--verbose`: how long the check took, after its summary.
fn took(c: &CheckResult, verbose: bool, p: &Paint) -> String {
    if !verbose {
        return String::new();
    }
    let d = fmt_duration(std::time::Duration::from_millis(c.duration_ms));
    format!(" {}", p.dim(&format!("({d})")))
}

/// How many causes the human report shows: the first screen must hold them and their fixes.
const MAX_CAUSES: usize = 3;

/// The opening block: the likely causes, each with its evidence and the fix to try first.
fn diagnosis(out: &mut Out, report: &Report, p: &Paint) {
    let list = &report.diagnosis;
    if list.is_empty() {
        return;
    }
    let head = if list.iter().any(|d| d.linked) {
        "Diagnosis: the likely cause, from evidence that links across checks"
    } else {
        "Diagnosis: no finding links to another; the problems, most likely cause of a 500 first"
    };
    out.line(&p.bold(head), 2);
    for (i, d) in list.iter().take(MAX_CAUSES).enumerate() {
        out.line(&format!("  {}. {}", i + 1, terminal(&d.headline)), 5);
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
            out.line(
                &format!("     {} {}", p.dim("evidence:"), chain.join(" ↔ ")),
                7,
            );
        }
        if let Some(fix) = &d.fix {
            for (j, line) in fix.lines().take(4).enumerate() {
                let lead = if j == 0 { "fix:" } else { "    " };
                out.raw(&format!("     {} {}", p.bold(lead), p.fix(&terminal(line))));
            }
        }
    }
    out.blank();
}

fn render(report: &Report, opts: &RenderOptions) -> String {
    let p = Paint(opts.color);
    let mut out = Out {
        text: String::new(),
        width: opts.width,
    };
    let mut problems: Vec<&CheckResult> =
        report.checks.iter().filter(|c| !c.status.is_ok()).collect();
    if opts.quiet && problems.is_empty() {
        return out.text;
    }
    // Worst first; checklist order within a status.
    problems.sort_by_key(|c| std::cmp::Reverse(c.status.rank()));
    diagnosis(&mut out, report, &p);

    for c in &problems {
        out.line(
            &format!(
                "{} {}: {}{}",
                p.status(c.status),
                p.bold(&name_of(c)),
                terminal(&c.summary),
                took(c, opts.verbose, &p)
            ),
            6,
        );
        details(&mut out, c, opts.verbose, &p);
        if let Some(fix) = &c.fix {
            for (i, line) in fix.text.lines().enumerate() {
                let lead = if i == 0 { "fix:" } else { "    " };
                out.raw(&format!(
                    "      {} {}",
                    p.bold(lead),
                    p.fix(&terminal(line))
                ));
            }
        }
        out.blank();
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
            out.line(
                &format!(
                    "{} {}{} {}{}",
                    p.status(c.status),
                    name,
                    " ".repeat(pad),
                    p.dim(&terminal(&c.summary)),
                    took(c, opts.verbose, &p)
                ),
                7 + width,
            );
            if opts.verbose {
                details(&mut out, c, true, &p);
            }
        }
        if !fine.is_empty() {
            out.blank();
        }
    }

    let s = &report.summary;
    let mut parts = s.parts();
    if parts.is_empty() {
        parts.push("no checks ran".into());
    }
    let verdict = if problems.is_empty() {
        "all clear"
    } else {
        "problems found"
    };
    out.line(
        &format!(
            "{}: {} — {} check(s) on {} in {}",
            p.bold(verdict),
            parts.join(", "),
            s.total,
            terminal(&report.host),
            fmt_duration(std::time::Duration::from_millis(report.duration_ms))
        ),
        2,
    );
    out.text
}
