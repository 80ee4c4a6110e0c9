//! The hub's staff API for connected desks (issue 19) against a real `renkei serve` on a real
//! socket: enrolment, revocation, sessions (attribution, expiry, hostile input) and the
//! compare-and-set take. SQLite, or PostgreSQL under `make unit-pg`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::desk::*;
use common::*;
use serde_json::{json, Value};

#[test]
fn a_device_enrols_with_its_code_once_and_a_revoked_one_is_refused_at_its_next_request() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let code = rig.device_code("受付PC");

    // A wrong code: 401, nothing enrolled.
    let (s, v) = call(
        &hub.addr,
        "POST",
        "/v1/desk/enroll",
        &[],
        Some(&json!({"code": "AAAA-BBBB-CCCC-DDDD"})),
    );
    assert_eq!((s, v["code"].as_str()), (401, Some("unauthorized")), "{v}");
    assert!(v["message"].as_str().unwrap().contains("renkei device add"));
    let list: Vec<Value> = serde_json::from_str(&rig.cli(&["device", "list", "--json"])).unwrap();
    assert_eq!(list[0]["state"], "waiting");

    let mut pc = Pc::enroll(&hub.addr, &code);
    assert!(pc.token.starts_with("rkd_") && pc.token.len() > 60);
    // Single use.
    let (s, _) = call(
        &hub.addr,
        "POST",
        "/v1/desk/enroll",
        &[],
        Some(&json!({"code": code})),
    );
    assert_eq!(s, 401);
    // The token is not stored in clear anywhere the CLI shows.
    let listed = rig.cli(&["device", "list", "--json"]);
    assert!(!listed.contains(&pc.token) && !listed.contains(&code));
    assert!(listed.contains("enrolled"), "{listed}");

    // The sign-in screen's list needs only the device token.
    let (s, v) = pc.call("GET", "/v1/desk/staff", None);
    assert_eq!(s, 200, "{v}");
    let names: Vec<&str> = v["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, [DOCTOR.0, CLERK.0]);
    assert!(!v.to_string().contains("pin_hash"));
    // Settings need a session.
    assert_eq!(pc.call("GET", "/v1/desk/settings", None).0, 401);
    pc.sign_in(CLERK);
    assert_eq!(pc.call("GET", "/v1/desk/queue", None).0, 200);
    let (s, v) = pc.call("GET", "/v1/desk/settings", None);
    assert_eq!((s, v["lock_after_minutes"].as_i64()), (200, Some(5)), "{v}");

    let id = list[0]["id"].as_i64().unwrap().to_string();
    let out = rig.cli(&["device", "revoke", &id]);
    assert!(out.contains("revoked"), "{out}");
    let (s, v) = pc.call("GET", "/v1/desk/queue", None);
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("device_revoked")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("受付PC"), "{v}");
    // Signing in again does not help.
    let (s, v) = pc.call(
        "POST",
        "/v1/desk/sessions",
        Some(&json!({"name": CLERK.0, "pin": CLERK.1})),
    );
    assert_eq!((s, v["code"].as_str()), (401, Some("device_revoked")));
    let actions: Vec<String> = rig
        .audit()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect();
    for a in [
        "device.add",
        "device.enroll",
        "device.revoke",
        "login",
        "session.open",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}

/// What the desk did in the attribution test (the CLI's import and views are someone else).
const DESK_ACTIONS: [&str; 5] = [
    "consultation.ack",
    "message.note",
    "consultation.status",
    "message.reply",
    "attachment.read",
];

