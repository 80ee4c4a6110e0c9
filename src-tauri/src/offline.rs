//! The offline desk (issue 19): a PC connected to a hub keeps working when the hub is
//! unreachable.
//!
//! * **Kept copies**: every queue and thread read from the hub is kept in this PC's encrypted
//!   store (`Desk::hub_cache_put`); when the hub does not answer, the commands answer from them
//!   (under the banner 「オフライン — 最終同期 10:42」), also after a restart while offline.
//! * **Outbox**: a take, a status change or a note made while the hub does not answer is kept in
//!   the outbox (`Desk::hub_outbox_add`, each with its own `Idempotency-Key`) and shown at once,
//!   marked 「未送信」. The sender thread ([`start`]) sends them in order as soon as the hub
//!   answers, in the hub session of the person who made them (someone else's entries wait for
//!   that person to sign in). The hub records each key with the action, so a replay after a
//!   lost answer or a crash is applied once.
//! * **Conflicts**: an entry the hub refuses (someone took the item meanwhile, it was closed) is
//!   kept as a conflict with the hub's words and shown on the row and in the thread until a
//!   person closes it — never dropped silently.
//!
//! Rows and threads carry what this PC adds as `offline` (`pending` / `conflict`) and
//! `offline_problem`; the thread lists this PC's open entries as `offline_actions`.

use crate::error::{CmdResult, CommandError};
use crate::events::QUEUE_CHANGED;
use crate::state::DeskState;
use renkei_core::store::consultations::QueueFilter;
use renkei_core::store::hub_local::{thread_key, OutboxItem};
use serde_json::{json, Value};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};

/// The UI is told when the outbox changed (sent, refused, closed).
pub const OUTBOX_CHANGED: &str = "hub-outbox";
/// How often the sender looks for entries to send (the hub may come back at any moment).
const SEND_EVERY: Duration = Duration::from_millis(1500);

/// The hub did not answer (the network, or the hub is down): the command works offline.
pub fn is_offline(e: &CommandError) -> bool {
    e.code == "hub_unreachable"
}

fn io(e: serde_json::Error) -> CommandError {
    CommandError::new("io", e.to_string())
}

fn queue_key(filter: &QueueFilter) -> String {
    format!(
        "queue:{}",
        serde_json::to_string(filter).unwrap_or_default()
    )
}

/// Keeps a hub answer; a failure only costs the offline copy (logged, never shown).
fn keep(state: &DeskState, key: &str, v: &Value) {
    let body = v.to_string();
    if let Err(e) = state.internal(|d| Ok(d.hub_cache_put(key, &body)?)) {
        tracing::warn!("the offline copy could not be kept: {}", e.code);
    }
}

/// The kept answer under `key`; its time becomes the banner's 最終同期 when none is known.
fn kept(state: &DeskState, key: &str) -> CmdResult<Option<Value>> {
    let Some((body, at)) = state.internal(|d| Ok(d.hub_cache_get(key)?))? else {
        return Ok(None);
    };
    state.hub().synced_at_least(at);
    serde_json::from_str(&body).map(Some).map_err(io)
}

fn outbox(state: &DeskState) -> Vec<OutboxItem> {
    state.internal(|d| Ok(d.hub_outbox()?)).unwrap_or_default()
}

/// The queue on a connected PC: the hub's (kept), or — the hub unreachable — the kept one;
/// either way with this PC's waiting actions on it.
pub fn queue(state: &DeskState, filter: &QueueFilter) -> CmdResult<Value> {
    let key = queue_key(filter);
    let rows = match state.remote(|h| h.queue(filter)) {
        Ok((seq, rows)) => {
            let now = state
                .internal(|d| Ok(d.now()))
                .unwrap_or_else(|_| chrono::Utc::now());
            state.hub().synced(seq, now);
            let v = serde_json::to_value(rows).map_err(io)?;
            keep(state, &key, &v);
            v
        }
        Err(e) if is_offline(&e) => match kept(state, &key)? {
            Some(v) => v,
            None => match kept(state, &queue_key(&QueueFilter::default()))? {
                Some(v) => v,
                None => return Err(e),
            },
        },
        Err(e) => return Err(e),
    };
    Ok(with_outbox_rows(rows, &outbox(state)))
}

