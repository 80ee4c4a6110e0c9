//! The `outbox` and `reply_routes` tables (migration 5): replies waiting to go back to the
//! partner's chat, and where each inbound chat message came from.
//!
//! An entry moves `pending → sending` when a sender claims it (one `UPDATE … WHERE status =
//! 'pending'`, so two senders on one store never both claim it), then `sending → sent`,
//! `sending → pending` (retry later) or `sending → failed`. The result is recorded only for the
//! attempt that claimed it (`attempts` unchanged since). A `sending` entry whose lease ran out
//! was claimed by a sender that died before recording the provider's answer: it goes back to
//! `pending` marked `maybe_duplicate`. Times here are the sender's real clock, passed in.

use crate::args;
use crate::codes::Channel;
use crate::error::{Error, Result};
use crate::outbound::{DueEntry, OutboxEntry, OutboxKind, OutboxStatus, ReplyRoute, SendJob};
use chrono::{DateTime, Utc};

use super::sql::{Db, Row};
use super::ts;

/// Keeps where inbound chat message `message_id` came from.
pub fn record_route(
    db: &dyn Db,
    message_id: i64,
    consultation_id: i64,
    route: &ReplyRoute,
) -> Result<()> {
    db.execute(
        "INSERT INTO reply_routes (message_id, consultation_id, route) VALUES (?1, ?2, ?3)
         ON CONFLICT (message_id) DO UPDATE
             SET consultation_id = excluded.consultation_id, route = excluded.route",
        args![message_id, consultation_id, route_json(route)?],
    )?;
    Ok(())
}

/// The route of the newest inbound chat message of a consultation.
pub fn latest_route(db: &dyn Db, consultation_id: i64) -> Result<Option<ReplyRoute>> {
    let json: Option<String> = db.query_opt(
        "SELECT route FROM reply_routes WHERE consultation_id = ?1 ORDER BY message_id DESC LIMIT 1",
        args![consultation_id],
        |r| r.get(0),
    )?;
    json.map(|j| parse_route(&j)).transpose()
}

/// The thread key and sender name of a consultation: the way back for consultations taken in
/// before routes were kept (`ReplyRoute::from_thread`).
pub fn thread_of(db: &dyn Db, consultation_id: i64) -> Result<Option<(String, String)>> {
    db.query_opt(
        "SELECT thread_key, sender_name FROM consultations WHERE id = ?1 AND thread_key IS NOT NULL",
        args![consultation_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// A new `pending` entry for reply `message_id`, due at once.
pub fn insert(
    db: &dyn Db,
    consultation_id: i64,
    message_id: i64,
    route: &ReplyRoute,
    now: DateTime<Utc>,
) -> Result<i64> {
    insert_auto(
        db,
        consultation_id,
        message_id,
        route,
        OutboxKind::Reply,
        None,
        None,
        now,
    )
}

/// A new `pending` entry of `kind`: `unique_key` (e.g. `receipt:12`) makes a second entry with
/// the same key fail (the unique index), `text` is sent instead of the message's body.
#[allow(clippy::too_many_arguments)]
pub fn insert_auto(
    db: &dyn Db,
    consultation_id: i64,
    message_id: i64,
    route: &ReplyRoute,
    kind: OutboxKind,
    unique_key: Option<&str>,
    text: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64> {
    db.insert_id(
        "INSERT INTO outbox (consultation_id, message_id, channel, route, status, next_attempt_at, created_at, updated_at, kind, unique_key, text)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5, ?5, ?6, ?7, ?8) RETURNING id",
        args![
            consultation_id,
            message_id,
            route.channel().as_str(),
            route_json(route)?,
            ts(now),
            kind.as_str(),
            unique_key,
            text
        ],
    )
}

/// Whether an entry with this at-most-once key exists.
pub fn has_key(db: &dyn Db, unique_key: &str) -> Result<bool> {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE unique_key = ?1)",
        args![unique_key],
        |r| r.get(0),
    )
}

const COLUMNS: &str =
    "id, consultation_id, message_id, channel, route, status, attempts, last_error, \
                       remote_id, sent_at, next_attempt_at, maybe_duplicate, created_at, kind";

fn entry(r: &Row) -> Result<OutboxEntry> {
    let route: String = r.get(4)?;
    let status: String = r.get(5)?;
    Ok(OutboxEntry {
        id: r.get(0)?,
        consultation_id: r.get(1)?,
        message_id: r.get(2)?,
        kind: OutboxKind::parse(&r.get::<String>(13)?).unwrap_or_default(),
        channel: r.code::<Channel>(3)?,
        destination: serde_json::from_str::<ReplyRoute>(&route)
            .map(|x| x.describe())
            .unwrap_or_default(),
        status: OutboxStatus::parse(&status).unwrap_or(OutboxStatus::Pending),
        attempts: r.get(6)?,
        last_error: r.get(7)?,
        remote_id: r.get(8)?,
        sent_at: r.opt_ts(9)?,
        next_attempt_at: r.ts(10)?,
        maybe_duplicate: r.get(11)?,
        created_at: r.ts(12)?,
    })
}

/// One entry.
pub fn get(db: &dyn Db, id: i64) -> Result<OutboxEntry> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"),
        args![id],
        entry,
    )?
    .ok_or_else(|| {
        Error::NotFound(format!(
            "outbox entry {id} not found; `renkei outbox` lists them"
        ))
    })
}

