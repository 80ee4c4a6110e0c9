//! The Chatwork poller against a local fake of the Chatwork API (axum on port 0).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use base64::Engine;
use common::*;
use renkei_intake::chatwork_poll::{cursor_key, PollError, Poller};
use renkei_intake::{ChatworkPollConfig, IntakeConfig};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TOKEN: &str = "cw-api-token-0123456789";

#[derive(Default)]
struct Fake {
    /// Scripted answers, oldest first; when empty: 204.
    script: VecDeque<(u16, String)>,
    /// (room, token header, when) of each request.
    calls: Vec<(String, String, Instant)>,
}

type FakeState = Arc<Mutex<Fake>>;

async fn messages(
    State(f): State<FakeState>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> impl IntoResponse {
    let mut f = f.lock().unwrap();
    let token = headers
        .get("x-chatworktoken")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    f.calls.push((room, token, Instant::now()));
    match f.script.pop_front() {
        Some((status, body)) => {
            let mut h = HeaderMap::new();
            if status == 429 {
                h.insert("x-ratelimit-remaining", "0".parse().unwrap());
            }
            (StatusCode::from_u16(status).unwrap(), h, body).into_response()
        }
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn fake_chatwork() -> (String, FakeState) {
    let state: FakeState = Arc::default();
    let app = Router::new()
        .route("/v2/rooms/:room/messages", get(messages))
        .with_state(state.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}"), state)
}

fn msg(id: &str, name: &str, body: &str) -> serde_json::Value {
    serde_json::json!({
        "message_id": id,
        "account": {"account_id": 1234567, "name": name, "avatar_image_url": "https://example.invalid/a.png"},
        "body": body,
        "send_time": 1796089200,
        "update_time": 0
    })
}

fn poll_cfg(base: &str, rooms: &[&str]) -> ChatworkPollConfig {
    let mut c = ChatworkPollConfig::new(TOKEN, rooms.iter().map(|r| r.to_string()).collect(), base);
    c.interval = Duration::from_millis(50);
    c.backoff_base = Duration::from_millis(200);
    c.backoff_max = Duration::from_secs(2);
    c.request_timeout = Duration::from_secs(5);
    c
}

#[tokio::test]
async fn poll_once_stores_messages_and_keeps_the_cursor() {
    let (base, fake) = fake_chatwork().await;
    let s = TestServer::start().await;
    let batch = serde_json::json!([
        msg(
            "1798000000000000011",
            "札幌北辰病院 山田",
            "[To:7654321]佐藤先生\n新規の訪問診療のご相談です"
        ),
        msg(
            "1798000000000000012",
            "札幌北辰病院 山田",
            "ご家族の連絡先は別途お送りします"
        ),
    ]);
    fake.lock()
        .unwrap()
        .script
        .push_back((200, batch.to_string()));
    let p = Poller::new(poll_cfg(&base, &["301234567"])).unwrap();
    let r = p.poll_once(&s.state).await.unwrap();
    assert_eq!(r.requests, 1);
    assert_eq!(r.messages, 2);
    assert_eq!(r.created, 1);
    assert_eq!(r.joined, 1);
    assert_eq!(s.count(""), 1);
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.calls[0].0, "301234567");
        assert_eq!(f.calls[0].1, TOKEN);
    }
    let cursor = s.desk().poll_cursor(&cursor_key("301234567")).unwrap();
    assert_eq!(cursor.as_deref(), Some("1798000000000000012"));
    // 204: nothing new.
    let r = p.poll_once(&s.state).await.unwrap();
    assert_eq!(r.messages, 0);
    // A new poller (a restart) with Chatwork sending old + new: only the new one is taken.
    let p2 = Poller::new(poll_cfg(&base, &["301234567"])).unwrap();
    fake.lock().unwrap().script.push_back((
        200,
        serde_json::json!([
            msg(
                "1798000000000000012",
                "札幌北辰病院 山田",
                "ご家族の連絡先は別途お送りします"
            ),
            msg(
                "1798000000000000013",
                "札幌北辰病院 山田",
                "よろしくお願いいたします"
            ),
        ])
        .to_string(),
    ));
    let r = p2.poll_once(&s.state).await.unwrap();
    assert_eq!(r.messages, 2);
    assert_eq!(r.joined, 1);
    assert_eq!(r.duplicates, 0);
    let id = s.notices.lock().unwrap()[0].id;
    assert_eq!(s.messages_of(id), 3);
}

#[tokio::test]
async fn webhook_and_poll_of_the_same_message_store_it_once() {
    let (base, fake) = fake_chatwork().await;
    let s = TestServer::start().await;
    let text = "[info][title]空床のご確認[/title]来週の受け入れは可能でしょうか[/info]";
    let payload = serde_json::to_vec(&serde_json::json!({
        "webhook_setting_id": "12345",
        "webhook_event_type": "message_created",
        "webhook_event_time": 1796089201,
        "webhook_event": {"message_id": "1798000000000000021", "room_id": 301234999,
            "account_id": 1234567, "body": text, "send_time": 1796089200, "update_time": 0}
    }))
    .unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(config().chatwork_webhook_token.unwrap())
        .unwrap();
    let r = client()
        .post(s.url("/v1/webhooks/chatwork"))
        .header(
            "X-ChatWorkWebhookSignature",
            renkei_intake::lineworks::sign(&key, &payload),
        )
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    fake.lock().unwrap().script.push_back((
        200,
        serde_json::json!([msg(
            "1798000000000000021",
            "ひまわり訪問看護ステーション",
            text
        )])
        .to_string(),
    ));
    let p = Poller::new(poll_cfg(&base, &["301234999"])).unwrap();
    let r = p.poll_once(&s.state).await.unwrap();
    assert_eq!(r.duplicates, 1);
    assert_eq!(r.created + r.joined, 0);
    assert_eq!(s.count(""), 1);
    let id = s.notices.lock().unwrap()[0].id;
    assert_eq!(s.messages_of(id), 1);
}

#[tokio::test]
async fn errors_are_typed_and_429_backs_off_in_the_loop() {
    let (base, fake) = fake_chatwork().await;
    let s = TestServer::start().await;
    let p = Poller::new(poll_cfg(&base, &["1"])).unwrap();
    fake.lock().unwrap().script.push_back((500, "oops".into()));
    assert_eq!(p.poll_once(&s.state).await, Err(PollError::Server(500)));
    fake.lock().unwrap().script.push_back((401, "{}".into()));
    assert_eq!(p.poll_once(&s.state).await, Err(PollError::Client(401)));
    // The loop: 429 first, then messages. The second request waits the backoff.
    fake.lock().unwrap().calls.clear();
    {
        let mut f = fake.lock().unwrap();
        f.script
            .push_back((429, r#"{"errors":["Rate limit exceeded"]}"#.into()));
        f.script.push_back((
            200,
            serde_json::json!([msg(
                "1798000000000000031",
                "北区第2地域包括支援センター",
                "薬の飲み忘れが続いている方がいます"
            )])
            .to_string(),
        ));
    }
    let mut cfg = poll_cfg(&base, &["2"]);
    cfg.interval = Duration::from_secs(60);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(renkei_intake::chatwork_poll::run(
        s.state.clone(),
        cfg,
        stop_rx,
    ));
    let stored = eventually(Duration::from_secs(10), || async { s.count("") == 1 }).await;
    assert!(stored, "the message after the 429 was not stored");
    let calls = fake.lock().unwrap().calls.clone();
    assert_eq!(calls.len(), 2);
    assert!(
        calls[1].2 - calls[0].2 >= Duration::from_millis(190),
        "no backoff after 429: {:?}",
        calls[1].2 - calls[0].2
    );
    stop_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    let n = s.notices.lock().unwrap().clone();
    assert_eq!(n[0].category, renkei_core::Category::Medication);
}

#[tokio::test]
async fn network_error_is_reported() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let s = TestServer::start().await;
    let p = Poller::new(poll_cfg(&base, &["1"])).unwrap();
    assert!(matches!(
        p.poll_once(&s.state).await,
        Err(PollError::Network(_))
    ));
}

#[tokio::test]
async fn request_budget_is_shared_by_all_rooms() {
    let (base, fake) = fake_chatwork().await;
    let s = TestServer::start().await;
    let mut cfg = poll_cfg(&base, &["1", "2", "3"]);
    cfg.budget = 2;
    cfg.budget_period = Duration::from_millis(600);
    let p = Poller::new(cfg).unwrap();
    let t0 = Instant::now();
    p.poll_once(&s.state).await.unwrap();
    // Third request had to wait ~300 ms for a token.
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(fake.lock().unwrap().calls.len(), 3);
}

#[tokio::test]
async fn server_runs_the_poller_when_configured() {
    let (base, fake) = fake_chatwork().await;
    fake.lock().unwrap().script.push_back((
        200,
        serde_json::json!([msg(
            "1798000000000000041",
            "札幌北辰病院 山田",
            "退院の件でご相談です"
        )])
        .to_string(),
    ));
    let dir = tempfile::tempdir().unwrap();
    let state = renkei_intake::IntakeState::with_key(
        renkei_core::store::DataDir::new(dir.path()),
        renkei_core::store::StoreKey::random(),
        clock(),
        IntakeConfig {
            chatwork_poll: Some(poll_cfg(&base, &["301234567"])),
            ..IntakeConfig::default()
        },
    )
    .unwrap();
    let st = state.clone();
    let h = renkei_intake::spawn_with_state(state, "127.0.0.1:0").unwrap();
    let ok = eventually(Duration::from_secs(10), || {
        let st = st.clone();
        async move {
            st.with_desk(|d| Ok(d.quick_check()?.consultations))
                .await
                .unwrap()
                == 1
        }
    })
    .await;
    assert!(ok);
    let r = client()
        .get(format!("http://{}/healthz", h.addr()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::task::spawn_blocking(move || h.stop())
        .await
        .unwrap()
        .unwrap();
}
