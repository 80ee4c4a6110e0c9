//! The scenario runner behind `renkei simulate --scenario FILE` (CONTRACT.md "Notification
//! scenarios"): parses the scenario JSON, replays its events on a virtual clock from `start` to
//! `end` (events in time order, stable for equal times; `tick` at every wakeup the policy asks
//! for), and returns the notifications plus a summary. Errors name the event index and field.

use super::{
    Arrival, Notification, NotificationKind, NotificationPolicy, PolicyEvent, PolicySettings,
};
use crate::clock::{jst, parse_rfc3339};
use crate::codes::{Category, Channel, PartnerKind, Urgency};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Counts over one run. `notifications` counts every notification shown, replacements
/// included (the budget); `replaced` how many of them updated an earlier notification in place
/// (an urgent item's repeats and escalation) and `new_popups` the rest. `urgent` counts
/// notifications with urgency `urgent` (arrivals, repeats and escalations); `max_per_hour` is
/// the most notifications in any sliding 60-minute window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScenarioSummary {
    pub notifications: usize,
    pub replaced: usize,
    pub new_popups: usize,
    pub arrivals: usize,
    pub threads: usize,
    pub urgent: usize,
    pub urgent_arrivals: usize,
    pub urgent_repeats: usize,
    pub escalations: usize,
    pub digests: usize,
    pub opening_summaries: usize,
    pub due_soon_warnings: usize,
    pub non_urgent: usize,
    pub max_per_hour: usize,
    pub max_non_urgent_per_hour: usize,
    pub events: usize,
    pub start: String,
    pub end: String,
}

/// Result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioOutput {
    pub notifications: Vec<Notification>,
    pub summary: ScenarioSummary,
}

impl ScenarioOutput {
    /// One JSON line per notification, then `{"summary": {...}}`.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .notifications
            .iter()
            .map(|n| serde_json::to_string(n).unwrap_or_default())
            .collect();
        let summary = serde_json::to_string(&self.summary).unwrap_or_else(|_| "{}".into());
        out.push(format!("{{\"summary\":{summary}}}"));
        out
    }
}

/// Runs a scenario and returns the printable JSON lines.
pub fn run_scenario_lines(json: &str) -> Result<Vec<String>, String> {
    run(json).map(|o| o.lines())
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a str, String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{at}: field '{key}' must be a string")),
        None => Err(format!("{at}: field '{key}' is missing")),
    }
}

fn opt_str<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<&'a str>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{at}: field '{key}' must be a string")),
    }
}

