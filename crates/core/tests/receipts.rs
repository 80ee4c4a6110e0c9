//! The automatic messages of issue 20 through the Desk API: the receipt written in the take's
//! own transaction (once, per-partner switch, no way back → nothing), and the on-call message
//! for urgent items nobody took (escalation time on a frozen/advanced clock, at most once even
//! with two processes, logged with its reason). Real SQLCipher files in temp dirs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Duration as Cd, Utc};
use renkei_core::clock::{parse_rfc3339, FixedClock};
use renkei_core::desk::Desk;
use renkei_core::model::{MessageKind, NewConsultation, PartnerRef};
use renkei_core::outbound::{ChatworkMessageRef, OutboxKind, OutboxStatus, ReplyRoute};
use renkei_core::store::{DataDir, Store, StoreKey};
use renkei_core::{Category, Channel, PartnerKind, Status, Urgency};
use std::sync::Arc;
use std::time::Duration;

fn at(s: &str) -> DateTime<Utc> {
    parse_rfc3339(s).unwrap()
}

fn open(dir: &std::path::Path, key: &StoreKey, clock: Arc<FixedClock>) -> Desk {
    Desk::open_with_key(&DataDir::new(dir), key.clone(), clock).unwrap()
}

fn chatwork_item(room: &str, msg: &str, urgency: Option<Urgency>) -> NewConsultation {
    let mut n = NewConsultation::new(
        Channel::Chatwork,
        PartnerRef::Handle {
            channel: Channel::Chatwork,
            handle: room.into(),
            display_name: String::new(),
        },
        Category::NewHomeVisit,
        "訪問診療のご相談",
        "ご自宅での療養を希望されている方の訪問診療をお願いできますか",
    );
    n.external_id = Some(msg.into());
    n.thread_key = Some(room.into());
    n.urgency = urgency;
    n.origin = Some(ReplyRoute::ChatworkRoom {
        room_id: room.into(),
        reply_to: Some(ChatworkMessageRef {
            account_id: "42".into(),
            message_id: msg.into(),
        }),
    });
    n
}

fn count(dir: &std::path::Path, key: &StoreKey, sql: &str) -> i64 {
    let s = Store::open(&DataDir::new(dir), key.clone()).unwrap();
    s.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

/// The only partner of the store (the Chatwork room's).
fn partner_id(desk: &Desk) -> i64 {
    let ps = desk.partners().unwrap();
    assert_eq!(ps.len(), 1, "{ps:?}");
    ps[0].id
}

#[test]
fn taking_an_item_queues_the_receipt_once_in_the_same_transaction() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    // Wednesday 2 December 2026, 10:05.
    let clock = Arc::new(FixedClock::new(at("2026-12-02T10:05:00+09:00")));
    let mut desk = open(d.path(), &key, clock.clone());
    let id = desk.intake(chatwork_item("111", "900", None)).unwrap().id;
    desk.set_partner_receipt(partner_id(&desk), true, "院長")
        .unwrap();
    assert!(desk.partners().unwrap()[0].receipt);

    let row = desk.ack(id, "大野").unwrap();
    let promise = renkei_core::receipt::promised_time_ja(
        &desk.settings().calendar,
        row.due_at,
        renkei_core::clock::Clock::now(&*clock),
    );
    let expected = format!("受け付けました。担当：大野。{promise}までにご連絡します。");
    // The thread has it as the automatic receipt, the outbox as a receipt entry for it.
    let shown = desk.show(id, None).unwrap();
    let receipts: Vec<_> = shown
        .thread
        .iter()
        .filter(|m| m.kind == MessageKind::Receipt)
        .collect();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].body, expected);
    assert_eq!(shown.deliveries.len(), 1);
    // Nobody writes a receipt by hand.
    assert!(desk
        .add_message(id, MessageKind::Receipt, "受け付けました", "田村")
        .is_err());
    let e = &shown.deliveries[0];
    assert_eq!(e.kind, OutboxKind::Receipt);
    assert_eq!(e.message_id, receipts[0].id);
    assert_eq!(e.destination, "Chatwork room 111");
    // The sender gets it like a reply (quoting the partner's message).
    let now = Utc::now();
    let due = desk.outbox_due(now, 10).unwrap();
    let job = desk
        .outbox_claim(due[0].id, now, Duration::from_secs(60))
        .unwrap()
        .unwrap();
    assert_eq!(job.text, format!("[rp aid=42 to=111-900]\n{expected}"));

    // Later changes send nothing more: another ack, in progress, waiting, reassigning.
    desk.ack(id, "田村").unwrap();
    desk.set_status(id, Status::InProgress, "大野").unwrap();
    desk.set_status(id, Status::WaitingPartner, "大野").unwrap();
    desk.assign(id, Some("田村"), "大野").unwrap();
    assert_eq!(count(d.path(), &key, "SELECT count(*) FROM outbox"), 1);
    assert_eq!(
        count(
            d.path(),
            &key,
            "SELECT count(*) FROM messages WHERE kind = 'receipt'"
        ),
        1
    );
    // Audited with the taker.
    let audit = desk.audit(&Default::default()).unwrap();
    assert!(audit
        .iter()
        .any(|a| a.action == "message.receipt" && a.actor == "大野"));
    assert!(audit
        .iter()
        .any(|a| a.action == "partner.receipt" && a.detail == "on"));
}

