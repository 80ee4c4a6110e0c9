//! Property-based tests of the intake parsers (proptest, bounded: 256 cases per property): the
//! LINE WORKS event parser and signature check, the Chatwork webhook and message parsers, the
//! strict JSON reader, and the partner body pipeline (raw bytes → strict JSON →
//! `ConsultationRequest` → `NewConsultation`). Properties: never panic; a refusal is a 400 with
//! `{code, field}`; a valid event is accepted, keeps its text and ids, and passes the store's
//! validation; a redelivery has the same external id.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use renkei_core::codes::Channel;
use renkei_core::model::{ConsultationRequest, NewConsultation, MAX_SENDER_CHARS};
use renkei_intake::text::{strip_chatwork_tags, subject_from, SUBJECT_CHARS};
use renkei_intake::{chatwork, json, lineworks, ApiError};
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

/// Arbitrary JSON whose keys are often the ones the parsers look for.
fn json_value(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        proptest::sample::select(
            &[
                "message",
                "text",
                "image",
                "file",
                "sticker",
                "location",
                "join",
                "message_created",
                "mention_to_me",
                "",
                " ",
                "\0",
                "a\u{1b}b",
                "123",
                "-1",
            ][..]
        )
        .prop_map(|s| Value::String(s.to_string())),
    ];
    let key = prop_oneof![
        3 => proptest::sample::select(keys).prop_map(str::to_string),
        1 => "[a-zA-Z]{1,8}",
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const LW_KEYS: &[&str] = &[
    "type",
    "source",
    "channelId",
    "userId",
    "domainId",
    "issuedTime",
    "content",
    "text",
    "fileId",
    "address",
];
const LW_FIELDS: &[&str] = &[
    "source",
    "source.channelId",
    "source.userId",
    "content",
    "content.type",
    "content.text",
    "content.fileId",
    "content.address",
    "issuedTime",
];

const CW_KEYS: &[&str] = &[
    "webhook_event_type",
    "webhook_event",
    "message_id",
    "room_id",
    "account_id",
    "from_account_id",
    "body",
    "send_time",
];
const CW_FIELDS: &[&str] = &[
    "webhook_event",
    "webhook_event.message_id",
    "webhook_event.room_id",
    "webhook_event.account_id",
    "webhook_event.from_account_id",
    "webhook_event.body",
];

/// A refusal is a 400 `invalid_input` that names one of `fields`.
fn typed(e: &ApiError, fields: &[&str]) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.status.as_u16(), 400, "{:?}", e);
    prop_assert_eq!(e.code.as_str(), "invalid_input");
    let f = e.field.as_deref().unwrap_or("");
    prop_assert!(fields.contains(&f), "unexpected field {:?} in {:?}", f, e);
    prop_assert!(!e.message.is_empty());
    Ok(())
}

/// What the store would do with it: either fine, or a typed `invalid_input`.
fn store_check(n: NewConsultation) -> Result<(), TestCaseError> {
    if let Err(e) = n.validate() {
        prop_assert_eq!(
            e.code(),
            renkei_core::error::ErrorCode::InvalidInput,
            "{:?}",
            e
        );
    }
    Ok(())
}

/// Message text without NUL: Japanese, ASCII, line breaks, Chatwork markup.
fn message_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => any::<char>(),
            4 => proptest::char::range('\u{3041}', '\u{30FA}'),
            2 => proptest::char::range('\u{4E00}', '\u{4FFF}'),
            1 => Just('\n'),
            1 => Just('['),
            1 => Just(']'),
        ],
        0..400,
    )
    .prop_map(|cs| cs.into_iter().filter(|c| *c != '\0').collect())
}

