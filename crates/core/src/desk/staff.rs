//! Staff profiles and sign-in: adding profiles, PINs (argon2, lock-out), roles, deactivation,
//! and who may administer staff and settings (doctors and admins, once someone has a PIN).

use super::{actor, Desk};
use crate::error::{Error, Result};
use crate::store::sql::Db;
use crate::store::staff::{self, Role, Staff};

fn staff_target(id: i64) -> String {
    format!("staff:{id}")
}

impl Desk {
    /// Adds a staff profile (optionally with a PIN).
    pub fn add_staff(
        &mut self,
        name: &str,
        role: Role,
        pin: Option<&str>,
        by: &str,
    ) -> Result<Staff> {
        self.act(by, |c| {
            let id = staff::add(c.tx, name, role, pin, c.now)?;
            c.audit("staff.add", Some(&staff_target(id)), role.as_str())?;
            staff::list(c.tx)?
                .into_iter()
                .find(|s| s.id == id)
                .ok_or_else(|| Error::NotFound(format!("staff {id} not found")))
        })
    }

    /// Whether the desktop app must start locked: some active profile has a PIN. Until then
    /// (first run) the app asks "who am I" and anyone may manage staff and settings.
    pub fn lock_required(&self) -> Result<bool> {
        staff::any_pin(self.store.db())
    }

    /// Refuses unless `by` may administer (doctor, admin). While no profile has a PIN (first
    /// run) everyone may, so the first administrator can be created.
    pub fn authorize_admin(&self, by: &str) -> Result<()> {
        if !self.lock_required()? {
            return Ok(());
        }
        let by = crate::model::clean_line(by);
        match staff::by_name(self.store.db(), &by)? {
            Some(s) if s.active && s.role.may_administer() => Ok(()),
            Some(s) if s.active => Err(Error::Forbidden(format!(
                "{} ({}) may not change settings or staff; ask a doctor or an administrator",
                s.name,
                s.role.as_str()
            ))),
            _ => Err(Error::Forbidden(
                "sign in as a doctor or an administrator to change settings or staff".into(),
            )),
        }
    }

    /// Adds a staff profile from the settings screen (administrators only).
    pub fn admin_add_staff(
        &mut self,
        name: &str,
        role: Role,
        pin: Option<&str>,
        by: &str,
    ) -> Result<Staff> {
        self.authorize_admin(by)?;
        if pin.is_some() && !role.may_administer() && !self.lock_required()? {
            return Err(Error::invalid(
                "role",
                "the first staff profile with a PIN must be a doctor or an administrator, \
                 so that someone can manage staff and settings once the app locks",
            ));
        }
        self.add_staff(name, role, pin, by)
    }

    /// Sets a new PIN for a profile and lifts its lock-out (administrators only), audited.
    pub fn admin_reset_pin(&mut self, id: i64, pin: &str, by: &str) -> Result<()> {
        self.authorize_admin(by)?;
        self.act(by, |c| {
            staff::set_pin(c.tx, id, pin)?;
            c.audit("staff.pin_reset", Some(&staff_target(id)), "")
        })
    }

    /// Deactivates a profile (the person left the clinic) or reactivates it (administrators
    /// only), audited as `staff.deactivate` / `staff.reactivate`. Profiles are never deleted:
    /// history and the audit log keep the name. A deactivated profile cannot sign in and is not
    /// offered on the lock screen. Refused: deactivating the last administrator who can sign in
    /// ([`Error::LastAdmin`]) — also when that is the one acting. Already in that state: no-op.
    pub fn admin_set_staff_active(&mut self, id: i64, active: bool, by: &str) -> Result<Staff> {
        self.authorize_admin(by)?;
        self.act(by, |c| {
            let s = staff::by_id(c.tx, id)?;
            if s.active == active {
                return Ok(s);
            }
            if !active {
                ensure_other_administrator(c.tx, &s, "deactivate")?;
            }
            staff::set_active(c.tx, id, active)?;
            let action = if active {
                "staff.reactivate"
            } else {
                "staff.deactivate"
            };
            c.audit(action, Some(&staff_target(id)), &s.name)?;
            staff::by_id(c.tx, id)
        })
    }

