//! The app's managed state: the one [`Desk`] behind a mutex, or the reason it could not be
//! opened (then every command answers with that error and the UI shows what to do).

use crate::error::{CmdResult, CommandError};
use renkei_core::desk::Desk;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use tauri::{AppHandle, Emitter};

/// Event the UI listens to: data changed, reload what is shown.
pub const QUEUE_CHANGED: &str = "queue-changed";

/// Shared by commands, the store watcher and the drop handler.
pub struct DeskState {
    desk: Mutex<Option<Desk>>,
    open_error: Option<CommandError>,
    /// Set by commands that changed data; the watcher then re-checks urgent items at once.
    dirty: AtomicBool,
    app: OnceLock<AppHandle>,
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
            app: OnceLock::new(),
        }
    }

    /// Runs `f` with the desk locked.
    pub fn with<T>(&self, f: impl FnOnce(&mut Desk) -> CmdResult<T>) -> CmdResult<T> {
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

    /// Gives the state the app handle it emits `queue-changed` through.
    pub fn attach_app(&self, app: AppHandle) {
        let _ = self.app.set(app);
    }

    /// Like [`DeskState::with`]; on success marks data as changed and emits `queue-changed`.
    pub fn change<T>(&self, f: impl FnOnce(&mut Desk) -> CmdResult<T>) -> CmdResult<T> {
        let r = self.with(f);
        if r.is_ok() {
            self.dirty.store(true, Ordering::SeqCst);
            if let Some(app) = self.app.get() {
                let _ = app.emit(QUEUE_CHANGED, ());
            }
        }
        r
    }

    /// Takes (and clears) the "changed by a command" flag.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::SeqCst)
    }

    pub fn open_error(&self) -> Option<&CommandError> {
        self.open_error.as_ref()
    }
}
