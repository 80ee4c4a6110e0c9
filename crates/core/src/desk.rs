//! `Desk`: the one API that the `renkei` CLI, the intake server and the desktop app all call.
//!
//! Each operation is one write (or read) transaction over the store that also applies the
//! domain rules — urgency suggestion, due time on the clinic calendar, roster assignment,
//! personal-data flags, deduplication and threading — and appends to the audit log. Callers pass
//! who is acting; time comes from the injected clock.

use crate::clock::Clock;
use crate::codes::{Category, Channel, Status, Urgency};
use crate::error::{Error, Result};
use crate::model::*;
use crate::settings::{Settings, SETTINGS_KEY};
use crate::store::consultations::{ConsultationInsert, QueueFilter};
use crate::store::partners::NewPartner;
use crate::store::{
    self, attachments, audit, blobs, consultations, messages, partners, search, DataDir, Store,
    StoreKey,
};
use crate::{pii, triage, urgency};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Arc;

/// The service layer over one store.
pub struct Desk {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// Where the store key came from, when the Desk found it itself (`Desk::open`).
    key_source: Option<store::keys::KeySource>,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportOutcome {
    pub id: i64,
    pub created: bool,
    pub attachment: Attachment,
}

/// A document to attach or import.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
    /// Content type the sender declared (HTTP), checked against the magic bytes.
    pub declared: Option<&'a str>,
}

/// A partner with response statistics both ways.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PartnerStats {
    #[serde(flatten)]
    pub partner: Partner,
    pub total: u32,
    pub open: u32,
    pub overdue: u32,
    /// Median minutes from arrival to the clinic's first response (ack, reply or status).
    pub median_first_response_min: Option<f64>,
    pub last_received_at: Option<DateTime<Utc>>,
}

/// Where the daily backups stand, for the settings screen and `renkei backup --status`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BackupStatus {
    pub enabled: bool,
    pub keep_days: u32,
    /// File name of the newest daily generation in `<data dir>/backups`.
    pub latest: Option<String>,
    pub latest_day: Option<chrono::NaiveDate>,
    /// Days since the newest generation (JST calendar days); `None` without one.
    pub age_days: Option<i64>,
    pub mirror_dir: Option<String>,
    /// Whether the newest generation is also in the mirror folder (`None` without a mirror).
    pub mirrored: Option<bool>,
}

/// Result of `renkei check`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckReport {
    pub integrity: String,
    pub consultations: u64,
    pub attachments_checked: u64,
    pub audit_rows: u64,
    pub problems: Vec<String>,
}

impl Desk {
    /// Opens the store in `dir` with the key from the environment / key file.
    pub fn open(dir: &DataDir, clock: Arc<dyn Clock>) -> Result<Desk> {
        let (key, source) = store::keys::locate(dir)?;
        let mut desk = Self::open_with_key(dir, key, clock)?;
        desk.key_source = Some(source);
        Ok(desk)
    }

    /// Where the store key is kept (keyring, key file, environment), if this Desk looked it up.
    pub fn key_source(&self) -> Option<&store::keys::KeySource> {
        self.key_source.as_ref()
    }

    pub fn open_with_key(dir: &DataDir, key: StoreKey, clock: Arc<dyn Clock>) -> Result<Desk> {
        let store = Store::open(dir, key)?;
        Self::from_store(store, clock)
    }

