//! Timestamps at the start of log lines: nginx, Apache 2.2 and 2.4, PHP and PHP-FPM, syslog
//! (RFC 3164 and 5424), and ISO 8601 / RFC 3339 application logs. Times without a zone are
//! the host's local time, as the servers write them.

use chrono::{DateTime, Datelike, FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month(s: &str) -> Option<u32> {
    MONTHS.iter().position(|m| *m == s).map(|i| i as u32 + 1)
}

fn num(s: &str) -> Option<u32> {
    s.parse().ok()
}

fn hms(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.splitn(3, ':');
    let h = num(it.next()?)?;
    let m = num(it.next()?)?;
    let sec = it.next()?;
    let sec = num(&sec[..sec.len().min(2)])?;
    Some((h, m, sec))
}

fn local(y: i32, mo: u32, d: u32, (h, mi, s): (u32, u32, u32)) -> Option<i64> {
    let naive = NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_opt(h, mi, s)?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp())
}

fn utc(y: i32, mo: u32, d: u32, (h, mi, s): (u32, u32, u32)) -> Option<i64> {
    Some(
        NaiveDate::from_ymd_opt(y, mo, d)?
            .and_hms_opt(h, mi, s)?
            .and_utc()
            .timestamp(),
    )
}

/// Seconds since the epoch of the timestamp that starts `line`, if it has one. `now` decides
/// the year of syslog lines, which have none.
pub fn parse(line: &str, now: i64) -> Option<i64> {
    let b = line.as_bytes();
    let first = *b.first()?;
    if first.is_ascii_digit() {
        return nginx(line).or_else(|| iso(line));
    }
    match first {
        b'[' => apache(line)
            .or_else(|| php(line))
            .or_else(|| iso(&line[1..])),
        b'<' => rfc5424(line),
        _ => syslog(line, now),
    }
}

/// `2024/01/02 03:04:05 [error] 123#0: ...`
fn nginx(line: &str) -> Option<i64> {
    let s = line.get(..19)?;
    if s.as_bytes().get(4) != Some(&b'/') {
        return None;
    }
    local(
        s[..4].parse().ok()?,
        num(&s[5..7])?,
        num(&s[8..10])?,
        hms(&s[11..19])?,
    )
}

/// `[Tue Jan 02 03:04:05.123456 2024] [php:error] ...` (2.4) or without the fraction (2.2).
fn apache(line: &str) -> Option<i64> {
    let end = line.find(']')?;
    let inner = &line[1..end];
    let parts: Vec<&str> = inner.split_whitespace().collect();
    if parts.len() != 5 || parts[0].len() != 3 {
        return None;
    }
    local(
        parts[4].parse().ok()?,
        month(parts[1])?,
        num(parts[2])?,
        hms(parts[3])?,
    )
}

/// `[02-Jan-2024 03:04:05] WARNING: ...` (PHP-FPM), `[02-Jan-2024 03:04:05 UTC] PHP Fatal
/// error: ...` (PHP's error_log, with its zone).
fn php(line: &str) -> Option<i64> {
    let end = line.find(']')?;
    let inner = &line[1..end];
    let mut parts = inner.split_whitespace();
    let date = parts.next()?;
    let time = parts.next()?;
    let zone = parts.next();
    let mut d = date.split('-');
    let (day, mo, y) = (num(d.next()?)?, month(d.next()?)?, d.next()?.parse().ok()?);
    if zone == Some("UTC") {
        utc(y, mo, day, hms(time)?)
    } else {
        local(y, mo, day, hms(time)?)
    }
}

/// `Jan  2 03:04:05 host prog[1]: ...` — no year: this year, or last year if that would be
/// in the future.
fn syslog(line: &str, now: i64) -> Option<i64> {
    let mo = month(line.get(..3)?)?;
    let day = num(line.get(4..6)?.trim_start())?;
    let t = hms(line.get(7..15)?)?;
    let this_year = DateTime::from_timestamp(now, 0)?
        .with_timezone(&Local)
        .year();
    let ts = local(this_year, mo, day, t)?;
    if ts > now + 86400 {
        local(this_year - 1, mo, day, t)
    } else {
        Some(ts)
    }
}

