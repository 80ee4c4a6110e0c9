//! The two automatic messages of issue 20, as text: the **receipt** a partner gets when someone
//! takes its consultation (「受け付けました。担当：大野。本日17時までにご連絡します。」) and the
//! **on-call message** the on-call doctor gets on LINE WORKS when an urgent item stays untaken.
//!
//! Pure: no I/O, no clock — `now` and the calendar are passed in. `desk/receipts.rs` queues
//! both through the outbox; the sender worker sends them like replies.
//!
//! ## The promised time ({期限})
//!
//! The promise is the item's due time on the clinic's calendar (`triage::due_at`), rounded **up**
//! to the next 10 minutes (never earlier than the target staff see). When the item has no due
//! time (確認のみ) or its due time has already passed when it is taken, the promise is the end of
//! the clinic's business day (`ClinicCalendar::end_of_business_day`: today's closing while the
//! clinic is open or before it opens on a business day, else the next business day's closing
//! — so after hours, on a Friday evening or on a holiday it names the next open day).
//!
//! Words, in Asia/Tokyo:
//! * the same date as now → 「本日17時」「本日10時30分」,
//! * the next date → 「明日10時」,
//! * later → 「12月4日(金)10時」 (month, day, weekday).
//!
//! The template says what follows (「{期限}までにご連絡します」).

use crate::calendar::ClinicCalendar;
use crate::clock::jst;
use crate::problem::Problem;
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

/// The default receipt, as the clinic sees it in Settings.
pub const DEFAULT_RECEIPT_TEMPLATE: &str =
    "受け付けました。担当：{担当}。{期限}までにご連絡します。";

/// Placeholders a receipt template may use.
pub const PLACEHOLDERS: &[&str] = &["担当", "期限", "クリニック"];

/// Longest template (and rendered receipt) in characters.
pub const MAX_TEMPLATE_CHARS: usize = 500;

const WEEKDAYS_JA: [&str; 7] = ["月", "火", "水", "木", "金", "土", "日"];

/// What the placeholders of a receipt stand for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptValues<'a> {
    /// The person who took it (「大野」).
    pub owner: &'a str,
    /// The promised time ([`promised_time_ja`]).
    pub promise: String,
    pub clinic: &'a str,
}

