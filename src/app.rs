//! The application edge: parse arguments, resolve configuration, dispatch the subcommand,
//! write the output and choose the exit code.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Cli, ColorWhen, Command};
use crate::config::{self, CheckSpec};
use crate::exit::Exit;
use crate::render::{self, RenderOptions};
use crate::runner::{self, RunOptions};

pub fn main() -> ExitCode {
    // A TAB in a shell that loaded `sitedoctor completions`: answer it and exit.
    crate::complete::respond_if_asked();
    let cli = match crate::cli::applies::parse() {
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
    // `serve` has its own: SIGTERM is its clean stop (exit 0), SIGHUP a reload.
    if !matches!(cli.command, Some(Command::Serve(_))) {
        install_interrupt_handler();
    }
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
pub(crate) struct Failure(pub(crate) Exit, pub(crate) String);

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
                crate::progress::abandon();
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
    if let Some(Command::Completions { shell }) = &cli.command {
        return printed(cli, &crate::complete::script(shell));
    }
    if let Some(Command::Man) = &cli.command {
        return printed(cli, &crate::manpage::render());
    }
    if let Some(Command::Serve(args)) = &cli.command {
        return crate::serve::main(cli, args);
    }
    let resolved = config::source::resolve(&cli.config).map_err(config_failure)?;
    let config::Loaded { specs, untrusted } =
        config::load_resolved(&resolved).map_err(config_failure)?;
    if let (Some(Command::Fix { apply: true }), Some(d)) = (&cli.command, untrusted.first()) {
        return Err(config_failure(config::trust::refuse_fix(d)));
    }
    match &cli.command {
        None | Some(Command::Run) => run_checks(cli, specs, &untrusted),
        Some(Command::List) => list(cli, specs, &resolved),
        Some(Command::Fix { apply }) => {
            let specs = select(cli, specs)?;
            if *apply && cli.format == "json" {
                return Err(usage(
                    "--format json gives the planned changes: use it without --apply".into(),
                ));
            }
            let opts = crate::fixrun::FixOptions {
                apply: *apply,
                json: cli.format == "json",
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
        Some(
            Command::Init { .. } | Command::Completions { .. } | Command::Man | Command::Serve(_),
        ) => {
            unreachable!("handled before the configuration is read")
        }
        Some(Command::Explain { target, markdown }) => {
            let form = match (*markdown, cli.format.as_str()) {
                (true, "json") => {
                    return Err(usage("--markdown and --format json: choose one".into()));
                }
                (true, _) => crate::explain::Form::Markdown,
                (false, "json") => crate::explain::Form::Json,
                (false, _) => crate::explain::Form::Text,
            };
            let text = crate::explain::explain(target.as_deref(), form, &specs, &resolved.sources)
                .map_err(usage)?;
            write_out(&text, cli.output.as_deref())?;
            Ok(Exit::Ok)
        }
    }
}

/// `sitedoctor init`: write the detected configuration, never over an existing file
/// unless told, and only if it validates.
fn init(path: &Path, force: bool) -> Result<Exit, Failure> {
    let shown = crate::sanitize::path(path);
    // A directory is no file to write: the write says so, and exits 74.
    if path.exists() && !path.is_dir() && !force {
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
    let distrust = config::trust::check(path);
    let root = rustix::process::geteuid().is_root();
    let system = config::source::system_dir();
    let closing = crate::init::closing(path, checks, distrust.as_ref(), root, &system);
    write_out(&closing, None)?;
    Ok(Exit::Ok)
}

/// `sitedoctor list`: the kinds, then the checks — with `--only`/`--skip`, those that would
/// run — as text or JSON.
fn list(cli: &Cli, specs: Vec<CheckSpec>, resolved: &config::Resolved) -> Result<Exit, Failure> {
    let names: Vec<String> = resolved.sources.iter().map(|s| s.name.clone()).collect();
    let total = specs.len();
    let selecting = !(cli.only.is_empty() && cli.skip.is_empty());
    let shown = if selecting {
        select(cli, specs)?
    } else {
        specs
    };
    let text = if cli.format == "json" {
        crate::docs::list_json(&shown, &names, &cli.only, &cli.skip)
    } else {
        let words = crate::fixrun::selection_args(cli);
        let selection = selecting.then_some((words.trim_start(), total));
        crate::docs::list(&shown, &names, selection)
    };
    write_out(&text, cli.output.as_deref())?;
    Ok(Exit::Ok)
}

/// `completions` and `man`: generated text, to stdout or `--output`; no other option applies.
fn printed(cli: &Cli, text: &str) -> Result<Exit, Failure> {
    write_out(text, cli.output.as_deref())?;
    Ok(Exit::Ok)
}

pub(crate) fn config_failure(e: config::ConfigError) -> Failure {
    Failure(Exit::Config, format!("configuration error: {e}"))
}

/// Apply `--only`/`--skip` and `enabled = false`. Selecting nothing is an error, never an
/// empty run that passes: 78 when the configuration enables no check, 64 naming the option
/// that removed the rest.
pub(crate) fn select(cli: &Cli, specs: Vec<CheckSpec>) -> Result<Vec<CheckSpec>, Failure> {
    for word in cli.only.iter().chain(&cli.skip) {
        if !specs.iter().any(|s| s.matches(word)) {
            let ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
            let mut names = ids.clone();
            names.extend(specs.iter().flat_map(|s| s.tags.iter().map(String::as_str)));
            return Err(usage(format!(
                "no check has the id or tag {word:?}{}; the checks are: {}",
                config::suggest(word, &names),
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
    let format = render::find(&cli.format).expect("clap only accepts registered formats");
    let for_people = !cli.quiet && format.name == "human";
    // A `configtest` check and a `baseline` check run the same tests: each runs once.
    let once = crate::checks::configtest::once::Scope::open();
    let mut report =
        crate::progress::while_running(for_people, |r| runner::run_watched(&specs, opts, r));
    drop(once);
    // In the report, not on stderr: cron mails stderr even under --quiet.
    if let Some(warning) = config::trust::warning(untrusted) {
        report.prepend(warning, crate::diagnosis::diagnose);
    }
    let text = (format.render)(&report, &render_options(cli, format));
    write_out(&text, cli.output.as_deref())?;
    Ok(Exit::from_worst(report.worst, cli.fail_on))
}

/// How a report is rendered for this command line: quiet, colour, verbosity and width.
pub(crate) fn render_options(cli: &Cli, format: &render::Format) -> RenderOptions {
    let human_on_terminal = cli.output.is_none() && std::io::stdout().is_terminal();
    RenderOptions {
        // Quiet is for people and cron mail; machine formats are always written in full.
        quiet: cli.quiet && format.name == "human",
        color: use_color(cli.color, human_on_terminal),
        verbose: cli.verbose,
        width: cli
            .output
            .is_none()
            .then(render::wrap::stdout_width)
            .flatten(),
    }
}

pub(crate) fn use_color(when: ColorWhen, terminal: bool) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            terminal
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && !crate::sys::terminal::dumb()
        }
    }
}

/// Write to stdout or to `--output` (see [`crate::output`]); a failure exits 74.
pub(crate) fn write_out(text: &str, output: Option<&Path>) -> Result<(), Failure> {
    match output {
        None => crate::output::to_stdout(text.as_bytes()),
        Some(path) => crate::output::to_path(path, text.as_bytes()),
    }
    .map_err(|e| Failure(Exit::IoError, e.to_string()))
}
