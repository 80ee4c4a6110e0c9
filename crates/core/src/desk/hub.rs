//! Connected desks (issue 19), the hub's side: enrolled devices, staff sessions on them, the
//! compare-and-set take, and the change sequence desks follow.
//!
//! The intake server's `/v1/desk/…` handlers call these and then the same `Desk` methods the
//! desktop app's commands call, with the name from the session — never one from the request.

use super::{target, Desk};
use crate::codes::Status;
use crate::error::{Error, Result};
use crate::model::QueueRow;
use crate::settings::{Settings, SETTINGS_KEY};
use crate::store;
use crate::store::changes::{self, ChangeEvent};
use crate::store::consultations;
use crate::store::desk_requests::{self, RequestKey};
use crate::store::devices::{self, Device};
use chrono::Duration;

/// What a keyed staff action did ([`Desk::keyed`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keyed<T> {
    /// Applied now.
    Done(T),
    /// Applied earlier under the same key (a replay): nothing was changed now.
    Replayed { consultation_id: i64 },
}

/// A session's `last_seen_at` is written at most this often (a write per request would make
/// every read a write).
const TOUCH_EVERY_SECONDS: i64 = 10;

/// Why a session token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionProblem {
    /// Unknown token, signed out, or opened on another device.
    Unknown,
    /// Idle longer than the clinic's lock minutes (`settings.lock_after_minutes`).
    Expired,
    /// The staff profile was deactivated since.
    Disabled,
}

/// A valid staff session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeskSession {
    pub id: i64,
    pub device_id: i64,
    pub staff_id: i64,
    /// The name every change of this session is attributed to.
    pub staff_name: String,
}

impl Desk {
    /// Runs the staff action `f` under the desk's `Idempotency-Key` (issue 19, the offline
    /// outbox): the key is recorded in the action's own transaction, so the action and its key
    /// commit together. The same key again with the same request → [`Keyed::Replayed`], nothing
    /// applied twice; with another request (or by someone else) → `conflict`, nothing changed.
    /// `f` must make one audited write (every staff action does).
    pub fn keyed<T>(
        &mut self,
        key: RequestKey,
        f: impl FnOnce(&mut Desk) -> Result<T>,
    ) -> Result<Keyed<T>> {
        let earlier = |d: &mut Desk| -> Result<Option<Keyed<T>>> {
            match d.store.read(|db| desk_requests::find(db, &key.key))? {
                None => Ok(None),
                Some(e) if e.request_hash == key.request_hash && e.staff == key.staff => {
                    Ok(Some(Keyed::Replayed {
                        consultation_id: e.consultation_id,
                    }))
                }
                Some(_) => Err(Error::Conflict(format!(
                    "Idempotency-Key '{}' was already used for a different request; send a new key for a new action",
                    key.key
                ))),
            }
        };
        if let Some(k) = earlier(self)? {
            return Ok(k);
        }
        self.request = Some(key.clone());
        let r = f(self);
        // Not consumed: `f` failed before it wrote (nothing to record).
        self.request = None;
        match r {
            Ok(v) => Ok(Keyed::Done(v)),
            // A twin request committed first (its key row made ours fail): answer as a replay.
            Err(e) => match earlier(self) {
                Ok(Some(k)) => Ok(k),
                _ => Err(e),
            },
        }
    }

    /// `renkei device add`: a device waiting for enrolment and its one-time code (shown once,
    /// stored hashed, valid 24 h). Audited as `device.add`.
    pub fn add_device(&mut self, name: &str, by: &str) -> Result<(Device, String)> {
        let name = device_name(name)?;
        self.act(by, |c| {
            let (id, code) = devices::add(c.tx, &name, c.now)?;
            c.audit("device.add", Some(&device_target(id)), &name)?;
            Ok((devices::get(c.tx, id, c.now)?, code))
        })
    }

    pub fn devices(&mut self) -> Result<Vec<Device>> {
        let now = self.now();
        self.store.read(|db| devices::list(db, now))
    }

    /// `renkei device revoke`: the device's token stops working at its next request, its
    /// sessions end. Audited as `device.revoke`.
    pub fn revoke_device(&mut self, id: i64, by: &str) -> Result<Device> {
        self.act(by, |c| {
            let d = devices::revoke(c.tx, id, c.now)?;
            c.audit("device.revoke", Some(&device_target(id)), &d.name)?;
            Ok(d)
        })
    }

    /// `POST /v1/desk/enroll`: trades a one-time code for the device token (returned once).
    /// A wrong code changes nothing. Audited as `device.enroll`.
    pub fn enroll_device(&mut self, code: &str, name: Option<&str>) -> Result<(Device, String)> {
        let name = name.map(device_name).transpose()?.filter(|n| !n.is_empty());
        self.audited("device".into(), |c| {
            let (d, token) = devices::enroll(c.tx, code, name.as_deref(), c.now)?;
            c.audit("device.enroll", Some(&device_target(d.id)), &d.name)?;
            Ok((d, token))
        })
    }

    /// The device behind a token, revoked ones included (the caller answers "revoked").
    pub fn device_by_token(&mut self, token: &str) -> Result<Option<Device>> {
        let now = self.now();
        self.store.read(|db| devices::by_token(db, token, now))
    }

    /// Signs `name` in with `pin` on `device_id` ([`Desk::sign_in`]: PIN rules, lock-out,
    /// audited `login`/`login.failed`) and opens a session; returns its token (shown once).
    pub fn open_desk_session(
        &mut self,
        device_id: i64,
        name: &str,
        pin: &str,
    ) -> Result<(DeskSession, String)> {
        let s = self.sign_in(name, pin)?;
        self.audited(s.name.clone(), |c| {
            let (id, token) = devices::open_session(c.tx, device_id, s.id, c.now)?;
            c.audit("session.open", Some(&device_target(device_id)), "")?;
            let session = DeskSession {
                id,
                device_id,
                staff_id: s.id,
                staff_name: s.name.clone(),
            };
            Ok((session, token))
        })
    }

