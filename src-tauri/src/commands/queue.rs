//! The triage queue and the status-bar counts.

use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::model::QueueRow;
use renkei_core::store::consultations::QueueFilter;
use tauri::State;

pub use renkei_core::model::QueueCounts;

/// The queue in triage order (core's order; the UI does not re-sort).
#[tauri::command]
pub fn queue_list(state: State<'_, DeskState>, filter: QueueFilter) -> CmdResult<Vec<QueueRow>> {
    if state.hub_client().is_some() {
        let (seq, rows) = state.remote(|h| h.queue(&filter))?;
        let now = state
            .internal(|d| Ok(d.now()))
            .unwrap_or_else(|_| chrono::Utc::now());
        state.hub().synced(seq, now);
        return Ok(rows);
    }
    state.with(|d| Ok(d.queue(&filter)?))
}

/// Counts for the status bar and the tray tooltip.
#[tauri::command]
pub fn queue_counts(state: State<'_, DeskState>) -> CmdResult<QueueCounts> {
    if state.hub_client().is_some() {
        let rows = state.remote(|h| h.queue(&QueueFilter::default()))?.1;
        return Ok(QueueCounts::of(&rows));
    }
    state.with(|d| Ok(QueueCounts::of(&d.queue(&QueueFilter::default())?)))
}
