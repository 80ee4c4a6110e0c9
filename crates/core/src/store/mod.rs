//! The local store: one SQLite (SQLCipher) database plus a content-addressed blob folder, under
//! a data directory. One module per table or aggregate; this file owns opening, pragmas,
//! transactions and the data-dir layout.
//!
//! Durability rules (docs/architecture.md, "Data and durability"): WAL, `synchronous=FULL`, every write in
//! `BEGIN IMMEDIATE` with a busy timeout so the desktop app and `renkei serve` can share a store.

pub mod attachments;
pub mod audit;
pub mod auth_epoch;
pub mod blobs;
pub mod changes;
pub mod consultations;
pub mod desk_requests;
pub mod devices;
pub mod engine;
pub mod hub_local;
pub mod intake_keys;
pub mod keyring;
pub mod keys;
pub mod lease;
pub mod messages;
pub mod migrations;
pub mod notifications;
pub mod outbox;
pub mod partners;
pub mod pg;
pub mod pg_migrations;
pub mod report;
pub mod search;
pub mod settings;
pub mod sql;
pub mod staff;
pub mod stats;

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use keys::StoreKey;

/// File name of the database inside the data dir.
pub const DB_FILE: &str = "renkei.db";
/// Folder of encrypted attachment blobs inside the data dir.
pub const BLOB_DIR: &str = "attachments";

/// Paths inside a data directory, and where the database is: the SQLite file in it, or a
/// PostgreSQL hub database (`database_url`; the data dir then holds the key, logs and backups).
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
    /// A `postgres://` URL: the store is that database (docs/architecture.md, "The hub").
    pub database_url: Option<String>,
}

/// Env var that selects the PostgreSQL store (like the global flag `--database-url`).
pub const DATABASE_URL_ENV: &str = "RENKEI_DATABASE_URL";

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataDir {
            root: root.into(),
            database_url: None,
        }
    }
    /// The same dir with its database in PostgreSQL at `url` (`None` or empty: SQLite).
    pub fn with_database(mut self, url: Option<String>) -> Self {
        self.database_url = url.filter(|u| !u.trim().is_empty());
        self
    }
    /// `RENKEI_DATABASE_URL`, if set.
    pub fn database_url_from_env() -> Option<String> {
        std::env::var(DATABASE_URL_ENV)
            .ok()
            .filter(|u| !u.trim().is_empty())
    }
    /// The default: `RENKEI_DATA_DIR`, else the OS data dir + `renkei-desk`; the database from
    /// `RENKEI_DATABASE_URL` when set.
    pub fn from_env_or_default() -> Self {
        let url = Self::database_url_from_env();
        if let Ok(d) = std::env::var("RENKEI_DATA_DIR") {
            if !d.trim().is_empty() {
                return DataDir::new(d).with_database(url);
            }
        }
        DataDir::new(default_data_root().join("renkei-desk")).with_database(url)
    }
    pub fn db_path(&self) -> PathBuf {
        self.root.join(DB_FILE)
    }
    pub fn blob_dir(&self) -> PathBuf {
        self.root.join(BLOB_DIR)
    }
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("logs")
    }
    pub fn backup_dir(&self) -> PathBuf {
        self.root.join("backups")
    }
    pub fn exists(&self) -> bool {
        self.db_path().exists()
    }
}

fn default_data_root() -> PathBuf {
    #[cfg(windows)]
    {
        if let Ok(a) = std::env::var("APPDATA") {
            return PathBuf::from(a);
        }
    }
    #[cfg(target_os = "macos")]
    {
        if let Ok(h) = std::env::var("HOME") {
            return PathBuf::from(h).join("Library/Application Support");
        }
    }
    if let Ok(x) = std::env::var("XDG_DATA_HOME") {
        if !x.is_empty() {
            return PathBuf::from(x);
        }
    }
    match std::env::var("HOME") {
        Ok(h) => PathBuf::from(h).join(".local/share"),
        Err(_) => PathBuf::from("."),
    }
}

