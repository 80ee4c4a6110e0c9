//! Replies sent back where the consultation came from (issue 20): the composer's reply and
//! 再送 of a failed one. One line each over `Desk::reply` / `Desk::outbox_resend`; the app's
//! intake server (when enabled) runs the sender.

use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::desk::ReplyOutcome;
use renkei_core::outbound::OutboxEntry;
use tauri::State;

/// Saves a reply and queues it for the partner's channel. `record_only` for channels with no
/// way back (phone, FAX, e-mail, MCS, manual): kept in the thread, nothing is sent.
/// `pii_confirmed`: the person saw the personal-data warning and sends it anyway (audited).
#[tauri::command]
pub fn consultation_reply(
    state: State<'_, DeskState>,
    id: i64,
    body: String,
    record_only: Option<bool>,
    pii_confirmed: Option<bool>,
) -> CmdResult<serde_json::Value> {
    let (record_only, confirmed) = (record_only.unwrap_or(false), pii_confirmed.unwrap_or(false));
    if state.hub_client().is_some() {
        return state.remote_change(|h| h.reply(id, &body, record_only, confirmed));
    }
    let out: ReplyOutcome =
        state.act(|d, by| Ok(d.reply_checked(id, &body, by, record_only, confirmed)?))?;
    serde_json::to_value(out).map_err(|e| crate::error::CommandError::new("io", e.to_string()))
}

/// 再送: a failed reply goes out again (a new attempt).
#[tauri::command]
pub fn outbox_resend(state: State<'_, DeskState>, entry_id: i64) -> CmdResult<OutboxEntry> {
    state.act(|d, by| Ok(d.outbox_resend(entry_id, by)?))
}
