//! Configuration of the intake server, from the environment (`renkei serve`) or built by the
//! desktop app.

use crate::imap_account::ImapConfig;
use crate::outbound::chatwork::ChatworkSendConfig;
use crate::outbound::lineworks::{self, LineworksSendConfig};
use crate::outbound::OutboundConfig;
use crate::IntakeNotice;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Called after each committed intake (the desktop app refreshes its queue and notifies).
pub type IntakeCallback = Arc<dyn Fn(IntakeNotice) + Send + Sync>;

/// Default per-partner limit of the partner API.
pub const DEFAULT_RATE_LIMIT_PER_MIN: u32 = 600;
/// Default Chatwork API base.
pub const DEFAULT_CHATWORK_API_BASE: &str = "https://api.chatwork.com";

/// Everything the server needs besides the store.
#[derive(Clone)]
pub struct IntakeConfig {
    /// LINE WORKS bot secret (`RENKEI_LINEWORKS_BOT_SECRET`); `None` → the callback answers 503.
    pub lineworks_bot_secret: Option<String>,
    /// Chatwork webhook token, base64 as Chatwork shows it (`RENKEI_CHATWORK_WEBHOOK_TOKEN`).
    pub chatwork_webhook_token: Option<String>,
    /// Partner API requests per minute per partner (`RENKEI_RATE_LIMIT_PER_MIN`, 0 = off).
    pub rate_limit_per_min: u32,
    /// Chatwork poller; `None` = off.
    pub chatwork_poll: Option<ChatworkPollConfig>,
    /// FAX/scanner folder watcher; `None` = off.
    pub fax_folder: Option<FaxFolderConfig>,
    /// The outbox sender (replies to LINE WORKS / Chatwork); `None` = off.
    pub outbound: Option<OutboundConfig>,
    /// IMAP poller of the clinic's mailbox; `None` = off.
    pub imap: Option<ImapConfig>,
    /// Store connections used by request handlers.
    pub desk_pool_size: usize,
    /// Slow clients (see [`Timeouts`]).
    pub timeouts: Timeouts,
    /// HTTPS: the certificate and key files (`renkei serve --tls-cert/--tls-key`); `None` = HTTP
    /// (loopback, or behind a reverse proxy that terminates TLS).
    pub tls: Option<crate::tls::TlsFiles>,
    pub on_intake: Option<IntakeCallback>,
}

/// How long the server waits for a slow client before it gives up, so that a client that
/// dribbles a request byte by byte (slowloris) holds a connection for a bounded time only and
/// cannot stall a graceful shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest wait for a request's head (request line and headers), counted from the first
    /// wait for it; also bounds an idle keep-alive connection. Then the connection is closed
    /// without an answer (hyper's `header_read_timeout`).
    pub header_read: Duration,
    /// Longest pause between two pieces of a request body; then `408 {"code":"timeout"}`.
    pub body_idle: Duration,
    /// Longest time to receive a whole JSON or webhook body (at most 1 MiB); then `408`.
    pub body_total: Duration,
    /// Longest time to receive a whole attachment body (at most 20 MiB); then `408`.
    pub attachment_total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: Duration::from_secs(10),
            body_idle: Duration::from_secs(15),
            body_total: Duration::from_secs(60),
            // 20 MiB in 10 minutes is ~35 KiB/s: a slow office uplink still makes it.
            attachment_total: Duration::from_secs(600),
        }
    }
}

impl std::fmt::Debug for IntakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeConfig")
            .field(
                "lineworks_bot_secret",
                &self.lineworks_bot_secret.as_ref().map(|_| "<set>"),
            )
            .field(
                "chatwork_webhook_token",
                &self.chatwork_webhook_token.as_ref().map(|_| "<set>"),
            )
            .field("rate_limit_per_min", &self.rate_limit_per_min)
            .field("chatwork_poll", &self.chatwork_poll)
            .field("fax_folder", &self.fax_folder)
            .field("outbound", &self.outbound)
            .field("imap", &self.imap)
            .field("desk_pool_size", &self.desk_pool_size)
            .field("timeouts", &self.timeouts)
            .field("on_intake", &self.on_intake.as_ref().map(|_| "<callback>"))
            .finish()
    }
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            lineworks_bot_secret: None,
            chatwork_webhook_token: None,
            rate_limit_per_min: DEFAULT_RATE_LIMIT_PER_MIN,
            chatwork_poll: None,
            fax_folder: None,
            outbound: None,
            imap: None,
            desk_pool_size: 4,
            timeouts: Timeouts::default(),
            tls: None,
            on_intake: None,
        }
    }
}