    pub fn from_store(store: Store, clock: Arc<dyn Clock>) -> Result<Desk> {
        let settings =
            store::settings::get::<Settings>(store.conn(), SETTINGS_KEY)?.unwrap_or_default();
        Ok(Desk {
            store,
            clock,
            settings,
            key_source: None,
        })
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }
    /// Replaces the clock (demo replay, tests); returns the previous one.
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) -> Arc<dyn Clock> {
        std::mem::replace(&mut self.clock, clock)
    }
    pub fn settings(&self) -> &Settings {
        &self.settings
    }
    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }
    pub fn conn(&self) -> &Connection {
        self.store.conn()
    }
    fn blobs(&self) -> blobs::BlobStore {
        blobs::BlobStore::new(self.store.dir().blob_dir(), self.store.key().blob_key())
    }

    /// Re-reads the settings from the store (another process or window may have saved them).
    pub fn reload_settings(&mut self) -> Result<&Settings> {
        self.settings =
            store::settings::get::<Settings>(self.store.conn(), SETTINGS_KEY)?.unwrap_or_default();
        Ok(&self.settings)
    }

    /// Replaces the settings (validated by their types), audited.
    pub fn save_settings(&mut self, s: Settings, by: &str) -> Result<()> {
        let now = self.now();
        self.store.write(|tx| {
            store::settings::put(tx, SETTINGS_KEY, &s, now)?;
            audit::append(tx, now, by, "settings.update", None, "")?;
            Ok(())
        })?;
        self.settings = s;
        Ok(())
    }

    // ----- intake ---------------------------------------------------------------------------

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
        let n = n.validate()?;
        let now = self.now();
        let settings = self.settings.clone();
        self.store
            .write(|tx| intake_tx(tx, &settings, n, idem, now))
    }

    // ----- queue and detail -----------------------------------------------------------------

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
            f.ids = Some(search::search(self.store.conn(), q, candidates)?);
        }
        let mut rows = consultations::list_rows(self.store.conn(), &f, now)?;
        sort_rows(&mut rows, now);
        if let Some(l) = f.limit {
            rows.truncate(l);
        }
        Ok(rows)
    }

    /// One consultation with everything about it. With `reader`, records the read (receipt +
    /// audit), as opening it in the UI does.
    pub fn show(&mut self, id: i64, reader: Option<&str>) -> Result<ConsultationDetail> {
        let now = self.now();
        if let Some(by) = reader {
            self.store.write(|tx| {
                consultations::mark_read(tx, id, by, now)?;
                audit::append(tx, now, by, "consultation.read", Some(&target(id)), "")?;
                Ok(())
            })?;
        }
        self.store.read(|tx| detail(tx, id, now))
    }

    // ----- changes ---------------------------------------------------------------------------

    /// Sets a status; invalid transitions change nothing.
    pub fn set_status(&mut self, id: i64, to: Status, by: &str) -> Result<QueueRow> {
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            let from = consultations::change_status(tx, id, to, &by, now)?;
            if to == Status::Acknowledged && current_owner(tx, id)?.is_none() {
                consultations::set_owner(tx, id, Some(&by), now)?;
            }
            consultations::touch(tx, id, false, true, now)?;
            audit::append(
                tx,
                now,
                &by,
                "consultation.status",
                Some(&target(id)),
                &format!("{from} -> {to}"),
            )?;
            consultations::get_row(tx, id, now)
        })
    }

    /// Takes responsibility: owner = `by`, status → acknowledged (if still new).
    pub fn ack(&mut self, id: i64, by: &str) -> Result<QueueRow> {
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            let status = consultations::status_of(tx, id)?;
            if !status.is_open() {
                return Err(Error::InvalidTransition {
                    from: status.as_str().into(),
                    to: Status::Acknowledged.as_str().into(),
                    hint: "it is already closed; reopen it with status in_progress first".into(),
                });
            }
            if status == Status::New {
                consultations::change_status(tx, id, Status::Acknowledged, &by, now)?;
            }
            consultations::set_owner(tx, id, Some(&by), now)?;
            consultations::touch(tx, id, false, true, now)?;
            audit::append(tx, now, &by, "consultation.ack", Some(&target(id)), "")?;
            consultations::get_row(tx, id, now)
        })
    }

    /// Resolves from any open status.
    pub fn resolve(&mut self, id: i64, by: &str) -> Result<QueueRow> {
        self.set_status(id, Status::Resolved, by)
    }

    /// Assigns an owner (or clears it with `None`).
    pub fn assign(&mut self, id: i64, owner: Option<&str>, by: &str) -> Result<QueueRow> {
        let by = actor(by)?;
        let owner = owner
            .map(crate::model::clean_line)
            .filter(|o| !o.is_empty());
        let now = self.now();
        self.store.write(|tx| {
            consultations::set_owner(tx, id, owner.as_deref(), now)?;
            audit::append(
                tx,
                now,
                &by,
                "consultation.assign",
                Some(&target(id)),
                owner.as_deref().unwrap_or("-"),
            )?;
            consultations::get_row(tx, id, now)
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
        let by = actor(by)?;
        let now = self.now();
        let s = self.settings.clone();
        self.store.write(|tx| {
            let row = consultations::get_row(tx, id, now)?;
            let (c, u) = (
                category.unwrap_or(row.category),
                urgency.unwrap_or(row.urgency),
            );
            let due = triage::due_at(&s.calendar, &s.targets, c, u, row.received_at);
            if let Some(u) = urgency {
                consultations::set_urgency(tx, id, u, due, now)?;
                let detail = format!("{} -> {u}", row.urgency);
                audit::append(
                    tx,
                    now,
                    &by,
                    "consultation.urgency",
                    Some(&target(id)),
                    &detail,
                )?;
            }
            if let Some(c) = category {
                consultations::set_category(tx, id, c, due)?;
                let detail = format!("{} -> {c}", row.category);
                audit::append(
                    tx,
                    now,
                    &by,
                    "consultation.category",
                    Some(&target(id)),
                    &detail,
                )?;
            }
            consultations::get_row(tx, id, now)
        })
    }

    /// Hides an item from the top of the queue until `until` (`None` wakes it).
    pub fn snooze(&mut self, id: i64, until: Option<DateTime<Utc>>, by: &str) -> Result<QueueRow> {
        let by = actor(by)?;
        let now = self.now();
        if until.is_some_and(|u| u <= now) {
            return Err(Error::invalid(
                "until",
                "the snooze time is in the past; pick a later time",
            ));
        }
        self.store.write(|tx| {
            consultations::set_snooze(tx, id, until)?;
            let detail = until.map(store::ts).unwrap_or_else(|| "-".into());
            audit::append(
                tx,
                now,
                &by,
                "consultation.snooze",
                Some(&target(id)),
                &detail,
            )?;
            consultations::get_row(tx, id, now)
        })
    }

    /// Adds a reply, internal note or phone log to the thread.
    pub fn add_message(
        &mut self,
        id: i64,
        kind: MessageKind,
        body: &str,
        by: &str,
    ) -> Result<Message> {
        let by = actor(by)?;
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
        let now = self.now();
        self.store.write(|tx| {
            consultations::status_of(tx, id)?;
            let mid = messages::insert(tx, id, kind, &by, &body, now)?;
            let response = matches!(kind, MessageKind::Reply | MessageKind::Phone);
            consultations::touch(tx, id, kind == MessageKind::Inbound, response, now)?;
            search::index(tx, id, &body)?;
            audit::append(
                tx,
                now,
                &by,
                &format!("message.{}", kind.as_str()),
                Some(&target(id)),
                &format!("message {mid}"),
            )?;
            Ok(Message {
                id: mid,
                kind,
                author: by.clone(),
                body: body.clone(),
                at: now,
            })
        })
    }

    // ----- documents -------------------------------------------------------------------------

    /// Attaches a document to an existing consultation.
    pub fn attach(&mut self, id: i64, doc: Document<'_>, by: &str) -> Result<Attachment> {
        let by = actor(by)?;
        let media = blobs::check_document(doc.name, doc.bytes, doc.declared)?;
        consultations::status_of(self.store.conn(), id)?;
        let sha = self.blobs().put(doc.bytes)?;
        let now = self.now();
        let name = safe_file_name(doc.name);
        self.store.write(|tx| {
            let (aid, new) =
                attachments::link(tx, id, &sha, &name, media, doc.bytes.len() as u64, now)?;
            if new {
                consultations::touch(tx, id, true, false, now)?;
                audit::append(
                    tx,
                    now,
                    &by,
                    "attachment.add",
                    Some(&target(id)),
                    &format!("attachment {aid} sha256 {sha}"),
                )?;
            }
            Ok(Attachment {
                id: aid,
                name: name.clone(),
                media_type: media.into(),
                size: doc.bytes.len() as u64,
                sha256: sha.clone(),
            })
        })
    }

    /// Imports a referral document: to consultation `to`, or as a new consultation on `channel`
    /// (`manual` for drops/CLI, `fax_folder` for the scanner folder). The same bytes imported
    /// again as a new consultation return the existing one.
    pub fn import_document(
        &mut self,
        doc: Document<'_>,
        to: Option<i64>,
        channel: Channel,
        by: &str,
    ) -> Result<ImportOutcome> {
        if let Some(id) = to {
            let attachment = self.attach(id, doc, by)?;
            return Ok(ImportOutcome {
                id,
                created: false,
                attachment,
            });
        }
        let by = actor(by)?;
        let media = blobs::check_document(doc.name, doc.bytes, doc.declared)?;
        let sha = blobs::sha256_hex(doc.bytes);
        let dedupe_scope = format!("doc:{}", channel.as_str());
        if let Some(id) = existing_key(self.store.conn(), channel, &dedupe_scope, &sha)? {
            let attachment = attachments::list(self.store.conn(), id)?
                .into_iter()
                .find(|a| a.sha256 == sha)
                .ok_or_else(|| {
                    Error::Integrity(format!("consultation {id} lost its document {sha}"))
                })?;
            return Ok(ImportOutcome {
                id,
                created: false,
                attachment,
            });
        }
        self.blobs().put(doc.bytes)?;
        let now = self.now();
        let name = safe_file_name(doc.name);
        let s = self.settings.clone();
        let category = if channel == Channel::FaxFolder || media == "application/pdf" {
            Category::NewHomeVisit
        } else {
            Category::Other
        };
        let subject = match channel {
            Channel::FaxFolder => format!("FAX受信: {name}"),
            _ => format!("紹介状・書類: {name}"),
        };
        self.store.write(|tx| {
            let urgency = Urgency::Normal;
            let ins = ConsultationInsert {
                channel,
                partner_id: None,
                external_id: None,
                thread_key: None,
                category,
                urgency,
                urgency_reason: Some(
                    "書類の取り込み: 内容を確認して緊急度を決めてください → 通常".into(),
                ),
                urgency_confirmed: false,
                subject: subject.clone(),
                due_at: triage::due_at(&s.calendar, &s.targets, category, urgency, now),
                received_at: now,
                patient_ref: None,
                sender: Sender {
                    name: by.clone(),
                    role: None,
                    phone: None,
                },
                owner: s.on_duty(now).map(str::to_string),
                pii_flags_json: "[]".into(),
            };
            let id = consultations::insert(tx, &ins)?;
            search::index(tx, id, &subject)?;
            register_key(tx, channel, &dedupe_scope, &sha, id, None, None, now)?;
            let (aid, _) =
                attachments::link(tx, id, &sha, &name, media, doc.bytes.len() as u64, now)?;
            audit::append(
                tx,
                now,
                &by,
                "consultation.import",
                Some(&target(id)),
                &format!("attachment {aid} sha256 {sha}"),
            )?;
            Ok(ImportOutcome {
                id,
                created: true,
                attachment: Attachment {
                    id: aid,
                    name: name.clone(),
                    media_type: media.into(),
                    size: doc.bytes.len() as u64,
                    sha256: sha.clone(),
                },
            })
        })
    }

    /// The decrypted bytes of an attachment (audited as a read).
    pub fn attachment_bytes(
        &mut self,
        attachment_id: i64,
        by: &str,
    ) -> Result<(Attachment, Vec<u8>)> {
        let (cid, a) = attachments::get(self.store.conn(), attachment_id)?
            .ok_or_else(|| Error::NotFound(format!("attachment {attachment_id} not found")))?;
        let bytes = self.blobs().get(&a.sha256)?;
        let now = self.now();
        let by = actor(by)?;
        self.store.write(|tx| {
            audit::append(
                tx,
                now,
                &by,
                "attachment.read",
                Some(&target(cid)),
                &format!("attachment {attachment_id}"),
            )?;
            Ok(())
        })?;
        Ok((a, bytes))
    }

    // ----- partners --------------------------------------------------------------------------

    /// Registers a partner and issues its API key (returned once).
    pub fn add_partner(&mut self, p: NewPartner, by: &str) -> Result<(Partner, String)> {
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            let id = partners::insert(tx, &p, now)?;
            let key = partners::issue_api_key(tx, id, now)?;
            audit::append(
                tx,
                now,
                &by,
                "partner.add",
                Some(&format!("partner:{id}")),
                "api key issued",
            )?;
            Ok((partners::get(tx, id)?, key))
        })
    }

    /// Issues a new API key (the old one stops working).
    pub fn rotate_api_key(&mut self, partner_id: i64, by: &str) -> Result<String> {
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            let key = partners::issue_api_key(tx, partner_id, now)?;
            audit::append(
                tx,
                now,
                &by,
                "partner.key_rotate",
                Some(&format!("partner:{partner_id}")),
                "",
            )?;
            Ok(key)
        })
    }

    pub fn revoke_api_key(&mut self, partner_id: i64, by: &str) -> Result<()> {
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            partners::revoke_api_key(tx, partner_id)?;
            audit::append(
                tx,
                now,
                &by,
                "partner.key_revoke",
                Some(&format!("partner:{partner_id}")),
                "",
            )?;
            Ok(())
        })
    }

    pub fn partner_by_key(&self, key: &str) -> Result<Option<Partner>> {
        partners::by_api_key(self.store.conn(), key)
    }

    pub fn partners(&self) -> Result<Vec<Partner>> {
        partners::list(self.store.conn())
    }

    /// The partner's own view of its consultation; another partner's id is "not found".
    pub fn partner_view(&mut self, partner_id: i64, id: i64) -> Result<PartnerView> {
        let now = self.now();
        self.store.read(|tx| {
            let extra = consultations::get_extra(tx, id)?;
            if extra.partner_id != Some(partner_id) {
                return Err(consultations::not_found(id));
            }
            let row = consultations::get_row(tx, id, now)?;
            let replies = messages::thread(tx, id)?
                .into_iter()
                .filter(|m| m.kind == MessageKind::Reply)
                .map(|m| PartnerReply {
                    at: m.at,
                    author: m.author,
                    body: m.body,
                })
                .collect();
            Ok(PartnerView {
                id,
                external_id: extra.external_id,
                status: row.status,
                status_label: partner_status_label(&row),
                received_at: row.received_at,
                read_at: extra.first_read_at,
                acknowledged_at: extra.acknowledged_at,
                owner: row.owner,
                replies,
                attachments: row.attachments,
            })
        })
    }

    /// Partners with response statistics.
    pub fn partner_stats(&mut self) -> Result<Vec<PartnerStats>> {
        let now = self.now();
        let list = partners::list(self.store.conn())?;
        let mut out = Vec::with_capacity(list.len());
        for p in list {
            let mut st = self.store.conn().prepare_cached(
                "SELECT received_at, first_response_at, status, due_at FROM consultations WHERE partner_id = ?1",
            )?;
            let rows = st
                .query_map([p.id], |r| {
                    Ok((
                        store::parse_ts(&r.get::<_, String>(0)?)?,
                        store::parse_opt_ts(r.get(1)?)?,
                        r.get::<_, String>(2)?,
                        store::parse_opt_ts(r.get(3)?)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut deltas: Vec<f64> = rows
                .iter()
                .filter_map(|(rec, first, _, _)| {
                    first.map(|f| (f - *rec).num_seconds() as f64 / 60.0)
                })
                .collect();
            deltas.sort_by(|a, b| a.total_cmp(b));
            let median = if deltas.is_empty() {
                None
            } else if deltas.len() % 2 == 1 {
                Some(deltas[deltas.len() / 2])
            } else {
                Some((deltas[deltas.len() / 2 - 1] + deltas[deltas.len() / 2]) / 2.0)
            };
            let open: Vec<_> = rows
                .iter()
                .filter(|r| r.2 != "resolved" && r.2 != "declined")
                .collect();
            out.push(PartnerStats {
                total: rows.len() as u32,
                open: open.len() as u32,
                overdue: open.iter().filter(|r| r.3.is_some_and(|d| d < now)).count() as u32,
                median_first_response_min: median,
                last_received_at: rows.iter().map(|r| r.0).max(),
                partner: p,
            });
        }
        Ok(out)
    }

    // ----- staff and sign-in -------------------------------------------------------------------

    /// Adds a staff profile (optionally with a PIN).
    pub fn add_staff(
        &mut self,
        name: &str,
        role: store::staff::Role,
        pin: Option<&str>,
        by: &str,
    ) -> Result<store::staff::Staff> {
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            let id = store::staff::add(tx, name, role, pin, now)?;
            audit::append(
                tx,
                now,
                &by,
                "staff.add",
                Some(&format!("staff:{id}")),
                role.as_str(),
            )?;
            store::staff::list(tx)?
                .into_iter()
                .find(|s| s.id == id)
                .ok_or_else(|| Error::NotFound(format!("staff {id} not found")))
        })
    }

    /// Whether the desktop app must start locked: some active profile has a PIN. Until then
    /// (first run) the app asks "who am I" and anyone may manage staff and settings.
    pub fn lock_required(&self) -> Result<bool> {
        store::staff::any_pin(self.store.conn())
    }

    /// Refuses unless `by` may administer (doctor, admin). While no profile has a PIN (first
    /// run) everyone may, so the first administrator can be created.
    pub fn authorize_admin(&self, by: &str) -> Result<()> {
        if !self.lock_required()? {
            return Ok(());
        }
        let by = crate::model::clean_line(by);
        match store::staff::by_name(self.store.conn(), &by)? {
            Some(s) if s.active && s.role.may_administer() => Ok(()),
            Some(s) if s.active => Err(Error::Forbidden(format!(
                "{} ({}) may not change settings or staff; ask a doctor or an administrator",
                s.name,
                s.role.as_str()
            ))),
            _ => Err(Error::Forbidden(
                "sign in as a doctor or an administrator to change settings or staff".into(),
            )),
        }
    }

    /// Saves settings from the settings screen: only for administrators, validated
    /// ([`Settings::validate`]), masked secrets keep their stored value.
    pub fn update_settings(&mut self, mut s: Settings, by: &str) -> Result<()> {
        self.authorize_admin(by)?;
        s.keep_secrets_from(&self.settings);
        s.validate().map_err(|m| Error::invalid("settings", m))?;
        self.save_settings(s, by)
    }

    /// Adds a staff profile from the settings screen (administrators only).
    pub fn admin_add_staff(
        &mut self,
        name: &str,
        role: store::staff::Role,
        pin: Option<&str>,
        by: &str,
    ) -> Result<store::staff::Staff> {
        self.authorize_admin(by)?;
        if pin.is_some() && !role.may_administer() && !self.lock_required()? {
            return Err(Error::invalid(
                "role",
                "the first staff profile with a PIN must be a doctor or an administrator, \
                 so that someone can manage staff and settings once the app locks",
            ));
        }
        self.add_staff(name, role, pin, by)
    }

    /// Sets a new PIN for a profile and lifts its lock-out (administrators only), audited.
    pub fn admin_reset_pin(&mut self, id: i64, pin: &str, by: &str) -> Result<()> {
        self.authorize_admin(by)?;
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            store::staff::set_pin(tx, id, pin)?;
            audit::append(
                tx,
                now,
                &by,
                "staff.pin_reset",
                Some(&format!("staff:{id}")),
                "",
            )?;
            Ok(())
        })
    }

    /// Deactivates a profile (the person left the clinic) or reactivates it (administrators
    /// only), audited as `staff.deactivate` / `staff.reactivate`. Profiles are never deleted:
    /// history and the audit log keep the name. A deactivated profile cannot sign in and is not
    /// offered on the lock screen. Refused: deactivating the last administrator who can sign in
    /// ([`Error::LastAdmin`]) — also when that is the one acting. Already in that state: no-op.
    pub fn admin_set_staff_active(
        &mut self,
        id: i64,
        active: bool,
        by: &str,
    ) -> Result<store::staff::Staff> {
        self.authorize_admin(by)?;
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            let s = store::staff::by_id(tx, id)?;
            if s.active == active {
                return Ok(s);
            }
            if !active {
                ensure_other_administrator(tx, &s, "deactivate")?;
            }
            store::staff::set_active(tx, id, active)?;
            let action = if active {
                "staff.reactivate"
            } else {
                "staff.deactivate"
            };
            audit::append(tx, now, &by, action, Some(&format!("staff:{id}")), &s.name)?;
            store::staff::by_id(tx, id)
        })
    }

    /// Changes a profile's role (administrators only), audited as `staff.role` with
    /// "name: old → new". Refused: taking the administrator role from the last administrator
    /// who can sign in ([`Error::LastAdmin`]).
    pub fn admin_set_staff_role(
        &mut self,
        id: i64,
        role: store::staff::Role,
        by: &str,
    ) -> Result<store::staff::Staff> {
        self.authorize_admin(by)?;
        let by = actor(by)?;
        let now = self.now();
        self.store.write(|tx| {
            let s = store::staff::by_id(tx, id)?;
            if s.role == role {
                return Ok(s);
            }
            if !role.may_administer() {
                ensure_other_administrator(tx, &s, "change the role of")?;
            }
            store::staff::set_role(tx, id, role)?;
            let detail = format!("{}: {} → {}", s.name, s.role.as_str(), role.as_str());
            audit::append(
                tx,
                now,
                &by,
                "staff.role",
                Some(&format!("staff:{id}")),
                &detail,
            )?;
            store::staff::by_id(tx, id)
        })
    }

    /// The signed-in staff member changes their own PIN: the current PIN is checked like a
    /// sign-in (wrong ones count towards the lock-out), audited as `staff.pin_change` (or
    /// `staff.pin_change.failed`), never the PINs.
    pub fn change_own_pin(&mut self, name: &str, current: &str, new_pin: &str) -> Result<()> {
        let name = actor(name)?;
        store::staff::check_pin_format(new_pin)?;
        let now = self.now();
        self.store.write(|tx| {
            let r = store::staff::verify(tx, &name, current, now)
                .and_then(|s| store::staff::set_pin(tx, s.id, new_pin).map(|()| s));
            let (action, target_) = match &r {
                Ok(s) => ("staff.pin_change", Some(format!("staff:{}", s.id))),
                Err(_) => ("staff.pin_change.failed", None),
            };
            audit::append(tx, now, &name, action, target_.as_deref(), "")?;
            Ok(r.map(|_| ()))
        })?
    }

    /// Recovery for the operator who holds the store key (`renkei staff set-pin`): sets the
    /// PIN of the profile `name`, lifts its lock-out and reactivates it, without a signed-in
    /// administrator — whoever can run this can read the whole store anyway. For the day the
    /// last administrator forgets their PIN. Audited as `staff.pin_reset` (`operator`), never
    /// the PIN.
    pub fn operator_set_pin(
        &mut self,
        name: &str,
        pin: &str,
        by: &str,
    ) -> Result<store::staff::Staff> {
        let by = actor(by)?;
        let name = crate::model::clean_line(name);
        store::staff::check_pin_format(pin)?;
        let now = self.now();
        self.store.write(|tx| {
            let Some(s) = store::staff::by_name(tx, &name)? else {
                let known: Vec<String> = store::staff::list(tx)?
                    .into_iter()
                    .map(|s| s.name)
                    .collect();
                return Err(Error::NotFound(format!(
                    "no staff profile named '{name}' (profiles: {}); add one with `renkei staff add`",
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                )));
            };
            store::staff::set_pin(tx, s.id, pin)?;
            if !s.active {
                store::staff::set_active(tx, s.id, true)?;
            }
            audit::append(
                tx,
                now,
                &by,
                "staff.pin_reset",
                Some(&format!("staff:{}", s.id)),
                "operator",
            )?;
            store::staff::by_id(tx, s.id)
        })
    }

    /// The next `count` national holidays from today (JST), for the settings screen.
    pub fn upcoming_holidays(&self, count: usize) -> Vec<(chrono::NaiveDate, &'static str)> {
        use chrono::Datelike;
        let today = crate::calendar::jst_date(self.now());
        (today.year()..=today.year() + 1)
            .flat_map(crate::calendar::holidays::holidays_in_year)
            .filter(|(d, _)| *d >= today)
            .take(count)
            .collect()
    }

    /// A backup now ("今すぐバックアップ"), next to the daily generations in
    /// `<data dir>/backups` (named `renkei-manual-…`, so the daily pruning leaves it).
    pub fn backup_now(
        &mut self,
        by: &str,
    ) -> Result<(std::path::PathBuf, crate::backup::Manifest)> {
        let folder = self.store.dir().backup_dir();
        std::fs::create_dir_all(&folder)?;
        let stamp = self
            .now()
            .with_timezone(&crate::clock::jst())
            .format("%Y%m%d-%H%M%S");
        let path = folder.join(format!("renkei-manual-{stamp}.rkbackup"));
        let m = self.backup(&path, by)?;
        Ok((path, m))
    }

    pub fn staff(&self) -> Result<Vec<store::staff::Staff>> {
        store::staff::list(self.store.conn())
    }

    /// Unlocks as `name` with `pin`; every attempt is audited (never the PIN).
    pub fn sign_in(&mut self, name: &str, pin: &str) -> Result<store::staff::Staff> {
        let now = self.now();
        let name = crate::model::clean_line(name);
        self.store.write(|tx| {
            let r = store::staff::verify(tx, &name, pin, now);
            let action = if r.is_ok() { "login" } else { "login.failed" };
            audit::append(tx, now, &name, action, None, "")?;
            Ok(r)
        })?
    }

    // ----- audit, notifications, integrity -------------------------------------------------------

    pub fn audit(&self, f: &audit::AuditFilter) -> Result<Vec<AuditEvent>> {
        audit::list(self.store.conn(), f)
    }

    /// Appends an audit event for something that happened outside the store (login, export).
    pub fn record(
        &mut self,
        by: &str,
        action: &str,
        target_: Option<&str>,
        detail: &str,
    ) -> Result<()> {
        let now = self.now();
        self.store
            .write(|tx| audit::append(tx, now, by, action, target_, detail).map(|_| ()))
    }

    /// Logs a shown notification for the "why did I get this" list.
    pub fn log_notification(
        &mut self,
        ids: &[String],
        urgency: &str,
        title: &str,
        body: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.store.write(|tx| {
            store::notifications::insert(tx, at, ids, urgency, title, body, reason).map(|_| ())
        })
    }

    pub fn notifications(
        &self,
        limit: usize,
    ) -> Result<Vec<store::notifications::LoggedNotification>> {
        store::notifications::recent(self.store.conn(), limit)
    }

    /// Writes a consistent, encrypted backup of the store to `out` (audited).
    pub fn backup(&mut self, out: &std::path::Path, by: &str) -> Result<crate::backup::Manifest> {
        let by = actor(by)?;
        let now = self.now();
        let m = crate::backup::backup(&self.store, out, now)?;
        self.record(
            &by,
            "backup.create",
            None,
            &format!(
                "{} consultations, {} attachments",
                m.consultations, m.attachments
            ),
        )?;
        Ok(m)
    }

    /// The automatic daily backup (generations in `<data dir>/backups`, mirror from settings).
    pub fn daily_backup(&mut self) -> Result<crate::backup::DailyOutcome> {
        let now = self.now();
        let b = self.settings.backup.clone();
        let folder = self.store.dir().backup_dir();
        let mirror = b
            .mirror_dir
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(std::path::PathBuf::from);
        let out = crate::backup::daily(&self.store, &folder, mirror.as_deref(), b.keep_days, now)?;
        if out.written.is_some() {
            self.record(
                "system",
                "backup.daily",
                None,
                &format!("pruned {}", out.pruned.len()),
            )?;
        }
        Ok(out)
    }

    /// Where the daily backups stand (newest generation, its age, the mirror copy).
    pub fn backup_status(&self) -> BackupStatus {
        let b = &self.settings.backup;
        let folder = self.store.dir().backup_dir();
        let latest = crate::backup::latest_generation(&folder);
        let today = crate::calendar::jst_date(self.now());
        let mirror_dir = b.mirror_dir.clone().filter(|m| !m.trim().is_empty());
        let mirrored = match (&mirror_dir, &latest) {
            (Some(m), Some((p, _))) => Some(
                p.file_name()
                    .is_some_and(|n| std::path::Path::new(m).join(n).is_file()),
            ),
            (Some(_), None) => Some(false),
            (None, _) => None,
        };
        BackupStatus {
            enabled: b.enabled,
            keep_days: b.keep_days,
            latest: latest
                .as_ref()
                .and_then(|(p, _)| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
            latest_day: latest.as_ref().map(|(_, d)| *d),
            age_days: latest.as_ref().map(|(_, d)| (today - *d).num_days()),
            mirror_dir,
            mirrored,
        }
    }

    /// Checks the store: SQLite integrity, every attachment against its hash, the audit chain.
    pub fn check(&mut self) -> Result<CheckReport> {
        self.check_with(true)
    }

    /// The self-check the desktop app runs at every start: `PRAGMA quick_check`, every
    /// attachment file present, the audit chain. Decrypting and hashing every attachment is
    /// left to [`Desk::check`] (`renkei check`).
    pub fn quick_check(&mut self) -> Result<CheckReport> {
        self.check_with(false)
    }

    fn check_with(&mut self, full: bool) -> Result<CheckReport> {
        let conn = self.store.conn();
        let pragma = if full {
            "PRAGMA integrity_check"
        } else {
            "PRAGMA quick_check"
        };
        let integrity: String = conn.query_row(pragma, [], |r| r.get(0))?;
        let mut problems = Vec::new();
        if integrity != "ok" {
            problems.push(format!("database: {integrity}"));
        }
        let consultations: u64 = conn.query_row("SELECT count(*) FROM consultations", [], |r| {
            r.get::<_, i64>(0)
        })? as u64;
        let shas = attachments::all_blobs(conn)?;
        let bs = self.blobs();
        for sha in &shas {
            if full {
                if let Err(e) = bs.get(sha) {
                    problems.push(format!("attachment {sha}: {e}"));
                }
            } else if !bs.path_of(sha).is_file() {
                problems.push(format!("attachment {sha}: the file is missing"));
            }
        }
        let audit_rows = match audit::verify(conn) {
            Ok(n) => n,
            Err(e) => {
                problems.push(e.to_string());
                0
            }
        };
        Ok(CheckReport {
            integrity,
            consultations,
            attachments_checked: shas.len() as u64,
            audit_rows,
            problems,
        })
    }
}

