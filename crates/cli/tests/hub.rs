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
