#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Hostile input against a real server over a real TCP socket: hundreds of malformed requests
//! (random bytes, deep nesting, invalid UTF-8, lone surrogates, huge fields, wrong types, NUL
//! and control characters, duplicate keys, numbers out of range, broken chunked encoding, wrong
//! Content-Length, header garbage) at every intake endpoint, with and without valid
//! credentials, and slow clients (slowloris, slow bodies).
//!
//! What must hold: no answer is 5xx; every error answer is JSON `{code, message}`; nothing is
//! stored (consultations, messages, attachments, blob files); the server still answers a valid
//! request quickly afterwards, and while slow clients hang on; slow clients are cut off within
//! the configured limits and cannot stall a graceful shutdown.
//!
//! Requests are written as raw bytes (so broken HTTP can be sent too); the random parts come
//! from a fixed seed, so every run sends the same bytes.

mod common;
use base64::Engine;
use common::*;
use rand::{Rng, SeedableRng};
use renkei_core::store::consultations::QueueFilter;
use renkei_core::PartnerKind;
use renkei_intake::{IntakeConfig, Timeouts};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LW_SECRET: &str = "lw-bot-secret-札幌";
const MIB: usize = 1024 * 1024;

/// Short limits so that slow and truncated requests end within the test's time.
fn hostile_config() -> IntakeConfig {
    IntakeConfig {
        rate_limit_per_min: 0,
        timeouts: Timeouts {
            header_read: Duration::from_secs(1),
            body_idle: Duration::from_secs(1),
            body_total: Duration::from_secs(3),
            attachment_total: Duration::from_secs(3),
        },
        ..config()
    }
}

fn lw_sign(body: &[u8]) -> String {
    renkei_intake::lineworks::sign(LW_SECRET.as_bytes(), body)
}

fn cw_sign(body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(config().chatwork_webhook_token.unwrap())
        .unwrap();
    renkei_intake::lineworks::sign(&key, body)
}

// ----- raw HTTP ------------------------------------------------------------------------------

/// A request as bytes: request line, `Host`, the given headers, `Content-Length` (unless the
/// headers set it or `Transfer-Encoding`), `Connection: close`, then the body.
fn http(method: &str, path: &str, headers: &[(&str, Vec<u8>)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
    let mut framed = false;
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        framed |= lower == "content-length" || lower == "transfer-encoding";
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if !framed {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(body);
    out
}

fn h(name: &'static str, value: impl AsRef<[u8]>) -> (&'static str, Vec<u8>) {
    (name, value.as_ref().to_vec())
}

#[derive(Debug)]
struct Reply {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

#[derive(Debug)]
enum Outcome {
    Reply(Reply),
    /// The server closed the connection without an answer.
    Closed,
    /// Neither an answer nor a close within the wait.
    Hung,
    /// Bytes that are not an HTTP answer.
    Garbled(String),
}

/// The first final (non-1xx) answer in `buf`, if complete.
fn parse_reply(buf: &[u8], eof: bool) -> Option<Result<Reply, String>> {
    let mut rest = buf;
    loop {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&rest[..end]).to_string();
        let status: u16 = match head.get(9..12).and_then(|s| s.parse().ok()) {
            Some(s) if head.starts_with("HTTP/1.") => s,
            _ => return Some(Err(format!("not an HTTP answer: {head:?}"))),
        };
        if (100..200).contains(&status) {
            rest = &rest[end..];
            continue;
        }
        let header = |name: &str| {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        };
        let body = &rest[end..];
        let body = match header("content-length").and_then(|v| v.parse::<usize>().ok()) {
            Some(n) if body.len() >= n => body[..n].to_vec(),
            Some(_) if eof => return Some(Err("answer cut short".into())),
            Some(_) => return None,
            None if eof => body.to_vec(),
            None => return None,
        };
        return Some(Ok(Reply {
            status,
            content_type: header("content-type").unwrap_or_default(),
            body,
        }));
    }
}

/// Sends `bytes` on a new connection (in the background, so that an early answer is read even
/// while a large body is still being written) and reads the answer.
async fn exchange(addr: SocketAddr, bytes: Arc<Vec<u8>>, wait: Duration) -> Outcome {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&bytes).await;
        let _ = wr.flush().await;
        // Keep the write half open: dropping it would half-close the connection.
        wr
    });
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let outcome = loop {
        match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
            Err(_) => {
                break match parse_reply(&buf, true) {
                    Some(Ok(r)) => Outcome::Reply(r),
                    _ if buf.is_empty() => Outcome::Hung,
                    _ => Outcome::Garbled(String::from_utf8_lossy(&buf).into()),
                }
            }
            Ok(Ok(n)) => {
                let eof = n == 0;
                buf.extend_from_slice(&chunk[..n]);
                if let Some(r) = parse_reply(&buf, eof) {
                    break match r {
                        Ok(r) => Outcome::Reply(r),
                        Err(e) => Outcome::Garbled(e),
                    };
                }
                if eof {
                    break if buf.is_empty() {
                        Outcome::Closed
                    } else {
                        Outcome::Garbled(String::from_utf8_lossy(&buf).into())
                    };
                }
            }
            Ok(Err(_)) => {
                break match parse_reply(&buf, true) {
                    Some(Ok(r)) => Outcome::Reply(r),
                    _ if buf.is_empty() => Outcome::Closed,
                    _ => Outcome::Garbled(String::from_utf8_lossy(&buf).into()),
                }
            }
        }
    };
    writer.abort();
    outcome
}

// ----- the cases -----------------------------------------------------------------------------

struct Case {
    name: String,
    bytes: Arc<Vec<u8>>,
    /// Broken HTTP: closing the connection without an answer is acceptable too.
    may_close: bool,
}

struct Cases {
    list: Vec<Case>,
}

impl Cases {
    fn add(&mut self, name: impl Into<String>, bytes: Vec<u8>) {
        self.list.push(Case {
            name: name.into(),
            bytes: Arc::new(bytes),
            may_close: false,
        });
    }
    fn add_raw(&mut self, name: impl Into<String>, bytes: Vec<u8>) {
        self.list.push(Case {
            name: name.into(),
            bytes: Arc::new(bytes),
            may_close: true,
        });
    }
}

/// `template` with the value at `path` replaced by the raw JSON text `raw` (which may be
/// invalid JSON on purpose).
fn splice(template: &Value, path: &[&str], raw: &[u8]) -> Vec<u8> {
    const MARK: &str = "@@HOSTILE@@";
    let mut v = template.clone();
    let mut at = &mut v;
    for (i, key) in path.iter().enumerate() {
        if i + 1 == path.len() {
            at[*key] = Value::String(MARK.into());
        } else {
            at = &mut at[*key];
        }
    }
    let text = serde_json::to_vec(&v).unwrap();
    let mark = format!("\"{MARK}\"");
    let pos = text
        .windows(mark.len())
        .position(|w| w == mark.as_bytes())
        .unwrap();
    let mut out = text[..pos].to_vec();
    out.extend_from_slice(raw);
    out.extend_from_slice(&text[pos + mark.len()..]);
    out
}

/// A JSON string literal with `inner` (raw bytes) between the quotes.
fn quoted(inner: &[u8]) -> Vec<u8> {
    let mut out = vec![b'"'];
    out.extend_from_slice(inner);
    out.push(b'"');
    out
}

