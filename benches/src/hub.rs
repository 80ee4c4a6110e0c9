//! The hub on PostgreSQL (issue 18): intake over HTTP with 8 clients on PostgreSQL vs the same
//! on SQLite and vs raw `INSERT`s on PostgreSQL with the same durability
//! (`synchronous_commit=on`, one transaction per row); the queue's first page and search on a
//! PostgreSQL store of 1M consultations (the same generated rows as the SQLite stores).
//!
//! Needs `RENKEI_BENCH_DATABASE_URL` (scripts/bench.sh runs this part under
//! scripts/with-postgres.sh). Each configuration gets a schema of its own.

use crate::gen::{self, Sample};
use crate::intake::Throughput;
use anyhow::{Context, Result};
use renkei_core::clock::SystemClock;
use renkei_core::desk::Desk;
use renkei_core::store::{search, DataDir, StoreKey};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub const URL_ENV: &str = "RENKEI_BENCH_DATABASE_URL";

pub fn base_url() -> Result<String> {
    std::env::var(URL_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty())
        .with_context(|| {
            format!("{URL_ENV} is not set: run the hub part through scripts/bench.sh (it starts a private PostgreSQL)")
        })
}

fn admin(url: &str) -> Result<postgres::Client> {
    Ok(postgres::Client::connect(url, postgres::NoTls)?)
}

/// A fresh, empty schema `name`; the URL that selects it.
pub fn fresh_schema(url: &str, name: &str) -> Result<String> {
    let mut c = admin(url)?;
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
    ))?;
    let sep = if url.contains('?') { '&' } else { '?' };
    Ok(format!("{url}{sep}options=-csearch_path%3D{name}%2Cpublic"))
}

/// A migrated PostgreSQL store in schema `name` with the partners; its dir and partner ids.
pub fn fresh_store(
    base: &Path,
    url: &str,
    name: &str,
    key: &StoreKey,
) -> Result<(DataDir, Vec<i64>)> {
    let schema_url = fresh_schema(url, name)?;
    let root = base.join(name);
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    std::fs::create_dir_all(&root)?;
    let dir = DataDir::new(&root).with_database(Some(schema_url.clone()));
    drop(Desk::open_with_key(
        &dir,
        key.clone(),
        Arc::new(SystemClock),
    )?);
    let mut c = admin(&schema_url)?;
    let mut ids = Vec::new();
    for (pname, kind) in gen::PARTNERS {
        let row = c.query_one(
            "INSERT INTO partners (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id",
            &[
                pname,
                &kind.as_str(),
                &renkei_core::store::ts(gen::bench_now()),
            ],
        )?;
        ids.push(row.get::<_, i64>(0));
    }
    Ok((dir, ids))
}

