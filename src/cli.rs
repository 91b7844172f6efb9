//! What the user typed: the command line, parsed by clap. [`crate::app`] resolves it.

pub mod applies;

use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser};
use clap::{Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCandidates;

use crate::exit::FailOn;

pub const AFTER_HELP: &str = "\
Examples:
  sitedoctor                          run the built-in checklist; problems first, with fixes
  sitedoctor --quiet                  for cron: silent unless something is wrong
  sitedoctor --quiet --format prometheus --output /var/lib/node_exporter/sitedoctor.prom
  sitedoctor --config checks/deploy.toml --format junit --output report.xml
  sitedoctor fix --only files         the chmod commands that would fix the files' findings
  sitedoctor fix --apply              make those mode changes, then re-run the checks
  sitedoctor init                     write a sitedoctor.toml that fits this host's web stack
  sitedoctor list                     check kinds, and the checks that would run
  sitedoctor explain disk             why a kind matters for a 500, and an example
  sitedoctor serve                    /healthz, /metrics and a status page on 127.0.0.1:9947

Exit codes: 0 all passed or skipped, 1 a warning, 2 a failure, 3 a check could not run
(and none failed), 64 usage error, 74 cannot write the output file, 78 configuration error
(nothing ran), 130 interrupted (`serve` stopped by SIGTERM exits 0).";

/// Find why this web server answers "500 Internal Server Error", and how to fix it.
///
/// Runs a checklist of checks on this host — disk, memory, load, file descriptors, required
/// processes and environment variables — and reports each as pass, warn, fail, error or
/// skip, with the evidence and the command that fixes it.
#[derive(Debug, Clone, Parser)]
#[command(name = "sitedoctor", version, after_help = AFTER_HELP, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Check definitions: a TOML file, or a directory of *.toml (repeatable). Default:
    /// ./sitedoctor.toml, else the *.toml in /etc/sitedoctor/checks.d/ (or in
    /// $SITEDOCTOR_SYSTEM_CONFIG_DIR), else the built-in checklist. A file that users other
    /// than root (or you) can change may not run programs.
    #[arg(short, long, value_name = "PATH", global = true)]
    pub config: Vec<PathBuf>,

    /// Run only the checks with this id or tag (repeatable, or comma-separated).
    #[arg(long, value_name = "ID|TAG", value_delimiter = ',', global = true,
          add = ArgValueCandidates::new(crate::complete::ids_and_tags))]
    pub only: Vec<String>,

    /// Leave out the checks with this id or tag (repeatable, or comma-separated).
    #[arg(long, value_name = "ID|TAG", value_delimiter = ',', global = true,
          add = ArgValueCandidates::new(crate::complete::ids_and_tags))]
    pub skip: Vec<String>,

    /// Output format.
    #[arg(short, long, value_name = "FORMAT", default_value = "human", global = true,
          value_parser = PossibleValuesParser::new(
              crate::render::FORMATS.iter().map(|f| PossibleValue::new(f.name).help(f.about))))]
    pub format: String,

    /// Write the report to FILE (atomically: readers never see half a report) instead of stdout.
    #[arg(short, long, value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,

    /// Print nothing when all is well, and only the problems otherwise (for cron).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Show the evidence of passing checks too, and how long each check took.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// When to colour the human report. NO_COLOR is honoured under `auto`.
    #[arg(long, value_name = "WHEN", default_value = "auto", global = true)]
    pub color: ColorWhen,

    /// The worst status that still fails the run: with `fail`, warnings exit 0.
    #[arg(long, value_name = "STATUS", default_value = "warn", global = true)]
    pub fail_on: FailOn,

    /// Whether `--fail-on` was on the command line, not left at its default (`serve` judges
    /// /healthz with `fail` unless told otherwise). Set by `cli::applies::parse_from`.
    #[arg(skip)]
    pub fail_on_given: bool,

    /// Timeout for each check that sets none of its own, like "10s" or "500ms" [default: the
    /// kind's own (5s for tcp), else 10s].
    #[arg(long, value_name = "DURATION", global = true, value_parser = crate::units::parse_duration)]
    pub timeout: Option<std::time::Duration>,

    /// How many checks may run at once.
    #[arg(short, long, value_name = "N", default_value_t = 64, global = true,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: u16,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the checks and report (the default).
    Run,
    /// List every check kind, then the checks the configuration would run.
    List,
    /// Show the automatic fixes (mode changes) the findings call for; with --apply, make them.
    ///
    /// Only mode bits change, only inside each check's root, never through a symlink, and never
    /// to a mode looser than the check's policy. After --apply the affected checks run again.
    Fix {
        /// Make the changes (without it, nothing is changed).
        #[arg(long)]
        apply: bool,
    },
    /// Detect this host's web stack (nginx, Apache, PHP-FPM: their logs, web roots and user,
    /// read from their configurations) and write a commented sitedoctor.toml that fits it.
    Init {
        /// Where to write it.
        #[arg(default_value = "sitedoctor.toml")]
        path: std::path::PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Record this host's known-good state (the web roots' files, modes and owners, with
    /// keyed hashes; the host's configuration) after a deploy that works.
    ///
    /// The checks run first: a state where any fails is not recorded unless --force.
    Snapshot(SnapshotArgs),
    /// What changed since the last good snapshot, most likely to break the site first.
    ///
    /// Exit 0 nothing changed, 1 something did, 3 only part could be compared, 78 no usable
    /// snapshot.
    Diff(DiffArgs),
    /// Explain a check kind or a configured check: why it matters for a 500, what it looks
    /// at, how to fix it, its fields and an example.
    Explain {
        /// A kind (`disk`) or a check id from the configuration. Without it: every kind.
        #[arg(add = ArgValueCandidates::new(crate::complete::explain_targets))]
        target: Option<String>,
        /// Print Markdown (the README's configuration reference is this output).
        #[arg(long)]
        markdown: bool,
    },
    /// Print the shell completion script for SHELL. It asks sitedoctor for the ids and tags of
    /// the configuration in effect where you press TAB (after --only, --skip and explain).
    ///
    /// Load it from the shell's startup file, e.g. `source <(sitedoctor completions bash)` in
    /// ~/.bashrc, or install it where the shell looks: the Debian package does.
    Completions {
        #[arg(value_parser = PossibleValuesParser::new(crate::complete::shell_names()))]
        shell: String,
    },
    /// Print the sitedoctor(1) manual page (roff): `sitedoctor man | man -l -`.
    Man,
    /// Serve the results over HTTP: /healthz for load balancers and probes, /metrics for
    /// Prometheus, /report.json, and a status page at / (default 127.0.0.1:9947).
    ///
    /// One run is shared by every request within --cache (10s); with --interval, runs happen
    /// in the background. /healthz judges with --fail-on fail unless --fail-on is given.
    /// SIGHUP re-reads the configuration; SIGTERM stops the server and exits 0.
    Serve(crate::serve::ServeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SnapshotArgs {
    /// The baseline directory [default: $SITEDOCTOR_STATE_DIR, else /var/lib/sitedoctor as
    /// root, else $XDG_STATE_HOME/sitedoctor or ~/.local/state/sitedoctor].
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Record even though checks fail.
    #[arg(long)]
    pub force: bool,
    /// Also keep the content of text files, so that `diff` can show the old lines (never of
    /// `.env*` files; the snapshot stays readable only by its owner).
    #[arg(long)]
    pub keep_content: bool,
    /// List the snapshots kept, oldest first, and record nothing.
    #[arg(long, conflicts_with_all = ["force", "keep_content", "prune"])]
    pub list: bool,
    /// Keep only the newest N snapshots (default 3), and record nothing.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "3",
          conflicts_with_all = ["force", "keep_content"])]
    pub prune: Option<usize>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// The baseline directory, or one snapshot file [default: as for `snapshot`].
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Compare with this snapshot (a name from `snapshot --list`) or the newest taken at or
    /// before this time (2026-11-30T10:00:00Z, 2026-11-30, or an age like 2h).
    #[arg(long, value_name = "NAME|TIME")]
    pub since: Option<String>,
    /// Read and hash every file again, not only those whose size, times or inode changed.
    #[arg(long)]
    pub verify: bool,
    /// Compare only the files under the web roots: no program is run (no config test,
    /// `php-fpm -m`, `dpkg-query`) and nothing else of the host is read. The quick answer to
    /// "did anyone touch the files?", for cron every few minutes.
    #[arg(long)]
    pub files_only: bool,
}
