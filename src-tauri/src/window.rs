//! Bringing the main window to the front (tray, second launch, notification click).

use tauri::{AppHandle, Emitter, Manager};

pub const MAIN: &str = "main";

/// Shows, un-minimises and focuses the main window.
pub fn show_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// Shows the window and asks the UI to open consultation `id`.
pub fn open_consultation(app: &AppHandle, id: Option<i64>) {
    show_main(app);
    if let Some(id) = id {
        let _ = app.emit(crate::notifier::OPEN_CONSULTATION, id);
    }
}
