//! The change feed: what happened in the store since we last looked, whoever wrote it (the
//! desktop app, `renkei serve` in another process, the CLI). It turns new rows into the
//! notification policy's events, and drives [`LiveNotifications`] — the policy running against
//! the real store and clock in the desktop app.

use crate::args;
use crate::codes::{Category, Channel, PartnerKind, Status, Urgency};
use crate::desk::Desk;
use crate::error::Result;
use crate::policy::{Arrival, Notification, NotificationPolicy, PolicyEvent, PolicySettings};
use crate::store::sql::{Backend, Db, Row};
use chrono::{DateTime, Utc};

/// Something that changed in the store.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// A new consultation, or a new inbound message on an existing one.
    Arrived {
        at: DateTime<Utc>,
        arrival: Arrival,
        new_consultation: bool,
    },
    /// Someone took it or moved it on (status ≥ acknowledged, still open).
    Taken { at: DateTime<Utc>, id: i64 },
    /// Resolved or declined.
    Closed { at: DateTime<Utc>, id: i64 },
    /// Someone opened it.
    Read { at: DateTime<Utc>, id: i64 },
}

impl FeedEvent {
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            FeedEvent::Arrived { at, .. }
            | FeedEvent::Taken { at, .. }
            | FeedEvent::Closed { at, .. }
            | FeedEvent::Read { at, .. } => *at,
        }
    }
    /// The policy event this change means.
    pub fn to_policy(&self) -> PolicyEvent {
        match self {
            FeedEvent::Arrived { arrival, .. } => PolicyEvent::Arrive(arrival.clone()),
            FeedEvent::Taken { id, .. } => PolicyEvent::Ack { id: id.to_string() },
            FeedEvent::Closed { id, .. } => PolicyEvent::Resolve { id: id.to_string() },
            FeedEvent::Read { id, .. } => PolicyEvent::Read { id: id.to_string() },
        }
    }
}

/// Cursor over the store's append-only tables.
///
/// On PostgreSQL ids come from identity sequences, which in general are not in commit order;
/// here they are, because every write transaction holds the store's writer lock
/// (`store::pg::WRITER_LOCK`) from before its first insert to its commit — so "everything above
/// the last id seen" misses nothing on either engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeFeed {
    last_message: i64,
    last_status: i64,
    last_read: i64,
    last_consultation: i64,
}

/// The row id column: SQLite's implicit `rowid` (read_receipts has no id of its own there),
/// PostgreSQL's `id` identity column.
fn rowid(db: &dyn Db) -> &'static str {
    match db.backend() {
        Backend::Sqlite => "rowid",
        Backend::Postgres => "id",
    }
}

fn max_id(db: &dyn Db, table: &str) -> Result<i64> {
    db.query_one(
        &format!(
            "SELECT CAST(COALESCE(MAX({}), 0) AS BIGINT) FROM {table}",
            rowid(db)
        ),
        args![],
        |r| r.get(0),
    )
}

impl ChangeFeed {
    /// A feed positioned at the current end of the store (only later changes are reported).
    pub fn at_end(db: &dyn Db) -> Result<ChangeFeed> {
        Ok(ChangeFeed {
            last_message: max_id(db, "messages")?,
            last_status: max_id(db, "status_changes")?,
            last_read: max_id(db, "read_receipts")?,
            last_consultation: max_id(db, "consultations")?,
        })
    }

    /// Changes since the last poll, in time order.
    pub fn poll(&mut self, db: &dyn Db) -> Result<Vec<FeedEvent>> {
        let mut out = Vec::new();
        // New consultations (including those without a first message, e.g. documents).
        let rows = db.query_map(
            "SELECT c.id, c.received_at, COALESCE(p.name, ''), p.kind, c.channel, c.category, c.urgency, c.due_at
             FROM consultations c LEFT JOIN partners p ON p.id = c.partner_id WHERE c.id > ?1 ORDER BY c.id",
            args![self.last_consultation],
            arrival_row,
        )?;
        for (id, at, arrival) in rows {
            self.last_consultation = self.last_consultation.max(id);
            out.push(FeedEvent::Arrived {
                at,
                arrival,
                new_consultation: true,
            });
        }
        // Inbound follow-ups on existing threads.
        let mut fresh = std::collections::HashSet::new();
        for e in &out {
            if let FeedEvent::Arrived { arrival, .. } = e {
                fresh.insert(arrival.id.clone());
            }
        }
        let msgs = db.query_map(
            "SELECT m.id, m.consultation_id, m.at, c.received_at, COALESCE(p.name, ''), p.kind, c.channel, c.category, c.urgency, c.due_at
             FROM messages m JOIN consultations c ON c.id = m.consultation_id LEFT JOIN partners p ON p.id = c.partner_id
             WHERE m.id > ?1 AND m.kind = 'inbound' ORDER BY m.id",
            args![self.last_message],
            |r| {
                let arrival = Arrival {
                    id: r.get::<i64>(1)?.to_string(),
                    partner: r.get(4)?,
                    partner_kind: r
                        .get::<Option<String>>(5)?
                        .and_then(|k| k.parse::<PartnerKind>().ok()),
                    channel: r.code::<Channel>(6).ok(),
                    category: r.code::<Category>(7)?,
                    urgency: r.code::<Urgency>(8)?,
                    due_at: r.opt_ts(9)?,
                };
                Ok((r.get::<i64>(0)?, r.ts(2)?, r.ts(3)?, arrival))
            },
        )?;
        self.last_message = max_id(db, "messages")?.max(self.last_message);
        for (_mid, at, _received, arrival) in msgs {
            if fresh.contains(&arrival.id) {
                continue; // its first message is the arrival itself
            }
            out.push(FeedEvent::Arrived {
                at,
                arrival,
                new_consultation: false,
            });
        }
        // Status changes.
        let changes = db.query_map(
            "SELECT id, consultation_id, to_status, at FROM status_changes WHERE id > ?1 ORDER BY id",
            args![self.last_status],
            |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<i64>(1)?,
                    r.get::<String>(2)?,
                    r.ts(3)?,
                ))
            },
        )?;
        for (sid, cid, to, at) in changes {
            self.last_status = self.last_status.max(sid);
            match to.parse::<Status>() {
                Ok(Status::New) | Err(_) => {}
                Ok(s) if s.is_open() => out.push(FeedEvent::Taken { at, id: cid }),
                Ok(_) => out.push(FeedEvent::Closed { at, id: cid }),
            }
        }
        // Reads.
        let rid = rowid(db);
        let reads = db.query_map(
            &format!(
                "SELECT {rid}, consultation_id, at FROM read_receipts WHERE {rid} > ?1 ORDER BY {rid}"
            ),
            args![self.last_read],
            |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.ts(2)?)),
        )?;
        for (rid, cid, at) in reads {
            self.last_read = self.last_read.max(rid);
            out.push(FeedEvent::Read { at, id: cid });
        }
        out.sort_by_key(|e| e.at());
        Ok(out)
    }
}

