//! The one error type of the core. Every variant carries a stable machine code (used as the
//! `code` of `{code, message}` answers in the HTTP API and the desktop bridge) and a message
//! that says what happened and what to do.

use serde::Serialize;

/// Stable machine-readable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidInput,
    NotFound,
    Conflict,
    InvalidTransition,
    UnsupportedMediaType,
    TooLarge,
    Unauthorized,
    /// Too many wrong PINs: the staff profile is locked for a while.
    LockedOut,
    /// The signed-in staff member's role may not do this.
    Forbidden,
    /// The staff profile was deactivated (the person left): it cannot sign in.
    ProfileDisabled,
    /// The change would leave nobody who can manage staff and settings.
    LastAdmin,
    Storage,
    Integrity,
    Io,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::LockedOut => "locked_out",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::ProfileDisabled => "profile_disabled",
            ErrorCode::LastAdmin => "last_admin",
            ErrorCode::Storage => "storage",
            ErrorCode::Integrity => "integrity",
            ErrorCode::Io => "io",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input; `field` names the offending field when there is one.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A take (compare-and-set, `Desk::take`) lost: someone else took the item meanwhile.
    #[error("{owner}さんが対応中です — {owner} took it a moment ago; nothing was changed. Open it again to see the latest, or take it over deliberately")]
    Taken { owner: String },
    #[error("cannot change status from '{from}' to '{to}': {hint}")]
    InvalidTransition {
        from: String,
        to: String,
        hint: String,
    },
    #[error("{0}")]
    UnsupportedMedia(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    LockedOut(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    ProfileDisabled(String),
    #[error("{0}")]
    LastAdmin(String),
    #[error("store error: {0}. Run `renkei check`; if it persists, restore the latest backup")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL hub store (store/pg.rs) answered with an error.
    #[error("database error: {0}. Check that PostgreSQL is up and reachable (RENKEI_DATABASE_URL); if it persists, run `renkei check`")]
    Postgres(#[from] postgres::Error),
    #[error("{0}")]
    Integrity(String),
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid { .. } => ErrorCode::InvalidInput,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) | Error::Taken { .. } => ErrorCode::Conflict,
            Error::InvalidTransition { .. } => ErrorCode::InvalidTransition,
            Error::UnsupportedMedia(_) => ErrorCode::UnsupportedMediaType,
            Error::TooLarge(_) => ErrorCode::TooLarge,
            Error::Unauthorized(_) => ErrorCode::Unauthorized,
            Error::LockedOut(_) => ErrorCode::LockedOut,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::ProfileDisabled(_) => ErrorCode::ProfileDisabled,
            Error::LastAdmin(_) => ErrorCode::LastAdmin,
            Error::Sqlite(_) | Error::Postgres(_) => ErrorCode::Storage,
            Error::Integrity(_) => ErrorCode::Integrity,
            Error::Io(_) => ErrorCode::Io,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
