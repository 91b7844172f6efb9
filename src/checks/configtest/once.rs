//! Each configuration test once per command: while a [`Scope`] is open, the same command line
//! runs once and every caller gets its answer. `snapshot` runs the checks and then records
//! the host's tests; `run` may hold both a `configtest` and a `baseline` check. Outside a
//! scope (`serve`, which reruns its checks, and the tests) every call runs the program.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sys::child::{self, Finished};

type Answer = Result<Arc<Finished>, String>;

#[derive(Default)]
struct Memo {
    open: usize,
    /// Finished answers only: a run that timed out or could not start is not shared.
    ran: BTreeMap<Vec<String>, Arc<Finished>>,
}

static MEMO: Mutex<Memo> = Mutex::new(Memo {
    open: 0,
    ran: BTreeMap::new(),
});

fn lock(memo: &Mutex<Memo>) -> std::sync::MutexGuard<'_, Memo> {
    memo.lock().unwrap_or_else(|p| p.into_inner())
}

/// While one is alive, configuration tests are shared; the answers are forgotten when the
/// last one ends.
pub struct Scope(());

impl Scope {
    pub fn open() -> Scope {
        lock(&MEMO).open += 1;
        Scope(())
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let mut m = lock(&MEMO);
        m.open -= 1;
        if m.open == 0 {
            m.ran.clear();
        }
    }
}

/// Runs `argv` (in its own process group, bounded by `timeout`), or gives the answer of an
/// earlier run of the same command line in this scope. A caller never waits for another's
/// run (its own time limit is its own): two asking at once both run it, as without a scope.
pub fn run(argv: &[String], timeout: Duration) -> Answer {
    run_in(&MEMO, argv, timeout)
}

fn run_in(memo: &Mutex<Memo>, argv: &[String], timeout: Duration) -> Answer {
    {
        let m = lock(memo);
        if let Some(f) = m.ran.get(argv) {
            return Ok(Arc::clone(f));
        }
    }
    let answer = child::run(&child::Spec {
        argv,
        env: &Default::default(),
        clear_env: false,
        cwd: None,
        timeout,
    })
    .map(Arc::new);
    if let Ok(f) = &answer
        && !f.timed_out
    {
        let mut m = lock(memo);
        if m.open > 0 {
            m.ran.insert(argv.to_vec(), Arc::clone(f));
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command line that says how many times it ran, by the length of a file it grows.
    fn counting(dir: &std::path::Path) -> Vec<String> {
        let log = dir.join("ran");
        vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("echo x >> '{}'; wc -l < '{}'", log.display(), log.display()),
        ]
    }

    #[test]
    fn once_in_a_scope_every_time_outside() {
        let dir = tempfile::tempdir().unwrap();
        let argv = counting(dir.path());
        let t = Duration::from_secs(10);
        let said = |a: Answer| a.unwrap().stdout.text().trim().to_string();
        // A memo of this test's own: the process-wide one would share other tests' answers.
        let memo = Mutex::new(Memo::default());
        assert_eq!(said(run_in(&memo, &argv, t)), "1", "no scope: it runs");
        assert_eq!(said(run_in(&memo, &argv, t)), "2");
        lock(&memo).open = 1;
        assert_eq!(said(run_in(&memo, &argv, t)), "3");
        assert_eq!(
            said(run_in(&memo, &argv, t)),
            "3",
            "in a scope, the answer is shared"
        );
        lock(&memo).ran.clear();
        assert_eq!(said(run_in(&memo, &argv, t)), "4");
    }

    #[test]
    fn a_run_that_timed_out_is_not_shared() {
        let memo = Mutex::new(Memo {
            open: 1,
            ran: BTreeMap::new(),
        });
        let argv: Vec<String> = vec!["/bin/sleep".into(), "5".into()];
        let first = run_in(&memo, &argv, Duration::from_millis(50)).unwrap();
        assert!(first.timed_out);
        assert!(lock(&memo).ran.is_empty());
    }
}
