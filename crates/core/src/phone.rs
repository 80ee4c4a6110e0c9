//! The phone-call form: what the desk types while (or right after) a partner calls, turned into
//! a new consultation of channel `phone`. One definition for the app, the CLI and the hub.

use crate::codes::{Category, Channel, PartnerKind, Urgency};
use crate::error::{Error, Result};
use crate::model::{NewConsultation, PartnerRef, Sender};
use serde::{Deserialize, Serialize};

/// The phone-call form as the UI sends it (codes as the contract's strings).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct PhoneCall {
    pub partner: String,
    pub partner_kind: Option<String>,
    pub caller: String,
    pub category: String,
    pub urgency: Option<String>,
    pub summary: String,
    pub notes: String,
}

fn code<T: std::str::FromStr>(field: &str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| Error::invalid(field, format!("{field}: {e}")))
}

impl PhoneCall {
    /// The new consultation, entered by `entered_by`. An unknown code is `invalid_input`
    /// naming the field; an empty partner is "unknown" (to be assigned later).
    pub fn into_consultation(self, entered_by: &str) -> Result<NewConsultation> {
        let kind: PartnerKind = match self.partner_kind.as_deref().filter(|k| !k.is_empty()) {
            Some(k) => code("partner_kind", k)?,
            None => PartnerKind::Other,
        };
        let partner = match self.partner.trim() {
            "" => PartnerRef::Unknown,
            name => PartnerRef::Named {
                name: name.to_string(),
                kind,
            },
        };
        let category: Category = code("category", &self.category)?;
        let mut n = NewConsultation::new(
            Channel::Phone,
            partner,
            category,
            &self.summary,
            &self.notes,
        );
        n.urgency = match self.urgency.as_deref().filter(|u| !u.is_empty()) {
            Some(u) => Some(code::<Urgency>("urgency", u)?),
            None => None,
        };
        n.sender = Sender {
            name: self.caller.trim().to_string(),
            role: None,
            phone: None,
        };
        n.entered_by = Some(entered_by.to_string());
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_call_becomes_a_phone_consultation_and_bad_codes_name_their_field() {
        let call = PhoneCall {
            partner: " 北区第2地域包括支援センター ".into(),
            partner_kind: Some("houkatsu".into()),
            caller: "社会福祉士 森".into(),
            category: "community_concern".into(),
            urgency: Some("today".into()),
            summary: "独居高齢者の見守り".into(),
            notes: "折り返し希望".into(),
        };
        let n = call.clone().into_consultation("田村").unwrap();
        assert_eq!(n.channel, Channel::Phone);
        assert_eq!(n.urgency, Some(Urgency::Today));
        assert_eq!(n.entered_by.as_deref(), Some("田村"));
        assert!(
            matches!(&n.partner, PartnerRef::Named { name, kind: PartnerKind::Houkatsu } if name == "北区第2地域包括支援センター")
        );
        let bad = PhoneCall {
            category: "urgentish".into(),
            ..call.clone()
        }
        .into_consultation("田村");
        let e = bad.unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
        assert!(e.to_string().contains("category"), "{e}");
        let unknown = PhoneCall {
            partner: "  ".into(),
            urgency: None,
            ..call
        }
        .into_consultation("田村")
        .unwrap();
        assert!(matches!(unknown.partner, PartnerRef::Unknown));
        assert_eq!(unknown.urgency, None);
    }
}
