//! Connected mode (issue 19): this PC enrolled at a hub. [`HubLink`] holds the hub client (or
//! none — then the app works on its local store as before) and is the one backend switch the
//! commands ask ([`crate::state::DeskState::hub_client`]); the commands stay one line each way.
//!
//! Two threads while connected: the **follower** reads `GET /v1/desk/events` (resuming with
//! `Last-Event-ID`, reconnecting with backoff in renkei-hubclient) and turns every change into
//! the same `queue-changed` the local store watcher emits, and every presence into
//! `hub-presence`; the **presence** thread repeats 「閲覧中」 for the consultation open on this
//! PC every 30 s (the hub forgets it after 60 s).
//!
//! Unattended installs: env `RENKEI_HUB_URL` + `RENKEI_DEVICE_CODE` enrol at start when this PC
//! is not yet connected (`RENKEI_HUB_FINGERPRINT`, if set, must match the hub's certificate).

use crate::error::{CmdResult, CommandError};
use crate::events::{HUB_CHANGED, HUB_PRESENCE, QUEUE_CHANGED};
use chrono::{DateTime, Utc};
use renkei_hubclient::client::probe;
use renkei_hubclient::{credential, DeviceCredential, HubClient, HubError, HubEvent, HubUrl};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};

/// What the settings section shows.
#[derive(Debug, Clone, Serialize)]
pub struct HubStatus {
    pub connected: bool,
    pub url: Option<String>,
    pub device_name: Option<String>,
    pub fingerprint: Option<String>,
    /// The last request reached the hub.
    pub online: bool,
    /// When the queue was last read from the hub.
    pub last_sync: Option<DateTime<Utc>>,
    /// Why the hub could not be used (offline, revoked), for the banner.
    pub problem: Option<String>,
    /// Actions done offline still to send (the outbox), and those the hub refused.
    pub outbox_pending: usize,
    pub outbox_conflicts: usize,
}

/// What the first step of 「ハブに接続」 shows: the certificate to confirm.
#[derive(Debug, Clone, Serialize)]
pub struct HubProbe {
    pub url: String,
    /// SHA-256 of the hub's certificate (`None`: plain http to this PC itself).
    pub fingerprint: Option<String>,
}

struct Connected {
    client: Arc<HubClient>,
    cred: DeviceCredential,
}

/// This PC's link to a hub (or none).
pub struct HubLink {
    dir: PathBuf,
    inner: RwLock<Option<Connected>>,
    online: AtomicBool,
    last_sync: Mutex<Option<DateTime<Utc>>>,
    problem: Mutex<Option<String>>,
    /// The change sequence the queue was last read at (the follower resumes from it).
    last_seq: AtomicI64,
    /// Bumped on connect, disconnect, sign-in and sign-out: the follower reopens its stream.
    generation: AtomicU64,
    /// The consultation open on this PC (presence 「閲覧中」).
    open_id: Mutex<Option<i64>>,
    /// A change arrived from the hub since the watcher last looked at the hub's queue.
    changed: AtomicBool,
}

fn poisoned() -> CommandError {
    CommandError::new("busy", "内部エラー: アプリを再起動してください")
}

