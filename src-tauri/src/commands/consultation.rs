//! One consultation: detail, status, owner, urgency, category, snooze, thread messages, the
//! phone-call form and the personal-data check of a draft. On a PC connected to a hub, the
//! detail and every change go to the hub ([`DeskState::hub_client`], the one switch); the
//! detail, take, status and note also work offline (`crate::offline`).

use super::Code;
use crate::error::CmdResult;
use crate::state::DeskState;
use renkei_core::model::{ConsultationDetail, MessageKind, QueueRow};
use renkei_core::phone::PhoneCall;
use renkei_core::pii::{self, PiiFlag};
use renkei_core::{Category, Status, Urgency};
use serde_json::{json, Value};
use tauri::State;

/// Opens a consultation. With `read`, records whoever uses the app as having read it
/// (opening it); without, just reloads what is shown (a refresh after a change elsewhere).
/// Connected: the hub's detail (plus `presence` — 「大野さんが閲覧中」), and opening says
/// 「閲覧中」 to the other PCs.
#[tauri::command]
pub fn consultation_show(
    state: State<'_, DeskState>,
    id: i64,
    read: Option<bool>,
) -> CmdResult<serde_json::Value> {
    let read = read.unwrap_or(false);
    if state.hub_client().is_some() {
        if read {
            state.hub().set_open(Some(id));
        }
        return crate::offline::show(&state, id, read);
    }
    let detail: ConsultationDetail = match (read, state.actor()) {
        (true, Ok(who)) => state.change(|d| Ok(d.show(id, Some(&who))?))?,
        _ => state.with(|d| Ok(d.show(id, None)?))?,
    };
    serde_json::to_value(detail).map_err(|e| crate::error::CommandError::new("io", e.to_string()))
}

/// Takes responsibility (確認・担当). Connected: compare-and-set on the `version` the page
/// showed — someone else took it meanwhile → `taken` with their name (「大野さんが対応中です」).
#[tauri::command]
pub fn consultation_ack(
    state: State<'_, DeskState>,
    id: i64,
    version: Option<i64>,
) -> CmdResult<Value> {
    if state.hub_client().is_some() {
        let seen = version.or_else(|| crate::offline::kept_version(&state, id));
        return crate::offline::act(&state, id, "take", json!({ "version": seen }), |h| {
            let v = match seen {
                Some(v) => v,
                None => h.show(id, false)?["version"].as_i64().unwrap_or_default(),
            };
            value(h.take(id, v)?)
        });
    }
    local(state.act(|d, by| Ok(d.ack(id, by)?)))
}

/// A hub answer as JSON (the commands that may answer offline answer JSON).
fn value<T: serde::Serialize>(x: T) -> renkei_hubclient::Result<Value> {
    serde_json::to_value(x).map_err(|e| renkei_hubclient::HubError::Protocol(e.to_string()))
}

/// A local answer as JSON.
fn local<T: serde::Serialize>(r: CmdResult<T>) -> CmdResult<Value> {
    serde_json::to_value(r?).map_err(|e| crate::error::CommandError::new("io", e.to_string()))
}

#[tauri::command]
pub fn consultation_set_status(
    state: State<'_, DeskState>,
    id: i64,
    status: Code<Status>,
) -> CmdResult<Value> {
    let status = status.get()?;
    if state.hub_client().is_some() {
        let body = json!({ "status": status.as_str() });
        return crate::offline::act(&state, id, "status", body, |h| {
            value(h.set_status(id, status)?)
        });
    }
    local(state.act(|d, by| Ok(d.set_status(id, status, by)?)))
}

/// Assigns an owner; `None` or an empty name clears it.
#[tauri::command]
pub fn consultation_assign(
    state: State<'_, DeskState>,
    id: i64,
    owner: Option<String>,
) -> CmdResult<QueueRow> {
    let owner = owner.filter(|o| !o.trim().is_empty());
    if state.hub_client().is_some() {
        return state.remote_change(|h| h.assign(id, owner.as_deref()));
    }
    state.act(|d, by| Ok(d.assign(id, owner.as_deref(), by)?))
}

#[tauri::command]
pub fn consultation_set_urgency(
    state: State<'_, DeskState>,
    id: i64,
    urgency: Code<Urgency>,
) -> CmdResult<QueueRow> {
    let urgency = urgency.get()?;
    if state.hub_client().is_some() {
        return state.remote_change(|h| h.set_urgency(id, urgency));
    }
    state.act(|d, by| Ok(d.set_urgency(id, urgency, by)?))
}

#[tauri::command]
pub fn consultation_set_category(
    state: State<'_, DeskState>,
    id: i64,
    category: Code<Category>,
) -> CmdResult<QueueRow> {
    let category = category.get()?;
    if state.hub_client().is_some() {
        return state.remote_change(|h| h.set_category(id, category));
    }
    state.act(|d, by| Ok(d.set_category(id, category, by)?))
}

/// Snoozes until `minutes` from now (`None` wakes it up).
#[tauri::command]
pub fn consultation_snooze(
    state: State<'_, DeskState>,
    id: i64,
    minutes: Option<i64>,
) -> CmdResult<QueueRow> {
    if state.hub_client().is_some() {
        return state.remote_change(|h| h.snooze(id, minutes));
    }
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
) -> CmdResult<Value> {
    let kind = MessageKind::parse(&kind)?;
    if state.hub_client().is_some() {
        if kind == MessageKind::Note {
            let note = json!({ "body": body });
            return crate::offline::act(&state, id, "note", note, |h| {
                value(h.add_message(id, kind.as_str(), &body)?)
            });
        }
        return local(state.remote_change(|h| h.add_message(id, kind.as_str(), &body)));
    }
    local(state.act(|d, by| Ok(d.add_message(id, kind, &body, by)?)))
}

/// Personal-data findings in a draft (shown before saving).
#[tauri::command]
pub fn pii_scan(text: String) -> Vec<PiiFlag> {
    pii::scan(&text)
}

/// Logs a phone call as a new consultation (channel `phone`; the form is checked in the core).
#[tauri::command]
pub fn phone_intake(state: State<'_, DeskState>, call: PhoneCall) -> CmdResult<Value> {
    if state.hub_client().is_some() {
        let body = serde_json::to_value(&call)
            .map_err(|e| crate::error::CommandError::new("io", e.to_string()))?;
        return state.remote_change(|h| h.phone(&body));
    }
    local(state.act(|d, by| Ok(d.intake(call.into_consultation(by)?)?)))
}
