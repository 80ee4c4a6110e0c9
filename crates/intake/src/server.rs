//! The server: shared state (a small pool of store connections), the router, body reading,
//! graceful shutdown, and the two ways to run it (`renkei serve`, in-process for the app).

use crate::config::{FaxFolderConfig, IntakeConfig};
use crate::errors::{self, ApiError};
use crate::ratelimit::RateLimiter;
use crate::wire::JsonBareErrors;
use crate::{chatwork, chatwork_poll, fax_folder, lineworks, partner_api, IntakeNotice};
use axum::body::{Body, Bytes};
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use renkei_core::clock::{clock_from_env, Clock};
use renkei_core::desk::Desk;
use renkei_core::model::{IntakeOutcome, NewConsultation, QueueRow};
use renkei_core::store::{DataDir, StoreKey};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// Shared state of the server and its background workers. Cheap to clone.
#[derive(Clone)]
pub struct IntakeState {
    inner: Arc<Inner>,
}

struct Inner {
    dir: DataDir,
    key: StoreKey,
    clock: Arc<dyn Clock>,
    desks: Mutex<Vec<Desk>>,
    permits: Semaphore,
    config: IntakeConfig,
    limiter: RateLimiter,
}

impl std::fmt::Debug for IntakeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntakeState")
            .field("dir", &self.inner.dir.root)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl IntakeState {
    /// Opens the store in `dir` with the key from the environment / key file and the clock from
    /// `RENKEI_NOW`.
    pub fn new(dir: DataDir, config: IntakeConfig) -> Result<IntakeState, String> {
        let key = StoreKey::resolve(&dir).map_err(|e| e.to_string())?;
        let clock: Arc<dyn Clock> = Arc::from(clock_from_env()?);
        Self::with_key(dir, key, clock, config).map_err(|e| e.to_string())
    }

    /// Opens the store with an explicit key and clock (tests, the desktop app).
    pub fn with_key(
        dir: DataDir,
        key: StoreKey,
        clock: Arc<dyn Clock>,
        mut config: IntakeConfig,
    ) -> renkei_core::Result<IntakeState> {
        let n = config.desk_pool_size.clamp(1, 32);
        let mut desks = Vec::with_capacity(n);
        for _ in 0..n {
            desks.push(Desk::open_with_key(&dir, key.clone(), clock.clone())?);
        }
        // The environment wins; the clinic's saved settings fill what it leaves open.
        if let Some(saved) = desks.first().map(|d| d.settings().intake.clone()) {
            let set = |v: Option<String>| v.filter(|x| !x.trim().is_empty());
            if config.fax_folder.is_none() {
                config.fax_folder = set(saved.fax_folder).map(FaxFolderConfig::new);
            }
            if config.lineworks_bot_secret.is_none() {
                config.lineworks_bot_secret = set(saved.lineworks_bot_secret);
            }
            if config.chatwork_webhook_token.is_none() {
                config.chatwork_webhook_token = set(saved.chatwork_webhook_token);
            }
        }
        let limiter = RateLimiter::new(config.rate_limit_per_min);
        Ok(IntakeState {
            inner: Arc::new(Inner {
                dir,
                key,
                clock,
                desks: Mutex::new(desks),
                permits: Semaphore::new(n),
                config,
                limiter,
            }),
        })
    }

    pub fn config(&self) -> &IntakeConfig {
        &self.inner.config
    }

    pub fn data_dir(&self) -> &DataDir {
        &self.inner.dir
    }

    pub(crate) fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    /// Runs `f` on a store connection from the pool, on a blocking thread.
    pub async fn with_desk<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Desk) -> Result<T, ApiError> + Send + 'static,
    {
        let _permit = self
            .inner
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the server is shutting down"))?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let taken = match inner.desks.lock() {
                Ok(mut g) => g.pop(),
                Err(p) => p.into_inner().pop(),
            };
            let mut desk = match taken {
                Some(d) => d,
                None => Desk::open_with_key(&inner.dir, inner.key.clone(), inner.clock.clone())?,
            };
            let out = f(&mut desk);
            match inner.desks.lock() {
                Ok(mut g) => g.push(desk),
                Err(p) => p.into_inner().push(desk),
            }
            out
        })
        .await
        .map_err(|e| ApiError::internal(format!("the store worker failed: {e}")))?
    }

    /// Takes in a consultation (durable when this returns) and tells the `on_intake` callback.
    pub async fn intake(
        &self,
        n: NewConsultation,
        idem: Option<(String, String)>,
    ) -> Result<(IntakeOutcome, QueueRow), ApiError> {
        let channel = n.channel;
        let (out, row) = self
            .with_desk(move |desk| {
                let out =
                    desk.intake_keyed(n, idem.as_ref().map(|(k, h)| (k.as_str(), h.as_str())))?;
                let row = desk.queue_row(out.id)?;
                Ok((out, row))
            })
            .await?;
        tracing::info!(
            id = out.id,
            created = out.created,
            joined = out.joined,
            channel = %channel,
            "intake"
        );
        if out.created || out.joined {
            self.notify(IntakeNotice::from_row(&row, out.created, out.joined));
        }
        Ok((out, row))
    }

    pub(crate) fn notify(&self, notice: IntakeNotice) {
        if let Some(cb) = &self.inner.config.on_intake {
            cb(notice);
        }
    }
}

