//! Kafka record batch compression codecs.
