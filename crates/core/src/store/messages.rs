//! The `messages` table: a consultation's thread (inbound, replies, internal notes, phone logs).

use crate::error::Result;
use crate::model::{Message, MessageKind};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use super::{parse_ts, ts};

pub fn insert(
    conn: &Connection,
    consultation_id: i64,
    kind: MessageKind,
    author: &str,
    body: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO messages (consultation_id, kind, author, body, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![consultation_id, kind.as_str(), author, body, ts(at)],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn thread(conn: &Connection, consultation_id: i64) -> Result<Vec<Message>> {
    let mut st =
        conn.prepare("SELECT id, kind, author, body, at FROM messages WHERE consultation_id = ?1 ORDER BY at, id")?;
    let rows = st
        .query_map([consultation_id], |r| {
            let kind: String = r.get(1)?;
            Ok(Message {
                id: r.get(0)?,
                kind: MessageKind::parse(&kind).unwrap_or(MessageKind::Note),
                author: r.get(2)?,
                body: r.get(3)?,
                at: parse_ts(&r.get::<_, String>(4)?)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
