//! The notification history ("why did I get this") and the audit trail.

use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::model::AuditEvent;
use renkei_core::store::audit::AuditFilter;
use renkei_core::store::notifications::LoggedNotification;
use tauri::State;

#[tauri::command]
pub fn notifications_list(
    state: State<'_, DeskState>,
    limit: Option<usize>,
) -> CmdResult<Vec<LoggedNotification>> {
    state.with(|d| Ok(d.notifications(limit.unwrap_or(200))?))
}

#[tauri::command]
pub fn audit_list(state: State<'_, DeskState>, filter: AuditFilter) -> CmdResult<Vec<AuditEvent>> {
    state.with(|d| Ok(d.audit(&filter)?))
}
