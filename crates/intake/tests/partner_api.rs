//! The partner API against a real server: every status code of the contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use renkei_core::PartnerKind;
use renkei_intake::IntakeConfig;

#[tokio::test]
async fn healthz_answers_ok() {
    let s = TestServer::start().await;
    let r = client().get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn create_then_same_external_id_returns_the_same_id() {
    let s = TestServer::start().await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let c = client();
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .json(&consultation("HOKUSHIN-2026-0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["status"], "new");
    let id = v["id"].as_i64().unwrap();
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .json(&consultation("HOKUSHIN-2026-0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["id"].as_i64(), Some(id));
    assert_eq!(s.count(""), 1);
    // The callback heard about the new one only.
    let notices = s.notices.lock().unwrap().clone();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].id, id);
    assert_eq!(notices[0].partner, "札幌北辰病院 地域連携室");
    assert!(notices[0].created);
}

#[tokio::test]
async fn idempotency_key_with_another_body_is_409_and_stores_nothing() {
    let s = TestServer::start().await;
    let (_, key) = s.add_partner("ひまわり訪問看護ステーション", PartnerKind::Nursing);
    let c = client();
    let mut a = consultation("HIMA-1");
    a.as_object_mut().unwrap().remove("external_id");
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "7d0c1f6e-idem-0001")
        .json(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"].as_i64();
    // Same key, same body: the same consultation.
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "7d0c1f6e-idem-0001")
        .json(&a)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["id"].as_i64(),
        id
    );
    // Same key, another body: conflict, nothing stored.
    let mut b = a.clone();
    b["subject"] = "別の相談".into();
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .header("Idempotency-Key", "7d0c1f6e-idem-0001")
        .json(&b)
        .send()
        .await
        .unwrap();
    let v = expect_error(r, 409).await;
    assert_eq!(v["code"], "conflict");
    assert_eq!(s.count(""), 1);
}

#[tokio::test]
async fn external_id_is_scoped_per_partner() {
    let s = TestServer::start().await;
    let (_, k1) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let (_, k2) = s.add_partner("ひまわり訪問看護ステーション", PartnerKind::Nursing);
    let c = client();
    for k in [&k1, &k2] {
        let r = c
            .post(s.url("/v1/consultations"))
            .bearer_auth(k)
            .json(&consultation("SAME-ID"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    assert_eq!(s.count(""), 2);
}

#[tokio::test]
async fn auth_errors_are_401() {
    let s = TestServer::start().await;
    s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let c = client();
    let r = c
        .post(s.url("/v1/consultations"))
        .json(&consultation("X1"))
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(r, 401).await["code"], "unauthorized");
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth("rk_wrong_key")
        .json(&consultation("X1"))
        .send()
        .await
        .unwrap();
    expect_error(r, 401).await;
    let r = c.get(s.url("/v1/consultations/1")).send().await.unwrap();
    expect_error(r, 401).await;
    let r = c.get(s.url("/v1/consultations")).send().await.unwrap();
    expect_error(r, 401).await;
    let r = c
        .post(s.url("/v1/consultations/1/attachments"))
        .header("content-type", "application/pdf")
        .body(PDF)
        .send()
        .await
        .unwrap();
    expect_error(r, 401).await;
    assert_eq!(s.count(""), 0);
}

#[tokio::test]
async fn invalid_bodies_are_400_naming_the_field() {
    let s = TestServer::start().await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let c = client();
    let post = |body: Vec<u8>| {
        c.post(s.url("/v1/consultations"))
            .bearer_auth(&key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = post(b"{\"external_id\": \"A\", ".to_vec()).await.unwrap();
    assert_eq!(expect_error(r, 400).await["code"], "invalid_json");
    let r = post(b"[1,2]".to_vec()).await.unwrap();
    expect_error(r, 400).await;
    let r = post(vec![0xff, 0xfe, 0x7b]).await.unwrap();
    expect_error(r, 400).await;
    let cases = [
        ("category", serde_json::json!("home_visit")),
        ("urgency", serde_json::json!("asap")),
        ("subject", serde_json::json!("")),
        ("sender", serde_json::Value::Null),
        ("body", serde_json::json!(42)),
    ];
    for (field, val) in cases {
        let mut b = consultation("F1");
        b[field] = val;
        let r = post(serde_json::to_vec(&b).unwrap()).await.unwrap();
        let v = expect_error(r, 400).await;
        assert_eq!(v["code"], "invalid_input");
        assert_eq!(v["field"], field, "{v}");
        assert!(v["message"].as_str().unwrap().contains(field), "{v}");
    }
    let mut b = consultation("F1");
    b["sender"] = serde_json::json!({"role": "MSW"});
    let r = post(serde_json::to_vec(&b).unwrap()).await.unwrap();
    assert_eq!(expect_error(r, 400).await["field"], "sender.name");
    assert_eq!(s.count(""), 0);
}

#[tokio::test]
async fn not_json_is_415_and_too_large_is_413() {
    let s = TestServer::start().await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let c = client();
    let body = serde_json::to_vec(&consultation("T1")).unwrap();
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .header("content-type", "text/plain")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(r, 415).await["code"], "unsupported_media_type");
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .body(body)
        .send()
        .await
        .unwrap();
    expect_error(r, 415).await;
    let mut big = consultation("T2");
    big["body"] = "あ".repeat(400_000).into(); // 1.2 MB of UTF-8
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .json(&big)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(r, 413).await["code"], "too_large");
    assert_eq!(s.count(""), 0);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let s = TestServer::start_with(IntakeConfig {
        rate_limit_per_min: 2,
        ..config()
    })
    .await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let (_, other) = s.add_partner("ひまわり訪問看護ステーション", PartnerKind::Nursing);
    let c = client();
    for i in 0..2 {
        let r = c
            .post(s.url("/v1/consultations"))
            .bearer_auth(&key)
            .json(&consultation(&format!("R{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&key)
        .json(&consultation("R3"))
        .send()
        .await
        .unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(expect_error(r, 429).await["code"], "rate_limited");
    assert_eq!(s.count(""), 2);
    // Another partner has its own budget.
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&other)
        .json(&consultation("R4"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}

#[tokio::test]
async fn view_is_the_partners_own_and_404_for_others() {
    let s = TestServer::start().await;
    let (_, k1) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let (_, k2) = s.add_partner("北区第2地域包括支援センター", PartnerKind::Houkatsu);
    let c = client();
    let r = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&k1)
        .json(&consultation("V1"))
        .send()
        .await
        .unwrap();
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let r = c
        .get(s.url(&format!("/v1/consultations/{id}")))
        .bearer_auth(&k1)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["id"].as_i64(), Some(id));
    assert_eq!(v["status"], "new");
    assert!(v["read_at"].is_null());
    assert!(v["replies"].as_array().unwrap().is_empty());
    // Read by the clinic → the partner sees when.
    s.desk().show(id, Some("看護師 鈴木")).unwrap();
    let v: serde_json::Value = c
        .get(s.url(&format!("/v1/consultations/{id}")))
        .bearer_auth(&k1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["read_at"].is_string(), "{v}");
    // The list holds only the partner's own.
    let mine: serde_json::Value = c
        .get(s.url("/v1/consultations"))
        .bearer_auth(&k1)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["consultations"].as_array().unwrap().len(), 1);
    let theirs: serde_json::Value = c
        .get(s.url("/v1/consultations"))
        .bearer_auth(&k2)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(theirs["consultations"].as_array().unwrap().is_empty());
    for path in [
        format!("/v1/consultations/{id}"),
        "/v1/consultations/99999".to_string(),
        "/v1/consultations/abc".to_string(),
    ] {
        let key = if path.ends_with(&id.to_string()) {
            &k2
        } else {
            &k1
        };
        let r = c.get(s.url(&path)).bearer_auth(key).send().await.unwrap();
        assert_eq!(expect_error(r, 404).await["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn attachments_pdf_ok_mismatch_415_too_large_413() {
    let s = TestServer::start().await;
    let (_, k1) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let (_, k2) = s.add_partner("ひまわり訪問看護ステーション", PartnerKind::Nursing);
    let c = client();
    let id = c
        .post(s.url("/v1/consultations"))
        .bearer_auth(&k1)
        .json(&consultation("A1"))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let url = s.url(&format!("/v1/consultations/{id}/attachments"));
    let r = c
        .post(&url)
        .bearer_auth(&k1)
        .header("content-type", "application/pdf")
        .header("x-filename", "%E7%B4%B9%E4%BB%8B%E7%8A%B6.pdf")
        .body(PDF)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let a: serde_json::Value = r.json().await.unwrap();
    assert_eq!(a["name"], "紹介状.pdf");
    assert_eq!(a["media_type"], "application/pdf");
    assert_eq!(a["size"].as_u64(), Some(PDF.len() as u64));
    assert_eq!(a["sha256"].as_str().unwrap().len(), 64);
    assert!(a["id"].is_i64());
    // PNG with a name from the query.
    let r = c
        .post(format!("{url}?filename=wound.png"))
        .bearer_auth(&k1)
        .header("content-type", "image/png")
        .body(PNG)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["name"],
        "wound.png"
    );
    // Text declared as PDF.
    let r = c
        .post(&url)
        .bearer_auth(&k1)
        .header("content-type", "application/pdf")
        .body("これはPDFではありません")
        .send()
        .await
        .unwrap();
    expect_error(r, 415).await;
    // A type we do not take.
    let r = c
        .post(&url)
        .bearer_auth(&k1)
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    expect_error(r, 415).await;
    // 20 MiB + 1.
    let mut big = PDF.to_vec();
    big.resize(20 * 1024 * 1024 + 1, b' ');
    let r = c
        .post(&url)
        .bearer_auth(&k1)
        .header("content-type", "application/pdf")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(expect_error(r, 413).await["code"], "too_large");
    // Another partner's consultation.
    let r = c
        .post(&url)
        .bearer_auth(&k2)
        .header("content-type", "application/pdf")
        .body(PDF)
        .send()
        .await
        .unwrap();
    expect_error(r, 404).await;
    assert_eq!(s.attachments(), 2);
}

#[tokio::test]
async fn eight_concurrent_clients_each_get_their_consultation() {
    let s = TestServer::start().await;
    let (_, key) = s.add_partner("札幌北辰病院 地域連携室", PartnerKind::Hospital);
    let c = client();
    let mut tasks = Vec::new();
    for client_no in 0..8 {
        let c = c.clone();
        let key = key.clone();
        let url = s.url("/v1/consultations");
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..10 {
                // Every request twice: the duplicate must map to the same id.
                for _ in 0..2 {
                    let r = c
                        .post(&url)
                        .bearer_auth(&key)
                        .json(&consultation(&format!("C{client_no}-{i}")))
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status() == 201 || r.status() == 200);
                    ids.push(r.json::<serde_json::Value>().await.unwrap()["id"].as_i64());
                }
            }
            ids
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let ids = t.await.unwrap();
        for pair in ids.chunks(2) {
            assert_eq!(pair[0], pair[1]);
        }
        all.extend(ids);
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 80);
    assert_eq!(s.count(""), 80);
}