fn code<T: std::str::FromStr>(
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Result<Option<T>, String>
where
    T::Err: std::fmt::Display,
{
    opt_str(obj, key, at)?
        .map(|s| {
            s.parse::<T>()
                .map_err(|e| format!("{at}: field '{key}': {e}"))
        })
        .transpose()
}

fn time(obj: &Map<String, Value>, key: &str, at: &str) -> Result<DateTime<Utc>, String> {
    parse_rfc3339(str_field(obj, key, at)?).map_err(|e| format!("{at}: field '{key}': {e}"))
}

/// Keys in `given` that the parsed settings do not know (typos), as dotted paths.
fn unknown_keys(given: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    if let (Value::Object(g), Value::Object(k)) = (given, known) {
        for (key, v) in g {
            let p = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match k.get(key) {
                None => out.push(p),
                Some(kv) => unknown_keys(v, kv, &p, out),
            }
        }
    }
}

fn parse_settings(v: Option<&Value>) -> Result<PolicySettings, String> {
    let Some(v) = v else {
        return Ok(PolicySettings::default());
    };
    if !v.is_object() {
        return Err("settings: must be an object".into());
    }
    let s: PolicySettings =
        serde_json::from_value(v.clone()).map_err(|e| format!("settings: {e}"))?;
    let known = serde_json::to_value(&s).map_err(|e| format!("settings: {e}"))?;
    let mut unknown = Vec::new();
    unknown_keys(v, &known, "", &mut unknown);
    // Optional sub-objects that are null by default (quiet_hours, year_end) are checked
    // by serde itself.
    unknown.retain(|k| !k.starts_with("quiet_hours.") && !k.starts_with("calendar.year_end."));
    if !unknown.is_empty() {
        return Err(format!(
            "settings: unknown setting(s): {}",
            unknown.join(", ")
        ));
    }
    s.validate().map_err(|e| format!("settings: {e}"))?;
    Ok(s)
}

fn parse_event(i: usize, v: &Value) -> Result<(DateTime<Utc>, PolicyEvent), String> {
    let Value::Object(o) = v else {
        return Err(format!("event {i}: must be an object"));
    };
    let ty = str_field(o, "type", &format!("event {i}"))?;
    let ctx = format!("event {i} ({ty})");
    let at = time(o, "at", &ctx)?;
    let id = || -> Result<String, String> {
        let id = str_field(o, "id", &ctx)?.trim();
        if id.is_empty() {
            return Err(format!("{ctx}: field 'id' is empty"));
        }
        Ok(id.to_string())
    };
    let ev = match ty {
        "arrive" => {
            let category: Category =
                code(o, "category", &ctx)?.ok_or(format!("{ctx}: field 'category' is missing"))?;
            let due_at = match opt_str(o, "due_at", &ctx)? {
                Some(s) => {
                    Some(parse_rfc3339(s).map_err(|e| format!("{ctx}: field 'due_at': {e}"))?)
                }
                None => None,
            };
            PolicyEvent::Arrive(Arrival {
                id: id()?,
                partner: opt_str(o, "partner", &ctx)?.unwrap_or("").to_string(),
                partner_kind: code::<PartnerKind>(o, "partner_kind", &ctx)?,
                channel: code::<Channel>(o, "channel", &ctx)?,
                category,
                // Without an urgency the item is treated as `normal`.
                urgency: code(o, "urgency", &ctx)?.unwrap_or(Urgency::Normal),
                due_at,
            })
        }
        "read" => PolicyEvent::Read { id: id()? },
        "ack" => PolicyEvent::Ack { id: id()? },
        "resolve" => PolicyEvent::Resolve { id: id()? },
        "focus" => match o.get("visible") {
            Some(Value::Bool(b)) => PolicyEvent::Focus { visible: *b },
            Some(_) => return Err(format!("{ctx}: field 'visible' must be true or false")),
            None => return Err(format!("{ctx}: field 'visible' is missing")),
        },
        other => {
            return Err(format!(
                "event {i}: unknown type '{other}' (expected arrive, read, ack, resolve, focus)"
            ))
        }
    };
    Ok((at, ev))
}

/// The most times within one hour from any of them (`times` as the policy gave them: in time
/// order). One pass with the two ends of a sliding hour: counting from each time onwards grew
/// with the notifications per hour (5.5 % of a 4,000-consultation day's `run`, session 11).
fn max_in_hour(times: &[DateTime<Utc>]) -> usize {
    if !times.is_sorted() {
        // Not the policy's output (it never goes back in time): count as the definition says.
        return (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|u| **u < times[i] + Duration::hours(1))
                    .count()
            })
            .max()
            .unwrap_or(0);
    }
    let mut best = 0;
    let mut end = 0;
    for (i, t) in times.iter().enumerate() {
        let until = *t + Duration::hours(1);
        end = end.max(i);
        while end < times.len() && times[end] < until {
            end += 1;
        }
        best = best.max(end - i);
    }
    best
}

fn show(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst())
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn step(
    policy: &mut NotificationPolicy,
    out: &mut Vec<Notification>,
    clock: DateTime<Utc>,
    w: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    if w < clock {
        return Err(format!("policy asked to wake in the past ({})", show(w)));
    }
    out.extend(policy.tick(w));
    Ok(w)
}

