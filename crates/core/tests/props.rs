//! Property-based tests of the core parsers and scanners (proptest, bounded: 256 cases per
//! property, a few seconds in all): partner JSON → `ConsultationRequest` → `NewConsultation`,
//! document type detection by magic bytes, the urgency suggester, the PII scanner and the
//! width normaliser. Properties: never panic; errors are typed and name the field; valid inputs
//! are accepted and keep their key fields; detection never claims a type whose magic bytes are
//! not there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use renkei_core::error::{Error, ErrorCode};
use renkei_core::model::{
    clean_line, ConsultationRequest, NewConsultation, MAX_BODY_CHARS, MAX_SENDER_CHARS,
    MAX_SUBJECT_CHARS,
};
use renkei_core::pii;
use renkei_core::store::blobs::{check_document, sniff_media_type, MAX_ATTACHMENT_BYTES};
use renkei_core::urgency::{self, normalize, normalize_with_offsets, NO_RULE_REASON};
use renkei_core::{Category, Urgency};
use serde_json::{json, Value};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    }
}

const PDF_MAGIC: &[u8] = b"%PDF-";
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];

/// Bytes that often start like a known type (so the interesting branches are reached).
fn document_bytes() -> impl Strategy<Value = Vec<u8>> {
    let magic = prop_oneof![
        Just(Vec::new()),
        Just(PDF_MAGIC.to_vec()),
        Just(b"%PDF".to_vec()),
        Just(PNG_MAGIC.to_vec()),
        Just(PNG_MAGIC[..7].to_vec()),
        Just(JPEG_MAGIC.to_vec()),
        Just(vec![0xFF, 0xD8]),
        Just(b"II*\0".to_vec()),
        Just(b"MM\0*".to_vec()),
        Just(b"II*".to_vec()),
    ];
    let tail = prop_oneof![
        Just(Vec::new()),
        Just(b"%%EOF".to_vec()),
        Just(b"%%EOF\n".to_vec()),
        Just(b"%%EO".to_vec()),
    ];
    (magic, proptest::collection::vec(any::<u8>(), 0..2048), tail)
        .prop_map(|(m, mid, t)| [m, mid, t].concat())
}

fn declared() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(prop_oneof![
        Just("application/pdf".to_string()),
        Just("image/png".to_string()),
        Just("image/jpeg".to_string()),
        Just("image/jpg".to_string()),
        Just("image/tiff".to_string()),
        Just("IMAGE/PNG; charset=x".to_string()),
        ".{0,30}",
    ])
}

proptest! {
    #![proptest_config(config())]

    /// Detection says a type only when that type's magic bytes are at the start.
    #[test]
    fn sniffing_never_claims_a_type_without_its_magic(bytes in document_bytes()) {
        match sniff_media_type(&bytes) {
            Some("application/pdf") => prop_assert!(bytes.starts_with(PDF_MAGIC)),
            Some("image/png") => prop_assert!(bytes.starts_with(PNG_MAGIC)),
            Some("image/jpeg") => prop_assert!(bytes.starts_with(JPEG_MAGIC)),
            Some("image/tiff") => {
                prop_assert!(bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*"))
            }
            Some(other) => prop_assert!(false, "unknown type {other}"),
            None => prop_assert!(
                ![PDF_MAGIC, PNG_MAGIC, JPEG_MAGIC, b"II*\0", b"MM\0*"]
                    .iter()
                    .any(|m| bytes.starts_with(m)),
                "a known magic was not recognised"
            ),
        }
    }

    #[test]
    fn sniffing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = sniff_media_type(&bytes);
    }

    /// A stored document is never empty, too large, of an unknown type, of a type other than
    /// the declared one, or a PDF without its end marker; a refusal has a typed code.
    #[test]
    fn document_check_accepts_only_what_it_can_vouch_for(
        name in ".{0,40}",
        bytes in document_bytes(),
        declared in declared(),
    ) {
        match check_document(&name, &bytes, declared.as_deref()) {
            Ok(media) => {
                prop_assert!(!bytes.is_empty() && bytes.len() <= MAX_ATTACHMENT_BYTES);
                prop_assert_eq!(sniff_media_type(&bytes), Some(media));
                if let Some(d) = &declared {
                    let d = d.split(';').next().unwrap().trim().to_ascii_lowercase();
                    let d = if d == "image/jpg" { "image/jpeg".to_string() } else { d };
                    prop_assert_eq!(d.as_str(), media);
                }
                if media == "application/pdf" {
                    let tail = &bytes[bytes.len().saturating_sub(1024)..];
                    prop_assert!(tail.windows(5).any(|w| w == b"%%EOF"));
                }
            }
            Err(e) => {
                let code = e.code();
                prop_assert!(
                    matches!(code, ErrorCode::InvalidInput | ErrorCode::UnsupportedMediaType | ErrorCode::TooLarge),
                    "unexpected code {:?}", code
                );
                if let Error::Invalid { field, .. } = &e {
                    prop_assert_eq!(field.as_deref(), Some("file"));
                }
            }
        }
    }

    /// A well-formed document of each type with the right declaration is accepted.
    #[test]
    fn valid_documents_are_accepted(mid in proptest::collection::vec(any::<u8>(), 0..512), kind in 0usize..4) {
        let (bytes, media) = match kind {
            0 => ([PDF_MAGIC, &mid, b"\n%%EOF\n"].concat(), "application/pdf"),
            1 => ([PNG_MAGIC, &mid].concat(), "image/png"),
            2 => ([JPEG_MAGIC, &mid].concat(), "image/jpeg"),
            _ => ([&b"II*\0"[..], &mid].concat(), "image/tiff"),
        };
        prop_assert_eq!(check_document("紹介状", &bytes, Some(media)).unwrap(), media);
        prop_assert_eq!(check_document("紹介状", &bytes, None).unwrap(), media);
    }
}