    /// Changes a profile's role (administrators only), audited as `staff.role` with
    /// "name: old → new". Refused: taking the administrator role from the last administrator
    /// who can sign in ([`Error::LastAdmin`]).
    pub fn admin_set_staff_role(&mut self, id: i64, role: Role, by: &str) -> Result<Staff> {
        self.authorize_admin(by)?;
        self.act(by, |c| {
            let s = staff::by_id(c.tx, id)?;
            if s.role == role {
                return Ok(s);
            }
            if !role.may_administer() {
                ensure_other_administrator(c.tx, &s, "change the role of")?;
            }
            staff::set_role(c.tx, id, role)?;
            let detail = format!("{}: {} → {}", s.name, s.role.as_str(), role.as_str());
            c.audit("staff.role", Some(&staff_target(id)), &detail)?;
            staff::by_id(c.tx, id)
        })
    }

    /// The signed-in staff member changes their own PIN: the current PIN is checked like a
    /// sign-in (wrong ones count towards the lock-out), audited as `staff.pin_change` (or
    /// `staff.pin_change.failed`), never the PINs.
    pub fn change_own_pin(&mut self, name: &str, current: &str, new_pin: &str) -> Result<()> {
        let name = actor(name)?;
        staff::check_pin_format(new_pin)?;
        self.audited(name, |c| {
            let r = staff::verify(c.tx, c.by, current, c.now)
                .and_then(|s| staff::set_pin(c.tx, s.id, new_pin).map(|()| s));
            let (action, target) = match &r {
                Ok(s) => ("staff.pin_change", Some(staff_target(s.id))),
                Err(_) => ("staff.pin_change.failed", None),
            };
            c.audit(action, target.as_deref(), "")?;
            Ok(r.map(|_| ()))
        })?
    }

    /// Recovery for the operator who holds the store key (`renkei staff set-pin`): sets the
    /// PIN of the profile `name`, lifts its lock-out and reactivates it, without a signed-in
    /// administrator — whoever can run this can read the whole store anyway. For the day the
    /// last administrator forgets their PIN. Audited as `staff.pin_reset` (`operator`), never
    /// the PIN.
    pub fn operator_set_pin(&mut self, name: &str, pin: &str, by: &str) -> Result<Staff> {
        let by = actor(by)?;
        let name = crate::model::clean_line(name);
        staff::check_pin_format(pin)?;
        self.audited(by, |c| {
            let Some(s) = staff::by_name(c.tx, &name)? else {
                let known: Vec<String> = staff::list(c.tx)?.into_iter().map(|s| s.name).collect();
                return Err(Error::NotFound(format!(
                    "no staff profile named '{name}' (profiles: {}); add one with `renkei staff add`",
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                )));
            };
            staff::set_pin(c.tx, s.id, pin)?;
            if !s.active {
                staff::set_active(c.tx, s.id, true)?;
            }
            c.audit("staff.pin_reset", Some(&staff_target(s.id)), "operator")?;
            staff::by_id(c.tx, s.id)
        })
    }

    pub fn staff(&self) -> Result<Vec<Staff>> {
        staff::list(self.store.db())
    }

    /// Unlocks as `name` with `pin`; every attempt is audited (never the PIN).
    pub fn sign_in(&mut self, name: &str, pin: &str) -> Result<Staff> {
        let name = crate::model::clean_line(name);
        self.audited(name, |c| {
            let r = staff::verify(c.tx, c.by, pin, c.now);
            let action = if r.is_ok() { "login" } else { "login.failed" };
            c.audit(action, None, "")?;
            Ok(r)
        })?
    }
}

/// Refuses a change that would take `s` out of the administrators who can sign in (active,
/// with a PIN, doctor or admin) when nobody else is left: staff and settings could then never
/// be managed again.
fn ensure_other_administrator(tx: &dyn Db, s: &Staff, what: &str) -> Result<()> {
    let is_admin = s.active && s.role.may_administer() && s.has_pin;
    if is_admin && staff::other_administrators(tx, s.id)? == 0 {
        return Err(Error::LastAdmin(format!(
            "cannot {what} {}: they are the last active administrator (doctor or admin with a \
             PIN). Add or reactivate another administrator first, then try again",
            s.name
        )));
    }
    Ok(())
}
