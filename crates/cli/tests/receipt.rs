//! The automatic messages with real processes (issue 20): `renkei partner receipt ID --on`,
//! `renkei ack` → the running `renkei serve` delivers the receipt to the local fake Chatwork
//! (real sockets); `renkei autoreply --oncall-user` + an urgent partner-API consultation that
//! nobody takes → a `renkei serve` whose domain clock (`RENKEI_NOW`) is 20 minutes later sends
//! the on-call message to the fake LINE WORKS user, once, and `renkei notifications` lists it
//! with its reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../intake/tests/fakes/mod.rs"]
mod fakes;

use base64::Engine;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const CW_WEBHOOK_TOKEN_BYTES: &[u8] = b"cli chatwork webhook token";

fn senders(fake: &fakes::FakeProviders, key_file: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "RENKEI_CHATWORK_WEBHOOK_TOKEN",
            base64::engine::general_purpose::STANDARD.encode(CW_WEBHOOK_TOKEN_BYTES),
        ),
        ("RENKEI_CHATWORK_API_TOKEN", fakes::CW_TOKEN.to_string()),
        ("RENKEI_CHATWORK_API_BASE", fake.chatwork_base()),
        ("RENKEI_LINEWORKS_API_BASE", fake.lineworks_base()),
        ("RENKEI_LINEWORKS_AUTH_URL", fake.lineworks_auth()),
        ("RENKEI_LINEWORKS_CLIENT_ID", fakes::CLIENT_ID.to_string()),
        (
            "RENKEI_LINEWORKS_CLIENT_SECRET",
            fakes::CLIENT_SECRET.to_string(),
        ),
        (
            "RENKEI_LINEWORKS_SERVICE_ACCOUNT",
            fakes::SERVICE_ACCOUNT.to_string(),
        ),
        (
            "RENKEI_LINEWORKS_PRIVATE_KEY_FILE",
            key_file.display().to_string(),
        ),
        ("RENKEI_LINEWORKS_BOT_ID", fakes::BOT_ID.to_string()),
    ]
}

fn serve_with(data: &Path, key: &Path, log: std::path::PathBuf, env: &[(&str, String)]) -> Server {
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    start_with(data, key, log, &envs)
}

fn run(data: &Path, key: &Path, args: &[&str]) -> serde_json::Value {
    let out = renkei(data, key).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "renkei {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn ack_from_the_cli_sends_the_receipt_to_the_chatwork_room() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let key_file = fakes::generate_key(tmp.path());
    let fake = fakes::start(Some(&key_file));
    // Wednesday 2 December 2026, 10:05 (domain time).
    let mut env = senders(&fake, &key_file);
    env.push(("RENKEI_NOW", "2026-12-02T10:05:00+09:00".into()));
    let server = serve_with(&data, &key, tmp.path().join("serve.log"), &env);
    let body = serde_json::json!({
        "webhook_setting_id": "1", "webhook_event_type": "message_created",
        "webhook_event_time": 1796089201,
        "webhook_event": {"message_id": "1798000000000000077", "room_id": 301234567, "account_id": 555,
            "body": "訪問診療のご相談です", "send_time": 1796089200, "update_time": 0}
    })
    .to_string();
    let sig = renkei_intake::lineworks::sign(CW_WEBHOOK_TOKEN_BYTES, body.as_bytes());
    let id = match send(
        &server.addr,
        "POST",
        "/v1/webhooks/chatwork",
        &[
            ("Content-Type", "application/json"),
            ("X-ChatWorkWebhookSignature", &sig),
        ],
        &body,
    ) {
        Sent::Answer(200, b) => serde_json::from_str::<serde_json::Value>(&b).unwrap()["id"]
            .as_i64()
            .unwrap(),
        other => panic!("{other:?}"),
    };
    let partners = run(&data, &key, &["partner", "list", "--json"]);
    let pid = partners[0]["id"].as_i64().unwrap();
    assert_eq!(partners[0]["receipt"], false, "off by default");
    let on = run(
        &data,
        &key,
        &[
            "partner",
            "receipt",
            &pid.to_string(),
            "--on",
            "--by",
            "院長",
            "--json",
        ],
    );
    assert_eq!(on["receipt"], true);

    let t = Instant::now();
    let out = renkei(&data, &key)
        .env("RENKEI_NOW", "2026-12-02T10:05:00+09:00")
        .args(["ack", &id.to_string(), "--by", "大野"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        wait_for(Duration::from_secs(5), || !fake.accepted().is_empty()),
        "no receipt; see {}",
        server.log.display()
    );
    println!(
        "RECEIPT LATENCY: {:?} (renkei ack process start → fake received)",
        t.elapsed()
    );
    let got = fake.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].kind.as_str(), got[0].to.as_str()),
        ("chatwork", "301234567")
    );
    assert!(
        got[0]
            .text
            .ends_with("受け付けました。担当：大野。本日17時までにご連絡します。")
            || got[0].text.contains("受け付けました。担当：大野。"),
        "{}",
        got[0].text
    );
    let entries = run(&data, &key, &["outbox", "--json"]);
    assert_eq!(entries.as_array().unwrap().len(), 1);
    assert_eq!(entries[0]["kind"], "receipt");
    // A second ack sends nothing more.
    run(&data, &key, &["ack", &id.to_string(), "--by", "田村"]);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(fake.accepted().len(), 1);
}

