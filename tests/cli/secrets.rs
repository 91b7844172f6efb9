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
        // One name per App: tests run in parallel, and a same-named process being killed by
        // another test (a zombie has no environment) must not be the one a check finds.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("sdapp{}x{n}", std::process::id() % 100000);
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

// ---- Whatever a server, a program or a typo echoes back ----

/// Every secret below contains this marker, so no form of any of them (raw, percent-,
/// HTML- or JSON-encoded) can appear without it.
const MARK: &str = "s3cr3t";

/// Fails if `text` shows a secret: the marker, or one of `also` (base64 and tokens that
/// do not carry the marker).
fn assert_masked(text: &str, also: &[&str]) {
    let lower = text.to_ascii_lowercase();
    assert!(!lower.contains(MARK), "a secret leaked ({MARK}):\n{text}");
    for a in also {
        assert!(!text.contains(a), "a secret leaked ({a}):\n{text}");
    }
}

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(h)) => {
                out.push(h);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` HTML-escaped in the style `mode` names: `html` (no apostrophe), `py` (Python's
/// `html.escape`, `&#x27;`), `owasp` (also `&#x2F;`), `xml` (`&apos;`), `php`
/// (`htmlspecialchars`, `&#039;`), or every character as a decimal (`dec`) or hex (`hex`)
/// reference with leading zeros.
fn html_escaped(text: &str, mode: &str) -> String {
    match mode {
        "dec" => text
            .chars()
            .map(|c| format!("&#{:05};", c as u32))
            .collect(),
        "hex" => text
            .chars()
            .map(|c| format!("&#x{:04X};", c as u32))
            .collect(),
        _ => {
            let e = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;");
            match mode {
                "py" => e.replace('\'', "&#x27;"),
                "owasp" => e.replace('\'', "&#x27;").replace('/', "&#x2F;"),
                "xml" => e.replace('\'', "&apos;"),
                "php" => e.replace('\'', "&#039;"),
                _ => e,
            }
        }
    }
}

/// A debug page: answers 500 with the request echoed on one line (the request line, the
/// headers a client chose, the body), in the form the query's `mode` asks for: `plain`,
/// `decoded` (percent-decoded), `json` (escaped as PHP's json_encode does, `\/`) or HTML
/// escaped in one of the styles of [`html_escaped`], in the <title>.
fn echo_server() -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in l.incoming().take(500) {
            let Ok(s) = conn else { continue };
            std::thread::spawn(move || {
                let mut r = BufReader::new(s.try_clone().unwrap());
                let mut parts = Vec::new();
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let line = line.trim_end().to_string();
                    let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
                    if name == "content-length" {
                        len = line[15..].trim().parse().unwrap_or(0);
                    }
                    if ![
                        "host",
                        "user-agent",
                        "accept",
                        "accept-encoding",
                        "connection",
                        "content-length",
                    ]
                    .contains(&name.as_str())
                    {
                        parts.push(line);
                    }
                }
                let mut body = vec![0; len];
                let _ = r.read_exact(&mut body);
                parts.push(String::from_utf8_lossy(&body).into_owned());
                let echo = parts.join(" | ");
                let mode = echo
                    .split("mode=")
                    .nth(1)
                    .unwrap_or("")
                    .split(['&', ' '])
                    .next()
                    .unwrap_or("");
                let (ctype, page) = match mode {
                    "decoded" => ("text/plain", pct_decode(&echo)),
                    "json" => (
                        "application/json",
                        format!("{{\"request\":{}}}", serde_json::Value::String(echo))
                            .replace('/', "\\/"),
                    ),
                    "html" | "py" | "owasp" | "xml" | "php" | "dec" | "hex" => (
                        "text/html",
                        format!(
                            "<html><title>Error: {}</title></html>",
                            html_escaped(&echo, mode)
                        ),
                    ),
                    _ => ("text/plain", echo),
                };
                let mut s = s;
                let _ = write!(
                    s,
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
            });
        }
    });
    port
}

