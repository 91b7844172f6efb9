//! Run a program the way `command` and `plugin` checks need: in its own process group, its
//! output captured up to a cap (the rest counted, not stored), and the whole group killed
//! when the time is up — a plugin that hangs or floods its output cannot hang the run.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
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
    /// Added to the inherited environment, or with `clear_env` the whole of it.
    pub env: &'a BTreeMap<String, String>,
    /// Start from an empty environment: for a program whose behaviour the caller's
    /// variables could change (`GIT_DIR`, `GIT_CONFIG_PARAMETERS`, `GIT_SSH_COMMAND`…).
    pub clear_env: bool,
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
    // Only absolute directories: an empty PATH entry (or no PATH at all) means the current
    // directory to a shell, where anyone may have left a program of that name.
    std::env::split_paths(&path)
        .chain(extra.iter().map(PathBuf::from))
        .filter(|d| d.is_absolute())
        .map(|d| d.join(program))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Process groups of children that are running, so that an interrupt kills them before
/// sitedoctor exits. Once closed (by [`kill_all`]) no new child is started.
struct Registry {
    groups: BTreeSet<i32>,
    closed: bool,
}

static LIVE: Mutex<Registry> = Mutex::new(Registry {
    groups: BTreeSet::new(),
    closed: false,
});

fn registry() -> std::sync::MutexGuard<'static, Registry> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Kill every running child's process group and start no more: for SIGINT and SIGTERM,
/// just before sitedoctor exits.
pub fn kill_all() {
    let mut live = registry();
    live.closed = true;
    for &g in &live.groups {
        kill_group(g);
    }
}

