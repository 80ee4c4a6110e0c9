//! The notification policy live against a real store: arrivals written through the Desk (as
//! the intake server in another process would) become notifications; ack silences them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::Desk;
use renkei_core::feed::LiveNotifications;
use renkei_core::model::{NewConsultation, PartnerRef};
use renkei_core::store::{DataDir, StoreKey};
use renkei_core::{Category, Channel, PartnerKind, Urgency};
use std::sync::Arc;

fn item(ext: &str, u: Option<Urgency>, subject: &str, body: &str) -> NewConsultation {
    let mut n = NewConsultation::new(
        Channel::Lineworks,
        PartnerRef::Named {
            name: "ひまわり訪問看護ステーション".into(),
            kind: PartnerKind::Nursing,
        },
        Category::BedAvailability,
        subject,
        body,
    );
    n.external_id = Some(ext.into());
    n.urgency = u;
    n
}

#[test]
fn urgent_arrival_notifies_at_once_repeats_and_stops_after_ack() {
    let d = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T10:12:00+09:00").unwrap(),
    ));
    let mut desk =
        Desk::open_with_key(&DataDir::new(d.path()), StoreKey::random(), clock.clone()).unwrap();
    let (mut live, initial) = {
        let s = desk.settings().policy_settings();
        LiveNotifications::start(&mut desk, s)
    }
    .unwrap();
    assert!(initial.is_empty());
    let secret = "A様 SpO2 88% 呼吸苦";
    let id = desk
        .intake(item("u1", None, secret, "往診可能ですか 090-0000-1234"))
        .unwrap()
        .id;
    let step = live.step(&mut desk).unwrap();
    assert!(step.changed);
    assert_eq!(step.notifications.len(), 1, "{:?}", step.notifications);
    let n = &step.notifications[0];
    assert_eq!(n.urgency, Urgency::Urgent);
    assert_eq!(n.ids, vec![id.to_string()]);
    for text in [&n.title, &n.body] {
        assert!(
            !text.contains("SpO2") && !text.contains("A様") && !text.contains("090"),
            "{text}"
        );
    }
    assert!(
        n.body.contains("ひまわり訪問看護ステーション")
            || n.title.contains("ひまわり訪問看護ステーション")
    );
    // logged for the "why did I get this" list
    assert_eq!(desk.notifications(10).unwrap().len(), 1);
    // nothing more until the repeat interval
    clock.advance(Duration::minutes(2));
    assert!(live.step(&mut desk).unwrap().notifications.is_empty());
    clock.advance(Duration::minutes(3));
    assert_eq!(
        live.step(&mut desk).unwrap().notifications.len(),
        1,
        "repeat after 5 minutes"
    );
    desk.ack(id, "大野").unwrap();
    live.step(&mut desk).unwrap();
    for _ in 0..6 {
        clock.advance(Duration::minutes(5));
        assert!(
            live.step(&mut desk).unwrap().notifications.is_empty(),
            "silent after ack"
        );
    }
}

#[test]
fn routine_items_wait_while_the_queue_is_visible_and_restart_reannounces_urgent() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let clock = Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T10:30:00+09:00").unwrap(),
    ));
    let mut desk =
        Desk::open_with_key(&DataDir::new(d.path()), key.clone(), clock.clone()).unwrap();
    let (mut live, _) = {
        let s = desk.settings().policy_settings();
        LiveNotifications::start(&mut desk, s)
    }
    .unwrap();
    live.focus(&mut desk, true).unwrap();
    for i in 0..8 {
        desk.intake(item(
            &format!("r{i}"),
            Some(Urgency::Normal),
            "定例のご連絡",
            "本文",
        ))
        .unwrap();
        clock.advance(Duration::minutes(2));
        assert!(live.step(&mut desk).unwrap().notifications.is_empty());
    }
    let id = desk
        .intake(item("u2", Some(Urgency::Urgent), "至急", "本文"))
        .unwrap()
        .id;
    let step = live.step(&mut desk).unwrap();
    assert_eq!(
        step.notifications.len(),
        1,
        "urgent gets through even while visible"
    );
    drop(live);
    drop(desk);
    // a restart must not silence an urgent item nobody took
    let mut desk = Desk::open_with_key(&DataDir::new(d.path()), key, clock.clone()).unwrap();
    let (_live, initial) = {
        let s = desk.settings().policy_settings();
        LiveNotifications::start(&mut desk, s)
    }
    .unwrap();
    assert_eq!(initial.len(), 1);
    assert_eq!(initial[0].ids, vec![id.to_string()]);
}
