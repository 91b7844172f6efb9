//! The addresses an app's environment names — `DB_HOST`+`DB_PORT`, `DATABASE_URL`,
//! `REDIS_URL`, `*_URL`, `*_API`, `*_HOST`(+`_PORT`) — as `host:port` only: no user, no
//! password, no path or query of the values ever leaves here.

use super::env_sources::Source;

/// What a declared address is, judged from its variable's name or its URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Database,
    Cache,
    Mail,
    Http,
    Other,
}

impl Role {
    /// For a sentence: "the database at …".
    pub fn what(self) -> &'static str {
        match self {
            Role::Database => "the database",
            Role::Cache => "the cache",
            Role::Mail => "the mail server",
            Role::Http => "the API",
            Role::Other => "the service",
        }
    }
}

/// One address an env source names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// `host:port`, IPv6 in brackets.
    pub address: String,
    /// The host without brackets.
    pub host: String,
    pub port: u16,
    /// The variables that name it: `DATABASE_URL`, `DB_HOST and DB_PORT`.
    pub names: String,
    /// Where: the source's label.
    pub source: String,
    pub role: Role,
}

/// Names of the site's own URLs (not dependencies): probing them only says whether this
/// host reaches itself from outside, which is not what a 500 is about.
const OWN_URLS: &[&str] = &[
    "APP_URL",
    "ASSET_URL",
    "SITE_URL",
    "BASE_URL",
    "PUBLIC_URL",
    "FRONTEND_URL",
    "WP_HOME",
    "WP_SITEURL",
];
/// Parts of names of URLs others call back, not ones the app calls.
const NOT_CALLED: &[&str] = &["REDIRECT", "CALLBACK", "WEBHOOK", "RETURN", "CANCEL"];

/// The variables whose value selects a Laravel-style backend: when some are set and none
/// names a backend, the `REDIS_*`/`MEMCACHED_*` lines are defaults the app does not use.
const SELECTORS: &[&str] = &[
    "CACHE_DRIVER",
    "CACHE_STORE",
    "SESSION_DRIVER",
    "QUEUE_CONNECTION",
    "QUEUE_DRIVER",
    "BROADCAST_DRIVER",
    "BROADCAST_CONNECTION",
];

/// The addresses `sources` name, each once (the nearest source first wins).
pub fn declared(sources: &[Source]) -> Vec<Declared> {
    let mut out: Vec<Declared> = Vec::new();
    for s in sources {
        for d in of_source(s) {
            if !out.iter().any(|o| o.address == d.address) {
                out.push(d);
            }
        }
    }
    out
}

/// The addresses one source names.
pub fn of_source(s: &Source) -> Vec<Declared> {
    let get = |n: &str| {
        s.get(n)
            .map(|v| v.secret().trim().to_string())
            .filter(|v| !v.is_empty() && v != "null")
    };
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for (name, _) in &s.vars {
        if seen.contains(&name.as_str()) {
            continue;
        }
        seen.push(name);
        let Some(value) = get(name) else { continue };
        let found = if let Some(prefix) = url_prefix(name) {
            (!unused(prefix, &get))
                .then(|| url_address(&value))
                .flatten()
                .map(|(host, port, scheme)| {
                    (host, port, role_of(prefix, Some(&scheme)), name.clone())
                })
        } else if let Some(prefix) = host_prefix(name) {
            (!unused(prefix, &get))
                .then(|| host_address(prefix, &value, &get))
                .flatten()
                .map(|(host, port, port_named)| {
                    let names = if port_named {
                        format!("{name} and {}", port_name(prefix))
                    } else {
                        name.clone()
                    };
                    (host, port, role_of(prefix, None), names)
                })
        } else {
            None
        };
        if let Some((host, port, role, names)) = found {
            out.push(Declared {
                address: join(&host, port),
                host,
                port,
                names,
                source: s.label(),
                role,
            });
        }
    }
    out
}

