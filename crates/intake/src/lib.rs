//! # renkei-intake
//!
//! How consultations arrive by themselves: the partner HTTP API, LINE WORKS and Chatwork
//! webhooks, the Chatwork poller and the FAX/scanner folder. Depends on `renkei-core`; knows
//! nothing of Tauri. (Being written — issue 7.)
