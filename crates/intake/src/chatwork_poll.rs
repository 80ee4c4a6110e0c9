//! The Chatwork poller: fills the gaps of the (never retried) webhook by reading
//! `GET {base}/v2/rooms/{room_id}/messages?force=0` with `x-chatworktoken`.
//!
//! * 204 = no new messages; 200 = a JSON array of messages.
//! * One request budget for all rooms (Chatwork: 300 requests / 5 minutes), a token bucket on
//!   the real monotonic clock.
//! * The cursor (last message id taken, per room) lives in the store (`cursors` table), so a
//!   restart neither loses nor repeats messages; every message is keyed by `message_id` like the
//!   webhook, so one seen both ways is stored once.
//! * Errors (429, 5xx, network) back off exponentially; a 429's reset time is honoured.

use crate::chatwork::{consultation_from_message_by, id_text};
use crate::config::ChatworkPollConfig;
use crate::errors::ApiError;
use crate::ratelimit::TokenBucket;
use crate::state::IntakeState;
use renkei_core::store::lease::WorkerLease;
use serde_json::Value;
use std::cmp::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::{watch, Mutex};

/// Why a poll failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    #[error("Chatwork answered 429 (rate limited)")]
    RateLimited { retry_after: Option<Duration> },
    #[error("Chatwork answered {0}")]
    Server(u16),
    #[error(
        "Chatwork refused the request ({0}); check RENKEI_CHATWORK_API_TOKEN and the room ids"
    )]
    Client(u16),
    #[error("cannot reach Chatwork: {0}")]
    Network(String),
    #[error("unreadable answer from Chatwork: {0}")]
    BadAnswer(String),
    #[error("store: {0}")]
    Store(String),
}

impl PollError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            PollError::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

impl From<ApiError> for PollError {
    fn from(e: ApiError) -> Self {
        PollError::Store(format!("{}: {}", e.code, e.message))
    }
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Requests sent.
    pub requests: u32,
    /// Messages received from Chatwork.
    pub messages: u32,
    /// New consultations.
    pub created: u32,
    /// Follow-ups joined to an open consultation.
    pub joined: u32,
    /// Messages already stored (webhook or an earlier poll).
    pub duplicates: u32,
}

/// Cursor key of a room in the store.
pub fn cursor_key(room: &str) -> String {
    format!("chatwork:room:{room}")
}

/// Orders Chatwork message ids (decimal strings, possibly longer than u64).
fn cmp_ids(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The poller: an HTTP client and the shared request budget.
#[derive(Debug)]
pub struct Poller {
    client: reqwest::Client,
    cfg: ChatworkPollConfig,
    budget: Mutex<TokenBucket>,
}

impl Poller {
    pub fn new(cfg: ChatworkPollConfig) -> Result<Poller, String> {
        let client = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .user_agent(concat!("renkei-desk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the Chatwork client: {e}"))?;
        let budget = Mutex::new(TokenBucket::new(
            cfg.budget,
            cfg.budget_period,
            Instant::now(),
        ));
        Ok(Poller {
            client,
            cfg,
            budget,
        })
    }

    pub fn config(&self) -> &ChatworkPollConfig {
        &self.cfg
    }

    /// Waits for a token of the shared request budget.
    async fn take_budget(&self) {
        loop {
            let wait = match self.budget.lock().await.try_take(Instant::now()) {
                Ok(()) => return,
                Err(w) => w,
            };
            tracing::debug!(?wait, "chatwork: request budget used up, waiting");
            tokio::time::sleep(wait).await;
        }
    }

    /// Polls every room once.
    pub async fn poll_once(&self, state: &IntakeState) -> Result<PollReport, PollError> {
        let mut total = PollReport::default();
        for room in &self.cfg.rooms {
            let r = self.poll_room(state, room).await?;
            total.requests += r.requests;
            total.messages += r.messages;
            total.created += r.created;
            total.joined += r.joined;
            total.duplicates += r.duplicates;
        }
        Ok(total)
    }

    /// Polls one room once: fetches, stores the messages after the cursor, moves the cursor.
    pub async fn poll_room(
        &self,
        state: &IntakeState,
        room: &str,
    ) -> Result<PollReport, PollError> {
        self.take_budget().await;
        let url = format!("{}/v2/rooms/{room}/messages?force=0", self.cfg.base_url);
        let resp = self
            .client
            .get(&url)
            .header("x-chatworktoken", &self.cfg.api_token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| PollError::Network(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let mut report = PollReport {
            requests: 1,
            ..PollReport::default()
        };
        match status {
            204 => return Ok(report),
            200 => {}
            429 => {
                return Err(PollError::RateLimited {
                    retry_after: retry_after(resp.headers()),
                })
            }
            s if s >= 500 => return Err(PollError::Server(s)),
            s => return Err(PollError::Client(s)),
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| PollError::Network(e.without_url().to_string()))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(report);
        }
        let list: Vec<Value> =
            serde_json::from_slice(&body).map_err(|e| PollError::BadAnswer(e.to_string()))?;
        report.messages = list.len() as u32;
        let key = cursor_key(room);
        let cursor = {
            let key = key.clone();
            state
                .with_desk(move |desk| Ok(desk.poll_cursor(&key)?))
                .await?
        };
        let mut msgs: Vec<(String, String, Option<String>, String)> = list
            .iter()
            .filter_map(|m| {
                let id = id_text(m.get("message_id"))?;
                let account_id = m.get("account").and_then(|a| id_text(a.get("account_id")));
                let account = m
                    .get("account")
                    .and_then(|a| {
                        a.get("name")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .filter(|n| !n.trim().is_empty())
                            .or_else(|| {
                                id_text(a.get("account_id")).map(|i| format!("Chatwork {i}"))
                            })
                    })
                    .unwrap_or_else(|| "Chatwork".into());
                let body = m
                    .get("body")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                Some((id, account, account_id, body))
            })
            .filter(|(id, _, _, _)| {
                cursor
                    .as_deref()
                    .is_none_or(|c| cmp_ids(id, c) == Ordering::Greater)
            })
            .collect();
        msgs.sort_by(|a, b| cmp_ids(&a.0, &b.0));
        let mut last: Option<String> = None;
        for (id, account, account_id, body) in msgs {
            let n = consultation_from_message_by(room, &id, &account, account_id.as_deref(), &body);
            let (out, _) = state.intake(n, None).await?;
            if out.created {
                report.created += 1;
            } else if out.joined {
                report.joined += 1;
            } else {
                report.duplicates += 1;
            }
            last = Some(id);
        }
        if let Some(last) = last {
            state
                .with_desk(move |desk| Ok(desk.set_poll_cursor(&key, &last, "chatwork")?))
                .await?;
        }
        Ok(report)
    }

    /// The wait before the next round after `failures` consecutive failures.
    pub fn backoff(&self, failures: u32, err: &PollError) -> Duration {
        let exp = self
            .cfg
            .backoff_base
            .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)));
        let wait = exp.min(self.cfg.backoff_max);
        match err.retry_after() {
            Some(r) => wait.max(r.min(self.cfg.backoff_max)),
            None => wait,
        }
    }
}

