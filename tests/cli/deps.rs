//! `deps_installed` end to end: app directories of each ecosystem written by hand (a
//! `node_modules`, a Composer `vendor/`, a virtualenv's dist-info, a Bundler bundle), healthy
//! and with the faults a deploy leaves — a package not installed, one at another version.

use std::path::Path;

use crate::testenv::{TestEnv, json};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn check(paths: &[&Path], extra: &str) -> String {
    let list: Vec<String> = paths
        .iter()
        .map(|p| format!("\"{}\"", p.display()))
        .collect();
    format!(
        "[[check]]\nid = \"deps\"\nkind = \"deps_installed\"\npaths = [{}]\n{extra}\n",
        list.join(", ")
    )
}

/// The one check's result of a JSON run, and the exit code.
fn run(env: &TestEnv, cfg: &str) -> (i32, serde_json::Value) {
    env.file("sitedoctor.toml", cfg);
    let out = env.run(&["--format", "json"]);
    let v = json(&out);
    (out.code, v["checks"][0].clone())
}

/// `(status, text)` of every finding.
fn findings(c: &serde_json::Value) -> Vec<(String, String)> {
    c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["status"].as_str().unwrap().to_string(),
                f["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const PACKAGE_LOCK: &str = r#"{
  "name": "shop",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "shop", "version": "1.0.0", "dependencies": {"express": "^4.18.2", "lodash": "^4.17.21"}, "devDependencies": {"jest": "^29.7.0"}},
    "node_modules/express": {"version": "4.18.2", "resolved": "https://registry.npmjs.org/express/-/express-4.18.2.tgz", "integrity": "sha512-a"},
    "node_modules/lodash": {"version": "4.17.21", "resolved": "https://registry.npmjs.org/lodash/-/lodash-4.17.21.tgz", "integrity": "sha512-b"},
    "node_modules/jest": {"version": "29.7.0", "dev": true}
  }
}"#;

fn node_module(app: &Path, name: &str, version: &str) {
    write(
        app,
        &format!("node_modules/{name}/package.json"),
        &format!(r#"{{"name": "{name}", "version": "{version}", "main": "index.js"}}"#),
    );
}

fn node_app(env: &TestEnv) -> std::path::PathBuf {
    let app = env.path().join("www/shop");
    write(
        &app,
        "package.json",
        r#"{"name": "shop", "dependencies": {"express": "^4.18.2", "lodash": "^4.17.21"}}"#,
    );
    write(&app, "package-lock.json", PACKAGE_LOCK);
    node_module(&app, "express", "4.18.2");
    node_module(&app, "lodash", "4.17.21");
    app
}

#[test]
fn a_healthy_node_app_in_a_web_root_passes() {
    let env = TestEnv::new();
    node_app(&env);
    write(env.path(), "www/html/index.html", "<h1>hi</h1>");
    let root = env.path().join("www");
    let (code, c) = run(&env, &check(&[&root], ""));
    assert_eq!(code, 0, "{c:#}");
    assert_eq!(c["status"], "pass");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .ends_with("/www/shop (npm package-lock.json, 2 packages)"),
        "{c:#}"
    );
}

#[test]
fn a_module_the_deploy_did_not_install_fails_with_npm_ci() {
    let env = TestEnv::new();
    let app = node_app(&env);
    std::fs::remove_dir_all(app.join("node_modules/lodash")).unwrap();
    let (code, c) = run(&env, &check(&[&app], ""));
    assert_eq!(code, 2, "{c:#}");
    assert_eq!(c["status"], "fail");
    assert_eq!(
        c["summary"],
        format!(
            "{}: node_modules lacks 1 of 2 locked packages (lodash): npm ci",
            app.display()
        )
    );
    assert_eq!(c["fix"]["text"], format!("cd {} && npm ci", app.display()));
    assert_eq!(
        findings(&c),
        [(
            "fail".to_string(),
            "lodash 4.17.21 is locked in package-lock.json but not installed in node_modules"
                .to_string()
        )]
    );
    let f = &c["findings"][0];
    assert_eq!(f["cause"], "deploy");
    assert_eq!(
        f["subject"]["path"],
        app.join("package-lock.json").display().to_string()
    );
}