// ----- partner JSON → ConsultationRequest → NewConsultation ----------------------------------

const REQUEST_FIELDS: &[&str] = &[
    "external_id",
    "category",
    "urgency",
    "subject",
    "body",
    "sender",
    "patient_ref",
];

/// Every field name an error of `into_new` may name.
const NAMED_FIELDS: &[&str] = &[
    "external_id",
    "category",
    "urgency",
    "subject",
    "body",
    "sender",
    "sender.name",
    "sender.role",
    "sender.phone",
    "patient_ref",
];

/// Arbitrary JSON, with strings that are often codes or near-codes.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,30}".prop_map(Value::String),
        prop_oneof![
            Just("discharge"),
            Just("urgent"),
            Just("today"),
            Just("info"),
            Just("Discharge"),
            Just(""),
            Just(" "),
            Just("\0"),
            Just("a\u{1b}b"),
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("name".to_string()),
                    Just("role".to_string()),
                    Just("phone".to_string()),
                    "[a-z]{1,6}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A request object whose fields are each present or not, of any type.
fn request_object() -> impl Strategy<Value = Value> {
    proptest::collection::vec(proptest::option::of(json_value()), REQUEST_FIELDS.len()).prop_map(
        |vals| {
            let mut m = serde_json::Map::new();
            for (k, v) in REQUEST_FIELDS.iter().zip(vals) {
                if let Some(v) = v {
                    m.insert((*k).to_string(), v);
                }
            }
            Value::Object(m)
        },
    )
}

/// Text without NUL, of any script.
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => any::<char>(),
            4 => proptest::char::range('\u{3041}', '\u{30FA}'),
            2 => proptest::char::range('\u{4E00}', '\u{4FFF}'),
            1 => Just('\n'),
        ],
        0..max,
    )
    .prop_map(|cs| cs.into_iter().filter(|c| *c != '\0').collect())
}

/// One line of visible text (no control characters), 1..max characters.
fn one_line(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range('!', '~'),
            proptest::char::range('\u{3041}', '\u{30FA}'),
            proptest::char::range('\u{4E00}', '\u{4FFF}'),
        ],
        1..max,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

#[derive(Debug, Clone)]
struct ValidRequest {
    json: Value,
    external_id: Option<String>,
    category: Category,
    urgency: Option<Urgency>,
    subject: String,
    body: String,
    name: String,
    role: Option<String>,
    phone: Option<String>,
    patient_ref: Option<String>,
}

