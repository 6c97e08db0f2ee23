//! The leader of a partition blackholed for 2.5 × `request.timeout.ms`,
//! less than `delivery.timeout.ms` (see `faults/blackhole.rs`). One test
//! function: the proxies take the ports the brokers advertise.

mod faults;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackholed_leader_bounds_every_outcome() {
    faults::blackhole::blackholed_leader(Duration::from_millis(5000)).await;
}
