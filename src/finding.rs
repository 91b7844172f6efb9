//! A finding: one piece of evidence as data — what it is about, which cause of a 500 it
//! belongs to, its text and its fix — so that the diagnosis can link findings across checks
//! instead of a person reading them check by check.

use serde::Serialize;

use crate::check::{Fix, Status};

/// What a finding is about. Two findings about the same subject (or a path and the mount
/// or directory that holds it) are what the diagnosis links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Subject {
    /// A file or directory, with a line when the evidence points into it.
    Path {
        path: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
    },
    Url {
        url: String,
    },
    /// `host:port`, or `unix:/path/to.sock`.
    Address {
        address: String,
    },
    Process {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    Unit {
        unit: String,
    },
    /// An environment variable (its name only, never its value).
    Var {
        name: String,
    },
    /// A mounted filesystem, by its mount point.
    Mount {
        mount: String,
    },
    /// A configuration directive, where it is written when known.
    Directive {
        directive: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
    },
}

impl Subject {
    pub fn path(path: impl Into<String>) -> Subject {
        Subject::Path {
            path: path.into(),
            line: None,
        }
    }

    /// The file this subject is, or is written in.
    pub fn file(&self) -> Option<&str> {
        match self {
            Subject::Path { path, .. } => Some(path),
            Subject::Directive { path, .. } => path.as_deref(),
            _ => None,
        }
    }

    /// A short name for a person: `/var/www/index.php:12`, `127.0.0.1:3306`, `DB_HOST`.
    pub fn label(&self) -> String {
        match self {
            Subject::Path {
                path,
                line: Some(l),
            } => format!("{path}:{l}"),
            Subject::Path { path, line: None } => path.clone(),
            Subject::Url { url } => url.clone(),
            Subject::Address { address } => address.clone(),
            Subject::Process {
                name,
                pid: Some(pid),
            } => format!("{name} (pid {pid})"),
            Subject::Process { name, pid: None } => name.clone(),
            Subject::Unit { unit } => unit.clone(),
            Subject::Var { name } => name.clone(),
            Subject::Mount { mount } => mount.clone(),
            Subject::Directive {
                directive,
                path: Some(p),
                line: Some(l),
            } => format!("{directive} ({p}:{l})"),
            Subject::Directive {
                directive,
                path: Some(p),
                line: None,
            } => format!("{directive} ({p})"),
            Subject::Directive { directive, .. } => directive.clone(),
        }
    }
}

/// Which of the causes of a 500 a finding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cause {
    /// A bug in the application's code.
    Code,
    /// Something took too long.
    Timeout,
    /// A file or directory the server or the app cannot read or write.
    Permissions,
    /// A web server, app server or `.htaccess` configuration mistake.
    Config,
    /// Disk, memory, CPU or file descriptors exhausted.
    Resources,
    /// A service the site depends on is down or slow.
    Dependency,
    /// A deploy changed or forgot something: files, variables, dependencies.
    Deploy,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Code => "code",
            Cause::Timeout => "timeout",
            Cause::Permissions => "permissions",
            Cause::Config => "config",
            Cause::Resources => "resources",
            Cause::Dependency => "dependency",
            Cause::Deploy => "deploy",
        }
    }
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub subject: Subject,
    pub cause: Cause,
    /// How bad this piece of evidence is on its own.
    pub status: Status,
    /// What was found, in a sentence, already free of secrets.
    pub text: String,
    pub fix: Option<Fix>,
    /// When it happened (a log entry's time, a request's start), in seconds since the Unix
    /// epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
    /// When it ended, for what took time (a request), in seconds since the Unix epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<i64>,
}

/// Now, in seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Finding {
    pub fn new(subject: Subject, cause: Cause, status: Status, text: impl Into<String>) -> Self {
        Finding {
            subject,
            cause,
            status,
            text: text.into(),
            fix: None,
            at: None,
            until: None,
        }
    }

    pub fn fix(mut self, text: impl Into<String>) -> Finding {
        self.fix = Some(Fix {
            text: text.into(),
            automatic: false,
        });
        self
    }

    pub fn at(mut self, when: i64) -> Finding {
        self.at = Some(when);
        self
    }

    /// It lasted from `from` to `to` (seconds since the epoch).
    pub fn during(mut self, from: i64, to: i64) -> Finding {
        self.at = Some(from);
        self.until = Some(to);
        self
    }

    /// Apply `mask` to every text it shows: what it says, its fix, and its subject's names
    /// (a URL or an address may carry credentials).
    pub fn mask(&mut self, mask: &impl Fn(&str) -> String) {
        self.text = mask(&self.text);
        if let Some(f) = &mut self.fix {
            f.text = mask(&f.text);
        }
        match &mut self.subject {
            Subject::Path { path, .. } => *path = mask(path),
            Subject::Url { url } => *url = mask(url),
            Subject::Address { address } => *address = mask(address),
            Subject::Process { name, .. } => *name = mask(name),
            Subject::Unit { unit } => *unit = mask(unit),
            Subject::Var { name } => *name = mask(name),
            Subject::Mount { mount } => *mount = mask(mount),
            Subject::Directive {
                directive, path, ..
            } => {
                *directive = mask(directive);
                if let Some(p) = path {
                    *p = mask(p);
                }
            }
        }
    }

    /// The evidence line a report shows for it: its text, then its fix after an arrow.
    pub fn detail(&self) -> String {
        match &self.fix {
            Some(f) if !f.text.contains('\n') => format!("{} → {}", self.text, f.text),
            _ => self.text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_a_tagged_subject() {
        let f = Finding::new(
            Subject::Path {
                path: "/var/www/index.php".into(),
                line: Some(3),
            },
            Cause::Permissions,
            Status::Fail,
            "www-data cannot read it",
        )
        .fix("chmod 644 /var/www/index.php");
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "subject": {"type": "path", "path": "/var/www/index.php", "line": 3},
                "cause": "permissions",
                "status": "fail",
                "text": "www-data cannot read it",
                "fix": {"text": "chmod 644 /var/www/index.php", "automatic": false}
            })
        );
        assert_eq!(
            f.detail(),
            "www-data cannot read it → chmod 644 /var/www/index.php"
        );
    }

    #[test]
    fn masking_reaches_text_fix_and_subject() {
        let mut f = Finding::new(
            Subject::Url {
                url: "https://u:hunter2@x/".into(),
            },
            Cause::Dependency,
            Status::Fail,
            "hunter2 echoed",
        )
        .fix("curl https://u:hunter2@x/");
        f.mask(&|s: &str| s.replace("hunter2", "***"));
        assert!(!serde_json::to_string(&f).unwrap().contains("hunter2"));
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(
            Subject::Directive {
                directive: "RewriteEngin".into(),
                path: Some("/var/www/.htaccess".into()),
                line: Some(2)
            }
            .label(),
            "RewriteEngin (/var/www/.htaccess:2)"
        );
        assert_eq!(
            Subject::Address {
                address: "127.0.0.1:3306".into()
            }
            .label(),
            "127.0.0.1:3306"
        );
    }
}
