//! Personal-data checks: flags a message that carries more personal information than a
//! consultation needs (full names, phone numbers, birth dates, addresses, insurance numbers).
//! (Stub: to be completed — see issue 5.)

use serde::{Deserialize, Serialize};

/// One finding, without the matched text itself (never echo personal data into logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiFlag {
    /// Machine code, e.g. `phone`, `full_name`, `birth_date`, `address`, `insurance_no`.
    pub kind: String,
    /// Japanese explanation and what to write instead.
    pub message: String,
}

/// Scans text for personal data.
pub fn scan(_text: &str) -> Vec<PiiFlag> {
    Vec::new()
}
