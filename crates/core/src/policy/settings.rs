//! Policy settings (serde, every field defaulted so a partial JSON object overrides only what it
//! names) and quiet hours.

use crate::calendar::ClinicCalendar;
use crate::clock::jst;
use crate::codes::{Category, Urgency};
use crate::problem::Problem;
use crate::triage::ResponseTargets;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// A daily quiet period in JST, may wrap over midnight ("22:00"–"07:00").
///
/// During quiet hours no non-urgent notification is shown (it waits for the end of the quiet
/// period and then for clinic hours), and urgent notifications are shown **without sound**,
/// except escalations, which always sound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

fn hm(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

impl QuietHours {
    fn bounds(&self) -> Option<(NaiveTime, NaiveTime)> {
        let (s, e) = (hm(&self.start)?, hm(&self.end)?);
        (s != e).then_some((s, e))
    }

    /// Whether `t` is inside the quiet period.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let Some((s, e)) = self.bounds() else {
            return false;
        };
        let now = t.with_timezone(&jst()).time();
        if s < e {
            s <= now && now < e
        } else {
            now >= s || now < e
        }
    }

    /// The first moment at or after `t` that is not quiet.
    pub fn end_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let Some((_, e)) = self.bounds() else {
            return t;
        };
        if !self.contains(t) {
            return t;
        }
        let local = t.with_timezone(&jst());
        let mut cand = local.date_naive().and_time(e);
        if cand <= local.naive_local() {
            cand += Duration::days(1);
        }
        t + (cand - local.naive_local())
    }

    pub fn validate(&self) -> Result<(), Problem> {
        match (hm(&self.start), hm(&self.end)) {
            (Some(s), Some(e)) if s != e => Ok(()),
            _ => Err(Problem::new("quiet")
                .arg("start", &self.start)
                .arg("end", &self.end)),
        }
    }
}

/// One step of the digest cadence: when at least `items` non-urgent items came in the last
/// hour, summaries are at least `minutes` apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadStep {
    pub items: u32,
    pub minutes: i64,
}

/// Everything the notification policy can be told. Defaults follow DESIGN.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PolicySettings {
    /// Clinic hours, holidays and closures: non-urgent notifications only inside them.
    pub calendar: ClinicCalendar,
    /// Response targets: due times for the due-soon warning.
    pub targets: ResponseTargets,
    /// Optional quiet hours (see [`QuietHours`]). Default: none.
    pub quiet_hours: Option<QuietHours>,
    /// Non-urgent items are collected for this long before one digest is shown; also the
    /// shortest gap between two digests (a quiet day).
    pub digest_interval_minutes: i64,
    /// The cadence adapts to the load: with at least `items` new in the last hour, digests are
    /// at least `minutes` apart (the highest step that applies). Empty = always
    /// `digest_interval_minutes`.
    pub digest_load_steps: Vec<LoadStep>,
    /// An unacknowledged urgent item is notified again this long after its arrival…
    pub urgent_repeat_minutes: i64,
    /// …and after that every this many minutes (the escalation counts as one).
    pub urgent_repeat_later_minutes: i64,
    /// Stop repeating after this many re-notifications (`None` = until acknowledged).
    pub urgent_repeat_limit: Option<u32>,
    /// Escalate an urgent item unacknowledged this long (`None` = never).
    pub escalate_after_minutes: Option<i64>,
    /// Whom the escalation is addressed to (e.g. "院長"); `None` = no director role.
    pub escalate_to: Option<String>,
    /// At most one non-urgent notification per this many seconds.
    pub min_gap_seconds: i64,
    /// Warn this many minutes before an unowned item's due time (`None` = off).
    pub due_soon_minutes: Option<i64>,
    /// A summary or warning also names the unowned items whose warning would come within this
    /// many minutes (or before the next digest, if later): one notification for several
    /// deadlines, each named at most this long + `due_soon_minutes` before it.
    pub due_soon_batch_minutes: i64,
    /// Sound for urgent notifications.
    pub sound: bool,
    /// Sound for non-urgent notifications too (default off: calm).
    pub digest_sound: bool,
    /// Categories that never pop up unless urgent (urgent always notifies).
    pub muted_categories: Vec<Category>,
    /// Urgencies that never pop up (`urgent` cannot be muted and is ignored here).
    pub muted_urgencies: Vec<Urgency>,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings {
            calendar: ClinicCalendar::default(),
            targets: ResponseTargets::default(),
            quiet_hours: None,
            digest_interval_minutes: 15,
            digest_load_steps: vec![
                LoadStep {
                    items: 4,
                    minutes: 30,
                },
                LoadStep {
                    items: 10,
                    minutes: 45,
                },
                LoadStep {
                    items: 20,
                    minutes: 60,
                },
            ],
            urgent_repeat_minutes: 5,
            urgent_repeat_later_minutes: 10,
            urgent_repeat_limit: None,
            escalate_after_minutes: Some(15),
            escalate_to: Some("院長".into()),
            min_gap_seconds: 30,
            due_soon_minutes: Some(10),
            due_soon_batch_minutes: 60,
            sound: true,
            digest_sound: false,
            muted_categories: Vec::new(),
            muted_urgencies: Vec::new(),
        }
    }
}

