//! Java's connection set-up timeout per attempt, shared by the producer's
//! connections and kafka-txn's coordinator client.

use std::time::Duration;

use crate::core::backoff::{ExponentialBackoff, Jitter};

/// How long the next connection attempt to a broker may take, as Java's
/// `ClusterConnectionStates` decides it: `socket.connection.setup.timeout.ms`
/// at first, doubled after each failed attempt in a row with +-20 %
/// jitter, never above `socket.connection.setup.timeout.max.ms`. Each
/// broker counts its own failures; one `ConnectionSetupTimeout` serves
/// them all.
///
/// ```
/// use std::time::Duration;
/// use kafka_producer::config::ConnectionSetupTimeout;
///
/// let config = kafka_producer::ProducerConfig::from_properties([
///     ("bootstrap.servers", "127.0.0.1:9092"),
///     ("socket.connection.setup.timeout.ms", "1000"),
///     ("socket.connection.setup.timeout.max.ms", "3000"),
/// ])?;
/// let mut timeout = ConnectionSetupTimeout::new(&config.connection_config("app"));
/// let first = timeout.after_failures(0);
/// assert!(first >= Duration::from_millis(800) && first < Duration::from_millis(1200));
/// assert!(timeout.after_failures(10) <= Duration::from_secs(3));
/// # Ok::<(), kafka_producer::config::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionSetupTimeout {
    backoff: ExponentialBackoff,
    jitter: Jitter,
}

impl ConnectionSetupTimeout {
    /// From a connection configuration's `connect_timeout` (the first
    /// attempt's) and `connect_timeout_max`.
    pub fn new(config: &kafka_codec::ConnectionConfig) -> Self {
        // Jitter only spreads reconnecting clients apart: any seed will do.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        ConnectionSetupTimeout {
            backoff: ExponentialBackoff::new(config.connect_timeout, config.connect_timeout_max),
            jitter: Jitter::new(seed),
        }
    }

    /// The timeout of the next attempt to a broker whose last
    /// `failed_attempts` attempts failed (0: none since it last connected).
    pub fn after_failures(&mut self, failed_attempts: u32) -> Duration {
        self.backoff
            .delay(failed_attempts.saturating_add(1), &mut self.jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_from_the_setup_timeout_to_its_max() {
        let config = crate::ProducerConfig::from_properties([
            ("bootstrap.servers", "127.0.0.1:9092"),
            ("socket.connection.setup.timeout.ms", "2000"),
            ("socket.connection.setup.timeout.max.ms", "5000"),
        ])
        .unwrap();
        let mut t = ConnectionSetupTimeout::new(&config.connection_config("test"));
        let ms = |d: Duration| d.as_millis();
        for _ in 0..100 {
            assert!((1_600..2_400).contains(&ms(t.after_failures(0))));
            assert!((3_200..4_800).contains(&ms(t.after_failures(1))));
            assert!((4_000..=5_000).contains(&ms(t.after_failures(2))));
            assert!((4_000..=5_000).contains(&ms(t.after_failures(u32::MAX))));
        }
    }
}
