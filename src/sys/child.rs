//! Run a program the way `command` and `plugin` checks need: in its own process group, its
//! output captured up to a cap (the rest counted, not stored), and the whole group killed
//! when the time is up — a plugin that hangs or floods its output cannot hang the run.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much of each stream is kept.
pub const CAPTURE_CAP: usize = 64 * 1024;

/// One stream's output: its first bytes, and how many more there were.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    pub bytes: Vec<u8>,
    pub dropped: u64,
}

impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

#[derive(Debug)]
pub struct Finished {
    /// `None` when killed by a signal (including our own timeout kill).
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: Captured,
    pub stderr: Captured,
    pub took: Duration,
}

pub struct Spec<'a> {
    pub argv: &'a [String],
    pub env: &'a BTreeMap<String, String>,
    pub cwd: Option<&'a Path>,
    pub timeout: Duration,
}

/// Why a program could not be started, in words a person can act on.
pub fn spawn_error(program: &str, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("{program}: not found (is it installed, and on PATH?)")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("{program}: permission denied (is it executable?)")
        }
        _ => format!("{program}: cannot start: {}", crate::sys::io_reason(e)),
    }
}

/// Find `program` on PATH, or in the sbin directories cron's PATH often lacks.
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ];
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn drain(
    mut from: impl Read + Send + 'static,
    into: Arc<Mutex<Captured>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut c = into.lock().expect("capture lock");
                    let room = CAPTURE_CAP.saturating_sub(c.bytes.len());
                    let keep = n.min(room);
                    c.bytes.extend_from_slice(&buf[..keep]);
                    c.dropped += (n - keep) as u64;
                }
            }
        }
    })
}

pub fn run(spec: &Spec<'_>) -> Result<Finished, String> {
    let program = spec.argv.first().ok_or("empty command")?;
    let resolved = which(program)
        .ok_or_else(|| format!("{program}: not found (is it installed, and on PATH?)"))?;
    let mut cmd = Command::new(&resolved);
    cmd.args(&spec.argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .envs(spec.env)
        // Its own process group, so a timeout kills everything it started.
        .process_group(0);
    if let Some(d) = spec.cwd {
        cmd.current_dir(d);
    }
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| spawn_error(program, &e))?;
    let pgid = child.id() as i32;
    let out = Arc::new(Mutex::new(Captured::default()));
    let err = Arc::new(Mutex::new(Captured::default()));
    let readers = [
        drain(child.stdout.take().expect("piped"), out.clone()),
        drain(child.stderr.take().expect("piped"), err.clone()),
    ];
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let (status, timed_out) = match rx.recv_timeout(spec.timeout) {
        Ok(s) => (s.map_err(|e| format!("{program}: {e}"))?, false),
        Err(_) => {
            kill_group(pgid);
            let s = rx
                .recv()
                .map_err(|_| format!("{program}: lost track of the process"))?;
            (s.map_err(|e| format!("{program}: {e}"))?, true)
        }
    };
    // Descendants that left the group may hold the pipes open: wait briefly, not forever.
    let grace = Instant::now() + Duration::from_millis(200);
    for r in readers {
        while !r.is_finished() && Instant::now() < grace {
            std::thread::yield_now();
        }
    }
    use std::os::unix::process::ExitStatusExt;
    let stdout = out.lock().expect("capture lock").clone();
    let stderr = err.lock().expect("capture lock").clone();
    Ok(Finished {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout,
        stderr,
        took: t0.elapsed(),
    })
}

fn kill_group(pgid: i32) {
    use nix::sys::signal::{Signal, killpg};
    let _ = killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGKILL);
}

/// The last lines of captured output, for evidence: at most `n` lines, each clipped.
pub fn tail_lines(c: &Captured, n: usize) -> Vec<String> {
    let text = c.text();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    let mut out: Vec<String> = lines[start..]
        .iter()
        .map(|l| crate::units::clip(l, 300))
        .collect();
    if c.dropped > 0 {
        out.push(format!("… {} more bytes of output not kept", c.dropped));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64) -> Finished {
        let argv = vec!["sh".to_string(), "-c".to_string(), script.to_string()];
        run(&Spec {
            argv: &argv,
            env: &BTreeMap::new(),
            cwd: None,
            timeout: Duration::from_millis(timeout_ms),
        })
        .unwrap()
    }

    #[test]
    fn captures_and_exits() {
        let f = sh("echo out; echo err >&2; exit 3", 5000);
        assert_eq!((f.code, f.timed_out), (Some(3), false));
        assert_eq!(f.stdout.text(), "out\n");
        assert_eq!(f.stderr.text(), "err\n");
    }

    #[test]
    fn a_hang_is_killed_with_its_children() {
        let f = sh("sleep 60 & sleep 60; echo never", 300);
        assert!(f.timed_out);
        assert!(f.took < Duration::from_secs(5), "{:?}", f.took);
        assert_eq!(f.stdout.text(), "");
    }

    #[test]
    fn a_flood_is_capped_and_counted() {
        let f = sh("head -c 1000000 /dev/zero", 10_000);
        assert_eq!(f.stdout.bytes.len(), CAPTURE_CAP);
        assert_eq!(f.stdout.dropped, 1_000_000 - CAPTURE_CAP as u64);
    }

    #[test]
    fn missing_program_is_clear() {
        let argv = vec!["no-such-program-xyz".to_string()];
        let e = run(&Spec {
            argv: &argv,
            env: &BTreeMap::new(),
            cwd: None,
            timeout: Duration::from_secs(1),
        })
        .unwrap_err();
        assert!(e.contains("not found"), "{e}");
    }
}
