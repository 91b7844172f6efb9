//! Where a configuration test's verdict says the error is — the file, the line and the
//! directive, as nginx, Apache and PHP-FPM write them:
//!
//! - nginx: `[emerg] unknown directive "sever_name" in /etc/nginx/sites-enabled/shop:9`
//! - Apache: `AH00526: Syntax error on line 3 of /etc/apache2/sites-enabled/000-default.conf:
//!   Invalid command 'RewriteEngin', …` (for an included file, the last "on line" is the
//!   file that holds the error)
//! - PHP-FPM: `ERROR: [/etc/php/8.2/fpm/pool.d/www.conf:12] unknown entry 'pm.max_childs'`,
//!   `ERROR: Unable to include /etc/php/8.2/fpm/pool.d/x.conf from … at line 6`

use crate::finding::Subject;

/// The subject a verdict line names: a directive where it names one, else the file and
/// line; `None` when it names no file.
pub fn locate(verdict: &str) -> Option<Subject> {
    let (path, line) = apache(verdict)
        .or_else(|| php_fpm(verdict))
        .or_else(|| nginx(verdict))?;
    let path = crate::sanitize::terminal(&path);
    Some(match directive(verdict) {
        Some(directive) => Subject::Directive {
            directive: crate::sanitize::terminal(&directive),
            path: Some(path),
            line,
        },
        None => Subject::Path { path, line },
    })
}

/// Apache: `Syntax error on line N of FILE: …`, the innermost of a chain.
fn apache(v: &str) -> Option<(String, Option<u32>)> {
    let (_, rest) = v.rsplit_once("Syntax error on line ")?;
    let (n, rest) = rest.split_once(" of ")?;
    let path = rest.split_once(": ").map_or(rest, |(p, _)| p);
    let path = path.strip_suffix(':').unwrap_or(path);
    absolute(path, n.parse().ok())
}

/// PHP-FPM: `[FILE:LINE] …`, or `Unable to include FILE from …`.
fn php_fpm(v: &str) -> Option<(String, Option<u32>)> {
    if let Some((_, rest)) = v.split_once("Unable to include ") {
        let (path, _) = rest.split_once(" from ")?;
        return absolute(path, None);
    }
    let (_, rest) = v.split_once("ERROR: [")?;
    let (place, _) = rest.split_once("] ")?;
    let (path, n) = place.rsplit_once(':')?;
    absolute(path, Some(n.parse().ok()?))
}

/// nginx: `… in FILE:LINE` at the end of the line.
fn nginx(v: &str) -> Option<(String, Option<u32>)> {
    let (_, place) = v.trim_end().rsplit_once(" in ")?;
    let (path, n) = place.rsplit_once(':')?;
    absolute(path, Some(n.parse().ok()?))
}

fn absolute(path: &str, line: Option<u32>) -> Option<(String, Option<u32>)> {
    (path.starts_with('/') && !path.contains('\n')).then(|| (path.to_string(), line))
}

