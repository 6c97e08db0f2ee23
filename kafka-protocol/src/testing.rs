//! Random message values for the round-trip property tests of the generated
//! code. Each generated struct implements [`Random`], filling exactly the
//! fields that exist (and the nulls that are allowed) at a version.

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use crate::messages::Message;
use crate::primitives::{StrBytes, UnknownTaggedFields, Uuid};

/// Builds a random value valid at a version.
pub(crate) trait Random {
    fn random(g: &mut Gen, version: i16) -> Self;
}

/// A small deterministic generator seeded by proptest.
pub(crate) struct Gen {
    state: u64,
    depth: u32,
}

impl Gen {
    pub(crate) fn new(seed: u64) -> Gen {
        Gen {
            state: seed | 1,
            depth: 0,
        }
    }

    pub(crate) fn next(&mut self) -> u64 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn bool(&mut self) -> bool {
        self.next() & 1 == 1
    }

    pub(crate) fn f64(&mut self) -> f64 {
        // Finite values only: NaN would not compare equal to itself.
        (self.next() as i64 as f64) / 1024.0
    }

    pub(crate) fn uuid(&mut self) -> Uuid {
        let mut u = [0u8; 16];
        u[..8].copy_from_slice(&self.next().to_le_bytes());
        u[8..].copy_from_slice(&self.next().to_le_bytes());
        Uuid(u)
    }

    pub(crate) fn string(&mut self) -> StrBytes {
        const ALPHABET: &[&str] = &["a", "Z", "9", "-", "_", ".", "é", "ß", "日", "🦀"];
        let len = self.below(12);
        let s: String = (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize])
            .collect();
        StrBytes::from_string(s)
    }

    pub(crate) fn bytes(&mut self) -> Bytes {
        let len = if self.below(8) == 0 {
            200 + self.below(300)
        } else {
            self.below(16)
        };
        (0..len)
            .map(|_| self.next() as u8)
            .collect::<Vec<u8>>()
            .into()
    }

    pub(crate) fn nullable<T>(
        &mut self,
        allowed: bool,
        f: impl FnOnce(&mut Gen) -> T,
    ) -> Option<T> {
        if allowed && self.below(4) == 0 {
            None
        } else {
            Some(f(self))
        }
    }

    pub(crate) fn array<T>(&mut self, mut f: impl FnMut(&mut Gen) -> T) -> Vec<T> {
        // Nested arrays shrink quickly so that messages stay small.
        let max = match self.depth {
            0 => 4,
            1 => 3,
            2 => 2,
            _ => 1,
        };
        let len = self.below(max + 1);
        self.depth += 1;
        let v = (0..len).map(|_| f(self)).collect();
        self.depth -= 1;
        v
    }

    pub(crate) fn unknown_tagged_fields(&mut self, known: &[u32]) -> UnknownTaggedFields {
        let mut m = UnknownTaggedFields::new();
        if self.below(4) == 0 {
            for _ in 0..=self.below(2) {
                let tag = loop {
                    let t = self.below(200) as u32;
                    if !known.contains(&t) {
                        break t;
                    }
                };
                let data = self.bytes();
                m.insert(tag, data);
            }
        }
        m
    }
}

/// For every valid version of `M`: random values encode to exactly
/// `encoded_size` bytes, decode to an equal value, and re-encode to the same bytes.
pub(crate) fn check_roundtrip<M: Message + Random>() {
    let config = ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    for version in M::VERSIONS.min..=M::VERSIONS.max {
        proptest!(config.clone(), |(seed in any::<u64>())| {
            let value = M::random(&mut Gen::new(seed), version);
            let size = value.encoded_size(version).expect("size");
            let mut buf = BytesMut::new();
            value.encode(&mut buf, version).expect("encode");
            prop_assert_eq!(buf.len(), size, "{} v{} size", M::NAME, version);
            let bytes = buf.freeze();
            let decoded = M::decode(&bytes, version).expect("decode");
            prop_assert_eq!(&decoded, &value, "{} v{}", M::NAME, version);
            let again = decoded.to_bytes(version).expect("re-encode");
            prop_assert_eq!(again, bytes);
        });
    }
}
