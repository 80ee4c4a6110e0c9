//! The notification policy: a pure state machine from events and time to OS notifications, each
//! with a reason. No threads, no sleeps, no system clock: the caller passes the time in
//! ([`NotificationPolicy::handle`], [`NotificationPolicy::tick`]) and sleeps until
//! [`NotificationPolicy::next_wakeup`].
//!
//! Rules (defaults in [`PolicySettings`]):
//! * **Urgent** — notified at arrival, at any hour (also while the queue is visible); again 5 min
//!   later, then every 10 min until someone acknowledges or resolves it (reading is not taking
//!   it); after 15 min unacknowledged one escalation (`escalated: true`, sound, addressed to the
//!   director if configured) in place of the repeat due then; repeats after that stay
//!   `escalated`. Never again after ack. Each urgent item has one notification on screen: its
//!   repeats and escalation carry `replaces` = the key of its first notification, so the app
//!   updates that notification in place (they still count as notifications in the summary, and
//!   separately as `replaced`).
//! * **Urgent bursts** — when [`URGENT_BURST_LIMIT`] urgent arrivals were already announced in
//!   the last [`URGENT_BURST_WINDOW_SECS`] s (a mail bomb, a flood of alarms), further urgent
//!   arrivals are not announced one by one: they join one bundle announced
//!   [`URGENT_BURST_COLLECT_SECS`] s after the first of them joined ("至急の新着 N件", kind
//!   `urgent_arrival`, reason `urgent_burst`), and the bundle then repeats and escalates as one
//!   notification (items taken meanwhile drop out of it). So a flood costs a few notifications
//!   a minute, not one per item (Android bundles from 4 and allows one alert a second); an
//!   urgent item of a flood is announced within 20 s instead of at once.
//! * **Non-urgent** (today/normal/fyi) — one entry per thread: follow-up messages on a thread that
//!   was already announced and is still unread are not announced again. Collected into one
//!   digest at least 15 min after the first waiting item, and at least a load-dependent gap after
//!   the previous summary: 15 min when under 4 new items came in the last hour, 30 min from 4,
//!   45 min from 10, 60 min from 20 (`digest_load_steps`). Shown only within clinic hours; a
//!   window that would run past closing (or the lunch break) fires one minute before it
//!   ("終業前のまとめ"). What arrived while closed is summarised once at the next opening
//!   ("夜間の新着 4件（…）"). Items read, acknowledged or resolved before the digest fires drop
//!   out of it.
//! * **fyi** never triggers a notification by itself; fyi items are only counted in a digest or
//!   opening summary that fires for other items (and stay waiting until then or until read).
//! * **Due soon** — an item nobody has acknowledged is named before its due time: every summary
//!   also names ("期限間近・担当者なし N件") the unowned items whose warning would otherwise come
//!   within the next hour or before the next digest, whichever is later
//!   (`due_soon_batch_minutes`); only if no summary names it in time, a warning 10 min before
//!   the due time (within clinic hours; late arrivals at once if still before the due time),
//!   which takes the other unowned items due within that window and what was waiting for a
//!   digest along (no digest right after it).
//! * **Queue visible** (`focus visible=true`) — nothing but urgent. Items that arrive while visible,
//!   and items waiting when the queue becomes visible, count as seen and are never digested.
//!   Due-soon warnings wait until the queue is hidden again (if still before the due time), and
//!   nothing non-urgent is stamped earlier than the moment it was hidden.
//! * At most one non-urgent notification per 30 s (later ones wait). Muted categories/urgencies
//!   never pop up (urgent cannot be muted). Quiet hours: see [`QuietHours`].
//! * A new message on an acknowledged (owned) non-urgent thread is not notified; a message on a
//!   resolved thread reopens it. A message that raises a thread to urgent is an urgent arrival.
//! * At the same instant, events are applied before scheduled notifications (an ack at 10:05:00
//!   prevents the 10:05:00 repeat).

pub mod generate;
pub mod scenario;
mod settings;
pub mod text;

pub use scenario::{run_scenario_lines, ScenarioOutput, ScenarioSummary};
pub use settings::{LoadStep, PolicySettings, QuietHours};

use crate::calendar::jst_date;
use crate::codes::{Category, Channel, PartnerKind, Urgency};
use crate::triage::due_at;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// What happened, as the policy sees it. Deliberately no subject or body: the policy cannot leak
/// what it never receives.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyEvent {
    Arrive(Arrival),
    Read { id: String },
    Ack { id: String },
    Resolve { id: String },
    Focus { visible: bool },
}

/// A message arriving on thread `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub id: String,
    pub partner: String,
    pub partner_kind: Option<PartnerKind>,
    pub channel: Option<Channel>,
    pub category: Category,
    pub urgency: Urgency,
    /// Due time if already known (else computed from the settings' targets).
    pub due_at: Option<DateTime<Utc>>,
}

/// Why a notification was shown (also the first word of `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    UrgentArrival,
    UrgentRepeat,
    Escalation,
    Digest,
    OpeningSummary,
    DueSoonUnowned,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::UrgentArrival => "urgent_arrival",
            NotificationKind::UrgentRepeat => "urgent_repeat",
            NotificationKind::Escalation => "escalation",
            NotificationKind::Digest => "digest",
            NotificationKind::OpeningSummary => "opening_summary",
            NotificationKind::DueSoonUnowned => "due_soon_unowned",
        }
    }
}

