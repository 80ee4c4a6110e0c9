//! The store key: a raw 256-bit key for SQLCipher and the attachment blobs.
//!
//! Where it comes from (see [`locate`]): env `RENKEI_DB_KEY` (64 hex digits); else a key file
//! when one exists (env `RENKEI_KEY_FILE`, default `~/.config/renkei-desk/store.key`, mode 0600,
//! outside the data dir so a copied data dir or backup is useless without it); else the OS
//! keyring (Windows Credential Manager, macOS Keychain, Secret Service — see `keyring.rs`). A new
//! store gets a fresh random key in the OS keyring, or in the key file where there is no
//! keyring. An existing store without its key is an error, never a silent new empty store. A raw
//! key skips SQLCipher's passphrase KDF (open in ~0.4 ms instead of ~150 ms).

use crate::error::{Error, Result};
use rand::RngCore;
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use std::io::Write;

use super::{keyring, DataDir};

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
        locate(dir).map(|(k, _)| k)
    }

    /// The key from `RENKEI_DB_KEY`, the key file or the OS keyring, without ever creating one.
    pub fn existing() -> Result<Option<StoreKey>> {
        if let Some(k) = env_key()? {
            return Ok(Some(k));
        }
        let path = key_file_path();
        if path.exists() {
            return read_key_file(&path).map(Some);
        }
        if explicit_key_file().is_none() {
            if let keyring::Lookup::Found(k) = keyring::get() {
                return Ok(Some(k));
            }
        }
        Ok(None)
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

/// Where a store key was found (for `renkei key status` and messages; never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `RENKEI_DB_KEY`.
    Env,
    /// A key file (0600), by default `~/.config/renkei-desk/store.key`.
    File(std::path::PathBuf),
    /// The OS keyring entry `jp.renkei.desk` / `store-key`.
    Keyring,
}

impl KeySource {
    /// Stable code: `env`, `file`, `keyring`.
    pub fn code(&self) -> &'static str {
        match self {
            KeySource::Env => "env",
            KeySource::File(_) => "file",
            KeySource::Keyring => "keyring",
        }
    }
    /// Where exactly: the key file's path, the keyring entry, or the variable's name.
    pub fn location(&self) -> String {
        match self {
            KeySource::Env => "RENKEI_DB_KEY".into(),
            KeySource::File(p) => p.display().to_string(),
            KeySource::Keyring => format!("{} / {}", keyring::SERVICE, keyring::ACCOUNT),
        }
    }
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Env => f.write_str("environment variable RENKEI_DB_KEY"),
            KeySource::File(p) => write!(f, "key file {}", p.display()),
            KeySource::Keyring => write!(
                f,
                "OS keyring entry {} / {}",
                keyring::SERVICE,
                keyring::ACCOUNT
            ),
        }
    }
}

/// Finds (or, for a new store only, creates) the key for the store in `dir`, and says where it
/// lives. Order: `RENKEI_DB_KEY`; the key file if it exists (an explicit `RENKEI_KEY_FILE` or the
/// default path — headless installs and stores made before the keyring); the OS keyring. A new
/// store gets a random key in the OS keyring, or in the key file when the keyring is off,
/// absent or does not answer. An existing encrypted store whose key is nowhere is an error
/// that says where it looked.
pub fn locate(dir: &DataDir) -> Result<(StoreKey, KeySource)> {
    if let Some(k) = env_key()? {
        return Ok((k, KeySource::Env));
    }
    let path = key_file_path();
    if path.exists() {
        return Ok((read_key_file(&path)?, KeySource::File(path)));
    }
    let use_keyring = explicit_key_file().is_none() && keyring::enabled();
    let mut keyring_said = None;
    if use_keyring {
        match keyring::get() {
            keyring::Lookup::Found(k) => return Ok((k, KeySource::Keyring)),
            keyring::Lookup::Missing => {}
            keyring::Lookup::Unavailable(why) => keyring_said = Some(why),
        }
    }
    if dir.db_path().exists() && !is_plain_sqlite(&dir.db_path()) {
        let keyring_part = if explicit_key_file().is_some() {
            "; RENKEI_KEY_FILE is set, so the OS keyring was not asked — unset it if the key was moved there".to_string()
        } else if !use_keyring {
            "; the OS keyring is turned off (RENKEI_KEYRING=off)".to_string()
        } else {
            match &keyring_said {
                Some(why) => format!("; the OS keyring could not be read: {why}"),
                None => format!(
                    "; the OS keyring has no entry {} / {}",
                    keyring::SERVICE,
                    keyring::ACCOUNT
                ),
            }
        };
        return Err(Error::Unauthorized(format!(
            "the store at {} is encrypted but its key was not found (no key file at {}{keyring_part}). \
             Put back the key file from your key backup, unlock the OS keyring, or set RENKEI_DB_KEY",
            dir.db_path().display(),
            path.display(),
        )));
    }
    if use_keyring && keyring_said.is_none() {
        // Two processes starting a new store at once must end up with one key: hold a lock in
        // the data dir, and look again inside it.
        let _guard = key_init_lock(dir)?;
        if let keyring::Lookup::Found(k) = keyring::get() {
            return Ok((k, KeySource::Keyring));
        }
        let key = StoreKey::random();
        match keyring::put(&key) {
            Ok(()) => return Ok((key, KeySource::Keyring)),
            Err(why) => {
                tracing::warn!(
                    "the OS keyring did not take the new store key ({why}); using the key file"
                )
            }
        }
    }
    create_key_file(&path).map(|k| (k, KeySource::File(path)))
}

