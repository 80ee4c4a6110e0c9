//! `desk_requests` (issue 19, the offline desk): the staff actions a connected desk sent with an
//! `Idempotency-Key`. A row is written in the same transaction as the action it names
//! ([`crate::desk::Desk::keyed`]), so an action and its key commit together or not at all: a
//! desk that replays its outbox after a lost answer, a hub restart or a crash gets the action
//! applied exactly once. Rows are never changed.

use super::sql::Db;
use super::ts;
use crate::args;
use crate::error::Result;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// One keyed action as the desk sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey {
    /// The desk's key (1–200 visible ASCII characters; the desk uses a random UUID).
    pub key: String,
    /// Who acts (the hub session's staff name).
    pub staff: String,
    /// sha256 of what was asked (action, consultation, body): the same key with another request
    /// is refused.
    pub request_hash: String,
    pub consultation_id: i64,
}

impl RequestKey {
    /// The key of `action` on consultation `consultation_id` with the request body `body`.
    pub fn new(
        key: &str,
        staff: &str,
        action: &str,
        consultation_id: i64,
        body: &serde_json::Value,
    ) -> RequestKey {
        let mut h = Sha256::new();
        h.update(action.as_bytes());
        h.update([0]);
        h.update(consultation_id.to_string().as_bytes());
        h.update([0]);
        h.update(body.to_string().as_bytes());
        RequestKey {
            key: key.to_string(),
            staff: staff.to_string(),
            request_hash: hex::encode(h.finalize()),
            consultation_id,
        }
    }
}

/// The earlier request with `key`, if any.
pub fn find(db: &dyn Db, key: &str) -> Result<Option<RequestKey>> {
    db.query_opt(
        "SELECT key, staff, request_hash, consultation_id FROM desk_requests WHERE key = ?1",
        args![key],
        |r| {
            Ok(RequestKey {
                key: r.get(0)?,
                staff: r.get(1)?,
                request_hash: r.get(2)?,
                consultation_id: r.get(3)?,
            })
        },
    )
}

/// Records `k` (in the transaction of the action it names).
pub fn record(db: &dyn Db, k: &RequestKey, now: DateTime<Utc>) -> Result<()> {
    db.execute(
        "INSERT INTO desk_requests (key, staff, request_hash, consultation_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        args![
            &k.key,
            &k.staff,
            &k.request_hash,
            k.consultation_id,
            ts(now)
        ],
    )?;
    Ok(())
}
