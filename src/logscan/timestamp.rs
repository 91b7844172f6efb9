//! Timestamps at the start of log lines: nginx, Apache 2.2 and 2.4, PHP and PHP-FPM, syslog
//! (RFC 3164 and 5424), and ISO 8601 / RFC 3339 application logs. Times without a zone are
//! the host's local time, as the servers write them.
//!
//! Lines are untrusted bytes: every field is read from the line's bytes with bounds-checked
//! access, never by slicing the text at a byte offset (a multi-byte character where a digit
//! was expected must mean "no timestamp", not a panic that loses the whole log).

use chrono::{DateTime, Datelike, FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone};

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn month(s: &[u8]) -> Option<u32> {
    MONTHS.iter().position(|m| *m == s).map(|i| i as u32 + 1)
}

/// A run of 1 to 9 ASCII digits (no sign, no space), as a number.
fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `hh:mm:ss`, the seconds possibly followed by a fraction (`05.123456`).
fn hms(s: &[u8]) -> Option<(u32, u32, u32)> {
    let mut it = s.splitn(3, |&c| c == b':');
    let h = num(it.next()?)?;
    let m = num(it.next()?)?;
    let sec = it.next()?;
    let sec = num(sec.get(..2).unwrap_or(sec))?;
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

fn year(s: &[u8]) -> Option<i32> {
    num(s).and_then(|y| i32::try_from(y).ok())
}

/// Seconds since the epoch of the timestamp that starts `line`, if it has one. `now` decides
/// the year of syslog lines, which have none.
pub fn parse(line: &str, now: i64) -> Option<i64> {
    let b = line.as_bytes();
    let first = *b.first()?;
    if first.is_ascii_digit() {
        return nginx(b).or_else(|| iso(b));
    }
    match first {
        b'[' => apache(b).or_else(|| php(b)).or_else(|| iso(b.get(1..)?)),
        b'<' => rfc5424(b),
        // Ruby's Logger (Rails's production.log): `F, [2024-01-02T03:04:05.123456 #12] FATAL -- : …`
        _ if b.get(1..4) == Some(b", [") => iso(b.get(4..)?),
        _ => syslog(b, now),
    }
}

/// `2024/01/02 03:04:05 [error] 123#0: ...`
fn nginx(b: &[u8]) -> Option<i64> {
    let s = b.get(..19)?;
    if s[4] != b'/' || s[7] != b'/' || s[10] != b' ' {
        return None;
    }
    local(
        year(&s[..4])?,
        num(&s[5..7])?,
        num(&s[8..10])?,
        hms(&s[11..19])?,
    )
}

/// What a leading `[...]` holds.
fn bracketed(b: &[u8]) -> Option<&[u8]> {
    let inner = b.strip_prefix(b"[")?;
    let end = memchr::memchr(b']', inner)?;
    inner.get(..end)
}

fn words(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(u8::is_ascii_whitespace).filter(|w| !w.is_empty())
}

/// `[Tue Jan 02 03:04:05.123456 2024] [php:error] ...` (2.4) or without the fraction (2.2).
fn apache(b: &[u8]) -> Option<i64> {
    let parts: Vec<&[u8]> = words(bracketed(b)?).collect();
    if parts.len() != 5 || parts[0].len() != 3 {
        return None;
    }
    local(
        year(parts[4])?,
        month(parts[1])?,
        num(parts[2])?,
        hms(parts[3])?,
    )
}

/// `[02-Jan-2024 03:04:05] WARNING: ...` (PHP-FPM), `[02-Jan-2024 03:04:05 UTC] PHP Fatal
/// error: ...` (PHP's error_log, with its zone).
fn php(b: &[u8]) -> Option<i64> {
    let mut parts = words(bracketed(b)?);
    let date = parts.next()?;
    let time = parts.next()?;
    let zone = parts.next();
    let mut d = date.split(|&c| c == b'-');
    let (day, mo, y) = (num(d.next()?)?, month(d.next()?)?, year(d.next()?)?);
    if zone == Some(b"UTC".as_slice()) {
        utc(y, mo, day, hms(time)?)
    } else {
        local(y, mo, day, hms(time)?)
    }
}

/// `Jan  2 03:04:05 host prog[1]: ...` — no year: this year, or last year if that would be
/// in the future.
fn syslog(b: &[u8], now: i64) -> Option<i64> {
    let mo = month(b.get(..3)?)?;
    let day = b.get(4..6)?;
    let day = num(day.strip_prefix(b" ").unwrap_or(day))?;
    let t = hms(b.get(7..15)?)?;
    let this_year = DateTime::from_timestamp(now, 0)?
        .with_timezone(&Local)
        .year();
    let ts = local(this_year, mo, day, t)?;
    if ts > now.saturating_add(86400) {
        local(this_year - 1, mo, day, t)
    } else {
        Some(ts)
    }
}

/// `<34>1 2024-01-02T03:04:05.003Z host app 123 ID47 - ...`
fn rfc5424(b: &[u8]) -> Option<i64> {
    let gt = memchr::memchr(b'>', b)?;
    iso(b.get(gt + 1..)?.strip_prefix(b"1 ")?)
}

/// `2024-01-02T03:04:05Z`, `2024-01-02 03:04:05,123`, `2024-01-02T03:04:05.5+01:00`, and
/// the same inside `[...]`.
fn iso(b: &[u8]) -> Option<i64> {
    let s = b.get(..19)?;
    if s[4] != b'-' || s[7] != b'-' || !(s[10] == b'T' || s[10] == b' ') {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year(&s[..4])?, num(&s[5..7])?, num(&s[8..10])?)?;
    let (h, m, sec) = hms(&s[11..19])?;
    let naive: NaiveDateTime = date.and_hms_opt(h, m, sec)?;
    let mut rest = &b[19..];
    if let Some(r) = rest.strip_prefix(b".").or_else(|| rest.strip_prefix(b",")) {
        let digits = r.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &r[digits..];
    }
    let spaces = rest.iter().take_while(|&&c| c == b' ').count();
    let rest = &rest[spaces..];
    match rest.first() {
        Some(b'Z') => return Some(naive.and_utc().timestamp()),
        Some(&sign @ (b'+' | b'-')) => {
            if let Some(off) = offset(&rest[1..], sign == b'-') {
                return off
                    .from_local_datetime(&naive)
                    .single()
                    .map(|t| t.timestamp());
            }
        }
        _ => {}
    }
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|t| t.timestamp())
}

