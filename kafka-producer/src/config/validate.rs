//! Java's rules, applied by `build` after parsing: ranges, bootstrap
//! servers, idempotence, the delivery timeout, reconnect backoff and the
//! default client id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::builder::Explicit;
use super::keys::*;
use super::{Acks, ConfigError, ProducerConfig, MAX_IN_FLIGHT_FOR_IDEMPOTENCE};

/// Next N of the default client id `producer-N`, process-wide like Java's
/// `PRODUCER_CLIENT_ID_SEQUENCE`.
static CLIENT_ID_SEQUENCE: AtomicU64 = AtomicU64::new(1);

/// The effective configuration of `c` (as set), or the first problem.
pub(super) fn effective(
    mut c: ProducerConfig,
    explicit: Explicit,
) -> Result<ProducerConfig, ConfigError> {
    check_ranges(&c)?;
    c.bootstrap_servers = check_bootstrap_servers(&c.bootstrap_servers)?;
    if c.transactional_id.as_deref() == Some("") {
        return Err(ConfigError::invalid(
            TRANSACTIONAL_ID,
            "",
            "must be non-empty when set",
        ));
    }

    // CommonClientConfigs.postProcessReconnectBackoffConfigs.
    if explicit.reconnect_backoff && !explicit.reconnect_backoff_max {
        c.reconnect_backoff_max = c.reconnect_backoff;
    }

    if c.transaction_two_phase_commit_enable && explicit.transaction_timeout {
        // Java's rule: prepared transactions must not time out.
        return Err(ConfigError::new(
            [TRANSACTION_TWO_PHASE_COMMIT_ENABLE, TRANSACTION_TIMEOUT_MS],
            format!(
                "{TRANSACTION_TIMEOUT_MS} cannot be set with {TRANSACTION_TWO_PHASE_COMMIT_ENABLE}=true: \
                 transactions do not expire with two-phase commit"
            ),
        ));
    }
    apply_idempotence_rules(&mut c, explicit)?;
    apply_delivery_timeout_rule(&mut c, explicit)?;

    // ProducerConfig.maybeOverrideClientId, last so that invalid
    // configurations take no number.
    if !explicit.client_id {
        c.client_id = match &c.transactional_id {
            Some(id) => format!("producer-{id}"),
            None => format!(
                "producer-{}",
                CLIENT_ID_SEQUENCE.fetch_add(1, Ordering::Relaxed)
            ),
        };
    }
    Ok(c)
}

/// Java's `postProcessAndValidateIdempotenceConfigs`.
fn apply_idempotence_rules(c: &mut ProducerConfig, explicit: Explicit) -> Result<(), ConfigError> {
    let explicit = explicit.idempotence;
    // Why a default idempotence was turned off, for the transactional
    // error below.
    let mut turned_off_by = None;
    if c.enable_idempotence {
        if c.retries == 0 {
            if explicit {
                return Err(ConfigError::new(
                    [ENABLE_IDEMPOTENCE, RETRIES],
                    format!("{ENABLE_IDEMPOTENCE}=true requires {RETRIES} > 0 (got {RETRIES}=0)"),
                ));
            }
            turned_off_by = Some((RETRIES, format!("{RETRIES}=0")));
        }
        if c.acks != Acks::All {
            if explicit {
                return Err(ConfigError::new(
                    [ENABLE_IDEMPOTENCE, ACKS],
                    format!(
                        "{ENABLE_IDEMPOTENCE}=true requires {ACKS}=all (got {ACKS}={})",
                        c.acks
                    ),
                ));
            }
            turned_off_by = Some((ACKS, format!("{ACKS}={}", c.acks)));
        }
        // Java checks this with idempotence on by default too, and does
        // not turn idempotence off for it.
        let in_flight = c.max_in_flight_requests_per_connection;
        if in_flight > MAX_IN_FLIGHT_FOR_IDEMPOTENCE {
            let why = if explicit {
                format!("{ENABLE_IDEMPOTENCE}=true")
            } else {
                format!(
                    "the idempotent producer ({ENABLE_IDEMPOTENCE} defaults to true; set it \
                     to false to allow more)"
                )
            };
            return Err(ConfigError::new(
                [ENABLE_IDEMPOTENCE, MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION],
                format!(
                    "{why} requires {MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION} <= \
                     {MAX_IN_FLIGHT_FOR_IDEMPOTENCE} (got {in_flight})"
                ),
            ));
        }
    }
    if turned_off_by.is_some() {
        c.enable_idempotence = false;
    }

    if c.transactional_id.is_some() && !c.enable_idempotence {
        return Err(match turned_off_by {
            Some((key, setting)) => ConfigError::new(
                [TRANSACTIONAL_ID, ENABLE_IDEMPOTENCE, key],
                format!(
                    "{TRANSACTIONAL_ID} requires idempotence, which {setting} turned off \
                     ({ENABLE_IDEMPOTENCE} needs {ACKS}=all and {RETRIES} > 0)"
                ),
            ),
            None => ConfigError::new(
                [TRANSACTIONAL_ID, ENABLE_IDEMPOTENCE],
                format!("{TRANSACTIONAL_ID} requires {ENABLE_IDEMPOTENCE}=true (got false)"),
            ),
        });
    }
    Ok(())
}

