//! The store through the Desk API: dedupe, threading, transitions, documents, audit chain,
//! encryption at rest, backup/restore. Real SQLCipher files in temp dirs, frozen clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::{Desk, Document};
use renkei_core::model::{MessageKind, NewConsultation, PartnerRef};
use renkei_core::store::consultations::QueueFilter;
use renkei_core::store::{DataDir, Store, StoreKey};
use renkei_core::{Category, Channel, Error, PartnerKind, Status, Urgency};
use std::sync::Arc;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap(),
    ))
}

/// A Desk on this run's backend: SQLite, or PostgreSQL under `make unit-pg`
/// (`common::backends::data_dir`).
fn desk_in(dir: &std::path::Path, key: &StoreKey, clock: Arc<FixedClock>) -> Desk {
    Desk::open_with_key(&common::backends::data_dir(dir), key.clone(), clock).unwrap()
}

/// A Desk on SQLite whatever the run: for the tests about SQLite's files.
fn sqlite_desk_in(dir: &std::path::Path, key: &StoreKey, clock: Arc<FixedClock>) -> Desk {
    Desk::open_with_key(&common::backends::sqlite_dir(dir), key.clone(), clock).unwrap()
}

fn hospital_item(ext: &str, subject: &str, body: &str) -> NewConsultation {
    let mut n = NewConsultation::new(
        Channel::PartnerApi,
        PartnerRef::Named {
            name: "札幌北辰病院 地域連携室".into(),
            kind: PartnerKind::Hospital,
        },
        Category::Discharge,
        subject,
        body,
    );
    n.external_id = Some(ext.into());
    n
}

#[test]
fn same_external_id_never_creates_a_second_consultation() {
    let d = tempfile::tempdir().unwrap();
    let mut desk = desk_in(d.path(), &StoreKey::random(), clock());
    let a = desk
        .intake(hospital_item("X-1", "退院調整のご相談", "本文"))
        .unwrap();
    let b = desk
        .intake(hospital_item("X-1", "退院調整のご相談（再送）", "本文2"))
        .unwrap();
    assert!(a.created);
    assert!(!b.created);
    assert_eq!(a.id, b.id);
    // the same external id from another partner is another consultation
    let mut other = hospital_item("X-1", "別病院から", "本文");
    other.partner = PartnerRef::Named {
        name: "北区中央病院".into(),
        kind: PartnerKind::Hospital,
    };
    let c = desk.intake(other).unwrap();
    assert!(c.created);
    assert_ne!(c.id, a.id);
    assert_eq!(desk.queue(&QueueFilter::default()).unwrap().len(), 2);
}

#[test]
fn idempotency_key_with_another_body_is_a_conflict_and_stores_nothing() {
    let d = tempfile::tempdir().unwrap();
    let mut desk = desk_in(d.path(), &StoreKey::random(), clock());
    let mut n = hospital_item("A", "件名", "本文");
    n.external_id = None;
    let first = desk
        .intake_keyed(n.clone(), Some(("k1", "hash-a")))
        .unwrap();
    let again = desk
        .intake_keyed(n.clone(), Some(("k1", "hash-a")))
        .unwrap();
    assert_eq!(first.id, again.id);
    assert!(!again.created);
    let e = desk.intake_keyed(n, Some(("k1", "hash-b"))).unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    assert_eq!(
        desk.queue(&QueueFilter {
            all: true,
            ..Default::default()
        })
        .unwrap()
        .len(),
        1
    );
}

