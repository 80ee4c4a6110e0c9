//! Notifications on a PC connected to a hub (issue 19): the same [`NotificationPolicy`] the
//! desk runs over its own store's change feed ([`crate::feed::LiveNotifications`]), fed instead
//! from successive views of the hub's open queue. Each PC that is signed in runs it for its own
//! user, so an urgent arrival rings on every signed-in PC, keeps repeating on each until
//! someone — on any PC — takes it (the next view shows it acknowledged or owned), and routine
//! items come as each PC's calm digests. Pure: the caller fetches the rows and passes the time.
//!
//! What a view can tell: a new open row → arrival; a row that left the open queue → resolved;
//! `new` → another status, or an owner appearing → taken; unread → read → read; read → unread
//! again → a new message from the partner (arrival again, as the change feed would say).

use crate::codes::Status;
use crate::model::QueueRow;
use crate::policy::{Arrival, Notification, NotificationPolicy, PolicyEvent, PolicySettings};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// What the last view showed of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    taken: bool,
    unread: bool,
}

fn taken(r: &QueueRow) -> bool {
    r.status != Status::New || r.owner.is_some()
}

fn arrival(r: &QueueRow) -> Arrival {
    Arrival {
        id: r.id.to_string(),
        partner: r.partner.clone(),
        partner_kind: Some(r.partner_kind),
        channel: Some(r.channel),
        category: r.category,
        urgency: r.urgency,
        due_at: r.due_at,
    }
}

/// The policy over views of a hub's open queue.
#[derive(Debug)]
pub struct QueueWatch {
    policy: NotificationPolicy,
    seen: Option<HashMap<i64, Seen>>,
}

impl QueueWatch {
    pub fn new(settings: PolicySettings) -> QueueWatch {
        QueueWatch {
            policy: NotificationPolicy::new(settings),
            seen: None,
        }
    }

    pub fn set_settings(&mut self, settings: PolicySettings) {
        self.policy.set_settings(settings);
    }

    /// One view of the open queue at `now`. The first view is the starting point: open urgent
    /// items nobody has taken are announced (signing in must not silence them), the rest count
    /// as seen — as [`crate::feed::LiveNotifications::start`] does.
    pub fn observe(&mut self, now: DateTime<Utc>, rows: &[QueueRow]) -> Vec<Notification> {
        let mut out = Vec::new();
        let first = self.seen.is_none();
        let before = self.seen.take().unwrap_or_default();
        let mut now_seen = HashMap::with_capacity(rows.len());
        for r in rows {
            let id = r.id.to_string();
            let s = Seen {
                taken: taken(r),
                unread: r.unread,
            };
            match before.get(&r.id) {
                None if first => {
                    if r.urgency == crate::codes::Urgency::Urgent && !s.taken {
                        out.extend(self.policy.handle(now, PolicyEvent::Arrive(arrival(r))));
                    }
                }
                None => {
                    let at = r.received_at.min(now);
                    out.extend(self.policy.handle(at, PolicyEvent::Arrive(arrival(r))));
                    if s.taken {
                        out.extend(self.policy.handle(now, PolicyEvent::Ack { id }));
                    }
                }
                Some(p) => {
                    if s.unread && !p.unread {
                        // The partner wrote again on this thread.
                        out.extend(self.policy.handle(now, PolicyEvent::Arrive(arrival(r))));
                    } else if !s.unread && p.unread {
                        out.extend(
                            self.policy
                                .handle(now, PolicyEvent::Read { id: id.clone() }),
                        );
                    }
                    if s.taken && !p.taken {
                        out.extend(self.policy.handle(now, PolicyEvent::Ack { id }));
                    }
                }
            }
            now_seen.insert(r.id, s);
        }
        if !first {
            for gone in before.keys().filter(|id| !now_seen.contains_key(id)) {
                let id = gone.to_string();
                out.extend(self.policy.handle(now, PolicyEvent::Resolve { id }));
            }
        }
        self.seen = Some(now_seen);
        out.extend(self.policy.tick(now));
        out
    }

