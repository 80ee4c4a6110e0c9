//! Unit tests of the policy rules on a virtual clock.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::clock::parse_rfc3339;

fn t(s: &str) -> DateTime<Utc> {
    parse_rfc3339(&format!("2026-12-01T{s}+09:00")).unwrap()
}

fn arrive(id: &str, cat: Category, u: Urgency) -> PolicyEvent {
    PolicyEvent::Arrive(Arrival {
        id: id.into(),
        partner: "北区第2地域包括支援センター".into(),
        partner_kind: Some(PartnerKind::Houkatsu),
        channel: Some(Channel::Lineworks),
        category: cat,
        urgency: u,
        due_at: None,
    })
}

/// Runs the policy until `until`, ticking at every wakeup.
fn run_until(p: &mut NotificationPolicy, until: DateTime<Utc>) -> Vec<Notification> {
    let mut out = Vec::new();
    while let Some(w) = p.next_wakeup().filter(|w| *w <= until) {
        out.extend(p.tick(w));
    }
    out
}

#[test]
fn read_before_digest_drops_out() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    assert!(p
        .handle(
            t("10:00:00"),
            arrive("a", Category::Discharge, Urgency::Normal)
        )
        .is_empty());
    p.handle(
        t("10:01:00"),
        arrive("b", Category::Medication, Urgency::Normal),
    );
    assert_eq!(p.next_wakeup(), Some(t("10:15:00")));
    p.handle(t("10:05:00"), PolicyEvent::Read { id: "a".into() });
    let out = run_until(&mut p, t("11:00:00"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ids, ["b"]);
    // The window now starts with b (10:01).
    assert_eq!(out[0].at, t("10:16:00"));
    assert_eq!(out[0].reason, "digest: 15分ごとのまとめ");
}

#[test]
fn all_read_means_no_digest() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    p.handle(
        t("10:00:00"),
        arrive("a", Category::Discharge, Urgency::Normal),
    );
    p.handle(t("10:02:00"), PolicyEvent::Ack { id: "a".into() });
    assert!(run_until(&mut p, t("12:00:00")).is_empty());
}

#[test]
fn fyi_alone_never_pops_up() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    p.handle(t("10:00:00"), arrive("a", Category::Info, Urgency::Fyi));
    p.handle(t("20:00:00"), arrive("b", Category::Alert, Urgency::Fyi));
    assert_eq!(p.next_wakeup(), None);
    // Counted once something else is digested.
    p.handle(
        t("20:30:00"),
        arrive("c", Category::Discharge, Urgency::Normal),
    );
    let out = run_until(&mut p, t("10:00:00") + Duration::days(1));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ids, ["a", "b", "c"]);
    assert_eq!(out[0].kind, NotificationKind::OpeningSummary);
    assert_eq!(
        out[0].title,
        "夜間の新着 3件（退院調整 1・注意喚起 1・情報共有 1）"
    );
}

#[test]
fn focus_visible_means_seen_and_only_urgent() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    p.handle(
        t("10:00:00"),
        arrive("a", Category::Discharge, Urgency::Normal),
    );
    p.handle(t("10:05:00"), PolicyEvent::Focus { visible: true });
    p.handle(
        t("10:06:00"),
        arrive("b", Category::Discharge, Urgency::Normal),
    );
    let u = p.handle(
        t("10:07:00"),
        arrive("u", Category::BedAvailability, Urgency::Urgent),
    );
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].kind, NotificationKind::UrgentArrival);
    p.handle(t("10:08:00"), PolicyEvent::Ack { id: "u".into() });
    p.handle(t("10:30:00"), PolicyEvent::Focus { visible: false });
    let out = run_until(&mut p, t("16:00:00"));
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn min_gap_between_non_urgent() {
    let s = PolicySettings {
        due_soon_minutes: Some(10),
        ..Default::default()
    };
    let mut p = NotificationPolicy::new(s);
    // A digest at 16:51:50, then a today item (due 17:00) arrives late: its warning waits
    // 30 s after the digest.
    p.handle(
        t("16:36:50"),
        arrive("a", Category::Discharge, Urgency::Normal),
    );
    let mut out = run_until(&mut p, t("16:52:00"));
    out.extend(p.handle(
        t("16:52:00"),
        arrive("b", Category::Discharge, Urgency::Today),
    ));
    out.extend(run_until(&mut p, t("17:30:00")));
    let times: Vec<_> = out.iter().map(|n| n.at).collect();
    assert_eq!(times, [t("16:51:50"), t("16:52:20")], "{out:?}");
    assert_eq!(out[0].kind, NotificationKind::Digest);
    assert_eq!(out[1].kind, NotificationKind::DueSoonUnowned);
    assert_eq!(out[1].ids, ["b"]);
}

