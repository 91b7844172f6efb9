//! A distinct error from a log, as a finding whose fix fits what the line says is wrong:
//! a misspelled or disabled Apache directive, a dead upstream, a missing environment
//! variable, a full mount, a memory limit, a file the server may not open — never "tail the
//! log" when the line itself says what is wrong.

use std::path::{Path, PathBuf};

use crate::check::Status;
use crate::finding::{Cause, Finding, Subject};
use crate::logscan::classify::{Class, Failure, Peer};
use crate::shell::{shell_quote, shell_quote_path};
use crate::stack::env_addresses::{self, Declared, Role};
use crate::stack::env_sources::{self, Origin, Source};
use crate::stack::probe::{self, Verdict};

/// What the fixes need to know of this host, read once per run (tests build their own).
#[derive(Debug, Clone, Default)]
pub struct Host {
    /// Where Apache keeps `mods-available` and `mods-enabled`, when Apache is installed.
    pub apache_dir: Option<PathBuf>,
    /// Whether PHP runs under PHP-FPM (so `.htaccess` `php_value` lines are not read).
    pub php_fpm: bool,
    /// PHP-FPM pools: (pool, listen address, systemd unit).
    pub pools: Vec<(String, String, String)>,
    /// The mount points of this host, for "which filesystem holds this path".
    pub mounts: Vec<PathBuf>,
    /// The proc root to see what listens on an upstream (`None`: do not look).
    pub proc: Option<PathBuf>,
    /// The root under which unit files and PHP settings are read (`None`: do not look).
    pub root: Option<PathBuf>,
}

impl Host {
    /// This host's, read once per run.
    /// Nothing known of this host (for fixes that need nothing of it).
    pub fn none() -> &'static Host {
        static NONE: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
        NONE.get_or_init(Host::default)
    }

    pub fn cached() -> &'static Host {
        static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();
        HOST.get_or_init(Host::detect)
    }

    /// Read from this host's web stack.
    pub fn detect() -> Host {
        // Tests point it at a directory of fixtures, as they do for `init`.
        let root = std::env::var_os(crate::init::SYSROOT_ENV)
            .map_or_else(|| PathBuf::from("/"), PathBuf::from);
        let fixtures;
        let servers = if root == Path::new("/") {
            crate::webstack::installed()
        } else {
            fixtures = crate::webstack::detect(&root);
            &fixtures
        };
        let apache = servers.iter().find(|s| s.name == "apache");
        let mut pools = Vec::new();
        for s in servers.iter().filter(|s| s.name == "php-fpm") {
            for p in &s.pools {
                // "name (listen)"
                if let Some((name, listen)) = p.split_once(" (") {
                    pools.push((
                        name.to_string(),
                        listen.trim_end_matches(')').to_string(),
                        s.unit.clone(),
                    ));
                }
            }
        }
        Host {
            apache_dir: apache.and_then(|a| a.config.parent().map(Path::to_path_buf)),
            php_fpm: !pools.is_empty(),
            pools,
            mounts: crate::sys::mounts::read()
                .map(|m| m.into_iter().map(|m| m.point).collect())
                .unwrap_or_default(),
            proc: Some(crate::sys::procfs::proc_root()),
            root: Some(root),
        }
    }
}

/// One distinct error as the log check grouped it.
pub struct Entry<'a> {
    pub class: &'a Class,
    /// The newest occurrence, timestamp stripped, sanitized, clipped.
    pub text: &'a str,
    pub count: u64,
    pub fatal: bool,
    /// The log file it was read from (shown form).
    pub log: &'a str,
    /// The source file and line it points at.
    pub location: Option<&'a (String, u32)>,
    pub newest: i64,
}

