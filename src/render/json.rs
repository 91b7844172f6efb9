//! `--format json`: the report as one JSON object (schema 1, see the README).

use super::{Format, RenderOptions};
use crate::report::Report;

pub static FORMAT: Format = Format {
    name: "json",
    about: "one JSON object: schema version, host, summary, every check with its metrics",
    render,
};

fn render(report: &Report, _opts: &RenderOptions) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report always serializes");
    s.push('\n');
    s
}
