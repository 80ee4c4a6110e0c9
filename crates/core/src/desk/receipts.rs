//! The automatic messages of issue 20 (texts in `crate::receipt`):
//!
//! * **the receipt** — when someone *takes* a consultation (the change that moves it out of
//!   `new`: 対応する/ack, a status change, or an owner assigned while it is still new), a
//!   partner with the receipt switched on gets 「受け付けました。担当：大野。本日17時までに
//!   ご連絡します。」 on the channel it came from. Written in the take's own transaction (a
//!   `receipt` message in the thread + its outbox entry, key `receipt:<id>`), at most once per
//!   item, never for a channel with no way back (then nothing is queued and the take succeeds);
//! * **the on-call message** — an urgent item still `new` `escalate_after_minutes` after it
//!   arrived goes to the on-call doctor's LINE WORKS user (`Settings.replies`), patient-free
//!   with a deep link, at most once per item (key `oncall:<id>`, unique in the store), logged
//!   in the notification history with its reason. Run by whichever process runs the sender
//!   worker; two at once are safe (the check and the insert are in one write transaction,
//!   writes are serialised, and the key is unique).

use super::{replies, target, Change, Desk};
use crate::codes::Status;
use crate::error::{Error, Result};
use crate::model::MessageKind;
use crate::outbound::{Delivery, OutboxKind, ReplyRoute};
use crate::receipt;
use crate::settings::{ReplySettings, Settings};
use crate::store::{consultations, messages, notifications, outbox, partners};
use chrono::Duration;

/// Who the on-call step acts as in the audit log and the thread.
pub const ONCALL_ACTOR: &str = "自動通知";

/// An item whose escalation moment passed longer ago than this is not sent to the on-call
/// doctor any more (a store switched on after a long pause does not page for old items).
const ONCALL_LOOKBACK_HOURS: i64 = 12;

impl Desk {
    /// Switches the automatic receipt of a partner on or off, audited (`partner.receipt`).
    pub fn set_partner_receipt(&mut self, partner_id: i64, on: bool, by: &str) -> Result<()> {
        self.act(by, |c| {
            partners::set_receipt(c.tx, partner_id, on)?;
            c.audit(
                "partner.receipt",
                Some(&format!("partner:{partner_id}")),
                if on { "on" } else { "off" },
            )
        })
    }

    /// Sets the receipt template and the on-call doctor (`renkei autoreply`), validated (the
    /// problem in Japanese), audited as `settings.replies`. The app's Settings screen saves
    /// them with the rest of the settings.
    pub fn set_reply_settings(&mut self, r: ReplySettings, by: &str) -> Result<()> {
        let by = super::actor(by)?;
        r.validate()
            .map_err(|p| Error::invalid(format!("settings.{}", p.key), p.text("ja")))?;
        let mut s = self.reload_settings()?.clone();
        s.replies = r;
        let detail = format!(
            "oncall {}",
            if s.replies.oncall_user().is_some() {
                "on"
            } else {
                "off"
            }
        );
        self.audited(by, |c| {
            crate::store::settings::put(c.tx, crate::settings::SETTINGS_KEY, &s, c.now)?;
            c.audit("settings.replies", None, &detail)
        })?;
        self.settings = s;
        Ok(())
    }

