//! Tauri commands, one module per domain. Each command is a few lines into
//! [`renkei_core::desk::Desk`]; errors cross the bridge as `{code, message}`
//! ([`crate::error::CommandError`]). No business logic lives here.

pub mod consultation;
pub mod documents;
pub mod hub;
pub mod notifications;
pub mod partners;
pub mod queue;
pub mod replies;
pub mod report;
pub mod settings;
pub mod staff;

use crate::error::{CmdResult, CommandError};
use serde::{Deserialize, Deserializer};
use std::str::FromStr;

/// A contract code (`urgent`, `discharge`, …) as a command argument. It always deserialises
/// (as a string) so that an unknown code reaches the command and answers `invalid_input` with
/// the list of valid codes — not Tauri's generic "invalid args" text.
#[derive(Debug, Clone)]
pub struct Code<T>(Result<T, String>);

impl<'de, T: FromStr> Deserialize<'de> for Code<T>
where
    T::Err: std::fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Code(s.parse::<T>().map_err(|e| e.to_string())))
    }
}

impl<T> Code<T> {
    /// The code, or `invalid_input` saying what was wrong.
    pub fn get(self) -> CmdResult<T> {
        self.0.map_err(|e| CommandError::new("invalid_input", e))
    }
}
