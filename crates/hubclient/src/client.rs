//! [`HubClient`]: one enrolled PC talking to the hub's staff API (`/v1/desk/…`,
//! docs/openapi.yaml). Blocking: the app's commands and background threads are synchronous.
//!
//! Every request carries the device token (`Authorization: Bearer rkd_…`) and, once staff
//! signed in, the session (`X-Renkei-Session: rks_…`). Who acts is decided by the hub from the
//! session; this client never sends a name with a change.

use crate::tls::{self, Seen, Trust};
use crate::url::HubUrl;
use crate::{DeviceCredential, EventStream, HubError, Result};
use renkei_core::model::{Message, QueueRow};
use renkei_core::store::consultations::QueueFilter;
use renkei_core::{Category, Status, Urgency};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The header that carries the staff session.
pub const SESSION_HEADER: &str = "X-Renkei-Session";

/// What `POST /v1/desk/enroll` gave this PC.
#[derive(Debug, Clone, Deserialize)]
pub struct Enrolled {
    pub device_id: i64,
    pub name: String,
    pub token: String,
}

/// A staff session on the hub.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedIn {
    pub session: String,
    pub staff: Value,
    pub idle_minutes: i64,
}

/// A connection to one hub, as one PC (and, once signed in, one staff member).
pub struct HubClient {
    url: HubUrl,
    pin: Option<String>,
    seen: Seen,
    http: reqwest::blocking::Client,
    token: Option<String>,
    session: Mutex<Option<String>>,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token or the session.
        f.debug_struct("HubClient").field("url", &self.url).finish()
    }
}

pub(crate) fn build_http(
    url: &HubUrl,
    trust: Trust<'_>,
    seen: &Seen,
    timeout: Option<Duration>,
) -> Result<reqwest::blocking::Client> {
    let mut b = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .user_agent(concat!("renkei-desk/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    if url.is_https() {
        let cfg = tls::client_config(trust, seen.clone()).map_err(HubError::Credential)?;
        b = b.use_preconfigured_tls(cfg).https_only(true);
    }
    b.build()
        .map_err(|e| HubError::Credential(format!("cannot set up the connection to the hub: {e}")))
}

/// Reads the hub's certificate fingerprint without sending any secret (`GET /healthz`): what
/// the app shows on first connect. `None` for a loopback `http://` hub.
pub fn probe(url: &HubUrl) -> Result<Option<String>> {
    if !url.is_https() {
        get_health(url, None)?;
        return Ok(None);
    }
    let seen: Seen = Arc::new(Mutex::new(None));
    let http = build_http(url, Trust::RecordOnly, &seen, Some(Duration::from_secs(10)))?;
    let sent = http.get(url.join("/healthz")).send();
    let fp = seen.lock().ok().and_then(|s| s.clone());
    match (sent, fp) {
        (Ok(r), Some(fp)) if r.status().is_success() => Ok(Some(fp)),
        (Ok(r), _) => Err(HubError::Protocol(format!(
            "GET /healthz answered {} — is this a Renkei hub?",
            r.status().as_u16()
        ))),
        (Err(e), _) => Err(unreachable(url, &e)),
    }
}

fn get_health(url: &HubUrl, pin: Option<&str>) -> Result<()> {
    let seen: Seen = Arc::new(Mutex::new(None));
    let http = build_http(url, Trust::Pin(pin), &seen, Some(Duration::from_secs(10)))?;
    match http.get(url.join("/healthz")).send() {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(HubError::Protocol(format!(
            "GET /healthz answered {} — is this a Renkei hub?",
            r.status().as_u16()
        ))),
        Err(e) => Err(unreachable(url, &e)),
    }
}

pub(crate) fn unreachable(url: &HubUrl, e: &reqwest::Error) -> HubError {
    let mut reason = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        reason = s.to_string();
        src = s.source();
    }
    HubError::Unreachable {
        url: url.to_string(),
        reason,
    }
}

