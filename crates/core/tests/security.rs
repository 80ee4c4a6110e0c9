//! Staff PINs and lock-out; converting a plain store to an encrypted one.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::{Desk, Document};
use renkei_core::model::{NewConsultation, PartnerRef};
use renkei_core::store::staff::Role;
use renkei_core::store::{keys, DataDir, StoreKey};
use renkei_core::{Category, Channel, Error, PartnerKind};
use std::sync::Arc;

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T09:00:00+09:00").unwrap(),
    ))
}

#[test]
fn pin_sign_in_locks_out_after_repeated_wrong_pins() {
    let d = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut desk =
        Desk::open_with_key(&DataDir::new(d.path()), StoreKey::random(), clock.clone()).unwrap();
    desk.add_staff("大野", Role::Nurse, Some("4821"), "admin")
        .unwrap();
    assert!(matches!(
        desk.add_staff("大野", Role::Nurse, None, "admin"),
        Err(Error::Conflict(_))
    ));
    assert!(matches!(
        desk.add_staff("田村", Role::Clerk, Some("12"), "admin"),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(desk.sign_in("大野", "4821").unwrap().role, Role::Nurse);
    for _ in 0..4 {
        assert!(matches!(
            desk.sign_in("大野", "0000"),
            Err(Error::Unauthorized(_))
        ));
    }
    let e = desk.sign_in("大野", "0000").unwrap_err();
    assert!(e.to_string().contains("locked"), "{e}");
    assert_eq!(e.code().as_str(), "locked_out");
    // even the right PIN is refused while locked
    assert!(desk
        .sign_in("大野", "4821")
        .unwrap_err()
        .to_string()
        .contains("locked"));
    clock.advance(Duration::minutes(6));
    assert!(desk.sign_in("大野", "4821").is_ok());
    // unknown names get the same answer as wrong PINs
    assert!(desk
        .sign_in("誰か", "4821")
        .unwrap_err()
        .to_string()
        .contains("wrong"));
    let actions: Vec<String> = desk
        .audit(&Default::default())
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(actions.iter().filter(|a| *a == "login.failed").count() >= 6);
    assert!(actions.iter().any(|a| a == "login"));
    assert!(desk.check().unwrap().problems.is_empty());
}

#[test]
fn a_plain_store_is_converted_to_an_encrypted_one() {
    let d = tempfile::tempdir().unwrap();
    let dir = DataDir::new(d.path());
    let pdf = b"%PDF-1.4\nPLAINMARKER\n%%EOF\n";
    let id = {
        let mut desk = Desk::open_with_key(&dir, StoreKey::plain(), clock()).unwrap();
        let mut n = NewConsultation::new(
            Channel::Manual,
            PartnerRef::Named {
                name: "北区第2地域包括支援センター".into(),
                kind: PartnerKind::Houkatsu,
            },
            Category::CommunityConcern,
            "PLAINMARKER 独居の方",
            "本文 PLAINMARKER",
        );
        n.external_id = Some("p1".into());
        let id = desk.intake(n).unwrap().id;
        desk.attach(
            id,
            Document {
                name: "a.pdf",
                bytes: pdf,
                declared: None,
            },
            "田村",
        )
        .unwrap();
        id
    };
    assert!(keys::is_plain_sqlite(&dir.db_path()));
    let key = StoreKey::random();
    let mut desk = Desk::open_with_key(&dir, key.clone(), clock()).unwrap();
    assert!(!keys::is_plain_sqlite(&dir.db_path()));
    let detail = desk.show(id, None).unwrap();
    assert!(detail.row.subject.contains("PLAINMARKER"));
    let (_, bytes) = desk
        .attachment_bytes(detail.attachment_list[0].id, "田村")
        .unwrap();
    assert_eq!(bytes, pdf);
    assert!(desk.check().unwrap().problems.is_empty());
    drop(desk);
    let mut stack = vec![d.path().to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                let b = std::fs::read(e.path()).unwrap();
                assert!(
                    !b.windows(11).any(|w| w == b"PLAINMARKER"),
                    "plaintext left in {}",
                    e.path().display()
                );
            }
        }
    }
    assert!(Desk::open_with_key(&dir, StoreKey::random(), clock()).is_err());
}