impl HubLink {
    /// The link as stored for the data dir `dir` (connected if a credential is kept).
    pub fn load(dir: &Path) -> HubLink {
        let inner = match credential::load(dir) {
            Ok(Some(cred)) => match HubClient::from_credential(&cred) {
                Ok(c) => Some(Connected {
                    client: Arc::new(c),
                    cred,
                }),
                Err(e) => {
                    tracing::warn!("the hub credential cannot be used: {}", e.code());
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("the hub credential cannot be read: {}", e.code());
                None
            }
        };
        HubLink::with(dir, inner)
    }

    /// Not connected (the local store is the backend); nothing is read.
    pub fn none(dir: &Path) -> HubLink {
        HubLink::with(dir, None)
    }

    fn with(dir: &Path, inner: Option<Connected>) -> HubLink {
        HubLink {
            dir: dir.to_path_buf(),
            inner: RwLock::new(inner),
            online: AtomicBool::new(true),
            last_sync: Mutex::new(None),
            problem: Mutex::new(None),
            last_seq: AtomicI64::new(-1),
            generation: AtomicU64::new(0),
            open_id: Mutex::new(None),
            changed: AtomicBool::new(false),
        }
    }

    /// The hub client when this PC is connected: the backend switch.
    pub fn client(&self) -> Option<Arc<HubClient>> {
        self.inner
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|c| c.client.clone()))
    }

    pub fn is_connected(&self) -> bool {
        self.client().is_some()
    }

    /// Runs one request and records whether the hub answered.
    pub fn call<T>(
        &self,
        f: impl FnOnce(&HubClient) -> renkei_hubclient::Result<T>,
    ) -> CmdResult<T> {
        let Some(c) = self.client() else {
            return Err(CommandError::new(
                "hub_not_connected",
                "this PC is not connected to a hub",
            ));
        };
        let r = f(&c);
        match &r {
            Err(e @ HubError::Unreachable { .. }) => {
                self.online.store(false, Ordering::SeqCst);
                self.set_problem(Some(e.to_string()));
            }
            Err(e) if matches!(e.code(), "device_revoked" | "hub_certificate_changed") => {
                self.online.store(true, Ordering::SeqCst);
                self.set_problem(Some(e.to_string()));
            }
            _ => {
                self.online.store(true, Ordering::SeqCst);
                self.set_problem(None);
            }
        }
        r.map_err(CommandError::from)
    }

    fn set_problem(&self, p: Option<String>) {
        if let Ok(mut g) = self.problem.lock() {
            *g = p;
        }
    }

    /// The queue was read at `seq`, at `now` (the app's clock, so `RENKEI_NOW` demos agree).
    pub fn synced(&self, seq: i64, now: DateTime<Utc>) {
        self.last_seq.store(seq, Ordering::SeqCst);
        if let Ok(mut g) = self.last_sync.lock() {
            *g = Some(now);
        }
    }

    /// A kept copy read from the hub at `at` is shown (offline): the banner's 最終同期 is at
    /// least that, when nothing newer is known (after a restart while offline).
    pub fn synced_at_least(&self, at: DateTime<Utc>) {
        if let Ok(mut g) = self.last_sync.lock() {
            if g.is_none_or(|t| t < at) {
                *g = Some(at);
            }
        }
    }

    /// Sign-in / sign-out on the hub: the event stream follows the new session.
    pub fn session_changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether a change arrived from the hub since the last call (the notification watcher then
    /// reads the hub's queue again).
    pub fn take_changed(&self) -> bool {
        self.changed.swap(false, Ordering::SeqCst)
    }

    /// The consultation open on this PC (`None`: none).
    pub fn set_open(&self, id: Option<i64>) {
        if let Ok(mut g) = self.open_id.lock() {
            *g = id;
        }
    }

    fn open(&self) -> Option<i64> {
        self.open_id.lock().ok().and_then(|g| *g)
    }

    pub fn status(&self) -> HubStatus {
        let g = self.inner.read().ok();
        let cred = g.as_ref().and_then(|g| g.as_ref().map(|c| c.cred.clone()));
        HubStatus {
            connected: cred.is_some(),
            url: cred.as_ref().map(|c| c.url.clone()),
            device_name: cred.as_ref().map(|c| c.device_name.clone()),
            fingerprint: cred.as_ref().and_then(|c| c.fingerprint.clone()),
            online: self.online.load(Ordering::SeqCst),
            last_sync: self.last_sync.lock().ok().and_then(|g| *g),
            problem: self.problem.lock().ok().and_then(|g| g.clone()),
            outbox_pending: 0,
            outbox_conflicts: 0,
        }
    }

    /// Step 1 of 「ハブに接続」: the hub's certificate fingerprint, nothing secret sent.
    pub fn probe(url: &str) -> CmdResult<HubProbe> {
        let url = HubUrl::parse(url)?;
        let fingerprint = probe(&url)?;
        Ok(HubProbe {
            url: url.to_string(),
            fingerprint,
        })
    }

    /// Step 2: enrol with the one-time code, trusting exactly the fingerprint the user
    /// confirmed; the credential goes to the keyring.
    pub fn connect(
        &self,
        url: &str,
        code: &str,
        fingerprint: Option<String>,
    ) -> CmdResult<HubStatus> {
        let url = HubUrl::parse(url)?;
        if url.is_https() && fingerprint.is_none() {
            return Err(CommandError::new(
                "invalid_input",
                "confirm the hub's certificate fingerprint first",
            ));
        }
        let mut client = HubClient::new(url, fingerprint)?;
        let enrolled = client.enroll(code, None)?;
        let cred = client.credential(&enrolled);
        credential::save(&self.dir, &cred)?;
        *self.inner.write().map_err(|_| poisoned())? = Some(Connected {
            client: Arc::new(client),
            cred,
        });
        self.online.store(true, Ordering::SeqCst);
        self.set_problem(None);
        self.session_changed();
        Ok(self.status())
    }

    /// Forgets the hub: the credential leaves the keyring; the app works locally again.
    pub fn disconnect(&self) -> CmdResult<()> {
        if let Some(c) = self.client() {
            let _ = c.sign_out();
        }
        credential::delete(&self.dir)?;
        *self.inner.write().map_err(|_| poisoned())? = None;
        self.set_problem(None);
        self.session_changed();
        Ok(())
    }

    /// `RENKEI_HUB_URL` + `RENKEI_DEVICE_CODE`: enrol at start when not yet connected.
    pub fn connect_from_env(&self) {
        if self.is_connected() {
            return;
        }
        let (Ok(url), Ok(code)) = (
            std::env::var("RENKEI_HUB_URL"),
            std::env::var("RENKEI_DEVICE_CODE"),
        ) else {
            return;
        };
        let r = HubLink::probe(&url).and_then(|p| {
            if let (Ok(want), Some(got)) = (std::env::var("RENKEI_HUB_FINGERPRINT"), &p.fingerprint)
            {
                if !renkei_hubclient::tls::same_fingerprint(&want, got) {
                    return Err(CommandError::new(
                        "hub_certificate_changed",
                        format!("the hub's certificate is {got}, not RENKEI_HUB_FINGERPRINT"),
                    ));
                }
            }
            self.connect(&p.url, &code, p.fingerprint)
        });
        match r {
            Ok(s) => tracing::info!("connected to the hub {:?}", s.url),
            Err(e) => {
                tracing::warn!("RENKEI_HUB_URL: not connected ({})", e.code);
                self.set_problem(Some(e.message));
            }
        }
    }
}