/// Parses and runs a scenario.
pub fn run(json: &str) -> Result<ScenarioOutput, String> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| format!("scenario is not valid JSON: {e}"))?;
    let Value::Object(o) = &root else {
        return Err("scenario must be a JSON object with start, end and events".into());
    };
    let start = time(o, "start", "scenario")?;
    let end = time(o, "end", "scenario")?;
    if end <= start {
        return Err(format!(
            "scenario: end {} is not after start {}",
            show(end),
            show(start)
        ));
    }
    let settings = parse_settings(o.get("settings"))?;
    let raw = match o.get("events") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err("scenario: field 'events' must be an array".into()),
        None => return Err("scenario: field 'events' is missing".into()),
    };
    let mut events = Vec::with_capacity(raw.len());
    for (i, v) in raw.iter().enumerate() {
        let (at, ev) = parse_event(i, v)?;
        if at < start || at > end {
            return Err(format!(
                "event {i}: at {} is outside the scenario ({} – {})",
                show(at),
                show(start),
                show(end)
            ));
        }
        events.push((at, ev));
    }
    events.sort_by_key(|e| e.0); // stable: equal times keep file order

    let arrivals = events
        .iter()
        .filter(|e| matches!(e.1, PolicyEvent::Arrive(_)))
        .count();
    let threads: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match &e.1 {
            PolicyEvent::Arrive(a) => Some(a.id.as_str()),
            _ => None,
        })
        .collect();
    let threads = threads.len();

    let mut policy = NotificationPolicy::new(settings);
    let mut out: Vec<Notification> = Vec::new();
    let mut queue = events.into_iter().peekable();
    let mut clock = start;
    let mut steps = 0usize;
    loop {
        steps += 1;
        if steps > 1_000_000 {
            return Err(format!("policy did not settle (stuck at {})", show(clock)));
        }
        let wake = policy.next_wakeup().filter(|w| *w <= end);
        let ev_at = queue.peek().map(|e| e.0);
        match (ev_at, wake) {
            (Some(e), Some(w)) if w < e => {
                clock = step(&mut policy, &mut out, clock, w)?;
            }
            (Some(_), _) => {
                if let Some((at, ev)) = queue.next() {
                    clock = at;
                    out.extend(policy.handle(at, ev));
                }
            }
            (None, Some(w)) => {
                clock = step(&mut policy, &mut out, clock, w)?;
            }
            (None, None) => break,
        }
    }

    let count = |k: NotificationKind| out.iter().filter(|n| n.kind == k).count();
    let all: Vec<DateTime<Utc>> = out.iter().map(|n| n.at).collect();
    let non_urgent: Vec<DateTime<Utc>> = out
        .iter()
        .filter(|n| n.urgency != Urgency::Urgent)
        .map(|n| n.at)
        .collect();
    let summary = ScenarioSummary {
        start: show(start),
        end: show(end),
        events: raw.len(),
        notifications: out.len(),
        replaced: out.iter().filter(|n| n.replaces.is_some()).count(),
        new_popups: out.iter().filter(|n| n.replaces.is_none()).count(),
        arrivals,
        threads,
        urgent: out.iter().filter(|n| n.urgency == Urgency::Urgent).count(),
        urgent_arrivals: count(NotificationKind::UrgentArrival),
        urgent_repeats: count(NotificationKind::UrgentRepeat),
        escalations: count(NotificationKind::Escalation),
        digests: count(NotificationKind::Digest),
        opening_summaries: count(NotificationKind::OpeningSummary),
        due_soon_warnings: count(NotificationKind::DueSoonUnowned),
        non_urgent: non_urgent.len(),
        max_per_hour: max_in_hour(&all),
        max_non_urgent_per_hour: max_in_hour(&non_urgent),
    };
    Ok(ScenarioOutput {
        notifications: out,
        summary,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The definition: from each time, how many (it included) come before one hour has passed.
    fn by_definition(times: &[DateTime<Utc>]) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .filter(|u| **u < times[i] + Duration::hours(1))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn the_busiest_hour_is_counted_as_defined() {
        let t0 = parse_rfc3339("2026-12-01T08:00:00+09:00").unwrap();
        // Bursts, gaps, equal times and exact one-hour steps, from a fixed pseudo-random walk.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for n in [0usize, 1, 2, 7, 50, 400] {
            let mut t = t0;
            let mut times = Vec::new();
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let step = match x % 5 {
                    0 => 0,
                    1 => 3600,
                    _ => (x >> 8) % 900,
                };
                t += Duration::seconds(step as i64);
                times.push(t);
            }
            assert_eq!(max_in_hour(&times), by_definition(&times), "{n} times");
        }
        let at = |m: i64| t0 + Duration::minutes(m);
        // 59 minutes apart count together; 60 do not.
        assert_eq!(max_in_hour(&[at(0), at(59), at(60), at(61)]), 3);
        assert_eq!(max_in_hour(&[at(0), at(60), at(120)]), 1);
        // Out of order (never from the policy): still the definition's count from each time on.
        let unsorted = [at(30), at(0), at(10), at(100)];
        assert_eq!(max_in_hour(&unsorted), 3);
    }
}
