//! The `staff` table: profiles (name, role), PINs hashed with argon2, and lock-out after
//! repeated wrong PINs. Who-did-what in the audit log comes from the unlocked profile.

use crate::error::{Error, Result};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::sql::{Db, Row};
use super::ts;
use crate::args;

/// Wrong PINs in a row before a profile is locked.
pub const MAX_ATTEMPTS: i64 = 5;
/// How long a locked profile stays locked.
pub const LOCK_MINUTES: i64 = 5;

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clerk,
    Nurse,
    Doctor,
    Admin,
}

impl Role {
    pub const ALL: &'static [Role] = &[Role::Clerk, Role::Nurse, Role::Doctor, Role::Admin];
    /// Labels shown to staff (Japanese, English).
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            Role::Clerk => ("事務", "Clerk"),
            Role::Nurse => ("看護師", "Nurse"),
            Role::Doctor => ("医師", "Doctor"),
            Role::Admin => ("管理者", "Administrator"),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Nurse => "nurse",
            Role::Doctor => "doctor",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Result<Role> {
        match s {
            "clerk" => Ok(Role::Clerk),
            "nurse" => Ok(Role::Nurse),
            "doctor" => Ok(Role::Doctor),
            "admin" => Ok(Role::Admin),
            _ => Err(Error::invalid(
                "role",
                format!("unknown role '{s}' (clerk, nurse, doctor, admin)"),
            )),
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            Role::Clerk => "事務",
            Role::Nurse => "看護師",
            Role::Doctor => "医師",
            Role::Admin => "管理者",
        }
    }
    /// Settings, partner keys and deletion are for doctors and admins.
    pub fn may_administer(self) -> bool {
        matches!(self, Role::Doctor | Role::Admin)
    }
}

/// A staff profile (never carries the PIN hash out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub has_pin: bool,
}

/// Whether `pin` matches the argon2 PHC string `hash` (an unreadable hash matches nothing).
pub fn pin_matches(hash: &str, pin: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(pin.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// An argon2 verifier (PHC string, fresh salt) of `pin`.
pub fn pin_verifier(pin: &str) -> Result<String> {
    hash_pin(pin)
}

fn hash_pin(pin: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Integrity(format!("cannot hash the PIN: {e}")))
}

/// PINs are 4–12 ASCII digits.
pub fn check_pin_format(pin: &str) -> Result<()> {
    if pin.len() < 4 || pin.len() > 12 || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid("pin", "the PIN must be 4–12 digits"));
    }
    Ok(())
}

pub fn add(
    db: &dyn Db,
    name: &str,
    role: Role,
    pin: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let name = crate::model::clean_line(name);
    if name.is_empty() || name.chars().count() > 60 {
        return Err(Error::invalid(
            "name",
            "the staff name must be 1–60 characters",
        ));
    }
    if by_name(db, &name)?.is_some() {
        return Err(Error::Conflict(format!(
            "a staff profile named '{name}' already exists"
        )));
    }
    let hash = match pin {
        Some(p) => {
            check_pin_format(p)?;
            Some(hash_pin(p)?)
        }
        None => None,
    };
    db.insert_id(
        "INSERT INTO staff (name, role, pin_hash, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING id",
        args![name, role.as_str(), hash, ts(now)],
    )
}

pub fn set_pin(db: &dyn Db, id: i64, pin: &str) -> Result<()> {
    check_pin_format(pin)?;
    let n = db.execute(
        "UPDATE staff SET pin_hash = ?1, failed_attempts = 0, locked_until = NULL WHERE id = ?2",
        args![hash_pin(pin)?, id],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("staff {id} not found")));
    }
    Ok(())
}

fn row(r: &Row) -> Result<Staff> {
    Ok(Staff {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&r.get::<String>(2)?).unwrap_or(Role::Clerk),
        active: r.get(3)?,
        has_pin: r.get(4)?,
    })
}

/// One profile by id.
pub fn by_id(db: &dyn Db, id: i64) -> Result<Staff> {
    db.query_opt(
        "SELECT id, name, role, active, pin_hash IS NOT NULL FROM staff WHERE id = ?1",
        args![id],
        row,
    )?
    .ok_or_else(|| Error::NotFound(format!("staff profile {id} not found")))
}

