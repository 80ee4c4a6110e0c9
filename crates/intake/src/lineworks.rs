//! LINE WORKS bot callback `POST /v1/webhooks/lineworks`.
//!
//! Verified by `X-WORKS-Signature` = base64(HMAC-SHA256(raw body, bot secret)), compared in
//! constant time. A `message` event becomes a consultation (channel `lineworks`) or joins the
//! open one of the same talk (thread key = `channelId`, or `userId` for 1:1). LINE WORKS sends no
//! event id, so the external id is the sha256 of source + `issuedTime` + content: a redelivery
//! finds the first delivery. Other events (join, leave, postback…) are answered 200 and ignored.

use crate::body::{read_body, take_in_webhook};
use crate::errors::ApiError;
use crate::state::IntakeState;
use crate::text::{guess_category, subject_from};
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use base64::Engine;
use hmac::{Hmac, Mac};
use renkei_core::codes::Channel;
use renkei_core::model::{NewConsultation, PartnerRef, Sender};
use renkei_core::outbound::ReplyRoute;
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

/// Longest LINE WORKS id (channelId, userId, fileId) we accept, in bytes.
pub const MAX_ID_BYTES: usize = renkei_core::model::MAX_HANDLE_BYTES;

/// An optional string field of `v`: missing or `null` is `None`; another type, or an id that
/// is not one line of at most [`MAX_ID_BYTES`] bytes, is a 400 naming `path`.
fn opt_str<'a>(v: &'a Value, key: &str, path: &str, id: bool) -> Result<Option<&'a str>, ApiError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = s.trim();
            if id && (t.len() > MAX_ID_BYTES || t.chars().any(char::is_control)) {
                return Err(ApiError::invalid_field(
                    path,
                    format!("{path} must be an id of at most {MAX_ID_BYTES} bytes on one line"),
                ));
            }
            Ok(Some(t).filter(|t| !t.is_empty()))
        }
        Some(_) => Err(ApiError::invalid_field(
            path,
            format!("{path} must be a string"),
        )),
    }
}

/// The text we store for a message's content.
fn content_text(content: &Value) -> Result<String, ApiError> {
    let kind = opt_str(content, "type", "content.type", true)?
        .ok_or_else(|| ApiError::invalid_field("content.type", "a message needs content.type"))?;
    let file = opt_str(content, "fileId", "content.fileId", true)?
        .map(|f| format!(" fileId={f}"))
        .unwrap_or_default();
    Ok(match kind {
        "text" => match content.get("text") {
            Some(Value::String(t)) => t.clone(),
            _ => {
                return Err(ApiError::invalid_field(
                    "content.text",
                    "a text message needs content.text as a string",
                ))
            }
        },
        "image" => format!("[画像]{file}"),
        "file" => format!("[ファイル]{file}"),
        "sticker" => "[スタンプ]".to_string(),
        "location" => format!(
            "[位置情報] {}",
            opt_str(content, "address", "content.address", false)?.unwrap_or_default()
        ),
        other => format!("[{other}]{file}"),
    })
}

