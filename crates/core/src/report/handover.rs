//! The shift handover (申し送り) at a moment: open items by owner, overdue, due before the
//! next opening, today's urgent items and who took them, waiting for the partner, after hours;
//! and the counts-only summary line.

use crate::calendar::{jst_date, ClinicCalendar};
use crate::codes::{Category, Status, Urgency};
use crate::store::report::ReportRow;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

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

/// The day whose evening handover is due at `now`: today's closing time has passed (within the
/// three hours after it — a PC switched on late at night gets no "evening" summary) and it was
/// not sent yet for today (`last_sent`, a JST date). `None` on closed days.
pub fn evening_summary_due(
    cal: &ClinicCalendar,
    now: DateTime<Utc>,
    last_sent: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let today = jst_date(now);
    let close = cal.closing_time_on(today)?;
    (now >= close && now < close + Duration::hours(3) && last_sent != Some(today)).then_some(today)
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

#[cfg(test)]
mod evening_tests {
    use super::*;
    use crate::clock::parse_rfc3339;

    #[test]
    fn the_evening_summary_is_due_once_after_closing_on_business_days() {
        let cal = ClinicCalendar::default(); // 09:00–17:00, Mon–Fri, national holidays
        let t = |s: &str| parse_rfc3339(s).unwrap_or_default();
        let tue = NaiveDate::from_ymd_opt(2026, 12, 1);
        assert_eq!(
            evening_summary_due(&cal, t("2026-12-01T16:59:00+09:00"), None),
            None
        );
        assert_eq!(
            evening_summary_due(&cal, t("2026-12-01T17:00:00+09:00"), None),
            tue
        );
        assert_eq!(
            evening_summary_due(&cal, t("2026-12-01T17:05:00+09:00"), tue),
            None,
            "once a day"
        );
        assert_eq!(
            evening_summary_due(&cal, t("2026-12-01T20:30:00+09:00"), None),
            None,
            "not late at night"
        );
        assert_eq!(
            evening_summary_due(&cal, t("2026-12-05T17:10:00+09:00"), None),
            None,
            "Saturday: closed"
        );
    }
}
