//! Full-text search over subjects and thread text: FTS5 with the trigram tokenizer for queries
//! of 3+ characters; 1–2 character queries (common in Japanese: 退院, 発熱), which trigram
//! cannot serve, use a side index of overlapping character bigrams (`search_bigram`, unicode61
//! over text pre-split on insert: 「退院調整」 → 「退院 院調 調整 整」), so they are index lookups
//! too instead of a LIKE scan of every text. It is contentless and without positions (a 1–2
//! character query is one token or one prefix); its rowid is the same text's rowid in
//! `search_fts`, which holds the consultation id. Terms with punctuation fall back to LIKE.
//! New texts wait in `search_pending` and are folded into both indexes [`FOLD_AT`] at a time;
//! a search reads the pending texts as well.
//!
//! On PostgreSQL (the hub) the same three cases, one table `search_docs`: 3+ characters and
//! punctuation as `ILIKE '%term%'` served by a `pg_trgm` GIN index; 1–2 character words as
//! `grams @> ARRAY[term]` over a GIN index of each text's lower-cased character bigrams and
//! single characters ([`grams`]) — pg_trgm cannot serve them (pg_bigm is not packaged in Debian).

use crate::args;
use crate::error::Result;
use std::collections::{BTreeSet, HashSet};

use super::sql::{Backend, Db};

/// How many texts wait in `search_pending` (SQLite) before they are folded into the full-text
/// indexes, in the transaction that adds the last of them.
///
/// Why a pending list (issue 24): FTS5 writes a new index segment for each of its two tables at
/// every commit, and merges them later — for an intake of a row or a group commit of a few, that
/// was about half of the writer's time. A pending text costs one row of a plain table; folding
/// [`FOLD_AT`] of them at once writes each index once. Nothing is lost or hidden: the pending row
/// is in the same durable transaction as its consultation, and [`search`] reads the pending
/// texts too (a scan of at most this many rows per term). PostgreSQL's GIN indexes keep a
/// pending list of their own (`fastupdate`), so the hub indexes directly.
pub const FOLD_AT: i64 = 256;

/// Indexes a piece of text for a consultation (on SQLite: into the pending list, folded into
/// the full-text indexes every [`FOLD_AT`] texts).
pub fn index(db: &dyn Db, consultation_id: i64, text: &str) -> Result<()> {
    match db.backend() {
        Backend::Sqlite => {
            // The rowid of a table emptied by the last fold starts again at 1, so it counts
            // the texts waiting.
            let waiting = db.insert_id(
                "INSERT INTO search_pending (consultation_id, text) VALUES (?1, ?2) RETURNING id",
                args![consultation_id, text],
            )?;
            if waiting >= FOLD_AT {
                fold_pending(db)?;
            }
        }
        Backend::Postgres => {
            db.execute_later(
                "INSERT INTO search_docs (consultation_id, text, grams)
                 VALUES (?1, ?2, string_to_array(?3, ' '))",
                args![consultation_id, text, grams(text)],
            )?;
        }
    }
    Ok(())
}

/// Moves every text of `search_pending` into the full-text indexes, oldest first (so rowid
/// order stays the order the texts came in); the number folded. SQLite only; call it inside a
/// write transaction.
pub fn fold_pending(db: &dyn Db) -> Result<usize> {
    let rows = db.query_map(
        "SELECT consultation_id, text FROM search_pending ORDER BY id",
        args![],
        |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
    )?;
    for (consultation_id, text) in &rows {
        db.execute(
            "INSERT INTO search_fts (text, consultation_id) VALUES (?1, ?2)",
            args![text, *consultation_id],
        )?;
        // The rowid of the text just indexed (an FTS5 insert sets it like any other).
        db.execute(
            "INSERT INTO search_bigram (rowid, text) VALUES (last_insert_rowid(), ?1)",
            args![bigrams(text)],
        )?;
    }
    db.execute("DELETE FROM search_pending", args![])?;
    Ok(rows.len())
}