/// Entries, newest first: of one consultation, or all (at most `limit`).
pub fn list(db: &dyn Db, consultation_id: Option<i64>, limit: usize) -> Result<Vec<OutboxEntry>> {
    db.query_map(
        &format!(
            "SELECT {COLUMNS} FROM outbox WHERE CAST(?1 AS BIGINT) IS NULL OR consultation_id = ?1
             ORDER BY id DESC LIMIT ?2"
        ),
        args![consultation_id, limit],
        entry,
    )
}

/// `sending` entries whose lease ran out (their sender died between claiming and recording)
/// go back to `pending`, marked `maybe_duplicate`. Returns how many.
pub fn recover_expired(db: &dyn Db, now: DateTime<Utc>) -> Result<usize> {
    Ok(db.execute(
        "UPDATE outbox SET status = 'pending', maybe_duplicate = 1, lease_until = NULL,
             next_attempt_at = ?1, updated_at = ?1,
             last_error = 'the sender stopped before the answer was recorded; sent again (may arrive twice)'
         WHERE status = 'sending' AND lease_until < ?1",
        args![ts(now)],
    )? as usize)
}

/// Pending entries due at `now`, oldest first.
pub fn due(db: &dyn Db, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueEntry>> {
    let rows = db.query_map(
        "SELECT id, route FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1
         ORDER BY next_attempt_at, id LIMIT ?2",
        args![ts(now), limit],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
    )?;
    rows.into_iter()
        .map(|(id, route)| {
            Ok(DueEntry {
                id,
                route: parse_route(&route)?,
            })
        })
        .collect()
}

/// Claims a due entry (`pending → sending`, one more attempt, leased until `lease_until`);
/// `None` when someone else claimed it first or it is not due.
pub fn claim(
    db: &dyn Db,
    id: i64,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<SendJob>> {
    let n = db.execute(
        "UPDATE outbox SET status = 'sending', attempts = attempts + 1, lease_until = ?3, updated_at = ?2
         WHERE id = ?1 AND status = 'pending' AND next_attempt_at <= ?2",
        args![id, ts(now), ts(lease_until)],
    )?;
    if n == 0 {
        return Ok(None);
    }
    // An entry's own text (the on-call message) goes out instead of its message's body.
    let (consultation_id, route, attempt, body, own): (i64, String, u32, String, Option<String>) =
        db.query_one(
            "SELECT o.consultation_id, o.route, o.attempts, m.body, o.text FROM outbox o
             JOIN messages m ON m.id = o.message_id WHERE o.id = ?1",
            args![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    let route = parse_route(&route)?;
    let (text, secret) = match &route {
        ReplyRoute::PartnerCallback { partner_id, .. } => (
            callback_payload(db, consultation_id, id)?,
            callback_of(db, *partner_id)?.map(|(_, secret)| secret),
        ),
        _ => match own {
            Some(text) => (text, None),
            None => (route.outgoing_text(&body), None),
        },
    };
    Ok(Some(SendJob {
        id,
        consultation_id,
        text,
        route,
        attempt,
        secret,
    }))
}

/// The JSON a partner's callback gets for outbox entry `id`.
fn callback_payload(db: &dyn Db, consultation_id: i64, id: i64) -> Result<String> {
    type Fields = (Option<String>, i64, String, String, String, String);
    let (external_id, mid, author, body, at, kind): Fields = db.query_one(
        "SELECT c.external_id, m.id, m.author, m.body, m.at, o.kind FROM outbox o
         JOIN messages m ON m.id = o.message_id JOIN consultations c ON c.id = o.consultation_id
         WHERE o.id = ?1",
        args![id],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )?;
    // The automatic receipt is its own event; its body has the same shape as a reply.
    let event = if kind == "receipt" {
        "consultation.receipt"
    } else {
        "consultation.reply"
    };
    Ok(serde_json::json!({
        "event": event,
        "consultation_id": consultation_id,
        "external_id": external_id,
        "reply": {"id": mid, "at": at, "author": author, "body": body},
    })
    .to_string())
}

/// The callback URL and secret a partner registered.
pub fn callback_of(db: &dyn Db, partner_id: i64) -> Result<Option<(String, String)>> {
    db.query_opt(
        "SELECT url, secret FROM partner_callbacks WHERE partner_id = ?1",
        args![partner_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Registers (or replaces) a partner's callback.
pub fn set_callback(
    db: &dyn Db,
    partner_id: i64,
    url: &str,
    secret: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    db.execute(
        "INSERT INTO partner_callbacks (partner_id, url, secret, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (partner_id) DO UPDATE
             SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at",
        args![partner_id, url, secret, ts(now)],
    )?;
    Ok(())
}

/// Removes a partner's callback; false when there was none.
pub fn clear_callback(db: &dyn Db, partner_id: i64) -> Result<bool> {
    Ok(db.execute(
        "DELETE FROM partner_callbacks WHERE partner_id = ?1",
        args![partner_id],
    )? == 1)
}

/// The partner of a consultation (callbacks are per partner).
pub fn partner_of(db: &dyn Db, consultation_id: i64) -> Result<Option<i64>> {
    Ok(db
        .query_opt(
            "SELECT partner_id FROM consultations WHERE id = ?1",
            args![consultation_id],
            |r| r.get::<Option<i64>>(0),
        )?
        .flatten())
}

/// Whether any `sending` entry's lease ran out (a cheap read before the recovery write).
pub fn any_expired(db: &dyn Db, now: DateTime<Utc>) -> Result<bool> {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'sending' AND lease_until < ?1)",
        args![ts(now)],
        |r| r.get(0),
    )
}

/// Records `sent` for attempt `attempt`; false when the entry moved on meanwhile.
pub fn mark_sent(
    db: &dyn Db,
    id: i64,
    attempt: u32,
    remote_id: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(db.execute(
        "UPDATE outbox SET status = 'sent', remote_id = ?3, sent_at = ?4, lease_until = NULL,
             last_error = NULL, updated_at = ?4
         WHERE id = ?1 AND status = 'sending' AND attempts = ?2",
        args![id, attempt, remote_id, ts(now)],
    )? == 1)
}

/// Back to `pending` until `next_at` with the problem; `unknown` marks a possible duplicate.
pub fn mark_retry(
    db: &dyn Db,
    id: i64,
    attempt: u32,
    error: &str,
    unknown: bool,
    next_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    // `CASE WHEN ?5 <> 0`: the flag is an integer on both engines (PostgreSQL has no
    // integer OR boolean).
    Ok(db.execute(
        "UPDATE outbox SET status = 'pending', last_error = ?3, next_attempt_at = ?4, lease_until = NULL,
             maybe_duplicate = CASE WHEN ?5 <> 0 THEN 1 ELSE maybe_duplicate END, updated_at = ?6
         WHERE id = ?1 AND status = 'sending' AND attempts = ?2",
        args![id, attempt, error, ts(next_at), i64::from(unknown), ts(now)],
    )? == 1)
}

/// `failed` with the provider's message.
pub fn mark_failed(
    db: &dyn Db,
    id: i64,
    attempt: u32,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(db.execute(
        "UPDATE outbox SET status = 'failed', last_error = ?3, lease_until = NULL, updated_at = ?4
         WHERE id = ?1 AND status = 'sending' AND attempts = ?2",
        args![id, attempt, error, ts(now)],
    )? == 1)
}

/// A failed entry becomes `pending` again, due at `now` (再送). Other states: a conflict.
pub fn resend(db: &dyn Db, id: i64, now: DateTime<Utc>) -> Result<()> {
    let e = get(db, id)?;
    if e.status != OutboxStatus::Failed {
        return Err(Error::Conflict(format!(
            "outbox entry {id} is {}, not failed; only a failed reply can be sent again",
            e.status.as_str()
        )));
    }
    db.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?2, updated_at = ?2 WHERE id = ?1",
        args![id, ts(now)],
    )?;
    Ok(())
}

fn route_json(route: &ReplyRoute) -> Result<String> {
    serde_json::to_string(route).map_err(|e| Error::Integrity(format!("reply route: {e}")))
}

fn parse_route(json: &str) -> Result<ReplyRoute> {
    serde_json::from_str(json)
        .map_err(|e| Error::Integrity(format!("unreadable reply route in the store: {e}")))
}
