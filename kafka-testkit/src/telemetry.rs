//! Client telemetry (KIP-714) on the test cluster: a `client-metrics`
//! subscription, and what the brokers' recording plugin
//! (`interop/java-telemetry`, named in `metric.reporters` by `cargo xtask
//! kafka up`) received.

use std::time::Duration;

use kafka_codec::{CodecError, Connection};
use kafka_protocol::generated::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::generated::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::generated::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};

/// Kafka's `ConfigResource.Type.CLIENT_METRICS`.
const CLIENT_METRICS: i8 = 16;

/// Subscribes the clients whose `client.id` is `client_id` to the metrics
/// named by `prefixes`, pushed every `interval_ms`, and waits until the
/// broker serves the subscription.
pub async fn subscribe(
    conn: &Connection,
    name: &str,
    client_id: &str,
    prefixes: &[&str],
    interval_ms: u32,
) -> Result<(), CodecError> {
    let set = |k: &str, v: String| AlterableConfig {
        name: k.to_string().into(),
        config_operation: 0,
        value: Some(v.into()),
        ..Default::default()
    };
    let req = IncrementalAlterConfigsRequest {
        resources: vec![AlterConfigsResource {
            resource_type: CLIENT_METRICS,
            resource_name: name.to_string().into(),
            configs: vec![
                set("metrics", prefixes.join(",")),
                set("interval.ms", interval_ms.to_string()),
                set("match", format!("client_id={client_id}")),
            ],
            ..Default::default()
        }],
        ..Default::default()
    };
    let resp = conn.send(&req).await?;
    if let Some(r) = resp.responses.iter().find(|r| r.error_code != 0) {
        return Err(CodecError::Disconnected(
            format!(
                "IncrementalAlterConfigs (client metrics) failed with {}: {:?}",
                kafka_protocol::ErrorCode(r.error_code),
                r.error_message
            )
            .into(),
        ));
    }
    // The subscription reaches the broker through the metadata log.
    let describe = DescribeConfigsRequest {
        resources: vec![DescribeConfigsResource {
            resource_type: CLIENT_METRICS,
            resource_name: name.to_string().into(),
            configuration_keys: None,
            ..Default::default()
        }],
        ..Default::default()
    };
    for _ in 0..100 {
        let resp = conn.send(&describe).await?;
        let served = resp.results.iter().any(|r| {
            r.configs.iter().any(|c| {
                c.name.as_str() == "interval.ms"
                    && c.value
                        .as_ref()
                        .is_some_and(|v| v.as_str() == interval_ms.to_string())
            })
        });
        if served {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(CodecError::Disconnected(
        format!("the client-metrics subscription {name} never showed").into(),
    ))
}

/// One data point the plugin recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    pub client_id: String,
    /// Part of the client's last push, at close.
    pub terminating: bool,
    pub name: String,
    /// `gauge`, or `sum/<temporality>/<monotonic>` (1: delta, 2: cumulative).
    pub kind: String,
    pub value: f64,
    /// `k=v` pairs joined by `,`, sorted.
    pub attributes: String,
    pub resource: String,
}

/// Every data point the brokers' plugin recorded for the client with
/// this instance id (its 16 bytes), in the order received per broker.
pub fn pushed(workspace_root: &str, instance_id: &[u8; 16]) -> Vec<Pushed> {
    let hex: String = instance_id.iter().map(|b| format!("{b:02x}")).collect();
    recorded(workspace_root, |file| file == format!("{hex}.txt"))
}

/// Every data point the brokers' plugin recorded from the client with
/// this `client.id`, whatever its instance id.
pub fn pushed_by(workspace_root: &str, client_id: &str) -> Vec<Pushed> {
    let mut all = recorded(workspace_root, |_| true);
    all.retain(|p| p.client_id == client_id);
    all
}

fn recorded(workspace_root: &str, wanted: impl Fn(&str) -> bool) -> Vec<Pushed> {
    let mut out = Vec::new();
    let cluster = format!("{workspace_root}/target/kafka/cluster");
    let Ok(nodes) = std::fs::read_dir(&cluster) else {
        return out;
    };
    let files = nodes
        .flatten()
        .filter_map(|node| std::fs::read_dir(node.path().join("telemetry")).ok())
        .flat_map(|d| d.flatten())
        .filter(|f| wanted(&f.file_name().to_string_lossy()));
    for file in files {
        let Ok(text) = std::fs::read_to_string(file.path()) else {
            continue;
        };
        // The plugin may be appending while we read: a last line without
        // its newline is a push still being written, read next time.
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        for line in complete.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            assert!(f.len() == 7, "the plugin could not read a push: {line}");
            out.push(Pushed {
                client_id: f[0].to_string(),
                terminating: f[1] == "true",
                name: f[2].to_string(),
                kind: f[3].to_string(),
                value: f[4].parse().unwrap_or(f64::NAN),
                attributes: f[5].to_string(),
                resource: f[6].to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_still_being_written_is_left_for_the_next_read() {
        let root = std::env::temp_dir().join(format!("telemetry-read-{}", std::process::id()));
        let dir = root.join("target/kafka/cluster/node-0/telemetry");
        std::fs::create_dir_all(&dir).unwrap();
        let whole = "c1\tfalse\tm\tgauge\t1\ta=b\tr=s\n";
        std::fs::write(dir.join("x.txt"), format!("{whole}c1\tfal")).unwrap();
        let got = recorded(root.to_str().unwrap(), |_| true);
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "m");
        assert_eq!(got[0].attributes, "a=b");
    }
}
