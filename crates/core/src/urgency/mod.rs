//! Urgency suggestion from Japanese text, by rules a clinician can read and edit.
//!
//! The rules live in `rules.json` (embedded with `include_str!`, editable in the settings and
//! loaded with [`UrgencyRules::from_json`]). Each rule is a list of keyword groups — every group
//! must match — plus optional vital-sign tests such as `@SpO2<=90` or `@体温>=38.5`. Keywords that
//! are negated (「呼吸苦なし」「至急ではありません」) or conditional (「急変時は」) do not count, and a
//! hedge (「念のため」「落ち着いています」) lowers a clinical suggestion by one step at most, never below
//! a level the sender stated explicitly (`"firm": true` rules such as 「本日中にお返事」).
//!
//! Every suggestion carries its reason ("SpO2 88% → 至急", "「本日退院」→ 本日中"); reasons are built
//! from the rule's own words and measured values only, never from names in the message.

mod engine;
mod normalize;

pub use engine::UrgencyRules;
pub use normalize::{fold_char, normalize, normalize_with_offsets};

use crate::codes::Urgency;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The default rules, as shipped (JSON, commented through `note` fields).
pub const DEFAULT_RULES_JSON: &str = include_str!("rules.json");

/// The reason given when no rule matched.
pub const NO_RULE_REASON: &str = "該当ルールなし → 通常";

/// A suggested urgency with the reason shown to staff (e.g. "SpO2 88% → 至急").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub urgency: Urgency,
    /// Why, in Japanese, for staff: the deciding rule's words and the resulting level.
    pub reason: String,
    /// Id of the deciding rule (`None` when no rule matched).
    #[serde(default)]
    pub rule: Option<String>,
    /// Every rule that matched, as "reason" fragments, most urgent first.
    #[serde(default)]
    pub matched: Vec<String>,
}

impl Suggestion {
    /// The suggestion when nothing matched: 通常.
    pub fn no_rule() -> Self {
        Suggestion {
            urgency: Urgency::Normal,
            reason: NO_RULE_REASON.into(),
            rule: None,
            matched: Vec::new(),
        }
    }
}

/// The parsed default rules (parsed once; an unparsable default — prevented by tests — would
/// give empty rules, i.e. every message 通常).
pub fn default_rules() -> &'static UrgencyRules {
    static RULES: OnceLock<UrgencyRules> = OnceLock::new();
    RULES.get_or_init(|| UrgencyRules::from_json(DEFAULT_RULES_JSON).unwrap_or_default())
}

/// Suggests an urgency for a message with the default rules.
pub fn suggest(subject: &str, body: &str) -> Suggestion {
    default_rules().suggest_with(subject, body)
}
