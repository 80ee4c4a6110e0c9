//! The FAX/scanner folder: a multifunction printer or FAX server drops PDFs/TIFFs into a shared
//! folder; each becomes a consultation (channel `fax_folder`).
//!
//! The folder is scanned every 2 s (network shares deliver no change events). A file is taken
//! once it is stable — same size and modification time in two scans in a row — imported, and
//! only after the commit moved to `取り込み済み/`. A refused file (wrong type, empty, truncated
//! PDF, too large) goes to `エラー/` with a `.txt` saying why. Hidden and temporary files are
//! left alone. The same bytes scanned twice make one consultation (the core dedupes).

use crate::config::FaxFolderConfig;
use crate::errors::ApiError;
use crate::state::IntakeState;
use crate::IntakeNotice;
use renkei_core::codes::Channel;
use renkei_core::desk::Document;
use renkei_core::error::{Error, ErrorCode};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tokio::sync::watch;

/// Sub-folder for imported files.
pub const DONE_DIR: &str = "取り込み済み";
/// Sub-folder for refused files.
pub const ERROR_DIR: &str = "エラー";

/// What happened to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaxEvent {
    Imported {
        file: String,
        id: i64,
        created: bool,
    },
    Refused {
        file: String,
        reason: String,
    },
}

/// Whether a file name is one to leave alone (hidden, temporary, system files).
pub fn is_ignored(name: &str) -> bool {
    let lower = name.to_lowercase();
    name.starts_with('.')
        || name.starts_with('~')
        || name.ends_with('~')
        || [
            ".tmp",
            ".temp",
            ".part",
            ".partial",
            ".crdownload",
            ".download",
            ".lock",
        ]
        .iter()
        .any(|s| lower.ends_with(s))
        || lower == "thumbs.db"
        || lower == "desktop.ini"
}

type Stamp = (u64, Option<SystemTime>);

/// Scanner state: what each file looked like at the previous scan.
#[derive(Debug)]
pub struct FaxWatcher {
    cfg: FaxFolderConfig,
    seen: HashMap<PathBuf, Stamp>,
}

