//! The domain model: what a consultation, partner, message, attachment and history entry are.
//!
//! Raw input (what arrives from the HTTP API, a webhook, the CLI) is parsed into validated types
//! here — [`ConsultationRequest`] → [`NewConsultation`] — so the store only ever sees valid data
//! ("parse, don't validate"). Read models ([`QueueRow`], [`ConsultationDetail`]) are what the CLI,
//! the HTTP API and the UI show.

use crate::codes::{Category, Channel, PartnerKind, Status, Urgency};
use crate::error::{Error, Result};
use crate::pii::PiiFlag;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest subject we accept (characters).
pub const MAX_SUBJECT_CHARS: usize = 200;
/// Longest message body we accept (characters).
pub const MAX_BODY_CHARS: usize = 20_000;
/// Longest external id (bytes).
pub const MAX_EXTERNAL_ID: usize = 200;
/// Longest sender name, role or phone (characters).
pub const MAX_SENDER_CHARS: usize = 100;
/// Longest patient reference (characters).
pub const MAX_PATIENT_REF_CHARS: usize = 200;
/// Longest thread key or channel handle (bytes).
pub const MAX_HANDLE_BYTES: usize = 200;

/// A partner organisation (hospital, 包括, care manager, 訪問看護, pharmacy, facility).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Partner {
    pub id: i64,
    pub name: String,
    pub kind: PartnerKind,
    pub contact: Option<String>,
    pub phone: Option<String>,
    /// Channels the partner uses, e.g. `["lineworks", "fax_folder"]`.
    pub channels: Vec<Channel>,
    pub has_api_key: bool,
    pub created_at: DateTime<Utc>,
    /// Send the automatic receipt when someone takes one of its consultations (default off).
    #[serde(default)]
    pub receipt: bool,
}

/// Who wrote an inbound message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    pub name: String,
    pub role: Option<String>,
    pub phone: Option<String>,
}

/// Which partner a new consultation belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartnerRef {
    Id(i64),
    /// Find by name, create with this kind if missing (webhooks, demo, manual entry).
    Named {
        name: String,
        kind: PartnerKind,
    },
    /// Find by a channel handle (LINE WORKS channelId, Chatwork room id), create if missing.
    Handle {
        channel: Channel,
        handle: String,
        display_name: String,
    },
    /// The clinic itself / unknown sender (documents dropped at the desk).
    Unknown,
}

/// A validated consultation ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewConsultation {
    pub channel: Channel,
    pub partner: PartnerRef,
    /// Sender-side id for dedupe; scoped per (channel, partner).
    pub external_id: Option<String>,
    /// Conversations that continue (a LINE WORKS channel, a Chatwork room): a message with the
    /// same thread key joins the open consultation of that thread instead of making a new one.
    pub thread_key: Option<String>,
    pub category: Category,
    /// The sender's urgency; `None` means "suggest one from the text".
    pub urgency: Option<Urgency>,
    pub subject: String,
    pub body: String,
    pub sender: Sender,
    pub patient_ref: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    /// Who entered it at the desk (manual/phone), for the audit trail.
    pub entered_by: Option<String>,
    /// Message kind of the first message (inbound for partners, phone for phone logs).
    pub first_message_kind: MessageKind,
    /// Where a reply to this message goes (LINE WORKS channel/user, Chatwork room + message);
    /// kept with the message (`store::outbox::record_route`).
    pub origin: Option<crate::outbound::ReplyRoute>,
}

impl NewConsultation {
    /// A new consultation with defaults for the optional parts.
    pub fn new(
        channel: Channel,
        partner: PartnerRef,
        category: Category,
        subject: &str,
        body: &str,
    ) -> Self {
        NewConsultation {
            channel,
            partner,
            external_id: None,
            thread_key: None,
            category,
            urgency: None,
            subject: subject.to_string(),
            body: body.to_string(),
            sender: Sender::default(),
            patient_ref: None,
            received_at: None,
            entered_by: None,
            first_message_kind: if channel == Channel::Phone {
                MessageKind::Phone
            } else {
                MessageKind::Inbound
            },
            origin: None,
        }
    }

