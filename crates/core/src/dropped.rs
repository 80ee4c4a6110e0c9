//! Files dropped on the app from the desktop (native drag-and-drop gives paths): checked before
//! they are read, so a folder or a 2 GB video is refused with a clear reason instead of read.

use crate::error::{Error, Result};
use crate::store::blobs::MAX_ATTACHMENT_BYTES;
use std::path::Path;

/// The file's display name and bytes, or why it cannot be imported (`unsupported_media_type`
/// for a folder, `too_large` above the attachment limit, `io` when it cannot be read). The
/// content itself is checked by the import (PDF/PNG/JPEG/TIFF only).
pub fn read_dropped_file(path: &Path) -> Result<(String, Vec<u8>)> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(Error::UnsupportedMedia(
            "a folder cannot be imported; drop the files themselves".into(),
        ));
    }
    if meta.len() > MAX_ATTACHMENT_BYTES as u64 {
        return Err(Error::TooLarge(format!(
            "the file is larger than {} MiB",
            MAX_ATTACHMENT_BYTES / (1024 * 1024)
        )));
    }
    Ok((file_name(path), std::fs::read(path)?))
}

/// The name shown for a dropped path: its last component, else the whole path.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn folders_and_oversized_files_are_refused_before_reading() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            read_dropped_file(d.path()).unwrap_err().code(),
            ErrorCode::UnsupportedMediaType
        );
        let big = d.path().join("big.pdf");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(MAX_ATTACHMENT_BYTES as u64 + 1).unwrap();
        assert_eq!(
            read_dropped_file(&big).unwrap_err().code(),
            ErrorCode::TooLarge
        );
        let ok = d.path().join("紹介状.pdf");
        std::fs::write(&ok, b"%PDF-1.4\n%%EOF\n").unwrap();
        let (name, bytes) = read_dropped_file(&ok).unwrap();
        assert_eq!(name, "紹介状.pdf");
        assert_eq!(bytes.len(), 15);
        assert_eq!(
            read_dropped_file(&d.path().join("gone.pdf"))
                .unwrap_err()
                .code(),
            ErrorCode::Io
        );
    }
}