fn lw_event() -> Value {
    json!({
        "type": "message",
        "source": {"userId": "tanaka@kita-houkatsu", "channelId": "ch-hostile-0001", "domainId": 400012345},
        "issuedTime": "2026-12-01T00:51:02.123Z",
        "content": {"type": "text", "text": "明日の訪問についてご相談です"}
    })
}

fn cw_event() -> Value {
    json!({
        "webhook_setting_id": "12345",
        "webhook_event_type": "message_created",
        "webhook_event_time": 1796089201,
        "webhook_event": {"message_id": "1700000000000000001", "room_id": 301234567,
            "account_id": 1234567, "body": "[To:1]ご相談です", "send_time": 1796089200, "update_time": 0}
    })
}

/// Values of the wrong type for a string (or object) field.
const WRONG_TYPES: &[&str] = &[
    "1",
    "-1",
    "1.5",
    "true",
    "false",
    "[]",
    "[\"x\"]",
    "{}",
    "{\"a\":1}",
];

/// Numbers a JSON parser may choke on.
const BAD_NUMBERS: &[&str] = &[
    "1e999",
    "-1e999",
    "18446744073709551616",
    "-9223372036854775809",
    "123456789012345678901234567890",
    "1e-999",
    "-0",
    "0x10",
    "01",
    "NaN",
    "Infinity",
];

/// Invalid UTF-8 inside a string: a stray byte, an overlong slash, an encoded surrogate, a cut
/// multi-byte character, a five-byte form.
const BAD_UTF8: &[&[u8]] = &[
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xe3\x81",
    b"\xf8\x88\x80\x80\x80",
];

const LONE_SURROGATES: &[&str] = &["\\ud800", "\\udfff", "\\ud800x", "\\udc00\\ud800"];

/// Escaped control characters, for one-line fields.
const CONTROLS: &[&str] = &[
    "\\u0000",
    "\\u0001",
    "\\u001b[2J",
    "\\n",
    "\\u007f",
    "\\u0085",
];

fn random_bytes(rng: &mut rand::rngs::StdRng, max: usize) -> Vec<u8> {
    let n = rng.gen_range(0..max);
    let mut v = vec![0u8; n];
    rng.fill(&mut v[..]);
    v
}

/// Random sequences of JSON tokens: mostly invalid, sometimes valid but meaningless.
fn token_soup(rng: &mut rand::rngs::StdRng) -> Vec<u8> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"category\"",
        "\"subject\"",
        "\"sender\"",
        "\"name\"",
        "\"discharge\"",
        "1",
        "-0",
        "1e999",
        "true",
        "null",
        "\"\\ud800\"",
        "\"\\u0000\"",
        "\"退院\"",
        " ",
        "\"",
        "\\",
        "\u{0}",
        "\u{1b}",
    ];
    let n = rng.gen_range(1..60);
    let mut out = String::new();
    for _ in 0..n {
        out.push_str(TOKENS[rng.gen_range(0..TOKENS.len())]);
    }
    out.into_bytes()
}

struct Setup {
    key: String,
    own_id: i64,
    other_id: i64,
}

