//! The fix for a dependency the app could not load: the install command its stack uses, run
//! in the app's own directory (found upwards from the file that asked for it, else from the
//! log), in its virtualenv for Python. Reads files only; runs no package manager.

use std::path::{Path, PathBuf};

use crate::logscan::classify::Stack;
use crate::sanitize;
use crate::shell::{shell_quote, shell_quote_path};

/// How many directories up an app's manifest is looked for.
const UP: usize = 16;

/// The fix for `module` missing, asked for by `from`, logged in `log`.
pub fn missing_module_fix(
    stack: Stack,
    module: &str,
    from: Option<&str>,
    env: Option<&str>,
    log: &str,
) -> String {
    let starts: Vec<&Path> = [from, Some(log)]
        .into_iter()
        .flatten()
        .map(Path::new)
        .filter(|p| p.is_absolute())
        .collect();
    let dir_with = |names: &[&str]| starts.iter().find_map(|s| app_dir(s, names));
    match stack {
        Stack::Node => node_fix(module, from, dir_with(&["package.json"])),
        Stack::Python => python_fix(
            module,
            dir_with(&["requirements.txt", "pyproject.toml"]),
            env,
        ),
        Stack::Ruby => match dir_with(&["Gemfile"]) {
            Some(d) => format!(
                "the deploy did not install the app's gems ({} cannot be loaded): cd {} && bundle install, then restart the app server",
                word(module),
                shell_quote_path(&d)
            ),
            None => format!(
                "the deploy did not install the app's gems ({} cannot be loaded): run bundle install in the app's directory (where its Gemfile is), then restart the app server",
                word(module)
            ),
        },
        Stack::Php => php_fix(module, dir_with(&["composer.json"])),
    }
}

/// The nearest directory above `file` that holds one of `names`.
fn app_dir(file: &Path, names: &[&str]) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .take(UP)
        .find(|d| names.iter().any(|n| d.join(n).is_file()))
        .map(Path::to_path_buf)
}

/// A name from a log, fit to show: quoted when it holds anything but a package name's
/// characters.
fn word(s: &str) -> String {
    shell_quote(&sanitize::terminal(s))
}

fn node_fix(module: &str, from: Option<&str>, dir: Option<PathBuf>) -> String {
    if module.starts_with('.') || module.starts_with('/') {
        let by = from.map_or(String::new(), |f| {
            format!(" (required by {})", sanitize::terminal(f))
        });
        return format!(
            "{}{by} is not among the deployed files: the deploy left it out or it was renamed; deploy the whole app again",
            word(module)
        );
    }
    let name = word(package_name(module));
    let Some(dir) = dir else {
        return format!(
            "the deploy did not install the app's dependencies ({name} is missing): run npm ci in the app's directory (where its package.json is), then restart the app"
        );
    };
    let (q, shown) = (shell_quote_path(&dir), sanitize::path(&dir));
    match declared(&dir.join("package.json"), package_name(module)) {
        Some(Declared::Dev) => format!(
            "{name} is only in devDependencies of {shown}/package.json, which a production install leaves out: move it to dependencies, then cd {q} && npm ci --omit=dev"
        ),
        Some(Declared::No) => format!(
            "{name} is not declared in {shown}/package.json: cd {q} && npm install {name} (it adds it to package.json and the lockfile), commit both, and deploy again"
        ),
        _ => format!(
            "the deploy did not install the app's dependencies ({name} is not in {shown}/node_modules): cd {q} && {}, then restart the app",
            node_install(&dir)
        ),
    }
}

/// `@scope/pkg/sub` → `@scope/pkg`; `pkg/sub` → `pkg`.
fn package_name(module: &str) -> &str {
    let n = if module.starts_with('@') { 2 } else { 1 };
    match module.match_indices('/').nth(n - 1) {
        Some((i, _)) => module.get(..i).unwrap_or(module),
        None => module,
    }
}

