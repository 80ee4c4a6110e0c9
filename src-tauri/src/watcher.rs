//! The store watcher: a background thread that, every second, notices data written by another
//! process on the same data dir (`renkei serve`, `renkei import`) through SQLite's
//! `PRAGMA data_version`, emits `queue-changed`, updates the tray counts and shows an OS
//! notification for each new urgent consultation.
//!
//! The trigger ("each new urgent item, once") is a placeholder for core's NotificationPolicy.

use crate::commands::queue::QueueCounts;
use crate::notifier::{Notice, Notifier};
use crate::state::{DeskState, QUEUE_CHANGED};
use renkei_core::desk::Desk;
use renkei_core::model::QueueRow;
use renkei_core::store::consultations::QueueFilter;
use renkei_core::{Status, Urgency};
use std::collections::HashSet;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};

const TICK: Duration = Duration::from_millis(1000);

/// Why the placeholder trigger notifies (shown in the notification history).
pub const URGENT_REASON: &str = "至急の新着: 受信時にすぐ通知（確認されるまで優先表示）";

/// Starts the watcher thread.
pub fn start(app: AppHandle, notifier: Notifier) {
    let spawned = std::thread::Builder::new()
        .name("renkei-store-watcher".into())
        .spawn(move || run(app, notifier));
    if let Err(e) = spawned {
        tracing::warn!("store watcher could not start: {e}");
    }
}

fn run(app: AppHandle, notifier: Notifier) {
    let mut last_version: Option<i64> = None;
    let mut notified: Option<HashSet<i64>> = None;
    loop {
        let state = app.state::<DeskState>();
        let local_change = state.take_dirty();
        let tick = state.with(|d| {
            let v = data_version(d);
            let external = last_version.is_some_and(|l| l != v);
            let first = last_version.is_none();
            last_version = Some(v);
            if !(first || external || local_change) {
                return Ok(None);
            }
            let rows = d.queue(&QueueFilter::default())?;
            let fresh = new_urgent(&rows, notified.get_or_insert_with(HashSet::new), first);
            for r in &fresh {
                let n = notice_for(r);
                let _ = d.log_notification(
                    &[r.id.to_string()],
                    Urgency::Urgent.as_str(),
                    &n.title,
                    &n.body,
                    URGENT_REASON,
                    d.now(),
                );
                notifier.send(n);
            }
            Ok(Some((external, QueueCounts::of(&rows), !fresh.is_empty())))
        });
        if let Ok(Some((external, counts, notified_now))) = tick {
            if external || notified_now {
                let _ = app.emit(QUEUE_CHANGED, ());
            }
            crate::tray::show_counts(&app, &counts);
        }
        std::thread::sleep(TICK);
    }
}

fn data_version(d: &Desk) -> i64 {
    d.conn()
        .query_row("PRAGMA data_version", [], |r| r.get(0))
        .unwrap_or(0)
}

/// Urgent, unacknowledged rows not yet notified. On the first pass (app start) existing items
/// are only remembered, not notified: the queue itself shows them.
fn new_urgent(rows: &[QueueRow], seen: &mut HashSet<i64>, first: bool) -> Vec<QueueRow> {
    let mut out = Vec::new();
    for r in rows {
        if r.urgency == Urgency::Urgent && r.status == Status::New && seen.insert(r.id) && !first {
            out.push(r.clone());
        }
    }
    out
}

/// Title and body: category, partner and channel only — never message text or names of people.
pub fn notice_for(r: &QueueRow) -> Notice {
    Notice {
        title: format!("至急の相談: {}", r.category.label_ja()),
        body: format!("{}・{}", r.partner, r.channel.label_ja()),
        urgent: true,
        consultation_id: Some(r.id),
    }
}
