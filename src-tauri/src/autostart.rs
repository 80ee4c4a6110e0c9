//! Starting with the PC (`tauri-plugin-autostart`: a login item / `~/.config/autostart` entry /
//! the Run key). On by default: the first time the app runs for a user it registers itself,
//! once — after that the setting is the user's (Settings → この PC). A start at login passes
//! `--autostart`, and the app then waits in the tray instead of opening its window.
//! `RENKEI_AUTOSTART=off` never registers by default (kiosk images, tests).

use crate::error::{CmdResult, CommandError};
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt;

/// The argument a start at login carries.
pub const ARG: &str = "--autostart";
/// Marks that the first-run default was applied (in the app's config dir).
const DECIDED: &str = "autostart-decided";

/// Whether this process was started at login.
pub fn started_at_login() -> bool {
    std::env::args().any(|a| a == ARG)
}

/// Registers the app to start with the PC the first time it runs for this user.
pub fn apply_first_run_default(app: &AppHandle) {
    if std::env::var("RENKEI_AUTOSTART").is_ok_and(|v| v.eq_ignore_ascii_case("off")) {
        return;
    }
    let Ok(dir) = app.path().app_config_dir() else {
        return;
    };
    let marker = dir.join(DECIDED);
    if marker.exists() {
        return;
    }
    match app.autolaunch().enable() {
        Ok(()) => {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(&marker, b"on by default at first run\n");
            tracing::info!("Renkei Desk will start with the PC (first-run default)");
        }
        Err(e) => tracing::warn!("could not register the app to start with the PC: {e}"),
    }
}

/// Whether the app starts with the PC.
pub fn enabled(app: &AppHandle) -> CmdResult<bool> {
    app.autolaunch().is_enabled().map_err(|e| {
        CommandError::new("io", format!("the login-start setting cannot be read: {e}"))
    })
}

/// Turns starting with the PC on or off; answers the new state.
pub fn set(app: &AppHandle, on: bool) -> CmdResult<bool> {
    let a = app.autolaunch();
    let r = if on { a.enable() } else { a.disable() };
    r.map_err(|e| {
        CommandError::new(
            "io",
            format!("the login-start setting cannot be changed: {e}"),
        )
    })?;
    if let Ok(dir) = app.path().app_config_dir() {
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(
            dir.join(DECIDED),
            if on { &b"on\n"[..] } else { &b"off\n"[..] },
        );
    }
    enabled(app)
}