/// An open store. Not `Sync`: give each thread its own, or guard it with a mutex.
pub struct Store {
    conn: Connection,
    dir: DataDir,
    key: StoreKey,
    /// Shared by every `Store` of this database in this process (see [`writer_gate`]).
    gate: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir.root)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir` with `key`, running migrations.
    pub fn open(dir: &DataDir, key: StoreKey) -> Result<Store> {
        std::fs::create_dir_all(&dir.root).map_err(|e| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("cannot create data dir {}: {e}", dir.root.display()),
            ))
        })?;
        std::fs::create_dir_all(dir.blob_dir())?;
        // Only SQLite opens the database, its WAL and its shared-memory file (docs/
        // architecture.md, "Only SQLite touches the store's files"): closing any other
        // descriptor of `renkei.db` would drop this process's POSIX locks, and another process
        // could then delete the WAL this one is still writing into.
        let conn = match open_keyed(dir, &key) {
            Ok(conn) => conn,
            Err(first) if key.is_encrypted() => {
                if keys::is_plain_sqlite(&dir.db_path()) {
                    encrypt_plain_store(dir, &key)?;
                }
                // Also the way out when another process converted the store between our open
                // and our first read: the name now points at the encrypted file.
                open_keyed(dir, &key).map_err(|_| first)?
            }
            Err(e) => return Err(e),
        };
        configure(&conn)?;
        let mut store = Store {
            conn,
            dir: dir.clone(),
            key,
            gate: writer_gate(&dir.db_path()),
        };
        migrations::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// An in-memory store for tests (blobs go to `dir`).
    pub fn open_in_memory(dir: &DataDir) -> Result<Store> {
        std::fs::create_dir_all(dir.blob_dir())?;
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        migrations::migrate(&mut conn)?;
        Ok(Store {
            conn,
            dir: dir.clone(),
            key: StoreKey::plain(),
            gate: Arc::default(),
        })
    }

    pub fn dir(&self) -> &DataDir {
        &self.dir
    }
    pub fn key(&self) -> &StoreKey {
        &self.key
    }
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction and commits (durably: synchronous=FULL).
    pub fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        // One writer of this process at a time; a panic in another writer does not block us.
        let _turn = self.gate.lock().unwrap_or_else(|p| p.into_inner());
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.finish()?;
        Ok(out)
    }
}

/// Opens a connection to the store's database with `key` and proves the key with a first read.
fn open_keyed(dir: &DataDir, key: &StoreKey) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        dir.db_path(),
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_handler(Some(busy_wait))?;
    key.apply(&conn)?;
    // The first read proves the key: a wrong key fails here, never silently.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(conn),
        Err(e) if is_busy(&e) => Err(Error::Conflict(format!(
            "the store at {} stayed locked by another program for 10 s; try again in a moment",
            dir.db_path().display()
        ))),
        Err(_) => Err(Error::Unauthorized(format!(
            "the store at {} cannot be opened with this key (wrong key, or not a Renkei Desk store). \
             Set RENKEI_DB_KEY or restore the key file; nothing was changed",
            dir.db_path().display()
        ))),
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The write gate of the database at `path` in this process. Writers of one process queue on
/// this mutex (woken by the OS, no polling) instead of meeting each other in SQLite's busy
/// handler, which sleeps and retries; writers in other processes (`renkei serve` next to the
/// app) still meet the busy handler. 8 in-process writers: 378 → 893 rows/s, p99 168 → 181 ms
/// (a fair mutex gave p99 47 ms but 506 rows/s; docs/benchmarks.md).
fn writer_gate(path: &Path) -> Arc<Mutex<()>> {
    static GATES: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut gates = GATES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    gates.entry(key).or_default().clone()
}

/// Busy handler: `true` = try again. ~10 s in all before `SQLITE_BUSY` reaches the caller.
fn busy_wait(attempt: i32) -> bool {
    let us = match attempt {
        0..=49 => 200,
        50..=10_000 => 1_000,
        _ => return false,
    };
    std::thread::sleep(Duration::from_micros(us));
    true
}

/// Converts an unencrypted store (an early version, or one restored from a plain copy) to an
/// encrypted one in place, with the database to itself the whole time.
///
/// 1. Through SQLite, leave WAL mode and take an exclusive lock that is kept until the end
///    (`locking_mode=EXCLUSIVE` plus one write). Leaving WAL needs every other connection, in
///    any process, to be closed: while the app or `renkei serve` has the store open this fails,
///    and the conversion is refused with a message that says so; nothing is changed.
/// 2. Blobs (each an atomic rename; already-encrypted ones are skipped, so a crash midway is
///    safe to resume).
/// 3. The database through `sqlcipher_export` into a temp file, which is synced and renamed over
///    `renkei.db` while the lock on the old file is still held. A process that was waiting for
///    that lock finds a plain file under its descriptor, and opens the name again
///    ([`Store::open`]). No `-wal`/`-shm` file is ever removed by hand: SQLite removed them when
///    it left WAL mode, and after the rename they would belong to the new file.
fn encrypt_plain_store(dir: &DataDir, key: &StoreKey) -> Result<()> {
    let hex = key
        .to_hex()
        .ok_or_else(|| Error::Integrity("no key to encrypt the store with".into()))?;
    let db = dir.db_path();
    let in_use = || {
        Error::Conflict(format!(
            "the store at {} is not encrypted yet and must be converted, but another program has \
             it open (the Renkei Desk app, `renkei serve` or another `renkei` command). Close \
             them and try again; nothing was changed",
            db.display()
        ))
    };
    // CREATE: an attached database inherits these flags, and the encrypted copy is new.
    let conn = Connection::open_with_flags(
        &db,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(2))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))
        .map_err(|e| if is_busy(&e) { in_use() } else { e.into() })?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(in_use());
    }
    conn.execute_batch("PRAGMA locking_mode=EXCLUSIVE")?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    // A write takes the exclusive lock; in exclusive locking mode it is kept until close.
    conn.pragma_update(None, "user_version", version)
        .map_err(|e| if is_busy(&e) { in_use() } else { e.into() })?;

    let blobs = blobs::BlobStore::new(dir.blob_dir(), key.blob_key());
    for path in walk_files(&dir.blob_dir()) {
        let raw = std::fs::read(&path)?;
        if raw.starts_with(blobs::BLOB_MAGIC) || path.extension().is_some_and(|e| e == "tmp") {
            continue;
        }
        blobs.reseal_in_place(&path, &raw)?;
    }
    let tmp = db.with_extension("db.encrypting");
    let _ = std::fs::remove_file(&tmp);
    let path = tmp.to_string_lossy().replace('\'', "''");
    conn.execute_batch(&format!(
        "ATTACH DATABASE '{path}' AS encrypted KEY \"x'{hex}'\";
         SELECT sqlcipher_export('encrypted');
         PRAGMA encrypted.user_version = {version};
         DETACH DATABASE encrypted;"
    ))?;
    // The temp file is ours alone (detached above), so opening it here is safe.
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, &db)?;
    blobs::sync_dir(&dir.root);
    drop(conn);
    tracing::info!(
        "converted the plain store in {} to an encrypted one",
        dir.root.display()
    );
    Ok(())
}

fn walk_files(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walk_files(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

fn configure(conn: &Connection) -> Result<()> {
    // Wait for another writer up to ~10 s, polling every 0.2–1 ms. SQLite's own busy_timeout
    // backs off to 100 ms sleeps, which with several writers on one store (the app, `renkei
    // serve`, its worker threads) left the lock idle most of the time: 8 in-process writers
    // reached ~40% of one writer's commits/s, with 140 ms p99 (docs/benchmarks.md).
    conn.busy_handler(Some(busy_wait))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Page cache of up to 64 MiB (default 2 MiB): with SQLCipher every page read from the OS is
    // also decrypted and its HMAC checked, so a queue or search over a large store that does not
    // fit the cache pays that on every call. Grows only as pages are used.
    conn.pragma_update(None, "cache_size", -65_536)?;
    // Every statement of the store goes through `prepare_cached` (store/sql.rs): room for the
    // intake transaction's ~15 statements plus the queue's and the feed's, so the hot ones are
    // not evicted by the queue's one-off `IN (…)` statements (rusqlite's default is 16).
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

