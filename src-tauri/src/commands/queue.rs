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
    rows(&state, &filter)
}

/// Counts for the status bar and the tray tooltip.
#[tauri::command]
pub fn queue_counts(state: State<'_, DeskState>) -> CmdResult<QueueCounts> {
    counts_of(&rows(&state, &QueueFilter::default())?)
}

/// The queue and the status-bar counts in one call: what every reload of the window needs.
/// When the filter narrows nothing (the usual view) the counts come from the same rows, so a
/// reload reads the queue once — on a PC connected to a hub, one request instead of two.
#[derive(serde::Serialize)]
pub struct QueueView {
    rows: Value,
    counts: QueueCounts,
}

#[tauri::command]
pub fn queue_view(state: State<'_, DeskState>, filter: QueueFilter) -> CmdResult<QueueView> {
    let shown = rows(&state, &filter)?;
    let counts = if filter.holds_every_open_item() {
        counts_of(&shown)?
    } else {
        counts_of(&rows(&state, &QueueFilter::default())?)?
    };
    Ok(QueueView {
        rows: shown,
        counts,
    })
}

fn rows(state: &DeskState, filter: &QueueFilter) -> CmdResult<Value> {
    if state.hub_client().is_some() {
        return crate::offline::queue(state, filter);
    }
    let rows = state.with(|d| Ok(d.queue(filter)?))?;
    serde_json::to_value(rows).map_err(|e| CommandError::new("io", e.to_string()))
}

/// The counts over queue rows as the commands answer them (marked offline rows included).
fn counts_of(rows: &Value) -> CmdResult<QueueCounts> {
    let rows: Vec<QueueRow> =
        serde_json::from_value(rows.clone()).map_err(|e| CommandError::new("io", e.to_string()))?;
    Ok(QueueCounts::of(&rows))
}