/// `DATABASE_URL` → `DATABASE`; `PAYMENT_API` → `PAYMENT`; `None` for a name that is not
/// a dependency's URL.
fn url_prefix(name: &str) -> Option<&str> {
    if OWN_URLS.contains(&name) || NOT_CALLED.iter().any(|w| name.contains(w)) {
        return None;
    }
    ["_URL", "_URI", "_DSN", "_API", "_ENDPOINT"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .filter(|p| !p.is_empty())
}

/// `DB_HOST` → `DB`; libpq's `PGHOST` → `PG`.
fn host_prefix(name: &str) -> Option<&str> {
    if name == "PGHOST" {
        return Some("PG");
    }
    name.strip_suffix("_HOST").filter(|p| !p.is_empty())
}

fn port_name(prefix: &str) -> String {
    if prefix == "PG" {
        "PGPORT".into()
    } else {
        format!("{prefix}_PORT")
    }
}

/// Whether the variables of `prefix` are defaults the app's own selectors say it does not
/// use: a sqlite `DB_CONNECTION`, Redis when no driver is `redis`, SMTP when the mailer is
/// not `smtp`.
fn unused(prefix: &str, get: &impl Fn(&str) -> Option<String>) -> bool {
    let not_selected = |backend: &str| {
        let set: Vec<String> = SELECTORS.iter().filter_map(|n| get(n)).collect();
        !set.is_empty() && !set.iter().any(|v| v.eq_ignore_ascii_case(backend))
    };
    match prefix {
        "DB" => get("DB_CONNECTION").is_some_and(|c| c.eq_ignore_ascii_case("sqlite")),
        "REDIS" => not_selected("redis"),
        "MEMCACHED" => not_selected("memcached"),
        "MAIL" => ["MAIL_MAILER", "MAIL_DRIVER"]
            .iter()
            .filter_map(|n| get(n))
            .any(|m| !m.eq_ignore_ascii_case("smtp")),
        _ => false,
    }
}

fn role_of(prefix: &str, scheme: Option<&str>) -> Role {
    let words: Vec<&str> = prefix.split('_').collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    let scheme = scheme.unwrap_or("");
    if has(&[
        "DB", "DATABASE", "MYSQL", "MARIADB", "POSTGRES", "PG", "PGSQL", "MONGO", "MONGODB", "SQL",
    ]) || matches!(
        scheme,
        "mysql" | "mariadb" | "postgres" | "postgresql" | "pgsql" | "mongodb" | "sqlsrv"
    ) {
        Role::Database
    } else if has(&["REDIS", "MEMCACHE", "MEMCACHED", "CACHE", "VALKEY"])
        || matches!(scheme, "redis" | "rediss" | "memcached")
    {
        Role::Cache
    } else if has(&["MAIL", "SMTP", "MAILER"]) || matches!(scheme, "smtp" | "smtps") {
        Role::Mail
    } else if matches!(scheme, "http" | "https") {
        Role::Http
    } else {
        Role::Other
    }
}

/// The port a scheme implies when its URL gives none.
fn scheme_port(scheme: &str) -> Option<u16> {
    Some(match scheme {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        "mysql" | "mariadb" => 3306,
        "postgres" | "postgresql" | "pgsql" => 5432,
        "redis" | "rediss" => 6379,
        "memcached" => 11211,
        "mongodb" => 27017,
        "amqp" => 5672,
        "amqps" => 5671,
        "smtp" => 25,
        "smtps" => 465,
        "ldap" => 389,
        "ldaps" => 636,
        _ => return None,
    })
}

/// The host and port of a URL (and its scheme), when it names a network place.
pub fn url_address(raw: &str) -> Option<(String, u16, String)> {
    if !raw.contains("://") {
        return None;
    }
    let u = reqwest::Url::parse(raw).ok()?;
    let host = u.host_str()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = u.port().or_else(|| scheme_port(u.scheme()))?;
    valid_host(host).then(|| (host.to_string(), port, u.scheme().to_string()))
}

/// A `*_HOST` value (perhaps `host:port`) with its `*_PORT`, or the port its kind implies;
/// and whether the port came from the `*_PORT` variable.
fn host_address(
    prefix: &str,
    value: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Option<(String, u16, bool)> {
    let (host, inline) = match value.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => (h, p.parse::<u16>().ok()),
        _ => (value, None),
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if !valid_host(host) {
        return None;
    }
    let named = get(&port_name(prefix)).and_then(|p| p.parse::<u16>().ok());
    let port = inline
        .or(named)
        .or_else(|| default_port(prefix, get))
        .filter(|p| *p > 0)?;
    Some((host.to_string(), port, inline.is_none() && named.is_some()))
}

fn default_port(prefix: &str, get: &impl Fn(&str) -> Option<String>) -> Option<u16> {
    let last = prefix.rsplit('_').next().unwrap_or(prefix);
    match last {
        "DB" | "DATABASE" => Some(
            match get("DB_CONNECTION")
                .unwrap_or_default()
                .to_ascii_lowercase()
                .as_str()
            {
                "pgsql" | "postgres" | "postgresql" => 5432,
                "sqlsrv" => 1433,
                _ => 3306,
            },
        ),
        "MYSQL" | "MARIADB" => Some(3306),
        "PG" | "PGSQL" | "POSTGRES" => Some(5432),
        "REDIS" | "VALKEY" => Some(6379),
        "MEMCACHED" => Some(11211),
        "MONGO" | "MONGODB" => Some(27017),
        "ELASTICSEARCH" => Some(9200),
        "RABBITMQ" | "AMQP" => Some(5672),
        _ => None,
    }
}

/// A host name or IP address as written; nothing with `$`, blanks or other characters a
/// template or a wrong value would hold.
fn valid_host(h: &str) -> bool {
    if h.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && !h.starts_with(['-', '.'])
}

/// `host:port`, IPv6 in brackets.
pub fn join(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::env_sources::{Origin, Source, parse_dotenv};
    use super::*;

    fn dotenv(text: &str) -> Source {
        Source {
            origin: Origin::DotEnv,
            file: "/srv/app/.env".into(),
            vars: parse_dotenv(text),
        }
    }

    fn shown(text: &str) -> Vec<(String, String, Role)> {
        of_source(&dotenv(text))
            .into_iter()
            .map(|d| (d.address, d.names, d.role))
            .collect()
    }

    #[test]
    fn urls_hosts_and_ports() {
        let text = "APP_URL=https://shop.example\nDB_CONNECTION=mysql\nDB_HOST=127.0.0.1\nDB_PORT=3307\n\
                    DATABASE_URL=\"postgresql://app:s3cret@[::1]/app?sslmode=disable\"\n\
                    REDIS_URL=redis://:pw@cache:6380\nPAYMENT_API=https://api.pay.example/v1\n\
                    SEARCH_HOST=search:9200\nPGHOST=pg\nOAUTH_REDIRECT_URL=https://x/cb\nVITE_HOST=${APP_HOST}\n";
        assert_eq!(
            shown(text),
            vec![
                (
                    "127.0.0.1:3307".into(),
                    "DB_HOST and DB_PORT".into(),
                    Role::Database
                ),
                ("[::1]:5432".into(), "DATABASE_URL".into(), Role::Database),
                ("cache:6380".into(), "REDIS_URL".into(), Role::Cache),
                (
                    "api.pay.example:443".into(),
                    "PAYMENT_API".into(),
                    Role::Http
                ),
                ("search:9200".into(), "SEARCH_HOST".into(), Role::Other),
                ("pg:5432".into(), "PGHOST".into(), Role::Database),
            ]
        );
    }

    #[test]
    fn a_later_assignment_wins_and_no_value_leaks() {
        let d = of_source(&dotenv(
            "DATABASE_URL=mysql://u:first@a/x\nDATABASE_URL=mysql://u:hunter2@b:3306/x\n",
        ));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].address, "b:3306");
        assert!(!format!("{d:?}").contains("hunter2"));
    }

    #[test]
    fn laravel_defaults_the_app_does_not_use_are_not_dependencies() {
        // Laravel 11's .env.example: sqlite, database cache and sessions, log mailer.
        let text = "DB_CONNECTION=sqlite\nDB_HOST=127.0.0.1\nSESSION_DRIVER=database\nCACHE_STORE=database\n\
                    QUEUE_CONNECTION=database\nMEMCACHED_HOST=127.0.0.1\nREDIS_CLIENT=phpredis\n\
                    REDIS_HOST=127.0.0.1\nREDIS_PASSWORD=null\nREDIS_PORT=6379\nMAIL_MAILER=log\n\
                    MAIL_HOST=127.0.0.1\nMAIL_PORT=2525\nAWS_URL=\n";
        assert_eq!(shown(text), vec![]);
        let used = "CACHE_STORE=redis\nREDIS_HOST=127.0.0.1\nREDIS_PORT=6379\nMAIL_MAILER=smtp\nMAIL_HOST=mail\nMAIL_PORT=587\n";
        assert_eq!(
            shown(used),
            vec![
                (
                    "127.0.0.1:6379".into(),
                    "REDIS_HOST and REDIS_PORT".into(),
                    Role::Cache
                ),
                (
                    "mail:587".into(),
                    "MAIL_HOST and MAIL_PORT".into(),
                    Role::Mail
                ),
            ]
        );
    }

    #[test]
    fn values_that_name_no_place_are_skipped() {
        let text = "MESSENGER_TRANSPORT_DSN=doctrine://default?auto_setup=0\nMAILER_DSN=null://null\n\
                    X_URL=not a url\nY_HOST=\"two words\"\nZ_HOST=unknownport\nSQLITE_URL=sqlite:///var/db.sqlite\n";
        assert_eq!(shown(text), vec![]);
    }

    proptest::proptest! {
        /// Any bytes as a .env file, a pool file or a unit's Environment=: no panic, and no
        /// address that is not `host:port` with a plain host.
        #[test]
        fn parsers_never_panic(text in "[\\PC\n=\"'#:/@\\[\\]]{0,200}") {
            let s = dotenv(&text);
            for d in of_source(&s) {
                proptest::prop_assert!(super::super::probe::split(&d.address).is_some(), "{}", d.address);
            }
            let pools = super::super::env_sources::parse_pool(&text, std::path::Path::new("/p"), "u");
            let _ = declared(&pools);
        }
    }
}
