//! OS notifications through notify-rust, off the main thread.
//!
//! `Notification::show()` blocks on D-Bus (and waiting for a click blocks until the
//! notification closes), so one dedicated thread takes [`Notice`]s from a channel and shows
//! them; each shown notification gets a small thread that waits for its action. Clicking it
//! (action `default`) brings the window to the front and emits `open-consultation` with the id.
//!
//! Texts are built by the caller from category, partner and counts only — never message text
//! or a patient's name (the screen may face the waiting room).
//!
//! An urgent item has one notification on screen: the policy's repeats and escalation for it
//! (`replaces` = the item's first notification) are shown with notify-rust's replace id — the
//! id the server gave that item's previous notification — so the same notification is updated
//! in place instead of stacking a new one. The thread keys this by the consultation a click
//! opens (the policy's urgent notifications name exactly one item, and [`Notice`] carries it).

use std::collections::HashMap;
use std::sync::mpsc;
use tauri::AppHandle;

/// One notification to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
    pub urgent: bool,
    /// The consultation a click opens.
    pub consultation_id: Option<i64>,
}

/// The sending end; cheap to clone.
#[derive(Debug, Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Notice>,
}

impl Notifier {
    /// Starts the notification thread.
    pub fn start(app: AppHandle) -> Self {
        let (tx, rx) = mpsc::channel::<Notice>();
        let spawned = std::thread::Builder::new()
            .name("renkei-notifier".into())
            .spawn(move || {
                // The server's id of the last urgent notification shown per consultation.
                let mut shown: HashMap<i64, u32> = HashMap::new();
                for n in rx {
                    show(&app, n, &mut shown);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("notification thread could not start: {e}");
        }
        Notifier { tx }
    }

    /// Queues a notification; never blocks.
    pub fn send(&self, n: Notice) {
        if self.tx.send(n).is_err() {
            tracing::warn!("notification thread has stopped; notification dropped");
        }
    }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn show(app: &AppHandle, n: Notice, shown: &mut HashMap<i64, u32>) {
    let mut note = notify_rust::Notification::new();
    // A repeat of an urgent item replaces that item's notification on screen.
    let replace = n
        .consultation_id
        .filter(|_| n.urgent)
        .and_then(|c| shown.get(&c).copied());
    if let Some(previous_id) = replace {
        note.id(previous_id);
    }
    note.appname("Renkei Desk")
        .summary(&n.title)
        .body(&n.body)
        .icon("dialog-information")
        .action("default", "開く")
        .urgency(if n.urgent {
            notify_rust::Urgency::Critical
        } else {
            notify_rust::Urgency::Normal
        });
    match note.show() {
        Ok(handle) => {
            if let (true, Some(c)) = (n.urgent, n.consultation_id) {
                shown.insert(c, handle.id());
            }
            let app = app.clone();
            let id = n.consultation_id;
            let _ = std::thread::Builder::new()
                .name("renkei-notification-action".into())
                .spawn(move || {
                    handle.wait_for_action(|action| {
                        if action == "default" {
                            crate::window::open_consultation(&app, id);
                        }
                    })
                });
        }
        Err(e) => tracing::warn!("notification not shown: {e}"),
    }
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn show(_app: &AppHandle, n: Notice, _shown: &mut HashMap<i64, u32>) {
    let mut note = notify_rust::Notification::new();
    note.appname("Renkei Desk").summary(&n.title).body(&n.body);
    if let Err(e) = note.show() {
        tracing::warn!("notification not shown: {e}");
    }
}
