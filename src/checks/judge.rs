//! Judging measurements against thresholds: what the network engine measures (a latency, the
//! days a certificate has left) becomes a status and a metric here, in the checks layer, so
//! the engine knows nothing of either.

use std::time::Duration;

use toml::Spanned;

use crate::check::{Metric, Status};
use crate::net::tls::PeerCert;
use crate::span::SpanError;
use crate::units::Dur;

/// Latency thresholds shared by `http` and `tcp`, checked at config time.
pub fn latency_order(
    warn: &Option<Spanned<Dur>>,
    fail: &Option<Spanned<Dur>>,
) -> Result<(), SpanError> {
    if let (Some(w), Some(f)) = (warn, fail)
        && w.get_ref().0 > f.get_ref().0
    {
        return Err(SpanError::new(
            w.span(),
            "warn_latency is looser than fail_latency: the warning must come first, so warn_latency must not be above fail_latency",
        ));
    }
    Ok(())
}

/// Judge a measured latency.
pub fn judge_latency(took: Duration, warn: Option<Duration>, fail: Option<Duration>) -> Status {
    if fail.is_some_and(|f| took > f) {
        Status::Fail
    } else if warn.is_some_and(|w| took > w) {
        Status::Warn
    } else {
        Status::Pass
    }
}

/// Judge days left against the thresholds; returns the status and a metric.
pub fn judge_expiry(cert: &PeerCert, warn_days: f64, fail_days: f64) -> (Status, Metric) {
    let days = cert.days_left();
    let status = if days < fail_days {
        Status::Fail
    } else if days < warn_days {
        Status::Warn
    } else {
        Status::Pass
    };
    let metric = Metric::new("cert_days_left", (days * 10.0).floor() / 10.0, "d")
        .thresholds(Some(warn_days), Some(fail_days));
    (status, metric)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_judged_strictly_above_each_limit() {
        let ms = Duration::from_millis;
        let (w, f) = (Some(ms(100)), Some(ms(500)));
        assert_eq!(judge_latency(ms(100), w, f), Status::Pass);
        assert_eq!(judge_latency(ms(101), w, f), Status::Warn);
        assert_eq!(judge_latency(ms(501), w, f), Status::Fail);
        assert_eq!(judge_latency(ms(501), None, None), Status::Pass);
    }

    #[test]
    fn warn_latency_must_come_first() {
        let d = |s: u64, at: usize| Some(Spanned::new(at..at + 1, Dur(Duration::from_secs(s))));
        assert!(latency_order(&d(1, 0), &d(2, 5)).is_ok());
        let e = latency_order(&d(3, 7), &d(2, 9)).unwrap_err();
        assert_eq!(e.span, Some(7..8));
        assert!(latency_order(&d(3, 0), &None).is_ok());
    }
}
