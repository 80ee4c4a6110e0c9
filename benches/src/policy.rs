//! The pure notification policy: events/s through `handle` + `tick`, and `scenario::run` on the
//! busy-weekday fixture and on a synthetic busy day with thousands of events.

use crate::gen;
use crate::stats::{repeat, summarize, Rng, Summary};
use anyhow::{anyhow, Result};
use chrono::{DateTime, Duration, Utc};
use renkei_core::clock::jst;
use renkei_core::policy::{scenario, Arrival, NotificationPolicy, PolicyEvent, PolicySettings};
use renkei_core::Urgency;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::time::Instant;

/// A synthetic day: `threads` consultations arriving 07:00–20:00 JST with follow-ups, reads,
/// acks, resolves and the queue shown/hidden now and then. Returned in time order.
pub fn busy_day(threads: usize, seed: u64) -> Vec<(DateTime<Utc>, PolicyEvent)> {
    let mut rng = Rng::new(seed);
    let start = gen::bench_now() - Duration::hours(3); // 07:00 JST
    let span = 13 * 3600;
    let mut ev = Vec::new();
    for i in 0..threads {
        let s = gen::sample(&mut rng);
        let at = start + Duration::seconds(rng.below(span) as i64);
        let id = format!("c-{i}");
        let arrival = Arrival {
            id: id.clone(),
            partner: gen::PARTNERS[s.partner].0.to_string(),
            partner_kind: Some(gen::PARTNERS[s.partner].1),
            channel: Some(s.channel),
            category: s.category,
            urgency: s.urgency,
            due_at: None,
        };
        ev.push((at, PolicyEvent::Arrive(arrival.clone())));
        if rng.chance(0.3) {
            let later = at + Duration::minutes(rng.below(90) as i64 + 1);
            let mut follow = arrival.clone();
            if rng.chance(0.1) {
                follow.urgency = Urgency::Urgent;
            }
            ev.push((later, PolicyEvent::Arrive(follow)));
        }
        let read = at + Duration::minutes(rng.below(60) as i64 + 1);
        ev.push((read, PolicyEvent::Read { id: id.clone() }));
        if rng.chance(0.8) {
            let ack = read + Duration::minutes(rng.below(30) as i64);
            ev.push((ack, PolicyEvent::Ack { id: id.clone() }));
            if rng.chance(0.7) {
                let done = ack + Duration::minutes(rng.below(240) as i64 + 5);
                ev.push((done, PolicyEvent::Resolve { id }));
            }
        }
    }
    for h in 0..13 {
        let at = start + Duration::minutes(h * 60 + 20);
        ev.push((at, PolicyEvent::Focus { visible: true }));
        ev.push((
            at + Duration::minutes(10),
            PolicyEvent::Focus { visible: false },
        ));
    }
    ev.sort_by_key(|e| e.0);
    ev
}

/// Day `k` (0-based) of a busy week: the synthetic day of `threads` consultations moved `k`
/// days on, with ids of its own — plus, at 10:00 that day, the clinic closing what the day
/// before left open (taking what nobody took, resolving the rest), so the open backlog stays
/// the size of about one day, as in a clinic that works its queue.
pub fn week_day(threads: usize, k: i64) -> Vec<(DateTime<Utc>, PolicyEvent)> {
    let shifted = |k: i64| -> Vec<(DateTime<Utc>, PolicyEvent)> {
        let re = |id: &str| format!("d{k}-{id}");
        busy_day(threads, 11 + k as u64)
            .into_iter()
            .map(|(at, e)| {
                let e = match e {
                    PolicyEvent::Arrive(mut a) => {
                        a.id = re(&a.id);
                        PolicyEvent::Arrive(a)
                    }
                    PolicyEvent::Read { id } => PolicyEvent::Read { id: re(&id) },
                    PolicyEvent::Ack { id } => PolicyEvent::Ack { id: re(&id) },
                    PolicyEvent::Resolve { id } => PolicyEvent::Resolve { id: re(&id) },
                    other => other,
                };
                (at + Duration::days(k), e)
            })
            .collect()
    };
    let mut events = shifted(k);
    if k > 0 {
        let mut open: std::collections::BTreeMap<String, bool> = Default::default();
        for (_, e) in shifted(k - 1) {
            match e {
                PolicyEvent::Arrive(a) => {
                    open.entry(a.id).or_insert(false);
                }
                PolicyEvent::Ack { id } => {
                    open.insert(id, true);
                }
                PolicyEvent::Resolve { id } => {
                    open.remove(&id);
                }
                _ => {}
            }
        }
        let at = gen::bench_now() + Duration::days(k); // 10:00 JST
        for (id, acked) in open {
            if !acked {
                events.push((at, PolicyEvent::Ack { id: id.clone() }));
            }
            events.push((at, PolicyEvent::Resolve { id }));
        }
        events.sort_by_key(|e| e.0);
    }
    events
}