/// The consultation for a LINE WORKS `message` event, or `None` for other events.
///
/// Strict about the fields it reads: a field of the wrong type, or an id that is not one short
/// line, is a 400 naming it (`source.channelId`, `content.text`, …), never a guess.
pub fn consultation_from_event(event: &Value) -> Result<Option<NewConsultation>, ApiError> {
    if event.get("type").and_then(Value::as_str) != Some("message") {
        return Ok(None);
    }
    let source = match event.get("source") {
        Some(s @ Value::Object(_)) => s,
        _ => {
            return Err(ApiError::invalid_field(
                "source",
                "a message event needs a source object",
            ))
        }
    };
    let channel_id = opt_str(source, "channelId", "source.channelId", true)?;
    let user_id = opt_str(source, "userId", "source.userId", true)?;
    let thread = channel_id.or(user_id).ok_or_else(|| {
        ApiError::invalid_field(
            "source",
            "a message event needs source.channelId or source.userId",
        )
    })?;
    let content = match event.get("content") {
        Some(c @ Value::Object(_)) => c,
        _ => {
            return Err(ApiError::invalid_field(
                "content",
                "a message event needs a content object",
            ))
        }
    };
    let issued = match event.get("issuedTime") {
        None | Some(Value::Null) => String::new(),
        Some(v @ (Value::String(_) | Value::Number(_))) => v.to_string(),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "issuedTime",
                "issuedTime must be a time string",
            ))
        }
    };
    // serde_json's map is ordered by key, so the same content always hashes the same.
    let fingerprint = format!(
        "lineworks|{}|{}|{}|{}",
        channel_id.unwrap_or(""),
        user_id.unwrap_or(""),
        issued,
        content
    );
    let external_id = hex::encode(Sha256::digest(fingerprint.as_bytes()));
    let text = content_text(content)?;
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
    // A reply goes back to the same talk: the room, or the 1:1 talk with the bot.
    n.origin = Some(match channel_id {
        Some(c) => ReplyRoute::LineworksChannel {
            channel_id: c.to_string(),
        },
        None => ReplyRoute::LineworksUser {
            user_id: thread.to_string(),
        },
    });
    n.sender = Sender {
        name: user_id
            .unwrap_or("LINE WORKS")
            .chars()
            .take(renkei_core::model::MAX_SENDER_CHARS)
            .collect(),
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
    let raw = read_body(&headers, body, state.webhook_body()).await?;
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
        assert_eq!(content_text(&img).unwrap(), "[画像] fileId=f1");
        let f = serde_json::json!({"type": "file", "fileId": "f2"});
        assert_eq!(content_text(&f).unwrap(), "[ファイル] fileId=f2");
    }

    /// Found by the hostile-input test: a wrong type was ignored and the message stored anyway
    /// (threaded by the user instead of the channel, or with an empty text).
    #[test]
    fn wrong_types_are_refused_with_the_field() {
        let ok = serde_json::json!({"type": "message", "source": {"userId": "u1", "channelId": "c1"},
            "issuedTime": "2026-12-01T00:00:00Z", "content": {"type": "text", "text": "ご相談"}});
        assert!(consultation_from_event(&ok).unwrap().is_some());
        for (path, bad, field) in [
            (
                &["source", "channelId"][..],
                serde_json::json!(5),
                "source.channelId",
            ),
            (
                &["source", "userId"],
                serde_json::json!(["u"]),
                "source.userId",
            ),
            (
                &["source", "channelId"],
                serde_json::json!("c\u{0}"),
                "source.channelId",
            ),
            (
                &["source", "channelId"],
                serde_json::json!("c".repeat(201)),
                "source.channelId",
            ),
            (
                &["content", "type"],
                serde_json::json!(true),
                "content.type",
            ),
            (&["content", "text"], serde_json::json!({}), "content.text"),
            (
                &["content", "fileId"],
                serde_json::json!(1),
                "content.fileId",
            ),
            (&["issuedTime"], serde_json::json!({}), "issuedTime"),
        ] {
            let mut e = ok.clone();
            if path.len() == 2 {
                e[path[0]][path[1]] = bad;
            } else {
                e[path[0]] = bad;
            }
            let err = consultation_from_event(&e).unwrap_err();
            assert_eq!(err.field.as_deref(), Some(field), "{err:?}");
            assert_eq!(err.status.as_u16(), 400);
        }
    }

    #[test]
    fn redelivery_has_the_same_external_id() {
        let e = serde_json::json!({"type":"message","source":{"userId":"u1","channelId":"c1","domainId":1},
            "issuedTime":"2026-12-01T00:00:00.000Z","content":{"type":"text","text":"退院のご相談"}});
        let a = consultation_from_event(&e).unwrap().unwrap();
        let b = consultation_from_event(&e.clone()).unwrap().unwrap();
        assert_eq!(a.external_id, b.external_id);
        assert_eq!(a.thread_key.as_deref(), Some("c1"));
        assert_eq!(
            a.origin,
            Some(ReplyRoute::LineworksChannel {
                channel_id: "c1".into()
            })
        );
        assert_eq!(a.category, renkei_core::Category::Discharge);
        let join = serde_json::json!({"type":"join","source":{"channelId":"c1"}});
        assert!(consultation_from_event(&join).unwrap().is_none());
    }
}
