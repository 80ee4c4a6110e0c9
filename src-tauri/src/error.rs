//! The one error shape that crosses the bridge to the UI: `{code, message}`.
//!
//! `code` is the core's stable machine code (`invalid_input`, `not_found`, …) or one of the few
//! codes of the shell itself (`store_unavailable`, `io`, `busy`); the UI turns codes into
//! Japanese sentences (ui/i18n) and may show `message` as the detail.

use serde::Serialize;

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub code: String,
    pub message: String,
    /// For `taken` (a take refused by the hub): who has the item now (「大野さんが対応中です」).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl CommandError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        CommandError {
            code: code.to_string(),
            message: message.into(),
            owner: None,
        }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<renkei_core::Error> for CommandError {
    fn from(e: renkei_core::Error) -> Self {
        CommandError::new(e.code().as_str(), e.to_string())
    }
}

impl From<std::io::Error> for CommandError {
    fn from(e: std::io::Error) -> Self {
        CommandError::new("io", e.to_string())
    }
}

impl From<renkei_hubclient::HubError> for CommandError {
    fn from(e: renkei_hubclient::HubError) -> Self {
        let mut c = CommandError::new(e.code(), e.to_string());
        if let renkei_hubclient::HubError::Api { owner, .. } = e {
            c.owner = owner;
        }
        c
    }
}

/// What every command returns.
pub type CmdResult<T> = Result<T, CommandError>;
