//! Chatwork webhook `POST /v1/webhooks/chatwork`.
//!
//! Verified by `X-ChatWorkWebhookSignature` = base64(HMAC-SHA256(raw body, base64-decode(token))).
//! `message_created` and `mention_to_me` events become consultations (channel `chatwork`) keyed
//! by `message_id` — the same key the poller uses, so a message seen both ways is stored once.
//! The thread key is the room: a burst of messages in one room joins its open consultation.
//! Chatwork markup (`[To:]`, `[info]`) is stored verbatim.

use crate::errors::ApiError;
use crate::lineworks::verify;
use crate::server::{read_body, take_in_webhook, IntakeState, MAX_WEBHOOK_BYTES};
use crate::text::{guess_category, strip_chatwork_tags, subject_from};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use base64::Engine;
use renkei_core::codes::Channel;
use renkei_core::model::{NewConsultation, PartnerRef, Sender};
use serde_json::Value;

/// Signature header name.
pub const SIGNATURE_HEADER: &str = "x-chatworkwebhooksignature";

/// A Chatwork id that may arrive as a number or a string.
pub fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The consultation for one Chatwork message (webhook or poller).
pub fn consultation_from_message(
    room_id: &str,
    message_id: &str,
    account: &str,
    body: &str,
) -> NewConsultation {
    let plain = strip_chatwork_tags(body);
    let subject = subject_from(&plain, "Chatwork メッセージ");
    let mut n = NewConsultation::new(
        Channel::Chatwork,
        PartnerRef::Handle {
            channel: Channel::Chatwork,
            handle: room_id.to_string(),
            display_name: String::new(),
        },
        guess_category(&plain),
        &subject,
        body,
    );
    n.external_id = Some(message_id.to_string());
    n.thread_key = Some(room_id.to_string());
    n.sender = Sender {
        name: account.chars().take(100).collect(),
        role: None,
        phone: None,
    };
    n
}

/// The consultation for a webhook payload, or `None` for other event types.
pub fn consultation_from_webhook(payload: &Value) -> Result<Option<NewConsultation>, ApiError> {
    let kind = payload
        .get("webhook_event_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if kind != "message_created" && kind != "mention_to_me" {
        return Ok(None);
    }
    let ev = payload.get("webhook_event").ok_or_else(|| {
        ApiError::invalid_field("webhook_event", "the webhook has no webhook_event object")
    })?;
    let message_id = id_text(ev.get("message_id")).ok_or_else(|| {
        ApiError::invalid_field("webhook_event.message_id", "message_id is missing")
    })?;
    let room_id = id_text(ev.get("room_id"))
        .ok_or_else(|| ApiError::invalid_field("webhook_event.room_id", "room_id is missing"))?;
    let account = id_text(ev.get("account_id"))
        .or_else(|| id_text(ev.get("from_account_id")))
        .map(|a| format!("Chatwork {a}"))
        .unwrap_or_else(|| "Chatwork".into());
    let body = ev.get("body").and_then(Value::as_str).unwrap_or_default();
    Ok(Some(consultation_from_message(
        &room_id,
        &message_id,
        &account,
        body,
    )))
}

/// `POST /v1/webhooks/chatwork`.
pub async fn webhook(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let raw = read_body(&headers, body, MAX_WEBHOOK_BYTES).await?;
    let token = state.config().chatwork_webhook_token.clone().ok_or_else(|| {
        ApiError::not_configured(
            "the Chatwork webhook token is not set (RENKEI_CHATWORK_WEBHOOK_TOKEN); webhooks are refused",
        )
    })?;
    let key = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .map_err(|_| {
            ApiError::not_configured(
                "RENKEI_CHATWORK_WEBHOOK_TOKEN is not base64; copy the token exactly as Chatwork shows it",
            )
        })?;
    let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if !verify(&key, &raw, sig) {
        tracing::warn!("chatwork: webhook with a bad or missing signature refused");
        return Err(ApiError::unauthorized(
            "missing or wrong X-ChatWorkWebhookSignature; check the webhook token",
        ));
    }
    take_in_webhook(&state, &raw, "webhook", consultation_from_webhook).await
}