/// The `hhmm` or `hh:mm` after a zone's sign.
fn offset(b: &[u8], negative: bool) -> Option<FixedOffset> {
    let digits: Vec<u8> = b.iter().copied().filter(|c| *c != b':').take(4).collect();
    if digits.len() != 4 || b.len() < 4 {
        return None;
    }
    let secs = (num(&digits[..2])? * 60 + num(&digits[2..])?) * 60;
    let secs = i32::try_from(secs).ok()?;
    FixedOffset::east_opt(if negative { -secs } else { secs })
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
    fn a_multibyte_character_where_a_digit_belongs_is_no_timestamp() {
        for s in [
            "2024-01-02T03:04:0\u{e9} PHP Fatal error: x",
            "2024/0\u{e9}/02 03:04:05 [error] x",
            "2024/01/02 03:04:\u{e9}5 [error] x",
            "[2024-01-02 03:04:0\u{e9}] x",
            "[Tue Jan 02 03:04:0\u{e9} 2024] x",
            "[02-Jan-2024 03:04:\u{e9}] x",
            "Jan \u{e9}2 03:04:05 h p: x",
            "<34>1 2024-01-02T03:04:\u{e9}Z x",
            "\u{e9}",
            "[",
            "2",
        ] {
            assert_eq!(parse(s, 0), None, "{s}");
        }
        assert!(parse("2024-01-02 03:04:05.\u{e9}", 0).is_some());
        assert!(parse("2024-01-02 03:04:05+0\u{e9}:00 x", 0).is_some());
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
