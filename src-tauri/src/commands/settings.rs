//! Settings (read-only display for now) and facts about the running app.

use crate::error::CmdResult;
use crate::state::DeskState;
use chrono::{DateTime, Utc};
use renkei_core::settings::Settings;
use serde::Serialize;
use tauri::State;

#[tauri::command]
pub fn settings_get(state: State<'_, DeskState>) -> CmdResult<Settings> {
    state.with(|d| Ok(d.settings().clone()))
}

/// What the UI needs to know about the app: version, data folder, domain "now".
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub version: &'static str,
    pub data_dir: String,
    /// Domain time (honours `RENKEI_NOW`); the UI measures relative times against it.
    pub now: DateTime<Utc>,
}

#[tauri::command]
pub fn app_info(state: State<'_, DeskState>) -> CmdResult<AppInfo> {
    state.with(|d| {
        Ok(AppInfo {
            version: env!("CARGO_PKG_VERSION"),
            data_dir: d.store().dir().db_path().display().to_string(),
            now: d.now(),
        })
    })
}
