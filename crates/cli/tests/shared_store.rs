//! One store, several processes (issue 15): `renkei serve` takes posts while other processes —
//! `renkei queue`, `show`, `ack`, `check`, `backup`, and an in-process `Desk` standing in for the
//! app — open and close the same store between and during the posts.
//!
//! Every 201-acknowledged consultation must be visible to another process at once, must still
//! be there after the server is SIGKILLed and restarted, and `renkei check` must stay clean. No
//! process may ever hold a deleted `renkei.db-wal` / `renkei.db-shm`: that is the sign of a
//! process writing into a WAL that another process already removed (which happens when anything
//! but SQLite opens and closes the database file while a connection holds POSIX locks on it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;

use renkei_core::clock::SystemClock;
use renkei_core::desk::Desk;
use renkei_core::store::consultations::QueueFilter;
use renkei_core::store::{keys, DataDir};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn body(i: usize) -> String {
    serde_json::json!({
        "external_id": format!("shared-{i}"),
        "category": "discharge",
        "urgency": "today",
        "subject": format!("退院調整のご相談 {i}"),
        "body": "本日の退院前カンファレンスについてご相談です。",
        "sender": {"name": "佐藤", "role": "MSW"}
    })
    .to_string()
}

fn run_ok(data: &Path, key: &Path, args: &[&str]) -> Output {
    let out = renkei(data, key).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "renkei {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The files of the store in `data` that `pid` holds open although they were deleted
/// (`/proc/PID/fd` links that end in " (deleted)"): a process writing into a WAL nobody else can
/// see. Only this store's files count: the other tests of this binary run in the same process,
/// and the plain-store conversion holds the replaced file for a moment by design.
fn deleted_store_files(pid: u32, data: &Path) -> Vec<String> {
    let ours = data.join("renkei.db");
    let ours = ours.to_string_lossy();
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new(); // the process is gone
    };
    rd.flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|t| t.to_string_lossy().into_owned())
        .filter(|t| t.starts_with(ours.as_ref()) && t.ends_with("(deleted)"))
        .collect()
}

fn assert_no_deleted_store_files(server: u32, data: &Path, when: &str) {
    for (who, pid) in [
        ("renkei serve", server),
        ("the test (in-process Desk)", std::process::id()),
    ] {
        let held = deleted_store_files(pid, data);
        assert!(
            held.is_empty(),
            "{when}: {who} (pid {pid}) holds deleted store files: {held:?}"
        );
    }
}

/// Opens and closes the store from other processes and from an in-process `Desk`, over and
/// over, until `stop`: the traffic a clinic has when the app, `renkei serve` and a script share
/// one data dir.
fn churn(data: &Path, key: &Path, stop: &AtomicBool, rounds: &AtomicUsize) {
    let backup = data.with_file_name("churn.rkbackup");
    let commands: [&[&str]; 4] = [
        &["queue", "--json", "--all"],
        &["check", "--quick"],
        &["backup", "--out", backup.to_str().unwrap()],
        &["audit", "--json"],
    ];
    let mut n = 0;
    while !stop.load(SeqCst) {
        run_ok(data, key, commands[n % commands.len()]);
        n += 1;
        rounds.fetch_add(1, SeqCst);
    }
}

