//! The staff API for connected desks (issue 19): `/v1/desk/…` on the hub.
//!
//! Every request carries the device token (`Authorization: Bearer rkd_…`, from
//! `POST /v1/desk/enroll`); every request that reads or changes consultations also carries a
//! staff session (`X-Renkei-Session: rks_…`, from `POST /v1/desk/sessions`). Who acts always
//! comes from the session — a name in a request body is ignored. Handlers are thin: check the
//! caller here, then one `Desk` method, the same one the desktop app's command calls.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | the caller checks (device, session), the JSON body reader, [`Hub`] (presence, the change-sequence wake-up) |
//! | `access.rs` | `POST /v1/desk/enroll`, `GET /v1/desk/staff` (the sign-in list), `POST /v1/desk/sessions`, `DELETE /v1/desk/sessions/current`, `GET /v1/desk/me`, `GET /v1/desk/settings` (masked, read-only) |
//! | `consultations.rs` | queue, search, detail, a document's bytes, and the actions (take, assign, status, urgency, category, messages, reply, snooze) |
//! | `events.rs` | `GET /v1/desk/events` (Server-Sent Events, `Last-Event-ID`), `POST /v1/desk/presence` |

pub mod access;
pub mod consultations;
pub mod events;

use crate::body::{content_type, read_body, BodyLimits};
use crate::errors::ApiError;
use crate::state::IntakeState;
use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use renkei_core::desk::{DeskSession, SessionProblem};
use renkei_core::store::devices::Device;
use serde::de::DeserializeOwned;

pub use events::Hub;

/// The header that carries the staff session token.
pub const SESSION_HEADER: &str = "x-renkei-session";
/// Largest body of a desk request (a reply or note is at most a few thousand characters).
pub const MAX_DESK_BODY_BYTES: usize = 256 * 1024;

/// A signed-in caller: the device and the staff session on it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub device: Device,
    pub session: DeskSession,
}

impl Caller {
    /// The name every change of this request is attributed to.
    pub fn name(&self) -> String {
        self.session.staff_name.clone()
    }
}

fn token_of(v: Option<&axum::http::HeaderValue>, bearer: bool) -> Option<String> {
    let v = v?.to_str().ok()?.trim();
    let t = if bearer {
        let (scheme, t) = v.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        t.trim()
    } else {
        v
    };
    (!t.is_empty() && t.len() <= 200 && t.chars().all(|c| c.is_ascii_graphic()))
        .then(|| t.to_string())
}

/// The enrolled device behind the request's `Authorization: Bearer` token.
pub async fn device(state: &IntakeState, headers: &HeaderMap) -> Result<Device, ApiError> {
    let token = token_of(headers.get(header::AUTHORIZATION), true).ok_or_else(|| {
        ApiError::unauthorized(
            "missing device token: send 'Authorization: Bearer <device token>' — a PC gets its \
             token once with POST /v1/desk/enroll and a code from `renkei device add`",
        )
    })?;
    let device = state
        .with_desk(move |d| Ok(d.device_by_token(&token)?))
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized(
                "unknown device token; enrol this PC again with a new code \
                 (`renkei device add --name …` on the hub)",
            )
        })?;
    if device.state == "revoked" {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "device_revoked",
            format!(
                "this PC ({}) was disconnected from the hub by its administrator; ask them to \
                 enrol it again with a new code (`renkei device add`)",
                device.name
            ),
        ));
    }
    Ok(device)
}

/// The device and the staff session (header `X-Renkei-Session`) of the request.
pub async fn caller(state: &IntakeState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let device = device(state, headers).await?;
    let token = token_of(headers.get(SESSION_HEADER), false).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_required",
            "sign in first: POST /v1/desk/sessions with your name and PIN, then send the \
             session in the header 'X-Renkei-Session'",
        )
    })?;
    let device_id = device.id;
    let session = state
        .with_desk(move |d| Ok(d.desk_session(device_id, &token)?))
        .await?;
    match session {
        Ok(session) => Ok(Caller { device, session }),
        Err(SessionProblem::Expired) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_expired",
            "the session ended after the clinic's idle-lock minutes without activity; sign in \
             again with your PIN",
        )),
        Err(SessionProblem::Disabled) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "profile_disabled",
            "this staff profile was deactivated; ask an administrator",
        )),
        Err(SessionProblem::Unknown) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "session_unknown",
            "unknown or ended session (signed out, or opened on another PC); sign in again \
             with your PIN",
        )),
    }
}

/// Reads a JSON body of a desk request (at most [`MAX_DESK_BODY_BYTES`]) into `T`. Unknown
/// fields are ignored (a `by` in the body never counts).
pub async fn json_body<T: DeserializeOwned>(
    state: &IntakeState,
    headers: &HeaderMap,
    body: Body,
) -> Result<T, ApiError> {
    let limits = BodyLimits {
        max_bytes: MAX_DESK_BODY_BYTES,
        ..state.json_body()
    };
    let raw = read_body(headers, body, limits).await?;
    parse_json(headers, &raw)
}

/// Checks the type and parses an already read body.
pub fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, raw: &[u8]) -> Result<T, ApiError> {
    match content_type(headers).as_deref() {
        Some("application/json") => {}
        Some(t) if t.ends_with("+json") => {}
        other => {
            return Err(ApiError::unsupported_media(format!(
                "send JSON with 'Content-Type: application/json' (got {}); nothing was changed",
                other.unwrap_or("no Content-Type")
            )))
        }
    }
    let value = crate::json::parse_strict(raw).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON ({e}); nothing was changed"),
        )
    })?;
    serde_json::from_value(value).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("unreadable body: {e}; see docs/openapi.yaml; nothing was changed"),
        )
    })
}

/// A consultation id from the path.
pub fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::not_found(format!(
            "consultation '{}' not found",
            raw.chars().take(40).collect::<String>()
        ))
    })
}
