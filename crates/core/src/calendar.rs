//! The clinic's calendar: opening hours (default Mon–Fri 9:00–17:00 Asia/Tokyo, optional lunch
//! break), Japanese national holidays ([`holidays`]), year-end closure (default 12/29–1/3), extra
//! closed days and extra open days set by the clinic.
//!
//! Everything works in JST (`crate::clock::jst()`, fixed +09:00) and takes/returns `DateTime<Utc>`.
//! Open intervals are half-open: `[open, close)` — at 17:00 the clinic is closed.
//! Badly written times in the settings ("9時") fall back to the defaults; [`ClinicCalendar::validate`]
//! reports them so the settings screen can refuse them.

pub mod holidays;

use crate::clock::jst;
use crate::problem::Problem;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// How far ahead the calendar looks for the next open day before giving up (a calendar with
/// no open day at all).
const SEARCH_DAYS: i64 = 400;

/// A yearly closed period given as "MM-DD" days, may wrap over new year (12-29 → 01-03).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthDayRange {
    pub from: String,
    pub to: String,
}

/// Clinic opening hours and closed days. Serialisable: it lives in the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClinicCalendar {
    /// "HH:MM" in Asia/Tokyo.
    pub open: String,
    pub close: String,
    /// Days of the week the clinic opens ("Mon", "tue", "Wednesday"… in JSON).
    pub weekdays: Vec<Weekday>,
    /// Optional lunch break "HH:MM" (both must be set).
    pub lunch_start: Option<String>,
    pub lunch_end: Option<String>,
    /// Closed on Japanese national holidays (incl. 振替休日, 国民の休日).
    pub national_holidays: bool,
    /// Year-end/new-year closure; `None` = none.
    pub year_end: Option<MonthDayRange>,
    /// Extra closed days (clinic holidays, 院内研修…).
    pub closed_days: Vec<NaiveDate>,
    /// Extra open days that override every closure (a special Saturday).
    pub open_days: Vec<NaiveDate>,
}

impl Default for ClinicCalendar {
    fn default() -> Self {
        ClinicCalendar {
            open: "09:00".into(),
            close: "17:00".into(),
            weekdays: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            lunch_start: None,
            lunch_end: None,
            national_holidays: true,
            year_end: Some(MonthDayRange {
                from: "12-29".into(),
                to: "01-03".into(),
            }),
            closed_days: Vec::new(),
            open_days: Vec::new(),
        }
    }
}

/// "HH:MM" (one or two digits each) → the time. By hand, not `parse_from_str`: the calendar
/// parses its settings on every question, and a format-string parse was ~15 % of the
/// notification policy's time (docs/benchmarks.md).
fn parse_hm(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    let num = |t: &str| {
        (!t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u32>().ok())
            .flatten()
    };
    NaiveTime::from_hms_opt(num(h)?, num(m)?, 0)
}

fn parse_md(s: &str) -> Option<(u32, u32)> {
    let (m, d) = s.trim().split_once('-')?;
    let (m, d) = (m.parse().ok()?, d.parse().ok()?);
    NaiveDate::from_ymd_opt(2000, m, d).map(|_| (m, d))
}

/// A date and time in JST as UTC.
fn at_jst(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match jst().from_local_datetime(&naive).single() {
        Some(t) => t.with_timezone(&Utc),
        // A fixed offset always maps uniquely; keep a total function anyway.
        None => Utc.from_utc_datetime(&(naive - Duration::hours(9))),
    }
}

/// The JST calendar date of `t`.
pub fn jst_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&jst()).date_naive()
}

impl ClinicCalendar {
    /// The first problem with the calendar settings ([`Problem`]: in the clinic's language).
    pub fn validate(&self) -> Result<(), Problem> {
        let time = |what: &str, v: &str| Problem::new("time").arg("what", what).arg("value", v);
        let o = parse_hm(&self.open).ok_or_else(|| time("open", &self.open))?;
        let c = parse_hm(&self.close).ok_or_else(|| time("close", &self.close))?;
        if o >= c {
            return Err(Problem::new("hours")
                .arg("open", &self.open)
                .arg("close", &self.close));
        }
        match (&self.lunch_start, &self.lunch_end) {
            (None, None) => {}
            (Some(s), Some(e)) => match (parse_hm(s), parse_hm(e)) {
                (Some(a), Some(b)) if a < b => {}
                _ => return Err(Problem::new("lunch").arg("start", s).arg("end", e)),
            },
            _ => return Err(Problem::new("lunch_half")),
        }
        if let Some(r) = &self.year_end {
            if parse_md(&r.from).is_none() || parse_md(&r.to).is_none() {
                return Err(Problem::new("year_end")
                    .arg("from", &r.from)
                    .arg("to", &r.to));
            }
        }
        if self.weekdays.is_empty() && self.open_days.is_empty() {
            return Err(Problem::new("weekdays"));
        }
        Ok(())
    }

