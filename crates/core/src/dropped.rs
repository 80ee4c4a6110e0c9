//! Files dropped on the app from the desktop (native drag-and-drop gives paths): checked before
//! they are read, so a folder or a 2 GB video is refused with a clear reason instead of read.
//! A mail (`.eml`, or `message/rfc822` as mail programs declare a dragged message) goes to the
//! mail import ([`crate::desk::Desk::import_dropped`]) with the mail limit (25 MiB).

use crate::error::{Error, Result};
use crate::mail::MAX_MAIL_BYTES;
use crate::store::blobs::MAX_ATTACHMENT_BYTES;
use std::path::Path;

/// Whether a dropped file is a mail: its name ends in `.eml`, or its declared type is
/// `message/rfc822` (Thunderbird and others give a dragged message that type).
pub fn is_mail(name: &str, declared: Option<&str>) -> bool {
    let ext = name
        .rsplit_once('.')
        .is_some_and(|(_, e)| e.eq_ignore_ascii_case("eml"));
    let declared = declared.is_some_and(|d| {
        d.split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("message/rfc822"))
    });
    ext || declared
}

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
    let name = file_name(path);
    let limit = if is_mail(&name, None) {
        MAX_MAIL_BYTES
    } else {
        MAX_ATTACHMENT_BYTES
    };
    if meta.len() > limit as u64 {
        return Err(Error::TooLarge(format!(
            "the file is larger than {} MiB",
            limit / (1024 * 1024)
        )));
    }
    Ok((name, std::fs::read(path)?))
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
        // A mail may be larger than a document (25 MiB).
        let mail = d.path().join("大きな紹介.EML");
        let f = std::fs::File::create(&mail).unwrap();
        f.set_len(MAX_ATTACHMENT_BYTES as u64 + 1).unwrap();
        assert!(read_dropped_file(&mail).is_ok());
    }

    #[test]
    fn mail_is_known_by_extension_or_declared_type() {
        assert!(is_mail("紹介.eml", None));
        assert!(is_mail("x.EML", None));
        assert!(is_mail("dragged message", Some("message/rfc822")));
        assert!(is_mail("m", Some("Message/RFC822; charset=utf-8")));
        assert!(!is_mail("紹介状.pdf", Some("application/pdf")));
        assert!(!is_mail("eml", None));
    }
}
