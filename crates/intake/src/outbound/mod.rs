//! The sender worker: replies, automatic receipts and on-call messages in the outbox go out
//! to LINE WORKS, Chatwork and partner callbacks (issue 20).
//!
//! Run by `renkei serve` and by the desktop app when it hosts intake (`server::spawn_workers`),
//! when at least one provider is configured. Every `interval` (500 ms) it
//!
//! 0. queues the on-call message for urgent items nobody took within the escalation time
//!    (`Desk::escalate_untaken_urgent`: domain time, at most once per item, safe when two
//!    processes run this worker);
//! 1. puts entries whose sender died mid-send back to `pending`, marked `maybe_duplicate`
//!    (their lease ran out: `Desk::outbox_recover`);
//! 2. reads the due entries, and for each that the provider's limits allow now
//!    (`limits.rs`), claims it (`pending → sending` in one transaction — two workers on one
//!    store never both claim an entry), sends it, and records the answer for that attempt:
//!    `sent` + `remote_id` + `sent_at`, or `pending` again after a backoff (timeouts, 5xx, 429
//!    with the provider's wait), or `failed` with the provider's message (other 4xx).
//!
//! So a reply is sent once; only when the worker dies between the provider's answer and the
//! commit (or a request times out after it went out) can it go out a second time, and then the
//! entry says so (`maybe_duplicate`). Times are the real clock (`RENKEI_NOW` freezes domain
//! time only).

pub mod callback;
pub mod chatwork;
pub mod http;
pub mod limits;
pub mod lineworks;

use crate::state::IntakeState;
use callback::CallbackSender;
use chatwork::{ChatworkSendConfig, ChatworkSender};
use lineworks::{LineworksSendConfig, LineworksSender};
use renkei_core::desk::RetryPolicy;
use renkei_core::outbound::{ReplyRoute, SendJob, SendOutcome};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the sender worker runs.
#[derive(Debug, Clone)]
pub struct OutboundConfig {
    pub lineworks: Option<LineworksSendConfig>,
    pub chatwork: Option<ChatworkSendConfig>,
    /// Pause between rounds (500 ms: a reply is out within a second on a healthy network).
    pub interval: Duration,
    /// How long a claimed entry is ours; after that another worker may send it again
    /// (`RENKEI_OUTBOX_LEASE_SECS`, default 120 s — longer than a request may take).
    pub lease: Duration,
    /// Timeout of one request (`RENKEI_OUTBOX_TIMEOUT_SECS`, default 30 s).
    pub request_timeout: Duration,
    /// Backoff between attempts (`RENKEI_OUTBOX_RETRY_SECS` = the first wait, default 5 s;
    /// doubling up to 10 minutes).
    pub retry: RetryPolicy,
    /// Entries looked at per round.
    pub batch: usize,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// POST replies to the callback URLs partners registered (on unless turned off).
    pub callbacks: bool,
}

impl OutboundConfig {
    /// A worker with these providers and the default timings.
    pub fn new(
        lineworks: Option<LineworksSendConfig>,
        chatwork: Option<ChatworkSendConfig>,
    ) -> Self {
        OutboundConfig {
            lineworks,
            chatwork,
            interval: Duration::from_millis(500),
            lease: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            batch: 100,
            concurrency: 8,
            callbacks: true,
        }
    }

    /// Whether anything can be sent.
    pub fn any(&self) -> bool {
        self.lineworks.is_some() || self.chatwork.is_some() || self.callbacks
    }
}

/// The providers and the HTTP client.
#[derive(Debug)]
pub struct Outbound {
    cfg: OutboundConfig,
    client: reqwest::Client,
    lineworks: Option<LineworksSender>,
    chatwork: Option<ChatworkSender>,
    callbacks: Option<CallbackSender>,
}

