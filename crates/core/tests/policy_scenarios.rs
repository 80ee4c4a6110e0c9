//! Replays the scenario files in tests/scenarios/ through the notification policy on a virtual
//! clock and checks the rules of CONTRACT.md "Notification scenarios" / DESIGN.md "Notification
//! policy" against the output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use renkei_core::calendar::ClinicCalendar;
use renkei_core::clock::parse_rfc3339;
use renkei_core::policy::scenario::{run, ScenarioOutput};
use renkei_core::policy::{Notification, NotificationKind};
use renkei_core::{Category, Channel, Urgency};
use serde_json::Value;

fn load(name: &str) -> String {
    let p = format!(
        "{}/../../tests/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn t(s: &str) -> DateTime<Utc> {
    parse_rfc3339(s).unwrap()
}

fn events(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).unwrap();
    v["events"].as_array().unwrap().clone()
}

fn dump(out: &ScenarioOutput) -> String {
    out.lines().join("\n")
}

/// Rules every scenario must satisfy.
fn common_rules(json: &str, out: &ScenarioOutput) {
    let cal = ClinicCalendar::default();
    let evs = events(json);
    let all = dump(out);
    // 1. Urgent first arrival notified within 1 s of arrival.
    let mut first_urgent: Vec<(String, DateTime<Utc>)> = Vec::new();
    for e in &evs {
        if e["type"] == "arrive" && e["urgency"] == "urgent" {
            let id = e["id"].as_str().unwrap().to_string();
            if !first_urgent.iter().any(|(i, _)| *i == id) {
                first_urgent.push((id, t(e["at"].as_str().unwrap())));
            }
        }
    }
    for (id, at) in &first_urgent {
        let n = out
            .notifications
            .iter()
            .find(|n| n.ids.contains(id) && n.kind == NotificationKind::UrgentArrival)
            .unwrap_or_else(|| panic!("no urgent notification for {id}\n{all}"));
        assert!(
            n.at >= *at && n.at - *at <= Duration::seconds(1),
            "{id} late\n{all}"
        );
    }
    // 2. No non-urgent notification outside clinic hours.
    for n in out
        .notifications
        .iter()
        .filter(|n| n.urgency != Urgency::Urgent)
    {
        assert!(
            cal.is_open_at(n.at),
            "non-urgent outside hours: {n:?}\n{all}"
        );
    }
    // 3. No two non-urgent notifications within 30 s.
    let nu: Vec<&Notification> = out
        .notifications
        .iter()
        .filter(|n| n.urgency != Urgency::Urgent)
        .collect();
    for w in nu.windows(2) {
        assert!(
            w[1].at - w[0].at >= Duration::seconds(30),
            "{:?} / {:?}",
            w[0],
            w[1]
        );
    }
    // 4. No notification text contains a subject or body (or a chunk of one) — beyond the
    //    words notifications may use anyway: category/urgency/channel labels and partner names.
    let mut allowed: String = Category::ALL.iter().map(|c| c.label_ja()).collect();
    allowed += &Urgency::ALL
        .iter()
        .map(|c| c.label_ja())
        .collect::<String>();
    allowed += &Channel::ALL
        .iter()
        .map(|c| c.label_ja())
        .collect::<String>();
    for e in &evs {
        if let Some(p) = e["partner"].as_str() {
            allowed += p;
        }
    }
    for e in evs.iter().filter(|e| e["type"] == "arrive") {
        for key in ["subject", "body"] {
            let Some(s) = e[key].as_str() else { continue };
            let chars: Vec<char> = s.chars().collect();
            // Any 8-character window of the text (long enough to be content, not a label).
            for win in chars.windows(8) {
                let frag: String = win.iter().collect();
                if frag.trim().is_empty() || allowed.contains(frag.trim()) {
                    continue;
                }
                for n in &out.notifications {
                    assert!(
                        !n.title.contains(&frag) && !n.body.contains(&frag),
                        "notification leaks '{frag}' from {key} of {}: {n:?}",
                        e["id"]
                    );
                }
            }
        }
    }
    // Patients are named with 様 and phones look like 090-1234-…: neither may appear.
    for n in &out.notifications {
        let text = format!("{} {}", n.title, n.body);
        assert!(!text.contains('様'), "{n:?}");
        assert!(
            !text.chars().any(|c| c.is_ascii_digit()) || !text.contains('-'),
            "{n:?}"
        );
    }
    // 5. Every notification has a coded reason and is in time order.
    for n in &out.notifications {
        assert!(n.reason.starts_with(n.kind.as_str()), "{n:?}");
        assert!(n.reason.contains(": "), "{n:?}");
    }
    for w in out.notifications.windows(2) {
        assert!(w[0].at <= w[1].at);
    }
    // 6. Summary line agrees with the notifications.
    let lines = out.lines();
    let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    assert_eq!(
        last["summary"]["notifications"].as_u64().unwrap() as usize,
        out.notifications.len()
    );
    for l in &lines[..lines.len() - 1] {
        let v: Value = serde_json::from_str(l).unwrap();
        for k in ["at", "ids", "urgency", "title", "body", "reason"] {
            assert!(v.get(k).is_some(), "line lacks {k}: {l}");
        }
    }
}

