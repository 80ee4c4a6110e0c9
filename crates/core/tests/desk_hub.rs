//! Connected desks in the core (issue 19): devices, staff sessions with idle expiry, the
//! compare-and-set take, and the change sequence. On SQLite, and on PostgreSQL under
//! `make unit-pg` (`common::backends::data_dir`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::{Desk, SessionProblem};
use renkei_core::model::MessageKind;
use renkei_core::store::audit::AuditFilter;
use renkei_core::store::staff::Role;
use renkei_core::store::StoreKey;
use renkei_core::{Error, Status};
use std::sync::Arc;

fn setup() -> (tempfile::TempDir, Desk, Arc<FixedClock>) {
    let d = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap(),
    ));
    let mut desk = Desk::open_with_key(
        &common::backends::data_dir(d.path()),
        StoreKey::random(),
        clock.clone(),
    )
    .unwrap();
    desk.add_staff("大野", Role::Doctor, Some("1234"), "setup")
        .unwrap();
    desk.add_staff("田村", Role::Clerk, Some("5678"), "setup")
        .unwrap();
    (d, desk, clock)
}

fn item(desk: &mut Desk, ext: &str) -> i64 {
    common::hospital_item(
        desk,
        ext,
        "架空総合病院 地域連携室",
        "退院調整のご相談",
        "本文",
    )
}

#[test]
fn a_take_loses_to_an_earlier_take_by_someone_else_and_changes_nothing() {
    let (_d, mut desk, _clock) = setup();
    let id = item(&mut desk, "T-1");
    let seen = desk.queue_row(id).unwrap();
    assert_eq!((seen.owner.as_deref(), seen.status), (None, Status::New));

    // 田村 takes it with the version both desks saw.
    let taken = desk.take(id, seen.version, "田村").unwrap();
    assert_eq!(taken.owner.as_deref(), Some("田村"));
    assert_eq!(taken.status, Status::Acknowledged);
    assert!(taken.version > seen.version, "a take bumps the version");

    // 大野 presses take on the row as it was: refused with 田村's name, nothing changed.
    let audit_before = common::audit_rows(&desk);
    let e = desk.take(id, seen.version, "大野").unwrap_err();
    match &e {
        Error::Taken { owner } => assert_eq!(owner, "田村"),
        other => panic!("expected Taken, got {other:?}"),
    }
    assert!(e.to_string().contains("田村さんが対応中です"), "{e}");
    assert_eq!(e.code(), renkei_core::error::ErrorCode::Conflict);
    assert_eq!(desk.queue_row(id).unwrap(), taken, "the row is unchanged");
    assert_eq!(
        common::audit_rows(&desk),
        audit_before,
        "nothing was audited"
    );

    // Seeing 田村 as the owner (current version), 大野 takes it over deliberately.
    let over = desk.take(id, taken.version, "大野").unwrap();
    assert_eq!(over.owner.as_deref(), Some("大野"));
    // The owner taking again with an old version is fine (it is theirs).
    desk.take(id, seen.version, "大野").unwrap();
    // Every change bumps the version: a note, a status change.
    let v = desk.queue_row(id).unwrap().version;
    desk.add_message(id, MessageKind::Note, "折り返し予定", "田村")
        .unwrap();
    let v2 = desk.queue_row(id).unwrap().version;
    assert!(v2 > v);
    desk.set_status(id, Status::InProgress, "大野").unwrap();
    assert!(desk.queue_row(id).unwrap().version > v2);
}