    /// Checks lengths and emptiness; trims the subject.
    pub fn validate(mut self) -> Result<Self> {
        // NUL is refused, not cleaned away like the other control characters of a subject.
        if contains_nul(&self.body) || contains_nul(&self.subject) {
            return Err(Error::invalid(
                if contains_nul(&self.body) {
                    "body"
                } else {
                    "subject"
                },
                "text contains NUL characters",
            ));
        }
        self.subject = clean_line(&self.subject);
        if self.subject.is_empty() {
            return Err(Error::invalid(
                "subject",
                "subject is empty: give a one-line title (件名)",
            ));
        }
        if self.subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(Error::invalid(
                "subject",
                format!("subject is longer than {MAX_SUBJECT_CHARS} characters"),
            ));
        }
        if self.body.chars().count() > MAX_BODY_CHARS {
            return Err(Error::invalid(
                "body",
                format!("body is longer than {MAX_BODY_CHARS} characters"),
            ));
        }
        if let Some(x) = &self.external_id {
            if x.trim().is_empty() || x.len() > MAX_EXTERNAL_ID {
                return Err(Error::invalid(
                    "external_id",
                    format!("external_id must be 1–{MAX_EXTERNAL_ID} bytes"),
                ));
            }
        }
        if let Some(x) = &self.external_id {
            one_line("external_id", x, MAX_EXTERNAL_ID)?;
        }
        one_line("sender.name", &self.sender.name, MAX_SENDER_CHARS)?;
        if let Some(r) = &self.sender.role {
            one_line("sender.role", r, MAX_SENDER_CHARS)?;
        }
        if let Some(p) = &self.sender.phone {
            one_line("sender.phone", p, MAX_SENDER_CHARS)?;
        }
        if let Some(p) = &self.patient_ref {
            one_line("patient_ref", p, MAX_PATIENT_REF_CHARS)?;
        }
        if let Some(t) = &self.thread_key {
            one_line("thread_key", t, MAX_HANDLE_BYTES)?;
            if t.len() > MAX_HANDLE_BYTES {
                return Err(Error::invalid(
                    "thread_key",
                    format!("thread_key must be at most {MAX_HANDLE_BYTES} bytes"),
                ));
            }
        }
        if let PartnerRef::Handle { handle, .. } = &self.partner {
            if handle.trim().is_empty() || handle.len() > MAX_HANDLE_BYTES {
                return Err(Error::invalid(
                    "partner",
                    format!("the channel handle must be 1–{MAX_HANDLE_BYTES} bytes"),
                ));
            }
            one_line("partner", handle, MAX_HANDLE_BYTES)?;
        }
        Ok(self)
    }
}

/// A one-line field: at most `max` characters and no control characters (NUL, ESC, line
/// breaks…), which have no business in a name, a number or an id.
fn one_line(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        return Err(Error::invalid(
            field,
            format!("field '{field}' is longer than {max} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            format!("field '{field}' contains control characters (NUL, line breaks, …); send one line of text"),
        ));
    }
    Ok(())
}

fn contains_nul(s: &str) -> bool {
    s.contains('\0')
}

/// One line: control characters removed, whitespace collapsed at the ends.
pub fn clean_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// The JSON body of `POST /v1/consultations`, as received (every field optional so that the
/// error can name the missing one).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConsultationRequest {
    pub external_id: Option<serde_json::Value>,
    pub category: Option<serde_json::Value>,
    pub urgency: Option<serde_json::Value>,
    pub subject: Option<serde_json::Value>,
    pub body: Option<serde_json::Value>,
    pub sender: Option<serde_json::Value>,
    pub patient_ref: Option<serde_json::Value>,
}

