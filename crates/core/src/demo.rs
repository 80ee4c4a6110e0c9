//! Demo data: a realistic Tuesday at the clinic (`renkei demo`).
//!
//! The day is written down in `demo_data.json`: fourteen fictional partner organisations of every
//! kind and a little over forty consultations from yesterday morning to "now" over every channel,
//! category, urgency and status, in the words these professionals use. Patients appear only as
//! initials, an age band or the partner's case number; phone numbers are `011-000-xxxx`.
//!
//! Times in the file are "day HH:MM" on a nominal Tuesday whose now is 10:40; [`load`] shifts them
//! so that the nominal now is the desk's now, so the queue always looks live (a few items overdue,
//! a few due soon, one urgent on top) whenever the demo is loaded.
//!
//! Everything goes through [`Desk`]'s public API. To give the clinic's acks, replies and status
//! changes their own times (so that response statistics look real), the events are replayed in
//! time order on a second `Desk` over the same store with a clock that the loader moves; the
//! store is handed back afterwards. Loading is idempotent: partners are found by name and every
//! consultation has an `external_id` (`demo-001`, …), which the core dedupes; the clinic's
//! actions are only replayed for consultations this run created.

use crate::clock::FixedClock;
use crate::codes::{Category, Channel, PartnerKind, Status, Urgency};
use crate::desk::{Desk, Document};
use crate::error::{Error, Result};
use crate::model::{MessageKind, NewConsultation, PartnerRef, Sender};
use crate::store::partners::NewPartner;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The demo day, as data.
const DATA: &str = include_str!("demo_data.json");

/// Who the loader acts as in the audit log for things no staff member did.
const ACTOR: &str = "demo";

/// What [`load`] found or created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DemoSummary {
    /// Demo partners now in the store.
    pub partners: usize,
    /// Demo consultations now in the store.
    pub consultations: usize,
    /// Whether this run created anything (false when the demo was already loaded).
    pub created: bool,
}

#[derive(Debug, Deserialize)]
struct DemoDay {
    nominal_now: String,
    partners: Vec<DemoPartner>,
    consultations: Vec<DemoConsultation>,
}

#[derive(Debug, Deserialize)]
struct DemoPartner {
    name: String,
    kind: PartnerKind,
    contact: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    channels: Vec<Channel>,
}

#[derive(Debug, Deserialize)]
struct DemoConsultation {
    ext: String,
    at: String,
    channel: Channel,
    partner: String,
    category: Category,
    urgency: Option<Urgency>,
    subject: String,
    body: String,
    sender: String,
    role: Option<String>,
    patient_ref: Option<String>,
    thread: Option<String>,
    entered_by: Option<String>,
    attach_pdf: Option<String>,
    #[serde(default)]
    followups: Vec<DemoFollowup>,
    #[serde(default)]
    actions: Vec<DemoAction>,
}

#[derive(Debug, Deserialize)]
struct DemoFollowup {
    at: String,
    ext: String,
    body: String,
}

