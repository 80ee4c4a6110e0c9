//! `Desk`: the one API that the `renkei` CLI, the intake server and the desktop app all call.
//!
//! Each operation is one write (or read) transaction over the store that also applies the
//! domain rules — urgency suggestion, due time on the clinic calendar, roster assignment,
//! personal-data flags, deduplication and threading — and appends to the audit log. Callers pass
//! who is acting; time comes from the injected clock. Nothing outside this crate gets the
//! store's connection: what a caller needs is a method here.
//!
//! One `impl Desk` block per domain:
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | the type, opening, clock, settings, store facts (data dir, key), the audited-write helper |
//! | `intake.rs` | taking in consultations (dedupe, Idempotency-Key, threads), poller cursors |
//! | `consultation.rs` | queue, detail, status/owner/urgency/category/snooze, messages |
//! | `documents.rs` | attachments, document import, reading an attachment |
//! | `partners.rs` | partners, API keys, the partner's view, response statistics |
//! | `replies.rs` | replies sent back on the consultation's channel: the outbox, 再送, the sender's steps |
//! | `receipts.rs` | the automatic receipt when an item is taken, the on-call message for untaken urgent items |
//! | `staff.rs` | staff profiles, sign-in, PINs, who may administer |
//! | `hub.rs` | connected desks: devices, staff sessions, the compare-and-set take, the change sequence, keyed (idempotent) staff actions |
//! | `hub_local.rs` | a connected desk's own side: the cache of what it read from the hub, the offline outbox |
//! | `maintenance.rs` | audit log, notification log, backups, integrity check |

mod consultation;
mod documents;
mod dropped;
mod hub;
mod hub_local;
mod intake;
mod mail;
mod maintenance;
mod partners;
mod receipts;
mod replies;
mod report;
mod staff;

