//! The `log` check's `journal` source against a real systemd-journald: the test starts its
//! own journald (a namespace, in a private mount namespace whose /run/systemd and /var/log
//! are directories of the test), places writers in units' cgroups so the journal records
//! their `_SYSTEMD_UNIT`, and reads that journal with `journal_dir`. Nothing of the
//! machine's own journal is read or written. Where journald cannot run (not root, no
//! cgroup v2, no journald), the test says so and does nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::testenv::{TestEnv, as_nobody, json, run_command};

const JOURNALD: &[&str] = &[
    "/lib/systemd/systemd-journald",
    "/usr/lib/systemd/systemd-journald",
];

/// A journald of the test's own; killed when dropped.
struct Journald {
    child: Child,
    socket: PathBuf,
    /// The journal files' directory (`<machine-id>.<namespace>`).
    dir: PathBuf,
}

impl Drop for Journald {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cgroup of the test's own, like systemd's for a service; removed when dropped, with the
/// slice above it when the test made that too.
struct Cgroup(PathBuf, Option<PathBuf>);

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
        if let Some(slice) = &self.1 {
            let _ = std::fs::remove_dir(slice);
        }
    }
}

/// Wait (bounded) for `cond`; true if it came.
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(15);
    while !cond() {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The cgroup v2 hierarchy's mount point, where journald looks a sender's unit up.
fn cgroup2_root() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter(|l| l.contains(" - cgroup2 "))
        .filter_map(|l| l.split(' ').nth(4))
        .map(PathBuf::from)
        .find(|p| std::fs::metadata(p.join("cgroup.procs")).is_ok())
}

/// Start journald, or say why it cannot run here.
fn journald(env: &TestEnv) -> Result<Journald, String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("not root".into());
    }
    let bin = JOURNALD
        .iter()
        .find(|p| Path::new(p).is_file())
        .ok_or("no systemd-journald")?;
    for tool in ["/usr/bin/unshare", "/usr/bin/journalctl"] {
        if !Path::new(tool).is_file() {
            return Err(format!("no {tool}"));
        }
    }
    if !Path::new("/run/systemd").is_dir() || !Path::new("/var/log").is_dir() {
        return Err("no /run/systemd or /var/log to mount over".into());
    }
    let ns = format!("sdt{}", std::process::id());
    let run = env.path().join("run");
    let log = env.path().join("log");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::create_dir_all(log.join("journal")).unwrap();
    let script = format!(
        "mount --make-rprivate / && mount --bind {run} /run/systemd && mount --bind {log} /var/log && exec {bin} {ns}",
        run = run.display(),
        log = log.display(),
    );
    let child = Command::new("/usr/bin/unshare")
        .args(["-m", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("unshare: {e}"))?;
    let mut j = Journald {
        child,
        socket: run.join(format!("journal.{ns}/socket")),
        dir: PathBuf::new(),
    };
    let ready = wait_for(|| j.socket.exists() || j.child.try_wait().ok().flatten().is_some());
    if !ready || !j.socket.exists() {
        return Err("journald did not start (no mount namespace here?)".into());
    }
    let machine = std::fs::read_dir(log.join("journal"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&format!(".{ns}")));
    j.dir = machine.ok_or("journald wrote no journal directory")?;
    Ok(j)
}

/// A cgroup named like a service's under `system.slice`.
fn service_cgroup(root: &Path, unit: &str) -> Cgroup {
    let slice = root.join("system.slice");
    let made = std::fs::create_dir(&slice).is_ok();
    let cg = slice.join(unit);
    std::fs::create_dir(&cg).unwrap();
    Cgroup(cg, made.then_some(slice))
}

