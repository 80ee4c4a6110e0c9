//! The desk app's hub client (`renkei-hubclient`, issue 19) against a real `renkei serve`:
//! trust on first use of the hub's certificate and the pin afterwards, enrolment, sign-in, the
//! compare-and-set take seen from two PCs, the event stream resuming across a hub restart with
//! exactly the missed changes, a revoked PC locked out, the credential kept private.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::desk::*;
use common::*;

use renkei_core::store::consultations::QueueFilter;
use renkei_core::Status;
use renkei_hubclient::client::probe;
use renkei_hubclient::{credential, HubClient, HubError, HubEvent, HubUrl};
use std::path::Path;
use std::time::{Duration, Instant};

fn tls_hub(rig: &HubRig, certs: &Path, name: &str) -> Server {
    start_args(
        &rig.data,
        &rig.key,
        rig.tmp.path().join(format!("{name}.log")),
        &[],
        &[
            "--tls-cert",
            certs.join("server.pem").to_str().unwrap(),
            "--tls-key",
            certs.join("server.key").to_str().unwrap(),
        ],
    )
}

fn certs(rig: &HubRig, name: &str) -> std::path::PathBuf {
    let d = rig.tmp.path().join(name);
    std::fs::create_dir(&d).unwrap();
    tls::make_certs(&d);
    d
}

/// `openssl x509 -fingerprint -sha256` of the server certificate: what the administrator reads
/// out to the person connecting the PC.
fn openssl_fingerprint(certs: &Path) -> String {
    let o = std::process::Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(certs.join("server.pem"))
        .output()
        .unwrap();
    let t = String::from_utf8(o.stdout).unwrap();
    t.trim().rsplit_once('=').unwrap().1.to_string()
}

fn port(addr: &str) -> &str {
    addr.rsplit_once(':').unwrap().1
}

#[test]
fn two_pcs_over_https_with_a_pinned_certificate_and_a_take_refused_with_the_owner() {
    let rig = HubRig::new();
    let a_certs = certs(&rig, "certs");
    let hub = tls_hub(&rig, &a_certs, "hub");
    let url = HubUrl::parse(&format!("https://localhost:{}", port(&hub.addr))).unwrap();

    // First connect: the fingerprint the app shows is the certificate's real one.
    let fp = probe(&url)
        .unwrap()
        .expect("an https hub has a certificate");
    assert_eq!(fp, openssl_fingerprint(&a_certs));

    // Confirmed → pinned; both PCs enrol with their one-time codes.
    let mut a = HubClient::new(url.clone(), Some(fp.clone())).unwrap();
    let ea = a.enroll(&rig.device_code("受付PC"), None).unwrap();
    assert_eq!(ea.name, "受付PC");
    assert_eq!(a.credential(&ea).fingerprint.as_deref(), Some(fp.as_str()));
    let mut b = HubClient::new(url.clone(), Some(fp.clone())).unwrap();
    b.enroll(&rig.device_code("看護師PC"), None).unwrap();
    let staff = a.staff().unwrap();
    assert!(staff.to_string().contains("大野"), "{staff}");

    // Without a session the staff API refuses, saying what to do.
    match a.queue(&QueueFilter::default()) {
        Err(HubError::Api {
            status: 401, code, ..
        }) => assert_eq!(code, "session_required"),
        other => panic!("{other:?}"),
    }
    a.sign_in(DOCTOR.0, DOCTOR.1).unwrap();
    b.sign_in(CLERK.0, CLERK.1).unwrap();

    // The clinic's settings as a connected PC's settings view reads them: the app's own
    // `Settings` type, secrets masked.
    let settings: renkei_core::settings::Settings =
        serde_json::from_value(b.settings().unwrap()).unwrap();
    assert!(!settings.clinic_name.is_empty());

    // A partner's consultation arrives (through a second, plain hub process on the same store).
    let plain = rig.serve("plain");
    let id = rig.arrival(&plain.addr, "hc-1");
    let (_, rows_b) = b.queue(&QueueFilter::default()).unwrap();
    let seen_by_b = rows_b.iter().find(|r| r.id == id).unwrap().clone();
    assert_eq!(seen_by_b.owner, None);

    // A takes; B's take with the version it showed is refused with A's name.
    let taken = a.take(id, seen_by_b.version).unwrap();
    assert_eq!(taken.owner.as_deref(), Some(DOCTOR.0));
    match b.take(id, seen_by_b.version) {
        Err(e @ HubError::Api { status: 409, .. }) => {
            assert_eq!(e.code(), "taken");
            match &e {
                HubError::Api { owner, message, .. } => {
                    assert_eq!(owner.as_deref(), Some(DOCTOR.0));
                    assert!(message.contains("大野さんが対応中"), "{message}");
                }
                _ => unreachable!(),
            }
        }
        other => panic!("{other:?}"),
    }

    // Status and a note from A, attributed by the hub to the session.
    let row = a.set_status(id, Status::InProgress).unwrap();
    assert_eq!(row.status, Status::InProgress);
    let note = a.add_message(id, "note", "折り返し済み（架空）").unwrap();
    assert_eq!(note.author, DOCTOR.0);
    let detail = b.show(id, false).unwrap();
    assert_eq!(detail["owner"], DOCTOR.0);
    assert_eq!(detail["status"], "in_progress");
    b.presence(id, "viewing").unwrap();
    let detail = a.show(id, false).unwrap();
    assert!(
        detail["presence"].to_string().contains(CLERK.0),
        "{}",
        detail["presence"]
    );
    a.sign_out().unwrap();
    assert!(a.queue(&QueueFilter::default()).is_err());
}

