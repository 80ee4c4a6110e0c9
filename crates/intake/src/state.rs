//! The shared state of the server and its background workers: the store (a small pool of
//! `Desk`s, each with its own connection, used on blocking threads), the configuration, the
//! rate limiter, and the one way every handler takes in a consultation ([`IntakeState::intake`]).

use crate::config::{FaxFolderConfig, IntakeConfig};
use crate::errors::ApiError;
use crate::group_commit::GroupCommit;
use crate::ratelimit::RateLimiter;
use crate::IntakeNotice;
use renkei_core::clock::{clock_from_env, Clock};
use renkei_core::desk::Desk;
use renkei_core::model::{IntakeOutcome, NewConsultation, QueueRow};
use renkei_core::store::{DataDir, StoreKey};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

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
    /// Every intake goes through this one writer (group commit).
    writer: GroupCommit,
    config: IntakeConfig,
    limiter: RateLimiter,
    /// Connected desks' live part: presence, event-stream wake-up (`desk_api::events`).
    hub: crate::desk_api::Hub,
    /// Partners found by API key (SQLite stores; see `auth_cache`).
    auth: crate::auth_cache::AuthCache,
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
        let writers = if dir.database_url.is_some() {
            crate::group_commit::PG_WRITERS
        } else {
            1
        };
        let writer = GroupCommit::start(
            (0..writers)
                .map(|_| Desk::open_with_key(&dir, key.clone(), clock.clone()))
                .collect::<renkei_core::Result<_>>()?,
        )?;
        let auth = if dir.database_url.is_some() {
            crate::auth_cache::AuthCache::disabled()
        } else {
            crate::auth_cache::AuthCache::new(crate::auth_cache::TTL)
        };
        Ok(IntakeState {
            inner: Arc::new(Inner {
                auth,
                dir,
                key,
                clock,
                desks: Mutex::new(desks),
                permits: Semaphore::new(n),
                writer,
                config,
                limiter,
                hub: crate::desk_api::Hub::default(),
            }),
        })
    }

    pub fn config(&self) -> &IntakeConfig {
        &self.inner.config
    }

    pub fn data_dir(&self) -> &DataDir {
        &self.inner.dir
    }

    pub(crate) fn hub(&self) -> &crate::desk_api::Hub {
        &self.inner.hub
    }

    pub(crate) fn auth_cache(&self) -> &crate::auth_cache::AuthCache {
        &self.inner.auth
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

    /// Takes in a consultation (durable when this returns: group commit, see
    /// `group_commit.rs`) and tells the `on_intake` callback.
    pub async fn intake(
        &self,
        n: NewConsultation,
        idem: Option<(String, String)>,
    ) -> Result<(IntakeOutcome, QueueRow), ApiError> {
        let channel = n.channel;
        let (out, row) = self.inner.writer.intake(n, idem).await?;
        tracing::info!(
            id = out.id,
            created = out.created,
            joined = out.joined,
            channel = %channel,
            "intake"
        );
        if out.created || out.joined {
            self.inner.hub.wake();
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
