//! Golden output of the notification policy (issue 24): the full output of the 4 scenario
//! files, the 18 generated busy weekdays, the same days under other settings, a heavy day and
//! `handle`/`tick` driven on a fixed tick grid (late ticks, ticks with nothing due), fingerprinted
//! (line count + SHA-256 of the JSON lines) in `tests/fixtures/policy_golden.txt`. The fixture
//! was written by the policy before its indexes were added, so any change in what is shown —
//! a notification, its text, time, ids or order — fails here.
//!
//! `POLICY_GOLDEN_WRITE=1` rewrites the fixture (only for an intended change of behaviour);
//! `POLICY_GOLDEN_DUMP=DIR` writes each case's lines to `DIR/<case>.jsonl` for diffing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use renkei_core::clock::parse_rfc3339;
use renkei_core::policy::generate::{busy_weekdays, generate};
use renkei_core::policy::scenario::run;
use renkei_core::policy::{Arrival, NotificationPolicy, PolicyEvent, PolicySettings};
use renkei_core::{Category, Channel, PartnerKind, Urgency};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

const FIXTURE: &str = "tests/fixtures/policy_golden.txt";

fn load(name: &str) -> String {
    let p = format!(
        "{}/../../tests/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn with_settings(json: &Value, settings: &Value) -> String {
    let mut v = json.clone();
    v["settings"] = settings.clone();
    v.to_string()
}

/// Other settings, so every branch of the policy has a say.
fn variants() -> Vec<(&'static str, Value)> {
    vec![
        (
            "quiet_escalate_limit",
            json!({"quiet_hours": {"start": "12:00", "end": "13:30"}, "escalate_to": "院長",
                   "urgent_repeat_limit": 2, "digest_sound": true}),
        ),
        (
            "no_due_soon_no_steps",
            json!({"due_soon_minutes": null, "digest_load_steps": [],
                   "escalate_after_minutes": null}),
        ),
        (
            "muted_fast",
            json!({"muted_categories": ["info", "medication"], "muted_urgencies": ["normal"],
                   "digest_interval_minutes": 5, "min_gap_seconds": 300,
                   "due_soon_batch_minutes": 0, "due_soon_minutes": 30}),
        ),
        (
            "night_quiet_no_repeat",
            json!({"quiet_hours": {"start": "16:00", "end": "09:30"}, "urgent_repeat_limit": 0,
                   "urgent_repeat_minutes": 3, "urgent_repeat_later_minutes": 7}),
        ),
    ]
}

fn time(v: &Value, k: &str) -> DateTime<Utc> {
    parse_rfc3339(v[k].as_str().unwrap()).unwrap()
}

fn code<T: std::str::FromStr>(v: &Value, k: &str) -> Option<T> {
    v[k].as_str().and_then(|s| s.parse().ok())
}

/// A scenario's start, end and events.
type Day = (
    DateTime<Utc>,
    DateTime<Utc>,
    Vec<(DateTime<Utc>, PolicyEvent)>,
);

/// The scenario's events as policy events, in time order (stable).
fn events(json: &str) -> Day {
    let sc: Value = serde_json::from_str(json).unwrap();
    let mut out = Vec::new();
    for e in sc["events"].as_array().unwrap() {
        let id = || e["id"].as_str().unwrap().trim().to_string();
        let ev = match e["type"].as_str().unwrap() {
            "arrive" => PolicyEvent::Arrive(Arrival {
                id: id(),
                partner: e["partner"].as_str().unwrap_or("").to_string(),
                partner_kind: code::<PartnerKind>(e, "partner_kind"),
                channel: code::<Channel>(e, "channel"),
                category: code::<Category>(e, "category").unwrap(),
                urgency: code::<Urgency>(e, "urgency").unwrap_or(Urgency::Normal),
                due_at: e["due_at"].as_str().map(|s| parse_rfc3339(s).unwrap()),
            }),
            "read" => PolicyEvent::Read { id: id() },
            "ack" => PolicyEvent::Ack { id: id() },
            "resolve" => PolicyEvent::Resolve { id: id() },
            "focus" => PolicyEvent::Focus {
                visible: e["visible"].as_bool().unwrap(),
            },
            other => panic!("unknown event {other}"),
        };
        out.push((time(e, "at"), ev));
    }
    out.sort_by_key(|e| e.0);
    (time(&sc, "start"), time(&sc, "end"), out)
}

/// `handle` for each event, `tick` every `step` on a fixed grid (not at the wakeups the policy
/// asks for: late notifications, ticks with nothing due, forgetting at other moments).
fn grid(json: &str, step: Duration) -> Vec<String> {
    let (start, end, evs) = events(json);
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let mut out = Vec::new();
    let mut next = start + step;
    for (at, ev) in evs {
        while next < at {
            out.extend(p.tick(next));
            next += step;
        }
        out.extend(p.handle(at, ev));
    }
    while next <= end {
        out.extend(p.tick(next));
        next += step;
    }
    out.iter()
        .map(|n| serde_json::to_string(n).unwrap())
        .collect()
}

fn cases() -> Vec<(String, Vec<String>)> {
    let mut cases = Vec::new();
    let lines = |json: &str| run(json).unwrap().lines();
    for file in [
        "busy_300.json",
        "busy_weekday.json",
        "weekend_holiday.json",
        "unacked_urgent.json",
    ] {
        let json = load(file);
        cases.push((file.to_string(), lines(&json)));
        cases.push((format!("{file} grid 7m"), grid(&json, Duration::minutes(7))));
    }
    let days = busy_weekdays();
    for (name, seed, params) in &days {
        for s in 0..3 {
            let json = generate(seed + s, params);
            cases.push((format!("{name} seed+{s}"), lines(&json.to_string())));
        }
    }
    for (i, (name, seed, params)) in days.iter().enumerate() {
        let json = generate(*seed, params);
        for (j, (vname, settings)) in variants().iter().enumerate() {
            if (i + j) % 2 == 0 {
                cases.push((
                    format!("{name} {vname}"),
                    lines(&with_settings(&json, settings)),
                ));
            }
        }
        let step = Duration::seconds([45, 170, 400][i % 3]);
        cases.push((
            format!("{name} grid {}s", step.num_seconds()),
            grid(&json.to_string(), step),
        ));
    }
    // A heavy day: three times the messages, slow staff.
    let (_, seed, mut params) = days[1].clone();
    params.messages = 900;
    cases.push((
        "heavy_900".into(),
        lines(&generate(seed, &params).to_string()),
    ));
    cases
}

fn fingerprint(lines: &[String]) -> String {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

#[test]
fn policy_output_matches_the_golden_fixture() {
    let cases = cases();
    let got: BTreeMap<String, (usize, String)> = cases
        .iter()
        .map(|(n, l)| (n.clone(), (l.len(), fingerprint(l))))
        .collect();
    if let Ok(dir) = std::env::var("POLICY_GOLDEN_DUMP") {
        std::fs::create_dir_all(&dir).unwrap();
        for (n, l) in &cases {
            let f = format!("{dir}/{}.jsonl", n.replace([' ', '+', '/'], "_"));
            std::fs::write(f, l.join("\n") + "\n").unwrap();
        }
    }
    let path = format!("{}/{FIXTURE}", env!("CARGO_MANIFEST_DIR"));
    let text: String = got
        .iter()
        .map(|(n, (c, h))| format!("{n}\t{c}\t{h}\n"))
        .collect();
    if std::env::var("POLICY_GOLDEN_WRITE").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let want: BTreeMap<&str, &str> = want.lines().filter_map(|l| l.split_once('\t')).collect();
    let mut diffs = Vec::new();
    for (n, (c, h)) in &got {
        let line = format!("{c}\t{h}");
        match want.get(n.as_str()) {
            Some(w) if *w == line => {}
            Some(w) => diffs.push(format!("{n}: want {w}, got {line}")),
            None => diffs.push(format!("{n}: not in the fixture")),
        }
    }
    for n in want.keys() {
        if !got.contains_key(*n) {
            diffs.push(format!("{n}: in the fixture, not produced"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} cases differ:\n{}",
        diffs.len(),
        got.len(),
        diffs.join("\n")
    );
}
