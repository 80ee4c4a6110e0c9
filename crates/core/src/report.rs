//! The shift handover (申し送り) and the operations report: pure computations over the rows
//! `store::report` reads, on the clinic calendar. No clock, no store: `Desk::handover` and
//! `Desk::report` (desk/report.rs) pass the time and the rows in (docs/report.md).
//!
//! Times are **business minutes** on the clinic calendar (closed hours, closed days and lunch
//! excluded: `ClinicCalendar::business_minutes_between`). The first response is the
//! consultation's `first_response_at`: the first acknowledgement, status change, reply or
//! phone call by staff. "Taken" is the first status change to acknowledged or in progress,
//! with who made it. Medians average the two middle values; p90 is the nearest rank
//! (the ⌈0.9·n⌉-th smallest value).

use crate::calendar::{jst_date, ClinicCalendar};
use crate::clock::jst;
use crate::codes::{Category, Channel, Status, Urgency};
use crate::store::report::ReportRow;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

// ---------------------------------------------------------------------------------------------
// Handover

/// One item as the handover lists it (staff only: the subject is shown, never the body).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandoverItem {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub partner: Option<String>,
    pub category: Category,
    pub urgency: Urgency,
    pub status: Status,
    pub owner: Option<String>,
    pub subject: String,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
}

impl HandoverItem {
    fn of(r: &ReportRow, now: DateTime<Utc>) -> Self {
        HandoverItem {
            id: r.id,
            received_at: r.received_at,
            partner: r.partner.clone(),
            category: r.category,
            urgency: r.urgency,
            status: r.status,
            owner: r.owner.clone(),
            subject: r.subject.clone(),
            due_at: r.due_at,
            overdue: r.status.is_open() && r.due_at.is_some_and(|d| d < now),
        }
    }
}

/// Open items of one owner (`owner: None` = nobody).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OwnerGroup {
    pub owner: Option<String>,
    pub items: Vec<HandoverItem>,
}

/// An urgent item of the day and who took it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TakenItem {
    #[serde(flatten)]
    pub item: HandoverItem,
    pub taken_by: Option<String>,
    pub taken_at: Option<DateTime<Utc>>,
    /// Business minutes from arrival to taken.
    pub minutes_to_take: Option<i64>,
}

/// An item waiting for the partner, and since when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitingItem {
    #[serde(flatten)]
    pub item: HandoverItem,
    pub since: Option<DateTime<Utc>>,
}

/// The handover's counts (the evening summary uses these only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HandoverCounts {
    /// Open items.
    pub open: u32,
    /// Open items not waiting for the partner (未対応).
    pub pending: u32,
    /// Of `pending`: past their due time.
    pub overdue: u32,
    /// Of `pending`: nobody owns them.
    pub unowned: u32,
    /// Open items due from now until the next opening (not yet overdue).
    pub due_before_next_opening: u32,
    pub urgent_today: u32,
    pub urgent_untaken: u32,
    pub waiting_partner: u32,
    pub after_hours: u32,
}

/// The shift handover (申し送り) at `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handover {
    pub now: DateTime<Utc>,
    /// The last closing time at or before `now` ("since the last close").
    pub last_close: Option<DateTime<Utc>>,
    /// The next opening after this shift: after today's close while the clinic has not closed
    /// yet today, else the next opening after `now`.
    pub next_opening: DateTime<Utc>,
    pub counts: HandoverCounts,
    /// Open items by owner, owners by name, nobody last.
    pub by_owner: Vec<OwnerGroup>,
    pub overdue: Vec<HandoverItem>,
    pub due_before_next_opening: Vec<HandoverItem>,
    pub urgent_today: Vec<TakenItem>,
    pub waiting_partner: Vec<WaitingItem>,
    /// Arrived while closed since the last close (open or not).
    pub after_hours: Vec<HandoverItem>,
    /// The counts-only line for the evening notification.
    pub summary: String,
}

/// The last closing time at or before `t` (searching back four weeks).
pub fn last_close(cal: &ClinicCalendar, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut date = jst_date(t);
    for _ in 0..28 {
        if let Some(c) = cal.closing_time_on(date).filter(|c| *c <= t) {
            return Some(c);
        }
        date -= Duration::days(1);
    }
    None
}

