//! The `partners` and `partner_handles` tables: partner organisations, their API keys (stored
//! as sha256 hashes — keys are 256-bit random, so a slow KDF adds nothing) and their channel
//! handles (LINE WORKS channelId, Chatwork room id).

use crate::codes::{Channel, PartnerKind};
use crate::error::{Error, Result};
use crate::model::Partner;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension, Row};
use sha2::{Digest, Sha256};

use super::{parse_code, parse_ts, ts};

const COLS: &str = "id, name, kind, contact, phone, channels, api_key_hash IS NOT NULL, created_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Partner> {
    let channels: String = r.get(5)?;
    let channels: Vec<String> = serde_json::from_str(&channels).unwrap_or_default();
    Ok(Partner {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: parse_code(&r.get::<_, String>(2)?)?,
        contact: r.get(3)?,
        phone: r.get(4)?,
        channels: channels
            .iter()
            .filter_map(|c| c.parse::<Channel>().ok())
            .collect(),
        has_api_key: r.get(6)?,
        created_at: parse_ts(&r.get::<_, String>(7)?)?,
    })
}

/// Fields of a new partner.
#[derive(Debug, Clone, Default)]
pub struct NewPartner {
    pub name: String,
    pub kind: Option<PartnerKind>,
    pub contact: Option<String>,
    pub phone: Option<String>,
    pub channels: Vec<Channel>,
}

pub fn insert(conn: &Connection, p: &NewPartner, now: DateTime<Utc>) -> Result<i64> {
    let name = crate::model::clean_line(&p.name);
    if name.is_empty() {
        return Err(Error::invalid("name", "partner name is empty"));
    }
    if name.chars().count() > 100 {
        return Err(Error::invalid(
            "name",
            "partner name is longer than 100 characters",
        ));
    }
    if find_by_name(conn, &name)?.is_some() {
        return Err(Error::Conflict(format!(
            "a partner named '{name}' already exists"
        )));
    }
    let channels: Vec<&str> = p.channels.iter().map(|c| c.as_str()).collect();
    conn.execute(
        "INSERT INTO partners (name, kind, contact, phone, channels, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            name,
            p.kind.unwrap_or(PartnerKind::Other).as_str(),
            p.contact,
            p.phone,
            serde_json::to_string(&channels).unwrap_or_else(|_| "[]".into()),
            ts(now)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> Result<Partner> {
    conn.query_row(
        &format!("SELECT {COLS} FROM partners WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound(format!("partner {id} not found")))
}

pub fn find_by_name(conn: &Connection, name: &str) -> Result<Option<Partner>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM partners WHERE name = ?1"),
            [name],
            from_row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<Partner>> {
    let mut st = conn.prepare(&format!("SELECT {COLS} FROM partners ORDER BY kind, name"))?;
    let rows = st
        .query_map([], from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Finds or creates a partner by name.
pub fn ensure_named(
    conn: &Connection,
    name: &str,
    kind: PartnerKind,
    now: DateTime<Utc>,
) -> Result<i64> {
    let clean = crate::model::clean_line(name);
    if let Some(p) = find_by_name(conn, &clean)? {
        return Ok(p.id);
    }
    insert(
        conn,
        &NewPartner {
            name: clean,
            kind: Some(kind),
            ..Default::default()
        },
        now,
    )
}

/// Finds or creates the partner behind a channel handle.
pub fn ensure_handle(
    conn: &Connection,
    channel: Channel,
    handle: &str,
    display_name: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT partner_id FROM partner_handles WHERE channel = ?1 AND handle = ?2",
            params![channel.as_str(), handle],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    let mut name = crate::model::clean_line(display_name);
    if name.is_empty() {
        name = format!(
            "{} {}",
            channel.label_ja(),
            handle.chars().take(40).collect::<String>()
        );
    }
    let id = match find_by_name(conn, &name)? {
        Some(p) => p.id,
        None => insert(
            conn,
            &NewPartner {
                name,
                kind: Some(PartnerKind::Other),
                channels: vec![channel],
                ..Default::default()
            },
            now,
        )?,
    };
    conn.execute(
        "INSERT INTO partner_handles (channel, handle, partner_id) VALUES (?1, ?2, ?3)",
        params![channel.as_str(), handle, id],
    )?;
    Ok(id)
}

/// Links an existing partner to a channel handle (settings: "this Chatwork room is 札幌北辰病院").
pub fn link_handle(
    conn: &Connection,
    partner_id: i64,
    channel: Channel,
    handle: &str,
) -> Result<()> {
    get(conn, partner_id)?;
    conn.execute(
        "INSERT INTO partner_handles (channel, handle, partner_id) VALUES (?1, ?2, ?3)
         ON CONFLICT(channel, handle) DO UPDATE SET partner_id = excluded.partner_id",
        params![channel.as_str(), handle, partner_id],
    )?;
    Ok(())
}

/// The partner a mail sender belongs to: a `partner_handles` row on channel `email` with the
/// exact address (`sato@hospital.example`), else with its domain or a parent domain
/// (`@hospital.example`, `@example`). `address` is compared in lower case.
pub fn find_by_email(conn: &Connection, address: &str) -> Result<Option<i64>> {
    let address = address.trim().to_ascii_lowercase();
    let mut candidates = vec![address.clone()];
    if let Some((_, mut domain)) = address.rsplit_once('@') {
        loop {
            if !domain.is_empty() {
                candidates.push(format!("@{domain}"));
            }
            match domain.split_once('.') {
                Some((_, rest)) if rest.contains('.') => domain = rest,
                _ => break,
            }
        }
    }
    for handle in &candidates {
        let found: Option<i64> = conn
            .query_row(
                "SELECT partner_id FROM partner_handles WHERE channel = ?1 AND handle = ?2",
                params![Channel::Email.as_str(), handle],
                |r| r.get(0),
            )
            .optional()?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Hash under which an API key is stored.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(format!("renkei-api-key:{key}").as_bytes()))
}

/// Creates a new API key for the partner (replacing any old one) and returns it — the only time
/// it is ever visible.
pub fn issue_api_key(conn: &Connection, partner_id: i64, now: DateTime<Utc>) -> Result<String> {
    get(conn, partner_id)?;
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let key = format!("rk_{}", hex::encode(raw));
    conn.execute(
        "UPDATE partners SET api_key_hash = ?1, api_key_created_at = ?2 WHERE id = ?3",
        params![hash_api_key(&key), ts(now), partner_id],
    )?;
    Ok(key)
}

/// Revokes the partner's API key.
pub fn revoke_api_key(conn: &Connection, partner_id: i64) -> Result<()> {
    get(conn, partner_id)?;
    conn.execute(
        "UPDATE partners SET api_key_hash = NULL WHERE id = ?1",
        [partner_id],
    )?;
    Ok(())
}

/// The partner owning `key`, if any.
pub fn by_api_key(conn: &Connection, key: &str) -> Result<Option<Partner>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLS} FROM partners WHERE api_key_hash = ?1"),
            [hash_api_key(key)],
            from_row,
        )
        .optional()?)
}
