//! LINE WORKS API 2.0 bot messages.
//!
//! * Sign-in: a service-account JWT (RS256; `iss` = client id, `sub` = service account, `iat`,
//!   `exp` = `iat` + 30 min, within LINE WORKS' 1 h) exchanged at the token endpoint
//!   (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `client_id`, `client_secret`,
//!   `scope=bot`). The access token is cached until shortly before it expires (a tenth of its
//!   life, at most 5 minutes, early), and dropped at once when the API answers 401.
//! * Send: `POST {base}/bots/{botId}/channels/{channelId}/messages` or
//!   `/users/{userId}/messages`, body `{"content":{"type":"text","text":…}}` → 201.
//! * 240 requests / minute per operation (`limits.rs`); a 429's `RateLimit-Reset` is honoured.
//!
//! The private key, client secret and tokens are never logged (`Debug` masks them).

use super::http::{no_answer, refused};
use super::limits::SendLimits;
use base64::Engine;
use renkei_core::outbound::{ReplyRoute, SendJob, SendOutcome};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::Value;
use sha2::Sha256;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

pub const DEFAULT_API_BASE: &str = "https://www.worksapis.com/v1.0";
pub const DEFAULT_AUTH_URL: &str = "https://auth.worksmobile.com/oauth2/v2.0/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of the sign-in JWT (LINE WORKS accepts at most 1 h).
const JWT_LIFETIME_SECS: i64 = 1800;

/// How to reach the bot API (`RENKEI_LINEWORKS_*`).
#[derive(Clone)]
pub struct LineworksSendConfig {
    pub api_base: String,
    pub auth_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub service_account: String,
    pub bot_id: String,
    /// The service account's private key (PKCS#8 or PKCS#1 PEM), parsed.
    pub private_key: RsaPrivateKey,
    /// Per operation: 240 / minute.
    pub limit: (u32, Duration),
}

impl std::fmt::Debug for LineworksSendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineworksSendConfig")
            .field("api_base", &self.api_base)
            .field("auth_url", &self.auth_url)
            .field("client_id", &self.client_id)
            .field("service_account", &self.service_account)
            .field("bot_id", &self.bot_id)
            .field("client_secret", &"<set>")
            .field("private_key", &"<set>")
            .finish()
    }
}

/// Reads a PEM private key (PKCS#8 `BEGIN PRIVATE KEY`, as the Developer Console gives it,
/// or PKCS#1 `BEGIN RSA PRIVATE KEY`). The error never quotes the file.
pub fn parse_private_key(pem: &str) -> Result<RsaPrivateKey, String> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    RsaPrivateKey::from_pkcs8_pem(pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(pem))
        .map_err(|_| {
            "is not an RSA private key in PEM form (download the service account's key from \
             the LINE WORKS Developer Console)"
                .to_string()
        })
}

/// The sign-in JWT for `now` (seconds since the epoch).
pub fn service_account_jwt(cfg: &LineworksSendConfig, now: i64) -> String {
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": cfg.client_id,
        "sub": cfg.service_account,
        "iat": now,
        "exp": now + JWT_LIFETIME_SECS,
    });
    let input = format!("{header}.{}", b64(claims.to_string().as_bytes()));
    let key = SigningKey::<Sha256>::new(cfg.private_key.clone());
    let sig = key.sign(input.as_bytes()).to_bytes();
    format!("{input}.{}", b64(&sig))
}

struct Token {
    value: String,
    renew_at: Instant,
}

/// The LINE WORKS sender.
pub struct LineworksSender {
    cfg: LineworksSendConfig,
    token: Mutex<Option<Token>>,
    limits: Mutex<SendLimits>,
}