/// The handover over `rows` (open items plus those received since the last close).
pub fn handover(cal: &ClinicCalendar, rows: &[ReportRow], now: DateTime<Utc>) -> Handover {
    let last_close = last_close(cal, now);
    let next_opening = match cal.closing_time_on(jst_date(now)).filter(|c| now < *c) {
        Some(close) => cal.next_opening(close),
        None => cal.next_opening(now),
    };
    let today = jst_date(now);
    let open: Vec<&ReportRow> = rows.iter().filter(|r| r.status.is_open()).collect();

    let mut groups: BTreeMap<(bool, String), Vec<HandoverItem>> = BTreeMap::new();
    for r in &open {
        let key = (r.owner.is_none(), r.owner.clone().unwrap_or_default());
        groups
            .entry(key)
            .or_default()
            .push(HandoverItem::of(r, now));
    }
    let by_owner = groups
        .into_iter()
        .map(|((nobody, name), items)| OwnerGroup {
            owner: (!nobody).then_some(name),
            items,
        })
        .collect();
    let overdue: Vec<HandoverItem> = open
        .iter()
        .filter(|r| r.due_at.is_some_and(|d| d < now))
        .map(|r| HandoverItem::of(r, now))
        .collect();
    let due_before_next_opening: Vec<HandoverItem> = open
        .iter()
        .filter(|r| r.due_at.is_some_and(|d| d >= now && d < next_opening))
        .map(|r| HandoverItem::of(r, now))
        .collect();
    let urgent_today: Vec<TakenItem> = rows
        .iter()
        .filter(|r| r.urgency == Urgency::Urgent && jst_date(r.received_at) == today)
        .map(|r| TakenItem {
            item: HandoverItem::of(r, now),
            taken_by: r.taken_by.clone(),
            taken_at: r.taken_at,
            minutes_to_take: r
                .taken_at
                .map(|t| cal.business_minutes_between(r.received_at, t)),
        })
        .collect();
    let waiting_partner: Vec<WaitingItem> = open
        .iter()
        .filter(|r| r.status == Status::WaitingPartner)
        .map(|r| WaitingItem {
            item: HandoverItem::of(r, now),
            since: r.waiting_since,
        })
        .collect();
    let after_hours: Vec<HandoverItem> = rows
        .iter()
        .filter(|r| {
            last_close.is_some_and(|c| r.received_at >= c)
                && r.received_at <= now
                && !cal.is_open_at(r.received_at)
        })
        .map(|r| HandoverItem::of(r, now))
        .collect();
    let pending: Vec<&&ReportRow> = open
        .iter()
        .filter(|r| r.status != Status::WaitingPartner)
        .collect();
    let counts = HandoverCounts {
        open: open.len() as u32,
        pending: pending.len() as u32,
        overdue: pending
            .iter()
            .filter(|r| r.due_at.is_some_and(|d| d < now))
            .count() as u32,
        unowned: pending.iter().filter(|r| r.owner.is_none()).count() as u32,
        due_before_next_opening: due_before_next_opening.len() as u32,
        urgent_today: urgent_today.len() as u32,
        urgent_untaken: urgent_today
            .iter()
            .filter(|t| t.item.status == Status::New)
            .count() as u32,
        waiting_partner: waiting_partner.len() as u32,
        after_hours: after_hours.len() as u32,
    };
    Handover {
        now,
        last_close,
        next_opening,
        summary: handover_summary_text(&counts),
        counts,
        by_owner,
        overdue,
        due_before_next_opening,
        urgent_today,
        waiting_partner,
        after_hours,
    }
}

/// The evening summary notification: counts only, no subjects, partners or names.
/// 「申し送り: 未対応 5件（期限超過 2・担当なし 1）・先方待ち 3件」
pub fn handover_summary_text(c: &HandoverCounts) -> String {
    let mut s = format!(
        "申し送り: 未対応 {}件（期限超過 {}・担当なし {}）・先方待ち {}件",
        c.pending, c.overdue, c.unowned, c.waiting_partner
    );
    if c.urgent_untaken > 0 {
        s.push_str(&format!("・至急未確認 {}件", c.urgent_untaken));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Operations report

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

/// Median and p90 of a list of business-minute durations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// How many values.
    pub n: u32,
    pub median_min: Option<f64>,
    pub p90_min: Option<f64>,
    pub max_min: Option<i64>,
}

impl Spread {
    /// Over `values` (any order).
    pub fn of(mut values: Vec<i64>) -> Spread {
        values.sort_unstable();
        let n = values.len();
        Spread {
            n: n as u32,
            median_min: median(&values),
            p90_min: percentile(&values, 90),
            max_min: values.last().copied(),
        }
    }
}

/// The median of sorted values (the mean of the two middle ones for an even count).
pub fn median(sorted: &[i64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2] as f64),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0),
    }
}

/// The nearest-rank percentile of sorted values: the ⌈p/100·n⌉-th smallest.
pub fn percentile(sorted: &[i64], p: u32) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p as usize * n).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1] as f64)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_p90() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7.0));
        assert_eq!(median(&[1, 2, 4, 9]), Some(3.0));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 90), Some(9.0));
        assert_eq!(percentile(&(1..=11).collect::<Vec<_>>(), 90), Some(10.0));
        assert_eq!(percentile(&[5], 90), Some(5.0));
        assert_eq!(percentile(&[], 90), None);
        let s = Spread::of(vec![30, 10, 20]);
        assert_eq!(
            (s.n, s.median_min, s.p90_min, s.max_min),
            (3, Some(20.0), Some(30.0), Some(30))
        );
    }

    #[test]
    fn last_full_week_is_monday_to_sunday_before_this_week() {
        let at = |s: &str| crate::clock::parse_rfc3339(s).unwrap_or_default();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        // Monday 00:30 JST is still Sunday in UTC: the week is taken in JST
        assert_eq!(
            last_full_week(at("2026-12-07T00:30:00+09:00")),
            (d("2026-11-30"), d("2026-12-06"))
        );
        assert_eq!(
            last_full_week(at("2026-12-06T23:59:00+09:00")),
            (d("2026-11-23"), d("2026-11-29"))
        );
    }
}
