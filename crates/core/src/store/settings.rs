//! The `settings` (typed JSON values by key) and `cursors` (poller positions) tables.

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Serialize};

use super::ts;

pub fn get<T: DeserializeOwned>(conn: &Connection, key: &str) -> Result<Option<T>> {
    let v: Option<String> = conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?;
    match v {
        None => Ok(None),
        Some(s) => serde_json::from_str(&s).map(Some).map_err(|e| {
            Error::Integrity(format!(
                "setting '{key}' is unreadable ({e}); save the settings again"
            ))
        }),
    }
}

pub fn put<T: Serialize>(
    conn: &Connection,
    key: &str,
    value: &T,
    now: DateTime<Utc>,
) -> Result<()> {
    let s = serde_json::to_string(value).map_err(|e| Error::invalid(key, e.to_string()))?;
    conn.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, s, ts(now)],
    )?;
    Ok(())
}

pub fn cursor(conn: &Connection, source: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT value FROM cursors WHERE source = ?1",
            [source],
            |r| r.get(0),
        )
        .optional()?)
}

pub fn set_cursor(conn: &Connection, source: &str, value: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "INSERT INTO cursors (source, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![source, value, ts(now)],
    )?;
    Ok(())
}