#[test]
fn every_change_is_attributed_to_the_session_never_to_a_name_in_the_body() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let mut pc = Pc::enroll(&hub.addr, &rig.device_code("受付PC"));
    pc.sign_in(CLERK);
    let id = rig.arrival(&hub.addr, "A-1");
    let v = pc.row(id)["version"].as_i64().unwrap();
    let forged = "なりすまし";
    let path = |p: &str| format!("/v1/desk/consultations/{id}/{p}");
    let (s, r) = pc.call(
        "POST",
        &path("take"),
        Some(&json!({"version": v, "by": forged})),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["owner"], CLERK.0);
    let (s, m) = pc.call(
        "POST",
        &path("messages"),
        Some(
            &json!({"kind": "note", "body": "午後に折り返します", "by": forged, "author": forged}),
        ),
    );
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["author"], CLERK.0);
    let (s, r) = pc.call(
        "POST",
        &path("status"),
        Some(&json!({"status": "in_progress", "by": forged})),
    );
    assert_eq!((s, r["status"].as_str()), (200, Some("in_progress")), "{r}");
    let (s, r) = pc.call(
        "POST",
        &path("reply"),
        Some(&json!({"body": "承知しました。", "by": forged})),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["message"]["author"], CLERK.0);

    // A document of the consultation, fetched through the desk API.
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";
    let file = rig.tmp.path().join("紹介状.pdf");
    std::fs::write(&file, pdf).unwrap();
    rig.cli(&["import", file.to_str().unwrap(), "--to", &id.to_string()]);
    let detail = pc.row(id);
    let doc = detail["attachments"][0]["id"].as_i64().unwrap();
    let auth = format!("Bearer {}", pc.token);
    let session = pc.session.clone().unwrap();
    let hdr = [
        ("Authorization", auth.as_str()),
        ("X-Renkei-Session", session.as_str()),
    ];
    match send(
        &hub.addr,
        "GET",
        &format!("/v1/desk/documents/{doc}"),
        &hdr,
        "",
    ) {
        Sent::Answer(200, body) => assert_eq!(body.as_bytes(), pdf),
        other => panic!("document: {other:?}"),
    }
    match send(&hub.addr, "GET", "/v1/desk/documents/999999", &hdr, "") {
        Sent::Answer(404, _) => {}
        other => panic!("unknown document: {other:?}"),
    }

    let audit = rig.audit();
    let mine: Vec<&Value> = audit
        .iter()
        .filter(|a| a["target"] == format!("consultation:{id}"))
        .filter(|a| DESK_ACTIONS.contains(&a["action"].as_str().unwrap()))
        .collect();
    let actions: Vec<&str> = mine.iter().map(|a| a["action"].as_str().unwrap()).collect();
    for a in DESK_ACTIONS {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    assert!(mine.iter().all(|a| a["actor"] == CLERK.0), "{mine:?}");
    let everything =
        serde_json::to_string(&audit).unwrap() + &rig.cli(&["show", &id.to_string(), "--json"]);
    assert!(!everything.contains(forged), "the forged name is nowhere");
}

#[test]
fn a_take_after_someone_elses_take_answers_409_with_their_name_and_changes_nothing() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let mut a = Pc::enroll(&hub.addr, &rig.device_code("受付PC"));
    let mut b = Pc::enroll(&hub.addr, &rig.device_code("看護師PC"));
    a.sign_in(CLERK);
    b.sign_in(DOCTOR);
    let id = rig.arrival(&hub.addr, "C-1");
    // Both desks show the row as it is now.
    let (_, q) = b.call("GET", "/v1/desk/queue", None);
    let seen = q["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap()["version"]
        .as_i64()
        .unwrap();
    assert_eq!(a.row(id)["version"].as_i64().unwrap(), seen);

    let (s, r) = a.take(id, seen);
    assert_eq!((s, r["owner"].as_str()), (200, Some(CLERK.0)), "{r}");
    let after_a = a.row(id);
    let audit_before = rig.audit().len();

    let (s, e) = b.take(id, seen);
    assert_eq!(s, 409, "{e}");
    assert_eq!(e["code"], "taken");
    assert_eq!(e["owner"], CLERK.0);
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .starts_with("田村さんが対応中です"),
        "{e}"
    );
    let now = a.row(id);
    assert_eq!(now["owner"], CLERK.0);
    assert_eq!(now["version"], after_a["version"], "nothing changed");
    assert_eq!(rig.audit().len(), audit_before, "nothing audited");

    // Having seen 田村 as the owner, 大野 may take it over on purpose.
    let (s, r) = b.take(id, now["version"].as_i64().unwrap());
    assert_eq!((s, r["owner"].as_str()), (200, Some(DOCTOR.0)), "{r}");
}

