//! `--format github`: GitHub Actions workflow commands — an annotation per problem, so a
//! failed deploy gate shows why on the run's summary page.

use std::fmt::Write;

use super::{Format, RenderOptions};
use crate::check::Status;
use crate::report::Report;
use crate::sanitize::{terminal, terminal_lines};

pub static FORMAT: Format = Format {
    name: "github",
    about: "GitHub Actions annotations: ::error for fail and error, ::warning for warn",
    render,
};

/// Message text: `%`, CR and LF are escaped so one annotation stays one command. (Control
/// characters inside the report's texts were already made visible, as on a terminal.)
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Property values also escape `:` and `,`.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

fn render(report: &Report, _opts: &RenderOptions) -> String {
    let mut out = String::new();
    // The first annotation is the answer: the likely cause and the fix to try first.
    if let Some(d) = report.diagnosis.first() {
        let level = match report.worst {
            Status::Fail | Status::Error => "error",
            _ => "warning",
        };
        let mut msg = terminal(&d.headline);
        if let Some(fix) = &d.fix {
            msg.push_str("\nfix: ");
            msg.push_str(&terminal_lines(fix));
        }
        let _ = writeln!(
            out,
            "::{level} title={}::{}",
            property("sitedoctor diagnosis"),
            data(&msg)
        );
    }
    for c in &report.checks {
        let level = match c.status {
            Status::Fail | Status::Error => "error",
            Status::Warn => "warning",
            Status::Pass | Status::Skip => continue,
        };
        let mut msg = format!("{}: {}", c.status, terminal(&c.summary));
        for d in &c.details {
            msg.push('\n');
            msg.push_str(&terminal(d));
        }
        if let Some(f) = &c.fix {
            msg.push_str("\nfix: ");
            msg.push_str(&terminal_lines(&f.text));
        }
        let _ = writeln!(
            out,
            "::{level} title={}::{}",
            property(&format!("sitedoctor {}", terminal(&c.id))),
            data(&msg)
        );
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "sitedoctor: {} failed, {} errored, {} warned, {} passed, {} skipped",
        s.fail, s.error, s.warn, s.pass, s.skip
    );
    out
}
