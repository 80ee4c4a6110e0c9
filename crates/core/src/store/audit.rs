//! The append-only, hash-chained audit log: who read or changed what, when.
//!
//! Each row stores `hash = sha256(prev_hash | id | at | actor | action | target | detail)`;
//! triggers refuse UPDATE and DELETE; [`verify`] recomputes the chain, so a modified, deleted or
//! reordered row is detected. Details never contain message text.

use crate::args;
use crate::error::{Error, Result};
use crate::model::AuditEvent;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::sql::Db;
use super::ts;

const GENESIS: &str = "renkei-desk audit genesis";

fn row_hash(
    prev: &str,
    id: i64,
    at: &str,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &id.to_string(),
        at,
        actor,
        action,
        target.unwrap_or(""),
        detail,
    ] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends one event (inside the caller's write transaction, which holds the writer lock on
/// either engine: `BEGIN IMMEDIATE` on SQLite, `pg::WRITER_LOCK` on PostgreSQL — so the last
/// row read here is still the last when this one is inserted).
pub fn append(
    db: &dyn Db,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    target: Option<&str>,
    detail: &str,
) -> Result<i64> {
    // A PostgreSQL write transaction knows the last row (read with the writer lock).
    let last: Option<(i64, String)> = match db.audit_tail() {
        Some(tail) => tail,
        None => db.query_opt(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1",
            args![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?,
    };
    let (prev_id, prev_hash) = last.unwrap_or((0, hex::encode(Sha256::digest(GENESIS))));
    let id = prev_id + 1;
    let at = ts(at);
    let hash = row_hash(&prev_hash, id, &at, actor, action, target, detail);
    db.execute_later(
        "INSERT INTO audit (id, at, actor, action, target, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        args![id, at, actor, action, target, detail, prev_hash, hash.clone()],
    )?;
    if !db.appended_audit((id, hash)) && db.backend() == super::sql::Backend::Postgres {
        // The wake-up of connected desks' event streams on other hub processes
        // (`changes::listen_pg`): delivered at commit, dropped on rollback; identical
        // notifications of one transaction collapse into one. (A `PgStore` write transaction
        // sends it once, with its COMMIT.)
        db.execute(
            &format!("SELECT pg_notify('{}', '')", super::changes::PG_CHANNEL),
            args![],
        )?;
    }
    Ok(id)
}

/// Filters for the audit view.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub limit: Option<usize>,
}

pub fn list(db: &dyn Db, f: &AuditFilter) -> Result<Vec<AuditEvent>> {
    // `CAST(? AS TEXT)`: PostgreSQL cannot infer a parameter's type from `? IS NULL` alone.
    db.query_map(
        "SELECT id, at, actor, action, target, detail FROM audit
         WHERE (CAST(?1 AS TEXT) IS NULL OR actor = ?1) AND (CAST(?2 AS TEXT) IS NULL OR action = ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR target = ?3)
         ORDER BY id DESC LIMIT ?4",
        args![&f.actor, &f.action, &f.target, f.limit.unwrap_or(500)],
        |r| {
            Ok(AuditEvent {
                id: r.get(0)?,
                at: r.ts(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                detail: r.get(5)?,
            })
        },
    )
}

/// Recomputes the chain. Returns the number of rows verified.
pub fn verify(db: &dyn Db) -> Result<u64> {
    let mut expected_prev = hex::encode(Sha256::digest(GENESIS));
    let mut expected_id = 1i64;
    let mut n = 0u64;
    db.query_each(
        "SELECT id, at, actor, action, target, detail, prev_hash, hash FROM audit ORDER BY id",
        args![],
        &mut |r| {
            let id: i64 = r.get(0)?;
            let at: String = r.get(1)?;
            let actor: String = r.get(2)?;
            let action: String = r.get(3)?;
            let target: Option<String> = r.get(4)?;
            let detail: String = r.get(5)?;
            let prev: String = r.get(6)?;
            let hash: String = r.get(7)?;
            if id != expected_id {
                return Err(Error::Integrity(format!(
                    "audit log: row {expected_id} is missing (next row is {id})"
                )));
            }
            if prev != expected_prev
                || row_hash(&prev, id, &at, &actor, &action, target.as_deref(), &detail) != hash
            {
                return Err(Error::Integrity(format!(
                    "audit log: row {id} was modified (hash chain broken)"
                )));
            }
            expected_prev = hash;
            expected_id += 1;
            n += 1;
            Ok(true)
        },
    )?;
    Ok(n)
}
