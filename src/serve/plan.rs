//! What a run runs: the checks the configuration and `--only`/`--skip` select, read at start
//! and again on SIGHUP, and the run itself.

use crate::app::Failure;
use crate::cli::Cli;
use crate::config::{self, CheckSpec};
use crate::report::{CheckResult, Report};
use crate::runner::{self, RunOptions};

/// The checks of one configuration, and the warning about files other users can change.
pub(crate) struct Plan {
    pub specs: Vec<CheckSpec>,
    pub warning: Option<CheckResult>,
    pub opts: RunOptions,
}

/// Read the configuration as a one-off run would: the same files, trust rules and selection.
pub(crate) fn load(cli: &Cli) -> Result<Plan, Failure> {
    let resolved = config::source::resolve(&cli.config).map_err(crate::app::config_failure)?;
    let config::Loaded { specs, untrusted } =
        config::load_resolved(&resolved).map_err(crate::app::config_failure)?;
    Ok(Plan {
        specs: crate::app::select(cli, specs)?,
        warning: config::trust::warning(&untrusted),
        opts: RunOptions {
            timeout: cli.timeout,
            jobs: cli.jobs as usize,
        },
    })
}

impl Plan {
    /// Run every check once (blocking; each check is bounded by its timeout).
    pub fn run(&self) -> Report {
        let mut report = runner::run(&self.specs, self.opts);
        if let Some(w) = &self.warning {
            report.prepend(w.clone(), crate::diagnosis::diagnose);
        }
        report
    }
}
