//! A file dropped on the app: a referral document (PDF/image) or a mail (`.eml`, or a file a
//! mail program declares `message/rfc822`), each to its own import. Both app paths (the page's
//! bytes, native paths) end here, so the routing is decided once.

use super::{Desk, Document, ImportOutcome, MailOutcome};
use crate::codes::Channel;
use crate::error::Result;
use crate::mail::MailOptions;

/// What a drop became.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DropOutcome {
    /// A document: a new consultation (channel `manual`) or attached to the open one.
    Document(ImportOutcome),
    /// A mail: always its own consultation (channel `email`/`mcs`), whatever was open.
    Mail(MailOutcome),
}

impl DropOutcome {
    pub fn id(&self) -> i64 {
        match self {
            DropOutcome::Document(o) => o.id,
            DropOutcome::Mail(o) => o.id,
        }
    }
}

impl Desk {
    /// Imports one dropped file: a mail when [`crate::dropped::is_mail`] says so (then `to` is
    /// not used: a mail is its own consultation), else a document to `to` or a new consultation.
    pub fn import_dropped(
        &mut self,
        name: &str,
        bytes: &[u8],
        declared: Option<&str>,
        to: Option<i64>,
        opts: &MailOptions,
        by: &str,
    ) -> Result<DropOutcome> {
        if crate::dropped::is_mail(name, declared) {
            return Ok(DropOutcome::Mail(self.import_mail(bytes, opts, by)?));
        }
        let doc = Document {
            name,
            bytes,
            declared: None,
        };
        Ok(DropOutcome::Document(self.import_document(
            doc,
            to,
            Channel::Manual,
            by,
        )?))
    }
}
