//! The status page in a real browser: Debian's chromium, headless, reads the page `serve`
//! answers and gives back the DOM it built.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::harness::{Served, program, runs};
use crate::testenv::{TestEnv, selftest};

/// What a headless chromium makes of `url`: `--dump-dom` (the serialized DOM) or `--screenshot=PATH`.
pub fn chromium(chromium: &std::path::Path, url: &str, mode: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(mode)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut out, &mut s).unwrap();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
            panic!("chromium did not finish within 90s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

use std::os::unix::process::CommandExt;

/// The `<article>` of check `id` in the DOM.
fn article<'a>(dom: &'a str, id: &str) -> &'a str {
    let id_at = dom
        .find(&format!("id=\"check-{id}\""))
        .unwrap_or_else(|| panic!("no check {id} on the page:\n{dom}"));
    let at = dom[..id_at].rfind("<article").unwrap();
    let end = dom[at..].find("</article>").unwrap();
    &dom[at..at + end]
}

#[test]
fn the_page_shows_the_failing_check_its_fix_and_history_and_no_injected_markup() {
    let Some(chromium_bin) = program("/usr/bin/chromium") else {
        return;
    };
    let env = TestEnv::new().config(&format!(
        "{}{}\n[[check]]\nid = \"site\"\nkind = \"command\"\nshell = true\n\
         command = \"echo run >> runs.txt; test ! -e broken\"\n",
        selftest("fine", "summary = \"all good\""),
        selftest(
            "php-errors",
            "result = \"fail\"\n\
             summary = \"<script>document.title='pwned'</script> fatal in <img src=x onerror=alert(1)>\"\n\
             details = [\"/var/www/index.php:3 <b>PHP Fatal error</b>\"]\n\
             fix = \"chmod 644 /var/www/html/index.php\"",
        ),
    ));
    let s = Served::start(&env, &["--cache", "0s"]);
    // Two runs where `site` passes, then it breaks: three runs that fail (the browser's
    // own request makes the third).
    s.get("/healthz");
    s.get("/healthz");
    env.file("broken", "");
    s.get("/healthz");
    s.get("/healthz");
    assert_eq!(runs(&env), 4);

    let dom = chromium(&chromium_bin, &format!("http://{}/", s.addr), "--dump-dom");
    assert_eq!(runs(&env), 5, "chromium did not load the page:\n{dom}");

    let failing = article(&dom, "php-errors");
    assert!(failing.contains("class=\"check s-fail\""), "{failing}");
    assert!(
        failing.contains("chmod 644 /var/www/html/index.php"),
        "{failing}"
    );
    // The untrusted text is there as text: escaped in the serialized DOM, no element made.
    assert!(
        failing.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt; fatal in &lt;img src=x onerror=alert(1)&gt;"),
        "{failing}"
    );
    assert!(
        failing.contains("&lt;b&gt;PHP Fatal error&lt;/b&gt;"),
        "{failing}"
    );
    for tag in ["<script", "<img", "<b>"] {
        assert!(!dom.contains(tag), "the page made a {tag} element:\n{dom}");
    }
    assert!(!dom.contains("<title>pwned"), "{dom}");

    // History: five runs of `site`, the last three failing, and since when.
    let site = article(&dom, "site");
    let cells: Vec<&str> = site
        .match_indices("class=\"cell s-")
        .map(|(i, m)| site[i + m.len()..].split('"').next().unwrap())
        .collect();
    assert_eq!(cells, ["pass", "pass", "fail", "fail", "fail"], "{site}");
    assert!(site.contains("failing since"), "{site}");
    // Problems first: the failing checks come before the passing one.
    assert!(dom.find("id=\"check-php-errors\"").unwrap() < dom.find("id=\"check-fine\"").unwrap());
    assert!(dom.find("id=\"check-site\"").unwrap() < dom.find("id=\"check-fine\"").unwrap());
    // The diagnosis heads the page.
    assert!(dom.find("class=\"diagnosis\"").unwrap() < dom.find("class=\"problems\"").unwrap());
    // Self-contained: nothing is loaded from anywhere.
    for external in ["<link", "src=\"http", "<iframe"] {
        assert!(!dom.contains(external), "{external} in\n{dom}");
    }
    assert!(dom.contains("http-equiv=\"refresh\""));
}
