//! The shift handover (申し送り) and the operations report (docs/report.md).

use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::report::{Handover, Report};
use tauri::State;

#[tauri::command]
pub fn handover_get(state: State<'_, DeskState>) -> CmdResult<Handover> {
    state.with(|d| Ok(d.handover()?))
}

/// `from`/`to`: YYYY-MM-DD (JST), both absent = the last full week Mon–Sun.
#[tauri::command]
pub fn report_get(
    state: State<'_, DeskState>,
    from: Option<String>,
    to: Option<String>,
) -> CmdResult<Report> {
    state.with(|d| Ok(d.report_for(from.as_deref(), to.as_deref())?))
}
