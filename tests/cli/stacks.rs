//! Each stack's real error output in a log — gunicorn, Node under pm2, Rails, Spring Boot, Go,
//! ASP.NET — read by the `log` check: fatal, each error once with its count, the finding on
//! the app's own file and line (not the framework's), and the fix that fits.

use chrono::{Duration, Local, Utc};

use crate::testenv::{TestEnv, json};

/// A fixture from `fixtures/stacks` with its two times (`{T1}` 5 minutes ago, `{T2}` 2
/// minutes ago, in `fmt`) and the app's directory (`{APP}`) filled in, run through a `log`
/// check: the check's JSON.
fn scan(env: &TestEnv, fixture: &str, fmt: &str, utc: bool) -> serde_json::Value {
    let at = |mins| {
        if utc {
            (Utc::now() - Duration::minutes(mins))
                .format(fmt)
                .to_string()
        } else {
            (Local::now() - Duration::minutes(mins))
                .format(fmt)
                .to_string()
        }
    };
    let app = env.path().join("shop");
    let text = fixture
        .replace("{T1}", &at(5))
        .replace("{T2}", &at(2))
        .replace("{APP}", &app.display().to_string());
    let log = env.file("shop/log/error.log", &text);
    let cfg = env.file(
        "c.toml",
        &format!(
            "[[check]]\nid = \"app-errors\"\nkind = \"log\"\npaths = [\"{}\"]\n",
            log.display()
        ),
    );
    let out = env.run(&["--format", "json", "--config", &cfg.display().to_string()]);
    out.expect_code(2);
    json(&out)["checks"][0].clone()
}

fn app(env: &TestEnv, rel: &str) -> String {
    env.path().join("shop").join(rel).display().to_string()
}

/// The first finding's subject is `path` at `line`, and its fix is `fix`.
fn points_at(c: &serde_json::Value, path: &str, line: u64, fix: &str) {
    let f = &c["findings"][0];
    assert_eq!(f["subject"]["path"], path, "{c:#}");
    assert_eq!(f["subject"]["line"], line, "{c:#}");
    assert_eq!(f["fix"]["text"], fix, "{c:#}");
    assert_eq!(f["status"], "fail", "{c:#}");
}

fn fatal_count(c: &serde_json::Value) -> f64 {
    c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "fatal_errors")
        .unwrap()["value"]
        .as_f64()
        .unwrap()
}

fn open_at(path: &str, line: u32) -> String {
    format!("open {path} at line {line}: that is where the newest fatal error points")
}

#[test]
fn a_flask_route_calling_a_missing_function_under_gunicorn() {
    let env = TestEnv::new();
    let c = scan(
        &env,
        include_str!("fixtures/stacks/gunicorn.log"),
        "%Y-%m-%d %H:%M:%S %z",
        false,
    );
    let cart = app(&env, "cart.py");
    points_at(&c, &cart, 7, &open_at(&cart, 7));
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 fatal error(s), 1 distinct"),
        "{c:#}"
    );
    assert!(
        c["findings"][0]["text"]
            .as_str()
            .unwrap()
            .ends_with("NameError: name 'price_of' is not defined"),
        "{c:#}"
    );
}

#[test]
fn a_python_module_the_deploy_did_not_install() {
    let env = TestEnv::new();
    env.file(
        "shop/requirements.txt",
        "flask==3.0.3\nflask-login==0.6.3\n",
    );
    env.file("shop/venv/pyvenv.cfg", "home = /usr/bin\n");
    let c = scan(
        &env,
        include_str!("fixtures/stacks/gunicorn-missing.log"),
        "%Y-%m-%d %H:%M:%S %z",
        false,
    );
    points_at(
        &c,
        &app(&env, "app.py"),
        3,
        &format!(
            "the deploy did not install the app's dependencies (no module named flask_login): {} install -r {}, then restart the app server",
            app(&env, "venv/bin/pip"),
            app(&env, "requirements.txt")
        ),
    );
    assert_eq!(c["findings"][0]["cause"], "deploy", "{c:#}");
}

#[test]
fn a_node_error_thrown_inside_a_package_points_at_the_apps_caller() {
    let env = TestEnv::new();
    let c = scan(
        &env,
        include_str!("fixtures/stacks/node-pm2.log"),
        "%Y-%m-%dT%H:%M:%S",
        false,
    );
    let cart = app(&env, "lib/cart.js");
    points_at(&c, &cart, 8, &open_at(&cart, 8));
    assert_eq!(fatal_count(&c), 2.0, "{c:#}");
}

#[test]
fn a_node_app_whose_deploy_did_not_install_its_dependencies() {
    let env = TestEnv::new();
    env.file(
        "shop/package.json",
        r#"{"name":"shop","dependencies":{"express":"^4.21.1"}}"#,
    );
    env.file("shop/package-lock.json", "{}");
    let c = scan(
        &env,
        include_str!("fixtures/stacks/node-missing.log"),
        "%Y-%m-%dT%H:%M:%S",
        false,
    );
    let dir = app(&env, "");
    let dir = dir.trim_end_matches('/');
    points_at(
        &c,
        &app(&env, "server.js"),
        1,
        &format!(
            "the deploy did not install the app's dependencies (express is not in {dir}/node_modules): cd {dir} && npm ci, then restart the app"
        ),
    );
}

#[test]
fn rails_points_at_the_app_and_a_routing_error_is_no_fatal() {
    let env = TestEnv::new();
    let c = scan(
        &env,
        include_str!("fixtures/stacks/rails.log"),
        "%Y-%m-%dT%H:%M:%S%.6f",
        false,
    );
    points_at(
        &c,
        "app/models/order.rb",
        22,
        &open_at("app/models/order.rb", 22),
    );
    // Two 500s; the bot's `/wp-login.php` (a 404 Rails logs as FATAL) is not counted.
    assert_eq!(fatal_count(&c), 2.0, "{c:#}");
    // Two different bugs, each told by the line that names its exception (not Rails' empty
    // `FATAL -- : [request id]` first line, which would make them one).
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 fatal error(s), 2 distinct"),
        "{c:#}"
    );
    assert_eq!(c["findings"].as_array().unwrap().len(), 2, "{c:#}");
}

#[test]
fn spring_boot_points_at_the_apps_class_not_the_frameworks() {
    let env = TestEnv::new();
    let c = scan(
        &env,
        include_str!("fixtures/stacks/spring.log"),
        "%Y-%m-%dT%H:%M:%S%.3fZ",
        true,
    );
    let file = "com/shop/payment/Gateway.java";
    points_at(&c, file, 88, &open_at(file, 88));
}

#[test]
fn a_go_panic_points_at_the_apps_frame_not_the_runtimes() {
    let env = TestEnv::new();
    let c = scan(
        &env,
        include_str!("fixtures/stacks/go.log"),
        "%Y/%m/%d %H:%M:%S",
        false,
    );
    let store = app(&env, "store.go");
    points_at(&c, &store, 17, &open_at(&store, 17));
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 fatal error(s), 1 distinct"),
        "{c:#}"
    );
}

#[test]
fn an_aspnet_exception_points_at_the_apps_frame() {
    let env = TestEnv::new();
    let c = scan(
        &env,
        include_str!("fixtures/stacks/dotnet.log"),
        "%Y-%m-%d %H:%M:%S",
        false,
    );
    let file = app(&env, "Checkout.cs");
    points_at(&c, &file, 42, &open_at(&file, 42));
    assert!(
        c["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 fatal error(s), 1 distinct"),
        "{c:#}"
    );
}
