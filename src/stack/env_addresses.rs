//! The addresses an app's environment names — `DB_HOST`+`DB_PORT`, `DATABASE_URL`,
//! `REDIS_URL`, `*_URL`, `*_API`, `*_HOST`(+`_PORT`) — as `host:port` only: no user, no
//! password, no path or query of the values ever leaves here.

use super::env_sources::{Source, Value};

/// Secret text this long or longer is never shown, wherever it appears.
const MIN_SECRET: usize = 5;

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
    /// What must never be shown beside it: the URL's user info (as written and decoded),
    /// or the password variable beside a `*_HOST`. Masked in `Debug`.
    pub secrets: Vec<Value>,
}

impl Declared {
    /// Whether its address repeats text from its secrets: then it is neither shown nor
    /// probed (a DNS query would carry it).
    fn repeats_secret(&self) -> bool {
        repeats(&self.address, &self.secrets)
    }
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

/// The addresses one source names (never one that repeats text from its secrets).
pub fn of_source(s: &Source) -> Vec<Declared> {
    every_of_source(s)
        .into_iter()
        .filter(|d| !d.repeats_secret())
        .collect()
}

/// `DATABASE_URL in /srv/app/.env` for each address left out because its host or port
/// repeats text from the URL's user name or password (`postgres:postgres@postgres`).
pub fn withheld(sources: &[Source]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in sources.iter().flat_map(every_of_source) {
        let line = format!("{} in {}", d.names, d.source);
        if d.repeats_secret() && !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

/// Everything in `s` no line may show a part of: every URL's user info (as written and
/// decoded) and the password of every `*_HOST`.
pub fn every_secret(s: &Source) -> Vec<Value> {
    let mut out = Vec::new();
    for (name, value) in &s.vars {
        out.extend(url_secrets(value.secret()));
        if let Some(prefix) = host_prefix(name) {
            out.extend(
                password_vars(prefix)
                    .iter()
                    .filter_map(|n| s.get(n))
                    .cloned(),
            );
        }
    }
    out
}

/// Every address one source names.
fn every_of_source(s: &Source) -> Vec<Declared> {
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
                    let role = role_of(prefix, Some(&scheme));
                    (host, port, role, name.clone(), url_secrets(&value))
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
                    let secrets = password_vars(prefix)
                        .iter()
                        .filter_map(|n| get(n))
                        .map(Value::new)
                        .collect();
                    (host, port, role_of(prefix, None), names, secrets)
                })
        } else {
            None
        };
        if let Some((host, port, role, names, secrets)) = found {
            out.push(Declared {
                address: join(&host, port),
                host,
                port,
                names,
                source: s.label(),
                role,
                secrets,
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

/// A URL split as database clients and PHP's `parse_url` split one whose password holds
/// unescaped `@`, `#`, `/` or `?`: the user info runs to the LAST `@` after `scheme://`, and
/// the host and port are what follows it, up to the next `/`, `?` or `#`. Nothing before
/// that `@` is ever taken for a host. `None` when it is not `scheme://…`.
struct Dsn<'a> {
    scheme: String,
    userinfo: Option<&'a str>,
    hostport: &'a str,
}

fn dsn(raw: &str) -> Option<Dsn<'_>> {
    let (scheme, rest) = raw.trim().split_once("://")?;
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return None;
    }
    let (userinfo, after) = match rest.rsplit_once('@') {
        Some((u, a)) => (Some(u), a),
        None => (None, rest),
    };
    let hostport = after.split(['/', '?', '#']).next().unwrap_or("");
    Some(Dsn {
        scheme: scheme.to_ascii_lowercase(),
        userinfo,
        hostport,
    })
}

/// The host and port of a URL (and its scheme), when it names a network place.
pub fn url_address(raw: &str) -> Option<(String, u16, String)> {
    let d = dsn(raw)?;
    let (host, port) = host_and_port(d.hostport, false)?;
    let port = match port {
        Some(p) => p,
        None => scheme_port(&d.scheme)?,
    };
    Some((host, port, d.scheme))
}

/// What of a URL value must never be shown: its password (or a user name that stands alone,
/// `https://TOKEN@host`), as written and percent-decoded. A user name beside a password is
/// not a secret, and masking it would garble paths and words that share it (`shop`).
fn url_secrets(raw: &str) -> Vec<Value> {
    let Some(info) = dsn(raw).and_then(|d| d.userinfo) else {
        return Vec::new();
    };
    let info = match info.split_once(':') {
        Some((_, password)) if !password.is_empty() => password,
        Some((user, _)) => user,
        None => info,
    };
    let decoded = percent_decoded(info);
    let mut out = vec![Value::new(info)];
    if decoded != info {
        out.push(Value::new(decoded));
    }
    out
}

/// `%40` → `@`; a `%` not followed by two hex digits is kept as it is.
fn percent_decoded(s: &str) -> String {
    let mut bytes = Vec::with_capacity(s.len());
    let raw = s.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let hex = |j: usize| raw.get(j).and_then(|b| (*b as char).to_digit(16));
        match (raw[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(h), Some(l)) => {
                bytes.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `host`, `host:port`, `[v6]`, `[v6]:port` (and, for a `*_HOST` value, a bare IPv6
/// address) → the host without brackets and the port when one is written. `None` for
/// anything else: a host must look like a host, a port like a port.
fn host_and_port(text: &str, bare_v6: bool) -> Option<(String, Option<u16>)> {
    if bare_v6 && text.parse::<std::net::Ipv6Addr>().is_ok() {
        return Some((text.to_string(), None));
    }
    let (host, port) = match text.strip_prefix('[') {
        Some(inner) => {
            let (v6, tail) = inner.split_once(']')?;
            v6.parse::<std::net::Ipv6Addr>().ok()?;
            let port = match tail {
                "" => None,
                t => Some(t.strip_prefix(':')?),
            };
            (v6, port)
        }
        None => match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        },
    };
    let port = match port {
        None | Some("") => None,
        Some(p) if p.chars().all(|c| c.is_ascii_digit()) => {
            Some(p.parse::<u16>().ok().filter(|p| *p > 0)?)
        }
        Some(_) => return None,
    };
    (host.contains(':') || valid_host(host)).then(|| (host.to_string(), port))
}

/// A `*_HOST` value (perhaps `host:port`) with its `*_PORT`, or the port its kind implies;
/// and whether the port came from the `*_PORT` variable.
fn host_address(
    prefix: &str,
    value: &str,
    get: &impl Fn(&str) -> Option<String>,
) -> Option<(String, u16, bool)> {
    let (host, inline) = host_and_port(value, true)?;
    let named = get(&port_name(prefix)).and_then(|p| p.parse::<u16>().ok());
    let port = inline
        .or(named)
        .or_else(|| default_port(prefix, get))
        .filter(|p| *p > 0)?;
    Some((host, port, inline.is_none() && named.is_some()))
}

/// The variables that hold the password for `prefix`'s host: `DB_PASSWORD`, `PGPASSWORD`.
fn password_vars(prefix: &str) -> Vec<String> {
    if prefix == "PG" {
        return vec!["PGPASSWORD".into()];
    }
    ["PASSWORD", "PASS", "PWD", "SECRET"]
        .iter()
        .map(|s| format!("{prefix}_{s}"))
        .collect()
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

/// An IPv4 address or a host name: dot-separated labels of letters, digits, `-` (and `_`,
/// which Docker's service names use), none empty nor starting or ending with `-`. Nothing
/// with `@`, `:`, `$`, blanks or other characters a password, a template or a wrong value
/// would hold.
fn valid_host(h: &str) -> bool {
    if h.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        })
}

/// `text` with every run of `MIN_SECRET` or more characters that also appears in one of
/// `secrets` replaced by `***`: the last line of defence, so no line ever shows a part of
/// a password, whatever went wrong before it.
pub fn mask(text: &str, secrets: &[Value]) -> String {
    let secrets: Vec<&str> = secrets
        .iter()
        .map(Value::secret)
        .filter(|s| s.chars().count() >= MIN_SECRET)
        .collect();
    if secrets.is_empty() {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let mut run = 0;
        let mut probe = String::new();
        for (n, c) in chars.iter().skip(i).enumerate() {
            probe.push(*c);
            if !secrets.iter().any(|s| s.contains(probe.as_str())) {
                break;
            }
            run = n + 1;
        }
        if run >= MIN_SECRET {
            out.push_str("***");
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Whether `text` holds a run of `MIN_SECRET` or more characters of one of `secrets`.
pub fn repeats(text: &str, secrets: &[Value]) -> bool {
    mask(text, secrets) != text
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

    /// The address each hostile value gives (or `None`), and that neither it nor any line
    /// masked with its secrets shows a part of the password.
    fn hostile(value: &str, password: &str) -> Option<String> {
        let s = dotenv(&format!("DATABASE_URL={value}\n"));
        let d = of_source(&s);
        let secrets = every_secret(&s);
        let shown = mask(&format!("{d:?} {value}"), &secrets);
        let pw: Vec<char> = password.chars().collect();
        for part in pw.windows(MIN_SECRET) {
            let part: String = part.iter().collect();
            assert!(!shown.contains(&part), "{part:?} of {value:?} in {shown}");
        }
        d.first().map(|d| d.address.clone())
    }

    #[test]
    fn the_host_follows_the_last_at_and_no_part_of_a_password_leaks() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            // The reviewer's two.
            (
                "mysql://shop:Tr0ub4dor@HorseBatteryStaple#2@127.0.0.1:3306/shop",
                "Tr0ub4dor@HorseBatteryStaple#2",
                Some("127.0.0.1:3306"),
            ),
            (
                "redis://:Pa55@word/with/slash@127.0.0.1:6379",
                "Pa55@word/with/slash",
                Some("127.0.0.1:6379"),
            ),
            (
                "mysql://u:pa?ss@wo:rd@127.0.0.1/x",
                "pa?ss@wo:rd",
                Some("127.0.0.1:3306"),
            ),
            (
                "mysql://u:p#w?q/r@db.internal:3307/x?y=1",
                "p#w?q/r",
                Some("db.internal:3307"),
            ),
            (
                "mysql://u:p%40ssw0rd@127.0.0.1/x",
                "p%40ssw0rd",
                Some("127.0.0.1:3306"),
            ),
            (
                "mysql://u:a:b:cde@127.0.0.1",
                "a:b:cde",
                Some("127.0.0.1:3306"),
            ),
            (
                "postgresql://app:s3cr@t@[::1]:5433/app",
                "s3cr@t",
                Some("[::1]:5433"),
            ),
            (
                "postgres://app:s3cr#t@[2001:db8::1]/app",
                "s3cr#t",
                Some("[2001:db8::1]:5432"),
            ),
            (
                "mysql://justuser@127.0.0.1/x",
                "justuser",
                Some("127.0.0.1:3306"),
            ),
            ("mysql://user@/x", "user", None),
            ("mysql://user:@db", "user", Some("db:3306")),
            ("redis://127.0.0.1:6380", "", Some("127.0.0.1:6380")),
            // A host that does not look like one is no place, whatever surrounds it.
            ("mysql://u:pw@Horse Battery@", "pw@Horse Battery", None),
            ("mysql://u:pw@host:12ab/x", "pw", None),
            ("mysql://u:pw@[not-v6]:3306/x", "pw", None),
            ("mysql://u:pw@a..b/x", "pw", None),
            ("mysql://u:pw@-a/x", "pw", None),
            ("mysql://u:pw@h:99999/x", "pw", None),
        ];
        for (value, password, want) in cases {
            assert_eq!(hostile(value, password).as_deref(), *want, "{value}");
        }
    }

    #[test]
    fn a_host_that_repeats_its_password_is_withheld() {
        let s = dotenv("DATABASE_URL=postgres://postgres:postgres@postgres:5432/db\n");
        assert_eq!(of_source(&s), vec![]);
        assert_eq!(
            withheld(std::slice::from_ref(&s)),
            vec!["DATABASE_URL in /srv/app/.env".to_string()]
        );
    }

    #[test]
    fn a_host_variable_must_be_a_host_and_its_password_is_masked() {
        let text = "DB_HOST=user:pw@db\nREDIS_HOST=cache:6380/x\nMAIL_HOST=\"smtp host\"\n\
                    PGHOST=[::1]:5433\nSEARCH_HOST=::1\nSEARCH_PORT=9200\n";
        assert_eq!(
            shown(text),
            vec![
                ("[::1]:5433".into(), "PGHOST".into(), Role::Database),
                (
                    "[::1]:9200".into(),
                    "SEARCH_HOST and SEARCH_PORT".into(),
                    Role::Other
                ),
            ]
        );
        let s = dotenv("DB_HOST=127.0.0.1\nDB_PASSWORD=hunter2\n");
        let secrets = every_secret(&s);
        assert_eq!(
            mask("say hunter2 or unter or hun", &secrets),
            "say *** or *** or hun"
        );
        assert_eq!(of_source(&s)[0].secrets, secrets);
    }

    #[test]
    fn masking_takes_every_run_of_five() {
        let secrets = [Value::new("Tr0ub4dor@Horse")];
        assert_eq!(
            mask("a Horse, 4dor@, Tr and Tr0u", &secrets),
            "a ***, ***, Tr and Tr0u"
        );
        assert_eq!(mask("nothing here", &[]), "nothing here");
        assert_eq!(mask("éé€", &[Value::new("€é€")]), "éé€");
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
            let _ = mask(&text, &every_secret(&s));
        }
    }
}
