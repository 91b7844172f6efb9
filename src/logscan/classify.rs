//! What an error line says is wrong, as data: the directive Apache did not know, the upstream
//! nginx could not reach, the address or environment variable the application missed, the
//! path it could not write or read. Each class gets its own fix elsewhere; this module only
//! reads text, and never slices it by byte index.

use std::sync::OnceLock;

use super::pat::Pat;

/// How a connection to an upstream or a dependency failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Nothing listens there (ECONNREFUSED, or a unix socket that does not exist).
    Refused,
    /// It accepted, or never answered, and the time ran out.
    TimedOut,
    /// It closed the connection before answering (a crashed worker).
    Closed,
    /// Every server of an nginx `upstream` block is marked down.
    NoLive,
    /// The name does not resolve.
    Unresolved,
    /// Permission denied on the socket.
    Denied,
    /// Something else went wrong with the connection.
    Other,
}

/// What kind of peer an application error names, judged from its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Peer {
    Database,
    Cache,
    Http,
    Unknown,
}

/// Whose dependencies a [`Class::MissingModule`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stack {
    Node,
    Python,
    Ruby,
    Php,
}

/// The class of one error line, with what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    /// Apache: `Invalid command 'X'` in a configuration or `.htaccess` file.
    InvalidCommand {
        directive: String,
        file: Option<String>,
        line: Option<u32>,
    },
    /// nginx could not get an answer from its upstream.
    Upstream {
        failure: Failure,
        /// `unix:/run/php/php8.2-fpm.sock`, `127.0.0.1:9000`, or an upstream block's name.
        upstream: Option<String>,
        /// `GET /checkout.php`
        request: Option<String>,
    },
    /// The application could not reach a service it depends on.
    Unreachable {
        peer: Peer,
        failure: Failure,
        /// `host:port` when the line names it.
        address: Option<String>,
        /// The URL it called, when the line names one.
        url: Option<String>,
    },
    /// The application needs an environment variable that is not set.
    MissingEnv { var: String },
    /// `No space left on device` while writing `path`.
    NoSpace { path: Option<String> },
    /// PHP's `Allowed memory size of N bytes exhausted`.
    MemoryExhausted { limit: u64 },
    /// A file or directory the server or the app could not open.
    PermissionDenied { path: String },
    /// The process ran out of file descriptors.
    TooManyOpenFiles,
    /// A dependency the app could not load: the deploy did not install it.
    MissingModule {
        stack: Stack,
        /// `express`, `flask_login`, `nokogiri`, `Monolog\Logger`, `vendor/autoload.php`.
        module: String,
        /// The file that asked for it, when the entry names one.
        from: Option<String>,
        /// The virtualenv the traceback ran in (`/srv/app/venv`), when a frame shows it.
        env: Option<String>,
    },
    /// Nothing more specific: the line's own file and line are the lead.
    Other,
}

fn re(cell: &'static OnceLock<Pat>, pattern: &str) -> &'static Pat {
    cell.get_or_init(|| Pat::new(pattern))
}

macro_rules! pattern {
    ($name:ident, $re:expr) => {
        fn $name() -> &'static Pat {
            static CELL: OnceLock<Pat> = OnceLock::new();
            re(&CELL, $re)
        }
    };
}

