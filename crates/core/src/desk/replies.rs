//! Replies that go back where the consultation came from (issue 20): writing a reply and its
//! outbox entry in one transaction, the outbox as staff see it (list, 再送), and the sender
//! worker's steps (recover, due, claim, record the result).
//!
//! The worker's steps take `now` from the caller: retries and leases run on the real clock
//! even when `RENKEI_NOW` freezes domain time (docs/contract.md, "Data location").

use super::consultation::{insert_message, message_body};
use super::{target, Desk};
use crate::codes::Channel;
use crate::error::{Error, Result};
use crate::model::{Message, MessageKind};
use crate::outbound::{backoff, Delivery, DueEntry, OutboxEntry, ReplyRoute, SendJob, SendOutcome};
use crate::store::{consultations, outbox};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// What saving a reply did.
#[derive(Debug, Clone, Serialize)]
pub struct ReplyOutcome {
    pub consultation_id: i64,
    pub message: Message,
    /// How it reaches the partner.
    pub delivery: Delivery,
    /// The outbox entry (LINE WORKS, Chatwork).
    pub outbox: Option<OutboxEntry>,
}

/// How the sender retries (the worker's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(5),
            max: Duration::from_secs(600),
        }
    }
}

/// Longest provider message kept in `last_error`.
const MAX_ERROR_CHARS: usize = 300;

impl Desk {
    /// Saves a reply to consultation `id` and, for a chat channel, its outbox entry — in one
    /// transaction: both are stored or neither. Partner API: the reply shows on the partner's
    /// status page. A channel with no way back (phone, FAX, e-mail, MCS, manual) is refused
    /// before anything is stored, unless `record_only` (then it is kept in the thread and
    /// nothing is sent).
    pub fn reply(
        &mut self,
        id: i64,
        text: &str,
        by: &str,
        record_only: bool,
    ) -> Result<ReplyOutcome> {
        self.reply_checked(id, text, by, record_only, false)
    }

    /// [`Desk::reply`] with the personal-data guard: a text that leaves the clinic (chat or
    /// the partner's page) with personal-data findings ([`crate::pii::scan`]) is refused
    /// unless `pii_confirmed`; a confirmation is audited (`reply.pii_confirmed`, the kinds
    /// only, never the data).
    pub fn reply_checked(
        &mut self,
        id: i64,
        text: &str,
        by: &str,
        record_only: bool,
        pii_confirmed: bool,
    ) -> Result<ReplyOutcome> {
        let by = super::actor(by)?;
        let body = message_body(text)?;
        let now = self.now();
        let mut kinds: Vec<String> = crate::pii::scan(&body)
            .into_iter()
            .map(|f| f.kind)
            .collect();
        kinds.sort();
        kinds.dedup();
        self.audited(by, |c| {
            consultations::status_of(c.tx, id)?;
            let row = consultations::get_row(c.tx, id, now)?;
            let mut delivery = Delivery::for_channel(row.channel);
            let route = match delivery {
                Delivery::Outbox => match route_of(c.tx, id, row.channel) {
                    Ok(r) => Some(r),
                    // The talk it came from is unknown: kept for the record only.
                    Err(_) if record_only => {
                        delivery = Delivery::RecordOnly;
                        None
                    }
                    Err(e) => return Err(e),
                },
                Delivery::PartnerView => callback_route(c.tx, id)?,
                Delivery::RecordOnly if record_only => None,
                Delivery::RecordOnly => return Err(no_way_back(id, row.channel)),
            };
            if delivery != Delivery::RecordOnly && !kinds.is_empty() {
                if !pii_confirmed {
                    return Err(Error::invalid(
                        "text",
                        format!(
                            "the reply may contain personal data ({}); it would leave the clinic. \
                             Shorten it to what the partner needs, or confirm with --confirm-pii; nothing was saved",
                            kinds.join(", ")
                        ),
                    ));
                }
                c.audit("reply.pii_confirmed", Some(&target(id)), &kinds.join(","))?;
            }
            let message = insert_message(c, id, MessageKind::Reply, &body)?;
            let entry = match route {
                Some(route) => {
                    let oid = outbox::insert(c.tx, id, message.id, &route, now)?;
                    c.audit(
                        "outbox.queue",
                        Some(&target(id)),
                        &format!("outbox {oid} → {}", route.describe()),
                    )?;
                    Some(outbox::get(c.tx, oid)?)
                }
                None => None,
            };
            Ok(ReplyOutcome {
                consultation_id: id,
                message,
                delivery,
                outbox: entry,
            })
        })
    }

