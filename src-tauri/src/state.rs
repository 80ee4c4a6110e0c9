//! The app's managed state: the one [`Desk`] behind a mutex, or the reason it could not be
//! opened (then every command answers with that error and the UI shows what to do), and the
//! lock: who is signed in. While some staff profile has a PIN and nobody is signed in, every
//! data command answers `{code: "locked"}` — the lock lives here, so reloading the page cannot
//! bypass it. Background threads (watcher, backup) use [`DeskState::internal`].

use crate::error::{CmdResult, CommandError};
use crate::events::{LOCK_CHANGED, QUEUE_CHANGED};
use crate::hub::HubLink;
use renkei_core::desk::Desk;
use renkei_core::store::staff::{Role, Staff};
use renkei_hubclient::HubClient;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tauri::{AppHandle, Emitter};

/// Who is signed in on this PC and when the user last touched the window.
struct Session {
    staff: Option<Staff>,
    /// On a PC where no profile has a PIN: the name the user gave for "who is using this PC"
    /// ([`DeskState::declare`]).
    declared: Option<String>,
    last_activity: Instant,
    /// Connected PC, signed in while the hub was unreachable (checked against the kept
    /// verifier): the PIN, in memory only, to open this person's hub session once the hub
    /// answers ([`crate::offline::send_waiting`]). Dropped at lock and once used.
    hub_pin: Option<String>,
}

/// Shared by commands, the store watcher and the drop handler.
pub struct DeskState {
    desk: Mutex<Option<Desk>>,
    open_error: Option<CommandError>,
    /// Set by commands that changed data; the watcher then re-checks urgent items at once.
    dirty: AtomicBool,
    /// Settings were saved: the watcher reloads them into the notification policy.
    settings_changed: AtomicBool,
    /// The main window has the focus.
    window_focused: AtomicBool,
    /// The UI shows the queue (not a consultation, settings, …).
    queue_shown: AtomicBool,
    app: OnceLock<AppHandle>,
    session: Mutex<Session>,
    /// Wakes the store watcher at once (set by the watcher when it starts).
    waker: OnceLock<Mutex<std::sync::mpsc::Sender<()>>>,
    /// Connected mode: the hub this PC is enrolled at, or none (the local store).
    hub: HubLink,
}

fn locked_error() -> CommandError {
    CommandError::new(
        "locked",
        "the app is locked: sign in with your name and PIN",
    )
}

impl DeskState {
    pub fn new(opened: Result<Desk, CommandError>) -> Self {
        let (desk, open_error) = match opened {
            Ok(d) => (Some(d), None),
            Err(e) => (
                None,
                Some(CommandError::new(
                    "store_unavailable",
                    format!("{} ({})", e.message, e.code),
                )),
            ),
        };
        DeskState {
            desk: Mutex::new(desk),
            open_error,
            dirty: AtomicBool::new(false),
            settings_changed: AtomicBool::new(false),
            window_focused: AtomicBool::new(false),
            queue_shown: AtomicBool::new(true),
            app: OnceLock::new(),
            waker: OnceLock::new(),
            hub: HubLink::none(std::path::Path::new(".")),
            session: Mutex::new(Session {
                staff: None,
                declared: None,
                last_activity: Instant::now(),
                hub_pin: None,
            }),
        }
    }

    /// The same state connected to (or ready to connect to) a hub.
    pub fn with_hub(mut self, hub: HubLink) -> Self {
        self.hub = hub;
        self
    }

    /// This PC's link to a hub.
    pub fn hub(&self) -> &HubLink {
        &self.hub
    }

    /// **The backend switch**: `Some` when this PC is connected — the commands then call the
    /// hub ([`DeskState::remote`], [`DeskState::remote_change`]) instead of the local Desk.
    pub fn hub_client(&self) -> Option<std::sync::Arc<HubClient>> {
        self.hub.client()
    }