#[test]
fn burst_on_one_thread_is_one_notification() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let mut out = Vec::new();
    for i in 0..12 {
        let at = t("11:05:00") + Duration::seconds(i * 40);
        out.extend(p.handle(at, arrive("x", Category::NewHomeVisit, Urgency::Normal)));
        out.extend(run_until(&mut p, at));
    }
    // More messages after the digest, while still unread: no new notification.
    out.extend(p.handle(
        t("11:30:00"),
        arrive("x", Category::NewHomeVisit, Urgency::Normal),
    ));
    out.extend(run_until(&mut p, t("16:00:00")));
    assert_eq!(out.len(), 1, "{out:?}");
    assert!(out[0].body.contains("メッセージ12件"), "{}", out[0].body);
    // After reading, a new message is news again.
    p.handle(t("16:01:00"), PolicyEvent::Read { id: "x".into() });
    p.handle(
        t("16:10:00"),
        arrive("x", Category::NewHomeVisit, Urgency::Normal),
    );
    let again = run_until(&mut p, t("16:40:00"));
    assert_eq!(again.len(), 1, "{:?} {:?}", p.item("x"), p.next_wakeup());
}

#[test]
fn urgent_stops_after_ack_and_resolve() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let first = p.handle(t("02:00:00"), arrive("u", Category::Other, Urgency::Urgent));
    assert_eq!(first.len(), 1);
    assert!(first[0].sound);
    let out = run_until(&mut p, t("02:05:00"));
    assert_eq!(out.len(), 1);
    // Ack exactly at the repeat time wins over the repeat.
    let out = p.handle(t("02:10:00"), PolicyEvent::Ack { id: "u".into() });
    assert!(out.is_empty());
    assert_eq!(p.next_wakeup(), None);
    assert!(p.unacked_urgent().is_empty());
}

#[test]
fn message_raising_thread_to_urgent_notifies() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    p.handle(
        t("10:00:00"),
        arrive("a", Category::Discharge, Urgency::Normal),
    );
    let out = p.handle(
        t("10:03:00"),
        arrive("a", Category::Discharge, Urgency::Urgent),
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, NotificationKind::UrgentArrival);
    // No digest for it afterwards.
    p.handle(t("10:04:00"), PolicyEvent::Ack { id: "a".into() });
    assert!(run_until(&mut p, t("12:00:00")).is_empty());
}

#[test]
fn quiet_hours_silence_urgent_sound_and_hold_non_urgent() {
    let s = PolicySettings {
        quiet_hours: Some(QuietHours {
            start: "12:00".into(),
            end: "13:00".into(),
        }),
        escalate_to: None,
        ..Default::default()
    };
    let mut p = NotificationPolicy::new(s);
    let u = p.handle(t("12:10:00"), arrive("u", Category::Other, Urgency::Urgent));
    assert!(!u[0].sound);
    p.handle(
        t("12:20:00"),
        arrive("a", Category::Discharge, Urgency::Normal),
    );
    let out = run_until(&mut p, t("12:25:00"));
    // Escalation at 12:25 still sounds, names no director.
    let esc = out.iter().find(|n| n.escalated).unwrap();
    assert!(esc.sound);
    assert!(!esc.title.contains("院長"));
    p.handle(t("12:26:00"), PolicyEvent::Ack { id: "u".into() });
    let out = run_until(&mut p, t("14:00:00"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].at, t("13:00:00"));
    assert_eq!(out[0].kind, NotificationKind::OpeningSummary);
}

