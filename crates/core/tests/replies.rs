//! Replies and the transactional outbox (issue 20) through the Desk API: the reply and its
//! outbox entry are stored together or not at all; the way back comes from the message the
//! partner sent; channels with no way back are refused before anything is stored; the
//! sender's steps (claim once, record per attempt, lease expiry → maybe_duplicate, 再送).
//! Real SQLCipher files in temp dirs, frozen domain clock, explicit sender times.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::{Desk, RetryPolicy};
use renkei_core::model::{MessageKind, NewConsultation, PartnerRef};
use renkei_core::outbound::{ChatworkMessageRef, Delivery, OutboxStatus, ReplyRoute, SendOutcome};
use renkei_core::store::{DataDir, Store, StoreKey};
use renkei_core::{Category, Channel, ErrorCode, PartnerKind};
use std::sync::Arc;
use std::time::Duration;

fn t0() -> DateTime<Utc> {
    parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap()
}

fn desk(dir: &std::path::Path, key: &StoreKey) -> Desk {
    Desk::open_with_key(
        &DataDir::new(dir),
        key.clone(),
        Arc::new(FixedClock::new(t0())),
    )
    .unwrap()
}

fn chatwork_item(room: &str, msg: &str, account: &str) -> NewConsultation {
    let mut n = NewConsultation::new(
        Channel::Chatwork,
        PartnerRef::Handle {
            channel: Channel::Chatwork,
            handle: room.into(),
            display_name: String::new(),
        },
        Category::Discharge,
        "退院調整のご相談",
        "来週退院予定の方の訪問診療をお願いできますか",
    );
    n.external_id = Some(msg.into());
    n.thread_key = Some(room.into());
    n.origin = Some(ReplyRoute::ChatworkRoom {
        room_id: room.into(),
        reply_to: Some(ChatworkMessageRef {
            account_id: account.into(),
            message_id: msg.into(),
        }),
    });
    n
}

fn count(dir: &std::path::Path, key: &StoreKey, sql: &str) -> i64 {
    let s = Store::open(&DataDir::new(dir), key.clone()).unwrap();
    s.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_chat_reply_is_stored_with_its_outbox_entry_and_quotes_the_newest_message() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk(d.path(), &key);
    let id = desk.intake(chatwork_item("111", "900", "42")).unwrap().id;
    // a follow-up in the same room joins the thread: the reply answers it
    let follow = desk.intake(chatwork_item("111", "901", "43")).unwrap();
    assert!(follow.joined);
    let out = desk
        .reply(id, "  承知しました。本日中にご連絡します。 ", "田村", false)
        .unwrap();
    assert_eq!(out.delivery, Delivery::Outbox);
    let e = out.outbox.unwrap();
    assert_eq!(e.status, OutboxStatus::Pending);
    assert_eq!(e.channel, Channel::Chatwork);
    assert_eq!(e.destination, "Chatwork room 111");
    assert_eq!(e.message_id, out.message.id);
    assert_eq!(e.attempts, 0);
    // the thread has it as a reply; another process sees both rows
    let shown = desk.show(id, None).unwrap();
    assert!(shown
        .thread
        .iter()
        .any(|m| m.kind == MessageKind::Reply && m.body == "承知しました。本日中にご連絡します。"));
    assert_eq!(count(d.path(), &key, "SELECT count(*) FROM outbox"), 1);
    // the sender gets the text with the [rp] of the newest partner message
    let now = Utc::now();
    let due = desk.outbox_due(now, 10).unwrap();
    assert_eq!(due.len(), 1);
    let job = desk
        .outbox_claim(due[0].id, now, Duration::from_secs(60))
        .unwrap()
        .unwrap();
    assert_eq!(
        job.text,
        "[rp aid=43 to=111-901]\n承知しました。本日中にご連絡します。"
    );
    assert_eq!(job.attempt, 1);
}

#[test]
fn no_way_back_is_refused_before_saving_and_record_only_sends_nothing() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk(d.path(), &key);
    let mut n = NewConsultation::new(
        Channel::Phone,
        PartnerRef::Named {
            name: "北区ケアプランセンター".into(),
            kind: PartnerKind::CareManager,
        },
        Category::Other,
        "折り返し希望",
        "お電話をいただきました",
    );
    n.entered_by = Some("田村".into());
    let id = desk.intake(n).unwrap().id;
    let before = count(d.path(), &key, "SELECT count(*) FROM messages");
    let e = desk.reply(id, "お電話しました", "田村", false).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("--record-only"), "{e}");
    assert_eq!(
        count(d.path(), &key, "SELECT count(*) FROM messages"),
        before
    );
    let out = desk
        .reply(id, "お電話で回答しました", "田村", true)
        .unwrap();
    assert_eq!(out.delivery, Delivery::RecordOnly);
    assert!(out.outbox.is_none());
    assert_eq!(count(d.path(), &key, "SELECT count(*) FROM outbox"), 0);
    assert_eq!(
        count(d.path(), &key, "SELECT count(*) FROM messages"),
        before + 1
    );
    // unknown id, empty text: errors, nothing stored
    assert_eq!(
        desk.reply(99_999, "x", "田村", false).unwrap_err().code(),
        ErrorCode::NotFound
    );
    assert_eq!(
        desk.reply(id, "   ", "田村", true).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        count(d.path(), &key, "SELECT count(*) FROM messages"),
        before + 1
    );
}