    /// Time passes (repeats, digests) without a new view.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Notification> {
        self.policy.tick(now)
    }

    /// The queue window became visible or hidden on this PC.
    pub fn focus(&mut self, now: DateTime<Utc>, visible: bool) -> Vec<Notification> {
        self.policy.handle(now, PolicyEvent::Focus { visible })
    }

    /// Open urgent items nobody has taken (the tray's urgent state).
    pub fn unacked_urgent(&self) -> usize {
        self.policy.unacked_urgent().len()
    }

    /// Whether a view was taken yet (signed in and the hub answered).
    pub fn started(&self) -> bool {
        self.seen.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::{Category, Channel, PartnerKind, Urgency};
    use crate::policy::NotificationKind;
    use chrono::{Duration, TimeZone};

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        // A Wednesday in clinic hours (JST = UTC+9).
        Utc.with_ymd_and_hms(2026, 12, 2, h - 9, m, 0).unwrap()
    }

    fn row(id: i64, urgency: Urgency, at: DateTime<Utc>) -> QueueRow {
        QueueRow {
            id,
            received_at: at,
            channel: Channel::Lineworks,
            partner: "ひまわり訪問看護ステーション".into(),
            partner_kind: PartnerKind::Nursing,
            category: Category::Other,
            urgency,
            urgency_reason: None,
            urgency_confirmed: false,
            status: Status::New,
            owner: None,
            due_at: None,
            overdue: false,
            subject: "件名（架空）".into(),
            attachments: 0,
            messages: 1,
            unread: true,
            snoozed_until: None,
            last_activity_at: at,
            version: 1,
        }
    }

    fn kinds(ns: &[Notification]) -> Vec<NotificationKind> {
        ns.iter().map(|n| n.kind).collect()
    }

    #[test]
    fn an_urgent_arrival_rings_at_once_and_repeats_until_someone_takes_it_on_any_pc() {
        let mut w = QueueWatch::new(PolicySettings::default());
        assert!(w.observe(t(10, 0), &[]).is_empty());
        let mut r = row(1, Urgency::Urgent, t(10, 1));
        let shown = w.observe(t(10, 1), std::slice::from_ref(&r));
        assert_eq!(kinds(&shown), vec![NotificationKind::UrgentArrival]);
        assert!(
            !shown[0].body.contains("件名"),
            "no subject in a notification: {}",
            shown[0].body
        );
        // Nobody takes it: it comes back.
        let later: Vec<_> = (1..=30)
            .flat_map(|m| w.tick(t(10, 1) + Duration::minutes(m)))
            .collect();
        assert!(
            later
                .iter()
                .any(|n| n.kind == NotificationKind::UrgentRepeat),
            "{later:?}"
        );
        // Taken on another PC: the next view shows an owner; no more repeats.
        r.owner = Some("大野".into());
        r.status = Status::Acknowledged;
        w.observe(t(10, 32), std::slice::from_ref(&r));
        assert_eq!(w.unacked_urgent(), 0);
        let after: Vec<_> = (1..=60)
            .flat_map(|m| w.tick(t(10, 32) + Duration::minutes(m)))
            .filter(|n| n.urgency == Urgency::Urgent)
            .collect();
        assert!(after.is_empty(), "{after:?}");
    }

    #[test]
    fn the_first_view_announces_only_untaken_urgent_items_and_routine_ones_wait_for_a_digest() {
        let mut w = QueueWatch::new(PolicySettings::default());
        let mut taken_urgent = row(2, Urgency::Urgent, t(9, 30));
        taken_urgent.status = Status::Acknowledged;
        let first = w.observe(
            t(10, 0),
            &[
                row(1, Urgency::Urgent, t(9, 40)),
                taken_urgent,
                row(3, Urgency::Normal, t(9, 50)),
            ],
        );
        assert_eq!(kinds(&first), vec![NotificationKind::UrgentArrival]);
        assert_eq!(first[0].ids, vec!["1".to_string()]);
        // A routine arrival does not pop up at once.
        let routine = w.observe(
            t(10, 5),
            &[
                row(1, Urgency::Urgent, t(9, 40)),
                row(4, Urgency::Normal, t(10, 5)),
            ],
        );
        assert!(
            routine
                .iter()
                .all(|n| n.kind != NotificationKind::UrgentArrival),
            "{routine:?}"
        );
        // Resolved elsewhere: it left the open queue, nothing more about it.
        w.observe(t(10, 6), &[row(4, Urgency::Normal, t(10, 5))]);
        assert_eq!(w.unacked_urgent(), 0);
    }
}