#[test]
fn a_device_enrols_once_with_its_code_and_is_locked_out_when_revoked() {
    let (_d, mut desk, clock) = setup();
    let (dev, code) = desk.add_device("受付PC", "院長").unwrap();
    assert_eq!(dev.state, "waiting");
    assert_eq!(code.len(), 19, "{code}");
    let before = common::audit_rows(&desk);
    assert!(matches!(
        desk.enroll_device("AAAA-BBBB-CCCC-DDDD", None),
        Err(Error::Unauthorized(_))
    ));
    assert_eq!(
        common::audit_rows(&desk),
        before,
        "a wrong code stores nothing"
    );
    // Typed in lower case with spaces: still the code.
    let typed = code.to_lowercase().replace('-', " ");
    let (enrolled, token) = desk.enroll_device(&typed, Some("受付PC-1")).unwrap();
    assert_eq!((enrolled.id, enrolled.state.as_str()), (dev.id, "enrolled"));
    assert_eq!(enrolled.name, "受付PC-1");
    assert!(token.len() > 60);
    assert!(
        desk.enroll_device(&code, None).is_err(),
        "a code is single use"
    );
    assert_eq!(desk.device_by_token(&token).unwrap().unwrap().id, dev.id);
    assert!(desk.device_by_token("rkd_garbage").unwrap().is_none());

    // An unused code expires after 24 h.
    let (_, late) = desk.add_device("看護師PC", "院長").unwrap();
    clock.advance(Duration::hours(24) + Duration::seconds(1));
    assert!(desk.enroll_device(&late, None).is_err());
    assert_eq!(desk.devices().unwrap()[1].state, "expired");

    let revoked = desk.revoke_device(dev.id, "院長").unwrap();
    assert_eq!(revoked.state, "revoked");
    assert_eq!(
        desk.device_by_token(&token).unwrap().unwrap().state,
        "revoked"
    );
    let actions: Vec<String> = desk
        .audit(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    for a in ["device.add", "device.enroll", "device.revoke"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}

#[test]
fn a_session_is_tied_to_its_device_and_expires_after_the_idle_minutes() {
    let (_d, mut desk, clock) = setup();
    let (a, code_a) = desk.add_device("A", "院長").unwrap();
    let (b, code_b) = desk.add_device("B", "院長").unwrap();
    desk.enroll_device(&code_a, None).unwrap();
    desk.enroll_device(&code_b, None).unwrap();
    assert!(matches!(
        desk.open_desk_session(a.id, "田村", "0000"),
        Err(Error::Unauthorized(_))
    ));
    let (s, token) = desk.open_desk_session(a.id, "田村", "5678").unwrap();
    assert_eq!(s.staff_name, "田村");
    assert_eq!(desk.desk_session(a.id, &token).unwrap(), Ok(s.clone()));
    assert_eq!(
        desk.desk_session(b.id, &token).unwrap(),
        Err(SessionProblem::Unknown),
        "a session of device A is refused on device B"
    );
    // Activity keeps it alive: 4 minutes idle, twice (lock after 5 minutes by default).
    assert_eq!(desk.settings().lock_after_minutes, 5);
    clock.advance(Duration::minutes(4));
    assert!(desk.desk_session(a.id, &token).unwrap().is_ok());
    clock.advance(Duration::minutes(4));
    assert!(desk.desk_session(a.id, &token).unwrap().is_ok());
    clock.advance(Duration::minutes(5) + Duration::seconds(1));
    assert_eq!(
        desk.desk_session(a.id, &token).unwrap(),
        Err(SessionProblem::Expired)
    );
    // Ended for good: the next request does not bring it back.
    assert_eq!(
        desk.desk_session(a.id, &token).unwrap(),
        Err(SessionProblem::Unknown)
    );
    // Sign out.
    let (s2, t2) = desk.open_desk_session(a.id, "大野", "1234").unwrap();
    desk.close_desk_session(&s2).unwrap();
    assert_eq!(
        desk.desk_session(a.id, &t2).unwrap(),
        Err(SessionProblem::Unknown)
    );
}

#[test]
fn the_change_sequence_names_every_change_of_a_consultation_in_order() {
    let (_d, mut desk, _clock) = setup();
    let start = desk.change_seq().unwrap();
    let id = item(&mut desk, "S-1");
    let v = desk.queue_row(id).unwrap().version;
    desk.take(id, v, "田村").unwrap();
    desk.add_message(id, MessageKind::Note, "メモ", "田村")
        .unwrap();
    desk.set_status(id, Status::InProgress, "田村").unwrap();
    desk.assign(id, Some("大野"), "田村").unwrap();
    let (events, last) = desk.changes_after(start, 1000).unwrap();
    assert_eq!(last, desk.change_seq().unwrap());
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "consultation.create",
            "consultation.ack",
            "message.note",
            "consultation.status",
            "consultation.assign"
        ]
    );
    assert!(events.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    assert!(events.iter().all(|e| e.consultation_id == id));
    assert_eq!(events[1].who, "田村");
    assert_eq!(events[4].owner.as_deref(), Some("大野"));
    assert_eq!(events[4].status.as_deref(), Some("in_progress"));
    // Resuming from the middle gives exactly the rest.
    let (rest, _) = desk.changes_after(events[2].seq, 1000).unwrap();
    assert_eq!(rest, events[3..].to_vec());
    // No message text in an event.
    let json = serde_json::to_string(&events).unwrap();
    assert!(!json.contains("メモ") && !json.contains("本文"), "{json}");
}
