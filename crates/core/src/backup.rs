//! Consistent online backups and restore.
//!
//! A backup is one file: `RENKEI-BACKUP-1\n`, a length-prefixed JSON manifest (what is inside,
//! each entry's size and sha256, the key fingerprint, counts), then the entries in manifest
//! order: the database (an online snapshot through SQLite's backup API — still encrypted with
//! the store key) and every attachment blob (already encrypted). Nothing in it is plaintext; it
//! is useless without the store key. Written to a temp file, fsynced, renamed.
//!
//! Restore goes only into a missing or empty directory, verifies every hash, then opens the
//! restored store and runs the integrity check.

use crate::error::{Error, Result};
use crate::store::{self, DataDir, Store, StoreKey};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"RENKEI-BACKUP-1\n";

/// One file inside a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Path relative to the data dir, with `/`.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created_at: DateTime<Utc>,
    pub schema_version: i64,
    pub key_fingerprint: String,
    pub consultations: u64,
    pub attachments: u64,
    pub entries: Vec<Entry>,
}

fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut f = BufReader::new(std::fs::File::open(path)?);
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((n, hex::encode(h.finalize())))
}

/// Writes a backup of the open store to `out`. Returns the manifest.
pub fn backup(store: &Store, out: &Path, now: DateTime<Utc>) -> Result<Manifest> {
    let dir = store.dir().clone();
    let stage = tempfile_in(out)?;
    // 1. Consistent snapshot of the database through the online backup API.
    let snap_path = stage.join("renkei.db");
    {
        let mut dst = rusqlite::Connection::open(&snap_path)?;
        store.key().apply(&dst)?;
        let b = rusqlite::backup::Backup::new(store.conn(), &mut dst)?;
        b.run_to_completion(256, std::time::Duration::from_millis(0), None)?;
    }
    let (consultations, attachments, schema_version): (i64, i64, i64) = {
        let c = rusqlite::Connection::open(&snap_path)?;
        store.key().apply(&c)?;
        (
            c.query_row("SELECT count(*) FROM consultations", [], |r| r.get(0))?,
            c.query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))?,
            c.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        )
    };
    let mut files: Vec<(String, PathBuf)> = vec![(store::DB_FILE.to_string(), snap_path.clone())];
    let shas: Vec<String> = {
        let c = rusqlite::Connection::open(&snap_path)?;
        store.key().apply(&c)?;
        let mut st = c.prepare("SELECT sha256 FROM blobs ORDER BY sha256")?;
        let v = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        v
    };
    let blobs = store::blobs::BlobStore::new(dir.blob_dir(), None);
    for sha in &shas {
        let p = blobs.path_of(sha);
        let rel = p
            .strip_prefix(&dir.root)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        files.push((rel, p));
    }
    let mut entries = Vec::with_capacity(files.len());
    for (rel, p) in &files {
        let (size, sha256) = hash_file(p)
            .map_err(|e| Error::Integrity(format!("cannot read {rel} for the backup: {e}")))?;
        entries.push(Entry {
            path: rel.clone(),
            size,
            sha256,
        });
    }
    let manifest = Manifest {
        format: 1,
        created_at: now,
        schema_version,
        key_fingerprint: store.key().fingerprint(),
        consultations: consultations as u64,
        attachments: attachments as u64,
        entries,
    };
    let paths: Vec<PathBuf> = files.into_iter().map(|(_, p)| p).collect();
    let written = write_file(out, &manifest, &paths);
    let _ = std::fs::remove_dir_all(&stage);
    written?;
    Ok(manifest)
}

/// Writes a backup file: magic, the manifest, then `files` in manifest order — to a temp file
/// that is synced and renamed over `out`.
pub(crate) fn write_file(out: &Path, manifest: &Manifest, files: &[PathBuf]) -> Result<()> {
    let tmp_out = out.with_extension("partial");
    let written = (|| -> Result<()> {
        let mut w = BufWriter::new(std::fs::File::create(&tmp_out)?);
        w.write_all(MAGIC)?;
        let m = serde_json::to_vec(manifest).map_err(|e| Error::Integrity(e.to_string()))?;
        w.write_all(&(m.len() as u64).to_le_bytes())?;
        w.write_all(&m)?;
        for p in files {
            let mut f = std::fs::File::open(p)?;
            std::io::copy(&mut f, &mut w)?;
        }
        let f = w.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        f.sync_all()?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp_out);
    }
    written?;
    std::fs::rename(&tmp_out, out)?;
    Ok(())
}

