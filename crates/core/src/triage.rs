//! Triage: response targets per category and urgency, due times on the clinic calendar, the one
//! function that orders the queue, and the Japanese due labels shown next to each item.
//!
//! Default targets (editable in settings, per-category overrides win):
//! * `urgent` — 30 minutes, wall clock, at any hour.
//! * `today` — end of today's clinic hours; received after closing or on a closed day → end of
//!   the next business day's hours (本日中 = "by the end of the business day it arrived in").
//! * `normal` — one business day counted in clinic hours only (Fri 16:30 → Mon 16:30; received
//!   on Saturday → Monday's closing). Never lands on a weekend, holiday or year-end day.
//! * `fyi` — no reply needed (`None`).
//! * override: `bed_availability` + `normal` → 4 business hours.

use crate::calendar::ClinicCalendar;
use crate::clock::jst;
use crate::codes::{Category, Urgency};
use crate::problem::Problem;
use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// One response target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// No reply needed.
    None,
    /// Wall-clock minutes, at any hour.
    Minutes(i64),
    /// Minutes counted only while the clinic is open.
    BusinessMinutes(i64),
    /// Business days (a business day = the calendar's regular open minutes), counted in clinic
    /// hours only.
    BusinessDays(i64),
    /// End of the business day the item arrived in (next business day if after closing).
    EndOfBusinessDay,
}

impl Target {
    /// The due time for an item received at `t`.
    pub fn apply(self, cal: &ClinicCalendar, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Target::None => None,
            Target::Minutes(m) => Some(t + Duration::minutes(m.max(0))),
            Target::BusinessMinutes(m) => Some(cal.add_business_minutes(t, m)),
            Target::BusinessDays(n) => {
                Some(cal.add_business_minutes(t, n.max(0) * cal.business_day_minutes()))
            }
            Target::EndOfBusinessDay => Some(cal.end_of_business_day(t)),
        }
    }
}

/// A per-category override; `urgency: None` applies to every urgency of that category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetOverride {
    pub category: Category,
    #[serde(default)]
    pub urgency: Option<Urgency>,
    pub target: Target,
}

/// Response targets (editable in settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponseTargets {
    pub urgent: Target,
    pub today: Target,
    pub normal: Target,
    pub fyi: Target,
    /// First matching override wins (exact urgency match before category-wide).
    pub overrides: Vec<TargetOverride>,
}

impl Default for ResponseTargets {
    fn default() -> Self {
        ResponseTargets {
            urgent: Target::Minutes(30),
            today: Target::EndOfBusinessDay,
            normal: Target::BusinessDays(1),
            fyi: Target::None,
            overrides: vec![TargetOverride {
                category: Category::BedAvailability,
                urgency: Some(Urgency::Normal),
                target: Target::BusinessMinutes(240),
            }],
        }
    }
}

impl ResponseTargets {
    /// The target that applies to `category` at `urgency`.
    pub fn target_for(&self, category: Category, urgency: Urgency) -> Target {
        let exact = self
            .overrides
            .iter()
            .find(|o| o.category == category && o.urgency == Some(urgency));
        let wide = || {
            self.overrides
                .iter()
                .find(|o| o.category == category && o.urgency.is_none())
        };
        if let Some(o) = exact.or_else(wide) {
            return o.target;
        }
        match urgency {
            Urgency::Urgent => self.urgent,
            Urgency::Today => self.today,
            Urgency::Normal => self.normal,
            Urgency::Fyi => self.fyi,
        }
    }
}

/// Largest amounts a target may name: a week of minutes, a month of business days.
pub const MAX_TARGET_MINUTES: i64 = 7 * 24 * 60;
pub const MAX_TARGET_BUSINESS_DAYS: i64 = 30;

