//! The leader of a partition blackholed for `delivery.timeout.ms +
//! request.timeout.ms`, so that records expire behind it (see
//! `faults/blackhole.rs`). One test function: the proxies take the ports
//! the brokers advertise.

mod faults;

use faults::blackhole::{blackholed_leader, DELIVERY_TIMEOUT, REQUEST_TIMEOUT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "producer bug: records behind a blackholed leader expire up to 4 s after delivery.timeout.ms, past delivery + request timeout, while a connection attempt to the leader is pending (RELIABILITY.md, known problems)"]
async fn blackholed_past_the_delivery_timeout() {
    blackholed_leader(DELIVERY_TIMEOUT + REQUEST_TIMEOUT).await;
}