/// Largest partner-API JSON body.
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Largest webhook body.
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;
/// Largest attachment body.
pub const MAX_ATTACHMENT_BYTES: usize = renkei_core::store::blobs::MAX_ATTACHMENT_BYTES;

/// Size and time limits of one request body (see [`crate::Timeouts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyLimits {
    pub max_bytes: usize,
    /// Longest pause between two pieces of the body.
    pub idle: Duration,
    /// Longest time for the whole body.
    pub total: Duration,
}

impl IntakeState {
    /// Limits of a partner-API JSON body.
    pub(crate) fn json_body(&self) -> BodyLimits {
        let t = self.inner.config.timeouts;
        BodyLimits {
            max_bytes: MAX_JSON_BYTES,
            idle: t.body_idle,
            total: t.body_total,
        }
    }

    /// Limits of a webhook body.
    pub(crate) fn webhook_body(&self) -> BodyLimits {
        BodyLimits {
            max_bytes: MAX_WEBHOOK_BYTES,
            ..self.json_body()
        }
    }

    /// Limits of an attachment body.
    pub(crate) fn attachment_body(&self) -> BodyLimits {
        let t = self.inner.config.timeouts;
        BodyLimits {
            max_bytes: MAX_ATTACHMENT_BYTES,
            idle: t.body_idle,
            total: t.attachment_total,
        }
    }
}

/// Reads a request body of at most `limits.max_bytes` bytes. A larger body is drained (up to a
/// cap, so the client can read our answer instead of a connection reset) and answered with 413.
/// A body that stalls for longer than `limits.idle`, or takes longer than `limits.total` in all,
/// is answered with `408 {"code":"timeout"}` and the connection is closed: a slow client
/// (slowloris) holds a connection for a bounded time only.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limits: BodyLimits,
) -> Result<Bytes, ApiError> {
    let limit = limits.max_bytes;
    let too_large = || {
        ApiError::too_large(format!(
            "the request body is larger than {} bytes; nothing was stored",
            limit
        ))
    };
    let drain_cap = limit.saturating_mul(2).saturating_add(8 * 1024 * 1024);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain_cap as u64) {
        return Err(too_large());
    }
    let deadline = tokio::time::Instant::now() + limits.total;
    let mut body = body;
    let mut buf: Vec<u8> = Vec::new();
    let mut seen: usize = 0;
    let mut over = declared.is_some_and(|n| n > limit as u64);
    loop {
        let wait_until = deadline.min(tokio::time::Instant::now() + limits.idle);
        let Ok(next) = tokio::time::timeout_at(wait_until, body.frame()).await else {
            tracing::warn!(
                received = seen,
                "intake: request body too slow, answered 408"
            );
            return Err(ApiError::timeout(format!(
                "the request body arrived too slowly (received {seen} bytes; at most {} s without data, {} s in all); nothing was stored",
                limits.idle.as_secs(),
                limits.total.as_secs()
            )));
        };
        let Some(frame) = next else { break };
        let frame = frame.map_err(|e| {
            ApiError::bad_request("bad_body", format!("could not read the request body: {e}"))
        })?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen > limit {
                over = true;
            }
            if over {
                buf = Vec::new();
                if seen > drain_cap {
                    break;
                }
            } else {
                buf.extend_from_slice(&data);
            }
        }
    }
    if over {
        return Err(too_large());
    }
    Ok(Bytes::from(buf))
}