pattern!(
    invalid_command,
    r"(?:(?P<file>/[^\s:]+): )?Invalid command '(?P<directive>[^']{1,100})'"
);
pattern!(
    syntax_error_at,
    r"Syntax error on line (?P<line>\d{1,9}) of (?P<file>/[^\s:]+)"
);
pattern!(
    nginx_upstream,
    r"(?P<what>connect\(\) to (?P<to>\S+) failed \((?P<errno>\d+): [^)]*\)|connect\(\) failed \((?P<errno2>\d+): [^)]*\)|upstream timed out|upstream prematurely closed|no live upstreams|recv\(\) failed \((?P<errno3>\d+): [^)]*\))(?: \(\d+: [^)]*\))? while [a-z ]*upstream"
);
pattern!(nginx_field_upstream, r#"upstream: "(?P<u>[^"]{1,300})""#);
pattern!(
    nginx_field_request,
    r#"request: "(?P<m>[A-Z]{3,7}) (?P<p>[^ "]{1,300})"#
);
pattern!(
    memory,
    r"Allowed memory size of (?P<n>\d{1,20}) bytes exhausted"
);
pattern!(
    env_missing,
    r#"(?:Environment variable not found: "(?P<a>[A-Za-z_][A-Za-z0-9_]{0,127})"|\bKeyError: '(?P<b>[A-Z_][A-Z0-9_]{0,127})'|\bgetenv\(['"](?P<c>[A-Za-z_][A-Za-z0-9_]{0,127})['"]\)[^\n]{0,80}\b(?:false|null|empty|not set|missing)|\b(?:environment variable|env var(?:iable)?) ['"`]?(?P<d>[A-Z_][A-Z0-9_]{1,127})['"`]? (?:is )?(?:not set|not defined|missing|required|undefined)|\b(?P<e>[A-Z][A-Z0-9_]{2,127}) is not defined in (?:the )?(?:environment|\.env)|MissingEnvVarsError: .*?(?P<f>[A-Z][A-Z0-9_]{2,127}))"#
);
pattern!(
    no_space,
    r"No space left on device|errno[ =]28\b|\(28: No space left"
);
pattern!(
    quoted_path,
    r#"(?:open(?:\(\))?|pwrite\(\)|write\(\)|mkdir\(\)|rename\(\)|file_put_contents|fopen|session_start\(\): open|include(?:_once)?|require(?:_once)?)\s*\(?"?(?P<p>/[^"\s,)]{1,1000})"#
);
pattern!(
    denied,
    r"Permission denied|\(13\)|search permissions are missing|Unable to open primary script|pcfg_openfile: unable to check htaccess file"
);
pattern!(
    denied_path,
    r#"(?:Unable to open primary script: |filesystem path '|AH00529: |open\(\) "|stat\(\) "|include(?:_once)?\(|require(?:_once)?\(|fopen\(|file_get_contents\(|opendir\()(?P<p>/[^"'\s,)]{1,1000})"#
);
pattern!(
    missing_module,
    r#"Cannot find (?:module|package) '(?P<node>[^'\n]+)'|No module named '?(?P<py>[A-Za-z0-9_.]+)|cannot load such file -- (?P<rb>[A-Za-z0-9_./+-]+)|Could not find gem '(?P<gem>[A-Za-z0-9_.-]+)|Could not find (?P<gem2>[A-Za-z][A-Za-z0-9_.-]*?)(?:-[0-9][A-Za-z0-9_.]*)? in (?:locally installed gems|any of the (?:gem )?sources)|(?P<autoload>/[^\s'"()]*/vendor/autoload\.php)|Class ["'](?P<php>[A-Za-z0-9_\\]+)["'] not found"#
);
pattern!(
    node_from,
    r"Require stack:\s*\n- (?P<f>/[^\n]+)|imported from (?P<f2>/\S+)"
);
pattern!(
    venv,
    r#"File "(?P<v>/[^"]+?)/lib/python[0-9.]+/site-packages/"#
);
pattern!(fds, r"Too many open files|\(24: |errno=24\b|EMFILE");
pattern!(
    unreachable,
    r"(?i)SQLSTATE\[(?:HY000|08006)\] \[(?:2002|2003|2006)\]|\bECONNREFUSED\b|\bETIMEDOUT\b|ConnectionRefusedError|Max retries exceeded with url|cURL error (?:6|7|28)\b|Connection refused|could not connect to server|Connection timed out|Operation timed out|php_network_getaddresses|getaddrinfo (?:for \S+ )?failed|Name or service not known|\bENOTFOUND\b|Redis(?:Exception)?.{0,40}(?:connect|refused|went away)"
);
pattern!(
    host_port,
    r"(?:\b(?:connect|to|at|host)\s+|ECONNREFUSED |ETIMEDOUT |tcp://)(?P<h>\[[0-9a-fA-F:]{2,45}\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):(?P<port>\d{1,5})\b"
);
pattern!(
    host_port_words,
    r"(?:Failed to connect to|connect to) (?P<h>[A-Za-z0-9][A-Za-z0-9.-]{0,252}) port (?P<port>\d{1,5})"
);
pattern!(
    pool_host_port,
    r"ConnectionPool\(host='(?P<h>[^']{1,253})', port=(?P<port>\d{1,5})\)"
);
pattern!(url, r#"\b(?P<u>https?://[^\s"'<>()]{1,2000})"#);
pattern!(
    getaddr_host,
    r"getaddrinfo(?: for (?P<h>[A-Za-z0-9.-]{1,253}))? failed|ENOTFOUND (?P<h2>[A-Za-z0-9.-]{1,253})"
);

/// The class of an error line (with the continuation lines of its entry, such as a
/// traceback). The first specific class that matches wins, in the order a person would
/// reason: configuration, upstream, environment, resources, permissions, dependencies.
pub fn classify(line: &str, rest: &[&str]) -> Class {
    // A cheap look for the words first: the pattern is compiled only where it can match.
    if let Some(c) = line
        .contains("Invalid command")
        .then(|| invalid_command().captures(line))
        .flatten()
    {
        let at = syntax_error_at().captures(line);
        return Class::InvalidCommand {
            directive: c["directive"].to_string(),
            file: c
                .name("file")
                .or_else(|| at.as_ref().and_then(|a| a.name("file")))
                .map(|m| m.as_str().to_string()),
            line: at.and_then(|a| a["line"].parse().ok()),
        };
    }
    if let Some(c) = nginx_upstream().captures(line) {
        return upstream(line, &c);
    }
    let whole = EntryText::new(line, rest);
    if let Some(var) = missing_env(whole.text()) {
        return Class::MissingEnv { var };
    }
    if let Some(m) = missing_dependency(whole.text(), line, rest) {
        return m;
    }
    if let Some(c) = memory().captures(line) {
        return Class::MemoryExhausted {
            limit: c["n"].parse().unwrap_or(0),
        };
    }
    if no_space().is_match(line) {
        return Class::NoSpace {
            path: quoted_path()
                .captures(line)
                .map(|c| trim_path(&c["p"]).to_string()),
        };
    }
    if fds().is_match(line) {
        return Class::TooManyOpenFiles;
    }
    if denied().is_match(line)
        && let Some(c) = denied_path().captures(line)
    {
        return Class::PermissionDenied {
            path: trim_path(&c["p"]).to_string(),
        };
    }
    if unreachable().is_match(whole.text()) {
        return unreachable_class(whole.text());
    }
    Class::Other
}

/// An entry's first line and its continuation lines as one text, built only when needed.
struct EntryText<'a> {
    line: &'a str,
    joined: Option<String>,
}

impl<'a> EntryText<'a> {
    fn new(line: &'a str, rest: &[&str]) -> EntryText<'a> {
        let joined = (!rest.is_empty()).then(|| {
            let mut s = String::from(line);
            for r in rest.iter().take(200) {
                s.push('\n');
                s.push_str(r);
            }
            s
        });
        EntryText { line, joined }
    }

    fn text(&self) -> &str {
        self.joined.as_deref().unwrap_or(self.line)
    }
}

fn upstream(line: &str, c: &super::pat::Caps<'_>) -> Class {
    let what = &c["what"];
    let errno = c
        .name("errno")
        .or_else(|| c.name("errno2"))
        .or_else(|| c.name("errno3"))
        .and_then(|m| m.as_str().parse::<u32>().ok());
    let failure = if what.starts_with("upstream timed out") {
        Failure::TimedOut
    } else if what.starts_with("upstream prematurely") {
        Failure::Closed
    } else if what.starts_with("no live") {
        Failure::NoLive
    } else {
        match errno {
            Some(111) | Some(2) => Failure::Refused,
            Some(110) => Failure::TimedOut,
            Some(104) => Failure::Closed,
            Some(13) => Failure::Denied,
            _ => Failure::Other,
        }
    };
    let field = nginx_field_upstream()
        .captures(line)
        .map(|u| upstream_address(&u["u"]));
    let upstream = c.name("to").map(|m| m.as_str().to_string()).or(field);
    let request = nginx_field_request()
        .captures(line)
        .map(|r| format!("{} {}", &r["m"], &r["p"]));
    Class::Upstream {
        failure,
        upstream,
        request,
    }
}

/// `fastcgi://unix:/run/php/x.sock:` → `unix:/run/php/x.sock`; `http://127.0.0.1:8000/` →
/// `127.0.0.1:8000`; `http://backend/` → `backend`.
pub fn upstream_address(field: &str) -> String {
    let rest = field.split_once("://").map_or(field, |(_, r)| r);
    if let Some(sock) = rest.strip_prefix("unix:") {
        return format!("unix:{}", sock.trim_end_matches(':'));
    }
    let host = rest.split('/').next().unwrap_or(rest);
    host.to_string()
}

fn missing_env(text: &str) -> Option<String> {
    let c = env_missing().captures(text)?;
    let name = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .find_map(|n| c.name(n))?
        .as_str();
    // `KeyError: 'X'` is about the environment only when the traceback says so.
    if c.name("b").is_some() && !(text.contains("environ") || text.contains("getenv")) {
        return None;
    }
    Some(name.to_string())
}

/// A module, package, gem or class the app could not load, with the file that asked for it.
fn missing_dependency(text: &str, line: &str, rest: &[&str]) -> Option<Class> {
    let c = missing_module().captures(text)?;
    let located = || {
        let all: Vec<&str> = std::iter::once(line).chain(rest.iter().copied()).collect();
        crate::logscan::patterns::location(&all).map(|(f, _)| f)
    };
    let (stack, module, from) = if let Some(m) = c.name("node") {
        let from = node_from()
            .captures(text)
            .and_then(|f| f.name("f").or_else(|| f.name("f2")))
            .map(|f| f.as_str().trim().to_string());
        (Stack::Node, m.as_str(), from.or_else(located))
    } else if let Some(m) = c.name("py") {
        (Stack::Python, m.as_str(), located())
    } else if let Some(m) = c
        .name("rb")
        .or_else(|| c.name("gem"))
        .or_else(|| c.name("gem2"))
    {
        (Stack::Ruby, m.as_str(), located())
    } else if let Some(m) = c.name("autoload") {
        (Stack::Php, m.as_str(), located())
    } else {
        (Stack::Php, c.name("php")?.as_str(), located())
    };
    let env = (stack == Stack::Python)
        .then(|| venv().captures(text).map(|v| v["v"].to_string()))
        .flatten();
    Some(Class::MissingModule {
        stack,
        module: module.to_string(),
        from,
        env,
    })
}

fn unreachable_class(text: &str) -> Class {
    let lower = text.to_ascii_lowercase();
    let peer = if lower.contains("sqlstate")
        || lower.contains("mysql")
        || lower.contains("postgres")
        || lower.contains("could not connect to server")
        || lower.contains("psycopg")
        || lower.contains("pdo")
    {
        Peer::Database
    } else if lower.contains("redis") || lower.contains("memcache") {
        Peer::Cache
    } else if lower.contains("curl error")
        || lower.contains("max retries exceeded")
        || lower.contains("http")
    {
        Peer::Http
    } else {
        Peer::Unknown
    };
    let failure = if lower.contains("timed out")
        || lower.contains("etimedout")
        || lower.contains("curl error 28")
        || lower.contains("read timeout")
    {
        Failure::TimedOut
    } else if lower.contains("getaddrinfo")
        || lower.contains("name or service not known")
        || lower.contains("enotfound")
        || lower.contains("curl error 6")
    {
        Failure::Unresolved
    } else if lower.contains("refused") || lower.contains("[2002]") {
        Failure::Refused
    } else {
        Failure::Other
    };
    let address = [pool_host_port(), host_port_words(), host_port()]
        .iter()
        .find_map(|r| r.captures(text))
        .map(|c| format!("{}:{}", &c["h"], &c["port"]))
        .or_else(|| {
            getaddr_host()
                .captures(text)
                .and_then(|c| c.name("h").or_else(|| c.name("h2")))
                .map(|m| m.as_str().to_string())
        });
    // cURL's messages point at its own documentation first.
    let url = url()
        .captures_iter(text)
        .map(|c| c["u"].trim_end_matches(['.', ',', ';', ':']).to_string())
        .find(|u| !u.contains("curl.haxx.se") && !u.contains("curl.se/libcurl"));
    Class::Unreachable {
        peer,
        failure,
        address,
        url,
    }
}

/// Paths in log lines end before punctuation that is not part of them.
fn trim_path(p: &str) -> &str {
    p.trim_end_matches(['"', '\'', ':', ',', '.', ')'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(line: &str) -> Class {
        classify(line, &[])
    }

    #[test]
    fn apache_invalid_command_in_htaccess() {
        let l = "[Mon Nov 30 01:02:03.123456 2026] [core:alert] [pid 1234:tid 99] [client 127.0.0.1:5555] /var/www/html/.htaccess: Invalid command 'RewriteEngin', perhaps misspelled or defined by a module not included in the server configuration";
        assert_eq!(
            c(l),
            Class::InvalidCommand {
                directive: "RewriteEngin".into(),
                file: Some("/var/www/html/.htaccess".into()),
                line: None
            }
        );
    }

    #[test]
    fn apache_invalid_command_in_config_test() {
        let l = "AH00526: Syntax error on line 3 of /etc/apache2/sites-enabled/000-default.conf: Invalid command 'ProxyPass', perhaps misspelled or defined by a module not included in the server configuration";
        assert_eq!(
            c(l),
            Class::InvalidCommand {
                directive: "ProxyPass".into(),
                file: Some("/etc/apache2/sites-enabled/000-default.conf".into()),
                line: Some(3)
            }
        );
    }

    #[test]
    fn nginx_socket_missing() {
        let l = r#"2026/11/30 01:02:03 [crit] 123#123: *45 connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", host: "localhost""#;
        assert_eq!(
            c(l),
            Class::Upstream {
                failure: Failure::Refused,
                upstream: Some("unix:/run/php/php8.2-fpm.sock".into()),
                request: Some("GET /index.php".into())
            }
        );
    }

    #[test]
    fn nginx_refused_and_timed_out_by_port() {
        let l = r#"2026/11/30 01:02:03 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 127.0.0.1, server: _, request: "GET /api HTTP/1.1", upstream: "http://127.0.0.1:8000/api", host: "x""#;
        assert_eq!(
            c(l),
            Class::Upstream {
                failure: Failure::Refused,
                upstream: Some("127.0.0.1:8000".into()),
                request: Some("GET /api".into())
            }
        );
        let t = r#"2026/11/30 01:02:03 [error] 7#7: *9 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 127.0.0.1, server: _, request: "POST /checkout.php HTTP/1.1", upstream: "fastcgi://127.0.0.1:9000", host: "x""#;
        assert!(matches!(
            c(t),
            Class::Upstream { failure: Failure::TimedOut, upstream: Some(u), request: Some(r) }
                if u == "127.0.0.1:9000" && r == "POST /checkout.php"
        ));
        let n = r#"2026/11/30 01:02:03 [error] 7#7: *9 no live upstreams while connecting to upstream, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", upstream: "http://backend/", host: "x""#;
        assert!(matches!(
            c(n),
            Class::Upstream { failure: Failure::NoLive, upstream: Some(u), .. } if u == "backend"
        ));
    }

    #[test]
    fn database_refused_without_an_address() {
        let l = "[30-Nov-2026 01:02:03 UTC] PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in /var/www/html/db.php:10";
        assert_eq!(
            c(l),
            Class::Unreachable {
                peer: Peer::Database,
                failure: Failure::Refused,
                address: None,
                url: None
            }
        );
    }

    #[test]
    fn addresses_named_by_apps() {
        let node = "Error: connect ECONNREFUSED 127.0.0.1:6379";
        assert!(
            matches!(c(node), Class::Unreachable { failure: Failure::Refused, address: Some(a), .. } if a == "127.0.0.1:6379")
        );
        let curl = "PHP Fatal error:  Uncaught GuzzleHttp\\Exception\\ConnectException: cURL error 28: Operation timed out after 5001 milliseconds with 0 bytes received (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for https://api.pay.example/v1/charge in /var/www/html/vendor/x.php:210";
        assert!(
            matches!(c(curl), Class::Unreachable { peer: Peer::Http, failure: Failure::TimedOut, url: Some(u), .. } if u == "https://api.pay.example/v1/charge")
        );
        let curl7 = "cURL error 7: Failed to connect to api.pay.example port 443 after 0 ms: Connection refused";
        assert!(
            matches!(c(curl7), Class::Unreachable { failure: Failure::Refused, address: Some(a), .. } if a == "api.pay.example:443")
        );
        let py = "requests.exceptions.ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=8099): Max retries exceeded with url: /pay (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object>: Failed to establish a new connection: [Errno 111] Connection refused'))";
        assert!(
            matches!(c(py), Class::Unreachable { address: Some(a), failure: Failure::Refused, .. } if a == "127.0.0.1:8099")
        );
    }

    #[test]
    fn missing_environment_variables() {
        let sf = r#"PHP Fatal error:  Uncaught Symfony\Component\DependencyInjection\Exception\EnvNotFoundException: Environment variable not found: "DATABASE_URL". in /var/www/app/vendor/symfony/x.php:24"#;
        assert_eq!(
            c(sf),
            Class::MissingEnv {
                var: "DATABASE_URL".into()
            }
        );
        let py = [
            "Traceback (most recent call last):",
            "  File \"/srv/app/settings.py\", line 4, in <module>",
            "    SECRET = os.environ['SECRET_KEY']",
            "KeyError: 'SECRET_KEY'",
        ];
        assert_eq!(
            classify(py[0], &py[1..]),
            Class::MissingEnv {
                var: "SECRET_KEY".into()
            }
        );
        // A KeyError about a dict is not about the environment.
        let d = [
            "Traceback (most recent call last):",
            "    x = d['NAME']",
            "KeyError: 'NAME'",
        ];
        assert_eq!(classify(d[0], &d[1..]), Class::Other);
    }

    #[test]
    fn resources_and_permissions() {
        let ns = "PHP Warning:  file_put_contents(/var/www/html/cache/page.html): Failed to open stream: No space left on device in /var/www/html/cache.php on line 7";
        assert_eq!(
            c(ns),
            Class::NoSpace {
                path: Some("/var/www/html/cache/page.html".into())
            }
        );
        let ng = r#"2026/11/30 01:02:03 [crit] 7#7: *3 pwrite() "/var/lib/nginx/body/0000000001" failed (28: No space left on device), client: 127.0.0.1"#;
        assert_eq!(
            c(ng),
            Class::NoSpace {
                path: Some("/var/lib/nginx/body/0000000001".into())
            }
        );
        let mem = "PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /var/www/html/report.php on line 5";
        assert_eq!(c(mem), Class::MemoryExhausted { limit: 134217728 });
        let fpm = "[30-Nov-2026 01:02:03] ERROR: Unable to open primary script: /var/www/html/index.php (Permission denied)";
        assert_eq!(
            c(fpm),
            Class::PermissionDenied {
                path: "/var/www/html/index.php".into()
            }
        );
        let inc = "PHP Warning:  include(/var/www/html/config.php): Failed to open stream: Permission denied in /var/www/html/index.php on line 3";
        assert_eq!(
            c(inc),
            Class::PermissionDenied {
                path: "/var/www/html/config.php".into()
            }
        );
        let ngx = r#"2026/11/30 01:02:03 [crit] 7#7: *3 open() "/var/www/html/index.html" failed (13: Permission denied), client: 127.0.0.1"#;
        assert_eq!(
            c(ngx),
            Class::PermissionDenied {
                path: "/var/www/html/index.html".into()
            }
        );
        let fd = "2026/11/30 01:02:03 [crit] 7#7: accept4() failed (24: Too many open files)";
        assert_eq!(c(fd), Class::TooManyOpenFiles);
    }

    #[test]
    fn ordinary_fatals_are_other() {
        let l = "PHP Fatal error:  Uncaught Error: Call to undefined function wc_get_product() in /var/www/html/functions.php:88";
        assert_eq!(c(l), Class::Other);
    }

    #[test]
    fn dependencies_a_deploy_forgot() {
        let node = [
            "2026-11-30T01:02:03: node:internal/modules/cjs/loader:1228",
            "Error: Cannot find module 'express'",
            "Require stack:",
            "- /srv/shop/server.js",
            "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)",
            "    at Object.<anonymous> (/srv/shop/server.js:1:17)",
        ];
        assert_eq!(
            classify(node[0], &node[1..]),
            Class::MissingModule {
                stack: Stack::Node,
                module: "express".into(),
                from: Some("/srv/shop/server.js".into()),
                env: None
            }
        );
        let esm = "Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'fastify' imported from /srv/api/index.mjs";
        assert!(
            matches!(c(esm), Class::MissingModule { stack: Stack::Node, module, from: Some(f), .. }
            if module == "fastify" && f == "/srv/api/index.mjs")
        );
        let py = [
            "[2026-11-30 01:02:03 +0000] [7] [ERROR] Exception in worker process",
            "Traceback (most recent call last):",
            "  File \"/srv/shop/venv/lib/python3.11/site-packages/gunicorn/arbiter.py\", line 609, in spawn_worker",
            "  File \"/srv/shop/app.py\", line 3, in <module>",
            "    from flask_login import LoginManager",
            "ModuleNotFoundError: No module named 'flask_login'",
        ];
        assert_eq!(
            classify(py[0], &py[1..]),
            Class::MissingModule {
                stack: Stack::Python,
                module: "flask_login".into(),
                from: Some("/srv/shop/app.py".into()),
                env: Some("/srv/shop/venv".into())
            }
        );
        let rb = "/srv/blog/config/boot.rb:4:in `require': cannot load such file -- bootsnap/setup (LoadError)";
        assert!(
            matches!(c(rb), Class::MissingModule { stack: Stack::Ruby, module, from: Some(f), .. }
            if module == "bootsnap/setup" && f == "/srv/blog/config/boot.rb")
        );
        let gem = "Could not find rack-3.0.8 in locally installed gems (Bundler::GemNotFound)";
        assert!(
            matches!(c(gem), Class::MissingModule { stack: Stack::Ruby, module, .. } if module == "rack")
        );
        let autoload = "PHP Fatal error:  Uncaught Error: Failed opening required '/var/www/shop/vendor/autoload.php' (include_path='.:/usr/share/php') in /var/www/shop/public/index.php:5";
        assert!(
            matches!(c(autoload), Class::MissingModule { stack: Stack::Php, module, from: Some(f), .. }
            if module == "/var/www/shop/vendor/autoload.php" && f == "/var/www/shop/public/index.php")
        );
        let class = r#"PHP Fatal error:  Uncaught Error: Class "Monolog\Logger" not found in /var/www/shop/src/Log.php:12"#;
        assert!(
            matches!(c(class), Class::MissingModule { stack: Stack::Php, module, .. } if module == "Monolog\\Logger")
        );
        // A code bug is not a missing dependency.
        assert_eq!(c("NameError: name 'price_of' is not defined"), Class::Other);
    }

    #[test]
    fn hostile_text_does_not_panic() {
        for l in [
            "Invalid command '",
            "connect() to  failed (: ) while connecting to upstream",
            "upstream: \"",
            "Allowed memory size of 99999999999999999999999 bytes exhausted",
            "No space left on device open(\u{202e}/x",
            "ECONNREFUSED é:99999",
            "Cannot find module ''",
            "Require stack:\n- /",
            "No module named",
            "Class \"\" not found",
            "Could not find - in locally installed gems",
        ] {
            let _ = c(l);
        }
    }
}
