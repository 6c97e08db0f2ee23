//! The async Kafka producer: partitioning, batching, acks, compression, retries, idempotence.
//!
//! Not built yet: this crate is a placeholder in the workspace until its own issue lands.
#![forbid(unsafe_code)]
