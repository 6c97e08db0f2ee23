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
/// partition answered with an error, unless the fault is
/// [`after_append`](Fault::after_append).
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
    pub(crate) after_append: bool,
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
            after_append: false,
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

    /// For Produce: the records are written first, and the answer then
    /// carries `code` instead of their offset, as when a broker appends
    /// but cannot replicate in time (`NOT_ENOUGH_REPLICAS_AFTER_APPEND`,
    /// `REQUEST_TIMED_OUT`) or an acknowledgement is lost. An idempotent
    /// producer's retry is then a duplicate the log must recognise. Other
    /// APIs ignore it.
    ///
    /// ```
    /// use kafka_fake::Fault;
    /// use kafka_protocol::{messages::ApiKey, ErrorCode};
    ///
    /// // The next two Produce requests are written, then answered with an error.
    /// let fault = Fault::new(ApiKey::Produce, ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND)
    ///     .after_append()
    ///     .times(2);
    /// # let _ = fault;
    /// ```
    pub fn after_append(mut self) -> Self {
        self.after_append = self.api == ApiKey::Produce;
        self
    }

    pub(crate) fn matches(
        &self,
        api: ApiKey,
        broker: i32,
        partition: Option<(&str, i32)>,
        after_append: bool,
    ) -> bool {
        self.api == api
            && self.after_append == after_append
            && self.broker.is_none_or(|b| b == broker)
            && match (&self.partition, partition) {
                (None, None) => true,
                (Some((t, p)), Some((topic, partition))) => t == topic && *p == partition,
                _ => false,
            }
    }
}
