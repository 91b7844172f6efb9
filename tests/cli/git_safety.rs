//! `recent_changes` names the last commit that changed a file by running `git` — only as the
//! owner of the work tree, only where no other user can change the tree, its `.git` or its
//! configuration, and with every way of running a program or fetching turned off.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::testenv::{TestEnv, json};

const NOBODY: u32 = 65534;

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_r(p: &Path, uid: u32) {
    let ok = Command::new("chown")
        .args(["-R", &format!("{uid}:{uid}")])
        .arg(p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chown -R {uid} {}", p.display());
}

/// Only as root can a test build trees owned by another user; and git must be installed.
fn can_run() -> bool {
    let ok = nix::unistd::geteuid().is_root()
        && Path::new("/usr/bin/setpriv").exists()
        && Command::new("git").arg("--version").output().is_ok();
    if !ok {
        eprintln!("needs root, setpriv and git: nothing to test");
    }
    ok
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@t", "-c", "user.name=tester"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A temp directory anyone may enter (git run as nobody must reach the tree), with a
/// repository `src` of two commits to `public/index.php`, and `w`, a sticky directory
/// anyone may write, where a program git should never run would leave its marker.
struct Site {
    env: TestEnv,
    /// Where sitedoctor runs from and its configuration lies, apart from the tree (whose
    /// modes the tests loosen).
    conf: TestEnv,
}

impl Site {
    fn new() -> Site {
        let env = TestEnv::new();
        chmod(env.path(), 0o755);
        let src = env.path().join("src");
        std::fs::create_dir_all(src.join("public")).unwrap();
        std::fs::write(src.join("public/index.php"), "1").unwrap();
        git(&src, &["init", "-q"]);
        git(&src, &["add", "."]);
        git(&src, &["commit", "-qm", "one"]);
        std::fs::write(src.join("public/index.php"), "2").unwrap();
        git(&src, &["commit", "-qam", "two: the product of the day"]);
        git(&src, &["config", "uploadpack.allowFilter", "true"]);
        let w = env.path().join("w");
        std::fs::create_dir(&w).unwrap();
        chmod(&w, 0o1777);
        Site {
            env,
            conf: TestEnv::new(),
        }
    }

    fn path(&self) -> &Path {
        self.env.path()
    }

    fn url(&self) -> String {
        format!("file://{}/src", self.path().display())
    }

    fn marker(&self) -> PathBuf {
        self.path().join("w/MARKER")
    }

    /// A full clone at `name`, its modes set as a careful owner would.
    fn clone(&self, name: &str) -> PathBuf {
        git(self.path(), &["clone", "-q", &self.url(), name]);
        let top = self.path().join(name);
        self.tidy(&top);
        top
    }

    /// A partial clone (no trees) whose configuration runs a program on any fetch: the
    /// reviewer's repository. `git log -- FILE` needs the trees it lacks.
    fn evil_clone(&self, name: &str) -> PathBuf {
        git(
            self.path(),
            &[
                "clone",
                "-q",
                "--filter=tree:0",
                "--no-checkout",
                &self.url(),
                name,
            ],
        );
        let top = self.path().join(name);
        git(
            &top,
            &["config", "remote.origin.url", "ssh://nohost.invalid/x"],
        );
        let run = format!("sh -c 'id > {}' --", self.marker().display());
        git(&top, &["config", "core.sshCommand", &run]);
        std::fs::create_dir_all(top.join("public")).unwrap();
        std::fs::write(top.join("public/index.php"), "2").unwrap();
        self.tidy(&top);
        top
    }

    fn tidy(&self, top: &Path) {
        chmod(top, 0o755);
        chmod(&top.join(".git"), 0o755);
        chmod(&top.join(".git/config"), 0o644);
    }

    /// The `recent_changes` finding for `TOP/public/index.php`, from a run as root.
    fn finding(&self, top: &Path) -> serde_json::Value {
        let cfg = format!(
            "[[check]]\nid = \"rc\"\nkind = \"recent_changes\"\npath = \"{}/public\"\n",
            top.display()
        );
        let cfg_path = self.conf.file("rc.toml", &cfg);
        let out = self
            .conf
            .run(&["--format", "json", "-c", cfg_path.to_str().unwrap()]);
        out.expect_code(0);
        let c = &json(&out)["checks"][0];
        let f = c["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("no findings: {c}"))
            .iter()
            .find(|f| f["text"].as_str().unwrap().contains("index.php"))
            .unwrap_or_else(|| panic!("no finding for index.php: {c}"))
            .clone();
        // Whatever happened to git, the commands to type are there.
        let fix = f["fix"]["text"].as_str().unwrap_or_default();
        assert!(
            fix.contains("log -1") && fix.contains("-- public/index.php"),
            "{f}"
        );
        f
    }
}

fn text(f: &serde_json::Value) -> &str {
    f["text"].as_str().unwrap()
}

#[test]
fn a_tree_root_owns_shows_its_last_commit() {
    if !can_run() {
        return;
    }
    let site = Site::new();
    let top = site.clone("site");
    let f = site.finding(&top);
    assert!(
        text(&f).contains("; last commit ") && text(&f).ends_with(": two: the product of the day"),
        "{f}"
    );
}

#[test]
fn a_tree_another_user_owns_is_read_as_that_user() {
    if !can_run() {
        return;
    }
    let site = Site::new();
    let top = site.clone("site");
    chown_r(&top, NOBODY);
    let f = site.finding(&top);
    assert!(text(&f).contains("; last commit "), "{f}");
    // As nobody, not root: git refuses a repository its user does not own, so a commit
    // read from a tree only nobody owns was read by nobody. And the command says so.
    assert!(
        f["fix"]["text"]
            .as_str()
            .unwrap()
            .starts_with("sudo -u nobody git -C "),
        "{f}"
    );
}

#[test]
fn a_partial_clone_never_fetches_so_its_ssh_command_never_runs_as_root() {
    if !can_run() {
        return;
    }
    let site = Site::new();
    let top = site.evil_clone("evil");
    let f = site.finding(&top);
    assert!(
        !site.marker().exists(),
        "git fetched and ran core.sshCommand: {}",
        std::fs::read_to_string(site.marker()).unwrap_or_default()
    );
    // Without the trees it cannot answer, and it says nothing rather than guess.
    assert!(!text(&f).contains("last commit"), "{f}");
}

#[test]
fn a_partial_clone_another_user_owns_never_fetches_either() {
    if !can_run() {
        return;
    }
    let site = Site::new();
    let top = site.evil_clone("evil");
    chown_r(&top, NOBODY);
    let f = site.finding(&top);
    assert!(
        !site.marker().exists(),
        "git fetched and ran core.sshCommand: {}",
        std::fs::read_to_string(site.marker()).unwrap_or_default()
    );
    assert!(!text(&f).contains("last commit"), "{f}");
}

/// The race the review found needs a user who can rename `.git` in the top directory: a
/// top directory another user owns (here nobody, with root's `.git` in it), or one the
/// group can write. git is not run at all there — whoever can swap `.git` for their own
/// could choose the configuration git runs with.
#[test]
fn a_top_directory_another_user_owns_runs_no_git() {
    if !can_run() {
        return;
    }
    let site = Site::new();
    let top = site.clone("site");
    std::os::unix::fs::lchown(&top, Some(NOBODY), Some(NOBODY)).unwrap();
    let f = site.finding(&top);
    assert!(!text(&f).contains("last commit"), "{f}");
}

#[test]
fn a_group_writable_top_directory_runs_no_git() {
    if !can_run() {
        return;
    }
    let site = Site::new();
    let top = site.clone("site");
    chmod(&top, 0o775);
    let f = site.finding(&top);
    assert!(!text(&f).contains("last commit"), "{f}");
    // Nor a group-writable `.git`, nor a directory above that others can write.
    chmod(&top, 0o755);
    chmod(&top.join(".git"), 0o775);
    assert!(!text(&site.finding(&top)).contains("last commit"));
    chmod(&top.join(".git"), 0o755);
    chmod(site.path(), 0o777);
    assert!(!text(&site.finding(&top)).contains("last commit"));
    // Sticky, the directory above is fine: nobody else can rename what root owns in it.
    chmod(site.path(), 0o1777);
    assert!(text(&site.finding(&top)).contains("; last commit "));
}
