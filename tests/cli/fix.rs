//! `fix` and `fix --apply` change nothing outside what was asked for: no file with several
//! hard links, nothing below a root someone else could redirect or a system directory, one
//! change per file whatever number of checks call for one.

use std::os::unix::fs::{PermissionsExt, lchown, symlink};
use std::path::{Path, PathBuf};

use crate::testenv::{TestEnv, json};

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A file with `mode`, made where it is asked for.
fn file(p: &Path, mode: u32) -> PathBuf {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, "x").unwrap();
    chmod(p, mode);
    p.to_path_buf()
}

fn permissions(id: &str, root: &Path, extra: &str) -> String {
    format!(
        "[[check]]\nid = \"{id}\"\nkind = \"permissions\"\npath = \"{}\"\n{extra}\n",
        root.display()
    )
}

fn world_writable(id: &str, root: &Path) -> String {
    format!(
        "[[check]]\nid = \"{id}\"\nkind = \"world_writable\"\npaths = [\"{}\"]\n",
        root.display()
    )
}

/// The lines of `text` that name `path` as a whole word of a command.
fn lines_naming<'a>(text: &'a str, path: &Path) -> Vec<&'a str> {
    let p = path.display().to_string();
    text.lines()
        .filter(|l| l.split_whitespace().any(|w| w == p))
        .collect()
}

