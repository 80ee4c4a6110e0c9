//! Taking in consultations: dedupe by (channel, partner, external id), `Idempotency-Key`,
//! follow-ups joining an open thread, new consultations with urgency, due time, owner and
//! personal-data flags; the pollers' cursors.

use super::{target, Desk};
use crate::codes::Channel;
use crate::error::{Error, Result};
use crate::model::*;
use crate::settings::Settings;
use crate::store::consultations::{self, ConsultationInsert};
use crate::store::intake_keys::{self, IntakeKey};
use crate::store::sql::Db;
use crate::store::{self, audit, messages, partners, search};
use crate::{pii, triage, urgency};
use chrono::{DateTime, Utc};

impl Desk {
    /// Takes in a consultation: dedupes by (channel, partner, external id), joins an open thread
    /// with the same thread key, or creates a new consultation. Durable when it returns.
    pub fn intake(&mut self, n: NewConsultation) -> Result<IntakeOutcome> {
        self.intake_keyed(n, None)
    }

    /// Like [`Desk::intake`], with an `Idempotency-Key` and the hash of the request body: the
    /// same key with a different body is a conflict and stores nothing.
    pub fn intake_keyed(
        &mut self,
        n: NewConsultation,
        idem: Option<(&str, &str)>,
    ) -> Result<IntakeOutcome> {
        let p = Prepared::new(n)?;
        let now = self.now();
        let settings = self.settings.clone();
        self.store.write(|tx| {
            expect_intakes(tx, 1);
            intake_prepared(tx, &settings, p, idem, now, false)
        })
    }

    /// Group commit: takes in several consultations in ONE durable transaction — one fsync for
    /// the lot instead of one each. Results come back in order and mean exactly what
    /// [`Desk::intake_keyed`] would have answered for the items one after another: a refused
    /// item (invalid, an `Idempotency-Key` conflict, an unknown partner) stores nothing of itself
    /// and leaves the others alone.
    ///
    /// The items run first without savepoints (FTS5 writes its index once per transaction
    /// instead of once per item — the savepoint per item cost more than the fsync it shared).
    /// If an item is refused, that transaction is rolled back whole and the batch runs again
    /// with each item in its own savepoint. If the shared transaction itself fails (busy, disk
    /// full), nothing of it was stored and every item is retried on its own, so each gets its
    /// own answer.
    pub fn intake_batch<I: Into<BatchItem>>(
        &mut self,
        items: Vec<I>,
    ) -> Vec<Result<IntakeOutcome>> {
        let now = self.now();
        let settings = self.settings.clone();
        let mut answers: Vec<Option<Result<IntakeOutcome>>> = Vec::with_capacity(items.len());
        let mut valid = Vec::with_capacity(items.len());
        for item in items {
            let BatchItem {
                prepared,
                idempotency,
            } = item.into();
            match prepared {
                Ok(p) => {
                    valid.push((answers.len(), p, idempotency));
                    answers.push(None);
                }
                Err(e) => answers.push(Some(Err(e))),
            }
        }
        let run = |tx: &dyn Db, savepoints: bool| {
            expect_intakes(tx, valid.len());
            let mut out = Vec::with_capacity(valid.len());
            for (_, p, idem) in &valid {
                let idem = idem.as_ref().map(|(k, h)| (k.as_str(), h.as_str()));
                if !savepoints {
                    // The first refusal ends this try (rolled back whole, see above).
                    out.push(Ok(intake_prepared(
                        tx,
                        &settings,
                        p.clone(),
                        idem,
                        now,
                        true,
                    )?));
                    continue;
                }
                tx.execute_batch("SAVEPOINT intake_item")?;
                // The RELEASE also sends what PostgreSQL's writer left waiting for this item, so
                // a refusal found only there (a unique or foreign key) is still this item's.
                let r = intake_prepared(tx, &settings, p.clone(), idem, now, false)
                    .and_then(|out| tx.execute_batch("RELEASE intake_item").map(|()| out));
                if r.is_err() {
                    tx.execute_batch("ROLLBACK TO intake_item; RELEASE intake_item")?;
                }
                out.push(r);
            }
            Ok(out)
        };
        if valid.is_empty() {
            return answers.into_iter().flatten().collect();
        }
        let batch = match self.store.write(|tx| run(tx, false)) {
            Ok(out) => Ok(out),
            Err(_) => self.store.write(|tx| run(tx, true)),
        };
        match batch {
            Ok(out) => {
                for ((i, _, _), r) in valid.iter().zip(out) {
                    answers[*i] = Some(r);
                }
            }
            Err(e) => {
                tracing::warn!(
                    "group commit of {} items failed ({}); taking them in one by one",
                    valid.len(),
                    e.code().as_str()
                );
                for (i, p, idem) in valid {
                    let idem = idem.as_ref().map(|(k, h)| (k.as_str(), h.as_str()));
                    answers[i] = Some(
                        self.store
                            .write(|tx| intake_prepared(tx, &settings, p, idem, now, false)),
                    );
                }
            }
        }
        // Every slot was filled above: one answer per item, in order.
        answers.into_iter().flatten().collect()
    }

