//! What counts as an error in a log, how to say it once for many repeats, and where in the
//! source it points.

use std::sync::OnceLock;

use regex::{Regex, RegexSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Errors that fail requests: `fail`.
    Fatal,
    /// Lesser errors: `warn`.
    Error,
}

/// The built-in sets. Fatal: what turns a request into a 500. Error: what may.
const FATAL: &[&str] = &[
    // PHP
    r"PHP (Fatal|Parse) error",
    r"(?i)\bUncaught (Error|Exception|TypeError|ArgumentCountError)",
    r"Allowed memory size of \d+ bytes exhausted",
    r"Maximum execution time of \d+ seconds? exceeded",
    // Python
    r"^Traceback \(most recent call last\)",
    // Node
    r"(?i)unhandled ?(promise )?rejection",
    r"(^|: )\s*(Uncaught )?(TypeError|ReferenceError|RangeError|SyntaxError): ",
    // Ruby / Rails
    r"\b[A-Z]\w*(Error|Exception) \(.+\):",
    // Java
    r"^Exception in thread ",
    r"\bSEVERE\b",
    r"^\S+(Exception|Error)(: |$)",
    // Rust
    r"thread '.*' panicked at ",
    // nginx
    r"\[(crit|alert|emerg)\]",
    r"\[error\].*(upstream timed out|connect\(\) (to .* )?failed|no live upstreams|Too many open files|worker_connections are not enough|upstream prematurely closed|recv\(\) failed)",
    // Apache
    r"\[(\w+:)?(crit|alert|emerg)\]",
    r"AH00124|AH01071.*Fatal|AH01067|AH02429|AH00052|AH01630|AH10157",
    // Generic application logs
    r"\b(FATAL|CRITICAL|EMERGENCY|ALERT)\b",
    r"(?i)out of memory|oom-kill|segfault|Segmentation fault",
];

const ERROR: &[&str] = &[
    r"\[(\w+:)?error\]",
    r"\bAH\d{5}\b",
    r"(?i)\bERROR\b",
    r"PHP Warning",
    r"\bWARNING: \[pool ",
];

pub struct Patterns {
    fatal: RegexSet,
    error: RegexSet,
    exclude: Option<RegexSet>,
}

impl Patterns {
    /// The built-in sets, or `custom` regexes as the fatal set.
    pub fn new(custom: Option<&[String]>, exclude: &[String]) -> Result<Patterns, regex::Error> {
        let fatal = match custom {
            Some(c) => RegexSet::new(c)?,
            None => RegexSet::new(FATAL)?,
        };
        let error = if custom.is_some() {
            RegexSet::empty()
        } else {
            RegexSet::new(ERROR)?
        };
        let exclude = if exclude.is_empty() {
            None
        } else {
            Some(RegexSet::new(exclude)?)
        };
        Ok(Patterns {
            fatal,
            error,
            exclude,
        })
    }

    /// Judge an entry: its first (timestamped) line and the lines that follow it.
    pub fn classify(&self, head: &str, rest: &[String]) -> Option<Severity> {
        if self.exclude.as_ref().is_some_and(|x| x.is_match(head)) {
            return None;
        }
        if self.fatal.is_match(head) || rest.iter().any(|l| self.fatal.is_match(l)) {
            return Some(Severity::Fatal);
        }
        self.error.is_match(head).then_some(Severity::Error)
    }
}

