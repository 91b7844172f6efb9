//! What a check is (the [`Check`] trait every kind implements) and the registry of check
//! kinds: one table, one line per kind. `list`, `explain`, the README reference and config
//! validation are all generated from it.

mod app_deps;
mod baseline;
mod command;
pub(crate) mod config_error;
pub mod configtest;
mod deps_installed;
mod disk;
mod dns;
pub mod env;
mod fds;
mod fields;
mod findings;
mod htaccess;
mod http;
mod judge;
mod load;
mod log;
mod log_deps;
pub mod log_finding;
mod log_stack;
mod memory;
mod permissions;
mod plugin;
mod process;
mod recent_changes;
mod selftest;
mod tcp;
mod tree;
mod upstreams;
mod workers;
mod worktree;
mod world_writable;

use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use crate::check::{Ctx, Outcome};
use crate::fixes::ModeFix;

use crate::span::SpanError;
use crate::units::Level;
/// What a program-running check masks; `explain ID` masks a check's settings the same way.
pub(crate) use command::secrets_of;
pub use tree::{Excludes, TreeScope};

/// A configured, validated check, ready to run. Implementations only read.
pub trait Check: Send + Sync + std::fmt::Debug {
    /// Look, judge, and say what was found. Return `Err` only when the check itself
    /// could not run (the report shows it as `error` with the message).
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome>;

    /// How long the whole check may take, given its configured timeout. Checks that retry
    /// need more than one timeout.
    fn budget(&self, timeout: Duration) -> Duration {
        timeout
    }

    /// Offer every automatic fix (mode changes) the current state calls for, one at a time,
    /// so that any number of them needs no memory. Returns whether this kind has automatic
    /// fixes at all. Offering changes nothing: the sink decides whether to apply.
    fn mode_fixes(&self, _ctx: &Ctx, _sink: &(dyn Fn(ModeFix<'_>) + Sync)) -> anyhow::Result<bool> {
        Ok(false)
    }

    /// Where an `env` check reads the app's environment, so the baseline records the same
    /// variables; `None` for every other kind.
    fn env_source(&self) -> Option<&env::Source> {
        None
    }

    /// The web roots this check walks, for `snapshot` (the kinds that walk a site's files).
    fn tree_scope(&self) -> Option<TreeScope<'_>> {
        None
    }
}

/// Every check kind. Adding one is a new file under `src/checks/` and one line here.
pub static KINDS: &[&Kind] = &[
    &disk::KIND,
    &memory::KIND,
    &load::KIND,
    &fds::KIND,
    &process::KIND,
    &workers::KIND,
    &env::KIND,
    &permissions::KIND,
    &world_writable::KIND,
    &recent_changes::KIND,
    &baseline::KIND,
    &http::KIND,
    &tcp::KIND,
    &upstreams::KIND,
    &app_deps::KIND,
    &deps_installed::KIND,
    &dns::KIND,
    &command::KIND,
    &plugin::KIND,
    &log::KIND,
    &configtest::KIND,
    &htaccess::KIND,
    &selftest::KIND,
];

/// Environment variable that makes the hidden `selftest` kind available (tests only).
pub const SELFTEST_ENV: &str = "SITEDOCTOR_SELFTEST";

/// Validates a table of a kind's own fields into a ready check.
pub type BuildFn = fn(Spanned<DeValue<'_>>) -> Result<Arc<dyn Check>, SpanError>;

/// A kind of check: its documentation and how to build one from its TOML table.
pub struct Kind {
    pub name: &'static str,
    /// One line for `list`.
    pub summary: &'static str,
    /// Why this matters when a site answers 500.
    pub why: &'static str,
    /// What it looks at.
    pub looks_at: &'static str,
    /// How its findings are usually fixed.
    pub fixes: &'static str,
    /// The kind's own fields (beside the common ones), documented.
    pub field_docs: &'static [FieldDoc],
    /// A complete `[[check]]` block.
    pub example: &'static str,
    /// The field names the kind's spec accepts (read from its serde definition).
    pub fields: fn() -> &'static [&'static str],
    /// Validate a table of the kind's own fields into a ready check.
    pub build: BuildFn,
    /// Not listed or accepted unless [`SELFTEST_ENV`] is set.
    pub hidden: bool,
    /// The timeout of checks of this kind that set none (before the 10s default).
    pub default_timeout: Option<std::time::Duration>,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// One field of a kind, for `explain` and the README.
pub struct FieldDoc {
    pub name: &'static str,
    pub ty: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

/// The typed, serde-deserialized definition of one kind.
pub trait Spec: DeserializeOwned + 'static {
    /// Cross-field validation (threshold order...) and construction.
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError>;
}

/// The generic `build` for a kind whose spec is `S`.
pub fn build<S: Spec>(table: Spanned<DeValue<'_>>) -> Result<Arc<dyn Check>, SpanError> {
    let spec = S::deserialize(ValueDeserializer::from(table))?;
    spec.into_check()
}

pub use fields::fields_of;

fn selftest_enabled() -> bool {
    std::env::var_os(SELFTEST_ENV).is_some_and(|v| v == "1")
}

/// The kinds a user may configure here.
pub fn visible() -> impl Iterator<Item = &'static Kind> {
    let selftest = selftest_enabled();
    KINDS.iter().copied().filter(move |k| !k.hidden || selftest)
}

pub fn find(name: &str) -> Option<&'static Kind> {
    visible().find(|k| k.name == name)
}

