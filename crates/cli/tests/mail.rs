//! `renkei import FILE.eml`: mail and MCS notices as consultations (fixtures in tests/mail/,
//! fictional people and domains; tests/mail/make_fixtures.py wrote them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const NOW: &str = "2026-12-01T10:00:00+09:00";

struct Env {
    _tmp: tempfile::TempDir,
    data: PathBuf,
    key: PathBuf,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let e = Env {
        data: root.join("data"),
        key: root.join("store.key"),
        _tmp: tmp,
    };
    e.ok(&["init"]);
    e
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/mail")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

impl Env {
    fn run_at(&self, now: &str, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_renkei"))
            .arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env("RENKEI_KEY_FILE", &self.key)
            .env("RENKEI_NOW", now)
            .env_remove("RENKEI_DB_KEY")
            .env_remove("RENKEI_DATA_DIR")
            .env_remove("RENKEI_MCS_SENDERS")
            .output()
            .unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        self.ok_at(NOW, args)
    }
    fn ok_at(&self, now: &str, args: &[&str]) -> String {
        let o = self.run_at(now, args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }
    fn import(&self, name: &str) -> Value {
        self.json(&["import", &fixture(name), "--json"])
    }
    fn show(&self, id: &Value) -> Value {
        self.json(&["show", &id.as_i64().unwrap().to_string(), "--json"])
    }
    fn queue_len(&self) -> usize {
        self.json(&["queue", "--json"]).as_array().unwrap().len()
    }
}

/// All the text of a consultation as shown (subject + messages).
fn text_of(show: &Value) -> String {
    let mut t = show["subject"].as_str().unwrap_or("").to_string();
    for m in show["thread"].as_array().into_iter().flatten() {
        t.push('\n');
        t.push_str(m["body"].as_str().unwrap_or(""));
    }
    t
}

#[test]
fn utf8_mail_becomes_an_email_consultation_and_the_same_message_id_is_not_taken_twice() {
    let e = env();
    let first = e.import("utf8.eml");
    assert_eq!(first["created"], true);
    assert_eq!(first["channel"], "email");
    let show = e.show(&first["id"]);
    assert_eq!(show["channel"], "email");
    assert_eq!(show["subject"], "訪問診療のご相談（試験太郎様）");
    let text = text_of(&show);
    assert!(text.contains("来週ご相談させてください"), "{text}");
    assert_eq!(show["partner"], "送信元未設定", "{show}");
    // The same mail again: exit 0, the existing id, nothing new.
    let again = e.import("utf8.eml");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["created"], false);
    assert_eq!(e.queue_len(), 1);
    // The human line says so too.
    let line = e.ok(&["import", &fixture("utf8.eml")]);
    assert!(line.contains("already imported"), "{line}");
}

#[test]
fn japanese_charsets_are_decoded() {
    let e = env();
    let jis = e.show(&e.import("iso2022jp.eml")["id"]);
    assert_eq!(jis["subject"], "退院前カンファレンスの日程について");
    assert!(text_of(&jis).contains("カンファレンスは１２月３日１４時でいかがでしょうか"));
    assert!(jis.to_string().contains("南ケアプラン 佐々木"), "{jis}");
    let sjis = e.show(&e.import("sjis.eml")["id"]);
    assert_eq!(sjis["subject"], "お薬の配達時間の変更");
    assert!(text_of(&sjis).contains("明日の配達は午後になります"));
}

#[test]
fn html_only_mail_is_turned_into_safe_text() {
    let e = env();
    let show = e.show(&e.import("html_only.eml")["id"]);
    let text = text_of(&show);
    assert!(text.contains("空床のお知らせ&ご案内"), "{text}");
    assert!(text.contains("3階病棟 2床\n受け入れ <可>"), "{text}");
    for gone in [
        "<p>",
        "script",
        "document.write",
        "color: red",
        "tracking",
        "tracker",
    ] {
        assert!(!text.contains(gone), "{gone} left in: {text}");
    }
}

#[test]
fn pdf_attachment_is_stored_and_a_refused_one_is_noted() {
    let e = env();
    let out = e.import("pdf_attachment.eml");
    assert_eq!(out["attachments"].as_array().unwrap().len(), 1, "{out}");
    assert_eq!(out["attachments"][0]["name"], "referral.pdf");
    assert_eq!(out["attachments"][0]["media_type"], "application/pdf");
    assert_eq!(out["refused"].as_array().unwrap().len(), 1, "{out}");
    let show = e.show(&out["id"]);
    assert_eq!(show["attachments"].as_array().unwrap().len(), 1);
    let text = text_of(&show);
    assert!(text.contains("診療情報提供書を添付します"), "{text}");
    assert!(
        text.contains("添付を取り込めませんでした") && text.contains("setup.exe"),
        "{text}"
    );
}

#[test]
fn partner_is_matched_by_address_or_domain() {
    let e = env();
    let p: Value = serde_json::from_str(&e.ok(&[
        "partner",
        "add",
        "--name",
        "架空西病院",
        "--kind",
        "hospital",
        "--json",
    ]))
    .unwrap();
    let pid = p["id"]
        .as_i64()
        .or_else(|| p["partner"]["id"].as_i64())
        .unwrap_or_else(|| panic!("{p}"));
    e.ok(&[
        "partner",
        "link-email",
        &pid.to_string(),
        "nishi-hospital.example.jp",
    ]);
    let show = e.show(&e.import("html_only.eml")["id"]);
    assert_eq!(show["partner"], "架空西病院");
    // Unknown senders still go to the unassigned partner.
    let show = e.show(&e.import("sjis.eml")["id"]);
    assert_eq!(show["partner"], "送信元未設定");
    // A bad handle is refused.
    let o = e.run_at(
        NOW,
        &["partner", "link-email", &pid.to_string(), "not a domain"],
    );
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn mcs_notices_of_one_group_join_one_item_within_the_window() {
    let e = env();
    let first = e.import("mcs_notice.eml");
    assert_eq!(first["channel"], "mcs");
    assert_eq!(first["created"], true);
    let show = e.show(&first["id"]);
    assert_eq!(show["channel"], "mcs");
    assert_eq!(show["partner"], "MCS");
    let text = text_of(&show);
    assert!(text.contains("試験次郎さん"), "{text}");
    assert!(
        text.contains("https://www.medical-care.net/html/timeline/group/10001"),
        "{text}"
    );
    // Another notice for the same group an hour later joins the same open item.
    let second = e.json(&["import", &fixture("mcs_notice_again.eml"), "--json"]);
    assert_eq!(second["id"], first["id"], "{second}");
    assert_eq!(second["joined"], true);
    // Another group is another item.
    let other = e.import("mcs_notice_other.eml");
    assert_ne!(other["id"], first["id"]);
    assert_eq!(e.queue_len(), 2);
    // The same notice again is nothing new.
    assert_eq!(e.import("mcs_notice.eml")["id"], first["id"]);
    assert_eq!(e.queue_len(), 2);
}

#[test]
fn mcs_notice_after_the_window_starts_a_new_item() {
    let e = env();
    let first = e.import("mcs_notice.eml");
    let later = e.ok_at(
        "2026-12-02T00:00:00+09:00",
        &["import", &fixture("mcs_notice_again.eml"), "--json"],
    );
    let later: Value = serde_json::from_str(&later).unwrap();
    assert_eq!(later["created"], true, "{later}");
    assert_ne!(later["id"], first["id"]);
}

#[test]
fn mcs_window_counts_from_the_latest_notice() {
    let e = env();
    let first = e.import("mcs_notice.eml");
    let at = |now: &str, f: &str| -> Value {
        serde_json::from_str(&e.ok_at(now, &["import", &fixture(f), "--json"])).unwrap()
    };
    // 10 h later: joins; 20 h after the first (10 h after the second): still joins.
    let second = at("2026-12-01T20:00:00+09:00", "mcs_notice_again.eml");
    assert_eq!(second["id"], first["id"], "{second}");
    let third = at("2026-12-02T06:00:00+09:00", "mcs_notice_third.eml");
    assert_eq!(third["id"], first["id"], "{third}");
    assert_eq!(third["joined"], true);
}

#[test]
fn forged_mcs_sender_is_ordinary_email() {
    let e = env();
    let out = e.import("mcs_forged.eml");
    assert_eq!(out["channel"], "email", "{out}");
    let show = e.show(&out["id"]);
    assert_eq!(show["partner"], "送信元未設定");
    // Explained to the staff: why it is not an MCS item, and not to follow its link.
    let text = text_of(&show);
    assert!(
        text.contains("MCS の送信元として登録されていない")
            && text.contains("notice@medical-care.net.example.com"),
        "{text}"
    );
}

#[test]
fn not_a_mail_and_too_large_mail_are_refused_and_store_nothing() {
    let e = env();
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.eml");
    std::fs::write(&junk, b"").unwrap();
    let o = e.run_at(NOW, &["import", junk.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let big = dir.path().join("big.eml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(26 * 1024 * 1024).unwrap();
    let o = e.run_at(NOW, &["import", big.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&o.stderr).contains("25 MiB"));
    // --to is for documents.
    let o = e.run_at(NOW, &["import", &fixture("utf8.eml"), "--to", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(e.queue_len(), 0);
}