    /// Sends the on-call message for every urgent item nobody has taken within the escalation
    /// time (domain time from the Desk's clock). Returns the consultations it queued one for.
    /// Off when no on-call LINE WORKS user is set or the policy never escalates.
    pub fn escalate_untaken_urgent(&mut self) -> Result<Vec<i64>> {
        // Another window or process may have changed the on-call doctor.
        let s = self.reload_settings()?.clone();
        let (Some(user), Some(after)) = (
            s.replies.oncall_user().map(str::to_string),
            s.notifications.escalate_after_minutes,
        ) else {
            return Ok(Vec::new());
        };
        let now = self.now();
        let until = now - Duration::minutes(after);
        let from = until - Duration::hours(ONCALL_LOOKBACK_HOURS);
        let candidates = self
            .store
            .read(|tx| consultations::untaken_urgent(tx, from, until))?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        self.audited(ONCALL_ACTOR.to_string(), |c| {
            let mut sent = Vec::new();
            for id in candidates {
                let key = format!("oncall:{id}");
                // Checked again inside the write: another process may have sent it or someone
                // may have taken the item meanwhile.
                let row = consultations::get_row(c.tx, id, c.now)?;
                if row.status != Status::New
                    || row.urgency != crate::codes::Urgency::Urgent
                    || outbox::has_key(c.tx, &key)?
                {
                    continue;
                }
                let minutes = (c.now - row.received_at).num_minutes().max(after);
                let category = row.category.label_ja();
                let note = format!(
                    "至急・{minutes}分未確認のため、当番医に LINE WORKS で連絡しました（自動）。"
                );
                let mid = messages::insert(c.tx, id, MessageKind::Note, c.by, &note, c.now)?;
                let route = ReplyRoute::LineworksUser {
                    user_id: user.clone(),
                };
                let text = receipt::oncall_text(id, category, minutes);
                let oid = outbox::insert_auto(
                    c.tx,
                    id,
                    mid,
                    &route,
                    OutboxKind::Oncall,
                    Some(&key),
                    Some(&text),
                    c.now,
                )?;
                notifications::insert(
                    c.tx,
                    c.now,
                    &[id.to_string()],
                    "urgent",
                    "当番医に連絡しました（至急・未確認）",
                    &format!(
                        "至急の相談（{category}）に{minutes}分間 担当者がいないため、当番医に LINE WORKS で連絡しました。"
                    ),
                    &format!(
                        "oncall_escalation: 至急・{after}分未確認のため当番医（LINE WORKS）へ連絡"
                    ),
                )?;
                c.audit(
                    "oncall.escalate",
                    Some(&target(id)),
                    &format!("outbox {oid} → {}", route.describe()),
                )?;
                sent.push(id);
            }
            Ok(sent)
        })
    }
}

/// Queues the receipt for consultation `id` inside the take's transaction `c` — when its
/// partner wants one, it has a way back and none was queued before. The take never fails
/// because of the receipt: with no way back nothing happens; a rendered text with
/// personal-data findings is withheld (audited `receipt.withheld`, kinds only).
pub(super) fn queue_receipt(c: &Change<'_>, id: i64, s: &Settings) -> Result<()> {
    if !partners::receipt_wanted(c.tx, id)? || messages::has_kind(c.tx, id, MessageKind::Receipt)? {
        return Ok(());
    }
    let row = consultations::get_row(c.tx, id, c.now)?;
    if !row.status.is_open() {
        return Ok(());
    }
    let route = match replies::way_back(c.tx, id, row.channel)? {
        Delivery::RecordOnly => return Ok(()),
        Delivery::Outbox => Some(replies::route_of(c.tx, id, row.channel)?),
        Delivery::PartnerView => replies::callback_route(c.tx, id)?,
    };
    let owner = row.owner.clone().unwrap_or_else(|| c.by.to_string());
    let text = receipt::render(
        &s.replies.receipt_template,
        &receipt::ReceiptValues {
            owner: &owner,
            promise: receipt::promised_time_ja(&s.calendar, row.due_at, c.now),
            clinic: &s.clinic_name,
        },
    );
    let mut kinds: Vec<String> = crate::pii::scan(&text)
        .into_iter()
        .map(|f| f.kind)
        .collect();
    if !kinds.is_empty() {
        kinds.sort();
        kinds.dedup();
        tracing::warn!(
            consultation = id,
            "receipt withheld: the rendered template may contain personal data"
        );
        return c.audit("receipt.withheld", Some(&target(id)), &kinds.join(","));
    }
    let mid = messages::insert(c.tx, id, MessageKind::Receipt, &owner, &text, c.now)?;
    c.audit(
        "message.receipt",
        Some(&target(id)),
        &format!("message {mid}"),
    )?;
    if let Some(route) = route {
        let oid = outbox::insert_auto(
            c.tx,
            id,
            mid,
            &route,
            OutboxKind::Receipt,
            Some(&format!("receipt:{id}")),
            None,
            c.now,
        )?;
        c.audit(
            "outbox.queue",
            Some(&target(id)),
            &format!("outbox {oid} (receipt) → {}", route.describe()),
        )?;
    }
    Ok(())
}
