//! One shared run: requests within the cache period get the same result, and any number of
//! them arriving when it is stale start exactly one run and wait for it together (no
//! stampede). With `--interval`, runs happen in the background and requests never wait
//! (except for the very first run).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, mpsc};
use std::time::{Duration, Instant, SystemTime};

use hyper::body::Bytes;
use tokio::sync::watch;

use super::history::History;
use super::plan::Plan;
use crate::exit::{Exit, FailOn};
use crate::render::RenderOptions;
use crate::report::Report;

/// A finished run with its answers rendered once, so a request only copies bytes.
pub(crate) struct Snapshot {
    pub report: Report,
    pub finished: SystemTime,
    /// Until when it answers requests (without `--interval`).
    fresh_until: Instant,
    /// The configuration it ran ([`Cache::reload`] makes older snapshots stale).
    plan_generation: u64,
    /// The history including this run.
    pub history: History,
    /// `/healthz`: whether the run passes under the server's `--fail-on`, and its body.
    pub healthy: bool,
    pub health_body: Bytes,
    pub metrics: Bytes,
    pub json: Bytes,
}

struct State {
    latest: Option<Arc<Snapshot>>,
    running: bool,
    history: History,
}

pub(crate) struct Cache {
    state: Mutex<State>,
    /// Bumped (under the state lock) each time a run ends, to wake the requests waiting.
    done: watch::Sender<u64>,
    plan: RwLock<(u64, Arc<Plan>)>,
    cache_for: Duration,
    background: bool,
    fail_on: FailOn,
    runs: AtomicU64,
    /// With `--interval`: tells the background loop to run now (after a reload).
    wake: Mutex<Option<mpsc::Sender<()>>>,
}

impl Cache {
    pub fn new(
        plan: Plan,
        cache_for: Duration,
        background: bool,
        history: usize,
        fail_on: FailOn,
    ) -> Cache {
        Cache {
            state: Mutex::new(State {
                latest: None,
                running: false,
                history: History::new(history),
            }),
            done: watch::Sender::new(0),
            plan: RwLock::new((0, Arc::new(plan))),
            cache_for,
            background,
            fail_on,
            runs: AtomicU64::new(0),
            wake: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn generation(&self) -> u64 {
        self.plan.read().unwrap_or_else(|e| e.into_inner()).0
    }

    /// The result to answer with: the cached one while fresh, else the next run's (started
    /// here unless one is already under way). `None` only when no run has ever finished
    /// (the first one crashed).
    pub async fn get(self: &Arc<Self>) -> Option<Arc<Snapshot>> {
        let mut done = {
            let mut st = self.lock();
            if let Some(s) = &st.latest {
                let fresh =
                    Instant::now() < s.fresh_until && s.plan_generation == self.generation();
                if self.background || fresh {
                    return Some(Arc::clone(s));
                }
            }
            if !st.running && !self.background {
                st.running = true;
                let me = Arc::clone(self);
                let spawned = std::thread::Builder::new()
                    .name("serve-run".into())
                    .spawn(move || me.run_now());
                if let Err(e) = spawned {
                    st.running = false;
                    eprintln!("sitedoctor: cannot start a run: {e}");
                    return st.latest.clone();
                }
            }
            // Subscribed under the lock the run's end takes: its wake-up cannot be missed.
            self.done.subscribe()
        };
        // Whatever that run made of it is the answer, however old the cache period says it
        // is (a zero --cache must not loop).
        let _ = done.changed().await;
        self.lock().latest.clone()
    }

    /// Run the checks now and publish the result (blocking: call on a thread of its own).
    pub fn run_now(&self) {
        let (generation, plan) = {
            let p = self.plan.read().unwrap_or_else(|e| e.into_inner());
            (p.0, Arc::clone(&p.1))
        };
        let started = SystemTime::now();
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan.run()));
        let mut st = self.lock();
        match report {
            Ok(report) => {
                st.history.push(started, &report);
                let runs = self.runs.fetch_add(1, Ordering::Relaxed) + 1;
                let snap = self.snapshot(report, generation, st.history.clone(), runs);
                st.latest = Some(Arc::new(snap));
            }
            Err(_) => eprintln!(
                "sitedoctor: the run crashed (a bug in sitedoctor); keeping the last result"
            ),
        }
        st.running = false;
        self.done.send_modify(|n| *n += 1);
    }

    fn snapshot(
        &self,
        report: Report,
        plan_generation: u64,
        history: History,
        runs: u64,
    ) -> Snapshot {
        let plain = RenderOptions::default();
        let render = |name: &str| {
            (crate::render::find(name)
                .expect("a registered format")
                .render)(&report, &plain)
        };
        let human = render("human");
        let closing = human
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no checks ran");
        let healthy = Exit::from_worst(report.worst, self.fail_on) == Exit::Ok;
        let mut metrics = render("prometheus");
        metrics.push_str(&format!(
            "# HELP sitedoctor_serve_runs_total Runs since `sitedoctor serve` started.\n\
             # TYPE sitedoctor_serve_runs_total counter\n\
             sitedoctor_serve_runs_total {runs}\n"
        ));
        Snapshot {
            health_body: Bytes::from(format!("{closing}\n")),
            healthy,
            metrics: Bytes::from(metrics),
            json: Bytes::from(render("json")),
            finished: SystemTime::now(),
            fresh_until: Instant::now() + self.cache_for,
            plan_generation,
            history,
            report,
        }
    }

    /// Use a new configuration from the next run on; the cached result is stale from now
    /// (with `--interval`, the next run starts at once).
    pub fn reload(&self, plan: Plan) {
        {
            let mut p = self.plan.write().unwrap_or_else(|e| e.into_inner());
            *p = (p.0 + 1, Arc::new(plan));
        }
        if let Some(wake) = &*self.wake.lock().unwrap_or_else(|e| e.into_inner()) {
            let _ = wake.send(());
        }
    }

    /// With `--interval`: run now, then once per `interval` (start to start; a run longer
    /// than the interval is followed at once by the next), on a thread of its own.
    pub fn start_background(self: &Arc<Self>, interval: Duration) -> std::io::Result<()> {
        let (tx, rx) = mpsc::channel();
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(tx);
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("serve-interval".into())
            .spawn(move || {
                loop {
                    let began = Instant::now();
                    me.run_now();
                    match rx.recv_timeout(interval.saturating_sub(began.elapsed())) {
                        Ok(()) | Err(mpsc::RecvTimeoutError::Timeout) => {}
                        Err(mpsc::RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .map(drop)
    }
}
