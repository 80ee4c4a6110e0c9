//! Group commit (`Desk::intake_batch`, issue 24): one transaction for many consultations gives
//! exactly the answers and the store that taking them in one by one gives — duplicates, thread
//! follow-ups, invalid items and `Idempotency-Key` conflicts included — and a refused item leaves
//! nothing behind. Real SQLCipher stores in temp dirs — or, under `make unit-pg`, the same tests on
//! PostgreSQL (the hub's `renkei serve` commits its intake through the same `intake_batch`) —
//! frozen clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::{BatchItem, Desk};
use renkei_core::model::{NewConsultation, PartnerRef};
use renkei_core::store::consultations::QueueFilter;
use renkei_core::store::StoreKey;
use renkei_core::{Category, Channel, PartnerKind};
use std::sync::Arc;

type Item = (NewConsultation, Option<(String, String)>);

fn desk(dir: &std::path::Path) -> Desk {
    let clock = Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap(),
    ));
    Desk::open_with_key(&common::backends::data_dir(dir), StoreKey::random(), clock).unwrap()
}

fn item(partner: &str, ext: Option<&str>, thread: Option<&str>, subject: &str) -> NewConsultation {
    let mut n = NewConsultation::new(
        Channel::PartnerApi,
        PartnerRef::Named {
            name: partner.into(),
            kind: PartnerKind::Hospital,
        },
        Category::Discharge,
        subject,
        "退院調整のご相談です（架空）。",
    );
    n.external_id = ext.map(str::to_string);
    n.thread_key = thread.map(str::to_string);
    n
}

fn idem(key: &str, hash: &str) -> Option<(String, String)> {
    Some((key.to_string(), hash.to_string()))
}

/// A mixed batch: new items, a duplicate external id inside the batch, a follow-up joining a
/// thread opened earlier in the batch, an invalid item (empty subject), an Idempotency-Key
/// replay and a conflicting reuse of that key.
fn mixed() -> Vec<Item> {
    vec![
        (item("架空北病院", Some("A-1"), None, "退院調整 1"), None),
        (
            item("架空北病院", Some("A-2"), Some("T-9"), "スレッドの始まり"),
            None,
        ),
        (
            item("架空北病院", Some("A-1"), None, "退院調整 1（再送）"),
            None,
        ),
        (item("架空北病院", None, None, "   "), None),
        (
            item("架空南病院", Some("B-1"), None, "南から"),
            idem("K-1", "h1"),
        ),
        (
            item("架空南病院", Some("B-1"), None, "南から"),
            idem("K-1", "h1"),
        ),
        (
            item("架空南病院", Some("B-2"), None, "別の本文"),
            idem("K-1", "h2"),
        ),
        (
            item("架空北病院", Some("A-3"), Some("T-9"), "スレッドの続き"),
            None,
        ),
        (item("架空西病院", Some("C-1"), None, "西から"), None),
    ]
}

type Answer = Result<(i64, bool, bool), String>;

/// The answers with each consultation id replaced by its rank among the ids answered (1 =
/// the oldest): which answers point at the same consultation, and in which order they were
/// made, must match; the numbers themselves need not — a PostgreSQL sequence is not rolled
/// back, so a batch that was tried twice (see `Desk::intake_batch`) leaves a gap.
fn answers(rs: Vec<renkei_core::Result<renkei_core::model::IntakeOutcome>>) -> Vec<Answer> {
    let mut ids: Vec<i64> = rs
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|o| o.id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let rank = |id: i64| {
        ids.iter()
            .position(|x| *x == id)
            .map_or(0, |p| p as i64 + 1)
    };
    rs.into_iter()
        .map(|r| {
            r.map(|o| (rank(o.id), o.created, o.joined))
                .map_err(|e| e.code().as_str().to_string())
        })
        .collect()
}

/// The stored consultations in id order (subject, partner).
fn snapshot(d: &mut Desk) -> Vec<(String, String)> {
    let f = QueueFilter {
        all: true,
        ..QueueFilter::default()
    };
    let mut rows: Vec<_> = d
        .queue(&f)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.subject, r.partner))
        .collect();
    rows.sort();
    rows.into_iter().map(|(_, s, p)| (s, p)).collect()
}

/// The items of `make` in one batch on `batched` and one by one on `single`: the answers must be
/// the same; returns them.
fn batched_and_one_by_one(
    batched: &mut Desk,
    single: &mut Desk,
    make: impl Fn() -> Vec<Item>,
) -> Vec<Answer> {
    let got = answers(batched.intake_batch(make()));
    let want: Vec<Answer> = answers(
        make()
            .into_iter()
            .map(|(n, k)| single.intake_keyed(n, k.as_ref().map(|(x, y)| (x.as_str(), y.as_str()))))
            .collect(),
    );
    assert_eq!(got, want);
    got
}

#[test]
fn one_batch_answers_and_stores_exactly_what_one_by_one_does() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut batched = desk(a.path());
    let mut single = desk(b.path());
    let got = batched_and_one_by_one(&mut batched, &mut single, mixed);
    // The shape of the answers, so a silent change of both paths is caught too.
    let shape: Vec<_> = got
        .iter()
        .map(|r| match r {
            Ok((_, true, _)) => "created",
            Ok((_, _, true)) => "joined",
            Ok(_) => "existing",
            Err(code) => code.as_str(),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "created",
            "created",
            "existing",
            "invalid_input",
            "created",
            "existing",
            "conflict",
            "joined",
            "created"
        ]
    );
    assert_eq!(snapshot(&mut batched), snapshot(&mut single));
    // The audit chain of the batched store is whole, and nothing of the refused items is there.
    let report = batched.check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.consultations, 4);
    assert_eq!(
        batched.check().unwrap().audit_rows,
        single.check().unwrap().audit_rows
    );
}

