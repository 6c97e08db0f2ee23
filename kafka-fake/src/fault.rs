//! Errors injected into the answers of chosen requests.

use kafka_protocol::messages::ApiKey;
use kafka_protocol::ErrorCode;

/// An error the cluster answers instead of serving a request: the next
/// `times` requests of `api` (on one broker, for one partition, when
/// narrowed) get `code`.
///
/// For a request naming partitions (Produce, Fetch, ListOffsets), a fault
/// narrowed to a partition fails that partition's part only; one that is
/// not fails every partition of the request. Nothing is written for a
/// partition answered with an error.
///
/// ```
/// use kafka_fake::Fault;
/// use kafka_protocol::{messages::ApiKey, ErrorCode};
///
/// let fault = Fault::new(ApiKey::Produce, ErrorCode::NOT_ENOUGH_REPLICAS)
///     .times(2)
///     .for_partition("orders", 0);
/// # let _ = fault;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub(crate) api: ApiKey,
    pub(crate) code: ErrorCode,
    pub(crate) remaining: usize,
    pub(crate) broker: Option<i32>,
    pub(crate) partition: Option<(String, i32)>,
}

impl Fault {
    /// The next request of `api` is answered with `code`.
    pub fn new(api: ApiKey, code: ErrorCode) -> Self {
        Fault {
            api,
            code,
            remaining: 1,
            broker: None,
            partition: None,
        }
    }

    /// The next `n` requests instead of one.
    pub fn times(mut self, n: usize) -> Self {
        self.remaining = n.max(1);
        self
    }

    /// Only requests received by broker `id`.
    pub fn on_broker(mut self, id: i32) -> Self {
        self.broker = Some(id);
        self
    }

    /// Only the part of a request for this partition.
    pub fn for_partition(mut self, topic: &str, partition: i32) -> Self {
        self.partition = Some((topic.to_string(), partition));
        self
    }

    pub(crate) fn matches(&self, api: ApiKey, broker: i32, partition: Option<(&str, i32)>) -> bool {
        self.api == api
            && self.broker.is_none_or(|b| b == broker)
            && match (&self.partition, partition) {
                (None, None) => true,
                (Some((t, p)), Some((topic, partition))) => t == topic && *p == partition,
                _ => false,
            }
    }
}
