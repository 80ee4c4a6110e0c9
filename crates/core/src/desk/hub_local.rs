//! A connected desk's own side (issue 19, offline): what it last read from the hub, kept in its
//! encrypted local store so the queue and the threads stay readable while the hub is
//! unreachable (and after a restart then), and the outbox of what staff did meanwhile. The
//! desktop app's hub link (src-tauri/src/hub.rs) calls these; nothing here talks to the hub.
//!
//! These are this PC's working copies, not the clinic's record: they are not audited here (the
//! hub audits each action when it applies it, attributed to the session that sends it).

use super::Desk;
use crate::error::{Error, Result};
use crate::store::hub_local::{self, OutboxItem};
use crate::store::staff::{pin_matches, pin_verifier};
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::{json, Value};

/// Wrong PINs accepted at the offline sign-in of one person before it is refused until the hub
/// answers again (the hub's own lock-out cannot be asked then).
pub const OFFLINE_PIN_TRIES: i64 = 5;

/// How long an unchanged kept answer is not written again (see [`Desk::hub_cache_put`]).
pub const KEPT_FRESH_MINUTES: i64 = 5;

/// The actions that may wait in the outbox.
pub const OUTBOX_ACTIONS: [&str; 3] = ["take", "status", "note"];

impl Desk {
    /// Keeps the hub's answer `body` (JSON text) under `key` (`hub_local::QUEUE_KEY`,
    /// `hub_local::thread_key(id)`).
    ///
    /// The same answer kept less than [`KEPT_FRESH_MINUTES`] ago is not written again: a
    /// connected PC reads the queue at every change anywhere in the clinic and every 30 s, and
    /// most of those reads return what is already kept — each write would be a durable commit
    /// (an fsync) for nothing. So the kept time (the offline banner's 最終同期 after a restart)
    /// is at most that many minutes older than the last read of the same answer.
    pub fn hub_cache_put(&mut self, key: &str, body: &str) -> Result<()> {
        let now = self.now();
        let fresh = chrono::Duration::minutes(KEPT_FRESH_MINUTES);
        if let Some((kept, at)) = self.store.read(|db| hub_local::cache_get(db, key))? {
            if kept == body && now - at < fresh && at <= now {
                return Ok(());
            }
        }
        self.store
            .write(|tx| hub_local::cache_put(tx, key, body, now))
    }

    /// The kept answer under `key` and when it was read from the hub.
    pub fn hub_cache_get(&mut self, key: &str) -> Result<Option<(String, DateTime<Utc>)>> {
        self.store.read(|db| hub_local::cache_get(db, key))
    }

    /// Forgets what was read from a hub (this PC was disconnected from it). The outbox stays:
    /// what staff did is never dropped silently.
    pub fn hub_cache_clear(&mut self) -> Result<()> {
        self.store.write(hub_local::cache_clear)
    }

    /// Queues an action `staff` took while the hub was unreachable, with a fresh
    /// `Idempotency-Key`.
    pub fn hub_outbox_add(
        &mut self,
        staff: &str,
        consultation_id: i64,
        action: &str,
        body: &serde_json::Value,
    ) -> Result<OutboxItem> {
        if !OUTBOX_ACTIONS.contains(&action) {
            return Err(Error::invalid(
                "action",
                format!("'{action}' cannot wait for the hub; only take, status and note can"),
            ));
        }
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        let key = format!("desk-{}", hex::encode(raw));
        let now = self.now();
        let body = body.to_string();
        let id = self.store.write(|tx| {
            hub_local::outbox_add(tx, &key, staff, consultation_id, action, &body, now)
        })?;
        Ok(OutboxItem {
            id,
            key,
            staff: staff.to_string(),
            consultation_id,
            action: action.to_string(),
            body,
            created_at: now,
            state: "pending".into(),
            problem: None,
        })
    }

    /// Pending and conflicting outbox entries, oldest first.
    pub fn hub_outbox(&mut self) -> Result<Vec<OutboxItem>> {
        self.store.read(hub_local::outbox_open)
    }

    /// The hub applied (or already had) entry `id`.
    pub fn hub_outbox_done(&mut self, id: i64) -> Result<()> {
        self.store.write(|tx| hub_local::outbox_done(tx, id))
    }

    /// The hub refused entry `id` with `problem`: kept and shown until a person dismisses it.
    pub fn hub_outbox_conflict(&mut self, id: i64, problem: &str) -> Result<()> {
        let now = self.now();
        self.store
            .write(|tx| hub_local::outbox_conflict(tx, id, problem, now))
    }

    /// A person read the conflict `id` and closed it.
    pub fn hub_outbox_dismiss(&mut self, id: i64) -> Result<()> {
        if self.store.write(|tx| hub_local::outbox_dismiss(tx, id))? {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "no unresolved offline action {id}: it was already sent or closed"
            )))
        }
    }

    /// After a sign-in the hub accepted: keeps an argon2 verifier of `pin` (never the PIN)
    /// with the hub's profile `staff` (`{id, name, role}`), so this person can sign in on
    /// this PC while the hub is unreachable (docs/operations.md). Replaces an older one.
    pub fn hub_pin_keep(&mut self, staff: &Value, pin: &str) -> Result<()> {
        let name = staff
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid("staff", "the hub's profile has no name"))?;
        let body = json!({"staff": staff, "verifier": pin_verifier(pin)?, "wrong": 0});
        self.hub_cache_put(&hub_local::pin_key(name), &body.to_string())
    }

    /// The profiles that can sign in on this PC while the hub is unreachable, by name.
    pub fn hub_pin_people(&mut self) -> Result<Vec<Value>> {
        let bodies = self
            .store
            .read(|db| hub_local::cache_prefixed(db, "pin:"))?;
        Ok(bodies
            .iter()
            .filter_map(|b| serde_json::from_str::<Value>(b).ok())
            .filter_map(|v| v.get("staff").cloned())
            .collect())
    }

    /// The offline sign-in: checks `pin` against the verifier kept at `name`'s last sign-in at
    /// the hub; answers the hub's profile. After [`OFFLINE_PIN_TRIES`] wrong PINs in a row it
    /// is refused until a sign-in at the hub (which keeps a fresh verifier).
    pub fn hub_pin_check(&mut self, name: &str, pin: &str) -> Result<Value> {
        let key = hub_local::pin_key(name);
        let Some((body, _)) = self.hub_cache_get(&key)? else {
            return Err(Error::Unauthorized(format!(
                "{name} has not signed in on this PC while the hub was reachable, so the PIN \
                 cannot be checked now; sign in once the network to the hub is back"
            )));
        };
        let mut v: Value = serde_json::from_str(&body).map_err(|e| {
            Error::Integrity(format!("the kept sign-in of {name} is unreadable: {e}"))
        })?;
        let wrong = v.get("wrong").and_then(Value::as_i64).unwrap_or(0);
        if wrong >= OFFLINE_PIN_TRIES {
            return Err(Error::LockedOut(
                "too many wrong PINs while the hub is unreachable: sign in once the hub answers again"
                    .into(),
            ));
        }
        let verifier = v.get("verifier").and_then(Value::as_str).unwrap_or("");
        let ok = pin_matches(verifier, pin);
        v["wrong"] = json!(if ok { 0 } else { wrong + 1 });
        self.hub_cache_put(&key, &v.to_string())?;
        if !ok {
            return Err(Error::Unauthorized(
                "the name or PIN is wrong; try again".into(),
            ));
        }
        Ok(v["staff"].clone())
    }
}
