//! The `consultations` table and its history (`status_changes`, `read_receipts`): inserting,
//! reading rows for the queue, finding an open thread, and validated status changes.

use crate::args;
use crate::codes::{Category, Channel, PartnerKind, Status, Urgency};
use crate::error::{Error, Result};
use crate::model::{QueueRow, ReadReceipt, Sender, StatusChange};
use chrono::{DateTime, Utc};

use super::sql::{Db, Row, Value};
use super::ts;

/// Everything needed to insert a consultation row.
#[derive(Debug, Clone)]
pub struct ConsultationInsert {
    pub channel: Channel,
    pub partner_id: Option<i64>,
    pub external_id: Option<String>,
    pub thread_key: Option<String>,
    pub category: Category,
    pub urgency: Urgency,
    pub urgency_reason: Option<String>,
    pub urgency_confirmed: bool,
    pub subject: String,
    pub due_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    pub patient_ref: Option<String>,
    pub sender: Sender,
    pub owner: Option<String>,
    pub pii_flags_json: String,
}

pub fn insert(db: &dyn Db, c: &ConsultationInsert) -> Result<i64> {
    let at = ts(c.received_at);
    let values = args![
        c.channel.as_str(),
        c.partner_id,
        &c.external_id,
        &c.thread_key,
        c.category.as_str(),
        c.urgency.as_str(),
        &c.urgency_reason,
        c.urgency_confirmed,
        &c.subject,
        &c.owner,
        c.due_at.map(ts),
        at.as_str(),
        &c.patient_ref,
        &c.sender.name,
        &c.sender.role,
        &c.sender.phone,
        &c.pii_flags_json,
    ];
    const COLUMNS: &str = "channel, partner_id, external_id, thread_key, category, urgency,
            urgency_reason, urgency_confirmed, subject, status, owner, due_at, received_at,
            last_activity_at, last_inbound_at, patient_ref, sender_name, sender_role, sender_phone, pii_flags";
    const VALUES: &str =
        "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'new', ?10, ?11, ?12, ?12, ?12, ?13, ?14, ?15, ?16, ?17";
    let id = match db.reserve_id("consultations")? {
        // PostgreSQL's writer: the id first, the rows sent with the commit (`Db::execute_later`).
        Some(id) => {
            let mut with_id = values.to_vec();
            with_id.push(Value::Int(id));
            db.execute_later(
                &format!("INSERT INTO consultations ({COLUMNS}, id) VALUES ({VALUES}, ?18)"),
                &with_id,
            )?;
            id
        }
        None => db.insert_id(
            &format!("INSERT INTO consultations ({COLUMNS}) VALUES ({VALUES}) RETURNING id"),
            values,
        )?,
    };
    db.execute_later(
        "INSERT INTO status_changes (consultation_id, from_status, to_status, by, at) VALUES (?1, NULL, 'new', ?2, ?3)",
        args![id, "system", at],
    )?;
    Ok(id)
}

const ROW_SQL: &str = "SELECT c.id, c.received_at, c.channel, COALESCE(p.name, ''), COALESCE(p.kind, 'other'),
    c.category, c.urgency, c.urgency_reason, c.urgency_confirmed, c.status, c.owner, c.due_at, c.subject,
    (SELECT count(*) FROM attachments a WHERE a.consultation_id = c.id),
    (SELECT count(*) FROM messages m WHERE m.consultation_id = c.id),
    (c.last_read_at IS NULL OR c.last_read_at < c.last_inbound_at),
    c.snoozed_until, c.last_activity_at, c.version
    FROM consultations c LEFT JOIN partners p ON p.id = c.partner_id";

/// Name shown when a document has no known sender.
pub const UNKNOWN_PARTNER: &str = "（送信元未設定）";

fn row_from(r: &Row, now: DateTime<Utc>) -> Result<QueueRow> {
    let due_at = r.opt_ts(11)?;
    let status: Status = r.code(9)?;
    let partner: String = r.get(3)?;
    Ok(QueueRow {
        id: r.get(0)?,
        received_at: r.ts(1)?,
        channel: r.code(2)?,
        partner: if partner.is_empty() {
            UNKNOWN_PARTNER.to_string()
        } else {
            partner
        },
        partner_kind: r.code::<PartnerKind>(4)?,
        category: r.code(5)?,
        urgency: r.code(6)?,
        urgency_reason: r.get(7)?,
        urgency_confirmed: r.get(8)?,
        status,
        owner: r.get(10)?,
        due_at,
        overdue: status.is_open() && due_at.is_some_and(|d| d < now),
        subject: r.get(12)?,
        attachments: r.get(13)?,
        messages: r.get(14)?,
        unread: r.get(15)?,
        snoozed_until: r.opt_ts(16)?,
        last_activity_at: r.ts(17)?,
        version: r.get(18)?,
    })
}