    /// Outbox entries, newest first: of one consultation (`Some(id)`), or the latest 500.
    pub fn outbox(&mut self, consultation_id: Option<i64>) -> Result<Vec<OutboxEntry>> {
        self.store.read(|tx| outbox::list(tx, consultation_id, 500))
    }

    /// 再送: a failed entry is sent again (a new attempt), audited.
    pub fn outbox_resend(&mut self, entry_id: i64, by: &str) -> Result<OutboxEntry> {
        self.act(by, |c| {
            outbox::resend(c.tx, entry_id, c.now)?;
            let e = outbox::get(c.tx, entry_id)?;
            c.audit(
                "outbox.resend",
                Some(&target(e.consultation_id)),
                &format!("outbox {entry_id}"),
            )?;
            Ok(e)
        })
    }

    // ----- the sender worker's steps (renkei-intake `outbound`) --------------------------------

    /// Registers where a partner-API partner wants replies POSTed (`https://`, or `http://`
    /// to this machine only) and returns the new signing secret — shown once, audited
    /// (`partner.callback`, without the secret).
    pub fn set_partner_callback(&mut self, partner_id: i64, url: &str, by: &str) -> Result<String> {
        let url = url.trim().to_string();
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| {
                url.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
            });
        let https = url
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !(https || loopback) || url.len() > 2000 || url.chars().any(char::is_whitespace) {
            return Err(Error::invalid(
                "url",
                "the callback URL must start with https:// (http:// only to this machine) and be one line",
            ));
        }
        let secret = {
            use rand::RngCore;
            let mut b = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut b);
            hex::encode(b)
        };
        self.act(by, |c| {
            crate::store::partners::get(c.tx, partner_id)?;
            outbox::set_callback(c.tx, partner_id, &url, &secret, c.now)?;
            c.audit(
                "partner.callback",
                Some(&format!("partner:{partner_id}")),
                &url,
            )
        })?;
        Ok(secret)
    }

    /// Removes a partner's callback (replies then show on its status page only).
    pub fn clear_partner_callback(&mut self, partner_id: i64, by: &str) -> Result<()> {
        self.act(by, |c| {
            if !outbox::clear_callback(c.tx, partner_id)? {
                return Err(Error::NotFound(format!(
                    "partner {partner_id} has no callback registered"
                )));
            }
            c.audit(
                "partner.callback_clear",
                Some(&format!("partner:{partner_id}")),
                "",
            )
        })
    }

    /// Entries left `sending` by a sender that died go back to `pending` (maybe_duplicate).
    pub fn outbox_recover(&mut self, now: DateTime<Utc>) -> Result<usize> {
        // Every round asks; only a real recovery takes the write lock.
        if !self.store.read(|tx| outbox::any_expired(tx, now))? {
            return Ok(0);
        }
        let n = self.store.write(|tx| outbox::recover_expired(tx, now))?;
        if n > 0 {
            tracing::warn!(
                entries = n,
                "outbox: replies whose sender stopped mid-send are due again"
            );
        }
        Ok(n)
    }

    /// Pending entries due at `now`.
    pub fn outbox_due(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueEntry>> {
        self.store.read(|tx| outbox::due(tx, now, limit))
    }

    /// Claims a due entry for one send attempt, leased for `lease`.
    pub fn outbox_claim(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<SendJob>> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1));
        self.store.write(|tx| outbox::claim(tx, id, now, until))
    }

    /// Records what attempt `job.attempt` came to. Sent and failed are audited (by `outbox`).
    /// False when the entry had moved on (another sender took it after the lease ran out).
    pub fn outbox_record(
        &mut self,
        job: &SendJob,
        outcome: &SendOutcome,
        retry: RetryPolicy,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (id, attempt) = (job.id, job.attempt);
        let by = "outbox".to_string();
        let clock_now = self.now();
        self.store.write(|tx| {
            let audit = |action: &str, detail: &str| {
                crate::store::audit::append(
                    tx,
                    clock_now,
                    &by,
                    action,
                    Some(&target(job.consultation_id)),
                    detail,
                )
                .map(|_| ())
            };
            match outcome {
                SendOutcome::Sent { remote_id } => {
                    let done = outbox::mark_sent(tx, id, attempt, remote_id.as_deref(), now)?;
                    if done {
                        audit("outbox.sent", &format!("outbox {id} attempt {attempt}"))?;
                    }
                    Ok(done)
                }
                SendOutcome::Retry {
                    error,
                    after,
                    unknown,
                } => {
                    let wait = backoff(attempt, retry.base, retry.max, Some(*after));
                    let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
                    outbox::mark_retry(tx, id, attempt, &short(error), *unknown, next, now)
                }
                SendOutcome::Failed { error } => {
                    let done = outbox::mark_failed(tx, id, attempt, &short(error), now)?;
                    if done {
                        audit("outbox.failed", &format!("outbox {id} attempt {attempt}"))?;
                    }
                    Ok(done)
                }
            }
        })
    }
}

