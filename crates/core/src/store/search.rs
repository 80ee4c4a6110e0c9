//! Full-text search over subjects and thread text: FTS5 with the trigram tokenizer for queries
//! of 3+ characters; 1–2 character queries (common in Japanese: 退院, 発熱), which trigram
//! cannot serve, use a side table of overlapping character bigrams (`search_bigram`, unicode61
//! over text pre-split on insert: 「退院調整」 → 「退院 院調 調整 整」), so they are index lookups
//! too instead of a LIKE scan of every text. Terms with punctuation fall back to LIKE.

use crate::error::Result;
use rusqlite::{params, Connection};
use std::collections::{BTreeSet, HashSet};

/// Indexes a piece of text for a consultation.
pub fn index(conn: &Connection, consultation_id: i64, text: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO search_fts (text, consultation_id) VALUES (?1, ?2)")?
        .execute(params![text, consultation_id])?;
    conn.prepare_cached("INSERT INTO search_bigram (text, consultation_id) VALUES (?1, ?2)")?
        .execute(params![bigrams(text), consultation_id])?;
    Ok(())
}

/// Overlapping bigrams of each run of letters/digits, plus the run's last character alone, so
/// that every character starts a token (a 1-character query is a prefix query).
pub fn bigrams(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut run: Vec<char> = Vec::new();
    let flush = |run: &mut Vec<char>, out: &mut String| {
        for i in 0..run.len() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push(run[i]);
            if let Some(next) = run.get(i + 1) {
                out.push(*next);
            }
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Rebuilds `search_bigram` from `search_fts` (stores indexed before the bigram table existed).
pub fn rebuild_bigrams(conn: &Connection) -> Result<()> {
    conn.execute("DELETE FROM search_bigram", [])?;
    let mut st = conn.prepare("SELECT text, consultation_id FROM search_fts ORDER BY rowid")?;
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut ins =
        conn.prepare_cached("INSERT INTO search_bigram (text, consultation_id) VALUES (?1, ?2)")?;
    for (text, id) in rows {
        ins.execute(params![bigrams(&text), id])?;
    }
    Ok(())
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The first `limit` distinct consultation ids of a query over texts, newest text first.
fn distinct_ids(conn: &Connection, sql: &str, arg: &str, limit: usize) -> Result<BTreeSet<i64>> {
    let mut st = conn.prepare_cached(sql)?;
    let mut rows = st.query([arg])?;
    let mut seen = HashSet::new();
    while let Some(r) = rows.next()? {
        seen.insert(r.get::<_, i64>(0)?);
        if seen.len() >= limit {
            break;
        }
    }
    Ok(seen.into_iter().collect())
}

/// Ids of consultations whose text contains every whitespace-separated term (at most `limit`
/// per term: those with the most recently indexed matching text), highest id first.
pub fn search(conn: &Connection, query: &str, limit: usize) -> Result<Vec<i64>> {
    let terms: Vec<&str> = query.split_whitespace().filter(|t| !t.is_empty()).collect();
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut result: Option<BTreeSet<i64>> = None;
    for term in terms {
        let n = term.chars().count();
        let set = if n >= 3 {
            let phrase = format!("\"{}\"", term.replace('"', "\"\""));
            distinct_ids(
                conn,
                "SELECT consultation_id FROM search_fts WHERE search_fts MATCH ?1 ORDER BY rowid DESC",
                &phrase,
                limit,
            )?
        } else if term.chars().all(char::is_alphanumeric) {
            // A bigram is one token; a single character is a prefix of the tokens it starts.
            let q = if n == 2 {
                format!("\"{term}\"")
            } else {
                format!("\"{term}\"*")
            };
            distinct_ids(
                conn,
                "SELECT consultation_id FROM search_bigram WHERE search_bigram MATCH ?1 ORDER BY rowid DESC",
                &q,
                limit,
            )?
        } else {
            distinct_ids(
                conn,
                "SELECT consultation_id FROM search_fts WHERE text LIKE ?1 ESCAPE '\\' ORDER BY rowid DESC",
                &format!("%{}%", escape_like(term)),
                limit,
            )?
        };
        result = Some(match result {
            None => set,
            Some(prev) => prev.intersection(&set).copied().collect(),
        });
    }
    Ok(result.unwrap_or_default().into_iter().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigrams_cover_every_character() {
        assert_eq!(bigrams("退院調整"), "退院 院調 調整 整");
        assert_eq!(bigrams("発熱。A1 b"), "発熱 熱 A1 1 b");
        assert_eq!(bigrams(""), "");
    }
}
