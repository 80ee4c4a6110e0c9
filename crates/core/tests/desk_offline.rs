//! Issue 19, the offline desk, in the core: keyed staff actions at the hub (`Desk::keyed`, the
//! `desk_requests` row written in the action's own transaction — on SQLite and, under
//! `make unit-pg`, on PostgreSQL) and a connected desk's own tables (`hub_cache`, `hub_outbox`,
//! desk-local SQLite only).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::{Desk, Keyed};
use renkei_core::model::MessageKind;
use renkei_core::store::audit::AuditFilter;
use renkei_core::store::desk_requests::RequestKey;
use renkei_core::store::hub_local::{thread_key, QUEUE_KEY};
use renkei_core::store::staff::Role;
use renkei_core::store::{DataDir, StoreKey};
use renkei_core::{Error, Status};

use serde_json::json;
use std::path::Path;
use std::sync::Arc;

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap(),
    ))
}

fn open(dir: DataDir, key: &StoreKey, clock: Arc<FixedClock>) -> Desk {
    Desk::open_with_key(&dir, key.clone(), clock).unwrap()
}

fn hub(dir: &Path, key: &StoreKey) -> Desk {
    open(common::backends::data_dir(dir), key, clock())
}

fn item(desk: &mut Desk, ext: &str) -> i64 {
    common::hospital_item(
        desk,
        ext,
        "架空 病院",
        "退院調整（架空）",
        "来週の退院について",
    )
}

fn notes(desk: &mut Desk, id: i64, text: &str) -> usize {
    desk.show(id, None)
        .unwrap()
        .thread
        .iter()
        .filter(|m| m.kind == MessageKind::Note && m.body == text)
        .count()
}

#[test]
fn a_keyed_note_is_applied_once_also_after_the_hub_store_is_reopened() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = hub(d.path(), &key);
    desk.add_staff("田村", Role::Clerk, Some("5678"), "setup")
        .unwrap();
    let id = item(&mut desk, "K-1");
    let text = "折り返し済み（架空）";
    let body = json!({"kind": "note", "body": text});
    let k = || RequestKey::new("desk-k1", "田村", "messages", id, &body);

    let first = desk
        .keyed(k(), |d| d.add_message(id, MessageKind::Note, text, "田村"))
        .unwrap();
    assert!(matches!(first, Keyed::Done(_)), "{first:?}");
    let audit = common::audit_rows(&desk);

    // The answer was lost: the desk sends the same key again → a replay, nothing written.
    let mut ran = false;
    let again = desk
        .keyed(k(), |d| {
            ran = true;
            d.add_message(id, MessageKind::Note, text, "田村")
        })
        .unwrap();
    assert_eq!(
        again,
        Keyed::Replayed {
            consultation_id: id
        }
    );
    assert!(!ran, "a replay does not run the action");
    assert_eq!(notes(&mut desk, id, text), 1);
    assert_eq!(common::audit_rows(&desk), audit);

    // The hub restarted (the store opened again): still a replay.
    drop(desk);
    let mut desk = hub(d.path(), &key);
    let again = desk
        .keyed(k(), |d| d.add_message(id, MessageKind::Note, text, "田村"))
        .unwrap();
    assert_eq!(
        again,
        Keyed::Replayed {
            consultation_id: id
        }
    );
    assert_eq!(notes(&mut desk, id, text), 1);

    // The same key for another request, or from another person: refused, nothing stored.
    let other = json!({"kind": "note", "body": "別の内容"});
    let e = desk
        .keyed(
            RequestKey::new("desk-k1", "田村", "messages", id, &other),
            |d| d.add_message(id, MessageKind::Note, "別の内容", "田村"),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    assert!(e.to_string().contains("desk-k1"), "{e}");
    let e = desk
        .keyed(
            RequestKey::new("desk-k1", "大野", "messages", id, &body),
            |d| d.add_message(id, MessageKind::Note, text, "大野"),
        )
        .unwrap_err();
    assert!(matches!(e, Error::Conflict(_)), "{e:?}");
    assert_eq!(notes(&mut desk, id, "別の内容"), 0);
    assert_eq!(notes(&mut desk, id, text), 1);
}

