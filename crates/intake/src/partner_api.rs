//! The partner API: `POST /v1/consultations`, `GET /v1/consultations/{id}`,
//! `POST /v1/consultations/{id}/attachments` (Bearer API key, per-partner rate limit).
//!
//! Order of checks: body size (413) → key (401) → rate limit (429) → content type (415) →
//! syntax and fields (400) → store. The body is read first so that an early answer never
//! leaves unread bytes behind (a client would see a reset instead of our JSON).

use crate::body::{content_type, read_body};
use crate::errors::ApiError;
use crate::state::IntakeState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use renkei_core::desk::Document;
use renkei_core::model::{ConsultationRequest, Partner};
use renkei_core::store::consultations::QueueFilter;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Instant;

/// Accepted attachment types.
pub const ATTACHMENT_TYPES: &[&str] = &["application/pdf", "image/png", "image/jpeg", "image/tiff"];

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, key) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let key = key.trim();
    (!key.is_empty()).then(|| key.to_string())
}

/// The partner behind the request's API key, within its rate limit.
async fn authenticate(state: &IntakeState, headers: &HeaderMap) -> Result<Partner, ApiError> {
    let key = bearer(headers).ok_or_else(|| {
        ApiError::unauthorized(
            "missing API key: send the header 'Authorization: Bearer <api_key>' (issued by `renkei partner add`)",
        )
    })?;
    // Kept partners first (`auth_cache`: exact — a moved API-key mark drops them all).
    let cache = state.auth_cache();
    let hash = crate::auth_cache::key_hash(&key);
    let epoch = cache
        .is_enabled()
        .then(|| renkei_core::store::auth_epoch::read(state.data_dir()))
        .flatten();
    let partner = match cache.get(&hash, epoch, Instant::now()) {
        Some(p) => Some(p),
        None => {
            let found = state
                .with_desk(move |desk| Ok(desk.partner_by_key(&key)?))
                .await?;
            if let Some(p) = &found {
                cache.put(hash, p.clone(), epoch, Instant::now());
            }
            found
        }
    };
    let partner = partner.ok_or_else(|| {
        ApiError::unauthorized("unknown or revoked API key; ask the clinic for a new key")
    })?;
    state
        .limiter()
        .check(partner.id)
        .map_err(ApiError::rate_limited)?;
    Ok(partner)
}

fn parse_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::not_found(format!(
            "consultation '{}' not found",
            raw.chars().take(40).collect::<String>()
        ))
    })
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || {
        ApiError::invalid_field(
            "Idempotency-Key",
            "the Idempotency-Key header must be 1–200 visible ASCII characters",
        )
    };
    let s = v.to_str().map_err(|_| bad())?.trim();
    if s.is_empty() || s.len() > 200 || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(s.to_string()))
}

/// `POST /v1/consultations`.
pub async fn create(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let raw = read_body(&headers, body, state.json_body()).await?;
    let partner = authenticate(&state, &headers).await?;
    match content_type(&headers).as_deref() {
        Some("application/json") => {}
        Some(t) if t.ends_with("+json") => {}
        other => {
            return Err(ApiError::unsupported_media(format!(
                "send the consultation as JSON with 'Content-Type: application/json' (got {})",
                other.unwrap_or("no Content-Type")
            )))
        }
    }
    let idem = idempotency_key(&headers)?;
    let value = crate::json::parse_strict(&raw).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the body is not valid JSON ({e}); nothing was stored"),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::invalid_field(
            "body",
            "the body must be a JSON object like {\"external_id\": …, \"category\": …, \"subject\": …, \"body\": …, \"sender\": {\"name\": …}}",
        ));
    }
    let req: ConsultationRequest = serde_json::from_value(value)
        .map_err(|e| ApiError::bad_request("invalid_json", format!("unreadable body: {e}")))?;
    let n = req.into_new(partner.id)?;
    let idem = idem.map(|k| (k, hex::encode(Sha256::digest(&raw))));
    let (out, row) = state.intake(n, idem).await?;
    let status = if out.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(serde_json::json!({
            "id": out.id,
            "status": row.status,
            "created": out.created,
        })),
    )
        .into_response())
}

/// `GET /v1/consultations`: the partner's own consultations, newest first (at most 100).
pub async fn list(
    State(state): State<IntakeState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let partner = authenticate(&state, &headers).await?;
    let pid = partner.id;
    let views = state
        .with_desk(move |desk| {
            let mut rows = desk.queue(&QueueFilter {
                all: true,
                partner_id: Some(pid),
                ..QueueFilter::default()
            })?;
            rows.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(b.id.cmp(&a.id)));
            rows.truncate(100);
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(desk.partner_view(pid, r.id)?);
            }
            Ok(out)
        })
        .await?;
    Ok(Json(serde_json::json!({ "consultations": views })).into_response())
}

/// `GET /v1/consultations/{id}`: the partner's own view.
pub async fn view(
    State(state): State<IntakeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let partner = authenticate(&state, &headers).await?;
    let id = parse_id(&id)?;
    let pid = partner.id;
    let v = state
        .with_desk(move |desk| match desk.partner_view(pid, id) {
            // Said the same way for unknown ids and other partners' ids.
            Err(renkei_core::Error::NotFound(_)) => Err(ApiError::not_found(format!(
                "consultation {id} not found among your organisation's consultations"
            ))),
            r => Ok(r?),
        })
        .await?;
    Ok(Json(v).into_response())
}

fn default_name(media: &str) -> &'static str {
    match media {
        "image/png" => "image.png",
        "image/jpeg" => "image.jpg",
        "image/tiff" => "image.tiff",
        _ => "document.pdf",
    }
}

/// Percent-decodes a header or query value (UTF-8 file names arrive encoded).
fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `POST /v1/consultations/{id}/attachments`: raw body, PDF/PNG/JPEG/TIFF, ≤ 20 MiB.
pub async fn attach(
    State(state): State<IntakeState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let raw = read_body(&headers, body, state.attachment_body()).await?;
    let partner = authenticate(&state, &headers).await?;
    let id = parse_id(&id)?;
    let declared = content_type(&headers).unwrap_or_default();
    let declared = if declared == "image/jpg" {
        "image/jpeg".to_string()
    } else {
        declared
    };
    if !ATTACHMENT_TYPES.contains(&declared.as_str()) {
        return Err(ApiError::unsupported_media(format!(
            "attachments must be sent raw with Content-Type application/pdf, image/png, image/jpeg or image/tiff (got {})",
            if declared.is_empty() { "none" } else { &declared }
        )));
    }
    let name = headers
        .get("x-filename")
        .and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
        .map(percent_decode)
        .or_else(|| query.get("filename").cloned())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| default_name(&declared).to_string());
    let pid = partner.id;
    let by = format!("partner:{pid}");
    let a = state
        .with_desk(move |desk| {
            // Another partner's consultation is "not found", like the view.
            desk.partner_view(pid, id)?;
            Ok(desk.attach(
                id,
                Document {
                    name: &name,
                    bytes: &raw,
                    declared: Some(&declared),
                },
                &by,
            )?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_of_names() {
        assert_eq!(percent_decode("%E7%B4%B9%E4%BB%8B.pdf"), "紹介.pdf");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("plain.pdf"), "plain.pdf");
    }
}