/// The finding for one distinct error.
pub fn finding(e: &Entry<'_>, host: &Host) -> Finding {
    let status = if e.fatal { Status::Fail } else { Status::Warn };
    let text = format!("{}× {}", e.count, e.text);
    let f = |subject, cause| Finding::new(subject, cause, status, text.clone()).at(e.newest);
    match e.class {
        Class::InvalidCommand {
            directive,
            file,
            line,
        } => f(
            Subject::Directive {
                directive: directive.clone(),
                path: file.clone(),
                line: *line,
            },
            Cause::Config,
        )
        .fix(invalid_command_fix(directive, file.as_deref(), *line, host)),
        Class::Upstream {
            failure,
            upstream,
            request,
        } => {
            let cause = if *failure == Failure::TimedOut {
                Cause::Timeout
            } else {
                Cause::Dependency
            };
            let subject = upstream.as_ref().map_or_else(
                || Subject::path(e.log),
                |u| Subject::Address { address: u.clone() },
            );
            f(subject, cause).fix(upstream_fix(
                *failure,
                upstream.as_deref(),
                request.as_deref(),
                host,
            ))
        }
        Class::Unreachable {
            peer,
            failure,
            address,
            url,
        } => {
            let cause = if *failure == Failure::TimedOut {
                Cause::Timeout
            } else {
                Cause::Dependency
            };
            // A line that names no address (PDO's `[2002] Connection refused`): the one
            // the app's environment declares for that kind of peer.
            let declared = match (address, url) {
                (None, None) => declared_for(*peer, e),
                _ => None,
            };
            let named = address
                .clone()
                .or_else(|| declared.as_ref().map(|d| d.address.clone()));
            let subject = match (&named, url) {
                (Some(a), _) => Subject::Address { address: a.clone() },
                (None, Some(u)) => Subject::Url {
                    url: crate::net::redact::url(u),
                },
                (None, None) => code_subject(e),
            };
            let probe_at = named.or_else(|| {
                url.as_deref()
                    .and_then(env_addresses::url_address)
                    .map(|(h, p, _)| env_addresses::join(&h, p))
            });
            f(subject, cause).fix(unreachable_fix(
                *peer,
                *failure,
                probe_at.as_deref(),
                declared.as_ref(),
            ))
        }
        Class::MissingEnv { var } => f(Subject::Var { name: var.clone() }, Cause::Deploy)
            .fix(missing_env_fix(var, &env_sources_of(e))),
        Class::NoSpace { path } => {
            let subject = path
                .as_ref()
                .map_or_else(|| Subject::path(e.log), |p| Subject::path(p.clone()));
            let mount = path
                .as_deref()
                .and_then(|p| mount_of(&host.mounts, Path::new(p)))
                .unwrap_or_else(|| PathBuf::from("/"));
            f(subject, Cause::Resources).fix(format!(
                "free space on {m}: du -xh --max-depth=2 {q} | sort -h | tail -20",
                m = crate::sanitize::path(&mount),
                q = shell_quote_path(&mount)
            ))
        }
        Class::MemoryExhausted { limit } => f(code_subject(e), Cause::Resources).fix(
            super::log_stack::memory_fix(
                *limit,
                e.log,
                e.location.map(|(p, l)| format!("{p}:{l}")),
                host,
            ),
        ),
        Class::PermissionDenied { path } => f(Subject::path(path.clone()), Cause::Permissions)
            .fix(format!(
                "let the web server's user read {p} and enter every directory above it: namei -l {q}",
                p = path,
                q = shell_quote(path)
            )),
        Class::TooManyOpenFiles => f(Subject::path(e.log), Cause::Resources).fix(
            "the server ran out of file descriptors: raise LimitNOFILE= in its systemd unit (and nginx's worker_rlimit_nofile), then restart it",
        ),
        Class::MissingModule {
            stack,
            module,
            from,
            env,
        } => f(code_subject(e), Cause::Deploy).fix(super::log_deps::missing_module_fix(
            *stack,
            module,
            from.as_deref(),
            env.as_deref(),
            e.log,
        )),
        Class::Other => {
            let subject = code_subject(e);
            let fix = match e.location {
                Some((file, line)) => format!(
                    "open {file} at line {line}: that is where the newest {}error points",
                    if e.fatal { "fatal " } else { "" }
                ),
                None => format!(
                    "tail -n 50 {}    # read the newest errors in context",
                    shell_quote(e.log)
                ),
            };
            f(subject, Cause::Code).fix(fix)
        }
    }
}

fn code_subject(e: &Entry<'_>) -> Subject {
    match e.location {
        Some((p, l)) => Subject::Path {
            path: p.clone(),
            line: Some(*l),
        },
        None => Subject::path(e.log),
    }
}

/// The mount point that holds `path`: the longest that is a prefix of it, by components.
fn mount_of(mounts: &[PathBuf], path: &Path) -> Option<PathBuf> {
    mounts
        .iter()
        .filter(|m| path.starts_with(m))
        .max_by_key(|m| m.components().count())
        .cloned()
}

