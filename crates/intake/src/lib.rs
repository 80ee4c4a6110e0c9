//! # renkei-intake
//!
//! How consultations arrive by themselves: the partner HTTP API, LINE WORKS and Chatwork
//! webhooks, the Chatwork poller and the FAX/scanner folder. Depends on `renkei-core`; knows
//! nothing of Tauri. (Being written — issue 7.)

/// Runs the intake server until SIGINT/SIGTERM (stub until the intake crate lands).
pub fn run_server(_dir: renkei_core::store::DataDir, _listen: &str) -> Result<(), String> {
    Err("the intake server is not built into this version yet".into())
}
