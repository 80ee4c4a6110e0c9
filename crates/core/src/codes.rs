//! The closed vocabularies of the contract (docs/contract.md "Codes"): channel, category,
//! urgency, status and partner kind. Each code has a stable wire name (`as_str`/`FromStr`) and a
//! Japanese label for people. Nothing else in the crate spells these strings, and the desktop UI
//! takes its labels from [`label_tables`] (one table for Rust and the page).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Error for a code that is not in the contract's list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{value}' (expected one of: {expected})")]
pub struct UnknownCode {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident, $kind:literal, { $($variant:ident => $wire:literal, $ja:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The wire name used in JSON, the CLI and the store.
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $wire),+ } }
            /// Japanese label shown to staff.
            pub fn label_ja(self) -> &'static str { match self { $($name::$variant => $ja),+ } }
            /// English label.
            pub fn label_en(self) -> &'static str { match self { $($name::$variant => $en),+ } }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }

        impl FromStr for $name {
            type Err = UnknownCode;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($wire => Ok($name::$variant),)+ _ => Err(UnknownCode {
                    kind: $kind,
                    value: s.chars().take(40).collect(),
                    expected: [$($wire),+].join(", "),
                }) }
            }
        }
    };
}

code_enum!(
    /// Where a consultation came in.
    Channel, "channel", {
    PartnerApi => "partner_api", "連携API", "Partner API";
    Lineworks => "lineworks", "LINE WORKS", "LINE WORKS";
    Chatwork => "chatwork", "Chatwork", "Chatwork";
    FaxFolder => "fax_folder", "FAX", "FAX";
    Manual => "manual", "手入力", "Manual";
    Phone => "phone", "電話", "Phone";
    Email => "email", "メール", "E-mail";
    Mcs => "mcs", "MCS", "MCS";
});

code_enum!(
    /// What the consultation is about.
    Category, "category", {
    NewHomeVisit => "new_home_visit", "訪問診療の新規相談", "New home visit";
    NursingIntro => "nursing_intro", "訪問看護の導入", "Home nursing start";
    Discharge => "discharge", "退院調整", "Discharge";
    BedAvailability => "bed_availability", "受け入れ可否・空床", "Bed availability";
    CommunityConcern => "community_concern", "地域の困りごと", "Community concern";
    Medication => "medication", "薬剤", "Medication";
    Alert => "alert", "注意喚起", "Alert";
    Info => "info", "情報共有", "Information";
    Other => "other", "その他", "Other";
});

code_enum!(
    /// How fast an answer is needed. Declared most urgent first: `Ord` follows triage order.
    Urgency, "urgency", {
    Urgent => "urgent", "至急", "Urgent";
    Today => "today", "本日中", "Today";
    Normal => "normal", "通常", "Normal";
    Fyi => "fyi", "確認のみ", "FYI";
});

code_enum!(
    /// Where a consultation is in its life.
    Status, "status", {
    New => "new", "新着", "New";
    Acknowledged => "acknowledged", "確認済み", "Acknowledged";
    InProgress => "in_progress", "対応中", "In progress";
    WaitingPartner => "waiting_partner", "先方回答待ち", "Waiting for partner";
    Resolved => "resolved", "完了", "Resolved";
    Declined => "declined", "お断り", "Declined";
});

code_enum!(
    /// What kind of organisation a partner is.
    PartnerKind, "partner kind", {
    Hospital => "hospital", "病院", "Hospital";
    Houkatsu => "houkatsu", "地域包括支援センター", "Community care centre";
    CareManager => "care_manager", "居宅介護支援（ケアマネ）", "Care manager";
    Nursing => "nursing", "訪問看護", "Home nursing";
    Pharmacy => "pharmacy", "薬局", "Pharmacy";
    Facility => "facility", "施設", "Care facility";
    Other => "other", "その他", "Other";
});

