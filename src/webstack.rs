//! What web stack this host runs — nginx, Apache, PHP-FPM — read from their configuration
//! files as data (never by starting or reloading anything): binaries, versions, error logs,
//! web roots and the user the web server runs as. `init` and the built-in checklist use it.

use std::path::{Path, PathBuf};

/// Where the host's files are read from: `/`, or a tree of fixtures in tests.
pub const SYSROOT_ENV: &str = "SITEDOCTOR_SYSROOT";

pub fn sysroot() -> PathBuf {
    std::env::var_os(SYSROOT_ENV).map_or_else(|| PathBuf::from("/"), PathBuf::from)
}

/// The servers `from_config` and `configtest` know.
pub const SERVERS: &[&str] = &["nginx", "apache", "php-fpm"];

/// One installed server.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Server {
    pub name: &'static str,
    pub binary: PathBuf,
    /// The main configuration file.
    pub config: PathBuf,
    pub error_logs: Vec<PathBuf>,
    pub roots: Vec<PathBuf>,
    pub user: Option<String>,
    /// For PHP-FPM: its pools, `name (listen)`.
    pub pools: Vec<String>,
    /// The systemd unit, to suggest starting it.
    pub unit: String,
    /// What it passes requests to (nginx `proxy_pass`, `fastcgi_pass`…; Apache `ProxyPass`…).
    pub upstreams: Vec<crate::stack::upstreams::Upstream>,
    /// Every configuration file it reads: the main one, then the files it includes, in the
    /// order they are read (what the baseline records); one that cannot be read is listed too.
    pub config_files: Vec<PathBuf>,
}

/// Under `root` (`/` on a real host; a directory of fixtures in tests).
fn at(root: &Path, p: &str) -> PathBuf {
    root.join(p.trim_start_matches('/'))
}

