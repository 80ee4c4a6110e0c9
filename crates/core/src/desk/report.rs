//! The shift handover and the operations report: rows read through `store::report`, the
//! figures computed by `crate::report` on the clinic calendar at the Desk's clock.

use super::Desk;
use crate::calendar::jst_date;
use crate::error::{Error, Result};
use crate::report::{self, Handover, Report};
use crate::store::report as rows;
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Title of the evening handover notification.
pub const EVENING_TITLE: &str = "申し送り（終業）";

/// The longest period a report covers.
pub const MAX_REPORT_DAYS: i64 = 366;

impl Desk {
    /// The handover (申し送り) at `now`: open items, and what arrived since the last close.
    pub fn handover_at(&mut self, now: DateTime<Utc>) -> Result<Handover> {
        let cal = self.settings().calendar.clone();
        let since = report::last_close(&cal, now).unwrap_or(now - Duration::days(1));
        let since = since.min(report::jst_midnight(jst_date(now)));
        let list = rows::open_or_since(self.store.db(), since)?;
        Ok(report::handover(&cal, &list, now))
    }

    /// The handover now (the Desk's clock).
    pub fn handover(&mut self) -> Result<Handover> {
        let now = self.now();
        self.handover_at(now)
    }

    /// The evening handover notification, when it is due ([`report::evening_summary_due`]):
    /// the day and its counts-only text (never a subject or a name), recorded in the
    /// notification log (reason `handover: …`). `last_sent`: the day it was last sent.
    pub fn evening_handover(
        &mut self,
        last_sent: Option<NaiveDate>,
    ) -> Result<Option<(NaiveDate, String)>> {
        let now = self.now();
        let Some(day) = report::evening_summary_due(&self.settings().calendar, now, last_sent)
        else {
            return Ok(None);
        };
        let text = report::handover_summary_text(&self.handover_at(now)?.counts);
        self.log_notification(
            &[],
            "normal",
            EVENING_TITLE,
            &text,
            "handover: 終業時の申し送り（件数のみ）",
            now,
        )?;
        Ok(Some((day, text)))
    }

    /// [`Desk::report`] with the dates as text (YYYY-MM-DD; empty = not given), as the app
    /// sends them.
    pub fn report_for(&mut self, from: Option<&str>, to: Option<&str>) -> Result<Report> {
        let from = report::parse_date("from", from)?;
        let to = report::parse_date("to", to)?;
        self.report(from, to)
    }

    /// The operations report for the JST dates `from..=to`; both `None` = the last full week
    /// Mon–Sun, one `None` = a week from or to the other.
    pub fn report(&mut self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Result<Report> {
        let now = self.now();
        let (from, to) = match (from, to) {
            (Some(f), Some(t)) => (f, t),
            (Some(f), None) => (f, f + Duration::days(6)),
            (None, Some(t)) => (t - Duration::days(6), t),
            (None, None) => report::last_full_week(now),
        };
        if from > to {
            return Err(Error::Invalid {
                field: Some("from".into()),
                message: format!("the period starts ({from}) after it ends ({to}): give --from on or before --to"),
            });
        }
        if (to - from).num_days() >= MAX_REPORT_DAYS {
            return Err(Error::Invalid {
                field: Some("to".into()),
                message: format!(
                    "a report covers at most {MAX_REPORT_DAYS} days: shorten the period"
                ),
            });
        }
        let (start, end) = (
            report::jst_midnight(from),
            report::jst_midnight(to + Duration::days(1)),
        );
        let cal = self.settings().calendar.clone();
        let list = rows::received_between(self.store.db(), start, end)?;
        let notes = rows::notification_times(self.store.db(), start, end)?;
        Ok(report::report(&cal, from, to, &list, &notes, now))
    }
}
