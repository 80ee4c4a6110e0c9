//! The store a `Desk` works on: the SQLite file in the data dir ([`Store`]) or a PostgreSQL hub
//! database ([`PgStore`]), chosen by [`DataDir::database_url`]. One surface for both — the
//! connection as a [`Db`], `write` (one writer at a time on either engine), `read`, the data
//! dir and key — so the domain code above (`desk/`, `feed`) is written once.
//!
//! Attachments: encrypted files under `attachments/` on SQLite; on PostgreSQL the same sealed
//! bytes in `blob_content` (a hub may run on several machines: no local blob folder). Either
//! way they are written before the transaction that links them, and content-addressed, so a
//! failed transaction leaves at most an unreferenced blob.

use super::blobs::{sha256_hex, BlobStore};
use super::pg::PgStore;
use super::sql::{Backend, Db};
use super::{DataDir, Store, StoreKey};
use crate::args;
use crate::error::{Error, Result};

/// Settings key under which a PostgreSQL store records the fingerprint of its store key.
const KEY_FINGERPRINT: &str = "store.key_fingerprint";

/// An open store of either engine.
#[derive(Debug)]
// One per `Desk`, never moved in a hot loop: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Engine {
    Sqlite(Store),
    Postgres {
        store: PgStore,
        dir: DataDir,
        key: StoreKey,
    },
}

impl Engine {
    /// Opens the store of `dir`: PostgreSQL when it has a database URL, else SQLite.
    pub fn open(dir: &DataDir, key: StoreKey) -> Result<Engine> {
        let Some(url) = &dir.database_url else {
            return Ok(Engine::Sqlite(Store::open(dir, key)?));
        };
        if !super::pg::is_postgres_url(url) {
            return Err(Error::invalid(
                "database_url",
                "the database URL must start with postgres:// or postgresql://; unset \
                 RENKEI_DATABASE_URL to use the SQLite store in the data dir",
            ));
        }
        std::fs::create_dir_all(&dir.root)?;
        let mut store = PgStore::open(url)?;
        check_key(&mut store, &key)?;
        Ok(Engine::Postgres {
            store,
            dir: dir.clone(),
            key,
        })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Engine::Sqlite(_) => Backend::Sqlite,
            Engine::Postgres { .. } => Backend::Postgres,
        }
    }
    /// The connection outside a transaction (reads; on PostgreSQL each statement commits).
    pub fn db(&self) -> &dyn Db {
        match self {
            Engine::Sqlite(s) => s.conn(),
            Engine::Postgres { store, .. } => store.db(),
        }
    }
    /// One write transaction, writers taking turns (`BEGIN IMMEDIATE` / the advisory lock).
    pub fn write<T>(&mut self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        match self {
            Engine::Sqlite(s) => s.write(|tx| f(tx)),
            Engine::Postgres { store, .. } => store.write(f),
        }
    }
    /// One read transaction (a consistent snapshot).
    pub fn read<T>(&mut self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        match self {
            Engine::Sqlite(s) => s.read(|tx| f(tx)),
            Engine::Postgres { store, .. } => store.read(f),
        }
    }
    pub fn dir(&self) -> &DataDir {
        match self {
            Engine::Sqlite(s) => s.dir(),
            Engine::Postgres { dir, .. } => dir,
        }
    }
    pub fn key(&self) -> &StoreKey {
        match self {
            Engine::Sqlite(s) => s.key(),
            Engine::Postgres { key, .. } => key,
        }
    }
    /// The SQLite store, when that is the engine (backup, integrity pragmas).
    pub fn sqlite(&self) -> Option<&Store> {
        match self {
            Engine::Sqlite(s) => Some(s),
            Engine::Postgres { .. } => None,
        }
    }
    /// Where attachment bytes go.
    pub fn blobs(&self) -> Blobs<'_> {
        let sealer = BlobStore::new(self.dir().blob_dir(), self.key().blob_key());
        match self {
            Engine::Sqlite(_) => Blobs::Files(sealer),
            Engine::Postgres { store, .. } => Blobs::Table {
                db: store.db(),
                sealer,
            },
        }
    }
}

/// Proves the key on PostgreSQL as SQLCipher's first read does on SQLite: the first open records
/// the key's fingerprint; a later open with another key is refused before anything is written.
fn check_key(store: &mut PgStore, key: &StoreKey) -> Result<()> {
    let mine = key.fingerprint();
    let stored: Option<String> = store.write(|db| {
        let stored = super::settings::get::<String>(db, KEY_FINGERPRINT)?;
        if stored.is_none() {
            super::settings::put(db, KEY_FINGERPRINT, &mine, chrono::Utc::now())?;
        }
        Ok(stored)
    })?;
    match stored {
        Some(f) if f != mine => Err(Error::Unauthorized(format!(
            "the hub database was set up with another store key (fingerprint {f}, this machine's \
             key is {mine}). Copy the store key of the first hub machine here (key file or \
             RENKEI_DB_KEY); nothing was changed"
        ))),
        _ => Ok(()),
    }
}

/// Attachment bytes, sealed with the store key: files (SQLite) or the `blob_content` table
/// (PostgreSQL).
pub enum Blobs<'a> {
    Files(BlobStore),
    Table { db: &'a dyn Db, sealer: BlobStore },
}

impl Blobs<'_> {
    /// Stores the bytes durably (if not already there) and answers their sha256.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        match self {
            Blobs::Files(b) => b.put(bytes),
            Blobs::Table { db, sealer } => {
                let sha = sha256_hex(bytes);
                db.execute(
                    "INSERT INTO blob_content (sha256, content) VALUES (?1, ?2)
                     ON CONFLICT (sha256) DO NOTHING",
                    args![sha.as_str(), sealer.seal(bytes)?],
                )?;
                Ok(sha)
            }
        }
    }
    /// Whether the blob is there (without reading it: the quick check).
    pub fn exists(&self, sha: &str) -> Result<bool> {
        match self {
            Blobs::Files(b) => Ok(b.path_of(sha).is_file()),
            Blobs::Table { db, .. } => Ok(db
                .query_opt(
                    "SELECT 1 FROM blob_content WHERE sha256 = ?1",
                    args![sha],
                    |_| Ok(()),
                )?
                .is_some()),
        }
    }
    /// Reads and decrypts a blob, checking its hash.
    pub fn get(&self, sha: &str) -> Result<Vec<u8>> {
        match self {
            Blobs::Files(b) => b.get(sha),
            Blobs::Table { db, sealer } => {
                let raw: Vec<u8> = db
                    .query_opt(
                        "SELECT content FROM blob_content WHERE sha256 = ?1",
                        args![sha],
                        |r| r.get(0),
                    )?
                    .ok_or_else(|| {
                        Error::Integrity(format!("attachment {sha} is missing from the database"))
                    })?;
                let plain = sealer.open(&raw)?;
                if sha256_hex(&plain) != sha {
                    return Err(Error::Integrity(format!(
                        "attachment {sha} does not match its hash"
                    )));
                }
                Ok(plain)
            }
        }
    }
}