fn of_kind(out: &ScenarioOutput, k: NotificationKind) -> Vec<&Notification> {
    out.notifications.iter().filter(|n| n.kind == k).collect()
}

#[test]
fn busy_weekday() {
    let json = load("busy_weekday.json");
    let out = run(&json).unwrap();
    let all = dump(&out);
    println!("{all}");
    common_rules(&json, &out);

    // Night arrivals: one opening summary at 9:00, matching journey 1.
    let open = of_kind(&out, NotificationKind::OpeningSummary);
    assert_eq!(open.len(), 2, "{all}"); // 12/1 9:00 and 12/2 9:00
    assert_eq!(open[0].at, t("2026-12-01T09:00:00+09:00"));
    assert_eq!(
        open[0].title,
        "夜間の新着 4件（退院調整 2・訪問看護 1・注意喚起 1）"
    );
    assert_eq!(open[0].ids, ["c-n1", "c-n2", "c-n3", "c-n4"]);
    assert_eq!(open[1].at, t("2026-12-02T09:00:00+09:00"));
    assert_eq!(open[1].ids, ["c-e1", "c-e2"]);

    // The urgent item: one notification only (acked after 2 min).
    let urgent: Vec<_> = out
        .notifications
        .iter()
        .filter(|n| n.ids.contains(&"c-u1".to_string()))
        .collect();
    assert_eq!(urgent.len(), 1, "{all}");
    assert_eq!(urgent[0].title, "至急: その他");

    // Items that arrived while the queue was visible are never digested as new; only the bed
    // availability one (4 business hours, unowned, due 14:37) is named once more: its warning
    // (14:27) would come before the next digest, so the 13:35 digest carries it (期限間近).
    for i in 1..=8 {
        let id = format!("c-r{i}");
        let ns: Vec<_> = out
            .notifications
            .iter()
            .filter(|n| n.ids.contains(&id))
            .collect();
        if i == 4 {
            assert_eq!(ns.len(), 1, "{all}");
            assert_eq!(ns[0].kind, NotificationKind::Digest);
            assert_eq!(ns[0].at, t("2026-12-01T13:35:00+09:00"));
            assert!(
                ns[0]
                    .body
                    .contains("期限間近・担当者なし 1件: 受け入れ可否 1"),
                "{all}"
            );
            assert!(ns[0].reason.contains("期限間近"), "{all}");
        } else {
            assert!(ns.is_empty(), "{id}\n{all}");
        }
    }

    // The 12-message Chatwork burst is one notification, one digest line.
    let burst: Vec<_> = out
        .notifications
        .iter()
        .filter(|n| n.ids.contains(&"c-b1".to_string()))
        .collect();
    assert_eq!(burst.len(), 1, "{all}");
    assert_eq!(burst[0].kind, NotificationKind::Digest);
    assert_eq!(burst[0].at, t("2026-12-01T11:20:00+09:00"));
    assert_eq!(burst[0].ids, ["c-b1", "c-d2"]);

    // fyi never pops up by itself: c-x1 only inside a notification with others — here the
    // 16:50 warning, which takes what was waiting along (no digest right after it).
    let fyi: Vec<_> = out
        .notifications
        .iter()
        .filter(|n| n.ids.contains(&"c-x1".to_string()))
        .collect();
    assert_eq!(fyi.len(), 1, "{all}");
    assert!(fyi[0].ids.len() > 1);
    assert_eq!(fyi[0].kind, NotificationKind::DueSoonUnowned);
    assert_eq!(fyi[0].at, t("2026-12-01T16:50:00+09:00"));

    // Due-soon warning 10 minutes before 17:00 for the unowned items (not the acked c-n3),
    // with the two items waiting for a digest (c-x1, c-y1) counted in the body.
    let due = of_kind(&out, NotificationKind::DueSoonUnowned);
    assert_eq!(due.len(), 1, "{all}");
    assert_eq!(due[0].at, t("2026-12-01T16:50:00+09:00"));
    assert_eq!(due[0].ids, ["c-x1", "c-y1", "c-n1", "c-n2", "c-t1"]);
    assert_eq!(due[0].title, "期限10分前・担当者なし 3件");
    assert!(
        due[0].body.ends_with("／ほか新着 2件: 薬剤 1・情報共有 1"),
        "{all}"
    );

    // A quiet day (under 4 new an hour): digests 15 min after the first waiting item, one
    // per window; the one before closing at 16:59.
    let digests: Vec<String> = of_kind(&out, NotificationKind::Digest)
        .iter()
        .map(|n| {
            format!(
                "{} {:?}",
                n.at.with_timezone(&renkei_core::clock::jst())
                    .format("%H:%M"),
                n.ids
            )
        })
        .collect();
    assert_eq!(
        digests,
        [
            "11:20 [\"c-b1\", \"c-d2\"]",
            "13:35 [\"c-f1\", \"c-r4\"]",
            "14:15 [\"c-p1\"]",
            "14:45 [\"c-t1\"]",
            "16:59 [\"c-z1\"]",
        ],
        "{all}"
    );
    let s = &out.summary;
    assert_eq!(s.urgent, 1);
    assert_eq!(s.escalations, 0);
    assert!(s.max_non_urgent_per_hour <= 4, "{all}");
}

