//! The partners the server has recently found by API key, so that a request does not open a
//! read transaction just to check its key (issue 24: with SQLite's WAL each intake commit
//! empties the other connections' page caches, and every check decrypted the partners' pages
//! again — a fifth of the server's CPU under load; the intake over HTTP rose by ≈ 12 %).
//!
//! Exact, not "eventually": every request first reads the data dir's API-key mark
//! ([`renkei_core::store::auth_epoch`], one `stat`), and when it moved — a key was rotated or
//! revoked, by the CLI or the app, committed before the mark moves — everything kept is
//! dropped before the key is looked up. An entry found while the mark was at one state is only
//! kept if the mark is still there when it is stored, so a look-up that raced a key change
//! cannot bring the old key back. Entries also expire after [`TTL`] (the backstop should a
//! process die between its commit and the mark). Only found keys are kept; an unknown key is
//! asked of the store every time. Keys are kept as their SHA-256, never as sent.
//!
//! Only for a SQLite store: a PostgreSQL store has no data dir its hubs share, so there every
//! request asks the database, as before ([`AuthCache::disabled`]).

use renkei_core::model::Partner;
use renkei_core::store::auth_epoch::Epoch;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an entry is trusted without the mark moving.
pub const TTL: Duration = Duration::from_secs(30);
/// At most this many keys are kept (then all are dropped and found again).
pub const CAPACITY: usize = 4096;

/// See the module docs.
#[derive(Debug)]
pub struct AuthCache {
    enabled: bool,
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The mark the entries were found under.
    epoch: Option<Epoch>,
    entries: HashMap<[u8; 32], (Partner, Instant)>,
}

/// The cache's key for an API key.
pub fn key_hash(api_key: &str) -> [u8; 32] {
    Sha256::digest(api_key.as_bytes()).into()
}

impl AuthCache {
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            enabled: true,
            ttl,
            inner: Mutex::default(),
        }
    }
    /// False for [`AuthCache::disabled`] (the caller need not read the mark then).
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }
    /// Keeps nothing: every look-up goes to the store.
    pub fn disabled() -> AuthCache {
        AuthCache {
            enabled: false,
            ..AuthCache::new(Duration::ZERO)
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves nothing half-done that matters: start afresh.
        self.inner.lock().unwrap_or_else(|p| {
            let mut g = p.into_inner();
            g.entries.clear();
            g
        })
    }

    /// The partner of `key` if kept, found under the mark `epoch` (read just now) and younger
    /// than the TTL at `now`. A mark other than the one the entries were found under drops
    /// them all.
    pub fn get(&self, key: &[u8; 32], epoch: Option<Epoch>, now: Instant) -> Option<Partner> {
        if !self.enabled {
            return None;
        }
        let mut g = self.inner();
        if g.epoch != epoch {
            g.entries.clear();
            g.epoch = epoch;
            return None;
        }
        match g.entries.get(key) {
            Some((p, at)) if now.saturating_duration_since(*at) < self.ttl => Some(p.clone()),
            Some(_) => {
                g.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `partner`, found in the store at `now` after the mark was read as `epoch` — only
    /// if the mark has not moved since (as far as this cache has seen).
    pub fn put(&self, key: [u8; 32], partner: Partner, epoch: Option<Epoch>, now: Instant) {
        if !self.enabled {
            return;
        }
        let mut g = self.inner();
        if g.epoch != epoch {
            return;
        }
        if g.entries.len() >= CAPACITY {
            g.entries.clear();
        }
        g.entries.insert(key, (partner, now));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use renkei_core::store::{auth_epoch, DataDir};

    fn partner(id: i64) -> Partner {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": format!("訪問看護ステーション{id}"), "kind": "nursing",
            "contact": null, "phone": null, "channels": [], "has_api_key": true,
            "created_at": "2026-12-01T00:00:00Z", "receipt": false
        }))
        .unwrap()
    }

    #[test]
    fn a_moved_mark_drops_every_kept_key_and_a_racing_lookup_is_not_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        let c = AuthCache::new(TTL);
        let t0 = Instant::now();
        let (a, b) = (key_hash("key-a"), key_hash("key-b"));
        let e0 = auth_epoch::read(&dir);
        assert!(c.get(&a, e0, t0).is_none());
        c.put(a, partner(1), e0, t0);
        assert_eq!(c.get(&a, e0, t0).map(|p| p.id), Some(1));
        assert!(c.get(&b, e0, t0).is_none(), "only the key that was found");

        // A key changes: the next request reads the new mark and finds nothing kept.
        auth_epoch::bump(&dir).unwrap();
        let e1 = auth_epoch::read(&dir);
        assert_ne!(e0, e1);
        assert!(c.get(&a, e1, t0).is_none());
        // A look-up that read the mark before the change and finishes after it: not kept.
        c.put(a, partner(1), e0, t0);
        assert!(c.get(&a, e1, t0).is_none());
        // One that read the new mark is kept.
        c.put(a, partner(1), e1, t0);
        assert_eq!(c.get(&a, e1, t0).map(|p| p.id), Some(1));
    }

    #[test]
    fn entries_expire_and_a_disabled_cache_keeps_nothing() {
        let c = AuthCache::new(Duration::from_secs(30));
        let t0 = Instant::now();
        let a = key_hash("key-a");
        c.put(a, partner(1), None, t0);
        assert!(c.get(&a, None, t0 + Duration::from_secs(29)).is_some());
        assert!(c.get(&a, None, t0 + Duration::from_secs(30)).is_none());
        let off = AuthCache::disabled();
        off.put(a, partner(1), None, t0);
        assert!(off.get(&a, None, t0).is_none());
    }

    #[test]
    fn it_stays_bounded() {
        let c = AuthCache::new(TTL);
        let t0 = Instant::now();
        for i in 0..(CAPACITY as i64 + 10) {
            c.put(key_hash(&format!("k{i}")), partner(i), None, t0);
        }
        assert!(c.inner().entries.len() <= CAPACITY);
    }
}
