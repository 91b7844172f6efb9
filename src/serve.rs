//! `sitedoctor serve`: one shared, cached run behind HTTP — `/healthz` for load balancers and
//! probes, `/metrics` for Prometheus, `/report.json`, and an HTML status page for a person.

mod auth;
mod cache;
mod history;
mod page;
mod plan;
mod routes;
mod server;
mod signals;
mod timed_io;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::app::Failure;
use crate::cli::Cli;
use crate::exit::{Exit, FailOn};

/// The port `serve` listens on unless told otherwise (unassigned by IANA, next to the
/// node exporter's 9100 family of exporter ports).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9947";

/// `sitedoctor serve`'s own options (the global ones — `--config`, `--only`, `--skip`,
/// `--fail-on`, `--timeout`, `--jobs` — apply too).
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on. Beyond loopback, `/` and `/report.json` need
    /// --token-file.
    #[arg(long, value_name = "ADDR:PORT", default_value = DEFAULT_LISTEN)]
    pub listen: String,

    /// Run the checks in the background on this period (requests then never wait); without
    /// it, a request runs them when the cached result is older than --cache.
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub interval: Option<Duration>,

    /// How long a run's result answers requests before a request runs the checks again
    /// (`0s`: every request that finds no run under way starts one).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = cache_duration)]
    pub cache: Duration,

    /// A file holding the bearer token `/` and `/report.json` require (`Authorization:
    /// Bearer TOKEN`); it must not be readable by other users. Required beyond loopback.
    #[arg(long, value_name = "PATH")]
    pub token_file: Option<PathBuf>,

    /// How many runs the status page's history keeps.
    #[arg(long, value_name = "N", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub history: u32,
}

/// Like any duration, and zero too: no caching.
fn cache_duration(s: &str) -> Result<Duration, String> {
    match s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic()) {
        "0" => Ok(Duration::ZERO),
        _ => crate::units::parse_duration(s),
    }
}

/// What `serve` resolved from the command line.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub listen: SocketAddr,
    pub interval: Option<Duration>,
    pub cache: Duration,
    pub history: usize,
    /// What `/healthz` judges by: `--fail-on` when given, else `fail`, so one warning every
    /// node shares (a certificate with 13 days left) does not take them all out of a pool.
    pub fail_on: FailOn,
    pub token_file: Option<PathBuf>,
}

/// Run the server until SIGTERM (exit 0) or SIGINT (exit 130).
pub(crate) fn main(cli: &Cli, args: &ServeArgs) -> Result<Exit, Failure> {
    let settings = settings(cli, args)?;
    let token = match &settings.token_file {
        Some(path) => Some(auth::Token::read(path).map_err(|e| Failure(Exit::Usage, e))?),
        None => None,
    };
    let plan = plan::load(cli)?;
    server::run(cli.clone(), settings, plan, token)
}

fn settings(cli: &Cli, args: &ServeArgs) -> Result<Settings, Failure> {
    // --format, --output and --quiet are refused before this (the option table in
    // cli::applies): serve answers every format at once.
    let listen: SocketAddr = args.listen.parse().map_err(|_| {
        Failure(
            Exit::Usage,
            format!(
                "--listen {:?}: expected an address and port, like {DEFAULT_LISTEN} or [::1]:9947",
                args.listen
            ),
        )
    })?;
    if !listen.ip().is_loopback() && args.token_file.is_none() {
        return Err(Failure(
            Exit::Usage,
            format!(
                "--listen {listen} is reachable from other hosts: give --token-file FILE, so the \
                 status page and /report.json need `Authorization: Bearer TOKEN` \
                 (/healthz and /metrics stay open); or listen on 127.0.0.1"
            ),
        ));
    }
    Ok(Settings {
        listen,
        interval: args.interval,
        cache: args.cache,
        history: args.history as usize,
        fail_on: if cli.fail_on_given {
            cli.fail_on
        } else {
            FailOn::Fail
        },
        token_file: args.token_file.clone(),
    })
}
