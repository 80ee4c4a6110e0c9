//! The handover and the operations report on generated weeks with known answers: items
//! received and taken at chosen times on a frozen clock, the figures asserted exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, Utc};
use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::Desk;
use renkei_core::model::{NewConsultation, PartnerRef};
use renkei_core::report::handover_summary_text;
use renkei_core::store::{DataDir, StoreKey};
use renkei_core::{Category, Channel, PartnerKind, Status, Urgency};
use std::sync::Arc;

const A: &str = "札幌北辰病院 地域連携室";
const B: &str = "ケアプランさっぽろ";

fn t(s: &str) -> DateTime<Utc> {
    parse_rfc3339(&format!("{s}+09:00")).unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

struct World {
    desk: Desk,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

impl World {
    fn new(lunch: bool) -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(t("2026-11-01T09:00:00")));
        let mut desk =
            Desk::open_with_key(&DataDir::new(dir.path()), StoreKey::random(), clock.clone())
                .unwrap();
        if lunch {
            let mut s = desk.settings().clone();
            s.calendar.lunch_start = Some("12:00".into());
            s.calendar.lunch_end = Some("13:00".into());
            desk.save_settings(s, "テスト").unwrap();
        }
        World {
            desk,
            clock,
            _dir: dir,
        }
    }

    fn arrive(
        &mut self,
        at: &str,
        partner: &str,
        channel: Channel,
        category: Category,
        urgency: Urgency,
    ) -> i64 {
        self.clock.set(t(at));
        let kind = if partner == A {
            PartnerKind::Hospital
        } else {
            PartnerKind::CareManager
        };
        let mut n = NewConsultation::new(
            channel,
            PartnerRef::Named {
                name: partner.into(),
                kind,
            },
            category,
            "件名",
            "本文",
        );
        n.urgency = Some(urgency);
        n.external_id = Some(format!("{at}-{partner}"));
        self.desk.intake(n).unwrap().id
    }

    fn ack(&mut self, id: i64, at: &str, by: &str) {
        self.clock.set(t(at));
        self.desk.ack(id, by).unwrap();
    }

    fn status(&mut self, id: i64, at: &str, to: Status, by: &str) {
        self.clock.set(t(at));
        self.desk.set_status(id, to, by).unwrap();
    }
}

/// Mon 2026-11-30 … Sun 2026-12-06 (no holidays), 9:00–17:00 Mon–Fri with lunch 12–13.
fn known_week() -> World {
    use Category::*;
    use Urgency::*;
    let mut w = World::new(true);
    let pa = Channel::PartnerApi;
    // partner A: first responses 10, 30 (lunch skipped), 30 (overnight), 20 business minutes
    let a1 = w.arrive("2026-11-30T09:00:00", A, pa, Discharge, Today);
    w.ack(a1, "2026-11-30T09:10:00", "佐藤");
    w.status(a1, "2026-11-30T10:00:00", Status::Resolved, "佐藤"); // resolution 60
    let a2 = w.arrive("2026-11-30T11:50:00", A, pa, Discharge, Urgent); // due 12:20
    w.ack(a2, "2026-11-30T13:20:00", "鈴木"); // missed
    let a3 = w.arrive("2026-12-01T16:50:00", A, pa, Discharge, Today); // due 17:00
    w.ack(a3, "2026-12-02T09:20:00", "佐藤"); // missed
    let a4 = w.arrive("2026-12-02T10:00:00", A, pa, Discharge, Urgent); // due 10:30
    w.ack(a4, "2026-12-02T10:20:00", "佐藤"); // met
                                              // partner B: 120, 30 (arrived on Saturday), two never answered
    let b5 = w.arrive("2026-12-03T14:00:00", B, pa, NewHomeVisit, Normal); // due Fri 14:00
    w.ack(b5, "2026-12-03T16:00:00", "鈴木");
    w.status(b5, "2026-12-04T10:00:00", Status::Resolved, "鈴木"); // resolution 240
    let b6 = w.arrive("2026-12-05T10:00:00", B, pa, NewHomeVisit, Normal); // due Mon 17:00
    w.ack(b6, "2026-12-07T09:30:00", "佐藤");
    w.arrive("2026-12-04T15:00:00", B, Channel::Chatwork, Info, Fyi); // no target
    w.arrive("2026-12-06T20:00:00", B, Channel::Lineworks, Info, Today); // due Mon 17:00, missed
                                                                         // notifications: 3 on Tuesday, 1 on Thursday, 1 after the period
    for at in [
        "2026-12-01T09:01:00",
        "2026-12-01T11:00:00",
        "2026-12-01T16:51:00",
        "2026-12-03T14:01:00",
        "2026-12-07T09:00:00",
    ] {
        w.desk
            .log_notification(&["1".into()], "normal", "新着", "新着 1件", "new", t(at))
            .unwrap();
    }
    w.clock.set(t("2026-12-08T10:00:00"));
    w
}