    /// The session behind `token` on `device_id`, or why not. An idle session (longer than the
    /// clinic's lock minutes, by the injected clock) is ended and answers `Expired`.
    pub fn desk_session(
        &mut self,
        device_id: i64,
        token: &str,
    ) -> Result<std::result::Result<DeskSession, SessionProblem>> {
        let now = self.now();
        let (row, lock_minutes) = self.store.read(|db| {
            let lock = store::settings::get::<Settings>(db, SETTINGS_KEY)?
                .unwrap_or_default()
                .lock_after_minutes;
            Ok((devices::session_by_token(db, token)?, lock))
        })?;
        let Some(row) = row.filter(|r| r.ended_at.is_none() && r.device_id == device_id) else {
            return Ok(Err(SessionProblem::Unknown));
        };
        let idle =
            lock_minutes > 0 && now - row.last_seen_at > Duration::minutes(lock_minutes.into());
        if idle || !row.staff_active {
            self.store
                .write(|tx| devices::end_session(tx, row.id, now))?;
            return Ok(Err(if idle {
                SessionProblem::Expired
            } else {
                SessionProblem::Disabled
            }));
        }
        if now - row.last_seen_at >= Duration::seconds(TOUCH_EVERY_SECONDS) {
            self.store
                .write(|tx| devices::touch_session(tx, row.id, now))?;
        }
        Ok(Ok(DeskSession {
            id: row.id,
            device_id: row.device_id,
            staff_id: row.staff_id,
            staff_name: row.staff_name,
        }))
    }

    /// Whether a session still holds, without counting as activity — what an open event stream
    /// re-checks now and then: the device enrolled and not revoked, the session open and of
    /// this device, its staff active, not idle longer than the lock minutes.
    pub fn desk_session_holds(&mut self, device_token: &str, session_token: &str) -> Result<bool> {
        let now = self.now();
        self.store.read(|db| {
            let Some(device) = devices::by_token(db, device_token, now)? else {
                return Ok(false);
            };
            let Some(s) = devices::session_by_token(db, session_token)? else {
                return Ok(false);
            };
            let lock = store::settings::get::<Settings>(db, SETTINGS_KEY)?
                .unwrap_or_default()
                .lock_after_minutes;
            let idle = lock > 0 && now - s.last_seen_at > Duration::minutes(lock.into());
            Ok(device.state == "enrolled"
                && s.ended_at.is_none()
                && s.device_id == device.id
                && s.staff_active
                && !idle)
        })
    }

    /// Signs a session out (`DELETE /v1/desk/sessions/current`), audited as `session.close`.
    pub fn close_desk_session(&mut self, session: &DeskSession) -> Result<()> {
        self.audited(session.staff_name.clone(), |c| {
            devices::end_session(c.tx, session.id, c.now)?;
            c.audit("session.close", Some(&device_target(session.device_id)), "")
        })
    }

    /// Takes responsibility with compare-and-set: `seen_version` is the row's `version` the
    /// taker saw. When someone else owns it now and the row changed since (`version` differs),
    /// they took it meanwhile → [`Error::Taken`] with their name, nothing changed. When the
    /// taker saw the current owner (same version) it is a deliberate take-over; an owner of
    /// nobody or the taker themself always passes. Otherwise as [`Desk::ack`] (status new →
    /// acknowledged, owner = `by`), audited `consultation.ack`.
    pub fn take(&mut self, id: i64, seen_version: i64, by: &str) -> Result<QueueRow> {
        self.act(by, |c| {
            let row = consultations::get_row(c.tx, id, c.now)?;
            if let Some(owner) = row.owner.as_deref() {
                if owner != c.by && row.version != seen_version {
                    return Err(Error::Taken {
                        owner: owner.to_string(),
                    });
                }
            }
            if !row.status.is_open() {
                return Err(Error::InvalidTransition {
                    from: row.status.as_str().into(),
                    to: Status::Acknowledged.as_str().into(),
                    hint: "it is already closed; reopen it with status in_progress first".into(),
                });
            }
            if row.status == Status::New {
                consultations::change_status(c.tx, id, Status::Acknowledged, c.by, c.now)?;
            }
            consultations::set_owner(c.tx, id, Some(c.by), c.now)?;
            consultations::touch(c.tx, id, false, true, c.now)?;
            c.audit("consultation.ack", Some(&target(id)), "")?;
            consultations::get_row(c.tx, id, c.now)
        })
    }

    /// The newest id of the change sequence.
    pub fn change_seq(&mut self) -> Result<i64> {
        self.store.read(changes::last_seq)
    }

    /// Consultation events after `after` (at most `limit` sequence numbers read) and the last
    /// sequence number read.
    pub fn changes_after(&mut self, after: i64, limit: i64) -> Result<(Vec<ChangeEvent>, i64)> {
        self.store.read(|db| changes::after(db, after, limit))
    }
}

fn device_target(id: i64) -> String {
    format!("device:{id}")
}

fn device_name(name: &str) -> Result<String> {
    let name = crate::model::clean_line(name);
    if name.is_empty() || name.chars().count() > 60 {
        return Err(Error::invalid(
            "name",
            "give the PC a name of 1–60 characters, e.g. 受付PC",
        ));
    }
    Ok(name)
}
