//! Settings (secrets masked on the way out, checked and saved by the core), the next national
//! holidays, "back up now", and facts about the running app.

use crate::error::{CmdResult, CommandError};
use crate::state::DeskState;
use chrono::{DateTime, Utc};
use renkei_core::settings::Settings;
use serde::Serialize;
use tauri::State;

#[tauri::command]
pub fn settings_get(state: State<'_, DeskState>) -> CmdResult<Settings> {
    if state.hub_client().is_some() {
        // Connected: the clinic's settings are the hub's (read-only here); the local store's
        // copy is stale and never shown.
        return hub_settings(&state);
    }
    state.with(|d| Ok(d.settings().masked()))
}

/// The clinic's settings as the hub has them (a connected PC: the settings view, the
/// notification policy).
pub(crate) fn hub_settings(state: &DeskState) -> CmdResult<Settings> {
    let v = state.remote(|h| h.settings())?;
    serde_json::from_value(v).map_err(|e| {
        CommandError::new(
            "hub_bad_answer",
            format!(
                "ハブの設定を読めませんでした（{e}）。アプリとハブの版をそろえてください。 \
                 The hub's settings could not be read; update the app and the hub to the same version."
            ),
        )
    })
}

/// A national holiday for the read-only list in the settings.
#[derive(Debug, Clone, Serialize)]
pub struct Holiday {
    pub date: chrono::NaiveDate,
    pub name: &'static str,
}

impl From<(chrono::NaiveDate, &'static str)> for Holiday {
    fn from((date, name): (chrono::NaiveDate, &'static str)) -> Self {
        Holiday { date, name }
    }
}

#[tauri::command]
pub fn holidays_upcoming(state: State<'_, DeskState>, count: usize) -> CmdResult<Vec<Holiday>> {
    state.with(|d| Ok(holidays(d.upcoming_holidays(count.min(40)))))
}

fn holidays(v: Vec<(chrono::NaiveDate, &'static str)>) -> Vec<Holiday> {
    v.into_iter().map(Holiday::from).collect()
}

/// What "今すぐバックアップ" wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BackupResult {
    pub path: String,
    pub consultations: u64,
    pub attachments: u64,
}

impl BackupResult {
    fn of((path, m): (std::path::PathBuf, renkei_core::backup::Manifest)) -> Self {
        BackupResult {
            path: path.display().to_string(),
            consultations: m.consultations,
            attachments: m.attachments,
        }
    }
}

#[tauri::command]
pub fn backup_now(state: State<'_, DeskState>) -> CmdResult<BackupResult> {
    state.act_quietly(|d, by| Ok(BackupResult::of(d.backup_now(by)?)))
}

/// What the UI needs to know about the app: version, data folder, domain "now".
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub version: &'static str,
    pub data_dir: String,
    /// Domain time (honours `RENKEI_NOW`); the UI measures relative times against it.
    pub now: DateTime<Utc>,
    /// Where the store key is kept: `keyring`, `file`, `env` (never the key).
    pub key_source: Option<&'static str>,
    /// The key file's path, the keyring entry or the variable's name, for the administrator.
    pub key_location: Option<String>,
    /// Short fingerprint of the key (also in every backup manifest).
    pub key_fingerprint: String,
    /// The start-up self-check (`None` while it has not run yet).
    pub self_check: Option<crate::selfcheck::SelfCheck>,
    /// The daily backups: newest generation, its age, the mirror copy.
    pub backup: renkei_core::desk::BackupStatus,
    /// This PC is connected to a hub (the queue may be the kept copy while it is unreachable).
    pub hub_connected: bool,
}

impl AppInfo {
    fn of(d: &renkei_core::desk::Desk, self_check: Option<crate::selfcheck::SelfCheck>) -> Self {
        AppInfo {
            version: env!("CARGO_PKG_VERSION"),
            data_dir: d.data_dir().db_path().display().to_string(),
            now: d.now(),
            key_source: d.key_source().map(|k| k.code()),
            key_location: d.key_source().map(|k| k.location()),
            key_fingerprint: d.key_fingerprint(),
            self_check,
            backup: d.backup_status(),
            hub_connected: false,
        }
    }
}

#[tauri::command]
pub fn app_info(
    state: State<'_, DeskState>,
    check: State<'_, crate::selfcheck::SelfCheckState>,
) -> CmdResult<AppInfo> {
    let mut info = state.with(|d| Ok(AppInfo::of(d, check.get())))?;
    info.hub_connected = state.hub_client().is_some();
    Ok(info)
}

/// Saves the clinic's settings (calendar, targets, roster, notifications, backups).
#[tauri::command]
pub fn settings_save(state: State<'_, DeskState>, settings: Settings) -> CmdResult<Settings> {
    if state.hub_client().is_some() {
        return Err(hub_managed());
    }
    let saved = state.act(|d, by| Ok(d.update_settings(settings, by).map(|_| masked(d))?))?;
    state.mark_settings_changed();
    Ok(saved)
}

/// Saving settings on a connected PC: refused (the hub keeps the clinic's settings; saving
/// them from a desk is not built — an administrator changes them on the hub's own store).
pub fn hub_managed() -> CommandError {
    CommandError::new(
        "hub_managed",
        "設定はハブで管理されています。この PC では変更できません。変更は管理者がハブ側で行ってください。 \
         Settings are managed by the hub and cannot be changed on this PC; an administrator changes them on the hub.",
    )
}

fn masked(d: &renkei_core::desk::Desk) -> Settings {
    d.settings().masked()
}

/// Every code's labels (Japanese and English) — the page's one source of labels. Needs no
/// store: the lock screen uses it too.
#[tauri::command]
pub fn code_labels() -> std::collections::BTreeMap<&'static str, Vec<renkei_core::codes::CodeLabel>>
{
    renkei_core::codes::label_tables()
}

/// Whether the app starts with this PC (a setting of the PC and its user, not of the clinic).
#[tauri::command]
pub fn autostart_get(app: tauri::AppHandle) -> CmdResult<bool> {
    crate::autostart::enabled(&app)
}

/// Turns starting with this PC on or off; answers the new state.
#[tauri::command]
pub fn autostart_set(app: tauri::AppHandle, enabled: bool) -> CmdResult<bool> {
    crate::autostart::set(&app, enabled)
}

/// This PC's display size (webview zoom, 1.0 = 100 %).
#[tauri::command]
pub fn display_zoom_get(app: tauri::AppHandle) -> f64 {
    crate::zoom::current(&app)
}

/// Changes this PC's display size (0.9, 1.0, 1.1, 1.25 or 1.5); answers the new one.
#[tauri::command]
pub fn display_zoom_set(app: tauri::AppHandle, zoom: f64) -> CmdResult<f64> {
    crate::zoom::set(&app, zoom)
}

/// The UI tells which view is in front: only the queue view counts as "looking at the queue".
#[tauri::command]
pub fn ui_view_changed(state: State<'_, DeskState>, view: String) {
    state.set_queue_shown(view == "queue");
}
