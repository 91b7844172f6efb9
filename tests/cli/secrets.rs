//! The env check never prints a value, not even in part, in any output.

use crate::testenv::TestEnv;

const SECRET: &str = "hunter2-s3cr3t-value";

fn assert_no_secret(text: &str) {
    for part in [SECRET, "hunter2", "s3cr3t"] {
        assert!(!text.contains(part), "a value leaked ({part}):\n{text}");
    }
}

#[test]
fn own_environment() {
    let env = TestEnv::new()
        .env("SD_TOKEN", SECRET)
        .env("SD_EMPTY", "")
        .config("[[check]]\nid = \"app-env\"\nkind = \"env\"\nvars = [\"SD_TOKEN\", \"SD_EMPTY\", \"SD_MISSING\"]\n");
    for format in sitedoctor::render::names() {
        let out = env.run(&["--format", format]);
        out.expect_code(2);
        assert_no_secret(&out.stdout);
        assert_no_secret(&out.stderr);
        if format != "prometheus" {
            assert!(
                out.stdout.contains("SD_MISSING"),
                "{format}: {}",
                out.stdout
            );
        }
    }
    let out = env.run(&[]);
    assert!(
        out.stdout.contains("SD_TOKEN: set")
            && out.stdout.contains("SD_EMPTY: empty")
            && out.stdout.contains("SD_MISSING: missing"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("export SD_MISSING=… SD_EMPTY=…"),
        "{}",
        out.stdout
    );
}

#[test]
fn dotenv_file() {
    let env = TestEnv::new();
    let dotenv = env.file(".env", &format!("# app\nexport DATABASE_URL=\"postgres://app:{SECRET}@db/app\"\nAPP_KEY=\nAPI_TOKEN='{SECRET}'\n"));
    let cfg = format!(
        "[[check]]\nid = \"dotenv\"\nkind = \"env\"\nvars = [\"DATABASE_URL\", \"APP_KEY\", \"API_TOKEN\"]\nfrom_file = \"{}\"\n",
        dotenv.display()
    );
    let env = env.config(&cfg);
    let out = env.run(&[]);
    out.expect_code(1);
    assert_no_secret(&out.stdout);
    assert!(
        out.stdout.contains("set but empty") && out.stdout.contains("APP_KEY"),
        "{}",
        out.stdout
    );
    let out = env.run(&["--format", "json"]);
    assert_no_secret(&out.stdout);
    let env2 = TestEnv::new().config("[[check]]\nid = \"x\"\nkind = \"env\"\nvars = [\"A\"]\nfrom_file = \"/nonexistent/.env\"\n");
    let out = env2.run(&[]);
    out.expect_code(3);
    assert!(
        out.stdout
            .contains("cannot read /nonexistent/.env: No such file or directory"),
        "{}",
        out.stdout
    );
}

/// A copy of `sleep` under a unique name, running with a secret in its environment.
struct App {
    child: std::process::Child,
    name: String,
    _dir: tempfile::TempDir,
}

impl App {
    fn start() -> App {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("sdapp{}", std::process::id() % 100000);
        let exe = dir.path().join(&name);
        std::fs::copy("/bin/sleep", &exe).unwrap();
        let child = std::process::Command::new(&exe)
            .arg("300")
            .env("SD_APP_SECRET", SECRET)
            .env("SD_APP_EMPTY", "")
            .spawn()
            .unwrap();
        App {
            child,
            name,
            _dir: dir,
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn running_process_environment() {
    let app = App::start();
    let cfg = format!(
        "[[check]]\nid = \"app-env\"\nkind = \"env\"\nprocess = \"{}\"\nvars = [\"SD_APP_SECRET\", \"SD_APP_EMPTY\", \"SD_APP_GONE\"]\n",
        app.name
    );
    let env = TestEnv::new().config(&cfg);
    for format in sitedoctor::render::names() {
        let out = env.run(&["--format", format]);
        out.expect_code(2);
        assert_no_secret(&out.stdout);
        if !matches!(format, "human" | "json") {
            continue;
        }
        assert!(out.stdout.contains("SD_APP_GONE"), "{}", out.stdout);
        assert!(
            out.stdout
                .contains(&format!("the environment of {}", app.name)),
            "{}",
            out.stdout
        );
    }
    let out = env.run(&[]);
    assert!(out.stdout.contains("systemctl edit"), "{}", out.stdout);
}

/// Unprivileged, reading a root process's environment is an `error` that says why.
#[test]
fn unprivileged_read_of_another_users_process_is_an_error() {
    if !nix::unistd::geteuid().is_root() || !std::path::Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root (to drop to nobody) and setpriv");
        return;
    }
    let app = App::start();
    let env = TestEnv::new();
    let cfg = env.file("c.toml", &format!("[[check]]\nid = \"app-env\"\nkind = \"env\"\nprocess = \"{}\"\nvars = [\"SD_APP_SECRET\"]\n", app.name));
    std::fs::set_permissions(
        env.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let mut c = crate::testenv::as_nobody();
    c.arg("--config").arg(&cfg);
    let out = crate::testenv::run_command(c);
    out.expect_code(3);
    assert!(
        out.stdout.contains("permission denied (run as root"),
        "{}",
        out.stdout
    );
    assert_no_secret(&out.stdout);
}
