//! The store watcher: a background thread that runs the core's notification policy live
//! ([`LiveNotifications`]). Every second it polls the store's change feed — which also sees what
//! another process wrote on the same data dir (`renkei serve`, `renkei import`) — feeds the
//! policy, ticks it, shows what it decides through the [`Notifier`], emits `queue-changed` and
//! updates the tray. Whether the queue is in front (window focused and queue view shown) is
//! passed to the policy as `focus` events: then only urgent items pop up.

use crate::notifier::{Notice, Notifier};
use crate::state::{DeskState, QUEUE_CHANGED};
use renkei_core::feed::LiveNotifications;
use renkei_core::model::QueueCounts;
use renkei_core::policy::Notification;
use renkei_core::store::consultations::QueueFilter;
use renkei_core::Urgency;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};

const TICK: Duration = Duration::from_millis(500);

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
    let state = app.state::<DeskState>();
    let started = state.internal(|d| {
        let settings = d.settings().policy_settings();
        Ok(LiveNotifications::start(d, settings)?)
    });
    let (mut live, initial) = match started {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!("notifications are off: {}", e.message);
            return;
        }
    };
    show(&notifier, &initial);
    let mut visible = false;
    loop {
        let now_visible = state.queue_in_front();
        let local_change = state.take_dirty();
        let tick = state.internal(|d| {
            let mut shown = Vec::new();
            if now_visible != visible {
                shown.extend(live.focus(d, now_visible)?);
            }
            if state.take_settings_changed() {
                d.reload_settings()?;
                live.set_settings(d.settings().policy_settings());
            }
            let step = live.step(d)?;
            shown.extend(step.notifications);
            let counts = if step.changed || local_change || !shown.is_empty() {
                Some(QueueCounts::of(&d.queue(&QueueFilter::default())?))
            } else {
                None
            };
            Ok((step.changed, counts, shown))
        });
        visible = now_visible;
        match tick {
            Ok((changed, counts, shown)) => {
                show(&notifier, &shown);
                if changed {
                    let _ = app.emit(QUEUE_CHANGED, ());
                }
                if let Some(c) = counts {
                    crate::tray::show_counts(&app, &c);
                }
            }
            Err(e) => tracing::warn!("store watcher: {}", e.message),
        }
        std::thread::sleep(TICK);
    }
}

fn show(notifier: &Notifier, ns: &[Notification]) {
    for n in ns {
        notifier.send(notice_for(n));
    }
}

/// The OS notification for a policy decision: its title and body are the policy's (category,
/// partner and counts only — never message text or names); a click opens the first item.
pub fn notice_for(n: &Notification) -> Notice {
    Notice {
        title: n.title.clone(),
        body: n.body.clone(),
        urgent: n.urgency == Urgency::Urgent || n.escalated,
        consultation_id: n.ids.first().and_then(|id| id.parse().ok()),
    }
}