/// One OS notification. Serialises as the contract's JSON line
/// `{"at","ids","urgency","title","body","reason"}` plus `kind`, `escalated`, `sound`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    #[serde(with = "jst_rfc3339")]
    pub at: DateTime<Utc>,
    pub ids: Vec<String>,
    pub urgency: Urgency,
    pub title: String,
    pub body: String,
    /// "code: 日本語の説明", e.g. "urgent_repeat: 未確認のため再通知 (2回目)".
    pub reason: String,
    pub kind: NotificationKind,
    pub escalated: bool,
    pub sound: bool,
    /// This notification's slot: `n1`, `n2`, … in the order shown. A notification that
    /// replaces an earlier one keeps that one's key.
    #[serde(default)]
    pub key: String,
    /// The key of the earlier notification this one replaces in place (the same OS
    /// notification updated, not a new pop-up): an urgent item's repeats and escalation
    /// replace its first notification. `None` = a new notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

mod jst_rfc3339 {
    use crate::clock::jst;
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(
            &t.with_timezone(&jst())
                .to_rfc3339_opts(SecondsFormat::AutoSi, false),
        )
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        crate::clock::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// Why an item waits for the opening summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OffHours {
    Quiet,
    Lunch,
    Night,
    ClosedDay,
}

impl OffHours {
    fn label(self) -> &'static str {
        match self {
            OffHours::Quiet => "時間外",
            OffHours::Lunch => "休憩中",
            OffHours::Night => "夜間",
            OffHours::ClosedDay => "休診中",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UrgentState {
    since: DateTime<Utc>,
    /// Notifications shown so far (arrival = 1).
    shown: u32,
    next_repeat: Option<DateTime<Utc>>,
    escalate_at: Option<DateTime<Utc>>,
    escalated: bool,
    /// The key of the notification its repeats replace.
    key: String,
}

/// What the policy remembers about one thread.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub partner: String,
    pub channel: Option<Channel>,
    pub category: Category,
    pub urgency: Urgency,
    pub first_at: DateTime<Utc>,
    pub messages: u32,
    pub due_at: Option<DateTime<Utc>>,
    pub acked: bool,
    pub resolved: bool,
    /// Waiting for a digest/opening summary since.
    pending_since: Option<DateTime<Utc>>,
    off_hours: Option<OffHours>,
    /// Announced (or seen on screen) and not read since.
    notified: bool,
    due_warned: bool,
    urgent: Option<UrgentState>,
}

impl Item {
    pub(crate) fn urgent_since(&self) -> DateTime<Utc> {
        self.urgent
            .as_ref()
            .map(|u| u.since)
            .unwrap_or(self.first_at)
    }
    fn open(&self) -> bool {
        !self.acked && !self.resolved
    }
}

/// The notification policy state machine.
#[derive(Debug, Clone)]
pub struct NotificationPolicy {
    settings: PolicySettings,
    items: BTreeMap<String, Item>,
    visible: bool,
    /// When the queue was last hidden: nothing non-urgent is stamped before it.
    hidden_at: Option<DateTime<Utc>>,
    last_non_urgent: Option<DateTime<Utc>>,
    /// When non-urgent items started waiting for a summary, over the last two hours: the load
    /// that sets the digest cadence.
    recent: VecDeque<DateTime<Utc>>,
    /// Notifications shown so far (for keys).
    seq: u64,
    /// `items` indexed by what the policy asks of them, so a tick does work proportional to
    /// what is due, not to everything remembered (issue 24).
    idx: Index,
    /// The last few answers of [`Self::open_after`] (the calendar's holiday rules are costly and
    /// the same moment is asked for again and again between two events).
    open_memo: Cell<OpenMemo>,
    /// Bumped whenever `recent` changes.
    recent_version: u64,
    /// The last answer of [`Self::digest_time`]: ((first, last summary, recent_version), answer).
    digest_memo: Cell<Option<(DigestKey, DateTime<Utc>)>>,
    /// When urgent arrivals (single or bundled) were announced, over the burst window.
    urgent_recent: VecDeque<DateTime<Utc>>,
    /// The urgent bundle collecting now: (its key, when it is shown).
    burst: Option<(String, DateTime<Utc>)>,
}

type DigestKey = (DateTime<Utc>, Option<DateTime<Utc>>, u64);

/// (asked for, answer) of [`NotificationPolicy::open_after`], newest first.
type OpenMemo = [Option<(DateTime<Utc>, DateTime<Utc>)>; 4];

/// Where one item stands in the [`Index`] (`None`/`false` = not in that index).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Keys {
    /// Its next urgent repeat or escalation.
    urgent: Option<DateTime<Utc>>,
    /// A due-soon warning can still come for it: (the earliest moment it may come, due time).
    due_soon: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Waiting for a summary since.
    pending: Option<DateTime<Utc>>,
    /// Waiting (not fyi): (came off hours, since).
    waiting: Option<(bool, DateTime<Utc>)>,
    /// Acknowledged: its first arrival (forgotten three days on).
    acked: Option<DateTime<Utc>>,
    resolved: bool,
}

