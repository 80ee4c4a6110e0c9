//! The `renkei` binary as an operator meets it: exit codes, one-line errors, JSON on stdout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n";

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
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_renkei"));
        c.arg("--data-dir")
            .arg(&self.data)
            .args(args)
            .env("RENKEI_KEY_FILE", &self.key)
            .env("RENKEI_NOW", "2026-12-01T10:00:00+09:00")
            .env_remove("RENKEI_DB_KEY")
            .env_remove("RENKEI_DATA_DIR");
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
    fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }
    fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line on stderr, got: {err}"
        );
        err
    }
    fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.root.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn init_is_idempotent_and_queue_json_has_the_contract_fields() {
    let e = env();
    e.ok(&["init"]);
    e.ok(&["init"]);
    let pdf = e.file("紹介状.pdf", PDF);
    let imported = e.json(&["import", s(&pdf), "--json"]);
    let id = imported["id"].as_i64().unwrap();
    let q = e.json(&["queue", "--json"]);
    let row = &q.as_array().unwrap()[0];
    for field in [
        "id",
        "received_at",
        "channel",
        "partner",
        "category",
        "urgency",
        "status",
        "due_at",
        "subject",
        "attachments",
    ] {
        assert!(row.get(field).is_some(), "queue JSON lacks {field}: {row}");
    }
    assert_eq!(row["channel"], "manual");
    assert_eq!(row["attachments"], 1);
    let show = e.json(&["show", &id.to_string(), "--json"]);
    let att = &show["attachments"][0];
    for field in ["id", "name", "media_type", "size", "sha256"] {
        assert!(att.get(field).is_some(), "attachment lacks {field}: {att}");
    }
    assert_eq!(att["media_type"], "application/pdf");
    assert_eq!(att["size"], PDF.len());
    // the same bytes again: exit 0 and the existing id
    let again = e.json(&["import", s(&pdf), "--json"]);
    assert_eq!(again["id"].as_i64(), Some(id));
    assert_eq!(e.json(&["queue", "--json"]).as_array().unwrap().len(), 1);
}