/// Directives of Apache modules that are often installed but not enabled: (directive,
/// module), lower case.
const MODULE_OF: &[(&str, &str)] = &[
    ("rewriteengine", "rewrite"),
    ("rewriterule", "rewrite"),
    ("rewritecond", "rewrite"),
    ("rewritebase", "rewrite"),
    ("rewriteoptions", "rewrite"),
    ("header", "headers"),
    ("requestheader", "headers"),
    ("expiresactive", "expires"),
    ("expiresbytype", "expires"),
    ("expiresdefault", "expires"),
    ("proxypass", "proxy"),
    ("proxypassreverse", "proxy"),
    ("proxypreservehost", "proxy"),
    ("addoutputfilterbytype", "filter"),
    ("deflatecompressionlevel", "deflate"),
    ("sslengine", "ssl"),
    ("sslcertificatefile", "ssl"),
    ("remoteipheader", "remoteip"),
    ("wsgiscriptalias", "wsgi"),
    ("wsgidaemonprocess", "wsgi"),
    ("passengerenabled", "passenger"),
    ("fcgidwrapper", "fcgid"),
    ("authuserfile", "authn_file"),
    ("authgroupfile", "authz_groupfile"),
    ("setenvif", "setenvif"),
    ("setenvifnocase", "setenvif"),
    ("browsermatch", "setenvif"),
    ("redirect", "alias"),
    ("redirectmatch", "alias"),
    ("cachequickhandler", "cache"),
    ("cacheenable", "cache"),
    ("headername", "autoindex"),
    ("indexoptions", "autoindex"),
    ("davlockdb", "dav_fs"),
    ("security2", "security2"),
    ("secruleengine", "security2"),
];

fn invalid_command_fix(
    directive: &str,
    file: Option<&str>,
    line: Option<u32>,
    host: &Host,
) -> String {
    let lower = directive.to_ascii_lowercase();
    let place = match (file, line) {
        (Some(f), Some(l)) => format!("line {l} of {f}"),
        (Some(f), None) => f.to_string(),
        _ => "the configuration".to_string(),
    };
    if lower.starts_with("php_") {
        return if host.php_fpm {
            format!(
                "PHP runs under PHP-FPM, which never reads .htaccess: remove `{directive}` from {place}; put the setting in a .user.ini in that directory (`name = value`), or in the pool as php_admin_value[name] = value"
            )
        } else {
            format!(
                "`{directive}` needs mod_php, which is not loaded: remove it from {place} and set the value in php.ini or a .user.ini"
            )
        };
    }
    if let Some((_, module)) = MODULE_OF.iter().find(|(d, _)| *d == lower)
        && let Some(dir) = &host.apache_dir
    {
        let available = dir.join(format!("mods-available/{module}.load")).exists();
        let enabled = dir.join(format!("mods-enabled/{module}.load")).exists();
        if available && !enabled {
            return format!(
                "`{directive}` belongs to mod_{module}, installed but not enabled: a2enmod {module} && systemctl reload apache2"
            );
        }
        if !available {
            return format!(
                "`{directive}` belongs to mod_{module}, which is not installed here: install it, or remove the line from {place}"
            );
        }
    }
    if let Some(near) = nearest_directive(directive) {
        return format!("{place}: `{directive}` → `{near}` (a misspelled directive)");
    }
    format!(
        "no loaded module provides `{directive}`: remove it from {place}, or enable the module that provides it"
    )
}

fn upstream_fix(
    failure: Failure,
    upstream: Option<&str>,
    request: Option<&str>,
    host: &Host,
) -> String {
    let Some(up) = upstream else {
        return "the web server could not get an answer from its upstream: check the app server it proxies to".into();
    };
    let pool = host
        .pools
        .iter()
        .find(|(_, listen, _)| same_listen(listen, up));
    super::log_stack::upstream_fix(failure, up, request, pool, host)
}

