//! Values written as strings in check definitions — `"90%"`, `"500MiB"`, `"2s"` — and
//! how they are printed back.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};

/// A threshold that is either a share of a whole or an absolute size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    Percent(f64),
    Bytes(u64),
}

impl Level {
    /// This level as a percentage of `total` bytes, so levels of either form compare.
    pub fn as_percent_of(self, total: u64) -> f64 {
        match self {
            Level::Percent(p) => p,
            Level::Bytes(_) if total == 0 => 0.0,
            Level::Bytes(b) => b as f64 * 100.0 / total as f64,
        }
    }

    pub fn parse(s: &str) -> Result<Level, String> {
        let t = s.trim();
        if let Some(num) = t.strip_suffix('%') {
            let p: f64 = num.trim().parse().map_err(|_| bad_level(s))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("percentage {s:?} must be between 0% and 100%"));
            }
            return Ok(Level::Percent(p));
        }
        if t.parse::<f64>().is_ok() {
            return Err(no_unit(t));
        }
        parse_size(t).map(Level::Bytes).ok_or_else(|| bad_level(s))
    }
}

/// The units a threshold may carry, for error messages.
pub const LEVEL_UNITS: &str =
    "% for a share; B, K/KiB, M/MiB, G/GiB, T/TiB (binary) or KB, MB, GB, TB (decimal) for a size";

fn bad_level(s: &str) -> String {
    format!(
        "invalid threshold {s:?}: expected a percentage like \"90%\" or a size like \"500MiB\" (units: {LEVEL_UNITS})"
    )
}

/// A bare number is ambiguous (80 what?): it must never silently mean 80 bytes.
fn no_unit(number: &str) -> String {
    format!(
        "threshold {number} has no unit: write \"{number}%\" for a percentage or a size like \"{number}GiB\" (units: {LEVEL_UNITS})"
    )
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Percent(p) => write!(f, "{}%", trim_float(*p)),
            Level::Bytes(b) => f.write_str(&fmt_bytes(*b)),
        }
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LevelVisitor)
    }
}

/// Accepts a string; a TOML number gets the "no unit" explanation rather than serde's
/// "expected a string".
struct LevelVisitor;

impl de::Visitor<'_> for LevelVisitor {
    type Value = Level;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a percentage like \"90%\" or a size like \"500MiB\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Level, E> {
        Level::parse(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Level, E> {
        Err(E::custom(no_unit(&v.to_string())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Level, E> {
        Err(E::custom(no_unit(&v.to_string())))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Level, E> {
        Err(E::custom(no_unit(&v.to_string())))
    }
}

/// Parse `"500MiB"`, `"2 GB"`, `"1.5G"`, `"4096B"`. Binary (KiB) and decimal (KB) units are
/// both understood; bare `K`/`M`/`G`/`T` are binary, as `df -h` prints them. The unit is
/// required: a bare number is not a size.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "b" => 1.0,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tib" => 1024f64.powi(4),
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        _ => return None,
    };
    let v = num * mult;
    (v.is_finite() && v >= 0.0 && v < u64::MAX as f64).then_some(v as u64)
}

/// A duration written like `"2s"`, `"500ms"`, `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s).map(Dur).map_err(de::Error::custom)
    }
}

/// The longest duration accepted anywhere (humantime's `10y`). Anything longer is a typo, and
/// adding it to a clock could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(315_576_000);

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let too_long = || format!("duration {s:?} is too long: at most 10 years (\"10y\") is accepted");
    let d = match humantime::parse_duration(s.trim()) {
        Ok(d) => d,
        Err(humantime::DurationError::NumberOverflow) => return Err(too_long()),
        Err(e) => {
            return Err(format!(
                "invalid duration {s:?} ({e}): expected a duration like \"2s\", \"500ms\" or \"1m\""
            ));
        }
    };
    if d.is_zero() {
        return Err(format!("duration {s:?} must be greater than zero"));
    }
    if d > MAX_DURATION {
        return Err(too_long());
    }
    Ok(d)
}

/// A permission mode written in octal, like `"644"` or `"0755"`.
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let ok = !t.is_empty() && t.len() <= 5 && t.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match ok.then(|| u32::from_str_radix(t, 8)) {
        Some(Ok(m)) if m <= 0o7777 => Ok(m),
        _ => Err(format!(
            "invalid mode {s:?}: expected octal permission bits like \"644\" or \"0755\""
        )),
    }
}

/// `1.5 GiB`, `512 MiB`, `900 B`: the binary units `df -h` and `free -h` use.
pub fn fmt_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[i])
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

/// A duration as a person writes it: `500 ms`, `1.25 s`, `1 min 30 s`, `2 h 5 min`, `1 day`,
/// `3 days 4 h` — at most two units, the smaller one left out when it is zero, seconds
/// and more rounded down. Every duration a message shows goes through here.
pub fn fmt_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{} ms", d.as_millis());
    }
    if d < Duration::from_secs(60) {
        let s = format!("{:.2}", d.as_secs_f64());
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return format!("{s} s");
    }
    const UNITS: [(u64, &str, &str); 4] = [
        (86_400, " day", " days"),
        (3_600, " h", " h"),
        (60, " min", " min"),
        (1, " s", " s"),
    ];
    let secs = d.as_secs();
    let Some(i) = UNITS.iter().position(|(n, _, _)| secs >= *n) else {
        return "0 s".into();
    };
    let unit = |(_, one, many): (u64, &str, &str), v: u64| {
        format!("{v}{}", if v == 1 { one } else { many })
    };
    let big = secs / UNITS[i].0;
    let mut out = unit(UNITS[i], big);
    if let Some(&next) = UNITS.get(i + 1) {
        let small = secs % UNITS[i].0 / next.0;
        if small > 0 {
            out.push(' ');
            out.push_str(&unit(next, small));
        }
    }
    out
}