fn first_binary(root: &Path, names: &[&str]) -> Option<PathBuf> {
    for dir in [
        "usr/sbin",
        "usr/bin",
        "sbin",
        "usr/local/sbin",
        "usr/local/bin",
    ] {
        for n in names {
            let p = root.join(dir).join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A server's configuration file, capped in size and never blocking on a FIFO or a device
/// (an `include` glob may match anything); bytes that are not UTF-8 are replaced.
fn read_config(file: &Path) -> Result<String, crate::sys::readcap::ReadError> {
    crate::sys::readcap::read_text_capped(file, crate::sys::readcap::DEFAULT_CAP)
}

/// Directives of a configuration and of everything it includes (depth-limited). nginx
/// statements end at `;`, `{` or `}` whatever the lines; Apache's end with the line.
fn directives(
    root: &Path,
    file: &Path,
    include_words: &[&str],
    base: &Path,
    depth: usize,
    out: &mut Vec<(String, Vec<String>)>,
    files: &mut Vec<PathBuf>,
) {
    files.push(file.to_path_buf());
    let Ok(text) = read_config(file) else {
        return;
    };
    let nginx_style = include_words == ["include"];
    let uncommented: Vec<&str> = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect();
    let statements: Vec<String> = if nginx_style {
        nginx_statements(&uncommented.join("\n"))
    } else {
        uncommented.iter().map(|l| l.to_string()).collect()
    };
    for stmt in statements {
        let mut words = stmt
            .split_whitespace()
            .map(|w| w.trim_matches(['"', '\'']).to_string());
        let Some(key) = words.next() else { continue };
        let args: Vec<String> = words.collect();
        if include_words.iter().any(|w| w.eq_ignore_ascii_case(&key)) && depth < 8 {
            for a in &args {
                let p = if a.starts_with('/') {
                    at(root, a)
                } else {
                    base.join(a)
                };
                for f in crate::sys::expand_glob(&p) {
                    directives(root, &f, include_words, base, depth + 1, out, files);
                }
            }
            continue;
        }
        out.push((key, args));
    }
}

/// nginx statements end at `;`, `{` or `}` whatever the lines; a block's end is kept as a
/// statement `}` of its own, so that what is inside an `upstream` block can be told apart.
fn nginx_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if matches!(c, ';' | '{' | '}') {
            out.push(std::mem::take(&mut cur));
            if c == '}' {
                out.push("}".into());
            }
        } else {
            cur.push(c);
        }
    }
    out.push(cur);
    out
}

/// Keep real files only: not stderr, syslog:, /dev/null, pipes.
fn as_log_path(root: &Path, v: &str) -> Option<PathBuf> {
    (v.starts_with('/') && !v.starts_with("/dev/")).then(|| at(root, v))
}

pub fn nginx(root: &Path) -> Option<Server> {
    let binary = first_binary(root, &["nginx"])?;
    let config = at(root, "/etc/nginx/nginx.conf");
    let mut d = Vec::new();
    let mut files = Vec::new();
    directives(
        root,
        &config,
        &["include"],
        &at(root, "/etc/nginx"),
        0,
        &mut d,
        &mut files,
    );
    let mut s = Server {
        name: "nginx",
        binary,
        config,
        unit: "nginx".into(),
        config_files: files,
        ..Server::default()
    };
    for (k, a) in &d {
        match (k.as_str(), a.first()) {
            ("error_log", Some(v)) => s.error_logs.extend(as_log_path(root, v)),
            ("root", Some(v)) => s.roots.push(at(root, v)),
            ("user", Some(v)) => s.user = Some(v.clone()),
            _ => {}
        }
    }
    s.upstreams = crate::stack::upstreams::from_nginx(&d);
    if s.error_logs.is_empty() {
        s.error_logs.push(at(root, "/var/log/nginx/error.log"));
    }
    finish(&mut s);
    Some(s)
}

pub fn apache(root: &Path) -> Option<Server> {
    let (binary, config, base, unit) = if let Some(b) = first_binary(root, &["apache2"]) {
        (
            b,
            at(root, "/etc/apache2/apache2.conf"),
            at(root, "/etc/apache2"),
            "apache2",
        )
    } else {
        let b = first_binary(root, &["httpd"])?;
        (
            b,
            at(root, "/etc/httpd/conf/httpd.conf"),
            at(root, "/etc/httpd"),
            "httpd",
        )
    };
    // Debian's envvars define the variables the configuration uses.
    let mut vars: Vec<(String, String)> =
        vec![("APACHE_LOG_DIR".into(), "/var/log/apache2".into())];
    if let Ok(env) = read_config(&at(root, "/etc/apache2/envvars")) {
        for l in env.lines() {
            if let Some((k, v)) = l
                .trim()
                .strip_prefix("export ")
                .and_then(|r| r.split_once('='))
            {
                let v = v.trim_matches('"').to_string();
                if !v.contains('$') {
                    vars.push((k.to_string(), v));
                }
            }
        }
    }
    let subst = |s: &str| {
        let mut s = s.to_string();
        for (k, v) in &vars {
            s = s.replace(&format!("${{{k}}}"), v);
        }
        s
    };
    let mut d = Vec::new();
    let mut files = Vec::new();
    directives(
        root,
        &config,
        &["Include", "IncludeOptional"],
        &base,
        0,
        &mut d,
        &mut files,
    );
    let mut s = Server {
        name: "apache",
        binary,
        config,
        unit: unit.into(),
        config_files: files,
        ..Server::default()
    };
    let substituted: Vec<(String, Vec<String>)> = d
        .iter()
        .map(|(k, a)| (k.clone(), a.iter().map(|v| subst(v)).collect()))
        .collect();
    s.upstreams = crate::stack::upstreams::from_apache(&substituted);
    for (k, a) in &d {
        let Some(v) = a.first().map(|v| subst(v)) else {
            continue;
        };
        match k.to_ascii_lowercase().as_str() {
            "errorlog" => s.error_logs.extend(as_log_path(root, &v)),
            "documentroot" => s.roots.push(at(root, &v)),
            "user" if !v.contains('$') => s.user = Some(v),
            _ => {}
        }
    }
    if s.error_logs.is_empty() {
        s.error_logs.push(at(
            root,
            if unit == "apache2" {
                "/var/log/apache2/error.log"
            } else {
                "/var/log/httpd/error_log"
            },
        ));
    }
    finish(&mut s);
    Some(s)
}

/// Every PHP-FPM installed (one per PHP version on Debian).
pub fn php_fpm(root: &Path) -> Vec<Server> {
    let mut found = Vec::new();
    let mut versions: Vec<String> = std::fs::read_dir(at(root, "/etc/php"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    for v in versions {
        let Some(binary) = first_binary(root, &[&format!("php-fpm{v}")]) else {
            continue;
        };
        let config = at(root, &format!("/etc/php/{v}/fpm/php-fpm.conf"));
        found.push(read_fpm(
            root,
            binary,
            config,
            &at(root, &format!("/etc/php/{v}/fpm")),
            &format!("php{v}-fpm"),
        ));
    }
    if found.is_empty()
        && let Some(binary) = first_binary(root, &["php-fpm"])
    {
        found.push(read_fpm(
            root,
            binary,
            at(root, "/etc/php-fpm.conf"),
            &at(root, "/etc"),
            "php-fpm",
        ));
    }
    found
}

fn read_fpm(root: &Path, binary: PathBuf, config: PathBuf, base: &Path, unit: &str) -> Server {
    let mut s = Server {
        name: "php-fpm",
        binary,
        config: config.clone(),
        unit: unit.into(),
        ..Server::default()
    };
    let mut files = vec![config];
    let mut i = 0;
    let mut pool = String::new();
    while i < files.len() && i < 64 {
        s.config_files.push(files[i].clone());
        let Ok(text) = read_config(&files[i]) else {
            i += 1;
            continue;
        };
        for raw in text.lines() {
            let line = raw.split(';').next().unwrap_or("").trim();
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                pool = name.to_string();
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim().trim_matches('"'));
            match k {
                "include" => {
                    let p = if v.starts_with('/') {
                        at(root, v)
                    } else {
                        base.join(v)
                    };
                    files.extend(crate::sys::expand_glob(&p));
                }
                "error_log" | "php_admin_value[error_log]" | "php_value[error_log]" | "slowlog" => {
                    s.error_logs.extend(as_log_path(root, v))
                }
                "user" if pool != "global" && s.user.is_none() => s.user = Some(v.to_string()),
                "listen" if pool != "global" => s.pools.push(format!("{pool} ({v})")),
                _ => {}
            }
        }
        i += 1;
    }
    finish(&mut s);
    s
}

fn finish(s: &mut Server) {
    s.error_logs.sort();
    s.error_logs.dedup();
    s.roots.sort();
    s.roots.dedup();
}

/// The servers installed on this host, detected once per run and shared by the checks
/// that need them (`configtest`, `log`'s `from_config`, `htaccess`).
pub fn installed() -> &'static [Server] {
    static HOST: std::sync::OnceLock<Vec<Server>> = std::sync::OnceLock::new();
    HOST.get_or_init(|| detect(&sysroot()))
}

/// Installed servers of one kind: "nginx", "apache" or "php-fpm" (one per PHP version).
pub fn installed_named(name: &str) -> impl Iterator<Item = &'static Server> + '_ {
    installed().iter().filter(move |s| s.name == name)
}

/// The existing error logs named in a server's configuration (for `log`'s `from_config`).
pub fn error_logs(server: &str) -> Vec<PathBuf> {
    installed_named(server)
        .flat_map(|s| s.error_logs.iter())
        .filter(|p| p.exists())
        .cloned()
        .collect()
}

/// The user the web server runs as: the configured one, else the first usual name that exists.
pub fn web_user(servers: &[Server]) -> Option<String> {
    servers
        .iter()
        .filter(|s| s.name != "php-fpm")
        .find_map(|s| s.user.clone())
        .or_else(|| {
            ["www-data", "nginx", "apache", "http"]
                .iter()
                .find(|u| crate::sys::users::uid_of(u).ok().flatten().is_some())
                .map(|u| u.to_string())
        })
}

/// Everything detected on this host.
pub fn detect(root: &Path) -> Vec<Server> {
    let mut v: Vec<Server> = nginx(root).into_iter().chain(apache(root)).collect();
    v.extend(php_fpm(root));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, p: &str, text: &str) {
        let f = at(root, p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }

    #[test]
    fn reads_a_debian_stack_from_its_configs() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(r, "/usr/sbin/nginx", "");
        write(
            r,
            "/etc/nginx/nginx.conf",
            "user www-data;\nerror_log /var/log/nginx/error.log;\nhttp {\n include /etc/nginx/sites-enabled/*;\n}\n",
        );
        write(
            r,
            "/etc/nginx/sites-enabled/shop",
            "server {\n  root /srv/shop/public; # the shop\n  error_log /var/log/nginx/shop.error.log warn;\n  error_log syslog:server=unix:/dev/log;\n}\n",
        );
        write(r, "/usr/sbin/apache2", "");
        write(
            r,
            "/etc/apache2/envvars",
            "export APACHE_RUN_USER=www-data\nexport APACHE_LOG_DIR=/var/log/apache2$SUFFIX\n",
        );
        write(
            r,
            "/etc/apache2/apache2.conf",
            "User ${APACHE_RUN_USER}\nErrorLog ${APACHE_LOG_DIR}/error.log\nIncludeOptional sites-enabled/*.conf\n",
        );
        write(
            r,
            "/etc/apache2/sites-enabled/000-default.conf",
            "<VirtualHost *:80>\n DocumentRoot /var/www/html\n</VirtualHost>\n",
        );
        write(r, "/usr/sbin/php-fpm8.2", "");
        write(
            r,
            "/etc/php/8.2/fpm/php-fpm.conf",
            "[global]\nerror_log = /var/log/php8.2-fpm.log\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
        );
        write(
            r,
            "/etc/php/8.2/fpm/pool.d/www.conf",
            "[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\nphp_admin_value[error_log] = /var/log/fpm-php.www.log\n",
        );
        let all = detect(r);
        assert_eq!(all.len(), 3);
        let n = &all[0];
        assert_eq!(
            n.error_logs,
            vec![
                at(r, "/var/log/nginx/error.log"),
                at(r, "/var/log/nginx/shop.error.log")
            ]
        );
        assert_eq!(n.roots, vec![at(r, "/srv/shop/public")]);
        assert_eq!(n.user.as_deref(), Some("www-data"));
        assert_eq!(
            n.config_files,
            [
                at(r, "/etc/nginx/nginx.conf"),
                at(r, "/etc/nginx/sites-enabled/shop")
            ]
        );
        let a = &all[1];
        assert_eq!(a.error_logs, vec![at(r, "/var/log/apache2/error.log")]);
        assert_eq!(a.roots, vec![at(r, "/var/www/html")]);
        assert_eq!(
            a.config_files,
            [
                at(r, "/etc/apache2/apache2.conf"),
                at(r, "/etc/apache2/sites-enabled/000-default.conf")
            ]
        );
        assert_eq!(a.user.as_deref(), Some("www-data"));
        let f = &all[2];
        assert_eq!(f.unit, "php8.2-fpm");
        assert_eq!(
            f.error_logs,
            vec![
                at(r, "/var/log/fpm-php.www.log"),
                at(r, "/var/log/php8.2-fpm.log")
            ]
        );
        assert_eq!(f.pools, vec!["www (/run/php/php8.2-fpm.sock)".to_string()]);
        assert_eq!(
            f.config_files,
            [
                at(r, "/etc/php/8.2/fpm/php-fpm.conf"),
                at(r, "/etc/php/8.2/fpm/pool.d/www.conf")
            ]
        );
        assert_eq!(web_user(&all).as_deref(), Some("www-data"));
    }

    #[test]
    fn an_included_fifo_is_skipped_without_blocking() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(r, "/usr/sbin/nginx", "");
        write(
            r,
            "/etc/nginx/nginx.conf",
            "error_log /var/log/nginx/error.log;\ninclude /etc/nginx/conf.d/*;\n",
        );
        std::fs::create_dir_all(at(r, "/etc/nginx/conf.d")).unwrap();
        nix::unistd::mkfifo(
            &at(r, "/etc/nginx/conf.d/pipe"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let s = nginx(r).unwrap();
        assert_eq!(s.error_logs, vec![at(r, "/var/log/nginx/error.log")]);
    }

    #[test]
    fn nothing_installed() {
        let t = tempfile::tempdir().unwrap();
        assert!(detect(t.path()).is_empty());
    }
}
