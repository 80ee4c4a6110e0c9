//! Keeping the store trustworthy: the audit log, the notification log ("why did I get this"),
//! backups (manual, daily generations, status) and the integrity check.

use super::{actor, Desk};
use crate::error::{Error, Result};
use crate::model::AuditEvent;
use crate::store::{self, attachments, audit, stats};
use chrono::{DateTime, Utc};

/// Where the daily backups stand, for the settings screen and `renkei backup --status`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BackupStatus {
    pub enabled: bool,
    pub keep_days: u32,
    /// File name of the newest daily generation in `<data dir>/backups`.
    pub latest: Option<String>,
    pub latest_day: Option<chrono::NaiveDate>,
    /// Days since the newest generation (JST calendar days); `None` without one.
    pub age_days: Option<i64>,
    pub mirror_dir: Option<String>,
    /// Whether the newest generation is also in the mirror folder (`None` without a mirror).
    pub mirrored: Option<bool>,
}

/// Result of `renkei check`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CheckReport {
    pub integrity: String,
    pub consultations: u64,
    pub attachments_checked: u64,
    pub audit_rows: u64,
    pub problems: Vec<String>,
}

impl Desk {
    pub fn audit(&self, f: &audit::AuditFilter) -> Result<Vec<AuditEvent>> {
        audit::list(self.store.db(), f)
    }

    /// Appends an audit event for something that happened outside the store (login, export).
    pub fn record(
        &mut self,
        by: &str,
        action: &str,
        target_: Option<&str>,
        detail: &str,
    ) -> Result<()> {
        self.audited(by.to_string(), |c| c.audit(action, target_, detail))
    }

    /// Logs a shown notification for the "why did I get this" list.
    pub fn log_notification(
        &mut self,
        ids: &[String],
        urgency: &str,
        title: &str,
        body: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        self.store.write(|tx| {
            store::notifications::insert(tx, at, ids, urgency, title, body, reason).map(|_| ())
        })
    }

    pub fn notifications(
        &self,
        limit: usize,
    ) -> Result<Vec<store::notifications::LoggedNotification>> {
        store::notifications::recent(self.store.db(), limit)
    }

    /// The SQLite store for the daily generations; a PostgreSQL hub's nightly backup is
    /// `renkei backup --out FILE` from its scheduler (docs/operations.md).
    fn sqlite_for_backup(&self) -> Result<&store::Store> {
        self.store.sqlite().ok_or_else(|| {
            Error::Conflict(
                "this store is a PostgreSQL hub database: the daily generations are for a \
                 single PC. Run `renkei backup --out FILE` from the hub's scheduler (a systemd \
                 timer or cron), as docs/operations.md describes"
                    .into(),
            )
        })
    }

    /// Writes a consistent, encrypted backup of the store to `out` (audited).
    pub fn backup(&mut self, out: &std::path::Path, by: &str) -> Result<crate::backup::Manifest> {
        let by = actor(by)?;
        let now = self.now();
        let m = match self.store.sqlite() {
            Some(sqlite) => crate::backup::backup(sqlite, out, now)?,
            None => {
                let url = self.store.dir().database_url.clone().unwrap_or_default();
                let counts = crate::backup_pg::Counts {
                    schema_version: crate::store::pg_migrations::latest_version(),
                    consultations: store::stats::consultation_count(self.store.db())?,
                    attachments: store::stats::blob_count(self.store.db())?,
                };
                crate::backup_pg::backup(&url, self.store.key(), counts, out, now)?
            }
        };
        self.record(
            &by,
            "backup.create",
            None,
            &format!(
                "{} consultations, {} attachments",
                m.consultations, m.attachments
            ),
        )?;
        Ok(m)
    }

