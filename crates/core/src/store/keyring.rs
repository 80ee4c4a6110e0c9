//! The OS credential store as the home of the store key: Windows Credential Manager (persisted
//! to the local machine, never roamed to a domain profile), the macOS login Keychain, or the
//! freedesktop Secret Service on Linux (GNOME Keyring, KWallet, KeePassXC).
//!
//! Every call runs on its own thread with a deadline: a Secret Service that waits for an unlock
//! prompt nobody answers (a kiosk PC, a session without a desktop) must not hang the app or the
//! CLI. A call that misses the deadline counts as "keyring unavailable" and the caller falls
//! back to the key file (new stores) or says exactly what to do (existing stores).
//!
//! Environment: `RENKEI_KEYRING=off` disables the keyring (servers, tests);
//! `RENKEI_KEYRING_TIMEOUT_MS` changes the deadline (default 5000).

use super::keys::StoreKey;
use std::sync::mpsc;
use std::time::Duration;

/// The credential's service name (what the user sees in Credential Manager / Keychain Access /
/// Seahorse).
pub const SERVICE: &str = "jp.renkei.desk";
/// The credential's account name: one store key per OS user, like the key file.
pub const ACCOUNT: &str = "store-key";
/// The label shown for the entry where the store supports one.
pub const LABEL: &str = "Renkei Desk (連携デスク) store key";

/// What the keyring said about the store key.
#[derive(Debug)]
pub enum Lookup {
    Found(StoreKey),
    /// The keyring answered: there is no store key in it.
    Missing,
    /// The keyring is off, absent, locked or did not answer in time; the reason is for messages.
    Unavailable(String),
}

/// Whether the keyring may be used at all (`RENKEI_KEYRING=off|0|false|no` turns it off).
pub fn enabled() -> bool {
    match std::env::var("RENKEI_KEYRING") {
        Ok(v) => !matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "off" | "0" | "false" | "no"
        ),
        Err(_) => true,
    }
}

fn deadline() -> Duration {
    let ms = std::env::var("RENKEI_KEYRING_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(5000);
    Duration::from_millis(ms.max(1))
}

/// Runs `f` on a worker thread and waits at most the deadline for it.
fn with_deadline<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("renkei-keyring".into())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        return Err(format!("could not start the keyring thread: {e}"));
    }
    let limit = deadline();
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
            "the OS keyring did not answer within {} ms (locked, or waiting for an unlock prompt)",
            limit.as_millis()
        )),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            Err("the OS keyring call ended without an answer".into())
        }
    }
}

/// The platform's credential store, set up once per process.
fn ensure_store() -> Result<(), String> {
    static STORE: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    STORE
        .get_or_init(|| platform_store().map_err(|e| describe(&e)))
        .clone()
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn platform_store() -> keyring_core::Result<()> {
    keyring_core::set_default_store(zbus_secret_service_keyring_store::Store::new()?);
    Ok(())
}

#[cfg(windows)]
fn platform_store() -> keyring_core::Result<()> {
    keyring_core::set_default_store(windows_native_keyring_store::Store::new()?);
    Ok(())
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<()> {
    keyring_core::set_default_store(apple_native_keyring_store::keychain::Store::new()?);
    Ok(())
}

#[cfg(not(any(
    windows,
    target_os = "macos",
    all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    )
)))]
fn platform_store() -> keyring_core::Result<()> {
    Err(keyring_core::Error::NoDefaultStore)
}

fn entry() -> keyring_core::Result<keyring_core::Entry> {
    entry_for(ACCOUNT)
}

/// The entry of `account` under [`SERVICE`] (the store key, or another secret of the app).
fn entry_for(account: &str) -> keyring_core::Result<keyring_core::Entry> {
    // Windows: persist to the local machine only (CRED_PERSIST_LOCAL_MACHINE), so the key is not
    // copied to other PCs by a roaming profile.
    #[cfg(windows)]
    {
        let mods = std::collections::HashMap::from([("persistence", "local")]);
        keyring_core::Entry::new_with_modifiers(SERVICE, account, &mods)
    }
    // Secret Service: a label people recognise in Seahorse / KWallet.
    #[cfg(all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ))]
    {
        let label = if account == ACCOUNT {
            LABEL
        } else {
            "Renkei Desk (連携デスク) hub connection"
        };
        let mods = std::collections::HashMap::from([("label", label)]);
        keyring_core::Entry::new_with_modifiers(SERVICE, account, &mods)
    }
    #[cfg(not(any(
        windows,
        all(
            unix,
            not(any(target_os = "macos", target_os = "ios", target_os = "android"))
        )
    )))]
    {
        keyring_core::Entry::new(SERVICE, account)
    }
}