    /// The queue row of consultation `id` as it is now (what an intake answer and its
    /// notification show).
    pub fn queue_row(&self, id: i64) -> Result<QueueRow> {
        consultations::get_row(self.store.db(), id, self.now())
    }

    /// The queue rows of `ids` as they are now, in the order of `ids`, in one query (what a
    /// group commit answers); an id not found is [`Error::NotFound`].
    pub fn queue_rows(&self, ids: &[i64]) -> Result<Vec<QueueRow>> {
        let rows: std::collections::HashMap<i64, QueueRow> =
            consultations::get_rows(self.store.db(), ids, self.now())?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();
        ids.iter()
            .map(|id| {
                rows.get(id)
                    .cloned()
                    .ok_or_else(|| consultations::not_found(*id))
            })
            .collect()
    }

    /// Where a poller stopped reading `source` (e.g. a Chatwork room): the last message id it
    /// took in, `None` before its first round.
    pub fn poll_cursor(&self, source: &str) -> Result<Option<String>> {
        store::settings::cursor(self.store.db(), source)
    }

    /// Moves a poller's cursor for `source` to `value` (after the messages up to it were taken
    /// in), audited as `poll.cursor` by `by`.
    pub fn set_poll_cursor(&mut self, source: &str, value: &str, by: &str) -> Result<()> {
        self.act(by, |c| {
            store::settings::set_cursor(c.tx, source, value, c.now)?;
            c.audit("poll.cursor", Some(&format!("cursor:{source}")), value)
        })
    }
}

/// One item of [`Desk::intake_batch`]: the consultation, checked and with what its text says
/// ([`Prepared`]), and its optional `Idempotency-Key` with the hash of the request body.
///
/// Made with [`BatchItem::new`] (or from a `(NewConsultation, Option<(key, hash)>)` pair) on the
/// caller's thread: the checks and the text triage — the costliest pure part of an intake — run
/// there, in parallel across requests, not on the one writer of the group commit.
pub struct BatchItem {
    prepared: Result<Prepared>,
    idempotency: Option<(String, String)>,
}

impl BatchItem {
    pub fn new(n: NewConsultation, idempotency: Option<(String, String)>) -> BatchItem {
        BatchItem {
            prepared: Prepared::new(n),
            idempotency,
        }
    }
}

impl From<(NewConsultation, Option<(String, String)>)> for BatchItem {
    fn from((n, idem): (NewConsultation, Option<(String, String)>)) -> BatchItem {
        BatchItem::new(n, idem)
    }
}

/// A checked consultation ([`NewConsultation::validate`]) with what its text alone says: the
/// urgency suggestion (only when the sender gave no urgency) and the personal-data flags. Needs
/// no store.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub(super) n: NewConsultation,
    suggestion: Option<urgency::Suggestion>,
    pii_flags: Vec<pii::PiiFlag>,
}

impl Prepared {
    pub fn new(n: NewConsultation) -> Result<Prepared> {
        let n = n.validate()?;
        let suggestion = n
            .urgency
            .is_none()
            .then(|| urgency::suggest(&n.subject, &n.body));
        let pii_flags = pii::scan(&format!("{}\n{}", n.subject, n.body));
        Ok(Prepared {
            n,
            suggestion,
            pii_flags,
        })
    }
}