/// Java's `KafkaProducer.configureDeliveryTimeout`.
fn apply_delivery_timeout_rule(
    c: &mut ProducerConfig,
    explicit: Explicit,
) -> Result<(), ConfigError> {
    // Java adds them as ints, linger capped at Integer.MAX_VALUE first.
    let int_max = Duration::from_millis(i32::MAX as u64);
    let minimum = (c.linger.min(int_max) + c.request_timeout).min(int_max);
    if c.delivery_timeout < minimum {
        if explicit.delivery_timeout {
            return Err(ConfigError::new(
                [DELIVERY_TIMEOUT_MS, LINGER_MS, REQUEST_TIMEOUT_MS],
                format!(
                    "{DELIVERY_TIMEOUT_MS} ({} ms) must be at least {LINGER_MS} + \
                     {REQUEST_TIMEOUT_MS} ({} ms)",
                    c.delivery_timeout.as_millis(),
                    minimum.as_millis()
                ),
            ));
        }
        c.delivery_timeout = minimum;
    }
    Ok(())
}

/// Java's range checks, for values that came from the typed setters (the
/// property parser already refused negative numbers).
fn check_ranges(c: &ProducerConfig) -> Result<(), ConfigError> {
    const INT_MAX: u128 = i32::MAX as u128;
    const LONG_MAX: u128 = i64::MAX as u128;

    let sizes: [(&str, usize, usize, u128); 4] = [
        (BATCH_SIZE, c.batch_size, 0, INT_MAX),
        (MAX_REQUEST_SIZE, c.max_request_size, 0, INT_MAX),
        (
            MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION,
            c.max_in_flight_requests_per_connection,
            1,
            INT_MAX,
        ),
        (BUFFER_MEMORY, c.buffer_memory, 0, LONG_MAX),
    ];
    for (key, value, min, max) in sizes {
        if value < min || value as u128 > max {
            return Err(ConfigError::invalid(
                key,
                value,
                format_args!("must be between {min} and {max}"),
            ));
        }
    }
    if u128::from(c.retries) > INT_MAX {
        return Err(ConfigError::invalid(
            RETRIES,
            c.retries,
            format_args!("must be between 0 and {INT_MAX}"),
        ));
    }

    let durations: [(&str, Duration, u128, u128); 13] = [
        (RETRY_BACKOFF_MS, c.retry_backoff, 0, LONG_MAX),
        (RETRY_BACKOFF_MAX_MS, c.retry_backoff_max, 0, LONG_MAX),
        (DELIVERY_TIMEOUT_MS, c.delivery_timeout, 0, INT_MAX),
        (REQUEST_TIMEOUT_MS, c.request_timeout, 0, INT_MAX),
        (LINGER_MS, c.linger, 0, LONG_MAX),
        (MAX_BLOCK_MS, c.max_block, 0, LONG_MAX),
        (
            PARTITIONER_AVAILABILITY_TIMEOUT_MS,
            c.partitioner_availability_timeout,
            0,
            LONG_MAX,
        ),
        (METADATA_MAX_AGE_MS, c.metadata_max_age, 0, LONG_MAX),
        (METADATA_MAX_IDLE_MS, c.metadata_max_idle, 5000, LONG_MAX),
        (RECONNECT_BACKOFF_MS, c.reconnect_backoff, 0, LONG_MAX),
        (
            RECONNECT_BACKOFF_MAX_MS,
            c.reconnect_backoff_max,
            0,
            LONG_MAX,
        ),
        (CONNECTIONS_MAX_IDLE_MS, c.connections_max_idle, 0, LONG_MAX),
        (TRANSACTION_TIMEOUT_MS, c.transaction_timeout, 0, INT_MAX),
    ];
    for (key, value, min_ms, max_ms) in durations {
        let ms = value.as_millis();
        if ms < min_ms || ms > max_ms {
            return Err(ConfigError::invalid(
                key,
                ms,
                format_args!("must be between {min_ms} and {max_ms} ms"),
            ));
        }
    }

    let levels = [
        (
            COMPRESSION_GZIP_LEVEL,
            c.compression_gzip_level,
            "1..=9 or -1",
        ),
        (COMPRESSION_LZ4_LEVEL, c.compression_lz4_level, "1..=17"),
        (
            COMPRESSION_ZSTD_LEVEL,
            c.compression_zstd_level,
            "-131072..=22",
        ),
    ];
    for (key, level, valid) in levels {
        let ok = match key {
            COMPRESSION_GZIP_LEVEL => level == -1 || (1..=9).contains(&level),
            COMPRESSION_LZ4_LEVEL => (1..=17).contains(&level),
            _ => (-131_072..=22).contains(&level),
        };
        if !ok {
            return Err(ConfigError::invalid(
                key,
                level,
                format_args!("must be {valid}"),
            ));
        }
    }
    Ok(())
}

/// `bootstrap.servers`: drops empty entries (as Java does) and checks that
/// each other one is `host:port` or `[ipv6]:port`.
fn check_bootstrap_servers(entries: &[String]) -> Result<Vec<String>, ConfigError> {
    let servers: Vec<String> = entries.iter().filter(|e| !e.is_empty()).cloned().collect();
    for entry in &servers {
        if !is_host_port(entry) {
            return Err(ConfigError::invalid(
                BOOTSTRAP_SERVERS,
                entry,
                "expected host:port or [ipv6-address]:port",
            ));
        }
    }
    if servers.is_empty() {
        return Err(ConfigError::new(
            [BOOTSTRAP_SERVERS],
            format!("{BOOTSTRAP_SERVERS} is required: at least one host:port to connect to"),
        ));
    }
    Ok(servers)
}

/// `host:port` with the characters Java's `Utils.getHost` accepts in a host
/// (letters, digits, `-`, `%`, `.`, `_`, `:`), the host optionally in
/// brackets, and a port that fits in 16 bits.
fn is_host_port(entry: &str) -> bool {
    let Some((host, port)) = entry.rsplit_once(':') else {
        return false;
    };
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '%' | '.' | '_' | ':'));
    let port_ok =
        !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && port.parse::<u16>().is_ok();
    host_ok && port_ok
}