/// A short reason for messages and logs (never the secret).
fn describe(e: &keyring_core::Error) -> String {
    use keyring_core::Error as E;
    match e {
        E::NoStorageAccess(p) => format!("the OS keyring is locked or refused access ({p})"),
        E::PlatformFailure(p) => format!("the OS keyring failed ({p})"),
        E::NoDefaultStore => "no OS keyring on this system".into(),
        E::NoEntry => "no store key in the OS keyring".into(),
        E::BadEncoding(_) | E::BadDataFormat(..) => "the keyring entry is not a store key".into(),
        other => format!("the OS keyring answered with an error ({other})"),
    }
}

/// Reads the store key from the keyring.
pub fn get() -> Lookup {
    if !enabled() {
        return Lookup::Unavailable("the OS keyring is turned off (RENKEI_KEYRING=off)".into());
    }
    let r = with_deadline(|| {
        ensure_store()?;
        match entry().and_then(|e| e.get_password()) {
            Ok(hex) => Ok(Some(hex)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    });
    match r {
        Ok(Some(hex)) => match StoreKey::from_hex(&hex) {
            Ok(k) => Lookup::Found(k),
            Err(_) => Lookup::Unavailable(format!(
                "the OS keyring entry {SERVICE}/{ACCOUNT} is not a 256-bit key (damaged?)"
            )),
        },
        Ok(None) => Lookup::Missing,
        Err(reason) => Lookup::Unavailable(reason),
    }
}

/// Stores the key in the keyring and reads it back; `Ok` only if the read-back matches.
pub fn put(key: &StoreKey) -> Result<(), String> {
    if !enabled() {
        return Err("the OS keyring is turned off (RENKEI_KEYRING=off)".into());
    }
    let Some(hex) = key.to_hex() else {
        return Err("a plain store has no key to keep".into());
    };
    let expected = hex.clone();
    with_deadline(move || {
        ensure_store()?;
        let e = entry().map_err(|e| describe(&e))?;
        e.set_password(&hex).map_err(|e| describe(&e))?;
        match e.get_password() {
            Ok(back) if back == expected => Ok(()),
            Ok(_) => Err("the OS keyring returned a different key after saving it".into()),
            Err(e) => Err(describe(&e)),
        }
    })
}

/// Removes the store key from the keyring (after moving it elsewhere). Missing is fine.
pub fn delete() -> Result<(), String> {
    if !enabled() {
        return Err("the OS keyring is turned off (RENKEI_KEYRING=off)".into());
    }
    with_deadline(|| {
        ensure_store()?;
        match entry().and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(describe(&e)),
        }
    })
}

/// Another secret of the app under [`SERVICE`] (e.g. a connected PC's hub credential):
/// `Ok(None)` when the keyring has none; `Err` when the keyring is off or unavailable.
pub fn get_secret(account: &str) -> Result<Option<String>, String> {
    if !enabled() {
        return Err("the OS keyring is turned off (RENKEI_KEYRING=off)".into());
    }
    let account = account.to_string();
    with_deadline(move || {
        ensure_store()?;
        match entry_for(&account).and_then(|e| e.get_password()) {
            Ok(v) => Ok(Some(v)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(describe(&e)),
        }
    })
}

/// Stores a secret and reads it back; `Ok` only if the read-back matches.
pub fn put_secret(account: &str, value: &str) -> Result<(), String> {
    if !enabled() {
        return Err("the OS keyring is turned off (RENKEI_KEYRING=off)".into());
    }
    let (account, value) = (account.to_string(), value.to_string());
    with_deadline(move || {
        ensure_store()?;
        let e = entry_for(&account).map_err(|e| describe(&e))?;
        e.set_password(&value).map_err(|e| describe(&e))?;
        match e.get_password() {
            Ok(back) if back == value => Ok(()),
            Ok(_) => Err("the OS keyring returned a different value after saving it".into()),
            Err(e) => Err(describe(&e)),
        }
    })
}

/// Removes a secret. Missing is fine.
pub fn delete_secret(account: &str) -> Result<(), String> {
    if !enabled() {
        return Err("the OS keyring is turned off (RENKEI_KEYRING=off)".into());
    }
    let account = account.to_string();
    with_deadline(move || {
        ensure_store()?;
        match entry_for(&account).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(describe(&e)),
        }
    })
}
