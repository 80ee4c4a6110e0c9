//! The triage queue and the status-bar counts.

use crate::error::{CmdResult, CommandError};
use crate::state::DeskState;
use renkei_core::model::QueueRow;
use renkei_core::store::consultations::QueueFilter;
use serde_json::Value;
use tauri::State;

pub use renkei_core::model::QueueCounts;

/// The queue in triage order (core's order; the UI does not re-sort).
/// Connected: the hub's queue, or the kept one while the hub is unreachable, with this PC's
/// offline actions marked (`crate::offline`).
#[tauri::command]
pub fn queue_list(state: State<'_, DeskState>, filter: QueueFilter) -> CmdResult<Value> {
    if state.hub_client().is_some() {
        return crate::offline::queue(&state, &filter);
    }
    let rows = state.with(|d| Ok(d.queue(&filter)?))?;
    serde_json::to_value(rows).map_err(|e| CommandError::new("io", e.to_string()))
}

/// Counts for the status bar and the tray tooltip.
#[tauri::command]
pub fn queue_counts(state: State<'_, DeskState>) -> CmdResult<QueueCounts> {
    if state.hub_client().is_some() {
        let rows = crate::offline::queue(&state, &QueueFilter::default())?;
        let rows: Vec<QueueRow> =
            serde_json::from_value(rows).map_err(|e| CommandError::new("io", e.to_string()))?;
        return Ok(QueueCounts::of(&rows));
    }
    state.with(|d| Ok(QueueCounts::of(&d.queue(&QueueFilter::default())?)))
}
