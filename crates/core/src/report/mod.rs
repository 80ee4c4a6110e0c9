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

mod handover;
mod period;

pub use handover::*;
pub use period::*;

use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

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
