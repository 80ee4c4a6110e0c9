//! Token buckets on the real monotonic clock (never `RENKEI_NOW`): the per-partner limit of the
//! partner API and the shared budget of the Chatwork poller (300 requests / 5 minutes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket: `capacity` tokens, refilled continuously over `period`.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_sec: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens that refills completely every `period`.
    pub fn new(capacity: u32, period: Duration, now: Instant) -> Self {
        let capacity = f64::from(capacity.max(1));
        TokenBucket {
            capacity,
            per_sec: capacity / period.as_secs_f64().max(0.001),
            tokens: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.per_sec).min(self.capacity);
        self.last = now;
    }

    /// Takes one token, or says how long until one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let need = (1.0 - self.tokens) / self.per_sec;
            Err(Duration::from_secs_f64(need.max(0.001)))
        }
    }
}

/// Per-key buckets (one per partner).
#[derive(Debug)]
pub struct RateLimiter {
    per_min: u32,
    buckets: Mutex<HashMap<i64, TokenBucket>>,
}

impl RateLimiter {
    /// `per_min` requests per minute per key; 0 turns the limit off.
    pub fn new(per_min: u32) -> Self {
        RateLimiter {
            per_min,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn per_min(&self) -> u32 {
        self.per_min
    }

    /// `Ok` when the request may go on, else the seconds to wait (for `Retry-After`).
    pub fn check(&self, key: i64) -> Result<(), u64> {
        if self.per_min == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut map = match self.buckets.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if map.len() > 10_000 {
            map.clear();
        }
        let per_min = self.per_min;
        let b = map
            .entry(key)
            .or_insert_with(|| TokenBucket::new(per_min, Duration::from_secs(60), now));
        b.try_take(now)
            .map_err(|wait| wait.as_secs_f64().ceil().max(1.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(2, Duration::from_secs(60), t0);
        assert!(b.try_take(t0).is_ok());
        assert!(b.try_take(t0).is_ok());
        let wait = b.try_take(t0).unwrap_err();
        assert!(wait > Duration::from_secs(29) && wait <= Duration::from_secs(30));
        assert!(b.try_take(t0 + Duration::from_secs(30)).is_ok());
    }

    #[test]
    fn zero_means_off() {
        let r = RateLimiter::new(0);
        for _ in 0..10_000 {
            assert!(r.check(1).is_ok());
        }
    }

    #[test]
    fn limit_is_per_key() {
        let r = RateLimiter::new(1);
        assert!(r.check(1).is_ok());
        assert!(r.check(1).is_err());
        assert!(r.check(2).is_ok());
    }
}
