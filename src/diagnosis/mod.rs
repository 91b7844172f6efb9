//! The diagnosis: findings linked across checks into ranked causes of the 500, each with
//! the chain of evidence and the one fix to try first. Evidence only, never a guess: a rule
//! links two findings only when they name the same subject (a file, a mount that holds a
//! path, an address). One file per rule, registered once in [`RULES`].

mod baseline_changed;
mod config_changed_since;
mod fallback;
mod fatal_changed;
mod fds_exhausted;
mod full_mount;
mod path_permissions;
mod same_line;
mod site_error_log;
mod site_unexplained;
mod upstream;

use crate::finding::{Cause, Finding};
use crate::report::CheckResult;
/// The data a diagnosis is lives in the report (the model); the rules here compute it.
pub use crate::report::{Diagnosis, Evidence};

/// A finding with the check that made it.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    pub check: &'a CheckResult,
    pub index: usize,
    pub finding: &'a Finding,
}

impl Found<'_> {
    pub fn evidence(&self) -> Evidence {
        Evidence {
            check: self.check.id.clone(),
            finding: Some(self.index),
            text: self.finding.text.clone(),
        }
    }

    pub fn kind(&self) -> &str {
        self.check.kind
    }

    pub fn fix(&self) -> Option<String> {
        self.finding.fix.as_ref().map(|f| f.text.clone())
    }

    /// Whether the finding calls for attention (not a pass).
    pub fn is_problem(&self) -> bool {
        !self.finding.status.is_ok()
    }
}

/// The diagnosis a rule makes when `symptom` (what went wrong) is explained by
/// `explanation` (what is wrong): about the explanation's subject and cause, with both as
/// evidence, and the explanation's fix first (the symptom's when it has none).
pub fn linked(
    rule: &Rule,
    symptom: &Found<'_>,
    explanation: &Found<'_>,
    headline: String,
    weight: u32,
) -> Diagnosis {
    Diagnosis {
        cause: explanation.finding.cause,
        subject: Some(explanation.finding.subject.clone()),
        headline,
        evidence: vec![symptom.evidence(), explanation.evidence()],
        fix: explanation.fix().or_else(|| symptom.fix()),
        linked: true,
        rule: rule.name,
        weight,
        also: None,
    }
}

/// A link rule: reads every finding, returns the causes it can prove.
pub struct Rule {
    pub name: &'static str,
    /// What it links, for the README and `explain`.
    pub about: &'static str,
    pub link: fn(&[Found<'_>]) -> Vec<Diagnosis>,
}

/// Every link rule. Adding one is its own file and one line here.
pub static RULES: &[&Rule] = &[
    &site_error_log::RULE,
    &baseline_changed::RULE,
    &config_changed_since::RULE,
    &fatal_changed::RULE,
    &path_permissions::RULE,
    &full_mount::RULE,
    &upstream::RULE,
    &same_line::RULE,
    &fds_exhausted::RULE,
];

/// How many causes a report shows at most.
pub const MAX: usize = 5;

/// Link the findings of a run into ranked causes. When no rule links anything, the
/// failing checks are ranked by how likely each is to cause a 500, each marked unlinked.
pub fn diagnose(checks: &[CheckResult]) -> Vec<Diagnosis> {
    let found: Vec<Found<'_>> = checks
        .iter()
        .flat_map(|c| {
            c.findings
                .iter()
                .enumerate()
                .map(move |(index, finding)| Found {
                    check: c,
                    index,
                    finding,
                })
        })
        .collect();
    let mut out: Vec<Diagnosis> = RULES.iter().flat_map(|r| (r.link)(&found)).collect();
    out.extend(site_unexplained::unexplained(checks, &found));
    out.extend(fallback::unlinked(checks, &found, &out));
    // Stable: among equals, the rule order and the checklist order decide.
    out.sort_by_key(|d| std::cmp::Reverse(d.weight));
    dedupe(&mut out);
    out.truncate(MAX);
    out
}

/// One cause per subject: the strongest, which absorbs what a weaker linked diagnosis of
/// the same subject adds (a fatal's file that also changed recently: one cause, with the
/// change as more evidence and its fix as the next step).
fn dedupe(list: &mut Vec<Diagnosis>) {
    let mut kept: Vec<Diagnosis> = Vec::new();
    for d in list.drain(..) {
        let first = d.evidence.first().cloned();
        let same = kept.iter_mut().find(|k| {
            (d.subject.is_some() && k.subject == d.subject)
                || first.as_ref().is_some_and(|f| k.evidence.contains(f))
        });
        match same {
            None => kept.push(d),
            Some(k) if d.linked => absorb(k, d),
            Some(_) => {}
        }
    }
    *list = kept;
}

fn absorb(into: &mut Diagnosis, from: Diagnosis) {
    let new: Vec<Evidence> = from
        .evidence
        .into_iter()
        .filter(|e| !into.evidence.contains(e))
        .collect();
    if new.is_empty() {
        return;
    }
    into.evidence.extend(new);
    // Not what it would add itself (two links of one rule to the same change).
    if let Some(also) = from.also
        && into.also.as_ref() != Some(&also)
    {
        into.headline = format!("{}; {also}", into.headline);
    }
    if let Some(fix) = from.fix
        && into.fix.as_deref() != Some(fix.as_str())
    {
        into.fix = Some(match into.fix.take() {
            Some(f) => format!("{f}\n{fix}"),
            None => fix,
        });
    }
}

/// Whether `path` is `dir` or lies under it, comparing whole components.
pub fn is_under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir || dir.is_empty() || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// How likely a cause is to turn requests into 500s, for ranking findings no rule links.
pub fn cause_weight(c: Cause) -> u32 {
    match c {
        Cause::Code => 60,
        Cause::Config => 58,
        Cause::Permissions => 56,
        Cause::Resources => 54,
        Cause::Dependency => 52,
        Cause::Timeout => 50,
        Cause::Deploy => 30,
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::check::Status;

    #[test]
    fn nothing_wrong_means_no_diagnosis() {
        let checks = vec![result("disk", "disk", Status::Pass, vec![])];
        assert!(diagnose(&checks).is_empty());
    }

    #[test]
    fn rules_have_unique_names_and_docs() {
        let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), RULES.len());
        assert!(RULES.iter().all(|r| !r.about.is_empty()));
    }

    #[test]
    fn under_compares_components() {
        assert!(is_under("/var/www/a.php", "/var/www"));
        assert!(is_under("/var/www", "/var/www/"));
        assert!(is_under("/x", "/"));
        assert!(!is_under("/var/wwwx/a", "/var/www"));
    }
}
