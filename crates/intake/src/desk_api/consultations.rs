//! The queue, one consultation, and what staff do with it — each handler checks the caller
//! (`super::caller`) and calls the `Desk` method the desktop app's command calls
//! (src-tauri/src/commands/consultation.rs, replies.rs) with the session's name.

use super::{caller, json_body, parse_id, Caller};
use crate::errors::ApiError;
use crate::state::IntakeState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use renkei_core::desk::Keyed;
use renkei_core::model::MessageKind;
use renkei_core::store::consultations::QueueFilter;
use renkei_core::store::desk_requests::RequestKey;
use renkei_core::{Category, Status, Urgency};
use serde::Deserialize;
use serde_json::{json, Value};

/// `GET /v1/desk/queue?all=&category=&urgency=&status=&owner=&unowned=&search=&limit=` →
/// `{"seq", "rows"}`: the queue in triage order (`Desk::queue`) and the change sequence read
/// before it — follow `GET /v1/desk/events` from `seq` and nothing falls between.
pub async fn queue(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Query(filter): Query<QueueFilter>,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers).await?;
    let (seq, rows) = state
        .with_desk(move |d| {
            let seq = d.change_seq()?;
            Ok((seq, d.queue(&filter)?))
        })
        .await?;
    Ok(Json(json!({"seq": seq, "rows": rows})))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /v1/desk/search?q=` → `{"seq", "rows"}`: resolved items included.
pub async fn search(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    caller(&state, &headers).await?;
    let filter = QueueFilter {
        all: true,
        search: Some(q.q),
        limit: Some(q.limit.unwrap_or(200).min(1000)),
        ..Default::default()
    };
    let (seq, rows) = state
        .with_desk(move |d| {
            let seq = d.change_seq()?;
            Ok((seq, d.queue(&filter)?))
        })
        .await?;
    Ok(Json(json!({"seq": seq, "rows": rows})))
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    read: Option<bool>,
}

/// `GET /v1/desk/consultations/{id}[?read=false]` → the detail (thread, documents, history,
/// deliveries) + `presence` (who views or handles it now) + `seq`. Opening records the read
/// by the session's staff, as the app does; `read=false` does not.
pub async fn show(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = caller(&state, &headers).await?;
    let id = parse_id(&id)?;
    let reader = q.read.unwrap_or(true).then(|| c.name());
    let (seq, detail) = state
        .with_desk(move |d| {
            let seq = d.change_seq()?;
            Ok((seq, d.show(id, reader.as_deref())?))
        })
        .await?;
    let mut v = serde_json::to_value(&detail)
        .map_err(|e| ApiError::internal(format!("cannot serialise the detail: {e}")))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("presence".into(), json!(state.hub().presence_of(id)));
        o.insert("seq".into(), json!(seq));
    }
    Ok(Json(v))
}

/// Runs one action as the caller and answers its result as JSON.
async fn act<T, F>(state: &IntakeState, c: Caller, f: F) -> Result<Json<Value>, ApiError>
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&mut renkei_core::desk::Desk, &str) -> renkei_core::Result<T> + Send + 'static,
{
    let by = c.name();
    let out = state.with_desk(move |d| Ok(f(d, &by)?)).await?;
    state.hub().wake();
    Ok(Json(serde_json::to_value(out).map_err(|e| {
        ApiError::internal(format!("cannot serialise the answer: {e}"))
    })?))
}

/// Reads the body first (so an early answer leaves nothing unread), then checks the caller.
async fn body_and_caller<T: serde::de::DeserializeOwned>(
    state: &IntakeState,
    headers: &HeaderMap,
    body: Body,
    id: &str,
) -> Result<(T, Caller, i64), ApiError> {
    let (req, _, c, id) = keyed_body_and_caller(state, headers, body, id).await?;
    Ok((req, c, id))
}

/// Like [`body_and_caller`], with the body as JSON too (what an `Idempotency-Key` covers).
async fn keyed_body_and_caller<T: serde::de::DeserializeOwned>(
    state: &IntakeState,
    headers: &HeaderMap,
    body: Body,
    id: &str,
) -> Result<(T, Value, Caller, i64), ApiError> {
    let raw: Value = json_body(state, headers, body).await?;
    let req: T = serde_json::from_value(raw.clone()).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("unreadable body: {e}; see docs/openapi.yaml; nothing was changed"),
        )
    })?;
    let c = caller(state, headers).await?;
    Ok((req, raw, c, parse_id(id)?))
}

/// Runs one staff action as the caller, under the request's `Idempotency-Key` when it has one
/// (a desk replaying what was done offline, issue 19): the key is recorded with the action
/// (`Desk::keyed`), so a replay answers `200 {"replayed": true, "consultation_id"}` and changes
/// nothing; the same key with another request → `409 conflict`.
async fn act_keyed<T, F>(
    state: &IntakeState,
    headers: &HeaderMap,
    c: Caller,
    action: &'static str,
    id: i64,
    raw: Value,
    f: F,
) -> Result<Json<Value>, ApiError>
where
    T: serde::Serialize + Send + 'static,
    F: FnOnce(&mut renkei_core::desk::Desk, &str) -> renkei_core::Result<T> + Send + 'static,
{
    let Some(key) = crate::partner_api::idempotency_key(headers)? else {
        return act(state, c, f).await;
    };
    let by = c.name();
    let k = RequestKey::new(&key, &by, action, id, &raw);
    let out = state
        .with_desk(move |d| Ok(d.keyed(k, |d| f(d, &by))?))
        .await?;
    match out {
        Keyed::Done(v) => {
            state.hub().wake();
            Ok(Json(serde_json::to_value(v).map_err(|e| {
                ApiError::internal(format!("cannot serialise the answer: {e}"))
            })?))
        }
        Keyed::Replayed { consultation_id } => Ok(Json(
            json!({"replayed": true, "consultation_id": consultation_id}),
        )),
    }
}

#[derive(Deserialize)]
pub struct Take {
    /// The `version` of the row the taker saw.
    version: i64,
}

/// `POST …/{id}/take {"version"}` → the row; someone else took it meanwhile → `409
/// {"code":"taken","owner"}` (「大野さんが対応中です」), nothing changed (`Desk::take`).
pub async fn take(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (req, raw, c, id): (Take, _, _, _) =
        keyed_body_and_caller(&state, &headers, body, &id).await?;
    act_keyed(&state, &headers, c, "take", id, raw, move |d, by| {
        d.take(id, req.version, by)
    })
    .await
}

