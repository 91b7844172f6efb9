//! Where PHP-FPM's `memory_limit` is set on this host: each pool's
//! `php_admin_value[memory_limit]`/`php_value[memory_limit]`, the FPM `conf.d/*.ini` files
//! and `php.ini`, with file and line — so an "Allowed memory size exhausted" error can say
//! where to raise the limit it hit; and which pools enable their status page, and where they
//! listen.

use std::path::{Path, PathBuf};

/// One place `memory_limit` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// As written: `128M`, `-1`.
    pub value: String,
    /// In bytes; `None` for unlimited or unreadable values.
    pub bytes: Option<u64>,
    pub file: PathBuf,
    pub line: u32,
    /// The pool that sets it, for a pool setting, and the key (`php_admin_value[...]`).
    pub pool: Option<(String, String)>,
    /// The pool's own error log, when it names one.
    pub pool_log: Option<PathBuf>,
    /// The PHP version directory (`8.2`), whose FPM unit is `php8.2-fpm`.
    pub version: String,
}

impl Setting {
    /// How much it says about the effective limit: a pool's beats `conf.d`, which beats
    /// `php.ini` (the order PHP applies them in).
    fn precedence(&self) -> u8 {
        if self.pool.is_some() {
            2
        } else if self.file.parent().is_some_and(|d| d.ends_with("conf.d")) {
            1
        } else {
            0
        }
    }

    /// The systemd unit to reload after changing it.
    pub fn unit(&self) -> String {
        format!("php{}-fpm", self.version)
    }
}

const FILES_CAP: usize = 256;

/// Every `memory_limit` setting of every PHP-FPM under `root` (`/` on a real host).
pub fn memory_limits(root: &Path) -> Vec<Setting> {
    let mut out = Vec::new();
    for (v, fpm) in fpm_dirs(root) {
        let mut files = vec![fpm.join("php.ini")];
        files.extend(crate::sys::expand_glob(&fpm.join("conf.d/*.ini")));
        files.push(fpm.join("php-fpm.conf"));
        files.extend(crate::sys::expand_glob(&fpm.join("pool.d/*.conf")));
        for f in files.iter().take(FILES_CAP) {
            let Ok(text) =
                crate::sys::readcap::read_text_capped(f, crate::sys::readcap::DEFAULT_CAP)
            else {
                continue;
            };
            out.extend(settings_in(&text, f, &v));
        }
    }
    out
}

/// `/etc/php/VERSION/fpm` of every PHP version under `root`, oldest first.
fn fpm_dirs(root: &Path) -> Vec<(String, PathBuf)> {
    let Ok(rd) = std::fs::read_dir(root.join("etc/php")) else {
        return Vec::new();
    };
    let mut versions: Vec<String> = rd
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions.truncate(16);
    versions
        .into_iter()
        .map(|v| {
            let dir = root.join("etc/php").join(&v).join("fpm");
            (v, dir)
        })
        .collect()
}

/// The `memory_limit` settings of one ini-style file (`;` and `#` start comments).
pub fn settings_in(text: &str, file: &Path, version: &str) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    let mut section = String::new();
    let mut logs: Vec<(String, PathBuf)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split([';', '#']).next().unwrap_or("").trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim().trim_matches(['"', '\'']));
        let pooled = k.starts_with("php_admin_value[") || k.starts_with("php_value[");
        let inner = k
            .split_once('[')
            .map(|(_, r)| r.trim_end_matches(']').trim());
        if pooled && inner == Some("error_log") {
            logs.push((section.clone(), PathBuf::from(v)));
        }
        let is_limit = k == "memory_limit" || (pooled && inner == Some("memory_limit"));
        if !is_limit {
            continue;
        }
        let pool = (pooled && !section.is_empty() && section != "global" && section != "PHP")
            .then(|| (section.clone(), k.to_string()));
        out.push(Setting {
            value: v.to_string(),
            bytes: parse_size(v),
            file: file.to_path_buf(),
            line: i as u32 + 1,
            pool,
            pool_log: None,
            version: version.to_string(),
        });
    }
    for s in &mut out {
        if let Some((pool, _)) = &s.pool {
            s.pool_log = logs.iter().find(|(p, _)| p == pool).map(|(_, l)| l.clone());
        }
    }
    out
}

/// PHP's shorthand sizes: `128M`, `1G`, `512K`, `134217728`; `None` for `-1` (unlimited)
/// or what PHP would not read as a size.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'k' | 'K') => (s.get(..i)?, 1u64 << 10),
        (i, 'm' | 'M') => (s.get(..i)?, 1 << 20),
        (i, 'g' | 'G') => (s.get(..i)?, 1 << 30),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// The setting that explains a logged limit of `bytes`: one whose value is that size —
/// a pool's whose error log is `log` first, then by precedence, then the newest PHP.
pub fn explaining(settings: &[Setting], bytes: u64, log: &Path) -> Option<Setting> {
    settings
        .iter()
        .filter(|s| s.bytes == Some(bytes))
        .max_by_key(|s| {
            (
                s.pool_log
                    .as_deref()
                    .is_some_and(|l| log.ends_with(l) || l == log),
                s.precedence(),
                s.version.clone(),
            )
        })
        .cloned()
}

