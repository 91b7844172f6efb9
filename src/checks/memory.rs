//! `memory`: available memory and swap. When memory runs out the kernel kills workers or
//! the app cannot fork, and requests end in 500 or 502.

use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::{Check, FieldDoc, Kind, Spec, check_order};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::span::SpanError;
use crate::sys::{procfs, procs};
use crate::units::{Level, fmt_bytes};

pub static KIND: Kind = Kind {
    name: "memory",
    summary: "available memory and swap use",
    why: "Out of memory, PHP-FPM or the app server cannot start workers, the OOM killer ends \
          them mid-request, and a heavily swapping host answers so slowly that proxies give up.",
    looks_at: "MemAvailable and swap in /proc/meminfo; the three largest processes by resident memory.",
    fixes: "Restart or limit the largest process (fewer PHP-FPM children, a smaller JVM heap), \
            look for a leak, or add memory or swap.",
    field_docs: &[
        FieldDoc {
            name: "warn",
            ty: "percent or size",
            default: "\"10%\"",
            doc: "Warn when available memory is below this share of the total, or below this size.",
        },
        FieldDoc {
            name: "fail",
            ty: "percent or size",
            default: "\"5%\"",
            doc: "Fail likewise.",
        },
        FieldDoc {
            name: "swap_warn",
            ty: "percent",
            default: "\"80%\"",
            doc: "Warn when more than this share of swap is used.",
        },
    ],
    example: r#"[[check]]
id = "memory"
kind = "memory"
warn = "10%"
fail = "256MiB"
swap_warn = "80%"
"#,
    fields: super::fields_of::<MemorySpec>,
    build: super::build::<MemorySpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemorySpec {
    warn: Option<Spanned<Level>>,
    fail: Option<Spanned<Level>>,
    swap_warn: Option<Spanned<Level>>,
}

impl Spec for MemorySpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let warn = self.warn.or(Some(Spanned::new(0..0, Level::Percent(10.0))));
        let fail = self.fail.or(Some(Spanned::new(0..0, Level::Percent(5.0))));
        check_order(&warn, &fail, false, "available memory")?;
        let swap_warn = match self.swap_warn {
            Some(s) => match s.get_ref() {
                Level::Percent(p) => *p,
                Level::Bytes(_) => {
                    return Err(SpanError::new(
                        s.span(),
                        "swap_warn is a percentage, like \"80%\"",
                    ));
                }
            },
            None => 80.0,
        };
        Ok(Arc::new(Memory {
            warn: warn.expect("defaulted").into_inner(),
            fail: fail.expect("defaulted").into_inner(),
            swap_warn,
        }))
    }
}

#[derive(Debug)]
struct Memory {
    warn: Level,
    fail: Level,
    swap_warn: f64,
}

impl Check for Memory {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let m = procfs::meminfo()?;
        let avail_pct = if m.total == 0 {
            0.0
        } else {
            m.available as f64 * 100.0 / m.total as f64
        };
        let warn_pct = self.warn.as_percent_of(m.total);
        let fail_pct = self.fail.as_percent_of(m.total);
        let mut status = if avail_pct < fail_pct {
            Status::Fail
        } else if avail_pct < warn_pct {
            Status::Warn
        } else {
            Status::Pass
        };
        let mut summary = format!(
            "{} of {} memory available ({avail_pct:.0}%)",
            fmt_bytes(m.available),
            fmt_bytes(m.total)
        );
        let swap_used_pct = (m.swap_total > 0).then(|| {
            (m.swap_total - m.swap_free.min(m.swap_total)) as f64 * 100.0 / m.swap_total as f64
        });
        let mut out = Outcome::pass("");
        out.metrics.push(
            Metric::new("available_percent", round1(avail_pct), "%")
                .thresholds(Some(round1(warn_pct)), Some(round1(fail_pct))),
        );
        out.metrics
            .push(Metric::new("available_bytes", m.available as f64, "B"));
        out.metrics
            .push(Metric::new("total_bytes", m.total as f64, "B"));
        match swap_used_pct {
            Some(s) => {
                out.details
                    .push(format!("swap: {s:.0}% of {} used", fmt_bytes(m.swap_total)));
                out.metrics.push(
                    Metric::new("swap_used_percent", round1(s), "%")
                        .thresholds(Some(self.swap_warn), None),
                );
                if s > self.swap_warn {
                    status = status.worse(Status::Warn);
                    summary.push_str(&format!("; swap {s:.0}% used"));
                }
            }
            None => out.details.push("swap: none configured".into()),
        }
        let mut biggest = String::new();
        match procs::snapshot() {
            Ok(all) => {
                for p in procs::top_by_memory(all, 3) {
                    if biggest.is_empty() {
                        biggest = p.label();
                    }
                    out.details
                        .push(format!("largest: {} uses {}", p.label(), fmt_bytes(p.rss)));
                }
            }
            Err(e) => out.details.push(format!("could not list processes: {e:#}")),
        }
        out.status = status;
        out.summary = summary;
        if !status.is_ok() {
            let who = if biggest.is_empty() {
                "the largest process".to_string()
            } else {
                biggest
            };
            out = out.fix(format!(
                "ps aux --sort=-rss | head -5    # confirm what holds the memory ({who} is largest)\n\
                 then restart or limit it, e.g. `systemctl restart <its service>`, lower pm.max_children \
                 for PHP-FPM, or add memory or swap"
            ));
        }
        Ok(out)
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
