"""librdkafka (the confluent-kafka package) produces to a kafka-fake cluster.

Usage: librdkafka_produce.py BOOTSTRAP TOPIC RECORDS_PER_CODEC

For each codec, an idempotent producer sends RECORDS_PER_CODEC records keyed
"<codec>-<i % 10>" and valued "<codec>-<i>", and every delivery report must
be a success. Prints one line per codec: "<codec> <delivered>". The Rust test
that runs this reads the fake's log and checks each record once, in order
per key.
"""
import sys

from confluent_kafka import Producer

bootstrap, topic, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
    errors = []
    delivered = [0]

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered[0] += 1

    p = Producer({
        "bootstrap.servers": bootstrap,
        "compression.type": codec,
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": 30000,
    })
    for i in range(n):
        p.produce(topic, key=f"{codec}-{i % 10}", value=f"{codec}-{i}", on_delivery=report)
        p.poll(0)
    left = p.flush(30)
    if left or errors:
        sys.exit(f"{codec}: {left} not delivered, errors {errors[:3]}")
    print(codec, delivered[0], flush=True)

# Transactions: one committed, one aborted (flushed first, so its records
# are in the log with an abort marker after them).
p = Producer({
    "bootstrap.servers": bootstrap,
    "transactional.id": "librdkafka-txn",
    "linger.ms": 5,
})
p.init_transactions(30)
for outcome in ["committed", "aborted"]:
    p.begin_transaction()
    for i in range(n):
        p.produce(topic + "-txn", key=f"{outcome}-{i % 10}", value=f"{outcome}-{i}")
    p.flush(30)
    if outcome == "committed":
        p.commit_transaction(30)
    else:
        p.abort_transaction(30)
print("transactions", n, flush=True)
