//! The Nagios plugin conventions (monitoring-plugins guidelines): exit codes, the output's
//! first line and long text, and performance data with its range syntax.

/// A plugin's state, as its exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Ok,
    Warning,
    Critical,
    Unknown,
}

/// Exit 0/1/2/3 is OK/WARNING/CRITICAL/UNKNOWN; any other code is no state.
pub fn state_of(code: i32) -> Option<State> {
    match code {
        0 => Some(State::Ok),
        1 => Some(State::Warning),
        2 => Some(State::Critical),
        3 => Some(State::Unknown),
        _ => None,
    }
}

/// One item of performance data: `'label'=value[UOM];[warn];[crit];[min];[max]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Perf {
    pub label: String,
    pub value: f64,
    /// The unit of measurement (`s`, `%`, `B`, `c`...), empty for a plain number.
    pub uom: String,
    pub warn: Option<Threshold>,
    pub crit: Option<Threshold>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A warn or crit field: the range it means and its text as the plugin wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub range: Range,
    pub text: String,
}

/// A threshold range: alert outside `start..=end`, or inside it when `inside`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub inside: bool,
}

impl Range {
    /// `10`, `10:`, `~:10`, `10:20`, `@10:20`.
    pub fn parse(s: &str) -> Option<Range> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        let (inside, body) = match s.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let num = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite());
        let (start, end) = match body.split_once(':') {
            None => (Some(0.0), Some(num(body)?)),
            Some((a, b)) => {
                let start = if a == "~" {
                    None
                } else if a.is_empty() {
                    Some(0.0)
                } else {
                    Some(num(a)?)
                };
                let end = if b.is_empty() { None } else { Some(num(b)?) };
                (start, end)
            }
        };
        if let (Some(a), Some(b)) = (start, end)
            && a > b
        {
            return None;
        }
        Some(Range { start, end, inside })
    }

    /// Whether `v` raises an alert.
    pub fn alerts(&self, v: f64) -> bool {
        let within = self.start.is_none_or(|a| v >= a) && self.end.is_none_or(|b| v <= b);
        if self.inside { within } else { !within }
    }

    /// The single number that best stands for the range (its finite end, else its start).
    pub fn limit(&self) -> Option<f64> {
        self.end.or(self.start)
    }
}

/// A check's limit as the warn or crit field of performance data. A plain number means
/// "alert above it"; for a measure where lower is worse (available memory, free space: the
/// check's warn limit is above its fail limit) it is `limit:`, "alert below it", so that
/// graphers and Icinga judge the value as the check did.
pub fn threshold_field(limit: f64, lower_is_worse: bool) -> String {
    if lower_is_worse {
        format!("{limit}:")
    } else {
        format!("{limit}")
    }
}

/// Whether a measure with these limits is worse when lower: its warn limit is above its
/// fail limit.
pub fn lower_is_worse(warn: Option<f64>, fail: Option<f64>) -> bool {
    matches!((warn, fail), (Some(w), Some(f)) if w > f)
}

/// Parse performance data: `'label'=value[UOM];[warn];[crit];[min];[max]`, space-separated.
/// Returns the items and descriptions of the items that could not be read.
pub fn perfdata(text: &str) -> (Vec<Perf>, Vec<String>) {
    let mut metrics = Vec::new();
    let mut bad = Vec::new();
    for item in split_items(text) {
        match parse_item(&item) {
            Some(Some(m)) => metrics.push(m),
            Some(None) => {} // value "U": undetermined, nothing to record
            None => bad.push(item),
        }
    }
    (metrics, bad)
}

fn split_items(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                cur.push('\'');
                chars.next();
            }
            '\'' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    items.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        items.push(cur);
    }
    items
}

/// `Some(None)` for an undetermined value, `None` for a malformed item.
fn parse_item(item: &str) -> Option<Option<Perf>> {
    let (label, rest) = item.rsplit_once('=')?;
    let label = label.trim_matches('\'').to_string();
    if label.is_empty() {
        return None;
    }
    let mut fields = rest.split(';');
    let value_uom = fields.next()?;
    if value_uom == "U" {
        return Some(None);
    }
    let split = value_uom
        .find(|c: char| {
            !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')
        })
        .unwrap_or(value_uom.len());
    let (value, uom) = value_uom.split_at_checked(split)?;
    let value: f64 = value.parse().ok().filter(|v: &f64| v.is_finite())?;
    if !["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"].contains(&uom) {
        return None;
    }
    let range = |t: Option<&str>| -> Option<Option<Threshold>> {
        match t.map(str::trim) {
            None | Some("") => Some(None),
            Some(t) => Range::parse(t).map(|range| {
                Some(Threshold {
                    range,
                    text: t.to_string(),
                })
            }),
        }
    };
    let warn = range(fields.next())?;
    let crit = range(fields.next())?;
    let bound = |t: Option<&str>| -> Option<Option<f64>> {
        match t.map(str::trim) {
            None | Some("") => Some(None),
            Some(t) => t.parse().ok().filter(|v: &f64| v.is_finite()).map(Some),
        }
    };
    Some(Some(Perf {
        label,
        value,
        uom: uom.to_string(),
        warn,
        crit,
        min: bound(fields.next())?,
        max: bound(fields.next())?,
    }))
}