// ----- helpers ---------------------------------------------------------------------------------

fn target(id: i64) -> String {
    format!("consultation:{id}")
}

/// Validates who is acting.
/// Refuses a change that would take `s` out of the administrators who can sign in (active,
/// with a PIN, doctor or admin) when nobody else is left: staff and settings could then never
/// be managed again.
fn ensure_other_administrator(tx: &Connection, s: &store::staff::Staff, what: &str) -> Result<()> {
    let is_admin = s.active && s.has_pin && s.role.may_administer();
    if is_admin && store::staff::other_administrators(tx, s.id)? == 0 {
        return Err(Error::LastAdmin(format!(
            "cannot {what} {}: they are the last active administrator (doctor or admin with a \
             PIN). Add or reactivate another administrator first, then try again",
            s.name
        )));
    }
    Ok(())
}

fn actor(by: &str) -> Result<String> {
    let by = crate::model::clean_line(by);
    if by.is_empty() {
        return Err(Error::invalid(
            "by",
            "say who is acting (--by NAME / the unlocked staff profile)",
        ));
    }
    if by.chars().count() > 60 {
        return Err(Error::invalid(
            "by",
            "the staff name is longer than 60 characters",
        ));
    }
    Ok(by)
}

fn current_owner(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(
        conn.query_row("SELECT owner FROM consultations WHERE id = ?1", [id], |r| {
            r.get(0)
        })?,
    )
}

