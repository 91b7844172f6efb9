//! Tests of the host state: compare() for each kind of change, collect() on a fixture host
//! (fake servers, a dpkg database, a fake /proc) and on this host's real programs.

use std::path::Path;

use super::*;
use crate::baseline::change::{Area, How, rank};
use crate::baseline::key::Digest;
use crate::stack::testing::FakeProc;

fn key() -> Key {
    Key::from_bytes([7; 32])
}

fn d(n: u8) -> Digest {
    Digest([n; 32])
}

/// (area, how, subject, detail) of each change, ranked.
fn said(old: &HostState, new: &HostState) -> Vec<(Area, How, String, String)> {
    let mut c = compare(old, new);
    rank(&mut c);
    c.into_iter()
        .map(|c| (c.area, c.how, c.subject, c.detail))
        .collect()
}

/// The fix of the first change that says something was removed.
fn removed_fix(old: &HostState, new: &HostState) -> Option<String> {
    compare(old, new)
        .into_iter()
        .find(|c| c.how == How::Removed)
        .and_then(|c| c.fix)
}

fn row(area: Area, how: How, subject: &str, detail: &str) -> (Area, How, String, String) {
    (area, how, subject.to_string(), detail.to_string())
}

#[test]
fn nothing_changed_says_nothing() {
    let s = HostState {
        packages: [("nginx".to_string(), "1.22.1-9".to_string())].into(),
        ..HostState::default()
    };
    assert!(compare(&s, &s).is_empty());
    assert!(compare(&HostState::default(), &HostState::default()).is_empty());
}

#[test]
fn env_vars_added_removed_and_changed() {
    let set = |vars: &[(&str, u8)]| EnvSet {
        source: "/srv/app/.env".into(),
        vars: vars.iter().map(|(k, h)| (k.to_string(), d(*h))).collect(),
        gone: false,
        origin: Origin::default(),
    };
    let old = HostState {
        env: vec![set(&[("APP_KEY", 1), ("DATABASE_URL", 2), ("MAIL", 3)])],
        ..HostState::default()
    };
    let new = HostState {
        env: vec![set(&[("APP_KEY", 1), ("DATABASE_URL", 9), ("REDIS", 4)])],
        ..HostState::default()
    };
    assert_eq!(
        said(&old, &new),
        [
            row(Area::Env, How::Added, "REDIS", "newly set in /srv/app/.env"),
            row(
                Area::Env,
                How::Removed,
                "MAIL",
                "no longer set in /srv/app/.env"
            ),
            row(
                Area::Env,
                How::Changed,
                "DATABASE_URL",
                "value changed in /srv/app/.env"
            ),
        ]
    );
    assert_eq!(
        removed_fix(&old, &new).as_deref(),
        Some("add MAIL=… to /srv/app/.env, then restart the app so it reads it")
    );
    // A source no check reads any more, or one that could not be read, says nothing.
    assert!(compare(&old, &HostState::default()).is_empty());
    let unread = HostState {
        unread: ["env /srv/app/.env".to_string()].into(),
        ..new.clone()
    };
    assert!(compare(&old, &unread).is_empty());
    let none_read = HostState {
        unread: ["env".to_string()].into(),
        ..new.clone()
    };
    assert!(compare(&old, &none_read).is_empty());
}

#[test]
fn config_files_and_a_config_test_that_now_fails() {
    let file = |path: &str, h: u8| ConfigFile {
        server: "nginx".into(),
        path: path.into(),
        hash: Some(d(h)),
    };
    let test = |passed: bool, verdict: &str| ConfigTest {
        server: "nginx".into(),
        command: "nginx -t".into(),
        passed,
        verdict: verdict.into(),
    };
    let emerg = "nginx: [emerg] unknown directive \"sever\" in /etc/nginx/sites-enabled/shop:3";
    let old = HostState {
        configs: vec![
            file("/etc/nginx/nginx.conf", 1),
            file("/etc/nginx/sites-enabled/shop", 2),
            file("/etc/nginx/sites-enabled/old", 3),
        ],
        config_tests: vec![test(
            true,
            "nginx: configuration file /etc/nginx/nginx.conf test is successful",
        )],
        ..HostState::default()
    };
    let new = HostState {
        configs: vec![
            file("/etc/nginx/nginx.conf", 1),
            file("/etc/nginx/sites-enabled/shop", 5),
            file("/etc/nginx/sites-enabled/new", 4),
        ],
        config_tests: vec![test(false, emerg)],
        ..HostState::default()
    };
    assert_eq!(
        said(&old, &new),
        [
            row(
                Area::ConfigTest,
                How::Changed,
                "nginx -t",
                &format!("passed at the snapshot, fails now: {emerg}")
            ),
            row(
                Area::Config,
                How::Added,
                "/etc/nginx/sites-enabled/new",
                "nginx reads it now"
            ),
            row(
                Area::Config,
                How::Removed,
                "/etc/nginx/sites-enabled/old",
                "nginx no longer reads it"
            ),
            row(
                Area::Config,
                How::Changed,
                "/etc/nginx/sites-enabled/shop",
                "nginx configuration changed"
            ),
        ]
    );
    // Its fix names the file and line the test names.
    let broke = compare(&old, &new)
        .into_iter()
        .find(|c| c.area == Area::ConfigTest)
        .unwrap();
    assert_eq!(
        broke.fix.as_deref(),
        Some(
            "edit line 3 of /etc/nginx/sites-enabled/shop (`sever`), then run `nginx -t` again before reloading"
        )
    );
    // A test that failed then and fails now, or passes now, is not a new break.
    let failing = HostState {
        config_tests: vec![test(false, emerg)],
        ..HostState::default()
    };
    assert!(compare(&failing, &failing).is_empty());
    assert!(
        compare(&failing, &old)
            .iter()
            .all(|c| c.area != Area::ConfigTest)
    );
}

