//! One consultation: detail, status, owner, urgency, category, snooze, thread messages, the
//! phone-call form and the personal-data check of a draft.

use super::Code;
use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::model::{ConsultationDetail, IntakeOutcome, Message, MessageKind, QueueRow};
use renkei_core::phone::PhoneCall;
use renkei_core::pii::{self, PiiFlag};
use renkei_core::{Category, Status, Urgency};
use tauri::State;

/// Opens a consultation. With `read`, records whoever uses the app as having read it
/// (opening it); without, just reloads what is shown (a refresh after a change elsewhere).
#[tauri::command]
pub fn consultation_show(
    state: State<'_, DeskState>,
    id: i64,
    read: Option<bool>,
) -> CmdResult<ConsultationDetail> {
    match (read.unwrap_or(false), state.actor()) {
        (true, Ok(who)) => state.change(|d| Ok(d.show(id, Some(&who))?)),
        _ => state.with(|d| Ok(d.show(id, None)?)),
    }
}

/// Takes responsibility (確認・担当).
#[tauri::command]
pub fn consultation_ack(state: State<'_, DeskState>, id: i64) -> CmdResult<QueueRow> {
    state.act(|d, by| Ok(d.ack(id, by)?))
}

#[tauri::command]
pub fn consultation_set_status(
    state: State<'_, DeskState>,
    id: i64,
    status: Code<Status>,
) -> CmdResult<QueueRow> {
    state.act(|d, by| Ok(d.set_status(id, status.get()?, by)?))
}

/// Assigns an owner; `None` or an empty name clears it.
#[tauri::command]
pub fn consultation_assign(
    state: State<'_, DeskState>,
    id: i64,
    owner: Option<String>,
) -> CmdResult<QueueRow> {
    let owner = owner.filter(|o| !o.trim().is_empty());
    state.act(|d, by| Ok(d.assign(id, owner.as_deref(), by)?))
}

#[tauri::command]
pub fn consultation_set_urgency(
    state: State<'_, DeskState>,
    id: i64,
    urgency: Code<Urgency>,
) -> CmdResult<QueueRow> {
    state.act(|d, by| Ok(d.set_urgency(id, urgency.get()?, by)?))
}

#[tauri::command]
pub fn consultation_set_category(
    state: State<'_, DeskState>,
    id: i64,
    category: Code<Category>,
) -> CmdResult<QueueRow> {
    state.act(|d, by| Ok(d.set_category(id, category.get()?, by)?))
}

/// Snoozes until `minutes` from now (`None` wakes it up).
#[tauri::command]
pub fn consultation_snooze(
    state: State<'_, DeskState>,
    id: i64,
    minutes: Option<i64>,
) -> CmdResult<QueueRow> {
    state.act(|d, by| {
        let until = minutes.map(|m| d.now() + chrono::Duration::minutes(m));
        Ok(d.snooze(id, until, by)?)
    })
}

/// Adds a reply (`reply`), internal note (`note`) or phone log (`phone`).
#[tauri::command]
pub fn consultation_add_message(
    state: State<'_, DeskState>,
    id: i64,
    kind: String,
    body: String,
) -> CmdResult<Message> {
    let kind = MessageKind::parse(&kind)?;
    state.act(|d, by| Ok(d.add_message(id, kind, &body, by)?))
}

/// Personal-data findings in a draft (shown before saving).
#[tauri::command]
pub fn pii_scan(text: String) -> Vec<PiiFlag> {
    pii::scan(&text)
}

/// Logs a phone call as a new consultation (channel `phone`; the form is checked in the core).
#[tauri::command]
pub fn phone_intake(state: State<'_, DeskState>, call: PhoneCall) -> CmdResult<IntakeOutcome> {
    state.act(|d, by| Ok(d.intake(call.into_consultation(by)?)?))
}
