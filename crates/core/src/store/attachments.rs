//! The `attachments` and `blobs` tables: which documents belong to which consultation, and the
//! content-addressed blobs behind them (see [`super::blobs`]).

use crate::error::Result;
use crate::model::Attachment;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::ts;

/// Records a blob (idempotent) and links it to a consultation. Returns the attachment id and
/// whether it was new for that consultation.
pub fn link(
    conn: &Connection,
    consultation_id: i64,
    sha256: &str,
    name: &str,
    media_type: &str,
    size: u64,
    now: DateTime<Utc>,
) -> Result<(i64, bool)> {
    conn.execute(
        "INSERT OR IGNORE INTO blobs (sha256, size, media_type, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![sha256, size as i64, media_type, ts(now)],
    )?;
    if let Some(id) = conn
        .query_row(
            "SELECT id FROM attachments WHERE consultation_id = ?1 AND sha256 = ?2",
            params![consultation_id, sha256],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
    {
        return Ok((id, false));
    }
    conn.execute(
        "INSERT INTO attachments (consultation_id, sha256, name, media_type, size, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            consultation_id,
            sha256,
            name,
            media_type,
            size as i64,
            ts(now)
        ],
    )?;
    Ok((conn.last_insert_rowid(), true))
}

pub fn list(conn: &Connection, consultation_id: i64) -> Result<Vec<Attachment>> {
    let mut st = conn.prepare(
        "SELECT id, name, media_type, size, sha256 FROM attachments WHERE consultation_id = ?1 ORDER BY id",
    )?;
    let rows = st
        .query_map([consultation_id], |r| {
            Ok(Attachment {
                id: r.get(0)?,
                name: r.get(1)?,
                media_type: r.get(2)?,
                size: r.get::<_, i64>(3)? as u64,
                sha256: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<(i64, Attachment)>> {
    Ok(conn
        .query_row(
            "SELECT consultation_id, id, name, media_type, size, sha256 FROM attachments WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    Attachment {
                        id: r.get(1)?,
                        name: r.get(2)?,
                        media_type: r.get(3)?,
                        size: r.get::<_, i64>(4)? as u64,
                        sha256: r.get(5)?,
                    },
                ))
            },
        )
        .optional()?)
}

/// The consultation a standalone import of these bytes created (manual channel), if any.
pub fn consultation_with_blob(conn: &Connection, sha256: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT a.consultation_id FROM attachments a JOIN consultations c ON c.id = a.consultation_id
             WHERE a.sha256 = ?1 ORDER BY a.id LIMIT 1",
            [sha256],
            |r| r.get(0),
        )
        .optional()?)
}

/// All blob hashes the store references.
pub fn all_blobs(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare("SELECT sha256 FROM blobs ORDER BY sha256")?;
    let rows = st
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(rows)
}