/// `Retry-After` (seconds) or Chatwork's `x-ratelimit-reset` (epoch seconds).
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let num = |name: &str| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    if let Some(s) = num("retry-after") {
        return Some(Duration::from_secs(s));
    }
    let reset = num("x-ratelimit-reset")?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now)))
}

/// Polls all rooms every `interval` until `stop` turns true; backs off after errors.
pub async fn run(state: IntakeState, cfg: ChatworkPollConfig, mut stop: watch::Receiver<bool>) {
    let poller = match Poller::new(cfg) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!("chatwork poller not started: {e}");
            return;
        }
    };
    tracing::info!(rooms = ?poller.cfg.rooms, "chatwork poller started");
    let mut failures: u32 = 0;
    let mut lease = Lease::default();
    loop {
        if *stop.borrow() {
            break;
        }
        let wait = if !lease.hold(&state).await {
            // Another process polls these rooms; try again after one interval (it takes over
            // within one interval of the holder's end).
            poller.cfg.interval
        } else {
            match poller.poll_once(&state).await {
                Ok(r) => {
                    failures = 0;
                    if r.created + r.joined > 0 {
                        tracing::info!(created = r.created, joined = r.joined, "chatwork: polled");
                    }
                    poller.cfg.interval
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let wait = poller.backoff(failures, &e);
                    tracing::warn!(error = %e, ?wait, failures, "chatwork: poll failed, backing off");
                    wait
                }
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!("chatwork poller stopped");
}

/// The poller's [`WorkerLease`]: only the process that holds it polls (several hubs on one
/// PostgreSQL database, or the app and `renkei serve` on one SQLite store).
#[derive(Default)]
struct Lease {
    held: Option<WorkerLease>,
    /// Whether "standing by" was logged since the last change (logged once, not every round).
    standing_by: bool,
}

impl Lease {
    /// Makes sure this process holds the lease, taking it if it is free; `false` = another
    /// process holds it (or the store cannot be reached now: then nobody here polls either).
    async fn hold(&mut self, state: &IntakeState) -> bool {
        // The checks talk to the store with blocking calls: off the async threads.
        if let Some(lease) = self.held.take() {
            match tokio::task::spawn_blocking(move || {
                let ok = lease.still_held();
                (lease, ok)
            })
            .await
            {
                Ok((lease, true)) => {
                    self.held = Some(lease);
                    return true;
                }
                Ok((_, false)) => {
                    tracing::warn!("chatwork poller: lost the store connection that held the poll lease; taking it again");
                }
                Err(e) => tracing::warn!(error = %e, "chatwork poller: lease check failed"),
            }
        }
        let dir = state.data_dir().clone();
        match tokio::task::spawn_blocking(move || WorkerLease::try_acquire(&dir, "chatwork-poll"))
            .await
        {
            Ok(Ok(Some(lease))) => {
                tracing::info!("chatwork poller: this process polls (it holds the poll lease)");
                self.held = Some(lease);
                self.standing_by = false;
                true
            }
            Ok(Ok(None)) => {
                if !self.standing_by {
                    tracing::info!(
                        "chatwork poller: another process polls these rooms; standing by"
                    );
                    self.standing_by = true;
                }
                false
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "chatwork poller: cannot take the poll lease");
                false
            }
            Err(e) => {
                tracing::warn!(error = %e, "chatwork poller: lease task failed");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_numerically() {
        assert_eq!(cmp_ids("10", "9"), Ordering::Greater);
        assert_eq!(cmp_ids("1234567890123456789012", "999"), Ordering::Greater);
        assert_eq!(cmp_ids("5", "5"), Ordering::Equal);
    }

    #[test]
    fn backoff_doubles_up_to_max() {
        let mut cfg = ChatworkPollConfig::new("t", vec!["1".into()], "http://x");
        cfg.backoff_base = Duration::from_secs(1);
        cfg.backoff_max = Duration::from_secs(10);
        let p = Poller::new(cfg).unwrap();
        let e = PollError::Server(500);
        assert_eq!(p.backoff(1, &e), Duration::from_secs(1));
        assert_eq!(p.backoff(2, &e), Duration::from_secs(2));
        assert_eq!(p.backoff(3, &e), Duration::from_secs(4));
        assert_eq!(p.backoff(10, &e), Duration::from_secs(10));
        let rl = PollError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(p.backoff(1, &rl), Duration::from_secs(7));
    }
}