fn valid_request() -> impl Strategy<Value = ValidRequest> {
    (
        proptest::option::of(one_line(60)),
        proptest::sample::select(Category::ALL),
        proptest::option::of(proptest::sample::select(Urgency::ALL)),
        one_line(MAX_SUBJECT_CHARS),
        text(300),
        one_line(MAX_SENDER_CHARS),
        proptest::option::of(one_line(30)),
        proptest::option::of("0[0-9]{1,4}-[0-9]{2,4}-[0-9]{4}"),
        proptest::option::of(one_line(40)),
    )
        .prop_map(
            |(external_id, category, urgency, subject, body, name, role, phone, patient_ref)| {
                let mut sender = json!({"name": name});
                if let Some(r) = &role {
                    sender["role"] = json!(r);
                }
                if let Some(p) = &phone {
                    sender["phone"] = json!(p);
                }
                let mut v = json!({
                    "category": category.as_str(),
                    "subject": subject,
                    "body": body,
                    "sender": sender,
                });
                if let Some(x) = &external_id {
                    v["external_id"] = json!(x);
                }
                if let Some(u) = urgency {
                    v["urgency"] = json!(u.as_str());
                }
                if let Some(p) = &patient_ref {
                    v["patient_ref"] = json!(p);
                }
                ValidRequest {
                    json: v,
                    external_id,
                    category,
                    urgency,
                    subject,
                    body,
                    name,
                    role,
                    phone,
                    patient_ref,
                }
            },
        )
}