/// A week of busy days through ONE policy (as a desk left running): the time each day's
/// events and ticks take, in ms. Flat = what the policy remembers does not pile up.
pub fn week(threads: usize) -> Vec<f64> {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let mut per_day = Vec::new();
    for k in 0..7 {
        let events = week_day(threads, k);
        let t = Instant::now();
        for (at, e) in &events {
            while let Some(w) = p.next_wakeup() {
                if w >= *at {
                    break;
                }
                p.tick(w);
            }
            p.handle(*at, e.clone());
        }
        per_day.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    per_day
}

/// Feeds events through `handle`, calling `tick` at every wakeup the policy asks for before
/// the next event. Returns (events handled, notifications).
pub fn drive(events: &[(DateTime<Utc>, PolicyEvent)]) -> (usize, usize) {
    let mut p = NotificationPolicy::new(PolicySettings::default());
    let mut shown = 0;
    for (at, e) in events {
        while let Some(w) = p.next_wakeup() {
            if w >= *at {
                break;
            }
            shown += p.tick(w).len();
        }
        shown += p.handle(*at, e.clone()).len();
    }
    if let Some(last) = events.last() {
        let end = last.0 + Duration::hours(24);
        while let Some(w) = p.next_wakeup() {
            if w > end {
                break;
            }
            shown += p.tick(w).len();
        }
    }
    (events.len(), shown)
}

/// The same synthetic day as scenario JSON (for `scenario::run`).
pub fn as_scenario(events: &[(DateTime<Utc>, PolicyEvent)]) -> Result<String> {
    let t = |d: &DateTime<Utc>| d.with_timezone(&jst()).to_rfc3339();
    let mut out = Vec::new();
    for (at, e) in events {
        let v = match e {
            PolicyEvent::Arrive(a) => serde_json::json!({
                "at": t(at), "type": "arrive", "id": a.id, "partner": a.partner,
                "partner_kind": a.partner_kind.map(|k| k.as_str()),
                "channel": a.channel.map(|c| c.as_str()),
                "category": a.category.as_str(), "urgency": a.urgency.as_str(),
            }),
            PolicyEvent::Read { id } => serde_json::json!({"at": t(at), "type": "read", "id": id}),
            PolicyEvent::Ack { id } => serde_json::json!({"at": t(at), "type": "ack", "id": id}),
            PolicyEvent::Resolve { id } => {
                serde_json::json!({"at": t(at), "type": "resolve", "id": id})
            }
            PolicyEvent::Focus { visible } => {
                serde_json::json!({"at": t(at), "type": "focus", "visible": visible})
            }
        };
        out.push(v);
    }
    let first = events.first().ok_or_else(|| anyhow!("no events"))?.0;
    let last = events.last().ok_or_else(|| anyhow!("no events"))?.0;
    Ok(serde_json::to_string(&serde_json::json!({
        "start": t(&(first - Duration::hours(1))),
        "end": t(&(last + Duration::hours(14))),
        "events": out,
    }))?)
}

pub struct PolicyFigures {
    /// (threads in the day, events, events/s)
    pub scaling: Vec<(usize, usize, f64)>,
    pub events_per_sec: f64,
    pub events: usize,
    pub notifications: usize,
    pub busy_weekday: Summary,
    pub busy_weekday_events: usize,
    pub synthetic: Summary,
    pub synthetic_events: usize,
    pub synthetic_notifications: usize,
    /// `scenario::run` of synthetic days: (threads, events, p50 ms, p95 ms, output
    /// fingerprint).
    pub run_scaling: Vec<(usize, usize, f64, f64, u64)>,
    /// A week of 1,000-consultation days through one policy: ms per day (best of 3 weeks).
    pub week_ms: Vec<f64>,
}

/// A fingerprint of a run's output lines (same output, same fingerprint: optimisations of the
/// policy must not change it).
fn fingerprint(lines: &[String]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    lines.hash(&mut h);
    h.finish()
}

/// Events/s through `handle` + `tick` for a day of `threads` consultations.
fn rate(threads: usize, secs: f64) -> (usize, usize, f64) {
    let events = busy_day(threads, 7);
    let t = Instant::now();
    let mut reps = 0;
    let (mut n, mut shown) = (0, 0);
    while reps < 1 || t.elapsed().as_secs_f64() < secs {
        (n, shown) = drive(&events);
        reps += 1;
    }
    (n, shown, (n * reps) as f64 / t.elapsed().as_secs_f64())
}

pub fn measure(repo: &Path) -> Result<PolicyFigures> {
    let mut scaling = Vec::new();
    for threads in [100, 400, 1600] {
        let (n, _, r) = rate(threads, 1.0);
        scaling.push((threads, n, r));
    }
    let (n, shown, events_per_sec) = rate(400, 1.0);

    let fixture = std::fs::read_to_string(repo.join("tests/scenarios/busy_weekday.json"))?;
    let budget = std::time::Duration::from_secs(2);
    let (lat, fixture_out) = repeat(10, 2000, budget, || {
        scenario::run(&fixture).map_err(|e| anyhow!("busy_weekday.json: {e}"))
    })?;
    let busy_weekday = summarize(&lat);

    let day = busy_day(1_000, 11);
    let json = as_scenario(&day)?;
    let (lat2, out) = repeat(3, 200, budget, || {
        scenario::run(&json).map_err(|e| anyhow!("synthetic day: {e}"))
    })?;
    // The growth: a cost linear in events doubles with the day.
    let mut run_scaling = Vec::new();
    for threads in [500, 1_000, 2_000, 4_000] {
        let json = as_scenario(&busy_day(threads, 11))?;
        let (lat, out) = repeat(1, 100, budget, || {
            scenario::run(&json).map_err(|e| anyhow!("synthetic day of {threads}: {e}"))
        })?;
        let s = summarize(&lat);
        run_scaling.push((
            threads,
            out.summary.events,
            s.p50_ms,
            s.p95_ms,
            fingerprint(&out.lines()),
        ));
    }
    Ok(PolicyFigures {
        scaling,
        events_per_sec,
        events: n,
        notifications: shown,
        busy_weekday,
        busy_weekday_events: fixture_out.summary.events,
        synthetic: summarize(&lat2),
        synthetic_events: out.summary.events,
        synthetic_notifications: out.summary.notifications,
        run_scaling,
        week_ms: (0..3)
            .map(|_| week(1_000))
            .fold(vec![f64::MAX; 7], |best, w| {
                best.iter().zip(&w).map(|(a, b)| a.min(*b)).collect()
            }),
    })
}