/// After the leader exits, how long output may still arrive from processes that left its
/// group (the group itself is killed): a little, never the grandchild's whole life.
const GRACE: Duration = Duration::from_millis(200);
/// After a timeout kill, how long the leader may take to die before it is left to a reaper.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Start `spec`'s program in its own process group (so a timeout kills everything it
/// started), its output piped, and register the group, under one lock, so an interrupt
/// cannot fall in between.
fn start(spec: &Spec<'_>) -> Result<std::process::Child, String> {
    let program = spec.argv.first().ok_or("empty command")?;
    let resolved = which(program)
        .ok_or_else(|| format!("{program}: not found (is it installed, and on PATH?)"))?;
    let mut cmd = Command::new(&resolved);
    cmd.args(&spec.argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if spec.clear_env {
        cmd.env_clear();
    }
    cmd.envs(spec.env).process_group(0);
    if let Some(d) = spec.cwd {
        cmd.current_dir(d);
    }
    let mut live = registry();
    if live.closed {
        return Err(format!("{program}: not started: sitedoctor is stopping"));
    }
    let child = cmd.spawn().map_err(|e| spawn_error(program, &e))?;
    live.groups.insert(child.id() as i32);
    Ok(child)
}

pub fn run(spec: &Spec<'_>) -> Result<Finished, String> {
    let program = spec.argv.first().ok_or("empty command")?;
    let t0 = Instant::now();
    let mut child = start(spec)?;
    let pgid = child.id() as i32;
    let pipes = [
        child.stdout.take().map(OwnedFd::from),
        child.stderr.take().map(OwnedFd::from),
    ];
    let deadline = t0.checked_add(spec.timeout);
    let watched = match exit_notice(&child) {
        Ok(exited) => watch(pgid, pipes, exited, deadline),
        Err(e) => {
            kill_group(pgid);
            Watched::failed(format!(
                "{program}: cannot watch it: {}",
                super::io_reason(&e)
            ))
        }
    };
    // The leader is still unreaped here, so its pid cannot have been reused for another
    // group: kill whatever of its group is left, forget it, then reap.
    kill_group(pgid);
    registry().groups.remove(&pgid);
    if !watched.exited {
        // Killed but not dead yet (stuck in the kernel): reap it later, not here.
        std::thread::spawn(move || child.wait());
        return watched
            .error
            .map_or_else(|| Err(format!("{program}: did not die when killed")), Err);
    }
    let status = child.wait().map_err(|e| format!("{program}: {e}"))?;
    use std::os::unix::process::ExitStatusExt;
    let [stdout, stderr] = watched.captured;
    Ok(Finished {
        code: status.code(),
        signal: status.signal(),
        timed_out: watched.timed_out,
        stdout,
        stderr,
        took: t0.elapsed(),
    })
}

/// How a streamed run ended.
#[derive(Debug)]
pub struct Streamed {
    /// `None` when killed (by us: at the deadline, or because the reader had enough).
    pub code: Option<i32>,
    /// The deadline passed before the output ended.
    pub timed_out: bool,
    /// The reader asked for no more lines; the program was killed.
    pub stopped: bool,
    /// Bytes of standard output read.
    pub bytes: u64,
    pub stderr: Captured,
}

/// Run a program whose output may be large (a journal), handing `on_line` each line of its
/// standard output as it arrives, newline removed and cut to `max_line` bytes. Memory stays
/// bounded whatever it prints; it is killed, with its group, when `on_line` returns false
/// or the timeout passes. Standard error is captured up to [`CAPTURE_CAP`].
pub fn stream(
    spec: &Spec<'_>,
    max_line: usize,
    on_line: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<Streamed, String> {
    let program = spec.argv.first().ok_or("empty command")?;
    let deadline = Instant::now().checked_add(spec.timeout);
    let mut child = start(spec)?;
    let pgid = child.id() as i32;
    let pipes = [
        child.stdout.take().map(OwnedFd::from),
        child.stderr.take().map(OwnedFd::from),
    ];
    let mut lines = Lines {
        partial: Vec::new(),
        max_line,
        on_line,
        stopped: false,
    };
    let (w, bytes) = read_lines(pipes, deadline, &mut lines);
    kill_group(pgid);
    registry().groups.remove(&pgid);
    // Its whole group is killed: the leader dies now (a leader stuck in the kernel is left
    // to a reaper, as in `run`).
    let status = if w.timed_out || lines.stopped {
        std::thread::spawn(move || child.wait());
        None
    } else {
        child.wait().ok()
    };
    let Watched {
        captured: [_, stderr],
        timed_out,
        error,
        ..
    } = w;
    if let Some(e) = error {
        return Err(format!("{program}: {e}"));
    }
    Ok(Streamed {
        code: status.and_then(|s| s.code()),
        timed_out,
        stopped: lines.stopped,
        bytes,
        stderr,
    })
}

/// Splits standard output into lines for [`stream`]'s reader.
struct Lines<'f> {
    partial: Vec<u8>,
    max_line: usize,
    on_line: &'f mut dyn FnMut(&[u8]) -> bool,
    stopped: bool,
}

impl Lines<'_> {
    fn feed(&mut self, mut data: &[u8]) {
        while !self.stopped {
            let Some(nl) = data.iter().position(|&b| b == b'\n') else {
                let room = self.max_line.saturating_sub(self.partial.len());
                self.partial
                    .extend_from_slice(&data[..data.len().min(room)]);
                return;
            };
            let room = self.max_line.saturating_sub(self.partial.len());
            self.partial.extend_from_slice(&data[..nl.min(room)]);
            self.stopped = !(self.on_line)(&self.partial);
            self.partial.clear();
            data = &data[nl + 1..];
        }
    }

    fn finish(&mut self) {
        if !self.stopped && !self.partial.is_empty() {
            self.stopped = !(self.on_line)(&self.partial);
        }
    }
}

/// Read standard output into `lines` and standard error into a capped capture until both
/// close, the reader stops, or the deadline passes; the bytes of output read.
fn read_lines(
    mut pipes: [Option<OwnedFd>; 2],
    deadline: Option<Instant>,
    lines: &mut Lines<'_>,
) -> (Watched, u64) {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut w = Watched::default();
    let mut bytes = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    while pipes.iter().any(Option::is_some) && !lines.stopped {
        let now = Instant::now();
        if deadline.is_some_and(|d| d <= now) {
            w.timed_out = true;
            return (w, bytes);
        }
        let timeout = deadline.and_then(|d| rustix::fs::Timespec::try_from(d - now).ok());
        let mut fds: Vec<PollFd<'_>> = pipes
            .iter()
            .flatten()
            .map(|p| PollFd::new(p, PollFlags::IN))
            .collect();
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                w.error = Some(format!("cannot watch it: {}", super::io_reason(&e.into())));
                return (w, bytes);
            }
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let mut k = 0;
        for (i, pipe) in pipes.iter_mut().enumerate() {
            let Some(fd) = pipe.as_ref() else {
                continue;
            };
            if ready[k] {
                let open = if i == 0 {
                    match rustix::io::read(fd, &mut buf) {
                        Ok(0) => false,
                        Ok(n) => {
                            bytes += n as u64;
                            lines.feed(&buf[..n]);
                            true
                        }
                        Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => true,
                        Err(_) => false,
                    }
                } else {
                    read_some(fd, &mut w.captured[1])
                };
                if !open {
                    *pipe = None;
                    if i == 0 {
                        lines.finish();
                    }
                }
            }
            k += 1;
        }
    }
    (w, bytes)
}