#[test]
fn an_idle_session_expires_by_the_injected_clock_and_sign_out_ends_it() {
    let rig = HubRig::new();
    let t0 = "2026-12-01T10:00:00+09:00";
    let hub = rig.serve_at("hub1", t0);
    let mut pc = Pc::enroll(&hub.addr, &rig.device_code("受付PC"));
    let signed = pc.sign_in(CLERK);
    assert_eq!(signed["idle_minutes"], 5);
    assert_eq!(signed["staff"]["name"], CLERK.0);
    assert_eq!(pc.call("GET", "/v1/desk/me", None).0, 200);
    drop(hub);

    // Four minutes later the session still works (and counts as activity)…
    let hub = rig.serve_at("hub2", "2026-12-01T10:04:00+09:00");
    pc.addr = hub.addr.clone();
    let (s, me) = pc.call("GET", "/v1/desk/me", None);
    assert_eq!(
        (s, me["staff"]["name"].as_str()),
        (200, Some(CLERK.0)),
        "{me}"
    );
    drop(hub);
    // …then more than five idle minutes: 401 session_expired.
    let hub = rig.serve_at("hub3", "2026-12-01T10:09:30+09:00");
    pc.addr = hub.addr.clone();
    let (s, v) = pc.call("GET", "/v1/desk/queue", None);
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("session_expired")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("sign in again"));

    pc.sign_in(DOCTOR);
    assert_eq!(pc.call("GET", "/v1/desk/queue", None).0, 200);
    let (s, v) = pc.call("DELETE", "/v1/desk/sessions/current", None);
    assert_eq!((s, v["status"].as_str()), (200, Some("signed_out")), "{v}");
    let (s, v) = pc.call("GET", "/v1/desk/queue", None);
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("session_unknown")),
        "{v}"
    );
}