impl Target {
    /// Whether the amount is in range: `Some((n, max, unit))` when it is not.
    fn out_of_range(self) -> Option<(i64, i64, &'static str)> {
        let (n, max, unit) = match self {
            Target::Minutes(n) | Target::BusinessMinutes(n) => (n, MAX_TARGET_MINUTES, "minutes"),
            Target::BusinessDays(n) => (n, MAX_TARGET_BUSINESS_DAYS, "business_days"),
            Target::None | Target::EndOfBusinessDay => return None,
        };
        (!(1..=max).contains(&n)).then_some((n, max, unit))
    }
}

impl ResponseTargets {
    /// The first problem with the targets: an amount out of range, or two overrides for the
    /// same category and urgency (only the first would ever apply).
    pub fn validate(&self) -> Result<(), Problem> {
        for (u, t) in [
            ("urgent", self.urgent),
            ("today", self.today),
            ("normal", self.normal),
            ("fyi", self.fyi),
        ] {
            if let Some((n, max, unit)) = t.out_of_range() {
                return Err(Problem::new("target")
                    .arg("what", u)
                    .arg("n", n)
                    .arg("max", max)
                    .arg("unit", unit));
            }
        }
        for (i, o) in self.overrides.iter().enumerate() {
            if let Some((n, max, unit)) = o.target.out_of_range() {
                return Err(Problem::new("override_target")
                    .arg("n", i + 1)
                    .arg("value", n)
                    .arg("max", max)
                    .arg("unit", unit));
            }
            if let Some(first) = self.overrides[..i]
                .iter()
                .position(|p| p.category == o.category && p.urgency == o.urgency)
            {
                return Err(Problem::new("override_twice")
                    .arg("n", i + 1)
                    .arg("m", first + 1));
            }
        }
        Ok(())
    }
}

/// When an answer is due for an item received at `received_at`; `None` = no reply needed.
pub fn due_at(
    cal: &ClinicCalendar,
    targets: &ResponseTargets,
    category: Category,
    urgency: Urgency,
    received_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    targets
        .target_for(category, urgency)
        .apply(cal, received_at)
}

/// What the queue order needs to know about one item.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueKey {
    pub id: i64,
    /// Still open (not resolved or declined).
    pub open: bool,
    pub urgency: Urgency,
    pub due_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub snoozed_until: Option<DateTime<Utc>>,
}

impl QueueKey {
    /// An open urgent item: these lead the queue whatever else is late.
    pub fn is_open_urgent(&self) -> bool {
        self.open && self.urgency == Urgency::Urgent
    }
    /// Past its due time at `now`.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.due_at.is_some_and(|d| d < now)
    }
    /// Snoozed at `now`.
    pub fn is_snoozed(&self, now: DateTime<Utc>) -> bool {
        self.snoozed_until.is_some_and(|s| s > now)
    }
}

/// Triage order: snoozed items last; open urgent items first (a new 至急 goes above routine
/// items that are already late — patient safety before punctuality); then overdue items, then
/// urgent → today → normal → fyi, then earliest due (no due time last), then arrival, then id.
pub fn queue_order(a: &QueueKey, b: &QueueKey, now: DateTime<Utc>) -> Ordering {
    // `None` due sorts after any time.
    let due = |k: &QueueKey| (k.due_at.is_none(), k.due_at);
    a.is_snoozed(now)
        .cmp(&b.is_snoozed(now))
        .then(b.is_open_urgent().cmp(&a.is_open_urgent()))
        .then(b.is_overdue(now).cmp(&a.is_overdue(now)))
        .then(a.urgency.cmp(&b.urgency))
        .then(due(a).cmp(&due(b)))
        .then(a.received_at.cmp(&b.received_at))
        .then(a.id.cmp(&b.id))
}

/// Sorts `keys` into triage order at `now`.
pub fn sort_queue(keys: &mut [QueueKey], now: DateTime<Utc>) {
    keys.sort_by(|a, b| queue_order(a, b, now));
}

