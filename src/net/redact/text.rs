//! Secrets inside free text such as a command line or a shell script: `name=value` where the
//! name looks secret (`--password=…`, `PGPASSWORD=…`), and credentials in URLs.

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

/// `text` with the values of secret-looking assignments and every URL's secrets masked.
pub fn text(s: &str) -> String {
    let s = URL.replace_all(s, |c: &regex::Captures<'_>| url(&c[0]));
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
        .collect();
    let urls = URL
        .find_iter(s)
        .filter_map(|m| reqwest::Url::parse(m.as_str()).ok())
        .collect();
    (values, urls)
}
