//! Partner callbacks: a reply to a partner-API consultation is POSTed to the URL the partner
//! registered (`renkei partner callback ID --url URL`), signed with the partner's secret (shown
//! once at registration):
//!
//! * `X-Renkei-Timestamp`: seconds since the epoch;
//! * `X-Renkei-Signature`: `sha256=` + hex(HMAC-SHA256(secret, timestamp + "." + body));
//! * `Idempotency-Key`: `renkei-outbox-<entry id>` — the same for every attempt of one reply,
//!   so a partner that keeps the keys it saw receives a reply once even after a crash retry.
//!
//! Body: `{"event":"consultation.reply","consultation_id","external_id","reply":{"id","at",
//! "author","body"}}`. Any 2xx counts as delivered; 429/5xx/timeouts are retried, other 4xx
//! fail with the partner's message. Limits: 60 requests / minute per partner URL.

use super::http::{no_answer, refused};
use super::limits::SendLimits;
use hmac::{Hmac, Mac};
use renkei_core::outbound::{ReplyRoute, SendJob, SendOutcome};
use sha2::Sha256;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// The signature header value for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The callback sender.
#[derive(Debug)]
pub struct CallbackSender {
    limits: Mutex<SendLimits>,
}

impl Default for CallbackSender {
    fn default() -> Self {
        CallbackSender {
            limits: Mutex::new(SendLimits::new(
                (600, Duration::from_secs(60)),
                Some((60, Duration::from_secs(60))),
            )),
        }
    }
}

impl CallbackSender {
    pub async fn try_take(&self, route: &ReplyRoute) -> Result<(), Duration> {
        let key = match route {
            ReplyRoute::PartnerCallback { url, .. } => url.as_str(),
            _ => "",
        };
        self.limits.lock().await.try_take(key, Instant::now())
    }

    pub async fn send(&self, client: &reqwest::Client, job: &SendJob) -> SendOutcome {
        let (ReplyRoute::PartnerCallback { url, .. }, Some(secret)) = (&job.route, &job.secret)
        else {
            return SendOutcome::Failed {
                error: "the partner's callback is no longer registered; the reply stays on its status page".into(),
            };
        };
        let ts = chrono::Utc::now().timestamp();
        let resp = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-renkei-timestamp", ts.to_string())
            .header("x-renkei-signature", signature(secret, ts, &job.text))
            .header("idempotency-key", format!("renkei-outbox-{}", job.id))
            .body(job.text.clone())
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return no_answer("the partner's callback", &e),
        };
        let (status, headers, body) = super::http::answer(resp).await;
        if (200..300).contains(&status) {
            return SendOutcome::Sent { remote_id: None };
        }
        let out = refused("The partner's callback", status, &headers, &body);
        self.limits.lock().await.after_refusal(status, &out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_time_and_body() {
        let a = signature("s3cret", 1_800_000_000, r#"{"x":1}"#);
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_ne!(a, signature("s3cret", 1_800_000_001, r#"{"x":1}"#));
        assert_ne!(a, signature("s3cret", 1_800_000_000, r#"{"x":2}"#));
        assert_ne!(a, signature("other", 1_800_000_000, r#"{"x":1}"#));
    }
}
