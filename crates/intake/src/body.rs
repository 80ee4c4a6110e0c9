//! Request helpers shared by the handlers: body limits, reading a body under size and time
//! limits, the content type, and the common end of both webhooks.

use crate::errors::ApiError;
use crate::state::IntakeState;
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use http_body_util::BodyExt;
use std::time::Duration;

/// Largest partner-API JSON body.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Largest webhook body.
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;
/// Largest attachment body.
pub const MAX_ATTACHMENT_BYTES: usize = renkei_core::store::blobs::MAX_ATTACHMENT_BYTES;

/// Size and time limits of one request body (see [`crate::Timeouts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyLimits {
    pub max_bytes: usize,
    /// Longest pause between two pieces of the body.
    pub idle: Duration,
    /// Longest time for the whole body.
    pub total: Duration,
}

impl IntakeState {
    /// Limits of a partner-API JSON body.
    pub(crate) fn json_body(&self) -> BodyLimits {
        let t = self.config().timeouts;
        BodyLimits {
            max_bytes: MAX_JSON_BYTES,
            idle: t.body_idle,
            total: t.body_total,
        }
    }

    /// Limits of a webhook body.
    pub(crate) fn webhook_body(&self) -> BodyLimits {
        BodyLimits {
            max_bytes: MAX_WEBHOOK_BYTES,
            ..self.json_body()
        }
    }

    /// Limits of an attachment body.
    pub(crate) fn attachment_body(&self) -> BodyLimits {
        let t = self.config().timeouts;
        BodyLimits {
            max_bytes: MAX_ATTACHMENT_BYTES,
            idle: t.body_idle,
            total: t.attachment_total,
        }
    }
}

/// Reads a request body of at most `limits.max_bytes` bytes. A larger body is drained (up to a
/// cap, so the client can read our answer instead of a connection reset) and answered with 413.
/// A body that stalls for longer than `limits.idle`, or takes longer than `limits.total` in all,
/// is answered with `408 {"code":"timeout"}` and the connection is closed: a slow client
/// (slowloris) holds a connection for a bounded time only.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limits: BodyLimits,
) -> Result<Bytes, ApiError> {
    let limit = limits.max_bytes;
    let too_large = || {
        ApiError::too_large(format!(
            "the request body is larger than {} bytes; nothing was stored",
            limit
        ))
    };
    let drain_cap = limit.saturating_mul(2).saturating_add(8 * 1024 * 1024);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain_cap as u64) {
        return Err(too_large());
    }
    let deadline = tokio::time::Instant::now() + limits.total;
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    let mut seen: usize = 0;
    let mut over = declared.is_some_and(|n| n > limit as u64);
    loop {
        let wait_until = deadline.min(tokio::time::Instant::now() + limits.idle);
        let Ok(next) = tokio::time::timeout_at(wait_until, body.frame()).await else {
            tracing::warn!(
                received = seen,
                "intake: request body too slow, answered 408"
            );
            return Err(ApiError::timeout(format!(
                "the request body arrived too slowly (received {seen} bytes; at most {} s without data, {} s in all); nothing was stored",
                limits.idle.as_secs(),
                limits.total.as_secs()
            )));
        };
        let Some(frame) = next else { break };
        let frame = frame.map_err(|e| {
            ApiError::bad_request("bad_body", format!("could not read the request body: {e}"))
        })?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen > limit {
                over = true;
            }
            if over {
                buf = Vec::new();
                if seen > drain_cap {
                    break;
                }
            } else {
                buf.extend_from_slice(&data);
            }
        }
    }
    if over {
        return Err(too_large());
    }
    Ok(Bytes::from(buf))
}

/// The media type of a request without parameters, lower case.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty())
}

/// The common end of both webhooks: parse the (already verified) body, turn it into a
/// consultation with `convert` (or ignore the event), take it in, answer
/// `{ok, id, created, joined}` or `{ok, ignored: true}`.
pub(crate) async fn take_in_webhook(
    state: &IntakeState,
    raw: &[u8],
    what: &str,
    convert: impl FnOnce(
        &serde_json::Value,
    ) -> Result<Option<renkei_core::model::NewConsultation>, ApiError>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let payload = crate::json::parse_strict(raw).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the {what} is not valid JSON ({e})"),
        )
    })?;
    let Some(n) = convert(&payload)? else {
        return Ok(axum::Json(serde_json::json!({"ok": true, "ignored": true})));
    };
    let (out, _) = state.intake(n, None).await?;
    Ok(axum::Json(serde_json::json!({
        "ok": true,
        "id": out.id,
        "created": out.created,
        "joined": out.joined,
    })))
}
