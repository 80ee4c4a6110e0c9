//! The store watcher: a background thread that runs the core's notification policy live
//! ([`LiveNotifications`]). It reads the store's change feed — which also sees what another
//! process wrote on the same data dir (`renkei serve`, `renkei import`) — feeds the policy,
//! ticks it, shows what it decides through the [`Notifier`], emits `queue-changed` and updates
//! the tray. Whether the queue is in front (window focused and queue view shown) is passed to
//! the policy as `focus` events: then only urgent items pop up.
//!
//! **Pushed, not polled**: the thread sleeps until something happens — a command of this app
//! changed data or the focus moved ([`DeskState::wake`]), or a file in the data dir changed
//! (another process committed: its WAL grew; watched with the `notify` crate, inotify /
//! ReadDirectoryChangesW / FSEvents, which never opens the store's files). A slow tick
//! ([`TICK`]) remains as the safety net and for the policy's own clock (digests, repeats).

use crate::events::QUEUE_CHANGED;
use crate::notifier::{Notice, Notifier};
use crate::state::DeskState;
use renkei_core::feed::LiveNotifications;
use renkei_core::model::QueueCounts;
use renkei_core::policy::Notification;
use renkei_core::queue_watch::QueueWatch;
use renkei_core::store::consultations::QueueFilter;
use renkei_core::Urgency;
use std::sync::mpsc;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};

/// The safety-net tick: the policy's clock, and any change no wake-up reported.
const TICK: Duration = Duration::from_millis(1000);
/// A connected PC reads the hub's queue when the hub says something changed, and at least this
/// often (a missed event costs at most this long).
const HUB_LOOK_EVERY: Duration = Duration::from_secs(30);
/// After a wake-up: a moment for the writer to publish its commit.
const SETTLE: Duration = Duration::from_millis(10);
/// After a wake-up: look again this soon, and then once more, for a commit published after the
/// first look (the WAL is written before the commit is visible). Two short looks instead of one
/// at 150 ms, so a commit the first look missed shows ≈ 100 ms sooner.
const FOLLOW_UPS: [Duration; 2] = [Duration::from_millis(30), Duration::from_millis(120)];

/// Starts the watcher thread.
pub fn start(app: AppHandle, notifier: Notifier) {
    let spawned = std::thread::Builder::new()
        .name("renkei-store-watcher".into())
        .spawn(move || run(app, notifier));
    if let Err(e) = spawned {
        tracing::warn!("store watcher could not start: {e}");
    }
}

/// Watches the data dir for the store's files changing (another process committed); each change
/// wakes the watcher. `None` where the OS gives no change notifications (the tick still runs).
fn watch_store_dir(
    dir: &std::path::Path,
    wake: mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::{EventKind, RecursiveMode, Watcher};
    let handler = move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            let ours = ev.paths.iter().any(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(renkei_core::store::DB_FILE))
            });
            if ours && matches!(ev.kind, EventKind::Modify(_) | EventKind::Create(_)) {
                let _ = wake.send(());
            }
        }
    };
    let mut w = notify::recommended_watcher(handler)
        .map_err(|e| tracing::info!("no change notifications for the data dir: {e}"))
        .ok()?;
    w.watch(dir, RecursiveMode::NonRecursive)
        .map_err(|e| tracing::info!("no change notifications for {}: {e}", dir.display()))
        .ok()?;
    Some(w)
}

