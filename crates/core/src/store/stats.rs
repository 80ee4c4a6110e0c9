//! Read-only figures over the store: response times per partner, row counts, SQLite's own
//! integrity check.

use crate::args;
use crate::error::Result;
use chrono::{DateTime, Utc};

use super::sql::{Backend, Db};

#[derive(Debug, Clone, PartialEq)]
pub struct ConsultationTimes {
    pub received_at: DateTime<Utc>,
    /// The clinic's first response (ack, reply, phone or status change).
    pub first_response_at: Option<DateTime<Utc>>,
    /// Not resolved or declined.
    pub open: bool,
    pub due_at: Option<DateTime<Utc>>,
}

/// Every consultation of partner `partner_id`, with its times.
/// Every consultation of partner `partner_id`, with its times.
pub fn partner_times(db: &dyn Db, partner_id: i64) -> Result<Vec<ConsultationTimes>> {
    db.query_map(
        "SELECT received_at, first_response_at, status, due_at FROM consultations WHERE partner_id = ?1",
        args![partner_id],
        |r| {
            let status: String = r.get(2)?;
            Ok(ConsultationTimes {
                received_at: r.ts(0)?,
                first_response_at: r.opt_ts(1)?,
                open: status != "resolved" && status != "declined",
                due_at: r.opt_ts(3)?,
            })
        },
    )
}

/// How many consultations the store holds.
pub fn consultation_count(db: &dyn Db) -> Result<u64> {
    db.query_one("SELECT count(*) FROM consultations", args![], |r| r.get(0))
}

/// How many attachment blobs the store holds.
pub fn blob_count(db: &dyn Db) -> Result<u64> {
    db.query_one("SELECT count(*) FROM blobs", args![], |r| r.get(0))
}

/// SQLite's own check of the database file: `PRAGMA integrity_check` (`full`) or the faster
/// `PRAGMA quick_check`. `"ok"` when nothing is wrong.
pub fn integrity(db: &dyn Db, full: bool) -> Result<String> {
    match db.backend() {
        Backend::Sqlite => {
            let pragma = if full {
                "PRAGMA integrity_check"
            } else {
                "PRAGMA quick_check"
            };
            db.query_one(pragma, args![], |r| r.get(0))
        }
        // PostgreSQL checks its pages itself (and data checksums when the cluster has them);
        // what the store can check is that every table answers.
        Backend::Postgres => {
            for t in [
                "consultations",
                "messages",
                "attachments",
                "blobs",
                "audit",
                "partners",
            ] {
                db.query_one(&format!("SELECT count(*) FROM {t}"), args![], |r| {
                    r.get::<i64>(0)
                })?;
            }
            Ok("ok".into())
        }
    }
}
