//! # renkei-core
//!
//! Everything Renkei Desk (連携デスク) knows about consultations, independent of how they arrive
//! or are shown: the contract's codes, the domain model, the SQLite store (durable, migratable,
//! audited), the clinic calendar and response targets, the triage queue, urgency suggestion,
//! personal-data checks and the notification policy.
//!
//! Synchronous and free of Tauri, HTTP and global state. Time is always passed in through a
//! [`clock::Clock`]; no logic here reads the system clock. `renkei-intake`, the `renkei` CLI and
//! the `renkei-desk` app all call into this crate; it depends on none of them.

pub mod backup;
pub mod backup_pg;
pub mod calendar;
pub mod clock;
pub mod codes;
pub mod demo;
pub mod desk;
pub mod dropped;
pub mod error;
pub mod feed;
pub mod mail;
pub mod model;
pub mod outbound;
pub mod phone;
pub mod pii;
pub mod policy;
pub mod problem;
pub mod queue_watch;
pub mod receipt;
pub mod report;
pub mod settings;
pub mod store;
pub mod triage;
pub mod urgency;

pub use codes::{Category, Channel, PartnerKind, Status, Urgency};
pub use error::{Error, ErrorCode, Result};
