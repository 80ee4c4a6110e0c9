//! The triage queue's first page and search, through `Desk::queue`, on generated stores.

use crate::gen::Generated;
use crate::stats::{repeat, summarize, Summary};
use anyhow::Result;
use renkei_core::clock::FixedClock;
use renkei_core::desk::Desk;
use renkei_core::store::consultations::QueueFilter;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const SHORT_QUERIES: &[&str] = &["退院", "発熱"];
pub const LONG_QUERIES: &[&str] = &["訪問診療", "インフルエンザ"];

#[derive(Debug, Clone)]
pub struct QueueFigures {
    pub open_ms: f64,
    pub first_page: Summary,
    pub first_page_rows: usize,
    /// Cold first call after opening (page cache empty).
    pub first_call_ms: f64,
    /// (query, all=true summary, hits on the page)
    pub search: Vec<(String, Summary, usize)>,
}

fn page(search: Option<&str>) -> QueueFilter {
    QueueFilter {
        limit: Some(50),
        search: search.map(str::to_string),
        all: search.is_some(),
        ..QueueFilter::default()
    }
}

pub fn measure(g: &Generated, budget: Duration) -> Result<QueueFigures> {
    let t = Instant::now();
    let mut desk = Desk::open_with_key(&g.dir, g.key.clone(), Arc::new(FixedClock::new(g.now)))?;
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let first = desk.queue(&page(None))?;
    let first_call_ms = t.elapsed().as_secs_f64() * 1e3;
    let (lat, rows) = repeat(5, 200, budget, || Ok(desk.queue(&page(None))?.len()))?;
    let mut search = Vec::new();
    for q in SHORT_QUERIES.iter().chain(LONG_QUERIES) {
        desk.queue(&page(Some(q)))?;
        let (lat, hits) = repeat(3, 100, budget / 2, || Ok(desk.queue(&page(Some(q)))?.len()))?;
        search.push((q.to_string(), summarize(&lat), hits));
    }
    debug_assert_eq!(first.len(), rows);
    Ok(QueueFigures {
        open_ms,
        first_page: summarize(&lat),
        first_page_rows: rows,
        first_call_ms,
        search,
    })
}
