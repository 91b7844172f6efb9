//! Reading the host again reuses the snapshot's packages and PHP answers while what they are
//! read from is unchanged, and reads them again — and says what changed — when it is not.

use std::time::{Duration, SystemTime};

use super::*;

/// The fixture with PHP's extensions as Debian lays them out: `mysqli.so` in the extension
/// directory, enabled by a `conf.d` symlink; the FPM's `-m` lists the `.so` files there.
fn fixture() -> Fixture {
    let f = Fixture::new();
    write(&f.at("/usr/lib/php/20220829/mysqli.so"), "ELF");
    write(&f.at("/usr/lib/php/20220829/pdo.so"), "ELF");
    write(
        &f.at("/etc/php/8.2/mods-available/mysqli.ini"),
        "extension=mysqli.so\n",
    );
    std::fs::create_dir_all(f.at("/etc/php/8.2/fpm/conf.d")).unwrap();
    std::os::unix::fs::symlink(
        "../../mods-available/mysqli.ini",
        f.at("/etc/php/8.2/fpm/conf.d/20-mysqli.ini"),
    )
    .unwrap();
    script(
        &f.at("/usr/sbin/php-fpm8.2"),
        &format!(
            "echo \"$1\" >> {ran}\ncase \"$1\" in -v) cat {v};; -m) echo '[PHP Modules]'; echo Core; for so in {ext}/*.so; do basename \"$so\" .so; done;; -t) echo 'test is successful' >&2;; esac",
            ran = f.at("/php-ran").display(),
            v = f.at("/php-version").display(),
            ext = f.at("/usr/lib/php/20220829").display(),
        ),
    );
    f
}

/// The flags the FPM ran with since the last call, in order; forgets them.
fn ran(f: &Fixture) -> Vec<String> {
    let p = f.at("/php-ran");
    let text = std::fs::read_to_string(&p).unwrap_or_default();
    let _ = std::fs::remove_file(&p);
    let mut flags: Vec<String> = text.lines().map(str::to_string).collect();
    flags.sort();
    flags
}