#[test]
fn the_receipt_is_off_by_default_and_a_status_change_or_assignment_is_a_take_too() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let clock = Arc::new(FixedClock::new(at("2026-12-02T10:05:00+09:00")));
    let mut desk = open(d.path(), &key, clock);
    let a = desk.intake(chatwork_item("111", "900", None)).unwrap().id;
    // Off (the default): taking sends nothing.
    desk.ack(a, "大野").unwrap();
    assert_eq!(count(d.path(), &key, "SELECT count(*) FROM outbox"), 0);
    assert_eq!(
        count(
            d.path(),
            &key,
            "SELECT count(*) FROM messages WHERE kind = 'receipt'"
        ),
        0
    );
    // Switched on: a status change out of `new` is a take…
    desk.set_partner_receipt(partner_id(&desk), true, "院長")
        .unwrap();
    let b = desk.intake(chatwork_item("222", "901", None)).unwrap().id;
    let b_partner = desk.show(b, None).unwrap().row.partner;
    // (room 222 is another partner: switch it on too)
    let pid = desk
        .partners()
        .unwrap()
        .into_iter()
        .find(|p| p.name == b_partner)
        .unwrap()
        .id;
    desk.set_partner_receipt(pid, true, "院長").unwrap();
    desk.set_status(b, Status::InProgress, "田村").unwrap();
    let c = desk.intake(chatwork_item("222", "902", None)).unwrap();
    assert!(
        c.joined,
        "a second message in room 222 joins the open thread"
    );
    // …and so is giving an owner to a new item (the receipt names the owner).
    desk.set_status(b, Status::Resolved, "田村").unwrap();
    let c = desk.intake(chatwork_item("222", "903", None)).unwrap().id;
    desk.assign(c, Some("大野"), "田村").unwrap();
    let texts: Vec<String> = desk
        .outbox(None)
        .unwrap()
        .iter()
        .map(|e| (e.consultation_id, e.kind))
        .map(|(cid, k)| format!("{cid}:{}", k.as_str()))
        .collect();
    assert_eq!(texts, vec![format!("{c}:receipt"), format!("{b}:receipt")]);
    let c_receipt = desk
        .show(c, None)
        .unwrap()
        .thread
        .into_iter()
        .find(|m| m.kind == MessageKind::Receipt)
        .unwrap();
    assert!(c_receipt.body.contains("担当：大野"), "{}", c_receipt.body);
}

