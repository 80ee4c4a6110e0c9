//! The `notifications` table: every OS notification shown, with its reason, for the
//! "why did I get this" list.

use crate::args;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::sql::Db;
use super::ts;

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
    db: &dyn Db,
    at: DateTime<Utc>,
    ids: &[String],
    urgency: &str,
    title: &str,
    body: &str,
    reason: &str,
) -> Result<i64> {
    db.insert_id(
        "INSERT INTO notifications (at, ids, urgency, title, body, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        args![
            ts(at),
            serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()),
            urgency,
            title,
            body,
            reason
        ],
    )
}

pub fn recent(db: &dyn Db, limit: usize) -> Result<Vec<LoggedNotification>> {
    db.query_map(
        "SELECT id, at, ids, urgency, title, body, reason FROM notifications ORDER BY id DESC LIMIT ?1",
        args![limit],
        |r| {
            let ids: String = r.get(2)?;
            Ok(LoggedNotification {
                id: r.get(0)?,
                at: r.ts(1)?,
                ids: serde_json::from_str(&ids).unwrap_or_default(),
                urgency: r.get(3)?,
                title: r.get(4)?,
                body: r.get(5)?,
                reason: r.get(6)?,
            })
        },
    )
}