/// A file name safe to show and to offer for saving: no path, no control characters.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    let clean = clean.trim().to_string();
    if clean.is_empty() || clean == "." || clean == ".." {
        "document".into()
    } else {
        clean
    }
}

fn partner_status_label(row: &QueueRow) -> String {
    match (row.status, &row.owner) {
        (Status::New, _) => "受付済み（未確認）".into(),
        (Status::Acknowledged, Some(o)) => format!("確認済み・担当 {o}"),
        (s, Some(o)) if s.is_open() => format!("{}・担当 {o}", s.label_ja()),
        (s, _) => s.label_ja().into(),
    }
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

fn existing_key(
    conn: &Connection,
    channel: Channel,
    partner_key: &str,
    external_id: &str,
) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT consultation_id FROM intake_keys WHERE channel = ?1 AND partner_key = ?2 AND external_id = ?3",
            params![channel.as_str(), partner_key, external_id],
            |r| r.get(0),
        )
        .optional()?)
}

#[allow(clippy::too_many_arguments)]
fn register_key(
    conn: &Connection,
    channel: Channel,
    partner_key: &str,
    external_id: &str,
    consultation_id: i64,
    message_id: Option<i64>,
    request_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO intake_keys (channel, partner_key, external_id, consultation_id, message_id, request_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![channel.as_str(), partner_key, external_id, consultation_id, message_id, request_hash, store::ts(now)],
    )?;
    Ok(())
}

