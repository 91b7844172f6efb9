//! Exit codes: the Nagios-compatible contract scripts and cron depend on.

use crate::check::Status;

/// How `sitedoctor` ends. The numbers are part of the public contract (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every check passed or was skipped.
    Ok = 0,
    /// The worst result is a warning.
    Warn = 1,
    /// At least one check failed.
    Fail = 2,
    /// A check could not run, and none failed.
    Error = 3,
    /// The command line was wrong.
    Usage = 64,
    /// An output file could not be written (sysexits EX_IOERR).
    IoError = 74,
    /// The configuration was wrong; nothing ran.
    Config = 78,
    /// Interrupted by SIGINT or SIGTERM.
    Interrupted = 130,
}

/// Which worst status still counts as success (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FailOn {
    /// Warnings exit 1, failures 2.
    #[default]
    Warn,
    /// Warnings exit 0; only failures (2) and errors (3) are non-zero.
    Fail,
}

impl Exit {
    /// Every code, in numeric order (the man page's EXIT STATUS lists them).
    pub const ALL: [Exit; 8] = [
        Exit::Ok,
        Exit::Warn,
        Exit::Fail,
        Exit::Error,
        Exit::Usage,
        Exit::IoError,
        Exit::Config,
        Exit::Interrupted,
    ];

    /// The exit code for a run whose worst status is `worst`.
    pub fn from_worst(worst: Status, fail_on: FailOn) -> Exit {
        match worst {
            Status::Pass | Status::Skip => Exit::Ok,
            Status::Warn if fail_on == FailOn::Fail => Exit::Ok,
            Status::Warn => Exit::Warn,
            Status::Error => Exit::Error,
            Status::Fail => Exit::Fail,
        }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worst(statuses: &[Status]) -> Status {
        statuses.iter().copied().fold(Status::Pass, Status::worse)
    }

    #[test]
    fn codes_combine_as_documented() {
        use Status::*;
        let w = FailOn::Warn;
        assert_eq!(Exit::from_worst(worst(&[]), w), Exit::Ok);
        assert_eq!(Exit::from_worst(worst(&[Pass, Skip]), w), Exit::Ok);
        assert_eq!(Exit::from_worst(worst(&[Pass, Warn]), w), Exit::Warn);
        assert_eq!(Exit::from_worst(worst(&[Warn, Error]), w), Exit::Error);
        assert_eq!(Exit::from_worst(worst(&[Error, Fail, Warn]), w), Exit::Fail);
        assert_eq!(Exit::from_worst(worst(&[Fail, Error]), w), Exit::Fail);
    }

    #[test]
    fn fail_on_fail_lets_warnings_pass() {
        assert_eq!(Exit::from_worst(Status::Warn, FailOn::Fail), Exit::Ok);
        assert_eq!(Exit::from_worst(Status::Error, FailOn::Fail), Exit::Error);
        assert_eq!(Exit::from_worst(Status::Fail, FailOn::Fail), Exit::Fail);
    }

    #[test]
    fn numbers_are_the_contract() {
        let codes: Vec<u8> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 64, 74, 78, 130]);
    }
}
