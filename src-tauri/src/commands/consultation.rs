//! One consultation: detail, status, owner, urgency, category, snooze, thread messages, the
//! phone-call form and the personal-data check of a draft.

use super::code;
use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::model::{
    ConsultationDetail, IntakeOutcome, Message, MessageKind, NewConsultation, PartnerRef, QueueRow,
    Sender,
};
use renkei_core::pii::{self, PiiFlag};
use renkei_core::{Category, Channel, PartnerKind, Status, Urgency};
use serde::Deserialize;
use tauri::State;

/// Opens a consultation. With `by`, records that person as having read it (opening it);
/// without, just reloads what is shown (a refresh after a change elsewhere).
#[tauri::command]
pub fn consultation_show(
    state: State<'_, DeskState>,
    id: i64,
    by: Option<String>,
) -> CmdResult<ConsultationDetail> {
    match by {
        Some(by) => state.change(|d| Ok(d.show(id, Some(&by))?)),
        None => state.with(|d| Ok(d.show(id, None)?)),
    }
}

/// Takes responsibility (確認・担当).
#[tauri::command]
pub fn consultation_ack(state: State<'_, DeskState>, id: i64, by: String) -> CmdResult<QueueRow> {
    state.change(|d| Ok(d.ack(id, &by)?))
}

#[tauri::command]
pub fn consultation_set_status(
    state: State<'_, DeskState>,
    id: i64,
    status: String,
    by: String,
) -> CmdResult<QueueRow> {
    let to: Status = code("status", &status)?;
    state.change(|d| Ok(d.set_status(id, to, &by)?))
}

/// Assigns an owner; `None` or an empty name clears it.
#[tauri::command]
pub fn consultation_assign(
    state: State<'_, DeskState>,
    id: i64,
    owner: Option<String>,
    by: String,
) -> CmdResult<QueueRow> {
    let owner = owner.filter(|o| !o.trim().is_empty());
    state.change(|d| Ok(d.assign(id, owner.as_deref(), &by)?))
}

#[tauri::command]
pub fn consultation_set_urgency(
    state: State<'_, DeskState>,
    id: i64,
    urgency: String,
    by: String,
) -> CmdResult<QueueRow> {
    let u: Urgency = code("urgency", &urgency)?;
    state.change(|d| Ok(d.set_urgency(id, u, &by)?))
}

#[tauri::command]
pub fn consultation_set_category(
    state: State<'_, DeskState>,
    id: i64,
    category: String,
    by: String,
) -> CmdResult<QueueRow> {
    let c: Category = code("category", &category)?;
    state.change(|d| Ok(d.set_category(id, c, &by)?))
}

/// Snoozes until `minutes` from now (`None` wakes it up).
#[tauri::command]
pub fn consultation_snooze(
    state: State<'_, DeskState>,
    id: i64,
    minutes: Option<i64>,
    by: String,
) -> CmdResult<QueueRow> {
    state.change(|d| {
        let until = minutes.map(|m| d.now() + chrono::Duration::minutes(m));
        Ok(d.snooze(id, until, &by)?)
    })
}

/// Adds a reply (`reply`), internal note (`note`) or phone log (`phone`).
#[tauri::command]
pub fn consultation_add_message(
    state: State<'_, DeskState>,
    id: i64,
    kind: String,
    body: String,
    by: String,
) -> CmdResult<Message> {
    let kind = MessageKind::parse(&kind)?;
    state.change(|d| Ok(d.add_message(id, kind, &body, &by)?))
}

/// Personal-data findings in a draft (shown before saving).
#[tauri::command]
pub fn pii_scan(text: String) -> Vec<PiiFlag> {
    pii::scan(&text)
}

/// The phone-call form as the UI sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct PhoneCall {
    pub partner: String,
    pub partner_kind: Option<String>,
    pub caller: String,
    pub category: String,
    pub urgency: Option<String>,
    pub summary: String,
    pub notes: String,
}

/// Logs a phone call as a new consultation (channel `phone`).
#[tauri::command]
pub fn phone_intake(
    state: State<'_, DeskState>,
    call: PhoneCall,
    by: String,
) -> CmdResult<IntakeOutcome> {
    let n = phone_consultation(call, &by)?;
    state.change(|d| Ok(d.intake(n)?))
}

fn phone_consultation(call: PhoneCall, by: &str) -> CmdResult<NewConsultation> {
    let kind: PartnerKind = match call.partner_kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => code("partner_kind", k)?,
        None => PartnerKind::Other,
    };
    let partner = match call.partner.trim() {
        "" => PartnerRef::Unknown,
        name => PartnerRef::Named {
            name: name.to_string(),
            kind,
        },
    };
    let category: Category = code("category", &call.category)?;
    let mut n = NewConsultation::new(
        Channel::Phone,
        partner,
        category,
        &call.summary,
        &call.notes,
    );
    n.urgency = match call.urgency.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => Some(code("urgency", u)?),
        None => None,
    };
    n.sender = Sender {
        name: call.caller.trim().to_string(),
        role: None,
        phone: None,
    };
    n.entered_by = Some(by.to_string());
    Ok(n)
}
