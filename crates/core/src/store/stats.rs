//! Read-only figures over the store: response times per partner, row counts, SQLite's own
//! integrity check.

use crate::error::Result;
use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::{parse_opt_ts, parse_ts};

/// The times of one consultation of a partner, for the partner statistics.
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
pub fn partner_times(conn: &Connection, partner_id: i64) -> Result<Vec<ConsultationTimes>> {
    let mut st = conn.prepare_cached(
        "SELECT received_at, first_response_at, status, due_at FROM consultations WHERE partner_id = ?1",
    )?;
    let rows = st
        .query_map([partner_id], |r| {
            let status = r.get::<_, String>(2)?;
            Ok(ConsultationTimes {
                received_at: parse_ts(&r.get::<_, String>(0)?)?,
                first_response_at: parse_opt_ts(r.get(1)?)?,
                open: status != "resolved" && status != "declined",
                due_at: parse_opt_ts(r.get(3)?)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// How many consultations the store holds.
pub fn consultation_count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn.query_row("SELECT count(*) FROM consultations", [], |r| r.get(0))?;
    Ok(n as u64)
}

/// SQLite's own check of the database file: `PRAGMA integrity_check` (`full`) or the faster
/// `PRAGMA quick_check`. `"ok"` when nothing is wrong.
pub fn integrity(conn: &Connection, full: bool) -> Result<String> {
    let pragma = if full {
        "PRAGMA integrity_check"
    } else {
        "PRAGMA quick_check"
    };
    Ok(conn.query_row(pragma, [], |r| r.get(0))?)
}