#[test]
fn a_batch_of_only_refused_items_stores_nothing_and_the_next_batch_works() {
    let d = tempfile::tempdir().unwrap();
    let mut desk = desk(d.path());
    let refused = vec![
        (item("架空北病院", None, None, ""), None),
        (item("架空北病院", None, None, "\u{0}"), None),
    ];
    let got = answers(desk.intake_batch(refused));
    assert!(
        got.iter()
            .all(|r| r.as_ref().is_err_and(|c| c == "invalid_input")),
        "{got:?}"
    );
    assert_eq!(desk.check().unwrap().consultations, 0);
    let ok = answers(desk.intake_batch(vec![(item("架空北病院", Some("Z"), None, "次"), None)]));
    assert!(matches!(ok[..], [Ok((_, true, false))]), "{ok:?}");
    assert_eq!(desk.check().unwrap().consultations, 1);
    assert!(desk.intake_batch(Vec::<BatchItem>::new()).is_empty());
}

/// The common case under load: every item of the batch is taken in (no refusal), so the batch
/// runs without a savepoint per item. Same answers and store as one by one, every text
/// searchable, and the urgency worked out from the text where the sender gave none.
#[test]
fn a_batch_with_no_refusal_stores_and_indexes_what_one_by_one_does() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut batched = desk(a.path());
    let mut single = desk(b.path());
    let batch = || -> Vec<Item> {
        let mut urgent = item("架空東病院", Some("E-1"), None, "至急のご相談");
        urgent.body = "SpO2 86%、呼吸苦の訴えがあります（架空）。".into();
        vec![
            (
                item("架空東病院", Some("E-0"), Some("T-1"), "北斗ケアの件"),
                None,
            ),
            (urgent, idem("K-9", "h9")),
            (
                item("架空東病院", Some("E-2"), Some("T-1"), "続報です"),
                None,
            ),
            (item("架空西病院", None, None, "すずらん訪問看護"), None),
        ]
    };
    let got = batched_and_one_by_one(&mut batched, &mut single, batch);
    assert!(
        matches!(
            got[..],
            [
                Ok((_, true, _)),
                Ok((_, true, _)),
                Ok((_, _, true)),
                Ok((_, true, _))
            ]
        ),
        "{got:?}"
    );
    assert_eq!(snapshot(&mut batched), snapshot(&mut single));
    for d in [&mut batched, &mut single] {
        // A follow-up's body is indexed with its thread (both bodies are the same here).
        for (q, n) in [
            ("北斗ケア", 1),
            ("退院調整", 2),
            ("すずらん", 1),
            ("呼吸苦", 1),
            ("北斗", 1),
        ] {
            let f = QueueFilter {
                all: true,
                search: Some(q.into()),
                ..QueueFilter::default()
            };
            assert_eq!(d.queue(&f).unwrap().len(), n, "search {q}");
        }
        let f = QueueFilter {
            all: true,
            ..QueueFilter::default()
        };
        let rows = d.queue(&f).unwrap();
        let urgent = rows.iter().find(|r| r.subject == "至急のご相談").unwrap();
        assert_eq!(
            urgent.urgency,
            renkei_core::Urgency::Urgent,
            "{:?}",
            urgent.urgency_reason
        );
        assert!(!urgent.urgency_confirmed);
    }
    assert!(batched.check().unwrap().problems.is_empty());
}

/// What the partner API sends: partners by id. The first try of a batch does not look each one
/// up (the foreign key refuses an unknown id); a batch with an unknown id still answers exactly
/// what one by one does — `not_found` for that item, the others stored.
#[test]
fn a_batch_with_an_unknown_partner_id_answers_what_one_by_one_does() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut batched = desk(a.path());
    let mut single = desk(b.path());
    let mut ids = Vec::new();
    for d in [&mut batched, &mut single] {
        let (p, _key) = d
            .add_partner(
                renkei_core::store::partners::NewPartner {
                    name: "架空中央病院".into(),
                    kind: Some(PartnerKind::Hospital),
                    contact: None,
                    phone: None,
                    channels: vec![Channel::PartnerApi],
                },
                "test",
            )
            .unwrap();
        ids.push(p.id);
    }
    assert_eq!(
        ids[0], ids[1],
        "both stores number their first partner alike"
    );
    let known = ids[0];
    let by_id = |partner: i64, subject: &str| {
        let mut n = item("-", None, None, subject);
        n.partner = PartnerRef::Id(partner);
        (n, None)
    };
    let got = batched_and_one_by_one(&mut batched, &mut single, || {
        vec![
            by_id(known, "一件目"),
            by_id(known + 1_000, "存在しない連携先"),
            by_id(known, "三件目"),
        ]
    });
    assert!(
        matches!(
            &got[..],
            [Ok((_, true, _)), Err(code), Ok((_, true, _))] if code == "not_found"
        ),
        "{got:?}"
    );
    assert_eq!(snapshot(&mut batched), snapshot(&mut single));
    let report = batched.check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.consultations, 2);
}
