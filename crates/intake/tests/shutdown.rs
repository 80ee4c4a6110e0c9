//! Graceful shutdown: a request in flight when the stop signal comes is still answered (and
//! committed) before the server returns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use renkei_core::PartnerKind;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn shutdown_drains_a_request_in_flight() {
    let mut s = TestServer::start().await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let body = serde_json::to_vec(&consultation("SHUT-1")).unwrap();
    let mut sock = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /v1/consultations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&body[..20]).await.unwrap();
    sock.flush().await.unwrap();
    // Let the server pick the request up, then ask it to stop.
    tokio::time::sleep(Duration::from_millis(100)).await;
    s.stop_signal().unwrap().send(()).unwrap();
    let mut task = s.take_task().unwrap();
    // Still running: the request is not finished.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut task)
            .await
            .is_err(),
        "the server returned with a request in flight"
    );
    sock.write_all(&body[20..]).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), sock.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert!(out.starts_with("HTTP/1.1 201"), "{out}");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(s.count(""), 1);
}

#[tokio::test]
async fn in_process_server_stops_and_reports_its_address() {
    let data = tempfile::tempdir().unwrap();
    let key = renkei_core::store::StoreKey::random();
    let state = renkei_intake::IntakeState::with_key(
        renkei_core::store::DataDir::new(data.path()),
        key.clone(),
        clock(),
        renkei_intake::IntakeConfig::default(),
    )
    .unwrap();
    let h = renkei_intake::spawn_with_state(state, "127.0.0.1:0").unwrap();
    let addr = h.addr();
    assert_ne!(addr.port(), 0);
    let r = client()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::task::spawn_blocking(move || h.stop())
        .await
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    // A busy port is a clear error.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = l.local_addr().unwrap().to_string();
    let state = renkei_intake::IntakeState::with_key(
        renkei_core::store::DataDir::new(data.path()),
        key,
        clock(),
        renkei_intake::IntakeConfig::default(),
    )
    .unwrap();
    let err = renkei_intake::spawn_with_state(state, &busy).unwrap_err();
    assert!(err.contains("cannot listen"), "{err}");
    // A different key on the same store is refused.
    assert!(renkei_intake::IntakeState::with_key(
        renkei_core::store::DataDir::new(data.path()),
        renkei_core::store::StoreKey::random(),
        clock(),
        renkei_intake::IntakeConfig::default(),
    )
    .is_err());
}