#[test]
fn a_partner_api_reply_shows_on_the_partners_page_without_an_outbox_entry() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk(d.path(), &key);
    let mut n = NewConsultation::new(
        Channel::PartnerApi,
        PartnerRef::Named {
            name: "札幌北辰病院 地域連携室".into(),
            kind: PartnerKind::Hospital,
        },
        Category::Discharge,
        "退院調整",
        "本文",
    );
    n.external_id = Some("X-1".into());
    let id = desk.intake(n).unwrap().id;
    let out = desk.reply(id, "受け入れ可能です", "大野", false).unwrap();
    assert_eq!(out.delivery, Delivery::PartnerView);
    assert!(out.outbox.is_none());
    let pid = desk
        .partners()
        .unwrap()
        .into_iter()
        .find(|p| p.name == "札幌北辰病院 地域連携室")
        .unwrap()
        .id;
    let view = desk.partner_view(pid, id).unwrap();
    assert_eq!(view.replies.len(), 1);
    assert_eq!(view.replies[0].body, "受け入れ可能です");
}

#[test]
fn lineworks_routes_follow_the_talk_and_old_items_fall_back_to_the_thread() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk(d.path(), &key);
    let lw = |thread: &str, sender: &str, origin: Option<ReplyRoute>| {
        let mut n = NewConsultation::new(
            Channel::Lineworks,
            PartnerRef::Handle {
                channel: Channel::Lineworks,
                handle: thread.into(),
                display_name: String::new(),
            },
            Category::Other,
            "相談",
            "ご相談があります",
        );
        n.external_id = Some(format!("{thread}-{sender}"));
        n.thread_key = Some(thread.into());
        n.sender.name = sender.into();
        n.origin = origin;
        n
    };
    let user = desk
        .intake(lw(
            "user-1",
            "user-1",
            Some(ReplyRoute::LineworksUser {
                user_id: "user-1".into(),
            }),
        ))
        .unwrap()
        .id;
    // taken in before routes were kept: a 1:1 talk (thread = sender) and a room
    let old_user = desk.intake(lw("user-2", "user-2", None)).unwrap().id;
    let old_room = desk.intake(lw("room-9", "user-3", None)).unwrap().id;
    let dest = |desk: &mut Desk, id| {
        desk.reply(id, "承知しました", "田村", false)
            .unwrap()
            .outbox
            .unwrap()
            .destination
    };
    assert_eq!(dest(&mut desk, user), "LINE WORKS user user-1");
    assert_eq!(dest(&mut desk, old_user), "LINE WORKS user user-2");
    assert_eq!(dest(&mut desk, old_room), "LINE WORKS channel room-9");
}

#[test]
fn the_sender_claims_once_records_per_attempt_and_a_dead_sender_leaves_a_marked_duplicate() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk(d.path(), &key);
    let mut other = Desk::open_with_key(
        &DataDir::new(d.path()),
        key.clone(),
        Arc::new(FixedClock::new(t0())),
    )
    .unwrap();
    let id = desk.intake(chatwork_item("5", "1", "2")).unwrap().id;
    let entry = desk
        .reply(id, "返信", "田村", false)
        .unwrap()
        .outbox
        .unwrap();
    let policy = RetryPolicy {
        base: Duration::from_secs(10),
        max: Duration::from_secs(60),
    };
    let now = Utc::now();
    let lease = Duration::from_secs(30);
    let job = desk.outbox_claim(entry.id, now, lease).unwrap().unwrap();
    // a second sender (another process on the same store) cannot claim it too
    assert!(other.outbox_claim(entry.id, now, lease).unwrap().is_none());
    assert!(other.outbox_due(now, 10).unwrap().is_empty());
    // 500: pending again, due after the backoff
    let retry = SendOutcome::Retry {
        error: "Chatwork answered 500".into(),
        after: Duration::ZERO,
        unknown: false,
    };
    assert!(desk.outbox_record(&job, &retry, policy, now).unwrap());
    let e = &desk.outbox(Some(id)).unwrap()[0];
    assert_eq!(e.status, OutboxStatus::Pending);
    assert_eq!(e.last_error.as_deref(), Some("Chatwork answered 500"));
    assert!(!e.maybe_duplicate);
    assert!(desk.outbox_due(now, 10).unwrap().is_empty(), "backoff");
    let later = now + chrono::Duration::seconds(11);
    let job2 = desk.outbox_claim(entry.id, later, lease).unwrap().unwrap();
    assert_eq!(job2.attempt, 2);
    // the first attempt's late answer cannot overwrite the second's
    let sent = SendOutcome::Sent {
        remote_id: Some("m-77".into()),
    };
    assert!(!desk.outbox_record(&job, &sent, policy, later).unwrap());
    // the sender dies here; after the lease the entry is due again, marked
    let after_lease = later + chrono::Duration::seconds(31);
    assert_eq!(
        desk.outbox_recover(later).unwrap(),
        0,
        "lease still running"
    );
    assert_eq!(desk.outbox_recover(after_lease).unwrap(), 1);
    let e = &desk.outbox(Some(id)).unwrap()[0];
    assert_eq!(e.status, OutboxStatus::Pending);
    assert!(e.maybe_duplicate);
    let job3 = desk
        .outbox_claim(entry.id, after_lease, lease)
        .unwrap()
        .unwrap();
    assert!(desk
        .outbox_record(&job3, &sent, policy, after_lease)
        .unwrap());
    let e = &desk.outbox(Some(id)).unwrap()[0];
    assert_eq!(e.status, OutboxStatus::Sent);
    assert_eq!(e.remote_id.as_deref(), Some("m-77"));
    assert_eq!(e.attempts, 3);
    assert!(e.sent_at.is_some());
    assert!(
        desk.outbox_resend(entry.id, "田村").is_err(),
        "sent is final"
    );
}