/// The media type of a request without parameters, lower case.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|v| !v.is_empty())
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// The HTTP API (see docs/openapi.yaml).
pub fn router(state: IntakeState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/v1/consultations",
            post(partner_api::create).get(partner_api::list),
        )
        .route("/v1/consultations/:id", get(partner_api::view))
        .route(
            "/v1/consultations/:id/attachments",
            post(partner_api::attach),
        )
        .route("/v1/webhooks/lineworks", post(lineworks::callback))
        .route("/v1/webhooks/chatwork", post(chatwork::webhook))
        .fallback(errors::not_found_fallback)
        .method_not_allowed_fallback(errors::method_not_allowed_fallback)
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(errors::json_errors))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes, then stops accepting and finishes
/// the requests in flight.
///
/// HTTP/1.1 by hyper, with the slow-client limits of [`crate::Timeouts`]: a request head must
/// arrive within `header_read` (else the connection is closed), a body is bounded by
/// `body_idle` / `body_total` / `attachment_total` (else `408`, see [`read_body`]). So no
/// client can hold a connection, or the graceful shutdown, for longer than those limits.
/// (`axum::serve` of axum 0.7 sets no timer, so hyper's header timeout was off there.)
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: IntakeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_read = state.config().timeouts.header_read;
    let app = router(state);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if !is_connection_error(&e) {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::error!(error = %e, "intake: accept failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let io = TokioIo::new(JsonBareErrors::new(stream));
        let conn = graceful.watch(http.serve_connection(io, TowerToHyperService::new(app.clone())));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "intake: connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Starts the configured background workers (Chatwork poller, FAX folder); they stop when
/// `stop` turns true.
pub fn spawn_workers(
    state: &IntakeState,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    if let Some(cfg) = state.config().chatwork_poll.clone() {
        handles.push(tokio::spawn(chatwork_poll::run(
            state.clone(),
            cfg,
            stop.clone(),
        )));
    }
    if let Some(cfg) = state.config().fax_folder.clone() {
        handles.push(tokio::spawn(fax_folder::run(state.clone(), cfg, stop)));
    }
    handles
}

async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("renkei-intake")
        .build()
        .map_err(|e| format!("cannot start the server runtime: {e}"))
}

async fn bind(listen: &str) -> Result<tokio::net::TcpListener, String> {
    tokio::net::TcpListener::bind(listen).await.map_err(|e| {
        format!("cannot listen on {listen}: {e}; pick another address with --listen (port 0 = any free port)")
    })
}

async fn run_until(
    listener: tokio::net::TcpListener,
    state: IntakeState,
    stop_signal: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = spawn_workers(&state, stop_rx);
    let shutdown = async move {
        stop_signal.await;
        tracing::info!("intake: shutting down, finishing requests in flight");
        let _ = stop_tx.send(true);
    };
    let served = serve(listener, state, shutdown).await;
    for w in workers {
        let _ = w.await;
    }
    served.map_err(|e| format!("the server stopped with an error: {e}"))
}

/// `renkei serve`: opens the store in `dir`, listens on `listen` (port 0 = any free port),
/// prints `listening on http://HOST:PORT` once ready, runs the configured workers, and returns
/// `Ok` after SIGINT/SIGTERM once the requests in flight are answered.
pub fn run_server(dir: DataDir, listen: &str) -> Result<(), String> {
    let config = IntakeConfig::from_env()?;
    let state = IntakeState::new(dir, config)?;
    let rt = runtime()?;
    rt.block_on(async move {
        let listener = bind(listen).await?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on http://{addr}")
                .and_then(|_| out.flush())
                .map_err(|e| format!("cannot write to stdout: {e}"))?;
        }
        tracing::info!(%addr, "intake: listening");
        run_until(listener, state, termination()).await
    })
}

/// The server running inside the desktop app.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl ServerHandle {
    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, finishes the requests in flight and the workers, and waits.
    pub fn stop(mut self) -> Result<(), String> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), String> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| "the intake server thread panicked".to_string())?,
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

/// Runs the server on its own thread and runtime (the desktop app). Returns once it listens.
pub fn spawn_in_process(
    dir: DataDir,
    config: IntakeConfig,
    listen: &str,
) -> Result<ServerHandle, String> {
    let state = IntakeState::new(dir, config)?;
    spawn_with_state(state, listen)
}

/// Like [`spawn_in_process`] with a ready state (explicit key and clock).
pub fn spawn_with_state(state: IntakeState, listen: &str) -> Result<ServerHandle, String> {
    let listen = listen.to_string();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("renkei-intake".into())
        .spawn(move || -> Result<(), String> {
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.clone()));
                    return Err(e);
                }
            };
            rt.block_on(async move {
                let listener = match bind(&listen).await {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.clone()));
                        return Err(e);
                    }
                };
                let addr = listener
                    .local_addr()
                    .map_err(|e| format!("cannot read the bound address: {e}"));
                let _ = ready_tx.send(addr.clone());
                addr?;
                run_until(listener, state, async move {
                    let _ = stop_rx.await;
                })
                .await
            })
        })
        .map_err(|e| format!("cannot start the intake server thread: {e}"))?;
    match ready_rx.recv() {
        Ok(Ok(addr)) => Ok(ServerHandle {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => Err(match thread.join() {
            Ok(Err(e)) => e,
            _ => "the intake server thread ended before it was ready".to_string(),
        }),
    }
}

/// The common end of both webhooks: parse the (already verified) body, turn it into a
/// consultation with `convert` (or ignore the event), take it in, answer
/// `{ok, id, created, joined}` or `{ok, ignored: true}`.
pub(crate) async fn take_in_webhook(
    state: &IntakeState,
    raw: &[u8],
    what: &str,
    convert: impl FnOnce(
        &serde_json::Value,
    ) -> Result<Option<renkei_core::model::NewConsultation>, ApiError>,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let payload = crate::json::parse_strict(raw).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("the {what} is not valid JSON ({e})"),
        )
    })?;
    let Some(n) = convert(&payload)? else {
        return Ok(axum::Json(serde_json::json!({"ok": true, "ignored": true})));
    };
    let (out, _) = state.intake(n, None).await?;
    Ok(axum::Json(serde_json::json!({
        "ok": true,
        "id": out.id,
        "created": out.created,
        "joined": out.joined,
    })))
}