#[test]
fn a_changed_certificate_is_refused_before_the_code_or_token_reaches_the_hub() {
    let rig = HubRig::new();
    let old = certs(&rig, "old");
    let new = certs(&rig, "new");
    let hub = tls_hub(&rig, &new, "hub");
    let url = HubUrl::parse(&format!("https://localhost:{}", port(&hub.addr))).unwrap();
    let code = rig.device_code("受付PC");

    // The PC trusts the old certificate; the hub (or someone in between) shows another.
    let mut pc = HubClient::new(url.clone(), Some(openssl_fingerprint(&old))).unwrap();
    match pc.enroll(&code, None) {
        Err(HubError::CertificateChanged { got, pinned }) => {
            assert_eq!(got, openssl_fingerprint(&new));
            assert_eq!(pinned, openssl_fingerprint(&old));
        }
        other => panic!("{other:?}"),
    }
    let e = HubClient::new(url.clone(), Some(openssl_fingerprint(&old)))
        .unwrap()
        .staff()
        .unwrap_err();
    assert!(e.to_string().contains("certificate changed"), "{e}");
    // Without a pin, a certificate no public root vouches for is refused too.
    let e = HubClient::new(url.clone(), None)
        .unwrap()
        .staff()
        .unwrap_err();
    assert_eq!(e.code(), "hub_certificate_changed", "{e}");

    // The code never reached the hub: it still works with the right pin, once.
    let mut pc = HubClient::new(url, Some(openssl_fingerprint(&new))).unwrap();
    pc.enroll(&code, None).unwrap();
    let audit = rig.audit();
    let enrolls = audit
        .iter()
        .filter(|r| r["action"] == "device.enroll")
        .count();
    assert_eq!(enrolls, 1, "{audit:?}");
}

#[test]
fn plain_http_to_another_host_is_refused_with_what_to_do() {
    let e = HubUrl::parse("http://192.168.10.5:8787").unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    assert!(
        e.to_string().contains("https://") && e.to_string().contains("192.168.10.5"),
        "{e}"
    );
    assert!(HubUrl::parse("http://127.0.0.1:8787").is_ok());
}