#[test]
fn weekend_holiday() {
    let json = load("weekend_holiday.json");
    let out = run(&json).unwrap();
    let all = dump(&out);
    println!("{all}");
    common_rules(&json, &out);

    // Saturday urgent bed availability: at once, again at +5, escalation at +15 (each
    // replacing the first notification in place), taken before +25.
    let w1: Vec<_> = out
        .notifications
        .iter()
        .filter(|n| n.ids.contains(&"c-w1".to_string()))
        .collect();
    let at: Vec<String> = w1.iter().map(|n| n.at.to_rfc3339()).collect();
    assert_eq!(
        at,
        [
            "2026-03-21T00:40:00+00:00",
            "2026-03-21T00:45:00+00:00",
            "2026-03-21T00:55:00+00:00",
        ],
        "{all}"
    );
    assert_eq!(w1[0].kind, NotificationKind::UrgentArrival);
    assert_eq!(w1[0].replaces, None);
    assert_eq!(w1[1].kind, NotificationKind::UrgentRepeat);
    assert_eq!(w1[2].kind, NotificationKind::Escalation);
    assert!(w1[2].escalated && w1[2].sound);
    assert!(w1[2].title.contains("院長") && w1[2].title.contains("エスカレーション"));
    for n in &w1[1..] {
        assert_eq!(n.replaces.as_deref(), Some(w1[0].key.as_str()), "{all}");
        assert_eq!(n.key, w1[0].key);
    }

    // Resolved urgent: one repeat, then nothing.
    let w5: Vec<_> = out
        .notifications
        .iter()
        .filter(|n| n.ids.contains(&"c-w5".to_string()))
        .collect();
    assert_eq!(w5.len(), 2, "{all}");

    // Routine items (holiday Friday, weekend) wait silently for Monday 9:00.
    let open = of_kind(&out, NotificationKind::OpeningSummary);
    assert_eq!(open.len(), 1, "{all}");
    assert_eq!(open[0].at, t("2026-03-23T09:00:00+09:00"));
    assert_eq!(open[0].ids, ["c-h1", "c-w2", "c-w3", "c-w4"]);
    assert!(
        open[0].title.starts_with("休診中の新着 4件"),
        "{}",
        open[0].title
    );
    assert_eq!(out.summary.escalations, 1);
    assert_eq!(out.summary.digests, 0);
}

#[test]
fn unacked_urgent() {
    let json = load("unacked_urgent.json");
    let out = run(&json).unwrap();
    let all = dump(&out);
    println!("{all}");
    common_rules(&json, &out);
    let mins: Vec<i64> = out
        .notifications
        .iter()
        .map(|n| (n.at - t("2026-12-01T10:12:00+09:00")).num_minutes())
        .collect();
    // Arrival, again at +5, escalation at +15, then every 10 min (also while the queue was
    // visible and after a read), and silence after the ack at +29 (even for a new message).
    assert_eq!(mins, [0, 5, 15, 25], "{all}");
    assert_eq!(out.notifications[2].kind, NotificationKind::Escalation);
    assert!(out.notifications[3].escalated);
    assert_eq!(
        out.notifications[1].reason,
        "urgent_repeat: 未確認のため再通知 (2回目)"
    );
    let ack = t("2026-12-01T10:41:00+09:00");
    assert!(out.notifications.iter().all(|n| n.at < ack));
    assert_eq!(out.summary.urgent_repeats, 2);
    assert_eq!(out.summary.escalations, 1);
    assert_eq!(out.summary.max_per_hour, 4);
    // One notification on screen, updated in place: three of the four replace the first.
    assert_eq!(out.summary.replaced, 3);
    assert_eq!(out.summary.new_popups, 1);
}