pub fn get_row(db: &dyn Db, id: i64, now: DateTime<Utc>) -> Result<QueueRow> {
    db.query_opt(&format!("{ROW_SQL} WHERE c.id = ?1"), args![id], |r| {
        row_from(r, now)
    })?
    .ok_or_else(|| not_found(id))
}

/// The queue rows of `ids` (in no particular order; ids not found are left out): one query for
/// what a group commit answers.
pub fn get_rows(db: &dyn Db, ids: &[i64], now: DateTime<Utc>) -> Result<Vec<QueueRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let (filter, arg) = match db.backend() {
        super::sql::Backend::Sqlite => (
            "c.id IN (SELECT value FROM json_each(?1))",
            format!("[{list}]"),
        ),
        super::sql::Backend::Postgres => (
            "c.id = ANY(CAST(string_to_array(?1, ',') AS BIGINT[]))",
            list,
        ),
    };
    db.query_map(&format!("{ROW_SQL} WHERE {filter}"), args![arg], |r| {
        row_from(r, now)
    })
}

pub fn not_found(id: i64) -> Error {
    Error::NotFound(format!(
        "consultation {id} not found; `renkei queue --all` lists the ids"
    ))
}

/// Filters of the queue; all optional.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct QueueFilter {
    /// Include resolved and declined items.
    pub all: bool,
    pub category: Option<Category>,
    pub urgency: Option<Urgency>,
    pub status: Option<Status>,
    pub partner_id: Option<i64>,
    pub owner: Option<String>,
    /// Only items with no owner.
    pub unowned: bool,
    /// Free text (FTS trigram, LIKE fallback for 1–2 characters).
    pub search: Option<String>,
    /// Restrict to these ids (set by search).
    #[serde(skip)]
    pub ids: Option<Vec<i64>>,
    pub limit: Option<usize>,
}

impl QueueFilter {
    /// True when the filter narrows nothing among the open items (`all` only adds the closed
    /// ones): its rows hold every open consultation, so the status-bar counts
    /// ([`crate::model::QueueCounts::of`]) can be taken from them without a second read.
    pub fn holds_every_open_item(&self) -> bool {
        let QueueFilter {
            all: _,
            category,
            urgency,
            status,
            partner_id,
            owner,
            unowned,
            search,
            ids,
            limit,
        } = self;
        category.is_none()
            && urgency.is_none()
            && status.is_none()
            && partner_id.is_none()
            && owner.is_none()
            && !unowned
            && search.as_deref().is_none_or(|s| s.trim().is_empty())
            && ids.is_none()
            && limit.is_none()
    }
}

/// Rows matching the filter (unordered: the triage order is `triage::queue_order`).
pub fn list_rows(db: &dyn Db, f: &QueueFilter, now: DateTime<Utc>) -> Result<Vec<QueueRow>> {
    let mut wh: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    if !f.all && f.status.is_none() {
        wh.push("c.status NOT IN ('resolved', 'declined')".into());
    }
    let mut eq = |col: &str, v: Value| {
        args.push(v);
        wh.push(format!("{col} = ?{}", args.len()));
    };
    if let Some(c) = f.category {
        eq("c.category", Value::Text(c.as_str().into()));
    }
    if let Some(u) = f.urgency {
        eq("c.urgency", Value::Text(u.as_str().into()));
    }
    if let Some(s) = f.status {
        eq("c.status", Value::Text(s.as_str().into()));
    }
    if let Some(p) = f.partner_id {
        eq("c.partner_id", Value::Int(p));
    }
    if let Some(o) = &f.owner {
        eq("c.owner", Value::Text(o.clone()));
    }
    if f.unowned {
        wh.push("c.owner IS NULL".into());
    }
    if let Some(ids) = &f.ids {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        wh.push(format!("c.id IN ({})", list.join(",")));
    }
    let where_sql = if wh.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", wh.join(" AND "))
    };
    let sql = match f.limit {
        // The open queue's first page: walk the partial index of open items in triage order.
        Some(limit) if !f.all && f.status.is_none() && f.ids.is_none() => {
            let ids = open_page_ids(db, &where_sql, &args, now, limit)?;
            args.clear();
            let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            format!("{ROW_SQL} WHERE c.id IN ({})", list.join(","))
        }
        // Only the first `limit` rows in triage order: ordered and cut in SQL, then the full
        // rows for just those ids. The caller still sorts with `triage::queue_order`; this
        // order must pick the same rows.
        Some(limit) => {
            args.push(Value::Text(ts(now)));
            let now_arg = args.len();
            format!(
                "{ROW_SQL} WHERE c.id IN (SELECT c.id FROM consultations c{where_sql} ORDER BY {} LIMIT {limit})",
                triage_order_sql(now_arg)
            )
        }
        None => format!("{ROW_SQL}{where_sql}"),
    };
    db.query_map(&sql, &args, |r| row_from(r, now))
}