#[test]
fn hostile_tokens_sessions_and_bodies_get_clear_errors_and_store_nothing() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let mut a = Pc::enroll(&hub.addr, &rig.device_code("A"));
    let b = Pc::enroll(&hub.addr, &rig.device_code("B"));
    a.sign_in(CLERK);
    let id = rig.arrival(&hub.addr, "H-1");
    let session = a.session.clone().unwrap();
    let long = "x".repeat(5000);
    let garbled = [
        vec![],
        vec![("Authorization", "Bearer")],
        vec![("Authorization", "Basic cmVua2VpOnJlbmtlaQ==")],
        vec![("Authorization", "Bearer rkd_0000")],
        vec![("Authorization", long.as_str())],
        vec![("Authorization", "Bearer 大野")],
    ];
    for h in &garbled {
        let mut h = h.clone();
        h.push(("X-Renkei-Session", session.as_str()));
        let (s, v) = call(&hub.addr, "GET", "/v1/desk/queue", &h, None);
        assert_eq!(
            (s, v["code"].as_str()),
            (401, Some("unauthorized")),
            "{h:?}: {v}"
        );
        assert!(v["message"].as_str().unwrap().contains("enrol"), "{v}");
    }
    // A device without a session; a session of device A used by device B; a garbled session.
    let (s, v) = b.call("GET", "/v1/desk/queue", None);
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("session_required")),
        "{v}"
    );
    let mut stolen = b.clone();
    stolen.session = Some(session.clone());
    let (s, v) = stolen.call("GET", "/v1/desk/queue", None);
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("session_unknown")),
        "{v}"
    );
    stolen.session = Some("rks_' OR 1=1 --".into());
    assert_eq!(stolen.call("GET", "/v1/desk/queue", None).0, 401);

    // Wrong PIN: 401, no session.
    let (s, v) = b.call(
        "POST",
        "/v1/desk/sessions",
        Some(&json!({"name": CLERK.0, "pin": "0000"})),
    );
    assert_eq!((s, v["code"].as_str()), (401, Some("unauthorized")), "{v}");

    let messages_before = rig.cli(&["show", &id.to_string(), "--json"]);
    let audit_before = rig.audit().len();
    // Oversize note: 413, nothing stored.
    let huge = json!({"kind": "note", "body": "あ".repeat(200_000)});
    let (s, v) = a.call(
        "POST",
        &format!("/v1/desk/consultations/{id}/messages"),
        Some(&huge),
    );
    assert_eq!((s, v["code"].as_str()), (413, Some("too_large")), "{v}");
    // Not JSON, broken JSON, wrong types, unknown codes, unknown ids.
    let auth = format!("Bearer {}", a.token);
    let hdr = [
        ("Authorization", auth.as_str()),
        ("X-Renkei-Session", session.as_str()),
    ];
    let path = format!("/v1/desk/consultations/{id}/messages");
    let text = [("Content-Type", "text/plain"), hdr[0], hdr[1]];
    match send(&hub.addr, "POST", &path, &text, "note") {
        Sent::Answer(415, b) => assert!(b.contains("application/json"), "{b}"),
        other => panic!("{other:?}"),
    }
    let js = [("Content-Type", "application/json"), hdr[0], hdr[1]];
    match send(
        &hub.addr,
        "POST",
        &path,
        &js,
        "{\"kind\": \"note\", \"body\": ",
    ) {
        Sent::Answer(400, b) => assert!(b.contains("invalid_json"), "{b}"),
        other => panic!("{other:?}"),
    }
    let (s, v) = a.call("POST", &path, Some(&json!({"kind": "note", "body": 42})));
    assert_eq!(s, 400, "{v}");
    let (s, v) = a.call(
        "POST",
        &format!("/v1/desk/consultations/{id}/status"),
        Some(&json!({"status": "done"})),
    );
    assert_eq!((s, v["field"].as_str()), (400, Some("status")), "{v}");
    let (s, _) = a.take(999_999, 0);
    assert_eq!(s, 404);
    let (s, _) = a.call("GET", "/v1/desk/consultations/abc", None);
    assert_eq!(s, 404);
    let (s, v) = a.call(
        "POST",
        "/v1/desk/presence",
        Some(&json!({"consultation_id": id, "state": "sleeping"})),
    );
    assert_eq!((s, v["field"].as_str()), (400, Some("state")), "{v}");

    // (`renkei show` records a view in the audit trail: count before it.)
    assert_eq!(rig.audit().len(), audit_before, "nothing audited");
    assert_eq!(
        rig.cli(&["show", &id.to_string(), "--json"]),
        messages_before,
        "nothing stored"
    );
}