impl HubClient {
    /// A client for `url`, trusting the certificate with fingerprint `pin` (besides public
    /// ones). No request is made.
    pub fn new(url: HubUrl, pin: Option<String>) -> Result<HubClient> {
        let seen: Seen = Arc::new(Mutex::new(None));
        let http = build_http(
            &url,
            Trust::Pin(pin.as_deref()),
            &seen,
            Some(Duration::from_secs(20)),
        )?;
        Ok(HubClient {
            url,
            pin,
            seen,
            http,
            token: None,
            session: Mutex::new(None),
        })
    }

    /// A client for an enrolled PC.
    pub fn from_credential(c: &DeviceCredential) -> Result<HubClient> {
        let mut h = HubClient::new(HubUrl::parse(&c.url)?, c.fingerprint.clone())?;
        h.token = Some(c.token.clone());
        Ok(h)
    }

    pub fn url(&self) -> &HubUrl {
        &self.url
    }

    pub fn pin(&self) -> Option<&str> {
        self.pin.as_deref()
    }

    /// The current staff session token, if signed in.
    pub fn session(&self) -> Option<String> {
        self.session.lock().ok().and_then(|s| s.clone())
    }

    /// Uses a session obtained earlier (a restart of the client within the idle time).
    pub fn set_session(&self, s: Option<String>) {
        if let Ok(mut g) = self.session.lock() {
            *g = s;
        }
    }

    /// Trades the one-time code for the device token; the client keeps it. The credential to
    /// store is [`HubClient::credential`].
    pub fn enroll(&mut self, code: &str, name: Option<&str>) -> Result<Enrolled> {
        let mut body = json!({ "code": code });
        if let Some(n) = name {
            body["name"] = json!(n);
        }
        let e: Enrolled = self.request("POST", "/v1/desk/enroll", Some(&body))?;
        self.token = Some(e.token.clone());
        Ok(e)
    }

    /// What to keep in the keyring after [`HubClient::enroll`].
    pub fn credential(&self, e: &Enrolled) -> DeviceCredential {
        DeviceCredential {
            url: self.url.to_string(),
            token: e.token.clone(),
            fingerprint: self.pin.clone(),
            device_id: e.device_id,
            device_name: e.name.clone(),
        }
    }

    /// Signs staff in with their PIN (the hub's lock-out rules); keeps the session.
    pub fn sign_in(&self, name: &str, pin: &str) -> Result<SignedIn> {
        let s: SignedIn = self.request(
            "POST",
            "/v1/desk/sessions",
            Some(&json!({"name": name, "pin": pin})),
        )?;
        self.set_session(Some(s.session.clone()));
        Ok(s)
    }

    /// Ends the session on the hub (forgotten here even if the hub is unreachable).
    pub fn sign_out(&self) -> Result<()> {
        let r: Result<Value> = self.request("DELETE", "/v1/desk/sessions/current", None);
        self.set_session(None);
        r.map(|_| ())
    }

    /// The sign-in list: `[{id, name, role, has_pin}]`.
    pub fn staff(&self) -> Result<Value> {
        let v: Value = self.request("GET", "/v1/desk/staff", None)?;
        Ok(v.get("staff").cloned().unwrap_or(Value::Array(vec![])))
    }

    /// The clinic's settings as the hub keeps them, secrets masked (`GET /v1/desk/settings`):
    /// what a connected PC shows read-only in its settings view.
    pub fn settings(&self) -> Result<Value> {
        self.request("GET", "/v1/desk/settings", None)
    }

    /// `(seq, rows)`: the queue in triage order and the change sequence read before it.
    pub fn queue(&self, filter: &QueueFilter) -> Result<(i64, Vec<QueueRow>)> {
        #[derive(Deserialize)]
        struct Rows {
            seq: i64,
            rows: Vec<QueueRow>,
        }
        let q = serde_urlencoded_query(filter)?;
        let r: Rows = self.request("GET", &format!("/v1/desk/queue{q}"), None)?;
        Ok((r.seq, r.rows))
    }

    /// The detail as JSON (the same shape as the app's `consultation_show`, plus `presence`
    /// and `seq`).
    pub fn show(&self, id: i64, read: bool) -> Result<Value> {
        self.request(
            "GET",
            &format!("/v1/desk/consultations/{id}?read={read}"),
            None,
        )
    }