impl std::fmt::Debug for LineworksSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineworksSender")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl LineworksSender {
    pub fn new(cfg: LineworksSendConfig) -> Self {
        let limits = Mutex::new(SendLimits::new(cfg.limit, Some(cfg.limit)));
        LineworksSender {
            cfg,
            token: Mutex::new(None),
            limits,
        }
    }

    /// A place in the limits (per operation: channel messages, user messages) now, or the wait.
    pub async fn try_take(&self, route: &ReplyRoute) -> Result<(), Duration> {
        let op = match route {
            ReplyRoute::LineworksUser { .. } => "users.messages",
            _ => "channels.messages",
        };
        self.limits.lock().await.try_take(op, Instant::now())
    }

    /// A valid access token: the cached one, or a new one from the token endpoint.
    async fn token(&self, client: &reqwest::Client) -> Result<String, SendOutcome> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| t.renew_at > Instant::now()) {
            return Ok(t.value.clone());
        }
        let jwt = service_account_jwt(&self.cfg, chrono::Utc::now().timestamp());
        let resp = client
            .post(&self.cfg.auth_url)
            .form(&[
                ("assertion", jwt.as_str()),
                ("grant_type", JWT_BEARER),
                ("client_id", self.cfg.client_id.as_str()),
                ("client_secret", self.cfg.client_secret.as_str()),
                ("scope", "bot"),
            ])
            .send()
            .await
            .map_err(|e| no_answer("LINE WORKS sign-in", &e))?;
        let (status, headers, body) = super::http::answer(resp).await;
        if !(200..300).contains(&status) {
            return Err(match refused("LINE WORKS sign-in", status, &headers, &body) {
                SendOutcome::Failed { error } => SendOutcome::Failed {
                    error: format!(
                        "{error} — check RENKEI_LINEWORKS_CLIENT_ID/CLIENT_SECRET/SERVICE_ACCOUNT and the key"
                    ),
                },
                other => other,
            });
        }
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let Some(token) = v.get("access_token").and_then(Value::as_str) else {
            return Err(SendOutcome::Retry {
                error: "LINE WORKS sign-in answered without an access_token".into(),
                after: Duration::ZERO,
                unknown: false,
            });
        };
        // expires_in is a string in LINE WORKS' answers ("86400"); accept a number too.
        let life = match v.get("expires_in") {
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(Value::Number(n)) => n.as_u64(),
            _ => None,
        }
        .unwrap_or(3600);
        let early = (life / 10).min(300);
        *slot = Some(Token {
            value: token.to_string(),
            renew_at: Instant::now() + Duration::from_secs(life.saturating_sub(early)),
        });
        tracing::info!(expires_in = life, "lineworks: signed in");
        Ok(token.to_string())
    }

    /// Sends one claimed reply (a 401 drops the token and tries once more with a new one).
    pub async fn send(&self, client: &reqwest::Client, job: &SendJob) -> SendOutcome {
        let url = match &job.route {
            ReplyRoute::LineworksChannel { channel_id } => format!(
                "{}/bots/{}/channels/{channel_id}/messages",
                self.cfg.api_base, self.cfg.bot_id
            ),
            ReplyRoute::LineworksUser { user_id } => format!(
                "{}/bots/{}/users/{user_id}/messages",
                self.cfg.api_base, self.cfg.bot_id
            ),
            ReplyRoute::ChatworkRoom { .. } | ReplyRoute::PartnerCallback { .. } => {
                return SendOutcome::Failed {
                    error: "not a LINE WORKS route".into(),
                }
            }
        };
        let body = serde_json::json!({"content": {"type": "text", "text": job.text}});
        for round in 0..2 {
            let token = match self.token(client).await {
                Ok(t) => t,
                Err(out) => return out,
            };
            let resp = match client
                .post(&url)
                .bearer_auth(&token)
                .json(&body)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return no_answer("LINE WORKS", &e),
            };
            let (status, headers, text) = super::http::answer(resp).await;
            if (200..300).contains(&status) {
                return SendOutcome::Sent { remote_id: None };
            }
            if status == 401 && round == 0 {
                tracing::info!("lineworks: token refused (401), signing in again");
                *self.token.lock().await = None;
                continue;
            }
            let out = refused("LINE WORKS", status, &headers, &text);
            self.limits.lock().await.after_refusal(status, &out);
            return out;
        }
        SendOutcome::Failed {
            error: "LINE WORKS refused the token twice".into(),
        }
    }
}
