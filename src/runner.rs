//! Run every check concurrently on a bounded pool of threads, each under its timeout. A check
//! that errors, panics or hangs becomes `error`; the others go on. Results come back in
//! checklist order, and the run takes about as long as its slowest check.

use std::collections::HashMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant, SystemTime};

use crate::check::{Ctx, Outcome, Status};
use crate::config::CheckSpec;
use crate::report::{CheckResult, Report};
use crate::units::fmt_duration;

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// `--timeout`: for checks that set none, before their kind's own default.
    pub timeout: Option<Duration>,
    /// At most this many checks run at once. A check that timed out no longer counts.
    pub jobs: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            timeout: None,
            jobs: 64,
        }
    }
}

const THREAD_PREFIX: &str = "check:";

/// Keep a check's panic out of the terminal: it is reported as the check's `error`.
fn quiet_check_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let in_check = std::thread::current()
                .name()
                .is_some_and(|n| n.starts_with(THREAD_PREFIX));
            if !in_check {
                default(info);
            }
        }));
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

type Done = (usize, Outcome, Duration);

/// Used when neither the check, `--timeout`, nor the check's kind sets a timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A check's timeout: its own `timeout`, else `--timeout`, else its kind's default, else 10s.
pub fn effective_timeout(spec: &CheckSpec, cli: Option<Duration>) -> Duration {
    spec.timeout
        .or(cli)
        .or(spec.kind.default_timeout)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Which checks are running now, and since when. The runner records each check's start and
/// end here so that a caller can show progress; what to show, and where, is the caller's.
#[derive(Debug, Default)]
pub struct Running(Mutex<HashMap<usize, (String, Instant)>>);

impl Running {
    fn started(&self, i: usize, id: &str, at: Instant) {
        self.lock().insert(i, (id.to_string(), at));
    }

    /// Done, or given up on (timed out): either way, no longer waited for.
    fn ended(&self, i: usize) {
        self.lock().remove(&i);
    }

    /// The checks still running with how long each has run, longest first (checklist order
    /// among equals).
    pub fn now(&self) -> Vec<(String, Duration)> {
        let at = Instant::now();
        let mut v: Vec<(usize, String, Duration)> = self
            .lock()
            .iter()
            .map(|(i, (id, began))| (*i, id.clone(), at.saturating_duration_since(*began)))
            .collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        v.into_iter().map(|(_, id, d)| (id, d)).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<usize, (String, Instant)>> {
        // The map stays consistent even if a holder panicked: every update is one call.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn run(specs: &[CheckSpec], opts: RunOptions) -> Report {
    run_watched(specs, opts, &Running::default())
}

/// [`run`], recording in `running` which checks are under way.
pub fn run_watched(specs: &[CheckSpec], opts: RunOptions, watch: &Running) -> Report {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut checks = results(specs, opts, watch);
    reread_logs(specs, &mut checks, opts, watch);
    let took = start.elapsed();
    let diagnosis = crate::diagnosis::diagnose(&checks);
    Report::new(checks, diagnosis, started_at, took)
}

/// When the site answered an error, the `log` checks may have read their files before the
/// request that failed was logged (they all run at once): read them again, so the entry
/// that explains the answer is there to link. Logs are read only back to their window's
/// start, so this costs about what the first reading did.
fn reread_logs(specs: &[CheckSpec], checks: &mut [CheckResult], opts: RunOptions, watch: &Running) {
    let site_failed = checks.iter().any(|c| {
        c.kind == "http"
            && c.findings
                .iter()
                .any(|f| f.until.is_some() && !f.status.is_ok())
    });
    let logs: Vec<usize> = (0..specs.len())
        .filter(|&i| specs[i].kind.name == "log")
        .collect();
    if !site_failed || logs.is_empty() {
        return;
    }
    let again: Vec<CheckSpec> = logs.iter().map(|&i| specs[i].clone()).collect();
    for (i, r) in logs.into_iter().zip(results(&again, opts, watch)) {
        checks[i] = r;
    }
}

/// Run the checks and return their results in checklist order.
fn results(specs: &[CheckSpec], opts: RunOptions, watch: &Running) -> Vec<CheckResult> {
    quiet_check_panics();
    let jobs = opts.jobs.max(1);
    let (tx, rx) = mpsc::channel::<Done>();
    let mut results: Vec<Option<(Outcome, Duration)>> = vec![None; specs.len()];
    // Index -> (started, deadline) of checks still running.
    let mut running: HashMap<usize, (Instant, Instant)> = HashMap::new();
    let mut next = 0;

    loop {
        while running.len() < jobs && next < specs.len() {
            let i = next;
            next += 1;
            let spec = &specs[i];
            let timeout = effective_timeout(spec, opts.timeout);
            let budget = spec.check.budget(timeout);
            let began = Instant::now();
            let ctx = Ctx {
                id: spec.id.clone(),
                timeout,
                deadline: began + budget,
            };
            let check = Arc::clone(&spec.check);
            let tx = tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{THREAD_PREFIX}{}", spec.id))
                .spawn(move || {
                    let t0 = Instant::now();
                    let outcome = match panic::catch_unwind(AssertUnwindSafe(|| check.run(&ctx))) {
                        Ok(Ok(o)) => o,
                        Ok(Err(e)) => Outcome::error(format!("{e:#}")),
                        Err(p) => Outcome::error(format!(
                            "the check crashed (a bug in sitedoctor): {}",
                            panic_message(&*p)
                        )),
                    };
                    // The receiver is gone only if the run already ended; nothing to do then.
                    let _ = tx.send((i, outcome, t0.elapsed()));
                });
            match spawned {
                Ok(_) => {
                    running.insert(i, (began, began + budget));
                    watch.started(i, &spec.id, began);
                }
                Err(e) => {
                    results[i] = Some((
                        Outcome::error(format!("could not start the check: {e}")),
                        Duration::ZERO,
                    ))
                }
            }
        }
        if running.is_empty() {
            break;
        }
        let nearest = running.values().map(|(_, d)| *d).min().expect("non-empty");
        match rx.recv_timeout(nearest.saturating_duration_since(Instant::now())) {
            Ok((i, outcome, took)) => {
                // A result that arrives after its timeout was reported is dropped.
                if running.remove(&i).is_some() {
                    watch.ended(i);
                    results[i] = Some((outcome, took));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let now = Instant::now();
                let expired: Vec<usize> = running
                    .iter()
                    .filter(|(_, (_, d))| *d <= now)
                    .map(|(i, _)| *i)
                    .collect();
                for i in expired {
                    let (began, deadline) = running.remove(&i).expect("present");
                    watch.ended(i);
                    // The configured limit, and the whole budget only where retries make it
                    // differ.
                    let limit = effective_timeout(&specs[i], opts.timeout);
                    let budget = deadline - began;
                    let retries = if budget > limit {
                        format!(
                            " per attempt ({} in all, with its retries)",
                            fmt_duration(budget)
                        )
                    } else {
                        String::new()
                    };
                    let o = Outcome::error(format!(
                        "timed out after {}{retries}: the check did not finish (raise `timeout` for this check, or --timeout)",
                        fmt_duration(limit)
                    ));
                    results[i] = Some((o, began.elapsed()));
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("the runner holds a sender"),
        }
    }

    specs
        .iter()
        .zip(results)
        .map(|(spec, r)| {
            let (mut o, took) = r.expect("every check has a result");
            if let Some(sev) = spec.severity {
                o.status = sev.apply(o.status);
            }
            if o.summary.is_empty() {
                o.summary = match o.status {
                    Status::Pass => "ok".into(),
                    s => s.to_string(),
                };
            }
            CheckResult {
                id: spec.id.clone(),
                kind: spec.kind.name,
                title: spec.title.clone(),
                tags: spec.tags.clone(),
                status: o.status,
                summary: o.summary,
                details: o.details,
                fix: o.fix,
                metrics: o.metrics,
                findings: o.findings,
                duration_ms: took.as_millis() as u64,
            }
        })
        .collect()
}

/// Run `work` for one check on a thread of its own under the check's deadline, with the
/// guarantees [`run`] gives: a panic or an overrun becomes an error message for this check,
/// and the caller goes on. On an overrun the thread is left behind; `work` must stop acting
/// when told (`fix` closes a gate its sink checks).
pub fn isolated<T, F>(spec: &CheckSpec, cli_timeout: Option<Duration>, work: F) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(&Ctx) -> anyhow::Result<T> + Send + 'static,
{
    quiet_check_panics();
    let timeout = effective_timeout(spec, cli_timeout);
    let budget = spec.check.budget(timeout);
    let ctx = Ctx::new(&spec.id, timeout, budget);
    let deadline = ctx.deadline;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("{THREAD_PREFIX}{}", spec.id))
        .spawn(move || {
            let r = match panic::catch_unwind(AssertUnwindSafe(|| work(&ctx))) {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(format!("{e:#}")),
                Err(p) => Err(format!(
                    "the check crashed (a bug in sitedoctor): {}",
                    panic_message(&*p)
                )),
            };
            // The receiver is gone only if the caller stopped waiting; nothing to do then.
            let _ = tx.send(r);
        })
        .map_err(|e| format!("could not start the check: {e}"))?;
    match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "did not finish within {} (raise `timeout` for this check, or --timeout)",
            fmt_duration(budget)
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("the check ended without a result (a bug in sitedoctor)".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_lists_what_has_not_ended_longest_first() {
        let r = Running::default();
        let t = Instant::now();
        r.started(0, "young", t);
        r.started(1, "old", t - Duration::from_secs(5));
        r.started(2, "done", t - Duration::from_secs(9));
        r.ended(2);
        let ids: Vec<String> = r.now().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["old", "young"]);
        assert!(r.now()[0].1 >= Duration::from_secs(5));
    }
}
