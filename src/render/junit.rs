//! `--format junit`: one test case per check, for CI systems that read JUnit XML.

use std::fmt::Write;

use super::{Format, RenderOptions};
use crate::check::Status;
use crate::report::{CheckResult, Report};
use crate::sanitize::{terminal, terminal_lines};

pub static FORMAT: Format = Format {
    name: "junit",
    about: "JUnit XML: a test case per check; fail is a failure, error an error, skip skipped",
    render,
};

/// Text escaped for XML, without the characters XML 1.0 cannot hold.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// The evidence and the fix, as the body of a failure.
fn body(c: &CheckResult) -> String {
    let mut b = c
        .details
        .iter()
        .map(|d| terminal(d))
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(f) = &c.fix {
        if !b.is_empty() {
            b.push('\n');
        }
        b.push_str("fix: ");
        b.push_str(&terminal_lines(&f.text));
    }
    xml(&b)
}

fn render(report: &Report, _opts: &RenderOptions) -> String {
    let s = &report.summary;
    let secs = report.duration_ms as f64 / 1000.0;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"sitedoctor\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{secs}\">",
        s.total, s.fail, s.error, s.skip
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"sitedoctor on {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{secs}\" timestamp=\"{}\">",
        xml(&terminal(&report.host)),
        s.total,
        s.fail,
        s.error,
        s.skip,
        xml(&report.started_at)
    );
    for c in &report.checks {
        let name = match &c.title {
            Some(t) => format!("{} ({})", c.id, terminal(t)),
            None => c.id.clone(),
        };
        let _ = write!(
            out,
            "    <testcase name=\"{}\" classname=\"sitedoctor.{}\" time=\"{}\"",
            xml(&name),
            c.kind,
            c.duration_ms as f64 / 1000.0
        );
        let summary = xml(&terminal(&c.summary));
        match c.status {
            Status::Pass => out.push_str(&format!(">\n      <system-out>{summary}</system-out>\n    </testcase>\n")),
            Status::Warn => out.push_str(&format!(">\n      <system-out>WARN: {summary}\n{}</system-out>\n    </testcase>\n", body(c))),
            Status::Skip => out.push_str(&format!(">\n      <skipped message=\"{summary}\"/>\n    </testcase>\n")),
            Status::Fail => out.push_str(&format!(">\n      <failure message=\"{summary}\" type=\"fail\">{}</failure>\n    </testcase>\n", body(c))),
            Status::Error => out.push_str(&format!(">\n      <error message=\"{summary}\" type=\"error\">{}</error>\n    </testcase>\n", body(c))),
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}