    /// A read on the hub for a command of the UI: refused with `locked` without a session.
    pub fn remote<T>(
        &self,
        f: impl FnOnce(&HubClient) -> renkei_hubclient::Result<T>,
    ) -> CmdResult<T> {
        let me = self.session()?.staff.as_ref().map(|s| s.name.clone());
        let Some(me) = me else {
            return Err(locked_error());
        };
        // Signed in while the hub was unreachable: open the hub session first.
        if self.hub.client().is_some_and(|c| c.session().is_none()) {
            crate::offline::open_session(self, &me);
        }
        let r = self.hub.call(f);
        if let Err(e) = &r {
            if matches!(
                e.code.as_str(),
                "session_expired" | "session_unknown" | "session_required" | "device_revoked"
            ) {
                self.session()?.staff = None;
                self.emit_lock(true);
            }
        }
        r
    }

    /// Like [`DeskState::remote`]; on success emits `queue-changed` (the hub's event follows).
    pub fn remote_change<T>(
        &self,
        f: impl FnOnce(&HubClient) -> renkei_hubclient::Result<T>,
    ) -> CmdResult<T> {
        let r = self.remote(f);
        if r.is_ok() {
            if let Some(app) = self.app.get() {
                let _ = app.emit(QUEUE_CHANGED, ());
            }
        }
        r
    }

    /// Runs `f` with the desk for a command of the UI: refused with `locked` while the app is
    /// locked.
    pub fn with<T>(&self, f: impl FnOnce(&mut Desk) -> CmdResult<T>) -> CmdResult<T> {
        self.internal(|d| {
            if self.is_locked(d)? {
                return Err(locked_error());
            }
            f(d)
        })
    }

    /// Runs `f` with the desk whether or not the app is locked: background threads, sign-in.
    pub fn internal<T>(&self, f: impl FnOnce(&mut Desk) -> CmdResult<T>) -> CmdResult<T> {
        let mut guard = self
            .desk
            .lock()
            .map_err(|_| CommandError::new("busy", "内部エラー: アプリを再起動してください"))?;
        match guard.as_mut() {
            Some(d) => f(d),
            None => Err(self.open_error.clone().unwrap_or_else(|| {
                CommandError::new("store_unavailable", "データを開けませんでした")
            })),
        }
    }

