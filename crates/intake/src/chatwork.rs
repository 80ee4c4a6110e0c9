//! Chatwork webhook `POST /v1/webhooks/chatwork`.
//!
//! Verified by `X-ChatWorkWebhookSignature` = base64(HMAC-SHA256(raw body, base64-decode(token))).
//! `message_created` and `mention_to_me` events become consultations (channel `chatwork`) keyed
//! by `message_id` — the same key the poller uses, so a message seen both ways is stored once.
//! The thread key is the room: a burst of messages in one room joins its open consultation.
//! Chatwork markup (`[To:]`, `[info]`) is stored verbatim.

use crate::body::{read_body, take_in_webhook};
use crate::errors::ApiError;
use crate::lineworks::verify;
use crate::state::IntakeState;
use crate::text::{guess_category, strip_chatwork_tags, subject_from};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use base64::Engine;
use renkei_core::codes::Channel;
use renkei_core::model::{NewConsultation, PartnerRef, Sender};
use renkei_core::outbound::{ChatworkMessageRef, ReplyRoute};
use serde_json::Value;

/// Signature header name.
pub const SIGNATURE_HEADER: &str = "x-chatworkwebhooksignature";

/// Longest Chatwork id we accept (bytes); real ones are about 20 digits.
pub const MAX_ID_BYTES: usize = 100;

/// A Chatwork id that may arrive as a number or a string: a non-negative integer, or 1–100
/// visible characters without spaces. Anything else (negative or fractional numbers, objects,
/// control characters, a megabyte of text) is `None`.
pub fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()
                && s.len() <= MAX_ID_BYTES
                && !s.chars().any(|c| c.is_control() || c.is_whitespace()))
            .then(|| s.to_string())
        }
        Value::Number(n) => n.as_u64().map(|n| n.to_string()),
        _ => None,
    }
}

/// [`id_text`] of an optional field: missing or `null` is `Ok(None)`, a present but unusable
/// value is a 400 naming the field.
fn optional_id(ev: &Value, key: &str) -> Result<Option<String>, ApiError> {
    match ev.get(key) {
        None | Some(Value::Null) => Ok(None),
        v => id_text(v).map(Some).ok_or_else(|| {
            ApiError::invalid_field(
                &format!("webhook_event.{key}"),
                format!("{key} must be a Chatwork id (a number or 1–{MAX_ID_BYTES} characters)"),
            )
        }),
    }
}

/// The consultation for one Chatwork message (webhook or poller).
pub fn consultation_from_message(
    room_id: &str,
    message_id: &str,
    account: &str,
    body: &str,
) -> NewConsultation {
    consultation_from_message_by(room_id, message_id, account, None, body)
}

/// [`consultation_from_message`] with the writer's account id when known: the reply then
/// quotes this message (`[rp aid=… to=ROOM-MSG]`, see `renkei_core::outbound`).
pub fn consultation_from_message_by(
    room_id: &str,
    message_id: &str,
    account: &str,
    account_id: Option<&str>,
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
    n.origin = Some(ReplyRoute::ChatworkRoom {
        room_id: room_id.to_string(),
        reply_to: account_id.map(|a| ChatworkMessageRef {
            account_id: a.to_string(),
            message_id: message_id.to_string(),
        }),
    });
    n.sender = Sender {
        // Display names from the poller may hold anything: one clean line, cut.
        name: renkei_core::model::clean_line(account)
            .chars()
            .take(renkei_core::model::MAX_SENDER_CHARS)
            .collect(),
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
    let ev = payload
        .get("webhook_event")
        .filter(|e| e.is_object())
        .ok_or_else(|| {
            ApiError::invalid_field("webhook_event", "the webhook has no webhook_event object")
        })?;
    let message_id = optional_id(ev, "message_id")?.ok_or_else(|| {
        ApiError::invalid_field("webhook_event.message_id", "message_id is missing")
    })?;
    let room_id = optional_id(ev, "room_id")?
        .ok_or_else(|| ApiError::invalid_field("webhook_event.room_id", "room_id is missing"))?;
    let account_id = match optional_id(ev, "account_id")? {
        Some(a) => Some(a),
        None => optional_id(ev, "from_account_id")?,
    };
    let account = account_id
        .as_deref()
        .map(|a| format!("Chatwork {a}"))
        .unwrap_or_else(|| "Chatwork".into());
    let body = match ev.get("body") {
        Some(Value::String(b)) => b.as_str(),
        _ => {
            return Err(ApiError::invalid_field(
                "webhook_event.body",
                "a message event needs the message text as a string in body",
            ))
        }
    };
    Ok(Some(consultation_from_message_by(
        &room_id,
        &message_id,
        &account,
        account_id.as_deref(),
        body,
    )))
}

/// `POST /v1/webhooks/chatwork`.
pub async fn webhook(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let raw = read_body(&headers, body, state.webhook_body()).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ev: Value) -> Value {
        serde_json::json!({"webhook_event_type": "message_created", "webhook_event": ev})
    }

    /// Found by the hostile-input test: these were stored before (an empty body, an id of
    /// `-1.5`, a room id with a line break, a megabyte-long account id).
    #[test]
    fn unusable_ids_and_bodies_are_refused_with_the_field() {
        let ok = serde_json::json!({"message_id": "1700000000000000001", "room_id": 301234567,
            "account_id": 1234567, "body": "[To:1]ご相談です"});
        let n = consultation_from_webhook(&event(ok.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(n.external_id.as_deref(), Some("1700000000000000001"));
        assert_eq!(n.body, "[To:1]ご相談です");
        for (key, bad, field) in [
            ("body", serde_json::json!(5), "webhook_event.body"),
            (
                "message_id",
                serde_json::json!(-1.5),
                "webhook_event.message_id",
            ),
            (
                "message_id",
                serde_json::json!("1 2"),
                "webhook_event.message_id",
            ),
            (
                "room_id",
                serde_json::json!("30\n1"),
                "webhook_event.room_id",
            ),
            (
                "room_id",
                serde_json::json!(18446744073709551616.0),
                "webhook_event.room_id",
            ),
            (
                "account_id",
                serde_json::json!("9".repeat(101)),
                "webhook_event.account_id",
            ),
            (
                "account_id",
                serde_json::json!([]),
                "webhook_event.account_id",
            ),
        ] {
            let mut ev = ok.clone();
            ev[key] = bad;
            let err = consultation_from_webhook(&event(ev)).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{err:?}");
        }
        let mut ev = ok;
        ev.as_object_mut().unwrap().remove("body");
        assert!(consultation_from_webhook(&event(ev)).is_err());
        assert!(consultation_from_webhook(&event(serde_json::json!([1]))).is_err());
    }

    #[test]
    fn poller_display_names_become_one_short_line() {
        let n = consultation_from_message("1", "2", &format!("佐藤\n{}", "あ".repeat(300)), "x");
        assert!(!n.sender.name.contains('\n'));
        assert_eq!(
            n.sender.name.chars().count(),
            renkei_core::model::MAX_SENDER_CHARS
        );
        assert!(n.validate().is_ok());
    }
}