/// Builds every malformed request.
fn build_cases(setup: &Setup, rng: &mut rand::rngs::StdRng) -> Cases {
    let mut c = Cases { list: Vec::new() };
    let bearer = format!("Bearer {}", setup.key);
    let json_ct = h("Content-Type", "application/json");
    let auth = h("Authorization", &bearer);
    let valid = consultation("HOSTILE-VALID-SHAPE");

    let create = |body: &[u8]| {
        http(
            "POST",
            "/v1/consultations",
            &[auth.clone(), json_ct.clone()],
            body,
        )
    };
    let lw = |body: &[u8]| {
        http(
            "POST",
            "/v1/webhooks/lineworks",
            &[json_ct.clone(), h("X-WORKS-Signature", lw_sign(body))],
            body,
        )
    };
    let cw = |body: &[u8]| {
        http(
            "POST",
            "/v1/webhooks/chatwork",
            &[
                json_ct.clone(),
                h("X-ChatWorkWebhookSignature", cw_sign(body)),
            ],
            body,
        )
    };
    let attach = |id: &str, ct: &str, body: &[u8]| {
        http(
            "POST",
            &format!("/v1/consultations/{id}/attachments"),
            &[auth.clone(), h("Content-Type", ct)],
            body,
        )
    };

    // --- random bytes and token soup, at every parser, signed so that the parser is reached.
    for i in 0..40 {
        let b = random_bytes(rng, 4096);
        c.add(format!("partner random bytes #{i}"), create(&b));
        let b = random_bytes(rng, 4096);
        c.add(format!("lineworks random bytes #{i}"), lw(&b));
        let b = random_bytes(rng, 4096);
        c.add(format!("chatwork random bytes #{i}"), cw(&b));
    }
    for i in 0..30 {
        let b = token_soup(rng);
        c.add(format!("partner token soup #{i}"), create(&b));
        let b = token_soup(rng);
        c.add(format!("lineworks token soup #{i}"), lw(&b));
        let b = token_soup(rng);
        c.add(format!("chatwork token soup #{i}"), cw(&b));
    }
    for (i, ct) in ["application/pdf", "image/png", "image/jpeg", "image/tiff"]
        .iter()
        .enumerate()
    {
        for j in 0..5 {
            let mut b = random_bytes(rng, 8192);
            // Never a real magic number by chance.
            b.insert(0, 0);
            c.add(
                format!("attachment random bytes as {ct} #{i}.{j}"),
                attach(&setup.own_id.to_string(), ct, &b),
            );
        }
    }

    // --- deep nesting.
    let nest: Vec<(&str, Vec<u8>)> = vec![
        ("100 000 [", vec![b'['; 100_000]),
        ("100 000 {\"a\":", b"{\"a\":".repeat(100_000)),
        ("200 balanced []", {
            let mut v = vec![b'['; 200];
            v.extend(vec![b']'; 200]);
            v
        }),
        (
            "sender nested 130 deep",
            splice(&valid, &["sender"], &{
                let mut v = b"{\"name\":".repeat(130);
                v.extend_from_slice(b"\"x\"");
                v.extend(vec![b'}'; 130]);
                v
            }),
        ),
    ];
    for (name, b) in &nest {
        c.add(format!("partner nesting {name}"), create(b));
        c.add(format!("lineworks nesting {name}"), lw(b));
        c.add(format!("chatwork nesting {name}"), cw(b));
    }
    c.add(
        "lineworks content nested 130 deep",
        lw(&splice(&lw_event(), &["content", "text"], &{
            let mut v = vec![b'['; 130];
            v.extend(vec![b']'; 130]);
            v
        })),
    );

    // --- invalid UTF-8 and lone surrogates in string fields.
    let partner_fields: &[&[&str]] = &[
        &["external_id"],
        &["category"],
        &["urgency"],
        &["subject"],
        &["body"],
        &["patient_ref"],
        &["sender", "name"],
        &["sender", "role"],
        &["sender", "phone"],
    ];
    for f in partner_fields {
        for (i, bad) in BAD_UTF8.iter().enumerate() {
            let mut inner = b"abc".to_vec();
            inner.extend_from_slice(bad);
            c.add(
                format!("partner invalid UTF-8 #{i} in {}", f.join(".")),
                create(&splice(&valid, f, &quoted(&inner))),
            );
        }
        for s in LONE_SURROGATES {
            c.add(
                format!("partner lone surrogate {s} in {}", f.join(".")),
                create(&splice(&valid, f, &quoted(s.as_bytes()))),
            );
        }
    }
    let lw_fields: &[&[&str]] = &[
        &["content", "text"],
        &["source", "channelId"],
        &["source", "userId"],
        &["content", "type"],
    ];
    for f in lw_fields {
        for (i, bad) in BAD_UTF8.iter().enumerate() {
            c.add(
                format!("lineworks invalid UTF-8 #{i} in {}", f.join(".")),
                lw(&splice(&lw_event(), f, &quoted(bad))),
            );
        }
        for s in LONE_SURROGATES {
            c.add(
                format!("lineworks lone surrogate {s} in {}", f.join(".")),
                lw(&splice(&lw_event(), f, &quoted(s.as_bytes()))),
            );
        }
    }
    let cw_fields: &[&[&str]] = &[
        &["webhook_event", "body"],
        &["webhook_event", "message_id"],
        &["webhook_event", "room_id"],
        &["webhook_event_type"],
    ];
    for f in cw_fields {
        for (i, bad) in BAD_UTF8.iter().enumerate() {
            c.add(
                format!("chatwork invalid UTF-8 #{i} in {}", f.join(".")),
                cw(&splice(&cw_event(), f, &quoted(bad))),
            );
        }
        for s in LONE_SURROGATES {
            c.add(
                format!("chatwork lone surrogate {s} in {}", f.join(".")),
                cw(&splice(&cw_event(), f, &quoted(s.as_bytes()))),
            );
        }
    }
    // A surrogate in a key, and invalid UTF-8 in a key.
    c.add(
        "partner lone surrogate in a key",
        create(br#"{"\ud800":1,"category":"info","subject":"s","body":"b","sender":{"name":"x"}}"#),
    );
    c.add(
        "partner invalid UTF-8 in a key",
        create(b"{\"\xff\":1,\"category\":\"info\",\"subject\":\"s\",\"body\":\"b\",\"sender\":{\"name\":\"x\"}}"),
    );

    // --- huge fields and bodies.
    let big = |n: usize| quoted("あ".repeat(n / 3).as_bytes());
    for f in partner_fields {
        c.add(
            format!("partner 900 KB {}", f.join(".")),
            create(&splice(&valid, f, &big(900 * 1024))),
        );
    }
    c.add(
        "partner 3 MiB subject",
        create(&splice(&valid, &["subject"], &big(3 * MIB))),
    );
    let empty_body = splice(&valid, &["body"], b"\"\"");
    let over = splice(
        &valid,
        &["body"],
        &quoted(&vec![b'x'; MIB + 1 - empty_body.len()]),
    );
    assert_eq!(over.len(), MIB + 1);
    c.add("partner body of 1 MiB + 1 byte", create(&over));
    c.add("lineworks body of 1 MiB + 1 byte", lw(&over));
    c.add("chatwork body of 1 MiB + 1 byte", cw(&over));
    c.add("partner 5 MiB body", create(&vec![b' '; 5 * MIB]));
    c.add(
        "partner declared 900 MB",
        http(
            "POST",
            "/v1/consultations",
            &[
                auth.clone(),
                json_ct.clone(),
                h("Content-Length", "900000000"),
            ],
            b"{",
        ),
    );
    c.add(
        "attachment of 20 MiB + 1 byte",
        attach(&setup.own_id.to_string(), "application/pdf", &{
            let mut v = b"%PDF-1.4\n".to_vec();
            v.resize(20 * MIB + 1 - 6, b' ');
            v.extend_from_slice(b"%%EOF\n");
            v
        }),
    );
    for f in [
        &["content", "text"][..],
        &["source", "channelId"],
        &["source", "userId"],
        &["content", "fileId"],
    ] {
        c.add(
            format!("lineworks 900 KB {}", f.join(".")),
            lw(&splice(&lw_event(), f, &big(900 * 1024))),
        );
    }
    for f in [
        &["webhook_event", "body"][..],
        &["webhook_event", "room_id"],
        &["webhook_event", "message_id"],
        &["webhook_event", "account_id"],
    ] {
        c.add(
            format!("chatwork 900 KB {}", f.join(".")),
            cw(&splice(&cw_event(), f, &big(900 * 1024))),
        );
    }

    // --- wrong types for every field.
    for f in partner_fields.iter().chain([&["sender"][..]].iter()) {
        for w in WRONG_TYPES {
            if f.join(".") == "sender" && w.starts_with('{') {
                continue; // an object is the right type for sender (and `{}` lacks a name: below)
            }
            c.add(
                format!("partner {} = {w}", f.join(".")),
                create(&splice(&valid, f, w.as_bytes())),
            );
        }
    }
    for f in [
        &["category"][..],
        &["subject"],
        &["body"],
        &["sender"],
        &["sender", "name"],
    ] {
        c.add(
            format!("partner required {} = null", f.join(".")),
            create(&splice(&valid, f, b"null")),
        );
    }
    c.add(
        "partner sender = {}",
        create(&splice(&valid, &["sender"], b"{}")),
    );
    for top in ["[]", "\"s\"", "1", "true", "null", "[{}]", ""] {
        c.add(format!("partner top level {top:?}"), create(top.as_bytes()));
    }
    for f in [
        &["source"][..],
        &["source", "channelId"],
        &["source", "userId"],
        &["content"],
        &["content", "type"],
        &["content", "text"],
        &["content", "fileId"],
        &["issuedTime"],
    ] {
        for w in WRONG_TYPES {
            if (f == ["source"] || f == ["content"]) && w.starts_with('{') {
                continue;
            }
            if f == ["issuedTime"] && !w.starts_with(['[', '{', 't', 'f']) {
                continue; // a number is an accepted time stamp
            }
            c.add(
                format!("lineworks {} = {w}", f.join(".")),
                lw(&splice(&lw_event(), f, w.as_bytes())),
            );
        }
    }
    for w in WRONG_TYPES {
        c.add(
            format!("lineworks type = {w}"),
            lw(&splice(&lw_event(), &["type"], w.as_bytes())),
        );
    }
    for f in [
        &["webhook_event"][..],
        &["webhook_event", "message_id"],
        &["webhook_event", "room_id"],
        &["webhook_event", "account_id"],
        &["webhook_event", "body"],
        &["webhook_event_type"],
    ] {
        for w in WRONG_TYPES {
            if f == ["webhook_event"] && w.starts_with('{') {
                continue;
            }
            if f != ["webhook_event"]
                && f != ["webhook_event", "body"]
                && f != ["webhook_event_type"]
                && *w == "1"
            {
                continue; // a positive integer is a valid Chatwork id
            }
            c.add(
                format!("chatwork {} = {w}", f.join(".")),
                cw(&splice(&cw_event(), f, w.as_bytes())),
            );
        }
    }
    c.add(
        "lineworks without source",
        lw(
            &serde_json::to_vec(&json!({"type":"message","content":{"type":"text","text":"x"}}))
                .unwrap(),
        ),
    );
    c.add(
        "lineworks without content",
        lw(&serde_json::to_vec(&json!({"type":"message","source":{"userId":"u"}})).unwrap()),
    );
    c.add(
        "chatwork without webhook_event",
        cw(&serde_json::to_vec(&json!({"webhook_event_type":"message_created"})).unwrap()),
    );

    // --- NUL and control characters.
    for f in partner_fields {
        let name = f.join(".");
        if name == "category" || name == "urgency" {
            continue;
        }
        for ctl in CONTROLS {
            if (name == "subject" || name == "body") && *ctl != "\\u0000" {
                continue; // a subject is cleaned to one line; a body may hold line breaks
            }
            c.add(
                format!("partner {ctl} in {}", f.join(".")),
                create(&splice(&valid, f, &quoted(format!("a{ctl}b").as_bytes()))),
            );
        }
        for raw in [&b"\x00"[..], b"\x01", b"\x1b", b"\n", b"\t"] {
            c.add(
                format!("partner raw control byte {raw:?} in {}", f.join(".")),
                create(&splice(&valid, f, &quoted(&[b"a", raw, b"b"].concat()))),
            );
        }
    }
    let vb0 = serde_json::to_vec(&valid).unwrap();
    c.add(
        "partner NUL between tokens",
        create(&[&b"{\0"[..], &vb0[1..]].concat()),
    );
    for (f, ctl) in [
        (&["content", "text"][..], "\\u0000"),
        (&["source", "channelId"], "\\u0000"),
        (&["source", "channelId"], "\\n"),
        (&["source", "userId"], "\\u001b"),
        (&["content", "fileId"], "\\u0001"),
    ] {
        c.add(
            format!("lineworks {ctl} in {}", f.join(".")),
            lw(&splice(
                &lw_event(),
                f,
                &quoted(format!("a{ctl}b").as_bytes()),
            )),
        );
    }
    for (f, ctl) in [
        (&["webhook_event", "body"][..], "\\u0000"),
        (&["webhook_event", "message_id"], "\\u0000"),
        (&["webhook_event", "room_id"], "\\n"),
        (&["webhook_event", "message_id"], " "),
    ] {
        c.add(
            format!("chatwork {ctl:?} in {}", f.join(".")),
            cw(&splice(
                &cw_event(),
                f,
                &quoted(format!("1{ctl}2").as_bytes()),
            )),
        );
    }

    // --- duplicate keys.
    let v = serde_json::to_string(&valid).unwrap();
    for (name, body) in [
        (
            "category twice",
            v.replacen("{", "{\"category\":\"info\",", 1),
        ),
        (
            "urgency twice",
            v.replacen("{", "{\"urgency\":\"fyi\",\"urgency\":\"urgent\",", 1),
        ),
        (
            "external_id twice",
            v.replacen("{", "{\"external_id\":\"OTHER\",", 1),
        ),
        (
            "sender twice",
            v.replacen("{", "{\"sender\":{\"name\":\"x\"},", 1),
        ),
        (
            "sender.name twice",
            v.replacen("\"sender\":{", "\"sender\":{\"name\":\"もう一人\",", 1),
        ),
    ] {
        c.add(
            format!("partner duplicate key: {name}"),
            create(body.as_bytes()),
        );
    }
    let e = serde_json::to_string(&lw_event()).unwrap();
    c.add(
        "lineworks duplicate type",
        lw(e.replacen("{", "{\"type\":\"join\",", 1).as_bytes()),
    );
    c.add(
        "lineworks duplicate content.text",
        lw(
            e.replacen("\"text\":", "\"text\":\"別の本文\",\"text\":", 1)
                .as_bytes(),
        ),
    );
    let e = serde_json::to_string(&cw_event()).unwrap();
    c.add(
        "chatwork duplicate room_id",
        cw(
            e.replacen("\"room_id\":", "\"room_id\":999,\"room_id\":", 1)
                .as_bytes(),
        ),
    );

    // --- numbers out of range, in every field that a number could be mistaken for.
    for n in BAD_NUMBERS {
        for f in [
            &["external_id"][..],
            &["category"],
            &["subject"],
            &["sender", "name"],
            &["patient_ref"],
        ] {
            c.add(
                format!("partner {} = {n}", f.join(".")),
                create(&splice(&valid, f, n.as_bytes())),
            );
        }
        let parsed = serde_json::from_str::<Value>(n).ok();
        if parsed.is_none() {
            // A parsable number is an accepted time stamp.
            c.add(
                format!("lineworks issuedTime = {n}"),
                lw(&splice(&lw_event(), &["issuedTime"], n.as_bytes())),
            );
        }
        c.add(
            format!("lineworks channelId = {n}"),
            lw(&splice(&lw_event(), &["source", "channelId"], n.as_bytes())),
        );
        for f in [
            &["webhook_event", "message_id"][..],
            &["webhook_event", "room_id"],
        ] {
            if parsed.as_ref().and_then(Value::as_u64).is_some() {
                continue; // a non-negative integer is a valid Chatwork id
            }
            c.add(
                format!("chatwork {} = {n}", f.join(".")),
                cw(&splice(&cw_event(), f, n.as_bytes())),
            );
        }
    }

    // --- headers around a valid body: wrong or missing credentials, content types, keys.
    let vb = serde_json::to_vec(&valid).unwrap();
    for (name, a) in [
        ("no Authorization", None),
        ("empty", Some(b"".to_vec())),
        ("Bearer only", Some(b"Bearer".to_vec())),
        ("Bearer space", Some(b"Bearer ".to_vec())),
        ("wrong key", Some(b"Bearer rk_live_not_a_key".to_vec())),
        ("Basic", Some(b"Basic dXNlcjpwYXNz".to_vec())),
        (
            "10 KB key",
            Some(format!("Bearer {}", "k".repeat(10_000)).into_bytes()),
        ),
        ("non-UTF-8 key", Some(b"Bearer \xe3\x81\x82\xff".to_vec())),
        (
            "key twice",
            Some(format!("Bearer {} {}", setup.key, setup.key).into_bytes()),
        ),
    ] {
        let mut hs = vec![json_ct.clone()];
        if let Some(a) = a {
            hs.push(("Authorization", a));
        }
        c.add(
            format!("partner auth: {name}"),
            http("POST", "/v1/consultations", &hs, &vb),
        );
        c.add(
            format!("attachment auth: {name}"),
            http(
                "POST",
                &format!("/v1/consultations/{}/attachments", setup.own_id),
                &[hs.as_slice(), &[h("Content-Type", "application/pdf")]].concat()[1..],
                PDF,
            ),
        );
        c.add(
            format!("view auth: {name}"),
            http(
                "GET",
                &format!("/v1/consultations/{}", setup.own_id),
                &hs[1..],
                b"",
            ),
        );
    }
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some(""),
        Some("json"),
        Some("application/xml"),
    ] {
        let mut hs = vec![auth.clone()];
        if let Some(ct) = ct {
            hs.push(h("Content-Type", ct));
        }
        c.add(
            format!("partner content type {ct:?}"),
            http("POST", "/v1/consultations", &hs, &vb),
        );
    }
    for (name, k) in [
        ("empty", b"".to_vec()),
        ("201 characters", vec![b'k'; 201]),
        ("with a space", b"a b".to_vec()),
        ("non-ASCII", "冪等キー".as_bytes().to_vec()),
        ("8 KB", vec![b'k'; 8192]),
    ] {
        c.add(
            format!("partner Idempotency-Key {name}"),
            http(
                "POST",
                "/v1/consultations",
                &[auth.clone(), json_ct.clone(), ("Idempotency-Key", k)],
                &vb,
            ),
        );
    }

    // --- webhooks without a valid signature (the body is a valid event).
    let lb = serde_json::to_vec(&lw_event()).unwrap();
    let cb = serde_json::to_vec(&cw_event()).unwrap();
    for (name, sig) in [
        ("missing", None),
        ("empty", Some(String::new())),
        ("not base64", Some("!!!not-base64!!!".into())),
        ("of another body", Some(lw_sign(b"{}"))),
        (
            "with the wrong secret",
            Some(renkei_intake::lineworks::sign(b"wrong", &lb)),
        ),
        ("truncated", Some(lw_sign(&lb)[..20].to_string())),
        ("10 KB", Some("A".repeat(10_000))),
    ] {
        let mut hs = vec![json_ct.clone()];
        if let Some(s) = &sig {
            hs.push(h("X-WORKS-Signature", s));
        }
        c.add(
            format!("lineworks signature {name}"),
            http("POST", "/v1/webhooks/lineworks", &hs, &lb),
        );
        let mut hs = vec![json_ct.clone()];
        if let Some(s) = &sig {
            hs.push(h("X-ChatWorkWebhookSignature", s));
        }
        c.add(
            format!("chatwork signature {name}"),
            http("POST", "/v1/webhooks/chatwork", &hs, &cb),
        );
    }
    // The other webhook's signature header, and a signature over the body with a byte changed.
    c.add(
        "lineworks with the chatwork signature",
        http(
            "POST",
            "/v1/webhooks/lineworks",
            &[
                json_ct.clone(),
                h("X-ChatWorkWebhookSignature", cw_sign(&lb)),
            ],
            &lb,
        ),
    );
    let mut tampered = cb.clone();
    let sig = cw_sign(&cb);
    *tampered.last_mut().unwrap() = b' ';
    c.add(
        "chatwork tampered body",
        http(
            "POST",
            "/v1/webhooks/chatwork",
            &[json_ct.clone(), h("X-ChatWorkWebhookSignature", sig)],
            &tampered,
        ),
    );
    for i in 0..10 {
        let b = random_bytes(rng, 2048);
        c.add(
            format!("lineworks unsigned random #{i}"),
            http("POST", "/v1/webhooks/lineworks", &[], &b),
        );
        let b = random_bytes(rng, 2048);
        c.add(
            format!("chatwork unsigned random #{i}"),
            http("POST", "/v1/webhooks/chatwork", &[], &b),
        );
    }

    // --- attachments: wrong content, wrong type, wrong target.
    let own = setup.own_id.to_string();
    let jpeg = [0xFFu8, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
    for (name, ct, body) in [
        ("PNG declared PDF", "application/pdf", PNG.to_vec()),
        ("PDF declared PNG", "image/png", PDF.to_vec()),
        ("JPEG declared TIFF", "image/tiff", jpeg.to_vec()),
        (
            "truncated PDF",
            "application/pdf",
            b"%PDF-1.4\n1 0 obj\n".to_vec(),
        ),
        ("%PD only", "application/pdf", b"%PD".to_vec()),
        (
            "%PDF without dash",
            "application/pdf",
            b"%PDF1.4 %%EOF".to_vec(),
        ),
        ("empty PDF", "application/pdf", Vec::new()),
        ("empty PNG", "image/png", Vec::new()),
        ("SVG", "image/svg+xml", b"<svg/>".to_vec()),
        ("PDF as text/plain", "text/plain", PDF.to_vec()),
        (
            "PDF as octet-stream",
            "application/octet-stream",
            PDF.to_vec(),
        ),
        (
            "HTML declared JPEG",
            "image/jpeg",
            b"<html><script>alert(1)</script>".to_vec(),
        ),
        ("TIFF magic cut", "image/tiff", b"II*".to_vec()),
        ("JSON as PDF", "application/pdf", vb.clone()),
    ] {
        c.add(format!("attachment {name}"), attach(&own, ct, &body));
    }
    for id in [
        "0".to_string(),
        "-1".into(),
        "abc".into(),
        "99999999999999999999".into(),
        "%FF".into(),
        "1.5".into(),
        "%00".into(),
        "999999".into(),
        setup.other_id.to_string(),
        "1%2F..%2F2".into(),
    ] {
        c.add(
            format!("attachment valid PDF to id {id}"),
            attach(&id, "application/pdf", PDF),
        );
        c.add(
            format!("view id {id}"),
            http(
                "GET",
                &format!("/v1/consultations/{id}"),
                std::slice::from_ref(&auth),
                b"",
            ),
        );
    }
    for (name, v) in [
        ("path traversal", b"../../../etc/passwd".to_vec()),
        ("NUL", b"a\x00b.pdf".to_vec()),
        ("percent NUL", b"a%00b.pdf".to_vec()),
        ("bad percent", b"%ZZ%E3%81.pdf".to_vec()),
        ("8 KB", vec![b'n'; 8192]),
    ] {
        c.add(
            format!("attachment X-Filename {name} with a non-PDF"),
            http(
                "POST",
                &format!("/v1/consultations/{own}/attachments"),
                &[
                    auth.clone(),
                    h("Content-Type", "application/pdf"),
                    ("X-Filename", v),
                ],
                b"not a pdf at all",
            ),
        );
    }
    c.add(
        "attachment query garbage with a non-PDF",
        http(
            "POST",
            &format!("/v1/consultations/{own}/attachments?filename=%ZZ&&&=&filename"),
            &[auth.clone(), h("Content-Type", "application/pdf")],
            b"nope",
        ),
    );

    // --- other routes and methods.
    for (m, p) in [
        ("DELETE", "/v1/consultations"),
        ("PUT", "/v1/consultations/1"),
        ("PATCH", "/v1/consultations/1/attachments"),
        ("GET", "/v1/webhooks/lineworks"),
        ("GET", "/v1/webhooks/chatwork"),
        ("OPTIONS", "/v1/consultations"),
        ("TRACE", "/v1/consultations"),
        ("FOO", "/v1/consultations"),
        ("POST", "/healthz"),
        ("GET", "/v1/consultations/1/attachments/1"),
        ("GET", "/v2/consultations"),
        ("GET", "//v1//consultations"),
        ("GET", "/v1/consultations/..%2F..%2Fetc%2Fpasswd"),
        ("GET", "/%00"),
        ("GET", "/v1/consultations/abc?limit=%ZZ&&=="),
        ("POST", "/v1/webhooks/lineworks/extra"),
        ("POST", "/v1/webhooks"),
    ] {
        c.add(
            format!("route {m} {p}"),
            http(m, p, std::slice::from_ref(&auth), b"{}"),
        );
    }

    // --- broken HTTP.
    let paths = [
        "/v1/consultations",
        "/v1/webhooks/lineworks",
        "/v1/webhooks/chatwork",
        &format!("/v1/consultations/{own}/attachments"),
    ];
    for p in paths {
        let head = |extra: &str| {
            format!(
                "POST {p} HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\n{extra}Connection: close\r\n\r\n"
            )
            .into_bytes()
        };
        let chunked =
            |rest: &[u8]| [head("Transfer-Encoding: chunked\r\n").as_slice(), rest].concat();
        c.add_raw(
            format!("{p}: chunk size not hex"),
            chunked(b"ZZ\r\nabc\r\n0\r\n\r\n"),
        );
        c.add_raw(
            format!("{p}: chunk size overflow"),
            chunked(b"FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n"),
        );
        c.add_raw(
            format!("{p}: chunk without CRLF"),
            chunked(b"3\r\nabcdef0\r\n\r\n"),
        );
        c.add_raw(
            format!("{p}: chunk longer than sent"),
            chunked(b"400\r\n{\"a\":1}"),
        );
        c.add_raw(format!("{p}: no last chunk"), chunked(b"2\r\n{}\r\n"));
        c.add_raw(
            format!("{p}: chunk extension garbage"),
            chunked(b"2;\x01\x02\r\n{}\r\n0\r\n\r\n"),
        );
        c.add_raw(
            format!("{p}: negative chunk"),
            chunked(b"-2\r\n{}\r\n0\r\n\r\n"),
        );
        c.add_raw(
            format!("{p}: chunked and Content-Length"),
            [
                head("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n").as_slice(),
                b"2\r\n{}\r\n0\r\n\r\n",
            ]
            .concat(),
        );
        c.add_raw(
            format!("{p}: Transfer-Encoding gzip"),
            [
                head("Transfer-Encoding: gzip\r\n").as_slice(),
                b"\x1f\x8b\x08\x00",
            ]
            .concat(),
        );
        c.add_raw(
            format!("{p}: Transfer-Encoding chunked twice"),
            [
                head("Transfer-Encoding: chunked, chunked\r\n").as_slice(),
                b"2\r\n{}\r\n0\r\n\r\n",
            ]
            .concat(),
        );
        c.add_raw(
            format!("{p}: Content-Length larger than sent"),
            [head("Content-Length: 5000\r\n").as_slice(), b"{\"a\":"].concat(),
        );
        c.add_raw(
            format!("{p}: Content-Length smaller than sent"),
            [
                head("Content-Length: 2\r\n").as_slice(),
                b"{}GARBAGE / HTTP/1.1\r\n\r\n",
            ]
            .concat(),
        );
        c.add_raw(
            format!("{p}: Content-Length not a number"),
            [head("Content-Length: abc\r\n").as_slice(), b"{}"].concat(),
        );
        c.add_raw(
            format!("{p}: Content-Length negative"),
            [head("Content-Length: -1\r\n").as_slice(), b"{}"].concat(),
        );
        c.add_raw(
            format!("{p}: Content-Length plus sign"),
            [head("Content-Length: +2\r\n").as_slice(), b"{}"].concat(),
        );
        c.add_raw(
            format!("{p}: two Content-Lengths"),
            [
                head("Content-Length: 2\r\nContent-Length: 3\r\n").as_slice(),
                b"{}x",
            ]
            .concat(),
        );
        c.add_raw(
            format!("{p}: Content-Length list"),
            [head("Content-Length: 2, 3\r\n").as_slice(), b"{}x"].concat(),
        );
        c.add_raw(
            format!("{p}: Content-Length huge number"),
            [
                head("Content-Length: 99999999999999999999999\r\n").as_slice(),
                b"{}",
            ]
            .concat(),
        );
        c.add_raw(
            format!("{p}: Expect 100-continue, no body"),
            head("Expect: 100-continue\r\nContent-Length: 10\r\n"),
        );
    }
    for (name, bytes) in [
        ("request line garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello".to_vec()),
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        ("HTTP/0.9", b"GET /healthz\r\n\r\n".to_vec()),
        ("HTTP/3.0", b"GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n".to_vec()),
        ("HTTP/1.1 lowercase", b"get /healthz http/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("method with UTF-8", "PÖST /v1/consultations HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes().to_vec()),
        ("space in path", b"GET /v1/consult ations HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("NUL in path", b"GET /v1/\x00 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("raw UTF-8 in path", "GET /v1/相談 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".as_bytes().to_vec()),
        ("header without colon", b"POST /v1/consultations HTTP/1.1\r\nHost: x\r\nNoColonHere\r\nContent-Length: 0\r\n\r\n".to_vec()),
        ("space before colon", b"POST /v1/consultations HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}".to_vec()),
        ("obs-fold", b"POST /v1/consultations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer\r\n  folded\r\nContent-Length: 2\r\n\r\n{}".to_vec()),
        ("NUL in header value", b"POST /v1/consultations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x00b\r\nContent-Length: 2\r\n\r\n{}".to_vec()),
        ("ESC in header value", b"POST /v1/consultations HTTP/1.1\r\nHost: x\r\nX-Filename: \x1b[2J\r\nContent-Length: 2\r\n\r\n{}".to_vec()),
        ("non-ASCII header name", "POST /v1/consultations HTTP/1.1\r\nHost: x\r\nÄuth: x\r\nContent-Length: 2\r\n\r\n{}".as_bytes().to_vec()),
        ("bare LF line ends", b"GET /healthz HTTP/1.1\nHost: x\nConnection: close\n\n".to_vec()),
        ("bare CR line ends", b"GET /healthz HTTP/1.1\rHost: x\r\r".to_vec()),
        ("only CRLFs", b"\r\n\r\n\r\n\r\n".to_vec()),
        ("half a request line", b"POST /v1/consul".to_vec()),
        ("head never finished", b"POST /v1/consultations HTTP/1.1\r\nHost: x\r\n".to_vec()),
        ("empty connection", Vec::new()),
        ("URI of 100 KB", format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000)).into_bytes()),
        ("header of 600 KB", format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(600_000)).into_bytes()),
        ("1 000 headers", {
            let mut v = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
            for i in 0..1000 {
                v.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
            }
            v.extend_from_slice(b"\r\n");
            v
        }),
        ("absolute URI elsewhere", b"GET http://example.invalid/healthz HTTP/1.1\r\nHost: example.invalid\r\nConnection: close\r\n\r\n".to_vec()),
        ("CONNECT", b"CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n".to_vec()),
        ("Upgrade websocket", b"GET /healthz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n".to_vec()),
        ("Upgrade h2c", b"POST /v1/consultations HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nConnection: Upgrade, HTTP2-Settings\r\nContent-Length: 2\r\n\r\n{}".to_vec()),
        ("pipelined garbage after a request", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02GARBAGE\r\n\r\n".to_vec()),
        ("random bytes then CRLFCRLF", {
            let mut v = random_bytes(rng, 512);
            v.extend_from_slice(b"\r\n\r\n");
            v
        }),
    ] {
        c.add_raw(format!("broken HTTP: {name}"), bytes);
    }
    for i in 0..20 {
        // A valid request line and headers, then random bytes as more "headers".
        let mut v = b"POST /v1/consultations HTTP/1.1\r\nHost: x\r\n".to_vec();
        v.extend(random_bytes(rng, 300));
        v.extend_from_slice(b"\r\n\r\n");
        c.add_raw(format!("broken HTTP: random header bytes #{i}"), v);
    }
    c
}

