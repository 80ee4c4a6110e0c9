//! The operations report of a period: arrivals (per day, hour, channel, weekday × hour),
//! response and resolution times per partner and category, targets met, urgent items,
//! notifications, the partners that wait longest.

use super::Spread;
use crate::calendar::{jst_date, ClinicCalendar};
use crate::clock::jst;
use crate::codes::{Category, Channel, Urgency};
use crate::store::report::ReportRow;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// A count on one JST date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub count: u32,
}

/// Arrivals of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChannelCount {
    pub channel: Channel,
    pub count: u32,
}

/// Response and resolution times of one group (a partner or a category).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeStats {
    /// The partner's name or the category's wire name.
    pub key: String,
    /// Japanese label (the partner's name, the category's label).
    pub label: String,
    /// Consultations received in the period.
    pub count: u32,
    /// Arrival → first response, in business minutes (answered items only).
    pub first_response: Spread,
    /// Not answered yet.
    pub unanswered: u32,
    /// Arrival → resolved/declined, in business minutes (closed items only).
    pub resolution: Spread,
}

/// How many items met their response target (`due_at`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct TargetShare {
    /// Items with a target whose outcome is known (met + missed).
    pub counted: u32,
    /// First response at or before `due_at`.
    pub met: u32,
    /// First response after `due_at`, or none and `due_at` has passed.
    pub missed: u32,
    /// No response yet, target not reached yet (not counted).
    pub pending: u32,
    /// met / counted × 100, one decimal.
    pub percent_met: Option<f64>,
}

/// Urgent (至急) items of the period and how long they took to be taken.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrgentStats {
    pub count: u32,
    /// Arrival → first acknowledged/in progress, business minutes (taken items only).
    pub take: Spread,
    pub untaken: u32,
    pub items: Vec<UrgentItem>,
}

/// One urgent item (id and who took it; no subject).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UrgentItem {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub taken_by: Option<String>,
    pub minutes_to_take: Option<i64>,
}

/// The operations report for the JST dates `from..=to`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub generated_at: DateTime<Utc>,
    pub total: u32,
    pub arrivals_per_day: Vec<DayCount>,
    /// 24 counts, JST hour 0..23.
    pub arrivals_per_hour: Vec<u32>,
    pub arrivals_per_channel: Vec<ChannelCount>,
    /// 7 rows (Mon..Sun) × 24 JST hours.
    pub heatmap: Vec<Vec<u32>>,
    pub overall: TimeStats,
    pub by_partner: Vec<TimeStats>,
    pub by_category: Vec<TimeStats>,
    pub targets: TargetShare,
    /// Received in the period, still open and past due at `generated_at`.
    pub overdue_open: u32,
    pub notifications_per_day: Vec<DayCount>,
    pub notifications_total: u32,
    pub urgent: UrgentStats,
    /// Partners by median first response, longest first (top 5, answered items only).
    pub longest_waits: Vec<TimeStats>,
}

/// The last full week Mon–Sun (JST) before the week of `now`.
pub fn last_full_week(now: DateTime<Utc>) -> (NaiveDate, NaiveDate) {
    let today = jst_date(now);
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    (monday - Duration::days(7), monday - Duration::days(1))
}

/// A report date as text: YYYY-MM-DD; `None` or blank = not given.
pub fn parse_date(field: &str, s: Option<&str>) -> crate::Result<Option<NaiveDate>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| crate::Error::Invalid {
                field: Some(field.into()),
                message: format!(
                    "{field} '{v}' is not a date: give it as YYYY-MM-DD, e.g. 2026-11-30"
                ),
            }),
    }
}

/// 00:00 JST of `date`, as UTC.
pub fn jst_midnight(date: NaiveDate) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    match jst().from_local_datetime(&naive).single() {
        Some(t) => t.with_timezone(&Utc),
        None => Utc.from_utc_datetime(&(naive - Duration::hours(9))),
    }
}

fn days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push(d);
        d += Duration::days(1);
    }
    out
}

fn per_day(
    from: NaiveDate,
    to: NaiveDate,
    times: impl Iterator<Item = DateTime<Utc>>,
) -> Vec<DayCount> {
    let mut map: BTreeMap<NaiveDate, u32> = days(from, to).into_iter().map(|d| (d, 0)).collect();
    for t in times {
        if let Some(c) = map.get_mut(&jst_date(t)) {
            *c += 1;
        }
    }
    map.into_iter()
        .map(|(date, count)| DayCount { date, count })
        .collect()
}

