//! The `notifications` table: every OS notification shown, with its reason, for the
//! "why did I get this" list.

use crate::error::Result;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::{parse_ts, ts};

/// A notification as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedNotification {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub ids: Vec<String>,
    pub urgency: String,
    pub title: String,
    pub body: String,
    pub reason: String,
}

pub fn insert(
    conn: &Connection,
    at: DateTime<Utc>,
    ids: &[String],
    urgency: &str,
    title: &str,
    body: &str,
    reason: &str,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO notifications (at, ids, urgency, title, body, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![ts(at), serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()), urgency, title, body, reason],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<LoggedNotification>> {
    let mut st =
        conn.prepare("SELECT id, at, ids, urgency, title, body, reason FROM notifications ORDER BY id DESC LIMIT ?1")?;
    let rows = st
        .query_map([limit as i64], |r| {
            let ids: String = r.get(2)?;
            Ok(LoggedNotification {
                id: r.get(0)?,
                at: parse_ts(&r.get::<_, String>(1)?)?,
                ids: serde_json::from_str(&ids).unwrap_or_default(),
                urgency: r.get(3)?,
                title: r.get(4)?,
                body: r.get(5)?,
                reason: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