/// How a reply to consultation `id` (of `channel`) would reach the partner now: a chat channel
/// whose room/talk is unknown counts as record-only (what the composer tells staff).
pub(super) fn way_back(
    tx: &dyn crate::store::sql::Db,
    id: i64,
    channel: Channel,
) -> Result<Delivery> {
    Ok(match Delivery::for_channel(channel) {
        Delivery::Outbox if route_of(tx, id, channel).is_err() => Delivery::RecordOnly,
        d => d,
    })
}

/// The way back to the partner of consultation `id`: the newest inbound chat message's
/// route, else (consultations taken in before routes were kept) its thread.
pub(super) fn route_of(
    tx: &dyn crate::store::sql::Db,
    id: i64,
    channel: Channel,
) -> Result<ReplyRoute> {
    if let Some(r) = outbox::latest_route(tx, id)? {
        return Ok(r);
    }
    outbox::thread_of(tx, id)?
        .and_then(|(thread, sender)| ReplyRoute::from_thread(channel, &thread, &sender))
        .ok_or_else(|| {
            Error::invalid(
                "channel",
                format!(
                    "consultation {id} came by {channel} but the room/talk it came from is not \
                     known, so the reply cannot be sent back; answer in {channel} directly and \
                     record it with --record-only (kept in the thread, nothing is sent)"
                ),
            )
        })
}

/// The callback a partner-API partner registered for consultation `id`'s replies, if any.
pub(super) fn callback_route(
    tx: &dyn crate::store::sql::Db,
    id: i64,
) -> Result<Option<ReplyRoute>> {
    Ok(match outbox::partner_of(tx, id)? {
        Some(pid) => outbox::callback_of(tx, pid)?.map(|(url, _)| ReplyRoute::PartnerCallback {
            partner_id: pid,
            url,
        }),
        None => None,
    })
}

fn no_way_back(id: i64, channel: Channel) -> Error {
    Error::invalid(
        "channel",
        format!(
            "consultation {id} came by {} ({channel}); a reply cannot be sent back on that channel. \
             Answer by phone/FAX/mail and record it with --record-only (kept in the thread, nothing is sent)",
            channel.label_ja()
        ),
    )
}

fn short(s: &str) -> String {
    s.chars().take(MAX_ERROR_CHARS).collect()
}