/// Whole minutes until `due` (rounded up while ahead, negative when overdue); `None` without a
/// due time.
pub fn minutes_until_due(due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<i64> {
    let secs = (due? - now).num_seconds();
    Some(if secs >= 0 {
        (secs + 59) / 60
    } else {
        -((-secs + 59) / 60)
    })
}

/// Due within the next `within_minutes` minutes and not yet overdue.
pub fn is_due_soon(due: Option<DateTime<Utc>>, now: DateTime<Utc>, within_minutes: i64) -> bool {
    due.is_some_and(|d| d >= now && d - now <= Duration::minutes(within_minutes))
}

fn span_ja(mins: i64) -> String {
    if mins >= 24 * 60 {
        format!("{}日", mins / (24 * 60))
    } else if mins >= 60 {
        match mins % 60 {
            0 => format!("{}時間", mins / 60),
            m => format!("{}時間{}分", mins / 60, m),
        }
    } else {
        format!("{mins}分")
    }
}

const WEEKDAYS_JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

/// A short Japanese label for a due time: "あと25分", "期限超過 10分", "今日 17:00まで",
/// "明日 9:00まで", "12/7(月) 9:00まで", "期限なし".
pub fn due_label_ja(due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(d) = due else {
        return "期限なし".into();
    };
    let Some(mins) = minutes_until_due(due, now) else {
        return "期限なし".into();
    };
    if d < now {
        return format!("期限超過 {}", span_ja(-mins));
    }
    if mins < 60 {
        return format!("あと{mins}分");
    }
    let (dl, nl) = (d.with_timezone(&jst()), now.with_timezone(&jst()));
    let hm = format!("{}:{:02}", dl.format("%-H"), dl.format("%M"));
    let days = (dl.date_naive() - nl.date_naive()).num_days();
    match days {
        0 => format!("今日 {hm}まで"),
        1 => format!("明日 {hm}まで"),
        _ => format!(
            "{}/{}({}) {hm}まで",
            dl.month(),
            dl.day(),
            WEEKDAYS_JA[dl.weekday().num_days_from_monday() as usize]
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;

    fn t(s: &str) -> DateTime<Utc> {
        parse_rfc3339(s).unwrap()
    }
    fn j(t: Option<DateTime<Utc>>) -> String {
        t.unwrap().with_timezone(&jst()).to_rfc3339()
    }
    fn due(cat: Category, u: Urgency, at: &str) -> Option<DateTime<Utc>> {
        due_at(
            &ClinicCalendar::default(),
            &ResponseTargets::default(),
            cat,
            u,
            t(at),
        )
    }

    #[test]
    fn urgent_is_30_minutes_at_any_hour() {
        assert_eq!(
            j(due(
                Category::BedAvailability,
                Urgency::Urgent,
                "2026-12-05T23:50:00+09:00"
            )),
            "2026-12-06T00:20:00+09:00"
        );
    }

    #[test]
    fn today_ends_with_clinic_hours() {
        let c = Category::Discharge;
        assert_eq!(
            j(due(c, Urgency::Today, "2026-12-01T10:00:00+09:00")),
            "2026-12-01T17:00:00+09:00"
        );
        // After closing on Friday → Monday's closing.
        assert_eq!(
            j(due(c, Urgency::Today, "2026-12-04T17:10:00+09:00")),
            "2026-12-07T17:00:00+09:00"
        );
        // Early morning → today's closing.
        assert_eq!(
            j(due(c, Urgency::Today, "2026-12-01T06:00:00+09:00")),
            "2026-12-01T17:00:00+09:00"
        );
    }

    #[test]
    fn normal_friday_afternoon_is_due_next_business_day() {
        let d = due(
            Category::Discharge,
            Urgency::Normal,
            "2026-12-04T16:30:00+09:00",
        );
        assert_eq!(j(d), "2026-12-07T16:30:00+09:00");
        // Before the 2026 Silver Week: Fri 9/18 16:30 → Thu 9/24 16:30.
        let d = due(
            Category::Discharge,
            Urgency::Normal,
            "2026-09-18T16:30:00+09:00",
        );
        assert_eq!(j(d), "2026-09-24T16:30:00+09:00");
        // Before the year-end closure: Mon 12/28 10:00 → Mon 1/4 10:00.
        let d = due(
            Category::Discharge,
            Urgency::Normal,
            "2026-12-28T10:00:00+09:00",
        );
        assert_eq!(j(d), "2027-01-04T10:00:00+09:00");
        // Received Saturday → end of Monday.
        let d = due(
            Category::Discharge,
            Urgency::Normal,
            "2026-12-05T10:00:00+09:00",
        );
        assert_eq!(j(d), "2026-12-07T17:00:00+09:00");
    }

    #[test]
    fn normal_due_never_on_closed_day() {
        let cal = ClinicCalendar::default();
        let tg = ResponseTargets::default();
        let mut at = t("2026-04-24T08:00:00+09:00");
        for _ in 0..(24 * 20) {
            let d = due_at(&cal, &tg, Category::Other, Urgency::Normal, at).unwrap();
            let date = crate::calendar::jst_date(d);
            assert!(cal.is_business_day(date), "{at} → {d}");
            at += Duration::minutes(37);
        }
    }

    #[test]
    fn overrides_and_fyi() {
        assert_eq!(
            j(due(
                Category::BedAvailability,
                Urgency::Normal,
                "2026-12-01T15:00:00+09:00"
            )),
            "2026-12-02T11:00:00+09:00"
        );
        assert_eq!(
            due(Category::Info, Urgency::Fyi, "2026-12-01T15:00:00+09:00"),
            None
        );
        let tg: ResponseTargets = serde_json::from_str(
            r#"{"overrides":[{"category":"alert","target":{"minutes":60}}],"fyi":"end_of_business_day"}"#,
        )
        .unwrap();
        assert_eq!(tg.urgent, Target::Minutes(30));
        assert_eq!(
            tg.target_for(Category::Alert, Urgency::Normal),
            Target::Minutes(60)
        );
        assert_eq!(
            tg.target_for(Category::Info, Urgency::Fyi),
            Target::EndOfBusinessDay
        );
        assert_eq!(
            tg.target_for(Category::BedAvailability, Urgency::Normal),
            Target::BusinessDays(1)
        );
    }

    fn key(id: i64, u: Urgency, due: Option<&str>, rec: &str, snooze: Option<&str>) -> QueueKey {
        QueueKey {
            id,
            open: true,
            urgency: u,
            due_at: due.map(t),
            received_at: t(rec),
            snoozed_until: snooze.map(t),
        }
    }

    #[test]
    fn queue_order_rules() {
        let now = t("2026-12-01T12:00:00+09:00");
        let mut keys = vec![
            key(1, Urgency::Fyi, None, "2026-12-01T08:00:00+09:00", None),
            key(
                2,
                Urgency::Normal,
                Some("2026-12-02T10:00:00+09:00"),
                "2026-12-01T10:00:00+09:00",
                None,
            ),
            key(
                3,
                Urgency::Urgent,
                Some("2026-12-01T12:20:00+09:00"),
                "2026-12-01T11:50:00+09:00",
                None,
            ),
            key(
                4,
                Urgency::Normal,
                Some("2026-12-01T11:00:00+09:00"),
                "2026-12-01T08:00:00+09:00",
                None,
            ), // overdue
            key(
                5,
                Urgency::Urgent,
                Some("2026-12-01T12:10:00+09:00"),
                "2026-12-01T11:40:00+09:00",
                Some("2026-12-01T13:00:00+09:00"),
            ), // snoozed
            key(
                6,
                Urgency::Today,
                Some("2026-12-01T17:00:00+09:00"),
                "2026-12-01T09:00:00+09:00",
                None,
            ),
            key(
                7,
                Urgency::Normal,
                Some("2026-12-02T10:00:00+09:00"),
                "2026-12-01T10:00:00+09:00",
                None,
            ),
            key(
                8,
                Urgency::Normal,
                Some("2026-12-02T09:00:00+09:00"),
                "2026-12-01T11:00:00+09:00",
                Some("2026-12-01T11:00:00+09:00"),
            ), // snooze over
            key(
                9,
                Urgency::Urgent,
                Some("2026-12-01T12:25:00+09:00"),
                "2026-12-01T11:55:00+09:00",
                None,
            ),
        ];
        sort_queue(&mut keys, now);
        let ids: Vec<i64> = keys.iter().map(|k| k.id).collect();
        // urgent 3 and 9 lead, above the overdue normal item 4
        assert_eq!(ids, [3, 9, 4, 6, 8, 2, 7, 1, 5]);
    }

    #[test]
    fn labels() {
        let now = t("2026-12-01T16:35:00+09:00");
        assert_eq!(
            due_label_ja(Some(t("2026-12-01T17:00:00+09:00")), now),
            "あと25分"
        );
        assert_eq!(
            due_label_ja(Some(t("2026-12-01T16:25:00+09:00")), now),
            "期限超過 10分"
        );
        assert_eq!(
            due_label_ja(Some(t("2026-12-01T14:00:00+09:00")), now),
            "期限超過 2時間35分"
        );
        assert_eq!(
            due_label_ja(Some(t("2026-12-02T09:00:00+09:00")), now),
            "明日 9:00まで"
        );
        assert_eq!(
            due_label_ja(Some(t("2026-12-01T18:00:00+09:00")), now),
            "今日 18:00まで"
        );
        assert_eq!(
            due_label_ja(Some(t("2026-12-07T09:00:00+09:00")), now),
            "12/7(月) 9:00まで"
        );
        assert_eq!(due_label_ja(None, now), "期限なし");
        assert_eq!(
            minutes_until_due(Some(t("2026-12-01T16:44:01+09:00")), now),
            Some(10)
        );
        assert_eq!(
            minutes_until_due(Some(t("2026-12-01T16:34:00+09:00")), now),
            Some(-1)
        );
        assert!(is_due_soon(Some(t("2026-12-01T16:45:00+09:00")), now, 10));
        assert!(!is_due_soon(Some(t("2026-12-01T16:46:00+09:00")), now, 10));
        assert!(!is_due_soon(Some(t("2026-12-01T16:30:00+09:00")), now, 10));
    }

    #[test]
    fn targets_out_of_range_and_repeated_overrides_are_refused_with_what_to_do() {
        assert_eq!(ResponseTargets::default().validate(), Ok(()));
        let mut t = ResponseTargets {
            urgent: Target::Minutes(0),
            ..Default::default()
        };
        let e = t.validate().unwrap_err().to_string();
        assert!(e.contains("'urgent'") && e.contains("enter 1–10080"), "{e}");
        t.urgent = Target::Minutes(30);
        t.normal = Target::BusinessDays(31);
        assert!(t
            .validate()
            .unwrap_err()
            .to_string()
            .contains("1–30 business days"));
        t.normal = Target::BusinessDays(2);
        t.overrides.push(TargetOverride {
            category: Category::Discharge,
            urgency: None,
            target: Target::BusinessMinutes(120),
        });
        assert_eq!(t.validate(), Ok(()));
        t.overrides.push(TargetOverride {
            category: Category::Discharge,
            urgency: None,
            target: Target::EndOfBusinessDay,
        });
        let e = t.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "Override 3 repeats override 2 (same category and urgency): remove one of them."
        );
        assert_eq!(
            e.text("ja"),
            "分類ごとの例外 3 行目は 2 行目と同じ分類・緊急度です。どちらかを削除してください。"
        );
        // the same category at one urgency is a different override
        t.overrides[2].urgency = Some(Urgency::Today);
        assert_eq!(t.validate(), Ok(()));
        t.overrides[1].target = Target::BusinessMinutes(-5);
        assert!(t
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("Override 2: -5 is out of range"));
    }
}
