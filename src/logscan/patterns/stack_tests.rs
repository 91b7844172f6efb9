//! Each stack's real log output (the fixtures the integration tests also read): fatal, shown
//! once for its repeats, pointing at the app's innermost frame.

use super::*;
use crate::logscan::timestamp;

/// A fixture's entries as the log check cuts them: a dated line and the undated lines after
/// it, the two times `{T1}` and `{T2}` written as `stamp`, the app at `/srv/shop`.
fn entries(fixture: &str, stamp: &str) -> Vec<(String, Vec<String>)> {
    let text = fixture
        .replace("{T1}", stamp)
        .replace("{T2}", stamp)
        .replace("{APP}", "/srv/shop");
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for l in text.lines() {
        match (timestamp::parse(l, 1_800_000_000), out.last_mut()) {
            (None, Some((_, rest))) if !l.trim().is_empty() => rest.push(l.to_string()),
            (None, _) => {}
            (Some(_), _) => out.push((l.to_string(), Vec::new())),
        }
    }
    out
}

/// The fatal entries of a fixture: (group key, location), newest last.
fn fatal(fixture: &str, stamp: &str) -> Vec<(String, Option<(String, u32)>)> {
    let p = Patterns::new(None, &[]).unwrap();
    entries(fixture, stamp)
        .into_iter()
        .filter(|(head, rest)| p.classify(head, rest) == Some(Severity::Fatal))
        .map(|(head, rest)| {
            let all: Vec<&str> = std::iter::once(head.as_str())
                .chain(rest.iter().map(String::as_str))
                .collect();
            let msg = message(&head, &rest);
            (normalise(strip_timestamp(&msg)), location(&all))
        })
        .collect()
}

fn at(file: &str, line: u32) -> Option<(String, u32)> {
    Some((file.to_string(), line))
}

/// Every fatal entry points at `want`, and they are all one group.
fn one_group(found: &[(String, Option<(String, u32)>)], n: usize, want: Option<(String, u32)>) {
    assert_eq!(found.len(), n, "{found:?}");
    for (key, loc) in found {
        assert_eq!(loc, &want, "{key}");
        assert_eq!(key, &found[0].0);
    }
}

#[test]
fn python_under_gunicorn() {
    let f = fatal(
        include_str!("../../../tests/cli/fixtures/stacks/gunicorn.log"),
        "2026-11-30 01:02:03 +0000",
    );
    one_group(&f, 2, at("/srv/shop/cart.py", 7));
    assert!(
        f[0].0
            .ends_with("… NameError: name 'price_of' is not defined"),
        "{}",
        f[0].0
    );
    let m = fatal(
        include_str!("../../../tests/cli/fixtures/stacks/gunicorn-missing.log"),
        "2026-11-30 01:02:03 +0000",
    );
    one_group(&m, 1, at("/srv/shop/app.py", 3));
}

#[test]
fn node_under_pm2() {
    let f = fatal(
        include_str!("../../../tests/cli/fixtures/stacks/node-pm2.log"),
        "2026-11-30T01:02:03",
    );
    one_group(&f, 2, at("/srv/shop/lib/cart.js", 8));
    let m = fatal(
        include_str!("../../../tests/cli/fixtures/stacks/node-missing.log"),
        "2026-11-30T01:02:03",
    );
    one_group(&m, 1, at("/srv/shop/server.js", 1));
    assert!(
        m[0].0.ends_with("… Error: Cannot find module 'express'"),
        "{}",
        m[0].0
    );
}

#[test]
fn rails_production_log() {
    let f = fatal(
        include_str!("../../../tests/cli/fixtures/stacks/rails.log"),
        "2026-11-30T01:02:03.123456",
    );
    // The routing error (a 404 for a bot) is not fatal; the two 500s are two errors.
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].1, at("app/views/checkout/show.html.erb", 1));
    assert!(
        f[0].0
            .contains("ActionView::Template::Error (undefined method `name' for nil):"),
        "{}",
        f[0].0
    );
    assert_eq!(f[1].1, at("app/models/order.rb", 22));
    // The same error under another request id is the same group.
    let again = include_str!("../../../tests/cli/fixtures/stacks/rails.log").replace(
        "8f2c1a9e-3b4d-4c5e-9f6a-7b8c9d0e1f2a",
        "aa11bb22-cc33-4d44-8e55-ff6677889900",
    );
    let g = fatal(&again, "2026-11-30T01:02:03.123456");
    assert_eq!(g[0].0, f[0].0);
}

