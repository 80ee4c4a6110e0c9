//! Triage: response targets per category and urgency, due times on the clinic calendar, and the
//! one function that orders the queue. (Stub: to be completed — see issue 5.)

use crate::calendar::ClinicCalendar;
use crate::codes::{Category, Urgency};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Response targets (editable in settings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ResponseTargets {}

/// When an answer is due for an item received at `received_at`; `None` = no reply needed.
pub fn due_at(
    _cal: &ClinicCalendar,
    _targets: &ResponseTargets,
    _category: Category,
    urgency: Urgency,
    received_at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match urgency {
        Urgency::Urgent => Some(received_at + chrono::Duration::minutes(30)),
        Urgency::Today => Some(received_at + chrono::Duration::hours(4)),
        Urgency::Normal => Some(received_at + chrono::Duration::days(1)),
        Urgency::Fyi => None,
    }
}

/// What the queue order needs to know about one item.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueKey {
    pub id: i64,
    pub urgency: Urgency,
    pub due_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// Triage order: overdue first, then urgent → today → normal → fyi, then earliest due, then
/// arrival.
pub fn queue_order(a: &QueueKey, b: &QueueKey, now: DateTime<Utc>) -> Ordering {
    let overdue = |k: &QueueKey| k.due_at.is_some_and(|d| d < now);
    overdue(b)
        .cmp(&overdue(a))
        .then(a.urgency.cmp(&b.urgency))
        .then(a.due_at.cmp(&b.due_at))
        .then(a.received_at.cmp(&b.received_at))
        .then(a.id.cmp(&b.id))
}