/// The offline desk's outbox (issue 19): an action sent with an `Idempotency-Key` is applied
/// once however often it is sent — again, after a lost answer, to a restarted hub — with the
/// session's name; the same key for another request is refused and stores nothing; a refused
/// action records no key, so it stays refused.
#[test]
fn a_keyed_action_is_applied_once_however_often_it_is_sent_also_to_a_restarted_hub() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let mut b = Pc::enroll(&hub.addr, &rig.device_code("看護師PC"));
    b.sign_in(CLERK);
    let id = rig.arrival(&hub.addr, "K-1");
    let notes = |pc: &Pc, text: &str| {
        pc.row(id)["thread"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "note" && m["body"] == text)
            .count()
    };
    let text = "折り返し済み（架空）";
    let note = json!({"kind": "note", "body": text});
    let path = format!("/v1/desk/consultations/{id}/messages");

    let (s, first) = b.call_keyed("POST", &path, Some("desk-k1"), Some(&note));
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["author"], CLERK.0, "{first}");
    let audit = rig.audit().len();
    let (s, again) = b.call_keyed("POST", &path, Some("desk-k1"), Some(&note));
    assert_eq!((s, &again["replayed"]), (200, &json!(true)), "{again}");
    assert_eq!(again["consultation_id"], id);
    assert_eq!(notes(&b, text), 1);
    assert_eq!(rig.audit().len(), audit, "a replay writes nothing");

    // The hub restarts (another process on the same store): still once.
    drop(hub);
    let hub = rig.serve("hub-again");
    b.addr = hub.addr.clone();
    let (s, again) = b.call_keyed("POST", &path, Some("desk-k1"), Some(&note));
    assert_eq!((s, &again["replayed"]), (200, &json!(true)), "{again}");
    assert_eq!(notes(&b, text), 1);

    // The same key for another request: refused, nothing stored.
    let other = json!({"kind": "note", "body": "別の内容"});
    let (s, e) = b.call_keyed("POST", &path, Some("desk-k1"), Some(&other));
    assert_eq!((s, e["code"].as_str()), (409, Some("conflict")), "{e}");
    assert_eq!(notes(&b, "別の内容"), 0);

    // A keyed take that loses the compare-and-set (大野 took it on another PC meanwhile) records
    // no key: sent again, still refused.
    let mut a = Pc::enroll(&hub.addr, &rig.device_code("受付PC"));
    a.sign_in(DOCTOR);
    let v = b.row(id)["version"].as_i64().unwrap();
    assert_eq!(a.take(id, v).0, 200);
    let stale = json!({"version": v});
    let take = format!("/v1/desk/consultations/{id}/take");
    for _ in 0..2 {
        let (s, e) = b.call_keyed("POST", &take, Some("desk-k2"), Some(&stale));
        assert_eq!((s, e["owner"].as_str()), (409, Some(DOCTOR.0)), "{e}");
    }
    // A keyed status change twice: one change, one audit event.
    let status_events = || {
        rig.audit()
            .iter()
            .filter(|e| e["action"] == "consultation.status")
            .count()
    };
    let before = status_events();
    let status = format!("/v1/desk/consultations/{id}/status");
    let body = json!({"status": "waiting_partner"});
    for _ in 0..2 {
        let (s, r) = b.call_keyed("POST", &status, Some("desk-k3"), Some(&body));
        assert_eq!(s, 200, "{r}");
    }
    assert_eq!(status_events(), before + 1);
    assert_eq!(b.row(id)["status"], "waiting_partner");
}

/// A connected PC logs a phone call (電話受付) at the hub: a new consultation on channel
/// `phone`, entered by the session's staff; a bad form stores nothing.
#[test]
fn a_phone_call_logged_on_a_connected_pc_becomes_a_consultation_at_the_hub() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let mut a = Pc::enroll(&hub.addr, &rig.device_code("受付PC"));
    a.sign_in(CLERK);
    let call = json!({
        "partner": "みどり調剤薬局（架空）", "partner_kind": "pharmacy", "caller": "架空 薬剤師",
        "category": "medication", "urgency": null, "summary": "在庫の確認（架空）", "notes": "午後に折り返し",
    });
    let (s, out) = a.call("POST", "/v1/desk/phone", Some(&call));
    assert_eq!(s, 201, "{out}");
    let id = out["id"].as_i64().expect("the new consultation's id");
    let row = a.row(id);
    assert_eq!(row["channel"], "phone", "{row}");
    assert_eq!(row["subject"], "在庫の確認（架空）");
    let entered: Vec<_> = rig
        .audit()
        .into_iter()
        .filter(|e| e["action"] == "consultation.create")
        .collect();
    assert!(
        entered.iter().any(|e| e["actor"] == CLERK.0),
        "entered by the session's staff: {entered:?}"
    );

    let before = a.call("GET", "/v1/desk/queue", None).1["rows"]
        .as_array()
        .unwrap()
        .len();
    let mut bad = call.clone();
    bad["category"] = json!("no_such_category");
    let (s, e) = a.call("POST", "/v1/desk/phone", Some(&bad));
    assert_eq!((s, e["code"].as_str()), (400, Some("invalid_input")), "{e}");
    let after = a.call("GET", "/v1/desk/queue", None).1["rows"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after, "a refused form stores nothing");
}
