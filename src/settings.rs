//! A configured check's own settings as its file writes them, secrets masked: what
//! `sitedoctor explain ID` shows before the kind's documentation.

use std::collections::BTreeMap;

use crate::config::{CheckSpec, Source};
use crate::net::redact::{self, Secrets};

/// The fields every check has, shown apart from the kind's own settings.
const SHOWN_APART: &[&str] = &["id", "kind", "title", "tags", "enabled"];

/// The kind's own fields of `spec` (and `timeout`, `severity`), each with its value as
/// written, every secret in it masked; none when its source cannot be read back.
pub fn of(spec: &CheckSpec, sources: &[Source]) -> Vec<(String, toml::Value)> {
    let Some(table) = table_of(spec, sources) else {
        return Vec::new();
    };
    let secrets = secrets_in(&table);
    table
        .iter()
        .filter(|(k, _)| !SHOWN_APART.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), mask(k, v, &secrets)))
        .collect()
}

/// The `[[check]]` table that defined `spec`, found by its id in the file its origin names.
fn table_of(spec: &CheckSpec, sources: &[Source]) -> Option<toml::Table> {
    let src = sources.iter().find(|s| {
        spec.origin
            .strip_prefix(s.name.as_str())
            .is_some_and(|rest| rest.starts_with(':'))
    })?;
    let doc: toml::Table = src.text.parse().ok()?;
    let checks = doc.get("check")?.as_array()?;
    checks
        .iter()
        .filter_map(toml::Value::as_table)
        .find(|t| t.get("id").and_then(toml::Value::as_str) == Some(spec.id.as_str()))
        .cloned()
}

/// A value with what its name says is secret replaced by [`redact::MASK`] (a field or a key
/// named like a secret, every value of `env`), and in every other string the configured
/// `secrets` and whatever looks like a credential masked.
fn mask(name: &str, v: &toml::Value, secrets: &Secrets) -> toml::Value {
    let hidden = || toml::Value::String(redact::MASK.into());
    match v {
        toml::Value::Table(t) => toml::Value::Table(
            t.iter()
                .map(|(k, v)| {
                    let secret = name == "env" || redact::is_secret_name(k);
                    (
                        k.clone(),
                        if secret {
                            hidden()
                        } else {
                            mask(k, v, secrets)
                        },
                    )
                })
                .collect(),
        ),
        toml::Value::Array(items) => {
            toml::Value::Array(items.iter().map(|i| mask(name, i, secrets)).collect())
        }
        _ if redact::is_secret_name(name) => hidden(),
        toml::Value::String(s) => toml::Value::String(redact::text(&secrets.mask(s))),
        other => other.clone(),
    }
}

/// The secrets a check of any kind was configured with, as the checks themselves collect
/// them: a URL's credentials, header values, a body, a program's `env` and arguments.
fn secrets_in(table: &toml::Table) -> Secrets {
    let strings = |v: Option<&toml::Value>| -> Vec<String> {
        match v {
            Some(toml::Value::String(s)) => vec![s.clone()],
            Some(toml::Value::Array(a)) => a
                .iter()
                .filter_map(|i| i.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        }
    };
    let env: BTreeMap<String, String> = table
        .get("env")
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let mut argv = strings(table.get("command"));
    argv.extend(strings(table.get("plugin")));
    argv.extend(strings(table.get("args")));
    let mut s = crate::checks::secrets_of(&argv, &env);
    for u in strings(table.get("url")) {
        if let Ok(u) = reqwest::Url::parse(&u) {
            s.add_url(&u);
        }
    }
    if let Some(h) = table.get("headers").and_then(toml::Value::as_table) {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                s.add_header(k, v);
            }
        }
    }
    for b in strings(table.get("body")) {
        s.add_body(&b);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(toml: &str) -> Vec<(String, String)> {
        let src = Source {
            name: "t.toml".into(),
            text: toml.into(),
        };
        let specs = crate::config::load(std::slice::from_ref(&src)).expect("valid");
        of(&specs[0], &[src])
            .into_iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect()
    }

    #[test]
    fn secrets_never_show() {
        let got = shown(
            r#"[[check]]
id = "api"
kind = "http"
url = "https://deploy:hunter2@api.example/health?token=abc123&page=2"
headers = { Authorization = "Bearer s3cr3tvalue", Accept = "text/html", X-Custom = "opaque-42" }
body = "user=me&password=pa55word"
warn_latency = "2s"
"#,
        );
        let all = format!("{got:?}");
        for secret in [
            "hunter2",
            "deploy",
            "abc123",
            "s3cr3tvalue",
            "opaque-42",
            "pa55word",
        ] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(all.contains("api.example/health"), "{all}");
        assert!(all.contains("text/html"), "{all}");
        assert!(
            got.contains(&("warn_latency".into(), "\"2s\"".into())),
            "{all}"
        );
    }

    #[test]
    fn a_programs_env_and_arguments_are_masked() {
        let got = shown(
            r#"[[check]]
id = "db"
kind = "command"
command = ["mysql", "-pTopSecret", "--password=other1", "-e", "select 1"]
env = { PGPASSWORD = "pgsecret", PLAIN = "also-hidden" }
"#,
        );
        let all = format!("{got:?}");
        for secret in ["TopSecret", "other1", "pgsecret", "also-hidden"] {
            assert!(!all.contains(secret), "{secret} in {all}");
        }
        assert!(all.contains("select 1"), "{all}");
    }
}
