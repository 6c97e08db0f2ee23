//! `kafka-fake`: a fake Kafka cluster on fixed ports until Ctrl-C, for
//! trying a client by hand (`--features bin`).
//!
//! ```text
//! kafka-fake [--brokers N] [--port P] [--topic NAME:PARTITIONS]... [--sink]
//! ```
//!
//! Broker 1 listens on P (default 9092), broker 2 on P+1, and so on; the
//! bootstrap address is printed on the first line.

use kafka_fake::FakeCluster;

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("kafka-fake: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let mut brokers = 1usize;
    let mut port = 9092u16;
    let mut builder = FakeCluster::builder();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--brokers" => brokers = value()?.parse().map_err(|e| format!("--brokers: {e}"))?,
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--sink" => builder = builder.sink(true),
            "--topic" => {
                let v = value()?;
                let (name, partitions) = v.split_once(':').unwrap_or((v.as_str(), "1"));
                let partitions = partitions.parse().map_err(|e| format!("--topic {v}: {e}"))?;
                builder = builder.topic(name, partitions);
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: kafka-fake [--brokers N] [--port P] [--topic NAME:PARTITIONS]... [--sink]"
                ))
            }
        }
    }
    let ports = (0..brokers).map(|i| port.saturating_add(i as u16));
    let cluster = builder
        .brokers(brokers)
        .ports(ports)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", cluster.bootstrap());
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