#[test]
fn daily_backups_keep_n_generations_and_copy_to_a_mirror() {
    let d = tempfile::tempdir().unwrap();
    let mirror = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut desk = Desk::open_with_key(
        &DataDir::new(d.path().join("data")),
        StoreKey::random(),
        clock.clone(),
    )
    .unwrap();
    let mut s = desk.settings().clone();
    s.backup.keep_days = 3;
    s.backup.mirror_dir = Some(mirror.path().to_string_lossy().to_string());
    desk.save_settings(s, "admin").unwrap();
    for day in 0..5 {
        let out = desk.daily_backup().unwrap();
        assert!(out.written.is_some(), "day {day}");
        assert!(out.mirrored.is_some());
        // a second run the same day writes nothing
        assert!(desk.daily_backup().unwrap().written.is_none());
        clock.advance(Duration::days(1));
    }
    let mut local: Vec<String> = std::fs::read_dir(d.path().join("data/backups"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    local.sort();
    assert_eq!(
        local,
        vec![
            "renkei-20261203.rkbackup",
            "renkei-20261204.rkbackup",
            "renkei-20261205.rkbackup"
        ]
    );
    assert_eq!(std::fs::read_dir(mirror.path()).unwrap().count(), 5);
    // an unreachable mirror does not fail the local backup
    let mut s = desk.settings().clone();
    s.backup.mirror_dir = Some("/proc/renkei-no-such-dir".into());
    desk.save_settings(s, "admin").unwrap();
    let out = desk.daily_backup().unwrap();
    assert!(out.written.is_some());
    assert!(out.mirror_error.is_some());
}

#[test]
fn only_doctors_and_admins_change_settings_and_staff_once_pins_exist() {
    let d = tempfile::tempdir().unwrap();
    let mut desk =
        Desk::open_with_key(&DataDir::new(d.path()), StoreKey::random(), clock()).unwrap();
    // first run: no PIN yet, anyone may create the first administrator
    assert!(!desk.lock_required().unwrap());
    // … but not as a clerk: nobody could manage staff afterwards
    assert!(matches!(
        desk.admin_add_staff("田村", Role::Clerk, Some("1234"), "田村"),
        Err(Error::Invalid { .. })
    ));
    desk.admin_add_staff("院長", Role::Doctor, Some("9999"), "田村")
        .unwrap();
    assert!(desk.lock_required().unwrap());
    // now a clerk may not
    desk.admin_add_staff("田村", Role::Clerk, Some("1234"), "院長")
        .unwrap();
    let e = desk
        .admin_add_staff("大野", Role::Nurse, Some("4821"), "田村")
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    assert_eq!(e.code().as_str(), "forbidden");
    let s = desk.settings().clone();
    assert!(matches!(
        desk.update_settings(s.clone(), "田村"),
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        desk.update_settings(s.clone(), "誰か"),
        Err(Error::Forbidden(_))
    ));
    let tamura = desk.staff().unwrap()[1].id;
    assert!(matches!(
        desk.admin_reset_pin(tamura, "5555", "田村"),
        Err(Error::Forbidden(_))
    ));
    // the doctor may; invalid settings are refused with the validator's words
    let mut bad = s.clone();
    bad.calendar.close = "8:00".into();
    let e = desk.update_settings(bad, "院長").unwrap_err();
    assert!(matches!(e, Error::Invalid { .. }));
    // in the clinic's language (Japanese by default), with the values to fix
    assert_eq!(
        e.to_string(),
        "診療時間の開始（09:00）は終了（8:00）より前にしてください。"
    );
    assert!(matches!(&e, Error::Invalid { field: Some(f), .. } if f == "settings.hours"));
    let mut good = s;
    good.lock_after_minutes = 10;
    desk.update_settings(good, "院長").unwrap();
    assert_eq!(desk.settings().lock_after_minutes, 10);
    desk.admin_reset_pin(tamura, "5555", "院長").unwrap();
    assert!(desk.sign_in("田村", "5555").is_ok());
    let actions: Vec<String> = desk
        .audit(&Default::default())
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.iter().any(|a| a == "staff.pin_reset"),
        "{actions:?}"
    );
}

#[test]
fn masked_secrets_survive_a_save_from_the_screen() {
    let d = tempfile::tempdir().unwrap();
    let mut desk =
        Desk::open_with_key(&DataDir::new(d.path()), StoreKey::random(), clock()).unwrap();
    let mut s = desk.settings().clone();
    s.intake.lineworks_bot_secret = Some("bot-secret".into());
    desk.update_settings(s, "田村").unwrap();
    let shown = desk.settings().masked();
    desk.update_settings(shown, "田村").unwrap();
    assert_eq!(
        desk.settings().intake.lineworks_bot_secret.as_deref(),
        Some("bot-secret")
    );
}

#[test]
fn backup_status_tells_the_newest_generation_its_age_and_the_mirror_copy() {
    let d = tempfile::tempdir().unwrap();
    let mirror = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut desk = Desk::open_with_key(
        &DataDir::new(d.path().join("data")),
        StoreKey::random(),
        clock.clone(),
    )
    .unwrap();
    let st = desk.backup_status();
    assert_eq!(
        (st.latest.as_deref(), st.age_days, st.mirrored),
        (None, None, None)
    );
    let mut s = desk.settings().clone();
    s.backup.mirror_dir = Some(mirror.path().to_string_lossy().to_string());
    desk.save_settings(s, "admin").unwrap();
    assert_eq!(desk.backup_status().mirrored, Some(false), "no backup yet");
    desk.daily_backup().unwrap();
    clock.advance(Duration::days(2));
    let st = desk.backup_status();
    assert_eq!(st.latest.as_deref(), Some("renkei-20261201.rkbackup"));
    assert_eq!(st.age_days, Some(2));
    assert_eq!(st.mirrored, Some(true));
    // the NAS copy disappears: the status says so
    std::fs::remove_file(mirror.path().join("renkei-20261201.rkbackup")).unwrap();
    assert_eq!(desk.backup_status().mirrored, Some(false));
}

#[test]
fn the_quick_self_check_finds_a_missing_attachment_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = DataDir::new(d.path().join("data"));
    let key = StoreKey::random();
    let mut desk = Desk::open_with_key(&dir, key.clone(), clock()).unwrap();
    let id = desk
        .intake(NewConsultation::new(
            Channel::Manual,
            PartnerRef::Named {
                name: "テスト病院".into(),
                kind: PartnerKind::Hospital,
            },
            Category::Discharge,
            "退院調整のご相談",
            "本文",
        ))
        .unwrap()
        .id;
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
    desk.attach(
        id,
        Document {
            name: "紹介状.pdf",
            bytes: pdf,
            declared: None,
        },
        "田村",
    )
    .unwrap();
    let ok = desk.quick_check().unwrap();
    assert!(ok.problems.is_empty(), "{:?}", ok.problems);
    assert_eq!((ok.consultations, ok.attachments_checked), (1, 1));
    // an attachment file lost from the disk
    let blobs: Vec<_> = walk_files(&dir.blob_dir());
    assert_eq!(blobs.len(), 1);
    std::fs::remove_file(&blobs[0]).unwrap();
    let r = desk.quick_check().unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("missing")),
        "{:?}",
        r.problems
    );
}

fn walk_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        for e in std::fs::read_dir(&p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
