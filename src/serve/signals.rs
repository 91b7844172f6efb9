//! `serve`'s signals: SIGHUP re-reads the configuration (and the token file), keeping what is
//! in use when the new one is bad; SIGTERM and SIGINT ask the server to stop.

use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use tokio::sync::oneshot;

use super::auth::Token;
use super::routes::App;
use crate::app::Failure;
use crate::cli::Cli;
use crate::exit::Exit;

/// Watch the signals on a thread of their own; the receiver gets the exit code to stop with
/// (0 for SIGTERM, a service's clean stop; 130 for SIGINT).
pub(crate) fn watch(
    cli: Cli,
    token_file: Option<std::path::PathBuf>,
    app: Arc<App>,
) -> std::io::Result<oneshot::Receiver<Exit>> {
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let (tx, rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("serve-signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                match sig {
                    SIGHUP => reload(&cli, token_file.as_deref(), &app),
                    SIGTERM => {
                        let _ = tx.send(Exit::Ok);
                        return;
                    }
                    _ => {
                        let _ = tx.send(Exit::Interrupted);
                        return;
                    }
                }
            }
        })?;
    Ok(rx)
}

fn reload(cli: &Cli, token_file: Option<&std::path::Path>, app: &App) {
    match super::plan::load(cli) {
        Ok(plan) => {
            let n = plan.specs.len();
            app.cache.reload(plan);
            eprintln!("sitedoctor: SIGHUP: reloaded the configuration: {n} check(s)");
        }
        Err(Failure(_, why)) => {
            eprintln!(
                "sitedoctor: SIGHUP: keeping the configuration in use, the new one is bad: {why}"
            )
        }
    }
    if let Some(path) = token_file {
        match Token::read(path) {
            Ok(t) => *app.token.write().unwrap_or_else(|e| e.into_inner()) = Some(t),
            Err(why) => eprintln!("sitedoctor: SIGHUP: keeping the token in use: {why}"),
        }
    }
}
