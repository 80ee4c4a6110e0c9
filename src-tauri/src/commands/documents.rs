//! Referral documents: importing dropped files (two paths, one core call), previewing images
//! and opening a PDF in the system viewer.
//!
//! * `import_document_bytes` — the webview's own HTML5 `drop` handler read the file
//!   (synthetic drops in tests, and drops Tauri does not intercept) and sends the bytes.
//! * `import_document_paths` — Tauri's native drag-drop event gave paths (real drops from the
//!   desktop); Rust reads the files.
//!
//! Both end in [`Desk::import_dropped`]: a document with channel `manual`, or a mail (`.eml`,
//! `message/rfc822`) through the mail import (its own consultation, channel `email`/`mcs`).

use crate::error::{CmdResult, CommandError};
use crate::state::DeskState;
use base64::Engine as _;
use renkei_core::desk::{Desk, DropOutcome};
use renkei_core::mail::MailOptions;
use serde::Serialize;
use std::path::PathBuf;
use tauri::State;

/// Dropped documents are taken in by this PC's own store only: on a PC connected to a hub they
/// would not reach the other PCs, so the drop is refused with what to do (decision, issue 19:
/// the hub's FAX folder and mailbox take documents in for everyone).
fn not_connected(state: &DeskState) -> CmdResult<()> {
    if state.hub_client().is_some() {
        return Err(CommandError::new(
            "hub_connected",
            "このPCはハブに接続中のため、書類のドロップ取り込みはできません。ハブのFAXフォルダに保存するか、メールでハブの受信箱に送ってください。",
        ));
    }
    Ok(())
}

/// Result of one file of a drop: the outcome or why it was refused.
#[derive(Debug, Clone, Serialize)]
pub struct FileImport {
    pub name: String,
    pub outcome: Option<DropOutcome>,
    pub error: Option<CommandError>,
}

fn import(
    d: &mut Desk,
    name: &str,
    bytes: &[u8],
    declared: Option<&str>,
    to: Option<i64>,
    by: &str,
) -> FileImport {
    let r = d.import_dropped(name, bytes, declared, to, &MailOptions::from_env(), by);
    FileImport {
        name: name.to_string(),
        outcome: r.as_ref().ok().cloned(),
        error: r.err().map(CommandError::from),
    }
}

/// Imports one file whose bytes the webview read (base64); `media_type` is the type the drop
/// declared (`File.type`: `message/rfc822` for a mail dragged out of a mail program).
#[tauri::command]
pub fn import_document_bytes(
    state: State<'_, DeskState>,
    name: String,
    bytes_b64: String,
    to: Option<i64>,
    media_type: Option<String>,
) -> CmdResult<FileImport> {
    not_connected(&state)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(bytes_b64.as_bytes())
        .map_err(|e| CommandError::new("invalid_input", format!("bytes: not base64 ({e})")))?;
    state.act(|d, by| Ok(import(d, &name, &bytes, media_type.as_deref(), to, by)))
}

/// Imports files by path (native drop); one result per file.
#[tauri::command]
pub fn import_document_paths(
    state: State<'_, DeskState>,
    paths: Vec<PathBuf>,
    to: Option<i64>,
) -> CmdResult<Vec<FileImport>> {
    not_connected(&state)?;
    state.act(|d, by| Ok(paths.iter().map(|p| import_path(d, p, to, by)).collect()))
}

fn import_path(d: &mut Desk, path: &std::path::Path, to: Option<i64>, by: &str) -> FileImport {
    match renkei_core::dropped::read_dropped_file(path) {
        Ok((name, bytes)) => import(d, &name, &bytes, None, to, by),
        Err(e) => FileImport {
            name: renkei_core::dropped::file_name(path),
            outcome: None,
            error: Some(e.into()),
        },
    }
}

/// An image or PDF attachment as a `data:` URL for an inline preview (audited as a read).
#[tauri::command]
pub fn attachment_data_url(state: State<'_, DeskState>, attachment_id: i64) -> CmdResult<String> {
    let (media_type, bytes) = if state.hub_client().is_some() {
        state.remote(|h| h.document(attachment_id))?
    } else {
        let (a, bytes) = state.act_quietly(|d, by| Ok(d.attachment_bytes(attachment_id, by)?))?;
        (a.media_type, bytes)
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(format!("data:{media_type};base64,{b64}"))
}

/// Saves an attachment to a private temp folder and opens it with the system viewer.
#[tauri::command]
pub fn attachment_open(state: State<'_, DeskState>, attachment_id: i64) -> CmdResult<String> {
    let (name, bytes) = if state.hub_client().is_some() {
        let (media, bytes) = state.remote(|h| h.document(attachment_id))?;
        let ext = match media.as_str() {
            "application/pdf" => "pdf",
            "image/png" => "png",
            "image/jpeg" => "jpg",
            "image/tiff" => "tif",
            _ => "bin",
        };
        (format!("document-{attachment_id}.{ext}"), bytes)
    } else {
        let (a, bytes) = state.act_quietly(|d, by| Ok(d.attachment_bytes(attachment_id, by)?))?;
        (a.name, bytes)
    };
    let path = crate::opener::save_private(&name, &bytes)?;
    crate::opener::open_with_system(&path)?;
    Ok(path.display().to_string())
}