#[test]
fn php_version_and_extensions() {
    let fpm = |version: &str, ext: &[&str]| PhpFpm {
        binary: "/usr/sbin/php-fpm8.2".into(),
        unit: "php8.2-fpm".into(),
        version: version.into(),
        extensions: ext.iter().map(|e| e.to_string()).collect(),
        inputs: None,
    };
    let old = HostState {
        php: vec![fpm("8.2.7", &["Core", "mysqli", "pdo_mysql"])],
        ..HostState::default()
    };
    let new = HostState {
        php: vec![fpm("8.2.29", &["Core", "pdo_mysql", "redis"])],
        ..HostState::default()
    };
    assert_eq!(
        said(&old, &new),
        [
            row(
                Area::Platform,
                How::Added,
                "php-fpm8.2: redis",
                "the PHP extension redis is loaded by php-fpm8.2 now"
            ),
            row(
                Area::Platform,
                How::Removed,
                "php-fpm8.2: mysqli",
                "the PHP extension mysqli is no longer loaded by php-fpm8.2"
            ),
            row(
                Area::Platform,
                How::Changed,
                "php-fpm8.2",
                "PHP 8.2.7 → 8.2.29"
            ),
        ]
    );
    let fix = removed_fix(&old, &new).unwrap();
    assert!(
        fix.starts_with("phpenmod -v 8.2 -s fpm mysqli && systemctl restart php8.2-fpm"),
        "{fix}"
    );
}

#[test]
fn packages_upgraded_removed_and_new() {
    let pk = |v: &[(&str, &str)]| HostState {
        packages: v
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        ..HostState::default()
    };
    let old = pk(&[("apache2", "2.4.57-2"), ("php8.2-mysql", "8.2.7-1")]);
    let new = pk(&[("apache2", "2.4.62-1"), ("php8.2-redis", "5.3.7-1")]);
    assert_eq!(
        said(&old, &new),
        [
            row(
                Area::Platform,
                How::Added,
                "php8.2-redis",
                "package installed (5.3.7-1)"
            ),
            row(
                Area::Platform,
                How::Removed,
                "php8.2-mysql",
                "package removed (was 8.2.7-1)"
            ),
            row(
                Area::Platform,
                How::Changed,
                "apache2",
                "2.4.57-2 → 2.4.62-1"
            ),
        ]
    );
    assert_eq!(
        removed_fix(&old, &new).as_deref(),
        Some("apt-get install php8.2-mysql")
    );
    let unread = HostState {
        unread: ["packages".to_string()].into(),
        ..HostState::default()
    };
    assert!(
        compare(&old, &unread).is_empty(),
        "unread is not all removed"
    );
}

