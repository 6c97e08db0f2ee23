package kafkars.interop;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.ControlRecordType;
import org.apache.kafka.common.record.EndTransactionMarker;
import org.apache.kafka.common.record.MemoryRecords;
import org.apache.kafka.common.record.MemoryRecordsBuilder;
import org.apache.kafka.common.record.RecordBatch;
import org.apache.kafka.common.record.TimestampType;

/**
 * Writes RecordBatch v2 test vectors with the Java client's own
 * {@link MemoryRecordsBuilder}: uncompressed, CreateTime, base offset 0.
 *
 * <p>THE CASES BELOW ARE DUPLICATED IN kafka-protocol/tests/java_vectors.rs
 * (function {@code cases()}); the two descriptions must stay in sync. The
 * description in interop/java-recordbatch/README.md is the reference for both.
 *
 * <p>Usage: {@code RecordBatchVectors <output directory>}; writes one
 * {@code <case>.bin} per case.
 */
public final class RecordBatchVectors {

    /** Base timestamp of every case (2023-11-14T22:13:20Z). */
    static final long T0 = 1_700_000_000_000L;
    static final long PRODUCER_ID = 123_456_789L;
    static final short PRODUCER_EPOCH = 5;
    static final int BASE_SEQUENCE = 42;

    /** One record to append: timestamp, nullable key/value, headers. */
    record Rec(long timestamp, byte[] key, byte[] value, Header[] headers) {}

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }

    private static Rec rec(long ts, String key, String value, Header... headers) {
        return new Rec(ts, utf8(key), utf8(value), headers);
    }

    private static Header header(String key, String value) {
        return new RecordHeader(key, utf8(value));
    }

    /** Case "simple": 5 records, key "key-i", value "value-i", timestamp T0 + 10 i. */
    static List<Rec> simple() {
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < 5; i++)
            out.add(rec(T0 + 10L * i, "key-" + i, "value-" + i));
        return out;
    }

    /** The 20,000-byte value of case "edge": byte j = (31 j + 7) mod 251. */
    static byte[] largeValue() {
        byte[] v = new byte[20_000];
        for (int j = 0; j < v.length; j++)
            v[j] = (byte) ((31 * j + 7) % 251);
        return v;
    }

    /** Case "edge": null and empty keys/values, headers, a large value. */
    static List<Rec> edge() {
        List<Rec> out = new ArrayList<>();
        out.add(rec(T0, null, "no key"));
        out.add(rec(T0 + 1, "tombstone", null));
        out.add(rec(T0 + 2, null, null));
        out.add(rec(T0 + 3, "", ""));
        out.add(rec(T0 + 4, "headers", "h",
                header("null-value", null),
                // "ключ-キー-ü" -> "ünïcödé"
                header("\u043a\u043b\u044e\u0447-\u30ad\u30fc-\u00fc", "\u00fcn\u00efc\u00f6d\u00e9"),
                header("empty", ""),
                header("dup", "1"),
                header("dup", "2")));
        out.add(new Rec(T0 + 5, utf8("large"), largeValue(), new Header[0]));
        return out;
    }

    /** Case "nonmonotonic": timestamps go backwards (negative deltas). */
    static List<Rec> nonMonotonic() {
        long[] ts = {T0 + 5_000, T0, T0 + 10_000, T0 - 1, T0 - 3_600_000};
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < ts.length; i++)
            out.add(rec(ts[i], "k" + i, "v" + i));
        return out;
    }

    /** Cases "idempotent" and "transactional": 3 records, key prefix-i, value "payload-i", timestamp T0 + i. */
    static List<Rec> producerRecords(String prefix) {
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < 3; i++)
            out.add(rec(T0 + i, prefix + "-" + i, "payload-" + i));
        return out;
    }

    /**
     * Case "many": 200 records (two-byte offset deltas), key
     * String.format("key-%012d", i) (16 bytes), value 100 bytes with byte j =
     * (7 i + j) mod 256, timestamp T0 + 7 i.
     */
    static List<Rec> many() {
        List<Rec> out = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            byte[] v = new byte[100];
            for (int j = 0; j < v.length; j++)
                v[j] = (byte) ((7 * i + j) & 0xff);
            out.add(new Rec(T0 + 7L * i, utf8(String.format("key-%012d", i)), v, new Header[0]));
        }
        return out;
    }

    private static byte[] dataBatch(List<Rec> recs, long producerId, short producerEpoch, int baseSequence,
                                    boolean transactional) {
        ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
        MemoryRecordsBuilder b = MemoryRecords.builder(buffer, RecordBatch.MAGIC_VALUE_V2, Compression.NONE,
                TimestampType.CREATE_TIME, 0L, RecordBatch.NO_TIMESTAMP, producerId, producerEpoch, baseSequence,
                transactional, RecordBatch.NO_PARTITION_LEADER_EPOCH);
        for (Rec r : recs)
            b.append(r.timestamp(), r.key(), r.value(), r.headers());
        return toBytes(b.build());
    }

    private static byte[] plainBatch(List<Rec> recs) {
        return dataBatch(recs, RecordBatch.NO_PRODUCER_ID, RecordBatch.NO_PRODUCER_EPOCH, RecordBatch.NO_SEQUENCE,
                false);
    }

    private static byte[] toBytes(MemoryRecords records) {
        ByteBuffer buf = records.buffer();
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    public static void main(String[] args) throws IOException {
        Path dir = Paths.get(args.length > 0 ? args[0] : "vectors");
        Files.createDirectories(dir);

        write(dir, "simple", plainBatch(simple()));
        write(dir, "edge", plainBatch(edge()));
        write(dir, "nonmonotonic", plainBatch(nonMonotonic()));
        write(dir, "many", plainBatch(many()));
        write(dir, "idempotent",
                dataBatch(producerRecords("idem"), PRODUCER_ID, PRODUCER_EPOCH, BASE_SEQUENCE, false));
        write(dir, "transactional",
                dataBatch(producerRecords("txn"), PRODUCER_ID, PRODUCER_EPOCH, BASE_SEQUENCE, true));

        // Case "commit": a control batch built with the builder's appendEndTxnMarker,
        // partition leader epoch 3, coordinator epoch 7, timestamp T0 + 100.
        ByteBuffer buffer = ByteBuffer.allocate(1024);
        MemoryRecordsBuilder b = MemoryRecords.builder(buffer, RecordBatch.MAGIC_VALUE_V2, Compression.NONE,
                TimestampType.CREATE_TIME, 0L, RecordBatch.NO_TIMESTAMP, PRODUCER_ID, PRODUCER_EPOCH,
                RecordBatch.NO_SEQUENCE, true, true, 3);
        b.appendEndTxnMarker(T0 + 100, new EndTransactionMarker(ControlRecordType.COMMIT, 7));
        write(dir, "commit", toBytes(b.build()));

        // Case "abort": MemoryRecords.withEndTransactionMarker, partition leader
        // epoch 4, coordinator epoch 9, timestamp T0 + 200.
        write(dir, "abort", toBytes(MemoryRecords.withEndTransactionMarker(0L, T0 + 200, 4, PRODUCER_ID,
                PRODUCER_EPOCH, new EndTransactionMarker(ControlRecordType.ABORT, 9))));
    }

    private static void write(Path dir, String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name + ".bin");
        Files.write(p, bytes);
        System.out.println("wrote " + p.normalize() + " (" + bytes.length + " bytes)");
    }

    private RecordBatchVectors() {}
}