/// The same rows as `intake::raw_inserts`, straight through the `postgres` client: the
/// consultation, its status change, the message and the search row, one transaction per row
/// with `synchronous_commit=on`, from `threads` connections.
pub fn raw_inserts(base: &Path, url: &str, rows: &[Sample], threads: usize) -> Result<Throughput> {
    let (dir, ids) = fresh_store(base, url, "bench_raw", &StoreKey::plain())?;
    let schema_url = dir.database_url.clone().unwrap_or_default();
    let r = crate::intake::run_threads(threads, rows, |_, part| {
        let mut c = admin(&schema_url)?;
        c.batch_execute("SET synchronous_commit = on")?;
        let ins = c.prepare(
            "INSERT INTO consultations (channel, partner_id, category, urgency, urgency_reason,
                    urgency_confirmed, subject, status, due_at, received_at, last_activity_at,
                    last_inbound_at, sender_name, pii_flags)
                 VALUES ($1, $2, $3, $4, '送信者の指定', 1, $5, 'new', $6, $6, $6, $6, $7, '[]')
                 RETURNING id",
        )?;
        let status = c.prepare(
                "INSERT INTO status_changes (consultation_id, from_status, to_status, by, at) VALUES ($1, NULL, 'new', 'system', $2)",
            )?;
        let msg = c.prepare(
                "INSERT INTO messages (consultation_id, kind, author, body, at) VALUES ($1, 'inbound', $2, $3, $4)",
            )?;
        let doc = c.prepare(
                "INSERT INTO search_docs (consultation_id, text, grams) VALUES ($1, $2, string_to_array($3, ' '))",
            )?;
        let mut lat = Vec::with_capacity(part.len());
        for smp in part {
            let t = Instant::now();
            let now = renkei_core::store::ts(chrono::Utc::now());
            let mut tx = c.transaction()?;
            let id: i64 = tx
                .query_one(
                    &ins,
                    &[
                        &smp.channel.as_str(),
                        &ids[smp.partner],
                        &smp.category.as_str(),
                        &smp.urgency.as_str(),
                        &smp.subject,
                        &now,
                        &smp.sender,
                    ],
                )?
                .get(0);
            tx.execute(&status, &[&id, &now])?;
            tx.execute(&msg, &[&id, &smp.sender, &smp.body, &now])?;
            let text = format!("{}\n{}\n{}", smp.subject, smp.body, smp.sender);
            tx.execute(&doc, &[&id, &text, &search::grams(&text)])?;
            tx.commit()?;
            lat.push(t.elapsed());
        }
        Ok(lat)
    })?;
    std::fs::remove_dir_all(&dir.root).ok();
    Ok(r)
}

/// `POST /v1/consultations` from `clients` keep-alive clients to the real server on a
/// PostgreSQL store (the same run as `http::post_consultations` on SQLite).
pub fn http_intake(
    base: &Path,
    url: &str,
    key: &StoreKey,
    rows: &[Sample],
    clients: usize,
) -> Result<Throughput> {
    let (dir, ids) = fresh_store(base, url, "bench_http", key)?;
    let api_keys: Vec<String> = {
        let st = renkei_core::store::pg::PgStore::connect(
            dir.database_url.as_deref().unwrap_or_default(),
        )?;
        ids.iter()
            .map(|id| renkei_core::store::partners::issue_api_key(st.db(), *id, chrono::Utc::now()))
            .collect::<Result<_, _>>()?
    };
    let out = crate::http::post_to(&dir, key, &api_keys, rows, clients);
    std::fs::remove_dir_all(&dir.root).ok();
    out
}

/// One COPY text-format field: `\N` for NULL, backslash escapes for the rest.
fn field(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        None => out.extend_from_slice(b"\\N"),
        Some(s) => {
            for b in s.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    _ => out.push(b),
                }
            }
        }
    }
}

fn line(out: &mut Vec<u8>, fields: &[Option<&str>]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        field(out, *f);
    }
    out.push(b'\n');
}

