//! `renkei backup` / `renkei restore` on a PostgreSQL hub (issue 18): `pg_dump` sealed with the
//! store key, restored with `pg_restore` into a new empty database — the same consultations,
//! attachments and audit chain, `renkei check` clean. A damaged file, the wrong key, a
//! database that is not empty and the wrong kind of backup are refused and change nothing.
//! A private cluster of this test's own (crates/cli/tests/common/pg.rs).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::pg::PgCluster;
use common::*;

use std::path::Path;
use std::process::{Command, Output};

fn on(data: &Path, key: &Path, url: &str) -> Command {
    let mut c = renkei(data, key);
    c.env("RENKEI_DATABASE_URL", url);
    c
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn failed(out: Output, what: &str) -> String {
    assert!(!out.status.success(), "{what} must fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn queue(data: &Path, key: &Path, url: &str) -> Vec<serde_json::Value> {
    let out = ok(
        on(data, key, url)
            .args(["queue", "--json", "--all"])
            .output()
            .unwrap(),
        "queue",
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_hub_backup_restores_into_a_new_database_and_nothing_else() {
    let pg = PgCluster::start();
    pg.create_db("hub_src");
    pg.create_db("hub_dst");
    let (src, dst) = (pg.socket_url("hub_src"), pg.socket_url("hub_dst"));
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let mail = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mail");

    ok(on(&data, &key, &src).arg("init").output().unwrap(), "init");
    for f in ["pdf_attachment.eml", "sjis.eml", "mcs_notice.eml"] {
        ok(
            on(&data, &key, &src)
                .args(["import"])
                .arg(mail.join(f))
                .output()
                .unwrap(),
            f,
        );
    }
    let before = queue(&data, &key, &src);
    assert_eq!(before.len(), 3);

    let file = tmp.path().join("hub.rkbackup");
    let out = ok(
        on(&data, &key, &src)
            .args(["backup", "--out", file.to_str().unwrap(), "--json"])
            .output()
            .unwrap(),
        "backup",
    );
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["format"], 2, "{m}");
    assert_eq!(m["consultations"], 3, "{m}");
    assert!(m["attachments"].as_u64().unwrap() >= 1, "{m}");

    // Nothing readable in the file: no subject, no body text, no pg_dump signature.
    let raw = std::fs::read(&file).unwrap();
    let subject = before[0]["subject"].as_str().unwrap();
    for needle in [
        subject.as_bytes(),
        b"PGDMP".as_slice(),
        b"CREATE TABLE".as_slice(),
    ] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle),
            "the backup leaks {:?}",
            String::from_utf8_lossy(needle)
        );
    }

    // Into a database that is not empty: refused.
    let err = failed(
        on(&data, &key, &src)
            .args(["restore", file.to_str().unwrap()])
            .output()
            .unwrap(),
        "restore into the source",
    );
    assert!(err.contains("not empty"), "{err}");

    // A damaged copy: refused before the target database is touched.
    let bad = tmp.path().join("damaged.rkbackup");
    let mut b = raw.clone();
    let at = b.len() - 100;
    b[at] ^= 0x55;
    std::fs::write(&bad, &b).unwrap();
    let err = failed(
        on(&data, &key, &dst)
            .args(["restore", bad.to_str().unwrap()])
            .output()
            .unwrap(),
        "restore of a damaged file",
    );
    assert!(err.contains("damaged"), "{err}");
    // A cut-off copy, too (the last segment is missing).
    std::fs::write(&bad, &raw[..raw.len() - 70_000.min(raw.len() / 2)]).unwrap();
    let err = failed(
        on(&data, &key, &dst)
            .args(["restore", bad.to_str().unwrap()])
            .output()
            .unwrap(),
        "restore of a cut-off file",
    );
    assert!(err.contains("damaged"), "{err}");

    // The wrong key: refused.
    let other_key = tmp.path().join("other.key");
    let other = tmp.path().join("other");
    ok(
        renkei(&other, &other_key).arg("init").output().unwrap(),
        "init another store",
    );
    let err = failed(
        on(&data, &other_key, &dst)
            .args(["restore", file.to_str().unwrap()])
            .output()
            .unwrap(),
        "restore with another key",
    );
    assert!(err.contains("another store key"), "{err}");

    // A hub backup into a SQLite folder: says what to do.
    let err = failed(
        renkei(&tmp.path().join("sqlite"), &key)
            .env_remove("RENKEI_DATABASE_URL")
            .args(["restore", file.to_str().unwrap()])
            .output()
            .unwrap(),
        "restore of a hub backup without a database URL",
    );
    assert!(err.contains("RENKEI_DATABASE_URL"), "{err}");

    // The real restore: same rows, attachments readable, check clean (restore runs it).
    ok(
        on(&data, &key, &dst)
            .args(["restore", file.to_str().unwrap()])
            .output()
            .unwrap(),
        "restore into the new database",
    );
    let after = queue(&data, &key, &dst);
    assert_eq!(after, before, "the restored queue is the backed-up one");
    let check = ok(
        on(&data, &key, &dst)
            .args(["check", "--json"])
            .output()
            .unwrap(),
        "check after restore",
    );
    let report: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
}
