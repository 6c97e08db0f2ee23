#!/usr/bin/env bash
# `cargo xtask kafka up` first, and `cargo build --release -p kafka-producer --example perf`.
# Peak RSS and CPU of the perf tools with 10,000 partitions (Java defaults,
# buffer.memory 32 MiB): ours keyed over all partitions, ours and Java's
# ProducerPerformance with the round-robin partitioner (every partition gets
# batches; Java's tool has no keys).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(grep KAFKA_BOOTSTRAP target/kafka/cluster/cluster.env | cut -d= -f2)
CP="target/kafka/dist/4.4.0/libs/*"
N=${N:-10000000}
# A controller takes at most 10,000 records per operation: 5,000, then 5,000 more.
topics() { java -cp "$CP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn org.apache.kafka.tools.TopicCommand --bootstrap-server "$B" "$@"; }
if ! topics --describe --topic mem10k >/dev/null 2>&1; then
  topics --create --topic mem10k --partitions 5000 --replication-factor 1 >/dev/null
  topics --alter --topic mem10k --partitions 10000 >/dev/null
fi
run() { local name=$1; shift; /usr/bin/time -f "@@ $name user %U sys %S maxrss_kb %M" "$@" 2>&1 | grep -E "records sent, .*99.9th|@@" ; }
for round in $(seq 1 ${ROUNDS:-3}); do
  run "ours keyed" target/release/examples/perf --topic mem10k --num-records $N --record-size 100 --throughput -1 --keys 100000 \
    --producer-props bootstrap.servers=$B
  run "ours round-robin" target/release/examples/perf --topic mem10k --num-records $N --record-size 100 --throughput -1 \
    --producer-props bootstrap.servers=$B partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner
  run "java round-robin" java -Xmx1g -cp "$CP" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn org.apache.kafka.tools.ProducerPerformance \
    --topic mem10k --num-records $N --record-size 100 --throughput -1 \
    --producer-props bootstrap.servers=$B partitioner.class=org.apache.kafka.clients.producer.RoundRobinPartitioner
done
