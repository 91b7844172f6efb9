//! The application edge: parse arguments, resolve configuration, dispatch the subcommand,
//! write the output and choose the exit code.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use crate::checks;
use crate::cli::{Cli, ColorWhen, Command};
use crate::config::{self, CheckSpec};
use crate::exit::Exit;
use crate::render::{self, RenderOptions};
use crate::runner::{self, RunOptions};

pub fn main() -> ExitCode {
    install_interrupt_handler();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and --version go to stdout and succeed; real usage errors exit 64, never
            // clap's 2, which would read as "a check failed".
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage.into()
            } else {
                Exit::Ok.into()
            };
        }
    };
    let result = run(&cli);
    // A child of a check the runner gave up on must not outlive the run either.
    crate::sys::child::kill_all();
    match result {
        Ok(code) => code.into(),
        Err(Failure(code, msg)) => {
            eprintln!("sitedoctor: {msg}");
            code.into()
        }
    }
}

/// An early end with its exit code and message.
struct Failure(Exit, String);

fn usage(msg: String) -> Failure {
    Failure(Exit::Usage, msg)
}

/// On SIGINT or SIGTERM, kill every child's process group (they run in their own, so neither
/// a terminal's Ctrl-C nor a `kill` of sitedoctor reaches them), then exit 130.
fn install_interrupt_handler() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // SIGHUP too: a dropped SSH session must not leave the checks' programs running.
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                crate::sys::child::kill_all();
                eprintln!("sitedoctor: interrupted");
                std::process::exit(Exit::Interrupted.code() as i32);
            }
        });
    }
}

fn run(cli: &Cli) -> Result<Exit, Failure> {
    if let Some(Command::Init { path, force }) = &cli.command {
        return init(path, *force);
    }
    let resolved = config::source::resolve(&cli.config).map_err(config_failure)?;
    let config::Loaded { specs, untrusted } =
        config::load_resolved(&resolved).map_err(config_failure)?;
    if let (Some(Command::Fix { apply: true }), Some(d)) = (&cli.command, untrusted.first()) {
        return Err(config_failure(config::trust::refuse_fix(d)));
    }
    match &cli.command {
        None | Some(Command::Run) => run_checks(cli, specs, &untrusted),
        Some(Command::List) => {
            let names: Vec<String> = resolved.sources.iter().map(|s| s.name.clone()).collect();
            write_out(&crate::docs::list(&specs, &names), None)?;
            Ok(Exit::Ok)
        }
        Some(Command::Fix { apply }) => {
            let specs = select(cli, specs)?;
            let opts = crate::fixrun::FixOptions {
                apply: *apply,
                color: use_color(cli.color, std::io::stdout().is_terminal()),
            };
            Ok(crate::fixrun::run(cli, &specs, opts))
        }
        Some(Command::Snapshot(args)) => {
            let specs = select(cli, specs)?;
            crate::baseline::command::snapshot(cli, args, &specs).map_err(|(c, m)| Failure(c, m))
        }
        Some(Command::Diff(args)) => {
            let specs = select(cli, specs)?;
            crate::baseline::command::diff(cli, args, &specs).map_err(|(c, m)| Failure(c, m))
        }
        Some(Command::Init { .. }) => unreachable!("handled before the configuration is read"),
        Some(Command::Explain { target, markdown }) => {
            let text = explain(target.as_deref(), *markdown, &specs)?;
            write_out(&text, None)?;
            Ok(Exit::Ok)
        }
    }
}

/// `sitedoctor init`: write the detected configuration, never over an existing file
/// unless told, and only if it validates.
fn init(path: &Path, force: bool) -> Result<Exit, Failure> {
    let shown = crate::sanitize::path(path);
    if path.exists() && !force {
        return Err(usage(format!(
            "{shown} already exists: use --force to overwrite it"
        )));
    }
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let text = crate::init::generate(&crate::init::sysroot(), &crate::report::hostname(), &now);
    let source = config::Source {
        name: shown.clone(),
        text: text.clone(),
    };
    config::load(&[source]).map_err(|e| {
        Failure(
            Exit::Error,
            format!("the generated configuration is invalid (a bug): {e}"),
        )
    })?;
    write_out(&text, Some(path))?;
    let checks = text.matches("[[check]]").count() - text.matches("# [[check]]").count();
    write_out(
        &format!(
            "wrote {shown} with {checks} checks; run `sitedoctor` to use it, `sitedoctor list` to see them\n"
        ),
        None,
    )?;
    Ok(Exit::Ok)
}