/// An FPM `listen` value and an nginx upstream name the same place: `/run/php/x.sock` ↔
/// `unix:/run/php/x.sock`, `9000` ↔ `127.0.0.1:9000`.
fn same_listen(listen: &str, upstream: &str) -> bool {
    let up = upstream.strip_prefix("unix:").unwrap_or(upstream);
    if listen == up {
        return true;
    }
    let port_of = |s: &str| {
        s.rsplit_once(':')
            .map_or(s.to_string(), |(_, p)| p.to_string())
    };
    let host_of = |s: &str| s.rsplit_once(':').map(|(h, _)| h.to_string());
    !listen.starts_with('/')
        && port_of(listen) == port_of(up)
        && match (host_of(listen), host_of(up)) {
            (None, Some(h)) => h == "127.0.0.1" || h == "localhost" || h == "[::1]",
            (Some(a), Some(b)) => a == b || a == "0.0.0.0" || a == "[::]",
            _ => true,
        }
}

fn unreachable_fix(
    peer: Peer,
    failure: Failure,
    address: Option<&str>,
    declared: Option<&Declared>,
) -> String {
    let what = match peer {
        Peer::Database => "the database",
        Peer::Cache => "the cache",
        Peer::Http => "the API",
        Peer::Unknown => "a service the app depends on",
    };
    let from = declared.map_or(String::new(), |d| format!(" ({} in {})", d.names, d.source));
    let at = address.map_or(String::new(), |a| format!(" at {a}{from}"));
    // What the address does now says more than what the line said it did then.
    match address.and_then(probe::probe_named) {
        Some(Verdict::Refused) => {
            return format!(
                "{what}{at} refuses connections: start it, or point the app at the right host and port"
            );
        }
        Some(Verdict::Accepts(_)) => {
            return format!(
                "{what}{at} accepts connections now (it may have been down when the error was logged): if the error comes back, read that service's own log"
            );
        }
        Some(Verdict::Silent(t)) => {
            return format!(
                "{what}{at} does not answer within {}: check that service and the network to it (a firewall dropping packets, or a dead host)",
                crate::units::fmt_duration(t)
            );
        }
        Some(Verdict::Unresolved(why)) => {
            return format!(
                "the host name of {what}{at} does not resolve ({why}): check the app's configured host and DNS"
            );
        }
        Some(Verdict::Failed(why)) => {
            return format!(
                "sitedoctor cannot reach {what}{at} either ({why}): check that it runs and the network to it"
            );
        }
        Some(Verdict::Forbidden) | None => {}
    }
    match failure {
        Failure::Refused => format!(
            "{what}{at} refuses connections: start it, or point the app at the right host and port"
        ),
        Failure::TimedOut => {
            format!("{what}{at} does not answer in time: check that service and the network to it")
        }
        Failure::Unresolved => format!(
            "the host name of {what}{at} does not resolve: check the app's configured host and DNS"
        ),
        _ => format!(
            "the app could not reach {what}{at}: check that it runs and accepts connections"
        ),
    }
}

/// The env sources of the app an entry points at: the `.env` files near its file, else
/// those of the web roots; then this host's pools and units.
fn env_sources_of(e: &Entry<'_>) -> Vec<Source> {
    match e.location {
        Some((file, _)) => env_sources::for_file(Path::new(file)),
        None => {
            let mut v = env_sources::of_web_roots(&env_sources::sysroot());
            v.extend(env_sources::host_cached().iter().cloned());
            v
        }
    }
}

/// The address the app's environment declares for `peer`: the nearest source's when the
/// entry points into the app, else only when one is declared at all.
fn declared_for(peer: Peer, e: &Entry<'_>) -> Option<Declared> {
    let role = match peer {
        Peer::Database => Role::Database,
        Peer::Cache => Role::Cache,
        Peer::Http => Role::Http,
        Peer::Unknown => return None,
    };
    let mut found = env_addresses::declared(&env_sources_of(e))
        .into_iter()
        .filter(|d| d.role == role);
    let first = found.next()?;
    (e.location.is_some() || found.next().is_none()).then_some(first)
}

