//! Time as the domain sees it. No logic in this crate reads the system clock directly: it asks a
//! [`Clock`]. Binaries use [`clock_from_env`], which honours `RENKEI_NOW` (RFC 3339) so tests and
//! demos can freeze "now".

use chrono::{DateTime, FixedOffset, Utc};
use std::sync::Mutex;

/// The clinic's time zone (Asia/Tokyo has no daylight saving time: a fixed +09:00).
pub fn jst() -> FixedOffset {
    const JST: FixedOffset = match FixedOffset::east_opt(9 * 3600) {
        Some(o) => o,
        None => panic!("+09:00 is a valid offset"),
    };
    JST
}

/// A source of domain time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Now in the clinic's time zone.
    fn now_jst(&self) -> DateTime<FixedOffset> {
        self.now().with_timezone(&jst())
    }
}

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to (tests, `RENKEI_NOW`, simulations).
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        FixedClock(Mutex::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut g) = self.0.lock() {
            *g = at;
        }
    }
    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut g) = self.0.lock() {
            *g += by;
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        match self.0.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }
}

/// Parses an RFC 3339 timestamp, with a message that says what is wrong.
pub fn parse_rfc3339(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| format!("'{s}' is not an RFC 3339 time like 2026-12-01T09:00:00+09:00 ({e})"))
}

/// The clock for binaries: frozen at `RENKEI_NOW` when set, else the system clock.
pub fn clock_from_env() -> Result<Box<dyn Clock>, String> {
    match std::env::var("RENKEI_NOW") {
        Ok(v) if !v.trim().is_empty() => {
            let at = parse_rfc3339(&v).map_err(|e| format!("RENKEI_NOW: {e}"))?;
            Ok(Box::new(FixedClock::new(at)))
        }
        _ => Ok(Box::new(SystemClock)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let t = parse_rfc3339("2026-12-01T09:00:00+09:00").unwrap();
        let c = FixedClock::new(t);
        assert_eq!(c.now(), t);
        c.advance(chrono::Duration::minutes(5));
        assert_eq!(c.now_jst().to_rfc3339(), "2026-12-01T09:05:00+09:00");
    }

    #[test]
    fn bad_time_says_what_is_expected() {
        let e = parse_rfc3339("tomorrow").unwrap_err();
        assert!(e.contains("RFC 3339"));
    }
}
