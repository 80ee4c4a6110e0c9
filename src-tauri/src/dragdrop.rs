//! Native file drag-and-drop (Tauri's window drag-drop event).
//!
//! With `dragDropEnabled` (the default) a real drop from the desktop is taken by Tauri, not by
//! the page: the webview never sees an HTML5 `drop`. We forward it to the UI as `native-drop`
//! with the paths; the UI, which knows whether a consultation is open, calls
//! `import_document_paths(paths, to)` and Rust reads the files. (Keeping the target in the UI
//! avoids hidden state that could file a letter into the wrong consultation.) Synthetic DOM
//! `drop` events — tests — go through the page's handler and `import_document_bytes`.

use serde::Serialize;
use tauri::{DragDropEvent, Emitter, Window, WindowEvent};

pub const NATIVE_DROP: &str = "native-drop";
pub const NATIVE_DRAG: &str = "native-drag";

#[derive(Debug, Clone, Serialize)]
pub struct DropPayload {
    pub paths: Vec<String>,
}

/// The window event hook: forwards drag-drop, hides instead of closing (tray app).
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    match event {
        WindowEvent::DragDrop(DragDropEvent::Enter { .. }) => {
            let _ = window.emit(NATIVE_DRAG, "enter");
        }
        WindowEvent::DragDrop(DragDropEvent::Leave) => {
            let _ = window.emit(NATIVE_DRAG, "leave");
        }
        WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) => {
            let payload = DropPayload {
                paths: paths.iter().map(|p| p.display().to_string()).collect(),
            };
            let _ = window.emit(NATIVE_DRAG, "leave");
            let _ = window.emit(NATIVE_DROP, payload);
        }
        WindowEvent::CloseRequested { api, .. } => {
            if std::env::var_os("RENKEI_DESK_EXIT_ON_CLOSE").is_none() {
                api.prevent_close();
                let _ = window.hide();
            }
        }
        _ => {}
    }
}
