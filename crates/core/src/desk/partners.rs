//! Partners (hospitals, pharmacies, care managers…): registration, API keys, the partner's own
//! view of its consultations, and response statistics both ways.

use super::Desk;
use crate::codes::{Channel, Status};
use crate::error::{Error, Result};
use crate::model::*;
use crate::store::consultations;
use crate::store::partners::{self, NewPartner};
use crate::store::{messages, stats};
use chrono::{DateTime, Utc};

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

fn partner_target(id: i64) -> String {
    format!("partner:{id}")
}

impl Desk {
    /// Registers a partner and issues its API key (returned once).
    pub fn add_partner(&mut self, p: NewPartner, by: &str) -> Result<(Partner, String)> {
        self.act(by, |c| {
            let id = partners::insert(c.tx, &p, c.now)?;
            let key = partners::issue_api_key(c.tx, id, c.now)?;
            c.audit("partner.add", Some(&partner_target(id)), "api key issued")?;
            Ok((partners::get(c.tx, id)?, key))
        })
    }

    /// Issues a new API key (the old one stops working — at once, also for a running intake
    /// server: see [`Desk::keys_changed`]).
    pub fn rotate_api_key(&mut self, partner_id: i64, by: &str) -> Result<String> {
        let key = self.act(by, |c| {
            let key = partners::issue_api_key(c.tx, partner_id, c.now)?;
            c.audit("partner.key_rotate", Some(&partner_target(partner_id)), "")?;
            Ok(key)
        })?;
        self.keys_changed();
        Ok(key)
    }

    pub fn revoke_api_key(&mut self, partner_id: i64, by: &str) -> Result<()> {
        self.act(by, |c| {
            partners::revoke_api_key(c.tx, partner_id)?;
            c.audit("partner.key_revoke", Some(&partner_target(partner_id)), "")
        })?;
        self.keys_changed();
        Ok(())
    }

    /// After a committed key change: moves the data dir's API-key mark
    /// ([`crate::store::auth_epoch`]), so an intake server that keeps the keys it has checked
    /// looks them up again for its next request. Should the mark not move (a read-only data
    /// dir), the change is still committed and the server's entries expire within
    /// `renkei_intake::auth_cache::TTL`.
    fn keys_changed(&self) {
        if let Err(e) = crate::store::auth_epoch::bump(self.store.dir()) {
            tracing::warn!(
                "API keys changed, but their mark in the data dir could not be moved: {e}"
            );
        }
    }

    /// Mail from `address` (`sato@hospital.example`) or from any address of a domain
    /// (`@hospital.example` or `hospital.example`) belongs to partner `partner_id`.
    pub fn link_partner_email(&mut self, partner_id: i64, address: &str, by: &str) -> Result<()> {
        let a = address.trim().to_ascii_lowercase();
        let handle = if a.contains('@') && !a.starts_with('@') {
            a
        } else {
            format!("@{}", a.trim_start_matches('@'))
        };
        let ok = handle.len() > 3
            && handle.len() <= 254
            && !handle.chars().any(|c| c.is_whitespace() || c.is_control())
            && crate::mail::domain_of(&handle).is_some_and(|d| d.contains('.'));
        if !ok {
            return Err(Error::invalid(
                "email",
                "not a mail address or domain (e.g. sato@hospital.example or hospital.example)",
            ));
        }
        self.act(by, |c| {
            partners::link_handle(c.tx, partner_id, Channel::Email, &handle)?;
            c.audit(
                "partner.email_link",
                Some(&partner_target(partner_id)),
                if handle.starts_with('@') {
                    "domain"
                } else {
                    "address"
                },
            )
        })
    }

    pub fn partner_by_key(&self, key: &str) -> Result<Option<Partner>> {
        partners::by_api_key(self.store.db(), key)
    }

    pub fn partners(&self) -> Result<Vec<Partner>> {
        partners::list(self.store.db())
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
                .filter(|m| matches!(m.kind, MessageKind::Reply | MessageKind::Receipt))
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
        let list = partners::list(self.store.db())?;
        let mut out = Vec::with_capacity(list.len());
        for p in list {
            let rows = stats::partner_times(self.store.db(), p.id)?;
            let mut deltas: Vec<f64> = rows
                .iter()
                .filter_map(|r| {
                    r.first_response_at
                        .map(|f| (f - r.received_at).num_seconds() as f64 / 60.0)
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
            let open: Vec<_> = rows.iter().filter(|r| r.open).collect();
            out.push(PartnerStats {
                total: rows.len() as u32,
                open: open.len() as u32,
                overdue: open
                    .iter()
                    .filter(|r| r.due_at.is_some_and(|d| d < now))
                    .count() as u32,
                median_first_response_min: median,
                last_received_at: rows.iter().map(|r| r.received_at).max(),
                partner: p,
            });
        }
        Ok(out)
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
