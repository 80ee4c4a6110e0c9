//! Live: `GET /v1/desk/events` (Server-Sent Events) and presence (`POST /v1/desk/presence`).
//!
//! **Change events** come from the store's change sequence (the audit ids, see
//! `renkei_core::store::changes`): each has `id: <seq>`, so a desk that reconnects with
//! `Last-Event-ID` gets exactly the events after it — the sequence is gap-free and in commit
//! order on both engines. Wake-up: one tail task per hub process reads the newest sequence
//! number every 200 ms (one indexed `MAX(id)`), and at once when a change was committed
//! through this process ([`Hub::wake`]: desk actions, intake) or — on PostgreSQL — when a
//! `NOTIFY renkei_changes` arrives from any process's write transaction ([`listen_pg`]); the
//! connections then read their missing rows. On SQLite, changes by other processes (`renkei`
//! commands, the app on the same file) are seen by the 200 ms poll. The notification is only a
//! wake-up: the sequence makes a lost or late one lose nothing, it only adds ≤ 200 ms.
//!
//! **Presence** ("大野さんが閲覧中 / 対応中") is kept in this process's memory with a 60 s
//! TTL (a desk repeats it while the item is open) and sent as `event: presence` without an
//! `id:` (it is not part of the sequence and is not replayed). With several hub processes
//! behind a load balancer, presence is per process — noted in docs/architecture.md.
//! A heartbeat comment every 15 s keeps proxies from closing an idle stream. Every 5 s a stream
//! re-checks its device and session without counting as activity
//! (`Desk::desk_session_holds`): a revoked PC, a signed-out or idle session loses its stream.

use super::{caller, json_body};
use crate::errors::ApiError;
use crate::state::IntakeState;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use renkei_core::store::changes::ChangeEvent;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};

/// How long a presence lasts unless repeated.
pub const PRESENCE_TTL: Duration = Duration::from_secs(60);
/// How often the tail reads the newest sequence number.
pub const TAIL_TICK: Duration = Duration::from_millis(200);
/// Heartbeat comment interval.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// How often an open stream re-checks its device and session (revoked, signed out, idle).
pub const RECHECK: Duration = Duration::from_secs(5);
/// Audit rows read per round when catching up.
const BATCH: i64 = 500;

/// Presence of one person on one consultation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub consultation_id: i64,
    pub who: String,
    /// `viewing` or `handling`; `gone` when they left (closed it).
    pub state: String,
    /// Seconds until it lapses unless repeated.
    pub ttl_seconds: u64,
}