fn resolve_partner(conn: &Connection, p: &PartnerRef, now: DateTime<Utc>) -> Result<Option<i64>> {
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

fn intake_tx(
    tx: &Connection,
    s: &Settings,
    n: NewConsultation,
    idem: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> Result<IntakeOutcome> {
    let partner_id = resolve_partner(tx, &n.partner, now)?;
    let pkey = partner_id
        .map(|p| p.to_string())
        .unwrap_or_else(|| "-".into());
    // 1. Idempotency-Key: the same key with another body is a conflict.
    if let Some((key, hash)) = idem {
        let idem_id = format!("idem:{key}");
        let found: Option<(i64, Option<String>)> = tx
            .query_row(
                "SELECT consultation_id, request_hash FROM intake_keys WHERE channel = ?1 AND partner_key = ?2 AND external_id = ?3",
                params![n.channel.as_str(), pkey, idem_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((id, old_hash)) = found {
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
    if let Some(x) = &n.external_id {
        if let Some(id) = existing_key(tx, n.channel, &pkey, x)? {
            if let Some((key, hash)) = idem {
                register_key(
                    tx,
                    n.channel,
                    &pkey,
                    &format!("idem:{key}"),
                    id,
                    None,
                    Some(hash),
                    now,
                )?;
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
        if let Some(id) = consultations::find_open_thread(tx, n.channel, partner_id, tk)? {
            let mid =
                messages::insert(tx, id, n.first_message_kind, &author, &n.body, received_at)?;
            consultations::touch(tx, id, true, false, received_at)?;
            search::index(tx, id, &n.body)?;
            if let Some(x) = &n.external_id {
                register_key(tx, n.channel, &pkey, x, id, Some(mid), None, now)?;
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
    let suggestion = urgency::suggest(&n.subject, &n.body);
    let (urgency, reason, confirmed) = match n.urgency {
        Some(u) => (u, format!("送信者の指定 → {}", u.label_ja()), true),
        None => (suggestion.urgency, suggestion.reason.clone(), false),
    };
    let flags = pii::scan(&format!("{}\n{}", n.subject, n.body));
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
    search::index(
        tx,
        id,
        &format!("{}\n{}\n{}", n.subject, n.body, n.sender.name),
    )?;
    if let Some(x) = &n.external_id {
        register_key(tx, n.channel, &pkey, x, id, mid, None, now)?;
    }
    if let Some((key, hash)) = idem {
        register_key(
            tx,
            n.channel,
            &pkey,
            &format!("idem:{key}"),
            id,
            mid,
            Some(hash),
            now,
        )?;
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

fn detail(tx: &Connection, id: i64, now: DateTime<Utc>) -> Result<ConsultationDetail> {
    let row = consultations::get_row(tx, id, now)?;
    let extra = consultations::get_extra(tx, id)?;
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
    })
}