/// Indexes over the remembered items, kept in step with every change of an item
/// ([`NotificationPolicy::edit`]). Each is ordered by time, then id (the order the policy
/// used to visit items in), so the earliest entry is what is due next.
#[derive(Debug, Clone, Default)]
struct Index {
    urgent: BTreeSet<(DateTime<Utc>, String)>,
    /// Candidates for a due-soon warning by the earliest moment it may come → due time. Entries
    /// that can no longer fire are dropped lazily ([`NotificationPolicy::prune_due_soon`]).
    due_soon: BTreeMap<(DateTime<Utc>, String), DateTime<Utc>>,
    /// Everything waiting for a summary (fyi included), by since.
    pending: BTreeSet<(DateTime<Utc>, String)>,
    /// Non-fyi items waiting since, that came in clinic hours / off hours.
    in_hours: BTreeSet<(DateTime<Utc>, String)>,
    off_hours: BTreeSet<(DateTime<Utc>, String)>,
    acked: BTreeSet<(DateTime<Utc>, String)>,
    resolved: BTreeSet<String>,
}

fn moved<K: Ord + Copy>(set: &mut BTreeSet<(K, String)>, id: &str, old: Option<K>, new: Option<K>) {
    if old == new {
        return;
    }
    if let Some(k) = old {
        set.remove(&(k, id.to_string()));
    }
    if let Some(k) = new {
        set.insert((k, id.to_string()));
    }
}

impl Index {
    fn update(&mut self, id: &str, old: &Keys, new: &Keys) {
        moved(&mut self.urgent, id, old.urgent, new.urgent);
        if old.due_soon != new.due_soon {
            if let Some((w, _)) = old.due_soon {
                self.due_soon.remove(&(w, id.to_string()));
            }
            if let Some((w, due)) = new.due_soon {
                self.due_soon.insert((w, id.to_string()), due);
            }
        }
        moved(&mut self.pending, id, old.pending, new.pending);
        let split = |k: Option<(bool, DateTime<Utc>)>, off: bool| {
            k.filter(|(o, _)| *o == off).map(|(_, t)| t)
        };
        moved(
            &mut self.in_hours,
            id,
            split(old.waiting, false),
            split(new.waiting, false),
        );
        moved(
            &mut self.off_hours,
            id,
            split(old.waiting, true),
            split(new.waiting, true),
        );
        moved(&mut self.acked, id, old.acked, new.acked);
        if old.resolved != new.resolved {
            if new.resolved {
                self.resolved.insert(id.to_string());
            } else {
                self.resolved.remove(id);
            }
        }
    }
}

/// Later than this and a scheduled notification is stamped with the real time instead (the PC
/// slept): one catch-up notification rather than a backlog.
const LATE_AFTER_SECS: i64 = 60;

/// Urgent announcements within [`URGENT_BURST_WINDOW_SECS`] before further urgent arrivals are
/// bundled.
pub const URGENT_BURST_LIMIT: usize = 3;
/// The window of [`URGENT_BURST_LIMIT`].
pub const URGENT_BURST_WINDOW_SECS: i64 = 60;
/// How long a bundle collects before it is shown (the longest an urgent item of a flood waits).
pub const URGENT_BURST_COLLECT_SECS: i64 = 20;

impl NotificationPolicy {
    pub fn new(settings: PolicySettings) -> Self {
        NotificationPolicy {
            settings,
            items: BTreeMap::new(),
            visible: false,
            hidden_at: None,
            last_non_urgent: None,
            recent: VecDeque::new(),
            seq: 0,
            idx: Index::default(),
            open_memo: Cell::new([None; 4]),
            recent_version: 0,
            digest_memo: Cell::new(None),
            urgent_recent: VecDeque::new(),
            burst: None,
        }
    }

    pub fn settings(&self) -> &PolicySettings {
        &self.settings
    }

    /// Replace the settings (keeps the state).
    pub fn set_settings(&mut self, settings: PolicySettings) {
        self.settings = settings;
        self.open_memo.set([None; 4]);
        self.digest_memo.set(None);
        // The due-soon candidates depend on the settings (lead, mutes): index afresh.
        self.idx = Index::default();
        for (id, it) in &self.items {
            let k = Self::keys(&self.settings, it);
            self.idx.update(id, &Keys::default(), &k);
        }
    }

    /// Where `it` belongs in the indexes.
    fn keys(s: &PolicySettings, it: &Item) -> Keys {
        Keys {
            urgent: Self::urgent_times(it),
            due_soon: Self::due_soon_key(s, it),
            pending: it.pending_since,
            waiting: it
                .pending_since
                .filter(|_| it.urgency != Urgency::Fyi)
                .map(|p| (it.off_hours.is_some(), p)),
            acked: it.acked.then_some(it.first_at),
            resolved: it.resolved,
        }
    }

    /// Changes item `id` (if remembered) and keeps the indexes in step.
    fn edit(&mut self, id: &str, f: impl FnOnce(&mut Item)) {
        let Some(it) = self.items.get_mut(id) else {
            return;
        };
        let old = Self::keys(&self.settings, it);
        f(it);
        let new = Self::keys(&self.settings, it);
        self.idx.update(id, &old, &new);
    }

    pub fn is_visible(&self) -> bool {
        self.visible
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.get(id)
    }

