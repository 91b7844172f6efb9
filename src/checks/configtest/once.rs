//! Each configuration test once per command: while a [`Scope`] is open, the same command line
//! runs once and every caller gets its answer. `snapshot` runs the checks and then records
//! the host's tests; `run` may hold both a `configtest` and a `baseline` check. Outside a
//! scope (`serve`, which reruns its checks, and the tests) every call runs the program.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::sys::child::{self, Finished};

type Answer = Result<Arc<Finished>, String>;

#[derive(Default)]
struct Memo {
    open: usize,
    ran: BTreeMap<Vec<String>, Arc<OnceLock<Answer>>>,
}

fn memo() -> std::sync::MutexGuard<'static, Memo> {
    static MEMO: Mutex<Memo> = Mutex::new(Memo {
        open: 0,
        ran: BTreeMap::new(),
    });
    MEMO.lock().unwrap_or_else(|p| p.into_inner())
}

/// While one is alive, configuration tests are shared; the answers are forgotten when the
/// last one ends.
pub struct Scope(());

impl Scope {
    pub fn open() -> Scope {
        memo().open += 1;
        Scope(())
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let mut m = memo();
        m.open -= 1;
        if m.open == 0 {
            m.ran.clear();
        }
    }
}

/// Runs `argv` (in its own process group, bounded by `timeout`), or gives the answer of the
/// run of the same command line in this scope — waiting for it if it is still running. A
/// run that timed out is not an answer for a caller that may wait longer: it runs its own.
pub fn run(argv: &[String], timeout: Duration) -> Answer {
    let go = || {
        child::run(&child::Spec {
            argv,
            env: &Default::default(),
            clear_env: false,
            cwd: None,
            timeout,
        })
        .map(Arc::new)
    };
    let cell = {
        let mut m = memo();
        if m.open == 0 {
            return go();
        }
        Arc::clone(m.ran.entry(argv.to_vec()).or_default())
    };
    let mut ours = false;
    let answer = cell.get_or_init(|| {
        ours = true;
        go()
    });
    match answer {
        Ok(f) if f.timed_out && !ours => go(),
        answer => answer.clone(),
    }
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
        // No other test opens a scope (only the commands do), and the command line is this
        // test's alone.
        let scope = Scope::open();
        let both: Vec<String> = std::thread::scope(|s| {
            let a = s.spawn(|| said(run(&argv, t)));
            let b = said(run(&argv, t));
            vec![a.join().unwrap(), b]
        });
        assert_eq!(both, ["1", "1"], "run once for both callers");
        assert_eq!(said(run(&argv, t)), "1");
        drop(scope);
        assert_eq!(said(run(&argv, t)), "2", "outside a scope, it runs");
        assert_eq!(said(run(&argv, t)), "3");
    }
}