/// Sets `p`'s modification time (and so its change time) without changing a byte.
fn touch(p: &Path, secs: u64) {
    std::fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// The snapshot's record, with packages that the database does not hold: what is read again
/// shows whether it came from the record or from `dpkg-query`.
fn recorded(f: &Fixture) -> HostState {
    let (before, _) = f.collect();
    assert!(before.unread.is_empty(), "{:?}", before.unread);
    let mut old = before.state;
    assert!(old.packages_db.is_some());
    assert!(old.php[0].inputs.is_some());
    assert_eq!(
        old.php[0].extensions.iter().collect::<Vec<_>>(),
        ["Core", "mysqli", "pdo"]
    );
    old.packages.insert("nginx".into(), "0-recorded".into());
    assert_eq!(ran(f), ["-m", "-t", "-v"]);
    old
}

fn extension_changes(old: &HostState, new: &HostState) -> Vec<(Area, How, String, String)> {
    said(old, new)
        .into_iter()
        .filter(|c| c.2.starts_with("php-fpm8.2"))
        .collect()
}

#[test]
fn unchanged_inputs_are_reused_without_running_dpkg_or_php() {
    let f = fixture();
    let old = recorded(&f);
    // What `-v` says is no input PHP's answer is a function of: not looked at.
    write(&f.at("/php-version"), "PHP 9.9.9 (fpm-fcgi)\n");
    let again = f.again(&old);
    assert!(again.unread.is_empty(), "{:?}", again.unread);
    assert_eq!(again.state.packages, old.packages, "dpkg-query did not run");
    assert_eq!(again.state.packages_db, old.packages_db);
    assert_eq!(again.state.php, old.php);
    assert_eq!(
        ran(&f),
        ["-t"],
        "only the configuration test runs every time"
    );
    assert!(compare(&old, &again.state).is_empty());
}

#[test]
fn a_record_without_fingerprints_is_read_again() {
    let f = fixture();
    let mut old = recorded(&f);
    old.packages_db = None;
    old.php[0].inputs = None;
    let again = f.again(&old);
    assert_eq!(again.state.packages["nginx"], "1.22.1-9");
    assert_eq!(ran(&f), ["-m", "-t", "-v"]);
}

#[test]
fn a_changed_package_database_is_read_again() {
    let f = fixture();
    let old = recorded(&f);
    // Touched, not a byte changed: dpkg-query runs (and PHP, whose libraries it installs).
    touch(&f.at("/var/lib/dpkg/status"), 1_000_000);
    let again = f.again(&old);
    assert_eq!(again.state.packages["nginx"], "1.22.1-9");
    assert_ne!(again.state.packages_db, old.packages_db);
    assert_eq!(ran(&f), ["-m", "-t", "-v"]);
    // Upgraded: said.
    f.dpkg(&[("nginx", "1.22.1-9+deb12u1", "installed")]);
    let again = f.again(&old);
    assert!(
        said(&old, &again.state).contains(&row(
            Area::Platform,
            How::Changed,
            "nginx",
            "0-recorded → 1.22.1-9+deb12u1"
        )),
        "{:?}",
        said(&old, &again.state)
    );
    assert!(said(&old, &again.state).contains(&row(
        Area::Platform,
        How::Removed,
        "php8.2-mysql",
        "package removed (was 8.2.7-1)"
    )));
}

#[test]
fn an_ini_file_touched_runs_php_again() {
    let f = fixture();
    let old = recorded(&f);
    touch(&f.at("/etc/php/8.2/fpm/php.ini"), 1_000_000);
    let again = f.again(&old);
    assert_eq!(ran(&f), ["-m", "-t", "-v"]);
    assert_eq!(
        again.state.packages, old.packages,
        "the packages are reused"
    );
    assert!(extension_changes(&old, &again.state).is_empty());
    // Each part against a record taken just before it: unchanged, php is not asked.
    let fresh = |f: &Fixture| {
        let old = recorded(f);
        f.again(&old);
        assert_eq!(ran(f), ["-t"], "nothing changed yet");
        old
    };
    // An ini file a conf.d symlink points at, edited.
    let old = fresh(&f);
    write(
        &f.at("/etc/php/8.2/mods-available/mysqli.ini"),
        "extension=mysqli.so\nmysqli.allow_persistent = Off\n",
    );
    f.again(&old);
    assert_eq!(ran(&f), ["-m", "-t", "-v"]);
    // A module disabled (`phpdismod`): its symlink gone.
    let old = fresh(&f);
    std::fs::remove_file(f.at("/etc/php/8.2/fpm/conf.d/20-mysqli.ini")).unwrap();
    f.again(&old);
    assert_eq!(ran(&f), ["-m", "-t", "-v"]);
}

#[test]
fn an_extension_removed_runs_php_again_and_is_said() {
    let f = fixture();
    let old = recorded(&f);
    std::fs::remove_file(f.at("/usr/lib/php/20220829/mysqli.so")).unwrap();
    let again = f.again(&old);
    assert_eq!(ran(&f), ["-m", "-t", "-v"]);
    assert_eq!(
        extension_changes(&old, &again.state),
        [row(
            Area::Platform,
            How::Removed,
            "php-fpm8.2: mysqli",
            "the PHP extension mysqli is no longer loaded by php-fpm8.2"
        )]
    );
}

#[test]
fn the_binary_replaced_runs_php_again() {
    let f = fixture();
    let old = recorded(&f);
    let bin = f.at("/usr/sbin/php-fpm8.2");
    let body = std::fs::read_to_string(&bin).unwrap();
    script(&bin, body.trim_start_matches("#!/bin/sh\n"));
    f.again(&old);
    assert_eq!(ran(&f), ["-m", "-t", "-v"]);
}

#[test]
fn the_fingerprints_survive_the_snapshot_header() {
    let f = fixture();
    let old = recorded(&f);
    let back: HostState = serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
    assert_eq!(back, old);
    let again = f.again(&back);
    assert_eq!(again.state.packages, old.packages);
    assert_eq!(ran(&f), ["-t"]);
}