fn req_str(v: &Option<serde_json::Value>, field: &str, required: bool) -> Result<Option<String>> {
    match v {
        None | Some(serde_json::Value::Null) if !required => Ok(None),
        None | Some(serde_json::Value::Null) => Err(Error::invalid(
            field,
            format!("field '{field}' is required"),
        )),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid(
            field,
            format!("field '{field}' must be a string"),
        )),
    }
}

impl ConsultationRequest {
    /// Validates a partner-API request into a [`NewConsultation`] for `partner_id`.
    pub fn into_new(self, partner_id: i64) -> Result<NewConsultation> {
        let external_id = req_str(&self.external_id, "external_id", false)?;
        let category = req_str(&self.category, "category", true)?.unwrap_or_default();
        let category: Category = category
            .parse()
            .map_err(|e: crate::codes::UnknownCode| Error::invalid("category", e.to_string()))?;
        let urgency = match req_str(&self.urgency, "urgency", false)? {
            Some(u) => Some(
                u.parse::<Urgency>()
                    .map_err(|e| Error::invalid("urgency", e.to_string()))?,
            ),
            None => None,
        };
        let subject = req_str(&self.subject, "subject", true)?.unwrap_or_default();
        let body = req_str(&self.body, "body", true)?.unwrap_or_default();
        let sender = match &self.sender {
            Some(serde_json::Value::Object(m)) => {
                let get = |k: &str, required: bool| {
                    req_str(&m.get(k).cloned(), &format!("sender.{k}"), required)
                };
                Sender {
                    name: get("name", true)?.unwrap_or_default(),
                    role: get("role", false)?,
                    phone: get("phone", false)?,
                }
            }
            None | Some(serde_json::Value::Null) => {
                return Err(Error::invalid(
                    "sender",
                    "field 'sender' is required: {\"name\": …}",
                ))
            }
            Some(_) => {
                return Err(Error::invalid(
                    "sender",
                    "field 'sender' must be an object with 'name'",
                ))
            }
        };
        if sender.name.trim().is_empty() {
            return Err(Error::invalid(
                "sender.name",
                "field 'sender.name' must not be empty",
            ));
        }
        let patient_ref = req_str(&self.patient_ref, "patient_ref", false)?;
        let mut n = NewConsultation::new(
            Channel::PartnerApi,
            PartnerRef::Id(partner_id),
            category,
            &subject,
            &body,
        );
        n.external_id = external_id;
        n.urgency = urgency;
        n.sender = sender;
        n.patient_ref = patient_ref.filter(|p| !p.trim().is_empty());
        n.validate()
    }
}

/// Kinds of thread entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// From the partner.
    Inbound,
    /// The clinic's answer to the partner (visible in the partner's view).
    Reply,
    /// Internal note, never shown to the partner.
    Note,
    /// A logged phone call.
    Phone,
    /// The automatic receipt sent when someone took the item (自動返信・受付; visible in the
    /// partner's view like a reply, but not counted as the clinic's first answer).
    Receipt,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Inbound => "inbound",
            MessageKind::Reply => "reply",
            MessageKind::Note => "note",
            MessageKind::Phone => "phone",
            MessageKind::Receipt => "receipt",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "inbound" => Ok(MessageKind::Inbound),
            "reply" => Ok(MessageKind::Reply),
            "note" => Ok(MessageKind::Note),
            "phone" => Ok(MessageKind::Phone),
            "receipt" => Ok(MessageKind::Receipt),
            _ => Err(Error::invalid(
                "kind",
                format!("unknown message kind '{s}' (inbound, reply, note, phone)"),
            )),
        }
    }
}

/// One entry of a consultation's thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub kind: MessageKind,
    pub author: String,
    pub body: String,
    pub at: DateTime<Utc>,
}

/// A stored document (metadata; the bytes live encrypted in the blob store).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: i64,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
}

/// A status change in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusChange {
    pub from: Option<Status>,
    pub to: Status,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Who read a consultation, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadReceipt {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// One row of the hash-chained audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
}

