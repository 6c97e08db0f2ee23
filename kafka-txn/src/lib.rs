//! The transactional Kafka producer (exactly-once).
//!
//! Not built yet: this crate is a placeholder in the workspace until its own issue lands.
#![forbid(unsafe_code)]
