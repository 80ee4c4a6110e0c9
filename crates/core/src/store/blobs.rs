//! Content-addressed, encrypted attachment files.
//!
//! A blob is named by the sha256 of its plaintext (so the same bytes are stored once) and kept
//! at `attachments/ab/abcdef…` as `RKB1 | 24-byte nonce | XChaCha20-Poly1305 ciphertext`.
//! Written to a temp file, fsynced, renamed, directory fsynced — then the row is recorded.
//! Also owns media-type sniffing by magic bytes and the size limit.

use crate::error::{Error, Result};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Largest attachment accepted.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
const MAGIC: &[u8; 4] = b"RKB1";
/// The first bytes of an encrypted blob file.
pub const BLOB_MAGIC: &[u8] = MAGIC;

/// Media types we accept, sniffed from magic bytes.
pub fn sniff_media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else {
        None
    }
}

/// Checks a document before it is stored: not empty, not too large, a known type whose content
/// matches `declared` (if given), and a PDF that is not truncated.
pub fn check_document(name: &str, bytes: &[u8], declared: Option<&str>) -> Result<&'static str> {
    if bytes.is_empty() {
        return Err(Error::invalid(
            "file",
            format!("{name}: the file is empty; scan or export it again"),
        ));
    }
    if bytes.len() > MAX_ATTACHMENT_BYTES {
        return Err(Error::TooLarge(format!(
            "{name}: {:.1} MiB is over the 20 MiB limit; split the document or scan at a lower resolution",
            bytes.len() as f64 / 1_048_576.0
        )));
    }
    let sniffed = sniff_media_type(bytes).ok_or_else(|| {
        Error::UnsupportedMedia(format!(
            "{name}: not a PDF, PNG, JPEG or TIFF file (its content does not match); nothing was stored"
        ))
    })?;
    if let Some(d) = declared {
        let d = d
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let d = if d == "image/jpg" {
            "image/jpeg".to_string()
        } else {
            d
        };
        if d != sniffed {
            return Err(Error::UnsupportedMedia(format!(
                "{name}: declared as {d} but the content is {sniffed}; nothing was stored"
            )));
        }
    }
    if sniffed == "application/pdf" && !pdf_has_end(bytes) {
        return Err(Error::invalid(
            "file",
            format!("{name}: the PDF is truncated (no %%EOF marker); send or scan it again"),
        ));
    }
    Ok(sniffed)
}

fn pdf_has_end(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    tail.windows(5).any(|w| w == b"%%EOF")
}

/// Hex sha256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The blob folder of a store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    key: Option<[u8; 32]>,
}

impl BlobStore {
    pub fn new(root: PathBuf, key: Option<[u8; 32]>) -> Self {
        BlobStore { root, key }
    }

    pub fn path_of(&self, sha: &str) -> PathBuf {
        let prefix = sha.get(..2).unwrap_or("xx");
        self.root.join(prefix).join(sha)
    }

    /// Writes the bytes (if not already there) and returns their sha256.
    pub fn put(&self, bytes: &[u8]) -> Result<String> {
        let sha = sha256_hex(bytes);
        let path = self.path_of(&sha);
        if path.exists() && self.get(&sha).is_ok() {
            return Ok(sha);
        }
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        std::fs::create_dir_all(&dir)?;
        let sealed = self.seal(bytes)?;
        let tmp = dir.join(format!(".{sha}.{}.tmp", std::process::id()));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&sealed)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        sync_dir(&dir);
        Ok(sha)
    }

    /// Reads and decrypts a blob, checking its hash.
    pub fn get(&self, sha: &str) -> Result<Vec<u8>> {
        let raw = std::fs::read(self.path_of(sha))?;
        let plain = self.open(&raw)?;
        if sha256_hex(&plain) != sha {
            return Err(Error::Integrity(format!(
                "attachment {sha} does not match its hash"
            )));
        }
        Ok(plain)
    }

    /// Replaces a plain blob file by its encrypted form (atomic rename).
    pub fn reseal_in_place(&self, path: &Path, plain: &[u8]) -> Result<()> {
        let sealed = self.seal(plain)?;
        let tmp = path.with_extension("reseal.tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&sealed)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    pub(crate) fn seal(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let Some(k) = self.key else {
            return Ok(bytes.to_vec());
        };
        let cipher = XChaCha20Poly1305::new((&k).into());
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), bytes)
            .map_err(|_| Error::Integrity("could not encrypt the attachment".into()))?;
        let mut out = Vec::with_capacity(4 + 24 + ct.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    pub(crate) fn open(&self, raw: &[u8]) -> Result<Vec<u8>> {
        match self.key {
            None => Ok(raw.to_vec()),
            Some(k) => {
                if raw.len() < 28 || &raw[..4] != MAGIC {
                    return Err(Error::Integrity(
                        "attachment file is not an encrypted Renkei blob".into(),
                    ));
                }
                let cipher = XChaCha20Poly1305::new((&k).into());
                cipher
                    .decrypt(XNonce::from_slice(&raw[4..28]), &raw[28..])
                    .map_err(|_| {
                        Error::Integrity(
                            "attachment cannot be decrypted (wrong key or damaged file)".into(),
                        )
                    })
            }
        }
    }
}

/// Makes a rename in `dir` durable (Unix; a no-op elsewhere).
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_and_refuses() {
        assert_eq!(
            check_document("a.pdf", b"%PDF-1.4\n...\n%%EOF\n", Some("application/pdf")).unwrap(),
            "application/pdf"
        );
        assert!(matches!(
            check_document("a.pdf", b"hello", None),
            Err(Error::UnsupportedMedia(_))
        ));
        assert!(matches!(
            check_document("a.pdf", b"", None),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            check_document("a.pdf", b"%PDF-1.4\n1 0 obj", None),
            Err(Error::Invalid { .. })
        ));
        assert!(matches!(
            check_document("a.png", b"%PDF-1.4\n%%EOF", Some("image/png")),
            Err(Error::UnsupportedMedia(_))
        ));
    }

    #[test]
    fn encrypted_round_trip_without_plaintext_on_disk() {
        let d = tempfile::tempdir().unwrap();
        let bs = BlobStore::new(d.path().to_path_buf(), Some([7u8; 32]));
        let data = b"%PDF-1.4 MARKER-XYZ %%EOF";
        let sha = bs.put(data).unwrap();
        assert_eq!(bs.get(&sha).unwrap(), data);
        let raw = std::fs::read(bs.path_of(&sha)).unwrap();
        assert!(!raw.windows(10).any(|w| w == b"MARKER-XYZ"));
        // same bytes once
        assert_eq!(bs.put(data).unwrap(), sha);
        let wrong = BlobStore::new(d.path().to_path_buf(), Some([8u8; 32]));
        assert!(wrong.get(&sha).is_err());
    }
}