fn time_stats(cal: &ClinicCalendar, key: String, label: String, rows: &[&ReportRow]) -> TimeStats {
    let first: Vec<i64> = rows
        .iter()
        .filter_map(|r| {
            r.first_response_at
                .map(|f| cal.business_minutes_between(r.received_at, f))
        })
        .collect();
    let resolution: Vec<i64> = rows
        .iter()
        .filter(|r| !r.status.is_open())
        .filter_map(|r| {
            r.resolved_at
                .map(|f| cal.business_minutes_between(r.received_at, f))
        })
        .collect();
    TimeStats {
        key,
        label,
        count: rows.len() as u32,
        unanswered: rows
            .iter()
            .filter(|r| r.first_response_at.is_none())
            .count() as u32,
        first_response: Spread::of(first),
        resolution: Spread::of(resolution),
    }
}

/// The report over `rows` (received in the period) and the notification times of the period.
pub fn report(
    cal: &ClinicCalendar,
    from: NaiveDate,
    to: NaiveDate,
    rows: &[ReportRow],
    notifications: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> Report {
    let local = |t: DateTime<Utc>| t.with_timezone(&jst());
    let mut per_hour = vec![0u32; 24];
    let mut heatmap = vec![vec![0u32; 24]; 7];
    let mut channels: BTreeMap<Channel, u32> = BTreeMap::new();
    for r in rows {
        let l = local(r.received_at);
        per_hour[l.hour() as usize] += 1;
        heatmap[l.weekday().num_days_from_monday() as usize][l.hour() as usize] += 1;
        *channels.entry(r.channel).or_default() += 1;
    }
    let all: Vec<&ReportRow> = rows.iter().collect();
    let mut partners: BTreeMap<String, Vec<&ReportRow>> = BTreeMap::new();
    let mut categories: BTreeMap<Category, Vec<&ReportRow>> = BTreeMap::new();
    for r in rows {
        let name = r.partner.clone().unwrap_or_else(|| "（不明）".into());
        partners.entry(name).or_default().push(r);
        categories.entry(r.category).or_default().push(r);
    }
    let by_partner: Vec<TimeStats> = partners
        .into_iter()
        .map(|(name, rs)| time_stats(cal, name.clone(), name, &rs))
        .collect();
    let by_category: Vec<TimeStats> = categories
        .into_iter()
        .map(|(c, rs)| time_stats(cal, c.as_str().into(), c.label_ja().into(), &rs))
        .collect();
    let mut longest_waits: Vec<TimeStats> = by_partner
        .iter()
        .filter(|s| s.first_response.median_min.is_some())
        .cloned()
        .collect();
    longest_waits.sort_by(|a, b| {
        let m = |s: &TimeStats| s.first_response.median_min.unwrap_or(0.0);
        m(b).total_cmp(&m(a)).then_with(|| a.key.cmp(&b.key))
    });
    longest_waits.truncate(5);

    let mut targets = TargetShare::default();
    for r in rows {
        let Some(due) = r.due_at else { continue };
        match r.first_response_at {
            Some(f) if f <= due => targets.met += 1,
            Some(_) => targets.missed += 1,
            None if now > due => targets.missed += 1,
            None => targets.pending += 1,
        }
    }
    targets.counted = targets.met + targets.missed;
    targets.percent_met = (targets.counted > 0)
        .then(|| (targets.met as f64 * 1000.0 / targets.counted as f64).round() / 10.0);

    let urgent_rows: Vec<&ReportRow> = rows
        .iter()
        .filter(|r| r.urgency == Urgency::Urgent)
        .collect();
    let items: Vec<UrgentItem> = urgent_rows
        .iter()
        .map(|r| UrgentItem {
            id: r.id,
            received_at: r.received_at,
            taken_by: r.taken_by.clone(),
            minutes_to_take: r
                .taken_at
                .map(|t| cal.business_minutes_between(r.received_at, t)),
        })
        .collect();
    let urgent = UrgentStats {
        count: items.len() as u32,
        take: Spread::of(items.iter().filter_map(|i| i.minutes_to_take).collect()),
        untaken: items.iter().filter(|i| i.minutes_to_take.is_none()).count() as u32,
        items,
    };

    Report {
        from,
        to,
        generated_at: now,
        total: rows.len() as u32,
        arrivals_per_day: per_day(from, to, rows.iter().map(|r| r.received_at)),
        arrivals_per_hour: per_hour,
        arrivals_per_channel: channels
            .into_iter()
            .map(|(channel, count)| ChannelCount { channel, count })
            .collect(),
        heatmap,
        overall: time_stats(cal, "all".into(), "全体".into(), &all),
        by_partner,
        by_category,
        targets,
        overdue_open: rows
            .iter()
            .filter(|r| r.status.is_open() && r.due_at.is_some_and(|d| d < now))
            .count() as u32,
        notifications_per_day: per_day(from, to, notifications.iter().copied()),
        notifications_total: notifications.len() as u32,
        urgent,
        longest_waits,
    }
}

/// Japanese weekday labels, Monday first (the heat map's rows).
pub const WEEKDAYS_JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

/// The weekday of a date, Monday = 0.
pub fn weekday_index(d: NaiveDate) -> usize {
    d.weekday().num_days_from_monday() as usize
}
