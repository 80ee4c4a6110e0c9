//! The clinic's settings, typed: calendar, response targets, on-duty roster, intake server.
//! Stored as one JSON value in the `settings` table; every field has a default a clinic would
//! accept, so an empty store works out of the box.

use crate::calendar::ClinicCalendar;
use crate::policy::PolicySettings;
use crate::triage::ResponseTargets;
use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};

/// Settings key in the store.
pub const SETTINGS_KEY: &str = "clinic";

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
        }
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
}
