//! Helpers shared by the core integration tests.
pub mod backends;
