//! The automatic messages of issue 20 through the real sender worker against the local fake
//! LINE WORKS and Chatwork servers on real sockets: the receipt reaches the room / talk the
//! consultation came from when someone takes it (once), and the on-call message reaches the
//! on-call doctor's LINE WORKS user for an urgent item nobody took — once, even with two
//! workers (two processes' states on one store) running rounds at the same time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fakes;

use common::*;
use renkei_core::model::{NewConsultation, PartnerRef};
use renkei_core::outbound::{OutboxKind, OutboxStatus};
use renkei_core::{Category, Channel, PartnerKind, Urgency};
use renkei_intake::outbound::chatwork::ChatworkSendConfig;
use renkei_intake::outbound::lineworks::{parse_private_key, LineworksSendConfig};
use renkei_intake::outbound::{Outbound, OutboundConfig};
use renkei_intake::IntakeState;
use std::sync::Arc;
use std::time::Duration;

fn outbound(fake: &fakes::FakeProviders, key_file: Option<&std::path::Path>) -> Arc<Outbound> {
    let lw = key_file.map(|k| LineworksSendConfig {
        api_base: fake.lineworks_base(),
        auth_url: fake.lineworks_auth(),
        client_id: fakes::CLIENT_ID.into(),
        client_secret: fakes::CLIENT_SECRET.into(),
        service_account: fakes::SERVICE_ACCOUNT.into(),
        bot_id: fakes::BOT_ID.into(),
        private_key: parse_private_key(&std::fs::read_to_string(k).unwrap()).unwrap(),
        limit: (240, Duration::from_secs(60)),
    });
    let cw = ChatworkSendConfig::new(&fake.chatwork_base(), fakes::CW_TOKEN);
    let mut cfg = OutboundConfig::new(lw, Some(cw));
    cfg.request_timeout = Duration::from_millis(2000);
    Arc::new(Outbound::new(cfg).unwrap())
}

/// What the Chatwork messages of these tests say.
const CW_TEXT: &str = "退院後の訪問診療のご相談です";

/// Switches the receipt on for the partner of consultation `id`.
fn receipt_on(s: &TestServer, id: i64) {
    let mut d = s.desk();
    let name = d.show(id, None).unwrap().row.partner;
    let p = d
        .partners()
        .unwrap()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap();
    d.set_partner_receipt(p.id, true, "院長").unwrap();
}

#[tokio::test]
async fn taking_a_chatwork_item_sends_the_receipt_to_its_room_once() {
    let fake = fakes::start(None);
    let s = TestServer::start().await;
    let o = outbound(&fake, None);
    let id = chatwork_message(&s, 301234567, "1798000000000000011", 1234567, CW_TEXT).await;
    let off = chatwork_message(&s, 301234999, "1798000000000000012", 1234568, CW_TEXT).await;
    receipt_on(&s, id);
    // The server's frozen clock: Tuesday 1 December 2026, 10:00.
    s.desk().ack(id, "大野").unwrap();
    s.desk().ack(off, "大野").unwrap();
    assert_eq!(o.round(&s.state).await.unwrap(), 1);
    let got = fake.accepted();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].kind, "chatwork");
    assert_eq!(got[0].to, "301234567");
    let text = &got[0].text;
    assert!(
        text.starts_with(
            "[rp aid=1234567 to=301234567-1798000000000000011]\n受け付けました。担当：大野。"
        ),
        "{text}"
    );
    assert!(text.ends_with("までにご連絡します。"), "{text}");
    let e = s.desk().outbox(Some(id)).unwrap().remove(0);
    assert_eq!(
        (e.kind, e.status),
        (OutboxKind::Receipt, OutboxStatus::Sent)
    );
    // A later change of status sends nothing more.
    s.desk()
        .set_status(id, renkei_core::Status::InProgress, "大野")
        .unwrap();
    o.round(&s.state).await.unwrap();
    assert_eq!(fake.accepted().len(), 1);
}

#[tokio::test]
async fn receipt_to_a_lineworks_room_and_the_oncall_message_to_the_doctor_once() {
    let keys = tempfile::tempdir().unwrap();
    let key_file = fakes::generate_key(keys.path());
    let fake = fakes::start(Some(&key_file));
    let s = TestServer::start().await;
    // Two workers, as `renkei serve` and the app would have, each with its own state.
    let o1 = outbound(&fake, Some(&key_file));
    let o2 = outbound(&fake, Some(&key_file));
    let other =
        IntakeState::with_key(s.data_dir(), s.key.clone(), s.clock.clone(), config()).unwrap();

    // The receipt goes to the LINE WORKS room it came from.
    let room = lineworks_message(&s, Some("ch-42"), "user-a", "退院のご相談です").await;
    receipt_on(&s, room);
    s.desk().ack(room, "大野").unwrap();

    // An urgent phone item that arrived 20 minutes ago (frozen clock: now = 10:00) and that
    // nobody took; the on-call doctor is set, escalation after 15 minutes.
    let mut d = s.desk();
    let mut settings = d.settings().clone();
    settings.replies.oncall_lineworks_user = "doctor-1".into();
    settings.notifications.escalate_after_minutes = Some(15);
    d.save_settings(settings, "院長").unwrap();
    let mut n = NewConsultation::new(
        Channel::Phone,
        PartnerRef::Named {
            name: "北区ケアプランセンター".into(),
            kind: PartnerKind::CareManager,
        },
        Category::NewHomeVisit,
        "至急の往診依頼",
        "架空山 花子さんが発熱し呼吸が苦しそうです",
    );
    n.urgency = Some(Urgency::Urgent);
    n.entered_by = Some("田村".into());
    n.received_at = Some(d.now() - chrono::Duration::minutes(20));
    let urgent = d.intake(n).unwrap().id;

    // Both workers run rounds at the same time.
    for _ in 0..4 {
        let (a, b) = tokio::join!(o1.round(&s.state), o2.round(&other));
        a.unwrap();
        b.unwrap();
    }
    let got = fake.accepted();
    let to_room: Vec<_> = got
        .iter()
        .filter(|r| r.kind == "lineworks-channel")
        .collect();
    assert_eq!(to_room.len(), 1, "{got:?}");
    assert_eq!(to_room[0].to, "ch-42");
    assert!(to_room[0].text.starts_with("受け付けました。担当：大野。"));
    let to_doctor: Vec<_> = got.iter().filter(|r| r.kind == "lineworks-user").collect();
    assert_eq!(to_doctor.len(), 1, "exactly one on-call message: {got:?}");
    assert_eq!(to_doctor[0].to, "doctor-1");
    let text = &to_doctor[0].text;
    assert!(
        text.contains(&format!("renkei://consultation/{urgent}")),
        "{text}"
    );
    for private in ["架空山", "花子", "発熱", "北区ケアプランセンター"] {
        assert!(!text.contains(private), "patient-free: {text}");
    }
    // In the notification history with its reason.
    let log = s.desk().notifications(10).unwrap();
    assert!(
        log.iter().any(
            |n| n.ids == vec![urgent.to_string()] && n.reason.starts_with("oncall_escalation:")
        ),
        "{log:?}"
    );
    let e = s.desk().outbox(Some(urgent)).unwrap().remove(0);
    assert_eq!((e.kind, e.status), (OutboxKind::Oncall, OutboxStatus::Sent));
}
