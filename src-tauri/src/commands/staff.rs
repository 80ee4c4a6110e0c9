//! Staff and the lock screen: who may sign in, sign-in, lock, activity pings, and staff
//! management (administrators only — checked in the core: add, reset PIN, deactivate /
//! reactivate, change role; anyone signed in: change their own PIN). `lock_status`, the
//! lock screen's staff list and sign-in work while locked; everything else goes through
//! [`DeskState::with`] and answers `locked`.

use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::store::staff::{Role, Staff};
use serde::Serialize;
use tauri::State;

/// What the UI needs before it renders anything.
#[derive(Debug, Clone, Serialize)]
pub struct LockStatus {
    /// Nothing but the lock screen may be shown.
    pub locked: bool,
    /// Some profile has a PIN (otherwise the first-run "who am I" applies).
    pub required: bool,
    /// The signed-in staff member.
    pub staff: Option<Staff>,
    pub lock_after_minutes: u32,
    /// The clinic's UI language (`ja` / `en`, from the settings): the lock screen is shown in
    /// it before anything else is loaded.
    pub language: String,
}

impl LockStatus {
    /// Read while locked too: the lock screen needs it before anything else.
    fn of(state: &DeskState) -> CmdResult<Self> {
        let (required, minutes, language) = state.internal(|d| {
            let s = d.settings();
            Ok((
                state.pin_required(d)?,
                s.lock_after_minutes,
                s.language.clone(),
            ))
        })?;
        Ok(LockStatus {
            locked: state.locked()?,
            required,
            staff: state.signed_in(),
            lock_after_minutes: minutes,
            language,
        })
    }
}

#[tauri::command]
pub fn lock_status(state: State<'_, DeskState>) -> CmdResult<LockStatus> {
    LockStatus::of(&state)
}

/// Active profiles (names and roles only) for the lock screen: deactivated ones are left out.
#[tauri::command]
pub fn staff_list(state: State<'_, DeskState>) -> CmdResult<Vec<Staff>> {
    state.sign_in_list()
}

#[tauri::command]
pub fn sign_in(state: State<'_, DeskState>, name: String, pin: String) -> CmdResult<Staff> {
    state.sign_in(&name, &pin)
}

/// "Who is using this PC" on a PC without PINs: the name every change is recorded under until
/// the app closes or another name is given. Refused once any profile has a PIN.
#[tauri::command]
pub fn session_declare(state: State<'_, DeskState>, name: String) -> CmdResult<String> {
    state.declare(&name)
}

/// Locks now (🔒 / Ctrl+L); answers whether the app is locked.
#[tauri::command]
pub fn lock_now(state: State<'_, DeskState>) -> CmdResult<bool> {
    state.lock()
}

/// The user touched the window: restarts the idle timer.
#[tauri::command]
pub fn ui_activity(state: State<'_, DeskState>) {
    state.touch();
}

#[tauri::command]
pub fn staff_add(
    state: State<'_, DeskState>,
    name: String,
    role: String,
    pin: Option<String>,
) -> CmdResult<Staff> {
    if state.hub_client().is_some() {
        return Err(crate::commands::settings::hub_managed());
    }
    let role = Role::parse(&role)?;
    let pin = pin.filter(|p| !p.is_empty());
    state.act(|d, by| Ok(d.admin_add_staff(&name, role, pin.as_deref(), by)?))
}

#[tauri::command]
pub fn staff_reset_pin(state: State<'_, DeskState>, id: i64, pin: String) -> CmdResult<()> {
    if state.hub_client().is_some() {
        return Err(crate::commands::settings::hub_managed());
    }
    state.act(|d, by| Ok(d.admin_reset_pin(id, &pin, by)?))
}

/// Every profile, deactivated ones too, for the staff section of the settings.
#[tauri::command]
pub fn staff_all(state: State<'_, DeskState>) -> CmdResult<Vec<Staff>> {
    if state.hub_client().is_some() {
        // Connected: the clinic's staff are the hub's (its sign-in list: active profiles).
        return state.sign_in_list();
    }
    state.with(|d| Ok(d.staff()?))
}

/// Deactivates (`active: false`) or reactivates a profile. Deactivating yourself signs you out.
#[tauri::command]
pub fn staff_set_active(state: State<'_, DeskState>, id: i64, active: bool) -> CmdResult<Staff> {
    if state.hub_client().is_some() {
        return Err(crate::commands::settings::hub_managed());
    }
    let s = state.act(|d, by| Ok(d.admin_set_staff_active(id, active, by)?))?;
    state.refresh_session()?;
    Ok(s)
}

#[tauri::command]
pub fn staff_set_role(state: State<'_, DeskState>, id: i64, role: String) -> CmdResult<Staff> {
    if state.hub_client().is_some() {
        return Err(crate::commands::settings::hub_managed());
    }
    let role = Role::parse(&role)?;
    let s = state.act(|d, by| Ok(d.admin_set_staff_role(id, role, by)?))?;
    state.refresh_session()?;
    Ok(s)
}

/// The signed-in staff member changes their own PIN (the current one is checked).
#[tauri::command]
pub fn staff_change_pin(
    state: State<'_, DeskState>,
    current: String,
    pin: String,
) -> CmdResult<()> {
    state.act_quietly(|d, by| Ok(d.change_own_pin(by, &current, &pin)?))
}
