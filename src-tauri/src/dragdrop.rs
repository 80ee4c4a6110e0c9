//! Native file drag-and-drop (Tauri's window drag-drop event).
//!
//! With `dragDropEnabled` (the default) a real drop from the desktop is taken by Tauri, not by
//! the page: the webview never sees an HTML5 `drop`. We forward it to the UI as `native-drop`
//! with the paths; the UI, which knows whether a consultation is open, calls
//! `import_document_paths(paths, to)` and Rust reads the files. (Keeping the target in the UI
//! avoids hidden state that could file a letter into the wrong consultation.) Synthetic DOM
//! `drop` events — tests — go through the page's handler and `import_document_bytes`.

use crate::events::{NATIVE_DRAG, NATIVE_DROP};
use serde::Serialize;
use tauri::{DragDropEvent, Emitter, Window};

#[derive(Debug, Clone, Serialize)]
pub struct DropPayload {
    pub paths: Vec<String>,
}

/// Forwards a drag-drop event of the window to the UI.
pub fn forward(window: &Window, event: &DragDropEvent) {
    match event {
        DragDropEvent::Enter { .. } => {
            let _ = window.emit(NATIVE_DRAG, "enter");
        }
        DragDropEvent::Leave => {
            let _ = window.emit(NATIVE_DRAG, "leave");
        }
        DragDropEvent::Drop { paths, .. } => {
            tracing::info!("native drop of {} file(s)", paths.len());
            let payload = DropPayload {
                paths: paths.iter().map(|p| p.display().to_string()).collect(),
            };
            let _ = window.emit(NATIVE_DRAG, "leave");
            let _ = window.emit(NATIVE_DROP, payload);
        }
        _ => {}
    }
}