/// At most `n` characters, with `…` when cut.
pub fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// `1 min 30 s ago`, `2 h 1 min ago`, `in the future`.
pub fn fmt_age(secs: i64) -> String {
    if secs < 0 {
        return "in the future".into();
    }
    if secs == 0 {
        return "just now".into();
    }
    format!("{} ago", fmt_duration(Duration::from_secs(secs as u64)))
}

/// `85` rather than `85.0`, `12.5` stays.
pub fn trim_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{:.1}", v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse() {
        assert_eq!(Level::parse("90%"), Ok(Level::Percent(90.0)));
        assert_eq!(Level::parse(" 12.5 % "), Ok(Level::Percent(12.5)));
        assert_eq!(Level::parse("500MiB"), Ok(Level::Bytes(500 << 20)));
        assert_eq!(Level::parse("2 GB"), Ok(Level::Bytes(2_000_000_000)));
        assert_eq!(Level::parse("1.5G"), Ok(Level::Bytes(1610612736)));
        assert!(Level::parse("150%").is_err());
        assert!(Level::parse("ninety").is_err());
        assert!(Level::parse("5 parsecs").is_err());
        assert!(Level::parse("").is_err());
        assert!(Level::parse("99999999999999999999TB").is_err());
    }

    #[test]
    fn a_bare_number_is_not_a_threshold() {
        assert_eq!(Level::parse("4096B"), Ok(Level::Bytes(4096)));
        for bare in ["80", " 80 ", "0.5"] {
            let e = Level::parse(bare).unwrap_err();
            assert!(e.contains("has no unit") && e.contains("KiB"), "{e}");
        }
        let de = |v: toml::Value| Level::deserialize(v).unwrap_err().to_string();
        assert!(de(toml::Value::Integer(80)).contains("threshold 80 has no unit"));
        assert!(de(toml::Value::Float(80.5)).contains("threshold 80.5 has no unit"));
    }

    #[test]
    fn levels_compare_as_percent() {
        assert_eq!(Level::Bytes(50).as_percent_of(200), 25.0);
        assert_eq!(Level::Percent(7.0).as_percent_of(1), 7.0);
        assert_eq!(Level::Bytes(1).as_percent_of(0), 0.0);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").unwrap_err().contains("\"2s\""));
    }

    #[test]
    fn huge_durations_are_refused_not_wrapped() {
        assert_eq!(parse_duration("10y"), Ok(MAX_DURATION));
        for huge in [
            "9223372036854775807s",
            "300000000000y",
            "18446744073709551615s",
            "10y 1s",
            "99999999999999999999999999h",
        ] {
            let e = parse_duration(huge).unwrap_err();
            assert!(e.contains("too long: at most 10 years"), "{huge}: {e}");
        }
    }

    #[test]
    fn modes_parse() {
        assert_eq!(parse_mode("644"), Ok(0o644));
        assert_eq!(parse_mode("0755"), Ok(0o755));
        assert_eq!(parse_mode("4755"), Ok(0o4755));
        assert!(parse_mode("855").is_err());
        assert!(parse_mode("rw-r--r--").is_err());
        assert!(parse_mode("").is_err());
    }

    #[test]
    fn clips_and_ages() {
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("éééé", 2), "éé…");
        assert_eq!(fmt_age(90), "1 min 30 s ago");
        assert_eq!(fmt_age(0), "just now");
        assert_eq!(fmt_age(7_300), "2 h 1 min ago");
        assert_eq!(fmt_age(-5), "in the future");
    }

    #[test]
    fn durations_print_in_a_persons_units() {
        let ms = Duration::from_millis;
        let s = Duration::from_secs;
        for (d, shown) in [
            (ms(0), "0 ms"),
            (ms(500), "500 ms"),
            (ms(1_000), "1 s"),
            (ms(1_250), "1.25 s"),
            (ms(2_500), "2.5 s"),
            (s(59), "59 s"),
            (s(60), "1 min"),
            (s(90), "1 min 30 s"),
            (s(3_600), "1 h"),
            (s(7_500), "2 h 5 min"),
            (s(7_505), "2 h 5 min"),
            (s(86_400), "1 day"),
            (s(86_400 * 2 + 3_600 * 4), "2 days 4 h"),
            (s(86_400 + 60), "1 day"),
            (MAX_DURATION, "3652 days 12 h"),
        ] {
            assert_eq!(fmt_duration(d), shown, "{d:?}");
        }
    }

    #[test]
    fn bytes_print_like_df() {
        assert_eq!(fmt_bytes(900), "900 B");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_bytes(250 << 30), "250 GiB");
    }
}