#[test]
fn a_refused_reply_fails_with_the_providers_message_and_can_be_sent_again() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk(d.path(), &key);
    let id = desk.intake(chatwork_item("5", "1", "2")).unwrap().id;
    let entry = desk
        .reply(id, "返信", "田村", false)
        .unwrap()
        .outbox
        .unwrap();
    let now = Utc::now();
    let job = desk
        .outbox_claim(entry.id, now, Duration::from_secs(30))
        .unwrap()
        .unwrap();
    let failed = SendOutcome::Failed {
        error: "Chatwork refused the reply (400): Invalid room_id".into(),
    };
    desk.outbox_record(&job, &failed, RetryPolicy::default(), now)
        .unwrap();
    let e = &desk.outbox(None).unwrap()[0];
    assert_eq!(e.status, OutboxStatus::Failed);
    assert!(e.last_error.as_deref().unwrap().contains("Invalid room_id"));
    assert!(desk.outbox_due(now, 10).unwrap().is_empty());
    let again = desk.outbox_resend(entry.id, "田村").unwrap();
    assert_eq!(again.status, OutboxStatus::Pending);
    assert_eq!(desk.outbox_due(Utc::now(), 10).unwrap().len(), 1);
    let audit = desk
        .audit(&renkei_core::store::audit::AuditFilter::default())
        .unwrap();
    for action in ["outbox.queue", "outbox.failed", "outbox.resend"] {
        assert!(
            audit.iter().any(|a| a.action == action),
            "{action} not audited"
        );
    }
}

#[test]
fn personal_data_in_an_outgoing_reply_needs_a_confirmation_which_is_audited() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk(d.path(), &key);
    let id = desk.intake(chatwork_item("5", "1", "2")).unwrap().id;
    let text = "ご家族の携帯 090-1234-5678 にお電話ください";
    let before = count(d.path(), &key, "SELECT count(*) FROM messages");
    let e = desk.reply(id, text, "田村", false).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("phone"), "{e}");
    assert!(
        !e.to_string().contains("090"),
        "the error must not echo the data: {e}"
    );
    assert_eq!(
        count(d.path(), &key, "SELECT count(*) FROM messages"),
        before
    );
    assert_eq!(count(d.path(), &key, "SELECT count(*) FROM outbox"), 0);
    let out = desk.reply_checked(id, text, "田村", false, true).unwrap();
    assert!(out.outbox.is_some());
    let audit = desk
        .audit(&renkei_core::store::audit::AuditFilter::default())
        .unwrap();
    let confirmed = audit
        .iter()
        .find(|a| a.action == "reply.pii_confirmed")
        .expect("the confirmation is audited");
    assert_eq!(confirmed.actor, "田村");
    assert_eq!(confirmed.detail, "phone");
}

#[test]
fn a_chat_item_whose_talk_is_unknown_is_record_only_and_says_so() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let mut desk = desk(d.path(), &key);
    // a LINE WORKS item without a thread key or route (as the demo data has)
    let n = NewConsultation::new(
        Channel::Lineworks,
        PartnerRef::Named {
            name: "北区第2地域包括支援センター".into(),
            kind: PartnerKind::Houkatsu,
        },
        Category::CommunityConcern,
        "ご相談",
        "本文",
    );
    let id = desk.intake(n).unwrap().id;
    assert_eq!(
        desk.show(id, None).unwrap().reply_delivery,
        Delivery::RecordOnly
    );
    let e = desk.reply(id, "承知しました", "田村", false).unwrap_err();
    assert!(e.to_string().contains("--record-only"), "{e}");
    let out = desk
        .reply(id, "LINE WORKS で直接回答済み", "田村", true)
        .unwrap();
    assert_eq!(out.delivery, Delivery::RecordOnly);
    assert!(out.outbox.is_none());
    // a chat item with its room known: the composer says it will be sent
    let cw = desk.intake(chatwork_item("77", "1", "2")).unwrap().id;
    let shown = desk.show(cw, None).unwrap();
    assert_eq!(shown.reply_delivery, Delivery::Outbox);
    let v = serde_json::to_value(&shown).unwrap();
    assert_eq!(v["reply_delivery"], "outbox");
}
