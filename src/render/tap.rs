//! `--format tap`: the Test Anything Protocol, version 13 — the version the common consumers
//! (Perl's `prove` and `TAP::Parser`, most TAP reporters) read; they reject `TAP version 14`.

use std::fmt::Write;

use super::{Format, RenderOptions};
use crate::check::Status;
use crate::report::Report;
use crate::sanitize::{terminal, terminal_lines};

pub static FORMAT: Format = Format {
    name: "tap",
    about: "TAP 13: ok / not ok per check, evidence and fix as YAML diagnostics",
    render,
};

/// A YAML double-quoted scalar (of text already made safe for a terminal). A JSON string is
/// one, with one change: `: ` is written `:\x20`, since `TAP::Parser`'s YAML reader takes a
/// list item whose first word ends in a colon (`- "/var: 97% used"`) for a mapping and
/// stops reading the stream. Both it and a full YAML parser read `\x20` as a space.
fn yaml(s: &str) -> String {
    serde_json::to_string(s)
        .expect("a string serializes")
        .replace(": ", ":\\x20")
}

/// A test point description, on one line: `#` would start a directive.
fn desc(s: &str) -> String {
    terminal(s).replace('\\', "\\\\").replace('#', "\\#")
}

fn render(report: &Report, _opts: &RenderOptions) -> String {
    let mut out = format!("TAP version 13\n1..{}\n", report.checks.len());
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
