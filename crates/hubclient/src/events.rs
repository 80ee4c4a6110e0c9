//! Following `GET /v1/desk/events` (Server-Sent Events): `event: change` with `id: <seq>`,
//! `event: presence` (no id), `: heartbeat` comments every 15 s.
//!
//! [`EventStream::next`] returns the next event; when the stream ends or the network drops it
//! reconnects with `Last-Event-ID: <last id seen>` after a backoff (0.5 s doubling to 10 s), so
//! the hub replays exactly the changes missed. An answer of 401 (PC revoked, session ended)
//! is not retried: it is returned, and the app locks or disconnects.

use crate::client::{answer, build_http, send_error, SESSION_HEADER};
use crate::tls::{Seen, Trust};
use crate::url::HubUrl;
use crate::{HubError, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One event from the hub.
#[derive(Debug, Clone, PartialEq)]
pub enum HubEvent {
    /// A change of a consultation: `{seq, at, kind, consultation_id, who, status, owner,
    /// version}` — never message text.
    Change { seq: i64, data: Value },
    /// Someone views or handles a consultation: `{consultation_id, who, state, ttl_seconds}`.
    Presence(Value),
}

/// The first and the longest wait before a reconnect.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// A followed event stream that survives reconnects.
pub struct EventStream {
    url: HubUrl,
    pin: Option<String>,
    seen: Seen,
    http: reqwest::blocking::Client,
    token: String,
    session: String,
    last_id: Option<i64>,
    reader: Option<BufReader<reqwest::blocking::Response>>,
    backoff: Duration,
    /// How many times the stream was (re)opened — for tests and the status line.
    pub connects: u32,
}

impl EventStream {
    pub(crate) fn new(
        url: HubUrl,
        pin: Option<String>,
        token: String,
        session: String,
        after: Option<i64>,
    ) -> Result<EventStream> {
        let seen: Seen = Arc::new(Mutex::new(None));
        // No total timeout: the stream is long-lived (heartbeats every 15 s keep it alive).
        let http = build_http(&url, Trust::Pin(pin.as_deref()), &seen, None)?;
        Ok(EventStream {
            url,
            pin,
            seen,
            http,
            token,
            session,
            last_id: after,
            reader: None,
            backoff: BACKOFF_FIRST,
            connects: 0,
        })
    }

    /// The id of the last change received (what a reconnect resumes from).
    pub fn last_id(&self) -> Option<i64> {
        self.last_id
    }

    fn open(&mut self) -> Result<()> {
        let mut req = self
            .http
            .get(self.url.join("/v1/desk/events"))
            .bearer_auth(&self.token)
            .header(SESSION_HEADER, &self.session)
            .header("Accept", "text/event-stream");
        if let Some(id) = self.last_id {
            req = req.header("Last-Event-ID", id.to_string());
        }
        let resp = req
            .send()
            .map_err(|e| send_error(&self.url, self.pin.as_deref(), &self.seen, &e))?;
        if !resp.status().is_success() {
            return Err(answer::<Value>(resp).err().unwrap_or_else(|| {
                HubError::Protocol("the event stream answered without an error".into())
            }));
        }
        self.connects += 1;
        self.reader = Some(BufReader::new(resp));
        Ok(())
    }

    /// Opens the stream once, without retrying: a refused PC or session is reported at once.
    pub fn connect(&mut self) -> Result<()> {
        self.open()
    }

    /// The next event, reconnecting as needed. Returns an error only for what a reconnect
    /// cannot fix: `401` (revoked PC, ended session), a changed certificate.
    pub fn next_event(&mut self) -> Result<HubEvent> {
        loop {
            if self.reader.is_none() {
                match self.open() {
                    Ok(()) => {}
                    Err(e @ (HubError::Api { .. } | HubError::CertificateChanged { .. })) => {
                        if matches!(&e, HubError::Api { status, .. } if *status >= 500) {
                            self.wait();
                            continue;
                        }
                        return Err(e);
                    }
                    Err(_) => {
                        self.wait();
                        continue;
                    }
                }
            }
            match self.read_one() {
                Some(ev) => {
                    self.backoff = BACKOFF_FIRST;
                    return Ok(ev);
                }
                None => {
                    // The stream ended (hub restarted, network dropped): resume after a wait.
                    self.reader = None;
                    self.wait();
                }
            }
        }
    }

    fn wait(&mut self) {
        std::thread::sleep(self.backoff);
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    /// Reads lines until one whole event; `None` when the stream ends.
    fn read_one(&mut self) -> Option<HubEvent> {
        let reader = self.reader.as_mut()?;
        let (mut event, mut id, mut data) = (String::new(), None::<i64>, String::new());
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if data.is_empty() {
                    continue;
                }
                let v: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                if event == "presence" {
                    return Some(HubEvent::Presence(v));
                }
                let seq = id
                    .or_else(|| v.get("seq").and_then(Value::as_i64))
                    .unwrap_or_default();
                if let Some(i) = id {
                    self.last_id = Some(i);
                }
                return Some(HubEvent::Change { seq, data: v });
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event = value.to_string(),
                "id" => id = value.trim().parse().ok(),
                "data" => {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(value);
                }
                _ => {}
            }
        }
    }
}
