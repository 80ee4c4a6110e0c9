//! Getting in: a PC enrols with a one-time code and gets its device token; staff sign in on it
//! with their PIN and get a session; `DELETE /v1/desk/sessions/current` signs out.

use super::{caller, device, json_body, Caller};
use crate::errors::ApiError;
use crate::state::IntakeState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct EnrollRequest {
    code: String,
    name: Option<String>,
}

/// `POST /v1/desk/enroll` `{"code", "name"?}` → `201 {"device_id", "name", "token"}` (the token
/// is shown this once). A wrong, used or expired code → 401, nothing stored.
pub async fn enroll(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: EnrollRequest = json_body(&state, &headers, body).await?;
    let (d, token) = state
        .with_desk(move |desk| Ok(desk.enroll_device(&req.code, req.name.as_deref())?))
        .await?;
    tracing::info!(device = d.id, "desk: device enrolled");
    Ok((
        StatusCode::CREATED,
        Json(json!({"device_id": d.id, "name": d.name, "token": token})),
    )
        .into_response())
}

#[derive(Deserialize)]
struct SignIn {
    name: String,
    pin: String,
}

/// `POST /v1/desk/sessions` `{"name", "pin"}` (device token) → `201 {"session", "staff",
/// "idle_minutes"}`. Wrong PIN → 401 `unauthorized`, too many → 401 `locked_out` (the rules
/// of the app's lock screen, `Desk::sign_in`).
pub async fn sign_in(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let req: SignIn = json_body(&state, &headers, body).await?;
    let dev = device(&state, &headers).await?;
    let (session, token, idle) = state
        .with_desk(move |desk| {
            let (s, token) = desk.open_desk_session(dev.id, &req.name, &req.pin)?;
            let idle = desk.reload_settings()?.lock_after_minutes;
            Ok((s, token, idle))
        })
        .await?;
    let role = staff_role(&state, session.staff_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "session": token,
            "staff": {"id": session.staff_id, "name": session.staff_name, "role": role},
            "idle_minutes": idle,
        })),
    )
        .into_response())
}

async fn staff_role(state: &IntakeState, id: i64) -> Result<String, ApiError> {
    state
        .with_desk(move |desk| {
            Ok(desk
                .staff()?
                .into_iter()
                .find(|s| s.id == id)
                .map(|s| s.role.as_str().to_string())
                .unwrap_or_default())
        })
        .await
}

/// `DELETE /v1/desk/sessions/current` → `200 {"status": "signed_out"}`; the session token
/// stops working.
pub async fn sign_out(
    State(state): State<IntakeState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Caller { session, .. } = caller(&state, &headers).await?;
    state
        .with_desk(move |desk| Ok(desk.close_desk_session(&session)?))
        .await?;
    Ok(Json(json!({"status": "signed_out"})))
}

/// `GET /v1/desk/me` → who this session is and on which PC.
pub async fn me(
    State(state): State<IntakeState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = caller(&state, &headers).await?;
    let role = staff_role(&state, c.session.staff_id).await?;
    Ok(Json(json!({
        "staff": {"id": c.session.staff_id, "name": c.session.staff_name, "role": role},
        "device": {"id": c.device.id, "name": c.device.name},
    })))
}

/// `GET /v1/desk/staff` (device token only: the sign-in screen comes before a session) → the
/// active profiles, names and roles only (the app's lock-screen list).
pub async fn staff(
    State(state): State<IntakeState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    device(&state, &headers).await?;
    let list = state
        .with_desk(|desk| {
            Ok(desk
                .staff()?
                .into_iter()
                .filter(|s| s.active)
                .map(|s| json!({"id": s.id, "name": s.name, "role": s.role.as_str(), "has_pin": s.has_pin}))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(json!({"staff": list})))
}

/// `GET /v1/desk/settings` → the clinic's settings with secrets masked (as the app's settings
/// screen reads them). Read-only here; saving settings from a connected desk is not built yet.
pub async fn settings(
    State(state): State<IntakeState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller(&state, &headers).await?;
    let s = state
        .with_desk(|desk| Ok(desk.reload_settings()?.masked()))
        .await?;
    Ok(Json(serde_json::to_value(s).map_err(|e| {
        ApiError::internal(format!("cannot serialise the settings: {e}"))
    })?))
}