#[test]
fn follow_up_on_an_open_thread_joins_it() {
    let d = tempfile::tempdir().unwrap();
    let mut desk = desk_in(d.path(), &StoreKey::random(), clock());
    let mk = |ext: &str, body: &str| {
        let mut n = NewConsultation::new(
            Channel::Chatwork,
            PartnerRef::Handle {
                channel: Channel::Chatwork,
                handle: "room-42".into(),
                display_name: "ケアプランセンターすずらん".into(),
            },
            Category::Other,
            body,
            body,
        );
        n.external_id = Some(ext.into());
        n.thread_key = Some("room-42".into());
        n
    };
    let first = desk.intake(mk("m1", "お世話になっております")).unwrap();
    for i in 2..=12 {
        let o = desk
            .intake(mk(&format!("m{i}"), &format!("追加の連絡 {i}")))
            .unwrap();
        assert_eq!(o.id, first.id);
        assert!(o.joined);
    }
    // redelivery of a message already joined is not added twice
    let dup = desk.intake(mk("m5", "追加の連絡 5")).unwrap();
    assert!(!dup.joined && !dup.created);
    let detail = desk.show(first.id, None).unwrap();
    assert_eq!(detail.thread.len(), 12);
    // once resolved, a new message starts a new consultation
    desk.resolve(first.id, "田村").unwrap();
    let next = desk.intake(mk("m13", "別件です")).unwrap();
    assert!(next.created);
    assert_ne!(next.id, first.id);
}

#[test]
fn status_transitions_are_validated_and_recorded() {
    let d = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut desk = desk_in(d.path(), &StoreKey::random(), clock.clone());
    let id = desk.intake(hospital_item("S", "件名", "本文")).unwrap().id;
    clock.advance(Duration::minutes(3));
    let row = desk.ack(id, "大野").unwrap();
    assert_eq!(row.status, Status::Acknowledged);
    assert_eq!(row.owner.as_deref(), Some("大野"));
    desk.set_status(id, Status::InProgress, "大野").unwrap();
    desk.set_status(id, Status::WaitingPartner, "大野").unwrap();
    let e = desk.set_status(id, Status::New, "大野").unwrap_err();
    assert!(matches!(e, Error::InvalidTransition { .. }));
    desk.resolve(id, "院長").unwrap();
    let e = desk.set_status(id, Status::Declined, "院長").unwrap_err();
    assert!(matches!(e, Error::InvalidTransition { .. }));
    let detail = desk.show(id, None).unwrap();
    assert_eq!(detail.row.status, Status::Resolved);
    let tos: Vec<Status> = detail.history.iter().map(|h| h.to).collect();
    assert_eq!(
        tos,
        vec![
            Status::New,
            Status::Acknowledged,
            Status::InProgress,
            Status::WaitingPartner,
            Status::Resolved
        ]
    );
    assert_eq!(detail.history[1].by, "大野");
    assert_eq!(detail.history[4].by, "院長");
    // closed items leave the default queue
    assert!(desk.queue(&QueueFilter::default()).unwrap().is_empty());
}

#[test]
fn documents_are_checked_content_addressed_and_stored_once() {
    let d = tempfile::tempdir().unwrap();
    let mut desk = desk_in(d.path(), &StoreKey::random(), clock());
    let a = desk
        .import_document(
            Document {
                name: "紹介状.pdf",
                bytes: PDF,
                declared: None,
            },
            None,
            Channel::Manual,
            "田村",
        )
        .unwrap();
    assert!(a.created);
    let again = desk
        .import_document(
            Document {
                name: "紹介状(1).pdf",
                bytes: PDF,
                declared: None,
            },
            None,
            Channel::Manual,
            "田村",
        )
        .unwrap();
    assert_eq!(again.id, a.id);
    assert!(!again.created);
    // attaching the same bytes elsewhere reuses the blob
    let other = desk.intake(hospital_item("D", "件名", "本文")).unwrap().id;
    let att = desk
        .attach(
            other,
            Document {
                name: "copy.pdf",
                bytes: PDF,
                declared: Some("application/pdf"),
            },
            "田村",
        )
        .unwrap();
    assert_eq!(att.sha256, a.attachment.sha256);
    if !common::backends::on_pg() {
        let blob_files: usize = walk(&d.path().join("attachments")).len();
        assert_eq!(blob_files, 1);
    }
    // refused: text named .pdf, empty, truncated PDF; nothing stored
    let before = desk
        .queue(&QueueFilter {
            all: true,
            ..Default::default()
        })
        .unwrap()
        .len();
    for (name, bytes) in [
        ("fake.pdf", &b"hello, not a pdf"[..]),
        ("empty.pdf", &b""[..]),
        ("cut.pdf", &PDF[..20]),
    ] {
        let e = desk
            .import_document(
                Document {
                    name,
                    bytes,
                    declared: None,
                },
                None,
                Channel::Manual,
                "田村",
            )
            .unwrap_err();
        assert!(e.to_string().contains(name), "{e}");
    }
    assert_eq!(
        desk.queue(&QueueFilter {
            all: true,
            ..Default::default()
        })
        .unwrap()
        .len(),
        before
    );
    let detail = desk.show(a.id, None).unwrap();
    assert_eq!(detail.attachment_list.len(), 1);
    assert_eq!(detail.attachment_list[0].media_type, "application/pdf");
}

fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[test]
fn nothing_readable_under_the_data_dir() {
    let d = tempfile::tempdir().unwrap();
    let mut desk = sqlite_desk_in(d.path(), &StoreKey::random(), clock());
    let marker = "MARKERxyzzy呼吸苦";
    let mut n = hospital_item(
        "P",
        &format!("件名 {marker}"),
        &format!("本文 {marker} 山田花子様 011-000-1234"),
    );
    n.patient_ref = Some(format!("ref-{marker}"));
    let id = desk.intake(n).unwrap().id;
    let pdf = [PDF, b"MARKERxyzzy"].concat();
    let mut pdf = pdf;
    pdf.extend_from_slice(b"\n%%EOF\n");
    desk.attach(
        id,
        Document {
            name: "doc.pdf",
            bytes: &pdf,
            declared: None,
        },
        "田村",
    )
    .unwrap();
    desk.add_message(id, MessageKind::Note, &format!("メモ {marker}"), "大野")
        .unwrap();
    // files while the store is open (WAL present) and after closing
    for pass in 0..2 {
        for f in walk(d.path()) {
            let bytes = std::fs::read(&f).unwrap();
            for needle in [
                "MARKERxyzzy".as_bytes(),
                "呼吸苦".as_bytes(),
                "山田花子".as_bytes(),
                b"011-000-1234",
            ] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "plaintext found in {} (pass {pass})",
                    f.display()
                );
            }
        }
        if pass == 0 {
            drop(std::mem::replace(
                &mut desk,
                desk_in(
                    tempfile::tempdir().unwrap().path(),
                    &StoreKey::random(),
                    clock(),
                ),
            ));
        }
    }
}

#[test]
fn a_wrong_key_is_a_clear_error_and_changes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    {
        let mut desk = desk_in(d.path(), &key, clock());
        desk.intake(hospital_item("K", "件名", "本文")).unwrap();
    }
    let file = || std::fs::read(d.path().join("renkei.db")).ok();
    let before = file();
    let e = Desk::open_with_key(
        &common::backends::data_dir(d.path()),
        StoreKey::random(),
        clock(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)), "{e:?}");
    assert!(e.to_string().contains("key"), "{e}");
    assert_eq!(file(), before);
    let mut desk = desk_in(d.path(), &key, clock());
    assert_eq!(desk.queue(&QueueFilter::default()).unwrap().len(), 1);
}

