//! `fds`: open file handles, system-wide and per process. "Too many open files" is a
//! classic cause of sudden 500s under load.

use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::{Check, FieldDoc, Kind, Spec, check_order};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::shell::shell_quote;
use crate::span::SpanError;
use crate::sys::{procfs, procs};
use crate::units::Level;

pub static KIND: Kind = Kind {
    name: "fds",
    summary: "open file handles against the kernel's and a process's limit",
    why: "Every connection, upstream socket and open file is a descriptor. At the limit, accept() \
          and open() fail with \"Too many open files\" and the server answers 500 or drops connections.",
    looks_at: "/proc/sys/fs/file-nr (system-wide handles and fs.file-max); with `process`, the \
               entries of /proc/PID/fd against that process's soft limit in /proc/PID/limits.",
    fixes: "Raise the service's limit (`LimitNOFILE=` in its systemd unit, `worker_rlimit_nofile` in \
            nginx), fix a descriptor leak, or raise fs.file-max with sysctl.",
    field_docs: &[
        FieldDoc {
            name: "process",
            ty: "string",
            default: "none",
            doc: "Also check each process with this name against its own limit.",
        },
        FieldDoc {
            name: "warn",
            ty: "percent",
            default: "\"80%\"",
            doc: "Warn when this share of a limit is in use.",
        },
        FieldDoc {
            name: "fail",
            ty: "percent",
            default: "\"95%\"",
            doc: "Fail likewise.",
        },
    ],
    example: r#"[[check]]
id = "fds-nginx"
kind = "fds"
process = "nginx"
warn = "80%"
fail = "95%"
"#,
    fields: super::fields_of::<FdsSpec>,
    build: super::build::<FdsSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FdsSpec {
    process: Option<String>,
    warn: Option<Spanned<Level>>,
    fail: Option<Spanned<Level>>,
}

impl Spec for FdsSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        for l in [&self.warn, &self.fail].into_iter().flatten() {
            if !matches!(l.get_ref(), Level::Percent(_)) {
                return Err(SpanError::new(
                    l.span(),
                    "fds thresholds are percentages of the limit, like \"80%\"",
                ));
            }
        }
        let warn = self.warn.or(Some(Spanned::new(0..0, Level::Percent(80.0))));
        let fail = self.fail.or(Some(Spanned::new(0..0, Level::Percent(95.0))));
        check_order(&warn, &fail, true, "open descriptors")?;
        Ok(Arc::new(Fds {
            process: self.process,
            warn: warn.expect("defaulted").get_ref().as_percent_of(100),
            fail: fail.expect("defaulted").get_ref().as_percent_of(100),
        }))
    }
}

#[derive(Debug)]
struct Fds {
    process: Option<String>,
    warn: f64,
    fail: f64,
}

impl Fds {
    fn judge(&self, pct: f64) -> Status {
        if pct >= self.fail {
            Status::Fail
        } else if pct >= self.warn {
            Status::Warn
        } else {
            Status::Pass
        }
    }
}

/// The way to give a service more descriptors.
fn raise_limit(name: &str) -> String {
    format!(
        "systemctl edit {}    # add: [Service] LimitNOFILE=65536, then restart it",
        shell_quote(name)
    )
}

/// A process over its threshold: a finding about it, with the limit to raise.
fn over_limit(p: &procs::Proc, name: &str, status: Status, line: String) -> Finding {
    Finding::new(
        Subject::Process {
            name: crate::sanitize::terminal(&p.name),
            pid: Some(p.pid),
        },
        Cause::Resources,
        status,
        line,
    )
    .fix(raise_limit(name))
}

impl Check for Fds {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let (used, max) = procfs::file_nr()?;
        let sys_pct = if max == 0 {
            0.0
        } else {
            used as f64 * 100.0 / max as f64
        };
        let mut status = self.judge(sys_pct);
        let mut out = Outcome::pass("")
            .detail(format!(
                "system: {used} of {max} file handles in use ({sys_pct:.1}%)"
            ))
            .metric(Metric::new("system_open", used as f64, ""))
            .metric(Metric::new("system_max", max as f64, ""))
            .metric(
                Metric::new("system_percent", (sys_pct * 10.0).round() / 10.0, "%")
                    .thresholds(Some(self.warn), Some(self.fail)),
            );
        let mut summary = format!("{used} of {max} system file handles in use ({sys_pct:.1}%)");
        let mut fixes = Vec::new();
        if !status.is_ok() {
            fixes.push(format!(
                "sysctl -w fs.file-max={}    # and persist it in /etc/sysctl.d/",
                max.saturating_mul(2)
            ));
        }

        if let Some(name) = &self.process {
            let all = procs::snapshot()?;
            let matching = procs::named(all, name);
            if matching.is_empty() {
                return Ok(out
                    .status_summary(
                        Status::Fail,
                        format!("no process named {name:?} is running"),
                    )
                    .fix(format!(
                        "systemctl status {}    # is the service running?",
                        shell_quote(name)
                    )));
            }
            let mut worst: Option<(f64, String)> = None;
            let mut errors = Vec::new();
            for p in &matching {
                let res = procfs::open_fds(p.pid)
                    .and_then(|open| Ok((open, procfs::max_open_files(p.pid)?)));
                match res {
                    Ok((open, limit)) => {
                        let pct = limit.map_or(0.0, |l| {
                            if l == 0 {
                                100.0
                            } else {
                                open as f64 * 100.0 / l as f64
                            }
                        });
                        let lim = limit.map_or("unlimited".to_string(), |l| l.to_string());
                        let line = format!(
                            "{}: {open} of {lim} descriptors open ({pct:.0}%)",
                            p.label()
                        );
                        match self.judge(pct) {
                            Status::Pass => out.details.push(line),
                            over => out.push_finding(over_limit(p, name, over, line)),
                        }
                        status = status.worse(self.judge(pct));
                        if worst.as_ref().is_none_or(|(w, _)| pct > *w) {
                            worst = Some((
                                pct,
                                format!(
                                    "{} has {open} of {lim} descriptors open ({pct:.0}%)",
                                    p.label()
                                ),
                            ));
                        }
                    }
                    Err(e) => errors.push((p.label(), format!("{e:#}"))),
                }
            }
            out.details
                .extend(errors.iter().map(|(who, e)| format!("{who}: {e}")));
            match worst {
                Some((pct, text)) => {
                    out.metrics.push(
                        Metric::new("process_percent", (pct * 10.0).round() / 10.0, "%")
                            .thresholds(Some(self.warn), Some(self.fail)),
                    );
                    if self.judge(pct) != Status::Pass
                        || !errors.is_empty()
                        || status == Status::Pass
                    {
                        summary = text;
                    }
                    if self.judge(pct) != Status::Pass {
                        fixes.push(raise_limit(name));
                    }
                    if !errors.is_empty() {
                        status = status.worse(Status::Error);
                    }
                }
                None => {
                    status = status.worse(Status::Error);
                    summary = format!(
                        "cannot read the open descriptors of {} {name} process(es): {}",
                        errors.len(),
                        errors[0].1
                    );
                }
            }
        }
        out.status = status;
        out.summary = summary;
        if !fixes.is_empty() {
            out = out.fix(fixes.join("\n"));
        }
        Ok(out)
    }
}
