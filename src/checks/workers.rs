//! `workers`: app-server workers (PHP-FPM children, gunicorn, uwsgi, node, puma) waiting on
//! a connection they opened — the database or API that makes requests time out right now.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::span::SpanError;
use crate::stack::workers::{self, Wait};
use crate::units::Dur;

pub static KIND: Kind = Kind {
    name: "workers",
    summary: "app-server workers waiting on a database or API longer than a few seconds",
    why: "A worker that waits on a slow dependency holds its request until the proxy gives up \
          (\"upstream timed out\", 504) or the pool runs out of free workers and every request \
          queues. The address it waits on is the service to look at, not the app server.",
    looks_at: "Processes named `php-fpm: pool NAME`, gunicorn, uwsgi, node or puma; the TCP \
               connections each opened (/proc/PID/fd → /proc/net/tcp{,6}), and how long each \
               has waited for an answer since it last sent (the kernel's per-connection timing, \
               as `ss -ti` shows it; a pooled connection that got its answer is not a wait). \
               The PHP-FPM status page is not queried (it speaks FastCGI); where a pool enables \
               `pm.status_path` the fix points at it.",
    fixes: "Look at the service at the address named (is it up, is it overloaded, does its host \
            answer), and give the app a shorter connect and read timeout for it so one slow \
            dependency cannot hold every worker.",
    field_docs: &[
        FieldDoc {
            name: "warn",
            ty: "duration",
            default: "\"5s\"",
            doc: "Warn when a worker has waited this long for an answer.",
        },
        FieldDoc {
            name: "fail",
            ty: "duration",
            default: "\"30s\"",
            doc: "Fail likewise.",
        },
    ],
    example: r#"[[check]]
id = "workers"
kind = "workers"
warn = "5s"
fail = "30s"
"#,
    fields: super::fields_of::<WorkersSpec>,
    build: super::build::<WorkersSpec>,
    hidden: false,
    default_timeout: None,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkersSpec {
    warn: Option<toml::Spanned<Dur>>,
    fail: Option<toml::Spanned<Dur>>,
}

impl Spec for WorkersSpec {
    fn into_check(self) -> Result<Arc<dyn Check>, SpanError> {
        let warn = self
            .warn
            .as_ref()
            .map_or(Duration::from_secs(5), |d| d.get_ref().0);
        let fail = self
            .fail
            .as_ref()
            .map_or(Duration::from_secs(30), |d| d.get_ref().0);
        if warn > fail {
            let span = self.warn.map_or(0..0, |w| w.span());
            return Err(SpanError::new(
                span,
                format!(
                    "warn threshold {} is longer than fail threshold {}: the warning must come first",
                    short(warn),
                    short(fail)
                ),
            ));
        }
        Ok(Arc::new(Workers { warn, fail }))
    }
}

#[derive(Debug)]
struct Workers {
    warn: Duration,
    fail: Duration,
}

impl Check for Workers {
    fn run(&self, _ctx: &Ctx) -> anyhow::Result<Outcome> {
        let proc = crate::sys::procfs::proc_root();
        if workers::find(&proc).is_empty() {
            return Ok(Outcome::skip(
                "no app-server workers (PHP-FPM, gunicorn, uwsgi, node, puma) run here",
            ));
        }
        let timings = crate::sys::sockdiag::tcp_timings().map_err(|e| {
            anyhow::anyhow!(
                "cannot read the kernel's TCP connection timings (sock_diag): {}",
                crate::sys::io_reason(&e)
            )
        })?;
        let s = workers::survey(&proc, &timings, self.warn);
        let seen = s.workers.len() - s.unreadable;
        if seen == 0 {
            anyhow::bail!(
                "cannot see the connections of {} app-server worker(s): run as root to read /proc/PID/fd of another user's processes",
                s.workers.len()
            );
        }
        let mut out = Outcome::pass(format!(
            "{seen} app-server worker(s), none waiting on a connection for {} or more",
            short(self.warn)
        ))
        .metric(Metric::new("workers", s.workers.len() as f64, ""))
        .metric(Metric::new("waiting", s.waits.len() as f64, "").thresholds(Some(1.0), None));
        if s.unreadable > 0 {
            out.details.push(format!(
                "{} worker(s) could not be looked into (run as root)",
                s.unreadable
            ));
        }
        let Some(longest) = s.waits.first() else {
            return Ok(out);
        };
        let status_pages = crate::stack::php_ini::status_paths(&crate::init::sysroot());
        let mut worst = Status::Warn;
        for w in s.waits.iter().take(20) {
            let status = if w.waited >= self.fail {
                Status::Fail
            } else {
                Status::Warn
            };
            worst = worst.worse(status);
            out.push_finding(finding(w, status, &status_pages));
        }
        out.status = worst;
        out.summary = format!(
            "{} connection(s) of app-server workers waiting for an answer; longest: {}",
            s.waits.len(),
            wait_text(longest)
        );
        out.fix = out.findings.first().and_then(|f| f.fix.clone());
        Ok(out)
    }
}

/// `8s`, `2m 5s`, `300ms`: whole seconds when it is more than one.
fn short(d: Duration) -> String {
    let d = if d >= Duration::from_secs(1) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(d.as_millis() as u64)
    };
    humantime::format_duration(d).to_string()
}

/// `php-fpm pool www (pid 812) has waited 8s on 127.0.0.1:8099`.
fn wait_text(w: &Wait) -> String {
    let how = if w.connecting {
        "has tried to connect for"
    } else {
        "has waited"
    };
    format!(
        "{} {how} {} on {}",
        w.worker.label(),
        short(w.waited),
        w.remote
    )
}

fn finding(w: &Wait, status: Status, status_pages: &[(String, String)]) -> Finding {
    let addr = w.remote.to_string();
    let page = w
        .worker
        .pool
        .as_ref()
        .and_then(|pool| status_pages.iter().find(|(p, _)| p == pool))
        .map_or(String::new(), |(_, path)| {
            format!(
                "; the pool's status page ({}?full) shows the request each worker serves",
                crate::sanitize::terminal(path)
            )
        });
    let what = if w.connecting {
        format!("{addr} does not accept connections in time")
    } else {
        format!("the service at {addr} is slow or hung")
    };
    Finding::new(
        Subject::Address {
            address: addr.clone(),
        },
        Cause::Timeout,
        status,
        wait_text(w),
    )
    .fix(format!(
        "{what}: check it (is it up, overloaded, reachable), and give the app a shorter timeout for it{page}"
    ))
}