#[test]
fn spring_boot() {
    let f = fatal(
        include_str!("../../../tests/cli/fixtures/stacks/spring.log"),
        "2026-11-30T01:02:03.456Z",
    );
    one_group(&f, 1, at("com/shop/payment/Gateway.java", 88));
}

#[test]
fn go_panics() {
    let f = fatal(
        include_str!("../../../tests/cli/fixtures/stacks/go.log"),
        "2026/11/30 01:02:03",
    );
    one_group(&f, 2, at("/srv/shop/store.go", 17));
    let crash = [
        "2026/11/30 01:02:03 starting on :8080",
        "panic: open /etc/shop/config.yaml: no such file or directory",
        "goroutine 1 [running]:",
        "main.mustLoad({0x5d1c2e, 0x17})",
        "\t/app/config.go:21 +0x1a5",
        "main.main()",
        "\t/app/main.go:15 +0x25",
    ];
    let rest: Vec<String> = crash[1..].iter().map(|s| s.to_string()).collect();
    let p = Patterns::new(None, &[]).unwrap();
    assert_eq!(p.classify(crash[0], &rest), Some(Severity::Fatal));
    assert_eq!(location(&crash), at("/app/config.go", 21));
    assert!(
        message(crash[0], &rest)
            .ends_with("… panic: open /etc/shop/config.yaml: no such file or directory")
    );
}

#[test]
fn dotnet_console() {
    let f = fatal(
        include_str!("../../../tests/cli/fixtures/stacks/dotnet.log"),
        "2026-11-30 01:02:03",
    );
    one_group(&f, 2, at("/srv/shop/Checkout.cs", 42));
    let crash = [
        "Unhandled exception. System.InvalidOperationException: Unable to resolve service for type 'Shop.IPayments' while attempting to activate 'Shop.Checkout'.",
        "   at Microsoft.Extensions.DependencyInjection.ServiceLookup.CallSiteFactory.CreateArgumentCallSites(Type implementationType) in /_/src/libraries/X.cs:line 5",
        "   at Shop.Program.Main(String[] args) in /src/Shop/Program.cs:line 12",
    ];
    assert_eq!(
        Patterns::new(None, &[]).unwrap().classify(crash[0], &[]),
        Some(Severity::Fatal)
    );
    assert_eq!(location(&crash), at("/src/Shop/Program.cs", 12));
}

#[test]
fn java_takes_the_deepest_cause_with_an_app_frame() {
    let t = [
        "Exception in thread \"main\" org.springframework.web.util.NestedServletException: Request processing failed",
        "\tat org.springframework.web.servlet.FrameworkServlet.processRequest(FrameworkServlet.java:1014)",
        "\tat com.shop.web.CheckoutController.post(CheckoutController.java:27)",
        "Caused by: java.lang.IllegalStateException: payment failed",
        "\tat com.shop.payment.Gateway.charge(Gateway.java:88)",
        "\t... 48 more",
        "Caused by: java.net.SocketException: reset",
        "\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
        "\tat java.base/sun.nio.ch.Net.connect(Net.java:579)",
        "\t... 52 more",
    ];
    assert_eq!(location(&t), at("com/shop/payment/Gateway.java", 88));
}

#[test]
fn php_skips_vendor_for_the_app_frame() {
    let t = [
        "PHP Fatal error:  Uncaught TypeError: Argument 1 must be string in /var/www/html/vendor/acme/lib/Str.php:10",
        "Stack trace:",
        "#0 /var/www/html/vendor/acme/lib/Util.php(22): Acme\\Str->x(NULL)",
        "#1 /var/www/html/src/Cart.php(41): Acme\\Util::y(NULL)",
        "#2 {main}",
    ];
    assert_eq!(location(&t), at("/var/www/html/src/Cart.php", 41));
    // Only framework frames: the innermost of them.
    assert_eq!(
        location(&t[..3]),
        at("/var/www/html/vendor/acme/lib/Str.php", 10)
    );
}
