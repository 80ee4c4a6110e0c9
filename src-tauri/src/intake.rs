//! The intake server in-process: when the clinic enabled it in the settings (off by default,
//! bound to 127.0.0.1 unless they chose otherwise), the app runs the same partner API and
//! webhooks as `renkei serve`, and the same workers (Chatwork poller, FAX folder, the IMAP
//! mailbox of `RENKEI_IMAP_URL`). New arrivals reach the queue through the store watcher.

use renkei_core::settings::IntakeSettings;
use renkei_core::store::DataDir;
use std::sync::Mutex;

/// Keeps the running server alive for the app's lifetime.
#[derive(Default)]
pub struct IntakeServer(pub Mutex<Option<renkei_intake::ServerHandle>>);

/// Starts the server if the settings ask for it; returns the address it listens on.
pub fn start_if_enabled(settings: &IntakeSettings, server: &IntakeServer) -> Option<String> {
    if !settings.enabled {
        return None;
    }
    let config = match renkei_intake::IntakeConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("intake server not started: {e}");
            return None;
        }
    };
    match renkei_intake::spawn_in_process(DataDir::from_env_or_default(), config, &settings.listen)
    {
        Ok(handle) => {
            let addr = handle.addr().to_string();
            tracing::info!("intake server listening on http://{addr}");
            if let Ok(mut g) = server.0.lock() {
                *g = Some(handle);
            }
            Some(addr)
        }
        Err(e) => {
            tracing::warn!("intake server not started: {e}");
            None
        }
    }
}