fn config_failure(e: config::ConfigError) -> Failure {
    Failure(Exit::Config, format!("configuration error: {e}"))
}

fn explain(target: Option<&str>, markdown: bool, specs: &[CheckSpec]) -> Result<String, Failure> {
    let Some(target) = target else {
        if markdown {
            return Ok(crate::docs::markdown());
        }
        return Ok(checks::visible()
            .map(crate::docs::explain)
            .collect::<Vec<_>>()
            .join("\n"));
    };
    if let Some(kind) = checks::find(target) {
        return Ok(crate::docs::explain(kind));
    }
    if target == "diagnosis" {
        return Ok(crate::docs::diagnosis());
    }
    if let Some(spec) = specs.iter().find(|s| s.id == target) {
        return Ok(format!(
            "Check {:?} is defined at {} and is of kind {:?}.\n\n{}",
            spec.id,
            spec.origin,
            spec.kind.name,
            crate::docs::explain(spec.kind)
        ));
    }
    let ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
    Err(usage(format!(
        "nothing called {target:?}: kinds are {}; configured checks are {}",
        checks::names().join(", "),
        if ids.is_empty() {
            "none".to_string()
        } else {
            ids.join(", ")
        }
    )))
}

/// Apply `--only`/`--skip` and `enabled = false`. Selecting nothing is an error, never an
/// empty run that passes: 78 when the configuration enables no check, 64 naming the option
/// that removed the rest.
fn select(cli: &Cli, specs: Vec<CheckSpec>) -> Result<Vec<CheckSpec>, Failure> {
    for word in cli.only.iter().chain(&cli.skip) {
        if !specs.iter().any(|s| s.matches(word)) {
            let ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
            return Err(usage(format!(
                "no check has the id or tag {word:?}; the checks are: {}",
                ids.join(", ")
            )));
        }
    }
    let enabled: Vec<CheckSpec> = specs.into_iter().filter(|s| s.enabled).collect();
    if enabled.is_empty() {
        return Err(Failure(
            Exit::Config,
            "configuration error: no checks to run: every check has `enabled = false`".into(),
        ));
    }
    let only: Vec<CheckSpec> = enabled
        .into_iter()
        .filter(|s| cli.only.is_empty() || cli.only.iter().any(|w| s.matches(w)))
        .collect();
    if only.is_empty() {
        return Err(usage(format!(
            "no checks to run: --only {} selects only checks with `enabled = false`",
            cli.only.join(",")
        )));
    }
    let kept: Vec<CheckSpec> = only
        .into_iter()
        .filter(|s| !cli.skip.iter().any(|w| s.matches(w)))
        .collect();
    if kept.is_empty() {
        let with_only = if cli.only.is_empty() {
            String::new()
        } else {
            format!(" of those --only {} selects", cli.only.join(","))
        };
        return Err(usage(format!(
            "no checks to run: --skip {} leaves out every enabled check{with_only}",
            cli.skip.join(",")
        )));
    }
    Ok(kept)
}

fn run_checks(
    cli: &Cli,
    specs: Vec<CheckSpec>,
    untrusted: &[config::Distrust],
) -> Result<Exit, Failure> {
    let specs = select(cli, specs)?;
    let opts = RunOptions {
        timeout: cli.timeout,
        jobs: cli.jobs as usize,
    };
    let mut report = runner::run(&specs, opts);
    // In the report, not on stderr: cron mails stderr even under --quiet.
    if let Some(warning) = config::trust::warning(untrusted) {
        report.prepend(warning, crate::diagnosis::diagnose);
    }
    let format = render::find(&cli.format).expect("clap only accepts registered formats");
    let human_on_terminal = cli.output.is_none() && std::io::stdout().is_terminal();
    let ropts = RenderOptions {
        // Quiet is for people and cron mail; machine formats are always written in full.
        quiet: cli.quiet && format.name == "human",
        color: use_color(cli.color, human_on_terminal),
    };
    let text = (format.render)(&report, &ropts);
    write_out(&text, cli.output.as_deref())?;
    Ok(Exit::from_worst(report.worst, cli.fail_on))
}

pub(crate) fn use_color(when: ColorWhen, terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
        }
    }
}

/// Write to stdout or to `--output` (see [`crate::output`]); a failure exits 74.
fn write_out(text: &str, output: Option<&Path>) -> Result<(), Failure> {
    match output {
        None => crate::output::to_stdout(text.as_bytes()),
        Some(path) => crate::output::to_path(path, text.as_bytes()),
    }
    .map_err(|e| Failure(Exit::IoError, e.to_string()))
}