#[derive(Deserialize)]
pub struct Assign {
    owner: Option<String>,
}

/// `POST …/{id}/assign {"owner": name|null}` (`Desk::assign`).
pub async fn assign(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (req, c, id): (Assign, _, _) = body_and_caller(&state, &headers, body, &id).await?;
    let owner = req.owner.filter(|o| !o.trim().is_empty());
    act(&state, c, move |d, by| d.assign(id, owner.as_deref(), by)).await
}

fn code<T: std::str::FromStr<Err = renkei_core::codes::UnknownCode>>(
    field: &str,
    v: &str,
) -> Result<T, ApiError> {
    v.trim()
        .parse::<T>()
        .map_err(|e| ApiError::invalid_field(field, e.to_string()))
}

#[derive(Deserialize)]
pub struct SetStatus {
    status: String,
}

/// `POST …/{id}/status {"status"}` (`Desk::set_status`; invalid transitions → 409).
pub async fn status(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (req, raw, c, id): (SetStatus, _, _, _) =
        keyed_body_and_caller(&state, &headers, body, &id).await?;
    let to: Status = code("status", &req.status)?;
    act_keyed(&state, &headers, c, "status", id, raw, move |d, by| {
        d.set_status(id, to, by)
    })
    .await
}

#[derive(Deserialize)]
pub struct SetUrgency {
    urgency: String,
}

/// `POST …/{id}/urgency {"urgency"}` (`Desk::set_urgency`).
pub async fn urgency(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (req, c, id): (SetUrgency, _, _) = body_and_caller(&state, &headers, body, &id).await?;
    let u: Urgency = code("urgency", &req.urgency)?;
    act(&state, c, move |d, by| d.set_urgency(id, u, by)).await
}

#[derive(Deserialize)]
pub struct SetCategory {
    category: String,
}

