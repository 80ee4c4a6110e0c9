//! Staff management by administrators: deactivate / reactivate (never delete), role changes,
//! PIN reset and change, the last-administrator rule, and the audit rows each change leaves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::Desk;
use renkei_core::store::audit::AuditFilter;
use renkei_core::store::staff::Role;
use renkei_core::store::{DataDir, StoreKey};
use renkei_core::Error;
use std::sync::Arc;

fn desk(dir: &std::path::Path) -> Desk {
    let clock = Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T09:00:00+09:00").unwrap(),
    ));
    Desk::open_with_key(&DataDir::new(dir), StoreKey::random(), clock).unwrap()
}

/// 院長 (doctor), 田村 (clerk), 大野 (nurse), all with PINs: the app is locked.
fn clinic(dir: &std::path::Path) -> (Desk, i64, i64, i64) {
    let mut d = desk(dir);
    let director = d
        .admin_add_staff("院長", Role::Doctor, Some("9999"), "setup")
        .unwrap()
        .id;
    let tamura = d
        .admin_add_staff("田村", Role::Clerk, Some("1234"), "院長")
        .unwrap()
        .id;
    let ono = d
        .admin_add_staff("大野", Role::Nurse, Some("4821"), "院長")
        .unwrap()
        .id;
    (d, director, tamura, ono)
}

/// (actor, action, target, detail) of every audit row.
fn audit_rows(d: &Desk) -> Vec<(String, String, Option<String>, String)> {
    d.audit(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .map(|e| (e.actor, e.action, e.target, e.detail))
        .collect()
}

#[test]
fn a_deactivated_profile_cannot_sign_in_and_keeps_its_name() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut d, _, tamura, _) = clinic(tmp.path());
    let s = d.admin_set_staff_active(tamura, false, "院長").unwrap();
    assert!(!s.active);
    assert_eq!(s.name, "田村");
    // never deleted: still listed (inactive), the name stays for history
    let all = d.staff().unwrap();
    assert!(all.iter().any(|p| p.id == tamura && !p.active));
    // the right PIN is refused with its own code and a sentence saying what to do
    let e = d.sign_in("田村", "1234").unwrap_err();
    assert!(matches!(e, Error::ProfileDisabled(_)), "{e}");
    assert_eq!(e.code().as_str(), "profile_disabled");
    assert!(e.to_string().contains("administrator"), "{e}");
    // a second deactivation is a no-op (one audit row)
    d.admin_set_staff_active(tamura, false, "院長").unwrap();
    // reactivated: signs in again with the same PIN
    let s = d.admin_set_staff_active(tamura, true, "院長").unwrap();
    assert!(s.active);
    assert_eq!(d.sign_in("田村", "1234").unwrap().name, "田村");

    let rows = audit_rows(&d);
    let target = Some(format!("staff:{tamura}"));
    let deact: Vec<_> = rows.iter().filter(|r| r.1 == "staff.deactivate").collect();
    assert_eq!(deact.len(), 1, "{rows:?}");
    assert_eq!(deact[0].0, "院長");
    assert_eq!(deact[0].2, target);
    assert_eq!(deact[0].3, "田村");
    assert!(rows
        .iter()
        .any(|r| r.1 == "staff.reactivate" && r.0 == "院長" && r.2 == target));
    // the refused sign-in is audited as a failed login
    assert!(rows.iter().any(|r| r.1 == "login.failed" && r.0 == "田村"));
    assert!(d.check().unwrap().problems.is_empty());
}

#[test]
fn only_administrators_manage_staff() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut d, director, tamura, ono) = clinic(tmp.path());
    for by in ["田村", "大野", "誰か"] {
        let e = d.admin_set_staff_active(ono, false, by).unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{by}: {e}");
        let e = d.admin_set_staff_role(tamura, Role::Admin, by).unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{by}: {e}");
        let e = d.admin_reset_pin(director, "0000", by).unwrap_err();
        assert!(matches!(e, Error::Forbidden(_)), "{by}: {e}");
    }
    // a deactivated administrator is no administrator any more
    let head = d
        .admin_add_staff("事務長", Role::Admin, Some("2468"), "院長")
        .unwrap()
        .id;
    d.admin_set_staff_active(head, false, "院長").unwrap();
    let e = d.admin_set_staff_active(ono, false, "事務長").unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    // the refusals changed nothing and left no staff.* rows
    assert!(d.staff().unwrap().iter().all(|p| p.id == head || p.active));
    let rows = audit_rows(&d);
    assert!(rows
        .iter()
        .filter(|r| r.1.starts_with("staff.") && r.1 != "staff.add")
        .all(|r| r.0 == "院長"));
}