/// The live part of the hub process: presence, and the wake-up of event streams.
#[derive(Debug)]
pub struct Hub {
    seq: watch::Sender<i64>,
    tail_started: AtomicBool,
    closing: watch::Sender<bool>,
    presence: Mutex<HashMap<(i64, String), (String, Instant)>>,
    presence_tx: broadcast::Sender<Presence>,
    /// A change was just committed through this process: read the sequence now.
    wake: tokio::sync::Notify,
    /// Set by [`Hub::close`]: the PostgreSQL listener thread ends.
    stopped: std::sync::Arc<AtomicBool>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            seq: watch::channel(0).0,
            tail_started: AtomicBool::new(false),
            closing: watch::channel(false).0,
            presence: Mutex::new(HashMap::new()),
            presence_tx: broadcast::channel(1024).0,
            wake: tokio::sync::Notify::new(),
            stopped: std::sync::Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Hub {
    /// Who views or handles consultation `id` now (lapsed entries left out).
    pub fn presence_of(&self, id: i64) -> Vec<Presence> {
        let now = Instant::now();
        let map = match self.presence.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut out: Vec<Presence> = map
            .iter()
            .filter(|((cid, _), (_, until))| *cid == id && *until > now)
            .map(|((cid, who), (state, until))| Presence {
                consultation_id: *cid,
                who: who.clone(),
                state: state.clone(),
                ttl_seconds: until.saturating_duration_since(now).as_secs(),
            })
            .collect();
        out.sort_by(|a, b| a.who.cmp(&b.who));
        out
    }

    fn set_presence(&self, id: i64, who: &str, state: &str) -> Presence {
        let now = Instant::now();
        let mut map = match self.presence.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        map.retain(|_, (_, until)| *until > now);
        let key = (id, who.to_string());
        let ttl = if state == "gone" {
            map.remove(&key);
            Duration::ZERO
        } else {
            map.insert(key, (state.to_string(), now + PRESENCE_TTL));
            PRESENCE_TTL
        };
        let p = Presence {
            consultation_id: id,
            who: who.to_string(),
            state: state.to_string(),
            ttl_seconds: ttl.as_secs(),
        };
        let _ = self.presence_tx.send(p.clone());
        p
    }

    /// A change was committed through this process (a desk action, an intake): the tail reads
    /// the sequence at once instead of at its next tick.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Ends every event stream (the server is shutting down: graceful shutdown waits for open
    /// responses, and a stream never ends by itself).
    pub fn close(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        let _ = self.closing.send(true);
    }
}

/// Ends the event streams when the server's workers are told to stop (`spawn_workers`).
pub async fn close_on_stop(state: IntakeState, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    state.hub().close();
}

/// The one tail task of this process: reads the newest sequence number every [`TAIL_TICK`]
/// and wakes the streams when it moved.
fn ensure_tail(state: &IntakeState) {
    if state.hub().tail_started.swap(true, Ordering::SeqCst) {
        return;
    }
    if let Some(url) = state.data_dir().database_url.clone() {
        listen_pg(state.clone(), url);
    }
    let state = state.clone();
    tokio::spawn(async move {
        let mut closing = state.hub().closing.subscribe();
        loop {
            if *closing.borrow() {
                break;
            }
            match state.with_desk(|d| Ok(d.change_seq()?)).await {
                Ok(seq) => {
                    state.hub().seq.send_if_modified(|s| {
                        let moved = seq > *s;
                        if moved {
                            *s = seq;
                        }
                        moved
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e.message, "desk events: reading the sequence failed")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(TAIL_TICK) => {}
                () = state.hub().wake.notified() => {}
                _ = closing.changed() => {}
            }
        }
    });
}

/// On PostgreSQL: a thread LISTENs for the `NOTIFY` every write transaction sends (any hub
/// process, any `renkei` command on the database) and wakes the tail at once; reconnects after
/// a second when the connection fails. The 200 ms poll stays as the safety net.
fn listen_pg(state: IntakeState, url: String) {
    let spawned = std::thread::Builder::new()
        .name("renkei-pg-listen".into())
        .spawn(move || {
            let stop = state.hub().stopped.clone();
            while !stop.load(Ordering::Relaxed) {
                let wake = || state.hub().wake();
                if let Err(e) = renkei_core::store::changes::listen_pg(&url, &stop, &wake) {
                    tracing::warn!(error = %e, "desk events: LISTEN failed; retrying in 1 s");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "desk events: cannot start the LISTEN thread; polling only");
    }
}

#[derive(Deserialize)]
pub struct EventsQuery {
    /// Resume after this sequence number (when the client cannot set `Last-Event-ID`).
    after: Option<i64>,
}

/// One open stream.
struct Stream {
    state: IntakeState,
    cursor: i64,
    pending: VecDeque<Event>,
    seq: watch::Receiver<i64>,
    presence: broadcast::Receiver<Presence>,
    closing: watch::Receiver<bool>,
    /// The caller's tokens, re-checked every [`RECHECK`]: a revoked PC or an ended session
    /// loses its stream too, not only its next request.
    device_token: String,
    session_token: String,
    next_check: tokio::time::Instant,
}

fn change_event(e: &ChangeEvent) -> Event {
    let data = serde_json::to_string(e).unwrap_or_else(|_| "{}".into());
    Event::default()
        .id(e.seq.to_string())
        .event("change")
        .data(data)
}

fn presence_event(p: &Presence) -> Event {
    let data = serde_json::to_string(p).unwrap_or_else(|_| "{}".into());
    Event::default().event("presence").data(data)
}

impl Stream {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Stream)> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some((Ok(e), self));
            }
            if *self.closing.borrow() {
                return None;
            }
            if tokio::time::Instant::now() >= self.next_check {
                let (d, s) = (self.device_token.clone(), self.session_token.clone());
                let holds = self
                    .state
                    .with_desk(move |desk| Ok(desk.desk_session_holds(&d, &s)?))
                    .await;
                if matches!(holds, Ok(false)) {
                    return None;
                }
                self.next_check = tokio::time::Instant::now() + RECHECK;
            }
            let newest = *self.seq.borrow_and_update();
            if newest > self.cursor {
                let after = self.cursor;
                match self
                    .state
                    .with_desk(move |d| Ok(d.changes_after(after, BATCH)?))
                    .await
                {
                    Ok((events, last)) => {
                        self.pending.extend(events.iter().map(change_event));
                        self.cursor = last.max(after);
                        if last == after {
                            // Nothing readable yet above the cursor (another process's commit
                            // not visible to this snapshot yet): try again after a tick.
                            tokio::time::sleep(TAIL_TICK).await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e.message, "desk events: reading changes failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                continue;
            }
            self.wait().await;
        }
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.seq.changed() => {}
            p = self.presence.recv() => match p {
                Ok(p) => self.pending.push_back(presence_event(&p)),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {}
            },
            _ = self.closing.changed() => {}
            () = tokio::time::sleep_until(self.next_check) => {}
        }
    }
}

/// `GET /v1/desk/events` (device + session): `text/event-stream` of `event: change` (with
/// `id:`) and `event: presence`. Starts after `Last-Event-ID` (or `?after=`), else at the
/// newest change.
pub async fn events(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>>, ApiError> {
    caller(&state, &headers).await?;
    let token = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let device_token = token("authorization")
        .split_once(' ')
        .map(|(_, t)| t.trim().to_string())
        .unwrap_or_default();
    let session_token = token(super::SESSION_HEADER);
    let resume = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "Last-Event-ID",
                        "Last-Event-ID must be the id of an event this stream sent (a number)",
                    )
                })?,
        ),
        None => q.after.filter(|n| *n >= 0),
    };
    let cursor = match resume {
        Some(n) => n,
        None => state.with_desk(|d| Ok(d.change_seq()?)).await?,
    };
    ensure_tail(&state);
    let hub = state.hub();
    let stream = Stream {
        cursor,
        pending: VecDeque::new(),
        seq: hub.seq.subscribe(),
        presence: hub.presence_tx.subscribe(),
        closing: hub.closing.subscribe(),
        state: state.clone(),
        device_token,
        session_token,
        next_check: tokio::time::Instant::now() + RECHECK,
    };
    let s = futures_util::stream::unfold(stream, Stream::next);
    Ok(Sse::new(s).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat")))
}

#[derive(Deserialize)]
pub struct PresenceRequest {
    consultation_id: i64,
    state: String,
}

/// `POST /v1/desk/presence {"consultation_id", "state": "viewing"|"handling"|"gone"}` →
/// `200` the presence as broadcast (the name is the session's).
pub async fn presence(
    State(state): State<IntakeState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, axum::Json<Presence>), ApiError> {
    let req: PresenceRequest = json_body(&state, &headers, body).await?;
    let c = caller(&state, &headers).await?;
    if !matches!(req.state.as_str(), "viewing" | "handling" | "gone") {
        return Err(ApiError::invalid_field(
            "state",
            "state must be 'viewing', 'handling' or 'gone'",
        ));
    }
    let id = req.consultation_id;
    // The consultation must exist (a typo would otherwise be broadcast to every desk).
    state
        .with_desk(move |d| Ok(d.queue_row(id).map(|_| ())?))
        .await?;
    let p = state.hub().set_presence(id, &c.name(), &req.state);
    Ok((StatusCode::OK, axum::Json(p)))
}
