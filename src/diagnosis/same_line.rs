//! A web server error on a configuration or `.htaccess` file ↔ the lint or config-test
//! finding on the same file (and line, when both name one).

use super::{Diagnosis, Found, Rule};
use crate::finding::{Cause, Subject};

pub static RULE: Rule = Rule {
    name: "config-line",
    about: "a web server's error names a file and line that a lint or config test flags",
    link,
};

fn line_of(s: &Subject) -> Option<u32> {
    match s {
        Subject::Path { line, .. } | Subject::Directive { line, .. } => *line,
        _ => None,
    }
}

fn link(found: &[Found<'_>]) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for symptom in found
        .iter()
        .filter(|f| f.kind() == "log" && f.finding.cause == Cause::Config)
    {
        let Some(file) = symptom.finding.subject.file() else {
            continue;
        };
        let line = line_of(&symptom.finding.subject);
        let Some(lint) = found.iter().find(|l| {
            l.kind() != "log"
                && l.finding.cause == Cause::Config
                && l.is_problem()
                && l.finding.subject.file() == Some(file)
                && match (line, line_of(&l.finding.subject)) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        }) else {
            continue;
        };
        // The lint's text names the file and line already.
        out.push(super::linked(
            &RULE,
            symptom,
            lint,
            format!(
                "{} (the error {} logged)",
                lint.finding.text, symptom.check.id
            ),
            118,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use crate::check::Status;
    use crate::finding::{Cause, Subject};

    #[test]
    fn links_the_log_to_the_lint_on_that_file() {
        let d = |line| Subject::Directive {
            directive: "RewriteEngin".into(),
            path: Some("/var/www/html/.htaccess".into()),
            line,
        };
        let checks = vec![
            result(
                "errors",
                "log",
                Status::Fail,
                vec![finding(
                    d(None),
                    Cause::Config,
                    Status::Fail,
                    "Invalid command 'RewriteEngin'",
                )],
            ),
            result(
                "htaccess",
                "htaccess",
                Status::Fail,
                vec![
                    finding(
                        d(Some(2)),
                        Cause::Config,
                        Status::Fail,
                        "unknown directive `RewriteEngin`",
                    )
                    .fix("line 2 of /var/www/html/.htaccess: `RewriteEngin` → `RewriteEngine`"),
                ],
            ),
        ];
        let out = crate::diagnosis::diagnose(&checks);
        assert_eq!(out[0].rule, "config-line");
        assert!(out[0].fix.as_deref().unwrap().contains("→ `RewriteEngine`"));
    }
}
