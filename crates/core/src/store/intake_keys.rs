//! `intake_keys`: what was already taken in. One row per (channel, partner scope, external id):
//! a sender's message id, `idem:<Idempotency-Key>` (with the hash of the request body), or the
//! sha256 of an imported document (`doc:<channel>` scope). Rows are never changed.

use crate::args;
use crate::codes::Channel;
use crate::error::Result;
use chrono::{DateTime, Utc};

use super::sql::Db;
use super::ts;

/// The key of one row.
#[derive(Debug, Clone, Copy)]
pub struct IntakeKey<'a> {
    pub channel: Channel,
    /// The partner's id as text, `-` for an unknown sender, or a scope such as `doc:manual`.
    pub partner_key: &'a str,
    pub external_id: &'a str,
}

/// The consultation an earlier intake with this key went to, with the request hash it kept.
pub fn find(db: &dyn Db, k: &IntakeKey<'_>) -> Result<Option<(i64, Option<String>)>> {
    db.query_opt(
        "SELECT consultation_id, request_hash FROM intake_keys WHERE channel = ?1 AND partner_key = ?2 AND external_id = ?3",
        args![k.channel.as_str(), k.partner_key, k.external_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The consultation an earlier intake with this key went to.
pub fn consultation_of(db: &dyn Db, k: &IntakeKey<'_>) -> Result<Option<i64>> {
    db.query_opt(
        "SELECT consultation_id FROM intake_keys WHERE channel = ?1 AND partner_key = ?2 AND external_id = ?3",
        args![k.channel.as_str(), k.partner_key, k.external_id],
        |r| r.get(0),
    )
}

/// Records that `k` was taken in as `consultation_id` (and `message_id`, when it added one).
pub fn register(
    db: &dyn Db,
    k: &IntakeKey<'_>,
    consultation_id: i64,
    message_id: Option<i64>,
    request_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute_later(
        "INSERT INTO intake_keys (channel, partner_key, external_id, consultation_id, message_id, request_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        args![k.channel.as_str(), k.partner_key, k.external_id, consultation_id, message_id, request_hash, ts(now)],
    )?;
    Ok(())
}