#[test]
fn acknowledged_posts_are_seen_by_every_process_at_once_and_survive_a_kill() {
    const N: usize = 60;
    let tmp = tempfile::tempdir().unwrap();
    let (data, key) = (tmp.path().join("data"), tmp.path().join("k"));
    let api_key = partner_key(&data, &key);
    let store_key = keys::read_key_file(&key).unwrap();
    let mut server = start(&data, &key, tmp.path().join("serve-1.log"));

    // The app: one long-lived Desk on the same store, in this process.
    let mut app = Desk::open_with_key(
        &DataDir::new(&data),
        store_key.clone(),
        Arc::new(SystemClock),
    )
    .unwrap();
    let all = QueueFilter {
        all: true,
        ..QueueFilter::default()
    };

    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let churner = {
        let (data, key, stop, rounds) = (data.clone(), key.clone(), stop.clone(), rounds.clone());
        std::thread::spawn(move || churn(&data, &key, &stop, &rounds))
    };
    // A second in-process Desk opened and dropped again and again (the app's self-check and
    // its background workers open their own connections).
    let reopener = {
        let (data, store_key, stop) = (data.clone(), store_key.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(SeqCst) {
                let mut d = Desk::open_with_key(
                    &DataDir::new(&data),
                    store_key.clone(),
                    Arc::new(SystemClock),
                )
                .unwrap();
                d.queue(&QueueFilter::default()).unwrap();
                drop(d);
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            n
        })
    };

    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..N {
        let id = match post(&server.addr, &api_key, &body(i)) {
            Sent::Answer(201, b) => {
                let v: serde_json::Value = serde_json::from_str(&b).unwrap();
                v["id"].as_i64().unwrap()
            }
            other => panic!("post {i}: {other:?}; see {}", server.log.display()),
        };
        ids.push(id);
        // Another process sees it at once: no wait, no retry.
        let shown = run_ok(&data, &key, &["show", &id.to_string(), "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
        assert_eq!(
            v["subject"],
            format!("退院調整のご相談 {i}"),
            "post {i}: `renkei show {id}` right after the 201"
        );
        // So does the app's long-lived connection.
        let rows = app.queue(&all).unwrap();
        assert!(
            rows.iter().any(|r| r.id == id),
            "post {i}: consultation {id} acknowledged but not in the app's queue"
        );
        // A write from another process between posts.
        if i % 3 == 0 {
            run_ok(&data, &key, &["ack", &id.to_string(), "--by", "大野"]);
        }
        assert_no_deleted_store_files(server.child.id(), &data, &format!("after post {i}"));
    }
    stop.store(true, SeqCst);
    churner.join().unwrap();
    let reopened = reopener.join().unwrap();
    eprintln!(
        "{N} posts with {} other-process commands and {reopened} in-process reopenings \
         in {:?}",
        rounds.load(SeqCst),
        started.elapsed()
    );
    assert!(
        rounds.load(SeqCst) >= 4,
        "the other processes must have run during the posts"
    );

    // Everything acknowledged is in the store as another process sees it, before any restart.
    let stored: Vec<i64> = all_rows(&data, &key)
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    for id in &ids {
        assert!(
            stored.contains(id),
            "consultation {id} missing before the kill"
        );
    }

    // SIGKILL the server, restart it on the same store: nothing acknowledged is lost.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    drop(app);
    let server = start(&data, &key, tmp.path().join("serve-2.log"));
    let rows = all_rows(&data, &key);
    assert_eq!(rows.len(), N, "exactly the acknowledged consultations");
    for id in &ids {
        assert!(
            rows.iter().any(|r| r["id"].as_i64() == Some(*id)),
            "consultation {id} acknowledged, gone after SIGKILL and restart"
        );
    }
    let acked = rows
        .iter()
        .filter(|r| r["status"] == "acknowledged")
        .count();
    assert_eq!(
        acked,
        N.div_ceil(3),
        "every `renkei ack` between the posts landed"
    );
    check_clean(&data, &key, "after the kill and restart");
    assert_no_deleted_store_files(server.child.id(), &data, "after the restart");
}

/// A plain (unencrypted) store is converted in place when opened with a key — but never while
/// another process has it open: that is refused with a message that says why, and changes
/// nothing.
#[test]
fn converting_a_plain_store_is_refused_while_another_process_has_it_open() {
    use renkei_core::store::{Store, StoreKey};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let dir = DataDir::new(&data);
    drop(Store::open(&dir, StoreKey::plain()).unwrap());
    assert!(keys::is_plain_sqlite(&dir.db_path()));

    // Another process keeps the plain store open (this test binary, re-run as the holder).
    let mut holder = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "hold_a_plain_store_open",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD_ENV, &data)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The test harness prints its own lines first; wait for the holder's, then keep reading
    // its output to the end (a closed pipe would make its harness fail to print its result).
    let mut out = std::io::BufReader::new(holder.stdout.take().unwrap());
    let mut said = Vec::new();
    loop {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut out, &mut line).unwrap() == 0
            || line.contains("holding")
        {
            break;
        }
        said.push(line);
    }
    let drain = std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    assert!(
        holder.try_wait().unwrap().is_none(),
        "the holder stopped before holding the store: {said:?}"
    );
    let key = StoreKey::random();
    let refused = Store::open(&dir, key.clone());
    drop(holder.stdin.take()); // the holder closes the store and exits
    holder.wait().unwrap();
    let _ = drain.join();
    let msg = refused
        .expect_err("conversion must be refused while another process has the store open")
        .to_string();
    assert!(msg.contains("another program has it open"), "{msg}");
    assert!(keys::is_plain_sqlite(&dir.db_path()), "nothing was changed");

    // With nobody else on it, the conversion goes through.
    let s = Store::open(&dir, key).unwrap();
    drop(s);
    assert!(!keys::is_plain_sqlite(&dir.db_path()));
}

const HOLD_ENV: &str = "RENKEI_TEST_HOLD_PLAIN_STORE";

/// Not a test on its own: run by the test above as a second process, it opens the plain store
/// in the folder `RENKEI_TEST_HOLD_PLAIN_STORE`, says "holding", and keeps it open until its
/// stdin closes.
#[test]
fn hold_a_plain_store_open() {
    use renkei_core::store::{Store, StoreKey};
    let Some(data) = std::env::var_os(HOLD_ENV) else {
        return;
    };
    let mut s = Store::open(&DataDir::new(data), StoreKey::plain()).unwrap();
    s.read(|tx| {
        Ok(tx.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?)
    })
    .unwrap();
    println!("holding");
    let mut sink = String::new();
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut sink);
    drop(s);
}
