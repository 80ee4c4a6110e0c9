//! The clinic's calendar: opening hours (default Mon–Fri 9:00–17:00 Asia/Tokyo, optional lunch
//! break), Japanese national holidays, year-end closure and extra closed days.
//! (Stub: to be completed — see issue 5.)

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Clinic opening hours and closed days. Serialisable: it lives in the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClinicCalendar {
    /// "HH:MM" in Asia/Tokyo.
    pub open: String,
    pub close: String,
}

impl Default for ClinicCalendar {
    fn default() -> Self {
        ClinicCalendar {
            open: "09:00".into(),
            close: "17:00".into(),
        }
    }
}

impl ClinicCalendar {
    /// Whether the clinic is open at `t`.
    pub fn is_open_at(&self, _t: DateTime<Utc>) -> bool {
        true
    }
    /// The first moment at or after `t` when the clinic is open.
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        t
    }
}
