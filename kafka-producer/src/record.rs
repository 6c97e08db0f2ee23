//! What a user sends and what comes back.

use std::sync::Arc;

use bytes::Bytes;

/// A record to send: topic, optional partition, key, value (null = tombstone),
/// headers and timestamp.
///
/// ```
/// use kafka_producer::ProducerRecord;
/// let r = ProducerRecord::new("events").key("user-1").value("clicked").header("trace", Some("abc"));
/// assert_eq!(&*r.topic, "events");
/// ```
#[derive(Debug, Clone)]
pub struct ProducerRecord {
    /// The topic. An `Arc<str>` so that a sender can reuse one topic name
    /// for every record without an allocation each (`Arc::clone`).
    pub topic: Arc<str>,
    /// The partition, or `None` to let the partitioner choose.
    pub partition: Option<i32>,
    /// The key, or `None` for a null key.
    pub key: Option<Bytes>,
    /// The value, or `None` for a null value (a tombstone).
    pub value: Option<Bytes>,
    /// Headers: key and nullable value.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Milliseconds since the epoch; `None` takes the time of `send`.
    pub timestamp: Option<i64>,
}

impl Default for ProducerRecord {
    fn default() -> Self {
        // One shared empty name: `..Default::default()` must not allocate per record.
        static EMPTY: std::sync::OnceLock<Arc<str>> = std::sync::OnceLock::new();
        ProducerRecord {
            topic: EMPTY.get_or_init(|| Arc::from("")).clone(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }
}

impl ProducerRecord {
    /// A record for `topic` with no key and a null value. Pass an `Arc<str>`
    /// (or `&Arc<str>`) to avoid copying the topic name per record.
    pub fn new(topic: impl IntoTopic) -> Self {
        // Every field spelled out: `..Default::default()` would clone and
        // drop the shared empty topic name for nothing.
        ProducerRecord {
            topic: topic.into_topic(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }

    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets the value.
    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sets the partition.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Sets the timestamp (ms since the epoch).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: impl Into<String>, value: Option<impl Into<Bytes>>) -> Self {
        self.headers.push((key.into(), value.map(Into::into)));
        self
    }

    /// The size Java checks against `max.request.size` and `buffer.memory`:
    /// the record's upper-bound encoded size in a batch, uncompressed.
    pub fn estimated_size(&self) -> usize {
        kafka_protocol::records::record_size(
            i64::MAX,
            i32::MAX,
            self.key.as_deref(),
            self.value.as_deref(),
            self.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref())),
        ) + kafka_protocol::records::BATCH_HEADER_SIZE
    }
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetadata {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset, or -1 when unknown (acks=0).
    pub offset: i64,
    /// The timestamp: the broker's log-append time when the topic uses it,
    /// else the record's create time.
    pub timestamp: i64,
}

/// What names a topic: `&str` and `String` (copied into a new `Arc<str>`), or
/// an `Arc<str>` (shared, no copy).
pub trait IntoTopic {
    /// The topic name.
    fn into_topic(self) -> Arc<str>;
}

impl IntoTopic for &str {
    fn into_topic(self) -> Arc<str> {
        Arc::from(self)
    }
}

impl IntoTopic for String {
    fn into_topic(self) -> Arc<str> {
        Arc::from(self)
    }
}

impl IntoTopic for &String {
    fn into_topic(self) -> Arc<str> {
        Arc::from(self.as_str())
    }
}

impl IntoTopic for Arc<str> {
    fn into_topic(self) -> Arc<str> {
        self
    }
}

impl IntoTopic for &Arc<str> {
    fn into_topic(self) -> Arc<str> {
        self.clone()
    }
}
