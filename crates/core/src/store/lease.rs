//! Worker leases: one process at a time runs a background worker that must not run twice (the
//! Chatwork poller), whichever process that is — several `renkei serve` hubs on one PostgreSQL
//! database, or the app and `renkei serve` on one SQLite store. The others stand by and take
//! over when the holder dies.
//!
//! * PostgreSQL: a session-level `pg_try_advisory_lock` on a connection of the lease's own. The
//!   server releases it when that connection ends — also when the process is killed or its
//!   network drops — so a dead holder never blocks the others for longer than PostgreSQL takes
//!   to notice the connection is gone.
//! * SQLite: an exclusive lock on `<data dir>/<name>.lease` (released by the OS when the
//!   process ends, however it ends).

use super::pg::PgStore;
use super::DataDir;
use crate::args;
use crate::error::{Error, Result};

/// Held while this process runs the worker; dropping it lets another process take over.
pub struct WorkerLease {
    name: &'static str,
    hold: Hold,
}

enum Hold {
    File(#[allow(dead_code)] std::fs::File), // held for its lock
    Pg(Box<PgStore>),
}

impl std::fmt::Debug for WorkerLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerLease")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The advisory lock key of a worker: "RENKEI" + a number per worker name, next to the store's
/// own locks (`pg::WRITER_LOCK`, `pg::MIGRATION_LOCK`).
fn pg_key(name: &str) -> Result<i64> {
    match name {
        "chatwork-poll" => Ok(0x5245_4e4b_4549_0101),
        other => Err(Error::Integrity(format!(
            "no lease is defined for the worker {other:?}"
        ))),
    }
}

impl WorkerLease {
    /// Takes the lease for the worker `name` if no other process holds it: `None` = another
    /// process runs the worker now.
    pub fn try_acquire(dir: &DataDir, name: &'static str) -> Result<Option<WorkerLease>> {
        let hold = match &dir.database_url {
            Some(url) => {
                let key = pg_key(name)?;
                let store = PgStore::connect(url)?;
                let won: i64 = store.db().query_one(
                    "SELECT CASE WHEN pg_try_advisory_lock(?1) THEN 1 ELSE 0 END",
                    args![key],
                    |r| r.get(0),
                )?;
                if won == 0 {
                    return Ok(None);
                }
                Hold::Pg(Box::new(store))
            }
            None => {
                pg_key(name)?; // the same names on both engines
                std::fs::create_dir_all(&dir.root)?;
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(dir.root.join(format!("{name}.lease")))?;
                match f.try_lock() {
                    Ok(()) => Hold::File(f),
                    Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
                }
            }
        };
        Ok(Some(WorkerLease { name, hold }))
    }

    /// Whether the lease is still ours: on PostgreSQL the lease's connection must still be up
    /// (a connection that dropped took the lock with it, and another hub may hold it now).
    /// Call before each round of work; on `false` drop the lease and acquire again.
    pub fn still_held(&self) -> bool {
        match &self.hold {
            Hold::File(_) => true,
            Hold::Pg(store) => store
                .db()
                .query_one("SELECT CAST(1 AS BIGINT)", args![], |r| r.get::<i64>(0))
                .is_ok(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}