fn tempfile_in(out: &Path) -> Result<PathBuf> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(Error::invalid(
            "out",
            format!(
                "the folder {} does not exist; create it first",
                parent.display()
            ),
        ));
    }
    let stage = parent.join(format!(".renkei-backup-{}", std::process::id()));
    std::fs::create_dir_all(&stage)?;
    Ok(stage)
}

/// Reads only the manifest of a backup file.
pub fn read_manifest(file: &Path) -> Result<Manifest> {
    let mut r = BufReader::new(std::fs::File::open(file)?);
    read_header(&mut r, file)
}

/// Reads a backup's header (magic + manifest), leaving `r` at the first entry.
pub(crate) fn read_header(r: &mut impl Read, file: &Path) -> Result<Manifest> {
    let bad = || {
        Error::invalid(
            "file",
            format!(
                "{} is not a Renkei Desk backup (or it is damaged)",
                file.display()
            ),
        )
    };
    let mut magic = vec![0u8; MAGIC.len()];
    r.read_exact(&mut magic).map_err(|_| bad())?;
    if magic != MAGIC {
        return Err(bad());
    }
    let mut len = [0u8; 8];
    r.read_exact(&mut len).map_err(|_| bad())?;
    let len = u64::from_le_bytes(len);
    if len > 64 * 1024 * 1024 {
        return Err(bad());
    }
    let mut m = vec![0u8; len as usize];
    r.read_exact(&mut m).map_err(|_| bad())?;
    serde_json::from_slice(&m).map_err(|_| bad())
}