/// A pool whose status page is enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPage {
    pub pool: String,
    /// `pm.status_path`: `/status`.
    pub path: String,
    /// Where to ask for it: `pm.status_listen` when set, else the pool's `listen` (as
    /// written, `$pool` replaced); `None` when the pool names neither.
    pub listen: Option<String>,
}

/// The pools under `root` whose status page is enabled.
pub fn status_paths(root: &Path) -> Vec<StatusPage> {
    let files = fpm_dirs(root)
        .into_iter()
        .flat_map(|(_, d)| crate::sys::expand_glob(&d.join("pool.d/*.conf")));
    let mut out = Vec::new();
    for f in files.take(FILES_CAP) {
        let Ok(text) = crate::sys::readcap::read_text_capped(&f, crate::sys::readcap::DEFAULT_CAP)
        else {
            continue;
        };
        out.extend(status_pages_in(&text));
    }
    out
}

/// The status pages one pool file enables (`;` starts a comment).
pub fn status_pages_in(text: &str) -> Vec<StatusPage> {
    // Per pool: (status path, listen, status listen).
    let mut pools: Vec<(String, [Option<String>; 3])> = Vec::new();
    for raw in text.lines() {
        let line = raw.split(';').next().unwrap_or("").trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            pools.push((name.trim().to_string(), Default::default()));
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let slot = match k.trim() {
            "pm.status_path" => 0,
            "listen" => 1,
            "pm.status_listen" => 2,
            _ => continue,
        };
        if let Some((_, vals)) = pools.last_mut() {
            vals[slot] = Some(v.trim().trim_matches(['"', '\'']).to_string());
        }
    }
    pools
        .into_iter()
        .filter(|(name, _)| name != "global")
        .filter_map(|(pool, [path, listen, status_listen])| {
            let listen = status_listen.or(listen).map(|l| l.replace("$pool", &pool));
            Some(StatusPage {
                path: path?,
                listen,
                pool,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128M"), Some(134217728));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("512K"), Some(512 * 1024));
        assert_eq!(parse_size("134217728"), Some(134217728));
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("M"), None);
        assert_eq!(parse_size("é"), None);
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("99999999999999999G"), None);
    }

    fn write(root: &Path, p: &str, text: &str) {
        let f = root.join(p);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    }

    #[test]
    fn the_pool_that_sets_the_logged_limit_wins_over_php_ini() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        write(
            r,
            "etc/php/8.2/fpm/php.ini",
            "[PHP]\n; memory_limit = 1G\nmemory_limit = 128M\n",
        );
        write(
            r,
            "etc/php/8.2/fpm/pool.d/www.conf",
            "[www]\nlisten = /run/php/php8.2-fpm.sock\n",
        );
        write(
            r,
            "etc/php/8.2/fpm/pool.d/shop.conf",
            "[shop]\nphp_admin_value[error_log] = /var/log/shop.log\nphp_admin_value[memory_limit] = 256M\n",
        );
        let all = memory_limits(r);
        assert_eq!(all.len(), 2);
        let ini = explaining(&all, 128 << 20, Path::new("/var/log/php8.2-fpm.log")).unwrap();
        assert_eq!((ini.line, ini.pool.clone()), (3, None));
        assert_eq!(ini.file, r.join("etc/php/8.2/fpm/php.ini"));
        assert_eq!(ini.unit(), "php8.2-fpm");
        let pool = explaining(&all, 256 << 20, Path::new("/var/log/shop.log")).unwrap();
        assert_eq!(
            pool.pool,
            Some(("shop".into(), "php_admin_value[memory_limit]".into()))
        );
        assert_eq!(pool.line, 3);
        assert_eq!(explaining(&all, 64 << 20, Path::new("/x")), None);
        assert!(status_paths(r).is_empty());
        write(
            r,
            "etc/php/8.2/fpm/pool.d/www.conf",
            "[www]\n;pm.status_path = /off\npm.status_path = /fpm-status\n",
        );
        assert_eq!(
            status_paths(r),
            vec![StatusPage {
                pool: "www".into(),
                path: "/fpm-status".into(),
                listen: None
            }]
        );
        assert!(memory_limits(Path::new("/no/such/root")).is_empty());
    }

    #[test]
    fn status_pages_with_where_to_ask_for_them() {
        let text = "[global]\npm.status_path = /not-a-pool\n\
                    [www]\nlisten = /run/php/$pool.sock\npm.status_path = /status ; on\n\
                    [shop]\nlisten = 127.0.0.1:9001\npm.status_listen = \"127.0.0.1:9002\"\n\
                    pm.status_path=/fpm\n\
                    [quiet]\nlisten = 9003\n;pm.status_path = /off\n";
        let page = |pool: &str, path: &str, listen: &str| StatusPage {
            pool: pool.into(),
            path: path.into(),
            listen: Some(listen.into()),
        };
        assert_eq!(
            status_pages_in(text),
            vec![
                page("www", "/status", "/run/php/www.sock"),
                page("shop", "/fpm", "127.0.0.1:9002"),
            ]
        );
    }
}