/// One thread on a connected PC: the hub's (kept), or the kept one while it is unreachable.
pub fn show(state: &DeskState, id: i64, read: bool) -> CmdResult<Value> {
    let key = thread_key(id);
    let detail =
        match state.remote(|h| {
            if read {
                h.presence(id, "viewing")?;
            }
            h.show(id, read)
        }) {
            Ok(v) => {
                keep(state, &key, &v);
                v
            }
            Err(e) if is_offline(&e) => match kept(state, &key)? {
                Some(v) => v,
                None => return Err(CommandError::new(
                    "hub_unreachable",
                    "ハブにつながらず、この相談はこのPCでまだ開かれていないため表示できません。\
                     ネットワークが戻ると表示されます。",
                )),
            },
            Err(e) => return Err(e),
        };
    Ok(with_outbox_detail(detail, &outbox(state)))
}

/// A take, status change or note: to the hub, or — unreachable — into the outbox. `send` is
/// the online request; `row_change` what the kept row shows meanwhile.
pub fn act(
    state: &DeskState,
    id: i64,
    action: &str,
    body: Value,
    send: impl FnOnce(&renkei_hubclient::HubClient) -> renkei_hubclient::Result<Value>,
) -> CmdResult<Value> {
    match state.remote_change(send) {
        Err(e) if is_offline(&e) => {
            let Some(me) = state.signed_in() else {
                return Err(e);
            };
            let item = state.internal(|d| Ok(d.hub_outbox_add(&me.name, id, action, &body)?))?;
            tracing::info!("hub unreachable: {action} kept in the outbox ({})", item.id);
            if let Some(app) = state.app() {
                let _ = app.emit(QUEUE_CHANGED, ());
                let _ = app.emit(OUTBOX_CHANGED, ());
            }
            Ok(json!({"offline": "pending", "outbox_id": item.id, "consultation_id": id}))
        }
        r => r,
    }
}

/// The version of `id` this PC saw last (the take's compare-and-set while offline).
pub fn kept_version(state: &DeskState, id: i64) -> Option<i64> {
    kept(state, &thread_key(id))
        .ok()
        .flatten()
        .and_then(|v| v["version"].as_i64())
}

/// A person closed the conflict `id`.
pub fn dismiss(state: &DeskState, id: i64) -> CmdResult<()> {
    state.internal(|d| Ok(d.hub_outbox_dismiss(id)?))?;
    if let Some(app) = state.app() {
        let _ = app.emit(QUEUE_CHANGED, ());
        let _ = app.emit(OUTBOX_CHANGED, ());
    }
    Ok(())
}

/// (waiting, refused) entries, for the banner.
pub fn counts(state: &DeskState) -> (usize, usize) {
    let items = outbox(state);
    let pending = items.iter().filter(|i| i.state == "pending").count();
    (pending, items.len() - pending)
}

fn mark(target: &mut Value, item: &OutboxItem) {
    let Some(o) = target.as_object_mut() else {
        return;
    };
    if item.state == "conflict" {
        o.insert("offline".into(), json!("conflict"));
        o.insert("offline_problem".into(), json!(item.problem));
        return;
    }
    if o.get("offline").and_then(Value::as_str) != Some("conflict") {
        o.insert("offline".into(), json!("pending"));
    }
    let body: Value = serde_json::from_str(&item.body).unwrap_or(Value::Null);
    match item.action.as_str() {
        "take" => {
            o.insert("owner".into(), json!(item.staff));
            if o.get("status").and_then(Value::as_str) == Some("new") {
                o.insert("status".into(), json!("acknowledged"));
            }
        }
        "status" => {
            if let Some(s) = body["status"].as_str() {
                o.insert("status".into(), json!(s));
            }
        }
        _ => {}
    }
}

/// The rows with what this PC still has to send (or could not) marked on them.
pub fn with_outbox_rows(mut rows: Value, items: &[OutboxItem]) -> Value {
    if let Some(list) = rows.as_array_mut() {
        for row in list.iter_mut() {
            let id = row["id"].as_i64();
            for it in items.iter().filter(|i| Some(i.consultation_id) == id) {
                mark(row, it);
            }
        }
    }
    rows
}

