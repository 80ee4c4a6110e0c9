//! Documents: attaching to a consultation, importing a referral or FAX as a new one (deduped by
//! content), reading an attachment back (audited).

use super::{actor, target, Desk};
use crate::codes::{Category, Channel, Urgency};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::consultations::{self, ConsultationInsert};
use crate::store::intake_keys::{self, IntakeKey};
use crate::store::{attachments, blobs, search};
use crate::triage;

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

impl Desk {
    /// Attaches a document to an existing consultation.
    pub fn attach(&mut self, id: i64, doc: Document<'_>, by: &str) -> Result<Attachment> {
        let by = actor(by)?;
        let media = blobs::check_document(doc.name, doc.bytes, doc.declared)?;
        consultations::status_of(self.store.db(), id)?;
        let sha = self.blobs().put(doc.bytes)?;
        let name = safe_file_name(doc.name);
        self.audited(by, |c| {
            let (aid, new) =
                attachments::link(c.tx, id, &sha, &name, media, doc.bytes.len() as u64, c.now)?;
            if new {
                consultations::touch(c.tx, id, true, false, c.now)?;
                c.audit(
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
        let dedupe = IntakeKey {
            channel,
            partner_key: &dedupe_scope,
            external_id: &sha,
        };
        if let Some(id) = intake_keys::consultation_of(self.store.db(), &dedupe)? {
            let attachment = attachments::list(self.store.db(), id)?
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
        self.audited(by, |c| {
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
                due_at: triage::due_at(&s.calendar, &s.targets, category, urgency, c.now),
                received_at: c.now,
                patient_ref: None,
                sender: Sender {
                    name: c.by.to_string(),
                    role: None,
                    phone: None,
                },
                owner: s.on_duty(c.now).map(str::to_string),
                pii_flags_json: "[]".into(),
            };
            let id = consultations::insert(c.tx, &ins)?;
            search::index(c.tx, id, &subject)?;
            intake_keys::register(c.tx, &dedupe, id, None, None, c.now)?;
            let (aid, _) =
                attachments::link(c.tx, id, &sha, &name, media, doc.bytes.len() as u64, c.now)?;
            c.audit(
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
        let (cid, a) = attachments::get(self.store.db(), attachment_id)?
            .ok_or_else(|| Error::NotFound(format!("attachment {attachment_id} not found")))?;
        let bytes = self.blobs().get(&a.sha256)?;
        self.act(by, |c| {
            c.audit(
                "attachment.read",
                Some(&target(cid)),
                &format!("attachment {attachment_id}"),
            )
        })?;
        Ok((a, bytes))
    }
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