/// The install that follows the app's lockfile.
fn node_install(dir: &Path) -> &'static str {
    if dir.join("package-lock.json").is_file() || dir.join("npm-shrinkwrap.json").is_file() {
        "npm ci"
    } else if dir.join("yarn.lock").is_file() {
        "yarn install --frozen-lockfile"
    } else if dir.join("pnpm-lock.yaml").is_file() {
        "pnpm install --frozen-lockfile"
    } else {
        "npm install"
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Declared {
    Yes,
    Dev,
    No,
}

/// Whether `package.json` declares `name`, read capped; `None` when it cannot be read.
fn declared(manifest: &Path, name: &str) -> Option<Declared> {
    let text = crate::sys::readcap::read_text_capped(manifest, 1 << 20).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let has = |field: &str| json.get(field).and_then(|d| d.get(name)).is_some();
    Some(
        if has("dependencies") || has("optionalDependencies") || has("peerDependencies") {
            Declared::Yes
        } else if has("devDependencies") {
            Declared::Dev
        } else {
            Declared::No
        },
    )
}

fn python_fix(module: &str, dir: Option<PathBuf>, env: Option<&str>) -> String {
    let top = word(module.split('.').next().unwrap_or(module));
    let venv = env
        .map(PathBuf::from)
        .filter(|v| v.join("bin/pip").exists() || v.join("pyvenv.cfg").is_file())
        .or_else(|| {
            let d = dir.as_deref()?;
            ["venv", ".venv", "env"]
                .iter()
                .map(|n| d.join(n))
                .find(|v| v.join("pyvenv.cfg").is_file())
        });
    let (pip, where_) = match &venv {
        Some(v) => (shell_quote_path(&v.join("bin/pip")), String::new()),
        None => (
            "pip".to_string(),
            " in the virtualenv the app server runs".to_string(),
        ),
    };
    match dir {
        Some(d) if d.join("requirements.txt").is_file() => format!(
            "the deploy did not install the app's dependencies (no module named {top}): {pip} install -r {}{where_}, then restart the app server",
            shell_quote_path(&d.join("requirements.txt"))
        ),
        Some(d) => format!(
            "the deploy did not install the app's dependencies (no module named {top}): cd {} && {pip} install .{where_}, then restart the app server",
            shell_quote_path(&d)
        ),
        None => format!(
            "no module named {top}: {pip} install -r requirements.txt{where_} (add {top} to it if it is not there), then restart the app server"
        ),
    }
}

fn php_fix(module: &str, dir: Option<PathBuf>) -> String {
    if let Some(vendor) = module.strip_suffix("/vendor/autoload.php") {
        return format!(
            "{} is missing: the deploy did not install the app's Composer dependencies: cd {} && composer install --no-dev --optimize-autoloader",
            sanitize::terminal(module),
            shell_quote(&sanitize::terminal(if vendor.is_empty() {
                "/"
            } else {
                vendor
            }))
        );
    }
    let class = sanitize::terminal(module);
    let Some(dir) = dir else {
        return format!(
            "class {class} was not found: if a Composer package provides it, run composer install --no-dev in the app's directory; if it is the app's own, check its namespace and file name"
        );
    };
    let q = shell_quote_path(&dir);
    if !dir.join("vendor/autoload.php").is_file() {
        return format!(
            "the deploy did not install the app's Composer dependencies ({}/vendor is missing): cd {q} && composer install --no-dev --optimize-autoloader",
            sanitize::path(&dir)
        );
    }
    // A namespace the lock file names is a package's: vendor/ is behind the lock.
    let top = module.split('\\').find(|s| !s.is_empty()).unwrap_or(module);
    let lock = crate::sys::readcap::read_text_capped(&dir.join("composer.lock"), 16 << 20)
        .unwrap_or_default();
    if !top.is_empty() && lock.contains(&format!("\"{top}\\\\")) {
        format!(
            "class {class} belongs to a package in composer.lock that vendor/ does not hold: the deploy did not install it: cd {q} && composer install --no-dev --optimize-autoloader"
        )
    } else {
        format!(
            "class {class} is in none of the locked packages: if it is the app's own, check that its namespace and file name match composer.json's autoload, then cd {q} && composer dump-autoload -o; if it is a package's, composer require it"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let p = t.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        t
    }

    #[test]
    fn node_installs_in_the_directory_of_the_requiring_files_package_json() {
        let t = tree(&[
            (
                "shop/package.json",
                r#"{"dependencies":{"express":"^4.19.2"},"devDependencies":{"nodemon":"3"}}"#,
            ),
            ("shop/package-lock.json", "{}"),
            ("shop/src/server.js", ""),
        ]);
        let app = t.path().join("shop");
        let from = app.join("src/server.js");
        let from = from.to_str();
        let fix = |m| missing_module_fix(Stack::Node, m, from, None, "/var/log/x.log");
        assert_eq!(
            fix("express"),
            format!(
                "the deploy did not install the app's dependencies (express is not in {}/node_modules): cd {} && npm ci, then restart the app",
                app.display(),
                app.display()
            )
        );
        assert!(
            fix("nodemon").starts_with("nodemon is only in devDependencies"),
            "{}",
            fix("nodemon")
        );
        assert!(
            fix("left-pad/x").contains("npm install left-pad (it adds it"),
            "{}",
            fix("left-pad/x")
        );
        assert!(
            fix("./routes/pay").starts_with("./routes/pay (required by "),
            "{}",
            fix("./routes/pay")
        );
        let none = missing_module_fix(
            Stack::Node,
            "express",
            Some("/nonexistent/x.js"),
            None,
            "/nonexistent/l.log",
        );
        assert!(none.contains("run npm ci in the app's directory"), "{none}");
    }

    #[test]
    fn python_installs_the_requirements_in_the_apps_virtualenv() {
        let t = tree(&[
            ("shop/requirements.txt", "flask\nflask-login\n"),
            ("shop/venv/pyvenv.cfg", "home = /usr/bin\n"),
            ("shop/app.py", ""),
        ]);
        let app = t.path().join("shop");
        let from = app.join("app.py");
        let want = format!(
            "the deploy did not install the app's dependencies (no module named flask_login): {}/venv/bin/pip install -r {}/requirements.txt, then restart the app server",
            app.display(),
            app.display()
        );
        // The virtualenv the traceback ran in, or the one beside the app.
        let venv = app.join("venv");
        assert_eq!(
            missing_module_fix(
                Stack::Python,
                "flask_login",
                from.to_str(),
                venv.to_str(),
                "/x.log"
            ),
            want
        );
        assert_eq!(
            missing_module_fix(
                Stack::Python,
                "flask_login.utils",
                from.to_str(),
                None,
                "/x.log"
            ),
            want
        );
        let bare = missing_module_fix(
            Stack::Python,
            "yaml",
            Some("/nonexistent/a.py"),
            None,
            "/x.log",
        );
        assert!(
            bare.contains("pip install -r requirements.txt in the virtualenv the app server runs"),
            "{bare}"
        );
    }

    #[test]
    fn ruby_and_php_install_where_their_manifests_are() {
        let t = tree(&[
            ("blog/Gemfile", "source 'https://rubygems.org'\n"),
            ("blog/log/production.log", ""),
            ("shop/composer.json", "{}"),
            (
                "shop/composer.lock",
                r#"{"packages":[{"name":"monolog/monolog","autoload":{"psr-4":{"Monolog\\":"src/Monolog"}}}]}"#,
            ),
            ("shop/vendor/autoload.php", ""),
            ("shop/src/Log.php", ""),
        ]);
        let blog = t.path().join("blog");
        // Rails names app-relative files: the log's own place finds the app.
        let log = blog.join("log/production.log");
        assert_eq!(
            missing_module_fix(
                Stack::Ruby,
                "bootsnap/setup",
                Some("config/boot.rb"),
                None,
                log.to_str().unwrap()
            ),
            format!(
                "the deploy did not install the app's gems (bootsnap/setup cannot be loaded): cd {} && bundle install, then restart the app server",
                blog.display()
            )
        );
        let shop = t.path().join("shop");
        let from = shop.join("src/Log.php");
        let fix = |m| missing_module_fix(Stack::Php, m, from.to_str(), None, "/x.log");
        assert!(
            fix("Monolog\\Logger")
                .contains("belongs to a package in composer.lock that vendor/ does not hold"),
            "{}",
            fix("Monolog\\Logger")
        );
        assert!(
            fix("App\\Cart").contains("composer dump-autoload -o"),
            "{}",
            fix("App\\Cart")
        );
        std::fs::remove_file(shop.join("vendor/autoload.php")).unwrap();
        assert!(fix("Monolog\\Logger").ends_with(&format!(
            "cd {} && composer install --no-dev --optimize-autoloader",
            shop.display()
        )));
        assert_eq!(
            fix("/var/www/shop/vendor/autoload.php"),
            "/var/www/shop/vendor/autoload.php is missing: the deploy did not install the app's Composer dependencies: cd /var/www/shop && composer install --no-dev --optimize-autoloader"
        );
    }

    #[test]
    fn package_names() {
        assert_eq!(package_name("express"), "express");
        assert_eq!(package_name("lodash/fp"), "lodash");
        assert_eq!(
            package_name("@aws-sdk/client-s3/dist"),
            "@aws-sdk/client-s3"
        );
        assert_eq!(package_name("@x"), "@x");
    }
}