/// Run a writer that moves itself into `cg`, sends `lines` (one burst) to journald's native
/// socket, and stays in the unit until journald has stored them all (journald reads the
/// sender's unit from /proc while the sender lives).
fn write_as(j: &Journald, cg: &Cgroup, unit: &str, lines: &[&str]) {
    let script = r#"
import os, socket, subprocess, sys, time
cg, sock, jdir, unit = sys.argv[1:5]
with open(cg + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
for m in sys.argv[5:]:
    s.sendto(b"PRIORITY=3\nSYSLOG_IDENTIFIER=app\nMESSAGE=" + m.encode() + b"\n", sock)
until = time.monotonic() + 15
while time.monotonic() < until:
    out = subprocess.run(["journalctl", "-D", jdir, "--unit=" + unit, "-o", "cat", "--no-pager"],
                         capture_output=True, text=True).stdout
    if sys.argv[-1] in out:
        sys.exit(0)
    time.sleep(0.02)
sys.exit("journald did not store the lines under " + unit)
"#;
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script])
        .arg(&cg.0)
        .arg(&j.socket)
        .arg(&j.dir)
        .arg(unit)
        .args(lines)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_units_traceback_in_the_journal_is_one_fatal_error_with_its_line() {
    let env = TestEnv::new();
    let (j, root) = match (journald(&env), cgroup2_root()) {
        (Ok(j), Some(root)) => (j, root),
        (Err(why), _) => return eprintln!("skipped: cannot run a journald here: {why}"),
        (_, None) => return eprintln!("skipped: no writable cgroup v2 hierarchy here"),
    };
    let app = format!("sdt{}-app.service", std::process::id());
    let other = format!("sdt{}-other.service", std::process::id());
    let (app_cg, other_cg) = (service_cgroup(&root, &app), service_cgroup(&root, &other));
    write_as(
        &j,
        &other_cg,
        &other,
        &["PHP Fatal error:  Uncaught Error: other unit in /srv/other/index.php:3"],
    );
    for _ in 0..2 {
        write_as(
            &j,
            &app_cg,
            &app,
            &[
                "Traceback (most recent call last):",
                "  File \"/srv/app/app.py\", line 9, in index",
                "    return 1/0",
                "ZeroDivisionError: division by zero",
            ],
        );
    }
    let cfg = env.file(
        "c.toml",
        &format!(
            "[[check]]\nid = \"journal\"\nkind = \"log\"\njournal = [\"{app}\"]\njournal_dir = \"{}\"\n",
            j.dir.display()
        ),
    );
    let out = env.run(&["--format", "json", "--config", &cfg.display().to_string()]);
    out.expect_code(2);
    let c = &json(&out)["checks"][0];
    assert_eq!(c["status"], "fail", "{c}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with(&format!("2 fatal error(s), 1 distinct, in the last 1 h in the journal of {app}; newest: Traceback")),
        "{c}"
    );
    let findings = c["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "the other unit's error is not read: {c}");
    let f = &findings[0];
    assert_eq!(f["subject"]["path"], "/srv/app/app.py", "{c}");
    assert_eq!(f["subject"]["line"], 9, "{c}");
    assert!(
        f["text"].as_str().unwrap().starts_with("2× Traceback"),
        "{c}"
    );
    assert!(
        f["text"]
            .as_str()
            .unwrap()
            .contains("ZeroDivisionError: division by zero"),
        "{c}"
    );
    assert!(!c.to_string().contains("other unit"), "{c}");

    // The same journal, read by a user it is not readable by.
    let mut nobody = as_nobody();
    let public = tempfile::tempdir().unwrap();
    let cfg2 = public.path().join("c.toml");
    std::fs::copy(&cfg, &cfg2).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(public.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&cfg2, std::fs::Permissions::from_mode(0o644)).unwrap();
    nobody.args(["--format", "json", "--config", &cfg2.display().to_string()]);
    let out = run_command(nobody);
    let c = &json(&out)["checks"][0];
    assert_eq!(c["status"], "error", "{c}");
    assert_eq!(
        c["summary"],
        format!("cannot read the journal of {app}: run as root or in group systemd-journal/adm"),
        "{c}"
    );
    drop((other_cg, app_cg));
}

#[test]
fn a_unit_that_would_be_an_option_is_a_configuration_error() {
    let env = TestEnv::new();
    let cfg = env.file(
        "c.toml",
        "[[check]]\nid = \"j\"\nkind = \"log\"\njournal = [\"--file=/etc/shadow\"]\n",
    );
    let out = env.run(&["--config", &cfg.display().to_string()]);
    out.expect_code(78);
    assert!(
        out.stderr.contains("journal: expected systemd unit names"),
        "{}",
        out.stderr
    );
}
