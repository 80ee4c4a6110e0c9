//! Japanese national holidays (国民の祝日), computed from the rules of the 祝日法 as amended in
//! 2018 (valid from 2020): fixed days, Happy-Monday days, the equinoxes (astronomical
//! approximation, exact for 1980–2099), 振替休日 (a holiday on a Sunday moves to the next
//! non-holiday) and 国民の休日 (a day between two holidays). The one-off Olympic moves of
//! 2020/2021 are included. Years before 2020 use today's rules (approximate; the app never needs
//! them). No network, no table to update — except for future one-off law changes.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// The first year the rules here are exact for.
pub const FIRST_EXACT_YEAR: i32 = 2020;
/// The last year the equinox formula is exact for.
pub const LAST_EXACT_YEAR: i32 = 2099;

/// Holiday name for `date`, including 振替休日 and 国民の休日.
pub fn holiday_name(date: NaiveDate) -> Option<&'static str> {
    if let Some(n) = statutory_holiday(date) {
        return Some(n);
    }
    if is_substitute_holiday(date) {
        return Some("振替休日");
    }
    if is_citizens_holiday(date) {
        return Some("国民の休日");
    }
    None
}

/// All national holidays of `year`, in date order, with their names.
pub fn holidays_in_year(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let mut out = Vec::new();
    let (Some(mut d), Some(end)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return out;
    };
    while d <= end {
        if let Some(n) = holiday_name(d) {
            out.push((d, n));
        }
        d += Duration::days(1);
    }
    out
}

/// The n-th (1-based) given weekday of a month.
fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

/// 春分日 (day of March), exact 1980–2099.
fn vernal_equinox_day(year: i32) -> u32 {
    let y = f64::from(year - 1980);
    (20.8431 + 0.242194 * y - ((year - 1980) / 4) as f64).floor() as u32
}

/// 秋分日 (day of September), exact 1980–2099.
fn autumnal_equinox_day(year: i32) -> u32 {
    let y = f64::from(year - 1980);
    (23.2488 + 0.242194 * y - ((year - 1980) / 4) as f64).floor() as u32
}

/// The holidays named by the law itself (no substitutes).
fn statutory_holiday(date: NaiveDate) -> Option<&'static str> {
    let (y, m, d) = (date.year(), date.month(), date.day());
    let is = |n: Option<NaiveDate>| n == Some(date);
    let name = match (m, d) {
        (1, 1) => Some("元日"),
        (2, 11) => Some("建国記念の日"),
        (2, 23) => Some("天皇誕生日"),
        (4, 29) => Some("昭和の日"),
        (5, 3) => Some("憲法記念日"),
        (5, 4) => Some("みどりの日"),
        (5, 5) => Some("こどもの日"),
        (11, 3) => Some("文化の日"),
        (11, 23) => Some("勤労感謝の日"),
        (3, _) if d == vernal_equinox_day(y) => Some("春分の日"),
        (9, _) if d == autumnal_equinox_day(y) => Some("秋分の日"),
        _ => None,
    };
    if name.is_some() {
        return name;
    }
    // The rest are Mondays (Happy Monday) or the Olympic years' moves: most dates end here
    // without a weekday-of-month computation (the calendar asks for every day it walks — this
    // was a fifth of the notification policy's time, docs/benchmarks.md).
    if date.weekday() != Weekday::Mon && !(2020..=2021).contains(&y) && (m, d) != (8, 11) {
        return None;
    }
    if m == 1 && is(nth_weekday(y, 1, Weekday::Mon, 2)) {
        return Some("成人の日");
    }
    if m == 9 && is(nth_weekday(y, 9, Weekday::Mon, 3)) {
        return Some("敬老の日");
    }
    // Tokyo Olympics moved 海の日, スポーツの日 and 山の日 in 2020 and 2021.
    match y {
        2020 => match (m, d) {
            (7, 23) => Some("海の日"),
            (7, 24) => Some("スポーツの日"),
            (8, 10) => Some("山の日"),
            _ => None,
        },
        2021 => match (m, d) {
            (7, 22) => Some("海の日"),
            (7, 23) => Some("スポーツの日"),
            (8, 8) => Some("山の日"),
            _ => None,
        },
        _ => {
            if m == 7 && is(nth_weekday(y, 7, Weekday::Mon, 3)) {
                Some("海の日")
            } else if (m, d) == (8, 11) {
                Some("山の日")
            } else if m == 10 && is(nth_weekday(y, 10, Weekday::Mon, 2)) {
                Some("スポーツの日")
            } else {
                None
            }
        }
    }
}