/// What is in the store (and on disk) now.
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    consultations: i64,
    queue: usize,
    messages: i64,
    attachments: i64,
    blob_files: usize,
    partners: usize,
}

fn blob_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                blob_files(&p)
            } else {
                1
            }
        })
        .sum()
}

fn stored(s: &TestServer) -> Stored {
    let mut desk = s.desk();
    let messages = s
        .store()
        .conn()
        .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
        .unwrap();
    Stored {
        consultations: s.count(""),
        queue: desk
            .queue(&QueueFilter {
                all: true,
                ..QueueFilter::default()
            })
            .unwrap()
            .len(),
        messages,
        attachments: s.attachments(),
        blob_files: blob_files(&s.data_dir().blob_dir()),
        partners: desk.partners().unwrap().len(),
    }
}

/// Checks one outcome; an error says what is wrong.
fn check(case: &Case, out: &Outcome) -> Result<(), String> {
    match out {
        Outcome::Reply(r) => {
            if r.status >= 500 {
                return Err(format!(
                    "{} → {}: {}",
                    case.name,
                    r.status,
                    String::from_utf8_lossy(&r.body)
                ));
            }
            if r.status >= 400 {
                if !r.content_type.starts_with("application/json") {
                    return Err(format!(
                        "{} → {} with content type {:?}",
                        case.name, r.status, r.content_type
                    ));
                }
                let v: Value = serde_json::from_slice(&r.body)
                    .map_err(|e| format!("{} → {}: body is not JSON ({e})", case.name, r.status))?;
                let ok = v["code"].as_str().is_some_and(|c| !c.is_empty())
                    && v["message"].as_str().is_some_and(|m| !m.is_empty());
                if !ok {
                    return Err(format!(
                        "{} → {}: not {{code, message}}: {v}",
                        case.name, r.status
                    ));
                }
                return Ok(());
            }
            if (200..300).contains(&r.status) {
                // Only an ignored webhook event, or the health check of a pipelined request.
                let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                if v["ignored"] == true || v["status"] == "ok" {
                    return Ok(());
                }
                return Err(format!("{} → {} accepted: {v}", case.name, r.status));
            }
            Err(format!("{} → unexpected status {}", case.name, r.status))
        }
        Outcome::Closed if case.may_close => Ok(()),
        Outcome::Closed => Err(format!(
            "{} → connection closed without an answer",
            case.name
        )),
        Outcome::Hung => Err(format!(
            "{} → no answer and no close within the wait",
            case.name
        )),
        Outcome::Garbled(g) => Err(format!(
            "{} → garbled answer: {}",
            case.name,
            g.chars().take(200).collect::<String>()
        )),
    }
}

