//! Live events for connected desks (issue 19) from a real `renkei serve`: `GET /v1/desk/events`
//! carries every change with its sequence id, a reconnect with `Last-Event-ID` gets exactly
//! what was missed, presence is broadcast; and (ignored by default, run by hand or by
//! `make bench`) the take → event latency on 5 other connections. SQLite, or PostgreSQL under
//! `make unit-pg`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::desk::*;
use serde_json::json;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_reconnect_with_last_event_id_gets_exactly_the_missed_events() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let mut a = Pc::enroll(&hub.addr, &rig.device_code("受付PC"));
    let mut b = Pc::enroll(&hub.addr, &rig.device_code("看護師PC"));
    a.sign_in(CLERK);
    b.sign_in(DOCTOR);
    let first = rig.arrival(&hub.addr, "L-1");

    // B follows from now on; A takes the item → B sees it, with A's name and the new owner.
    let mut sse = b.events(None);
    let v = a.row(first)["version"].as_i64().unwrap();
    assert_eq!(a.take(first, v).0, 200);
    let e = sse.next_change(WAIT).expect("the take as an event");
    assert_eq!(e.data["kind"], "consultation.ack");
    assert_eq!(e.data["consultation_id"], first);
    assert_eq!(e.data["who"], CLERK.0);
    assert_eq!(e.data["owner"], CLERK.0);
    assert_eq!(e.data["status"], "acknowledged");
    let seen = e.id.expect("a change event has an id");
    assert_eq!(e.data["seq"], seen);
    drop(sse);

    // While B is away: a note, a status change, a new arrival, a reply.
    let p = |id: i64, what: &str| format!("/v1/desk/consultations/{id}/{what}");
    let secret = "秘密のメモ本文";
    assert_eq!(
        a.call(
            "POST",
            &p(first, "messages"),
            Some(&json!({"kind": "note", "body": secret}))
        )
        .0,
        200
    );
    assert_eq!(
        a.call(
            "POST",
            &p(first, "status"),
            Some(&json!({"status": "in_progress"}))
        )
        .0,
        200
    );
    let second = rig.arrival(&hub.addr, "L-2");
    assert_eq!(
        a.call(
            "POST",
            &p(first, "reply"),
            Some(&json!({"body": "承知しました"}))
        )
        .0,
        200
    );
    // Not events: a sign-in (audited, but not about a consultation).
    let mut c = Pc::enroll(&hub.addr, &rig.device_code("院長PC"));
    c.sign_in(DOCTOR);

    let mut sse = b.events(Some(seen));
    let mut got = Vec::new();
    while let Some(e) = sse.next_change(Duration::from_millis(1500)) {
        got.push(e);
    }
    let kinds: Vec<(i64, &str)> = got
        .iter()
        .map(|e| {
            (
                e.data["consultation_id"].as_i64().unwrap(),
                e.data["kind"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (first, "message.note"),
            (first, "consultation.status"),
            (second, "consultation.create"),
            (first, "message.reply"),
        ],
        "exactly the missed events, in order"
    );
    let ids: Vec<i64> = got.iter().map(|e| e.id.unwrap()).collect();
    assert!(
        ids[0] > seen && ids.windows(2).all(|w| w[0] < w[1]),
        "{ids:?}"
    );
    assert!(
        got.iter().all(|e| !e.data.to_string().contains(secret)),
        "no message text in events"
    );

    // Live again on the resumed stream: presence and a new change.
    assert_eq!(
        a.call(
            "POST",
            "/v1/desk/presence",
            Some(&json!({"consultation_id": second, "state": "viewing"}))
        )
        .0,
        200
    );
    let e = sse.next(WAIT).expect("presence");
    assert_eq!(e.event, "presence");
    assert_eq!(e.id, None, "presence is not part of the sequence");
    assert_eq!(
        (e.data["who"].as_str(), e.data["state"].as_str()),
        (Some(CLERK.0), Some("viewing"))
    );
    let detail = b.row(second);
    assert_eq!(detail["presence"][0]["who"], CLERK.0, "{detail}");
    let v = b.row(second)["version"].as_i64().unwrap();
    assert_eq!(b.take(second, v).0, 200);
    let e = sse.next_change(WAIT).expect("the take");
    assert_eq!(
        (e.data["kind"].as_str(), e.data["who"].as_str()),
        (Some("consultation.ack"), Some(DOCTOR.0))
    );
    assert!(e.id.unwrap() > *ids.last().unwrap());

    // A change by another process (a `renkei` command on the same store) arrives too: the
    // hub's tail polls the sequence, it is not only woken by its own handlers.
    rig.cli(&[
        "status",
        &first.to_string(),
        "waiting_partner",
        "--by",
        "院長",
    ]);
    let e = sse.next_change(WAIT).expect("the other process's change");
    assert_eq!(
        (
            e.data["kind"].as_str(),
            e.data["who"].as_str(),
            e.data["status"].as_str()
        ),
        (
            Some("consultation.status"),
            Some("院長"),
            Some("waiting_partner")
        )
    );
}

#[test]
fn an_open_stream_ends_when_its_pc_is_revoked_or_its_session_signs_out() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let mut a = Pc::enroll(&hub.addr, &rig.device_code("受付PC"));
    let mut b = Pc::enroll(&hub.addr, &rig.device_code("看護師PC"));
    a.sign_in(CLERK);
    b.sign_in(DOCTOR);
    let mut sa = a.events(None);
    let mut sb = b.events(None);
    // Both streams live: an arrival reaches them.
    let id = rig.arrival(&hub.addr, "R-1");
    for s in [&mut sa, &mut sb] {
        assert_eq!(s.next_change(WAIT).unwrap().data["consultation_id"], id);
    }
    // A signs out on another connection; B's PC is revoked.
    assert_eq!(a.call("DELETE", "/v1/desk/sessions/current", None).0, 200);
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&rig.cli(&["device", "list", "--json"])).unwrap();
    let b_id = list.iter().find(|d| d["name"] == "看護師PC").unwrap()["id"].to_string();
    rig.cli(&["device", "revoke", &b_id]);
    let t = Instant::now();
    assert!(sa.ends_within(WAIT), "A's stream ends after sign-out");
    assert!(sb.ends_within(WAIT), "B's stream ends after the revoke");
    println!("STREAM END after revoke/sign-out: {:?}", t.elapsed());
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The take → event latency on 5 other connections (issue 19: "within 1 s"). Prints p50/p95;
/// asserts no speed (benchmarks measure time). `cargo test -p renkei-cli --test desk_live --
/// --ignored --nocapture` (under scripts/with-postgres.sh for PostgreSQL).
#[test]
#[ignore = "benchmark: run with --ignored (make bench)"]
fn take_to_event_latency_on_five_connections() {
    latency("one hub process", false);
}