#[test]
fn the_weekly_report_of_a_known_week() {
    let mut w = known_week();
    let r = w.desk.report(None, None).unwrap();
    assert_eq!((r.from, r.to), (date("2026-11-30"), date("2026-12-06")));
    assert_eq!(r.total, 8);
    let per_day: Vec<u32> = r.arrivals_per_day.iter().map(|d| d.count).collect();
    assert_eq!(per_day, [2, 1, 1, 1, 1, 1, 1]);
    assert_eq!(r.arrivals_per_hour[9], 1);
    assert_eq!(r.arrivals_per_hour[10], 2);
    assert_eq!(r.arrivals_per_hour[20], 1);
    assert_eq!(r.arrivals_per_hour.iter().sum::<u32>(), 8);
    let channels: Vec<(Channel, u32)> = r
        .arrivals_per_channel
        .iter()
        .map(|c| (c.channel, c.count))
        .collect();
    assert_eq!(
        channels,
        [
            (Channel::PartnerApi, 6),
            (Channel::Lineworks, 1),
            (Channel::Chatwork, 1)
        ]
    );
    // heat map: Monday 9h and 11h, Tuesday 16h, Saturday 10h, Sunday 20h
    assert_eq!(r.heatmap.len(), 7);
    assert_eq!(r.heatmap[0][9], 1);
    assert_eq!(r.heatmap[0][11], 1);
    assert_eq!(r.heatmap[1][16], 1);
    assert_eq!(r.heatmap[5][10], 1);
    assert_eq!(r.heatmap[6][20], 1);
    assert_eq!(r.heatmap.iter().flatten().sum::<u32>(), 8);

    // first response, business minutes: [10, 20, 30, 30, 30, 120]
    assert_eq!(r.overall.first_response.n, 6);
    assert_eq!(r.overall.first_response.median_min, Some(30.0));
    assert_eq!(r.overall.first_response.p90_min, Some(120.0));
    assert_eq!(r.overall.unanswered, 2);
    // resolution: [60, 240]
    assert_eq!(r.overall.resolution.median_min, Some(150.0));
    assert_eq!(r.overall.resolution.p90_min, Some(240.0));

    let a = r.by_partner.iter().find(|s| s.key == A).unwrap();
    assert_eq!(a.count, 4);
    assert_eq!(a.first_response.median_min, Some(25.0)); // [10, 20, 30, 30]
    assert_eq!(a.first_response.p90_min, Some(30.0));
    let b = r.by_partner.iter().find(|s| s.key == B).unwrap();
    assert_eq!((b.count, b.unanswered), (4, 2));
    assert_eq!(b.first_response.median_min, Some(75.0)); // [30, 120]
    assert_eq!(b.first_response.p90_min, Some(120.0));
    assert_eq!(b.resolution.median_min, Some(240.0));

    let discharge = r.by_category.iter().find(|s| s.key == "discharge").unwrap();
    assert_eq!(discharge.label, "退院調整");
    assert_eq!(discharge.first_response.median_min, Some(25.0));
    let home = r
        .by_category
        .iter()
        .find(|s| s.key == "new_home_visit")
        .unwrap();
    assert_eq!(home.first_response.median_min, Some(75.0));

    // targets: met a1 a4 b5 b6; missed a2 a3 and the unanswered Sunday item; fyi has none
    assert_eq!(
        (r.targets.met, r.targets.missed, r.targets.pending),
        (4, 3, 0)
    );
    assert_eq!(r.targets.percent_met, Some(57.1));
    // still open and past due at Tue 12-08 10:00, as the queue counts 期限超過: a2 a3 a4 b6 and
    // the Sunday item (a1 and b5 are resolved, the fyi item has no due time)
    assert_eq!(r.overdue_open, 5);

    let notes: Vec<u32> = r.notifications_per_day.iter().map(|d| d.count).collect();
    assert_eq!(notes, [0, 3, 0, 1, 0, 0, 0]);
    assert_eq!(r.notifications_total, 4);

    // urgent: a2 taken by 鈴木 after 30, a4 by 佐藤 after 20
    assert_eq!(r.urgent.count, 2);
    assert_eq!(r.urgent.take.median_min, Some(25.0));
    assert_eq!(r.urgent.take.max_min, Some(30));
    assert_eq!(r.urgent.untaken, 0);
    let takers: Vec<Option<&str>> = r
        .urgent
        .items
        .iter()
        .map(|i| i.taken_by.as_deref())
        .collect();
    assert_eq!(takers, [Some("鈴木"), Some("佐藤")]);

    let waits: Vec<&str> = r.longest_waits.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(waits, [B, A]);
}

