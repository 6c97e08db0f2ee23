//! Key hashing checked against the Java client: every line of
//! `vectors/murmur2_java.csv` was computed by kafka-clients 4.1.1
//! (`interop/java-murmur2`): `Utils.murmur2`, `Utils.toPositive` and
//! `BuiltInPartitioner.partitionForKey` for several partition counts.

use kafka_producer::partitioner::{murmur2, partition_for_key, to_positive};

const VECTORS: &str = include_str!("vectors/murmur2_java.csv");

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len() % 2 == 0, "odd hex length: {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

#[test]
fn every_java_vector_matches() {
    let mut lines = VECTORS.lines();
    let header: Vec<&str> = lines.next().expect("header line").split(',').collect();
    assert_eq!(&header[..3], ["key_hex", "murmur2", "to_positive"]);
    // The partition counts, from the column names "n1", "n2", ...
    let counts: Vec<i32> = header[3..]
        .iter()
        .map(|c| {
            c.strip_prefix('n')
                .expect("column nN")
                .parse()
                .expect("count")
        })
        .collect();
    assert_eq!(counts, [1, 2, 3, 6, 7, 12, 100]);

    let mut checked = 0;
    let mut lengths = std::collections::BTreeSet::new();
    for (number, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(
            fields.len(),
            3 + counts.len(),
            "line {}: {line}",
            number + 2
        );
        let key = unhex(fields[0]);
        let hash: i32 = fields[1].parse().unwrap();
        let positive: i32 = fields[2].parse().unwrap();

        assert_eq!(murmur2(&key), hash, "murmur2 of {}", fields[0]);
        assert_eq!(to_positive(hash), positive, "to_positive of {hash}");
        for (&n, expected) in counts.iter().zip(&fields[3..]) {
            assert_eq!(
                partition_for_key(&key, n),
                expected.parse::<i32>().unwrap(),
                "partition of {} over {n} partitions",
                fields[0]
            );
        }
        lengths.insert(key.len());
        checked += 1;
    }
    // The table covers the empty key, every tail length and long keys.
    assert!(checked >= 200, "only {checked} vectors");
    assert!(lengths.contains(&0));
    assert!((1..=64).all(|len| lengths.contains(&len)));
    assert!(lengths.iter().any(|&len| len > 64));
}
