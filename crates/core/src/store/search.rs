//! Full-text search over subjects and thread text: FTS5 with the trigram tokenizer for queries
//! of 3+ characters; 1–2 character queries (common in Japanese: 退院, 発熱) fall back to LIKE,
//! which trigram cannot serve.

use crate::error::Result;
use rusqlite::{params, Connection};

/// Indexes a piece of text for a consultation.
pub fn index(conn: &Connection, consultation_id: i64, text: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO search_fts (text, consultation_id) VALUES (?1, ?2)",
        params![text, consultation_id],
    )?;
    Ok(())
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Ids of consultations whose text contains every whitespace-separated term.
pub fn search(conn: &Connection, query: &str, limit: usize) -> Result<Vec<i64>> {
    let terms: Vec<&str> = query.split_whitespace().filter(|t| !t.is_empty()).collect();
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut result: Option<std::collections::BTreeSet<i64>> = None;
    for term in terms {
        let ids: Vec<i64> = if term.chars().count() >= 3 {
            let phrase = format!("\"{}\"", term.replace('"', "\"\""));
            let mut st = conn.prepare(
                "SELECT DISTINCT consultation_id FROM search_fts WHERE search_fts MATCH ?1 ORDER BY consultation_id DESC LIMIT ?2",
            )?;
            let v = st
                .query_map(params![phrase, limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            v
        } else {
            let pat = format!("%{}%", escape_like(term));
            let mut st = conn.prepare(
                "SELECT DISTINCT consultation_id FROM search_fts WHERE text LIKE ?1 ESCAPE '\\' ORDER BY consultation_id DESC LIMIT ?2",
            )?;
            let v = st
                .query_map(params![pat, limit as i64], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            v
        };
        let set: std::collections::BTreeSet<i64> = ids.into_iter().collect();
        result = Some(match result {
            None => set,
            Some(prev) => prev.intersection(&set).copied().collect(),
        });
    }
    Ok(result.unwrap_or_default().into_iter().rev().collect())
}
