//! Numbered, forward-only schema migrations, run at open inside one transaction.
//! `PRAGMA user_version` records how far a store has come. Never edit a released migration:
//! add a new one.

use crate::error::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};

/// The migrations, in order. Index + 1 = the version a store has after running it.
pub const MIGRATIONS: &[&str] = &[
    // 1: the consultation model.
    r#"
    CREATE TABLE partners (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        contact TEXT,
        phone TEXT,
        channels TEXT NOT NULL DEFAULT '[]',
        api_key_hash TEXT UNIQUE,
        api_key_created_at TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE partner_handles (
        channel TEXT NOT NULL,
        handle TEXT NOT NULL,
        partner_id INTEGER NOT NULL REFERENCES partners(id),
        PRIMARY KEY (channel, handle)
    );
    CREATE TABLE staff (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL DEFAULT 'clerk',
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE TABLE consultations (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        partner_id INTEGER REFERENCES partners(id),
        external_id TEXT,
        thread_key TEXT,
        category TEXT NOT NULL,
        urgency TEXT NOT NULL,
        urgency_reason TEXT,
        urgency_confirmed INTEGER NOT NULL DEFAULT 0,
        subject TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'new',
        owner TEXT,
        due_at TEXT,
        received_at TEXT NOT NULL,
        last_activity_at TEXT NOT NULL,
        last_inbound_at TEXT NOT NULL,
        last_read_at TEXT,
        first_read_at TEXT,
        acknowledged_at TEXT,
        first_response_at TEXT,
        resolved_at TEXT,
        snoozed_until TEXT,
        patient_ref TEXT,
        sender_name TEXT NOT NULL DEFAULT '',
        sender_role TEXT,
        sender_phone TEXT,
        pii_flags TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX consultations_open ON consultations(status, urgency, due_at);
    CREATE INDEX consultations_thread ON consultations(channel, partner_id, thread_key);
    CREATE INDEX consultations_partner ON consultations(partner_id, received_at);
    CREATE TABLE intake_keys (
        channel TEXT NOT NULL,
        partner_key TEXT NOT NULL,
        external_id TEXT NOT NULL,
        consultation_id INTEGER NOT NULL REFERENCES consultations(id),
        message_id INTEGER,
        request_hash TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (channel, partner_key, external_id)
    );
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        consultation_id INTEGER NOT NULL REFERENCES consultations(id),
        kind TEXT NOT NULL,
        author TEXT NOT NULL,
        body TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX messages_consultation ON messages(consultation_id, at);
    CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE attachments (
        id INTEGER PRIMARY KEY,
        consultation_id INTEGER NOT NULL REFERENCES consultations(id),
        sha256 TEXT NOT NULL REFERENCES blobs(sha256),
        name TEXT NOT NULL,
        media_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (consultation_id, sha256)
    );
    CREATE INDEX attachments_sha ON attachments(sha256);
    CREATE TABLE read_receipts (
        consultation_id INTEGER NOT NULL REFERENCES consultations(id),
        by TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX read_receipts_c ON read_receipts(consultation_id, at);
    CREATE TABLE status_changes (
        id INTEGER PRIMARY KEY,
        consultation_id INTEGER NOT NULL REFERENCES consultations(id),
        from_status TEXT,
        to_status TEXT NOT NULL,
        by TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX status_changes_c ON status_changes(consultation_id, id);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        detail TEXT NOT NULL DEFAULT '',
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE notifications (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        ids TEXT NOT NULL,
        urgency TEXT NOT NULL,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    CREATE TABLE cursors (
        source TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE search_fts USING fts5(
        text, consultation_id UNINDEXED, tokenize = 'trigram'
    );
    "#,
    // 2: staff profiles with a PIN and lock-out (3省2ガイドライン: access control per person).
    r#"
    ALTER TABLE staff ADD COLUMN pin_hash TEXT;
    ALTER TABLE staff ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE staff ADD COLUMN locked_until TEXT;
    "#,
    // 3: the queue at scale: a partial index of open items only, covering the triage order, so
    // the first page reads a few thousand index entries instead of every consultation.
    r#"
    CREATE INDEX consultations_queue ON consultations(urgency, due_at, received_at)
        WHERE status NOT IN ('resolved', 'declined');
    "#,
    // 4: 1–2 character search as index lookups (see store/search.rs); replaced by step 9 (and
    // filled there).
    r#"
    CREATE VIRTUAL TABLE search_bigram USING fts5(
        text, consultation_id UNINDEXED, tokenize = 'unicode61'
    );
    "#,
    // 5: replies go back where the consultation came from (issue 20, store/outbox.rs): where
    // each inbound chat message came from, and the transactional outbox of replies.
    r#"
    CREATE TABLE reply_routes (
        message_id INTEGER PRIMARY KEY REFERENCES messages(id),
        consultation_id INTEGER NOT NULL REFERENCES consultations(id),
        route TEXT NOT NULL
    );
    CREATE INDEX reply_routes_consultation ON reply_routes(consultation_id, message_id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        consultation_id INTEGER NOT NULL REFERENCES consultations(id),
        message_id INTEGER NOT NULL REFERENCES messages(id),
        channel TEXT NOT NULL,
        route TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        maybe_duplicate INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        lease_until TEXT,
        last_error TEXT,
        remote_id TEXT,
        sent_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
    CREATE INDEX outbox_consultation ON outbox(consultation_id, id);
    CREATE TABLE partner_callbacks (
        partner_id INTEGER PRIMARY KEY REFERENCES partners(id),
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    "#,
    // 6: the automatic messages of issue 20 (receipt, on-call; desk/receipts.rs): what an
    // outbox entry is (`reply`, `receipt`, `oncall`), a key that lets an automatic message be
    // queued at most once per item, the text of an entry that is not its message's (the
    // on-call message), and the per-partner receipt switch (default off).
    r#"
    ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'reply'
        CHECK (kind IN ('reply', 'receipt', 'oncall'));
    ALTER TABLE outbox ADD COLUMN unique_key TEXT;
    ALTER TABLE outbox ADD COLUMN text TEXT;
    CREATE UNIQUE INDEX outbox_unique_key ON outbox(unique_key);
    ALTER TABLE partners ADD COLUMN receipt INTEGER NOT NULL DEFAULT 0;
    "#,
    // 7: connected desks (issue 19): enrolled PCs, staff sessions on them, and a version per
    // consultation for compare-and-set (bumped by every change of the row). PostgreSQL twin:
    // pg_migrations 4.
    r#"
    ALTER TABLE consultations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE devices (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        code_hash TEXT UNIQUE,
        code_expires_at TEXT,
        token_hash TEXT UNIQUE,
        created_at TEXT NOT NULL,
        enrolled_at TEXT,
        revoked_at TEXT
    );
    CREATE TABLE desk_sessions (
        id INTEGER PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        device_id INTEGER NOT NULL REFERENCES devices(id),
        staff_id INTEGER NOT NULL REFERENCES staff(id),
        created_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        ended_at TEXT
    );
    "#,
    // 8: the offline desk (issue 19). On a hub: `desk_requests`, the staff actions a desk sent
    // with an `Idempotency-Key` (recorded in the action's own transaction, so a replay is applied
    // once). On a connected desk: `hub_cache`, the last queue and threads read from the hub
    // (shown while it is unreachable), and `hub_outbox`, what staff did offline, replayed in
    // order on reconnect. PostgreSQL twin: pg_migrations 5 (desk_requests only).
    r#"
    CREATE TABLE desk_requests (
        key TEXT PRIMARY KEY,
        staff TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        consultation_id INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE hub_cache (
        key TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        fetched_at TEXT NOT NULL
    );
    CREATE TABLE hub_outbox (
        id INTEGER PRIMARY KEY,
        idem_key TEXT NOT NULL UNIQUE,
        staff TEXT NOT NULL,
        consultation_id INTEGER NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('take', 'status', 'note')),
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'conflict')),
        problem TEXT,
        done_at TEXT
    );
    CREATE INDEX hub_outbox_state ON hub_outbox(state, id);
    "#,
    // 9: a lighter bigram index (issue 24: the search index was half of every intake's cost).
    // Contentless (the bigram text was a third copy of every text, three times its size), no
    // positions (a 1–2 character query is one token or one prefix: `detail=none` answers it) and
    // no per-document sizes (nothing is ranked). Its rowid is the rowid of the same text in
    // `search_fts`, where the consultation id is. Refilled from `search_fts` by
    // `search::rebuild_bigrams` right after this step.
    r#"
    DROP TABLE search_bigram;
    CREATE VIRTUAL TABLE search_bigram USING fts5(
        text, tokenize = 'unicode61', content = '', detail = none, columnsize = 0
    );
    "#,
    // 10: texts wait in a plain table and are folded into both full-text indexes 256 at a time
    // (issue 24: FTS5 wrote a segment per index at every commit; see `search::FOLD_AT`).
    r#"
    CREATE TABLE search_pending (
        id INTEGER PRIMARY KEY,
        consultation_id INTEGER NOT NULL,
        text TEXT NOT NULL
    );
    "#,
    // 11: the thread index holds only rows with a thread key (issue 24): a consultation without
    // one (most partner-API and phone intakes) no longer dirties a page of it at every commit.
    // `thread_key = ?` in `find_open_thread` implies `thread_key IS NOT NULL`, so it still uses it.
    r#"
    DROP INDEX consultations_thread;
    CREATE INDEX consultations_thread ON consultations(channel, partner_id, thread_key)
        WHERE thread_key IS NOT NULL;
    "#,
];

/// Data steps in Rust that follow a migration's SQL (index = the version it brings a store to).
fn after_step(tx: &Connection, version: i64) -> Result<()> {
    // Step 4 made the first bigram table; step 9 replaced it (a store migrating through both
    // fills it once, at 9).
    if version == 9 {
        super::search::rebuild_bigrams(tx)?;
    }
    Ok(())
}

/// The schema version this build writes.
pub fn latest_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the store to the latest version, one numbered step at a time, in one transaction.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let latest = latest_version();
    if current > latest {
        return Err(Error::Integrity(format!(
            "this store has schema version {current}, newer than this program understands ({latest}). \
             Update Renkei Desk; the store was not changed"
        )));
    }
    if current == latest {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    steps(&tx, current, latest)?;
    tx.commit()?;
    Ok(())
}

/// Runs steps `from + 1 ..= to` in `tx`: each step's SQL, its data step, the version it reached.
fn steps(tx: &Connection, from: i64, to: i64) -> Result<()> {
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(to as usize)
        .skip(from as usize)
    {
        tx.execute_batch(sql)?;
        after_step(tx, (i + 1) as i64)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_every_earlier_version() {
        for start in 0..=latest_version() {
            let mut conn = Connection::open_in_memory().unwrap();
            {
                let tx = conn.transaction().unwrap();
                steps(&tx, 0, start).unwrap();
                tx.commit().unwrap();
            }
            migrate(&mut conn).unwrap();
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, latest_version());
            // idempotent
            migrate(&mut conn).unwrap();
        }
    }

    /// A store indexed before migration 9 finds its 1–2 character words afterwards, each
    /// with the right consultation, and new texts are found next to the old ones.
    #[test]
    fn the_bigram_index_is_refilled_from_the_texts() {
        let mut conn = Connection::open_in_memory().unwrap();
        {
            let tx = conn.transaction().unwrap();
            steps(&tx, 0, 8).unwrap();
            // Gaps in the rowids, and a consultation with two texts.
            for (rowid, text, cid) in [
                (3_i64, "退院調整のご相談", 10_i64),
                (7, "発熱が続いています", 11),
                (8, "退院日が決まりました", 11),
                (20, "褥瘡の処置", 12),
            ] {
                tx.execute(
                    "INSERT INTO search_fts (rowid, text, consultation_id) VALUES (?1, ?2, ?3)",
                    rusqlite::params![rowid, text, cid],
                )
                .unwrap();
            }
            tx.commit().unwrap();
        }
        migrate(&mut conn).unwrap();
        let find = |q: &str| super::super::search::search(&conn, q, 50).unwrap();
        assert_eq!(find("退院"), vec![11, 10]);
        assert_eq!(find("発熱"), vec![11]);
        assert_eq!(find("褥"), vec![12]);
        assert_eq!(find("入院"), Vec::<i64>::new());
        super::super::search::index(&conn, 13, "再度の退院調整").unwrap();
        assert_eq!(find("退院"), vec![13, 11, 10]);
        assert_eq!(find("退院調整"), vec![13, 10]);
    }

    #[test]
    fn refuses_a_newer_store() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let e = migrate(&mut conn).unwrap_err();
        assert!(e.to_string().contains("newer"));
    }

    /// The partial thread index (step 11) still serves the follow-up look-up.
    #[test]
    fn the_open_thread_lookup_uses_the_partial_thread_index() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                super::super::consultations::FIND_OPEN_THREAD_SQL
            ))
            .unwrap()
            .query_map(rusqlite::params!["lineworks", 1, "room-1"], |r| {
                r.get::<_, String>(3)
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter().any(|p| p.contains("consultations_thread")),
            "{plan:?}"
        );
    }
}
