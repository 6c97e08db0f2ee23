//! A hostile broker: answers correctly, then changes one field of one
//! response (indexes and counts out of range or negative, unknown
//! partitions, nodes and error codes, huge throttle times, leader hints
//! that lie), or truncates or garbles its bytes. The simulation then checks
//! only what must hold whatever a broker says: no panic, every record
//! completes within its bound, buffer memory comes back, close returns.

use bytes::{Bytes, BytesMut};
use kafka_protocol::generated::produce_response::{NodeEndpoint, PartitionProduceResponse};
use kafka_protocol::generated::{InitProducerIdResponse, MetadataResponse, ProduceResponse};
use kafka_protocol::messages::Message;

use super::rng::Rng;
use super::{Resp, INIT_PRODUCER_ID_VERSION, METADATA_VERSION, PRODUCE_VERSION};

/// Values a hostile broker likes: the edges of every integer type.
fn edge_i32(rng: &mut Rng) -> i32 {
    [i32::MIN, -2, -1, 0, 1, 7, 99, 500_000_000, i32::MAX][rng.index(9)]
}

fn edge_i16(rng: &mut Rng) -> i16 {
    [i16::MIN, -2, -1, 0, 1, 3, 87, 120, 32_000, i16::MAX][rng.index(10)]
}

fn edge_i64(rng: &mut Rng) -> i64 {
    [i64::MIN, -2, -1, 0, 1, 1 << 40, i64::MAX][rng.index(7)]
}

/// What became of the response.
pub enum Mutated {
    /// Still a response, with one field changed.
    Response(Resp),
    /// Its bytes no longer decode: the driver sees a transport failure.
    Garbled,
}

/// Changes one thing about `resp`; returns what and the name of the change.
pub fn mutate(resp: Resp, rng: &mut Rng) -> (Mutated, &'static str) {
    if rng.chance(0.15) {
        return bytes_level(resp, rng);
    }
    match resp {
        Resp::Metadata(m) => {
            let (m, what) = metadata(m, rng);
            (Mutated::Response(Resp::Metadata(m)), what)
        }
        Resp::InitProducerId(r) => {
            let (r, what) = init_producer_id(r, rng);
            (Mutated::Response(Resp::InitProducerId(r)), what)
        }
        Resp::Produce(r) => {
            let (r, what) = produce(r, rng);
            (Mutated::Response(Resp::Produce(r)), what)
        }
    }
}

fn metadata(mut m: MetadataResponse, rng: &mut Rng) -> (MetadataResponse, &'static str) {
    let what = match rng.index(9) {
        0 => {
            m.throttle_time_ms = edge_i32(rng);
            "metadata: throttle time"
        }
        1 => {
            m.brokers.clear();
            "metadata: no brokers"
        }
        2 => {
            if let Some(b) = pick(&mut m.brokers, rng) {
                b.port = edge_i32(rng);
            }
            "metadata: broker port"
        }
        3 => {
            if let Some(b) = pick(&mut m.brokers, rng) {
                b.node_id = edge_i32(rng);
            }
            "metadata: broker id"
        }
        4 => {
            if let Some(p) = pick(&mut m.topics, rng).and_then(|t| pick(&mut t.partitions, rng)) {
                p.partition_index = edge_i32(rng);
            }
            "metadata: partition index"
        }
        5 => {
            if let Some(p) = pick(&mut m.topics, rng).and_then(|t| pick(&mut t.partitions, rng)) {
                p.leader_id = edge_i32(rng);
                p.leader_epoch = edge_i32(rng);
            }
            "metadata: leader"
        }
        6 => {
            if let Some(t) = pick(&mut m.topics, rng) {
                if let Some(p) = t.partitions.first().cloned() {
                    t.partitions.push(p);
                }
            }
            "metadata: partition twice"
        }
        7 => {
            if let Some(t) = pick(&mut m.topics, rng) {
                t.error_code = edge_i16(rng);
            }
            "metadata: topic error"
        }
        _ => {
            if let Some(t) = pick(&mut m.topics, rng) {
                t.name = Some("not-asked-for".into());
            }
            "metadata: unknown topic"
        }
    };
    (m, what)
}

fn init_producer_id(
    mut r: InitProducerIdResponse,
    rng: &mut Rng,
) -> (InitProducerIdResponse, &'static str) {
    let what = match rng.index(4) {
        0 => {
            r.error_code = edge_i16(rng);
            "init producer id: error"
        }
        1 => {
            r.producer_id = edge_i64(rng);
            "init producer id: id"
        }
        2 => {
            r.producer_epoch = edge_i16(rng);
            "init producer id: epoch"
        }
        _ => {
            r.throttle_time_ms = edge_i32(rng);
            "init producer id: throttle time"
        }
    };
    (r, what)
}

