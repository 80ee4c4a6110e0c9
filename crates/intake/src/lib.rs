//! # renkei-intake
//!
//! How consultations arrive by themselves: the partner HTTP API, LINE WORKS and Chatwork
//! webhooks, the Chatwork poller, the FAX/scanner folder and the IMAP mailbox poller. Depends on `renkei-core`; knows
//! nothing of Tauri.
//!
//! * [`run_server`] — `renkei serve`: prints `listening on http://HOST:PORT`, stops on
//!   SIGINT/SIGTERM after answering the requests in flight.
//! * [`spawn_in_process`] — the desktop app's in-process server ([`ServerHandle::stop`]).
//! * [`serve`] + [`IntakeState`] — the building blocks (tests, embedding).
//!
//! Layers, dependencies pointing one way: [`server`] (run, spawn, graceful shutdown) uses
//! `router` (routes → handlers) and starts the workers ([`chatwork_poll`], [`fax_folder`],
//! [`imap_poll`] over [`imap_conn`] and [`imap_account`]); the
//! handlers ([`partner_api`], [`lineworks`], [`chatwork`]) and workers use `body` (body limits
//! and reading, the common webhook tail) and `state` ([`IntakeState`]), which calls
//! `renkei_core::desk::Desk`. Only `server` and this file use `router`.
//!
//! Every store call is synchronous (SQLite): handlers run it on a blocking thread with a
//! connection from a small pool ([`IntakeState::with_desk`]) and answer 2xx only after the
//! commit returned. Every error is JSON `{code, message}` ([`errors::ApiError`]).
//!
//! Environment ([`IntakeConfig::from_env`]): `RENKEI_LINEWORKS_BOT_SECRET`,
//! `RENKEI_CHATWORK_WEBHOOK_TOKEN`, `RENKEI_RATE_LIMIT_PER_MIN` (default 600, 0 = off),
//! `RENKEI_CHATWORK_API_TOKEN` + `RENKEI_CHATWORK_ROOMS` (comma-separated room ids) +
//! `RENKEI_CHATWORK_API_BASE` (default `https://api.chatwork.com`) + `RENKEI_CHATWORK_POLL_SECS`
//! (default 60), `RENKEI_FAX_FOLDER` (else the folder in the store's settings),
//! `RENKEI_IMAP_URL` + `RENKEI_IMAP_PASSWORD` (+ `RENKEI_IMAP_DONE_FOLDER`,
//! `RENKEI_IMAP_ERROR_FOLDER`, `RENKEI_IMAP_CA_FILE`, `RENKEI_IMAP_POLL_SECS`,
//! `RENKEI_MCS_SENDERS`; see [`config::imap_from_env`]).

pub mod auth_cache;
mod body;
pub mod chatwork;
pub mod chatwork_poll;
pub mod config;
pub mod desk_api;
pub mod errors;
pub mod fax_folder;
pub mod group_commit;
pub mod imap_account;
pub mod imap_conn;
pub mod imap_poll;
pub mod json;
pub mod lineworks;
pub mod outbound;
pub mod partner_api;
pub mod ratelimit;
mod router;
pub mod server;
mod state;
pub mod text;
pub mod tls;
mod wire;

pub use config::{ChatworkPollConfig, FaxFolderConfig, IntakeCallback, IntakeConfig, Timeouts};
pub use errors::ApiError;
pub use imap_account::ImapConfig;
pub use router::router;
pub use server::{
    run_server, serve, spawn_in_process, spawn_with_state, spawn_workers, ServerHandle,
};
pub use state::IntakeState;

use renkei_core::codes::{Category, Channel, Status, Urgency};
use renkei_core::model::QueueRow;

/// What the `on_intake` callback is told after a committed intake. Carries no message text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IntakeNotice {
    pub id: i64,
    /// A new consultation.
    pub created: bool,
    /// A follow-up joined an open consultation.
    pub joined: bool,
    pub channel: Channel,
    pub category: Category,
    pub urgency: Urgency,
    pub status: Status,
    /// The partner's name.
    pub partner: String,
}

impl IntakeNotice {
    pub fn from_row(row: &QueueRow, created: bool, joined: bool) -> Self {
        IntakeNotice {
            id: row.id,
            created,
            joined,
            channel: row.channel,
            category: row.category,
            urgency: row.urgency,
            status: row.status,
            partner: row.partner.clone(),
        }
    }
}
