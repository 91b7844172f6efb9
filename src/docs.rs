//! `list` and `explain`, generated from the registry of kinds, as text or Markdown.

use std::fmt::Write;

use crate::checks::{self, Kind};
use crate::config::{COMMON_FIELDS, CheckSpec};
use crate::sanitize::terminal;

/// `sitedoctor list`: every kind, then the configured checks — with `--only`/`--skip`, those
/// that would run (`selection` says which options chose them, and of how many). Titles, tags
/// and file names come from configuration files and are printed made safe for a terminal.
pub fn list(specs: &[CheckSpec], sources: &[String], selection: Option<(&str, usize)>) -> String {
    let mut out = String::from("Check kinds (`sitedoctor explain KIND` for details):\n");
    let width = checks::visible().map(|k| k.name.len()).max().unwrap_or(0);
    for k in checks::visible() {
        let _ = writeln!(out, "  {:width$}  {}", k.name, k.summary);
    }
    let sources: Vec<String> = sources.iter().map(|s| terminal(s)).collect();
    let count = match selection {
        Some((words, total)) => format!("{} of {total}, that {words} would run", specs.len()),
        None => specs.len().to_string(),
    };
    let _ = writeln!(out, "\nChecks in {} ({count}):", sources.join(", "));
    let idw = specs.iter().map(|s| s.id.len()).max().unwrap_or(0);
    let kw = specs.iter().map(|s| s.kind.name.len()).max().unwrap_or(0);
    for s in specs {
        let mut extra = Vec::new();
        if !s.tags.is_empty() {
            let tags: Vec<String> = s.tags.iter().map(|t| terminal(t)).collect();
            extra.push(format!("tags: {}", tags.join(", ")));
        }
        if !s.enabled {
            extra.push("disabled".into());
        }
        let extra = if extra.is_empty() {
            String::new()
        } else {
            format!("  [{}]", extra.join("; "))
        };
        let title = s
            .title
            .as_deref()
            .map_or(String::new(), |t| format!(" — {}", terminal(t)));
        let _ = writeln!(
            out,
            "  {:idw$}  {:kw$}  {}{title}{extra}",
            s.id,
            s.kind.name,
            terminal(&s.origin)
        );
    }
    out
}

/// `sitedoctor list --format json`: the same as data (see the README).
pub fn list_json(
    specs: &[CheckSpec],
    sources: &[String],
    only: &[String],
    skip: &[String],
) -> String {
    let checks: Vec<serde_json::Value> = specs
        .iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id,
                "kind": s.kind.name,
                "title": s.title,
                "tags": s.tags,
                "enabled": s.enabled,
                "origin": s.origin,
            })
        })
        .collect();
    let kinds: Vec<serde_json::Value> = checks::visible()
        .map(|k| serde_json::json!({ "name": k.name, "summary": k.summary }))
        .collect();
    crate::render::json_data(serde_json::json!({
        "kinds": kinds,
        "sources": sources,
        "only": only,
        "skip": skip,
        "checks": checks,
    }))
}

/// `sitedoctor explain KIND` as text.
pub fn explain(kind: &Kind) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}\n", kind.name, kind.summary);
    for (head, body) in [
        ("Why it matters for a 500", kind.why),
        ("What it looks at", kind.looks_at),
        ("How to fix", kind.fixes),
    ] {
        let _ = writeln!(out, "{head}:\n  {}\n", squash(body));
    }
    let _ = writeln!(
        out,
        "Fields (besides the common {}):",
        COMMON_FIELDS.join(", ")
    );
    let w = kind
        .field_docs
        .iter()
        .map(|f| f.name.len())
        .max()
        .unwrap_or(0);
    for f in kind.field_docs {
        let _ = writeln!(
            out,
            "  {:w$}  {} (default {}): {}",
            f.name, f.ty, f.default, f.doc
        );
    }
    let _ = writeln!(out, "\nExample:\n");
    for line in kind.example.lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// Every visible kind as Markdown: the README's configuration reference.
pub fn markdown() -> String {
    let mut out = String::new();
    for k in checks::KINDS.iter().filter(|k| !k.hidden) {
        let _ = writeln!(out, "### `{}` — {}\n", k.name, k.summary);
        let _ = writeln!(out, "{}\n", squash(k.why));
        let _ = writeln!(out, "**Looks at:** {}\n", squash(k.looks_at));
        let _ = writeln!(out, "**Fix:** {}\n", squash(k.fixes));
        let _ = writeln!(
            out,
            "| field | type | default | meaning |\n|---|---|---|---|"
        );
        for f in k.field_docs {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                f.name,
                f.ty,
                code_if_literal(f.default),
                f.doc.replace('|', "\\|")
            );
        }
        let _ = writeln!(out, "\n```toml\n{}```\n", k.example);
    }
    out
}

/// A default that is a TOML literal (`"85%"`, `1.5`, `false`) is shown as code; prose is not.
fn code_if_literal(d: &str) -> String {
    let literal = d.starts_with('"')
        || d.starts_with(|c: char| c.is_ascii_digit())
        || ["true", "false", "[]"].contains(&d);
    if literal {
        format!("`{d}`")
    } else {
        d.to_string()
    }
}

/// Doc strings are written across source lines; print them as flowing text.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `sitedoctor explain diagnosis`: the links the diagnosis makes, from its registry.
pub fn diagnosis() -> String {
    let mut out = String::from(
        "The diagnosis links findings of different checks when they name the same subject \
         (a file, a mount that holds a path, an address), and ranks the causes it can prove:\n\n",
    );
    for r in crate::diagnosis::RULES {
        out.push_str(&format!("  {:<22} {}\n", r.name, r.about));
    }
    out.push_str(
        "\nWhen nothing links, the failing checks are listed unlinked, most likely cause of a \
         500 first; when the site answered an error that no log entry explains, it says which \
         logs were read.\n",
    );
    out
}
