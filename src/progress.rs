//! While checks run, a line on stderr saying which are still running and for how long —
//! shown only on a terminal, only once the run has taken [`DELAY`], and erased before the
//! report is printed. The runner records what runs ([`Running`]); this draws it.
//!
//! One line redrawn in place (`CR`, erase line) needs no more than this; a progress-bar
//! crate (indicatif) would bring a console layer and its dependencies for the same effect.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::runner::Running;

/// A run shorter than this shows nothing: a flash of text would only distract.
pub const DELAY: Duration = Duration::from_millis(300);

/// How often the line is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// Back to the start of the line, and erase it.
pub const ERASE: &str = "\r\x1b[2K";

/// Whether a progress line is on the screen now (for [`abandon`]).
static DRAWN: AtomicBool = AtomicBool::new(false);
/// Set once the process is ending: draw nothing more.
static ABANDONED: AtomicBool = AtomicBool::new(false);

/// Run `work`, showing what it is waiting for on stderr when `wanted` (a person reads the
/// report: no `--quiet`, no machine format) and stderr is a terminal that takes escapes.
pub fn while_running<T>(wanted: bool, work: impl FnOnce(&Running) -> T) -> T {
    let running = Running::default();
    if !wanted || !stderr_takes_escapes() {
        return work(&running);
    }
    std::thread::scope(|s| {
        let (stop, stopped) = mpsc::channel::<()>();
        let drawer = s.spawn(|| draw_until(stopped, &running));
        let result = work(&running);
        drop(stop);
        let _ = drawer.join();
        result
    })
}

/// The process is ending (interrupted): erase the line so the last message starts clean.
pub fn abandon() {
    ABANDONED.store(true, Ordering::SeqCst);
    if DRAWN.swap(false, Ordering::SeqCst) {
        let _ = std::io::stderr().write_all(ERASE.as_bytes());
    }
}

fn stderr_takes_escapes() -> bool {
    std::io::stderr().is_terminal() && !crate::sys::terminal::dumb()
}

fn draw_until(stopped: mpsc::Receiver<()>, running: &Running) {
    let begun = Instant::now();
    let mut err = std::io::stderr();
    loop {
        let wait = DELAY.saturating_sub(begun.elapsed()).max(TICK);
        if !matches!(
            stopped.recv_timeout(wait),
            Err(mpsc::RecvTimeoutError::Timeout)
        ) || ABANDONED.load(Ordering::SeqCst)
        {
            break;
        }
        let now = running.now();
        let width = crate::sys::terminal::columns(&err).unwrap_or(80);
        let text = if now.is_empty() {
            ERASE.to_string()
        } else {
            format!("{ERASE}{}", line(&now, width))
        };
        DRAWN.store(!now.is_empty(), Ordering::SeqCst);
        let _ = err.write_all(text.as_bytes()).and_then(|_| err.flush());
    }
    if DRAWN.swap(false, Ordering::SeqCst) {
        let _ = err.write_all(ERASE.as_bytes()).and_then(|_| err.flush());
    }
}

/// `still running: slow-api 2.3s, disk 0.4s`, cut to fit in one line of `width` columns (a
/// line the terminal wrapped could not be erased in place).
pub fn line(running: &[(String, Duration)], width: usize) -> String {
    let list: Vec<String> = running
        .iter()
        .map(|(id, d)| format!("{} {:.1}s", crate::sanitize::terminal(id), d.as_secs_f64()))
        .collect();
    let text = format!("still running: {}", list.join(", "));
    crate::units::clip(&text, width.saturating_sub(2).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_each_check_and_its_time_within_the_width() {
        let r = vec![
            ("slow-api".to_string(), Duration::from_millis(2345)),
            ("disk".to_string(), Duration::from_millis(400)),
        ];
        assert_eq!(line(&r, 80), "still running: slow-api 2.3s, disk 0.4s");
        let cut = line(&r, 20);
        assert_eq!(cut, "still running: slo…");
        assert!(cut.chars().count() < 20);
    }

    #[test]
    fn a_run_shorter_than_the_delay_draws_nothing() {
        assert_eq!(while_running(true, |_| 7), 7);
        assert!(!DRAWN.load(Ordering::SeqCst));
    }
}
