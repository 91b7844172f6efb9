//! Running the host's own programs (`nginx -t`, `php-fpm8.2 -m`, `dpkg-query`) for the
//! baseline: in their own process group, bounded in time, never waiting on a terminal.

use std::time::Duration;

use crate::sys::child;

/// How long one program may take: they answer in milliseconds, a hung one must not hold the
/// snapshot.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `argv`: its output when it finished (whatever its exit code), or why it did not.
pub fn run(argv: &[String]) -> Result<child::Finished, String> {
    let f = child::run(&child::Spec {
        argv,
        env: &Default::default(),
        clear_env: false,
        cwd: None,
        timeout: TIMEOUT,
    })?;
    finished(&f).map_err(|why| format!("`{}` {why}", shown(argv)))?;
    Ok(f)
}

/// Whether a run finished within [`TIMEOUT`], or why not.
pub fn finished(f: &child::Finished) -> Result<(), String> {
    match f.timed_out {
        true => Err(format!("did not finish within {}s", TIMEOUT.as_secs())),
        false => Ok(()),
    }
}

/// A command line as a person types it, each word quoted when it needs to be.
pub fn shown(argv: &[String]) -> String {
    let words: Vec<String> = argv
        .iter()
        .enumerate()
        .map(|(i, w)| {
            // The program by its name: `nginx -t`, not `/usr/sbin/nginx -t`.
            let w = if i == 0 {
                w.rsplit('/').next().unwrap_or(w)
            } else {
                w
            };
            crate::shell::shell_quote(w)
        })
        .collect();
    words.join(" ")
}