/// A free path for `name` in `dir` (`name`, `name-1`, `name-2`…).
fn free_path(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    if !p.exists() {
        return p;
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
        _ => (name.to_string(), String::new()),
    };
    (1..)
        .map(|i| dir.join(format!("{stem}-{i}{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(p)
}

fn move_into(file: &Path, dir: &Path, name: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let to = free_path(dir, name);
    std::fs::rename(file, &to)?;
    Ok(to)
}

fn list(folder: &Path) -> std::io::Result<Vec<(PathBuf, String, Stamp)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if is_ignored(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        out.push((entry.path(), name, (meta.len(), meta.modified().ok())));
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Whether a core error means "this file is refused" (as opposed to "try again later").
fn is_refusal(e: &Error) -> bool {
    matches!(
        e.code(),
        ErrorCode::InvalidInput | ErrorCode::UnsupportedMediaType | ErrorCode::TooLarge
    )
}

impl FaxWatcher {
    pub fn new(cfg: FaxFolderConfig) -> Self {
        FaxWatcher {
            cfg,
            seen: HashMap::new(),
        }
    }

    pub fn folder(&self) -> &Path {
        &self.cfg.folder
    }

    /// One scan: takes the files that were stable since the previous scan.
    pub async fn scan_once(&mut self, state: &IntakeState) -> Result<Vec<FaxEvent>, String> {
        let folder = self.cfg.folder.clone();
        let files = tokio::task::spawn_blocking(move || list(&folder))
            .await
            .map_err(|e| format!("folder scan failed: {e}"))?
            .map_err(|e| {
                format!(
                    "cannot read the FAX folder {}: {e}",
                    self.cfg.folder.display()
                )
            })?;
        let mut stable = Vec::new();
        let mut next: HashMap<PathBuf, Stamp> = HashMap::new();
        for (path, name, stamp) in files {
            if self.seen.get(&path) == Some(&stamp) {
                stable.push((path, name));
            } else {
                next.insert(path, stamp);
            }
        }
        self.seen = next;
        let mut events = Vec::new();
        for (path, name) in stable {
            match self.take(state, path.clone(), name.clone()).await {
                Ok(ev) => events.push(ev),
                Err(e) => {
                    tracing::warn!(file = %name, error = %e, "fax: import failed; will retry");
                }
            }
        }
        Ok(events)
    }

    async fn take(
        &self,
        state: &IntakeState,
        path: PathBuf,
        name: String,
    ) -> Result<FaxEvent, String> {
        let folder = self.cfg.folder.clone();
        let res = state
            .with_desk(move |desk| {
                let bytes = std::fs::read(&path).map_err(|e| {
                    ApiError::internal(format!("cannot read {}: {e}", path.display()))
                })?;
                let out = desk.import_document(
                    Document {
                        name: &name,
                        bytes: &bytes,
                        declared: None,
                    },
                    None,
                    Channel::FaxFolder,
                    "fax",
                );
                match out {
                    Ok(o) => {
                        let row = desk.queue_row(o.id)?;
                        // Committed: now the file may leave the inbox.
                        move_into(&path, &folder.join(DONE_DIR), &name).map_err(|e| {
                            ApiError::internal(format!(
                                "imported as consultation {} but could not move {}: {e}",
                                o.id,
                                path.display()
                            ))
                        })?;
                        Ok((
                            FaxEvent::Imported {
                                file: name,
                                id: o.id,
                                created: o.created,
                            },
                            Some((row, o.created)),
                        ))
                    }
                    Err(e) if is_refusal(&e) => {
                        let reason = e.to_string();
                        let errdir = folder.join(ERROR_DIR);
                        let moved = move_into(&path, &errdir, &name).map_err(|e| {
                            ApiError::internal(format!("cannot move {}: {e}", path.display()))
                        })?;
                        let moved_name = moved
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| name.clone());
                        let note = format!(
                            "このファイルは取り込めませんでした / This file was not imported.\n\
                             ファイル / file: {name}\n理由 / reason: {reason}\n\
                             対処: 正しいファイル (PDF, PNG, JPEG, TIFF) をもう一度スキャンするか、送信元に再送を依頼してください。\n"
                        );
                        std::fs::write(errdir.join(format!("{moved_name}.txt")), note).map_err(
                            |e| ApiError::internal(format!("cannot write the error note: {e}")),
                        )?;
                        Ok((FaxEvent::Refused { file: name, reason }, None))
                    }
                    Err(e) => Err(ApiError::from(e)),
                }
            })
            .await
            .map_err(|e| e.message)?;
        let (event, notice) = res;
        match &event {
            FaxEvent::Imported { file, id, created } => {
                tracing::info!(file = %file, id, created, "fax: imported");
            }
            FaxEvent::Refused { file, reason } => {
                tracing::warn!(file = %file, reason = %reason, "fax: refused, moved to エラー");
            }
        }
        if let Some((row, true)) = notice {
            state.notify(IntakeNotice::from_row(&row, true, false));
        }
        Ok(event)
    }
}

/// Scans the folder every `interval` until `stop` turns true.
pub async fn run(state: IntakeState, cfg: FaxFolderConfig, mut stop: watch::Receiver<bool>) {
    let interval = cfg.interval;
    let mut w = FaxWatcher::new(cfg);
    tracing::info!(folder = %w.folder().display(), "fax folder watcher started");
    let mut last_error: Option<String> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        match w.scan_once(&state).await {
            Ok(_) => last_error = None,
            Err(e) => {
                if last_error.as_deref() != Some(e.as_str()) {
                    tracing::warn!(error = %e, "fax folder scan failed");
                }
                last_error = Some(e);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
    }
    tracing::info!("fax folder watcher stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_temp_files_are_ignored() {
        assert!(is_ignored(".DS_Store"));
        assert!(is_ignored("~$scan.pdf"));
        assert!(is_ignored("scan.pdf.part"));
        assert!(is_ignored("scan.tmp"));
        assert!(is_ignored("Thumbs.db"));
        assert!(!is_ignored("20261201_0903_紹介状.pdf"));
    }

    #[test]
    fn free_path_adds_a_suffix() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.pdf"), b"x").unwrap();
        assert_eq!(free_path(d.path(), "a.pdf"), d.path().join("a-1.pdf"));
        assert_eq!(free_path(d.path(), "b.pdf"), d.path().join("b.pdf"));
    }
}