impl PolicySettings {
    /// The first problem with the settings ([`Problem`]).
    pub fn validate(&self) -> Result<(), Problem> {
        self.calendar.validate()?;
        if let Some(q) = &self.quiet_hours {
            q.validate()?;
        }
        let at_least_1 = |what: &'static str, v: i64| {
            (v < 1).then(|| Problem::new("at_least_1").arg("what", what).arg("value", v))
        };
        let range = |what: &'static str, v: i64, min: i64, max: i64| {
            (!(min..=max).contains(&v)).then(|| {
                Problem::new("range")
                    .arg("what", what)
                    .arg("min", min)
                    .arg("max", max)
                    .arg("value", v)
            })
        };
        let found = [
            at_least_1("digest_interval_minutes", self.digest_interval_minutes),
            at_least_1("urgent_repeat_minutes", self.urgent_repeat_minutes),
            at_least_1(
                "urgent_repeat_later_minutes",
                self.urgent_repeat_later_minutes,
            ),
            range(
                "due_soon_batch_minutes",
                self.due_soon_batch_minutes,
                0,
                240,
            ),
            range("min_gap_seconds", self.min_gap_seconds, 0, 86_400),
            self.escalate_after_minutes
                .and_then(|m| at_least_1("escalate_after_minutes", m)),
            self.due_soon_minutes
                .and_then(|m| at_least_1("due_soon_minutes", m)),
        ]
        .into_iter()
        .flatten()
        .next();
        if let Some(p) = found {
            return Err(p);
        }
        for st in &self.digest_load_steps {
            if let Some(p) = range("digest_load_steps", st.minutes, 1, 240) {
                return Err(p);
            }
        }
        Ok(())
    }

    pub(crate) fn is_quiet(&self, t: DateTime<Utc>) -> bool {
        self.quiet_hours.as_ref().is_some_and(|q| q.contains(t))
    }

    /// Whether a non-urgent item of this kind may pop up at all.
    pub(crate) fn is_muted(&self, category: Category, urgency: Urgency) -> bool {
        urgency != Urgency::Urgent
            && (self.muted_categories.contains(&category)
                || self.muted_urgencies.contains(&urgency))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::parse_rfc3339;

    #[test]
    fn quiet_hours_wrap_midnight() {
        let q = QuietHours {
            start: "22:00".into(),
            end: "07:00".into(),
        };
        let t = |s| parse_rfc3339(s).unwrap();
        assert!(q.contains(t("2026-12-01T23:00:00+09:00")));
        assert!(q.contains(t("2026-12-02T06:59:00+09:00")));
        assert!(!q.contains(t("2026-12-02T07:00:00+09:00")));
        assert_eq!(
            q.end_after(t("2026-12-01T23:00:00+09:00")),
            t("2026-12-02T07:00:00+09:00")
        );
        assert_eq!(
            q.end_after(t("2026-12-02T03:00:00+09:00")),
            t("2026-12-02T07:00:00+09:00")
        );
    }

    #[test]
    fn partial_json_keeps_defaults() {
        let s: PolicySettings = serde_json::from_str(
            r#"{"digest_interval_minutes": 30, "calendar": {"close": "18:00"}}"#,
        )
        .unwrap();
        assert_eq!(s.digest_interval_minutes, 30);
        assert_eq!(s.urgent_repeat_minutes, 5);
        assert_eq!(s.calendar.open, "09:00");
        assert_eq!(s.calendar.close, "18:00");
        assert!(s.validate().is_ok());
        let bad = PolicySettings {
            urgent_repeat_minutes: 0,
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().key, "at_least_1");
        assert!(bad
            .validate()
            .unwrap_err()
            .text("ja")
            .contains("至急の最初の再通知"));
    }
}