/// Where a missing variable is missing or empty, and where to add it — never its value.
fn missing_env_fix(var: &str, sources: &[Source]) -> String {
    let Some(first) = sources.first() else {
        return format!(
            "set {var} where the app reads its environment (its .env file, the PHP-FPM pool's env[{var}], or the unit's Environment=), then reload the app server"
        );
    };
    let value = |s: &&Source| s.get(var).map(|v| !v.is_empty());
    let reload = |s: &Source| match &s.origin {
        Origin::DotEnv => sources
            .iter()
            .find_map(Source::unit)
            .map_or(String::new(), |u| format!(" and reload {u}")),
        Origin::Pool { unit, .. } => format!(" and reload {unit}"),
        Origin::Unit { unit } | Origin::UnitFile { unit } => format!(" and restart {unit}"),
    };
    if let Some(s) = sources.iter().find(|s| value(s) == Some(true)) {
        return format!(
            "{var} is set in {}, yet the app did not see it: make sure the app reads that source{} (a cached configuration hides a change: Laravel's php artisan config:clear)",
            s.place_of(var),
            reload(s)
        );
    }
    if let Some(s) = sources.iter().find(|s| value(s) == Some(false)) {
        return format!(
            "{var} is set but empty in {}: give it its value there{}",
            s.place_of(var),
            reload(s)
        );
    }
    let target = sources
        .iter()
        .find(|s| s.origin == Origin::DotEnv)
        .or_else(|| {
            sources
                .iter()
                .find(|s| matches!(s.origin, Origin::Pool { .. }))
        })
        .unwrap_or(first);
    let add = match &target.origin {
        Origin::Pool { pool, .. } => format!(
            "add env[{var}] = … to pool {pool} in {}",
            crate::sanitize::path(&target.file)
        ),
        Origin::Unit { unit } => {
            format!("add Environment={var}=… to {unit} (systemctl edit {unit})")
        }
        _ => format!("add it to {}", crate::sanitize::path(&target.file)),
    };
    let places: Vec<String> = sources.iter().take(4).map(|s| s.place_of(var)).collect();
    let more = if sources.len() > 4 {
        " nor elsewhere"
    } else {
        ""
    };
    format!(
        "{var} is not set in {}{more}; {add}{}",
        places.join(" nor in "),
        reload(target)
    )
}

/// The known directive nearest to a misspelled one (`RewriteEngin` → `RewriteEngine`), in
/// its usual capitalisation, when one is close enough to be the intended word.
pub(crate) fn nearest_directive(typed: &str) -> Option<String> {
    let lower = typed.to_ascii_lowercase();
    if crate::checks::htaccess::KNOWN.contains(&lower.as_str()) {
        return None;
    }
    crate::checks::htaccess::KNOWN
        .iter()
        .chain(CAPITALISED.iter().map(|(l, _)| l))
        // Close by both measures: one or two keys wrong, not a longer directive that shares
        // a prefix (`SetEnvIfNoCase` is not a misspelled `SetEnvIf`).
        .filter(|k| {
            lower.len() >= 5
                && lower.len().abs_diff(k.len()) <= 2
                && strsim::damerau_levenshtein(&lower, k) <= 2
        })
        .map(|k| (strsim::jaro_winkler(&lower, k), *k))
        .filter(|(score, _)| *score >= 0.9)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| capitalise(k))
}

/// Directives whose usual spelling is not one capital per word the list can guess.
const CAPITALISED: &[(&str, &str)] = &[
    ("rewriteengine", "RewriteEngine"),
    ("rewriterule", "RewriteRule"),
    ("rewritecond", "RewriteCond"),
    ("rewritebase", "RewriteBase"),
    ("directoryindex", "DirectoryIndex"),
    ("errordocument", "ErrorDocument"),
    ("addtype", "AddType"),
    ("addhandler", "AddHandler"),
    ("sethandler", "SetHandler"),
    ("options", "Options"),
    ("require", "Require"),
    ("header", "Header"),
    ("expiresactive", "ExpiresActive"),
    ("expiresbytype", "ExpiresByType"),
    ("authtype", "AuthType"),
    ("authname", "AuthName"),
    ("authuserfile", "AuthUserFile"),
    ("redirect", "Redirect"),
    ("redirectmatch", "RedirectMatch"),
    ("allowoverride", "AllowOverride"),
    ("adddefaultcharset", "AddDefaultCharset"),
    ("fileetag", "FileETag"),
];