/// The thread with this PC's waiting notes at its end (「未送信」) and its open entries.
pub fn with_outbox_detail(mut detail: Value, items: &[OutboxItem]) -> Value {
    // The detail is the row's fields plus the thread and the rest (model::ConsultationDetail).
    let id = detail["id"].as_i64();
    let mine: Vec<&OutboxItem> = items
        .iter()
        .filter(|i| Some(i.consultation_id) == id)
        .collect();
    for it in &mine {
        mark(&mut detail, it);
        if it.action == "note" && it.state == "pending" {
            let body: Value = serde_json::from_str(&it.body).unwrap_or(Value::Null);
            if let Some(thread) = detail["thread"].as_array_mut() {
                thread.push(json!({
                    "id": -it.id,
                    "kind": "note",
                    "author": it.staff,
                    "body": body["body"],
                    "at": it.created_at,
                    "offline": "pending",
                }));
            }
        }
    }
    if let Some(o) = detail.as_object_mut() {
        o.insert("offline_actions".into(), json!(mine));
    }
    detail
}

/// Starts the sender: it sends the outbox whenever the hub answers.
pub fn start(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("renkei-hub-outbox".into())
        .spawn(move || loop {
            std::thread::sleep(SEND_EVERY);
            if let Some(state) = app.try_state::<DeskState>() {
                if send_waiting(&state) {
                    let _ = app.emit(QUEUE_CHANGED, ());
                    let _ = app.emit(OUTBOX_CHANGED, ());
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("the outbox sender could not start: {e}");
    }
}

/// Sends the signed-in person's waiting entries, oldest first, until one cannot be sent now.
/// Answers whether anything changed.
pub fn send_waiting(state: &DeskState) -> bool {
    let Some(client) = state.hub_client() else {
        return false;
    };
    let Some(me) = state.signed_in() else {
        return false;
    };
    if client.session().is_none() && !open_session(state, &me.name) {
        return false;
    }
    let mut changed = false;
    for it in outbox(state)
        .into_iter()
        .filter(|i| i.state == "pending" && i.staff == me.name)
    {
        let body: Value = serde_json::from_str(&it.body).unwrap_or(Value::Null);
        let sent = state
            .hub()
            .call(|h| h.send_keyed(&it.action, it.consultation_id, &body, &it.key));
        let r = match sent {
            Ok(_) => state.internal(|d| Ok(d.hub_outbox_done(it.id)?)),
            Err(e) if is_offline(&e) || is_session_problem(&e) => break,
            Err(e) => {
                tracing::info!(
                    "an offline {} was refused by the hub: {}",
                    it.action,
                    e.code
                );
                let words = refusal(&e);
                state.internal(|d| Ok(d.hub_outbox_conflict(it.id, &words)?))
            }
        };
        match r {
            Ok(()) => changed = true,
            Err(e) => {
                tracing::warn!("the outbox could not be updated: {}", e.code);
                break;
            }
        }
    }
    changed
}

/// Signed in while the hub was unreachable: opens the hub session with the PIN kept in memory
/// once the hub answers. The hub refuses it (the PIN was changed, the profile deactivated
/// meanwhile) → the app locks: that person signs in again against the hub.
pub fn open_session(state: &DeskState, name: &str) -> bool {
    // One opener at a time (the sender thread and a command may both try): the second sees
    // the session the first opened.
    static OPENING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = OPENING.lock().unwrap_or_else(|p| p.into_inner());
    if state.hub_client().is_some_and(|c| c.session().is_some()) {
        return true;
    }
    let Some(pin) = state.take_hub_pin() else {
        return false;
    };
    match state.hub().call(|c| c.sign_in(name, &pin)) {
        Ok(s) => {
            state.hub().session_changed();
            let _ = state.internal(|d| Ok(d.hub_pin_keep(&s.staff, &pin)?));
            true
        }
        Err(e) if is_offline(&e) => {
            state.keep_hub_pin(pin);
            false
        }
        Err(e) => {
            tracing::info!("the hub refused the offline sign-in: {}", e.code);
            let _ = state.lock();
            false
        }
    }
}

/// The hub's refusal in the words the thread shows (Japanese first; the hub's own message kept
/// for the rest).
fn refusal(e: &CommandError) -> String {
    match (e.code.as_str(), &e.owner) {
        ("taken", Some(owner)) => {
            format!("{owner}さんが先に担当していました（このPCの操作は反映していません）。")
        }
        ("invalid_transition", _) => format!(
            "その間に状態が変わっていました（このPCの操作は反映していません）: {}",
            e.message
        ),
        ("not_found", _) => "この相談はハブにありません（このPCの操作は反映していません）。".into(),
        _ => e.message.clone(),
    }
}

fn is_session_problem(e: &CommandError) -> bool {
    matches!(
        e.code.as_str(),
        "session_expired"
            | "session_unknown"
            | "session_required"
            | "device_revoked"
            | "hub_certificate_changed"
            | "busy"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: i64, cid: i64, action: &str, body: Value, state: &str) -> OutboxItem {
        OutboxItem {
            id,
            key: format!("k{id}"),
            staff: "田村".into(),
            consultation_id: cid,
            action: action.into(),
            body: body.to_string(),
            created_at: "2026-12-03T01:00:00Z".parse().unwrap(),
            state: state.into(),
            problem: (state == "conflict").then(|| "大野さんが対応中です".into()),
        }
    }

    #[test]
    fn waiting_take_and_status_show_on_the_kept_rows() {
        let rows = json!([
            {"id": 1, "status": "new", "owner": null},
            {"id": 2, "status": "acknowledged", "owner": "大野"},
            {"id": 3, "status": "new", "owner": null},
        ]);
        let items = [
            item(1, 1, "take", json!({"version": 4}), "pending"),
            item(2, 2, "status", json!({"status": "resolved"}), "pending"),
            item(3, 3, "take", json!({"version": 1}), "conflict"),
        ];
        let out = with_outbox_rows(rows, &items);
        assert_eq!(out[0]["owner"], "田村");
        assert_eq!(out[0]["status"], "acknowledged");
        assert_eq!(out[0]["offline"], "pending");
        assert_eq!(out[1]["status"], "resolved");
        assert_eq!(out[1]["owner"], "大野", "a status change keeps the owner");
        assert_eq!(out[2]["offline"], "conflict");
        assert_eq!(out[2]["offline_problem"], "大野さんが対応中です");
        assert_eq!(
            out[2]["owner"],
            Value::Null,
            "a refused take changes nothing"
        );
    }

    #[test]
    fn a_refusal_is_told_in_japanese_with_who_has_the_item() {
        let mut taken = CommandError::new("taken", "大野さんが対応中です — 大野 took it");
        taken.owner = Some("大野".into());
        assert!(refusal(&taken).starts_with("大野さんが先に担当していました"));
        let closed =
            CommandError::new("invalid_transition", "cannot change status from 'resolved'");
        assert!(refusal(&closed).contains("状態が変わっていました"));
        assert!(
            refusal(&closed).contains("resolved"),
            "the hub's words are kept"
        );
    }

    #[test]
    fn a_waiting_note_ends_the_thread_and_is_marked() {
        let detail = json!({"id": 7, "status": "new", "thread": [{"id": 1, "body": "x"}]});
        let items = [
            item(5, 7, "note", json!({"body": "折り返し済み"}), "pending"),
            item(6, 8, "note", json!({"body": "other"}), "pending"),
        ];
        let out = with_outbox_detail(detail, &items);
        let thread = out["thread"].as_array().unwrap();
        assert_eq!(thread.len(), 2, "only this consultation's note: {out}");
        assert_eq!(thread[1]["body"], "折り返し済み");
        assert_eq!(thread[1]["offline"], "pending");
        assert_eq!(thread[1]["author"], "田村");
        assert_eq!(out["offline_actions"].as_array().unwrap().len(), 1);
        assert_eq!(out["offline"], "pending", "the item itself is marked too");
    }
}