/// Runs `toml` in every format: exit 2 and no secret anywhere. Returns the human output.
fn run_everywhere(toml: &str, also: &[&str]) -> String {
    let env = TestEnv::new().config(toml);
    for format in sitedoctor::render::names() {
        let out = env.run(&["--format", format]);
        out.expect_code(2);
        assert_masked(&out.stdout, also);
        assert_masked(&out.stderr, also);
    }
    let out = env.run(&[]);
    assert_masked(&out.stdout, also);
    out.stdout
}

fn http(id: &str, url: &str, extra: &str) -> String {
    format!(
        "[[check]]\nid = \"{id}\"\nkind = \"http\"\nurl = \"{url}\"\ntimeout = \"5s\"\n{extra}\n"
    )
}

/// A debug page that echoes the request shows none of what the check was configured with:
/// URL user name and password and their Basic-auth base64, query and fragment secrets, a
/// token in the path, header values, the body — raw, decoded, JSON- or HTML-escaped.
#[test]
fn an_echoing_error_page_shows_no_secret() {
    let port = echo_server();
    let refused = crate::servers::refused();
    let bot = "bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
    let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
    let base = format!("http://tokuser:p%40ss-s3cr3t@127.0.0.1:{port}/{bot}/send");
    let query = "x_sig=sig-s3cr3t-v&token=t%2Fk%2Bs3cr3t&page=2";
    let headers = "headers = { Authorization = \"Bearer hdr-s3cr3t-b\", X-Api-Key = \"k/y+s3cr3t&<v>\", Cookie = \"lang=en; session=c00kie-s3cr3t\" }";
    let toml = [
        http("plain", &format!("{base}?mode=plain&{query}"), ""),
        http("decoded", &format!("{base}?mode=decoded&{query}"), ""),
        http("json", &format!("http://127.0.0.1:{port}/?mode=json&jwt={jwt}"), headers),
        http("html", &format!("http://127.0.0.1:{port}/?mode=html"), headers),
        http("user-only", &format!("http://TOKENs3cr3tUSER@127.0.0.1:{port}/?mode=plain&code=c0de-s3cr3t#access_token=frag-s3cr3t"), ""),
        http("post", &format!("http://127.0.0.1:{port}/?mode=plain"), "method = \"POST\"\nbody = \"user=bob&password=b0dy-s3cr3t\""),
        http("refused", &format!("http://TOKENs3cr3tUSER@127.0.0.1:{refused}/{bot}/?session=s3cr3t-sess#access_token=frag-s3cr3t"), ""),
    ]
    .concat();
    let basic = b64(b"tokuser:p@ss-s3cr3t");
    let user_only = b64(b"TOKENs3cr3tUSER:");
    let human = run_everywhere(
        &toml,
        &[&basic, &user_only, "AAHdqTcv", "eyJhbGci", "c2lnbmF0"],
    );
    // The echo did reach the report, masked: the test shows what it claims to.
    for shown in [
        "authorization: Basic ***",
        "x_sig=***&token=***&page=2",
        "bot123456789:***/send",
        "x-api-key: ***",
        "cookie: ***",
        "POST /?mode=plain HTTP/1.1 | ***",
        "http://***@127.0.0.1:",
        "#access_token=***",
    ] {
        assert!(human.contains(shown), "{shown:?} not in:\n{human}");
    }
}

/// The process check names a process by name and pid, never by its command line.
#[test]
fn process_check_shows_no_command_line() {
    use std::os::unix::process::CommandExt;
    let name = format!("sdproc{}", std::process::id() % 100000);
    let mut child = std::process::Command::new("/bin/sleep")
        .arg0(format!(
            "{name} --password=pw-s3cr3t postgres://app:db-s3cr3t@db/app"
        ))
        .arg("300")
        .spawn()
        .unwrap();
    let toml = format!(
        "[[check]]\nid = \"by-name\"\nkind = \"process\"\nname = \"{name}\"\nmin = 2\n\
         [[check]]\nid = \"by-pattern\"\nkind = \"process\"\npattern = \"{name} --password\"\nmin = 2\n"
    );
    let human = run_everywhere(&toml, &[]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        human.contains(&format!("sleep (pid {})", child.id())),
        "{human}"
    );
}

