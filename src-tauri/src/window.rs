//! The main window: bringing it to the front (tray, second launch, notification click) and its
//! events (drag-drop is forwarded; closing hides it to the tray unless
//! `RENKEI_DESK_EXIT_ON_CLOSE` is set, as in tests).

use tauri::{AppHandle, Emitter, Manager, Window, WindowEvent};

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

/// The window event hook of the app.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    match event {
        WindowEvent::DragDrop(e) => crate::dragdrop::forward(window, e),
        WindowEvent::CloseRequested { api, .. }
            if std::env::var_os("RENKEI_DESK_EXIT_ON_CLOSE").is_none() =>
        {
            api.prevent_close();
            let _ = window.hide();
        }
        _ => {}
    }
}
