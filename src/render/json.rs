//! `--format json`: the report as one JSON object (schema 1, see the README).

use super::{Format, RenderOptions};
use crate::report::Report;

pub static FORMAT: Format = Format {
    name: "json",
    about: "one JSON object: schema version, host, summary, every check with its metrics",
    render,
};

fn render(report: &Report, _opts: &RenderOptions) -> String {
    to_text(report)
}

/// Pretty JSON and a newline, with what a terminal would act on escaped (`list`, `explain`
/// and `fix` print their data this way too).
pub fn to_text(value: &impl serde::Serialize) -> String {
    let s = serde_json::to_string_pretty(value).expect("plain data always serializes");
    let mut out = escape_unsafe(&s);
    out.push('\n');
    out
}

/// The schema version of what `list`, `explain` and `fix` print with `--format json`.
pub const DATA_SCHEMA: u32 = 1;

/// A `list`, `explain` or `fix` document (an object) as [`to_text`] prints it, with the
/// `schema` version added.
pub fn data_text(mut doc: serde_json::Value) -> String {
    if let Some(map) = doc.as_object_mut() {
        map.insert("schema".into(), DATA_SCHEMA.into());
    }
    to_text(&doc)
}

/// serde_json escapes only C0 controls; DEL, C1 controls and bidirectional controls would
/// reach a terminal raw through `jq -r` or `cat`. They can only occur inside strings, where
/// `\uXXXX` means the same character.
fn escape_unsafe(json: &str) -> String {
    if !json.chars().any(crate::sanitize::is_unsafe) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        // Newlines and tabs here are the pretty-printer's own layout, outside strings.
        if crate::sanitize::is_unsafe(c) && c != '\n' {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bidi_and_c1_controls_are_escaped_and_read_back_the_same() {
        let text = "a\u{202e}b\u{9b}c\u{7f}d";
        let json = serde_json::to_string_pretty(&serde_json::json!({ "t": text })).unwrap();
        let out = super::escape_unsafe(&json);
        assert!(!out.chars().any(crate::sanitize::is_unsafe) || out.contains('\n'));
        assert!(out.contains("\\u202e") && out.contains("\\u009b") && out.contains("\\u007f"));
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back["t"], text);
    }
}
