//! The `attachments` and `blobs` tables: which documents belong to which consultation, and the
//! content-addressed blobs behind them (see [`super::blobs`]).

use crate::args;
use crate::error::Result;
use crate::model::Attachment;
use chrono::{DateTime, Utc};

use super::sql::{Db, Row};
use super::ts;

/// Records a blob (idempotent) and links it to a consultation. Returns the attachment id and
/// whether it was new for that consultation.
pub fn link(
    db: &dyn Db,
    consultation_id: i64,
    sha256: &str,
    name: &str,
    media_type: &str,
    size: u64,
    now: DateTime<Utc>,
) -> Result<(i64, bool)> {
    db.execute(
        "INSERT INTO blobs (sha256, size, media_type, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (sha256) DO NOTHING",
        args![sha256, size, media_type, ts(now)],
    )?;
    if let Some(id) = db.query_opt(
        "SELECT id FROM attachments WHERE consultation_id = ?1 AND sha256 = ?2",
        args![consultation_id, sha256],
        |r| r.get::<i64>(0),
    )? {
        return Ok((id, false));
    }
    let id = db.insert_id(
        "INSERT INTO attachments (consultation_id, sha256, name, media_type, size, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        args![consultation_id, sha256, name, media_type, size, ts(now)],
    )?;
    Ok((id, true))
}

fn attachment(r: &Row, from: usize) -> Result<Attachment> {
    Ok(Attachment {
        id: r.get(from)?,
        name: r.get(from + 1)?,
        media_type: r.get(from + 2)?,
        size: r.get(from + 3)?,
        sha256: r.get(from + 4)?,
    })
}

pub fn list(db: &dyn Db, consultation_id: i64) -> Result<Vec<Attachment>> {
    db.query_map(
        "SELECT id, name, media_type, size, sha256 FROM attachments WHERE consultation_id = ?1 ORDER BY id",
        args![consultation_id],
        |r| attachment(r, 0),
    )
}

pub fn get(db: &dyn Db, id: i64) -> Result<Option<(i64, Attachment)>> {
    db.query_opt(
        "SELECT consultation_id, id, name, media_type, size, sha256 FROM attachments WHERE id = ?1",
        args![id],
        |r| Ok((r.get(0)?, attachment(r, 1)?)),
    )
}

/// The consultation a standalone import of these bytes created (manual channel), if any.
pub fn consultation_with_blob(db: &dyn Db, sha256: &str) -> Result<Option<i64>> {
    db.query_opt(
        "SELECT a.consultation_id FROM attachments a JOIN consultations c ON c.id = a.consultation_id
         WHERE a.sha256 = ?1 ORDER BY a.id LIMIT 1",
        args![sha256],
        |r| r.get(0),
    )
}

/// All blob hashes the store references.
pub fn all_blobs(db: &dyn Db) -> Result<Vec<String>> {
    db.query_map("SELECT sha256 FROM blobs ORDER BY sha256", args![], |r| {
        r.get(0)
    })
}
