//! LINE WORKS bot callback `POST /v1/webhooks/lineworks`.
//!
//! Verified by `X-WORKS-Signature` = base64(HMAC-SHA256(raw body, bot secret)), compared in
//! constant time. A `message` event becomes a consultation (channel `lineworks`) or joins the
//! open one of the same talk (thread key = `channelId`, or `userId` for 1:1). LINE WORKS sends no
//! event id, so the external id is the sha256 of source + `issuedTime` + content: a redelivery
//! finds the first delivery. Other events (join, leave, postback…) are answered 200 and ignored.

use crate::errors::ApiError;
use crate::server::{read_body, take_in_webhook, IntakeState, MAX_WEBHOOK_BYTES};
use crate::text::{guess_category, subject_from};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use base64::Engine;
use hmac::{Hmac, Mac};
use renkei_core::codes::Channel;
use renkei_core::model::{NewConsultation, PartnerRef, Sender};
use serde_json::Value;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Signature header name.
pub const SIGNATURE_HEADER: &str = "x-works-signature";

/// base64(HMAC-SHA256(body, secret)) — what LINE WORKS sends.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks a base64 signature in constant time.
pub fn verify(key: &[u8], body: &[u8], signature_b64: Option<&str>) -> bool {
    let Some(sig) = signature_b64 else {
        return false;
    };
    let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig.trim()) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The text we store for a message's content.
fn content_text(content: &Value) -> String {
    let kind = str_field(content, "type").unwrap_or("unknown");
    let file = str_field(content, "fileId")
        .map(|f| format!(" fileId={f}"))
        .unwrap_or_default();
    match kind {
        "text" => content
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        "image" => format!("[画像]{file}"),
        "file" => format!("[ファイル]{file}"),
        "sticker" => "[スタンプ]".to_string(),
        "location" => format!(
            "[位置情報] {}",
            str_field(content, "address").unwrap_or_default()
        ),
        other => format!("[{other}]{file}"),
    }
}

/// The consultation for a LINE WORKS `message` event, or `None` for other events.
pub fn consultation_from_event(event: &Value) -> Result<Option<NewConsultation>, ApiError> {
    if str_field(event, "type") != Some("message") {
        return Ok(None);
    }
    let source = event.get("source").cloned().unwrap_or(Value::Null);
    let channel_id = str_field(&source, "channelId");
    let user_id = str_field(&source, "userId");
    let thread = channel_id.or(user_id).ok_or_else(|| {
        ApiError::invalid_field(
            "source",
            "a message event needs source.channelId or source.userId",
        )
    })?;
    let content = event.get("content").cloned().unwrap_or(Value::Null);
    if !content.is_object() {
        return Err(ApiError::invalid_field(
            "content",
            "a message event needs a content object",
        ));
    }
    let issued = event
        .get("issuedTime")
        .map(Value::to_string)
        .unwrap_or_default();
    // serde_json's map is ordered by key, so the same content always hashes the same.
    let fingerprint = format!(
        "lineworks|{}|{}|{}|{}",
        channel_id.unwrap_or(""),
        user_id.unwrap_or(""),
        issued,
        content
    );
    let external_id = hex::encode(Sha256::digest(fingerprint.as_bytes()));
    let text = content_text(&content);
    let subject = subject_from(&text, "LINE WORKS メッセージ");
    let mut n = NewConsultation::new(
        Channel::Lineworks,
        PartnerRef::Handle {
            channel: Channel::Lineworks,
            handle: thread.to_string(),
            display_name: String::new(),
        },
        guess_category(&text),
        &subject,
        &text,
    );
    n.external_id = Some(external_id);
    n.thread_key = Some(thread.to_string());
    n.sender = Sender {
        name: user_id.unwrap_or("LINE WORKS").chars().take(100).collect(),
        role: None,
        phone: None,
    };
    Ok(Some(n))
}

/// `POST /v1/webhooks/lineworks`.
pub async fn callback(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let raw = read_body(&headers, body, MAX_WEBHOOK_BYTES).await?;
    let secret = state.config().lineworks_bot_secret.clone().ok_or_else(|| {
        ApiError::not_configured(
            "the LINE WORKS bot secret is not set (RENKEI_LINEWORKS_BOT_SECRET); callbacks are refused",
        )
    })?;
    let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if !verify(secret.as_bytes(), &raw, sig) {
        tracing::warn!("lineworks: callback with a bad or missing signature refused");
        return Err(ApiError::unauthorized(
            "missing or wrong X-WORKS-Signature; check the bot secret",
        ));
    }
    take_in_webhook(&state, &raw, "callback", consultation_from_event).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let s = sign(b"secret", b"{}");
        assert!(verify(b"secret", b"{}", Some(&s)));
        assert!(!verify(b"secret", b"{ }", Some(&s)));
        assert!(!verify(b"other", b"{}", Some(&s)));
        assert!(!verify(b"secret", b"{}", None));
        assert!(!verify(b"secret", b"{}", Some("not base64!")));
    }

    #[test]
    fn image_and_file_become_placeholders() {
        let img = serde_json::json!({"type": "image", "fileId": "f1"});
        assert_eq!(content_text(&img), "[画像] fileId=f1");
        let f = serde_json::json!({"type": "file", "fileId": "f2"});
        assert_eq!(content_text(&f), "[ファイル] fileId=f2");
    }

    #[test]
    fn redelivery_has_the_same_external_id() {
        let e = serde_json::json!({"type":"message","source":{"userId":"u1","channelId":"c1","domainId":1},
            "issuedTime":"2026-12-01T00:00:00.000Z","content":{"type":"text","text":"退院のご相談"}});
        let a = consultation_from_event(&e).unwrap().unwrap();
        let b = consultation_from_event(&e.clone()).unwrap().unwrap();
        assert_eq!(a.external_id, b.external_id);
        assert_eq!(a.thread_key.as_deref(), Some("c1"));
        assert_eq!(a.category, renkei_core::Category::Discharge);
        let join = serde_json::json!({"type":"join","source":{"channelId":"c1"}});
        assert!(consultation_from_event(&join).unwrap().is_none());
    }
}
