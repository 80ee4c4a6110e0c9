//! Chatwork: `POST {base}/v2/rooms/{room_id}/messages` (form `body`, header `X-ChatWorkToken`)
//! → `{"message_id": …}`, kept as the entry's `remote_id`. Limits: 300 requests / 5 minutes per
//! token, 10 posts / 10 s per room (`limits.rs`).

use super::http::{no_answer, refused};
use super::limits::SendLimits;
use renkei_core::outbound::{ReplyRoute, SendJob, SendOutcome};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Default Chatwork API (with its version, as in the contract).
pub const DEFAULT_API_BASE: &str = "https://api.chatwork.com/v2";

/// How to reach Chatwork.
#[derive(Clone)]
pub struct ChatworkSendConfig {
    /// The API base with its version: `https://api.chatwork.com/v2` (a base without `/v2`, as
    /// the poller takes it, gets `/v2` added).
    pub api_base: String,
    pub api_token: String,
    /// Per token: 300 requests / 5 minutes.
    pub token_limit: (u32, Duration),
    /// Per room: 10 posts / 10 s.
    pub room_limit: (u32, Duration),
}

impl std::fmt::Debug for ChatworkSendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatworkSendConfig")
            .field("api_base", &self.api_base)
            .field("api_token", &"<set>")
            .finish_non_exhaustive()
    }
}

impl ChatworkSendConfig {
    pub fn new(api_base: &str, api_token: &str) -> Self {
        let base = api_base.trim().trim_end_matches('/');
        let api_base = if base.ends_with("/v2") {
            base.to_string()
        } else {
            format!("{base}/v2")
        };
        ChatworkSendConfig {
            api_base,
            api_token: api_token.to_string(),
            token_limit: (300, Duration::from_secs(300)),
            room_limit: (10, Duration::from_secs(10)),
        }
    }
}

/// The Chatwork sender.
#[derive(Debug)]
pub struct ChatworkSender {
    cfg: ChatworkSendConfig,
    limits: Mutex<SendLimits>,
}

impl ChatworkSender {
    pub fn new(cfg: ChatworkSendConfig) -> Self {
        let limits = Mutex::new(SendLimits::new(cfg.token_limit, Some(cfg.room_limit)));
        ChatworkSender { cfg, limits }
    }

    /// A place in the limits for a send to `route` now, or the wait.
    pub async fn try_take(&self, route: &ReplyRoute) -> Result<(), Duration> {
        let room = match route {
            ReplyRoute::ChatworkRoom { room_id, .. } => room_id.as_str(),
            _ => "",
        };
        self.limits.lock().await.try_take(room, Instant::now())
    }

    /// Sends one claimed reply.
    pub async fn send(&self, client: &reqwest::Client, job: &SendJob) -> SendOutcome {
        let ReplyRoute::ChatworkRoom { room_id, .. } = &job.route else {
            return SendOutcome::Failed {
                error: "not a Chatwork route".into(),
            };
        };
        let url = format!("{}/rooms/{room_id}/messages", self.cfg.api_base);
        let resp = client
            .post(&url)
            .header("x-chatworktoken", &self.cfg.api_token)
            .header("accept", "application/json")
            .form(&[("body", job.text.as_str()), ("self_unread", "0")])
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return no_answer("Chatwork", &e),
        };
        let (status, headers, body) = super::http::answer(resp).await;
        if (200..300).contains(&status) {
            let remote_id = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| crate::chatwork::id_text(v.get("message_id")));
            return SendOutcome::Sent { remote_id };
        }
        let out = refused("Chatwork", status, &headers, &body);
        self.limits.lock().await.after_refusal(status, &out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_gets_its_version_once() {
        assert_eq!(
            ChatworkSendConfig::new("https://api.chatwork.com", "t").api_base,
            "https://api.chatwork.com/v2"
        );
        assert_eq!(
            ChatworkSendConfig::new("https://api.chatwork.com/v2/", "t").api_base,
            "https://api.chatwork.com/v2"
        );
    }
}