#[test]
fn a_refused_keyed_action_records_no_key_and_stays_refused() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = hub(d.path(), &key);
    for (name, role, pin) in [
        ("大野", Role::Doctor, "1234"),
        ("田村", Role::Clerk, "5678"),
    ] {
        desk.add_staff(name, role, Some(pin), "setup").unwrap();
    }
    let id = item(&mut desk, "K-2");
    let seen = desk.queue_row(id).unwrap().version;
    // 大野 takes it at the hub; 田村's offline take (made on the old version) is replayed.
    desk.take(id, seen, "大野").unwrap();
    let body = json!({"version": seen});
    for _ in 0..2 {
        let e = desk
            .keyed(
                RequestKey::new("desk-k2", "田村", "take", id, &body),
                |d| d.take(id, seen, "田村"),
            )
            .unwrap_err();
        match &e {
            Error::Taken { owner } => assert_eq!(owner, "大野"),
            other => panic!("expected Taken, got {other:?}"),
        }
    }
    assert_eq!(desk.queue_row(id).unwrap().owner.as_deref(), Some("大野"));

    // 大野 resolved it meanwhile: 田村's offline status change is refused as a transition, twice.
    desk.set_status(id, Status::Resolved, "大野").unwrap();
    let body = json!({"status": "acknowledged"});
    for _ in 0..2 {
        let e = desk
            .keyed(
                RequestKey::new("desk-k3", "田村", "status", id, &body),
                |d| d.set_status(id, Status::Acknowledged, "田村"),
            )
            .unwrap_err();
        assert!(matches!(e, Error::InvalidTransition { .. }), "{e:?}");
    }
    assert_eq!(desk.queue_row(id).unwrap().status, Status::Resolved);

    // A keyed status change that is valid: applied once, one status event.
    let body = json!({"status": "in_progress"});
    let status_events = |desk: &Desk| {
        desk.audit(&AuditFilter {
            limit: Some(100_000),
            ..Default::default()
        })
        .unwrap()
        .iter()
        .filter(|e| e.action == "consultation.status")
        .count()
    };
    let before = status_events(&desk);
    for round in 0..2 {
        let r = desk
            .keyed(
                RequestKey::new("desk-k4", "田村", "status", id, &body),
                |d| d.set_status(id, Status::InProgress, "田村"),
            )
            .unwrap();
        assert_eq!(matches!(r, Keyed::Replayed { .. }), round == 1, "{r:?}");
    }
    assert_eq!(status_events(&desk), before + 1);
}

