//! `--format tap`: the Test Anything Protocol, version 14.

use std::fmt::Write;

use super::{Format, RenderOptions};
use crate::check::Status;
use crate::report::Report;
use crate::sanitize::{terminal, terminal_lines};

pub static FORMAT: Format = Format {
    name: "tap",
    about: "TAP 14: ok / not ok per check, evidence and fix as YAML diagnostics",
    render,
};

/// A YAML double-quoted scalar (of text already made safe for a terminal).
fn yaml(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// A test point description, on one line: `#` would start a directive.
fn desc(s: &str) -> String {
    terminal(s).replace('\\', "\\\\").replace('#', "\\#")
}

fn render(report: &Report, _opts: &RenderOptions) -> String {
    let mut out = format!("TAP version 14\n1..{}\n", report.checks.len());
    for (i, c) in report.checks.iter().enumerate() {
        let n = i + 1;
        let text = desc(&format!("{}: {}", c.id, c.summary));
        match c.status {
            Status::Pass => {
                let _ = writeln!(out, "ok {n} - {text}");
            }
            Status::Skip => {
                let _ = writeln!(out, "ok {n} - {} # SKIP {}", desc(&c.id), desc(&c.summary));
            }
            Status::Warn | Status::Fail | Status::Error => {
                let ok = if c.status == Status::Warn {
                    "ok"
                } else {
                    "not ok"
                };
                let _ = writeln!(out, "{ok} {n} - {text}");
                let _ = writeln!(out, "  ---\n  status: {}", c.status);
                if !c.details.is_empty() {
                    let _ = writeln!(out, "  details:");
                    for d in &c.details {
                        let _ = writeln!(out, "    - {}", yaml(&terminal(d)));
                    }
                }
                if let Some(f) = &c.fix {
                    let _ = writeln!(out, "  fix: {}", yaml(&terminal_lines(&f.text)));
                }
                let _ = writeln!(out, "  ...");
            }
        }
    }
    out
}
