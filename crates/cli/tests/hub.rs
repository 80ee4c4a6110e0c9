//! Two `renkei serve` processes on one store behave as one (issue 18): the same LINE WORKS
//! callback delivered to both at the same moment creates one consultation with one message.
//! On SQLite the two servers share the data dir; under `make unit-pg` they are two hubs on one
//! PostgreSQL database (`common::renkei` gives the data dir its schema) — the case a hub behind
//! a load balancer meets when LINE WORKS redelivers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::{HashMap, HashSet};

const LW_SECRET: &str = "lw-bot-secret-hub-test";

fn lw_message(round: usize) -> String {
    serde_json::json!({
        "type": "message",
        "source": {"userId": format!("user{round}@kakuu-hosp"), "channelId": format!("ch-{round}"), "domainId": 400012345},
        "issuedTime": format!("2026-12-01T00:{:02}:{:02}.123Z", round / 60, round % 60),
        "content": {"type": "text", "text": format!("退院調整のご相談です（{round}件目）")}
    })
    .to_string()
}

#[test]
fn the_same_callback_to_two_servers_at_once_creates_one_consultation() {
    const ROUNDS: usize = 25;
    const SENDS_PER_SERVER: usize = 2;
    // Read by both servers at start (they inherit the test's environment).
    std::env::set_var("RENKEI_LINEWORKS_BOT_SECRET", LW_SECRET);
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let init = renkei(&data, &key).arg("init").output().unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let a = start(&data, &key, tmp.path().join("a.log"));
    let b = start(&data, &key, tmp.path().join("b.log"));

    let mut ids_of_round: HashMap<usize, HashSet<i64>> = HashMap::new();
    let mut created = 0;
    for round in 0..ROUNDS {
        let body = lw_message(round);
        let sig = renkei_intake::lineworks::sign(LW_SECRET.as_bytes(), body.as_bytes());
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2 * SENDS_PER_SERVER));
        let senders: Vec<_> = [&a.addr, &b.addr]
            .into_iter()
            .flat_map(|addr| std::iter::repeat_n(addr.clone(), SENDS_PER_SERVER))
            .map(|addr| {
                let (body, sig, barrier) = (body.clone(), sig.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    send(
                        &addr,
                        "POST",
                        "/v1/webhooks/lineworks",
                        &[
                            ("Content-Type", "application/json"),
                            ("X-WORKS-Signature", sig.as_str()),
                        ],
                        &body,
                    )
                })
            })
            .collect();
        for s in senders {
            match s.join().unwrap() {
                Sent::Answer(200, text) => {
                    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                    ids_of_round
                        .entry(round)
                        .or_default()
                        .insert(v["id"].as_i64().unwrap());
                    if v["created"] == true {
                        created += 1;
                    }
                }
                other => panic!(
                    "round {round}: {other:?}; see {} and {}",
                    a.log.display(),
                    b.log.display()
                ),
            }
        }
    }
    for (round, ids) in &ids_of_round {
        assert_eq!(ids.len(), 1, "round {round}: answered with ids {ids:?}");
    }
    assert_eq!(created, ROUNDS, "exactly one answer per round says created");
    let rows = all_rows(&data, &key);
    assert_eq!(rows.len(), ROUNDS, "one consultation per callback");
    for r in &rows {
        assert_eq!(r["messages"], 1, "one message each: {r}");
        assert_eq!(r["channel"], "lineworks");
    }
    check_clean(&data, &key, "after the race");
}

/// A fake Chatwork API for the poll-lease test: one room whose message list grows; every GET
/// answers the whole list (the poller's cursor in the store skips what it has) and is recorded
/// with the token that asked — each hub polls with a token of its own.
#[derive(Default)]
struct FakeRoom {
    messages: Vec<serde_json::Value>,
    polls: Vec<(String, std::time::Instant)>,
}

type Room = std::sync::Arc<std::sync::Mutex<FakeRoom>>;

fn fake_chatwork(room: Room) -> String {
    use axum::routing::get;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/v2/rooms/:room/messages",
                get(move |headers: axum::http::HeaderMap| async move {
                    let token = headers
                        .get("x-chatworktoken")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let mut r = room.lock().unwrap();
                    r.polls.push((token, std::time::Instant::now()));
                    axum::Json(serde_json::Value::Array(r.messages.clone()))
                }),
            );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