fn arrival_row(r: &Row) -> Result<(i64, DateTime<Utc>, Arrival)> {
    let id: i64 = r.get(0)?;
    Ok((
        id,
        r.ts(1)?,
        Arrival {
            id: id.to_string(),
            partner: r.get(2)?,
            partner_kind: r
                .get::<Option<String>>(3)?
                .and_then(|k| k.parse::<PartnerKind>().ok()),
            channel: r.code::<Channel>(4).ok(),
            category: r.code::<Category>(5)?,
            urgency: r.code::<Urgency>(6)?,
            due_at: r.opt_ts(7)?,
        },
    ))
}

/// The notification policy running live against a store: poll, feed, tick, log.
#[derive(Debug)]
pub struct LiveNotifications {
    feed: ChangeFeed,
    policy: NotificationPolicy,
}

/// What one step produced.
#[derive(Debug, Default)]
pub struct Step {
    /// Something changed in the store (the UI should refresh).
    pub changed: bool,
    /// Notifications to show now (already logged for "why did I get this").
    pub notifications: Vec<Notification>,
}

impl LiveNotifications {
    /// Starts at the current end of the store. Open urgent items nobody has taken yet are
    /// re-announced (a restart must not silence them); everything else counts as seen.
    pub fn start(
        desk: &mut Desk,
        settings: PolicySettings,
    ) -> Result<(LiveNotifications, Vec<Notification>)> {
        let feed = ChangeFeed::at_end(desk.conn())?;
        let mut policy = NotificationPolicy::new(settings);
        let now = desk.now();
        let pending = desk.conn().query_map(
            "SELECT c.id, c.received_at, COALESCE(p.name, ''), p.kind, c.channel, c.category, c.urgency, c.due_at
             FROM consultations c LEFT JOIN partners p ON p.id = c.partner_id
             WHERE c.status = 'new' AND c.urgency = 'urgent' ORDER BY c.id",
            args![],
            arrival_row,
        )?;
        let mut shown = Vec::new();
        for (_, _, arrival) in pending {
            shown.extend(policy.handle(now, PolicyEvent::Arrive(arrival)));
        }
        let live = LiveNotifications { feed, policy };
        live.log(desk, &shown)?;
        Ok((live, shown))
    }

    /// Applies new settings (e.g. changed in the settings view).
    pub fn set_settings(&mut self, settings: PolicySettings) {
        self.policy.set_settings(settings);
    }

    /// Polls the store, feeds the policy, fires what is due at `desk.now()`.
    pub fn step(&mut self, desk: &mut Desk) -> Result<Step> {
        let events = self.feed.poll(desk.conn())?;
        let now = desk.now();
        let mut out = Vec::new();
        for e in &events {
            // Events from the past (another process, a frozen clock) are applied at their own
            // time only if that is not in the future of "now".
            let at = e.at().min(now);
            out.extend(self.policy.handle(at, e.to_policy()));
        }
        out.extend(self.policy.tick(now));
        self.log(desk, &out)?;
        Ok(Step {
            changed: !events.is_empty(),
            notifications: out,
        })
    }

    /// The queue window became visible or hidden.
    pub fn focus(&mut self, desk: &mut Desk, visible: bool) -> Result<Vec<Notification>> {
        let now = desk.now();
        let out = self.policy.handle(now, PolicyEvent::Focus { visible });
        self.log(desk, &out)?;
        Ok(out)
    }

    /// When the next timer-driven notification could fire.
    pub fn next_wakeup(&self) -> Option<DateTime<Utc>> {
        self.policy.next_wakeup()
    }

    /// Open urgent items nobody has taken (for the tray's urgent state).
    pub fn unacked_urgent(&self) -> usize {
        self.policy.unacked_urgent().len()
    }

    fn log(&self, desk: &mut Desk, ns: &[Notification]) -> Result<()> {
        log_notifications(desk, ns)
    }
}

/// Records what was shown, for 「通知の履歴」 (why did I get this): the local feed's and a
/// connected PC's ([`crate::queue_watch::QueueWatch`]) notifications alike.
pub fn log_notifications(desk: &mut Desk, ns: &[Notification]) -> Result<()> {
    for n in ns {
        desk.log_notification(
            &n.ids,
            n.urgency.as_str(),
            &n.title,
            &n.body,
            &n.reason,
            n.at,
        )?;
    }
    Ok(())
}