#[test]
fn the_kept_queue_and_threads_survive_a_restart_and_go_with_a_disconnect() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let c = clock();
    let dir = || common::backends::sqlite_dir(d.path());
    let mut desk = open(dir(), &key, c.clone());
    assert_eq!(desk.hub_cache_get(QUEUE_KEY).unwrap(), None);
    desk.hub_cache_put(QUEUE_KEY, r#"[{"id":1,"version":1}]"#)
        .unwrap();
    c.advance(chrono::Duration::minutes(5));
    desk.hub_cache_put(QUEUE_KEY, r#"[{"id":1,"version":2}]"#)
        .unwrap();
    desk.hub_cache_put(&thread_key(1), r#"{"id":1,"thread":[]}"#)
        .unwrap();
    let synced = renkei_core::clock::Clock::now(&*c);

    // The app restarts while the hub is unreachable: the copies are still there (encrypted
    // store, same key), with when they were read.
    drop(desk);
    let mut desk = open(dir(), &key, c.clone());
    let (q, at) = desk.hub_cache_get(QUEUE_KEY).unwrap().unwrap();
    assert_eq!((q.as_str(), at), (r#"[{"id":1,"version":2}]"#, synced));
    assert!(desk.hub_cache_get(&thread_key(1)).unwrap().is_some());
    assert_eq!(desk.hub_cache_get(&thread_key(2)).unwrap(), None);

    // Not readable without the store key.
    assert!(Desk::open_with_key(&dir(), StoreKey::random(), c.clone()).is_err());

    // 切断: the copies go, what staff did offline stays.
    desk.hub_outbox_add(
        "田村",
        1,
        "note",
        &json!({"kind": "note", "body": "メモ（架空）"}),
    )
    .unwrap();
    desk.hub_cache_clear().unwrap();
    assert_eq!(desk.hub_cache_get(QUEUE_KEY).unwrap(), None);
    assert_eq!(desk.hub_outbox().unwrap().len(), 1);
}

/// The same answer read again within a few minutes is not written again (no commit per
/// unchanged read); a changed answer is, at once; an unchanged one again after the window, so
/// the kept time is never more than that behind the last read.
#[test]
fn an_unchanged_answer_is_not_kept_again_within_minutes() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let c = clock();
    let mut desk = open(common::backends::sqlite_dir(d.path()), &key, c.clone());
    let body = r#"[{"id":1,"version":1}]"#;
    desk.hub_cache_put(QUEUE_KEY, body).unwrap();
    let first = renkei_core::clock::Clock::now(&*c);
    let window = renkei_core::desk::KEPT_FRESH_MINUTES;
    c.advance(chrono::Duration::minutes(window - 1));
    desk.hub_cache_put(QUEUE_KEY, body).unwrap();
    assert_eq!(desk.hub_cache_get(QUEUE_KEY).unwrap().unwrap().1, first);
    let changed = r#"[{"id":1,"version":2}]"#;
    desk.hub_cache_put(QUEUE_KEY, changed).unwrap();
    let now = renkei_core::clock::Clock::now(&*c);
    assert_eq!(
        desk.hub_cache_get(QUEUE_KEY).unwrap().unwrap(),
        (changed.to_string(), now)
    );
    c.advance(chrono::Duration::minutes(window));
    desk.hub_cache_put(QUEUE_KEY, changed).unwrap();
    let later = renkei_core::clock::Clock::now(&*c);
    assert_eq!(desk.hub_cache_get(QUEUE_KEY).unwrap().unwrap().1, later);
}

#[test]
fn the_outbox_keeps_order_keys_and_conflicts_until_dismissed() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let c = clock();
    let mut desk = open(common::backends::sqlite_dir(d.path()), &key, c.clone());
    let take = desk
        .hub_outbox_add("田村", 7, "take", &json!({"version": 3}))
        .unwrap();
    c.advance(chrono::Duration::seconds(30));
    let note_text = "オフライン中のメモ（架空）";
    let note = desk
        .hub_outbox_add(
            "田村",
            7,
            "note",
            &json!({"kind": "note", "body": note_text}),
        )
        .unwrap();
    let status = desk
        .hub_outbox_add("大野", 8, "status", &json!({"status": "resolved"}))
        .unwrap();
    // A reply or an assignment cannot wait: refused, nothing queued.
    let e = desk
        .hub_outbox_add("田村", 7, "reply", &json!({"body": "x"}))
        .unwrap_err();
    assert!(e.to_string().contains("only take, status and note"), "{e}");

    let open_items = desk.hub_outbox().unwrap();
    assert_eq!(
        open_items.iter().map(|i| i.id).collect::<Vec<_>>(),
        [take.id, note.id, status.id],
        "oldest first"
    );
    assert!(open_items.iter().all(|i| i.state == "pending"));
    assert_eq!(
        open_items[0].created_at + chrono::Duration::seconds(30),
        open_items[1].created_at
    );
    assert_eq!(
        (open_items[2].staff.as_str(), open_items[0].staff.as_str()),
        ("大野", "田村")
    );
    // Every entry has its own key.
    let mut keys: Vec<_> = open_items.iter().map(|i| i.key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k.starts_with("desk-") && k.len() > 20));

    // The take was refused (someone else took it): a conflict with the hub's words, the note
    // was applied, the status change is still waiting.
    let words = "大野さんが先に担当していました";
    desk.hub_outbox_conflict(take.id, words).unwrap();
    desk.hub_outbox_done(note.id).unwrap();
    let open_items = desk.hub_outbox().unwrap();
    assert_eq!(open_items.len(), 2);
    assert_eq!(
        (
            open_items[0].state.as_str(),
            open_items[0].problem.as_deref()
        ),
        ("conflict", Some(words))
    );
    assert_eq!(open_items[1].state, "pending");

    // A refused note keeps its text until a person closes it.
    let n2 = desk
        .hub_outbox_add(
            "田村",
            9,
            "note",
            &json!({"kind": "note", "body": note_text}),
        )
        .unwrap();
    desk.hub_outbox_conflict(n2.id, "この相談は削除されました")
        .unwrap();
    let kept = desk.hub_outbox().unwrap();
    let kept = kept.iter().find(|i| i.id == n2.id).unwrap();
    assert!(kept.body.contains(note_text));

    // Only a conflict can be dismissed; a pending entry is not dropped by a click.
    let e = desk.hub_outbox_dismiss(status.id).unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    desk.hub_outbox_dismiss(take.id).unwrap();
    assert!(desk.hub_outbox_dismiss(take.id).is_err(), "once");
    assert_eq!(
        desk.hub_outbox()
            .unwrap()
            .iter()
            .map(|i| i.id)
            .collect::<Vec<_>>(),
        [status.id, n2.id]
    );
}

#[test]
fn offline_sign_in_works_only_for_who_signed_in_here_with_the_same_pin() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let c = clock();
    let dir = || common::backends::sqlite_dir(d.path());
    let mut desk = open(dir(), &key, c.clone());
    let tamura = json!({"id": 2, "name": "田村", "role": "clerk"});
    desk.hub_pin_keep(&tamura, "5678").unwrap();
    // What is kept is a verifier, not the PIN.
    let (kept, _) = desk
        .hub_cache_get(&renkei_core::store::hub_local::pin_key("田村"))
        .unwrap()
        .unwrap();
    assert!(!kept.contains("5678") && kept.contains("$argon2"), "{kept}");

    // The app restarts while the hub is unreachable.
    drop(desk);
    let mut desk = open(dir(), &key, c.clone());
    assert_eq!(desk.hub_pin_people().unwrap(), vec![tamura.clone()]);
    assert_eq!(desk.hub_pin_check("田村", "5678").unwrap(), tamura);
    // Someone who never signed in on this PC: refused, and told why.
    let e = desk.hub_pin_check("大野", "1234").unwrap_err();
    assert!(matches!(e, Error::Unauthorized(_)), "{e:?}");
    assert!(e.to_string().contains("once the network"), "{e}");

    // Wrong PINs: after OFFLINE_PIN_TRIES in a row even the right one waits for the hub.
    let tries = renkei_core::desk::OFFLINE_PIN_TRIES;
    for _ in 0..tries - 1 {
        assert!(matches!(
            desk.hub_pin_check("田村", "0000").unwrap_err(),
            Error::Unauthorized(_)
        ));
    }
    desk.hub_pin_check("田村", "5678").unwrap(); // the right one resets the count
    for _ in 0..tries {
        assert!(matches!(
            desk.hub_pin_check("田村", "0000").unwrap_err(),
            Error::Unauthorized(_)
        ));
    }
    let e = desk.hub_pin_check("田村", "5678").unwrap_err();
    assert!(matches!(e, Error::LockedOut(_)), "{e:?}");
    // A sign-in at the hub keeps a fresh verifier (a changed PIN counts from then on).
    desk.hub_pin_keep(&tamura, "2468").unwrap();
    assert!(desk.hub_pin_check("田村", "5678").is_err());
    assert_eq!(desk.hub_pin_check("田村", "2468").unwrap(), tamura);
    // 切断 forgets them.
    desk.hub_cache_clear().unwrap();
    assert!(desk.hub_pin_people().unwrap().is_empty());
}
