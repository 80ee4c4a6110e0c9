//! Staff and the lock screen: who may sign in, sign-in, lock, activity pings, and staff
//! management (administrators only — checked in the core). Sign-in and the staff list work
//! while locked; everything else goes through [`DeskState::with`] and answers `locked`.

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
}

#[tauri::command]
pub fn lock_status(state: State<'_, DeskState>) -> CmdResult<LockStatus> {
    let (required, minutes) =
        state.internal(|d| Ok((d.lock_required()?, d.settings().lock_after_minutes)))?;
    Ok(LockStatus {
        locked: state.locked()?,
        required,
        staff: state.signed_in(),
        lock_after_minutes: minutes,
    })
}

/// Active profiles (names and roles only) for the lock screen.
#[tauri::command]
pub fn staff_list(state: State<'_, DeskState>) -> CmdResult<Vec<Staff>> {
    state.internal(|d| Ok(d.staff()?.into_iter().filter(|s| s.active).collect()))
}

#[tauri::command]
pub fn sign_in(state: State<'_, DeskState>, name: String, pin: String) -> CmdResult<Staff> {
    state.sign_in(&name, &pin)
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
    by: String,
) -> CmdResult<Staff> {
    let role = Role::parse(&role)?;
    let by = state.actor(&by);
    let pin = pin.filter(|p| !p.is_empty());
    state.change(|d| Ok(d.admin_add_staff(&name, role, pin.as_deref(), &by)?))
}

#[tauri::command]
pub fn staff_reset_pin(
    state: State<'_, DeskState>,
    id: i64,
    pin: String,
    by: String,
) -> CmdResult<()> {
    let by = state.actor(&by);
    state.change(|d| Ok(d.admin_reset_pin(id, &pin, &by)?))
}