    /// Take with compare-and-set on `version`: someone else took it meanwhile →
    /// `HubError::Api { code: "taken", owner: Some(name) }`.
    pub fn take(&self, id: i64, version: i64) -> Result<QueueRow> {
        self.request(
            "POST",
            &format!("/v1/desk/consultations/{id}/take"),
            Some(&json!({ "version": version })),
        )
    }

    pub fn set_status(&self, id: i64, status: Status) -> Result<QueueRow> {
        self.request(
            "POST",
            &format!("/v1/desk/consultations/{id}/status"),
            Some(&json!({ "status": status.as_str() })),
        )
    }

    pub fn assign(&self, id: i64, owner: Option<&str>) -> Result<QueueRow> {
        self.request(
            "POST",
            &format!("/v1/desk/consultations/{id}/assign"),
            Some(&json!({ "owner": owner })),
        )
    }

    pub fn set_urgency(&self, id: i64, urgency: Urgency) -> Result<QueueRow> {
        self.request(
            "POST",
            &format!("/v1/desk/consultations/{id}/urgency"),
            Some(&json!({ "urgency": urgency.as_str() })),
        )
    }

    pub fn set_category(&self, id: i64, category: Category) -> Result<QueueRow> {
        self.request(
            "POST",
            &format!("/v1/desk/consultations/{id}/category"),
            Some(&json!({ "category": category.as_str() })),
        )
    }

    /// Snoozes for `minutes` from the hub's now (`None` wakes it).
    pub fn snooze(&self, id: i64, minutes: Option<i64>) -> Result<QueueRow> {
        self.request(
            "POST",
            &format!("/v1/desk/consultations/{id}/snooze"),
            Some(&json!({ "minutes": minutes })),
        )
    }

    /// A document's bytes and type (`GET /v1/desk/documents/{id}`, audited at the hub as read by
    /// the session's staff).
    pub fn document(&self, attachment_id: i64) -> Result<(String, Vec<u8>)> {
        let mut req = self.http.get(
            self.url
                .join(&format!("/v1/desk/documents/{attachment_id}")),
        );
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(s) = self.session() {
            req = req.header(SESSION_HEADER, s);
        }
        let resp = req.send().map_err(|e| self.send_error(&e))?;
        if !resp.status().is_success() {
            return answer::<Value>(resp).map(|_| (String::new(), Vec::new()));
        }
        let media = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let bytes = resp
            .bytes()
            .map_err(|e| HubError::Protocol(format!("cannot read the document: {e}")))?;
        Ok((media, bytes.to_vec()))
    }

    /// Logs a phone call as a new consultation at the hub (`POST /v1/desk/phone`).
    pub fn phone(&self, call: &Value) -> Result<Value> {
        self.request("POST", "/v1/desk/phone", Some(call))
    }

    /// A note or phone log (`kind` `note` / `phone`).
    pub fn add_message(&self, id: i64, kind: &str, body: &str) -> Result<Message> {
        self.request(
            "POST",
            &format!("/v1/desk/consultations/{id}/messages"),
            Some(&json!({ "kind": kind, "body": body })),
        )
    }

    /// A reply on the consultation's channel: `{consultation_id, message, delivery, outbox}`.
    pub fn reply(
        &self,
        id: i64,
        body: &str,
        record_only: bool,
        pii_confirmed: bool,
    ) -> Result<Value> {
        self.request(
            "POST",
            &format!("/v1/desk/consultations/{id}/reply"),
            Some(
                &json!({"body": body, "record_only": record_only, "pii_confirmed": pii_confirmed}),
            ),
        )
    }

    /// "I am viewing / handling this" (`viewing`, `handling`, `gone`), repeated while open.
    pub fn presence(&self, id: i64, state: &str) -> Result<Value> {
        self.request(
            "POST",
            "/v1/desk/presence",
            Some(&json!({"consultation_id": id, "state": state})),
        )
    }

    /// Follows `GET /v1/desk/events` from `after` (the `seq` of the queue just read).
    pub fn events(&self, after: Option<i64>) -> Result<EventStream> {
        EventStream::new(
            self.url.clone(),
            self.pin.clone(),
            self.token.clone().unwrap_or_default(),
            self.session().unwrap_or_default(),
            after,
        )
    }