#[test]
fn the_last_administrator_cannot_be_deactivated_or_demoted() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut d, director, _, _) = clinic(tmp.path());
    // 院長 is the only administrator: may not leave, nor become a nurse
    let e = d
        .admin_set_staff_active(director, false, "院長")
        .unwrap_err();
    assert!(matches!(e, Error::LastAdmin(_)), "{e}");
    assert_eq!(e.code().as_str(), "last_admin");
    assert!(
        e.to_string()
            .contains("Add or reactivate another administrator first"),
        "{e}"
    );
    let e = d
        .admin_set_staff_role(director, Role::Nurse, "院長")
        .unwrap_err();
    assert!(matches!(e, Error::LastAdmin(_)), "{e}");
    // doctor → admin keeps the right to administer: allowed
    d.admin_set_staff_role(director, Role::Admin, "院長")
        .unwrap();
    d.admin_set_staff_role(director, Role::Doctor, "院長")
        .unwrap();

    // with a second administrator (with a PIN) one of them may go
    let head = d
        .admin_add_staff("事務長", Role::Admin, Some("2468"), "院長")
        .unwrap()
        .id;
    d.admin_set_staff_active(director, false, "事務長").unwrap();
    // a deactivated administrator does not count: 事務長 is the last one now
    let e = d.admin_set_staff_active(head, false, "事務長").unwrap_err();
    assert!(matches!(e, Error::LastAdmin(_)), "{e}");
    // an administrator without a PIN cannot sign in, so does not count either
    let deputy = d
        .admin_add_staff("副院長", Role::Doctor, None, "事務長")
        .unwrap()
        .id;
    let e = d
        .admin_set_staff_role(head, Role::Clerk, "事務長")
        .unwrap_err();
    assert!(matches!(e, Error::LastAdmin(_)), "{e}");
    // once 副院長 has a PIN, 事務長 may step down; and then may no longer manage staff
    d.admin_reset_pin(deputy, "8642", "事務長").unwrap();
    d.admin_set_staff_role(head, Role::Clerk, "事務長").unwrap();
    assert!(matches!(
        d.admin_set_staff_role(head, Role::Admin, "事務長"),
        Err(Error::Forbidden(_))
    ));
    // nothing of the refusals reached the audit log
    let rows = audit_rows(&d);
    assert_eq!(
        rows.iter().filter(|r| r.1 == "staff.deactivate").count(),
        1,
        "{rows:?}"
    );
    assert!(d.lock_required().unwrap());
}

#[test]
fn role_changes_and_pin_resets_are_audited_without_the_pin() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut d, _, tamura, ono) = clinic(tmp.path());
    let s = d.admin_set_staff_role(tamura, Role::Admin, "院長").unwrap();
    assert_eq!(s.role, Role::Admin);
    // the same role again: no-op, no row
    d.admin_set_staff_role(tamura, Role::Admin, "院長").unwrap();
    // wrong PINs lock 大野 out; the reset lifts it
    for _ in 0..5 {
        assert!(d.sign_in("大野", "0000").is_err());
    }
    assert_eq!(
        d.sign_in("大野", "4821").unwrap_err().code().as_str(),
        "locked_out"
    );
    d.admin_reset_pin(ono, "7777", "田村").unwrap();
    assert_eq!(d.sign_in("大野", "7777").unwrap().name, "大野");
    let e = d.admin_reset_pin(ono, "12", "田村").unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    let e = d
        .admin_set_staff_role(9999, Role::Clerk, "院長")
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e}");

    let rows = audit_rows(&d);
    let roles: Vec<_> = rows.iter().filter(|r| r.1 == "staff.role").collect();
    assert_eq!(roles.len(), 1, "{rows:?}");
    assert_eq!(roles[0].0, "院長");
    assert_eq!(roles[0].2, Some(format!("staff:{tamura}")));
    assert_eq!(roles[0].3, "田村: clerk → admin");
    assert!(rows
        .iter()
        .any(|r| r.1 == "staff.pin_reset" && r.0 == "田村" && r.2 == Some(format!("staff:{ono}"))));
    assert!(rows
        .iter()
        .all(|r| !r.3.contains("7777") && !r.3.contains("4821")));
    assert!(d.check().unwrap().problems.is_empty());
}

#[test]
fn staff_change_their_own_pin_with_the_current_one() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut d, _, _, ono) = clinic(tmp.path());
    // a malformed new PIN is refused before the current one is even checked
    let e = d.change_own_pin("大野", "4821", "12a").unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }), "{e}");
    let e = d.change_own_pin("大野", "0000", "2580").unwrap_err();
    assert_eq!(e.code().as_str(), "unauthorized", "{e}");
    d.change_own_pin("大野", "4821", "2580").unwrap();
    assert!(d.sign_in("大野", "4821").is_err());
    assert_eq!(d.sign_in("大野", "2580").unwrap().name, "大野");
    let rows = audit_rows(&d);
    assert!(rows.iter().any(|r| r.1 == "staff.pin_change"
        && r.0 == "大野"
        && r.2 == Some(format!("staff:{ono}"))));
    assert!(rows
        .iter()
        .any(|r| r.1 == "staff.pin_change.failed" && r.0 == "大野"));
}
