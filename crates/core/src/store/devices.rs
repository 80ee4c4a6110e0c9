//! `devices` and `desk_sessions` (issue 19): the PCs enrolled on a hub and the staff sessions
//! opened on them.
//!
//! A device starts with a one-time enrolment code (16 characters without 0/O/1/I/L, shown as
//! `ABCD-EFGH-JKMN-PQRS`, valid 24 h, single use) and gets a long random token when it enrols.
//! Both are stored as sha256 hashes (like partner API keys, `partners::hash_api_key`): they are
//! high-entropy secrets, so a slow KDF would add nothing. A session token is the same kind of
//! secret, tied to the device it was opened on.

use super::partners::hash_api_key;
use super::sql::{Db, Row};
use super::ts;
use crate::args;
use crate::error::{Error, Result};
use chrono::{DateTime, Duration, Utc};
use rand::{Rng, RngCore};
use serde::Serialize;

/// Characters of an enrolment code: no 0/O, 1/I/L (easy to misread when typed from paper).
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// How long an enrolment code stays valid.
pub const CODE_VALID_HOURS: i64 = 24;

/// An enrolled (or waiting) device. Never carries a code or a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub id: i64,
    pub name: String,
    /// `waiting` (code issued, not used), `expired` (code unused and too old), `enrolled`,
    /// `revoked`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub code_expires_at: Option<DateTime<Utc>>,
    pub enrolled_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLS: &str = "id, name, created_at, code_expires_at, enrolled_at, revoked_at";

fn device(r: &Row, now: DateTime<Utc>) -> Result<Device> {
    let (code_expires_at, enrolled_at, revoked_at) = (r.opt_ts(3)?, r.opt_ts(4)?, r.opt_ts(5)?);
    let state = if revoked_at.is_some() {
        "revoked"
    } else if enrolled_at.is_some() {
        "enrolled"
    } else if code_expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "waiting"
    };
    Ok(Device {
        id: r.get(0)?,
        name: r.get(1)?,
        state: state.into(),
        created_at: r.ts(2)?,
        code_expires_at,
        enrolled_at,
        revoked_at,
    })
}

/// A new enrolment code, grouped in fours for reading aloud.
fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..16)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The code as typed → its canonical form (upper case, no spaces or dashes).
fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn hash_code(code: &str) -> String {
    hash_api_key(&format!("device-code:{}", normalise_code(code)))
}

/// A long random secret (256 bits, hex) with a prefix saying what it is.
pub fn new_token(prefix: &str) -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    format!("{prefix}_{}", hex::encode(raw))
}

/// Registers a device waiting for enrolment; returns its id and the one-time code.
pub fn add(db: &dyn Db, name: &str, now: DateTime<Utc>) -> Result<(i64, String)> {
    let code = new_code();
    let id = db.insert_id(
        "INSERT INTO devices (name, code_hash, code_expires_at, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        args![name, hash_code(&code), ts(now + Duration::hours(CODE_VALID_HOURS)), ts(now)],
    )?;
    Ok((id, code))
}

pub fn list(db: &dyn Db, now: DateTime<Utc>) -> Result<Vec<Device>> {
    db.query_map(
        &format!("SELECT {COLS} FROM devices ORDER BY id"),
        args![],
        |r| device(r, now),
    )
}

pub fn get(db: &dyn Db, id: i64, now: DateTime<Utc>) -> Result<Device> {
    db.query_opt(
        &format!("SELECT {COLS} FROM devices WHERE id = ?1"),
        args![id],
        |r| device(r, now),
    )?
    .ok_or_else(|| {
        Error::NotFound(format!(
            "device {id} not found; `renkei device list` shows the ids"
        ))
    })
}