/// A PostgreSQL store of `n` consultations — the rows `gen::gen_rows` gives the SQLite stores —
/// loaded with COPY, the secondary indexes dropped during the load and rebuilt after it (as a
/// real bulk migration would). Generated on every run (the cluster is private to the run).
pub fn store_of_size(base: &Path, url: &str, n: u64) -> Result<(gen::Generated, f64)> {
    let t = Instant::now();
    let key = StoreKey::random();
    let (dir, partner_ids) = fresh_store(base, url, &format!("bench_q{n}"), &key)?;
    let schema_url = dir.database_url.clone().unwrap_or_default();
    let mut c = admin(&schema_url)?;
    // The secondary indexes of the loaded tables, to rebuild after the COPY.
    let defs: Vec<(String, String)> = c
        .query(
            "SELECT indexname, indexdef FROM pg_indexes
             WHERE schemaname = current_schema()
               AND tablename IN ('consultations', 'messages', 'search_docs')
               AND indexname NOT LIKE '%_pkey'",
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (name, _) in &defs {
        c.batch_execute(&format!("DROP INDEX {name}"))?;
    }
    let (mut cons, mut msgs, mut docs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut msg_id, mut doc_id) = (0i64, 0i64);
    let flush =
        |c: &mut postgres::Client,
         cons: &mut Vec<u8>,
         msgs: &mut Vec<u8>,
         docs: &mut Vec<u8>|
         -> Result<()> {
            for (table, cols, buf) in [
            (
                "consultations",
                "id, channel, partner_id, category, urgency, urgency_reason, urgency_confirmed, \
                 subject, status, owner, due_at, received_at, last_activity_at, last_inbound_at, \
                 last_read_at, first_read_at, acknowledged_at, first_response_at, resolved_at, \
                 snoozed_until, sender_name",
                &mut *cons,
            ),
            ("messages", "id, consultation_id, kind, author, body, at", &mut *msgs),
            ("search_docs", "id, consultation_id, text, grams", &mut *docs),
        ] {
            let mut w = c.copy_in(&format!("COPY {table} ({cols}) FROM STDIN"))?;
            w.write_all(buf)?;
            w.finish()?;
            buf.clear();
        }
            Ok(())
        };
    let grams_array = |text: &str| format!("{{{}}}", search::grams(text).replace(' ', ","));
    let reply_grams = grams_array(gen::REPLY);
    for (k, g) in gen::gen_rows(n).enumerate() {
        let id = (k + 1).to_string();
        let s = &g.sample;
        let partner = partner_ids[s.partner].to_string();
        line(
            &mut cons,
            &[
                Some(&id),
                Some(s.channel.as_str()),
                Some(&partner),
                Some(s.category.as_str()),
                Some(s.urgency.as_str()),
                Some("送信者の指定"),
                Some("1"),
                Some(&s.subject),
                Some(g.status),
                g.owner,
                g.due.as_deref(),
                Some(&g.received),
                Some(&g.last_activity),
                Some(&g.received),
                g.read.as_deref(), // last_read_at
                g.read.as_deref(), // first_read_at
                g.read.as_deref(), // acknowledged_at
                g.read.as_deref(), // first_response_at
                g.resolved.as_deref(),
                g.snoozed.as_deref(),
                Some(&s.sender),
            ],
        );
        let text = g.search_text();
        msg_id += 1;
        doc_id += 1;
        line(
            &mut msgs,
            &[
                Some(&msg_id.to_string()),
                Some(&id),
                Some("inbound"),
                Some(&s.sender),
                Some(&s.body),
                Some(&g.received),
            ],
        );
        line(
            &mut docs,
            &[
                Some(&doc_id.to_string()),
                Some(&id),
                Some(&text),
                Some(&grams_array(&text)),
            ],
        );
        if let Some(at) = &g.reply_at {
            msg_id += 1;
            doc_id += 1;
            line(
                &mut msgs,
                &[
                    Some(&msg_id.to_string()),
                    Some(&id),
                    Some("reply"),
                    Some("看護師 佐藤"),
                    Some(gen::REPLY),
                    Some(at),
                ],
            );
            line(
                &mut docs,
                &[
                    Some(&doc_id.to_string()),
                    Some(&id),
                    Some(gen::REPLY),
                    Some(&reply_grams),
                ],
            );
        }
        if cons.len() > 8 << 20 {
            flush(&mut c, &mut cons, &mut msgs, &mut docs)?;
        }
    }
    flush(&mut c, &mut cons, &mut msgs, &mut docs)?;
    for (_, def) in &defs {
        c.batch_execute(def)?;
    }
    c.batch_execute(&format!(
        "SELECT setval(pg_get_serial_sequence('consultations', 'id'), {n});
         SELECT setval(pg_get_serial_sequence('messages', 'id'), {msg_id});
         SELECT setval(pg_get_serial_sequence('search_docs', 'id'), {doc_id});"
    ))?;
    // One statement per call: VACUUM cannot run inside the implicit transaction of a batch.
    for table in ["consultations", "messages", "search_docs"] {
        c.batch_execute(&format!("VACUUM ANALYZE {table}"))?;
    }
    let secs = t.elapsed().as_secs_f64();
    Ok((
        gen::Generated {
            dir,
            key,
            now: gen::bench_now(),
            seconds_to_generate: Some(secs),
        },
        secs,
    ))
}
