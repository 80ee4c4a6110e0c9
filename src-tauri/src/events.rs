//! Every event the app emits to the page, in one place (`ui/api.js` `on(...)` listens to them).
//! Payloads never carry message text or names: ids, counts, short status words.

/// Data changed (here or in another process): reload what is shown. No payload.
pub const QUEUE_CHANGED: &str = "queue-changed";
/// The app locked (`{locked: true}`) or unlocked (`{locked: false}`).
pub const LOCK_CHANGED: &str = "lock-changed";
/// Open this consultation (payload: its id) — a notification or the tray was clicked.
pub const OPEN_CONSULTATION: &str = "open-consultation";
/// Files were dropped on the window from the desktop (payload: their paths).
pub const NATIVE_DROP: &str = "native-drop";
/// A desktop drag entered or left the window (`"enter"` / `"leave"`).
pub const NATIVE_DRAG: &str = "native-drag";
/// The daily backup failed (`{message}`).
pub const BACKUP_PROBLEM: &str = "backup-problem";
/// The start-up self-check found a problem (`{message}`).
pub const STORE_PROBLEM: &str = "store-problem";
/// Connected mode: a change arrived from the hub (`{consultation_id, kind}`; never text).
pub const HUB_CHANGED: &str = "hub-changed";
/// Connected mode: someone views or handles a consultation (`{consultation_id, who, state,
/// ttl_seconds}`) — 「大野さんが閲覧中」.
pub const HUB_PRESENCE: &str = "hub-presence";
