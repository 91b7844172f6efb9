//! `selftest`: a hidden kind that behaves as told (pass, fail, sleep, error, panic), so the
//! runner and the outputs can be tested end to end. Only accepted when the environment
//! variable `SITEDOCTOR_SELFTEST=1` is set.

use std::sync::Arc;

use serde::Deserialize;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::span::SpanError;
use crate::units::Dur;

pub static KIND: Kind = Kind {
    name: "selftest",
    summary: "internal: a check that does what it is told, for sitedoctor's own tests",
    why: "It exercises the runner: timeouts, panics, errors and concurrency.",
    looks_at: "Nothing.",
    fixes: "Nothing to fix.",
    field_docs: &[
        FieldDoc {
            name: "result",
            ty: "string",
            default: "\"pass\"",
            doc: "pass, warn, fail, skip, error or panic.",
        },
        FieldDoc {
            name: "sleep",
            ty: "duration",
            default: "none",
            doc: "Sleep this long first.",
        },
        FieldDoc {
            name: "summary",
            ty: "string",
            default: "\"selftest\"",
            doc: "The summary to report.",
        },
        FieldDoc {
            name: "details",
            ty: "list of strings",
            default: "[]",
            doc: "Evidence lines.",
        },
        FieldDoc {
            name: "fix",
            ty: "string",
            default: "none",
            doc: "The fix to report.",
        },
    ],
    example: "[[check]]\nid = \"t\"\nkind = \"selftest\"\nresult = \"fail\"\n",
    fields: super::fields_of::<SelftestSpec>,
    build: super::build::<SelftestSpec>,
    hidden: true,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelftestSpec {
    result: Option<Action>,
    sleep: Option<Dur>,
    summary: Option<String>,
    #[serde(default)]
    details: Vec<String>,
    fix: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    Pass,
    Warn,
    Fail,
    Skip,
    Error,
    Panic,
}

impl Spec for SelftestSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        Ok(Arc::new(Selftest(self)))
    }
}

#[derive(Debug)]
struct Selftest(SelftestSpec);

impl Check for Selftest {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let s = &self.0;
        if let Some(d) = s.sleep {
            std::thread::sleep(d.0);
        }
        let summary = s.summary.clone().unwrap_or_else(|| "selftest".into());
        let status = match s.result.unwrap_or(Action::Pass) {
            Action::Pass => Status::Pass,
            Action::Warn => Status::Warn,
            Action::Fail => Status::Fail,
            Action::Skip => Status::Skip,
            Action::Error => anyhow::bail!("{summary}"),
            Action::Panic => panic!("{summary}"),
        };
        let mut out = Outcome::new(status, summary)
            .metric(Metric::new("answer", 42.0, "").thresholds(Some(50.0), Some(60.0)));
        out.details = s.details.clone();
        if let Some(f) = &s.fix {
            out = out.fix(f.clone());
        }
        Ok(out)
    }
}