#[test]
fn a_lock_bumped_but_not_installed_warns() {
    let env = TestEnv::new();
    let app = node_app(&env);
    write(
        &app,
        "package-lock.json",
        &PACKAGE_LOCK.replace("4.18.2", "4.19.2"),
    );
    let (code, c) = run(&env, &check(&[&app], ""));
    assert_eq!(code, 1, "{c:#}");
    assert_eq!(
        findings(&c),
        [(
            "warn".to_string(),
            "express is locked at 4.19.2 in package-lock.json but node_modules has 4.18.2"
                .to_string()
        )]
    );
}

const COMPOSER_LOCK: &str = r#"{
    "_readme": ["This file locks the dependencies of your project to a known state"],
    "content-hash": "0123",
    "packages": [
        {"name": "monolog/monolog", "version": "3.5.0", "type": "library"},
        {"name": "psr/log", "version": "3.0.0", "type": "library"}
    ],
    "packages-dev": [{"name": "phpunit/phpunit", "version": "10.5.0", "type": "library"}],
    "aliases": [],
    "plugin-api-version": "2.6.0"
}"#;

fn php_app(env: &TestEnv, installed_json: &str) -> std::path::PathBuf {
    let app = env.path().join("laravel");
    write(
        &app,
        "composer.json",
        r#"{"require": {"monolog/monolog": "^3.0"}}"#,
    );
    write(&app, "composer.lock", COMPOSER_LOCK);
    write(&app, "vendor/composer/installed.json", installed_json);
    std::fs::create_dir_all(app.join("vendor/monolog/monolog/src")).unwrap();
    std::fs::create_dir_all(app.join("vendor/psr/log/src")).unwrap();
    app
}

