//! Intake throughput: `Desk::intake` from 8 threads (each with its own `Desk` on one data dir)
//! versus raw rusqlite inserts of the same rows with the same durability (WAL,
//! `synchronous=FULL`, one `BEGIN IMMEDIATE` transaction per row, same key).

use crate::gen::{self, Sample};
use crate::stats::{summarize, Rng, Summary};
use anyhow::{anyhow, Result};
use renkei_core::clock::SystemClock;
use renkei_core::desk::Desk;
use renkei_core::store::{self, search, DataDir, Store, StoreKey};
use rusqlite::{params, TransactionBehavior};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Throughput and per-row latency of one configuration.
#[derive(Debug, Clone, Copy)]
pub struct Throughput {
    pub per_sec: f64,
    pub latency: Summary,
}

/// The run with the median throughput of `runs` (the middle one; of an even number, the
/// lower middle).
pub fn median(runs: Vec<Throughput>) -> Throughput {
    crate::stats::median_by(runs, |t| t.per_sec)
}

pub fn samples(n: usize, seed: u64) -> Vec<Sample> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| gen::sample(&mut rng)).collect()
}

/// A fresh store with the partners; returns its dir and the partner ids.
pub fn fresh_store(base: &Path, name: &str, key: &StoreKey) -> Result<(DataDir, Vec<i64>)> {
    let root = base.join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let dir = DataDir::new(&root);
    let st = Store::open(&dir, key.clone())?;
    let ids = gen::create_partners(st.conn(), chrono::Utc::now())?;
    Ok((dir, ids))
}

/// Runs `work(thread, rows)` on `threads` threads over `rows` split evenly, returning the
/// total rate and the pooled per-row latencies.
pub fn run_threads<F>(threads: usize, rows: &[Sample], work: F) -> Result<Throughput>
where
    F: Fn(usize, &[Sample]) -> Result<Vec<Duration>> + Sync,
{
    let chunk = rows.len().div_ceil(threads);
    let start = Instant::now();
    let lat: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(chunk)
            .enumerate()
            .map(|(t, part)| {
                let work = &work;
                s.spawn(move || work(t, part))
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            let v = h.join().map_err(|_| anyhow!("a bench thread panicked"))??;
            all.extend(v);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let secs = start.elapsed().as_secs_f64();
    Ok(Throughput {
        per_sec: rows.len() as f64 / secs,
        latency: summarize(&lat),
    })
}

/// `Desk::intake` from `threads` threads, each with its own `Desk`.
pub fn desk_intake(
    base: &Path,
    name: &str,
    key: &StoreKey,
    rows: &[Sample],
    threads: usize,
) -> Result<Throughput> {
    let (dir, ids) = fresh_store(base, name, key)?;
    let r = run_threads(threads, rows, |_, part| {
        let mut desk = Desk::open_with_key(&dir, key.clone(), Arc::new(SystemClock))?;
        let mut lat = Vec::with_capacity(part.len());
        for s in part {
            let n = gen::new_consultation(s, &ids);
            let t = Instant::now();
            desk.intake(n)?;
            lat.push(t.elapsed());
        }
        Ok(lat)
    })?;
    std::fs::remove_dir_all(&dir.root)?;
    Ok(r)
}

/// The same rows straight through rusqlite: the consultation, its status change, the message
/// and the search text, one durable `BEGIN IMMEDIATE` transaction per row.
pub fn raw_inserts(
    base: &Path,
    name: &str,
    key: &StoreKey,
    rows: &[Sample],
    threads: usize,
) -> Result<Throughput> {
    let (dir, ids) = fresh_store(base, name, key)?;
    let r = run_threads(threads, rows, |_, part| {
        let mut conn = gen::raw_conn(&dir, key)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let mut lat = Vec::with_capacity(part.len());
        for s in part {
            let t = Instant::now();
            let now = store::ts(chrono::Utc::now());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "INSERT INTO consultations (channel, partner_id, category, urgency, urgency_reason,
                    urgency_confirmed, subject, status, due_at, received_at, last_activity_at,
                    last_inbound_at, sender_name, pii_flags)
                 VALUES (?1, ?2, ?3, ?4, '送信者の指定', 1, ?5, 'new', ?6, ?6, ?6, ?6, ?7, '[]')",
            )?
            .execute(params![
                s.channel.as_str(),
                ids[s.partner],
                s.category.as_str(),
                s.urgency.as_str(),
                s.subject,
                now,
                s.sender
            ])?;
            let id = tx.last_insert_rowid();
            tx.prepare_cached(
                "INSERT INTO status_changes (consultation_id, from_status, to_status, by, at) VALUES (?1, NULL, 'new', 'system', ?2)",
            )?
            .execute(params![id, now])?;
            tx.prepare_cached(
                "INSERT INTO messages (consultation_id, kind, author, body, at) VALUES (?1, 'inbound', ?2, ?3, ?4)",
            )?
            .execute(params![id, s.sender, s.body, now])?;
            let text = format!("{}\n{}\n{}", s.subject, s.body, s.sender);
            tx.prepare_cached("INSERT INTO search_fts (text, consultation_id) VALUES (?1, ?2)")?
                .execute(params![text, id])?;
            tx.prepare_cached(
                "INSERT INTO search_bigram (rowid, text) VALUES (last_insert_rowid(), ?1)",
            )?
            .execute(params![search::bigrams(&text)])?;
            tx.commit()?;
            lat.push(t.elapsed());
        }
        Ok(lat)
    })?;
    std::fs::remove_dir_all(&dir.root)?;
    Ok(r)
}
