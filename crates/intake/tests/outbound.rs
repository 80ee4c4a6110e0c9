//! The outbox sender against local fakes of LINE WORKS and Chatwork on real sockets
//! (tests/fakes): consultations come in through the real signed webhooks, replies are written
//! with `Desk::reply`, and the worker's rounds (`Outbound::round`) send them.
//!
//! Chatwork: the room and the `[rp]` of the partner's message, `message_id` → `remote_id`;
//! 429 with `x-ratelimit-reset`/`Retry-After` waits; 500 then success; 400 → failed with the
//! provider's words, 再送 → sent; a hang → timeout → retried and marked `maybe_duplicate`.
//! LINE WORKS: the JWT verified by the fake with the test key's public half, the token cached
//! across sends, refreshed when it expires (and after a 401), channel vs 1:1 user talks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod fakes;

use common::*;
use fakes::{Answer, FakeProviders};
use renkei_core::outbound::{OutboxEntry, OutboxStatus};
use renkei_intake::outbound::chatwork::ChatworkSendConfig;
use renkei_intake::outbound::lineworks::{parse_private_key, LineworksSendConfig};
use renkei_intake::outbound::{Outbound, OutboundConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn cw_config(fake: &FakeProviders) -> ChatworkSendConfig {
    ChatworkSendConfig::new(&fake.chatwork_base(), fakes::CW_TOKEN)
}

fn lw_config(fake: &FakeProviders, key_file: &std::path::Path) -> LineworksSendConfig {
    LineworksSendConfig {
        api_base: fake.lineworks_base(),
        auth_url: fake.lineworks_auth(),
        client_id: fakes::CLIENT_ID.into(),
        client_secret: fakes::CLIENT_SECRET.into(),
        service_account: fakes::SERVICE_ACCOUNT.into(),
        bot_id: fakes::BOT_ID.into(),
        private_key: parse_private_key(&std::fs::read_to_string(key_file).unwrap()).unwrap(),
        limit: (240, Duration::from_secs(60)),
    }
}

fn outbound(lw: Option<LineworksSendConfig>, cw: Option<ChatworkSendConfig>) -> Arc<Outbound> {
    let mut cfg = OutboundConfig::new(lw, cw);
    cfg.request_timeout = Duration::from_millis(700);
    cfg.retry.base = Duration::from_millis(200);
    cfg.retry.max = Duration::from_secs(2);
    Arc::new(Outbound::new(cfg).unwrap())
}

/// What the Chatwork messages of these tests say (a To-tag before the text, as Chatwork sends it).
const CW_TEXT: &str = "[To:7654321]佐藤先生\n退院後の訪問診療のご相談です";

fn reply(s: &TestServer, id: i64, text: &str) -> OutboxEntry {
    s.desk()
        .reply(id, text, "田村", false)
        .unwrap()
        .outbox
        .unwrap()
}

fn entry(s: &TestServer, id: i64) -> OutboxEntry {
    s.desk()
        .outbox(None)
        .unwrap()
        .into_iter()
        .find(|e| e.id == id)
        .unwrap()
}

/// Rounds until `done` or `timeout`.
async fn rounds_until(
    o: &Arc<Outbound>,
    s: &TestServer,
    timeout: Duration,
    done: impl Fn() -> bool,
) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        o.round(&s.state).await.unwrap();
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn chatwork_reply_goes_to_the_room_quoting_the_message_once() {
    let fake = fakes::start(None);
    let s = TestServer::start().await;
    let id = chatwork_message(&s, 301234567, "1798000000000000011", 1234567, CW_TEXT).await;
    let e = reply(&s, id, "承知しました。本日中にお電話します。");
    let o = outbound(None, Some(cw_config(&fake)));
    assert_eq!(o.round(&s.state).await.unwrap(), 1);
    let got = fake.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].to, "301234567");
    assert_eq!(
        got[0].text,
        "[rp aid=1234567 to=301234567-1798000000000000011]\n承知しました。本日中にお電話します。"
    );
    let e = entry(&s, e.id);
    assert_eq!(e.status, OutboxStatus::Sent);
    assert_eq!(e.attempts, 1);
    assert!(e.remote_id.as_deref().is_some_and(|r| r.starts_with("18")));
    assert!(e.sent_at.is_some());
    assert!(!e.maybe_duplicate);
    // more rounds send nothing again
    o.round(&s.state).await.unwrap();
    o.round(&s.state).await.unwrap();
    assert_eq!(fake.accepted().len(), 1);
}

