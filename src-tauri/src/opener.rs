//! Opening a document in the system viewer: the decrypted copy goes to a per-user temp folder
//! (0600 on Unix) and the OS opens it (`xdg-open`, `open`, or `explorer`).

use crate::error::{CmdResult, CommandError};
use std::path::{Path, PathBuf};

/// Writes `bytes` as `name` into `<temp>/renkei-desk-open/`, readable by this user only.
pub fn save_private(name: &str, bytes: &[u8]) -> CmdResult<PathBuf> {
    let dir = std::env::temp_dir().join("renkei-desk-open");
    std::fs::create_dir_all(&dir)?;
    let safe = renkei_core::desk::safe_file_name(name);
    let path = dir.join(safe);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&path)?;
    std::io::Write::write_all(&mut f, bytes)?;
    Ok(path)
}

/// Opens a file with the default application (does not wait for it).
pub fn open_with_system(path: &Path) -> CmdResult<()> {
    #[cfg(target_os = "windows")]
    let mut cmd = {
        let mut c = std::process::Command::new("explorer");
        c.arg(path);
        c
    };
    #[cfg(target_os = "macos")]
    let mut cmd = {
        let mut c = std::process::Command::new("open");
        c.arg(path);
        c
    };
    #[cfg(not(any(target_os = "windows", target_os = "macos")))]
    let mut cmd = {
        let mut c = std::process::Command::new("xdg-open");
        c.arg(path);
        c
    };
    cmd.spawn().map(|_| ()).map_err(|e| {
        CommandError::new(
            "io",
            format!("no viewer could be started for {} ({e})", path.display()),
        )
    })
}