/// The message without its timestamp and with what varies between repeats — numbers, ids,
/// addresses, quoted values — replaced, so repeats group together.
pub fn normalise(message: &str) -> String {
    static RE: OnceLock<[(Regex, &'static str); 6]> = OnceLock::new();
    let res = RE.get_or_init(|| {
        [
            (
                Regex::new(r"^\[[^\]]*\]\s*|^\S+ \S+ |^<\d+>1 \S+ ").unwrap(),
                "",
            ),
            (
                Regex::new(
                    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
                )
                .unwrap(),
                "<id>",
            ),
            (
                Regex::new(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{12,}\b").unwrap(),
                "<hex>",
            ),
            (
                Regex::new(r"\b\d{1,3}(\.\d{1,3}){3}(:\d+)?\b").unwrap(),
                "<ip>",
            ),
            (
                Regex::new(r"(client|request|server|host|referrer|upstream): [^,]+").unwrap(),
                "$1: …",
            ),
            (Regex::new(r"\d+").unwrap(), "N"),
        ]
    });
    let mut s = message.to_string();
    for (re, with) in res.iter() {
        s = re.replace_all(&s, *with).into_owned();
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A line without its leading timestamp, for a summary.
pub fn strip_timestamp(line: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^(\[[^\]]*\]\s*|\d{4}[/-]\d{2}[/-]\d{2}[T ]\d{2}:\d{2}:\d{2}\S*\s+|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \S+ |<\d+>1 \S+ )").unwrap()
    });
    re.replace(line, "").into_owned()
}

/// The source file and line an error names: PHP, Python (innermost frame), Node, Ruby,
/// Java and Rust forms.
pub fn location(lines: &[&str]) -> Option<(String, u32)> {
    static RE: OnceLock<Vec<(Regex, bool)>> = OnceLock::new();
    let res = RE.get_or_init(|| {
        // (pattern, take the last match rather than the first)
        vec![
            (
                Regex::new(r" in (/[^\s:]+\.\w+)(?::| on line )(\d+)").unwrap(),
                false,
            ),
            (Regex::new(r#"File "([^"]+)", line (\d+)"#).unwrap(), true),
            (
                Regex::new(r"panicked at ([^\s:]+):(\d+):\d+").unwrap(),
                false,
            ),
            (
                Regex::new(r"\(?(/[^\s():]+\.(?:js|mjs|cjs|ts)):(\d+):\d+\)?").unwrap(),
                false,
            ),
            (Regex::new(r"(/?[\w./-]+\.rb):(\d+):in ").unwrap(), false),
            (
                Regex::new(r"\(([\w$]+\.(?:java|kt|scala)):(\d+)\)").unwrap(),
                false,
            ),
        ]
    });
    for (re, last) in res {
        let mut found = None;
        for l in lines {
            for c in re.captures_iter(l) {
                if let Ok(n) = c[2].parse() {
                    found = Some((c[1].to_string(), n));
                    if !last {
                        return found;
                    }
                }
            }
        }
        if found.is_some() {
            return found;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(head: &str) -> Option<Severity> {
        Patterns::new(None, &[]).unwrap().classify(head, &[])
    }

    #[test]
    fn built_in_sets() {
        assert_eq!(
            judge("[02-Jan-2024 03:04:05 UTC] PHP Fatal error:  Uncaught Error: x in /a.php:3"),
            Some(Severity::Fatal)
        );
        assert_eq!(
            judge(
                "2024/01/02 03:04:05 [error] 1#1: *5 upstream timed out (110: Connection timed out) while reading"
            ),
            Some(Severity::Fatal)
        );
        assert_eq!(
            judge(
                "2024/01/02 03:04:05 [error] 1#1: *5 open() \"/var/www/favicon.ico\" failed (2: No such file)"
            ),
            Some(Severity::Error)
        );
        assert_eq!(
            judge("2024/01/02 03:04:05 [emerg] 1#1: bind() to 0.0.0.0:80 failed"),
            Some(Severity::Fatal)
        );
        assert_eq!(
            judge(
                "[Tue Jan 02 03:04:05.1 2024] [core:error] [pid 1] AH00124: Request exceeded the limit of 10 internal redirects"
            ),
            Some(Severity::Fatal)
        );
        assert_eq!(
            judge("thread 'main' panicked at src/main.rs:10:5:"),
            Some(Severity::Fatal)
        );
        assert_eq!(judge("2024-01-02 03:04:05 INFO all good"), None);
        let p = Patterns::new(None, &["favicon".to_string()]).unwrap();
        assert_eq!(p.classify("[error] favicon.ico failed", &[]), None);
        let tb = vec!["Traceback (most recent call last):".to_string()];
        assert_eq!(
            p.classify("2024-01-02 03:04:05,1 ERROR app: Exception on /", &tb),
            Some(Severity::Fatal)
        );
    }

    #[test]
    fn repeats_group_together() {
        let a = normalise(
            "[02-Jan-2024 03:04:05 UTC] PHP Warning: Undefined index 42 in /a.php on line 7",
        );
        let b = normalise(
            "[02-Jan-2024 04:05:06 UTC] PHP Warning: Undefined index 43 in /a.php on line 7",
        );
        assert_eq!(a, b);
        let a = normalise(
            "2024/01/02 03:04:05 [error] 812#812: *1234 upstream timed out, client: 1.2.3.4, server: x.com, request: \"GET /a HTTP/1.1\"",
        );
        let b = normalise(
            "2024/01/02 03:09:05 [error] 813#813: *99 upstream timed out, client: 5.6.7.8, server: x.com, request: \"GET /b HTTP/1.1\"",
        );
        assert_eq!(a, b);
    }

    #[test]
    fn source_locations() {
        assert_eq!(
            location(&["PHP Fatal error:  Uncaught Error: x in /var/www/index.php:12"]),
            Some(("/var/www/index.php".into(), 12))
        );
        assert_eq!(
            location(&["PHP Parse error: syntax error in /var/www/a.php on line 3"]),
            Some(("/var/www/a.php".into(), 3))
        );
        let py = [
            "Traceback (most recent call last):",
            "  File \"/app/a.py\", line 10, in f",
            "  File \"/app/b.py\", line 20, in g",
            "KeyError: 'x'",
        ];
        assert_eq!(location(&py), Some(("/app/b.py".into(), 20)));
        assert_eq!(
            location(&["    at handler (/srv/app/server.js:42:13)"]),
            Some(("/srv/app/server.js".into(), 42))
        );
        assert_eq!(
            location(&["thread 'main' panicked at src/main.rs:10:5:"]),
            Some(("src/main.rs".into(), 10))
        );
        assert_eq!(
            location(&["\tat com.acme.Foo.bar(Foo.java:77)"]),
            Some(("Foo.java".into(), 77))
        );
        assert_eq!(
            location(&["app/models/user.rb:15:in `name'"]),
            Some(("app/models/user.rb".into(), 15))
        );
    }
}
