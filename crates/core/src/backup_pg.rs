//! `renkei backup` and `renkei restore` on a PostgreSQL hub: the database through `pg_dump`
//! (custom format, the whole database), sealed with the store key on the way to disk, in the
//! same file layout as a SQLite backup ([`crate::backup`]: magic, manifest, entries) with
//! `format: 2` and one entry, `postgres.dump.sealed`.
//!
//! Sealing: XChaCha20-Poly1305 in the STREAM construction (`aead::stream`, 64 KiB segments, a
//! random 19-byte nonce prefix per file) with the store's data key — each segment
//! authenticated, the last one marked, so a cut-off or altered file is refused. The dump never
//! touches the disk in clear text: `pg_dump`'s output is sealed as it streams, and a restore
//! first reads the whole file once to check every segment before `pg_restore` sees a byte.
//!
//! Restore goes only into an empty database (no tables outside the system schemas; the
//! `pg_trgm` extension may be there), then [`crate::desk::Desk::check`] runs as after a SQLite
//! restore.

use crate::backup::{Entry, Manifest};
use crate::error::{Error, Result};
use crate::store::StoreKey;
use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::XChaCha20Poly1305;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The manifest format of a PostgreSQL backup.
pub const FORMAT: u32 = 2;
const ENTRY: &str = "postgres.dump.sealed";
const SEGMENT: usize = 64 * 1024;
const TAG: usize = 16;
const NONCE_PREFIX: usize = 19;

/// A PostgreSQL program (`pg_dump`, `pg_restore`; the tests' `initdb`): `RENKEI_PG_BIN/NAME`,
/// else the newest `/usr/lib/postgresql/<major>/bin/NAME` (Debian keeps them off the PATH),
/// else `NAME` on the PATH.
pub fn program(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("RENKEI_PG_BIN").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join(name);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    found.retain(|p| p.exists());
    found.sort_by_key(|p| {
        p.parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| PathBuf::from(name))
}

fn spawn_failed(name: &str, e: std::io::Error) -> Error {
    Error::Conflict(format!(
        "cannot run {name} ({e}): install PostgreSQL's client programs (Debian: postgresql-client, \
         the same major version as the server or newer) or set RENKEI_PG_BIN to their folder"
    ))
}

fn cipher(key: &StoreKey) -> Result<XChaCha20Poly1305> {
    let k = key.blob_key().ok_or_else(|| {
        Error::Integrity(
            "this hub has no store key to seal the backup with; set RENKEI_DB_KEY or the key file"
                .into(),
        )
    })?;
    Ok(XChaCha20Poly1305::new(&k.into()))
}

/// Reads a child's stderr to the end on a thread of its own (so a chatty `pg_dump` cannot
/// block on a full pipe); join it for the text.
fn drain(stderr: Option<std::process::ChildStderr>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut s);
        }
        s
    })
}

/// Reads up to `buf.len()` bytes (less only at the end of the input).
fn fill(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// What the backup holds besides the dump (shown by `renkei backup`).
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub schema_version: i64,
    pub consultations: u64,
    pub attachments: u64,
}

/// Dumps the database at `url` with `pg_dump` and writes the sealed backup to `out` (a temp
/// file, synced, renamed). Returns the manifest.
pub fn backup(
    url: &str,
    key: &StoreKey,
    counts: Counts,
    out: &Path,
    now: DateTime<Utc>,
) -> Result<Manifest> {
    let aead = cipher(key)?;
    let mut prefix = [0u8; NONCE_PREFIX];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut prefix);
    let mut child = Command::new(program("pg_dump"))
        .args([
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--dbname",
        ])
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_failed("pg_dump", e))?;
    let mut dump = child
        .stdout
        .take()
        .ok_or_else(|| Error::Integrity("no pg_dump output".into()))?;
    let stderr = child.stderr.take();
    let errors = drain(stderr);
    let body = out.with_extension("sealing");
    let sealed = (|| -> Result<(u64, String)> {
        let mut w = BufWriter::new(std::fs::File::create(&body)?);
        let mut h = Sha256::new();
        let mut put = |w: &mut BufWriter<std::fs::File>, bytes: &[u8]| -> Result<()> {
            h.update(bytes);
            w.write_all(bytes)?;
            Ok(())
        };
        put(&mut w, &prefix)?;
        let mut enc = EncryptorBE32::from_aead(aead, prefix.as_ref().into());
        let mut buf = vec![0u8; SEGMENT];
        let mut n = fill(&mut dump, &mut buf)?;
        loop {
            let mut next = vec![0u8; SEGMENT];
            let m = if n == SEGMENT {
                fill(&mut dump, &mut next)?
            } else {
                0
            };
            if m == 0 {
                let last = enc
                    .encrypt_last(&buf[..n])
                    .map_err(|_| Error::Integrity("sealing the backup failed".into()))?;
                put(&mut w, &last)?;
                break;
            }
            let seg = enc
                .encrypt_next(&buf[..n])
                .map_err(|_| Error::Integrity("sealing the backup failed".into()))?;
            put(&mut w, &seg)?;
            buf = next;
            n = m;
        }
        let f = w.into_inner().map_err(|e| Error::Io(e.into_error()))?;
        f.sync_all()?;
        Ok((f.metadata()?.len(), hex::encode(h.finalize())))
    })();
    let status = child.wait()?;
    let stderr = errors.join().unwrap_or_default();
    let (size, sha256) = match (sealed, status.success()) {
        (Ok(s), true) => s,
        (r, _) => {
            let _ = std::fs::remove_file(&body);
            if !status.success() {
                return Err(Error::Conflict(format!(
                    "pg_dump failed ({status}): {}; nothing was written",
                    stderr.trim()
                )));
            }
            return Err(r
                .err()
                .unwrap_or_else(|| Error::Integrity("backup failed".into())));
        }
    };
    let manifest = Manifest {
        format: FORMAT,
        created_at: now,
        schema_version: counts.schema_version,
        key_fingerprint: key.fingerprint(),
        consultations: counts.consultations,
        attachments: counts.attachments,
        entries: vec![Entry {
            path: ENTRY.into(),
            size,
            sha256,
        }],
    };
    let written = crate::backup::write_file(out, &manifest, std::slice::from_ref(&body));
    let _ = std::fs::remove_file(&body);
    written?;
    Ok(manifest)
}