fn produce(mut r: ProduceResponse, rng: &mut Rng) -> (ProduceResponse, &'static str) {
    let what = match rng.index(10) {
        0 => {
            r.throttle_time_ms = edge_i32(rng);
            "produce: throttle time"
        }
        1 => {
            if let Some(t) = pick(&mut r.responses, rng) {
                t.partition_responses.clear();
            }
            "produce: partitions missing"
        }
        2 => {
            if let Some(p) = pick_partition(&mut r, rng) {
                p.index = edge_i32(rng);
            }
            "produce: partition index"
        }
        3 => {
            if let Some(t) = pick(&mut r.responses, rng) {
                if let Some(p) = t.partition_responses.first().cloned() {
                    t.partition_responses.push(p);
                }
            }
            "produce: partition twice"
        }
        4 => {
            if let Some(p) = pick_partition(&mut r, rng) {
                p.error_code = edge_i16(rng);
            }
            "produce: error code"
        }
        5 => {
            if let Some(p) = pick_partition(&mut r, rng) {
                p.base_offset = edge_i64(rng);
                p.log_append_time_ms = edge_i64(rng);
            }
            "produce: offsets"
        }
        6 => {
            if let Some(p) = pick_partition(&mut r, rng) {
                p.error_code = 6; // NOT_LEADER_OR_FOLLOWER
                p.current_leader.leader_id = edge_i32(rng);
                p.current_leader.leader_epoch = edge_i32(rng);
            }
            "produce: leader hint"
        }
        7 => {
            r.node_endpoints.push(NodeEndpoint {
                node_id: edge_i32(rng),
                host: "".into(),
                port: edge_i32(rng),
                ..Default::default()
            });
            "produce: node endpoint"
        }
        8 => {
            if let Some(t) = pick(&mut r.responses, rng) {
                t.name = "not-sent".into();
            }
            "produce: unknown topic"
        }
        _ => {
            r.responses.clear();
            "produce: no topics"
        }
    };
    (r, what)
}

fn pick_partition<'a>(
    r: &'a mut ProduceResponse,
    rng: &mut Rng,
) -> Option<&'a mut PartitionProduceResponse> {
    pick(&mut r.responses, rng).and_then(|t| pick(&mut t.partition_responses, rng))
}

fn pick<'a, T>(v: &'a mut [T], rng: &mut Rng) -> Option<&'a mut T> {
    if v.is_empty() {
        None
    } else {
        let i = rng.index(v.len());
        v.get_mut(i)
    }
}

/// Truncates or flips bytes of the encoded response; if the result still
/// decodes, that is what the producer gets.
fn bytes_level(resp: Resp, rng: &mut Rng) -> (Mutated, &'static str) {
    fn garble<M: Message>(m: &M, version: i16, rng: &mut Rng) -> (Option<M>, &'static str) {
        let mut b = BytesMut::new();
        m.encode(&mut b, version).expect("encodable");
        let what = if rng.chance(0.5) && !b.is_empty() {
            let keep = rng.index(b.len());
            b.truncate(keep);
            "bytes: truncated"
        } else {
            for _ in 0..1 + rng.index(4) {
                if b.is_empty() {
                    break;
                }
                let i = rng.index(b.len());
                b[i] ^= 1 << rng.index(8);
            }
            "bytes: flipped"
        };
        let bytes: Bytes = b.freeze();
        (M::decode(&bytes, version).ok(), what)
    }
    match resp {
        Resp::Metadata(m) => match garble(&m, METADATA_VERSION, rng) {
            (Some(m), what) => (Mutated::Response(Resp::Metadata(m)), what),
            (None, what) => (Mutated::Garbled, what),
        },
        Resp::InitProducerId(r) => match garble(&r, INIT_PRODUCER_ID_VERSION, rng) {
            (Some(r), what) => (Mutated::Response(Resp::InitProducerId(r)), what),
            (None, what) => (Mutated::Garbled, what),
        },
        Resp::Produce(r) => match garble(&r, PRODUCE_VERSION, rng) {
            (Some(r), what) => (Mutated::Response(Resp::Produce(r)), what),
            (None, what) => (Mutated::Garbled, what),
        },
    }
}
