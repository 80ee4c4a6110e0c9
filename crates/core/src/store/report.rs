//! Read-only rows for the shift handover and the operations report (`desk/report.rs`): one
//! row per consultation with its times and who took it first, and the notification log's
//! times. No computation here beyond picking the rows.

use crate::args;
use crate::codes::{Category, Channel, Status, Urgency};
use crate::error::Result;
use chrono::{DateTime, Utc};

use super::sql::{Db, Row};
use super::ts;

/// One consultation as the report sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    /// The partner's name; `None` when unknown.
    pub partner: Option<String>,
    pub category: Category,
    pub urgency: Urgency,
    pub status: Status,
    pub owner: Option<String>,
    pub subject: String,
    pub due_at: Option<DateTime<Utc>>,
    /// The clinic's first response (ack, status change, reply or phone by staff).
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The first status change to acknowledged or in progress: when and by whom.
    pub taken_at: Option<DateTime<Utc>>,
    pub taken_by: Option<String>,
    /// The latest move to waiting_partner.
    pub waiting_since: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT c.id, c.received_at, c.channel, p.name, c.category, c.urgency,
        c.status, c.owner, c.subject, c.due_at, c.first_response_at, c.resolved_at,
        (SELECT s.at FROM status_changes s WHERE s.consultation_id = c.id
            AND s.to_status IN ('acknowledged', 'in_progress') ORDER BY s.id LIMIT 1),
        (SELECT s.by FROM status_changes s WHERE s.consultation_id = c.id
            AND s.to_status IN ('acknowledged', 'in_progress') ORDER BY s.id LIMIT 1),
        (SELECT max(s.at) FROM status_changes s WHERE s.consultation_id = c.id
            AND s.to_status = 'waiting_partner')
    FROM consultations c LEFT JOIN partners p ON p.id = c.partner_id";

fn row(r: &Row) -> Result<ReportRow> {
    Ok(ReportRow {
        id: r.get(0)?,
        received_at: r.ts(1)?,
        channel: r.code(2)?,
        partner: r.get(3)?,
        category: r.code(4)?,
        urgency: r.code(5)?,
        status: r.code(6)?,
        owner: r.get(7)?,
        subject: r.get(8)?,
        due_at: r.opt_ts(9)?,
        first_response_at: r.opt_ts(10)?,
        resolved_at: r.opt_ts(11)?,
        taken_at: r.opt_ts(12)?,
        taken_by: r.get(13)?,
        waiting_since: r.opt_ts(14)?,
    })
}

/// Consultations received in `[from, to)`, oldest first.
pub fn received_between(
    db: &dyn Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ReportRow>> {
    let sql = format!(
        "{SELECT} WHERE c.received_at >= ?1 AND c.received_at < ?2 ORDER BY c.received_at, c.id"
    );
    db.query_map(&sql, args![ts(from), ts(to)], row)
}

/// Open consultations (not resolved or declined) plus those received at or after `since`,
/// oldest first: what a handover looks at.
pub fn open_or_since(db: &dyn Db, since: DateTime<Utc>) -> Result<Vec<ReportRow>> {
    let sql = format!(
        "{SELECT} WHERE c.status NOT IN ('resolved', 'declined') OR c.received_at >= ?1
         ORDER BY c.received_at, c.id"
    );
    db.query_map(&sql, args![ts(since)], row)
}

/// The times of the notifications shown in `[from, to)`.
pub fn notification_times(
    db: &dyn Db,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>> {
    db.query_map(
        "SELECT at FROM notifications WHERE at >= ?1 AND at < ?2 ORDER BY at",
        args![ts(from), ts(to)],
        |r| r.ts(0),
    )
}
