//! renkei-hubclient: the desk app's side of a connected PC (issue 19). It enrols the PC at the
//! hub (`POST /v1/desk/enroll`), signs staff in with their PIN, calls the staff API under
//! `/v1/desk/…` and follows `GET /v1/desk/events` with `Last-Event-ID` resume and reconnects
//! with backoff.
//!
//! Transport rules, decided here and nowhere else: plain `http://` only to a loopback address;
//! `https://` verifies the hub's certificate — a public certificate through Mozilla's roots,
//! otherwise only the certificate whose SHA-256 fingerprint the user confirmed on first connect
//! (trust on first use, [`tls`]). The device credential (token + pinned fingerprint) is kept
//! in the OS keyring ([`credential`]).
//!
//! Depends on renkei-core (model types, the keyring) and reqwest; knows nothing of Tauri, so
//! the CLI's tests drive it against a real `renkei serve`.

pub mod client;
pub mod credential;
pub mod events;
pub mod tls;
pub mod url;

pub use client::{Enrolled, HubClient, SignedIn};
pub use credential::DeviceCredential;
pub use events::{EventStream, HubEvent};
pub use url::HubUrl;

/// What went wrong talking to the hub. `code` is what the UI turns into a sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubError {
    /// The URL is not one the desk may use (plain HTTP to another host, not a URL at all).
    #[error("{0}")]
    BadUrl(String),
    /// The hub could not be reached (down, network gone, timeout): the desk is offline.
    #[error("the hub at {url} cannot be reached ({reason}): check the network and that the hub runs, then try again")]
    Unreachable { url: String, reason: String },
    /// The hub's certificate is not the one confirmed when this PC was connected.
    #[error("the hub's certificate changed (SHA-256 {got}, this PC trusts {pinned}): if the hub's administrator renewed it, disconnect and connect this PC again; otherwise do not connect — someone may be in between")]
    CertificateChanged { got: String, pinned: String },
    /// The hub answered with an error `{code, message}` (401 device_revoked, 409 taken, …).
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        /// For `taken`: who has it now.
        owner: Option<String>,
    },
    /// The hub answered something this client does not understand.
    #[error(
        "the hub sent an answer this app does not understand ({0}): update the app or the hub"
    )]
    Protocol(String),
    /// The keyring / credential file could not be used.
    #[error("{0}")]
    Credential(String),
}

impl HubError {
    /// A stable machine code for the UI (`unreachable`, `taken`, `device_revoked`, …).
    pub fn code(&self) -> &str {
        match self {
            HubError::BadUrl(_) => "invalid_input",
            HubError::Unreachable { .. } => "hub_unreachable",
            HubError::CertificateChanged { .. } => "hub_certificate_changed",
            HubError::Api { code, .. } => code,
            HubError::Protocol(_) => "hub_protocol",
            HubError::Credential(_) => "hub_credential",
        }
    }
}

pub type Result<T> = std::result::Result<T, HubError>;
