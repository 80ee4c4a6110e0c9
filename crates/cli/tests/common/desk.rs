//! A hub with connected desks for the tests of `/v1/desk/…` (issue 19): a real `renkei serve`,
//! staff with PINs, an enrolled device, plain-socket requests and a Server-Sent Events reader
//! (HTTP/1.1 chunked, parsed by hand so the test depends on no HTTP client).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

pub const DOCTOR: (&str, &str) = ("大野", "1234");
pub const CLERK: (&str, &str) = ("田村", "5678");

pub struct HubRig {
    pub tmp: tempfile::TempDir,
    pub data: std::path::PathBuf,
    pub key: std::path::PathBuf,
    pub partner_key: String,
}

impl HubRig {
    /// An initialised store with 大野 (doctor) and 田村 (clerk), both with PINs, and a partner.
    pub fn new() -> HubRig {
        let tmp = tempfile::tempdir().unwrap();
        let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
        let out = renkei(&data, &key).arg("init").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for ((name, pin), role) in [(DOCTOR, "doctor"), (CLERK, "clerk")] {
            let mut child = renkei(&data, &key)
                .args(["staff", "add", "--name", name, "--role", role, "--with-pin"])
                // The first profile with a PIN is the administrator who adds the next.
                .args(["--by", DOCTOR.0])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{pin}\n").as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let partner_key = partner_key(&data, &key);
        HubRig {
            tmp,
            data,
            key,
            partner_key,
        }
    }

    pub fn serve(&self, name: &str) -> Server {
        start(
            &self.data,
            &self.key,
            self.tmp.path().join(format!("{name}.log")),
        )
    }

    pub fn serve_at(&self, name: &str, now: &str) -> Server {
        start_with(
            &self.data,
            &self.key,
            self.tmp.path().join(format!("{name}.log")),
            &[("RENKEI_NOW", now)],
        )
    }

    /// `renkei ARGS…` → stdout (asserts success).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = renkei(&self.data, &self.key).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "renkei {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `renkei device add --name NAME --json` → the one-time code.
    pub fn device_code(&self, name: &str) -> String {
        let v: Value =
            serde_json::from_str(&self.cli(&["device", "add", "--name", name, "--json"])).unwrap();
        assert!(v["id"].as_i64().is_some(), "{v}");
        v["code"].as_str().unwrap().to_string()
    }

    /// A new consultation through the partner API; its id.
    pub fn arrival(&self, addr: &str, ext: &str) -> i64 {
        let body = serde_json::json!({
            "external_id": ext, "category": "discharge", "subject": "退院調整のご相談",
            "body": "来週退院予定の方について", "sender": {"name": "架空 連携"}
        })
        .to_string();
        match post(addr, &self.partner_key, &body) {
            Sent::Answer(201, b) => serde_json::from_str::<Value>(&b).unwrap()["id"]
                .as_i64()
                .unwrap(),
            other => panic!("post: {other:?}"),
        }
    }

    /// `renkei audit --json` (newest first).
    pub fn audit(&self) -> Vec<Value> {
        serde_json::from_str(&self.cli(&["audit", "--json", "--limit", "100000"])).unwrap()
    }
}

/// A connected PC: its device token and (once signed in) a staff session.
#[derive(Clone)]
pub struct Pc {
    pub addr: String,
    pub token: String,
    pub session: Option<String>,
}

/// One request; answers (status, JSON body or Null).
pub fn call(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    let text = body.map(|b| b.to_string()).unwrap_or_default();
    let mut h: Vec<(&str, &str)> = headers.to_vec();
    if body.is_some() {
        h.push(("Content-Type", "application/json"));
    }
    match send(addr, method, path, &h, &text) {
        Sent::Answer(s, b) => (s, serde_json::from_str(&b).unwrap_or(Value::Null)),
        other => panic!("{method} {path}: {other:?}"),
    }
}

impl Pc {
    pub fn enroll(addr: &str, code: &str) -> Pc {
        let (s, v) = call(
            addr,
            "POST",
            "/v1/desk/enroll",
            &[],
            Some(&serde_json::json!({"code": code})),
        );
        assert_eq!(s, 201, "{v}");
        Pc {
            addr: addr.to_string(),
            token: v["token"].as_str().unwrap().to_string(),
            session: None,
        }
    }

    pub fn sign_in(&mut self, (name, pin): (&str, &str)) -> Value {
        let (s, v) = self.call(
            "POST",
            "/v1/desk/sessions",
            Some(&serde_json::json!({"name": name, "pin": pin})),
        );
        assert_eq!(s, 201, "{v}");
        self.session = Some(v["session"].as_str().unwrap().to_string());
        v
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call_keyed(method, path, None, body)
    }