#[test]
fn the_event_stream_resumes_after_a_hub_restart_with_exactly_the_missed_changes() {
    let rig = HubRig::new();
    let hub = rig.serve("hub1");
    let addr = hub.addr.clone();
    let url = HubUrl::parse(&format!("http://{addr}")).unwrap();
    assert_eq!(probe(&url).unwrap(), None);
    let mut a = HubClient::new(url.clone(), None).unwrap();
    a.enroll(&rig.device_code("受付PC"), None).unwrap();
    a.sign_in(DOCTOR.0, DOCTOR.1).unwrap();
    let id = rig.arrival(&addr, "hc-live-1");
    let (seq, rows) = a.queue(&QueueFilter::default()).unwrap();
    let version = rows.iter().find(|r| r.id == id).unwrap().version;

    let mut stream = a.events(Some(seq)).unwrap();
    stream.connect().unwrap();
    let t0 = Instant::now();
    a.take(id, version).unwrap();
    let first = loop {
        if let HubEvent::Change { seq, data } = stream.next_event().unwrap() {
            break (seq, data);
        }
    };
    println!("take → event through the client: {:?}", t0.elapsed());
    assert_eq!(first.1["kind"], "consultation.ack");
    assert_eq!(first.1["owner"], DOCTOR.0);
    assert_eq!(stream.last_id(), Some(first.0));

    // The hub stops; while it is down, two changes are made by `renkei` on the same store.
    drop(hub);
    rig.cli(&["status", &id.to_string(), "in_progress", "--by", CLERK.0]);
    rig.cli(&[
        "status",
        &id.to_string(),
        "waiting_partner",
        "--by",
        CLERK.0,
    ]);
    // It comes back on the same address; the stream reconnects with Last-Event-ID.
    let restarter = {
        let data = rig.data.clone();
        let key = rig.key.clone();
        let log = rig.tmp.path().join("hub2.log");
        let addr = addr.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(800));
            start_args(&data, &key, log, &[], &["--listen", &addr])
        })
    };
    // Collected on a thread so that a stream that never delivers them fails the test in 30 s.
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        while got.len() < 2 {
            if let HubEvent::Change { seq, data } = stream.next_event().unwrap() {
                got.push((
                    seq,
                    data["kind"].as_str().unwrap().to_string(),
                    data["status"].clone(),
                ));
            }
        }
        let _ = tx.send(got);
        stream
    });
    let got = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the changes made while the hub was down, after it restarted");
    let mut stream = reader.join().unwrap();
    let _hub2 = restarter.join().unwrap();
    assert!(stream.connects >= 2, "reconnected: {}", stream.connects);
    assert_eq!(got[0].0, first.0 + 1, "{got:?}");
    assert_eq!(got[1].0, first.0 + 2, "{got:?}");
    // Replayed events carry the row as it is now (docs/openapi.yaml).
    assert_eq!(got[0].1, "consultation.status");
    assert_eq!(got[1].1, "consultation.status");
    assert_eq!(got[1].2, "waiting_partner");
    // Nothing twice: the next event is a new change, not a replay.
    a.add_message(id, "note", "確認しました（架空）").unwrap();
    let next = loop {
        if let HubEvent::Change { seq, data } = stream.next_event().unwrap() {
            break (seq, data);
        }
    };
    assert_eq!(next.0, first.0 + 3);
    assert_eq!(next.1["kind"], "message.note");
}

#[test]
fn a_revoked_pc_is_locked_out_and_its_stream_is_not_retried() {
    let rig = HubRig::new();
    let hub = rig.serve("hub");
    let url = HubUrl::parse(&format!("http://{}", hub.addr)).unwrap();
    let mut a = HubClient::new(url, None).unwrap();
    let e = a.enroll(&rig.device_code("受付PC"), None).unwrap();
    a.sign_in(DOCTOR.0, DOCTOR.1).unwrap();
    let (seq, _) = a.queue(&QueueFilter::default()).unwrap();
    let mut stream = a.events(Some(seq)).unwrap();
    stream.connect().unwrap();

    rig.cli(&["device", "revoke", &e.device_id.to_string()]);
    match a.queue(&QueueFilter::default()) {
        Err(e @ HubError::Api { status: 401, .. }) => {
            assert_eq!(e.code(), "device_revoked");
        }
        other => panic!("{other:?}"),
    }
    // The open stream is ended by the hub (≈ 5 s) and the reconnect is answered 401: returned,
    // not retried forever.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = loop {
            match stream.next_event() {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        let _ = tx.send(r);
    });
    let err = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the stream gives up");
    assert_eq!(err.code(), "device_revoked", "{err}");
}