fn env_key() -> Result<Option<StoreKey>> {
    match std::env::var("RENKEI_DB_KEY") {
        Ok(v) if !v.trim().is_empty() => StoreKey::from_hex(&v).map(Some).map_err(|_| {
            Error::invalid(
                "RENKEI_DB_KEY",
                "RENKEI_DB_KEY must be 64 hex digits (a 256-bit key)",
            )
        }),
        _ => Ok(None),
    }
}

fn explicit_key_file() -> Option<std::path::PathBuf> {
    std::env::var("RENKEI_KEY_FILE")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .map(std::path::PathBuf::from)
}

/// Reads a key file; a damaged one is an integrity error naming the file.
pub fn read_key_file(path: &std::path::Path) -> Result<StoreKey> {
    let s = std::fs::read_to_string(path)?;
    StoreKey::from_hex(&s).map_err(|_| {
        Error::Integrity(format!(
            "the key file {} is damaged; restore it from your key backup",
            path.display()
        ))
    })
}

/// An exclusive lock on `<data dir>/key.lock` while a new key is made (released on drop).
fn key_init_lock(dir: &DataDir) -> Result<std::fs::File> {
    std::fs::create_dir_all(&dir.root)?;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.root.join("key.lock"))?;
    f.lock()?;
    Ok(f)
}

/// Where the per-user key file lives: env `RENKEI_KEY_FILE`, else the OS config dir
/// (`~/.config/renkei-desk/store.key`, `%LOCALAPPDATA%\renkei-desk\store.key`).
pub fn key_file_path() -> std::path::PathBuf {
    if let Some(p) = explicit_key_file() {
        return p;
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

/// Whether `path` is an unencrypted (plain SQLite) store with something in it.
///
/// Asked through SQLite, never by reading the file's header with our own descriptor: closing
/// any descriptor of the database would drop this process's POSIX locks on it while another
/// connection of the process may hold them (docs/architecture.md).
pub fn is_plain_sqlite(path: &std::path::Path) -> bool {
    use rusqlite::OpenFlags;
    let Ok(conn) = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return false;
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(2));
    let pages = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .and_then(|_| conn.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0)));
    matches!(pages, Ok(n) if n > 0)
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

/// Moves the store key from its key file into the OS keyring: saves it there, reads it back,
/// then overwrites and removes the file. Returns the file it removed.
pub fn move_to_keyring(dir: &DataDir) -> Result<std::path::PathBuf> {
    let (key, source) = locate(dir)?;
    let path = match source {
        KeySource::File(p) => p,
        KeySource::Keyring => {
            return Err(Error::Conflict(
                "the store key is already in the OS keyring".into(),
            ));
        }
        KeySource::Env => {
            return Err(Error::Conflict(
                "the key comes from RENKEI_DB_KEY: unset it and keep the key in a key file first"
                    .into(),
            ));
        }
    };
    keyring::put(&key).map_err(|why| {
        Error::Conflict(format!(
            "the key could not be saved in the OS keyring ({why}); the key file is unchanged"
        ))
    })?;
    shred(&path)?;
    Ok(path)
}

/// Moves the store key from the OS keyring into a new key file (0600) at `path` — for a PC
/// without a keyring, or before moving the store to another machine.
pub fn move_to_file(dir: &DataDir, path: &std::path::Path) -> Result<()> {
    let (key, source) = locate(dir)?;
    if source != KeySource::Keyring {
        return Err(Error::Conflict(format!(
            "the store key is not in the OS keyring (it comes from the {source})"
        )));
    }
    export_key(&key, path)?;
    if let Err(why) = keyring::delete() {
        return Err(Error::Conflict(format!(
            "the key file {} was written, but the keyring entry could not be removed ({why})",
            path.display()
        )));
    }
    Ok(())
}

/// Writes the key as 64 hex digits to a new file readable by its owner only (never overwrites).
pub fn export_key(key: &StoreKey, path: &std::path::Path) -> Result<()> {
    let Some(hex) = key.to_hex() else {
        return Err(Error::Conflict("a plain store has no key to export".into()));
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Conflict(format!(
                "{} already exists; choose a new file name",
                path.display()
            ))
        } else {
            e.into()
        }
    })?;
    f.write_all(format!("{hex}\n").as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Overwrites a key file with zeros, syncs, and removes it.
fn shred(path: &std::path::Path) -> Result<()> {
    let len = std::fs::metadata(path)?.len() as usize;
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(&vec![0u8; len])?;
    f.sync_all()?;
    drop(f);
    std::fs::remove_file(path)?;
    Ok(())
}
