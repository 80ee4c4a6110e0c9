//! `renkei serve --tls-cert FILE --tls-key FILE`: the hub speaks HTTPS itself (issue 19), with a
//! certificate from a throw-away CA (`openssl`) and `curl` as a real HTTPS client. Every mistake
//! an administrator can make with the files is refused before the server listens, with a
//! message that says what to do.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Output};

fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "30"])
        .args(args)
        .output()
        .expect("curl (installed by scripts/install-system-deps.sh --test)")
}

fn port(addr: &str) -> &str {
    addr.rsplit_once(':').unwrap().1
}

#[test]
fn serve_with_a_certificate_takes_consultations_over_https_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let certs = tmp.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    tls::make_certs(&certs);
    let api_key = partner_key(&data, &key);
    let (cert, pem_key) = (certs.join("server.pem"), certs.join("server.key"));
    let server = start_args(
        &data,
        &key,
        tmp.path().join("serve.log"),
        &[],
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            pem_key.to_str().unwrap(),
        ],
    );
    let base = format!("https://localhost:{}", port(&server.addr));
    let ca = certs.join("ca.pem");

    // A client that trusts the clinic's CA gets answers.
    let health = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--write-out",
        "\n%{http_code} %{http_version}",
        &format!("{base}/healthz"),
    ]);
    let text = String::from_utf8_lossy(&health.stdout);
    assert!(
        health.status.success() && text.ends_with("200 1.1"),
        "GET /healthz over HTTPS: {text} {}",
        String::from_utf8_lossy(&health.stderr)
    );

    // The partner API over HTTPS: 201, and the consultation is in the store.
    let body = serde_json::json!({
        "external_id": "tls-1",
        "category": "discharge",
        "urgency": "today",
        "subject": "退院調整のご相談（HTTPS）",
        "body": "退院前カンファレンスの日程についてご相談です。",
        "sender": {"name": "佐藤", "role": "MSW"}
    })
    .to_string();
    let posted = curl(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--write-out",
        "\n%{http_code}",
        "-H",
        &format!("Authorization: Bearer {api_key}"),
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body,
        &format!("{base}/v1/consultations"),
    ]);
    let text = String::from_utf8_lossy(&posted.stdout);
    assert!(text.ends_with("\n201"), "POST over HTTPS: {text}");
    let rows = all_rows(&data, &key);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["subject"], "退院調整のご相談（HTTPS）");

    // A client that does not trust the certificate refuses it (curl's "peer certificate
    // cannot be authenticated", exit 60): the server never downgrades.
    let untrusted = curl(&[&format!("{base}/healthz")]);
    assert_eq!(
        untrusted.status.code(),
        Some(60),
        "an untrusted certificate must fail verification: {}",
        String::from_utf8_lossy(&untrusted.stderr)
    );

    // Plain HTTP to the HTTPS port gets no HTTP answer and stores nothing.
    match post(&server.addr, &api_key, &body.replace("tls-1", "tls-2")) {
        Sent::Answer(code, b) => panic!("plain HTTP was answered on the HTTPS port: {code} {b}"),
        Sent::Lost(_) | Sent::Refused(_) => {}
    }
    assert_eq!(
        all_rows(&data, &key).len(),
        1,
        "nothing stored over plain HTTP"
    );
}

/// Runs `renkei serve` with `args`, expecting it to refuse to start: the exit code and stderr.
fn refused(data: &Path, key: &Path, args: &[&str]) -> (Option<i32>, String) {
    let out = renkei(data, key)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("listening"),
        "{args:?}: the server must not start: {stdout}"
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn certificate_mistakes_are_refused_before_listening_with_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    partner_key(&data, &key);
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    for d in [&a, &b] {
        std::fs::create_dir(d).unwrap();
        tls::make_certs(d);
    }
    let p = |d: &Path, f: &str| d.join(f).to_str().unwrap().to_string();

    let (code, err) = refused(&data, &key, &["--tls-cert", &p(&a, "server.pem")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--tls-key") && err.contains("give both"),
        "{err}"
    );

    let (code, err) = refused(
        &data,
        &key,
        &[
            "--tls-cert",
            &p(&a, "server.pem"),
            "--tls-key",
            &p(&b, "server.key"),
        ],
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("does not belong to the certificate"), "{err}");

    let (_, err) = refused(
        &data,
        &key,
        &[
            "--tls-cert",
            &p(&a, "server.key"),
            "--tls-key",
            &p(&a, "server.pem"),
        ],
    );
    assert!(err.contains("holds no certificate"), "{err}");

    let (_, err) = refused(
        &data,
        &key,
        &[
            "--tls-cert",
            &p(&a, "missing.pem"),
            "--tls-key",
            &p(&a, "server.key"),
        ],
    );
    assert!(
        err.contains("cannot read the TLS certificate") && err.contains("--tls-cert"),
        "{err}"
    );
}

#[test]
fn an_expired_or_not_yet_valid_certificate_is_refused() {
    use renkei_intake::tls::{server_config_at, TlsFiles};
    let tmp = tempfile::tempdir().unwrap();
    tls::make_certs(tmp.path());
    let files = TlsFiles {
        cert: tmp.path().join("server.pem"),
        key: tmp.path().join("server.key"),
    };
    let now = chrono::Utc::now();
    server_config_at(&files, now).expect("valid today");
    // make_certs signs for 2 days.
    let e = server_config_at(&files, now + chrono::Duration::days(3)).unwrap_err();
    assert!(e.contains("expired on") && e.contains("renew"), "{e}");
    let e = server_config_at(&files, now - chrono::Duration::days(1)).unwrap_err();
    assert!(e.contains("not valid before"), "{e}");
}