#[test]
fn no_way_back_queues_nothing_and_the_take_succeeds() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let clock = Arc::new(FixedClock::new(at("2026-12-02T10:05:00+09:00")));
    let mut desk = open(d.path(), &key, clock);
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
    desk.set_partner_receipt(partner_id(&desk), true, "院長")
        .unwrap();
    let row = desk.ack(id, "大野").unwrap();
    assert_eq!(row.status, Status::Acknowledged);
    assert_eq!(count(d.path(), &key, "SELECT count(*) FROM outbox"), 0);
    assert_eq!(
        count(
            d.path(),
            &key,
            "SELECT count(*) FROM messages WHERE kind = 'receipt'"
        ),
        0
    );
}

#[test]
fn friday_evening_promises_monday() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    // Friday 4 December 2026, 18:10: the clinic has closed for the weekend.
    let clock = Arc::new(FixedClock::new(at("2026-12-04T18:10:00+09:00")));
    let mut desk = open(d.path(), &key, clock);
    let id = desk
        .intake(chatwork_item("111", "900", Some(Urgency::Normal)))
        .unwrap()
        .id;
    desk.set_partner_receipt(partner_id(&desk), true, "院長")
        .unwrap();
    desk.ack(id, "大野").unwrap();
    let body = desk
        .show(id, None)
        .unwrap()
        .thread
        .into_iter()
        .find(|m| m.kind == MessageKind::Receipt)
        .unwrap()
        .body;
    assert!(
        body.contains("12月7日(月)") || body.contains("12月8日(火)"),
        "{body}"
    );
    assert!(body.starts_with("受け付けました。担当：大野。"), "{body}");
}

#[test]
fn a_template_with_a_personal_name_is_withheld_not_sent() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let clock = Arc::new(FixedClock::new(at("2026-12-02T10:05:00+09:00")));
    let mut desk = open(d.path(), &key, clock);
    let mut s = desk.settings().clone();
    s.replies.receipt_template = "受け付けました。お問い合わせは 090-1234-5678 へ。".into();
    desk.save_settings(s, "院長").unwrap();
    let id = desk.intake(chatwork_item("111", "900", None)).unwrap().id;
    desk.set_partner_receipt(partner_id(&desk), true, "院長")
        .unwrap();
    desk.ack(id, "大野").unwrap();
    assert_eq!(count(d.path(), &key, "SELECT count(*) FROM outbox"), 0);
    let audit = desk.audit(&Default::default()).unwrap();
    let w = audit
        .iter()
        .find(|a| a.action == "receipt.withheld")
        .expect("withheld is audited");
    assert!(!w.detail.contains("090"), "kinds only: {}", w.detail);
}

#[test]
fn settings_refuse_an_unknown_placeholder_in_japanese() {
    let mut s = renkei_core::settings::Settings::default();
    s.replies.receipt_template = "担当：{担当者}、{期限}まで".into();
    let p = s.validate().unwrap_err();
    assert!(
        p.text("ja").contains("{担当者} は使えません"),
        "{}",
        p.text("ja")
    );
    s.replies.receipt_template = renkei_core::receipt::DEFAULT_RECEIPT_TEMPLATE.into();
    s.replies.oncall_lineworks_user = "on call".into();
    assert_eq!(s.validate().unwrap_err().key, "oncall_user");
}

fn with_oncall(desk: &mut Desk, user: &str) {
    let mut s = desk.settings().clone();
    s.replies.oncall_lineworks_user = user.into();
    s.notifications.escalate_after_minutes = Some(15);
    desk.save_settings(s, "院長").unwrap();
}