#[tokio::test]
async fn chatwork_429_500_and_400_are_retried_waited_for_or_failed() {
    let fake = fakes::start(None);
    let s = TestServer::start().await;
    let o = outbound(None, Some(cw_config(&fake)));
    // 429 with Retry-After: 1 → nothing goes out for a second, then it is sent
    let a = chatwork_message(&s, 1001, "11", 1, CW_TEXT).await;
    let ea = reply(&s, a, "429 のあと");
    fake.script_chatwork(Answer::Status(
        429,
        r#"{"errors":["Rate limit exceeded"]}"#.into(),
        vec![
            ("retry-after", "1".into()),
            ("x-ratelimit-remaining", "0".into()),
        ],
    ));
    let t = Instant::now();
    o.round(&s.state).await.unwrap();
    let e = entry(&s, ea.id);
    assert_eq!(e.status, OutboxStatus::Pending);
    assert!(e.last_error.as_deref().unwrap().contains("429"), "{e:?}");
    assert!(
        rounds_until(&o, &s, Duration::from_secs(5), || fake.accepted().len()
            == 1)
        .await
    );
    let waited = fake.accepted()[0].at.duration_since(t);
    assert!(
        waited >= Duration::from_millis(950),
        "sent after {waited:?}"
    );
    assert_eq!(entry(&s, ea.id).attempts, 2);

    // 500 then success
    let b = chatwork_message(&s, 1002, "12", 1, CW_TEXT).await;
    let eb = reply(&s, b, "500 のあと");
    fake.script_chatwork(Answer::Status(500, "oops".into(), vec![]));
    assert!(
        rounds_until(&o, &s, Duration::from_secs(5), || entry(&s, eb.id).status
            == OutboxStatus::Sent)
        .await
    );
    let e = entry(&s, eb.id);
    assert_eq!(e.attempts, 2);
    assert!(
        !e.maybe_duplicate,
        "a 500 is an answer, not an unknown outcome"
    );

    // 400 with a message → failed with the provider's words; 再送 → sent
    let c = chatwork_message(&s, 1003, "13", 1, CW_TEXT).await;
    let ec = reply(&s, c, "400 のあと");
    fake.script_chatwork(Answer::Status(
        400,
        r#"{"errors":["Invalid body: too long"]}"#.into(),
        vec![],
    ));
    o.round(&s.state).await.unwrap();
    let e = entry(&s, ec.id);
    assert_eq!(e.status, OutboxStatus::Failed);
    assert_eq!(
        e.last_error.as_deref(),
        Some("Chatwork refused the reply (400): Invalid body: too long")
    );
    for _ in 0..3 {
        o.round(&s.state).await.unwrap();
    }
    assert_eq!(
        entry(&s, ec.id).status,
        OutboxStatus::Failed,
        "failed stays failed"
    );
    s.desk().outbox_resend(ec.id, "田村").unwrap();
    o.round(&s.state).await.unwrap();
    let e = entry(&s, ec.id);
    assert_eq!(e.status, OutboxStatus::Sent);
    assert_eq!(e.attempts, 2);
    let rooms: Vec<String> = fake.accepted().iter().map(|r| r.to.clone()).collect();
    assert_eq!(rooms, ["1001", "1002", "1003"]);
}

#[tokio::test]
async fn a_hanging_provider_times_out_and_the_retry_is_marked_as_a_possible_duplicate() {
    let fake = fakes::start(None);
    let s = TestServer::start().await;
    let o = outbound(None, Some(cw_config(&fake)));
    let id = chatwork_message(&s, 2001, "21", 1, CW_TEXT).await;
    let e = reply(&s, id, "タイムアウトのあと");
    fake.script_chatwork(Answer::Hang);
    let t = Instant::now();
    o.round(&s.state).await.unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "the timeout bounds a round"
    );
    let after = entry(&s, e.id);
    assert_eq!(after.status, OutboxStatus::Pending);
    assert!(after.maybe_duplicate);
    assert!(after.last_error.as_deref().unwrap().contains("timeout"));
    assert!(
        rounds_until(&o, &s, Duration::from_secs(5), || entry(&s, e.id).status
            == OutboxStatus::Sent)
        .await
    );
    assert!(
        entry(&s, e.id).maybe_duplicate,
        "the mark stays after success"
    );
}

