#!/bin/bash
# Alternates producer perf binaries on one fresh broker and one new topic of
# 10,000 partitions (keyed records, Java's defaults), printing records/s,
# CPU (user + sys) per million records and peak RSS of every run.
#
#   benches-peer/alternate_10k.sh RECORDS ROUNDS PERF [PERF ...]
#
# Each PERF takes the perf example's arguments (ours, an older build of it,
# or a peer's binary from benches-peer/target/release). Peers get Java's
# defaults spelled out, as `cargo xtask perf-compare` gives them. With
# DATA_DIR set (say /dev/shm), the broker's logs go there (`kafka up
# --data-dir`).
set -euo pipefail
cd "$(dirname "$0")/.."
n=$1 rounds=$2
shift 2
cargo xtask kafka down >/dev/null 2>&1 || true
cargo xtask kafka up ${DATA_DIR:+--data-dir "$DATA_DIR"} >/dev/null
export $(xargs < target/kafka/cluster/cluster.env)
topics() { java -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" "$@" >/dev/null 2>&1; }
topics --create --topic p10k --partitions 5000 --replication-factor 1
topics --alter --topic p10k --partitions 10000
sleep 25 # every partition has its leader
props="acks=all enable.idempotence=true linger.ms=5 batch.size=16384 buffer.memory=33554432 compression.type=none bootstrap.servers=$KAFKA_BOOTSTRAP"
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    out=$(/usr/bin/time -f "TIME %U %S %M" "$bin" --topic p10k --num-records "$n" --record-size 100 \
      --throughput -1 --keys 100000 --producer-props $props 2>&1)
    rps=$(grep -oE "^$n records sent, [0-9.]+" <<<"$out" | awk '{print $4}')
    grep TIME <<<"$out" | awk -v n="$n" -v b="$bin" -v r="$rps" \
      '{printf "%s: %s records/s, %.2f s CPU per million, peak RSS %d MiB\n", b, r, ($2+$3)*1e6/n, $4/1024}'
  done
done
cargo xtask kafka down >/dev/null
