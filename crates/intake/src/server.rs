//! Running the server: accepting connections with the slow-client limits, graceful shutdown,
//! the background workers, and the two ways to run it (`renkei serve`, in-process for the app).
//!
//! The building blocks live in their own modules and are re-exported here under their old
//! paths: [`IntakeState`] (`state`), [`router`] (`router`), the body limits (`body`).

pub use crate::body::{MAX_ATTACHMENT_BYTES, MAX_JSON_BYTES, MAX_WEBHOOK_BYTES};
pub use crate::router::router;
pub use crate::state::IntakeState;

use crate::config::IntakeConfig;
use crate::tls::TlsFiles;
use crate::wire::JsonBareErrors;
use crate::{chatwork_poll, fax_folder, imap_poll};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use renkei_core::store::DataDir;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::watch;

/// Serves the API on `listener` until `shutdown` completes, then stops accepting and finishes
/// the requests in flight.
///
/// HTTP/1.1 by hyper, with the slow-client limits of [`crate::Timeouts`]: a request head must
/// arrive within `header_read` (else the connection is closed), a body is bounded by
/// `body_idle` / `body_total` / `attachment_total` (else `408`, see `body::read_body`). So no
/// client can hold a connection, or the graceful shutdown, for longer than those limits.
/// (`axum::serve` of axum 0.7 sets no timer, so hyper's header timeout was off there.)
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: IntakeState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_read = state.config().timeouts.header_read;
    let tls = match &state.config().tls {
        Some(files) => Some(crate::tls::acceptor(files).map_err(std::io::Error::other)?),
        None => None,
    };
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
        let service = TowerToHyperService::new(app.clone());
        match &tls {
            None => {
                let io = TokioIo::new(JsonBareErrors::new(stream));
                let conn = graceful.watch(http.serve_connection(io, service));
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "intake: connection ended with an error");
                    }
                });
            }
            Some(acceptor) => {
                // The handshake runs on the connection's own task, bounded like a request
                // head, so a client that never finishes it holds nothing up.
                let (acceptor, http, watcher) =
                    (acceptor.clone(), http.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let stream =
                        match tokio::time::timeout(header_read, acceptor.accept(stream)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "intake: TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::debug!("intake: TLS handshake timed out");
                                return;
                            }
                        };
                    let io = TokioIo::new(JsonBareErrors::new(stream));
                    if let Err(e) = watcher.watch(http.serve_connection(io, service)).await {
                        tracing::debug!(error = %e, "intake: connection ended with an error");
                    }
                });
            }
        }
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

/// Starts the configured background workers (Chatwork poller, outbox sender, FAX folder, IMAP);
/// they stop when
/// `stop` turns true.
pub fn spawn_workers(
    state: &IntakeState,
    stop: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = vec![tokio::spawn(crate::desk_api::events::close_on_stop(
        state.clone(),
        stop.clone(),
    ))];
    if let Some(cfg) = state.config().chatwork_poll.clone() {
        handles.push(tokio::spawn(chatwork_poll::run(
            state.clone(),
            cfg,
            stop.clone(),
        )));
    }
    if let Some(cfg) = state.config().outbound.clone().filter(|o| o.any()) {
        handles.push(tokio::spawn(crate::outbound::run(
            state.clone(),
            cfg,
            stop.clone(),
        )));
    }
    if let Some(cfg) = state.config().fax_folder.clone() {
        handles.push(tokio::spawn(fax_folder::run(
            state.clone(),
            cfg,
            stop.clone(),
        )));
    }
    if let Some(cfg) = state.config().imap.clone() {
        handles.push(tokio::spawn(imap_poll::run(state.clone(), cfg, stop)));
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

/// `renkei serve`: opens the store in `dir`, listens on `listen` (port 0 = any free port) —
/// over HTTPS with `tls` —, prints `listening on http(s)://HOST:PORT` once ready, runs the configured workers, and returns
/// `Ok` after SIGINT/SIGTERM once the requests in flight are answered.
pub fn run_server(dir: DataDir, listen: &str, tls: Option<TlsFiles>) -> Result<(), String> {
    let mut config = IntakeConfig::from_env()?;
    if let Some(files) = &tls {
        crate::tls::server_config(files)?; // every mistake in the files, before anything starts
    }
    config.tls = tls;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
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
            writeln!(out, "listening on {scheme}://{addr}")
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
