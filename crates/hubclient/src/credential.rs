//! The device credential of a connected PC: hub URL, device token and the pinned certificate
//! fingerprint, kept together so a pin cannot drift from its token.
//!
//! Home: the OS keyring (`jp.renkei.desk` / `hub-device`), like the store key. Where the keyring
//! is off or absent (`RENKEI_KEYRING=off`: servers, tests) a file `hub-device.json` with mode
//! 0600 in the data dir, as the store key falls back to its key file.

use crate::{HubError, Result};
use renkei_core::store::keyring;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The keyring account of the credential.
pub const ACCOUNT: &str = "hub-device";
/// The fallback file's name in the data dir.
pub const FILE: &str = "hub-device.json";

/// What an enrolled PC keeps.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCredential {
    pub url: String,
    pub token: String,
    /// The SHA-256 fingerprint confirmed on first connect (`None` for loopback http).
    pub fingerprint: Option<String>,
    pub device_id: i64,
    pub device_name: String,
}

impl std::fmt::Debug for DeviceCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCredential")
            .field("url", &self.url)
            .field("fingerprint", &self.fingerprint)
            .field("device_id", &self.device_id)
            .field("device_name", &self.device_name)
            .finish_non_exhaustive()
    }
}

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE)
}

/// Where [`save`] put the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    Keyring,
    File,
}

/// Keeps the credential: the keyring if it answers, else the 0600 file.
pub fn save(data_dir: &Path, c: &DeviceCredential) -> Result<Home> {
    let text = serde_json::to_string(c).map_err(|e| HubError::Credential(e.to_string()))?;
    if keyring::put_secret(ACCOUNT, &text).is_ok() {
        let _ = std::fs::remove_file(file(data_dir));
        return Ok(Home::Keyring);
    }
    write_private(&file(data_dir), &text).map_err(|e| {
        HubError::Credential(format!(
            "cannot keep this PC's hub credential: no OS keyring, and {} cannot be written ({e}); check the data folder's permissions",
            file(data_dir).display()
        ))
    })?;
    Ok(Home::File)
}

/// The stored credential, if this PC is connected.
pub fn load(data_dir: &Path) -> Result<Option<DeviceCredential>> {
    let parse = |t: &str| {
        serde_json::from_str::<DeviceCredential>(t).map_err(|_| {
            HubError::Credential(
                "this PC's hub credential is damaged: disconnect and connect it again with a new code (renkei device add)".into(),
            )
        })
    };
    if let Ok(Some(t)) = keyring::get_secret(ACCOUNT) {
        return parse(&t).map(Some);
    }
    match std::fs::read_to_string(file(data_dir)) {
        Ok(t) => parse(&t).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(HubError::Credential(format!(
            "cannot read {} ({e})",
            file(data_dir).display()
        ))),
    }
}

/// Forgets the credential (disconnect), from both homes.
pub fn delete(data_dir: &Path) -> Result<()> {
    let _ = keyring::delete_secret(ACCOUNT);
    match std::fs::remove_file(file(data_dir)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(HubError::Credential(format!(
            "cannot remove {} ({e})",
            file(data_dir).display()
        ))),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
