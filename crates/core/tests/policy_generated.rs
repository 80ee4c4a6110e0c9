//! The notification rules on generated busy weekdays (`policy::generate`) and on the scenario
//! files, checked from the scenario's events and the `renkei simulate` output lines only — the
//! checks below know the rules (DESIGN.md / docs/notifications.md), not the policy's code.
//!
//! `cargo test -p renkei-core --test policy_generated -- --nocapture` prints the table in
//! docs/notifications.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration, Utc};
use renkei_core::calendar::ClinicCalendar;
use renkei_core::clock::parse_rfc3339;
use renkei_core::policy::generate::{busy_weekdays, generate, PATIENTS};
use renkei_core::policy::scenario::run;
use renkei_core::triage::{due_at, ResponseTargets};
use renkei_core::{Category, Channel, Urgency};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The budget for a busy weekday (issue 16): at most this many notifications, replacements
/// of an urgent notification included.
const BUDGET: usize = 45;
/// An untaken urgent item is never longer than this without a notification.
const URGENT_MAX_GAP: i64 = 10 * 60 + 1;
/// First repeat of an untaken urgent item, and its escalation (to 院長).
const URGENT_FIRST_REPEAT: i64 = 5 * 60;
const ESCALATE_AFTER: i64 = 15 * 60;
/// Non-urgent notifications at least this far apart.
const MIN_GAP: i64 = 30;
/// Unowned items are named in a notification within this long before their due time.
const DUE_SOON_WINDOW: i64 = 70 * 60;
const DUE_SOON_LEAD: i64 = 10 * 60;

fn t(s: &str) -> DateTime<Utc> {
    parse_rfc3339(s).unwrap()
}

struct Note {
    at: DateTime<Utc>,
    ids: Vec<String>,
    urgent: bool,
    escalated: bool,
    kind: String,
    text: String,
    key: Option<String>,
    replaces: Option<String>,
}