/// The consultations of the pending texts (SQLite) that contain `term`, newest text first:
/// case-insensitive substring match, what the indexes answer for a folded text.
fn pending_matches(db: &dyn Db, term: &str) -> Result<Vec<i64>> {
    let needle = term.to_lowercase();
    let mut out = Vec::new();
    db.query_each(
        "SELECT consultation_id, text FROM search_pending ORDER BY id DESC",
        args![],
        &mut |r| {
            if r.get::<String>(1)?.to_lowercase().contains(&needle) {
                out.push(r.get::<i64>(0)?);
            }
            Ok(true)
        },
    )?;
    Ok(out)
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

/// PostgreSQL's 1–2 character tokens of a text: every distinct lower-cased bigram of a run of
/// letters/digits and every single letter/digit, space-separated.
pub fn grams(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for token in bigrams(&lower).split(' ').filter(|t| !t.is_empty()) {
        seen.insert(token.to_owned());
        for c in token.chars() {
            seen.insert(c.to_string());
        }
    }
    seen.into_iter().collect::<Vec<_>>().join(" ")
}

/// Rebuilds `search_bigram` from `search_fts` (migration 9: the new bigram index of a store
/// indexed before it existed). The texts are read page by page, not all at once.
pub fn rebuild_bigrams(db: &dyn Db) -> Result<()> {
    // A contentless FTS5 table has no DELETE; 'delete-all' empties it.
    db.execute(
        "INSERT INTO search_bigram (search_bigram) VALUES ('delete-all')",
        args![],
    )?;
    let mut after = 0_i64;
    loop {
        let rows = db.query_map(
            "SELECT rowid, text FROM search_fts WHERE rowid > ?1 ORDER BY rowid LIMIT 5000",
            args![after],
            |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)),
        )?;
        let Some(last) = rows.last().map(|r| r.0) else {
            return Ok(());
        };
        for (rowid, text) in rows {
            db.execute(
                "INSERT INTO search_bigram (rowid, text) VALUES (?1, ?2)",
                args![rowid, bigrams(&text)],
            )?;
        }
        after = last;
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The first `limit` distinct consultation ids of a query over texts, newest text first, after
/// those of the `newer` texts (the pending list's matches).
fn distinct_ids(
    db: &dyn Db,
    newer: Vec<i64>,
    sql: &str,
    arg: &str,
    limit: usize,
) -> Result<BTreeSet<i64>> {
    let mut seen = HashSet::new();
    for id in newer {
        if seen.len() >= limit {
            break;
        }
        seen.insert(id);
    }
    if seen.len() < limit {
        db.query_each(sql, args![arg], &mut |r| {
            seen.insert(r.get::<i64>(0)?);
            Ok(seen.len() < limit)
        })?;
    }
    Ok(seen.into_iter().collect())
}

/// The same on PostgreSQL: newest texts first in pages (`id < cursor … ORDER BY id DESC LIMIT`),
/// so a common word reads a page or two through the primary key instead of grouping every match
/// (at 1M texts, a word in 22 % of them: ~6 s grouped, see docs/benchmarks.md).
fn distinct_ids_pg(db: &dyn Db, filter: &str, arg: &str, limit: usize) -> Result<BTreeSet<i64>> {
    let page = limit.clamp(100, 5_000);
    let sql = format!(
        "SELECT consultation_id, id FROM search_docs WHERE {filter} AND id < ?2
         ORDER BY id DESC LIMIT ?3"
    );
    let mut seen = HashSet::new();
    let mut cursor = i64::MAX;
    loop {
        let rows = db.query_map(&sql, args![arg, cursor, page], |r| {
            Ok((r.get::<i64>(0)?, r.get::<i64>(1)?))
        })?;
        let full = rows.len() == page;
        for (cid, id) in rows {
            cursor = id;
            seen.insert(cid);
            if seen.len() >= limit {
                return Ok(seen.into_iter().collect());
            }
        }
        if !full {
            return Ok(seen.into_iter().collect());
        }
    }
}

/// Ids of consultations whose text contains every whitespace-separated term (at most `limit`
/// per term: those with the most recently indexed matching text), highest id first.
pub fn search(db: &dyn Db, query: &str, limit: usize) -> Result<Vec<i64>> {
    let terms: Vec<&str> = query.split_whitespace().filter(|t| !t.is_empty()).collect();
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let mut result: Option<BTreeSet<i64>> = None;
    for term in terms {
        let set = match db.backend() {
            Backend::Sqlite => term_sqlite(db, term, limit)?,
            Backend::Postgres => term_pg(db, term, limit)?,
        };
        result = Some(match result {
            None => set,
            Some(prev) => prev.intersection(&set).copied().collect(),
        });
    }
    Ok(result.unwrap_or_default().into_iter().rev().collect())
}

fn term_sqlite(db: &dyn Db, term: &str, limit: usize) -> Result<BTreeSet<i64>> {
    let n = term.chars().count();
    let pending = pending_matches(db, term)?;
    if n >= 3 {
        let phrase = format!("\"{}\"", term.replace('"', "\"\""));
        distinct_ids(
            db,
            pending,
            "SELECT consultation_id FROM search_fts WHERE search_fts MATCH ?1 ORDER BY rowid DESC",
            &phrase,
            limit,
        )
    } else if term.chars().all(char::is_alphanumeric) {
        // A bigram is one token; a single character is a prefix of the tokens it starts.
        let q = if n == 2 {
            format!("\"{term}\"")
        } else {
            format!("\"{term}\"*")
        };
        distinct_ids(
            db,
            pending,
            // CROSS JOIN: the bigram index first, then each hit's row in search_fts by rowid.
            "SELECT f.consultation_id FROM search_bigram b CROSS JOIN search_fts f ON f.rowid = b.rowid
             WHERE search_bigram MATCH ?1 ORDER BY b.rowid DESC",
            &q,
            limit,
        )
    } else {
        distinct_ids(
            db,
            pending,
            "SELECT consultation_id FROM search_fts WHERE text LIKE ?1 ESCAPE '\\' ORDER BY rowid DESC",
            &format!("%{}%", escape_like(term)),
            limit,
        )
    }
}

fn term_pg(db: &dyn Db, term: &str, limit: usize) -> Result<BTreeSet<i64>> {
    let n = term.chars().count();
    if n <= 2 && term.chars().all(char::is_alphanumeric) {
        distinct_ids_pg(
            db,
            "grams @> ARRAY[CAST(?1 AS TEXT)]",
            &term.to_lowercase(),
            limit,
        )
    } else {
        distinct_ids_pg(
            db,
            "text ILIKE ?1 ESCAPE '\\'",
            &format!("%{}%", escape_like(term)),
            limit,
        )
    }
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

    #[test]
    fn grams_hold_every_bigram_and_character_in_lower_case() {
        assert_eq!(grams("退院調整"), "整 調 調整 退 退院 院 院調");
        assert_eq!(grams("A1。B"), "1 a a1 b");
    }
}
