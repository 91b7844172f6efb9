//! The app servers behind the web server — gunicorn, uWSGI, PHP-FPM, Node (plain or under
//! pm2), Puma, Unicorn, Passenger, a Java servlet container — and where their errors go:
//! the log files their command line or configuration names, else the journal of their unit.
//! Read from `/proc/PID` for what runs, and from unit files and the app servers' own
//! configuration (`gunicorn.conf.py`, uWSGI `.ini`, pm2's `ecosystem.config.js`) for what
//! is configured for an address but not running.

use std::path::{Path, PathBuf};

use super::listeners::Endpoint;

/// An app server, running or configured.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppServer {
    /// `gunicorn`, `uwsgi`, `php-fpm`, `node`, `pm2`, `puma`, `unicorn`, `passenger`,
    /// `java`; `app` when the program is not one of these.
    pub kind: &'static str,
    /// The running process (the one holding the listening socket), if it runs.
    pub pid: Option<u32>,
    /// Its systemd service: from its cgroup when it runs, else the unit configured for it.
    pub unit: Option<String>,
    /// The log files its errors go to, as paths on the host.
    pub error_logs: Vec<PathBuf>,
    /// The configuration file that names the address, when that is how it was found.
    pub config: Option<PathBuf>,
}

impl AppServer {
    /// The unit whose journal holds its errors: when no log file is named, what it writes to
    /// stderr goes to the journal of its unit.
    pub fn journal(&self) -> Option<&str> {
        self.error_logs
            .is_empty()
            .then_some(self.unit.as_deref())
            .flatten()
    }

    /// `gunicorn (shop-api.service)`, safe to print.
    pub fn label(&self) -> String {
        let kind = self.kind;
        match (&self.unit, self.pid) {
            (Some(u), Some(pid)) => {
                format!("{kind} (pid {pid}, {})", crate::sanitize::terminal(u))
            }
            (Some(u), None) => format!("{kind} ({})", crate::sanitize::terminal(u)),
            (None, Some(pid)) => format!("{kind} (pid {pid})"),
            (None, None) => kind.to_string(),
        }
    }

    /// Where its errors go, for a person: `/var/log/app/error.log`, `journalctl -u app`.
    pub fn errors_at(&self) -> Option<String> {
        if let Some(u) = self.journal() {
            return Some(format!(
                "journalctl -u {}",
                crate::shell::shell_quote(u.strip_suffix(".service").unwrap_or(u))
            ));
        }
        let v: Vec<String> = self
            .error_logs
            .iter()
            .map(|p| crate::sanitize::terminal(&p.display().to_string()))
            .collect();
        (!v.is_empty()).then(|| v.join(", "))
    }
}

/// Programs by the name of their binary (or of the script an interpreter runs).
fn kind_of_word(w: &str) -> Option<&'static str> {
    let base = w.rsplit('/').next().unwrap_or(w);
    let base = base.split([' ', ':']).next().unwrap_or(base);
    Some(match base {
        b if b.starts_with("gunicorn") => "gunicorn",
        b if b.starts_with("uwsgi") => "uwsgi",
        b if b.starts_with("php-fpm") => "php-fpm",
        "node" | "nodejs" => "node",
        "pm2" | "pm2-runtime" => "pm2",
        "puma" => "puma",
        b if b.starts_with("unicorn") => "unicorn",
        "Passenger" | "passenger" | "PassengerAgent" => "passenger",
        "java" => "java",
        _ => return None,
    })
}

/// What kind of app server a command line starts: its program, or the script an
/// interpreter (`python3 /usr/bin/gunicorn`, `ruby bin/puma`, `bundle exec puma`) runs.
pub fn kind_of(argv: &[String]) -> Option<&'static str> {
    argv.iter().take(4).find_map(|w| kind_of_word(w))
}