/// Checks a receipt template: not empty, at most [`MAX_TEMPLATE_CHARS`], every `{…}` one of
/// [`PLACEHOLDERS`], braces closed. The problem names the bad part (Settings shows it).
pub fn validate_template(template: &str) -> Result<(), Problem> {
    let t = template.trim();
    if t.is_empty() {
        return Err(Problem::new("receipt_empty"));
    }
    if t.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(Problem::new("receipt_long").arg("max", MAX_TEMPLATE_CHARS));
    }
    let mut rest = t;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(Problem::new("receipt_brace"));
        }
        let after = &rest[open + 1..];
        let Some(close) = after
            .find(['}', '{'])
            .filter(|&c| after[c..].starts_with('}'))
        else {
            return Err(Problem::new("receipt_brace"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(Problem::new("receipt_placeholder").arg("name", format!("{{{name}}}")));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The receipt text: the template with its placeholders filled in (the template is validated
/// before it is saved; an unknown `{…}` would stay as written).
pub fn render(template: &str, v: &ReceiptValues<'_>) -> String {
    template
        .trim()
        .replace("{担当}", v.owner)
        .replace("{期限}", &v.promise)
        .replace("{クリニック}", v.clinic)
}

/// The time a receipt promises for an item with due time `due`, taken at `now` (rules in the
/// module docs).
pub fn promised_at(
    cal: &ClinicCalendar,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let t = match due {
        Some(d) if d > now => d,
        _ => cal.end_of_business_day(now),
    };
    round_up_10(t)
}

/// [`promised_at`] in words: 「本日17時」「明日10時」「12月4日(金)10時」.
pub fn promised_time_ja(
    cal: &ClinicCalendar,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    time_words_ja(promised_at(cal, due, now), now)
}

/// A time in words relative to `now` (JST): 「本日17時」「本日10時30分」「明日10時」「12月4日(金)10時」.
pub fn time_words_ja(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (l, n) = (t.with_timezone(&jst()), now.with_timezone(&jst()));
    let hm = if l.minute() == 0 {
        format!("{}時", l.hour())
    } else {
        format!("{}時{}分", l.hour(), l.minute())
    };
    match (l.date_naive() - n.date_naive()).num_days() {
        0 => format!("本日{hm}"),
        1 => format!("明日{hm}"),
        _ => format!(
            "{}月{}日({}){hm}",
            l.month(),
            l.day(),
            WEEKDAYS_JA[l.weekday().num_days_from_monday() as usize]
        ),
    }
}

fn round_up_10(t: DateTime<Utc>) -> DateTime<Utc> {
    let t = t.with_nanosecond(0).unwrap_or(t);
    let secs = i64::from(t.minute() % 10) * 60 + i64::from(t.second());
    if secs == 0 {
        t
    } else {
        t + Duration::seconds(600 - secs)
    }
}

/// The deep link to a consultation in the app (the on-call message carries it).
pub fn deep_link(consultation_id: i64) -> String {
    format!("renkei://consultation/{consultation_id}")
}

/// The on-call doctor's message: no patient, no partner, no message text — the urgency, the
/// category, how long nobody has taken it, the consultation number and the link.
pub fn oncall_text(consultation_id: i64, category_ja: &str, minutes: i64) -> String {
    format!(
        "【連携デスク・至急】至急の相談（{category_ja}）に{minutes}分間 担当者がいません。相談番号 {consultation_id}。連携デスクで確認してください: {}",
        deep_link(consultation_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;

    fn t(s: &str) -> DateTime<Utc> {
        parse_rfc3339(s).unwrap()
    }
    fn words(due: Option<&str>, now: &str) -> String {
        promised_time_ja(&ClinicCalendar::default(), due.map(t), t(now))
    }

    #[test]
    fn a_due_time_today_tomorrow_or_later_is_said_as_such() {
        // Wednesday 2 December 2026.
        assert_eq!(
            words(
                Some("2026-12-02T17:00:00+09:00"),
                "2026-12-02T10:05:00+09:00"
            ),
            "本日17時"
        );
        assert_eq!(
            words(
                Some("2026-12-03T10:00:00+09:00"),
                "2026-12-02T16:40:00+09:00"
            ),
            "明日10時"
        );
        assert_eq!(
            words(
                Some("2026-12-04T10:00:00+09:00"),
                "2026-12-02T16:40:00+09:00"
            ),
            "12月4日(金)10時"
        );
        // Minutes are rounded up to the next 10, never earlier than the target.
        assert_eq!(
            words(
                Some("2026-12-02T10:37:00+09:00"),
                "2026-12-02T10:05:00+09:00"
            ),
            "本日10時40分"
        );
        assert_eq!(
            words(
                Some("2026-12-02T16:55:00+09:00"),
                "2026-12-02T10:05:00+09:00"
            ),
            "本日17時"
        );
    }

    #[test]
    fn no_due_time_or_a_passed_one_promises_the_end_of_the_business_day() {
        // Open hours: today's closing.
        assert_eq!(words(None, "2026-12-02T11:00:00+09:00"), "本日17時");
        assert_eq!(
            words(
                Some("2026-12-02T10:00:00+09:00"),
                "2026-12-02T11:00:00+09:00"
            ),
            "本日17時"
        );
        // After hours on a Wednesday: tomorrow's closing.
        assert_eq!(words(None, "2026-12-02T19:30:00+09:00"), "明日17時");
        // Before opening on a business day: today.
        assert_eq!(words(None, "2026-12-02T07:30:00+09:00"), "本日17時");
    }

    #[test]
    fn friday_evening_and_holidays_name_the_next_open_day() {
        // Friday 4 December 2026, 18:10 → Monday 7 December.
        assert_eq!(words(None, "2026-12-04T18:10:00+09:00"), "12月7日(月)17時");
        // Saturday → Monday.
        assert_eq!(words(None, "2026-12-05T09:00:00+09:00"), "12月7日(月)17時");
        // Monday 23 November 2026 is 勤労感謝の日 → Tuesday 24th = tomorrow.
        assert_eq!(words(None, "2026-11-23T10:00:00+09:00"), "明日17時");
        // Year-end closure (12/29–1/3): 28 December 2026 (Mon) evening → 4 January 2027.
        assert_eq!(words(None, "2026-12-28T18:00:00+09:00"), "1月4日(月)17時");
        // A due time computed on the calendar over a weekend keeps its day.
        assert_eq!(
            words(
                Some("2026-12-07T10:00:00+09:00"),
                "2026-12-04T16:50:00+09:00"
            ),
            "12月7日(月)10時"
        );
    }

    #[test]
    fn an_urgent_due_time_at_night_is_said_with_its_hour() {
        assert_eq!(
            words(
                Some("2026-12-02T22:30:00+09:00"),
                "2026-12-02T22:05:00+09:00"
            ),
            "本日22時30分"
        );
        assert_eq!(
            words(
                Some("2026-12-03T00:20:00+09:00"),
                "2026-12-02T23:55:00+09:00"
            ),
            "明日0時20分"
        );
    }

    #[test]
    fn the_template_is_filled_in() {
        let v = ReceiptValues {
            owner: "大野",
            promise: "本日17時".into(),
            clinic: "さっぽろ在宅クリニック",
        };
        assert_eq!(
            render(DEFAULT_RECEIPT_TEMPLATE, &v),
            "受け付けました。担当：大野。本日17時までにご連絡します。"
        );
        assert_eq!(
            render("{クリニック}です。{担当}が担当します。", &v),
            "さっぽろ在宅クリニックです。大野が担当します。"
        );
    }

    #[test]
    fn a_bad_template_says_what_is_wrong_in_japanese() {
        assert_eq!(validate_template(DEFAULT_RECEIPT_TEMPLATE), Ok(()));
        let e = validate_template("担当：{担当者}。").unwrap_err();
        assert_eq!(e.key, "receipt_placeholder");
        assert_eq!(
            e.text("ja"),
            "受付メッセージの {担当者} は使えません。使える差し込みは {担当} {期限} {クリニック} です。"
        );
        assert_eq!(
            validate_template("担当：{担当。").unwrap_err().key,
            "receipt_brace"
        );
        assert_eq!(
            validate_template("担当：担当}。").unwrap_err().key,
            "receipt_brace"
        );
        assert_eq!(validate_template("  ").unwrap_err().key, "receipt_empty");
        assert_eq!(
            validate_template(&"あ".repeat(501)).unwrap_err().key,
            "receipt_long"
        );
    }

    #[test]
    fn the_oncall_message_names_no_one() {
        let s = oncall_text(123, "訪問診療の新規相談", 15);
        assert!(s.contains("renkei://consultation/123"));
        assert!(s.contains("15分"));
        assert!(crate::pii::scan(&s).is_empty(), "{s}");
    }
}
