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
use chrono::{DateTime, Utc};
use rand::RngCore;

/// The actions that may wait in the outbox.
pub const OUTBOX_ACTIONS: [&str; 3] = ["take", "status", "note"];

impl Desk {
    /// Keeps the hub's answer `body` (JSON text) under `key` (`hub_local::QUEUE_KEY`,
    /// `hub_local::thread_key(id)`).
    pub fn hub_cache_put(&mut self, key: &str, body: &str) -> Result<()> {
        let now = self.now();
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
}