/// A plugin's output: the summary, the long text, and all performance data (after `|` on
/// the first line and after the first `|` in the long text).
pub struct PluginOutput {
    pub summary: String,
    pub long: Vec<String>,
    pub perf: String,
}

pub fn split_output(text: &str) -> PluginOutput {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let (summary, mut perf) = match first.split_once('|') {
        Some((s, p)) => (s.trim().to_string(), p.trim().to_string()),
        None => (first.trim().to_string(), String::new()),
    };
    let mut long = Vec::new();
    let mut in_perf = false;
    for l in lines {
        if in_perf {
            perf.push(' ');
            perf.push_str(l.trim());
        } else if let Some((text, p)) = l.split_once('|') {
            if !text.trim().is_empty() {
                long.push(text.trim_end().to_string());
            }
            perf.push(' ');
            perf.push_str(p.trim());
            in_perf = true;
        } else if !l.trim().is_empty() {
            long.push(l.trim_end().to_string());
        }
    }
    PluginOutput {
        summary,
        long,
        perf: perf.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let r = Range::parse("10").unwrap();
        assert!(r.alerts(11.0) && r.alerts(-1.0) && !r.alerts(5.0));
        let r = Range::parse("10:").unwrap();
        assert!(r.alerts(9.0) && !r.alerts(1e9));
        let r = Range::parse("~:10").unwrap();
        assert!(r.alerts(11.0) && !r.alerts(-1e9));
        let r = Range::parse("10:20").unwrap();
        assert!(r.alerts(9.0) && r.alerts(21.0) && !r.alerts(15.0));
        let r = Range::parse("@10:20").unwrap();
        assert!(!r.alerts(9.0) && r.alerts(15.0));
        assert!(Range::parse("20:10").is_none());
        assert!(Range::parse("x").is_none());
    }

    #[test]
    fn lower_is_worse_uses_the_range_that_means_it() {
        assert!(lower_is_worse(Some(10.0), Some(5.0)));
        assert!(!lower_is_worse(Some(80.0), Some(90.0)));
        assert!(!lower_is_worse(None, Some(1.0)));
        let w = threshold_field(10.0, true);
        assert_eq!(w, "10:");
        let r = Range::parse(&w).unwrap();
        assert!(r.alerts(9.5) && !r.alerts(50.0), "alerts below 10 only");
        assert_eq!(threshold_field(2.5, false), "2.5");
    }

    #[test]
    fn perfdata_items() {
        let (m, bad) = perfdata(
            "time=0.012s;1;2;0;10 'free space'=55%;20:;10:;0;100 size=1234B users=U bogus",
        );
        assert_eq!(bad, vec!["bogus".to_string()]);
        assert_eq!(m.len(), 3);
        assert_eq!(
            (m[0].label.as_str(), m[0].value, m[0].uom.as_str()),
            ("time", 0.012, "s")
        );
        let limit = |t: &Option<Threshold>| t.as_ref().and_then(|t| t.range.limit());
        assert_eq!(
            (limit(&m[0].warn), limit(&m[0].crit), m[0].min, m[0].max),
            (Some(1.0), Some(2.0), Some(0.0), Some(10.0))
        );
        assert_eq!(m[1].label, "free space");
        assert_eq!(m[1].warn.as_ref().map(|t| t.text.as_str()), Some("20:"));
        assert_eq!(limit(&m[1].warn), Some(20.0));
        assert_eq!(m[2].uom, "B");
    }

    #[test]
    fn output_layout() {
        let o = split_output(
            "DISK OK - free space: / 3326 MB | /=2643MB;5948;5958;0;5968\n/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);| /boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;253414\n",
        );
        assert_eq!(o.summary, "DISK OK - free space: / 3326 MB");
        assert_eq!(o.long.len(), 3);
        let (m, bad) = perfdata(&o.perf);
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(m.len(), 3);
    }
}
