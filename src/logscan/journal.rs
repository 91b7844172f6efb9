//! The systemd journal as a log source: `journalctl --output json --reverse` read as a bounded
//! child, newest first, only back to the window's start, one entry at a time (memory does
//! not grow with the journal), and entries of one process written in one burst put back
//! together into the blocks a log file would hold (a traceback is one block, not twenty).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use crate::sys::child;

/// What to read.
pub struct Query<'a> {
    /// Units, as `journalctl --unit` takes them (globs allowed).
    pub units: &'a [String],
    /// Another journal's directory (`journalctl -D`) instead of this host's.
    pub dir: Option<&'a Path>,
    /// The window's start, seconds since the epoch.
    pub since: i64,
    pub timeout: Duration,
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Microseconds since the epoch, UTC: when the process wrote it, else when the journal
    /// received it.
    pub micros: i64,
    pub pid: u32,
    pub unit: String,
    pub message: String,
}

/// Why the journal could not be read.
#[derive(Debug, PartialEq)]
pub enum Error {
    /// No `journalctl` here.
    NotInstalled,
    /// The journal exists but this user may not read it.
    Denied,
    /// `journalctl` failed; its first line of complaint.
    Failed(String),
}

/// What one read of the journal cost and how it ended.
#[derive(Debug, Default)]
pub struct Read {
    pub bytes: u64,
    pub entries: u64,
    /// The deadline came before the window's start: older entries were not read.
    pub timed_out: bool,
}

/// A JSON record is a few KiB (journalctl prints fields over 4096 bytes as null).
const MAX_RECORD: usize = 256 * 1024;

/// The journalctl command line for `q`. Unit names go in `--unit=` form so that none can be
/// taken for an option.
pub fn argv(q: &Query<'_>) -> Vec<String> {
    let mut argv = vec!["journalctl".to_string()];
    if let Some(d) = q.dir {
        argv.push(format!("--directory={}", d.to_string_lossy()));
    }
    argv.extend(q.units.iter().map(|u| format!("--unit={u}")));
    argv.extend([
        format!("--since=@{}", q.since),
        "--output=json".into(),
        "--output-fields=MESSAGE,_PID,_SYSTEMD_UNIT,UNIT,_SOURCE_REALTIME_TIMESTAMP".into(),
        "--reverse".into(),
        "--no-pager".into(),
    ]);
    argv
}

/// Read the entries of `q`, newest first, handing each to `on_line` until it returns false.
pub fn read(q: &Query<'_>, on_line: &mut dyn FnMut(Line) -> bool) -> Result<Read, Error> {
    if child::which("journalctl").is_none() {
        return Err(Error::NotInstalled);
    }
    let argv = argv(q);
    let env = BTreeMap::from([("LC_ALL".to_string(), "C".to_string())]);
    let since_micros = q.since.saturating_mul(1_000_000);
    let mut entries = 0u64;
    let streamed = child::stream(
        &child::Spec {
            argv: &argv,
            env: &env,
            cwd: None,
            timeout: q.timeout,
            clear_env: false,
        },
        MAX_RECORD,
        &mut |raw| {
            let Some(line) = parse(raw) else {
                return true;
            };
            entries += 1;
            // A clock set back can put an older entry after a newer one: the window still ends
            // at its start.
            line.micros >= since_micros && on_line(line)
        },
    )
    .map_err(Error::Failed)?;
    let complaint = streamed.stderr.text();
    if denied(&complaint) {
        return Err(Error::Denied);
    }
    if !streamed.stopped && !streamed.timed_out && streamed.code != Some(0) {
        let first = complaint
            .lines()
            .find(|l| !l.trim().is_empty())
            .map_or_else(
                || format!("journalctl exited with status {:?}", streamed.code),
                |l| crate::sanitize::terminal(l.trim()),
            );
        return Err(Error::Failed(first));
    }
    Ok(Read {
        bytes: streamed.bytes,
        entries,
        timed_out: streamed.timed_out,
    })
}

/// journalctl's words for a journal this user may not read (it may still exit 0, having
/// shown only the user's own entries).
fn denied(stderr: &str) -> bool {
    stderr.contains("Permission denied")
        || stderr.contains("insufficient permissions")
        || stderr.contains("not seeing messages from other users")
}