/// A LINE WORKS-like id: visible ASCII, no spaces.
fn lw_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9@._-]{1,60}"
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn lineworks_parser_never_panics_and_refuses_with_a_field(v in json_value(LW_KEYS)) {
        match lineworks::consultation_from_event(&v) {
            Ok(None) => prop_assert!(v.get("type").and_then(Value::as_str) != Some("message")),
            Ok(Some(n)) => {
                prop_assert_eq!(n.channel, Channel::Lineworks);
                prop_assert_eq!(n.external_id.as_ref().map(String::len), Some(64));
                store_check(n)?;
            }
            Err(e) => typed(&e, LW_FIELDS)?,
        }
    }

    /// Events that look right except for one part, at any place.
    #[test]
    fn lineworks_parser_on_near_valid_events(
        channel in proptest::option::of(json_value(LW_KEYS)),
        user in proptest::option::of(json_value(LW_KEYS)),
        content in json_value(LW_KEYS),
        issued in json_value(LW_KEYS),
    ) {
        let mut source = serde_json::Map::new();
        if let Some(c) = channel { source.insert("channelId".into(), c); }
        if let Some(u) = user { source.insert("userId".into(), u); }
        let v = json!({"type": "message", "source": source, "content": content, "issuedTime": issued});
        match lineworks::consultation_from_event(&v) {
            Ok(Some(n)) => store_check(n)?,
            Ok(None) => prop_assert!(false, "a message event was ignored"),
            Err(e) => typed(&e, LW_FIELDS)?,
        }
    }

    /// A valid text message is accepted, keeps its text and thread, and passes the store's
    /// validation; a redelivery has the same external id, another text another one.
    #[test]
    fn lineworks_valid_messages_are_accepted(
        channel in proptest::option::of(lw_id()),
        user in lw_id(),
        text in message_text(),
        issued in "2026-1[0-2]-[0-2][1-9]T[01][0-9]:[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z",
    ) {
        let mut source = json!({"userId": user, "domainId": 400012345});
        if let Some(c) = &channel { source["channelId"] = json!(c); }
        let ev = json!({"type": "message", "source": source, "issuedTime": issued,
            "content": {"type": "text", "text": text}});
        let n = lineworks::consultation_from_event(&ev).unwrap().unwrap();
        prop_assert_eq!(&n.body, &text);
        prop_assert_eq!(n.thread_key.as_deref(), Some(channel.as_deref().unwrap_or(&user)));
        prop_assert!(n.subject.chars().count() <= SUBJECT_CHARS);
        let again = lineworks::consultation_from_event(&ev.clone()).unwrap().unwrap();
        prop_assert_eq!(&again.external_id, &n.external_id);
        let mut other = ev.clone();
        other["content"]["text"] = json!(format!("{text}。"));
        let other = lineworks::consultation_from_event(&other).unwrap().unwrap();
        prop_assert_ne!(&other.external_id, &n.external_id);
        let n = n.validate().unwrap();
        prop_assert_eq!(&n.body, &text);
    }

    /// The signature check never panics, accepts exactly the right signature and refuses a
    /// changed body or key.
    #[test]
    fn signatures_verify_only_the_signed_body(
        key in proptest::collection::vec(any::<u8>(), 0..80),
        body in proptest::collection::vec(any::<u8>(), 0..300),
        junk in proptest::option::of(".{0,60}"),
        flip in any::<proptest::sample::Index>(),
    ) {
        let sig = lineworks::sign(&key, &body);
        prop_assert!(lineworks::verify(&key, &body, Some(&sig)));
        let padded = format!(" {} ", sig);
        prop_assert!(lineworks::verify(&key, &body, Some(&padded)));
        prop_assert!(!lineworks::verify(&key, &body, None));
        if let Some(j) = &junk {
            prop_assert_eq!(lineworks::verify(&key, &body, Some(j)), j.trim() == sig);
        }
        if !body.is_empty() {
            let mut changed = body.clone();
            let i = flip.index(changed.len());
            changed[i] ^= 0x01;
            prop_assert!(!lineworks::verify(&key, &changed, Some(&sig)));
        }
        let mut other_key = key.clone();
        other_key.push(0x5A);
        prop_assert!(!lineworks::verify(&other_key, &body, Some(&sig)));
    }

    #[test]
    fn chatwork_parser_never_panics_and_refuses_with_a_field(v in json_value(CW_KEYS)) {
        match chatwork::consultation_from_webhook(&v) {
            Ok(None) => {
                let kind = v.get("webhook_event_type").and_then(Value::as_str);
                prop_assert!(kind != Some("message_created") && kind != Some("mention_to_me"));
            }
            Ok(Some(n)) => {
                prop_assert_eq!(n.channel, Channel::Chatwork);
                store_check(n)?;
            }
            Err(e) => typed(&e, CW_FIELDS)?,
        }
    }

    #[test]
    fn chatwork_parser_on_near_valid_events(
        message_id in json_value(CW_KEYS),
        room_id in json_value(CW_KEYS),
        account in proptest::option::of(json_value(CW_KEYS)),
        body in json_value(CW_KEYS),
        mention in any::<bool>(),
    ) {
        let mut ev = json!({"message_id": message_id, "room_id": room_id, "body": body});
        if let Some(a) = account {
            ev[if mention { "from_account_id" } else { "account_id" }] = a;
        }
        let kind = if mention { "mention_to_me" } else { "message_created" };
        let v = json!({"webhook_event_type": kind, "webhook_event": ev});
        match chatwork::consultation_from_webhook(&v) {
            Ok(Some(n)) => {
                // Ids that made it are clean: digits of an integer, or one visible word.
                let ext = n.external_id.clone().unwrap();
                prop_assert!(!ext.is_empty() && ext.len() <= chatwork::MAX_ID_BYTES);
                prop_assert!(!ext.chars().any(|c| c.is_control() || c.is_whitespace()));
                store_check(n)?;
            }
            Ok(None) => prop_assert!(false, "a message event was ignored"),
            Err(e) => typed(&e, CW_FIELDS)?,
        }
    }

    /// A valid message is accepted, keyed by its message id, threaded by its room, with the
    /// markup kept verbatim.
    #[test]
    fn chatwork_valid_messages_are_accepted(
        message_id in any::<u64>(),
        id_as_string in any::<bool>(),
        room in 1u64..10_000_000_000,
        account in proptest::option::of(1u64..100_000_000),
        text in message_text(),
    ) {
        let body = format!("[To:{room}]{text}[info][title]退院[/title]{text}[/info]");
        let mut ev = json!({"room_id": room, "body": body, "send_time": 1796089200});
        ev["message_id"] = if id_as_string { json!(message_id.to_string()) } else { json!(message_id) };
        if let Some(a) = account { ev["account_id"] = json!(a); }
        let v = json!({"webhook_event_type": "message_created", "webhook_event": ev});
        let n = chatwork::consultation_from_webhook(&v).unwrap().unwrap();
        let message_key = message_id.to_string();
        let room_key = room.to_string();
        prop_assert_eq!(n.external_id.as_deref(), Some(message_key.as_str()));
        prop_assert_eq!(n.thread_key.as_deref(), Some(room_key.as_str()));
        prop_assert_eq!(&n.body, &body);
        if body.chars().count() <= renkei_core::model::MAX_BODY_CHARS {
            n.validate().unwrap();
        }
    }

    /// The shared builder (webhook and poller) takes any strings without panicking; the sender
    /// is one clean line of at most 100 characters.
    #[test]
    fn chatwork_message_builder_is_total(
        room in ".{0,20}", id in ".{0,20}", account in ".{0,300}", body in ".{0,300}",
    ) {
        let n = chatwork::consultation_from_message(&room, &id, &account, &body);
        prop_assert!(n.sender.name.chars().count() <= MAX_SENDER_CHARS);
        prop_assert!(!n.sender.name.chars().any(char::is_control));
        prop_assert_eq!(&n.body, &body);
        store_check(n)?;
    }

    #[test]
    fn subjects_are_one_short_line(text in ".{0,300}", fallback in "[a-z]{1,10}") {
        let s = subject_from(&text, &fallback);
        prop_assert!(!s.is_empty());
        prop_assert!(s.chars().count() <= SUBJECT_CHARS.max(fallback.chars().count()));
        prop_assert!(!s.chars().any(char::is_control));
        let _ = strip_chatwork_tags(&text);
    }

    /// The strict reader agrees with serde_json on everything without a repeated key (floats
    /// included: both read them with serde_json's own number parser).
    #[test]
    fn strict_json_agrees_with_serde_json(v in json_value(LW_KEYS)) {
        let raw = serde_json::to_vec(&v).unwrap();
        let theirs: Value = serde_json::from_slice(&raw).unwrap();
        prop_assert_eq!(json::parse_strict(&raw).unwrap(), theirs);
    }

    /// Any object with a key written twice is refused, naming the key.
    #[test]
    fn strict_json_refuses_any_repeated_key(
        v in json_value(LW_KEYS),
        key in "[a-z]{1,8}",
        a in json_value(LW_KEYS),
        b in json_value(LW_KEYS),
    ) {
        let inner = format!(
            "{{\"{key}\":{},\"{key}\":{}}}",
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
        let raw = format!("[{},{inner}]", serde_json::to_string(&v).unwrap());
        let e = json::parse_strict(raw.as_bytes()).unwrap_err();
        prop_assert!(e.to_string().contains(&format!("duplicate key '{key}'")), "{}", e);
    }

    #[test]
    fn strict_json_never_panics_on_bytes(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        let ours = json::parse_strict(&raw);
        if let Ok(v) = &ours {
            prop_assert_eq!(serde_json::from_slice::<Value>(&raw).unwrap(), v.clone());
        }
    }

    /// The partner body pipeline on arbitrary bytes: JSON error, or a typed field error, or a
    /// valid consultation; never a panic.
    #[test]
    fn partner_body_pipeline_is_total(raw in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        json_value(&["external_id", "category", "urgency", "subject", "body", "sender", "name", "role", "phone", "patient_ref"])
            .prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]) {
        let Ok(v) = json::parse_strict(&raw) else { return Ok(()) };
        if !v.is_object() {
            return Ok(());
        }
        let req: ConsultationRequest = serde_json::from_value(v).unwrap();
        match req.into_new(3) {
            Ok(n) => prop_assert!(n.clone().validate().is_ok()),
            Err(e) => {
                let api = ApiError::from(e);
                prop_assert_eq!(api.status.as_u16(), 400);
                prop_assert!(api.field.is_some(), "{:?}", api);
            }
        }
    }
}