#[test]
fn the_credential_is_kept_private_when_there_is_no_keyring() {
    // SAFETY of the test: only this test in this binary reads RENKEI_KEYRING.
    std::env::set_var("RENKEI_KEYRING", "off");
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(credential::load(tmp.path()).unwrap(), None);
    let c = renkei_hubclient::DeviceCredential {
        url: "https://hub.example:8787".into(),
        token: "rkd_0123".into(),
        fingerprint: Some("AB:CD".into()),
        device_id: 3,
        device_name: "受付PC".into(),
    };
    assert_eq!(
        credential::save(tmp.path(), &c).unwrap(),
        credential::Home::File
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join(credential::FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(credential::load(tmp.path()).unwrap(), Some(c.clone()));
    assert!(!format!("{c:?}").contains("rkd_0123"));
    credential::delete(tmp.path()).unwrap();
    assert_eq!(credential::load(tmp.path()).unwrap(), None);
}

/// Issue 19, offline: what the desk's outbox sends (`send_keyed`) reaches the hub once — sent
/// again after a lost answer, refused while the hub is down, sent again to the restarted hub on
/// the same address — attributed to the session; a take that lost meanwhile is refused each
/// time with the owner's name (the desk shows it as a conflict).
#[test]
fn an_outbox_note_is_applied_once_across_lost_answers_and_a_hub_restart() {
    let rig = HubRig::new();
    let hub = rig.serve("hub1");
    let addr = hub.addr.clone();
    let url = HubUrl::parse(&format!("http://{addr}")).unwrap();
    let mut b = HubClient::new(url, None).unwrap();
    b.enroll(&rig.device_code("看護師PC"), None).unwrap();
    b.sign_in(CLERK.0, CLERK.1).unwrap();
    let id = rig.arrival(&addr, "hc-offline-1");
    let version = b.show(id, false).unwrap()["version"].as_i64().unwrap();
    let text = "オフライン中のメモ（架空）";
    let notes = |b: &HubClient| {
        b.show(id, false).unwrap()["thread"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == "note" && m["body"] == text)
            .count()
    };
    let note = serde_json::json!({"body": text});

    let first = b.send_keyed("note", id, &note, "desk-n1").unwrap();
    assert_eq!(first["author"], CLERK.0, "{first}");
    // The answer was lost: the desk sends it again.
    let again = b.send_keyed("note", id, &note, "desk-n1").unwrap();
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(notes(&b), 1);

    // Meanwhile 大野 takes it at the hub (its CLI) and the hub stops.
    rig.cli(&["ack", &id.to_string(), "--by", DOCTOR.0]);
    drop(hub);
    match b.send_keyed("note", id, &note, "desk-n1") {
        Err(e @ HubError::Unreachable { .. }) => assert_eq!(e.code(), "hub_unreachable"),
        other => panic!("{other:?}"),
    }
    let _hub = start_args(
        &rig.data,
        &rig.key,
        rig.tmp.path().join("hub2.log"),
        &[],
        &["--listen", &addr],
    );
    let again = b.send_keyed("note", id, &note, "desk-n1").unwrap();
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(notes(&b), 1);
    // B's take from before (the version it saw): refused with 大野's name, each time.
    for _ in 0..2 {
        match b.send_keyed(
            "take",
            id,
            &serde_json::json!({"version": version}),
            "desk-t1",
        ) {
            Err(e @ HubError::Api { status: 409, .. }) => {
                assert_eq!(e.code(), "taken");
                if let HubError::Api { owner, .. } = &e {
                    assert_eq!(owner.as_deref(), Some(DOCTOR.0));
                }
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(b.show(id, false).unwrap()["owner"], DOCTOR.0);
}
