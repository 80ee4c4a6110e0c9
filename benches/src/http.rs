//! Intake over HTTP: `POST /v1/consultations` from 8 concurrent keep-alive clients against the
//! real server (`renkei_intake::serve`) on a loopback port; every 201 is a durable commit.

use crate::gen::Sample;
use crate::intake::{fresh_store, Throughput};
use crate::stats::summarize;
use anyhow::{anyhow, bail, Result};
use renkei_core::clock::SystemClock;
use renkei_core::store::{partners, DataDir, Store, StoreKey};
use renkei_intake::{IntakeConfig, IntakeState};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn post_consultations(
    base: &Path,
    name: &str,
    key: &StoreKey,
    rows: &[Sample],
    clients: usize,
) -> Result<Throughput> {
    let (dir, ids) = fresh_store(base, name, key)?;
    let api_keys: Vec<String> = {
        let st = Store::open(&dir, key.clone())?;
        ids.iter()
            .map(|id| partners::issue_api_key(st.conn(), *id, chrono::Utc::now()))
            .collect::<Result<_, _>>()?
    };
    let out = post_to(&dir, key, &api_keys, rows, clients);
    std::fs::remove_dir_all(&dir.root).ok();
    out
}

/// The HTTP run against the store in `dir` (SQLite or PostgreSQL) with the partners' keys.
pub fn post_to(
    dir: &DataDir,
    key: &StoreKey,
    api_keys: &[String],
    rows: &[Sample],
    clients: usize,
) -> Result<Throughput> {
    let api_keys = api_keys.to_vec();
    let config = IntakeConfig {
        rate_limit_per_min: 0,
        desk_pool_size: clients,
        ..IntakeConfig::default()
    };
    let state = IntakeState::with_key(dir.clone(), key.clone(), Arc::new(SystemClock), config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let out = rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(renkei_intake::serve(listener, state, async move {
            let _ = stop_rx.await;
        }));
        let url = format!("http://{addr}/v1/consultations");
        let chunk = rows.len().div_ceil(clients);
        // One client = one keep-alive connection. Built before the clock starts: building one
        // loads the system's TLS roots (milliseconds), which is not the server's time.
        let built = rows
            .chunks(chunk)
            .map(|_| reqwest::Client::builder().pool_max_idle_per_host(1).build())
            .collect::<Result<Vec<_>, _>>()?;
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (part, client) in rows.chunks(chunk).zip(built) {
            let part: Vec<Sample> = part.to_vec();
            let url = url.clone();
            let keys = api_keys.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat: Vec<Duration> = Vec::with_capacity(part.len());
                for s in part {
                    let body = serde_json::json!({
                        "category": s.category.as_str(),
                        "urgency": s.urgency.as_str(),
                        "subject": s.subject,
                        "body": s.body,
                        "sender": {"name": s.sender},
                    });
                    let t = Instant::now();
                    let resp = client
                        .post(&url)
                        .bearer_auth(&keys[s.partner])
                        .json(&body)
                        .send()
                        .await?;
                    let status = resp.status();
                    let _ = resp.bytes().await?;
                    lat.push(t.elapsed());
                    if !status.is_success() {
                        bail!("POST /v1/consultations answered {status}");
                    }
                }
                Ok::<_, anyhow::Error>(lat)
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.map_err(|e| anyhow!("client task: {e}"))??);
        }
        let secs = start.elapsed().as_secs_f64();
        let _ = stop_tx.send(());
        server.await.map_err(|e| anyhow!("server task: {e}"))??;
        Ok::<_, anyhow::Error>(Throughput {
            per_sec: rows.len() as f64 / secs,
            latency: summarize(&lat),
        })
    })?;
    drop(rt);
    Ok(out)
}
