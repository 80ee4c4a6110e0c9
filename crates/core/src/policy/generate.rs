//! A seeded generator of busy clinic days as scenario JSON (CONTRACT.md "Notification
//! scenarios"), for checking the notification policy on days nobody hand-wrote.
//!
//! The generator knows nothing about the policy: it models the clinic and its partners —
//! how many messages come and when (an arrival curve over the clinic day plus after-hours
//! arrivals), how many are urgent, Chatwork bursts of several messages on one thread,
//! follow-ups hours later, how fast the staff open and take items (and that some items are
//! never taken that day), and when somebody has the queue on screen. Due times are the store's
//! (`triage::due_at` with the default targets), written into each arrival as `due_at` — what the
//! app would pass from the database. Subjects and bodies carry fictional patient names, SpO2
//! values and phone numbers, so a leak into a notification text would show.
//!
//! `generate(seed, &params)` is deterministic (its own SplitMix64, no RNG crate's stream).

use crate::calendar::{jst_date, ClinicCalendar};
use crate::clock::jst;
use crate::codes::{Category, Channel, PartnerKind, Urgency};
use crate::triage::{due_at, ResponseTargets};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

/// When in the clinic day the messages come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    /// Most between 9:00 and 11:30 (hospitals' morning rounds, discharge planning).
    MorningPeak,
    /// Most between 13:00 and 16:00.
    AfternoonPeak,
    /// Evenly over 9:00–17:00.
    Flat,
    /// A flat base plus a handful of 10-minute storms (an outbreak alert, a ward clearing beds).
    Bursty,
}

/// What kind of day to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct DayParams {
    /// A business day (JST).
    pub date: NaiveDate,
    /// Messages (`arrive` events) in the day, follow-ups and burst messages included.
    pub messages: usize,
    pub curve: Curve,
    /// Share of threads that are urgent (0.01–0.05 is realistic).
    pub urgent_share: f64,
    /// Share of threads that start outside clinic hours (06:30–9:00, 17:00–22:30).
    pub after_hours_share: f64,
    /// Share of Chatwork threads that come as a burst of 3–10 messages.
    pub chatwork_burst_share: f64,
    /// Staff reaction: an item is taken (ack) this many minutes (min, max) after arrival
    /// (urgent), or after it was opened (routine).
    pub ack_minutes: (i64, i64),
    /// Share of routine threads nobody opens or takes that day.
    pub never_share: f64,
    /// How often per clinic hour someone has the queue on screen (2–12 min each time).
    pub looks_per_hour: f64,
}

impl DayParams {
    /// A realistic busy weekday (~300 messages) with the given curve.
    pub fn busy(date: NaiveDate, curve: Curve) -> DayParams {
        DayParams {
            date,
            messages: 300,
            curve,
            urgent_share: 0.03,
            after_hours_share: 0.10,
            chatwork_burst_share: 0.4,
            ack_minutes: (1, 30),
            never_share: 0.2,
            looks_per_hour: 0.8,
        }
    }
}