#[test]
fn listeners_gone_new_or_taken_over() {
    let l = |a: &str, p: Option<&str>, u: Option<&str>| Listener {
        address: a.into(),
        process: p.map(str::to_string),
        unit: u.map(str::to_string),
    };
    let old = HostState {
        listening: vec![
            l("0.0.0.0:80", Some("nginx"), Some("nginx.service")),
            l("127.0.0.1:8000", Some("gunicorn"), Some("app.service")),
            l("127.0.0.1:9000", Some("php-fpm8.2"), None),
            l("127.0.0.1:9100", None, None),
        ],
        ..HostState::default()
    };
    let new = HostState {
        listening: vec![
            l("0.0.0.0:80", Some("nginx"), Some("nginx.service")),
            l("127.0.0.1:9000", Some("python3"), None),
            l("127.0.0.1:9100", Some("node"), None),
            l("[::]:443", Some("nginx"), None),
        ],
        ..HostState::default()
    };
    assert_eq!(
        said(&old, &new),
        [
            row(
                Area::Listener,
                How::Added,
                "[::]:443",
                "nginx listens here now"
            ),
            row(
                Area::Listener,
                How::Removed,
                "127.0.0.1:8000",
                "nothing listens here now (gunicorn did)"
            ),
            row(
                Area::Listener,
                How::Changed,
                "127.0.0.1:9000",
                "python3 listens here now, not php-fpm8.2"
            ),
        ]
    );
    assert_eq!(
        removed_fix(&old, &new).as_deref(),
        Some("systemctl start app.service")
    );
}

fn lock(hash: u8, installed: Option<u8>, agrees: Option<bool>) -> Lockfile {
    Lockfile {
        path: "/srv/shop/composer.lock".into(),
        name: "composer.lock".into(),
        hash: Some(d(hash)),
        target: "vendor/".into(),
        installed: installed.map(d),
        agrees,
        missing: 0,
        other_versions: usize::from(agrees == Some(false)),
        install: "cd /srv/shop && composer install --no-dev".into(),
    }
}

#[test]
fn a_lockfile_that_changed_while_vendor_did_not_follow() {
    let st = |l: Lockfile| HostState {
        lockfiles: vec![l],
        ..HostState::default()
    };
    let good = st(lock(1, Some(2), Some(true)));
    // The lockfile changed, vendor/ did not.
    let c = compare(&good, &st(lock(3, Some(2), Some(false))));
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!((c[0].area, c[0].how), (Area::Dependencies, How::Changed));
    assert_eq!(c[0].subject, "/srv/shop/composer.lock");
    assert_eq!(
        c[0].detail,
        "composer.lock changed but vendor/ did not follow (run: composer install --no-dev)"
    );
    assert_eq!(
        c[0].fix.as_deref(),
        Some("cd /srv/shop && composer install --no-dev")
    );
    // Both changed and agree: a deploy that installed what it locked.
    assert!(compare(&good, &st(lock(3, Some(4), Some(true)))).is_empty());
    // The lockfile stayed, vendor/ drifted from it.
    assert_eq!(
        said(&good, &st(lock(1, Some(4), Some(false)))),
        [row(
            Area::Dependencies,
            How::Changed,
            "/srv/shop/composer.lock",
            "vendor/ no longer matches composer.lock: 1 installed at another version (run: composer install --no-dev)"
        )]
    );
    // A lockfile new since the snapshot that nothing installed.
    assert_eq!(
        said(&HostState::default(), &st(lock(1, None, Some(false))))[0].3,
        "composer.lock is new and vendor/ does not match it: 1 installed at another version (run: composer install --no-dev)"
    );
}

