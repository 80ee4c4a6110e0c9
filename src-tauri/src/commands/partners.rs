//! The partner directory with response statistics, and the per-partner receipt switch.

use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::desk::PartnerStats;
use tauri::State;

#[tauri::command]
pub fn partners_list(state: State<'_, DeskState>) -> CmdResult<Vec<PartnerStats>> {
    state.with(|d| Ok(d.partner_stats()?))
}

/// Switches the automatic receipt (受付メッセージ) of a partner on or off (administrators).
#[tauri::command]
pub fn partner_set_receipt(state: State<'_, DeskState>, id: i64, on: bool) -> CmdResult<()> {
    state.act(|d, by| {
        d.authorize_admin(by)?;
        Ok(d.set_partner_receipt(id, on, by)?)
    })
}
