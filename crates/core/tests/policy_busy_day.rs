//! The acceptance day: 300 arrivals on a weekday (bursts, a few urgent ones acked within
//! minutes, some after hours), through the scenario runner. At most 35 notifications, every
//! urgent one within 1 s of arrival and again until acknowledged, nothing non-urgent outside
//! clinic hours, no message text in any notification. The generated scenario is also written to
//! `tests/scenarios/busy_300.json` so `renkei simulate` can replay it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, FixedOffset, Timelike};
use serde_json::{json, Value};

const PARTNERS: &[(&str, &str)] = &[
    ("札幌北辰病院 地域連携室", "hospital"),
    ("北区中央病院 地域医療連携室", "hospital"),
    ("北区第2地域包括支援センター", "houkatsu"),
    ("東区はまなす地域包括支援センター", "houkatsu"),
    ("ケアプランセンターすずらん", "care_manager"),
    ("ひまわり訪問看護ステーション", "nursing"),
    ("訪問看護ステーションあおぞら", "nursing"),
    ("みどり調剤薬局 北24条店", "pharmacy"),
    ("グループホームなごみ", "facility"),
];
const CATEGORIES: &[&str] = &[
    "discharge",
    "new_home_visit",
    "nursing_intro",
    "community_concern",
    "medication",
    "info",
    "bed_availability",
    "alert",
    "other",
];

/// A small deterministic generator (no dependency on a RNG crate's stream stability).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn scenario() -> Value {
    let jst = FixedOffset::east_opt(9 * 3600).unwrap();
    let day: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339("2026-12-01T07:00:00+09:00").unwrap();
    let mut rng = Lcg(20261201);
    let mut events = Vec::new();
    let mut arrivals = 0;
    let mut thread = 0;
    // 07:00–19:00: arrivals in bursts on threads
    let mut t = day;
    while arrivals < 300 {
        t += Duration::seconds(60 + rng.next(240) as i64);
        thread += 1;
        let (partner, kind) = PARTNERS[rng.next(PARTNERS.len() as u64) as usize];
        let category = CATEGORIES[rng.next(CATEGORIES.len() as u64) as usize];
        let urgent = rng.next(40) == 0;
        let burst = if rng.next(6) == 0 {
            2 + rng.next(10)
        } else {
            1
        };
        let id = format!("t{thread}");
        for k in 0..burst {
            if arrivals >= 300 {
                break;
            }
            let at = t + Duration::seconds(k as i64 * 20);
            events.push(json!({
                "at": at.with_timezone(&jst).to_rfc3339(),
                "type": "arrive", "id": id, "partner": partner, "partner_kind": kind,
                "channel": if k > 0 { "chatwork" } else { "lineworks" },
                "category": category, "urgency": if urgent { "urgent" } else if rng.next(5) == 0 { "today" } else { "normal" },
                "subject": format!("件名テキスト{thread}-{k} 山田花子様"),
                "body": format!("本文テキスト{thread}-{k} SpO2 88% 090-0000-0000"),
            }));
            arrivals += 1;
        }
        // urgent ones are taken within 3–12 minutes; some routine ones are read and acked
        if urgent {
            let ack = t + Duration::minutes(3 + rng.next(10) as i64);
            events.push(json!({"at": ack.to_rfc3339(), "type": "ack", "id": id}));
        } else if rng.next(3) == 0 {
            let read = t + Duration::minutes(20 + rng.next(60) as i64);
            events.push(json!({"at": read.to_rfc3339(), "type": "read", "id": id}));
        }
        // staff look at the queue now and then
        if rng.next(10) == 0 && (9..17).contains(&t.hour()) {
            events.push(json!({"at": (t + Duration::minutes(1)).to_rfc3339(), "type": "focus", "visible": true}));
            events.push(json!({"at": (t + Duration::minutes(9)).to_rfc3339(), "type": "focus", "visible": false}));
        }
    }
    events.sort_by_key(|e| DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap());
    json!({"start": "2026-12-01T06:00:00+09:00", "end": "2026-12-02T10:00:00+09:00", "events": events})
}

#[test]
fn three_hundred_arrivals_make_few_calm_notifications() {
    let sc = scenario();
    let text = serde_json::to_string_pretty(&sc).unwrap();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/scenarios/busy_300.json"
    );
    if std::fs::read_to_string(path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(path, &text).unwrap();
    }
    let out = renkei_core::policy::scenario::run(&text).unwrap();
    let lines = out.lines();
    let notes: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (notes, summary) = notes.split_at(notes.len() - 1);
    eprintln!("busy_300: {}", summary[0]);
    assert_eq!(summary[0]["summary"]["arrivals"], 300);
    assert!(
        notes.len() <= 35,
        "{} notifications for 300 arrivals",
        notes.len()
    );

    let events = sc["events"].as_array().unwrap();
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap();
    // the first arrival of each urgent thread (follow-ups in a burst are coalesced into it)
    let mut seen = std::collections::HashSet::new();
    for e in events
        .iter()
        .filter(|e| e["type"] == "arrive" && e["urgency"] == "urgent")
    {
        let id = e["id"].as_str().unwrap();
        if !seen.insert(id.to_string()) {
            continue;
        }
        let arrived = at(e["at"].as_str().unwrap());
        let first = notes
            .iter()
            .filter(|n| {
                n["urgency"] == "urgent" && n["ids"].as_array().unwrap().iter().any(|x| x == id)
            })
            .map(|n| at(n["at"].as_str().unwrap()))
            .filter(|t| *t >= arrived)
            .min()
            .unwrap_or_else(|| panic!("urgent {id} never notified"));
        assert!(
            first - arrived <= Duration::seconds(1),
            "urgent {id} notified after {:?}",
            first - arrived
        );
        let acked = events
            .iter()
            .find(|x| x["type"] == "ack" && x["id"] == id)
            .map(|x| at(x["at"].as_str().unwrap()))
            .unwrap();
        let after_ack = notes.iter().filter(|n| {
            at(n["at"].as_str().unwrap()) > acked
                && n["ids"].as_array().unwrap().iter().any(|x| x == id)
                && n["urgency"] == "urgent"
        });
        assert_eq!(after_ack.count(), 0, "urgent {id} notified after its ack");
        if acked - arrived >= Duration::minutes(5) {
            let repeats = notes
                .iter()
                .filter(|n| {
                    n["ids"].as_array().unwrap().iter().any(|x| x == id) && n["urgency"] == "urgent"
                })
                .count();
            assert!(
                repeats >= 2,
                "urgent {id} unacked for 5+ min was not notified again"
            );
        }
    }
    for n in notes {
        let t = at(n["at"].as_str().unwrap());
        let in_hours = (9..17).contains(&t.hour());
        if n["urgency"] != "urgent" {
            assert!(
                in_hours,
                "non-urgent notification outside clinic hours: {n}"
            );
        }
        let text = format!("{} {}", n["title"], n["body"]);
        for leak in ["件名テキスト", "本文テキスト", "山田", "SpO2", "090-"] {
            assert!(
                !text.contains(leak),
                "notification text leaks '{leak}': {text}"
            );
        }
    }
}
