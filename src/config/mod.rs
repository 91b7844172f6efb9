//! Check definitions: TOML `[[check]]` tables validated into typed [`CheckSpec`]s before
//! anything runs, with errors that name file:line:column.

mod error;
pub mod source;
pub mod trust;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub use crate::span::SpanError;
pub use error::ConfigError;
pub use source::{Resolved, Source};
pub use trust::Distrust;

use crate::check::Status;
use crate::checks::Check;
use crate::checks::{self, Kind};
use crate::units::Dur;

/// The fields every check table may have, beside its kind's own.
pub const COMMON_FIELDS: &[&str] = &[
    "id", "kind", "title", "timeout", "severity", "tags", "enabled",
];

/// The status a non-passing result is set to (`severity = "warn"` caps, `"fail"` raises).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warn,
    Fail,
}

impl Severity {
    pub fn apply(self, status: Status) -> Status {
        match (status, self) {
            (Status::Warn | Status::Fail, Severity::Warn) => Status::Warn,
            (Status::Warn | Status::Fail, Severity::Fail) => Status::Fail,
            (s, _) => s,
        }
    }
}

/// A validated check, ready for the runner.
#[derive(Debug, Clone)]
pub struct CheckSpec {
    pub id: String,
    pub kind: &'static Kind,
    pub title: Option<String>,
    pub timeout: Option<Duration>,
    pub severity: Option<Severity>,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// `file:line` where it is defined.
    pub origin: String,
    pub check: Arc<dyn Check>,
}