#[test]
fn an_untaken_urgent_item_goes_to_the_oncall_doctor_once_after_the_escalation_time() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let t0 = at("2026-12-02T21:00:00+09:00");
    let clock = Arc::new(FixedClock::new(t0));
    let mut desk = open(d.path(), &key, clock.clone());
    // Off while no on-call user is set.
    let id = desk
        .intake(chatwork_item("111", "900", Some(Urgency::Urgent)))
        .unwrap()
        .id;
    let taken = desk
        .intake(chatwork_item("222", "901", Some(Urgency::Urgent)))
        .unwrap()
        .id;
    let normal = desk
        .intake(chatwork_item("333", "902", Some(Urgency::Normal)))
        .unwrap()
        .id;
    clock.advance(Cd::minutes(30));
    assert!(desk.escalate_untaken_urgent().unwrap().is_empty());
    clock.set(t0);
    with_oncall(&mut desk, "doctor-on-call");
    desk.ack(taken, "大野").unwrap();
    // 14 minutes: not yet.
    clock.advance(Cd::minutes(14));
    assert!(desk.escalate_untaken_urgent().unwrap().is_empty());
    // 15 minutes: the untaken urgent item, not the taken one, not the normal one.
    clock.advance(Cd::minutes(1));
    assert_eq!(desk.escalate_untaken_urgent().unwrap(), vec![id]);
    // Never again.
    clock.advance(Cd::minutes(30));
    assert!(desk.escalate_untaken_urgent().unwrap().is_empty());
    let entries = desk.outbox(None).unwrap();
    assert_eq!(entries.len(), 1);
    let e = &entries[0];
    assert_eq!((e.consultation_id, e.kind), (id, OutboxKind::Oncall));
    assert_eq!(e.destination, "LINE WORKS user doctor-on-call");
    assert_eq!(e.status, OutboxStatus::Pending);
    // What the doctor gets: short, patient-free, with the deep link.
    let now = Utc::now();
    let job = desk
        .outbox_claim(e.id, now, Duration::from_secs(60))
        .unwrap()
        .unwrap();
    assert_eq!(
        job.route,
        ReplyRoute::LineworksUser {
            user_id: "doctor-on-call".into()
        }
    );
    assert!(
        job.text.contains(&format!("renkei://consultation/{id}")),
        "{}",
        job.text
    );
    assert!(job.text.contains("15分"), "{}", job.text);
    assert!(job.text.contains("訪問診療の新規相談"), "{}", job.text);
    assert!(!job.text.contains("療養"), "no message text: {}", job.text);
    assert!(renkei_core::pii::scan(&job.text).is_empty());
    // Logged in the notification history with its reason; the thread says so.
    let log = desk.notifications(10).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].ids, vec![id.to_string()]);
    assert!(
        log[0].reason.starts_with("oncall_escalation:"),
        "{}",
        log[0].reason
    );
    assert!(log[0].at == t0 + Cd::minutes(15));
    let thread = desk.show(id, None).unwrap().thread;
    assert!(thread
        .iter()
        .any(|m| m.kind == MessageKind::Note && m.body.contains("当番医")));
    let _ = normal;
}

#[test]
fn two_processes_escalating_at_once_send_one_message() {
    let d = tempfile::tempdir().unwrap();
    let key = StoreKey::random();
    let t0 = at("2026-12-02T21:00:00+09:00");
    let clock = Arc::new(FixedClock::new(t0));
    let mut desk = open(d.path(), &key, clock.clone());
    with_oncall(&mut desk, "doctor-on-call");
    let ids: Vec<i64> = (0..5)
        .map(|i| {
            desk.intake(chatwork_item(
                &format!("r{i}"),
                &format!("m{i}"),
                Some(Urgency::Urgent),
            ))
            .unwrap()
            .id
        })
        .collect();
    clock.advance(Cd::minutes(20));
    let later = clock.clone();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let dir = d.path().to_path_buf();
            let key = key.clone();
            let clock = later.clone();
            std::thread::spawn(move || {
                let mut desk = open(&dir, &key, clock);
                desk.escalate_untaken_urgent().unwrap()
            })
        })
        .collect();
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    assert_eq!(all, ids, "each item escalated by exactly one of the desks");
    assert_eq!(
        count(
            d.path(),
            &key,
            "SELECT count(*) FROM outbox WHERE kind = 'oncall'"
        ),
        5
    );
    assert_eq!(
        count(d.path(), &key, "SELECT count(*) FROM notifications"),
        5
    );
}
