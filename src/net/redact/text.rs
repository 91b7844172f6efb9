//! Secrets inside free text such as a command line or a shell script: `name=value` where the
//! name looks secret (`--password=…`, `PGPASSWORD=…`), credentials in URLs, and the
//! password MySQL and MariaDB tools take attached to `-p` (`mysql -pSECRET`).

use std::sync::LazyLock;

use regex::Regex;

use super::{MASK, is_secret_name, url};

/// `--db-password=x`, `token=x`, `PGPASSWORD='x'`: a name, `=`, and a value up to the next
/// space, quote, `&` or `;`.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"([A-Za-z0-9_.\-]+)=(['"]?)([^\s&;'"]+)"#).expect("a valid regex")
});

/// Anything that starts like a URL, up to a space or quote.
static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'"<>]+"#).expect("a valid regex")
});

/// In a shell command, a MySQL or MariaDB tool (`mysql`, `/usr/bin/mysqldump`,
/// `mariadb-admin`, `check_mysql`) and, among its words before the next `;`, `&` or `|`,
/// `-pVALUE`, `-p'VALUE'` or `-p VALUE`. Group 1 is everything up to the value (group 2 the
/// space before a separate one), then the value in one of three groups.
static MYSQL_P: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"((?:^|[\s;&|(`'"])(?:[^\s;&|'"]*/)?[^\s;&|'"/]*(?i:mysql|mariadb)[^\s;&|'"]*['"]?(?:[ \t]+[^\s;&|]+)*?[ \t]+['"]?-p([ \t]+)?)(?:'([^']*)'|"([^"]*)"|([^\s'";&|]+))"#,
    )
    .expect("a valid regex")
});

/// The value a [`MYSQL_P`] match masks and the quote around it; `None` for a bare `-p`
/// (which asks for the password) followed by another option.
fn mysql_value<'t>(c: &regex::Captures<'t>) -> Option<(&'t str, &'static str)> {
    match (c.get(3), c.get(4), c.get(5)) {
        (Some(v), _, _) => Some((v.as_str(), "'")),
        (_, Some(v), _) => Some((v.as_str(), "\"")),
        (_, _, Some(v)) if c.get(2).is_some() && v.as_str().starts_with('-') => None,
        (_, _, v) => Some((v.map_or("", |v| v.as_str()), "")),
    }
}

/// Whether a program takes its password after `-p` (`mysql -pSECRET`, `check_mysql -p
/// SECRET`): the MySQL and MariaDB clients, tools and monitoring plugins, by the name of the
/// program. Elsewhere `-p` is often a port.
pub fn takes_mysql_password(program: &str) -> bool {
    let base = program.rsplit('/').next().unwrap_or(program);
    let base = base.to_ascii_lowercase();
    base.contains("mysql") || base.contains("mariadb")
}

/// The password in a MySQL-style `-pSECRET` argument (a bare `-p` asks for it, or is
/// followed by it as the next argument).
pub fn attached_password(arg: &str) -> Option<&str> {
    arg.strip_prefix("-p").filter(|v| !v.is_empty())
}

/// `text` with the values of secret-looking assignments and every URL's secrets masked.
pub fn text(s: &str) -> String {
    let s = URL.replace_all(s, |c: &regex::Captures<'_>| url(&c[0]));
    let s = MYSQL_P.replace_all(&s, |c: &regex::Captures<'_>| match mysql_value(c) {
        Some((_, quote)) => format!("{}{quote}{MASK}{quote}", &c[1]),
        None => c[0].to_string(),
    });
    ASSIGNMENT
        .replace_all(&s, |c: &regex::Captures<'_>| {
            if secret_value(&c[1], &c[3]) {
                format!("{}={}{MASK}", &c[1], &c[2])
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

/// A shell variable (`token=$API_TOKEN`) names a secret, it does not hold one.
fn secret_value(name: &str, value: &str) -> bool {
    is_secret_name(name) && value != MASK && !value.starts_with('$')
}

/// The secret values [`text`] masks, and the URLs it finds (for their own secrets).
pub(super) fn found(s: &str) -> (Vec<String>, Vec<reqwest::Url>) {
    let values = ASSIGNMENT
        .captures_iter(s)
        .filter(|c| secret_value(&c[1], &c[3]))
        .map(|c| c[3].to_string())
        .chain(
            MYSQL_P
                .captures_iter(s)
                .filter_map(|c| mysql_value(&c).map(|(v, _)| v.to_string())),
        )
        .collect();
    let urls = URL
        .find_iter(s)
        .filter_map(|m| reqwest::Url::parse(m.as_str()).ok())
        .collect();
    (values, urls)
}