/// Deactivates (the person left the clinic) or reactivates a profile. Profiles are never
/// deleted: the audit log and the history keep their name.
pub fn set_active(db: &dyn Db, id: i64, active: bool) -> Result<()> {
    let n = db.execute(
        "UPDATE staff SET active = ?1 WHERE id = ?2",
        args![active, id],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("staff profile {id} not found")));
    }
    Ok(())
}

pub fn set_role(db: &dyn Db, id: i64, role: Role) -> Result<()> {
    let n = db.execute(
        "UPDATE staff SET role = ?1 WHERE id = ?2",
        args![role.as_str(), id],
    )?;
    if n == 0 {
        return Err(Error::NotFound(format!("staff profile {id} not found")));
    }
    Ok(())
}

/// Active profiles with a PIN that may administer (doctor, admin) — the people who can sign in
/// and manage staff and settings — other than `except`.
pub fn other_administrators(db: &dyn Db, except: i64) -> Result<i64> {
    db.query_one(
        "SELECT COUNT(*) FROM staff WHERE active <> 0 AND pin_hash IS NOT NULL \
         AND role IN ('doctor', 'admin') AND id <> ?1",
        args![except],
        |r| r.get(0),
    )
}

pub fn by_name(db: &dyn Db, name: &str) -> Result<Option<Staff>> {
    db.query_opt(
        "SELECT id, name, role, active, pin_hash IS NOT NULL FROM staff WHERE name = ?1",
        args![name],
        row,
    )
}

/// Whether any active profile has a PIN: then the desktop app starts locked.
pub fn any_pin(db: &dyn Db) -> Result<bool> {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM staff WHERE active <> 0 AND pin_hash IS NOT NULL)",
        args![],
        |r| r.get(0),
    )
}

pub fn list(db: &dyn Db) -> Result<Vec<Staff>> {
    db.query_map(
        "SELECT id, name, role, active, pin_hash IS NOT NULL FROM staff ORDER BY id",
        args![],
        row,
    )
}

/// Checks a PIN. Wrong PINs count towards the lock-out; a locked profile refuses even the right
/// PIN until the lock expires. Returns the profile on success.
pub fn verify(db: &dyn Db, name: &str, pin: &str, now: DateTime<Utc>) -> Result<Staff> {
    type Found = (i64, Option<String>, i64, Option<DateTime<Utc>>, bool);
    let found: Option<Found> = db.query_opt(
        "SELECT id, pin_hash, failed_attempts, locked_until, active FROM staff WHERE name = ?1",
        args![name],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.opt_ts(3)?, r.get(4)?)),
    )?;
    let wrong = || Error::Unauthorized("the name or PIN is wrong; try again".into());
    let Some((id, hash, attempts, locked_until, active)) = found else {
        return Err(wrong());
    };
    if !active {
        return Err(Error::ProfileDisabled(format!(
            "the staff profile '{name}' is deactivated and cannot sign in; \
             ask an administrator to reactivate it"
        )));
    }
    if let Some(until) = locked_until {
        if until > now {
            let mins = (until - now).num_minutes() + 1;
            return Err(Error::LockedOut(format!(
                "too many wrong PINs: this profile is locked for {mins} more minute(s)"
            )));
        }
    }
    let Some(hash) = hash else {
        return Err(Error::Unauthorized(
            "no PIN set for this profile; ask an administrator".into(),
        ));
    };
    if pin_matches(&hash, pin) {
        db.execute(
            "UPDATE staff SET failed_attempts = 0, locked_until = NULL WHERE id = ?1",
            args![id],
        )?;
        return by_id(db, id);
    }
    let attempts = attempts + 1;
    if attempts >= MAX_ATTEMPTS {
        db.execute(
            "UPDATE staff SET failed_attempts = 0, locked_until = ?1 WHERE id = ?2",
            args![ts(now + Duration::minutes(LOCK_MINUTES)), id],
        )?;
        return Err(Error::LockedOut(format!(
            "too many wrong PINs: this profile is locked for {LOCK_MINUTES} minutes"
        )));
    }
    db.execute(
        "UPDATE staff SET failed_attempts = ?1 WHERE id = ?2",
        args![attempts, id],
    )?;
    Err(wrong())
}