/// The same with the takes sent to a second `renkei serve` on the same store: the listeners'
/// hub learns of them from PostgreSQL's `NOTIFY` (or, on SQLite, from its 200 ms poll).
#[test]
#[ignore = "benchmark: run with --ignored (make bench)"]
fn take_to_event_latency_across_two_hub_processes() {
    latency("two hub processes", true);
}

fn latency(what: &str, two_hubs: bool) {
    const TAKES: usize = 200;
    const LISTENERS: usize = 5;
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let other = two_hubs.then(|| rig.serve("hub2"));
    let taker_addr = other.as_ref().map_or(hub.addr.clone(), |o| o.addr.clone());
    let mut taker = Pc::enroll(&taker_addr, &rig.device_code("taker"));
    taker.sign_in(CLERK);
    let ids: Vec<i64> = (0..TAKES)
        .map(|i| rig.arrival(&hub.addr, &format!("B-{i}")))
        .collect();
    let (tx, rx) = std::sync::mpsc::channel::<(usize, i64, Instant)>();
    let mut threads = Vec::new();
    for n in 0..LISTENERS {
        let mut pc = Pc::enroll(&hub.addr, &rig.device_code(&format!("listener{n}")));
        pc.sign_in(DOCTOR);
        let mut sse = pc.events(None);
        let tx = tx.clone();
        threads.push(std::thread::spawn(move || {
            let mut seen = 0;
            while seen < TAKES {
                let Some(e) = sse.next_change(Duration::from_secs(30)) else {
                    break;
                };
                if e.data["kind"] == "consultation.ack" {
                    seen += 1;
                    let id = e.data["consultation_id"].as_i64().unwrap();
                    let _ = tx.send((n, id, Instant::now()));
                }
            }
        }));
    }
    drop(tx);
    std::thread::sleep(Duration::from_millis(500));
    let mut lat = Vec::new();
    let started = Instant::now();
    for id in &ids {
        let t0 = Instant::now();
        let (s, r) = taker.take(*id, 0);
        assert_eq!(s, 200, "{r}");
        for _ in 0..LISTENERS {
            let (_, got, at) = rx.recv_timeout(Duration::from_secs(30)).expect("event");
            assert_eq!(got, *id);
            lat.push((at - t0).as_secs_f64() * 1000.0);
        }
    }
    let wall = started.elapsed();
    for t in threads {
        t.join().unwrap();
    }
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let engine = if common::database_url(&rig.data).is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    println!(
        "DESK EVENT LATENCY engine={engine} ({what}) takes={TAKES} listeners={LISTENERS} \
         samples={} p50={:.1}ms p95={:.1}ms max={:.1}ms wall={:.1}s",
        lat.len(),
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        lat[lat.len() - 1],
        wall.as_secs_f64()
    );
}
