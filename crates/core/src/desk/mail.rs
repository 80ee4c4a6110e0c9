//! Mail intake: one mail → one consultation (channel `email`), or an MCS notice (channel `mcs`)
//! that joins the open item of its group when that had news within [`MCS_JOIN_WINDOW_HOURS`].
//! The same `Message-ID` again → the existing consultation, nothing new. PDF/image attachments
//! become documents of the consultation through the document checks; a refused attachment is
//! named in the consultation's text, never dropped silently. Consultation, attachments and keys
//! commit in one transaction.

use super::intake::{intake_tx_within, Prepared};
use super::{actor, target, Desk};
use crate::codes::{Category, Channel, PartnerKind};
use crate::error::Result;
use crate::mail::{MailOptions, ParsedMail};
use crate::model::*;
use crate::store::intake_keys::{self, IntakeKey};
use crate::store::{attachments, audit, blobs, partners};

/// MCS notices of one group within this many hours join one open consultation.
pub const MCS_JOIN_WINDOW_HOURS: i64 = 12;
/// The partner of mail from senders no partner claims yet (assigned later by staff).
pub const UNASSIGNED_SENDER: &str = "送信元未設定";
/// The partner of MCS notices.
pub const MCS_PARTNER: &str = "MCS";

/// The intake-key scope of a `Message-ID` (per channel, whatever partner it was filed under).
const MAIL_SCOPE: &str = "mail";

/// What a mail import did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MailOutcome {
    pub id: i64,
    /// false: this `Message-ID` was taken in before (or the notice joined an open item).
    pub created: bool,
    /// true: an MCS notice joined the open consultation of its group.
    pub joined: bool,
    pub channel: Channel,
    /// Attachments stored as documents of the consultation.
    pub attachments: Vec<Attachment>,
    /// Attachments not stored, each with the reason (also written into the consultation).
    pub refused: Vec<String>,
}

impl Desk {
    /// Parses a raw mail (`.eml`) and takes it in, see [`Desk::import_parsed_mail`].
    pub fn import_mail(&mut self, raw: &[u8], opts: &MailOptions, by: &str) -> Result<MailOutcome> {
        let mail = crate::mail::parse(raw, opts)?;
        self.import_parsed_mail(mail, by)
    }

    /// Takes in one parsed mail; `by` is who imported it (a staff name, `imap`).
    pub fn import_parsed_mail(&mut self, mail: ParsedMail, by: &str) -> Result<MailOutcome> {
        let by = actor(by)?;
        let channel = if mail.mcs.is_some() {
            Channel::Mcs
        } else {
            Channel::Email
        };
        let key = IntakeKey {
            channel,
            partner_key: MAIL_SCOPE,
            external_id: &mail.message_id,
        };
        if let Some(id) = intake_keys::consultation_of(self.store.db(), &key)? {
            return Ok(duplicate(id, channel));
        }
        // Attachments: checked and stored (content-addressed, encrypted) before the write.
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        for a in &mail.attachments {
            match blobs::check_document(&a.name, &a.bytes, None) {
                Ok(media) => {
                    let sha = self.blobs().put(&a.bytes)?;
                    accepted.push((a.name.clone(), media, sha, a.bytes.len() as u64));
                }
                Err(e) => refused.push(format!("{}（{}）", a.name, e)),
            }
        }
        let n = consultation_of(&mail, channel, &refused, &by);
        let s = self.settings.clone();
        let now = self.now();
        let window =
            (channel == Channel::Mcs).then(|| chrono::Duration::hours(MCS_JOIN_WINDOW_HOURS));
        let from = mail.from_address.clone();
        let p = Prepared::new(n)?;
        self.store.write(|tx| {
            if let Some(id) = intake_keys::consultation_of(tx, &key)? {
                return Ok(duplicate(id, channel));
            }
            let mut p = p;
            if channel == Channel::Email {
                if let Some(pid) = from
                    .as_deref()
                    .map(|a| partners::find_by_email(tx, a))
                    .transpose()?
                    .flatten()
                {
                    p.n.partner = PartnerRef::Id(pid);
                }
            }
            let out = intake_tx_within(tx, &s, p, None, now, window, false)?;
            intake_keys::register(tx, &key, out.id, out.message_id, None, now)?;
            let mut linked = Vec::new();
            for (name, media, sha, size) in &accepted {
                let (aid, new) = attachments::link(tx, out.id, sha, name, media, *size, now)?;
                if new {
                    audit::append(
                        tx,
                        now,
                        &by,
                        "attachment.add",
                        Some(&target(out.id)),
                        &format!("attachment {aid} sha256 {sha} from mail"),
                    )?;
                }
                linked.push(Attachment {
                    id: aid,
                    name: name.clone(),
                    media_type: (*media).into(),
                    size: *size,
                    sha256: sha.clone(),
                });
            }
            Ok(MailOutcome {
                id: out.id,
                created: out.created,
                joined: out.joined,
                channel,
                attachments: linked,
                refused: refused.clone(),
            })
        })
    }
}