/// Ids of the first `limit` open items in triage order, without sorting every open item: the
/// partial index `consultations_queue (urgency, due_at, received_at) WHERE open` already holds
/// each urgency's items in due order, so the order is a concatenation of short index range
/// scans — overdue items of each urgency (most urgent first), then per urgency the items due
/// later and those with no due time — each stopping as soon as the page is full. Snoozed items
/// (last in the order) are only looked for when the page is not full yet.
fn open_page_ids(
    db: &dyn Db,
    where_sql: &str,
    args: &[Value],
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<i64>> {
    const URGENCIES: [&str; 4] = ["urgent", "today", "normal", "fyi"];
    let now_arg = args.len() + 1;
    let limit_arg = args.len() + 2;
    let awake = format!("(c.snoozed_until IS NULL OR c.snoozed_until <= ?{now_arg})");
    let mut tiers: Vec<String> = Vec::new();
    let (urgent, others) = URGENCIES.split_at(1);
    // Open urgent items lead (overdue, then due later, then without a due time); then the
    // overdue items of the other urgencies; then those due later / without a due time.
    for u in urgent.iter().chain(others) {
        tiers.push(format!(
            "c.urgency = '{u}' AND c.due_at < ?{now_arg} AND {awake} ORDER BY c.due_at, c.received_at, c.id"
        ));
        if *u == "urgent" {
            tiers.push(format!(
                "c.urgency = '{u}' AND c.due_at >= ?{now_arg} AND {awake} ORDER BY c.due_at, c.received_at, c.id"
            ));
            tiers.push(format!(
                "c.urgency = '{u}' AND c.due_at IS NULL AND {awake} ORDER BY c.received_at, c.id"
            ));
        }
    }
    for u in others {
        tiers.push(format!(
            "c.urgency = '{u}' AND c.due_at >= ?{now_arg} AND {awake} ORDER BY c.due_at, c.received_at, c.id"
        ));
        tiers.push(format!(
            "c.urgency = '{u}' AND c.due_at IS NULL AND {awake} ORDER BY c.received_at, c.id"
        ));
    }
    tiers.push(format!(
        "c.snoozed_until > ?{now_arg} ORDER BY {}",
        triage_order_sql(now_arg)
    ));
    let mut ids: Vec<i64> = Vec::with_capacity(limit);
    for tier in tiers {
        if ids.len() >= limit {
            break;
        }
        let sql =
            format!("SELECT c.id FROM consultations c{where_sql} AND {tier} LIMIT ?{limit_arg}");
        let mut a = args.to_vec();
        a.push(Value::Text(ts(now)));
        a.push(Value::from(limit - ids.len()));
        ids.extend(db.query_map(&sql, &a, |r| r.get::<i64>(0))?);
    }
    Ok(ids)
}

/// `ORDER BY` terms equal to `triage::queue_order` (`?{now}` = now as stored text; stored
/// timestamps have fixed precision, so text order is time order): snoozed last, open urgent
/// first, then overdue, urgency, earliest due (none last; closed items count as having none),
/// arrival, id.
fn triage_order_sql(now: usize) -> String {
    const OPEN: &str = "c.status NOT IN ('resolved', 'declined')";
    format!(
        "(c.snoozed_until IS NOT NULL AND c.snoozed_until > ?{now}), \
         ({OPEN} AND c.urgency = 'urgent') DESC, \
         ({OPEN} AND c.due_at IS NOT NULL AND c.due_at < ?{now}) DESC, \
         CASE c.urgency WHEN 'urgent' THEN 0 WHEN 'today' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, \
         (CASE WHEN {OPEN} THEN c.due_at END) IS NULL, CASE WHEN {OPEN} THEN c.due_at END, \
         c.received_at, c.id"
    )
}

/// The query of [`find_open_thread`] (its plan is checked in the migrations' tests).
pub(crate) const FIND_OPEN_THREAD_SQL: &str = "SELECT id FROM consultations WHERE channel = ?1
           AND partner_id IS NOT DISTINCT FROM CAST(?2 AS BIGINT) AND thread_key = ?3
           AND status NOT IN ('resolved', 'declined') ORDER BY id DESC LIMIT 1";

/// The open consultation of a thread, if any.
pub fn find_open_thread(
    db: &dyn Db,
    channel: Channel,
    partner_id: Option<i64>,
    thread_key: &str,
) -> Result<Option<i64>> {
    // `IS NOT DISTINCT FROM`: NULL matches NULL (SQLite reads it as `IS`, same index use).
    db.query_opt(
        FIND_OPEN_THREAD_SQL,
        args![channel.as_str(), partner_id, thread_key],
        |r| r.get(0),
    )
}

/// When consultation `id` last heard from outside: its arrival or its latest inbound follow-up
/// (staff work on it does not count). `None` for an unknown id.
pub fn last_inbound(db: &dyn Db, id: i64) -> Result<Option<DateTime<Utc>>> {
    // The later of the two, taken here: SQLite's two-argument MAX is PostgreSQL's GREATEST.
    db.query_opt(
        "SELECT COALESCE(last_inbound_at, received_at), received_at FROM consultations WHERE id = ?1",
        args![id],
        |r| Ok(r.ts(0)?.max(r.ts(1)?)),
    )
}

/// Extra columns of one consultation not in the queue row.
#[derive(Debug, Clone)]
pub struct ConsultationExtra {
    pub partner_id: Option<i64>,
    pub external_id: Option<String>,
    pub patient_ref: Option<String>,
    pub sender: Sender,
    pub pii_flags_json: String,
    pub first_read_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
}

pub fn get_extra(db: &dyn Db, id: i64) -> Result<ConsultationExtra> {
    db.query_opt(
        "SELECT partner_id, external_id, patient_ref, sender_name, sender_role, sender_phone, pii_flags,
                first_read_at, acknowledged_at FROM consultations WHERE id = ?1",
        args![id],
        |r| {
            Ok(ConsultationExtra {
                partner_id: r.get(0)?,
                external_id: r.get(1)?,
                patient_ref: r.get(2)?,
                sender: Sender { name: r.get(3)?, role: r.get(4)?, phone: r.get(5)? },
                pii_flags_json: r.get(6)?,
                first_read_at: r.opt_ts(7)?,
                acknowledged_at: r.opt_ts(8)?,
            })
        },
    )?
    .ok_or_else(|| not_found(id))
}

/// Who owns consultation `id` (`None`: nobody yet).
pub fn owner_of(db: &dyn Db, id: i64) -> Result<Option<String>> {
    db.query_opt(
        "SELECT owner FROM consultations WHERE id = ?1",
        args![id],
        |r| r.get(0),
    )?
    .ok_or_else(|| not_found(id))
}

pub fn status_of(db: &dyn Db, id: i64) -> Result<Status> {
    db.query_opt(
        "SELECT status FROM consultations WHERE id = ?1",
        args![id],
        |r| r.code(0),
    )?
    .ok_or_else(|| not_found(id))
}

/// Moves a consultation to `to`, recording who and when. Invalid transitions change nothing.
pub fn change_status(
    db: &dyn Db,
    id: i64,
    to: Status,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Status> {
    let from = status_of(db, id)?;
    if !from.can_move_to(to) {
        let hint = if from == to {
            format!("it is already '{to}'")
        } else if !from.is_open() {
            "it is closed; reopen it with status in_progress first".to_string()
        } else {
            "allowed: new → acknowledged → in_progress → waiting_partner → resolved, or declined"
                .to_string()
        };
        return Err(Error::InvalidTransition {
            from: from.as_str().into(),
            to: to.as_str().into(),
            hint,
        });
    }
    let at = ts(now);
    db.execute(
        "UPDATE consultations SET version = version + 1, status = ?1, last_activity_at = ?2,
            acknowledged_at = CASE WHEN ?1 != 'new' AND acknowledged_at IS NULL THEN ?2 ELSE acknowledged_at END,
            resolved_at = CASE WHEN ?1 IN ('resolved', 'declined') THEN ?2 ELSE NULL END,
            snoozed_until = CASE WHEN ?1 IN ('resolved', 'declined') THEN NULL ELSE snoozed_until END
         WHERE id = ?3",
        args![to.as_str(), at.as_str(), id],
    )?;
    db.execute(
        "INSERT INTO status_changes (consultation_id, from_status, to_status, by, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        args![id, from.as_str(), to.as_str(), by, at],
    )?;
    Ok(from)
}

pub fn set_owner(db: &dyn Db, id: i64, owner: Option<&str>, now: DateTime<Utc>) -> Result<()> {
    let n = db.execute(
        "UPDATE consultations SET version = version + 1, owner = ?1, last_activity_at = ?2 WHERE id = ?3",
        args![owner, ts(now), id],
    )?;
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

pub fn set_urgency(
    db: &dyn Db,
    id: i64,
    u: Urgency,
    due_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<()> {
    let n = db.execute(
        "UPDATE consultations SET version = version + 1, urgency = ?1, urgency_confirmed = 1, due_at = ?2, last_activity_at = ?3 WHERE id = ?4",
        args![u.as_str(), due_at.map(ts), ts(now), id],
    )?;
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

pub fn set_category(
    db: &dyn Db,
    id: i64,
    c: Category,
    due_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let n = db.execute(
        "UPDATE consultations SET version = version + 1, category = ?1, due_at = ?2 WHERE id = ?3",
        args![c.as_str(), due_at.map(ts), id],
    )?;
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

pub fn set_snooze(db: &dyn Db, id: i64, until: Option<DateTime<Utc>>) -> Result<()> {
    let n = db.execute(
        "UPDATE consultations SET version = version + 1, snoozed_until = ?1 WHERE id = ?2",
        args![until.map(ts), id],
    )?;
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(())
}

/// Marks activity: a new inbound message (unread again) or a clinic response.
pub fn touch(
    db: &dyn Db,
    id: i64,
    inbound: bool,
    response: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let at = ts(now);
    // `?2 <> 0`: PostgreSQL wants a boolean after WHEN; the flags are bound as integers.
    db.execute(
        "UPDATE consultations SET version = version + 1, last_activity_at = ?1,
            last_inbound_at = CASE WHEN ?2 <> 0 THEN ?1 ELSE last_inbound_at END,
            first_response_at = CASE WHEN ?3 <> 0 AND first_response_at IS NULL THEN ?1 ELSE first_response_at END
         WHERE id = ?4",
        args![at, i64::from(inbound), i64::from(response), id],
    )?;
    Ok(())
}

/// Records that `by` read the consultation.
pub fn mark_read(db: &dyn Db, id: i64, by: &str, now: DateTime<Utc>) -> Result<()> {
    let at = ts(now);
    let n = db.execute(
        "UPDATE consultations SET last_read_at = ?1, first_read_at = COALESCE(first_read_at, ?1) WHERE id = ?2",
        args![at.as_str(), id],
    )?;
    if n == 0 {
        return Err(not_found(id));
    }
    db.execute(
        "INSERT INTO read_receipts (consultation_id, by, at) VALUES (?1, ?2, ?3)",
        args![id, by, at],
    )?;
    Ok(())
}

pub fn history(db: &dyn Db, id: i64) -> Result<Vec<StatusChange>> {
    db.query_map(
        "SELECT from_status, to_status, by, at FROM status_changes WHERE consultation_id = ?1 ORDER BY id",
        args![id],
        |r| {
            Ok(StatusChange {
                from: match r.get::<Option<String>>(0)? {
                    Some(_) => Some(r.code(0)?),
                    None => None,
                },
                to: r.code(1)?,
                by: r.get(2)?,
                at: r.ts(3)?,
            })
        },
    )
}

pub fn reads(db: &dyn Db, id: i64) -> Result<Vec<ReadReceipt>> {
    db.query_map(
        "SELECT by, at FROM read_receipts WHERE consultation_id = ?1 ORDER BY at",
        args![id],
        |r| {
            Ok(ReadReceipt {
                by: r.get(0)?,
                at: r.ts(1)?,
            })
        },
    )
}

/// Urgent consultations nobody has taken (still `new`) that arrived between `from` and
/// `until`, without an on-call message yet (key `oncall:<id>`), oldest first.
pub fn untaken_urgent(db: &dyn Db, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<i64>> {
    db.query_map(
        "SELECT c.id FROM consultations c
         WHERE c.status = 'new' AND c.urgency = 'urgent' AND c.received_at > ?1 AND c.received_at <= ?2
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.unique_key = 'oncall:' || CAST(c.id AS TEXT))
         ORDER BY c.received_at, c.id LIMIT 100",
        args![ts(from), ts(until)],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DataDir, Store};
    use chrono::Duration;
    use rusqlite::params;

    /// Only a filter that narrows nothing among the open items lets the counts be taken from
    /// its rows; `all` (closed items added) still does, each narrowing field does not.
    #[test]
    fn only_an_unnarrowed_filter_holds_every_open_item() {
        let open = QueueFilter::default();
        assert!(open.holds_every_open_item());
        let blank_search = QueueFilter {
            all: true,
            search: Some("  ".into()),
            ..QueueFilter::default()
        };
        assert!(blank_search.holds_every_open_item());
        let narrowed = [
            QueueFilter {
                category: Some(Category::Discharge),
                ..open.clone()
            },
            QueueFilter {
                urgency: Some(Urgency::Urgent),
                ..open.clone()
            },
            QueueFilter {
                status: Some(Status::New),
                ..open.clone()
            },
            QueueFilter {
                partner_id: Some(1),
                ..open.clone()
            },
            QueueFilter {
                owner: Some("大野".into()),
                ..open.clone()
            },
            QueueFilter {
                unowned: true,
                ..open.clone()
            },
            QueueFilter {
                search: Some("退院".into()),
                ..open.clone()
            },
            QueueFilter {
                ids: Some(vec![1]),
                ..open.clone()
            },
            QueueFilter {
                limit: Some(10),
                ..open.clone()
            },
        ];
        for f in narrowed {
            assert!(!f.holds_every_open_item(), "{f:?}");
        }
    }

    /// The first page computed in SQL picks exactly the rows of a full sort in triage order.
    #[test]
    fn first_page_matches_the_full_triage_sort() {
        let tmp = std::env::temp_dir().join(format!("renkei-page-{}", std::process::id()));
        let store = Store::open_in_memory(&DataDir::new(&tmp)).unwrap();
        let conn = store.conn();
        let now = Utc::now();
        let urg = [
            Urgency::Urgent,
            Urgency::Today,
            Urgency::Normal,
            Urgency::Fyi,
        ];
        for i in 0..400i64 {
            let received = now - Duration::minutes((i * 37) % 900);
            let u = urg[(i % 4) as usize];
            let due = match (u, i % 7) {
                (Urgency::Fyi, _) | (_, 6) => None,
                _ => Some(received + Duration::minutes((i * 13) % 600)),
            };
            let id = insert(
                conn,
                &ConsultationInsert {
                    channel: Channel::Manual,
                    partner_id: None,
                    external_id: None,
                    thread_key: None,
                    category: if i % 3 == 0 {
                        Category::Discharge
                    } else {
                        Category::Info
                    },
                    urgency: u,
                    urgency_reason: None,
                    urgency_confirmed: false,
                    subject: format!("s{i}"),
                    due_at: due,
                    received_at: received,
                    patient_ref: None,
                    sender: Sender::default(),
                    owner: None,
                    pii_flags_json: "[]".into(),
                },
            )
            .unwrap();
            if i % 5 == 0 {
                conn.execute(
                    "UPDATE consultations SET status = 'resolved' WHERE id = ?1",
                    [id],
                )
                .unwrap();
            }
            if i % 11 == 0 {
                let until = ts(now + Duration::minutes(if i % 2 == 0 { 30 } else { -30 }));
                conn.execute(
                    "UPDATE consultations SET snoozed_until = ?1 WHERE id = ?2",
                    params![until, id],
                )
                .unwrap();
            }
        }
        let keys = |rows: &[QueueRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        for all in [false, true] {
            for category in [None, Some(Category::Discharge)] {
                let base = QueueFilter {
                    all,
                    category,
                    ..QueueFilter::default()
                };
                let mut full = list_rows(conn, &base, now).unwrap();
                crate::desk::sort_rows(&mut full, now);
                for limit in [1, 7, 50, 200, 1000] {
                    let f = QueueFilter {
                        limit: Some(limit),
                        ..base.clone()
                    };
                    let mut page = list_rows(conn, &f, now).unwrap();
                    crate::desk::sort_rows(&mut page, now);
                    let want: Vec<i64> = keys(&full).into_iter().take(limit).collect();
                    assert_eq!(
                        keys(&page),
                        want,
                        "all={all} category={category:?} limit={limit}"
                    );
                }
            }
        }
    }
}