/// Uses a one-time code: the device gets a token (returned, the only time it is visible), the
/// code is gone. Unknown, used, expired or revoked codes → `Unauthorized`, nothing changed.
pub fn enroll(
    db: &dyn Db,
    code: &str,
    name: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Device, String)> {
    let found: Option<(i64, Option<DateTime<Utc>>)> = db.query_opt(
        "SELECT id, code_expires_at FROM devices WHERE code_hash = ?1 AND token_hash IS NULL AND revoked_at IS NULL",
        args![hash_code(code)],
        |r| Ok((r.get(0)?, r.opt_ts(1)?)),
    )?;
    let Some(id) = found
        .filter(|(_, expires)| expires.is_some_and(|e| e > now))
        .map(|(id, _)| id)
    else {
        return Err(Error::Unauthorized(
            "the enrolment code is unknown, already used or expired; ask the hub's \
             administrator for a new one (`renkei device add --name …`)"
                .into(),
        ));
    };
    let token = new_token("rkd");
    db.execute(
        "UPDATE devices SET token_hash = ?1, code_hash = NULL, enrolled_at = ?2, name = COALESCE(?3, name) WHERE id = ?4",
        args![hash_api_key(&token), ts(now), name, id],
    )?;
    Ok((get(db, id, now)?, token))
}

/// The device holding `token` (revoked ones too: the caller says "revoked").
pub fn by_token(db: &dyn Db, token: &str, now: DateTime<Utc>) -> Result<Option<Device>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM devices WHERE token_hash = ?1"),
        args![hash_api_key(token)],
        |r| device(r, now),
    )
}

/// Revokes a device (its token stops working, an unused code too) and ends its sessions.
pub fn revoke(db: &dyn Db, id: i64, now: DateTime<Utc>) -> Result<Device> {
    get(db, id, now)?;
    db.execute(
        "UPDATE devices SET revoked_at = COALESCE(revoked_at, ?1), code_hash = NULL WHERE id = ?2",
        args![ts(now), id],
    )?;
    db.execute(
        "UPDATE desk_sessions SET ended_at = ?1 WHERE device_id = ?2 AND ended_at IS NULL",
        args![ts(now), id],
    )?;
    get(db, id, now)
}

/// A staff session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: i64,
    pub device_id: i64,
    pub staff_id: i64,
    pub staff_name: String,
    pub staff_active: bool,
    pub last_seen_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// Opens a session of `staff_id` on `device_id`; returns its id and token.
pub fn open_session(
    db: &dyn Db,
    device_id: i64,
    staff_id: i64,
    now: DateTime<Utc>,
) -> Result<(i64, String)> {
    let token = new_token("rks");
    let id = db.insert_id(
        "INSERT INTO desk_sessions (token_hash, device_id, staff_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?4, ?4) RETURNING id",
        args![hash_api_key(&token), device_id, staff_id, ts(now)],
    )?;
    Ok((id, token))
}

pub fn session_by_token(db: &dyn Db, token: &str) -> Result<Option<SessionRow>> {
    db.query_opt(
        "SELECT s.id, s.device_id, s.staff_id, st.name, st.active, s.last_seen_at, s.ended_at
         FROM desk_sessions s JOIN staff st ON st.id = s.staff_id WHERE s.token_hash = ?1",
        args![hash_api_key(token)],
        |r| {
            Ok(SessionRow {
                id: r.get(0)?,
                device_id: r.get(1)?,
                staff_id: r.get(2)?,
                staff_name: r.get(3)?,
                staff_active: r.get(4)?,
                last_seen_at: r.ts(5)?,
                ended_at: r.opt_ts(6)?,
            })
        },
    )
}

pub fn touch_session(db: &dyn Db, id: i64, now: DateTime<Utc>) -> Result<()> {
    db.execute(
        "UPDATE desk_sessions SET last_seen_at = ?1 WHERE id = ?2 AND ended_at IS NULL",
        args![ts(now), id],
    )?;
    Ok(())
}

pub fn end_session(db: &dyn Db, id: i64, now: DateTime<Utc>) -> Result<()> {
    db.execute(
        "UPDATE desk_sessions SET ended_at = COALESCE(ended_at, ?1) WHERE id = ?2",
        args![ts(now), id],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_typeable_and_normalised() {
        for _ in 0..200 {
            let c = new_code();
            assert_eq!(c.len(), 19, "{c}");
            assert!(!c.contains(['0', 'O', '1', 'I', 'L', 'l']), "{c}");
            assert_eq!(
                hash_code(&c),
                hash_code(&c.to_lowercase().replace('-', " "))
            );
        }
    }
}
