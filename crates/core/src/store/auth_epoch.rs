//! The API keys' epoch: a mark in a SQLite data dir that says "an API key changed".
//!
//! Why: the intake server checked every request's API key with a read transaction on a pooled
//! connection, and with SQLite's WAL every commit of the intake writer empties the page cache of
//! every other connection — so each check decrypted (AES + HMAC) the partners' index and row
//! pages again: a fifth of the server's CPU under load (issue 24). The server now keeps the
//! partners it has seen by key for a short while (`renkei_intake::auth_cache`) and asks this
//! mark, one `stat` per request, whether any key changed since.
//!
//! Who moves it: [`crate::desk::Desk`] after committing a key rotation or revocation, in
//! whichever process (the CLI, the app). The mark is written after the commit, so a server that
//! sees it moved and reads the partners again reads the change. It holds nothing but a random
//! value (no key, no name). Should a process die between its commit and the mark, the server's
//! entries still expire after their time to live.
//!
//! A PostgreSQL store has no data dir shared by its hubs: there the server checks every key in
//! the database, as before.

use super::DataDir;
use std::path::PathBuf;

/// The file in the data dir.
pub const FILE: &str = "api-keys.epoch";

/// What identifies one state of the mark (a new file replaces the old one on each change:
/// another inode, another modification time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch {
    ino: u64,
    modified_ns: i128,
    len: u64,
}

fn path(dir: &DataDir) -> Option<PathBuf> {
    dir.database_url.is_none().then(|| dir.root.join(FILE))
}

/// The mark as it is now: `None` when it was never moved (or the store is PostgreSQL's).
pub fn read(dir: &DataDir) -> Option<Epoch> {
    let meta = std::fs::metadata(path(dir)?).ok()?;
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let ino = 0;
    Some(Epoch {
        ino,
        modified_ns,
        len: meta.len(),
    })
}

/// Moves the mark (after a key change was committed). A new file under a temporary name,
/// renamed over the old one, so a reader sees the old mark or the new one, never half of it.
pub fn bump(dir: &DataDir) -> std::io::Result<()> {
    let Some(path) = path(dir) else {
        return Ok(());
    };
    let tmp = path.with_extension(format!("epoch.{}", std::process::id()));
    let value: u64 = rand::random();
    std::fs::write(&tmp, format!("{value:016x}\n"))?;
    std::fs::rename(&tmp, &path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn every_bump_is_a_new_epoch_and_postgres_has_none() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::new(tmp.path());
        assert_eq!(read(&dir), None);
        bump(&dir).unwrap();
        let first = read(&dir).unwrap();
        assert_eq!(read(&dir), Some(first));
        bump(&dir).unwrap();
        assert_ne!(read(&dir), Some(first));
        let pg = DataDir {
            root: tmp.path().to_path_buf(),
            database_url: Some("postgres://localhost/x".into()),
        };
        bump(&pg).unwrap();
        assert_eq!(read(&pg), None);
    }
}
