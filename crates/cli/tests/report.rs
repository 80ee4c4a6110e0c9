//! `renkei handover` and `renkei report` against a known week: documents imported and
//! acknowledged at chosen times (`RENKEI_NOW`), the JSON figures asserted exactly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

struct Env {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    key: PathBuf,
    root: PathBuf,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    Env {
        data: root.join("data"),
        key: root.join("store.key"),
        root,
        _tmp: tmp,
    }
}

impl Env {
    fn run(&self, now: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_renkei"))
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env("RENKEI_KEY_FILE", &self.key)
            .env("RENKEI_NOW", format!("{now}+09:00"))
            .env_remove("RENKEI_DB_KEY")
            .env_remove("RENKEI_DATA_DIR")
            .output()
            .unwrap()
    }
    fn ok(&self, now: &str, args: &[&str]) -> String {
        let o = self.run(now, args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn json(&self, now: &str, args: &[&str]) -> serde_json::Value {
        let out = self.ok(now, args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }
    /// A consultation from a scanned document received at `now`; its id.
    fn import(&self, now: &str, n: u32) -> String {
        let p = self.root.join(format!("referral-{n}.pdf"));
        let pdf =
            format!("%PDF-1.4\n% {n}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n");
        std::fs::write(&p, pdf).unwrap();
        let v = self.json(now, &["import", p.to_str().unwrap(), "--json"]);
        v["id"].as_i64().unwrap().to_string()
    }
}

/// Mon 2026-11-30 … Sun 2026-12-06 on the default calendar (9:00–17:00 Mon–Fri):
/// first responses 30 and 90 business minutes (the second overnight), one never answered.
fn known_week() -> (Env, [String; 3]) {
    let e = env();
    e.ok("2026-11-30T08:00:00", &["init"]);
    let a = e.import("2026-11-30T09:00:00", 1);
    e.ok("2026-11-30T09:30:00", &["ack", &a, "--by", "佐藤"]);
    let b = e.import("2026-12-01T16:00:00", 2);
    e.ok("2026-12-02T09:30:00", &["ack", &b, "--by", "鈴木"]);
    let c = e.import("2026-12-03T10:00:00", 3);
    (e, [a, b, c])
}

#[test]
fn report_json_has_the_known_figures() {
    let (e, _) = known_week();
    let r = e.json("2026-12-08T10:00:00", &["report", "--json"]);
    assert_eq!(r["from"], "2026-11-30");
    assert_eq!(r["to"], "2026-12-06");
    assert_eq!(r["total"], 3);
    let per_day: Vec<i64> = r["arrivals_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["count"].as_i64().unwrap())
        .collect();
    assert_eq!(per_day, [1, 1, 0, 1, 0, 0, 0]);
    assert_eq!(r["heatmap"][0][9], 1);
    assert_eq!(r["heatmap"][1][16], 1);
    assert_eq!(r["heatmap"][3][10], 1);
    let first = &r["overall"]["first_response"];
    assert_eq!(first["n"], 2);
    assert_eq!(first["median_min"], 60.0);
    assert_eq!(first["p90_min"], 90.0);
    assert_eq!(first["max_min"], 90);
    assert_eq!(r["overall"]["unanswered"], 1);

    // a chosen period: Tuesday only
    let r = e.json(
        "2026-12-08T10:00:00",
        &[
            "report",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-01",
            "--json",
        ],
    );
    assert_eq!(r["total"], 1);
    assert_eq!(r["overall"]["first_response"]["median_min"], 90.0);
}

#[test]
fn report_writes_a_self_contained_html_and_reads_well_in_japanese() {
    let (e, _) = known_week();
    let out = e.root.join("week.html");
    let text = e.ok(
        "2026-12-08T10:00:00",
        &["report", "--out", out.to_str().unwrap()],
    );
    assert!(
        text.contains("運用レポート 2026-11-30 〜 2026-12-06"),
        "{text}"
    );
    assert!(text.contains("受付 3件"), "{text}");
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<svg") && html.contains("<title>"));
    assert!(html.contains("@media print"));
    for external in ["http://", "https://", "<script", "<link", "src="] {
        assert!(!html.contains(external), "external resource: {external}");
    }
}

#[test]
fn report_refuses_a_bad_date_with_one_line() {
    let e = env();
    e.ok("2026-12-08T10:00:00", &["init"]);
    for args in [
        ["report", "--from", "2026-13-01"],
        ["report", "--to", "12/06/2026"],
    ] {
        let o = e.run("2026-12-08T10:00:00", &args);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    }
    let o = e.run(
        "2026-12-08T10:00:00",
        &["report", "--from", "2026-12-05", "--to", "2026-12-01"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--from"));
}

#[test]
fn handover_json_groups_by_owner_and_counts() {
    let (e, [a, b, c]) = known_week();
    let h = e.json("2026-12-03T19:00:00", &["handover", "--json"]);
    let groups: Vec<(serde_json::Value, Vec<String>)> = h["by_owner"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let ids = g["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap().to_string())
                .collect();
            (g["owner"].clone(), ids)
        })
        .collect();
    assert_eq!(
        groups,
        [
            (serde_json::json!("佐藤"), vec![a]),
            (serde_json::json!("鈴木"), vec![b]),
            (serde_json::Value::Null, vec![c]),
        ]
    );
    assert_eq!(h["counts"]["open"], 3);
    assert_eq!(h["counts"]["unowned"], 1);
    assert_eq!(h["counts"]["after_hours"], 0);
    assert_eq!(h["last_close"], "2026-12-03T08:00:00Z");
    assert_eq!(h["next_opening"], "2026-12-04T00:00:00Z");
    let text = e.ok("2026-12-03T19:00:00", &["handover"]);
    assert!(text.starts_with("申し送り: 未対応 3件"), "{text}");
    assert!(text.contains("担当なし（1件）"), "{text}");
}
