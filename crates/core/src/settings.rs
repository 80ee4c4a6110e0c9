//! The clinic's settings, typed: calendar, response targets, on-duty roster, intake server.
//! Stored as one JSON value in the `settings` table; every field has a default a clinic would
//! accept, so an empty store works out of the box.

use crate::calendar::ClinicCalendar;
use crate::policy::PolicySettings;
use crate::problem::Problem;
use crate::triage::ResponseTargets;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Settings key in the store.
pub const SETTINGS_KEY: &str = "clinic";

/// What a set secret (bot secret, webhook token) looks like when settings leave the core for a
/// screen; saving this value back keeps the stored secret.
pub const SECRET_MASK: &str = "********";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub clinic_name: String,
    pub calendar: ClinicCalendar,
    pub targets: ResponseTargets,
    pub roster: Vec<RosterEntry>,
    pub intake: IntakeSettings,
    /// Automatic daily backups.
    pub backup: BackupSettings,
    /// Minutes of inactivity before the app locks (0 = never).
    pub lock_after_minutes: u32,
    /// Notification policy (its calendar and targets always follow the clinic's above).
    pub notifications: PolicySettings,
    /// UI language: "ja" or "en".
    pub language: String,
    /// The automatic messages of issue 20: the receipt template, the on-call doctor.
    pub replies: ReplySettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            clinic_name: "さっぽろ在宅クリニック".into(),
            calendar: ClinicCalendar::default(),
            targets: ResponseTargets::default(),
            roster: Vec::new(),
            intake: IntakeSettings::default(),
            notifications: PolicySettings::default(),
            backup: BackupSettings::default(),
            lock_after_minutes: 5,
            language: "ja".into(),
            replies: ReplySettings::default(),
        }
    }
}

/// The automatic messages (issue 20, `receipt.rs`): the receipt partners get when someone takes
/// their consultation (sent only to partners with the receipt switched on), and who gets the
/// on-call message when an urgent item stays untaken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplySettings {
    /// The receipt's text with `{担当}` `{期限}` `{クリニック}`.
    pub receipt_template: String,
    /// The on-call doctor's LINE WORKS user id (`/users/{userId}/messages`); empty = off.
    pub oncall_lineworks_user: String,
}

impl Default for ReplySettings {
    fn default() -> Self {
        ReplySettings {
            receipt_template: crate::receipt::DEFAULT_RECEIPT_TEMPLATE.into(),
            oncall_lineworks_user: String::new(),
        }
    }
}

impl ReplySettings {
    /// The on-call doctor's user id, if the on-call message is on.
    pub fn oncall_user(&self) -> Option<&str> {
        Some(self.oncall_lineworks_user.trim()).filter(|u| !u.is_empty())
    }

    pub fn validate(&self) -> Result<(), Problem> {
        crate::receipt::validate_template(&self.receipt_template)?;
        let u = self.oncall_lineworks_user.trim();
        if u.chars().count() > 100 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Problem::new("oncall_user").arg("value", u));
        }
        Ok(())
    }
}

/// Who is on duty (当番): new items are assigned to them by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterEntry {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: u32,
    /// "HH:MM" Asia/Tokyo, start inclusive, end exclusive.
    pub start: String,
    pub end: String,
    pub staff: String,
}

/// The in-process intake server of the desktop app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntakeSettings {
    pub enabled: bool,
    pub listen: String,
    pub fax_folder: Option<String>,
    /// LINE WORKS bot secret (env `RENKEI_LINEWORKS_BOT_SECRET` wins). Kept in the encrypted store.
    pub lineworks_bot_secret: Option<String>,
    /// Chatwork webhook token, base64 (env `RENKEI_CHATWORK_WEBHOOK_TOKEN` wins).
    pub chatwork_webhook_token: Option<String>,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        IntakeSettings {
            enabled: false,
            listen: "127.0.0.1:8787".into(),
            fax_folder: None,
            lineworks_bot_secret: None,
            chatwork_webhook_token: None,
        }
    }
}