    /// Ids of urgent items still waiting for someone to take them.
    pub fn unacked_urgent(&self) -> Vec<&str> {
        self.items
            .values()
            .filter(|i| i.urgent.is_some() && i.open())
            .map(|i| i.id.as_str())
            .collect()
    }

    /// Applies one event at `at`; returns what must be shown now (scheduled notifications that
    /// were due before `at` first, then the event's own, then anything due at `at`).
    pub fn handle(&mut self, at: DateTime<Utc>, ev: PolicyEvent) -> Vec<Notification> {
        let mut out = self.run_due(at, false);
        match ev {
            PolicyEvent::Arrive(a) => self.arrive(at, a, &mut out),
            PolicyEvent::Read { id } => self.edit(&id, |it| {
                it.pending_since = None;
                it.notified = false;
            }),
            PolicyEvent::Ack { id } => self.edit(&id, |it| {
                it.acked = true;
                it.pending_since = None;
                it.urgent = None;
            }),
            PolicyEvent::Resolve { id } => self.edit(&id, |it| {
                it.resolved = true;
                it.pending_since = None;
                it.urgent = None;
            }),
            PolicyEvent::Focus { visible } => {
                if self.visible && !visible {
                    self.hidden_at = Some(at);
                }
                self.visible = visible;
                if visible {
                    let waiting: Vec<String> =
                        self.idx.pending.iter().map(|(_, id)| id.clone()).collect();
                    for id in waiting {
                        self.edit(&id, |it| {
                            if it.pending_since.take().is_some() {
                                it.notified = true;
                            }
                        });
                    }
                }
            }
        }
        out.extend(self.run_due(at, true));
        out
    }