impl Outbound {
    pub fn new(cfg: OutboundConfig) -> Result<Outbound, String> {
        let client = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("renkei-desk/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client of the outbox: {e}"))?;
        Ok(Outbound {
            lineworks: cfg.lineworks.clone().map(LineworksSender::new),
            chatwork: cfg.chatwork.clone().map(ChatworkSender::new),
            callbacks: cfg.callbacks.then(CallbackSender::default),
            client,
            cfg,
        })
    }

    async fn try_take(&self, route: &ReplyRoute) -> Option<Result<(), Duration>> {
        match route {
            ReplyRoute::ChatworkRoom { .. } => Some(self.chatwork.as_ref()?.try_take(route).await),
            ReplyRoute::PartnerCallback { .. } => {
                Some(self.callbacks.as_ref()?.try_take(route).await)
            }
            _ => Some(self.lineworks.as_ref()?.try_take(route).await),
        }
    }

    async fn send(&self, job: &SendJob) -> SendOutcome {
        let missing = |what: &str| SendOutcome::Retry {
            error: format!("{what} is not configured here"),
            after: Duration::from_secs(60),
            unknown: false,
        };
        match &job.route {
            ReplyRoute::ChatworkRoom { .. } => match &self.chatwork {
                Some(c) => c.send(&self.client, job).await,
                None => missing("Chatwork"),
            },
            ReplyRoute::PartnerCallback { .. } => match &self.callbacks {
                Some(c) => c.send(&self.client, job).await,
                None => missing("Partner callbacks"),
            },
            _ => match &self.lineworks {
                Some(l) => l.send(&self.client, job).await,
                None => missing("LINE WORKS"),
            },
        }
    }

    /// One round: recover, then send what is due and allowed. Returns how many were sent.
    pub async fn round(self: &Arc<Self>, state: &IntakeState) -> Result<usize, String> {
        let now = chrono::Utc::now();
        let batch = self.cfg.batch;
        let due = state
            .with_desk(move |d| {
                // Urgent items nobody took → the on-call doctor (domain time, once per item).
                match d.escalate_untaken_urgent() {
                    Ok(ids) if !ids.is_empty() => {
                        tracing::warn!(
                            items = ids.len(),
                            "outbox: urgent items untaken; on-call doctor messaged"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox: on-call check failed"),
                }
                d.outbox_recover(now)?;
                Ok(d.outbox_due(now, batch)?)
            })
            .await
            .map_err(|e| e.message)?;
        let mut tasks = JoinSet::new();
        let mut sent = 0;
        let mut unconfigured = HashSet::new();
        // One reply in flight per talk/room, so replies to one partner arrive in order.
        let mut busy: HashSet<String> = HashSet::new();
        for entry in due {
            let dest = entry.route.describe();
            if busy.contains(&dest) {
                continue;
            }
            match self.try_take(&entry.route).await {
                None => {
                    // Another process (the app or `renkei serve`) may be set up for it.
                    unconfigured.insert(entry.route.channel());
                    continue;
                }
                Some(Err(_wait)) => continue,
                Some(Ok(())) => {}
            }
            // A free place first, then the claim: an entry is `sending` only while its
            // request is really about to go out.
            while tasks.len() >= self.cfg.concurrency.max(1) {
                if matches!(tasks.join_next().await, Some(Ok(true))) {
                    sent += 1;
                }
            }
            let (id, lease) = (entry.id, self.cfg.lease);
            let job = state
                .with_desk(move |d| Ok(d.outbox_claim(id, chrono::Utc::now(), lease)?))
                .await
                .map_err(|e| e.message)?;
            let Some(job) = job else { continue };
            busy.insert(dest);
            let me = self.clone();
            let state = state.clone();
            tasks.spawn(async move {
                let outcome = me.send(&job).await;
                let retry = me.cfg.retry;
                log_outcome(&job, &outcome);
                let sent = matches!(outcome, SendOutcome::Sent { .. });
                let recorded = state
                    .with_desk(move |d| {
                        Ok(d.outbox_record(&job, &outcome, retry, chrono::Utc::now())?)
                    })
                    .await;
                if let Err(e) = &recorded {
                    tracing::error!(error = %e.message, "outbox: cannot record a send result");
                }
                sent && matches!(recorded, Ok(true))
            });
        }
        for channel in unconfigured {
            tracing::debug!(%channel, "outbox: replies wait for a sender configured for this channel");
        }
        while let Some(r) = tasks.join_next().await {
            if matches!(r, Ok(true)) {
                sent += 1;
            }
        }
        Ok(sent)
    }
}

/// What went out, without text or addresses beyond the entry id.
fn log_outcome(job: &SendJob, outcome: &SendOutcome) {
    match outcome {
        SendOutcome::Sent { .. } => {
            tracing::info!(entry = job.id, attempt = job.attempt, channel = %job.route.channel(), "outbox: sent")
        }
        SendOutcome::Retry { error, unknown, .. } => tracing::warn!(
            entry = job.id,
            attempt = job.attempt,
            unknown,
            error = %error,
            "outbox: will retry"
        ),
        SendOutcome::Failed { error } => {
            tracing::warn!(entry = job.id, attempt = job.attempt, error = %error, "outbox: refused")
        }
    }
}

/// Runs rounds every `interval` until `stop` turns true; the sends in flight finish first.
pub async fn run(state: IntakeState, cfg: OutboundConfig, mut stop: watch::Receiver<bool>) {
    let interval = cfg.interval;
    let outbound = match Outbound::new(cfg) {
        Ok(o) => Arc::new(o),
        Err(e) => {
            tracing::error!("outbox sender not started: {e}");
            return;
        }
    };
    tracing::info!(
        lineworks = outbound.lineworks.is_some(),
        chatwork = outbound.chatwork.is_some(),
        "outbox sender started"
    );
    loop {
        if *stop.borrow() {
            break;
        }
        if let Err(e) = outbound.round(&state).await {
            tracing::warn!(error = %e, "outbox: round failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!("outbox sender stopped");
}