/// Daily backup generations kept in `<data dir>/backups`, plus an optional copy elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackupSettings {
    pub enabled: bool,
    /// Days of daily generations to keep.
    pub keep_days: u32,
    /// A second folder (USB drive, NAS) that receives a copy of each daily backup.
    pub mirror_dir: Option<String>,
}

impl Default for BackupSettings {
    fn default() -> Self {
        BackupSettings {
            enabled: true,
            keep_days: 14,
            mirror_dir: None,
        }
    }
}

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.split_once(':')?;
    Some(h.trim().parse::<u32>().ok()? * 60 + m.trim().parse::<u32>().ok()?)
}

impl Settings {
    /// The notification policy's settings, on the clinic's calendar and targets.
    pub fn policy_settings(&self) -> PolicySettings {
        let mut p = self.notifications.clone();
        p.calendar = self.calendar.clone();
        p.targets = self.targets.clone();
        p
    }

    /// The first problem with the settings — the calendar, the targets, the notification
    /// policy, the roster, backups, the intake server, the screen lock — as a [`Problem`] whose
    /// words ([`Problem::text`]) the settings screen shows in the clinic's language.
    pub fn validate(&self) -> Result<(), Problem> {
        if self.clinic_name.trim().is_empty() {
            return Err(Problem::new("clinic_name"));
        }
        self.calendar.validate()?;
        self.targets.validate()?;
        self.policy_settings().validate()?;
        for (i, e) in self.roster.iter().enumerate() {
            let n = i + 1;
            if !(1..=7).contains(&e.weekday) {
                return Err(Problem::new("roster_weekday").arg("n", n));
            }
            match (minutes(&e.start), minutes(&e.end)) {
                (Some(s), Some(en)) if s < en && en <= 24 * 60 => {}
                _ => {
                    return Err(Problem::new("roster_times")
                        .arg("n", n)
                        .arg("start", &e.start)
                        .arg("end", &e.end))
                }
            }
            if e.staff.trim().is_empty() {
                return Err(Problem::new("roster_staff").arg("n", n));
            }
        }
        if self.backup.keep_days < 1 {
            return Err(Problem::new("keep_days"));
        }
        if self.intake.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(Problem::new("listen").arg("value", &self.intake.listen));
        }
        if self.lock_after_minutes > 24 * 60 {
            return Err(Problem::new("lock"));
        }
        if self.language != "ja" && self.language != "en" {
            return Err(Problem::new("language").arg("value", &self.language));
        }
        self.replies.validate()?;
        Ok(())
    }

    /// A copy safe to show on a screen: set secrets replaced by [`SECRET_MASK`].
    pub fn masked(&self) -> Settings {
        let mut s = self.clone();
        let mask = |v: &mut Option<String>| {
            if v.as_deref().is_some_and(|x| !x.is_empty()) {
                *v = Some(SECRET_MASK.to_string());
            }
        };
        mask(&mut s.intake.lineworks_bot_secret);
        mask(&mut s.intake.chatwork_webhook_token);
        s
    }

    /// Puts back the secrets of `old` where this copy still carries [`SECRET_MASK`]; an empty
    /// secret clears it.
    pub fn keep_secrets_from(&mut self, old: &Settings) {
        fn keep(new: &mut Option<String>, old: &Option<String>) {
            match new.as_deref().map(str::trim) {
                Some(SECRET_MASK) => *new = old.clone(),
                Some("") => *new = None,
                _ => {}
            }
        }
        keep(
            &mut self.intake.lineworks_bot_secret,
            &old.intake.lineworks_bot_secret,
        );
        keep(
            &mut self.intake.chatwork_webhook_token,
            &old.intake.chatwork_webhook_token,
        );
    }

    /// Inactivity after which the app locks (`None` = never).
    pub fn lock_after(&self) -> Option<std::time::Duration> {
        (self.lock_after_minutes > 0)
            .then(|| std::time::Duration::from_secs(u64::from(self.lock_after_minutes) * 60))
    }

    /// The staff member on duty at `t`, if the roster names one.
    pub fn on_duty(&self, t: DateTime<Utc>) -> Option<&str> {
        let local = t.with_timezone(&crate::clock::jst());
        let wd = local.weekday().number_from_monday();
        let now_min = local.hour() * 60 + local.minute();
        self.roster
            .iter()
            .find(|e| {
                e.weekday == wd
                    && matches!((minutes(&e.start), minutes(&e.end)), (Some(s), Some(en)) if s <= now_min && now_min < en)
            })
            .map(|e| e.staff.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_picks_the_person_on_duty() {
        let mut s = Settings::default();
        s.roster.push(RosterEntry {
            weekday: 2,
            start: "09:00".into(),
            end: "13:00".into(),
            staff: "大野".into(),
        });
        s.roster.push(RosterEntry {
            weekday: 2,
            start: "13:00".into(),
            end: "17:00".into(),
            staff: "田村".into(),
        });
        let tue_10 = crate::clock::parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap();
        let tue_14 = crate::clock::parse_rfc3339("2026-12-01T14:00:00+09:00").unwrap();
        let wed_10 = crate::clock::parse_rfc3339("2026-12-02T10:00:00+09:00").unwrap();
        assert_eq!(s.on_duty(tue_10), Some("大野"));
        assert_eq!(s.on_duty(tue_14), Some("田村"));
        assert_eq!(s.on_duty(wed_10), None);
    }

    #[test]
    fn defaults_are_valid_and_bad_values_say_what_is_wrong() {
        assert_eq!(Settings::default().validate(), Ok(()));
        let mut s = Settings::default();
        s.calendar.open = "9時".into();
        assert_eq!(
            s.validate().unwrap_err().text("ja"),
            "診療開始「9時」は 09:00 のように HH:MM で入れてください。"
        );
        let mut s = Settings::default();
        s.notifications.digest_interval_minutes = 0;
        assert!(s
            .validate()
            .unwrap_err()
            .to_string()
            .contains("the digest interval"));
        let mut s = Settings::default();
        s.roster.push(RosterEntry {
            weekday: 8,
            start: "09:00".into(),
            end: "12:00".into(),
            staff: "大野".into(),
        });
        assert_eq!(s.validate().unwrap_err().key, "roster_weekday");
        let mut s = Settings::default();
        s.roster.push(RosterEntry {
            weekday: 1,
            start: "13:00".into(),
            end: "12:00".into(),
            staff: "大野".into(),
        });
        assert_eq!(s.validate().unwrap_err().key, "roster_times");
        let mut s = Settings::default();
        s.intake.listen = "localhost".into();
        assert_eq!(s.validate().unwrap_err().key, "listen");
        let mut s = Settings::default();
        s.backup.keep_days = 0;
        assert_eq!(s.validate().unwrap_err().key, "keep_days");
        let mut s = Settings::default();
        s.targets.overrides.push(s.targets.overrides[0].clone());
        let e = s.validate().unwrap_err();
        assert_eq!(e.key, "override_twice", "{e}");
    }

    #[test]
    fn secrets_are_masked_and_a_masked_value_keeps_the_old_one() {
        let mut old = Settings::default();
        old.intake.lineworks_bot_secret = Some("s3cret".into());
        old.intake.chatwork_webhook_token = Some("dG9rZW4=".into());
        let shown = old.masked();
        assert_eq!(
            shown.intake.lineworks_bot_secret.as_deref(),
            Some(SECRET_MASK)
        );
        let text = serde_json::to_string(&shown).unwrap();
        assert!(!text.contains("s3cret") && !text.contains("dG9rZW4="));
        let mut back = shown.clone();
        back.intake.chatwork_webhook_token = Some("".into());
        back.keep_secrets_from(&old);
        assert_eq!(back.intake.lineworks_bot_secret.as_deref(), Some("s3cret"));
        assert_eq!(back.intake.chatwork_webhook_token, None);
        let mut changed = shown;
        changed.intake.lineworks_bot_secret = Some("new".into());
        changed.keep_secrets_from(&old);
        assert_eq!(changed.intake.lineworks_bot_secret.as_deref(), Some("new"));
    }
}
