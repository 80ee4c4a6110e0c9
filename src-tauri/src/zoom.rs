//! The display size of this PC (表示の大きさ): the webview's zoom, 90–150 %. A setting of the PC,
//! not of the clinic — the reception PC on a 1366×768 monitor and the director's laptop at
//! Windows' 125 % scaling want different sizes. Kept in the app's config dir (`display.json`)
//! and applied before the window is first shown, so the page never paints at the wrong size.
//! `RENKEI_ZOOM` (e.g. `1.25`) overrides it for unattended installs and tests.

use crate::error::{CmdResult, CommandError};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};

const FILE: &str = "display.json";
/// The sizes offered; anything else is refused.
pub const STEPS: [f64; 5] = [0.9, 1.0, 1.1, 1.25, 1.5];

#[derive(Debug, Default, Serialize, Deserialize)]
struct Display {
    zoom: Option<f64>,
}

/// Whether `z` is one of the offered sizes.
pub fn valid(z: f64) -> bool {
    STEPS.iter().any(|s| (s - z).abs() < 1e-9)
}

fn env_zoom() -> Option<f64> {
    let v = std::env::var("RENKEI_ZOOM").ok()?;
    match v.trim().parse::<f64>() {
        Ok(z) if valid(z) => Some(z),
        _ => {
            tracing::warn!("RENKEI_ZOOM={v:?} ignored: use one of {STEPS:?}");
            None
        }
    }
}

/// The zoom this PC uses (1.0 unless set).
pub fn current(app: &AppHandle) -> f64 {
    if let Some(z) = env_zoom() {
        return z;
    }
    app.path()
        .app_config_dir()
        .ok()
        .and_then(|d| std::fs::read(d.join(FILE)).ok())
        .and_then(|b| serde_json::from_slice::<Display>(&b).ok())
        .and_then(|d| d.zoom)
        .filter(|z| valid(*z))
        .unwrap_or(1.0)
}

/// Applies this PC's zoom to the main window (at start).
pub fn apply(app: &AppHandle) {
    let z = current(app);
    if (z - 1.0).abs() > 1e-9 {
        if let Some(w) = app.get_webview_window(crate::window::MAIN) {
            if let Err(e) = w.set_zoom(z) {
                tracing::warn!("display size {z} not applied: {e}");
            }
        }
    }
}

/// Sets, applies and remembers this PC's zoom; answers it.
pub fn set(app: &AppHandle, zoom: f64) -> CmdResult<f64> {
    if !valid(zoom) {
        return Err(CommandError::new(
            "invalid_input",
            format!("display size {zoom} is not offered: choose one of 90, 100, 110, 125 or 150 %"),
        ));
    }
    let w = app
        .get_webview_window(crate::window::MAIN)
        .ok_or_else(|| CommandError::new("io", "the main window is gone: restart Renkei Desk"))?;
    w.set_zoom(zoom)
        .map_err(|e| CommandError::new("io", format!("the display size cannot be changed: {e}")))?;
    let dir = app.path().app_config_dir().map_err(|e| {
        CommandError::new("io", format!("this PC's settings folder is unknown: {e}"))
    })?;
    let body = serde_json::to_vec(&Display { zoom: Some(zoom) }).unwrap_or_default();
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(FILE), body))
        .map_err(|e| {
            CommandError::new(
                "io",
                format!(
                    "the display size was changed but not saved in {}: {e}. It applies until the app restarts",
                    dir.display()
                ),
            )
        })?;
    Ok(zoom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_sizes_are_valid() {
        assert!(valid(1.25) && valid(1.0) && valid(0.9) && valid(1.5));
        assert!(!valid(0.0) && !valid(1.2) && !valid(5.0) && !valid(f64::NAN));
    }
}