fn capitalise(lower: &str) -> String {
    CAPITALISED
        .iter()
        .find(|(l, _)| *l == lower)
        .map_or_else(|| lower.to_string(), |(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logscan::classify::classify;

    fn entry<'a>(class: &'a Class, text: &'a str) -> Entry<'a> {
        Entry {
            class,
            text,
            count: 3,
            fatal: true,
            log: "/var/log/apache2/error.log",
            location: None,
            newest: 0,
        }
    }

    fn apache_host(enabled: &[&str], available: &[&str]) -> (tempfile::TempDir, Host) {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("mods-available")).unwrap();
        std::fs::create_dir_all(t.path().join("mods-enabled")).unwrap();
        for m in available {
            std::fs::write(t.path().join(format!("mods-available/{m}.load")), "").unwrap();
        }
        for m in enabled {
            std::fs::write(t.path().join(format!("mods-enabled/{m}.load")), "").unwrap();
        }
        let host = Host {
            apache_dir: Some(t.path().to_path_buf()),
            ..Host::default()
        };
        (t, host)
    }

    #[test]
    fn a_disabled_module_gets_a2enmod() {
        let (_t, host) = apache_host(&[], &["rewrite"]);
        let line = "/var/www/html/.htaccess: Invalid command 'RewriteEngine', perhaps misspelled or defined by a module not included in the server configuration";
        let c = classify(line, &[]);
        let f = finding(&entry(&c, line), &host);
        assert_eq!(f.cause, Cause::Config);
        assert_eq!(
            f.fix.unwrap().text,
            "`RewriteEngine` belongs to mod_rewrite, installed but not enabled: a2enmod rewrite && systemctl reload apache2"
        );
    }

    #[test]
    fn a_typo_gets_the_right_spelling() {
        let (_t, host) = apache_host(&["rewrite"], &["rewrite"]);
        let line = "AH00526: Syntax error on line 2 of /var/www/html/.htaccess: Invalid command 'RewriteEngin', perhaps misspelled";
        let c = classify(line, &[]);
        let f = finding(&entry(&c, line), &host);
        assert_eq!(
            f.fix.unwrap().text,
            "line 2 of /var/www/html/.htaccess: `RewriteEngin` → `RewriteEngine` (a misspelled directive)"
        );
    }

    #[test]
    fn php_value_under_fpm_moves_to_user_ini() {
        let host = Host {
            php_fpm: true,
            ..Host::default()
        };
        let line = "/var/www/html/.htaccess: Invalid command 'php_value', perhaps misspelled";
        let c = classify(line, &[]);
        let fix = finding(&entry(&c, line), &host).fix.unwrap().text;
        assert!(fix.starts_with("PHP runs under PHP-FPM"), "{fix}");
        assert!(fix.contains(".user.ini"), "{fix}");
    }

    #[test]
    fn an_upstream_names_its_pool_or_not_php_fpm() {
        let host = Host {
            pools: vec![(
                "www".into(),
                "/run/php/php8.2-fpm.sock".into(),
                "php8.2-fpm".into(),
            )],
            php_fpm: true,
            ..Host::default()
        };
        let sock = r#"connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: 1.2.3.4, request: "GET / HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:""#;
        let c = classify(sock, &[]);
        let f = finding(&entry(&c, sock), &host);
        assert_eq!(
            f.subject,
            Subject::Address {
                address: "unix:/run/php/php8.2-fpm.sock".into()
            }
        );
        assert_eq!(
            f.fix.unwrap().text,
            "nothing answers on unix:/run/php/php8.2-fpm.sock, where PHP-FPM pool www (php8.2-fpm.service) should listen: systemctl restart php8.2-fpm"
        );
        let api = r#"upstream timed out (110: Connection timed out) while reading response header from upstream, request: "GET /pay HTTP/1.1", upstream: "http://127.0.0.1:8099/pay""#;
        let c = classify(api, &[]);
        let f = finding(&entry(&c, api), &host);
        assert_eq!(f.cause, Cause::Timeout);
        let fix = f.fix.unwrap().text;
        assert!(!fix.contains("PHP-FPM"), "{fix}");
        assert!(fix.contains("127.0.0.1:8099"), "{fix}");
    }

    #[test]
    fn no_space_looks_inside_the_mount_that_holds_the_path() {
        let host = Host {
            mounts: vec!["/".into(), "/var/www/cache".into()],
            ..Host::default()
        };
        let line = "PHP Warning:  file_put_contents(/var/www/cache/p.html): Failed to open stream: No space left on device";
        let c = classify(line, &[]);
        let fix = finding(&entry(&c, line), &host).fix.unwrap().text;
        assert_eq!(
            fix,
            "free space on /var/www/cache: du -xh --max-depth=2 /var/www/cache | sort -h | tail -20"
        );
    }

    fn dotenv(file: &str, text: &str) -> Source {
        Source {
            origin: Origin::DotEnv,
            file: file.into(),
            vars: env_sources::parse_dotenv(text),
        }
    }

    fn pool(env: &str) -> Source {
        env_sources::parse_pool(
            &format!("[www]\nlisten = /run/php/php8.2-fpm.sock\n{env}"),
            Path::new("/etc/php/8.2/fpm/pool.d/www.conf"),
            "php8.2-fpm",
        )
        .remove(0)
    }

    #[test]
    fn a_missing_variable_is_named_where_it_is_missing_or_empty() {
        let sources = vec![
            dotenv("/srv/app/.env", "APP_KEY=base64:hunter2\n"),
            pool(""),
        ];
        assert_eq!(
            missing_env_fix("DATABASE_URL", &sources),
            "DATABASE_URL is not set in /srv/app/.env nor in PHP-FPM pool www (env[DATABASE_URL]); add it to /srv/app/.env and reload php8.2-fpm"
        );
        let empty = vec![dotenv("/srv/app/.env", "DATABASE_URL=\n"), pool("")];
        assert_eq!(
            missing_env_fix("DATABASE_URL", &empty),
            "DATABASE_URL is set but empty in /srv/app/.env: give it its value there and reload php8.2-fpm"
        );
        let in_pool = vec![pool("env[DATABASE_URL] = mysql://u:hunter2@db/x\n")];
        let fix = missing_env_fix("DATABASE_URL", &in_pool);
        assert!(
            fix.starts_with("DATABASE_URL is set in PHP-FPM pool www (env[DATABASE_URL]), yet"),
            "{fix}"
        );
        assert!(!fix.contains("hunter2"), "{fix}");
        assert_eq!(
            missing_env_fix("X", &[pool("")]),
            "X is not set in PHP-FPM pool www (env[X]); add env[X] = … to pool www in /etc/php/8.2/fpm/pool.d/www.conf and reload php8.2-fpm"
        );
        assert!(missing_env_fix("X", &[]).starts_with("set X where the app reads"));
    }

    #[test]
    fn an_unreachable_address_is_probed_now() {
        let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let up = format!("127.0.0.1:{}", open.local_addr().unwrap().port());
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let down = format!("127.0.0.1:{}", closed.local_addr().unwrap().port());
        drop(closed);
        assert_eq!(
            unreachable_fix(Peer::Database, Failure::Refused, Some(&down), None),
            format!(
                "the database at {down} refuses connections: start it, or point the app at the right host and port"
            )
        );
        assert!(
            unreachable_fix(Peer::Cache, Failure::Refused, Some(&up), None).starts_with(&format!(
                "the cache at {up} accepts connections now (it may have been down"
            ))
        );
        // Never a metadata address, whatever the log says: the line's own words decide.
        assert_eq!(
            unreachable_fix(
                Peer::Http,
                Failure::TimedOut,
                Some("169.254.169.254:80"),
                None
            ),
            "the API at 169.254.169.254:80 does not answer in time: check that service and the network to it"
        );
    }

    #[test]
    fn a_missing_module_points_at_the_requiring_line_with_the_install() {
        let lines = [
            "2026-11-30T01:02:03: node:internal/modules/cjs/loader:1228",
            "Error: Cannot find module 'express'",
            "Require stack:",
            "- /nonexistent/shop/server.js",
            "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)",
            "    at Object.<anonymous> (/nonexistent/shop/server.js:1:17)",
        ];
        let c = classify(lines[0], &lines[1..]);
        let loc = crate::logscan::patterns::location(&lines).unwrap();
        let mut e = entry(&c, lines[1]);
        e.location = Some(&loc);
        let f = finding(&e, &Host::default());
        assert_eq!(f.cause, Cause::Deploy);
        assert_eq!(
            f.subject,
            Subject::Path {
                path: "/nonexistent/shop/server.js".into(),
                line: Some(1)
            }
        );
        assert!(
            f.fix
                .unwrap()
                .text
                .contains("(express is missing): run npm ci in the app's directory")
        );
    }

    #[test]
    fn listen_forms_match() {
        assert!(same_listen("/run/php/x.sock", "unix:/run/php/x.sock"));
        assert!(same_listen("9000", "127.0.0.1:9000"));
        assert!(same_listen("127.0.0.1:9000", "127.0.0.1:9000"));
        assert!(!same_listen("127.0.0.1:9000", "127.0.0.1:8099"));
        assert!(!same_listen("/run/php/x.sock", "unix:/run/php/y.sock"));
    }
}