/// One `--output json` record; `None` for what is not one, or has no text.
pub fn parse(raw: &[u8]) -> Option<Line> {
    let v: serde_json::Value = serde_json::from_slice(raw).ok()?;
    let field = |name: &str| v.get(name).and_then(text);
    let micros = field("_SOURCE_REALTIME_TIMESTAMP")
        .or_else(|| field("__REALTIME_TIMESTAMP"))?
        .parse()
        .ok()?;
    let mut message = field("MESSAGE")?;
    while message.ends_with(['\n', '\r']) {
        message.pop();
    }
    Some(Line {
        micros,
        pid: field("_PID").and_then(|p| p.parse().ok()).unwrap_or(0),
        unit: field("_SYSTEMD_UNIT")
            .or_else(|| field("UNIT"))
            .unwrap_or_default(),
        message,
    })
}

/// A field's text: a string, or (for bytes that are not UTF-8) an array of byte values.
fn text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(a) => {
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        _ => None,
    }
}

/// Entries of one process that belong together, oldest first, as a log file would hold
/// them: the first line, then the lines that continue it.
#[derive(Debug, PartialEq)]
pub struct Block {
    pub unit: String,
    /// Seconds since the epoch of its first line.
    pub time: i64,
    pub lines: Vec<String>,
}

/// Entries of one process further apart than this are separate blocks: a traceback is
/// written in one burst.
const BURST_MICROS: i64 = 500_000;
/// The most lines one block keeps (a file's entry keeps as many).
const MAX_BLOCK: usize = 200;
/// The most processes with an open block; beyond it, all are closed.
const MAX_OPEN: usize = 256;

/// Puts entries, handed newest first, back into blocks. An entry begins a block when it
/// carries its own timestamp (a gunicorn or PHP line) or is `Traceback (most recent call
/// last):` not preceded by such a line; the entries after it, of the same process and in
/// the same burst, continue it.
#[derive(Default)]
pub struct Blocks {
    open: HashMap<u32, Open>,
    now: i64,
}

struct Open {
    unit: String,
    /// Newest first.
    lines: Vec<String>,
    oldest: i64,
    /// Its oldest line is a traceback's start: only a dated line may still head it.
    traceback: bool,
}

impl Blocks {
    pub fn new(now: i64) -> Blocks {
        Blocks {
            open: HashMap::new(),
            now,
        }
    }

    /// Take the next (older) entry; the blocks it closes.
    pub fn push(&mut self, line: Line, out: &mut Vec<Block>) {
        let dated = super::timestamp::parse(&line.message, self.now).is_some();
        if let Some(o) = self.open.get(&line.pid) {
            let apart = o.oldest - line.micros > BURST_MICROS;
            if apart || o.lines.len() >= MAX_BLOCK || (o.traceback && !dated) || line.pid == 0 {
                out.extend(self.close(line.pid));
            }
        }
        if self.open.len() >= MAX_OPEN {
            let pids: Vec<u32> = self.open.keys().copied().collect();
            out.extend(pids.into_iter().filter_map(|p| self.close(p)));
        }
        let traceback = line
            .message
            .starts_with("Traceback (most recent call last)");
        let o = self.open.entry(line.pid).or_insert_with(|| Open {
            unit: line.unit.clone(),
            lines: Vec::new(),
            oldest: line.micros,
            traceback: false,
        });
        o.oldest = line.micros;
        o.traceback = traceback;
        o.lines.push(line.message);
        if dated {
            out.extend(self.close(line.pid));
        }
    }

    fn close(&mut self, pid: u32) -> Option<Block> {
        let o = self.open.remove(&pid)?;
        let mut lines = o.lines;
        lines.reverse();
        Some(Block {
            unit: o.unit,
            time: o.oldest.div_euclid(1_000_000),
            lines,
        })
    }