#[test]
fn composer_1_and_2_installed_json() {
    let list = r#"[{"name": "monolog/monolog", "version": "3.5.0"}, {"name": "psr/log", "version": "3.0.0"}]"#;
    for installed in [
        list.to_string(),
        format!(r#"{{"packages": {list}, "dev": false, "dev-package-names": []}}"#),
    ] {
        let env = TestEnv::new();
        let app = php_app(&env, &installed);
        let (code, c) = run(&env, &check(&[&app], ""));
        assert_eq!((code, c["status"].as_str()), (0, Some("pass")), "{c:#}");
    }
    let env = TestEnv::new();
    let app = php_app(
        &env,
        &list
            .replace("3.5.0", "3.4.0")
            .replace(r#", {"name": "psr/log", "version": "3.0.0"}"#, ""),
    );
    let (code, c) = run(&env, &check(&[&app], ""));
    assert_eq!(code, 2, "{c:#}");
    assert_eq!(
        findings(&c),
        [
            (
                "warn".to_string(),
                "monolog/monolog is locked at 3.5.0 in composer.lock but vendor/ has 3.4.0"
                    .to_string()
            ),
            (
                "fail".to_string(),
                "psr/log 3.0.0 is locked in composer.lock but not installed in vendor/".to_string()
            )
        ]
    );
    assert_eq!(
        c["fix"]["text"],
        format!("cd {} && composer install --no-dev", app.display())
    );
}

/// A virtualenv made by hand: `pyvenv.cfg`, `bin/`, and a dist-info with METADATA each.
fn venv(dir: &Path, packages: &[(&str, &str)]) {
    write(
        dir,
        "pyvenv.cfg",
        "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n",
    );
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    for (name, version) in packages {
        write(
            dir,
            &format!(
                "lib/python3.11/site-packages/{}-{version}.dist-info/METADATA",
                name.replace('-', "_")
            ),
            &format!(
                "Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test\n\nlong description\n"
            ),
        );
    }
}

#[test]
fn a_virtualenv_given_or_beside_the_app_is_compared_by_its_metadata() {
    let env = TestEnv::new();
    let app = env.path().join("flask");
    write(
        &app,
        "requirements.txt",
        "Flask==3.0.0\nFlask_Login==0.6.3\ngunicorn==21.2.0\n",
    );
    write(&app, "requirements-dev.txt", "pytest==7.4.0\n");
    let elsewhere = env.path().join("envs/flask");
    venv(&elsewhere, &[("Flask", "3.0.0"), ("Flask-Login", "0.6.3")]);
    let cfg = check(&[&app], &format!("venv = \"{}\"", elsewhere.display()));
    let (code, c) = run(&env, &cfg);
    assert_eq!(code, 2, "{c:#}");
    assert_eq!(
        c["summary"],
        format!(
            "{}: the virtualenv {} lacks 1 of 3 locked packages (gunicorn): {}/bin/pip install -r requirements.txt",
            app.display(),
            elsewhere.display(),
            elsewhere.display()
        )
    );

    let env = TestEnv::new();
    let app = env.path().join("flask");
    write(
        &app,
        "requirements.txt",
        "Flask==3.0.0\nFlask_Login==0.6.3\n",
    );
    venv(
        &app.join("venv"),
        &[("Flask", "3.0.0"), ("Flask-Login", "0.6.3")],
    );
    let (code, c) = run(&env, &check(&[&app], ""));
    assert_eq!((code, c["status"].as_str()), (0, Some("pass")), "{c:#}");
}

#[test]
fn python_without_a_virtualenv_is_not_judged() {
    let env = TestEnv::new();
    let app = env.path().join("flask");
    write(&app, "requirements.txt", "Flask==3.0.0\n");
    let (code, c) = run(&env, &check(&[&app], ""));
    assert_eq!((code, c["status"].as_str()), (0, Some("skip")), "{c:#}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .contains("no virtualenv found"),
        "{c:#}"
    );
}

const GEMFILE_LOCK: &str = "GEM
  remote: https://rubygems.org/
  specs:
    rack (3.0.8)
    rack-test (2.1.0)
      rack (>= 1.3)
    sinatra (3.1.0)
      rack (~> 2.2, >= 2.2.4)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  rack-test
  sinatra

BUNDLED WITH
   2.4.19
";

#[test]
fn gemfile_lock_against_vendor_bundle() {
    let env = TestEnv::new();
    let app = env.path().join("rails");
    write(&app, "Gemfile.lock", GEMFILE_LOCK);
    write(&app, ".bundle/config", "---\nBUNDLE_DEPLOYMENT: \"true\"\n");
    for g in ["rack-3.0.8", "rack-test-2.1.0", "sinatra-3.1.0"] {
        std::fs::create_dir_all(
            app.join("vendor/bundle/ruby/3.1.0/gems")
                .join(g)
                .join("lib"),
        )
        .unwrap();
    }
    let ok = check(&[&app], "");
    let (code, c) = run(&env, &ok);
    assert_eq!((code, c["status"].as_str()), (0, Some("pass")), "{c:#}");
    std::fs::remove_dir_all(app.join("vendor/bundle/ruby/3.1.0/gems/sinatra-3.1.0")).unwrap();
    let (code, c) = run(&env, &ok);
    assert_eq!(code, 2, "{c:#}");
    assert_eq!(
        c["summary"],
        format!(
            "{0}: the bundle {0}/vendor/bundle lacks 1 of 3 locked packages (sinatra): bundle install",
            app.display()
        )
    );
}

#[test]
fn no_app_skips_and_a_missing_path_is_an_error_unless_missing_ok() {
    let env = TestEnv::new();
    write(env.path(), "www/html/index.html", "hi");
    let www = env.path().join("www");
    let gone = env.path().join("srv-www");
    let (code, c) = run(&env, &check(&[&www, &gone], "missing_ok = true"));
    assert_eq!((code, c["status"].as_str()), (0, Some("skip")), "{c:#}");
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("no app with dependencies in ")
    );
    let (code, c) = run(&TestEnv::new(), &check(&[&gone], ""));
    assert_eq!((code, c["status"].as_str()), (3, Some("error")), "{c:#}");
    assert!(
        c["summary"].as_str().unwrap().contains("does not exist"),
        "{c:#}"
    );
}
