#!/usr/bin/env python3
"""Groups a `perf report` of the perf tool by what the time is spent on.

    perf record -o P.data -e cpu-clock -F 4000 -g -- target/release/examples/perf ...
    perf report -i P.data --no-children --sort symbol -g none --stdio \
        | python3 benches-peer/profile_groups.py RECORDS

Prints nanoseconds per record for each group (self time of every symbol,
matched by name; the first group whose pattern matches wins).
"""
import re
import sys

GROUPS = [
    ("drain: ready partitions into Produce requests", r"accumulator::drain|update_partition_load|drain_once|next_to_send"),
    ("partition and append (core)", r"partition_and_append|ProducerBatch::append|append_within|Accumulator::append|murmur2|Queues::|StickyPartitioner"),
    ("responses: batches completed, sequences", r"on_response|take_batch|Sequences::|OutcomeSlot|Completion::run|complete|expire"),
    ("send(): caller side", r"send_with_callback|perf::main|Producer::send|reserve|PendingRecord"),
    ("encoding and CRC", r"encode|crc32c|finish_reusing|RecordBatchWriter|write_"),
    ("allocator", r"malloc|free|realloc|_int_|unlink_chunk|__rdl_|__rust_alloc|__rust_dealloc|alloc::"),
    ("memory copies", r"memmove|memcpy|memset|memcmp"),
    ("hash maps", r"hashbrown|HashMap|FastMap"),
    ("tokio and wake-ups", r"tokio::|parking|futex|Notify|waker|wake"),
    ("kernel", r"^\[k\]"),
]


def main():
    records = float(sys.argv[1])
    totals = {name: 0.0 for name, _ in GROUPS}
    other = 0.0
    # cpu-clock counts nanoseconds.
    event_ns = None
    for line in sys.stdin:
        m = re.match(r"# Event count \(approx.\): (\d+)", line)
        if m:
            event_ns = int(m.group(1))
        m = re.match(r"\s+([\d.]+)%\s+(\[[.k]\])\s+(.*)", line)
        if not m:
            continue
        pct, kind, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        text = f"{kind} {sym}"
        for name, pat in GROUPS:
            if re.search(pat, text):
                totals[name] += pct
                break
        else:
            other += pct
    if event_ns is None:
        sys.exit("no '# Event count' line: run perf report with --stdio")
    ns_per_record = event_ns / records
    for name, _ in GROUPS:
        print(f"| {name} | {totals[name] / 100 * ns_per_record:.0f} |")
    print(f"| other | {other / 100 * ns_per_record:.0f} |")
    print(f"| **total, ns per record** | **{ns_per_record:.0f}** |")


main()
