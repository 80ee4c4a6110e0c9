//! TLS to PostgreSQL (issue 18): a private PostgreSQL cluster of this test's own, with `ssl=on`
//! and a certificate from a throw-away CA, that refuses every TCP connection without TLS
//! (`hostnossl … reject`). `renkei` with `sslmode=require` and the CA in
//! `RENKEI_DATABASE_CA_FILE` works on it; without the CA the certificate is refused with a
//! message that says what to do; `sslmode=disable` to another host is refused before any
//! connection.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use common::pg::PgCluster;
use std::path::Path;
use std::process::Command;

/// `renkei` on the given database URL and environment (not the test run's own PostgreSQL).
fn renkei_on(data: &Path, key: &Path, url: &str, envs: &[(&str, &str)]) -> Command {
    let mut c = renkei(data, key);
    c.env("RENKEI_DATABASE_URL", url)
        .env_remove("RENKEI_DATABASE_CA_FILE")
        .env_remove("RENKEI_DATABASE_ALLOW_PLAINTEXT")
        .envs(envs.iter().copied());
    c
}

#[test]
fn the_hub_talks_to_postgresql_over_verified_tls_only() {
    let cluster = PgCluster::start_tls();
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let ca = cluster.ca();
    let with_ca = [("RENKEI_DATABASE_CA_FILE", ca.to_str().unwrap())];
    let url = cluster.url("sslmode=require");

    // With the CA: init (the migrations), a partner, the queue — every statement over TLS,
    // since the server rejects TCP without it.
    for args in [
        vec!["init"],
        vec![
            "partner", "add", "--name", PARTNER, "--kind", "nursing", "--json",
        ],
        vec!["queue", "--json"],
    ] {
        let o = renkei_on(&data, &key, &url, &with_ca)
            .args(&args)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "renkei {args:?} over TLS: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }

    // Without the CA the certificate is not trusted: refused, and the message says what to do.
    let o = renkei_on(&data, &key, &url, &[])
        .args(["queue", "--json"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success(),
        "an untrusted certificate must be refused"
    );
    assert!(
        err.contains("certificate") && err.contains("RENKEI_DATABASE_CA_FILE"),
        "{err}"
    );

    // Loopback without sslmode=require is plain, which this server rejects: proof that the
    // successful runs above were TLS.
    let o = renkei_on(&data, &key, &cluster.url("sslmode=disable"), &with_ca)
        .args(["queue", "--json"])
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "a plain connection must be rejected by this server"
    );
}

#[test]
fn plaintext_to_another_host_is_refused_before_connecting() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    // 192.0.2.1 (TEST-NET-1): refused by the rule, never dialled.
    let o = renkei_on(
        &data,
        &key,
        "postgresql://renkei@192.0.2.1/renkei?sslmode=disable&connect_timeout=2",
        &[],
    )
    .args(["queue", "--json"])
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("refusing an unencrypted connection")
            && err.contains("RENKEI_DATABASE_ALLOW_PLAINTEXT"),
        "{err}"
    );
}