/// `POST …/{id}/category {"category"}` (`Desk::set_category`).
pub async fn category(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (req, c, id): (SetCategory, _, _) = body_and_caller(&state, &headers, body, &id).await?;
    let cat: Category = code("category", &req.category)?;
    act(&state, c, move |d, by| d.set_category(id, cat, by)).await
}

#[derive(Deserialize)]
pub struct AddMessage {
    kind: String,
    body: String,
}

/// `POST …/{id}/messages {"kind": "note"|"phone"|…, "body"}` (`Desk::add_message`; nothing is
/// sent — `…/reply` sends).
pub async fn message(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (req, raw, c, id): (AddMessage, _, _, _) =
        keyed_body_and_caller(&state, &headers, body, &id).await?;
    let kind = MessageKind::parse(&req.kind)?;
    act_keyed(&state, &headers, c, "messages", id, raw, move |d, by| {
        d.add_message(id, kind, &req.body, by)
    })
    .await
}

#[derive(Deserialize)]
pub struct Reply {
    body: String,
    #[serde(default)]
    record_only: bool,
    /// The writer saw the personal-data warning and sends anyway (audited
    /// `reply.pii_confirmed`).
    #[serde(default)]
    pii_confirmed: bool,
}

/// `POST …/{id}/reply {"body", "record_only"?, "pii_confirmed"?}` (`Desk::reply_checked`).
pub async fn reply(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (req, c, id): (Reply, _, _) = body_and_caller(&state, &headers, body, &id).await?;
    act(&state, c, move |d, by| {
        d.reply_checked(id, &req.body, by, req.record_only, req.pii_confirmed)
    })
    .await
}

#[derive(Deserialize)]
pub struct Snooze {
    /// Minutes from now; `null` wakes it.
    minutes: Option<i64>,
}

/// `POST …/{id}/snooze {"minutes": n|null}` (`Desk::snooze`).
pub async fn snooze(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let (req, c, id): (Snooze, _, _) = body_and_caller(&state, &headers, body, &id).await?;
    if req
        .minutes
        .is_some_and(|m| !(1..=60 * 24 * 30).contains(&m))
    {
        return Err(ApiError::invalid_field(
            "minutes",
            "snooze for 1 minute up to 30 days, or null to wake it",
        ));
    }
    act(&state, c, move |d, by| {
        let until = req.minutes.map(|m| d.now() + chrono::Duration::minutes(m));
        d.snooze(id, until, by)
    })
    .await
}

/// `POST /v1/desk/phone` {the phone-call form: `renkei_core::phone::PhoneCall`} → `201` the
/// intake outcome: a connected PC logs a call (電話受付) as a new consultation at the hub, taken
/// by the session's staff (`PhoneCall::into_consultation` + `Desk::intake`, as the app does
/// locally).
pub async fn phone(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let call: renkei_core::phone::PhoneCall = json_body(&state, &headers, body).await?;
    let c = caller(&state, &headers).await?;
    let by = c.name();
    let out = state
        .with_desk(move |d| Ok(d.intake(call.into_consultation(&by)?)?))
        .await?;
    state.hub().wake();
    let v = serde_json::to_value(out)
        .map_err(|e| ApiError::internal(format!("cannot serialise the answer: {e}")))?;
    Ok((axum::http::StatusCode::CREATED, Json(v)))
}

/// `GET /v1/desk/documents/{attachment_id}` → the document's bytes with its type
/// (`Desk::attachment_bytes`: decrypted, audited `attachment.read` by the session's staff).
pub async fn document(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::{header, HeaderValue};
    let c = caller(&state, &headers).await?;
    let id = id.parse::<i64>().ok().filter(|i| *i > 0).ok_or_else(|| {
        ApiError::not_found("document not found; the detail's attachments have the ids")
    })?;
    let by = c.name();
    let (a, bytes) = state
        .with_desk(move |d| Ok(d.attachment_bytes(id, &by)?))
        .await?;
    let name = renkei_core::desk::safe_file_name(&a.name);
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let mut resp = axum::response::Response::new(Body::from(bytes));
    let h = resp.headers_mut();
    let media = HeaderValue::from_str(&a.media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_TYPE, media);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"document\"; filename*=UTF-8''{encoded}"
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
