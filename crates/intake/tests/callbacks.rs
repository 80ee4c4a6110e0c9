//! Partner callbacks (issue 20): a reply to a partner-API consultation still shows on the
//! partner's status page and, when the partner registered a callback URL, is POSTed there,
//! signed with the secret shown once; a refused callback fails with the partner's words.
//! The partner's endpoint is a local axum server on a real socket that checks the signature.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::*;
use renkei_core::outbound::{Delivery, OutboxStatus};
use renkei_core::PartnerKind;
use renkei_intake::outbound::callback::signature;
use renkei_intake::outbound::{Outbound, OutboundConfig};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Partner {
    secret: String,
    /// (idempotency key, verified, body)
    got: Vec<(String, bool, serde_json::Value)>,
    script: VecDeque<(u16, &'static str)>,
}

type Shared = Arc<Mutex<Partner>>;

async fn hook(State(p): State<Shared>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    let mut p = p.lock().unwrap();
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let text = String::from_utf8_lossy(&body).to_string();
    let ts: i64 = h("x-renkei-timestamp").parse().unwrap_or(0);
    let verified = h("x-renkei-signature") == signature(&p.secret, ts, &text)
        && (chrono::Utc::now().timestamp() - ts).abs() < 60;
    if let Some((status, msg)) = p.script.pop_front() {
        return (StatusCode::from_u16(status).unwrap(), msg.to_string());
    }
    p.got.push((
        h("idempotency-key"),
        verified,
        serde_json::from_str(&text).unwrap(),
    ));
    (StatusCode::NO_CONTENT, String::new())
}

async fn partner_endpoint() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/renkei/replies", post(hook))
        .with_state(state.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}/renkei/replies"), state)
}

#[tokio::test]
async fn a_reply_goes_to_the_partners_signed_callback_and_stays_on_its_page() {
    let s = TestServer::start().await;
    let (pid, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let (url, partner) = partner_endpoint().await;
    let secret = s.desk().set_partner_callback(pid, &url, "大野").unwrap();
    assert!(secret.len() >= 40, "a long random secret");
    partner.lock().unwrap().secret = secret.clone();
    let r = client()
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .json(&consultation("EXT-CB-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let out = s
        .desk()
        .reply(id, "受け入れ可能です。", "大野", false)
        .unwrap();
    assert_eq!(out.delivery, Delivery::PartnerView);
    let entry = out.outbox.expect("a callback entry");
    let o = Arc::new(Outbound::new(OutboundConfig::new(None, None)).unwrap());
    o.round(&s.state).await.unwrap();
    {
        let p = partner.lock().unwrap();
        assert_eq!(p.got.len(), 1);
        let (idem, verified, body) = &p.got[0];
        assert!(verified, "signature checked with the secret shown once");
        assert_eq!(idem, &format!("renkei-outbox-{}", entry.id));
        assert_eq!(body["event"], "consultation.reply");
        assert_eq!(body["consultation_id"], id);
        assert_eq!(body["external_id"], "EXT-CB-1");
        assert_eq!(body["reply"]["body"], "受け入れ可能です。");
        assert_eq!(body["reply"]["author"], "大野");
    }
    let e = &s.desk().outbox(Some(id)).unwrap()[0];
    assert_eq!(e.status, OutboxStatus::Sent);
    // still on the partner's page
    let v: serde_json::Value = client()
        .get(s.url(&format!("/v1/consultations/{id}")))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["replies"][0]["body"], "受け入れ可能です。");

    // a 500 is retried; a 410 is final with the partner's words
    partner.lock().unwrap().script.push_back((500, "busy"));
    let second = s.desk().reply(id, "二通目です。", "大野", false).unwrap();
    let mut cfg = OutboundConfig::new(None, None);
    cfg.retry.base = Duration::from_millis(100);
    let o = Arc::new(Outbound::new(cfg).unwrap());
    for _ in 0..20 {
        o.round(&s.state).await.unwrap();
        if partner.lock().unwrap().got.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert_eq!(partner.lock().unwrap().got.len(), 2);
    let e2 = s.desk().outbox(Some(id)).unwrap();
    let e2 = e2
        .iter()
        .find(|e| e.message_id == second.message.id)
        .unwrap();
    assert_eq!((e2.status, e2.attempts), (OutboxStatus::Sent, 2));
    partner
        .lock()
        .unwrap()
        .script
        .push_back((410, r#"{"message":"endpoint retired"}"#));
    let third = s.desk().reply(id, "三通目です。", "大野", false).unwrap();
    o.round(&s.state).await.unwrap();
    let e3 = s.desk().outbox(Some(id)).unwrap();
    let e3 = e3
        .iter()
        .find(|e| e.message_id == third.message.id)
        .unwrap();
    assert_eq!(e3.status, OutboxStatus::Failed);
    assert!(e3
        .last_error
        .as_deref()
        .unwrap()
        .contains("endpoint retired"));

    // without a callback: nothing queued, the page only
    s.desk().clear_partner_callback(pid, "大野").unwrap();
    let out = s.desk().reply(id, "四通目です。", "大野", false).unwrap();
    assert!(out.outbox.is_none());
}

#[tokio::test]
async fn a_callback_url_must_be_https_except_to_loopback() {
    let s = TestServer::start().await;
    let (pid, _) = s.add_partner("北区中央病院", PartnerKind::Hospital);
    for bad in [
        "http://partner.example.jp/hook",
        "ftp://x/y",
        "not a url",
        "",
    ] {
        assert!(
            s.desk().set_partner_callback(pid, bad, "大野").is_err(),
            "{bad} accepted"
        );
    }
    assert!(s
        .desk()
        .set_partner_callback(pid, "https://partner.example.jp/hook", "大野")
        .is_ok());
    assert!(s
        .desk()
        .set_partner_callback(9999, "https://x.example/h", "大野")
        .is_err());
}
