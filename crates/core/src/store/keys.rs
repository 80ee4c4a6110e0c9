//! The store key: a raw 256-bit key for SQLCipher and the attachment blobs.
//!
//! Where it comes from, in order: env `RENKEI_DB_KEY` (64 hex digits), else the per-user key
//! file (env `RENKEI_KEY_FILE`, default `~/.config/renkei-desk/store.key`, mode 0600, outside
//! the data dir so a copied data dir or backup is useless without it), else — only when there
//! is no store yet — a fresh random key written to that file. An existing store without its key is an error, never a silent new
//! empty store. A raw key skips SQLCipher's passphrase KDF (open in ~0.4 ms instead of ~150 ms).

use crate::error::{Error, Result};
use rand::RngCore;
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::io::Write;

use super::DataDir;

/// Name of the key file in the data dir.
pub const KEY_FILE: &str = "store.key";

/// A raw 256-bit key (or none, for plain legacy/in-memory test stores).
#[derive(Clone)]
pub struct StoreKey(Option<[u8; 32]>);

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "StoreKey(<hidden>)"
        } else {
            "StoreKey(none)"
        })
    }
}

impl StoreKey {
    pub fn from_bytes(k: [u8; 32]) -> Self {
        StoreKey(Some(k))
    }
    /// No encryption: only for in-memory test stores and benchmarks of the encryption cost.
    pub fn plain() -> Self {
        StoreKey(None)
    }
    pub fn random() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        StoreKey(Some(k))
    }
    /// Parses 64 hex digits.
    pub fn from_hex(s: &str) -> Result<Self> {
        let bytes = hex::decode(s.trim())
            .map_err(|_| Error::invalid("key", "the key must be 64 hex digits"))?;
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid("key", "the key must be 64 hex digits (256 bits)"))?;
        Ok(StoreKey(Some(arr)))
    }
    pub fn to_hex(&self) -> Option<String> {
        self.0.map(hex::encode)
    }
    pub fn is_encrypted(&self) -> bool {
        self.0.is_some()
    }
    /// Key for attachment blobs, derived so the DB key is never used twice for two ciphers.
    pub fn blob_key(&self) -> Option<[u8; 32]> {
        self.0.map(|k| {
            let mut h = Sha256::new();
            h.update(b"renkei-desk blob key v1");
            h.update(k);
            h.finalize().into()
        })
    }
    /// Applies the key to a fresh connection (must be the first statement).
    pub fn apply(&self, conn: &Connection) -> Result<()> {
        if let Some(k) = self.0 {
            conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(k)))?;
        }
        Ok(())
    }

    /// Finds the key for the store in `dir` (see the module doc).
    pub fn resolve(dir: &DataDir) -> Result<StoreKey> {
        if let Ok(v) = std::env::var("RENKEI_DB_KEY") {
            if !v.trim().is_empty() {
                return StoreKey::from_hex(&v).map_err(|_| {
                    Error::invalid(
                        "RENKEI_DB_KEY",
                        "RENKEI_DB_KEY must be 64 hex digits (a 256-bit key)",
                    )
                });
            }
        }
        let path = key_file_path();
        if path.exists() {
            let s = std::fs::read_to_string(&path)?;
            return StoreKey::from_hex(&s).map_err(|_| {
                Error::Integrity(format!(
                    "the key file {} is damaged; restore it from your key backup",
                    path.display()
                ))
            });
        }
        if dir.db_path().exists() && !is_plain_sqlite(&dir.db_path()) {
            return Err(Error::Unauthorized(format!(
                "the store at {} is encrypted but its key is missing: set RENKEI_DB_KEY or put back the key file {}",
                dir.db_path().display(),
                path.display()
            )));
        }
        create_key_file(&path)
    }

    /// The key from `RENKEI_DB_KEY` or the key file, without ever creating one.
    pub fn existing() -> Result<Option<StoreKey>> {
        if let Ok(v) = std::env::var("RENKEI_DB_KEY") {
            if !v.trim().is_empty() {
                return StoreKey::from_hex(&v).map(Some).map_err(|_| {
                    Error::invalid(
                        "RENKEI_DB_KEY",
                        "RENKEI_DB_KEY must be 64 hex digits (a 256-bit key)",
                    )
                });
            }
        }
        let path = key_file_path();
        if !path.exists() {
            return Ok(None);
        }
        let s = std::fs::read_to_string(&path)?;
        StoreKey::from_hex(&s).map(Some)
    }

    /// A short fingerprint of the key (safe to print and to put in backup manifests).
    pub fn fingerprint(&self) -> String {
        match self.0 {
            None => "plain".into(),
            Some(k) => {
                let mut h = Sha256::new();
                h.update(b"renkei-desk key fingerprint");
                h.update(k);
                hex::encode(&h.finalize()[..8])
            }
        }
    }
}

/// Where the per-user key file lives: env `RENKEI_KEY_FILE`, else the OS config dir
/// (`~/.config/renkei-desk/store.key`, `%LOCALAPPDATA%\renkei-desk\store.key`).
pub fn key_file_path() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("RENKEI_KEY_FILE") {
        if !p.trim().is_empty() {
            return std::path::PathBuf::from(p);
        }
    }
    config_root().join("renkei-desk").join(KEY_FILE)
}

fn config_root() -> std::path::PathBuf {
    use std::path::PathBuf;
    #[cfg(windows)]
    {
        if let Ok(a) = std::env::var("LOCALAPPDATA") {
            return PathBuf::from(a);
        }
    }
    #[cfg(target_os = "macos")]
    {
        if let Ok(h) = std::env::var("HOME") {
            return PathBuf::from(h).join("Library/Application Support");
        }
    }
    if let Ok(x) = std::env::var("XDG_CONFIG_HOME") {
        if !x.is_empty() {
            return PathBuf::from(x);
        }
    }
    match std::env::var("HOME") {
        Ok(h) => PathBuf::from(h).join(".config"),
        Err(_) => PathBuf::from("."),
    }
}

/// Creates the key file exclusively; if another process won the race, reads theirs.
fn create_key_file(path: &std::path::Path) -> Result<StoreKey> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(parent, std::fs::Permissions::from_mode(0o700));
        }
    }
    let key = StoreKey::random();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(mut f) => {
            f.write_all(key.to_hex().unwrap_or_default().as_bytes())?;
            f.sync_all()?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let s = std::fs::read_to_string(path)?;
            StoreKey::from_hex(&s)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the file starts with the plain SQLite header (an unencrypted store).
pub fn is_plain_sqlite(path: &std::path::Path) -> bool {
    let mut buf = [0u8; 16];
    match std::fs::File::open(path) {
        Ok(mut f) => {
            std::io::Read::read_exact(&mut f, &mut buf).is_ok() && &buf == b"SQLite format 3\0"
        }
        Err(_) => false,
    }
}

/// Writes a file readable by its owner only (0600 on Unix), durably.
pub fn write_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}