/// A valid request on a new connection; returns its status and how long it took.
async fn timed_valid(addr: SocketAddr, bytes: Vec<u8>) -> (u16, Duration) {
    let t = Instant::now();
    let out = exchange(addr, Arc::new(bytes), Duration::from_secs(10)).await;
    match out {
        Outcome::Reply(r) => (r.status, t.elapsed()),
        other => panic!("a valid request failed: {other:?}"),
    }
}

fn healthz() -> Vec<u8> {
    http("GET", "/healthz", &[], b"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_malformed_requests_store_nothing_and_never_5xx() {
    let started = Instant::now();
    let mut s = TestServer::start_with(hostile_config()).await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let (_, other_key) = s.add_partner("ひまわり訪問看護ステーション", PartnerKind::Nursing);
    let create_valid = |key: &str, ext: &str| {
        http(
            "POST",
            "/v1/consultations",
            &[
                h("Authorization", format!("Bearer {key}")),
                h("Content-Type", "application/json"),
            ],
            &serde_json::to_vec(&consultation(ext)).unwrap(),
        )
    };
    // One consultation of each partner: targets for the attachment and view routes.
    let ids: Vec<i64> = {
        let mut ids = Vec::new();
        for (k, ext) in [(&key, "HOSTILE-OWN-1"), (&other_key, "HOSTILE-OTHER-1")] {
            match exchange(
                s.addr,
                Arc::new(create_valid(k, ext)),
                Duration::from_secs(10),
            )
            .await
            {
                Outcome::Reply(r) if r.status == 201 => ids.push(
                    serde_json::from_slice::<Value>(&r.body).unwrap()["id"]
                        .as_i64()
                        .unwrap(),
                ),
                other => panic!("setup failed: {other:?}"),
            }
        }
        ids
    };
    let setup = Setup {
        key: key.clone(),
        own_id: ids[0],
        other_id: ids[1],
    };
    let before = stored(&s);
    let notices_before = s.notices.lock().unwrap().len();

    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5EED_CAFE);
    let cases = build_cases(&setup, &mut rng);
    let total = cases.list.len();
    assert!(total >= 500, "only {total} cases");

    // Send them, many at a time.
    let sem = Arc::new(tokio::sync::Semaphore::new(48));
    let addr = s.addr;
    let mut tasks = Vec::with_capacity(total);
    for case in cases.list {
        let permit = sem.clone().acquire_owned().await.unwrap();
        tasks.push(tokio::spawn(async move {
            let out = exchange(addr, case.bytes.clone(), Duration::from_secs(6)).await;
            drop(permit);
            (case, out)
        }));
    }
    let mut failures = Vec::new();
    let (mut answered, mut closed) = (0, 0);
    for t in tasks {
        let (case, out) = t.await.unwrap();
        match &out {
            Outcome::Reply(_) => answered += 1,
            _ => closed += 1,
        }
        if let Err(e) = check(&case, &out) {
            failures.push(e);
        }
    }
    let flood = started.elapsed();
    println!("{total} malformed requests: {answered} answered, {closed} closed without an answer, in {flood:?}");
    assert!(
        failures.is_empty(),
        "{} of {total} malformed requests misbehaved:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Nothing was stored: no consultation, message, attachment, blob or partner.
    assert_eq!(stored(&s), before);
    assert_eq!(s.notices.lock().unwrap().len(), notices_before);

    // Still up, and quick.
    let mut task = s.take_task().unwrap();
    assert!(!task.is_finished(), "the server task ended");
    let (status, took) = timed_valid(s.addr, healthz()).await;
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "healthz took {took:?}");
    let (status, took) = timed_valid(s.addr, create_valid(&key, "HOSTILE-AFTER-1")).await;
    assert_eq!(status, 201);
    assert!(
        took < Duration::from_secs(2),
        "a valid create took {took:?}"
    );
    assert_eq!(s.count(""), before.consultations + 1);

    s.stop_signal().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), &mut task)
        .await
        .expect("the server did not stop")
        .unwrap()
        .unwrap();
}