fn assert_valid_consultation(n: &NewConsultation) -> Result<(), TestCaseError> {
    prop_assert!(!n.subject.is_empty());
    prop_assert!(n.subject.chars().count() <= MAX_SUBJECT_CHARS);
    prop_assert!(!n.subject.chars().any(char::is_control));
    prop_assert!(n.body.chars().count() <= MAX_BODY_CHARS);
    prop_assert!(!n.body.contains('\0'));
    prop_assert!(!n.sender.name.trim().is_empty());
    for s in [
        Some(&n.sender.name),
        n.sender.role.as_ref(),
        n.sender.phone.as_ref(),
        n.patient_ref.as_ref(),
        n.external_id.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        prop_assert!(
            !s.chars().any(char::is_control),
            "control character in {:?}",
            s
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Any JSON object: either a valid consultation or an `invalid_input` error naming a field.
    #[test]
    fn request_validation_is_total_and_names_the_field(v in request_object()) {
        let req: ConsultationRequest = serde_json::from_value(v).unwrap();
        match req.into_new(7) {
            Ok(n) => assert_valid_consultation(&n)?,
            Err(Error::Invalid { field: Some(f), message }) => {
                prop_assert!(NAMED_FIELDS.contains(&f.as_str()), "unknown field {f}");
                prop_assert!(!message.is_empty());
            }
            Err(e) => prop_assert!(false, "untyped error {e:?}"),
        }
    }

    /// Any JSON value at all (arrays, numbers…) either deserialises into a request or fails
    /// cleanly; never a panic.
    #[test]
    fn request_from_any_json_never_panics(v in json_value()) {
        if let Ok(req) = serde_json::from_value::<ConsultationRequest>(v) {
            let _ = req.into_new(1);
        }
    }

    /// Valid requests are accepted and keep what the partner sent.
    #[test]
    fn valid_requests_round_trip(r in valid_request()) {
        let req: ConsultationRequest = serde_json::from_value(r.json.clone()).unwrap();
        let n = req.into_new(42).unwrap();
        assert_valid_consultation(&n)?;
        prop_assert_eq!(n.category, r.category);
        prop_assert_eq!(n.urgency, r.urgency);
        prop_assert_eq!(&n.subject, &clean_line(&r.subject));
        prop_assert_eq!(&n.body, &r.body);
        prop_assert_eq!(&n.external_id, &r.external_id);
        prop_assert_eq!(&n.sender.name, &r.name);
        prop_assert_eq!(&n.sender.role, &r.role);
        prop_assert_eq!(&n.sender.phone, &r.phone);
        prop_assert_eq!(&n.patient_ref, &r.patient_ref);
        // Validation is idempotent.
        prop_assert_eq!(n.clone().validate().unwrap(), n);
    }

    /// One wrong field makes the request fail with that field named.
    #[test]
    fn a_broken_field_is_named(r in valid_request(), which in 0usize..6, bad in prop_oneof![
        Just(json!(1)), Just(json!(true)), Just(json!([])), Just(json!({})), Just(json!("a\u{0}b")),
        Just(json!("x".repeat(MAX_SENDER_CHARS + 1))),
    ]) {
        let mut v = r.json.clone();
        let (path, field): (&[&str], &str) = match which {
            0 => (&["category"], "category"),
            1 => (&["subject"], "subject"),
            2 => (&["sender", "name"], "sender.name"),
            3 => (&["sender", "phone"], "sender.phone"),
            4 => (&["external_id"], "external_id"),
            _ => (&["patient_ref"], "patient_ref"),
        };
        // A long string is fine for a subject (≤ 200) and an external id (≤ 200 bytes).
        let long = bad.as_str().is_some_and(|s| s.len() > 100 && !s.contains('\0'));
        if long && matches!(field, "subject" | "external_id" | "patient_ref") {
            return Ok(());
        }
        if path.len() == 2 {
            v[path[0]][path[1]] = bad;
        } else {
            v[path[0]] = bad;
        }
        let req: ConsultationRequest = serde_json::from_value(v).unwrap();
        match req.into_new(1) {
            Err(Error::Invalid { field: Some(f), .. }) => prop_assert_eq!(f, field),
            other => prop_assert!(false, "expected an error on {field}, got {other:?}"),
        }
    }
}

// ----- urgency, PII, normalisation ----------------------------------------------------------

fn marker() -> impl Strategy<Value = String> {
    "[a-z]{10}".prop_map(|s| format!("zqx{s}"))
}

proptest! {
    #![proptest_config(config())]

    /// The suggester answers any text, the same way twice, with a reason; no rule → 通常; the
    /// reason never quotes words of the message that no rule knows (names stay out of it).
    #[test]
    fn urgency_suggestion_is_total_and_never_quotes_the_message(
        subject in text(80),
        body in text(400),
        mark in marker(),
        at in 0usize..400,
    ) {
        let mut body = body;
        let cut = body.char_indices().map(|(i, _)| i).nth(at).unwrap_or(body.len());
        body.insert_str(cut, &format!(" {mark}様 "));
        let s = urgency::suggest(&subject, &body);
        prop_assert_eq!(&s, &urgency::suggest(&subject, &body));
        prop_assert!(!s.reason.is_empty());
        if s.rule.is_none() {
            prop_assert_eq!(s.urgency, Urgency::Normal);
            prop_assert_eq!(s.reason.as_str(), NO_RULE_REASON);
        }
        prop_assert!(!s.reason.contains(&mark));
        prop_assert!(!s.matched.iter().any(|m| m.contains(&mark)));
    }

    /// Findings are in order, do not overlap, lie on character boundaries inside the text, and
    /// never carry the text itself.
    #[test]
    fn pii_findings_are_well_formed(text in text(400), mark in marker()) {
        let text = format!("{text}{mark}");
        let flags = pii::scan(&text);
        let mut last_end = 0;
        for f in &flags {
            prop_assert!(f.start < f.end, "{f:?}");
            prop_assert!(f.end <= text.len());
            prop_assert!(f.start >= last_end, "overlap or out of order: {flags:?}");
            prop_assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            prop_assert!(
                ["phone", "full_name", "birth_date", "address", "insurance_no", "my_number"].contains(&f.kind.as_str())
            );
            prop_assert!(!f.message.contains(&mark) && !f.suggestion.contains(&mark));
            last_end = f.end;
        }
        let summary = pii::summary_ja(&flags);
        prop_assert_eq!(summary.is_empty(), flags.is_empty());
    }

    /// A phone number in any surroundings is flagged (as a phone or a longer number).
    #[test]
    fn a_phone_number_anywhere_is_flagged(
        before in text(100),
        after in text(100),
        number in prop_oneof![
            "0[5-9]0-[0-9]{4}-[0-9]{4}",
            "0[1-9]-[0-9]{4}-[0-9]{4}",
            "０９０－[０-９]{4}－[０-９]{4}",
        ],
    ) {
        let text = format!("{before}。電話 {number}。{after}");
        let start = before.len() + "。電話 ".len();
        let end = start + number.len();
        let flags = pii::scan(&text);
        prop_assert!(
            flags.iter().any(|f| f.start < end && start < f.end),
            "no finding over {number} in {text:?}: {flags:?}"
        );
    }

    /// Normalising keeps one character per character, and offsets point at them.
    #[test]
    fn normalising_keeps_positions(text in text(200)) {
        let n = normalize(&text);
        prop_assert_eq!(n.chars().count(), text.chars().count());
        let (chars, offsets) = normalize_with_offsets(&text);
        prop_assert_eq!(chars.len() + 1, offsets.len());
        prop_assert_eq!(*offsets.last().unwrap(), text.len());
        prop_assert!(offsets.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(offsets.iter().all(|o| text.is_char_boundary(*o)));
    }
}
