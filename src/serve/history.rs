//! The last N runs, kept in memory: each check's status per run, for the status page's
//! strips and "failing since".

use std::collections::{HashMap, VecDeque};
use std::time::SystemTime;

use crate::check::Status;
use crate::report::Report;

/// One past run: when it started and what each check said.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub started: SystemTime,
    pub statuses: HashMap<String, Status>,
}

#[derive(Debug, Clone)]
pub(crate) struct History {
    cap: usize,
    runs: VecDeque<Mark>,
}

/// A check's recent past, oldest first: `None` where it was not part of a run (the
/// configuration changed, or `--only` left it out).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Strip {
    pub cells: Vec<(SystemTime, Option<Status>)>,
    /// Since when it has been in its present non-passing state: the start of the first run
    /// of the unbroken streak, and whether the streak reaches past the oldest run kept.
    pub since: Option<(SystemTime, bool)>,
}

impl History {
    pub fn new(cap: usize) -> History {
        History {
            cap: cap.max(1),
            runs: VecDeque::new(),
        }
    }

    pub fn push(&mut self, started: SystemTime, report: &Report) {
        if self.runs.len() == self.cap {
            self.runs.pop_front();
        }
        self.runs.push_back(Mark {
            started,
            statuses: report
                .checks
                .iter()
                .map(|c| (c.id.clone(), c.status))
                .collect(),
        });
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn strip(&self, id: &str) -> Strip {
        let cells: Vec<(SystemTime, Option<Status>)> = self
            .runs
            .iter()
            .map(|m| (m.started, m.statuses.get(id).copied()))
            .collect();
        let since = match cells.last() {
            Some((_, Some(now))) if !now.is_ok() => {
                let streak = cells
                    .iter()
                    .rev()
                    .take_while(|(_, s)| *s == Some(*now))
                    .count();
                let first = cells[cells.len() - streak].0;
                Some((first, streak == cells.len() && self.runs.len() == self.cap))
            }
            _ => None,
        };
        Strip { cells, since }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::CheckResult;

    fn report(statuses: &[(&str, Status)]) -> Report {
        let checks = statuses
            .iter()
            .map(|(id, s)| CheckResult {
                id: id.to_string(),
                kind: "selftest",
                title: None,
                tags: Vec::new(),
                status: *s,
                summary: String::new(),
                details: Vec::new(),
                fix: None,
                metrics: Vec::new(),
                findings: Vec::new(),
                duration_ms: 0,
            })
            .collect();
        Report::new(checks, Vec::new(), SystemTime::now(), Duration::ZERO)
    }

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn keeps_the_last_n_runs() {
        let mut h = History::new(3);
        for i in 0..5 {
            h.push(at(i), &report(&[("a", Status::Pass)]));
        }
        assert_eq!(h.len(), 3);
        let times: Vec<SystemTime> = h.strip("a").cells.iter().map(|c| c.0).collect();
        assert_eq!(times, [at(2), at(3), at(4)]);
    }

    #[test]
    fn failing_since_is_the_start_of_the_unbroken_streak() {
        let mut h = History::new(10);
        h.push(at(1), &report(&[("a", Status::Fail)]));
        h.push(at(2), &report(&[("a", Status::Pass)]));
        h.push(at(3), &report(&[("a", Status::Fail)]));
        h.push(at(4), &report(&[("a", Status::Fail)]));
        assert_eq!(h.strip("a").since, Some((at(3), false)));
        h.push(at(5), &report(&[("a", Status::Pass)]));
        assert_eq!(h.strip("a").since, None);
    }

    #[test]
    fn a_streak_as_long_as_the_history_says_so() {
        let mut h = History::new(2);
        for i in 0..3 {
            h.push(at(i), &report(&[("a", Status::Warn)]));
        }
        assert_eq!(h.strip("a").since, Some((at(1), true)));
    }

    #[test]
    fn a_check_missing_from_a_run_is_an_empty_cell() {
        let mut h = History::new(5);
        h.push(at(1), &report(&[("b", Status::Pass)]));
        h.push(at(2), &report(&[("a", Status::Fail), ("b", Status::Pass)]));
        let s = h.strip("a");
        assert_eq!(s.cells, [(at(1), None), (at(2), Some(Status::Fail))]);
        assert_eq!(s.since, Some((at(2), false)));
    }
}