pub fn names() -> Vec<&'static str> {
    visible().map(|k| k.name).collect()
}

/// Reject a warn threshold that would trigger after the fail threshold.
/// `rising` is true when bigger values are worse (used space), false when smaller are
/// (available memory). Levels of different forms (percent and size) are compared at run time.
pub fn check_order(
    warn: &Option<Spanned<Level>>,
    fail: &Option<Spanned<Level>>,
    rising: bool,
    what: &str,
) -> Result<(), SpanError> {
    let (Some(w), Some(f)) = (warn, fail) else {
        return Ok(());
    };
    let (wv, fv, size) = match (w.get_ref(), f.get_ref()) {
        (Level::Percent(a), Level::Percent(b)) => (*a, *b, false),
        (Level::Bytes(a), Level::Bytes(b)) => (*a as f64, *b as f64, true),
        _ => return Ok(()),
    };
    // A size means "less than this left", so it runs the other way round from a percent.
    let worse_up = rising != size;
    let looser = if worse_up { wv > fv } else { wv < fv };
    if looser {
        let rel = if worse_up { "above" } else { "below" };
        return Err(SpanError::new(
            w.span(),
            format!(
                "warn threshold {} is looser than fail threshold {} for {what}: the warning must come first, so warn must not be {rel} fail",
                w.get_ref(),
                f.get_ref()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{COMMON_FIELDS, is_kebab};

    #[test]
    fn kind_names_are_unique_kebab_case() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        assert!(
            names.iter().all(|n| is_kebab(&n.replace('_', "-"))),
            "{names:?}"
        );
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
    }

    #[test]
    fn every_kind_is_documented() {
        for k in KINDS {
            assert!(
                !k.summary.is_empty() && k.summary.len() < 80,
                "{}: summary",
                k.name
            );
            assert!(
                !k.why.is_empty() && !k.looks_at.is_empty() && !k.fixes.is_empty(),
                "{}",
                k.name
            );
            let mut documented: Vec<&str> = k.field_docs.iter().map(|f| f.name).collect();
            let mut actual: Vec<&str> = (k.fields)().to_vec();
            documented.sort();
            actual.sort();
            assert_eq!(
                documented, actual,
                "{}: documented fields differ from the spec",
                k.name
            );
            for f in (k.fields)() {
                assert!(
                    !COMMON_FIELDS.contains(f),
                    "{}: `{f}` shadows a common field",
                    k.name
                );
            }
        }
    }

    #[test]
    fn every_example_is_a_valid_check() {
        // SAFETY of the test: the selftest kind is hidden unless the env var is set.
        for k in KINDS.iter().filter(|k| !k.hidden) {
            let src = crate::config::Source {
                name: format!("example of {}", k.name),
                text: k.example.to_string(),
            };
            let specs = crate::config::load(&[src]).unwrap_or_else(|e| panic!("{e}"));
            assert!(!specs.is_empty(), "{}", k.name);
            assert!(specs.iter().all(|s| s.kind.name == k.name));
        }
    }

    #[test]
    fn threshold_order() {
        let p = |v: f64| Some(Spanned::new(0..1, Level::Percent(v)));
        let b = |v: u64| Some(Spanned::new(0..1, Level::Bytes(v)));
        assert!(check_order(&p(85.0), &p(95.0), true, "x").is_ok());
        assert!(check_order(&p(96.0), &p(95.0), true, "x").is_err());
        assert!(check_order(&p(10.0), &p(5.0), false, "x").is_ok());
        assert!(check_order(&p(4.0), &p(5.0), false, "x").is_err());
        // Sizes are "left": for used space, warn at 10GiB left comes before fail at 1GiB.
        assert!(check_order(&b(10), &b(1), true, "x").is_ok());
        assert!(check_order(&b(1), &b(10), true, "x").is_err());
        assert!(check_order(&p(90.0), &b(1), true, "x").is_ok());
    }
}