fn chatwork_message(n: usize) -> serde_json::Value {
    serde_json::json!({
        "message_id": format!("{}", 1_798_000_000_000_000_000u64 + n as u64),
        "account": {"account_id": 1_234_567, "name": "札幌北辰病院 山田", "avatar_image_url": "https://example.invalid/a.png"},
        "body": format!("退院調整の件、続報です（{n}）"),
        "send_time": 1_796_089_200 + n as i64,
        "update_time": 0
    })
}

/// Tokens that polled since `since`.
fn pollers_since(room: &Room, since: std::time::Instant) -> HashSet<String> {
    room.lock()
        .unwrap()
        .polls
        .iter()
        .filter(|(_, at)| *at >= since)
        .map(|(t, _)| t.clone())
        .collect()
}

/// Chatwork polling runs in one hub at a time (a lease: an advisory lock on PostgreSQL, a file
/// lock on SQLite); when that hub is killed, the other takes over within a poll interval and
/// goes on from the shared cursor — every message in the store exactly once.
#[test]
fn chatwork_polling_runs_in_one_hub_and_the_other_takes_over_when_it_dies() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let init = renkei(&data, &key).arg("init").output().unwrap();
    assert!(init.status.success());
    let room: Room = Default::default();
    room.lock().unwrap().messages.push(chatwork_message(0));
    let base = fake_chatwork(room.clone());
    let env = |token: &'static str| -> Vec<(&'static str, String)> {
        vec![
            ("RENKEI_CHATWORK_API_TOKEN", token.to_string()),
            ("RENKEI_CHATWORK_ROOMS", "301234567".to_string()),
            ("RENKEI_CHATWORK_API_BASE", base.clone()),
            ("RENKEI_CHATWORK_POLL_SECS", "1".to_string()),
        ]
    };
    let start_hub = |name: &str, token: &'static str| {
        let env = env(token);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        start_with(&data, &key, tmp.path().join(format!("{name}.log")), &env)
    };
    let mut a = start_hub("a", "token-hub-a");
    let wait_for = |what: &str, cond: &dyn Fn() -> bool| {
        let t0 = std::time::Instant::now();
        while !cond() {
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_for("hub A to poll", &|| {
        !pollers_since(
            &room,
            std::time::Instant::now() - std::time::Duration::from_secs(60),
        )
        .is_empty()
    });
    let b = start_hub("b", "token-hub-b");
    // Both run for a while: only A polls.
    let both = std::time::Instant::now();
    for n in 1..=3 {
        std::thread::sleep(std::time::Duration::from_millis(1200));
        room.lock().unwrap().messages.push(chatwork_message(n));
    }
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let polled = pollers_since(&room, both);
    assert_eq!(
        polled,
        HashSet::from(["token-hub-a".to_string()]),
        "while A runs only A polls; see {} and {}",
        a.log.display(),
        b.log.display()
    );

    // A dies without a goodbye: B takes over within a poll interval or two.
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let killed = std::time::Instant::now();
    room.lock().unwrap().messages.push(chatwork_message(4));
    wait_for("hub B to take over", &|| {
        pollers_since(&room, killed).contains("token-hub-b")
    });
    let took = killed.elapsed();
    eprintln!("hub B took over polling {took:?} after hub A was killed");
    for n in 5..=6 {
        room.lock().unwrap().messages.push(chatwork_message(n));
        std::thread::sleep(std::time::Duration::from_millis(1200));
    }
    let rows = all_rows(&data, &key);
    wait_for("every message stored", &|| {
        all_rows(&data, &key)
            .iter()
            .map(|r| r["messages"].as_i64().unwrap())
            .sum::<i64>()
            >= 7
    });
    let total: i64 = all_rows(&data, &key)
        .iter()
        .map(|r| r["messages"].as_i64().unwrap())
        .sum();
    assert_eq!(
        total,
        7,
        "each of the 7 messages exactly once (rows before the last wait: {rows:?}); see {}",
        b.log.display()
    );
    drop(b);
    check_clean(&data, &key, "after the takeover");
}