// ----- slow clients --------------------------------------------------------------------------

/// Writes `head`, then one byte of `drip` (if any) every `every` until the server closes the
/// connection or `give_up` passes. Returns when the server closed it (`None`: never).
async fn dribble(
    addr: SocketAddr,
    head: Vec<u8>,
    drip: Option<u8>,
    every: Duration,
    give_up: Duration,
) -> Option<Duration> {
    let t = Instant::now();
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(&head).await.unwrap();
    let mut buf = [0u8; 1024];
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    let end = tokio::time::sleep(give_up);
    tokio::pin!(end);
    loop {
        tokio::select! {
            r = sock.read(&mut buf) => match r {
                Ok(0) | Err(_) => return Some(t.elapsed()),
                Ok(_) => {} // an answer: keep reading until the close
            },
            _ = ticker.tick(), if drip.is_some() => {
                if sock.write_all(&[drip.unwrap_or(b'a')]).await.is_err() {
                    return Some(t.elapsed());
                }
            }
            () = &mut end => return None,
        }
    }
}

/// Sends a head announcing `body.len()` bytes, then the body in `pieces` with `pause` between
/// them; returns the answer and when it came.
async fn slow_body(
    addr: SocketAddr,
    head: Vec<u8>,
    body: Vec<u8>,
    piece: usize,
    pause: Duration,
) -> (Outcome, Duration) {
    let t = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&head).await;
        for chunk in body.chunks(piece) {
            if wr.write_all(chunk).await.is_err() {
                break;
            }
            tokio::time::sleep(pause).await;
        }
        // Hold the connection open without sending more.
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(wr);
    });
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let out = loop {
        match tokio::time::timeout(Duration::from_secs(8), rd.read(&mut chunk)).await {
            Err(_) => break Outcome::Hung,
            Ok(Ok(0)) | Ok(Err(_)) => {
                break match parse_reply(&buf, true) {
                    Some(Ok(r)) => Outcome::Reply(r),
                    _ if buf.is_empty() => Outcome::Closed,
                    _ => Outcome::Garbled(String::from_utf8_lossy(&buf).into()),
                }
            }
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                if let Some(r) = parse_reply(&buf, false) {
                    break match r {
                        Ok(r) => Outcome::Reply(r),
                        Err(e) => Outcome::Garbled(e),
                    };
                }
            }
        }
    };
    writer.abort();
    (out, t.elapsed())
}

