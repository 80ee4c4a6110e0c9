//! Replies end to end with real processes (issue 20): consultations come into `renkei serve`
//! through the signed Chatwork / LINE WORKS webhooks, `renkei reply` writes the reply, and the
//! server's outbox sender delivers it to local fakes of Chatwork and LINE WORKS (real sockets,
//! the JWT verified with the test key's public half; `crates/intake/tests/fakes`).
//!
//! * one reply per channel reaches its fake exactly once, at the right room/channel, within 2 s;
//! * a `renkei serve` SIGKILLed while 50 replies are going out: after a restart every reply has
//!   reached the fake, and none twice unless its entry says `maybe_duplicate`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "../../intake/tests/fakes/mod.rs"]
mod fakes;

use base64::Engine;
use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CW_WEBHOOK_TOKEN_BYTES: &[u8] = b"cli chatwork webhook token";
const LW_BOT_SECRET: &str = "cli-lineworks-bot-secret";

struct Env {
    vars: Vec<(&'static str, String)>,
}

fn env(fake: &fakes::FakeProviders, key_file: &Path, send: bool) -> Env {
    let mut vars = vec![
        (
            "RENKEI_CHATWORK_WEBHOOK_TOKEN",
            base64::engine::general_purpose::STANDARD.encode(CW_WEBHOOK_TOKEN_BYTES),
        ),
        ("RENKEI_LINEWORKS_BOT_SECRET", LW_BOT_SECRET.to_string()),
    ];
    if send {
        vars.extend([
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
            ("RENKEI_OUTBOX_LEASE_SECS", "2".to_string()),
            ("RENKEI_OUTBOX_RETRY_SECS", "0.2".to_string()),
        ]);
    }
    Env { vars }
}

/// `renkei serve` with `env` (like `common::start`).
fn serve(data: &Path, key: &Path, env: &Env, log: std::path::PathBuf) -> Server {
    let mut cmd = renkei(data, key);
    for (k, v) in &env.vars {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("ready line {line:?}; see {}", log.display()))
        .to_string();
    Server { child, addr, log }
}

fn chatwork_webhook(addr: &str, room: u64, message_id: &str, text: &str) -> i64 {
    let body = serde_json::json!({
        "webhook_setting_id": "1", "webhook_event_type": "message_created",
        "webhook_event_time": 1796089201,
        "webhook_event": {"message_id": message_id, "room_id": room, "account_id": 555,
            "body": text, "send_time": 1796089200, "update_time": 0}
    })
    .to_string();
    let sig = renkei_intake::lineworks::sign(CW_WEBHOOK_TOKEN_BYTES, body.as_bytes());
    let sent = send(
        addr,
        "POST",
        "/v1/webhooks/chatwork",
        &[
            ("Content-Type", "application/json"),
            ("X-ChatWorkWebhookSignature", &sig),
        ],
        &body,
    );
    id_of(sent)
}

fn lineworks_callback(addr: &str, channel: &str, text: &str) -> i64 {
    let body = serde_json::json!({
        "type": "message", "source": {"userId": "user-cli", "channelId": channel, "domainId": 1},
        "issuedTime": "2026-12-01T01:00:00.000Z", "content": {"type": "text", "text": text}
    })
    .to_string();
    let sig = renkei_intake::lineworks::sign(LW_BOT_SECRET.as_bytes(), body.as_bytes());
    let sent = send(
        addr,
        "POST",
        "/v1/webhooks/lineworks",
        &[
            ("Content-Type", "application/json"),
            ("X-WORKS-Signature", &sig),
        ],
        &body,
    );
    id_of(sent)
}

fn id_of(sent: Sent) -> i64 {
    match sent {
        Sent::Answer(200, b) => serde_json::from_str::<serde_json::Value>(&b).unwrap()["id"]
            .as_i64()
            .unwrap(),
        other => panic!("{other:?}"),
    }
}

fn reply(data: &Path, key: &Path, id: i64, text: &str) -> serde_json::Value {
    let out = renkei(data, key)
        .args([
            "reply",
            &id.to_string(),
            "--text",
            text,
            "--by",
            "田村",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn outbox(data: &Path, key: &Path) -> Vec<serde_json::Value> {
    let out = renkei(data, key)
        .args(["outbox", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
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
fn a_reply_from_the_cli_reaches_each_fake_once_within_2s() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let key_file = fakes::generate_key(tmp.path());
    let fake = fakes::start(Some(&key_file));
    let env = env(&fake, &key_file, true);
    let server = serve(&data, &key, &env, tmp.path().join("serve.log"));
    let cw = chatwork_webhook(
        &server.addr,
        301234567,
        "1798000000000000099",
        "訪問診療のご相談",
    );
    let lw = lineworks_callback(&server.addr, "channel-cli-1", "退院のご相談");

    for (id, text, kind, to) in [
        (cw, "承知しました（Chatwork）", "chatwork", "301234567"),
        (
            lw,
            "承知しました（LINE WORKS）",
            "lineworks-channel",
            "channel-cli-1",
        ),
    ] {
        let before = fake.accepted().len();
        let t = Instant::now();
        let r = reply(&data, &key, id, text);
        assert_eq!(r["delivery"], "outbox");
        assert_eq!(r["outbox"]["status"], "pending");
        assert!(
            wait_for(Duration::from_secs(5), || fake.accepted().len() > before),
            "not delivered; see {}",
            server.log.display()
        );
        let latency = t.elapsed();
        println!("REPLY LATENCY {kind}: {latency:?} (renkei reply process start → fake received)");
        assert!(latency < Duration::from_secs(2), "{kind}: {latency:?}");
        let got = fake.accepted().pop().unwrap();
        assert_eq!((got.kind.as_str(), got.to.as_str()), (kind, to));
        assert!(got.text.ends_with(text), "{}", got.text);
    }
    // exactly once each, even after more rounds
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(fake.accepted().len(), 2);
    assert!(fake.accepted()[0]
        .text
        .starts_with("[rp aid=555 to=301234567-1798000000000000099]"));
    assert!(wait_for(Duration::from_secs(3), || outbox(&data, &key)
        .iter()
        .all(|e| e["status"] == "sent")));
    let entries = outbox(&data, &key);
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e["attempts"], 1);
        assert!(e["sent_at"].is_string());
        assert_eq!(e["maybe_duplicate"], false);
        for field in [
            "id",
            "consultation_id",
            "channel",
            "status",
            "last_error",
            "remote_id",
        ] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
    }
    // an unknown consultation: one line, exit 3, nothing stored
    let out = renkei(&data, &key)
        .args(["reply", "99999", "--text", "x", "--by", "田村"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    assert_eq!(outbox(&data, &key).len(), 2);
}

#[test]
fn sigkill_while_50_replies_go_out_loses_none_and_marks_any_second_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let key_file = fakes::generate_key(tmp.path());
    let fake = fakes::start(Some(&key_file));
    // 50 consultations in 50 Chatwork rooms, taken in by a server that does not send
    let mut ids = Vec::new();
    {
        let quiet = serve(
            &data,
            &key,
            &env(&fake, &key_file, false),
            tmp.path().join("intake.log"),
        );
        for i in 0..50u64 {
            ids.push(chatwork_webhook(
                &quiet.addr,
                400_000 + i,
                &format!("17980000000000{i:05}"),
                "ご相談です",
            ));
        }
        let ok = Command::new("kill")
            .args(["-TERM", &quiet.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }
    for (i, id) in ids.iter().enumerate() {
        reply(&data, &key, *id, &format!("返信 {i:02}"));
    }
    assert!(outbox(&data, &key).iter().all(|e| e["status"] == "pending"));
    // a slow provider, so that the kill lands mid-way
    fake.state.lock().unwrap().answer_delay = Duration::from_millis(150);
    let env = env(&fake, &key_file, true);
    let mut first = serve(&data, &key, &env, tmp.path().join("serve1.log"));
    assert!(wait_for(Duration::from_secs(20), || fake.accepted().len() >= 10));
    first.child.kill().unwrap(); // SIGKILL
    first.child.wait().unwrap();
    let at_kill = fake.accepted().len();
    let in_flight = outbox(&data, &key)
        .iter()
        .filter(|e| e["status"] == "sending")
        .count();
    println!(
        "SIGKILL after {at_kill} replies reached the fake; {in_flight} entries left 'sending'"
    );
    assert!(at_kill < 50, "the kill came too late to prove anything");
    fake.state.lock().unwrap().answer_delay = Duration::ZERO;
    let second = serve(&data, &key, &env, tmp.path().join("serve2.log"));
    assert!(
        wait_for(Duration::from_secs(30), || outbox(&data, &key)
            .iter()
            .all(|e| e["status"] == "sent")),
        "not all sent; see {}",
        second.log.display()
    );
    let mut copies: HashMap<String, usize> = HashMap::new();
    for r in fake.accepted() {
        let text = r.text.lines().last().unwrap().to_string();
        *copies.entry(text).or_default() += 1;
    }
    let entries = outbox(&data, &key);
    assert_eq!(entries.len(), 50);
    let mut marked = 0;
    for (i, e) in entries.iter().enumerate() {
        let _ = i;
        let text = {
            let cid = e["consultation_id"].as_i64().unwrap();
            let n = ids.iter().position(|x| *x == cid).unwrap();
            format!("返信 {n:02}")
        };
        let n = copies.get(&text).copied().unwrap_or(0);
        assert!(n >= 1, "{text} never reached the fake");
        assert!(n <= 2, "{text} reached the fake {n} times");
        if e["maybe_duplicate"] == true {
            marked += 1;
        }
        if n == 2 {
            assert_eq!(
                e["maybe_duplicate"], true,
                "{text} arrived twice unmarked: {e}"
            );
        }
    }
    let twice = copies.values().filter(|n| **n > 1).count();
    println!("after restart: 50/50 delivered, {twice} twice, {marked} marked maybe_duplicate");
    assert!(
        marked >= in_flight,
        "every entry left 'sending' must come back marked"
    );
    check_clean(&data, &key, "after the outbox crash test");
}
