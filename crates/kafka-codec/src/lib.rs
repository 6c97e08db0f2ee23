//! The framed tokio transport for Kafka: frames, connections, pipelined requests and API version negotiation.
//!
//! Not built yet: this crate is a placeholder in the workspace until its own issue lands.
#![forbid(unsafe_code)]
