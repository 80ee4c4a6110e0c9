//! A real intake server on 127.0.0.1:0 over a real temporary data dir, with an explicit store
//! key (nothing is written to the home directory) and a frozen clock.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use renkei_core::clock::{parse_rfc3339, Clock, FixedClock};
use renkei_core::desk::Desk;
use renkei_core::store::partners::NewPartner;
use renkei_core::store::{DataDir, Store, StoreKey};
use renkei_core::PartnerKind;
use renkei_intake::{IntakeConfig, IntakeNotice, IntakeState};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";
pub const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];

pub struct TestServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub base: String,
    pub key: StoreKey,
    pub clock: Arc<dyn Clock>,
    pub state: IntakeState,
    pub notices: Arc<Mutex<Vec<IntakeNotice>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

pub fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::new(
        parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap(),
    ))
}

pub fn config() -> IntakeConfig {
    IntakeConfig {
        lineworks_bot_secret: Some("lw-bot-secret-札幌".into()),
        // base64 of "chatwork webhook token bytes"
        chatwork_webhook_token: Some("Y2hhdHdvcmsgd2ViaG9vayB0b2tlbiBieXRlcw==".into()),
        ..IntakeConfig::default()
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(config()).await
    }

    pub async fn start_with(mut config: IntakeConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::random();
        let clock = clock();
        let notices: Arc<Mutex<Vec<IntakeNotice>>> = Arc::default();
        let n2 = notices.clone();
        config.on_intake = Some(Arc::new(move |n| n2.lock().unwrap().push(n)));
        let state = IntakeState::with_key(
            DataDir::new(dir.path().join("data")),
            key.clone(),
            clock.clone(),
            config,
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(renkei_intake::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestServer {
            dir,
            addr,
            base: format!("http://{addr}"),
            key,
            clock,
            state,
            notices,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn data_dir(&self) -> DataDir {
        DataDir::new(self.dir.path().join("data"))
    }

    /// A separate store connection, as the desktop app or the CLI would have.
    pub fn desk(&self) -> Desk {
        Desk::open_with_key(&self.data_dir(), self.key.clone(), self.clock.clone()).unwrap()
    }

    /// The store opened on its own (no `Desk`), for counting rows with SQL in assertions.
    pub fn store(&self) -> Store {
        Store::open(&self.data_dir(), self.key.clone()).unwrap()
    }

    pub fn add_partner(&self, name: &str, kind: PartnerKind) -> (i64, String) {
        let (p, key) = self
            .desk()
            .add_partner(
                NewPartner {
                    name: name.into(),
                    kind: Some(kind),
                    ..Default::default()
                },
                "事務 佐藤",
            )
            .unwrap();
        (p.id, key)
    }

    pub fn count(&self, sql_where: &str) -> i64 {
        self.store()
            .conn()
            .query_row(
                &format!("SELECT count(*) FROM consultations {sql_where}"),
                [],
                |r| r.get(0),
            )
            .unwrap()
    }

    pub fn messages_of(&self, id: i64) -> i64 {
        self.store()
            .conn()
            .query_row(
                "SELECT count(*) FROM messages WHERE consultation_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
    }

    pub fn attachments(&self) -> i64 {
        self.store()
            .conn()
            .query_row("SELECT count(*) FROM attachments", [], |r| r.get(0))
            .unwrap()
    }

    /// Stops the server and waits until it has finished.
    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }

    pub fn stop_signal(&mut self) -> Option<tokio::sync::oneshot::Sender<()>> {
        self.stop.take()
    }

    pub fn take_task(&mut self) -> Option<tokio::task::JoinHandle<std::io::Result<()>>> {
        self.task.take()
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Asserts a JSON error answer `{code, message}` with `status`; returns the JSON.
pub async fn expect_error(resp: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(resp.status().as_u16(), status, "unexpected status");
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content-type was {ct}");
    let v: serde_json::Value = resp.json().await.unwrap();
    assert!(v["code"].is_string(), "no code in {v}");
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "no message in {v}"
    );
    v
}

/// Polls `check` until it is true or `timeout` passes.
pub async fn eventually<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return true;
        }
        if start.elapsed() > timeout {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn consultation(external_id: &str) -> serde_json::Value {
    serde_json::json!({
        "external_id": external_id,
        "category": "discharge",
        "subject": "退院前カンファレンスのご相談（12/5退院予定）",
        "body": "いつもお世話になっております。札幌北辰病院 地域連携室の山田です。\n12月5日退院予定の患者様について、退院後の訪問診療をお願いできますでしょうか。",
        "sender": {"name": "山田 花子", "role": "MSW", "phone": "011-000-0000"},
        "patient_ref": "K-2026-118"
    })
}

/// A Chatwork message with `text` through the signed webhook; the consultation id.
pub async fn chatwork_message(
    s: &TestServer,
    room: i64,
    message_id: &str,
    account: i64,
    text: &str,
) -> i64 {
    use base64::Engine as _;
    let body = serde_json::to_vec(&serde_json::json!({
        "webhook_setting_id": "12345",
        "webhook_event_type": "message_created",
        "webhook_event_time": 1796089201,
        "webhook_event": {"message_id": message_id, "room_id": room, "account_id": account,
            "body": text, "send_time": 1796089200, "update_time": 0}
    }))
    .unwrap();
    let key = base64::engine::general_purpose::STANDARD
        .decode(config().chatwork_webhook_token.unwrap())
        .unwrap();
    let sig = renkei_intake::lineworks::sign(&key, &body);
    post_signed(
        s,
        "/v1/webhooks/chatwork",
        "X-ChatWorkWebhookSignature",
        sig,
        body,
    )
    .await
}

/// A LINE WORKS message through the signed callback (`channel` None = a 1:1 talk); the
/// consultation id.
pub async fn lineworks_message(
    s: &TestServer,
    channel: Option<&str>,
    user: &str,
    text: &str,
) -> i64 {
    let mut source = serde_json::json!({"userId": user, "domainId": 1});
    if let Some(c) = channel {
        source["channelId"] = c.into();
    }
    let body = serde_json::to_vec(&serde_json::json!({
        "type": "message", "source": source, "issuedTime": "2026-12-01T01:00:00.000Z",
        "content": {"type": "text", "text": text}
    }))
    .unwrap();
    let sig =
        renkei_intake::lineworks::sign(config().lineworks_bot_secret.unwrap().as_bytes(), &body);
    post_signed(s, "/v1/webhooks/lineworks", "X-WORKS-Signature", sig, body).await
}

/// POSTs a signed webhook `body` to `path`; expects 200 and answers the consultation id.
async fn post_signed(
    s: &TestServer,
    path: &str,
    signature_header: &str,
    sig: String,
    body: Vec<u8>,
) -> i64 {
    let r = client()
        .post(s.url(path))
        .header("content-type", "application/json")
        .header(signature_header, sig)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}
