//! Demo data: a realistic Tuesday at the clinic (being written).

use crate::desk::Desk;

/// What `load` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoSummary {
    pub partners: usize,
    pub consultations: usize,
    pub created: bool,
}

/// Loads the demo day (stub).
pub fn load(_desk: &mut Desk) -> crate::Result<DemoSummary> {
    Ok(DemoSummary {
        partners: 0,
        consultations: 0,
        created: false,
    })
}