#[test]
fn import_refuses_bad_files_with_one_line_and_stores_nothing() {
    let e = env();
    e.ok(&["init"]);
    let fake = e.file("fake.pdf", b"this is only text");
    let empty = e.file("empty.pdf", b"");
    let cut = e.file("cut.pdf", &PDF[..25]);
    let good = e.file("good.pdf", PDF);
    for f in [&fake, &empty, &cut] {
        let err = e.fails(&["import", s(f)]);
        assert!(
            err.contains(f.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
    }
    // a batch with one bad file stores nothing at all
    e.fails(&["import", s(&good), s(&fake)]);
    assert_eq!(
        e.json(&["queue", "--json", "--all"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let err = e.fails(&["import", s(&e.root.join("missing.pdf"))]);
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn status_changes_and_invalid_transitions() {
    let e = env();
    let pdf = e.file("a.pdf", PDF);
    let id = e.json(&["import", s(&pdf), "--json"])["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let row = e.json(&["ack", &id, "--by", "大野", "--json"]);
    assert_eq!(row["status"], "acknowledged");
    assert_eq!(row["owner"], "大野");
    e.ok(&["status", &id, "in_progress", "--by", "大野"]);
    let err = e.fails(&["status", &id, "new"]);
    assert!(err.contains("cannot change status"), "{err}");
    let err = e.fails(&["status", &id, "finished"]);
    assert!(err.contains("resolved"), "lists the valid statuses: {err}");
    e.ok(&["resolve", &id, "--by", "院長"]);
    let show = e.json(&["show", &id, "--json"]);
    assert_eq!(show["status"], "resolved");
    let history: Vec<&str> = show["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["new", "acknowledged", "in_progress", "resolved"]);
    let err = e.fails(&["ack", "999"]);
    assert!(err.contains("not found"), "{err}");
    let err = e.fails(&["show", "abc"]);
    assert!(err.contains("not a consultation id"), "{err}");
    assert!(e.json(&["queue", "--json"]).as_array().unwrap().is_empty());
    assert_eq!(
        e.json(&["queue", "--json", "--all"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn partner_add_prints_a_key_once() {
    let e = env();
    let v = e.json(&[
        "partner",
        "add",
        "--name",
        "札幌北辰病院 地域連携室",
        "--kind",
        "hospital",
        "--json",
    ]);
    assert!(v["id"].as_i64().is_some());
    assert!(v["api_key"].as_str().unwrap().starts_with("rk_"));
    let err = e.fails(&[
        "partner",
        "add",
        "--name",
        "札幌北辰病院 地域連携室",
        "--kind",
        "hospital",
    ]);
    assert!(err.contains("already exists"), "{err}");
    let err = e.fails(&["partner", "add", "--name", "X", "--kind", "clinic"]);
    assert!(err.contains("houkatsu"), "{err}");
    let list = e.json(&["partner", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("api_key").is_none(), "keys are never listed");
}

#[test]
fn backup_restore_check() {
    let e = env();
    let pdf = e.file("a.pdf", PDF);
    e.ok(&["import", s(&pdf)]);
    let out = e.root.join("b.rkbackup");
    e.ok(&["backup", "--out", s(&out)]);
    e.ok(&["check"]);
    let target = e.root.join("restored");
    let o = Command::new(env!("CARGO_BIN_EXE_renkei"))
        .args(["--data-dir", s(&target), "restore", s(&out)])
        .env("RENKEI_KEY_FILE", &e.key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // never into a non-empty dir
    let err = e.fails(&["restore", s(&out)]);
    assert!(err.contains("not empty"), "{err}");
}

#[test]
fn simulate_prints_json_lines_and_a_summary() {
    let e = env();
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/scenarios/unacked_urgent.json"
    );
    let out = e.ok(&["simulate", "--scenario", scenario]);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = lines.last().unwrap();
    assert!(last["summary"]["notifications"].as_u64().unwrap() >= 3);
    for n in &lines[..lines.len() - 1] {
        for f in ["at", "ids", "urgency", "title", "body", "reason"] {
            assert!(n.get(f).is_some(), "notification lacks {f}: {n}");
        }
    }
    let bad = e.file("bad.json", b"{\"start\": 1}");
    e.fails(&["simulate", "--scenario", s(&bad)]);
}

#[test]
fn the_app_store_and_cli_processes_write_at_once_without_losing_anything() {
    use renkei_core::clock::SystemClock;
    use renkei_core::desk::Desk;
    use renkei_core::model::MessageKind;
    use renkei_core::store::{DataDir, StoreKey};
    let e = env();
    let pdf = e.file("a.pdf", PDF);
    let id = e.json(&["import", s(&pdf), "--json"])["id"]
        .as_i64()
        .unwrap();
    // the "app": an in-process Desk on the same data dir, writing while the CLI processes do
    let key = StoreKey::from_hex(&std::fs::read_to_string(&e.key).unwrap()).unwrap();
    let mut desk = Desk::open_with_key(
        &DataDir::new(&e.data),
        key,
        std::sync::Arc::new(SystemClock),
    )
    .unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (bin, data, keyf) = (env!("CARGO_BIN_EXE_renkei"), e.data.clone(), e.key.clone());
            std::thread::spawn(move || {
                let mut errors = Vec::new();
                for i in 0..10 {
                    let o = Command::new(bin)
                        .arg("--data-dir")
                        .arg(&data)
                        .args([
                            "note",
                            &id.to_string(),
                            &format!("プロセス{w} メモ{i}"),
                            "--by",
                            "田村",
                        ])
                        .env("RENKEI_KEY_FILE", &keyf)
                        .output()
                        .unwrap();
                    if !o.status.success() {
                        errors.push(String::from_utf8_lossy(&o.stderr).to_string());
                    }
                }
                errors
            })
        })
        .collect();
    for i in 0..20 {
        desk.add_message(id, MessageKind::Note, &format!("アプリ メモ{i}"), "大野")
            .unwrap();
    }
    for w in writers {
        let errors = w.join().unwrap();
        assert!(errors.is_empty(), "CLI writes failed: {errors:?}");
    }
    let show = e.json(&["show", &id.to_string(), "--json"]);
    let notes = show["thread"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "note")
        .count();
    assert_eq!(notes, 4 * 10 + 20, "every write of every process is there");
    e.ok(&["check"]);
}

#[test]
fn logs_never_contain_message_text() {
    let e = env();
    let marker = "LOGMARKER山田花子";
    let pdf = e.file("a.pdf", PDF);
    let id = e.json(&["import", s(&pdf), "--json"])["id"]
        .as_i64()
        .unwrap()
        .to_string();
    e.ok(&[
        "note",
        &id,
        &format!("{marker} 090-1234-5678"),
        "--by",
        "大野",
    ]);
    e.ok(&["show", &id]);
    e.fails(&["note", &id, "   "]);
    for f in std::fs::read_dir(e.data.join("logs")).unwrap().flatten() {
        let text = std::fs::read_to_string(f.path()).unwrap_or_default();
        assert!(
            !text.contains(marker) && !text.contains("090-1234"),
            "log {} leaks message text",
            f.path().display()
        );
    }
}

impl Env {
    /// Runs with `input` on stdin (not a terminal: the PIN is read as one line).
    fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }
    fn desk(&self) -> renkei_core::desk::Desk {
        let key = std::fs::read_to_string(&self.key).unwrap();
        renkei_core::desk::Desk::open_with_key(
            &renkei_core::store::DataDir::new(&self.data),
            renkei_core::store::StoreKey::from_hex(&key).unwrap(),
            std::sync::Arc::new(renkei_core::clock::FixedClock::new(
                renkei_core::clock::parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap(),
            )),
        )
        .unwrap()
    }
}

#[test]
fn the_operator_recovers_a_forgotten_administrator_pin() {
    let e = env();
    e.ok(&["init"]);
    let o = e.run_with_stdin(
        &[
            "staff",
            "add",
            "--name",
            "院長",
            "--role",
            "doctor",
            "--with-pin",
        ],
        "1234\n",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The only administrator forgets the PIN and locks the profile out.
    {
        let mut desk = e.desk();
        for _ in 0..5 {
            assert!(desk.sign_in("院長", "0000").is_err());
        }
        let err = desk.sign_in("院長", "1234").unwrap_err();
        assert_eq!(err.code().as_str(), "locked_out");
    }
    // A PIN that breaks the rules changes nothing and says why.
    let bad = e.run_with_stdin(&["staff", "set-pin", "院長"], "12\n");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("4–12 digits"));
    let missing = e.run_with_stdin(&["staff", "set-pin", "田中"], "5678\n");
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("院長"));
    // The operator (who holds the store key) sets a new one: lock-out lifted, old PIN gone.
    let o = e.run_with_stdin(&["staff", "set-pin", "院長", "--by", "事務長"], "9876\n");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut desk = e.desk();
    assert!(desk.sign_in("院長", "1234").is_err());
    assert_eq!(desk.sign_in("院長", "9876").unwrap().name, "院長");
    let audit = e.ok(&["audit", "--json"]);
    assert!(audit.contains("staff.pin_reset") && audit.contains("operator"));
    assert!(!audit.contains("9876"), "the PIN must never be audited");
    let list = e.json(&["staff", "list", "--json"]);
    assert_eq!(list[0]["has_pin"], true);
    assert!(!list.to_string().contains("9876"));
}

#[test]
fn quick_check_and_backup_status_speak_plainly() {
    let e = env();
    e.ok(&["demo"]);
    let st = e.json(&["backup", "--status", "--json"]);
    assert_eq!(st["latest"], serde_json::Value::Null);
    e.ok(&["backup", "--auto"]);
    let st = e.json(&["backup", "--status", "--json"]);
    assert_eq!(st["latest"], "renkei-20261201.rkbackup");
    assert_eq!(st["age_days"], 0);
    let quick = e.json(&["check", "--quick", "--json"]);
    let full = e.json(&["check", "--json"]);
    assert_eq!(quick["consultations"], full["consultations"]);
    assert_eq!(quick["problems"].as_array().unwrap().len(), 0);
    // a lost attachment file: the quick check fails with exit 6 and says which
    let blob = walk(&e.data.join("attachments"))
        .into_iter()
        .next()
        .expect("demo data has an attachment");
    std::fs::remove_file(blob).unwrap();
    let err = e.fails(&["check", "--quick"]);
    assert!(err.contains("missing"), "{err}");
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        for entry in std::fs::read_dir(&p).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
