//! The leader of a partition blackholed for `delivery.timeout.ms +
//! request.timeout.ms`, so that records expire behind it (see
//! `faults/blackhole.rs`). One test function: the proxies take the ports
//! the brokers advertise.

mod faults;

use faults::blackhole::{blackholed_leader, DELIVERY_TIMEOUT, REQUEST_TIMEOUT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackholed_past_the_delivery_timeout() {
    blackholed_leader(DELIVERY_TIMEOUT + REQUEST_TIMEOUT).await;
}