/// A configuration error shows the line it is on, with no secret on it or in the message.
#[test]
fn config_error_snippets_show_no_secret() {
    let http = "[[check]]\nid = \"x\"\nkind = \"http\"\n";
    let cmd = "[[check]]\nid = \"c\"\nkind = \"command\"\ncommand = [\"true\"]\n";
    for toml in [
        format!("{http}url = \"http://a/\"\nheaders = \"Bearer hdr-s3cr3t-b\"\n"),
        format!(
            "{http}url = \"http://a/\"\nheaders = {{ Authorization = \"Bearer hdr-s3cr3t-b\" \n"
        ),
        format!("{http}url = \"ftp://deploy:url-s3cr3t@files/\"\n"),
        format!(
            "{http}url = \"http://a/\"\nbody = \"\"\"\n{{\"password\": \"b0dy-s3cr3t\\q\"}}\n\"\"\"\n"
        ),
        format!("{cmd}env = {{ API_TOKEN = \"env-s3cr3t\", N = 5 }}\n"),
        format!("{cmd}[check.env]\nAPI_TOKEN = env-s3cr3t\n"),
        format!("{http}url = \"http://a/\"\nretries = 99 # the password: cmt-s3cr3t\n"),
        format!("{http}url = \"http://a/\"\napi_key = \"key-s3cr3t\"\n"),
    ] {
        let out = TestEnv::new().config(&toml).run(&[]);
        out.expect_code(78);
        assert_masked(&out.stdout, &[]);
        assert_masked(&out.stderr, &[]);
        assert!(
            out.stderr.contains(" | "),
            "no snippet shown:\n{}",
            out.stderr
        );
    }
}

/// A command's `env` values, and the secrets in its own arguments, are masked in the
/// output it prints and in the command line shown — also where the output was cut.
#[test]
fn command_output_shows_no_env_value() {
    let cap = sitedoctor::sys::child::CAPTURE_CAP;
    let toml = format!(
        "[[check]]\nid = \"env\"\nkind = \"command\"\n\
         command = [\"sh\", \"-c\", \"echo connecting with $SD_DB_PASS; echo token=$SD_API >&2; exit 3\"]\n\
         env = {{ SD_DB_PASS = \"db-s3cr3t-pass\", SD_API = \"api-s3cr3t\" }}\n\
         [[check]]\nid = \"args\"\nkind = \"command\"\n\
         command = [\"sh\", \"-c\", \"echo $0 $1 $2 $3; exit 1\", \"mysql\", \"--password=arg-s3cr3t\", \"--token\", \"tok-s3cr3t\"]\n\
         [[check]]\nid = \"cut\"\nkind = \"command\"\n\
         command = [\"sh\", \"-c\", \"head -c {} /dev/zero | tr '\\\\0' '\\\\n'; echo $SD_LONG; exit 1\"]\n\
         env = {{ SD_LONG = \"cut-s3cr3t-value-long\" }}\n",
        cap - 6
    );
    let human = run_everywhere(&toml, &["cut-s3"]);
    for shown in [
        "stdout: connecting with ***",
        "stderr: token=***",
        "mysql --password=*** --token ***",
        "mysql '--password=***' --token ***",
        "echo token=$SD_API",
    ] {
        assert!(human.contains(shown), "{shown:?} not in:\n{human}");
    }
}

/// A header value echoed HTML-escaped in any common style, or as numeric references for
/// every character, is masked: the page is decoded before it is masked.
#[test]
fn every_html_escaping_of_a_header_is_masked() {
    let port = echo_server();
    let headers = "headers = { X-Api-Key = \"ab/cd'ef&gh<s3cr3tXYZ\" }";
    let modes = ["html", "py", "owasp", "xml", "php", "dec", "hex"];
    let toml: String = modes
        .iter()
        .map(|m| http(m, &format!("http://127.0.0.1:{port}/?mode={m}"), headers))
        .collect();
    let also: Vec<String> = ["dec", "hex"]
        .iter()
        .map(|m| html_escaped(MARK, m))
        .collect();
    let also: Vec<&str> = also.iter().map(String::as_str).collect();
    let human = run_everywhere(&toml, &also);
    // Each page reached the report decoded, the value masked.
    for m in modes {
        let shown = format!("Error: GET /?mode={m} HTTP/1.1 | x-api-key: ***");
        assert!(human.contains(&shown), "{shown:?} not in:\n{human}");
    }
}