fn expect_timeout(out: &Outcome) {
    match out {
        Outcome::Reply(r) => {
            assert_eq!(r.status, 408, "{}", String::from_utf8_lossy(&r.body));
            assert!(r.content_type.starts_with("application/json"));
            let v: Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(v["code"], "timeout", "{v}");
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        other => panic!("expected a 408, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_do_not_block_anyone() {
    let mut s = TestServer::start_with(hostile_config()).await;
    let (_, key) = s.add_partner("北区第2地域包括支援センター", PartnerKind::Houkatsu);
    let addr = s.addr;
    let before = stored(&s);
    let bearer = format!("Bearer {key}");
    let valid = serde_json::to_vec(&consultation("SLOW-1")).unwrap();
    let head_for = |path: &str, len: usize, extra: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer}\r\nContent-Type: application/json\r\n{extra}Content-Length: {len}\r\n\r\n"
        )
        .into_bytes()
    };

    // 40 slowloris clients: a header byte every 100 ms, never finishing the head.
    let mut loris = Vec::new();
    for i in 0..40 {
        let head =
            format!("POST /v1/consultations HTTP/1.1\r\nHost: x\r\nX-Slow-{i}: ").into_bytes();
        loris.push(tokio::spawn(dribble(
            addr,
            head,
            Some(b'a'),
            Duration::from_millis(100),
            Duration::from_secs(8),
        )));
    }
    // 10 that connect and say nothing.
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(tokio::spawn(dribble(
            addr,
            Vec::new(),
            None,
            Duration::from_secs(1),
            Duration::from_secs(8),
        )));
    }
    // Slow bodies: a byte every 300 ms (never idle for 1 s, but 3 s in all is too long), at
    // each endpoint; and bodies that stop after ten bytes.
    let mut slow = Vec::new();
    let lw_body = serde_json::to_vec(&lw_event()).unwrap();
    let cw_body = serde_json::to_vec(&cw_event()).unwrap();
    let bodies = [
        (
            head_for("/v1/consultations", valid.len(), ""),
            valid.clone(),
        ),
        (
            head_for(
                "/v1/webhooks/lineworks",
                lw_body.len(),
                &format!("X-WORKS-Signature: {}\r\n", lw_sign(&lw_body)),
            ),
            lw_body.clone(),
        ),
        (
            head_for(
                "/v1/webhooks/chatwork",
                cw_body.len(),
                &format!("X-ChatWorkWebhookSignature: {}\r\n", cw_sign(&cw_body)),
            ),
            cw_body.clone(),
        ),
    ];
    for (head, body) in &bodies {
        slow.push(tokio::spawn(slow_body(
            addr,
            head.clone(),
            body.clone(),
            1,
            Duration::from_millis(300),
        )));
    }
    let pdf_head = format!(
        "POST /v1/consultations/1/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: {bearer}\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\n\r\n",
        PDF.len()
    )
    .into_bytes();
    slow.push(tokio::spawn(slow_body(
        addr,
        pdf_head.clone(),
        PDF.to_vec(),
        1,
        Duration::from_millis(300),
    )));
    let mut stalled = Vec::new();
    for (head, body) in &bodies {
        stalled.push(tokio::spawn(slow_body(
            addr,
            head.clone(),
            body[..10].to_vec(),
            10,
            Duration::from_millis(10),
        )));
    }
    stalled.push(tokio::spawn(slow_body(
        addr,
        pdf_head,
        PDF[..10].to_vec(),
        10,
        Duration::from_millis(10),
    )));

    // Meanwhile, valid requests are served promptly.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut worst = Duration::ZERO;
    for i in 0..5 {
        let (st, took) = timed_valid(addr, healthz()).await;
        assert_eq!(st, 200);
        worst = worst.max(took);
        let body = serde_json::to_vec(&consultation(&format!("SLOW-VALID-{i}"))).unwrap();
        let req = http(
            "POST",
            "/v1/consultations",
            &[
                h("Authorization", &bearer),
                h("Content-Type", "application/json"),
            ],
            &body,
        );
        let (st, took) = timed_valid(addr, req).await;
        assert_eq!(st, 201);
        worst = worst.max(took);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        worst < Duration::from_secs(1),
        "a valid request took {worst:?} next to slow clients"
    );

    // Slowloris: closed after the 1 s header limit (allowing for a slow debug build).
    for l in loris.into_iter().chain(silent) {
        let closed = l.await.unwrap().expect("a slow client was never cut off");
        assert!(
            closed >= Duration::from_millis(900),
            "closed too early: {closed:?}"
        );
        assert!(closed < Duration::from_secs(4), "closed after {closed:?}");
    }
    // Slow bodies: 408 after the 3 s total; stalled bodies: 408 after the 1 s pause.
    for sb in slow {
        let (out, took) = sb.await.unwrap();
        expect_timeout(&out);
        assert!(
            took >= Duration::from_millis(2900) && took < Duration::from_secs(6),
            "{took:?}"
        );
    }
    for sb in stalled {
        let (out, took) = sb.await.unwrap();
        expect_timeout(&out);
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(4),
            "{took:?}"
        );
    }
    // Only the valid requests were stored.
    let after = stored(&s);
    assert_eq!(after.consultations, before.consultations + 5);
    assert_eq!(after.attachments, before.attachments);
    assert_eq!(after.blob_files, before.blob_files);

    // A graceful shutdown does not wait for slow clients beyond the limits.
    let mut hangers = Vec::new();
    for i in 0..10 {
        let head = format!("GET /healthz HTTP/1.1\r\nX-Slow-{i}: ").into_bytes();
        hangers.push(tokio::spawn(dribble(
            addr,
            head,
            Some(b'a'),
            Duration::from_millis(100),
            Duration::from_secs(8),
        )));
    }
    let (head, body) = &bodies[0];
    let stuck = tokio::spawn(slow_body(
        addr,
        head.clone(),
        body[..5].to_vec(),
        5,
        Duration::from_millis(1),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let t = Instant::now();
    s.stop_signal().unwrap().send(()).unwrap();
    let task = s.take_task().unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("shutdown waited for slow clients")
        .unwrap()
        .unwrap();
    let took = t.elapsed();
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    for h in hangers {
        assert!(h.await.unwrap().is_some());
    }
    let (out, _) = stuck.await.unwrap();
    expect_timeout(&out);
    assert_eq!(stored(&s).consultations, before.consultations + 5);
}
