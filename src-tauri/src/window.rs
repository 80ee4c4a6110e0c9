//! The main window: bringing it to the front (tray, second launch, notification click) and its
//! events (drag-drop is forwarded; closing hides it to the tray unless
//! `RENKEI_DESK_EXIT_ON_CLOSE` is set, as in tests).

use tauri::{AppHandle, Emitter, Manager, Window, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

pub const MAIN: &str = "main";

/// What is remembered per PC (`tauri-plugin-window-state`, in the app's config dir): size,
/// position and whether the window was maximised — not its visibility (a start at login waits in
/// the tray) nor decorations.
pub fn remembered() -> StateFlags {
    StateFlags::SIZE | StateFlags::POSITION | StateFlags::MAXIMIZED
}

/// Whether a window of `size` fits the work area `area` (the screen minus taskbar and panels).
pub fn fits(size: (u32, u32), area: (u32, u32)) -> bool {
    size.0 <= area.0 && size.1 <= area.1
}

/// After the remembered state was restored: a window larger than the screen's work area (the
/// first start on a 1366×768 monitor, or a size remembered from a bigger screen) is maximised,
/// so the status bar and the composer's buttons are never below the taskbar; a window whose
/// remembered position is off every screen (a monitor was removed) is centred.
pub fn fit_to_screen(app: &AppHandle) {
    let Some(w) = app.get_webview_window(MAIN) else {
        return;
    };
    // Before the window is first shown it may be on no monitor yet: then the primary one.
    let monitor = w
        .current_monitor()
        .ok()
        .flatten()
        .or_else(|| w.primary_monitor().ok().flatten());
    let Some(monitor) = monitor else {
        tracing::info!("no monitor found: the window keeps its size");
        return;
    };
    let area = monitor.work_area();
    // The frame's size where a window manager draws one; without one (or before the window is
    // shown) the outer size is 0 and the inner size is the window.
    let size = match (w.outer_size(), w.inner_size()) {
        (Ok(o), _) if o.width > 0 && o.height > 0 => o,
        (_, Ok(i)) => i,
        _ => return,
    };
    tracing::debug!(
        "window {}x{}, work area {}x{} at {},{}",
        size.width,
        size.height,
        area.size.width,
        area.size.height,
        area.position.x,
        area.position.y
    );
    if !fits(
        (size.width, size.height),
        (area.size.width, area.size.height),
    ) {
        // Size and place it on the work area first: that holds even where nothing handles a
        // maximise request (no window manager); then maximise, which a desktop does properly.
        let _ = w.set_size(tauri::PhysicalSize::new(area.size.width, area.size.height));
        let _ = w.set_position(tauri::PhysicalPosition::new(
            area.position.x,
            area.position.y,
        ));
        let _ = w.maximize();
        return;
    }
    if let Ok(pos) = w.outer_position() {
        let inside = pos.x + 40 >= area.position.x
            && pos.y + 20 >= area.position.y
            && pos.x < area.position.x + area.size.width as i32 - 40
            && pos.y < area.position.y + area.size.height as i32 - 40;
        if !inside {
            let _ = w.center();
        }
    }
}

/// Writes the window state now (the app usually hides instead of closing, and a PC that is shut
/// down may never let it exit cleanly).
pub fn save_state(app: &AppHandle) {
    if let Err(e) = app.save_window_state(remembered()) {
        tracing::debug!("window state not saved: {e}");
    }
}

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
        let _ = app.emit(crate::events::OPEN_CONSULTATION, id);
    }
}

/// The window event hook of the app.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    match event {
        WindowEvent::DragDrop(e) => crate::dragdrop::forward(window, e),
        WindowEvent::Focused(focused) => {
            if let Some(state) = window.try_state::<crate::state::DeskState>() {
                state.set_window_focused(*focused);
            }
        }
        WindowEvent::CloseRequested { api, .. }
            if std::env::var_os("RENKEI_DESK_EXIT_ON_CLOSE").is_none() =>
        {
            api.prevent_close();
            save_state(window.app_handle());
            let _ = window.hide();
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_window_does_not_fit_a_1366x768_screen_with_a_taskbar() {
        // 1366×768 minus a 40 px taskbar: the configured 1280×800 is too tall → maximised.
        assert!(!fits((1280, 800), (1366, 728)));
        assert!(fits((1280, 800), (1920, 1040)));
        assert!(fits((1366, 728), (1366, 728)));
    }
}