fn intake_key<'a>(channel: Channel, partner_key: &'a str, external_id: &'a str) -> IntakeKey<'a> {
    IntakeKey {
        channel,
        partner_key,
        external_id,
    }
}

fn resolve_partner(conn: &dyn Db, p: &PartnerRef, now: DateTime<Utc>) -> Result<Option<i64>> {
    match p {
        PartnerRef::Id(id) => Ok(Some(partners::get(conn, *id)?.id)),
        PartnerRef::Named { name, kind } => {
            Ok(Some(partners::ensure_named(conn, name, *kind, now)?))
        }
        PartnerRef::Handle {
            channel,
            handle,
            display_name,
        } => Ok(Some(partners::ensure_handle(
            conn,
            *channel,
            handle,
            display_name,
            now,
        )?)),
        PartnerRef::Unknown => Ok(None),
    }
}

/// Tells the transaction that `items` intakes follow: at most one new consultation and one
/// message each, so on PostgreSQL their ids are taken in one round trip ([`Db::expect_rows`]).
fn expect_intakes(tx: &dyn Db, items: usize) {
    tx.expect_rows("consultations", items);
    tx.expect_rows("messages", items);
}

/// `trusted_partner`: a partner given by id is not looked up first — the consultation's foreign
/// key refuses an unknown one (the transaction fails; [`Desk::intake_batch`] then runs the
/// batch again with the look-up, which names the partner in its answer). Saves a query per row
/// that would also make PostgreSQL send the statements waiting before it.
fn intake_prepared(
    tx: &dyn Db,
    s: &Settings,
    p: Prepared,
    idem: Option<(&str, &str)>,
    now: DateTime<Utc>,
    trusted_partner: bool,
) -> Result<IntakeOutcome> {
    intake_tx_within(tx, s, p, idem, now, None, trusted_partner)
}