/// A consultation as a row of the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub channel: Channel,
    pub partner: String,
    pub partner_kind: PartnerKind,
    pub category: Category,
    pub urgency: Urgency,
    pub urgency_reason: Option<String>,
    pub urgency_confirmed: bool,
    pub status: Status,
    pub owner: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub subject: String,
    pub attachments: u32,
    pub messages: u32,
    pub unread: bool,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub last_activity_at: DateTime<Utc>,
    /// Bumped by every change of the row (status, owner, urgency, category, snooze, a new
    /// message): a connected desk sends it back with a take (compare-and-set, `Desk::take`).
    #[serde(default)]
    pub version: i64,
}

/// Counts for the status bar and the tray.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueCounts {
    /// Open items nobody has acknowledged yet (status `new`).
    pub unconfirmed: usize,
    /// Open urgent items.
    pub urgent: usize,
    /// Urgent items nobody has taken yet (status `new`): the tray's red dot.
    pub urgent_untaken: usize,
    pub overdue: usize,
    pub open: usize,
}

impl QueueCounts {
    /// Counts over the open rows of a queue.
    pub fn of(rows: &[QueueRow]) -> Self {
        let open: Vec<&QueueRow> = rows.iter().filter(|r| r.status.is_open()).collect();
        QueueCounts {
            unconfirmed: open.iter().filter(|r| r.status == Status::New).count(),
            urgent: open.iter().filter(|r| r.urgency == Urgency::Urgent).count(),
            urgent_untaken: open
                .iter()
                .filter(|r| r.urgency == Urgency::Urgent && r.status == Status::New)
                .count(),
            overdue: open.iter().filter(|r| r.overdue).count(),
            open: open.len(),
        }
    }
}

/// A consultation with everything about it. Serialises as the queue row's fields plus the
/// details, with `attachments` as the list `[{id, name, media_type, size, sha256}]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsultationDetail {
    pub row: QueueRow,
    pub external_id: Option<String>,
    pub patient_ref: Option<String>,
    pub sender: Sender,
    pub thread: Vec<Message>,
    pub attachment_list: Vec<Attachment>,
    pub history: Vec<StatusChange>,
    pub reads: Vec<ReadReceipt>,
    pub pii_flags: Vec<PiiFlag>,
    pub first_read_at: Option<DateTime<Utc>>,
    /// How each reply is getting back to the partner (outbox entries, oldest first).
    pub deliveries: Vec<crate::outbound::OutboxEntry>,
    /// How a new reply would reach the partner.
    pub reply_delivery: crate::outbound::Delivery,
}

impl Serialize for ConsultationDetail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut v = serde_json::to_value(&self.row).map_err(S::Error::custom)?;
        if let Some(m) = v.as_object_mut() {
            let mut put = |k: &str,
                           val: std::result::Result<serde_json::Value, serde_json::Error>|
             -> std::result::Result<(), S::Error> {
                m.insert(k.to_string(), val.map_err(S::Error::custom)?);
                Ok(())
            };
            put("attachments", serde_json::to_value(&self.attachment_list))?;
            put(
                "attachment_count",
                serde_json::to_value(self.row.attachments),
            )?;
            put("external_id", serde_json::to_value(&self.external_id))?;
            put("patient_ref", serde_json::to_value(&self.patient_ref))?;
            put("sender", serde_json::to_value(&self.sender))?;
            put("thread", serde_json::to_value(&self.thread))?;
            put("history", serde_json::to_value(&self.history))?;
            put("reads", serde_json::to_value(&self.reads))?;
            put("pii_flags", serde_json::to_value(&self.pii_flags))?;
            put("first_read_at", serde_json::to_value(self.first_read_at))?;
            put("deliveries", serde_json::to_value(&self.deliveries))?;
            put("reply_delivery", serde_json::to_value(self.reply_delivery))?;
        }
        v.serialize(s)
    }
}