/// `<34>1 2024-01-02T03:04:05.003Z host app 123 ID47 - ...`
fn rfc5424(line: &str) -> Option<i64> {
    let gt = line.find('>')?;
    let rest = line[gt + 1..].strip_prefix("1 ")?;
    iso(rest)
}

/// `2024-01-02T03:04:05Z`, `2024-01-02 03:04:05,123`, `2024-01-02T03:04:05.5+01:00`, and
/// the same inside `[...]`.
fn iso(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let date = NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").ok()?;
    let (h, m, sec) = hms(&s[11..19])?;
    let naive: NaiveDateTime = date.and_hms_opt(h, m, sec)?;
    let mut rest = &s[19..];
    if let Some(r) = rest.strip_prefix(['.', ',']) {
        rest = r.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let rest = rest.trim_start_matches(' ');
    if rest.starts_with('Z') {
        return Some(naive.and_utc().timestamp());
    }
    if rest.starts_with(['+', '-']) && rest.len() >= 5 {
        let digits: String = rest[1..].chars().filter(|c| *c != ':').take(4).collect();
        if digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()) {
            let secs =
                (digits[..2].parse::<i32>().ok()? * 60 + digits[2..].parse::<i32>().ok()?) * 60;
            let secs = if rest.starts_with('-') { -secs } else { secs };
            let off = FixedOffset::east_opt(secs)?;
            return off
                .from_local_datetime(&naive)
                .single()
                .map(|t| t.timestamp());
        }
    }
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        local(y, mo, d, (h, mi, s)).unwrap()
    }

    #[test]
    fn every_format() {
        let now = l(2024, 6, 1, 0, 0, 0);
        let t = l(2024, 1, 2, 3, 4, 5);
        assert_eq!(
            parse(
                "2024/01/02 03:04:05 [error] 12#12: *1 upstream timed out",
                now
            ),
            Some(t)
        );
        assert_eq!(
            parse(
                "[Tue Jan 02 03:04:05.123456 2024] [php:error] [pid 9] x",
                now
            ),
            Some(t)
        );
        assert_eq!(
            parse("[Tue Jan 02 03:04:05 2024] [error] [client 1.2.3.4] x", now),
            Some(t)
        );
        assert_eq!(
            parse(
                "[02-Jan-2024 03:04:05] WARNING: [pool www] child 12 exited",
                now
            ),
            Some(t)
        );
        assert_eq!(
            parse("[02-Jan-2024 03:04:05 UTC] PHP Fatal error: x", now),
            Some(utc(2024, 1, 2, (3, 4, 5)).unwrap())
        );
        assert_eq!(parse("Jan  2 03:04:05 web1 php-fpm[12]: x", now), Some(t));
        assert_eq!(
            parse("<34>1 2024-01-02T03:04:05.003Z host app - - - x", now),
            Some(utc(2024, 1, 2, (3, 4, 5)).unwrap())
        );
        assert_eq!(
            parse("2024-01-02T03:04:05Z ERROR x", now),
            Some(utc(2024, 1, 2, (3, 4, 5)).unwrap())
        );
        assert_eq!(
            parse("2024-01-02T05:04:05+02:00 x", now),
            Some(utc(2024, 1, 2, (3, 4, 5)).unwrap())
        );
        assert_eq!(parse("2024-01-02 03:04:05,123 ERROR app: x", now), Some(t));
        assert_eq!(
            parse("[2024-01-02 03:04:05] production.ERROR: x", now),
            Some(t)
        );
        assert_eq!(
            parse("2024-01-02 03:04:05.123 -0100 x", now),
            Some(utc(2024, 1, 2, (4, 4, 5)).unwrap())
        );
    }

    #[test]
    fn syslog_year_rolls_back() {
        let now = l(2024, 1, 1, 0, 30, 0);
        assert_eq!(
            parse("Dec 31 23:59:00 h p: x", now),
            Some(l(2023, 12, 31, 23, 59, 0))
        );
    }

    #[test]
    fn continuation_lines_have_none() {
        for s in [
            "Traceback (most recent call last):",
            "  File \"/app/x.py\", line 3, in f",
            "    at foo (/app/x.js:1:2)",
            "",
            "Stack trace:",
            "#0 {main}",
        ] {
            assert_eq!(parse(s, 0), None, "{s}");
        }
    }
}
