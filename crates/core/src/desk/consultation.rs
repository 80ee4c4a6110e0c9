//! The queue, one consultation in detail, and what staff change on it: status, owner,
//! urgency, category, snooze, messages.

use super::{target, Desk};
use crate::codes::{Category, Status, Urgency};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::consultations::{self, QueueFilter};
use crate::store::sql::Db;
use crate::store::{self, attachments, messages, search};
use crate::triage;
use chrono::{DateTime, Utc};

impl Desk {
    /// The queue in triage order.
    pub fn queue(&mut self, filter: &QueueFilter) -> Result<Vec<QueueRow>> {
        let now = self.now();
        let mut f = filter.clone();
        if let Some(q) = f.search.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            // For one page, the newest matches suffice (each candidate costs a row lookup:
            // 10,000 of them took ~100 ms on a 1M-consultation store, docs/benchmarks.md).
            let candidates = f
                .limit
                .map_or(10_000, |l| l.saturating_mul(10).clamp(200, 10_000));
            f.ids = Some(search::search(self.store.db(), q, candidates)?);
        }
        let mut rows = consultations::list_rows(self.store.db(), &f, now)?;
        sort_rows(&mut rows, now);
        if let Some(l) = f.limit {
            rows.truncate(l);
        }
        Ok(rows)
    }

    /// One consultation with everything about it. With `reader`, records the read (receipt +
    /// audit), as opening it in the UI does.
    pub fn show(&mut self, id: i64, reader: Option<&str>) -> Result<ConsultationDetail> {
        if let Some(by) = reader {
            self.audited(by.to_string(), |c| {
                consultations::mark_read(c.tx, id, c.by, c.now)?;
                c.audit("consultation.read", Some(&target(id)), "")
            })?;
        }
        let now = self.now();
        self.store.read(|tx| detail(tx, id, now))
    }

    /// Sets a status; invalid transitions change nothing.
    pub fn set_status(&mut self, id: i64, to: Status, by: &str) -> Result<QueueRow> {
        let s = self.settings.clone();
        self.act(by, |c| {
            let from = consultations::change_status(c.tx, id, to, c.by, c.now)?;
            if to == Status::Acknowledged && consultations::owner_of(c.tx, id)?.is_none() {
                consultations::set_owner(c.tx, id, Some(c.by), c.now)?;
            }
            consultations::touch(c.tx, id, false, true, c.now)?;
            c.audit(
                "consultation.status",
                Some(&target(id)),
                &format!("{from} -> {to}"),
            )?;
            if from == Status::New && to.is_open() {
                super::receipts::queue_receipt(c, id, &s)?;
            }
            consultations::get_row(c.tx, id, c.now)
        })
    }

    /// Takes responsibility: owner = `by`, status → acknowledged (if still new).
    pub fn ack(&mut self, id: i64, by: &str) -> Result<QueueRow> {
        let s = self.settings.clone();
        self.act(by, |c| {
            let status = consultations::status_of(c.tx, id)?;
            if !status.is_open() {
                return Err(Error::InvalidTransition {
                    from: status.as_str().into(),
                    to: Status::Acknowledged.as_str().into(),
                    hint: "it is already closed; reopen it with status in_progress first".into(),
                });
            }
            if status == Status::New {
                consultations::change_status(c.tx, id, Status::Acknowledged, c.by, c.now)?;
            }
            consultations::set_owner(c.tx, id, Some(c.by), c.now)?;
            consultations::touch(c.tx, id, false, true, c.now)?;
            c.audit("consultation.ack", Some(&target(id)), "")?;
            if status == Status::New {
                super::receipts::queue_receipt(c, id, &s)?;
            }
            consultations::get_row(c.tx, id, c.now)
        })
    }

    /// Resolves from any open status.
    pub fn resolve(&mut self, id: i64, by: &str) -> Result<QueueRow> {
        self.set_status(id, Status::Resolved, by)
    }

    /// Assigns an owner (or clears it with `None`).
    pub fn assign(&mut self, id: i64, owner: Option<&str>, by: &str) -> Result<QueueRow> {
        let by = super::actor(by)?;
        let owner = owner
            .map(crate::model::clean_line)
            .filter(|o| !o.is_empty());
        let s = self.settings.clone();
        self.audited(by, |c| {
            let status = consultations::status_of(c.tx, id)?;
            consultations::set_owner(c.tx, id, owner.as_deref(), c.now)?;
            c.audit(
                "consultation.assign",
                Some(&target(id)),
                owner.as_deref().unwrap_or("-"),
            )?;
            // Given an owner while still new: taken (the receipt names the owner).
            if status == Status::New && owner.is_some() {
                super::receipts::queue_receipt(c, id, &s)?;
            }
            consultations::get_row(c.tx, id, c.now)
        })
    }

    /// Staff confirm or change the urgency; the due time follows.
    pub fn set_urgency(&mut self, id: i64, u: Urgency, by: &str) -> Result<QueueRow> {
        self.retriage(id, by, None, Some(u))
    }

    /// Staff change the category; the due time follows (targets may differ per category).
    pub fn set_category(&mut self, id: i64, c: Category, by: &str) -> Result<QueueRow> {
        self.retriage(id, by, Some(c), None)
    }

    /// Changes category and/or urgency, recomputes the due time from both, audits each change.
    fn retriage(
        &mut self,
        id: i64,
        by: &str,
        category: Option<Category>,
        urgency: Option<Urgency>,
    ) -> Result<QueueRow> {
        let s = self.settings.clone();
        self.act(by, |c| {
            let row = consultations::get_row(c.tx, id, c.now)?;
            let (cat, u) = (
                category.unwrap_or(row.category),
                urgency.unwrap_or(row.urgency),
            );
            let due = triage::due_at(&s.calendar, &s.targets, cat, u, row.received_at);
            if let Some(u) = urgency {
                consultations::set_urgency(c.tx, id, u, due, c.now)?;
                let detail = format!("{} -> {u}", row.urgency);
                c.audit("consultation.urgency", Some(&target(id)), &detail)?;
            }
            if let Some(cat) = category {
                consultations::set_category(c.tx, id, cat, due)?;
                let detail = format!("{} -> {cat}", row.category);
                c.audit("consultation.category", Some(&target(id)), &detail)?;
            }
            consultations::get_row(c.tx, id, c.now)
        })
    }

    /// Hides an item from the top of the queue until `until` (`None` wakes it).
    pub fn snooze(&mut self, id: i64, until: Option<DateTime<Utc>>, by: &str) -> Result<QueueRow> {
        let by = super::actor(by)?;
        if until.is_some_and(|u| u <= self.now()) {
            return Err(Error::invalid(
                "until",
                "the snooze time is in the past; pick a later time",
            ));
        }
        self.audited(by, |c| {
            consultations::set_snooze(c.tx, id, until)?;
            let detail = until.map(store::ts).unwrap_or_else(|| "-".into());
            c.audit("consultation.snooze", Some(&target(id)), &detail)?;
            consultations::get_row(c.tx, id, c.now)
        })
    }

    /// Adds a reply, internal note or phone log to the thread. A reply written here is not
    /// sent anywhere; [`Desk::reply`] sends it back on the consultation's channel.
    pub fn add_message(
        &mut self,
        id: i64,
        kind: MessageKind,
        body: &str,
        by: &str,
    ) -> Result<Message> {
        let by = super::actor(by)?;
        if kind == MessageKind::Receipt {
            return Err(Error::invalid(
                "kind",
                "the receipt is written by the app when someone takes the item; write a reply (reply) or a note instead",
            ));
        }
        let body = message_body(body)?;
        self.audited(by, |c| {
            consultations::status_of(c.tx, id)?;
            insert_message(c, id, kind, &body)
        })
    }
}