#[test]
fn muted_category_never_pops_up_but_urgent_does() {
    let s = PolicySettings {
        muted_categories: vec![Category::Info],
        ..Default::default()
    };
    let mut p = NotificationPolicy::new(s);
    p.handle(t("10:00:00"), arrive("i", Category::Info, Urgency::Normal));
    assert_eq!(p.next_wakeup(), None);
    assert_eq!(
        p.handle(t("10:01:00"), arrive("u", Category::Info, Urgency::Urgent))
            .len(),
        1
    );
}

#[test]
fn late_tick_catches_up_once() {
    let mut p = NotificationPolicy::new(PolicySettings {
        escalate_after_minutes: None,
        ..Default::default()
    });
    p.handle(t("02:00:00"), arrive("u", Category::Other, Urgency::Urgent));
    // The PC slept for an hour: one catch-up repeat, not twelve; then every 10 min.
    let out = p.tick(t("03:00:00"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].at, t("03:00:00"));
    assert_eq!(p.next_wakeup(), Some(t("03:10:00")));
}

#[test]
fn scenario_errors_name_the_place() {
    let e = scenario::run("{").unwrap_err();
    assert!(e.contains("not valid JSON"), "{e}");
    let base = r#"{"start":"2026-12-01T08:00:00+09:00","end":"2026-12-01T18:00:00+09:00","#;
    let e = scenario::run(&format!(
        r#"{base}"events":[{{"at":"2026-12-01T09:00:00+09:00","type":"arrive","id":"c1","category":"bed"}}]}}"#
    ))
    .unwrap_err();
    assert!(e.contains("event 0 (arrive): field 'category'"), "{e}");
    let e = scenario::run(&format!(
        r#"{base}"events":[{{"at":"2026-12-01T09:00:00+09:00","type":"read","id":"c1"}},{{"at":"9時","type":"ack","id":"c1"}}]}}"#
    ))
    .unwrap_err();
    assert!(e.contains("event 1 (ack): field 'at'"), "{e}");
    let e = scenario::run(&format!(
        r#"{base}"events":[{{"at":"2026-12-03T09:00:00+09:00","type":"focus","visible":true}}]}}"#
    ))
    .unwrap_err();
    assert!(e.contains("event 0: at") && e.contains("outside"), "{e}");
    let e = scenario::run(&format!(
        r#"{base}"settings":{{"digest_minutes":5}},"events":[]}}"#
    ))
    .unwrap_err();
    assert!(e.contains("digest_minutes"), "{e}");
    let e = scenario::run(&format!(
        r#"{base}"settings":{{"calendar":{{"open":"9時"}}}},"events":[]}}"#
    ))
    .unwrap_err();
    assert!(
        e.contains("settings: ") && e.contains("opening time '9時'"),
        "{e}"
    );
    let e = scenario::run(&format!(
        r#"{base}"events":[{{"at":"2026-12-01T09:00:00+09:00","type":"poke"}}]}}"#
    ))
    .unwrap_err();
    assert!(e.contains("unknown type 'poke'"), "{e}");
}

