//! The `settings` (typed JSON values by key) and `cursors` (poller positions) tables.

use crate::args;
use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Serialize};

use super::sql::Db;
use super::ts;

pub fn get<T: DeserializeOwned>(db: &dyn Db, key: &str) -> Result<Option<T>> {
    let v: Option<String> = db.query_opt(
        "SELECT value FROM settings WHERE key = ?1",
        args![key],
        |r| r.get(0),
    )?;
    match v {
        None => Ok(None),
        Some(s) => serde_json::from_str(&s).map(Some).map_err(|e| {
            Error::Integrity(format!(
                "setting '{key}' is unreadable ({e}); save the settings again"
            ))
        }),
    }
}

pub fn put<T: Serialize>(db: &dyn Db, key: &str, value: &T, now: DateTime<Utc>) -> Result<()> {
    let s = serde_json::to_string(value).map_err(|e| Error::invalid(key, e.to_string()))?;
    db.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        args![key, s, ts(now)],
    )?;
    Ok(())
}

pub fn cursor(db: &dyn Db, source: &str) -> Result<Option<String>> {
    db.query_opt(
        "SELECT value FROM cursors WHERE source = ?1",
        args![source],
        |r| r.get(0),
    )
}

pub fn set_cursor(db: &dyn Db, source: &str, value: &str, now: DateTime<Utc>) -> Result<()> {
    db.execute(
        "INSERT INTO cursors (source, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        args![source, value, ts(now)],
    )?;
    Ok(())
}
