//! The automatic daily backup: a background thread that every 10 minutes asks the core for
//! today's generation ([`renkei_core::desk::Desk::daily_backup`]; it writes at most one a day)
//! when backups are enabled in the settings. Logs carry file names and counts only, never
//! personal data. A mirror problem (NAS unreachable) is sent to the UI once as
//! `backup-problem`, until it changes or goes away.

use crate::events::BACKUP_PROBLEM;
use crate::state::DeskState;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};

const EVERY: Duration = Duration::from_secs(10 * 60);
const FIRST_AFTER: Duration = Duration::from_secs(30);

/// Starts the backup thread.
pub fn start(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("renkei-daily-backup".into())
        .spawn(move || run(app));
    if let Err(e) = spawned {
        tracing::warn!("daily backup could not start: {e}");
    }
}

fn run(app: AppHandle) {
    std::thread::sleep(FIRST_AFTER);
    let mut last_problem: Option<String> = None;
    loop {
        let problem = once(&app.state::<DeskState>());
        if problem.is_some() && problem != last_problem {
            let _ = app.emit(
                BACKUP_PROBLEM,
                serde_json::json!({ "message": problem.clone().unwrap_or_default() }),
            );
        }
        last_problem = problem;
        std::thread::sleep(EVERY);
    }
}

/// One run; the problem to report, if any.
fn once(state: &DeskState) -> Option<String> {
    let r = state.internal(|d| {
        if !d.settings().backup.enabled {
            return Ok(None);
        }
        Ok(Some(d.daily_backup()?))
    });
    match r {
        Ok(None) => None,
        Ok(Some(out)) => {
            if let Some(p) = &out.written {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                tracing::info!(
                    "daily backup written: {} ({} old generation(s) pruned)",
                    name.unwrap_or_default(),
                    out.pruned.len()
                );
            }
            if let Some(e) = &out.mirror_error {
                tracing::warn!("daily backup: mirror copy failed: {e}");
            }
            out.mirror_error
        }
        Err(e) => {
            tracing::warn!("daily backup failed ({})", e.code);
            Some(e.message)
        }
    }
}