/// A message text as stored: trimmed, not empty, not too long.
pub(super) fn message_body(body: &str) -> Result<String> {
    let body = body.trim().to_string();
    if body.is_empty() {
        return Err(Error::invalid(
            "body",
            "the message is empty; write something before saving",
        ));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(Error::invalid(
            "body",
            format!("the message is longer than {MAX_BODY_CHARS} characters"),
        ));
    }
    Ok(body)
}

/// Appends a message by the acting name to the thread of `id` (which exists), indexed and
/// audited, inside the change's transaction.
pub(super) fn insert_message(
    c: &super::Change<'_>,
    id: i64,
    kind: MessageKind,
    body: &str,
) -> Result<Message> {
    let mid = messages::insert(c.tx, id, kind, c.by, body, c.now)?;
    let response = matches!(kind, MessageKind::Reply | MessageKind::Phone);
    consultations::touch(c.tx, id, kind == MessageKind::Inbound, response, c.now)?;
    search::index(c.tx, id, body)?;
    c.audit(
        &format!("message.{}", kind.as_str()),
        Some(&target(id)),
        &format!("message {mid}"),
    )?;
    Ok(Message {
        id: mid,
        kind,
        author: c.by.to_string(),
        body: body.to_string(),
        at: c.now,
    })
}

fn detail(tx: &dyn Db, id: i64, now: DateTime<Utc>) -> Result<ConsultationDetail> {
    let row = consultations::get_row(tx, id, now)?;
    let extra = consultations::get_extra(tx, id)?;
    let reply_delivery = super::replies::way_back(tx, id, row.channel)?;
    Ok(ConsultationDetail {
        row,
        external_id: extra.external_id,
        patient_ref: extra.patient_ref,
        sender: extra.sender,
        thread: messages::thread(tx, id)?,
        attachment_list: attachments::list(tx, id)?,
        history: consultations::history(tx, id)?,
        reads: consultations::reads(tx, id)?,
        pii_flags: serde_json::from_str(&extra.pii_flags_json).unwrap_or_default(),
        first_read_at: extra.first_read_at,
        reply_delivery,
        deliveries: {
            let mut d = store::outbox::list(tx, Some(id), 1000)?;
            d.reverse();
            d
        },
    })
}

/// Sorts rows in triage order (one function: `triage::queue_order`).
pub fn sort_rows(rows: &mut [QueueRow], now: DateTime<Utc>) {
    rows.sort_by(|a, b| triage::queue_order(&key_of(a), &key_of(b), now));
}

fn key_of(r: &QueueRow) -> triage::QueueKey {
    triage::QueueKey {
        id: r.id,
        open: r.status.is_open(),
        urgency: r.urgency,
        due_at: if r.status.is_open() { r.due_at } else { None },
        received_at: r.received_at,
        snoozed_until: r.snoozed_until,
    }
}