    /// [`Pc::call`] with an `Idempotency-Key` (the desk's offline outbox).
    pub fn call_keyed(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let auth = format!("Bearer {}", self.token);
        let mut h = vec![("Authorization", auth.as_str())];
        if let Some(s) = &self.session {
            h.push(("X-Renkei-Session", s.as_str()));
        }
        if let Some(k) = key {
            h.push(("Idempotency-Key", k));
        }
        call(&self.addr, method, path, &h, body)
    }

    pub fn row(&self, id: i64) -> Value {
        let (s, v) = self.call(
            "GET",
            &format!("/v1/desk/consultations/{id}?read=false"),
            None,
        );
        assert_eq!(s, 200, "{v}");
        v
    }

    pub fn take(&self, id: i64, version: i64) -> (u16, Value) {
        self.call(
            "POST",
            &format!("/v1/desk/consultations/{id}/take"),
            Some(&serde_json::json!({"version": version})),
        )
    }

    pub fn events(&self, last_event_id: Option<i64>) -> Sse {
        Sse::connect(
            &self.addr,
            &self.token,
            self.session.as_deref().unwrap(),
            last_event_id,
        )
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
}

/// A `GET /v1/desk/events` stream read on a plain socket.
pub struct Sse {
    reader: BufReader<TcpStream>,
    /// Decoded body bytes not yet split into lines.
    buf: Vec<u8>,
    pub heartbeats: usize,
    /// The server ended the stream.
    pub ended: bool,
}

impl Sse {
    pub fn connect(addr: &str, token: &str, session: &str, last: Option<i64>) -> Sse {
        let sa: SocketAddr = addr.parse().unwrap();
        let mut s = TcpStream::connect_timeout(&sa, IO_TIMEOUT).unwrap();
        s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut req = format!(
            "GET /v1/desk/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
             Authorization: Bearer {token}\r\nX-Renkei-Session: {session}\r\n"
        );
        if let Some(n) = last {
            req.push_str(&format!("Last-Event-ID: {n}\r\n"));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).unwrap();
        s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut reader = BufReader::new(s);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.contains(" 200 "), "events: {status}");
        let mut chunked = false;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line.trim().is_empty() {
                break;
            }
            let l = line.to_ascii_lowercase();
            if l.starts_with("transfer-encoding:") && l.contains("chunked") {
                chunked = true;
            }
            if l.starts_with("content-type:") {
                assert!(l.contains("text/event-stream"), "{line}");
            }
        }
        assert!(chunked, "an event stream is sent chunked");
        Sse {
            reader,
            buf: Vec::new(),
            heartbeats: 0,
            ended: false,
        }
    }

    /// Reads one chunk of the body into `buf` (blocking up to `timeout`); false on timeout.
    fn fill(&mut self, timeout: Duration) -> bool {
        self.reader
            .get_ref()
            .set_read_timeout(Some(timeout.max(Duration::from_millis(1))))
            .unwrap();
        if self.ended {
            return false;
        }
        let mut size = String::new();
        match self.reader.read_line(&mut size) {
            Ok(0) => {
                self.ended = true;
                return false;
            }
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                assert!(size.is_empty(), "a chunk size was cut by the timeout");
                return false;
            }
            Err(e) => panic!("reading the event stream: {e}"),
        }
        self.reader
            .get_ref()
            .set_read_timeout(Some(IO_TIMEOUT))
            .unwrap();
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            self.ended = true;
            return false;
        }
        let mut chunk = vec![0u8; n + 2];
        self.reader.read_exact(&mut chunk).unwrap();
        self.buf.extend_from_slice(&chunk[..n]);
        true
    }

    /// The next event (heartbeat comments counted, not returned), or `None` after `timeout`.
    pub fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            // A complete event ends with a blank line.
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..end + 2).collect();
                let text = String::from_utf8(block).unwrap();
                let (mut id, mut event, mut data) = (None, String::from("message"), String::new());
                let mut comment = false;
                for line in text.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        comment = true;
                        if c.trim() == "heartbeat" {
                            self.heartbeats += 1;
                        }
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().parse().unwrap());
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if comment && data.is_empty() {
                    continue;
                }
                return Some(SseEvent {
                    id,
                    event,
                    data: serde_json::from_str(&data).unwrap(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.fill(left) {
                return None;
            }
        }
    }

    /// Reads (and drops) events until the server ends the stream; false if it is still open
    /// after `timeout`.
    pub fn ends_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.ended {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.next(left);
        }
        true
    }

    /// The next `change` event (presence events skipped), or `None` after `timeout`.
    pub fn next_change(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self.next(left)?;
            if e.event == "change" {
                return Some(e);
            }
        }
    }
}
