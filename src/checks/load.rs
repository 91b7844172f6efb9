//! `load`: load per core. An overloaded host answers slowly; proxies time out and users
//! see 502/504 or the app's own 500.

use std::sync::Arc;

use serde::Deserialize;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Fix, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::span::SpanError;
use crate::sys::{procfs, procs};

pub static KIND: Kind = Kind {
    name: "load",
    summary: "load average per CPU core over five minutes",
    why: "When more work waits than there are cores, every request queues: upstreams time out \
          and PHP-FPM or the app server runs out of free workers.",
    looks_at: "/proc/loadavg (1, 5 and 15 minutes) divided by the online CPU cores; the busiest \
               processes by average CPU use, and processes stuck waiting on disk.",
    fixes: "Find the busy process (a runaway cron job, a crawler hammering one URL, a backup) and \
            stop, throttle or reschedule it; or add cores.",
    field_docs: &[
        FieldDoc {
            name: "warn",
            ty: "number",
            default: "1.5",
            doc: "Warn when the 5-minute load per core exceeds this.",
        },
        FieldDoc {
            name: "fail",
            ty: "number",
            default: "3.0",
            doc: "Fail likewise.",
        },
    ],
    example: r#"[[check]]
id = "load"
kind = "load"
warn = 1.5
fail = 3.0
"#,
    fields: super::fields_of::<LoadSpec>,
    build: super::build::<LoadSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadSpec {
    warn: Option<toml::Spanned<f64>>,
    fail: Option<toml::Spanned<f64>>,
}

impl Spec for LoadSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let warn = self.warn.as_ref().map_or(1.5, |w| *w.get_ref());
        let fail = self.fail.as_ref().map_or(3.0, |f| *f.get_ref());
        for v in [&self.warn, &self.fail].into_iter().flatten() {
            if v.get_ref().is_nan() || *v.get_ref() <= 0.0 {
                return Err(SpanError::new(
                    v.span(),
                    "load thresholds must be positive numbers, like 1.5",
                ));
            }
        }
        if warn > fail {
            let span = self.warn.map_or(0..0, |w| w.span());
            return Err(SpanError::new(
                span,
                format!(
                    "warn threshold {warn} is looser than fail threshold {fail} for load per core: warn must not be above fail"
                ),
            ));
        }
        Ok(Arc::new(Load { warn, fail }))
    }
}

#[derive(Debug)]
struct Load {
    warn: f64,
    fail: f64,
}

/// CPUs the kernel schedules on (not the affinity of this process).
pub fn online_cores() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::_NPROCESSORS_ONLN)
        .ok()
        .flatten()
        .map(|n| n.max(1) as u64)
        .unwrap_or(1)
}

impl Check for Load {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let [l1, l5, l15] = procfs::loadavg()?;
        let cores = online_cores();
        let per_core = l5 / cores as f64;
        let status = if per_core > self.fail {
            Status::Fail
        } else if per_core > self.warn {
            Status::Warn
        } else {
            Status::Pass
        };
        let mut out = Outcome::new(
            status,
            format!("load {l5:.2} over 5 min on {cores} core(s): {per_core:.2} per core (1 min {l1:.2}, 15 min {l15:.2})"),
        )
        .metric(Metric::new("load1", l1, ""))
        .metric(Metric::new("load5", l5, ""))
        .metric(Metric::new("load15", l15, ""))
        .metric(Metric::new("cores", cores as f64, ""))
        .metric(Metric::new("load5_per_core", (per_core * 100.0).round() / 100.0, "").thresholds(Some(self.warn), Some(self.fail)));
        let mut busy = Vec::new();
        match procs::snapshot() {
            Ok(all) => {
                busy = procs::top_by_cpu(all, 3);
                for p in &busy {
                    out.details.push(busy_line(p));
                }
                let stuck: Vec<String> = all
                    .iter()
                    .filter(|p| p.state.contains("UninterruptibleDiskSleep"))
                    .take(5)
                    .map(|p| p.label())
                    .collect();
                if !stuck.is_empty() {
                    out.details
                        .push(format!("waiting on disk (state D): {}", stuck.join(", ")));
                }
            }
            Err(e) => out.details.push(format!("could not list processes: {e:#}")),
        }
        if !status.is_ok() {
            let who = busy.first().map_or(String::new(), |p| {
                format!(" ({} has used the most)", p.label())
            });
            out = out.fix(format!(
                "top -o %CPU    # find what is busy now{who}\n\
                 then stop, throttle or reschedule it (a runaway cron job, a crawler, a backup), or add cores"
            ));
            out.findings = busy_findings(&busy, status, out.fix.as_ref());
        }
        Ok(out)
    }
}

fn busy_line(p: &procs::Proc) -> String {
    format!(
        "busy: {} averages {:.0}% CPU since it started",
        p.label(),
        p.avg_cpu
    )
}

/// The busiest processes while the load is high, as findings: the busiest carries the
/// load's status and its fix; the others are context, no problem on their own. Their
/// evidence lines are already in the report, in the same words.
fn busy_findings(busy: &[&procs::Proc], status: Status, fix: Option<&Fix>) -> Vec<Finding> {
    busy.iter()
        .enumerate()
        .map(|(i, p)| {
            let subject = Subject::Process {
                name: crate::sanitize::terminal(&p.name),
                pid: Some(p.pid),
            };
            let mut f = Finding::new(
                subject,
                Cause::Resources,
                if i == 0 { status } else { Status::Pass },
                busy_line(p),
            );
            if i == 0 {
                f.fix = fix.cloned();
            }
            f
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(pid: u32, name: &str, cpu: f64) -> procs::Proc {
        procs::Proc {
            pid,
            name: name.into(),
            cmdline: name.into(),
            exe_name: None,
            rss: 0,
            avg_cpu: cpu,
            state: "Run".into(),
        }
    }

    #[test]
    fn the_busiest_process_carries_the_load() {
        let (a, b) = (proc(7, "php-fpm8.2", 180.0), proc(9, "cron\x1b", 4.0));
        let fix = Fix {
            text: "top -o %CPU\nthen stop it".into(),
            automatic: false,
        };
        let f = busy_findings(&[&a, &b], Status::Warn, Some(&fix));
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].subject,
            Subject::Process {
                name: "php-fpm8.2".into(),
                pid: Some(7)
            }
        );
        assert_eq!((f[0].cause, f[0].status), (Cause::Resources, Status::Warn));
        assert_eq!(
            f[0].text,
            "busy: php-fpm8.2 (pid 7) averages 180% CPU since it started"
        );
        // A multi-line fix: the evidence line stays the text alone, as the report shows it.
        assert_eq!(f[0].detail(), f[0].text);
        assert_eq!(f[0].fix.as_ref(), Some(&fix));
        assert_eq!((f[1].status, f[1].fix.as_ref()), (Status::Pass, None));
        assert!(matches!(&f[1].subject, Subject::Process { name, .. } if !name.contains('\x1b')));
    }
}
