//! One store per backend for the conformance tests: SQLite always (in a temp dir, encrypted
//! like a real store), PostgreSQL when `RENKEI_TEST_DATABASE_URL` is set — each test in its own
//! fresh schema, so tests run in parallel on one database (`scripts/with-postgres.sh` starts a
//! private server and sets the URL). `RENKEI_TEST_REQUIRE_PG=1` (set by `make unit-pg`) makes a
//! missing URL a failure instead of a SQLite-only run.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use renkei_core::store::pg::PgStore;
use renkei_core::store::sql::Db;
use renkei_core::store::{DataDir, Store, StoreKey};
use renkei_core::Result;
use std::sync::atomic::{AtomicU32, Ordering};

pub enum TestStore {
    Sqlite(Store, tempfile::TempDir),
    Pg(PgStore, String),
}

impl TestStore {
    pub fn name(&self) -> &'static str {
        match self {
            TestStore::Sqlite(..) => "sqlite",
            TestStore::Pg(..) => "postgres",
        }
    }
    pub fn write<T>(&mut self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        match self {
            TestStore::Sqlite(s, _) => s.write(|tx| f(tx)),
            TestStore::Pg(s, _) => s.write(f),
        }
    }
    pub fn read<T>(&mut self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        match self {
            TestStore::Sqlite(s, _) => s.read(|tx| f(tx)),
            TestStore::Pg(s, _) => s.read(f),
        }
    }
    /// Another connection to the same store (as another thread or process would open it).
    pub fn reopen(&self) -> TestStore {
        match self {
            TestStore::Sqlite(s, _) => {
                let dir = tempfile::tempdir().unwrap();
                let s = Store::open(s.dir(), s.key().clone()).unwrap();
                TestStore::Sqlite(s, dir)
            }
            TestStore::Pg(_, schema) => TestStore::Pg(pg_in(schema, false), schema.clone()),
        }
    }
}

pub fn pg_url() -> Option<String> {
    match std::env::var("RENKEI_TEST_DATABASE_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("RENKEI_TEST_REQUIRE_PG").is_err(),
                "RENKEI_TEST_REQUIRE_PG is set but RENKEI_TEST_DATABASE_URL is not: run the tests \
                 through scripts/with-postgres.sh (Debian package postgresql)"
            );
            eprintln!(
                "note: PostgreSQL half skipped (no RENKEI_TEST_DATABASE_URL); run `make unit-pg`"
            );
            None
        }
    }
}

fn pg_in(schema: &str, create: bool) -> PgStore {
    let url = pg_url().expect("a PostgreSQL URL");
    let mut s = PgStore::connect(&url).unwrap();
    {
        let db: &dyn Db = s.db();
        if create {
            db.execute_batch(&format!("CREATE SCHEMA {schema}"))
                .unwrap();
        }
        db.execute_batch(&format!("SET search_path TO {schema}, public"))
            .unwrap();
    }
    s.migrate().unwrap();
    s
}

/// A fresh PostgreSQL store in its own schema.
pub fn fresh_pg(test: &str) -> PgStore {
    static N: AtomicU32 = AtomicU32::new(0);
    let schema = schema_name(test, N.fetch_add(1, Ordering::Relaxed));
    pg_in(&schema, true)
}

fn schema_name(test: &str, n: u32) -> String {
    let clean: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    format!("t_{clean}_{}_{n}", std::process::id())
}

/// Every backend this run can test, each with a fresh store.
pub fn backends(test: &str) -> Vec<TestStore> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = Store::open(&DataDir::new(dir.path()), StoreKey::random()).unwrap();
    let mut out = vec![TestStore::Sqlite(sqlite, dir)];
    if pg_url().is_some() {
        static N: AtomicU32 = AtomicU32::new(0);
        let schema = schema_name(test, N.fetch_add(1, Ordering::Relaxed));
        out.push(TestStore::Pg(pg_in(&schema, true), schema));
    }
    out
}

/// True when this run's Desk tests go to PostgreSQL (`make unit-pg`).
pub fn on_pg() -> bool {
    std::env::var("RENKEI_TEST_DATABASE_URL").is_ok_and(|u| !u.trim().is_empty())
}

/// The data dir of a Desk test: its SQLite store, or under `make unit-pg` a PostgreSQL schema of
/// its own (one per dir, so opening the dir again opens the same store). The schema is chosen
/// with the URL's `options=-csearch_path=…`, as an operator could do for a hub.
pub fn data_dir(dir: &std::path::Path) -> DataDir {
    if !on_pg() {
        return DataDir::new(dir);
    }
    let url = pg_url().expect("a PostgreSQL URL");
    let schema = format!(
        "d_{}",
        &renkei_core::store::blobs::sha256_hex(dir.to_string_lossy().as_bytes())[..20]
    );
    let admin = PgStore::connect(&url).unwrap();
    admin
        .db()
        .execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    DataDir::new(dir).with_database(Some(format!(
        "{url}{sep}options=-csearch_path%3D{schema}%2Cpublic"
    )))
}

/// The plain SQLite data dir, for the tests about SQLite's own files (encryption at rest,
/// backup files, a tamperer who opens the file).
pub fn sqlite_dir(dir: &std::path::Path) -> DataDir {
    DataDir::new(dir)
}