/// 振替休日: the first non-holiday after a run of holidays that includes a Sunday.
fn is_substitute_holiday(date: NaiveDate) -> bool {
    if statutory_holiday(date).is_some() {
        return false;
    }
    let mut d = date - Duration::days(1);
    while statutory_holiday(d).is_some() {
        if d.weekday() == Weekday::Sun {
            return true;
        }
        d -= Duration::days(1);
    }
    false
}

/// 国民の休日: a day (not Sunday, not a holiday) between two statutory holidays.
fn is_citizens_holiday(date: NaiveDate) -> bool {
    date.weekday() != Weekday::Sun
        && statutory_holiday(date).is_none()
        && !is_substitute_holiday(date)
        && statutory_holiday(date - Duration::days(1)).is_some()
        && statutory_holiday(date + Duration::days(1)).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(year: i32) -> Vec<String> {
        holidays_in_year(year)
            .into_iter()
            .map(|(d, _)| d.format("%m-%d").to_string())
            .collect()
    }

    // Cabinet Office (内閣府) published lists.
    #[test]
    fn y2024() {
        assert_eq!(
            days(2024),
            [
                "01-01", "01-08", "02-11", "02-12", "02-23", "03-20", "04-29", "05-03", "05-04",
                "05-05", "05-06", "07-15", "08-11", "08-12", "09-16", "09-22", "09-23", "10-14",
                "11-03", "11-04", "11-23"
            ]
        );
    }

    #[test]
    fn y2025() {
        assert_eq!(
            days(2025),
            [
                "01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04",
                "05-05", "05-06", "07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-23",
                "11-24"
            ]
        );
    }

    #[test]
    fn y2026() {
        assert_eq!(
            days(2026),
            [
                "01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05",
                "05-06", "07-20", "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23"
            ]
        );
        let d = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(holiday_name(d(5, 6)), Some("振替休日"));
        assert_eq!(holiday_name(d(9, 22)), Some("国民の休日"));
        assert_eq!(holiday_name(d(9, 21)), Some("敬老の日"));
        assert_eq!(holiday_name(d(9, 23)), Some("秋分の日"));
        assert_eq!(holiday_name(d(9, 24)), None);
    }

    #[test]
    fn y2027() {
        assert_eq!(
            days(2027),
            [
                "01-01", "01-11", "02-11", "02-23", "03-21", "03-22", "04-29", "05-03", "05-04",
                "05-05", "07-19", "08-11", "09-20", "09-23", "10-11", "11-03", "11-23"
            ]
        );
    }

    #[test]
    fn y2028() {
        assert_eq!(
            days(2028),
            [
                "01-01", "01-10", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05",
                "07-17", "08-11", "09-18", "09-22", "10-09", "11-03", "11-23"
            ]
        );
    }

    #[test]
    fn y2029() {
        assert_eq!(
            days(2029),
            [
                "01-01", "01-08", "02-11", "02-12", "02-23", "03-20", "04-29", "04-30", "05-03",
                "05-04", "05-05", "07-16", "08-11", "09-17", "09-23", "09-24", "10-08", "11-03",
                "11-23"
            ]
        );
    }

    #[test]
    fn y2030() {
        assert_eq!(
            days(2030),
            [
                "01-01", "01-14", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05",
                "05-06", "07-15", "08-11", "08-12", "09-16", "09-23", "10-14", "11-03", "11-04",
                "11-23"
            ]
        );
    }

    #[test]
    fn olympic_moves_2021() {
        let d = |m, dd| NaiveDate::from_ymd_opt(2021, m, dd).unwrap();
        assert_eq!(holiday_name(d(7, 23)), Some("スポーツの日"));
        assert_eq!(holiday_name(d(8, 9)), Some("振替休日"));
        assert_eq!(holiday_name(d(10, 11)), None);
    }

    #[test]
    fn names() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 22).unwrap();
        assert_eq!(holiday_name(d), Some("振替休日"));
        let d = NaiveDate::from_ymd_opt(2027, 1, 11).unwrap();
        assert_eq!(holiday_name(d), Some("成人の日"));
    }
}
