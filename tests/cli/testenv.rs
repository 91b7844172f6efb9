//! A small builder: a temp directory with config files, the binary run inside it with a
//! controlled environment, and its stdout, stderr and exit code.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub struct TestEnv {
    pub dir: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Output {
    /// Fails with the whole output, so a broken expectation explains itself.
    pub fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code, code,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// The report of a `--format json` run.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", out.stdout, out.stderr))
}

/// `sitedoctor ARGS` run as the user nobody (the caller is root), from `/`. The binary is
/// copied where nobody can reach it: the checkout may sit under a directory only root may
/// enter.
pub fn as_nobody() -> Command {
    use std::os::unix::fs::PermissionsExt;
    static COPY: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, copy) = COPY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.path().join("sitedoctor");
        std::fs::copy(bin(), &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, copy)
    });
    let mut c = Command::new("/usr/bin/setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(copy)
        .current_dir("/");
    c
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sitedoctor"))
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().unwrap(),
            envs: vec![("SITEDOCTOR_SELFTEST".into(), "1".into())],
        }
    }

    pub fn env(mut self, k: &str, v: &str) -> TestEnv {
        self.envs.push((k.into(), v.into()));
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file under the temp directory and return its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// A `sitedoctor.toml` in the working directory, found without `--config`.
    pub fn config(self, toml: &str) -> TestEnv {
        self.file("sitedoctor.toml", toml);
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.args(args).current_dir(self.dir.path());
        c.env_remove("NO_COLOR")
            .env_remove("SITEDOCTOR_PROC")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("COLUMNS");
        for (k, v) in &self.envs {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        run_command(self.command(args))
    }
}

pub fn run_command(mut c: Command) -> Output {
    let t = Instant::now();
    let out = c.output().expect("the binary runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: t.elapsed(),
    }
}

/// A `[[check]]` block of the hidden selftest kind.
pub fn selftest(id: &str, extra: &str) -> String {
    format!("[[check]]\nid = \"{id}\"\nkind = \"selftest\"\n{extra}\n")
}

/// `/usr/bin/NAME`, or None with a printed reason to skip. Under `CI=true` a missing
/// program fails the test instead: `.ci/run` installs it, and a skip there would hide that.
pub fn program_or_skip(name: &str) -> Option<PathBuf> {
    let path = Path::new("/usr/bin").join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none_or(|v| v != "true"),
        "{name} is not installed (.ci/run installs it)"
    );
    eprintln!("skipped: no {name} here");
    None
}