fn notes(lines: &[String]) -> (Vec<Note>, Value) {
    let mut out = Vec::new();
    for l in &lines[..lines.len() - 1] {
        let v: Value = serde_json::from_str(l).unwrap();
        for k in ["at", "ids", "urgency", "title", "body", "reason"] {
            assert!(v.get(k).is_some(), "line lacks {k}: {l}");
        }
        out.push(Note {
            at: t(v["at"].as_str().unwrap()),
            ids: v["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect(),
            urgent: v["urgency"] == "urgent",
            escalated: v["escalated"] == true,
            kind: v["reason"]
                .as_str()
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .to_string(),
            text: format!("{} {}", v["title"], v["body"]),
            key: v["key"].as_str().map(str::to_string),
            replaces: v["replaces"].as_str().map(str::to_string),
        });
    }
    let summary: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
    (out, summary["summary"].clone())
}

#[derive(Default)]
struct Row {
    name: String,
    messages: usize,
    threads: usize,
    total: usize,
    by_kind: BTreeMap<String, usize>,
    replaced: usize,
    max_per_hour: usize,
}

fn max_in_hour(times: &[DateTime<Utc>]) -> usize {
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|u| **u < times[i] + Duration::hours(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Checks every rule; returns the violations (empty = all met) and the table row.
fn check(name: &str, json: &str, budget: Option<usize>) -> (Vec<String>, Row) {
    let out = run(json).unwrap_or_else(|e| panic!("{name}: {e}"));
    check_lines(name, json, &out.lines(), budget)
}

fn check_lines(
    name: &str,
    json: &str,
    lines: &[String],
    budget: Option<usize>,
) -> (Vec<String>, Row) {
    let sc: Value = serde_json::from_str(json).unwrap();
    let (ns, summary) = notes(lines);
    let cal = ClinicCalendar::default();
    let targets = ResponseTargets::default();
    let evs = sc["events"].as_array().unwrap();
    let end = t(sc["end"].as_str().unwrap());
    let mut bad = Vec::new();
    let when = |x: DateTime<Utc>| {
        x.with_timezone(&renkei_core::clock::jst())
            .format("%m-%d %H:%M:%S")
            .to_string()
    };

    // Events in the order the scenario runner applies them (time, then file order).
    let mut evs: Vec<&Value> = evs.iter().collect();
    evs.sort_by_key(|e| t(e["at"].as_str().unwrap()));
    let focus: Vec<(DateTime<Utc>, bool)> = evs
        .iter()
        .filter(|e| e["type"] == "focus")
        .map(|e| (t(e["at"].as_str().unwrap()), e["visible"] == true))
        .collect();
    // Events at the same instant are applied before notifications.
    let visible_at = |x: DateTime<Utc>| {
        focus
            .iter()
            .take_while(|f| f.0 <= x)
            .last()
            .is_some_and(|f| f.1)
    };
    let visible_during = |from: DateTime<Utc>, to: DateTime<Utc>| {
        visible_at(from) || focus.iter().any(|f| f.1 && f.0 > from && f.0 <= to)
    };
    // Threads: first arrival, urgency of the first message, due time (the event's, else the
    // store's rule), and when someone first read / took it.
    struct Thread {
        first: DateTime<Utc>,
        urgent_at: Option<DateTime<Utc>>,
        due: Option<DateTime<Utc>>,
        seen: Option<DateTime<Utc>>,
        taken: Option<DateTime<Utc>>,
        fyi: bool,
    }
    let mut threads: BTreeMap<String, Thread> = BTreeMap::new();
    let mut texts: Vec<String> = Vec::new();
    let mut partners = String::new();
    for e in &evs {
        let at = t(e["at"].as_str().unwrap());
        let id = e["id"].as_str().unwrap_or_default().to_string();
        match e["type"].as_str().unwrap() {
            "arrive" => {
                let cat: Category = e["category"].as_str().unwrap().parse().unwrap();
                let u: Urgency = e["urgency"].as_str().unwrap_or("normal").parse().unwrap();
                let due = e["due_at"]
                    .as_str()
                    .map(t)
                    .or_else(|| due_at(&cal, &targets, cat, u, at));
                let th = threads.entry(id).or_insert(Thread {
                    first: at,
                    urgent_at: None,
                    due,
                    seen: None,
                    taken: None,
                    fyi: u == Urgency::Fyi,
                });
                // The earliest deadline any of its messages set.
                th.due = match (th.due, due) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                th.fyi &= u == Urgency::Fyi;
                if u == Urgency::Urgent && th.urgent_at.is_none() && th.taken.is_none() {
                    th.urgent_at = Some(at);
                }
                for k in ["subject", "body"] {
                    if let Some(s) = e[k].as_str() {
                        texts.push(s.to_string());
                    }
                }
                if let Some(p) = e["partner"].as_str() {
                    partners += p;
                }
            }
            "read" => {
                if let Some(th) = threads.get_mut(&id) {
                    th.seen.get_or_insert(at);
                }
            }
            "ack" | "resolve" => {
                if let Some(th) = threads.get_mut(&id) {
                    th.taken.get_or_insert(at);
                    th.seen.get_or_insert(at);
                }
            }
            _ => {}
        }
    }
    fn naming<'a>(ns: &'a [Note], id: &'a str) -> impl Iterator<Item = &'a Note> + 'a {
        ns.iter().filter(move |n| n.ids.iter().any(|x| x == id))
    }

    // 1. Budget.
    if let Some(b) = budget {
        if ns.len() > b {
            bad.push(format!("{} notifications > budget {b}", ns.len()));
        }
    }
    for (id, th) in &threads {
        // 2. Urgent: at once, again until taken (never > URGENT_MAX_GAP without one, the first
        //    repeat after 5 min), escalated at +15 min, nothing after it is taken.
        if let Some(a) = th.urgent_at {
            let taken = th.taken.unwrap_or(end);
            let urgent: Vec<&Note> = naming(&ns, id).filter(|n| n.urgent && n.at >= a).collect();
            match urgent.first() {
                Some(n) if (n.at - a).num_seconds() <= 1 => {}
                _ => bad.push(format!("urgent {id} not notified at once ({})", when(a))),
            }
            let mut last = a;
            for n in urgent.iter().filter(|n| n.at < taken) {
                if (n.at - last).num_seconds() > URGENT_MAX_GAP {
                    bad.push(format!(
                        "urgent {id}: {} without a notification",
                        n.at - last
                    ));
                }
                last = n.at;
            }
            if (taken - last).num_seconds() > URGENT_MAX_GAP {
                bad.push(format!(
                    "urgent {id}: untaken {} after its last notification",
                    taken - last
                ));
            }
            if (taken - a).num_seconds() > URGENT_FIRST_REPEAT
                && !urgent.iter().any(|n| {
                    let d = (n.at - a).num_seconds();
                    (URGENT_FIRST_REPEAT..=URGENT_FIRST_REPEAT + 1).contains(&d)
                })
            {
                bad.push(format!("urgent {id}: no repeat 5 min after arrival"));
            }
            if (taken - a).num_seconds() > ESCALATE_AFTER
                && !urgent.iter().any(|n| {
                    let d = (n.at - a).num_seconds();
                    n.escalated && (ESCALATE_AFTER..=ESCALATE_AFTER + 1).contains(&d)
                })
            {
                bad.push(format!("urgent {id}: not escalated at +15 min"));
            }
            if let Some(n) = urgent.iter().find(|n| n.at >= taken && th.taken.is_some()) {
                bad.push(format!(
                    "urgent {id} notified at {} after it was taken",
                    when(n.at)
                ));
            }
            // A repeat replaces an earlier notification about the same item.
            for n in urgent.iter().skip(1).filter(|n| n.at < taken) {
                let ok = n.replaces.as_ref().is_some_and(|r| {
                    urgent
                        .iter()
                        .any(|m| m.at <= n.at && m.key.as_ref() == Some(r))
                });
                if !ok {
                    bad.push(format!(
                        "urgent {id}: repeat at {} does not replace the earlier one",
                        when(n.at)
                    ));
                }
            }
            continue;
        }
        // 3. Every routine item is announced before its due time — unless somebody opened or
        //    took it first, or the queue was on screen meanwhile (then it was seen).
        let Some(due) = th.due else { continue };
        if th.fyi {
            continue;
        }
        let announced = naming(&ns, id).any(|n| n.at >= th.first && n.at <= due);
        let seen = th.seen.is_some_and(|s| s <= due) || visible_during(th.first, due);
        if !announced && !seen {
            bad.push(format!(
                "{id} (arrived {}) not announced before its due time {}",
                when(th.first),
                when(due)
            ));
        }
        // 4. Due soon and nobody has taken it: named in a notification in the last 70 min
        //    before the due time (a summary or a warning) — unless the queue was on screen in
        //    the last 10 minutes before it.
        if th
            .taken
            .is_none_or(|k| k > due - Duration::seconds(DUE_SOON_LEAD))
            && due <= end
        {
            let from = (due - Duration::seconds(DUE_SOON_WINDOW)).max(th.first);
            let warned = naming(&ns, id).any(|n| n.at >= from && n.at < due);
            if !warned && !visible_during(due - Duration::seconds(DUE_SOON_LEAD), due) {
                bad.push(format!(
                    "{id}: unowned, due {}, not named in the hour before",
                    when(due)
                ));
            }
        }
    }
    // 5. Non-urgent: only in clinic hours, never while the queue is on screen, 30 s apart.
    let nu: Vec<&Note> = ns.iter().filter(|n| !n.urgent).collect();
    for n in &nu {
        if !cal.is_open_at(n.at) {
            bad.push(format!("non-urgent {} outside clinic hours", when(n.at)));
        }
        if visible_at(n.at) {
            bad.push(format!(
                "non-urgent {} while the queue was on screen",
                when(n.at)
            ));
        }
    }
    for w in nu.windows(2) {
        if (w[1].at - w[0].at).num_seconds() < MIN_GAP {
            bad.push(format!(
                "non-urgent {} and {} closer than 30 s",
                when(w[0].at),
                when(w[1].at)
            ));
        }
    }
    // 6. No patient data: no 8-character piece of a subject or body (beyond labels and partner
    //    names), no patient name, 様, SpO2 or phone number.
    let mut allowed: String = Category::ALL.iter().map(|c| c.label_ja()).collect();
    allowed += &Urgency::ALL
        .iter()
        .map(|c| c.label_ja())
        .collect::<String>();
    allowed += &Channel::ALL
        .iter()
        .map(|c| c.label_ja())
        .collect::<String>();
    allowed += &partners;
    let mut frags = BTreeSet::new();
    for s in &texts {
        let chars: Vec<char> = s.chars().collect();
        for w in chars.windows(8) {
            let f: String = w.iter().collect();
            if !f.trim().is_empty() && !allowed.contains(f.trim()) {
                frags.insert(f);
            }
        }
    }
    for n in &ns {
        if let Some(f) = frags.iter().find(|f| n.text.contains(f.as_str())) {
            bad.push(format!("leak '{f}': {}", n.text));
        }
        for p in PATIENTS.iter().chain(&["様", "SpO2", "090-", "080-"]) {
            if n.text.contains(p) {
                bad.push(format!("leak '{p}': {}", n.text));
            }
        }
    }
    // 7. Time order.
    for w in ns.windows(2) {
        if w[1].at < w[0].at {
            bad.push("notifications out of time order".into());
        }
    }

    let mut by_kind = BTreeMap::new();
    for n in &ns {
        *by_kind.entry(n.kind.clone()).or_insert(0) += 1;
    }
    let times: Vec<DateTime<Utc>> = ns.iter().map(|n| n.at).collect();
    let row = Row {
        name: name.to_string(),
        messages: summary["arrivals"].as_u64().unwrap_or(0) as usize,
        threads: summary["threads"].as_u64().unwrap_or(0) as usize,
        total: ns.len(),
        replaced: ns.iter().filter(|n| n.replaces.is_some()).count(),
        by_kind,
        max_per_hour: max_in_hour(&times),
    };
    (bad, row)
}

fn table(rows: &[Row]) {
    let k = |r: &Row, s: &str| r.by_kind.get(s).copied().unwrap_or(0);
    println!("| scenario | messages | threads | notifications | urgent arrival / repeat / escalation | digests | opening summaries | due-soon | replaced (of the total) | max per hour |");
    println!("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | **{}** | {} / {} / {} | {} | {} | {} | {} | {} |",
            r.name,
            r.messages,
            r.threads,
            r.total,
            k(r, "urgent_arrival"),
            k(r, "urgent_repeat"),
            k(r, "escalation"),
            k(r, "digest"),
            k(r, "opening_summary"),
            k(r, "due_soon_unowned"),
            r.replaced,
            r.max_per_hour
        );
    }
}

fn load(name: &str) -> String {
    let p = format!(
        "{}/../../tests/scenarios/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn generated_busy_weekdays_meet_every_rule() {
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    // The named days, then each kind of day again with two more seeds.
    for (name, seed, params) in busy_weekdays() {
        for s in 0..3 {
            let json = generate(seed + s, &params).to_string();
            let label = if s == 0 {
                name.clone()
            } else {
                format!("{name} (seed +{s})")
            };
            let (bad, row) = check(&label, &json, Some(BUDGET));
            failures.extend(bad.into_iter().map(|b| format!("{label}: {b}")));
            rows.push(row);
        }
    }
    for (file, budget) in [
        ("busy_300.json", Some(BUDGET)),
        ("busy_weekday.json", Some(BUDGET)),
        ("weekend_holiday.json", None),
        ("unacked_urgent.json", None),
    ] {
        let (bad, row) = check(file, &load(file), budget);
        failures.extend(bad.into_iter().map(|b| format!("{file}: {b}")));
        rows.push(row);
    }
    table(&rows);
    assert!(
        failures.is_empty(),
        "{} rule violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The checker itself catches what it claims to: the same output with the urgent repeats
/// dropped, a summary moved into the night, or a name pasted into a body fails it. (The checks
/// read only the output lines, so editing those is enough.)
#[test]
fn checker_is_not_vacuous() {
    let (name, seed, params) = busy_weekdays().remove(3);
    let json = generate(seed, &params).to_string();
    let lines = run(&json).unwrap().lines();
    let (bad, _) = check_lines(&name, &json, &lines, Some(BUDGET));
    assert!(bad.is_empty(), "{bad:?}");
    let (last, notes) = lines.split_last().unwrap();
    let edit = |f: &dyn Fn(&mut Vec<Value>)| -> Vec<String> {
        let mut vs: Vec<Value> = notes
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        f(&mut vs);
        let mut out: Vec<String> = vs.iter().map(|v| v.to_string()).collect();
        out.push(last.clone());
        out
    };
    let no_repeats =
        edit(&|vs| vs.retain(|v| !v["reason"].as_str().unwrap().starts_with("urgent_repeat")));
    let (bad, _) = check_lines(&name, &json, &no_repeats, Some(BUDGET));
    assert!(
        bad.iter()
            .any(|b| b.contains("without a notification") || b.contains("untaken")),
        "{bad:?}"
    );
    let night = edit(&|vs| {
        let d = vs.iter_mut().find(|v| v["urgency"] != "urgent").unwrap();
        d["at"] = Value::from("2026-12-04T03:00:00+09:00");
    });
    let (bad, _) = check_lines(&name, &json, &night, Some(BUDGET));
    assert!(
        bad.iter().any(|b| b.contains("outside clinic hours")),
        "{bad:?}"
    );
    let leak = edit(&|vs| vs[0]["body"] = Value::from(format!("{}様", PATIENTS[0])));
    let (bad, _) = check_lines(&name, &json, &leak, Some(BUDGET));
    assert!(bad.iter().any(|b| b.contains("leak")), "{bad:?}");
    let (bad, _) = check_lines(&name, &json, &lines, Some(3));
    assert!(bad.iter().any(|b| b.contains("budget")), "{bad:?}");
}