fn duplicate(id: i64, channel: Channel) -> MailOutcome {
    MailOutcome {
        id,
        created: false,
        joined: false,
        channel,
        attachments: Vec::new(),
        refused: Vec::new(),
    }
}

/// At most `max` characters of `s`.
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The consultation a mail becomes (partner: MCS, or "unassigned" until the sender is matched
/// inside the write).
fn consultation_of(
    mail: &ParsedMail,
    channel: Channel,
    refused: &[String],
    by: &str,
) -> NewConsultation {
    let mut body = String::new();
    let (partner, category, subject, thread_key, sender) = match &mail.mcs {
        Some(notice) => {
            body.push_str(&format!(
                "MCS の「{}」に新しい投稿があります。内容は MCS で確認してください。\n",
                notice.group
            ));
            match &notice.link {
                Some(l) => body.push_str(&format!("MCS へのリンク: {l}\n")),
                None => body.push_str("（通知メールに MCS へのリンクはありませんでした）\n"),
            }
            if !mail.body.is_empty() {
                body.push_str("\n--- 通知メール ---\n");
            }
            (
                PartnerRef::Named {
                    name: MCS_PARTNER.into(),
                    kind: PartnerKind::Other,
                },
                Category::Info,
                format!("MCS: {}に新しい投稿", notice.group),
                Some(cut(&format!("mcs:{}", notice.group), 60)),
                "MCS通知".to_string(),
            )
        }
        None => (
            PartnerRef::Named {
                name: UNASSIGNED_SENDER.into(),
                kind: PartnerKind::Other,
            },
            Category::Other,
            if mail.subject.trim().is_empty() {
                "（件名なし）".to_string()
            } else {
                mail.subject.clone()
            },
            None,
            match (&mail.from_name, &mail.from_address) {
                (Some(n), Some(a)) => format!("{n} <{a}>"),
                (Some(n), None) => n.clone(),
                (None, Some(a)) => a.clone(),
                (None, None) => "差出人不明".into(),
            },
        ),
    };
    if mail.mcs_lookalike {
        body.insert_str(
            0,
            &format!(
                "※ MCS の通知に見えますが、送信元アドレス（{}）は MCS の送信元として登録されていないため、通常のメールとして取り込みました。本文のリンクは開かず、MCS の画面で直接確認してください。\n\n",
                mail.from_address.as_deref().unwrap_or("不明")
            ),
        );
    }
    let mut notes = String::new();
    for r in refused {
        notes.push_str(&format!("\n【添付を取り込めませんでした】{r}"));
    }
    let room = MAX_BODY_CHARS.saturating_sub(body.chars().count() + notes.chars().count() + 80);
    if mail.body.chars().count() > room {
        body.push_str(&cut(&mail.body, room));
        body.push_str("\n（本文が長いため途中で切りました。全文は元のメールで確認してください）");
    } else {
        body.push_str(&mail.body);
    }
    body.push_str(&notes);
    let mut n = NewConsultation::new(
        channel,
        partner,
        category,
        &cut(&subject, MAX_SUBJECT_CHARS),
        body.trim(),
    );
    n.external_id = Some(mail.message_id.clone());
    n.thread_key = thread_key;
    n.sender = Sender {
        name: cut(&clean_line(&sender), MAX_SENDER_CHARS),
        role: None,
        phone: None,
    };
    n.entered_by = Some(by.to_string());
    n
}