/// The Chatwork poller: `GET {base}/v2/rooms/{room}/messages?force=0` per room.
#[derive(Clone)]
pub struct ChatworkPollConfig {
    pub api_token: String,
    pub rooms: Vec<String>,
    /// Without trailing slash, e.g. `https://api.chatwork.com`.
    pub base_url: String,
    /// Pause between rounds over all rooms (`RENKEI_CHATWORK_POLL_SECS`, default 60 s).
    pub interval: Duration,
    /// First wait after an error; doubles per consecutive error up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Request budget shared by all rooms: `budget` requests per `budget_period`
    /// (Chatwork: 300 / 5 min).
    pub budget: u32,
    pub budget_period: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for ChatworkPollConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatworkPollConfig")
            .field("api_token", &"<set>")
            .field("rooms", &self.rooms)
            .field("base_url", &self.base_url)
            .field("interval", &self.interval)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("budget", &self.budget)
            .field("budget_period", &self.budget_period)
            .finish()
    }
}

impl ChatworkPollConfig {
    pub fn new(api_token: &str, rooms: Vec<String>, base_url: &str) -> Self {
        ChatworkPollConfig {
            api_token: api_token.to_string(),
            rooms,
            base_url: base_url.trim_end_matches('/').to_string(),
            interval: Duration::from_secs(60),
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(300),
            budget: 300,
            budget_period: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The FAX/scanner folder watcher.
#[derive(Debug, Clone)]
pub struct FaxFolderConfig {
    pub folder: PathBuf,
    /// Scan period (2 s: network shares deliver no change events).
    pub interval: Duration,
}

impl FaxFolderConfig {
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        FaxFolderConfig {
            folder: folder.into(),
            interval: Duration::from_secs(2),
        }
    }
}

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl IntakeConfig {
    /// Reads the `RENKEI_*` variables (see the crate doc). A malformed value is an error that
    /// names the variable.
    pub fn from_env() -> Result<IntakeConfig, String> {
        let mut c = IntakeConfig {
            lineworks_bot_secret: env_nonempty("RENKEI_LINEWORKS_BOT_SECRET"),
            chatwork_webhook_token: env_nonempty("RENKEI_CHATWORK_WEBHOOK_TOKEN"),
            ..IntakeConfig::default()
        };
        if let Some(v) = env_nonempty("RENKEI_RATE_LIMIT_PER_MIN") {
            c.rate_limit_per_min = v.parse().map_err(|_| {
                format!("RENKEI_RATE_LIMIT_PER_MIN must be a whole number of requests per minute (0 = off), not '{v}'")
            })?;
        }
        c.outbound = outbound_from_env()?;
        if let (Some(token), Some(rooms)) = (
            env_nonempty("RENKEI_CHATWORK_API_TOKEN"),
            env_nonempty("RENKEI_CHATWORK_ROOMS"),
        ) {
            let rooms: Vec<String> = rooms
                .split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect();
            if rooms.is_empty() {
                return Err(
                    "RENKEI_CHATWORK_ROOMS is empty: list the room ids to poll, comma-separated"
                        .into(),
                );
            }
            if let Some(bad) = rooms
                .iter()
                .find(|r| !r.chars().all(|c| c.is_ascii_digit()))
            {
                return Err(format!(
                    "RENKEI_CHATWORK_ROOMS: '{bad}' is not a Chatwork room id (digits only)"
                ));
            }
            // The poller adds /v2 itself; the contract's base carries it.
            let base = env_nonempty("RENKEI_CHATWORK_API_BASE")
                .map(|b| b.trim_end_matches('/').trim_end_matches("/v2").to_string())
                .unwrap_or_else(|| DEFAULT_CHATWORK_API_BASE.to_string());
            let mut p = ChatworkPollConfig::new(&token, rooms, &base);
            if let Some(v) = env_nonempty("RENKEI_CHATWORK_POLL_SECS") {
                let secs: u64 = v.parse().map_err(|_| {
                    format!("RENKEI_CHATWORK_POLL_SECS must be a number of seconds, not '{v}'")
                })?;
                p.interval = Duration::from_secs(secs.max(1));
            }
            c.chatwork_poll = Some(p);
        }
        if let Some(f) = env_nonempty("RENKEI_FAX_FOLDER") {
            c.fax_folder = Some(FaxFolderConfig::new(f));
        }
        c.imap = imap_from_env()?;
        Ok(c)
    }
}

fn secs_env(name: &str) -> Result<Option<Duration>, String> {
    env_nonempty(name)
        .map(|v| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x > 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("{name} must be a number of seconds, not '{v}'"))
        })
        .transpose()
}