/// Stored timestamps are RFC 3339 UTC with fixed precision so that text order = time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses a stored timestamp.
pub fn parse_ts(s: &str) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })
}

/// Parses an optional stored timestamp.
pub fn parse_opt_ts(s: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    s.as_deref().map(parse_ts).transpose()
}

/// Parses a stored code column.
pub fn parse_code<T: std::str::FromStr>(s: &str) -> rusqlite::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    s.parse::<T>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// True when `path` is a directory with nothing in it (or does not exist).
pub fn is_empty_or_missing(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(mut it) => it.next().is_none(),
        Err(_) => !path.exists(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn stores_of_one_database_share_one_write_gate_and_all_writes_land() {
        let tmp = std::env::temp_dir().join(format!("renkei-gate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let dir = DataDir::new(&tmp);
        let key = StoreKey::random();
        let a = Store::open(&dir, key.clone()).unwrap();
        let b = Store::open(&DataDir::new(tmp.join(".")), key.clone()).unwrap();
        assert!(Arc::ptr_eq(&a.gate, &b.gate), "same file, same gate");
        let other = tempfile_dir("renkei-gate-other");
        let c = Store::open(&DataDir::new(&other), key.clone()).unwrap();
        assert!(!Arc::ptr_eq(&a.gate, &c.gate));
        drop((a, b, c));
        // 8 threads, each with its own Store, write 50 settings rows each: all land.
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (dir, key) = (dir.clone(), key.clone());
                std::thread::spawn(move || {
                    let mut s = Store::open(&dir, key).unwrap();
                    for i in 0..50 {
                        s.write(|tx| {
                            settings::put(tx, &format!("gate-test-{t}-{i}"), &i, Utc::now())?;
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let s = Store::open(&dir, key).unwrap();
        let n: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM settings WHERE key LIKE 'gate-test-%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 400);
        let _ = std::fs::remove_dir_all(&tmp);
        let _ = std::fs::remove_dir_all(&other);
    }

    fn tempfile_dir(name: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        p
    }
}
