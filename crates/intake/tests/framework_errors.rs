//! Errors the framework would make itself are JSON `{code, message}` too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use renkei_core::PartnerKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn unknown_route_is_json_404() {
    let s = TestServer::start().await;
    let r = client().get(s.url("/v2/nothing")).send().await.unwrap();
    assert_eq!(expect_error(r, 404).await["code"], "not_found");
    let r = client().get(s.url("/")).send().await.unwrap();
    expect_error(r, 404).await;
}

#[tokio::test]
async fn wrong_method_is_json_405() {
    let s = TestServer::start().await;
    let c = client();
    let r = c.delete(s.url("/v1/consultations")).send().await.unwrap();
    assert_eq!(expect_error(r, 405).await["code"], "method_not_allowed");
    let r = c.put(s.url("/v1/consultations/1")).send().await.unwrap();
    expect_error(r, 405).await;
    let r = c.get(s.url("/v1/webhooks/lineworks")).send().await.unwrap();
    expect_error(r, 405).await;
    let r = c.post(s.url("/healthz")).send().await.unwrap();
    expect_error(r, 405).await;
}

#[tokio::test]
async fn bad_percent_encoding_in_path_is_json() {
    let s = TestServer::start().await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    // Raw request: %FF is not UTF-8, which axum's Path extractor rejects itself.
    let mut sock = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!(
        "GET /v1/consultations/%FF HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    sock.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 4"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(v["code"].is_string() && v["message"].is_string(), "{v}");
}

#[tokio::test]
async fn huge_declared_length_is_413_without_reading_it() {
    let s = TestServer::start().await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let mut sock = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!(
        "POST /v1/consultations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: 900000000\r\n\r\n{{"
    );
    sock.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), sock.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let out = String::from_utf8_lossy(&buf[..n]);
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    assert!(out.contains("too_large"), "{out}");
    assert_eq!(s.count(""), 0);
}
