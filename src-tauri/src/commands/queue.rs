//! The triage queue and the status-bar counts.

use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::model::QueueRow;
use renkei_core::store::consultations::QueueFilter;
use serde::Serialize;
use tauri::State;

/// The queue in triage order (core's order; the UI does not re-sort).
#[tauri::command]
pub fn queue_list(state: State<'_, DeskState>, filter: QueueFilter) -> CmdResult<Vec<QueueRow>> {
    state.with(|d| Ok(d.queue(&filter)?))
}

/// Counts for the status bar and the tray tooltip.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueCounts {
    /// Open items nobody has acknowledged yet (status `new`).
    pub unconfirmed: usize,
    pub urgent: usize,
    pub overdue: usize,
    pub open: usize,
}

impl QueueCounts {
    pub fn of(rows: &[QueueRow]) -> Self {
        use renkei_core::{Status, Urgency};
        QueueCounts {
            unconfirmed: rows.iter().filter(|r| r.status == Status::New).count(),
            urgent: rows.iter().filter(|r| r.urgency == Urgency::Urgent).count(),
            overdue: rows.iter().filter(|r| r.overdue).count(),
            open: rows.len(),
        }
    }
}

#[tauri::command]
pub fn queue_counts(state: State<'_, DeskState>) -> CmdResult<QueueCounts> {
    state.with(|d| Ok(QueueCounts::of(&d.queue(&QueueFilter::default())?)))
}
