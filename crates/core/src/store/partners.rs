//! The `partners` and `partner_handles` tables: partner organisations, their API keys (stored
//! as sha256 hashes — keys are 256-bit random, so a slow KDF adds nothing) and their channel
//! handles (LINE WORKS channelId, Chatwork room id).

use crate::args;
use crate::codes::{Channel, PartnerKind};
use crate::error::{Error, Result};
use crate::model::Partner;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::sql::{Db, Row};
use super::ts;

const COLS: &str =
    "id, name, kind, contact, phone, channels, api_key_hash IS NOT NULL, created_at, receipt";

fn from_row(r: &Row) -> Result<Partner> {
    let channels: String = r.get(5)?;
    let channels: Vec<String> = serde_json::from_str(&channels).unwrap_or_default();
    Ok(Partner {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.code(2)?,
        contact: r.get(3)?,
        phone: r.get(4)?,
        channels: channels
            .iter()
            .filter_map(|c| c.parse::<Channel>().ok())
            .collect(),
        has_api_key: r.get(6)?,
        created_at: r.ts(7)?,
        receipt: r.get(8)?,
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

pub fn insert(db: &dyn Db, p: &NewPartner, now: DateTime<Utc>) -> Result<i64> {
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
    if find_by_name(db, &name)?.is_some() {
        return Err(Error::Conflict(format!(
            "a partner named '{name}' already exists"
        )));
    }
    let channels: Vec<&str> = p.channels.iter().map(|c| c.as_str()).collect();
    db.insert_id(
        "INSERT INTO partners (name, kind, contact, phone, channels, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        args![
            name,
            p.kind.unwrap_or(PartnerKind::Other).as_str(),
            &p.contact,
            &p.phone,
            serde_json::to_string(&channels).unwrap_or_else(|_| "[]".into()),
            ts(now)
        ],
    )
}

pub fn get(db: &dyn Db, id: i64) -> Result<Partner> {
    db.query_opt(
        &format!("SELECT {COLS} FROM partners WHERE id = ?1"),
        args![id],
        from_row,
    )?
    .ok_or_else(|| Error::NotFound(format!("partner {id} not found")))
}

pub fn find_by_name(db: &dyn Db, name: &str) -> Result<Option<Partner>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM partners WHERE name = ?1"),
        args![name],
        from_row,
    )
}

pub fn list(db: &dyn Db) -> Result<Vec<Partner>> {
    db.query_map(
        &format!("SELECT {COLS} FROM partners ORDER BY kind, name"),
        args![],
        from_row,
    )
}

/// Finds or creates a partner by name.
pub fn ensure_named(db: &dyn Db, name: &str, kind: PartnerKind, now: DateTime<Utc>) -> Result<i64> {
    let clean = crate::model::clean_line(name);
    if let Some(p) = find_by_name(db, &clean)? {
        return Ok(p.id);
    }
    insert(
        db,
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
    db: &dyn Db,
    channel: Channel,
    handle: &str,
    display_name: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let found: Option<i64> = db.query_opt(
        "SELECT partner_id FROM partner_handles WHERE channel = ?1 AND handle = ?2",
        args![channel.as_str(), handle],
        |r| r.get(0),
    )?;
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
    let id = match find_by_name(db, &name)? {
        Some(p) => p.id,
        None => insert(
            db,
            &NewPartner {
                name,
                kind: Some(PartnerKind::Other),
                channels: vec![channel],
                ..Default::default()
            },
            now,
        )?,
    };
    db.execute(
        "INSERT INTO partner_handles (channel, handle, partner_id) VALUES (?1, ?2, ?3)",
        args![channel.as_str(), handle, id],
    )?;
    Ok(id)
}

/// Links an existing partner to a channel handle (settings: "this Chatwork room is 札幌北辰病院").
pub fn link_handle(db: &dyn Db, partner_id: i64, channel: Channel, handle: &str) -> Result<()> {
    get(db, partner_id)?;
    db.execute(
        "INSERT INTO partner_handles (channel, handle, partner_id) VALUES (?1, ?2, ?3)
         ON CONFLICT(channel, handle) DO UPDATE SET partner_id = excluded.partner_id",
        args![channel.as_str(), handle, partner_id],
    )?;
    Ok(())
}

/// The partner a mail sender belongs to: a `partner_handles` row on channel `email` with the
/// exact address (`sato@hospital.example`), else with its domain or a parent domain
/// (`@hospital.example`, `@example`). `address` is compared in lower case.
pub fn find_by_email(db: &dyn Db, address: &str) -> Result<Option<i64>> {
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
        let found: Option<i64> = db.query_opt(
            "SELECT partner_id FROM partner_handles WHERE channel = ?1 AND handle = ?2",
            args![Channel::Email.as_str(), handle],
            |r| r.get(0),
        )?;
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
pub fn issue_api_key(db: &dyn Db, partner_id: i64, now: DateTime<Utc>) -> Result<String> {
    get(db, partner_id)?;
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let key = format!("rk_{}", hex::encode(raw));
    db.execute(
        "UPDATE partners SET api_key_hash = ?1, api_key_created_at = ?2 WHERE id = ?3",
        args![hash_api_key(&key), ts(now), partner_id],
    )?;
    Ok(key)
}

/// Revokes the partner's API key.
pub fn revoke_api_key(db: &dyn Db, partner_id: i64) -> Result<()> {
    get(db, partner_id)?;
    db.execute(
        "UPDATE partners SET api_key_hash = NULL WHERE id = ?1",
        args![partner_id],
    )?;
    Ok(())
}

/// The partner owning `key`, if any.
pub fn by_api_key(db: &dyn Db, key: &str) -> Result<Option<Partner>> {
    db.query_opt(
        &format!("SELECT {COLS} FROM partners WHERE api_key_hash = ?1"),
        args![hash_api_key(key)],
        from_row,
    )
}

/// Switches the automatic receipt of a partner on or off.
pub fn set_receipt(db: &dyn Db, id: i64, on: bool) -> Result<()> {
    if db.execute(
        "UPDATE partners SET receipt = ?2 WHERE id = ?1",
        args![id, i64::from(on)],
    )? == 0
    {
        return Err(Error::NotFound(format!(
            "partner {id} not found; `renkei partner list` shows the ids"
        )));
    }
    Ok(())
}

/// Whether the partner of consultation `consultation_id` wants the automatic receipt.
pub fn receipt_wanted(db: &dyn Db, consultation_id: i64) -> Result<bool> {
    Ok(db
        .query_opt(
            "SELECT p.receipt FROM consultations c JOIN partners p ON p.id = c.partner_id
             WHERE c.id = ?1",
            args![consultation_id],
            |r| r.get::<bool>(0),
        )?
        .unwrap_or(false))
}