fn run(app: AppHandle, notifier: Notifier) {
    let state = app.state::<DeskState>();
    let (wake, woken) = mpsc::channel::<()>();
    state.set_waker(wake.clone());
    let dir = state.internal(|d| Ok(d.data_dir().root.clone())).ok();
    let _watch = dir.and_then(|d| watch_store_dir(&d, wake));
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
    let mut wait = TICK;
    // Which of FOLLOW_UPS comes next after a wake-up (none left: the tick).
    let mut follow_up = FOLLOW_UPS.len();
    // The day the evening handover (申し送り, counts only) was last shown.
    let mut handover_sent = None;
    // On a PC connected to a hub: the policy over the hub's queue (issue 19), not the local feed.
    let mut hub_watch: Option<QueueWatch> = None;
    let mut hub_looked = std::time::Instant::now();
    loop {
        let now_visible = state.queue_in_front();
        let local_change = state.take_dirty();
        if state.hub_client().is_some() {
            let refresh = state.hub().take_changed() || hub_looked.elapsed() >= HUB_LOOK_EVERY;
            if refresh {
                hub_looked = std::time::Instant::now();
            }
            let focus = (now_visible != visible).then_some(now_visible);
            let shown = hub_step(&app, &state, &mut hub_watch, refresh, focus);
            show(&notifier, &shown);
            visible = now_visible;
            wait = sleep_until_woken(&woken, wait, &mut follow_up);
            continue;
        }
        hub_watch = None;
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
        if let Ok(Some((day, text))) = state.internal(|d| Ok(d.evening_handover(handover_sent)?)) {
            handover_sent = Some(day);
            notifier.send(Notice {
                title: renkei_core::desk::EVENING_TITLE.into(),
                body: text,
                urgent: false,
                consultation_id: None,
            });
        }
        // Sleep until woken or the tick. A data-dir notification can come while the writer is
        // still finishing its commit (the WAL frames are written before the commit is
        // published): let it settle a moment, take the wake-ups of the burst as one step, and
        // look once more soon after.
        wait = sleep_until_woken(&woken, wait, &mut follow_up);
    }
}

/// Sleeps until woken or `wait` passed; answers how long the next sleep may be (a short
/// follow-up look after a wake-up, else the tick).
fn sleep_until_woken(
    woken: &mpsc::Receiver<()>,
    wait: Duration,
    follow_up: &mut usize,
) -> Duration {
    match woken.recv_timeout(wait) {
        Ok(()) => {
            std::thread::sleep(SETTLE);
            while woken.try_recv().is_ok() {}
            *follow_up = 0;
        }
        Err(_) => *follow_up = follow_up.saturating_add(1),
    }
    FOLLOW_UPS.get(*follow_up).copied().unwrap_or(TICK)
}

/// One round on a PC connected to a hub, for whoever is signed in here: read the hub's open
/// queue when it changed (or every [`HUB_LOOK_EVERY`]), feed the policy, tick it. Signed out or
/// locked: nothing rings (the next person starts afresh). The hub unreachable: the policy keeps
/// ticking on what it knew (an untaken urgent item keeps repeating).
fn hub_step(
    app: &AppHandle,
    state: &DeskState,
    watch: &mut Option<QueueWatch>,
    refresh: bool,
    focus: Option<bool>,
) -> Vec<Notification> {
    if state.signed_in().is_none() {
        *watch = None;
        return Vec::new();
    }
    let Ok(now) = state.internal(|d| Ok(d.now())) else {
        return Vec::new();
    };
    let w = watch.get_or_insert_with(|| QueueWatch::new(hub_policy_settings(state)));
    let mut shown = Vec::new();
    if let Some(v) = focus {
        shown.extend(w.focus(now, v));
    }
    let rows = if refresh || !w.started() {
        state
            .remote(|h| h.queue(&QueueFilter::default()))
            .ok()
            .map(|(_, rows)| rows)
    } else {
        None
    };
    match rows {
        Some(rows) => {
            shown.extend(w.observe(now, &rows));
            crate::tray::show_counts(app, &QueueCounts::of(&rows));
        }
        None => shown.extend(w.tick(now)),
    }
    if !shown.is_empty() {
        let _ = state.internal(|d| Ok(renkei_core::feed::log_notifications(d, &shown)?));
    }
    shown
}

/// The clinic's notification settings as the hub has them (the local store's as a fallback).
fn hub_policy_settings(state: &DeskState) -> renkei_core::policy::PolicySettings {
    match crate::commands::settings::hub_settings(state) {
        Ok(s) => s.policy_settings(),
        Err(_) => state
            .internal(|d| Ok(d.settings().policy_settings()))
            .unwrap_or_default(),
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