#[test]
fn scenario_settings_override_clinic_hours() {
    let json = r#"{"start":"2026-12-05T08:00:00+09:00","end":"2026-12-05T18:00:00+09:00",
      "settings":{"calendar":{"weekdays":["Mon","Tue","Wed","Thu","Fri","Sat"]},"digest_interval_minutes":5},
      "events":[{"at":"2026-12-05T10:00:00+09:00","type":"arrive","id":"c1","partner":"ひまわり訪問看護ステーション",
        "partner_kind":"nursing","channel":"chatwork","category":"nursing_intro","urgency":"normal","subject":"s","body":"b"}]}"#;
    let lines = run_scenario_lines(json).unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with(r#"{"at":"2026-12-05T10:05:00+09:00","ids":["c1"],"urgency":"normal","title":"新着相談 1件""#), "{}", lines[0]);
    assert!(lines[1].starts_with(r#"{"summary":{"#));
}

#[test]
fn digest_cadence_follows_the_load() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let mut out = Vec::new();
    // A busy hour: 30 new items, one every 2 minutes, nobody opens them.
    for i in 0..30 {
        let at = t("10:00:00") + Duration::minutes(2 * i);
        out.extend(run_until(&mut p, at));
        out.extend(p.handle(
            at,
            arrive(&format!("b{i}"), Category::Discharge, Urgency::Normal),
        ));
    }
    out.extend(run_until(&mut p, t("12:59:00")));
    let times: Vec<_> = out.iter().map(|n| n.at).collect();
    // The first after 15 min; then ≥ 20 new in the last hour → the next an hour later.
    assert_eq!(times, [t("10:15:00"), t("11:15:00")], "{out:?}");
    assert_eq!(out[1].reason, "digest: 60分ごとのまとめ");
    assert_eq!(out[0].ids.len() + out[1].ids.len(), 30);
    // A quiet afternoon: back to 15 minutes.
    p.handle(
        t("13:00:00"),
        arrive("q", Category::Medication, Urgency::Normal),
    );
    let out = run_until(&mut p, t("14:00:00"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].at, t("13:15:00"));
    assert_eq!(out[0].reason, "digest: 15分ごとのまとめ");
}

#[test]
fn nothing_non_urgent_dated_while_the_queue_was_visible() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    p.handle(
        t("16:00:00"),
        arrive("a", Category::Discharge, Urgency::Today),
    );
    p.handle(t("16:01:00"), PolicyEvent::Read { id: "a".into() });
    p.handle(t("16:45:00"), PolicyEvent::Focus { visible: true });
    // The warning was due at 16:50 while the queue was on screen: it comes when it is hidden,
    // stamped then (not back-dated into the visible period).
    assert!(run_until(&mut p, t("16:50:40")).is_empty());
    let out = p.handle(t("16:50:40"), PolicyEvent::Focus { visible: false });
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].kind, NotificationKind::DueSoonUnowned);
    assert_eq!(out[0].at, t("16:50:40"));
}

#[test]
fn urgent_repeats_replace_the_first_notification() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let first = p.handle(t("10:00:00"), arrive("u", Category::Other, Urgency::Urgent));
    assert_eq!(first[0].replaces, None);
    let out = run_until(&mut p, t("10:40:00"));
    let mins: Vec<i64> = out
        .iter()
        .map(|n| (n.at - t("10:00:00")).num_minutes())
        .collect();
    assert_eq!(mins, [5, 15, 25, 35]);
    assert_eq!(out[1].kind, NotificationKind::Escalation);
    for n in &out {
        assert_eq!(n.replaces.as_deref(), Some(first[0].key.as_str()));
        assert_eq!(n.key, first[0].key);
    }
    // Another urgent item gets its own notification.
    let other = p.handle(t("10:41:00"), arrive("v", Category::Other, Urgency::Urgent));
    assert_ne!(other[0].key, first[0].key);
    assert_eq!(other[0].replaces, None);
}