/// The value of a flag: `--flag VALUE` or `--flag=VALUE`.
fn flag<'a>(argv: &'a [String], names: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for (i, w) in argv.iter().enumerate() {
        for n in names {
            if w == n {
                if let Some(v) = argv.get(i + 1) {
                    out.push(v.as_str());
                }
            } else if let Some(v) = w.strip_prefix(n).and_then(|r| r.strip_prefix('=')) {
                out.push(v);
            }
        }
    }
    out
}

/// A path as written, made absolute against the working directory; `None` for `-`
/// (stderr) and the like.
fn path_in(v: &str, cwd: &Path) -> Option<PathBuf> {
    let v = v.trim().trim_matches(['"', '\'']);
    if v.is_empty() || v == "-" || v.starts_with("/dev/") {
        return None;
    }
    Some(if v.starts_with('/') {
        PathBuf::from(v)
    } else {
        cwd.join(v)
    })
}

/// The configuration files a command line names, or the one the app server reads from its
/// working directory by default.
fn configs(kind: &str, argv: &[String], cwd: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match kind {
        "gunicorn" | "unicorn" => flag(argv, &["-c", "--config"]),
        "uwsgi" => {
            let mut v = flag(argv, &["--ini"]);
            v.extend(
                argv.iter()
                    .skip(1)
                    .filter(|w| w.ends_with(".ini"))
                    .map(String::as_str),
            );
            v
        }
        "pm2" => argv
            .iter()
            .filter(|w| w.ends_with(".config.js") || w.ends_with(".json"))
            .map(String::as_str)
            .collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter_map(|p| path_in(p, cwd))
    .collect();
    let default = match kind {
        "gunicorn" => Some("gunicorn.conf.py"),
        "pm2" => Some("ecosystem.config.js"),
        _ => None,
    };
    if let Some(d) = default
        && v.is_empty()
    {
        v.push(cwd.join(d));
    }
    v
}

/// Keys of an app server's configuration whose values are addresses or error logs.
const BIND_KEYS: &[&str] = &[
    "bind",
    "socket",
    "http-socket",
    "uwsgi-socket",
    "http",
    "fastcgi-socket",
];
const LOG_KEYS: &[&str] = &[
    "errorlog",
    "logto",
    "logto2",
    "daemonize",
    "error_file",
    "stderr_path",
];

/// `key = value`, `key: value`, `key "value"` (Ruby) lines of a configuration: the key and
/// each quoted string (or the bare value) on its right.
fn settings(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines().take(5000) {
        let line = line.trim().trim_start_matches(['{', ',']).trim();
        if line.starts_with(['#', ';', '/']) {
            continue;
        }
        let Some(cut) = line.find(['=', ':', ' ']) else {
            continue;
        };
        let (key, rest) = (
            line.get(..cut).unwrap_or(""),
            line.get(cut + 1..).unwrap_or(""),
        );
        let key = key.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
        let rest = rest.trim_start_matches(['=', ':', ' ']);
        let quoted: Vec<String> = rest
            .split(['"', '\''])
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        let values = if quoted.is_empty() {
            vec![rest.trim_end_matches([',', ';', ' ']).to_string()]
        } else {
            quoted
        };
        out.push((key, values));
    }
    out
}

fn read(path: &Path) -> Option<String> {
    crate::sys::readcap::read_text_capped(path, 256 * 1024).ok()
}

/// Whether a configuration's binds name `ep`: `bind = "127.0.0.1:8000"`, uWSGI
/// `socket = /run/app.sock`, pm2 `PORT: 3000` / `port: 3000`.
fn config_names(text: &str, ep: &Endpoint) -> bool {
    settings(text).iter().any(|(k, vs)| {
        let k = k.as_str();
        if BIND_KEYS.contains(&k) {
            return vs.iter().any(|v| {
                super::unit_files::names_endpoint(&format!("ListenStream={}", v.trim()), ep)
            });
        }
        matches!((k, ep), ("port", Endpoint::Tcp { port, .. }) if vs.iter().any(|v| v.trim() == port.to_string()))
    })
}

/// The error logs a configuration names, relative to `cwd`.
fn config_logs(text: &str, cwd: &Path) -> Vec<PathBuf> {
    settings(text)
        .into_iter()
        .filter(|(k, _)| LOG_KEYS.contains(&k.as_str()))
        .filter_map(|(_, vs)| vs.first().and_then(|v| path_in(v, cwd)))
        .collect()
}

/// The error logs a command line names (and the configuration files it reads, under
/// `root`), resolved against `cwd`.
pub fn error_logs(root: &Path, kind: &str, argv: &[String], cwd: &Path) -> Vec<PathBuf> {
    let flags: &[&str] = match kind {
        "gunicorn" => &["--error-logfile", "--log-file"],
        "uwsgi" => &["--logto", "--logto2", "--daemonize"],
        "puma" => &["--redirect-stderr"],
        _ => &[],
    };
    let mut v: Vec<PathBuf> = flag(argv, flags)
        .into_iter()
        .filter_map(|p| path_in(p, cwd))
        .collect();
    if v.is_empty() {
        for c in configs(kind, argv, cwd) {
            v.extend(
                read(&under(root, &c))
                    .map(|t| config_logs(&t, cwd))
                    .unwrap_or_default(),
            );
        }
    }
    if kind == "java"
        && let Some(base) = flag(argv, &["-Dcatalina.base"]).first()
    {
        v.push(Path::new(base).join("logs/catalina.out"));
    }
    v.sort();
    v.dedup();
    v
}

/// A host path under `root` (`/` on a real host, fixtures in tests).
fn under(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

/// The NUL-separated words of `/proc/PID/cmdline` (or `environ`).
fn words(proc: &Path, pid: u32, file: &str) -> Vec<String> {
    crate::sys::readcap::read_capped(&proc.join(format!("{pid}/{file}")), 256 * 1024)
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The app server a running process is, with where its errors go. A Node app under pm2
/// is told by the `pm_err_log_path` pm2 puts in its environment (only that variable is
/// read, never a value of another).
pub fn running(proc: &Path, pid: u32) -> AppServer {
    let argv = words(proc, pid, "cmdline");
    let cwd = std::fs::read_link(proc.join(format!("{pid}/cwd"))).unwrap_or_else(|_| "/".into());
    let mut kind = kind_of(&argv).unwrap_or("app");
    let mut error_logs = error_logs(Path::new("/"), kind, &argv, &cwd);
    if kind == "node"
        && let Some(p) = words(proc, pid, "environ")
            .iter()
            .find_map(|w| w.strip_prefix("pm_err_log_path="))
    {
        kind = "pm2";
        error_logs.extend(path_in(p, &cwd));
    }
    AppServer {
        kind,
        pid: Some(pid),
        unit: crate::sys::procfs::systemd_unit(proc, pid),
        error_logs,
        config: None,
    }
}

/// A unit file's value of `key` (the last one wins, as in systemd).
fn unit_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim())
        .next_back()
}

/// The app servers configured for `ep` under `root` (`/` on a real host): units whose
/// `ExecStart=`, `ListenStream=` or `Environment=PORT=` name it, and units whose app
/// server's configuration (`gunicorn.conf.py`, uWSGI `.ini`, `ecosystem.config.js`, in its
/// working directory or on its command line) binds it.
pub fn configured(root: &Path, ep: &Endpoint) -> Vec<AppServer> {
    // The unit files are read once, for both questions asked of them.
    let units = super::unit_files::units(root);
    let by_unit = super::unit_files::configured_among(&units, ep);
    let mut out = Vec::new();
    for (name, text) in units.into_iter().filter(|(n, _)| n.ends_with(".service")) {
        let exec = unit_value(&text, "ExecStart").unwrap_or("");
        let argv: Vec<String> = exec
            .trim_start_matches(['-', '@', '+', '!', ':'])
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let cwd = PathBuf::from(
            unit_value(&text, "WorkingDirectory")
                .unwrap_or("/")
                .trim_start_matches('-'),
        );
        let kind = kind_of(&argv).unwrap_or("app");
        let named_by = configs(kind, &argv, &cwd)
            .into_iter()
            .find(|c| read(&under(root, c)).is_some_and(|t| config_names(&t, ep)));
        if named_by.is_none() && !by_unit.contains(&name) {
            continue;
        }
        out.push(AppServer {
            kind,
            pid: None,
            unit: Some(name),
            error_logs: error_logs(root, kind, &argv, &cwd),
            config: named_by,
        });
    }
    // A `.socket` unit names the address; its service is what runs.
    for name in by_unit.into_iter().filter(|n| n.ends_with(".socket")) {
        out.push(AppServer {
            kind: "app",
            unit: Some(name),
            ..AppServer::default()
        });
    }
    out
}

/// The app servers that serve the upstreams the installed web servers pass requests to,
/// running now (what is configured but not running has no errors to read), at most `max`.
pub fn behind_web_servers(proc: &Path, max: usize) -> Vec<AppServer> {
    let mut out: Vec<AppServer> = Vec::new();
    for s in crate::webstack::installed() {
        for u in &s.upstreams {
            let Some(ep) = u.endpoint() else { continue };
            if let super::listeners::Listening::By(h) = super::listeners::listening(proc, &ep) {
                let a = running(proc, h[0].pid);
                if !out.iter().any(|o| o.pid == a.pid) {
                    out.push(a);
                }
            }
            if out.len() >= max {
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn kinds_from_command_lines() {
        for (cmd, kind) in [
            (
                "/usr/bin/python3 /usr/bin/gunicorn -b 127.0.0.1:8000 app:app",
                "gunicorn",
            ),
            ("/srv/app/venv/bin/gunicorn app:app", "gunicorn"),
            ("/usr/bin/uwsgi --ini /etc/uwsgi/app.ini", "uwsgi"),
            (
                "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)",
                "php-fpm",
            ),
            ("/usr/bin/node /srv/app/server.js", "node"),
            (
                "/usr/bin/ruby /srv/app/bin/bundle exec puma -C config/puma.rb",
                "puma",
            ),
            ("unicorn_rails master -c config/unicorn.rb", "unicorn"),
            ("Passenger core", "passenger"),
            (
                "/usr/lib/jvm/java-17/bin/java -Dcatalina.base=/var/lib/tomcat9 org.apache.catalina.startup.Bootstrap",
                "java",
            ),
        ] {
            assert_eq!(kind_of(&argv(cmd)), Some(kind), "{cmd}");
        }
        assert_eq!(kind_of(&argv("/usr/bin/python3 manage.py runserver")), None);
    }

    #[test]
    fn error_logs_from_command_lines_and_configs() {
        let t = tempfile::tempdir().unwrap();
        let cwd = t.path();
        assert_eq!(
            error_logs(
                Path::new("/"),
                "gunicorn",
                &argv("gunicorn --error-logfile logs/err.log app:app"),
                cwd
            ),
            vec![cwd.join("logs/err.log")]
        );
        assert_eq!(
            error_logs(
                Path::new("/"),
                "gunicorn",
                &argv("gunicorn --error-logfile=- app:app"),
                cwd
            ),
            Vec::<PathBuf>::new(),
            "stderr goes to the journal"
        );
        std::fs::write(
            cwd.join("gunicorn.conf.py"),
            "bind = ['127.0.0.1:8000', 'unix:/run/app.sock']\nerrorlog = '/var/log/app/gunicorn.log'\nworkers = 3\n",
        )
        .unwrap();
        assert_eq!(
            error_logs(Path::new("/"), "gunicorn", &argv("gunicorn app:app"), cwd),
            vec![PathBuf::from("/var/log/app/gunicorn.log")]
        );
        std::fs::write(
            cwd.join("app.ini"),
            "[uwsgi]\nsocket = /run/uwsgi/app.sock\nlogto = /var/log/uwsgi/app.log\n",
        )
        .unwrap();
        let ini = cwd.join("app.ini").display().to_string();
        assert_eq!(
            error_logs(
                Path::new("/"),
                "uwsgi",
                &argv(&format!("uwsgi --ini {ini}")),
                cwd
            ),
            vec![PathBuf::from("/var/log/uwsgi/app.log")]
        );
        assert_eq!(
            error_logs(
                Path::new("/"),
                "uwsgi",
                &argv("uwsgi --logto /var/log/u.log x.ini"),
                cwd
            ),
            vec![PathBuf::from("/var/log/u.log")]
        );
        assert_eq!(
            error_logs(
                Path::new("/"),
                "java",
                &argv("java -Dcatalina.base=/var/lib/tomcat9 Bootstrap"),
                cwd
            ),
            vec![PathBuf::from("/var/lib/tomcat9/logs/catalina.out")]
        );
    }

    #[test]
    fn configs_name_addresses() {
        let tcp = |port| Endpoint::Tcp {
            host: "127.0.0.1".into(),
            port,
        };
        let gunicorn = "bind = ['127.0.0.1:8000', 'unix:/run/app.sock']\n";
        assert!(config_names(gunicorn, &tcp(8000)));
        assert!(config_names(
            gunicorn,
            &Endpoint::Unix("/run/app.sock".into())
        ));
        assert!(!config_names(gunicorn, &tcp(8001)));
        assert!(config_names("[uwsgi]\nhttp-socket = :9090\n", &tcp(9090)));
        let pm2 = "module.exports = {\n  apps: [{\n    name: 'api',\n    script: 'server.js',\n    error_file: '/var/log/pm2/api-error.log',\n    env: { PORT: 3000, NODE_ENV: 'production' }\n  }]\n};\n";
        // Only a `PORT:` on a line of its own is read (pm2's file is JavaScript).
        assert!(!config_names(pm2, &tcp(3000)));
        assert!(config_names("    PORT: 3000,\n", &tcp(3000)));
        assert!(config_names("      port: \"3000\",\n", &tcp(3000)));
        assert_eq!(
            config_logs(pm2, Path::new("/srv/api")),
            vec![PathBuf::from("/var/log/pm2/api-error.log")]
        );
    }

    #[test]
    fn units_configured_through_their_app_servers_config() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        let w = |p: &str, s: &str| {
            let f = r.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, s).unwrap();
        };
        w(
            "etc/systemd/system/shop.service",
            "[Service]\nWorkingDirectory=/srv/shop\nExecStart=/srv/shop/venv/bin/gunicorn shop.wsgi\n",
        );
        w(
            "srv/shop/gunicorn.conf.py",
            "bind = 'unix:/run/shop.sock'\n",
        );
        w(
            "etc/systemd/system/api.service",
            "[Service]\nWorkingDirectory=/srv/api\nExecStart=/usr/bin/pm2-runtime start ecosystem.config.js\n",
        );
        w(
            "srv/api/ecosystem.config.js",
            "module.exports = { apps: [{ name: 'api',\n  error_file: 'logs/api-error.log',\n  env: {\n    PORT: 3000\n  } }] }\n",
        );
        let shop = configured(r, &Endpoint::Unix("/run/shop.sock".into()));
        assert_eq!(shop.len(), 1);
        assert_eq!(shop[0].kind, "gunicorn");
        assert_eq!(shop[0].journal(), Some("shop.service"));
        assert_eq!(
            shop[0].config,
            Some(PathBuf::from("/srv/shop/gunicorn.conf.py"))
        );
        let api = configured(
            r,
            &Endpoint::Tcp {
                host: "127.0.0.1".into(),
                port: 3000,
            },
        );
        assert_eq!(api.len(), 1);
        assert_eq!(api[0].kind, "pm2");
        assert_eq!(
            api[0].error_logs,
            vec![PathBuf::from("/srv/api/logs/api-error.log")]
        );
        assert_eq!(api[0].label(), "pm2 (api.service)");
    }
}
