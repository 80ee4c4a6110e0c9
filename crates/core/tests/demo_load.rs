//! `demo::load` fills a fresh store with a live-looking day, and loading it again changes nothing.

use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::Desk;
use renkei_core::store::consultations::QueueFilter;
use renkei_core::store::{DataDir, StoreKey};
use renkei_core::{demo, Category, Channel, PartnerKind, Status, Urgency};
use std::collections::HashSet;
use std::sync::Arc;

fn open(dir: &std::path::Path, now: &str) -> renkei_core::Result<Desk> {
    let now = parse_rfc3339(now).map_err(|e| renkei_core::Error::invalid("now", e))?;
    let clock = Arc::new(FixedClock::new(now));
    Desk::open_with_key(&DataDir::new(dir), StoreKey::random(), clock)
}

fn all(desk: &mut Desk) -> renkei_core::Result<Vec<renkei_core::model::QueueRow>> {
    desk.queue(&QueueFilter {
        all: true,
        ..Default::default()
    })
}

#[test]
fn demo_loads_a_full_day_once() {
    let tmp = tempfile::tempdir().unwrap();
    let mut desk = open(tmp.path(), "2026-12-01T10:40:00+09:00").unwrap();
    let now = desk.now();

    let first = demo::load(&mut desk).unwrap();
    assert!(first.created);
    assert!(first.partners >= 10, "{first:?}");
    assert!(first.consultations >= 40, "{first:?}");

    let partners = desk.partners().unwrap();
    assert!(partners.len() >= 10);
    let kinds: HashSet<PartnerKind> = partners.iter().map(|p| p.kind).collect();
    for k in PartnerKind::ALL {
        assert!(kinds.contains(k), "no partner of kind {k}");
    }

    let rows = all(&mut desk).unwrap();
    assert_eq!(rows.len(), first.consultations);
    let channels: HashSet<Channel> = rows.iter().map(|r| r.channel).collect();
    let categories: HashSet<Category> = rows.iter().map(|r| r.category).collect();
    let urgencies: HashSet<Urgency> = rows.iter().map(|r| r.urgency).collect();
    let statuses: HashSet<Status> = rows.iter().map(|r| r.status).collect();
    for c in Channel::ALL {
        assert!(channels.contains(c), "no consultation on channel {c}");
    }
    for c in Category::ALL {
        assert!(categories.contains(c), "no consultation of category {c}");
    }
    for u in Urgency::ALL {
        assert!(urgencies.contains(u), "no consultation of urgency {u}");
    }
    for s in Status::ALL {
        assert!(statuses.contains(s), "no consultation with status {s}");
    }
    // A live-looking day: nothing in the future, spread over roughly the last 30 hours.
    assert!(rows.iter().all(|r| r.received_at <= now));
    assert!(rows
        .iter()
        .all(|r| now - r.received_at <= chrono::Duration::hours(36)));
    assert!(rows.iter().any(|r| r.overdue));
    assert!(rows.iter().any(|r| r.attachments > 0));
    assert!(rows.iter().any(|r| r.messages >= 5), "the Chatwork burst");

    // The queue (open items, triage order) starts with something urgent.
    let queue = desk.queue(&QueueFilter::default()).unwrap();
    assert_eq!(queue[0].urgency, Urgency::Urgent, "{:?}", queue[0]);

    // Replies and status changes carry their own times, not the load time.
    let resolved = rows
        .iter()
        .find(|r| r.status == Status::Resolved)
        .unwrap()
        .id;
    let d = desk.show(resolved, None).unwrap();
    assert!(d.history.iter().all(|h| h.at <= now));
    assert!(d.history.iter().any(|h| h.at < now));

    // Twice: nothing new.
    let audit_len = |desk: &Desk| {
        desk.audit(&renkei_core::store::audit::AuditFilter {
            limit: Some(1_000_000),
            ..Default::default()
        })
        .unwrap()
        .len()
    };
    let audit_before = audit_len(&desk);
    let second = demo::load(&mut desk).unwrap();
    assert!(!second.created, "{second:?}");
    assert_eq!(second.partners, first.partners);
    assert_eq!(second.consultations, first.consultations);
    let again = all(&mut desk).unwrap();
    assert_eq!(again.len(), rows.len());
    assert_eq!(
        again.iter().map(|r| r.messages).sum::<u32>(),
        rows.iter().map(|r| r.messages).sum::<u32>()
    );
    assert_eq!(desk.partners().unwrap().len(), partners.len());
    assert_eq!(
        audit_len(&desk),
        audit_before,
        "the second load wrote nothing"
    );
    // The desk still works on its own store afterwards.
    assert!(desk.check().unwrap().problems.is_empty());
}

#[test]
fn demo_loads_at_any_hour() {
    let tmp = tempfile::tempdir().unwrap();
    // Saturday 03:00: still valid, still idempotent.
    let mut desk = open(tmp.path(), "2026-12-05T03:00:00+09:00").unwrap();
    let now = desk.now();
    let s = demo::load(&mut desk).unwrap();
    assert!(s.created && s.consultations >= 40);
    assert!(all(&mut desk).unwrap().iter().all(|r| r.received_at <= now));
    assert!(!demo::load(&mut desk).unwrap().created);
}
