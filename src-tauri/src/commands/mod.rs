//! Tauri commands, one module per domain. Each command is a few lines into
//! [`renkei_core::desk::Desk`]; errors cross the bridge as `{code, message}`
//! ([`crate::error::CommandError`]). No business logic lives here.

pub mod consultation;
pub mod documents;
pub mod notifications;
pub mod partners;
pub mod queue;
pub mod settings;
pub mod staff;

use crate::error::{CmdResult, CommandError};
use std::str::FromStr;

/// Parses a contract code (`urgent`, `discharge`, …) sent by the UI.
pub(crate) fn code<T: FromStr>(field: &str, s: &str) -> CmdResult<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>()
        .map_err(|e| CommandError::new("invalid_input", format!("{field}: {e}")))
}