#[test]
fn audit_chain_detects_a_modified_or_deleted_row() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = sqlite_desk_in(d.path(), &key, clock());
    let id = desk.intake(hospital_item("A1", "件名", "本文")).unwrap().id;
    desk.show(id, Some("田村")).unwrap();
    desk.ack(id, "大野").unwrap();
    desk.add_message(id, MessageKind::Reply, "承知しました", "大野")
        .unwrap();
    let r = desk.check().unwrap();
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert!(r.audit_rows >= 4);
    // the append-only triggers refuse edits (a tamperer with the key opens the store itself)
    let raw = Store::open(&DataDir::new(d.path()), key.clone()).unwrap();
    assert!(raw
        .conn()
        .execute("UPDATE audit SET actor = 'x' WHERE id = 2", [])
        .is_err());
    // a tamperer who drops the triggers is still caught by the chain
    raw.conn()
        .execute_batch(
            "DROP TRIGGER audit_no_update; UPDATE audit SET actor = '別人' WHERE id = 2;",
        )
        .unwrap();
    let r = desk.check().unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("row 2")),
        "{:?}",
        r.problems
    );
    let d2 = tempfile::tempdir().unwrap();
    let mut desk2 = sqlite_desk_in(d2.path(), &key, clock());
    let id2 = desk2
        .intake(hospital_item("A2", "件名", "本文"))
        .unwrap()
        .id;
    desk2.ack(id2, "大野").unwrap();
    desk2.resolve(id2, "大野").unwrap();
    Store::open(&DataDir::new(d2.path()), key.clone())
        .unwrap()
        .conn()
        .execute_batch("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 2;")
        .unwrap();
    let r = desk2.check().unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("missing")),
        "{:?}",
        r.problems
    );
}

#[test]
fn backup_and_restore_round_trip_every_consultation_and_attachment() {
    let src = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = sqlite_desk_in(src.path(), &key, clock());
    for i in 0..5 {
        let id = desk
            .intake(hospital_item(&format!("B{i}"), &format!("件名{i}"), "本文"))
            .unwrap()
            .id;
        let mut pdf = PDF.to_vec();
        pdf.extend_from_slice(format!("% {i}\n%%EOF\n").as_bytes());
        desk.attach(
            id,
            Document {
                name: "a.pdf",
                bytes: &pdf,
                declared: None,
            },
            "田村",
        )
        .unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("clinic.rkbackup");
    let m = desk.backup(&file, "田村").unwrap();
    assert_eq!(m.consultations, 5);
    assert_eq!(m.attachments, 5);
    // restore refuses a non-empty target
    let e = renkei_core::backup::restore(&file, &DataDir::new(src.path()), &key).unwrap_err();
    assert!(matches!(e, Error::Conflict(_)));
    // and a wrong key
    let target = out.path().join("restored");
    assert!(
        renkei_core::backup::restore(&file, &DataDir::new(&target), &StoreKey::random()).is_err()
    );
    assert!(!target.exists() || std::fs::read_dir(&target).unwrap().next().is_none());
    renkei_core::backup::restore(&file, &DataDir::new(&target), &key).unwrap();
    let mut restored = sqlite_desk_in(&target, &key, clock());
    assert!(restored.check().unwrap().problems.is_empty());
    let all = QueueFilter {
        all: true,
        ..Default::default()
    };
    let a = desk.queue(&all).unwrap();
    let b = restored.queue(&all).unwrap();
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        assert_eq!(x.id, y.id);
        assert_eq!(x.subject, y.subject);
        let xa = desk.show(x.id, None).unwrap().attachment_list;
        let ya = restored.show(y.id, None).unwrap().attachment_list;
        assert_eq!(xa, ya);
    }
    // a damaged backup is refused
    let mut bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    bytes[n - 10] ^= 0xFF;
    let bad = out.path().join("bad.rkbackup");
    std::fs::write(&bad, bytes).unwrap();
    assert!(
        renkei_core::backup::restore(&bad, &DataDir::new(out.path().join("r2")), &key).is_err()
    );
}

