//! LINE WORKS and Chatwork webhooks against a real server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use base64::Engine;
use common::*;
use renkei_intake::IntakeConfig;

const LW_SECRET: &str = "lw-bot-secret-札幌";

fn lw_sign(body: &[u8]) -> String {
    renkei_intake::lineworks::sign(LW_SECRET.as_bytes(), body)
}

fn lw_message(channel: &str, user: &str, at: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "type": "message",
        "source": {"userId": user, "channelId": channel, "domainId": 400012345},
        "issuedTime": at,
        "content": {"type": "text", "text": text}
    }))
    .unwrap()
}

async fn post_lw(s: &TestServer, body: &[u8], sig: Option<&str>) -> reqwest::Response {
    let mut r = client()
        .post(s.url("/v1/webhooks/lineworks"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = sig {
        r = r.header("X-WORKS-Signature", sig);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn lineworks_message_becomes_a_consultation_and_redelivery_does_not_duplicate() {
    let s = TestServer::start().await;
    let body = lw_message(
        "a1b2c3d4-0000-4000-8000-channel00001",
        "yamada@hokushin-hp",
        "2026-12-01T00:51:02.123Z",
        "来週退院予定の方の訪問診療のご相談です\n詳細は明日お電話します",
    );
    let r = post_lw(&s, &body, Some(&lw_sign(&body))).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["created"], true);
    let id = v["id"].as_i64().unwrap();
    let r = post_lw(&s, &body, Some(&lw_sign(&body))).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["id"].as_i64(), Some(id));
    assert_eq!(v["created"], false);
    assert_eq!(v["joined"], false);
    assert_eq!(s.count(""), 1);
    assert_eq!(s.messages_of(id), 1);
    let d = s.desk().show(id, None).unwrap();
    assert_eq!(d.row.channel, renkei_core::Channel::Lineworks);
    assert_eq!(d.row.category, renkei_core::Category::Discharge);
    assert_eq!(d.row.subject, "来週退院予定の方の訪問診療のご相談です");
}

#[tokio::test]
async fn lineworks_follow_up_in_the_same_channel_joins_the_thread() {
    let s = TestServer::start().await;
    let ch = "a1b2c3d4-0000-4000-8000-channel00002";
    let first = lw_message(
        ch,
        "u1",
        "2026-12-01T01:00:00Z",
        "新規の訪問診療のご相談です",
    );
    let second = lw_message(
        ch,
        "u1",
        "2026-12-01T01:02:00Z",
        "補足: ご家族は日中不在です",
    );
    let other = lw_message(
        "other-channel-9",
        "u2",
        "2026-12-01T01:03:00Z",
        "空床はありますか",
    );
    let a = post_lw(&s, &first, Some(&lw_sign(&first)))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let b = post_lw(&s, &second, Some(&lw_sign(&second)))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(a["id"], b["id"]);
    assert_eq!(b["joined"], true);
    let c = post_lw(&s, &other, Some(&lw_sign(&other)))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_ne!(a["id"], c["id"]);
    assert_eq!(s.count(""), 2);
    assert_eq!(s.messages_of(a["id"].as_i64().unwrap()), 2);
}

#[tokio::test]
async fn lineworks_one_to_one_talk_threads_by_user_and_image_is_a_placeholder() {
    let s = TestServer::start().await;
    let body = serde_json::to_vec(&serde_json::json!({
        "type": "message",
        "source": {"userId": "sato@himawari-ns", "domainId": 400012345},
        "issuedTime": "2026-12-01T02:00:00.000Z",
        "content": {"type": "image", "fileId": "kr1.1700000000.file-abc"}
    }))
    .unwrap();
    let v: serde_json::Value = post_lw(&s, &body, Some(&lw_sign(&body)))
        .await
        .json()
        .await
        .unwrap();
    let id = v["id"].as_i64().unwrap();
    let d = s.desk().show(id, None).unwrap();
    assert!(d.thread[0].body.starts_with("[画像]"), "{:?}", d.thread);
    assert!(d.thread[0].body.contains("kr1.1700000000.file-abc"));
}

#[tokio::test]
async fn lineworks_bad_or_missing_signature_is_401_and_stores_nothing() {
    let s = TestServer::start().await;
    let body = lw_message("c", "u", "2026-12-01T00:00:00Z", "至急ご相談");
    let r = post_lw(&s, &body, None).await;
    assert_eq!(expect_error(r, 401).await["code"], "unauthorized");
    let wrong = renkei_intake::lineworks::sign(b"another secret", &body);
    let r = post_lw(&s, &body, Some(&wrong)).await;
    expect_error(r, 401).await;
    let r = post_lw(&s, &body, Some("!!!not-base64")).await;
    expect_error(r, 401).await;
    // Signed, then altered.
    let sig = lw_sign(&body);
    let mut altered = body.clone();
    altered.extend_from_slice(b" ");
    let r = post_lw(&s, &altered, Some(&sig)).await;
    expect_error(r, 401).await;
    assert_eq!(s.count(""), 0);
}

#[tokio::test]
async fn lineworks_other_events_are_ignored() {
    let s = TestServer::start().await;
    for ev in [
        serde_json::json!({"type": "join", "source": {"channelId": "c1", "domainId": 1}, "issuedTime": "2026-12-01T00:00:00Z"}),
        serde_json::json!({"type": "leave", "source": {"channelId": "c1", "domainId": 1}, "issuedTime": "2026-12-01T00:00:00Z"}),
        serde_json::json!({"type": "postback", "data": "ok", "source": {"userId": "u", "domainId": 1}, "issuedTime": "2026-12-01T00:00:00Z"}),
    ] {
        let body = serde_json::to_vec(&ev).unwrap();
        let r = post_lw(&s, &body, Some(&lw_sign(&body))).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<serde_json::Value>().await.unwrap()["ignored"],
            true
        );
    }
    assert_eq!(s.count(""), 0);
}

#[tokio::test]
async fn webhooks_without_configuration_are_503() {
    let s = TestServer::start_with(IntakeConfig::default()).await;
    let body = lw_message("c", "u", "2026-12-01T00:00:00Z", "x");
    let r = post_lw(&s, &body, Some(&lw_sign(&body))).await;
    assert_eq!(expect_error(r, 503).await["code"], "not_configured");
    let r = client()
        .post(s.url("/v1/webhooks/chatwork"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(r, 503).await["code"], "not_configured");
    assert_eq!(s.count(""), 0);
}

// ----- Chatwork ------------------------------------------------------------------------------

fn cw_sign(body: &[u8]) -> String {
    let token = config().chatwork_webhook_token.unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(token)
        .unwrap();
    renkei_intake::lineworks::sign(&key, body)
}

fn cw_event(kind: &str, message_id: &str, room: i64, body: &str) -> Vec<u8> {
    let ev = if kind == "mention_to_me" {
        serde_json::json!({"from_account_id": 1234567, "to_account_id": 7654321, "room_id": room,
            "message_id": message_id, "body": body, "send_time": 1796089200, "update_time": 0})
    } else {
        serde_json::json!({"message_id": message_id, "room_id": room, "account_id": 1234567,
            "body": body, "send_time": 1796089200, "update_time": 0})
    };
    serde_json::to_vec(&serde_json::json!({
        "webhook_setting_id": "12345",
        "webhook_event_type": kind,
        "webhook_event_time": 1796089201,
        "webhook_event": ev
    }))
    .unwrap()
}

async fn post_cw(s: &TestServer, body: &[u8], sig: Option<&str>) -> reqwest::Response {
    let mut r = client()
        .post(s.url("/v1/webhooks/chatwork"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(sig) = sig {
        r = r.header("X-ChatWorkWebhookSignature", sig);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn chatwork_message_is_keyed_by_message_id_and_markup_kept() {
    let s = TestServer::start().await;
    let text =
        "[To:7654321]佐藤先生\n[info][title]退院調整のご相談[/title]12/5 退院予定 A様[/info]";
    let body = cw_event("message_created", "1798000000000000001", 301234567, text);
    let r = post_cw(&s, &body, Some(&cw_sign(&body))).await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    let id = v["id"].as_i64().unwrap();
    assert_eq!(v["created"], true);
    // The same message again (e.g. mention_to_me for it): no duplicate.
    let again = cw_event("mention_to_me", "1798000000000000001", 301234567, text);
    let v: serde_json::Value = post_cw(&s, &again, Some(&cw_sign(&again)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["id"].as_i64(), Some(id));
    assert_eq!(v["created"], false);
    assert_eq!(s.count(""), 1);
    let d = s.desk().show(id, None).unwrap();
    assert_eq!(d.thread[0].body, text);
    assert_eq!(d.row.channel, renkei_core::Channel::Chatwork);
    assert_eq!(d.row.category, renkei_core::Category::Discharge);
    assert!(!d.row.subject.contains("[To:"), "{}", d.row.subject);
    // A follow-up in the same room joins.
    let next = cw_event(
        "message_created",
        "1798000000000000002",
        301234567,
        "追伸: 本日中にお返事いただけると助かります",
    );
    let v: serde_json::Value = post_cw(&s, &next, Some(&cw_sign(&next)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["id"].as_i64(), Some(id));
    assert_eq!(v["joined"], true);
    assert_eq!(s.messages_of(id), 2);
}

#[tokio::test]
async fn chatwork_bad_signature_is_401_and_other_events_ignored() {
    let s = TestServer::start().await;
    let body = cw_event("message_created", "1", 1, "x");
    let r = post_cw(&s, &body, None).await;
    expect_error(r, 401).await;
    // Signed with the token text itself instead of its base64-decoded bytes.
    let wrong =
        renkei_intake::lineworks::sign(config().chatwork_webhook_token.unwrap().as_bytes(), &body);
    let r = post_cw(&s, &body, Some(&wrong)).await;
    expect_error(r, 401).await;
    assert_eq!(s.count(""), 0);
    let other = serde_json::to_vec(&serde_json::json!({
        "webhook_setting_id": "12345", "webhook_event_type": "message_updated",
        "webhook_event_time": 1, "webhook_event": {"message_id": "9", "room_id": 1, "body": "x"}
    }))
    .unwrap();
    let r = post_cw(&s, &other, Some(&cw_sign(&other))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(s.count(""), 0);
}