    /// The blocks still open, at the end of the read.
    pub fn finish(mut self, out: &mut Vec<Block>) {
        let pids: Vec<u32> = self.open.keys().copied().collect();
        out.extend(pids.into_iter().filter_map(|p| self.close(p)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: f64, pid: u32, msg: &str) -> Line {
        Line {
            micros: (s * 1e6) as i64,
            pid,
            unit: "app.service".into(),
            message: msg.into(),
        }
    }

    /// Blocks from entries given oldest first (as they were written).
    fn blocks(written: Vec<Line>) -> Vec<Vec<String>> {
        let mut b = Blocks::new(1_700_000_000);
        let mut out = Vec::new();
        for l in written.into_iter().rev() {
            b.push(l, &mut out);
        }
        b.finish(&mut out);
        out.into_iter().map(|b| b.lines).collect()
    }

    #[test]
    fn a_traceback_written_at_once_is_one_block() {
        let got = blocks(vec![
            line(100.0, 7, "started"),
            line(200.0, 7, "Traceback (most recent call last):"),
            line(200.001, 7, "  File \"/srv/app/app.py\", line 9, in index"),
            line(200.002, 7, "    return 1/0"),
            line(200.003, 7, "ZeroDivisionError: division by zero"),
        ]);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.contains(&vec![
            "Traceback (most recent call last):".to_string(),
            "  File \"/srv/app/app.py\", line 9, in index".into(),
            "    return 1/0".into(),
            "ZeroDivisionError: division by zero".into(),
        ]));
    }

    #[test]
    fn a_dated_line_heads_the_traceback_after_it_and_processes_stay_apart() {
        let got = blocks(vec![
            line(
                200.0,
                7,
                "[2023-11-14 22:13:20 +0000] [7] [ERROR] Error handling request /",
            ),
            line(200.0, 8, "other process"),
            line(200.001, 7, "Traceback (most recent call last):"),
            line(200.002, 7, "KeyError: 'x'"),
            line(200.003, 7, "[2023-11-14 22:13:20 +0000] [7] [INFO] next"),
        ]);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.contains(&vec![
            "[2023-11-14 22:13:20 +0000] [7] [ERROR] Error handling request /".to_string(),
            "Traceback (most recent call last):".into(),
            "KeyError: 'x'".into(),
        ]));
    }

    #[test]
    fn two_tracebacks_in_one_burst_are_two_blocks() {
        let got = blocks(vec![
            line(1.0, 7, "Traceback (most recent call last):"),
            line(1.0, 7, "KeyError: 'a'"),
            line(1.0, 7, "Traceback (most recent call last):"),
            line(1.0, 7, "KeyError: 'b'"),
        ]);
        assert_eq!(got.len(), 2, "{got:?}");
    }

    #[test]
    fn records_parse_and_junk_does_not() {
        let l = parse(br#"{"__REALTIME_TIMESTAMP":"1700000000123456","_SOURCE_REALTIME_TIMESTAMP":"1700000000000001","_PID":"42","_SYSTEMD_UNIT":"gunicorn.service","MESSAGE":"boom\n"}"#).unwrap();
        assert_eq!(
            l,
            Line {
                micros: 1_700_000_000_000_001,
                pid: 42,
                unit: "gunicorn.service".into(),
                message: "boom".into()
            }
        );
        let bytes = parse(br#"{"__REALTIME_TIMESTAMP":"5","MESSAGE":[104,105,255]}"#).unwrap();
        assert_eq!(bytes.message, "hi\u{fffd}");
        assert_eq!(
            parse(br#"{"__REALTIME_TIMESTAMP":"5","MESSAGE":null}"#),
            None
        );
        assert_eq!(parse(b"not json"), None);
        assert_eq!(parse(br#"{"MESSAGE":"no time"}"#), None);
    }

    #[test]
    fn a_unit_cannot_become_an_option() {
        let units = ["--file=/etc/shadow".to_string()];
        let a = argv(&Query {
            units: &units,
            dir: Some(Path::new("/j")),
            since: 1,
            timeout: Duration::from_secs(1),
        });
        assert!(a.contains(&"--unit=--file=/etc/shadow".to_string()));
        assert!(a.contains(&"--directory=/j".to_string()));
        assert!(a.contains(&"--since=@1".to_string()));
    }
}