impl CheckSpec {
    /// Selected by `--only`/`--skip` word: its id or one of its tags.
    pub fn matches(&self, word: &str) -> bool {
        self.id == word || self.tags.iter().any(|t| t == word)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    id: Spanned<String>,
    #[allow(dead_code)]
    kind: String,
    title: Option<String>,
    timeout: Option<Dur>,
    severity: Option<Severity>,
    #[serde(default)]
    tags: Vec<Spanned<String>>,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

/// Parse and validate every source; ids must be unique across all of them.
pub fn load(sources: &[Source]) -> Result<Vec<CheckSpec>, ConfigError> {
    Ok(specs_of(load_each(sources)?))
}

/// A check, and why it may not come from a file other users can change.
type Parsed = (CheckSpec, Option<trust::Danger>);
/// A check as parsed, with the span of its id.
type Located = (CheckSpec, Range<usize>, Option<trust::Danger>);

fn specs_of(groups: Vec<Vec<Parsed>>) -> Vec<CheckSpec> {
    groups.into_iter().flatten().map(|(spec, _)| spec).collect()
}

/// The checks of every resolved file, and the files another user could change.
#[derive(Debug)]
pub struct Loaded {
    pub specs: Vec<CheckSpec>,
    pub untrusted: Vec<Distrust>,
}

/// Like [`load`], refusing a file another user can change when it runs programs or reveals
/// what files hold (see [`trust::danger`]); any other such file is kept, to be reported as a
/// warning.
pub fn load_resolved(resolved: &Resolved) -> Result<Loaded, ConfigError> {
    let groups = load_each(&resolved.sources)?;
    let mut untrusted = Vec::new();
    for ((src, specs), distrust) in resolved.sources.iter().zip(&groups).zip(&resolved.distrust) {
        let Some(distrust) = distrust else { continue };
        // Programs first: the graver reason, whatever order the file lists its checks in.
        let worst = [trust::Danger::RunsPrograms, trust::Danger::RevealsFiles]
            .into_iter()
            .find_map(|d| specs.iter().find(|(_, got)| *got == Some(d)));
        if let Some((spec, Some(danger))) = worst {
            return Err(trust::refuse_check(
                &src.name,
                &spec.id,
                spec.kind.name,
                &spec.origin,
                *danger,
                distrust,
            ));
        }
        untrusted.push(distrust.clone());
    }
    Ok(Loaded {
        specs: specs_of(groups),
        untrusted,
    })
}

/// The checks of each source in turn. A file that defines none is an error: running nothing
/// must never pass for success (an emptied file would open a deploy gate).
fn load_each(sources: &[Source]) -> Result<Vec<Vec<Parsed>>, ConfigError> {
    let mut groups: Vec<Vec<Parsed>> = Vec::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    for src in sources {
        let parsed = parse_source(src)?;
        if parsed.is_empty() {
            return Err(ConfigError::file(
                &src.name,
                "no checks to run: this file defines no [[check]]",
            ));
        }
        let mut group = Vec::new();
        for (spec, id_span, danger) in parsed {
            let (l, c) = error::line_col(&src.text, id_span.start);
            let here = format!("{}:{l}:{c}", src.name);
            if let Some(first) = seen.get(&spec.id) {
                return Err(ConfigError::at(
                    &src.name,
                    &src.text,
                    Some(id_span),
                    format!(
                        "duplicate check id {:?}: already defined at {first}",
                        spec.id
                    ),
                ));
            }
            seen.insert(spec.id.clone(), here);
            group.push((spec, danger));
        }
        groups.push(group);
    }
    Ok(groups)
}

/// The checks of one file, with the span of each id (for duplicate reports) and its danger.
fn parse_source(src: &Source) -> Result<Vec<Located>, ConfigError> {
    let locate = |span: Range<usize>| Some(error::line_col(&src.text, span.start));
    let err =
        |span: Option<Range<usize>>, msg: String| ConfigError::at(&src.name, &src.text, span, msg);
    let root = DeTable::parse(&src.text).map_err(|e| {
        let e = SpanError::from(e);
        err(e.span, format!("TOML syntax error: {}", e.message))
    })?;
    let root = root.into_inner();
    let mut out = Vec::new();
    for (key, value) in root.iter() {
        if key.get_ref() != "check" {
            return Err(err(
                Some(key.span()),
                format!(
                    "unknown top-level key `{}`: a checklist file holds only [[check]] tables",
                    key.get_ref()
                ),
            ));
        }
        let DeValue::Array(items) = value.get_ref() else {
            return Err(err(
                Some(value.span()),
                "`check` must be an array of tables: write [[check]], with two brackets".into(),
            ));
        };
        for item in items.iter() {
            let (mut spec, id_span, danger) =
                parse_check(item).map_err(|e| err(e.span, e.message))?;
            spec.origin = match locate(item.span()) {
                Some((line, _)) => format!("{}:{line}", src.name),
                None => src.name.clone(),
            };
            out.push((spec, id_span, danger));
        }
    }
    Ok(out)
}

fn parse_check(item: &Spanned<DeValue<'_>>) -> Result<Located, SpanError> {
    let DeValue::Table(table) = item.get_ref() else {
        return Err(SpanError::new(
            item.span(),
            "each [[check]] entry must be a table",
        ));
    };
    let Some(kind_value) = table.get("kind") else {
        return Err(SpanError::new(
            item.span(),
            format!(
                "check has no `kind`; expected one of: {}",
                checks::names().join(", ")
            ),
        ));
    };
    let Some(kind_name) = kind_value.get_ref().as_str() else {
        return Err(SpanError::new(kind_value.span(), "`kind` must be a string"));
    };
    let Some(kind) = checks::find(kind_name) else {
        return Err(SpanError::new(
            kind_value.span(),
            format!(
                "unknown check kind {kind_name:?}{}; expected one of: {}",
                suggest(kind_name, &checks::names()),
                checks::names().join(", ")
            ),
        ));
    };

    let own_fields = (kind.fields)();
    let mut common = DeTable::new();
    let mut own = DeTable::new();
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        if COMMON_FIELDS.contains(&name) {
            common.insert(key.clone(), value.clone());
        } else if own_fields.contains(&name) {
            own.insert(key.clone(), value.clone());
        } else {
            let valid: Vec<&str> = COMMON_FIELDS.iter().chain(own_fields).copied().collect();
            return Err(SpanError::new(
                key.span(),
                format!(
                    "unknown field `{name}` for kind {:?}{}; valid fields: {}",
                    kind.name,
                    suggest(name, &valid),
                    valid.join(", ")
                ),
            ));
        }
    }
    let common_value = Spanned::new(item.span(), DeValue::Table(common));
    let common = Common::deserialize(toml::de::ValueDeserializer::from(common_value))
        .map_err(|e| missing_field_at(SpanError::from(e), item.span()))?;
    let id_span = common.id.span();
    let id = common.id.into_inner();
    if !is_kebab(&id) {
        return Err(SpanError::new(
            id_span,
            format!(
                "check id {id:?} must be kebab-case: lowercase letters, digits and single dashes, like \"disk-root\""
            ),
        ));
    }
    for tag in &common.tags {
        if tag.get_ref().trim().is_empty() || tag.get_ref().contains(char::is_whitespace) {
            return Err(SpanError::new(
                tag.span(),
                "tags must be non-empty words without spaces",
            ));
        }
    }
    let own_value = Spanned::new(item.span(), DeValue::Table(own));
    let check = (kind.build)(own_value).map_err(|e| missing_field_at(e, item.span()))?;
    let spec = CheckSpec {
        id,
        kind,
        title: common.title,
        timeout: common.timeout.map(|d| d.0),
        severity: common.severity,
        tags: common.tags.into_iter().map(|t| t.into_inner()).collect(),
        enabled: common.enabled,
        origin: String::new(),
        check,
    };
    let given: Vec<&str> = table.iter().map(|(k, _)| k.get_ref().as_ref()).collect();
    Ok((spec, id_span, trust::danger(kind.name, &given)))
}

/// A missing required field has no span of its own: point at the table.
fn missing_field_at(mut e: SpanError, table: Range<usize>) -> SpanError {
    if e.span.is_none() {
        e.span = Some(table);
    }
    e
}

pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `; did you mean "warn"?` when a valid name is close to what was typed.
pub fn suggest(typed: &str, valid: &[&str]) -> String {
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(typed, v), v))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| format!(" (did you mean `{v}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Vec<CheckSpec>, ConfigError> {
        load(&[Source {
            name: "t.toml".into(),
            text: text.into(),
        }])
    }

    #[test]
    fn kebab_ids() {
        assert!(is_kebab("disk-root"));
        assert!(is_kebab("php8-fpm"));
        assert!(!is_kebab("Disk"));
        assert!(!is_kebab("disk--root"));
        assert!(!is_kebab("-disk"));
        assert!(!is_kebab(""));
    }

    #[test]
    fn severity_caps_and_raises() {
        assert_eq!(Severity::Warn.apply(Status::Fail), Status::Warn);
        assert_eq!(Severity::Fail.apply(Status::Warn), Status::Fail);
        assert_eq!(Severity::Fail.apply(Status::Pass), Status::Pass);
        assert_eq!(Severity::Warn.apply(Status::Error), Status::Error);
    }

    #[test]
    fn builtin_checklist_is_valid() {
        let specs = load(&[source::builtin()]).expect("built-in checklist parses");
        assert!(specs.len() >= 4);
    }

    #[test]
    fn shipped_deploy_example_is_valid() {
        let text = include_str!("../../checks/deploy.toml");
        let specs = load_str(text).expect("checks/deploy.toml parses");
        assert!(specs.iter().all(|s| s.tags == ["deploy"]));
    }

    #[test]
    fn typo_is_an_error_with_suggestion() {
        let e = load_str("[[check]]\nid = \"d\"\nkind = \"disk\"\nwran = \"80%\"\n").unwrap_err();
        assert_eq!(e.at, Some((4, 1)));
        assert!(e.message.contains("did you mean `warn`"), "{}", e.message);
    }

    #[test]
    fn missing_id_points_at_table() {
        let e = load_str("[[check]]\nkind = \"disk\"\n").unwrap_err();
        assert!(e.message.contains("missing field `id`"), "{}", e.message);
        assert!(e.at.is_some());
    }

    #[test]
    fn an_http_budget_saturates_instead_of_overflowing() {
        let specs = load_str(
            "[[check]]\nid = \"h\"\nkind = \"http\"\nurl = \"http://127.0.0.1:9/\"\nretries = 10\nretry_delay = \"10y\"\n",
        )
        .unwrap();
        let max = crate::units::MAX_DURATION;
        assert_eq!(specs[0].check.budget(Duration::MAX), max);
        assert_eq!(specs[0].check.budget(max), max);
        assert!(std::time::Instant::now().checked_add(max).is_some());
    }

    #[test]
    fn single_brackets_are_explained() {
        let e = load_str("[check]\nid = \"d\"\nkind = \"disk\"\n").unwrap_err();
        assert!(e.message.contains("[[check]]"), "{}", e.message);
    }
}