/// Named busy weekdays, each a different kind of day: (name, seed, params).
pub fn busy_weekdays() -> Vec<(String, u64, DayParams)> {
    let d = |m: u32, day: u32| NaiveDate::from_ymd_opt(2026, m, day).unwrap_or_default();
    let mut v = Vec::new();
    let mut morning = DayParams::busy(d(12, 1), Curve::MorningPeak);
    morning.urgent_share = 0.02;
    v.push(("morning_peak".to_string(), 101, morning));
    let mut afternoon = DayParams::busy(d(12, 2), Curve::AfternoonPeak);
    afternoon.urgent_share = 0.04;
    afternoon.ack_minutes = (5, 30);
    afternoon.never_share = 0.3;
    v.push(("afternoon_peak_slow_staff".to_string(), 202, afternoon));
    let mut flat = DayParams::busy(d(12, 3), Curve::Flat);
    flat.urgent_share = 0.01;
    flat.ack_minutes = (1, 10);
    flat.looks_per_hour = 1.5;
    v.push(("flat_fast_staff".to_string(), 303, flat));
    let mut bursty = DayParams::busy(d(12, 4), Curve::Bursty);
    bursty.urgent_share = 0.05;
    bursty.chatwork_burst_share = 0.7;
    bursty.looks_per_hour = 0.4;
    v.push(("bursty_friday".to_string(), 404, bursty));
    let mut evening = DayParams::busy(d(12, 7), Curve::Flat);
    evening.after_hours_share = 0.25;
    evening.urgent_share = 0.03;
    evening.never_share = 0.35;
    evening.looks_per_hour = 0.3;
    v.push(("many_after_hours".to_string(), 505, evening));
    let mut heavy = DayParams::busy(d(12, 8), Curve::MorningPeak);
    heavy.messages = 340;
    heavy.urgent_share = 0.05;
    heavy.ack_minutes = (10, 30);
    heavy.looks_per_hour = 0.2;
    v.push(("heavy_urgent_nobody_looking".to_string(), 606, heavy));
    v
}

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn weighted<T: Copy>(&mut self, xs: &[(T, u32)]) -> T {
        let total: u32 = xs.iter().map(|x| x.1).sum();
        let mut r = self.below(u64::from(total)) as u32;
        for (x, w) in xs {
            if r < *w {
                return *x;
            }
            r -= w;
        }
        xs[xs.len() - 1].0
    }
}

const PARTNERS: &[(&str, PartnerKind)] = &[
    ("札幌北辰病院 地域連携室", PartnerKind::Hospital),
    ("北区中央病院 地域医療連携室", PartnerKind::Hospital),
    ("手稲みなみ病院 入退院支援室", PartnerKind::Hospital),
    ("北区第2地域包括支援センター", PartnerKind::Houkatsu),
    ("東区はまなす地域包括支援センター", PartnerKind::Houkatsu),
    ("ケアプランセンターすずらん", PartnerKind::CareManager),
    ("居宅介護支援事業所つばさ", PartnerKind::CareManager),
    ("ひまわり訪問看護ステーション", PartnerKind::Nursing),
    ("訪問看護ステーションあおぞら", PartnerKind::Nursing),
    ("みどり調剤薬局 北24条店", PartnerKind::Pharmacy),
    ("グループホームなごみ", PartnerKind::Facility),
    ("特別養護老人ホーム緑風苑", PartnerKind::Facility),
];

const CATEGORIES: &[(Category, u32)] = &[
    (Category::Discharge, 20),
    (Category::NewHomeVisit, 14),
    (Category::NursingIntro, 12),
    (Category::CommunityConcern, 12),
    (Category::Medication, 12),
    (Category::Info, 10),
    (Category::BedAvailability, 9),
    (Category::Alert, 3),
    (Category::Other, 8),
];

const CHANNELS: &[(Channel, u32)] = &[
    (Channel::Lineworks, 40),
    (Channel::Chatwork, 30),
    (Channel::FaxFolder, 10),
    (Channel::Phone, 10),
    (Channel::PartnerApi, 10),
];

/// Fictional patients.
pub const PATIENTS: &[&str] = &[
    "山田花子",
    "佐藤一郎",
    "鈴木和子",
    "高橋健二",
    "田中美代",
    "伊藤正夫",
    "渡辺トメ",
    "中村昭",
];

/// Hour weights 9..17 per curve.
fn hour_weights(c: Curve) -> [u32; 8] {
    match c {
        Curve::MorningPeak => [30, 28, 14, 8, 6, 5, 5, 4],
        Curve::AfternoonPeak => [5, 6, 8, 10, 22, 24, 16, 9],
        Curve::Flat | Curve::Bursty => [10; 8],
    }
}

fn at_jst(date: NaiveDate, minutes_after_midnight: i64) -> DateTime<Utc> {
    let midnight = jst()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    midnight + Duration::minutes(minutes_after_midnight)
}