#[test]
fn queue_is_in_triage_order_and_search_finds_two_kanji() {
    let d = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut desk = desk_in(d.path(), &StoreKey::random(), clock.clone());
    let mut mk = |ext: &str, u: Option<Urgency>, subject: &str| {
        let mut n = hospital_item(ext, subject, "本文です");
        n.urgency = u;
        desk.intake(n).unwrap().id
    };
    let normal = mk("n", Some(Urgency::Normal), "通常の相談");
    let fyi = mk("f", Some(Urgency::Fyi), "研修会のお知らせ");
    let urgent = mk("u", Some(Urgency::Urgent), "至急 往診のご相談");
    let today = mk("t", Some(Urgency::Today), "本日退院の方");
    let suggested = mk("s", None, "SpO2 88% 呼吸苦あり");
    clock.advance(Duration::minutes(1));
    let ids: Vec<i64> = desk
        .queue(&QueueFilter::default())
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![urgent, suggested, today, normal, fyi]);
    let row = desk
        .queue(&QueueFilter::default())
        .unwrap()
        .into_iter()
        .find(|r| r.id == suggested)
        .unwrap();
    assert_eq!(row.urgency, Urgency::Urgent);
    assert!(row.urgency_reason.unwrap().contains("SpO2"));
    // after 40 minutes the urgent ones are overdue and stay on top
    clock.advance(Duration::minutes(40));
    let rows = desk.queue(&QueueFilter::default()).unwrap();
    assert!(rows[0].overdue);
    // search: 2 kanji (LIKE fallback) and 3+ (trigram)
    let hits: Vec<i64> = desk
        .queue(&QueueFilter {
            search: Some("退院".into()),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(hits, vec![today]);
    let hits: Vec<i64> = desk
        .queue(&QueueFilter {
            search: Some("研修会".into()),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(hits, vec![fyi]);
    // LIKE wildcards in the query are literal
    let hits: Vec<i64> = desk
        .queue(&QueueFilter {
            search: Some("8%".into()),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(hits, vec![suggested]);
    let none = desk
        .queue(&QueueFilter {
            search: Some("_%".into()),
            ..Default::default()
        })
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn partner_sees_only_its_own_consultations() {
    let d = tempfile::tempdir().unwrap();
    let mut desk = desk_in(d.path(), &StoreKey::random(), clock());
    let (p1, key1) = desk
        .add_partner(
            renkei_core::store::partners::NewPartner {
                name: "ひまわり訪問看護ステーション".into(),
                kind: Some(PartnerKind::Nursing),
                ..Default::default()
            },
            "admin",
        )
        .unwrap();
    let (p2, _) = desk
        .add_partner(
            renkei_core::store::partners::NewPartner {
                name: "みどり調剤薬局".into(),
                kind: Some(PartnerKind::Pharmacy),
                ..Default::default()
            },
            "admin",
        )
        .unwrap();
    assert_eq!(desk.partner_by_key(&key1).unwrap().unwrap().id, p1.id);
    assert!(desk.partner_by_key("rk_wrong").unwrap().is_none());
    let mut n = hospital_item("V1", "件名", "本文");
    n.partner = PartnerRef::Id(p1.id);
    let id = desk.intake(n).unwrap().id;
    desk.show(id, Some("田村")).unwrap();
    desk.ack(id, "大野").unwrap();
    desk.add_message(id, MessageKind::Reply, "本日伺います", "大野")
        .unwrap();
    desk.add_message(
        id,
        MessageKind::Note,
        "院内メモ（先方には見せない）",
        "大野",
    )
    .unwrap();
    let v = desk.partner_view(p1.id, id).unwrap();
    assert_eq!(v.status, Status::Acknowledged);
    assert!(v.read_at.is_some());
    assert_eq!(v.status_label, "確認済み・担当 大野");
    assert_eq!(v.replies.len(), 1);
    assert!(matches!(
        desk.partner_view(p2.id, id),
        Err(Error::NotFound(_))
    ));
    desk.revoke_api_key(p1.id, "admin").unwrap();
    assert!(desk.partner_by_key(&key1).unwrap().is_none());
}

#[test]
fn changing_urgency_or_category_moves_the_due_time_and_is_audited() {
    let d = tempfile::tempdir().unwrap();
    let mut desk = desk_in(d.path(), &StoreKey::random(), clock());
    let mut n = hospital_item("R1", "ご相談", "本文");
    n.urgency = Some(Urgency::Normal);
    let id = desk.intake(n).unwrap().id;
    let before = desk.show(id, None).unwrap().row;
    let urgent = desk.set_urgency(id, Urgency::Urgent, "大野").unwrap();
    assert_eq!(urgent.urgency, Urgency::Urgent);
    assert!(urgent.urgency_confirmed);
    // received Tue 10:00 → urgent is due 30 minutes later
    assert_eq!(
        urgent.due_at,
        Some(parse_rfc3339("2026-12-01T10:30:00+09:00").unwrap())
    );
    assert!(urgent.due_at < before.due_at);
    desk.set_urgency(id, Urgency::Normal, "大野").unwrap();
    let normal_due = desk.show(id, None).unwrap().row.due_at;
    // bed availability answers faster than other normal items (a per-category target)
    let bed = desk
        .set_category(id, Category::BedAvailability, "大野")
        .unwrap();
    assert_eq!(bed.category, Category::BedAvailability);
    assert!(
        bed.due_at < normal_due,
        "{:?} vs {normal_due:?}",
        bed.due_at
    );
    let actions: Vec<String> = desk
        .audit(&Default::default())
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "consultation.urgency")
            .count(),
        2
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| *a == "consultation.category")
            .count(),
        1
    );
}

/// What other crates used to read through `desk.conn()` / `desk.store()` now comes from the API.
#[test]
fn the_api_answers_what_callers_read_from_the_store() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk_in(d.path(), &key, clock());
    assert_eq!(desk.data_dir().root, d.path());
    assert_eq!(desk.key_fingerprint(), key.fingerprint());
    assert_eq!(desk.store_key().fingerprint(), key.fingerprint());

    // the row an intake answer and its notification show
    let out = desk.intake(hospital_item("Q1", "件名", "本文")).unwrap();
    let row = desk.queue_row(out.id).unwrap();
    assert_eq!((row.id, row.status), (out.id, Status::New));
    assert!(matches!(
        desk.queue_row(out.id + 100),
        Err(Error::NotFound(_))
    ));

    // the poller's cursor: read, moved (audited), never moved by nobody
    assert_eq!(desk.poll_cursor("chatwork:301").unwrap(), None);
    desk.set_poll_cursor("chatwork:301", "42", "chatwork")
        .unwrap();
    assert_eq!(
        desk.poll_cursor("chatwork:301").unwrap().as_deref(),
        Some("42")
    );
    assert!(desk.set_poll_cursor("chatwork:301", "43", "  ").is_err());
    assert_eq!(
        desk.poll_cursor("chatwork:301").unwrap().as_deref(),
        Some("42")
    );
    let moved = desk
        .audit(&renkei_core::store::audit::AuditFilter {
            action: Some("poll.cursor".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(
        (
            moved[0].actor.as_str(),
            moved[0].target.as_deref(),
            moved[0].detail.as_str()
        ),
        ("chatwork", Some("cursor:chatwork:301"), "42")
    );
    assert!(desk.check().unwrap().problems.is_empty());
}

/// Ids follow commit order whichever connection writes: a desk following the store's tables
/// ("everything above the last id seen", `feed::ChangeFeed`) depends on it to announce every
/// arrival. On PostgreSQL a connection once kept a block of ids between its transactions, so
/// another connection's consultation committed later could carry a smaller id than one the
/// feed had already passed — and was never announced.
#[test]
fn ids_follow_commit_order_whichever_connection_writes() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desks = [
        desk_in(d.path(), &key, clock()),
        desk_in(d.path(), &key, clock()),
    ];
    let (mut last_c, mut last_m) = (0, 0);
    for round in 0..6 {
        for (i, desk) in desks.iter_mut().enumerate() {
            let items: Vec<(NewConsultation, Option<(String, String)>)> = (0..=round % 3)
                .map(|k| {
                    let ext = format!("R{round}-{i}-{k}");
                    (hospital_item(&ext, "退院調整", "本文です"), None)
                })
                .collect();
            for out in desk.intake_batch(items) {
                let out = out.unwrap();
                let mid = out.message_id.unwrap();
                assert!(
                    out.id > last_c && mid > last_m,
                    "round {round}, desk {i}: consultation {} / message {mid} committed after {last_c} / {last_m}",
                    out.id
                );
                (last_c, last_m) = (out.id, mid);
            }
        }
    }
}
