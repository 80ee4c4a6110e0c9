//! The `messages` table: a consultation's thread (inbound, replies, internal notes, phone logs).

use crate::args;
use crate::error::Result;
use crate::model::{Message, MessageKind};
use chrono::{DateTime, Utc};

use super::sql::Db;
use super::ts;

pub fn insert(
    db: &dyn Db,
    consultation_id: i64,
    kind: MessageKind,
    author: &str,
    body: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    let at = ts(at);
    match db.reserve_id("messages")? {
        // PostgreSQL's writer: the id first, the row sent with the commit.
        Some(id) => {
            db.execute_later(
                "INSERT INTO messages (consultation_id, kind, author, body, at, id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                args![consultation_id, kind.as_str(), author, body, at, id],
            )?;
            Ok(id)
        }
        None => db.insert_id(
            "INSERT INTO messages (consultation_id, kind, author, body, at)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            args![consultation_id, kind.as_str(), author, body, at],
        ),
    }
}

pub fn thread(db: &dyn Db, consultation_id: i64) -> Result<Vec<Message>> {
    db.query_map(
        "SELECT id, kind, author, body, at FROM messages WHERE consultation_id = ?1 ORDER BY at, id",
        args![consultation_id],
        |r| {
            let kind: String = r.get(1)?;
            Ok(Message {
                id: r.get(0)?,
                kind: MessageKind::parse(&kind).unwrap_or(MessageKind::Note),
                author: r.get(2)?,
                body: r.get(3)?,
                at: r.ts(4)?,
            })
        },
    )
}

/// Whether the thread of a consultation has a message of `kind` (the receipt: at most one).
pub fn has_kind(db: &dyn Db, consultation_id: i64, kind: MessageKind) -> Result<bool> {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM messages WHERE consultation_id = ?1 AND kind = ?2)",
        args![consultation_id, kind.as_str()],
        |r| r.get(0),
    )
}
