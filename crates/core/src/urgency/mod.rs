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
//!
//! When the rules recognise nothing in the text, [`suggest`] asks a small statistical model ([`NgramModel`], character
//! n-gram naive Bayes trained on the labelled tuning set, shipped as `model.json`); its
//! suggestion says so in the reason ([`MODEL_REASON`]). Rules always win when they match.

mod engine;
mod model;
mod normalize;

pub use engine::UrgencyRules;
pub use model::NgramModel;
pub use normalize::{fold_char, normalize, normalize_with_offsets};

use crate::codes::Urgency;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The default rules, as shipped (JSON, commented through `note` fields).
pub const DEFAULT_RULES_JSON: &str = include_str!("rules.json");

/// The reason given when no rule matched.
pub const NO_RULE_REASON: &str = "該当ルールなし → 通常";

/// The shipped fallback model (trained on `tests/urgency/labelled.json`; see
/// `crates/core/tests/urgency_labelled.rs` for how to retrain it).
pub const MODEL_JSON: &str = include_str!("model.json");

/// The start of the reason when the fallback model decided (followed by 「→ 至急」 etc.).
pub const MODEL_REASON: &str = "該当ルールなし・過去の事例の文面から推定（統計モデル）";

/// The rule id of a suggestion made by the fallback model.
pub const MODEL_RULE_ID: &str = "model";

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

/// The parsed shipped model (an unparsable file — prevented by tests — gives an empty model,
/// i.e. no fallback).
pub fn default_model() -> &'static NgramModel {
    static MODEL: OnceLock<NgramModel> = OnceLock::new();
    MODEL
        .get_or_init(|| NgramModel::from_json(MODEL_JSON).unwrap_or_else(|_| NgramModel::train([])))
}

/// Suggests an urgency for a message: the default rules, and when the rules recognise nothing
/// in the text (see [`UrgencyRules::recognises`]), the shipped model. A 通常 from the model is
/// reported as "no rule", unchanged.
pub fn suggest(subject: &str, body: &str) -> Suggestion {
    suggest_with_model(default_rules(), default_model(), subject, body)
}

/// Rules first; the model only for a text in which the rules recognise nothing at all.
pub fn suggest_with_model(
    rules: &UrgencyRules,
    model: &NgramModel,
    subject: &str,
    body: &str,
) -> Suggestion {
    let s = rules.suggest_with(subject, body);
    if s.rule.is_some() || rules.recognises(subject, body) {
        return s;
    }
    match model.classify(subject, body) {
        Some(u) if u != Urgency::Normal => Suggestion {
            urgency: u,
            reason: format!("{MODEL_REASON} → {}", u.label_ja()),
            rule: Some(MODEL_RULE_ID.into()),
            matched: Vec::new(),
        },
        _ => s,
    }
}