pub use consultation::sort_rows;
pub use documents::{safe_file_name, Document, ImportOutcome};
pub use dropped::DropOutcome;
pub use hub::{DeskSession, Keyed, SessionProblem};
pub use hub_local::{KEPT_FRESH_MINUTES, OFFLINE_PIN_TRIES, OUTBOX_ACTIONS};
pub use intake::{BatchItem, Prepared};
pub use mail::MailOutcome;
pub use maintenance::{BackupStatus, CheckReport};
pub use partners::PartnerStats;
pub use receipts::ONCALL_ACTOR;
pub use replies::{ReplyOutcome, RetryPolicy};
pub use report::EVENING_TITLE;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::settings::{Settings, SETTINGS_KEY};
use crate::store::engine::{Blobs, Engine};
use crate::store::sql::Db;
use crate::store::{self, audit, DataDir, Store, StoreKey};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The service layer over one store.
pub struct Desk {
    store: Engine,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// Where the store key came from, when the Desk found it itself (`Desk::open`).
    key_source: Option<store::keys::KeySource>,
    /// The `Idempotency-Key` of the staff action now running ([`Desk::keyed`]): the next
    /// audited write records it in its own transaction.
    request: Option<store::desk_requests::RequestKey>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Desk {
    /// Opens the store in `dir` with the key from the environment / key file.
    pub fn open(dir: &DataDir, clock: Arc<dyn Clock>) -> Result<Desk> {
        let (key, source) = store::keys::locate(dir)?;
        let mut desk = Self::open_with_key(dir, key, clock)?;
        desk.key_source = Some(source);
        Ok(desk)
    }

    /// Where the store key is kept (keyring, key file, environment), if this Desk looked it up.
    pub fn key_source(&self) -> Option<&store::keys::KeySource> {
        self.key_source.as_ref()
    }

    pub fn open_with_key(dir: &DataDir, key: StoreKey, clock: Arc<dyn Clock>) -> Result<Desk> {
        Self::from_engine(Engine::open(dir, key)?, clock)
    }

    pub fn from_store(store: Store, clock: Arc<dyn Clock>) -> Result<Desk> {
        Self::from_engine(Engine::Sqlite(store), clock)
    }

    /// A Desk on an open store of either engine.
    pub fn from_engine(store: Engine, clock: Arc<dyn Clock>) -> Result<Desk> {
        let settings =
            store::settings::get::<Settings>(store.db(), SETTINGS_KEY)?.unwrap_or_default();
        Ok(Desk {
            store,
            clock,
            settings,
            key_source: None,
            request: None,
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
    /// Replaces the clock (demo replay, tests); returns the previous one.
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) -> Arc<dyn Clock> {
        std::mem::replace(&mut self.clock, clock)
    }
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The data directory of the open store (database, attachments, backups, logs).
    pub fn data_dir(&self) -> &DataDir {
        self.store.dir()
    }
    /// The key of the open store (it has proved to fit: the store opened with it). For
    /// `renkei key export`; never shown.
    pub fn store_key(&self) -> &StoreKey {
        self.store.key()
    }
    /// A short fingerprint of the store key, safe to show (`renkei key status`, the settings
    /// screen).
    pub fn key_fingerprint(&self) -> String {
        self.store.key().fingerprint()
    }

    /// The store's connection, for the change feed in this crate. Not for other crates: what
    /// they need is a `Desk` method.
    pub(crate) fn conn(&self) -> &dyn Db {
        self.store.db()
    }
    fn blobs(&self) -> Blobs<'_> {
        self.store.blobs()
    }
    /// Which engine the store is on (SQLite in the data dir, or a PostgreSQL hub).
    pub fn backend(&self) -> store::sql::Backend {
        self.store.backend()
    }

    /// Re-reads the settings from the store (another process or window may have saved them).
    pub fn reload_settings(&mut self) -> Result<&Settings> {
        self.settings =
            store::settings::get::<Settings>(self.store.db(), SETTINGS_KEY)?.unwrap_or_default();
        Ok(&self.settings)
    }

    /// Replaces the settings (validated by their types), audited.
    pub fn save_settings(&mut self, s: Settings, by: &str) -> Result<()> {
        self.audited(by.to_string(), |c| {
            store::settings::put(c.tx, SETTINGS_KEY, &s, c.now)?;
            c.audit("settings.update", None, "")
        })?;
        self.settings = s;
        Ok(())
    }

    /// Saves settings from the settings screen: only for administrators, validated
    /// ([`Settings::validate`]), masked secrets keep their stored value.
    pub fn update_settings(&mut self, mut s: Settings, by: &str) -> Result<()> {
        self.authorize_admin(by)?;
        s.keep_secrets_from(&self.settings);
        // The words of the problem in the clinic's language — the settings screen shows them
        // as they are.
        s.validate().map_err(|p| {
            let lang = if s.language == "en" { "en" } else { "ja" };
            Error::invalid(format!("settings.{}", p.key), p.text(lang))
        })?;
        self.save_settings(s, by)
    }

    /// The next `count` national holidays from today (JST), for the settings screen.
    pub fn upcoming_holidays(&self, count: usize) -> Vec<(chrono::NaiveDate, &'static str)> {
        use chrono::Datelike;
        let today = crate::calendar::jst_date(self.now());
        (today.year()..=today.year() + 1)
            .flat_map(crate::calendar::holidays::holidays_in_year)
            .filter(|(d, _)| *d >= today)
            .take(count)
            .collect()
    }

    // ----- the audited write -------------------------------------------------------------------

    /// One change by staff: checks who acts ([`actor`]), then [`Desk::audited`].
    fn act<T>(&mut self, by: &str, f: impl FnOnce(&Change<'_>) -> Result<T>) -> Result<T> {
        let by = actor(by)?;
        self.audited(by, f)
    }

    /// One audited write: `f` runs in one `BEGIN IMMEDIATE` transaction with the acting name and
    /// the time, and appends its audit events with [`Change::audit`] in the same transaction —
    /// the change and its audit commit together or not at all. `by` is taken as given (callers
    /// check it with [`actor`] first where staff act).
    fn audited<T>(&mut self, by: String, f: impl FnOnce(&Change<'_>) -> Result<T>) -> Result<T> {
        let now = self.now();
        let request = self.request.take();
        self.store.write(|tx| {
            let out = f(&Change { tx, by: &by, now })?;
            if let Some(k) = &request {
                store::desk_requests::record(tx, k, now)?;
            }
            Ok(out)
        })
    }
}

/// The context of one audited write ([`Desk::audited`]).
struct Change<'a> {
    tx: &'a dyn Db,
    /// Who acts.
    by: &'a str,
    now: DateTime<Utc>,
}

impl Change<'_> {
    /// Appends an audit event by the acting name at the write's time.
    fn audit(&self, action: &str, target: Option<&str>, detail: &str) -> Result<()> {
        audit::append(self.tx, self.now, self.by, action, target, detail).map(|_| ())
    }
}

/// The audit target of a consultation.
fn target(id: i64) -> String {
    format!("consultation:{id}")
}

/// Validates who is acting.
fn actor(by: &str) -> Result<String> {
    let by = crate::model::clean_line(by);
    if by.is_empty() {
        return Err(Error::invalid(
            "by",
            "say who is acting (--by NAME / the unlocked staff profile)",
        ));
    }
    if by.chars().count() > 60 {
        return Err(Error::invalid(
            "by",
            "the staff name is longer than 60 characters",
        ));
    }
    Ok(by)
}