/// What watching a running child saw.
#[derive(Default)]
struct Watched {
    captured: [Captured; 2],
    exited: bool,
    timed_out: bool,
    error: Option<String>,
}

impl Watched {
    fn failed(why: String) -> Watched {
        Watched {
            error: Some(why),
            ..Watched::default()
        }
    }
}

/// A descriptor that becomes readable when `child` exits, without reaping it: a pidfd, or
/// where the kernel has none, a socket a waiting thread closes.
fn exit_notice(child: &std::process::Child) -> std::io::Result<OwnedFd> {
    let pid = rustix::process::Pid::from_child(child);
    match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => Ok(fd),
        Err(_) => {
            let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
            std::thread::spawn(move || {
                use rustix::process::{WaitId, WaitIdOptions, waitid};
                let opts = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
                while matches!(waitid(WaitId::Pid(pid), opts), Err(rustix::io::Errno::INTR)) {}
                drop(theirs);
            });
            Ok(ours.into())
        }
    }
}

/// Read both pipes until they close, blocking in poll(2): until the deadline (then the group
/// is killed), and after the leader exits (then its group is killed too) only a little longer.
fn watch(
    pgid: i32,
    mut pipes: [Option<OwnedFd>; 2],
    exited: OwnedFd,
    deadline: Option<Instant>,
) -> Watched {
    use rustix::event::{PollFd, PollFlags, poll};
    let mut w = Watched::default();
    let mut until = deadline;
    loop {
        if w.exited && pipes.iter().all(Option::is_none) {
            return w;
        }
        let now = Instant::now();
        if until.is_some_and(|u| u <= now) {
            if w.exited || w.timed_out {
                return w;
            }
            w.timed_out = true;
            kill_group(pgid);
            until = Some(now + KILL_WAIT);
            continue;
        }
        let timeout = until.and_then(|u| rustix::fs::Timespec::try_from(u - now).ok());
        let mut fds: Vec<PollFd<'_>> = pipes
            .iter()
            .flatten()
            .map(|p| PollFd::new(p, PollFlags::IN))
            .collect();
        if !w.exited {
            fds.push(PollFd::new(&exited, PollFlags::IN));
        }
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => {
                w.error = Some(format!("cannot watch it: {}", super::io_reason(&e.into())));
                return w;
            }
        }
        let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
        drop(fds);
        let mut k = 0;
        for (i, pipe) in pipes.iter_mut().enumerate() {
            if pipe.is_none() {
                continue;
            }
            if ready[k] && !read_some(pipe.as_ref().expect("open"), &mut w.captured[i]) {
                *pipe = None;
            }
            k += 1;
        }
        if !w.exited && ready[k] {
            w.exited = true;
            // Whatever it left running dies with it; what they wrote is still in the pipes.
            kill_group(pgid);
            let grace = Instant::now() + GRACE;
            until = Some(until.map_or(grace, |u| u.min(grace)));
        }
    }
}

/// One read from a ready pipe into `into` (capped, the rest counted); false at its end.
fn read_some(pipe: &OwnedFd, into: &mut Captured) -> bool {
    let mut buf = [0u8; 8192];
    match rustix::io::read(pipe, &mut buf) {
        Ok(0) => false,
        Ok(n) => {
            let room = CAPTURE_CAP.saturating_sub(into.bytes.len());
            let keep = n.min(room);
            into.bytes.extend_from_slice(&buf[..keep]);
            into.dropped += (n - keep) as u64;
            true
        }
        Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => true,
        Err(_) => false,
    }
}

