//! The self-check at every start ("the store checks itself" after a power cut): a few seconds
//! after the window opens, a background thread opens its own connection to the store and runs
//! the core's quick check ([`renkei_core::desk::Desk::quick_check`]: `PRAGMA quick_check`,
//! every attachment file present, the audit chain), so the desk is never blocked by it. The
//! result is kept for the settings screen, audited as `store.check`, logged with counts only,
//! and a problem goes to the UI at once as `store-problem`.

use crate::events::STORE_PROBLEM;
use crate::state::DeskState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tauri::{AppHandle, Emitter, Manager};

const AFTER: Duration = Duration::from_secs(3);

/// The outcome of the last self-check (never any personal data: counts and file hashes).
#[derive(Debug, Clone, Serialize)]
pub struct SelfCheck {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub took_ms: u64,
    pub consultations: u64,
    pub attachments: u64,
    pub audit_rows: u64,
    pub problems: Vec<String>,
}

/// Holds the last self-check for `app_info`.
#[derive(Debug, Default)]
pub struct SelfCheckState(Mutex<Option<SelfCheck>>);

impl SelfCheckState {
    pub fn get(&self) -> Option<SelfCheck> {
        self.0.lock().ok().and_then(|g| g.clone())
    }
    fn set(&self, c: SelfCheck) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(c);
        }
    }
}

/// Starts the self-check thread (once, at start-up).
pub fn start(app: AppHandle) {
    let spawned = std::thread::Builder::new()
        .name("renkei-self-check".into())
        .spawn(move || {
            std::thread::sleep(AFTER);
            run(&app);
        });
    if let Err(e) = spawned {
        tracing::warn!("self-check could not start: {e}");
    }
}

fn run(app: &AppHandle) {
    let state = app.state::<DeskState>();
    // No store (wrong key, …): the window already says so; nothing to check.
    let Ok(now) = state.internal(|d| Ok(d.now())) else {
        return;
    };
    let started = Instant::now();
    let result = crate::open_desk().and_then(|mut d| Ok(d.quick_check()?));
    let took_ms = started.elapsed().as_millis() as u64;
    let check = match result {
        Ok(r) => SelfCheck {
            at: now,
            ok: r.problems.is_empty(),
            took_ms,
            consultations: r.consultations,
            attachments: r.attachments_checked,
            audit_rows: r.audit_rows,
            problems: r.problems,
        },
        Err(e) => SelfCheck {
            at: now,
            ok: false,
            took_ms,
            consultations: 0,
            attachments: 0,
            audit_rows: 0,
            problems: vec![e.message],
        },
    };
    let detail = if check.ok {
        format!(
            "ok: {} consultations, {} attachments, {} audit rows, {} ms",
            check.consultations, check.attachments, check.audit_rows, check.took_ms
        )
    } else {
        format!("{} problem(s)", check.problems.len())
    };
    if check.ok {
        tracing::info!("self-check {detail}");
    } else {
        tracing::error!("self-check found {detail}");
    }
    let _ = state.internal(|d| Ok(d.record("system", "store.check", None, &detail)?));
    if !check.ok {
        let _ = app.emit(
            STORE_PROBLEM,
            serde_json::json!({ "message": check.problems.join("; ") }),
        );
    }
    app.state::<SelfCheckState>().set(check);
}
