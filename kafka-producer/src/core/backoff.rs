//! The one jittered exponential backoff, for produce retries, reconnects
//! and connection set-up timeouts (Java's `ExponentialBackoff`: x2 per
//! attempt, +-20 % jitter, never above the maximum).

use std::time::Duration;

/// `initial x 2^(attempts - 1)`, capped by `max`, times a jitter factor.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExponentialBackoff {
    initial: Duration,
    max: Duration,
}

impl ExponentialBackoff {
    /// As Java: an `initial` above `max` is a constant `max` from the start.
    pub fn new(initial: Duration, max: Duration) -> Self {
        ExponentialBackoff {
            initial: initial.min(max),
            max,
        }
    }

    /// The wait after the `attempts`-th failure (1 for the first). As
    /// Java's, the jittered value is capped again, so `max` is never passed.
    pub fn delay(&self, attempts: u32, jitter: &mut Jitter) -> Duration {
        self.delay_by(attempts, jitter.factor())
    }

    /// [`delay`](Self::delay) with a jitter factor already drawn.
    pub fn delay_by(&self, attempts: u32, factor: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30) as i32;
        let max = self.max.as_secs_f64();
        let base = (self.initial.as_secs_f64() * 2f64.powi(exponent)).min(max);
        Duration::from_secs_f64((base * factor).min(max))
    }
}

/// A seeded xorshift source of jitter factors, so a simulation replays.
#[derive(Debug, Clone)]
pub(crate) struct Jitter {
    state: u64,
}

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter { state: seed | 1 }
    }

    /// A factor in [0.8, 1.2).
    pub fn factor(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        0.8 + (self.state % 4000) as f64 / 10_000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_within_the_jitter() {
        let b = ExponentialBackoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let mut j = Jitter::new(7);
        for (attempt, base_ms) in [
            (1, 100.0),
            (2, 200.0),
            (3, 400.0),
            (4, 800.0),
            (5, 1000.0),
            (40, 1000.0),
        ] {
            let ms = b.delay(attempt, &mut j).as_secs_f64() * 1000.0;
            assert!(
                ms >= base_ms * 0.8 - 1e-6 && ms < base_ms * 1.2 && ms <= 1000.0,
                "attempt {attempt}: {ms}"
            );
        }
    }

    #[test]
    fn connection_setup_timeouts_grow_as_javas() {
        // socket.connection.setup.timeout.ms and .max.ms at Java's defaults.
        let b = ExponentialBackoff::new(Duration::from_secs(10), Duration::from_secs(30));
        for seed in 1..200 {
            let mut j = Jitter::new(seed);
            let ms: Vec<u128> = (1..=6).map(|a| b.delay(a, &mut j).as_millis()).collect();
            assert!((8_000..12_000).contains(&ms[0]), "{ms:?}");
            assert!((16_000..24_000).contains(&ms[1]), "{ms:?}");
            // 40 s capped to 30 s, jittered below it, never above.
            for late in &ms[2..] {
                assert!((24_000..=30_000).contains(late), "{ms:?}");
            }
        }
        // The jitter varies: not every late attempt sits on the cap.
        let mut j = Jitter::new(5);
        let late: Vec<Duration> = (0..50).map(|_| b.delay(9, &mut j)).collect();
        assert!(
            late.iter().any(|d| *d < Duration::from_secs(29)),
            "{late:?}"
        );
        assert!(late.contains(&Duration::from_secs(30)), "{late:?}");
    }

    #[test]
    fn an_initial_above_the_cap_is_the_cap() {
        let b = ExponentialBackoff::new(Duration::from_secs(5), Duration::from_secs(1));
        let ms = b.delay(1, &mut Jitter::new(3)).as_millis();
        assert!((800..1200).contains(&ms), "{ms}");
    }
}