impl Status {
    /// Open statuses are those still in the queue.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Declined)
    }

    /// Whether moving from `self` to `to` is allowed.
    ///
    /// Forward along `new → acknowledged → in_progress → waiting_partner → resolved`, back and
    /// forth between `in_progress` and `waiting_partner`, `resolved`/`declined` from any open
    /// status, and re-opening a closed item to `in_progress`.
    pub fn can_move_to(self, to: Status) -> bool {
        use Status::*;
        if self == to {
            return false;
        }
        match (self, to) {
            (_, New) => false,
            (New, Acknowledged | InProgress | WaitingPartner) => true,
            (Acknowledged, InProgress | WaitingPartner) => true,
            (InProgress, WaitingPartner) | (WaitingPartner, InProgress) => true,
            (from, Resolved | Declined) => from.is_open(),
            (Resolved | Declined, InProgress) => true,
            _ => false,
        }
    }

    /// True once someone has taken responsibility (status ≥ acknowledged).
    pub fn is_taken(self) -> bool {
        !matches!(self, Status::New)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), *c);
        }
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>().unwrap(), *c);
        }
        for c in Urgency::ALL {
            assert_eq!(c.as_str().parse::<Urgency>().unwrap(), *c);
        }
        for c in Status::ALL {
            assert_eq!(c.as_str().parse::<Status>().unwrap(), *c);
        }
        for c in PartnerKind::ALL {
            assert_eq!(c.as_str().parse::<PartnerKind>().unwrap(), *c);
        }
    }

    #[test]
    fn serde_uses_wire_names() {
        assert_eq!(
            serde_json::to_string(&Category::NewHomeVisit).unwrap(),
            "\"new_home_visit\""
        );
        assert_eq!(
            serde_json::to_string(&Status::WaitingPartner).unwrap(),
            "\"waiting_partner\""
        );
        assert_eq!(
            serde_json::to_string(&Channel::FaxFolder).unwrap(),
            "\"fax_folder\""
        );
    }

    #[test]
    fn unknown_code_names_the_choices() {
        let e = "soon".parse::<Urgency>().unwrap_err();
        assert!(e.to_string().contains("urgent, today, normal, fyi"), "{e}");
    }

    #[test]
    fn urgency_orders_most_urgent_first() {
        assert!(Urgency::Urgent < Urgency::Today);
        assert!(Urgency::Normal < Urgency::Fyi);
    }

    #[test]
    fn status_transitions() {
        use Status::*;
        assert!(New.can_move_to(Acknowledged));
        assert!(Acknowledged.can_move_to(InProgress));
        assert!(InProgress.can_move_to(WaitingPartner));
        assert!(WaitingPartner.can_move_to(Resolved));
        assert!(New.can_move_to(Resolved));
        assert!(New.can_move_to(Declined));
        assert!(!Resolved.can_move_to(Acknowledged));
        assert!(!Acknowledged.can_move_to(New));
        assert!(!Resolved.can_move_to(Declined));
        assert!(!New.can_move_to(New));
        assert!(Resolved.can_move_to(InProgress));
    }
}

/// One code and its labels, for the UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeLabel {
    pub code: &'static str,
    pub ja: &'static str,
    pub en: &'static str,
}

/// Every code of every vocabulary with its labels, in contract order: `channel`, `category`,
/// `urgency`, `status`, `partner_kind` and the staff `role`. The page's one source of labels.
pub fn label_tables() -> std::collections::BTreeMap<&'static str, Vec<CodeLabel>> {
    macro_rules! table {
        ($t:ty) => {
            <$t>::ALL
                .iter()
                .map(|c| CodeLabel {
                    code: c.as_str(),
                    ja: c.label_ja(),
                    en: c.label_en(),
                })
                .collect::<Vec<_>>()
        };
    }
    let roles = crate::store::staff::Role::ALL
        .iter()
        .map(|r| CodeLabel {
            code: r.as_str(),
            ja: r.labels().0,
            en: r.labels().1,
        })
        .collect();
    [
        ("channel", table!(Channel)),
        ("category", table!(Category)),
        ("urgency", table!(Urgency)),
        ("status", table!(Status)),
        ("partner_kind", table!(PartnerKind)),
        ("role", roles),
    ]
    .into_iter()
    .collect()
}

#[cfg(test)]
mod label_tests {
    use super::*;

    #[test]
    fn every_code_has_both_labels_in_the_table() {
        let t = label_tables();
        assert_eq!(t["category"].len(), Category::ALL.len());
        assert_eq!(
            t["urgency"][0],
            CodeLabel {
                code: "urgent",
                ja: "至急",
                en: "Urgent"
            }
        );
        assert_eq!(t["role"].len(), 4);
        for (kind, rows) in &t {
            for r in rows {
                assert!(!r.ja.is_empty() && !r.en.is_empty(), "{kind} {}", r.code);
            }
        }
    }
}