#[tokio::test]
async fn lineworks_signs_in_with_a_verified_jwt_caches_the_token_and_refreshes_it() {
    let keys = tempfile::tempdir().unwrap();
    let key_file = fakes::generate_key(keys.path());
    let fake = fakes::start(Some(&key_file));
    let s = TestServer::start().await;
    let o = outbound(Some(lw_config(&fake, &key_file)), None);
    let room = lineworks_message(&s, Some("ch-42"), "user-a", "退院のご相談です").await;
    let one = lineworks_message(&s, None, "user-b", "1:1 のご相談です").await;
    reply(&s, room, "トークルームへの返信");
    reply(&s, one, "1:1 への返信");
    assert_eq!(o.round(&s.state).await.unwrap(), 2);
    let mut got: Vec<(String, String, String)> = fake
        .accepted()
        .into_iter()
        .map(|r| (r.kind, r.to, r.text))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "lineworks-channel".into(),
                "ch-42".into(),
                "トークルームへの返信".into()
            ),
            (
                "lineworks-user".into(),
                "user-b".into(),
                "1:1 への返信".into()
            ),
        ]
    );
    {
        let f = fake.state.lock().unwrap();
        assert_eq!(f.token_requests.len(), 1, "{:?}", f.token_requests);
        assert!(f.token_requests[0].is_ok(), "{:?}", f.token_requests);
    }
    // the cached token serves the next reply
    reply(&s, room, "二通目");
    o.round(&s.state).await.unwrap();
    assert_eq!(fake.state.lock().unwrap().token_requests.len(), 1);
    // the fake forgets its tokens (expired on its side) → 401 → a new sign-in, one send
    fake.state.lock().unwrap().tokens.clear();
    reply(&s, room, "三通目");
    o.round(&s.state).await.unwrap();
    assert_eq!(fake.accepted().len(), 4);
    assert_eq!(fake.state.lock().unwrap().token_requests.len(), 2);
    assert!(s
        .desk()
        .outbox(None)
        .unwrap()
        .iter()
        .all(|e| e.status == OutboxStatus::Sent && !e.maybe_duplicate));
}

#[tokio::test]
async fn a_short_lived_token_is_renewed_before_it_runs_out() {
    let keys = tempfile::tempdir().unwrap();
    let key_file = fakes::generate_key(keys.path());
    let fake = fakes::start(Some(&key_file));
    fake.state.lock().unwrap().token_life = 2;
    let s = TestServer::start().await;
    let o = outbound(Some(lw_config(&fake, &key_file)), None);
    let room = lineworks_message(&s, Some("ch-7"), "user-a", "ご相談").await;
    reply(&s, room, "一通目");
    o.round(&s.state).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    reply(&s, room, "二通目");
    o.round(&s.state).await.unwrap();
    let f = fake.state.lock().unwrap();
    assert_eq!(f.token_requests.len(), 2, "renewed, not reused");
    // renewed before use: no send was refused with 401
    assert!(
        f.received.iter().all(|r| r.status == 201),
        "{:?}",
        f.received
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_fake_and_the_reply_fails_with_its_words() {
    let keys = tempfile::tempdir().unwrap();
    let right = fakes::generate_key(keys.path());
    let fake = fakes::start(Some(&right));
    let other_dir = tempfile::tempdir().unwrap();
    let wrong = fakes::generate_key(other_dir.path());
    let s = TestServer::start().await;
    let o = outbound(Some(lw_config(&fake, &wrong)), None);
    let room = lineworks_message(&s, Some("ch-1"), "user-a", "ご相談").await;
    let e = reply(&s, room, "返信");
    o.round(&s.state).await.unwrap();
    let e = entry(&s, e.id);
    assert_eq!(e.status, OutboxStatus::Failed);
    assert!(
        e.last_error.as_deref().unwrap().contains("bad signature"),
        "{e:?}"
    );
    assert!(fake.accepted().is_empty());
    assert_eq!(
        fake.state.lock().unwrap().token_requests,
        [Err("bad signature".to_string())]
    );
}

#[tokio::test]
async fn lineworks_429_with_ratelimit_reset_pauses_then_sends() {
    let keys = tempfile::tempdir().unwrap();
    let key_file = fakes::generate_key(keys.path());
    let fake = fakes::start(Some(&key_file));
    let s = TestServer::start().await;
    let o = outbound(Some(lw_config(&fake, &key_file)), None);
    let room = lineworks_message(&s, Some("ch-9"), "user-a", "ご相談").await;
    let e = reply(&s, room, "返信");
    fake.script_lineworks(Answer::Status(
        429,
        r#"{"code":"TOO_MANY_REQUESTS","description":"Too many requests"}"#.into(),
        vec![
            ("ratelimit-limit", "240".into()),
            ("ratelimit-remaining", "0".into()),
            ("ratelimit-reset", "1".into()),
        ],
    ));
    let t = Instant::now();
    assert!(
        rounds_until(&o, &s, Duration::from_secs(5), || fake.accepted().len()
            == 1)
        .await
    );
    assert!(fake.accepted()[0].at.duration_since(t) >= Duration::from_millis(950));
    let e = entry(&s, e.id);
    assert_eq!(e.status, OutboxStatus::Sent);
    assert_eq!(e.attempts, 2);
}
