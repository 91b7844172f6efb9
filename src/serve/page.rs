//! The status page: one self-contained HTML document (inline CSS, no script, nothing loaded
//! from elsewhere) that refreshes itself. The diagnosis first, then the problems worst first,
//! each with its evidence, fix and history strip; then what passed. Every string from a
//! check is escaped.

use std::fmt::Write;
use std::time::{Duration, SystemTime};

use super::cache::Snapshot;
use super::history::Strip;
use crate::check::Status;
use crate::report::{CheckResult, Report};
use crate::sanitize;
use crate::units::{fmt_age, fmt_duration};

/// Evidence lines shown per check before "… N more".
const MAX_DETAILS: usize = 40;

pub(crate) struct View<'a> {
    pub snap: &'a Snapshot,
    pub now: SystemTime,
    /// How often the page reloads itself.
    pub refresh: Duration,
}

/// Text for HTML, between tags or in a quoted attribute: control characters made visible as
/// on a terminal, then the five characters that mean something to HTML replaced.
pub(crate) fn esc(s: &str) -> String {
    escape(&sanitize::terminal(s))
}

/// Like [`esc`] for text whose lines are meant (a fix of several commands).
fn esc_lines(s: &str) -> String {
    escape(&sanitize::terminal_lines(s))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn label(s: Status) -> &'static str {
    match s {
        Status::Fail => "FAIL",
        Status::Error => "ERROR",
        Status::Warn => "WARN",
        Status::Pass => "ok",
        Status::Skip => "skip",
    }
}

/// "failing since", "erroring since", "warning since".
fn streak_word(s: Status) -> &'static str {
    match s {
        Status::Fail => "failing",
        Status::Error => "erroring",
        _ => "warning",
    }
}

fn age(now: SystemTime, then: SystemTime) -> String {
    // A clock set back reads as "just now", never "in the future".
    fmt_age(now.duration_since(then).map_or(0, |d| d.as_secs() as i64))
}