    fn open_close(&self) -> (NaiveTime, NaiveTime) {
        let d_open = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
        let d_close = NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN);
        match (parse_hm(&self.open), parse_hm(&self.close)) {
            (Some(o), Some(c)) if o < c => (o, c),
            _ => (d_open, d_close),
        }
    }

    /// Opening intervals of a business day as JST times (one, or two around lunch).
    fn intervals(&self) -> Vec<(NaiveTime, NaiveTime)> {
        let (o, c) = self.open_close();
        let lunch = match (&self.lunch_start, &self.lunch_end) {
            (Some(s), Some(e)) => parse_hm(s).zip(parse_hm(e)),
            _ => None,
        };
        match lunch {
            Some((ls, le)) if o < ls && ls < le && le < c => vec![(o, ls), (le, c)],
            _ => vec![(o, c)],
        }
    }

    /// Whether `date` falls in the year-end closure.
    pub fn is_year_end(&self, date: NaiveDate) -> bool {
        let Some(r) = &self.year_end else {
            return false;
        };
        let (Some(from), Some(to)) = (parse_md(&r.from), parse_md(&r.to)) else {
            return false;
        };
        let md = (date.month(), date.day());
        if from <= to {
            from <= md && md <= to
        } else {
            md >= from || md <= to
        }
    }

    /// Name of the national holiday on `date` (for the UI), e.g. "振替休日".
    pub fn holiday_name(&self, date: NaiveDate) -> Option<&'static str> {
        holidays::holiday_name(date)
    }

    /// Why the clinic is closed all day on `date`, in Japanese; `None` on a business day.
    pub fn closed_reason_ja(&self, date: NaiveDate) -> Option<String> {
        if self.open_days.contains(&date) {
            return None;
        }
        if self.closed_days.contains(&date) {
            return Some("臨時休診".into());
        }
        if self.is_year_end(date) {
            return Some("年末年始休診".into());
        }
        if self.national_holidays {
            if let Some(n) = holidays::holiday_name(date) {
                return Some(n.into());
            }
        }
        if !self.weekdays.contains(&date.weekday()) {
            return Some("休診日".into());
        }
        None
    }

    /// Whether the clinic opens at all on `date` (JST).
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        self.closed_reason_ja(date).is_none()
    }

    /// The first business day strictly after `date`.
    pub fn next_business_day(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        for _ in 0..SEARCH_DAYS {
            d += Duration::days(1);
            if self.is_business_day(d) {
                return d;
            }
        }
        date + Duration::days(1)
    }

    /// Open intervals of `date` as UTC instants (empty on a closed day).
    pub fn open_intervals_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_business_day(date) {
            return Vec::new();
        }
        self.intervals()
            .into_iter()
            .map(|(s, e)| (at_jst(date, s), at_jst(date, e)))
            .collect()
    }

    /// Opening time on `date`, `None` on a closed day.
    pub fn opening_time_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.open_intervals_on(date).first().map(|i| i.0)
    }

    /// Closing time on `date`, `None` on a closed day.
    pub fn closing_time_on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.open_intervals_on(date).last().map(|i| i.1)
    }

    /// Whether the clinic is open at `t`.
    pub fn is_open_at(&self, t: DateTime<Utc>) -> bool {
        self.open_intervals_on(jst_date(t))
            .iter()
            .any(|&(s, e)| s <= t && t < e)
    }

    /// The end of the open interval containing `t` (closing time, or lunch start), if open.
    pub fn interval_end_at(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.open_intervals_on(jst_date(t))
            .into_iter()
            .find(|&(s, e)| s <= t && t < e)
            .map(|i| i.1)
    }

    /// The first moment at or after `t` when the clinic is open. (If the calendar never opens,
    /// `t` itself.)
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let mut date = jst_date(t);
        for _ in 0..SEARCH_DAYS {
            for (s, e) in self.open_intervals_on(date) {
                if t < e {
                    return s.max(t);
                }
            }
            date += Duration::days(1);
        }
        t
    }

    /// Close of the business day `t` belongs to: today's closing if `t` is before today's
    /// closing on a business day, else the closing of the next business day.
    pub fn end_of_business_day(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let date = jst_date(t);
        if let Some(c) = self.closing_time_on(date) {
            if t < c {
                return c;
            }
        }
        let next = self.next_business_day(date);
        self.closing_time_on(next).unwrap_or(t)
    }

    /// Open minutes of a regular business day (480 for 9:00–17:00 without lunch).
    pub fn business_day_minutes(&self) -> i64 {
        self.intervals()
            .iter()
            .map(|(s, e)| (*e - *s).num_minutes())
            .sum()
    }

    /// `t` plus `mins` minutes counted only while the clinic is open. Starting while closed
    /// counts from the next opening. A result that lands exactly at a closing time stays there
    /// (16:30 + 30 min = 17:00 the same day).
    pub fn add_business_minutes(&self, t: DateTime<Utc>, mins: i64) -> DateTime<Utc> {
        let mut left = Duration::minutes(mins.max(0));
        let mut cur = self.next_opening(t);
        if left.is_zero() {
            return cur;
        }
        let mut date = jst_date(cur);
        for _ in 0..SEARCH_DAYS {
            for (s, e) in self.open_intervals_on(date) {
                if e <= cur {
                    continue;
                }
                let from = s.max(cur);
                let avail = e - from;
                if left <= avail {
                    return from + left;
                }
                left -= avail;
                cur = e;
            }
            date += Duration::days(1);
        }
        cur
    }

    /// Open minutes between `from` and `to` (0 if `to <= from`).
    pub fn business_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = Duration::zero();
        let mut date = jst_date(from);
        let last = jst_date(to);
        while date <= last {
            for (s, e) in self.open_intervals_on(date) {
                let (a, b) = (s.max(from), e.min(to));
                if a < b {
                    total += b - a;
                }
            }
            date += Duration::days(1);
        }
        total.num_minutes()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn hours_parse_as_hh_mm_and_nothing_else() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(parse_hm("09:00"), t(9, 0));
        assert_eq!(parse_hm(" 9:30 "), t(9, 30));
        assert_eq!(parse_hm("23:59"), t(23, 59));
        for bad in [
            "24:00",
            "12:60",
            "+9:00",
            "09:00:00",
            "0900",
            "",
            ":",
            "9:",
            "ab:cd",
            "１０:００",
        ] {
            assert_eq!(parse_hm(bad), None, "{bad:?}");
        }
    }

    use super::*;
    use crate::clock::parse_rfc3339;

    fn t(s: &str) -> DateTime<Utc> {
        parse_rfc3339(s).unwrap()
    }
    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }
    fn j(t: DateTime<Utc>) -> String {
        t.with_timezone(&jst()).to_rfc3339()
    }

    #[test]
    fn default_hours_weekday() {
        let c = ClinicCalendar::default();
        assert!(c.validate().is_ok());
        // 2026-12-01 is a Tuesday.
        assert!(!c.is_open_at(t("2026-12-01T08:59:59+09:00")));
        assert!(c.is_open_at(t("2026-12-01T09:00:00+09:00")));
        assert!(c.is_open_at(t("2026-12-01T16:59:59+09:00")));
        assert!(!c.is_open_at(t("2026-12-01T17:00:00+09:00")));
        // Saturday and Sunday closed.
        assert!(!c.is_open_at(t("2026-12-05T10:00:00+09:00")));
        assert!(!c.is_open_at(t("2026-12-06T10:00:00+09:00")));
    }

    #[test]
    fn holidays_and_year_end_closed() {
        let c = ClinicCalendar::default();
        assert!(!c.is_business_day(d(2026, 5, 6))); // 振替休日 (Wed)
        assert!(!c.is_business_day(d(2026, 9, 22))); // 国民の休日 (Tue)
        assert!(c.is_business_day(d(2026, 9, 24)));
        assert!(c.is_business_day(d(2026, 12, 28)));
        for day in [29, 30, 31] {
            assert!(!c.is_business_day(d(2026, 12, day)));
        }
        for day in [1, 2, 3] {
            assert!(!c.is_business_day(d(2027, 1, day)));
        }
        assert!(c.is_business_day(d(2027, 1, 4)));
        assert_eq!(
            c.closed_reason_ja(d(2026, 12, 30)).as_deref(),
            Some("年末年始休診")
        );
        assert_eq!(c.holiday_name(d(2026, 5, 6)), Some("振替休日"));
        assert_eq!(c.next_business_day(d(2026, 12, 28)), d(2027, 1, 4));
        assert_eq!(c.next_business_day(d(2026, 9, 18)), d(2026, 9, 24));
    }

    #[test]
    fn extra_closed_and_open_days() {
        let c = ClinicCalendar {
            closed_days: vec![d(2026, 12, 2)],
            open_days: vec![d(2026, 12, 5)],
            year_end: None,
            ..Default::default()
        };
        assert!(!c.is_business_day(d(2026, 12, 2)));
        assert!(c.is_business_day(d(2026, 12, 5)));
        assert!(c.is_business_day(d(2026, 12, 30)));
        assert_eq!(
            c.closed_reason_ja(d(2026, 12, 2)).as_deref(),
            Some("臨時休診")
        );
    }

    #[test]
    fn next_opening_skips_weekend_and_holidays() {
        let c = ClinicCalendar::default();
        // Fri 2026-09-18 18:00 → Thu 2026-09-24 9:00 (Sat, Sun, 敬老の日, 国民の休日, 秋分の日).
        assert_eq!(
            j(c.next_opening(t("2026-09-18T18:00:00+09:00"))),
            "2026-09-24T09:00:00+09:00"
        );
        let open = t("2026-12-01T10:00:00+09:00");
        assert_eq!(c.next_opening(open), open);
        assert_eq!(
            j(c.next_opening(t("2026-12-01T07:00:00+09:00"))),
            "2026-12-01T09:00:00+09:00"
        );
    }

    #[test]
    fn lunch_break() {
        let c = ClinicCalendar {
            lunch_start: Some("12:00".into()),
            lunch_end: Some("13:00".into()),
            ..Default::default()
        };
        assert!(c.validate().is_ok());
        assert!(!c.is_open_at(t("2026-12-01T12:30:00+09:00")));
        assert!(c.is_open_at(t("2026-12-01T13:00:00+09:00")));
        assert_eq!(
            j(c.next_opening(t("2026-12-01T12:10:00+09:00"))),
            "2026-12-01T13:00:00+09:00"
        );
        assert_eq!(c.business_day_minutes(), 420);
        assert_eq!(
            j(c.add_business_minutes(t("2026-12-01T11:30:00+09:00"), 60)),
            "2026-12-01T13:30:00+09:00"
        );
        assert_eq!(
            j(c.interval_end_at(t("2026-12-01T11:30:00+09:00")).unwrap()),
            "2026-12-01T12:00:00+09:00"
        );
    }

    #[test]
    fn business_minutes() {
        let c = ClinicCalendar::default();
        // Fri 16:30 + 60 business minutes → Mon 9:30.
        assert_eq!(
            j(c.add_business_minutes(t("2026-12-04T16:30:00+09:00"), 60)),
            "2026-12-07T09:30:00+09:00"
        );
        assert_eq!(
            j(c.add_business_minutes(t("2026-12-04T16:30:00+09:00"), 30)),
            "2026-12-04T17:00:00+09:00"
        );
        // Saturday counts from Monday's opening.
        assert_eq!(
            j(c.add_business_minutes(t("2026-12-05T11:00:00+09:00"), 480)),
            "2026-12-07T17:00:00+09:00"
        );
        assert_eq!(
            c.business_minutes_between(
                t("2026-12-04T16:30:00+09:00"),
                t("2026-12-07T09:30:00+09:00")
            ),
            60
        );
    }

    #[test]
    fn end_of_business_day() {
        let c = ClinicCalendar::default();
        assert_eq!(
            j(c.end_of_business_day(t("2026-12-01T10:00:00+09:00"))),
            "2026-12-01T17:00:00+09:00"
        );
        assert_eq!(
            j(c.end_of_business_day(t("2026-12-01T07:00:00+09:00"))),
            "2026-12-01T17:00:00+09:00"
        );
        assert_eq!(
            j(c.end_of_business_day(t("2026-12-04T17:30:00+09:00"))),
            "2026-12-07T17:00:00+09:00"
        );
        assert_eq!(
            j(c.closing_time_on(d(2026, 12, 1)).unwrap()),
            "2026-12-01T17:00:00+09:00"
        );
        assert!(c.closing_time_on(d(2026, 12, 5)).is_none());
    }

    #[test]
    fn settings_json_partial_and_validation() {
        let c: ClinicCalendar =
            serde_json::from_str(r#"{"close":"18:00","weekdays":["Mon","tue","Sat"]}"#).unwrap();
        assert_eq!(c.open, "09:00");
        assert!(c.is_open_at(t("2026-12-05T17:30:00+09:00"))); // Saturday
        assert!(!c.is_open_at(t("2026-12-02T10:00:00+09:00"))); // Wednesday
        let bad = ClinicCalendar {
            open: "9時".into(),
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("opening time"));
        // Falls back to 9:00–17:00.
        assert!(bad.is_open_at(t("2026-12-01T09:30:00+09:00")));
    }
}