/// Opens the sealed dump of `file` after its header: checks every segment (a first full
/// pass), then hands the plaintext to `sink` segment by segment (the second pass).
fn open_sealed(
    file: &Path,
    manifest: &Manifest,
    key: &StoreKey,
    sink: &mut dyn FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let entry = match manifest.entries.as_slice() {
        [e] if e.path == ENTRY => e,
        _ => {
            return Err(Error::Integrity(format!(
                "{} is not a PostgreSQL hub backup",
                file.display()
            )))
        }
    };
    let damaged = || {
        Error::Integrity(format!(
            "{} is damaged or was not sealed with this store key: nothing was restored",
            file.display()
        ))
    };
    let mut r = BufReader::new(std::fs::File::open(file)?);
    crate::backup::read_header(&mut r, file)?;
    let mut r = r.take(entry.size);
    let mut prefix = [0u8; NONCE_PREFIX];
    r.read_exact(&mut prefix).map_err(|_| damaged())?;
    let mut dec = DecryptorBE32::from_aead(cipher(key)?, prefix.as_ref().into());
    let mut buf = vec![0u8; SEGMENT + TAG];
    let mut n = fill(&mut r, &mut buf)?;
    loop {
        let mut next = vec![0u8; SEGMENT + TAG];
        let m = if n == SEGMENT + TAG {
            fill(&mut r, &mut next)?
        } else {
            0
        };
        if m == 0 {
            let plain = dec.decrypt_last(&buf[..n]).map_err(|_| damaged())?;
            sink(&plain)?;
            return Ok(());
        }
        let plain = dec.decrypt_next(&buf[..n]).map_err(|_| damaged())?;
        sink(&plain)?;
        buf = next;
        n = m;
    }
}

/// Restores a PostgreSQL hub backup into the (empty) database at `url`.
pub fn restore(file: &Path, manifest: &Manifest, url: &str, key: &StoreKey) -> Result<()> {
    // Pass 1: every segment authentic, the file complete — before the database is touched.
    open_sealed(file, manifest, key, &mut |_| Ok(()))?;
    let store = crate::store::pg::PgStore::connect(url)?;
    let tables: i64 = store.db().query_one(
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
        crate::args![],
        |r| r.get(0),
    )?;
    drop(store);
    if tables > 0 {
        return Err(Error::Conflict(
            "the database in RENKEI_DATABASE_URL is not empty: restore only into a new, empty \
             database (createdb, then CREATE EXTENSION pg_trgm); nothing was changed"
                .into(),
        ));
    }
    // Pass 2: into pg_restore.
    let mut child = Command::new(program("pg_restore"))
        .args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--dbname",
        ])
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_failed("pg_restore", e))?;
    let mut stdin = child.stdin.take();
    let stderr = child.stderr.take();
    let errors = drain(stderr);
    let fed = open_sealed(file, manifest, key, &mut |bytes| {
        match stdin.as_mut() {
            Some(w) => w.write_all(bytes)?,
            None => return Err(Error::Integrity("pg_restore closed its input".into())),
        }
        Ok(())
    });
    drop(stdin);
    let status = child.wait()?;
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        return Err(Error::Conflict(format!(
            "pg_restore failed ({status}): {}. The database may be partly restored: drop it, \
             create it again empty and repeat",
            stderr.trim()
        )));
    }
    fed
}