/// [`intake_prepared`] where a follow-up joins an open thread only when that thread last heard from
/// outside (arrival or inbound follow-up) within `join_window` before this message (`None`: any open thread). A stale thread stays as
/// it is and the message starts a new consultation with the same thread key (the newest open
/// one is joined next time).
pub(super) fn intake_tx_within(
    tx: &dyn Db,
    s: &Settings,
    p: Prepared,
    idem: Option<(&str, &str)>,
    now: DateTime<Utc>,
    join_window: Option<chrono::Duration>,
    trusted_partner: bool,
) -> Result<IntakeOutcome> {
    let Prepared {
        n,
        suggestion,
        pii_flags: flags,
    } = p;
    let partner_id = match (&n.partner, trusted_partner) {
        (PartnerRef::Id(id), true) => Some(*id),
        (p, _) => resolve_partner(tx, p, now)?,
    };
    let pkey = partner_id
        .map(|p| p.to_string())
        .unwrap_or_else(|| "-".into());
    let idem_id = idem.map(|(key, _)| format!("idem:{key}"));
    let idem_key = idem_id.as_deref().map(|x| intake_key(n.channel, &pkey, x));
    let external_key = n
        .external_id
        .as_deref()
        .map(|x| intake_key(n.channel, &pkey, x));
    // 1. Idempotency-Key: the same key with another body is a conflict.
    if let (Some((key, hash)), Some(k)) = (idem, &idem_key) {
        if let Some((id, old_hash)) = intake_keys::find(tx, k)? {
            if old_hash.as_deref() != Some(hash) {
                return Err(Error::Conflict(format!(
                    "Idempotency-Key '{}' was already used with a different request; use a new key for a new consultation",
                    key.chars().take(60).collect::<String>()
                )));
            }
            return Ok(IntakeOutcome {
                id,
                created: false,
                joined: false,
                message_id: None,
            });
        }
    }
    // 2. The same external id from the same partner: the existing consultation.
    if let Some(k) = &external_key {
        if let Some(id) = intake_keys::consultation_of(tx, k)? {
            if let (Some((_, hash)), Some(k)) = (idem, &idem_key) {
                intake_keys::register(tx, k, id, None, Some(hash), now)?;
            }
            return Ok(IntakeOutcome {
                id,
                created: false,
                joined: false,
                message_id: None,
            });
        }
    }
    let received_at = n.received_at.unwrap_or(now);
    let author = if n.sender.name.is_empty() {
        "送信者".to_string()
    } else {
        n.sender.name.clone()
    };
    // 3. A follow-up on an open thread joins it.
    if let Some(tk) = &n.thread_key {
        let open = consultations::find_open_thread(tx, n.channel, partner_id, tk)?;
        let open = match (open, join_window) {
            (Some(id), Some(w)) => match consultations::last_inbound(tx, id)? {
                Some(at) if at + w >= received_at => Some(id),
                _ => None,
            },
            (open, _) => open,
        };
        if let Some(id) = open {
            let mid =
                messages::insert(tx, id, n.first_message_kind, &author, &n.body, received_at)?;
            if let Some(route) = &n.origin {
                store::outbox::record_route(tx, mid, id, route)?;
            }
            consultations::touch(tx, id, true, false, received_at)?;
            search::index(tx, id, &n.body)?;
            if let Some(k) = &external_key {
                intake_keys::register(tx, k, id, Some(mid), None, now)?;
            }
            audit::append(
                tx,
                now,
                "intake",
                "message.inbound",
                Some(&target(id)),
                &format!("channel={} message {mid}", n.channel),
            )?;
            return Ok(IntakeOutcome {
                id,
                created: false,
                joined: true,
                message_id: Some(mid),
            });
        }
    }
    // 4. A new consultation.
    let (urgency, reason, confirmed) = match (n.urgency, suggestion) {
        (Some(u), _) => (u, format!("送信者の指定 → {}", u.label_ja()), true),
        (None, Some(s)) => (s.urgency, s.reason, false),
        // `Prepared::new` suggests whenever the sender gave no urgency.
        (None, None) => {
            let s = urgency::suggest(&n.subject, &n.body);
            (s.urgency, s.reason, false)
        }
    };
    let ins = ConsultationInsert {
        channel: n.channel,
        partner_id,
        external_id: n.external_id.clone(),
        thread_key: n.thread_key.clone(),
        category: n.category,
        urgency,
        urgency_reason: Some(reason),
        urgency_confirmed: confirmed,
        subject: n.subject.clone(),
        due_at: triage::due_at(&s.calendar, &s.targets, n.category, urgency, received_at),
        received_at,
        patient_ref: n.patient_ref.clone(),
        sender: n.sender.clone(),
        owner: s.on_duty(received_at).map(str::to_string),
        pii_flags_json: serde_json::to_string(&flags).unwrap_or_else(|_| "[]".into()),
    };
    let id = consultations::insert(tx, &ins)?;
    let mid = if n.body.trim().is_empty() {
        None
    } else {
        Some(messages::insert(
            tx,
            id,
            n.first_message_kind,
            &author,
            &n.body,
            received_at,
        )?)
    };
    if let (Some(mid), Some(route)) = (mid, &n.origin) {
        store::outbox::record_route(tx, mid, id, route)?;
    }
    search::index(
        tx,
        id,
        &format!("{}\n{}\n{}", n.subject, n.body, n.sender.name),
    )?;
    if let Some(k) = &external_key {
        intake_keys::register(tx, k, id, mid, None, now)?;
    }
    if let (Some((_, hash)), Some(k)) = (idem, &idem_key) {
        intake_keys::register(tx, k, id, mid, Some(hash), now)?;
    }
    let who = n.entered_by.as_deref().unwrap_or("intake");
    audit::append(
        tx,
        now,
        who,
        "consultation.create",
        Some(&target(id)),
        &format!(
            "channel={} category={} urgency={urgency}",
            n.channel, n.category
        ),
    )?;
    if n.channel == Channel::Phone {
        consultations::touch(tx, id, false, true, received_at)?;
    }
    Ok(IntakeOutcome {
        id,
        created: true,
        joined: false,
        message_id: mid,
    })
}
