//! The partner directory with response statistics.

use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::desk::PartnerStats;
use tauri::State;

#[tauri::command]
pub fn partners_list(state: State<'_, DeskState>) -> CmdResult<Vec<PartnerStats>> {
    state.with(|d| Ok(d.partner_stats()?))
}
