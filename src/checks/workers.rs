//! `workers`: app-server workers (PHP-FPM children, gunicorn, uwsgi, node, puma) waiting on
//! a connection they opened — the database or API that makes requests time out right now.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Check, FieldDoc, Kind, Spec};
use crate::check::{Ctx, Metric, Outcome, Status};
use crate::finding::{Cause, Finding, Subject};
use crate::span::SpanError;
use crate::stack::fpm_status;
use crate::stack::php_ini::StatusPage;
use crate::stack::workers::{self, Wait};
use crate::units::Dur;

pub static KIND: Kind = Kind {
    name: "workers",
    summary: "app-server workers waiting on a database or API, and PHP requests running long",
    why: "A worker that waits on a slow dependency holds its request until the proxy gives up \
          (\"upstream timed out\", 504) or the pool runs out of free workers and every request \
          queues. The address it waits on is the service to look at, not the app server.",
    looks_at: "Processes named `php-fpm: pool NAME`, gunicorn, uwsgi, node or puma; the TCP \
               connections each opened (/proc/PID/fd → /proc/net/tcp{,6}), and how long each \
               has waited for an answer since it last sent (the kernel's per-connection timing, \
               as `ss -ti` shows it; a pooled connection that got its answer is not a wait). \
               Where a PHP-FPM pool enables its status page (`pm.status_path`), the page itself \
               (`?full&json`), asked over FastCGI once per pool per run at the pool's own \
               `listen` or `pm.status_listen` — a Unix socket or a loopback address, nothing \
               else: the request each waiting worker serves, and requests that have run past \
               the thresholds without waiting on a connection (a slow script).",
    fixes: "Look at the service at the address named (is it up, is it overloaded, does its host \
            answer), and give the app a shorter connect and read timeout for it so one slow \
            dependency cannot hold every worker. A PHP request that runs long without waiting on \
            a connection is the script's own doing: the pool's slow log (`request_slowlog_timeout`) \
            shows where it spends its time.",
    field_docs: &[
        FieldDoc {
            name: "warn",
            ty: "duration",
            default: "\"5s\"",
            doc: "Warn when a worker has waited this long for an answer, or a PHP request has run \
                  this long.",
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
    fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
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
        let pages = crate::stack::php_ini::status_paths(&crate::init::sysroot());
        let pools: BTreeSet<String> = s.workers.iter().filter_map(|w| w.pool.clone()).collect();
        let reqs = fpm_status::of_pools(&pages, &pools, Instant::now() + ctx.op_timeout());
        let slow = self.slow_requests(&s.waits, &reqs);
        let mut out = Outcome::pass(format!(
            "{seen} app-server worker(s), none waiting on a connection for {} or more",
            short(self.warn)
        ))
        .metric(Metric::new("workers", s.workers.len() as f64, ""))
        .metric(Metric::new("waiting", s.waits.len() as f64, "").thresholds(Some(1.0), None));
        if reqs.read > 0 {
            out = out.metric(
                Metric::new("long_requests", slow.len() as f64, "").thresholds(Some(1.0), None),
            );
            if s.waits.is_empty() {
                out.summary.push_str(&format!(
                    ", no PHP request running for {} or more",
                    short(self.warn)
                ));
            }
        }
        if s.unreadable > 0 {
            out.details.push(format!(
                "{} worker(s) could not be looked into (run as root)",
                s.unreadable
            ));
        }
        out.details.extend(reqs.errors.iter().cloned());
        if s.waits.is_empty() && slow.is_empty() {
            return Ok(out);
        }
        let mut worst = Status::Warn;
        let found = s
            .waits
            .iter()
            .map(|w| self.wait_finding(w, &reqs, &pages))
            .chain(slow.iter().map(|(pool, p)| self.slow_finding(pool, p)));
        for f in found.take(20) {
            worst = worst.worse(f.status);
            out.push_finding(f);
        }
        out.status = worst;
        out.summary = match s.waits.first() {
            Some(longest) => format!(
                "{} connection(s) of app-server workers waiting for an answer; longest: {}",
                s.waits.len(),
                wait_text(longest, &reqs)
            ),
            None => format!(
                "{} PHP request(s) running for {} or more; longest: {}",
                slow.len(),
                short(self.warn),
                slow_text(slow[0].0, slow[0].1)
            ),
        };
        out.fix = out.findings.first().and_then(|f| f.fix.clone());
        Ok(out)
    }
}

impl Workers {
    fn status(&self, d: Duration) -> Status {
        if d >= self.fail {
            Status::Fail
        } else {
            Status::Warn
        }
    }

    /// Requests running past the warn threshold whose worker waits on no connection (those
    /// are told with their wait), longest first.
    fn slow_requests<'a>(
        &self,
        waits: &[Wait],
        reqs: &'a fpm_status::Requests,
    ) -> Vec<(&'a str, &'a fpm_status::Proc)> {
        let mut slow: Vec<(&str, &fpm_status::Proc)> = reqs
            .by_pid
            .values()
            .filter(|(_, p)| p.running && p.duration >= self.warn)
            .filter(|(_, p)| !waits.iter().any(|w| w.worker.pid == p.pid))
            .map(|(pool, p)| (pool.as_str(), p))
            .collect();
        slow.sort_by_key(|(_, p)| (std::cmp::Reverse(p.duration), p.pid));
        slow
    }

    fn wait_finding(&self, w: &Wait, reqs: &fpm_status::Requests, pages: &[StatusPage]) -> Finding {
        let addr = w.remote.to_string();
        // The status page's hint, where the page is enabled but was not read.
        let page = w
            .worker
            .pool
            .as_ref()
            .filter(|_| serving(w, reqs).is_none())
            .and_then(|pool| pages.iter().find(|p| &p.pool == pool))
            .map_or(String::new(), |p| {
                format!(
                    "; the pool's status page ({}?full) shows the request each worker serves",
                    crate::sanitize::terminal(&p.path)
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
            self.status(w.waited),
            wait_text(w, reqs),
        )
        .fix(format!(
            "{what}: check it (is it up, overloaded, reachable), and give the app a shorter timeout for it{page}"
        ))
    }

    fn slow_finding(&self, pool: &str, p: &fpm_status::Proc) -> Finding {
        let subject = match &p.script {
            Some(path) => Subject::Path {
                path: path.clone(),
                line: None,
            },
            None => Subject::Process {
                name: format!("php-fpm pool {pool}"),
                pid: Some(p.pid),
            },
        };
        let script = p
            .script
            .as_deref()
            .map_or("the script".to_string(), crate::sanitize::terminal);
        Finding::new(
            subject,
            Cause::Timeout,
            self.status(p.duration),
            slow_text(pool, p),
        )
        .fix(format!(
            "{script} runs long without waiting on a connection: find where it spends its \
                 time (set `request_slowlog_timeout` and `slowlog` in pool {} to log its \
                 stack), and bound it with `request_terminate_timeout`",
            crate::sanitize::terminal(pool)
        ))
    }
}

/// `8 s`, `2 min 5 s`, `300 ms`: whole seconds when it is more than one.
fn short(d: Duration) -> String {
    let d = if d >= Duration::from_secs(1) {
        Duration::from_secs(d.as_secs())
    } else {
        Duration::from_millis(d.as_millis() as u64)
    };
    crate::units::fmt_duration(d)
}

/// The request a waiting FPM worker serves, from its pool's status page.
fn serving<'a>(w: &Wait, reqs: &'a fpm_status::Requests) -> Option<&'a (String, fpm_status::Proc)> {
    reqs.by_pid
        .get(&w.worker.pid)
        .filter(|(pool, p)| p.running && w.worker.pool.as_ref() == Some(pool))
}

/// `GET /checkout.php (pool www, pid 812)`.
fn request_label(pool: &str, p: &fpm_status::Proc) -> String {
    format!(
        "{} (pool {}, pid {})",
        p.request(),
        crate::sanitize::terminal(pool),
        p.pid
    )
}

/// `GET /report.php (pool www, pid 813) has run 40s`.
fn slow_text(pool: &str, p: &fpm_status::Proc) -> String {
    format!("{} has run {}", request_label(pool, p), short(p.duration))
}

/// `GET /checkout.php (pool www, pid 812) has waited 8s on 127.0.0.1:8099`, or
/// `php-fpm pool www (pid 812) …` where the request is not known.
fn wait_text(w: &Wait, reqs: &fpm_status::Requests) -> String {
    let how = if w.connecting {
        "has tried to connect for"
    } else {
        "has waited"
    };
    let who = serving(w, reqs).map_or_else(|| w.worker.label(), |(pool, p)| request_label(pool, p));
    format!("{who} {how} {} on {}", short(w.waited), w.remote)
}
