//! `renkei serve` as a real process on a real socket: the ready line, SIGTERM drains and exits
//! 0, and every consultation acknowledged with a 2xx survives a SIGKILL mid-load.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    addr: String,
}

fn renkei(data: &std::path::Path, key: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_renkei"));
    c.arg("--data-dir")
        .arg(data)
        .env("RENKEI_KEY_FILE", key)
        .env_remove("RENKEI_DB_KEY")
        .env("RENKEI_RATE_LIMIT_PER_MIN", "0");
    c
}

fn start(data: &std::path::Path, key: &std::path::Path) -> Server {
    let mut child = renkei(data, key)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("ready line: {line:?}"))
        .to_string();
    Server { child, addr }
}

/// One HTTP/1.1 request on a fresh connection; returns (status, body).
fn post(addr: &str, key: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "POST /v1/consultations HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((status, body))
}

fn partner_key(data: &std::path::Path, key: &std::path::Path) -> String {
    let out = renkei(data, key)
        .args([
            "partner",
            "add",
            "--name",
            "ひまわり訪問看護ステーション",
            "--kind",
            "nursing",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["api_key"].as_str().unwrap().to_string()
}

fn body(i: usize) -> String {
    serde_json::json!({
        "external_id": format!("crash-{i}"),
        "category": "nursing_intro",
        "subject": format!("訪問看護導入のご相談 {i}"),
        "body": "退院後の訪問看護導入についてご相談です。",
        "sender": {"name": "管理者 加藤", "role": "看護師"}
    })
    .to_string()
}

#[test]
fn sigterm_stops_cleanly_with_exit_0() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let api_key = partner_key(&data, &key);
    let mut server = start(&data, &key);
    let (status, _) = post(&server.addr, &api_key, &body(1)).unwrap();
    assert_eq!(status, 201);
    let ok = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let code = server.child.wait().unwrap();
    assert_eq!(code.code(), Some(0), "serve must exit 0 on SIGTERM");
}

#[test]
fn every_acknowledged_consultation_survives_a_kill_mid_load() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let api_key = partner_key(&data, &key);
    let mut server = start(&data, &key);
    let addr = server.addr.clone();
    // 4 writers keep posting; the server is killed while they are mid-request.
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (addr, api_key, acked) = (addr.clone(), api_key.clone(), acked.clone());
        writers.push(std::thread::spawn(move || {
            for i in 0..10_000 {
                match post(&addr, &api_key, &body(w * 100_000 + i)) {
                    Ok((201, b)) => {
                        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
                        acked.lock().unwrap().push(v["id"].as_i64().unwrap());
                    }
                    _ => return,
                }
            }
        }));
    }
    // wait until a good number are acknowledged, then SIGKILL
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while acked.lock().unwrap().len() < 60 {
        assert!(
            std::time::Instant::now() < deadline && writers.iter().any(|w| !w.is_finished()),
            "the server stopped acknowledging before the kill"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let out = renkei(&data, &key)
        .args(["queue", "--json", "--all"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let stored: std::collections::HashSet<i64> =
        rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    for id in &acked {
        assert!(
            stored.contains(id),
            "consultation {id} was acknowledged but is gone after the crash"
        );
    }
    let check = renkei(&data, &key).arg("check").output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