#[test]
fn without_the_lunch_break_the_minutes_change() {
    let mut w = known_week();
    let mut s = w.desk.settings().clone();
    s.calendar.lunch_start = None;
    s.calendar.lunch_end = None;
    w.desk.save_settings(s, "テスト").unwrap();
    let r = w.desk.report(None, None).unwrap();
    let a = r.by_partner.iter().find(|s| s.key == A).unwrap();
    // a2 now counts 11:50 → 13:20 as 90 minutes: [10, 20, 30, 90]
    assert_eq!(a.first_response.median_min, Some(25.0));
    assert_eq!(a.first_response.p90_min, Some(90.0));
    assert_eq!(r.urgent.take.max_min, Some(90));
}

#[test]
fn a_chosen_period_and_bad_periods() {
    let mut w = known_week();
    let r = w
        .desk
        .report(Some(date("2026-12-01")), Some(date("2026-12-02")))
        .unwrap();
    assert_eq!(r.total, 2);
    assert_eq!(r.overall.first_response.median_min, Some(25.0)); // [30, 20]
    let e = w
        .desk
        .report(Some(date("2026-12-03")), Some(date("2026-12-01")))
        .unwrap_err();
    assert!(e.to_string().contains("--from"), "{e}");
    assert!(w
        .desk
        .report(Some(date("2025-01-01")), Some(date("2026-12-01")))
        .is_err());
}