fn show(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst()).to_rfc3339()
}

/// One generated day as scenario JSON: starts 06:00 on `params.date`, ends 12:00 on the next
/// business day (night arrivals get their opening summary, next-day due times pass).
pub fn generate(seed: u64, params: &DayParams) -> Value {
    let mut rng = Rng(seed ^ 0x5EED_0000_0000_0000);
    let cal = ClinicCalendar::default();
    let targets = ResponseTargets::default();
    let day = params.date;
    let next_day = cal.next_business_day(day);
    let start = at_jst(day, 6 * 60);
    let end = at_jst(next_day, 12 * 60);
    let next_open = at_jst(next_day, 9 * 60);
    let weights = hour_weights(params.curve);
    let hours: Vec<(i64, u32)> = (0..8).map(|h| (9 + h as i64, weights[h])).collect();
    let storms: Vec<i64> = (0..6)
        .map(|_| rng.range(9 * 60 + 10, 16 * 60 + 40))
        .collect();

    let mut events: Vec<(DateTime<Utc>, usize, Value)> = Vec::new();
    let push = |t: DateTime<Utc>, v: Value, events: &mut Vec<(DateTime<Utc>, usize, Value)>| {
        let n = events.len();
        if t <= end {
            events.push((t, n, v));
        }
    };
    let mut messages = 0usize;
    let mut thread = 0usize;
    while messages < params.messages {
        thread += 1;
        let id = format!("g{seed}-{thread}");
        // When the thread starts (minutes after midnight, seconds added below).
        let minute = if rng.chance(params.after_hours_share) {
            if rng.chance(0.6) {
                rng.range(17 * 60, 22 * 60 + 30)
            } else {
                rng.range(6 * 60 + 30, 9 * 60 - 1)
            }
        } else if params.curve == Curve::Bursty && rng.chance(0.4) {
            let c = storms[rng.below(storms.len() as u64) as usize];
            c + rng.range(-5, 5)
        } else {
            let h = rng.weighted(&hours);
            h * 60 + rng.range(0, 59)
        };
        let t0 = at_jst(day, minute) + Duration::seconds(rng.range(0, 59));
        let (partner, kind) = PARTNERS[rng.below(PARTNERS.len() as u64) as usize];
        let channel = rng.weighted(CHANNELS);
        let category = rng.weighted(CATEGORIES);
        let urgency = if rng.chance(params.urgent_share) {
            Urgency::Urgent
        } else {
            rng.weighted(&[
                (Urgency::Today, 15),
                (Urgency::Normal, 75),
                (Urgency::Fyi, 10),
            ])
        };
        let due = due_at(&cal, &targets, category, urgency, t0);
        // Messages on the thread: a Chatwork burst, else one (sometimes a follow-up later).
        let mut times = vec![t0];
        if channel == Channel::Chatwork && rng.chance(params.chatwork_burst_share) {
            let n = rng.range(3, 10);
            let mut t = t0;
            for _ in 1..n {
                t += Duration::seconds(rng.range(10, 90));
                times.push(t);
            }
        } else if rng.chance(0.12) {
            times.push(t0 + Duration::minutes(rng.range(10, 120)));
        }
        for (k, t) in times.iter().enumerate() {
            if messages >= params.messages {
                break;
            }
            messages += 1;
            let name = PATIENTS[rng.below(PATIENTS.len() as u64) as usize];
            let mut ev = json!({
                "at": show(*t), "type": "arrive", "id": id,
                "partner": partner, "partner_kind": kind.as_str(), "channel": channel.as_str(),
                "category": category.as_str(), "urgency": urgency.as_str(),
                "subject": format!("{}のご相談 {name}様 件{thread}-{k}", category.label_ja()),
                "body": format!("{name}様 SpO2 {}% 家族連絡先 090-{:04}-{:04} 本文{thread}-{k}",
                    rng.range(84, 97), rng.below(10_000), rng.below(10_000)),
            });
            if let Some(d) = due {
                ev["due_at"] = json!(show(d));
            }
            push(*t, ev, &mut events);
        }
        // Staff reaction. Outside clinic hours nobody is at the desk: routine items are looked
        // at from the next opening; urgent ones are taken by whoever is on call.
        let (lo, hi) = params.ack_minutes;
        // Nobody closes a thread before its last message has come.
        let last = *times.last().unwrap_or(&t0);
        if urgency == Urgency::Urgent {
            let ack =
                t0 + Duration::minutes(rng.range(lo, hi)) + Duration::seconds(rng.range(0, 59));
            push(
                ack,
                json!({"at": show(ack), "type": "ack", "id": id}),
                &mut events,
            );
            if rng.chance(0.5) {
                let done = ack.max(last) + Duration::minutes(rng.range(10, 120));
                push(
                    done,
                    json!({"at": show(done), "type": "resolve", "id": id}),
                    &mut events,
                );
            }
            continue;
        }
        if rng.chance(params.never_share) {
            continue;
        }
        let open_at = last;
        let base = if cal.is_open_at(open_at) {
            open_at
        } else {
            let o = cal.next_opening(open_at);
            if jst_date(o) == day || o == next_open {
                o
            } else {
                open_at
            }
        };
        let read =
            base + Duration::minutes(rng.range(lo, 3 * hi)) + Duration::seconds(rng.range(0, 59));
        push(
            read,
            json!({"at": show(read), "type": "read", "id": id}),
            &mut events,
        );
        if rng.chance(0.6) {
            let ack = read + Duration::minutes(rng.range(0, hi));
            push(
                ack,
                json!({"at": show(ack), "type": "ack", "id": id}),
                &mut events,
            );
            if rng.chance(0.5) {
                let done = ack.max(last) + Duration::minutes(rng.range(5, 240));
                push(
                    done,
                    json!({"at": show(done), "type": "resolve", "id": id}),
                    &mut events,
                );
            }
        }
    }
    // Someone has the queue on screen now and then (clinic hours, both days).
    for d in [day, next_day] {
        for h in 9..17 {
            if d == next_day && h >= 12 {
                break;
            }
            let mut p = params.looks_per_hour;
            while p > 0.0 {
                if rng.chance(p.min(1.0)) {
                    let on =
                        at_jst(d, h * 60 + rng.range(0, 55)) + Duration::seconds(rng.range(0, 59));
                    let off = on + Duration::minutes(rng.range(2, 12));
                    if off > end {
                        break;
                    }
                    push(
                        on,
                        json!({"at": show(on), "type": "focus", "visible": true}),
                        &mut events,
                    );
                    push(
                        off,
                        json!({"at": show(off), "type": "focus", "visible": false}),
                        &mut events,
                    );
                }
                p -= 1.0;
            }
        }
    }
    // Overlapping looks would hide the queue while another is still open: keep the on/off
    // sequence alternating by dropping nested sessions.
    events.sort_by_key(|e| (e.0, e.1));
    let mut depth = 0;
    let mut out = Vec::with_capacity(events.len());
    for (_, _, v) in events {
        if v["type"] == "focus" {
            let on = v["visible"] == true;
            depth += if on { 1 } else { -1 };
            if (on && depth != 1) || (!on && depth != 0) {
                continue;
            }
        }
        out.push(v);
    }
    json!({"start": show(start), "end": show(end), "events": out})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_sized() {
        for (name, seed, p) in busy_weekdays() {
            let a = generate(seed, &p);
            assert_eq!(a, generate(seed, &p), "{name}");
            let evs = a["events"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            let arrivals = evs.iter().filter(|e| e["type"] == "arrive").count();
            assert_eq!(arrivals, p.messages, "{name}");
            assert_ne!(a, generate(seed + 1, &p), "{name}");
        }
    }
}