#[derive(Debug, Deserialize)]
struct DemoAction {
    at: String,
    #[serde(rename = "do")]
    what: ActionKind,
    by: String,
    status: Option<Status>,
    text: Option<String>,
    owner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActionKind {
    /// Someone opened it (read receipt).
    Read,
    /// Someone took responsibility.
    Ack,
    Status,
    Reply,
    Note,
    Phone,
    Assign,
}

/// One step of the replay, in time order.
#[derive(Debug, Clone, Copy)]
enum Step {
    Intake(usize),
    Followup(usize, usize),
    Action(usize, usize),
}

/// Loads the demo day into `desk`; running it again creates nothing new.
pub fn load(desk: &mut Desk) -> Result<DemoSummary> {
    let day: DemoDay = serde_json::from_str(DATA)
        .map_err(|e| Error::Integrity(format!("the built-in demo data is malformed: {e}")))?;
    let now = desk.now();
    let nominal_now = minutes_of(&day.nominal_now)?;
    let offset = |at: &str| -> Result<Duration> {
        let m = nominal_now - minutes_of(at)?;
        if m < 0 {
            return Err(Error::Integrity(format!(
                "demo data: '{at}' is after the nominal now '{}'",
                day.nominal_now
            )));
        }
        Ok(Duration::minutes(m))
    };

    // The replay order: every arrival, follow-up and clinic action by its time.
    let mut steps: Vec<(Duration, Step)> = Vec::new();
    for (i, c) in day.consultations.iter().enumerate() {
        steps.push((offset(&c.at)?, Step::Intake(i)));
        for (j, f) in c.followups.iter().enumerate() {
            steps.push((offset(&f.at)?, Step::Followup(i, j)));
        }
        for (j, a) in c.actions.iter().enumerate() {
            steps.push((offset(&a.at)?, Step::Action(i, j)));
        }
    }
    // Largest offset = earliest; the sort is stable, so ties keep the file's order.
    steps.sort_by_key(|s| std::cmp::Reverse(s.0));
    let earliest = steps.first().map(|s| s.0).unwrap_or_else(Duration::zero);

    let clock = Arc::new(FixedClock::new(now));
    with_replay_desk(desk, clock.clone(), |replay| {
        let mut created = false;

        // Partners, known to the clinic for a while already.
        clock.set(now - earliest - Duration::days(90));
        let existing: HashSet<String> = replay.partners()?.into_iter().map(|p| p.name).collect();
        for p in &day.partners {
            if existing.contains(&p.name) {
                continue;
            }
            let new = NewPartner {
                name: p.name.clone(),
                kind: Some(p.kind),
                contact: p.contact.clone(),
                phone: p.phone.clone(),
                channels: p.channels.clone(),
            };
            match replay.add_partner(new, ACTOR) {
                Ok(_) => created = true,
                Err(Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let kinds: HashMap<&str, PartnerKind> = day
            .partners
            .iter()
            .map(|p| (p.name.as_str(), p.kind))
            .collect();

        // The day, in time order.
        let mut ids: HashMap<usize, i64> = HashMap::new();
        let mut fresh: HashSet<usize> = HashSet::new();
        for (off, step) in &steps {
            let at = now - *off;
            clock.set(at);
            match *step {
                Step::Intake(i) => {
                    let c = &day.consultations[i];
                    let mut n = inbound(c, &kinds, &c.body, &c.ext, at)?;
                    n.urgency = c.urgency;
                    n.entered_by = c.entered_by.clone();
                    let out = replay.intake(n)?;
                    ids.insert(i, out.id);
                    if out.created {
                        created = true;
                        fresh.insert(i);
                        if let Some(name) = &c.attach_pdf {
                            let bytes = referral_pdf(&c.ext);
                            replay.attach(
                                out.id,
                                Document {
                                    name,
                                    bytes: &bytes,
                                    declared: Some("application/pdf"),
                                },
                                "FAX受信",
                            )?;
                        }
                    }
                }
                Step::Followup(i, j) => {
                    let c = &day.consultations[i];
                    let f = &c.followups[j];
                    let n = inbound(c, &kinds, &f.body, &f.ext, at)?;
                    if replay.intake(n)?.created {
                        created = true;
                    }
                }
                Step::Action(i, j) => {
                    if !fresh.contains(&i) {
                        continue;
                    }
                    let Some(&id) = ids.get(&i) else { continue };
                    apply(replay, id, &day.consultations[i].actions[j])?;
                }
            }
        }

        Ok(DemoSummary {
            partners: count_partners(replay, &day)?,
            consultations: ids.values().collect::<HashSet<_>>().len(),
            created,
        })
    })
}

/// One clinic action on a consultation this run created.
/// A message of consultation `c` from its partner (the first one, or a follow-up on its thread).
fn inbound(
    c: &DemoConsultation,
    kinds: &HashMap<&str, PartnerKind>,
    body: &str,
    ext: &str,
    at: DateTime<Utc>,
) -> Result<NewConsultation> {
    let kind = kinds.get(c.partner.as_str()).copied().ok_or_else(|| {
        Error::Integrity(format!(
            "demo data: {} names an unknown partner '{}'",
            c.ext, c.partner
        ))
    })?;
    let partner = PartnerRef::Named {
        name: c.partner.clone(),
        kind,
    };
    let mut n = NewConsultation::new(c.channel, partner, c.category, &c.subject, body);
    n.external_id = Some(ext.to_string());
    n.thread_key = c.thread.clone();
    n.sender = Sender {
        name: c.sender.clone(),
        role: c.role.clone(),
        phone: None,
    };
    n.patient_ref = c.patient_ref.clone();
    n.received_at = Some(at);
    Ok(n)
}

fn apply(desk: &mut Desk, id: i64, a: &DemoAction) -> Result<()> {
    let text = || {
        a.text
            .as_deref()
            .ok_or_else(|| Error::Integrity(format!("demo data: a {:?} needs a text", a.what)))
    };
    match a.what {
        ActionKind::Read => {
            desk.show(id, Some(&a.by))?;
        }
        ActionKind::Ack => {
            // Taking an item means having opened it.
            if desk.show(id, None)?.row.unread {
                desk.show(id, Some(&a.by))?;
            }
            desk.ack(id, &a.by)?;
        }
        ActionKind::Status => {
            let to = a.status.ok_or_else(|| {
                Error::Integrity("demo data: a status action needs a status".into())
            })?;
            desk.set_status(id, to, &a.by)?;
        }
        ActionKind::Reply => {
            desk.add_message(id, MessageKind::Reply, text()?, &a.by)?;
        }
        ActionKind::Note => {
            desk.add_message(id, MessageKind::Note, text()?, &a.by)?;
        }
        ActionKind::Phone => {
            desk.add_message(id, MessageKind::Phone, text()?, &a.by)?;
        }
        ActionKind::Assign => {
            desk.assign(id, a.owner.as_deref(), &a.by)?;
        }
    }
    Ok(())
}

fn count_partners(desk: &Desk, day: &DemoDay) -> Result<usize> {
    let names: HashSet<&str> = day.partners.iter().map(|p| p.name.as_str()).collect();
    Ok(desk
        .partners()?
        .iter()
        .filter(|p| names.contains(p.name.as_str()))
        .count())
}

/// Runs `f` on `desk` with its clock replaced by `clock` (the demo's replayed times), then
/// puts the real clock back.
fn with_replay_desk<T>(
    desk: &mut Desk,
    clock: Arc<FixedClock>,
    f: impl FnOnce(&mut Desk) -> Result<T>,
) -> Result<T> {
    let real = desk.set_clock(clock);
    let out = f(desk);
    desk.set_clock(real);
    out
}

/// Minutes since the nominal day's midnight of "D HH:MM" (D = 0 today, -1 yesterday).
fn minutes_of(s: &str) -> Result<i64> {
    let bad = || Error::Integrity(format!("demo data: '{s}' is not like '-1 17:35'"));
    let (day, hm) = s.trim().split_once(' ').ok_or_else(bad)?;
    let day: i64 = day.parse().map_err(|_| bad())?;
    let t = NaiveTime::parse_from_str(hm, "%H:%M").map_err(|_| bad())?;
    let secs = i64::from(chrono::Timelike::num_seconds_from_midnight(&t));
    Ok(day * 24 * 60 + secs / 60)
}

/// A small, valid one-page PDF standing in for a FAXed referral letter.
fn referral_pdf(tag: &str) -> Vec<u8> {
    let text = format!("Shinryo joho teikyosho (referral letter) - demo {tag}");
    let text: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " -()".contains(*c))
        .collect();
    let content = format!("BT /F1 14 Tf 72 760 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
    ];
    let mut pdf = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = pdf.len();
    pdf.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for o in offsets {
        pdf.push_str(&format!("{o:010} 00000 n \n"));
    }
    pdf.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    pdf.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_parses_and_times_are_not_in_the_future() {
        let day: DemoDay = serde_json::from_str(DATA).unwrap();
        let now = minutes_of(&day.nominal_now).unwrap();
        for c in &day.consultations {
            assert!(minutes_of(&c.at).unwrap() <= now, "{}", c.ext);
            for a in &c.actions {
                assert!(minutes_of(&a.at).unwrap() >= minutes_of(&c.at).unwrap());
            }
        }
    }

    #[test]
    fn pdf_is_a_pdf() {
        let b = referral_pdf("demo-040");
        assert!(b.starts_with(b"%PDF-1.4"));
        assert!(b.ends_with(b"%%EOF\n"));
    }
}