/// Starts the follower and the presence threads.
pub fn start(app: AppHandle) {
    let a = app.clone();
    let _ = std::thread::Builder::new()
        .name("renkei-hub-events".into())
        .spawn(move || follow(a));
    let _ = std::thread::Builder::new()
        .name("renkei-hub-presence".into())
        .spawn(move || presence(app));
}

fn link(app: &AppHandle) -> Option<tauri::State<'_, crate::state::DeskState>> {
    app.try_state::<crate::state::DeskState>()
}

fn follow(app: AppHandle) {
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let Some(state) = link(&app) else { continue };
        let hub = state.hub();
        let (Some(client), gen) = (hub.client(), hub.generation.load(Ordering::SeqCst)) else {
            continue;
        };
        if client.session().is_none() {
            continue;
        }
        let mut seq = hub.last_seq.load(Ordering::SeqCst);
        if seq < 0 {
            // No queue read yet: take the sequence now, so nothing between falls through.
            let filter = renkei_core::store::consultations::QueueFilter::default();
            match client.queue(&filter) {
                Ok((s, _)) => seq = s,
                Err(_) => continue,
            }
        }
        let Ok(mut stream) = client.events(Some(seq)) else {
            continue;
        };
        loop {
            match stream.next_event() {
                Ok(HubEvent::Change { seq, data }) => {
                    hub.last_seq.fetch_max(seq, Ordering::SeqCst);
                    hub.online.store(true, Ordering::SeqCst);
                    if is_read_only(data["kind"].as_str()) {
                        // A read (someone opened a document): nothing shown changed — a repaint
                        // would only drop the preview the reader just opened.
                        continue;
                    }
                    let _ = app.emit(QUEUE_CHANGED, ());
                    hub.changed.store(true, Ordering::SeqCst);
                    state.wake();
                    let _ = app.emit(
                        HUB_CHANGED,
                        serde_json::json!({"consultation_id": data["consultation_id"], "kind": data["kind"]}),
                    );
                }
                Ok(HubEvent::Presence(p)) => {
                    let _ = app.emit(HUB_PRESENCE, p);
                }
                Err(e) => {
                    tracing::info!("hub event stream ended: {}", e.code());
                    if e.code() == "device_revoked" {
                        hub.set_problem(Some(e.to_string()));
                        let _ = state.lock();
                    }
                    break;
                }
            }
            if hub.generation.load(Ordering::SeqCst) != gen {
                break;
            }
        }
    }
}

fn presence(app: AppHandle) {
    loop {
        std::thread::sleep(Duration::from_secs(30));
        let Some(state) = link(&app) else { continue };
        let hub = state.hub();
        if let (Some(id), Some(c)) = (hub.open(), hub.client()) {
            if c.session().is_some() {
                let _ = c.presence(id, "viewing");
            }
        }
    }
}

/// Audit kinds that record a read (`attachment.read`, …): they change nothing a desk shows.
fn is_read_only(kind: Option<&str>) -> bool {
    kind.is_some_and(|k| k.ends_with(".read"))
}

#[cfg(test)]
mod read_kinds {
    #[test]
    fn reads_are_not_changes() {
        assert!(super::is_read_only(Some("attachment.read")));
        assert!(!super::is_read_only(Some("consultation.assign")));
        assert!(!super::is_read_only(None));
    }
}
