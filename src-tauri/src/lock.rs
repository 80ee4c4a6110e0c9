//! The idle lock: a background thread that locks the app when someone is signed in and nobody
//! touched the window (keyboard, mouse — the UI pings `ui_activity`) for the settings'
//! `lock_after_minutes`. The lock itself is [`DeskState`]'s; this only decides when.

use crate::state::DeskState;
use std::time::Duration;
use tauri::{AppHandle, Manager};

const CHECK_EVERY: Duration = Duration::from_secs(5);

/// Starts the idle-lock thread.
pub fn start(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("renkei-idle-lock".into())
        .spawn(move || loop {
            std::thread::sleep(CHECK_EVERY);
            let state = app.state::<DeskState>();
            let after = state.internal(|d| Ok(d.settings().lock_after()));
            if let Ok(Some(after)) = after {
                match state.lock_if_idle(after) {
                    Ok(true) => tracing::info!("locked after {} s idle", after.as_secs()),
                    Ok(false) => {}
                    Err(e) => tracing::warn!("idle lock: {}", e.message),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("idle lock could not start: {e}");
    }
}