const STYLE: &str = "
:root{--fail:#c62828;--error:#7b1fa2;--warn:#e0a000;--pass:#2e7d32;--skip:#9e9e9e;--none:#e6e6e6;
--bg:#fafafa;--fg:#1d1d1f;--card:#fff;--muted:#666;--line:#e2e2e2;--code:#f3f4f6}
@media (prefers-color-scheme:dark){:root{--bg:#121316;--fg:#e8e8ea;--card:#1c1d21;--muted:#a0a0a8;
--line:#2c2d33;--code:#26272d;--none:#34353b}}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:var(--bg);color:var(--fg)}
main,.top>div{max-width:1100px;margin:0 auto;padding:0 20px}
.top{border-bottom:4px solid var(--pass);background:var(--card);padding:18px 0 12px;margin-bottom:18px}
.top.s-fail{border-color:var(--fail)}.top.s-error{border-color:var(--error)}.top.s-warn{border-color:var(--warn)}
h1{margin:0 0 4px;font-size:22px;display:flex;gap:10px;align-items:center}
h2{font-size:14px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:22px 0 8px}
.meta{color:var(--muted);margin:2px 0;font-size:13px}
.counts{margin:2px 0;font-weight:600}
.badge{display:inline-block;min-width:50px;text-align:center;font:700 12px/20px ui-monospace,monospace;
border-radius:4px;padding:0 6px;color:#fff;background:var(--skip)}
.badge.s-fail{background:var(--fail)}.badge.s-error{background:var(--error)}
.badge.s-warn{background:var(--warn);color:#1d1d1f}.badge.s-pass{background:var(--pass)}.badge.s-skip{background:var(--skip)}
.diagnosis{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:6px;padding:4px 16px 10px}
.diagnosis ol{margin:6px 0;padding-left:22px}.diagnosis li{margin:8px 0}
.headline{font-weight:600;margin:0}
.chain{color:var(--muted);font-size:13px;margin:2px 0}
.check{background:var(--card);border:1px solid var(--line);border-left:4px solid var(--skip);border-radius:6px;
padding:10px 14px;margin:10px 0}
.check.s-fail{border-left-color:var(--fail)}.check.s-error{border-left-color:var(--error)}
.check.s-warn{border-left-color:var(--warn)}.check.s-pass{border-left-color:var(--pass)}
.check>header{display:flex;flex-wrap:wrap;gap:8px;align-items:baseline}
.check h3{margin:0;font:600 15px ui-monospace,SFMono-Regular,Menlo,monospace}
.title{color:var(--fg)}.kind,.ago{color:var(--muted);font-size:12px}.ago{margin-left:auto}
.summary{margin:6px 0}
.evidence{margin:4px 0;padding-left:18px;font:12.5px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}
.fix{display:flex;gap:8px;align-items:flex-start;margin:6px 0 2px}
.fix .label{font-size:12px;text-transform:uppercase;color:var(--muted);padding-top:6px}
pre{margin:0;padding:6px 10px;background:var(--code);border-radius:4px;font:12.5px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;
white-space:pre-wrap;overflow-wrap:anywhere;flex:1}
.history{display:flex;align-items:center;gap:10px;flex-wrap:wrap;margin:6px 0 2px;font-size:12px;color:var(--muted)}
.strip{display:inline-flex;gap:2px}
.cell{display:inline-block;width:8px;height:16px;border-radius:2px;background:var(--none)}
.cell.s-fail{background:var(--fail)}.cell.s-error{background:var(--error)}.cell.s-warn{background:var(--warn)}
.cell.s-pass{background:var(--pass)}.cell.s-skip{background:var(--skip)}
.since{font-weight:600}.since.s-fail{color:var(--fail)}.since.s-error{color:var(--error)}.since.s-warn{color:#a87400}
.fine .check{padding:6px 14px;margin:6px 0}.fine .summary{display:inline;margin:0;color:var(--muted)}
details summary{cursor:pointer;color:var(--muted);font-size:12px}
footer{max-width:1100px;margin:24px auto;padding:0 20px;color:var(--muted);font-size:12px}
a{color:inherit}
";

pub(crate) fn render(v: &View<'_>) -> String {
    let r = &v.snap.report;
    let mut out = String::with_capacity(16 * 1024 + r.checks.len() * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{}\">\
         <title>{} · {} · sitedoctor</title><style>{STYLE}</style></head><body>\n",
        v.refresh.as_secs().max(1),
        label(r.worst),
        esc(&r.host),
    );
    top(&mut out, v);
    out.push_str("<main>\n");
    diagnosis(&mut out, r);
    let mut problems: Vec<&CheckResult> = r.checks.iter().filter(|c| !c.status.is_ok()).collect();
    problems.sort_by_key(|c| std::cmp::Reverse(c.status.rank()));
    let fine: Vec<&CheckResult> = r.checks.iter().filter(|c| c.status.is_ok()).collect();
    if !problems.is_empty() {
        let _ = writeln!(
            out,
            "<section class=\"problems\"><h2>Problems ({})</h2>",
            problems.len()
        );
        for c in problems {
            check(&mut out, v, c, true);
        }
        out.push_str("</section>\n");
    }
    if !fine.is_empty() {
        let _ = writeln!(
            out,
            "<section class=\"fine\"><h2>Passed and skipped ({})</h2>",
            fine.len()
        );
        for c in fine {
            check(&mut out, v, c, false);
        }
        out.push_str("</section>\n");
    }
    let _ = write!(
        out,
        "</main>\n<footer>{} {} · <a href=\"/report.json\">report.json</a> · \
         <a href=\"/metrics\">metrics</a> · <a href=\"/healthz\">healthz</a></footer>\n</body></html>\n",
        r.tool.name, r.tool.version
    );
    out
}

fn top(out: &mut String, v: &View<'_>) {
    let r = &v.snap.report;
    let verdict = if r.checks.iter().all(|c| c.status.is_ok()) {
        "all clear"
    } else {
        "problems found"
    };
    let parts = r.summary.parts();
    let health = if v.snap.healthy {
        "200 (healthy)"
    } else {
        "503 (unhealthy)"
    };
    let _ = writeln!(
        out,
        "<header class=\"top s-{w}\"><div>\
         <h1><span class=\"badge s-{w}\">{}</span> {} — {verdict}</h1>\
         <p class=\"counts\">{} of {} check(s)</p>\
         <p class=\"meta\">last run {} (started {}), took {} · history of {} run(s) · /healthz {health} · \
         this page reloads every {}</p></div></header>",
        label(r.worst),
        esc(&r.host),
        parts.join(", "),
        r.summary.total,
        age(v.now, v.snap.finished),
        esc(&r.started_at),
        fmt_duration(Duration::from_millis(r.duration_ms)),
        v.snap.history.len(),
        fmt_duration(v.refresh),
        w = r.worst,
    );
}

fn diagnosis(out: &mut String, r: &Report) {
    if r.diagnosis.is_empty() {
        return;
    }
    out.push_str(
        "<section class=\"diagnosis\"><h2>Diagnosis: the likely cause of a 500</h2><ol>\n",
    );
    for d in &r.diagnosis {
        let _ = write!(out, "<li><p class=\"headline\">{}</p>", esc(&d.headline));
        if d.linked {
            let chain: Vec<String> = d
                .evidence
                .iter()
                .map(|e| format!("{} ({})", esc(&e.text), esc(&e.check)))
                .collect();
            let _ = write!(
                out,
                "<p class=\"chain\">evidence: {}</p>",
                chain.join(" ↔ ")
            );
        }
        if let Some(fix) = &d.fix {
            let _ = write!(
                out,
                "<div class=\"fix\"><span class=\"label\">fix</span><pre>{}</pre></div>",
                esc_lines(fix)
            );
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ol></section>\n");
}

fn check(out: &mut String, v: &View<'_>, c: &CheckResult, problem: bool) {
    let _ = write!(
        out,
        "<article class=\"check s-{s}\" id=\"check-{id}\"><header>\
         <span class=\"badge s-{s}\">{}</span><h3>{id}</h3>",
        label(c.status),
        s = c.status,
        id = esc(&c.id),
    );
    if let Some(t) = &c.title {
        let _ = write!(out, "<span class=\"title\">{}</span>", esc(t));
    }
    let _ = write!(
        out,
        "<span class=\"kind\">{}</span><span class=\"ago\">ran {} · took {}</span></header>",
        c.kind,
        age(v.now, v.snap.finished),
        fmt_duration(Duration::from_millis(c.duration_ms)),
    );
    let _ = write!(out, "<p class=\"summary\">{}</p>", esc(&c.summary));
    history(out, v, &v.snap.history.strip(&c.id));
    let evidence = |out: &mut String| {
        out.push_str("<ul class=\"evidence\">");
        for d in c.details.iter().take(MAX_DETAILS) {
            let _ = write!(out, "<li>{}</li>", esc(d));
        }
        if c.details.len() > MAX_DETAILS {
            let _ = write!(
                out,
                "<li>… {} more in <a href=\"/report.json\">report.json</a></li>",
                c.details.len() - MAX_DETAILS
            );
        }
        out.push_str("</ul>");
    };
    if !c.details.is_empty() {
        if problem {
            evidence(out);
        } else {
            let _ = write!(
                out,
                "<details><summary>evidence ({})</summary>",
                c.details.len()
            );
            evidence(out);
            out.push_str("</details>");
        }
    }
    if let Some(fix) = &c.fix {
        let _ = write!(
            out,
            "<div class=\"fix\"><span class=\"label\">fix</span><pre>{}</pre></div>",
            esc_lines(&fix.text)
        );
    }
    out.push_str("</article>\n");
}

fn history(out: &mut String, v: &View<'_>, strip: &Strip) {
    let n = strip.cells.len();
    let _ = write!(
        out,
        "<div class=\"history\"><span class=\"strip\" title=\"the last {n} run(s), oldest first\">"
    );
    for (when, status) in &strip.cells {
        let (class, word) = match status {
            Some(s) => (s.as_str(), s.as_str()),
            None => ("none", "not run"),
        };
        let _ = write!(
            out,
            "<span class=\"cell s-{class}\" title=\"{word}, {}\"></span>",
            age(v.now, *when)
        );
    }
    out.push_str("</span>");
    if let (Some((since, beyond)), Some((_, Some(now)))) = (strip.since, strip.cells.last()) {
        let at_least = if beyond { "for at least" } else { "since" };
        let _ = write!(
            out,
            "<span class=\"since s-{now}\">{} {at_least} {}</span>",
            streak_word(*now),
            if beyond {
                age(v.now, since).trim_end_matches(" ago").to_string()
            } else {
                age(v.now, since)
            }
        );
    }
    out.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_would_read_as_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(esc("a\x1b[31mb\nc"), "a\\x1b[31mb\\nc");
        assert_eq!(esc_lines("one\ntwo <b>"), "one\ntwo &lt;b&gt;");
    }
}
