//! The providers' send limits, on the real monotonic clock (passed in, so tests inject it):
//! LINE WORKS 240 requests / minute per operation; Chatwork 300 requests / 5 minutes per token
//! and 10 posts / 10 s per room.
//!
//! A sliding window, not a token bucket: a bucket of 10 refilled over 10 s lets 20 posts
//! through in some 10 s span (10 at once, then 1 a second); the window never lets more than
//! `limit` into any `window`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// At most `limit` events in any span of `window`.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    times: VecDeque<Instant>,
}

impl SlidingWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        SlidingWindow {
            limit: limit.max(1) as usize,
            window,
            times: VecDeque::new(),
        }
    }

    /// How long until one more event fits (`None`: now).
    pub fn wait(&mut self, now: Instant) -> Option<Duration> {
        while let Some(&t) = self.times.front() {
            if now.saturating_duration_since(t) >= self.window {
                self.times.pop_front();
            } else {
                break;
            }
        }
        if self.times.len() < self.limit {
            return None;
        }
        let oldest = *self.times.front()?;
        Some((oldest + self.window).saturating_duration_since(now))
    }

    /// Counts one event at `now`.
    pub fn record(&mut self, now: Instant) {
        self.times.push_back(now);
    }
}

/// Several windows that must all have room (Chatwork: the token's and the room's).
#[derive(Debug)]
pub struct SendLimits {
    global: SlidingWindow,
    per_key: HashMap<String, SlidingWindow>,
    per_key_limit: Option<(u32, Duration)>,
    /// After a 429: nothing goes out before this.
    paused_until: Option<Instant>,
}

impl SendLimits {
    /// `global` for every send; `per_key` for each key (a room) when given.
    pub fn new(global: (u32, Duration), per_key: Option<(u32, Duration)>) -> Self {
        SendLimits {
            global: SlidingWindow::new(global.0, global.1),
            per_key: HashMap::new(),
            per_key_limit: per_key,
            paused_until: None,
        }
    }

    /// Takes a place for one send to `key` at `now`, or says how long to wait.
    pub fn try_take(&mut self, key: &str, now: Instant) -> Result<(), Duration> {
        if let Some(until) = self.paused_until {
            if until > now {
                return Err(until - now);
            }
            self.paused_until = None;
        }
        let mut wait = self.global.wait(now);
        if let Some((limit, window)) = self.per_key_limit {
            if self.per_key.len() > 10_000 {
                self.per_key.clear();
            }
            let w = self
                .per_key
                .entry(key.to_string())
                .or_insert_with(|| SlidingWindow::new(limit, window));
            wait = wait.max(w.wait(now));
        }
        if let Some(w) = wait {
            return Err(w);
        }
        self.global.record(now);
        if let Some(w) = self.per_key.get_mut(key) {
            w.record(now);
        }
        Ok(())
    }

    /// After a refused send: a 429 whose outcome is a retry holds every send for its wait.
    pub fn after_refusal(&mut self, status: u16, out: &renkei_core::outbound::SendOutcome) {
        if status == 429 {
            if let renkei_core::outbound::SendOutcome::Retry { after, .. } = out {
                self.pause(Instant::now(), *after);
            }
        }
    }

    /// The provider said 429: hold every send for `d`.
    pub fn pause(&mut self, now: Instant, d: Duration) {
        let until = now + d;
        if self.paused_until.is_none_or(|p| p < until) {
            self.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn chatwork_room_takes_ten_posts_in_any_ten_seconds() {
        let t0 = Instant::now();
        let mut l = SendLimits::new((300, s(300)), Some((10, s(10))));
        for i in 0..10 {
            assert!(l
                .try_take("room-1", t0 + Duration::from_millis(i * 100))
                .is_ok());
        }
        // the 11th within 10 s of the first waits until the first leaves the window
        let wait = l.try_take("room-1", t0 + s(1)).unwrap_err();
        assert_eq!(wait, s(9));
        // another room is not held back by this one
        assert!(l.try_take("room-2", t0 + s(1)).is_ok());
        assert!(l.try_take("room-1", t0 + s(10)).is_ok());
        // a bucket would now let 9 more through at once; the window lets one per freed place
        assert!(l.try_take("room-1", t0 + s(10)).is_err());
    }

    #[test]
    fn the_token_limit_holds_across_rooms() {
        let t0 = Instant::now();
        let mut l = SendLimits::new((300, s(300)), Some((10, s(10))));
        for i in 0..300 {
            let room = format!("r{}", i % 40);
            let at = t0 + Duration::from_millis(i as u64 * 100);
            assert!(l.try_take(&room, at).is_ok(), "send {i}");
        }
        let at = t0 + s(30);
        let wait = l.try_take("r-new", at).unwrap_err();
        assert_eq!(wait, s(270));
        assert!(l.try_take("r-new", t0 + s(300)).is_ok());
    }

    #[test]
    fn lineworks_takes_240_a_minute_and_a_429_pauses_everything() {
        let t0 = Instant::now();
        let mut l = SendLimits::new((240, s(60)), None);
        for _ in 0..240 {
            assert!(l.try_take("channel", t0).is_ok());
        }
        assert_eq!(l.try_take("channel", t0 + s(1)).unwrap_err(), s(59));
        let t1 = t0 + s(60);
        assert!(l.try_take("channel", t1).is_ok());
        l.pause(t1, s(5));
        assert_eq!(l.try_take("channel", t1 + s(1)).unwrap_err(), s(4));
        assert!(l.try_take("channel", t1 + s(5)).is_ok());
    }
}