    /// Sends an action done offline (the desk's outbox, issue 19) under its `Idempotency-Key`:
    /// `take` (`{"version"}`), `status` (`{"status"}`) or `note` (`{"body"}`). The hub applies
    /// it once however often it is sent; a replay answers `{"replayed": true, …}`.
    pub fn send_keyed(&self, action: &str, id: i64, body: &Value, key: &str) -> Result<Value> {
        let (path, body) = match action {
            "take" => ("take", body.clone()),
            "status" => ("status", body.clone()),
            "note" => ("messages", json!({"kind": "note", "body": body["body"]})),
            other => {
                return Err(HubError::Protocol(format!(
                    "'{other}' is not an action that waits offline"
                )))
            }
        };
        self.request_keyed(
            "POST",
            &format!("/v1/desk/consultations/{id}/{path}"),
            Some(&body),
            Some(key),
        )
    }

    /// One request; a 2xx body parsed as `T`, anything else a [`HubError`].
    pub fn request<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T> {
        self.request_keyed(method, path, body, None)
    }

    /// [`HubClient::request`] with an `Idempotency-Key` header.
    pub fn request_keyed<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<T> {
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| HubError::Protocol(e.to_string()))?;
        let mut req = self.http.request(m, self.url.join(path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(s) = self.session() {
            req = req.header(SESSION_HEADER, s);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().map_err(|e| self.send_error(&e))?;
        answer(resp)
    }

    /// A failed send: the pinned certificate did not match → `CertificateChanged`, else the hub
    /// is unreachable.
    fn send_error(&self, e: &reqwest::Error) -> HubError {
        send_error(&self.url, self.pin.as_deref(), &self.seen, e)
    }
}

pub(crate) fn send_error(
    url: &HubUrl,
    pin: Option<&str>,
    seen: &Seen,
    e: &reqwest::Error,
) -> HubError {
    let got = seen.lock().ok().and_then(|mut s| s.take());
    if let (Some(got), Some(pinned)) = (got, pin) {
        if !tls::same_fingerprint(&got, pinned) && is_cert_error(e) {
            return HubError::CertificateChanged {
                got,
                pinned: pinned.to_string(),
            };
        }
    }
    if url.is_https() && pin.is_none() && is_cert_error(e) {
        return HubError::CertificateChanged {
            got: "(not publicly trusted)".into(),
            pinned: "(none yet)".into(),
        };
    }
    unreachable(url, e)
}

fn is_cert_error(e: &reqwest::Error) -> bool {
    let mut src: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = src {
        let t = s.to_string().to_ascii_lowercase();
        if t.contains("certificate") || t.contains("invalid peer") {
            return true;
        }
        src = s.source();
    }
    false
}

/// A response → `T` or the hub's `{code, message[, owner]}`.
pub(crate) fn answer<T: DeserializeOwned>(resp: reqwest::blocking::Response) -> Result<T> {
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .map_err(|e| HubError::Protocol(format!("cannot read the answer: {e}")))?;
    if (200..300).contains(&status) {
        return serde_json::from_str(&text)
            .map_err(|e| HubError::Protocol(format!("{e} in a {status} answer")));
    }
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    Err(HubError::Api {
        status,
        code: s("code").unwrap_or_else(|| format!("http_{status}")),
        message: s("message").unwrap_or_else(|| format!("the hub answered {status}")),
        owner: s("owner"),
    })
}

/// `?a=…&b=…` of the queue filter (empty when no filter is set).
fn serde_urlencoded_query(f: &QueueFilter) -> Result<String> {
    let v = serde_json::to_value(f).map_err(|e| HubError::Protocol(e.to_string()))?;
    let mut parts = Vec::new();
    if let Some(m) = v.as_object() {
        for (k, val) in m {
            let text = match val {
                Value::Null => continue,
                Value::Bool(false) => continue,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            parts.push(format!("{k}={}", encode(&text)));
        }
    }
    Ok(if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    })
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