    /// A backup now ("今すぐバックアップ"), next to the daily generations in
    /// `<data dir>/backups` (named `renkei-manual-…`, so the daily pruning leaves it).
    pub fn backup_now(
        &mut self,
        by: &str,
    ) -> Result<(std::path::PathBuf, crate::backup::Manifest)> {
        let folder = self.store.dir().backup_dir();
        std::fs::create_dir_all(&folder)?;
        let stamp = self
            .now()
            .with_timezone(&crate::clock::jst())
            .format("%Y%m%d-%H%M%S");
        let path = folder.join(format!("renkei-manual-{stamp}.rkbackup"));
        let m = self.backup(&path, by)?;
        Ok((path, m))
    }

    /// The automatic daily backup (generations in `<data dir>/backups`, mirror from settings).
    pub fn daily_backup(&mut self) -> Result<crate::backup::DailyOutcome> {
        let now = self.now();
        let b = self.settings.backup.clone();
        let folder = self.store.dir().backup_dir();
        let mirror = b
            .mirror_dir
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(std::path::PathBuf::from);
        let out = crate::backup::daily(
            self.sqlite_for_backup()?,
            &folder,
            mirror.as_deref(),
            b.keep_days,
            now,
        )?;
        if out.written.is_some() {
            self.record(
                "system",
                "backup.daily",
                None,
                &format!("pruned {}", out.pruned.len()),
            )?;
        }
        Ok(out)
    }

    /// Where the daily backups stand (newest generation, its age, the mirror copy).
    pub fn backup_status(&self) -> BackupStatus {
        let b = &self.settings.backup;
        let folder = self.store.dir().backup_dir();
        let latest = crate::backup::latest_generation(&folder);
        let today = crate::calendar::jst_date(self.now());
        let mirror_dir = b.mirror_dir.clone().filter(|m| !m.trim().is_empty());
        let mirrored = match (&mirror_dir, &latest) {
            (Some(m), Some((p, _))) => Some(
                p.file_name()
                    .is_some_and(|n| std::path::Path::new(m).join(n).is_file()),
            ),
            (Some(_), None) => Some(false),
            (None, _) => None,
        };
        BackupStatus {
            enabled: b.enabled,
            keep_days: b.keep_days,
            latest: latest
                .as_ref()
                .and_then(|(p, _)| p.file_name())
                .map(|n| n.to_string_lossy().into_owned()),
            latest_day: latest.as_ref().map(|(_, d)| *d),
            age_days: latest.as_ref().map(|(_, d)| (today - *d).num_days()),
            mirror_dir,
            mirrored,
        }
    }

    /// Checks the store: SQLite integrity, every attachment against its hash, the audit chain.
    pub fn check(&mut self) -> Result<CheckReport> {
        self.check_with(true)
    }

    /// The self-check the desktop app runs at every start: `PRAGMA quick_check`, every
    /// attachment file present, the audit chain. Decrypting and hashing every attachment is
    /// left to [`Desk::check`] (`renkei check`).
    pub fn quick_check(&mut self) -> Result<CheckReport> {
        self.check_with(false)
    }

    fn check_with(&mut self, full: bool) -> Result<CheckReport> {
        let conn = self.store.db();
        let integrity = stats::integrity(conn, full)?;
        let mut problems = Vec::new();
        if integrity != "ok" {
            problems.push(format!("database: {integrity}"));
        }
        let consultations = stats::consultation_count(conn)?;
        let shas = attachments::all_blobs(conn)?;
        let bs = self.blobs();
        for sha in &shas {
            if full {
                if let Err(e) = bs.get(sha) {
                    problems.push(format!("attachment {sha}: {e}"));
                }
            } else if !bs.exists(sha)? {
                problems.push(format!("attachment {sha}: the file is missing"));
            }
        }
        let audit_rows = match audit::verify(conn) {
            Ok(n) => n,
            Err(e) => {
                problems.push(e.to_string());
                0
            }
        };
        Ok(CheckReport {
            integrity,
            consultations,
            attachments_checked: shas.len() as u64,
            audit_rows,
            problems,
        })
    }
}