fn kill_group(pgid: i32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pgid) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
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
            clear_env: false,
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
    fn a_cleared_environment_passes_only_what_is_given() {
        let argv = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            "echo \"${HOME-none} $ONLY\"".to_string(),
        ];
        let env = BTreeMap::from([("ONLY".to_string(), "this".to_string())]);
        let f = run(&Spec {
            argv: &argv,
            env: &env,
            clear_env: true,
            cwd: None,
            timeout: Duration::from_secs(5),
        })
        .unwrap();
        assert_eq!(f.stdout.text(), "none this\n");
    }

    #[test]
    fn a_hang_is_killed_with_its_children() {
        let f = sh("sleep 60 & sleep 60; echo never", 300);
        assert!(f.timed_out);
        assert!(f.took < Duration::from_secs(5), "{:?}", f.took);
        assert_eq!(f.stdout.text(), "");
    }

    /// Live (not zombie) processes whose command line holds `marker`.
    fn running_with(marker: &str) -> usize {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .filter(|c| String::from_utf8_lossy(c).contains(marker))
            .count()
    }

    /// Wait (bounded) until nothing runs with `marker`; true if so.
    fn gone(marker: &str) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while running_with(marker) > 0 {
            if Instant::now() > until {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    #[test]
    fn a_grandchild_holding_the_pipe_is_killed_not_waited_for() {
        let marker = format!("600.{}1", std::process::id());
        let f = sh(&format!("sleep {marker} & echo hi"), 30_000);
        assert_eq!((f.code, f.timed_out), (Some(0), false));
        assert_eq!(f.stdout.text(), "hi\n");
        assert!(f.took < Duration::from_secs(5), "{:?}", f.took);
        assert!(gone(&marker), "the background sleep outlived the run");
    }

    #[test]
    fn a_timeout_kills_the_whole_group() {
        let marker = format!("600.{}2", std::process::id());
        let f = sh(&format!("sleep {marker} & sleep {marker}"), 300);
        assert!(f.timed_out);
        assert!(gone(&marker), "a sleep outlived the timeout");
    }

    #[test]
    fn a_flood_is_capped_and_counted() {
        let f = sh("head -c 1000000 /dev/zero", 10_000);
        assert_eq!(f.stdout.bytes.len(), CAPTURE_CAP);
        assert_eq!(f.stdout.dropped, 1_000_000 - CAPTURE_CAP as u64);
    }

    fn stream_sh(script: &str, timeout_ms: u64, stop_at: usize) -> (Streamed, Vec<String>) {
        let argv = vec!["sh".to_string(), "-c".to_string(), script.to_string()];
        let mut got = Vec::new();
        let s = stream(
            &Spec {
                argv: &argv,
                env: &BTreeMap::new(),
                cwd: None,
                timeout: Duration::from_millis(timeout_ms),
                clear_env: false,
            },
            8,
            &mut |l| {
                got.push(String::from_utf8_lossy(l).into_owned());
                got.len() < stop_at
            },
        )
        .unwrap();
        (s, got)
    }

    #[test]
    fn stream_hands_out_lines_cut_to_the_cap() {
        let (s, got) = stream_sh(
            "printf 'a\\nbbbbbbbbbbbb\\nc'; echo oops >&2; exit 4",
            5000,
            99,
        );
        assert_eq!(got, ["a", "bbbbbbbb", "c"]);
        assert_eq!((s.code, s.stopped, s.timed_out), (Some(4), false, false));
        assert_eq!(s.stderr.text(), "oops\n");
    }

    #[test]
    fn stream_stops_when_the_reader_has_enough() {
        // `yes` never ends by itself: only the stop can end this run before its timeout.
        let (s, got) = stream_sh("yes", 30_000, 1000);
        assert_eq!(got.len(), 1000);
        assert!(s.stopped && !s.timed_out);
    }

    #[test]
    fn stream_is_bounded_by_its_timeout() {
        let marker = format!("600.{}4", std::process::id());
        let (s, got) = stream_sh(&format!("echo one; sleep {marker}"), 300, 99);
        assert_eq!(got, ["one"]);
        assert!(s.timed_out);
        assert!(gone(&marker), "the sleep outlived the timeout");
    }

    #[test]
    fn missing_program_is_clear() {
        let argv = vec!["no-such-program-xyz".to_string()];
        let e = run(&Spec {
            argv: &argv,
            env: &BTreeMap::new(),
            clear_env: false,
            cwd: None,
            timeout: Duration::from_secs(1),
        })
        .unwrap_err();
        assert!(e.contains("not found"), "{e}");
    }
}