/// Restores `file` into `dir` (missing or empty) — or, for a hub (`dir.database_url`), into
/// its empty PostgreSQL database ([`crate::backup_pg`]). The store key must be the backup's.
pub fn restore(file: &Path, dir: &DataDir, key: &StoreKey) -> Result<Manifest> {
    let manifest = read_manifest(file)?;
    check_key(&manifest, key)?;
    match (&dir.database_url, manifest.format) {
        (Some(url), crate::backup_pg::FORMAT) => {
            crate::backup_pg::restore(file, &manifest, url, key)?;
            return Ok(manifest);
        }
        (Some(_), _) => {
            return Err(Error::Conflict(
                "this is a backup of a single-PC (SQLite) store, and RENKEI_DATABASE_URL points \
                 at a PostgreSQL hub: restore it without RENKEI_DATABASE_URL into an empty \
                 folder; nothing was changed"
                    .into(),
            ))
        }
        (None, crate::backup_pg::FORMAT) => {
            return Err(Error::Conflict(
                "this is a backup of a PostgreSQL hub: set RENKEI_DATABASE_URL (or \
                 --database-url) to a new, empty database and run the restore again; nothing \
                 was changed"
                    .into(),
            ))
        }
        (None, _) => {}
    }
    if !store::is_empty_or_missing(&dir.root) {
        return Err(Error::Conflict(format!(
            "{} is not empty; restore only into a new or empty folder (nothing was changed)",
            dir.root.display()
        )));
    }
    let mut r = BufReader::new(std::fs::File::open(file).map_err(|e| {
        Error::Io(std::io::Error::new(
            e.kind(),
            format!("cannot open the backup {}: {e}", file.display()),
        ))
    })?);
    let manifest = read_header(&mut r, file)?;
    let created_dir = !dir.root.exists();
    let result = (|| -> Result<()> {
        std::fs::create_dir_all(&dir.root)?;
        for e in &manifest.entries {
            if e.path.contains("..") || e.path.starts_with('/') || e.path.contains('\\') {
                return Err(Error::Integrity(format!(
                    "backup entry '{}' has an unsafe path",
                    e.path
                )));
            }
            let target = dir.root.join(&e.path);
            if let Some(p) = target.parent() {
                std::fs::create_dir_all(p)?;
            }
            let mut w = BufWriter::new(std::fs::File::create(&target)?);
            let mut h = Sha256::new();
            let mut left = e.size;
            let mut buf = vec![0u8; 64 * 1024];
            while left > 0 {
                let want = left.min(buf.len() as u64) as usize;
                r.read_exact(&mut buf[..want]).map_err(|_| {
                    Error::Integrity(format!("the backup is truncated at {}", e.path))
                })?;
                h.update(&buf[..want]);
                w.write_all(&buf[..want])?;
                left -= want as u64;
            }
            if hex::encode(h.finalize()) != e.sha256 {
                return Err(Error::Integrity(format!(
                    "{} in the backup does not match its checksum",
                    e.path
                )));
            }
            let f = w.into_inner().map_err(|e| Error::Io(e.into_error()))?;
            f.sync_all()?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        // Leave nothing half-restored behind.
        if created_dir {
            let _ = std::fs::remove_dir_all(&dir.root);
        } else if let Ok(rd) = std::fs::read_dir(&dir.root) {
            for ent in rd.flatten() {
                let p = ent.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
        return Err(e);
    }
    Ok(manifest)
}

fn check_key(manifest: &Manifest, key: &StoreKey) -> Result<()> {
    if manifest.key_fingerprint != key.fingerprint() {
        return Err(Error::Unauthorized(format!(
            "this backup was made with another store key (fingerprint {}; yours is {}). \
             Set RENKEI_DB_KEY to the key of the backed-up clinic PC or hub",
            manifest.key_fingerprint,
            key.fingerprint()
        )));
    }
    Ok(())
}

/// What the daily backup did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyOutcome {
    /// The backup written today, or `None` when today's already existed.
    pub written: Option<PathBuf>,
    /// Copied to the mirror folder.
    pub mirrored: Option<PathBuf>,
    /// Old generations removed.
    pub pruned: Vec<PathBuf>,
    /// A problem with the mirror (the local backup still succeeded).
    pub mirror_error: Option<String>,
}

/// File name of the generation for a day: `renkei-YYYYMMDD.rkbackup` (clinic's local date).
pub fn generation_name(day: chrono::NaiveDate) -> String {
    format!("renkei-{}.rkbackup", day.format("%Y%m%d"))
}

fn generation_day(name: &str) -> Option<chrono::NaiveDate> {
    let d = name.strip_prefix("renkei-")?.strip_suffix(".rkbackup")?;
    chrono::NaiveDate::parse_from_str(d, "%Y%m%d").ok()
}

/// The newest daily generation in `folder`: its path and day.
pub fn latest_generation(folder: &Path) -> Option<(PathBuf, chrono::NaiveDate)> {
    std::fs::read_dir(folder)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let day = generation_day(&e.file_name().to_string_lossy())?;
            Some((e.path(), day))
        })
        .max_by_key(|(_, d)| *d)
}

/// Once a day: writes today's generation into `folder` (if missing), copies it to `mirror`,
/// and removes generations older than `keep_days` (in `folder` only; the mirror is the
/// clinic's to manage).
pub fn daily(
    store: &Store,
    folder: &Path,
    mirror: Option<&Path>,
    keep_days: u32,
    now: DateTime<Utc>,
) -> Result<DailyOutcome> {
    std::fs::create_dir_all(folder)?;
    let today = now.with_timezone(&crate::clock::jst()).date_naive();
    let path = folder.join(generation_name(today));
    let mut out = DailyOutcome {
        written: None,
        mirrored: None,
        pruned: Vec::new(),
        mirror_error: None,
    };
    if !path.exists() {
        backup(store, &path, now)?;
        out.written = Some(path.clone());
    }
    if let Some(m) = mirror {
        let target = m.join(generation_name(today));
        if !target.exists() {
            let copy = || -> std::io::Result<()> {
                std::fs::create_dir_all(m)?;
                let tmp = target.with_extension("partial");
                std::fs::copy(&path, &tmp)?;
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, &target)
            };
            match copy() {
                Ok(()) => out.mirrored = Some(target),
                Err(e) => {
                    out.mirror_error =
                        Some(format!("could not copy the backup to {}: {e}", m.display()))
                }
            }
        }
    }
    let oldest = today - chrono::Duration::days(i64::from(keep_days.max(1)) - 1);
    for e in std::fs::read_dir(folder)?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if generation_day(&name).is_some_and(|d| d < oldest) {
            std::fs::remove_file(e.path())?;
            out.pruned.push(e.path());
        }
    }
    out.pruned.sort();
    Ok(out)
}