#[test]
fn an_untaken_urgent_item_reaches_the_oncall_doctor_once_and_is_in_the_history() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let key_file = fakes::generate_key(tmp.path());
    let fake = fakes::start(Some(&key_file));
    let api_key = partner_key(&data, &key);
    let set = run(
        &data,
        &key,
        &[
            "autoreply",
            "--oncall-user",
            "doctor-9",
            "--by",
            "院長",
            "--json",
        ],
    );
    assert_eq!(set["oncall_lineworks_user"], "doctor-9");
    // A bad template is refused in Japanese, nothing saved.
    let out = renkei(&data, &key)
        .args(["autoreply", "--template", "担当：{担当者}", "--by", "院長"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("{担当者} は使えません"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 21:00: the urgent item arrives (no sender configured in this process).
    let early = vec![("RENKEI_NOW", "2026-12-02T21:00:00+09:00".to_string())];
    let a = serve_with(&data, &key, tmp.path().join("a.log"), &early);
    let body = serde_json::json!({
        "external_id": "urgent-1", "category": "new_home_visit", "urgency": "urgent",
        "subject": "至急の往診依頼", "body": "架空山 花子さんが発熱しています",
        "sender": {"name": "訪問看護ステーション 架空"}
    })
    .to_string();
    let id = match post(&a.addr, &api_key, &body) {
        Sent::Answer(201, b) => serde_json::from_str::<serde_json::Value>(&b).unwrap()["id"]
            .as_i64()
            .unwrap(),
        other => panic!("{other:?}"),
    };
    drop(a);
    // 21:20, nobody took it: two servers at once (as `renkei serve` and the app would) — the
    // doctor gets one message.
    let mut env = senders(&fake, &key_file);
    env.push(("RENKEI_NOW", "2026-12-02T21:20:00+09:00".into()));
    let b = serve_with(&data, &key, tmp.path().join("b.log"), &env);
    let c = serve_with(&data, &key, tmp.path().join("c.log"), &env);
    assert!(
        wait_for(Duration::from_secs(10), || fake
            .accepted()
            .iter()
            .any(|r| r.kind == "lineworks-user")),
        "no on-call message; see {}",
        b.log.display()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let to_doctor: Vec<_> = fake
        .accepted()
        .into_iter()
        .filter(|r| r.kind == "lineworks-user")
        .collect();
    assert_eq!(to_doctor.len(), 1, "{to_doctor:?}");
    assert_eq!(to_doctor[0].to, "doctor-9");
    assert!(to_doctor[0]
        .text
        .contains(&format!("renkei://consultation/{id}")));
    assert!(!to_doctor[0].text.contains("架空"));
    let log = run(&data, &key, &["notifications", "--json"]);
    let hits: Vec<_> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            n["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("oncall_escalation:"))
        })
        .collect();
    assert_eq!(hits.len(), 1, "{log}");
    drop((b, c));
}