#[test]
fn a_hard_link_to_a_file_outside_the_root_is_never_changed() {
    let env = TestEnv::new();
    chmod(env.path(), 0o755);
    let root = env.path().join("www");
    let secret = file(&env.path().join("secret"), 0o600);
    let shared = file(&env.path().join("shared.conf"), 0o666);
    file(&root.join("index.php"), 0o644);
    std::fs::hard_link(&secret, root.join("link.txt")).unwrap();
    std::fs::hard_link(&shared, root.join("other.conf")).unwrap();
    chmod(&root, 0o755);
    let cfg =
        permissions("webroot", &root, "readable_by = \"nobody\"") + &world_writable("ww", &root);
    let env = env.config(&cfg);
    let link = root.join("link.txt");

    let out = env.run(&["fix"]);
    out.expect_code(0);
    let named = lines_naming(&out.stdout, &link);
    assert_eq!(named.len(), 1, "{}", out.stdout);
    assert!(
        named[0].starts_with(&format!("# by hand: chmod 644 {}", link.display()))
            && named[0].contains("it has 2 hard links"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("2 change(s) left to you") && !out.stdout.contains("would be made"),
        "{}",
        out.stdout
    );

    let out = env.run(&["fix", "--apply"]);
    out.expect_code(2);
    assert_eq!(
        mode(&secret),
        0o600,
        "the file outside the root is untouched"
    );
    assert_eq!(mode(&shared), 0o666, "not even tightened");
    assert!(
        out.stdout
            .contains(&format!("not changed  {}: left to you", link.display())),
        "{}",
        out.stdout
    );
    // The report of the checks afterwards names the link, as a change to make by hand.
    let after = out.stdout.split("The affected checks now:").nth(1).unwrap();
    assert!(
        after.contains(&format!("{}: nobody cannot read it", link.display()))
            && after.contains("(by hand: it has 2 hard links"),
        "{after}"
    );
    let v = json(&env.run(&["--format", "json"]));
    for c in v["checks"].as_array().unwrap() {
        assert_eq!(c["fix"]["automatic"], false, "{c}");
    }
}

#[test]
fn a_deploy_link_is_resolved_once_and_the_report_shows_where_it_leads() {
    let env = TestEnv::new();
    chmod(env.path(), 0o755);
    let release = env.path().join("releases/5");
    file(&release.join("config.php"), 0o666);
    symlink("releases/5", env.path().join("current")).unwrap();
    let current = env.path().join("current");
    let env = env.config(&(permissions("webroot", &current, "") + &world_writable("ww", &current)));
    let out = env.run(&["--format", "json"]);
    let v = json(&out);
    for c in v["checks"].as_array().unwrap() {
        assert_eq!(
            c["summary"].as_str().unwrap(),
            format!("1 world-writable under {}", release.display()),
            "{c}"
        );
        let note = format!("{} is {}", current.display(), release.display());
        assert!(
            c["details"].as_array().unwrap().iter().any(|d| *d == note),
            "{c}"
        );
    }
    // A link root owns, in a directory only root can change: fixable.
    env.run(&["fix", "--apply"]).expect_code(0);
    assert_eq!(mode(&release.join("config.php")), 0o644);
}

/// A site whose web root is reached through `current`, with one world-writable file.
fn linked_site(env: &TestEnv, link_dir: &Path) -> (PathBuf, PathBuf) {
    chmod(env.path(), 0o755);
    let site = env.path().join("site");
    let f = file(&site.join("config.php"), 0o666);
    std::fs::create_dir_all(link_dir).unwrap();
    let link = link_dir.join("current");
    symlink(&site, &link).unwrap();
    (link, f)
}

#[test]
fn apply_refuses_a_root_reached_through_a_link_another_user_owns() {
    let env = TestEnv::new();
    let (link, f) = linked_site(&env, env.path());
    lchown(&link, Some(65534), Some(65534)).unwrap();
    let env = env.config(&permissions("webroot", &link, ""));

    let out = env.run(&["fix"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains(&format!("chmod 644 {}", f.display())),
        "the dry run still shows what it would do: {}",
        out.stdout
    );
    assert!(
        out.stdout.contains("--apply would refuse (exit 78)"),
        "{}",
        out.stdout
    );

    let out = env.run(&["fix", "--apply"]);
    out.expect_code(78);
    assert_eq!(mode(&f), 0o666, "nothing was changed");
    let site = env.path().join("site");
    assert_eq!(
        out.stderr,
        format!(
            "sitedoctor: fix --apply refused, nothing was changed: check webroot: {s} is reached \
             through the symlink {l}, owned by nobody, who could point it anywhere (at /etc, say): \
             point the check's path at {s} itself once you have made sure it is the site, or make \
             the link root's with `chown -h root {l}`\n\
             sitedoctor: see what it would do with `sitedoctor fix`, and leave such a check out \
             with --skip ID\n",
            s = site.display(),
            l = link.display()
        )
    );
    assert!(!out.stdout.contains("changed"), "{}", out.stdout);

    // The report says so too, beside its fix.
    let v = json(&env.run(&["--format", "json"]));
    let details = v["checks"][0]["details"].to_string();
    assert!(
        details.contains("`sitedoctor fix --apply` changes nothing here:")
            && details.contains("owned by nobody"),
        "{details}"
    );
}

#[test]
fn apply_refuses_a_link_in_a_directory_another_user_can_change() {
    let env = TestEnv::new();
    let theirs = env.path().join("home/deploy");
    let (link, f) = linked_site(&env, &theirs);
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let env = env.config(&world_writable("ww", &link));
    let out = env.run(&["fix", "--apply"]);
    out.expect_code(78);
    assert!(
        out.stderr.contains(&format!(
            "through the symlink {}, and {} is owned by nobody, who could replace the link",
            link.display(),
            theirs.display()
        )),
        "{}",
        out.stderr
    );
    assert_eq!(mode(&f), 0o666);

    // World-writable without the sticky bit: the same.
    std::os::unix::fs::chown(&theirs, Some(0), Some(0)).unwrap();
    chmod(&theirs, 0o777);
    let out = env.run(&["fix", "--apply"]);
    out.expect_code(78);
    assert!(
        out.stderr.contains("is writable by everyone"),
        "{}",
        out.stderr
    );
    assert_eq!(mode(&f), 0o666);
}

#[test]
fn a_web_root_a_deploy_user_owns_stays_fixable() {
    let env = TestEnv::new();
    chmod(env.path(), 0o755);
    let home = env.path().join("home/deploy");
    let root = home.join("public_html");
    let f = file(&root.join("index.php"), 0o666);
    for d in [&home, &root] {
        std::os::unix::fs::chown(d, Some(65534), Some(65534)).unwrap();
    }
    chmod(&home, 0o711);
    let env = env.config(&permissions("webroot", &root, "readable_by = \"nobody\""));
    let out = env.run(&["fix", "--apply"]);
    out.expect_code(0);
    assert_eq!(mode(&f), 0o644);
}

#[test]
fn a_system_directory_is_never_fixed_in_bulk() {
    // A tmpfs over /media, in a mount namespace of the test's own: the real /media is not
    // touched whatever happens.
    let env = TestEnv::new();
    chmod(env.path(), 0o755);
    symlink("/media", env.path().join("media-link")).unwrap();
    let link = env.path().join("media-link");
    let env = env.config(&world_writable("ww", &link));
    let script = format!(
        "mount -t tmpfs sitedoctor-test /media && echo x > /media/f && chmod 666 /media/f && \
         {bin} fix; {bin} fix --apply; echo \"code=$?\"; stat -c 'mode=%a' /media/f",
        bin = crate::testenv::bin().display()
    );
    let mut c = std::process::Command::new("/usr/bin/unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .current_dir(env.path());
    let out = crate::testenv::run_command(c);
    assert!(
        out.stdout
            .contains("chmod 664 /media/f    # ww: world-writable; now 666"),
        "the dry run shows the fix: {}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("code=78") && out.stdout.contains("mode=666"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr.contains(&format!(
            "check ww: /media (where {} leads) is a system directory",
            link.display()
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn one_change_per_path_that_satisfies_every_check_and_every_check_runs_again() {
    let env = TestEnv::new();
    chmod(env.path(), 0o755);
    let root = env.path().join("www");
    let uploads = root.join("uploads");
    file(&uploads.join("a.jpg"), 0o644);
    chmod(&uploads, 0o777);
    // Writable by others but unreadable by them: one check removes o+w, the other adds o+r.
    let odd = file(&root.join("odd.php"), 0o602);
    let config = file(&root.join("config.php"), 0o666);
    chmod(&root, 0o755);
    let cfg =
        permissions("webroot", &root, "readable_by = \"nobody\"") + &world_writable("ww", &root);
    let env = env.config(&cfg);

    let out = env.run(&["fix"]);
    out.expect_code(0);
    for (path, want) in [
        (&uploads, "chmod 755"),
        (&odd, "chmod 644"),
        (&config, "chmod 644"),
    ] {
        let named = lines_naming(&out.stdout, path);
        assert_eq!(
            named.len(),
            1,
            "one command for {}: {}",
            path.display(),
            out.stdout
        );
        assert!(
            named[0].starts_with(&format!("{want} {}", path.display()))
                && named[0].contains("webroot: ")
                && named[0].contains("ww: world-writable"),
            "{}",
            named[0]
        );
    }
    assert!(
        out.stdout.contains("3 change(s) would be made"),
        "{}",
        out.stdout
    );

    let out = env.run(&["fix", "--apply"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("3 change(s) made, 0 not made"),
        "{}",
        out.stdout
    );
    assert_eq!(mode(&uploads), 0o755);
    assert_eq!(mode(&odd), 0o644);
    assert_eq!(mode(&config), 0o644);
    let after = out.stdout.split("The affected checks now:").nth(1).unwrap();
    for id in ["webroot", "ww"] {
        assert!(
            after.contains(&format!("ok    {id}")),
            "{id} runs again: {after}"
        );
    }
}
