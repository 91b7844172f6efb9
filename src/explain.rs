//! `sitedoctor explain [KIND|ID|diagnosis]`: a kind's documentation, or a configured check's
//! own settings (secrets masked) then its kind's, as text, Markdown or JSON.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::checks::{self, Kind};
use crate::config::{CheckSpec, Source};
use crate::docs;
use crate::sanitize::terminal;

/// How `explain` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Text,
    Markdown,
    Json,
}

/// The text for `target`, or a usage error that names what exists (and the nearest name).
pub fn explain(
    target: Option<&str>,
    form: Form,
    specs: &[CheckSpec],
    sources: &[Source],
) -> Result<String, String> {
    let Some(target) = target else {
        return Ok(match form {
            Form::Markdown => docs::markdown(),
            Form::Json => {
                to_json(json!({ "kinds": checks::visible().map(kind_json).collect::<Vec<_>>() }))
            }
            Form::Text => checks::visible()
                .map(docs::explain)
                .collect::<Vec<_>>()
                .join("\n"),
        });
    };
    if form == Form::Markdown {
        return Err(
            "--markdown prints every kind, the README's reference: give no KIND or ID".into(),
        );
    }
    if let Some(kind) = checks::find(target) {
        return Ok(match form {
            Form::Json => to_json(json!({ "kinds": [kind_json(kind)] })),
            _ => docs::explain(kind),
        });
    }
    if target == "diagnosis" {
        return Ok(match form {
            Form::Json => to_json(json!({ "rules": crate::diagnosis::RULES
                .iter()
                .map(|r| json!({ "name": r.name, "about": r.about }))
                .collect::<Vec<_>>() })),
            _ => docs::diagnosis(),
        });
    }
    if let Some(spec) = specs.iter().find(|s| s.id == target) {
        let settings = crate::settings::of(spec, sources);
        return Ok(match form {
            Form::Json => to_json(check_json(spec, &settings)),
            _ => check_text(spec, &settings),
        });
    }
    let ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
    let mut names = checks::names();
    names.push("diagnosis");
    names.extend(&ids);
    Err(format!(
        "nothing called {:?}{}: kinds are {}; configured checks are {}",
        terminal(target),
        crate::config::suggest(target, &names),
        checks::names().join(", "),
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    ))
}

/// A configured check: where it is defined, its settings, then its kind's documentation.
fn check_text(spec: &CheckSpec, settings: &[(String, toml::Value)]) -> String {
    let mut out = format!(
        "Check {:?} is defined at {} and is of kind {:?}.\n",
        terminal(&spec.id),
        terminal(&spec.origin),
        spec.kind.name
    );
    if let Some(t) = &spec.title {
        let _ = writeln!(out, "Title: {}", terminal(t));
    }
    if !spec.tags.is_empty() {
        let tags: Vec<String> = spec.tags.iter().map(|t| terminal(t)).collect();
        let _ = writeln!(out, "Tags: {}", tags.join(", "));
    }
    if !spec.enabled {
        out.push_str("Disabled (`enabled = false`): it does not run.\n");
    }
    if settings.is_empty() {
        out.push_str("\nIts settings: none of its own; every field has its kind's default.\n");
    } else {
        out.push_str("\nIts settings (the other fields have their kind's default):\n");
        for (k, v) in settings {
            let _ = writeln!(out, "  {k} = {}", terminal(&v.to_string()));
        }
    }
    out.push('\n');
    out.push_str(&docs::explain(spec.kind));
    out
}

fn check_json(spec: &CheckSpec, settings: &[(String, toml::Value)]) -> Value {
    let settings: serde_json::Map<String, Value> = settings
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
        .collect();
    json!({
        "check": {
            "id": spec.id,
            "kind": spec.kind.name,
            "title": spec.title,
            "tags": spec.tags,
            "enabled": spec.enabled,
            "origin": spec.origin,
            "settings": settings,
        },
        "kinds": [kind_json(spec.kind)],
    })
}

/// A kind's documentation as data: what `explain --format json` gives for each kind.
pub fn kind_json(k: &Kind) -> Value {
    json!({
        "name": k.name,
        "summary": k.summary,
        "why": docs::squash(k.why),
        "looks_at": docs::squash(k.looks_at),
        "fixes": docs::squash(k.fixes),
        "fields": k.field_docs.iter().map(|f| json!({
            "name": f.name,
            "type": f.ty,
            "default": f.default,
            "doc": f.doc,
        })).collect::<Vec<_>>(),
        "example": k.example,
    })
}

/// Pretty JSON with a newline, safe for a terminal as the report's is.
pub fn to_json(v: Value) -> String {
    crate::render::json_data(v)
}
