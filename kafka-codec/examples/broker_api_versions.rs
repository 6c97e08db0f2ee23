//! Prints a broker's API versions table and its metadata, like Kafka's
//! `kafka-broker-api-versions.sh`, using only `kafka-protocol` and `kafka-codec`.
//!
//! `cargo run -p kafka-codec --example broker_api_versions -- 127.0.0.1:9092`
//! (without an argument it reads `KAFKA_BOOTSTRAP`, which `cargo xtask kafka up` prints).

use kafka_codec::{Connection, ConnectionConfig};
use kafka_protocol::generated::MetadataRequest;
use kafka_protocol::messages::ApiKey;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("KAFKA_BOOTSTRAP").ok())
        .ok_or("usage: broker_api_versions HOST:PORT (or set KAFKA_BOOTSTRAP)")?;
    let addr = addr.split(',').next().unwrap_or_default().to_string();
    let conn = Connection::connect(&addr, ConnectionConfig::default()).await?;
    let versions = conn.versions();
    println!("{} (ApiVersions):", conn.peer());
    for (key, range) in versions.iter() {
        let (name, usable) = match ApiKey::from_i16(key) {
            Some(api) => (
                api.name().to_string(),
                match versions.negotiate(api) {
                    Ok(v) => format!("usable: {v}"),
                    Err(_) => "unusable".to_string(),
                },
            ),
            None => (
                format!("UnknownApi{key}"),
                "unknown to this client".to_string(),
            ),
        };
        println!("\t{name}({key}): {} to {} [{usable}]", range.min, range.max);
    }
    for (name, level) in versions.finalized_features() {
        println!(
            "\tfinalized feature {name}: {}..{}",
            level.min_version_level, level.max_version_level
        );
    }
    let md = conn
        .send(&MetadataRequest {
            topics: None,
            ..Default::default()
        })
        .await?;
    println!(
        "cluster {:?}, controller {}",
        md.cluster_id.as_deref(),
        md.controller_id
    );
    for b in &md.brokers {
        println!(
            "\tbroker {} at {}:{} rack {:?}",
            b.node_id,
            b.host,
            b.port,
            b.rack.as_deref()
        );
    }
    for t in &md.topics {
        println!(
            "\ttopic {:?}: {} partitions (error {})",
            t.name.as_deref(),
            t.partitions.len(),
            t.error_code
        );
    }
    Ok(())
}