    /// Fires everything due up to and including `now`.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Notification> {
        let out = self.run_due(now, true);
        // Forget what can no longer cause a notification, so a policy running for weeks in
        // the app stays small: resolved items with nothing pending, and items taken days ago.
        // (A later message on such a thread arrives as a new item, which is what reopening is.)
        let stale = now - Duration::days(3);
        let mut maybe: Vec<String> = self.idx.resolved.iter().cloned().collect();
        maybe.extend(
            self.idx
                .acked
                .range(..(stale, String::new()))
                .map(|(_, id)| id.clone()),
        );
        for id in maybe {
            let Some(i) = self.items.get(&id) else {
                continue;
            };
            let quiet = i.pending_since.is_none();
            if quiet && (i.resolved || (i.acked && i.first_at < stale)) {
                let old = Self::keys(&self.settings, i);
                self.idx.update(&id, &old, &Keys::default());
                self.items.remove(&id);
            }
        }
        out
    }

    /// When the caller should call [`Self::tick`] next (`None` = only on the next event).
    pub fn next_wakeup(&self) -> Option<DateTime<Utc>> {
        [self.urgent_due(), self.summary_due(), self.due_soon_due()]
            .into_iter()
            .flatten()
            .min()
    }

    fn compute_due(
        &self,
        a: &Arrival,
        at: DateTime<Utc>,
        urgency: Urgency,
    ) -> Option<DateTime<Utc>> {
        a.due_at.or_else(|| {
            due_at(
                &self.settings.calendar,
                &self.settings.targets,
                a.category,
                urgency,
                at,
            )
        })
    }

    fn off_hours_at(&self, t: DateTime<Utc>) -> Option<OffHours> {
        let cal = &self.settings.calendar;
        if cal.is_open_at(t) {
            return self.settings.is_quiet(t).then_some(OffHours::Quiet);
        }
        let date = jst_date(t);
        match (cal.opening_time_on(date), cal.closing_time_on(date)) {
            (Some(o), Some(c)) if o <= t && t < c => Some(OffHours::Lunch),
            (Some(_), Some(_)) => Some(OffHours::Night),
            _ => Some(OffHours::ClosedDay),
        }
    }

    fn arrive(&mut self, at: DateTime<Utc>, a: Arrival, out: &mut Vec<Notification>) {
        let id = a.id.clone();
        let old = self
            .items
            .get(&id)
            .map(|it| Self::keys(&self.settings, it))
            .unwrap_or_default();
        self.arrive_item(at, a, out);
        if let Some(it) = self.items.get(&id) {
            let new = Self::keys(&self.settings, it);
            self.idx.update(&id, &old, &new);
        }
    }

    fn arrive_item(&mut self, at: DateTime<Utc>, a: Arrival, out: &mut Vec<Notification>) {
        let fresh_due = self.compute_due(&a, at, a.urgency);
        let off = self.off_hours_at(at);
        let visible = self.visible;
        let s = &self.settings;
        let mut announce_urgent = false;
        if !self.items.contains_key(&a.id) {
            announce_urgent = a.urgency == Urgency::Urgent;
            let item = Item {
                id: a.id.clone(),
                partner: a.partner.clone(),
                channel: a.channel,
                category: a.category,
                urgency: a.urgency,
                first_at: at,
                messages: 0,
                due_at: fresh_due,
                acked: false,
                resolved: false,
                pending_since: None,
                off_hours: None,
                notified: false,
                due_warned: false,
                urgent: None,
            };
            self.items.insert(a.id.clone(), item);
        }
        let Some(it) = self.items.get_mut(&a.id) else {
            return;
        };
        it.messages += 1;
        if it.messages > 1 {
            if it.resolved {
                // A new message reopens the thread as a new, unowned item.
                it.resolved = false;
                it.acked = false;
                it.notified = false;
                it.due_warned = false;
                it.urgent = None;
                it.urgency = a.urgency;
                it.due_at = fresh_due;
                announce_urgent = a.urgency == Urgency::Urgent;
            } else if a.urgency < it.urgency {
                it.urgency = a.urgency;
                it.due_at = match (it.due_at, fresh_due) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                };
                announce_urgent = a.urgency == Urgency::Urgent;
            }
        }
        if it.urgency == Urgency::Urgent {
            it.pending_since = None;
            if !announce_urgent {
                return; // coalesced into the running urgent cycle (or owned already)
            }
            let window = Duration::seconds(URGENT_BURST_WINDOW_SECS);
            while self
                .urgent_recent
                .front()
                .is_some_and(|t| *t <= at - window)
            {
                self.urgent_recent.pop_front();
            }
            if it.open() && self.urgent_recent.len() >= URGENT_BURST_LIMIT {
                // A burst: join the bundle collecting now (or start one), shown as one.
                let (key, show_at) = match &self.burst {
                    Some((k, t)) if *t > at => (k.clone(), *t),
                    _ => {
                        self.seq += 1;
                        let b = (
                            format!("n{}", self.seq),
                            at + Duration::seconds(URGENT_BURST_COLLECT_SECS),
                        );
                        self.urgent_recent.push_back(at);
                        self.burst = Some(b.clone());
                        b
                    }
                };
                it.urgent = Some(UrgentState {
                    since: at,
                    shown: 0,
                    next_repeat: Some(show_at),
                    escalate_at: s
                        .escalate_after_minutes
                        .map(|m| show_at + Duration::minutes(m)),
                    escalated: false,
                    key,
                });
                return;
            }
            self.urgent_recent.push_back(at);
            self.seq += 1;
            let key = format!("n{}", self.seq);
            if it.open() {
                let rep = Duration::minutes(s.urgent_repeat_minutes);
                it.urgent = Some(UrgentState {
                    since: at,
                    shown: 1,
                    next_repeat: (s.urgent_repeat_limit != Some(0)).then_some(at + rep),
                    escalate_at: s.escalate_after_minutes.map(|m| at + Duration::minutes(m)),
                    escalated: false,
                    key: key.clone(),
                });
            }
            let (title, body) = text::urgent_arrival(it);
            out.push(Notification {
                at,
                ids: vec![it.id.clone()],
                urgency: Urgency::Urgent,
                title,
                body,
                reason: "urgent_arrival: 至急の新着".into(),
                kind: NotificationKind::UrgentArrival,
                escalated: false,
                sound: s.sound && !s.is_quiet(at),
                key,
                replaces: None,
            });
            return;
        }
        // Non-urgent.
        if it.acked {
            return; // owned: the owner sees new messages in the queue
        }
        if visible {
            it.pending_since = None;
            it.notified = true; // seen on screen
            return;
        }
        if s.is_muted(it.category, it.urgency) || it.notified {
            return;
        }
        if it.pending_since.is_none() {
            it.pending_since = Some(at);
            it.off_hours = off;
            if it.urgency != Urgency::Fyi {
                self.recent.push_back(at);
                self.recent_version += 1;
            }
        }
    }

    /// The earliest time at or after `t` a non-urgent notification may be shown.
    fn non_urgent_slot(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.visible {
            return None;
        }
        let mut t = t;
        if let Some(h) = self.hidden_at {
            t = t.max(h);
        }
        if let Some(l) = self.last_non_urgent {
            t = t.max(l + Duration::seconds(self.settings.min_gap_seconds));
        }
        Some(self.open_after(t))
    }

    /// The first moment at or after `t` in clinic hours and not quiet (settings only).
    fn open_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let mut memo = self.open_memo.get();
        if let Some((_, r)) = memo.iter().flatten().find(|(k, _)| *k == t) {
            return *r;
        }
        let r = self.open_after_uncached(t);
        memo.rotate_right(1);
        memo[0] = Some((t, r));
        self.open_memo.set(memo);
        r
    }

    fn open_after_uncached(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let mut t = t;
        for _ in 0..16 {
            let o = self.settings.calendar.next_opening(t);
            match &self.settings.quiet_hours {
                Some(q) if q.contains(o) => t = q.end_after(o),
                _ => return o,
            }
        }
        t
    }

    fn urgent_times(it: &Item) -> Option<DateTime<Utc>> {
        let u = it.urgent.as_ref()?;
        let esc = u.escalate_at.filter(|_| !u.escalated);
        [u.next_repeat, esc].into_iter().flatten().min()
    }

    fn urgent_due(&self) -> Option<DateTime<Utc>> {
        self.idx.urgent.first().map(|(t, _)| *t)
    }

    /// Non-urgent items (fyi excluded) that started waiting in the hour up to `t`. (`recent`
    /// is in time order: the time passed in never goes backwards.)
    fn load_at(&self, t: DateTime<Utc>) -> usize {
        let from = t - Duration::minutes(60);
        let upto = self.recent.partition_point(|e| *e <= t);
        let before = self.recent.partition_point(|e| *e <= from);
        upto.saturating_sub(before)
    }

    /// The gap between two summaries when `load` items came in the last hour.
    fn gap_for(&self, load: usize) -> i64 {
        let s = &self.settings;
        s.digest_load_steps
            .iter()
            .filter(|st| load >= st.items as usize)
            .map(|st| st.minutes)
            .fold(s.digest_interval_minutes, i64::max)
    }

    /// When the digest for items waiting since `first` (in clinic hours) is due: at least
    /// `digest_interval_minutes` after `first`, and at least the load's gap after the previous
    /// summary — the earliest moment both hold (the load falls as the hour slides on).
    fn digest_time(&self, first: DateTime<Utc>) -> DateTime<Utc> {
        let key = (first, self.last_non_urgent, self.recent_version);
        if let Some((k, w)) = self.digest_memo.get() {
            if k == key {
                return w;
            }
        }
        let w = self.digest_time_uncached(first);
        self.digest_memo.set(Some((key, w)));
        w
    }

    fn digest_time_uncached(&self, first: DateTime<Utc>) -> DateTime<Utc> {
        let base = first + Duration::minutes(self.settings.digest_interval_minutes);
        let Some(last) = self.last_non_urgent else {
            return base;
        };
        let mut fixed: Vec<DateTime<Utc>> = vec![base];
        fixed.extend(
            self.settings
                .digest_load_steps
                .iter()
                .map(|st| last + Duration::minutes(st.minutes)),
        );
        fixed.push(last + Duration::minutes(self.settings.digest_interval_minutes));
        fixed.retain(|c| *c >= base);
        fixed.sort();
        // The candidates are these and the moments an item leaves the load's hour, in time
        // order. None before `last` + the gap at no load can do (the gap only grows with the
        // load), so the scan starts there.
        let hour = Duration::minutes(60);
        let from = base.max(last + Duration::minutes(self.gap_for(0)));
        let mut leaving = self
            .recent
            .range(self.recent.partition_point(|e| *e + hour < from)..)
            .map(|e| *e + hour)
            .peekable();
        let mut fixed = fixed.into_iter().peekable();
        // The load at each candidate ([`Self::load_at`]) with two ends that only move forward,
        // as the candidates do: the scan is linear in the entries it passes, not × their log.
        let mut ends: Option<(usize, usize)> = None;
        let mut ok = |c: DateTime<Utc>| {
            let from = c - hour;
            let (mut upto, mut before) = ends.unwrap_or_else(|| {
                (
                    self.recent.partition_point(|e| *e <= c),
                    self.recent.partition_point(|e| *e <= from),
                )
            });
            while self.recent.get(upto).is_some_and(|e| *e <= c) {
                upto += 1;
            }
            while self.recent.get(before).is_some_and(|e| *e <= from) {
                before += 1;
            }
            ends = Some((upto, before));
            c >= last + Duration::minutes(self.gap_for(upto.saturating_sub(before)))
        };
        loop {
            let c = match (fixed.peek(), leaving.peek()) {
                (Some(f), Some(l)) if l < f => leaving.next(),
                (Some(_), _) => fixed.next(),
                (None, Some(_)) => leaving.next(),
                (None, None) => None,
            };
            let Some(c) = c else {
                return base;
            };
            if ok(c) {
                return c;
            }
        }
    }

    /// When the next summary (digest or opening summary) is due, before the 30 s spacing.
    fn summary_trigger(&self) -> Option<DateTime<Utc>> {
        let cal = &self.settings.calendar;
        // The next opening is monotone in the time: the earliest waiting item gives it.
        let first_in_hours = self.idx.in_hours.first().map(|(s, _)| *s);
        let opening = self
            .idx
            .off_hours
            .first()
            .map(|(s, _)| cal.next_opening(*s));
        let digest = first_in_hours.map(|s| {
            let w = self.digest_time(s);
            match cal.interval_end_at(s) {
                // A window that would run past closing (or lunch) fires a minute before it.
                Some(end) => w.min((end - Duration::minutes(1)).max(s)),
                None => w,
            }
        });
        [digest, opening].into_iter().flatten().min()
    }

    fn summary_due(&self) -> Option<DateTime<Utc>> {
        self.non_urgent_slot(self.summary_trigger()?)
    }

    /// For an item a due-soon warning may be given for: (the earliest moment it may come, the
    /// due time). The warning comes at the first non-urgent slot from then, if before the due
    /// time ([`Self::due_soon_slot`]).
    fn due_soon_key(s: &PolicySettings, it: &Item) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let lead = s.due_soon_minutes?;
        if it.urgency == Urgency::Urgent
            || !it.open()
            || it.due_warned
            || s.is_muted(it.category, it.urgency)
        {
            return None;
        }
        let due = it.due_at?;
        Some(((due - Duration::minutes(lead)).max(it.first_at), due))
    }

    /// When the due-soon warning from `w` for an item due at `due` would fire, if it still can.
    fn due_soon_slot(&self, w: DateTime<Utc>, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let slot = self.non_urgent_slot(w)?;
        (slot < due).then_some(slot)
    }

    /// The earliest due-soon warning. The slot is monotone in `w`, so the first candidate (by
    /// `w`) whose slot is before its due time has the earliest.
    fn due_soon_due(&self) -> Option<DateTime<Utc>> {
        if self.visible {
            return None;
        }
        self.idx
            .due_soon
            .iter()
            .find_map(|(&(w, _), &due)| self.due_soon_slot(w, due))
    }

    /// Drops due-soon candidates that can never fire: due already, or (queue hidden) their slot
    /// is not before the due time. Time, the last summary and the moment the queue was hidden
    /// only move forward, and so does a slot; such a candidate stays out of reach (it comes
    /// back only if the item changes: a new key).
    fn prune_due_soon(&mut self, now: DateTime<Utc>) {
        while let Some((&(w, _), &due)) = self.idx.due_soon.first_key_value() {
            let gone =
                due <= now || (!self.visible && self.non_urgent_slot(w).is_some_and(|s| s >= due));
            if !gone {
                break;
            }
            self.idx.due_soon.pop_first();
        }
    }

    /// Unowned items whose due-soon warning would come before the next summary after one at
    /// `at`: a summary at `at` names them instead (one notification, not two).
    fn due_soon_ids(&self, at: DateTime<Utc>) -> Vec<String> {
        let window = Duration::minutes(
            self.gap_for(self.load_at(at))
                .max(self.settings.due_soon_batch_minutes),
        );
        let until = at + window;
        let mut ids = Vec::new();
        for (&(w, ref id), &due) in &self.idx.due_soon {
            // Slots are monotone in `w`: past `until`, so are all later ones.
            let Some(slot) = self.non_urgent_slot(w) else {
                break;
            };
            if slot > until {
                break;
            }
            if slot < due {
                ids.push(id.clone());
            }
        }
        ids.sort(); // the order of the items' ids
        ids
    }

    fn run_due(&mut self, now: DateTime<Utc>, inclusive: bool) -> Vec<Notification> {
        let mut out = Vec::new();
        let reached = |t: DateTime<Utc>| if inclusive { t <= now } else { t < now };
        // Each round fires at least one notification or stops; bound it anyway.
        for _ in 0..10_000 {
            let u = self.urgent_due().filter(|t| reached(*t));
            let d = self.due_soon_due().filter(|t| reached(*t));
            let s = self.summary_due().filter(|t| reached(*t));
            let Some(next) = [u, d, s].into_iter().flatten().min() else {
                break;
            };
            let stamp = if (now - next).num_seconds() > LATE_AFTER_SECS {
                now
            } else {
                next
            };
            // A summary due at the same moment as a warning gives the warning too.
            if u == Some(next) {
                self.fire_urgent(next, stamp, &mut out);
            } else {
                self.fire_summary(stamp, s != Some(next), &mut out);
            }
        }
        // The load only looks back an hour.
        let keep = now - Duration::hours(2);
        while self.recent.front().is_some_and(|e| *e < keep) {
            self.recent.pop_front();
            self.recent_version += 1;
        }
        self.prune_due_soon(now);
        out
    }

    /// Repeats and escalations, one per item — or one per bundle for the items of an urgent
    /// burst (they share a key and their times): each replaces the earlier notification of its
    /// key. A bundle's first showing is its announcement.
    fn fire_urgent(&mut self, next: DateTime<Utc>, at: DateTime<Utc>, out: &mut Vec<Notification>) {
        let s = self.settings.clone();
        let ids: Vec<String> = self
            .idx
            .urgent
            .range((next, String::new())..)
            .take_while(|(t, _)| *t == next)
            .map(|(_, id)| id.clone())
            .collect();
        // (key, first showing of a bundle, escalated now, escalated before, nth, ids)
        let mut groups: Vec<(String, bool, bool, bool, u32, Vec<String>)> = Vec::new();
        for id in ids {
            let Some(it) = self.items.get_mut(&id) else {
                continue;
            };
            let old = Self::keys(&s, it);
            let Some(u) = it.urgent.as_mut() else {
                continue;
            };
            let first = u.shown == 0;
            let esc_now = !first && !u.escalated && u.escalate_at.is_some_and(|e| e <= next);
            let was_escalated = u.escalated;
            u.shown += 1;
            let nth = u.shown;
            let repeats_done = u.shown - 1;
            // The first repeat comes urgent_repeat_minutes after the arrival (or the bundle's
            // announcement); later ones every urgent_repeat_later_minutes (the escalation
            // counts as one).
            let gap = Duration::minutes(if first {
                s.urgent_repeat_minutes
            } else {
                s.urgent_repeat_later_minutes
            });
            u.next_repeat = match s.urgent_repeat_limit {
                Some(0) if first => None,
                Some(l) if !first && repeats_done >= l => None,
                _ => Some(at + gap),
            };
            if esc_now {
                u.escalated = true;
            }
            let key = u.key.clone();
            let new = Self::keys(&s, it);
            self.idx.update(&id, &old, &new);
            match groups
                .iter_mut()
                .find(|g| g.0 == key && g.1 == first && g.2 == esc_now)
            {
                Some(g) => g.5.push(id),
                None => groups.push((key, first, esc_now, was_escalated, nth, vec![id])),
            }
        }
        for (key, first, esc_now, was_escalated, nth, ids) in groups {
            if first && self.burst.as_ref().is_some_and(|(k, _)| *k == key) {
                self.burst = None; // shown: later arrivals start a new bundle
            }
            let items: Vec<&Item> = ids.iter().filter_map(|i| self.items.get(i)).collect();
            let (title, body, reason, kind, sound) = if first {
                let (t, b) = text::urgent_burst(&items);
                (
                    t,
                    b,
                    format!("urgent_burst: 至急の新着をまとめて通知 ({}件)", items.len()),
                    NotificationKind::UrgentArrival,
                    s.sound && !s.is_quiet(at),
                )
            } else if esc_now {
                let after = s.escalate_after_minutes.unwrap_or(0);
                let (t, b) = text::escalation(&items, after, s.escalate_to.as_deref(), at);
                let to = s
                    .escalate_to
                    .as_deref()
                    .map(|w| format!("・{w}へ"))
                    .unwrap_or_default();
                (
                    t,
                    b,
                    format!("escalation: {after}分未確認{to}"),
                    NotificationKind::Escalation,
                    s.sound,
                )
            } else {
                let (t, b) = text::urgent_repeat(&items, nth, at);
                let esc = if was_escalated {
                    "・エスカレーション済み"
                } else {
                    ""
                };
                (
                    t,
                    b,
                    format!("urgent_repeat: 未確認のため再通知 ({nth}回目{esc})"),
                    NotificationKind::UrgentRepeat,
                    s.sound && !s.is_quiet(at),
                )
            };
            out.push(Notification {
                at,
                ids,
                urgency: Urgency::Urgent,
                title,
                body,
                reason,
                kind,
                escalated: esc_now || was_escalated,
                sound,
                replaces: (!first).then(|| key.clone()),
                key,
            });
        }
    }

    /// One calm summary: everything waiting (new items) plus the unowned items whose deadline
    /// comes before the next summary would. `deadline` = fired for a due-soon warning that no
    /// summary would have given in time.
    fn fire_summary(&mut self, at: DateTime<Utc>, deadline: bool, out: &mut Vec<Notification>) {
        let due_ids = self.due_soon_ids(at);
        let due_set: BTreeSet<&str> = due_ids.iter().map(String::as_str).collect();
        let gap = self.gap_for(self.load_at(at));
        let mut new: Vec<&Item> = self
            .idx
            .pending
            .iter()
            .take_while(|(p, _)| *p <= at)
            .filter(|(_, id)| !due_set.contains(id.as_str()))
            .filter_map(|(_, id)| self.items.get(id))
            .collect();
        // By (since, first arrival), then id — the order the items were visited in before.
        new.sort_by(|a, b| {
            (a.pending_since, a.first_at, &a.id).cmp(&(b.pending_since, b.first_at, &b.id))
        });
        let mut due: Vec<&Item> = due_ids.iter().filter_map(|i| self.items.get(i)).collect();
        due.sort_by_key(|i| (i.due_at, i.first_at));
        if new.is_empty() && due.is_empty() {
            return;
        }
        let Some(urgency) = new.iter().chain(&due).map(|i| i.urgency).min() else {
            return;
        };
        let off = new
            .iter()
            .chain(&due)
            .filter(|i| i.pending_since.is_some())
            .filter_map(|i| i.off_hours)
            .max();
        let closing = self
            .settings
            .calendar
            .interval_end_at(at)
            .is_some_and(|e| e - at <= Duration::minutes(1));
        let lead = self.settings.due_soon_minutes.unwrap_or(0);
        let with_due = if due.is_empty() || deadline {
            String::new()
        } else {
            format!("（期限間近・担当者なし {}件を含む）", due.len())
        };
        let (title, body, reason, kind) = if deadline {
            let (t, b) = text::due_soon_with_new(&due, &new, lead);
            (
                t,
                b,
                format!("due_soon_unowned: 期限{lead}分前・担当者なし"),
                NotificationKind::DueSoonUnowned,
            )
        } else if let Some(o) = off {
            // What came while closed is counted whole (also what is due soon among it).
            let (came, due_old): (Vec<&Item>, Vec<&Item>) = new
                .iter()
                .chain(&due)
                .partition(|i| i.pending_since.is_some());
            let (t, b) = text::opening_summary(&came, &due_old, o.label());
            (
                t,
                b,
                format!("opening_summary: 診療時間外の新着{with_due}"),
                NotificationKind::OpeningSummary,
            )
        } else {
            let (t, b) = text::digest(&new, &due);
            let why = if closing {
                format!("digest: 終業前のまとめ{with_due}")
            } else {
                format!("digest: {gap}分ごとのまとめ{with_due}")
            };
            (t, b, why, NotificationKind::Digest)
        };
        let ids: Vec<String> = new.iter().chain(&due).map(|i| i.id.clone()).collect();
        let warned: BTreeSet<String> = due_ids.into_iter().collect();
        for id in &ids {
            let due_named = warned.contains(id);
            self.edit(id, |it| {
                if it.pending_since.take().is_some() {
                    it.notified = true;
                }
                it.off_hours = None;
                if due_named {
                    it.due_warned = true;
                }
            });
        }
        self.seq += 1;
        out.push(Notification {
            at,
            ids,
            urgency,
            title,
            body,
            reason,
            kind,
            escalated: false,
            sound: self.settings.sound && self.settings.digest_sound,
            key: format!("n{}", self.seq),
            replaces: None,
        });
        self.last_non_urgent = Some(at);
    }
}

#[cfg(test)]
mod tests;
