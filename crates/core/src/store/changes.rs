//! The change sequence connected desks follow (`GET /v1/desk/events`, issue 19): the audit
//! log's ids.
//!
//! Every change by staff (`Desk::act`/`audited`) and every intake (`intake_tx_within`) appends an
//! audit row in the same transaction, under the writer lock on both engines (`BEGIN
//! IMMEDIATE` on SQLite, `pg::WRITER_LOCK` on PostgreSQL); its id is the previous id + 1
//! (`audit::append`). So the ids are gap-free and in commit order, and "rows above N" is
//! exactly what a desk that has seen N missed. On PostgreSQL every such transaction also sends
//! `NOTIFY renkei_changes` (`audit::append`); [`listen_pg`] turns it into a wake-up for hub
//! processes — only a wake-up: a listener that was away catches up from the sequence. Only rows about a consultation become events;
//! the others (sign-ins, settings, poller cursors) just move the sequence on. An event never
//! carries the audit detail or any message text — the desk fetches the detail.

use super::sql::Db;
use crate::args;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The PostgreSQL notification channel of the change sequence.
pub const PG_CHANNEL: &str = "renkei_changes";

/// One change of a consultation, as a connected desk receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeEvent {
    /// The audit id: the SSE `id:` and the `Last-Event-ID` to resume from.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The audit action: `consultation.create`, `consultation.ack`, `consultation.status`,
    /// `consultation.assign`, `message.inbound`, `message.note`, `message.reply`, …
    pub kind: String,
    pub consultation_id: i64,
    /// Who acted (a staff name from the session, or the intake channel).
    pub who: String,
    /// The consultation's status, owner and version now (not at the time of the event).
    pub status: Option<String>,
    pub owner: Option<String>,
    pub version: Option<i64>,
}

/// The newest id of the sequence (0 for an empty store).
pub fn last_seq(db: &dyn Db) -> Result<i64> {
    db.query_one("SELECT COALESCE(MAX(id), 0) FROM audit", args![], |r| {
        r.get(0)
    })
}

/// Events after `after`, oldest first; reads at most `limit` audit rows. Returns the events
/// and the last sequence number read (so a caller moves past rows that are not events).
pub fn after(db: &dyn Db, after: i64, limit: i64) -> Result<(Vec<ChangeEvent>, i64)> {
    type AuditRow = (i64, DateTime<Utc>, String, String, Option<String>);
    let rows: Vec<AuditRow> = db.query_map(
        "SELECT id, at, actor, action, target FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
        args![after, limit],
        |r| Ok((r.get(0)?, r.ts(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let last = rows.last().map_or(after, |r| r.0);
    let mut out = Vec::new();
    for (seq, at, who, kind, target) in rows {
        let Some(id) = target
            .as_deref()
            .and_then(|t| t.strip_prefix("consultation:"))
            .and_then(|t| t.parse::<i64>().ok())
        else {
            continue;
        };
        let now: Option<(String, Option<String>, i64)> = db.query_opt(
            "SELECT status, owner, version FROM consultations WHERE id = ?1",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        out.push(ChangeEvent {
            seq,
            at,
            kind,
            consultation_id: id,
            who,
            status: now.as_ref().map(|n| n.0.clone()),
            owner: now.as_ref().and_then(|n| n.1.clone()),
            version: now.map(|n| n.2),
        });
    }
    Ok((out, last))
}

/// Blocks on a connection of its own: `LISTEN renkei_changes` and calls `wake` once after
/// connecting (to catch up) and for each notification, until `stop` is set (checked at least
/// every 500 ms). Returns an error when the connection fails; the caller reconnects.
pub fn listen_pg(url: &str, stop: &AtomicBool, wake: &dyn Fn()) -> Result<()> {
    use postgres::fallible_iterator::FallibleIterator;
    let mut client = super::pg::connect(url)?;
    client.batch_execute(&format!("LISTEN {PG_CHANNEL}"))?;
    wake();
    while !stop.load(Ordering::Relaxed) {
        let mut notifications = client.notifications();
        let mut it = notifications.timeout_iter(Duration::from_millis(500));
        while it.next()?.is_some() {
            wake();
            if stop.load(Ordering::Relaxed) {
                break;
            }
        }
    }
    Ok(())
}