/// What the partner may see of its own consultation (`GET /v1/consultations/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerView {
    pub id: i64,
    pub external_id: Option<String>,
    pub status: Status,
    pub status_label: String,
    pub received_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub owner: Option<String>,
    pub replies: Vec<PartnerReply>,
    pub attachments: u32,
}

/// A clinic reply as the partner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartnerReply {
    pub at: DateTime<Utc>,
    pub author: String,
    pub body: String,
}

/// Result of taking in a consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntakeOutcome {
    pub id: i64,
    /// false when it was a duplicate (same key) — nothing new stored.
    pub created: bool,
    /// true when the message joined an existing open thread.
    pub joined: bool,
    pub message_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: serde_json::Value) -> ConsultationRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn request_names_the_bad_field() {
        let e = req(serde_json::json!({"category": "discharge", "subject": "s", "body": "b"}))
            .into_new(1)
            .unwrap_err();
        assert!(
            matches!(e, Error::Invalid { field: Some(ref f), .. } if f == "sender"),
            "{e:?}"
        );
        let e = req(serde_json::json!({"category": "nope", "subject": "s", "body": "b", "sender": {"name": "x"}}))
            .into_new(1)
            .unwrap_err();
        assert!(matches!(e, Error::Invalid { field: Some(ref f), .. } if f == "category"));
        let e = req(serde_json::json!({"category": "info", "subject": 5, "body": "b", "sender": {"name": "x"}}))
            .into_new(1)
            .unwrap_err();
        assert!(matches!(e, Error::Invalid { field: Some(ref f), .. } if f == "subject"));
        let e = req(serde_json::json!({"category": "info", "subject": "  ", "body": "b", "sender": {"name": "x"}}))
            .into_new(1)
            .unwrap_err();
        assert!(matches!(e, Error::Invalid { field: Some(ref f), .. } if f == "subject"));
    }

    /// Found by the hostile-input test: these were stored before.
    #[test]
    fn one_line_fields_refuse_control_characters_and_huge_values() {
        let base = serde_json::json!({"category": "info", "subject": "件名", "body": "本文",
            "sender": {"name": "連携室 佐藤", "role": "MSW", "phone": "011-000-0000"},
            "external_id": "E-1", "patient_ref": "K-1"});
        for (path, bad, field) in [
            (&["subject"][..], "\u{0}退院", "subject"),
            (&["external_id"], "a\u{1b}[2J", "external_id"),
            (&["patient_ref"], "K-1\n山田", "patient_ref"),
            (&["sender", "name"], "佐藤\u{0}", "sender.name"),
            (&["sender", "role"], "MSW\u{7f}", "sender.role"),
            (&["sender", "phone"], "011\u{85}000", "sender.phone"),
        ] {
            let mut v = base.clone();
            if path.len() == 2 {
                v[path[0]][path[1]] = serde_json::json!(bad);
            } else {
                v[path[0]] = serde_json::json!(bad);
            }
            let e = req(v).into_new(1).unwrap_err();
            assert!(
                matches!(e, Error::Invalid { field: Some(ref f), .. } if f == field),
                "{field}: {e:?}"
            );
        }
        let mut v = base.clone();
        v["sender"]["name"] = serde_json::json!("あ".repeat(MAX_SENDER_CHARS + 1));
        assert!(req(v).into_new(1).is_err());
        let mut v = base;
        v["patient_ref"] = serde_json::json!("K".repeat(MAX_PATIENT_REF_CHARS + 1));
        assert!(req(v).into_new(1).is_err());
    }

    #[test]
    fn valid_request_parses() {
        let n = req(serde_json::json!({"external_id": "e1", "category": "discharge", "urgency": "today",
            "subject": "退院調整のご相談", "body": "本文", "sender": {"name": "連携室 佐藤", "role": "MSW"}}))
        .into_new(7)
        .unwrap();
        assert_eq!(n.partner, PartnerRef::Id(7));
        assert_eq!(n.urgency, Some(Urgency::Today));
        assert_eq!(n.sender.role.as_deref(), Some("MSW"));
    }
}
