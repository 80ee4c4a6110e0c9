//! Urgency suggestion from Japanese text, by rules a clinician can read and edit.
//! (Stub: to be completed — see issue 5.)

use crate::codes::Urgency;
use serde::{Deserialize, Serialize};

/// A suggested urgency with the reason shown to staff (e.g. "SpO2 88% → 至急").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub urgency: Urgency,
    pub reason: String,
}

/// Suggests an urgency for a message with the default rules.
pub fn suggest(subject: &str, body: &str) -> Suggestion {
    let text = format!("{subject}\n{body}");
    if text.contains("至急") {
        return Suggestion {
            urgency: Urgency::Urgent,
            reason: "「至急」→ 至急".into(),
        };
    }
    Suggestion {
        urgency: Urgency::Normal,
        reason: "該当ルールなし → 通常".into(),
    }
}