#[test]
fn the_evening_handover_of_a_known_day() {
    use Category::*;
    use Urgency::*;
    let mut w = World::new(false);
    let pa = Channel::PartnerApi;
    // Tuesday 2026-12-08, 9:00–17:00
    let h1 = w.arrive("2026-12-08T10:00:00", A, pa, Discharge, Normal);
    w.ack(h1, "2026-12-08T10:05:00", "佐藤");
    let h2 = w.arrive("2026-12-08T11:00:00", A, pa, Discharge, Today); // due 17:00
    let h3 = w.arrive("2026-12-08T14:00:00", B, pa, NewHomeVisit, Urgent); // due 14:30
    w.ack(h3, "2026-12-08T14:05:00", "鈴木");
    let h4 = w.arrive("2026-12-08T13:00:00", B, pa, Medication, Normal);
    w.ack(h4, "2026-12-08T13:10:00", "佐藤");
    w.status(h4, "2026-12-08T15:00:00", Status::WaitingPartner, "佐藤");
    let h5 = w.arrive("2026-12-08T12:00:00", A, pa, Info, Today);
    w.status(h5, "2026-12-08T12:30:00", Status::Resolved, "佐藤");
    let h6 = w.arrive("2026-12-08T18:30:00", A, pa, Discharge, Normal); // after hours
    let h7 = w.arrive("2026-12-08T18:45:00", B, pa, Medication, Urgent); // due 19:15
    let now = t("2026-12-08T19:00:00");
    w.clock.set(now);
    let h = w.desk.handover().unwrap();

    assert_eq!(h.last_close, Some(t("2026-12-08T17:00:00")));
    assert_eq!(h.next_opening, t("2026-12-09T09:00:00"));
    let groups: Vec<(Option<&str>, Vec<i64>)> = h
        .by_owner
        .iter()
        .map(|g| (g.owner.as_deref(), g.items.iter().map(|i| i.id).collect()))
        .collect();
    assert_eq!(
        groups,
        [
            (Some("佐藤"), vec![h1, h4]),
            (Some("鈴木"), vec![h3]),
            (None, vec![h2, h6, h7]),
        ]
    );
    let ids = |v: &[renkei_core::report::HandoverItem]| v.iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(&h.overdue), [h2, h3]);
    assert_eq!(ids(&h.due_before_next_opening), [h7]);
    assert_eq!(ids(&h.after_hours), [h6, h7]);
    let urgent: Vec<(i64, Option<&str>, Option<i64>)> = h
        .urgent_today
        .iter()
        .map(|u| (u.item.id, u.taken_by.as_deref(), u.minutes_to_take))
        .collect();
    assert_eq!(urgent, [(h3, Some("鈴木"), Some(5)), (h7, None, None)]);
    assert_eq!(h.waiting_partner.len(), 1);
    assert_eq!(h.waiting_partner[0].item.id, h4);
    assert_eq!(h.waiting_partner[0].since, Some(t("2026-12-08T15:00:00")));

    let c = h.counts;
    assert_eq!(
        (c.open, c.pending, c.overdue, c.unowned, c.waiting_partner),
        (6, 5, 2, 3, 1)
    );
    assert_eq!((c.urgent_today, c.urgent_untaken, c.after_hours), (2, 1, 2));
    assert_eq!(
        h.summary,
        "申し送り: 未対応 5件（期限超過 2・担当なし 3）・先方待ち 1件・至急未確認 1件"
    );
    assert_eq!(handover_summary_text(&c), h.summary);
    // counts only: no subject, partner or staff name in the notification text
    for word in ["件名", A, B, "佐藤", "鈴木"] {
        assert!(!h.summary.contains(word));
    }
}

#[test]
fn the_evening_handover_is_sent_once_after_closing_with_counts_only() {
    let mut w = known_week();
    w.clock.set(t("2026-12-01T16:30:00"));
    assert_eq!(
        w.desk.evening_handover(None).unwrap(),
        None,
        "before closing"
    );
    w.clock.set(t("2026-12-01T17:02:00"));
    let (day, text) = w
        .desk
        .evening_handover(None)
        .unwrap()
        .expect("due after closing");
    assert_eq!(day, date("2026-12-01"));
    assert!(text.starts_with("申し送り: 未対応 "), "{text}");
    for row in w.desk.queue(&Default::default()).unwrap() {
        assert!(
            !text.contains(&row.subject),
            "a subject in the notification: {text}"
        );
    }
    assert!(
        !text.contains(A) && !text.contains(B),
        "a partner in the notification: {text}"
    );
    assert_eq!(
        w.desk.evening_handover(Some(day)).unwrap(),
        None,
        "once a day"
    );
    let log = w.desk.notifications(10).unwrap();
    assert!(
        log.iter()
            .any(|n| n.reason.starts_with("handover") && n.body == text),
        "recorded in the notification history"
    );
}