/// The outbox sender from `RENKEI_LINEWORKS_*` (all of client id, client secret, service
/// account, private key file and bot id), `RENKEI_CHATWORK_API_TOKEN` and partner callbacks
/// (`RENKEI_PARTNER_CALLBACKS=off` turns them off); `None` when nothing can be sent. A half-set LINE WORKS configuration is an error naming what is missing.
fn outbound_from_env() -> Result<Option<OutboundConfig>, String> {
    const LW: [&str; 5] = [
        "RENKEI_LINEWORKS_CLIENT_ID",
        "RENKEI_LINEWORKS_CLIENT_SECRET",
        "RENKEI_LINEWORKS_SERVICE_ACCOUNT",
        "RENKEI_LINEWORKS_PRIVATE_KEY_FILE",
        "RENKEI_LINEWORKS_BOT_ID",
    ];
    let lw: Vec<Option<String>> = LW.iter().map(|n| env_nonempty(n)).collect();
    let lineworks = if lw.iter().all(Option::is_none) {
        None
    } else {
        let missing: Vec<&str> = LW
            .iter()
            .zip(&lw)
            .filter(|(_, v)| v.is_none())
            .map(|(n, _)| *n)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "LINE WORKS replies need {}; set them too, or unset the RENKEI_LINEWORKS_* sending variables",
                missing.join(", ")
            ));
        }
        let v = |i: usize| lw[i].clone().unwrap_or_default();
        let key_file = v(3);
        let pem = std::fs::read_to_string(&key_file).map_err(|e| {
            format!("RENKEI_LINEWORKS_PRIVATE_KEY_FILE: cannot read {key_file}: {e}")
        })?;
        let private_key = lineworks::parse_private_key(&pem)
            .map_err(|e| format!("RENKEI_LINEWORKS_PRIVATE_KEY_FILE: {key_file} {e}"))?;
        Some(LineworksSendConfig {
            api_base: env_nonempty("RENKEI_LINEWORKS_API_BASE")
                .unwrap_or_else(|| lineworks::DEFAULT_API_BASE.to_string())
                .trim_end_matches('/')
                .to_string(),
            auth_url: env_nonempty("RENKEI_LINEWORKS_AUTH_URL")
                .unwrap_or_else(|| lineworks::DEFAULT_AUTH_URL.to_string()),
            client_id: v(0),
            client_secret: v(1),
            service_account: v(2),
            bot_id: v(4),
            private_key,
            limit: (240, Duration::from_secs(60)),
        })
    };
    let chatwork = env_nonempty("RENKEI_CHATWORK_API_TOKEN").map(|token| {
        let base = env_nonempty("RENKEI_CHATWORK_API_BASE")
            .unwrap_or_else(|| crate::outbound::chatwork::DEFAULT_API_BASE.to_string());
        ChatworkSendConfig::new(&base, &token)
    });
    let mut o = OutboundConfig::new(lineworks, chatwork);
    // Partner callbacks need no settings: the sender always runs (an idle round is one read).
    o.callbacks = env_nonempty("RENKEI_PARTNER_CALLBACKS").as_deref() != Some("off");
    if !o.any() {
        return Ok(None);
    }
    if let Some(d) = secs_env("RENKEI_OUTBOX_LEASE_SECS")? {
        o.lease = d;
    }
    if let Some(d) = secs_env("RENKEI_OUTBOX_TIMEOUT_SECS")? {
        o.request_timeout = d;
    }
    if let Some(d) = secs_env("RENKEI_OUTBOX_RETRY_SECS")? {
        o.retry.base = d;
    }
    Ok(Some(o))
}

/// `RENKEI_IMAP_URL` + `RENKEI_IMAP_PASSWORD` and the optional `RENKEI_IMAP_DONE_FOLDER`,
/// `RENKEI_IMAP_ERROR_FOLDER`, `RENKEI_IMAP_CA_FILE`, `RENKEI_IMAP_POLL_SECS`,
/// `RENKEI_MCS_SENDERS`; `None` without a URL.
pub fn imap_from_env() -> Result<Option<ImapConfig>, String> {
    let Some(url) = env_nonempty("RENKEI_IMAP_URL") else {
        return Ok(None);
    };
    // Not trimmed: a password may end in a space.
    let password = std::env::var("RENKEI_IMAP_PASSWORD").unwrap_or_default();
    let mut c = ImapConfig::parse(&url, &password)?;
    if let Some(f) = env_nonempty("RENKEI_IMAP_DONE_FOLDER") {
        c.done_folder = f;
    }
    if let Some(f) = env_nonempty("RENKEI_IMAP_ERROR_FOLDER") {
        c.error_folder = f;
    }
    if c.done_folder.trim_matches('/') == c.mailbox || c.error_folder.trim_matches('/') == c.mailbox
    {
        return Err("RENKEI_IMAP_DONE_FOLDER / RENKEI_IMAP_ERROR_FOLDER must differ from the polled mailbox".into());
    }
    if let Some(f) = env_nonempty("RENKEI_IMAP_CA_FILE") {
        c.ca_file = Some(PathBuf::from(f));
    }
    if let Some(v) = env_nonempty("RENKEI_IMAP_POLL_SECS") {
        let secs: u64 = v
            .parse()
            .map_err(|_| format!("RENKEI_IMAP_POLL_SECS must be a number of seconds, not '{v}'"))?;
        c.poll_interval = Duration::from_secs(secs.max(1));
    }
    c.mail = renkei_core::mail::MailOptions::with_mcs_senders(
        std::env::var("RENKEI_MCS_SENDERS").ok().as_deref(),
    );
    Ok(Some(c))
}
