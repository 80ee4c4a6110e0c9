//! Settings → 「ハブに接続」 (issue 19): read the hub's certificate, connect with the one-time
//! code after the user confirmed the fingerprint, show 接続中 / 切断, disconnect
//! (administrators). One line each over [`crate::hub::HubLink`].

use crate::error::{CmdResult, CommandError};
use crate::hub::{HubLink, HubProbe, HubStatus};
use crate::state::DeskState;
use renkei_core::store::staff::Role;
use tauri::State;

/// 接続中 / 切断, the hub's address, this PC's name, the pinned fingerprint, last sync.
#[tauri::command]
pub fn hub_status(state: State<'_, DeskState>) -> HubStatus {
    let mut s = state.hub().status();
    if s.connected {
        (s.outbox_pending, s.outbox_conflicts) = crate::offline::counts(&state);
    }
    s
}

/// Closes an offline action the hub refused (the person read why).
#[tauri::command]
pub fn hub_outbox_dismiss(state: State<'_, DeskState>, id: i64) -> CmdResult<()> {
    if state.signed_in().is_none() {
        return Err(CommandError::new("locked", "sign in first"));
    }
    crate::offline::dismiss(&state, id)
}

/// Step 1: the certificate fingerprint to confirm (no code or PIN is sent).
#[tauri::command]
pub fn hub_probe(url: String) -> CmdResult<HubProbe> {
    HubLink::probe(&url)
}

/// Step 2 (確認して接続): enrol with the one-time code, trusting the confirmed fingerprint.
/// The app then locks: staff sign in with their PIN against the hub.
#[tauri::command]
pub fn hub_connect(
    state: State<'_, DeskState>,
    url: String,
    code: String,
    fingerprint: Option<String>,
) -> CmdResult<HubStatus> {
    let s = state.hub().connect(&url, &code, fingerprint)?;
    state.lock()?;
    state.emit_lock(true);
    Ok(s)
}

/// 切断 (administrators): the credential leaves the keyring; the app works locally again.
#[tauri::command]
pub fn hub_disconnect(state: State<'_, DeskState>) -> CmdResult<HubStatus> {
    match state.signed_in() {
        Some(s) if s.role == Role::Admin => {}
        _ => {
            return Err(CommandError::new(
                "forbidden",
                "only an administrator can disconnect this PC from the hub",
            ))
        }
    }
    state.hub().disconnect()?;
    // What was read from that hub is not this PC's to keep (the outbox stays until closed).
    if let Err(e) = state.internal(|d| Ok(d.hub_cache_clear()?)) {
        tracing::warn!(
            "the kept copies of the hub could not be removed: {}",
            e.code
        );
    }
    state.lock()?;
    Ok(state.hub().status())
}
