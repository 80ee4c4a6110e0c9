//! A connected desk's own tables (issue 19, offline): `hub_cache` — the last queue and threads
//! read from the hub, as the hub's JSON, shown while the hub is unreachable — and `hub_outbox` —
//! what staff did while it was unreachable (take, status, note), each with its own
//! `Idempotency-Key`, replayed in order when the hub answers again. Both live in the desk's
//! encrypted SQLite store, like everything else it keeps.

use super::sql::Db;
use super::ts;
use crate::args;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The cache key of the queue (`queue`) and of one thread (`consultation:ID`).
pub const QUEUE_KEY: &str = "queue";

pub fn thread_key(id: i64) -> String {
    format!("consultation:{id}")
}

/// Keeps `body` (JSON text) under `key`, replacing what was there.
pub fn cache_put(db: &dyn Db, key: &str, body: &str, now: DateTime<Utc>) -> Result<()> {
    db.execute(
        "INSERT INTO hub_cache (key, body, fetched_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET body = excluded.body, fetched_at = excluded.fetched_at",
        args![key, body, ts(now)],
    )?;
    Ok(())
}

/// What is kept under `key`, with when it was read from the hub.
pub fn cache_get(db: &dyn Db, key: &str) -> Result<Option<(String, DateTime<Utc>)>> {
    db.query_opt(
        "SELECT body, fetched_at FROM hub_cache WHERE key = ?1",
        args![key],
        |r| Ok((r.get(0)?, r.ts(1)?)),
    )
}

/// The cache key of the offline sign-in verifier of staff member `name`.
pub fn pin_key(name: &str) -> String {
    format!("pin:{name}")
}

/// Every kept body whose key starts with `prefix`, by key.
pub fn cache_prefixed(db: &dyn Db, prefix: &str) -> Result<Vec<String>> {
    db.query_map(
        "SELECT body FROM hub_cache WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
        args![prefix],
        |r| r.get(0),
    )
}

/// Forgets everything read from a hub (disconnecting from it).
pub fn cache_clear(db: &dyn Db) -> Result<()> {
    db.execute("DELETE FROM hub_cache", args![])?;
    Ok(())
}

/// One action taken offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxItem {
    pub id: i64,
    /// Sent as `Idempotency-Key`.
    pub key: String,
    /// Who did it: replayed only in that person's hub session.
    pub staff: String,
    pub consultation_id: i64,
    /// `take`, `status` or `note`.
    pub action: String,
    /// The request body as JSON text.
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// `pending`, or `conflict` (the hub refused it: shown until a person dismisses it). Sent
    /// entries leave the table.
    pub state: String,
    /// The hub's words for a conflict.
    pub problem: Option<String>,
}

const COLS: &str = "id, idem_key, staff, consultation_id, action, body, created_at, state, problem";

fn item(r: &super::sql::Row) -> Result<OutboxItem> {
    Ok(OutboxItem {
        id: r.get(0)?,
        key: r.get(1)?,
        staff: r.get(2)?,
        consultation_id: r.get(3)?,
        action: r.get(4)?,
        body: r.get(5)?,
        created_at: r.ts(6)?,
        state: r.get(7)?,
        problem: r.get(8)?,
    })
}

/// Queues an action; returns its id.
pub fn outbox_add(
    db: &dyn Db,
    key: &str,
    staff: &str,
    consultation_id: i64,
    action: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    db.insert_id(
        "INSERT INTO hub_outbox (idem_key, staff, consultation_id, action, body, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        args![key, staff, consultation_id, action, body, ts(now)],
    )
}

/// What is still to send or to show: `pending` and `conflict` entries, oldest first.
pub fn outbox_open(db: &dyn Db) -> Result<Vec<OutboxItem>> {
    db.query_map(
        &format!(
            "SELECT {COLS} FROM hub_outbox WHERE state IN ('pending', 'conflict') ORDER BY id"
        ),
        args![],
        item,
    )
}

/// The hub applied entry `id` (or already had it): it leaves the outbox.
pub fn outbox_done(db: &dyn Db, id: i64) -> Result<()> {
    db.execute("DELETE FROM hub_outbox WHERE id = ?1", args![id])?;
    Ok(())
}

/// The hub refused entry `id`: it stays, as a conflict with the hub's words, until dismissed.
pub fn outbox_conflict(db: &dyn Db, id: i64, problem: &str, now: DateTime<Utc>) -> Result<()> {
    db.execute(
        "UPDATE hub_outbox SET state = 'conflict', problem = ?2, done_at = ?3 WHERE id = ?1",
        args![id, problem, ts(now)],
    )?;
    Ok(())
}

/// A person read the conflict `id` and closed it. `false`: no such open conflict.
pub fn outbox_dismiss(db: &dyn Db, id: i64) -> Result<bool> {
    Ok(db.execute(
        "DELETE FROM hub_outbox WHERE id = ?1 AND state = 'conflict'",
        args![id],
    )? == 1)
}
