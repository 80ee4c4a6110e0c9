//! Helpers shared by the core integration tests.
pub mod backends;

use renkei_core::desk::Desk;
use renkei_core::model::{NewConsultation, PartnerRef};
use renkei_core::store::audit::AuditFilter;
use renkei_core::{Category, Channel, PartnerKind};

/// A discharge consultation from a (fictional) hospital through the partner API, with
/// `external_id` `ext`; its id.
#[allow(dead_code)] // not every test crate that shares `common` takes consultations in
pub fn hospital_item(desk: &mut Desk, ext: &str, hospital: &str, subject: &str, body: &str) -> i64 {
    let mut n = NewConsultation::new(
        Channel::PartnerApi,
        PartnerRef::Named {
            name: hospital.into(),
            kind: PartnerKind::Hospital,
        },
        Category::Discharge,
        subject,
        body,
    );
    n.external_id = Some(ext.into());
    desk.intake(n).unwrap().id
}

/// How many audit events the store holds.
#[allow(dead_code)] // not every test crate that shares `common` reads the audit log
pub fn audit_rows(desk: &Desk) -> usize {
    desk.audit(&AuditFilter {
        limit: Some(100_000),
        ..Default::default()
    })
    .unwrap()
    .len()
}