/// A token in a redirect's target is masked where the page it leads to echoes it: the
/// query, fragment and path secrets of every URL the request went through are masked, in
/// every form, like the configured URL's.
#[test]
fn a_redirect_targets_secrets_are_masked() {
    let hook = "XcV8qWm2Lp9RtY4zKd7Hs3Nf";
    let port = crate::servers::http(100, move |path, _| {
        if path.starts_with("/redir") {
            crate::servers::Reply::new(302, "")
                .header("Location", "/next?token=REDIR-s3cr3t-123&x=1")
        } else if path.starts_with("/next") {
            crate::servers::Reply::new(301, "").header(
                "Location",
                &format!("/hooks/{hook}/target?sig=sig%2Fs3cr3t+v"),
            )
        } else {
            crate::servers::Reply::new(500, &format!("ECHO path={path} | {}", pct_decode(path)))
        }
    });
    let toml = http(
        "redir",
        &format!("http://127.0.0.1:{port}/redir?auth=AUTH-s3cr3t"),
        "expect_status = [200]",
    );
    let human = run_everywhere(&toml, &[hook]);
    let shown = "ECHO path=/hooks/***/target?sig=***";
    assert!(human.contains(shown), "{shown:?} not in:\n{human}");
}

/// A plugin's `env` values are masked in all it prints, as a command's are.
#[test]
fn plugin_output_shows_no_env_value() {
    let toml = "[[check]]\nid = \"plug\"\nkind = \"plugin\"\nplugin = \"/bin/sh\"\n\
        args = [\"-c\", \"echo \\\"CRITICAL - $X_TOKEN | a=1\\\"; echo \\\"more $X_TOKEN\\\"; echo \\\"err $X_TOKEN\\\" >&2; exit 2\"]\n\
        env = { X_TOKEN = \"PlugEnv-s3cr3t-44\" }\n";
    let human = run_everywhere(toml, &[]);
    for shown in ["plug: CRITICAL - ***\n", "more ***\n", "stderr: err ***\n"] {
        assert!(human.contains(shown), "{shown:?} not in:\n{human}");
    }
}

/// A MySQL-style password attached to `-p` (or after a bare `-p`), for a MySQL or MariaDB
/// program, is masked in the command line shown and in what the program prints; `-p` for
/// another program is left alone.
#[test]
fn mysql_dash_p_passwords_are_masked() {
    let toml = "[[check]]\nid = \"argv\"\nkind = \"command\"\n\
        command = [\"sh\", \"-c\", \"echo $0 $1 $2; exit 1\", \"/usr/bin/mysql\", \"-umon\", \"-pmy-s3cr3t-pw\"]\n\
        [[check]]\nid = \"shell\"\nkind = \"command\"\nshell = true\n\
        command = \"echo mariadb-dump -h db -p'sh-s3cr3t pw' app; exit 1\"\n\
        [[check]]\nid = \"plug\"\nkind = \"plugin\"\nplugin = \"/bin/sh\"\n\
        args = [\"-c\", \"echo \\\"CRITICAL - cannot connect as $0 $1 $2\\\"; exit 2\", \"check_mysql\", \"-p\", \"plug-s3cr3t\"]\n\
        [[check]]\nid = \"port\"\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"exit 1\", \"nc\", \"-p8080\"]\n";
    let human = run_everywhere(toml, &[]);
    for shown in [
        "/usr/bin/mysql -umon '-p***'",
        "stdout: /usr/bin/mysql -umon -p***",
        "mariadb-dump -h db -p'\\''***'\\'' app; exit 1'`",
        "stdout: mariadb-dump -h db -p*** app",
        "cannot connect as check_mysql -p ***",
        "nc -p8080",
    ] {
        assert!(human.contains(shown), "{shown:?} not in:\n{human}");
    }
}