#[test]
fn opening_summary_counts_night_items_due_soon_as_new() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    // Arrived at night, due at 9:30 (an explicit due time): named in the 9:00 summary, which
    // counts it among what came overnight.
    let due = parse_rfc3339("2026-12-02T09:30:00+09:00").unwrap();
    p.handle(
        t("20:00:00"),
        PolicyEvent::Arrive(Arrival {
            id: "n".into(),
            partner: "札幌北辰病院 地域連携室".into(),
            partner_kind: Some(PartnerKind::Hospital),
            channel: Some(Channel::FaxFolder),
            category: Category::Discharge,
            urgency: Urgency::Normal,
            due_at: Some(due),
        }),
    );
    let out = run_until(&mut p, due);
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0].kind, NotificationKind::OpeningSummary);
    assert_eq!(out[0].title, "夜間の新着 1件（退院調整 1）");
    assert_eq!(out[0].ids, ["n"]);
}

#[test]
fn an_urgent_burst_is_announced_in_bundles_that_repeat_as_one() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let arrived = |i: i64| t("10:00:00") + Duration::milliseconds(i * 100);
    let mut shown = Vec::new();
    for i in 0..500 {
        // A mail bomb: 500 urgent arrivals within 50 s.
        if i == 5 {
            p.handle(arrived(i), PolicyEvent::Ack { id: "c4".into() });
        }
        shown.extend(p.handle(
            arrived(i),
            arrive(&format!("c{i}"), Category::Alert, Urgency::Urgent),
        ));
    }
    shown.extend(run_until(&mut p, t("10:01:30")));
    let singles = shown
        .iter()
        .filter(|n| n.reason.starts_with("urgent_arrival"))
        .count();
    assert_eq!(singles, URGENT_BURST_LIMIT, "the first ones, one by one");
    let bundles: Vec<&Notification> = shown
        .iter()
        .filter(|n| n.reason.starts_with("urgent_burst"))
        .collect();
    assert_eq!(
        shown.len(),
        URGENT_BURST_LIMIT + bundles.len(),
        "{shown:#?}"
    );
    assert!(bundles.len() <= 3, "{} bundles for 50 s", bundles.len());
    // Every item announced exactly once (but c4, taken before its bundle was shown), each
    // within the collect time of its arrival.
    let mut seen: Vec<&String> = shown.iter().flat_map(|n| n.ids.iter()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 499);
    assert!(!seen.contains(&&"c4".to_string()));
    for b in &bundles {
        assert_eq!(b.kind, NotificationKind::UrgentArrival);
        assert_eq!(b.replaces, None);
        assert!(
            b.title.contains(&format!("{}件", b.ids.len())),
            "{}",
            b.title
        );
        for id in &b.ids {
            let i: i64 = id[1..].parse().unwrap();
            assert!(b.at - arrived(i) <= Duration::seconds(URGENT_BURST_COLLECT_SECS));
        }
    }
    // Two hours later: each bundle repeats and escalates as one notification, in place.
    let later = run_until(&mut p, t("12:00:00"));
    for b in &bundles {
        let of: Vec<_> = later.iter().filter(|n| n.key == b.key).collect();
        assert!(of.iter().any(|n| n.kind == NotificationKind::Escalation));
        assert!(of
            .iter()
            .all(|n| n.ids == b.ids && n.replaces.as_deref() == Some(b.key.as_str())));
    }
    assert!(
        shown.len() + later.len() < 100,
        "{} notifications for 500 urgent arrivals",
        shown.len() + later.len()
    );
    // Acknowledging everything ends the repeats.
    for i in 0..500 {
        p.handle(
            t("12:00:01"),
            PolicyEvent::Ack {
                id: format!("c{i}"),
            },
        );
    }
    assert!(run_until(&mut p, t("14:00:00")).is_empty());
}

#[test]
fn urgent_arrivals_spread_out_are_still_announced_one_by_one() {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let mut n = 0;
    for i in 0..6 {
        let at = t("10:00:00") + Duration::seconds(i * 61);
        n += p
            .handle(
                at,
                arrive(&format!("u{i}"), Category::Alert, Urgency::Urgent),
            )
            .iter()
            .filter(|x| x.kind == NotificationKind::UrgentArrival)
            .count();
    }
    assert_eq!(n, 6);
}