/// The directive a verdict names as unknown: Apache's `Invalid command 'X'`, nginx's
/// `unknown directive "X"`, PHP-FPM's `unknown entry 'X'`.
fn directive(v: &str) -> Option<String> {
    [
        ("Invalid command '", '\''),
        ("unknown directive \"", '"'),
        ("unknown entry '", '\''),
    ]
    .iter()
    .find_map(|(start, end)| {
        let (_, rest) = v.split_once(start)?;
        let (name, _) = rest.split_once(*end)?;
        (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str, line: Option<u32>) -> Subject {
        Subject::Path {
            path: p.into(),
            line,
        }
    }

    fn directive(d: &str, p: &str, line: u32) -> Subject {
        Subject::Directive {
            directive: d.into(),
            path: Some(p.into()),
            line: Some(line),
        }
    }

    #[test]
    fn nginx_names_the_file_and_line() {
        assert_eq!(
            locate(
                "nginx: [emerg] unknown directive \"sever_name\" in /etc/nginx/sites-enabled/default:12"
            ),
            Some(directive(
                "sever_name",
                "/etc/nginx/sites-enabled/default",
                12
            ))
        );
        assert_eq!(
            locate("2026/11/30 01:13:22 [emerg] 9985#9985: unexpected \"}\" in /tmp/ct/inc.conf:3"),
            Some(path("/tmp/ct/inc.conf", Some(3)))
        );
        assert_eq!(
            locate(
                "nginx: [emerg] host not found in upstream \"app:9000\" in /etc/nginx/conf.d/app.conf:4"
            ),
            Some(path("/etc/nginx/conf.d/app.conf", Some(4)))
        );
        // No place named: nothing to point at.
        assert_eq!(
            locate(
                "nginx: [emerg] cannot load certificate \"/etc/ssl/x.pem\": BIO_new_file() failed"
            ),
            None
        );
    }

    #[test]
    fn apache_names_the_innermost_file() {
        assert_eq!(
            locate(
                "AH00526: Syntax error on line 3 of /etc/apache2/sites-enabled/000-default.conf: Invalid command 'RewriteEngin', perhaps misspelled or defined by a module not included in the server configuration"
            ),
            Some(directive(
                "RewriteEngin",
                "/etc/apache2/sites-enabled/000-default.conf",
                3
            ))
        );
        assert_eq!(
            locate(
                "apache2: Syntax error on line 9 of /tmp/ct/a5.conf: Syntax error on line 3 of /tmp/ct/a-vh.conf: Expected </Directory> but saw </VirtualHost>"
            ),
            Some(path("/tmp/ct/a-vh.conf", Some(3)))
        );
        assert_eq!(
            locate(
                "apache2: Syntax error on line 9 of /tmp/ct/a3.conf: /tmp/ct/a3.conf:9: <Directory> was not closed."
            ),
            Some(path("/tmp/ct/a3.conf", Some(9)))
        );
        assert_eq!(
            locate(
                "AH00526: Syntax error on line 9 of /tmp/ct/a4.conf: DocumentRoot takes one argument, Root directory of the document tree"
            ),
            Some(path("/tmp/ct/a4.conf", Some(9)))
        );
    }

    #[test]
    fn php_fpm_names_the_pool_file() {
        assert_eq!(
            locate(
                "[30-Nov-2026 01:13:32] ERROR: [/etc/php/8.2/fpm/pool.d/www.conf:12] unknown entry 'pm.max_childs'"
            ),
            Some(directive(
                "pm.max_childs",
                "/etc/php/8.2/fpm/pool.d/www.conf",
                12
            ))
        );
        assert_eq!(
            locate(
                "[30-Nov-2026 01:13:32] ERROR: [/tmp/ct/f1.conf:7] unable to parse value for entry 'pm': invalid process manager (static, dynamic or ondemand)"
            ),
            Some(path("/tmp/ct/f1.conf", Some(7)))
        );
        assert_eq!(
            locate(
                "[30-Nov-2026 01:13:32] ERROR: Unable to include /tmp/ct/fi.conf from /tmp/ct/f4.conf at line 6"
            ),
            Some(path("/tmp/ct/fi.conf", None))
        );
        assert_eq!(
            locate(
                "[30-Nov-2026 01:13:32] ALERT: [pool www] pm.min_spare_servers(0) must be a positive value"
            ),
            None
        );
    }

    #[test]
    fn odd_text_never_panics() {
        for v in [
            "",
            "Syntax error on line ",
            "Syntax error on line x of ",
            "ERROR: [",
            "ERROR: [:] ",
            "ERROR: [/a:é] x",
            " in :",
            " in /é:1",
            "Invalid command '",
            "unknown directive \"\"",
        ] {
            let _ = locate(v);
        }
        assert_eq!(locate(" in /é:1"), Some(path("/é", Some(1))));
    }
}