#[test]
fn older_and_newer_records_load() {
    let old: HostState = serde_json::from_str(r#"{"packages": {"nginx": "1.22.1-9"}}"#).unwrap();
    assert_eq!(old.packages.len(), 1);
    assert!(old.env.is_empty() && old.unread.is_empty());
    let newer: HostState = serde_json::from_str(
        r#"{"listening": [{"address": "0.0.0.0:80", "since": 3}], "firewall": {"open": [80]}}"#,
    )
    .unwrap();
    assert_eq!(newer.listening[0].address, "0.0.0.0:80");
    assert_eq!(newer.listening[0].process, None);
    // A source of a kind this build does not know is not read again as a file of that name.
    let unit: HostState = serde_json::from_str(
        r#"{"env": [{"source": "unit app.service", "vars": {}, "origin": {"unit": "app.service"}}]}"#,
    )
    .unwrap();
    assert_eq!(unit.env[0].again(), None);
    let back: HostState = serde_json::from_str(&serde_json::to_string(&newer).unwrap()).unwrap();
    assert_eq!(back, newer);
}

/// Writes `text` to `p` (parents made).
fn write(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// An executable script at `p`, installed by a child process: this process never holds it
/// open for writing, so no fork of another test's thread can make running it fail with
/// "text file busy".
fn script(p: &Path, body: &str) {
    let src = p.with_extension("src");
    write(&src, &format!("#!/bin/sh\n{body}\n"));
    let ok = std::process::Command::new("install")
        .args(["-m", "755"])
        .arg(&src)
        .arg(p)
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::remove_file(src).unwrap();
}

/// A host under a temporary root: nginx and PHP-FPM 8.2 (scripts that answer `-t`, `-v`,
/// `-m` from files beside them; the FPM notes each run's flag in `/php-ran`), a dpkg
/// database, a fake /proc, an app with a `.env` and a Composer lockfile.
struct Fixture {
    root: tempfile::TempDir,
    proc: FakeProc,
}

impl Fixture {
    fn new() -> Fixture {
        let f = Fixture {
            root: tempfile::tempdir().unwrap(),
            proc: FakeProc::new(),
        };
        let at = |p: &str| f.at(p);
        script(
            &at("/usr/sbin/nginx"),
            &format!(
                "if grep -q sever {} 2>/dev/null; then echo 'nginx: [emerg] unknown directive \"sever\" in /etc/nginx/sites-enabled/shop:3' >&2; echo 'nginx: configuration file /etc/nginx/nginx.conf test failed' >&2; exit 1; fi\necho 'nginx: configuration file /etc/nginx/nginx.conf test is successful' >&2",
                at("/etc/nginx/sites-enabled/shop").display()
            ),
        );
        write(
            &at("/etc/nginx/nginx.conf"),
            "user www-data;\nhttp {\n include /etc/nginx/sites-enabled/*;\n}\n",
        );
        write(
            &at("/etc/nginx/sites-enabled/shop"),
            "server {\n  listen 80;\n  root /srv/shop/public;\n}\n",
        );
        script(
            &at("/usr/sbin/php-fpm8.2"),
            &format!(
                "echo \"$1\" >> {ran}\ncase \"$1\" in -v) cat {v};; -m) cat {m};; -t) echo 'NOTICE: configuration file /etc/php/8.2/fpm/php-fpm.conf test is successful' >&2;; esac",
                ran = at("/php-ran").display(),
                v = at("/php-version").display(),
                m = at("/php-modules").display()
            ),
        );
        write(
            &at("/php-version"),
            "PHP 8.2.7 (fpm-fcgi) (built: Jun  9 2023 19:37:27)\nCopyright (c) The PHP Group\n",
        );
        write(
            &at("/php-modules"),
            "[PHP Modules]\nCore\nmysqli\nZend OPcache\n\n[Zend Modules]\nZend OPcache\n",
        );
        write(
            &at("/etc/php/8.2/fpm/php-fpm.conf"),
            "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
        );
        write(
            &at("/etc/php/8.2/fpm/pool.d/www.conf"),
            "[www]\nlisten = 127.0.0.1:9000\n",
        );
        write(&at("/etc/php/8.2/fpm/php.ini"), "memory_limit = 128M\n");
        f.dpkg(&[
            ("nginx", "1.22.1-9", "installed"),
            ("php8.2-mysql", "8.2.7-1", "installed"),
            ("apache2", "2.4.57-2", "config-files"),
        ]);
        f.proc.append("net/tcp", "   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 500 1");
        f.proc.append("net/tcp", "   1: 0100007F:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 501 1");
        f.proc
            .process(10, "nginx", "0::/system.slice/nginx.service\n", &[500]);
        f.proc.process(
            20,
            "php-fpm8.2",
            "0::/system.slice/php8.2-fpm.service\n",
            &[501],
        );
        write(
            &at("/srv/shop/.env"),
            "APP_KEY=base64:old-secret-value\nDB_PASSWORD=hunter2-old\nMAIL_HOST=mail\n",
        );
        write(
            &at("/srv/shop/public/index.php"),
            "<?php require '../vendor/autoload.php';\n",
        );
        write(&at("/srv/shop/composer.lock"), &composer_lock("3.5.0"));
        f.installed("3.5.0");
        f
    }

    fn at(&self, p: &str) -> std::path::PathBuf {
        self.root.path().join(p.trim_start_matches('/'))
    }

    fn dpkg(&self, packages: &[(&str, &str, &str)]) {
        let status: Vec<String> = packages
            .iter()
            .map(|(n, v, s)| {
                let want = if *s == "installed" { "install" } else { "deinstall" };
                format!("Package: {n}\nStatus: {want} ok {s}\nMaintainer: x <x@example.org>\nArchitecture: amd64\nVersion: {v}\nDescription: x\n")
            })
            .collect();
        write(&self.at("/var/lib/dpkg/status"), &status.join("\n"));
    }

    fn installed(&self, version: &str) {
        write(
            &self.at("/srv/shop/vendor/composer/installed.json"),
            &format!(
                r#"{{"packages": [{{"name": "monolog/monolog", "version": "{version}", "type": "library"}}]}}"#
            ),
        );
        std::fs::create_dir_all(self.at("/srv/shop/vendor/monolog/monolog")).unwrap();
    }

    fn specs(&self) -> Vec<CheckSpec> {
        crate::config::load(&[crate::config::Source {
            name: "t.toml".into(),
            text: format!(
                "[[check]]\nid = \"app-env\"\nkind = \"env\"\nvars = [\"APP_KEY\"]\nfrom_file = {:?}\n\n[[check]]\nid = \"own\"\nkind = \"env\"\nvars = [\"HOME\"]\n",
                self.at("/srv/shop/.env").display().to_string()
            ),
        }])
        .unwrap()
    }

    fn host(&self) -> Host {
        Host {
            sysroot: self.root.path().to_path_buf(),
            proc: self.proc.path().to_path_buf(),
        }
    }

    fn collect(&self) -> (Collected, Vec<(&'static str, Duration)>) {
        let roots = [self.at("/srv/shop/public")];
        collect_timed(&key(), &sources_of(&self.specs()), &roots, &self.host())
    }

    /// Read again as `diff` and the `baseline` kind do: without the configuration.
    fn again(&self, old: &HostState) -> Collected {
        collect_again_under(&key(), old, &[self.at("/srv/shop/public")], &self.host())
    }
}

fn composer_lock(version: &str) -> String {
    format!(
        r#"{{"packages": [{{"name": "monolog/monolog", "version": "{version}", "type": "library"}}]}}"#
    )
}

mod reuse;

#[test]
fn a_fixture_host_recorded_then_broken_in_every_part() {
    let f = Fixture::new();
    let (before, _) = f.collect();
    assert!(before.unread.is_empty(), "{:?}", before.unread);
    let s = &before.state;
    assert_eq!(
        s.env.len(),
        1,
        "sitedoctor's own environment is not the app's"
    );
    assert_eq!(
        s.env[0].vars.keys().collect::<Vec<_>>(),
        ["APP_KEY", "DB_PASSWORD", "MAIL_HOST"]
    );
    let paths: Vec<&str> = s.configs.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/etc/nginx/nginx.conf",
            "/etc/nginx/sites-enabled/shop",
            "/etc/php/8.2/fpm/php-fpm.conf",
            "/etc/php/8.2/fpm/pool.d/www.conf",
            "/etc/php/8.2/fpm/php.ini"
        ]
    );
    let tests: Vec<(&str, bool)> = s
        .config_tests
        .iter()
        .map(|t| (t.command.as_str(), t.passed))
        .collect();
    assert_eq!(tests, [("nginx -t", true), ("php-fpm8.2 -t", true)]);
    assert_eq!(s.php.len(), 1);
    assert_eq!(s.php[0].binary, "/usr/sbin/php-fpm8.2");
    assert_eq!(s.php[0].version, "8.2.7");
    assert_eq!(
        s.php[0].extensions.iter().collect::<Vec<_>>(),
        ["Core", "Zend OPcache", "mysqli"]
    );
    assert_eq!(
        s.packages,
        [
            ("nginx".to_string(), "1.22.1-9".to_string()),
            ("php8.2-mysql".to_string(), "8.2.7-1".to_string())
        ]
        .into(),
        "a package removed with its configuration left (rc) is not installed"
    );
    let listening: Vec<(&str, Option<&str>)> = s
        .listening
        .iter()
        .map(|l| (l.address.as_str(), l.process.as_deref()))
        .collect();
    assert_eq!(
        listening,
        [
            ("0.0.0.0:80", Some("nginx")),
            ("127.0.0.1:9000", Some("php-fpm8.2"))
        ]
    );
    assert_eq!(s.lockfiles.len(), 1);
    assert_eq!(s.lockfiles[0].agrees, Some(true));

    // The deploy that broke it.
    write(
        &f.at("/srv/shop/.env"),
        "APP_KEY=base64:new-secret-value\nMAIL_HOST=mail\n",
    );
    write(
        &f.at("/etc/nginx/sites-enabled/shop"),
        "server {\n  listen 80;\n  sever_name shop;\n}\n",
    );
    write(
        &f.at("/php-version"),
        "PHP 8.2.29 (fpm-fcgi) (built: Jul  3 2025 16:16:05)\n",
    );
    write(
        &f.at("/php-modules"),
        "[PHP Modules]\nCore\nZend OPcache\n\n[Zend Modules]\nZend OPcache\n",
    );
    f.dpkg(&[("nginx", "1.22.1-9+deb12u1", "installed")]);
    f.proc.file("net/tcp", "  sl  local_address\n   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 500 1\n");
    write(&f.at("/srv/shop/composer.lock"), &composer_lock("3.6.0"));

    let (after, _) = f.collect();
    assert!(after.unread.is_empty(), "{:?}", after.unread);
    let shop_lock = crate::sanitize::path(&f.at("/srv/shop/composer.lock"));
    let env_file = crate::sanitize::path(&f.at("/srv/shop/.env"));
    assert_eq!(
        said(&before.state, &after.state),
        [
            row(
                Area::ConfigTest,
                How::Changed,
                "nginx -t",
                "passed at the snapshot, fails now: nginx: [emerg] unknown directive \"sever\" in /etc/nginx/sites-enabled/shop:3"
            ),
            row(
                Area::Env,
                How::Removed,
                "DB_PASSWORD",
                &format!("no longer set in {env_file}")
            ),
            row(
                Area::Env,
                How::Changed,
                "APP_KEY",
                &format!("value changed in {env_file}")
            ),
            row(
                Area::Dependencies,
                How::Changed,
                &shop_lock,
                "composer.lock changed but vendor/ did not follow (run: composer install --no-dev)"
            ),
            row(
                Area::Config,
                How::Changed,
                "/etc/nginx/sites-enabled/shop",
                "nginx configuration changed"
            ),
            row(
                Area::Platform,
                How::Removed,
                "php-fpm8.2: mysqli",
                "the PHP extension mysqli is no longer loaded by php-fpm8.2"
            ),
            row(
                Area::Platform,
                How::Removed,
                "php8.2-mysql",
                "package removed (was 8.2.7-1)"
            ),
            row(
                Area::Platform,
                How::Changed,
                "nginx",
                "1.22.1-9 → 1.22.1-9+deb12u1"
            ),
            row(
                Area::Platform,
                How::Changed,
                "php-fpm8.2",
                "PHP 8.2.7 → 8.2.29"
            ),
            row(
                Area::Listener,
                How::Removed,
                "127.0.0.1:9000",
                "nothing listens here now (php-fpm8.2 did)"
            ),
        ]
    );

    // No value, old or new, is in the record or in anything compare says.
    let everything = format!(
        "{}\n{}\n{:?}\n{:?}\n{:?}",
        serde_json::to_string(&before.state).unwrap(),
        serde_json::to_string(&after.state).unwrap(),
        compare(&before.state, &after.state),
        before.state,
        after.state,
    );
    for secret in ["old-secret-value", "new-secret-value", "hunter2"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }

    // `composer install` ran: the lockfile's change is followed, nothing to say about it.
    f.installed("3.6.0");
    let (installed, _) = f.collect();
    assert!(
        compare(&before.state, &installed.state)
            .iter()
            .all(|c| c.area != Area::Dependencies)
    );
}

#[test]
fn a_dotenv_that_is_gone_takes_its_variables_with_it() {
    let f = Fixture::new();
    let (before, _) = f.collect();
    std::fs::remove_file(f.at("/srv/shop/.env")).unwrap();
    let (after, _) = f.collect();
    assert!(after.unread.is_empty(), "{:?}", after.unread);
    let env_file = crate::sanitize::path(&f.at("/srv/shop/.env"));
    let env: Vec<_> = said(&before.state, &after.state)
        .into_iter()
        .filter(|c| c.0 == Area::Env)
        .collect();
    let gone = |v: &str| {
        row(
            Area::Env,
            How::Removed,
            v,
            &format!("no longer set: {env_file} is gone"),
        )
    };
    assert_eq!(
        env,
        [gone("APP_KEY"), gone("DB_PASSWORD"), gone("MAIL_HOST")]
    );
}

#[test]
fn read_again_from_the_sources_the_snapshot_recorded_without_the_configuration() {
    let f = Fixture::new();
    let (before, _) = f.collect();
    let origin = &before.state.env[0].origin;
    assert_eq!(
        origin.file.as_deref(),
        Some(f.at("/srv/shop/.env").as_os_str().as_encoded_bytes())
    );
    // Nothing changed: read again, the same.
    let same = f.again(&before.state);
    assert!(same.unread.is_empty(), "{:?}", same.unread);
    assert_eq!(same.state, before.state);
    write(
        &f.at("/srv/shop/.env"),
        "APP_KEY=base64:new-secret-value\nMAIL_HOST=mail\n",
    );
    let again = f.again(&before.state);
    let (with_specs, _) = f.collect();
    assert_eq!(
        again.state, with_specs.state,
        "the same as with the configuration"
    );
    let env_file = crate::sanitize::path(&f.at("/srv/shop/.env"));
    let env: Vec<_> = said(&before.state, &again.state)
        .into_iter()
        .filter(|c| c.0 == Area::Env)
        .collect();
    assert_eq!(
        env,
        [
            row(
                Area::Env,
                How::Removed,
                "DB_PASSWORD",
                &format!("no longer set in {env_file}")
            ),
            row(
                Area::Env,
                How::Changed,
                "APP_KEY",
                &format!("value changed in {env_file}")
            ),
        ]
    );
}

#[test]
fn a_source_is_read_again_by_its_exact_bytes_or_a_plain_label() {
    use std::os::unix::ffi::OsStrExt;
    let f = Fixture::new();
    // A dotenv whose name is not UTF-8: its label is escaped, its origin is not.
    let odd = f
        .root
        .path()
        .join(std::ffi::OsStr::from_bytes(b"srv/caf\xe9.env"));
    write(&odd, "TOKEN=abc\n");
    let sources = [crate::checks::env::Source::File(odd.clone())];
    let (before, _) = collect_timed(&key(), &sources, &[], &f.host());
    assert!(before.state.env[0].source.contains("caf\\xe9"));
    write(&odd, "OTHER=1\n");
    let again = f.again(&before.state);
    assert!(again.unread.is_empty(), "{:?}", again.unread);
    let c = said(&before.state, &again.state);
    assert_eq!(c.len(), 2, "{c:?}");
    assert!(c.iter().all(|c| c.0 == Area::Env));

    // An older record, without origins: a plain label is the path; an escaped one cannot be
    // read again, and that is said (not compared), never "every variable removed".
    let legacy = |source: String| EnvSet {
        source,
        vars: [("TOKEN".to_string(), d(1))].into(),
        gone: false,
        origin: Origin::default(),
    };
    let plain = crate::sanitize::path(&f.at("/srv/shop/.env"));
    let old = HostState {
        env: vec![
            legacy(plain.clone()),
            legacy(before.state.env[0].source.clone()),
        ],
        ..HostState::default()
    };
    let again = f.again(&old);
    assert_eq!(
        again.unread,
        [format!(
            "cannot read {} again: the snapshot does not record where it is (take a new snapshot)",
            before.state.env[0].source
        )]
    );
    let added = |v: &str| row(Area::Env, How::Added, v, &format!("newly set in {plain}"));
    let env: Vec<_> = said(&old, &again.state)
        .into_iter()
        .filter(|c| c.0 == Area::Env)
        .collect();
    assert_eq!(
        env,
        [
            added("APP_KEY"),
            added("DB_PASSWORD"),
            added("MAIL_HOST"),
            row(
                Area::Env,
                How::Removed,
                "TOKEN",
                &format!("no longer set in {plain}")
            ),
        ]
    );
    assert_eq!(
        old_process().again(),
        Some(crate::checks::env::Source::Process("gunicorn".into()))
    );
}

fn old_process() -> EnvSet {
    EnvSet {
        source: "process gunicorn".into(),
        ..EnvSet::default()
    }
}

#[test]
fn a_source_unread_at_the_snapshot_is_not_read_again() {
    let f = Fixture::new();
    std::fs::remove_file(f.at("/srv/shop/.env")).unwrap();
    std::fs::create_dir(f.at("/srv/shop/.env")).unwrap();
    let (before, _) = f.collect();
    assert_eq!(before.unread.len(), 1, "{:?}", before.unread);
    assert!(before.state.env.is_empty());
    let again = f.again(&before.state);
    assert!(again.unread.is_empty(), "{:?}", again.unread);
    assert!(compare(&before.state, &again.state).is_empty());
}

fn readcap_cap() -> usize {
    crate::sys::readcap::DEFAULT_CAP as usize
}

#[test]
fn what_cannot_be_read_is_said_and_not_compared() {
    let f = Fixture::new();
    let (before, _) = f.collect();
    // An FPM that cannot answer, a dotenv that is not a file, /proc/net unreadable.
    script(
        &f.at("/usr/sbin/php-fpm8.2"),
        "case \"$1\" in -t) echo 'test is successful' >&2;; *) echo 'PHP Fatal error: cannot load' >&2; exit 255;; esac",
    );
    std::fs::remove_file(f.at("/srv/shop/.env")).unwrap();
    std::fs::create_dir(f.at("/srv/shop/.env")).unwrap();
    std::fs::remove_file(f.proc.path().join("net/tcp")).unwrap();
    std::fs::remove_file(f.proc.path().join("net/tcp6")).unwrap();
    // An included file too large to read.
    let huge = "#".repeat(readcap_cap() + 1);
    write(&f.at("/etc/nginx/sites-enabled/huge"), &huge);
    let (after, _) = f.collect();
    let env_file = crate::sanitize::path(&f.at("/srv/shop/.env"));
    assert_eq!(
        after.unread,
        [
            format!(
                "cannot read {env_file}: not a regular file (it is a directory); refusing to read it"
            ),
            "cannot read /etc/nginx/sites-enabled/huge: larger than 4.0 MiB (refusing to read more)"
                .to_string(),
            "`php-fpm8.2 -v` failed: PHP Fatal error: cannot load".to_string(),
            format!(
                "cannot read {}/net/tcp: the listening ports are not recorded",
                f.proc.path().display()
            ),
        ]
    );
    assert_eq!(
        after.state.unread.iter().collect::<Vec<_>>(),
        [
            "config /etc/nginx/sites-enabled/huge",
            &format!("env {env_file}"),
            "listening",
            "php /usr/sbin/php-fpm8.2",
        ]
    );
    let changes = compare(&before.state, &after.state);
    assert!(
        changes
            .iter()
            .all(|c| !matches!(c.area, Area::Env | Area::Listener)
                && !c.subject.starts_with("php-fpm8.2")
                && !c.subject.ends_with("/huge")),
        "{changes:#?}"
    );
}

/// On this host, with its real nginx, Apache, PHP-FPM and dpkg: every part is read, and the
/// whole takes well under a second.
#[test]
fn this_host_is_recorded_quickly() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let missing: Vec<&str> = [
        "/usr/sbin/nginx",
        "/usr/sbin/php-fpm8.2",
        "/usr/bin/dpkg-query",
    ]
    .into_iter()
    .filter(|p| !Path::new(p).exists())
    .collect();
    if !missing.is_empty() {
        assert!(!ci, "CI must have {missing:?}");
        eprintln!("skipped: {missing:?} not installed here");
        return;
    }
    let host = Host {
        sysroot: "/".into(),
        proc: "/proc".into(),
    };
    let began = Instant::now();
    let (c, took) = collect_timed(&key(), &[], &[], &host);
    let total = began.elapsed();
    eprintln!("collect: {total:?} in all; {took:?}");
    let s = &c.state;
    let nginx = s
        .config_tests
        .iter()
        .find(|t| t.command == "nginx -t")
        .expect("nginx -t ran");
    assert!(!nginx.verdict.is_empty());
    let fpm = s
        .php
        .iter()
        .find(|p| p.binary == "/usr/sbin/php-fpm8.2")
        .expect("php-fpm8.2 answered");
    assert!(fpm.version.starts_with("8.2."), "{fpm:?}");
    assert!(fpm.extensions.contains("Core") && fpm.extensions.contains("date"));
    assert!(s.configs.iter().any(|c| c.path == "/etc/nginx/nginx.conf"));
    assert!(s.packages.contains_key("nginx"), "{:?}", s.packages);
    assert!(s.packages.keys().any(|p| p.starts_with("php8.2")));
    // What diff needs to reuse them rather than run dpkg-query and php-fpm again.
    assert!(s.packages_db.is_some() && fpm.inputs.is_some(), "{fpm:?}");
    // Well under a second on an idle host (the parts run at once); the bound here leaves
    // room for a loaded test machine, while a part that waits on something still fails it.
    assert!(total < Duration::from_secs(4), "{total:?}: {took:?}");
    // Recorded again at once: the same (listeners of other programs may come and go).
    let (again, _) = collect_timed(&key(), &[], &[], &host);
    let changes: Vec<Change> = compare(s, &again.state)
        .into_iter()
        .filter(|c| c.area != Area::Listener)
        .collect();
    assert!(changes.is_empty(), "{changes:#?}");
}

/// The environment of a running process, by name: this test's own binary, which runs for
/// sure (with cargo's `CARGO_PKG_NAME` among its variables).
#[test]
fn a_running_process_environment_is_names_and_hashes() {
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_name().unwrap().to_string_lossy().into_owned();
    let (sets, notes) = env::collect(&key(), &[crate::checks::env::Source::Process(name.clone())]);
    assert!(notes.sentences.is_empty(), "{:?}", notes.sentences);
    assert_eq!(sets.len(), 1);
    assert_eq!(sets[0].source, format!("process {name}"));
    assert!(
        sets[0].vars.contains_key("CARGO_PKG_NAME"),
        "{:?}",
        sets[0].vars.keys()
    );
    let shown = format!("{sets:?}{}", serde_json::to_string(&sets).unwrap());
    assert!(!shown.contains("sitedoctor\""), "no value is kept: {shown}");
    let (_, notes) = env::collect(
        &key(),
        &[crate::checks::env::Source::Process(
            "no-such-program-here".into(),
        )],
    );
    assert_eq!(
        notes.sentences,
        ["no process named \"no-such-program-here\" is running, so its environment cannot be read"]
    );
}