    fn session(&self) -> CmdResult<std::sync::MutexGuard<'_, Session>> {
        self.session
            .lock()
            .map_err(|_| CommandError::new("busy", "内部エラー: アプリを再起動してください"))
    }

    /// Locked = some profile has a PIN ([`Desk::lock_required`]) — always on a PC connected to
    /// a hub — and nobody is signed in.
    fn is_locked(&self, d: &Desk) -> CmdResult<bool> {
        Ok(self.session()?.staff.is_none() && self.pin_required(d)?)
    }

    /// Whether staff must sign in with a PIN on this PC.
    pub fn pin_required(&self, d: &Desk) -> CmdResult<bool> {
        Ok(self.hub.is_connected() || d.lock_required()?)
    }

    /// The sign-in list: the hub's staff when connected, else the local profiles.
    pub fn sign_in_list(&self) -> CmdResult<Vec<Staff>> {
        if self.hub.is_connected() {
            let list = match self.hub.call(|c| c.staff()) {
                Ok(v) => v.as_array().cloned().unwrap_or_default(),
                // Unreachable: who signed in on this PC before can sign in offline.
                Err(e) if crate::offline::is_offline(&e) => {
                    self.internal(|d| Ok(d.hub_pin_people()?))?
                }
                Err(e) => return Err(e),
            };
            return Ok(list.iter().filter_map(staff_of).collect());
        }
        self.internal(|d| Ok(d.staff()?.into_iter().filter(|s| s.active).collect()))
    }

    /// The PIN of an offline sign-in, taken (used once) to open the hub session.
    pub fn take_hub_pin(&self) -> Option<String> {
        self.session().ok().and_then(|mut s| s.hub_pin.take())
    }

    /// Puts back the PIN of an offline sign-in (the hub did not answer yet).
    pub fn keep_hub_pin(&self, pin: String) {
        if let Ok(mut s) = self.session() {
            if s.staff.is_some() {
                s.hub_pin = Some(pin);
            }
        }
    }

    /// Whether the app is locked now.
    pub fn locked(&self) -> CmdResult<bool> {
        self.internal(|d| self.is_locked(d))
    }

    /// The signed-in staff member, if any.
    pub fn signed_in(&self) -> Option<Staff> {
        self.session().ok().and_then(|s| s.staff.clone())
    }

    /// Who acts — decided here and only here, never from a command's arguments: the signed-in
    /// staff member; on a PC where no profile has a PIN, the name declared for this session
    /// ([`DeskState::declare`]). Nobody → `no_actor` (the UI asks who is using the PC).
    pub fn actor(&self) -> CmdResult<String> {
        let s = self.session()?;
        if let Some(staff) = &s.staff {
            return Ok(staff.name.clone());
        }
        s.declared.clone().ok_or_else(|| {
            CommandError::new(
                "no_actor",
                "nobody is named as using this PC: choose your name (top right), then try again",
            )
        })
    }

    /// "Who is using this PC" on a PC without PINs. Refused once any profile has a PIN: then
    /// only signing in names the user.
    pub fn declare(&self, name: &str) -> CmdResult<String> {
        let name = renkei_core::model::clean_line(name);
        if name.is_empty() || name.chars().count() > 60 {
            return Err(CommandError::new(
                "invalid_input",
                "give your name (1 to 60 characters)",
            ));
        }
        if self.internal(|d| Ok(d.lock_required()?))? {
            return Err(CommandError::new(
                "forbidden",
                "staff on this PC sign in with their PIN; a name alone is not accepted",
            ));
        }
        self.session()?.declared = Some(name.clone());
        Ok(name)
    }

    /// Like [`DeskState::change`], with who acts ([`DeskState::actor`]).
    pub fn act<T>(&self, f: impl FnOnce(&mut Desk, &str) -> CmdResult<T>) -> CmdResult<T> {
        let who = self.actor()?;
        self.change(|d| f(d, &who))
    }

    /// Like [`DeskState::with`] (no `queue-changed`), with who acts: reads that are audited.
    pub fn act_quietly<T>(&self, f: impl FnOnce(&mut Desk, &str) -> CmdResult<T>) -> CmdResult<T> {
        let who = self.actor()?;
        self.with(|d| f(d, &who))
    }

    /// Checks the PIN in the core (audited, lock-out after wrong PINs) — on the hub when this
    /// PC is connected, which opens the hub session every later request carries — and unlocks.
    ///
    /// Connected and the hub unreachable: the PIN is checked against the verifier kept at this
    /// person's last sign-in at the hub on this PC (docs/operations.md); the hub session is
    /// opened when the hub answers again.
    pub fn sign_in(&self, name: &str, pin: &str) -> CmdResult<Staff> {
        let mut hub_pin = None;
        let staff = if self.hub.is_connected() {
            match self.hub.call(|c| c.sign_in(name, pin)) {
                Ok(s) => {
                    self.hub.session_changed();
                    if let Err(e) = self.internal(|d| Ok(d.hub_pin_keep(&s.staff, pin)?)) {
                        tracing::warn!("the offline sign-in could not be kept: {}", e.code);
                    }
                    staff_of(&s.staff).ok_or_else(|| {
                        CommandError::new(
                            "hub_protocol",
                            "the hub answered a sign-in without a name",
                        )
                    })?
                }
                Err(e) if crate::offline::is_offline(&e) => {
                    let v = self.internal(|d| Ok(d.hub_pin_check(name, pin)?))?;
                    hub_pin = Some(pin.to_string());
                    staff_of(&v).ok_or_else(|| {
                        CommandError::new("integrity", "the kept sign-in has no name")
                    })?
                }
                Err(e) => return Err(e),
            }
        } else {
            self.internal(|d| Ok(d.sign_in(name, pin)?))?
        };
        {
            let mut s = self.session()?;
            s.staff = Some(staff.clone());
            s.last_activity = Instant::now();
            s.hub_pin = hub_pin;
        }
        self.emit_lock(false);
        Ok(staff)
    }

    /// Locks now (🔒, Ctrl+L, idle). Returns whether the app is locked (not when no profile
    /// has a PIN: there is nobody to unlock as).
    pub fn lock(&self) -> CmdResult<bool> {
        {
            let mut s = self.session()?;
            s.staff = None;
            s.hub_pin = None;
        }
        if let Some(c) = self.hub.client() {
            if c.session().is_some() {
                let _ = c.sign_out();
                self.hub.session_changed();
            }
        }
        let locked = self.locked()?;
        if locked {
            self.emit_lock(true);
        }
        Ok(locked)
    }

    /// Re-reads the signed-in profile after a staff change: a new role counts at once, and a
    /// profile that was deactivated is signed out (the app locks).
    pub fn refresh_session(&self) -> CmdResult<()> {
        let Some(me) = self.signed_in() else {
            return Ok(());
        };
        if self.hub.is_connected() {
            return Ok(()); // the hub checks the profile at every request
        }
        let now = self.internal(|d| Ok(d.staff()?.into_iter().find(|s| s.id == me.id)))?;
        match now {
            Some(s) if s.active => self.session()?.staff = Some(s),
            _ => {
                self.lock()?;
            }
        }
        Ok(())
    }

    /// The user touched the window (keyboard, mouse).
    pub fn touch(&self) {
        if let Ok(mut s) = self.session() {
            s.last_activity = Instant::now();
        }
    }

    /// Locks when someone is signed in and nobody touched the window for `after`.
    pub fn lock_if_idle(&self, after: Duration) -> CmdResult<bool> {
        let idle = {
            let s = self.session()?;
            s.staff.is_some() && s.last_activity.elapsed() >= after
        };
        if idle {
            return self.lock();
        }
        Ok(false)
    }

    pub fn emit_lock(&self, locked: bool) {
        if let Some(app) = self.app.get() {
            let _ = app.emit(LOCK_CHANGED, serde_json::json!({ "locked": locked }));
        }
    }

    /// The app handle, once attached (events from helpers such as the offline outbox).
    pub fn app(&self) -> Option<&AppHandle> {
        self.app.get()
    }

    /// Gives the state the app handle it emits `queue-changed` through.
    pub fn attach_app(&self, app: AppHandle) {
        let _ = self.app.set(app);
    }

    /// The store watcher's wake-up channel.
    pub fn set_waker(&self, tx: std::sync::mpsc::Sender<()>) {
        let _ = self.waker.set(Mutex::new(tx));
    }

    /// Wakes the store watcher now (data changed here, the focus moved).
    pub fn wake(&self) {
        if let Some(Ok(tx)) = self.waker.get().map(Mutex::lock) {
            let _ = tx.send(());
        }
    }

    /// Like [`DeskState::with`]; on success marks data as changed and emits `queue-changed`.
    pub fn change<T>(&self, f: impl FnOnce(&mut Desk) -> CmdResult<T>) -> CmdResult<T> {
        let r = self.with(f);
        if r.is_ok() {
            self.dirty.store(true, Ordering::SeqCst);
            self.wake();
            if let Some(app) = self.app.get() {
                let _ = app.emit(QUEUE_CHANGED, ());
            }
        }
        r
    }

    /// Whether the queue is in front of the user (the policy's `focus`).
    pub fn queue_in_front(&self) -> bool {
        self.window_focused.load(Ordering::SeqCst) && self.queue_shown.load(Ordering::SeqCst)
    }
    pub fn set_window_focused(&self, focused: bool) {
        if self.window_focused.swap(focused, Ordering::SeqCst) != focused {
            self.wake();
        }
    }
    pub fn set_queue_shown(&self, shown: bool) {
        if self.queue_shown.swap(shown, Ordering::SeqCst) != shown {
            self.wake();
        }
    }
    /// Marks the settings as changed (the watcher reloads them).
    pub fn mark_settings_changed(&self) {
        self.settings_changed.store(true, Ordering::SeqCst);
    }
    pub fn take_settings_changed(&self) -> bool {
        self.settings_changed.swap(false, Ordering::SeqCst)
    }

    /// Takes (and clears) the "changed by a command" flag.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::SeqCst)
    }

    pub fn open_error(&self) -> Option<&CommandError> {
        self.open_error.as_ref()
    }
}

/// A staff profile as the hub lists it (`{id, name, role, has_pin}`).
fn staff_of(v: &serde_json::Value) -> Option<Staff> {
    Some(Staff {
        id: v.get("id")?.as_i64()?,
        name: v.get("name")?.as_str()?.to_string(),
        role: Role::parse(v.get("role")?.as_str()?).ok()?,
        active: true,
        has_pin: v.get("has_pin").and_then(|b| b.as_bool()).unwrap_or(true),
    })
}
