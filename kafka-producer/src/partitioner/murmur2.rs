//! The Java client's key hash: 32-bit murmur2 with Kafka's seed.
//!
//! Records with a key go to `to_positive(murmur2(key)) % num_partitions`, so
//! a key lands on the same partition whichever Java-compatible client wrote
//! it. The arithmetic is Java's `int` arithmetic: wrapping multiplication and
//! logical (`>>>`) right shifts, which is why the state is a `u32` here and
//! only the result is reinterpreted as `i32`.
//!
//! `tests/vectors/murmur2_java.csv` holds the hash and partitions the Java
//! client computed for about two hundred keys; `tests/murmur2_java.rs` checks
//! them all.

/// Kafka's fixed murmur2 seed (`Utils.murmur2` in the Java client).
const SEED: u32 = 0x9747_b28c;
/// Mixing multiplier of murmur2.
const M: u32 = 0x5bd1_e995;
/// Mixing shift of murmur2.
const R: u32 = 24;

/// The 32-bit murmur2 hash of `data`, bit for bit what the Java client's
/// `Utils.murmur2(byte[])` returns (a signed `int`, hence `i32`).
///
/// The empty slice is a valid key and has a hash; a null key is not hashed
/// at all (the caller picks a partition another way).
pub fn murmur2(data: &[u8]) -> i32 {
    // Java mixes the length in as an `int`: truncating a (theoretical) length
    // above 2^32 is what Java's `int length` would do too.
    let mut h = SEED ^ (data.len() as u32);

    let mut words = data.chunks_exact(4);
    for word in &mut words {
        let mut k = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // The tail falls through from 3 to 1 bytes, like Java's `switch`.
    let tail = words.remainder();
    if tail.len() == 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    // Reinterpret the bits as Java's signed int.
    h as i32
}

/// Clears the sign bit, as Java's `Utils.toPositive` does.
///
/// Not `abs`: `i32::MIN` has no positive counterpart, while masking maps it
/// to 0 and keeps every result in `0..=i32::MAX`.
pub const fn to_positive(h: i32) -> i32 {
    h & 0x7fff_ffff
}

/// The partition of a keyed record: `to_positive(murmur2(key)) %
/// num_partitions`, the Java producer's default for records with a key
/// (`BuiltInPartitioner.partitionForKey`).
///
/// `num_partitions` counts ALL partitions of the topic, available or not:
/// the key must map to the same partition while a leader is down.
///
/// # Panics
/// If `num_partitions` is 0 (Java throws an `ArithmeticException` there).
pub fn partition_for_key(key: &[u8], num_partitions: i32) -> i32 {
    assert!(
        num_partitions != 0,
        "partition_for_key: a topic has at least one partition"
    );
    to_positive(murmur2(key)) % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_from_the_java_client() {
        // Spot checks; the full table is tests/vectors/murmur2_java.csv.
        assert_eq!(murmur2(b""), 275_646_681);
        assert_eq!(murmur2(b"b"), -1_853_091_852);
        assert_eq!(murmur2(b"cj"), -1_257_153_450);
        assert_eq!(murmur2(b"dkr"), -199_109_102);
    }

    #[test]
    fn to_positive_masks_the_sign_bit() {
        assert_eq!(to_positive(0), 0);
        assert_eq!(to_positive(5), 5);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(-1_853_091_852), 294_391_796);
    }

    #[test]
    fn partitions_stay_in_range() {
        for n in [1, 2, 3, 7, 100, i32::MAX] {
            for key in [&b""[..], b"a", b"key-1", &[0xff; 9]] {
                let p = partition_for_key(key, n);
                assert!((0..n).contains(&p), "key {key:?} n {n}: {p}");
            }
        }
    }

    #[test]
    #[should_panic(expected = "at least one partition")]
    fn zero_partitions_panics() {
        partition_for_key(b"k", 0);
    }
}
